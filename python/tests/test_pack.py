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
    assert LAYOUTS == ("mma_sp", "wgmma", "wgmma_halves")


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
@pytest.mark.parametrize("shape,nmv,layout,text", [
    ((1, 128, 256), (3, 4, 64), "wgmma", "layout wgmma pads the 96 kept rows to 128: n = 3 "
                                         "must divide 64 (padding rows form whole groups of n)"),
    ((1, 64, 192), (3, 4, 64), "wgmma", "layout wgmma pads the 48 kept rows to 64: n = 3"),
    ((1, 256, 256), (3, 4, 64), "wgmma_halves", "layout wgmma_halves pads the 96 kept rows of "
                                                "each half to 128: n = 3 must divide 64"),
    ((1, 16, 256), (16, 16, 64), "wgmma_halves", "layout wgmma_halves needs rows = 16 to be a "
                                                 "multiple of 2*m = 32 (each half whole row "
                                                 "groups)"),
])
def test_wgmma_rejects_shapes_it_cannot_hold(shape, nmv, layout, text):
    dense = np.ones(shape, np.float32)
    validate(*shape, *nmv)  # fine in mma_sp
    p = pack(dense, *nmv)
    _each_refused((lambda: pack(dense, *nmv, layout=layout),
                   lambda: validate(*shape, *nmv, layout=layout),
                   lambda: packed_sizes(*shape, *nmv, layout),
                   lambda: relayout(p, layout)), text)


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
        with pytest.raises(ValueError, match=r"unknown weight layout .*expected 'mma_sp', "
                                             r"'wgmma' or 'wgmma_halves'"):
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
    # 32 x 2^56, 1:2: the dense size fits; wgmma_halves' 2 x 64 stored kept rows do not.
    with pytest.raises(SamoyedsError) as ei:
        packed_sizes(1, 32, 2 ** 56, 1, 2, 32, "wgmma_halves")
    assert ("layout wgmma_halves pads cols = 72057594037927936 to 72057594037927936 and kept "
            "rows rows*n/m = 16 to 128: experts x stored kept rows x padded cols = 1 x 128 x "
            "72057594037927936 is too large") in ei.value.message, ei.value.message


# ------------------------------------ the wgmma layouts pad the kept rows to 64-row tiles

ROW_PADDED_CASES = [
    ("wgmma", "bf16", (2, 160, 128), (1, 2, 32)),
    ("wgmma", "f16", (1, 80, 256), (2, 2, 64)),
    ("wgmma", "bf16", (2, 160, 96), (2, 4, 32)),
    ("wgmma_halves", "bf16", (2, 160, 160), (1, 2, 32)),
    ("wgmma_halves", "f16", (2, 160, 128), (2, 4, 64)),
    ("wgmma_halves", "bf16", (1, 384, 2880), (1, 4, 64)),
]


