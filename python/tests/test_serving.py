"""samoyeds.load and the experts-only torch op.

Without a GPU: the max_tokens refusal, the op's fake implementation and checks (torch on
meta tensors; skipped without torch), the checks of precompiled cases (serving_cases.py;
skipped without samoyeds-opt). On a GPU (skipped otherwise, with the reason): a compiled
generated checkpoint of every architecture is loaded into a small HF-shaped torch model and
compared with a float32 torch reference on the pruned weights, block by block and as logits
(top-1 agreement >= 95%); CUDA graphs are captured at several T with no earlier eager call and
replayed against eager runs; T above max_tokens is refused; out-of-range ids are clamped.
The models compiled with ``--routing compiled`` (serving_cases.COMPILED: whole layers, the
routing compiled in) are compared with the same float32 reference, routed in torch on float32
logits of the same router, and checked to return what the replaced blocks returned.

The GPU tests compile their checkpoints with samoyeds-opt, or, with
SAMOYEDS_PRECOMPILED=DIR (test/GPU/gen-serving-dirs.sh made DIR on a machine with MLIR), load
them from DIR after checking them against the checkpoints they compare with.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import LIB_MISSING
from helpers import DEEPSEEK, GPT_OSS, NAMES
from serving_cases import (CASES, COMPILED, ENV, PrecompiledMismatch, generate, load_case,
                           model_dir, precompiled_root)
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
    if precompiled_root() is None and not Path(OPT).is_file():
        return (f"samoyeds-opt not found at {OPT} (set $SAMOYEDS_OPT, or ${ENV} to the "
                f"directory test/GPU/gen-serving-dirs.sh made)")
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
        cpu = [torch.empty(t.shape, dtype=t.dtype) for t in (x, w, ids)]
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


def _gpt_oss_block(H, E, t=None, i=None):
    """transformers' GptOssMLP layout: router (GptOssTopKRouter: weight [E, H], bias [E])
    and experts (GptOssExperts: gate_up_proj [E, H, 2I] ... with biases), holding the
    checkpoint ``t``'s layer ``i`` where given."""
    blk = nn.Module()
    blk.router = nn.Module()
    blk.router.top_k = 2
    blk.router.weight = nn.Parameter(torch.randn(E, H))
    blk.router.bias = nn.Parameter(torch.randn(E))
    blk.experts = nn.Module()
    if t is not None:
        blk.router.weight.data = _tensor(t, f"model.layers.{i}.mlp.router.weight")
        blk.router.bias.data = _tensor(t, f"model.layers.{i}.mlp.router.bias")
        for name in ("gate_up_proj", "gate_up_proj_bias", "down_proj", "down_proj_bias"):
            setattr(blk.experts, name,
                    nn.Parameter(_tensor(t, f"model.layers.{i}.mlp.experts.{name}")))
    return blk


@requires_torch
def test_gpt_oss_block_routes_with_the_router_bias():
    """SamoyedsExpertsBlock of gpt-oss (CPU, the routing only): its logits are the router's
    with its bias, its weights and ids GptOssTopKRouter's, and it returns (hidden states,
    router scores [T, k]) as GptOssMLP does; a gpt-oss routing without a router bias is
    refused."""
    from samoyeds import torch_op
    from samoyeds.routing import routing_from_config
    from samoyeds.serving import SamoyedsExpertsBlock, _block_parts

    spec = routing_from_config({"model_type": "gpt_oss", "num_local_experts": 8,
                                "num_experts_per_tok": 2})
    torch.manual_seed(0)
    go = _gpt_oss_block(128, 8)
    p = _block_parts(go, "gpt_oss")
    blk = SamoyedsExpertsBlock(_FakeLayer(), spec, p["weight"], None, None, None,
                               p["returns_tuple"], p["f32_logits"], p["router_bias"],
                               p["returns_scores"])
    x = torch.randn(9, 128)
    weights, ids, logits = blk.route(x)
    assert torch.allclose(logits, x @ go.router.weight.T + go.router.bias)
    top, sel = torch.topk(logits, 2, dim=-1)
    assert torch.equal(ids.long(), sel)
    assert torch.allclose(weights, torch.softmax(top, dim=1), rtol=1e-6, atol=1e-7)
    xm = torch.empty(3, 3, 128, dtype=torch.bfloat16, device="meta")
    y, scores = blk.to("meta")(xm)
    # The scores in the logits' dtype: float32 here, where the router weight is float32.
    assert y.shape == (3, 3, 128) and scores.shape == (9, 2) and scores.dtype == torch.float32
    torch_op.unregister_layer(blk.handle)
    with pytest.raises(SamoyedsError, match="gpt_oss routing adds the router's bias"):
        SamoyedsExpertsBlock(_FakeLayer(), spec, p["weight"])


