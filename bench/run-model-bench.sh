#!/usr/bin/env bash
# The model-level benchmark (bench/model_bench.py) on the GPU machine, one command, under five
# minutes with the runtime build:
#   bash bench/run-model-bench.sh OUT_DIR [model_bench.py arguments]
# Needs the bundles that `bash bench/prepare-model.sh` compiled into .device/model on a
# machine with MLIR (SAMOYEDS_DEVICE_DIR moves .device). Builds the runtime library alone
# (CMake + Ninja, no MLIR) into $SAMOYEDS_RT_BUILD (default /tmp/samoyeds-rt), then runs
# model_bench.py with a deadline that ends the whole run within MODEL_BENCH_SECONDS (default
# 290): measurements that would not fit are skipped and said so. OUT_DIR gets model.json and
# model.log (everything printed; the table last). Exit status: model_bench.py's (1 on a failed
# check, a failed model or a skipped one).
set -uo pipefail
out=${1:?usage: bench/run-model-bench.sh OUT_DIR [model_bench.py arguments]}
shift
start=$(date +%s)
root=$(cd "$(dirname "$0")/.." && pwd)
dev=${SAMOYEDS_DEVICE_DIR:-$root/.device}
rt=${SAMOYEDS_RT_BUILD:-/tmp/samoyeds-rt}
total=${MODEL_BENCH_SECONDS:-290}
mkdir -p "$out"
log=$out/model.log
if ! { cmake -S "$root/runtime" -B "$rt" -G Ninja -DCMAKE_BUILD_TYPE=Release > "$rt.log" 2>&1 &&
       ninja -C "$rt" SamoyedsRuntimeShared >> "$rt.log" 2>&1; }; then
  tail -40 "$rt.log" | tee "$log"
  echo "runtime build failed" | tee -a "$log"
  exit 1
fi
nvidia-smi -L 2>&1 | tee "$log"
left=$((total - ($(date +%s) - start)))
echo "runtime built in $((total - left)) s; ${left} s left for the benchmark" | tee -a "$log"
export PYTHONPATH=$root/python:$root/bench SAMOYEDS_RUNTIME_LIB=$rt PYTHONUNBUFFERED=1
# The benchmark's own deadline leaves 20 s for the step running when it passes and the
# table; timeout ends it only if that is exceeded.
timeout --kill-after=5 "$((left - 5))" python3 "$root/bench/model_bench.py" \
  --bundles "$dev/model" --out "$out/model.json" --deadline "$((left - 25))" "$@" 2>&1 |
  tee -a "$log"
st=${PIPESTATUS[0]}
# After the table nothing more is printed; without one, say how it ended.
grep -q "^Model-level benchmark (" "$log" ||
  echo "model_bench.py exited with $st after $(($(date +%s) - start)) s" | tee -a "$log"
exit "$st"
