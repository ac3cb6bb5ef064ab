//===- WgmmaSpLayout.h - Shared memory of the wgmma_sp kernel ---*- C++ -*-===//
//
// Private to the SamoyedsToGPU conversion: the static layout of the Hopper
// warpgroup strategy's block, shared by its lowering (WgmmaSpKernel.cpp) and
// its main loop and epilogue (WgmmaSpMainLoop.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_WGMMASPLAYOUT_H
#define SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_WGMMASPLAYOUT_H

#include "SSMMPlan.h"

namespace mlir::samoyeds::detail {

/// Facts of wgmma.mma_async.sp m64nNk32 on 16-bit types and of the packed
/// `wgmma` weight layout (docs/Format.md).
struct Wgmma {
  /// Threads of a warpgroup; kept rows of one warpgroup's unit (the MMA's M).
  static constexpr int64_t kThreads = 128, kRows = WeightAttr::kWgmmaTileRows;
  /// One swizzled weight block: 64 kept rows by 128 dense columns (64
  /// compressed values, 128 bytes a row), 4 MMA K steps.
  static constexpr int64_t kBlockCols = WeightAttr::kWgmmaBlockCols,
                           kBlockBytes = TileConfigAttr::kWgmmaBlockBytes,
                           kStepsPerBlock = 4;
  /// Metadata of one unit and K step: 4 warps × 16 words.
  static constexpr int64_t kMetaStepBytes = TileConfigAttr::kWgmmaMetaStepBytes;
  /// 16-byte chunks of one 128-byte row of a swizzled B column block (64
  /// 16-bit columns); chunk j of row r sits at j ^ (r % 8).
  static constexpr int64_t kChunksPerRow = 8;
  /// Bytes of one token row of a B column block: 8 rows are a swizzle atom.
  static constexpr int64_t kBRowBytes = 128;
  /// 128-byte swizzle: tiles start on 1024-byte boundaries.
  static constexpr int64_t kSwizzleAlign = TileConfigAttr::kWgmmaSmemAlign;
};

/// Byte offsets of the block's buffers from its 1024-aligned shared-memory
/// base (the runtime's dynamic shared memory is only 16-byte aligned, so the
/// block asks for kSwizzleAlign more and aligns at run time):
///   A ring    [stage][unit][kTile / 128 blocks of 8 KB]   (bulk copies)
///   B ring    [stage][kTile / 64 column blocks][tokens][128 B, swizzled]
///   meta ring [stage][unit][k step][4 warps][16 words]   (bulk copies)
///   row choices [stage][unit][span][64 kept rows] bytes   (row
///             selection; bulk copies)
///   exchange  [unit of a half][set][value][thread] f32   (SiLU·up)
///   mbarriers [2 or 3][stage]   a full and an empty barrier per slot, and
///             in a cluster the barrier of the block's own gathers
/// The SiLU·up epilogue hands the up accumulators over through the exchange.
/// A block of one tile reuses the rings for it (its K loop is over); a
/// persistent block's producer fills the rings with the next tile meanwhile,
/// so the exchange gets its own space and the ring as many of the tile's
/// `stages` slots as fit beside it.
struct WgmmaSpLayout {
  /// Consumer warpgroups; 64-row units of the block (unitsPerWarpgroup a
  /// consumer), of one half.
  int64_t consumers, units, unitsPerHalf, sets, stages, cluster,
      barriersPerSlot;
  bool packed;
  int64_t aStage, bStage, metaStage, choiceStage;
  int64_t aRing, bRing, metaRing, choiceRing, exchangeAt, exchange, barriers,
      bytes;