@requires_torch
def test_block_parts_of_each_layout():
    """What samoyeds.load reads from each HF block layout: the router (GraniteMoE's
    router.layer), the selection bias wherever it lives (as [E]), the return style, and
    float32 logits for DeepSeek-style routers and float32 router weights."""
    from samoyeds.serving import _block_parts

    def block(router_dtype=torch.bfloat16):
        b = nn.Module()
        b.gate = nn.Linear(8, 4, bias=False).to(router_dtype)
        b.experts = nn.ModuleList()
        return b

    p = _block_parts(block(), "mixtral")
    assert p["returns_tuple"] and not p["f32_logits"] and p["bias"] is None
    assert _block_parts(block(torch.float32), "minimax_m2")["f32_logits"]
    assert _block_parts(block(), "deepseek_v3")["f32_logits"]
    assert not _block_parts(block(), "deepseek_v3")["returns_tuple"]
    mm = block()
    mm.register_buffer("e_score_correction_bias", torch.arange(4.0))
    assert torch.equal(_block_parts(mm, "minimax_m2")["bias"], torch.arange(4.0))
    er = block()
    er.moe_statics = nn.Module()
    er.moe_statics.register_buffer("e_score_correction_bias", torch.ones(1, 4))
    p = _block_parts(er, "ernie4_5_moe")
    assert p["bias"].shape == (4,) and p["returns_tuple"] and p["f32_logits"]
    gr = nn.Module()
    gr.router = nn.Module()
    gr.router.layer = nn.Linear(8, 4, bias=False)
    gr.input_linear = nn.Module()
    p = _block_parts(gr, "granitemoe")
    assert p["weight"] is gr.router.layer.weight and p["returns_tuple"]
    assert p["router_bias"] is None and not p["returns_scores"]
    go = _gpt_oss_block(8, 4).to(torch.bfloat16)
    p = _block_parts(go, "gpt_oss")
    assert p["weight"] is go.router.weight and p["router_bias"] is go.router.bias
    assert p["returns_tuple"] and p["returns_scores"] and not p["f32_logits"]
    assert p["bias"] is None and p["shared"] is None
    with pytest.raises(SamoyedsError, match="no router 'router.layer.weight'"):
        gr.router.layer = nn.Identity()
        _block_parts(gr, "granitemoe")


# --------------------------------------------------------------------------- compiled routing


def _spec(arch, config=None):
    """The routing convention of the generated checkpoints' config.json (with ``config``)."""
    from helpers import hf_config
    from samoyeds.routing import routing_from_config

    return routing_from_config({**hf_config(arch, 1, E, H, I, K), **(config or {})})


def _stub_model_dir(d, arch, routing_mode=None):
    """A model directory of ``arch`` as read_model reads it: the manifest samoyeds-compile
    writes for one layer (with ``routing_mode`` where given), empty stand-ins for the
    bundle's manifest.json and the weight file."""
    import json

    from samoyeds.compile import bundle_key

    key = bundle_key(E, H, I, K, routing_mode or "torch")
    (d / "bundles" / key).mkdir(parents=True)
    (d / "bundles" / key / "manifest.json").write_text("{}")
    (d / "weights.safetensors").write_text("")
    m = {"format": "samoyeds-model", "version": 1, "architecture": arch, "chip": "sm_90a",
         "routing": _spec(arch).to_json(), "bundles": {key: {"dir": f"bundles/{key}"}},
         "layers": [{"index": 0, "prefix": "layers.0.", "experts": E, "hidden": H,
                     "bundle": key}], "weights": "weights.safetensors"}
    if routing_mode is not None:
        m["routing_mode"] = routing_mode
    (d / "samoyeds-model.json").write_text(json.dumps(m))
    return d


