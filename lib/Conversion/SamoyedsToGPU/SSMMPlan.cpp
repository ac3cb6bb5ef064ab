//===- SSMMPlan.cpp - Expert-matmul kernel parameters ---------------------===//
//
// The static plan of one samoyeds.ssmm kernel, checked against the rules
// every MMA strategy shares, and the strategy registry.
//
//===----------------------------------------------------------------------===//

#include "SSMMPlan.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

/// The decode variant, and the split-K variant where all its calls are
/// decode calls, take the decode tile.
static void takeDecodeTile(SSMMPlan &p, TileConfigAttr tile,
                           SSMMVariant variant, bool split, bool mid) {
  bool decode =
      variant == SSMMVariant::Decode || variant == SSMMVariant::DecodeShared;
  assert((!decode || tile.getDecodeTokens() > 0) &&
         "the tile has no decode variant");
  if (!(decode && tile.getDecodeTokens() > 0) &&
      !(split && !mid &&
        TileConfigAttr::splitTakesDecodeTile(
            tile.getSplitK(), tile.getSplitSlots(), tile.getDecodeTokens(),
            tile.getDecodeSlots())))
    return;
  p.tokens = tile.getDecodeTokens();
  p.blocksPerSM = variant == SSMMVariant::DecodeShared ? 2
                  : split                              ? tile.getSplitBlocks()
                                                       : 1;
  if (tile.getDecodeWarps() > 0) {
    p.warps = tile.getDecodeWarps();
    p.ownWarps = true;
  }
  if (tile.getDecodeStages() > 0)
    p.stages = tile.getDecodeStages();
}

/// The wide variants' tokens, clusters, packing, warps and unit pairs.
static void takeWideTile(SSMMPlan &p, TileConfigAttr tile,
                         SSMMVariant variant) {
  assert((variant != SSMMVariant::Wide || tile.getWideTokens() > 0) &&
         "the tile has no wide variant");
  assert(
      (variant != SSMMVariant::WideMulticast || tile.getWideMulticast() > 1) &&
      "the tile's wide variant does not multicast");
  assert((variant != SSMMVariant::WideLow || tile.getWideLowTokens() > 0) &&
         "the tile has no second wide width");
  if (!isWideVariant(variant))
    return;
  p.tokens = wideVariantTokens(tile, variant);
  p.wide = true;
  p.cluster = tile.getWideCluster();
  p.multicast =
      variant == SSMMVariant::WideMulticast ? tile.getWideMulticast() : 1;
  p.packed = tile.getWidePacked() == 1;
  if (tile.getWideWarps() > 0)
    p.warps = tile.getWideWarps();
  // Where the wide variant pairs, its second width multiplies one unit
  // (late pairs: the single units' width below the paired grid's wave).
  p.unitsPerWarpgroup =
      variant == SSMMVariant::WideLow ? 1 : tile.getWideUnits();
  // A second width with warps of its own (wide_low_warps: plain 2:4's
  // single units on four consumer warpgroups beside its pairs on two).
  if (variant == SSMMVariant::WideLow && tile.getWideLowWarps() > 0)
    p.warps = tile.getWideLowWarps();
  // On the persistent grid (wide_persistent): one block per SM walks the
  // wide tiles.
  if (variant == SSMMVariant::Wide && tile.getWidePersistent() == 1)
    p.persistent = 1;
  // Masked wide rows (wide_row_masks): the wide widths multiply masked
  // group rows, the other variants route.
  if (tile.getWideRowMasks() == 1)
    p.masked = p.rowSelect;
}

