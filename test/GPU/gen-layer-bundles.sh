#!/usr/bin/env bash
# Compiles whole MoE layers with the shapes of the anchor models (the four of
# the H100 anchors and the two more of shared/anchors/H200.md) into bundles for
# the GPU layer tests (moe-gpu-test) and the benchmarks.
#   test/GPU/gen-layer-bundles.sh SAMOYEDS_OPT OUT_DIR [N M V] [CHIP]
# SAMOYEDS_TILE_OPTIONS (e.g. "split-k=1") is passed to the pipeline.
# SAMOYEDS_LAYER_SET=few compiles instead layers of one or two experts of the
# anchor shapes (an expert-parallel rank's slice), whose expert matmuls take
# the mid-size split-K variant (docs/TileChoice.md); SAMOYEDS_LAYER_SET=more
# the shapes of architectures beyond the anchors (Qwen3-Next-80B-A3B, GLM-4.5,
# GLM-4.5-Air, Granite-4.0-H-Small and -Tiny, MiniMax-M2; their layers' own routing
# conventions run outside a moe_ffn, so these check the expert kernels at those
# shapes); SAMOYEDS_LAYER_SET=gptoss gpt-oss-20b's and -120b's layer shapes
# with their expert biases, router bias and clamped SwiGLU (`bias(...)`,
# `router_bias(...)` (the input router_bias [E], bf16: moe-gpu-test fills it
# and counts the tokens whose experts it changed), `clamped_swiglu`; their
# hidden size 2880 needs a v dividing it, e.g. 64), and gpt_oss_2816, -20b's
# layer at 2816 (22 128-column k tiles: a shape wgmma_sp's tiles take, for
# its bias and clamped-SwiGLU epilogues), and gpt_oss_i2816, -20b's with an
# intermediate size of 2816 (gate/up's K = 2880 padded, its 1:2 kept rows
# whole 64-row tiles: row selection's span tail on wgmma_sp, with
# SAMOYEDS_TILE_OPTIONS=pad-rows=1).
# SAMOYEDS_LAYER_MODELS
# (comma-separated names) compiles only those layers of the table; a name
# the table lacks is an error.
set -euo pipefail
opt=$1 out=$2 n=${3:-1} m=${4:-2} v=${5:-128} chip=${6:-sm_90a}
mkdir -p "$out"
built=()
while read -r name h i e k attrs; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  [[ "$attrs" == "-" ]] && attrs=""
  [[ -z "${SAMOYEDS_LAYER_MODELS:-}" || ",$SAMOYEDS_LAYER_MODELS," == *",$name,"* ]] || continue
  built+=("$name")
  enc="#samoyeds.ss<n = $n, m = $m, v = $v>"
  file="$out/${name}_${n}${m}v${v}.mlir"
  # The gptoss set's expert biases and router bias: arguments, operands and
  # their types.
  bargs="" bops="" btypes=""
  if [[ "${SAMOYEDS_LAYER_SET:-}" == gptoss ]]; then
    bargs=",
    %b13: tensor<${e}x$((2 * i))xbf16> {samoyeds.name = \"w13_bias\"},
    %b2: tensor<${e}x${h}xbf16> {samoyeds.name = \"w2_bias\"},
    %rb: tensor<${e}xbf16> {samoyeds.name = \"router_bias\"}"
    bops=" bias(%b13, %b2) router_bias(%rb)"
    btypes=", tensor<${e}x$((2 * i))xbf16>, tensor<${e}x${h}xbf16>, tensor<${e}xbf16>"
  fi
  cat > "$file" <<MLIR
func.func @$name(%x: tensor<?x${h}xbf16> {samoyeds.name = "x"},
    %router: tensor<${e}x${h}xbf16> {samoyeds.name = "router"},
    %w13: tensor<${e}x$((2 * i))x${h}xbf16, $enc> {samoyeds.name = "w13"},
    %w2: tensor<${e}x${h}x${i}xbf16, $enc> {samoyeds.name = "w2"}$bargs)
    -> (tensor<?x${h}xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2$bops top_k($k) $attrs
      : (tensor<?x${h}xbf16>, tensor<${e}x${h}xbf16>,
         tensor<${e}x$((2 * i))x${h}xbf16, $enc>, tensor<${e}x${h}x${i}xbf16, $enc>$btypes)
      -> tensor<?x${h}xbf16>
  return %y : tensor<?x${h}xbf16>
}
MLIR
  "$opt" "$file" --samoyeds-to-bundle="chip=$chip ${SAMOYEDS_TILE_OPTIONS:-} dir=${file%.mlir}" -o /dev/null
  echo "bundle ${file%.mlir}"
done < <(if [[ "${SAMOYEDS_LAYER_SET:-}" == more ]]; then cat <<'TABLE'
# name        hidden inter experts top_k attributes
qwen3_next    2048   512   512     10    {renormalize}
glm45         5120   1536  160     8     {renormalize}
glm45_air     4096   1408  128     8     {renormalize}
granite4_small 4096  768   72      10    {renormalize}
granite4_tiny 1536   512   64      6     {renormalize}
minimax_m2    3072   1536  256     8     {renormalize}
TABLE
elif [[ "${SAMOYEDS_LAYER_SET:-}" == gptoss ]]; then cat <<'TABLE'
# name        hidden inter experts top_k attributes
gpt_oss_20b   2880   2880  32      4     {renormalize,activation=#samoyeds<activation clamped_swiglu>}
gpt_oss_120b  2880   2880  128     4     {renormalize,activation=#samoyeds<activation clamped_swiglu>}
gpt_oss_2816  2816   2816  32      4     {renormalize,activation=#samoyeds<activation clamped_swiglu>}
gpt_oss_i2816 2880   2816  32      4     {renormalize,activation=#samoyeds<activation clamped_swiglu>}
TABLE
elif [[ "${SAMOYEDS_LAYER_SET:-}" == few ]]; then cat <<'TABLE'
# name        hidden inter experts top_k attributes
mixtral_e2    4096   14336 2       2     {renormalize}
olmoe_e2      2048   1024  2       2     -
qwen3_e2      4096   1536  2       2     {renormalize}
deepseek_v2l_e1 2048 1408  1       1     -
TABLE
else cat <<'TABLE'
# name        hidden inter experts top_k attributes
mixtral       4096   14336 8       2     {renormalize}
qwen2_moe     3584   2560  64      8     -
deepseek_v2l  2048   1408  64      6     -
olmoe         2048   1024  64      8     -
deepseek_v2   5120   1536  160     6     -
qwen3_235b    4096   1536  128     8     {renormalize}
TABLE
fi)
wanted=${SAMOYEDS_LAYER_MODELS:-}
for want in ${wanted//,/ }; do
  [[ " ${built[*]} " == *" $want "* ]] ||
    { echo "error: SAMOYEDS_LAYER_MODELS: no layer '$want' in the table" >&2; exit 2; }
done