def test_read_model_routing_mode(tmp_path):
    """The manifest's routing_mode: absent (every manifest before it) is torch; compiled is
    read; an unknown mode, or compiled with a convention the compiled route cannot run, is
    refused naming it."""
    import json

    from samoyeds.serving import read_model

    assert read_model(_stub_model_dir(tmp_path / "old", "mixtral")).routing_mode == "torch"
    assert read_model(_stub_model_dir(tmp_path / "t", "olmoe", "torch")).routing_mode == "torch"
    md = read_model(_stub_model_dir(tmp_path / "c", "gpt_oss", "compiled"))
    assert md.routing_mode == "compiled" and md.routing.router_bias
    for i, (mode, text) in enumerate((("fused", "unknown routing_mode 'fused'"),
                                      (2, "unknown routing_mode '2'"),
                                      (None, "unknown routing_mode 'None'"))):
        d = _stub_model_dir(tmp_path / f"bad{i}", "mixtral", "compiled")
        m = json.loads((d / "samoyeds-model.json").read_text())
        (d / "samoyeds-model.json").write_text(json.dumps({**m, "routing_mode": mode}))
        want = rf"samoyeds-model.json: {text} \(this samoyeds reads 'torch' and 'compiled'"
        with pytest.raises(SamoyedsError, match=want) as e:
            read_model(d)
        assert e.value.status_name == "SY_ERR_MANIFEST"
    with pytest.raises(SamoyedsError, match=r"routing_mode 'compiled' with a routing it cannot "
                                            r"run: --routing compiled: deepseek_v3's routing "
                                            r"\(sigmoid .*\) needs sigmoid scores, "
                                            r"group-limited selection \(1 of 2 groups\) and a "
                                            r"selection bias"):
        read_model(_stub_model_dir(tmp_path / "ds", "deepseek_v3", "compiled"))


@requires_torch
def test_load_refuses_an_unknown_routing_mode(tmp_path):
    from samoyeds import serving

    with pytest.raises(SamoyedsError, match="unknown routing_mode 'fused'"):
        serving.load(nn.Module(), _stub_model_dir(tmp_path / "m", "mixtral", "fused"))


def test_bundles_must_match_the_routing_mode():
    """What samoyeds.load checks of each layer's bundle against the manifest: an
    experts-only layer for torch routing, a whole layer with the convention's top_k,
    renormalisation, scaling factor and router bias for compiled routing."""
    from types import SimpleNamespace

    from samoyeds.serving import ModelDir, _bundle_mismatches

    def md(arch, mode, config=None):
        return ModelDir(Path("m"), {}, _spec(arch, config), mode)

    def layer(kind="moe_ffn", top_k=K, renormalize=True, scale=1.0, router_bias=None):
        return SimpleNamespace(kind=kind, top_k=top_k, renormalize=renormalize,
                               routed_scaling_factor=scale, router_bias_dtype=router_bias)

    greedy = {"topk_method": "greedy"}
    experts_only = layer("moe_experts", renormalize=None, scale=None)
    assert _bundle_mismatches(experts_only, md("deepseek_v3", "torch")) == []
    assert _bundle_mismatches(layer(), md("mixtral", "compiled")) == []
    assert _bundle_mismatches(layer(router_bias="bf16"), md("gpt_oss", "compiled")) == []
    assert _bundle_mismatches(layer(renormalize=False),
                              md("qwen2_moe", "compiled")) == []
    assert _bundle_mismatches(layer(renormalize=False, scale=2.0),
                              md("deepseek_v2", "compiled", greedy)) == []
    assert _bundle_mismatches(layer(), md("mixtral", "torch")) == [
        "a moe_ffn layer, routing_mode 'torch' needs moe_experts"]
    assert _bundle_mismatches(experts_only, md("mixtral", "compiled")) == [
        "a moe_experts layer, routing_mode 'compiled' needs moe_ffn"]
    assert _bundle_mismatches(layer("moe_experts", top_k=1), md("olmoe", "torch")) == [
        "top_k 1, the routing 2"]
    assert _bundle_mismatches(layer(top_k=1, renormalize=False), md("gpt_oss", "compiled")) == [
        "top_k 1, the routing 2", "renormalize False, the routing True",
        "router_bias False, the routing True"]
    assert _bundle_mismatches(layer(renormalize=False), md("deepseek_v2", "compiled", greedy)) \
        == ["routed_scaling_factor 1.0, the routing 2.0"]


