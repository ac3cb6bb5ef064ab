//===- RouteEmitter.h - Router kernel builders ------------------*- C++ -*-===//
//
// Private to the SamoyedsToGPU conversion: the shapes of the router's logits
// kernel and the emitter that builds the logits and select kernels
// (RouteLogits.cpp, RouteSelect.cpp); RouteKernels.cpp picks the shapes and
// states the launches.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_ROUTEEMITTER_H
#define SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_ROUTEEMITTER_H

#include "KernelUtils.h"

namespace mlir::samoyeds::detail {

/// Calls with at most this many tokens run the decode shape of the logits
/// kernel, the others the prefill or the tensor-core shape.
constexpr int64_t kDecodeTokens = 32;
/// Warps (tokens) per block of the select kernel.
constexpr int64_t kSelectWarps = 4;
/// Elements per vector load of x and router rows (16 bytes of bf16).
constexpr int64_t kVector = 8;

/// The tensor-core shape serves the calls whose grid has at least
/// kMmaMinBlocks blocks (about 1.5 an SM), and only where its 64-expert
/// blocks pad the experts to at most 1 + 1/kMmaMaxPadding times the small-
/// grid shape's; the small-grid shapes below serve the rest. Each of its warps
/// streams its slice of the hidden size one chunk a round trip, so it needs
/// blocks to hide its chains, while the small-grid blocks re-read x and the
/// router from the L2 for every 16 experts and 16 tokens (H200, bench/
/// RESULTS.md S33, logits alone: small-grid faster at T = 1024-4096 on
/// DeepSeek-V2 (84.9 against 105.5 us at 4096; its 160 experts pad the
/// tensor-core blocks to 192), Qwen2-MoE, OLMoE, DeepSeek-V2-Lite (128
/// blocks at 4096) and Mixtral, and on Qwen3-235B up to T = 2048 (128
/// blocks: 32.3 against 39.4), slower there from T = 3072 (192 blocks: 47.9
/// against 40.8; 63.6 against 45.2 at 4096)).
constexpr int64_t kMmaMinBlocks = 192, kMmaMaxPadding = 8;

/// The decode, sliced prefill and tensor-core shapes split the hidden size
/// over warps (the slices meet in shared memory) up to this many warps a
/// block, until a warp runs at most kLogitsSteps steps (decode, prefill) or
/// down to kLogitsMmaChunks 32-column chunks (tensor cores): each warp's loop
/// is a chain of round trips to memory. The sliced prefill shapes serve the
/// calls whose prefill grid has at most kLogitsSlicedWarps warps, each call
/// the shape of the fewest tokens a warp whose grid has no more blocks than
/// that grid; with more, the slices' extra warps and sums cost more than they
/// save (H200, same process: 1.02-1.04x at T = 33-128, 0.97-0.99x at T =
/// 512-2047 on OLMoE and DeepSeek-V2-Lite, bench/RESULTS.md S17; 2 or 4
/// tokens a warp where 8 left OLMoE's grid 32 blocks at T = 64: 1.03-1.04x
/// at T = 48-64, S27).
constexpr int64_t kLogitsMaxWarps = 16, kLogitsSteps = 2, kLogitsMmaChunks = 8,
                  kLogitsSlicedWarps = 512;
/// The small-grid tensor-core shapes (RouteKernels.cpp) serve the calls
/// below the tensor-core shape's where the fused multiply-add shapes would
/// run more than kLogitsSteps steps a warp: a block of one warp of 16
/// tokens, kLogitsSmallTiles tiles of 8 experts a warp from the T where
/// that grid has kLogitsSmallBlocks blocks, one tile below it; each warp
/// loads kLogitsMmaGroup chunks a round trip (H200, bench/RESULTS.md S32:
/// the logits of Qwen2-MoE 11.6 -> 6.3 us at T = 256, 25.1 -> 8.0 at 1024;
/// DeepSeek-V2 29.3 -> 8.7 at 256; Qwen3-235B 20.9 -> 7.3 at 256; OLMoE
/// 15.5 -> 8.4 at 1024; Mixtral 8.2 -> 5.8 at 1024).
constexpr int64_t kLogitsSmallTiles = 2, kLogitsSmallBlocks = 64,
                  kLogitsMmaGroup = 4;

/// How one logits kernel divides its work.
struct LogitsShape {
  int64_t tokensPerWarp = 1, expertsPerWarp = 1;
  /// Warps per block along the experts and along the hidden size.
  int64_t expertWarps = 1, slices = 1;
  /// The tensor-core shape: each warp computes 16 tokens x expertsPerWarp
  /// (a multiple of 8) with m16n8k16 MMAs; tokenWarps warps along the
  /// tokens.
  bool mma = false;
  int64_t tokenWarps = 1;
  /// The tensor-core shape's 32-column chunks a warp loads together (a
  /// divisor of its slice's chunks).
  int64_t group = 1;

