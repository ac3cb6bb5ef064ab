"""Hostile inputs (docs/Robustness.md): every malformed file, manifest or argument raises
SamoyedsError (SamoyedsValueError for what Python finds) with a bounded message, never a
RecursionError, OverflowError, TypeError or IsADirectoryError, and nothing hangs."""

import json
import os
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import requires_runtime
from helpers import make_checkpoint
from samoyeds import SamoyedsError, SamoyedsValueError
from samoyeds._capi import quote
from samoyeds.safetensors_io import SafetensorsError, SafetensorsFile, save_file

E, H, I = 4, 64, 32
LH = 128  # hidden size of test_layer_upload's layer manifest
PY_DIR = Path(__file__).resolve().parent.parent


def _header_file(path, header, data=b""):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def _finishes(fn, seconds=10):
    """Runs fn in a daemon thread; returns (finished, exception raised)."""
    box = {}

    def run():
        try:
            fn()
        except BaseException as e:  # noqa: B902 - recorded for the test
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    return not t.is_alive(), box.get("error")


# ----------------------------------------------------------------------------- quoting

def test_quote_matches_the_runtime():
    assert quote("w13") == "'w13'"
    assert quote("a'b\\c\n\x01\xff") == "'a\\'b\\\\c\\x0a\\x01\\xc3\\xbf'"
    assert quote("x" * 100) == "'" + "x" * 64 + "...' (100 bytes)"
    assert quote(["a"]) == "'[\\'a\\']'"
    assert quote(10 ** 5000).startswith("'<int too large to print>")


# ----------------------------------------------------------------------------- safetensors

@pytest.mark.parametrize("header,text", [
    (b"[" * 100000 + b"]" * 100000, "bad JSON header: nesting too deep"),
    (b'{"a": 1, "a": 2}', "bad JSON header: duplicate key 'a'"),
    (b"\xff\xfe", "bad JSON header: 'utf-8' codec can't decode"),
    (b"5", "bad header: expected a JSON object"),
    (json.dumps({"t": 5}).encode(), "tensor 't': expected an object"),
    (json.dumps({"__metadata__": 5}).encode(), "__metadata__: expected an object of strings"),
    (json.dumps({"__metadata__": []}).encode(), "__metadata__: expected an object of strings"),
    (json.dumps({"__metadata__": {"k": 1}}).encode(), "expected an object of strings"),
    (json.dumps({"t": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}).encode(),
     "tensor 't': unknown dtype '[\\'F32\\']'"),
    (json.dumps({"t": {"dtype": "D" * (1 << 20), "shape": [1],
                       "data_offsets": [0, 4]}}).encode(),
     "tensor 't': unknown dtype '" + "D" * 64 + "...' (1048576 bytes)"),
    (json.dumps({"t": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}).encode(),
     "'shape' must be a list of non-negative integers"),
    (json.dumps({"t": {"dtype": "F32", "shape": {"a": 1}, "data_offsets": [0, 4]}}).encode(),
     "'shape' must be a list of non-negative integers"),
    (json.dumps({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.0]}}).encode(),
     "'data_offsets' must be [begin, end]"),
    # 2^32 x 2^32 elements wrapped to 0 in int64 and read as an empty tensor.
    (json.dumps({"t": {"dtype": "F32", "shape": [1 << 32, 1 << 32],
                       "data_offsets": [0, 0]}}).encode(),
     "tensor 't': shape [4294967296, 4294967296] of F32 needs 73786976294838206464 bytes but "
     "data_offsets [0, 0] span 0"),
    (json.dumps({"t": {"dtype": "U8", "shape": [1 << 70], "data_offsets": [0, 1 << 70]}}).encode(),
     "extend beyond the end of the file"),
    (b'{"t": {"dtype": "U8", "shape": [1' + b"0" * 5000 + b'], "data_offsets": [0, 0]}}',
     "bad JSON header: Exceeds the limit"),
])
def test_safetensors_header_errors(tmp_path, header, text):
    f = _header_file(tmp_path / "h.safetensors", header, bytes(16))
    with pytest.raises(SafetensorsError) as ei:
        SafetensorsFile(f)
    assert isinstance(ei.value, SamoyedsError) and isinstance(ei.value, ValueError)
    assert ei.value.status_name == "SY_ERR_WEIGHT_FILE"
    assert text in str(ei.value), str(ei.value)[:500]
    assert str(f) in ei.value.message and len(ei.value.message) < len(str(f)) + 400
    assert "-18446744073709551616" not in ei.value.message


