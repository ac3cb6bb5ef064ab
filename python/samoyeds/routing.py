"""Routing conventions of Hugging Face MoE models: router logits -> (top-k weights, ids).

A compiled experts-only layer (``samoyeds.moe_experts``) takes the routing decision as
data: ``topk_weights`` [T, k] (f32) and ``topk_ids`` [T, k] (i32). This module computes
it the way each model family does in transformers, so that any convention runs on the
same compiled experts:

==============  ==========================================================================
model_type      convention (:class:`RoutingSpec`)
==============  ==========================================================================
mixtral         softmax over the experts, top-k, renormalised (always)
qwen2_moe       softmax, top-k, renormalised when ``norm_topk_prob`` (default false)
qwen3_moe       the same (Qwen3-30B-A3B sets ``norm_topk_prob: true``)
qwen3_next      the same (Qwen3-Next-80B-A3B: 512 experts, top-10, renormalised)
olmoe           the same (default false)
deepseek_v2     softmax; ``topk_method`` ``greedy`` or ``group_limited_greedy`` (groups
                ranked by their best expert, ``topk_group`` of ``n_group`` kept, the other
                experts' scores set to 0); then renormalised when ``norm_topk_prob`` and
                k > 1, *else* multiplied by ``routed_scaling_factor``
deepseek_v3     sigmoid scores; selection on ``scores + e_score_correction_bias`` limited to
                the ``topk_group`` groups whose two best biased scores sum highest (the
                others set to 0); weights are the *unbiased* scores of the chosen experts,
                renormalised when ``norm_topk_prob`` (sum + 1e-20), then multiplied by
                ``routed_scaling_factor``
glm4_moe        DeepSeek-V3's (GLM-4.5, GLM-4.6: ``n_group`` 1, no ``topk_method`` key)
kimi_k2         DeepSeek-V3's (Kimi-K2: its config names the DeepSeek-V3 architecture)
minimax_m2      sigmoid scores (``scoring_func`` ``softmax``: softmax); selection on
                ``scores + e_score_correction_bias`` (the block's, no groups); weights the
                unbiased scores of the chosen experts, renormalised (sum + 1e-20), not
                scaled (MiniMax-M2)
ernie4_5_moe    softmax over float32 logits; selection on ``scores + e_score_correction_bias``
                (the block's ``moe_statics``); weights the unbiased scores of the chosen
                experts over max(their sum, ``moe_norm_min``), a bound no top-k sum of a
                softmax falls under (ERNIE-4.5; ``moe_k`` experts of ``moe_num_experts``)
granitemoe      top-k of the logits, softmax over those k: Mixtral's (softmax, top-k,
                renormalised), the same weights and order (GraniteMoE, and the Granite 4.0
                families granitemoeshared and granitemoehybrid, whose shared_mlp runs
                beside the routed experts)
gpt_oss         logits with the router's bias (``x Wr^T + br``: ``RoutingSpec.router_bias``,
                added where the logits are computed, not by the route functions), top-k of
                the logits, softmax over those k: Mixtral's weights of the biased logits
                (gpt-oss; transformers' GptOssTopKRouter, whose softmax keeps the logits'
                dtype: bf16 weights in a bf16 model, float32 here)
==============  ==========================================================================

Two implementations of every convention:

* :func:`route_numpy`: float64 numpy, written from the conventions above (the reference;
  ties go to the lower expert);
* :func:`route_torch`: float32 torch, following transformers' code (``softmax(dtype=float)``,
  ``torch.topk``, ``masked_fill``), for serving. Ids are returned in descending order of
  the selection score (transformers' DeepSeek-V3 uses ``sorted=False``; the order only
  changes the summation order of the combine).

numpy is required; torch only for :func:`route_torch`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from ._capi import quote

__all__ = ["RoutingError", "RoutingSpec", "routing_from_config", "route_numpy", "route_torch",
           "SUPPORTED_MODEL_TYPES", "DEEPSEEK_STYLE", "GRANITE_STYLE"]

SUPPORTED_MODEL_TYPES = ("mixtral", "qwen2_moe", "qwen3_moe", "qwen3_next", "olmoe",
                         "deepseek_v2", "deepseek_v3", "glm4_moe", "kimi_k2", "granitemoe",
                         "granitemoeshared", "granitemoehybrid", "minimax_m2", "ernie4_5_moe",
                         "gpt_oss")
# GraniteMoE's families: a softmax over the top-k logits (Mixtral's weights).
GRANITE_STYLE = ("granitemoe", "granitemoeshared", "granitemoehybrid")
# DeepSeek-style families: transformers computes their router logits in float32 (the others
# in the model dtype), and their shared experts are the block's `shared_experts` (no gate).
DEEPSEEK_STYLE = ("deepseek_v2", "deepseek_v3", "glm4_moe", "kimi_k2", "ernie4_5_moe")


class RoutingError(ValueError):
    """A config.json whose routing cannot be expressed, or bad routing inputs."""


@dataclass(frozen=True)
class RoutingSpec:
    """One routing convention.

    ``scoring``: "softmax" or "sigmoid". ``group_score``: how a group of experts is
    ranked when ``n_group > 1``: "max" (DeepSeek-V2's best expert) or "top2_sum"
    (DeepSeek-V3's two best biased scores). ``bias``: selection-only score correction
    (DeepSeek-V3's ``e_score_correction_bias``; given to the route functions, since it
    is a checkpoint tensor). ``scale_when_normalized``: False for DeepSeek-V2, which
    scales only the weights it does not renormalise. ``router_bias``: the router's logits
    have a bias (gpt-oss's ``router.bias``), which the caller adds to the logits.
    """

    experts: int
    top_k: int
    scoring: str = "softmax"
    normalize: bool = False
    scale: float = 1.0
    scale_when_normalized: bool = True
    n_group: int = 1
    topk_group: int = 1
    group_score: str = "max"
    uses_bias: bool = False
    normalize_eps: float = 0.0
    model_type: str = field(default="", compare=False)
    # The router has a bias, added to the logits (gpt-oss): the logits the route functions
    # take must include it (samoyeds.load computes them so).
    router_bias: bool = False

    def __post_init__(self):
        if self.scoring not in ("softmax", "sigmoid"):
            raise RoutingError(f"unknown scoring function {self.scoring!r} (softmax, sigmoid)")
        if self.group_score not in ("max", "top2_sum"):
            raise RoutingError(f"unknown group score {self.group_score!r} (max, top2_sum)")
        if not 1 <= self.top_k <= self.experts:
            raise RoutingError(f"top_k = {self.top_k} must be in [1, {self.experts}] (experts)")
        if self.n_group < 1 or self.experts % self.n_group:
            raise RoutingError(f"n_group = {self.n_group} must divide the {self.experts} "
                               f"experts")
        if self.n_group > 1:
            if not 1 <= self.topk_group <= self.n_group:
                raise RoutingError(f"topk_group = {self.topk_group} must be in [1, "
                                   f"{self.n_group}] (n_group)")
            per = self.experts // self.n_group
            if self.topk_group * per < self.top_k:
                raise RoutingError(f"top_k = {self.top_k} exceeds the {self.topk_group * per} "
                                   f"experts of the {self.topk_group} kept groups")
            if self.group_score == "top2_sum" and per < 2:
                raise RoutingError(f"group score top2_sum needs >= 2 experts per group, got "
                                   f"{per}")
        if not self.scale > 0:
            raise RoutingError(f"routed_scaling_factor = {self.scale} must be positive")

    @property
    def applies_scale(self) -> bool:
        return self.scale_when_normalized or not (self.normalize and self.top_k > 1)

    def to_json(self) -> dict:
        """The convention as a JSON object (a compiled model's manifest "routing";
        "router_bias" only where there is one, so that the others' stay as they were)."""
        d = {"model_type": self.model_type, "experts": self.experts, "top_k": self.top_k,
             "scoring": self.scoring, "normalize": self.normalize,
             "routed_scaling_factor": self.scale,
             "scale_when_normalized": self.scale_when_normalized,
             "n_group": self.n_group, "topk_group": self.topk_group,
             "group_score": self.group_score, "selection_bias": self.uses_bias,
             "normalize_eps": self.normalize_eps}
        if self.router_bias:
            d["router_bias"] = True
        d["describe"] = self.describe()
        return d

    @classmethod
    def from_json(cls, d: dict) -> "RoutingSpec":
        """The inverse of :meth:`to_json` (KeyError/TypeError/ValueError when malformed)."""
        router_bias = d.get("router_bias", False)
        if not isinstance(router_bias, bool):
            raise ValueError(f"router_bias = {router_bias!r} is not a boolean")
        return cls(int(d["experts"]), int(d["top_k"]), str(d["scoring"]), bool(d["normalize"]),
                   float(d["routed_scaling_factor"]), bool(d["scale_when_normalized"]),
                   int(d["n_group"]), int(d["topk_group"]), str(d["group_score"]),
                   bool(d["selection_bias"]), float(d["normalize_eps"]),
                   str(d.get("model_type", "")), router_bias)

    def describe(self) -> str:
        parts = [f"{self.scoring} top-{self.top_k} of {self.experts}"]
        if self.router_bias:
            parts.append("router bias")
        if self.n_group > 1:
            parts.append(f"groups {self.topk_group}/{self.n_group} by {self.group_score}")
        if self.uses_bias:
            parts.append("selection bias")
        if self.normalize:
            parts.append("renormalised")
        if self.scale != 1.0 and self.applies_scale:
            parts.append(f"x{self.scale:g}")
        return ", ".join(parts)


def _get(config: dict, key: str, default=None, required: bool = False):
    if key in config and config[key] is not None:
        return config[key]
    if required:
        raise RoutingError(f"config.json ({config.get('model_type', '?')}): missing '{key}'")
    return default


def _count(config: dict, key: str, default=None, required: bool = False):
    """An integer field of config.json in [1, 2^31 - 1] (None when absent and not required);
    RoutingError naming the field otherwise."""
    v = _get(config, key, default, required)
    if v is not None and (isinstance(v, bool) or not isinstance(v, int)
                          or not 1 <= v <= 2**31 - 1):
        raise RoutingError(f"config.json ({config.get('model_type', '?')}): '{key}' must be an "
                           f"integer in [1, 2147483647], got {quote(v)}")
    return v


def _number(config: dict, key: str, default: float) -> float:
    """A real-number field of config.json; RoutingError naming the field otherwise."""
    v = _get(config, key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise RoutingError(f"config.json ({config.get('model_type', '?')}): '{key}' must be a "
                           f"number, got {quote(v)}")
    return float(v)


def routing_from_config(config: dict) -> RoutingSpec:
    """The routing convention of a Hugging Face ``config.json`` (as a dict), from its
    ``model_type``; RoutingError naming the problem otherwise."""
    mt = config.get("model_type")
    if mt not in SUPPORTED_MODEL_TYPES:
        raise RoutingError(f"unknown architecture: model_type {mt!r} (supported: "
                           f"{', '.join(SUPPORTED_MODEL_TYPES)})")
    if mt == "ernie4_5_moe":
        return _ernie4_5_moe(config)
    k = _count(config, "num_experts_per_tok", required=True)
    if mt == "gpt_oss":
        # GptOssTopKRouter: softmax over the top-k logits (with the router's bias), which
        # is Mixtral's renormalised softmax of the biased logits.
        return RoutingSpec(_count(config, "num_local_experts", required=True), k,
                           normalize=True, router_bias=True, model_type=mt)
    if mt == "mixtral" or mt in GRANITE_STYLE:
        return RoutingSpec(_count(config, "num_local_experts", required=True), k,
                           normalize=True, model_type=mt)
    if mt in ("qwen2_moe", "qwen3_moe", "qwen3_next", "olmoe"):
        # transformers 5 writes these families' count as num_local_experts (Qwen3-MoE from
        # 5.8); older configs as num_experts.
        experts = _count(config, "num_experts") or _count(config, "num_local_experts")
        if experts is None:
            raise RoutingError(f"config.json ({mt}): missing 'num_experts'")
        # transformers' Qwen3NextConfig defaults norm_topk_prob to true, the others to false.
        return RoutingSpec(experts, k, normalize=bool(_get(config, "norm_topk_prob",
                                                           mt == "qwen3_next")), model_type=mt)
    if mt == "minimax_m2":
        return _minimax_m2(config, k)
    experts = _count(config, "n_routed_experts", required=True)
    scale = _number(config, "routed_scaling_factor", 1.0)
    if mt == "deepseek_v2":
        scoring = _get(config, "scoring_func", "softmax")
        if scoring != "softmax":
            raise RoutingError(f"deepseek_v2: scoring_func {scoring!r} is not supported "
                               f"(softmax)")
        method = _get(config, "topk_method", "greedy")
        if method not in ("greedy", "group_limited_greedy"):
            raise RoutingError(f"deepseek_v2: topk_method {method!r} is not supported "
                               f"(greedy, group_limited_greedy)")
        grouped = method == "group_limited_greedy"
        return RoutingSpec(experts, k, normalize=bool(_get(config, "norm_topk_prob", False)),
                           scale=scale, scale_when_normalized=False,
                           n_group=_count(config, "n_group", 1) if grouped else 1,
                           topk_group=_count(config, "topk_group", 1) if grouped else 1,
                           normalize_eps=1e-20, model_type=mt)
    # deepseek_v3, glm4_moe, kimi_k2
    method = _get(config, "topk_method", "noaux_tc")
    if method != "noaux_tc":
        raise RoutingError(f"{mt}: topk_method {method!r} is not supported (noaux_tc)")
    scoring = _get(config, "scoring_func", "sigmoid")
    if scoring != "sigmoid":
        raise RoutingError(f"{mt}: scoring_func {scoring!r} is not supported (sigmoid)")
    return RoutingSpec(experts, k, scoring="sigmoid",
                       normalize=bool(_get(config, "norm_topk_prob", True)), scale=scale,
                       n_group=_count(config, "n_group", 1),
                       topk_group=_count(config, "topk_group", 1), group_score="top2_sum",
                       uses_bias=True, normalize_eps=1e-20, model_type=mt)


def _minimax_m2(config: dict, k: int) -> RoutingSpec:
    """MiniMax-M2's convention: its block's selection bias on sigmoid (or softmax) scores,
    one group, the chosen unbiased scores renormalised, no scaling factor."""
    scoring = _get(config, "scoring_func", "sigmoid")
    if scoring not in ("sigmoid", "softmax"):
        raise RoutingError(f"minimax_m2: scoring_func {scoring!r} is not supported (sigmoid, "
                           f"softmax)")
    return RoutingSpec(_count(config, "num_local_experts", required=True), k, scoring=scoring,
                       normalize=True, uses_bias=True, normalize_eps=1e-20,
                       model_type="minimax_m2")


def _ernie4_5_moe(config: dict) -> RoutingSpec:
    """ERNIE-4.5's convention: softmax scores, its block's selection bias, the chosen
    unbiased scores over max(sum, moe_norm_min); the top-k of a softmax over E experts
    sums to at least k / E, so a bound below that is the plain renormalisation, and one
    above it, which would change the weights, is refused."""
    experts = _count(config, "moe_num_experts", required=True)
    k = _count(config, "moe_k", required=True)
    norm_min = _number(config, "moe_norm_min", 1e-12)
    if not 0 <= norm_min < k / experts:
        raise RoutingError(f"ernie4_5_moe: moe_norm_min = {norm_min} is not supported (at "
                           f"least 0 and below k / E = {k / experts:g}, where it never "
                           f"clamps)")
    return RoutingSpec(experts, k, normalize=True, uses_bias=True, model_type="ernie4_5_moe")


def _check_inputs(spec: RoutingSpec, shape, bias) -> None:
    if len(shape) != 2 or shape[1] != spec.experts:
        raise RoutingError(f"router logits must be [T, {spec.experts}], got {list(shape)}")
    if spec.uses_bias and bias is None:
        raise RoutingError(f"{spec.model_type or 'this routing'}: needs the selection bias "
                           f"(e_score_correction_bias [{spec.experts}])")
    if bias is not None and tuple(bias.shape) != (spec.experts,):
        raise RoutingError(f"selection bias must be [{spec.experts}], got {list(bias.shape)}")


# --------------------------------------------------------------------------- numpy (f64)


def route_numpy(logits, spec: RoutingSpec, bias=None) -> Tuple[np.ndarray, np.ndarray]:
    """The float64 reference: (weights [T, k] float64, ids [T, k] int32), ids in
    descending order of the selection score, ties to the lower expert."""
    z = np.asarray(logits, dtype=np.float64)
    b = None if bias is None else np.asarray(bias, dtype=np.float64)
    _check_inputs(spec, z.shape, b)
    T, E = z.shape
    if spec.scoring == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        scores = e / e.sum(axis=1, keepdims=True)
    else:
        scores = 1.0 / (1.0 + np.exp(-z))
    choice = scores + b if spec.uses_bias else scores.copy()
    if spec.n_group > 1:
        per = E // spec.n_group
        g = choice.reshape(T, spec.n_group, per)
        if spec.group_score == "max":
            gscore = g.max(axis=2)
        else:
            gscore = -np.sort(-g, axis=2)[:, :, :2].sum(axis=2)
        keep_groups = np.argsort(-gscore, axis=1, kind="stable")[:, :spec.topk_group]
        mask = np.zeros((T, spec.n_group), dtype=bool)
        np.put_along_axis(mask, keep_groups, True, axis=1)
        # Experts of dropped groups can never be chosen (DeepSeek's reference masks them
        # with -inf; 0 would let them win where a kept group's biased scores are <= 0).
        choice = np.where(np.repeat(mask, per, axis=1), choice, -np.inf)
    ids = np.argsort(-choice, axis=1, kind="stable")[:, :spec.top_k]
    w = np.take_along_axis(scores, ids, axis=1)
    if spec.normalize and (spec.top_k > 1 or spec.scale_when_normalized):
        w = w / (w.sum(axis=1, keepdims=True) + spec.normalize_eps)
    if spec.applies_scale:
        w = w * spec.scale
    return w, ids.astype(np.int32)


# --------------------------------------------------------------------------- torch (f32)


def route_torch(logits, spec: RoutingSpec, bias=None):
    """transformers' computation in torch: (weights [T, k] float32, ids [T, k] int32) on
    the logits' device. No host synchronisation (CUDA-graph capturable)."""
    import torch

    _check_inputs(spec, tuple(logits.shape), bias)
    if spec.scoring == "softmax":
        scores = torch.softmax(logits, dim=-1, dtype=torch.float32)
    else:
        scores = logits.float().sigmoid()
    choice = scores + bias.float().unsqueeze(0) if spec.uses_bias else scores
    if spec.n_group > 1:
        T, E = scores.shape
        per = E // spec.n_group
        g = choice.view(T, spec.n_group, per)
        if spec.group_score == "max":
            gscore = g.max(dim=-1).values
        else:
            gscore = g.topk(2, dim=-1)[0].sum(dim=-1)
        gidx = torch.topk(gscore, k=spec.topk_group, dim=-1, sorted=False)[1]
        gmask = torch.zeros_like(gscore).scatter_(1, gidx, 1)
        smask = gmask.unsqueeze(-1).expand(T, spec.n_group, per).reshape(T, E)
        choice = choice.masked_fill(~smask.bool(), float("-inf"))
    ids = torch.topk(choice, k=spec.top_k, dim=-1, sorted=True)[1]
    w = scores.gather(1, ids)
    if spec.normalize and (spec.top_k > 1 or spec.scale_when_normalized):
        w = w / (w.sum(dim=-1, keepdim=True) + spec.normalize_eps)
    if spec.applies_scale and spec.scale != 1.0:
        w = w * spec.scale
    return w.float(), ids.to(torch.int32)
