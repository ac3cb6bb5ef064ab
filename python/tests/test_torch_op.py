"""Tests of samoyeds.layer (LayerBundle, MoELayer) and samoyeds.torch_op.

Without a GPU: op registration and schema, the fake implementation, error
messages, manifest parsing and memory sizes of a layer bundle (compiled here
when build/bin/samoyeds-opt exists). With a GPU: the layer against a torch
reference of samoyeds.moe_ffn on pruned weights. The GPU tests need a layer
bundle: $SAMOYEDS_TEST_LAYER_BUNDLE (compiled from SMALL_MLIR below with
samoyeds-opt), or samoyeds-opt on this machine ($SAMOYEDS_OPT or build/bin).
"""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import requires_runtime
from helpers import bundle_dir

torch = pytest.importorskip("torch", reason="torch is not installed")

from samoyeds._capi import SamoyedsError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
E, H, I, K = 4, 256, 256, 2
SMALL_MLIR = f"""\
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @small(%x: tensor<?x{H}xbf16> {{samoyeds.name = "x"}},
    %router: tensor<{E}x{H}xbf16> {{samoyeds.name = "router"}},
    %w13: tensor<{E}x{2 * I}x{H}xbf16, #ss> {{samoyeds.name = "w13"}},
    %w2: tensor<{E}x{H}x{I}xbf16, #ss> {{samoyeds.name = "w2"}})
    -> (tensor<?x{H}xbf16> {{samoyeds.name = "y"}}) {{
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k({K}) {{renormalize}}
      : (tensor<?x{H}xbf16>, tensor<{E}x{H}xbf16>, tensor<{E}x{2 * I}x{H}xbf16, #ss>,
         tensor<{E}x{H}x{I}xbf16, #ss>) -> tensor<?x{H}xbf16>
  return %y : tensor<?x{H}xbf16>
}}
"""

HAS_CUDA = torch.cuda.is_available()
requires_cuda = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device (torch.cuda.is_available() "
                                   "is False): GPU tests of MoELayer skipped")


@pytest.fixture(scope="session")
def layer_bundle(tmp_path_factory):
    def build(opt, d):
        src = d / "small.mlir"
        src.write_text(SMALL_MLIR)
        subprocess.run([opt, str(src), f"--samoyeds-to-bundle=chip=sm_90a dir={d / 'b'}", "-o",
                        os.devnull], check=True)
        return d / "b"

    return bundle_dir("SAMOYEDS_TEST_LAYER_BUNDLE", tmp_path_factory, "layer bundle", build)


GPT_OSS_ACTIVATION = {"kind": "clamped_swiglu", "alpha": 1.702, "limit": 7.0}


class StubLayer:
    """Stands in for a MoELayer in CPU tests; ``gpt_oss``: a gpt-oss moe_ffn bundle's (the
    router's bias, the experts' biases, the clamped SwiGLU)."""

    def __init__(self, hidden=H, experts=E, top_k=K, renormalize=True, scale=1.0,
                 gpt_oss=False):
        self.hidden, self.experts, self.top_k = hidden, experts, top_k
        self.renormalize, self.routed_scaling_factor = renormalize, scale
        self.dir, self.router, self.router_bias, self.calls = "stub", None, None, 0
        self.router_bias_dtype = "bf16" if gpt_oss else None
        self.bias_inputs = ("w13_bias", "w2_bias") if gpt_oss else ()
        self.activation = dict(GPT_OSS_ACTIVATION) if gpt_oss else {"kind": "silu"}

    def __call__(self, x):
        self.calls += 1
        return x * 2

    def set_router(self, r, bias=None):
        self.router, self.router_bias = r, bias

    def describe(self):
        return "stub"


# --------------------------------------------------------------------------- op, no GPU


def test_op_registered_with_schema():
    import samoyeds.torch_op  # noqa: F401

    op = torch.ops.samoyeds.moe_ffn.default
    assert "samoyeds::moe_ffn(Tensor x, int handle) -> Tensor" in str(op._schema)


def test_lazy_exports():
    import samoyeds

    assert samoyeds.SamoyedsMoEBlock.__name__ == "SamoyedsMoEBlock"
    assert callable(samoyeds.swap_moe_blocks)
    with pytest.raises(AttributeError):
        samoyeds.NoSuchThing  # noqa: B018


def test_fake_impl_shapes():
    from torch._subclasses.fake_tensor import FakeTensorMode

    from samoyeds import torch_op

    h = torch_op.register_layer(StubLayer())
    try:
        with FakeTensorMode():
            x = torch.empty(7, H, dtype=torch.bfloat16, device="cpu")
            y = torch.ops.samoyeds.moe_ffn(x, h)
            assert y.shape == (7, H) and y.dtype == torch.bfloat16
        y = torch.ops.samoyeds.moe_ffn(torch.empty(3, H, dtype=torch.bfloat16, device="meta"), h)
        assert y.shape == (3, H) and y.device.type == "meta"
        with pytest.raises(SamoyedsError, match=r"shape \[T, 256\]"):
            torch.ops.samoyeds.moe_ffn(torch.empty(3, H + 1, dtype=torch.bfloat16,
                                                   device="meta"), h)
        with pytest.raises(SamoyedsError, match="2-D"):
            torch.ops.samoyeds.moe_ffn(torch.empty(3, 1, H, dtype=torch.bfloat16,
                                                   device="meta"), h)
    finally:
        torch_op.unregister_layer(h)


def test_op_errors_on_cpu():
    from samoyeds import torch_op

    stub = StubLayer()
    h = torch_op.register_layer(stub)
    try:
        with pytest.raises(SamoyedsError, match="CUDA tensor"):
            torch.ops.samoyeds.moe_ffn(torch.zeros(2, H, dtype=torch.bfloat16), h)
        with pytest.raises(SamoyedsError, match="torch.bfloat16"):
            torch.ops.samoyeds.moe_ffn(torch.zeros(2, H), h)
        assert stub.calls == 0
    finally:
        torch_op.unregister_layer(h)
    with pytest.raises(SamoyedsError, match="no layer registered under handle") as e:
        torch.ops.samoyeds.moe_ffn(torch.zeros(2, H, dtype=torch.bfloat16), h)
    assert e.value.status_name == "SY_ERR_NOT_FOUND"
    with pytest.raises(SamoyedsError, match="expected a MoELayer"):
        torch_op.register_layer(object())


def test_torch_compile_traces_through_fake():
    from samoyeds import torch_op

    h = torch_op.register_layer(StubLayer())
    try:
        gm = torch.fx.experimental.proxy_tensor.make_fx(
            lambda x: torch.ops.samoyeds.moe_ffn(x, h) + 1, tracing_mode="fake")(
                torch.zeros(5, H, dtype=torch.bfloat16))
        assert "samoyeds.moe_ffn" in gm.code
    finally:
        torch_op.unregister_layer(h)


# --------------------------------------------------------------------------- block, no GPU


class V4Block(torch.nn.Module):
    """transformers 4.x layout: router an nn.Linear, experts a ModuleList."""

    def __init__(self, experts=E, top_k=K):
        super().__init__()
        self.top_k = top_k
        self.gate = torch.nn.Linear(H, experts, bias=False)
        self.experts = torch.nn.ModuleList()


class V5Router(torch.nn.Module):
    def __init__(self, norm=None):
        super().__init__()
        self.top_k = K
        self.weight = torch.nn.Parameter(torch.randn(E, H))
        if norm is not None:
            self.norm_topk_prob = norm

    def forward(self, x):
        return torch.nn.functional.linear(x, self.weight), None, None


class Qwen2Block(torch.nn.Module):
    """transformers 5.x Qwen2-MoE layout with a shared expert."""

    def __init__(self, norm=False):
        super().__init__()
        self.gate = V5Router(norm)
        self.experts = torch.nn.Module()
        self.shared_expert = torch.nn.Linear(H, H, bias=False)
        self.shared_expert_gate = torch.nn.Linear(H, 1, bias=False)


