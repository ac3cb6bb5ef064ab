"""Layer benchmark, one process: Samoyeds against the PyTorch baselines.

    PYTHONPATH=python SAMOYEDS_RUNTIME_LIB=BUILD python3 bench/bench.py \
        --layers LAYER_BUNDLES --out $OUT/bench.json --plot $OUT/bench.png

LAYER_BUNDLES holds one bundle per model and format, named MODEL_FORMAT
(test/GPU/gen-layer-bundles.sh writes them: MODEL in mixtral, qwen2_moe,
deepseek_v2l, olmoe, deepseek_v2, qwen3_235b; FORMAT 11v128 (2:4), 12v128 and
12v32 (1:2 + 2:4)).
For every model and T it times, on the same random weights, router and
hidden states:
  * ours: the compiled layer through samoyeds.MoELayer (five kernels);
  * grouped: torch._grouped_mm on dense bf16 weights (the anchors' path);
  * loop: the per-expert dense loop (what HF transformers does);
with a cold L2 (a 256 MB write between runs: a layer reads each expert's
weights once) and CUDA events, median of --reps runs. It checks ours against
the grouped path run on the *pruned* weights (unpacked from the same packing)
and prints ratios, the fraction of the measured copy bandwidth (layer_bytes:
packed bytes of the experts the tokens reach and the activations, / time) and
writes JSON and a plot. bench/h200.py reuses its pieces.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

import samoyeds
from samoyeds.compile import SWIGLU_ALPHA, SWIGLU_LIMIT  # gpt-oss's clamped SwiGLU
from samoyeds.pack import pack, unpack

MODELS = {  # name: (hidden, intermediate, experts, top_k, renormalize)
    "mixtral": (4096, 14336, 8, 2, True),
    "qwen2_moe": (3584, 2560, 64, 8, False),
    "deepseek_v2l": (2048, 1408, 64, 6, False),
    "olmoe": (2048, 1024, 64, 8, False),
    "deepseek_v2": (5120, 1536, 160, 6, False),
    "qwen3_235b": (4096, 1536, 128, 8, True),
}
# gpt-oss's layers (bench/h200.py; test/GPU/gen-layer-bundles.sh's gptoss set, format v = 64:
# 2880 is no multiple of 128): the experts' biases and clamped SwiGLU, the router's bias
# added to its logits, its top-k softmax (= the renormalised one). Same fields as MODELS.
GPT_OSS = {
    "gpt_oss_20b": (2880, 2880, 32, 4, True),
    "gpt_oss_120b": (2880, 2880, 128, 4, True),
    # -20b's layer rounded to 2816, a multiple of wgmma_sp's 128-column k tile (the gptoss
    # set's gpt_oss_2816): the strategies' A/B on gpt-oss's epilogues (formats v = 128).
    "gpt_oss_2816": (2816, 2816, 32, 4, True),
    # -20b's layer with intermediate size 2816 (the gptoss set's gpt_oss_i2816): gate/up's
    # K = 2880 is padded and in 1:2 its kept rows are whole 64-row tiles, so wgmma_sp takes
    # it with row selection where asked (`pad-rows=1`: the span tail; formats v = 64).
    "gpt_oss_i2816": (2880, 2816, 32, 4, True),
}
dev = "cuda"


class ColdTimer:
    """Median of `reps` event-timed runs, each after a 256 MB write.

    The times are device times: after the write the GPU spins for ~0.5 ms
    before the start event, so the host has enqueued the whole call (Python,
    ctypes, every launch) before the GPU reaches it and no host gap falls
    between the events. Every path, ours and the baselines, is timed so."""

    SPIN_CYCLES = 1_000_000

    def __init__(self, reps):
        self.reps = reps
        self.scratch = torch.empty(256 << 20, dtype=torch.uint8, device=dev)
        # SAMOYEDS_BENCH_FLUSH=read evicts by reading the scratch (the L2 left
        # clean); the default write leaves it full of dirty lines, whose
        # write-back the timed call pays as it reads (bench/RESULTS.md S27).
        self.read_flush = os.environ.get("SAMOYEDS_BENCH_FLUSH", "write") == "read"
        if self.read_flush:
            self.scratch.fill_(1)
            self.words = self.scratch.view(torch.int32)

    def evict(self):
        if self.read_flush:
            self.sink = self.words.sum()
        else:
            self.scratch.fill_(1)

    def __call__(self, fn):
        return self.interleaved([fn])[0]

    def interleaved(self, fns):
        """The median ms of each of `fns` after three warm-up runs each, their
        timed runs interleaved rep by rep (same-process A/B)."""
        for fn in fns:
            for _ in range(3):
                fn()
        times = [[] for _ in fns]
        for _ in range(self.reps):
            for fn, t in zip(fns, times):
                self.evict()
                torch.cuda._sleep(self.SPIN_CYCLES)
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record()
                fn()
                b.record()
                b.synchronize()
                t.append(a.elapsed_time(b))
        return [float(np.median(t)) for t in times]


def measure_device(timer):
    """The run's header: device, torch, copy bandwidth (GB/s, read + write, 1 GiB copy)
    and cuBLAS bf16 TFLOP/s (8192³), timed like everything else; printed and returned
    with an empty list of rows."""
    n = 1 << 30
    src = torch.empty(n, dtype=torch.uint8, device=dev)
    dst = torch.empty_like(src)
    copy_gbps = 2 * n / timer(lambda: dst.copy_(src)) / 1e6
    src = dst = None  # free 2 GB
    A = torch.randn(8192, 8192, dtype=torch.bfloat16, device=dev)
    cublas_tflops = 2 * 8192**3 / timer(lambda: A @ A) / 1e9
    A = None
    res = dict(device=torch.cuda.get_device_name(), torch=torch.__version__,
               copy_gbps=copy_gbps, cublas_tflops=cublas_tflops, rows=[])
    print(f"{res['device']}: copy {copy_gbps:.0f} GB/s, cuBLAS bf16 {cublas_tflops:.0f} TFLOP/s")
    return res


def route(x, router, k, renorm, br=None, f32_logits=False):
    """Softmax top-k routing (f32 weights, int64 ids); with the router's bias br [E]
    (gpt-oss) added to the logits. The logits are the bf16 matmul's output (as vLLM's
    router linear gives them), or with f32_logits the f32 products of the bf16 inputs (as
    the compiled route accumulates them: fewer near-ties broken the other way)."""
    logits = (x.float() @ router.float().t()) if f32_logits else (x @ router.t()).float()
    if br is not None:
        logits = logits + br.float()
    w, ids = torch.softmax(logits, -1).topk(k, -1)
    return (w / w.sum(-1, keepdim=True) if renorm else w), ids


def clamped_swiglu(gate, up, alpha=SWIGLU_ALPHA, limit=SWIGLU_LIMIT):
    """gpt-oss's gated activation (transformers' GptOssExperts)."""
    gate = gate.clamp(max=limit)
    return gate * torch.sigmoid(alpha * gate) * (up.clamp(-limit, limit) + 1)


def grouped(x, router, wgu_t, wd_t, k, renorm, b1=None, b2=None, br=None, f32_logits=False):
    """The layer through torch._grouped_mm; with the experts' biases b1 [E, 2I] and b2 [E, H]
    (gpt-oss) each product adds its expert's row and the activation is the clamped SwiGLU;
    br [E], the router's bias, is added to the logits (route's f32_logits)."""
    w, ids = route(x, router, k, renorm, br, f32_logits)
    E = wgu_t.shape[0]
    by_expert, order = ids.reshape(-1).sort(stable=True)
    tok = order // k
    # Group ends without a host synchronisation (bincount waits for the ids' maximum), so
    # that the path can be captured in a CUDA graph.
    offs = torch.searchsorted(by_expert, torch.arange(E, device=x.device), right=True)
    offs = offs.to(torch.int32)
    gu = torch._grouped_mm(x[tok], wgu_t, offs=offs)
    inter = gu.shape[1] // 2
    if b1 is None:
        y = torch._grouped_mm(F.silu(gu[:, :inter]) * gu[:, inter:], wd_t, offs=offs)
    else:
        gu = gu + b1[by_expert]
        h = clamped_swiglu(gu[:, :inter].float(), gu[:, inter:].float()).to(x.dtype)
        y = torch._grouped_mm(h, wd_t, offs=offs) + b2[by_expert]
    out = torch.zeros_like(x)
    out.index_add_(0, tok, y * w.reshape(-1)[order, None].to(x.dtype))
    return out


def loop(x, router, wgu, wd, k, renorm):
    w, ids = route(x, router, k, renorm)
    out = torch.zeros_like(x)
    inter = wgu.shape[1] // 2
    for e in range(wgu.shape[0]):
        tok, slot = (ids == e).nonzero(as_tuple=True)
        if tok.numel() == 0:
            continue
        gu = x[tok] @ wgu[e].t()
        h = F.silu(gu[:, :inter]) * gu[:, inter:]
        out.index_add_(0, tok, (h @ wd[e].t()) * w[tok, slot, None].to(x.dtype))
    return out


def layer_bytes(E, k, T, packed_bytes, H):
    """Bytes one layer call over T tokens must move at least: the weights (packed_bytes for
    all E experts) of the experts the tokens reach, E (1 - (1 - k/E)^T) of them under uniform
    routing, and the activations, x read and y written in bf16."""
    return E * (1 - (1 - k / E) ** T) * packed_bytes / E + 2 * T * H * 2


def bf16_bits(t):
    return t.contiguous().view(torch.int16).cpu().numpy().view(np.uint16)


def spec(name):
    """(H, I, E, k, renormalize) of a model of --models: an anchor (MODELS, the default
    list) or one of gpt-oss's layers (GPT_OSS)."""
    return GPT_OSS[name] if name in GPT_OSS else MODELS[name]