  explicit WgmmaSpLayout(const SSMMPlan &p) {
    consumers = p.warps / 4;
    units = consumers * p.unitsPerWarpgroup;
    unitsPerHalf = units / p.halves;
    // With row selection m sets: routed, the running sum and the sums of
    // group rows 1 … m - 1; masked, one per 64-row tile of the unit's group
    // rows.
    sets = TileConfigAttr::wgmmaAccumulatorSets(
        SparseFormatAttr::get(p.elt.getContext(), p.n, p.m, p.v));
    aStage = p.kTile / Wgmma::kBlockCols * Wgmma::kBlockBytes;
    metaStage = p.kTile / 32 * Wgmma::kMetaStepBytes;
    choiceStage = choiceSpans(p) * TileConfigAttr::kWgmmaRowChoiceBytes;
    bStage = p.tokens * p.kTile * 2;
    // Unit pairs form SiLU·up in the registers of one warpgroup.
    exchange = p.siluMul && !pairsGateUp(p)
                   ? TileConfigAttr::wgmmaExchangeBytes(
                         unitsPerHalf, p.accsPerValue(), p.tokens)
                   : 0;
    stages = p.stages;
    cluster = p.cluster;
    // A cluster's own gathers complete on a third barrier; packed rows
    // arrive by bulk copies on the full one.
    packed = p.packed;
    barriersPerSlot = cluster > 1 && !packed ? 3 : 2;
    // The wide variant's ring keeps as many of the tile's slots as fit (the
    // exchange reuses it, as in every ordinary grid); the persistent one's
    // as fit beside its own exchange.
    int64_t budget = getLargestChip().smemPerResidentBlock(p.blocksPerSM) -
                     Wgmma::kSwizzleAlign;
    int64_t slotBytes = TileConfigAttr::wgmmaSlotBytes(units, p.tokens, p.kTile,
                                                       choiceSpans(p)) +
                        (barriersPerSlot - 2) * 8;
    if (p.wide)
      stages = TileConfigAttr::wgmmaStages(budget, 0, slotBytes, p.stages);
    if (p.ownWarps)
      stages = TileConfigAttr::wgmmaStages(budget, 0, slotBytes,
                                           TileConfigAttr::kWgmmaMaxStages);
    // Blocks sharing an SM: as many of those slots as their share holds.
    if (p.blocksPerSM > 1)
      stages = TileConfigAttr::wgmmaStages(budget, 0, slotBytes, stages);
    if (p.persistent > 0)
      stages =
          TileConfigAttr::wgmmaStages(budget, exchange, slotBytes, p.stages);
    aRing = 0;
    bRing = aRing + stages * units * aStage;
    metaRing = bRing + stages * bStage;
    choiceRing = metaRing + stages * units * metaStage;
    int64_t rings = choiceRing + stages * units * choiceStage;
    // TileConfigAttr::wgmmaSlotBytes, which select-tiles sizes the ring by,
    // is this per slot: units * (aStage + metaStage + choiceStage) + bStage
    // + 2 mbarriers.
    exchangeAt = p.persistent > 0 ? rings : 0;
    barriers = std::max(rings, exchangeAt + exchange);
    bytes = Wgmma::kSwizzleAlign + barriers + barriersPerSlot * stages * 8;
  }
  /// Spans whose row choices a ring slot holds (row selection).
  static int64_t choiceSpans(const SSMMPlan &p) {
    return TileConfigAttr::wgmmaChoiceSpans(p.v, p.kTile, p.rowSelect);
  }
  /// 64-row tiles of (stored) kept rows in each half.
  static int64_t tilesPerHalf(const SSMMPlan &p) {
    return p.storedKeptRows / p.halves / Wgmma::kRows;
  }
  /// Blocks along the kept rows of one half (grid x of the ordinary grid),
  /// the last with fewer live units where they do not divide the tiles
  /// (hasUnitTails).
  int64_t rowBlocks(const SSMMPlan &p) const {
    return llvm::divideCeil(tilesPerHalf(p), unitsPerHalf);
  }
  /// Whether the last row block's units run past the half (its units past
  /// the half repeat the half's last tile, storing what that tile's own
  /// unit stores).
  bool hasUnitTails(const SSMMPlan &p) const {
    return tilesPerHalf(p) % unitsPerHalf != 0;
  }
  /// Bytes the bulk copies of one stage bring (the mbarrier's tx count):
  /// the weights and, in a cluster, the token rows the peers gathered (all
  /// token rows where they are packed).
  int64_t stageTxBytes() const {
    return units * (aStage + metaStage + choiceStage) + bStage - ownBStage();
  }
  /// Bytes of a B stage this block gathers itself: its 1 / cluster of the
  /// token rows of every column block (none where they are packed).
  int64_t ownBStage() const { return packed ? 0 : bStage / cluster; }
  /// Threads: a producer warpgroup and the consumer warpgroups.
  int64_t threads() const { return (consumers + 1) * Wgmma::kThreads; }
  /// Registers per thread the consumers raise to (setmaxnreg).
  int64_t consumerRegs(const SSMMPlan &p) const {
    return TileConfigAttr::wgmmaConsumerRegs(consumers, p.blocksPerSM);
  }
  /// Registers per thread the producer warpgroup keeps.
  int64_t producerRegs(const SSMMPlan &p) const {
    return TileConfigAttr::wgmmaProducerRegs(consumers, p.blocksPerSM);
  }
  /// Whether each consumer warpgroup owns the gate and the up unit of the
  /// same kept rows (SiLU·up with unit pairs): consumer c units c and
  /// c + consumers.
  static bool pairsGateUp(const SSMMPlan &p) {
    return p.siluMul && p.unitsPerWarpgroup == 2;
  }
  /// Accumulators each thread holds per set.
  static int64_t regs(const SSMMPlan &p) { return p.tokens / 2; }
  /// Group rows of a kept row stored by one vector store: with routed row
  /// selection the m group rows of a kept row are adjacent output elements,
  /// m-aligned, stored together where m is a power of two of at most 16
  /// bytes; 1 otherwise.
  static int64_t rowsPerStore(const SSMMPlan &p) {
    int64_t bytes = p.m * p.outElt.getIntOrFloatBitWidth() / 8;
    bool routed = p.rowSelect && !p.masked;
    return routed && llvm::isPowerOf2_64(p.m) && bytes <= 16 ? p.m : 1;
  }
};

/// Checks the rules of a K that the wgmma layout pads (SSMMPlan::padsK):
/// an unpacked input; reports on `op`.
LogicalResult verifyPaddedK(SSMMOp op, const SSMMPlan &p);

} // namespace mlir::samoyeds::detail

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_WGMMASPLAYOUT_H