class GraniteBlock(torch.nn.Module):
    """GraniteMoE's layout: router.layer an nn.Linear, stacked experts in input_linear."""

    def __init__(self, top_k=K):
        super().__init__()
        self.router = torch.nn.Module()
        self.router.top_k = top_k
        self.router.layer = torch.nn.Linear(H, E, bias=False)
        self.input_linear = torch.nn.Module()
        self.input_linear.weight = torch.nn.Parameter(torch.empty(E, 2 * H, H))


def test_granite_block_from_hf():
    """GraniteMoE's block: the router is router.layer, its top-k softmax is Mixtral's
    renormalised weights, and it returns (hidden states, router logits)."""
    from samoyeds.torch_op import SamoyedsMoEBlock, find_moe_block

    stub = StubLayer()
    b = SamoyedsMoEBlock.from_hf(GraniteBlock(), stub)
    assert b.returns_tuple and tuple(stub.router.shape) == (E, H)
    with pytest.raises(SamoyedsError, match="top_k 3, bundle 2"):
        SamoyedsMoEBlock.from_hf(GraniteBlock(top_k=3), StubLayer())
    with pytest.raises(SamoyedsError, match="renormalize True, bundle False"):
        SamoyedsMoEBlock.from_hf(GraniteBlock(), StubLayer(renormalize=False))
    broken = GraniteBlock()
    broken.router.layer = torch.nn.Identity()
    with pytest.raises(SamoyedsError, match=r"GraniteBlock: no router 'router.layer.weight'"):
        SamoyedsMoEBlock.from_hf(broken, StubLayer())
    dl = torch.nn.Module()
    dl.block_sparse_moe = GraniteBlock()
    assert find_moe_block(dl)[0] == "block_sparse_moe"
    y, logits = b.to(device="meta", dtype=torch.bfloat16)(
        torch.empty(2, 3, H, dtype=torch.bfloat16, device="meta"))
    assert y.shape == (2, 3, H) and logits.shape == (6, E)


class GptOssBlock(torch.nn.Module):
    """transformers' GptOssMLP, its layout and (transformers 5's) math, for where transformers
    is not installed: router (GptOssTopKRouter: weight [E, H], bias [E], top_k) and experts
    (GptOssExperts: gate_up_proj [E, H, 2I] and gate_up_proj_bias [E, 2I], gate and up
    interleaved along their last axis, down_proj [E, I, H], down_proj_bias [E, H], alpha,
    limit). ``forward`` returns (hidden states, router scores [T, k]), in its dtype."""

    def __init__(self, experts=E, top_k=K):
        super().__init__()
        self.router = torch.nn.Module()
        self.router.top_k = top_k
        self.router.weight = torch.nn.Parameter(torch.randn(experts, H))
        self.router.bias = torch.nn.Parameter(torch.randn(experts))
        self.experts = torch.nn.Module()
        for name, shape in (("gate_up_proj", (experts, H, 2 * I)),
                            ("gate_up_proj_bias", (experts, 2 * I)),
                            ("down_proj", (experts, I, H)), ("down_proj_bias", (experts, H))):
            setattr(self.experts, name, torch.nn.Parameter(torch.randn(shape)))
        self.experts.alpha, self.experts.limit = 1.702, 7.0

    def forward(self, hidden_states):
        r, ex = self.router, self.experts
        x = hidden_states.reshape(-1, hidden_states.shape[-1])
        top, ids = torch.topk(torch.nn.functional.linear(x, r.weight, r.bias), r.top_k, dim=-1)
        scores = torch.softmax(top, dim=1, dtype=top.dtype)
        y = torch.zeros_like(x)
        for e in range(ex.gate_up_proj.shape[0]):
            tok, slot = torch.where(ids == e)
            gu = x[tok] @ ex.gate_up_proj[e] + ex.gate_up_proj_bias[e]
            gate = gu[:, ::2].clamp(max=ex.limit)
            up = gu[:, 1::2].clamp(min=-ex.limit, max=ex.limit)
            out = ((up + 1) * (gate * torch.sigmoid(gate * ex.alpha))) @ ex.down_proj[e]
            y.index_add_(0, tok, (out + ex.down_proj_bias[e]) * scores[tok, slot, None])
        return y.reshape(hidden_states.shape), scores


def _gpt_oss_layout(w13, w2, b13, b2):
    """GptOssExperts' tensors of w13 [E, 2I, H] (gate rows first), w2 [E, H, I] and their
    biases: gate_up_proj [E, H, 2I] and gate_up_proj_bias with gate and up interleaved,
    down_proj [E, I, H], down_proj_bias (what samoyeds.convert, and helpers.stacked,
    read back)."""
    def interleave(a):  # [..., 2I] gate first -> gate 0, up 0, gate 1, up 1, ...
        gate, up = a.chunk(2, dim=-1)
        return torch.stack((gate, up), dim=-1).flatten(-2)

    return {"gate_up_proj": interleave(w13.transpose(1, 2)), "gate_up_proj_bias": interleave(b13),
            "down_proj": w2.transpose(1, 2), "down_proj_bias": b2}


def _set_gpt_oss_block(blk, router, router_bias, experts):
    """Puts ``router`` [E, H], ``router_bias`` [E] and ``experts`` (_gpt_oss_layout's) in a
    GptOssMLP-like block (its parameters keep their dtype and device)."""
    with torch.no_grad():
        blk.router.weight.copy_(router)
        blk.router.bias.copy_(router_bias)
        for name, t in experts.items():
            getattr(blk.experts, name).copy_(t)
    return blk


def test_gpt_oss_blocks_are_found():
    """gpt-oss's block (router with a bias beside experts with biases) is a MoE block to
    samoyeds.load's search, its router the module's router, its bias the logits' bias, its
    activation the clamped SwiGLU of its experts' alpha and limit; one without its router
    weight is refused, naming it."""
    from samoyeds.torch_op import (SamoyedsMoEBlock, find_moe_block, hf_activation, hf_router,
                                   hf_router_bias, hf_router_weight, is_gpt_oss_block)

    blk = GptOssBlock()
    dl = torch.nn.Module()
    dl.mlp = blk
    assert find_moe_block(dl) == ("mlp", blk) and is_gpt_oss_block(blk)
    gate, granite = hf_router(blk)
    assert gate is blk.router and not granite
    assert hf_router_weight(blk, gate, granite) is blk.router.weight
    assert hf_router_bias(blk, gate) is blk.router.bias
    assert not is_gpt_oss_block(V4Block()) and not is_gpt_oss_block(GraniteBlock())
    assert hf_router_bias(V4Block(), V4Block().gate) is None
    assert hf_activation(blk) == GPT_OSS_ACTIVATION
    assert hf_activation(V4Block()) == {"kind": "silu"}
    blk.router.weight = None
    with pytest.raises(SamoyedsError, match="GptOssBlock: no router"):
        SamoyedsMoEBlock.from_hf(blk, StubLayer())


def test_gpt_oss_block_from_hf_takes_the_router_bias():
    """A gpt-oss block with a gpt-oss moe_ffn bundle (router bias, experts' biases, the
    clamped SwiGLU of the same alpha and limit, renormalised top-k): the router and its bias
    become the layer's; the block returns (hidden states, router scores [T, k]) as GptOssMLP
    does, the scores the softmax of the top-k biased logits in the logits' dtype; torch.compile
    traces it whole."""
    from samoyeds.torch_op import SamoyedsMoEBlock

    torch.manual_seed(0)
    blk, stub = GptOssBlock(), StubLayer(gpt_oss=True)
    b = SamoyedsMoEBlock.from_hf(blk, stub)
    assert stub.router is blk.router.weight and stub.router_bias is blk.router.bias
    assert b.returns_scores and not b.returns_tuple and b.gate is blk.router
    x = torch.randn(9, H)
    with torch.no_grad():
        scores = b.router_scores(x)
        top = (x @ blk.router.weight.T + blk.router.bias).topk(K, dim=-1).values
        assert scores.dtype == torch.float32
        assert torch.allclose(scores, torch.softmax(top, dim=-1), rtol=1e-5, atol=1e-6)
        assert torch.allclose(scores, blk(x)[1], rtol=1e-5, atol=1e-6)
    b = b.to(device="meta", dtype=torch.bfloat16)
    xm = torch.empty(2, 3, H, dtype=torch.bfloat16, device="meta")
    for run in (b, torch.compile(b, fullgraph=True, backend="eager")):
        y, scores = run(xm)
        assert y.shape == (2, 3, H) and scores.shape == (6, K)
        assert scores.dtype == torch.bfloat16


