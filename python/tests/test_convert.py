import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import requires_runtime
from helpers import (BIASED, DEEPSEEK, GRANITE, NAMES, SHARED_GATED, bias_name,
                     make_checkpoint, prune_reference, router_name, stacked)
from samoyeds import SamoyedsError
from samoyeds.convert import ConversionError, convert, parse_layers
from samoyeds.pack import float32_to_bf16, pack, packed_sizes, relayout, to_float32, unpack
from samoyeds.safetensors_io import SafetensorsFile, save_file
from samoyeds.weightfile import WeightFile, check_bundle

pytestmark = requires_runtime

E, H, I = 4, 64, 32
# The wgmma layouts (convert's default) pad these shapes' kept rows to 64-row tiles: the tests
# that use them convert in mma_sp (whose sizes layer_manifest writes); the wgmma tests use
# WE, WH, WI.
SMALL = "mma_sp"
WE, WH, WI = 2, 128, 128
PY_DIR = Path(__file__).resolve().parent.parent


def moe_layers(model, layers=2):
    return list(range(1, layers + 1)) if model in DEEPSEEK else list(range(layers))


def assert_no_output(out: Path):
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if p.name.startswith("." + out.name)] == []


def check_output(out, t, model, n=1, m=2, v=32, layers=None, layout=SMALL, E=E, H=H, I=I):
    layers = moe_layers(model) if layers is None else layers
    with WeightFile(out) as wf:
        names = wf.names()
        assert sorted(names) == sorted(f"layers.{i}.{w}" for i in layers for w in ("w13", "w2"))
        assert wf.metadata("model") == model
        assert wf.metadata("source")
        for i in layers:
            w13, w2 = stacked(t, model, i, E)
            for name, dense in (("w13", w13), ("w2", w2)):  # the bytes are pack's
                got, want = wf.read(f"layers.{i}.{name}"), pack(dense, n, m, v, "bf16", layout)
                assert np.array_equal(got.values, want.values)
                assert np.array_equal(got.meta, want.meta)
            assert wf.info(f"layers.{i}.w13") == {"name": f"layers.{i}.w13", "dtype": "bf16",
                                                  "experts": E, "rows": 2 * I, "cols": H,
                                                  "n": n, "m": m, "v": v, "layout": layout}
            assert wf.read(f"layers.{i}.w2").layout == layout
            assert wf.info(f"layers.{i}.w2")["rows"] == H
            assert np.array_equal(unpack(wf.read(f"layers.{i}.w13")), prune_reference(w13, "bf16", n, m, v))
            assert np.array_equal(unpack(wf.read(f"layers.{i}.w2")), prune_reference(w2, "bf16", n, m, v))
    with SafetensorsFile(out) as st:
        for i in layers:
            sdt, router = t[router_name(model, i)]
            want = router if sdt == "BF16" else float32_to_bf16(np.asarray(router, np.float32))
            assert st.info(f"layers.{i}.router").dtype == "BF16"
            assert np.array_equal(st.get(f"layers.{i}.router"), want)
        desc = json.loads(st.metadata["samoyeds"])
        assert desc["format"] == "samoyeds-weights" and desc["version"] == 2
        assert {w["layout"] for w in desc["weights"].values()} == {layout}
    # The standard safetensors package reads the file too.
    safe_open = pytest.importorskip("safetensors").safe_open
    with safe_open(str(out), framework="numpy") as sf:
        assert "samoyeds" in sf.metadata()
        v0 = sf.get_tensor(f"layers.{layers[0]}.w13.values")
        assert v0.dtype == np.uint8 and v0.shape[0] == E


@pytest.mark.parametrize("model", sorted(NAMES))
def test_convert_each_model(tmp_path, model):
    src = tmp_path / "ckpt"
    t = make_checkpoint(src, model, E=E, H=H, I=I)
    out = tmp_path / "out" / "packed.safetensors"
    s = convert(src, out, model, n=1, m=2, v=32, progress=False, layout=SMALL)
    check_output(out, t, model)
    assert s["layers"] == moe_layers(model)
    assert s["experts"] == [E]
    assert s["bytes_after"] < s["bytes_before"]
    assert s["density"] == 0.25
    with SafetensorsFile(out) as st:
        if model in SHARED_GATED:
            name = "model.layers.0.mlp.shared_expert.gate_proj.weight"
            assert len(s["passthrough"]) == 2 * 4
            assert np.array_equal(st.get(name), t[name][1])
            assert "model.layers.0.mlp.shared_expert_gate.weight" in st
        elif model in GRANITE:
            # The stacked experts are read as fused ones; shared_mlp is outside the block.
            assert s["fused_layers"] == [0, 1] and s["passthrough"] == []
            assert not any("shared_mlp" in k for k in st.keys())
        elif model in DEEPSEEK:
            assert s["dense_layers"] == [0]
            # three shared-expert tensors per layer, and DeepSeek-V3's selection bias
            assert len(s["passthrough"]) == 2 * (3 if model == "deepseek_v2" else 4)
            assert "model.layers.1.mlp.shared_experts.down_proj.weight" in st
            if model in BIASED:
                name = bias_name(model, 2)
                assert np.array_equal(st.get(name), t[name][1])
            assert not any(k.startswith("layers.0.") for k in st.keys())
        elif model in BIASED:  # MiniMax-M2: the selection bias on the block, nothing else
            name = bias_name(model, 1)
            assert len(s["passthrough"]) == 2 and np.array_equal(st.get(name), t[name][1])
        else:
            assert s["passthrough"] == []
        assert "model.embed_tokens.weight" not in st


def test_sharded_checkpoint_and_layers_option(tmp_path):
    src = tmp_path / "ckpt"
    t = make_checkpoint(src, "mixtral", layers=3, E=E, H=H, I=I, shards=3)
    assert (src / "model.safetensors.index.json").is_file()
    out = tmp_path / "p.safetensors"
    s = convert(src / "model.safetensors.index.json", out, "mixtral", 1, 2, 32,
                layers=parse_layers("0,2"), progress=False, layout=SMALL)
    assert s["layers"] == [0, 2]
    check_output(out, t, "mixtral", layers=[0, 2])
    out2 = tmp_path / "all.safetensors"
    convert(src, out2, "mixtral", 1, 4, 32, progress=False, layout=SMALL)
    check_output(out2, t, "mixtral", n=1, m=4, v=32, layers=[0, 1, 2])


def test_f32_checkpoint_written_by_safetensors_package(tmp_path):
    pytest.importorskip("safetensors")
    src = tmp_path / "ckpt"
    t = make_checkpoint(src, "olmoe", E=E, H=H, I=I, st_dtype="F32", writer="safetensors")
    out = tmp_path / "o.safetensors"
    convert(src / "model.safetensors", out, "olmoe", 1, 2, 32, progress=False, layout=SMALL)
    check_output(out, t, "olmoe")


