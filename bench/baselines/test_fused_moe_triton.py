"""Tests of the vLLM-design Triton fused MoE baseline (fused_moe_triton.py) against a float64
reference of the MoE layer, on small shapes: T not a multiple of the block, experts that get
no token, K and N not multiples of the tile, a grouped tile order, the small-batch bound.

    python3 -m pytest -q bench/baselines/test_fused_moe_triton.py

On a machine without a GPU the kernels run in Triton's interpreter (TRITON_INTERPRET=1, set
here before Triton is imported); with one, on the GPU. Skipped without torch or Triton.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton", reason="triton is not installed (the project's CI has none)")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fused_moe_triton as fmt  # noqa: E402

DEV = "cuda" if torch.cuda.is_available() else "cpu"


def cfg(bm, bn, bk, group):
    return dict(BLOCK_SIZE_M=bm, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, GROUP_SIZE_M=group)


def make(T, H, inter, E, k, seed, avoid=()):
    """x, w1, w2 (bf16) and a routing (float32 weights, int32 ids) that never picks `avoid`."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, H, generator=g).to(torch.bfloat16)
    w1 = (torch.randn(E, 2 * inter, H, generator=g) * 0.1).to(torch.bfloat16)
    w2 = (torch.randn(E, H, inter, generator=g) * 0.1).to(torch.bfloat16)
    logits = torch.randn(T, E, generator=g)
    if avoid:
        logits[:, list(avoid)] = -1e9
    w, ids = torch.softmax(logits, -1).topk(k, -1)
    return [t.to(DEV) for t in (x, w1, w2, w.contiguous(), ids.to(torch.int32))]


def reference(x, w1, w2, w, ids, bf16_steps=False):
    """float64 MoE layer: sum_j w[t, j] * W2[e] (silu(W1g[e] x) * W1u[e] x), e = ids[t, j].
    With bf16_steps, rounded to bf16 where the kernels store: gate/up, silu * up, and each
    slot's weighted output (the sum over top_k then in float). Triton's interpreter converts
    fp32 to bf16 by truncation (a GPU rounds to nearest even): so does this reference there."""
    x, w1, w2, w = (t.double().cpu() for t in (x, w1, w2, w))
    inter = w2.shape[2]

    def r(t):
        if not bf16_steps:
            return t
        if fmt._INTERPRET:
            return (t.float().view(torch.int32) & ~0xFFFF).view(torch.float32).double()
        return t.to(torch.bfloat16).double()

    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        for j in range(ids.shape[1]):
            e = int(ids[t, j])
            gu = r(w1[e] @ x[t])
            h = r(torch.nn.functional.silu(gu[:inter]) * gu[inter:])
            out[t] += r(w[t, j] * (w2[e] @ h))
    return out


