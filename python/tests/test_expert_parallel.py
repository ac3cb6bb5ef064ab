"""Expert parallelism on the CPU (docs/ExpertParallel.md).

Without torch: the placement rules. With torch: 2, 3 and 4 processes (ep_worker.py, gloo
over a FileStore, 30 s collective timeouts, each launch bounded by LAUNCH_TIMEOUT) run the
sharded layer with the float64 CPU reference of the experts standing in for the kernels and
compare every rank's tokens with the unsharded reference: random routings, a rank that no
token reaches, every token on one rank's experts, T not divisible by the world size, T = 0
on some or all ranks, placement maps, routing inside the layer, bf16 activations, repeat
runs; then the bad inputs, each of which must raise the same SamoyedsError on every rank
(the group stays usable: a good run follows them), and a forward argument error that the
other ranks see at the group's timeout. With samoyeds-opt and the runtime library:
``samoyeds-compile --expert-parallel`` directories (contiguous and a placement map), their
per-rank bundles and weight slices, and a 2-process run on the unpacked slices.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import LIB_MISSING
from samoyeds._capi import SamoyedsError, SamoyedsValueError
from samoyeds.placement import Placement

try:
    import torch
except ImportError:  # pragma: no cover - CI without torch
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORKER = HERE / "ep_worker.py"
LAUNCH_TIMEOUT = 60
OPT = os.environ.get("SAMOYEDS_OPT") or str(ROOT / "build" / "bin" / "samoyeds-opt")
requires_compile = pytest.mark.skipif(
    torch is None or LIB_MISSING is not None or not Path(OPT).is_file(),
    reason=f"needs torch ({'found' if torch else 'absent'}), samoyeds-opt ({OPT}: "
           f"{'found' if Path(OPT).is_file() else 'absent'}) and the runtime library "
           f"({LIB_MISSING or 'found'})")


# --------------------------------------------------------------------------- placement


def test_contiguous_placement():
    p = Placement.contiguous(8, 4)
    assert p.ranks == ((0, 1), (2, 3), (4, 5), (6, 7))
    assert p.owner() == [0, 0, 1, 1, 2, 2, 3, 3] and p.local_index() == [0, 1] * 4
    assert p.is_contiguous() and "contiguous, 2 per rank" in p.describe()
    with pytest.raises(SamoyedsValueError, match=r"256 experts cannot be split contiguously "
                                                 r"over 3 ranks \(256 % 3 = 1\)"):
        Placement.contiguous(256, 3)
    for bad in (0, -1, True, 2.0):
        with pytest.raises(SamoyedsValueError, match="world size must be an integer"):
            Placement.contiguous(8, bad)


def test_placement_map():
    p = Placement.from_ranks([[7, 0, 3], [1, 2, 4, 5, 6]], 8)
    assert p.owner() == [0, 1, 1, 0, 1, 1, 1, 0]
    assert p.local_index()[7] == 0 and p.local_index()[3] == 2
    assert not p.is_contiguous() and "map, 3/5 per rank" in p.describe()
    assert Placement.from_json(json.loads(json.dumps(p.to_json()))) == p
    q = Placement.from_owner([0, 1, 1, 0, 1, 1, 1, 0], 2)
    assert q.ranks == ((0, 3, 7), (1, 2, 4, 5, 6))
    assert len({p.digest(), q.digest(), Placement.contiguous(8, 2).digest()}) == 3
    assert p.digest() == Placement.from_ranks([[7, 0, 3], [1, 2, 4, 5, 6]], 8).digest()


@pytest.mark.parametrize("ranks, match", [
    ([[0, 1, 2], [3, 4, 5, 6]], "experts on no rank: 7"),
    ([[0, 1, 2, 3], [3, 4, 5, 6, 7]], "placed more than once: expert 3 on ranks 0 and 1"),
    ([[0, 1, 2, 3, 4, 5, 6, 7], []], "rank 1 holds no experts"),
    ([[0, 1, 2, 3], [4, 5, 6, 8]], r"rank 1: expert '8' \(int\) is not an integer in \[0, 8\)"),
    ([[0, 1, 2, 3], [4, 5, 6, "7"]], r"expert '7' \(str\) is not an integer"),
    ([[0, 1, 2, 3], 4], "rank 1: expected a list of expert ids"),
    ("0123", "expected one list of experts per rank"),
])
def test_placement_map_errors(ranks, match):
    with pytest.raises(SamoyedsValueError, match=match):
        Placement.from_ranks(ranks, 8)


def test_owner_map_errors():
    with pytest.raises(SamoyedsValueError, match="expert 2 is on rank '2', out of range for "
                                                 "world size 2"):
        Placement.from_owner([0, 1, 2, 0], 2)
    with pytest.raises(SamoyedsValueError, match="rank 1 holds no experts"):
        Placement.from_owner([0, 0, 0, 0], 2)
    with pytest.raises(SamoyedsValueError, match="world_size '3' but 2 lists"):
        Placement.from_json({"experts": 4, "world_size": 3, "ranks": [[0, 1], [2, 3]]})


# --------------------------------------------------------------------------- processes


def launch(tmp_path, world, suite, args=None, timeout=LAUNCH_TIMEOUT):
    """Runs ``world`` ep_worker.py processes; returns each rank's results. Kills them all
    and fails (with their output) when they do not finish within ``timeout`` seconds."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT / "python"), str(HERE)]))
    env.setdefault("GLOO_SOCKET_IFNAME", "lo")  # loopback: no hostname lookup in containers
    outs = [tmp_path / f"{suite}-{world}-rank{r}.json" for r in range(world)]
    logs = [open(tmp_path / f"{suite}-{world}-rank{r}.log", "w+") for r in range(world)]
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(r), str(world),
                               str(tmp_path / f"store-{suite}-{world}"), str(outs[r]), suite]
                              + ([json.dumps(args)] if args else []),
                              env=env, stdout=logs[r], stderr=subprocess.STDOUT)
             for r in range(world)]
    try:
        for p in procs:
            p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    finally:
        hung = [r for r, p in enumerate(procs) if p.poll() is None]
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    text = []
    for r, f in enumerate(logs):
        f.seek(0)
        text.append(f"--- rank {r} (exit {procs[r].returncode}):\n{f.read()[-3000:]}")
        f.close()
    if hung or any(p.returncode for p in procs) or not all(o.is_file() for o in outs):
        pytest.fail(f"{suite} with {world} processes: "
                    f"{'ranks ' + str(hung) + ' hung; ' if hung else ''}\n" + "\n".join(text))
    return [json.loads(o.read_text()) for o in outs]