/// The split-K variants' slices and the persistent variants' grid.
static void takeSplitOrPersistentTile(SSMMPlan &p, TileConfigAttr tile,
                                      SSMMVariant variant, bool split,
                                      bool mid) {
  if (mid) {
    p.splitK = tile.getMidSplitK();
    p.splitSlots = tile.getMidSplitSlots();
  } else if (split) {
    p.splitK = tile.getSplitK();
    p.splitSlots = tile.getSplitSlots();
    // The persistent split grid: one block per SM walks the (tile, slice)
    // units.
    if (tile.getSplitPersistent()) {
      p.persistent = 1;
      p.blocksPerSM = 1;
    }
  } else if (variant == SSMMVariant::Persistent ||
             variant == SSMMVariant::PersistentNarrow ||
             variant == SSMMVariant::PersistentUpper ||
             variant == SSMMVariant::PersistentUpperPairs) {
    p.persistent = tile.getPersistent();
    assert(p.persistent > 0 && "the tile has no persistent variant");
    if (variant == SSMMVariant::Persistent)
      p.tokens = persistentVariantTokens(tile);
    // Without a wide variant the large calls' grid may read packed rows.
    p.packed = packsInput(tile, variant);
    // Below persistent_slots of a tile with persistent_warps: their own
    // warps and tokens, and as many ring slots as fit.
    if (variant == SSMMVariant::PersistentNarrow &&
        tile.getPersistentWarps() > 0) {
      p.warps = tile.getPersistentWarps();
      if (tile.getPersistentTokens() > 0)
        p.tokens = tile.getPersistentTokens();
      p.stages = TileConfigAttr::kWgmmaMaxStages;
    }
    // Unit pairs on the variants of at most two consumer warpgroups; with
    // persistent_units_slots only on the upper grid's calls from them.
    bool fromSlots = tile.getPersistentUnitsSlots() > 0;
    if (p.warps <= 8 &&
        (!fromSlots || variant == SSMMVariant::PersistentUpperPairs))
      p.unitsPerWarpgroup = tile.getPersistentUnits();
  }
}

/// The sizes the kernel derives from the weight, the epilogue and the
/// variant's tile.
static void deriveSizes(SSMMPlan &p, SSMMOp op, TileConfigAttr tile,
                        bool split) {
  // Token steps where ptxas keeps every width's wgmma pipeline: with four
  // consumer warpgroups (104 registers) or masked rows (A in registers) it
  // serialised the wgmma of some variants for want of registers (C7511).
  if (p.strategy == MmaStrategy::WgmmaSp && !p.masked &&
      p.warps <= SSMMPlan::kTokenStepMaxWarps && tile.getTokenStep() < p.tokens)
    p.tokenStep = tile.getTokenStep();
  // The ordinary grid's block order; the wgmma_sp persistent grid walks its
  // tiles in the same order.
  if (p.persistent == 0 || p.strategy == MmaStrategy::WgmmaSp)
    p.groupTiles = tile.getGroupTiles();
  bool combine = op.getEpilogue() == EpilogueKind::WeightedCombine;
  p.outElt = combine || split ? Type(Float32Type::get(op.getContext())) : p.elt;
  p.resultElt =
      cast<RankedTensorType>(op.getResult().getType()).getElementType();
  p.halves = p.siluMul ? 2 : 1;
  p.keptRows = p.rows / p.m * p.n;
  p.keptTilesPerHalf = p.keptRows / p.halves / 16;
  p.layout = getMmaLowering(p.strategy).weightLayout(p.keptRows, p.halves);
  p.storedCols = WeightAttr::storedCols(p.layout, p.cols);
  p.storedKeptRows = WeightAttr::storedKeptRows(p.layout, p.keptRows);
  p.kSteps = p.storedCols / 32;
  p.outCols = p.siluMul ? p.rows / 2 : p.rows;
}