def test_plain_2_4_and_f16_output(tmp_path):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", E=E, H=H, I=I, st_dtype="F16")
    out = tmp_path / "o.safetensors"
    convert(src, out, "olmoe", 2, 2, 32, dtype="f16", progress=False, layout=SMALL)
    with WeightFile(out) as wf:
        assert wf.info("layers.0.w13")["dtype"] == "f16"
    with SafetensorsFile(out) as st:
        assert "layers.0.w13.row_idx" not in st


def layer_manifest(v13=32, layout=None, E=E, H=H, I=I):
    """A device-less bundle manifest with weights w13 [E, 2I, H] (1:2:v13) and w2 [E, H, I]
    (1:2:32); ``layout`` (None: no field) is written as both weights' "layout", and their
    buffers have its sizes (packed_sizes; mma_sp's where the shape breaks its rules)."""
    ws = [("w13", 2 * I, H, v13), ("w2", H, I, 32)]
    bufs, weights = [], []
    for name, r, c, v in ws:
        try:
            sized = packed_sizes(E, r, c, 1, 2, v, layout or "mma_sp")
        except (SamoyedsError, ValueError):
            rk = r // 2
            sized = (rk * c * E, rk * c // 8 * E, c // v * rk * E)
        sizes = dict(zip(("values", "meta", "row_idx"), sized))
        for part, dt in (("values", "bf16"), ("meta", "u32"), ("row_idx", "u8")):
            bufs.append({"name": f"{name}.{part}", "kind": "weight", "dtype": dt,
                         "bytes": sizes[part], "of": name, "part": part})
        weights.append({"name": name, "dtype": "bf16", "experts": E, "rows": r, "cols": c,
                        "n": 1, "m": 2, "v": v})
        if layout is not None:
            weights[-1]["layout"] = layout
    bufs.append({"name": "x", "kind": "input", "dtype": "bf16", "shape": ["T", H]})
    return {"format": "samoyeds-bundle", "version": 1, "chip": "sm_90a", "ptx_version": 85,
            "module": "kernels.ptx", "symbols": ["T"], "buffers": bufs, "weights": weights,
            "launches": [{"kernel": "k", "grid": [{"const": 1}] * 3, "block": [32, 1, 1],
                          "smem": 0, "args": [{"buffer": "x"}]}]}


def make_bundle(path, manifest):
    path.mkdir(exist_ok=True)
    (path / "kernels.ptx").write_text("// none\n")
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_bundle_accepts_the_converted_layer(tmp_path):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "qwen2_moe", E=E, H=H, I=I)
    out = tmp_path / "o.safetensors"
    convert(src, out, "qwen2_moe", 1, 2, 32, progress=False, layout=SMALL)
    bundle = make_bundle(tmp_path / "bundle", layer_manifest(32))
    manifest = layer_manifest
    check_bundle(bundle, out, "layers.1.")
    with pytest.raises(SamoyedsError) as ei:
        check_bundle(bundle, out, "layers.7.")
    assert ei.value.status_name == "SY_ERR_NOT_FOUND" and "layers.7.w13" in ei.value.message
    (bundle / "manifest.json").write_text(json.dumps(manifest(64)))
    with pytest.raises(SamoyedsError) as ei:
        check_bundle(bundle, out, "layers.0.")
    assert ei.value.status_name == "SY_ERR_PARAM_MISMATCH"
    assert "v = 32 (bundle: 64)" in ei.value.message and str(out) in ei.value.message


# ------------------------------------------------------------------- layouts


def test_default_layout_is_wgmma(tmp_path):
    src = tmp_path / "ckpt"
    t = make_checkpoint(src, "mixtral", layers=1, E=WE, H=WH, I=WI)
    out = tmp_path / "w.safetensors"
    s = convert(src, out, "mixtral", 1, 2, 32, progress=False)
    assert s["layout"] == "wgmma"
    check_output(out, t, "mixtral", layers=[0], layout="wgmma", E=WE, H=WH, I=WI)
    # The same checkpoint in mma_sp holds the same bytes in another order.
    out2 = tmp_path / "s.safetensors"
    convert(src, out2, "mixtral", 1, 2, 32, progress=False, layout="mma_sp")
    with WeightFile(out) as g, WeightFile(out2) as m:
        a, b = g.read("layers.0.w13"), m.read("layers.0.w13")
        assert not np.array_equal(a.values, b.values)
        assert np.array_equal(np.sort(a.values), np.sort(b.values))
        assert np.array_equal(unpack(a), unpack(b))


def test_wgmma_refuses_shapes_it_cannot_pad_with_a_hint(tmp_path):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "mixtral", layers=1, E=E, H=H, I=I)
    out = tmp_path / "w.safetensors"
    # 3:4: 48 kept rows, which wgmma would pad with 16 rows: no whole groups of 3.
    with pytest.raises(ConversionError) as ei:
        convert(src, out, "mixtral", 3, 4, 32, progress=False)
    msg = str(ei.value)
    assert "cannot pack layers.0.w13 [4 x 64 x 64] with n:m:v = 3:4:32 in layout wgmma" in msg
    assert ("layout wgmma pads the 48 kept rows to 64: n = 3 must divide 64 (padding rows "
            "form whole groups of n)") in msg
    assert "(--layout mma_sp can hold this shape)" in msg
    assert_no_output(out)
    with pytest.raises(ConversionError) as ei:
        convert(src, out, "mixtral", 3, 4, 32, progress=False, layout="wgmma_halves")
    assert ("in layout wgmma_halves: sy_packed_sizes_layout: unsupported n:m:v = 3:4:32 for "
            "4 x 64 x 64: layout wgmma_halves pads the 24 kept rows of each half to 64"
            in str(ei.value)), str(ei.value)
    assert_no_output(out)
    # 1:2: the 32 kept rows are padded to 64 (w13 and w2 in wgmma; in wgmma_halves, w13's
    # halves of 16 to 64 each, w2 in wgmma).
    for layout, w13, w2 in (("wgmma", 64, 64), ("wgmma_halves", 128, 64)):
        convert(src, out, "mixtral", 1, 2, 32, progress=False, layout=layout)
        with WeightFile(out) as wf:
            a, b = wf.read("layers.0.w13"), wf.read("layers.0.w2")
            assert (a.layout, b.layout) == (layout, "wgmma")
            assert a.values.nbytes == E * w13 * 128 and b.values.nbytes == E * w2 * 128
            assert np.array_equal(unpack(a), unpack(relayout(a, "mma_sp")))
        out.unlink()
    with pytest.raises(ConversionError, match="unknown layout 'sparse'"):
        convert(src, out, "mixtral", 1, 2, 32, progress=False, layout="sparse")
    # Without the hint when mma_sp cannot hold it either.
    with pytest.raises(ConversionError) as ei:
        convert(src, out, "mixtral", 1, 2, 48, progress=False)
    assert "v = 48" in str(ei.value) and "--layout mma_sp" not in str(ei.value)


@pytest.mark.parametrize("bundle_layout,file_layout", [
    (None, "wgmma"), ("mma_sp", "wgmma"), ("wgmma", "mma_sp"), ("wgmma", "wgmma"),
    ("wgmma_halves", "wgmma"), ("wgmma_halves", "mma_sp"), ("mma_sp", "wgmma_halves"),
    ("wgmma", "wgmma_halves"), ("wgmma_halves", "wgmma_halves")])
