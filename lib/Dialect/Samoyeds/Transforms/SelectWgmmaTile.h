//===- SelectWgmmaTile.h - The parts of the wgmma_sp tile -------*- C++ -*-===//
//
// Private to samoyeds-select-tiles: what the choosers of the warpgroup
// (wgmma_sp) tile share, SelectWgmmaTile.cpp (the ordinary grid, the small
// calls' and the persistent grid's variants) and SelectWgmmaWide.cpp (the
// wide variant and its clusters, multicast and packed input).
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_DIALECT_SAMOYEDS_TRANSFORMS_SELECTWGMMATILE_H
#define SAMOYEDS_LIB_DIALECT_SAMOYEDS_TRANSFORMS_SELECTWGMMATILE_H

#include "SelectTilesRules.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::samoyeds::select_tiles {

/// Whether a wgmma_sp tile of `format` multiplies masked group rows: only
/// where `row-masks=1` asks for it. Row selection routes the kept rows' span
/// sums by default (H200 1:2+2:4 layers, same process, against masked rows:
/// bench/RESULTS.md §S20).
bool wgmmaMasked(SparseFormatAttr format, const Overrides &o);

/// Whether `op` is unmasked routed row selection on more than
/// kWgmmaFourRowsExperts experts, the weights the second wide width and the
/// few-slot four-warpgroup grid serve.
bool routedOnManyExperts(SSMMOp op, bool masked);

/// Whether a grid of unit pairs, `blocks` tiles at the first call of its
/// variant, fills three quarters of a wave of the chip's SMs: pairs halve a
/// tile's row blocks (Mixtral's 1:2+2:4 down projection would keep 64
/// blocks for 132 SMs at its wide variant's 64 slots per expert).
bool pairsFillWave(const ChipInfo &chip, int64_t blocks);

/// `perExpert` routed slots on each of `experts`, at most the tile's slot
/// bound (TileConfigAttr::kMaxSlotBound; hostile expert counts).
int64_t slotsOf(int64_t perExpert, int64_t experts);

/// Whether the wide variant's unit pairs are asked for: `wide-units` = 2,
/// or by default (-1) on every format where no clusters are (a cluster
/// takes pairs only where `wide-units` = 2 asks for them).
bool pairsAsked(const Overrides &o);

/// The facts of an op that every part of its wgmma_sp tile reads.
struct WgmmaShape {
  WgmmaShape(SSMMOp op, const Overrides &o)
      : op(op), format(op.getFormat()),
        siluMul(op.getEpilogue() == EpilogueKind::SiluMul),
        plain(format.isPlain24()), masked(wgmmaMasked(format, o)),
        gathers(static_cast<bool>(op.getTokens())) {
    auto wType = cast<RankedTensorType>(op.getWeight().getType());
    experts = wType.getDimSize(0);
    halves = siluMul ? 2 : 1;
    // A half's kept rows in whole tiles, the last padded (the wgmma
    // layouts' row padding).
    tiles = llvm::divideCeil(
        wType.getDimSize(1) / format.getM() * format.getN() / halves, 64);
    sets = TileConfigAttr::wgmmaAccumulatorSets(format);
  }
  /// The blocks of unit pairs (two consumer warpgroups of two 64-row units)
  /// that one token tile an expert makes, tiles x halves / 4 x experts, at
  /// most kMaxPairedBlocks (hostile expert counts).
  int64_t pairedBlocks() const {
    int64_t perExpert = tiles * halves / 4;
    return perExpert > 0 && experts > kMaxPairedBlocks / perExpert
               ? kMaxPairedBlocks
               : perExpert * experts;
  }
  /// More paired blocks than any chip's waves count (pairsFillWave
  /// multiplies them by 4 without overflow).
  static constexpr int64_t kMaxPairedBlocks = int64_t(1) << 40;
  /// Row blocks of each half for `unitsPerHalf` units a block, the last
  /// running past the half where they do not divide the tiles (unit tails).
  int64_t rowBlocks(int64_t unitsPerHalf) const {
    return llvm::divideCeil(tiles, unitsPerHalf);
  }
  /// Consumer warpgroups per half: `want` where the 64-row tiles of each
  /// half divide among them, else `otherwise`.
  int64_t unitsFor(int64_t want, int64_t otherwise) const {
    return want > 0 && want % halves == 0 && tiles % (want / halves) == 0
               ? want / halves
               : otherwise;
  }

