"""Tests of the vLLM-design Triton fused MoE baseline (fused_moe_triton.py) against a float64
reference of the MoE layer, on small shapes: T not a multiple of the block, experts that get
no token, K and N not multiples of the tile, a grouped tile order, the small-batch bound; and
gpt-oss's expert form: the experts' biases and clamped SwiGLU (both clamps taken, NaN kept).

    python3 -m pytest -q bench/baselines/test_fused_moe_triton.py

On a machine without a GPU the kernels run in Triton's interpreter (TRITON_INTERPRET=1, set
here before Triton is imported); with one, on the GPU. Skipped without torch or Triton.
"""
import os
import subprocess
import sys
import warnings
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


def first_gemm(x, w1, ids, b1=None):
    """float64 gate/up pre-activations [T, k, 2I] of every slot: W1[e] x (+ b1[e])."""
    x, w1 = x.double().cpu(), w1.double().cpu()
    e = ids.long().cpu()
    gu = torch.einsum("tkoh,th->tko", w1[e], x)
    return gu if b1 is None else gu + b1.double().cpu()[e]


def clamped_swiglu_ref(gate, up, alpha=1.702, limit=7.0):
    """gpt-oss's activation as torch writes it (torch.clamp keeps NaN)."""
    g = gate.clamp(max=limit)
    return g * torch.sigmoid(alpha * g) * (up.clamp(-limit, limit) + 1)


def reference(x, w1, w2, w, ids, bf16_steps=False, b1=None, b2=None, activation="silu",
              alpha=1.702, limit=7.0):
    """float64 MoE layer: sum_j w[t, j] * (W2[e] act(W1[e] x + b1[e]) + b2[e]), e = ids[t, j],
    act(gu) = silu(gate) * up or clamped_swiglu (biases as zeros where None).
    With bf16_steps, rounded to bf16 where the kernels store: gate/up, the activation, and
    each slot's weighted output (the sum over top_k then in float). Triton's interpreter
    converts fp32 to bf16 by truncation (a GPU rounds to nearest even): so does this
    reference there."""
    x, w1, w2, w = (t.double().cpu() for t in (x, w1, w2, w))
    inter = w2.shape[2]
    b2 = b2.double().cpu() if b2 is not None else torch.zeros(w2.shape[:2], dtype=torch.double)

    def r(t):
        if not bf16_steps:
            return t
        if fmt._INTERPRET:
            return (t.float().view(torch.int32) & ~0xFFFF).view(torch.float32).double()
        return t.to(torch.bfloat16).double()

    def act(gu):
        if activation == "silu":
            return torch.nn.functional.silu(gu[:inter]) * gu[inter:]
        return clamped_swiglu_ref(gu[:inter], gu[inter:], alpha, limit)

    gus = first_gemm(x, w1, ids, b1)
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        for j in range(ids.shape[1]):
            e = int(ids[t, j])
            h = r(act(r(gus[t, j])))
            out[t] += r(w[t, j] * (w2[e] @ h + b2[e]))
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


@pytest.mark.skipif(not fmt._INTERPRET, reason="Triton's CPU interpreter only (TRITON_INTERPRET=1)")
def test_interpreter_runtime_loop_bound():
    """The count kernel loops over a runtime bound (range(0, numel, CHUNK)); Triton 3.6's
    interpreter converted it with int() of a one-element array, which NumPy >= 2.3 refuses
    and older NumPy deprecates: as errors, that conversion must not happen."""
    ids = torch.randint(0, 8, (300, 2), generator=torch.Generator().manual_seed(3),
                        dtype=torch.int32).to(DEV)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        out = fmt.moe_align_block_size(ids, 16, 8)
    check_align(ids, 16, 8, out)


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
    check_layer(x, w1, w2, w, ids, config, ref, ref16)


def check_layer(x, w1, w2, w, ids, config, ref, ref16, **form):
    """fused_experts (with either alignment; form: biases and activation) against the float64
    references, exact (ref) and with the kernels' bf16 roundings (ref16)."""
    T, H = x.shape
    for align in (fmt.moe_align_block_size, fmt.moe_align_block_size_torch):
        out = fmt.fused_experts(x, w1, w2, w, ids, config, align=align, **form)
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


def gpt_oss_form(T, H, inter, E, k, seed, avoid=(), scale=1.0):
    """make()'s layer with biases b1 [E, 2I], b2 [E, H] (bf16); scale widens x and b1 so that
    the gate/up pre-activations reach past the clamps."""
    x, w1, w2, w, ids = make(T, H, inter, E, k, seed, avoid)
    g = torch.Generator().manual_seed(seed + 1)
    b1 = (torch.randn(E, 2 * inter, generator=g) * scale).to(torch.bfloat16).to(DEV)
    b2 = (torch.randn(E, H, generator=g) * 0.5).to(torch.bfloat16).to(DEV)
    x = (x.float() * scale).to(torch.bfloat16)
    return x, w1, w2, w, ids, b1, b2


