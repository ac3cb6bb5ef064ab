"""The pieces of the model-level benchmark (bench/model_bench.py) that touch torch, testable on
a CPU (bench/test_model_bench.py):

* a transformers model of a bench/model_specs.py model with random weights, built on the
  device (``build_model``);
* expert weights made of a few distinct random experts (packing real-size experts on the CPU
  takes ~30 ns per element: minutes per layer), packed with the package's packer in threads,
  their unpacking (the pruned dense experts), and expert e of every layer = distinct expert
  e mod D, in the dense model (``fill_experts``) and in the packed layer weights (``tile``);
* a static KV cache and the prefill / decode steps, run through the model's own modules
  (embedding, rotary, decoder layers with their attention, norm, head) at fixed shapes, so
  that a step can be captured in a CUDA graph (``StaticCache``, ``hidden``);
* the swap of every MoE block for a ``samoyeds.serving.SamoyedsExpertsBlock`` (what
  ``samoyeds.load`` does with a compiled model directory, the packed weights given here);
* timing by CUDA-graph replay and the memory arithmetic of the largest batch.
"""
import contextlib
import dataclasses
import gc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from model_specs import MODELS
from samoyeds.pack import PackedWeight, pack, unpack

PARTS = ("values", "meta", "row_idx")


# --------------------------------------------------------------------------- the model


def hf_config(name, layers, **overrides):
    """The transformers config of model ``name`` with ``layers`` decoder layers."""
    from transformers import AutoConfig

    c = dict(MODELS[name]["config"], **overrides)
    return AutoConfig.for_model(c.pop("model_type"), num_hidden_layers=layers, **c)


def routing(name, **overrides):
    """The samoyeds.routing convention of model ``name`` (from model_specs' config: a config
    saved by transformers 5 names Qwen3's expert count num_local_experts, which
    samoyeds.routing does not read)."""
    from samoyeds.routing import routing_from_config

    return routing_from_config(dict(MODELS[name]["config"], **overrides))


