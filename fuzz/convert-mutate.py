#!/usr/bin/env python3
"""Mutation fuzzer of the checkpoint converter (python -m samoyeds.convert).

Takes five small checkpoints of the forms the converter reads (per-expert BF16
shards with a model.safetensors.index.json, transformers 5's fused experts,
block-scaled FP8 with a config.json, GraniteMoE's stacked experts, and gpt-oss's
MXFP4 release with its biases and config.json), mutates
them (byte flips in safetensors headers and data, truncations, edits of the
index and config JSON) and converts each mutant. The oracle (docs/Robustness.md): the conversion either succeeds,
and the packed weights unpack to finite values (gpt-oss's plain bias tensors are finite
too), or raises a SamoyedsError (the
converter's ConversionError, the reader's SafetensorsError) and leaves no output
and no temporary file. Any other exception is a crash: the mutant is saved
under --crash-dir with the traceback.

    python3 fuzz/convert-mutate.py --smoke                 # CI: 60 mutants a form
    python3 fuzz/convert-mutate.py --iterations 3000 --seed 1 --crash-dir fuzz-crashes

Needs the samoyeds package (PYTHONPATH=python) and its runtime library
($SAMOYEDS_RUNTIME_LIB) for packing. Exit status 1 when a crash was found.
"""

import argparse
import json
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "python"), str(ROOT / "python" / "tests")]

from helpers import fuse_experts, make_checkpoint  # noqa: E402
from samoyeds import SamoyedsError  # noqa: E402
from samoyeds.convert import convert  # noqa: E402
from samoyeds.pack import to_float32, unpack  # noqa: E402
from samoyeds.safetensors_io import SafetensorsFile, save_file  # noqa: E402
from samoyeds.weightfile import WeightFile  # noqa: E402
from test_fp8 import make_fp8_checkpoint  # noqa: E402
from test_mxfp4 import make_mxfp4_gpt_oss  # noqa: E402

E, H, I = 4, 64, 32


def make_forms(root: Path) -> dict:
    """{form: (checkpoint dir, model)} of the five seed checkpoints."""
    sharded = root / "sharded"
    make_checkpoint(sharded, "qwen2_moe", layers=2, E=E, H=H, I=I, shards=2)
    fused = root / "fused"
    t = make_checkpoint(root / "plain", "deepseek_v3", layers=2, E=E, H=H, I=I)
    fused.mkdir()
    save_file(fuse_experts(t, "deepseek_v3", E), fused / "model.safetensors")
    fp8 = root / "fp8"
    make_fp8_checkpoint(fp8)
    stacked = root / "stacked"
    make_checkpoint(stacked, "granitemoehybrid", layers=2, E=E, H=H, I=I)
    mxfp4 = root / "mxfp4"
    make_mxfp4_gpt_oss(mxfp4, layers=2, E=E, H=H, I=I)
    return {"sharded": (sharded, "qwen2_moe"), "fused": (fused, "deepseek_v3"),
            "fp8": (fp8, "deepseek_v3"), "stacked": (stacked, "granitemoehybrid"),
            "mxfp4": (mxfp4, "gpt_oss")}


def _flip(raw: bytearray, rng, lo: int, hi: int) -> None:
    for _ in range(int(rng.integers(1, 6))):
        raw[int(rng.integers(lo, hi))] = int(rng.integers(0, 256))


def _edit_json(value, rng):
    """A random edit of a JSON document's values (numbers, strings, lists)."""
    if isinstance(value, dict) and value:
        k = list(value)[int(rng.integers(len(value)))]
        choice = int(rng.integers(4))
        if choice == 0:
            del value[k]
        elif choice == 1:
            value[k] = [None, -1, 2**63, "x", [], {}, 1.5, True][int(rng.integers(8))]
        else:
            value[k] = _edit_json(value[k], rng)
    elif isinstance(value, list) and value:
        i = int(rng.integers(len(value)))
        value[i] = _edit_json(value[i], rng)
    elif isinstance(value, bool):
        return not value
    elif isinstance(value, int):
        return [0, -1, value + 1, 2**31, 2**64, 65537][int(rng.integers(6))]
    elif isinstance(value, str):
        return ["", value + "x", "model-00009-of-00002.safetensors", "../x", value[::-1]][
            int(rng.integers(5))]
    return value


