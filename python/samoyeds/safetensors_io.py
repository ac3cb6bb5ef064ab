"""A small safetensors reader and writer on numpy (no `safetensors` package needed).

Format: an 8-byte little-endian header length N, N bytes of JSON header
(``{"__metadata__": {str: str}, NAME: {"dtype", "shape", "data_offsets"}}``,
padded with spaces), then the data section; offsets are relative to it.

BF16 (and F8) tensors are returned as their raw bit patterns (uint16 / uint8),
since numpy has no such types.

The reader takes hostile files: only regular files are opened (a FIFO would
block), the header is at most MAX_HEADER bytes of JSON without duplicate keys,
every size is computed exactly (Python ints), and every problem raises
:class:`SafetensorsError` naming the file and quoting values bounded
(``_capi.quote``).
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ._capi import STATUS_NAMES, SamoyedsValueError, is_int, quote
from ._files import bounded, open_regular, parse_json

__all__ = ["SafetensorsError", "TensorInfo", "SafetensorsFile", "SafetensorsWriter", "save_file",
           "DTYPES"]

#: safetensors dtype -> numpy storage dtype.
DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "F8_E4M3": np.dtype(np.uint8),
    "F8_E5M2": np.dtype(np.uint8),
    "I16": np.dtype("<i2"),
    "U16": np.dtype("<u2"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I32": np.dtype("<i4"),
    "U32": np.dtype("<u4"),
    "F32": np.dtype("<f4"),
    "I64": np.dtype("<i8"),
    "U64": np.dtype("<u8"),
    "F64": np.dtype("<f8"),
}

_NUMPY_TO_ST = {
    np.dtype(np.bool_): "BOOL", np.dtype(np.uint8): "U8", np.dtype(np.int8): "I8",
    np.dtype(np.int16): "I16", np.dtype(np.uint16): "U16", np.dtype(np.float16): "F16",
    np.dtype(np.int32): "I32", np.dtype(np.uint32): "U32", np.dtype(np.float32): "F32",
    np.dtype(np.int64): "I64", np.dtype(np.uint64): "U64", np.dtype(np.float64): "F64",
}

MAX_HEADER = 100 * 1024 * 1024


class SafetensorsError(SamoyedsValueError):
    """A safetensors file is truncated, corrupt or lacks a tensor; the message names the file
    (a SamoyedsError with status SY_ERR_WEIGHT_FILE, and a ValueError)."""

    def __init__(self, message: str):
        super().__init__(message, STATUS_NAMES.index("SY_ERR_WEIGHT_FILE"))


@dataclass
class TensorInfo:
    name: str
    dtype: str
    shape: Tuple[int, ...]
    begin: int  # relative to the data section
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.begin


class SafetensorsFile:
    """A safetensors file opened for reading; tensors are memory-mapped views."""

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            f, size = open_regular(self.path)
        except OSError as e:
            raise SafetensorsError(f"{self.path}: cannot open: {e.strerror or e}") from e
        with f:
            if size < 8:
                raise SafetensorsError(
                    f"{self.path}: truncated file: {size} bytes, less than the 8-byte header length")
            (hlen,) = struct.unpack("<Q", f.read(8))
            if hlen > size - 8:
                raise SafetensorsError(
                    f"{self.path}: header length {hlen} extends beyond the end of the file "
                    f"({size} bytes): truncated file or not a safetensors file")
            if hlen > MAX_HEADER:
                raise SafetensorsError(f"{self.path}: header length {hlen} is implausibly large")
            raw = f.read(hlen)
        try:
            header = parse_json(raw.decode("utf-8"))
        except ValueError as e:  # UnicodeDecodeError and JSONDecodeError too
            raise SafetensorsError(f"{self.path}: bad JSON header: {bounded(e)}") from None
        if not isinstance(header, dict):
            raise SafetensorsError(f"{self.path}: bad header: expected a JSON object")
        self.size = size
        self.data_start = 8 + hlen
        data_bytes = size - self.data_start
        meta = header.pop("__metadata__", {})
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise SafetensorsError(f"{self.path}: __metadata__: expected an object of strings")
        self.metadata: Dict[str, str] = dict(meta)
        self.tensors: Dict[str, TensorInfo] = {}
        for name, e in header.items():
            self.tensors[name] = self._entry(name, e, data_bytes)
        self._map: Optional[np.ndarray] = None

    def _entry(self, name: str, e, data_bytes: int) -> TensorInfo:
        where = f"{self.path}: tensor {quote(name)}"
        if not isinstance(e, dict):
            raise SafetensorsError(f"{where}: expected an object")
        dtype, shape, off = e.get("dtype"), e.get("shape"), e.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise SafetensorsError(f"{where}: unknown dtype {quote(dtype)}")
        if not isinstance(shape, list) or not all(is_int(d) and d >= 0 for d in shape):
            raise SafetensorsError(f"{where}: 'shape' must be a list of non-negative integers")
        if (not isinstance(off, list) or len(off) != 2 or not all(is_int(o) for o in off)
                or not 0 <= off[0] <= off[1]):
            raise SafetensorsError(f"{where}: 'data_offsets' must be [begin, end], 0 <= begin <= end")
        # Exact (Python ints): a product that would wrap in int64 is just too large.
        need = math.prod(shape) * DTYPES[dtype].itemsize
        if need != off[1] - off[0]:
            raise SafetensorsError(
                f"{where}: shape {bounded(shape)} of {dtype} needs {bounded(need)} bytes but "
                f"data_offsets {bounded(off)} span {bounded(off[1] - off[0])}")
        if off[1] > data_bytes:
            raise SafetensorsError(
                f"{where}: data_offsets {bounded(off)} extend beyond the end of the file (the "
                f"data section has {data_bytes} bytes): truncated file")
        return TensorInfo(name, dtype, tuple(shape), off[0], off[1])

    def keys(self) -> List[str]:
        return list(self.tensors)

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    def info(self, name: str) -> TensorInfo:
        try:
            return self.tensors[name]
        except KeyError:
            raise SafetensorsError(f"{self.path}: tensor {quote(name)} not found") from None

    def get(self, name: str) -> np.ndarray:
        """A read-only view (memory map) of tensor ``name`` in its storage dtype."""
        t = self.info(name)
        try:
            if t.nbytes == 0:  # (a shape with a 0 in it: no elements)
                return np.zeros(t.shape, dtype=DTYPES[t.dtype])
            if self._map is None:
                self._map = np.memmap(self.path, dtype=np.uint8, mode="r",
                                      offset=self.data_start,
                                      shape=(self.size - self.data_start,))
            raw = self._map[t.begin:t.end]
            return raw.view(DTYPES[t.dtype]).reshape(t.shape)
        except (OSError, ValueError) as e:
            raise SafetensorsError(f"{self.path}: tensor {quote(name)}: cannot map "
                                   f"{t.nbytes} bytes at offset {self.data_start + t.begin} "
                                   f"(file changed since it was opened?): {bounded(e)}") from None

    def close(self) -> None:
        self._map = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _st_dtype(a: np.ndarray, dtype: Optional[str]) -> str:
    if dtype is not None:
        if dtype not in DTYPES:
            raise ValueError(f"unknown safetensors dtype {dtype!r}")
        return dtype
    try:
        return _NUMPY_TO_ST[a.dtype.newbyteorder("=")]
    except KeyError:
        raise ValueError(f"no safetensors dtype for numpy {a.dtype}") from None


class SafetensorsWriter:
    """Writes a safetensors file whose tensors are declared up front.

    ``entries`` is a sequence of ``(name, dtype, shape)``; the header is written
    at once and the tensors must then be written with :meth:`write` in that
    order (so that huge files are streamed, never held in memory), or in parts
    with :meth:`write_part`, each tensor's parts in order but the tensors'
    parts interleaved (a tensor built piece by piece beside others). ``close``
    checks that every byte of every tensor was written.
    """

    def __init__(self, path, entries: Sequence[Tuple[str, str, Sequence[int]]],
                 metadata: Optional[Dict[str, str]] = None):
        self.path = os.fspath(path)
        header: Dict[str, object] = {}
        if metadata:
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
                raise ValueError("safetensors metadata must map str to str")
            header["__metadata__"] = dict(metadata)
        self._order: List[Tuple[str, str, Tuple[int, ...], int]] = []
        self._offset: Dict[str, int] = {}
        self._entry: Dict[str, Tuple[str, Tuple[int, ...], int]] = {}
        off = 0
        for name, dtype, shape in entries:
            if name in header or name == "__metadata__":
                raise ValueError(f"duplicate tensor name {name!r}")
            shape = tuple(int(d) for d in shape)
            nbytes = int(np.prod(shape, dtype=np.int64)) * DTYPES[dtype].itemsize
            header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + nbytes]}
            self._order.append((name, dtype, shape, nbytes))
            self._entry[name] = (dtype, shape, nbytes)
            self._offset[name] = off
            off += nbytes
        raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
        raw += b" " * (-len(raw) % 8)
        self._f = open(self.path, "wb")
        self._f.write(struct.pack("<Q", len(raw)))
        self._f.write(raw)
        self._f.flush()
        self._data_start = 8 + len(raw)
        self._written = {name: 0 for name, *_ in self._order}  # bytes of each, in order
        self._parts = set()  # tensors written with write_part
        self._done = set()  # tensors whose every byte is written
        self._next = 0
        self.data_bytes = off

    @staticmethod
    def _bytes(array) -> memoryview:
        a = np.ascontiguousarray(array)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        return memoryview(a).cast("B") if a.size else memoryview(b"")

    def _put(self, name: str, data: memoryview) -> None:
        at = self._data_start + self._offset[name] + self._written[name]
        while data:
            n = os.pwrite(self._f.fileno(), data, at)
            data, at = data[n:], at + n
        self._written[name] = at - self._data_start - self._offset[name]

    def write(self, name: str, array) -> None:
        while self._next < len(self._order) and self._order[self._next][0] in self._parts:
            self._next += 1
        if self._next >= len(self._order):
            raise ValueError(f"{self.path}: tensor '{name}' was not declared")
        want, dtype, shape, nbytes = self._order[self._next]
        if name != want:
            raise ValueError(f"{self.path}: expected tensor '{want}' next, got '{name}'")
        data = self._bytes(array)
        if data.nbytes != nbytes:
            raise ValueError(f"{self.path}: tensor '{name}' has {data.nbytes} bytes, declared "
                             f"{dtype} {list(shape)} = {nbytes}")
        self._put(name, data)
        self._done.add(name)
        self._next += 1

    def write_part(self, name: str, array) -> None:
        """Writes ``array``'s bytes after those of ``name`` written so far (by write_part:
        a tensor is written whole by :meth:`write` or in parts by this)."""
        if name not in self._offset:
            raise ValueError(f"{self.path}: tensor '{name}' was not declared")
        if name in self._done and name not in self._parts:
            raise ValueError(f"{self.path}: tensor '{name}' was written whole already")
        data = self._bytes(array)
        dtype, shape, nbytes = self._entry[name]
        if self._written[name] + data.nbytes > nbytes:
            raise ValueError(f"{self.path}: tensor '{name}': a part of {data.nbytes} bytes "
                             f"after {self._written[name]} passes its {nbytes} "
                             f"({dtype} {list(shape)})")
        self._put(name, data)
        self._parts.add(name)
        if self._written[name] == nbytes:
            self._done.add(name)

    def close(self) -> None:
        if self._f is None:
            return
        f, self._f = self._f, None
        f.close()
        for name, _, _, nbytes in self._order:
            if name not in self._done:
                raise ValueError(f"{self.path}: closed before tensor '{name}' was written"
                                 + (f" ({self._written[name]} of its {nbytes} bytes)"
                                    if self._written[name] else ""))

    def abort(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


def save_file(tensors: Dict[str, object], path, metadata: Optional[Dict[str, str]] = None) -> None:
    """Writes ``{name: array}`` or ``{name: (dtype, array)}`` (e.g. ``("BF16", uint16_array)``)."""
    items = []
    for name, t in tensors.items():
        dtype = None
        if isinstance(t, tuple):
            dtype, t = t
        a = np.asarray(t)
        items.append((name, _st_dtype(a, dtype), a))
    w = SafetensorsWriter(path, [(n, d, a.shape) for n, d, a in items], metadata)
    try:
        for n, _, a in items:
            w.write(n, a)
    except BaseException:
        w.abort()
        raise
    w.close()