def random_biases(name, device=dev):
    """gpt-oss's random expert biases, b1 [E, 2I] and b2 [E, H] bf16 on `device` (about the
    accumulators' size, so that the clamps run), as the keywords of grouped and
    fused_experts; {} for the other models (no biases)."""
    if name not in GPT_OSS:
        return {}
    H, I, E, _, _ = GPT_OSS[name]
    return dict(b1=torch.randn(E, 2 * I, device=device).mul_(0.5).to(torch.bfloat16),
                b2=torch.randn(E, H, device=device).mul_(0.1).to(torch.bfloat16))


def random_router_bias(name, device=dev):
    """gpt-oss's random router bias [E] (bf16 on `device`, about the logits' spread so that
    it moves the top-k), or None for the other models."""
    if name not in GPT_OSS:
        return None
    return torch.randn(GPT_OSS[name][2], device=device).to(torch.bfloat16)


def random_experts(name):
    """Random experts of model `name` as the same-process A/Bs draw them: the gate/up and
    down weights as bf16 bits (numpy, for pack) and the router (bf16, on the GPU)."""
    H, I, E, _, _ = spec(name)
    wgu = torch.randn(E, 2 * I, H, dtype=torch.bfloat16, device=dev) * 0.02
    wd = torch.randn(E, H, I, dtype=torch.bfloat16, device=dev) * 0.02
    router = torch.randn(E, H, dtype=torch.bfloat16, device=dev) * 0.05
    return bf16_bits(wgu), bf16_bits(wd), router


