//===- SamoyedsAttrs.cpp - Samoyeds attribute verifiers -------------------===//

#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"

using namespace mlir;
using namespace mlir::samoyeds;

LogicalResult
SparseFormatAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         int64_t n, int64_t m, int64_t v) {
  if (m < 1 || m > kMaxM)
    return emitError() << "#samoyeds.ss: m = " << m << " must be in [1, "
                       << kMaxM << "]";
  if (n < 1 || n > m)
    return emitError() << "#samoyeds.ss: n = " << n
                       << " must be in [1, m = " << m << "]";
  if (v <= 0 || v % kMmaK != 0)
    return emitError() << "#samoyeds.ss: v = " << v
                       << " must be a positive multiple of the mma.sp K step ("
                       << kMmaK << ")";
  return success();
}

LogicalResult SparseFormatAttr::verifyWeightShape(
    function_ref<InFlightDiagnostic()> emitError, int64_t rows,
    int64_t cols) const {
  // An empty weight multiplies nothing; its tile rules would divide by its
  // row blocks.
  if (cols == 0 || rows == 0)
    return emitError() << "weight has " << rows << " rows and " << cols
                       << " columns; it needs at least one of each";
  if (!ShapedType::isDynamic(cols) && cols % getV() != 0)
    return emitError() << "weight has " << cols
                       << " columns, not a multiple of the span v = " << getV();
  if (ShapedType::isDynamic(rows))
    return success();
  if (rows % getM() != 0)
    return emitError() << "weight has " << rows
                       << " rows, not a multiple of the group size m = "
                       << getM();
  int64_t kept = rows / getM() * getN();
  if (kept % kMmaRows != 0)
    return emitError() << "weight keeps " << kept << " of its " << rows
                       << " rows, not a multiple of the " << kMmaRows
                       << "-row mma.sp tile";
  return success();
}

/// The rules the warpgroup (wgmma_sp) strategy adds to a tile.
static LogicalResult
verifyWgmmaTile(function_ref<InFlightDiagnostic()> emitError, int64_t warps,
                int64_t k, int64_t stages, int64_t tokenWarps, int64_t rowTiles,
                int64_t rowMasks, int64_t persistent) {
  if (warps % 4 != 0)
    return emitError() << "#samoyeds.tile: warps = " << warps
                       << " must be whole warpgroups (a multiple of 4) with "
                          "strategy wgmma_sp";
  if (k % 128 != 0)
    return emitError() << "#samoyeds.tile: k = " << k
                       << " must be a multiple of 128 (one swizzled weight "
                          "block) with strategy wgmma_sp";
  if (stages < 2)
    return emitError() << "#samoyeds.tile: stages = " << stages
                       << " must be at least 2 with strategy wgmma_sp";
  if (tokenWarps != 1 || rowTiles != 1)
    return emitError() << "#samoyeds.tile: token_warps and row_tiles belong "
                          "to strategy mma_sp";
  if (persistent > 1)
    return emitError() << "#samoyeds.tile: persistent = " << persistent
                       << " must be 0 or 1 with strategy wgmma_sp (its block "
                          "fills an SM)";
  return success();
}

/// Whether `warps` is a variant's own warp count of wgmma_sp: one to four
/// consumer warpgroups.
static constexpr bool isWarpgroupWarps(int64_t warps) {
  return warps % 4 == 0 && warps >= 4 && warps <= 16;
}

