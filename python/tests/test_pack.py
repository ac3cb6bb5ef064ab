import numpy as np
import pytest

from conftest import requires_runtime
from helpers import prune_reference, wgmma_from_mma_sp
from samoyeds import SamoyedsError
from samoyeds.pack import (LAYOUTS, bf16_to_float32, float32_to_bf16, pack, packed_sizes,
                           relayout, to_storage, unpack, validate)


def _each_refused(calls, text):
    """Every call raises SY_ERR_INVALID_ARGUMENT with `text` in its message."""
    for call in calls:
        with pytest.raises(SamoyedsError) as ei:
            call()
        assert ei.value.status_name == "SY_ERR_INVALID_ARGUMENT"
        assert text in ei.value.message, ei.value.message


def test_float32_to_bf16_rounds_to_nearest_even():
    one = np.float32(1.0)
    ulp = np.float32(2.0 ** -7)  # bf16 spacing at 1.0
    x = np.array([1.0, 1.0 + ulp / 2, 1.0 + 3 * ulp / 2, 1.0 + ulp / 2 + 2.0 ** -20, -2.5,
                  np.inf, -np.inf, 0.0, -0.0], dtype=np.float32)
    got = float32_to_bf16(x)
    assert got.dtype == np.uint16
    assert list(got) == [0x3F80, 0x3F80, 0x3F82, 0x3F81, 0xC020, 0x7F80, 0xFF80, 0x0000, 0x8000]
    nan = float32_to_bf16(np.array([np.nan], np.float32))[0]
    assert (nan & 0x7F80) == 0x7F80 and (nan & 0x7F) != 0 and (nan & 0x40)
    # Exact round trip of representable values.
    bits = np.arange(0, 0x7F80, 7, dtype=np.uint16)
    assert np.array_equal(float32_to_bf16(bf16_to_float32(bits)), bits)
    assert one == bf16_to_float32(np.array([0x3F80], np.uint16))[0]


def test_float32_to_bf16_on_every_kind_of_bit_pattern():
    """Against round-to-nearest-even computed in Python integers: random patterns, the
    largest finite values (no carry into the infinities' pattern but for rounding up), and
    NaNs whose sum with the rounding bias passes 2^32."""
    rng = np.random.default_rng(3)
    u = np.concatenate([rng.integers(0, 1 << 32, 200000, dtype=np.uint64),
                        np.arange(0x7F7F0000, 0x7F800001, 997), np.arange(0xFF7F0000, 0xFF800001, 997),
                        np.arange(0xFFFF0000, 1 << 32, 61), np.arange(0x7F800001, 0x7F810000, 89),
                        [0, 0x80000000, 0x00008000, 0x00018000, 0xFFFFFFFF, 0x7FFFFFFF]]).astype(np.uint32)
    got = float32_to_bf16(u.view(np.float32))
    for bits, g in zip(u.tolist(), got.tolist()):
        if (bits & 0x7FFFFFFF) > 0x7F800000:
            assert g == ((bits >> 16) | 0x40) & 0xFFFF, hex(bits)
        else:
            assert g == ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF, hex(bits)


