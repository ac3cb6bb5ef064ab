"""Block-scaled FP8 weights of Hugging Face checkpoints.

DeepSeek-V3/R1, the ``-FP8`` releases of Qwen3 and others store a linear
weight ``W [R, C]`` as ``float8_e4m3fn`` bytes ``q`` (safetensors dtype
``F8_E4M3``) with ``W.weight_scale_inv [ceil(R / br), ceil(C / bc)]`` (F32,
or BF16) beside it; ``W[r, c] = e4m3(q[r, c]) * scale[r // br, c // bc]``.
The block ``[br, bc]`` is config.json's ``quantization_config``
(``quant_method: "fp8"``, ``weight_block_size``); 128 x 128 where no config
says. :func:`dequantize` computes W in float32, exactly (an e4m3 value has 4
significant bits, so its product with an f32 scale rounds once, as the
checkpoint's own dequantization does).
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

__all__ = ["Fp8Error", "E4M3", "SCALE_SUFFIX", "DEFAULT_BLOCK", "e4m3_to_float32",
           "scale_shape", "block_from_config", "dequantize"]

E4M3 = "F8_E4M3"
SCALE_SUFFIX = "_scale_inv"  # W.weight -> W.weight_scale_inv
DEFAULT_BLOCK = (128, 128)
# A block edge above this is no block (the largest released models use 128).
MAX_BLOCK = 1 << 16


class Fp8Error(ValueError):
    """FP8 data or a quantization config that cannot be dequantized; the caller names the
    tensor or file."""


def _table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int64)
    sign = np.where(codes & 0x80, -1.0, 1.0)
    exp = (codes >> 3) & 0xF
    man = (codes & 0x7).astype(np.float64)
    value = np.where(exp == 0, man / 8.0 * 2.0 ** -6, (1.0 + man / 8.0) * 2.0 ** (exp - 7.0))
    value = sign * value
    value[(codes & 0x7F) == 0x7F] = np.nan  # e4m3fn has no infinities: S.1111.111 is NaN
    return value.astype(np.float32)


_E4M3_TABLE = _table()


def e4m3_to_float32(q: np.ndarray) -> np.ndarray:
    """float8_e4m3fn bit patterns (uint8) as float32 (NaN for the two NaN codes)."""
    return _E4M3_TABLE[np.asarray(q, dtype=np.uint8)]


def scale_shape(shape: Tuple[int, int], block: Tuple[int, int]) -> Tuple[int, int]:
    """The shape of the scales of a [R, C] weight in blocks of [br, bc]."""
    (r, c), (br, bc) = shape, block
    return (-(-r // br), -(-c // bc))


def block_from_config(config: Optional[dict]) -> Tuple[int, int]:
    """``weight_block_size`` of config.json's FP8 ``quantization_config``; DEFAULT_BLOCK
    where the config has none. Fp8Error for a config that is not block-scaled e4m3 FP8."""
    q = (config or {}).get("quantization_config")
    if q is None:
        return DEFAULT_BLOCK
    if not isinstance(q, dict):
        raise Fp8Error("quantization_config is not an object")
    method = q.get("quant_method")
    if method != "fp8":
        raise Fp8Error(f"quantization_config: quant_method {method!r} is not supported "
                       f"(block-scaled 'fp8', or an unquantized checkpoint)")
    fmt = q.get("fmt", "e4m3")
    if fmt != "e4m3":
        raise Fp8Error(f"quantization_config: fmt {fmt!r} is not supported (e4m3)")
    block = q.get("weight_block_size")
    if block is None:
        raise Fp8Error("quantization_config: no weight_block_size (per-tensor FP8 scales are "
                       "not supported)")
    if (not isinstance(block, list) or len(block) != 2
            or not all(type(b) is int and 1 <= b <= MAX_BLOCK for b in block)):
        raise Fp8Error(f"quantization_config: weight_block_size {block!r} is not two "
                       f"integers in [1, {MAX_BLOCK}]")
    return (block[0], block[1])


def dequantize(q: np.ndarray, scale: np.ndarray, block: Tuple[int, int]) -> np.ndarray:
    """W = e4m3(q) * scale per block, float32 [R, C]. ``q``: uint8 [R, C]; ``scale``:
    float32 [ceil(R / br), ceil(C / bc)]. Fp8Error for a wrong scale shape, a NaN code, or a
    scale or product that is not finite."""
    q = np.asarray(q)
    scale = np.asarray(scale, dtype=np.float32)
    if q.ndim != 2 or q.dtype != np.uint8:
        raise Fp8Error(f"expected [R, C] FP8 bytes, got {q.dtype} {list(q.shape)}")
    want = scale_shape(q.shape, block)
    if scale.shape != want:
        raise Fp8Error(f"scales have shape {list(scale.shape)}, expected {list(want)} for a "
                       f"{list(q.shape)} weight in blocks of {list(block)}")
    if not np.isfinite(scale).all():
        raise Fp8Error("a scale is not finite")
    (R, C), (br, bc) = q.shape, block
    w = _E4M3_TABLE.take(q)  # NaN for the NaN codes
    with np.errstate(over="ignore", invalid="ignore"):
        if R % br == 0 and C % bc == 0:  # the usual case: scale each block in place
            w.reshape(R // br, br, C // bc, bc)[...] *= scale[:, None, :, None]
        else:  # row block by row block: temporaries of one row of scales
            cols = np.arange(C) // bc
            for rb in range(scale.shape[0]):
                w[rb * br:(rb + 1) * br] *= scale[rb, cols]
    bad = ~np.isfinite(w)
    if bad.any():
        r, c = (int(i) for i in np.unravel_index(np.argmax(bad), bad.shape))
        code = int(q[r, c])
        if (code & 0x7F) == 0x7F:
            raise Fp8Error(f"NaN at [{r}, {c}] (code 0x{code:02x})")
        raise Fp8Error(f"[{r}, {c}] overflows float32 ({float(_E4M3_TABLE[code])} x scale "
                       f"{float(scale[r // br, c // bc])})")
    return w