def load_experts(layers, gu_bits, d_bits, router, router_bias=None):
    """Packs the weights in the format of the first layer and uploads them and the router
    into every layer (the A/B variants of one model and format share one packing); the
    router's bias goes to the layers whose bundle routes with one."""
    w13, w2 = layers[0].weights["w13"], layers[0].weights["w2"]
    p13 = pack(gu_bits, w13["n"], w13["m"], w13["v"])
    p2 = pack(d_bits, w2["n"], w2["m"], w2["v"])
    for layer in layers:
        layer.upload_packed("w13", p13)
        layer.upload_packed("w2", p2)
        layer.set_router(router, router_bias if layer.router_bias_dtype else None)


def from_bits(a, shape):
    return torch.from_numpy(a.reshape(shape).view(np.int16).copy()).view(torch.bfloat16).to(dev)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--formats", default="11v128,12v128,12v32")
    ap.add_argument("--tokens", default="1,16,64,256,1024,4096")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--no-loop", action="store_true", help="skip the slow per-expert loop")
    ap.add_argument("--cslt-lib", default=None, help="cslt_lib.so (bench/baselines/build-cslt-lib.sh):"
                    " also time the GEMMs of a per-expert cuSPARSELt 2:4 loop (cached plans)")
    ap.add_argument("--out", default="bench.json")
    ap.add_argument("--plot", default=None)
    a = ap.parse_args()
    tokens = [int(t) for t in a.tokens.split(",")]
    timer = ColdTimer(a.reps)
    torch.manual_seed(0)
    cslt = None
    if a.cslt_lib:
        import ctypes

        from kernel_bench import cslt_call, load_cslt
        cslt = load_cslt(a.cslt_lib)

    res = measure_device(timer)
    copy_gbps, cublas_tflops = res["copy_gbps"], res["cublas_tflops"]

    for name in a.models.split(","):
        H, I, E, k, renorm = MODELS[name]
        wgu = torch.randn(E, 2 * I, H, dtype=torch.bfloat16, device=dev) * 0.02
        wd = torch.randn(E, H, I, dtype=torch.bfloat16, device=dev) * 0.02
        router = torch.randn(E, H, dtype=torch.bfloat16, device=dev) * 0.05
        xs = {T: torch.randn(T, H, dtype=torch.bfloat16, device=dev) for T in tokens}
        base = {}
        for T in tokens:
            x = xs[T]
            base[T] = dict(grouped=timer(lambda: grouped(x, router, wgu.transpose(1, 2),
                                                         wd.transpose(1, 2), k, renorm)))
            if not a.no_loop:
                base[T]["loop"] = timer(lambda: loop(x, router, wgu, wd, k, renorm))
            if cslt is not None:  # the grouped baseline's routing: tokens per expert
                counts = torch.bincount(route(x, router, k, renorm)[1].reshape(-1), minlength=E)
                c = (ctypes.c_int * E)(*counts.tolist())
                base[T]["cslt_loop"] = cslt_call(cslt, "cslt_layer_us", H, I, E, c, a.reps) / 1e3
        gu_bits, d_bits = bf16_bits(wgu), bf16_bits(wd)
        for fmt in a.formats.split(","):
            bundle = os.path.join(a.layers, f"{name}_{fmt}")
            if not os.path.isdir(bundle):
                print(f"skipping {name} {fmt}: no bundle at {bundle}", file=sys.stderr)
                continue
            layer = samoyeds.MoELayer(bundle)
            w13i, w2i = layer.weights["w13"], layer.weights["w2"]
            p13 = pack(gu_bits, w13i["n"], w13i["m"], w13i["v"])
            p2 = pack(d_bits, w2i["n"], w2i["m"], w2i["v"])
            layer.upload_packed("w13", p13)
            layer.upload_packed("w2", p2)
            layer.set_router(router)
            # The grouped path on the pruned weights: the same function as ours.
            pgu = from_bits(unpack(p13), wgu.shape).transpose(1, 2)
            pd = from_bits(unpack(p2), wd.shape).transpose(1, 2)
            for T in tokens:
                x = xs[T]
                ref = grouped(x, router, pgu, pd, k, renorm, f32_logits=True).float()
                got = layer(x).float()
                rel = ((got - ref).norm() / ref.norm()).item()
                ours = timer(lambda: layer(x))
                moved = layer_bytes(E, k, T, p13.nbytes + p2.nbytes, H)
                row = dict(model=name, format=fmt, T=T, ours_ms=ours, relerr_vs_pruned=rel,
                           bw_fraction=moved / (ours * 1e-3) / (copy_gbps * 1e9),
                           tflops_fraction=2 * 3 * T * k * H * I / (ours * 1e-3) / 1e12
                           / cublas_tflops, **{f"{b}_ms": v for b, v in base[T].items()})
                row.update({f"speedup_vs_{b}": v / ours for b, v in base[T].items()})
                res["rows"].append(row)
                print(f"{name:12} {fmt:7} T={T:5d} ours {ours:8.4f} ms  grouped "
                      f"{base[T]['grouped']:8.4f} ({row['speedup_vs_grouped']:5.2f}x)"
                      + (f"  loop {base[T]['loop']:8.4f} ({row['speedup_vs_loop']:5.2f}x)"
                         if "loop" in base[T] else "")
                      + (f"  cslt_loop {base[T]['cslt_loop']:8.4f} "
                         f"({row['speedup_vs_cslt_loop']:5.2f}x)" if "cslt_loop" in base[T] else "")
                      + f"  bw {row['bw_fraction']:.2f}  relerr {rel:.1e}", flush=True)
                # A sanity check, not the correctness test (that is moe-gpu-test against
                # float64): the grouped path rounds gate/up to bf16 and may break routing
                # near-ties the other way (its f32 logits are ours, summed in another
                # order), which moves a token's whole output (measured up to 2.1e-2 at
                # T = 4096 with bf16 logits, where near-ties are many).
                if not rel <= 5e-2:
                    sys.exit(f"{name} {fmt} T={T}: relative error {rel} against the pruned "
                             f"grouped path")
            layer.close()
        wgu = wd = None
        torch.cuda.empty_cache()
        with open(a.out, "w") as f:  # after every model: a cut-off run keeps what it measured
            json.dump(res, f, indent=1)

    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        names = a.models.split(",")
        fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 4), sharey=True,
                                 squeeze=False)
        for ax, name in zip(axes[0], names):
            for fmt in a.formats.split(","):
                rows = [r for r in res["rows"] if r["model"] == name and r["format"] == fmt]
                if rows:
                    ax.plot([r["T"] for r in rows], [r["speedup_vs_grouped"] for r in rows],
                            marker="o", label=fmt)
            ax.axhline(1.0, color="gray", lw=0.8)
            ax.set_xscale("log", base=2)
            ax.set_title(name)
            ax.set_xlabel("tokens T")
        axes[0][0].set_ylabel("speedup over torch._grouped_mm")
        axes[0][0].legend()
        fig.suptitle(f"Samoyeds layer vs grouped GEMM, {res['device']} (cold L2, median)")
        fig.savefig(a.plot, dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main()