def _hf_block(arch):
    """An HF block of ``arch``'s layout in bf16 on meta tensors: transformers 4.x's (an
    nn.Linear router) with Qwen2-MoE's gated shared expert or DeepSeek's shared experts,
    GraniteMoE's router.layer, or gpt-oss's router with its bias."""
    if arch == "gpt_oss":
        blk = _gpt_oss_block(H, E)
    elif arch == "granitemoe":
        blk = nn.Module()
        blk.router = nn.Module()
        blk.router.layer = nn.Linear(H, E, bias=False)
        blk.input_linear = nn.Module()
    else:
        blk = nn.Module()
        blk.gate = nn.Linear(H, E, bias=False)
        blk.experts = nn.ModuleList()
        if arch == "qwen2_moe":
            blk.shared_expert = nn.Linear(H, H, bias=False)
            blk.shared_expert_gate = nn.Linear(H, 1, bias=False)
        if arch == "deepseek_v2":
            blk.shared_experts = nn.Linear(H, H, bias=False)
    return blk.to(device="meta", dtype=torch.bfloat16)


@requires_torch
@pytest.mark.parametrize("arch,returns", [("mixtral", "logits"), ("qwen2_moe", "logits"),
                                          ("deepseek_v2", None), ("granitemoe", "logits"),
                                          ("gpt_oss", "scores")])
def test_whole_layer_block_returns_as_the_experts_block(arch, returns):
    """samoyeds.load's block for compiled routing (a SamoyedsMoEBlock; CPU, meta tensors)
    returns what its SamoyedsExpertsBlock returns for the same HF block, in the same shapes
    and dtypes: the hidden states, with the router logits [T, E] of a transformers 4.x block
    or GraniteMoE's, or gpt-oss's router scores [T, k]; and it keeps the block's shared
    experts."""
    from samoyeds.serving import ModelDir, _block_parts, _experts_block, _whole_layer_block

    layer = _FakeLayer()
    layer.experts, layer.device = E, torch.device("meta")
    spec = _spec(arch, {"topk_method": "greedy"} if arch == "deepseek_v2" else None)
    parts = _block_parts(_hf_block(arch), arch)
    whole = _whole_layer_block(layer, parts)
    assert (whole.shared_expert, whole.shared_expert_gate) == (parts["shared"],
                                                                parts["shared_gate"])
    x = torch.empty(3, 5, H, dtype=torch.bfloat16, device="meta")
    got = whole(x)
    want = _experts_block(layer, ModelDir(Path("m"), {}, spec, "torch"), parts)(x)
    assert type(got) is type(want)
    got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
    assert [(tuple(t.shape), t.dtype) for t in got] == [(tuple(t.shape), t.dtype) for t in want]
    extra = {"logits": [(15, E)], "scores": [(15, K)], None: []}[returns]
    assert [tuple(t.shape) for t in got] == [(3, 5, H)] + extra


# --------------------------------------------------------------------------- GPU

ARCHS = tuple(c for c in CASES if c not in COMPILED)
E, H, I, K = 4, 128, 128, 2
assert all((c["E"], c["H"], c["I"], c["k"]) == (E, H, I, K) for c in CASES.values())


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
    from helpers import BIASED, GRANITE, NAMES, SHARED_GATED, bias_name, router_name

    moe, g, u, d = NAMES[arch]
    first = 1 if arch in DEEPSEEK else 0
    model = nn.Module()
    model.model = nn.Module()
    layers = nn.ModuleList()
    for i in range(first + 2):
        dl = nn.Module()
        if i < first:
            dl.mlp = nn.Identity()  # a dense layer: no gate, no experts
        elif arch in GPT_OSS:
            dl.mlp = _gpt_oss_block(H, E, t, i)
        elif arch in GRANITE:
            # GraniteMoE's block: router.layer and the stacked experts (input_linear).
            blk = nn.Module()
            blk.router = nn.Module()
            blk.router.layer = nn.Linear(H, E, bias=False)
            blk.router.layer.weight.data = _tensor(t, router_name(arch, i))
            blk.input_linear = nn.Module()
            blk.input_linear.weight = nn.Parameter(
                _tensor(t, f"model.layers.{i}.{moe}.input_linear.weight"))
            setattr(dl, moe, blk)
        else:
            blk = nn.Module()
            blk.gate = nn.Linear(H, E, bias=False)
            blk.gate.weight.data = _tensor(t, router_name(arch, i))
            if arch in BIASED:  # the router's (DeepSeek-V3), the block's (MiniMax-M2), or
                owner = blk.gate  # in the block's moe_statics, [1, E] (ERNIE-4.5)
                if arch == "minimax_m2":
                    owner = blk
                elif arch == "ernie4_5_moe":
                    owner = blk.moe_statics = nn.Module()
                owner.register_buffer("e_score_correction_bias",
                                      _tensor(t, bias_name(arch, i)))
            blk.experts = nn.ModuleList(
                _MLP(t, f"model.layers.{i}.{moe}.experts.{e}.", (g, u, d)) for e in range(E))
            if arch in SHARED_GATED:
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


