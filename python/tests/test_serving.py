"""samoyeds.load and the experts-only torch op.

Without a GPU: the max_tokens refusal, the op's fake implementation and checks (torch on
meta tensors; skipped without torch). On a GPU (skipped otherwise, with the reason): a
compiled generated checkpoint of every architecture is loaded into a small HF-shaped
torch model and compared with a float32 torch reference on the pruned weights; CUDA
graphs are captured at several T with no earlier eager call and replayed against eager
runs; T above max_tokens is refused.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import LIB_MISSING
from samoyeds._capi import SamoyedsError
from samoyeds.layer import check_max_tokens

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - CI without torch
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

ROOT = Path(__file__).resolve().parents[2]
OPT = os.environ.get("SAMOYEDS_OPT") or str(ROOT / "build" / "bin" / "samoyeds-opt")


def _gpu_missing():
    if torch is None:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "no CUDA device (torch.cuda.is_available() is False)"
    if torch.cuda.get_device_capability(0) != (9, 0):
        return f"the bundles target sm_90a; this GPU is sm_{''.join(map(str, torch.cuda.get_device_capability(0)))}"
    if LIB_MISSING:
        return f"runtime library: {LIB_MISSING}"
    if not Path(OPT).is_file():
        return f"samoyeds-opt not found at {OPT} (set $SAMOYEDS_OPT)"
    return None


GPU_MISSING = _gpu_missing()
requires_gpu = pytest.mark.skipif(GPU_MISSING is not None,
                                  reason=f"GPU test: {GPU_MISSING}")


def test_max_tokens_refusal():
    check_max_tokens(64, 64)
    check_max_tokens(10 ** 6, None)
    with pytest.raises(SamoyedsError, match="65 tokens exceed max_tokens = 64") as e:
        check_max_tokens(65, 64)
    assert e.value.status_name == "SY_ERR_INVALID_ARGUMENT"


class _FakeLayer:
    """What the op's checks read from a registered layer."""

    hidden, top_k = 128, 2

    def __call__(self, x, w, ids):  # pragma: no cover - never run on CPU
        raise AssertionError


@requires_torch
def test_experts_op_fake_and_checks():
    from samoyeds import torch_op

    h = torch_op.register_layer(_FakeLayer())
    try:
        x = torch.empty(5, 128, dtype=torch.bfloat16, device="meta")
        w = torch.empty(5, 2, dtype=torch.float32, device="meta")
        ids = torch.empty(5, 2, dtype=torch.int32, device="meta")
        y = torch.ops.samoyeds.moe_experts(x, w, ids, h)
        assert y.shape == (5, 128) and y.dtype == torch.bfloat16 and y.device.type == "meta"
        with pytest.raises(SamoyedsError, match=r"topk_ids must have shape \[5, 2\]"):
            torch.ops.samoyeds.moe_experts(x, w, ids[:, :1], h)
        with pytest.raises(SamoyedsError, match="topk_weights must be torch.float32"):
            torch.ops.samoyeds.moe_experts(x, w.to(torch.bfloat16), ids, h)
        with pytest.raises(SamoyedsError, match="x must have shape"):
            torch.ops.samoyeds.moe_experts(x[:, :64], w, ids, h)
        cpu = [t.to_empty(device="cpu") for t in (x, w, ids)]
        with pytest.raises(SamoyedsError, match="must be a CUDA tensor"):
            torch.ops.samoyeds.moe_experts(*cpu, h)
    finally:
        torch_op.unregister_layer(h)


@requires_torch
def test_load_refuses_other_architectures(tmp_path):
    import json

    from samoyeds import serving

    d = tmp_path / "m"
    d.mkdir()
    (d / "samoyeds-model.json").write_text(json.dumps({"format": "samoyeds-model"}))
    with pytest.raises(SamoyedsError, match="unsupported version"):
        serving.load(nn.Module(), d)


# --------------------------------------------------------------------------- GPU

