"""Device memory of a compiled MoE layer against the dense grouped-GEMM path.

    python -m samoyeds.memory BUNDLE_DIR [--tokens 1,16,256,4096] [--budget 20GiB]

For a layer bundle (one ``samoyeds.moe_ffn``), reports the bytes of the packed
weights (values, metadata, row indices), of the caller's buffers (x, router, y)
and of the runtime's workspaces for a token count T, next to what the dense
path of the anchors (``torch._grouped_mm`` on bf16 weights: routing, a sorted
copy of x, gate/up, SiLU·up, down, combine) holds for the same layer; and the
largest T whose buffers fit a memory budget, for both. Everything comes from
the manifest: no device is needed.
"""
from __future__ import annotations

import argparse
import re
import sys
from typing import Callable, Dict

from ._capi import SamoyedsError, quote
from .layer import LayerBundle

_UNITS = {"": 1, "B": 1, "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "KB": 10**3,
          "MB": 10**6, "GB": 10**9}


def parse_bytes(text: str) -> int:
    """'20GiB', '512MB', '1048576' -> bytes."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).upper() not in _UNITS:
        raise ValueError(f"not a byte count: {quote(text)} (use e.g. 20GiB, 512MB)")
    value = float(m.group(1)) * _UNITS[m.group(2).upper()]
    if not value < 2.0 ** 63:  # inf for too many digits
        raise ValueError(f"not a byte count: {quote(text)} is too large")
    return int(value)


def samoyeds_bytes(bundle: LayerBundle, T: int) -> Dict[str, int]:
    """Bytes of every buffer class of the compiled layer for T tokens. The
    constant-size partial-sum workspaces and counters of split-K variants
    count at every T: the runtime allocates them on the first call with few
    enough routed slots and keeps them for the session. The experts' biases of a gpt-oss
    layer (inputs w13_bias, w2_bias, resident like the weights) are "biases", not
    "inputs"."""
    out = {"values": 0, "meta": 0, "row_idx": 0, "biases": 0, "inputs": 0, "outputs": 0,
           "workspaces": 0}
    for name, info in bundle.buffers.items():
        b = bundle.buffer_bytes(name, T)
        kind = info["kind"]
        if name in getattr(bundle, "bias_inputs", ()):
            out["biases"] += b
        elif kind == "weight":
            out[name.rsplit(".", 1)[-1]] += b
        else:
            out[{"input": "inputs", "output": "outputs", "workspace": "workspaces",
                 "counters": "workspaces"}[kind]] += b
    out["total"] = sum(out.values())
    return out


def dense_grouped_bytes(bundle: LayerBundle, T: int) -> Dict[str, int]:
    """Bytes of the dense grouped-GEMM layer (bf16 weights and activations)."""
    E, H, I, k = bundle.experts, bundle.hidden, bundle.intermediate, bundle.top_k
    P = T * k
    out = {
        # bf16 weights (and a gpt-oss layer's biases, [E, 2I] and [E, H])
        "weights": 3 * E * H * I * 2
        + (E * (2 * I + H) * 2 if getattr(bundle, "bias_inputs", ()) else 0),
        "inputs": T * H * 2 + E * H * 2,  # x, router
        "outputs": T * H * 2,  # y
        # logits f32 [T, E]; weights f32 + ids i64 [T, k]; sort order i64 [P];
        # offsets; x gathered [P, H]; gate/up [P, 2I]; h [P, I]; down [P, H].
        "workspaces": T * E * 4 + P * (4 + 8 + 8) + E * 8
        + P * H * 2 + P * 2 * I * 2 + P * I * 2 + P * H * 2,
    }
    out["total"] = sum(out.values())
    return out


def max_tokens(total: Callable[[int], int], budget: int, limit: int = 1 << 24) -> int:
    """Largest T in [0, limit] with total(T) <= budget (total grows with T); -1 if even
    T = 0 does not fit."""
    if total(0) > budget:
        return -1
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if total(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def report(bundle: LayerBundle, tokens, budget=None) -> str:
    mib = 1024.0 * 1024.0
    lines = [bundle.describe(),
             f"{'T':>6} {'values':>9} {'meta':>8} {'row_idx':>8} {'work':>8} {'io':>8} "
             f"{'total':>9} | {'dense':>9} {'dense work':>10} {'dense total':>11}  (MiB)"]
    for T in tokens:
        s, d = samoyeds_bytes(bundle, T), dense_grouped_bytes(bundle, T)
        lines.append(f"{T:6d} {s['values'] / mib:9.1f} {s['meta'] / mib:8.1f} "
                     f"{s['row_idx'] / mib:8.2f} {s['workspaces'] / mib:8.1f} "
                     f"{(s['inputs'] + s['outputs']) / mib:8.1f} {s['total'] / mib:9.1f} | "
                     f"{d['weights'] / mib:9.1f} {d['workspaces'] / mib:10.1f} "
                     f"{d['total'] / mib:11.1f}")
    biases = samoyeds_bytes(bundle, 0)["biases"]
    if biases:
        lines.append(f"expert biases (w13_bias, w2_bias, bf16): {biases / mib:.2f} MiB in "
                     f"'total' (not in 'io'), and in the dense weights")
    if budget is not None:
        ours = max_tokens(lambda t: samoyeds_bytes(bundle, t)["total"], budget)
        dense = max_tokens(lambda t: dense_grouped_bytes(bundle, t)["total"], budget)
        fmt = lambda t: "does not fit" if t < 0 else f"T <= {t}"
        lines.append(f"budget {budget / mib:.0f} MiB: samoyeds {fmt(ours)}, dense grouped "
                     f"{fmt(dense)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samoyeds.memory", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle")
    ap.add_argument("--tokens", default="1,16,256,4096")
    ap.add_argument("--budget", type=parse_bytes, default=None)
    a = ap.parse_args(argv)
    try:
        tokens = [int(t) for t in a.tokens.split(",")]
    except ValueError:
        ap.error(f"--tokens: not a list of integers: {quote(a.tokens)}")
    try:
        with LayerBundle(a.bundle) as bundle:
            print(report(bundle, tokens, a.budget))
    except SamoyedsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
