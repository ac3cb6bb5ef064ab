"""CPU tests of the model-level benchmark's pieces (bench/model_run.py, model_specs.py,
model_bench.py) on tiny configurations of the two models:

    SAMOYEDS_RUNTIME_LIB=BUILD PYTHONPATH=python:bench python3 -m pytest -q \
        bench/test_model_bench.py

The decode / prefill driver against transformers' own forward; the distinct-expert packing,
tiling and dense filling against each other; the swap of every MoE block for a
SamoyedsExpertsBlock, with a CPU stand-in for the compiled layer, against transformers' blocks
on the same pruned weights (so transformers' routing and samoyeds.routing agree on both
models); the memory arithmetic; the bundle preparation and check (needs samoyeds-opt).
Skipped without torch, transformers or the runtime library.
"""
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
pytest.importorskip("transformers", reason="transformers is not installed")

from samoyeds._capi import RuntimeLibraryNotFound, lib  # noqa: E402

try:
    lib()
except RuntimeLibraryNotFound as e:
    pytest.skip(f"Samoyeds runtime library not available: {e}", allow_module_level=True)

import model_run as mr  # noqa: E402
import model_specs  # noqa: E402
from samoyeds.pack import pack, unpack  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Tiny versions of the two models (the rest of model_specs' config kept: routing, MLA, ...).
TINY = {
    "qwen3_30b_a3b": dict(hidden_size=128, intermediate_size=96, moe_intermediate_size=128,
                          num_experts=8, num_experts_per_tok=2, num_attention_heads=4,
                          num_key_value_heads=2, head_dim=16, vocab_size=100),
    "deepseek_v3": dict(hidden_size=128, intermediate_size=96, moe_intermediate_size=128,
                        n_routed_experts=8, num_experts_per_tok=2, n_group=2, topk_group=1,
                        num_attention_heads=4, num_key_value_heads=4, q_lora_rank=32,
                        kv_lora_rank=16, qk_rope_head_dim=8, qk_nope_head_dim=8, v_head_dim=8,
                        vocab_size=100),
}


def tiny(name, layers=3, dtype=torch.float32):
    return mr.build_model(mr.hf_config(name, layers, **TINY[name]), "cpu", dtype=dtype)


@pytest.mark.parametrize("name", list(TINY))
def test_steps_match_transformers_forward(name):
    model = tiny(name)
    ids = torch.randint(0, 100, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(ids).logits
        fn, _ = mr.prefill_step(model, ids[:1])
        assert torch.allclose(fn()[0, 0], ref[0, -1], atol=1e-5)
        assert torch.allclose(mr.logits_f32(model, ids[:1], chunk=7), ref[0], atol=1e-5)
        # A decode step at position 11 over a cache that the prefill of 11 tokens filled.
        pos = torch.arange(11)[None].expand(2, 11)
        cache = mr.StaticCache(12, pos[0])
        mr.hidden(model, ids[:, :11], pos, cache)
        cache.slots = torch.tensor([11])
        h = mr.hidden(model, ids[:, 11:], torch.full((2, 1), 11), cache)
        assert torch.allclose(model.lm_head(h)[:, 0], ref[:, -1], atol=1e-5)
        fn, cache = mr.decode_step(model, 3, 12)
        assert fn().shape == (3, 1, 100) and cache.nbytes > 0


def test_models_build_in_bf16_with_the_published_shapes():
    for name in model_specs.MODELS:
        model = mr.build_model(mr.hf_config(name, 2), "meta")
        E, H, I, k = model_specs.shape(name)
        blk = model.model.layers[mr.moe_indices(model)[0]].mlp
        assert tuple(blk.experts.gate_up_proj.shape) == (E, 2 * I, H)
        assert blk.experts.gate_up_proj.dtype == torch.bfloat16
        spec = mr.routing(name)
        assert (spec.experts, spec.top_k, spec.model_type) == (E, k, model.config.model_type)
    assert mr.routing("deepseek_v3").n_group == 8


@pytest.mark.parametrize("layout", ["mma_sp", "wgmma"])
@pytest.mark.parametrize("n,m", [(1, 1), (1, 2)])
def test_distinct_packing_tiles_like_the_dense_fill(n, m, layout):
    E, H, I, D = 8, 128, 64, 4
    bits = mr.distinct_experts(E, H, I, D, seed=3, device="cpu")
    p = mr.pack_experts(bits["w13"], n, m, 128, layout, threads=3)
    whole = pack(bits["w13"], n, m, 128, layout=layout)
    for part in mr.PARTS:
        assert np.array_equal(getattr(p, part), getattr(whole, part)), part
    pruned = mr.unpack_experts(p, threads=2)
    assert np.array_equal(pruned, unpack(whole))
    tiled = unpack(mr.tile(p, E))
    assert np.array_equal(tiled, pruned[np.arange(E) % D])
    with pytest.raises(ValueError, match="do not divide"):
        mr.tile(p, 6)
    with pytest.raises(ValueError, match="must divide"):
        mr.distinct_experts(6, H, I, D, 0, "cpu")


class CpuLayer:
    """The compiled experts-only layer's contract on the CPU: packed weights uploaded,
    (x, topk_weights, topk_ids) -> sum_j w_j * expert_{id_j}(x) with the unpacked weights."""

    def __init__(self, E, H, k):
        self.experts, self.hidden, self.top_k, self.w, self.closed = E, H, k, {}, False

    def upload_packed(self, name, p):
        self.w[name] = mr.to_torch(unpack(p), "cpu").float()

    def __call__(self, x, weights, ids):
        w13, w2, I = self.w["w13"], self.w["w2"], self.w["w2"].shape[2]
        y = torch.zeros(x.shape, dtype=torch.float32)
        for j in range(ids.shape[1]):
            h = torch.einsum("th,trh->tr", x.float(), w13[ids[:, j].long()])
            a = torch.nn.functional.silu(h[:, :I]) * h[:, I:]
            y += weights[:, j:j + 1] * torch.einsum("ti,thi->th", a, w2[ids[:, j].long()])
        return y.to(x.dtype)

    def close(self):
        self.closed = True


@pytest.mark.parametrize("name", list(TINY))
def test_swapped_model_matches_transformers_on_the_pruned_weights(name, monkeypatch):
    from samoyeds import torch_op

    monkeypatch.setattr(torch.ops.samoyeds, "moe_experts",
                        lambda x, w, ids, h: torch_op.get_layer(h)(x, w, ids))
    model = tiny(name)
    c = model.config
    E, H, I, k, D = c.num_local_experts if hasattr(c, "num_local_experts") \
        else c.num_experts, c.hidden_size, c.moe_intermediate_size, c.num_experts_per_tok, 4
    spec = mr.routing(name, **TINY[name])
    bits = mr.distinct_experts(E, H, I, D, seed=5, device="cpu")
    ids = torch.randint(0, 100, (1, 24), generator=torch.Generator().manual_seed(1))
    layers = []

    def make_layer():
        layers.append(CpuLayer(E, H, k))
        return layers[-1]

    for fmt in ("11v128", "12v128"):
        n, m, v = model_specs.FORMATS[fmt]
        packed = {w: mr.pack_experts(bits[w], n, m, v, "mma_sp", 2) for w in ("w13", "w2")}
        with torch.no_grad():
            if fmt == "11v128":
                mr.fill_experts(model, {w: mr.to_torch(mr.unpack_experts(p, 2), "cpu").float()
                                        for w, p in packed.items()})
                ref = mr.logits_f32(model, ids)
                # Wrong weights are seen: a dense model of other experts differs.
                other = mr.logits_f32(tiny(name), ids)
                assert mr.compare(other, ref)["relerr"] > 0.1
            swapped = mr.swap_experts(model, spec, make_layer,
                                      {w: mr.tile(p, E) for w, p in packed.items()})
            assert swapped == mr.moe_indices(model) and swapped
            got = mr.compare(mr.logits_f32(model, ids), ref)
        if fmt == "11v128":
            assert got["relerr"] < 1e-5 and got["top1"] == 1.0, got
        else:  # another pruning of the same experts: close, not equal
            assert 1e-3 < got["relerr"] < 1.0, got
    assert all(lay.closed for lay in layers[:len(swapped)])
    mr.close_experts(model)
    assert all(lay.closed for lay in layers)


def test_max_batch_arithmetic():
    assert mr.max_batch(100, 40, 1, 10, 5) == 4          # (100 - 40) // (10 + 5)
    assert mr.max_batch(100, 100, 1, 10, 5) == 0
    spec = dict(real_layers=10, real_dense_layers=2)
    inv = dict(outside=7, dense_layer=5, moe_other=3, moe_experts=100)
    assert mr.full_model_weights(spec, inv, 20) == 7 + 2 * 5 + 8 * (3 + 20)


def test_inventory_counts_every_weight():
    model = tiny("deepseek_v3")
    inv = mr.inventory(model)
    moe = mr.moe_indices(model)
    assert moe == [1, 2]
    total = inv["outside"] + inv["dense_layer"] + len(moe) * (inv["moe_other"]
                                                              + inv["moe_experts"])
    assert total == mr.module_bytes(model)


def test_prepare_and_check_bundles(tmp_path):
    opt = os.environ.get("SAMOYEDS_OPT") or str(ROOT / "build" / "bin" / "samoyeds-opt")
    if not Path(opt).is_file():
        pytest.skip(f"samoyeds-opt not found at {opt}")
    out = tmp_path / "model"
    model_specs.prepare(out, opt, log=open(os.devnull, "w"))
    found = model_specs.check_bundles(out, model_specs.MODELS, model_specs.FORMATS)
    assert len(found) == 4
    # A bundle of the other format under this name is refused, naming it.
    a, b = (out / model_specs.bundle_name("deepseek_v3", f) for f in ("11v128", "12v128"))
    a.rename(tmp_path / "x")
    b.rename(a)
    with pytest.raises(SystemExit, match="deepseek_v3_11v128.*n:m:v"):
        model_specs.check_bundles(out, ["deepseek_v3"], ["11v128"])
    with pytest.raises(SystemExit, match="no bundle"):
        model_specs.check_bundles(out, ["deepseek_v3"], ["12v128"])


def test_accounting_and_table():
    import argparse

    import model_bench as mb

    a = argparse.Namespace(batches=[1, 64], context=512, prefill=2048, seq_len=4096,
                           budget_gib={"qwen3_30b_a3b": 100.0})
    inv = dict(outside=2 * 2**30, dense_layer=0, moe_other=2**28, moe_experts=2**30)

    def row(ms, graph, B=None):
        r = dict(ms=ms, graph=graph, why=None, transient=64 * 2**20, kv_bytes=64 * 512 * 2 * 1024)
        return dict(r, B=B, tok_s=B * 1e3 / ms) if B else r

    def path(graph, **extra):
        return dict(decode={1: row(2.0, graph, 1), 64: row(10.0, graph, 64)},
                    prefill=row(50.0, graph), **extra)

    res = dict(title="Qwen3-30B-A3B", layers=2, moe_layers=2, inventory=inv, checks={
        "11v128": dict(top1=0.97, relerr=0.01, nan=0, blocks={0: 0.004}, ok=True)},
        floor=dict(top1=0.96, relerr=0.01, nan=0),
        paths={"hf_grouped": path(True), "hf_eager": path(False),
               "samoyeds_11v128": path(True, packed_bytes=2**29, workspace_bytes=2**27,
                                       max_tokens=2048)})
    mb.accounting(res, "qwen3_30b_a3b", a, total=0)
    kv = 2 * 1024 / 2 * 48  # cache bytes per token and layer (2 layers), 48 layers
    dense_w = 2 * 2**30 + 48 * (2**28 + 2**30)
    sparse_w = 2 * 2**30 + 48 * (2**28 + 2**29 + 2**27)
    act = 2**20
    for key, w in (("hf_grouped", dense_w), ("samoyeds_11v128", sparse_w)):
        m = res["paths"][key]["memory"]
        assert (m["weights"], m["kv_per_token"], m["act_per_token"]) == (w, kv, act)
        assert m["max_batch"] == int((100 * 2**30 - w) // (4096 * kv + act))
    text = mb.table(dict(device="X", date="D", models={"qwen3_30b_a3b": res}), a)
    assert text.strip().splitlines()[-1].startswith(" " * 36 + "bf16 floor")
    sam = next(line for line in text.splitlines() if line.startswith("(c) Samoyeds 2:4"))
    ratio = res["paths"]["samoyeds_11v128"]["memory"]["max_batch"] / \
        res["paths"]["hf_grouped"]["memory"]["max_batch"]
    assert f"({ratio:.2f}x)" in sam and "top-1 0.970" in sam and sam.endswith("ok")
    eager = next(line for line in text.splitlines() if line.startswith("(a)"))
    assert "6400*" in eager and "50.0*" in eager
    assert "–" in next(line for line in text.splitlines() if line.startswith("(c) Samoyeds 1:2"))
