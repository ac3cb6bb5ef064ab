#!/usr/bin/env bash
# Runs the whole-layer GPU tests (GPU machine): every layer bundle with random
# routing at several token counts, then skewed routings, each checked against
# the float64 reference and for bit-identical repeated runs.
#   test/GPU/run-layer-tests.sh LAYER_BUNDLES_DIR LOG_DIR [TOKENS]
# SAMOYEDS_CHECK_ROWS=N compares N evenly spaced rows of each output (large T:
# the float64 reference of a whole Mixtral layer at T = 4096 takes minutes).
set -uo pipefail
layers=$1 logs=$2 tokens=${3:-1,16,256}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SAMOYEDS_RT_BUILD:-/tmp/samoyeds-rt}
mkdir -p "$logs"
[[ -x $build/moe-gpu-test ]] || { cmake -S "$root/runtime" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release > "$logs/rt-configure.txt" 2>&1 && ninja -C "$build" \
  > "$logs/rt-build.txt" 2>&1; } || { echo "runtime build failed"; exit 1; }
fail=0
for b in "$layers"/*/; do
  for mode in random one-expert half-empty; do
    t=$tokens
    [[ $mode != random ]] && t=64
    "$build/moe-gpu-test" "$b" --tokens "$t" --routing $mode --repeat-check --seed 5 \
      ${SAMOYEDS_CHECK_ROWS:+--check-rows "$SAMOYEDS_CHECK_ROWS"} \
      2>&1 | tee -a "$logs/layers.log" || fail=1
  done
done
exit $fail
