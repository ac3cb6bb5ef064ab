"""The select_dispatch kernel against the select and dispatch kernels (GPU only).

Calls of up to 4 tokens select their experts and place the routed slots in one kernel, the
dispatch's first (RouteSelect.cpp); a bundle compiled with select-dispatch=false runs the
select kernel and the dispatch kernel for every call. Both must route identically (the same
ids, weights and slot order), so the two layers' outputs are compared bit for bit, on random
logits and on tied, all-zero, infinite and NaN ones, at T = 1-4 (the fused kernel) and T = 5
(both bundles the separate kernels). Calls of at least 8192 routed slots place them over
chunks of 1024 slots (RoutingChunked.cpp: a counts table, then each chunk's placement); a
bundle compiled with chunked-dispatch=false places them with the per-expert `_long` kernel:
both must give the same token list, offsets and positions, so again the layers' outputs
agree bit for bit, from the first such call through a partial last chunk, also when every
token picks one expert or half the experts have none. Bundles: $SAMOYEDS_TEST_ROUTE_BUNDLES
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
TOP_K = {"e64k8": 8, "e160k6": 6}
CASES = ("random", "ties", "zero", "inf", "nan_token", "nan_expert")
LARGE_CASES = CASES + ("one_expert", "half_empty")
CHUNK_SLOTS, LONG_SLOTS = 1024, 8192  # RoutingChunked.cpp, KernelUtils.h

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


def _layers(bundles, name, forms):
    """The layer `name` compiled as each of `forms`, on the same weights."""
    from samoyeds import MoELayer

    E = LAYERS[name]
    g = torch.Generator().manual_seed(5)
    w13 = (torch.randn(E, 2 * I, H, generator=g) * 0.05).to(torch.bfloat16)
    w2 = (torch.randn(E, H, I, generator=g) * 0.05).to(torch.bfloat16)
    layers = [MoELayer(bundles / f"{name}_{form}") for form in forms]
    for layer in layers:
        layer.set_weights(w13, w2)
    return layers


@pytest.fixture(scope="module", params=sorted(LAYERS))
def pair(request, bundles):
    """(E, fused layer, separate layer) on the same weights."""
    layers = _layers(bundles, request.param, ("default", "apart"))
    yield LAYERS[request.param], layers
    for layer in layers:
        layer.close()


@pytest.fixture(scope="module", params=sorted(LAYERS))
def chunk_pair(request, bundles):
    """(E, top_k, chunked layer, unchunked layer) on the same weights."""
    layers = _layers(bundles, request.param, ("default", "unchunked"))
    yield LAYERS[request.param], TOP_K[request.param], layers
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
    elif case == "one_expert":  # every token's first choice is expert 3
        x[:, 0] = 4
        router[:, 0] = 0
        router[3, 0] = 5
    elif case == "half_empty":  # experts E/2 .. E-1 are never chosen
        x[:, 0] = 4
        router[:, 0] = 0
        router[E // 2:, 0] = -5
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


def _large_tokens(top_k):
    """The first T of the chunked kernels, one with a partial last chunk, and more."""
    first = -(-LONG_SLOTS // top_k)
    return (first, first + 1 + CHUNK_SLOTS // (2 * top_k), 4099)


@pytest.mark.parametrize("case", LARGE_CASES)
@pytest.mark.parametrize("which", [0, 1, 2])
def test_chunked_dispatch_as_unchunked(chunk_pair, case, which):
    E, top_k, (chunked, unchunked) = chunk_pair
    T = _large_tokens(top_k)[which]
    x, router = _inputs(case, E, T, 7000 + 10 * which + LARGE_CASES.index(case))
    ys = []
    for layer in (chunked, unchunked):
        layer.set_router(router)
        ys.append(layer(x))
    torch.cuda.synchronize()
    a, b = (y.view(torch.int16) for y in ys)
    assert torch.equal(a, b), (
        f"{case} T={T}: the chunked and unchunked dispatch differ in "
        f"{int((a != b).any(1).sum())} of {T} rows")
    if case in ("random", "ties", "zero", "one_expert", "half_empty"):
        assert not torch.isnan(ys[0]).any()
