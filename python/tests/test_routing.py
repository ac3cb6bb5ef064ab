"""Routing conventions: the float64 numpy reference against hand-computed cases, the
conventions read from config.json, and the torch implementation against the reference
(skipped without torch)."""

import math

import numpy as np
import pytest

from samoyeds.routing import (RoutingError, RoutingSpec, route_numpy, route_torch,
                              routing_from_config)

try:
    import torch
except ImportError:  # pragma: no cover - CI without torch
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed: the torch "
                                    "routing is compared with the numpy reference only where "
                                    "torch is (pip install torch)")


def softmax(z):
    e = np.exp(np.asarray(z, np.float64) - np.max(z))
    return e / e.sum()


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, np.float64)))


# --------------------------------------------------------------------------- config.json

CONFIGS = {
    "mixtral": {"model_type": "mixtral", "num_local_experts": 8, "num_experts_per_tok": 2},
    "qwen2_moe": {"model_type": "qwen2_moe", "num_experts": 60, "num_experts_per_tok": 4,
                  "norm_topk_prob": False},
    "qwen3_moe": {"model_type": "qwen3_moe", "num_experts": 128, "num_experts_per_tok": 8,
                  "norm_topk_prob": True},
    "olmoe": {"model_type": "olmoe", "num_experts": 64, "num_experts_per_tok": 8},
    "deepseek_v2": {"model_type": "deepseek_v2", "n_routed_experts": 160,
                    "num_experts_per_tok": 6, "topk_method": "group_limited_greedy",
                    "n_group": 8, "topk_group": 3, "routed_scaling_factor": 16.0,
                    "norm_topk_prob": False, "scoring_func": "softmax"},
    "deepseek_v3": {"model_type": "deepseek_v3", "n_routed_experts": 256,
                    "num_experts_per_tok": 8, "topk_method": "noaux_tc", "n_group": 8,
                    "topk_group": 4, "routed_scaling_factor": 2.5, "norm_topk_prob": True},
    # GLM-4.5's config.json: DeepSeek-V3's router, one group, no topk_method key.
    "glm4_moe": {"model_type": "glm4_moe", "n_routed_experts": 160, "n_shared_experts": 1,
                 "num_experts_per_tok": 8, "n_group": 1, "topk_group": 1,
                 "routed_scaling_factor": 2.5, "norm_topk_prob": True},
    # Kimi-K2's (model_type kimi_k2, the DeepSeek-V3 architecture): 384 experts, one group.
    "kimi_k2": {"model_type": "kimi_k2", "n_routed_experts": 384, "num_experts_per_tok": 8,
                "n_group": 1, "topk_group": 1, "topk_method": "noaux_tc",
                "scoring_func": "sigmoid", "routed_scaling_factor": 2.827,
                "norm_topk_prob": True},
    # MiniMax-M2's: 256 experts, top-8, sigmoid scores with the block's selection bias.
    "minimax_m2": {"model_type": "minimax_m2", "num_local_experts": 256,
                   "num_experts_per_tok": 8, "scoring_func": "sigmoid",
                   "use_routing_bias": True},
    # ERNIE-4.5-21B-A3B's: moe_k of moe_num_experts, the block's selection bias.
    "ernie4_5_moe": {"model_type": "ernie4_5_moe", "moe_num_experts": 64, "moe_k": 6,
                     "moe_norm_min": 1e-12, "moe_num_shared_experts": 2},
    # Granite-4.0-H-Tiny's (granitemoehybrid; GraniteMoE's router): top-6 of 64 experts.
    "granitemoehybrid": {"model_type": "granitemoehybrid", "num_local_experts": 64,
                         "num_experts_per_tok": 6, "shared_intermediate_size": 1024},
    # Qwen3-Next-80B-A3B's: Qwen2-MoE's router (a gated shared expert), renormalised.
    "qwen3_next": {"model_type": "qwen3_next", "num_experts": 512, "num_experts_per_tok": 10,
                   "norm_topk_prob": True},
    # gpt-oss-120b's: 128 experts, top-4 of the logits (with the router's bias) softmaxed.
    "gpt_oss": {"model_type": "gpt_oss", "num_local_experts": 128, "num_experts_per_tok": 4,
                "experts_per_token": 4, "swiglu_limit": 7.0, "router_aux_loss_coef": 0.9,
                "quantization_config": {"quant_method": "mxfp4"}},
}


