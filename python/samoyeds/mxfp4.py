"""MXFP4 expert weights of gpt-oss checkpoints (OpenAI's release, ``quant_method: "mxfp4"``).

A stacked expert weight ``W`` [E, R, C] of the release is stored as two uint8 tensors
beside each other (safetensors dtype ``U8``):

* ``W_blocks`` [E, R, C / 32, 16]: the E2M1 (FP4) codes, two to a byte, the **low nibble
  first**: byte ``j`` of block ``g`` holds columns ``32 g + 2 j`` (bits 0-3) and
  ``32 g + 2 j + 1`` (bits 4-7);
* ``W_scales`` [E, R, C / 32]: one E8M0 exponent per block of 32 columns, the value
  ``2^(s - 127)``;

``W[e, r, 32 g + i] = e2m1(code) * 2^(scales[e, r, g] - 127)`` with the E2M1 values
``[0, .5, 1, 1.5, 2, 3, 4, 6, -0, -.5, -1, -1.5, -2, -3, -4, -6]`` (bit 3 the sign).

What was verified against transformers' ``integrations/mxfp4.py`` (the function
``convert_moe_packed_tensors``, which dequantizes gpt-oss's MXFP4 experts): its lookup
table ``FP4_VALUES`` is the list above, indexed by the nibble; ``lut[blk & 0x0F]`` goes to the
even output columns and ``lut[blk >> 4]`` to the odd ones; the exponent is
``scales.to(int32) - 127`` applied with ``torch.ldexp``; blocks are ``[*prefix, G, 16]``
with ``scales.shape == blocks.shape[:-1]``, the output rows ``[*prefix, G * 32]``; and its
result is ``.transpose(1, 2)`` of that, i.e. the dequantized rows [E, R, C] are
"out x in" and transformers holds their transpose ([E, C, R]) as the parameter. Its
``Mxfp4GptOssExperts`` declares ``gate_up_proj_blocks`` [E, 2I, H / 32, 16] and
``down_proj_blocks`` [E, H, I / 32, 16]: so the dequantized gate_up is [E, 2I, H] with its
rows interleaved gate / up (row 2j gate j, row 2j + 1 up j; the bf16 form's
``gate_up_proj`` [E, H, 2I] is its transpose), and down is [E, H, I], already
``w2``. transformers dequantizes into bf16 (the table in bf16, ``ldexp`` onto it): every
finite value is exact there (an E2M1 value has at most two significant bits and
2^(s - 127) is a power of two at least 2^-127), so the float32 values of
:func:`dequantize` rounded to bf16 are transformers' values.

Not dequantizable, and refused (:class:`Mxfp4Error`, the caller names the tensor): a scale
code 255 (E8M0's NaN; transformers would multiply by 2^128), a value that overflows float32
(a scale of 2^127 on a code of magnitude 2 or more), blocks whose last dimension is not 16,
and scales whose shape is not the blocks' without it.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

__all__ = ["Mxfp4Error", "E2M1_VALUES", "BLOCKS_SUFFIX", "SCALES_SUFFIX", "BLOCK",
           "SCALE_NAN", "QUANT_METHOD", "e2m1_to_float32", "blocks_shape", "dequantize"]

QUANT_METHOD = "mxfp4"
BLOCKS_SUFFIX = "_blocks"
SCALES_SUFFIX = "_scales"
BLOCK = 32  # values per scale (16 bytes of two codes)
SCALE_BIAS = 127
SCALE_NAN = 255  # E8M0's NaN code

E2M1_VALUES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0,
               -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0)
_TABLE = np.array(E2M1_VALUES, dtype=np.float32)


class Mxfp4Error(ValueError):
    """MXFP4 data that cannot be dequantized; the caller names the tensor."""


def e2m1_to_float32(codes) -> np.ndarray:
    """E2M1 codes (0..15) as float32."""
    return _TABLE[np.asarray(codes, dtype=np.uint8) & 0x0F]


def blocks_shape(shape: Sequence[int]) -> Tuple[int, ...]:
    """The ``_blocks`` shape of a weight of ``shape`` [..., C] (C a multiple of 32)."""
    *prefix, c = shape
    return (*prefix, c // BLOCK, BLOCK // 2)


def dequantize(blocks, scales) -> np.ndarray:
    """W [R, G * 32] float32 of one expert's ``blocks`` (uint8 [R, G, 16]) and ``scales``
    (uint8 [R, G]), exactly (see the module docstring). Mxfp4Error naming the element
    ([row, column] of W, or [row, block] of the scales) for bad shapes, a scale code 255 or a
    value that overflows float32. Temporaries: the output and a few of the blocks' size."""
    blocks = np.asarray(blocks)
    scales = np.asarray(scales)
    if blocks.dtype != np.uint8 or blocks.ndim != 3 or blocks.shape[2] != BLOCK // 2:
        raise Mxfp4Error(f"expected blocks of uint8 [R, G, 16], got {blocks.dtype} "
                         f"{list(blocks.shape)}")
    if scales.dtype != np.uint8 or scales.shape != blocks.shape[:2]:
        raise Mxfp4Error(f"scales are {scales.dtype} {list(scales.shape)}, expected uint8 "
                         f"{list(blocks.shape[:2])} (the blocks' [R, G])")
    nan = scales == SCALE_NAN
    if nan.any():
        r, g = (int(i) for i in np.unravel_index(np.argmax(nan), nan.shape))
        raise Mxfp4Error(f"scale code 255 (NaN in E8M0) at [{r}, {g}] (columns "
                         f"{g * BLOCK}..{g * BLOCK + BLOCK - 1} of row {r})")
    R, G, _ = blocks.shape
    w = np.empty((R, G, BLOCK), dtype=np.float32)
    w[:, :, 0::2] = _TABLE[blocks & 0x0F]  # the low nibble first
    w[:, :, 1::2] = _TABLE[blocks >> 4]
    exponent = scales.astype(np.int32) - SCALE_BIAS
    with np.errstate(over="ignore"):
        np.ldexp(w, exponent[:, :, None], out=w)
    w = w.reshape(R, G * BLOCK)
    bad = ~np.isfinite(w)
    if bad.any():
        r, c = (int(i) for i in np.unravel_index(np.argmax(bad), bad.shape))
        byte = int(blocks[r, c // BLOCK, (c % BLOCK) // 2])
        code = (byte >> 4) if c % 2 else (byte & 0x0F)
        raise Mxfp4Error(f"[{r}, {c}] overflows float32 ({float(_TABLE[code])} x "
                         f"2^{int(exponent[r, c // BLOCK])})")
    return w