def test_safetensors_refuses_non_regular_files(tmp_path):
    fifo = tmp_path / "p.safetensors"
    os.mkfifo(fifo)
    done, err = _finishes(lambda: SafetensorsFile(fifo))  # used to block in open()
    assert done, "SafetensorsFile blocked on a FIFO"
    assert isinstance(err, SafetensorsError) and "cannot open: not a regular file" in str(err)
    with pytest.raises(SafetensorsError, match="cannot open: not a regular file"):
        SafetensorsFile(tmp_path)


def test_read_json_buffers_the_file_not_the_limit(tmp_path, monkeypatch):
    """read_json reads what fstat gave (a byte more, to see growth), not `limit` bytes:
    a 1 TiB limit used to make the read allocate 1 TiB; a file that grew is refused."""
    from samoyeds import _files
    f = tmp_path / "config.json"
    f.write_text('{"model_type": "gpt_oss"}')
    assert _files.read_json(str(f), 1 << 40) == {"model_type": "gpt_oss"}
    real = _files.open_regular

    def stale(path):  # the size fstat saw before the file grew by a byte
        fh, size = real(path)
        return fh, size - 1
    monkeypatch.setattr(_files, "open_regular", stale)
    with pytest.raises(OSError, match="grew past the 24 bytes it had while it was read"):
        _files.read_json(str(f), 1 << 20)


def test_safetensors_file_shrunk_after_open(tmp_path):
    f = tmp_path / "s.safetensors"
    save_file({"t": np.arange(4096, dtype=np.float32)}, f)
    st = SafetensorsFile(f)
    with open(f, "r+b") as w:
        w.truncate(100)
    with pytest.raises(SafetensorsError, match="tensor 't': cannot map 16384 bytes"):
        st.get("t")


# ----------------------------------------------------------------------------- packing

def _packed(layout="mma_sp", rows=64):
    from samoyeds.pack import pack

    rng = np.random.default_rng(1)
    return pack(rng.standard_normal((2, rows, 128)).astype(np.float32), 1, 2, 64, layout=layout)


@requires_runtime
@pytest.mark.parametrize("layout,rows", [("mma_sp", 64), ("wgmma", 128)])
def test_unpack_refuses_bad_row_idx_and_meta(layout, rows):
    from samoyeds.pack import unpack

    p = _packed(layout, rows)
    p.row_idx = p.row_idx.copy()
    p.row_idx[:] = 0xFF  # used to write past the dense array
    with pytest.raises(SamoyedsError) as ei:
        unpack(p)
    assert ei.value.status_name == "SY_ERR_INVALID_ARGUMENT"
    assert ei.value.message == ("sy_unpack_weight: row_idx: byte 0 (expert 0, span 0, kept row "
                                "0) is 255, not below m = 2")
    p = _packed(layout, rows)
    p.meta = p.meta.copy()
    p.meta[3] = 0x00
    with pytest.raises(SamoyedsError, match=r"meta: byte 3 \(expert 0\) holds nibble 0x0"):
        unpack(p)


@requires_runtime
def test_pack_arguments_are_range_checked():
    from samoyeds.pack import PackedWeight, pack, packed_sizes, unpack

    dense = np.ones((64, 128), np.float32)
    # ctypes would pass 2^31 as -2^31 and 2^64 + 5 as 5.
    with pytest.raises(SamoyedsValueError, match=r"n = '2147483648' is out of range "
                                                 r"\[-2147483648, 2147483647\]"):
        pack(dense, 1 << 31, 2, 64)
    with pytest.raises(SamoyedsValueError, match="experts = '18446744073709551621' is out of "
                                                 "range"):
        packed_sizes((1 << 64) + 5, 64, 128, 1, 2, 64)
    with pytest.raises(SamoyedsValueError, match="v must be an integer, got '64.5'"):
        packed_sizes(1, 64, 128, 1, 2, 64.5)
    with pytest.raises(SamoyedsValueError, match="m must be an integer, got 'True'"):
        packed_sizes(1, 64, 128, 1, True, 64)
    with pytest.raises(SamoyedsValueError, match="unknown weight layout 'WGMMA'"):
        pack(dense, 1, 2, 64, layout="WGMMA")
    with pytest.raises(SamoyedsValueError, match="unsupported weight dtype 'f32'"):
        pack(dense, 1, 2, 64, dtype="f32")
    p = _packed()
    bad = PackedWeight([300] * 8192, p.meta, p.row_idx, "bf16", 2, 64, 128, 1, 2, 64)
    with pytest.raises(SamoyedsValueError, match="component values: expected bytes"):
        unpack(bad)
    # A huge declared shape is refused by the runtime before any dense array exists.
    huge = PackedWeight(p.values, p.meta, p.row_idx, "bf16", 2, 1 << 40, 1 << 20, 1, 2, 64)
    with pytest.raises(SamoyedsError, match="too large|part 'values'"):
        unpack(huge)


