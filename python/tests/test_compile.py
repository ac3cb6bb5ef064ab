"""samoyeds-compile on small generated checkpoints of the six architectures: the model
directory (bundles, packed weights, manifest), atomicity, and the errors for bad input.
The compiling tests need samoyeds-opt from the build (skipped, with the reason, without
it) and the runtime library (packing)."""

import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from conftest import LIB_MISSING, requires_runtime
from helpers import (BIASED, DEEPSEEK, _write, find_samoyeds_opt, hf_config, make_hf_checkpoint,
                     router_name)

from samoyeds import compile as sc
from samoyeds.compile import CompileError, compile_model, main
from samoyeds.serving import _bundle_mismatches, check_chip, read_model

ROOT = Path(__file__).resolve().parents[2]
ARCHS = ("mixtral", "qwen2_moe", "qwen3_moe", "qwen3_next", "olmoe", "deepseek_v2",
         "deepseek_v3", "glm4_moe", "kimi_k2", "granitemoe", "granitemoeshared",
         "granitemoehybrid", "minimax_m2", "ernie4_5_moe", "gpt_oss")
# Small but legal for every layout: kept rows % 64 and K % 128 with 1:2:128.
E, H, I, K = 4, 128, 128, 2


OPT = find_samoyeds_opt()
requires_opt = pytest.mark.skipif(
    OPT is None or LIB_MISSING is not None,
    reason=f"needs samoyeds-opt (build/bin/samoyeds-opt or $SAMOYEDS_OPT: "
           f"{'found' if OPT else 'absent'}) and the runtime library "
           f"({LIB_MISSING or 'found'}); run scripts/build.sh")


def _compile(ckpt, out, **kw):
    kw.setdefault("samoyeds_opt", OPT)
    kw.setdefault("progress", False)
    kw.setdefault("log", open(os.devnull, "w"))
    return compile_model(ckpt, out, **kw)


@requires_opt
@pytest.mark.parametrize("arch", ARCHS)
def test_compiles_every_architecture(tmp_path, arch, capsys):
    ckpt = tmp_path / "ckpt"
    config, _ = make_hf_checkpoint(ckpt, arch, layers=2, E=E, H=H, I=I, k=K,
                                   shards=3 if arch in ("qwen3_moe", "deepseek_v3") else 1)
    out = tmp_path / "model"
    assert main([str(ckpt), str(out), "--layout", "mma_sp", "--samoyeds-opt", OPT,
                 "--quiet"]) == 0
    table = capsys.readouterr().out
    assert f"({arch})" in table and "MiB before" in table and "total" in table

    m = json.loads((out / "samoyeds-model.json").read_text())
    assert m["format"] == "samoyeds-model" and m["architecture"] == arch
    assert m["chip"] == "sm_90a" and m["sparsity"]["format"] == "1:2:128"
    deepseek = arch in DEEPSEEK
    assert [e["index"] for e in m["layers"]] == ([1, 2] if deepseek else [0, 1])
    assert m["dense_layers"] == ([0] if deepseek else [])
    assert len(m["bundles"]) == 1  # one shape for every layer
    key = f"e{E}_h{H}_i{I}_k{K}"
    assert all(e["bundle"] == key and e["prefix"] == f"layers.{e['index']}."
               for e in m["layers"])
    assert 0 < m["bytes_after"] < m["bytes_before"]
    # The default --routing torch writes what it always wrote: no routing_mode, no kind.
    assert "routing_mode" not in m and "kind" not in m["bundles"][key]
    assert m["routing"]["model_type"] == arch and m["routing"]["top_k"] == K
    assert m["routing"]["selection_bias"] == (arch in BIASED)
    if arch in BIASED:
        assert any(p.endswith("e_score_correction_bias") for p in m["passthrough"])

    # The bundle is an experts-only layer: routing inputs, no "routing" entry.
    bundle = json.loads((out / "bundles" / key / "manifest.json").read_text())
    assert "routing" not in bundle
    names = {b["name"]: b for b in bundle["buffers"]}
    assert names["topk_ids"]["shape"] == ["T", K] and names["topk_ids"]["dtype"] == "i32"
    assert names["topk_weights"]["dtype"] == "f32" and "router" not in names
    assert not any("route" in launch["kernel"] for launch in bundle["launches"])
    assert "samoyeds.moe_experts" in (out / "mlir" / f"{key}.mlir").read_text()
    gpt_oss = arch == "gpt_oss"
    # gpt-oss: its experts' biases are inputs of the bundle, its activation in both
    # manifests; the others' have neither.
    assert (names.get("w13_bias", {}).get("shape"), names.get("w2_bias", {}).get("shape")) == (
        ([E, 2 * I], [E, H]) if gpt_oss else (None, None))
    act = {"kind": "clamped_swiglu", "alpha": 1.702, "limit": 7.0}
    assert bundle.get("activation") == (act if gpt_oss else None)
    assert m.get("activation") == (act if gpt_oss else None)
    assert m["routing"].get("router_bias", False) is gpt_oss
    assert ("bias(%b13, %b2)" in (out / "mlir" / f"{key}.mlir").read_text()) is gpt_oss

    # Every layer's packed weights fit its bundle; the model directory reads back.
    from samoyeds.layer import LayerBundle

    b = LayerBundle(out / "bundles" / key)
    try:
        assert (b.kind, b.experts, b.hidden, b.intermediate, b.top_k) == (
            "moe_experts", E, H, I, K)
        assert b.renormalize is None and "routing external" in b.describe()
        assert b.bias_inputs == (("w13_bias", "w2_bias") if gpt_oss else ())
        assert b.activation == (act if gpt_oss else {"kind": "silu"})
        for e in m["layers"]:
            b.check_weights(out / "weights.safetensors", e["prefix"])
        assert _bundle_mismatches(b, read_model(out)) == []  # what samoyeds.load checks
    finally:
        b.close()
    md = read_model(out)
    assert md.routing.model_type == arch and set(md.layers()) == {e["index"]
                                                                  for e in m["layers"]}
    assert not list(tmp_path.glob("model.tmp-*")) and not list(tmp_path.glob("model.old-*"))