def mutate(src: Path, dst: Path, rng) -> str:
    """Copies checkpoint ``src`` to ``dst`` with one mutation; returns what it did."""
    shutil.copytree(src, dst)
    files = sorted(dst.iterdir())
    f = files[int(rng.integers(len(files)))]
    if f.suffix == ".json":
        doc = json.loads(f.read_text())
        f.write_text(json.dumps(_edit_json(doc, rng)))
        return f"edit {f.name}"
    raw = bytearray(f.read_bytes())
    header = int.from_bytes(raw[:8], "little") + 8
    kind = int(rng.integers(5))
    if kind == 0:
        cut = int(rng.integers(0, len(raw)))
        f.write_bytes(bytes(raw[:cut]))
        return f"truncate {f.name} to {cut}"
    lo, hi = (8, header) if kind < 3 else (header, len(raw))
    _flip(raw, rng, lo, max(hi, lo + 1))
    f.write_bytes(bytes(raw))
    return f"flip {'header' if kind < 3 else 'data'} of {f.name}"


def check_output(out: Path) -> None:
    with WeightFile(out) as wf:
        for name in wf.names():
            vals = to_float32(unpack(wf.read(name)), "bf16")
            if not np.isfinite(vals).all():
                raise AssertionError(f"{out}: {name} has a value that is not finite")
    with SafetensorsFile(out) as st:
        for name in st.keys():
            if name.endswith("_bias") and st.info(name).dtype == "BF16":
                if not np.isfinite(to_float32(np.asarray(st.get(name)), "bf16")).all():
                    raise AssertionError(f"{out}: {name} has a value that is not finite")


def run_one(src: Path, model: str, work: Path, rng) -> tuple:
    """(outcome, what): outcome "ok", "error" or "crash: ..."."""
    ckpt = work / "ckpt"
    what = mutate(src, ckpt, rng)
    out = work / "out" / "packed.safetensors"
    try:
        convert(ckpt, out, model, 1, 2, 32, progress=False, layout="mma_sp", workers=2)
        check_output(out)
        outcome = "ok"
    except SamoyedsError:
        outcome = "error"
        if out.exists():
            outcome = "crash: an error left the output"
    except Exception:  # noqa: BLE001 (the oracle: anything else is a crash)
        outcome = "crash: " + traceback.format_exc()
    if out.parent.exists() and any(p.name.startswith(".") for p in out.parent.iterdir()):
        outcome = "crash: a temporary file was left"
    return outcome, what


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=300, help="mutants per form")
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--smoke", action="store_true", help="60 mutants per form (CI)")
    ap.add_argument("--crash-dir", default=None, help="where crashing mutants are saved")
    a = ap.parse_args(argv)
    iterations = 60 if a.smoke else a.iterations
    rng = np.random.default_rng(a.seed)
    crashes = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        forms = make_forms(tmp / "seeds")
        for form, (src, model) in forms.items():
            counts = {"ok": 0, "error": 0, "crash": 0}
            for i in range(iterations):
                work = tmp / "work"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir()
                outcome, what = run_one(src, model, work, rng)
                key = outcome.split(":")[0]
                counts[key] += 1
                if key == "crash":
                    crashes += 1
                    print(f"CRASH {form} #{i} ({what}):\n{outcome}", file=sys.stderr)
                    if a.crash_dir:
                        dst = Path(a.crash_dir) / f"convert-{form}-{a.seed}-{i}"
                        shutil.copytree(work / "ckpt", dst)
                        (dst / "CRASH.txt").write_text(f"{what}\n{outcome}\n")
            print(f"{form}: {iterations} mutants: {counts['ok']} converted, "
                  f"{counts['error']} refused, {counts['crash']} crashes")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
