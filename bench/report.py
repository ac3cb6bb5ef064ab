"""Turns benchmark JSON into the performance page and its plots (no GPU needed).

    python3 bench/report.py --layer L1.json [L2.json ...] --kernel K.json \
        [--h200 H1.json ...] --date 2026-11-24 --command "bash bench/run.sh OUT" \
        --out docs/Performance.md

Layer JSON comes from bench/bench.py (one file per run; runs split by model
are merged), kernel JSON from bench/kernel_bench.py, H200 JSON from
bench/h200.py (one file per model, merged). Writes the markdown page (tables
of ratios against every baseline, bandwidth and TFLOP/s fractions, the targets
of the performance issue) and, with layer JSON, two PNG plots beside it. With
--h200 alone the page holds the H200 section only.
"""
import argparse
import json
import os

from model_specs import PATHS

TARGETS = "T ≤ 256: 1:2+2:4 ≥ 2.5× grouped, 2:4 ≥ 1.6×; T = 16: ≥ 0.80 of copy bandwidth; " \
          "T = 4096: 1:2+2:4 ≥ 2× grouped"
FORMAT_NAMES = {"11v128": "2:4", "12v128": "1:2+2:4 V=128", "12v32": "1:2+2:4 V=32"}
# The H200's sparse wgmma rate, TFLOP/s dense-equivalent (m64n256k32 bf16, 2:4; measured in
# ../shared/anchors/H200.md): the ceiling the expert-matmul section's fractions are of.
SPARSE_WGMMA_TFLOPS = 1538.0
MODEL_NAMES = {"mixtral": "Mixtral-8x7B", "qwen2_moe": "Qwen2-MoE-57B",
               "deepseek_v2l": "DeepSeek-V2-Lite", "olmoe": "OLMoE-1B-7B",
               "deepseek_v2": "DeepSeek-V2", "qwen3_235b": "Qwen3-235B-A22B"}


def load_layers(paths):
    head, rows = None, []
    for p in paths:
        with open(p) as f:
            r = json.load(f)
        head = head or {k: v for k, v in r.items() if k != "rows"}
        rows += r["rows"]
    return head, rows


def grid(heading, corner, models, tokens, label, cell):
    """`heading`, then a markdown table with a row per model (label(m)) and a column per T
    (cell(m, t))."""
    return [heading, f"| {corner} | " + " | ".join(f"T={t}" for t in tokens) + " |",
            "|---|" + "---|" * len(tokens)] + [
        f"| {label(m)} | " + " | ".join(cell(m, t) for t in tokens) + " |" for m in models]


def layer_tables(rows):
    out = []
    models = list(dict.fromkeys(r["model"] for r in rows))
    tokens = sorted({r["T"] for r in rows})
    for fmt in dict.fromkeys(r["format"] for r in rows):
        def cell(m, t, fmt=fmt):
            r = next((r for r in rows if r["model"] == m and r["format"] == fmt
                      and r["T"] == t), None)
            if r is None:
                return "–"
            sp = "/".join(f"{r[k]:.2f}" for k in ("speedup_vs_grouped", "speedup_vs_loop",
                                                  "speedup_vs_cslt_loop") if k in r)
            return f"{r['ours_ms']:.3f} ({sp}) {r['bw_fraction']:.2f}"

        out += grid(f"\n**{FORMAT_NAMES.get(fmt, fmt)}** — our layer in ms; in parentheses "
                    "speedup over grouped / loop / cuSPARSELt loop; then fraction of copy "
                    "bandwidth\n", "model", models, tokens, str, cell)
    return out


def sparse_ceiling_fraction(r):
    """The fraction of the sparse wgmma ceiling an expert-matmul row reached: its dense-equivalent
    TFLOP/s over the rows it multiplies (the kept n of every m rows of an NMvV format)."""
    fmt = r["format"]
    kept = int(fmt[0]) / int(fmt[1]) if len(fmt) > 2 and fmt[:2].isdigit() else 1.0
    return r["tflops"] * kept / SPARSE_WGMMA_TFLOPS


