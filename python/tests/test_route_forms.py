"""The select_dispatch kernel against the select and dispatch kernels (GPU only).

Calls of up to 4 tokens select their experts and place the routed slots in one kernel, the
dispatch's first (RouteSelect.cpp); a bundle compiled with select-dispatch=false runs the
select kernel and the dispatch kernel for every call. Both must route identically (the same
ids, weights and slot order), so the two layers' outputs are compared bit for bit, on random
logits and on tied, all-zero, infinite and NaN ones, at T = 1-4 (the fused kernel) and T = 5
(both bundles the separate kernels). Bundles: $SAMOYEDS_TEST_ROUTE_BUNDLES
(test/GPU/gen-route-bundles.sh, compiled where samoyeds-opt exists) or samoyeds-opt on this
machine. Without torch, CUDA or the bundles every test is skipped with the reason.
"""

import subprocess

import pytest

from conftest import requires_runtime
from helpers import REPO, bundle_dir

torch = pytest.importorskip("torch", reason="torch is not installed")

H, I = 256, 256  # test/GPU/gen-route-bundles.sh
LAYERS = {"e64k8": 64, "e160k6": 160}
CASES = ("random", "ties", "zero", "inf", "nan_token", "nan_expert")

pytestmark = [
    requires_runtime,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the GPU tests "
                       "of the select_dispatch kernel are skipped"),
]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    def build(opt, d):
        subprocess.run(["bash", str(REPO / "test" / "GPU" / "gen-route-bundles.sh"), opt,
                        str(d)], check=True, stdout=subprocess.DEVNULL)
        return d

    return bundle_dir("SAMOYEDS_TEST_ROUTE_BUNDLES", tmp_path_factory, "route bundles", build)


@pytest.fixture(scope="module", params=sorted(LAYERS))
def pair(request, bundles):
    """(E, fused layer, separate layer) on the same weights."""
    from samoyeds import MoELayer

    name, E = request.param, LAYERS[request.param]
    g = torch.Generator().manual_seed(5)
    w13 = (torch.randn(E, 2 * I, H, generator=g) * 0.05).to(torch.bfloat16)
    w2 = (torch.randn(E, H, I, generator=g) * 0.05).to(torch.bfloat16)
    layers = [MoELayer(bundles / f"{name}_{form}") for form in ("default", "apart")]
    for layer in layers:
        layer.set_weights(w13, w2)
    yield E, layers
    for layer in layers:
        layer.close()


def _inputs(case, E, T, seed):
    """x [T, H] and the router [E, H]; token 0 carries the special logits."""
    g = torch.Generator().manual_seed(seed)
    router = torch.randn(E, H, generator=g) * 0.05
    x = torch.randn(T, H, generator=g)
    if case == "ties":  # experts 2j and 2j + 1: equal logits for every token
        router[1::2] = router[0::2]
    elif case == "zero":  # every logit of token 0 is 0: its experts are 0 .. k-1
        x[0] = 0
    elif case == "inf":  # token 0: four logits -inf, the others large
        x[0] = 1e38
        router[4:8] = -0.05
    elif case == "nan_token":  # every logit of token 0 is NaN
        x[0, 3] = float("nan")
    elif case == "nan_expert":  # expert 5's logit is NaN for every token
        router[5, 7] = float("nan")
    return x.to(torch.bfloat16).cuda(), router.to(torch.bfloat16)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("T", [1, 2, 3, 4, 5])
def test_fused_routes_as_separate(pair, case, T):
    E, (fused, separate) = pair
    x, router = _inputs(case, E, T, 1000 * T + CASES.index(case))
    ys = []
    for layer in (fused, separate):
        layer.set_router(router)
        ys.append(layer(x))
    torch.cuda.synchronize()
    a, b = ys
    assert torch.equal(a.view(torch.int16), b.view(torch.int16)), (
        f"{case} T={T}: the fused and separate kernels differ in "
        f"{int((a.view(torch.int16) != b.view(torch.int16)).any(1).sum())} of {T} rows")
    if case in ("random", "ties", "zero"):
        assert not torch.isnan(a).any()
    if case in ("nan_token", "nan_expert"):
        assert torch.isnan(a[0]).all()