def _routes(block, x, spec):
    """(top-k weights, ids) of ``block``'s routing of ``x``: a SamoyedsExpertsBlock's own
    (torch), or, for a whole layer (a SamoyedsMoEBlock: compiled routing), ``spec``'s
    convention (route_torch) on the float32 logits of its layer's router and router bias,
    as the compiled route accumulates them."""
    from samoyeds.routing import route_torch
    from samoyeds.torch_op import SamoyedsMoEBlock

    if not isinstance(block, SamoyedsMoEBlock):
        return block.route(x)[:2]
    logits = x.float() @ block.layer.router.float().T
    if block.layer.router_bias is not None:
        logits = logits + block.layer.router_bias.float()
    return route_torch(logits, spec)


def _shared(block):
    """(shared expert, its gate) of a SamoyedsExpertsBlock or a SamoyedsMoEBlock."""
    from samoyeds.torch_op import SamoyedsMoEBlock

    if isinstance(block, SamoyedsMoEBlock):
        return block.shared_expert, block.shared_expert_gate
    return block.shared, block.shared_gate


def _reference(block, x, weights_file, prefix, route_x=None, spec=None):
    """float32 torch: the block's routing (of ``route_x`` where given, else of ``x``;
    ``spec``: the convention of a whole-layer block, _routes), the pruned experts
    (unpacked from the packed weight file), the shared experts. gpt-oss's
    experts (a layer with bias inputs): transformers' GptOssExperts, with the file's
    biases (the ones the layer loads) and the clamped SwiGLU (alpha 1.702, limit 7)."""
    from samoyeds.pack import unpack
    from samoyeds.safetensors_io import SafetensorsFile
    from samoyeds.weightfile import WeightFile

    wf = WeightFile(weights_file)
    try:
        w13 = _bf16(unpack(wf.read(prefix + "w13"))).float().cuda()
        w2 = _bf16(unpack(wf.read(prefix + "w2"))).float().cuda()
    finally:
        wf.close()
    b13 = b2 = None
    if block.layer.bias_inputs:
        with SafetensorsFile(weights_file) as f:
            b13, b2 = (_bf16(np.asarray(f.get(prefix + n))).float().cuda()
                       for n in ("w13_bias", "w2_bias"))
    weights, ids = _routes(block, x if route_x is None else route_x, spec)
    xf = x.float()
    y = torch.zeros_like(xf)
    for j in range(ids.shape[1]):
        for e in range(E):
            sel = ids[:, j] == e
            if sel.any():
                h = xf[sel] @ w13[e].T
                if b13 is None:
                    a = nn.functional.silu(h[:, :I]) * h[:, I:]
                    y[sel] += weights[sel, j:j + 1] * (a.to(torch.bfloat16).float() @ w2[e].T)
                    continue
                h = h + b13[e]
                gate, up = h[:, :I].clamp(max=7.0), h[:, I:].clamp(-7.0, 7.0)
                a = (up + 1) * (gate * torch.sigmoid(1.702 * gate))
                y[sel] += weights[sel, j:j + 1] * (a.to(torch.bfloat16).float() @ w2[e].T
                                                   + b2[e])
    shared, shared_gate = _shared(block)
    if shared is not None:
        s = shared(x).float()
        if shared_gate is not None:
            s = torch.sigmoid(shared_gate(x).float()) * s
        y = y + s
    return y