def kernel_tables(k, variant=None):
    """Per bundle and n: µs and the ratios to cuSPARSELt and cuBLAS, and the fraction of the
    sparse wgmma ceiling at the largest n. With `variant`, only that variant's rows (a
    kernel_bench.py --variants run)."""
    rows = [r for r in k["rows"] if variant is None or r.get("variant") == variant]
    out = []
    tokens = sorted({r["n"] for r in rows})
    out.append("| shape | format | " + " | ".join(f"n={t}" for t in tokens)
               + f" | sparse ceiling at n={tokens[-1]} |")
    out.append("|---|---|" + "---|" * (len(tokens) + 1))
    for name in dict.fromkeys(r["bundle"] for r in rows):
        rs = {r["n"]: r for r in rows if r["bundle"] == name}
        r0 = next(iter(rs.values()))
        cells = [f"{rs[t]['ours_us']:.0f} µs ({rs[t]['speedup_vs_cslt']:.2f}× cuSPARSELt, "
                 f"{rs[t]['speedup_vs_cublas']:.2f}× cuBLAS)" if t in rs else "–" for t in tokens]
        last = f"{sparse_ceiling_fraction(rs[tokens[-1]]):.2f}" if tokens[-1] in rs else "–"
        out.append(f"| {r0['shape']} {r0['rows']}×{r0['cols']} | "
                   f"{FORMAT_NAMES.get(r0['format'], r0['format'])} | " + " | ".join(cells)
                   + f" | {last} |")
    return out


def kernel_section(k, variant=None, note=""):
    """The expert-matmul section of a page: its run's ceilings, the method and the tables."""
    return ["## Expert matmul (one expert, n tokens)", "",
            f"Measured on {k['device']} (copy {k['copy_gbps']:.0f} GB/s, cuBLAS bf16 "
            f"{k['cublas_tflops']:.0f} TFLOP/s in the same run). Ours against cuBLAS dense bf16 "
            "and cuSPARSELt 2:4 (cached, searched plan), same rows × cols × n, x gathered "
            "through the token list, cold L2, CUDA events around eager launches behind a ~0.5 ms GPU "
            "spin (device time; not CUDA-graph replay, unlike the layer tables). The last column: dense-equivalent "
            "TFLOP/s over the rows multiplied (the kept half for 1:2+2:4) ÷ the sparse wgmma "
            f"ceiling ({SPARSE_WGMMA_TFLOPS:.0f} TFLOP/s). Targets: 2:4 ≥ 1.5× cuSPARSELt at "
            "n ≤ 256 and ≥ 1.0× at n ≥ 1024; 1:2+2:4 ≥ 2× at every n."
            + (" " + note if note else ""), ""] + kernel_tables(k, variant)


