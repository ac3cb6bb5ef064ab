"""Convert a Hugging Face MoE checkpoint to a Samoyeds packed weight file.

    python -m samoyeds.convert SRC_DIR_OR_FILE OUT.safetensors \\
        --model {mixtral,qwen2_moe,qwen3_moe,qwen3_next,olmoe,deepseek_v2,deepseek_v3,glm4_moe,
                 kimi_k2,granitemoe,granitemoeshared,granitemoehybrid,minimax_m2,
                 ernie4_5_moe,gpt_oss} \\
        --n 1 --m 2 --v 128 \\
        [--layout {wgmma,wgmma_halves,mma_sp}] [--layers 0-3,7] [--workers N] [--dry-run]

For every MoE layer ``i`` the experts' gate and up projections are stacked
into ``layers.{i}.w13`` ([E, 2I, H]: gate rows first) and the down projections
into ``layers.{i}.w2`` ([E, H, I]); both are packed (docs/Format.md) in the
physical layout ``--layout`` (default wgmma, for Hopper's sparse wgmma
kernels; wgmma_halves: w13 with each half's kept rows padded separately, w2 in
wgmma; the runtime rearranges a weight whose layout differs from the
bundle's when it loads it) and the router is stored as the plain bf16 tensor
``layers.{i}.router`` ([E, H]).
Expert weights may be BF16, F16, F32 or block-scaled FP8 (F8_E4M3 with
``.weight_scale_inv``, as DeepSeek-V3/R1 and the ``-FP8`` releases ship them;
the block from config.json's ``quantization_config``, see fp8.py): FP8 ones
are dequantized in float32, then rounded to the output dtype before pruning.
gpt-oss's experts (stacked "in x out" with gate and up interleaved, bf16 or
MXFP4, see mxfp4.py) are de-interleaved and transposed into the same w13 / w2,
and their biases written as the plain tensors ``layers.{i}.w13_bias`` ([E, 2I],
gate first, in the output dtype), ``layers.{i}.w2_bias`` ([E, H]) and the
router's as ``layers.{i}.router_bias`` ([E], bf16).
Shared-expert tensors (and the selection biases: DeepSeek-V3's
``mlp.gate.e_score_correction_bias``, MiniMax-M2's on the block, ERNIE-4.5's in
``mlp.moe_statics``) are copied unchanged; every other tensor (attention,
embeddings, norms, dense MLPs) is left out. See docs/WeightFiles.md.

The output is written under a temporary name and renamed at the end, so a
failed or interrupted conversion (SIGINT, SIGTERM) leaves no output file and
no temporary; the output never replaces one of the checkpoint's own files.
Every problem with the checkpoint or the arguments raises ConversionError
(a SamoyedsError and a ValueError) naming the file and the tensor.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._capi import C_INT, LAYOUT_CODES, RuntimeLibraryNotFound, SamoyedsError, \
    SamoyedsValueError, c_int, quote
from .checkpoint import (FUSED, MAX_CONFIG_BYTES, MAX_INDEX_BYTES, MODELS,  # noqa: F401
                         Checkpoint, ConversionError, ModelSpec)
from .convert_plan import (DEFAULT_LAYOUT, SOURCE_DTYPES, LayerPlan, Plan, _ranges,  # noqa: F401
                           make_plan, parse_layers)
from .fp8 import E4M3, SCALE_SUFFIX, Fp8Error, dequantize
from .mxfp4 import Mxfp4Error, dequantize as mxfp4_dequantize
from .pack import float32_to_bf16, pack, to_float32
from .safetensors_io import DTYPES, SafetensorsError, SafetensorsWriter  # noqa: F401
from .weightfile import samoyeds_metadata

__all__ = ["ConversionError", "Terminated", "MODELS", "ModelSpec", "convert", "main"]

# A layer's experts are read and packed in chunks of about this many dense bytes (peak memory
# a few times it, whatever the layer's size; DeepSeek-V3's gate/up is 15 GB in bf16).
CHUNK_BYTES = 1 << 30
# Threads that read, dequantize and pack a layer's experts by default (numpy's array
# operations and the C packer release the GIL).
DEFAULT_WORKERS = min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1)
MAX_WORKERS = 256


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived during :func:`convert`, which handles it like SIGINT (a
    KeyboardInterrupt): the temporary file is removed and no output is left."""