# --routing compiled: config.json overrides, and the bundle's renormalize,
# routed_scaling_factor and router bias.
COMPILED_ROUTING = {"mixtral": ({}, True, 1.0, False),
                    "qwen2_moe": ({}, False, 1.0, False),
                    "deepseek_v2": ({"topk_method": "greedy"}, False, 2.0, False),
                    "gpt_oss": ({}, True, 1.0, True)}


@requires_opt
@pytest.mark.parametrize("arch", COMPILED_ROUTING)
def test_compiles_with_compiled_routing(tmp_path, arch, capsys):
    """--routing compiled: each layer shape's bundle is a whole layer (moe_ffn) with the
    checkpoint's routing (Mixtral's renormalisation, greedy DeepSeek-V2's scaling factor,
    gpt-oss's router bias) under a key of its own, the manifest says routing_mode compiled,
    and the weight file holds the routers (and router biases) the layers load."""
    from samoyeds.layer import LayerBundle
    from samoyeds.safetensors_io import SafetensorsFile

    config, renormalize, scale, router_bias = COMPILED_ROUTING[arch]
    ckpt = tmp_path / "ckpt"
    _, t = make_hf_checkpoint(ckpt, arch, layers=2, E=E, H=H, I=I, k=K, config=config)
    out = tmp_path / "model"
    assert main([str(ckpt), str(out), "--layout", "mma_sp", "--routing", "compiled",
                 "--samoyeds-opt", OPT, "--quiet"]) == 0
    assert "compiled into each layer (moe_ffn bundles, --routing compiled)" in \
        capsys.readouterr().out
    m = json.loads((out / "samoyeds-model.json").read_text())
    key = f"moe_ffn_e{E}_h{H}_i{I}_k{K}"
    assert m["routing_mode"] == "compiled"
    assert m["bundles"] == {key: {
        "dir": f"bundles/{key}", "mlir": f"mlir/{key}.mlir", "experts": E, "hidden": H,
        "intermediate": I, "top_k": K, "layout": "mma_sp", "kind": "moe_ffn",
        "renormalize": renormalize, "routed_scaling_factor": scale, "router_bias": router_bias}}
    assert all(e["bundle"] == key for e in m["layers"])
    bundle = json.loads((out / "bundles" / key / "manifest.json").read_text())
    assert bundle["routing"] == {"experts": E, "top_k": K, "renormalize": renormalize,
                                 "routed_scaling_factor": scale}
    names = {b["name"]: b for b in bundle["buffers"]}
    assert names["router"]["shape"] == [E, H] and "topk_ids" not in names
    assert names.get("router_bias", {}).get("shape") == ([E] if router_bias else None)
    text = (out / "mlir" / f"{key}.mlir").read_text()
    assert "samoyeds.moe_ffn %x, %router, %w13, %w2" in text
    assert ("routed_scaling_factor = 2.0 : f64" in text) is (scale != 1.0)
    b = LayerBundle(out / "bundles" / key)
    try:
        assert (b.kind, b.top_k, b.renormalize, b.routed_scaling_factor, b.router_bias_dtype) \
            == ("moe_ffn", K, renormalize, scale, "bf16" if router_bias else None)
        for e in m["layers"]:
            b.check_weights(out / "weights.safetensors", e["prefix"])
        md = read_model(out)
        assert md.routing_mode == "compiled" and _bundle_mismatches(b, md) == []
    finally:
        b.close()
    with SafetensorsFile(out / "weights.safetensors") as f:
        for e in m["layers"]:
            i = e["index"]
            assert np.array_equal(f.get(f"layers.{i}.router"), t[router_name(arch, i)][1])
            assert (f"layers.{i}.router_bias" in f) is router_bias


