#!/usr/bin/env bash
# Builds bench/baselines/cslt_lib.cu into a shared library for bench/kernel_bench.py and
# bench/bench.py (--cslt-lib).
#   bench/baselines/build-cslt-lib.sh OUT.so
# cuSPARSELt's header and library: $CSLT if set (a directory with include/cusparseLt.h and
# lib/libcusparseLt.so.0), else found in the Python site-packages (the nvidia.cusparselt
# package that PyTorch depends on, or any nvidia/*/ directory that holds cusparseLt.h).
# cuBLAS and nvcc come from the CUDA toolkit on PATH. ARCH (default sm_90) picks the GPU.
set -euo pipefail
out=${1:?usage: build-cslt-lib.sh OUT.so}
here=$(cd "$(dirname "$0")" && pwd)
if [[ -z "${CSLT:-}" ]]; then
  CSLT=$(python3 - <<'PY'
import glob, os, sys

def candidates():
    try:
        import nvidia.cusparselt as m
        f = getattr(m, "__file__", None)  # None for a namespace package
        if f:
            yield os.path.dirname(f)
        yield from list(getattr(m, "__path__", []))
    except ImportError:
        pass
    for p in sys.path:
        yield from sorted(glob.glob(os.path.join(p, "nvidia", "*")))

for d in candidates():
    if os.path.isfile(os.path.join(d, "include", "cusparseLt.h")):
        print(d)
        break
else:
    sys.exit("cusparseLt.h not found under nvidia/ in the Python site-packages; set CSLT")
PY
)
fi
[[ -f "$CSLT/include/cusparseLt.h" ]] || { echo "no $CSLT/include/cusparseLt.h" >&2; exit 1; }
echo "cuSPARSELt from $CSLT" >&2
nvcc -O3 -std=c++17 -arch="${ARCH:-sm_90}" -shared -Xcompiler -fPIC \
  -I"$CSLT/include" "$here/cslt_lib.cu" \
  -L"$CSLT/lib" -l:libcusparseLt.so.0 -lcublas -Xlinker -rpath="$CSLT/lib" -o "$out"
echo "built $out" >&2