@requires_runtime
@pytest.mark.parametrize("dtype,shape,nmv", [
    ("bf16", (2, 64, 128), (1, 2, 64)),
    ("bf16", (1, 64, 64), (1, 4, 32)),
    ("f16", (3, 32, 96), (1, 2, 32)),
    ("bf16", (2, 32, 64), (2, 2, 32)),
])
def test_pack_unpack_round_trip(dtype, shape, nmv):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    dense = to_storage(x, dtype)
    n, m, v = nmv
    p = pack(dense, n, m, v, dtype)
    E, R, K = shape
    sizes = packed_sizes(E, R, K, n, m, v)
    assert (p.values.nbytes, p.meta.nbytes, p.row_idx.nbytes) == sizes
    assert p.values.nbytes == E * (R * n // m) * K
    assert (p.row_idx.nbytes == 0) == (n == m)
    assert p.params == {"dtype": dtype, "experts": E, "rows": R, "cols": K, "n": n, "m": m, "v": v,
                        "layout": "mma_sp"}
    back = unpack(p)
    assert back.shape == shape and back.dtype == np.uint16
    assert np.array_equal(back, prune_reference(dense, dtype, n, m, v))
    # Float input is rounded to the weight dtype first.
    assert np.array_equal(unpack(pack(x, n, m, v, dtype)), back)


@requires_runtime
def test_pack_2d_is_one_expert():
    x = np.random.default_rng(2).standard_normal((32, 64)).astype(np.float32)
    p = pack(x, 1, 2, 32)
    assert p.experts == 1
    assert unpack(p).shape == (1, 32, 64)


@requires_runtime
@pytest.mark.parametrize("nmv,shape,text", [
    ((1, 2, 48), (1, 64, 96), "v = 48 must be a positive multiple of 32"),
    ((1, 2, 64), (1, 48, 128), "kept rows"),
    ((3, 2, 64), (1, 64, 128), "n = 3"),
    ((1, 2, 128), (1, 64, 64), "cols = 64 must be a multiple of v = 128"),
])
def test_invalid_parameters_raise(nmv, shape, text):
    dense = np.zeros(shape, np.uint16)
    with pytest.raises(SamoyedsError) as ei:
        pack(dense, *nmv)
    assert ei.value.status_name == "SY_ERR_INVALID_ARGUMENT"
    assert text in ei.value.message
    assert "sy_pack_weight" in ei.value.message
    with pytest.raises(SamoyedsError) as ei:
        validate(*shape, *nmv)
    assert text in ei.value.message


@requires_runtime
def test_unpack_checks_sizes():
    p = pack(np.ones((64, 128), np.float32), 1, 2, 64)
    p.meta = p.meta[:-4]
    with pytest.raises(SamoyedsError) as ei:
        unpack(p)
    assert ei.value.status_name == "SY_ERR_SIZE_MISMATCH"
    assert "part 'meta'" in ei.value.message


def test_unsupported_input_dtype():
    with pytest.raises(TypeError):
        to_storage(np.zeros((4, 4), np.int32))
    with pytest.raises(ValueError):
        to_storage(np.zeros((4, 4), np.float32), "f32")


@requires_runtime
def test_torch_tensors():
    torch = pytest.importorskip("torch", reason="torch is not installed (optional)")
    x = torch.randn(2, 32, 64, dtype=torch.bfloat16)
    p = pack(x, 1, 2, 32)
    bits = x.view(torch.int16).numpy().view(np.uint16)
    assert np.array_equal(unpack(p), prune_reference(bits, "bf16", 1, 2, 32))


# ------------------------------------------------------------------- layouts

WGMMA_CASES = [
    ("bf16", (2, 128, 128), (1, 2, 64)),
    ("f16", (1, 256, 384), (1, 4, 128)),
    ("bf16", (2, 64, 256), (2, 2, 32)),
    ("f16", (1, 256, 128), (3, 4, 64)),
    ("bf16", (1, 512, 256), (1, 8, 32)),
]


def _dense(dtype, shape, seed=3):
    return to_storage(np.random.default_rng(seed).standard_normal(shape).astype(np.float32), dtype)


def test_layout_names():
    assert LAYOUTS == ("mma_sp", "wgmma")


@requires_runtime
@pytest.mark.parametrize("dtype,shape,nmv", WGMMA_CASES)
def test_wgmma_bytes_follow_the_format_formulas(dtype, shape, nmv):
    """C++ (through the C API) against the numpy transcription of Format.md's formulas."""
    dense = _dense(dtype, shape)
    E, R, K = shape
    n, m, v = nmv
    s = pack(dense, n, m, v, dtype)
    g = pack(dense, n, m, v, dtype, layout="wgmma")
    assert (s.layout, g.layout) == ("mma_sp", "wgmma")
    assert g.params == dict(s.params, layout="wgmma")
    assert (g.values.nbytes, g.meta.nbytes, g.row_idx.nbytes) == packed_sizes(E, R, K, n, m, v,
                                                                            "wgmma")
    want_values, want_meta = wgmma_from_mma_sp(s.values, s.meta, E, R * n // m, K)
    assert not np.array_equal(g.values, s.values)
    assert np.array_equal(g.values, want_values)
    assert np.array_equal(g.meta, want_meta)
    assert np.array_equal(g.row_idx, s.row_idx)
    assert np.array_equal(unpack(g), prune_reference(dense, dtype, n, m, v))


@requires_runtime
@pytest.mark.parametrize("dtype,shape,nmv", WGMMA_CASES[:3])
def test_relayout_is_pack_in_the_other_layout(dtype, shape, nmv):
    dense = _dense(dtype, shape, seed=8)
    s = pack(dense, *nmv, dtype)
    g = pack(dense, *nmv, dtype, layout="wgmma")
    s2g, g2s = relayout(s, "wgmma"), relayout(g, "mma_sp")
    assert (s2g.layout, g2s.layout) == ("wgmma", "mma_sp")
    for a, b in ((s2g, g), (g2s, s)):
        assert a.params == b.params
        assert np.array_equal(a.values, b.values)
        assert np.array_equal(a.meta, b.meta)
        assert np.array_equal(a.row_idx, b.row_idx)
    assert np.array_equal(unpack(s), unpack(g))
    same = relayout(g, "wgmma")
    assert np.array_equal(same.values, g.values) and same.values is not g.values


@requires_runtime
def test_relayout_permutes_any_bytes():
    """Words no packer writes still only move (a pure permutation)."""
    p = pack(np.zeros((2, 128, 256), np.float32), 1, 2, 64)
    rng = np.random.default_rng(5)
    p.values = rng.integers(0, 256, p.values.shape, dtype=np.uint8)
    p.meta = rng.integers(0, 256, p.meta.shape, dtype=np.uint8)
    g = relayout(p, "wgmma")
    want_values, want_meta = wgmma_from_mma_sp(p.values, p.meta, 2, 64, 256)
    assert np.array_equal(g.values, want_values) and np.array_equal(g.meta, want_meta)
    back = relayout(g, "mma_sp")
    assert np.array_equal(back.values, p.values) and np.array_equal(back.meta, p.meta)


@requires_runtime
@pytest.mark.parametrize("shape,nmv,text", [
    ((1, 64, 256), (1, 2, 64), "layout wgmma needs kept rows rows*n/m = 32 (rows = 64) to be a "
                               "multiple of 64"),
    ((1, 128, 256), (3, 4, 64), "layout wgmma needs kept rows rows*n/m = 96"),
    ((1, 64, 192), (1, 2, 64), "layout wgmma needs kept rows rows*n/m = 32"),
])
def test_wgmma_rejects_shapes_it_cannot_hold(shape, nmv, text):
    dense = np.ones(shape, np.float32)
    validate(*shape, *nmv)  # fine in mma_sp
    p = pack(dense, *nmv)
    _each_refused((lambda: pack(dense, *nmv, layout="wgmma"),
                   lambda: validate(*shape, *nmv, layout="wgmma"),
                   lambda: packed_sizes(*shape, *nmv, "wgmma"),
                   lambda: relayout(p, "wgmma")), text)


@requires_runtime
@pytest.mark.parametrize("bad", ["WGMMA", "mma-sp", "", "sparse", None, 1])
def test_bad_layout_names_raise(bad):
    dense = np.ones((128, 128), np.float32)
    p = pack(dense, 1, 2, 64, layout="wgmma")
    calls = [lambda: pack(dense, 1, 2, 64, layout=bad),
             lambda: validate(1, 128, 128, 1, 2, 64, bad),
             lambda: relayout(p, bad)]
    p_bad = pack(dense, 1, 2, 64)
    p_bad.layout = bad
    calls.append(lambda: unpack(p_bad))
    for call in calls:
        with pytest.raises(ValueError, match=r"unknown weight layout .*expected 'mma_sp' or 'wgmma'"):
            call()


@requires_runtime
def test_unpack_reads_the_stated_layout():
    """A wgmma weight labelled mma_sp unpacks to something else: unpack honours the label."""
    dense = _dense("bf16", (1, 128, 256), seed=11)
    g = pack(dense, 1, 2, 64, layout="wgmma")
    want = prune_reference(dense, "bf16", 1, 2, 64)
    assert np.array_equal(unpack(g), want)
    g.layout = "mma_sp"
    assert not np.array_equal(unpack(g), want)


# ------------------------------------------------- wgmma pads K to a multiple of 128

PADDED_CASES = [
    ("bf16", (3, 128, 192), (1, 2, 64)),
    ("f16", (2, 256, 320), (1, 2, 32)),
    ("bf16", (2, 64, 320), (2, 2, 64)),
    ("f16", (1, 128, 192), (2, 2, 32)),
    ("bf16", (1, 128, 96), (1, 2, 32)),
]


def _padded(dense, kp):
    """``dense`` with zero columns appended up to ``kp``."""
    E, R, K = dense.shape
    out = np.zeros((E, R, kp), np.uint16)
    out[:, :, :K] = dense
    return out


@requires_runtime
@pytest.mark.parametrize("dtype,shape,nmv", PADDED_CASES)
def test_wgmma_pads_k_to_a_multiple_of_128(dtype, shape, nmv):
    """Values and meta as if K were Kp = roundUp(K, 128), the padding zero values and 0x4
    nibbles: the numpy transcription of Format.md applied to the mma_sp pack of the weight
    with Kp - K zero columns appended (whose chunks keep entries 0 and 1). row_idx has the
    K / v spans of the weight, unpadded."""
    E, R, K = shape
    n, m, v = nmv
    kp = -(-K // 128) * 128
    rk = R * n // m
    dense = _dense(dtype, shape, seed=21)
    s = pack(dense, n, m, v, dtype)
    g = pack(dense, n, m, v, dtype, layout="wgmma")
    assert packed_sizes(E, R, K, n, m, v) == (E * rk * K, E * rk * K // 8,
                                              0 if n == m else E * K // v * rk)
    assert packed_sizes(E, R, K, n, m, v, "wgmma") == (E * rk * kp, E * rk * kp // 8,
                                                       0 if n == m else E * K // v * rk)
    assert (g.values.nbytes, g.meta.nbytes, g.row_idx.nbytes) == packed_sizes(
        E, R, K, n, m, v, "wgmma")
    sp = pack(_padded(dense, kp), n, m, v, dtype)
    want_values, want_meta = wgmma_from_mma_sp(sp.values, sp.meta, E, rk, kp)
    assert np.array_equal(g.values, want_values)
    assert np.array_equal(g.meta, want_meta)
    assert np.array_equal(g.row_idx, s.row_idx)
    # Unpacking ignores the padding; relayout writes it and drops it.
    assert np.array_equal(unpack(g), prune_reference(dense, dtype, n, m, v))
    for a, b in ((relayout(s, "wgmma"), g), (relayout(g, "mma_sp"), s)):
        assert a.layout == b.layout
        assert np.array_equal(a.values, b.values) and np.array_equal(a.meta, b.meta)
        assert np.array_equal(a.row_idx, b.row_idx)


@requires_runtime
def test_k_multiple_of_128_and_mma_sp_sizes_are_unchanged():
    """Where K % 128 == 0 both layouts have the same sizes (and mma_sp never pads)."""
    for shape, nmv in (((2, 128, 256), (1, 2, 64)), ((1, 256, 384), (1, 4, 128)),
                       ((2, 64, 128), (2, 2, 32))):
        E, R, K = shape
        n, m, v = nmv
        sizes = packed_sizes(*shape, *nmv)
        assert sizes == packed_sizes(*shape, *nmv, "wgmma")
        assert sizes[0] == E * (R * n // m) * K
    assert packed_sizes(1, 128, 2880, 1, 2, 64) == (64 * 2880, 64 * 2880 // 8, 45 * 64)
    assert packed_sizes(1, 128, 2880, 1, 2, 64, "wgmma") == (64 * 2944, 64 * 2944 // 8,
                                                             45 * 64)


@requires_runtime
@pytest.mark.parametrize("part,offset,value,text", [
    # Expert 1's last k block (from 16384 + 8192): kept row 2 stores logical chunk
    # 7 ^ 2 = 5 (compressed columns 104..111, past K / 2 = 96) at chunk 7.
    ("values", 16384 + 8192 + 2 * 128 + 7 * 16, 0x3C,
     "values: byte 24944 (expert 1, kept row 2, compressed column 104: padding past "
     "cols = 192) is 0x3c, not 0: layout wgmma pads the values with zeros"),
    # Expert 1 (from byte 2048), 64-byte meta block 6 * 4 + 3: kept rows 48..63, k step 6.
    ("meta", 2048 + 27 * 64 + 10, 0x94,
     "meta: byte 3786 (expert 1, kept rows 48..63, k step 6: padding past cols = 192) "
     "holds nibble 0x9, not 0x4: layout wgmma pads the metadata with 0x4"),
])
def test_wgmma_padding_that_is_not_the_packers_is_refused(part, offset, value, text):
    g = pack(_dense("bf16", (2, 128, 192), seed=22), 1, 2, 64, layout="wgmma")
    getattr(g, part)[offset] = value
    _each_refused((lambda: unpack(g), lambda: relayout(g, "mma_sp"),
                   lambda: relayout(g, "wgmma")), text)


@requires_runtime
def test_padded_sizes_that_overflow_are_refused():
    # The dense size (2^56 x 32 x 2 bytes) fits, the padded values (2^56 x 128) do not.
    with pytest.raises(SamoyedsError) as ei:
        packed_sizes(1, 2 ** 56, 32, 2, 2, 32, "wgmma")
    assert ("layout wgmma pads cols = 32 to 128: experts x kept rows x padded cols = 1 x "
            "72057594037927936 x 128 is too large") in ei.value.message, ei.value.message