@pytest.mark.parametrize("arch,config,needs", [
    ("deepseek_v3", None, "sigmoid scores, group-limited selection (1 of 2 groups) and a "
                          "selection bias (e_score_correction_bias)"),
    ("glm4_moe", None, "sigmoid scores and a selection bias"),
    ("kimi_k2", None, "sigmoid scores and a selection bias"),
    ("deepseek_v2", None, "group-limited selection (1 of 2 groups)"),
    ("minimax_m2", None, "sigmoid scores and a selection bias"),
    ("minimax_m2", {"scoring_func": "softmax"}, "a selection bias"),
    ("ernie4_5_moe", None, "a selection bias"),
], ids=["deepseek_v3", "glm4_moe", "kimi_k2", "deepseek_v2-grouped", "minimax_m2",
        "minimax_m2-softmax", "ernie4_5_moe"])
def test_compiled_routing_refuses_what_it_cannot_express(tmp_path, arch, config, needs):
    """The conventions the compiled route cannot run are refused up front (before the
    checkpoint is read), naming the architecture and what is missing, pointing to
    --routing torch."""
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, arch, layers=1, E=E, H=H, I=I, k=K, config=config)
    with pytest.raises(CompileError, match=re.escape(f"--routing compiled: {arch}'s routing (")
                       + r".*" + re.escape(f") needs {needs}") + r".*which the compiled route "
                       r"does not have .* compile with --routing torch \(the default\)"):
        _compile(ckpt, tmp_path / "out", routing="compiled")
    assert not (tmp_path / "out").exists()


def test_routing_option_refusals(tmp_path, capsys):
    """An unknown --routing, and --routing compiled with expert parallelism (whose ranks run
    experts-only layers routed in torch), are refused before the checkpoint is read."""
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, "mixtral", layers=1, E=E, H=H, I=I, k=K)
    out = tmp_path / "out"
    with pytest.raises(CompileError, match="--routing 'fused': one of torch, compiled"):
        _compile(ckpt, out, routing="fused")
    for ep in (dict(expert_parallel=2), dict(placement=[[0, 1], [2, 3]])):
        with pytest.raises(CompileError, match=r"--routing compiled is not supported with "
                                               r"--expert-parallel \(.*\); compile with "
                                               r"--routing torch"):
            _compile(ckpt, out, routing="compiled", **ep)
    with pytest.raises(SystemExit):
        main([str(ckpt), str(out), "--routing", "fused"])
    assert "argument --routing: invalid choice: 'fused'" in capsys.readouterr().err
    assert not out.exists()