def test_bundle_accepts_a_file_in_another_layout(tmp_path, bundle_layout, file_layout):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", layers=1, E=WE, H=WH, I=WI)
    out = tmp_path / "o.safetensors"
    convert(src, out, "olmoe", 1, 2, 32, progress=False, layout=file_layout)
    bundle = make_bundle(tmp_path / "b", layer_manifest(32, bundle_layout, WE, WH, WI))
    check_bundle(bundle, out, "layers.0.")


@pytest.mark.parametrize("layout,text", [
    ("WGMMA", "expected \"mma_sp\", \"wgmma\" or \"wgmma_halves\", got 'WGMMA'"),
    ("", "got ''"), (7, "expected \"mma_sp\", \"wgmma\" or \"wgmma_halves\", got number")])
def test_bad_manifest_layout(tmp_path, layout, text):
    bundle = make_bundle(tmp_path / "b", layer_manifest(32, layout))
    with pytest.raises(SamoyedsError) as ei:
        check_bundle(bundle, tmp_path / "unused.safetensors")
    assert ei.value.status_name == "SY_ERR_MANIFEST"
    assert "weights[0]" in ei.value.message and "weight 'w13'" in ei.value.message
    assert text in ei.value.message, ei.value.message


@pytest.mark.parametrize("layout,want", [("wgmma", 4 * 64 * 128), ("wgmma_halves", 4 * 128 * 128)])
def test_manifest_buffers_have_the_padded_sizes(tmp_path, layout, want):
    """w13's 32 kept rows are stored as 64 (wgmma) or two halves of 64 (wgmma_halves), its
    64 columns as 128: mma_sp's sizes are refused, naming the padded size."""
    manifest = layer_manifest(32)
    manifest["weights"][0]["layout"] = layout
    bundle = make_bundle(tmp_path / "b", manifest)
    with pytest.raises(SamoyedsError) as ei:
        check_bundle(bundle, tmp_path / "unused.safetensors")
    assert ei.value.status_name == "SY_ERR_MANIFEST"
    assert (f"buffers[0].bytes: weight 'w13' part 'values' must be {want} bytes per "
            f"Format.md, manifest says {4 * 32 * 64}") in ei.value.message, ei.value.message


def _rewrite_metadata(path, fn):
    """Applies fn to the parsed `samoyeds` metadata of a packed weight file, in place."""
    with SafetensorsFile(path) as st:
        tensors = {k: (st.info(k).dtype, np.array(st.get(k))) for k in st.keys()}
        meta = dict(st.metadata)
    desc = json.loads(meta["samoyeds"])
    fn(desc)
    meta["samoyeds"] = json.dumps(desc)
    save_file(tensors, path, meta)


def _set_layout(value):
    def fn(desc):
        if value is None:
            del desc["weights"]["layers.0.w2"]["layout"]
        else:
            desc["weights"]["layers.0.w2"]["layout"] = value
    return fn


@pytest.mark.parametrize("damage,text", [
    (lambda d: d.update(version=1), "weight file format version 1 predates the layout field; "
                                    "re-convert with python -m samoyeds.convert"),
    (lambda d: d.update(version=3), "unsupported version 3 (this runtime reads version 2)"),
    (_set_layout(None), "weights['layers.0.w2'].layout: missing required field"),
    (_set_layout("WGMMA"), "weights['layers.0.w2'].layout: expected \"mma_sp\", \"wgmma\" or "
                           "\"wgmma_halves\", got 'WGMMA'"),
    (_set_layout(["wgmma"]), "got array"),
    (lambda d: d["weights"]["layers.0.w2"].update(layout="wgmma", n=3, m=4),
     "weights['layers.0.w2']: layout wgmma pads the 48 kept rows to 64: n = 3 must divide 64"),
])
def test_weight_file_layout_and_version_errors(tmp_path, damage, text):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", layers=1, E=E, H=H, I=I)
    out = tmp_path / "o.safetensors"
    convert(src, out, "olmoe", 1, 2, 32, progress=False, layout=SMALL)
    _rewrite_metadata(out, damage)
    with pytest.raises(SamoyedsError) as ei:
        WeightFile(out)
    assert ei.value.status_name == "SY_ERR_WEIGHT_FILE"
    assert text in ei.value.message and str(out) in ei.value.message, ei.value.message


def test_samoyeds_metadata_requires_a_layout():
    from samoyeds.weightfile import samoyeds_metadata

    w = {"dtype": "bf16", "experts": 1, "rows": 64, "cols": 64, "n": 1, "m": 2, "v": 32}
    for bad in ({}, {"layout": "WGMMA"}, {"layout": None}):
        with pytest.raises(ValueError, match="weight 'w': layout .* is not 'mma_sp', 'wgmma' or "
                                             "'wgmma_halves'"):
            samoyeds_metadata({"w": dict(w, **bad)})
    desc = json.loads(samoyeds_metadata({"w": dict(w, layout="wgmma")})["samoyeds"])
    assert desc["version"] == 2 and desc["weights"]["w"]["layout"] == "wgmma"


def test_weight_file_size_mismatch_is_reported_by_the_runtime(tmp_path):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", layers=1, E=E, H=H, I=I)
    out = tmp_path / "o.safetensors"
    convert(src, out, "olmoe", 1, 2, 32, progress=False, layout=SMALL)
    with SafetensorsFile(out) as st:
        tensors = {k: (st.info(k).dtype, np.array(st.get(k))) for k in st.keys()}
        meta = dict(st.metadata)
    tensors["layers.0.w2.meta"] = ("U8", tensors["layers.0.w2.meta"][1][:, :-8])
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, bad, meta)
    with pytest.raises(SamoyedsError) as ei:
        WeightFile(bad)
    assert ei.value.status_name == "SY_ERR_SIZE_MISMATCH"
    assert "tensor 'layers.0.w2.meta'" in ei.value.message and str(bad) in ei.value.message


# ------------------------------------------------------------------- bad inputs


def _shard(src):
    return src / "model.safetensors"


def _rewrite(src, fn):
    """Applies fn to {name: (dtype, array)} of the single-file checkpoint."""
    f = _shard(src)
    with SafetensorsFile(f) as st:
        t = {k: (st.info(k).dtype, np.array(st.get(k))) for k in st.keys()}
    t = fn(t)
    save_file(t, f)


def _truncate(src):
    raw = _shard(src).read_bytes()
    _shard(src).write_bytes(raw[:-100])


def _bad_json(src):
    raw = bytearray(_shard(src).read_bytes())
    raw[8] = ord("[")
    _shard(src).write_bytes(bytes(raw))


def _short_header(src):
    raw = _shard(src).read_bytes()
    _shard(src).write_bytes(raw[:64])


def _drop(name):
    return lambda src: _rewrite(src, lambda t: {k: v for k, v in t.items() if k != name})


def _rename(old, new):
    return lambda src: _rewrite(src, lambda t: {(new if k == old else k): v for k, v in t.items()})


