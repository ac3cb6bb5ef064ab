#!/usr/bin/env bash
# The main job: install, build, and compile the example MoE layer
# (examples/moe_layer.mlir: OLMoE-1B-7B shapes, 1:2 + 2:4 weights) and the
# example expert matmul to bundles; on a machine with an NVIDIA GPU (sm_90a),
# also run the layer on random weights and inputs against the float64 CPU
# reference (twice, bit-identical) and time it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SAMOYEDS_BUILD_DIR:-$root/build}
bash "$root/scripts/setup-deps.sh"
bash "$root/scripts/build.sh"
for b in moe_layer expert_ssmm; do
  bundle=$build/examples/$b.bundle
  echo "== $bundle: $(grep -c 'mma.sp::ordered_metadata' "$bundle/kernels.ptx") mma.sp and" \
       "$(grep -c 'wgmma.mma_async.sp' "$bundle/kernels.ptx") wgmma.mma_async.sp instructions,"\
       "$(grep -c '"kernel"' "$bundle/manifest.json") launches"
  ls -l "$bundle"
done
echo "== run the layer (GPU)"
"$build/runtime/moe-gpu-test" "$build/examples/moe_layer.bundle" --tokens 1,16,256 \
  --repeat-check --allow-skip