/// The K tiling's rules: k tiles, spans and slices divide the (stored)
/// columns.
static LogicalResult checkKTiling(const SSMMPlan &p, SSMMOp op, bool mid) {
  // The wgmma layout stores K padded to whole 128-column blocks.
  auto padded = [&](InFlightDiagnostic &d) -> InFlightDiagnostic & {
    if (p.padsK())
      d << " (K = " << p.cols << ", stored padded)";
    return d;
  };
  if (p.storedCols % p.kTile != 0) {
    InFlightDiagnostic d = op.emitOpError();
    d << "tile k = " << p.kTile << " must divide the " << p.storedCols
      << " weight columns";
    return padded(d);
  }
  if (p.rowSelect && p.v % p.kTile != 0 && p.kTile % p.v != 0)
    return op.emitOpError() << "tile k = " << p.kTile << " and span v = " << p.v
                            << " must divide one another";
  // Every K slice is whole k tiles and, with row selection, whole spans.
  int64_t sliceQuantum = p.rowSelect ? std::max(p.kTile, p.v) : p.kTile;
  if (p.storedCols % (p.splitK * sliceQuantum) != 0) {
    InFlightDiagnostic d = op.emitOpError();
    d << "tile " << (mid ? "mid_split_k" : "split_k") << " = " << p.splitK
      << " must cut the " << p.storedCols << " columns";
    return padded(d) << " into slices of whole multiples of " << sliceQuantum
                     << (p.rowSelect ? " (k tile and span)" : " (k tile)");
  }
  return success();
}

FailureOr<SSMMPlan> mlir::samoyeds::detail::makePlan(SSMMOp op,
                                                     SSMMVariant variant) {
  bool mid = variant == SSMMVariant::SplitMid;
  bool split = variant == SSMMVariant::Split || mid;
  SSMMPlan p;
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  SparseFormatAttr format = op.getFormat();
  TileConfigAttr tile = op.getTileAttr();
  if (!tile)
    return op.emitOpError() << "has no #samoyeds.tile; run "
                            << "samoyeds-select-tiles first";
  assert((!mid || tile.getMidSplitK() > 1) &&
         "the tile has no mid-size split-K variant");
  if (wType.isDynamicDim(0) || wType.isDynamicDim(1) || wType.isDynamicDim(2))
    return op.emitOpError()
           << "needs a static weight shape to be compiled, got " << wType;
  p.experts = wType.getDimSize(0);
  p.rows = wType.getDimSize(1);
  p.cols = wType.getDimSize(2);
  p.n = format.getN();
  p.m = format.getM();
  p.v = format.getV();
  if (p.n != 1 && p.n != p.m)
    return op.emitOpError()
           << "the kernel supports n = 1 or n = m, got n = " << p.n
           << ", m = " << p.m;
  p.rowSelect = p.n < p.m;
  p.warps = tile.getWarps();
  p.tokens = tile.getTokens();
  p.kTile = tile.getK();
  p.stages = tile.getStages();
  p.tokenWarps = tile.getTokenWarps();
  p.rowTiles = tile.getRowTiles();
  p.masked = p.rowSelect && tile.getRowMasks() == 1;
  p.gather = static_cast<bool>(op.getTokens());
  p.siluMul = op.getEpilogue() == EpilogueKind::SiluMul;
  p.act = GatedActivation::of(op);
  p.bias = static_cast<bool>(op.getBias());
  p.elt = wType.getElementType();
  p.strategy = tile.getStrategy();
  takeDecodeTile(p, tile, variant, split, mid);
  takeWideTile(p, tile, variant);
  takeSplitOrPersistentTile(p, tile, variant, split, mid);
  deriveSizes(p, op, tile, split);
  if (failed(checkKTiling(p, op, mid)))
    return failure();
  return p;
}

int64_t mlir::samoyeds::detail::byteSize(MemRefType t) {
  return t.getNumElements() * t.getElementTypeBitWidth() / 8;
}

const MmaLowering &
mlir::samoyeds::detail::getMmaLowering(MmaStrategy strategy) {
  switch (strategy) {
  case MmaStrategy::MmaSp:
    return getMmaSpLowering();
  case MmaStrategy::WgmmaSp:
    return getWgmmaSpLowering();
  }
  llvm_unreachable("unknown MMA strategy");
}
