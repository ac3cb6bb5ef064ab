"""Test helpers: an independent numpy pruning reference and tiny MoE checkpoints."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from samoyeds.pack import float32_to_bf16, to_float32
from samoyeds.safetensors_io import save_file


REPO = Path(__file__).resolve().parents[2]


def find_samoyeds_opt():
    """samoyeds-opt: $SAMOYEDS_OPT, build/bin or the PATH; None where there is none (the
    GPU machine)."""
    for c in (os.environ.get("SAMOYEDS_OPT"), REPO / "build" / "bin" / "samoyeds-opt",
              shutil.which("samoyeds-opt")):
        if c and Path(c).is_file():
            return str(c)
    return None


def bundle_dir(env, tmp_path_factory, what, build):
    """The bundle directory $env names, else a fresh one that ``build(samoyeds_opt, dir)``
    fills and returns; the test is skipped, saying so, where neither is possible."""
    if os.environ.get(env):
        return Path(os.environ[env])
    opt = find_samoyeds_opt()
    if opt is None:
        pytest.skip(f"no {what}: set {env} or provide samoyeds-opt")
    return build(opt, tmp_path_factory.mktemp(what.replace(" ", "_")))


def prune_reference(dense, dtype, n, m, v):
    """Format.md's logical content in numpy: row selection by span L2 norm, then 2:4."""
    dense = np.asarray(dense, dtype=np.uint16)
    if dense.ndim == 2:
        dense = dense[None]
    f = to_float32(dense, dtype).astype(np.float64)
    E, R, K = f.shape
    out = np.zeros_like(dense)
    for s in range(K // v):
        cols = slice(s * v, (s + 1) * v)
        blk = f[:, :, cols]
        norms = (blk ** 2).sum(-1).reshape(E, R // m, m)
        top = np.argsort(-norms, axis=-1, kind="stable")[..., :n]
        keep = np.zeros(norms.shape, bool)
        np.put_along_axis(keep, top, True, -1)
        mag = np.abs(blk).reshape(E, R, v // 4, 4)
        two = np.argsort(-mag, axis=-1, kind="stable")[..., :2]
        k2 = np.zeros(mag.shape, bool)
        np.put_along_axis(k2, two, True, -1)
        mask = k2.reshape(E, R, v) & keep.reshape(E, R)[:, :, None]
        out[:, :, cols] = np.where(mask, dense[:, :, cols], 0)
    return out


def _values_positions(Rk, K):
    """Word indices of C[kr][c..c+1] (c even), per expert, in both layouts, written from
    docs/Format.md's formulas (independently of the runtime): (mma_sp, wgmma), [Rk, K/4]."""
    kr = np.arange(Rk)[:, None]
    c = np.arange(0, K // 2, 2)[None, :]
    KS, KB = K // 32, K // 128
    tr, rr, ks, cc = kr // 16, kr % 16, c // 16, c % 16
    lane = (rr % 8) * 4 + (cc % 8) // 2
    i = (rr // 8) | ((cc // 8) << 1)
    mma = ((tr * KS + ks) * 32 + lane) * 4 + i
    T, r, b, cw = kr // 64, kr % 64, c // 64, c % 64
    byte = ((T * KB + b) * 64 + r) * 128 + ((cw // 8) ^ (r % 8)) * 16 + (cw % 8) * 2
    return mma, byte // 4


def _meta_positions(Rk, K):
    """(mma_sp word, wgmma word, shift) of the nibble of row kr, chunk ch: [Rk, K/4]."""
    kr = np.arange(Rk)[:, None]
    ch = np.arange(K // 4)[None, :]
    KS = K // 32
    rr, ks, h, q = kr % 16, ch // 8, (ch % 8) // 4, ch % 4
    g = rr % 8
    mma = ((kr // 16) * KS + ks) * 16 + 2 * g + h
    wg = (((kr // 64) * KS + ks) * 4 + (kr % 64) // 16) * 16 + 2 * g + h
    shift = 4 * q + np.where(rr >= 8, 16, 0)
    return mma, wg, shift


def wgmma_from_mma_sp(values, meta, experts, Rk, K):
    """The wgmma values and meta bytes of a weight packed in mma_sp (uint8 arrays)."""
    vm, vw = _values_positions(Rk, K)
    mm, mw, shift = _meta_positions(Rk, K)
    vin = np.ascontiguousarray(values).view("<u4").reshape(experts, -1)
    min_ = np.ascontiguousarray(meta).view("<u4").reshape(experts, -1)
    vout = np.zeros_like(vin)
    mout = np.zeros_like(min_)
    for e in range(experts):
        vout[e, vw.ravel()] = vin[e, vm.ravel()]
        nib = (min_[e, mm] >> shift.astype(np.uint32)) & 0xF
        np.bitwise_or.at(mout[e], mw.ravel(), (nib << shift.astype(np.uint32)).ravel())
    return vout.view(np.uint8).ravel(), mout.view(np.uint8).ravel()


NAMES = {
    "mixtral": ("block_sparse_moe", "w1", "w3", "w2"),
    "qwen2_moe": ("mlp", "gate_proj", "up_proj", "down_proj"),
    "deepseek_v2": ("mlp", "gate_proj", "up_proj", "down_proj"),
    "olmoe": ("mlp", "gate_proj", "up_proj", "down_proj"),
    "qwen3_moe": ("mlp", "gate_proj", "up_proj", "down_proj"),
    "deepseek_v3": ("mlp", "gate_proj", "up_proj", "down_proj"),
    "qwen3_next": ("mlp", "gate_proj", "up_proj", "down_proj"),
    "glm4_moe": ("mlp", "gate_proj", "up_proj", "down_proj"),
    "kimi_k2": ("mlp", "gate_proj", "up_proj", "down_proj"),
    "minimax_m2": ("block_sparse_moe", "w1", "w3", "w2"),
    "ernie4_5_moe": ("mlp", "gate_proj", "up_proj", "down_proj"),
    # GraniteMoE's experts are stacked (no per-expert names; make_checkpoint).
    "granitemoe": ("block_sparse_moe", None, None, None),
    "granitemoeshared": ("block_sparse_moe", None, None, None),
    "granitemoehybrid": ("block_sparse_moe", None, None, None),
    # gpt-oss's experts are stacked "in x out", gate / up interleaved, with biases
    # (make_checkpoint); its router has a bias.
    "gpt_oss": ("mlp", None, None, None),
}
# A dense first layer and `shared_experts` (DeepSeek-style blocks).
DEEPSEEK = ("deepseek_v2", "deepseek_v3", "glm4_moe", "kimi_k2", "ernie4_5_moe")
# GraniteMoE's stacked experts (block_sparse_moe.input_linear / output_linear, router
# router.layer); the shared families also a shared_mlp beside the block.
GRANITE = ("granitemoe", "granitemoeshared", "granitemoehybrid")
# gpt-oss: mlp.experts.gate_up_proj [E, H, 2I] (gate = [..., ::2], up = [..., 1::2]),
# gate_up_proj_bias [E, 2I] (interleaved the same way), down_proj [E, I, H], down_proj_bias
# [E, H]; mlp.router.weight [E, H] and mlp.router.bias [E].
GPT_OSS = ("gpt_oss",)


def router_name(model, layer):
    """The router weight's tensor name of ``model``'s layer ``layer`` (make_checkpoint)."""
    moe = NAMES[model][0]
    if model in GPT_OSS:
        return f"model.layers.{layer}.mlp.router.weight"
    return (f"model.layers.{layer}.{moe}.router.layer.weight" if model in GRANITE
            else f"model.layers.{layer}.{moe}.gate.weight")
# DeepSeek-V3's routing: sigmoid scores and a selection bias (gate.e_score_correction_bias).
BIASED = ("deepseek_v3", "glm4_moe", "kimi_k2", "minimax_m2", "ernie4_5_moe")


def bias_name(model, layer):
    """The selection bias's tensor name (BIASED models): the router's, or MiniMax-M2's on
    the block."""
    if model == "minimax_m2":
        return f"model.layers.{layer}.block_sparse_moe.e_score_correction_bias"
    if model == "ernie4_5_moe":  # [1, E]
        return f"model.layers.{layer}.mlp.moe_statics.e_score_correction_bias"
    return f"model.layers.{layer}.mlp.gate.e_score_correction_bias"
# A gated `shared_expert` (Qwen2-MoE-style blocks).
SHARED_GATED = ("qwen2_moe", "qwen3_next")


def make_checkpoint(path, model, layers=2, E=4, H=64, I=32, seed=0, st_dtype="BF16",
                    shards=1, writer=None):
    """Writes a tiny checkpoint; returns {name: (st_dtype, array)} of everything written.

    DEEPSEEK models get a dense first layer (layer 0) and shared experts, BIASED ones
    also the selection bias (F32); SHARED_GATED ones a shared expert and its gate.
    Attention / embedding tensors are added too.
    """
    rng = np.random.default_rng(seed)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    moe, g, u, d = NAMES[model]
    t = {}

    def add(name, shape):
        x = rng.standard_normal(shape).astype(np.float32)
        if st_dtype == "BF16":
            t[name] = ("BF16", float32_to_bf16(x))
        elif st_dtype == "F16":
            t[name] = ("F16", x.astype(np.float16))
        else:
            t[name] = (st_dtype, x.astype(np.float32))

    add("model.embed_tokens.weight", (16, H))
    first = 0
    total = layers
    if model in DEEPSEEK:
        # layer 0 is dense
        for p, shape in ((g, (I, H)), (u, (I, H)), (d, (H, I))):
            add(f"model.layers.0.mlp.{p}.weight", shape)
        add("model.layers.0.self_attn.q_proj.weight", (H, H))
        first, total = 1, layers + 1
    for i in range(first, total):
        add(f"model.layers.{i}.self_attn.q_proj.weight", (H, H))
        add(f"model.layers.{i}.input_layernorm.weight", (H,))
        if model in GPT_OSS:
            x = f"model.layers.{i}.mlp.experts"
            add(f"{x}.gate_up_proj", (E, H, 2 * I))
            add(f"{x}.gate_up_proj_bias", (E, 2 * I))
            add(f"{x}.down_proj", (E, I, H))
            add(f"{x}.down_proj_bias", (E, H))
            add(router_name(model, i), (E, H))
            add(f"model.layers.{i}.mlp.router.bias", (E,))
            continue
        if model in GRANITE:
            add(f"model.layers.{i}.{moe}.input_linear.weight", (E, 2 * I, H))
            add(f"model.layers.{i}.{moe}.output_linear.weight", (E, H, I))
            add(router_name(model, i), (E, H))
            if model != "granitemoe":
                add(f"model.layers.{i}.shared_mlp.input_linear.weight", (2 * I, H))
                add(f"model.layers.{i}.shared_mlp.output_linear.weight", (H, I))
            continue
        for e in range(E):
            for p, shape in ((g, (I, H)), (u, (I, H)), (d, (H, I))):
                add(f"model.layers.{i}.{moe}.experts.{e}.{p}.weight", shape)
        add(f"model.layers.{i}.{moe}.gate.weight", (E, H))
        if model in SHARED_GATED:
            for p, shape in ((g, (I, H)), (u, (I, H)), (d, (H, I))):
                add(f"model.layers.{i}.mlp.shared_expert.{p}.weight", shape)
            add(f"model.layers.{i}.mlp.shared_expert_gate.weight", (1, H))
        if model in DEEPSEEK:
            for p, shape in ((g, (I, H)), (u, (I, H)), (d, (H, I))):
                add(f"model.layers.{i}.mlp.shared_experts.{p}.weight", shape)
        if model in BIASED:
            bias = rng.uniform(-0.01, 0.01, E).astype(np.float32)
            t[bias_name(model, i)] = ("F32", bias.reshape(1, E) if model == "ernie4_5_moe"
                                      else bias)
    names = list(t)
    if shards == 1:
        _write(path / "model.safetensors", {k: t[k] for k in names}, writer)
    else:
        per = -(-len(names) // shards)
        wm = {}
        for s in range(shards):
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = names[s * per:(s + 1) * per]
            _write(path / fname, {k: t[k] for k in part}, writer)
            wm.update({k: fname for k in part})
        (path / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": 0}, "weight_map": wm}))
    return t


def _write(file, tensors, writer):
    if writer == "safetensors":
        from safetensors.numpy import save_file as st_save

        st_save({k: a for k, (_, a) in tensors.items()}, str(file), metadata={"format": "np"})
    else:
        save_file(tensors, file, metadata={"format": "pt"})


def stacked(t, model, layer, E, dtype="bf16"):
    """Reference w13 [E, 2I, H] and w2 [E, H, I] (uint16 bf16) of a generated checkpoint."""
    moe, g, u, d = NAMES[model]

    def bf16(st, a):
        return a if st == "BF16" else float32_to_bf16(np.asarray(a, np.float32))

    if model in GRANITE:
        return tuple(bf16(*t[f"model.layers.{layer}.{moe}.{w}.weight"])
                     for w in ("input_linear", "output_linear"))
    if model in GPT_OSS:
        gu = bf16(*t[f"model.layers.{layer}.mlp.experts.gate_up_proj"])  # [E, H, 2I]
        down = bf16(*t[f"model.layers.{layer}.mlp.experts.down_proj"])  # [E, I, H]
        I2 = gu.shape[2]
        w13 = np.empty((gu.shape[0], I2, gu.shape[1]), gu.dtype)
        for j in range(I2 // 2):  # expert rows: gate j from column 2j, up j from 2j + 1
            w13[:, j] = gu[:, :, 2 * j]
            w13[:, I2 // 2 + j] = gu[:, :, 2 * j + 1]
        return w13, np.ascontiguousarray(np.swapaxes(down, 1, 2))

    def get(e, p):
        return bf16(*t[f"model.layers.{layer}.{moe}.experts.{e}.{p}.weight"])

    w13 = np.stack([np.concatenate([get(e, g), get(e, u)]) for e in range(E)])
    w2 = np.stack([get(e, d) for e in range(E)])
    return w13, w2


def hf_config(model, layers=2, E=4, H=64, I=32, k=2):
    """A config.json (dict) for make_checkpoint's tensors: the keys samoyeds.compile and
    transformers read (routing, sizes, DeepSeek's dense first layer)."""
    c = {"model_type": model, "hidden_size": H, "num_experts_per_tok": k,
         "num_hidden_layers": layers + (1 if model in DEEPSEEK else 0),
         "vocab_size": 16, "torch_dtype": "bfloat16"}
    if model == "ernie4_5_moe":  # ERNIE-4.5's keys: moe_k of moe_num_experts
        del c["num_experts_per_tok"]
        c.update(moe_num_experts=E, moe_k=k, moe_intermediate_size=I, intermediate_size=I,
                 moe_num_shared_experts=1, moe_layer_start_index=1, moe_layer_interval=1,
                 moe_norm_min=1e-12)
    elif model in GPT_OSS:  # gpt-oss-20b's keys (its release also says experts_per_token)
        c.update(num_local_experts=E, experts_per_token=k, intermediate_size=I,
                 swiglu_limit=7.0, hidden_act="silu", router_aux_loss_coef=0.9)
    elif model in ("mixtral", "minimax_m2") or model in GRANITE:
        c.update(num_local_experts=E, intermediate_size=I)
        if model == "minimax_m2":
            c.update(scoring_func="sigmoid", use_routing_bias=True)
        if model != "granitemoe" and model in GRANITE:
            c["shared_intermediate_size"] = I
    elif model in ("qwen2_moe", "qwen3_moe", "qwen3_next", "olmoe"):
        c.update(num_experts=E, moe_intermediate_size=I, intermediate_size=I,
                 norm_topk_prob=model in ("qwen3_moe", "qwen3_next"))
        if model in SHARED_GATED:
            c["shared_expert_intermediate_size"] = I
    else:
        c.update(n_routed_experts=E, moe_intermediate_size=I, intermediate_size=I,
                 n_shared_experts=1, first_k_dense_replace=1, routed_scaling_factor=2.0)
        if model == "deepseek_v2":
            c.update(topk_method="group_limited_greedy", n_group=2, topk_group=1,
                     norm_topk_prob=False, scoring_func="softmax")
        elif model == "deepseek_v3":
            c.update(topk_method="noaux_tc", n_group=2, topk_group=1, norm_topk_prob=True)
        elif model == "kimi_k2":  # Kimi-K2's keys: DeepSeek-V3's, one group
            c.update(topk_method="noaux_tc", n_group=1, topk_group=1, norm_topk_prob=True,
                     scoring_func="sigmoid", architectures=["DeepseekV3ForCausalLM"])
        else:  # glm4_moe: GLM-4.5's keys (no topk_method; one group)
            c.update(n_group=1, topk_group=1, norm_topk_prob=True)
    return c


def make_hf_checkpoint(path, model, layers=2, E=4, H=64, I=32, k=2, seed=0, shards=1,
                       st_dtype="BF16", config=None):
    """A tiny Hugging Face style checkpoint directory: config.json (hf_config, updated
    with ``config``) and make_checkpoint's safetensors. Returns (config, tensors)."""
    c = hf_config(model, layers, E, H, I, k)
    c.update(config or {})
    t = make_checkpoint(path, model, layers, E, H, I, seed, st_dtype, shards)
    (Path(path) / "config.json").write_text(json.dumps(c, indent=1))
    return c, t


def gpt_oss_biases(t, layer, dtype="bf16"):
    """Reference w13_bias [E, 2I] (gate first) and w2_bias [E, H] (uint16 16-bit bits in
    ``dtype``) of make_checkpoint's gpt-oss layer."""
    def bits(st, a):
        f = to_float32(a, "bf16") if st == "BF16" else np.asarray(a, np.float32)
        return float32_to_bf16(f) if dtype == "bf16" else f.astype(np.float16).view(np.uint16)

    b13 = bits(*t[f"model.layers.{layer}.mlp.experts.gate_up_proj_bias"])
    b2 = bits(*t[f"model.layers.{layer}.mlp.experts.down_proj_bias"])
    I = b13.shape[1] // 2
    gate = np.stack([b13[:, 2 * j] for j in range(I)], axis=1)
    up = np.stack([b13[:, 2 * j + 1] for j in range(I)], axis=1)
    return np.concatenate([gate, up], axis=1), b2


def fuse_experts(t, model, E):
    """make_checkpoint's tensors ``t`` as transformers 5 saves them: each MoE layer's experts
    in experts.gate_up_proj [E, 2I, H] (gate rows first) and experts.down_proj [E, H, I],
    Mixtral's and MiniMax-M2's block (router, bias) under mlp. Returns the new
    {name: (dtype, array)}."""
    moe, g, u, d = NAMES[model]
    out, layers = {}, set()
    for name, v in t.items():
        parts = name.split(".")
        if len(parts) > 5 and parts[3] == moe and parts[4] == "experts":
            layers.add(int(parts[2]))
            continue
        if moe == "block_sparse_moe" and parts[3:4] == [moe]:
            name = ".".join(parts[:3] + ["mlp"] + parts[4:])
        out[name] = v
    block = "mlp" if moe == "block_sparse_moe" else moe
    for i in sorted(layers):
        def get(e, p):
            return t[f"model.layers.{i}.{moe}.experts.{e}.{p}.weight"]
        dt = get(0, g)[0]
        out[f"model.layers.{i}.{block}.experts.gate_up_proj"] = (dt, np.stack(
            [np.concatenate([get(e, g)[1], get(e, u)[1]]) for e in range(E)]))
        out[f"model.layers.{i}.{block}.experts.down_proj"] = (dt, np.stack(
            [get(e, d)[1] for e in range(E)]))
    return out
