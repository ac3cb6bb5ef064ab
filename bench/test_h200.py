"""CPU tests of bench/h200.py's pieces and of bench/report.py's H200 section.

    SAMOYEDS_RUNTIME_LIB=BUILD PYTHONPATH=python:bench python3 -m pytest -q bench/test_h200.py

Skipped without torch, Triton (h200.py imports the Triton baseline) or the runtime library.
"""
import argparse
import contextlib
import json
import os
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
if not torch.cuda.is_available():  # the vLLM-design kernels run in Triton's interpreter
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton", reason="triton is not installed (the project's CI has none)")

from samoyeds._capi import RuntimeLibraryNotFound, lib  # noqa: E402

try:
    lib()
except RuntimeLibraryNotFound as e:
    pytest.skip(f"Samoyeds runtime library not available: {e}", allow_module_level=True)

import h200  # noqa: E402
import report  # noqa: E402
from samoyeds.pack import pack, unpack  # noqa: E402

FORMATS = [(1, 1, 128), (1, 2, 128), (1, 2, 32)]


# cols = 192: wgmma stores K padded to 256 (values 0, meta nibbles 0x4), which the runtime
# checks on every read (unpack here, uploads on the GPU); only formats whose v divides it.
@pytest.mark.parametrize("n,m,v,layout,cols", [
    (n, m, v, layout, cols) for n, m, v in FORMATS
    for layout, cols in (("mma_sp", 256), ("wgmma", 256), ("wgmma", 192)) if cols % v == 0])
def test_random_packed_is_the_packing_of_its_unpacking(n, m, v, layout, cols):
    info = dict(experts=3, rows=128, cols=cols, n=n, m=m, v=v, layout=layout, dtype="bf16")
    p = h200.random_packed(info, device="cpu")
    assert p.layout == layout and p.values.dtype == np.uint8
    dense = unpack(p)
    chunks = dense.reshape(3, 128, cols // 4, 4)
    kept_rows = (chunks != 0).any(axis=-1)
    # Two of every four columns in a kept row; with 1:2, one row of every two per span.
    assert ((chunks != 0).sum(axis=-1)[kept_rows] == 2).all()
    spans = kept_rows.reshape(3, 128 // m, m, cols // v, v // 4).any(axis=-1)
    assert (spans.sum(axis=2) == n).all()
    q = pack(dense, n, m, v, layout=layout)
    for part in ("values", "meta", "row_idx"):
        assert np.array_equal(getattr(p, part), getattr(q, part)), part


@pytest.mark.parametrize("n,m,v", FORMATS[:2])
def test_unpack_to_device_is_unpack(n, m, v):
    info = dict(experts=5, rows=128, cols=256, n=n, m=m, v=v, layout="wgmma", dtype="bf16")
    p = h200.random_packed(info, device="cpu")
    got = h200.unpack_to_device(p, threads=3, device="cpu")
    assert got.dtype == torch.bfloat16 and got.shape == (5, 128, 256)
    assert np.array_equal(got.view(torch.int16).numpy().view(np.uint16), unpack(p))


def test_parse_format():
    assert h200.parse_format("12v128") == (1, 2, 128)
    assert h200.parse_format("11v32") == (1, 1, 32)
    with pytest.raises(SystemExit):
        h200.parse_format("2:4")


def test_compare():
    ref = torch.ones(4, 8)
    got = ref.clone()
    got[0, 0] = 3.0
    rel, mx, nan = h200.compare(got, ref)
    assert nan == 0 and abs(mx - 2.0) < 1e-6 and abs(rel - 2.0 / 32 ** 0.5) < 1e-6
    got[1, 1] = float("nan")
    assert h200.compare(got, ref)[2] == 1


def rows_for(model, H, inter, E, k, T, ours, vllm, grouped, ok=True):
    """Rows shaped as h200.run_model writes them."""
    base = dict(model=model, H=H, I=inter, E=E, k=k, T=T)
    rows = []
    for fmt, ms in ours.items():
        rows.append(dict(base, path="ours", format=fmt, ms=ms, graph=True, routing_in_time=True,
                         relerr=1e-3, maxerr=1e-2, nan=0, ok=ok, bw_fraction=0.5 + T / 1e4,
                         vllm_over_ours=vllm / ms, grouped_over_ours=grouped / ms))
    rows.append(dict(base, path="vllm", format="dense", ms=vllm, graph=True, routing_in_time=False,
                     config=dict(BLOCK_SIZE_M=16, BLOCK_SIZE_N=64, BLOCK_SIZE_K=256,
                                 GROUP_SIZE_M=16, num_warps=4, num_stages=3),
                     config_source="vLLM tuned E=8,N=14336,device_name=NVIDIA_H200.json [16]",
                     align="moe_align_block_size", bw_fraction=0.9, relerr=2e-3, ok=True))
    rows.append(dict(base, path="grouped", format="dense", ms=grouped, graph=False, nan=0, ok=True,
                     routing_in_time=True, capture_error="RuntimeError: no"))
    return rows


def test_report_renders_the_h200_section(tmp_path):
    head = dict(device="NVIDIA H200", torch="2.11.0", copy_gbps=4255.0, cublas_tflops=769.0,
                triton="3.6.0", weights="random", reps=25, notes=h200.NOTES)
    rows = []
    for T in (1, 16, 64):
        rows += rows_for("mixtral", 4096, 14336, 8, 2, T, {"11v128": 0.2, "12v128": 0.125},
                         0.2, 0.5, ok=T != 64)
    rows += rows_for("olmoe", 2048, 1024, 64, 8, 16, {"12v128": 0.1}, 0.25, 0.4)
    path = tmp_path / "h200-mixtral.json"
    path.write_text(json.dumps(dict(head, rows=rows)))
    out = tmp_path / "Performance-H200.md"
    report.main(["--h200", str(path), "--date", "2026-12-01", "--command",
                 "bash bench/run-h200.sh OUT", "--out", str(out)])
    text = out.read_text()
    assert "NVIDIA H200" in text and "bash bench/run-h200.sh OUT" in text
    assert "| Mixtral-8x7B (4096, 14336, 8, 2) | 0.200 / 0.125 (1.60; 4.00) |" in text
    assert "| OLMoE-1B-7B (2048, 1024, 64, 8) | – | 0.250 / 0.100 (2.50; 4.00) | – |" in text
    assert "(1.00; 2.50) ✗" in text  # mixtral 2:4 at T = 64 failed its check
    assert "routing" in text and "eager" in text
    assert "vLLM tuned E=8,N=14336" in text
    assert "## H200: the layer against" in text


def test_report_names_the_device_it_measured(tmp_path):
    head = dict(device="NVIDIA H100 80GB HBM3", torch="2.11.0", copy_gbps=3003.0,
                cublas_tflops=812.0, triton="3.6.0", weights="random", reps=25, notes=h200.NOTES)
    rows = rows_for("mixtral", 4096, 14336, 8, 2, 16, {"12v128": 0.1}, 0.25, 0.4)
    path = tmp_path / "h200-mixtral.json"
    path.write_text(json.dumps(dict(head, rows=rows)))
    out = tmp_path / "P.md"
    report.main(["--h200", str(path), "--date", "d", "--command", "c", "--out", str(out)])
    text = out.read_text()
    assert "## H100 80GB HBM3: the layer against" in text and "## H200" not in text


def test_report_renders_the_model_section(tmp_path):
    head = dict(device="NVIDIA H200", torch="2.11.0", copy_gbps=4255.0, cublas_tflops=769.0,
                triton="3.6.0", weights="random", reps=25, notes=h200.NOTES)
    path = tmp_path / "h200-mixtral.json"
    path.write_text(json.dumps(dict(head, rows=rows_for("mixtral", 4096, 14336, 8, 2, 1,
                                                        {"11v128": 0.2}, 0.2, 0.5))))

    def dec(ms, graph=True):
        return {"ms": ms, "graph": graph, "tok_s": 1e3 / ms}
    paths = {"hf_grouped": {"decode": {"1": dec(10.0)}, "prefill": {"ms": 80.0, "graph": True},
                            "memory": {"max_batch": 200}},
             "hf_eager": {"decode": {"1": dec(100.0, graph=False)}},
             "samoyeds_11v128": {"decode": {"1": dec(5.0)}, "prefill": {"ms": 40.0, "graph": True},
                                 "memory": {"max_batch": 300}}}
    model = dict(device="NVIDIA H200", date="2026-12-01", torch="2.11.0", transformers="5.17.0",
                 note="Largest batch = ...", failed=["deepseek_v3: not run (time budget)"],
                 models={"qwen3_30b_a3b": dict(
                     title="Qwen3-30B-A3B", layers=48, moe_layers=48, paths=paths,
                     checks={"11v128": dict(blocks={"1": 5e-3}, top1=0.998, relerr=1.3e-2,
                                            ok=True)},
                     floor=dict(top1=0.999, relerr=1.4e-2))})
    mpath = tmp_path / "model.json"
    mpath.write_text(json.dumps(model))
    out = tmp_path / "Performance.md"
    report.main(["--h200", str(path), "--model", str(mpath), "--model-note", "A note.",
                 "--date", "2026-12-01", "--command", "x", "--out", str(out)])
    text = out.read_text()
    assert "## Model level" in text and "A note." in text
    assert "| (a) transformers eager | 10* | – | – |  |" in text
    assert "| (c) Samoyeds 2:4 | 200 (2.00x) | 40.0 (2.00x) | 300 (1.50x) | blocks 5.0e-03, " \
        "top-1 0.998, rel 1.3e-02 ok |" in text
    assert "Not measured: deepseek_v3: not run (time budget)." in text


class FakeLayer:
    """samoyeds.MoELayer's interface on the CPU: the layer computed by bench.grouped on the
    unpacked weights, routed on f32 logits as ours is (so ours matches its reference
    exactly)."""

    def __init__(self, path):
        name, fmt = os.path.basename(path).rsplit("_", 1)
        H, inter, E, self.k, self.renorm = h200.spec(name)
        n, m, v = h200.parse_format(fmt)
        w = dict(dtype="bf16", experts=E, n=n, m=m, v=v, layout="wgmma")
        self.weights = {"w13": dict(w, rows=2 * inter, cols=H), "w2": dict(w, rows=H, cols=inter)}
        self.dense, self.biases = {}, {}

    def upload_packed(self, name, p):
        self.dense[name] = torch.from_numpy(unpack(p).view(np.int16)).view(torch.bfloat16)

    def set_router(self, router, bias=None):
        self.router, self.router_bias = router, bias

    def set_biases(self, b1, b2):
        self.biases = dict(b1=b1, b2=b2)

    def __call__(self, x):
        return h200.grouped(x, self.router, self.dense["w13"].transpose(1, 2),
                            self.dense["w2"].transpose(1, 2), self.k, self.renorm,
                            br=self.router_bias, f32_logits=True, **self.biases)

    def close(self):
        pass


def grouped_mm_loop(a, b, offs):
    """torch._grouped_mm(a [P, K], b [G, K, N], offs) by a loop over the groups (rows
    [offs[g - 1], offs[g]) by b[g]), in a's dtype with float32 products."""
    out = torch.zeros(a.shape[0], b.shape[2], dtype=a.dtype)
    start = 0
    for g, end in enumerate(offs.tolist()):
        out[start:end] = (a[start:end].float() @ b[g].float()).to(a.dtype)
        start = end
    return out


class FakeTimer:
    """ColdTimer(reps)'s interface: runs fn, returns a made-up time."""

    def __init__(self, reps):
        self.calls = 0

    def __call__(self, fn):
        fn()
        self.calls += 1
        return 0.1 + 0.001 * (self.calls % 3)


@pytest.fixture
def cpu_run(monkeypatch, tmp_path):
    """Runs h200.run_model on a tiny model with the GPU parts replaced: the layer by
    FakeLayer, CUDA graphs by eager calls, the timer by FakeTimer; the vLLM-design path runs
    in Triton's interpreter. Returns (failures, rows of the JSON, path of the JSON)."""
    if not hasattr(torch, "_grouped_mm"):
        pytest.skip(f"torch {torch.__version__} has no torch._grouped_mm (the grouped "
                    "baseline; the GPU machine's torch has it)")
    if torch.cuda.is_available():
        pytest.skip("a CPU test")
    monkeypatch.setitem(h200.MODELS, "tiny", (256, 128, 4, 2, True))
    monkeypatch.setitem(h200.GPT_OSS, "tiny_oss", (256, 128, 4, 2, True))
    monkeypatch.setattr(h200, "dev", "cpu")
    monkeypatch.setattr(h200.samoyeds, "MoELayer", FakeLayer)
    monkeypatch.setattr(h200, "ColdTimer", FakeTimer)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: None)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA H200")
    monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda: types.SimpleNamespace(replay=lambda: 0))
    monkeypatch.setattr(torch.cuda, "graph", lambda g: contextlib.nullcontext())

    def run(weights="random", tokens=(1, 5, 33), model="tiny"):
        out = tmp_path / f"h200-{model}.json"
        a = argparse.Namespace(weights=weights, threads=2, reps=3, out=str(out))
        formats = ["11v128", "12v128"]
        found = {(model, f): str(tmp_path / f"{model}_{f}") for f in formats}
        res = dict(device="NVIDIA H200", torch=torch.__version__, copy_gbps=4000.0,
                   cublas_tflops=700.0, weights=weights, reps=3, rows=[])
        failures = h200.run_model(model, found, formats, list(tokens), a, res)
        return failures, json.loads(out.read_text())["rows"], out

    return run


@pytest.mark.parametrize("weights", ["random", "pruned"])
def test_run_model_on_the_cpu(weights, cpu_run, tmp_path):
    """h200.run_model's whole flow: weights, references, capture, timing, checks, rows,
    JSON, and the report of that JSON."""
    failures, rows, out = cpu_run(weights)
    assert failures == []
    assert len(rows) == 3 * 4
    for r in rows:
        assert r["ok"] and r["graph"] and r["ms"] > 0, r
        assert r["routing_in_time"] == (r["path"] != "vllm")
        if r["path"] == "ours":
            assert r["relerr"] == 0 and r["bw_fraction"] > 0 and "vllm_over_ours" in r
        if r["path"] == "vllm":
            assert r["relerr"] < h200.VLLM_BOUND and r["align"] == "moe_align_block_size"
            assert r["config_source"] == "vLLM get_default_config"
    page = tmp_path / "P.md"
    report.main(["--h200", str(out), "--date", "2026-12-01", "--command", "c", "--out",
                 str(page)])
    assert "| tiny (256, 128, 4, 2) |" in page.read_text()


def test_run_model_gpt_oss_on_the_cpu(cpu_run):
    """gpt-oss's layers: the experts' biases reach ours (set_biases) and both baselines, whose
    activation is the clamped SwiGLU: ours matches its reference and the vLLM-design path
    (biases and clamped SwiGLU in its kernels) matches grouped."""
    failures, rows, _ = cpu_run(tokens=(1, 9), model="tiny_oss")
    assert failures == []
    assert len(rows) == 2 * 4 and all(r["ok"] for r in rows), rows
    assert all(r["relerr"] == 0 for r in rows if r["path"] == "ours")
    assert all(r["relerr"] < h200.VLLM_BOUND for r in rows if r["path"] == "vllm")


def test_route_adds_the_router_bias():
    """bench.route with gpt-oss's router bias: the logits plus the bias, softmax, top-k (a
    bias that favours expert 2 puts it first everywhere; none leaves the routing as it was)."""
    import bench as b
    g = torch.Generator().manual_seed(3)
    x, router = torch.randn(5, 16, generator=g), torch.randn(4, 16, generator=g)
    br = torch.tensor([0.0, 0.0, 100.0, 0.0])
    w, ids = b.route(x, router, 2, True, br)
    assert (ids[:, 0] == 2).all() and torch.allclose(w.sum(-1), torch.ones(5))
    logits = x @ router.t() + br
    want_w, want_ids = torch.softmax(logits, -1).topk(2, -1)
    assert torch.equal(ids, want_ids)
    assert torch.allclose(w, want_w / want_w.sum(-1, keepdim=True))
    assert all(torch.equal(p, q) for p, q in zip(b.route(x, router, 2, False),
                                                   b.route(x, router, 2, False, None)))


def test_route_f32_logits_are_the_f32_products():
    """bench.route(f32_logits=True) routes on the f32 products of the bf16 inputs (as the
    compiled route accumulates them); by default on the bf16 matmul's rounded output."""
    import bench as b
    g = torch.Generator().manual_seed(4)
    x = torch.randn(64, 256, generator=g).to(torch.bfloat16)
    router = torch.randn(16, 256, generator=g).to(torch.bfloat16)
    exact = x.double() @ router.double().t()
    for f32, logits in ((True, exact), (False, (x @ router.t()).double())):
        w, ids = b.route(x, router, 4, False, f32_logits=f32)
        want_w, want_ids = torch.softmax(logits, -1).topk(4, -1)
        assert torch.equal(ids, want_ids)
        assert torch.allclose(w.double(), want_w, rtol=1e-5, atol=1e-7)
    # The bf16 output's rounding moves the logits by ~2^-9 of their size; f32 does not.
    rounded = (x @ router.t()).double()
    assert (rounded - exact).abs().max() > 1e-3
    assert ((x.float() @ router.float().t()).double() - exact).abs().max() < 1e-3


def test_grouped_with_biases_is_gpt_oss_experts():
    """bench.grouped with biases against a per-expert transcription of transformers'
    GptOssExperts (clamps included: the biases push values past the limit)."""
    g = torch.Generator().manual_seed(5)
    T, H, inter, E, k = 7, 32, 16, 3, 2
    x = torch.randn(T, H, generator=g)
    router = torch.randn(E, H, generator=g)
    wgu, wd = torch.randn(E, 2 * inter, H, generator=g), torch.randn(E, H, inter, generator=g)
    b1, b2 = torch.randn(E, 2 * inter, generator=g) * 8, torch.randn(E, H, generator=g)
    import bench as b
    orig = getattr(torch, "_grouped_mm", None)
    torch._grouped_mm = grouped_mm_loop
    try:
        got = b.grouped(x, router, wgu.transpose(1, 2), wd.transpose(1, 2), k, True, b1, b2)
    finally:
        if orig is None:
            del torch._grouped_mm
        else:
            torch._grouped_mm = orig
    w, ids = b.route(x, router, k, True)
    want = torch.zeros(T, H)
    clamped = 0
    for t in range(T):
        for j in range(k):
            e = int(ids[t, j])
            gu = wgu[e] @ x[t] + b1[e]
            gate, up = gu[:inter], gu[inter:]
            clamped += int((gate > 7).sum() + (up.abs() > 7).sum())
            gate, up = gate.clamp(max=7.0), up.clamp(-7.0, 7.0)
            want[t] += w[t, j] * (wd[e] @ ((up + 1) * gate * torch.sigmoid(1.702 * gate)) + b2[e])
    assert clamped > 0
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-3)


