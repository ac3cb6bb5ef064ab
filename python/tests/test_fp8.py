"""Block-scaled FP8 checkpoints: samoyeds.fp8 against independent references, and
samoyeds.convert on FP8 expert weights (DeepSeek-V3's layout), good and hostile."""
import json

import numpy as np
import pytest

from conftest import requires_runtime
from helpers import find_samoyeds_opt, hf_config, prune_reference
from samoyeds.convert import ConversionError, convert
from samoyeds.fp8 import (DEFAULT_BLOCK, Fp8Error, block_from_config, dequantize,
                          e4m3_to_float32, scale_shape)
from samoyeds.pack import float32_to_bf16, unpack
from samoyeds.safetensors_io import SafetensorsFile, save_file
from samoyeds.weightfile import WeightFile

NAN_CODES = (0x7F, 0xFF)


def e4m3_reference(code: int) -> float:
    """The OCP float8 e4m3fn value of one code, from its definition."""
    s, e, m = code >> 7, (code >> 3) & 0xF, code & 0x7
    if e == 0xF and m == 0x7:
        return float("nan")
    v = (m / 8) * 2.0 ** -6 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7)
    return -v if s else v


def test_e4m3_table_is_the_definition():
    got = e4m3_to_float32(np.arange(256, dtype=np.uint8))
    for code in range(256):
        want = e4m3_reference(code)
        if code in NAN_CODES:
            assert np.isnan(got[code])
        else:
            assert got[code] == want, hex(code)
    assert got[0x38] == 1.0 and got[0x7E] == 448.0 and got[0x01] == 2.0 ** -9
    assert got[0xB8] == -1.0 and np.signbit(got[0x80])


def test_e4m3_table_is_torchs():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    want = codes.view(torch.float8_e4m3fn).float().numpy()
    got = e4m3_to_float32(np.arange(256, dtype=np.uint8))
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert np.array_equal(got[ok], want[ok])


def random_fp8(rng, shape):
    q = rng.integers(0, 256, shape, dtype=np.uint8)
    q[(q & 0x7F) == 0x7F] = 0x3C  # no NaN codes
    return q


@pytest.mark.parametrize("shape,block", [((200, 300), (128, 128)), ((64, 32), (16, 32)),
                                         ((7, 5), (2, 3)), ((128, 256), (128, 128))])