def test_config_conventions():
    s = {k: routing_from_config(c) for k, c in CONFIGS.items()}
    assert (s["mixtral"].experts, s["mixtral"].top_k, s["mixtral"].normalize) == (8, 2, True)
    assert not s["qwen2_moe"].normalize and s["qwen2_moe"].experts == 60
    assert s["qwen3_moe"].normalize and s["qwen3_moe"].top_k == 8
    assert not s["olmoe"].normalize and s["olmoe"].scale == 1.0
    v2 = s["deepseek_v2"]
    assert (v2.n_group, v2.topk_group, v2.group_score, v2.scale) == (8, 3, "max", 16.0)
    assert v2.applies_scale and not v2.uses_bias and v2.scoring == "softmax"
    v3 = s["deepseek_v3"]
    assert (v3.scoring, v3.group_score, v3.uses_bias, v3.normalize) == (
        "sigmoid", "top2_sum", True, True)
    assert v3.applies_scale and v3.scale == 2.5
    glm = s["glm4_moe"]
    assert (glm.scoring, glm.uses_bias, glm.normalize, glm.n_group, glm.scale) == (
        "sigmoid", True, True, 1, 2.5)
    assert (glm.experts, glm.top_k, glm.normalize_eps) == (160, 8, 1e-20)
    kimi = s["kimi_k2"]
    assert (kimi.scoring, kimi.uses_bias, kimi.experts, kimi.scale) == ("sigmoid", True, 384,
                                                                        2.827)
    mm = s["minimax_m2"]
    assert (mm.scoring, mm.experts, mm.top_k, mm.normalize, mm.uses_bias, mm.n_group) == (
        "sigmoid", 256, 8, True, True, 1)
    assert mm.applies_scale and mm.scale == 1.0
    assert routing_from_config({**CONFIGS["minimax_m2"], "scoring_func": "softmax"}).scoring \
        == "softmax"
    er = s["ernie4_5_moe"]
    assert (er.scoring, er.experts, er.top_k, er.normalize, er.uses_bias, er.scale) == (
        "softmax", 64, 6, True, True, 1.0)
    gr = s["granitemoehybrid"]
    assert (gr.scoring, gr.experts, gr.top_k, gr.normalize, gr.scale, gr.uses_bias) == (
        "softmax", 64, 6, True, 1.0, False)
    for mt in ("granitemoe", "granitemoeshared"):
        assert routing_from_config({**CONFIGS["granitemoehybrid"], "model_type": mt}) == gr
    go = s["gpt_oss"]
    assert (go.scoring, go.experts, go.top_k, go.normalize, go.scale, go.uses_bias,
            go.router_bias) == ("softmax", 128, 4, True, 1.0, False, True)
    assert go.describe() == "softmax top-4 of 128, router bias, renormalised"
    assert not any(s[k].router_bias for k in s if k != "gpt_oss")
    nxt = s["qwen3_next"]
    assert (nxt.scoring, nxt.experts, nxt.top_k, nxt.normalize, nxt.uses_bias) == (
        "softmax", 512, 10, True, False)
    # Without the key: transformers' defaults (Qwen3-Next renormalises, Qwen2-MoE does not).
    for mt, want in (("qwen3_next", True), ("qwen2_moe", False), ("qwen3_moe", False),
                     ("glm4_moe", True), ("deepseek_v3", True)):
        c = {k: v for k, v in CONFIGS[mt].items() if k != "norm_topk_prob"}
        assert routing_from_config(c).normalize is want, mt


def test_deepseek_style_families_are_those_with_shared_experts():
    """DEEPSEEK_STYLE (float32 router logits in serving and expert parallelism) is the set
    of architectures whose converter copies `shared_experts` (no gated shared expert)."""
    from samoyeds.convert import MODELS
    from samoyeds.routing import DEEPSEEK_STYLE, SUPPORTED_MODEL_TYPES

    assert set(MODELS) == set(SUPPORTED_MODEL_TYPES)
    for mt in SUPPORTED_MODEL_TYPES:
        assert (mt in DEEPSEEK_STYLE) == ("shared_experts" in (MODELS[mt].shared or "")), mt
    # DeepSeek-V2-Lite: greedy, no groups even when n_group is given.
    lite = routing_from_config({**CONFIGS["deepseek_v2"], "topk_method": "greedy"})
    assert lite.n_group == 1
    # DeepSeek-V2 renormalising: the scale is then not applied.
    assert not routing_from_config({**CONFIGS["deepseek_v2"],
                                    "norm_topk_prob": True}).applies_scale


