//===- SelectTiles.cpp - Choose expert-matmul tile shapes -----------------===//
//
// The samoyeds-select-tiles pass and the rules both strategies' tiles use
// (group order, evict_first, decode tile, split-K variants); the tiles
// themselves are chosen in SelectMmaSpTile.cpp and SelectWgmmaTile.cpp
// (docs/TileChoice.md).
//
//===----------------------------------------------------------------------===//

#include "SelectTilesRules.h"
#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"

#include <algorithm>
#include <limits>

namespace mlir::samoyeds {
#define GEN_PASS_DEF_SAMOYEDSSELECTTILES
#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h.inc"
} // namespace mlir::samoyeds

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::select_tiles;

namespace mlir::samoyeds::select_tiles {

/// One expert's packed weight of `op`, values and metadata: about 9/8 byte
/// per kept row and column.
int64_t expertBytes(SSMMOp op) {
  SparseFormatAttr format = op.getFormat();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t keptRows = wType.getDimSize(1) / format.getM() * format.getN();
  return keptRows * wType.getDimSize(2) / 8 * 9;
}

/// The block order of `op`'s ordinary grid: `groupOverride` > 0 forces it,
/// else groups of kGroupTiles token tiles where one expert's packed weight
/// (expertBytes) is more than half the L2, so a wave reads it from L2 rather
/// than streaming the whole of it once per token tile; 1 otherwise, where it
/// stays in L2 anyway (H200 layer A/B, bench/RESULTS.md §S10:
/// Mixtral 1.01-1.11x with groups of 16, the models with smaller experts
/// 0.95-1.00x).
int64_t chooseGroup(SSMMOp op, const ChipInfo &chip, int64_t groupOverride) {
  if (groupOverride > 0)
    return groupOverride;
  return 2 * expertBytes(op) > chip.l2Bytes ? kGroupTiles : 1;
}

/// The L2s of packed weights a call of the decode and split-K variants may
/// stream with the L2 evict_first policy. H200 1:2+2:4 layers,
/// same process, the policy on every decode and split-K call (bench/RESULTS.md
/// S37, run 1): 1.03-1.08x at T = 1 on six models and 1.02-1.06x at T = 16-64
/// where the call's gate/up weights made up to 4 L2s (OLMoE,
/// DeepSeek-V2-Lite), 0.97-0.99x at T = 16-64 where they made 10-25 (Mixtral,
/// Qwen2-MoE, Qwen3-235B, DeepSeek-V2).
constexpr int64_t kEvictFirstL2s = 5;

/// The most experts whose packed weights a call of `op`'s decode and
/// split-K variants may stream with the L2 evict_first policy
/// (evict_first_experts): `forced` where >= 0, else those whose packed
/// weights (expertBytes) make at most kEvictFirstL2s L2s, at most the op's.
int64_t chooseEvictFirst(SSMMOp op, const ChipInfo &chip, int64_t forced) {
  if (forced >= 0)
    return forced;
  int64_t experts =
      cast<RankedTensorType>(op.getWeight().getType()).getDimSize(0);
  return std::min(experts, kEvictFirstL2s * chip.l2Bytes /
                               std::max<int64_t>(expertBytes(op), 1));
}

/// The decode token tile (decode_tokens, decode_slots) of a tile of
/// `tokens` tokens and `tokenWarps` token warps over `experts` experts, up
/// to `slotsPerExpert` routed slots per expert: `decodeOverride` > 0 forces
/// its tokens, 0 turns it off, -1 chooses 8 tokens per token warp. A forced
/// count is rounded up to a multiple of 8 per token warp; none when it is
/// not below `tokens`.
std::pair<int64_t, int64_t> chooseDecode(int64_t tokens, int64_t tokenWarps,
                                         int64_t experts,
                                         int64_t slotsPerExpert,
                                         int64_t decodeOverride) {
  int64_t quantum = 8 * tokenWarps;
  int64_t d = decodeOverride > 0
                  ? llvm::divideCeil(decodeOverride, quantum) * quantum
              : decodeOverride == 0 ? 0
                                    : quantum;
  if (d == 0 || d >= tokens)
    return {0, 0};
  return {d, slotsPerExpert * experts};
}

/// The split-K variant (split_k, split_slots) of a tile whose blocks share an
/// SM `blocksPerSM` at a time, or (1, 0) for none; `splitOverride` > 0 forces
/// split_k (1: none). See the pass description.
std::pair<int64_t, int64_t>
chooseSplit(SSMMOp op, const ChipInfo &chip, int64_t rowBlocks, int64_t tokens,
            int64_t sliceQuantum, int64_t splitOverride, int64_t blocksPerSM,
            int64_t slotsOverride, bool persistent) {
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t experts = wType.getDimSize(0), rows = wType.getDimSize(1),
          cols = wType.getDimSize(2);
  int64_t target = blocksPerSM * chip.smCount;
  if (splitOverride == 1 || (splitOverride == 0 && rowBlocks >= target))
    return {1, 0};
  auto fits = [&](int64_t s) {
    return cols % (s * sliceQuantum) == 0 &&
           (splitOverride > 0 || cols / s >= kMinSliceCols);
  };
  int64_t split = splitOverride;
  if (split == 0) {
    split = 1;
    while (split < 8 && rowBlocks * split < target)
      split *= 2;
  }
  while (split > 1 && !fits(split))
    --split;
  if (split == 1)
    return {1, 0};
  // Slots while the unsplit grid has fewer working blocks than the target:
  // one token tile per slot up to the expert count, or ceil(P / tokens)
  // tiles for a single expert.
  // One block per SM: only while the split grid stays within two waves
  // (H200 A/B: OLMoE 2:4 at T = 1 ran four waves of short split blocks,
  // 0.62x mma_sp).
  // A persistent split grid has no waves: every call whose unsplit grid
  // has fewer blocks than SMs.
  int64_t tilesBelowTarget =
      blocksPerSM == 1 && !persistent
          ? std::max<int64_t>(1, std::min((target - 1) / rowBlocks,
                                          2 * target / (rowBlocks * split)))
          : (target - 1) / rowBlocks;
  int64_t slots = experts > 1 ? (tilesBelowTarget >= experts
                                     ? std::numeric_limits<int64_t>::max()
                                     : tilesBelowTarget)
                              : tilesBelowTarget * tokens;
  // The partial sums cost 8 bytes per slot, row and slice (f32 written and
  // read back): at most twice the weight values of the experts the slots
  // reach (H100 expert matmuls, one expert: split-K won at n <= 64 and lost
  // 10-30% at n = 256, where this bound stops it).
  SparseFormatAttr format = op.getFormat();
  slots = std::min(slots, experts * cols * format.getN() /
                              (4 * format.getM() * split));
  // A forced count keeps the partial-sum workspace bound.
  if (slotsOverride > 0)
    slots = slotsOverride;
  slots = std::min(slots, kSplitWorkspaceBytes / (split * rows * 4));
  slots = std::min<int64_t>(slots, 4096);
  if (slots < 1)
    return {1, 0};
  return {split, slots};
}

/// wgmma_sp's mid-size split-K variant (mid_split_k, mid_split_slots), or
/// (1, 0) for none: kMidSplitK slices of at least kMinMidSliceCols columns,
/// fewer than the split-K variant's, for the calls above `splitSlots` whose
/// grid of `rowBlocks` row blocks by `tokens`-token tiles fits one wave of
/// blocks (one per SM), where no decode call (up to `decodeSlots`) lies
/// above the split-K variant's. See the pass description.
std::pair<int64_t, int64_t>
chooseMidSplit(SSMMOp op, const ChipInfo &chip, int64_t rowBlocks,
               int64_t tokens, int64_t sliceQuantum, int64_t splitK,
               int64_t splitSlots, int64_t splitPersistent, int64_t decodeSlots,
               const Overrides &o) {
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t experts = wType.getDimSize(0), rows = wType.getDimSize(1),
          cols = wType.getDimSize(2);
  int64_t mid = o.midSplitK > 0 ? o.midSplitK : kMidSplitK;
  if (o.midSplitK == 1 || splitPersistent != 0 || splitK <= mid ||
      decodeSlots > splitSlots || cols % (mid * sliceQuantum) != 0 ||
      (o.midSplitK == 0 && cols / mid < kMinMidSliceCols))
    return {1, 0};
  // An expert's p slots make ceil(p / tokens) tiles, so P >= E slots make
  // at most (E - 1) + ceil((P - E + 1) / tokens): the most slots whose
  // tiles stay within one wave.
  int64_t wave = chip.smCount / (rowBlocks * mid);
  int64_t slots =
      wave < experts ? wave : (wave - experts + 1) * tokens + experts - 1;
  if (o.midSplitSlots > 0)
    slots = o.midSplitSlots;
  slots = std::min({slots, kSplitWorkspaceBytes / (mid * rows * 4),
                    static_cast<int64_t>(4096)});
  if (slots <= splitSlots)
    return {1, 0};
  return {mid, slots};
}

} // namespace mlir::samoyeds::select_tiles