def _reshape(name):
    def fn(t):
        dt, a = t[name]
        t[name] = (dt, a[:16])
        return t
    return lambda src: _rewrite(src, fn)


def _retype(name):
    def fn(t):
        t[name] = ("I8", np.zeros(t[name][1].shape, np.int8))
        return t
    return lambda src: _rewrite(src, fn)


EXP = "model.layers.1.block_sparse_moe.experts.2"
BAD = {
    "truncated": (_truncate, 32, ["model.safetensors", "truncated file", "tensor '"]),
    "corrupt_json": (_bad_json, 32, ["model.safetensors", "bad JSON header"]),
    "header_beyond_eof": (_short_header, 32, ["model.safetensors", "header length", "beyond the end"]),
    "missing_tensor": (_drop(f"{EXP}.w3.weight"), 32, ["missing tensor", f"'{EXP}.w3.weight'"]),
    "missing_router": (_drop("model.layers.0.block_sparse_moe.gate.weight"), 32,
                       ["missing tensor", "'model.layers.0.block_sparse_moe.gate.weight'"]),
    "misnamed_tensor": (_rename(f"{EXP}.w3.weight", f"{EXP}.w4.weight"), 32,
                        ["model.safetensors", f"unexpected expert tensor '{EXP}.w4.weight'", "misnamed"]),
    "shape_mismatch": (_reshape(f"{EXP}.w1.weight"), 32,
                       ["model.safetensors", "shape mismatch between experts", f"'{EXP}.w1.weight'",
                        "[16, 64]", "[32, 64]"]),
    "unsupported_nmv": (lambda src: None, 48,
                        ["cannot pack layers.0.w13", "n:m:v = 1:2:48", "v = 48 must be a positive multiple of 32"]),
    "unsupported_nmv_cols": (lambda src: None, 128,
                             ["cannot pack layers.0.w13 [4 x 64 x 64]", "cols = 64 must be a multiple of v = 128"]),
    "unsupported_dtype": (_retype(f"{EXP}.w2.weight"), 32,
                          ["model.safetensors", f"'{EXP}.w2.weight'", "unsupported dtype I8"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_inputs_leave_no_output(tmp_path, case):
    damage, v, parts = BAD[case]
    src = tmp_path / "ckpt"
    make_checkpoint(src, "mixtral", E=E, H=H, I=I)
    damage(src)
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError) as ei:
        convert(src, out, "mixtral", 1, 2, v, progress=False, layout=SMALL)
    for p in parts:
        assert p in str(ei.value), str(ei.value)
    assert_no_output(out)


def test_wrong_model_hints_the_right_one(tmp_path):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", layers=1, E=E, H=H, I=I)
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError, match="no mixtral expert tensors.*--model (qwen2_moe|deepseek_v2|olmoe)"):
        convert(src, out, "mixtral", 1, 2, 32, progress=False)
    assert_no_output(out)


def test_granite_names_are_told_apart(tmp_path):
    """GraniteMoE's stacked names under another --model, and another family's names
    under --model granitemoe, are refused with a hint at the right one."""
    src, other = tmp_path / "granite", tmp_path / "mixtral"
    make_checkpoint(src, "granitemoehybrid", layers=1, E=E, H=H, I=I)
    make_checkpoint(other, "mixtral", layers=1, E=E, H=H, I=I)
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError, match=r"no mixtral expert tensors.*--model granitemoe"):
        convert(src, out, "mixtral", 1, 2, 32, progress=False)
    with pytest.raises(ConversionError, match=(
            r"no granitemoe expert tensors \(stacked like 'model\.layers\.0\.block_sparse_moe"
            r"\.input_linear\.weight'\) found \(the names look like --model mixtral\)")):
        convert(other, out, "granitemoe", 1, 2, 32, progress=False)
    assert_no_output(out)


GRANITE_BLOCK = "model.layers.1.block_sparse_moe"
BAD_GRANITE = {
    "missing_output": (lambda t: t.pop(f"{GRANITE_BLOCK}.output_linear.weight"),
                       f"missing tensor '{GRANITE_BLOCK}.output_linear.weight' (layer 1 has "
                       f"'{GRANITE_BLOCK}.input_linear.weight')"),
    "odd_rows": (lambda t: t.update({f"{GRANITE_BLOCK}.input_linear.weight": (
        "BF16", t[f"{GRANITE_BLOCK}.input_linear.weight"][1][:, 1:])}),
                 "layer 1: fused expert shapes input_linear.weight [4, 63, 64], "
                 "output_linear.weight [4, 64, 32] do not form experts' MLPs"),
    "bias": (lambda t: t.update({f"{GRANITE_BLOCK}.input_linear.bias": (
        "BF16", np.zeros((E, 2 * I), np.uint16))}),
             f"unexpected tensor '{GRANITE_BLOCK}.input_linear.bias' in a granitemoe MoE block "
             f"(it has input_linear.weight, output_linear.weight and router.layer.weight"),
    "router": (lambda t: t.pop(f"{GRANITE_BLOCK}.router.layer.weight"),
               f"missing tensor '{GRANITE_BLOCK}.router.layer.weight' (router of layer 1)"),
    "nan": (lambda t: t[f"{GRANITE_BLOCK}.output_linear.weight"][1].__setitem__((3, 9, 2),
                                                                                 0x7FC0),
            f"'{GRANITE_BLOCK}.output_linear.weight': the value at [3, 9, 2] is not finite"),
}


def _damaged_is_refused(tmp_path, src, t, model, damage, parts):
    """Checkpoint ``src`` (its tensors ``t``) after ``damage``: converting it as ``model``
    fails naming every one of ``parts``, and leaves no output."""
    damage(t)
    save_file(t, src / "model.safetensors")
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError) as ei:
        convert(src, out, model, 1, 2, 32, progress=False, layout=SMALL)
    for p in parts:
        assert p in str(ei.value), str(ei.value)
    assert_no_output(out)


@pytest.mark.parametrize("case", sorted(BAD_GRANITE))
def test_bad_granite_checkpoints_leave_no_output(tmp_path, case):
    src = tmp_path / "ckpt"
    t = make_checkpoint(src, "granitemoe", E=E, H=H, I=I)
    damage, message = BAD_GRANITE[case]
    _damaged_is_refused(tmp_path, src, t, "granitemoe", damage, [message])


def test_failure_while_writing_removes_the_temporary(tmp_path, monkeypatch):
    import samoyeds.convert as conv

    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", E=E, H=H, I=I)
    out = tmp_path / "out.safetensors"
    calls = []

    def boom(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise ConversionError("boom")
        return real(*a, **k)

    real = conv._convert_layer
    monkeypatch.setattr(conv, "_convert_layer", boom)
    with pytest.raises(ConversionError, match="boom"):
        convert(src, out, "olmoe", 1, 2, 32, progress=False, layout=SMALL)
    assert_no_output(out)


# ------------------------------------------------------------------- CLI


def _cli(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PY_DIR) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "samoyeds.convert", *map(str, args)],
                          capture_output=True, text=True, env=env)


