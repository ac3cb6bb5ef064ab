"""Samoyeds: Python tools for structured-sparse (SS) Mixture-of-Experts weights.

* :mod:`samoyeds.pack` packs and unpacks weights through the runtime's C API.
* :mod:`samoyeds.weightfile` reads packed weight files (docs/WeightFiles.md).
* :mod:`samoyeds.convert` converts Hugging Face MoE checkpoints
  (``python -m samoyeds.convert --help``).

Only the standard library and numpy are required; torch is optional.
"""

from ._capi import SamoyedsError, RuntimeLibraryNotFound, find_library

__version__ = "0.1.0"

__all__ = ["SamoyedsError", "RuntimeLibraryNotFound", "find_library", "__version__"]
