//===- SamoyedsOps.td - Samoyeds operations ----------------*- tablegen -*-===//

#ifndef SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSOPS_TD
#define SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSOPS_TD

include "samoyeds/Dialect/Samoyeds/IR/SamoyedsDialect.td"
include "samoyeds/Dialect/Samoyeds/IR/SamoyedsAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/CommonTypeConstraints.td"

class Samoyeds_Op<string mnemonic, list<Trait> traits = []>
    : Op<Samoyeds_Dialect, mnemonic, !listconcat(traits, [Pure])> {
  let hasVerifier = 1;
}

def Samoyeds_HalfTensor2D : 2DTensorOf<[BF16, F16]>;
def Samoyeds_FloatTensor2D : 2DTensorOf<[BF16, F16, F32]>;
def Samoyeds_WeightTensor : 3DTensorOf<[BF16, F16]>;
def Samoyeds_I32Tensor1D : 1DTensorOf<[I32]>;
def Samoyeds_FloatTensor1D : 1DTensorOf<[BF16, F16, F32]>;
def Samoyeds_I32Tensor2D : 2DTensorOf<[I32]>;
def Samoyeds_F32Tensor2D : 2DTensorOf<[F32]>;

//===----------------------------------------------------------------------===//
// moe_ffn
//===----------------------------------------------------------------------===//

