"""A dense bf16 fused MoE layer in the public vLLM design, in Triton: the baseline that
bench/h200.py puts beside our layer ("what serving engines run").

Written here after the design of vLLM's vllm/model_executor/layers/fused_moe/ (fused_moe.py,
moe_align_block_size.py); no code of it is copied. For x [T, H], w1 [E, 2I, H] (gate rows over
up rows), w2 [E, H, I], a routing (topk_weights [T, k] float32, topk_ids [T, k]) and, for
gpt-oss's experts, the biases b1 [E, 2I] (gate first, as w1's rows) and b2 [E, H]:

  1. moe_align_block_size: the T*k token slots (slot = token * k + j) sorted by expert, each
     expert's run padded to a multiple of BLOCK_SIZE_M with the sentinel T*k; sorted_token_ids,
     expert_ids (one per BLOCK_SIZE_M block) and num_tokens_post_padded. Two Triton kernels:
     one program counts (histogram) and places the runs, then every program puts its slots
     (an atomic cursor per expert, as vLLM's CUDA kernel does) and writes the padding and
     the block experts.
  2. fused_moe_kernel (gate/up): each program takes a BLOCK_SIZE_M block of sorted slots and a
     BLOCK_SIZE_N block of 2I, gathers the rows of x through the slots (row = slot // top_k),
     multiplies by the block's expert weights (fp32 accumulation), adds the expert's row of b1
     to the fp32 accumulator where there is one (HAS_BIAS, vLLM's path for gpt-oss) and writes
     the rows of the [T*k, 2I] intermediate cache; blocks past num_tokens_post_padded return
     at once.
  3. the activation, one kernel, [T*k, 2I] -> [T*k, I] in fp32: silu_and_mul, silu(gate) * up;
     or clamped_swiglu, gpt-oss's (vLLM's "swigluoai"): g = min(gate, limit),
     u = clamp(up, -limit, limit), g * sigmoid(alpha * g) * (u + 1), alpha = 1.702 and
     limit = 7.0 by default. Here on this file's halves (gate columns [0, I), up [I, 2I)), not
     on the interleaved columns of gpt-oss's checkpoint that vLLM's kernel reads.
  4. fused_moe_kernel (down), MUL_ROUTED_WEIGHT: rows of the [T*k, H] cache, the expert's row
     of b2 added first where there is one, then each multiplied by its routing weight (so the
     weight scales the bias too, as in vLLM and gpt-oss).
  5. the sum over top_k: [T, k, H] -> [T, H].

Without biases the GEMMs are the plain kernel (HAS_BIAS=False compiles the bias out).
Configurations (BLOCK_SIZE_M/N/K, GROUP_SIZE_M, num_warps, num_stages) as vLLM picks them for
bf16 (try_get_optimal_moe_config): its tuned table for (E, N = I) on the device when it ships
one (TUNED below), else get_default_config.
Routing (softmax + top-k) is not part of this layer: callers pass it (vLLM runs it before).
Everything is capturable in a CUDA graph (no host synchronisation).
"""
import os

import torch
import triton
import triton.language as tl

# Triton 3.6's interpreter (TRITON_INTERPRET=1) computes tl.dot of bf16 operands wrongly
# (the raw 16-bit patterns are multiplied); under it the GEMM upcasts its tiles to fp32.
# On a GPU the dot is bf16 x bf16 -> fp32, as vLLM's.
_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


def _interpreter_scalar_index():
    """Triton 3.6's interpreter holds a scalar argument as a one-element 1-d array and makes
    its __index__ int(array), which NumPy >= 2.3 refuses (older NumPy warns): a loop over a
    runtime bound, range(0, numel, CHUNK) here as in vLLM's kernels, fails on the CPU. Under
    the interpreter only, __index__ reads the element (.item()); the GPU kernels are as they
    are. Nothing to do where the interpreter has no such hook."""
    from triton.runtime import interpreter
    patch = getattr(interpreter, "_patch_lang_tensor", None)
    if patch is None or getattr(patch, "reads_item", False):
        return

    def index(self):
        return int(self.handle.data.item())

    def patched(tensor, *scope):  # 3.6 passes the scope that restores the patches
        patch(tensor, *scope)
        if scope:
            scope[0].set_attr(tensor, "__index__", index)
        else:
            tensor.__index__ = index

    patched.reads_item = True
    interpreter._patch_lang_tensor = patched


