"""Memory report of a compiled layer against the dense grouped path (no GPU)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import requires_runtime

REPO = Path(__file__).resolve().parents[2]
E, H, I, K = 8, 256, 128, 2
LAYER = f"""\
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @layer(%x: tensor<?x{H}xbf16> {{samoyeds.name = "x"}},
    %router: tensor<{E}x{H}xbf16> {{samoyeds.name = "router"}},
    %w13: tensor<{E}x{2 * I}x{H}xbf16, #ss> {{samoyeds.name = "w13"}},
    %w2: tensor<{E}x{H}x{I}xbf16, #ss> {{samoyeds.name = "w2"}})
    -> (tensor<?x{H}xbf16> {{samoyeds.name = "y"}}) {{
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k({K})
      : (tensor<?x{H}xbf16>, tensor<{E}x{H}xbf16>, tensor<{E}x{2 * I}x{H}xbf16, #ss>,
         tensor<{E}x{H}x{I}xbf16, #ss>) -> tensor<?x{H}xbf16>
  return %y : tensor<?x{H}xbf16>
}}
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    opt = os.environ.get("SAMOYEDS_OPT") or str(REPO / "build" / "bin" / "samoyeds-opt")
    if not Path(opt).is_file():
        opt = shutil.which("samoyeds-opt")
    if not opt:
        pytest.skip("samoyeds-opt not built: cannot compile the test layer")
    d = tmp_path_factory.mktemp("mem")
    (d / "layer.mlir").write_text(LAYER)
    subprocess.run([opt, str(d / "layer.mlir"), f"--samoyeds-to-bundle=chip=sm_90a dir={d / 'b'}",
                    "-o", os.devnull], check=True)
    from samoyeds.layer import LayerBundle
    with LayerBundle(d / "b") as b:
        yield b


@requires_runtime
def test_weight_bytes_follow_the_format(bundle):
    from samoyeds.memory import samoyeds_bytes
    s = samoyeds_bytes(bundle, 16)
    kept_w13, kept_w2 = 2 * I // 2, H // 2  # 1:2 row selection
    assert s["values"] == E * (kept_w13 * H + kept_w2 * I)  # bf16 pairs: K bytes per kept row
    assert s["meta"] == s["values"] // 8
    assert s["row_idx"] == E * (H // 64 * kept_w13 + I // 64 * kept_w2)
    assert s["inputs"] == 16 * H * 2 + E * H * 2 and s["outputs"] == 16 * H * 2
    assert s["workspaces"] > 0
    assert s["total"] == sum(v for k, v in s.items() if k != "total")


@requires_runtime
def test_dense_path_and_token_budget(bundle):
    from samoyeds.memory import dense_grouped_bytes, max_tokens, samoyeds_bytes
    d = dense_grouped_bytes(bundle, 0)
    assert d["weights"] == 3 * E * H * I * 2
    assert samoyeds_bytes(bundle, 0)["total"] < d["total"]
    budget = dense_grouped_bytes(bundle, 1000)["total"]
    dense_t = max_tokens(lambda t: dense_grouped_bytes(bundle, t)["total"], budget)
    ours_t = max_tokens(lambda t: samoyeds_bytes(bundle, t)["total"], budget)
    assert dense_t == 1000
    assert ours_t > dense_t
    assert samoyeds_bytes(bundle, ours_t)["total"] <= budget < samoyeds_bytes(bundle, ours_t + 1)["total"]
    assert max_tokens(lambda t: 10 + t, 5) == -1


def test_parse_bytes():
    from samoyeds.memory import parse_bytes
    assert parse_bytes("20GiB") == 20 << 30
    assert parse_bytes("512MB") == 512 * 10**6
    assert parse_bytes("4096") == 4096
    with pytest.raises(ValueError, match="not a byte count"):
        parse_bytes("lots")


@requires_runtime
def test_cli_prints_report(bundle, capsys):
    from samoyeds.memory import main
    assert main([str(bundle.dir), "--tokens", "1,64", "--budget", "64MiB"]) == 0
    out = capsys.readouterr().out
    assert "moe_ffn E=8 H=256 I=128 top_k=2" in out
    assert "budget 64 MiB: samoyeds T <= " in out and "dense grouped T <= " in out


@requires_runtime
def test_split_counters_count_with_the_workspaces(tmp_path):
    """A bundle compiled with fuse-split-reduce lists an i32 counters buffer per
    split-K matmul without weighted_combine; the report counts it with the
    workspaces, at its constant size."""
    opt = os.environ.get("SAMOYEDS_OPT") or str(REPO / "build" / "bin" / "samoyeds-opt")
    if not Path(opt).is_file():
        opt = shutil.which("samoyeds-opt")
    if not opt:
        pytest.skip("samoyeds-opt not built: cannot compile the test layer")
    (tmp_path / "layer.mlir").write_text(LAYER)
    sizes = {}
    for fused in (0, 1):
        out = tmp_path / f"b{fused}"
        subprocess.run([opt, str(tmp_path / "layer.mlir"),
                        f"--samoyeds-to-bundle=chip=sm_90a split-k=2 fuse-split-reduce={fused} "
                        f"dir={out}", "-o", os.devnull], check=True)
        from samoyeds.layer import LayerBundle
        from samoyeds.memory import samoyeds_bytes
        with LayerBundle(out) as b:
            counters = {n: i for n, i in b.buffers.items() if i["kind"] == "counters"}
            assert len(counters) == fused
            sizes[fused] = (samoyeds_bytes(b, 1)["workspaces"],
                            sum(b.buffer_bytes(n, 1) for n in counters))
    assert sizes[1][1] > 0
    assert sizes[1][0] == sizes[0][0] + sizes[1][1]
