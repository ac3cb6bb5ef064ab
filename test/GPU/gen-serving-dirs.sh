#!/usr/bin/env bash
# Generates the small checkpoints of python/tests/test_serving.py's GPU tests (one per
# architecture) and compiles them with samoyeds-compile for sm_90a, on a machine with MLIR:
#   test/GPU/gen-serving-dirs.sh [OUT_DIR] [SAMOYEDS_OPT]
# OUT_DIR (default .device/serving) gets <arch>/ckpt, <arch>/model and index.json (the
# parameters and sha256 of every file; python/tests/serving_cases.py). Carry it to the GPU
# machine and run test/GPU/run-serving-tests.sh there (about 35 MiB: nineteen cases, the
# compiled-routing ones included).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/.device/serving}
opt=${2:-${SAMOYEDS_OPT:-$root/build/bin/samoyeds-opt}}
py=python3
[[ -x $root/.venv/bin/python ]] && py=$root/.venv/bin/python
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
PYTHONPATH=$root/python${PYTHONPATH:+:$PYTHONPATH} "$py" "$root/python/tests/serving_cases.py" \
  "$out" --samoyeds-opt "$opt" --commit "$commit"
