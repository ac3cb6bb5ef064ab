"""Whole MoE layer: Samoyeds bundles against PyTorch on the same GPU, one run.

    python3 bench/layer_bench.py MOE_GPU_TEST LAYER_BUNDLES_DIR [--tokens 1,16,64,256,1024,4096]

For each anchor model (../shared/anchors: Mixtral-8x7B, Qwen2-MoE-57B,
DeepSeek-V2-Lite, OLMoE-1B-7B) and each compiled weight format, times
  * ours: `moe-gpu-test BUNDLE --bench` (all five kernels of the layer:
    route, dispatch, gate/up + SiLU·up, down, combine; checked separately),
  * torch._grouped_mm dense bf16 (the anchors' moe_grouped: sort by expert,
    grouped GEMM, SiLU·up, grouped GEMM, index_add combine),
with the same method: N launches of the whole layer back to back, one
synchronisation, host wall clock / N (launch overheads count on both sides).
Each expert's weights are read once per layer call; all weight sets here are
larger than the 50 MB L2 except where noted. Prints ratios and the fraction
of the measured copy bandwidth reached (weight bytes / time / copy GB/s).
"""
import json
import re
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

test, layers = sys.argv[1], sys.argv[2]
tokens = [1, 16, 64, 256, 1024, 4096]
if "--tokens" in sys.argv:
    tokens = [int(t) for t in sys.argv[sys.argv.index("--tokens") + 1].split(",")]
ITERS = 30
MODELS = {  # name: (hidden, intermediate, experts, top_k)
    "mixtral": (4096, 14336, 8, 2),
    "qwen2_moe": (3584, 2560, 64, 8),
    "deepseek_v2l": (2048, 1408, 64, 6),
    "olmoe": (2048, 1024, 64, 8),
}
FORMATS = {"11v128": 0.5, "12v128": 0.25}
dev = "cuda"


def host_time(fn, iters=ITERS):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1e3 / iters


def copy_gbps():
    n = 1 << 30
    a = torch.empty(n, dtype=torch.uint8, device=dev)
    b = torch.empty_like(a)
    t = host_time(lambda: b.copy_(a), 20)
    del a, b
    return 2 * n / t / 1e6


def moe_grouped(x, wgu_t, wd_t, w, ids, E):
    T, k = ids.shape
    flat = ids.reshape(-1)
    order = flat.argsort(stable=True)
    tok = order // k
    offs = torch.bincount(flat, minlength=E).cumsum(0).to(torch.int32)
    xs = x[tok]
    gu = torch._grouped_mm(xs, wgu_t, offs=offs)
    inter = gu.shape[1] // 2
    h = F.silu(gu[:, :inter]) * gu[:, inter:]
    y = torch._grouped_mm(h, wd_t, offs=offs)
    out = torch.zeros_like(x)
    out.index_add_(0, tok, y * w.reshape(-1)[order, None].to(x.dtype))
    return out


def route(x, router, k, renorm):
    logits = (x @ router.t()).float()
    w, ids = torch.softmax(logits, -1).topk(k, -1)
    if renorm:
        w = w / w.sum(-1, keepdim=True)
    return w, ids


def ours(bundle):
    out = subprocess.run([test, bundle, "--bench", "--iters", str(ITERS), "--tokens",
                          ",".join(map(str, tokens))], capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stdout, out.stderr)
        sys.exit("moe-gpu-test --bench failed on " + bundle)
    return {int(m.group(1)): float(m.group(2))
            for m in re.finditer(r"T=(\d+) routing=\S+ bench nan=0 ok avg_ms=([\d.]+)", out.stdout)}


print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}")
bw = copy_gbps()
print(f"copy bandwidth: {bw:.0f} GB/s (read + write)")
rows = []
for name, (H, I, E, k) in MODELS.items():
    renorm = name == "mixtral"
    wgu = torch.randn(E, 2 * I, H, dtype=torch.bfloat16, device=dev) * 0.02
    wd = torch.randn(E, H, I, dtype=torch.bfloat16, device=dev) * 0.02
    router = torch.randn(E, H, dtype=torch.bfloat16, device=dev) * 0.02
    wgu_t, wd_t = wgu.transpose(1, 2), wd.transpose(1, 2)
    dense_bytes = 3 * E * I * H * 2
    grouped = {}
    for T in tokens:
        x = torch.randn(T, H, dtype=torch.bfloat16, device=dev)
        grouped[T] = host_time(lambda: moe_grouped(x, wgu_t, wd_t, *route(x, router, k, renorm), E))
    del wgu, wd, wgu_t, wd_t
    torch.cuda.empty_cache()
    for fmt, density in FORMATS.items():
        ms = ours(f"{layers}/{name}_{fmt}")
        # Packed bytes: values (density of the dense bf16), metadata (1/8 of
        # the values), row indices (1 byte per kept row and span).
        wbytes = dense_bytes * density * (1 + 1 / 8) + (3 * E * I * H / 128 * 0.5
                                                          if fmt.startswith("12") else 0)
        for T in tokens:
            rows.append(dict(model=name, format=fmt, T=T, grouped_ms=grouped[T], ours_ms=ms[T],
                             speedup=grouped[T] / ms[T],
                             bw_fraction=wbytes / (ms[T] * 1e-3) / (bw * 1e9)))
print(f"{'model':13} {'format':7} {'T':>5} {'grouped_ms':>10} {'ours_ms':>8} {'speedup':>7} {'bw_frac':>7}")
for r in rows:
    print(f"{r['model']:13} {r['format']:7} {r['T']:5d} {r['grouped_ms']:10.4f} {r['ours_ms']:8.4f} "
          f"{r['speedup']:7.2f} {r['bw_fraction']:7.2f}")
with open(sys.argv[3] if len(sys.argv) > 3 and not sys.argv[3].startswith("--") else "layer_bench.json", "w") as f:
    json.dump(dict(device=torch.cuda.get_device_name(), copy_gbps=bw, rows=rows), f, indent=1)
