"""Expert parallelism on 2 GPUs against one GPU, DeepSeek-V3 layer shape (GPU machine).

    python3 -m torch.distributed.run --nproc-per-node 2 bench/ep_bench.py \
        --bundles .device/ep --out OUT/ep.json          (bench/run-ep.sh does this)

The bundles come from ``bash bench/prepare-ep.sh`` (a machine with samoyeds-opt). Shape:
hidden 7168, moe_intermediate 2048, 256 routed experts, top-8 (DeepSeek-V3), 1:2:128 in the
wgmma layout; routing by the DeepSeek-V3 convention (sigmoid, 8 groups, top-4 groups,
x2.5) on a random router, computed on each rank for its own tokens and NOT timed (the
single-GPU layer gets the same routing).

Weights: ``--unique`` (8) random bf16 experts are generated on the GPU and packed on the
CPU (the runtime's packer, a few seconds); expert e uses packed expert e % unique (the
packed bytes are copied, so every expert has its own memory: speed does not depend on the
values). Packing 256 distinct experts would take minutes.

For each T (tokens PER RANK; the two ranks together hold 2T tokens):
  * ep: ExpertParallelMoE.moe_experts on both GPUs (each rank's 128 experts run by the
    top-k-1 bundle; counts, dispatch and return exchanged with NCCL all_to_all_single);
  * single: the top-8 experts-only layer of all 256 experts on GPU 0 over all 2T tokens;
  * a2a: the three all_to_all_single calls of an ep run alone (counts + .tolist(),
    dispatch, return), with the same split sizes.
Times are wall-clock per call (eager: the ep layer synchronises the host once per call),
median of --reps after warm-up, each rep started after a barrier and ended by
cuda.synchronize; ep and a2a take the slower rank. Throughput = 2T / time.

Checks (GPU 0, all 2T tokens):
  * ep vs slotwise: every slot run through the single-GPU top-k-1 bundle of all 256
    experts, combined by the same float32 slot-order code as ep. Expected bit-identical
    when both sides run the same kernel variant (the manifests' split-K / ordinary /
    persistent ranges of P, reported per side); a different variant sums K in another
    order.
  * ep vs single: NOT bit-identical: the single layer's combine kernel sums the f32 expert
    outputs, ep sums each slot's output rounded to bf16 (the top-k-1 bundle's y); the
    relative error and max |diff| are reported.
  * ep run twice: bit-identical (deterministic).
The whole run is bounded by --budget seconds (default 200): T values left when it is spent
are skipped and listed.
"""
import os