def test_gpt_oss_block_and_bundle_must_match():
    """from_hf refuses (SY_ERR_PARAM_MISMATCH, naming every difference, the router left
    alone) a gpt-oss block with a bundle lacking its router bias, its experts' biases or its
    activation, or with another alpha / limit, top_k or renormalisation; a router bias of
    another shape; and a gpt-oss bundle for a block without them. gpt-oss blocks with
    DeepSeek-style shared experts or a selection bias stay refused."""
    from samoyeds.torch_op import SamoyedsMoEBlock

    def refused(blk, stub, *problems):
        with pytest.raises(SamoyedsError) as e:
            SamoyedsMoEBlock.from_hf(blk, stub)
        assert e.value.status_name == "SY_ERR_PARAM_MISMATCH" and stub.router is None
        assert e.value.message == (f"{type(blk).__name__} does not match bundle stub: "
                                   + "; ".join(problems))

    def bundle(**changes):
        stub = StubLayer(gpt_oss=True)
        stub.__dict__.update(changes)
        return stub

    no_router_bias = ("router bias [4], bundle none (its route adds no router bias: compile "
                      "it with layer_mlir(..., router=True, router_bias=True))")
    no_biases = ("experts' biases (gate_up_proj_bias, down_proj_bias), bundle none (no inputs "
                 "w13_bias, w2_bias: compile it with layer_mlir(..., bias=True))")
    clamped = "clamped_swiglu(alpha=1.702, limit=7)"
    refused(GptOssBlock(), StubLayer(), no_router_bias, no_biases, f"activation {clamped}, "
            f"bundle silu")
    refused(GptOssBlock(), bundle(router_bias_dtype=None), no_router_bias)
    refused(GptOssBlock(), bundle(bias_inputs=()), no_biases)
    refused(GptOssBlock(), bundle(activation={"kind": "silu"}),
            f"activation {clamped}, bundle silu")
    other = GptOssBlock()
    other.experts.alpha, other.experts.limit = 1.5, 10.0
    refused(other, bundle(), f"activation clamped_swiglu(alpha=1.5, limit=10), bundle {clamped}")
    other = GptOssBlock()
    other.router.bias = torch.nn.Parameter(torch.randn(E + 1))
    refused(other, bundle(), "router bias [5], bundle router_bias [4]")
    refused(GptOssBlock(top_k=3), bundle(renormalize=False), "top_k 3, bundle 2",
            "renormalize True, bundle False")
    refused(V4Block(), bundle(), "no router bias, bundle router_bias [4]",
            "no experts' biases, bundle w13_bias, w2_bias", f"activation silu, bundle {clamped}")
    shared = GptOssBlock()
    shared.shared_experts = torch.nn.Linear(H, H)
    with pytest.raises(SamoyedsError, match="DeepSeek-style blocks .* not supported"):
        SamoyedsMoEBlock.from_hf(shared, bundle())
    selection = GptOssBlock()
    selection.router.register_buffer("e_score_correction_bias", torch.zeros(E))
    with pytest.raises(SamoyedsError, match="selection-bias routing .* not supported"):
        SamoyedsMoEBlock.from_hf(selection, bundle())


def test_selection_bias_blocks_are_refused():
    """A block with a selection bias (MiniMax-M2's on the block, DeepSeek-V3's on the gate,
    ERNIE-4.5's in moe_statics) routes in a way the bundle's router cannot: refused, naming
    the way that runs it."""
    from samoyeds.torch_op import SamoyedsMoEBlock

    for owner in ("block", "gate", "moe_statics"):
        blk = V4Block()
        blk.moe_statics = torch.nn.Module()  # ERNIE-4.5's holds its bias, [1, E]
        target = {"block": blk, "gate": blk.gate, "moe_statics": blk.moe_statics}[owner]
        target.register_buffer("e_score_correction_bias", torch.zeros(1, E))
        with pytest.raises(SamoyedsError, match="selection-bias routing .* samoyeds.load"):
            SamoyedsMoEBlock.from_hf(blk, StubLayer())


def test_block_from_hf_checks_routing():
    from samoyeds.torch_op import SamoyedsMoEBlock

    with pytest.raises(SamoyedsError, match="top_k 3, bundle 2"):
        SamoyedsMoEBlock.from_hf(V4Block(top_k=3), StubLayer())
    with pytest.raises(SamoyedsError, match=r"router \[E, H\] = \[8, 256\]"):
        SamoyedsMoEBlock.from_hf(V4Block(experts=8), StubLayer())
    with pytest.raises(SamoyedsError, match="renormalize False, bundle True") as e:
        SamoyedsMoEBlock.from_hf(Qwen2Block(norm=False), StubLayer())
    assert e.value.status_name == "SY_ERR_PARAM_MISMATCH"
    stub = StubLayer()
    b = SamoyedsMoEBlock.from_hf(V4Block(), stub)
    assert b.returns_tuple and stub.router is not None and tuple(stub.router.shape) == (E, H)


def test_block_forward_on_meta():
    from samoyeds.torch_op import SamoyedsMoEBlock

    b = SamoyedsMoEBlock.from_hf(V4Block(), StubLayer()).to(device="meta", dtype=torch.bfloat16)
    y, logits = b(torch.empty(2, 3, H, dtype=torch.bfloat16, device="meta"))
    assert y.shape == (2, 3, H) and logits.shape == (6, E)
    q = SamoyedsMoEBlock.from_hf(Qwen2Block(norm=False), StubLayer(renormalize=False))
    q = q.to(device="meta", dtype=torch.bfloat16)
    y = q(torch.empty(2, 3, H, dtype=torch.bfloat16, device="meta"))
    assert isinstance(y, torch.Tensor) and y.shape == (2, 3, H)


def test_block_compiles_fullgraph():
    # torch.compile(fullgraph=True) of a swapped block: no graph break (routing in torch,
    # the op through its fake implementation), for both block layouts.
    from samoyeds.torch_op import SamoyedsMoEBlock

    for blk, stub in ((V4Block(), StubLayer()), (Qwen2Block(norm=False),
                                                 StubLayer(renormalize=False))):
        b = SamoyedsMoEBlock.from_hf(blk, stub).to(device="meta", dtype=torch.bfloat16)
        out = torch.compile(b, fullgraph=True, backend="eager")(
            torch.empty(2, 3, H, dtype=torch.bfloat16, device="meta"))
        y = out[0] if isinstance(out, tuple) else out
        assert y.shape == (2, 3, H) and y.device.type == "meta"


def test_add_shared():
    # The shared expert both block classes (torch_op's and samoyeds.load's) add.
    from samoyeds.torch_op import add_shared

    torch.manual_seed(0)
    x, y = torch.randn(3, H), torch.randn(3, H)
    expert, gate = torch.nn.Linear(H, H, bias=False), torch.nn.Linear(H, 1, bias=False)
    assert add_shared(y, x, None, gate) is y
    assert torch.equal(add_shared(y, x, expert, None), y + expert(x))
    assert torch.allclose(add_shared(y, x, expert, gate),
                          y + torch.sigmoid(x @ gate.weight.T) * (x @ expert.weight.T))


def test_find_moe_block():
    from samoyeds.torch_op import find_moe_block

    dl = torch.nn.Module()
    dl.mlp = torch.nn.Linear(2, 2)
    assert find_moe_block(dl) == (None, None)
    dl.block_sparse_moe = V4Block()
    assert find_moe_block(dl)[0] == "block_sparse_moe"


# --------------------------------------------------------------------------- bundle, no GPU


