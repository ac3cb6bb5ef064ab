"""CPU tests of bench/pending.sh: its steps name only the variants it prepares,
in their formats, and the models the benchmarks know; its usage errors."""
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "bench", "pending.sh")


def layer_models(layer_set=None):
    """The model names of the layer bundles of test/GPU/gen-layer-bundles.sh: its anchor
    table (the one after `else`), or that of SAMOYEDS_LAYER_SET ``layer_set``."""
    text = open(os.path.join(ROOT, "test", "GPU", "gen-layer-bundles.sh")).read()
    start = (f'"${{SAMOYEDS_LAYER_SET:-}}" == {layer_set} ]]; then cat <<\'TABLE\''
             if layer_set else "else cat <<'TABLE'")
    table = text.split(start, 1)[1].split("TABLE", 1)[0]
    return {line.split()[0] for line in table.splitlines()
            if line.strip() and not line.startswith("#")}


MODELS = layer_models()
STEPS = [str(i) for i in range(1, 8)]
MORE = layer_models("more")  # bench/pending.sh's "more" bundles
GPTOSS = layer_models("gptoss")  # and its gpt-oss one (v = 64)


def run(*args, env=None):
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def variants():
    """NAME -> FORMAT from the script's variants table."""
    text = open(SCRIPT).read()
    table = re.search(r"^variants=\((.*?)^\)", text, re.S | re.M).group(1)
    return dict(re.findall(r'"(\w+) (\d\d+v\d+) ', table))


def kernel_variants():
    """Name -> (format, tile options) of bench/pending.sh's expert-matmul variants table."""
    text = open(SCRIPT).read()
    table = re.search(r"^kernel_variants=\((.*?)^\)", text, re.S | re.M).group(1)
    return {n: (f, o) for n, f, o in re.findall(r'"(\w+) (\d\dv\d+) ?([^"]*)"', table)}


def test_the_anchor_models_are_known():
    assert MODELS == {"mixtral", "qwen2_moe", "deepseek_v2l", "olmoe", "deepseek_v2", "qwen3_235b"}
    assert MORE == {"qwen3_next", "glm45", "glm45_air", "granite4_small", "granite4_tiny",
                    "minimax_m2"}
    # gpt_oss_2816: -20b at 2816, a shape wgmma_sp takes (its bias and clamped-SwiGLU epilogues);
    # gpt_oss_i2816: -20b with intermediate 2816 (row selection on wgmma_sp with K padded).
    assert GPTOSS == {"gpt_oss_20b", "gpt_oss_120b", "gpt_oss_2816", "gpt_oss_i2816"}


def test_the_variants_table_parses():
    v = variants()
    assert v["def"] == "12v128" and v["def11"] == "11v128" and len(v) >= 2
    # set=NAME names a layer set of gen-layer-bundles.sh, models=A,B models of it.
    for name, (fmt, options) in _variant_options().items():
        layer_set = re.search(r"(?:^|\s)set=(\w+)", options)
        known = layer_models(layer_set.group(1)) if layer_set else MODELS
        only = re.search(r"(?:^|\s)models=([\w,]+)", options)
        assert not only or set(only.group(1).split(",")) <= known, name
    assert kernel_variants() == {}  # no expert-matmul variant waits


def test_steps_are_listed_with_what_to_carry():
    r = run("steps")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert [line.split()[0] for line in lines[::2]] == STEPS
    assert all(line.startswith("    carry: .device/pending/") for line in lines[1::2])


def carried(step):
    """The directories `steps` says step ``step`` needs."""
    lines = run("steps").stdout.splitlines()
    i = [line.split()[0] for line in lines[::2]].index(step)
    return {p.split("/")[-1] for p in lines[2 * i + 1].split(":", 1)[1].split()}


