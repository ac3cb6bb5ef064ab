"""The layer against what serving engines run (the bars of shared/anchors/H200.md), GPU machine.

    PYTHONPATH=python:bench SAMOYEDS_RUNTIME_LIB=BUILD python3 bench/h200.py \
        --layers LAYER_BUNDLES --models mixtral --out OUT/h200-mixtral.json

bench/run-h200.sh runs it once per model (one process each: a model's memory is freed before
the next). For every T, on the same router and hidden states, each path is replayed from a
CUDA graph captured after an eager call at that T (as serving engines run decode):
  * ours: samoyeds.MoELayer with 2:4 (11v128) and 1:2+2:4 (12v128) weights; routing included;
    gpt-oss's layers (--models gpt_oss_20b,gpt_oss_120b --formats 44v64,12v64) add their
    experts' biases and clamped SwiGLU on every path;
  * vLLM-design: a dense bf16 fused MoE in vLLM's design with vLLM's configurations
    (baselines/fused_moe_triton.py); routing (softmax + top-k) NOT included, as in H200.md;
  * grouped: torch._grouped_mm on the dense bf16 weights (bench.grouped); routing included.
Timing as bench.py's: a 256 MB write and a GPU spin before every timed replay (ColdTimer),
CUDA events, median of --reps; the paths interleaved rep by rep, so that clock drift hits all
alike. Checks: ours against grouped on the pruned weights (the unpacked packing), the
vLLM-design path against grouped on the dense weights; relative error, NaN fails. Prints the
ratios and the fraction of copy bandwidth ours reaches (bench.layer_bytes), writes JSON (one
row per measurement, rewritten after every T) that bench/report.py --h200 renders.

Weights: by default ours runs random packed weights made on the GPU (random bf16 values,
random valid 2:4 metadata, random kept rows: a valid packing of some dense weight), the dense
paths random dense weights. Speed does not depend on the values, and packing these layers
on the CPU takes minutes; --weights pruned packs the dense weights with the runtime's packer
instead (bench.py's way: ours then runs the pruned dense weights of the baselines).
--dry-run checks the bundles against the models and prints the plan, without a GPU.
"""
import argparse
import dataclasses
import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

import samoyeds
from baselines.fused_moe_triton import (fused_experts, moe_align_block_size,
                                        moe_align_block_size_torch, pick_config)
from bench import (GPT_OSS, MODELS, ColdTimer, bf16_bits, grouped, layer_bytes, measure_device,
                   random_biases, random_router_bias, route, spec)
from samoyeds.layer import LayerBundle
from samoyeds.pack import PackedWeight, pack, packed_sizes, relayout, unpack

dev = "cuda"
OURS_BOUND = 5e-2  # ours may break routing near-ties the other way (bench.py says why)
VLLM_BOUND = 2e-2  # the same routing on both sides: bf16 roundings only
NOTES = ("vLLM-design: dense bf16 Triton fused MoE in vLLM's design and configurations, "
         "routing (softmax + top-k) NOT in its time; ours and grouped include routing. "
         "All paths replayed from CUDA graphs (graph: false marks an eager fallback).")




def parse_format(fmt):
    """(n, m, v) of a bundle format name such as 12v128."""
    got = re.fullmatch(r"(\d)(\d)v(\d+)", fmt)
    if not got:
        sys.exit(f"bad format {fmt!r} (expected NMvV, e.g. 11v128 or 12v128)")
    return tuple(int(g) for g in got.groups())


