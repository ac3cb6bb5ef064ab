import numpy as np
import pytest

from conftest import requires_runtime
from helpers import prune_reference
from samoyeds import SamoyedsError
from samoyeds.pack import (bf16_to_float32, float32_to_bf16, pack, packed_sizes, to_storage,
                           unpack, validate)


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
    assert p.params == {"dtype": dtype, "experts": E, "rows": R, "cols": K, "n": n, "m": m, "v": v}
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
