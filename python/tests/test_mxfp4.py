"""MXFP4 checkpoints (gpt-oss's release): samoyeds.mxfp4 against its definition and against
a transcription of transformers' dequantization, and samoyeds.convert on MXFP4 gpt-oss
checkpoints, good and hostile."""
import json

import numpy as np
import pytest

from conftest import requires_runtime
from helpers import gpt_oss_biases, hf_config, prune_reference
from samoyeds.convert import ConversionError, convert
from samoyeds.mxfp4 import (E2M1_VALUES, Mxfp4Error, blocks_shape, dequantize,
                            e2m1_to_float32)
from samoyeds.pack import float32_to_bf16, unpack
from samoyeds.safetensors_io import SafetensorsFile, save_file
from samoyeds.weightfile import WeightFile

# transformers' integrations/mxfp4.py FP4_VALUES, as it lists them.
TRANSFORMERS_FP4_VALUES = [+0.0, +0.5, +1.0, +1.5, +2.0, +3.0, +4.0, +6.0,
                           -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]


def e2m1_reference(code: int) -> float:
    """The OCP E2M1 value of a 4-bit code, from its definition: sign bit 3, exponent bits
    1-2 (bias 1), mantissa bit 0; exponent 0 is subnormal (0 or 0.5)."""
    s, e, m = code >> 3, (code >> 1) & 0x3, code & 0x1
    v = m * 0.5 if e == 0 else (1 + m / 2) * 2.0 ** (e - 1)
    return -v if s else v


def test_e2m1_table_is_the_definition_and_transformers():
    got = e2m1_to_float32(np.arange(16, dtype=np.uint8))
    for code in range(16):
        assert got[code] == e2m1_reference(code) == TRANSFORMERS_FP4_VALUES[code], code
        assert np.signbit(got[code]) == bool(code & 8)
    assert list(E2M1_VALUES) == TRANSFORMERS_FP4_VALUES