@pytest.mark.parametrize("step", STEPS)
def test_every_command_names_a_prepared_bundle(step, tmp_path):
    v = variants()
    dev = str(tmp_path / "dev")
    r = run("run", step, str(tmp_path / "out"), "--dry-run", env={"SAMOYEDS_DEVICE_DIR": dev})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines
    needed = carried(step)
    used = set()
    for line in lines:
        used |= {m.group(1) for m in re.finditer(re.escape(dev) + r"/pending/(\w+)", line)}
        bundles = re.findall(re.escape(dev) + r"/pending/(\w+)/(\w+)_(\d\d+v\d+)", line)
        if "run-serving-tests.sh" in line:
            assert line.split()[-2:] == [f"{dev}/pending/serving", str(tmp_path / "out" / "serving")]
            continue
        if line.startswith("ncu --import ") or "bench/stall_summary.py" in line:
            # Post-processing of the step's own profile, in its output directory.
            assert str(tmp_path / "out") in line and not bundles, line
            continue
        if "warp_release" in line:
            # The racecheck probe (bench/probes): built into and run from the
            # step's output directory, no bundle.
            assert str(tmp_path / "out") + "/warp_release" in line and not bundles, line
            continue
        if "build-cslt-lib.sh" in line:
            # The cuSPARSELt baseline, built into the step's output directory.
            assert line.split()[-1] == str(tmp_path / "out" / "cslt_lib.so"), line
            continue
        if "bench/kernel_bench.py" in line:
            pairs = re.search(r"--variants (\S+)", line).group(1).split(",")
            kv = kernel_variants()
            assert len(pairs) >= 2, line
            for p in pairs:
                name, path = p.split("=", 1)
                assert path == f"{dev}/pending/{name}" and name in kv, line
            # One format a comparison (the bundles of each variant are that format's).
            assert len({kv[p.split("=", 1)[0]][0] for p in pairs}) == 1, line
            assert f"--cslt-lib {tmp_path / 'out' / 'cslt_lib.so'}" in line, line
            assert "--control" in line, line  # the A/A floor beside every A/B
            continue
        if "bench/profile_layer.py" in line:
            # One variant's layers (--layers DIR), in that variant's format.
            layers = re.search(r"--layers (\S+)", line).group(1)
            fmt = re.search(r"--formats (\S+)", line).group(1)
            models = re.search(r"--models (\S+)", line).group(1).split(",")
            name = layers.split("/")[-1]
            assert layers == f"{dev}/pending/{name}" and v[name] == fmt, line
            assert all(m in MODELS for m in models), line
            assert str(tmp_path / "out") in line, line
            continue
        if "bench/ab.py" in line:
            pairs = re.search(r"--variants (\S+)", line).group(1).split(",")
            fmt = re.search(r"--formats (\S+)", line).group(1)
            models = re.search(r"--models (\S+)", line).group(1).split(",")
            assert len(pairs) >= 2, line
            for p in pairs:
                name, path = p.split("=", 1)
                assert path == f"{dev}/pending/{name}" and v[name] == fmt, line
                assert all(m in _variant_models(name) for m in models), line
            assert "--graph" in line and "--control" in line
        else:
            assert len(bundles) == 1, line
            name, model, fmt = bundles[0]
            if name == "more":
                # gpt-oss in 1:2 (mma_sp) and plain 2:4 (wgmma_sp, K padded: session 69).
                assert (fmt, model in MORE, model in GPTOSS) in (("12v128", True, False),
                                                               ("12v64", False, True),
                                                               ("44v64", False, True)), line
            else:
                # A variant of some models (models=A,B) has only their bundles.
                assert v[name] == fmt and model in _variant_models(name), line
            checked = "--repeat-check" in line or "compute-sanitizer" in line
            profiled = line.startswith("ncu --kernel-name ")
            assert checked or profiled, line
    assert used == needed, (used, needed)  # carry exactly what the step reads


def test_several_steps_run_in_turn(tmp_path):
    """`run 2,1` is step 2's commands, then step 1's, into one OUT_DIR."""
    env = {"SAMOYEDS_DEVICE_DIR": str(tmp_path / "dev")}
    out = str(tmp_path / "out")
    one = [run("run", s, out, "--dry-run", env=env).stdout for s in ("2", "1")]
    both = run("run", "2,1", out, "--dry-run", env=env)
    assert both.returncode == 0, both.stderr
    assert both.stdout == one[0] + one[1] and one[0] and one[1]


