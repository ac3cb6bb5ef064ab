import json
import struct

import numpy as np
import pytest

from samoyeds.safetensors_io import SafetensorsError, SafetensorsFile, SafetensorsWriter, save_file

safetensors_np = pytest.importorskip("safetensors.numpy", reason="safetensors is not installed")


def test_reads_files_written_by_safetensors(tmp_path):
    rng = np.random.default_rng(0)
    t = {"a": rng.standard_normal((3, 5)).astype(np.float32),
         "b": rng.standard_normal((7,)).astype(np.float16),
         "c": np.arange(12, dtype=np.int32).reshape(3, 4),
         "d": np.arange(5, dtype=np.uint8)}
    f = tmp_path / "x.safetensors"
    safetensors_np.save_file(t, str(f), metadata={"k": "v"})
    with SafetensorsFile(f) as st:
        assert sorted(st.keys()) == sorted(t)
        assert st.metadata == {"k": "v"}
        for k, a in t.items():
            assert np.array_equal(st.get(k), a)
            assert st.get(k).dtype == a.dtype


def test_writes_files_safetensors_reads(tmp_path):
    from safetensors import safe_open

    t = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "y": np.arange(5, dtype=np.uint8),
         "z": ("BF16", np.array([0x3F80, 0x4000], np.uint16))}
    f = tmp_path / "y.safetensors"
    save_file(t, f, metadata={"samoyeds": "{}"})
    with safe_open(str(f), framework="numpy") as sf:
        assert set(sf.keys()) == {"x", "y", "z"}
        assert sf.metadata() == {"samoyeds": "{}"}
        assert np.array_equal(sf.get_tensor("x"), t["x"])
        assert np.array_equal(sf.get_tensor("y"), t["y"])
    with SafetensorsFile(f) as st:
        assert st.info("z").dtype == "BF16"
        assert list(st.get("z")) == [0x3F80, 0x4000]


def test_writer_checks_order_and_sizes(tmp_path):
    w = SafetensorsWriter(tmp_path / "w.safetensors", [("a", "U8", (4,)), ("b", "F32", (2,))])
    with pytest.raises(ValueError, match="expected tensor 'a' next"):
        w.write("b", np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="has 3 bytes"):
        w.write("a", np.zeros(3, np.uint8))
    w.write("a", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="closed before tensor 'b'"):
        w.close()


def _good(tmp_path):
    f = tmp_path / "g.safetensors"
    save_file({"t0": np.zeros((4, 4), np.float32), "t1": np.ones(8, np.float32)}, f)
    return f, f.read_bytes()


def test_truncated_names_file_and_tensor(tmp_path):
    f, raw = _good(tmp_path)
    f.write_bytes(raw[:-5])
    with pytest.raises(SafetensorsError, match=r"g\.safetensors: tensor 't1'.*truncated file"):
        SafetensorsFile(f)
    f.write_bytes(raw[:5])
    with pytest.raises(SafetensorsError, match="less than the 8-byte header length"):
        SafetensorsFile(f)
    f.write_bytes(raw[:40])
    with pytest.raises(SafetensorsError, match="header length .* beyond the end of the file"):
        SafetensorsFile(f)


def test_bad_json_and_inconsistent_entries(tmp_path):
    f = tmp_path / "b.safetensors"
    h = b'{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]'
    f.write_bytes(struct.pack("<Q", len(h)) + h + bytes(8))
    with pytest.raises(SafetensorsError, match="bad JSON header"):
        SafetensorsFile(f)
    h = json.dumps({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}).encode()
    f.write_bytes(struct.pack("<Q", len(h)) + h + bytes(8))
    with pytest.raises(SafetensorsError, match="tensor 't': shape .* needs 12 bytes"):
        SafetensorsFile(f)
    h = json.dumps({"t": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}}).encode()
    f.write_bytes(struct.pack("<Q", len(h)) + h + bytes(8))
    with pytest.raises(SafetensorsError, match="unknown dtype 'Q7'"):
        SafetensorsFile(f)
    with pytest.raises(SafetensorsError, match="cannot open"):
        SafetensorsFile(tmp_path / "missing.safetensors")


def test_writer_parts_interleave_and_are_checked(tmp_path):
    """Tensors written in parts, interleaved, give the file that whole writes give; a part
    past the tensor's size, a whole write after parts and an unfinished tensor are errors."""
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.arange(6, dtype=np.uint16).reshape(2, 3)
    c = np.arange(5, dtype=np.uint8)
    entries = [("a", "F32", (3, 4)), ("b", "U16", (2, 3)), ("c", "U8", (5,))]
    whole = SafetensorsWriter(tmp_path / "whole.safetensors", entries, {"k": "v"})
    for name, arr in (("a", a), ("b", b), ("c", c)):
        whole.write(name, arr)
    whole.close()
    parts = SafetensorsWriter(tmp_path / "parts.safetensors", entries, {"k": "v"})
    parts.write_part("b", b[:1])
    parts.write_part("a", a[:2])
    parts.write_part("b", b[1:])
    parts.write("c", c)  # a whole write of the first tensor not written in parts
    parts.write_part("a", a[2:])
    with pytest.raises(ValueError, match="'a': a part of 16 bytes after 48 passes its 48"):
        parts.write_part("a", a[:1])
    with pytest.raises(ValueError, match="'c' was written whole already"):
        parts.write_part("c", c[:0])
    with pytest.raises(ValueError, match="'z' was not declared"):
        parts.write_part("z", c)
    parts.close()
    assert (tmp_path / "parts.safetensors").read_bytes() == \
        (tmp_path / "whole.safetensors").read_bytes()
    unfinished = SafetensorsWriter(tmp_path / "u.safetensors", entries)
    unfinished.write_part("a", a[:1])
    with pytest.raises(ValueError, match=r"closed before tensor 'a' was written \(16 of its 48"):
        unfinished.close()