@requires_runtime
def test_layer_bundle_manifest(layer_bundle):
    from samoyeds import LayerBundle

    with LayerBundle(layer_bundle) as b:
        assert (b.experts, b.hidden, b.intermediate, b.top_k) == (E, H, I, K)
        assert b.renormalize is True and b.routed_scaling_factor == 1.0
        assert b.symbol_values(5) == {"T": 5, "P": 10}
        assert b.buffer_bytes("x", 5) == 5 * H * 2
        assert b.buffer_bytes("y", 5) == 5 * H * 2
        # x is gathered in 16-byte copies, y stored in 16-byte vectors by the
        # combine; the routing outputs are i32 and f32.
        assert b.buffer_alignment("x") == 16 and b.buffer_alignment("y") == 16
        with pytest.raises(SamoyedsError, match="no buffer 'nope'"):
            b.buffer_alignment("nope")
        m1, m2 = b.device_memory_bytes(1), b.device_memory_bytes(101)
        assert m2 > m1 > sum(b.buffer_bytes(n, 0) for n in b.buffers if n.startswith("w"))
        assert m1 == sum(b.buffer_bytes(n, 1) for n in b.buffers)
        assert "E=4 H=256 I=256 top_k=2" in b.describe()
        with pytest.raises(SamoyedsError, match="T must be >= 0"):
            b.device_memory_bytes(-1)


@requires_runtime
def test_layer_bundle_check_weights(layer_bundle, tmp_path):
    from helpers import make_checkpoint

    from samoyeds import LayerBundle
    from samoyeds.convert import convert

    make_checkpoint(tmp_path / "ck", "mixtral", layers=1, E=E, H=H, I=I)
    convert(tmp_path / "ck", tmp_path / "p.safetensors", "mixtral", progress=False)
    b = LayerBundle(layer_bundle)
    b.check_weights(tmp_path / "p.safetensors", "layers.0.")
    with pytest.raises(SamoyedsError) as e:
        b.check_weights(tmp_path / "p.safetensors", "layers.7.")
    assert e.value.status_name == "SY_ERR_NOT_FOUND"


@requires_runtime
def test_layer_bundle_errors(tmp_path):
    from samoyeds import LayerBundle

    with pytest.raises(SamoyedsError, match="cannot read the bundle manifest") as e:
        LayerBundle(tmp_path / "nope")
    assert e.value.status_name == "SY_ERR_IO"
    expert = REPO / "build" / "examples" / "expert_ssmm.bundle"
    if expert.is_dir():  # a bundle, but not a layer (neither moe_ffn nor moe_experts)
        with pytest.raises(SamoyedsError, match="not a samoyeds layer bundle"):
            LayerBundle(expert)


@requires_runtime
@pytest.mark.skipif(HAS_CUDA, reason="checks the error without CUDA")
def test_moelayer_without_cuda(layer_bundle):
    from samoyeds import MoELayer

    with pytest.raises(SamoyedsError, match="needs a CUDA device") as e:
        MoELayer(layer_bundle)
    assert e.value.status_name == "SY_ERR_NO_DEVICE"


# --------------------------------------------------------------------------- GPU


def _weighted_experts(x, wts, ids, experts, expert_out):
    """sum_j wts[t, j] * expert_out(e, rows) in float32, expert after expert: expert_out(e,
    xe) is expert e's output rows for xe, the float32 rows of x routed to it."""
    xf = x.float()
    y = torch.zeros_like(xf)
    for e in range(experts):
        tok, slot = torch.where(ids == e)
        if tok.numel() == 0:
            continue
        y.index_add_(0, tok, expert_out(e, xf[tok]) * wts[tok, slot, None])
    return y


def _route(x, router, top_k, renormalize, bias=None):
    """samoyeds.route in float32 torch: softmax(x router^T (+ bias)) top-k, renormalised
    where asked: (weights, ids) [T, top_k]."""
    logits = x.float() @ router.float().t()
    if bias is not None:
        logits = logits + bias.float()
    wts, ids = torch.topk(torch.softmax(logits, dim=-1), top_k, dim=-1)
    return (wts / wts.sum(-1, keepdim=True) if renormalize else wts), ids


def _reference(x, router, w13, w2, top_k, renormalize):
    """samoyeds.moe_ffn in float32 torch: softmax(x router^T) top-k, silu(gate) * up, down."""
    wts, ids = _route(x, router, top_k, renormalize)
    Ii = w2.shape[2]

    def expert(e, xe):
        h = xe @ w13[e].float().t()
        a = torch.nn.functional.silu(h[:, :Ii]) * h[:, Ii:]
        return a.to(torch.bfloat16).float() @ w2[e].float().t()
    return _weighted_experts(x, wts, ids, router.shape[0], expert)


def _bf16(a):
    return torch.from_numpy(np.ascontiguousarray(a).view(np.int16)).view(torch.bfloat16)


@pytest.fixture(scope="module")
def gpu_layer(layer_bundle):
    from samoyeds import MoELayer
    from samoyeds.pack import pack, unpack

    g = torch.Generator().manual_seed(0)
    w13 = (torch.randn(E, 2 * I, H, generator=g) * 0.05).to(torch.bfloat16)
    w2 = (torch.randn(E, H, I, generator=g) * 0.05).to(torch.bfloat16)
    router = (torch.randn(E, H, generator=g) * 0.05).to(torch.bfloat16)
    layer = MoELayer(layer_bundle)
    assert not layer.ready
    layer.set_weights(w13, w2)
    layer.set_router(router)
    assert layer.ready
    n, m, v = (layer.weights["w13"][k] for k in ("n", "m", "v"))
    pw13 = _bf16(unpack(pack(w13, n, m, v))).cuda()
    pw2 = _bf16(unpack(pack(w2, n, m, v))).cuda()
    yield layer, router.cuda(), pw13, pw2
    layer.close()


@requires_runtime
@requires_cuda
@pytest.mark.parametrize("T", [1, 7, 64, 513])
def test_gpu_layer_matches_reference(gpu_layer, T):
    layer, router, w13, w2 = gpu_layer
    x = torch.randn(T, H, device="cuda").to(torch.bfloat16)
    y = layer(x)
    assert y.shape == (T, H) and y.dtype == torch.bfloat16 and y.is_cuda
    ref = _reference(x, router, w13, w2, K, True)
    torch.cuda.synchronize()
    rel = ((y.float() - ref).norm() / ref.norm()).item()
    assert rel < 2e-2, rel


@requires_runtime
@requires_cuda
def test_gpu_op_and_stream(gpu_layer):
    from samoyeds import torch_op

    layer, router, w13, w2 = gpu_layer
    h = torch_op.register_layer(layer)
    try:
        x = torch.randn(33, H, device="cuda").to(torch.bfloat16)
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            y = torch.ops.samoyeds.moe_ffn(x, h)
        torch.cuda.current_stream().wait_stream(s)
        direct = layer(x)
        torch.cuda.synchronize()
        assert torch.equal(y, direct)
    finally:
        torch_op.unregister_layer(h)


@requires_runtime
@requires_cuda
def test_gpu_misaligned_input(gpu_layer):
    """x read in 16-byte copies: a view starting 2 bytes into an allocation runs on an
    aligned copy (same result); the C API refuses the address itself with a clear error."""
    from samoyeds import _capi

    layer = gpu_layer[0]
    T = 5
    flat = torch.randn(T * H + 1, device="cuda").to(torch.bfloat16)
    view = flat[1:].view(T, H)
    assert view.is_contiguous() and view.data_ptr() % 16 != 0
    y = layer(view)
    direct = layer(view.clone())
    torch.cuda.synchronize()
    assert torch.equal(y, direct) and not torch.isnan(y).any()
    with pytest.raises(SamoyedsError, match="buffer 'x' at address .* is not 16-byte aligned") as e:
        _capi.check(layer._lib.sy_session_bind(layer._s, b"x", view.data_ptr(),
                                               view.numel() * view.element_size()))
    assert e.value.status_name == "SY_ERR_INVALID_ARGUMENT"