def check_bundles(layers, models, formats):
    """{(model, format): bundle dir}; exits naming every bundle that is missing or whose
    layer is not the model's."""
    found, problems = {}, []
    for name in models:
        H, I, E, k, renorm = spec(name)
        for fmt in formats:
            path = os.path.join(layers, f"{name}_{fmt}")
            if not os.path.isdir(path):
                problems.append(f"no bundle {path}")
                continue
            b = LayerBundle(path)
            try:
                w = b.weights["w13"]
                have = (b.hidden, b.intermediate, b.experts, b.top_k, b.renormalize,
                        (w["n"], w["m"], w["v"]), bool(b.bias_inputs),
                        b.router_bias_dtype is not None, b.activation["kind"])
                gpt_oss = name in GPT_OSS
                want = (H, I, E, k, renorm, parse_format(fmt), gpt_oss, gpt_oss,
                        "clamped_swiglu" if gpt_oss else "silu")
                if have != want:
                    problems.append(f"{path}: (H, I, E, k, renormalize, n:m:v, biases, "
                                    f"router bias, activation) = {have}, the model needs "
                                    f"{want}")
                found[name, fmt] = path
            finally:
                b.close()
    if problems:
        sys.exit("bundles:\n  " + "\n  ".join(problems))
    return found


def random_packed(info, device=dev):
    """Random packed weights for the bundle weight `info` (layer.weights[name]): bf16 values
    N(0, 0.02) (none 0), each 4-column chunk's two kept columns drawn from the six pairs,
    each span's kept row (1:m) drawn: the packing of its own unpacking, in the weight's layout
    (every layout permutes 32-bit words of values and metadata, so random words are random
    in any; a layout that pads K, wgmma's where K % 128 != 0, gets its padding from the
    runtime's relayout of the words drawn in mma_sp's)."""
    E, R, K, n, m, v = (info[f] for f in ("experts", "rows", "cols", "n", "m", "v"))
    if n != m and n != 1:
        raise ValueError(f"random_packed makes n = m or n = 1 formats, not {n}:{m}")
    layout = info["layout"]
    pads = packed_sizes(E, R, K, n, m, v, layout) != packed_sizes(E, R, K, n, m, v, "mma_sp")
    if pads:
        return relayout(random_packed({**info, "layout": "mma_sp"}, device), layout)
    nv, nm, nr = packed_sizes(E, R, K, n, m, v, layout)
    values = torch.empty(nv // 2, dtype=torch.bfloat16, device=device).normal_(0, 0.02)
    values.masked_fill_(values == 0, 0.02)  # bf16 normal_ gives some zeros; a kept value is not
    pair = torch.randint(0, 6, (2 * nm,), dtype=torch.uint8, device=device)
    hi3, hi5 = (pair >= 3).to(torch.uint8), (pair >= 5).to(torch.uint8)
    nibble = (hi3 + hi5) | ((pair + 1 - 2 * hi3 - hi5) << 2)  # i0 | i1 << 2, i0 < i1
    meta = nibble[0::2] | (nibble[1::2] << 4)
    row_idx = torch.randint(0, m, (nr,), dtype=torch.uint8, device=device)
    parts = [t.view(torch.uint8).cpu().numpy() for t in (values, meta, row_idx)]
    return PackedWeight(*parts, dtype="bf16", experts=E, rows=R, cols=K, n=n, m=m, v=v,
                        layout=info["layout"])


def unpack_to_device(p, threads, device=dev):
    """unpack(p) as a bf16 [experts, rows, cols] tensor on `device`: the runtime unpacks the
    experts in `threads` threads (ctypes lets go of the GIL), each copied over as it comes."""
    E = p.experts
    sizes = [a.size // E for a in (p.values, p.meta, p.row_idx)]
    out = torch.empty(E, p.rows, p.cols, dtype=torch.bfloat16, device=device)

    def one(e):
        parts = [a[e * s:(e + 1) * s] for a, s in zip((p.values, p.meta, p.row_idx), sizes)]
        return unpack(dataclasses.replace(p, values=parts[0], meta=parts[1], row_idx=parts[2],
                                          experts=1))[0]

    with ThreadPoolExecutor(max(1, threads)) as ex:
        for e, dense in enumerate(ex.map(one, range(E))):
            out[e].copy_(torch.from_numpy(dense.view(np.int16)).view(torch.bfloat16))
    return out


class Replay:
    """fn replayed from a CUDA graph captured after an eager call at the same shapes (which
    compiles Triton kernels and grows our runtime's workspaces); eager calls, with the
    reason in `why`, if capture fails. `out` is the output of the latest run."""

    def __init__(self, fn):
        self.fn, self.graph, self.why = fn, None, None
        self.out = fn()
        torch.cuda.synchronize()
        try:
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                out = fn()
            self.graph, self.out = g, out
        except Exception as e:  # noqa: BLE001 -- any failure: time it eagerly, say why
            self.why = f"{type(e).__name__}: {e}"[:300]
            torch.cuda.synchronize()

    def __call__(self):
        if self.graph is not None:
            self.graph.replay()
        else:
            self.out = self.fn()


def compare(got, ref):
    """(relative error in norm, max error / max |ref|, NaN count)."""
    got, ref = got.float(), ref.float()
    nan = int(torch.isnan(got).sum())
    rel = ((got - ref).norm() / ref.norm()).item()
    return rel, ((got - ref).abs().max() / ref.abs().max()).item(), nan


def dry_run(found, models, formats, tokens):
    for name in models:
        H, I, E, k, renorm = spec(name)
        print(f"{name}: H={H} I={I} E={E} k={k} renormalize={renorm}, dense weights "
              f"{3 * E * I * H * 2 / 1e9:.2f} GB")
        for fmt in formats:
            b = LayerBundle(found[name, fmt])
            try:
                fields = ("experts", "rows", "cols", "n", "m", "v", "layout")
                sizes = [sum(packed_sizes(*(w[f] for f in fields)))
                         for w in (b.weights["w13"], b.weights["w2"])]
                print(f"  {b.describe()}: packed {sum(sizes) / 1e9:.2f} GB")
            finally:
                b.close()
        for T in tokens:
            cfg, src = pick_config(T, E, I, "NVIDIA H200")
            print(f"  T={T:5d} vLLM-design {cfg} ({src})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", required=True, help="bundles named MODEL_FORMAT")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--formats", default=None,
                    help="default 11v128,12v128; for gpt-oss's layers alone 44v64,12v64 "
                         "(2880 needs v = 64)")
    ap.add_argument("--tokens", default="1,16,64,256,1024,4096")
    ap.add_argument("--reps", type=int, default=25)
    ap.add_argument("--weights", choices=("random", "pruned"), default="random",
                    help="ours on random packed weights (default) or on the pruned dense ones")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="CPU threads that unpack the reference weights")
    ap.add_argument("--dry-run", action="store_true",
                    help="check the bundles and print the plan; no GPU")
    ap.add_argument("--out", default="h200.json")
    a = ap.parse_args()
    models = a.models.split(",")
    gpt_oss = all(m in GPT_OSS for m in models)
    formats = (a.formats or ("44v64,12v64" if gpt_oss else "11v128,12v128")).split(",")
    tokens = [int(t) for t in a.tokens.split(",")]
    unknown = [m for m in models if m not in MODELS and m not in GPT_OSS]
    if unknown:
        sys.exit(f"unknown models {unknown} (known: {', '.join([*MODELS, *GPT_OSS])})")
    found = check_bundles(a.layers, models, formats)
    if a.dry_run:
        dry_run(found, models, formats, tokens)
        return

    import triton
    torch.manual_seed(0)
    res = measure_device(ColdTimer(a.reps))
    res.update(triton=triton.__version__, weights=a.weights, reps=a.reps, notes=NOTES,
               argv=sys.argv[1:])
    print(NOTES, flush=True)
    failures = []
    for name in models:
        failures += run_model(name, found, formats, tokens, a, res)
    if failures:
        sys.exit("failed checks:\n  " + "\n  ".join(failures))


