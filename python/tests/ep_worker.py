"""One rank of the expert-parallel tests (test_expert_parallel.py starts 2-4 of these).

    python ep_worker.py RANK WORLD STORE OUT SUITE [ARGS_JSON]

Joins a gloo process group through a FileStore (30 s timeout on every collective), runs
the SUITE's scenarios in order on the same group, and rewrites OUT (JSON: {scenario:
result}) after each, so that a timeout still shows how far it got. Every rank builds the
same global data from fixed seeds and compares its own tokens' output with the unsharded
float64 reference. A scenario that raises records {"error", "status"}.
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path
from datetime import timedelta

import torch
import torch.distributed as dist

from samoyeds._capi import SamoyedsError
from samoyeds.ep_experts import ReferenceExperts
from samoyeds.expert_parallel import ExpertParallelMoE, init_process_group
from samoyeds.placement import Placement
from samoyeds.routing import RoutingSpec, route_torch

E, H, I, K = 12, 16, 8, 2  # E divisible by 2, 3 and 4
RANK, WORLD = int(sys.argv[1]), int(sys.argv[2])
LAST = WORLD - 1


def weights(seed=0, E=E, H=H, I=I):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(E, 2 * I, H, generator=g, dtype=torch.float64) / H ** 0.5,
            torch.randn(E, H, I, generator=g, dtype=torch.float64) / I ** 0.5)


W13, W2 = weights()
FULL = ReferenceExperts(W13, W2)


def reference(x, w, ids):
    """The unsharded float64 layer: sum_j w[:, j] * expert_{ids[:, j]}(x)."""
    T, k = ids.shape
    out = FULL(x.double().repeat_interleave(k, 0), ids.reshape(-1)).view(T, k, H)
    return (out * w.double().unsqueeze(-1)).sum(1)


def tokens(counts, seed, pool=None, dtype=torch.float64):
    """Every rank's (x, weights, ids) for ``counts`` tokens per rank; ids distinct per
    token, drawn from ``pool`` (default: every expert)."""
    g = torch.Generator().manual_seed(seed)
    pool = torch.arange(E) if pool is None else torch.as_tensor(pool)
    out = []
    for T in counts:
        x = torch.randn(T, H, generator=g, dtype=torch.float64).to(dtype)
        ids = torch.stack([pool[torch.randperm(len(pool), generator=g)[:K]]
                           for _ in range(T)]) if T else torch.empty(0, K, dtype=torch.int64)
        w = torch.rand(T, K, generator=g, dtype=torch.float32)
        out.append((x, w, ids.to(torch.int32)))
    return out


def layer(placement=None, local=None, **kw):
    def load(rank, experts):
        return local(rank, experts) if local else ReferenceExperts(W13[list(experts)],
                                                                   W2[list(experts)])
    return ExpertParallelMoE(load, kw.pop("experts", E), kw.pop("hidden", H),
                             kw.pop("top_k", K), placement, **kw)


def compare(ep, counts, seed, pool=None, dtype=torch.float64):
    x, w, ids = tokens(counts, seed, pool, dtype)[RANK]
    y = ep.moe_experts(x, w, ids)
    ref = reference(x, w, ids)
    err = ((y.double() - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item() \
        if len(ref) else 0.0
    return {"T": len(x), "err": err, "shape": list(y.shape), "dtype": str(y.dtype),
            "received": None}


def owners_pool(placement, ranks):
    return [e for r in ranks for e in placement.ranks[r]]


# --------------------------------------------------------------------------- scenarios


def s_random():
    return compare(layer(), [5, 3, 7, 1][:WORLD], seed=1)


def s_empty_rank():
    p = Placement.contiguous(E, WORLD)
    return compare(layer(), [6] * WORLD, seed=2, pool=owners_pool(p, range(WORLD - 1)))


def s_one_rank():
    p = Placement.contiguous(E, WORLD)
    return compare(layer(), [4] * WORLD, seed=3, pool=owners_pool(p, [0]))


def s_uneven():
    T = 11
    counts = [T // WORLD + (1 if r < T % WORLD else 0) for r in range(WORLD)]
    return compare(layer(), counts, seed=4)


def s_t_zero():
    return compare(layer(), [0] + [5] * (WORLD - 1), seed=5)


def s_all_zero():
    return compare(layer(), [0] * WORLD, seed=6)


MAPS = {2: [[11, 0, 3], [1, 2, 4, 5, 6, 7, 8, 9, 10]],
        3: [[11], [0, 3, 6], [1, 2, 4, 5, 7, 8, 9, 10]],
        4: [[11], [0, 3], [1, 2, 4], [5, 6, 7, 8, 9, 10]]}


def s_placement_map():
    return compare(layer(MAPS[WORLD]), [5, 2, 6, 3][:WORLD], seed=7)


def s_owner_map():
    owner = [(e * 5 + 1) % WORLD for e in range(E)]  # every rank holds some
    return compare(layer(owner), [4] * WORLD, seed=8)


def s_float32_bf16():
    """bf16 activations, float32 reference experts: bf16 roundings only."""
    out = {}
    for name, dt in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        ep = layer(local=lambda r, ex: ReferenceExperts(W13[list(ex)], W2[list(ex)],
                                                        torch.float32))
        out[name] = compare(ep, [5] * WORLD, seed=9, dtype=dt)
    return out


def s_deterministic_and_placement_free():
    """Repeated runs are bit-identical; another placement changes nothing but roundings."""
    x, w, ids = tokens([9] * WORLD, seed=10)[RANK]
    a, b = layer(), layer(MAPS[WORLD])
    y1, y2, y3 = a.moe_experts(x, w, ids), a.moe_experts(x, w, ids), b.moe_experts(x, w, ids)
    return {"repeat_equal": bool(torch.equal(y1, y2)),
            "placement_diff": (y1 - y3).abs().max().item()}


def s_routed():
    """__call__: routing on each rank (DeepSeek-V3 convention) against the reference
    routed the same way on the whole batch."""
    g = torch.Generator().manual_seed(11)
    router = torch.randn(E, H, generator=g, dtype=torch.float64)
    bias = torch.rand(E, generator=g) * 0.01
    spec = RoutingSpec(E, K, scoring="sigmoid", normalize=True, scale=2.0, n_group=2,
                       topk_group=1, group_score="top2_sum", uses_bias=True,
                       normalize_eps=1e-20, model_type="deepseek_v3")
    ep = layer(routing=spec, router=router, bias=bias, f32_logits=True)
    x = tokens([3, 6, 2, 5][:WORLD], seed=12)[RANK][0]
    y = ep(x.view(1, -1, H)).view(-1, H)
    w, ids = route_torch(torch.nn.functional.linear(x.float(), router.float()), spec, bias)
    ref = reference(x, w, ids)
    return {"err": ((y - ref).abs().max() / ref.abs().max()).item(),
            "ids_used": sorted(set(ids.reshape(-1).tolist()))}


def s_model_dir(dirs):
    """Layer 1 of samoyeds-compile --expert-parallel directories, the CPU reference on each
    rank's unpacked weight slice, routed by the layer (router and bias from the rank's
    weight file), against the unsharded reference on all slices put together."""
    from samoyeds.ep_model import read_ep_model
    from samoyeds.expert_parallel import _router_of

    out = {}
    for d in dirs:
        md = read_ep_model(d)
        entry = md.layer(1)
        pre, n = entry["prefix"], md.routing.experts
        slices = [ReferenceExperts.from_weight_file(md.weights(r), pre) for r in range(WORLD)]
        order = torch.tensor([e for lst in md.placement.ranks for e in lst]).argsort()
        full = ReferenceExperts(torch.cat([s.w13 for s in slices])[order],
                                torch.cat([s.w2 for s in slices])[order])
        router, bias = _router_of(md.weights(RANK), pre, 1)
        ep = ExpertParallelMoE(lambda r, ex: ReferenceExperts.from_weight_file(
            md.weights(r), pre), n, entry["hidden"], md.routing.top_k, md.placement,
            routing=md.routing, router=router, bias=bias, f32_logits=True)
        x = torch.randn(6 + RANK, entry["hidden"], dtype=torch.float64,
                        generator=torch.Generator().manual_seed(RANK))
        y = ep(x)
        w, ids = route_torch(torch.nn.functional.linear(x.float(), router.float()),
                             md.routing, bias)
        T, k = ids.shape
        ref = (full(x.repeat_interleave(k, 0), ids.reshape(-1)).view(T, k, -1)
               * w.double().unsqueeze(-1)).sum(1)
        out[Path(d).name] = {"T": T, "err": ((y - ref).abs().max() / ref.abs().max()).item()}
    # The GPU constructor: reads the directory on every rank, fails on every rank.
    out["bad_layer"] = expect_error(lambda: ExpertParallelMoE.from_model_dir(dirs[0], 7))
    if not torch.cuda.is_available():
        out["no_gpu"] = expect_error(lambda: ExpertParallelMoE.from_model_dir(dirs[0], 1))
    return out


def expect_error(fn):
    t = time.monotonic()
    try:
        fn()
    except SamoyedsError as e:
        return {"raised": True, "status": e.status_name, "message": e.message,
                "seconds": time.monotonic() - t}
    return {"raised": False}


def s_bad_world_size():
    return expect_error(lambda: layer(experts=E - 1, local=lambda r, ex: ReferenceExperts(
        W13[:len(ex)], W2[:len(ex)])))


def s_missing_expert():
    lists = [list(x) for x in Placement.contiguous(E, WORLD).ranks]
    lists[-1] = lists[-1][:-1]
    return expect_error(lambda: layer(lists))


def s_duplicate_expert():
    lists = [list(x) for x in Placement.contiguous(E, WORLD).ranks]
    lists[-1].append(0)
    return expect_error(lambda: layer(lists))


def s_rank_out_of_range():
    return expect_error(lambda: layer([WORLD] + [0] * (E - 1)))


def s_placement_differs():
    return expect_error(lambda: layer(MAPS[WORLD] if RANK == LAST else None))


def s_format_differs():
    dt = torch.float32 if RANK == LAST else torch.float64
    return expect_error(lambda: layer(local=lambda r, ex: ReferenceExperts(
        W13[list(ex)], W2[list(ex)], dt)))


def s_hidden_differs():
    h = H + 2 if RANK == LAST else H
    w13, w2 = weights(0, H=h)
    return expect_error(lambda: layer(hidden=h, local=lambda r, ex: ReferenceExperts(
        w13[list(ex)], w2[list(ex)])))


def s_load_fails():
    def load(rank, ex):
        if rank == LAST:
            raise OSError(f"cannot open weights.rank{rank}.safetensors: No such file")
        return ReferenceExperts(W13[list(ex)], W2[list(ex)])
    return expect_error(lambda: layer(local=load))


def s_wrong_local_count():
    return expect_error(lambda: layer(local=lambda r, ex: ReferenceExperts(
        W13[:len(ex) + (1 if r == LAST else 0)], W2[:len(ex) + (1 if r == LAST else 0)])))


def s_forward_arg_error_times_out():
    """A forward argument error on one rank: it raises at once, the others fail at the
    group's timeout (2 s here) instead of hanging."""
    g = dist.new_group(timeout=timedelta(seconds=2))
    ep = layer(group=g)
    x, w, ids = tokens([3] * WORLD, seed=13)[RANK]
    t = time.monotonic()
    try:
        ep.moe_experts(x[:, :-1] if RANK == LAST else x, w, ids)
    except Exception as e:  # SamoyedsError on LAST, a gloo timeout on the others
        got = {"raised": type(e).__name__, "message": str(e)[:300],
               "seconds": time.monotonic() - t}
        # LAST stays connected until the others have failed (by the timeout, not because
        # it went away): they leave a marker file each.
        out = sys.argv[4]  # ...-rank{RANK}.json
        if RANK != LAST:
            Path(out + ".failed").touch()
        else:
            peers = [Path(out.replace(f"rank{LAST}.json", f"rank{r}.json") + ".failed")
                     for r in range(LAST)]
            while time.monotonic() - t < 25 and not all(p.exists() for p in peers):
                time.sleep(0.05)
        return got
    return {"raised": None}


