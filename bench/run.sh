#!/usr/bin/env bash
# The performance benchmark, one command on the GPU machine:
#   bash bench/run.sh OUT_DIR [MODELS] [KERNEL_FILTER]
# Needs the bundles compiled on a machine with MLIR first (the GPU machine has
# none): `bash bench/prepare.sh` writes them under .device/ (carry it over).
# Builds the runtime and the cuSPARSELt baseline library, then runs
# bench/bench.py (whole layers: ours, torch._grouped_mm, per-expert loop,
# cuSPARSELt loop) and bench/kernel_bench.py (expert matmuls: ours, cuBLAS,
# cuSPARSELt), writing JSON and logs to OUT_DIR, and the page and plots with
# bench/report.py. MODELS (comma-separated, default all four) and
# KERNEL_FILTER (bundle-name substrings, or "none" to skip) split long runs.
set -euo pipefail
out=${1:?usage: bench/run.sh OUT_DIR [MODELS] [KERNEL_FILTER]}
models=${2:-mixtral,qwen2_moe,deepseek_v2l,olmoe}
kfilter=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
dev=${SAMOYEDS_DEVICE_DIR:-$root/.device}
rt=${SAMOYEDS_RT_BUILD:-/tmp/samoyeds-rt}
mkdir -p "$out"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
# Incremental builds: a runtime or baseline left from older sources is never reused.
cmake -S "$root/runtime" -B "$rt" -G Ninja -DCMAKE_BUILD_TYPE=Release > "$out/rt-configure.log" 2>&1
ninja -C "$rt" > "$out/rt-build.log" 2>&1
[[ /tmp/cslt_lib.so -nt "$root/bench/baselines/cslt_lib.cu" ]] ||
  bash "$root/bench/baselines/build-cslt-lib.sh" /tmp/cslt_lib.so > "$out/cslt-build.log" 2>&1
export PYTHONPATH=$root/python:$root/bench SAMOYEDS_RUNTIME_LIB=$rt
python3 "$root/bench/bench.py" --layers "$dev/layers" --models "$models" \
  --cslt-lib /tmp/cslt_lib.so --out "$out/layer-${models//,/-}.json" 2>&1 | tee "$out/layer-${models//,/-}.log"
if [[ "$kfilter" != none ]]; then
  python3 "$root/bench/kernel_bench.py" --bundles "$dev/kernels" --cslt-lib /tmp/cslt_lib.so \
    ${kfilter:+--only "$kfilter"} --out "$out/kernels.json" 2>&1 | tee "$out/kernels.log"
fi
python3 "$root/bench/report.py" --layer "$out"/layer-*.json \
  $([[ -f $out/kernels.json ]] && echo --kernel "$out/kernels.json") \
  --date "$(date +%F)" --command "bash bench/run.sh OUT_DIR" --out "$out/Performance.md"
