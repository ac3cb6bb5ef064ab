#!/usr/bin/env python3
"""Writes the seed corpora of the runtime fuzz targets (docs/Robustness.md).

    SAMOYEDS_RUNTIME_LIB=build-rt/libsamoyeds_runtime.so PYTHONPATH=python \\
        python fuzz/runtime/make_seeds.py [--bundle DIR ...] [--out fuzz/runtime/corpus]

* corpus/manifest: small synthetic manifests (every grid, argument and guard
  form of docs/Bundle.md, a clamped_swiglu "activation" with a bias input, a
  router's bias input) and the manifest.json of each --bundle (e.g. the
  compiler's build/examples/*.bundle);
* corpus/weightfile: packed weight files written with the Python packer:
  weight "w" as the fuzz target's bundle wants it (2 x 64 x 128, bf16,
  1:2:64, mma_sp, plain and as "layers.0.w" with a router), a wgmma weight,
  a wgmma weight whose K (192) the layout pads to 256, a wgmma_halves weight
  whose halves of 40 kept rows the layout pads to 64, an f16 n == m weight,
  two weights in one file;
* corpus/unpack: real packed weights encoded as UnpackFuzzer's input
  (FuzzedDataProvider: integers from the end, bytes from the front).

Every seed is checked to be accepted by the runtime (sy_bundle_open,
sy_weight_file_open and read, sy_unpack_weight). Deterministic output.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from samoyeds import _capi
from samoyeds.pack import pack, unpack
from samoyeds.safetensors_io import SafetensorsWriter
from samoyeds.weightfile import WeightFile, samoyeds_metadata, weight_entries

HERE = Path(__file__).resolve().parent


# ----------------------------------------------------------------------------- manifests

def _buffer(name, kind, dtype, shape):
    return {"name": name, "kind": kind, "dtype": dtype, "shape": shape}


def _weight_buffers(name, sizes):
    parts = zip(("values", "meta", "row_idx"), ("bf16", "u32", "u8"), sizes)
    return [{"name": f"{name}.{p}", "kind": "weight", "dtype": d, "bytes": b, "of": name,
             "part": p} for p, d, b in parts if b]


def synthetic_manifests():
    """A few manifests covering the forms of docs/Bundle.md."""
    sizes = [2 * 32 * 128, 2 * 32 * 128 // 8, 2 * 2 * 32]
    base = {
        "format": "samoyeds-bundle", "version": 1, "function": "f", "chip": "sm_90a",
        "ptx_version": 85, "module": "kernels.ptx", "cubin": "kernels.cubin",
        "symbols": ["T", "P"],
        "buffers": [_buffer("x", "input", "bf16", ["T", 128]),
                    _buffer("tokens", "input", "i32", ["P"]),
                    _buffer("offsets", "input", "i32", [3])]
        + _weight_buffers("w", sizes)
        + [_buffer("y", "output", "bf16", ["P", 32]),
           _buffer("ws_k_split", "workspace", "f32", [8, 64]),
           _buffer("ws_k_split_counters", "counters", "i32", [4])],
        "weights": [{"name": "w", "dtype": "bf16", "experts": 2, "rows": 64, "cols": 128,
                     "n": 1, "m": 2, "v": 64, "layout": "mma_sp"}],
        "routing": {"experts": 2, "top_k": 1, "renormalize": False,
                    "routed_scaling_factor": 1},
        "epilogue": "silu_mul",
        "launches": [
            {"kernel": "k", "grid": [{"ceil_div": ["P", 32, 2]}, {"const": 1}, {"const": 1}],
             "block": [128, 1, 1], "smem": 65536,
             "when": {"symbol": "P", "min": 5},
             "args": [{"buffer": "w.values", "elem_bytes": 16}, {"buffer": "w.meta"},
                      {"buffer": "w.row_idx"}, {"buffer": "x"}, {"buffer": "tokens"},
                      {"buffer": "offsets"}, {"buffer": "y"}, {"symbol": "P"}, {"i32": -3}]},
            {"kernel": "k", "grid": [{"const": 2}, {"token_tiles": ["P", 8, 2]}, {"const": 1}],
             "block": [128, 1, 1], "smem": 0, "when": {"symbol": "P", "min": 1, "max": 4},
             "args": [{"buffer": "x"}, {"symbol": "P"}]},
            {"kernel": "k_split", "grid": [{"per_sm": 2}, {"const": 1}, {"const": 4}],
             "block": [256, 1, 1], "smem": 0, "when": {"symbol": "P", "min": 1, "max": 4},
             "args": [{"buffer": "ws_k_split", "elem_bytes": 4},
                      {"buffer": "ws_k_split_counters", "elem_bytes": 4}, {"symbol": "T"}]},
        ],
    }
    wgmma = json.loads(json.dumps(base))
    wgmma["weights"][0].update(rows=128, layout="wgmma")
    wgmma["buffers"] = [b for b in wgmma["buffers"] if b.get("kind") != "weight"]
    wgmma["buffers"] += _weight_buffers("w", [s * 2 for s in sizes])
    # gpt-oss: clamped SwiGLU with the biases of the expert matmul as inputs.
    swiglu = json.loads(json.dumps(base))
    swiglu["activation"] = {"kind": "clamped_swiglu", "alpha": 1.702, "limit": 7.0}
    swiglu["buffers"].insert(3, _buffer("bias", "input", "bf16", [2, 64]))
    swiglu["launches"][0]["args"].insert(6, {"buffer": "bias", "elem_bytes": 2})
    # gpt-oss's router bias: an input [E] the select kernel takes before T.
    router_bias = json.loads(json.dumps(base))
    router_bias["buffers"].insert(3, _buffer("router_bias", "input", "bf16", [2]))
    router_bias["launches"][1]["args"].insert(1, {"buffer": "router_bias", "elem_bytes": 2})
    bare = {"format": "samoyeds-bundle", "version": 1, "chip": "sm_80", "module": "m.ptx",
            "symbols": [], "buffers": [_buffer("o", "output", "u8", [16])],
            "launches": [{"kernel": "z", "grid": [{"const": 0}, {"const": 1}, {"const": 1}],
                          "block": [1, 1, 1], "args": [{"buffer": "o"}]}]}
    return {"synthetic.json": base, "wgmma.json": wgmma, "bare.json": bare,
            "clamped_swiglu.json": swiglu, "router_bias.json": router_bias}


def write_manifests(out: Path, bundles):
    out.mkdir(parents=True, exist_ok=True)
    for name, m in synthetic_manifests().items():
        (out / name).write_text(json.dumps(m, indent=1) + "\n")
    for b in bundles:
        shutil.copyfile(Path(b) / "manifest.json", out / f"{Path(b).stem}.json")
    for f in sorted(out.glob("*.json")):
        _check_manifest(f)


def _check_manifest(path: Path):
    lib = _capi.lib()
    with tempfile.TemporaryDirectory() as d:
        text = path.read_text()
        shutil.copyfile(path, Path(d) / "manifest.json")
        (Path(d) / json.loads(text)["module"]).write_text("// seed\n")
        h = ctypes.c_void_p()
        _capi.check(lib.sy_bundle_open(_capi.encode(d), ctypes.byref(h)))
        lib.sy_bundle_destroy(h)


# ----------------------------------------------------------------------------- weight files

def _dense(seed, experts, rows, cols):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((experts, rows, cols)).astype(np.float32)


def write_weight_file(path: Path, weights, extra=()):
    """weights: {name: (PackedWeight)}; extra: (name, dtype, array) plain tensors."""
    entries, params = [], {}
    for name, p in weights.items():
        entries += weight_entries(name, p.experts, p.rows, p.cols, p.n, p.m, p.v, p.layout)
        params[name] = p.params
    entries += [(n, d, a.shape) for n, d, a in extra]
    w = SafetensorsWriter(path, entries, samoyeds_metadata(params, source="fuzz-seed",
                                                           model="seed"))
    for name, p in weights.items():
        for part, arr in p.components().items():
            w.write(f"{name}.{part}", arr.reshape(p.experts, -1))
    for n, _, a in extra:
        w.write(n, a)
    w.close()
    with WeightFile(path) as f:
        for name in f.names():
            f.read(name)


def write_weight_files(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    w = pack(_dense(1, 2, 64, 128), 1, 2, 64)
    router = np.arange(2 * 128, dtype=np.uint16).reshape(2, 128)
    write_weight_file(out / "w.safetensors", {"w": w})
    write_weight_file(out / "layer0.safetensors", {"layers.0.w": w},
                      [("layers.0.router", "BF16", router)])
    write_weight_file(out / "wgmma.safetensors",
                      {"g": pack(_dense(2, 1, 128, 128), 1, 2, 64, layout="wgmma")})
    write_weight_file(out / "wgmma-padded.safetensors",
                      {"g": pack(_dense(10, 2, 128, 192), 1, 2, 64, layout="wgmma")})
    write_weight_file(out / "wgmma-halves.safetensors",
                      {"h": pack(_dense(13, 2, 160, 128), 2, 4, 64, layout="wgmma_halves")})
    write_weight_file(out / "f16-dense.safetensors",
                      {"h": pack(_dense(3, 1, 32, 64), 2, 2, 32, dtype="f16")})
    write_weight_file(out / "two.safetensors",
                      {"w": w, "q": pack(_dense(4, 1, 64, 32), 3, 4, 32)})


# ----------------------------------------------------------------------------- unpack inputs

class ProviderEncoder:
    """Builds FuzzedDataProvider input: integers are read from the end of the data
    (most significant byte first), byte strings from the front."""

    def __init__(self):
        self.front = b""
        self.tail = []  # chunks in consumption order

    def integral(self, value: int, lo: int, hi: int):
        span = hi - lo
        nbytes = (span.bit_length() + 7) // 8
        self.tail.append((value - lo).to_bytes(nbytes, "little") if nbytes else b"")

    def raw(self, data: bytes):
        self.front += data

    def data(self) -> bytes:
        return self.front + b"".join(reversed(self.tail))


def unpack_input(p, layout_code: int) -> bytes:
    """UnpackFuzzer's input for the packed weight ``p`` (valid-shape branch; the
    components in full). Mirrors shape(), the layout/dtype choice and components()."""
    e = ProviderEncoder()
    e.integral(1, 0, 3)                      # not the any-integers branch
    e.integral(p.m, 1, 16)
    e.integral(p.n, 1, p.m)
    e.integral(p.v // 32, 1, 4)
    e.integral(p.experts, 1, 2)
    e.integral(p.rows // (p.m * 16), 1, 4)
    e.integral(p.cols // p.v, 1, 2)
    e.integral(layout_code, 0, 255)           # ConsumeIntegralInRange(0, 2): the byte % 3
    e.integral(1, 0, 15)                      # a weight dtype
    e.integral(1 if p.dtype == "f16" else 0, 0, 255)
    for part in (p.values, p.meta, p.row_idx):
        e.integral(1, 0, 31)                 # sizes as Format.md gives them
        e.integral(part.size, 0, part.size)  # the whole component from the input
        e.raw(part.tobytes())
    return e.data()


def write_unpack_inputs(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    cases = {
        "mma-1-2-64": pack(_dense(5, 1, 32, 128), 1, 2, 64),
        "mma-2-2-32-f16": pack(_dense(6, 2, 32, 64), 2, 2, 32, dtype="f16"),
        "mma-3-4-32": pack(_dense(7, 1, 64, 64), 3, 4, 32),
        "wgmma-1-2-64": pack(_dense(8, 1, 128, 128), 1, 2, 64, layout="wgmma"),
        "wgmma-4-4-128": pack(_dense(9, 1, 64, 256), 4, 4, 128, layout="wgmma"),
        # K % 128 != 0: values and meta padded to 256 and 128 columns.
        "wgmma-1-2-96-k192": pack(_dense(11, 1, 128, 192), 1, 2, 96, layout="wgmma"),
        "wgmma-2-2-32-k64": pack(_dense(12, 2, 64, 64), 2, 2, 32, layout="wgmma"),
        # Kept rows padded to 64-row tiles: 32 -> 64 (row_idx padding 0, 1, ...), and
        # halves of 32 -> 64 each with K = 96 padded to 128.
        "wgmma-2-4-32-r64": pack(_dense(14, 2, 64, 64), 2, 4, 32, layout="wgmma"),
        "wgmma_halves-1-2-96-r128": pack(_dense(15, 1, 128, 96), 1, 2, 96,
                                         layout="wgmma_halves"),
    }
    for name, p in cases.items():
        unpack(p)  # the runtime accepts it
        (out / name).write_bytes(unpack_input(p, _capi.LAYOUT_CODES[p.layout]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", action="append", default=[],
                    help="a bundle directory whose manifest.json becomes a seed")
    ap.add_argument("--out", default=str(HERE / "corpus"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    write_manifests(out / "manifest", args.bundle)
    write_weight_files(out / "weightfile")
    write_unpack_inputs(out / "unpack")
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"{out}: {sum(1 for f in out.rglob('*') if f.is_file())} seeds, {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