/// The second width's own warps and calls (wide_low_warps, wide_low_calls):
/// a wgmma_sp warp count and ascending, separated slot ranges from
/// wide_slots, with a second width, in place of wide_low_slots, without a
/// packed input or multicast.
static LogicalResult
verifyWideLowCalls(function_ref<InFlightDiagnostic()> emitError,
                   int64_t wideSlots, int64_t lowTokens, int64_t lowSlots,
                   int64_t lowWarps, DenseI64ArrayAttr calls,
                   int64_t widePacked, int64_t wideMulticast) {
  if (lowWarps != 0 && (!isWarpgroupWarps(lowWarps) || lowTokens == 0))
    return emitError() << "#samoyeds.tile: wide_low_warps = " << lowWarps
                       << " must be 0, or 4, 8, 12 or 16 with "
                          "wide_low_tokens > 0";
  if (!calls || calls.empty())
    return success();
  ArrayRef<int64_t> bounds = calls.asArrayRef();
  if (lowTokens == 0 || lowSlots != 0 || widePacked != 0 || wideMulticast != 1)
    return emitError() << "#samoyeds.tile: wide_low_calls needs "
                          "wide_low_tokens > 0, wide_low_slots = 0, "
                          "wide_packed = 0 and wide_multicast = 1";
  int64_t most = TileConfigAttr::kMaxWideLowCalls;
  if (bounds.size() % 2 != 0 || int64_t(bounds.size()) > 2 * most)
    return emitError() << "#samoyeds.tile: wide_low_calls has " << bounds.size()
                       << " bounds; it needs pairs of bounds, at most " << most
                       << " ranges";
  int64_t from = wideSlots;
  for (size_t i = 0; i < bounds.size(); i += 2) {
    if (bounds[i] < from || bounds[i + 1] < bounds[i] ||
        bounds[i + 1] > TileConfigAttr::kMaxSlotBound)
      return emitError() << "#samoyeds.tile: wide_low_calls range " << i / 2
                         << " = [" << bounds[i] << ", " << bounds[i + 1]
                         << "] must start at " << from
                         << " or later and end at or after its start, at "
                            "most 2^30";
    from = bounds[i + 1] + 2;
  }
  return success();
}

/// Masked wide rows (wide_row_masks): a wgmma_sp tile's wide widths of
/// single units on the ordinary grid, whose other variants route.
static LogicalResult
verifyWideRowMasks(function_ref<InFlightDiagnostic()> emitError,
                   int64_t wideRowMasks, int64_t rowMasks, int64_t wideTokens,
                   int64_t wideUnits, int64_t wideCluster,
                   int64_t wideMulticast, int64_t widePacked,
                   int64_t widePersistent, MmaStrategy strategy) {
  if (wideRowMasks == 0)
    return success();
  if (wideRowMasks != 1 || rowMasks != 0 || wideTokens == 0 || wideUnits != 1 ||
      wideCluster != 1 || wideMulticast != 1 || widePacked != 0 ||
      widePersistent != 0 || strategy != MmaStrategy::WgmmaSp)
    return emitError() << "#samoyeds.tile: wide_row_masks = " << wideRowMasks
                       << " must be 0, or 1 with wide_tokens > 0, row_masks "
                          "= 0, wide_units = 1, wide_cluster = 1, "
                          "wide_multicast = 1, wide_packed = 0, "
                          "wide_persistent = 0 and strategy wgmma_sp";
  return success();
}

/// The second wide width (wide_low_tokens, wide_low_slots): a wgmma_sp
/// tile's with a wide variant and no clusters, a token count the wide
/// variant could take other than its own, calls from wide_slots.
static LogicalResult verifyWideLow(function_ref<InFlightDiagnostic()> emitError,
                                   int64_t tokens, int64_t tokenWarps,
                                   int64_t wideTokens, int64_t wideSlots,
                                   int64_t wideCluster, int64_t lowTokens,
                                   int64_t lowSlots, MmaStrategy strategy) {
  if (lowTokens == 0 && lowSlots != 0)
    return emitError() << "#samoyeds.tile: wide_low_slots = " << lowSlots
                       << " needs wide_low_tokens > 0";
  if (lowTokens == 0)
    return success();
  if (lowTokens <= tokens || lowTokens > 256 ||
      lowTokens % (8 * tokenWarps) != 0 || lowTokens == wideTokens ||
      wideTokens == 0 || wideCluster != 1 || strategy != MmaStrategy::WgmmaSp)
    return emitError() << "#samoyeds.tile: wide_low_tokens = " << lowTokens
                       << " must be 0, or a multiple of 8 x token_warps in "
                          "(tokens, 256] other than wide_tokens, with "
                          "wide_tokens > 0, wide_cluster = 1 and strategy "
                          "wgmma_sp";
  if (lowSlots < wideSlots || lowSlots > TileConfigAttr::kMaxSlotBound)
    return emitError() << "#samoyeds.tile: wide_low_slots = " << lowSlots
                       << " must be in [wide_slots = " << wideSlots
                       << ", 2^30] with wide_low_tokens > 0";
  return success();
}

