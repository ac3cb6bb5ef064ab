"""ctypes bindings to ``libsamoyeds_runtime.so`` (runtime/include/samoyeds-c/Runtime.h).

The library is looked up, in order, at:

1. ``$SAMOYEDS_RUNTIME_LIB`` (the library file itself, or a directory holding it);
2. next to this package (``samoyeds/libsamoyeds_runtime.so``);
3. the build directories of a source checkout (``build-rt/``, ``build/runtime/``,
   ``build/lib/``, ``build/``).

Every failing call raises :class:`SamoyedsError` with the C status and the
runtime's message (``sy_last_error``); malformed input found in Python raises
:class:`SamoyedsValueError` (a SamoyedsError and a ValueError). Integers are
range-checked before they reach ctypes, which would wrap them silently.
"""

from __future__ import annotations

import ctypes
import operator
import os
import sys
import threading
from pathlib import Path
from typing import Optional

LIB_NAME = "libsamoyeds_runtime.dylib" if sys.platform == "darwin" else "libsamoyeds_runtime.so"

# The enums and prototypes below copy runtime/include/samoyeds-c/Runtime.h (the header is not
# installed with the package); python/tests/test_capi_header.py checks them against it.

# sy_status, in the order of the C enum.
STATUS_NAMES = [
    "SY_OK",
    "SY_ERR_INVALID_ARGUMENT",
    "SY_ERR_IO",
    "SY_ERR_MANIFEST",
    "SY_ERR_NO_DEVICE",
    "SY_ERR_UNSUPPORTED_CHIP",
    "SY_ERR_CUDA",
    "SY_ERR_NOT_FOUND",
    "SY_ERR_SIZE_MISMATCH",
    "SY_ERR_NOT_READY",
    "SY_ERR_INTERNAL",
    "SY_ERR_WEIGHT_FILE",
    "SY_ERR_PARAM_MISMATCH",
]
for _i, _name in enumerate(STATUS_NAMES):
    globals()[_name] = _i

# sy_dtype
SY_DTYPE_BF16, SY_DTYPE_F16, SY_DTYPE_F32, SY_DTYPE_I32, SY_DTYPE_U32, SY_DTYPE_U8 = range(6)
DTYPE_CODES = {"bf16": SY_DTYPE_BF16, "f16": SY_DTYPE_F16}
DTYPE_NAMES = {v: k for k, v in DTYPE_CODES.items()}

# sy_buffer_kind
SY_BUFFER_INPUT, SY_BUFFER_OUTPUT, SY_BUFFER_WEIGHT, SY_BUFFER_WORKSPACE, SY_BUFFER_COUNTERS = range(5)
BUFFER_KIND_NAMES = {SY_BUFFER_INPUT: "input", SY_BUFFER_OUTPUT: "output",
                     SY_BUFFER_WEIGHT: "weight", SY_BUFFER_WORKSPACE: "workspace",
                     SY_BUFFER_COUNTERS: "counters"}

# sy_weight_layout (docs/Format.md "Physical layout").
SY_LAYOUT_MMA_SP, SY_LAYOUT_WGMMA, SY_LAYOUT_WGMMA_HALVES = range(3)
LAYOUT_CODES = {"mma_sp": SY_LAYOUT_MMA_SP, "wgmma": SY_LAYOUT_WGMMA,
                "wgmma_halves": SY_LAYOUT_WGMMA_HALVES}
LAYOUT_NAMES = {v: k for k, v in LAYOUT_CODES.items()}


class SamoyedsError(RuntimeError):
    """A runtime call failed: ``status`` (int), ``status_name`` and ``message``."""

    def __init__(self, status: int, message: str):
        self.status = int(status)
        self.status_name = (
            STATUS_NAMES[self.status] if 0 <= self.status < len(STATUS_NAMES) else "SY_ERR_UNKNOWN"
        )
        self.message = message
        super().__init__(f"{self.status_name}: {message}")


class SamoyedsValueError(SamoyedsError, ValueError):
    """Malformed input found by the Python side (a file, a manifest, an argument): a
    SamoyedsError with ``status`` (SY_ERR_INVALID_ARGUMENT unless given) and a ValueError."""

    def __init__(self, message: str, status: int = STATUS_NAMES.index("SY_ERR_INVALID_ARGUMENT")):
        super().__init__(status, message)


