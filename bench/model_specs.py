"""The models of the model-level benchmark (bench/model_bench.py) and their bundles.

Torch-free, so that the bundles can be compiled on a machine with MLIR (the GPU machine has
none):

    python3 bench/model_specs.py OUT_DIR [--samoyeds-opt PATH]     (bench/prepare-model.sh)

writes, for every model and format, OUT_DIR/<model>_<format>/ (the experts-only layer of the
model's shape, samoyeds.compile.layer_mlir, compiled by samoyeds-opt for sm_90a with the
automatic strategy, as samoyeds-compile does), its MLIR beside it and OUT_DIR/index.json.
:func:`check_bundles` checks them against the models before any GPU work.

Shapes are those of the published configurations: Qwen3-30B-A3B (48 layers, all MoE) and
DeepSeek-V3 (61 layers, the first 3 dense). The benchmark builds as many layers as fit one
GPU (model_bench.py says how many and why) and extrapolates the memory figures to these.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

FORMATS = {"11v128": (1, 1, 128), "12v128": (1, 2, 128)}
FORMAT_NAMES = {"11v128": "2:4", "12v128": "1:2+2:4"}
CHIP = "sm_90a"
# The paths a model runs, with their labels in tables (bench/model_bench.py, bench/report.py).
PATHS = {"hf_eager": "(a) transformers eager", "hf_grouped": "(b) transformers grouped_mm",
         "samoyeds_11v128": "(c) Samoyeds 2:4", "samoyeds_12v128": "(c) Samoyeds 1:2+2:4"}

MODELS = {
    "qwen3_30b_a3b": dict(
        title="Qwen3-30B-A3B", real_layers=48, real_dense_layers=0, budget_gpus=1,
        config=dict(model_type="qwen3_moe", hidden_size=2048, intermediate_size=6144,
                    moe_intermediate_size=768, num_experts=128, num_experts_per_tok=8,
                    norm_topk_prob=True, num_attention_heads=32, num_key_value_heads=4,
                    head_dim=128, vocab_size=151936, max_position_embeddings=40960,
                    rms_norm_eps=1e-6, tie_word_embeddings=False, decoder_sparse_step=1,
                    mlp_only_layers=[],
                    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    "deepseek_v3": dict(
        title="DeepSeek-V3 architecture", real_layers=61, real_dense_layers=3, budget_gpus=8,
        # One dense layer in the benchmarked model (the published model has 3): the dense
        # path is exercised, and the memory figures count the 3.
        config=dict(model_type="deepseek_v3", hidden_size=7168, intermediate_size=18432,
                    moe_intermediate_size=2048, n_routed_experts=256, n_shared_experts=1,
                    num_experts_per_tok=8, n_group=8, topk_group=4, topk_method="noaux_tc",
                    norm_topk_prob=True, routed_scaling_factor=2.5, num_attention_heads=128,
                    num_key_value_heads=128, q_lora_rank=1536, kv_lora_rank=512,
                    qk_rope_head_dim=64, qk_nope_head_dim=128, v_head_dim=128,
                    vocab_size=129280, first_k_dense_replace=1, max_position_embeddings=4096,
                    rms_norm_eps=1e-6, tie_word_embeddings=False, rope_interleave=True,
                    rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
}


def shape(name):
    """(experts E, hidden H, intermediate I, top-k k) of a model's MoE layers."""
    c = MODELS[name]["config"]
    E = c.get("num_experts") or c["n_routed_experts"]
    return E, c["hidden_size"], c["moe_intermediate_size"], c["num_experts_per_tok"]


def bundle_name(model, fmt):
    return f"{model}_{fmt}"


def prepare(out_dir, opt=None, log=sys.stdout, commit="unknown"):
    """Compiles every (model, format) bundle into ``out_dir`` (built beside it, renamed at
    the end; an existing ``out_dir`` is replaced only if it holds our index.json)."""
    from samoyeds.compile import _run_opt, find_samoyeds_opt, layer_mlir

    out = Path(out_dir)
    if out.exists() and not (out / "index.json").is_file() and any(out.iterdir()):
        sys.exit(f"{out} exists and is not a model-bundle directory (no index.json); "
                 f"refusing to overwrite it")
    opt = find_samoyeds_opt(opt)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=str(out.parent)))
    try:
        for model, fmt in ((mo, f) for mo in MODELS for f in FORMATS):
            name, t0 = bundle_name(model, fmt), time.time()
            (tmp / f"{name}.mlir").write_text(layer_mlir(*shape(model), *FORMATS[fmt]))
            _run_opt(opt, tmp / f"{name}.mlir", tmp / name, CHIP, "auto")
            print(f"{name}: {shape(model)} {FORMAT_NAMES[fmt]} in {time.time() - t0:.1f} s",
                  file=log, flush=True)
        (tmp / "index.json").write_text(json.dumps(dict(
            models={k: shape(k) for k in MODELS}, formats=FORMATS, chip=CHIP,
            samoyeds_opt=str(opt), commit=commit, created=time.strftime("%Y-%m-%d %H:%M:%S")),
            indent=1) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.rename(tmp, out)
    finally:  # after the rename there is nothing left; after a failure, the partial tree
        shutil.rmtree(tmp, ignore_errors=True)


def _identity(path):
    """(kind, chip, (E, H, I, k), (n, m, v)) of the bundle at ``path``."""
    from samoyeds.layer import LayerBundle

    b = LayerBundle(path)
    try:
        w = b.weights["w13"]
        return (b.kind, b.chip, (b.experts, b.hidden, b.intermediate, b.top_k),
                (w["n"], w["m"], w["v"]))
    finally:
        b.close()


def check_bundles(bundles, models, formats):
    """{(model, format): bundle dir}; exits naming every bundle that is missing or is not
    the experts-only layer of the model's shape and format for sm_90a."""
    found = {(mo, f): Path(bundles) / bundle_name(mo, f) for mo in models for f in formats}
    problems = [f"no bundle {p} (bash bench/prepare-model.sh)" for p in found.values()
                if not (p / "manifest.json").is_file()]
    if not problems:
        for (model, fmt), path in found.items():
            want = ("moe_experts", CHIP, shape(model), FORMATS[fmt])
            have = _identity(path)
            if have != want:
                problems.append(f"{path}: (kind, chip, (E, H, I, k), n:m:v) = {have}, the "
                                f"model needs {want}")
    if problems:
        sys.exit("bundles:\n  " + "\n  ".join(problems))
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description="Compile the model benchmark's bundles.")
    ap.add_argument("out_dir")
    ap.add_argument("--samoyeds-opt", help="default: $SAMOYEDS_OPT, PATH, build/bin")
    ap.add_argument("--commit", default="unknown", help="recorded in index.json")
    a = ap.parse_args(argv)
    prepare(a.out_dir, a.samoyeds_opt, commit=a.commit)
    check_bundles(a.out_dir, MODELS, FORMATS)
    size = sum(p.stat().st_size for p in Path(a.out_dir).rglob("*") if p.is_file())
    print(f"bundles in {a.out_dir} ({size / 2**20:.1f} MiB), checked")


if __name__ == "__main__":
    main()