SUITES = {
    "main": [s_random, s_empty_rank, s_one_rank, s_uneven, s_t_zero, s_all_zero,
             s_placement_map, s_owner_map, s_float32_bf16, s_deterministic_and_placement_free,
             s_routed, s_bad_world_size, s_missing_expert, s_duplicate_expert,
             s_rank_out_of_range, s_placement_differs, s_format_differs, s_hidden_differs,
             s_load_fails, s_wrong_local_count, s_random, s_forward_arg_error_times_out],
}


def main():
    store, out, suite = sys.argv[3], sys.argv[4], sys.argv[5]
    args = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
    torch.set_num_threads(1)
    init_process_group("gloo", timeout_s=30, store=dist.FileStore(store, WORLD), rank=RANK,
                       world_size=WORLD)
    results = {}
    fns = SUITES[suite] if suite in SUITES else [getattr(sys.modules[__name__], suite)]
    for fn in fns:
        name = fn.__name__[2:]
        if name in results:
            name += "_again"
        try:
            results[name] = fn(**args) if args else fn()
        except Exception as e:
            results[name] = {"error": f"{type(e).__name__}: {e}",
                             "status": getattr(e, "status_name", None),
                             "trace": traceback.format_exc()[-2000:]}
        with open(out + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(out + ".tmp", out)
    sys.stdout.flush()
    os._exit(0)  # no destroy_process_group: a timed-out group may not tear down cleanly


if __name__ == "__main__":
    main()
