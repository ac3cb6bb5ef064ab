"""Builds, without a GPU, every Triton kernel variant that bench/h200.py launches (the
vLLM-design baseline of fused_moe_triton.py at vLLM's configurations for the six models and
gpt-oss's two layers (their GEMMs with the experts' biases, the clamped SwiGLU),
T = 1 ... 4096 and the Hopper devices of its tables) for sm_90a, and checks that each fits in Hopper's shared memory.

    PYTHONPATH=python:bench python3 bench/baselines/build_check.py

Exits 1 on a failure, 3 when this Triton cannot build for sm_90a here (another version's
internals). Not under TRITON_INTERPRET=1.
"""
import sys
import time

import triton

from baselines import fused_moe_triton as fmt
from bench import GPT_OSS, MODELS

SMEM = 232448  # shared memory per block on Hopper
TOKENS = (1, 16, 64, 256, 1024, 4096)
DEVICES = ("NVIDIA H200", "NVIDIA H100 80GB HBM3")
TILE = ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M")
GEMM = dict(dict.fromkeys(("a_ptr", "b_ptr", "c_ptr"), "*bf16"), topk_weights_ptr="*fp32",
            **dict.fromkeys(("sorted_token_ids_ptr", "expert_ids_ptr",
                             "num_tokens_post_padded_ptr"), "*i32"),
            **dict.fromkeys(("N", "K", "EM", "num_valid_tokens", "stride_am", "stride_be",
                             "stride_bn", "stride_cm", "stride_bias_e", "stride_bias_n"), "i32"))
# Without a bias the launch passes None (a constexpr) and HAS_BIAS=False; gpt-oss's a bf16 one.
NO_BIAS, BIAS = dict(bias_ptr=None, HAS_BIAS=False), dict(HAS_BIAS=True)
# Integer arguments the launches specialise as multiples of 16 (Triton does so for every
# integer argument that is one, unless the kernel says do_not_specialize): all sizes and
# strides of the six models are.
DIV16 = ("N", "K", "stride_am", "stride_be", "stride_bn", "stride_cm", "D")
COUNTS = dict(topk_ids_ptr="*i32", numel="i32", num_experts="i32", block_m="i32",
              counts_ptr="*i32", ends_ptr="*i32", cursor_ptr="*i32")


def variants():
    """(kernel, signature, constexprs, launch options) of every launch h200.py makes."""
    seen = set()
    for name, (H, inter, E, k, _) in {**MODELS, **GPT_OSS}.items():
        bias = BIAS if name in GPT_OSS else NO_BIAS
        gemm = dict(GEMM, bias_ptr="*bf16") if name in GPT_OSS else GEMM
        for T, device in ((T, d) for T in TOKENS for d in DEVICES):
            config = fmt.pick_config(T, E, inter, device)[0]
            tiles = {c: config[c] for c in TILE}
            opts = {c: config[c] for c in ("num_warps", "num_stages") if c in config}
            for mul, top_k in ((False, k), (True, 1)):
                key = (tuple(tiles.values()), tuple(opts.values()), mul, top_k,
                       bias["HAS_BIAS"])
                if key not in seen:
                    seen.add(key)
                    yield (fmt.fused_moe_kernel, gemm,
                           dict(tiles, stride_ak=1, stride_bk=1, stride_cn=1,
                                MUL_ROUTED_WEIGHT=mul, top_k=top_k, UPCAST=False, **bias), opts)
        e_p2 = fmt._e_pow2(E)
        if ("align", e_p2) not in seen:
            seen.add(("align", e_p2))
            for chunk, warps in ((256, 4), (4096, 8)):
                yield (fmt._align_count_kernel, dict(COUNTS, post_pad_ptr="*i32"),
                       dict(E_P2=e_p2, CHUNK=chunk), dict(num_warps=warps))
            yield (fmt._align_place_kernel,
                   dict(COUNTS, sorted_ids_ptr="*i32", expert_ids_ptr="*i32", max_padded="i32"),
                   dict(E_P2=e_p2, CHUNK=max(16, min(1024, 4096 // e_p2))), {})
    yield (fmt._silu_and_mul_kernel, dict(out_ptr="*bf16", in_ptr="*bf16", D="i32"),
           dict(BLOCK=1024), {})
    yield (fmt._clamped_swiglu_kernel,
           dict(out_ptr="*bf16", in_ptr="*bf16", D="i32", alpha="fp32", limit="fp32"),
           dict(BLOCK=1024), {})


def main():
    try:
        from triton.backends.compiler import GPUTarget
        target = GPUTarget("cuda", 90, 32)
        backend = triton.compiler.make_backend(target)
    except Exception as e:  # noqa: BLE001 -- another Triton's internals
        print(f"this Triton ({triton.__version__}) cannot build for sm_90a here: {e}")
        sys.exit(3)
    bad = 0
    for kernel, sig, consts, opts in variants():
        sig = dict(sig, **dict.fromkeys(consts, "constexpr"))
        div16 = {(kernel.arg_names.index(a),): [["tt.divisibility", 16]]
                 for a, t in sig.items() if t.startswith("*") or a in DIV16}
        src = triton.compiler.ASTSource(fn=kernel, constexprs=consts, signature=sig, attrs=div16)
        t0 = time.time()
        try:
            shared = triton.compile(src, target=target,
                                    options=backend.parse_options(opts).__dict__).metadata.shared
            ok = shared <= SMEM
            what = f"shared memory {shared}"
        except Exception as e:  # noqa: BLE001
            ok, what = False, f"{type(e).__name__}: {e}"
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {kernel.__name__} {consts} {opts}: {what} "
              f"({time.time() - t0:.1f} s)", flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
