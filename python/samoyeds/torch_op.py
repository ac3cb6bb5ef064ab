"""PyTorch integration: the ``torch.ops.samoyeds.moe_ffn`` custom op and a drop-in MoE block.

* ``torch.ops.samoyeds.moe_ffn(Tensor x, int handle) -> Tensor`` runs the
  :class:`~samoyeds.layer.MoELayer` registered under ``handle``
  (:func:`register_layer`) on ``x`` [T, H] (bf16, CUDA) and returns y [T, H].
  It is a ``torch.library.custom_op`` (torch >= 2.4) with a fake (meta)
  implementation, so ``torch.compile`` treats it as an opaque call. Inference
  only: no autograd formula is registered.
* :class:`SamoyedsMoEBlock` replaces a Hugging Face sparse MoE block
  (Mixtral; Qwen2-MoE and OLMoE style blocks too, see docs/Python.md; gpt-oss's
  with a gpt-oss moe_ffn bundle, see docs/Serving.md).
* :func:`swap_moe_blocks` swaps every MoE block of a model for one.
* ``torch.ops.samoyeds.moe_experts(Tensor hidden_states, Tensor topk_weights,
  Tensor topk_ids, int handle) -> Tensor``: the experts-only layer (routing
  computed by the caller; the serving-engine convention
  ``(hidden_states, topk_weights, topk_ids) -> out``) registered under
  ``handle``; what :func:`samoyeds.serving.load` installs.

Importing this module needs torch; it registers the op once per process.
"""

from __future__ import annotations

import itertools
import threading
from typing import Dict, List, Optional, Sequence

try:
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover - exercised only without torch
    raise ImportError("samoyeds.torch_op needs PyTorch >= 2.4 (pip install torch)") from e

from . import _capi
from ._capi import SamoyedsError
from .compile import SWIGLU_ALPHA, SWIGLU_LIMIT
from .layer import MoELayer
from .routing import route_torch, routing_from_config

__all__ = ["moe_ffn", "moe_experts", "register_layer", "unregister_layer", "get_layer", "SamoyedsMoEBlock",
           "find_moe_block", "swap_moe_blocks"]

OP_NAME = "samoyeds::moe_ffn"
EXPERTS_OP_NAME = "samoyeds::moe_experts"

if not hasattr(torch.library, "custom_op"):  # pragma: no cover
    raise ImportError(f"samoyeds.torch_op needs torch >= 2.4 (torch.library.custom_op); "
                      f"this is torch {torch.__version__}")


_err = _capi.status_error


# --------------------------------------------------------------------------- registry

_registry: Dict[int, object] = {}
_registry_lock = threading.Lock()
_handles = itertools.count(1)


def register_layer(layer) -> int:
    """Registers ``layer`` (a MoELayer, or any callable x -> y with ``hidden``) and
    returns its handle for ``torch.ops.samoyeds.moe_ffn``. The registry holds a
    strong reference until :func:`unregister_layer`."""
    if not callable(layer) or not hasattr(layer, "hidden"):
        raise _err("SY_ERR_INVALID_ARGUMENT", f"register_layer: expected a MoELayer, got "
                   f"{type(layer).__name__}")
    with _registry_lock:
        h = next(_handles)
        _registry[h] = layer
    return h


def unregister_layer(handle: int) -> None:
    """Forgets ``handle`` (unknown handles are ignored)."""
    with _registry_lock:
        _registry.pop(int(handle), None)


def get_layer(handle: int):
    """The layer registered under ``handle``; SamoyedsError if there is none."""
    with _registry_lock:
        layer = _registry.get(int(handle))
    if layer is None:
        raise _err("SY_ERR_NOT_FOUND", f"samoyeds::moe_ffn: no layer registered under handle "
                   f"{handle} (use samoyeds.torch_op.register_layer)")
    return layer


def _check_x(x: torch.Tensor, layer, op: str = OP_NAME) -> None:
    if x.dim() != 2:
        raise _err("SY_ERR_SIZE_MISMATCH",
                   f"{op}: x must be 2-D [T, H], got shape {list(x.shape)}")
    H = getattr(layer, "hidden", None)
    if H is not None and x.shape[1] != H:
        raise _err("SY_ERR_SIZE_MISMATCH", f"{op}: x must have shape [T, {H}], "
                   f"got {list(x.shape)}")
    if x.dtype != torch.bfloat16:
        raise _err("SY_ERR_INVALID_ARGUMENT",
                   f"{op}: x must be torch.bfloat16, got {x.dtype}")


