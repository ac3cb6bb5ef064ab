"""Expert parallelism: a MoE layer's experts sharded over the ranks of a process group.

Each rank holds a slice of the experts (:class:`~samoyeds.placement.Placement`:
contiguous slices by default, or a placement map) and its own tokens. A forward
(:meth:`ExpertParallelMoE.moe_experts`, or :meth:`ExpertParallelMoE.__call__` which routes
first) on every rank of the group, collectively:

1. routing (once per token, by the rank that holds the token): ``topk_ids`` [T, k] and
   ``topk_weights``; every (token, choice) pair is a *slot*, slot ``s = t * k + j``;
2. **counts**: the slots are ordered by destination rank (the owner of their expert; a
   stable sort, so slot order within a rank) and the per-rank counts are exchanged with
   ``all_to_all_single`` on an int64 tensor; ``.tolist()`` of the sent and received counts
   is the layer's **only host synchronisation** (the payload exchanges need the split
   sizes on the host);
3. **dispatch**: one ``all_to_all_single`` of an int32 payload whose rows are a slot's
   hidden state (its bytes) and its local expert id (the global id remapped through the
   placement: the compiled bundles hold only local experts and would clamp other ids);
4. **local experts**: the received slots run through the rank's local experts (pluggable:
   :class:`~samoyeds.ep_experts.CompiledExperts` on a GPU,
   :class:`~samoyeds.ep_experts.ReferenceExperts` on the CPU), unweighted;
5. **return**: one ``all_to_all_single`` back with the split sizes swapped;
6. **combine**: ``y[t] = sum_j w[t, j] * out[t, j]`` accumulated in float32 (float64 for
   float64 inputs) in slot order ``j = 0 .. k-1``, then cast to the input dtype. The order
   does not depend on the world size or the placement, and nothing uses atomics: a run is
   deterministic (bit-identical when repeated).

Construction is collective too, and never leaves a rank waiting for a failed one: every
rank validates the placement and loads its local experts, then all ranks exchange one
small int64 tensor (``all_gather``) with an ok/failed flag, a fingerprint (format, expert
count, hidden size, top-k, world size, placement hash) and a message; any failure or any
difference raises the same :class:`~samoyeds.SamoyedsError` on every rank, naming the rank.
Argument errors of a forward (a wrong shape) are raised before the first collective, on
the rank that made them; the other ranks then wait in the counts exchange until the
process group's timeout (set one: :func:`init_process_group`).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.distributed as dist

from . import _capi
from ._capi import SamoyedsError, SamoyedsValueError
from .placement import Placement, format_hash
from .routing import DEEPSEEK_STYLE, RoutingSpec, route_torch

__all__ = ["ExpertParallelMoE", "agree", "init_process_group", "select_local_gpu"]

FIELDS = ("format", "experts", "hidden", "top_k", "world size", "placement")
MESSAGE_BYTES = 512
_INTERNAL = _capi.STATUS_NAMES.index("SY_ERR_INTERNAL")
_SEP = "\x1f"  # separates the format and the placement in a fingerprint's text


_err = _capi.status_error


def init_process_group(backend: str = "gloo", timeout_s: float = 60.0, **kwargs) -> None:
    """``torch.distributed.init_process_group`` (env:// as torchrun sets it, unless ``store``
    etc. are given) with a timeout: a collective that a rank never joins fails after
    ``timeout_s`` seconds instead of hanging."""
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s), **kwargs)


def select_local_gpu() -> str:
    """Makes this process see only the GPU of its torchrun ``LOCAL_RANK`` (by setting
    ``CUDA_VISIBLE_DEVICES``): the runtime runs on device 0. Call it before anything
    initialises CUDA. Returns the device id chosen."""
    if torch.cuda.is_initialized():
        raise _err("SY_ERR_INVALID_ARGUMENT", "select_local_gpu: CUDA is already initialised "
                   "in this process; call it first")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    visible = [v for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v]
    if visible and local >= len(visible):
        raise _err("SY_ERR_NO_DEVICE", f"LOCAL_RANK {local} but CUDA_VISIBLE_DEVICES lists "
                   f"{len(visible)} devices")
    chosen = visible[local] if visible else str(local)
    os.environ["CUDA_VISIBLE_DEVICES"] = chosen
    return chosen


def _comm_device(group) -> torch.device:
    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _encode(status: int, ok: bool, fingerprint: Sequence[int], message: str) -> torch.Tensor:
    raw = message.encode("utf-8", "replace")[:MESSAGE_BYTES].ljust(MESSAGE_BYTES, b"\0")
    head = [int(ok), status] + [int(v) for v in fingerprint]
    head += [0] * (2 + len(FIELDS) - len(head))
    words = np.frombuffer(raw, dtype="<i8")
    return torch.tensor(head + words.tolist(), dtype=torch.int64)


def _decode(t: torch.Tensor):
    v = t.tolist()
    n = 2 + len(FIELDS)
    raw = np.asarray(v[n:], dtype="<i8").tobytes().rstrip(b"\0")
    return bool(v[0]), int(v[1]), v[2:n], raw.decode("utf-8", "replace")


def agree(group, fn: Callable[[], Sequence[int]], what: str):
    """Runs ``fn()`` on every rank of ``group``, then makes every rank learn every rank's
    outcome with one ``all_gather``: raises the same SamoyedsError on every rank if any
    rank's ``fn`` raised (naming the ranks and quoting their messages). ``fn`` returns the
    rank's fingerprint (len(FIELDS) ints) and, optionally as a second element, a text;
    returns [(fingerprint, text)] of every rank (text: what it returned, at most
    MESSAGE_BYTES bytes of UTF-8)."""
    status, ok, fp, text = 0, True, [], ""
    try:
        got = fn()
        fp, text = (got if isinstance(got, tuple) else (got, ""))
    except Exception as e:  # reported to every rank below
        ok = False
        status = (e.status if isinstance(e, SamoyedsError) else
                  _capi.STATUS_NAMES.index("SY_ERR_IO") if isinstance(e, OSError) else _INTERNAL)
        text = e.message if isinstance(e, SamoyedsError) else f"{type(e).__name__}: {e}"
    mine = _encode(status, ok, fp, text).to(_comm_device(group))
    every = [torch.empty_like(mine) for _ in range(dist.get_world_size(group))]
    dist.all_gather(every, mine, group=group)
    rows = [_decode(t.cpu()) for t in every]
    failed = [(r, st, msg) for r, (good, st, _, msg) in enumerate(rows) if not good]
    if failed:
        ranks = ", ".join(str(r) for r, _, _ in failed)
        detail = "; ".join(f"rank {r}: {msg}" for r, _, msg in failed[:4])
        raise SamoyedsError(failed[0][1] or _INTERNAL,
                            f"expert parallelism: rank{'s' if len(failed) > 1 else ''} "
                            f"{ranks} of {len(rows)} failed {what}: {detail}")
    return [(fp, msg) for _, _, fp, msg in rows]


def _check_agreement(rows) -> None:
    """Raises PARAM_MISMATCH on every rank when the ranks' fingerprints differ."""
    problems = []
    for i, name in enumerate(FIELDS):
        values = [fp[i] for fp, _ in rows]
        if len(set(values)) > 1:
            texts = [text.split(_SEP) + [""] for _, text in rows]
            shown = [f"rank {r}: " + (repr(texts[r][0]) if name == "format" else
                                      texts[r][1] if name == "placement" else str(v))
                     for r, v in enumerate(values)]
            problems.append(f"{name} differs ({', '.join(shown[:8])})")
    if problems:
        raise _err("SY_ERR_PARAM_MISMATCH", "expert parallelism: the ranks were set up "
                   "differently: " + "; ".join(problems))


