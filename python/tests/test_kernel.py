"""Tests of samoyeds.kernel.ExpertMatmul (one compiled expert matmul from torch).

GPU only: the bundle is $SAMOYEDS_TEST_KERNEL_BUNDLE (a single-ssmm bundle,
e.g. from test/GPU/gen-bundles.sh or test/GPU/gen-kernel-bundles.sh, compiled
where samoyeds-opt exists) and the result is compared with a float64
reference on the unpacked weights. Without torch, CUDA or the bundle every
test is skipped with the reason.
"""

import os

import pytest

from conftest import requires_runtime

torch = pytest.importorskip("torch", reason="torch is not installed")

from samoyeds._capi import SamoyedsError  # noqa: E402

BUNDLE = os.environ.get("SAMOYEDS_TEST_KERNEL_BUNDLE")
pytestmark = [
    requires_runtime,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: ExpertMatmul "
                       "GPU tests skipped"),
    pytest.mark.skipif(not BUNDLE, reason="SAMOYEDS_TEST_KERNEL_BUNDLE is not set"),
]


@pytest.fixture(scope="module")
def mm():
    from samoyeds.kernel import ExpertMatmul
    from samoyeds.pack import pack

    m = ExpertMatmul(BUNDLE)
    w = m.weight
    dense = (torch.randn(w["experts"], w["rows"], w["cols"]) * 0.02).to(m.dtype)
    m.packed = pack(dense, w["n"], w["m"], w["v"])
    m.upload(m.packed)
    yield m
    m.close()


@pytest.mark.parametrize("T", [1, 7, 130])
def test_matches_float64_reference(mm, T):
    from samoyeds.pack import to_float32, unpack

    E, K, R = mm.weight["experts"], mm.weight["cols"], mm.weight["rows"]
    wref = torch.from_numpy(to_float32(unpack(mm.packed), mm.weight["dtype"])).double().cuda()
    wref = wref.reshape(E, R, K)
    x = torch.randn(T, K, dtype=mm.dtype, device="cuda")
    # Every expert gets a share of a shuffled token list with repeats; the
    # last expert gets none when E > 1.
    tokens = torch.randint(0, T, (2 * T,), dtype=torch.int32, device="cuda")
    cuts = sorted(torch.randint(0, 2 * T + 1, (E - 1,)).tolist()) if E > 1 else []
    if E > 1:
        cuts[-1] = 2 * T
    offsets = torch.tensor([0] + cuts + [2 * T], dtype=torch.int32, device="cuda")
    y = torch.full((2 * T, mm.out_cols), float("nan"), dtype=mm.dtype, device="cuda")
    mm(x, tokens, offsets, y)
    torch.cuda.synchronize()
    assert not torch.isnan(y).any()
    if mm.out_cols != R:
        pytest.skip("silu_mul bundle: the reference here covers the plain epilogue")
    ref = torch.empty(2 * T, R, dtype=torch.float64, device="cuda")
    for e in range(E):
        a, b = int(offsets[e]), int(offsets[e + 1])
        ref[a:b] = x[tokens[a:b].long()].double() @ wref[e].T
    rel = ((y.double() - ref).norm() / ref.norm()).item()
    assert rel < 1e-2


def test_rejects_bad_shapes(mm):
    x = torch.randn(4, mm.weight["cols"] + 8, dtype=mm.dtype, device="cuda")
    tok = torch.zeros(4, dtype=torch.int32, device="cuda")
    off = torch.tensor([0] * mm.weight["experts"] + [4], dtype=torch.int32, device="cuda")
    with pytest.raises(SamoyedsError, match="x must be"):
        mm(x, tok, off)
    with pytest.raises(SamoyedsError, match="offsets must have shape"):
        mm(x[:, : mm.weight["cols"]].contiguous(), tok, off[:-1].contiguous())