@pytest.fixture(scope="module", params=[2, 3, 4], ids=lambda w: f"world{w}")
def runs(request, tmp_path_factory):
    if torch is None:
        pytest.skip("torch is not installed")
    world = request.param
    return world, launch(tmp_path_factory.mktemp(f"ep{world}"), world, "main")


def _ok(results, name):
    for r, res in enumerate(results):
        got = res.get(name)
        assert got is not None, f"rank {r} did not reach {name}"
        assert "error" not in got, f"rank {r}: {name}: {got.get('error')}\n{got.get('trace')}"
    return [res[name] for res in results]


@requires_torch
@pytest.mark.parametrize("name", ["random", "empty_rank", "one_rank", "uneven", "t_zero",
                                  "all_zero", "placement_map", "owner_map", "routed",
                                  "random_again"])
def test_matches_unsharded_reference(runs, name):
    world, results = runs
    got = _ok(results, name)
    for r, g in enumerate(got):
        assert g["err"] < 1e-12, f"rank {r}: relative error {g['err']}"
    if name == "uneven":  # 11 tokens: not divisible by 2, 3 or 4
        assert sum(g["T"] for g in got) == 11 and len({g["T"] for g in got}) == 2
    if name == "t_zero":
        assert got[0]["T"] == 0 and got[0]["shape"] == [0, 16]
        assert all(g["T"] == 5 for g in got[1:])
    if name == "all_zero":
        assert all(g["T"] == 0 and g["shape"] == [0, 16] for g in got)
    if name == "routed":
        assert len(set().union(*(g["ids_used"] for g in got))) > 1


@requires_torch
def test_bf16_and_float32(runs):
    _, results = runs
    for r, g in enumerate(_ok(results, "float32_bf16")):
        assert g["float32"]["err"] < 1e-5 and g["float32"]["dtype"] == "torch.float32", r
        assert g["bfloat16"]["err"] < 2e-2 and g["bfloat16"]["dtype"] == "torch.bfloat16", r


@requires_torch
def test_deterministic_and_independent_of_placement(runs):
    _, results = runs
    for r, g in enumerate(_ok(results, "deterministic_and_placement_free")):
        assert g["repeat_equal"], f"rank {r}: two runs differ"
        assert g["placement_diff"] < 1e-12, f"rank {r}: {g['placement_diff']}"