def _check_routing(x: torch.Tensor, topk_weights: torch.Tensor, topk_ids: torch.Tensor,
                   layer) -> None:
    """[T, k] float32 weights and int32 ids of a moe_experts call (k the layer's)."""
    op = EXPERTS_OP_NAME
    k = getattr(layer, "top_k", None)
    for name, t, dtype in (("topk_weights", topk_weights, torch.float32),
                           ("topk_ids", topk_ids, torch.int32)):
        if t.dim() != 2 or t.shape[0] != x.shape[0] or (k is not None and t.shape[1] != k):
            raise _err("SY_ERR_SIZE_MISMATCH", f"{op}: {name} must have shape "
                       f"[{x.shape[0]}, {k if k is not None else 'k'}], got {list(t.shape)}")
        if t.dtype != dtype:
            raise _err("SY_ERR_INVALID_ARGUMENT", f"{op}: {name} must be {dtype}, got "
                       f"{t.dtype}")


# --------------------------------------------------------------------------- the op


def _define_op():
    # An explicit schema keeps ``handle`` a plain int (an annotation would make it SymInt).
    @torch.library.custom_op(OP_NAME, mutates_args=(), schema="(Tensor x, int handle) -> Tensor")
    def moe_ffn(x: torch.Tensor, handle: int) -> torch.Tensor:
        """y [T, H] = the registered layer ``handle`` applied to x [T, H] (bf16, CUDA)."""
        layer = get_layer(handle)
        _check_x(x, layer)
        if not x.is_cuda:
            raise _err("SY_ERR_INVALID_ARGUMENT",
                       f"samoyeds::moe_ffn: x must be a CUDA tensor, got device {x.device}")
        return layer(x.contiguous())

    @moe_ffn.register_fake
    def _moe_ffn_fake(x, handle):
        layer = _registry.get(int(handle)) if isinstance(handle, int) else None
        _check_x(x, layer)
        return torch.empty_like(x, memory_format=torch.contiguous_format)

    return moe_ffn


def _define_experts_op():
    @torch.library.custom_op(EXPERTS_OP_NAME, mutates_args=(),
                             schema="(Tensor hidden_states, Tensor topk_weights, "
                                    "Tensor topk_ids, int handle) -> Tensor")
    def moe_experts(hidden_states: torch.Tensor, topk_weights: torch.Tensor,
                    topk_ids: torch.Tensor, handle: int) -> torch.Tensor:
        """out [T, H] = sum_j topk_weights[:, j] * expert_{topk_ids[:, j]}(hidden_states),
        by the experts-only layer registered under ``handle`` (bf16 [T, H], f32 and i32
        [T, k], CUDA)."""
        layer = get_layer(handle)
        _check_x(hidden_states, layer, EXPERTS_OP_NAME)
        _check_routing(hidden_states, topk_weights, topk_ids, layer)
        if not hidden_states.is_cuda:
            raise _err("SY_ERR_INVALID_ARGUMENT", f"{EXPERTS_OP_NAME}: hidden_states must be "
                       f"a CUDA tensor, got device {hidden_states.device}")
        return layer(hidden_states.contiguous(), topk_weights.contiguous(),
                     topk_ids.contiguous())

    @moe_experts.register_fake
    def _moe_experts_fake(hidden_states, topk_weights, topk_ids, handle):
        layer = _registry.get(int(handle)) if isinstance(handle, int) else None
        _check_x(hidden_states, layer, EXPERTS_OP_NAME)
        _check_routing(hidden_states, topk_weights, topk_ids, layer)
        return torch.empty_like(hidden_states, memory_format=torch.contiguous_format)

    return moe_experts


_op_lock = threading.Lock()
with _op_lock:
    moe_ffn = _define_op()
    moe_experts = _define_experts_op()


# --------------------------------------------------------------------------- HF blocks


