#!/usr/bin/env bash
# Runs the GPU tests of the compiled expert matmuls (GPU machine; needs nvcc-free
# CMake + a C++ compiler + the CUDA driver).
#   test/GPU/run-gpu-tests.sh BUNDLES_DIR LOG_DIR [--sanitize]
# Builds the runtime alone (no MLIR), runs ssmm-gpu-test on every bundle for
# P in {1, 7, 64, 129, 1000} and, with --sanitize, compute-sanitizer memcheck
# on the small token counts. Exits non-zero if any check fails.
set -uo pipefail
bundles=$1 logs=$2 sanitize=${3:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$logs"
build=${SAMOYEDS_RT_BUILD:-/tmp/samoyeds-rt}
cmake -S "$root/runtime" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  > "$logs/rt-configure.log" 2>&1 && ninja -C "$build" > "$logs/rt-build.log" 2>&1 \
  || { echo "runtime build failed"; tail -30 "$logs/rt-build.log"; exit 1; }
test=$build/ssmm-gpu-test
[[ -x $test ]] || test=$(find "$build" -name ssmm-gpu-test -type f | head -1)
# Bundles run concurrently (correctness only; timings come from bench/).
run_one() {
  local b=$1 name
  name=$(basename "$b")
  {
    echo "== $name"
    # OLMoE-sized bundles split up to 1024-2048 slots: 2100 runs their
    # unsplit kernel too.
    local tokens=1,7,64,129,1000
    [[ $name == olmoe* ]] && tokens=$tokens,2100
    "$test" "$b" --tokens $tokens --seed 7 2>&1 || echo "FAILED: $name"
    if [[ "$sanitize" == --sanitize ]]; then
      compute-sanitizer --tool memcheck --error-exitcode 3 "$test" "$b" --tokens 1,7,129 \
        --seed 11 > "$logs/$name.memcheck.txt" 2>&1
      local rc=$?
      echo "memcheck $name rc=$rc $(grep -h 'ERROR SUMMARY' "$logs/$name.memcheck.txt")"
      [[ $rc == 0 ]] || echo "FAILED: memcheck $name"
    fi
  } > "$logs/$name.test.log" 2>&1
}
for b in "$bundles"/*/; do run_one "$b" & done
wait
cat "$logs"/*.test.log | grep -v "ERROR SUMMARY: 0 errors$" | grep -v "^=====" || true
! grep -q "FAILED" "$logs"/*.test.log