@pytest.mark.parametrize("steps", ["2,2", "2,", ",2", "2,8", "8", "0", "1;2", "12"])
def test_bad_step_lists_are_refused(steps, tmp_path):
    r = run("run", steps, str(tmp_path / "out"), "--dry-run")
    assert r.returncode == 2 and "error:" in r.stderr and not r.stdout


def test_usage_errors(tmp_path):
    assert run().returncode == 2
    assert run("run", "0", str(tmp_path)).returncode == 2  # no step 0
    assert run("run", "1").returncode == 2
    r = run("run", "1", str(tmp_path / "out"), env={"SAMOYEDS_DEVICE_DIR": str(tmp_path)})
    assert r.returncode == 2 and "bench/pending.sh prepare" in r.stderr
    assert "no " + str(tmp_path / "pending" / "serving") in r.stderr
    # Every listed step's directories are checked before anything runs.
    (tmp_path / "pending" / "serving").mkdir(parents=True)
    r = run("run", "1,2", str(tmp_path / "out"), env={"SAMOYEDS_DEVICE_DIR": str(tmp_path)})
    assert r.returncode == 2 and "no " + str(tmp_path / "pending" / "more") in r.stderr
    (tmp_path / "pending" / "more").mkdir(parents=True)
    r = run("run", "1,2", str(tmp_path / "out"), env={"SAMOYEDS_DEVICE_DIR": str(tmp_path)})
    assert r.returncode == 2 and "no " + str(tmp_path / "pending" / "def") in r.stderr


def test_prepare_compiles_each_variant_with_its_options(tmp_path):
    """prepare takes a variant's chip=, models= and set= (gen-layer-bundles.sh's arguments)
    out of its tile options: each variant compiles exactly its models' layers, for its chip,
    with its other options (a fake samoyeds-opt logs its calls)."""
    calls = tmp_path / "calls"
    fake = tmp_path / "fake-opt"
    fake.write_text(f'#!/bin/sh\necho "$1 $2" >> {calls}\n')
    fake.chmod(0o755)
    dev = tmp_path / "dev"
    run("prepare", str(fake), env={"SAMOYEDS_DEVICE_DIR": str(dev)})  # serving fails: no bundle
    seen = {}
    for line in calls.read_text().splitlines():
        src, option = line.split(" ", 1)
        m = re.fullmatch(re.escape(str(dev)) + r"/pending/(\w+)/(\w+)_(\d\d+v\d+)\.mlir", src)
        if m and m.group(1) in _variant_options():
            seen.setdefault(m.group(1), set()).add((m.group(2), m.group(3), option.split(" dir=")[0]))
    for name, (fmt, options) in _variant_options().items():
        chip = re.search(r"(?:^|\s)chip=(\w+)", options)
        rest = re.sub(r"(?:^|\s)(?:chip|models|set)=[\w,]+", "", options).split()
        want = (f"--samoyeds-to-bundle=chip={chip.group(1) if chip else 'sm_90a'} "
                f"{' '.join(rest)}").rstrip()
        assert {(m, f, o.rstrip()) for m, f, o in seen.get(name, ())} == {
            (m, fmt, want) for m in _variant_models(name)}, name


def test_prepare_needs_a_compiler(tmp_path):
    r = run("prepare", str(tmp_path / "no-such-opt"), env={"SAMOYEDS_DEVICE_DIR": str(tmp_path)})
    assert r.returncode == 2 and "no samoyeds-opt" in r.stderr


def _variant_models(name):
    """The models variant ``name`` has bundles of: its models=, else its set's (set=)."""
    options = _variant_options()[name][1]
    only = re.search(r"(?:^|\s)models=([\w,]+)", options)
    layer_set = re.search(r"(?:^|\s)set=(\w+)", options)
    known = layer_models(layer_set.group(1)) if layer_set else MODELS
    return set(only.group(1).split(",")) & known if only else known