BAD = {
    "bad_world_size": ("SY_ERR_INVALID_ARGUMENT", r"failed to set up their local experts: "
                       r"rank 0: placement: 11 experts cannot be split contiguously over \d "
                       r"ranks"),
    "missing_expert": ("SY_ERR_INVALID_ARGUMENT", "placement: experts on no rank: 11"),
    "duplicate_expert": ("SY_ERR_INVALID_ARGUMENT", "placement: experts placed more than "
                         "once: expert 0 on ranks 0 and LAST"),
    "rank_out_of_range": ("SY_ERR_INVALID_ARGUMENT", "expert 0 is on rank 'WORLD', out of "
                          "range for world size WORLD"),
    "placement_differs": ("SY_ERR_PARAM_MISMATCH", r"set up differently: placement differs "
                          r"\(rank 0: 12 experts over WORLD ranks \(contiguous.*rank LAST: "
                          r"12 experts over WORLD ranks \(map"),
    "format_differs": ("SY_ERR_PARAM_MISMATCH", r"format differs \(rank 0: 'reference "
                       r"float64 I=8'.*rank LAST: 'reference float32 I=8'\)"),
    "hidden_differs": ("SY_ERR_PARAM_MISMATCH", r"hidden differs \(rank 0: 16.*rank LAST: "
                       r"18\)"),
    "load_fails": ("SY_ERR_IO", r"rank LAST of WORLD failed to set up their local experts: "
                   r"rank LAST: OSError: cannot open weights.rankLAST.safetensors"),
    "wrong_local_count": ("SY_ERR_PARAM_MISMATCH", r"rank LAST of WORLD failed .* local "
                          r"experts hold \d+ experts"),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_raises_on_every_rank(runs, name):
    world, results = runs
    status, pattern = BAD[name]
    pattern = pattern.replace("LAST", str(world - 1)).replace("WORLD", str(world))
    got = _ok(results, name)
    for r, g in enumerate(got):
        assert g["raised"], f"rank {r}: {name} did not raise"
        assert g["status"] == status, f"rank {r}: {g['status']}: {g['message']}"
        assert re.search(pattern, g["message"]), f"rank {r}: {g['message']!r}"
        assert g["seconds"] < 10
    assert len({g["message"] for g in got}) == 1, "the ranks raised different errors"


@requires_torch
def test_forward_error_ends_at_the_timeout(runs):
    world, results = runs
    got = _ok(results, "forward_arg_error_times_out")
    assert got[-1]["raised"] == "SamoyedsError" and "hidden_states must be" in got[-1]["message"]
    for r, g in enumerate(got[:-1]):
        assert g["raised"] == "RuntimeError", f"rank {r}: {g}"
        assert 1.5 < g["seconds"] < 20, f"rank {r} failed after {g['seconds']:.1f} s"


@requires_torch
def test_handshake_encoding():
    from samoyeds.expert_parallel import FIELDS, MESSAGE_BYTES, _decode, _encode

    fp = [2 ** 62 + 5, 256, 7168, 8, 2, 12345]
    t = _encode(12, True, fp, "fmt\x1fplacement é")
    assert len(fp) == len(FIELDS) and _decode(t) == (True, 12, fp, "fmt\x1fplacement é")
    ok, status, got, msg = _decode(_encode(3, False, [], "x" * (MESSAGE_BYTES + 50)))
    assert (ok, status, got, len(msg)) == (False, 3, [0] * len(FIELDS), MESSAGE_BYTES)


# --------------------------------------------------------------------------- compile


@pytest.fixture(scope="module")
def ep_dirs(tmp_path_factory):
    """A DeepSeek-V3 checkpoint (4 experts, k 2) compiled with --expert-parallel 2, once
    contiguous and once with the placement map [[3], [0, 1, 2]]."""
    from helpers import make_hf_checkpoint

    from samoyeds.compile import main

    d = tmp_path_factory.mktemp("epc")
    _, t = make_hf_checkpoint(d / "ckpt", "deepseek_v3", layers=1, E=4, H=128, I=128, k=2)
    (d / "map.json").write_text(json.dumps([[3], [0, 1, 2]]))
    base = [str(d / "ckpt"), "--samoyeds-opt", OPT, "--quiet", "--layout", "mma_sp"]
    assert main([base[0], str(d / "contig"), "--expert-parallel", "2"] + base[1:]) == 0
    assert main([base[0], str(d / "map"), "--expert-parallel", "2", "--placement",
                 str(d / "map.json")] + base[1:]) == 0
    return d, t


@requires_compile
@pytest.mark.parametrize("kind, ranks", [("contig", [[0, 1], [2, 3]]),
                                         ("map", [[3], [0, 1, 2]])])
def test_compile_expert_parallel(ep_dirs, kind, ranks):
    from helpers import stacked

    from samoyeds.ep_experts import CompiledExperts
    from samoyeds.ep_model import read_ep_model
    from samoyeds.layer import LayerBundle
    from samoyeds.pack import pack, unpack
    from samoyeds.serving import read_model
    from samoyeds.weightfile import WeightFile

    d, t = ep_dirs
    md = read_ep_model(d / kind)
    assert md.placement.ranks == tuple(tuple(r) for r in ranks)
    assert md.manifest["format"] == "samoyeds-ep-model" and md.routing.top_k == 2
    assert not (d / kind / "weights.safetensors").exists()
    assert not (d / kind / "weights.full.safetensors").exists()
    entry = md.layer(1)
    dense = stacked(t, "deepseek_v3", 1, 4)
    for r, experts in enumerate(ranks):
        b = LayerBundle(md.bundle_dir(entry, r))
        try:
            CompiledExperts.check_bundle(b)
            assert (b.kind, b.experts, b.top_k, b.hidden) == ("moe_experts", len(experts), 1,
                                                              128)
            b.check_weights(md.weights(r), entry["prefix"])
        finally:
            b.close()
        wf = WeightFile(md.weights(r))
        try:
            names = wf.names()
            assert wf.metadata("model") == "deepseek_v3"
            for name, full in zip(("w13", "w2"), dense):
                got = unpack(wf.read(entry["prefix"] + name))
                want = unpack(pack(full[experts], 1, 2, 128))
                assert np.array_equal(got, want), f"rank {r} {name}"
        finally:
            wf.close()
        tensors, meta = _tensors(md.weights(r))
        assert meta["expert_parallel"] == {"rank": r, "world_size": 2, "experts": experts}
        assert {"layers.1.router", "model.layers.1.mlp.gate.e_score_correction_bias",
                "model.layers.1.mlp.shared_experts.up_proj.weight"} <= set(tensors)
        assert sorted(names) == ["layers.1.w13", "layers.1.w2"]
    with pytest.raises(SamoyedsError, match="format is not 'samoyeds-model'"):
        read_model(d / kind)  # samoyeds.load refuses it


def _tensors(path):
    """(tensor names, the samoyeds description) of a weight file."""
    from samoyeds.safetensors_io import SafetensorsFile

    f = SafetensorsFile(path)
    try:
        return f.keys(), json.loads(f.metadata["samoyeds"])
    finally:
        f.close()


@requires_compile
def test_read_ep_model_errors(ep_dirs, tmp_path):
    import shutil

    from samoyeds.compile import CompileError, compile_model
    from samoyeds.ep_model import read_ep_model

    d, _ = ep_dirs
    with pytest.raises(SamoyedsError, match="cannot read"):
        read_ep_model(tmp_path / "nope")
    bad = tmp_path / "bad"
    shutil.copytree(d / "map", bad)
    (bad / "weights.rank1.safetensors").unlink()
    with pytest.raises(SamoyedsError, match="weight file weights.rank1.safetensors is missing"):
        read_ep_model(bad)
    m = json.loads((bad / "samoyeds-model.json").read_text())
    m["expert_parallel"]["placement"]["ranks"] = [[3], [0, 1]]
    (bad / "samoyeds-model.json").write_text(json.dumps(m))
    with pytest.raises(SamoyedsError, match="malformed manifest: placement: experts on no "
                                            "rank: 2"):
        read_ep_model(bad)
    for kw, match in ((dict(expert_parallel=3), "4 experts cannot be split contiguously "
                                               "over 3 ranks"),
                      (dict(expert_parallel=2, placement=[[0, 1], [1, 2, 3]]),
                       "placed more than once: expert 1"),
                      (dict(expert_parallel=3, placement=[[0, 1], [2, 3]]),
                       "places 4 experts over 2 ranks; the model has 4 experts, "
                       "--expert-parallel 3")):
        with pytest.raises(CompileError, match=match):
            compile_model(d / "ckpt", tmp_path / "never", samoyeds_opt=OPT, progress=False,
                          log=open(os.devnull, "w"), **kw)
        assert not (tmp_path / "never").exists()


@requires_compile
def test_runs_the_compiled_slices(ep_dirs, tmp_path):
    d, _ = ep_dirs
    results = launch(tmp_path, 2, "s_model_dir", {"dirs": [str(d / "contig"),
                                                           str(d / "map")]})
    for r, res in enumerate(results):
        got = res["model_dir"]
        assert "error" not in got, got
        for kind in ("contig", "map"):
            assert got[kind]["err"] < 1e-12 and got[kind]["T"] == 6 + r, (r, kind, got[kind])
        bad = got["bad_layer"]
        assert bad["raised"] and bad["status"] == "SY_ERR_NOT_FOUND", bad
        assert re.search(r"ranks 0, 1 of 2 failed to read .*contig: rank 0: .*no compiled "
                         r"layer 7 \(compiled: \[1\]\)", bad["message"]), bad["message"]
        if "no_gpu" in got:
            assert got["no_gpu"]["status"] == "SY_ERR_NO_DEVICE", got["no_gpu"]
            assert "ranks 0, 1 of 2 failed to set up their local experts" in \
                got["no_gpu"]["message"]