def test_cli_prints_summary_and_progress(tmp_path):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "deepseek_v2", E=E, H=H, I=I)
    out = tmp_path / "ds.safetensors"
    r = _cli(src, out, "--model", "deepseek_v2", "--n", 1, "--m", 2, "--v", 32, "--layout", SMALL)
    assert r.returncode == 0, r.stderr
    assert "Converted" in r.stdout
    assert "MoE layers:   2 (1-2)" in r.stdout
    assert "bytes before:" in r.stdout and "bytes after:" in r.stdout
    assert "density 0.2500" in r.stdout and "layout mma_sp" in r.stdout
    assert "skipped layers without experts: 0" in r.stdout
    assert "shared-expert" in r.stdout
    assert "[" in r.stderr and "layers.2.router" in r.stderr  # progress bar
    assert out.is_file()


def test_cli_dry_run(tmp_path):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "deepseek_v2", E=E, H=H, I=I)
    out = tmp_path / "ds.safetensors"
    r = _cli(src, out, "--model", "deepseek_v2", "--v", 32, "--layout", SMALL, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "dry run: no weight read, nothing written" in r.stdout
    assert "MoE layers:   2 (1-2)" in r.stdout and "not written (--dry-run)" in r.stdout
    assert r.stderr == "" and not out.exists()


def test_cli_layout_option(tmp_path):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", layers=1, E=WE, H=WH, I=WI)
    for args, want in (((), "wgmma"), (("--layout", "wgmma"), "wgmma"),
                       (("--layout", "mma_sp"), "mma_sp")):
        out = tmp_path / f"{want}{len(args)}.safetensors"
        r = _cli(src, out, "--model", "olmoe", "--v", 32, "--quiet", *args)
        assert r.returncode == 0, r.stderr
        assert f"layout {want}" in r.stdout
        with WeightFile(out) as wf:
            assert {wf.info(n)["layout"] for n in wf.names()} == {want}
    r = _cli(src, tmp_path / "x.safetensors", "--model", "olmoe", "--layout", "WGMMA")
    assert r.returncode == 2 and "invalid choice: 'WGMMA'" in r.stderr
    out = tmp_path / "halves.safetensors"
    r = _cli(src, out, "--model", "olmoe", "--v", 32, "--quiet", "--layout", "wgmma_halves")
    assert r.returncode == 0 and "layout wgmma_halves" in r.stdout, r.stderr
    with WeightFile(out) as wf:
        assert {n: wf.info(n)["layout"] for n in wf.names()} == {
            "layers.0.w13": "wgmma_halves", "layers.0.w2": "wgmma"}
    r = _cli(src, tmp_path / "x.safetensors", "--help")
    assert "--layout {wgmma,wgmma_halves,mma_sp}" in r.stdout


def test_cli_error_exit_code(tmp_path):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "mixtral", layers=1, E=E, H=H, I=I)
    out = tmp_path / "x.safetensors"
    r = _cli(src, out, "--model", "mixtral", "--v", 128)
    assert r.returncode == 1
    assert r.stderr.startswith("error: ") and "v = 128" in r.stderr
    assert_no_output(out)
    r = _cli(src, out, "--model", "mixtral", "--v", 32, "--layers", "0,5")
    assert r.returncode == 1 and "layer 5 has no mixtral experts" in r.stderr


@pytest.mark.parametrize("st_dtype,value,dtype", [
    ("BF16", float("nan"), "bf16"),   # in the checkpoint
    ("F32", float("inf"), "bf16"),
    ("F32", 3.4e38, "bf16"),          # finite in f32, rounds to an infinity in bf16
    ("F32", 1e5, "f16"),              # above f16's 65504
    ("F16", float("-inf"), "bf16"),
])
def test_non_finite_expert_values_are_refused(tmp_path, st_dtype, value, dtype):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", layers=1, E=E, H=H, I=I, st_dtype=st_dtype)
    name = "model.layers.0.mlp.experts.3.down_proj.weight"

    def poke(t):
        dt, a = t[name]
        x = to_float32(a, "bf16") if dt == "BF16" else np.array(a, dtype=np.float32)
        x[5, 7] = value
        t[name] = (dt, float32_to_bf16(x) if dt == "BF16" else x.astype(a.dtype))
        return t

    _rewrite(src, poke)
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError, match=rf"'{name}': the value at \[5, 7\] is not finite "
                                              rf"in {dtype}"):
        convert(src, out, "olmoe", 1, 2, 32, dtype=dtype, progress=False, layout=SMALL)
    assert_no_output(out)


@pytest.mark.parametrize("model,layout", [("mixtral", SMALL), ("deepseek_v3", SMALL),
                                          ("olmoe", "wgmma")])
def test_the_output_does_not_depend_on_workers(tmp_path, model, layout):
    src = tmp_path / "ckpt"
    shape = dict(E=5, H=128, I=128) if layout == "wgmma" else dict(E=5, H=H, I=I)
    make_checkpoint(src, model, **shape)
    files = []
    for workers in (1, 2, 3, 8):
        out = tmp_path / f"w{workers}.safetensors"
        convert(src, out, model, 1, 2, 32, progress=False, layout=layout, workers=workers)
        files.append(out.read_bytes())
    assert all(f == files[0] for f in files[1:])


@pytest.mark.parametrize("workers", [0, -1, 257, 2.0, True, "2"])
def test_workers_is_range_checked(tmp_path, workers):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", layers=1, E=E, H=H, I=I)
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError, match=r"workers = .*: an integer in \[1, 256\]"):
        convert(src, out, "olmoe", 1, 2, 32, progress=False, layout=SMALL, workers=workers)
    assert_no_output(out)


def test_a_non_finite_router_is_refused(tmp_path):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "qwen3_moe", layers=2, E=E, H=H, I=I, st_dtype="F32")
    name = "model.layers.1.mlp.gate.weight"

    def poke(t):
        t[name][1][2, 9] = np.inf
        return t

    _rewrite(src, poke)
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError, match=rf"'{name}': the value at \[2, 9\] is not finite"):
        convert(src, out, "qwen3_moe", 1, 2, 32, progress=False, layout=SMALL)
    assert_no_output(out)


@pytest.mark.parametrize("chunk_bytes", [1, 3 * 2 * 2 * I * H, 1 << 40])
def test_the_output_does_not_depend_on_the_chunk_size(tmp_path, monkeypatch, chunk_bytes):
    """A layer's experts are packed in chunks of CHUNK_BYTES (one expert, a few, all): the
    file is the same."""
    import samoyeds.convert as conv

    src = tmp_path / "ckpt"
    make_checkpoint(src, "deepseek_v3", E=7, H=H, I=I)
    ref = tmp_path / "ref.safetensors"
    convert(src, ref, "deepseek_v3", 1, 2, 32, progress=False, layout=SMALL, workers=1)
    monkeypatch.setattr(conv, "CHUNK_BYTES", chunk_bytes)
    out = tmp_path / "out.safetensors"
    convert(src, out, "deepseek_v3", 1, 2, 32, progress=False, layout=SMALL, workers=2)
    assert out.read_bytes() == ref.read_bytes()


