"""Where a layer call's device time goes: per-kernel durations and the gaps
between them, from the PyTorch profiler (CUPTI) over CUDA-graph replays (GPU
machine).

    PYTHONPATH=python:bench SAMOYEDS_RUNTIME_LIB=BUILD python3 bench/profile_layer.py \
        --layers .device/layers --models olmoe,deepseek_v2 --formats 12v128 --tokens 1,16 \
        --out profile.json

For every model, format and T: random weights, router and inputs (as bench/ab.py),
one eager call, a CUDA graph of the call, 5 warm replays, then --reps profiled
replays with a 256 MB write before each (cold L2, as the benchmarks run). Prints,
per point, each kernel's median duration in µs with its median start and end
[start-end] after the call's first kernel starts (with dependent launches a
kernel starts before the one it waits for ends: the ends are the critical
path), the median span of a call (first kernel start to last kernel end) and
the median sum of the gaps between its kernels; writes JSON.
"""
import argparse
import itertools
import json
import os
import sys

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

import samoyeds
from bench import MODELS, load_experts, random_experts

dev = "cuda"


def calls(events, marker):
    """Device kernel events grouped by call: each call starts after a `marker` kernel."""
    out, cur = [], None
    for e in sorted(events, key=lambda e: e.time_range.start):
        if marker in e.name.lower():
            if cur:
                out.append(cur)
            cur = []
        elif cur is not None:
            cur.append(e)
    if cur:
        out.append(cur)
    return out


def profile_point(layer, x, reps):
    scratch = torch.empty(256 << 20, dtype=torch.uint8, device=dev)
    layer(x)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        layer(x)
    for _ in range(5):
        g.replay()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(reps):
            scratch.fill_(1)
            g.replay()
        torch.cuda.synchronize()
    kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    # The scratch write is PyTorch's elementwise fill kernel (its name has
    # FillFunctor; "fill" alone would also match a layer's *_logits_prefill).
    per_call = calls(kernels, "fillfunctor")
    per_call = [c for c in per_call if c]
    if not per_call:
        sys.exit("profiler saw no kernels of the layer")
    names = [e.name for e in per_call[0]]
    durs = {n: [] for n in names}
    starts = {n: [] for n in names}
    ends = {n: [] for n in names}
    spans, gaps = [], []
    for c in per_call:
        t0 = c[0].time_range.start
        for e in c:
            if e.name in durs:
                durs[e.name].append(e.time_range.end - e.time_range.start)
                starts[e.name].append(e.time_range.start - t0)
                ends[e.name].append(e.time_range.end - t0)
        spans.append(c[-1].time_range.end - c[0].time_range.start)
        gaps.append(sum(max(0, b.time_range.start - a.time_range.end) for a, b in zip(c, c[1:])))
    med = lambda v: float(np.median(v))
    return dict(kernels=[dict(name=n, us=med(durs[n]), start_us=med(starts[n]),
                              end_us=med(ends[n])) for n in names],
                span_us=float(np.median(spans)), gaps_us=float(np.median(gaps)),
                calls=len(per_call))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", required=True, help="DIR, or NAME=DIR,... (variants)")
    ap.add_argument("--models", default="olmoe,deepseek_v2")
    ap.add_argument("--formats", default="12v128")
    ap.add_argument("--tokens", default="1,16")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--out", default="profile.json")
    a = ap.parse_args()
    torch.manual_seed(0)
    res = dict(device=torch.cuda.get_device_name(), layers=a.layers, rows=[])
    # --layers DIR, or NAME=DIR,... to profile variants on the same weights.
    variants = [tuple(v.split("=", 1)) if "=" in v else ("", v)
                for v in a.layers.split(",")]
    for name in a.models.split(","):
        H = MODELS[name][0]
        gu_bits, d_bits, router = random_experts(name)
        for (tag, layers), fmt in itertools.product(variants, a.formats.split(",")):
            layer = samoyeds.MoELayer(os.path.join(layers, f"{name}_{fmt}"))
            load_experts([layer], gu_bits, d_bits, router)
            for T in [int(t) for t in a.tokens.split(",")]:
                x = torch.randn(T, H, dtype=torch.bfloat16, device=dev)
                r = dict(model=name, format=fmt, T=T, variant=tag,
                         **profile_point(layer, x, a.reps))
                res["rows"].append(r)
                print(f"{tag + ' ' if tag else ''}{name:12} {fmt:7} T={T:5d} span {r['span_us']:7.1f} us, gaps "
                      f"{r['gaps_us']:5.1f} us: " + ", ".join(
                          f"{kk['name']} {kk['us']:.1f} [{kk['start_us']:.1f}-{kk['end_us']:.1f}]"
                          for kk in r["kernels"]), flush=True)
            layer.close()
        torch.cuda.empty_cache()
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
