"""Serving a compiled model: ``samoyeds.load(model, OUT_DIR)``.

``OUT_DIR`` is what ``samoyeds-compile`` (:mod:`samoyeds.compile`) writes. :func:`load`
swaps every sparse MoE block of a transformers model for a :class:`SamoyedsExpertsBlock`
(the default ``--routing torch``):

* the routing is computed in torch by :mod:`samoyeds.routing` with the HF block's own
  router weight (and DeepSeek-V3's ``e_score_correction_bias``), in the model family's
  convention, read from OUT_DIR's manifest;
* the routed experts run in the compiled experts-only layer through
  ``torch.ops.samoyeds.moe_experts(hidden_states, topk_weights, topk_ids, handle)``;
* shared experts (Qwen2-MoE's gated ``shared_expert``, DeepSeek's ``shared_experts``) are
  kept and run in torch;
* gpt-oss's router adds its bias to the logits (``router.bias``), and its experts' biases
  and clamped SwiGLU are in the compiled layer (the biases loaded from OUT_DIR's weight
  file).

A directory compiled with ``--routing compiled`` (manifest ``"routing_mode": "compiled"``)
holds whole layers instead (``samoyeds.moe_ffn``: router matmul, softmax top-k and the
checkpoint's renormalisation, scaling and router bias compiled in): each block becomes a
:class:`samoyeds.torch_op.SamoyedsMoEBlock` running one, with the router (and gpt-oss's
router bias) of OUT_DIR's weight file and the block's shared experts in torch; it returns
what the replaced block returned, as SamoyedsExpertsBlock does.

``max_tokens`` reserves every layer's workspaces for that many tokens at load, so the
model can be captured in CUDA graphs at any T <= max_tokens with no warm-up; a larger T
is refused. The functions that read OUT_DIR and check the chip need no GPU.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from . import _capi
from ._capi import SamoyedsError, quote
from .compile import MODEL_FORMAT, MODEL_MANIFEST, ROUTING_MODES, CompileError, compiled_routing
from .routing import DEEPSEEK_STYLE, RoutingError, RoutingSpec

__all__ = ["ModelDir", "read_model", "check_chip", "load", "SamoyedsExpertsBlock"]



_err = _capi.status_error


@dataclass
class ModelDir:
    """A compiled model directory: its manifest, routing convention and files;
    ``routing_mode`` "torch" (experts-only bundles) or "compiled" (whole layers)."""

    dir: Path
    manifest: dict
    routing: RoutingSpec
    routing_mode: str = "torch"

    @property
    def architecture(self) -> str:
        return self.manifest["architecture"]

    @property
    def chip(self) -> str:
        return self.manifest["chip"]

    @property
    def weights(self) -> Path:
        return self.dir / self.manifest["weights"]

    def layers(self) -> Dict[int, dict]:
        return {int(e["index"]): e for e in self.manifest["layers"]}

    def bundle_dir(self, layer: dict) -> Path:
        return self.dir / self.manifest["bundles"][layer["bundle"]]["dir"]


def read_model(out_dir) -> ModelDir:
    """Reads and checks OUT_DIR's manifest and files (no device). A directory that a
    compile left unfinished, or anything else that is not a compiled model, is refused
    with a message naming the problem."""
    d = Path(os.fspath(out_dir))
    path = d / MODEL_MANIFEST
    if not d.is_dir():
        raise _err("SY_ERR_IO", f"{d}: no such model directory (compile one with "
                   f"samoyeds-compile CKPT_DIR {d})")
    if not path.is_file():
        hint = (" (an interrupted samoyeds-compile leaves only a .tmp- directory)"
                if ".tmp-" in d.name else "")
        raise _err("SY_ERR_IO", f"{d}: not a compiled samoyeds model: no {MODEL_MANIFEST}"
                   f"{hint}")
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise _err("SY_ERR_MANIFEST", f"{path}: cannot read: {e}") from e
    if not isinstance(m, dict) or m.get("format") != MODEL_FORMAT:
        raise _err("SY_ERR_MANIFEST", f"{path}: format is not {MODEL_FORMAT!r}")
    if m.get("version") != 1:
        raise _err("SY_ERR_MANIFEST", f"{path}: unsupported version {m.get('version')!r}")
    try:
        spec = RoutingSpec.from_json(m["routing"])
        if spec.model_type != m["architecture"]:
            raise ValueError(f"routing is {spec.model_type!r}, architecture "
                             f"{m['architecture']!r}")
        for e in m["layers"]:
            bundle = m["bundles"][e["bundle"]]
            if not (d / bundle["dir"] / "manifest.json").is_file():
                raise _err("SY_ERR_IO", f"{path}: layer {e['index']}: bundle "
                           f"{bundle['dir']} is missing")
        if not (d / m["weights"]).is_file():
            raise _err("SY_ERR_IO", f"{path}: weight file {m['weights']} is missing")
    except (KeyError, TypeError, ValueError, RoutingError) as e:
        raise _err("SY_ERR_MANIFEST", f"{path}: malformed manifest: {e!r}") from e
    return ModelDir(d, m, spec, _routing_mode(m, spec, path))


def _routing_mode(m: dict, spec: RoutingSpec, path: Path) -> str:
    """The manifest's "routing_mode" ("torch" where there is none, as in every manifest
    written before it existed), checked: a known mode, and for "compiled" a routing
    convention the compiled route can express."""
    mode = m.get("routing_mode", "torch")
    if not isinstance(mode, str) or mode not in ROUTING_MODES:
        raise _err("SY_ERR_MANIFEST", f"{path}: unknown routing_mode {quote(mode)} (this "
                   f"samoyeds reads {' and '.join(map(repr, ROUTING_MODES))}; a newer "
                   f"samoyeds-compile may have written it)")
    if mode == "compiled":
        try:
            compiled_routing(spec)
        except CompileError as e:
            raise _err("SY_ERR_MANIFEST", f"{path}: routing_mode 'compiled' with a routing "
                       f"it cannot run: {e}") from None
    return mode


def check_chip(chip: str, capability: Tuple[int, int], where: str = "") -> None:
    """Refuses a bundle compiled for ``chip`` on a device of compute ``capability``
    (the runtime's rule: sm_90/sm_90a need 9.0 exactly, sm_XY at least X.Y)."""
    major, minor = capability
    cc = major * 10 + minor
    try:
        want = int(chip[3:].rstrip("a"))
    except ValueError:
        raise _err("SY_ERR_UNSUPPORTED_CHIP", f"{where}unknown chip {chip!r}")
    if chip in ("sm_90", "sm_90a"):
        ok = (major, minor) == (9, 0)
    else:
        ok = cc >= want and (not chip.endswith("a") or cc == want)
    if not ok:
        raise _err("SY_ERR_UNSUPPORTED_CHIP",
                   f"{where}compiled for {chip}, but this GPU is sm_{major}{minor}: recompile "
                   f"with samoyeds-compile --chip sm_{major}{minor}"
                   f"{'a' if (major, minor) == (9, 0) else ''}")


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError("samoyeds.load needs PyTorch (pip install torch)") from e
    return torch


def _block_parts(block, architecture: str) -> dict:
    """The router weight (and gpt-oss's router bias), selection bias, shared experts,
    return style and logits dtype of an HF block."""
    import torch
    from torch import nn

    from .torch_op import hf_router, hf_router_bias, hf_router_weight, hf_selection_bias

    gate, granite = hf_router(block)
    weight = hf_router_weight(block, gate, granite)
    deepseek = architecture in DEEPSEEK_STYLE
    gpt_oss = architecture == "gpt_oss"
    return {
        "gate": gate, "weight": weight,
        "router_bias": hf_router_bias(block, gate),
        # gpt-oss's GptOssMLP returns (hidden states, router scores): the top-k weights
        # [T, k] in the logits' dtype (transformers 5; 4.x scattered them to [T, E]).
        "returns_scores": gpt_oss,
        "bias": hf_selection_bias(block, gate),
        "shared": getattr(block, "shared_experts", None) if deepseek
        else getattr(block, "shared_expert", None),
        "shared_gate": None if deepseek else getattr(block, "shared_expert_gate", None),
        # transformers 4.x Mixtral/Qwen/OLMoE blocks (router an nn.Linear) return
        # (hidden_states, router_logits); DeepSeek blocks and 5.x blocks the tensor only;
        # GraniteMoE's and ERNIE-4.5's the pair.
        "returns_tuple": granite or gpt_oss or architecture == "ernie4_5_moe"
        or (isinstance(gate, nn.Linear) and not deepseek),
        # float32 logits as transformers computes them: DeepSeek-style routers, and a
        # float32 router weight (MiniMax-M2 casts the input to the weight's dtype).
        "f32_logits": deepseek or weight.dtype == torch.float32,
    }


def _make_block_class():
    torch = _torch()
    from torch import nn

    from . import torch_op  # registers torch.ops.samoyeds.moe_experts

    class SamoyedsExpertsBlock(nn.Module):
        """A sparse MoE block whose routed experts run in a compiled experts-only layer.

        ``forward(hidden_states [..., H])``: router logits from the HF router weight (and
        gpt-oss's router bias; in float32 for DeepSeek, the model dtype otherwise, like
        transformers), routing by :func:`samoyeds.routing.route_torch`, the experts by
        ``torch.ops.samoyeds.moe_experts``, plus the shared experts in torch. Returns
        ``(out, router_logits)`` when the replaced block did (transformers 4.x), and
        gpt-oss's ``(out, router_scores)`` (``returns_scores``: the top-k weights [T, k] in
        the logits' dtype, as transformers 5's GptOssMLP).
        """

        def __init__(self, layer, spec: RoutingSpec, router_weight, bias=None,
                     shared=None, shared_gate=None, returns_tuple: bool = False,
                     f32_logits: bool = False, router_bias=None,
                     returns_scores: bool = False):
            super().__init__()
            self.layer = layer
            self.handle = torch_op.register_layer(layer)
            self.spec = spec
            self.router_weight = router_weight
            self.bias = bias
            self.shared = shared
            self.shared_gate = shared_gate
            self.returns_tuple = returns_tuple
            self.f32_logits = f32_logits
            self.router_bias = router_bias
            self.returns_scores = returns_scores
            if spec.router_bias and router_bias is None:
                raise _err("SY_ERR_INVALID_ARGUMENT", f"{spec.model_type} routing adds the "
                           f"router's bias to the logits: pass router_bias [E]")

        def route(self, x):
            """(topk_weights f32 [T, k], topk_ids i32 [T, k], router logits [T, E])."""
            from .routing import route_torch

            w, b = self.router_weight, self.router_bias
            if self.f32_logits:
                logits = torch.nn.functional.linear(x.float(), w.float(),
                                                    None if b is None else b.float())
            else:
                logits = torch.nn.functional.linear(x, w.to(x.dtype),
                                                    None if b is None else b.to(x.dtype))
            weights, ids = route_torch(logits, self.spec, self.bias)
            return weights.contiguous(), ids.contiguous(), logits

        def forward(self, hidden_states):
            shape = hidden_states.shape
            x = hidden_states.reshape(-1, shape[-1]).contiguous()
            weights, ids, logits = self.route(x)
            y = torch.ops.samoyeds.moe_experts(x, weights, ids, self.handle)
            y = torch_op.add_shared(y, x, self.shared, self.shared_gate).reshape(shape)
            if self.returns_scores:
                return y, weights.to(logits.dtype)
            return (y, logits) if self.returns_tuple else y

        def extra_repr(self) -> str:
            return f"handle={self.handle}, {self.spec.describe()}, {self.layer.describe()}"

        def __del__(self):
            try:
                torch_op.unregister_layer(self.handle)
            except Exception:
                pass

    return SamoyedsExpertsBlock


_BLOCK_CLASS = None


def __getattr__(name):
    if name == "SamoyedsExpertsBlock":
        global _BLOCK_CLASS
        if _BLOCK_CLASS is None:
            _BLOCK_CLASS = _make_block_class()
        return _BLOCK_CLASS
    raise AttributeError(f"module 'samoyeds.serving' has no attribute {name!r}")


def _check_block(parts: dict, entry: dict, md: ModelDir, i: int) -> None:
    """Refuses an HF block (``parts``: :func:`_block_parts`) whose router is not the shape
    of OUT_DIR's layer ``entry``, or that lacks the selection bias or router bias its
    routing convention needs."""
    E, H = parts["weight"].shape
    if (E, H) != (entry["experts"], entry["hidden"]):
        raise _err("SY_ERR_PARAM_MISMATCH", f"layer {i}: router [E, H] = [{E}, {H}], "
                   f"{md.dir} has [{entry['experts']}, {entry['hidden']}]")
    if md.routing.uses_bias and parts["bias"] is None:
        raise _err("SY_ERR_INVALID_ARGUMENT", f"layer {i}: {md.architecture} routing "
                   f"needs e_score_correction_bias (on the gate, the block or its "
                   f"moe_statics), the block has none")
    rb = parts["router_bias"]
    if md.routing.router_bias and (rb is None or tuple(rb.shape) != (E,)):
        raise _err("SY_ERR_INVALID_ARGUMENT", f"layer {i}: {md.architecture} routing "
                   f"adds the router's bias (router.bias [{E}]) to the logits; the "
                   f"block's router has "
                   f"{'none' if rb is None else list(rb.shape)}")


def _experts_block(layer, md: ModelDir, parts: dict):
    """A :class:`SamoyedsExpertsBlock` running the experts-only ``layer`` with the routing
    of OUT_DIR's convention on the HF block's router (``parts``: :func:`_block_parts`)."""
    import torch

    dev, rb = layer.device, parts["router_bias"]
    return __getattr__("SamoyedsExpertsBlock")(
        layer, md.routing, parts["weight"].detach().to(dev),
        None if parts["bias"] is None else parts["bias"].detach().to(dev, torch.float32),
        parts["shared"], parts["shared_gate"], parts["returns_tuple"],
        parts["f32_logits"],
        None if rb is None or not md.routing.router_bias else rb.detach().to(dev),
        parts["returns_scores"])


def _bundle_mismatches(layer, md: ModelDir) -> List[str]:
    """What differs between a loaded layer bundle and what OUT_DIR's manifest says its
    layers are: an experts-only layer of the routing's top_k (routing_mode torch), or a
    whole layer with the convention's top_k, renormalisation, scaling factor and router
    bias (compiled; :func:`samoyeds.compile.compiled_routing`)."""
    spec = md.routing
    kind = "moe_ffn" if md.routing_mode == "compiled" else "moe_experts"
    if layer.kind != kind:
        return [f"a {layer.kind} layer, routing_mode {md.routing_mode!r} needs {kind}"]
    problems = [] if layer.top_k == spec.top_k else [f"top_k {layer.top_k}, the routing "
                                                      f"{spec.top_k}"]
    if kind == "moe_ffn":
        want = compiled_routing(spec)
        have = {"renormalize": layer.renormalize,
                "routed_scaling_factor": layer.routed_scaling_factor,
                "router_bias": layer.router_bias_dtype is not None}
        problems += [f"{key} {have[key]}, the routing {want[key]}" for key in want
                     if have[key] != want[key]]
    return problems


def _whole_layer_block(layer, parts: dict):
    """A :class:`samoyeds.torch_op.SamoyedsMoEBlock` running the whole layer ``layer`` in
    place of the HF block of ``parts`` (:func:`_block_parts`): its shared experts (Qwen2-MoE's
    gated one, DeepSeek's) and its return style, the same as SamoyedsExpertsBlock's (the
    router logits of a transformers 4.x block, gpt-oss's router scores)."""
    from .torch_op import SamoyedsMoEBlock

    return SamoyedsMoEBlock(layer, gate=parts["gate"], shared_expert=parts["shared"],
                            shared_expert_gate=parts["shared_gate"],
                            returns_tuple=parts["returns_tuple"] and not parts["returns_scores"],
                            returns_scores=parts["returns_scores"])


def load(model, out_dir, max_tokens: Optional[int] = None,
         layers: Optional[Sequence[int]] = None) -> List[int]:
    """Swaps the sparse MoE block of every decoder layer of ``model`` (a transformers
    model of OUT_DIR's architecture; or only ``layers``) for a
    :class:`SamoyedsExpertsBlock` running OUT_DIR's compiled experts, or, for a directory
    compiled with ``--routing compiled``, for a :class:`samoyeds.torch_op.SamoyedsMoEBlock`
    running its whole layer (the router from OUT_DIR's weight file). Returns the swapped
    layer indices. ``max_tokens``: reserve every layer for that many tokens per call
    (CUDA graphs without warm-up; larger calls refused)."""
    torch = _torch()
    from .layer import MoELayer
    from .torch_op import moe_blocks

    md = read_model(out_dir)
    mt = getattr(getattr(model, "config", None), "model_type", None)
    if mt is not None and mt != md.architecture:
        raise _err("SY_ERR_PARAM_MISMATCH", f"{md.dir} was compiled from a {md.architecture} "
                   f"checkpoint; this model is {mt}")
    if not torch.cuda.is_available():
        raise _err("SY_ERR_NO_DEVICE", "samoyeds.load needs a CUDA device "
                   "(torch.cuda.is_available() is False)")
    check_chip(md.chip, torch.cuda.get_device_capability(0), f"{md.dir}: ")
    compiled = md.layers()
    done = []
    for i, dl, attr, block in moe_blocks(model, layers):
        if i not in compiled:
            raise _err("SY_ERR_NOT_FOUND", f"layer {i} has a MoE block but {md.dir} has no "
                       f"compiled layer {i} (compiled: {sorted(compiled)})")
        entry = compiled[i]
        parts = _block_parts(block, md.architecture)
        _check_block(parts, entry, md, i)
        layer = MoELayer(md.bundle_dir(entry), max_tokens=max_tokens)
        problems = _bundle_mismatches(layer, md)
        if problems:
            raise _err("SY_ERR_PARAM_MISMATCH", f"layer {i}: bundle {layer.dir} does not "
                       f"match {md.dir}'s manifest: " + "; ".join(problems))
        compiled_route = md.routing_mode == "compiled"
        layer.load_weights(md.weights, entry["prefix"], load_router=compiled_route)
        if compiled_route and layer.router is None:
            raise _err("SY_ERR_NOT_FOUND", f"layer {i}: {md.weights} has no router "
                       f"{entry['prefix']}router [E, H], which the compiled routing needs "
                       f"(samoyeds-compile copies it there)")
        setattr(dl, attr, _whole_layer_block(layer, parts) if compiled_route
                else _experts_block(layer, md, parts))
        done.append(i)
    return done
