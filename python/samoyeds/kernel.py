"""Running a compiled expert matmul bundle (``samoyeds.ssmm``) from Python.

An expert-matmul bundle is what ``samoyeds-opt --samoyeds-to-bundle`` writes for
a function like test/GPU/gen-bundles.sh's or test/GPU/gen-kernel-bundles.sh's:
weight ``w`` [E, R, K], inputs ``x`` [T, K], ``offsets`` i32 [E + 1] and
``tokens`` i32 [P], output ``y`` [P, R] (or [P, R / 2] with the ``silu_mul``
epilogue), symbols ``T`` and ``P``. Row p of y is expert e's weight times
``x[tokens[p]]`` for ``offsets[e] <= p < offsets[e + 1]``.

:class:`ExpertMatmul` loads the bundle on CUDA device 0 (the primary context
PyTorch uses), owns a session and runs on torch's current stream without
synchronising the host, like :class:`samoyeds.MoELayer`.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

from . import _capi
from .layer import (_destroy_session, _err, _primary_cuda_device, _read_weights,
                    _run_session, _torch, _upload_packed, read_manifest)

__all__ = ["ExpertMatmul"]


class ExpertMatmul(_capi.Closeable):
    """``ExpertMatmul(bundle_dir)``; :meth:`upload` a packed ``w``, then
    ``y = mm(x, tokens, offsets)`` with contiguous CUDA tensors (x bf16/f16 as
    the bundle, tokens and offsets int32). Attributes: ``dir``, ``manifest``,
    ``weight`` ({dtype, experts, rows, cols, n, m, v, layout}), ``out_cols``."""

    def __init__(self, bundle_dir):
        self.device = _primary_cuda_device("ExpertMatmul")
        self.dir = Path(os.fspath(bundle_dir))
        self.manifest = read_manifest(self.dir / "manifest.json")
        self._lib = _capi.lib()
        self._b, self._s = ctypes.c_void_p(), ctypes.c_void_p()
        self._lock = threading.Lock()
        self._uploaded = False
        _capi.check(self._lib.sy_bundle_load(_capi.encode(str(self.dir)), ctypes.byref(self._b)))
        try:
            self._describe()
            _capi.check(self._lib.sy_session_create(self._b, ctypes.byref(self._s)))
        except BaseException:
            self.close()
            raise

    def _describe(self) -> None:
        weights = _read_weights(self._lib, self._b)
        names = {buf["name"] for buf in self.manifest.get("buffers", [])}
        missing = [n for n in ("x", "offsets", "tokens", "y") if n not in names]
        if "w" not in weights or missing:
            raise _err("SY_ERR_MANIFEST", f"{self.dir}: not an expert-matmul bundle (needs weight "
                       f"'w' and buffers x, offsets, tokens, y; missing: "
                       f"{', '.join(missing + ([] if 'w' in weights else ['w']))})")
        self.weight = weights["w"]
        silu = self.manifest.get("epilogue", "none") == "silu_mul"
        self.out_cols = self.weight["rows"] // 2 if silu else self.weight["rows"]
        self.dtype = {"bf16": _torch().bfloat16, "f16": _torch().float16}[self.weight["dtype"]]

    def upload(self, packed) -> None:
        """Uploads a :class:`samoyeds.pack.PackedWeight` (same n:m:v and shape) as ``w``,
        rearranged into the bundle's layout first when ``packed.layout`` differs."""
        self._need_session()
        _upload_packed(self._lib, self._s, "w", packed, self.weight["layout"])
        self._uploaded = True

    def __call__(self, x, tokens, offsets, y=None):
        """y [P, out_cols] (a new tensor, or ``y`` written in place) for x [T, K] and
        tokens [P], offsets [E + 1] (int32, on the device)."""
        torch = _torch()
        self._need_session()
        if not self._uploaded:
            raise _err("SY_ERR_NOT_READY", "ExpertMatmul: no weight uploaded (call upload)")
        K, E = self.weight["cols"], self.weight["experts"]
        for name, t, dt, shape in (("x", x, self.dtype, None), ("tokens", tokens, torch.int32, None),
                                   ("offsets", offsets, torch.int32, (E + 1,))):
            if not isinstance(t, torch.Tensor) or t.dtype != dt or t.device != self.device \
                    or not t.is_contiguous():
                raise _err("SY_ERR_INVALID_ARGUMENT", f"ExpertMatmul: {name} must be a contiguous "
                           f"{dt} tensor on {self.device}")
            if shape and tuple(t.shape) != shape:
                raise _err("SY_ERR_SIZE_MISMATCH", f"ExpertMatmul: {name} must have shape "
                           f"{list(shape)}, got {list(t.shape)}")
        if x.dim() != 2 or x.shape[1] != K:
            raise _err("SY_ERR_SIZE_MISMATCH", f"ExpertMatmul: x must be [T, {K}], got "
                       f"{list(x.shape)}")
        T, P = int(x.shape[0]), int(tokens.numel())
        if y is None:
            y = torch.empty((P, self.out_cols), dtype=self.dtype, device=self.device)
        elif tuple(y.shape) != (P, self.out_cols) or y.dtype != self.dtype or not y.is_contiguous():
            raise _err("SY_ERR_SIZE_MISMATCH", f"ExpertMatmul: y must be a contiguous "
                       f"[{P}, {self.out_cols}] {self.dtype} tensor")
        if P == 0:
            return y
        _run_session(self._lib, self._s, self._lock,
                     (("x", x), ("offsets", offsets), ("tokens", tokens), ("y", y)),
                     {"T": T, "P": P}, self.device)
        return y

    def _need_session(self) -> None:
        if not getattr(self, "_s", None):
            raise _err("SY_ERR_INVALID_ARGUMENT", f"ExpertMatmul {self.dir} is closed")

    def close(self) -> None:
        """Frees the session (after the device has finished) and the bundle."""
        if getattr(self, "_s", None):
            _destroy_session(self._lib, self._s, self.device)
            self._s = ctypes.c_void_p()
        if getattr(self, "_b", None):
            self._lib.sy_bundle_destroy(self._b)
            self._b = ctypes.c_void_p()

    def __repr__(self) -> str:
        w = self.weight
        return (f"ExpertMatmul({self.dir}: E={w['experts']} R={w['rows']} K={w['cols']} "
                f"n:m:v={w['n']}:{w['m']}:{w['v']} {w['dtype']} {w['layout']})")