@pytest.mark.parametrize("config, message", [
    ({"model_type": "llama"}, "unknown architecture: model_type 'llama'"),
    ({}, "unknown architecture: model_type None"),
    ({"model_type": "mixtral", "num_experts_per_tok": 2}, "missing 'num_local_experts'"),
    ({"model_type": "qwen2_moe", "num_experts": 4}, "missing 'num_experts_per_tok'"),
    ({**CONFIGS["deepseek_v2"], "topk_method": "noaux_tc"}, "topk_method 'noaux_tc'"),
    ({**CONFIGS["deepseek_v2"], "scoring_func": "sigmoid"}, "scoring_func 'sigmoid'"),
    ({**CONFIGS["deepseek_v3"], "topk_method": "greedy"}, "topk_method 'greedy'"),
    ({**CONFIGS["glm4_moe"], "topk_method": "greedy"}, "glm4_moe: topk_method 'greedy'"),
    ({**CONFIGS["kimi_k2"], "scoring_func": "softmax"}, "kimi_k2: scoring_func 'softmax'"),
    ({**CONFIGS["minimax_m2"], "scoring_func": "relu"}, "minimax_m2: scoring_func 'relu'"),
    ({**CONFIGS["ernie4_5_moe"], "moe_norm_min": 0.2},
     "ernie4_5_moe: moe_norm_min = 0.2 is not supported"),
    ({k: v for k, v in CONFIGS["ernie4_5_moe"].items() if k != "moe_k"},
     "ernie4_5_moe.: missing 'moe_k'"),
    ({**CONFIGS["glm4_moe"], "n_routed_experts": 0}, "'n_routed_experts' must be an integer"),
    ({k: v for k, v in CONFIGS["qwen3_next"].items() if k != "num_experts"},
     "qwen3_next.: missing 'num_experts'"),
    ({**CONFIGS["deepseek_v3"], "n_group": 7}, "n_group = 7 must divide the 256 experts"),
    ({**CONFIGS["deepseek_v3"], "topk_group": 9}, "topk_group = 9 must be in [1, 8]"),
    ({**CONFIGS["deepseek_v3"], "topk_group": 1, "num_experts_per_tok": 40},
     "top_k = 40 exceeds the 32 experts of the 1 kept groups"),
    ({**CONFIGS["mixtral"], "num_experts_per_tok": 9}, "top_k = 9 must be in [1, 8]"),
    ({**CONFIGS["deepseek_v3"], "routed_scaling_factor": 0}, "must be positive"),
    ({**CONFIGS["deepseek_v3"], "routed_scaling_factor": "2.5"},
     "'routed_scaling_factor' must be a number, got '2.5'"),
    ({"model_type": "qwen3_moe", "num_local_experts": "x", "num_experts_per_tok": 2},
     "'num_local_experts' must be an integer in [1, 2147483647], got 'x'"),
    ({"model_type": "qwen3_moe", "num_experts": 10**30, "num_experts_per_tok": 2},
     "'num_experts' must be an integer in [1, 2147483647], got '1000000000000000000000000000000'"),
    ({**CONFIGS["mixtral"], "num_local_experts": [8]}, "'num_local_experts' must be an integer"),
    # A dense Granite 4.0 (granitemoehybrid with no experts) has nothing to compile.
    ({**CONFIGS["granitemoehybrid"], "num_local_experts": 0},
     "granitemoehybrid.: 'num_local_experts' must be an integer in [1, 2147483647], got '0'"),
    ({**CONFIGS["olmoe"], "num_experts": -3}, "'num_experts' must be an integer in [1, "),
    ({**CONFIGS["olmoe"], "num_experts_per_tok": True}, "'num_experts_per_tok' must be an integer"),
    ({**CONFIGS["deepseek_v3"], "n_group": 2.0}, "'n_group' must be an integer"),
    ({k: v for k, v in CONFIGS["gpt_oss"].items() if k != "num_local_experts"},
     "gpt_oss.: missing 'num_local_experts'"),
    ({k: v for k, v in CONFIGS["gpt_oss"].items() if k != "num_experts_per_tok"},
     "gpt_oss.: missing 'num_experts_per_tok'"),
])
def test_config_errors(config, message):
    with pytest.raises(RoutingError, match=message.replace("[", r"\[").replace("]", r"\]")):
        routing_from_config(config)


# --------------------------------------------------------------------------- reference