@requires_runtime
@requires_cuda
def test_gpu_layer_errors(gpu_layer, layer_bundle):
    from samoyeds import MoELayer

    layer = gpu_layer[0]
    with pytest.raises(SamoyedsError, match="torch.bfloat16"):
        layer(torch.zeros(2, H, device="cuda"))
    with pytest.raises(SamoyedsError, match=r"shape \[T, 256\]"):
        layer(torch.zeros(2, H + 8, device="cuda", dtype=torch.bfloat16))
    with pytest.raises(SamoyedsError, match="runtime runs on cuda:0"):
        layer(torch.zeros(2, H, dtype=torch.bfloat16))
    with pytest.raises(SamoyedsError, match="contiguous"):
        layer(torch.zeros(H, 2, device="cuda", dtype=torch.bfloat16).t())
    assert layer(torch.zeros(0, H, device="cuda", dtype=torch.bfloat16)).shape == (0, H)
    fresh = MoELayer(layer_bundle)
    try:
        with pytest.raises(SamoyedsError, match="weights .* not loaded") as e:
            fresh(torch.zeros(2, H, device="cuda", dtype=torch.bfloat16))
        assert e.value.status_name == "SY_ERR_NOT_READY"
        with pytest.raises(SamoyedsError, match=r"w13 has shape \[4, 512, 128\]"):
            fresh.set_weights(np.zeros((E, 2 * I, 128), np.uint16), np.zeros((E, H, I), np.uint16))
        with pytest.raises(SamoyedsError, match=r"router has shape"):
            fresh.set_router(torch.zeros(E + 1, H))
        assert fresh.device_memory_bytes(16) > 0
    finally:
        fresh.close()
    with pytest.raises(SamoyedsError, match="is closed"):
        fresh(torch.zeros(2, H, device="cuda", dtype=torch.bfloat16))


# --------------------------------------------------------------------------- gpt-oss layer


@pytest.fixture(scope="session")
def gpt_oss_bundle(tmp_path_factory):
    """An experts-only layer of gpt-oss's form (clamped SwiGLU, the experts' biases) in the
    module's shape, top-k 2, 1:2:128."""
    from samoyeds.compile import layer_mlir

    def build(opt, d):
        src = d / "gpt_oss.mlir"
        src.write_text(layer_mlir(E, H, I, K, 1, 2, 128, activation="clamped_swiglu",
                                  bias=True))
        subprocess.run([opt, str(src), f"--samoyeds-to-bundle=chip=sm_90a dir={d / 'b'}",
                        "-o", os.devnull], check=True)
        return d / "b"

    return bundle_dir("SAMOYEDS_TEST_GPT_OSS_BUNDLE", tmp_path_factory, "gpt-oss bundle", build)


@requires_runtime
def test_gpt_oss_layer_bundle_manifest(gpt_oss_bundle):
    """A gpt-oss layer bundle: its bias inputs and activation read from the manifest, the
    biases counted in its memory (their own class: resident like the weights) and in the
    dense path's weights."""
    from samoyeds import LayerBundle
    from samoyeds.memory import dense_grouped_bytes, report, samoyeds_bytes

    with LayerBundle(gpt_oss_bundle) as b:
        assert (b.kind, b.experts, b.hidden, b.intermediate, b.top_k) == (
            "moe_experts", E, H, I, K)
        assert b.bias_inputs == ("w13_bias", "w2_bias")
        assert b.activation == {"kind": "clamped_swiglu", "alpha": 1.702, "limit": 7.0}
        assert b.buffer_bytes("w13_bias", 5) == E * 2 * I * 2
        assert b.buffer_bytes("w2_bias", 0) == E * H * 2
        s = samoyeds_bytes(b, 16)
        assert s["biases"] == E * (2 * I + H) * 2
        assert s["inputs"] == 16 * H * 2 + 16 * K * 8  # x, topk_weights f32, topk_ids i32
        assert s["total"] == sum(v for k, v in s.items() if k != "total")
        assert s["total"] == b.device_memory_bytes(16)
        assert dense_grouped_bytes(b, 0)["weights"] == 3 * E * H * I * 2 + E * (2 * I + H) * 2
        assert "activation=clamped_swiglu(alpha=1.702, limit=7) biases=w13_bias,w2_bias" in \
            b.describe()
        assert "expert biases (w13_bias, w2_bias, bf16)" in report(b, [1])


@requires_runtime
def test_gpt_oss_bundle_activation_is_checked(gpt_oss_bundle, tmp_path):
    """An activation the layer does not know, or a clamped SwiGLU without a finite limit,
    is refused (by the runtime's manifest reader, or by LayerBundle's own check)."""
    import json
    import shutil

    from samoyeds import LayerBundle

    for i, (bad, text) in enumerate((({"kind": "gelu"}, "activation"),
                                     ({"kind": "clamped_swiglu", "alpha": 1.702,
                                       "limit": -1.0}, "activation.limit"))):
        d = tmp_path / f"b{i}"
        shutil.copytree(gpt_oss_bundle, d)
        m = json.loads((d / "manifest.json").read_text())
        m["activation"] = bad
        (d / "manifest.json").write_text(json.dumps(m))
        with pytest.raises(SamoyedsError, match=text):
            LayerBundle(d)


def _gpt_oss_reference(x, wts, ids, w13, w2, b13, b2, alpha=1.702, limit=7.0):
    """transformers' GptOssExperts (its training path, per expert) in float32 on w13 [E, 2I,
    H] (gate rows first) and w2 [E, H, I] with their biases: the gated activation stored in
    bf16 (as the kernels store h), then the down projection and its bias, weighted."""
    Ii = w2.shape[2]

    def expert(e, xe):
        gu = xe @ w13[e].float().t() + b13[e].float()
        gate, up = gu[:, :Ii], gu[:, Ii:]
        gate = gate.clamp(min=None, max=limit)
        up = up.clamp(min=-limit, max=limit)
        h = ((up + 1) * (gate * torch.sigmoid(gate * alpha))).to(torch.bfloat16).float()
        return h @ w2[e].float().t() + b2[e].float()
    return _weighted_experts(x, wts, ids, w13.shape[0], expert)


@requires_runtime
@requires_cuda
def test_gpu_gpt_oss_layer_matches_reference(gpt_oss_bundle):
    """The compiled gpt-oss layer against the float32 reference of its experts on the pruned
    weights, with activations large enough to hit both clamps; not ready without its
    biases."""
    from samoyeds import MoELayer
    from samoyeds.pack import pack, unpack

    g = torch.Generator().manual_seed(3)
    w13 = (torch.randn(E, 2 * I, H, generator=g) * 0.2).to(torch.bfloat16)
    w2 = (torch.randn(E, H, I, generator=g) * 0.05).to(torch.bfloat16)
    b13 = (torch.randn(E, 2 * I, generator=g)).to(torch.bfloat16)
    b2 = (torch.randn(E, H, generator=g) * 0.1).to(torch.bfloat16)
    layer = MoELayer(gpt_oss_bundle)
    try:
        layer.set_weights(w13, w2)
        assert not layer.ready
        x = torch.randn(7, H, device="cuda").to(torch.bfloat16)
        wts = torch.rand(7, K, device="cuda")
        ids = torch.randint(0, E, (7, K), device="cuda", dtype=torch.int32)
        with pytest.raises(SamoyedsError, match="biases .* are not loaded") as e:
            layer(x, wts, ids)
        assert e.value.status_name == "SY_ERR_NOT_READY"
        with pytest.raises(SamoyedsError, match=r"w2_bias has shape \[4, 255\]"):
            layer.set_biases(b13, b2[:, 1:])
        layer.set_biases(b13, b2)
        assert layer.ready
        n, m, v = (layer.weights["w13"][k] for k in ("n", "m", "v"))
        pw13 = _bf16(unpack(pack(w13, n, m, v))).cuda()
        pw2 = _bf16(unpack(pack(w2, n, m, v))).cuda()
        for T in (1, 7, 64, 513):
            x = torch.randn(T, H, device="cuda").to(torch.bfloat16)
            wts = torch.softmax(torch.randn(T, K, device="cuda"), dim=-1)
            ids = torch.stack([torch.randperm(E, device="cuda")[:K] for _ in range(T)]).to(
                torch.int32)
            y = layer(x, wts, ids)
            ref = _gpt_oss_reference(x, wts, ids, pw13, pw2, b13.cuda(), b2.cuda())
            gu = x.float() @ pw13[0].float().t() + b13[0].cuda().float()
            if T == 513:  # the clamps are reached
                assert (gu[:, :I] > 7).any() and (gu[:, I:].abs() > 7).any()
            torch.cuda.synchronize()
            rel = ((y.float() - ref).norm() / ref.norm()).item()
            assert rel < 2e-2, (T, rel)
    finally:
        layer.close()