if _INTERPRET:
    _interpreter_scalar_index()

# vLLM's tuned configurations, bf16 ("dtype" absent from the file name), by vLLM's device
# name (torch's with spaces as underscores) and (E, N = I): from
# vllm/model_executor/layers/fused_moe/configs/E=...,N=...,device_name=....json the entries of
# the batch sizes nearest to T = 1, 16, 64, 256, 1024, 4096 (vLLM takes the key nearest to T,
# so these are the ones it uses there), as (BLOCK_SIZE_M, BLOCK_SIZE_N, BLOCK_SIZE_K,
# GROUP_SIZE_M, num_warps, num_stages). Of the six models of bench/h200.py, vLLM ships H200
# tables for Mixtral (E=8,N=14336) and Qwen2-MoE-57B (E=64,N=2560), H100 tables for Mixtral
# and DeepSeek-V2-Lite (E=64,N=1408); the others run get_default_config there.
TUNED = {
    "NVIDIA_H200": {
        (8, 14336): {1: (16, 128, 128, 16, 4, 5), 16: (16, 64, 256, 16, 4, 3),
                     64: (32, 128, 128, 64, 4, 3), 256: (128, 256, 64, 1, 8, 4),
                     1024: (128, 256, 64, 16, 8, 4), 4096: (128, 256, 64, 16, 8, 4)},
        (64, 2560): {1: (16, 64, 128, 32, 4, 2), 16: (16, 128, 128, 16, 4, 5),
                     64: (16, 128, 128, 1, 8, 3), 256: (64, 64, 64, 1, 4, 3),
                     1024: (128, 256, 64, 16, 8, 4), 4096: (128, 256, 64, 16, 8, 4)},
    },
    "NVIDIA_H100_80GB_HBM3": {
        (8, 14336): {1: (16, 64, 256, 16, 8, 5), 16: (64, 128, 128, 1, 8, 2),
                     64: (64, 128, 128, 1, 8, 4), 256: (128, 128, 64, 1, 4, 5),
                     1024: (128, 256, 64, 64, 8, 4), 4096: (128, 256, 64, 16, 8, 3)},
        (64, 1408): {1: (16, 32, 64, 1, 4, 4), 16: (16, 32, 256, 16, 4, 2),
                     64: (16, 128, 128, 1, 8, 4), 256: (64, 128, 64, 1, 4, 3),
                     1024: (128, 128, 64, 1, 8, 3), 4096: (128, 256, 128, 1, 8, 2)},
    },
}
_KEYS = ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M", "num_warps", "num_stages")


def default_config(M, E):
    """vLLM's get_default_config for bf16 (no num_warps / num_stages: Triton's defaults)."""
    if M <= E:
        return dict(BLOCK_SIZE_M=16, BLOCK_SIZE_N=32, BLOCK_SIZE_K=64, GROUP_SIZE_M=1)
    return dict(BLOCK_SIZE_M=64, BLOCK_SIZE_N=64, BLOCK_SIZE_K=32, GROUP_SIZE_M=8)


def pick_config(M, E, inter, device_name):
    """(config, source) as vLLM picks them for M tokens, E experts and intermediate size I
    (vLLM's N) on torch's device_name: the device's tuned table's entry nearest to M where
    vLLM ships one, else the default."""
    dev = (device_name or "").replace(" ", "_")
    table = TUNED.get(dev, {}).get((E, inter))
    if table:
        key = min(table, key=lambda t: abs(t - M))
        return (dict(zip(_KEYS, table[key])),
                f"vLLM tuned E={E},N={inter},device_name={dev}.json [{key}]")
    return default_config(M, E), "vLLM get_default_config"


def _e_pow2(num_experts):
    return max(16, triton.next_power_of_2(num_experts))