def test_dequantize_is_the_blockwise_product(shape, block):
    rng = np.random.default_rng(1)
    q = random_fp8(rng, shape)
    scale = rng.uniform(1e-4, 2e-2, scale_shape(shape, block)).astype(np.float32)
    got = dequantize(q, scale, block)
    assert got.dtype == np.float32 and got.shape == shape
    want = np.empty(shape, np.float64)
    for r in range(shape[0]):
        for c in range(shape[1]):
            want[r, c] = e4m3_reference(int(q[r, c])) * float(scale[r // block[0], c // block[1]])
    assert np.array_equal(got, want.astype(np.float32))


@pytest.mark.parametrize("case,text", [
    ("shape", "scales have shape [1, 1], expected [2, 3]"),
    ("nan", "NaN at [1, 2] (code 0x7f)"),
    ("nan_negative", "NaN at [0, 0] (code 0xff)"),
    ("inf_scale", "a scale is not finite"),
    ("nan_scale", "a scale is not finite"),
    ("overflow", "overflows float32"),
    ("dtype", "expected [R, C] FP8 bytes"),
])
def test_dequantize_errors(case, text):
    rng = np.random.default_rng(2)
    q = random_fp8(rng, (200, 300))
    scale = np.full((2, 3), 0.01, np.float32)
    if case == "shape":
        scale = scale[:1, :1]
    elif case == "nan":
        q[1, 2] = 0x7F
    elif case == "nan_negative":
        q[0, 0] = 0xFF
    elif case == "inf_scale":
        scale[1, 1] = np.inf
    elif case == "nan_scale":
        scale[0, 2] = np.nan
    elif case == "overflow":
        q[150, 150] = 0x7E
        scale[1, 1] = 3e38
    elif case == "dtype":
        q = q.astype(np.uint16)
    with pytest.raises(Fp8Error) as ei:
        dequantize(q, scale, (128, 128))
    assert text in str(ei.value)


def fp8_config(block=(16, 32), **extra):
    return {"quantization_config": {"quant_method": "fp8", "fmt": "e4m3",
                                    "activation_scheme": "dynamic",
                                    "weight_block_size": list(block), **extra}}


def test_block_from_config():
    assert block_from_config(None) == DEFAULT_BLOCK == (128, 128)
    assert block_from_config({"model_type": "deepseek_v3"}) == DEFAULT_BLOCK
    assert block_from_config(fp8_config((128, 128))) == (128, 128)
    assert block_from_config(fp8_config((16, 32))) == (16, 32)
    q = fp8_config()["quantization_config"]
    del q["fmt"]
    assert block_from_config({"quantization_config": q}) == (16, 32)


@pytest.mark.parametrize("q,text", [
    ([1], "quantization_config is not an object"),
    ({"quant_method": "compressed-tensors"}, "quant_method 'compressed-tensors' is not supported"),
    ({"quant_method": "mxfp4"}, "quant_method 'mxfp4' is not supported"),
    ({"quant_method": "fp8", "fmt": "e5m2", "weight_block_size": [128, 128]}, "fmt 'e5m2'"),
    ({"quant_method": "fp8"}, "no weight_block_size"),
    ({"quant_method": "fp8", "weight_block_size": [128]}, "weight_block_size [128]"),
    ({"quant_method": "fp8", "weight_block_size": [0, 128]}, "weight_block_size [0, 128]"),
    ({"quant_method": "fp8", "weight_block_size": [128, 1 << 17]}, "two integers in [1, 65536]"),
    ({"quant_method": "fp8", "weight_block_size": ["128", 128]}, "weight_block_size ['128', 128]"),
    ({"quant_method": "fp8", "weight_block_size": [True, 128]}, "weight_block_size [True, 128]"),
    ({"quant_method": "fp8", "weight_block_size": 128}, "weight_block_size 128"),
])
def test_block_from_config_errors(q, text):
    with pytest.raises(Fp8Error) as ei:
        block_from_config({"quantization_config": q})
    assert text in str(ei.value)


# --------------------------------------------------------------------------- convert

E, H, I = 4, 64, 32
LAYERS = (1, 2)  # layer 0 is dense, as in DeepSeek-V3
PROJS = {"gate_proj": (I, H), "up_proj": (I, H), "down_proj": (H, I)}


def make_fp8_checkpoint(path, block=(16, 32), config=True, seed=0, E=E, H=H, I=I):
    """A tiny DeepSeek-V3 checkpoint as its FP8 release stores it: FP8 experts and shared
    experts with F32 weight_scale_inv, a BF16 router and dense layer, an F32 bias.
    Returns {name: (dtype, array)}."""
    rng = np.random.default_rng(seed)
    t = {}
    projs = {"gate_proj": (I, H), "up_proj": (I, H), "down_proj": (H, I)}

    def fp8(name, shape):
        t[name] = ("F8_E4M3", random_fp8(rng, shape))
        t[name + "_scale_inv"] = ("F32", rng.uniform(1e-3, 1e-2, scale_shape(shape, block))
                                  .astype(np.float32))

    def bf16(name, shape):
        t[name] = ("BF16", float32_to_bf16(rng.standard_normal(shape).astype(np.float32)))

    for p, shape in projs.items():
        bf16(f"model.layers.0.mlp.{p}.weight", shape)
    for i in LAYERS:
        bf16(f"model.layers.{i}.self_attn.q_proj.weight", (H, H))
        for e in range(E):
            for p, shape in projs.items():
                fp8(f"model.layers.{i}.mlp.experts.{e}.{p}.weight", shape)
        for p, shape in projs.items():
            fp8(f"model.layers.{i}.mlp.shared_experts.{p}.weight", shape)
        bf16(f"model.layers.{i}.mlp.gate.weight", (E, H))
        t[f"model.layers.{i}.mlp.gate.e_score_correction_bias"] = (
            "F32", rng.uniform(-0.01, 0.01, E).astype(np.float32))
    path.mkdir(parents=True, exist_ok=True)
    save_file(t, path / "model.safetensors")
    if config:
        c = hf_config("deepseek_v3", len(LAYERS), E, H, I, 2)
        c.update(fp8_config(block))
        (path / "config.json").write_text(json.dumps(c))
    return t


def dequantized_bf16(t, name, block):
    _, q = t[name]
    _, s = t[name + "_scale_inv"]
    return float32_to_bf16(dequantize(q, s, block))


def expect_packed(out, t, block, n=1, m=2, v=32):
    with WeightFile(out) as wf:
        for i in LAYERS:
            w = {p: np.stack([dequantized_bf16(t, f"model.layers.{i}.mlp.experts.{e}.{p}.weight",
                                               block) for e in range(E)]) for p in PROJS}
            w13 = np.concatenate([w["gate_proj"], w["up_proj"]], axis=1)
            assert np.array_equal(unpack(wf.read(f"layers.{i}.w13")),
                                  prune_reference(w13, "bf16", n, m, v))
            assert np.array_equal(unpack(wf.read(f"layers.{i}.w2")),
                                  prune_reference(w["down_proj"], "bf16", n, m, v))


@requires_runtime
@pytest.mark.parametrize("block,config", [((16, 32), True), ((128, 128), False),
                                          ((32, 16), True)])
def test_convert_fp8_checkpoint(tmp_path, block, config):
    src = tmp_path / "ckpt"
    t = make_fp8_checkpoint(src, block, config)
    out = tmp_path / "out.safetensors"
    s = convert(src, out, "deepseek_v3", 1, 2, 32, progress=False, layout="mma_sp")
    assert s["source_dtypes"] == ["F8_E4M3"] and s["fp8_block"] == list(block)
    scales = sum(t[f"model.layers.{i}.mlp.experts.{e}.{p}.weight_scale_inv"][1].nbytes
                 for i in LAYERS for e in range(E) for p in PROJS)
    assert s["bytes_before"] == len(LAYERS) * E * 3 * H * I + scales
    expect_packed(out, t, block)
    with SafetensorsFile(out) as st:
        name = "model.layers.1.mlp.shared_experts.down_proj.weight"
        assert st.info(name).dtype == "F8_E4M3"  # shared experts are copied unchanged
        assert np.array_equal(st.get(name), t[name][1])
        assert np.array_equal(st.get(name + "_scale_inv"), t[name + "_scale_inv"][1])
        assert st.info("layers.1.router").dtype == "BF16"


MINIMAX = {"gate_proj": "w1", "up_proj": "w3", "down_proj": "w2"}


def _as_minimax_m2(t):
    """make_fp8_checkpoint's tensors named as MiniMax-M2's FP8 release names them (Mixtral's
    block and projections, the selection bias on the block, no shared experts)."""
    out = {}
    for name, v in t.items():
        if ".shared_experts." in name:
            continue
        name = name.replace(".mlp.gate.e_score_correction_bias",
                            ".block_sparse_moe.e_score_correction_bias")
        name = name.replace(".mlp.gate.", ".block_sparse_moe.gate.")
        if ".mlp.experts." in name:
            name = name.replace(".mlp.experts.", ".block_sparse_moe.experts.")
            for p, w in MINIMAX.items():
                name = name.replace(f".{p}.", f".{w}.")
        out[name] = v
    return out


@requires_runtime
def test_convert_fp8_minimax_m2(tmp_path):
    """MiniMax-M2's FP8 checkpoint (block-scaled experts w1 / w3 / w2 with weight_scale_inv):
    the packed experts are the dequantized ones' pruning, the block's bias is copied."""
    block = (128, 128)
    t = make_fp8_checkpoint(tmp_path / "ds", block, config=False)
    m = _as_minimax_m2(t)
    src = tmp_path / "ckpt"
    src.mkdir()
    save_file(m, src / "model.safetensors")
    out = tmp_path / "out.safetensors"
    s = convert(src, out, "minimax_m2", 1, 2, 32, progress=False, layout="mma_sp")
    assert s["source_dtypes"] == ["F8_E4M3"] and s["layers"] == list(LAYERS)
    expect_packed(out, t, block)  # the same values under their DeepSeek names
    bias = "model.layers.2.block_sparse_moe.e_score_correction_bias"
    assert s["passthrough"] == [f"model.layers.{i}.block_sparse_moe.e_score_correction_bias"
                                for i in LAYERS]
    with SafetensorsFile(out) as st:
        assert np.array_equal(st.get(bias), m[bias][1])


@requires_runtime
def test_convert_fp8_with_bf16_scales(tmp_path):
    src = tmp_path / "ckpt"
    t = make_fp8_checkpoint(src)
    for name, (dt, a) in list(t.items()):
        if name.endswith("_scale_inv"):
            t[name] = ("BF16", float32_to_bf16(a))
    save_file(t, src / "model.safetensors")
    out = tmp_path / "out.safetensors"
    convert(src, out, "deepseek_v3", 1, 2, 32, progress=False, layout="mma_sp")
    # the reference dequantizes with the bf16 scales widened to f32
    from samoyeds.pack import to_float32
    t32 = {k: (("F32", to_float32(a, "bf16")) if k.endswith("_scale_inv") else (d, a))
           for k, (d, a) in t.items()}
    expect_packed(out, t32, (16, 32))


EXP = "model.layers.1.mlp.experts.2.up_proj.weight"


def _set(t, name, value):
    t[name] = value


BAD_FP8 = {
    "missing_scales": (lambda t, c: t.pop(EXP + "_scale_inv"),
                       [f"'{EXP}': F8_E4M3 without its block scales", f"'{EXP}_scale_inv'"]),
    "scale_shape": (lambda t, c: _set(t, EXP + "_scale_inv", ("F32", np.ones((1, 2), np.float32))),
                    [f"'{EXP}_scale_inv': F32 [1, 2], expected F32 or BF16 [2, 2]",
                     "blocks of [16, 32]"]),
    "scale_dtype": (lambda t, c: _set(t, EXP + "_scale_inv", ("I32", np.ones((2, 2), np.int32))),
                    [f"'{EXP}_scale_inv': I32 [2, 2]"]),
    "nan_code": (lambda t, c: t[EXP][1].__setitem__((3, 5), 0xFF),
                 [f"'{EXP}': NaN at [3, 5] (code 0xff)"]),
    "inf_scale": (lambda t, c: t[EXP + "_scale_inv"][1].__setitem__((1, 0), np.inf),
                  [f"'{EXP}': a scale is not finite"]),
    "rounds_to_inf": (lambda t, c: (t[EXP][1].__setitem__((4, 4), 0x7E),  # 448 x 7.59e35
                                    t[EXP + "_scale_inv"][1].__setitem__((0, 0), 7.59e35)),
                      [f"'{EXP}': the value at [4, 4] is not finite in bf16"]),
    "e5m2": (lambda t, c: _set(t, EXP, ("F8_E5M2", t[EXP][1])),
             [f"'{EXP}': unsupported dtype F8_E5M2", "F8_E4M3 with its weight_scale_inv"]),
    "scales_on_bf16": (lambda t, c: _set(t, EXP, ("BF16", np.zeros((I, H), np.uint16))),
                       [f"'{EXP}': has scales '{EXP}_scale_inv' but is BF16"]),
    "orphan_name": (lambda t, c: _set(t, "model.layers.1.mlp.experts.0.w9.weight_scale_inv",
                                      ("F32", np.ones((1, 1), np.float32))),
                    ["unexpected expert tensor", "w9.weight_scale_inv", ".weight_scale_inv"]),
    "quant_method": (lambda t, c: c["quantization_config"].update(quant_method="awq"),
                     ["config.json: quantization_config: quant_method 'awq' is not supported"]),
    "bad_block": (lambda t, c: c["quantization_config"].update(weight_block_size=[16]),
                  ["config.json: quantization_config: weight_block_size [16]"]),
    "config_not_object": (lambda t, c: c.clear() or c.update(_list=True),
                          ["config.json: bad config file: not a JSON object"]),
}


@requires_runtime
@pytest.mark.parametrize("case", sorted(BAD_FP8))
def test_bad_fp8_inputs_leave_no_output(tmp_path, case):
    src = tmp_path / "ckpt"
    t = make_fp8_checkpoint(src)
    config = json.loads((src / "config.json").read_text())
    damage, parts = BAD_FP8[case]
    damage(t, config)
    save_file(t, src / "model.safetensors")
    text = json.dumps(config)
    if "_list" in config:
        text = "[1, 2]"
    (src / "config.json").write_text(text)
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError) as ei:
        convert(src, out, "deepseek_v3", 1, 2, 32, progress=False, layout="mma_sp")
    for p in parts:
        assert p in str(ei.value), str(ei.value)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


OPT = find_samoyeds_opt()


@requires_runtime
@pytest.mark.skipif(OPT is None, reason="needs samoyeds-opt (build/bin/samoyeds-opt or "
                    "$SAMOYEDS_OPT); run scripts/build.sh")
def test_compile_fp8_checkpoint(tmp_path):
    """samoyeds-compile takes DeepSeek-V3's FP8 release as it is: routing from its
    config.json, experts dequantized with the config's block."""
    import os

    from samoyeds.compile import compile_model
    from samoyeds.serving import read_model

    src = tmp_path / "ckpt"
    t = make_fp8_checkpoint(src, (128, 128), E=4, H=128, I=128)
    out = tmp_path / "model"
    compile_model(src, out, samoyeds_opt=OPT, progress=False, log=open(os.devnull, "w"),
                  layout="mma_sp")
    m = json.loads((out / "samoyeds-model.json").read_text())
    assert m["architecture"] == "deepseek_v3" and [e["index"] for e in m["layers"]] == [1, 2]
    assert read_model(out).routing.uses_bias
    with WeightFile(out / "weights.safetensors") as wf:
        for i in LAYERS:
            w13 = np.stack([np.concatenate([dequantized_bf16(
                t, f"model.layers.{i}.mlp.experts.{e}.{p}.weight", (128, 128))
                for p in ("gate_proj", "up_proj")]) for e in range(4)])
            assert np.array_equal(unpack(wf.read(f"layers.{i}.w13")),
                                  prune_reference(w13, "bf16", 1, 2, 128))


@requires_runtime
def test_mutated_fp8_checkpoints_fail_cleanly(tmp_path):
    """Random byte flips anywhere in an FP8 checkpoint (header, FP8 codes, scales) and
    random edits of its quantization_config: every conversion either succeeds, with every
    packed weight finite, or raises ConversionError / SamoyedsError leaving no output."""
    from samoyeds import SamoyedsError
    from samoyeds.pack import to_float32

    src = tmp_path / "ckpt"
    make_fp8_checkpoint(src)
    good = (src / "model.safetensors").read_bytes()
    config = json.loads((src / "config.json").read_text())
    rng = np.random.default_rng(7)
    header = int.from_bytes(good[:8], "little") + 8
    outcomes = {"ok": 0, "error": 0}
    for trial in range(120):
        raw = bytearray(good)
        # Half the mutants hit the header (names, dtypes, shapes, offsets), half the data.
        lo, hi = (8, header) if trial % 2 else (header, len(raw))
        for _ in range(int(rng.integers(1, 6))):
            raw[int(rng.integers(lo, hi))] = int(rng.integers(0, 256))
        (src / "model.safetensors").write_bytes(bytes(raw))
        c = json.loads(json.dumps(config))
        if trial % 5 == 0:
            c["quantization_config"]["weight_block_size"] = [int(rng.integers(-2, 300)),
                                                             int(rng.integers(-2, 300))]
        (src / "config.json").write_text(json.dumps(c))
        out = tmp_path / f"out{trial}.safetensors"
        try:
            convert(src, out, "deepseek_v3", 1, 2, 32, progress=False, layout="mma_sp")
        except SamoyedsError:
            assert not out.exists()
            outcomes["error"] += 1
            continue
        with WeightFile(out) as wf:
            for i in LAYERS:
                for w in ("w13", "w2"):
                    vals = to_float32(unpack(wf.read(f"layers.{i}.{w}")), "bf16")
                    assert np.isfinite(vals).all(), (trial, i, w)
        outcomes["ok"] += 1
    assert outcomes["ok"] > 10 and outcomes["error"] > 10, outcomes
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


@requires_runtime
def test_other_quantizations_are_refused_by_their_config(tmp_path):
    """A per-tensor FP8 (or GPTQ, AWQ, ...) checkpoint is refused for its config.json, before
    its unfamiliar tensor names are met."""
    src = tmp_path / "ckpt"
    t = make_fp8_checkpoint(src)
    for name in [k for k in t if k.endswith("_scale_inv")]:
        t[name[:-len("_scale_inv")] + "_scale"] = ("F32", np.ones((), np.float32))
        del t[name]
    save_file(t, src / "model.safetensors")
    (src / "config.json").write_text(json.dumps({"model_type": "deepseek_v3",
                                                 "quantization_config": {
                                                     "quant_method": "fp8",
                                                     "activation_scheme": "static"}}))
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError, match="config.json: quantization_config: no "
                                              "weight_block_size"):
        convert(src, out, "deepseek_v3", 1, 2, 32, progress=False, layout="mma_sp")
    (src / "config.json").write_text(json.dumps({"quantization_config": {
        "quant_method": "gptq", "bits": 4}}))
    with pytest.raises(ConversionError, match="quant_method 'gptq' is not supported"):
        convert(src, out, "deepseek_v3", 1, 2, 32, progress=False, layout="mma_sp")
    assert not out.exists()


@pytest.mark.parametrize("shape,block", [((4096, 128), (1, 65536)), ((16384, 64), (3, 65536))])
def test_dequantize_edges_need_no_large_temporaries(shape, block):
    """Blocks larger than the weight: the scales of each row block are broadcast one row at a
    time (a 0.5 MiB weight in blocks of [1, 65536] had taken 1 GiB)."""
    import tracemalloc

    rng = np.random.default_rng(4)
    q = random_fp8(rng, shape)
    scale = rng.uniform(0.5, 2, scale_shape(shape, block)).astype(np.float32)
    tracemalloc.start()
    w = dequantize(q, scale, block)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * w.nbytes, peak  # w, its finiteness mask, a row of scales
    rows = np.arange(shape[0]) // block[0]
    assert np.array_equal(w, e4m3_to_float32(q) * scale[rows, 0][:, None])
