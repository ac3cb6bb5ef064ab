#!/usr/bin/env bash
# Compiles single-expert matmuls on the MoE models' expert shapes into bundles
# for bench/kernel_bench.py.
#   test/GPU/gen-kernel-bundles.sh SAMOYEDS_OPT OUT_DIR [CHIP]
# SAMOYEDS_TILE_OPTIONS (e.g. "split-k=1") is passed to the pipeline;
# SAMOYEDS_KERNEL_FORMATS (e.g. "11v128") keeps only the formats it names.
# One bundle per shape and format: y[P, rows] = x[tokens[p], :] . w^T, one
# expert (E = 1), epilogue none, bf16. Named SHAPE_FORMAT (mixtral_w13_12v128):
# 11v128 is plain 2:4 (n=1 m=1 v=128), 12v128 and 12v32 keep one row in two
# (n=1 m=2) on top of 2:4. The GPU machine has no MLIR: compile here, carry
# OUT_DIR there.
set -euo pipefail
opt=$1 out=$2 chip=${3:-sm_90a}
mkdir -p "$out"
formats="11v128:1:1:128 12v128:1:2:128 12v32:1:2:32"
if [[ -n "${SAMOYEDS_KERNEL_FORMATS:-}" ]]; then
  keep=""
  for f in $formats; do
    [[ " ${SAMOYEDS_KERNEL_FORMATS//,/ } " == *" ${f%%:*} "* ]] && keep+="$f "
  done
  formats=$keep
fi
while read -r shape r k; do
  [[ -z "$shape" || "$shape" == \#* ]] && continue
  for f in $formats; do
    IFS=: read -r fname n m v <<<"$f"
    name=${shape//./_}_$fname
    enc="#samoyeds.ss<n = $n, m = $m, v = $v>"
    cat > "$out/$name.mlir" <<MLIR
func.func @$name(
    %w: tensor<1x${r}x${k}xbf16, $enc> {samoyeds.name = "w"},
    %x: tensor<?x${k}xbf16> {samoyeds.name = "x"},
    %offsets: tensor<2xi32> {samoyeds.name = "offsets"},
    %tokens: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x${r}xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <none>
      : (tensor<1x${r}x${k}xbf16, $enc>, tensor<?x${k}xbf16>,
         tensor<2xi32>, tensor<?xi32>) -> tensor<?x${r}xbf16>
  return %y : tensor<?x${r}xbf16>
}
MLIR
    "$opt" "$out/$name.mlir" --samoyeds-to-bundle="chip=$chip ${SAMOYEDS_TILE_OPTIONS:-} dir=$out/$name" >/dev/null
    echo "bundle $out/$name"
  done
done <<'TABLE'
# shape         rows   cols
mixtral.w13     28672  4096
mixtral.w2      4096   14336
qwen2.w13       5120   3584
qwen2.w2        3584   2560
deepseek.w13    2816   2048
deepseek.w2     2048   1408
olmoe.w13       2048   2048
olmoe.w2        2048   1024
TABLE