def test_peak_memory_follows_the_chunk_not_the_layer(tmp_path, monkeypatch):
    """32 experts whose gate/up is 8 MiB dense in bf16: with chunks of 512 KiB the
    conversion's numpy allocations peak near a chunk's, not a layer's."""
    import tracemalloc

    import samoyeds.convert as conv

    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", layers=1, E=32, H=256, I=256)
    peaks = {}
    for chunk in (1 << 40, 1 << 19):
        monkeypatch.setattr(conv, "CHUNK_BYTES", chunk)
        tracemalloc.start()
        convert(src, tmp_path / f"out{chunk}.safetensors", "olmoe", 1, 2, 128, progress=False,
                layout=SMALL, workers=2)
        peaks[chunk] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[1 << 40] > 8 << 20 and peaks[1 << 19] < 3 << 20, peaks


# --------------------------------------------------------------------------- fused experts


def _fused_checkpoint(tmp_path, model, **kw):
    from helpers import fuse_experts

    src = tmp_path / "ckpt"
    t = make_checkpoint(src, model, E=E, H=H, I=I, **kw)
    fused = tmp_path / "fused"
    fused.mkdir()
    ft = fuse_experts(t, model, E)
    save_file(ft, fused / "model.safetensors")
    return src, fused, t, ft


def _packed(path):
    with SafetensorsFile(path) as st:
        return {k: np.array(st.get(k)) for k in st.keys()}


@pytest.mark.parametrize("model,st_dtype", [("mixtral", "BF16"), ("qwen2_moe", "F32"),
                                            ("deepseek_v3", "BF16"), ("olmoe", "F16"),
                                            ("minimax_m2", "BF16")])
def test_fused_experts_pack_as_per_expert_ones(tmp_path, model, st_dtype):
    """A checkpoint saved by transformers 5 (experts.gate_up_proj / experts.down_proj;
    Mixtral's and MiniMax-M2's block under mlp) converts to the same packed weights,
    routers and copied tensors as its per-expert form (copied ones keep their names:
    MiniMax-M2's bias moves from block_sparse_moe to mlp with its block)."""
    src, fused, t, _ = _fused_checkpoint(tmp_path, model, st_dtype=st_dtype)
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    sa = convert(src, a, model, 1, 2, 32, progress=False, layout=SMALL)
    sb = convert(fused, b, model, 1, 2, 32, progress=False, layout=SMALL, workers=2)
    assert sb["layers"] == sa["layers"] and sb["bytes_after"] == sa["bytes_after"]
    assert sb["bytes_before"] == sa["bytes_before"]
    pa, pb = _packed(a), _packed(b)
    pa = {k.replace(".block_sparse_moe.", ".mlp."): v for k, v in pa.items()}
    assert sorted(pa) == sorted(pb)
    for name in pa:
        assert np.array_equal(pa[name], pb[name]), name
    check_output(b, t, model)


FUSED_EXP = "model.layers.1.mlp.experts"


BAD_FUSED = {
    "missing_down": (lambda ft: ft.pop(f"{FUSED_EXP}.down_proj"),
                     [f"missing tensor '{FUSED_EXP}.down_proj' (layer 1 has "
                      f"'{FUSED_EXP}.gate_up_proj')"]),
    "odd_rows": (lambda ft: ft.update({f"{FUSED_EXP}.gate_up_proj": (
        "BF16", ft[f"{FUSED_EXP}.gate_up_proj"][1][:, 1:])}),
                 ["layer 1: fused expert shapes gate_up_proj [4, 63, 64], down_proj [4, 64, 32] "
                  "do not form experts' MLPs ([E, 2I, H], [E, H, I])"]),
    "experts_differ": (lambda ft: ft.update({f"{FUSED_EXP}.down_proj": (
        "BF16", ft[f"{FUSED_EXP}.down_proj"][1][:3])}), ["down_proj [3, 64, 32] do not form"]),
    "fp8": (lambda ft: ft.update({f"{FUSED_EXP}.down_proj": (
        "F8_E4M3", np.zeros((E, H, I), np.uint8))}),
            [f"'{FUSED_EXP}.down_proj': unsupported dtype F8_E4M3 for fused experts"]),
    "bias": (lambda ft: ft.update({f"{FUSED_EXP}.gate_up_proj_bias": (
        "BF16", np.zeros((E, 2 * I), np.uint16))}),
             [f"unexpected expert tensor '{FUSED_EXP}.gate_up_proj_bias' (fused experts are "
              f"experts.gate_up_proj and experts.down_proj"]),
    "mixed": (lambda ft: ft.update({"model.layers.1.mlp.experts.0.gate_proj.weight": (
        "BF16", np.zeros((I, H), np.uint16))}),
              ["layer 1 has both per-expert tensors (e.g. "
               "'model.layers.1.mlp.experts.0.gate_proj.weight') and fused ones"]),
    "nan": (lambda ft: ft[f"{FUSED_EXP}.gate_up_proj"][1].__setitem__((2, 40, 7), 0x7FC0),
            [f"'{FUSED_EXP}.gate_up_proj': the value at [2, 40, 7] is not finite in bf16"]),
    "router": (lambda ft: ft.pop("model.layers.1.mlp.gate.weight"),
               ["missing tensor 'model.layers.1.mlp.gate.weight' (router of layer 1)"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FUSED))
def test_bad_fused_checkpoints_leave_no_output(tmp_path, case):
    _, fused, _, ft = _fused_checkpoint(tmp_path, "deepseek_v3")
    damage, parts = BAD_FUSED[case]
    _damaged_is_refused(tmp_path, fused, ft, "deepseek_v3", damage, parts)


@pytest.mark.parametrize("form", ["per-expert", "fused"])
def test_dry_run_checks_and_summarises_without_reading_or_writing(tmp_path, form, monkeypatch):
    """--dry-run: the plan's checks and the summary of a real conversion (the packed bytes
    included), no weight read (the reader is never asked for data), no file written."""
    import samoyeds.checkpoint as ck

    if form == "fused":
        _, src, _, _ = _fused_checkpoint(tmp_path, "deepseek_v3")
    else:
        src = tmp_path / "ckpt"
        make_checkpoint(src, "deepseek_v3", E=E, H=H, I=I)
    real = convert(src, tmp_path / "real.safetensors", "deepseek_v3", 1, 2, 32, progress=False,
                   layout=SMALL)

    def no_reads(self, name):
        raise AssertionError(f"read {name}")

    monkeypatch.setattr(ck.Checkpoint, "get", no_reads)
    out = tmp_path / "out" / "dry.safetensors"
    s = convert(src, out, "deepseek_v3", 1, 2, 32, progress=False, layout=SMALL, dry_run=True)
    assert not out.parent.exists() or not any(out.parent.iterdir())
    assert s["output_bytes"] is None
    for k in ("layers", "experts", "bytes_before", "bytes_after", "passthrough", "dense_layers"):
        assert s[k] == real[k], k
    assert s["fused_layers"] == ([1, 2] if form == "fused" else [])
    from samoyeds.convert import format_summary

    text = format_summary(s)
    assert "dry run: no weight read, nothing written" in text
    assert "output:       not written (--dry-run)" in text
    assert ("fused in layers 1-2" in text) == (form == "fused")


def test_dry_run_still_refuses_bad_checkpoints(tmp_path):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "mixtral", E=E, H=H, I=I)
    (src / "model.safetensors").write_bytes((src / "model.safetensors").read_bytes()[:-100])
    with pytest.raises(SamoyedsError, match="truncated"):
        convert(src, tmp_path / "o.safetensors", "mixtral", 1, 2, 32, dry_run=True,
                layout=SMALL)


