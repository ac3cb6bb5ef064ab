#!/usr/bin/env bash
# Compiles every bundle the benchmarks need (bench/run.sh, bench/run-h200.sh; on a
# machine with MLIR), into .device/ for carrying to the GPU machine:
#   bash bench/prepare.sh [SAMOYEDS_OPT]
# SAMOYEDS_DEVICE_DIR moves .device; SAMOYEDS_TILE_OPTIONS reaches the compiler (e.g.
# "strategy=mma_sp"; the default, auto, takes wgmma_sp on sm_90a where the shape fits).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
opt=${1:-$root/build/bin/samoyeds-opt}
dev=${SAMOYEDS_DEVICE_DIR:-$root/.device}
rm -rf "$dev/layers" "$dev/kernels"
for f in "1 1 128" "1 2 128" "1 2 32"; do
  bash "$root/test/GPU/gen-layer-bundles.sh" "$opt" "$dev/layers" $f > /dev/null
done
# gpt-oss's layers (biases, clamped SwiGLU; 2880 needs v = 64): bench/run-h200.sh OUT
# gpt_oss_20b,gpt_oss_120b times them in 2:4 (44v64) and 1:2+2:4 (12v64).
for f in "4 4 64" "1 2 64"; do
  SAMOYEDS_LAYER_SET=gptoss SAMOYEDS_LAYER_MODELS=gpt_oss_20b,gpt_oss_120b \
    bash "$root/test/GPU/gen-layer-bundles.sh" "$opt" "$dev/layers" $f > /dev/null
done
find "$dev/layers" -name '*.mlir' -delete
bash "$root/test/GPU/gen-kernel-bundles.sh" "$opt" "$dev/kernels" > /dev/null
echo "bundles in $dev/layers and $dev/kernels"