def run_model(name, found, formats, tokens, a, res):
    """Measures one model at every T; appends rows to res and rewrites a.out after each T.
    Returns the failed checks."""
    H, I, E, k, renorm = spec(name)
    t0 = time.time()
    print(f"== {name}: H={H} I={I} E={E} k={k} renormalize={renorm}", flush=True)
    wgu = torch.empty(E, 2 * I, H, dtype=torch.bfloat16, device=dev).normal_(0, 0.02)
    wd = torch.empty(E, H, I, dtype=torch.bfloat16, device=dev).normal_(0, 0.02)
    # gpt-oss: the experts' biases (about the accumulators' size, so that the clamps run)
    # on every path, its clamped SwiGLU on the baselines (ours: the bundle's).
    biases = random_biases(name, device=dev)
    br = random_router_bias(name, device=dev)  # gpt-oss: the router's bias, on every path
    act = dict(activation="clamped_swiglu") if biases else {}
    router = torch.randn(E, H, dtype=torch.bfloat16, device=dev) * 0.05
    xs = {T: torch.randn(T, H, dtype=torch.bfloat16, device=dev) for T in tokens}
    routes = {}
    for T in tokens:  # vLLM's routing, outside its time: float32 weights, int32 ids
        w, ids = route(xs[T], router, k, renorm, br)
        routes[T] = (w.contiguous(), ids.to(torch.int32))
    dense_bytes = 3 * E * I * H * 2

    layers, refs, packed_bytes = {}, {}, {}
    for fmt in formats:
        t1 = time.time()
        layer = samoyeds.MoELayer(found[name, fmt])
        ps = {}
        for wname, dense in (("w13", wgu), ("w2", wd)):
            info = layer.weights[wname]
            ps[wname] = (random_packed(info, device=dev) if a.weights == "random" else
                         pack(bf16_bits(dense), info["n"], info["m"], info["v"],
                              layout=info["layout"]))
            layer.upload_packed(wname, ps[wname])
        layer.set_router(router, br)
        if biases:
            layer.set_biases(biases["b1"], biases["b2"])
        pgu, pd = (unpack_to_device(ps[w], a.threads, device=dev) for w in ("w13", "w2"))
        # Ours' reference routes on f32 logits, as ours does (the baselines' bf16 logits
        # break more near-ties the other way: up to 4.5e-2 on gpt-oss-120b, S67).
        refs[fmt] = {T: grouped(xs[T], router, pgu.transpose(1, 2), pd.transpose(1, 2), k, renorm,
                                br=br, f32_logits=True, **biases)
                     for T in tokens}
        packed_bytes[fmt] = ps["w13"].nbytes + ps["w2"].nbytes
        layers[fmt] = layer
        pgu = pd = ps = None
        torch.cuda.empty_cache()
        print(f"  {fmt}: {a.weights} packed weights {packed_bytes[fmt] / 1e9:.2f} GB, layout "
              f"{layer.weights['w13']['layout']}, reference made in {time.time() - t1:.1f} s",
              flush=True)

    align = moe_align_block_size
    failures = []
    timer = ColdTimer(1)
    for T in tokens:
        x, (w, ids) = xs[T], routes[T]
        cfg, src = pick_config(T, E, I, torch.cuda.get_device_name())
        if align is moe_align_block_size:
            try:
                align(ids, cfg["BLOCK_SIZE_M"], E)
                torch.cuda.synchronize()
            except Exception as e:  # noqa: BLE001 -- a baseline's build must not end the run
                print(f"  T={T}: the Triton moe_align_block_size failed ({e}); torch operations "
                      f"align from here on", flush=True)
                align = moe_align_block_size_torch
        fns = {f"ours {fmt}": (lambda lay=layers[fmt]: lay(x)) for fmt in formats}
        fns["grouped"] = lambda: grouped(x, router, wgu.transpose(1, 2), wd.transpose(1, 2), k,
                                         renorm, br=br, **biases)
        fns["vllm"] = lambda: fused_experts(x, wgu, wd, w, ids, cfg, align=align, **biases,
                                            **act)
        runs, errors = {}, {}
        for p, fn in fns.items():
            try:
                runs[p] = Replay(fn)
            except Exception as e:  # noqa: BLE001 -- record the path as failed, go on
                errors[p] = f"{type(e).__name__}: {e}"[:300]
                print(f"  T={T}: {p} failed: {errors[p]}", flush=True)
        for r in runs.values():
            r()
        torch.cuda.synchronize()
        times = {p: [] for p in runs}
        for _ in range(a.reps):
            for p, r in runs.items():
                times[p].append(timer(r))
        ms = {p: float(np.median(t)) for p, t in times.items()}

        rows = []
        base = dict(model=name, H=H, I=I, E=E, k=k, T=T)
        for p in fns:
            row = dict(base, path=p.split()[0], format=p.split()[1] if p.startswith("ours")
                       else "dense", ms=ms.get(p), graph=p in runs and runs[p].graph is not None,
                       routing_in_time=p != "vllm")
            if p in errors:
                row.update(ok=False, error=errors[p])
                failures.append(f"{name} T={T} {p}: {errors[p]}")
            elif p in runs and runs[p].why:
                row["capture_error"] = runs[p].why
            if p.startswith("ours") and p in runs:
                fmt = row["format"]
                rel, mx, nan = compare(runs[p].out, refs[fmt][T])
                moved = layer_bytes(E, k, T, packed_bytes[fmt], H)
                row.update(relerr=rel, maxerr=mx, nan=nan, ok=nan == 0 and rel <= OURS_BOUND,
                           ref="grouped on the pruned weights, f32 router logits",
                           packed_bytes=packed_bytes[fmt],
                           bw_fraction=moved / (ms[p] * 1e-3) / (res["copy_gbps"] * 1e9))
                for b in ("vllm", "grouped"):
                    if b in ms:
                        row[f"{b}_over_ours"] = ms[b] / ms[p]
            elif p == "vllm" and p in runs:
                row.update(config=cfg, config_source=src, align=align.__name__,
                           bw_fraction=layer_bytes(E, k, T, dense_bytes, H) / (ms[p] * 1e-3)
                           / (res["copy_gbps"] * 1e9))
                if "grouped" in runs:
                    rel, mx, nan = compare(runs[p].out, runs["grouped"].out)
                    row.update(relerr=rel, maxerr=mx, nan=nan, ok=nan == 0 and rel <= VLLM_BOUND,
                               ref="grouped on the dense weights")
            elif p == "grouped" and p in runs:
                nan = int(torch.isnan(runs[p].out.float()).sum())
                row.update(nan=nan, ok=nan == 0)
            if row.get("ok") is False and p not in errors:
                failures.append(f"{name} T={T} {p}: relerr {row.get('relerr')}, "
                                f"{row.get('nan')} NaN")
            rows.append(row)
        res["rows"] += rows
        print_line(name, T, rows, formats)
        runs = None
        with open(a.out, "w") as f:  # after every T: a cut-off run keeps what it measured
            json.dump(res, f, indent=1)
    for layer in layers.values():
        layer.close()
    print(f"== {name} done in {time.time() - t0:.0f} s", flush=True)
    return failures