def _normed(v):
    """v / rms(v) over the hidden dimension, in bf16 (a decoder layer's pre-norm)."""
    v = v.float()
    return (v / v.pow(2).mean(-1, keepdim=True).sqrt()).to(torch.bfloat16)


def _run(blk, x):
    """The hidden states a block returns (Mixtral's, Qwen's and OLMoE's blocks return
    (hidden states, router logits), as the transformers blocks they replace do)."""
    y = blk(x)
    return y[0] if isinstance(y, tuple) else y


def _model_logits(model, swapped, arch, t, weights_file, T=256, spec=None):
    """Logits of T random hidden states through every swapped layer (h + block(norm(h)))
    and a head made of the checkpoint's embedding rows: (compiled, float32 reference).
    The reference routes each layer as the compiled stream does (on its input): the bf16
    and float32 streams differ by rounding, which flips near-tied routings, and sigmoid
    routing by groups (DeepSeek-V3, GLM-4.5) ties often at E = 4: float32 experts on a
    bf16 stream, no kernel involved, were 2.6-5.3% off the float32 stream's logits (session
    43). Routing itself is checked against float64 in test_routing.py."""
    torch.manual_seed(2)
    h = torch.randn(T, H, device="cuda", dtype=torch.bfloat16)
    ref = h.float()
    for i in swapped:
        blk = getattr(model.model.layers[i], NAMES[arch][0])
        x = _normed(h)
        h = h + _run(blk, x)
        ref = ref + _reference(blk, _normed(ref), weights_file, f"layers.{i}.", route_x=x,
                               spec=spec)
    head = _tensor(t, "model.embed_tokens.weight").float().cuda()
    return h.float() @ head.T, ref @ head.T


@requires_gpu
@pytest.mark.parametrize("arch", ARCHS)
def test_load_runs_the_compiled_experts(tmp_path, arch):
    from samoyeds import load

    out, t = model_dir(tmp_path, arch, OPT)
    model = _hf_shaped_model(arch, t)
    swapped = load(model, out, max_tokens=256)
    first = 1 if arch in DEEPSEEK else 0
    assert swapped == [first, first + 1]
    torch.manual_seed(0)
    for i in swapped:
        blk = getattr(model.model.layers[i], NAMES[arch][0])
        x = torch.randn(37, H, device="cuda", dtype=torch.bfloat16)
        y = _run(blk, x)
        ref = _reference(blk, x, out / "weights.safetensors", f"layers.{i}.")
        err = (y.float() - ref).norm() / ref.norm()
        assert err < 2e-2, f"layer {i}: relative error {err:.4f}"
    logits, ref = _model_logits(model, swapped, arch, t, out / "weights.safetensors")
    err = ((logits - ref).norm() / ref.norm()).item()
    agree = (logits.argmax(-1) == ref.argmax(-1)).float().mean().item()
    assert not torch.isnan(logits).any(), "NaN in the logits"
    assert err < 2e-2 and agree >= 0.95, (f"logits: relative error {err:.4f}, top-1 "
                                          f"agreement {agree:.3f} (need < 0.02, >= 0.95)")


def _check_returns(got, parts, T):
    """``got`` is what the HF block of ``parts`` (serving._block_parts) returned, as
    samoyeds.load's SamoyedsExpertsBlock returns it: gpt-oss's (hidden states, router scores
    [T, k]), a transformers 4.x block's (hidden states, router logits [T, E]), else the
    hidden states."""
    if parts["returns_scores"]:
        assert isinstance(got, tuple) and tuple(got[1].shape) == (T, K)
    elif parts["returns_tuple"]:
        assert isinstance(got, tuple) and tuple(got[1].shape) == (T, E)
    else:
        assert isinstance(got, torch.Tensor)