ARCHS = ("mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "deepseek_v2", "deepseek_v3")
E, H, I, K = 4, 128, 128, 2


def _bf16(a):
    return torch.from_numpy(np.ascontiguousarray(a).view(np.int16)).view(torch.bfloat16)


def _tensor(t, name):
    st, a = t[name]
    return _bf16(a) if st == "BF16" else torch.from_numpy(np.asarray(a))


if torch is not None:
    class _MLP(nn.Module):
        def __init__(self, t, prefix, names):
            super().__init__()
            g, u, d = names
            self.g = nn.Linear(H, I, bias=False)
            self.u = nn.Linear(H, I, bias=False)
            self.d = nn.Linear(I, H, bias=False)
            for lin, p in ((self.g, g), (self.u, u), (self.d, d)):
                lin.weight.data = _tensor(t, f"{prefix}{p}.weight").float()

        def forward(self, x):  # an HF MLP in the model dtype
            return self.d(nn.functional.silu(self.g(x)) * self.u(x))


def _hf_shaped_model(arch, t):
    """model.layers[i].mlp (or block_sparse_moe) with gate, experts and shared experts
    holding the checkpoint's tensors, as transformers lays them out."""
    from helpers import DEEPSEEK, NAMES

    moe, g, u, d = NAMES[arch]
    first = 1 if arch in DEEPSEEK else 0
    model = nn.Module()
    model.model = nn.Module()
    layers = nn.ModuleList()
    for i in range(first + 2):
        dl = nn.Module()
        if i < first:
            dl.mlp = nn.Identity()  # a dense layer: no gate, no experts
        else:
            blk = nn.Module()
            blk.gate = nn.Linear(H, E, bias=False)
            blk.gate.weight.data = _tensor(t, f"model.layers.{i}.{moe}.gate.weight")
            if arch == "deepseek_v3":
                blk.gate.register_buffer("e_score_correction_bias", _tensor(
                    t, f"model.layers.{i}.mlp.gate.e_score_correction_bias"))
            blk.experts = nn.ModuleList(
                _MLP(t, f"model.layers.{i}.{moe}.experts.{e}.", (g, u, d)) for e in range(E))
            if arch == "qwen2_moe":
                blk.shared_expert = _MLP(t, f"model.layers.{i}.mlp.shared_expert.", (g, u, d))
                blk.shared_expert_gate = nn.Linear(H, 1, bias=False)
                blk.shared_expert_gate.weight.data = _tensor(
                    t, f"model.layers.{i}.mlp.shared_expert_gate.weight")
            if arch in DEEPSEEK:
                blk.shared_experts = _MLP(t, f"model.layers.{i}.mlp.shared_experts.",
                                          (g, u, d))
            setattr(dl, moe, blk)
        layers.append(dl)
    model.model.layers = layers
    return model.cuda().to(torch.bfloat16)


def _reference(block, x, weights_file, prefix):
    """float32 torch: the block's routing, the pruned experts (unpacked from the packed
    weight file), the shared experts."""
    from samoyeds.pack import unpack
    from samoyeds.weightfile import WeightFile

    wf = WeightFile(weights_file)
    try:
        w13 = _bf16(unpack(wf.read(prefix + "w13"))).float().cuda()
        w2 = _bf16(unpack(wf.read(prefix + "w2"))).float().cuda()
    finally:
        wf.close()
    weights, ids, _ = block.route(x)
    xf = x.float()
    y = torch.zeros_like(xf)
    for j in range(ids.shape[1]):
        for e in range(E):
            sel = ids[:, j] == e
            if sel.any():
                h = xf[sel] @ w13[e].T
                a = nn.functional.silu(h[:, :I]) * h[:, I:]
                y[sel] += weights[sel, j:j + 1] * (a.to(torch.bfloat16).float() @ w2[e].T)
    if block.shared is not None:
        s = block.shared(x).float()
        if block.shared_gate is not None:
            s = torch.sigmoid(block.shared_gate(x).float()) * s
        y = y + s
    return y


@requires_gpu
@pytest.mark.parametrize("arch", ARCHS)
def test_load_runs_the_compiled_experts(tmp_path, arch):
    from helpers import make_hf_checkpoint

    from samoyeds import load
    from samoyeds.compile import compile_model

    _, t = make_hf_checkpoint(tmp_path / "ckpt", arch, layers=2, E=E, H=H, I=I, k=K)
    out = tmp_path / "model"
    compile_model(tmp_path / "ckpt", out, samoyeds_opt=OPT, progress=False,
                  log=open(os.devnull, "w"))
    model = _hf_shaped_model(arch, t)
    swapped = load(model, out, max_tokens=256)
    first = 1 if arch.startswith("deepseek") else 0
    assert swapped == [first, first + 1]
    torch.manual_seed(0)
    for i in swapped:
        blk = getattr(model.model.layers[i], "block_sparse_moe" if arch == "mixtral"
                      else "mlp")
        x = torch.randn(37, H, device="cuda", dtype=torch.bfloat16)
        y = blk(x)
        ref = _reference(blk, x, out / "weights.safetensors", f"layers.{i}.")
        err = (y.float() - ref).norm() / ref.norm()
        assert err < 2e-2, f"layer {i}: relative error {err:.4f}"


@requires_gpu
def test_cuda_graphs_without_warmup(tmp_path):
    from helpers import make_hf_checkpoint

    from samoyeds import load
    from samoyeds.compile import compile_model

    _, t = make_hf_checkpoint(tmp_path / "ckpt", "deepseek_v3", layers=1, E=E, H=H, I=I,
                              k=K)
    out = tmp_path / "model"
    compile_model(tmp_path / "ckpt", out, samoyeds_opt=OPT, progress=False,
                  log=open(os.devnull, "w"))
    model = _hf_shaped_model("deepseek_v3", t)
    load(model, out, max_tokens=128)
    blk = model.model.layers[1].mlp
    torch.manual_seed(1)
    # torch's own lazy initialisation (cuBLAS for the router matmul) outside the
    # capture, on an unrelated matmul: the Samoyeds layer itself is never run before.
    a = torch.randn(8, H, device="cuda", dtype=torch.bfloat16)
    (a @ a.T).sum().item()
    graphs = []
    # Capture first, at several T, with no eager call of the layer before.
    for T in (1, 7, 64, 128):
        static_x = torch.randn(T, H, device="cuda", dtype=torch.bfloat16)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            static_y = blk(static_x)
        graphs.append((g, static_x, static_y))
    for g, static_x, static_y in graphs:
        for _ in range(2):
            static_x.copy_(torch.randn_like(static_x))
            g.replay()
            eager = blk(static_x.clone())
            torch.cuda.synchronize()
            assert torch.equal(static_y, eager), f"T = {static_x.shape[0]}"
    with pytest.raises(SamoyedsError, match="129 tokens exceed max_tokens = 128"):
        blk(torch.randn(129, H, device="cuda", dtype=torch.bfloat16))


@requires_gpu
def test_out_of_range_ids_are_clamped(tmp_path):
    """The dispatch clamps ids outside [0, E): -1 runs expert 0, E + 3 expert E - 1."""
    from helpers import make_hf_checkpoint

    from samoyeds.compile import compile_model
    from samoyeds.layer import MoELayer

    make_hf_checkpoint(tmp_path / "ckpt", "olmoe", layers=1, E=E, H=H, I=I, k=K)
    out = tmp_path / "model"
    compile_model(tmp_path / "ckpt", out, samoyeds_opt=OPT, progress=False,
                  log=open(os.devnull, "w"))
    layer = MoELayer(next((out / "bundles").iterdir()), max_tokens=16)
    layer.load_weights(out / "weights.safetensors", "layers.0.")
    x = torch.randn(16, H, device="cuda", dtype=torch.bfloat16)
    w = torch.rand(16, K, device="cuda", dtype=torch.float32)
    bad = torch.tensor([[-1, E + 3]] * 16, device="cuda", dtype=torch.int32)
    good = torch.tensor([[0, E - 1]] * 16, device="cuda", dtype=torch.int32)
    assert torch.equal(layer(x, w, bad), layer(x, w, good))
    layer.close()
