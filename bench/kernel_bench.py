"""Expert-matmul benchmark, one process: our compiled ssmm kernels against cuBLAS and cuSPARSELt.

    bench/baselines/build-cslt-lib.sh /tmp/cslt_lib.so
    PYTHONPATH=python SAMOYEDS_RUNTIME_LIB=BUILD python3 bench/kernel_bench.py \
        --bundles KERNEL_BUNDLES --cslt-lib /tmp/cslt_lib.so --out $OUT/kernels.json --plot $OUT/kernels.png

KERNEL_BUNDLES holds single-expert bundles named SHAPE_FORMAT (test/GPU/gen-kernel-bundles.sh).
For every bundle and n in --tokens: y[n, rows] = x[n, cols] . W^T through samoyeds.kernel.ExpertMatmul
(random bf16 W packed with the bundle's n:m:v, tokens = arange(n), one expert), checked against a
float64 reference on the unpacked (pruned) W; then timed with bench.py's ColdTimer (256 MB write before
every run, CUDA events, median). Baselines on the same rows x cols x n, same method, from cslt_lib.so:
cuBLAS dense bf16 and cuSPARSELt 2:4 with a cached, searched plan. Prints one line per point; writes
JSON and, with --plot, speedup over cuSPARSELt per shape.

With --variants NAME=DIR,NAME=DIR,... (bundle directories compiled with different options, e.g.
SAMOYEDS_TILE_OPTIONS="split-slots=1024" test/GPU/gen-kernel-bundles.sh) every bundle name of the
first directory is run from each directory on the same packed weights and inputs, each checked, the
variants timed interleaved rep by rep in one process; each row names its variant and its time over
the first variant's (the baselines are measured once per shape and n). --control adds the first
variant again as a last one (NAME-again: its own session and weight upload), an A/A control whose
ratio is the A/B's floor: two uploads of one bundle have timed 0.96-1.05x apart on some shapes
(bench/RESULTS.md S54).
"""
import argparse
import ctypes
import json
import os
import sys

import torch

from bench import ColdTimer, measure_device
from samoyeds.kernel import ExpertMatmul
from samoyeds.pack import bf16_to_float32, pack, unpack

dev = "cuda"


