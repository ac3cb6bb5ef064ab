#!/usr/bin/env bash
# The H200 layer benchmark (the bars of shared/anchors/H200.md), one command on the GPU
# machine:
#   bash bench/run-h200.sh OUT_DIR [MODELS] [LAYERS_DIR]
# Needs the layer bundles compiled on a machine with MLIR first (the GPU machine has none):
# `bash bench/prepare.sh` writes them under .device/layers (carry .device). Builds the runtime
# library, checks every bundle against its model (h200.py --dry-run, no GPU time lost on a
# missing one), then runs bench/h200.py once per model, one process each (a model's memory is
# freed before the next), and renders the tables with bench/report.py --h200.
# OUT_DIR gets h200-MODEL.json (one per model, rewritten after every T), h200.log (all that
# was printed) and Performance-H200.md: 8 files at most. MODELS: comma-separated, default
# all six; LAYERS_DIR: default .device/layers. H200_MODEL_TIMEOUT (seconds, default 240)
# bounds each model's process. Exits 0 when every model ran and passed its checks.
set -uo pipefail
out=${1:?usage: bench/run-h200.sh OUT_DIR [MODELS] [LAYERS_DIR]}
models=${2:-mixtral,qwen2_moe,deepseek_v2l,olmoe,deepseek_v2,qwen3_235b}
root=$(cd "$(dirname "$0")/.." && pwd)
layers=${3:-${SAMOYEDS_DEVICE_DIR:-$root/.device}/layers}
rt=${SAMOYEDS_RT_BUILD:-/tmp/samoyeds-rt}
mkdir -p "$out"
log=$out/h200.log
: > "$log"
say() { echo "$@" | tee -a "$log"; }
start=$(date +%s)
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}

say "== runtime library ($rt)"
if ! { cmake -S "$root/runtime" -B "$rt" -G Ninja -DCMAKE_BUILD_TYPE=Release > "$rt.log" 2>&1 &&
       ninja -C "$rt" SamoyedsRuntimeShared >> "$rt.log" 2>&1; }; then
  tail -40 "$rt.log" | tee -a "$log"
  say "runtime build failed"
  exit 1
fi
export PYTHONPATH=$root/python:$root/bench SAMOYEDS_RUNTIME_LIB=$rt
nvidia-smi -L 2>&1 | tee -a "$log"

say "== bundles ($layers)"
python3 "$root/bench/h200.py" --layers "$layers" --models "$models" --dry-run 2>&1 | tee -a "$log"
[[ ${PIPESTATUS[0]} == 0 ]] || { say "bundle check failed"; exit 1; }

fail=0
jsons=()
for m in ${models//,/ }; do
  say "== $m ($(($(date +%s) - start)) s so far)"
  rm -f "$out/h200-$m.json"
  timeout "${H200_MODEL_TIMEOUT:-240}" python3 "$root/bench/h200.py" --layers "$layers" \
    --models "$m" --threads "$(nproc)" --out "$out/h200-$m.json" 2>&1 | tee -a "$log"
  st=${PIPESTATUS[0]}
  [[ $st == 0 ]] || { say "h200.py $m exited with $st"; fail=1; }
  [[ -f $out/h200-$m.json ]] && jsons+=("$out/h200-$m.json")
done

if ((${#jsons[@]})); then
  python3 "$root/bench/report.py" --h200 "${jsons[@]}" --date "$(date +%F)" \
    --command "bash bench/run-h200.sh OUT_DIR" --out "$out/Performance-H200.md" 2>&1 | tee -a "$log"
  [[ ${PIPESTATUS[0]} == 0 ]] || fail=1
else
  fail=1
fi
say "== done in $(($(date +%s) - start)) s, exit status $fail"
exit $fail