namespace {
/// The attribute verifier on a tile the rules built (TileConfigAttr::get
/// does not verify).
LogicalResult verifyChosen(TileConfigAttr t,
                           function_ref<InFlightDiagnostic()> emitError) {
  return TileConfigAttr::verify(
      emitError, t.getWarps(), t.getTokens(), t.getK(), t.getStages(),
      t.getTokenWarps(), t.getRowTiles(), t.getRowMasks(), t.getSplitK(),
      t.getSplitSlots(), t.getPersistent(), t.getPersistentSlots(),
      t.getPersistentTokens(), t.getDecodeTokens(), t.getDecodeSlots(),
      t.getDecodeWarps(), t.getDecodeStages(), t.getSplitBlocks(),
      t.getSharedSlots(), t.getWideTokens(), t.getWideSlots(),
      t.getGroupTiles(), t.getSplitPersistent(), t.getWideCluster(),
      t.getWideWarps(), t.getPersistentWarps(), t.getWidePacked(),
      t.getTokenStep(), t.getMidSplitK(), t.getMidSplitSlots(),
      t.getEvictFirstExperts(), t.getWideLowTokens(), t.getWideLowSlots(),
      t.getWideUnits(), t.getPersistentUnits(), t.getPersistentUnitsSlots(),
      t.getWideMulticast(), t.getWideMulticastSlots(), t.getWidePersistent(),
      t.getWideLowWarps(), t.getWideRowMasks(), t.getWideLowCalls(),
      t.getStrategy());
}

struct SamoyedsSelectTiles
    : samoyeds::impl::SamoyedsSelectTilesBase<SamoyedsSelectTiles> {
  using Base::Base;
  /// An error about the pass's options, at the module's location (not
  /// attached to the module, whose whole text would follow it).
  InFlightDiagnostic optionError() {
    return mlir::emitError(getOperation()->getLoc());
  }
  void runOnOperation() override {
    const ChipInfo *target = lookupChip(chip);
    if (!target) {
      optionError() << "samoyeds-select-tiles: unsupported chip '" << chip
                    << "' (expected sm_80, sm_90 or "
                    << "sm_90a)";
      return signalPassFailure();
    }
    std::optional<MmaStrategy> forced;
    if (strategy != "auto") {
      forced = symbolizeMmaStrategy(strategy);
      if (!forced) {
        optionError() << "samoyeds-select-tiles: unknown strategy '" << strategy
                      << "' (expected auto, mma_sp or wgmma_sp)";
        return signalPassFailure();
      }
      if (*forced == MmaStrategy::WgmmaSp && !target->hasWgmmaSp) {
        optionError()
            << "samoyeds-select-tiles: strategy wgmma_sp needs sm_90a, not "
            << chip;
        return signalPassFailure();
      }
    }
    if (tokens != 0 &&
        failed(TileConfigAttr::verify(
            [&] { return optionError(); }, 4, tokens, 128, 2, 1,
            /*rowTiles=*/1, /*rowMasks=*/0, /*splitK=*/1, /*splitSlots=*/0,
            /*persistent=*/0, /*persistentSlots=*/0,
            /*persistentTokens=*/0, /*decodeTokens=*/0, /*decodeSlots=*/0,
            /*decodeWarps=*/0, /*decodeStages=*/0, /*splitBlocks=*/1,
            /*sharedSlots=*/0,
            /*wideTokens=*/0, /*wideSlots=*/0, /*groupTiles=*/1,
            /*splitPersistent=*/0, /*wideCluster=*/1, /*wideWarps=*/0,
            /*persistentWarps=*/0, /*widePacked=*/0, /*tokenStep=*/0,
            /*midSplitK=*/1, /*midSplitSlots=*/0, /*evictFirstExperts=*/0,
            /*wideLowTokens=*/0, /*wideLowSlots=*/0, /*wideUnits=*/1,
            /*persistentUnits=*/1, /*persistentUnitsSlots=*/0,
            /*wideMulticast=*/1,
            /*wideMulticastSlots=*/0, /*widePersistent=*/0,
            /*wideLowWarps=*/0, /*wideRowMasks=*/0,
            /*wideLowCalls=*/DenseI64ArrayAttr(),
            forced.value_or(MmaStrategy::MmaSp))))
      return signalPassFailure();
    if (rowMasks < -1 || rowMasks > 1) {
      optionError() << "samoyeds-select-tiles: row-masks = "
                    << static_cast<int64_t>(rowMasks) << " must be -1, 0 or 1";
      return signalPassFailure();
    }
    // An option outside [lo, hi] is an error that names it.
    auto inRange = [&](StringRef name, int64_t value, int64_t lo, int64_t hi) {
      if (value >= lo && value <= hi)
        return true;
      optionError() << "samoyeds-select-tiles: " << name << " = " << value
                    << " must be in [" << lo << ", " << hi << "]";
      return false;
    };
    if (!inRange("decode-tokens", decodeTokens, -1, 256) ||
        !inRange("row-tiles", rowTiles, 0, 4) ||
        !inRange("row-warps", rowWarps, 0, 16) ||
        !inRange("decode-stages", decodeStages, 0, 8) ||
        !inRange("unit-tails", unitTails, 0, 2) ||
        !inRange("pad-rows", padRows, 0, 1) ||
        !inRange("split-k", splitK, 0, 16) ||
        !inRange("split-slots", splitSlots, 0, 4096) ||
        !inRange("mid-split-k", midSplitK, 0, 16) ||
        !inRange("mid-split-slots", midSplitSlots, 0, 4096) ||
        !inRange("evict-first-experts", evictFirstExperts, -1, 1 << 20) ||
        !inRange("persistent", persistent, -1, 32) ||
        !inRange("group-tiles", groupTiles, 0, 64) ||
        !inRange("wide-tokens", wideTokens, -1, 256) ||
        !(wideSlots == -1 ||
          inRange("wide-slots (or -1)", wideSlots, 1, 1 << 20)) ||
        !inRange("warpgroups", warpgroups, 0, 4) ||
        !inRange("decode-warpgroups", decodeWarpgroups, 0, 4) ||
        !inRange("decode-slots", decodeSlots, 0, 4096) ||
        !inRange("decode-blocks", decodeBlocks, 0, 2) ||
        !inRange("split-persistent", splitPersistent, 0, 1) ||
        !inRange("wide-low-tokens", wideLowTokens, -1, 256) ||
        !(wideLowSlots == -1 ||
          inRange("wide-low-slots (or -1)", wideLowSlots, 1, 1 << 20)) ||
        !inRange("few-slots", fewSlots, -1, 4096) ||
        !inRange("wide-cluster", wideCluster, 1, 2) ||
        !(wideUnits == -1 || inRange("wide-units (or -1)", wideUnits, 1, 2)) ||
        !(persistentUnits == -1 ||
          inRange("persistent-units (or -1)", persistentUnits, 1, 2)) ||
        !inRange("late-pairs", latePairs, 0, 1) ||
        !inRange("wide-multicast", wideMulticast, 1, 2) ||
        !inRange("wide-multicast-slots", wideMulticastSlots, -1, 1 << 20) ||
        !(wideAccumulators == -1 ||
          inRange("wide-accumulators (or -1)", wideAccumulators, 8, 240)) ||
        !inRange("wide-packed", widePacked, -1, 2) ||
        !inRange("token-step", tokenStep, -1, 256) ||
        !inRange("persistent-tokens", persistentTokens, -1, 256) ||
        !inRange("wide-persistent", widePersistent, -1, 1) ||
        !inRange("wide-unit-calls", wideUnitCalls, -1, 1) ||
        !inRange("wide-row-masks", wideRowMasks, -1, 1))
      return signalPassFailure();
    if (persistentTokens == 0 ||
        (persistentTokens > 0 &&
         persistentTokens % TileConfigAttr::kTokenQuantum != 0)) {
      optionError() << "samoyeds-select-tiles: persistent-tokens = "
                    << static_cast<int64_t>(persistentTokens)
                    << " must be -1 or a positive multiple of "
                    << TileConfigAttr::kTokenQuantum;
      return signalPassFailure();
    }
    if (tokenStep > 0 && tokenStep % TileConfigAttr::kTokenQuantum != 0) {
      optionError() << "samoyeds-select-tiles: token-step = "
                    << static_cast<int64_t>(tokenStep)
                    << " must be a multiple of "
                    << TileConfigAttr::kTokenQuantum;
      return signalPassFailure();
    }
    Overrides overrides{
        tokens,           decodeTokens,     splitK,         rowTiles,
        rowMasks,         persistent,       wideTokens,     wideSlots,
        warpgroups,       decodeWarpgroups, decodeSlots,    decodeBlocks,
        splitPersistent,  wideCluster,      widePacked,     splitSlots,
        tokenStep,        midSplitK,        midSplitSlots,  evictFirstExperts,
        wideLowTokens,    wideLowSlots,     fewSlots,       wideUnits,
        persistentUnits,  latePairs,        wideMulticast,  wideMulticastSlots,
        wideAccumulators, persistentTokens, widePersistent, wideUnitCalls,
        wideRowMasks,     rowWarps,         decodeStages,   unitTails,
        padRows};
    bool invalid = false;
    getOperation()->walk([&](SSMMOp op) {
      // A dynamic weight shape cannot be compiled; the conversion says so.
      if (!cast<RankedTensorType>(op.getWeight().getType()).hasStaticShape())
        return;
      if (op.getTileAttr())
        return;
      // The warpgroup strategy wherever the chip has it and the shape fits
      // (docs/TileChoice.md).
      bool wgmma = forced ? *forced == MmaStrategy::WgmmaSp
                          : target->hasWgmmaSp && wgmmaWins(op, overrides);
      int64_t keptTiles = wgmma ? 0 : mmaSpRowTiles(op);
      if (!wgmma && rowWarps > 0 && keptTiles % rowWarps != 0) {
        op.emitOpError() << "samoyeds-select-tiles: row-warps = "
                         << static_cast<int64_t>(rowWarps)
                         << " must divide the " << keptTiles
                         << " kept 16-row tiles of each half";
        invalid = true;
        return;
      }
      int64_t group = chooseGroup(op, *target, groupTiles);
      TileConfigAttr tile = wgmma
                                ? chooseWgmmaTile(op, *target, overrides, group)
                                : chooseTile(op, *target, overrides, group);
      // A tile the rules would make invalid (hostile shapes or options) is
      // an error at the op, not an attribute the next parse rejects.
      if (failed(verifyChosen(tile, [&] {
            return op.emitOpError("samoyeds-select-tiles: ");
          }))) {
        invalid = true;
        return;
      }
      op.setTileAttr(tile);
    });
    if (invalid)
      signalPassFailure();
  }
};
} // namespace