def load_cslt(path):
    """cslt_lib.so (bench/baselines/cslt_lib.cu) loaded and initialised; exits on failure."""
    lib = ctypes.CDLL(os.path.abspath(path))
    lib.cslt_last_error.restype = ctypes.c_char_p
    lib.cslt_last_relerr.restype = ctypes.c_double
    for fn in ("cublas_gemm_us", "cslt_gemm_us"):
        getattr(lib, fn).argtypes = [ctypes.c_int] * 4
        getattr(lib, fn).restype = ctypes.c_double
    lib.cslt_layer_us.argtypes = [ctypes.c_int] * 3 + [ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    lib.cslt_layer_us.restype = ctypes.c_double
    lib.cslt_clear.restype = lib.cslt_shutdown.restype = None
    torch.empty(1, device=dev)  # torch's primary context first; the library's runtime shares it
    if lib.cslt_init() != 0:
        sys.exit(f"cslt_init: {lib.cslt_last_error().decode()}")
    return lib


def cslt_call(lib, fn, *args):
    v = getattr(lib, fn)(*args)
    if v < 0:
        sys.exit(f"{fn}{args[:3]}: {lib.cslt_last_error().decode()}")
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundles", default=None)
    ap.add_argument("--variants", default=None, help="NAME=DIR,... (same-process A/B)")
    ap.add_argument("--control", action="store_true",
                    help="with --variants: the first variant again, last (an A/A control)")
    ap.add_argument("--cslt-lib", required=True)
    ap.add_argument("--only", default=None, help="comma-separated substrings of bundle names")
    ap.add_argument("--tokens", default="16,64,256,1024,4096")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--out", default="kernel_bench.json")
    ap.add_argument("--plot", default=None)
    a = ap.parse_args()
    if (a.bundles is None) == (a.variants is None):
        ap.error("give exactly one of --bundles and --variants")
    variants = ([("ours", a.bundles)] if a.bundles else
                [tuple(v.split("=", 1)) for v in a.variants.split(",")])
    if any(len(v) != 2 or not os.path.isdir(v[1]) for v in variants):
        ap.error(f"--variants: NAME=DIR with existing directories: {a.variants}")
    if a.control and not a.variants:
        ap.error("--control needs --variants")
    if a.control:
        variants.append((variants[0][0] + "-again", variants[0][1]))
    tokens = [int(t) for t in a.tokens.split(",")]
    timer = ColdTimer(a.reps)
    torch.manual_seed(0)
    lib = load_cslt(a.cslt_lib)

    res = measure_device(timer)
    copy_gbps, cublas_tflops = res["copy_gbps"], res["cublas_tflops"]

    first = variants[0][1]
    names = sorted(d for d in os.listdir(first)
                   if os.path.isfile(os.path.join(first, d, "manifest.json")))
    if a.only:
        names = [d for d in names if any(s in d for s in a.only.split(","))]
    base, base_shape, failures = {}, None, []
    for name in names:
        shape, fmt = name.rsplit("_", 1)
        mms = [ExpertMatmul(os.path.join(d, name)) for _, d in variants]
        w = mms[0].weight
        if any(m.weight["rows"] != w["rows"] or m.weight["cols"] != w["cols"] or
               (m.weight["n"], m.weight["m"], m.weight["v"]) != (w["n"], w["m"], w["v"])
               for m in mms[1:]):
            sys.exit(f"{name}: the variants' weights differ")
        R, K = w["rows"], w["cols"]
        if (R, K) != base_shape:  # bundles of one shape are adjacent: free the previous plans
            lib.cslt_clear()
            base, base_shape = {}, (R, K)
        dense = (torch.randn(R, K, device=dev) * 0.02).to(torch.bfloat16)
        packed = pack(dense, w["n"], w["m"], w["v"])
        for mm in mms:
            mm.upload(packed)
        wref = torch.from_numpy(bf16_to_float32(unpack(packed)[0])).to(dev, torch.float64)
        dense = None
        for T in tokens:
            x = torch.randn(T, K, dtype=torch.bfloat16, device=dev)
            tok = torch.arange(T, dtype=torch.int32, device=dev)
            offs = torch.tensor([0, T], dtype=torch.int32, device=dev)
            ref = x.double() @ wref.T
            checks = []
            for mm in mms:  # each variant checked before it is timed, on a poisoned output
                y = torch.full((T, R), float("nan"), dtype=torch.bfloat16, device=dev)
                mm(x, tok, offs, y)
                torch.cuda.synchronize()
                checks.append((int(torch.isnan(y).sum()),
                               ((y.double() - ref).norm() / ref.norm()).item()))
            times = timer.interleaved([lambda mm=mm: mm(x, tok, offs, y) for mm in mms])
            if T not in base:
                cub = cslt_call(lib, "cublas_gemm_us", R, K, T, a.reps)
                csl = cslt_call(lib, "cslt_gemm_us", R, K, T, a.reps)
                base[T] = (cub, csl, lib.cslt_last_relerr())
            cub, csl, csl_rel = base[T]
            for (vname, _), (nan, rel), us in zip(variants, checks, times):
                ours = us * 1e3
                tflops = 2 * R * K * T / (ours * 1e-6) / 1e12
                row = dict(bundle=name, shape=shape, format=fmt, rows=R, cols=K, n=T,
                           ours_us=ours, cublas_us=cub, cslt_us=csl,
                           speedup_vs_cublas=cub / ours, speedup_vs_cslt=csl / ours,
                           tflops=tflops, tflops_fraction=tflops / cublas_tflops,
                           packed_bytes=packed.nbytes,
                           bw_fraction=packed.nbytes / (ours * 1e-6) / (copy_gbps * 1e9),
                           relerr=rel, nan=nan, cslt_relerr_vs_cublas=csl_rel,
                           ok=bool(nan == 0 and rel <= 2e-2))
                label = name
                if a.variants:
                    row.update(variant=vname, vs_first=times[0] / us)
                    label = f"{name}:{vname}"
                res["rows"].append(row)
                print(f"{label:28} n={T:5d} ours {ours:8.1f} us  cuBLAS {cub:8.1f} "
                      f"({row['speedup_vs_cublas']:5.2f}x)  cuSPARSELt {csl:8.1f} "
                      f"({row['speedup_vs_cslt']:5.2f}x)  {tflops:6.0f} TFLOP/s "
                      f"({row['tflops_fraction']:.2f} of cuBLAS)  bw {row['bw_fraction']:.2f}  "
                      f"relerr {rel:.1e}"
                      + (f"  {row['vs_first']:.2f}x {variants[0][0]}" if a.variants else "")
                      + ("" if row["ok"] else f"  FAIL ({nan} NaN)"), flush=True)
                if not row["ok"]:
                    failures.append(f"{label} n={T}: relerr {rel:.2e}, {nan} NaN")
        for mm in mms:
            mm.close()
        wref = None
        torch.cuda.empty_cache()
    lib.cslt_shutdown()

    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        shapes = list(dict.fromkeys(r["shape"] for r in res["rows"]))
        cols = min(4, len(shapes)) or 1
        fig, axes = plt.subplots((len(shapes) + cols - 1) // cols or 1, cols, squeeze=False,
                                 figsize=(4.5 * cols, 3.6 * ((len(shapes) + cols - 1) // cols or 1)))
        for ax, shape in zip(axes.flat, shapes):
            for fmt in dict.fromkeys(r["format"] for r in res["rows"] if r["shape"] == shape):
                rows = [r for r in res["rows"] if r["shape"] == shape and r["format"] == fmt]
                ax.plot([r["n"] for r in rows], [r["speedup_vs_cslt"] for r in rows],
                        marker="o", label=fmt)
            ax.axhline(1.0, color="gray", lw=0.8)
            ax.set_xscale("log", base=2)
            ax.set_title(f"{shape} ({rows[0]['rows']}x{rows[0]['cols']})")
            ax.set_xlabel("tokens n")
            ax.set_ylabel("speedup over cuSPARSELt 2:4")
            ax.legend()
        fig.suptitle(f"Samoyeds expert matmul vs cuSPARSELt (cached plan), {res['device']} "
                     f"(cold L2, median)")
        fig.tight_layout()
        fig.savefig(a.plot, dpi=120, bbox_inches="tight")
    if failures:
        sys.exit("correctness failures:\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    main()