  int64_t warps() const { return expertWarps * slices * tokenWarps; }
  int64_t blockExperts() const { return expertWarps * expertsPerWarp; }
  int64_t blockTokens() const { return mma ? 16 * tokenWarps : tokensPerWarp; }
  /// The f32 partial sums a block of several slices adds up in shared
  /// memory (none with one slice): one per slice, token and expert.
  int64_t partials() const {
    return slices > 1 ? slices * blockTokens() * blockExperts() : 0;
  }
};

/// Elements each lane reads per step: a 16-byte vector where whole vectors
/// of 32 lanes tile the hidden size, else one element.
inline int64_t laneWidth(int64_t hidden) {
  return hidden % (32 * kVector) == 0 ? kVector : 1;
}

/// The warp-wide steps (32 lanes x laneWidth elements) that cover the
/// hidden size, the last one partial when 32 does not divide it.
inline int64_t laneSteps(int64_t hidden) {
  return llvm::divideCeil(hidden, 32 * laneWidth(hidden));
}

/// What the select kernels compute per token: top_k experts, renormalized
/// weights or softmax weights times `scale`; with `bias`, of the logits plus
/// the router's bias, the kernel's argument before T.
struct SelectParams {
  int64_t topK;
  bool renormalize;
  double scale;
  bool bias = false;
};

/// The most routed slots (tokens × top_k) of the select_dispatch kernel,
/// one per thread of its block.
constexpr int64_t kSelectDispatchSlots = kSelectWarps * 32;

class RouteEmitter : public EmitterBase {
public:
  RouteEmitter(ImplicitLocOpBuilder &b, int64_t hidden, int64_t experts)
      : EmitterBase(b), hidden(hidden), experts(experts) {}

  void emitLogits(gpu::GPUFuncOp func, const LogitsShape &shape);
  void emitMmaLogits(gpu::GPUFuncOp func, const LogitsShape &shape);
  /// Softmax and top-k: (logits, weights, ids[, bias], T).
  void emitSelect(gpu::GPUFuncOp func, const SelectParams &sel);
  /// Softmax, top-k and the dispatch of up to kSelectWarps tokens in one
  /// block: (logits, weights, ids, token list, offsets, positions[, bias],
  /// T), with a workgroup buffer of kSelectDispatchSlots i32.
  void emitSelectDispatch(gpu::GPUFuncOp func, const SelectParams &sel);

private:
  /// Starts the body of `func`; returns its last argument, T, as an index.
  Value enter(gpu::GPUFuncOp func);
  /// The router's bias of a select kernel: its argument before T where
  /// `sel.bias`, else null.
  static Value selectBias(gpu::GPUFuncOp func, const SelectParams &sel) {
    return sel.bias ? func.getArgument(func.getNumArguments() - 2) : Value();
  }
  /// The warp of `token` (when below `tokens`): its weights and expert ids,
  /// from its row of the logits plus `bias` (the router's, [E]; null: none);
  /// with `sharedIds` (a workgroup buffer) the ids also go there, clamped to
  /// the experts.
  void selectToken(Value logits, Value bias, Value weights, Value ids,
                   Value tokens, Value token, Value lane,
                   const SelectParams &sel, Value sharedIds = Value());
  /// The warp's maximum of an f32 that is not NaN on any lane (one
  /// redux.sync on an order-preserving i32 key).
  Value warpMax(Value f);
  /// A token's logits as its warp holds them (lane l: experts l, l + 32,
  /// ...; `valid` null where every lane has one), each plus its expert's
  /// `bias` (widened to f32) where there is one, and their softmax's maximum
  /// and sum over the warp.
  struct TokenLogits {
    SmallVector<Value> logit, expert, valid;
    Value max, sum;
  };
  TokenLogits loadSoftmax(Value logits, Value bias, Value token, Value lane);
  /// exp(l - max), unnormalised.
  Value prob(const TokenLogits &t, Value l);
  /// The lane's largest (logit, -expert) after (`lastLogit`, `lastExpert`)
  /// in (logit descending, expert ascending) order, and its expert (the
  /// expert count where none is left).
  std::pair<Value, Value> laneBest(const TokenLogits &t, Value lastLogit,
                                   Value lastExpert);
  /// logits[token][expert] = sum, for a token below `tokens` and an expert
  /// below the count (the rows past them were read clamped).
  void storeLogit(Value logits, Value tokens, Value sum, Value token,
                  Value expert);
  /// After a barrier, the block's threads add up the slices' partial sums
  /// (`partials`: [slice][token][expert] of the block's tile) in slice order
  /// and store them as the logits of the tile at (firstToken, firstExpert).
  void storeSlicedLogits(Value partials, Value logits, Value tokens, Value tid,
                         const LogitsShape &shape, Value firstToken,
                         Value firstExpert);
  /// `width` elements of `buf` from element `i` as f32 (a vector when
  /// width > 1).
  Value loadF32(Value buf, Value i, int64_t width) {
    if (width == 1)
      return toF32(load(buf, i));
    Type elt = cast<MemRefType>(buf.getType()).getElementType();
    return toF32(vector::LoadOp::create(b, VectorType::get({width}, elt), buf,
                                        ValueRange{i}, /*nontemporal=*/false,
                                        llvm::MaybeAlign(16)));
  }
  /// acc + the dot product of `x` and `r` (vectors or scalars), one fused
  /// multiply-add per element in element order.
  Value dot(Value acc, Value x, Value r) {
    auto fma = [&](Value a, Value c) {
      return LLVM::FMAOp::create(b, a, c, acc).getResult();
    };
    auto vec = dyn_cast<VectorType>(x.getType());
    if (!vec)
      return fma(x, r);
    for (int64_t i = 0; i < vec.getNumElements(); ++i)
      acc = fma(vector::ExtractOp::create(b, x, i),
                vector::ExtractOp::create(b, r, i));
    return acc;
  }

  int64_t hidden, experts;
};

} // namespace mlir::samoyeds::detail

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_ROUTEEMITTER_H