def test_run_model_goes_on_past_a_failing_path(cpu_run, monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("no kernel")

    monkeypatch.setattr(h200, "fused_experts", broken)
    failures, rows, out = cpu_run(tokens=(1, 5))
    assert len(failures) == 2 and all("vllm" in f and "no kernel" in f for f in failures)
    vllm = [r for r in rows if r["path"] == "vllm"]
    assert all(r["ok"] is False and r["ms"] is None for r in vllm)
    assert all(r["ok"] for r in rows if r["path"] != "vllm")
    page = tmp_path / "P.md"
    report.main(["--h200", str(out), "--date", "d", "--command", "c", "--out", str(page)])
    text = page.read_text()
    assert "– / " in text and "✗" in text and "Failed checks: tiny T=1 vllm dense" in text


def test_report_renders_the_expert_matmul_section(tmp_path):
    """The H200 page with a kernel_bench.py --variants JSON: the chosen variant's rows only,
    and the fraction of the sparse wgmma ceiling over the rows multiplied."""
    head = dict(device="NVIDIA H200", torch="2.11.0", copy_gbps=4255.0, cublas_tflops=769.0,
                triton="3.6.0", weights="random", reps=25, notes=h200.NOTES)
    path = tmp_path / "h200-olmoe.json"
    path.write_text(json.dumps(dict(head, rows=rows_for("olmoe", 2048, 1024, 64, 8, 16,
                                                           {"12v128": 0.1}, 0.25, 0.4))))
    krows = []
    for variant, us in (("base", 20.0), ("mid", 10.0)):
        for fmt, tflops in (("12v128", 769.0), ("11v128", 769.0)):
            krows.append(dict(bundle=f"olmoe_w13_{fmt}", shape="olmoe_w13", format=fmt,
                              rows=2048, cols=2048, n=256, ours_us=us, cublas_us=10.0,
                              cslt_us=15.0, speedup_vs_cublas=10.0 / us,
                              speedup_vs_cslt=15.0 / us, tflops=tflops, variant=variant))
    kpath = tmp_path / "kernels.json"
    kpath.write_text(json.dumps(dict(device="NVIDIA H200", copy_gbps=4256.0,
                                     cublas_tflops=790.0, rows=krows)))
    out = tmp_path / "Performance.md"
    report.main(["--h200", str(path), "--kernel", str(kpath), "--kernel-variant", "mid",
                 "--kernel-note", "Run 3.", "--date", "d", "--command", "c", "--out", str(out)])
    text = out.read_text()
    assert "## Expert matmul (one expert, n tokens)" in text and "Run 3." in text
    assert "| olmoe_w13 2048×2048 | 1:2+2:4 V=128 | 10 µs (1.50× cuSPARSELt, 1.00× cuBLAS) | 0.25 |" \
        in text  # 769 TFLOP/s over the kept half of the rows: 384.5 / 1538
    assert "| olmoe_w13 2048×2048 | 2:4 | 10 µs (1.50× cuSPARSELt, 1.00× cuBLAS) | 0.50 |" in text
    assert "20 µs" not in text  # the base variant's rows are left out