# Before torch/NCCL initialise: never NVLink multicast (NVLS).
os.environ["NCCL_NVLS_ENABLE"] = "0"
os.environ["TORCH_SYMM_MEM_DISABLE_MULTICAST"] = "1"
os.environ["NVSHMEM_DISABLE_NVLS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

START = time.monotonic()

from samoyeds.expert_parallel import select_local_gpu  # noqa: E402

select_local_gpu()  # each process sees its GPU as device 0 (the runtime's)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from samoyeds.ep_experts import CompiledExperts  # noqa: E402
from samoyeds.expert_parallel import ExpertParallelMoE, init_process_group  # noqa: E402
from samoyeds.layer import MoELayer, read_manifest  # noqa: E402
from samoyeds.pack import PackedWeight, pack  # noqa: E402
from samoyeds.routing import RoutingSpec, route_torch  # noqa: E402

E, H, I, K = 256, 7168, 2048, 8
SPEC = RoutingSpec(E, K, scoring="sigmoid", normalize=True, scale=2.5, n_group=8,
                   topk_group=4, group_score="top2_sum", uses_bias=True,
                   normalize_eps=1e-20, model_type="deepseek_v3")


def log(*a):
    if dist.get_rank() == 0:
        print(*a, flush=True)


def tiled(p: PackedWeight, experts):
    """The packed weight of global ``experts``, expert e being packed expert e % p.experts."""
    idx = np.asarray([e % p.experts for e in experts])
    parts = {n: getattr(p, n).reshape(p.experts, -1)[idx].reshape(-1)
             for n in ("values", "meta", "row_idx")}
    return PackedWeight(**parts, dtype=p.dtype, experts=len(experts), rows=p.rows,
                        cols=p.cols, n=p.n, m=p.m, v=p.v, layout=p.layout)


def make_weights(unique, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    w13 = torch.randn(unique, 2 * I, H, device="cuda", generator=g, dtype=torch.bfloat16) * 0.02
    w2 = torch.randn(unique, H, I, device="cuda", generator=g, dtype=torch.bfloat16) * 0.02
    return [pack(w.cpu(), 1, 2, 128, "bf16", "wgmma") for w in (w13, w2)]


def variant(manifest, P):
    """Which ssmm_1 variant runs for P slots (the manifest's "when" ranges)."""
    for launch in manifest["launches"]:
        name = launch["kernel"]
        if "ssmm_1" not in name or name.endswith("_reduce"):
            continue
        w = launch.get("when", {})
        if w.get("min", 0) <= P <= w.get("max", 1 << 62):
            return ("split" if name.endswith("_split") else "persistent"
                    if name.endswith("_persistent") else "ordinary")
    return "none"


def timed(fn, reps, warmup=2):
    """Median ms of ``fn`` (collective) over ``reps``, the slower rank's time each rep."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(reps):
        dist.barrier()
        torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        dt = torch.tensor([time.perf_counter() - t], device="cuda")
        dist.all_reduce(dt, op=dist.ReduceOp.MAX)
        out.append(dt.item())
    return statistics.median(out) * 1e3


def combine(slots_out, w, T):
    """The ep layer's combine: float32, slot order."""
    acc = torch.zeros((T, H), dtype=torch.float32, device="cuda")
    y = slots_out.view(T, K, H)
    for j in range(K):
        acc.addcmul_(y[:, j], w[:, j:j + 1].float())
    return acc.to(torch.bfloat16)


def a2a_alone(ep, W):
    """The ep run's three exchanges alone, with its last split sizes."""
    send, recv = ep.last_counts
    R = len(send)
    counts = torch.tensor(send, device="cuda")
    got = torch.empty_like(counts)
    pay = torch.empty((sum(send), W + 1), dtype=torch.int32, device="cuda")
    pay_in = torch.empty((sum(recv), W + 1), dtype=torch.int32, device="cuda")
    out = torch.empty((sum(recv), W), dtype=torch.int32, device="cuda")
    back = torch.empty((sum(send), W), dtype=torch.int32, device="cuda")
    assert R == dist.get_world_size()

    def run():
        dist.all_to_all_single(got, counts)
        got.tolist()
        dist.all_to_all_single(pay_in, pay, recv, send)
        dist.all_to_all_single(back, out, send, recv)
    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundles", default=".device/ep")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", default="1,64,1024,4096")
    ap.add_argument("--unique", type=int, default=8)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--budget", type=float, default=200.0)
    args = ap.parse_args()
    torch.cuda.set_device(0)
    init_process_group("nccl", timeout_s=120)
    rank, R = dist.get_rank(), dist.get_world_size()
    if R != 2:
        sys.exit("run with 2 processes (torchrun --nproc-per-node 2)")
    B = args.bundles
    man = {n: read_manifest(os.path.join(B, n, "manifest.json"))
           for n in ("single_k8", "single_k1", "rank_k1")}
    t = time.monotonic()
    w13, w2 = make_weights(args.unique)
    log(f"packed {args.unique} distinct experts in {time.monotonic() - t:.1f} s")

    def load_local(r, experts):
        ce = CompiledExperts(os.path.join(B, "rank_k1"))
        ce.layer.upload_packed("w13", tiled(w13, experts))
        ce.layer.upload_packed("w2", tiled(w2, experts))
        return ce

    ep = ExpertParallelMoE(load_local, E, H, K, device=torch.device("cuda", 0))
    single = {}
    if rank == 0:
        full = [tiled(w, range(E)) for w in (w13, w2)]
        for name in ("single_k8", "single_k1"):
            single[name] = MoELayer(os.path.join(B, name))
            single[name].upload_packed("w13", full[0])
            single[name].upload_packed("w2", full[1])
        full = None
    w13 = w2 = None
    g = torch.Generator(device="cuda").manual_seed(1)
    router = torch.randn(E, H, device="cuda", generator=g, dtype=torch.bfloat16) * 0.02
    bias = torch.zeros(E, device="cuda")
    log(f"loaded in {time.monotonic() - START:.1f} s: {ep.placement.describe()}, "
        f"{torch.cuda.get_device_name()} x{R}")
    res = {"device": torch.cuda.get_device_name(), "gpus": R, "torch": torch.__version__,
           "nccl": nccl_version(),
           "shape": {"experts": E, "hidden": H, "intermediate": I, "top_k": K,
                     "format": "1:2:128", "layout": "wgmma"},
           "routing": SPEC.describe(), "unique_experts": args.unique,
           "command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d"),
           "rows": [], "skipped": []}
    W = H * 2 // 4
    for T in [int(v) for v in args.tokens.split(",")]:
        spent = torch.tensor([time.monotonic() - START], device="cuda")
        dist.all_reduce(spent, op=dist.ReduceOp.MAX)  # every rank skips alike
        if spent.item() > args.budget:
            res["skipped"].append(T)
            continue
        g = torch.Generator(device="cuda").manual_seed(100 + T * 2 + rank)
        x = torch.randn(T, H, device="cuda", generator=g, dtype=torch.bfloat16)
        w, ids = route_torch(torch.nn.functional.linear(x.float(), router.float()), SPEC, bias)
        y1 = ep.moe_experts(x, w, ids)
        y2 = ep.moe_experts(x, w, ids)
        P_ep = sum(ep.last_counts[1])
        every = [torch.empty_like(t) for t in (x, w, ids, y1) for _ in range(R)]
        for i, t in enumerate((x, w, ids, y1)):
            dist.all_gather(every[i * R:(i + 1) * R], t)
        Ps = [torch.empty(1, dtype=torch.int64, device="cuda") for _ in range(R)]
        dist.all_gather(Ps, torch.tensor([P_ep], device="cuda"))
        row = {"T_per_rank": T, "tokens": R * T,
               "repeat_bit_identical": bool(dist_all(torch.equal(y1, y2))),
               "ep_slots_per_rank": [int(p.item()) for p in Ps],
               "ep_variant": [variant(man["rank_k1"], int(p.item())) for p in Ps]}
        if rank == 0:
            X, Wt, IDS, Y = (torch.cat(every[i * R:(i + 1) * R]) for i in range(4))
            ys = single["single_k8"](X, Wt, IDS)
            d2 = (Y.float() - ys.float()).abs()
            # The slot-wise run treats every routed slot as a token: its combine grid
            # (one block row per token) stops at CUDA's 65535.
            if R * T * K <= 65535:
                flat = IDS.reshape(-1, 1)
                slot = single["single_k1"](X.repeat_interleave(K, 0),
                                           torch.ones(flat.shape, device="cuda"), flat)
                yslot = combine(slot, Wt, R * T)
                row.update({
                    "slotwise_variant": variant(man["single_k1"], R * T * K),
                    "ep_vs_slotwise_bit_identical": bool(torch.equal(Y, yslot)),
                    "ep_vs_slotwise_max_abs": (Y.float() - yslot.float()).abs().max().item()})
            else:
                row["slotwise_skipped"] = (f"{R * T * K} slots as tokens exceed the combine "
                                           "grid's 65535 block rows")
            row.update({
                "single_variant": variant(man["single_k8"], R * T * K),
                "ep_vs_single_bit_identical": bool(torch.equal(Y, ys)),
                "ep_vs_single_max_abs": d2.max().item(),
                "ep_vs_single_rel_err": ((Y.float() - ys.float()).norm()
                                         / ys.float().norm()).item(),
                "ep_vs_single_differing": (Y != ys).float().mean().item(),
                "finite": bool(torch.isfinite(Y.float()).all().item())})
        reps = args.reps if T <= 1024 else max(5, args.reps // 2)
        row["ep_ms"] = timed(lambda: ep.moe_experts(x, w, ids), reps)
        row["a2a_ms"] = timed(a2a_alone(ep, W), reps)
        dist.barrier()
        if rank == 0:
            row["single_ms"] = single_time(single["single_k8"], X, Wt, IDS, reps)
            for k in ("ep", "single", "a2a"):
                row[f"{k}_tokens_per_s"] = R * T / row[f"{k}_ms"] * 1e3
            res["rows"].append(row)
            print_row(row)
            write(args.out, res)
        dist.barrier()
    res["seconds"] = time.monotonic() - START
    if rank == 0:
        write(args.out, res)
        log(f"done in {res['seconds']:.0f} s -> {args.out}")
    dist.destroy_process_group()


def nccl_version() -> str:
    v = torch.cuda.nccl.version()
    return ".".join(map(str, v)) if isinstance(v, tuple) else str(v)


def dist_all(flag: bool) -> bool:
    t = torch.tensor([1 if flag else 0], device="cuda")
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())