# --------------------------------------------------------------------------- gpt-oss

GPT_OSS_EXP = "model.layers.1.mlp.experts"


def test_gpt_oss_converts_de_interleaved_and_transposed(tmp_path):
    """gpt-oss's bf16 form: gate_up_proj [E, H, 2I] with gate / up interleaved on the last
    dimension becomes w13 [E, 2I, H] (gate rows first), down_proj [E, I, H] becomes w2
    [E, H, I]; the biases are written de-interleaved the same way (w13_bias [E, 2I], gate
    first; w2_bias [E, H]) with the router's bias (bf16 [E]), and named in the metadata."""
    from helpers import gpt_oss_biases

    src = tmp_path / "ckpt"
    t = make_checkpoint(src, "gpt_oss", E=E, H=H, I=I)
    out = tmp_path / "o.safetensors"
    s = convert(src, out, "gpt_oss", 1, 2, 32, progress=False, layout=SMALL)
    check_output(out, t, "gpt_oss")
    assert s["fused_layers"] == [0, 1] and s["bias_layers"] == [0, 1] and not s["mxfp4"]
    bias_bytes = 2 * E * (2 * I + H) * 2
    assert s["bytes_before"] == 2 * (3 * E * H * I * 2) + bias_bytes
    with SafetensorsFile(out) as st:
        for i in (0, 1):
            b13, b2 = gpt_oss_biases(t, i)
            assert st.info(f"layers.{i}.w13_bias").dtype == "BF16"
            assert np.array_equal(st.get(f"layers.{i}.w13_bias"), b13)
            assert np.array_equal(st.get(f"layers.{i}.w2_bias"), b2)
            want = t[f"model.layers.{i}.mlp.router.bias"][1]
            assert st.info(f"layers.{i}.router_bias").shape == (E,)
            assert np.array_equal(st.get(f"layers.{i}.router_bias"), want)
        meta = json.loads(st.metadata["samoyeds"])
        assert meta["biases"] == [f"layers.{i}.{b}" for i in (0, 1)
                                  for b in ("w13_bias", "w2_bias", "router_bias")]
    # bytes_after counts the packed experts and their biases, as the dry run does.
    dry = convert(src, tmp_path / "d.safetensors", "gpt_oss", 1, 2, 32, progress=False,
                  layout=SMALL, dry_run=True)
    assert dry["bytes_after"] == s["bytes_after"] and dry["bytes_before"] == s["bytes_before"]
    from samoyeds.convert import format_summary

    assert "router biases of layers 0-1" in format_summary(s)


def test_gpt_oss_dense_rows_are_exact(tmp_path):
    """The dense rows before pruning, expert by expert: w13[e, j] = gate_up[e, :, 2j],
    w13[e, I + j] = gate_up[e, :, 2j + 1], w2[e, h] = down[e, :, h], bit for bit, from
    bf16 and from f32 (rounded once)."""
    from samoyeds.checkpoint import Checkpoint, MODELS
    from samoyeds.convert import _expert_rows
    from samoyeds.convert_plan import make_plan

    for st_dtype in ("BF16", "F32"):
        src = tmp_path / st_dtype
        t = make_checkpoint(src, "gpt_oss", layers=1, E=3, H=H, I=I, st_dtype=st_dtype)
        ck = Checkpoint(src)
        try:
            plan = make_plan(ck, MODELS["gpt_oss"], 1, 2, 32, "bf16", None, SMALL)
            lp = plan.layers[0]
            assert lp.interleaved and lp.biases and lp.router_bias
            gu = t["model.layers.0.mlp.experts.gate_up_proj"][1]
            down = t["model.layers.0.mlp.experts.down_proj"][1]
            if st_dtype == "F32":
                gu, down = float32_to_bf16(gu), float32_to_bf16(down)
            for e in range(3):
                w13 = np.empty((2 * I, H), np.uint16)
                _expert_rows(ck, MODELS["gpt_oss"], lp, plan, 0, "bf16")(e, w13)
                w2 = np.empty((H, I), np.uint16)
                _expert_rows(ck, MODELS["gpt_oss"], lp, plan, 1, "bf16")(e, w2)
                for j in range(I):
                    assert np.array_equal(w13[j], gu[e, :, 2 * j])
                    assert np.array_equal(w13[I + j], gu[e, :, 2 * j + 1])
                for h in range(H):
                    assert np.array_equal(w2[h], down[e, :, h])
        finally:
            ck.close()


def test_gpt_oss_f16_output_and_workers(tmp_path):
    """--dtype f16: the biases are F16 like the packed weights; the file does not depend on
    the worker count."""
    from helpers import gpt_oss_biases

    src = tmp_path / "ckpt"
    t = make_checkpoint(src, "gpt_oss", E=5, H=H, I=I, st_dtype="F32")
    files = []
    for workers in (1, 3):
        out = tmp_path / f"w{workers}.safetensors"
        convert(src, out, "gpt_oss", 1, 2, 32, dtype="f16", progress=False, layout=SMALL,
                workers=workers)
        files.append(out.read_bytes())
    assert files[0] == files[1]
    with SafetensorsFile(tmp_path / "w1.safetensors") as st:
        b13, b2 = gpt_oss_biases(t, 1, "f16")
        assert st.info("layers.1.w13_bias").dtype == "F16"
        assert np.array_equal(st.get("layers.1.w13_bias").view(np.uint16), b13)
        assert np.array_equal(st.get("layers.1.w2_bias").view(np.uint16), b2)
        assert st.info("layers.1.router_bias").dtype == "BF16"


def _gpt_oss_poke(name, index, value=0x7FC0):
    def poke(t):
        a = np.array(t[name][1])
        a[index] = value
        t[name] = (t[name][0], a)
    return poke