@requires_runtime
@requires_cuda
def test_gpu_gpt_oss_layer_loads_its_biases(gpt_oss_bundle, tmp_path):
    """load_weights takes the experts' biases from the converted file (gate first, as
    written); a file without them is refused naming the tensor."""
    from helpers import gpt_oss_biases, make_checkpoint

    from samoyeds import MoELayer
    from samoyeds.convert import convert

    t = make_checkpoint(tmp_path / "ck", "gpt_oss", layers=1, E=E, H=H, I=I)
    convert(tmp_path / "ck", tmp_path / "p.safetensors", "gpt_oss", progress=False,
            layout="mma_sp")
    layer = MoELayer(gpt_oss_bundle)
    try:
        layer.load_weights(tmp_path / "p.safetensors", "layers.0.")
        assert layer.ready
        b13, b2 = gpt_oss_biases(t, 0)
        assert torch.equal(layer.biases["w13_bias"].cpu(), _bf16(b13))
        assert torch.equal(layer.biases["w2_bias"].cpu(), _bf16(b2))
        make_checkpoint(tmp_path / "mx", "mixtral", layers=1, E=E, H=H, I=I)
        convert(tmp_path / "mx", tmp_path / "m.safetensors", "mixtral", progress=False)
        with pytest.raises(SamoyedsError, match="no tensor 'layers.0.w13_bias'") as e:
            layer.load_weights(tmp_path / "m.safetensors", "layers.0.")
        assert e.value.status_name == "SY_ERR_NOT_FOUND"
    finally:
        layer.close()


# --------------------------------------------------------------------------- gpt-oss's router bias


@pytest.fixture(scope="session")
def router_bias_bundle(tmp_path_factory):
    """gpt-oss's whole layer (moe_ffn: the router's bias, renormalize, the clamped SwiGLU and
    the experts' biases) in the module's shape, top-k 2, 1:2:128."""
    from samoyeds.compile import layer_mlir

    def build(opt, d):
        src = d / "gpt_oss_ffn.mlir"
        src.write_text(layer_mlir(E, H, I, K, 1, 2, 128, activation="clamped_swiglu",
                                  bias=True, router=True, renormalize=True,
                                  router_bias=True))
        subprocess.run([opt, str(src), f"--samoyeds-to-bundle=chip=sm_90a dir={d / 'b'}",
                        "-o", os.devnull], check=True)
        return d / "b"

    return bundle_dir("SAMOYEDS_TEST_ROUTER_BIAS_BUNDLE", tmp_path_factory,
                      "router bias bundle", build)


def test_layer_mlir_moe_ffn_form():
    """layer_mlir(router=True): the whole layer with its routing (input router [E, H]);
    router_bias=True adds the input router_bias [E] and the op's router_bias(%rb); the
    routing's options need router=True."""
    from samoyeds.compile import layer_mlir

    text = layer_mlir(32, 2880, 2880, 4, 1, 2, 64, activation="clamped_swiglu", bias=True,
                      router=True, renormalize=True, router_bias=True)
    assert "func.func @moe_ffn_e32_h2880_i2880_k4(" in text
    assert '%router: tensor<32x2880xbf16> {samoyeds.name = "router"}' in text
    assert '%rb: tensor<32xbf16> {samoyeds.name = "router_bias"})' in text
    assert ("samoyeds.moe_ffn %x, %router, %w13, %w2 bias(%b13, %b2) router_bias(%rb) "
            "top_k(4) {renormalize, activation = #samoyeds<activation clamped_swiglu>}") in text
    assert "tensor<32x2880xbf16>, tensor<32xbf16>) -> tensor<?x2880xbf16>" in text
    plain = layer_mlir(8, 256, 128, 2, 1, 2, 128, router=True)
    assert "samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)\n" in plain
    assert "router_bias" not in plain and "topk_ids" not in plain
    for kw in (dict(router_bias=True), dict(renormalize=True)):
        with pytest.raises(ValueError, match="need router=True"):
            layer_mlir(8, 256, 128, 2, 1, 2, 128, **kw)


@requires_runtime
def test_router_bias_bundle_manifest(router_bias_bundle, layer_bundle):
    """A gpt-oss moe_ffn bundle: its router_bias input [E] read from the manifest (bf16),
    shown by describe(); a moe_ffn bundle without one has none."""
    from samoyeds import LayerBundle

    with LayerBundle(router_bias_bundle) as b:
        assert (b.kind, b.experts, b.top_k, b.renormalize) == ("moe_ffn", E, K, True)
        assert b.router_bias_dtype == "bf16"
        assert b.bias_inputs == ("w13_bias", "w2_bias")
        assert b.buffer_bytes("router_bias", 7) == E * 2
        assert b.describe().endswith("biases=w13_bias,w2_bias router_bias=bf16")
    with LayerBundle(layer_bundle) as b:
        assert b.router_bias_dtype is None and "router_bias" not in b.describe()


@requires_runtime
def test_gpt_oss_block_matches_a_compiled_gpt_oss_bundle(router_bias_bundle, layer_bundle):
    """What from_hf compares, read from compiled manifests (no device): a gpt-oss block
    matches layer_mlir's gpt-oss moe_ffn bundle (router bias, experts' biases, the clamped
    SwiGLU of GptOssExperts' alpha and limit, renormalised) and differs from a plain moe_ffn
    bundle in all three."""
    from samoyeds import LayerBundle
    from samoyeds.torch_op import _bias_mismatches, _routing_mismatches, _routing_of_hf

    r = _routing_of_hf(GptOssBlock())
    with LayerBundle(router_bias_bundle) as b:
        assert _routing_mismatches(r, b) + _bias_mismatches(r, b) == []
    with LayerBundle(layer_bundle) as b:
        assert _routing_mismatches(r, b) == []
        problems = _bias_mismatches(r, b)
        assert len(problems) == 3 and problems[0].startswith("router bias [4], bundle none")
        assert problems[1].startswith("experts' biases (gate_up_proj_bias, down_proj_bias)")
        assert problems[2] == "activation clamped_swiglu(alpha=1.702, limit=7), bundle silu"


@requires_runtime
def test_router_bias_manifest_is_checked(router_bias_bundle, gpt_oss_bundle, tmp_path):
    """A router_bias of another shape or dtype, or in an experts-only layer, is refused
    (SY_ERR_MANIFEST) naming it."""
    import json
    import shutil

    from samoyeds import LayerBundle

    cases = ((router_bias_bundle, dict(shape=[E + 1]),
              rf"input 'router_bias' has shape \[{E + 1}\], expected \[{E}\]"),
             (router_bias_bundle, dict(dtype="i32"),
              r"buffer 'router_bias' \(input, dtype code 3\) must be a bf16, f16 or f32 input"),
             (router_bias_bundle, dict(kind="output"),
              r"buffer 'router_bias' \(output, dtype code 0\)"),
             (gpt_oss_bundle, None, "input 'router_bias' in an experts-only layer"))
    for i, (src, change, text) in enumerate(cases):
        d = tmp_path / f"b{i}"
        shutil.copytree(src, d)
        m = json.loads((d / "manifest.json").read_text())
        if change is None:
            m["buffers"].append({"name": "router_bias", "kind": "input", "dtype": "bf16",
                                 "shape": [E]})
        else:
            next(b for b in m["buffers"] if b["name"] == "router_bias").update(change)
        (d / "manifest.json").write_text(json.dumps(m))
        with pytest.raises(SamoyedsError, match=text) as e:
            LayerBundle(d)
        assert e.value.status_name == "SY_ERR_MANIFEST"


