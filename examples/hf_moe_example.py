#!/usr/bin/env python3
"""A Hugging Face Mixtral model whose MoE blocks run on a compiled Samoyeds bundle.

Steps (GPU machine: torch with CUDA, transformers, the Samoyeds runtime library):

1. build a small randomly initialised MixtralForCausalLM (bf16) and save it
   (safetensors, original checkpoint names) to a work directory;
2. convert it with ``python -m samoyeds.convert --model mixtral --n N --m M --v V``;
3. build the dense "pruned" reference: the same checkpoint with every expert
   weight replaced by its unpacked (pruned) version (sy_unpack_weight);
4. load the checkpoint again and swap every decoder layer's sparse MoE block
   for a SamoyedsMoEBlock (router from the block's gate.weight, weights from
   the converted file with prefix ``layers.{i}.``);
5. run random token ids through both and compare the logits: pass if the
   relative error (Frobenius) <= --rtol (2e-2) and top-1 agreement >= --min-agree
   (0.95). Exit code 0 on pass, 1 on failure, 2 on a setup error.

The bundle is compiled beforehand (samoyeds-opt is not needed here) for exactly
this layer shape; ``--emit-mlir FILE`` writes the MLIR (no torch needed):

    python examples/hf_moe_example.py --emit-mlir /tmp/mixtral_small.mlir
    build/bin/samoyeds-opt /tmp/mixtral_small.mlir \\
        --samoyeds-to-bundle="chip=sm_90a dir=/tmp/mixtral_small_bundle" -o /dev/null
    # carry /tmp/mixtral_small_bundle to the GPU machine, then:
    python examples/hf_moe_example.py --bundle-dir /tmp/mixtral_small_bundle

Written against transformers 5.x (MoE block ``mlp``, fused ``experts.gate_up_proj``
[E, 2I, H] and ``experts.down_proj`` [E, H, I]); the 4.x layout
(``block_sparse_moe``, per-expert ``w1``/``w3``/``w2``) is handled too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "python"))

MLIR = """\
#ss = #samoyeds.ss<n = {n}, m = {m}, v = {v}>
func.func @mixtral_small(%x: tensor<?x{h}xbf16> {{samoyeds.name = "x"}},
    %router: tensor<{e}x{h}xbf16> {{samoyeds.name = "router"}},
    %w13: tensor<{e}x{i2}x{h}xbf16, #ss> {{samoyeds.name = "w13"}},
    %w2: tensor<{e}x{h}x{i}xbf16, #ss> {{samoyeds.name = "w2"}})
    -> (tensor<?x{h}xbf16> {{samoyeds.name = "y"}}) {{
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k({k}) {{renormalize}}
      : (tensor<?x{h}xbf16>, tensor<{e}x{h}xbf16>,
         tensor<{e}x{i2}x{h}xbf16, #ss>, tensor<{e}x{h}x{i}xbf16, #ss>)
      -> tensor<?x{h}xbf16>
  return %y : tensor<?x{h}xbf16>
}}
"""


def emit_mlir(a) -> str:
    return MLIR.format(n=a.n, m=a.m, v=a.v, h=a.hidden, i=a.intermediate,
                       i2=2 * a.intermediate, e=a.experts, k=a.top_k)


def log(*args):
    print(*args, flush=True)


def build_model(a, ckpt: Path):
    import torch
    from transformers import MixtralConfig, MixtralForCausalLM

    cfg = MixtralConfig(
        vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
        num_hidden_layers=a.layers, num_attention_heads=8, num_key_value_heads=2,
        num_local_experts=a.experts, num_experts_per_tok=a.top_k,
        max_position_embeddings=max(512, a.seq), tie_word_embeddings=False)
    torch.manual_seed(a.seed)
    model = MixtralForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(str(ckpt))  # transformers 5.x saves the original (per-expert) names
    return cfg


def load(ckpt: Path):
    import torch
    from transformers import MixtralForCausalLM

    try:
        m = MixtralForCausalLM.from_pretrained(str(ckpt), dtype=torch.bfloat16)
    except TypeError:  # transformers 4.x
        m = MixtralForCausalLM.from_pretrained(str(ckpt), torch_dtype=torch.bfloat16)
    return m.to("cuda").eval()


def prune_reference(model, packed_path: Path) -> None:
    """Replaces every expert weight of ``model`` by its pruned (packed then unpacked) copy."""
    import numpy as np
    import torch

    from samoyeds.pack import unpack
    from samoyeds.torch_op import _decoder_layers, find_moe_block
    from samoyeds.weightfile import WeightFile

    def bf16(a: np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(a).view(np.int16)).view(torch.bfloat16)

    with WeightFile(packed_path) as wf:
        for i, dl in enumerate(_decoder_layers(model)):
            _, block = find_moe_block(dl)
            if block is None:
                continue
            w13 = bf16(unpack(wf.read(f"layers.{i}.w13")))  # [E, 2I, H]
            w2 = bf16(unpack(wf.read(f"layers.{i}.w2")))    # [E, H, I]
            ex = block.experts
            with torch.no_grad():
                if hasattr(ex, "gate_up_proj"):  # transformers 5.x fused experts
                    if tuple(ex.gate_up_proj.shape) != tuple(w13.shape):
                        raise RuntimeError(f"layer {i}: gate_up_proj {list(ex.gate_up_proj.shape)}"
                                           f" vs packed w13 {list(w13.shape)}")
                    ex.gate_up_proj.copy_(w13)
                    ex.down_proj.copy_(w2)
                else:  # transformers 4.x: ModuleList of experts with w1 (gate), w3 (up), w2
                    I = w2.shape[2]
                    for e, exp in enumerate(ex):
                        exp.w1.weight.copy_(w13[e, :I])
                        exp.w3.weight.copy_(w13[e, I:])
                        exp.w2.weight.copy_(w2[e])


def compare(name, got, ref):
    g, r = got.float(), ref.float()
    diff = (g - r).abs().max().item()
    rel = ((g - r).norm() / r.norm().clamp_min(1e-30)).item()
    log(f"  {name}: max |diff| {diff:.4g}, relative error {rel:.4g}")
    return rel


def run(a) -> int:
    import torch

    if not torch.cuda.is_available():
        log("error: needs a CUDA GPU (torch.cuda.is_available() is False)")
        return 2
    torch.cuda.init()
    import samoyeds
    from samoyeds import LayerBundle
    from samoyeds.torch_op import swap_moe_blocks

    bundle = LayerBundle(a.bundle_dir)
    log(f"bundle: {bundle.describe()}")
    want = (a.experts, a.hidden, a.intermediate, a.top_k, True)
    have = (bundle.experts, bundle.hidden, bundle.intermediate, bundle.top_k, bundle.renormalize)
    if want != have:
        log(f"error: bundle (E, H, I, top_k, renormalize) = {have}, this model needs {want}; "
            f"compile it from --emit-mlir")
        return 2
    w = bundle.weights["w13"]
    if (w["n"], w["m"], w["v"]) != (a.n, a.m, a.v):
        log(f"note: using the bundle's n:m:v = {w['n']}:{w['m']}:{w['v']}")
        a.n, a.m, a.v = w["n"], w["m"], w["v"]
    bundle.close()

    work = Path(a.work_dir or tempfile.mkdtemp(prefix="samoyeds-hf-"))
    ckpt, packed = work / "mixtral-small", work / "mixtral-small.samoyeds.safetensors"
    log(f"1. building a random Mixtral ({a.layers} layers, hidden {a.hidden}, intermediate "
        f"{a.intermediate}, {a.experts} experts, top-{a.top_k}, vocab {a.vocab}) in {ckpt}")
    build_model(a, ckpt)
    log("2. converting with samoyeds.convert")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "python"), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "samoyeds.convert", str(ckpt), str(packed), "--model",
           "mixtral", "--n", str(a.n), "--m", str(a.m), "--v", str(a.v), "--quiet"]
    log("   " + " ".join(cmd))
    r = subprocess.run(cmd, env=env)
    if r.returncode != 0:
        log("error: conversion failed")
        return 2
    samoyeds.LayerBundle(a.bundle_dir).check_weights(packed, "layers.0.")

    log("3. dense pruned reference model")
    ref = load(ckpt)
    prune_reference(ref, packed)
    log("4. Samoyeds model (MoE blocks swapped)")
    sy = load(ckpt)
    swapped = swap_moe_blocks(sy, a.bundle_dir, packed)
    log(f"   swapped layers {swapped}")
    if len(swapped) != a.layers:
        log(f"error: expected {a.layers} MoE layers")
        return 1

    ok = True
    torch.manual_seed(a.seed + 1)
    with torch.inference_mode():
        # One block alone first (diagnosis): layer 0's MoE block on random hidden states.
        from samoyeds.torch_op import _decoder_layers, find_moe_block

        _, rb = find_moe_block(_decoder_layers(ref)[0])
        sb = [getattr(_decoder_layers(sy)[0], n) for n in ("mlp", "block_sparse_moe")
              if hasattr(_decoder_layers(sy)[0], n)][0]
        h = torch.randn(a.batch, a.seq, a.hidden, device="cuda", dtype=torch.bfloat16)
        ro, so = rb(h), sb(h)
        ro = ro[0] if isinstance(ro, tuple) else ro
        so = so[0] if isinstance(so, tuple) else so
        torch.cuda.synchronize()
        log("5. comparing")
        compare("layer-0 MoE block", so, ro)

        ids = torch.randint(0, a.vocab, (a.batch, a.seq), device="cuda")
        lr = ref(input_ids=ids).logits
        ls = sy(input_ids=ids).logits
        torch.cuda.synchronize()
        rel = compare("logits", ls, lr)
        agree = (ls.argmax(-1) == lr.argmax(-1)).float().mean().item()
        log(f"  top-1 agreement: {100 * agree:.2f}% of {ids.numel()} tokens")
        if not torch.isfinite(ls.float()).all():
            log("FAIL: non-finite logits")
            ok = False
        if rel > a.rtol:
            log(f"FAIL: relative error {rel:.4g} > {a.rtol}")
            ok = False
        if agree < a.min_agree:
            log(f"FAIL: top-1 agreement {agree:.4f} < {a.min_agree}")
            ok = False
    log("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle-dir", help="bundle compiled for this layer shape (see --emit-mlir)")
    ap.add_argument("--emit-mlir", metavar="FILE",
                    help="write the layer's MLIR (for samoyeds-opt) to FILE and exit")
    ap.add_argument("--work-dir", help="where the checkpoint and packed file go (default: temp)")
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--intermediate", type=int, default=2048)
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--top-k", type=int, default=2)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=1)
    ap.add_argument("--m", type=int, default=2)
    ap.add_argument("--v", type=int, default=128)
    ap.add_argument("--rtol", type=float, default=2e-2)
    ap.add_argument("--min-agree", type=float, default=0.95)
    a = ap.parse_args(argv)
    if a.emit_mlir:
        Path(a.emit_mlir).write_text(emit_mlir(a))
        print(f"wrote {a.emit_mlir}; compile with:\n  samoyeds-opt {a.emit_mlir} "
              f"--samoyeds-to-bundle=\"chip=sm_90a dir=BUNDLE_DIR\" -o /dev/null")
        return 0
    if not a.bundle_dir:
        ap.error("--bundle-dir is required (or --emit-mlir)")
    try:
        return run(a)
    except Exception as e:  # noqa: BLE001 - report setup errors with a clear exit code
        import traceback

        traceback.print_exc()
        log(f"error: {type(e).__name__}: {e}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
