"""Packing and unpacking SS weights (docs/Format.md) through the runtime's C API.

Weights are 16-bit elements stored as ``numpy.uint16`` (bf16 or f16 bit
patterns). Float arrays are converted first: float32/float64 to bf16 with
round-to-nearest-even, or to f16 through numpy. torch tensors are accepted
when torch is installed.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from . import _capi
from ._capi import SamoyedsError

__all__ = [
    "PackedWeight",
    "pack",
    "unpack",
    "packed_sizes",
    "validate",
    "float32_to_bf16",
    "bf16_to_float32",
    "to_storage",
    "to_float32",
]


def float32_to_bf16(x) -> np.ndarray:
    """bf16 bit patterns (uint16) of ``x``, rounded to nearest even; NaN stays a quiet NaN."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF
    r = np.where(nan, (u >> 16) | 0x40, r)
    return r.astype(np.uint16)


def bf16_to_float32(bits) -> np.ndarray:
    """float32 values of bf16 bit patterns (exact)."""
    b = np.ascontiguousarray(bits, dtype=np.uint16)
    return (b.astype(np.uint32) << 16).view(np.float32)


def to_float32(bits, dtype: str) -> np.ndarray:
    """float32 values of 16-bit elements of ``dtype`` ("bf16" or "f16")."""
    if dtype == "bf16":
        return bf16_to_float32(bits)
    return np.ascontiguousarray(bits, dtype=np.uint16).view(np.float16).astype(np.float32)


def _from_torch(x):
    import torch  # optional

    t = x.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16), "bf16"
    if t.dtype == torch.float16:
        return t.view(torch.int16).numpy().view(np.uint16), "f16"
    return t.float().numpy(), None


def to_storage(x, dtype: str = "bf16") -> np.ndarray:
    """16-bit storage (uint16, C-contiguous) of ``x`` as ``dtype``.

    uint16 arrays are taken as bit patterns of ``dtype`` already. float16
    arrays are f16; float32/float64 are rounded to ``dtype``. torch bf16/f16
    tensors are taken bitwise (converted if they are the other 16-bit type).
    """
    if dtype not in _capi.DTYPE_CODES:
        raise ValueError(f"unsupported weight dtype {dtype!r} (expected 'bf16' or 'f16')")
    src_dtype = None
    if type(x).__module__.startswith("torch"):
        x, src_dtype = _from_torch(x)
    a = np.asarray(x)
    if src_dtype is not None:
        if src_dtype == dtype:
            return np.ascontiguousarray(a)
        a = to_float32(a, src_dtype)
    if a.dtype == np.uint16:
        return np.ascontiguousarray(a)
    if a.dtype == np.float16:
        return np.ascontiguousarray(a).view(np.uint16) if dtype == "f16" else float32_to_bf16(a)
    if a.dtype in (np.float32, np.float64):
        if dtype == "bf16":
            return float32_to_bf16(a.astype(np.float32))
        return np.ascontiguousarray(a.astype(np.float16)).view(np.uint16)
    raise TypeError(f"cannot pack an array of dtype {a.dtype} (use uint16 bit patterns, "
                    "float16, float32 or float64)")


@dataclass
class PackedWeight:
    """The three components of a packed weight (uint8 arrays) and its parameters."""

    values: np.ndarray
    meta: np.ndarray
    row_idx: np.ndarray
    dtype: str
    experts: int
    rows: int
    cols: int
    n: int
    m: int
    v: int

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.meta.nbytes + self.row_idx.nbytes)

    @property
    def params(self) -> dict:
        return {k: getattr(self, k) for k in ("dtype", "experts", "rows", "cols", "n", "m", "v")}

    def components(self) -> dict:
        """{"values": ..., "meta": ..., "row_idx": ...}, row_idx left out when empty."""
        out = {"values": self.values, "meta": self.meta}
        if self.row_idx.size:
            out["row_idx"] = self.row_idx
        return out


def packed_sizes(experts: int, rows: int, cols: int, n: int, m: int, v: int) -> Tuple[int, int, int]:
    """(values, meta, row_idx) bytes; raises SamoyedsError for an invalid n:m:v or shape."""
    out = [ctypes.c_uint64() for _ in range(3)]
    _capi.check(_capi.lib().sy_packed_sizes(int(experts), int(rows), int(cols), int(n), int(m),
                                            int(v), *(ctypes.byref(o) for o in out)))
    return tuple(int(o.value) for o in out)


def validate(experts: int, rows: int, cols: int, n: int, m: int, v: int) -> None:
    """Raises SamoyedsError (SY_ERR_INVALID_ARGUMENT) naming the violated rule."""
    packed_sizes(experts, rows, cols, n, m, v)


def _copy(ptr, nbytes) -> np.ndarray:
    if not nbytes:
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer((ctypes.c_uint8 * nbytes).from_address(ptr), dtype=np.uint8).copy()


def buffer_to_packed(buf) -> PackedWeight:
    """Copies an ``sy_packed_buffer*`` into a PackedWeight (does not free it)."""
    lib = _capi.lib()
    view = _capi.sy_packed_weight()
    _capi.check(lib.sy_packed_buffer_view(buf, ctypes.byref(view)))
    info = _capi.sy_weight_info()
    _capi.check(lib.sy_packed_buffer_info(buf, ctypes.byref(info)))
    d = _capi.info_dict(info)
    d.pop("name")
    return PackedWeight(
        values=_copy(view.values, view.values_bytes),
        meta=_copy(view.meta, view.meta_bytes),
        row_idx=_copy(view.row_idx, view.row_idx_bytes),
        **d,
    )


def pack(dense, n: int, m: int, v: int, dtype: str = "bf16") -> PackedWeight:
    """Packs ``dense`` ([rows, cols] or [experts, rows, cols]) as ``#samoyeds.ss<n, m, v>``."""
    a = to_storage(dense, dtype)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"expected a [rows, cols] or [experts, rows, cols] array, got shape {a.shape}")
    lib = _capi.lib()
    buf = ctypes.c_void_p()
    e, r, c = a.shape
    _capi.check(lib.sy_pack_weight(a.ctypes.data_as(ctypes.c_void_p), _capi.DTYPE_CODES[dtype],
                                   e, r, c, int(n), int(m), int(v), ctypes.byref(buf)))
    try:
        return buffer_to_packed(buf)
    finally:
        lib.sy_packed_buffer_destroy(buf)


def unpack(packed: PackedWeight) -> np.ndarray:
    """The dense [experts, rows, cols] uint16 weight; dropped entries are 0."""
    parts = []
    for name in ("values", "meta", "row_idx"):
        arr = np.ascontiguousarray(getattr(packed, name), dtype=np.uint8)
        parts.append(arr)
    view = _capi.sy_packed_weight(
        parts[0].ctypes.data if parts[0].size else None, parts[0].nbytes,
        parts[1].ctypes.data if parts[1].size else None, parts[1].nbytes,
        parts[2].ctypes.data if parts[2].size else None, parts[2].nbytes,
    )
    if packed.dtype not in _capi.DTYPE_CODES:
        raise ValueError(f"unsupported weight dtype {packed.dtype!r}")
    out = np.empty((packed.experts, packed.rows, packed.cols), dtype=np.uint16)
    _capi.check(_capi.lib().sy_unpack_weight(
        ctypes.byref(view), _capi.DTYPE_CODES[packed.dtype], packed.experts, packed.rows,
        packed.cols, packed.n, packed.m, packed.v, out.ctypes.data_as(ctypes.c_void_p), out.nbytes))
    return out