def check_align(ids, bm, E, got):
    """got = (sorted_ids, expert_ids, post_pad) is a valid alignment of ids."""
    sorted_ids, expert_ids, post_pad = (t.cpu() for t in got)
    flat = ids.reshape(-1).cpu().long()
    numel = flat.numel()
    counts = torch.bincount(flat, minlength=E)
    padded = (counts + bm - 1) // bm * bm
    assert sorted_ids.numel() == numel + E * (bm - 1)
    assert int(post_pad[0]) == int(padded.sum())
    start = 0
    for e in range(E):
        run = sorted_ids[start:start + int(padded[e])]
        real = run[:int(counts[e])]
        assert sorted(real.tolist()) == sorted((flat == e).nonzero().reshape(-1).tolist())
        assert (run[int(counts[e]):] == numel).all()
        blocks = range(start // bm, (start + int(padded[e])) // bm)
        assert all(int(expert_ids[b]) == e for b in blocks)
        start += int(padded[e])
    assert (sorted_ids[start:] == numel).all()
    assert ((expert_ids >= 0) & (expert_ids < E)).all()


@pytest.mark.parametrize("T,E,k,bm,avoid", [
    (1, 4, 2, 16, ()), (5, 4, 2, 16, (3,)), (37, 8, 3, 16, (0, 5)), (70, 6, 2, 32, ()),
    (300, 64, 6, 16, ()), (130, 160, 6, 64, (7,))])
@pytest.mark.parametrize("align", [fmt.moe_align_block_size, fmt.moe_align_block_size_torch])
def test_align(T, E, k, bm, avoid, align):
    g = torch.Generator().manual_seed(T)
    logits = torch.randn(T, E, generator=g)
    if avoid:
        logits[:, list(avoid)] = -1e9
    ids = logits.topk(k, -1).indices.to(torch.int32).to(DEV)
    check_align(ids, bm, E, align(ids, bm, E))


CASES = [
    # T, H, I, E, k, config, experts with no token
    (5, 64, 128, 4, 2, cfg(16, 16, 16, 1), (3,)),      # the brief's shape; an empty expert
    (1, 64, 128, 4, 2, cfg(16, 16, 16, 1), ()),        # one token: small-batch bound
    (17, 64, 128, 4, 2, cfg(16, 32, 16, 2), (0,)),     # T past one block, grouped tiles
    (33, 80, 72, 5, 2, cfg(16, 32, 32, 4), (1, 2)),    # K = 80, 72 and N = 144 not tiles
    (12, 64, 128, 6, 3, cfg(32, 16, 64, 1), ()),       # wider M block than any expert's run
]


@pytest.mark.parametrize("T,H,inter,E,k,config,avoid", CASES)
def test_fused_experts_against_float64(T, H, inter, E, k, config, avoid):
    x, w1, w2, w, ids = make(T, H, inter, E, k, seed=T + H, avoid=avoid)
    assert not any(int((ids == e).sum()) for e in avoid)
    ref = reference(x, w1, w2, w, ids.cpu())
    ref16 = reference(x, w1, w2, w, ids.cpu(), bf16_steps=True)
    for align in (fmt.moe_align_block_size, fmt.moe_align_block_size_torch):
        out = fmt.fused_experts(x, w1, w2, w, ids, config, align=align)
        assert out.shape == (T, H) and out.dtype == torch.bfloat16
        out = out.double().cpu()
        assert not out.isnan().any()
        # Against the exact layer: bf16 roundings only. Against the same roundings: only
        # fp32 accumulation order and the final bf16 rounding.
        rel = ((out - ref).norm() / ref.norm()).item()
        rel16 = ((out - ref16).norm() / ref16.norm()).item()
        assert rel < 3e-2 and rel16 < 4e-3, (align.__name__, rel, rel16)


def test_silu_and_mul():
    x = torch.randn(7, 2 * 1500).to(torch.bfloat16).to(DEV)  # D = 1500: two blocks, masked
    out = torch.empty(7, 1500, dtype=torch.bfloat16, device=DEV)
    fmt.silu_and_mul(out, x)
    xf = x.float().cpu()
    ref = torch.nn.functional.silu(xf[:, :1500]) * xf[:, 1500:]
    assert torch.allclose(out.float().cpu(), ref, rtol=1e-2, atol=1e-2)


def test_configs():
    h200 = "NVIDIA H200"
    c, src = fmt.pick_config(16, 8, 14336, h200)
    assert (c["BLOCK_SIZE_M"], c["BLOCK_SIZE_K"], c["num_stages"]) == (16, 256, 3)
    assert src == "vLLM tuned E=8,N=14336,device_name=NVIDIA_H200.json [16]"
    c, src = fmt.pick_config(3000, 64, 2560, h200)  # nearest key: 3072 -> not embedded; 4096
    assert c["BLOCK_SIZE_N"] == 256 and "[4096]" in src
    assert fmt.pick_config(16, 64, 1408, h200)[0] == fmt.default_config(16, 64)
    h100 = "NVIDIA H100 80GB HBM3"
    c, src = fmt.pick_config(16, 8, 14336, h100)  # H100's own table, not the H200's
    assert (c["BLOCK_SIZE_M"], c["BLOCK_SIZE_N"], c["num_stages"]) == (64, 128, 2)
    assert src == "vLLM tuned E=8,N=14336,device_name=NVIDIA_H100_80GB_HBM3.json [16]"
    assert fmt.pick_config(4096, 64, 1408, h100)[0]["BLOCK_SIZE_K"] == 128
    assert fmt.pick_config(16, 64, 2560, h100)[0] == fmt.default_config(16, 64)
    assert fmt.pick_config(16, 8, 14336, "NVIDIA H200 NVL")[1] == "vLLM get_default_config"
    assert fmt.pick_config(16, 8, 14336, None)[1] == "vLLM get_default_config"
    assert fmt.default_config(64, 64)["BLOCK_SIZE_M"] == 16
    assert fmt.default_config(65, 64)["BLOCK_SIZE_M"] == 64


def test_kernels_build_for_hopper():
    """Every kernel variant bench/h200.py launches builds for sm_90a and fits in its shared
    memory (build_check.py, in a process of its own: the interpreter must be off there)."""
    pytest.importorskip("samoyeds", reason="samoyeds (python/) is not importable")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    here = Path(__file__).resolve().parent
    env["PYTHONPATH"] = os.pathsep.join([str(here.parent), str(here.parent.parent / "python"),
                                         env.get("PYTHONPATH", "")])
    run = subprocess.run([sys.executable, str(here / "build_check.py")], env=env,
                         capture_output=True, text=True)
    if run.returncode == 3:
        pytest.skip(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0, run.stdout + run.stderr