@requires_runtime
def test_weight_file_read_refuses_bad_row_idx(tmp_path):
    from samoyeds.safetensors_io import SafetensorsWriter
    from samoyeds.weightfile import WeightFile, samoyeds_metadata, weight_entries

    p = _packed()
    p.row_idx = p.row_idx.copy()
    p.row_idx[70] = 2
    f = tmp_path / "w.safetensors"
    w = SafetensorsWriter(f, weight_entries("w", 2, 64, 128, 1, 2, 64),
                          samoyeds_metadata({"w": p.params}))
    for part, arr in p.components().items():
        w.write(f"w.{part}", arr.reshape(2, -1))
    w.close()
    with WeightFile(f) as wf:  # the header is fine
        with pytest.raises(SamoyedsError) as ei:
            wf.read("w")
    assert ei.value.status_name == "SY_ERR_WEIGHT_FILE"
    assert ei.value.message == (f"{f}: tensor 'w.row_idx': byte 70 (expert 1, span 0, kept row "
                                f"6) is 2, not below m = 2")


# ----------------------------------------------------------------------------- bundles

def _layer_bundle(tmp_path, edit=None, text=None):
    from test_layer_upload import layer_manifest  # E = 2 experts of H = LH

    d = tmp_path / "b"
    d.mkdir(exist_ok=True)
    (d / "k.ptx").write_text("// none\n")
    m = layer_manifest()
    if edit:
        edit(m)
    # "__INF__" stands for 1e400, which Python's json reads as inf but cannot write.
    text = text if text is not None else json.dumps(m).replace('"__INF__"', "1e400")
    (d / "manifest.json").write_text(text)
    return d


def _routing(**kw):
    return lambda m: m["routing"].update(kw)


@requires_runtime
@pytest.mark.parametrize("edit,text,status,want", [
    (None, "[" * 100000 + "]" * 100000, "SY_ERR_MANIFEST", "not valid JSON: nesting too deep"),
    (None, "[" * 300 + "]" * 300, "SY_ERR_MANIFEST", "nesting deeper than 256"),
    (None, '{"format": 1, "format": 2}', "SY_ERR_MANIFEST", "duplicate key 'format'"),
    (lambda m: m.update(routing=5), None, "SY_ERR_MANIFEST", "no top-level 'routing' object"),
    (_routing(top_k="__INF__"), None, "SY_ERR_MANIFEST",
     "routing.top_k = 'inf' is not an integer in [1, 2]"),
    (_routing(top_k=10 ** 30), None, "SY_ERR_MANIFEST", "is not an integer in [1, 2]"),
    (_routing(top_k="2"), None, "SY_ERR_MANIFEST", "routing.top_k = '2' is not an integer"),
    (_routing(top_k=2.0), None, "SY_ERR_MANIFEST", "routing.top_k = '2.0' is not an integer"),
    (_routing(experts=[2]), None, "SY_ERR_MANIFEST", "routing.experts = '[2]' but w13 has 2"),
    (_routing(renormalize="yes"), None, "SY_ERR_MANIFEST",
     "routing.renormalize = 'yes' is not a boolean"),
    (_routing(routed_scaling_factor={"a": 1}), None, "SY_ERR_MANIFEST",
     "routing.routed_scaling_factor = '{\\'a\\': 1}' is not a finite number"),
    # An int beyond float (OverflowError in float()).
    (_routing(routed_scaling_factor=10 ** 400), None, "SY_ERR_MANIFEST",
     "routing.routed_scaling_factor = '1000"),
])
def test_layer_bundle_manifest_errors(tmp_path, edit, text, status, want):
    from samoyeds.layer import LayerBundle

    d = _layer_bundle(tmp_path, edit, text)
    with pytest.raises(SamoyedsError) as ei:
        LayerBundle(d)
    assert ei.value.status_name == status
    assert want in ei.value.message, ei.value.message[:400]
    assert len(ei.value.message) < 600


