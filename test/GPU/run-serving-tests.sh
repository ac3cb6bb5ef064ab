#!/usr/bin/env bash
# The GPU tests of samoyeds.load (python/tests/test_serving.py) on a GPU machine without
# samoyeds-opt, from the models test/GPU/gen-serving-dirs.sh compiled elsewhere:
#   test/GPU/run-serving-tests.sh [PRECOMPILED_DIR] [LOG_DIR]
# PRECOMPILED_DIR defaults to .device/serving. Builds the runtime library alone (CMake +
# Ninja, no MLIR) into $SAMOYEDS_RT_BUILD (default /tmp/samoyeds-rt), then runs pytest with
# SAMOYEDS_PRECOMPILED set: the tests check every precompiled file against the index and
# the packed weights against the checkpoint before comparing. Exit status: pytest's.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pre=$(cd "${1:-$root/.device/serving}" && pwd) || { echo "no precompiled directory"; exit 1; }
logs=${2:-/tmp/samoyeds-serving-logs}
rt=${SAMOYEDS_RT_BUILD:-/tmp/samoyeds-rt}
mkdir -p "$logs"
if ! { cmake -S "$root/runtime" -B "$rt" -G Ninja -DCMAKE_BUILD_TYPE=Release \
         > "$logs/rt-configure.log" 2>&1 &&
       ninja -C "$rt" SamoyedsRuntimeShared > "$logs/rt-build.log" 2>&1; }; then
  tail -30 "$logs/rt-configure.log" "$logs/rt-build.log"
  echo "runtime build failed"
  exit 1
fi
cd "$root"
SAMOYEDS_PRECOMPILED=$pre SAMOYEDS_RUNTIME_LIB=$rt PYTHONPATH=$root/python \
  python3 -m pytest -v -rs python/tests/test_serving.py 2>&1 | tee "$logs/pytest.log"
exit "${PIPESTATUS[0]}"