# The block size is a plain argument of the two alignment kernels (one build per number of
# experts, not per configuration too).
@triton.jit(do_not_specialize=["numel", "block_m"])
def _align_count_kernel(topk_ids_ptr, numel, num_experts, block_m, counts_ptr, ends_ptr,
                        cursor_ptr, post_pad_ptr, E_P2: tl.constexpr, CHUNK: tl.constexpr):
    """One program: slots per expert, each expert's run padded to block_m, run ends, the
    cursors (run starts) and the padded total."""
    counts = tl.zeros((E_P2,), dtype=tl.int32)
    for start in range(0, numel, CHUNK):
        offs = start + tl.arange(0, CHUNK)
        live = offs < numel
        ids = tl.load(topk_ids_ptr + offs, mask=live, other=0).to(tl.int32)
        counts += tl.histogram(ids, E_P2, mask=live)
    padded = tl.cdiv(counts, block_m) * block_m
    ends = tl.cumsum(padded, 0)
    e = tl.arange(0, E_P2)
    real = e < num_experts
    tl.store(counts_ptr + e, counts, mask=real)
    tl.store(ends_ptr + e, ends, mask=real)
    tl.store(cursor_ptr + e, ends - padded, mask=real)
    tl.store(post_pad_ptr, tl.sum(padded, 0))