def reference_dequantize(blocks, scales):
    """W [..., R, G * 32] float64 from the definition, element by element in index
    arithmetic: column c reads byte (c % 32) // 2 of block c // 32, the low nibble for an
    even c, the high one for an odd c, times 2^(scale - 127)."""
    blocks = np.asarray(blocks)
    *lead, G, _ = blocks.shape
    C = G * 32
    c = np.arange(C)
    byte = blocks[..., c // 32, (c % 32) // 2].astype(np.int64)
    nibble = np.where(c % 2 == 1, byte >> 4, byte & 0xF)
    table = np.array([e2m1_reference(k) for k in range(16)])
    return table[nibble] * np.exp2(np.asarray(scales, np.float64)[..., c // 32] - 127)


def transformers_convert_moe_packed_tensors(blocks, scales):
    """transformers' integrations/mxfp4.py convert_moe_packed_tensors (dtype bf16, one
    chunk), transcribed on the CPU: [E, R, G, 16] blocks and [E, R, G] scales -> the
    parameter it sets, [E, G * 32, R] bf16 (the dequantized rows, transposed)."""
    import torch

    blocks = torch.from_numpy(np.ascontiguousarray(blocks))
    scales = torch.from_numpy(np.ascontiguousarray(scales)).to(torch.int32) - 127
    assert blocks.shape[:-1] == scales.shape
    lut = torch.tensor(TRANSFORMERS_FP4_VALUES, dtype=torch.bfloat16)
    *prefix_shape, G, B = blocks.shape
    rows_total = int(np.prod(prefix_shape)) * G
    blocks = blocks.reshape(rows_total, B)
    scales = scales.reshape(rows_total, 1)
    out = torch.empty(rows_total, B * 2, dtype=torch.bfloat16)
    idx_lo = (blocks & 0x0F).to(torch.long)
    idx_hi = (blocks >> 4).to(torch.long)
    out[:, 0::2] = lut[idx_lo]
    out[:, 1::2] = lut[idx_hi]
    torch.ldexp(out, scales, out=out)
    out = out.reshape(*prefix_shape, G, B * 2).view(*prefix_shape, G * B * 2)
    return out.transpose(1, 2).contiguous()


def random_mxfp4(rng, shape, lo=118, hi=131):
    """(blocks, scales) of a [E, R, C] weight: random codes, scales 2^(lo-127)..2^(hi-128)."""
    blocks = rng.integers(0, 256, blocks_shape(shape), dtype=np.uint8)
    scales = rng.integers(lo, hi, blocks.shape[:-1], dtype=np.uint8)
    return blocks, scales


@pytest.mark.parametrize("R,G,lo,hi", [(64, 2, 118, 131), (5, 3, 0, 3), (7, 1, 240, 253),
                                       (16, 4, 100, 160)])
def test_dequantize_is_the_definition(R, G, lo, hi):
    """Every code and every scale (2^-127 included: 0.5 x 2^-127 is a float32 subnormal)
    dequantizes exactly, the low nibble into the even column."""
    rng = np.random.default_rng(R * G)
    blocks, scales = random_mxfp4(rng, (1, R, G * 32), lo, hi)
    got = dequantize(blocks[0], scales[0])
    assert got.dtype == np.float32 and got.shape == (R, G * 32)
    assert np.array_equal(got, reference_dequantize(blocks[0], scales[0]).astype(np.float32))
    # The largest scale, 2^127, on the codes it holds (magnitude 1.5 at most).
    blocks[0, 1, 0] &= 0x33
    scales[0, 1, 0] = 254
    got = dequantize(blocks[0], scales[0])
    assert np.array_equal(got, reference_dequantize(blocks[0], scales[0]).astype(np.float32))
    # One byte by hand: 0x7A as byte 3 of the last block g of row 2 -> columns 32 g + 6
    # (A: -1.0) and 32 g + 7 (7: 6.0), times 2^(128 - 127).
    g = G - 1
    blocks[0, 2, g, 3] = 0x7A
    scales[0, 2, g] = 128
    w = dequantize(blocks[0], scales[0])
    assert (w[2, 32 * g + 6], w[2, 32 * g + 7]) == (-2.0, 12.0)


def test_dequantize_matches_transformers():
    """transformers' convert_moe_packed_tensors (transcribed) of [E, R, G, 16] blocks is the
    transpose of the per-expert rows here, bit for bit once rounded to bf16: gpt-oss's
    gate_up_proj parameter [E, H, 2I] is w13's interleaved rows transposed."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rng = np.random.default_rng(3)
    blocks, scales = random_mxfp4(rng, (3, 48, 96), 100, 150)
    scales[0, 0, 0] = 0  # 2^-127
    want = transformers_convert_moe_packed_tensors(blocks, scales)
    assert tuple(want.shape) == (3, 96, 48)
    for e in range(3):
        mine = float32_to_bf16(dequantize(blocks[e], scales[e]))
        theirs = want[e].T.contiguous().view(torch.int16).numpy().view(np.uint16)
        assert np.array_equal(mine, theirs), e


@pytest.mark.parametrize("case,text", [
    ("nan_scale", "scale code 255 (NaN in E8M0) at [3, 1] (columns 32..63 of row 3)"),
    ("overflow", "[4, 9] overflows float32 (-6.0 x 2^127)"),
    ("blocks_shape", "expected blocks of uint8 [R, G, 16], got uint8 [8, 2, 8]"),
    ("blocks_dtype", "expected blocks of uint8 [R, G, 16], got int8"),
    ("scales_shape", "scales are uint8 [8, 1], expected uint8 [8, 2]"),
])
def test_dequantize_errors(case, text):
    rng = np.random.default_rng(5)
    blocks, scales = (a[0] for a in random_mxfp4(rng, (1, 8, 64)))
    if case == "nan_scale":
        scales[3, 1] = 255
    elif case == "overflow":
        blocks[4, 0] = 0
        blocks[4, 0, 4] = 0xF0  # column 9: the high nibble, code 0xF = -6.0
        scales[4, 0] = 254
    elif case == "blocks_shape":
        blocks = blocks[:, :, :8]
    elif case == "blocks_dtype":
        blocks = blocks.astype(np.int8)
    elif case == "scales_shape":
        scales = scales[:, :1]
    with pytest.raises(Mxfp4Error) as ei:
        dequantize(blocks, scales)
    assert text in str(ei.value)


def test_dequantize_needs_no_large_temporaries():
    import tracemalloc

    rng = np.random.default_rng(6)
    blocks, scales = (a[0] for a in random_mxfp4(rng, (1, 1024, 2048)))
    tracemalloc.start()
    w = dequantize(blocks, scales)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2.5 * w.nbytes, (peak, w.nbytes)


# --------------------------------------------------------------------------- convert

E, H, I = 4, 64, 32
X = "model.layers.{i}.mlp.experts"
MODULES_NOT_CONVERTED = ["model.layers.*.self_attn", "model.layers.*.mlp.router",
                         "model.embed_tokens", "lm_head"]


def make_mxfp4_gpt_oss(path, layers=2, E=E, H=H, I=I, seed=0, config=True, plain_down=False):
    """A tiny gpt-oss checkpoint as OpenAI's release stores it: MXFP4 experts
    (experts.{gate_up,down}_proj_blocks / _scales), BF16 biases, router and the rest, and
    config.json's quantization_config (quant_method mxfp4). ``plain_down``: down_proj in
    bf16 ([E, I, H]) instead. Returns {name: (dtype, array)}."""
    rng = np.random.default_rng(seed)
    t = {}

    def bf16(name, shape, scale=1.0):
        t[name] = ("BF16", float32_to_bf16(
            (rng.standard_normal(shape) * scale).astype(np.float32)))

    bf16("model.embed_tokens.weight", (16, H))
    for i in range(layers):
        x = X.format(i=i)
        bf16(f"model.layers.{i}.self_attn.q_proj.weight", (H, H))
        b, s = random_mxfp4(rng, (E, 2 * I, H))
        t[f"{x}.gate_up_proj_blocks"], t[f"{x}.gate_up_proj_scales"] = ("U8", b), ("U8", s)
        if plain_down:
            bf16(f"{x}.down_proj", (E, I, H))
        else:
            b, s = random_mxfp4(rng, (E, H, I))
            t[f"{x}.down_proj_blocks"], t[f"{x}.down_proj_scales"] = ("U8", b), ("U8", s)
        bf16(f"{x}.gate_up_proj_bias", (E, 2 * I))
        bf16(f"{x}.down_proj_bias", (E, H))
        bf16(f"model.layers.{i}.mlp.router.weight", (E, H))
        bf16(f"model.layers.{i}.mlp.router.bias", (E,))
    path.mkdir(parents=True, exist_ok=True)
    save_file(t, path / "model.safetensors")
    c = hf_config("gpt_oss", layers, E, H, I, 2)
    if config:
        c["quantization_config"] = {"quant_method": "mxfp4",
                                    "modules_to_not_convert": MODULES_NOT_CONVERTED}
    (path / "config.json").write_text(json.dumps(c))
    return t


def expected_w13_w2(t, i):
    """w13 [E, 2I, H] (gate rows first) and w2 [E, H, I], bf16 bits, from the definition."""
    x = X.format(i=i)
    gu = reference_dequantize(t[f"{x}.gate_up_proj_blocks"][1],
                              t[f"{x}.gate_up_proj_scales"][1])  # [E, 2I, H], interleaved
    w13 = float32_to_bf16(np.concatenate([gu[:, 0::2], gu[:, 1::2]], axis=1)
                          .astype(np.float32))
    if f"{x}.down_proj" in t:
        w2 = np.ascontiguousarray(np.swapaxes(t[f"{x}.down_proj"][1], 1, 2))
    else:
        w2 = float32_to_bf16(reference_dequantize(t[f"{x}.down_proj_blocks"][1],
                                                  t[f"{x}.down_proj_scales"][1])
                             .astype(np.float32))
    return w13, w2


def expect_packed(out, t, layers=(0, 1), n=1, m=2, v=32):
    with WeightFile(out) as wf:
        for i in layers:
            w13, w2 = expected_w13_w2(t, i)
            assert np.array_equal(unpack(wf.read(f"layers.{i}.w13")),
                                  prune_reference(w13, "bf16", n, m, v))
            assert np.array_equal(unpack(wf.read(f"layers.{i}.w2")),
                                  prune_reference(w2, "bf16", n, m, v))
    with SafetensorsFile(out) as st:
        for i in layers:
            b13, b2 = gpt_oss_biases(t, i)
            assert np.array_equal(st.get(f"layers.{i}.w13_bias"), b13)
            assert np.array_equal(st.get(f"layers.{i}.w2_bias"), b2)
            assert np.array_equal(st.get(f"layers.{i}.router_bias"),
                                  t[f"model.layers.{i}.mlp.router.bias"][1])
            assert np.array_equal(st.get(f"layers.{i}.router"),
                                  t[f"model.layers.{i}.mlp.router.weight"][1])


@requires_runtime
@pytest.mark.parametrize("config,plain_down", [(True, False), (False, False), (True, True)])
def test_convert_mxfp4_gpt_oss(tmp_path, config, plain_down):
    """OpenAI's MXFP4 release form (with or without its quantization_config; down_proj in
    bf16 beside an MXFP4 gate_up too): the packed experts are the pruning of the
    dequantized ones, de-interleaved (w13) and as they are (w2), the biases as in bf16."""
    src = tmp_path / "ckpt"
    t = make_mxfp4_gpt_oss(src, config=config, plain_down=plain_down)
    out = tmp_path / "out.safetensors"
    s = convert(src, out, "gpt_oss", 1, 2, 32, progress=False, layout="mma_sp", workers=2)
    assert s["mxfp4"] and "MXFP4" in s["source_dtypes"]
    assert ("BF16" in s["source_dtypes"]) == plain_down
    q = sum(t[f"{X.format(i=i)}.{w}_{p}"][1].nbytes for i in (0, 1) for p in ("blocks", "scales")
            for w in (("gate_up_proj",) if plain_down else ("gate_up_proj", "down_proj")))
    plain = 2 * E * I * H * 2 if plain_down else 0
    assert s["bytes_before"] == q + plain + 2 * E * (2 * I + H) * 2
    expect_packed(out, t)
    from samoyeds.convert import format_summary

    assert "MXFP4: E2M1 in blocks of 32 with E8M0 scales, dequantized in float32" in \
        format_summary(s)


@requires_runtime
def test_mxfp4_converts_as_transformers_dequantizes(tmp_path):
    """The MXFP4 checkpoint and the bf16 checkpoint transformers makes of it (its
    convert_moe_packed_tensors, transcribed: gate_up_proj [E, H, 2I], down_proj [E, I, H])
    convert to the same tensors."""
    pytest.importorskip("torch", reason="torch is not installed")
    import torch

    src = tmp_path / "mxfp4"
    t = make_mxfp4_gpt_oss(src)
    dq = {}
    for name, v in t.items():
        if name.endswith("_scales"):
            continue
        if name.endswith("_blocks"):
            base = name[:-len("_blocks")]
            w = transformers_convert_moe_packed_tensors(v[1], t[base + "_scales"][1])
            dq[base] = ("BF16", w.view(torch.int16).numpy().view(np.uint16))
        else:
            dq[name] = v
    bf = tmp_path / "bf16"
    bf.mkdir()
    save_file(dq, bf / "model.safetensors")
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    convert(src, a, "gpt_oss", 1, 2, 32, progress=False, layout="mma_sp")
    convert(bf, b, "gpt_oss", 1, 2, 32, progress=False, layout="mma_sp")
    with SafetensorsFile(a) as fa, SafetensorsFile(b) as fb:
        assert sorted(fa.keys()) == sorted(fb.keys())
        for k in fa.keys():
            assert np.array_equal(fa.get(k), fb.get(k)), k


@requires_runtime
def test_mxfp4_peak_memory_follows_the_chunk(tmp_path, monkeypatch):
    """MXFP4 experts are dequantized one at a time into the chunk being packed: with chunks
    of 512 KiB the conversion's numpy allocations stay near a chunk's, not the layer's
    (16 experts, a 4 MiB bf16 gate/up; no config.json, whose reader allocates its 16 MiB
    limit)."""
    import tracemalloc

    import samoyeds.convert as conv

    src = tmp_path / "ckpt"
    make_mxfp4_gpt_oss(src, layers=1, E=16, H=256, I=256)
    (src / "config.json").unlink()
    peaks = {}
    for chunk in (1 << 40, 1 << 19):
        monkeypatch.setattr(conv, "CHUNK_BYTES", chunk)
        tracemalloc.start()
        convert(src, tmp_path / f"out{chunk}.safetensors", "gpt_oss", 1, 2, 128,
                progress=False, layout="mma_sp", workers=1)
        peaks[chunk] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[1 << 40] > 4 << 20 and peaks[1 << 19] < 3 << 20, peaks


GU = X.format(i=1) + ".gate_up_proj"
DOWN = X.format(i=1) + ".down_proj"


def _set(t, name, value):
    t[name] = value


def _poke(name, index, value):
    def poke(t, c):
        t[name][1][index] = value
    return poke


BAD_MXFP4 = {
    "nan_scale": (_poke(GU + "_scales", (2, 5, 1), 255),
                  [f"'{GU}_blocks' (dequantized): expert 2: scale code 255 (NaN in E8M0) at "
                   f"[5, 1] (columns 32..63 of row 5)"]),
    "overflow": (lambda t, c: (t[DOWN + "_blocks"][1].__setitem__((3, 7, 0, 0), 0x07),
                               t[DOWN + "_scales"][1].__setitem__((3, 7, 0), 254)),
                 [f"'{DOWN}_blocks' (dequantized): expert 3: [7, 0] overflows float32 "
                  f"(6.0 x 2^127)"]),
    "truncated_blocks": (lambda t, c: _set(t, GU + "_blocks",
                                           ("U8", t[GU + "_blocks"][1][..., :8].copy())),
                         [f"'{GU}_blocks': U8 [4, 64, 2, 8], expected U8 [E, R, C/32, 16] "
                          f"(MXFP4 blocks: 32 E2M1 codes in 16 bytes)"]),
    "short_blocks": (lambda t, c: (_set(t, GU + "_blocks",
                                        ("U8", t[GU + "_blocks"][1][:, :, :1].copy())),
                                   _set(t, GU + "_scales",
                                        ("U8", t[GU + "_scales"][1][:, :, :1].copy()))),
                     ["layer 1: expert shapes experts.gate_up_proj_blocks [4, 64, 1, 16], "
                      "experts.down_proj_blocks [4, 64, 1, 16] do not form experts' MLPs"]),
    "scales_shape": (lambda t, c: _set(t, DOWN + "_scales", ("U8", np.zeros((4, 64), np.uint8))),
                     [f"'{DOWN}_scales': U8 [4, 64], expected U8 [4, 64, 1] (one E8M0 scale "
                      f"per block of 32 values of the [4, 64, 1, 16] blocks)"]),
    "scales_dtype": (lambda t, c: _set(t, DOWN + "_scales",
                                       ("F32", np.ones((4, 64, 1), np.float32))),
                     [f"'{DOWN}_scales': F32 [4, 64, 1], expected U8"]),
    "blocks_dtype": (lambda t, c: _set(t, GU + "_blocks",
                                       ("I8", t[GU + "_blocks"][1].view(np.int8))),
                     [f"'{GU}_blocks': I8 [4, 64, 2, 16], expected U8"]),
    "missing_scales": (lambda t, c: t.pop(GU + "_scales"),
                       [f"'{GU}_blocks': MXFP4 without its scales: missing tensor "
                        f"'{GU}_scales'"]),
    "missing_blocks": (lambda t, c: t.pop(DOWN + "_blocks"),
                       [f"'{DOWN}_scales': MXFP4 without its blocks: missing tensor "
                        f"'{DOWN}_blocks'"]),
    "both_forms": (lambda t, c: _set(t, DOWN, ("BF16", np.zeros((E, I, H), np.uint16))),
                   [f"layer 1 has both '{DOWN}' and its MXFP4 form '{DOWN}_blocks'"]),
    "missing_bias": (lambda t, c: t.pop(GU + "_bias"),
                     [f"missing tensor '{GU}_bias' (the bias of layer 1's "
                      f"experts.gate_up_proj"]),
    "quant_method": (lambda t, c: c["quantization_config"].update(quant_method="awq"),
                     ["config.json: quantization_config: quant_method 'awq' is not "
                      "supported"]),
}


@requires_runtime
@pytest.mark.parametrize("case", sorted(BAD_MXFP4))
def test_bad_mxfp4_inputs_leave_no_output(tmp_path, case):
    src = tmp_path / "ckpt"
    t = make_mxfp4_gpt_oss(src)
    for k, (dt, a) in list(t.items()):
        t[k] = (dt, np.array(a))
    config = json.loads((src / "config.json").read_text())
    damage, parts = BAD_MXFP4[case]
    damage(t, config)
    save_file(t, src / "model.safetensors")
    (src / "config.json").write_text(json.dumps(config))
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError) as ei:
        convert(src, out, "gpt_oss", 1, 2, 32, progress=False, layout="mma_sp")
    for p in parts:
        assert p in str(ei.value), str(ei.value)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


@requires_runtime
def test_mxfp4_values_past_f16_are_refused_where_they_are(tmp_path):
    """--dtype f16: a dequantized value above 65504 is named in the dequantized "out x in"
    rows of its tensor (0.5 x 2^17 at gate_up row 9, column 33: up row 4 of w13)."""
    src = tmp_path / "ckpt"
    t = make_mxfp4_gpt_oss(src)
    t[GU + "_blocks"][1][1, 9, 1, 0] = 0x10  # column 33: the high nibble, 0.5
    t[GU + "_scales"][1][1, 9, 1] = 127 + 17
    save_file(t, src / "model.safetensors")
    out = tmp_path / "out.safetensors"
    with pytest.raises(ConversionError, match=rf"'{GU}_blocks' \(dequantized\): the value at "
                                              rf"\[1, 9, 33\] is not finite in f16"):
        convert(src, out, "gpt_oss", 1, 2, 32, dtype="f16", progress=False, layout="mma_sp")
    assert not out.exists()


@requires_runtime
def test_truncated_mxfp4_file_is_refused(tmp_path):
    from samoyeds import SamoyedsError

    src = tmp_path / "ckpt"
    make_mxfp4_gpt_oss(src)
    raw = (src / "model.safetensors").read_bytes()
    (src / "model.safetensors").write_bytes(raw[:-1000])
    out = tmp_path / "out.safetensors"
    with pytest.raises(SamoyedsError, match="truncated"):
        convert(src, out, "gpt_oss", 1, 2, 32, progress=False, layout="mma_sp")
    assert not out.exists()


@requires_runtime
def test_mxfp4_config_is_gpt_oss_only(tmp_path):
    """quant_method mxfp4 is gpt-oss's release: another family's checkpoint saying so is
    refused for its config.json, before its tensors are read."""
    from helpers import make_hf_checkpoint

    src = tmp_path / "ckpt"
    make_hf_checkpoint(src, "mixtral", layers=1, E=E, H=H, I=I,
                       config={"quantization_config": {"quant_method": "mxfp4"}})
    with pytest.raises(ConversionError, match="config.json: quantization_config: quant_method "
                                              "'mxfp4' is supported for gpt_oss only"):
        convert(src, tmp_path / "o.safetensors", "mixtral", 1, 2, 32, progress=False)
