"""Model-level benchmark (issue #14): a transformers MoE model with real layer shapes and
random weights, decode and prefill, transformers' MoE blocks against Samoyeds' (GPU machine).

    PYTHONPATH=python:bench SAMOYEDS_RUNTIME_LIB=BUILD python3 bench/model_bench.py \
        --bundles .device/model --out OUT/model.json

(bench/run-model-bench.sh builds the runtime and runs it; bench/prepare-model.sh compiles the
bundles on a machine with MLIR.) For each model of bench/model_specs.py (Qwen3-30B-A3B; the
DeepSeek-V3 architecture), the transformers model is built on the GPU with as many decoder
layers as fit (the published count, or what the free memory holds beside a margin; printed
with the reason), attention included. Every MoE layer's expert e is distinct expert e mod D
(--distinct, default 8) of random experts packed by the package's packer (real-size experts
pack at ~30 ns per element per CPU core: minutes per layer; the run prints the measured rate),
in the dense model as their unpacking (the pruned weights), in the Samoyeds layers packed.
Paths:
  (a) transformers' MoE blocks, experts_implementation "eager" (its per-expert loop; it
      synchronises the host in every layer, so it cannot be captured and runs eagerly);
  (b) transformers' MoE blocks, "grouped_mm" (torch's grouped GEMM: a dense fused MoE);
  (c) Samoyeds 2:4 and 1:2+2:4: every MoE block swapped for samoyeds.serving's
      SamoyedsExpertsBlock (as samoyeds.load does; max_tokens = the prefill length).
Measured: decode tokens/s at each --batches (one step at position --context - 1 over a cache
of --context entries, logits of every sequence) and the prefill latency of --prefill tokens
(batch 1, logits of the last position), each step replayed from a CUDA graph captured after
an eager call, device time by CUDA events after an L2-evicting write (bench.ColdTimer),
median of --reps (--eager-reps for (a)).
Checks of (c) against (b) on the same pruned weights and a --prefill-token prompt: the outputs
of the first and last MoE blocks on the inputs (b) gave them (relative error <= 5e-2, as
bench/h200.py's layer check) and the logits (float32 head), with (a) against (b) as the bf16
noise floor of a deep random model (its flat logits turn small roundings into top-1 flips;
counted as at least 1e-2 relative error and 5% disagreement): no NaN, relative error <= 3 x
the floor's, top-1 disagreement <= 2 x the floor's + 0.05. A wrong expert, layer or packing
gives block errors near 1 (the logits, where the random model's residual stream dominates,
move much less: the block check is the sharp one). Largest batch: max_batch_note.
"""
import time

START = time.time()  # the --deadline counts from here, imports included

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402

import model_run as mr  # noqa: E402
from bench import ColdTimer  # noqa: E402
from model_specs import (FORMAT_NAMES, FORMATS, MODELS, PATHS, check_bundles,  # noqa: E402
                         shape)
from samoyeds.layer import LayerBundle  # noqa: E402

DEV = "cuda"
EAGER_WHY = ("transformers' eager experts loop synchronises the host (nonzero) in every "
             "layer: not capturable, run eagerly")


def max_batch_note(a):
    return (f"Largest batch = floor((budget - W) / ({a.seq_len} x KV + A)) sequences of "
            f"{a.seq_len} tokens, for the published model: W its weight bytes (this run's "
            f"measured bytes per layer times its layer count; the experts dense for (a)/(b), "
            f"for (c) packed (values, metadata, row indices) plus the runtime's workspaces "
            f"reserved for max_tokens = {a.prefill}, measured), KV the measured cache bytes "
            f"per token over all layers, A the measured activation bytes per sequence of a "
            f"decode step (torch's peak allocation in an eager step at the largest batch). "
            f"Budget: --budget-gib, default model_specs' budget_gpus x this device's memory.")


class Clock:
    def __init__(self, seconds):
        self.end = START + seconds

    def left(self):
        return self.end - time.time()