BAD_GPT_OSS = {
    "missing_gate_up_bias": (lambda t: t.pop(f"{GPT_OSS_EXP}.gate_up_proj_bias"),
                             [f"missing tensor '{GPT_OSS_EXP}.gate_up_proj_bias' (the bias of "
                              f"layer 1's experts.gate_up_proj; gpt_oss experts have biases)"]),
    "missing_down_bias": (lambda t: t.pop(f"{GPT_OSS_EXP}.down_proj_bias"),
                          [f"missing tensor '{GPT_OSS_EXP}.down_proj_bias'"]),
    "missing_router_bias": (lambda t: t.pop("model.layers.1.mlp.router.bias"),
                            ["missing tensor 'model.layers.1.mlp.router.bias' (the router "
                             "bias of layer 1)"]),
    "missing_router": (lambda t: t.pop("model.layers.1.mlp.router.weight"),
                       ["missing tensor 'model.layers.1.mlp.router.weight' (router of "
                        "layer 1)"]),
    "missing_down": (lambda t: t.pop(f"{GPT_OSS_EXP}.down_proj"),
                     [f"missing tensor '{GPT_OSS_EXP}.down_proj' (or its MXFP4 "
                      f"down_proj_blocks and _scales; layer 1 has"]),
    "bias_shape": (lambda t: t.update({f"{GPT_OSS_EXP}.gate_up_proj_bias": (
        "BF16", np.zeros((E, I), np.uint16))}),
                   [f"'{GPT_OSS_EXP}.gate_up_proj_bias' has shape [4, 32], expected [4, 64]"]),
    "router_bias_shape": (lambda t: t.update({"model.layers.1.mlp.router.bias": (
        "BF16", np.zeros((1, E), np.uint16))}),
                          ["'model.layers.1.mlp.router.bias' has shape [1, 4], expected [4]"]),
    # The untransposed [E, 2I, H] form (Mixtral's fused gate_up_proj) is not gpt-oss's.
    "untransposed": (lambda t: t.update({f"{GPT_OSS_EXP}.down_proj": (
        "BF16", np.zeros((E, H, I), np.uint16))}),
                     ["layer 1: expert shapes experts.gate_up_proj [4, 64, 64], "
                      "experts.down_proj [4, 64, 32] do not form experts' MLPs "
                      "(gate_up_proj [E, H, 2I] and down_proj [E, I, H]"]),
    "odd_gate_up": (lambda t: t.update({f"{GPT_OSS_EXP}.gate_up_proj": (
        "BF16", np.zeros((E, H, 2 * I - 1), np.uint16))}),
                    ["experts.gate_up_proj [4, 64, 63]", "do not form experts' MLPs"]),
    "fp8": (lambda t: t.update({f"{GPT_OSS_EXP}.down_proj": (
        "F8_E4M3", np.zeros((E, I, H), np.uint8))}),
            [f"'{GPT_OSS_EXP}.down_proj': unsupported dtype F8_E4M3 (supported: BF16, F16, "
             f"F32, or MXFP4 as U8 down_proj_blocks with _scales)"]),
    "unexpected": (lambda t: t.update({f"{GPT_OSS_EXP}.gate_proj": (
        "BF16", np.zeros((E, H, I), np.uint16))}),
                   [f"unexpected tensor '{GPT_OSS_EXP}.gate_proj' in a gpt_oss MoE block (it "
                    f"has experts.gate_up_proj, experts.down_proj (16- or 32-bit, or MXFP4 "
                    f"_blocks and _scales), experts.gate_up_proj_bias, "
                    f"experts.down_proj_bias, router.weight and router.bias)"]),
    # A NaN at gate_up[2, 5, 7] (column 7: the up row 3 of w13) is named where it is.
    "nan_gate_up": (_gpt_oss_poke(f"{GPT_OSS_EXP}.gate_up_proj", (2, 5, 7)),
                    [f"'{GPT_OSS_EXP}.gate_up_proj': the value at [2, 5, 7] is not finite "
                     f"in bf16"]),
    "nan_down": (_gpt_oss_poke(f"{GPT_OSS_EXP}.down_proj", (1, 30, 60)),
                 [f"'{GPT_OSS_EXP}.down_proj': the value at [1, 30, 60] is not finite"]),
    "nan_bias": (_gpt_oss_poke(f"{GPT_OSS_EXP}.gate_up_proj_bias", (3, 9)),
                 [f"'{GPT_OSS_EXP}.gate_up_proj_bias': the value at [3, 9] is not finite"]),
    "nan_router_bias": (_gpt_oss_poke("model.layers.1.mlp.router.bias", (2,)),
                        ["'model.layers.1.mlp.router.bias': the value at [2] is not finite"]),
}


@pytest.mark.parametrize("case", sorted(BAD_GPT_OSS))
def test_bad_gpt_oss_checkpoints_leave_no_output(tmp_path, case):
    src = tmp_path / "ckpt"
    t = make_checkpoint(src, "gpt_oss", E=E, H=H, I=I)
    damage, parts = BAD_GPT_OSS[case]
    _damaged_is_refused(tmp_path, src, t, "gpt_oss", damage, parts)


def test_gpt_oss_names_are_told_apart(tmp_path):
    """gpt-oss's names under another --model, and Mixtral's fused ones under --model
    gpt_oss, are refused naming the problem."""
    from helpers import fuse_experts

    src = tmp_path / "oss"
    make_checkpoint(src, "gpt_oss", layers=1, E=E, H=H, I=I)
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError, match=r"no granitemoe expert tensors .*found "
                                              r"\(the names look like --model gpt_oss\)"):
        convert(src, out, "granitemoe", 1, 2, 32, progress=False)
    with pytest.raises(ConversionError, match=r"unexpected expert tensor "
                                              r"'model\.layers\.0\.mlp\.experts\."
                                              r"gate_up_proj_bias'"):
        convert(src, out, "mixtral", 1, 2, 32, progress=False)
    mx = tmp_path / "mixtral"
    t = make_checkpoint(tmp_path / "plain", "mixtral", layers=1, E=E, H=H, I=I)
    mx.mkdir()
    save_file(fuse_experts(t, "mixtral", E), mx / "model.safetensors")
    with pytest.raises(ConversionError, match=r"unexpected tensor 'model\.layers\.0\.mlp\."
                                              r"gate\.weight' in a gpt_oss MoE block"):
        convert(mx, out, "gpt_oss", 1, 2, 32, progress=False)
    assert_no_output(out)


def test_gpt_oss_shape_hints_the_span_width(tmp_path):
    """gpt-oss's 2880 is no multiple of 128: n:m:v = 1:2:128 is refused naming the v that
    fits both weights (a hidden and intermediate size of 192 here: 64, 96 or 32)."""
    src = tmp_path / "ckpt"
    make_checkpoint(src, "gpt_oss", layers=1, E=2, H=192, I=192)
    out = tmp_path / "o.safetensors"
    with pytest.raises(ConversionError, match=(
            r"cannot pack layers\.0\.w13 \[2 x 384 x 192\] with n:m:v = 1:2:128 in layout "
            r"mma_sp: .*\(v must divide the hidden size 192 and the intermediate size 192: "
            r"n:m:v = 1:2:64 fits, and so does v = 96 or 32\)")):
        convert(src, out, "gpt_oss", 1, 2, 128, progress=False, layout="mma_sp")
    # wgmma pads the kept rows (w2's 96 to 128): the same v fit.
    for layout in ("wgmma", "wgmma_halves"):
        with pytest.raises(ConversionError, match=(
                rf"in layout {layout}: .*\(v must divide the hidden size 192 and the "
                r"intermediate size 192: n:m:v = 1:2:64 fits, and so does v = 96 or 32\)")):
            convert(src, out, "gpt_oss", 1, 2, 128, progress=False, layout=layout)
    assert_no_output(out)
    convert(src, out, "gpt_oss", 1, 2, 64, progress=False, layout="mma_sp")