@requires_runtime
def test_dry_run_reports_the_routing_mode(tmp_path, capsys):
    """--dry-run says where the routing runs and names the bundles of that mode."""
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, "gpt_oss", layers=1, E=E, H=H, I=I, k=K)
    out = tmp_path / "out"
    assert main([str(ckpt), str(out), "--dry-run", "--routing", "compiled",
                 "--samoyeds-opt", "/nonexistent"]) == 0
    text = capsys.readouterr().out
    assert ("routing: softmax top-2 of 4, router bias, renormalised; compiled into each layer "
            "(moe_ffn bundles, --routing compiled)") in text
    assert f"bundles for sm_90a: moe_ffn_e{E}_h{H}_i{I}_k{K}" in text
    assert main([str(ckpt), str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "renormalised; in torch at load (experts-only bundles)" in text
    assert f"bundles for sm_90a: e{E}_h{H}_i{I}_k{K}" in text
    plan = _compile(ckpt, out, dry_run=True, routing="compiled")
    assert plan["routing_mode"] == "compiled" and plan["bundles"] == [
        f"moe_ffn_e{E}_h{H}_i{I}_k{K}"]
    assert not out.exists()


def _moe_ffn_route(logits, top_k, renormalize, scale):
    """moe_ffn's routing as its op description gives it, in float64: the top-k of the
    softmax of the logits, renormalised if asked, then scaled."""
    z = np.asarray(logits, np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    ids = np.argsort(-p, axis=1, kind="stable")[:, :top_k]
    w = np.take_along_axis(p, ids, axis=1)
    if renormalize:
        w = w / w.sum(axis=1, keepdims=True)
    return w * scale, ids


@pytest.mark.parametrize("arch,k,config", [
    ("mixtral", 2, {}), ("mixtral", 1, {}), ("qwen2_moe", 2, {}),
    ("qwen3_moe", 4, {}), ("olmoe", 2, {"norm_topk_prob": True}), ("qwen3_next", 2, {}),
    ("granitemoe", 2, {}), ("gpt_oss", 4, {}),
    ("deepseek_v2", 2, {"topk_method": "greedy", "routed_scaling_factor": 2.5}),
    ("deepseek_v2", 2, {"topk_method": "greedy", "norm_topk_prob": True}),
    ("deepseek_v2", 1, {"topk_method": "greedy", "norm_topk_prob": True}),
    ("deepseek_v2", 3, {"n_group": 1}),  # group_limited_greedy of one group
])
def test_compiled_routing_runs_the_convention(arch, k, config):
    """compiled_routing's renormalize and routed_scaling_factor make moe_ffn's route (softmax
    top-k, renormalised, then scaled) compute the convention's weights and ids
    (routing.route_numpy, the float64 reference), DeepSeek-V2's "renormalise, else scale"
    included; gpt-oss's router bias is the logits'."""
    from samoyeds.routing import route_numpy, routing_from_config

    spec = routing_from_config({**hf_config(arch, 1, 8, H, I, k), **config})
    route = sc.compiled_routing(spec)
    assert route["router_bias"] is (arch == "gpt_oss")
    logits = np.random.default_rng(k).standard_normal((64, 8)) * 3
    want_w, want_ids = route_numpy(logits, spec)
    w, ids = _moe_ffn_route(logits, k, route["renormalize"], route["routed_scaling_factor"])
    assert np.array_equal(ids, want_ids)
    np.testing.assert_allclose(w, want_w, rtol=1e-12)


@requires_opt
def test_default_layout_f32_checkpoint_and_layers(tmp_path):
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, "mixtral", layers=3, E=E, H=H, I=I, k=K, st_dtype="F32")
    m = _compile(ckpt, tmp_path / "out", layers=[0, 2])
    assert [e["index"] for e in m["layers"]] == [0, 2]
    assert m["layout"] in ("wgmma", "mma_sp")
    bundle = next(iter(m["bundles"].values()))
    assert bundle["layout"] == m["layout"]


@requires_opt
@pytest.mark.parametrize("arch", ["deepseek_v3", "glm4_moe"])
def test_leaves_out_layers_past_num_hidden_layers(tmp_path, arch, capsys):
    """DeepSeek-V3's and GLM-4.5's checkpoints carry a next-token-prediction layer with
    experts at index num_hidden_layers, which transformers does not load."""
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, arch, layers=3, E=E, H=H, I=I, k=K,
                       config={"num_hidden_layers": 3})  # MoE layers 1-3; 3 is past it
    out = tmp_path / "out"
    assert main([str(ckpt), str(out), "--layout", "mma_sp", "--samoyeds-opt", OPT,
                 "--quiet"]) == 0
    assert "layers past num_hidden_layers left out (next-token prediction): 3" in \
        capsys.readouterr().out
    m = json.loads((out / "samoyeds-model.json").read_text())
    assert [e["index"] for e in m["layers"]] == [1, 2]
    assert m["layers_beyond_num_hidden_layers"] == [3]
    assert not any(p.startswith("model.layers.3.") for p in m["passthrough"])
    # Named explicitly, they are compiled.
    m = _compile(ckpt, tmp_path / "all", layout="mma_sp", layers=[1, 2, 3])
    assert [e["index"] for e in m["layers"]] == [1, 2, 3]
    assert m["layers_beyond_num_hidden_layers"] == []
    # No MoE layer below num_hidden_layers: an error, no output.
    config = json.loads((ckpt / "config.json").read_text())
    (ckpt / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 1}))
    with pytest.raises(CompileError, match="no MoE layer below num_hidden_layers = 1 "
                                           r"\(layers 1-3 are past it"):
        _compile(ckpt, tmp_path / "none", layout="mma_sp")
    assert not (tmp_path / "none").exists()


@requires_opt
def test_compiles_a_checkpoint_saved_with_fused_experts(tmp_path):
    """transformers 5's layout (Mixtral: mlp.experts.gate_up_proj / down_proj, router
    mlp.gate) compiles to the same model as the per-expert checkpoint."""
    from helpers import fuse_experts

    from samoyeds.safetensors_io import SafetensorsFile, save_file

    ckpt, fused = tmp_path / "ckpt", tmp_path / "fused"
    _, t = make_hf_checkpoint(ckpt, "mixtral", layers=2, E=E, H=H, I=I, k=K)
    fused.mkdir()
    save_file(fuse_experts(t, "mixtral", E), fused / "model.safetensors")
    (fused / "config.json").write_text((ckpt / "config.json").read_text())
    ma = _compile(ckpt, tmp_path / "a", layout="mma_sp")
    mb = _compile(fused, tmp_path / "b", layout="mma_sp")
    assert [e["index"] for e in mb["layers"]] == [0, 1] and mb["bundles"] == ma["bundles"]
    with SafetensorsFile(tmp_path / "a" / "weights.safetensors") as fa, \
            SafetensorsFile(tmp_path / "b" / "weights.safetensors") as fb:
        assert sorted(fa.keys()) == sorted(fb.keys())
        for k in fa.keys():
            assert np.array_equal(fa.get(k), fb.get(k)), k