def _router_stub(router_bias_dtype):
    """A MoELayer's routing state without a device (CPU tensors): what set_router and
    _file_router_bias read."""
    from samoyeds import MoELayer

    layer = object.__new__(MoELayer)
    layer.kind, layer.dir, layer.experts, layer.hidden = "moe_ffn", "b", E, H
    layer.router_bias_dtype, layer.device = router_bias_dtype, torch.device("cpu")
    layer.router = layer.router_bias = None
    return layer


def test_set_router_takes_the_bias_the_layer_needs():
    """set_router: a layer with a router bias input needs the bias with the router, in the
    bundle's dtype and shape [E]; a layer without one refuses a bias."""
    router = torch.randn(E, H)
    bias = torch.tensor([0.5, -1.0, 2.0, 0.25])
    layer = _router_stub("bf16")
    with pytest.raises(SamoyedsError, match=r"adds the router's bias \(input router_bias "
                                            r"\[4\]\): pass set_router\(router, bias\)") as e:
        layer.set_router(router)
    assert e.value.status_name == "SY_ERR_INVALID_ARGUMENT"
    with pytest.raises(SamoyedsError, match=r"router bias has shape \[5\], expected \[4\]") as e:
        layer.set_router(router, torch.zeros(E + 1))
    assert e.value.status_name == "SY_ERR_SIZE_MISMATCH"
    with pytest.raises(SamoyedsError, match="no router"):
        layer.set_router(None, bias)
    assert layer.router is None and layer.router_bias is None
    layer.set_router(router, bias.numpy())
    assert layer.router.dtype == torch.bfloat16 and layer.router_bias.dtype == torch.bfloat16
    assert torch.equal(layer.router_bias.float(), bias)
    f32 = _router_stub("f32")
    f32.set_router(router, bias.to(torch.bfloat16))
    assert f32.router_bias.dtype == torch.float32 and torch.equal(f32.router_bias, bias)
    fine = np.array([0.1, -0.2, 0.3, 1e-3], np.float64)  # not bf16 values: kept as f32
    f32.set_router(router, fine)
    assert torch.equal(f32.router_bias, torch.from_numpy(fine.astype(np.float32)))
    plain = _router_stub(None)
    with pytest.raises(SamoyedsError, match="adds no router bias") as e:
        plain.set_router(router, bias)
    assert e.value.status_name == "SY_ERR_INVALID_ARGUMENT"
    plain.set_router(router)
    assert plain.router_bias is None


def test_file_router_bias_is_read_where_the_layer_has_one(tmp_path):
    """load_weights' router bias: the converted file's layers.0.router_bias for a layer
    with one; a file without it is refused for such a layer, and a file with it for a
    layer whose route adds none (the routing would drop it)."""
    from helpers import make_checkpoint

    from samoyeds.convert import convert
    from samoyeds.safetensors_io import SafetensorsFile

    make_checkpoint(tmp_path / "ck", "gpt_oss", layers=1, E=E, H=H, I=I)
    convert(tmp_path / "ck", tmp_path / "p.safetensors", "gpt_oss", progress=False,
            layout="mma_sp")
    make_checkpoint(tmp_path / "mx", "mixtral", layers=1, E=E, H=H, I=I)
    convert(tmp_path / "mx", tmp_path / "m.safetensors", "mixtral", progress=False)
    path, name = str(tmp_path / "p.safetensors"), "layers.0.router_bias"
    f = SafetensorsFile(path)
    try:
        b = _router_stub("bf16")._file_router_bias(f, path, name)
        assert b.shape == (E,) and np.array_equal(b, np.asarray(f.get(name)))
        with pytest.raises(SamoyedsError, match="the route of layer b adds none") as e:
            _router_stub(None)._file_router_bias(f, path, name)
        assert e.value.status_name == "SY_ERR_INVALID_ARGUMENT"
    finally:
        f.close()
    f = SafetensorsFile(str(tmp_path / "m.safetensors"))
    try:
        assert _router_stub(None)._file_router_bias(f, "m", name) is None
        with pytest.raises(SamoyedsError, match="no tensor 'layers.0.router_bias'") as e:
            _router_stub("bf16")._file_router_bias(f, "m", name)
        assert e.value.status_name == "SY_ERR_NOT_FOUND"
    finally:
        f.close()


@requires_runtime
@requires_cuda
def test_gpu_router_bias_layer_matches_reference(router_bias_bundle, tmp_path):
    """The compiled gpt-oss moe_ffn layer against float32 torch (softmax of the logits plus
    the router's bias, top-k renormalised, the experts with their biases), with a bias that
    changes many tokens' experts; the router needs its bias; load_weights takes both from
    the converted file."""
    from helpers import make_checkpoint

    from samoyeds import MoELayer
    from samoyeds.convert import convert
    from samoyeds.pack import pack, unpack

    g = torch.Generator().manual_seed(5)
    w13 = (torch.randn(E, 2 * I, H, generator=g) * 0.2).to(torch.bfloat16)
    w2 = (torch.randn(E, H, I, generator=g) * 0.05).to(torch.bfloat16)
    b13 = torch.randn(E, 2 * I, generator=g).to(torch.bfloat16)
    b2 = (torch.randn(E, H, generator=g) * 0.1).to(torch.bfloat16)
    router = (torch.randn(E, H, generator=g) / H ** 0.5).to(torch.bfloat16)
    rb = (torch.rand(E, generator=g) * 3 - 1.5).to(torch.bfloat16)
    layer = MoELayer(router_bias_bundle)
    try:
        with pytest.raises(SamoyedsError, match="pass set_router"):
            layer.set_router(router)
        layer.set_weights(w13, w2)
        layer.set_biases(b13, b2)
        assert not layer.ready
        layer.set_router(router, rb)
        assert layer.ready
        n, m, v = (layer.weights["w13"][k] for k in ("n", "m", "v"))
        pw13 = _bf16(unpack(pack(w13, n, m, v))).cuda()
        pw2 = _bf16(unpack(pack(w2, n, m, v))).cuda()
        changed = 0
        for T in (1, 4, 7, 64, 513):
            x = torch.randn(T, H, device="cuda").to(torch.bfloat16)
            y = layer(x)
            wts, ids = _route(x, router.cuda(), K, True, rb.cuda())
            changed += int((_route(x, router.cuda(), K, True)[1].sort(-1).values
                            != ids.sort(-1).values).any(-1).sum())
            ref = _gpt_oss_reference(x, wts, ids, pw13, pw2, b13.cuda(), b2.cuda())
            torch.cuda.synchronize()
            rel = ((y.float() - ref).norm() / ref.norm()).item()
            assert rel < 2e-2, (T, rel)
        assert changed > 0  # the bias mattered
        make_checkpoint(tmp_path / "ck", "gpt_oss", layers=1, E=E, H=H, I=I)
        convert(tmp_path / "ck", tmp_path / "p.safetensors", "gpt_oss", progress=False,
                layout="mma_sp")
        layer.load_weights(tmp_path / "p.safetensors", "layers.0.")
        from samoyeds.safetensors_io import SafetensorsFile

        f = SafetensorsFile(str(tmp_path / "p.safetensors"))
        try:
            want = _bf16(np.asarray(f.get("layers.0.router_bias")))
        finally:
            f.close()
        assert torch.equal(layer.router_bias.cpu(), want)
    finally:
        layer.close()


def _gpt_oss_weights(g):
    """Random bf16 w13 [E, 2I, H] (gate rows first), w2 [E, H, I], their biases, a router
    [E, H] and its bias [E], at scales that reach both clamps and let the bias change
    experts (test_gpu_router_bias_layer_matches_reference's)."""
    w13 = (torch.randn(E, 2 * I, H, generator=g) * 0.2).to(torch.bfloat16)
    w2 = (torch.randn(E, H, I, generator=g) * 0.05).to(torch.bfloat16)
    b13 = torch.randn(E, 2 * I, generator=g).to(torch.bfloat16)
    b2 = (torch.randn(E, H, generator=g) * 0.1).to(torch.bfloat16)
    router = (torch.randn(E, H, generator=g) / H ** 0.5).to(torch.bfloat16)
    rb = (torch.rand(E, generator=g) * 3 - 1.5).to(torch.bfloat16)
    return w13, w2, b13, b2, router, rb


