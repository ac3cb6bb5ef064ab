"""The compiled models of test_serving.py's GPU tests, made ahead of time for a GPU machine
without samoyeds-opt.

Here (samoyeds-opt and the runtime library built; test/GPU/gen-serving-dirs.sh runs it):

    PYTHONPATH=python python3 python/tests/serving_cases.py OUT_DIR [--samoyeds-opt PATH]
        [--cases CASE,...]

writes, for every case (one per architecture, and the ``<arch>.compiled`` cases of
``samoyeds-compile --routing compiled``), OUT_DIR/<case>/ckpt (the generated checkpoint,
helpers.make_hf_checkpoint) and OUT_DIR/<case>/model (samoyeds-compile of it for sm_90a), and
OUT_DIR/index.json: each case's parameters and the sha256 of every file of both directories.
OUT_DIR is built beside itself and renamed at the end.

On the GPU machine ``SAMOYEDS_PRECOMPILED=OUT_DIR`` makes :func:`model_dir` return these
instead of compiling, after checking them: the case's parameters against the index, every
file against its recorded sha256 (none missing, none added), and that the packed experts are
the pruning of the checkpoint's experts (helpers.prune_reference) and the routers its routers.
The tests then compare against the tensors read from that same checkpoint. Any difference
raises :class:`PrecompiledMismatch` naming it: a test never compares different weights.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import hf_config, make_hf_checkpoint, prune_reference, stacked  # noqa: E402

ENV = "SAMOYEDS_PRECOMPILED"
INDEX = "index.json"
FORMAT = "samoyeds-serving-cases"
ARCHS = ("mixtral", "qwen2_moe", "qwen3_moe", "qwen3_next", "olmoe", "deepseek_v2",
         "deepseek_v3", "glm4_moe", "kimi_k2", "granitemoe", "granitemoeshared",
         "granitemoehybrid", "minimax_m2", "ernie4_5_moe", "gpt_oss")
# Small but legal for every layout: kept rows % 64 and K % 128 with 1:2:128. One seed per
# case: no two cases share weights.
CASES = {a: dict(arch=a, layers=2, E=4, H=128, I=128, k=2, seed=s, chip="sm_90a",
                 format="1:2:128") for s, a in enumerate(ARCHS)}
# The routing compiled into whole layers (samoyeds-compile --routing compiled; the manifest's
# routing_mode): Mixtral's (renormalised), Qwen2-MoE's (not renormalised; a gated shared
# expert), greedy DeepSeek-V2's (x routed_scaling_factor 2; shared experts) and gpt-oss's
# (router bias), each with config.json overrides ("config") and a seed of its own.
COMPILED_ROUTING = {"mixtral": {}, "qwen2_moe": {}, "deepseek_v2": {"topk_method": "greedy"},
                    "gpt_oss": {}}
CASES.update({f"{a}.compiled": dict(CASES[a], seed=s, routing="compiled",
                                    **({"config": config} if config else {}))
              for s, (a, config) in enumerate(COMPILED_ROUTING.items(), len(ARCHS))})
COMPILED = tuple(f"{a}.compiled" for a in COMPILED_ROUTING)


class PrecompiledMismatch(AssertionError):
    """A precompiled case is not what the tests expect (names the difference)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> dict:
    return {str(p.relative_to(root)): _sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _config(c: dict) -> dict:
    """The case's config.json: helpers.hf_config with the case's overrides."""
    return {**hf_config(c["arch"], c["layers"], c["E"], c["H"], c["I"], c["k"]),
            **c.get("config", {})}


def _make_ckpt(ckpt: Path, c: dict) -> dict:
    _, t = make_hf_checkpoint(ckpt, c["arch"], layers=c["layers"], E=c["E"], H=c["H"],
                              I=c["I"], k=c["k"], seed=c["seed"], config=c.get("config"))
    return t


def _compile(ckpt: Path, out: Path, c: dict, opt) -> None:
    from samoyeds.compile import compile_model

    with open(os.devnull, "w") as quiet:
        compile_model(ckpt, out, fmt=c["format"], chip=c["chip"], samoyeds_opt=opt,
                      progress=False, log=quiet, routing=c.get("routing", "torch"))


def generate(out_dir, opt=None, commit: str = "unknown", names=None) -> dict:
    """Generates and compiles every case (or those ``names``) into ``out_dir`` (replaced
    only if it holds an index of this kind); returns the index."""
    unknown = sorted(set(names or ()) - set(CASES))
    if unknown:
        raise SystemExit(f"no case {', '.join(unknown)} (cases: {', '.join(CASES)})")
    out = Path(out_dir)
    if out.exists() and not (out / INDEX).is_file() and any(out.iterdir()):
        raise SystemExit(f"{out} exists and is not a precompiled serving directory (no "
                         f"{INDEX}); refusing to overwrite it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=str(out.parent)))
    try:
        cases = {}
        for name, c in CASES.items():
            if names and name not in names:
                continue
            _make_ckpt(tmp / name / "ckpt", c)
            _compile(tmp / name / "ckpt", tmp / name / "model", c, opt)
            cases[name] = {"params": c, "files": _files(tmp / name)}
            print(f"{name}: {len(cases[name]['files'])} files", flush=True)
        index = {"format": FORMAT, "version": 1, "commit": commit,
                 "created": time.strftime("%Y-%m-%d %H:%M:%S"), "cases": cases}
        (tmp / INDEX).write_text(json.dumps(index, indent=1) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return index


def precompiled_root():
    """$SAMOYEDS_PRECOMPILED as a Path, or None when unset."""
    env = os.environ.get(ENV)
    return Path(env) if env else None


def _read_tensors(path: Path) -> dict:
    """{name: (safetensors dtype, array)} of a checkpoint file, as make_checkpoint returns."""
    from samoyeds.safetensors_io import SafetensorsFile

    with SafetensorsFile(path) as f:
        return {n: (f.info(n).dtype, np.array(f.get(n))) for n in f.keys()}


def _check_binding(case_dir: Path, c: dict, t: dict) -> None:
    """The packed experts of the model are the pruning of the checkpoint's experts, and the
    copied routers are the checkpoint's routers (the model was compiled from this ckpt);
    gpt-oss's biases (experts', router's) are the checkpoint's too."""
    from helpers import DEEPSEEK, GPT_OSS, gpt_oss_biases, router_name
    from samoyeds.pack import unpack
    from samoyeds.safetensors_io import SafetensorsFile
    from samoyeds.weightfile import WeightFile

    n, m, v = (int(x) for x in c["format"].split(":"))
    first = 1 if c["arch"] in DEEPSEEK else 0
    weights = case_dir / "model" / "weights.safetensors"
    wf = WeightFile(weights)
    try:
        for i in range(first, first + c["layers"]):
            w13, w2 = stacked(t, c["arch"], i, c["E"])
            for name, dense in (("w13", w13), ("w2", w2)):
                got = unpack(wf.read(f"layers.{i}.{name}"))
                if not np.array_equal(got, prune_reference(dense, "bf16", n, m, v)):
                    raise PrecompiledMismatch(f"{weights}: layers.{i}.{name} is not the pruning "
                                              f"of {case_dir / 'ckpt'}'s layer {i} experts")
    finally:
        wf.close()
    with SafetensorsFile(weights) as f:
        for i in range(first, first + c["layers"]):
            want = t[router_name(c["arch"], i)][1]
            if not np.array_equal(np.asarray(f.get(f"layers.{i}.router")), want):
                raise PrecompiledMismatch(f"{weights}: layers.{i}.router is not the router of "
                                          f"{case_dir / 'ckpt'}")
            if c["arch"] in GPT_OSS:
                want = dict(zip(("w13_bias", "w2_bias"), gpt_oss_biases(t, i)),
                            router_bias=t[f"model.layers.{i}.mlp.router.bias"][1])
                for name, w in want.items():
                    if not np.array_equal(np.asarray(f.get(f"layers.{i}.{name}")), w):
                        raise PrecompiledMismatch(f"{weights}: layers.{i}.{name} is not the "
                                                  f"bias of {case_dir / 'ckpt'}'s layer {i}")


def load_case(root, case: str):
    """(model dir, checkpoint tensors) of the precompiled case ``case`` (an architecture,
    or ``<arch>.compiled``) under ``root``, checked as the module docstring says."""
    root = Path(root)
    try:
        index = json.loads((root / INDEX).read_text())
    except (OSError, ValueError) as e:
        raise PrecompiledMismatch(f"{ENV}={root}: cannot read {INDEX} ({e}); make it with "
                                  f"test/GPU/gen-serving-dirs.sh")
    if index.get("format") != FORMAT or index.get("version") != 1:
        raise PrecompiledMismatch(f"{root / INDEX}: not a {FORMAT} index (version 1)")
    entry = index.get("cases", {}).get(case)
    if entry is None:
        raise PrecompiledMismatch(f"{root / INDEX}: no case {case!r} (has "
                                  f"{sorted(index.get('cases', {}))}); regenerate it with "
                                  f"test/GPU/gen-serving-dirs.sh")
    if entry.get("params") != CASES[case]:
        raise PrecompiledMismatch(f"{root / INDEX}: case {case} was made with "
                                  f"{entry.get('params')}, the tests need {CASES[case]}; "
                                  f"regenerate it")
    case_dir = root / case
    have = _files(case_dir) if case_dir.is_dir() else {}
    want = entry.get("files", {})
    for rel in sorted(set(want) | set(have)):
        if rel not in have:
            raise PrecompiledMismatch(f"{case_dir / rel}: missing (recorded in {INDEX})")
        if rel not in want:
            raise PrecompiledMismatch(f"{case_dir / rel}: not recorded in {INDEX}")
        if have[rel] != want[rel]:
            raise PrecompiledMismatch(f"{case_dir / rel}: sha256 {have[rel][:16]}..., "
                                      f"{INDEX} recorded {want[rel][:16]}...")
    c = CASES[case]
    config = json.loads((case_dir / "ckpt" / "config.json").read_text())
    if config != _config(c):
        raise PrecompiledMismatch(f"{case_dir / 'ckpt' / 'config.json'} differs from "
                                  f"helpers.hf_config of the case")
    manifest = json.loads((case_dir / "model" / "samoyeds-model.json").read_text())
    mode = manifest.get("routing_mode", "torch")
    if mode != c.get("routing", "torch"):
        raise PrecompiledMismatch(f"{case_dir / 'model'} was compiled with --routing {mode}, "
                                  f"the case needs {c.get('routing', 'torch')}")
    t = _read_tensors(case_dir / "ckpt" / "model.safetensors")
    _check_binding(case_dir, c, t)
    return case_dir / "model", t


def model_dir(tmp_path, case: str, opt):
    """(compiled model dir, checkpoint tensors) of the case ``case``: the precompiled one
    when $SAMOYEDS_PRECOMPILED is set (checked), else generated and compiled under
    ``tmp_path`` with ``opt``."""
    root = precompiled_root()
    if root is not None:
        return load_case(root, case)
    c = CASES[case]
    t = _make_ckpt(Path(tmp_path) / "ckpt", c)
    _compile(Path(tmp_path) / "ckpt", Path(tmp_path) / "model", c, opt)
    return Path(tmp_path) / "model", t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Generate and compile test_serving.py's "
                                             "checkpoints for a GPU machine without MLIR.")
    ap.add_argument("out_dir")
    ap.add_argument("--samoyeds-opt", help="default: $SAMOYEDS_OPT, PATH, build/bin")
    ap.add_argument("--commit", default="unknown", help="recorded in index.json")
    ap.add_argument("--cases", help="comma-separated cases (default: all; e.g. the compiled "
                                    f"routing ones, {','.join(COMPILED)})")
    a = ap.parse_args(argv)
    index = generate(a.out_dir, a.samoyeds_opt, a.commit,
                     a.cases.split(",") if a.cases else None)
    size = sum(p.stat().st_size for p in Path(a.out_dir).rglob("*") if p.is_file())
    print(f"{len(index['cases'])} cases in {a.out_dir} ({size / 2**20:.1f} MiB); on the GPU "
          f"machine: {ENV}={a.out_dir} (test/GPU/run-serving-tests.sh)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
