//===- DecomposeMoE.cpp - Split moe_ffn into its parts --------------------===//

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
/// moe_ffn -> route + dispatch + ssmm(silu_mul) + ssmm(weighted_combine).
struct DecomposeMoEPattern : OpRewritePattern<MoEFFNOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MoEFFNOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getActivation() != ActivationKind::Silu)
      return rewriter.notifyMatchFailure(op, "only SiLU experts decompose");
    Location loc = op.getLoc();
    auto hiddenType = cast<RankedTensorType>(op.getHidden().getType());
    auto w13Type = cast<RankedTensorType>(op.getW13().getType());
    int64_t tokens = hiddenType.getDimSize(0);
    int64_t topK = op.getTopK();
    int64_t experts = w13Type.getDimSize(0);
    if (ShapedType::isDynamic(experts))
      experts = cast<ShapedType>(op.getRouter().getType()).getDimSize(0);
    if (ShapedType::isDynamic(experts))
      return rewriter.notifyMatchFailure(op, "expert count must be static");
    int64_t slots =
        ShapedType::isDynamic(tokens) ? ShapedType::kDynamic : tokens * topK;
    int64_t inter = ShapedType::isDynamic(w13Type.getDimSize(1))
                        ? ShapedType::kDynamic
                        : w13Type.getDimSize(1) / 2;

    Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
    auto pairs = [&](Type elt) {
      return RankedTensorType::get({tokens, topK}, elt);
    };
    auto route = RouteOp::create(rewriter, loc, pairs(f32), pairs(i32),
                                 op.getHidden(), op.getRouter(),
                                 op.getTopKAttr(), op.getRenormalizeAttr(),
                                 op.getRoutedScalingFactorAttr());
    auto dispatch = DispatchOp::create(
        rewriter, loc, RankedTensorType::get({slots}, i32),
        RankedTensorType::get({experts + 1}, i32), pairs(i32),
        route.getExpertIds(), rewriter.getI64IntegerAttr(experts));

    auto hType =
        RankedTensorType::get({slots, inter}, hiddenType.getElementType());
    auto epilogue = [&](EpilogueKind kind) {
      return EpilogueKindAttr::get(rewriter.getContext(), kind);
    };
    auto gateUp =
        SSMMOp::create(rewriter, loc, hType, op.getW13(), op.getHidden(),
                       dispatch.getOffsets(), dispatch.getTokens(),
                       /*routing_weights=*/Value(),
                       /*positions=*/Value(), epilogue(EpilogueKind::SiluMul),
                       /*tile=*/TileConfigAttr());
    auto down = SSMMOp::create(
        rewriter, loc, hiddenType, op.getW2(), gateUp.getResult(),
        dispatch.getOffsets(), /*tokens=*/Value(), route.getWeights(),
        dispatch.getPositions(), epilogue(EpilogueKind::WeightedCombine),
        /*tile=*/TileConfigAttr());
    rewriter.replaceOp(op, down.getResult());
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
    // A moe_ffn that survives could not be decomposed: say why.
    WalkResult result = getOperation()->walk([](MoEFFNOp op) {
      op.emitError() << "could not decompose: needs a SiLU activation and a "
                        "static expert count";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace

void mlir::samoyeds::populateDecomposeMoEPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeMoEPattern>(patterns.getContext());
}
