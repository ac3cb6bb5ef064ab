#!/usr/bin/env bash
# The test command: installs dependencies, builds everything, then runs the
# lit suite (compiler), the samoyeds-opt mutation-fuzz smoke run, the runtime's
# unit tests (plain and under ASan+UBSan), the runtime libFuzzer smoke run and
# the Python tests.
# GPU tests need a GPU: test/GPU/run-gpu-tests.sh runs them on a GPU machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SAMOYEDS_BUILD_DIR:-$root/build}
bash "$root/scripts/setup-deps.sh"
bash "$root/scripts/build.sh"
# The pinned nvidia-cuda-nvcc wheel's ptxas (Triton, which torch brings, has an older one).
ptxas=$(find "$root/.venv" -path "*/nvidia/cuda_nvcc/bin/ptxas" -type f | head -1)
echo "== lit (compiler): ptxas = ${ptxas:-none}"
SAMOYEDS_PTXAS="$ptxas" /usr/lib/llvm-22/bin/lit -sv "$build/test"
echo "== fuzz smoke (samoyeds-opt on mutated inputs, fixed seed, ~25 s)"
python3 "$root/fuzz/samoyeds-opt-mutate.py" --smoke --samoyeds-opt "$build/bin/samoyeds-opt"
echo "== ctest (runtime unit tests)"
ctest --test-dir "$build" --output-on-failure
echo "== runtime unit tests under AddressSanitizer and UBSan"
cmake -S "$root/runtime" -B "$build-asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 -DSAMOYEDS_SANITIZE=ON \
  > "$build-asan.configure.log" 2>&1 || { cat "$build-asan.configure.log"; exit 1; }
ninja -C "$build-asan" ${SAMOYEDS_NINJA_FLAGS:-} > "$build-asan.log" 2>&1 || { tail -40 "$build-asan.log"; exit 1; }
ctest --test-dir "$build-asan" --output-on-failure
echo "== runtime fuzz smoke (libFuzzer, ASan+UBSan, 10 s a target)"
CLANG=clang++-22 BUILD_DIR="$build-fuzz" bash "$root/fuzz/runtime/smoke.sh" 10
if [[ -d "$root/python/tests" ]]; then
  echo "== pytest (python package)"
  lib=$(find "$build" -name 'libsamoyeds_runtime.so' | head -1)
  SAMOYEDS_RUNTIME_LIB="$lib" PYTHONPATH="$root/python" \
    "$root/.venv/bin/python" -m pytest -q -rs "$root/python/tests"
  echo "== pytest (the benchmarks' CPU tests: bench/report.py, h200.py, model_bench.py, pending.sh, stall_summary.py, same_kernels.py)"
  SAMOYEDS_RUNTIME_LIB="$lib" PYTHONPATH="$root/python" \
    "$root/.venv/bin/python" -m pytest -q -rs "$root/bench/test_h200.py" "$root/bench/test_model_bench.py" \
    "$root/bench/test_pending.py" "$root/bench/test_stall_summary.py" "$root/bench/test_same_kernels.py"
fi
