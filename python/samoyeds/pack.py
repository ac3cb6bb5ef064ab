"""Packing and unpacking SS weights (docs/Format.md) through the runtime's C API.

Weights are 16-bit elements stored as ``numpy.uint16`` (bf16 or f16 bit
patterns). Float arrays are converted first: float32/float64 to bf16 with
round-to-nearest-even, or to f16 through numpy. torch tensors are accepted
when torch is installed.

A packed weight has a physical layout, ``"mma_sp"`` (the default), ``"wgmma"`` (Hopper's
sparse wgmma; values and metadata padded to whole 128-column blocks, values, metadata and
row_idx to whole 64-row tiles of kept rows) or ``"wgmma_halves"`` (wgmma with the kept rows of
each half of a fused gate/up weight padded separately): the same content in another order.
:func:`relayout` converts between them.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from . import _capi
from ._capi import C_INT64, SamoyedsError, SamoyedsValueError, c_int

__all__ = [
    "LAYOUTS",
    "PARAMS",
    "PackedWeight",
    "pack",
    "unpack",
    "relayout",
    "packed_sizes",
    "validate",
    "float32_to_bf16",
    "bf16_to_float32",
    "to_storage",
    "to_float32",
]


def float32_to_bf16(x) -> np.ndarray:
    """bf16 bit patterns (uint16) of ``x``, rounded to nearest even; NaN stays a quiet NaN."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    r = (u >> 16) & 1
    r += 0x7FFF
    r += u  # wraps around 2^32 only for NaN patterns, which are replaced below
    r >>= 16
    out = r.astype(np.uint16)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    if nan.any():
        out[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return out


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
    _capi.dtype_code(dtype)
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


LAYOUTS = tuple(_capi.LAYOUT_CODES)
# What describes a packed weight besides its bytes (PackedWeight.params, weight file entries).
PARAMS = ("dtype", "experts", "rows", "cols", "n", "m", "v", "layout")


@dataclass
class PackedWeight:
    """The three components of a packed weight (uint8 arrays), its parameters and the
    physical ``layout`` of ``values`` and ``meta``."""

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
    layout: str = "mma_sp"

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.meta.nbytes + self.row_idx.nbytes)

    @property
    def params(self) -> dict:
        return {k: getattr(self, k) for k in PARAMS}

    def components(self) -> dict:
        """{"values": ..., "meta": ..., "row_idx": ...}, row_idx left out when empty."""
        out = {"values": self.values, "meta": self.meta}
        if self.row_idx.size:
            out["row_idx"] = self.row_idx
        return out


def _c_args(experts, rows, cols, n, m, v) -> tuple:
    """The shape and n:m:v as the C API takes them (int64_t x 3, int x 3); SamoyedsValueError
    for anything ctypes would convert or wrap (floats, bools, out-of-range numbers)."""
    shape = tuple(c_int(k, x, C_INT64) for k, x in
                  (("experts", experts), ("rows", rows), ("cols", cols)))
    return shape + tuple(c_int(k, x) for k, x in (("n", n), ("m", m), ("v", v)))


def packed_sizes(experts: int, rows: int, cols: int, n: int, m: int, v: int,
                 layout: str = "mma_sp") -> Tuple[int, int, int]:
    """(values, meta, row_idx) bytes (the wgmma layouts pad values and meta to whole
    128-column blocks, and all three to whole 64-row tiles of kept rows per part); raises
    SamoyedsError for an invalid n:m:v or a shape ``layout`` cannot hold."""
    out = [ctypes.c_uint64() for _ in range(3)]
    _capi.check(_capi.lib().sy_packed_sizes_layout(
        *_c_args(experts, rows, cols, n, m, v), _capi.layout_code(layout),
        *(ctypes.byref(o) for o in out)))
    return tuple(int(o.value) for o in out)


def validate(experts: int, rows: int, cols: int, n: int, m: int, v: int,
             layout: str = "mma_sp") -> None:
    """Raises SamoyedsError (SY_ERR_INVALID_ARGUMENT) naming the violated rule."""
    packed_sizes(experts, rows, cols, n, m, v, layout)


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