def is_gpt_oss_block(block) -> bool:
    """Whether ``block`` is laid out as gpt-oss's (transformers' GptOssMLP): a ``router``
    with its own ``weight`` [E, H] (GptOssTopKRouter, which has a bias too) beside
    ``experts``, and no ``gate``."""
    router = getattr(block, "router", None)
    return (router is not None and getattr(block, "gate", None) is None
            and getattr(block, "input_linear", None) is None
            and getattr(block, "experts", None) is not None
            and isinstance(getattr(router, "weight", None), torch.Tensor))


def hf_router(block):
    """(router module, GraniteMoE-style) of a Hugging Face sparse MoE block: its ``gate``,
    for GraniteMoE's blocks (``input_linear`` experts) ``router.layer``, an nn.Linear
    [E, H] whose top-k logits the block softmaxes (Mixtral's weights), or gpt-oss's
    ``router`` (weight and bias); None if none."""
    router = getattr(block, "router", None)
    if router is not None and getattr(block, "input_linear", None) is not None:
        return getattr(router, "layer", None), True
    if is_gpt_oss_block(block):
        return router, False
    return getattr(block, "gate", None), False


def hf_router_bias(block, gate):
    """The bias of gpt-oss's router (``router.bias`` [E], added to the logits), or None
    for the other layouts (whose routers have none)."""
    if gate is None or gate is not getattr(block, "router", None):
        return None
    bias = getattr(gate, "bias", None)
    return bias if isinstance(bias, torch.Tensor) else None


def hf_router_weight(block, gate, granite: bool):
    """The router weight [E, H] of ``block`` (``gate`` from hf_router); SamoyedsError
    naming the block otherwise."""
    weight = getattr(gate, "weight", None)
    if weight is None or weight.dim() != 2:
        where = ("router.layer.weight" if granite else "router.weight"
                 if gate is not None and gate is getattr(block, "router", None)
                 else "gate.weight")
        raise _err("SY_ERR_INVALID_ARGUMENT", f"{type(block).__name__}: no router "
                   f"'{where}' [E, H]; not a supported sparse MoE block")
    return weight


def hf_selection_bias(block, gate):
    """The selection bias of a Hugging Face sparse MoE block as a tensor [E], or None:
    DeepSeek-V3's on the router, MiniMax-M2's on the block, ERNIE-4.5's [1, E] in the
    block's moe_statics."""
    for owner in (gate, block, getattr(block, "moe_statics", None)):
        bias = getattr(owner, "e_score_correction_bias", None)
        if bias is not None:
            return bias.reshape(-1)
    return None


def hf_activation(block) -> dict:
    """The experts' activation of a Hugging Face sparse MoE block as a layer bundle's
    manifest records it: gpt-oss's clamped SwiGLU with its experts' ``alpha`` and ``limit``
    (GptOssExperts: 1.702 and 7.0), ``{"kind": "silu"}`` for the other layouts."""
    if not is_gpt_oss_block(block):
        return {"kind": "silu"}
    experts = block.experts
    return {"kind": "clamped_swiglu", "alpha": float(getattr(experts, "alpha", SWIGLU_ALPHA)),
            "limit": float(getattr(experts, "limit", SWIGLU_LIMIT))}


def _routing_of_hf(block) -> dict:
    """top_k, renormalize (None: unknown), experts, hidden, shared modules, return style,
    router bias, experts' biases and activation of a Hugging Face sparse MoE block
    (transformers 4.x and 5.x layouts, GraniteMoE's, gpt-oss's)."""
    gate, granite = hf_router(block)
    weight = hf_router_weight(block, gate, granite)
    top_k = (getattr(gate, "top_k", None) or getattr(getattr(block, "router", None), "top_k", None)
             or getattr(block, "top_k", None))
    norm = getattr(gate, "norm_topk_prob", getattr(block, "norm_topk_prob", None))
    name = type(block).__name__
    gpt_oss = is_gpt_oss_block(block)
    if norm is None and ("Mixtral" in name or granite or gpt_oss):
        # Mixtral renormalises its top-k weights; GraniteMoE and gpt-oss softmax the top-k
        # logits.
        norm = True
    if getattr(block, "shared_experts", None) is not None or "Deepseek" in name:
        raise _err("SY_ERR_INVALID_ARGUMENT", f"{name}: DeepSeek-style blocks (shared_experts, "
                   f"grouped routing) are not supported by SamoyedsMoEBlock")
    if hf_selection_bias(block, gate) is not None:
        raise _err("SY_ERR_INVALID_ARGUMENT", f"{name}: selection-bias routing "
                   f"(e_score_correction_bias) is not supported by SamoyedsMoEBlock; "
                   f"samoyeds-compile and samoyeds.load run it")
    return {
        "gate": gate,
        "weight": weight,
        "experts": int(weight.shape[0]),
        "hidden": int(weight.shape[1]),
        "top_k": None if top_k is None else int(top_k),
        "renormalize": None if norm is None else bool(norm),
        "scale": getattr(gate, "routed_scaling_factor", None),
        "shared_expert": getattr(block, "shared_expert", None),
        "shared_expert_gate": getattr(block, "shared_expert_gate", None),
        # transformers 4.x blocks (router an nn.Linear) return (hidden_states, router_logits);
        # 5.x blocks return hidden_states and record router logits with hooks on the router.
        # GraniteMoE's blocks return the pair in both.
        "returns_tuple": granite or isinstance(gate, nn.Linear),
        # gpt-oss's GptOssMLP returns (hidden_states, router_scores).
        "returns_scores": gpt_oss,
        "router_bias": hf_router_bias(block, gate),
        "expert_biases": gpt_oss,
        "activation": hf_activation(block),
    }


