#!/usr/bin/env bash
# Builds the runtime's libFuzzer targets (docs/Robustness.md) with clang,
# ASan and UBSan:
#   fuzz/runtime/build.sh [BUILD_DIR]        (default: build-fuzz)
# Targets: BUILD_DIR/fuzz/samoyeds-fuzz-{manifest,weightfile,unpack}.
# CLANG (default: the newest clang++-NN on PATH, else clang++) picks the
# compiler; JOBS (default 2) the build parallelism.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-fuzz}
if [[ -z ${CLANG:-} ]]; then
  CLANG=$(compgen -c clang++- | grep -E '^clang\+\+-[0-9]+$' | sort -t- -k2 -n |
          tail -1 || true)
  CLANG=${CLANG:-clang++}
fi
cc=${CLANG/clang++/clang}
cmake -S "$root/runtime" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CLANG" -DCMAKE_C_COMPILER="$cc" \
  -DSAMOYEDS_FUZZ=ON -DSAMOYEDS_RUNTIME_BUILD_TESTS=OFF >/dev/null
ninja -C "$build" -j "${JOBS:-2}" samoyeds-fuzz-manifest \
  samoyeds-fuzz-weightfile samoyeds-fuzz-unpack
