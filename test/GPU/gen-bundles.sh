#!/usr/bin/env bash
# Compiles the expert-matmul configurations the GPU tests run into bundles.
#   test/GPU/gen-bundles.sh SAMOYEDS_OPT OUT_DIR [CHIP]
# One bundle per line of the table below: name experts rows cols n m v dtype
# epilogue. The GPU machine has no MLIR: compile here, carry OUT_DIR there.
# SAMOYEDS_TILE_OPTIONS (e.g. "persistent=3") is passed to the pipeline.
set -euo pipefail
opt=$1 out=$2 chip=${3:-sm_90a}
mkdir -p "$out"
while read -r name e r k n m v dt epi; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  ocols=$r
  [[ "$epi" == silu_mul ]] && ocols=$((r / 2))
  enc="#samoyeds.ss<n = $n, m = $m, v = $v>"
  cat > "$out/$name.mlir" <<MLIR
func.func @$name(
    %w: tensor<${e}x${r}x${k}x${dt}, $enc> {samoyeds.name = "w"},
    %x: tensor<?x${k}x${dt}> {samoyeds.name = "x"},
    %offsets: tensor<$((e + 1))xi32> {samoyeds.name = "offsets"},
    %tokens: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x${ocols}x${dt}> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <$epi>
      : (tensor<${e}x${r}x${k}x${dt}, $enc>, tensor<?x${k}x${dt}>,
         tensor<$((e + 1))xi32>, tensor<?xi32>) -> tensor<?x${ocols}x${dt}>
  return %y : tensor<?x${ocols}x${dt}>
}
MLIR
  "$opt" "$out/$name.mlir" --samoyeds-to-bundle="chip=$chip ${SAMOYEDS_TILE_OPTIONS:-} dir=$out/$name" >/dev/null
  echo "bundle $out/$name"
done <<'TABLE'
# name                  E  rows   cols n m v   dtype epilogue
mixtral_24              1  14336  4096 1 1 128 bf16  none
mixtral_12v128          1  14336  4096 1 2 128 bf16  none
mixtral_12v32           1  14336  4096 1 2 32  bf16  none
olmoe_24                1  1024   2048 1 1 128 bf16  none
olmoe_12v128            1  1024   2048 1 2 128 bf16  none
olmoe_12v32             1  1024   2048 1 2 32  bf16  none
olmoe_w13_silu_4e       4  2048   2048 1 2 128 bf16  silu_mul
olmoe_12v64_f16_4e      4  1024   2048 1 2 64  f16   none
TABLE