QUOTE_LIMIT = 64


def status_error(status_name: str, message: str) -> "SamoyedsError":
    """A SamoyedsError with the status of that name (one of STATUS_NAMES), for errors the
    Python layer finds itself."""
    return SamoyedsError(STATUS_NAMES.index(status_name), message)


def quote(value) -> str:
    """``value`` (a str, else its repr) for an error message, as the runtime quotes: in single
    quotes, its first 64 UTF-8 bytes (then "...' (N bytes)"), with ', \\ and every byte
    outside printable ASCII escaped (\\', \\\\, \\xNN)."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except ValueError:  # an int of more digits than Python prints
        text = f"<{type(value).__name__} too large to print>"
    raw = text.encode("utf-8", "surrogatepass")
    out = []
    for b in raw[:QUOTE_LIMIT]:
        c = chr(b)
        if c in "'\\":
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    body = "".join(out)
    if len(raw) <= QUOTE_LIMIT:
        return f"'{body}'"
    return f"'{body}...' ({len(raw)} bytes)"


C_INT = (-(1 << 31), (1 << 31) - 1)
C_INT64 = (-(1 << 63), (1 << 63) - 1)


def is_int(x) -> bool:
    """Whether ``x`` is a Python int and not a bool (JSON numbers, arguments)."""
    return isinstance(x, int) and not isinstance(x, bool)


def c_int(name: str, value, bounds=C_INT) -> int:
    """``value`` as a Python int that fits ``bounds`` (default: a C int; C_INT64 for int64_t);
    raises SamoyedsValueError naming ``name`` for anything else (floats, bools, strings,
    numbers out of range), which ctypes would convert or wrap silently."""
    if isinstance(value, bool):  # operator.index accepts bools
        raise SamoyedsValueError(f"{name} must be an integer, got {quote(value)}")
    try:
        v = operator.index(value)
    except TypeError:
        raise SamoyedsValueError(f"{name} must be an integer, got {quote(value)}") from None
    lo, hi = bounds
    if not lo <= v <= hi:
        raise SamoyedsValueError(f"{name} = {quote(v)} is out of range [{lo}, {hi}]")
    return v


def layout_code(layout: str) -> int:
    """The sy_weight_layout of ``layout`` ("mma_sp", "wgmma" or "wgmma_halves");
    SamoyedsValueError (a ValueError) otherwise."""
    if not isinstance(layout, str) or layout not in LAYOUT_CODES:
        raise SamoyedsValueError(f"unknown weight layout {quote(layout)} (expected 'mma_sp', "
                                 f"'wgmma' or 'wgmma_halves')")
    return LAYOUT_CODES[layout]


def dtype_code(dtype: str) -> int:
    """The sy_dtype of a weight dtype ("bf16" or "f16"); SamoyedsValueError otherwise."""
    if not isinstance(dtype, str) or dtype not in DTYPE_CODES:
        raise SamoyedsValueError(f"unsupported weight dtype {quote(dtype)} (expected 'bf16' or "
                                 f"'f16')")
    return DTYPE_CODES[dtype]


class RuntimeLibraryNotFound(OSError):
    """libsamoyeds_runtime could not be found or loaded."""


class sy_weight_info(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("n", ctypes.c_int32),
        ("m", ctypes.c_int32),
        ("v", ctypes.c_int32),
        ("experts", ctypes.c_int64),
        ("rows", ctypes.c_int64),
        ("cols", ctypes.c_int64),
        ("dtype", ctypes.c_int),
        ("layout", ctypes.c_int),
    ]


class sy_packed_weight(ctypes.Structure):
    _fields_ = [
        ("values", ctypes.c_void_p),
        ("values_bytes", ctypes.c_uint64),
        ("meta", ctypes.c_void_p),
        ("meta_bytes", ctypes.c_uint64),
        ("row_idx", ctypes.c_void_p),
        ("row_idx_bytes", ctypes.c_uint64),
    ]


def _candidates() -> list:
    out = []
    env = os.environ.get("SAMOYEDS_RUNTIME_LIB")
    if env:
        p = Path(env)
        out.append(p / LIB_NAME if p.is_dir() else p)
        return out  # An explicit choice is not second-guessed.
    here = Path(__file__).resolve().parent
    out.append(here / LIB_NAME)
    for root in (here.parent.parent, Path.cwd()):
        for sub in ("build-rt", "build/runtime", "build/lib", "build"):
            out.append(root / sub / LIB_NAME)
    return out


def find_library() -> Path:
    """Path of the runtime library; raises :class:`RuntimeLibraryNotFound`."""
    cands = _candidates()
    for c in cands:
        if c.is_file():
            return c
    raise RuntimeLibraryNotFound(
        f"{LIB_NAME} not found (set SAMOYEDS_RUNTIME_LIB; looked at: "
        + ", ".join(str(c) for c in cands)
        + "). Build it with: cmake -S runtime -B build-rt -G Ninja && ninja -C build-rt"
    )


_lib = None
_lock = threading.Lock()

_P = ctypes.POINTER
_c = ctypes
# Every function of the C API that Python calls: name -> (argtypes, restype). Enums are c_int;
# opaque handles (sy_bundle *, sy_session *, ...) are c_void_p.
_SIGNATURES = {
    "sy_last_error": ([], _c.c_char_p),
    "sy_status_name": ([_c.c_int], _c.c_char_p),
    "sy_packed_sizes": (
        [_c.c_int64, _c.c_int64, _c.c_int64, _c.c_int, _c.c_int, _c.c_int,
         _P(_c.c_uint64), _P(_c.c_uint64), _P(_c.c_uint64)], _c.c_int),
    "sy_packed_sizes_layout": (
        [_c.c_int64, _c.c_int64, _c.c_int64, _c.c_int, _c.c_int, _c.c_int, _c.c_int,
         _P(_c.c_uint64), _P(_c.c_uint64), _P(_c.c_uint64)], _c.c_int),
    "sy_pack_weight": (
        [_c.c_void_p, _c.c_int, _c.c_int64, _c.c_int64, _c.c_int64, _c.c_int, _c.c_int, _c.c_int,
         _P(_c.c_void_p)], _c.c_int),
    "sy_pack_weight_layout": (
        [_c.c_void_p, _c.c_int, _c.c_int64, _c.c_int64, _c.c_int64, _c.c_int, _c.c_int, _c.c_int,
         _c.c_int, _P(_c.c_void_p)], _c.c_int),
    "sy_relayout_weight": (
        [_P(sy_packed_weight), _c.c_int, _c.c_int64, _c.c_int64, _c.c_int64, _c.c_int, _c.c_int,
         _c.c_int, _c.c_int, _c.c_int, _P(_c.c_void_p)], _c.c_int),
    "sy_packed_buffer_view": ([_c.c_void_p, _P(sy_packed_weight)], _c.c_int),
    "sy_packed_buffer_info": ([_c.c_void_p, _P(sy_weight_info)], _c.c_int),
    "sy_packed_buffer_destroy": ([_c.c_void_p], _c.c_int),
    "sy_unpack_weight": (
        [_P(sy_packed_weight), _c.c_int, _c.c_int64, _c.c_int64, _c.c_int64, _c.c_int, _c.c_int,
         _c.c_int, _c.c_void_p, _c.c_uint64], _c.c_int),
    "sy_weight_file_open": ([_c.c_char_p, _P(_c.c_void_p)], _c.c_int),
    "sy_weight_file_destroy": ([_c.c_void_p], _c.c_int),
    "sy_weight_file_num_weights": ([_c.c_void_p, _P(_c.c_int32)], _c.c_int),
    "sy_weight_file_weight_info": ([_c.c_void_p, _c.c_int32, _P(sy_weight_info)], _c.c_int),
    "sy_weight_file_find_weight": ([_c.c_void_p, _c.c_char_p, _P(sy_weight_info)], _c.c_int),
    "sy_weight_file_metadata": ([_c.c_void_p, _c.c_char_p, _P(_c.c_char_p)], _c.c_int),
    "sy_weight_file_read_weight": ([_c.c_void_p, _c.c_char_p, _P(_c.c_void_p)], _c.c_int),
    "sy_bundle_load": ([_c.c_char_p, _P(_c.c_void_p)], _c.c_int),
    "sy_bundle_open": ([_c.c_char_p, _P(_c.c_void_p)], _c.c_int),
    "sy_bundle_destroy": ([_c.c_void_p], _c.c_int),
    "sy_bundle_chip": ([_c.c_void_p, _P(_c.c_char_p)], _c.c_int),
    "sy_bundle_num_symbols": ([_c.c_void_p, _P(_c.c_int32)], _c.c_int),
    "sy_bundle_symbol_name": ([_c.c_void_p, _c.c_int32, _P(_c.c_char_p)], _c.c_int),
    "sy_bundle_num_buffers": ([_c.c_void_p, _P(_c.c_int32)], _c.c_int),
    "sy_bundle_buffer_info": ([_c.c_void_p, _c.c_int32, _P(_c.c_char_p), _P(_c.c_int),
                               _P(_c.c_int)], _c.c_int),
    "sy_bundle_buffer_bytes": ([_c.c_void_p, _c.c_char_p, _P(_c.c_char_p), _P(_c.c_int64),
                                _c.c_int32, _P(_c.c_uint64)], _c.c_int),
    "sy_bundle_buffer_alignment": ([_c.c_void_p, _c.c_char_p, _P(_c.c_uint64)], _c.c_int),
    "sy_bundle_check_weights": ([_c.c_void_p, _c.c_char_p, _c.c_char_p], _c.c_int),
    "sy_bundle_num_weights": ([_c.c_void_p, _P(_c.c_int32)], _c.c_int),
    "sy_bundle_weight_info": ([_c.c_void_p, _c.c_int32, _P(sy_weight_info)], _c.c_int),
    "sy_session_create": ([_c.c_void_p, _P(_c.c_void_p)], _c.c_int),
    "sy_session_destroy": ([_c.c_void_p], _c.c_int),
    "sy_session_upload_weight": ([_c.c_void_p, _c.c_char_p, _P(sy_packed_weight)], _c.c_int),
    "sy_session_bind": ([_c.c_void_p, _c.c_char_p, _c.c_uint64, _c.c_uint64], _c.c_int),
    "sy_session_run": ([_c.c_void_p, _P(_c.c_char_p), _P(_c.c_int64), _c.c_int32, _c.c_void_p],
                       _c.c_int),
    "sy_session_reserve": ([_c.c_void_p, _P(_c.c_char_p), _P(_c.c_int64), _c.c_int32], _c.c_int),
    "sy_session_load_weights": ([_c.c_void_p, _c.c_char_p, _c.c_char_p], _c.c_int),
}


def lib() -> ctypes.CDLL:
    """The loaded runtime library (loaded once)."""
    global _lib
    with _lock:
        if _lib is None:
            path = find_library()
            try:
                handle = ctypes.CDLL(str(path))
            except OSError as e:
                raise RuntimeLibraryNotFound(f"cannot load {path}: {e}") from e
            for name, (args, res) in _SIGNATURES.items():
                try:
                    fn = getattr(handle, name)
                except AttributeError as e:
                    raise RuntimeLibraryNotFound(
                        f"{path} lacks {name} (rebuild the runtime)") from e
                fn.argtypes = args
                fn.restype = res
            _lib = handle
        return _lib


def check(status: int) -> None:
    """Raises :class:`SamoyedsError` if ``status`` is not SY_OK."""
    if status != SY_OK:  # noqa: F821 (defined above via globals())
        msg = lib().sy_last_error()
        raise SamoyedsError(status, msg.decode("utf-8", "replace") if msg else "")


def info_dict(info: sy_weight_info) -> dict:
    return {
        "name": info.name.decode() if info.name else "",
        "dtype": DTYPE_NAMES.get(info.dtype, str(info.dtype)),
        "experts": info.experts,
        "rows": info.rows,
        "cols": info.cols,
        "n": info.n,
        "m": info.m,
        "v": info.v,
        "layout": LAYOUT_NAMES.get(info.layout, str(info.layout)),
    }


def encode(s: Optional[str]) -> Optional[bytes]:
    return None if s is None else os.fsencode(s)


class Closeable:
    """Context-manager and finaliser support for objects owning C handles:
    subclasses implement ``close()`` (idempotent)."""

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