@requires_gpu
@pytest.mark.parametrize("case", COMPILED)
def test_load_runs_the_compiled_routing(tmp_path, case):
    """A model directory of samoyeds-compile --routing compiled: every block becomes a
    SamoyedsMoEBlock running the whole layer (router, softmax top-k, renormalisation or
    DeepSeek-V2's scaling factor, gpt-oss's router bias compiled in), compared with the
    torch-routing path's float32 reference block by block and as logits, and returning what
    the replaced block returned."""
    from samoyeds import load
    from samoyeds.serving import _block_parts, read_model
    from samoyeds.torch_op import SamoyedsMoEBlock

    arch = CASES[case]["arch"]
    out, t = model_dir(tmp_path, case, OPT)
    md = read_model(out)
    assert md.routing_mode == "compiled"
    model = _hf_shaped_model(arch, t)
    first = 1 if arch in DEEPSEEK else 0
    parts = {i: _block_parts(getattr(model.model.layers[i], NAMES[arch][0]), arch)
             for i in (first, first + 1)}
    assert load(model, out, max_tokens=256) == [first, first + 1]
    torch.manual_seed(0)
    for i in parts:
        blk = getattr(model.model.layers[i], NAMES[arch][0])
        assert isinstance(blk, SamoyedsMoEBlock) and blk.layer.kind == "moe_ffn"
        x = torch.randn(37, H, device="cuda", dtype=torch.bfloat16)
        got = blk(x)
        _check_returns(got, parts[i], 37)
        y = got[0] if isinstance(got, tuple) else got
        ref = _reference(blk, x, out / "weights.safetensors", f"layers.{i}.", spec=md.routing)
        err = (y.float() - ref).norm() / ref.norm()
        assert err < 2e-2, f"layer {i}: relative error {err:.4f}"
    logits, ref = _model_logits(model, list(parts), arch, t, out / "weights.safetensors",
                                spec=md.routing)
    err = ((logits - ref).norm() / ref.norm()).item()
    agree = (logits.argmax(-1) == ref.argmax(-1)).float().mean().item()
    assert not torch.isnan(logits).any(), "NaN in the logits"
    assert err < 2e-2 and agree >= 0.95, (f"logits: relative error {err:.4f}, top-1 "
                                          f"agreement {agree:.3f} (need < 0.02, >= 0.95)")


@requires_gpu
@pytest.mark.parametrize("case", ["deepseek_v3", "mixtral.compiled", "gpt_oss.compiled"])
def test_cuda_graphs_without_warmup(tmp_path, case):
    """Torch routing (DeepSeek-V3's) and compiled routing (Mixtral's, gpt-oss's with its
    router bias and router scores) alike."""
    from samoyeds import load

    arch = CASES[case]["arch"]
    out, t = model_dir(tmp_path, case, OPT)
    model = _hf_shaped_model(arch, t)
    load(model, out, max_tokens=128)
    blk = getattr(model.model.layers[1], NAMES[arch][0])
    torch.manual_seed(1)
    # torch's own lazy initialisation (cuBLAS for the router matmul, with gpt-oss's bias)
    # outside the capture, on unrelated matmuls: the Samoyeds layer itself is never run before.
    a = torch.randn(8, H, device="cuda", dtype=torch.bfloat16)
    (a @ a.T).sum().item()
    nn.functional.linear(a, a, a[:, 0]).sum().item()
    graphs = []
    # Capture first, at several T, with no eager call of the layer before.
    for T in (1, 7, 64, 128):
        static_x = torch.randn(T, H, device="cuda", dtype=torch.bfloat16)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            static_y = _run(blk, static_x)
        graphs.append((g, static_x, static_y))
    for g, static_x, static_y in graphs:
        for _ in range(2):
            static_x.copy_(torch.randn_like(static_x))
            g.replay()
            eager = _run(blk, static_x.clone())
            torch.cuda.synchronize()
            assert torch.equal(static_y, eager), f"T = {static_x.shape[0]}"
    with pytest.raises(SamoyedsError, match="129 tokens exceed max_tokens = 128"):
        _run(blk, torch.randn(129, H, device="cuda", dtype=torch.bfloat16))