def _activation_text(a: dict) -> str:
    """An activation object as the messages name it: silu, clamped_swiglu(alpha=.., limit=..)."""
    if a["kind"] != "clamped_swiglu":
        return a["kind"]
    return f"clamped_swiglu(alpha={a['alpha']:g}, limit={a['limit']:g})"


def _routing_mismatches(r: dict, layer) -> List[str]:
    """What differs between a block's router shape and routing (``r``: _routing_of_hf) and
    the bundle's."""
    problems = []
    if (r["experts"], r["hidden"]) != (layer.experts, layer.hidden):
        problems.append(f"router [E, H] = [{r['experts']}, {r['hidden']}], bundle "
                        f"[{layer.experts}, {layer.hidden}]")
    if r["top_k"] is not None and r["top_k"] != layer.top_k:
        problems.append(f"top_k {r['top_k']}, bundle {layer.top_k}")
    if r["renormalize"] is not None and r["renormalize"] != layer.renormalize:
        problems.append(f"renormalize {r['renormalize']}, bundle {layer.renormalize}")
    if r["scale"] is not None and float(r["scale"]) != layer.routed_scaling_factor:
        problems.append(f"routed_scaling_factor {r['scale']}, bundle "
                        f"{layer.routed_scaling_factor}")
    return problems


def _bias_mismatches(r: dict, layer) -> List[str]:
    """What differs between a block's router bias, experts' biases and activation (gpt-oss's;
    ``r``: _routing_of_hf) and the bundle's (inputs router_bias, w13_bias / w2_bias, its
    manifest's activation)."""
    problems = []
    rb, E = r["router_bias"], layer.experts
    if rb is not None and layer.router_bias_dtype is None:
        problems.append(f"router bias {list(rb.shape)}, bundle none (its route adds no router "
                        f"bias: compile it with layer_mlir(..., router=True, "
                        f"router_bias=True))")
    elif rb is None and layer.router_bias_dtype is not None:
        problems.append(f"no router bias, bundle router_bias [{E}]")
    elif rb is not None and tuple(rb.shape) != (E,):
        problems.append(f"router bias {list(rb.shape)}, bundle router_bias [{E}]")
    if r["expert_biases"] and not layer.bias_inputs:
        problems.append("experts' biases (gate_up_proj_bias, down_proj_bias), bundle none (no "
                        "inputs w13_bias, w2_bias: compile it with layer_mlir(..., bias=True))")
    elif not r["expert_biases"] and layer.bias_inputs:
        problems.append(f"no experts' biases, bundle {', '.join(layer.bias_inputs)}")
    if r["activation"] != layer.activation:
        problems.append(f"activation {_activation_text(r['activation'])}, bundle "
                        f"{_activation_text(layer.activation)}")
    return problems


