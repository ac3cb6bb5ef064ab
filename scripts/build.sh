#!/usr/bin/env bash
# Configures and builds the compiler (samoyeds-opt, lit suite, docs, example
# bundle) and the runtime into build/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SAMOYEDS_BUILD_DIR:-$root/build}
# The pinned nvidia-cuda-nvcc wheel's ptxas (Triton, which torch brings, has an older one).
ptxas=$(find "$root/.venv" -path "*/nvidia/cuda_nvcc/bin/ptxas" -type f 2>/dev/null | head -1 || true)
[[ -n "$ptxas" ]] && export PATH="$(dirname "$ptxas"):$PATH"
cmake -G Ninja -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
  -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DLLVM_USE_LINKER=lld >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
ninja -C "$build" ${SAMOYEDS_NINJA_FLAGS:-}