def Samoyeds_MoEFFNOp : Samoyeds_Op<"moe_ffn", [AttrSizedOperandSegments]> {
  let summary = "A whole Mixture-of-Experts feed-forward layer";
  let description = [{
    For every token `x` (a row of `hidden`, width H) with router `[E, H]`,
    stacked gate/up weights `w13 : [E, 2I, H]` (gate rows first) and down
    weights `w2 : [E, H, I]`, both in the SS format:

        logits = x · router^T (+ router_bias)
        (g, ids) = top_k(softmax(logits))    renormalised if `renormalize`,
                                             then scaled by `routed_scaling_factor`
        y = Σ_{e ∈ ids} g_e · W2_e · (SiLU(W1_e x) ⊙ W3_e x)

    `activation` = `clamped_swiglu` (gpt-oss) replaces SiLU(g) ⊙ u by
    min(g, limit) · sigmoid(alpha · min(g, limit)) · (clamp(u, ±limit) + 1).
    With `bias(%b13, %b2)` (`[E, 2I]`, gate first, and `[E, H]`, the hidden
    states' element type) each expert's matmuls add their bias row:
    `W13_e x + b13_e` before the activation, `W2_e h + b2_e` before the
    routing weight. With `router_bias(%rb)` (`[E]`; bf16, f16 or f32) the
    router's logits add it before the softmax, as `route`'s `bias(%rb)`.

    The routing conventions of common models:
    Mixtral: `renormalize`; Qwen2-MoE and OLMoE: no renormalisation;
    DeepSeek-V2: `routed_scaling_factor`; gpt-oss: `renormalize`, the
    router's bias and the experts' biases, `clamped_swiglu`.

    ```mlir
    %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2) {renormalize}
        : (tensor<?x4096xbf16>, tensor<8x4096xbf16>,
           tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
           tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
        -> tensor<?x4096xbf16>
    ```
  }];
  let arguments = (ins Samoyeds_HalfTensor2D:$hidden,
                       Samoyeds_FloatTensor2D:$router,
                       Samoyeds_WeightTensor:$w13,
                       Samoyeds_WeightTensor:$w2,
                       I64Attr:$top_k,
                       UnitAttr:$renormalize,
                       DefaultValuedAttr<F64Attr, "1.0">:$routed_scaling_factor,
                       Optional<Samoyeds_HalfTensor2D>:$w13_bias,
                       Optional<Samoyeds_HalfTensor2D>:$w2_bias,
                       DefaultValuedAttr<Samoyeds_ActivationAttr,
                           "ActivationKind::Silu">:$activation,
                       OptionalAttr<F64Attr>:$swiglu_alpha,
                       OptionalAttr<F64Attr>:$swiglu_limit,
                       Optional<Samoyeds_FloatTensor1D>:$router_bias);
  let results = (outs Samoyeds_HalfTensor2D:$result);
  // The router bias is the last operand segment: bytecode written before it
  // (six segments) reads as a layer without one.
  let assemblyFormat = [{
    $hidden `,` $router `,` $w13 `,` $w2
    (`bias` `(` $w13_bias^ `,` $w2_bias `)`)?
    (`router_bias` `(` $router_bias^ `)`)? `top_k` `(` $top_k `)` attr-dict
    `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// moe_experts
//===----------------------------------------------------------------------===//

def Samoyeds_MoEExpertsOp : Samoyeds_Op<"moe_experts",
    [AttrSizedOperandSegments]> {
  let summary = "The experts of a MoE layer, with the routing given";
  let description = [{
    `moe_ffn` without its router: the routing decision is computed outside
    (any convention: softmax or sigmoid scores, grouped top-k, biases) and
    passed in as `topk_weights : [T, k]` (f32) and `topk_ids : [T, k]` (i32).
    With the stacked gate/up weights `w13 : [E, 2I, H]` (gate rows first) and
    the down weights `w2 : [E, H, I]`, both in the SS format:

        y_t = Σ_j topk_weights[t][j] · W2_e · (SiLU(W1_e x_t) ⊙ W3_e x_t),
              e = topk_ids[t][j]

    summed in j order; `activation` and `bias(%b13, %b2)` as for `moe_ffn`
    (gpt-oss's experts). The ids are data, not checked by the verifier: an id
    outside `[0, E)` is clamped to the nearest expert (`-1` -> 0, `E` ->
    `E - 1`) by the dispatch, so no memory outside the layer's buffers is
    touched; give such a choice weight 0 to drop it.

    ```mlir
    %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
        : (tensor<?x4096xbf16>, tensor<?x2xf32>, tensor<?x2xi32>,
           tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
           tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
        -> tensor<?x4096xbf16>
    ```
  }];
  let arguments = (ins Samoyeds_HalfTensor2D:$hidden,
                       Samoyeds_F32Tensor2D:$topk_weights,
                       Samoyeds_I32Tensor2D:$topk_ids,
                       Samoyeds_WeightTensor:$w13,
                       Samoyeds_WeightTensor:$w2,
                       Optional<Samoyeds_HalfTensor2D>:$w13_bias,
                       Optional<Samoyeds_HalfTensor2D>:$w2_bias,
                       DefaultValuedAttr<Samoyeds_ActivationAttr,
                           "ActivationKind::Silu">:$activation,
                       OptionalAttr<F64Attr>:$swiglu_alpha,
                       OptionalAttr<F64Attr>:$swiglu_limit);
  let results = (outs Samoyeds_HalfTensor2D:$result);
  let assemblyFormat = [{
    $hidden `,` $topk_weights `,` $topk_ids `,` $w13 `,` $w2
    (`bias` `(` $w13_bias^ `,` $w2_bias `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// route
//===----------------------------------------------------------------------===//

def Samoyeds_RouteOp : Samoyeds_Op<"route"> {
  let summary = "Router logits, softmax and top-k";
  let description = [{
    `logits = hidden · router^T` (f32 accumulation), plus the router's bias
    with `bias(%rb)` (`[E]`; bf16, f16 or f32, added in f32: gpt-oss), softmax
    over the experts, then the `top_k` largest probabilities per token (ties:
    lower expert first), in descending order. With `renormalize` the k
    weights are divided by their sum; finally they are multiplied by
    `routed_scaling_factor`.

    ```mlir
    %w, %ids = samoyeds.route %x, %router top_k(2) {renormalize}
        : (tensor<?x4096xbf16>, tensor<8x4096xbf16>)
        -> (tensor<?x2xf32>, tensor<?x2xi32>)
    %w, %ids = samoyeds.route %x, %router bias(%rb) top_k(4) {renormalize}
        : (tensor<?x2880xbf16>, tensor<32x2880xbf16>, tensor<32xbf16>)
        -> (tensor<?x4xf32>, tensor<?x4xi32>)
    ```
  }];
  let arguments = (ins Samoyeds_HalfTensor2D:$hidden,
                       Samoyeds_FloatTensor2D:$router,
                       Optional<Samoyeds_FloatTensor1D>:$bias,
                       I64Attr:$top_k,
                       UnitAttr:$renormalize,
                       DefaultValuedAttr<F64Attr, "1.0">:$routed_scaling_factor);
  let results = (outs Samoyeds_F32Tensor2D:$weights,
                      Samoyeds_I32Tensor2D:$expert_ids);
  let assemblyFormat = [{
    $hidden `,` $router (`bias` `(` $bias^ `)`)? `top_k` `(` $top_k `)`
    attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// dispatch
//===----------------------------------------------------------------------===//

def Samoyeds_DispatchOp : Samoyeds_Op<"dispatch"> {
  let summary = "Per-expert token lists from the routing decision";
  let description = [{
    Sorts the `T * k` (token, slot) pairs of `expert_ids : [T, k]` by expert,
    stably in (token, slot) order. `tokens[p]` is the token of dispatch slot
    `p`; expert `e` owns slots `[offsets[e], offsets[e+1])`;
    `positions[t][j]` is the dispatch slot of token `t`'s j-th choice. An
    expert may own no slot.

    ```mlir
    %tokens, %offsets, %positions = samoyeds.dispatch %ids experts(8)
        : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<9xi32>, tensor<?x2xi32>)
    ```
  }];
  let arguments = (ins Samoyeds_I32Tensor2D:$expert_ids, I64Attr:$num_experts);
  let results = (outs Samoyeds_I32Tensor1D:$tokens,
                      Samoyeds_I32Tensor1D:$offsets,
                      Samoyeds_I32Tensor2D:$positions);
  let assemblyFormat = [{
    $expert_ids `experts` `(` $num_experts `)` attr-dict
    `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// ssmm
//===----------------------------------------------------------------------===//

def Samoyeds_SSMMOp : Samoyeds_Op<"ssmm", [AttrSizedOperandSegments]> {
  let summary = "Sparse-sparse expert matmul with a fused epilogue";
  let description = [{
    For every expert `e` and dispatch slot `p` in `[offsets[e], offsets[e+1])`:
    `acc = W_e · in_p`, with `W_e` an SS-format weight (`[E, R, K]`) and
    `in_p = input[tokens[p]]` when `gather` is given (the activations are read
    through the token list; no permuted copy is made), else `input[p]`.
    The epilogue then writes:

    With `bias(%b)` (`[E, R]`, the input's element type) `acc` is
    `W_e · in_p + b_e`.

    * `none`: `result[p] = acc` (`[P, R]`);
    * `silu_mul`: rows `[0, R/2)` are the gate and `[R/2, R)` the up
      projection; `result[p] = act(gate, up)` (`[P, R/2]`): SiLU(gate) ⊙ up,
      or with `activation` = `clamped_swiglu` (and `swiglu_alpha`,
      `swiglu_limit`) `moe_ffn`'s clamped SwiGLU;
    * `weighted_combine`: with `combine(weights [T, k], positions [T, k])`,
      `result[t] = Σ_j weights[t][j] · acc(positions[t][j])` (`[T, R]`),
      summed in j order, so the result is deterministic.

    The optional `tile` attribute (`#samoyeds.tile`) fixes the kernel's tile
    shape; `samoyeds-select-tiles` chooses one when it is absent.

    ```mlir
    %h = samoyeds.ssmm %w13, %x, %offsets gather(%tokens) epilogue <silu_mul>
        : (tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
           tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>)
        -> tensor<?x14336xbf16>
    ```
  }];
  let arguments = (ins Samoyeds_WeightTensor:$weight,
                       Samoyeds_HalfTensor2D:$input,
                       Samoyeds_I32Tensor1D:$offsets,
                       Optional<Samoyeds_I32Tensor1D>:$tokens,
                       Optional<Samoyeds_F32Tensor2D>:$routing_weights,
                       Optional<Samoyeds_I32Tensor2D>:$positions,
                       Optional<Samoyeds_HalfTensor2D>:$bias,
                       Samoyeds_EpilogueAttr:$epilogue,
                       OptionalAttr<Samoyeds_TileConfigAttr>:$tile,
                       DefaultValuedAttr<Samoyeds_ActivationAttr,
                           "ActivationKind::Silu">:$activation,
                       OptionalAttr<F64Attr>:$swiglu_alpha,
                       OptionalAttr<F64Attr>:$swiglu_limit);
  let results = (outs Samoyeds_HalfTensor2D:$result);
  let assemblyFormat = [{
    $weight `,` $input `,` $offsets
    (`gather` `(` $tokens^ `)`)?
    (`combine` `(` $routing_weights^ `,` $positions `)`)?
    (`bias` `(` $bias^ `)`)?
    `epilogue` $epilogue attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// The SS format of the weight (null when the encoding is missing).
    SparseFormatAttr getFormat();
  }];
}

//===----------------------------------------------------------------------===//
// launch (host side, after convert-samoyeds-to-gpu)
//===----------------------------------------------------------------------===//

def Samoyeds_LaunchOp : Samoyeds_Op<"launch",
    [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "The kernel launches that compute a lowered samoyeds op";
  let description = [{
    What `convert-samoyeds-to-gpu` leaves of a `samoyeds.route`,
    `samoyeds.dispatch` or `samoyeds.ssmm` in the host function: the same
    operands and results, and the kernel launches (`#samoyeds.launch`) the
    runtime makes, in order, skipping those whose guard does not hold. The
    launches bind buffers by name: the enclosing function's
    `samoyeds.buffers` lists them. `routing` records what a route kernel
    implements and `epilogue` the epilogue of an expert matmul (with
    `activation`, `swiglu_alpha` and `swiglu_limit` where that is not SiLU),
    for the bundle's manifest.

    ```mlir
    %y = samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@f_ssmm_0
        grid(16, ceil_div(P, 32) + 2, 1) block(128, 1, 1) smem(18432)
        args(buffer("w.values", 4), buffer("w.meta", 4), buffer("x", 2),
             buffer("offsets", 4), buffer("y", 2))>]
        (%w, %x, %offsets) {epilogue = #samoyeds.epilogue<none>}
        : (tensor<2x2048x2048xbf16, #ss>, tensor<?x2048xbf16>, tensor<3xi32>)
        -> tensor<?x2048xbf16>
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs,
                       TypedArrayAttrBase<Samoyeds_KernelLaunchAttr,
                           "kernel launches">:$launches,
                       OptionalAttr<Samoyeds_RoutingAttr>:$routing,
                       OptionalAttr<Samoyeds_EpilogueAttr>:$epilogue,
                       OptionalAttr<Samoyeds_ActivationAttr>:$activation,
                       OptionalAttr<F64Attr>:$swiglu_alpha,
                       OptionalAttr<F64Attr>:$swiglu_limit);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $launches (`(` $inputs^ `)`)? attr-dict `:` functional-type($inputs, $results)
  }];
}

#endif // SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSOPS_TD