def h200_section(head, rows):
    """The H200 section: per format, vLLM-design / ours with the ratios of both baselines to
    ours; ours' and the vLLM-design's fraction of copy bandwidth at T = 16 and 64; the checks;
    the vLLM-design configurations."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    tokens = sorted({r["T"] for r in rows})
    fmts = list(dict.fromkeys(r["format"] for r in rows if r["path"] == "ours"))
    by = {(r["model"], r["T"], r["path"], r["format"]): r for r in rows}

    def title(m):
        r = next(r for r in rows if r["model"] == m)
        return f"{MODEL_NAMES.get(m, m)} ({r['H']}, {r['I']}, {r['E']}, {r['k']})"

    def ms(r):
        return None if r is None or r.get("ms") is None else r["ms"]

    def mark(*rs):
        return " ✗" if any(r is not None and r.get("ok") is False for r in rs) else ""

    device = head.get("device", "H200").removeprefix("NVIDIA ")
    out = [f"## {device}: the layer against what serving engines run", "",
           "One process per model; for every T each path is replayed from a CUDA graph captured "
           "after an eager call at that T (decode as serving engines run it), on the same router "
           "and hidden states, the paths interleaved rep by rep; cold L2 and CUDA events as above, "
           f"median of {head.get('reps', '?')}. **ours**: the compiled layer, routing included. "
           "**vLLM-design**: a dense bf16 fused MoE in vLLM's design "
           "(bench/baselines/fused_moe_triton.py: moe_align_block_size, the Triton fused_moe "
           "GEMMs, silu_and_mul, the sum over top_k) with vLLM's tuned configuration for the "
           "device where vLLM ships one and its default otherwise; **routing (softmax + top-k) is not in its "
           "time**. **grouped**: `torch._grouped_mm` on dense bf16, routing included. "
           + ("Ours runs random packed weights (a valid packing: random values, metadata and "
              "kept rows), the dense paths random dense weights; speed does not depend on the "
              "values." if head.get("weights") == "random" else
              "Ours runs the pruned dense weights of the baselines.")
           + f" Triton {head.get('triton', '?')}.", ""]
    for fmt in fmts:
        def cell(m, t, fmt=fmt):
            o, v, g = (by.get((m, t, p, f)) for p, f in (("ours", fmt), ("vllm", "dense"),
                                                         ("grouped", "dense")))
            if ms(o) is None:
                return "–" + mark(o)
            ratios = "; ".join("–" if ms(b) is None else f"{ms(b) / ms(o):.2f}" for b in (v, g))
            vtxt = "–" if ms(v) is None else f"{ms(v):.3f}"
            return f"{vtxt} / {ms(o):.3f} ({ratios})" + mark(o, v, g)

        out += grid(f"**{FORMAT_NAMES.get(fmt, fmt)}** — vLLM-design ms / ours ms (vLLM-design "
                    "÷ ours; grouped ÷ ours); ✗: a failed check\n", "model (H, I, E, k)",
                    models, tokens, title, cell) + [""]
    bw_t = [t for t in (16, 64) if t in tokens]
    cols = [(FORMAT_NAMES.get(f, f), "ours", f) for f in fmts] + [("vLLM-design", "vllm", "dense")]
    out.append("Fraction of copy bandwidth (bytes of the experts the tokens reach and the "
               "activations ÷ time ÷ copy bandwidth; ours: packed bytes, vLLM-design: dense)\n")
    out.append("| model | " + " | ".join(f"{c[0]} T={t}" for c in cols for t in bw_t) + " |")
    out.append("|---|" + "---|" * (len(cols) * len(bw_t)))
    for m in models:
        cells = [f"{by[m, t, p, f]['bw_fraction']:.2f}" if "bw_fraction" in by.get((m, t, p, f), {})
                 else "–" for _, p, f in cols for t in bw_t]
        out.append(f"| {MODEL_NAMES.get(m, m)} | " + " | ".join(cells) + " |")
    out.append("")
    for p, what in (("ours", "ours against grouped on the pruned weights"),
                    ("vllm", "vLLM-design against grouped on the dense weights")):
        errs = [r["relerr"] for r in rows if r["path"] == p and "relerr" in r]
        if errs:
            out.append(f"* Largest relative error, {what}: {max(errs):.1e}.")
    bad = [f"{r['model']} T={r['T']} {r['path']} {r['format']}" for r in rows
           if r.get("ok") is False]
    out.append("* Failed checks: " + (", ".join(bad) if bad else "none") + ".")
    eager = [f"{r['model']} T={r['T']} {r['path']}" for r in rows
             if not r.get("graph") and r.get("ms") is not None]
    out.append("* Timed eagerly (CUDA graph capture failed): " + (", ".join(eager) if eager
                                                                  else "none") + ".")
    out += ["", "vLLM-design configurations (BLOCK_SIZE_M·N·K, GROUP_SIZE_M, warps, stages; "
            "Triton's defaults where vLLM sets none)\n",
            "| model | " + " | ".join(f"T={t}" for t in tokens) + " | source |",
            "|---|" + "---|" * (len(tokens) + 1)]
    for m in models:
        vs = [by.get((m, t, "vllm", "dense"), {}) for t in tokens]
        cells = ["–" if "config" not in v else
                 "{BLOCK_SIZE_M}·{BLOCK_SIZE_N}·{BLOCK_SIZE_K} g{GROUP_SIZE_M}".format(
                     **v["config"]) + "".join(f" {c[4:5]}{v['config'][c]}"
                                              for c in ("num_warps", "num_stages")
                                              if c in v["config"]) for v in vs]
        srcs = sorted({v["config_source"].split(" [")[0] for v in vs if "config_source" in v})
        out.append(f"| {MODEL_NAMES.get(m, m)} | " + " | ".join(cells) + f" | {'; '.join(srcs)} |")
    return out + [""]


def plots(rows, k, base):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(2, len(models), figsize=(4.6 * len(models), 7), squeeze=False)
    for j, m in enumerate(models):
        for fmt in dict.fromkeys(r["format"] for r in rows):
            rs = sorted((r for r in rows if r["model"] == m and r["format"] == fmt),
                        key=lambda r: r["T"])
            if not rs:
                continue
            lab = FORMAT_NAMES.get(fmt, fmt)
            axes[0][j].plot([r["T"] for r in rs], [r["speedup_vs_grouped"] for r in rs],
                            marker="o", label=lab)
            axes[1][j].plot([r["T"] for r in rs], [r["bw_fraction"] for r in rs], marker="o",
                            label=lab)
        for i, (yl, lines) in enumerate((("speedup over torch._grouped_mm", (1, 1.6, 2.5)),
                                         ("fraction of copy bandwidth", (0.8,)))):
            ax = axes[i][j]
            for y in lines:
                ax.axhline(y, color="gray", lw=0.7, ls="--")
            ax.set_xscale("log", base=2)
            ax.set_xlabel("tokens T")
            ax.set_ylabel(yl)
            ax.set_title(m)
        axes[0][j].legend(fontsize=8)
    fig.suptitle("Samoyeds MoE layer (cold L2, CUDA events, median): speedup and bandwidth")
    fig.tight_layout()
    layer_png = base + "-layer.png"
    fig.savefig(layer_png, dpi=110, bbox_inches="tight")
    kernel_png = None
    if k:
        shapes = list(dict.fromkeys(r["shape"] for r in k["rows"]))
        cols = 4
        nr = (len(shapes) + cols - 1) // cols
        fig, axes = plt.subplots(nr, cols, figsize=(4.6 * cols, 3.4 * nr), squeeze=False)
        for ax, s in zip(axes.flat, shapes):
            for fmt in dict.fromkeys(r["format"] for r in k["rows"] if r["shape"] == s):
                rs = [r for r in k["rows"] if r["shape"] == s and r["format"] == fmt]
                ax.plot([r["n"] for r in rs], [r["speedup_vs_cslt"] for r in rs], marker="o",
                        label=FORMAT_NAMES.get(fmt, fmt))
            ax.axhline(1, color="gray", lw=0.7)
            ax.axhline(1.6, color="gray", lw=0.7, ls="--")
            ax.axhline(2, color="gray", lw=0.7, ls=":")
            ax.set_xscale("log", base=2)
            ax.set_title(s)
            ax.set_xlabel("tokens n")
            ax.set_ylabel("speedup over cuSPARSELt 2:4")
            ax.legend(fontsize=8)
        fig.suptitle("Expert matmul vs cuSPARSELt 2:4 (cached searched plan), cold L2")
        fig.tight_layout()
        kernel_png = base + "-kernels.png"
        fig.savefig(kernel_png, dpi=110, bbox_inches="tight")
    return layer_png, kernel_png


def model_section(res, command, note=""):
    """The model-level section from bench/model_bench.py's JSON: decode tokens/s per batch,
    prefill ms and the largest batch per path, Samoyeds' ratios to (b), and the checks."""
    lines = ["## Model level: transformers models with random weights", "",
             f"Measured {res['date']} on {res['device']} (torch {res['torch']}, transformers "
             f"{res['transformers']}):", "", f"    {command}", "",
             "Decode tokens/s under CUDA-graph replay (* eager: not capturable), prefill ms, and "
             "the largest batch a memory budget holds; (x) is the ratio to (b). " + res["note"]
             + (" " + note if note else ""), ""]
    for r in res["models"].values():
        batches = sorted({int(B) for p in r["paths"].values() for B in p.get("decode", {})})
        budget = f"; budget {r['budget_bytes'] / 2**30:.0f} GiB" if "budget_bytes" in r else ""
        lines += [f"**{r['title']}** ({r['layers']} layers, {r['moe_layers']} MoE{budget})", "",
                  "| path | " + " | ".join(f"B={B}" for B in batches)
                  + " | prefill ms | max batch | check |",
                  "|---" * (len(batches) + 4) + "|"]
        base = r["paths"].get("hf_grouped", {})
        for key, label in PATHS.items():
            p = r["paths"].get(key, {})
            cells = []
            for B in batches:
                d, d0 = p.get("decode", {}).get(str(B), {}), base.get("decode", {}).get(str(B), {})
                cell = f"{d['tok_s']:.0f}{'' if d['graph'] else '*'}" if "ms" in d else "–"
                if "ms" in d and "ms" in d0 and key.startswith("samoyeds"):
                    cell += f" ({d0['ms'] / d['ms']:.2f}x)"
                cells.append(cell)
            pre, pre0 = p.get("prefill") or {}, base.get("prefill") or {}
            cell = f"{pre['ms']:.1f}{'' if pre['graph'] else '*'}" if "ms" in pre else "–"
            if "ms" in pre and "ms" in pre0 and key.startswith("samoyeds"):
                cell += f" ({pre0['ms'] / pre['ms']:.2f}x)"
            cells.append(cell)
            mb, mb0 = p.get("memory", {}).get("max_batch"), base.get("memory", {}).get("max_batch")
            cell = "–" if mb is None else str(mb)
            if mb is not None and key.startswith("samoyeds"):
                cell += f" ({mb / mb0:.2f}x)" if mb0 else " (dense: 0)"
            cells.append(cell)
            c = r["checks"].get(key.split("_")[-1]) if key.startswith("samoyeds") else None
            cells.append(f"blocks {max(c['blocks'].values()):.1e}, top-1 {c['top1']:.3f}, rel "
                         f"{c['relerr']:.1e} {'ok' if c['ok'] else 'FAILED'}" if c else "")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        fl = r.get("floor")
        if fl:
            lines += ["", f"bf16 floor, (a) against (b): top-1 {fl['top1']:.3f}, rel "
                      f"{fl['relerr']:.1e}."]
        lines.append("")
    if res.get("failed"):
        lines += ["Not measured: " + "; ".join(res["failed"]) + ".", ""]
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--layer", nargs="+", default=None)
    ap.add_argument("--kernel", default=None)
    ap.add_argument("--h200", nargs="+", default=None, help="bench/h200.py JSON")
    ap.add_argument("--model", default=None, help="bench/model_bench.py JSON (with --h200)")
    ap.add_argument("--model-command", default="bash bench/run-model-bench.sh OUT_DIR")
    ap.add_argument("--model-note", default="", help="a sentence on how the model run differs")
    ap.add_argument("--date", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--note", default="", help="a sentence on where the rows come from")
    ap.add_argument("--kernel-variant", default=None,
                    help="the variant of a kernel_bench.py --variants JSON to render")
    ap.add_argument("--kernel-note", default="", help="a sentence on the kernel run")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    if not a.layer and not a.h200:
        ap.error("give --layer, --h200 or both")
    head, rows = load_layers(a.layer) if a.layer else (None, [])
    h200_head, h200_rows = load_layers(a.h200) if a.h200 else (None, [])
    head = head or h200_head
    lines = [
        "# Performance (generated by bench/report.py; do not edit by hand)", "",
        f"Measured {a.date} on {head['device']} (torch {head['torch']}): copy bandwidth "
        f"{head['copy_gbps']:.0f} GB/s (read + write), cuBLAS bf16 {head['cublas_tflops']:.0f} "
        "TFLOP/s (8192³), both measured in the same run.", "",
        f"    {a.command}", ""]
    if a.note:
        lines += [a.note, ""]
    if not rows:
        lines += ["Every time is the median of CUDA-event-timed runs, each after a 256 MB write "
                  "that evicts L2 and a ~0.5 ms GPU spin: device time.", ""]
        lines += h200_section(h200_head, h200_rows)
        if a.kernel:
            with open(a.kernel) as f:
                lines += [""] + kernel_section(json.load(f), a.kernel_variant, a.kernel_note)
        if a.model:
            with open(a.model) as f:
                lines += [""] + model_section(json.load(f), a.model_command, a.model_note)
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")
        print("wrote", a.out)
        return
    k = None
    if a.kernel:
        with open(a.kernel) as f:
            k = json.load(f)
    base = os.path.splitext(a.out)[0]
    layer_png, kernel_png = plots(rows, k, base)
    lines += [
        "Every time is the median of CUDA-event-timed runs, each after a 256 MB write that "
        "evicts L2 (a layer reads each expert's weights once) and a ~0.5 ms GPU spin, so that "
        "the host has enqueued the whole call before the start event: device time, for ours "
        "and every baseline alike (a path whose host work outlasts the spin, such as the "
        "per-expert loop, still shows it). Baselines on the same weights, "
        "router and hidden states: `torch._grouped_mm` (grouped), the per-expert dense loop "
        "(loop), and the GEMMs alone of a per-expert cuSPARSELt 2:4 loop with cached, searched "
        "plans (cuSPARSELt loop; a lower bound for such a layer). Bandwidth fraction = packed "
        "bytes of the experts the tokens reach and the activations ÷ time ÷ measured copy "
        "bandwidth. Targets: "
        + TARGETS + ". Analysis of each miss: bench/RESULTS.md.", "",
        "## Whole layer", ""] + layer_tables(rows) + [
        "", f"![layer]({os.path.basename(layer_png)})", ""]
    if h200_rows:
        lines += h200_section(h200_head, h200_rows)
    if k:
        lines += kernel_section(k, a.kernel_variant, a.kernel_note) + [
            "", f"![kernels]({os.path.basename(kernel_png)})", ""]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", a.out, layer_png, kernel_png or "")


if __name__ == "__main__":
    main()
