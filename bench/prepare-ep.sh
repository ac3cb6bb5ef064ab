#!/usr/bin/env bash
# Compiles the bundles bench/ep_bench.py needs (on a machine with samoyeds-opt; the GPU
# machine has none), into .device/ep/ (git-ignored; carry .device to the GPU machine):
#   bash bench/prepare-ep.sh [SAMOYEDS_OPT]
# A DeepSeek-V3 MoE layer shape (hidden 7168, moe_intermediate 2048, 256 routed experts,
# top-8), experts-only (samoyeds.moe_experts, routing given), 1:2:128, sm_90a, wgmma:
#   single_k8/  all 256 experts, top-k 8: the single-GPU layer
#   single_k1/  all 256 experts, top-k 1: the single-GPU slot-by-slot run (bit-identity check)
#   rank_k1/    128 experts, top-k 1: each rank's local experts with 2 ranks (contiguous)
# About 1.5 MB in all; SAMOYEDS_DEVICE_DIR moves .device.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
opt=${1:-$root/build/bin/samoyeds-opt}
out=${SAMOYEDS_DEVICE_DIR:-$root/.device}/ep
[[ -x $opt ]] || { echo "samoyeds-opt not found at $opt (build it: scripts/build.sh)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/mlir"
H=7168 I=2048
py=python3
[[ -x $root/.venv/bin/python ]] && py=$root/.venv/bin/python
for spec in "single_k8 256 8" "single_k1 256 1" "rank_k1 128 1"; do
  read -r name E k <<< "$spec"
  PYTHONPATH="$root/python" "$py" -c "
import sys
from samoyeds.compile import layer_mlir
sys.stdout.write(layer_mlir($E, $H, $I, $k, 1, 2, 128))" > "$out/mlir/$name.mlir"
  "$opt" "$out/mlir/$name.mlir" \
    --samoyeds-to-bundle="chip=sm_90a strategy=wgmma_sp dir=$out/$name" -o /dev/null
  echo "$out/$name: E=$E H=$H I=$I top-k $k ($(du -sh "$out/$name" | cut -f1))"
done