def build_model(config, device, dtype=torch.bfloat16, seed=0):
    """transformers' causal LM of ``config`` on ``device`` with its own random
    initialisation (N(0, 0.02)), in eval mode; DeepSeek-V3's selection bias random too."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype,
                                                 attn_implementation="sdpa")
    model.eval().requires_grad_(False)
    for i in moe_indices(model):
        bias = getattr(model.model.layers[i].mlp.gate, "e_score_correction_bias", None)
        if bias is not None:
            bias.uniform_(-0.01, 0.01)
    return model


def moe_indices(model):
    """Indices of the decoder layers whose mlp is a sparse MoE block (transformers' or
    Samoyeds')."""
    return [i for i, dl in enumerate(model.model.layers)
            if hasattr(dl.mlp, "experts") or hasattr(dl.mlp, "router_weight")]


def module_bytes(module):
    return sum(t.numel() * t.element_size()
               for t in list(module.parameters()) + list(module.buffers()))


def inventory(model):
    """Weight bytes: embedding + final norm + head, one dense decoder layer (0 if none), the
    non-expert part of a MoE layer (attention, norms, router, shared experts) and its
    experts, averaged over the layers."""
    moe = moe_indices(model)
    layers = model.model.layers
    dense = [i for i in range(len(layers)) if i not in moe]
    experts = [module_bytes(layers[i].mlp.experts) for i in moe]
    return dict(
        outside=module_bytes(model) - sum(module_bytes(dl) for dl in layers),
        dense_layer=sum(module_bytes(layers[i]) for i in dense) // max(1, len(dense)),
        moe_other=sum(module_bytes(layers[i]) for i in moe) // len(moe)
        - sum(experts) // len(moe),
        moe_experts=sum(experts) // len(moe))


# --------------------------------------------------------------------------- experts


def distinct_experts(E, H, I, D, seed, device):
    """D random experts, N(0, 0.02) in bf16: {"w13": [D, 2I, H], "w2": [D, H, I]} as uint16
    bit patterns (numpy, what the packer takes)."""
    if E % D:
        raise ValueError(f"{D} distinct experts must divide the {E} experts")
    g = torch.Generator(device=device).manual_seed(seed)
    out = {}
    for name, shape in (("w13", (D, 2 * I, H)), ("w2", (D, H, I))):
        t = torch.empty(shape, dtype=torch.bfloat16, device=device).normal_(0, 0.02,
                                                                            generator=g)
        out[name] = t.view(torch.int16).cpu().numpy().view(np.uint16)
    return out


def _concat(parts, **params):
    return PackedWeight(*(np.concatenate([getattr(p, c) for p in parts]) for c in PARTS),
                        **params)


def expert_range(p, e0, e1):
    """Experts e0..e1-1 of a packed weight (components are stored expert after expert)."""
    sizes = [getattr(p, c).size // p.experts for c in PARTS]
    return dataclasses.replace(p, experts=e1 - e0, **{
        c: getattr(p, c)[e0 * s:e1 * s] for c, s in zip(PARTS, sizes)})


def pack_experts(bits, n, m, v, layout, threads):
    """pack() of [D, R, C] bf16 bits, one expert per task in ``threads`` threads (the packer
    lets go of the GIL); the same bytes as one pack() call."""
    D, R, C = bits.shape
    with ThreadPoolExecutor(max(1, threads)) as ex:
        parts = list(ex.map(lambda e: pack(bits[e:e + 1], n, m, v, layout=layout), range(D)))
    return _concat(parts, dtype="bf16", experts=D, rows=R, cols=C, n=n, m=m, v=v,
                   layout=layout)


def unpack_experts(p, threads):
    """unpack(p) ([experts, rows, cols] uint16), one expert per task."""
    with ThreadPoolExecutor(max(1, threads)) as ex:
        return np.stack(list(ex.map(lambda e: unpack(expert_range(p, e, e + 1))[0],
                                    range(p.experts))))


def tile(p, E):
    """The packed weight of E experts whose expert e is expert e mod D of ``p``."""
    if E % p.experts:
        raise ValueError(f"{p.experts} experts do not divide {E}")
    reps = E // p.experts
    return dataclasses.replace(p, experts=E, **{c: np.tile(getattr(p, c), reps) for c in PARTS})


def to_torch(bits, device):
    return torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16).to(device)


def fill_experts(model, dense):
    """Expert e of every MoE layer of the transformers model := dense[...][e mod D]
    ({"w13": [D, 2I, H], "w2": [D, H, I]} on the model's device; gate rows over up rows,
    transformers' gate_up_proj)."""
    for i in moe_indices(model):
        ex = model.model.layers[i].mlp.experts
        for param, src in ((ex.gate_up_proj, dense["w13"]), (ex.down_proj, dense["w2"])):
            D = src.shape[0]
            for e0 in range(0, param.shape[0], D):
                param[e0:e0 + D].copy_(src)


# --------------------------------------------------------------------------- running


class StaticCache:
    """transformers' Cache as its attention modules call it: ``update(key, value,
    layer_idx)`` writes the step's entries at the positions ``slots`` (a device tensor) of
    a per-layer [B, heads, length, dim] buffer (allocated at the first update, zeros) and
    returns the whole buffers. Fixed shapes: a step is capturable."""

    def __init__(self, length, slots):
        self.length, self.slots, self.kv = length, slots, {}

    def update(self, key, value, layer_idx, *args, **kwargs):
        if layer_idx not in self.kv:
            self.kv[layer_idx] = tuple(t.new_zeros(t.shape[0], t.shape[1], self.length,
                                                   t.shape[3]) for t in (key, value))
        k, v = self.kv[layer_idx]
        k.index_copy_(2, self.slots, key)
        v.index_copy_(2, self.slots, value)
        return k, v

    @property
    def nbytes(self):
        return sum(t.numel() * t.element_size() for kv in self.kv.values() for t in kv)


def hidden(model, ids, pos, cache):
    """The final-norm hidden states of ``ids`` [B, T] at positions ``pos`` [B, T], through the
    model's own modules, the attention reading and writing ``cache``: no mask, so a step of
    T > 1 tokens is causal over its own tokens (prefill) and a step of one token attends to
    the whole cache (decode at position length - 1)."""
    m = model.model
    h = m.embed_tokens(ids)
    pe = m.rotary_emb(h, pos)
    for dl in m.layers:
        h = dl(h, attention_mask=None, position_ids=pos, past_key_values=cache,
               position_embeddings=pe)
    return m.norm(h)


def decode_step(model, B, context, seed=0):
    """(fn, cache): fn() runs one decode step of B sequences at position context - 1 (a
    cache of ``context`` entries) and returns the logits [B, 1, V]."""
    dev = model.lm_head.weight.device
    g = torch.Generator(device="cpu").manual_seed(seed)
    ids = torch.randint(0, model.config.vocab_size, (B, 1), generator=g).to(dev)
    pos = torch.full((B, 1), context - 1, dtype=torch.long, device=dev)
    cache = StaticCache(context, torch.tensor([context - 1], device=dev))
    return (lambda: model.lm_head(hidden(model, ids, pos, cache))), cache


def prefill_step(model, ids):
    """(fn, cache): fn() prefills ``ids`` [1, T] into a fresh cache of T entries and returns
    the logits of the last position [1, 1, V] (as serving engines do)."""
    T = ids.shape[1]
    pos = torch.arange(T, device=ids.device)[None]
    cache = StaticCache(T, pos[0])
    return (lambda: model.lm_head(hidden(model, ids, pos, cache)[:, -1:])), cache


def logits_f32(model, ids, chunk=16384):
    """Prefill logits [T, V] of ``ids`` [1, T] with the head in float32 (bf16 logits tie too
    often over a large vocabulary for a top-1 comparison)."""
    T = ids.shape[1]
    pos = torch.arange(T, device=ids.device)[None]
    h = hidden(model, ids, pos, StaticCache(T, pos[0]))[0].float()
    W = model.lm_head.weight
    out = torch.empty(T, W.shape[0], dtype=torch.float32, device=h.device)
    for v0 in range(0, W.shape[0], chunk):
        out[:, v0:v0 + chunk] = h @ W[v0:v0 + chunk].float().T
    return out


def relerr(got, ref):
    got, ref = got.float(), ref.float()
    return ((got - ref).norm() / ref.norm()).item()


def compare(got, ref):
    """{relerr, top1 (agreement of the argmax), nan} of logits [T, V]."""
    return dict(relerr=relerr(got, ref), top1=(got.argmax(-1) == ref.argmax(-1)).float().mean()
                .item(), nan=int(torch.isnan(got).sum()))


@contextlib.contextmanager
def recording(model, indices):
    """{layer index: (input, output)} of the MoE blocks of ``indices`` in the forward passes
    run inside the context (the last pass kept)."""
    rec, hooks = {}, []
    for i in indices:
        def hook(module, args, out, i=i):
            rec[i] = (args[0].detach().clone(), out.detach().clone())

        hooks.append(model.model.layers[i].mlp.register_forward_hook(hook))
    try:
        yield rec
    finally:
        for h in hooks:
            h.remove()


def block_errors(model, rec):
    """{layer index: relative error} of each recorded block's output against the output of
    the layer's current MoE block on the recorded input."""
    return {i: relerr(model.model.layers[i].mlp(x), y) for i, (x, y) in rec.items()}


# --------------------------------------------------------------------------- swapping


def swap_experts(model, spec, make_layer, packed):
    """Replaces the sparse MoE block of every decoder layer (transformers', or a Samoyeds
    block of an earlier swap, whose layer is closed) by a SamoyedsExpertsBlock on
    make_layer() holding ``packed`` ({"w13", "w2"}: PackedWeight of all experts): the
    router weight, selection bias, shared experts and logits dtype are taken as
    samoyeds.load takes them. A layer's old experts are freed before its new layer is made.
    Returns the layer indices."""
    from samoyeds import serving, torch_op

    block_class = serving.SamoyedsExpertsBlock
    arch = spec.model_type
    done = []
    for i in moe_indices(model):
        dl = model.model.layers[i]
        old = dl.mlp
        if isinstance(old, block_class):
            parts = dict(weight=old.router_weight, bias=old.bias, shared=old.shared,
                         shared_gate=old.shared_gate, returns_tuple=old.returns_tuple)
            old.layer.close()
            torch_op.unregister_layer(old.handle)
        else:
            parts = serving._block_parts(old, arch)
            if parts["bias"] is not None:
                parts["bias"] = parts["bias"].detach().to(torch.float32)
        dl.mlp = torch.nn.Identity()
        del old
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the runtime allocates outside torch's cache
        layer = make_layer()
        for name in ("w13", "w2"):
            layer.upload_packed(name, packed[name])
        dl.mlp = block_class(layer, spec, parts["weight"].detach(), parts["bias"],
                             parts["shared"], parts["shared_gate"], parts["returns_tuple"],
                             arch in serving._F32_LOGITS)
        done.append(i)
    return done


def close_experts(model):
    """Closes the layers of the Samoyeds blocks (frees their device memory)."""
    from samoyeds import torch_op

    for i in moe_indices(model):
        blk = model.model.layers[i].mlp
        if hasattr(blk, "layer"):
            blk.layer.close()
            torch_op.unregister_layer(blk.handle)


# --------------------------------------------------------------------------- timing


class Graphed:
    """A step to time: ``run()`` replays a CUDA graph of fn captured after eager calls, or
    (``capture`` False, or the capture failed) calls fn eagerly; ``why`` says why not a
    graph. ``transient``: bytes torch allocated during one eager call beyond what was
    allocated before it (the step's activations and output)."""

    def __init__(self, fn, capture=True, why=None):
        self.fn, self.graph, self.why = fn, None, why
        fn()  # first call: the cache, cuBLAS / Triton state, lazy allocations
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        self.transient = torch.cuda.max_memory_allocated() - base
        self.run = fn
        if capture:
            self.graph = self._capture(fn)
            if self.graph is not None:
                self.run = self.graph.replay

    def _capture(self, fn):
        try:
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                fn()
            return g
        except Exception as e:  # noqa: BLE001 -- time it eagerly and say why
            self.why = f"capture failed: {type(e).__name__}: {e}"[:300]
            torch.cuda.synchronize()
            return None

    def __call__(self):
        self.run()


# --------------------------------------------------------------------------- memory


def max_batch(budget, weights, kv_per_token, seq_len, act_per_token):
    """The largest number of sequences of ``seq_len`` tokens whose KV cache, with the
    weights and the activations of one step (act_per_token per sequence in the batch), fits
    ``budget`` bytes; 0 when the weights alone do not fit."""
    free = budget - weights
    if free <= 0:
        return 0
    return int(free // (seq_len * kv_per_token + act_per_token))


def full_model_weights(spec, inv, experts_bytes):
    """Weight bytes of the published model (model_specs: real_layers, real_dense_layers)
    from the measured inventory, with ``experts_bytes`` per MoE layer."""
    n_moe = spec["real_layers"] - spec["real_dense_layers"]
    return (inv["outside"] + spec["real_dense_layers"] * inv["dense_layer"]
            + n_moe * (inv["moe_other"] + experts_bytes))
