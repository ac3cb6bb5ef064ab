"""Running a compiled MoE layer bundle (``samoyeds.moe_ffn``) from Python.

:class:`LayerBundle` reads a layer bundle's manifest without a device (shapes,
routing, weights, memory needs). :class:`MoELayer` loads the bundle on the GPU
(``sy_bundle_load``), owns a session with the packed weights and runs the
layer on CUDA torch tensors, on torch's current stream, without synchronising
the host.

A layer bundle is what ``samoyeds-opt --samoyeds-to-bundle`` writes for a
function like test/GPU/gen-layer-bundles.sh's: inputs ``x`` [T, H] bf16 and
``router`` [E, H] bf16, weights ``w13`` [E, 2I, H] (gate rows over up rows)
and ``w2`` [E, H, I], output ``y`` [T, H] bf16, symbols ``T`` and
``P = T * top_k``, and a top-level ``routing`` object in manifest.json (kind
``moe_ffn``). An experts-only bundle (``samoyeds.moe_experts``, what
``samoyeds.compile`` writes; kind ``moe_experts``) has inputs ``topk_weights``
[T, k] f32 and ``topk_ids`` [T, k] i32 instead of the router, and no
``routing`` object: the caller routes. gpt-oss's layers (what ``samoyeds.compile`` writes
for ``gpt_oss``) also have the dense inputs ``w13_bias`` [E, 2I] (gate first) and
``w2_bias`` [E, H] bf16, the experts' biases, and a top-level ``activation`` object
({"kind": "clamped_swiglu", "alpha", "limit"}) in the manifest; :class:`MoELayer` loads
the biases from the weight file with the packed weights and binds them on every call.
A gpt-oss moe_ffn layer (``samoyeds.compile.layer_mlir(..., router=True,
router_bias=True)``, test/GPU/gen-layer-bundles.sh's gptoss set) also has the input
``router_bias`` [E] (bf16, f16 or f32), which its route adds to the logits; it comes with
the router (:meth:`MoELayer.set_router`, or the file's ``PREFIX.router_bias``).

torch is imported only when a device is needed (``MoELayer``); the runtime
uses device 0's primary context, the one PyTorch uses, so torch's device
pointers and streams are valid in it.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from . import _capi
from ._capi import SamoyedsError, is_int, quote
from ._files import bounded, read_json

__all__ = ["LayerBundle", "MoELayer", "check_max_tokens"]

_err = _capi.status_error


def check_max_tokens(T: int, max_tokens: Optional[int], what: str = "MoELayer") -> None:
    """Refuses ``T`` tokens above the ``max_tokens`` a layer was loaded with (its
    workspaces are sized for that many; None: no maximum)."""
    if max_tokens is not None and int(T) > max_tokens:
        raise _err("SY_ERR_INVALID_ARGUMENT",
                   f"{what}: {T} tokens exceed max_tokens = {max_tokens}, the maximum the "
                   f"layer was loaded with (its workspaces are reserved for it; load it "
                   f"with a larger max_tokens)")


def _symbol_arrays(symbols: Dict[str, int]):
    names = (ctypes.c_char_p * len(symbols))(*(k.encode() for k in symbols))
    values = (ctypes.c_int64 * len(symbols))(*symbols.values())
    return names, values


# As the runtime's limit on manifest.json (runtime/lib/Manifest.h).
MAX_MANIFEST_BYTES = 16 << 20
# sy_session_run takes symbol values up to INT32_MAX.
MAX_SYMBOL = (1 << 31) - 1
# The experts' bias inputs of a layer with biases (gpt-oss): name -> its shape's rows
# (the weight whose output rows it adds to).
BIAS_INPUTS = ("w13_bias", "w2_bias")
# The router's bias input of a moe_ffn layer that has one (gpt-oss): its dtypes.
ROUTER_BIAS = "router_bias"
ROUTER_BIAS_DTYPES = {_capi.SY_DTYPE_BF16: "bf16", _capi.SY_DTYPE_F16: "f16",
                      _capi.SY_DTYPE_F32: "f32"}
ACTIVATIONS = ("silu", "clamped_swiglu")


def read_manifest(mpath: Path) -> dict:
    """A bundle's manifest.json as Python objects; SamoyedsError (SY_ERR_IO, SY_ERR_MANIFEST)
    when it cannot be read or is not valid JSON (the runtime checks the rest)."""
    try:
        return read_json(str(mpath), MAX_MANIFEST_BYTES)
    except OSError as e:
        raise _err("SY_ERR_IO", f"{mpath}: cannot read the bundle manifest: "
                   f"{e.strerror or e}") from None
    except ValueError as e:
        raise _err("SY_ERR_MANIFEST", f"{mpath}: not valid JSON: {bounded(e)}") from None


def _routing(routing, experts: int, bad):
    """(top_k, renormalize, routed_scaling_factor) of a manifest's "routing" object, checked:
    top_k an integer in [1, experts], renormalize a boolean, the factor a finite number,
    routing.experts (optional) equal to ``experts``; ``bad(what)`` builds the error."""
    top_k = routing.get("top_k")
    if not (is_int(top_k) and 1 <= top_k <= experts):
        raise bad(f"routing.top_k = {quote(top_k)} is not an integer in [1, {experts}]")
    rexp = routing.get("experts", experts)
    if not is_int(rexp) or rexp != experts:
        raise bad(f"routing.experts = {quote(rexp)} but w13 has {experts} experts")
    renormalize = routing.get("renormalize", False)
    if not isinstance(renormalize, bool):
        raise bad(f"routing.renormalize = {quote(renormalize)} is not a boolean")
    scale = routing.get("routed_scaling_factor", 1.0)
    try:
        ok = isinstance(scale, (int, float)) and not isinstance(scale, bool)
        ok = ok and math.isfinite(float(scale))
    except OverflowError:  # an int beyond float
        ok = False
    if not ok:
        raise bad(f"routing.routed_scaling_factor = {quote(scale)} is not a finite number")
    return top_k, renormalize, float(scale)



class LayerBundle(_capi.Closeable):
    """A layer bundle's manifest, opened without a device (``sy_bundle_open``).

    Attributes: ``dir``, ``manifest`` (the parsed JSON), ``kind`` ("moe_ffn" or
    "moe_experts"), ``chip``, ``symbols``, ``hidden`` (H), ``experts`` (E),
    ``intermediate`` (I), ``top_k``, ``renormalize``, ``routed_scaling_factor``
    (None for moe_experts: the caller routes), ``dtype`` ("bf16"), and
    ``weights`` ({name: {dtype, experts, rows, cols, n, m, v, layout}}; ``layout``
    is the physical layout the bundle's kernels read, "mma_sp", "wgmma" or "wgmma_halves");
    ``bias_inputs`` (("w13_bias", "w2_bias") for a layer whose experts have biases, else
    ()), ``router_bias_dtype`` ("bf16", "f16" or "f32" for a moe_ffn layer whose route adds
    the router's bias, the input ``router_bias`` [E]; else None) and ``activation``
    ({"kind": "silu"}, or gpt-oss's {"kind": "clamped_swiglu", "alpha", "limit"}).
    """

    _loader = "sy_bundle_open"

    def __init__(self, bundle_dir):
        self.dir = Path(os.fspath(bundle_dir))
        mpath = self.dir / "manifest.json"
        self.manifest = read_manifest(mpath)
        self._lib = _capi.lib()
        self._b = ctypes.c_void_p()
        self._open()
        try:
            self._describe(mpath)
        except BaseException:
            self._close_bundle()
            raise

    def _open(self) -> None:
        fn = getattr(self._lib, self._loader)
        _capi.check(fn(_capi.encode(str(self.dir)), ctypes.byref(self._b)))

    # -- manifest --------------------------------------------------------------------------

    def _describe(self, mpath: Path) -> None:
        lib, b = self._lib, self._b
        chip = ctypes.c_char_p()
        _capi.check(lib.sy_bundle_chip(b, ctypes.byref(chip)))
        self.chip = chip.value.decode()
        count = ctypes.c_int32()
        _capi.check(lib.sy_bundle_num_symbols(b, ctypes.byref(count)))
        self.symbols: List[str] = []
        for i in range(count.value):
            name = ctypes.c_char_p()
            _capi.check(lib.sy_bundle_symbol_name(b, i, ctypes.byref(name)))
            self.symbols.append(name.value.decode())
        _capi.check(lib.sy_bundle_num_buffers(b, ctypes.byref(count)))
        self.buffers: Dict[str, dict] = {}
        for i in range(count.value):
            name, kind, dtype = ctypes.c_char_p(), ctypes.c_int(), ctypes.c_int()
            _capi.check(lib.sy_bundle_buffer_info(b, i, ctypes.byref(name), ctypes.byref(kind),
                                                  ctypes.byref(dtype)))
            self.buffers[name.value.decode()] = {"kind": _capi.BUFFER_KIND_NAMES[kind.value],
                                                 "dtype": dtype.value}
        self.weights = _read_weights(lib, b)

        def bad(what: str) -> SamoyedsError:
            return _err("SY_ERR_MANIFEST",
                        f"{mpath}: not a samoyeds layer bundle: {what} (expected input x "
                        f"[T, H], then either router [E, H] and a 'routing' object "
                        f"(moe_ffn) or topk_weights [T, k] f32 and topk_ids [T, k] i32 "
                        f"(moe_experts), weights w13 [E, 2I, H] and w2 [E, H, I], output y "
                        f"[T, H], symbols T and P; see docs/Bundle.md)")

        self.kind = "moe_experts" if "topk_ids" in self.buffers else "moe_ffn"
        routing = self.manifest.get("routing")
        wanted = [("x", "input", _capi.SY_DTYPE_BF16), ("y", "output", _capi.SY_DTYPE_BF16)]
        if self.kind == "moe_ffn":
            if not isinstance(routing, dict):
                raise bad("no top-level 'routing' object")
            wanted.append(("router", "input", _capi.SY_DTYPE_BF16))
        else:
            if routing is not None:
                raise bad("an experts-only bundle (topk_ids) with a 'routing' object")
            wanted += [("topk_weights", "input", _capi.SY_DTYPE_F32),
                       ("topk_ids", "input", _capi.SY_DTYPE_I32)]
        for name, kind, dtype in wanted:
            if self.buffers.get(name, {}).get("kind") != kind:
                raise bad(f"no {kind} buffer '{name}'")
            if self.buffers[name]["dtype"] != dtype:
                raise bad(f"buffer '{name}' has dtype code {self.buffers[name]['dtype']}, "
                          f"expected {dtype}")
        for name in ("w13", "w2"):
            if name not in self.weights:
                raise bad(f"no weight '{name}' (weights: {', '.join(self.weights) or 'none'})")
        for sym in ("T", "P"):
            if sym not in self.symbols:
                raise bad(f"no symbol '{sym}' (symbols: {', '.join(self.symbols) or 'none'})")
        w13, w2 = self.weights["w13"], self.weights["w2"]
        self.experts = int(w13["experts"])
        self.hidden = int(w13["cols"])
        self.intermediate = int(w13["rows"]) // 2
        if (w2["experts"], w2["rows"], w2["cols"]) != (self.experts, self.hidden,
                                                       self.intermediate):
            raise bad(f"w13 [{self.experts}, {w13['rows']}, {self.hidden}] and w2 "
                      f"[{w2['experts']}, {w2['rows']}, {w2['cols']}] do not form an MLP")
        if self.kind == "moe_experts":
            self.top_k = self._topk_width(bad)
            self.renormalize = None
            self.routed_scaling_factor = None
        else:
            self.top_k, self.renormalize, self.routed_scaling_factor = _routing(
                routing, self.experts, bad)
        self.dtype = w13["dtype"]
        if self.dtype != "bf16":
            raise bad(f"weights are {self.dtype}; the layer runs bf16 only")
        self.bias_inputs = self._bias_inputs(bad)
        self.router_bias_dtype = self._router_bias(bad)
        self.activation = self._activation(bad)

    def _bias_inputs(self, bad) -> tuple:
        """("w13_bias", "w2_bias") where the layer has the experts' biases (both, bf16
        inputs [E, 2I] and [E, H]), () where it has neither."""
        have = [n for n in BIAS_INPUTS if n in self.buffers]
        if not have:
            return ()
        shapes = {b.get("name"): b.get("shape") for b in self.manifest.get("buffers", [])
                  if isinstance(b, dict)}
        for name, want in zip(BIAS_INPUTS, ([self.experts, 2 * self.intermediate],
                                            [self.experts, self.hidden])):
            if name not in self.buffers:
                raise bad(f"bias input '{have[0]}' without '{name}' (the experts' biases "
                          f"are w13_bias [E, 2I] and w2_bias [E, H])")
            info = self.buffers[name]
            if info["kind"] != "input" or info["dtype"] != _capi.SY_DTYPE_BF16:
                raise bad(f"buffer '{name}' is a {info['kind']} of dtype code "
                          f"{info['dtype']}, expected a bf16 input")
            if shapes.get(name) != want:
                raise bad(f"bias input '{name}' has shape {shapes.get(name)}, expected {want}")
        return BIAS_INPUTS

    def _router_bias(self, bad) -> Optional[str]:
        """The dtype of the input router_bias [E] (bf16, f16 or f32) of a moe_ffn layer
        that has one, None where there is none; checked as the runtime's
        checkLayerBiases does."""
        info = self.buffers.get(ROUTER_BIAS)
        if info is None:
            return None
        if self.kind != "moe_ffn":
            raise bad("input 'router_bias' in an experts-only layer (its routing is the "
                      "caller's, bias included)")
        dtype = ROUTER_BIAS_DTYPES.get(info["dtype"])
        if info["kind"] != "input" or dtype is None:
            raise bad(f"buffer 'router_bias' ({info['kind']}, dtype code {info['dtype']}) "
                      f"must be a bf16, f16 or f32 input (the router's bias [E])")
        shape = next((b.get("shape") for b in self.manifest.get("buffers", [])
                      if isinstance(b, dict) and b.get("name") == ROUTER_BIAS), None)
        if shape != [self.experts]:
            raise bad(f"input 'router_bias' has shape {shape}, expected [{self.experts}] "
                      f"(the router's bias [E])")
        return dtype

    def _activation(self, bad) -> dict:
        """The manifest's "activation" object ({"kind": "silu"} where there is none),
        checked as the runtime does: kind one of ACTIVATIONS, alpha and limit finite > 0."""
        a = self.manifest.get("activation")
        if a is None:
            return {"kind": "silu"}
        if not isinstance(a, dict) or a.get("kind") not in ACTIVATIONS:
            raise bad(f"activation {quote(a)}: expected an object whose kind is one of "
                      f"{', '.join(ACTIVATIONS)}")
        out = {"kind": a["kind"]}
        if a["kind"] == "clamped_swiglu":
            for key in ("alpha", "limit"):
                value = a.get(key)
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                if not (ok and math.isfinite(float(value)) and value > 0):
                    raise bad(f"activation.{key} = {quote(value)} is not a finite number > 0")
                out[key] = float(value)
        return out

    def _topk_width(self, bad) -> int:
        """k of an experts-only bundle: topk_weights and topk_ids are ["T", k]."""
        shapes = {b.get("name"): b.get("shape") for b in self.manifest.get("buffers", [])
                  if isinstance(b, dict)}
        ws, ids = shapes.get("topk_weights"), shapes.get("topk_ids")
        if (not isinstance(ids, list) or len(ids) != 2 or ids[0] != "T"
                or not isinstance(ids[1], int) or ids != ws):
            raise bad(f"topk_weights {ws} and topk_ids {ids} must both be ['T', k]")
        if not 1 <= ids[1] <= self.experts:
            raise bad(f"top_k = {ids[1]} is not in [1, {self.experts}]")
        return ids[1]

    # -- queries ---------------------------------------------------------------------------

    def symbol_values(self, T: int) -> Dict[str, int]:
        """{"T": T, "P": T * top_k}; SamoyedsValueError unless T is an integer >= 0 with
        T * top_k at most 2^31 - 1 (what sy_session_run takes)."""
        T = _capi.c_int("T", T, (0, MAX_SYMBOL // self.top_k))
        return {"T": T, "P": T * self.top_k}

    def buffer_bytes(self, name: str, T: int) -> int:
        """Bytes of buffer ``name`` for ``T`` tokens (sy_bundle_buffer_bytes)."""
        vals = self.symbol_values(T)
        names = (ctypes.c_char_p * len(vals))(*(k.encode() for k in vals))
        values = (ctypes.c_int64 * len(vals))(*vals.values())
        out = ctypes.c_uint64()
        _capi.check(self._lib.sy_bundle_buffer_bytes(self._b, name.encode(), names, values,
                                                     len(vals), ctypes.byref(out)))
        return int(out.value)

    def buffer_alignment(self, name: str) -> int:
        """The alignment, in bytes, the kernels need of buffer ``name``'s device address
        (sy_bundle_buffer_alignment): 16 for x, which they read in 16-byte copies, and
        for a layer's y, which its combine kernel stores in 16-byte vectors."""
        out = ctypes.c_uint64()
        _capi.check(self._lib.sy_bundle_buffer_alignment(self._b, name.encode(),
                                                         ctypes.byref(out)))
        return int(out.value)

    def device_memory_bytes(self, T: int) -> int:
        """Device bytes of every buffer of the bundle for ``T`` tokens: x, router, y (the
        caller's), the packed weights and the runtime's workspaces."""
        if isinstance(T, int) and T < 0:
            raise _err("SY_ERR_INVALID_ARGUMENT", f"T must be >= 0, got {T}")
        return sum(self.buffer_bytes(name, T) for name in self.buffers)

    def check_weights(self, path, prefix: Optional[str] = None) -> None:
        """Checks, without a device, that the packed weight file ``path`` holds this
        bundle's weights as ``prefix + name`` (sy_bundle_check_weights)."""
        _capi.check(self._lib.sy_bundle_check_weights(self._b, _capi.encode(os.fspath(path)),
                                                      _capi.encode(prefix)))

    def describe(self) -> str:
        w = self.weights["w13"]
        routing = ("routing external" if self.kind == "moe_experts" else
                   f"renormalize={self.renormalize} scale={self.routed_scaling_factor}")
        extra = ""
        if self.activation["kind"] != "silu":
            extra += (f" activation={self.activation['kind']}(alpha={self.activation['alpha']:g}"
                      f", limit={self.activation['limit']:g})")
        if self.bias_inputs:
            extra += " biases=w13_bias,w2_bias"
        if self.router_bias_dtype:
            extra += f" router_bias={self.router_bias_dtype}"
        return (f"{self.dir}: {self.kind} E={self.experts} H={self.hidden} "
                f"I={self.intermediate} top_k={self.top_k} {routing} "
                f"n:m:v={w['n']}:{w['m']}:{w['v']} layout={w['layout']} chip={self.chip}"
                + extra)

    # -- lifetime --------------------------------------------------------------------------

    def _close_bundle(self) -> None:
        if getattr(self, "_b", None):
            self._lib.sy_bundle_destroy(self._b)
            self._b = ctypes.c_void_p()

    def close(self) -> None:
        self._close_bundle()



def _read_bf16(f, path: str, name: str):
    """Plain tensor ``name`` of the open safetensors file ``f`` (at ``path``) as a copy in
    uint16 bf16 bits; SY_ERR_WEIGHT_FILE unless it is BF16."""
    info = f.info(name)
    if info.dtype != "BF16":
        raise _err("SY_ERR_WEIGHT_FILE", f"{path}: tensor {quote(name)} is {info.dtype}, "
                   f"expected BF16")
    return np.array(f.get(name), dtype=np.uint16)


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError("samoyeds.MoELayer needs PyTorch (pip install torch)") from e
    return torch


def _primary_cuda_device(what: str):
    """CUDA device 0 with torch's primary context created and current, so that the
    runtime retains the same context; raises SY_ERR_NO_DEVICE naming ``what``."""
    torch = _torch()
    if not torch.cuda.is_available():
        raise _err("SY_ERR_NO_DEVICE", f"{what} needs a CUDA device and torch built with "
                   "CUDA (torch.cuda.is_available() is False)")
    torch.cuda.init()
    device = torch.device("cuda", 0)
    with torch.cuda.device(device):
        torch.cuda.current_stream(device)
        torch.empty(1, device=device)  # forces the primary context to be current
    return device


def _read_weights(lib, bundle) -> Dict[str, dict]:
    """The bundle's weights: {name: {dtype, experts, rows, cols, n, m, v, layout}}."""
    count = ctypes.c_int32()
    _capi.check(lib.sy_bundle_num_weights(bundle, ctypes.byref(count)))
    weights: Dict[str, dict] = {}
    for i in range(count.value):
        info = _capi.sy_weight_info()
        _capi.check(lib.sy_bundle_weight_info(bundle, i, ctypes.byref(info)))
        d = _capi.info_dict(info)
        weights[d.pop("name")] = d
    return weights


def _upload_packed(lib, session, name: str, packed, layout: str) -> None:
    """sy_session_upload_weight of a :class:`samoyeds.pack.PackedWeight`, rearranged
    into ``layout`` (the bundle weight's) first when it is stored in another one."""
    from .pack import PackedView, relayout

    if packed.layout != layout:
        packed = relayout(packed, layout)
    pv = PackedView(packed)
    _capi.check(lib.sy_session_upload_weight(session, name.encode(), pv.ref()))


def _run_session(lib, session, lock, buffers, symbols: Dict[str, int], device) -> None:
    """Binds each (name, tensor) of ``buffers`` and runs ``session`` with the
    symbol values on ``device``'s current stream, holding ``lock``."""
    names, values = _symbol_arrays(symbols)
    stream = ctypes.c_void_p(_torch().cuda.current_stream(device).cuda_stream)
    with lock:
        for name, t in buffers:
            _capi.check(lib.sy_session_bind(session, name.encode(), t.data_ptr(),
                                            t.numel() * t.element_size()))
        _capi.check(lib.sy_session_run(session, names, values, len(symbols), stream))


def _destroy_session(lib, session, device) -> None:
    """Frees ``session`` after the device has finished with it."""
    try:
        _torch().cuda.synchronize(device)
    except Exception:
        pass
    lib.sy_session_destroy(session)


class MoELayer(LayerBundle):
    """A layer bundle loaded on CUDA device 0 with a session.

    ``weights``: optional packed weight file to load at once (with ``prefix``,
    e.g. ``"layers.3."``); its router (``prefix + "router"``, and ``prefix +
    "router_bias"`` for a layer with a router bias) is taken too when the file has one.
    Otherwise call :meth:`load_weights` or :meth:`set_weights` and :meth:`set_router`
    (``router`` and ``router_bias`` here call it) before calling the layer.

    ``layer(x)`` (moe_ffn) or ``layer(x, topk_weights, topk_ids)`` (moe_experts):
    ``x`` a contiguous CUDA bf16 tensor [T, H] on device 0, ``topk_weights``
    float32 and ``topk_ids`` int32 [T, k] on the same device; returns a new
    [T, H] bf16 tensor. Runs on torch's current stream; the host is not
    synchronised.

    ``max_tokens``: the largest T the layer will run. Its workspaces are then
    reserved at load (sy_session_reserve), so a call never allocates, frees or
    synchronises and can be captured in a CUDA graph at any T <= max_tokens
    with no earlier eager call; a larger T is refused (SY_ERR_INVALID_ARGUMENT).
    Without it, runs allocate workspaces as needed (not capturable).

    A layer with the experts' biases (``bias_inputs``, gpt-oss) takes them from the
    weight file's plain ``prefix + "w13_bias"`` / ``"w2_bias"`` tensors (written by
    samoyeds.convert) in :meth:`load_weights`, or from :meth:`set_biases`; they stay on
    the device (counted by :meth:`device_memory_bytes`, as inputs) and are bound on every
    call.
    """

    _loader = "sy_bundle_load"

    def __init__(self, bundle_dir, weights=None, prefix: str = "", router=None,
                 max_tokens: Optional[int] = None, router_bias=None):
        # Create torch's context first: the runtime then retains the same primary context.
        self.device = _primary_cuda_device("MoELayer")
        self._s = ctypes.c_void_p()
        self._run_lock = threading.Lock()
        self._uploaded = set()
        self._alignments: Dict[str, int] = {}
        self.router: Optional["torch.Tensor"] = None
        self.router_bias: Optional["torch.Tensor"] = None
        self.max_tokens: Optional[int] = None
        self.biases: Optional[Dict[str, "torch.Tensor"]] = None
        super().__init__(bundle_dir)
        try:
            _capi.check(self._lib.sy_session_create(self._b, ctypes.byref(self._s)))
            if max_tokens is not None:
                self.reserve(max_tokens)
            if router is not None or router_bias is not None:
                self.set_router(router, router_bias)
            if weights is not None:
                self.load_weights(weights, prefix, load_router=router is None)
        except BaseException:
            self.close()
            raise

    # -- weights ---------------------------------------------------------------------------

    def load_weights(self, path, prefix: str = "", load_router: bool = True) -> None:
        """Uploads the bundle's weights from the packed weight file ``path`` (names
        ``prefix + "w13"``, ``prefix + "w2"``; sy_session_load_weights checks them all
        first). With ``load_router`` the file's plain ``prefix + "router"`` tensor (written
        by samoyeds.convert) becomes the router, when present, with the file's ``prefix +
        "router_bias"`` (BF16 [E]) for a layer with a router bias: its absence there is an
        error (SY_ERR_NOT_FOUND), as is its presence for a layer whose route adds none
        (SY_ERR_INVALID_ARGUMENT: the routing would drop it). A layer with bias inputs
        takes ``prefix + "w13_bias"`` and ``prefix + "w2_bias"`` (BF16 [E, 2I], [E, H]) too;
        their absence is an error (SY_ERR_NOT_FOUND)."""
        self._need_session()
        path = os.fspath(path)
        biases = self._read_biases(path, prefix or "") if self.bias_inputs else None
        _capi.check(self._lib.sy_session_load_weights(self._s, _capi.encode(path),
                                                      _capi.encode(prefix or "")))
        self._uploaded.update(self.weights)
        if biases is not None:
            self.set_biases(*biases)
        if load_router and self.kind == "moe_ffn":
            from .safetensors_io import SafetensorsFile

            f = SafetensorsFile(path)
            try:
                name = (prefix or "") + "router"
                if name in f:
                    self.set_router(_read_bf16(f, path, name),
                                    self._file_router_bias(f, path, name + "_bias"))
            finally:
                f.close()

    def _file_router_bias(self, f, path: str, name: str):
        """The file's router bias ``name`` (BF16 [E]) for a layer with a router bias, None
        for one without; a file that lacks it, or has it for a layer without one, is
        refused."""
        if self.router_bias_dtype is None:
            if name in f:
                raise _err("SY_ERR_INVALID_ARGUMENT", f"{path} has the router's bias "
                           f"{quote(name)}, but the route of layer {self.dir} adds none (it "
                           f"has no input 'router_bias'): compile the layer with its router "
                           f"bias (moe_ffn's router_bias(...)) or load the router with "
                           f"set_router")
            return None
        if name not in f:
            raise _err("SY_ERR_NOT_FOUND", f"{path}: no tensor {quote(name)} (the layer's "
                       f"router_bias input [E], which samoyeds.convert writes for gpt_oss)")
        return _read_bf16(f, path, name)

    def _read_biases(self, path: str, prefix: str):
        """The file's ``prefix`` w13_bias and w2_bias as uint16 bf16 arrays, checked."""
        from .safetensors_io import SafetensorsError, SafetensorsFile

        try:
            f = SafetensorsFile(path)
        except SafetensorsError as e:
            raise _err("SY_ERR_WEIGHT_FILE", e.message) from None
        try:
            out = []
            for name in self.bias_inputs:
                full = prefix + name
                if full not in f:
                    raise _err("SY_ERR_NOT_FOUND", f"{path}: no tensor {quote(full)} (the "
                               f"layer's {name} input: the experts' biases, which "
                               f"samoyeds.convert writes for gpt_oss)")
                out.append(_read_bf16(f, path, full))
            return out
        finally:
            f.close()

    def set_biases(self, w13_bias, w2_bias) -> None:
        """The experts' biases of a layer with bias inputs: ``w13_bias`` [E, 2I] (gate
        rows first) and ``w2_bias`` [E, H], torch tensors (any dtype / device; kept as
        contiguous bf16 copies on the layer's device) or numpy arrays (uint16 bf16 bit
        patterns or float)."""
        if not self.bias_inputs:
            raise _err("SY_ERR_INVALID_ARGUMENT", f"{self.dir}: this layer has no bias "
                       f"inputs (its experts have no biases)")
        torch = _torch()
        staged = {}
        for name, b, want in zip(self.bias_inputs, (w13_bias, w2_bias),
                                 ((self.experts, 2 * self.intermediate),
                                  (self.experts, self.hidden))):
            staged[name] = self._device_tensor(torch, b, f"set_biases: {name}", want,
                                               torch.bfloat16)
        self.biases = staged

    def set_weights(self, w13, w2) -> None:
        """Packs dense ``w13`` [E, 2I, H] (gate rows over up rows) and ``w2`` [E, H, I]
        (numpy: uint16 bf16 bit patterns or float; torch: any device) with the bundle's
        n:m:v in the bundle's layout (sy_pack_weight_layout) and uploads them
        (sy_session_upload_weight)."""
        self._need_session()
        from .pack import pack

        staged = []
        for name, dense in (("w13", w13), ("w2", w2)):
            wi = self.weights[name]
            want = (wi["experts"], wi["rows"], wi["cols"])
            shape = tuple(int(s) for s in getattr(dense, "shape", ()))
            if shape != want:
                raise _err("SY_ERR_SIZE_MISMATCH", f"set_weights: {name} has shape "
                           f"{list(shape)}, the bundle needs {list(want)}")
            staged.append((name, pack(dense, wi["n"], wi["m"], wi["v"], wi["dtype"],
                                      wi["layout"])))
        for name, p in staged:
            self.upload_packed(name, p)

    def upload_packed(self, name: str, packed) -> None:
        """Uploads a :class:`samoyeds.pack.PackedWeight` as weight ``name`` (rearranged
        into the bundle's layout first when ``packed.layout`` differs)."""
        self._need_session()
        if name not in self.weights:
            raise _err("SY_ERR_NOT_FOUND", f"bundle {self.dir} has no weight '{name}' "
                       f"(weights: {', '.join(self.weights)})")
        _upload_packed(self._lib, self._s, name, packed, self.weights[name]["layout"])
        self._uploaded.add(name)

    def set_router(self, router, bias=None) -> None:
        """The router [E, H] and, for a layer whose route adds the router's bias (input
        ``router_bias``, gpt-oss), its bias [E]: required there, refused elsewhere. Torch
        tensors (any dtype/device; converted to contiguous copies on the layer's device, the
        router bf16, the bias the bundle's ``router_bias_dtype``) or numpy arrays (uint16
        bf16 bit patterns or float)."""
        if self.kind == "moe_experts":
            raise _err("SY_ERR_INVALID_ARGUMENT", f"{self.dir} is an experts-only layer: it "
                       f"has no router (pass topk_weights and topk_ids to each call)")
        if router is None:
            raise _err("SY_ERR_INVALID_ARGUMENT", "set_router: no router (a router bias "
                       "comes with its router)")
        if bias is None and self.router_bias_dtype is not None:
            raise _err("SY_ERR_INVALID_ARGUMENT", f"set_router: the route of layer "
                       f"{self.dir} adds the router's bias (input router_bias [{self.experts}]"
                       f"): pass set_router(router, bias)")
        if bias is not None and self.router_bias_dtype is None:
            raise _err("SY_ERR_INVALID_ARGUMENT", f"set_router: the route of layer "
                       f"{self.dir} adds no router bias (it has no input 'router_bias'; "
                       f"compile the layer with moe_ffn's router_bias(...) for one)")
        torch = _torch()
        t = self._device_tensor(torch, router, "set_router: router",
                                (self.experts, self.hidden), torch.bfloat16)
        if bias is not None:
            dtype = {"bf16": torch.bfloat16, "f16": torch.float16,
                     "f32": torch.float32}[self.router_bias_dtype]
            self.router_bias = self._device_tensor(torch, bias, "set_router: router bias",
                                                   (self.experts,), dtype)
        self.router = t

    def _device_tensor(self, torch, value, what: str, shape: tuple, dtype):
        """``value`` (torch: any dtype/device; numpy: uint16 bf16 bit patterns or float) as a
        contiguous ``dtype`` copy of ``shape`` on the layer's device; SY_ERR_SIZE_MISMATCH
        starting with ``what`` for another shape. Numpy floats reach a wider ``dtype`` than
        bf16 (an f32 router bias) unrounded."""
        if isinstance(value, torch.Tensor):
            t = value.detach()
        elif dtype != torch.bfloat16 and np.asarray(value).dtype.kind == "f":
            t = torch.from_numpy(np.array(value, dtype=np.float32))
        else:
            from .pack import to_storage

            a = to_storage(np.asarray(value), "bf16")
            t = torch.from_numpy(a.view(np.int16).copy()).view(torch.bfloat16)
        if tuple(t.shape) != shape:
            raise _err("SY_ERR_SIZE_MISMATCH", f"{what} has shape {list(t.shape)}, "
                       f"expected {list(shape)}")
        return t.to(device=self.device, dtype=dtype).contiguous().clone()

    @property
    def ready(self) -> bool:
        routed = self.kind == "moe_experts" or self.router is not None
        biased = not self.bias_inputs or self.biases is not None
        return routed and biased and self._uploaded >= set(self.weights)

    # -- running ---------------------------------------------------------------------------

    def reserve(self, max_tokens: int) -> None:
        """Sizes the workspaces for every T <= ``max_tokens`` now (sy_session_reserve with
        T = max_tokens, P = max_tokens * top_k); later calls with T <= max_tokens never
        allocate (CUDA-graph capturable), larger ones are refused. Call it outside any
        capture."""
        self._need_session()
        max_tokens = int(max_tokens)
        if max_tokens < 1:
            raise _err("SY_ERR_INVALID_ARGUMENT", f"max_tokens must be >= 1, got {max_tokens}")
        names, values = _symbol_arrays(self.symbol_values(max_tokens))
        with self._run_lock:
            _capi.check(self._lib.sy_session_reserve(self._s, names, values, len(values)))
        self.max_tokens = max_tokens

    def _check_routing(self, torch, x, topk_weights, topk_ids):
        """The routing inputs of a moe_experts call: [T, k] float32 / int32, contiguous, on
        the layer's device."""
        T, k = int(x.shape[0]), self.top_k
        for name, t, dtype in (("topk_weights", topk_weights, torch.float32),
                               ("topk_ids", topk_ids, torch.int32)):
            if not isinstance(t, torch.Tensor):
                raise _err("SY_ERR_INVALID_ARGUMENT", f"MoELayer: {name} must be a "
                           f"torch.Tensor [{T}, {k}] (this is an experts-only layer)")
            if tuple(t.shape) != (T, k):
                raise _err("SY_ERR_SIZE_MISMATCH", f"MoELayer: {name} must have shape "
                           f"[{T}, {k}], got {list(t.shape)}")
            if t.dtype != dtype:
                raise _err("SY_ERR_INVALID_ARGUMENT", f"MoELayer: {name} must be {dtype}, "
                           f"got {t.dtype}")
            if t.device != self.device or not t.is_contiguous():
                raise _err("SY_ERR_INVALID_ARGUMENT", f"MoELayer: {name} must be contiguous "
                           f"on {self.device}, got {t.device}")

    def __call__(self, x, topk_weights=None, topk_ids=None):
        torch = _torch()
        self._need_session()
        H = self.hidden
        if not isinstance(x, torch.Tensor):
            raise _err("SY_ERR_INVALID_ARGUMENT",
                       f"MoELayer: x must be a torch.Tensor, got {type(x).__name__}")
        if x.dtype != torch.bfloat16:
            raise _err("SY_ERR_INVALID_ARGUMENT",
                       f"MoELayer: x must be torch.bfloat16, got {x.dtype}")
        if x.dim() != 2 or x.shape[1] != H:
            raise _err("SY_ERR_SIZE_MISMATCH",
                       f"MoELayer: x must have shape [T, {H}], got {list(x.shape)}")
        if x.device != self.device:
            raise _err("SY_ERR_INVALID_ARGUMENT",
                       f"MoELayer: x is on {x.device}; the runtime runs on {self.device} "
                       f"(use CUDA_VISIBLE_DEVICES to pick the GPU)")
        if not x.is_contiguous():
            raise _err("SY_ERR_INVALID_ARGUMENT", "MoELayer: x must be contiguous "
                       "(call x.contiguous())")
        missing = sorted(set(self.weights) - self._uploaded)
        if missing:
            raise _err("SY_ERR_NOT_READY", f"MoELayer: weights {', '.join(missing)} not loaded "
                       f"(call load_weights or set_weights)")
        if self.bias_inputs and self.biases is None:
            raise _err("SY_ERR_NOT_READY", "MoELayer: the experts' biases (w13_bias, w2_bias) "
                       "are not loaded (call load_weights with a file holding them, or "
                       "set_biases)")
        T = int(x.shape[0])
        check_max_tokens(T, self.max_tokens)
        if self.kind == "moe_experts":
            self._check_routing(torch, x, topk_weights, topk_ids)
            routing = (("topk_weights", topk_weights), ("topk_ids", topk_ids))
        else:
            if topk_weights is not None or topk_ids is not None:
                raise _err("SY_ERR_INVALID_ARGUMENT", "MoELayer: this moe_ffn layer routes "
                           "itself; it takes no topk_weights/topk_ids")
            if self.router is None:
                raise _err("SY_ERR_NOT_READY", "MoELayer: no router (call set_router, or "
                           "load_weights with a file holding PREFIX.router)")
            routing = (("router", self.router),)
            if self.router_bias_dtype is not None:
                routing += ((ROUTER_BIAS, self.router_bias),)
        y = torch.empty((T, H), dtype=torch.bfloat16, device=self.device)
        if T == 0:
            return y
        x = self._aligned("x", x)
        biases = tuple(self.biases.items()) if self.bias_inputs else ()
        _run_session(self._lib, self._s, self._run_lock,
                     (("x", x),) + routing + biases + (("y", y),),
                     self.symbol_values(T), self.device)
        return y

    def forward(self, x, topk_weights=None, topk_ids=None):
        return self(x, topk_weights, topk_ids)

    def _aligned(self, name: str, t):
        """``t``, or a copy of it at a fresh allocation where its address is not as aligned
        as the kernels read buffer ``name`` (a view into a larger tensor can start
        anywhere; sy_session_bind refuses such an address)."""
        align = self._alignments.get(name)
        if align is None:
            align = self._alignments[name] = self.buffer_alignment(name)
        return t if t.data_ptr() % align == 0 else t.clone()

    # -- lifetime --------------------------------------------------------------------------

    def _need_session(self) -> None:
        if not getattr(self, "_s", None):
            raise _err("SY_ERR_INVALID_ARGUMENT", f"MoELayer {self.dir} is closed")

    def close(self) -> None:
        """Frees the session (after the device has finished) and the bundle."""
        if getattr(self, "_s", None):
            _destroy_session(self._lib, self._s, self.device)
            self._s = ctypes.c_void_p()
        self.router = None
        self.router_bias = None
        self.biases = None
        self._close_bundle()

    def __repr__(self) -> str:
        return f"MoELayer({self.describe()}, ready={self.ready})"