@requires_runtime
def test_dry_run_checks_and_plans_without_compiling(tmp_path, capsys):
    """--dry-run needs no samoyeds-opt, compiles, reads and writes nothing, and prints the
    layers, routing and bundle shapes a compile would have."""
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, "glm4_moe", layers=3, E=E, H=H, I=I, k=K,
                       config={"num_hidden_layers": 3})
    out = tmp_path / "out"
    assert main([str(ckpt), str(out), "--dry-run", "--samoyeds-opt", "/nonexistent"]) == 0
    text = capsys.readouterr().out
    assert "dry run: nothing compiled, read or written" in text
    assert "MoE layers: 1-2; expert weights BF16" in text
    assert f"bundles for sm_90a: e{E}_h{H}_i{I}_k{K}" in text
    assert "sigmoid top-2 of 4, selection bias, renormalised, x2" in text
    assert "layers past num_hidden_layers left out (next-token prediction): 3" in text
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    # Its checks are the compile's: a missing tensor is refused.
    (ckpt / "config.json").write_text(json.dumps({"model_type": "glm4_moe"}))
    assert main([str(ckpt), str(out), "--dry-run"]) == 1
    assert "missing 'num_experts_per_tok'" in capsys.readouterr().err


@requires_opt
def test_replaces_a_compiled_model_dir(tmp_path):
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, "olmoe", layers=1, E=E, H=H, I=I, k=K)
    out = tmp_path / "out"
    _compile(ckpt, out, layout="mma_sp")
    (out / "stale-file").write_text("old")
    _compile(ckpt, out, layout="mma_sp")
    assert not (out / "stale-file").exists()
    assert (out / "samoyeds-model.json").is_file()


@requires_opt
@pytest.mark.parametrize("where", ["samoyeds-opt", "packing"])
def test_interrupted_compile_leaves_no_out_dir(tmp_path, monkeypatch, where):
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, "qwen2_moe", layers=1, E=E, H=H, I=I, k=K)
    out = tmp_path / "out"
    if where == "samoyeds-opt":
        failing = tmp_path / "failing-opt"
        failing.write_text("#!/bin/sh\necho 'boom: cannot compile' >&2\nexit 3\n")
        failing.chmod(failing.stat().st_mode | stat.S_IEXEC)
        with pytest.raises(CompileError, match=r"samoyeds-opt failed \(3\)[\s\S]*boom"):
            _compile(ckpt, out, samoyeds_opt=str(failing))
    else:
        def interrupted(*a, **k):
            raise KeyboardInterrupt

        monkeypatch.setattr(sc, "convert", interrupted)
        with pytest.raises(KeyboardInterrupt):
            _compile(ckpt, out)
    assert not out.exists()
    assert not list(tmp_path.glob("out.tmp-*"))
    with pytest.raises(Exception, match="no such model directory"):
        read_model(out)


# Compiles with a convert (the packing step) that sends the process SIGTERM first.
SIGTERM_SCRIPT = """
import os, signal, sys
import samoyeds.compile as sc
def convert(*a, **k):
    os.kill(os.getpid(), signal.SIGTERM)
    raise AssertionError("SIGTERM did not interrupt")
sc.convert = convert
sys.exit(sc.main(sys.argv[1:]))
"""