@requires_runtime
def test_layer_bundle_refuses_a_fifo_and_bad_token_counts(tmp_path):
    from samoyeds.layer import LayerBundle

    d = _layer_bundle(tmp_path)
    with LayerBundle(d) as b:
        with pytest.raises(SamoyedsValueError, match=r"T = '18446744073709551621' is out of "
                                                     r"range \[0, 1073741823\]"):
            b.buffer_bytes("x", (1 << 64) + 5)  # ctypes would have passed 5
        with pytest.raises(SamoyedsValueError, match="T must be an integer, got '2.5'"):
            b.symbol_values(2.5)
        assert b.buffer_bytes("x", (1 << 30) - 1) == ((1 << 30) - 1) * LH * 2
    (d / "manifest.json").unlink()
    os.mkfifo(d / "manifest.json")
    done, err = _finishes(lambda: LayerBundle(d))
    assert done, "LayerBundle blocked on a FIFO manifest"
    assert isinstance(err, SamoyedsError) and err.status_name == "SY_ERR_IO"
    assert "cannot read the bundle manifest: not a regular file" in err.message


@requires_runtime
def test_memory_cli_errors(tmp_path, capsys):
    from samoyeds.memory import main, parse_bytes

    with pytest.raises(ValueError, match=r"not a byte count: '9{64}\.\.\.' \(403 bytes\) is "
                                         r"too large"):
        parse_bytes("9" * 400 + "GiB")  # int(inf) raised OverflowError
    assert main([str(tmp_path / "nope")]) == 1
    assert "error: SY_ERR_IO: " in capsys.readouterr().err
    d = _layer_bundle(tmp_path)
    assert main([str(d), "--tokens", str(1 << 64)]) == 1
    assert "T = '18446744073709551616' is out of range" in capsys.readouterr().err


# ----------------------------------------------------------------------------- converter

def _ckpt(tmp_path, **kw):
    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", layers=1, E=E, H=H, I=I, **kw)
    return src


def _leftovers(d: Path, name: str):
    return [p.name for p in d.iterdir() if p.name.startswith("." + name)]


@requires_runtime
def test_convert_refuses_bad_outputs(tmp_path):
    from samoyeds.convert import ConversionError, convert

    src = _ckpt(tmp_path)
    shard = src / "model.safetensors"
    before = shard.read_bytes()
    cases = [(tmp_path, f"{tmp_path}: the output is a directory"),
             (shard, f"{shard}: the output is the checkpoint's file {shard}; refusing to "
                     f"overwrite the source")]
    os.link(shard, tmp_path / "hard.safetensors")
    cases.append((tmp_path / "hard.safetensors", "refusing to overwrite the source"))
    os.symlink(shard, tmp_path / "soft.safetensors")
    cases.append((tmp_path / "soft.safetensors", "refusing to overwrite the source"))
    os.mkfifo(tmp_path / "fifo.safetensors")
    cases.append((tmp_path / "fifo.safetensors", "the output exists and is not a regular file"))
    for out, want in cases:
        with pytest.raises(ConversionError) as ei:
            convert(src, out, "olmoe", 1, 2, 32, progress=False, layout="mma_sp")
        assert want in ei.value.message, ei.value.message
        assert isinstance(ei.value, SamoyedsError) and isinstance(ei.value, ValueError)
    assert shard.read_bytes() == before
    assert _leftovers(tmp_path, "") == [] and _leftovers(src, "") == []


@requires_runtime
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)])
def test_convert_output_follows_the_umask(tmp_path, umask, mode):
    from samoyeds.convert import convert

    src = _ckpt(tmp_path)
    old = os.umask(umask)
    try:
        convert(src, tmp_path / "o.safetensors", "olmoe", 1, 2, 32, progress=False,
                layout="mma_sp")
    finally:
        os.umask(old)
    assert (tmp_path / "o.safetensors").stat().st_mode & 0o777 == mode  # was 0600


@requires_runtime
def test_convert_refuses_a_fifo_shard(tmp_path):
    from samoyeds.convert import ConversionError, convert

    src = _ckpt(tmp_path)
    os.mkfifo(src / "zz.safetensors")  # globbed with the real shard
    done, err = _finishes(lambda: convert(src, tmp_path / "o.safetensors", "olmoe", 1, 2, 32,
                                          progress=False, layout="mma_sp"))
    assert done, "convert blocked on a FIFO shard"
    assert isinstance(err, ConversionError)
    assert f"{src / 'zz.safetensors'}: cannot open: not a regular file" in err.message