def _variant_options():
    """NAME -> (FORMAT, OPTIONS) from the script's variants table."""
    text = open(SCRIPT).read()
    table = re.search(r"^variants=\((.*?)^\)", text, re.S | re.M).group(1)
    return {m.group(1): (m.group(2), m.group(3).strip())
            for m in re.finditer(r'"(\w+) (\d\d+v\d+) ?([^"]*)"', table)}


def _samoyeds_opt():
    opt = os.environ.get("SAMOYEDS_OPT") or os.path.join(ROOT, "build", "bin", "samoyeds-opt")
    return opt if os.access(opt, os.X_OK) else None


@pytest.mark.skipif(_samoyeds_opt() is None, reason="needs samoyeds-opt (build/bin or "
                    "$SAMOYEDS_OPT): run scripts/build.sh")
@pytest.mark.parametrize("name", sorted(_variant_options()))
def test_every_variant_compiles(tmp_path, name):
    """Each variant's tile options still compile a layer (OLMoE's shape, the variant's
    format; no ptxas), so a renamed or retired option fails here, not on the GPU machine."""
    fmt, options = _variant_options()[name]
    n, m, v = fmt[0], fmt[1:].split("v")[0], fmt.split("v")[1]
    # chip=, models= and set= are bench/pending.sh's own (gen-layer-bundles.sh's arguments).
    chip = re.search(r"(?:^|\s)chip=(\w+)", options)
    options = re.sub(r"(?:^|\s)(?:chip|models|set)=[\w,]+", "", options).strip()
    chip = chip.group(1) if chip else "sm_90a"
    enc = f"#samoyeds.ss<n = {n}, m = {m}, v = {v}>"
    src = tmp_path / "layer.mlir"
    src.write_text(f"""func.func @olmoe(%x: tensor<?x2048xbf16> {{samoyeds.name = "x"}},
    %router: tensor<64x2048xbf16> {{samoyeds.name = "router"}},
    %w13: tensor<64x2048x2048xbf16, {enc}> {{samoyeds.name = "w13"}},
    %w2: tensor<64x2048x1024xbf16, {enc}> {{samoyeds.name = "w2"}})
    -> (tensor<?x2048xbf16> {{samoyeds.name = "y"}}) {{
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(8)
      : (tensor<?x2048xbf16>, tensor<64x2048xbf16>, tensor<64x2048x2048xbf16, {enc}>,
         tensor<64x2048x1024xbf16, {enc}>) -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}}
""")
    r = subprocess.run([_samoyeds_opt(), str(src), f"--samoyeds-to-bundle=chip={chip} "
                        f"{options} dir={tmp_path / 'b'} assemble=false", "-o", os.devnull],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert os.path.isfile(tmp_path / "b" / "manifest.json")


def test_layer_bundles_of_some_models(tmp_path):
    """gen-layer-bundles.sh compiles only SAMOYEDS_LAYER_MODELS' layers (the variants'
    models=), each for the chip it is given (their chip=)."""
    fake = tmp_path / "fake-opt"
    fake.write_text('#!/bin/sh\necho "$2" >> "$(dirname "$0")/calls"\n')
    fake.chmod(0o755)
    gen = os.path.join(ROOT, "test", "GPU", "gen-layer-bundles.sh")
    r = subprocess.run(["bash", gen, str(fake), str(tmp_path / "out"), "1", "16", "128", "sm_90"],
                       capture_output=True, text=True,
                       env={**os.environ, "SAMOYEDS_LAYER_MODELS": "olmoe,mixtral"})
    assert r.returncode == 0, r.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == 2 and all(c.startswith("--samoyeds-to-bundle=chip=sm_90 ")
                                   for c in calls), calls
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mlir")) == [
        "mixtral_116v128.mlir", "olmoe_116v128.mlir"]
    # A name the table lacks (a misspelt models=) is an error, not no bundle.
    r = subprocess.run(["bash", gen, str(fake), str(tmp_path / "out2"), "1", "2", "128"],
                       capture_output=True, text=True,
                       env={**os.environ, "SAMOYEDS_LAYER_MODELS": "olmoe,mixtrl"})
    assert r.returncode == 2 and "no layer 'mixtrl'" in r.stderr, r.stderr
