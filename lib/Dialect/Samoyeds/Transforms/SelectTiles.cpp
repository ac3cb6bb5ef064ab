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
  int64_t k =
      (cols % 64 == 0 && (format.isPlain24() || format.getV() % 64 == 0 ||
                          64 % format.getV() == 0))
          ? 64
          : 32;
  // Tokens per block: 64 halves the weight re-reads when an expert gets
  // more than 32 tokens (measured: Mixtral down projection at T = 256); the
  // gate/up kernel keeps 32, as its doubled accumulators (gate and up) would
  // not fit the register file at 64.
  bool siluMul = op.getEpilogue() == EpilogueKind::SiluMul;
  int64_t tokens = tokensOverride > 0 ? tokensOverride : siluMul ? 32 : 64;
  // Each warp owns one 16-row tile of kept rows (per half for silu_mul); the
  // block's warps must tile the kept rows exactly.
  int64_t halves = siluMul ? 2 : 1;
  int64_t tiles = wType.getDimSize(1) / format.getM() * format.getN() / halves /
                  SparseFormatAttr::kMmaRows;
  int64_t warps = tiles % 4 == 0 ? 4 : tiles % 2 == 0 ? 2 : 1;
  // Weight fragments stream through shared memory with the activations:
  // as many stages as fit the 48 KB a kernel may declare.
  int64_t stages = 4;
  auto smemBytes = [&](int64_t s) {
    return s * (tokens * (k + 8) * 2 + warps * halves * (k / 32) * (512 + 64));
  };
  while (stages > 2 && smemBytes(stages) > 48 * 1024)
    --stages;
  return TileConfigAttr::get(op.getContext(), warps, tokens, k, stages);
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
      // A dynamic weight shape cannot be compiled; the conversion says so.
      if (!cast<RankedTensorType>(op.getWeight().getType()).hasStaticShape())
        return;
      if (!op.getTileAttr())
        op.setTileAttr(chooseTile(op, tokens));
    });
  }
};
} // namespace