@requires_runtime
@pytest.mark.parametrize("index,want", [
    ("[" * 100000 + "]" * 100000, "bad index file: nesting too deep"),
    ("[1, 2]", "bad index file: expected an object with a 'weight_map' object"),
    ('{"weight_map": 5}', "bad index file: expected an object with a 'weight_map' object"),
    ('{"weight_map": {"a": 5}}', "weight_map['a'] is '5', not a shard file name"),
    ('{"weight_map": {"a": 1e999}}', "weight_map['a'] is 'inf', not a shard file name"),
])
def test_convert_index_file_errors(tmp_path, index, want):
    from samoyeds.convert import ConversionError, convert

    src = _ckpt(tmp_path)
    (src / "model.safetensors.index.json").write_text(index)
    with pytest.raises(ConversionError) as ei:
        convert(src, tmp_path / "o.safetensors", "olmoe", 1, 2, 32, progress=False)
    assert want in ei.value.message, ei.value.message[:300]


@requires_runtime
def test_convert_argument_ranges(tmp_path):
    from samoyeds.convert import ConversionError, convert, parse_layers

    src = _ckpt(tmp_path)
    out = tmp_path / "o.safetensors"
    with pytest.raises(ConversionError, match=r"n = '2147483648' is out of range"):
        convert(src, out, "olmoe", 1 << 31, 2, 32, progress=False)
    with pytest.raises(ConversionError, match="v must be an integer, got '32.0'"):
        convert(src, out, "olmoe", 1, 2, 32.0, progress=False)
    with pytest.raises(ConversionError, match="--layers: more than 65536 layers"):
        parse_layers("0-99999999999")
    assert not out.exists()


def _cli(*args, code=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PY_DIR) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "samoyeds.convert"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True,
                          env=env, timeout=120)


@requires_runtime
def test_cli_refuses_ints_ctypes_would_wrap(tmp_path):
    src = _ckpt(tmp_path)
    r = _cli(src, tmp_path / "o.safetensors", "--model", "olmoe", "--n", 1 << 31)
    assert r.returncode == 2
    assert "argument --n: 2147483648 is out of range [1, 2147483647]" in r.stderr
    assert "-2147483648" not in r.stderr
    r = _cli(src, tmp_path / "o.safetensors", "--model", "olmoe", "--v", "3" * 5000)
    assert r.returncode == 2 and "argument --v: '333" in r.stderr and "is not an integer" in r.stderr
    r = _cli(src, tmp_path, "--model", "olmoe", "--v", 32, "--layout", "mma_sp")
    assert r.returncode == 1
    assert r.stderr == f"error: {tmp_path}: the output is a directory (give a file name, e.g. " \
                       f"{tmp_path / 'samoyeds.safetensors'})\n"


# Converts with a _convert_layer that sends the process SIGTERM once the temporary file is
# half written.
SIGTERM_SCRIPT = """
import os, signal, sys
import samoyeds.convert as conv
real = conv._convert_layer
def layer(*a, **k):
    n = real(*a, **k)
    os.kill(os.getpid(), signal.SIGTERM)
    return n
conv._convert_layer = layer
sys.exit(conv.main(sys.argv[1:]))
"""


@requires_runtime
def test_sigterm_removes_the_temporary(tmp_path):
    from samoyeds.convert import Terminated

    src = tmp_path / "ckpt"
    make_checkpoint(src, "olmoe", layers=2, E=E, H=H, I=I)
    out = tmp_path / "o.safetensors"
    r = _cli(src, out, "--model", "olmoe", "--v", 32, "--layout", "mma_sp", "--quiet",
             code=SIGTERM_SCRIPT)
    assert r.returncode == 128 + signal.SIGTERM, r.stderr
    assert r.stderr.endswith("error: terminated (SIGTERM); no output written\n"), r.stderr
    assert not out.exists() and _leftovers(tmp_path, "o.safetensors") == []
    assert issubclass(Terminated, KeyboardInterrupt)


@requires_runtime
def test_converter_mutation_fuzz_smoke():
    """fuzz/convert-mutate.py --smoke: 60 mutants of each checkpoint form (per-expert
    shards with an index, fused experts, block-scaled FP8, GraniteMoE's stacked experts,
    gpt-oss's MXFP4 release) convert or fail cleanly."""
    fuzz = PY_DIR.parent / "fuzz" / "convert-mutate.py"
    r = subprocess.run([sys.executable, str(fuzz), "--smoke", "--seed", "42"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("0 crashes") == 5, r.stdout