def test_biases_and_clamped_swiglu():
    """gpt-oss's experts: both biases and clamped SwiGLU, pre-activations wide enough that
    the gate's upper clamp and the up clamp on both sides are taken; T = 13 not a multiple of
    the block, expert 2 without a token, K = 64 and N = 2I = 96 over several tiles."""
    T, H, inter, E, k, config = 13, 64, 48, 4, 2, cfg(16, 32, 32, 2)
    x, w1, w2, w, ids, b1, b2 = gpt_oss_form(T, H, inter, E, k, seed=7, avoid=(2,), scale=6.0)
    assert not int((ids == 2).sum())
    gu = first_gemm(x, w1, ids.cpu(), b1)
    gate, up = gu[..., :inter], gu[..., inter:]
    limit = 7.0
    # The clamps must matter: some gates above the limit, some ups past it on either side
    # (and some of each inside, so the unclamped branch is tested too).
    assert (gate > limit).sum() >= 10 and (gate < limit).sum() >= 10
    assert (up > limit).sum() >= 10 and (up < -limit).sum() >= 10
    assert (up.abs() < limit).sum() >= 10
    form = dict(b1=b1, b2=b2, activation="clamped_swiglu")
    ref = reference(x, w1, w2, w, ids.cpu(), **form)
    ref16 = reference(x, w1, w2, w, ids.cpu(), bf16_steps=True, **form)
    # The clamps change the layer's output: a reference without them differs.
    unclamped = reference(x, w1, w2, w, ids.cpu(), **dict(form, limit=float("inf")))
    assert ((unclamped - ref).norm() / ref.norm()).item() > 0.1
    check_layer(x, w1, w2, w, ids, config, ref, ref16, **form)


def test_biases_with_silu():
    """Both biases, silu: T = 17 past one block, expert 0 without a token."""
    T, H, inter, E, k, config = 17, 64, 32, 4, 2, cfg(16, 32, 16, 1)
    x, w1, w2, w, ids, b1, b2 = gpt_oss_form(T, H, inter, E, k, seed=3, avoid=(0,))
    form = dict(b1=b1, b2=b2)
    ref = reference(x, w1, w2, w, ids.cpu(), **form)
    ref16 = reference(x, w1, w2, w, ids.cpu(), bf16_steps=True, **form)
    # The biases matter: a reference without them differs.
    assert ((reference(x, w1, w2, w, ids.cpu()) - ref).norm() / ref.norm()).item() > 0.1
    check_layer(x, w1, w2, w, ids, config, ref, ref16, **form)


@pytest.mark.parametrize("activation", ["silu", "clamped_swiglu"])
def test_nan_propagates(activation):
    """A NaN in one token's row of x makes that token's output row NaN (the clamps keep it, as
    torch.clamp does) and no other row."""
    T, H, inter, E, k, config = 6, 64, 32, 4, 2, cfg(16, 16, 32, 1)
    x, w1, w2, w, ids, b1, b2 = gpt_oss_form(T, H, inter, E, k, seed=11, scale=6.0)
    x[4, 5] = float("nan")
    out = fmt.fused_experts(x, w1, w2, w, ids, config, b1=b1, b2=b2, activation=activation)
    out = out.double().cpu()
    ref = reference(x, w1, w2, w, ids.cpu(), b1=b1, b2=b2, activation=activation)
    assert ref[4].isnan().all() and not ref[torch.arange(T) != 4].isnan().any()
    assert out[4].isnan().all(), out[4]
    assert not out[torch.arange(T) != 4].isnan().any()


def test_unknown_activation():
    x, w1, w2, w, ids = make(3, 64, 32, 4, 2, seed=1)
    with pytest.raises(ValueError, match="gelu"):
        fmt.fused_experts(x, w1, w2, w, ids, cfg(16, 16, 16, 1), activation="gelu")


def test_clamped_swiglu():
    """The activation kernel alone against torch: D = 1500 (two blocks, masked), values past
    both limits, non-default alpha and limit, NaN in a gate and in an up kept."""
    D, alpha, limit = 1500, 1.5, 5.0
    g = torch.Generator().manual_seed(5)
    x = (torch.randn(7, 2 * D, generator=g) * 6).to(torch.bfloat16)
    x[2, 10] = float("nan")       # a gate
    x[3, D + 20] = float("nan")   # an up
    x = x.to(DEV)
    out = torch.empty(7, D, dtype=torch.bfloat16, device=DEV)
    fmt.clamped_swiglu(out, x, alpha, limit)
    xf = x.double().cpu()
    assert (xf[:, :D] > limit).any() and (xf[:, D:] > limit).any() and (xf[:, D:] < -limit).any()
    ref = clamped_swiglu_ref(xf[:, :D], xf[:, D:], alpha, limit)
    got = out.double().cpu()
    assert got[2, 10].isnan() and got[3, 20].isnan()
    assert got.isnan().sum() == 2
    assert torch.allclose(got, ref, rtol=1e-2, atol=1e-2, equal_nan=True)


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