def test_softmax_renormalized_mixtral():
    spec = routing_from_config(CONFIGS["mixtral"])
    z = np.array([[1.0, 2.0, 3.0, 0.0, -1.0, 0.5, 2.5, -3.0]])
    w, ids = route_numpy(z, spec)
    assert ids.tolist() == [[2, 6]] and ids.dtype == np.int32
    p = softmax(z[0])
    np.testing.assert_allclose(w[0], [p[2] / (p[2] + p[6]), p[6] / (p[2] + p[6])], rtol=1e-15)


def test_softmax_plain_and_ties():
    spec = RoutingSpec(4, 2)  # Qwen2-MoE / OLMoE without norm_topk_prob
    z = np.array([[0.0, 1.0, 1.0, 0.5]])
    w, ids = route_numpy(z, spec)
    assert ids.tolist() == [[1, 2]]  # tie: the lower expert first
    p = softmax(z[0])
    np.testing.assert_allclose(w[0], [p[1], p[2]], rtol=1e-15)
    assert w.sum() < 1.0


def test_deepseek_v2_group_limited_and_scale():
    spec = routing_from_config({**CONFIGS["deepseek_v2"], "n_routed_experts": 8,
                                "num_experts_per_tok": 2, "n_group": 4, "topk_group": 2,
                                "routed_scaling_factor": 3.0})
    # groups {0,1} {2,3} {4,5} {6,7}: best experts 5.0 (g0), 4.0 (g1), 4.5 (g2), 1 (g3);
    # groups 0 and 2 kept: expert 3 (4.0) loses to expert 4 (4.5), expert 1 (3.9) stays
    # out although it beats expert 5 (0.0) — the second of the kept ones is 4.
    z = np.array([[5.0, 3.9, 0.0, 4.0, 4.5, 0.0, 1.0, 0.0]])
    w, ids = route_numpy(z, spec)
    assert ids.tolist() == [[0, 4]]
    p = softmax(z[0])
    np.testing.assert_allclose(w[0], [3 * p[0], 3 * p[4]], rtol=1e-15)
    # Renormalising instead: the scale is not applied (the published DeepSeek-V2 code).
    spec_n = RoutingSpec(8, 2, normalize=True, scale=3.0, scale_when_normalized=False,
                         n_group=4, topk_group=2, normalize_eps=1e-20)
    w, _ = route_numpy(z, spec_n)
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-15)


def test_deepseek_v3_bias_selects_weights_unbiased():
    spec = routing_from_config({**CONFIGS["deepseek_v3"], "n_routed_experts": 8,
                                "num_experts_per_tok": 2, "n_group": 2, "topk_group": 1,
                                "routed_scaling_factor": 2.5})
    z = np.array([[2.0, 1.9, -1.0, -2.0, 1.0, 1.1, 0.9, 0.8]])
    # Unbiased: group 0 (experts 0-3) wins with 0 and 1. A bias of +1 on group 1 makes
    # its two best biased scores sum higher: experts 5 and 4 are chosen instead.
    bias = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    w0, ids0 = route_numpy(z, spec, np.zeros(8))
    assert ids0.tolist() == [[0, 1]]
    w, ids = route_numpy(z, spec, bias)
    assert ids.tolist() == [[5, 4]]
    s = sigmoid(z[0])
    # Weights from the unbiased sigmoid scores, normalised, times 2.5.
    np.testing.assert_allclose(w[0], 2.5 * np.array([s[5], s[4]]) / (s[5] + s[4] + 1e-20),
                               rtol=1e-15)
    np.testing.assert_allclose(w0[0], 2.5 * np.array([s[0], s[1]]) / (s[0] + s[1]),
                               rtol=1e-15)


def test_deepseek_v3_masked_groups_are_never_chosen():
    # Like DeepSeek's reference and transformers (5.x), experts of dropped groups get a
    # selection score of -inf: a kept expert with a negative biased score still beats them.
    spec = RoutingSpec(4, 2, scoring="sigmoid", normalize=True, n_group=2, topk_group=1,
                       group_score="top2_sum", uses_bias=True, normalize_eps=1e-20)
    z = np.array([[0.0, 0.0, 0.0, 0.0]])
    bias = np.array([-0.4, -0.9, 1.0, -1.6])  # biased: 0.1, -0.4, 1.5, -1.1
    _, ids = route_numpy(z, spec, bias)
    # group 1 (1.5 - 1.1 = 0.4) beats group 0 (0.1 - 0.4 = -0.3): both picks are its experts,
    # expert 3's -1.1 included (a mask of 0 would have picked expert 0 instead).
    assert ids.tolist() == [[2, 3]]