# --------------------------------------------------------------------------- convert


class Progress:
    """A plain-text progress bar on stderr."""

    def __init__(self, total: int, enabled: bool = True, stream=None):
        self.total, self.done = max(total, 1), 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()

    def step(self, what: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 30
        fill = width * self.done // self.total
        line = (f"[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} "
                f"{time.monotonic() - self.start:6.1f}s {what}")
        if self.tty:
            self.stream.write("\r" + line.ljust(100)[:100])
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _to_bf16_or_f16(a: np.ndarray, src_dtype: str, dtype: str) -> np.ndarray:
    """16-bit storage of a source tensor (BF16 as uint16, F16, F32) in ``dtype`` (values past
    f16's range become infinities, which _read_expert refuses)."""
    if src_dtype == "BF16":
        if dtype == "bf16":
            return a
        a = to_float32(a, "bf16")
    elif src_dtype == "F16":
        return a.view(np.uint16) if dtype == "f16" else float32_to_bf16(a.astype(np.float32))
    if dtype == "bf16":
        return float32_to_bf16(a)
    with np.errstate(over="ignore"):
        return a.astype(np.float16).view(np.uint16)


def _int_arg(name: str, value) -> int:
    """``value`` as a C int (ctypes would wrap anything larger); ConversionError otherwise."""
    try:
        return c_int(name, value)
    except SamoyedsValueError as e:
        raise ConversionError(e.message) from None


def _check_output(out: Path, sources: Sequence[str]) -> None:
    """Refuses an output that is a directory or another non-regular file, or that is one of
    the checkpoint's files (same path, a link to it, or a hard link)."""
    try:
        mode = os.stat(out).st_mode
    except FileNotFoundError:
        return
    except OSError as e:
        raise ConversionError(f"{out}: cannot use as the output: {e.strerror or e}") from None
    if stat.S_ISDIR(mode):
        raise ConversionError(f"{out}: the output is a directory (give a file name, e.g. "
                              f"{out / 'samoyeds.safetensors'})")
    if not stat.S_ISREG(mode):
        raise ConversionError(f"{out}: the output exists and is not a regular file")
    for src in sources:
        if os.path.samefile(out, src):
            raise ConversionError(f"{out}: the output is the checkpoint's file {src}; refusing "
                                  f"to overwrite the source")


def _create_temporary(out: Path) -> str:
    """A new empty file next to ``out``, created like open() creates files (mode 0666 less the
    umask; tempfile.mkstemp would make it 0600)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = out.parent / f".{out.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return str(tmp)


@contextlib.contextmanager
def _sigterm_interrupts():
    """Makes SIGTERM raise Terminated (a KeyboardInterrupt) in the main thread while it is
    active, so that the cleanup of SIGINT runs for it too. Leaves a handler the program
    installed alone."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def handler(signum, frame):
        raise Terminated("terminated by SIGTERM")

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _write(out: Path, ckpt, spec, plan: "Plan", meta, progress: bool, workers: int) -> int:
    """Writes the plan's tensors to a temporary file renamed to ``out`` when complete; on any
    failure or interruption the temporary is removed. Returns the packed bytes."""
    tmp = None
    try:
        tmp = _create_temporary(out)
        writer = SafetensorsWriter(tmp, plan.entries, meta)
        try:
            bar = Progress(3 * len(plan.layers) + len(plan.passthrough), progress)
            packed_bytes = sum(_convert_layer(ckpt, spec, lp, plan, writer, bar, workers)
                               for lp in plan.layers)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        os.replace(tmp, out)
        return packed_bytes
    except BaseException as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(e, OSError):
            raise ConversionError(f"{out}: cannot write the output: {e.strerror or e}") from e
        raise


def convert(src, out, model: str, n: int = 1, m: int = 2, v: int = 128, dtype: str = "bf16",
            layers: Optional[List[int]] = None, progress: bool = True,
            layout: str = DEFAULT_LAYOUT, workers: Optional[int] = None,
            dry_run: bool = False) -> dict:
    """Converts ``src`` into the packed weight file ``out`` with its weights in ``layout``
    ("wgmma", "wgmma_halves": w13 in it and w2 in wgmma, or "mma_sp"; weight_layout); returns
    the summary dict. ``workers`` threads (default
    DEFAULT_WORKERS) read, dequantize and pack each layer's experts; the output is the same
    for any number. SIGTERM during the conversion raises Terminated (a KeyboardInterrupt),
    like SIGINT, after removing the temporary file. ``dry_run``: every check of the
    checkpoint's names, dtypes, shapes and config and of the output path, and the summary
    of what would be written, without reading any weight or writing anything (the values'
    checks, FP8 codes and finiteness, need the conversion)."""
    if model not in MODELS:
        raise ConversionError(f"unknown model {quote(model)} (one of {', '.join(MODELS)})")
    if dtype not in ("bf16", "f16"):
        raise ConversionError(f"unsupported output dtype {quote(dtype)} (bf16 or f16)")
    if layout not in LAYOUT_CODES:
        raise ConversionError(f"unknown layout {quote(layout)} (one of "
                              f"{', '.join(LAYOUT_CODES)})")
    n, m, v = (_int_arg(k, x) for k, x in (("n", n), ("m", m), ("v", v)))
    workers = DEFAULT_WORKERS if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise ConversionError(f"workers = {quote(workers)}: an integer in [1, {MAX_WORKERS}]")
    spec = MODELS[model]
    out = Path(out)
    ckpt = Checkpoint(src)
    try:
        plan = make_plan(ckpt, spec, n, m, v, dtype, layers, layout)
        extra = {}
        if any(lp.biases or lp.router_bias for lp in plan.layers):  # gpt-oss
            extra["biases"] = [e[0] for e in plan.entries if e[0].endswith(_BIAS_TAILS)]
        meta = samoyeds_metadata(plan.weights, source=str(Path(src).resolve()), model=model,
                                 routers=[f"layers.{lp.index}.router" for lp in plan.layers],
                                 passthrough=plan.passthrough, **extra)
        _check_output(out, ckpt.sources)
        if dry_run:
            packed_bytes = sum(_entry_bytes(e) for e in plan.entries
                               if e[0].split(".")[2:3] in (["w13"], ["w2"], ["w13_bias"],
                                                           ["w2_bias"]))
        else:
            with _sigterm_interrupts():
                packed_bytes = _write(out, ckpt, spec, plan, meta, progress, workers)
    finally:
        ckpt.close()
    E = sorted({lp.experts for lp in plan.layers})
    src_bytes = sum(lp.src_bytes for lp in plan.layers)
    dense_bf16 = sum(lp.experts * 3 * lp.hidden * lp.inter * 2 for lp in plan.layers)
    return {
        "source": str(src),
        "output": str(out),
        "model": model,
        "layers": [lp.index for lp in plan.layers],
        "experts": E,
        "hidden": sorted({lp.hidden for lp in plan.layers}),
        "intermediate": sorted({lp.inter for lp in plan.layers}),
        "n": n, "m": m, "v": v, "dtype": dtype, "layout": layout,
        "source_dtypes": sorted(plan.source_dtypes),
        "fused_layers": [lp.index for lp in plan.layers if lp.fused],
        "fp8_block": list(plan.fp8_block) if plan.fp8_block else None,
        "mxfp4": plan.mxfp4,
        "bias_layers": [lp.index for lp in plan.layers if lp.biases],
        "density": n / m / 2,
        "bytes_before": src_bytes,
        "bytes_dense_16bit": dense_bf16,
        "bytes_after": packed_bytes,
        "router_bytes": sum(lp.experts * lp.hidden * 2 for lp in plan.layers),
        "passthrough": plan.passthrough,
        "ignored": len(plan.ignored),
        "dense_layers": plan.dense_layers,
        "output_bytes": None if dry_run else out.stat().st_size,
    }


# The plain tensors written for gpt-oss's biases.
_BIAS_TAILS = (".w13_bias", ".w2_bias", ".router_bias")


def _entry_bytes(entry) -> int:
    """The data bytes of a planned output tensor (name, safetensors dtype, shape)."""
    _, dtype, shape = entry
    return int(np.prod(shape, dtype=np.int64)) * DTYPES[dtype].itemsize


# The exponent bits of the 16-bit output dtypes: all set is an infinity or a NaN.
_EXPONENT = {"bf16": 0x7F80, "f16": 0x7C00}


def _read_expert(ckpt, plan: Plan, name: str, dtype: str) -> np.ndarray:
    """An expert weight in ``dtype`` (uint16 bits); FP8 ones dequantized in float32 first.
    ConversionError where a value is, or rounds to, an infinity or a NaN."""
    src = ckpt.info(name).dtype
    where = f"{ckpt.file_of(name)}: tensor {quote(name)}"
    if src != E4M3:
        out = _to_bf16_or_f16(np.asarray(ckpt.get(name)), src, dtype)
    else:
        scale_name = name + SCALE_SUFFIX
        scale = np.asarray(ckpt.get(scale_name))
        if ckpt.info(scale_name).dtype == "BF16":
            scale = to_float32(scale, "bf16")
        try:
            w = dequantize(ckpt.get(name), scale, plan.fp8_block)
        except Fp8Error as e:
            raise ConversionError(f"{where}: {e}") from None
        out = _to_bf16_or_f16(w, "F32", dtype)
    _check_finite(out, dtype, where)
    return out


def _check_finite(bits: np.ndarray, dtype: str, where: str, origin=(), locate=None) -> None:
    """ConversionError naming the first element of 16-bit ``bits`` (whose index in the
    tensor starts with ``origin``; ``locate(index)``: its index in the source tensor, where
    the two differ) that is an infinity or a NaN in ``dtype``."""
    bad = (bits & _EXPONENT[dtype]) == _EXPONENT[dtype]
    if bad.any():
        index = [int(i) for i in np.unravel_index(np.argmax(bad), bad.shape)]
        index = [*origin, *(locate(*index) if locate else index)]
        raise ConversionError(f"{where}: the value at {index} is not finite in {dtype} "
                              f"(an infinity or a NaN, in the checkpoint or after rounding)")


def _parallel(workers: int, fn, items) -> list:
    """[fn(x) for x in items] on ``workers`` threads, in order; the first exception (or a
    KeyboardInterrupt in the waiting thread) cancels what has not started and is raised
    once the running calls have returned."""
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    ex = ThreadPoolExecutor(min(workers, len(items)))
    try:
        futures = [ex.submit(fn, x) for x in items]
        return [f.result() for f in futures]
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def _pack_experts(dense: np.ndarray, w: dict, workers: int) -> Tuple[Dict[str, np.ndarray], int]:
    """The components of ``dense`` [E, R, C] packed, as [E, bytes per expert] arrays, and
    their bytes: expert ranges packed on ``workers`` threads (each expert's packed bytes
    depend on it alone, so the ranges' components are its rows)."""
    E = dense.shape[0]
    bounds = np.linspace(0, E, min(workers, E) + 1).astype(int)
    parts = _parallel(workers, lambda r: pack(dense[r[0]:r[1]], w["n"], w["m"], w["v"],
                                              w["dtype"], w["layout"]),
                      list(zip(bounds[:-1], bounds[1:])))
    comps = {k: np.concatenate([p.components()[k].reshape(b - a, -1)
                                for p, a, b in zip(parts, bounds[:-1], bounds[1:])])
             for k in parts[0].components()}
    return comps, sum(p.nbytes for p in parts)


def _interleaved_rows(ckpt, lp: LayerPlan, which: int, name: str, dtype: str):
    """fn(e, out) of gpt-oss's layout (_expert_rows): w13 from gate_up [E, H, 2I] (columns
    interleaved gate / up), as gate rows G[:, 0::2].T over up rows G[:, 1::2].T, and w2 =
    down [E, I, H] transposed; from MXFP4, one expert dequantized at a time to its "out x
    in" form ([2I, H], rows interleaved; [H, I]) in float32 and rounded once."""
    inter = lp.inter
    if FUSED[which] in lp.mxfp4:
        blocks, scales = lp.mxfp4[FUSED[which]]
        where = f"{ckpt.file_of(blocks)}: tensor {quote(blocks)} (dequantized)"

        def dense(e):
            try:
                w = mxfp4_dequantize(ckpt.get(blocks)[e], ckpt.get(scales)[e])
            except Mxfp4Error as err:
                raise ConversionError(f"{where}: expert {e}: {err}") from None
            return (w[0::2], w[1::2]) if which == 0 else (w,)
        src = "F32"
    else:
        where = f"{ckpt.file_of(name)}: tensor {quote(name)}"
        src = ckpt.info(name).dtype

        def dense(e):
            a = np.asarray(ckpt.get(name)[e])
            return (a[:, 0::2].T, a[:, 1::2].T) if which == 0 else (a.T,)

    mx = FUSED[which] in lp.mxfp4

    def locate(r, c):
        """[row, column] of w13 / w2 in the checkpoint's tensor (MXFP4: its dequantized
        "out x in" rows)."""
        if which == 0:  # gate j = row j, up j = row I + j: interleaved at 2j, 2j + 1
            r = 2 * (r % inter) + r // inter
        return [r, c] if mx else [c, r]

    def rows(e, out):
        for j, part in enumerate(dense(e)):
            dst = out[j * inter:(j + 1) * inter] if which == 0 else out
            dst[...] = _to_bf16_or_f16(np.ascontiguousarray(part), src, dtype)
        _check_finite(out, dtype, where, (e,), locate)
    return rows


def _expert_rows(ckpt, spec, lp: LayerPlan, plan: Plan, which: int, dtype: str):
    """fn(e, out): writes expert e's rows of w13 (``which`` 0: gate over up) or w2 (1) into
    ``out`` in ``dtype``, from its own tensors or from the fused ones."""
    i = lp.index
    if lp.interleaved:
        return _interleaved_rows(ckpt, lp, which, spec.fused(i, FUSED[which]), dtype)
    if lp.fused:
        name = spec.fused(i, FUSED[which])
        src, where = ckpt.info(name).dtype, f"{ckpt.file_of(name)}: tensor {quote(name)}"

        def fused(e, out):
            out[...] = _to_bf16_or_f16(np.asarray(ckpt.get(name)[e]), src, dtype)
            _check_finite(out, dtype, where, (e,))
        return fused
    projs = (spec.gate, spec.up) if which == 0 else (spec.down,)

    def experts(e, out):
        per = out.shape[0] // len(projs)
        for j, proj in enumerate(projs):
            out[j * per:(j + 1) * per] = _read_expert(ckpt, plan, spec.expert(i, e, proj), dtype)
    return experts


def _convert_layer(ckpt, spec, lp: LayerPlan, plan: Plan, writer, bar, workers: int = 1) -> int:
    """Packs layer ``lp``'s experts into ``writer``: w13 (gate over up rows), then w2, each in
    chunks of experts of about CHUNK_BYTES dense bytes, read and packed on ``workers``
    threads; returns the packed bytes."""
    i, E, H, I = lp.index, lp.experts, lp.hidden, lp.inter
    dtype = plan.weights[f"layers.{i}.w13"]["dtype"]
    total = 0
    for which, (wname, rows, cols) in enumerate(((f"layers.{i}.w13", 2 * I, H),
                                                 (f"layers.{i}.w2", H, I))):
        read = _expert_rows(ckpt, spec, lp, plan, which, dtype)
        chunk = max(1, min(E, CHUNK_BYTES // (2 * rows * cols)))
        for first in range(0, E, chunk):
            dense = np.empty((min(E, first + chunk) - first, rows, cols), dtype=np.uint16)
            _parallel(workers, lambda e: read(e, dense[e - first]),
                      list(range(first, first + len(dense))))
            comps, nbytes = _pack_experts(dense, plan.weights[wname], workers)
            for part, arr in comps.items():
                writer.write_part(f"{wname}.{part}", arr)
            total += nbytes
            del dense, comps
        bar.step(wname)
    router = lp.router
    r = _to_bf16_or_f16(np.asarray(ckpt.get(router)), ckpt.info(router).dtype, "bf16")
    _check_finite(r, "bf16", f"{ckpt.file_of(router)}: tensor {quote(router)}")
    writer.write(f"layers.{i}.router", r)
    if lp.biases:  # gpt-oss: gate_up's bias de-interleaved (gate first), down's as it is
        for (out, dt), bias in zip(((f"layers.{i}.w13_bias", dtype),
                                    (f"layers.{i}.w2_bias", dtype)), lp.biases):
            b = _to_bf16_or_f16(np.asarray(ckpt.get(bias)), ckpt.info(bias).dtype, dt)
            _check_finite(b, dt, f"{ckpt.file_of(bias)}: tensor {quote(bias)}")
            if out.endswith(".w13_bias"):
                b = np.concatenate([b[:, 0::2], b[:, 1::2]], axis=1)
            writer.write(out, np.ascontiguousarray(b))
            total += b.nbytes
    if lp.router_bias:
        rb = lp.router_bias
        b = _to_bf16_or_f16(np.asarray(ckpt.get(rb)), ckpt.info(rb).dtype, "bf16")
        _check_finite(b, "bf16", f"{ckpt.file_of(rb)}: tensor {quote(rb)}")
        writer.write(f"layers.{i}.router_bias", b)
    bar.step(f"layers.{i}.router")
    for p in plan.passthrough:
        if int(p.split(".")[2]) == i:
            writer.write(p, np.asarray(ckpt.get(p)))
            bar.step(p)
    return total


def format_summary(s: dict) -> str:
    def mib(b):
        return f"{b} bytes ({b / 2**20:.2f} MiB)"

    ratio = s["bytes_after"] / s["bytes_before"] if s["bytes_before"] else 0.0
    lines = [
        (f"Checked {s['source']} ({s['model']}) for {s['output']} (dry run: no weight read, "
         f"nothing written)" if s["output_bytes"] is None
         else f"Converted {s['source']} ({s['model']}) -> {s['output']}"),
        f"  MoE layers:   {len(s['layers'])} ({_ranges(s['layers'])})",
        f"  experts:      {', '.join(map(str, s['experts']))} per layer; hidden "
        f"{', '.join(map(str, s['hidden']))}, intermediate {', '.join(map(str, s['intermediate']))}",
        f"  format:       {s['dtype']}, n:m:v = {s['n']}:{s['m']}:{s['v']}, layout "
        f"{s['layout']}, density "
        f"{s['density']:.4f} (kept fraction of expert weights)",
        f"  source:       {', '.join(s['source_dtypes'])} expert weights"
        + (f", fused in layers {_ranges(s['fused_layers'])}" if s.get("fused_layers") else "")
        + (f" (FP8 in blocks of {s['fp8_block'][0]} x {s['fp8_block'][1]}, dequantized in "
           f"float32)" if s.get("fp8_block") else "")
        + (" (MXFP4: E2M1 in blocks of 32 with E8M0 scales, dequantized in float32)"
           if s.get("mxfp4") else ""),
        f"  bytes before: {mib(s['bytes_before'])} (expert weights in the checkpoint"
        + (", with their scales)" if s.get("fp8_block") or s.get("mxfp4") else ")"),
        f"  bytes after:  {mib(s['bytes_after'])} (packed, {100 * ratio:.1f}% of before)",
        f"  routers:      {len(s['layers'])} tensors, {mib(s['router_bytes'])}, bf16",
    ]
    if s.get("bias_layers"):
        lines.append(f"  biases:       expert biases (w13_bias gate first, w2_bias) and router "
                     f"biases of layers {_ranges(s['bias_layers'])}, counted in bytes after")
    if s["passthrough"]:
        lines.append(f"  not converted (copied unchanged): {len(s['passthrough'])} shared-expert "
                     f"tensors, e.g. {s['passthrough'][0]}")
    if s["dense_layers"]:
        lines.append(f"  skipped layers without experts: {_ranges(s['dense_layers'])}")
    lines.append(f"  left out:     {s['ignored']} other tensors (attention, embeddings, norms, "
                 f"dense MLPs)")
    lines.append("  output:       not written (--dry-run)" if s["output_bytes"] is None
                 else f"  output:       {mib(s['output_bytes'])}")
    return "\n".join(lines)


def _positive_int(text: str) -> int:
    """argparse type of --n, --m, --v: an integer in [1, 2^31 - 1] (they are C ints)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{quote(text)} is not an integer") from None
    if not 1 <= value <= C_INT[1]:
        raise argparse.ArgumentTypeError(f"{value} is out of range [1, {C_INT[1]}]")
    return value


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m samoyeds.convert",
        description="Convert a Hugging Face MoE checkpoint (safetensors) to a Samoyeds packed "
                    "weight file (docs/WeightFiles.md).")
    ap.add_argument("src", help="checkpoint directory, .safetensors file or "
                                "model.safetensors.index.json")
    ap.add_argument("out", help="output .safetensors file")
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--n", type=_positive_int, default=1, help="rows kept per group (default 1)")
    ap.add_argument("--m", type=_positive_int, default=2, help="group size (default 2)")
    ap.add_argument("--v", type=_positive_int, default=128,
                    help="span width in columns (default 128)")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "f16"],
                    help="element type of the packed weights (default bf16)")
    ap.add_argument("--layout", default=DEFAULT_LAYOUT,
                    choices=["wgmma", "wgmma_halves", "mma_sp"],
                    help="physical layout of the packed weights (default wgmma: Hopper's sparse "
                         "wgmma kernels; wgmma_halves: the same with w13's gate and up halves "
                         "padded to whole 64-row tiles each, w2 in wgmma; mma_sp: the mma.sp "
                         "kernels). The runtime rearranges a weight whose layout differs from "
                         "the bundle's when it loads it")
    ap.add_argument("--layers", help="layers to convert, e.g. 0-3,7 (default: all MoE layers)")
    ap.add_argument("--workers", type=_positive_int, default=DEFAULT_WORKERS,
                    help=f"threads reading, dequantizing and packing experts (default "
                         f"{DEFAULT_WORKERS}; the output does not depend on it)")
    ap.add_argument("--dry-run", action="store_true",
                    help="check the checkpoint's names, dtypes, shapes and config and print what "
                         "would be written, reading no weight and writing nothing")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        summary = convert(args.src, args.out, args.model, args.n, args.m, args.v, args.dtype,
                          parse_layers(args.layers), progress=not args.quiet,
                          layout=args.layout, workers=args.workers, dry_run=args.dry_run)
    except KeyboardInterrupt as e:  # SIGINT, or SIGTERM (Terminated)
        what = "terminated (SIGTERM)" if isinstance(e, Terminated) else "interrupted"
        print(f"error: {what}; no output written", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)
    except RuntimeLibraryNotFound as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except SamoyedsError as e:  # ConversionError and SafetensorsError included
        print(f"error: {e.message if isinstance(e, SamoyedsValueError) else e}", file=sys.stderr)
        return 1
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