@requires_opt
def test_sigterm_leaves_nothing(tmp_path):
    import signal
    import subprocess
    import sys

    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, "olmoe", layers=1, E=E, H=H, I=I, k=K)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    r = subprocess.run([sys.executable, "-c", SIGTERM_SCRIPT, str(ckpt), str(out),
                        "--layout", "mma_sp", "--samoyeds-opt", OPT, "--quiet"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 128 + signal.SIGTERM, r.stderr
    assert r.stderr.endswith("error: terminated (SIGTERM); no model directory written\n")
    assert not out.exists() and not list(tmp_path.glob("out.tmp-*"))


@requires_opt
def test_out_dir_mode_follows_the_umask(tmp_path):
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, "olmoe", layers=1, E=E, H=H, I=I, k=K)
    old = os.umask(0o027)
    try:
        _compile(ckpt, tmp_path / "out", layout="mma_sp")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o750


# --------------------------------------------------------------------------- bad input


def test_unknown_architecture(tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, "mixtral", layers=1, config={"model_type": "llama"})
    assert main([str(ckpt), str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "unknown architecture: model_type 'llama'" in err and "deepseek_v3" in err
    assert not (tmp_path / "out").exists()


def test_missing_config(tmp_path):
    (tmp_path / "ckpt").mkdir()
    with pytest.raises(CompileError, match="config.json: not found"):
        _compile(tmp_path / "ckpt", tmp_path / "out")


@pytest.mark.parametrize("content,message", [
    (None, "more than the 16777216 allowed"),  # 17 MiB (sparse)
    ("{\"model_type\": \"mixtral\", \"model_type\": \"olmoe\"}", "cannot read: duplicate key"),
    ("[1, 2]", "not a JSON object"),
    ("{\"model_type\": ", "cannot read:"),
])
def test_bad_config(tmp_path, content, message):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    if content is None:
        with open(ckpt / "config.json", "wb") as f:
            f.truncate(17 << 20)
    else:
        (ckpt / "config.json").write_text(content)
    with pytest.raises(CompileError, match=message):
        _compile(ckpt, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@requires_runtime
def test_missing_tensor(tmp_path):
    ckpt = tmp_path / "ckpt"
    _, t = make_hf_checkpoint(ckpt, "qwen3_moe", layers=1, E=E, H=H, I=I, k=K)
    gone = "model.layers.0.mlp.experts.2.up_proj.weight"
    _write(ckpt / "model.safetensors", {k: v for k, v in t.items() if k != gone}, None)
    with pytest.raises(Exception, match=f"missing tensor '{gone}'"):
        _compile(ckpt, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_refuses_a_foreign_out_dir(tmp_path):
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, "mixtral", layers=1)
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("keep me")
    with pytest.raises(CompileError, match="not a samoyeds model directory.*refusing"):
        _compile(ckpt, out)
    (out / "samoyeds-model.json").write_text('{"format": "something-else"}')
    with pytest.raises(CompileError, match="not a samoyeds model manifest"):
        _compile(ckpt, out)
    assert (out / "thesis.tex").read_text() == "keep me"
    f = tmp_path / "a-file"
    f.write_text("x")
    with pytest.raises(CompileError, match="is not a directory"):
        _compile(ckpt, f)


def test_bad_options(tmp_path):
    with pytest.raises(CompileError, match="--format: bad value '1:2'"):
        _compile(tmp_path, tmp_path / "o", fmt="1:2")
    with pytest.raises(CompileError, match="--chip 'sm_75'"):
        _compile(tmp_path, tmp_path / "o", chip="sm_75")
    with pytest.raises(CompileError, match="--layout wgmma needs --chip sm_90a"):
        _compile(tmp_path, tmp_path / "o", chip="sm_80", layout="wgmma")
    with pytest.raises(CompileError, match="--samoyeds-opt /nonexistent"):
        sc.find_samoyeds_opt("/nonexistent")
    for workers in (0, 257, True):
        with pytest.raises(CompileError, match=rf"--workers {workers!r}: an integer in \[1, 256\]"):
            _compile(tmp_path, tmp_path / "o", workers=workers)


def test_layer_mlir_is_an_experts_only_layer():
    text = sc.layer_mlir(8, 256, 128, 2, 1, 2, 128)
    assert "samoyeds.moe_experts %x, %w, %ids, %w13, %w2" in text
    assert 'tensor<?x2xi32> {samoyeds.name = "topk_ids"}' in text
    assert "tensor<8x256x256xbf16, #ss>" in text and "tensor<8x256x128xbf16, #ss>" in text


def test_layer_mlir_routed_scaling_factor():
    """moe_ffn's routed_scaling_factor, written where it is not 1; the routing's attributes
    need router=True, the factor a finite number > 0."""
    text = sc.layer_mlir(8, 256, 128, 2, 1, 2, 128, router=True, routed_scaling_factor=2.5)
    assert "samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2) {routed_scaling_factor = 2.5 : f64}" \
        in text
    assert "{renormalize, routed_scaling_factor = 16.0 : f64}" in sc.layer_mlir(
        8, 256, 128, 2, 1, 2, 128, router=True, renormalize=True, routed_scaling_factor=16)
    assert sc.layer_mlir(8, 256, 128, 2, 1, 2, 128, router=True, routed_scaling_factor=1.0) == \
        sc.layer_mlir(8, 256, 128, 2, 1, 2, 128, router=True)
    for kw, text in ((dict(routed_scaling_factor=2.0), "they need router=True"),
                     (dict(router=True, routed_scaling_factor=0), "routed_scaling_factor = 0: "
                                                                  "a finite number > 0"),
                     (dict(router=True, routed_scaling_factor=float("inf")), "= inf: a finite"),
                     (dict(router=True, routed_scaling_factor=True), "= True: a finite")):
        with pytest.raises(ValueError, match=text):
            sc.layer_mlir(8, 256, 128, 2, 1, 2, 128, **kw)


# The experts-only layer of gpt-oss-20b's shape as docs/Serving.md (and the interface of the
# compiler, the runtime and the package) gives it.
GPT_OSS_20B_MLIR = """\
// Generated by samoyeds.compile: experts of a MoE layer, routing given.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @moe_experts_e32_h2880_i2880_k4(%x: tensor<?x2880xbf16> {samoyeds.name = "x"},
    %w: tensor<?x4xf32> {samoyeds.name = "topk_weights"},
    %ids: tensor<?x4xi32> {samoyeds.name = "topk_ids"},
    %w13: tensor<32x5760x2880xbf16, #ss> {samoyeds.name = "w13"},
    %w2: tensor<32x2880x2880xbf16, #ss> {samoyeds.name = "w2"},
    %b13: tensor<32x5760xbf16> {samoyeds.name = "w13_bias"},
    %b2: tensor<32x2880xbf16> {samoyeds.name = "w2_bias"})
    -> (tensor<?x2880xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2 bias(%b13, %b2) \
{activation = #samoyeds<activation clamped_swiglu>}
      : (tensor<?x2880xbf16>, tensor<?x4xf32>, tensor<?x4xi32>, \
tensor<32x5760x2880xbf16, #ss>, tensor<32x2880x2880xbf16, #ss>, tensor<32x5760xbf16>, \
tensor<32x2880xbf16>) -> tensor<?x2880xbf16>
  return %y : tensor<?x2880xbf16>
}
"""


def test_layer_mlir_gpt_oss_form():
    """gpt-oss's experts-only layer: clamped SwiGLU and the two bias inputs, named
    w13_bias / w2_bias; alpha and limit written only where they are not the defaults; the
    SiLU form unchanged."""
    text = sc.layer_mlir(32, 2880, 2880, 4, 1, 2, 64, activation="clamped_swiglu", bias=True)
    assert text == GPT_OSS_20B_MLIR
    odd = sc.layer_mlir(4, 128, 64, 2, 1, 2, 64, activation="clamped_swiglu", bias=True,
                        swiglu_alpha=1.5, swiglu_limit=7.0)
    assert ("{activation = #samoyeds<activation clamped_swiglu>, swiglu_alpha = 1.5 : f64}"
            in odd)
    assert "swiglu_limit = 1.0e-05 : f64" in sc.layer_mlir(
        4, 128, 64, 2, 1, 2, 64, activation="clamped_swiglu", swiglu_limit=1e-5)
    plain = sc.layer_mlir(8, 256, 128, 2, 1, 2, 128)
    assert plain == sc.layer_mlir(8, 256, 128, 2, 1, 2, 128, activation="silu", bias=False)
    assert "activation" not in plain and "bias" not in plain
    for kw, text in ((dict(activation="gelu"), "activation 'gelu'"),
                     (dict(swiglu_limit=7.0), "swiglu_limit is an attribute of the "
                                              "clamped_swiglu activation, not of silu"),
                     (dict(activation="clamped_swiglu", swiglu_alpha=float("inf")),
                      "swiglu_alpha = inf: a finite number > 0")):
        with pytest.raises(ValueError, match=text):
            sc.layer_mlir(4, 128, 64, 2, 1, 2, 64, **kw)


def _gpt_oss_2880(ckpt, E=1, k=1):
    """A gpt-oss checkpoint of the released layer shape (hidden = intermediate = 2880) with
    one layer of E MXFP4 experts, all zeros (enough for a dry run, which reads no data)."""
    from samoyeds.safetensors_io import save_file

    H = I = 2880
    x = "model.layers.0.mlp.experts"
    t = {f"{x}.gate_up_proj_blocks": ("U8", np.zeros((E, 2 * I, H // 32, 16), np.uint8)),
         f"{x}.gate_up_proj_scales": ("U8", np.zeros((E, 2 * I, H // 32), np.uint8)),
         f"{x}.down_proj_blocks": ("U8", np.zeros((E, H, I // 32, 16), np.uint8)),
         f"{x}.down_proj_scales": ("U8", np.zeros((E, H, I // 32), np.uint8)),
         f"{x}.gate_up_proj_bias": ("BF16", np.zeros((E, 2 * I), np.uint16)),
         f"{x}.down_proj_bias": ("BF16", np.zeros((E, H), np.uint16)),
         "model.layers.0.mlp.router.weight": ("BF16", np.zeros((E, H), np.uint16)),
         "model.layers.0.mlp.router.bias": ("BF16", np.zeros((E,), np.uint16))}
    ckpt.mkdir()
    save_file(t, ckpt / "model.safetensors")
    from helpers import hf_config

    c = hf_config("gpt_oss", 1, E, H, I, k)
    c["quantization_config"] = {"quant_method": "mxfp4"}
    (ckpt / "config.json").write_text(json.dumps(c))


@requires_runtime
def test_gpt_oss_needs_a_span_width_dividing_2880(tmp_path, capsys):
    """The default format's v = 128 does not divide gpt-oss's 2880: refused, naming the
    format that fits (1:2:64); with it, the dry run plans the layer and its activation."""
    ckpt = tmp_path / "ckpt"
    _gpt_oss_2880(ckpt)
    out = tmp_path / "out"
    assert main([str(ckpt), str(out), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert ("cannot pack layers.0.w13 [1 x 5760 x 2880] with n:m:v = 1:2:128 in layout "
            "mma_sp" in err)
    assert ("(v must divide the hidden size 2880 and the intermediate size 2880: n:m:v = "
            "1:2:64 fits, and so does v = 96 or 32)" in err)
    assert main([str(ckpt), str(out), "--dry-run", "--format", "1:2:64"]) == 0
    text = capsys.readouterr().out
    assert "bundles for sm_90a: e1_h2880_i2880_k1" in text
    assert "expert weights MXFP4" in text
    assert "experts: clamped_swiglu (alpha 1.702, limit 7.0) with their biases" in text
    assert "routing: softmax top-1 of 1, router bias, renormalised" in text
    assert not out.exists()


def test_gpt_oss_refusals(tmp_path):
    """A swiglu_limit other than transformers' 7.0, and expert parallelism (whose layer has
    no expert biases), are refused before anything is read or compiled."""
    ckpt = tmp_path / "ckpt"
    make_hf_checkpoint(ckpt, "gpt_oss", layers=1, E=E, H=H, I=I, k=K,
                       config={"swiglu_limit": 5.0})
    with pytest.raises(CompileError, match=r"config.json: gpt_oss: swiglu_limit = 5.0 is not "
                                           r"supported \(transformers' GptOssExperts clamps "
                                           r"at 7.0"):
        _compile(ckpt, tmp_path / "out")
    (ckpt / "config.json").write_text(json.dumps(
        {**json.loads((ckpt / "config.json").read_text()), "swiglu_limit": 7.0}))
    with pytest.raises(CompileError, match="--expert-parallel: gpt_oss is not supported with "
                                           "expert parallelism"):
        _compile(ckpt, tmp_path / "out", expert_parallel=2)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(OPT is None, reason="needs samoyeds-opt (build/bin/samoyeds-opt or "
                    "$SAMOYEDS_OPT); run scripts/build.sh")
@pytest.mark.parametrize("E,fmt", [(32, (1, 2, 64)), (32, (4, 4, 64)), (128, (1, 2, 64))])
def test_gpt_oss_layer_shapes_compile(tmp_path, E, fmt):
    """gpt-oss-20b's (32 experts) and -120b's (128) layer shape, top-4, compile for sm_90a
    with the automatic strategy: the bundle has the bias inputs and the activation."""
    import subprocess

    src = tmp_path / "layer.mlir"
    src.write_text(sc.layer_mlir(E, 2880, 2880, 4, *fmt, activation="clamped_swiglu",
                                 bias=True))
    r = subprocess.run([OPT, str(src), f"--samoyeds-to-bundle=chip=sm_90a strategy=auto "
                        f"dir={tmp_path / 'b'}", "-o", os.devnull], capture_output=True,
                       text=True, timeout=1200)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "b" / "manifest.json").read_text())
    names = {b["name"]: b for b in m["buffers"]}
    assert names["w13_bias"]["kind"] == "input" and names["w13_bias"]["shape"] == [E, 5760]
    assert names["w2_bias"]["dtype"] == "bf16" and names["w2_bias"]["shape"] == [E, 2880]
    assert m["activation"] == {"kind": "clamped_swiglu", "alpha": 1.702, "limit": 7.0}


def test_read_model_refuses_unfinished_dirs(tmp_path):
    d = tmp_path / "model.tmp-abc123"
    d.mkdir()
    with pytest.raises(Exception, match="interrupted samoyeds-compile"):
        read_model(d)
    (d / "samoyeds-model.json").write_text('{"format": "samoyeds-model", "version": 1}')
    with pytest.raises(Exception, match="malformed manifest"):
        read_model(d)


def test_chip_check():
    check_chip("sm_90a", (9, 0))
    check_chip("sm_80", (9, 0))
    with pytest.raises(Exception, match="compiled for sm_90a, but this GPU is sm_80: "
                                        "recompile with samoyeds-compile --chip sm_80"):
        check_chip("sm_90a", (8, 0))
    with pytest.raises(Exception, match="compiled for sm_90a, but this GPU is sm_100"):
        check_chip("sm_90a", (10, 0))
    with pytest.raises(Exception, match="compiled for sm_80, but this GPU is sm_75"):
        check_chip("sm_80", (7, 5))
