"""Packed weight files (docs/WeightFiles.md).

Writing is pure Python (:func:`weight_entries`, :func:`samoyeds_metadata`
with :class:`~samoyeds.safetensors_io.SafetensorsWriter`); reading goes
through the runtime's C++ reader (:class:`WeightFile`), so that the checks are
exactly those the runtime applies before uploading.
"""

from __future__ import annotations

import ctypes
import json
import os
from typing import Dict, Iterator, List, Optional, Tuple

from . import _capi
from .pack import PARAMS, PackedWeight, buffer_to_packed, packed_sizes

FORMAT = "samoyeds-weights"
VERSION = 2  # 2: every weight has a "layout"
PARTS = ("values", "meta", "row_idx")

__all__ = ["FORMAT", "VERSION", "PARTS", "weight_entries", "samoyeds_metadata", "WeightFile",
           "check_bundle"]


def weight_entries(name: str, experts: int, rows: int, cols: int, n: int, m: int, v: int,
                   layout: str = "mma_sp") -> List[Tuple[str, str, Tuple[int, ...]]]:
    """The safetensors entries (name, "U8", [experts, bytes_per_expert]) of a packed weight.

    Raises SamoyedsError when n:m:v or the shape violate Format.md (with the rules of
    ``layout``)."""
    sizes = packed_sizes(experts, rows, cols, n, m, v, layout)
    out = []
    for part, nbytes in zip(PARTS, sizes):
        if part == "row_idx" and nbytes == 0:
            continue
        out.append((f"{name}.{part}", "U8", (experts, nbytes // experts)))
    return out


def samoyeds_metadata(weights: Dict[str, dict], source: str = "", **extra) -> Dict[str, str]:
    """The header ``__metadata__`` of a packed weight file (format version 2).

    ``weights`` maps a weight name to its ``dtype``, ``experts``, ``rows``,
    ``cols``, ``n``, ``m``, ``v`` and ``layout`` (how its tensors are stored:
    "mma_sp", "wgmma" or "wgmma_halves"; required); ``extra`` keys (model, ...) are added."""
    desc = {"format": FORMAT, "version": VERSION, "source": source}
    desc.update(extra)
    for k, w in weights.items():
        if w.get("layout") not in _capi.LAYOUT_CODES:
            raise ValueError(f"weight {k!r}: layout {w.get('layout')!r} is not 'mma_sp', "
                             f"'wgmma' or 'wgmma_halves' (format version {VERSION} records "
                             f"every weight's layout)")
    desc["weights"] = {k: {f: w[f] for f in PARAMS} for k, w in weights.items()}
    return {"samoyeds": json.dumps(desc, sort_keys=False)}


class WeightFile(_capi.Closeable):
    """A packed weight file opened with the runtime's reader (sy_weight_file_open)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._lib = _capi.lib()
        self._h = ctypes.c_void_p()
        _capi.check(self._lib.sy_weight_file_open(_capi.encode(self.path), ctypes.byref(self._h)))

    def close(self) -> None:
        if self._h:
            self._lib.sy_weight_file_destroy(self._h)
            self._h = ctypes.c_void_p()


    def names(self) -> List[str]:
        count = ctypes.c_int32()
        _capi.check(self._lib.sy_weight_file_num_weights(self._h, ctypes.byref(count)))
        out = []
        for i in range(count.value):
            info = _capi.sy_weight_info()
            _capi.check(self._lib.sy_weight_file_weight_info(self._h, i, ctypes.byref(info)))
            out.append(info.name.decode())
        return out

    def info(self, name: str) -> dict:
        info = _capi.sy_weight_info()
        _capi.check(self._lib.sy_weight_file_find_weight(self._h, _capi.encode(name),
                                                         ctypes.byref(info)))
        return _capi.info_dict(info)

    def metadata(self, key: str) -> Optional[str]:
        value = ctypes.c_char_p()
        st = self._lib.sy_weight_file_metadata(self._h, _capi.encode(key), ctypes.byref(value))
        if st == _capi.SY_ERR_NOT_FOUND:  # noqa: F821
            return None
        _capi.check(st)
        return value.value.decode()

    def read(self, name: str) -> PackedWeight:
        buf = ctypes.c_void_p()
        _capi.check(self._lib.sy_weight_file_read_weight(self._h, _capi.encode(name),
                                                         ctypes.byref(buf)))
        try:
            return buffer_to_packed(buf)
        finally:
            self._lib.sy_packed_buffer_destroy(buf)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def check_bundle(bundle_dir, path, prefix: Optional[str] = None) -> None:
    """Checks (without a device) that ``path`` holds every weight of the bundle
    in ``bundle_dir`` as ``prefix + name`` (sy_bundle_check_weights)."""
    lib = _capi.lib()
    b = ctypes.c_void_p()
    _capi.check(lib.sy_bundle_open(_capi.encode(os.fspath(bundle_dir)), ctypes.byref(b)))
    try:
        _capi.check(lib.sy_bundle_check_weights(b, _capi.encode(os.fspath(path)),
                                                _capi.encode(prefix)))
    finally:
        lib.sy_bundle_destroy(b)
