"""Samoyeds: Python tools for structured-sparse (SS) Mixture-of-Experts weights.

* :mod:`samoyeds.pack` packs and unpacks weights through the runtime's C API.
* :mod:`samoyeds.weightfile` reads packed weight files (docs/WeightFiles.md).
* :mod:`samoyeds.convert` converts Hugging Face MoE checkpoints
  (``python -m samoyeds.convert --help``).
* :mod:`samoyeds.layer` runs a compiled layer bundle on torch tensors (MoELayer).
* :mod:`samoyeds.torch_op` registers ``torch.ops.samoyeds.moe_ffn``,
  ``torch.ops.samoyeds.moe_experts`` and SamoyedsMoEBlock (needs torch).
* :mod:`samoyeds.routing` computes the routing conventions of HF MoE models.
* :mod:`samoyeds.compile` compiles a checkpoint into a serving-ready model directory
  (``samoyeds-compile CKPT_DIR OUT_DIR``); :func:`load` (:mod:`samoyeds.serving`) swaps
  a transformers model's MoE blocks for it (needs torch and a GPU).

Only the standard library and numpy are required; torch is optional.

Errors: every failure raises :class:`SamoyedsError` (``status``, ``status_name``,
``message``); malformed input (files, manifests, arguments) raises its subclass
:class:`SamoyedsValueError`, which is also a ValueError.
"""

from ._capi import SamoyedsError, SamoyedsValueError, RuntimeLibraryNotFound, find_library
from .layer import LayerBundle, MoELayer

__version__ = "0.1.0"

__all__ = ["SamoyedsError", "SamoyedsValueError", "RuntimeLibraryNotFound", "find_library",
           "__version__", "LayerBundle", "MoELayer", "SamoyedsMoEBlock", "swap_moe_blocks", "load"]

# torch-dependent names, imported on first use (torch stays optional).
_TORCH_EXPORTS = {"SamoyedsMoEBlock", "swap_moe_blocks", "register_layer", "unregister_layer"}


def __getattr__(name):
    if name == "load":
        from .serving import load

        return load
    if name in _TORCH_EXPORTS:
        from . import torch_op

        return getattr(torch_op, name)
    raise AttributeError(f"module 'samoyeds' has no attribute {name!r}")