@pytest.mark.parametrize("mt", ["qwen2_moe", "qwen3_moe", "qwen3_next", "olmoe"])
def test_count_as_transformers_5_writes_it(mt):
    # transformers 5 writes these families' expert count as num_local_experts.
    cfg = {k: v for k, v in CONFIGS[mt].items() if k != "num_experts"}
    assert routing_from_config({**cfg, "num_local_experts": 24}).experts == 24
    with pytest.raises(RoutingError, match="missing 'num_experts'"):
        routing_from_config(cfg)


def test_input_errors():
    spec = RoutingSpec(4, 2, scoring="sigmoid", uses_bias=True)
    with pytest.raises(RoutingError, match=r"router logits must be \[T, 4\]"):
        route_numpy(np.zeros((3, 5)), spec, np.zeros(4))
    with pytest.raises(RoutingError, match="needs the selection bias"):
        route_numpy(np.zeros((3, 4)), spec)
    with pytest.raises(RoutingError, match=r"selection bias must be \[4\]"):
        route_numpy(np.zeros((3, 4)), spec, np.zeros(3))


# --------------------------------------------------------------------------- torch


def _logits(T, E, seed):
    # Distinct, well separated logits: float32 and float64 choose the same experts.
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(E) * 0.05 + rng.uniform(0, 1e-3) for _ in range(T)])


@requires_torch
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_torch_matches_reference(name):
    spec = routing_from_config(CONFIGS[name])
    z = _logits(33, spec.experts, sorted(CONFIGS).index(name))
    bias = None
    if spec.uses_bias:
        bias = np.random.default_rng(1).uniform(-0.02, 0.02, spec.experts)
    w_ref, ids_ref = route_numpy(z, spec, bias)
    w, ids = route_torch(torch.tensor(z, dtype=torch.float32), spec,
                         None if bias is None else torch.tensor(bias, dtype=torch.float32))
    assert w.dtype == torch.float32 and ids.dtype == torch.int32
    np.testing.assert_array_equal(ids.numpy(), ids_ref)
    np.testing.assert_allclose(w.numpy(), w_ref, rtol=2e-6, atol=1e-7)


@requires_torch
def test_torch_matches_transformers_granite_formula():
    # transformers' GraniteMoeTopKGating, written out: top-k of the logits, then a softmax
    # over those k; the same ids, in the same order, and weights as Mixtral's convention.
    spec = routing_from_config({**CONFIGS["granitemoehybrid"], "num_local_experts": 8,
                                "num_experts_per_tok": 3})
    z = torch.tensor(_logits(16, 8, 6), dtype=torch.float32)
    top, sel = z.topk(3, dim=1)
    _assert_routes_as(z, spec, sel, torch.softmax(top, dim=1), rtol64=1e-6)


def _assert_routes_as(logits, spec, sel, weights, rtol64):
    """route_torch and route_numpy (float64) of `logits` choose `sel`, in its order, with
    `weights` (float32 to 1e-6, float64 to `rtol64`)."""
    w, ids = route_torch(logits, spec)
    assert torch.equal(ids.long(), sel)
    assert torch.allclose(w, weights, rtol=1e-6, atol=1e-7)
    w64, ids64 = route_numpy(logits.double().numpy(), spec)
    np.testing.assert_array_equal(ids64, sel.numpy())
    np.testing.assert_allclose(w64, weights.double().numpy(), rtol=rtol64)


@requires_torch
def test_torch_matches_transformers_minimax_m2_formula():
    # transformers' MiniMaxM2TopKRouter, written out: sigmoid scores, the top-k of the
    # biased scores (the bias selects only), the unbiased scores renormalised.
    spec = routing_from_config({**CONFIGS["minimax_m2"], "num_local_experts": 16,
                                "num_experts_per_tok": 4})
    z = torch.tensor(_logits(16, 16, 7), dtype=torch.float32)
    bias = torch.tensor(np.random.default_rng(3).uniform(-0.05, 0.05, 16), dtype=torch.float32)
    scores = torch.sigmoid(z)
    sel = torch.topk(scores + bias, 4, dim=-1).indices
    want = scores.gather(1, sel)
    want = want / want.sum(dim=-1, keepdim=True)
    w, ids = route_torch(z, spec, bias)
    assert torch.equal(ids.long(), sel)
    assert torch.allclose(w, want, rtol=1e-6, atol=1e-7)