def _zero_rows(dense, parts, n, m):
    """``dense`` with zero rows appended to each of ``parts`` parts (the halves of
    wgmma_halves), as many as pad the part's kept rows to a multiple of 64."""
    E, R, K = dense.shape
    rows = R // parts
    padded = -(-(rows // m * n) // 64) * 64 // n * m
    out = np.zeros((E, parts * padded, K), np.uint16)
    for q in range(parts):
        out[:, q * padded:q * padded + rows] = dense[:, q * rows:(q + 1) * rows]
    return out


@requires_runtime
@pytest.mark.parametrize("layout,dtype,shape,nmv", ROW_PADDED_CASES)
def test_wgmma_layouts_pad_the_kept_rows(layout, dtype, shape, nmv):
    """Values, meta and row_idx over Rs = P * roundUp(Rk / P, 64) stored kept rows: the numpy
    transcription of Format.md applied to the mma_sp pack of the weight with zero rows
    appended to each part and zero columns up to Kp (zero groups keep their first n rows,
    row_idx 0..n-1; zero chunks entries 0 and 1). Unpacking ignores the padding; relayout
    among the layouts writes and drops it."""
    E, R, K = shape
    n, m, v = nmv
    parts = 2 if layout == "wgmma_halves" else 1
    kp = -(-K // 128) * 128
    rs = parts * (-(-(R * n // m // parts) // 64) * 64)
    assert rs != R * n // m
    dense = _dense(dtype, shape, seed=23)
    g = pack(dense, n, m, v, dtype, layout=layout)
    sizes = (E * rs * kp, E * rs * kp // 8, 0 if n == m else E * K // v * rs)
    assert packed_sizes(E, R, K, n, m, v, layout) == sizes
    assert (g.values.nbytes, g.meta.nbytes, g.row_idx.nbytes) == sizes
    zp = pack(_padded(_zero_rows(dense, parts, n, m), kp), n, m, v, dtype)
    want_values, want_meta = wgmma_from_mma_sp(zp.values, zp.meta, E, rs, kp)
    assert np.array_equal(g.values, want_values)
    assert np.array_equal(g.meta, want_meta)
    if n < m:  # the zero-padded weight's first K / v spans (row_idx is not padded along K)
        want_ri = zp.row_idx.reshape(E, kp // v, rs)[:, :K // v]
        assert np.array_equal(g.row_idx, want_ri.ravel())
    assert np.array_equal(unpack(g), prune_reference(dense, dtype, n, m, v))
    packs = {lay: pack(dense, n, m, v, dtype, layout=lay) for lay in LAYOUTS
             if _valid(E, R, K, n, m, v, lay)}
    assert len(packs) == 3
    for a in packs.values():
        for b in packs.values():
            c = relayout(a, b.layout)
            assert c.layout == b.layout
            assert np.array_equal(c.values, b.values) and np.array_equal(c.meta, b.meta)
            assert np.array_equal(c.row_idx, b.row_idx)


def _valid(*args):
    try:
        validate(*args)
        return True
    except SamoyedsError:
        return False


@requires_runtime
def test_halves_without_padding_rows_are_wgmma_bytes():
    """Where neither half is padded (Rk / 2 % 64 == 0), wgmma_halves is wgmma byte for byte."""
    dense = _dense("bf16", (2, 256, 192), seed=24)
    g, h = (pack(dense, 1, 2, 64, layout=lay) for lay in ("wgmma", "wgmma_halves"))
    assert h.layout == "wgmma_halves"
    for part in ("values", "meta", "row_idx"):
        assert np.array_equal(getattr(g, part), getattr(h, part))


@requires_runtime
@pytest.mark.parametrize("part,offset,value,text", [
    # 2 experts of 160 x 128, 2:4:64: halves of 40 kept rows, each padded to 64. Expert 1
    # (from byte 16384), stored row 50 (half 0, padding row 10), chunk 0.
    ("values", 16384 + 50 * 128, 0x3C,
     "values: byte 22784 (expert 1, stored kept row 50: padding row 10 of half 0 past its 40 "
     "kept rows) is 0x3c, not 0: layout wgmma_halves pads the values with zeros"),
    # Expert 0, meta block (T = 1, ks = 1, w = 2) = 22, word 12 (rows 102 and 110), byte 2:
    # stored row 110 (half 1, padding row 6).
    ("meta", 22 * 64 + 12 * 4 + 2, 0x49,
     "meta: byte 1458 (expert 0, stored kept row 110: padding row 6 of half 1 past its 40 "
     "kept rows) holds nibble 0x9, not 0x4: layout wgmma_halves pads the metadata with 0x4"),
    # Expert 1 (from byte 256), span 1, stored row 105 (half 1, padding row 1: row_idx 1).
    ("row_idx", 256 + 128 + 105, 7,
     "row_idx: byte 489 (expert 1, span 1, stored kept row 105: padding row 1 of half 1 past "
     "its 40 kept rows) is 7, not 1: layout wgmma_halves pads row_idx with the padding row's "
     "index modulo n = 2"),
])
def test_row_padding_that_is_not_the_packers_is_refused(part, offset, value, text):
    h = pack(_dense("bf16", (2, 160, 128), seed=25), 2, 4, 64, layout="wgmma_halves")
    getattr(h, part)[offset] = value
    _each_refused([lambda: unpack(h)] + [lambda lay=lay: relayout(h, lay) for lay in LAYOUTS],
                  text)