def _as_placement(placement, experts: int, world_size: int) -> Placement:
    if placement is None:
        p = Placement.contiguous(experts, world_size)
    elif isinstance(placement, Placement):
        p = placement
    elif placement and all(isinstance(x, Sequence) and not isinstance(x, (str, bytes))
                           for x in placement):
        p = Placement.from_ranks(placement, experts)
    else:
        p = Placement.from_owner(placement, world_size)
    if p.experts != experts:
        raise SamoyedsValueError(f"placement: places {p.experts} experts, the layer has "
                                 f"{experts}")
    if p.world_size != world_size:
        raise SamoyedsValueError(f"placement: made for {p.world_size} ranks, the process "
                                 f"group has {world_size}")
    return p


def _words(t: torch.Tensor) -> torch.Tensor:
    """The bytes of a contiguous [N, H] tensor as int32 words [N, H * size / 4]."""
    return t.contiguous().view(torch.int32)


class ExpertParallelMoE:
    """A MoE layer's experts sharded over ``group`` (module docstring: the algorithm).

    ``load_local(rank, experts)`` builds this rank's local experts (``experts``: their
    global ids, in local order) — see :mod:`samoyeds.ep_experts`; it is called inside the
    collective check, so a rank that fails makes every rank raise. ``experts`` / ``hidden``
    / ``top_k``: the layer's E, H and k. ``placement``: None (contiguous), a
    :class:`Placement`, per-rank lists of expert ids, or the rank of every expert.
    ``routing`` (a :class:`~samoyeds.routing.RoutingSpec`) with ``router`` [E, H] (and
    ``bias``) enables :meth:`__call__`, which routes in torch like
    :class:`samoyeds.serving.SamoyedsExpertsBlock` (``f32_logits``: logits in float32, as
    DeepSeek does). ``device``: where the inputs live (cuda:0 with the compiled experts).
    ``last_counts``: the slots this rank sent to and received from each rank in its last
    forward (load balance; no extra synchronisation).
    """

    def __init__(self, load_local: Callable, experts: int, hidden: int, top_k: int,
                 placement=None, group=None, routing: Optional[RoutingSpec] = None,
                 router=None, bias=None, f32_logits: bool = False, device=None):
        self.group = group
        self.world_size = dist.get_world_size(group)
        self.rank = dist.get_rank(group)
        self.experts, self.hidden, self.top_k = experts, hidden, top_k
        self.device = torch.device(device) if device is not None else _comm_device(group)
        self.routing, self.f32_logits = routing, f32_logits
        self.router = self.bias = None
        self.last_counts = None

        def setup():
            if routing is not None and routing.router_bias:
                raise _err("SY_ERR_INVALID_ARGUMENT", f"{routing.model_type or 'this'} "
                           f"routing (a router bias, experts with biases and clamped "
                           f"SwiGLU: gpt-oss) is not supported by expert parallelism")
            self.placement = _as_placement(placement, experts, self.world_size)
            mine = self.placement.ranks[self.rank]
            local = load_local(self.rank, mine)
            if getattr(local, "experts", None) != len(mine) or \
                    getattr(local, "hidden", None) != hidden:
                raise _err("SY_ERR_PARAM_MISMATCH", f"local experts hold "
                           f"{getattr(local, 'experts', '?')} experts of hidden size "
                           f"{getattr(local, 'hidden', '?')}; the placement gives rank "
                           f"{self.rank} {len(mine)} experts of hidden size {hidden}")
            self.local = local
            if routing is not None:
                self._set_routing(router, bias)
            fmt = str(local.format)
            return ([format_hash(fmt), experts, hidden, top_k, self.world_size,
                     self.placement.digest()],
                    f"{fmt[:200]}{_SEP}{self.placement.describe()} {self.placement.digest():x}")

        _check_agreement(agree(group, setup, "to set up their local experts"))
        self._owner = torch.tensor(self.placement.owner(), dtype=torch.int64,
                                   device=self.device)
        self._local_id = torch.tensor(self.placement.local_index(), dtype=torch.int32,
                                      device=self.device)

    def _set_routing(self, router, bias) -> None:
        if router is None or tuple(router.shape) != (self.experts, self.hidden):
            raise _err("SY_ERR_SIZE_MISMATCH", f"router must be [{self.experts}, "
                       f"{self.hidden}], got {None if router is None else list(router.shape)}")
        if self.routing.experts != self.experts or self.routing.top_k != self.top_k:
            raise _err("SY_ERR_PARAM_MISMATCH", f"routing is {self.routing.describe()}; the "
                       f"layer has {self.experts} experts, top-{self.top_k}")
        self.router = router.detach().to(self.device)
        self.bias = None if bias is None else bias.detach().to(self.device, torch.float32)

    # -- forward ---------------------------------------------------------------------------

    def route(self, x):
        """(topk_weights float32 [T, k], topk_ids int32 [T, k]) of this rank's tokens."""
        if self.router is None:
            raise _err("SY_ERR_NOT_READY", "ExpertParallelMoE: no routing (pass routing and "
                       "router), call moe_experts(x, topk_weights, topk_ids) instead")
        w = self.router
        logits = (torch.nn.functional.linear(x.float(), w.float()) if self.f32_logits
                  else torch.nn.functional.linear(x, w.to(x.dtype)))
        return route_torch(logits, self.routing, self.bias)

    def __call__(self, hidden_states):
        """Routes this rank's tokens [..., H] and runs the experts (collective)."""
        shape = hidden_states.shape
        x = hidden_states.reshape(-1, shape[-1]).contiguous()
        weights, ids = self.route(x)
        return self.moe_experts(x, weights, ids).reshape(shape)

    def _check(self, x, topk_weights, topk_ids) -> None:
        T, H, k = (x.shape[0] if x.dim() == 2 else "T"), self.hidden, self.top_k
        if x.dim() != 2 or x.shape[1] != H or not x.is_floating_point():
            raise _err("SY_ERR_SIZE_MISMATCH", f"ExpertParallelMoE: hidden_states must be a "
                       f"floating [T, {H}] tensor, got {x.dtype} {list(x.shape)}")
        if (H * x.element_size()) % 4:
            raise _err("SY_ERR_INVALID_ARGUMENT", f"ExpertParallelMoE: a row of {H} "
                       f"{x.dtype} is not a whole number of 4-byte words")
        for name, t, fp in (("topk_weights", topk_weights, True), ("topk_ids", topk_ids, False)):
            if tuple(t.shape) != (T, k) or t.is_floating_point() != fp:
                raise _err("SY_ERR_SIZE_MISMATCH", f"ExpertParallelMoE: {name} must be "
                           f"{'floating' if fp else 'integer'} [{T}, {k}], got {t.dtype} "
                           f"{list(t.shape)}")
        for name, t in (("hidden_states", x), ("topk_weights", topk_weights),
                        ("topk_ids", topk_ids)):
            if t.device != self.device:
                raise _err("SY_ERR_INVALID_ARGUMENT", f"ExpertParallelMoE: {name} is on "
                           f"{t.device}, the layer on {self.device}")

    def moe_experts(self, hidden_states, topk_weights, topk_ids):
        """out [T, H] = sum_j topk_weights[:, j] * expert_{topk_ids[:, j]}(hidden_states)
        for this rank's T tokens (T may be 0), the experts living on any rank. Collective:
        every rank of the group calls it. Ids outside [0, E) are clamped like the
        experts-only op's (give them weight 0)."""
        x = hidden_states
        self._check(x, topk_weights, topk_ids)
        g, R, k = self.group, self.world_size, self.top_k
        T, H = x.shape
        flat = topk_ids.reshape(-1).to(torch.int64).clamp(0, self.experts - 1)
        dest = self._owner[flat]
        dest_sorted, perm = torch.sort(dest, stable=True)
        bounds = torch.searchsorted(dest_sorted, torch.arange(R + 1, device=dest.device))
        send = (bounds[1:] - bounds[:-1]).to(torch.int64)
        recv = torch.empty_like(send)
        dist.all_to_all_single(recv, send, group=g)
        send_sizes, recv_sizes = torch.stack([send, recv]).tolist()  # the host sync
        self.last_counts = (send_sizes, recv_sizes)

        xw = _words(x)
        W = xw.shape[1]
        payload = torch.cat([xw.index_select(0, perm // k),
                             self._local_id[flat[perm]].unsqueeze(1)], dim=1)
        got = payload.new_empty((sum(recv_sizes), W + 1))
        dist.all_to_all_single(got, payload, recv_sizes, send_sizes, group=g)

        if got.shape[0]:
            xr = got[:, :W].reshape(-1).view(x.dtype).view(-1, H)  # (a copy unless 1 row)
            out = _words(self.local(xr, got[:, W].contiguous()).to(x.dtype))
        else:
            out = got.new_empty((0, W))
        back = out.new_empty((T * k, W))
        dist.all_to_all_single(back, out, send_sizes, recv_sizes, group=g)

        cdtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        slots = back.view(x.dtype).index_select(0, torch.argsort(perm)).view(T, k, H)
        w = topk_weights.to(cdtype)
        acc = torch.zeros((T, H), dtype=cdtype, device=x.device)
        for j in range(k):
            acc.addcmul_(slots[:, j], w[:, j:j + 1])
        return acc.to(x.dtype)

    @classmethod
    def from_model_dir(cls, model_dir, layer_index: int, group=None,
                       max_tokens: Optional[int] = None) -> "ExpertParallelMoE":
        """Layer ``layer_index`` of an expert-parallel model directory on this rank's GPU
        (device 0; :func:`select_local_gpu`): its bundle and weight file, the placement and
        routing of the manifest, the router (and DeepSeek-V3's selection bias) from the
        rank's weight file. ``max_tokens``: reserve the local experts for that many slots per
        call (at most world size x tokens per rank x top-k), so that a forward allocates
        nothing. Collective."""
        from .ep_experts import CompiledExperts
        from .ep_model import read_ep_model

        state = {}

        def read():
            md = read_ep_model(model_dir)
            entry = md.layer(layer_index)
            state["md"], state["entry"] = md, entry
            rank = dist.get_rank(group)
            if md.world_size != dist.get_world_size(group):
                raise _err("SY_ERR_PARAM_MISMATCH", f"{md.dir} is compiled for "
                           f"{md.world_size} ranks, the process group has "
                           f"{dist.get_world_size(group)}")
            state["router"], state["bias"] = _router_of(md.weights(rank), entry["prefix"],
                                                        layer_index)
            return [0] * len(FIELDS)

        agree(group, read, f"to read {model_dir}")
        md, entry = state["md"], state["entry"]
        return cls(lambda rank, _: CompiledExperts.from_model_dir(md, rank, layer_index,
                                                                   max_tokens),
                   md.routing.experts, entry["hidden"], md.routing.top_k, md.placement,
                   group, md.routing, state["router"], state["bias"],
                   md.routing.model_type in DEEPSEEK_STYLE, torch.device("cuda", 0))


def _router_of(path, prefix: str, layer_index: int):
    """(router bf16 [E, H], selection bias float32 [E] or None) from a rank's weight file."""
    from .safetensors_io import SafetensorsFile

    f = SafetensorsFile(path)
    try:
        r = f.get(prefix + "router")
        router = torch.from_numpy(np.array(r).view(np.int16)).view(torch.bfloat16)
        bias = None
        # DeepSeek-V3's mlp.gate.e_score_correction_bias, MiniMax-M2's on the block,
        # ERNIE-4.5's [1, E] in mlp.moe_statics.
        own = re.compile(rf"(^|\.)layers\.{layer_index}\.(.+\.)?e_score_correction_bias$")
        for name in f.keys():
            if own.search(name):
                bias = torch.from_numpy(np.array(f.get(name), dtype=np.float32)).reshape(-1)
        return router, bias
    finally:
        f.close()
