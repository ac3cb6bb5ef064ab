//===- DecomposeMoE.cpp - Split moe_ffn and moe_experts into parts --------===//

#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::samoyeds {
#define GEN_PASS_DEF_SAMOYEDSDECOMPOSEMOE
#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h.inc"
} // namespace mlir::samoyeds

using namespace mlir;
using namespace mlir::samoyeds;

namespace {
/// The static expert count of a layer: w13's, else w2's, else `fallback`
/// (moe_ffn's router); dynamic when none gives it.
int64_t staticExperts(Value w13, Value w2, int64_t fallback) {
  for (Value w : {w13, w2}) {
    int64_t e = cast<ShapedType>(w.getType()).getDimSize(0);
    if (!ShapedType::isDynamic(e))
      return e;
  }
  return fallback;
}

/// What a layer's experts compute besides their weights: the activation
/// and the optional biases of the two matmuls.
struct ExpertEpilogue {
  ActivationKind activation;
  FloatAttr alpha, limit;
  Value b13, b2;

  template <typename OpTy> static ExpertEpilogue of(OpTy op) {
    return {op.getActivation(), op.getSwigluAlphaAttr(),
            op.getSwigluLimitAttr(), op.getW13Bias(), op.getW2Bias()};
  }
};

/// The experts of a layer given its routing (`weights`, `ids` : [T, k]):
/// dispatch + ssmm(w13, gather, silu_mul) + ssmm(w2, weighted_combine).
/// Returns the combined result [T, H].
Value buildExperts(PatternRewriter &rewriter, Location loc, Value hidden,
                   Value weights, Value ids, Value w13, Value w2,
                   int64_t experts, const ExpertEpilogue &epi) {
  auto hiddenType = cast<RankedTensorType>(hidden.getType());
  auto idsType = cast<RankedTensorType>(ids.getType());
  auto w13Type = cast<RankedTensorType>(w13.getType());
  int64_t tokens = idsType.getDimSize(0), topK = idsType.getDimSize(1);
  int64_t slots = ShapedType::isDynamic(tokens) || ShapedType::isDynamic(topK)
                      ? ShapedType::kDynamic
                      : tokens * topK;
  int64_t inter = ShapedType::isDynamic(w13Type.getDimSize(1))
                      ? ShapedType::kDynamic
                      : w13Type.getDimSize(1) / 2;
  Type i32 = rewriter.getI32Type();
  auto dispatch =
      DispatchOp::create(rewriter, loc, RankedTensorType::get({slots}, i32),
                         RankedTensorType::get({experts + 1}, i32), idsType,
                         ids, rewriter.getI64IntegerAttr(experts));

  auto hType =
      RankedTensorType::get({slots, inter}, hiddenType.getElementType());
  auto epilogue = [&](EpilogueKind kind) {
    return EpilogueKindAttr::get(rewriter.getContext(), kind);
  };
  auto activation = [&](ActivationKind kind) {
    return ActivationKindAttr::get(rewriter.getContext(), kind);
  };
  auto gateUp = SSMMOp::create(
      rewriter, loc, hType, w13, hidden, dispatch.getOffsets(),
      dispatch.getTokens(), /*routing_weights=*/Value(),
      /*positions=*/Value(), epi.b13, epilogue(EpilogueKind::SiluMul),
      /*tile=*/TileConfigAttr(), activation(epi.activation), epi.alpha,
      epi.limit);
  auto down = SSMMOp::create(
      rewriter, loc, hiddenType, w2, gateUp.getResult(), dispatch.getOffsets(),
      /*tokens=*/Value(), weights, dispatch.getPositions(), epi.b2,
      epilogue(EpilogueKind::WeightedCombine), /*tile=*/TileConfigAttr(),
      activation(ActivationKind::Silu), /*swiglu_alpha=*/FloatAttr(),
      /*swiglu_limit=*/FloatAttr());
  return down.getResult();
}

/// moe_ffn -> route (with the layer's router bias) + the experts
/// (buildExperts).
struct DecomposeMoEPattern : OpRewritePattern<MoEFFNOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MoEFFNOp op,
                                PatternRewriter &rewriter) const override {
    int64_t experts =
        staticExperts(op.getW13(), op.getW2(),
                      cast<ShapedType>(op.getRouter().getType()).getDimSize(0));
    if (ShapedType::isDynamic(experts))
      return rewriter.notifyMatchFailure(op, "expert count must be static");
    Location loc = op.getLoc();
    int64_t tokens = cast<ShapedType>(op.getHidden().getType()).getDimSize(0);
    int64_t topK = op.getTopK();
    auto pairs = [&](Type elt) {
      return RankedTensorType::get({tokens, topK}, elt);
    };
    auto route = RouteOp::create(rewriter, loc, pairs(rewriter.getF32Type()),
                                 pairs(rewriter.getI32Type()), op.getHidden(),
                                 op.getRouter(), op.getRouterBias(),
                                 op.getTopKAttr(), op.getRenormalizeAttr(),
                                 op.getRoutedScalingFactorAttr());
    rewriter.replaceOp(
        op, buildExperts(rewriter, loc, op.getHidden(), route.getWeights(),
                         route.getExpertIds(), op.getW13(), op.getW2(), experts,
                         ExpertEpilogue::of(op)));
    return success();
  }
};

/// moe_experts -> the experts (buildExperts); the routing is the caller's.
struct DecomposeMoEExpertsPattern : OpRewritePattern<MoEExpertsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MoEExpertsOp op,
                                PatternRewriter &rewriter) const override {
    int64_t experts =
        staticExperts(op.getW13(), op.getW2(), ShapedType::kDynamic);
    if (ShapedType::isDynamic(experts))
      return rewriter.notifyMatchFailure(op, "expert count must be static");
    rewriter.replaceOp(op, buildExperts(rewriter, op.getLoc(), op.getHidden(),
                                        op.getTopkWeights(), op.getTopkIds(),
                                        op.getW13(), op.getW2(), experts,
                                        ExpertEpilogue::of(op)));
    return success();
  }
};

struct SamoyedsDecomposeMoE
    : samoyeds::impl::SamoyedsDecomposeMoEBase<SamoyedsDecomposeMoE> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDecomposeMoEPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // A layer op that survives could not be decomposed: say why.
    WalkResult result = getOperation()->walk([](Operation *op) {
      if (!isa<MoEFFNOp, MoEExpertsOp>(op))
        return WalkResult::advance();
      op->emitError() << "could not decompose: needs a static expert count";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace

void mlir::samoyeds::populateDecomposeMoEPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeMoEPattern, DecomposeMoEExpertsPattern>(
      patterns.getContext());
}