@triton.jit(do_not_specialize=["numel", "block_m", "max_padded"])
def _align_place_kernel(topk_ids_ptr, numel, num_experts, block_m, counts_ptr, ends_ptr,
                        cursor_ptr, sorted_ids_ptr, expert_ids_ptr, max_padded,
                        E_P2: tl.constexpr, CHUNK: tl.constexpr):
    """CHUNK slots to their places in their expert's run; CHUNK positions of sorted_ids: the
    sentinel numel where they pad a run (or lie past the last), and the expert of each block
    that starts among them. The two kinds of write never meet."""
    offs = tl.program_id(0) * CHUNK + tl.arange(0, CHUNK)
    live = offs < numel
    ids = tl.load(topk_ids_ptr + offs, mask=live, other=0).to(tl.int32)
    place = tl.atomic_add(cursor_ptr + ids, 1, mask=live)
    tl.store(sorted_ids_ptr + place, offs, mask=live)

    e = tl.arange(0, E_P2)
    real = e < num_experts
    ends = tl.load(ends_ptr + e, mask=real, other=2**30)
    counts = tl.load(counts_ptr + e, mask=real, other=0)
    starts = ends - tl.cdiv(counts, block_m) * block_m
    inside = offs < max_padded
    owner = tl.sum((ends[None, :] <= offs[:, None]).to(tl.int32), axis=1)  # num_experts: past
    mine = owner[:, None] == e[None, :]
    start = tl.sum(tl.where(mine, starts[None, :], 0), axis=1)
    count = tl.sum(tl.where(mine, counts[None, :], 0), axis=1)
    pad = inside & ((owner >= num_experts) | (offs - start >= count))
    tl.store(sorted_ids_ptr + offs, tl.zeros((CHUNK,), dtype=tl.int32) + numel, mask=pad)
    first = inside & (offs % block_m == 0)
    tl.store(expert_ids_ptr + offs // block_m, tl.minimum(owner, num_experts - 1), mask=first)


def moe_align_block_size(topk_ids, block_size, num_experts):
    """(sorted_token_ids, expert_ids, num_tokens_post_padded), int32, as vLLM's: sorted_token_ids
    has T*k + E*(block_size - 1) entries, the slots of expert 0's run, padded with T*k to a
    multiple of block_size, then expert 1's, ...; expert_ids one expert per block (blocks past
    the padded total hold num_experts - 1 and are never read); num_tokens_post_padded [1].
    The order of the slots inside a run is the atomics' (any order serves)."""
    numel = topk_ids.numel()
    flat = topk_ids.reshape(-1)
    dev = flat.device
    max_padded = numel + num_experts * (block_size - 1)
    sorted_ids = torch.empty(max_padded, dtype=torch.int32, device=dev)
    expert_ids = torch.empty(triton.cdiv(max_padded, block_size), dtype=torch.int32, device=dev)
    post_pad = torch.empty(1, dtype=torch.int32, device=dev)
    work = torch.empty(3, num_experts, dtype=torch.int32, device=dev)  # counts, ends, cursor
    e_p2 = _e_pow2(num_experts)
    # One program reads every slot: few at decode, in wide chunks (fewer dependent loads) past.
    small = numel <= 256
    _align_count_kernel[(1,)](flat, numel, num_experts, block_size, work[0], work[1], work[2],
                              post_pad, E_P2=e_p2, CHUNK=256 if small else 4096,
                              num_warps=4 if small else 8)
    chunk = max(16, min(1024, 4096 // e_p2))
    _align_place_kernel[(triton.cdiv(max_padded, chunk),)](
        flat, numel, num_experts, block_size, work[0], work[1], work[2], sorted_ids, expert_ids,
        max_padded, E_P2=e_p2, CHUNK=chunk)
    return sorted_ids, expert_ids, post_pad


def moe_align_block_size_torch(topk_ids, block_size, num_experts):
    """The same result with torch operations (slots in ascending order inside each run): the
    test's reference, and the fallback should the Triton kernels fail to build."""
    flat = topk_ids.reshape(-1).long()
    numel, dev = flat.numel(), flat.device
    max_padded = numel + num_experts * (block_size - 1)
    counts = torch.zeros(num_experts, dtype=torch.long, device=dev)
    counts.scatter_add_(0, flat, torch.ones_like(flat))
    padded = (counts + block_size - 1) // block_size * block_size
    ends = padded.cumsum(0)
    by_expert, order = flat.sort(stable=True)
    rank = torch.arange(numel, device=dev) - (counts.cumsum(0) - counts)[by_expert]
    sorted_ids = torch.full((max_padded,), numel, dtype=torch.int32, device=dev)
    sorted_ids.scatter_(0, (ends - padded)[by_expert] + rank, order.to(torch.int32))
    firsts = torch.arange(0, max_padded, block_size, device=dev)
    expert_ids = torch.searchsorted(ends, firsts, right=True).clamp_(max=num_experts - 1)
    return sorted_ids, expert_ids.to(torch.int32), ends[-1:].to(torch.int32)


@triton.jit(do_not_specialize=["EM", "num_valid_tokens"])
def fused_moe_kernel(a_ptr, b_ptr, c_ptr, bias_ptr, topk_weights_ptr, sorted_token_ids_ptr,
                     expert_ids_ptr, num_tokens_post_padded_ptr, N, K, EM, num_valid_tokens,
                     stride_am, stride_ak, stride_be, stride_bk, stride_bn, stride_cm, stride_cn,
                     stride_bias_e, stride_bias_n,
                     BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr,
                     BLOCK_SIZE_K: tl.constexpr, GROUP_SIZE_M: tl.constexpr,
                     MUL_ROUTED_WEIGHT: tl.constexpr, top_k: tl.constexpr,
                     HAS_BIAS: tl.constexpr, UPCAST: tl.constexpr):
    """C[slot, :] = A[slot // top_k, :] . B[expert]^T (+ bias[expert] with HAS_BIAS; then
    times the slot's routing weight with MUL_ROUTED_WEIGHT) for one BLOCK_SIZE_M x
    BLOCK_SIZE_N tile of sorted slots x N. Without HAS_BIAS, bias_ptr (None) and its strides
    are never read."""
    pid = tl.program_id(axis=0)
    # Tiles in groups of GROUP_SIZE_M slot blocks (L2 reuse of B), as Triton's matmul tutorial.
    num_pid_m = tl.cdiv(EM, BLOCK_SIZE_M)
    num_pid_n = tl.cdiv(N, BLOCK_SIZE_N)
    group_width = GROUP_SIZE_M * num_pid_n
    first_m = (pid // group_width) * GROUP_SIZE_M
    group_rows = tl.minimum(num_pid_m - first_m, GROUP_SIZE_M)
    pid_m = first_m + (pid % group_width) % group_rows
    pid_n = (pid % group_width) // group_rows
    if pid_m * BLOCK_SIZE_M >= tl.load(num_tokens_post_padded_ptr):
        return
    slot_at = pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M).to(tl.int64)
    slots = tl.load(sorted_token_ids_ptr + slot_at)
    real = slots < num_valid_tokens
    expert = tl.load(expert_ids_ptr + pid_m).to(tl.int64)
    cols = (pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N).to(tl.int64)) % N
    ks = tl.arange(0, BLOCK_SIZE_K)
    a_ptrs = a_ptr + (slots[:, None] // top_k) * stride_am + ks[None, :] * stride_ak
    b_ptrs = b_ptr + expert * stride_be + ks[:, None] * stride_bk + cols[None, :] * stride_bn
    acc = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
    for kb in range(0, tl.cdiv(K, BLOCK_SIZE_K)):
        k_left = K - kb * BLOCK_SIZE_K
        a = tl.load(a_ptrs, mask=real[:, None] & (ks[None, :] < k_left), other=0.0)
        b = tl.load(b_ptrs, mask=ks[:, None] < k_left, other=0.0)
        if UPCAST:
            a = a.to(tl.float32)
            b = b.to(tl.float32)
        acc += tl.dot(a, b)
        a_ptrs += BLOCK_SIZE_K * stride_ak
        b_ptrs += BLOCK_SIZE_K * stride_bk
    if HAS_BIAS:
        # In fp32 on the accumulator, before the routing weight (vLLM's order: the weight
        # scales the expert's whole output, bias included). cols wrap at N, so no mask.
        bias = tl.load(bias_ptr + expert * stride_bias_e + cols * stride_bias_n)
        acc += bias.to(tl.float32)[None, :]
    if MUL_ROUTED_WEIGHT:
        w = tl.load(topk_weights_ptr + slots, mask=real, other=0)
        acc = acc * w[:, None]
    out_cols = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    c_ptrs = c_ptr + slots[:, None] * stride_cm + out_cols[None, :] * stride_cn
    tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty),
             mask=real[:, None] & (out_cols[None, :] < N))


def invoke_fused_moe_kernel(A, B, C, topk_weights, sorted_token_ids, expert_ids,
                            num_tokens_post_padded, mul_routed_weight, top_k, config,
                            bias=None):
    """C [A.rows * top_k, N] from A [rows, K], B [E, N, K] and, where given, bias [E, N]
    (vLLM's grid and small-batch bound: with fewer rows than BLOCK_SIZE_M no more than
    rows * top_k blocks hold slots). Without a bias the launch is the plain kernel's: None
    and zero strides, HAS_BIAS=False, as vLLM passes them."""
    bm = config["BLOCK_SIZE_M"]
    EM = sorted_token_ids.shape[0]
    if A.shape[0] < bm:
        EM = min(EM, A.shape[0] * top_k * bm)
    N, K = B.shape[1], B.shape[2]
    grid = (triton.cdiv(EM, bm) * triton.cdiv(N, config["BLOCK_SIZE_N"]),)
    launch = {k: config[k] for k in ("num_warps", "num_stages") if k in config}
    if bias is not None:
        assert bias.shape == (B.shape[0], N), (tuple(bias.shape), (B.shape[0], N))
    fused_moe_kernel[grid](
        A, B, C, bias, topk_weights, sorted_token_ids, expert_ids, num_tokens_post_padded,
        N, K, EM, A.shape[0] * top_k,
        A.stride(0), A.stride(1), B.stride(0), B.stride(2), B.stride(1), C.stride(0), C.stride(1),
        bias.stride(0) if bias is not None else 0, bias.stride(1) if bias is not None else 0,
        BLOCK_SIZE_M=bm, BLOCK_SIZE_N=config["BLOCK_SIZE_N"], BLOCK_SIZE_K=config["BLOCK_SIZE_K"],
        GROUP_SIZE_M=config["GROUP_SIZE_M"], MUL_ROUTED_WEIGHT=mul_routed_weight, top_k=top_k,
        HAS_BIAS=bias is not None, UPCAST=_INTERPRET, **launch)


@triton.jit
def _silu_and_mul_kernel(out_ptr, in_ptr, D, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    live = cols < D
    gate = tl.load(in_ptr + row * 2 * D + cols, mask=live, other=0.0).to(tl.float32)
    up = tl.load(in_ptr + row * 2 * D + D + cols, mask=live, other=0.0).to(tl.float32)
    y = gate / (1.0 + tl.exp(-gate)) * up
    tl.store(out_ptr + row * D + cols, y.to(out_ptr.dtype.element_ty), mask=live)


def silu_and_mul(out, x):
    """out [R, D] = silu(x[:, :D]) * x[:, D:] for contiguous x [R, 2D] (fp32 math)."""
    R, D = out.shape
    block = min(1024, triton.next_power_of_2(D))
    _silu_and_mul_kernel[(R, triton.cdiv(D, block))](out, x, D, BLOCK=block)


@triton.jit
def _clamped_swiglu_kernel(out_ptr, in_ptr, D, alpha, limit, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    live = cols < D
    gate = tl.load(in_ptr + row * 2 * D + cols, mask=live, other=0.0).to(tl.float32)
    up = tl.load(in_ptr + row * 2 * D + D + cols, mask=live, other=0.0).to(tl.float32)
    # Clamps by comparison and select: a NaN compares false and passes through, as through
    # torch.clamp (tl.minimum / tl.maximum default to PropagateNan.NONE, which on a GPU
    # returns the other operand, the limit, for a NaN; Triton's interpreter propagates NaN
    # either way, so only a GPU run tells the two apart).
    g = tl.where(gate > limit, limit, gate)
    u = tl.where(up > limit, limit, tl.where(up < -limit, -limit, up))
    y = g / (1.0 + tl.exp(-alpha * g)) * (u + 1.0)
    tl.store(out_ptr + row * D + cols, y.to(out_ptr.dtype.element_ty), mask=live)


def clamped_swiglu(out, x, alpha=1.702, limit=7.0):
    """out [R, D] = g * sigmoid(alpha * g) * (u + 1), g = min(x[:, :D], limit),
    u = clamp(x[:, D:], -limit, limit), for contiguous x [R, 2D] (fp32 math; NaN kept):
    gpt-oss's activation (vLLM's "swigluoai") on this file's gate-then-up halves."""
    R, D = out.shape
    block = min(1024, triton.next_power_of_2(D))
    _clamped_swiglu_kernel[(R, triton.cdiv(D, block))](out, x, D, float(alpha), float(limit),
                                                       BLOCK=block)


ACTIVATIONS = ("silu", "clamped_swiglu")


def fused_experts(x, w1, w2, topk_weights, topk_ids, config, align=moe_align_block_size,
                  b1=None, b2=None, activation="silu", swiglu_alpha=1.702, swiglu_limit=7.0):
    """The MoE layer's output [T, H] (bf16) for x [T, H], w1 [E, 2I, H], w2 [E, H, I] and the
    routing topk_weights [T, k] (float32, contiguous), topk_ids [T, k] (int32 as vLLM's).
    b1 [E, 2I] (gate first) and b2 [E, H], in the weights' dtype, are the experts' biases
    (either may be None); activation is "silu" or "clamped_swiglu" (swiglu_alpha and
    swiglu_limit its constants): gpt-oss's experts are both biases and clamped_swiglu."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r}: this layer has {', '.join(ACTIVATIONS)}")
    T, H = x.shape
    E, N, _ = w1.shape
    k = topk_ids.shape[1]
    assert x.is_contiguous() and w1.stride(-1) == 1 and w2.stride(-1) == 1
    assert topk_weights.is_contiguous() and topk_weights.dtype == torch.float32
    sorted_ids, expert_ids, post_pad = align(topk_ids, config["BLOCK_SIZE_M"], E)
    cache1 = torch.empty(T * k, N, dtype=x.dtype, device=x.device)
    invoke_fused_moe_kernel(x, w1, cache1, topk_weights, sorted_ids, expert_ids, post_pad,
                            False, k, config, bias=b1)
    cache2 = torch.empty(T * k, N // 2, dtype=x.dtype, device=x.device)
    if activation == "silu":
        silu_and_mul(cache2, cache1)
    else:
        clamped_swiglu(cache2, cache1, swiglu_alpha, swiglu_limit)
    cache3 = torch.empty(T, k, H, dtype=x.dtype, device=x.device)
    invoke_fused_moe_kernel(cache2, w2, cache3.view(T * k, H), topk_weights, sorted_ids,
                            expert_ids, post_pad, True, 1, config, bias=b2)
    return cache3.sum(dim=1)