class SamoyedsMoEBlock(nn.Module):
    """A sparse MoE block computed by a compiled Samoyeds layer.

    ``forward(hidden_states [..., H])`` flattens to [T, H], calls
    ``torch.ops.samoyeds.moe_ffn``, adds the shared expert when there is one
    (Qwen2-MoE: ``sigmoid(shared_expert_gate(x)) * shared_expert(x)``) and
    reshapes back. ``returns_tuple``: also return the router logits [T, E]
    (what transformers 4.x blocks return); transformers 5.x blocks return the
    tensor only. ``returns_scores`` (gpt-oss): return ``(y, router_scores)`` as
    GptOssMLP does, the scores as samoyeds.load's block gives them
    (:meth:`router_scores`, a router matmul in torch). ``record_router_logits``:
    call the HF router module anyway so that transformers 5.x's
    ``output_router_logits`` hooks see it (costs a router matmul).

    Build it with :meth:`from_hf`, which takes the router weight from the HF
    block's ``gate.weight`` (gpt-oss: ``router.weight`` and ``router.bias``) and
    checks top_k / renormalisation / shapes (gpt-oss: the router bias, the
    experts' biases and the activation too) against the bundle.
    """

    def __init__(self, layer: MoELayer, gate: Optional[nn.Module] = None,
                 shared_expert: Optional[nn.Module] = None,
                 shared_expert_gate: Optional[nn.Module] = None, returns_tuple: bool = False,
                 record_router_logits: bool = False, returns_scores: bool = False):
        super().__init__()
        if (returns_tuple or returns_scores) and gate is None:
            raise _err("SY_ERR_INVALID_ARGUMENT", "SamoyedsMoEBlock: returns_tuple and "
                       "returns_scores need the router module (gate)")
        self.layer = layer
        self.handle = register_layer(layer)
        self.gate = gate
        self.shared_expert = shared_expert
        self.shared_expert_gate = shared_expert_gate
        self.returns_tuple = returns_tuple
        self.record_router_logits = record_router_logits
        self.returns_scores = returns_scores
        # gpt-oss's routing convention, what router_scores follows.
        self.scores_spec = routing_from_config(
            {"model_type": "gpt_oss", "num_local_experts": layer.experts,
             "num_experts_per_tok": layer.top_k}) if returns_scores else None

    @classmethod
    def from_hf(cls, hf_block: nn.Module, layer: MoELayer, set_router: bool = True,
                record_router_logits: bool = False) -> "SamoyedsMoEBlock":
        """Wraps ``layer`` to replace ``hf_block`` (its router becomes the layer's router
        when ``set_router``, with gpt-oss's router bias). Raises SamoyedsError when the
        block's routing or shapes differ from the bundle's.

        gpt-oss's block (a router bias, the experts' biases, the clamped SwiGLU) needs a
        bundle with all three and the same alpha / limit (``samoyeds.compile.layer_mlir(...,
        router=True, renormalize=True, router_bias=True, activation="clamped_swiglu",
        bias=True)``); the experts' biases come with the weights (MoELayer.load_weights of
        a converted file, or set_biases); other blocks need a bundle with none of them."""
        r = _routing_of_hf(hf_block)
        problems = _routing_mismatches(r, layer) + _bias_mismatches(r, layer)
        if problems:
            raise _err("SY_ERR_PARAM_MISMATCH", f"{type(hf_block).__name__} does not match "
                       f"bundle {layer.dir}: " + "; ".join(problems))
        if set_router:
            layer.set_router(r["weight"], r["router_bias"])
        return cls(layer, gate=r["gate"], shared_expert=r["shared_expert"],
                   shared_expert_gate=r["shared_expert_gate"],
                   returns_tuple=r["returns_tuple"], record_router_logits=record_router_logits,
                   returns_scores=r["returns_scores"])

    def router_scores(self, x: torch.Tensor) -> torch.Tensor:
        """gpt-oss's router scores of ``x`` [T, H], what GptOssMLP returns beside the hidden
        states, as samoyeds.load's block computes them: the top-k weights [T, k] of the
        logits with the router's bias (route_torch), in the logits' dtype (float32 for a
        float32 router weight, else the model dtype)."""
        w, b = self.gate.weight, getattr(self.gate, "bias", None)
        dtype = torch.float32 if w.dtype == torch.float32 else x.dtype
        logits = nn.functional.linear(x.to(dtype), w.to(dtype),
                                      None if b is None else b.to(dtype))
        weights, _ = route_torch(logits, self.scores_spec)
        return weights.to(logits.dtype)

    def forward(self, hidden_states: torch.Tensor):
        shape = hidden_states.shape
        H = shape[-1]
        x = hidden_states.reshape(-1, H)
        y = torch.ops.samoyeds.moe_ffn(x.contiguous(), self.handle)
        y = add_shared(y, x, self.shared_expert, self.shared_expert_gate).reshape(shape)
        if self.returns_tuple:
            return y, self.gate(x)
        if self.record_router_logits and self.gate is not None:
            self.gate(x)
        return (y, self.router_scores(x)) if self.returns_scores else y

    def extra_repr(self) -> str:
        return f"handle={self.handle}, {self.layer.describe()}"

    def __del__(self):
        try:
            unregister_layer(self.handle)
        except Exception:
            pass


