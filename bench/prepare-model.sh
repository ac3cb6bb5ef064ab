#!/usr/bin/env bash
# Compiles the bundles of the model-level benchmark (bench/model_bench.py) on a machine with
# MLIR, into .device/model for carrying to the GPU machine (which has no samoyeds-opt):
#   bash bench/prepare-model.sh [SAMOYEDS_OPT]
# One experts-only bundle per model (Qwen3-30B-A3B, DeepSeek-V3 shapes) and format (2:4,
# 1:2+2:4), for sm_90a, with index.json; about 2 MiB. SAMOYEDS_DEVICE_DIR moves .device.
# Then, on the GPU machine: bash bench/run-model-bench.sh OUT_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
opt=${1:-${SAMOYEDS_OPT:-$root/build/bin/samoyeds-opt}}
dev=${SAMOYEDS_DEVICE_DIR:-$root/.device}
py=python3
[[ -x $root/.venv/bin/python ]] && py=$root/.venv/bin/python
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
PYTHONPATH=$root/python${PYTHONPATH:+:$PYTHONPATH} "$py" "$root/bench/model_specs.py" \
  "$dev/model" --samoyeds-opt "$opt" --commit "$commit"