def single_time(layer, X, Wt, IDS, reps):
    """The single-GPU layer alone on GPU 0 (the other rank waits at a barrier)."""
    for _ in range(2):
        layer(X, Wt, IDS)
    out = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t = time.perf_counter()
        layer(X, Wt, IDS)
        torch.cuda.synchronize()
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1e3


HEADER = (f"{'T/rank':>6} {'tokens':>6} {'ep ms':>8} {'single ms':>9} {'a2a ms':>7} "
          f"{'ep/single':>9} {'slotwise':>9} {'vs single rel':>13} {'variants ep|slot':>22}")


def print_row(row):
    if not getattr(print_row, "done", False):
        print(HEADER, flush=True)
        print_row.done = True
    same = row.get("ep_vs_slotwise_bit_identical")
    slotwise = "skipped" if same is None else "bit-id" if same else "DIFF"
    print(f"{row['T_per_rank']:>6} {row['tokens']:>6} {row['ep_ms']:>8.3f} "
          f"{row['single_ms']:>9.3f} {row['a2a_ms']:>7.3f} "
          f"{row['single_ms'] / row['ep_ms']:>8.2f}x "
          f"{slotwise:>9} {row['ep_vs_single_rel_err']:>13.2e} "
          f"{'/'.join(row['ep_variant']) + '|' + row.get('slotwise_variant', '-'):>22}",
          flush=True)


def write(path, res):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(res, f, indent=1)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