  SSMMOp op;
  SparseFormatAttr format;
  /// SiLU·up epilogue; plain 2:4; masked group rows; input gathered
  /// through a token list.
  bool siluMul, plain, masked, gathers;
  /// Experts; halves of the rows (2 for SiLU·up); 64-row tiles of kept rows
  /// in each half; accumulator sets of a unit.
  int64_t experts, halves, tiles, sets;
};

/// Whether the paired blocks of one token tile an expert
/// (WgmmaShape::pairedBlocks) take more than kPersistentPairsMaxWaves waves
/// of the chip's SMs: where the persistent grid's pairs lose and the early
/// single units serve (bench/RESULTS.md S55, S56).
bool pairsTakeManyWaves(const WgmmaShape &s, const ChipInfo &chip);

/// The ordinary grid's tile: consumer warpgroups, tokens and ring slots.
struct WgmmaBase {
  /// Whether routed 1:2 row selection takes four consumer warpgroups.
  bool fourRows;
  /// Consumer warpgroups of a two-warpgroup block, per half and in all.
  int64_t twoPerHalf, twoWarpgroups;
  /// Consumer warpgroups per half and in all, tokens, stage columns and
  /// ring slots of the ordinary grid.
  int64_t unitsPerHalf, warpgroups, tokens, k = 128, stages;
};

/// The wide variant of a wgmma_sp tile: its tokens and routed slots, its
/// 64-row units a consumer warpgroup, and its second width (lowTokens
/// tokens up to lowSlots routed slots, or in the ranges of lowCalls; 0 for
/// none) with its own warps (lowWarps; 0: the wide variant's).
struct WideChoice {
  int64_t tokens = 0, slots = 0, units = 1, lowTokens = 0, lowSlots = 0,
          lowWarps = 0;
  SmallVector<int64_t> lowCalls;
};

/// The wide variant (chooseWide), the consumer warpgroups it takes and
/// whether its widths multiply masked group rows (wide_row_masks).
struct WgmmaWide {
  WideChoice choice;
  int64_t warpgroups, warps;
  bool masked = false;
};
/// The wide variant of the tile whose ordinary grid is `t`; plain 2:4's
/// pairs take it to two consumer warpgroups.
WgmmaWide chooseWgmmaWide(const WgmmaShape &s, const WgmmaBase &t,
                          const ChipInfo &chip, const Overrides &o);

/// The persistent grid's variants: persistent (0: none), the large calls'
/// tokens from `slots` routed slots, the warps below them, units a
/// consumer warpgroup.
struct WgmmaPersistent {
  int64_t persistent = 0, slots = 0, tokens = 0, warps = 0, units = 1,
          unitsSlots = 0;
};

/// The wide variant's clusters, multicast, packed input and token steps.
struct WideExtras {
  int64_t cluster, multicast, multicastSlots, packed, tokenStep, persistent;
};
/// What the wide variant `w` adds: clusters (`wide-cluster`), weight
/// multicast (`wide-multicast`), the packed input (of `w`, or without it of
/// the persistent grid `p` of the large calls), token steps and the
/// persistent grid (`wide-persistent`).
WideExtras chooseWideExtras(const WgmmaShape &s, const WgmmaBase &t,
                            const WgmmaWide &w, const WgmmaPersistent &p,
                            const Overrides &o);

} // namespace mlir::samoyeds::select_tiles

#endif // SAMOYEDS_LIB_DIALECT_SAMOYEDS_TRANSFORMS_SELECTWGMMATILE_H
