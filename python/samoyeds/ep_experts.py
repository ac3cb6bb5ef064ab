"""Local experts of an expert-parallel layer (:mod:`samoyeds.expert_parallel`).

A *local experts* object holds one rank's slice of the experts and computes, for routed
slots, each slot's expert output **unweighted**:

    local(x [S, H], ids [S] (local expert ids, int)) -> y [S, H],  y[s] = expert_{ids[s]}(x[s])

with the SiLU MLP of every supported family, ``expert(x) = (silu(x W_g^T) * (x W_u^T)) W_d^T``
(``w13`` = gate rows over up rows [E, 2I, H], ``w2`` [E, H, I]). It also has ``experts``
(how many it holds), ``hidden`` and ``format`` (a description every rank must share).

* :class:`CompiledExperts`: the GPU path, an experts-only bundle of the rank's experts
  compiled with top-k 1 (``samoyeds-compile --expert-parallel R``) run by
  :class:`~samoyeds.layer.MoELayer` with every routing weight 1: the bundle's combine then
  returns each slot's expert output rounded to bf16. The ids are local (0 .. E_r - 1); the
  bundle would clamp any other id (docs/Bundle.md), so the layer remaps global ids first.
* :class:`ReferenceExperts`: the CPU reference (float64 or float32 torch), standing in for
  the kernels in tests; from dense weights or from a packed weight file (unpacked: the
  pruned weights the kernels compute with).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from . import _capi
from ._capi import SamoyedsError

__all__ = ["ReferenceExperts", "CompiledExperts"]


_err = _capi.status_error


def _bf16_tensor(bits: np.ndarray) -> "torch.Tensor":
    return torch.from_numpy(np.ascontiguousarray(bits).view(np.int16)).view(torch.bfloat16)


class ReferenceExperts:
    """The experts ``w13`` [E, 2I, H], ``w2`` [E, H, I] computed in ``dtype`` on the CPU
    (float64 by default). ``round_intermediate``: round silu(gate) * up to bf16 before the
    down projection, as the kernels do."""

    def __init__(self, w13, w2, dtype=torch.float64, round_intermediate: bool = False):
        w13, w2 = torch.as_tensor(w13), torch.as_tensor(w2)
        if w13.dim() != 3 or w2.dim() != 3 or w13.shape[0] != w2.shape[0] \
                or w13.shape[1] != 2 * w2.shape[2] or w13.shape[2] != w2.shape[1]:
            raise _err("SY_ERR_SIZE_MISMATCH", f"ReferenceExperts: w13 {list(w13.shape)} and "
                       f"w2 {list(w2.shape)} are not [E, 2I, H] and [E, H, I]")
        self.dtype = dtype
        self.w13 = w13.to(dtype)
        self.w2 = w2.to(dtype)
        self.experts, self.hidden = int(w2.shape[0]), int(w2.shape[1])
        self.intermediate = int(w2.shape[2])
        self.round_intermediate = round_intermediate
        self.format = (f"reference {str(dtype).replace('torch.', '')} I={self.intermediate}"
                       f"{' bf16-intermediate' if round_intermediate else ''}")

    @classmethod
    def from_weight_file(cls, path, prefix: str = "", experts: Optional[Sequence[int]] = None,
                         dtype=torch.float64, round_intermediate: bool = False):
        """The pruned experts of a packed weight file (``prefix + "w13"`` / ``"w2"``,
        unpacked with the runtime's unpacker), or only those of ``experts``, in that
        order."""
        from .pack import unpack
        from .weightfile import WeightFile

        wf = WeightFile(path)
        try:
            dense = [_bf16_tensor(unpack(wf.read(prefix + n))) for n in ("w13", "w2")]
        finally:
            wf.close()
        if experts is not None:
            idx = torch.as_tensor(list(experts), dtype=torch.int64)
            dense = [d.index_select(0, idx) for d in dense]
        return cls(dense[0], dense[1], dtype, round_intermediate)

    def __call__(self, x, ids):
        ids = ids.to(torch.int64)
        if x.dim() != 2 or x.shape[1] != self.hidden or ids.shape != (x.shape[0],):
            raise _err("SY_ERR_SIZE_MISMATCH", f"ReferenceExperts: x {list(x.shape)} and ids "
                       f"{list(ids.shape)} are not [S, {self.hidden}] and [S]")
        xf = x.to(self.dtype)
        y = torch.zeros_like(xf)
        I = self.intermediate
        for e in torch.unique(ids).tolist():
            if not 0 <= e < self.experts:
                raise _err("SY_ERR_INVALID_ARGUMENT", f"ReferenceExperts: local expert id {e} "
                           f"is not in [0, {self.experts})")
            sel = (ids == e).nonzero().squeeze(1)
            h = xf.index_select(0, sel) @ self.w13[e].T
            a = torch.nn.functional.silu(h[:, :I]) * h[:, I:]
            if self.round_intermediate:
                a = a.to(torch.bfloat16).to(self.dtype)
            y.index_copy_(0, sel, a @ self.w2[e].T)
        return y


class CompiledExperts:
    """One rank's experts on its GPU: an experts-only bundle with top-k 1 and the rank's
    experts (``bundle_dir``) with its packed weights (file ``weights``, names ``prefix +
    "w13"`` / ``"w2"``). ``max_tokens``: reserve the workspaces for that many routed slots
    per call (see :class:`~samoyeds.layer.MoELayer`)."""

    def __init__(self, bundle_dir, weights=None, prefix: str = "",
                 max_tokens: Optional[int] = None):
        from .layer import LayerBundle, MoELayer

        b = LayerBundle(bundle_dir)
        try:
            self.check_bundle(b)
        finally:
            b.close()
        self.layer = MoELayer(bundle_dir, max_tokens=max_tokens)
        try:
            if weights is not None:
                self.layer.load_weights(weights, prefix, load_router=False)
        except BaseException:
            self.layer.close()
            raise
        w = self.layer.weights["w13"]
        self.experts, self.hidden = self.layer.experts, self.layer.hidden
        self.format = (f"{w['n']}:{w['m']}:{w['v']} {w['layout']} {w['dtype']} "
                       f"{self.layer.chip} I={self.layer.intermediate}")

    @staticmethod
    def check_bundle(bundle) -> None:
        """Refuses a bundle that is not experts-only with top-k 1, or whose experts have
        biases or another activation than SiLU (gpt-oss's) (a LayerBundle)."""
        if bundle.kind != "moe_experts" or bundle.top_k != 1:
            raise _err("SY_ERR_PARAM_MISMATCH", f"{bundle.dir}: expert parallelism runs an "
                       f"experts-only bundle with top-k 1 (samoyeds-compile --expert-parallel "
                       f"R writes them); this one is {bundle.kind} with top-k {bundle.top_k}")
        if getattr(bundle, "bias_inputs", ()) or \
                getattr(bundle, "activation", {"kind": "silu"})["kind"] != "silu":
            raise _err("SY_ERR_PARAM_MISMATCH", f"{bundle.dir}: expert parallelism runs "
                       f"SiLU experts without biases; this bundle has gpt-oss's (its "
                       f"biases and clamped SwiGLU), which it does not support")

    @classmethod
    def from_model_dir(cls, model_dir, rank: int, layer_index: int,
                       max_tokens: Optional[int] = None) -> "CompiledExperts":
        """Rank ``rank``'s experts of layer ``layer_index`` of an expert-parallel model
        directory (:func:`samoyeds.ep_model.read_ep_model`)."""
        from .ep_model import EPModelDir, read_ep_model

        md = model_dir if isinstance(model_dir, EPModelDir) else read_ep_model(model_dir)
        if not 0 <= rank < md.world_size:
            raise _err("SY_ERR_INVALID_ARGUMENT", f"{md.dir} is compiled for {md.world_size} "
                       f"ranks; there is no rank {rank}")
        entry = md.layer(layer_index)
        return cls(md.bundle_dir(entry, rank), md.weights(rank), entry["prefix"], max_tokens)

    def __call__(self, x, ids):
        S = int(x.shape[0])
        ones = torch.ones((S, 1), dtype=torch.float32, device=x.device)
        return self.layer(x.contiguous(), ones, ids.to(torch.int32).reshape(S, 1).contiguous())

    def close(self) -> None:
        """Frees the session and bundle (after the device has finished)."""
        self.layer.close()
