"""Same-process A/B of compiled layer variants (tile options), GPU machine.

    PYTHONPATH=python:bench SAMOYEDS_RUNTIME_LIB=BUILD python3 bench/ab.py \
        --variants base=.device/layers,p3=.device/ab/p3 --out ab.json

Each variant is a directory of layer bundles named MODEL_FORMAT (as
test/GPU/gen-layer-bundles.sh writes them, e.g. with SAMOYEDS_TILE_OPTIONS).
For every model, format and T all variants run on the same packed weights,
router and inputs, timed with bench.py's cold-L2 device timer, the variants
interleaved rep by rep round so that clock or thermal drift hits all alike
(each round starts at the next variant: none is always timed first). With
--control the base variant runs twice, as two layers with their own copies of
the weights (an A/A pair): its ratio bounds what placement and order alone do
to a point (S16 saw 1.08x between identical kernels).
Every variant's output is compared with the first variant's (same weights,
same routing: they must agree to bf16 rounding of the accumulation order;
with --identical bit for bit, for variants that move a sum between kernels
without changing its order).
Prints one line per point with each variant's median time and its ratio to
the first, and writes JSON. With --graph each variant's call is captured in a
CUDA graph after an eager call and the replays are timed (as serving engines
run decode; h200.Replay); a variant that cannot be captured fails the run.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

import samoyeds
from bench import (MODELS, ColdTimer, load_experts, random_biases, random_experts,
                   random_router_bias, spec)
from h200 import Replay

dev = "cuda"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", required=True, help="NAME=DIR,... (the first is the base)")
    ap.add_argument("--models", default=",".join(MODELS),
                    help="anchors (bench.MODELS) or gpt-oss's layers (bench.GPT_OSS)")
    ap.add_argument("--formats", default="11v128,12v128,12v32")
    ap.add_argument("--tokens", default="1,16,64,256,1024,4096")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--out", default="ab.json")
    ap.add_argument("--graph", action="store_true", help="time CUDA-graph replays")
    ap.add_argument("--control", action="store_true",
                    help="also run the base variant a second time (an A/A control)")
    ap.add_argument("--identical", action="store_true",
                    help="every variant's output must equal the base's bit for bit")
    a = ap.parse_args()
    variants = [v.split("=", 1) for v in a.variants.split(",")]
    if a.control:
        variants.append([variants[0][0] + "-again", variants[0][1]])
    tokens = [int(t) for t in a.tokens.split(",")]
    timer = ColdTimer(1)
    torch.manual_seed(0)
    res = dict(device=torch.cuda.get_device_name(), variants=dict(variants), rows=[],
               timing="graph replay" if a.graph else "eager")
    print(f"{res['device']}: " + ", ".join(f"{n}={d}" for n, d in variants))
    for name in a.models.split(","):
        H = spec(name)[0]
        gu_bits, d_bits, router = random_experts(name)
        biases = random_biases(name)  # gpt-oss: its bundles' expert biases
        router_bias = random_router_bias(name)  # and its router's (where a bundle has it)
        for fmt in a.formats.split(","):
            layers = []
            for vname, vdir in variants:
                bundle = os.path.join(vdir, f"{name}_{fmt}")
                if not os.path.isdir(bundle):
                    sys.exit(f"variant {vname}: no bundle at {bundle}")
                layers.append(samoyeds.MoELayer(bundle))
            load_experts(layers, gu_bits, d_bits, router, router_bias)
            for layer in layers if biases else ():
                layer.set_biases(biases["b1"], biases["b2"])
            for T in tokens:
                x = torch.randn(T, H, dtype=torch.bfloat16, device=dev)
                raw = [layer(x) for layer in layers]
                outs = [o.float() for o in raw]
                errs = [((o - outs[0]).norm() / outs[0].norm()).item() for o in outs]
                for n, e, o in zip(variants, errs, raw):
                    if not (e <= 1e-2 and torch.isfinite(outs[0]).all()):
                        sys.exit(f"{name} {fmt} T={T}: variant {n[0]} differs from "
                                 f"{variants[0][0]} by {e}")
                    if a.identical and not torch.equal(o, raw[0]):
                        sys.exit(f"{name} {fmt} T={T}: variant {n[0]} is not bit-identical "
                                 f"to {variants[0][0]} (relative error {e})")
                calls = [(lambda layer=layer: layer(x)) for layer in layers]
                if a.graph:
                    calls = [Replay(c) for c in calls]
                    for (vname, _), c in zip(variants, calls):
                        if c.graph is None:
                            sys.exit(f"{name} {fmt} T={T}: variant {vname}: no graph: {c.why}")
                times = [[] for _ in layers]
                for r in range(a.reps):
                    for j in range(len(calls)):
                        i = (r + j) % len(calls)
                        times[i].append(timer(calls[i]))
                med = [float(np.median(t)) for t in times]
                row = dict(model=name, format=fmt, T=T, relerr_vs_base=errs,
                           **{f"{n}_ms": m for (n, _), m in zip(variants, med)})
                res["rows"].append(row)
                print(f"{name:12} {fmt:7} T={T:5d} " + "  ".join(
                    f"{n} {m:8.4f}" + (f" ({med[0] / m:4.2f}x)" if i else "")
                    for i, ((n, _), m) in enumerate(zip(variants, med))), flush=True)
            for layer in layers:
                layer.close()
        torch.cuda.empty_cache()
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