def _gpt_oss_mlp():
    """transformers' GptOssMLP in the module's shape (its parameters uninitialised) where
    transformers has it, else GptOssBlock."""
    try:
        from transformers import GptOssConfig
        from transformers.models.gpt_oss.modeling_gpt_oss import GptOssMLP
    except ImportError:
        return GptOssBlock()
    return GptOssMLP(GptOssConfig(hidden_size=H, intermediate_size=I, num_local_experts=E,
                                  num_experts_per_tok=K))


def _rel_err(got, want):
    """Relative Frobenius error of ``got`` against the float64 ``want``; NaN fails."""
    assert torch.isfinite(got).all(), "NaN or inf in the output"
    return ((got.double() - want).norm() / want.norm()).item()


def test_gpt_oss_reference_block_is_the_layers_math():
    """The GPU tests' reference, GptOssBlock in float64 holding _gpt_oss_layout's tensors,
    computes what the compiled gpt-oss moe_ffn layer does (_route with the router's bias,
    then _gpt_oss_reference on w13 with its gate rows first), and what transformers'
    GptOssMLP does where transformers is installed."""
    g = torch.Generator().manual_seed(7)
    w13, w2, b13, b2, router, rb = _gpt_oss_weights(g)
    experts = _gpt_oss_layout(w13, w2, b13, b2)
    ref = _set_gpt_oss_block(GptOssBlock(), router, rb, experts).double()
    x = torch.randn(64, H, generator=g).to(torch.bfloat16)
    wts, ids = _route(x, router, K, True, rb)
    with torch.no_grad():
        y, scores = ref(x.double())
        assert _rel_err(_gpt_oss_reference(x, wts, ids, w13, w2, b13, b2), y) < 1e-2
        assert torch.allclose(scores, wts.double(), rtol=1e-4, atol=1e-6)
        hf = _gpt_oss_mlp()
        if not isinstance(hf, GptOssBlock):
            hf = _set_gpt_oss_block(hf, router, rb, experts).double()
            assert _rel_err(hf(x.double()[None])[0].reshape(-1, H), y) < 1e-9


@requires_runtime
@requires_cuda
def test_gpu_gpt_oss_block_matches_reference(router_bias_bundle):
    """SamoyedsMoEBlock.from_hf of a gpt-oss block (transformers' GptOssMLP where installed,
    else GptOssBlock) with the gpt-oss moe_ffn bundle: the router and its bias uploaded; the
    block's (hidden states, router scores) against the float64 GptOssBlock of the pruned
    weights, relative error < 1e-2 (NaN fails)."""
    from samoyeds import MoELayer
    from samoyeds.pack import pack, unpack
    from samoyeds.torch_op import SamoyedsMoEBlock

    g = torch.Generator().manual_seed(9)
    w13, w2, b13, b2, router, rb = _gpt_oss_weights(g)
    hf = _set_gpt_oss_block(_gpt_oss_mlp(), router, rb, _gpt_oss_layout(w13, w2, b13, b2))
    hf = hf.to("cuda", torch.bfloat16)
    layer = MoELayer(router_bias_bundle)
    try:
        layer.set_weights(w13, w2)
        layer.set_biases(b13, b2)
        block = SamoyedsMoEBlock.from_hf(hf, layer)
        assert layer.ready and torch.equal(layer.router_bias.cpu(), rb)
        n, m, v = (layer.weights["w13"][k] for k in ("n", "m", "v"))
        pruned = _gpt_oss_layout(_bf16(unpack(pack(w13, n, m, v))),
                                 _bf16(unpack(pack(w2, n, m, v))), b13, b2)
        ref = _set_gpt_oss_block(GptOssBlock(), router, rb, pruned).to("cuda", torch.float64)
        for T in (1, 7, 64, 513):
            x = torch.randn(1, T, H, generator=g).to("cuda", torch.bfloat16)
            with torch.no_grad():
                y, scores = block(x)
                want, want_scores = ref(x.double())
            torch.cuda.synchronize()
            assert y.shape == (1, T, H) and y.dtype == torch.bfloat16
            assert scores.shape == (T, K) and scores.dtype == torch.bfloat16
            for got, ref_out in ((y, want), (scores, want_scores)):
                rel = _rel_err(got, ref_out)
                assert rel < 1e-2, (T, rel)
    finally:
        layer.close()


@requires_runtime
@requires_cuda
def test_gpu_gpt_oss_swap_moe_blocks(router_bias_bundle, tmp_path):
    """swap_moe_blocks on a gpt-oss model with its converted checkpoint: the experts' biases
    come from the file (gate first), the router and its bias from the block; the swapped
    block against the float64 GptOssBlock of the file's pruned weights (< 1e-2)."""
    from helpers import gpt_oss_biases, make_checkpoint

    from samoyeds.convert import convert
    from samoyeds.pack import unpack
    from samoyeds.torch_op import swap_moe_blocks
    from samoyeds.weightfile import WeightFile

    t = make_checkpoint(tmp_path / "ck", "gpt_oss", layers=1, E=E, H=H, I=I)
    convert(tmp_path / "ck", tmp_path / "p.safetensors", "gpt_oss", progress=False,
            layout="mma_sp")

    def tensor(name):
        return _bf16(t[f"model.layers.0.mlp.{name}"][1])

    experts = {n: tensor("experts." + n) for n in ("gate_up_proj", "gate_up_proj_bias",
                                                   "down_proj", "down_proj_bias")}
    hf = _set_gpt_oss_block(_gpt_oss_mlp(), tensor("router.weight"), tensor("router.bias"),
                            experts)
    model = torch.nn.Module()
    model.layers = torch.nn.ModuleList([torch.nn.Module()])
    model.layers[0].mlp = hf
    model.to("cuda", torch.bfloat16)
    assert swap_moe_blocks(model, router_bias_bundle, tmp_path / "p.safetensors") == [0]
    block = model.layers[0].mlp
    try:
        b13, b2 = (_bf16(b) for b in gpt_oss_biases(t, 0))
        assert torch.equal(block.layer.biases["w13_bias"].cpu(), b13)
        assert torch.equal(block.layer.biases["w2_bias"].cpu(), b2)
        assert torch.equal(block.layer.router_bias.cpu(), tensor("router.bias"))
        wf = WeightFile(tmp_path / "p.safetensors")
        try:
            pw13, pw2 = (_bf16(unpack(wf.read("layers.0." + n))) for n in ("w13", "w2"))
        finally:
            wf.close()
        ref = _set_gpt_oss_block(GptOssBlock(), tensor("router.weight"), tensor("router.bias"),
                                 _gpt_oss_layout(pw13, pw2, b13, b2)).to("cuda", torch.float64)
        g = torch.Generator().manual_seed(4)
        x = (torch.randn(2, 33, H, generator=g) * 0.1).to("cuda", torch.bfloat16)
        with torch.no_grad():
            y, scores = block(x)
            want, want_scores = ref(x.double())
        assert _rel_err(y, want) < 1e-2 and _rel_err(scores, want_scores) < 1e-2
    finally:
        block.layer.close()


def test_expert_parallelism_refuses_gpt_oss():
    """Expert parallelism runs SiLU experts without biases: a gpt-oss bundle is refused by
    its local experts' check (samoyeds-compile refuses --expert-parallel for gpt_oss
    before; test_compile.py)."""
    from types import SimpleNamespace

    from samoyeds.ep_experts import CompiledExperts

    gpt_oss = SimpleNamespace(kind="moe_experts", top_k=1, dir="b", bias_inputs=(
        "w13_bias", "w2_bias"), activation={"kind": "clamped_swiglu", "alpha": 1.702,
                                             "limit": 7.0})
    with pytest.raises(SamoyedsError, match="expert parallelism runs SiLU experts without "
                                            "biases") as e:
        CompiledExperts.check_bundle(gpt_oss)
    assert e.value.status_name == "SY_ERR_PARAM_MISMATCH"
    CompiledExperts.check_bundle(SimpleNamespace(kind="moe_experts", top_k=1, dir="b",
                                                 bias_inputs=(), activation={"kind": "silu"}))
