//===- SelectTiles.cpp - Choose expert-matmul tile shapes -----------------===//

#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::samoyeds {
#define GEN_PASS_DEF_SAMOYEDSSELECTTILES
#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h.inc"
} // namespace mlir::samoyeds

using namespace mlir;
using namespace mlir::samoyeds;

namespace {
/// The tile table. Every block has `warps` warps of 16 kept rows each and
/// `tokens` routed tokens; a pipeline stage covers `k` columns. The k tile
/// must divide or be divided by the span so that span ends fall at fixed
/// steps of a stage.
TileConfigAttr chooseTile(SSMMOp op, int64_t tokensOverride) {
  SparseFormatAttr format = op.getFormat();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t cols = wType.getDimSize(2);
  int64_t k = (cols % 64 == 0 && (format.isPlain24() || format.getV() % 64 == 0 ||
                                  64 % format.getV() == 0))
                  ? 64
                  : 32;
  int64_t tokens = tokensOverride > 0 ? tokensOverride : 32;
  return TileConfigAttr::get(op.getContext(), /*warps=*/4, tokens, k,
                             /*stages=*/2);
}

struct SamoyedsSelectTiles
    : samoyeds::impl::SamoyedsSelectTilesBase<SamoyedsSelectTiles> {
  using Base::Base;
  void runOnOperation() override {
    if (chip != "sm_80" && chip != "sm_90" && chip != "sm_90a") {
      getOperation()->emitError() << "samoyeds-select-tiles: unsupported chip '"
                                  << chip << "' (expected sm_80, sm_90 or "
                                  << "sm_90a)";
      return signalPassFailure();
    }
    if (tokens != 0 &&
        failed(TileConfigAttr::verify(
            [&] { return getOperation()->emitError(); }, 4, tokens, 64, 2)))
      return signalPassFailure();
    getOperation()->walk([&](SSMMOp op) {
      if (!op.getTileAttr())
        op.setTileAttr(chooseTile(op, tokens));
    });
  }
};
} // namespace