def plan_layers(name, a, free):
    """(MoE layers, reason): the published count, --layers, or what fits ``free`` bytes
    beside --margin-gib, from the bytes of a meta-device model."""
    spec = MODELS[name]
    dense = spec["config"].get("first_k_dense_replace", 0)
    inv = mr.inventory(mr.build_model(mr.hf_config(name, dense + 1), "meta"))
    per = inv["moe_other"] + inv["moe_experts"]
    real = spec["real_layers"] - spec["real_dense_layers"]
    if name in a.layers:
        return a.layers[name], f"--layers {a.layers[name]}"
    fixed = inv["outside"] + dense * inv["dense_layer"] + a.margin_gib * 2**30
    fit = int((free - fixed) // per)
    why = (f"{per / 1e9:.2f} GB per MoE layer (dense experts {inv['moe_experts'] / 1e9:.2f}); "
           f"{free / 1e9:.0f} GB free - {fixed / 1e9:.1f} GB (embedding, head, dense layers, "
           f"{a.margin_gib} GiB margin for activations, graphs and references) holds {fit}")
    return (real, f"all {real} MoE layers of the published model ({why})") if fit >= real \
        else (fit, f"{fit} of {real} MoE layers: {why}")


def timed(label, fn, a, timers, clock, capture, why, B=None):
    """One measurement row of ``fn`` (decode at batch B, or prefill)."""
    if clock.left() < a.min_step_s:
        return dict(skipped="time budget")
    r = mr.Graphed(fn, capture, why)
    ms = (timers["graph"] if r.graph is not None else timers["eager"])(r)
    row = dict(ms=ms, graph=r.graph is not None, why=r.why, transient=r.transient)
    if B is not None:
        row.update(B=B, tok_s=B * 1e3 / ms)
    print(f"  {label:28} {'decode B=' + str(B) if B else 'prefill':14} {ms:9.3f} ms"
          + (f"  {row['tok_s']:9.0f} tok/s" if B else "")
          + ("" if row["graph"] else "  (eager)"), flush=True)
    return row


def measure(model, key, a, timers, clock, prompt, capture=True, why=None):
    out = {"decode": {}, "prefill": None}
    for B in a.batches:
        fn, cache = mr.decode_step(model, B, a.context, seed=B)
        out["decode"][B] = timed(PATHS[key], fn, a, timers, clock, capture, why, B)
        out["decode"][B]["kv_bytes"] = cache.nbytes
        del fn, cache
        gc.collect()
        torch.cuda.empty_cache()
    fn, _ = mr.prefill_step(model, prompt)
    out["prefill"] = timed(PATHS[key], fn, a, timers, clock, capture, why)
    del fn
    gc.collect()
    torch.cuda.empty_cache()
    return out


def run_model(name, a, found, clock, results):
    """Measures model ``name`` into results["models"][name] (kept, as far as it got, when
    a step raises)."""
    spec = MODELS[name]
    E, H, I, k = shape(name)
    t0 = time.time()
    free, total = torch.cuda.mem_get_info()
    n_moe, why = plan_layers(name, a, free)
    dense = spec["config"].get("first_k_dense_replace", 0)
    print(f"== {spec['title']} (E={E}, H={H}, I={I}, top-{k}): {dense + n_moe} decoder "
          f"layers ({dense} dense): {why}", flush=True)
    res = results["models"][name] = dict(
        title=spec["title"], E=E, H=H, I=I, k=k, layers=dense + n_moe, moe_layers=n_moe,
        layers_why=why, routing=mr.routing(name).describe(), paths={}, checks={}, setup={})
    model = mr.build_model(mr.hf_config(name, dense + n_moe), DEV)
    try:
        res["inventory"] = mr.inventory(model)
        measure_model(model, name, a, found, clock, res)
    finally:  # also after a failure: the runtime's memory is not torch's to free
        mr.close_experts(model)
        del model
        gc.collect()
        torch.cuda.empty_cache()
        if "inventory" in res:
            accounting(res, name, a, total)
        res["seconds"] = time.time() - t0


def measure_model(model, name, a, found, clock, res):
    """References, (b), (a), then (c) of each format on ``model``, into ``res``."""
    t0 = time.time()
    packed, pruned = prepare_experts(name, a, found, res)
    g = torch.Generator(device="cpu").manual_seed(7)
    prompt = torch.randint(0, model.config.vocab_size, (1, a.prefill), generator=g).to(DEV)
    refs, probe = {}, [mr.moe_indices(model)[0], mr.moe_indices(model)[-1]]
    with torch.no_grad():
        for j, fmt in enumerate(a.formats):
            mr.fill_experts(model, pruned[fmt])
            model.set_experts_implementation("grouped_mm")
            with mr.recording(model, probe) as rec:
                refs[fmt] = (mr.logits_f32(model, prompt), rec)
            if j == 0:
                model.set_experts_implementation("eager")
                res["floor"] = mr.compare(mr.logits_f32(model, prompt), refs[fmt][0])
                print(f"  bf16 floor, (a) against (b) on the {FORMAT_NAMES[fmt]} weights: "
                      f"{res['floor']}", flush=True)
        res["setup"]["references_s"] = time.time() - t0
        timers = {"graph": ColdTimer(a.reps), "eager": ColdTimer(a.eager_reps)}
        model.set_experts_implementation("grouped_mm")
        res["paths"]["hf_grouped"] = measure(model, "hf_grouped", a, timers, clock, prompt)
        model.set_experts_implementation("eager")
        res["paths"]["hf_eager"] = measure(model, "hf_eager", a, timers, clock, prompt,
                                           capture=False, why=EAGER_WHY)
        del pruned
        for fmt in a.formats:
            run_samoyeds(model, name, fmt, a, found, mr.routing(name), packed.pop(fmt),
                         refs.pop(fmt), res, timers, clock, prompt)


def prepare_experts(name, a, found, res):
    """{format: {"w13", "w2": PackedWeight of --distinct experts}} and their unpacking on
    the device; the packer's measured rate in res["setup"]."""
    spec, (E, H, I, _), D = MODELS[name], shape(name), a.distinct
    bits = mr.distinct_experts(E, H, I, D, seed=1, device=DEV)
    packed, pruned = {}, {}
    for fmt in a.formats:
        t1 = time.time()
        n, m, v = FORMATS[fmt]
        b = LayerBundle(found[name, fmt])
        layouts = {w: b.weights[w]["layout"] for w in ("w13", "w2")}
        b.close()
        packed[fmt] = {w: mr.pack_experts(bits[w], n, m, v, layouts[w], a.threads)
                       for w in ("w13", "w2")}
        ns = (time.time() - t1) / (D * 3 * H * I) * 1e9
        pruned[fmt] = {w: mr.to_torch(mr.unpack_experts(packed[fmt][w], a.threads), DEV)
                       for w in ("w13", "w2")}
        whole = ns * 1e-9 * E * 3 * H * I * (spec["real_layers"] - spec["real_dense_layers"])
        res["setup"][fmt] = dict(pack_ns_per_element=ns, threads=a.threads,
                                 whole_model_pack_s=whole, pack_unpack_s=time.time() - t1)
        print(f"  {FORMAT_NAMES[fmt]}: {D} distinct experts packed ({layouts}) at {ns:.2f} ns "
              f"per element with {a.threads} threads (all experts of the published model: "
              f"~{whole / 60:.0f} min), unpacked, in {time.time() - t1:.1f} s; expert e of "
              f"every layer is distinct expert e mod {D}", flush=True)
    return packed, pruned


def run_samoyeds(model, name, fmt, a, found, routing, packed, ref, res, timers, clock, prompt):
    from samoyeds.layer import MoELayer

    key = f"samoyeds_{fmt}"
    if clock.left() < a.min_model_s / 2:
        res["paths"][key] = dict(skipped="time budget")
        return
    E = shape(name)[0]
    t1 = time.time()
    tiles = {w: mr.tile(p, E) for w, p in packed.items()}
    ws = []

    def make_layer():
        before = torch.cuda.mem_get_info()[0]
        layer = MoELayer(found[name, fmt], max_tokens=a.prefill)
        ws.append(before - torch.cuda.mem_get_info()[0])
        return layer

    mr.swap_experts(model, routing, make_layer, tiles)
    out = dict(packed_bytes=sum(t.nbytes for t in tiles.values()), workspace_bytes=max(ws),
               max_tokens=a.prefill, load_s=time.time() - t1)
    del tiles
    print(f"  {PATHS[key]}: {len(ws)} layers loaded in {out['load_s']:.1f} s, packed "
          f"{out['packed_bytes'] / 1e9:.2f} GB + workspace {out['workspace_bytes'] / 1e6:.0f} MB "
          f"per layer", flush=True)
    gc.collect()
    torch.cuda.empty_cache()
    c = mr.compare(mr.logits_f32(model, prompt), ref[0])
    c["blocks"] = mr.block_errors(model, ref[1])
    fl = res["floor"]
    c["ok"] = (c["nan"] == 0 and max(c["blocks"].values()) <= 5e-2
               and c["relerr"] <= 3 * max(fl["relerr"], 1e-2)
               and 1 - c["top1"] <= 2 * max(1 - fl["top1"], 0.05) + 0.05)
    res["checks"][fmt] = c
    blocks = ", ".join(f"layer {i} {e:.1e}" for i, e in c["blocks"].items())
    print(f"  {PATHS[key]} against (b) on the same pruned weights: blocks {blocks}; logits "
          f"top-1 {c['top1']:.4f}, relerr {c['relerr']:.2e}, NaN {c['nan']} -> "
          f"{'ok' if c['ok'] else 'FAILED'}", flush=True)
    out.update(measure(model, key, a, timers, clock, prompt))
    res["paths"][key] = out


def accounting(res, name, a, total):
    """Weight bytes of the published model, KV and activation bytes per token, largest
    batch per path (max_batch_note)."""
    spec, inv = MODELS[name], res["inventory"]
    budget = a.budget_gib.get(name, spec["budget_gpus"] * total / 2**30) * 2**30
    Bmax = max(a.batches)
    res["budget_bytes"] = budget
    for key, p in res["paths"].items():
        d = p.get("decode", {}).get(Bmax) if "decode" in p else None
        if not d or "ms" not in d:
            continue
        kv = d["kv_bytes"] / (Bmax * a.context * res["layers"]) * spec["real_layers"]
        act = d["transient"] / Bmax
        experts = inv["moe_experts"]
        if key.startswith("samoyeds"):
            experts = p["packed_bytes"] + p["workspace_bytes"]
        W = mr.full_model_weights(spec, inv, experts)
        p["memory"] = dict(weights=W, kv_per_token=kv, act_per_token=act,
                           max_batch=mr.max_batch(budget, W, kv, a.seq_len, act))


def parse_kv(text, cast):
    out = {}
    for item in filter(None, (text or "").split(",")):
        key, _, val = item.partition("=")
        out[key] = cast(val)
    return out


def table(results, a):
    lines = [f"\nModel-level benchmark ({results['device']}, {results['date']}): decode tok/s "
             f"(context {a.context}), prefill {a.prefill} tokens ms, largest batch of "
             f"{a.seq_len}-token sequences; * eager (not capturable)"]
    head = (f"{'model / path':36}" + "".join(f"{'B=' + str(B):>9}" for B in a.batches)
            + f"{'prefill':>9}{'max batch':>12}  check")
    for name, r in results["models"].items():
        budget = f"; budget {r['budget_bytes'] / 2**30:.0f} GiB" if "budget_bytes" in r else ""
        lines += ["", f"{r['title']} ({r['layers']} layers, {r['moe_layers']} MoE{budget})",
                  head]
        base = r["paths"].get("hf_grouped", {}).get("memory", {}).get("max_batch")
        for key, label in PATHS.items():
            p = r["paths"].get(key, {})
            cells = []
            for B in a.batches:
                d = p.get("decode", {}).get(B, {})
                cells.append(f"{d['tok_s']:8.0f}{'' if d['graph'] else '*'}" if "ms" in d
                             else f"{'–':>9}")
            pre = p.get("prefill") or {}
            cells.append(f"{pre['ms']:8.1f}{'' if pre['graph'] else '*'}" if "ms" in pre
                         else f"{'–':>9}")
            mb = p.get("memory", {}).get("max_batch")
            ratio = (f" ({mb / base:.2f}x)" if base else " (dense: 0)") if mb is not None \
                and key.startswith("samoyeds") else ""
            cells.append(f"{'–' if mb is None else mb:>12}{ratio}")
            c = r["checks"].get(key.split("_")[-1]) if key.startswith("samoyeds") else None
            chk = (f"  blocks {max(c['blocks'].values()):.1e}, top-1 {c['top1']:.3f} rel "
                   f"{c['relerr']:.1e} {'ok' if c['ok'] else 'FAILED'}" if c else "")
            lines.append(f"{label:36}" + "".join(cells) + chk)
        fl = r.get("floor")
        if fl:
            lines.append(f"{'':36}bf16 floor (a) vs (b): top-1 {fl['top1']:.3f} rel "
                         f"{fl['relerr']:.1e}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    arg = ap.add_argument
    arg("--bundles", default=os.path.join(os.path.dirname(__file__), "..", ".device", "model"),
        help="bench/prepare-model.sh's output (default .device/model)")
    arg("--models", default=",".join(MODELS), help=f"of {', '.join(MODELS)}")
    arg("--formats", default=",".join(FORMATS), help="11v128 (2:4), 12v128 (1:2+2:4)")
    arg("--out", default="model.json", help="JSON results")
    arg("--batches", default="1,16,64", help="decode batch sizes")
    arg("--context", type=int, default=512, help="KV-cache entries of a decode step")
    arg("--prefill", type=int, default=2048, help="prompt tokens (also max_tokens of (c))")
    arg("--seq-len", type=int, default=4096, help="tokens per sequence of the largest batch")
    arg("--reps", type=int, default=10, help="timed replays (median)")
    arg("--eager-reps", type=int, default=3, help="timed runs of (a)")
    arg("--distinct", type=int, default=8, help="distinct random experts packed")
    arg("--threads", type=int, default=os.cpu_count() or 1, help="packing threads")
    arg("--layers", default="", help="MODEL=N,...: MoE layers to build (default: as fit)")
    arg("--margin-gib", type=float, default=24.0, help="memory left beside the weights")
    arg("--budget-gib", default="", help="MODEL=GiB,... for the largest batch (default: "
                                         "model_specs budget_gpus x this device's memory)")
    arg("--deadline", type=float, default=270.0, help="seconds for the whole run; what "
                                                      "would not fit is skipped and said")
    arg("--min-step-s", type=float, default=8.0, help="seconds a measurement needs left")
    arg("--min-model-s", type=float, default=60.0, help="seconds a model needs left")
    arg("--dry-run", action="store_true", help="check the bundles only")
    a = ap.parse_args()
    clock = Clock(a.deadline)
    a.batches = [int(b) for b in a.batches.split(",")]
    a.formats = a.formats.split(",")
    a.layers = parse_kv(a.layers, int)
    a.budget_gib = parse_kv(a.budget_gib, float)
    models = a.models.split(",")
    unknown = [m for m in models if m not in MODELS] + [f for f in a.formats if f not in FORMATS]
    if unknown:
        sys.exit(f"unknown models or formats {unknown} (models {list(MODELS)}, formats "
                 f"{list(FORMATS)})")
    found = check_bundles(a.bundles, models, a.formats)
    print(f"bundles: {', '.join(str(p) for p in found.values())}", flush=True)
    if a.dry_run:
        return
    import transformers

    results = dict(device=torch.cuda.get_device_name(), date=time.strftime("%Y-%m-%d"),
                   torch=torch.__version__, transformers=transformers.__version__,
                   argv=sys.argv[1:], note=max_batch_note(a), models={})
    failed = []
    for name in models:
        if clock.left() < a.min_model_s:
            print(f"== {name}: skipped ({clock.left():.0f} s left)", flush=True)
            failed.append(f"{name}: not run (time budget)")
            continue
        try:
            run_model(name, a, found, clock, results)
        except Exception as e:  # noqa: BLE001 -- the other model and the table still come
            first = (str(e).splitlines() or [""])[0]
            failed.append(f"{name}: {type(e).__name__}: {first}"[:300])
            print(f"== {name} failed: {failed[-1]}", flush=True)
            gc.collect()
            torch.cuda.empty_cache()
        r = results["models"].get(name, {})
        failed += [f"{name} {fmt}: check failed" for fmt, c in r.get("checks", {}).items()
                   if not c["ok"]]
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)
    results["failed"] = failed
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1)
    print("\n" + max_batch_note(a) + (f"\nFAILED: {'; '.join(failed)}" if failed else ""))
    print(table(results, a), flush=True)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