# --------------------------------------------------------------------------- models


_BLOCK_ATTRS = ("block_sparse_moe", "mlp")


def add_shared(y: torch.Tensor, x: torch.Tensor, expert: Optional[nn.Module],
               gate: Optional[nn.Module]) -> torch.Tensor:
    """``y`` plus a block's shared expert of ``x`` (Qwen2-MoE's and DeepSeek's), scaled by
    ``sigmoid(gate(x))`` where the block has a shared-expert gate; ``y`` without one."""
    if expert is None:
        return y
    s = expert(x)
    if gate is not None:
        s = torch.sigmoid(gate(x)) * s
    return y + s


def find_moe_block(decoder_layer: nn.Module):
    """(attribute name, block) of a decoder layer's sparse MoE block, or (None, None):
    ``block_sparse_moe`` (Mixtral, transformers 4.x; GraniteMoE) or ``mlp`` (transformers
    5.x, Qwen2-MoE, OLMoE) holding ``gate`` and ``experts`` (GraniteMoE: ``router`` and
    ``input_linear``; gpt-oss: ``router`` and ``experts``)."""
    for attr in _BLOCK_ATTRS:
        block = getattr(decoder_layer, attr, None)
        if block is None:
            continue
        if ((hasattr(block, "gate") and hasattr(block, "experts")) or hf_router(block)[1]
                or is_gpt_oss_block(block)):
            return attr, block
    return None, None


def _decoder_layers(model: nn.Module):
    for path in ("model.layers", "layers", "model.model.layers"):
        obj = model
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if isinstance(obj, (nn.ModuleList, list, tuple)):
            return obj
    raise _err("SY_ERR_INVALID_ARGUMENT", f"{type(model).__name__}: no decoder layers "
               f"(looked for model.layers, layers)")


def moe_blocks(model: nn.Module, layers: Optional[Sequence[int]] = None):
    """Yields (index, decoder layer, attribute, block) for every decoder layer with a
    sparse MoE block (or for each of ``layers``, which must all have one)."""
    for i, dl in enumerate(_decoder_layers(model)):
        if layers is not None and i not in layers:
            continue
        attr, block = find_moe_block(dl)
        if block is None:
            if layers is not None:
                raise _err("SY_ERR_INVALID_ARGUMENT", f"layer {i} has no sparse MoE block")
            continue
        yield i, dl, attr, block


def swap_moe_blocks(model: nn.Module, bundle_dir, weights, prefix: str = "layers.{i}.",
                    layers: Optional[Sequence[int]] = None,
                    record_router_logits: bool = False) -> List[int]:
    """Replaces the sparse MoE block of every decoder layer (or of ``layers``) by a
    :class:`SamoyedsMoEBlock` running ``bundle_dir`` with the packed weights of file
    ``weights`` (names ``prefix.format(i=i) + "w13"`` / ``"w2"``, and gpt-oss's
    ``"w13_bias"`` / ``"w2_bias"``); routers come from the HF blocks' ``gate.weight``
    (gpt-oss: ``router.weight`` and ``router.bias``). Returns the swapped layer indices.
    The replaced expert weights stay referenced by nothing and are freed by torch."""
    done = []
    for i, dl, attr, block in moe_blocks(model, layers):
        layer = MoELayer(bundle_dir)
        layer.load_weights(weights, prefix.format(i=i), load_router=False)
        setattr(dl, attr, SamoyedsMoEBlock.from_hf(block, layer,
                                                   record_router_logits=record_router_logits))
        done.append(i)
    return done
