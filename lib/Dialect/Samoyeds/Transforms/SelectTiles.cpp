//===- SelectTiles.cpp - Choose expert-matmul tile shapes -----------------===//

#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"

#include <algorithm>

namespace mlir::samoyeds {
#define GEN_PASS_DEF_SAMOYEDSSELECTTILES
#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h.inc"
} // namespace mlir::samoyeds

using namespace mlir;
using namespace mlir::samoyeds;

namespace {
/// Shared memory one block may use: about half an SM's, so that two blocks
/// can share an SM where registers allow (sm_90: 228 KB per SM; sm_80:
/// 164 KB per SM, whose 163 KB opt-in limit a single block may take).
int64_t smemBudget(StringRef chip) {
  return chip == "sm_80" ? 160 * 1024 : 113 * 1024;
}

/// The tile table. A block covers `warps` row tiles of 16 kept rows (per
/// half for silu_mul) by `tokens` routed tokens split among `token_warps`
/// warps per row tile; a pipeline stage covers `k` columns. The k tile must
/// divide or be divided by the span so that span ends fall at fixed steps of
/// a stage.
TileConfigAttr chooseTile(SSMMOp op, StringRef chip, int64_t tokensOverride) {
  SparseFormatAttr format = op.getFormat();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t cols = wType.getDimSize(2);
  int64_t k =
      (cols % 64 == 0 && (format.isPlain24() || format.getV() % 64 == 0 ||
                          64 % format.getV() == 0))
          ? 64
          : 32;
  // Tokens per warp: 32 for silu_mul (gate and up accumulators: 96 f32
  // registers with row selection), 64 otherwise (the same count); two token
  // warps per row tile, so 256 threads and up to 255 registers a thread (at
  // 512 threads the 128-register cap spilled the silu_mul kernel). A block of
  // the down projection takes 128 tokens, so an expert with up to 128 tokens
  // reads its weights once; warps whose slice is beyond an expert's tokens
  // skip their multiplies.
  bool siluMul = op.getEpilogue() == EpilogueKind::SiluMul;
  int64_t warpTokens = siluMul ? 32 : 64;
  int64_t tokens = tokensOverride > 0 ? tokensOverride : 2 * warpTokens;
  int64_t tokenWarps = std::max<int64_t>(1, tokens / warpTokens);
  // The block's row warps must tile the kept rows exactly.
  int64_t halves = siluMul ? 2 : 1;
  int64_t tiles = wType.getDimSize(1) / format.getM() * format.getN() / halves /
                  SparseFormatAttr::kMmaRows;
  int64_t warps = tiles % 4 == 0 ? 4 : tiles % 2 == 0 ? 2 : 1;
  // Weight fragments stream through shared memory with the activations: up
  // to 6 stages within the chip's budget (more bytes in flight per SM for
  // the weight stream at decode sizes).
  auto smemBytes = [&](int64_t s) {
    return s * (tokens * (k + 8) * 2 + warps * halves * (k / 32) * (512 + 64));
  };
  int64_t stages = 6;
  while (stages > 2 && smemBytes(stages) > smemBudget(chip))
    --stages;
  return TileConfigAttr::get(op.getContext(), warps, tokens, k, stages,
                             tokenWarps);
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
            [&] { return getOperation()->emitError(); }, 4, tokens, 64, 2, 1)))
      return signalPassFailure();
    getOperation()->walk([&](SSMMOp op) {
      // A dynamic weight shape cannot be compiled; the conversion says so.
      if (!cast<RankedTensorType>(op.getWeight().getType()).hasStaticShape())
        return;
      if (!op.getTileAttr())
        op.setTileAttr(chooseTile(op, chip, tokens));
    });
  }
};
} // namespace