def print_line(name, T, rows, formats):
    by = {(r["path"], r["format"]): r for r in rows}
    v, g = by[("vllm", "dense")], by[("grouped", "dense")]

    def t(r):
        return "failed" if r.get("ms") is None else f"{r['ms']:.3f}"

    parts = [f"{name:12} T={T:5d}"]
    for fmt in formats:
        o = by[("ours", fmt)]
        bw = f" bw {o['bw_fraction']:.2f}" if "bw_fraction" in o else ""
        parts.append(f"ours {fmt} {t(o)} ms{bw}")
    for label, r, key in (("vLLM-design", v, "vllm_over_ours"),
                          ("grouped", g, "grouped_over_ours")):
        ratios = " ".join(f"{by[('ours', fmt)].get(key, float('nan')):.2f}x" for fmt in formats)
        parts.append(f"{label} {t(r)} ms ({ratios})")
    errs = " ".join(f"{r['path']}{'' if r['format'] == 'dense' else ' ' + r['format']} "
                    f"{r['relerr']:.1e}" for r in rows if "relerr" in r)
    bad = [f"{r['path']} {r['format']}" for r in rows if r.get("ok") is False]
    eager = [f"{r['path']} {r['format']}" for r in rows if not r["graph"] and r.get("ms")]
    print("  ".join(parts) + f"  relerr {errs}" + (f"  FAILED: {', '.join(bad)}" if bad else "")
          + (f"  eager: {', '.join(eager)}" if eager else ""), flush=True)


if __name__ == "__main__":
    main()