/// setmaxnreg moves registers only within a block: the producer's and the
/// consumers' registers must fit what every count of consumer warpgroups
/// launches with, or the consumers' setmaxnreg.inc waits forever.
static constexpr bool wgmmaRegistersFit(int64_t units, int64_t blocks) {
  int64_t producer = TileConfigAttr::wgmmaProducerRegs(units, blocks);
  int64_t consumers = TileConfigAttr::wgmmaConsumerRegs(units, blocks) * units;
  return producer >= TileConfigAttr::kWgmmaMinProducerRegs &&
         (producer + consumers) * 128 <=
             TileConfigAttr::wgmmaLaunchRegs(units, blocks) * (units + 1) * 128;
}
static_assert(wgmmaRegistersFit(1, 1) && wgmmaRegistersFit(2, 1) &&
                  wgmmaRegistersFit(3, 1) && wgmmaRegistersFit(4, 1) &&
                  wgmmaRegistersFit(1, 2) && wgmmaRegistersFit(2, 2),
              "wgmma_sp register split exceeds the block's launch registers");

LogicalResult TileConfigAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, int64_t warps, int64_t tokens,
    int64_t k, int64_t stages, int64_t tokenWarps, int64_t rowTiles,
    int64_t rowMasks, int64_t splitK, int64_t splitSlots, int64_t persistent,
    int64_t persistentSlots, int64_t persistentTokens, int64_t decodeTokens,
    int64_t decodeSlots, int64_t decodeWarps, int64_t decodeStages,
    int64_t splitBlocks, int64_t sharedSlots, int64_t wideTokens,
    int64_t wideSlots, int64_t groupTiles, int64_t splitPersistent,
    int64_t wideCluster, int64_t wideWarps, int64_t persistentWarps,
    int64_t widePacked, int64_t tokenStep, int64_t midSplitK,
    int64_t midSplitSlots, int64_t evictFirstExperts, int64_t wideLowTokens,
    int64_t wideLowSlots, int64_t wideUnits, int64_t persistentUnits,
    int64_t persistentUnitsSlots, int64_t wideMulticast,
    int64_t wideMulticastSlots, int64_t widePersistent, int64_t wideLowWarps,
    int64_t wideRowMasks, DenseI64ArrayAttr wideLowCalls,
    MmaStrategy strategy) {
  if (warps < 1 || warps > 16)
    return emitError() << "#samoyeds.tile: warps = " << warps
                       << " must be in [1, 16]";
  int64_t maxTokens = strategy == MmaStrategy::WgmmaSp ? 256 : 128;
  int64_t quantum = TileConfigAttr::kTokenQuantum;
  if (tokens < quantum || tokens > maxTokens || tokens % quantum != 0)
    return emitError() << "#samoyeds.tile: tokens = " << tokens
                       << " must be a multiple of " << quantum << " in ["
                       << quantum << ", " << maxTokens << "]";
  if (k < 32 || k > 256 || k % 32 != 0)
    return emitError() << "#samoyeds.tile: k = " << k
                       << " must be a multiple of 32 in [32, 256]";
  if (stages < 1 || stages > 8)
    return emitError() << "#samoyeds.tile: stages = " << stages
                       << " must be in [1, 8]";
  if (tokenWarps < 1 || tokenWarps > 8)
    return emitError() << "#samoyeds.tile: token_warps = " << tokenWarps
                       << " must be in [1, 8]";
  if (tokens % (8 * tokenWarps) != 0)
    return emitError() << "#samoyeds.tile: tokens = " << tokens
                       << " must split into " << tokenWarps
                       << " token_warps slices of a multiple of 8";
  if (warps * tokenWarps > 32)
    return emitError() << "#samoyeds.tile: warps × token_warps = "
                       << warps * tokenWarps
                       << " is more than the 32 warps of a block";
  if (rowTiles < 1 || rowTiles > 4)
    return emitError() << "#samoyeds.tile: row_tiles = " << rowTiles
                       << " must be in [1, 4]";
  if (rowMasks != 0 && rowMasks != 1)
    return emitError() << "#samoyeds.tile: row_masks = " << rowMasks
                       << " must be 0 or 1";
  if (splitK < 1 || splitK > 16)
    return emitError() << "#samoyeds.tile: split_k = " << splitK
                       << " must be in [1, 16]";
  if (splitK == 1 && splitSlots != 0)
    return emitError() << "#samoyeds.tile: split_slots = " << splitSlots
                       << " needs split_k > 1";
  if (splitK > 1 && (splitSlots < 1 || splitSlots > 4096))
    return emitError() << "#samoyeds.tile: split_slots = " << splitSlots
                       << " must be in [1, 4096] with split_k = " << splitK;
  if (persistent < 0 || persistent > 32)
    return emitError() << "#samoyeds.tile: persistent = " << persistent
                       << " must be in [0, 32]";
  if (persistent == 0 && persistentSlots != 0)
    return emitError() << "#samoyeds.tile: persistent_slots = "
                       << persistentSlots << " needs persistent > 0";
  if (persistentSlots < 0 || persistentSlots > TileConfigAttr::kMaxSlotBound)
    return emitError() << "#samoyeds.tile: persistent_slots = "
                       << persistentSlots << " must be in [0, 2^30]";
  if (persistent == 0 && persistentTokens != 0)
    return emitError() << "#samoyeds.tile: persistent_tokens = "
                       << persistentTokens << " needs persistent > 0";
  if (persistentTokens != 0 &&
      (persistentTokens < 8 || persistentTokens > maxTokens ||
       persistentTokens % (8 * tokenWarps) != 0))
    return emitError() << "#samoyeds.tile: persistent_tokens = "
                       << persistentTokens << " must be a multiple of "
                       << 8 * tokenWarps << " in [8, " << maxTokens << "]";
  if (decodeTokens != 0 && (decodeTokens < 8 || decodeTokens >= tokens ||
                            decodeTokens % (8 * tokenWarps) != 0))
    return emitError() << "#samoyeds.tile: decode_tokens = " << decodeTokens
                       << " must be a multiple of " << 8 * tokenWarps
                       << " below tokens = " << tokens;
  if (decodeTokens == 0 && decodeSlots != 0)
    return emitError() << "#samoyeds.tile: decode_slots = " << decodeSlots
                       << " needs decode_tokens > 0";
  if (decodeSlots < 0 || decodeSlots > TileConfigAttr::kMaxSlotBound)
    return emitError() << "#samoyeds.tile: decode_slots = " << decodeSlots
                       << " must be in [0, 2^30]";
  if (decodeWarps != 0 &&
      (decodeTokens == 0 || (strategy == MmaStrategy::WgmmaSp
                                 ? !isWarpgroupWarps(decodeWarps)
                                 : decodeWarps < 1 || decodeWarps > 16)))
    return emitError() << "#samoyeds.tile: decode_warps = " << decodeWarps
                       << " must be 0, or with decode_tokens > 0 in [1, 16] "
                          "(strategy mma_sp) or 4, 8, 12 or 16 (wgmma_sp)";
  if (strategy == MmaStrategy::MmaSp && decodeWarps * tokenWarps > 32)
    return emitError() << "#samoyeds.tile: decode_warps × token_warps = "
                       << decodeWarps * tokenWarps
                       << " is more than the 32 warps of a block";
  if (decodeStages != 0 &&
      (decodeTokens == 0 || strategy != MmaStrategy::MmaSp ||
       decodeStages < 1 || decodeStages > 8))
    return emitError() << "#samoyeds.tile: decode_stages = " << decodeStages
                       << " must be 0, or with decode_tokens > 0 and "
                          "strategy mma_sp in [1, 8]";
  if (splitBlocks != 1 &&
      (splitBlocks != 2 ||
       !splitTakesDecodeTile(splitK, splitSlots, decodeTokens, decodeSlots) ||
       strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: split_blocks = " << splitBlocks
                       << " must be 1, or 2 with strategy wgmma_sp and a "
                          "split-K variant that takes the decode tile "
                          "(split_slots <= decode_slots)";
  if (sharedSlots != 0 && (sharedSlots < 1 || sharedSlots > decodeSlots ||
                           strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: shared_slots = " << sharedSlots
                       << " must be 0, or with strategy wgmma_sp in [1, "
                          "decode_slots = "
                       << decodeSlots << "]";
  if (wideTokens != 0 && (wideTokens <= tokens || wideTokens > maxTokens ||
                          wideTokens % (8 * tokenWarps) != 0))
    return emitError() << "#samoyeds.tile: wide_tokens = " << wideTokens
                       << " must be a multiple of " << 8 * tokenWarps
                       << " above tokens = " << tokens << " and at most "
                       << maxTokens;
  if (persistentWarps != 0 &&
      (!isWarpgroupWarps(persistentWarps) || wideTokens == 0 ||
       persistent == 0 || persistentSlots == 0 ||
       strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: persistent_warps = "
                       << persistentWarps
                       << " must be 0, or a multiple of 4 in [4, 16] with "
                          "wide_tokens > 0, persistent > 0, persistent_slots "
                          "> 0 and strategy wgmma_sp";
  if (wideTokens != 0 && persistent != 0 &&
      (strategy != MmaStrategy::WgmmaSp ||
       (persistentWarps == 0 &&
        (persistentSlots != 0 || persistentTokens != 0))))
    return emitError() << "#samoyeds.tile: wide_tokens = " << wideTokens
                       << " with persistent = " << persistent
                       << " needs strategy wgmma_sp and persistent_slots = "
                          "persistent_tokens = 0 (the wide variant serves the "
                          "large calls, the persistent grid those below) "
                          "unless persistent_warps > 0";
  if ((wideTokens == 0) != (wideSlots == 0))
    return emitError() << "#samoyeds.tile: wide_slots = " << wideSlots
                       << (wideTokens == 0 ? " needs wide_tokens > 0"
                                           : " must be at least 1 with "
                                             "wide_tokens > 0");
  if (wideSlots < 0 || wideSlots > TileConfigAttr::kMaxSlotBound)
    return emitError() << "#samoyeds.tile: wide_slots = " << wideSlots
                       << " must be in [0, 2^30]";
  if (groupTiles < 1 || groupTiles > 64)
    return emitError() << "#samoyeds.tile: group_tiles = " << groupTiles
                       << " must be in [1, 64]";
  if (splitPersistent != 0 &&
      (splitPersistent != 1 || splitK < 2 || strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: split_persistent = "
                       << splitPersistent
                       << " must be 0, or 1 with split_k > 1 and strategy "
                          "wgmma_sp";
  if (wideCluster != 1 &&
      (wideCluster != 2 || wideTokens == 0 ||
       wideTokens % (8 * wideCluster) != 0 || strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: wide_cluster = " << wideCluster
                       << " must be 1, or 2 with strategy wgmma_sp and "
                          "wide_tokens a multiple of 16 (whole 8-row halves)";
  if (wideWarps != 0 && (!isWarpgroupWarps(wideWarps) || wideTokens == 0 ||
                         strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: wide_warps = " << wideWarps
                       << " must be 0, or a multiple of 4 in [4, 16] with "
                          "wide_tokens > 0 and strategy wgmma_sp";
  if (wideUnits != 1 && (wideUnits != 2 || wideTokens == 0 || rowMasks != 0 ||
                         strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: wide_units = " << wideUnits
                       << " must be 1, or 2 with wide_tokens > 0, "
                          "row_masks = 0 and strategy wgmma_sp";
  if (wideMulticast != 1 &&
      (wideMulticast != 2 || wideTokens == 0 || wideCluster != 1 ||
       strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: wide_multicast = " << wideMulticast
                       << " must be 1, or 2 with wide_tokens > 0, "
                          "wide_cluster = 1 and strategy wgmma_sp";
  if (wideMulticastSlots != 0 &&
      (wideMulticastSlots < 0 || wideMulticastSlots > (1 << 20) ||
       wideMulticast == 1))
    return emitError() << "#samoyeds.tile: wide_multicast_slots = "
                       << wideMulticastSlots
                       << " must be 0, or in [1, 1048576] with "
                          "wide_multicast > 1";
  // A second width that takes its calls by wide_low_calls leaves the wide
  // variant's calls to `_wide` alone between and above its ranges.
  bool lowCalls = wideLowCalls && !wideLowCalls.empty();
  if (widePersistent != 0 &&
      (widePersistent != 1 || wideTokens == 0 ||
       (wideLowTokens != 0 && !lowCalls) || wideCluster != 1 ||
       wideMulticast != 1 || widePacked != 0 ||
       strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: wide_persistent = " << widePersistent
                       << " must be 0, or 1 with wide_tokens > 0, "
                          "wide_low_tokens = 0 or wide_low_calls, "
                          "wide_cluster = 1, "
                          "wide_multicast = 1, wide_packed = 0 and strategy "
                          "wgmma_sp";
  if (persistentUnits != 1 &&
      (persistentUnits != 2 || persistent != 1 || rowMasks != 0 ||
       strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: persistent_units = "
                       << persistentUnits
                       << " must be 1, or 2 with persistent = 1, row_masks = "
                          "0 and strategy wgmma_sp";
  // The split is the upper grid's (the tile's warps, at most two consumer
  // warpgroups, which pairs take) above a grid of more warps, which keeps
  // single units.
  if (persistentUnitsSlots != 0 &&
      (persistentUnits != 2 || warps > 8 || persistentWarps <= 8 ||
       persistentUnitsSlots <= persistentSlots ||
       persistentUnitsSlots > TileConfigAttr::kMaxSlotBound))
    return emitError() << "#samoyeds.tile: persistent_units_slots = "
                       << persistentUnitsSlots
                       << " must be 0, or in (persistent_slots, "
                       << TileConfigAttr::kMaxSlotBound
                       << "] with persistent_units = 2, warps <= 8 and "
                          "persistent_warps > 8 (which needs a wide variant)";
  // The packed input is the wide variant's, or without one the persistent
  // grid's of the large calls.
  bool packable = wideTokens > 0 || persistent > 0;
  if (widePacked != 0 &&
      (widePacked != 1 || !packable || strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: wide_packed = " << widePacked
                       << " must be 0, or 1 with wide_tokens > 0 or "
                          "persistent > 0 and strategy wgmma_sp";
  if (tokenStep != 0 &&
      (tokenStep < 0 || tokenStep % kTokenQuantum != 0 || tokenStep > 256 ||
       wideCluster != 1 || strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: token_step = " << tokenStep
                       << " must be 0, or a multiple of " << kTokenQuantum
                       << " in [" << kTokenQuantum
                       << ", 256] with strategy wgmma_sp and wide_cluster = 1";
  if (midSplitK == 1 && midSplitSlots != 0)
    return emitError() << "#samoyeds.tile: mid_split_slots = " << midSplitSlots
                       << " needs mid_split_k > 1";
  if (midSplitK != 1 &&
      (midSplitK < 2 || midSplitK >= splitK || splitPersistent != 0 ||
       strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: mid_split_k = " << midSplitK
                       << " must be 1, or in [2, split_k) with strategy "
                          "wgmma_sp and split_persistent = 0";
  if (midSplitK > 1 && (midSplitSlots <= splitSlots || midSplitSlots > 4096))
    return emitError() << "#samoyeds.tile: mid_split_slots = " << midSplitSlots
                       << " must be in (split_slots = " << splitSlots
                       << ", 4096] with mid_split_k = " << midSplitK;
  if (evictFirstExperts != 0 &&
      (evictFirstExperts < 0 || strategy != MmaStrategy::WgmmaSp))
    return emitError() << "#samoyeds.tile: evict_first_experts = "
                       << evictFirstExperts
                       << " must be 0, or positive with strategy wgmma_sp";
  if (failed(verifyWideLow(emitError, tokens, tokenWarps, wideTokens, wideSlots,
                           wideCluster, wideLowTokens,
                           lowCalls && wideLowTokens > 0 ? wideSlots
                                                         : wideLowSlots,
                           strategy)) ||
      failed(verifyWideLowCalls(emitError, wideSlots, wideLowTokens,
                                wideLowSlots, wideLowWarps, wideLowCalls,
                                widePacked, wideMulticast)) ||
      failed(verifyWideRowMasks(emitError, wideRowMasks, rowMasks, wideTokens,
                                wideUnits, wideCluster, wideMulticast,
                                widePacked, widePersistent, strategy)))
    return failure();
  if (strategy == MmaStrategy::WgmmaSp)
    return verifyWgmmaTile(emitError, warps, k, stages, tokenWarps, rowTiles,
                           rowMasks, persistent);
  return success();
}

SparseFormatAttr mlir::samoyeds::getSparseFormat(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return {};
  return dyn_cast_or_null<SparseFormatAttr>(tensor.getEncoding());
}