@requires_torch
def test_torch_matches_transformers_ernie4_5_formula():
    # transformers' Ernie4_5_MoeSparseMoeBlock's routing, written out: softmax scores, the
    # top-k of scores + bias, the unbiased scores over max(sum, moe_norm_min).
    spec = routing_from_config({**CONFIGS["ernie4_5_moe"], "moe_num_experts": 16, "moe_k": 4})
    z = torch.tensor(_logits(16, 16, 8), dtype=torch.float32)
    bias = torch.tensor(np.random.default_rng(4).uniform(-0.02, 0.02, 16), dtype=torch.float32)
    p = torch.softmax(z, dim=1, dtype=torch.float)
    sel = torch.topk(p + bias, 4, dim=-1).indices
    want = p.gather(1, sel)
    want = want / torch.clamp(want.sum(dim=-1, keepdim=True), min=1e-12)
    w, ids = route_torch(z, spec, bias)
    assert torch.equal(ids.long(), sel)
    assert torch.allclose(w, want, rtol=1e-6, atol=1e-7)


@requires_torch
def test_torch_matches_transformers_mixtral_formula():
    # transformers' MixtralSparseMoeBlock, written out.
    spec = routing_from_config(CONFIGS["mixtral"])
    z = torch.tensor(_logits(16, 8, 5), dtype=torch.float32)
    p = torch.nn.functional.softmax(z, dim=1, dtype=torch.float)
    rw, sel = torch.topk(p, 2, dim=-1)
    rw = rw / rw.sum(dim=-1, keepdim=True)
    w, ids = route_torch(z, spec)
    assert torch.equal(ids.long(), sel)
    assert torch.allclose(w, rw)
    assert math.isclose(float(w.sum()), 16.0, rel_tol=1e-6)


def test_router_bias_in_the_manifest_routing():
    """The routing's JSON (a model manifest's "routing") carries "router_bias" for gpt-oss
    only: the other families' manifests are as they were."""
    go = routing_from_config(CONFIGS["gpt_oss"])
    d = go.to_json()
    assert d["router_bias"] is True and RoutingSpec.from_json(d) == go
    mx = routing_from_config(CONFIGS["mixtral"]).to_json()
    assert "router_bias" not in mx and not RoutingSpec.from_json(mx).router_bias
    with pytest.raises(ValueError, match="router_bias = 1 is not a boolean"):
        RoutingSpec.from_json({**d, "router_bias": 1})
    assert go != routing_from_config({**CONFIGS["mixtral"], "num_local_experts": 128,
                                      "num_experts_per_tok": 4})


def _gpt_oss_router(x, weight, bias, k):
    """transformers' GptOssTopKRouter.forward (5.x), transcribed: the logits with the
    router's bias, their top-k, a softmax over those k in the logits' dtype. Returns
    (logits, scores [T, k], indices)."""
    router_logits = torch.nn.functional.linear(x, weight, bias)
    router_top_value, router_indices = torch.topk(router_logits, k, dim=-1)
    router_scores = torch.nn.functional.softmax(router_top_value, dim=1,
                                                dtype=router_top_value.dtype)
    return router_logits, router_scores, router_indices


@requires_torch
def test_torch_matches_transformers_gpt_oss_router():
    """gpt-oss's routing on the biased logits: the ids of GptOssTopKRouter in its order,
    its weights (float32 here: equal to rounding; in a bf16 model transformers rounds them
    to bf16, which they match to that rounding), and the router bias changes the choice."""
    spec = routing_from_config({**CONFIGS["gpt_oss"], "num_local_experts": 16})
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 32, generator=g)
    weight = torch.randn(16, 32, generator=g) * 0.2
    bias = torch.randn(16, generator=g)
    logits, scores, sel = _gpt_oss_router(x, weight, bias, 4)
    _assert_routes_as(logits, spec, sel, scores, rtol64=2e-6)
    # Without the bias the choice differs for some token: the bias is part of the logits.
    unbiased = route_torch(torch.nn.functional.linear(x, weight), spec)[1]
    assert not torch.equal(unbiased.long(), sel)
    # A bf16 model: transformers' logits and weights in bf16.
    xb, wb, bb = x.bfloat16(), weight.bfloat16(), bias.bfloat16()
    logits_b, scores_b, sel_b = _gpt_oss_router(xb, wb, bb, 4)
    w_b, ids_b = route_torch(logits_b, spec)
    assert torch.equal(ids_b.long(), sel_b) and w_b.dtype == torch.float32
    assert torch.allclose(w_b, scores_b.float(), rtol=2 ** -8, atol=0)