@requires_gpu
def test_out_of_range_ids_are_clamped(tmp_path):
    """The dispatch clamps ids outside [0, E): -1 runs expert 0, E + 3 expert E - 1."""
    from samoyeds.layer import MoELayer

    out, _ = model_dir(tmp_path, "olmoe", OPT)
    layer = MoELayer(next((out / "bundles").iterdir()), max_tokens=16)
    layer.load_weights(out / "weights.safetensors", "layers.0.")
    x = torch.randn(16, H, device="cuda", dtype=torch.bfloat16)
    w = torch.rand(16, K, device="cuda", dtype=torch.float32)
    bad = torch.tensor([[-1, E + 3]] * 16, device="cuda", dtype=torch.int32)
    good = torch.tensor([[0, E - 1]] * 16, device="cuda", dtype=torch.int32)
    assert torch.equal(layer(x, w, bad), layer(x, w, good))
    layer.close()


# --------------------------------------------------------------------------- precompiled


requires_opt = pytest.mark.skipif(
    not Path(OPT).is_file() or LIB_MISSING is not None,
    reason=f"precompiling needs samoyeds-opt ({OPT}) and the runtime library "
           f"({LIB_MISSING or 'found'})")


@pytest.fixture(scope="module")
def precompiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("precompiled") / "serving"
    generate(root, OPT)
    return root


@requires_opt
def test_precompiled_cases_load(precompiled):
    import json

    for case, c in CASES.items():
        out, t = load_case(precompiled, case)
        m = json.loads((out / "samoyeds-model.json").read_text())
        assert m.get("routing_mode", "torch") == c.get("routing", "torch")
        assert f"model.layers.{2 if c['arch'] in DEEPSEEK else 1}.self_attn." \
               f"q_proj.weight" in t


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


@requires_opt
def test_precompiled_mismatches_fail_loudly(precompiled, tmp_path):
    import json

    # A changed byte of the packed weights.
    root = _copy(precompiled, tmp_path / "a")
    w = root / "olmoe" / "model" / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 1
    w.write_bytes(bytes(data))
    with pytest.raises(PrecompiledMismatch, match=r"weights.safetensors: sha256"):
        load_case(root, "olmoe")
    # Another case's model under this case's name, index updated to match: the content
    # check finds that it was not compiled from this checkpoint.
    root = _copy(precompiled, tmp_path / "b")
    import shutil

    shutil.rmtree(root / "qwen3_moe" / "model")
    shutil.copytree(root / "olmoe" / "model", root / "qwen3_moe" / "model")
    index = json.loads((root / "index.json").read_text())
    from serving_cases import _files

    index["cases"]["qwen3_moe"]["files"] = _files(root / "qwen3_moe")
    (root / "index.json").write_text(json.dumps(index))
    with pytest.raises(PrecompiledMismatch, match="is not the pruning"):
        load_case(root, "qwen3_moe")
    # A model compiled with torch routing under a compiled-routing case's name.
    shutil.rmtree(root / "mixtral.compiled" / "model")
    shutil.copytree(root / "mixtral" / "model", root / "mixtral.compiled" / "model")
    index["cases"]["mixtral.compiled"]["files"] = _files(root / "mixtral.compiled")
    (root / "index.json").write_text(json.dumps(index))
    with pytest.raises(PrecompiledMismatch, match="mixtral.compiled/model was compiled with "
                                                  "--routing torch, the case needs compiled"):
        load_case(root, "mixtral.compiled")
    # A file added, a case missing, parameters changed, no index.
    root = _copy(precompiled, tmp_path / "c")
    (root / "mixtral" / "model" / "extra").write_text("x")
    with pytest.raises(PrecompiledMismatch, match="extra: not recorded"):
        load_case(root, "mixtral")
    index = json.loads((root / "index.json").read_text())
    del index["cases"]["olmoe"]
    index["cases"]["qwen2_moe"]["params"]["seed"] += 100
    (root / "index.json").write_text(json.dumps(index))
    with pytest.raises(PrecompiledMismatch, match="no case 'olmoe'"):
        load_case(root, "olmoe")
    with pytest.raises(PrecompiledMismatch, match="was made with"):
        load_case(root, "qwen2_moe")
    with pytest.raises(PrecompiledMismatch, match="cannot read index.json"):
        load_case(tmp_path / "nothing", "olmoe")


def test_precompiled_variable_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path / "absent"))
    with pytest.raises(PrecompiledMismatch, match=f"{ENV}=.*absent: cannot read"):
        model_dir(tmp_path, "olmoe", OPT)
    monkeypatch.delenv(ENV)
    assert precompiled_root() is None
