"""First timing of the compiled expert matmul against cuBLAS dense (GPU machine).

    python3 bench/first_timing.py SSMM_GPU_TEST BUNDLES_DIR

Both sides are timed the same way: a loop of launches on the default stream,
one synchronisation, host wall clock divided by the iteration count (the
runtime's C API has no event timing yet). The weights stay in L2 between
iterations on both sides where they fit (50 MB L2): a starting point, not the
cold-L2 benchmark of bench/ (issue: performance).
"""
import re
import subprocess
import sys
import time

import torch

test, bundles = sys.argv[1], sys.argv[2]
ITERS = 200
TOKENS = [1, 16, 64, 256, 1000]
SHAPES = {"mixtral": (14336, 4096), "olmoe": (1024, 2048)}
FORMATS = ["24", "12v128", "12v32"]


def cublas_ms(rows, cols, p):
    w = torch.randn(rows, cols, dtype=torch.bfloat16, device="cuda") * 0.05
    x = torch.randn(p, cols, dtype=torch.bfloat16, device="cuda")
    for _ in range(10):
        y = x @ w.t()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(ITERS):
        y = x @ w.t()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1e3 / ITERS


def ours_ms(bundle):
    out = subprocess.run([test, bundle, "--tokens", ",".join(map(str, TOKENS)),
                          "--iters", str(ITERS)], capture_output=True, text=True)
    print(out.stdout, end="")
    if out.returncode != 0:
        print(out.stderr)
        sys.exit("ssmm-gpu-test failed on " + bundle)
    return {int(m.group(1)): float(m.group(2))
            for m in re.finditer(r"P=(\d+) relerr=\S+ ok avg_ms=([\d.]+)", out.stdout)}


print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}")
rows_out = []
for shape, (rows, cols) in SHAPES.items():
    dense = {p: cublas_ms(rows, cols, p) for p in TOKENS}
    for fmt in FORMATS:
        ours = ours_ms(f"{bundles}/{shape}_{fmt}")
        for p in TOKENS:
            rows_out.append((shape, rows, cols, fmt, p, dense[p], ours[p]))
print(f"{'shape':8} {'R':>6} {'K':>5} {'format':7} {'P':>5} {'cublas_ms':>10} "
      f"{'ours_ms':>9} {'speedup':>8}")
for shape, rows, cols, fmt, p, d, o in rows_out:
    print(f"{shape:8} {rows:6d} {cols:5d} {fmt:7} {p:5d} {d:10.4f} {o:9.4f} {d / o:8.2f}")
