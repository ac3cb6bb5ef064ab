#!/usr/bin/env bash
# Compiles the small layers of python/tests/test_route_forms.py twice each:
# NAME_default (calls of up to 4 tokens select and place their slots in the
# dispatch's first kernel) and NAME_apart (select-dispatch=false: the select
# kernel and the dispatch kernel for every call), and NAME_unchunked
# (chunked-dispatch=false: calls of 8192 routed slots and more placed by the
# dispatch's `_long` kernel instead of `_count` and `_place`).
#   test/GPU/gen-route-bundles.sh SAMOYEDS_OPT OUT_DIR [CHIP]
set -euo pipefail
opt=$1 out=$2 chip=${3:-sm_90a}
mkdir -p "$out"
H=256 I=256
while read -r name e k attrs; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  [[ "$attrs" == "-" ]] && attrs=""
  file="$out/$name.mlir"
  cat > "$file" <<MLIR
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @$name(%x: tensor<?x${H}xbf16> {samoyeds.name = "x"},
    %router: tensor<${e}x${H}xbf16> {samoyeds.name = "router"},
    %w13: tensor<${e}x$((2 * I))x${H}xbf16, #ss> {samoyeds.name = "w13"},
    %w2: tensor<${e}x${H}x${I}xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x${H}xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k($k) $attrs
      : (tensor<?x${H}xbf16>, tensor<${e}x${H}xbf16>,
         tensor<${e}x$((2 * I))x${H}xbf16, #ss>, tensor<${e}x${H}x${I}xbf16, #ss>)
      -> tensor<?x${H}xbf16>
  return %y : tensor<?x${H}xbf16>
}
MLIR
  "$opt" "$file" --samoyeds-to-bundle="chip=$chip dir=$out/${name}_default" -o /dev/null
  "$opt" "$file" --samoyeds-to-bundle="chip=$chip select-dispatch=false dir=$out/${name}_apart" \
    -o /dev/null
  "$opt" "$file" --samoyeds-to-bundle="chip=$chip chunked-dispatch=false dir=$out/${name}_unchunked" \
    -o /dev/null
  rm "$file"
  echo "bundles $out/${name}_{default,apart,unchunked}"
done <<'TABLE'
# name   experts top_k attributes
e64k8    64      8     {renormalize}
e160k6   160     6     {routed_scaling_factor = 2.5}
TABLE