def _taking_buffer(fn) -> PackedWeight:
    """Calls ``fn(byref(buf))`` (a C call returning an ``sy_packed_buffer*``) and copies the
    result into a PackedWeight."""
    lib = _capi.lib()
    buf = ctypes.c_void_p()
    _capi.check(fn(ctypes.byref(buf)))
    try:
        return buffer_to_packed(buf)
    finally:
        lib.sy_packed_buffer_destroy(buf)


def pack(dense, n: int, m: int, v: int, dtype: str = "bf16",
         layout: str = "mma_sp") -> PackedWeight:
    """Packs ``dense`` ([rows, cols] or [experts, rows, cols]) as ``#samoyeds.ss<n, m, v>`` in
    ``layout`` ("mma_sp", "wgmma" or "wgmma_halves")."""
    a = to_storage(dense, dtype)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"expected a [rows, cols] or [experts, rows, cols] array, got shape {a.shape}")
    args = _c_args(*a.shape, n, m, v)
    code = _capi.layout_code(layout)
    return _taking_buffer(lambda out: _capi.lib().sy_pack_weight_layout(
        a.ctypes.data_as(ctypes.c_void_p), _capi.DTYPE_CODES[dtype], *args, code, out))


class PackedView:
    """An ``sy_packed_weight`` pointing into a PackedWeight's arrays (kept alive with it)."""

    def __init__(self, packed: PackedWeight):
        self.dtype = _capi.dtype_code(packed.dtype)
        self.args = _c_args(packed.experts, packed.rows, packed.cols, packed.n, packed.m,
                            packed.v)
        self.parts = [_bytes_of(k, getattr(packed, k)) for k in ("values", "meta", "row_idx")]
        p = self.parts
        self.view = _capi.sy_packed_weight(
            p[0].ctypes.data if p[0].size else None, p[0].nbytes,
            p[1].ctypes.data if p[1].size else None, p[1].nbytes,
            p[2].ctypes.data if p[2].size else None, p[2].nbytes)

    def ref(self):
        return ctypes.byref(self.view)


def _bytes_of(part: str, array) -> np.ndarray:
    """The bytes of component ``part`` as a contiguous uint8 array (a uint8 array as it is;
    anything else must convert to uint8 exactly)."""
    try:
        a = np.asarray(array)
        if a.dtype != np.uint8:
            a = np.asarray(array, dtype=np.uint8)
            if not np.array_equal(a, array):
                raise ValueError("values outside [0, 255]")
        return np.ascontiguousarray(a).reshape(-1)
    except (TypeError, ValueError, OverflowError) as e:
        raise SamoyedsValueError(f"component {part}: expected bytes (a uint8 array), got "
                                 f"{_capi.quote(type(array).__name__)}: {e}") from None


def relayout(packed: PackedWeight, layout: str) -> PackedWeight:
    """The same weight in ``layout`` (sy_relayout_weight): its values, meta and row_idx bytes
    rearranged, the wgmma layouts' padding written, or checked and dropped. Raises
    SamoyedsError when the shape does not fit ``layout`` or the padding is not the packer's."""
    to = _capi.layout_code(layout)
    src = _capi.layout_code(packed.layout)
    pv = PackedView(packed)
    return _taking_buffer(lambda out: _capi.lib().sy_relayout_weight(
        pv.ref(), pv.dtype, *pv.args, src, to, out))


def unpack(packed: PackedWeight) -> np.ndarray:
    """The dense [experts, rows, cols] uint16 weight; dropped entries are 0. Reads any layout."""
    if packed.layout != "mma_sp":
        packed = relayout(packed, "mma_sp")
    pv = PackedView(packed)
    # The dense array is allocated only for components of the right sizes (the shape is
    # then as large as they are); otherwise the runtime names the part that is wrong.
    fits = packed_sizes(*pv.args) == tuple(p.nbytes for p in pv.parts)
    out = np.empty(pv.args[:3] if fits else (0,), dtype=np.uint16)
    _capi.check(_capi.lib().sy_unpack_weight(
        pv.ref(), pv.dtype, *pv.args, out.ctypes.data_as(ctypes.c_void_p), out.nbytes))
    return out
