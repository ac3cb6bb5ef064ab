//===- SelectWgmmaWide.cpp - The wgmma_sp tile's wide variant -------------===//
//
// samoyeds-select-tiles' rules for the wide variant of the warpgroup
// (wgmma_sp) tile, which serves the large calls: its tokens, unit pairs,
// second width and late pairs, clusters, weight multicast, packed input and
// token steps (docs/TileChoice.md).
//
//===----------------------------------------------------------------------===//

#include "SelectWgmmaTile.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::samoyeds;

namespace mlir::samoyeds::select_tiles {

/// Whether a grid of unit pairs, `blocks` tiles at the first call of its
/// variant, fills three quarters of a wave of the chip's SMs: pairs halve a
/// tile's row blocks (Mixtral's 1:2+2:4 down projection would keep 64
/// blocks for 132 SMs at its wide variant's 64 slots per expert).
bool pairsFillWave(const ChipInfo &chip, int64_t blocks) {
  return 4 * blocks >= 3 * chip.smCount;
}

bool pairsTakeManyWaves(const WgmmaShape &s, const ChipInfo &chip) {
  return s.pairedBlocks() > kPersistentPairsMaxWaves * chip.smCount;
}

/// Whether the wide variant's unit pairs are asked for: `wide-units` = 2,
/// or by default (-1) on every format where no clusters are (a cluster
/// takes pairs only where `wide-units` = 2 asks for them).
bool pairsAsked(const Overrides &o) {
  return o.wideUnits == 2 || (o.wideUnits <= 0 && o.wideCluster == 1);
}

int64_t slotsOf(int64_t perExpert, int64_t experts) {
  int64_t most = TileConfigAttr::kMaxSlotBound;
  return perExpert > most / std::max<int64_t>(experts, 1) ? most
                                                          : perExpert * experts;
}

namespace {
/// wgmma_sp's second wide width (wide_low_tokens, wide_low_slots), or
/// (0, 0) for none: `wide-low-tokens` tokens (by default kWideLowTokens for
/// unmasked routed row selection on more than kWgmmaFourRowsExperts
/// experts) for the wide variant's calls up to `wide-low-slots` routed slots
/// per expert (by default as many as its tokens), where its `sets`
/// accumulator sets fit `maxAcc` registers and it differs from the wide
/// variant's `wideTokens`.
std::pair<int64_t, int64_t> chooseWideLow(SSMMOp op, const Overrides &o,
                                          bool masked, int64_t wideTokens,
                                          int64_t wideSlots, int64_t tokens,
                                          int64_t sets, int64_t maxAcc) {
  int64_t experts =
      cast<RankedTensorType>(op.getWeight().getType()).getDimSize(0);
  int64_t low = o.wideLowTokens >= 0 ? llvm::divideCeil(o.wideLowTokens, 8) * 8
                : routedOnManyExperts(op, masked) ? kWideLowTokens
                                                  : 0;
  int64_t lowSlots =
      slotsOf(o.wideLowSlots > 0 ? o.wideLowSlots : low, experts);
  if (low == 0 || wideTokens == 0 || o.wideCluster != 1 || low <= tokens ||
      low == wideTokens || sets * low / 2 > maxAcc || lowSlots < wideSlots)
    return {0, 0};
  return {low, lowSlots};
}

/// wgmma_sp's wide variant (wide_tokens, wide_slots, wide_units and the
/// second width): the unsplit calls of at least `wide-slots` routed slots
/// per expert take as many tokens per block as the accumulator sets of
/// `wideWarpgroups` consumer warpgroups allow, at most 128 (plain 2:4's
/// pairs kPlainPairWideTokens), or the
/// `wide-tokens` asked for (rounded up to a multiple of 8) where they fit;
/// none with a persistent grid asked for. 128 tokens (two warpgroups) ran
/// 1.12-1.25x 64 at T = 1024-4096, 192 0.79-1.01x; four warpgroups with 112
/// tokens another 1.02-1.29x (H200, bench/RESULTS.md §S11).
/// With `forcePairs` the wide variant takes unit pairs wherever they
/// pair, whether or not they fill a wave.
WideChoice chooseWide(SSMMOp op, const ChipInfo &chip, const Overrides &o,
                      bool masked, bool plain, int64_t tiles, int64_t halves,
                      int64_t sets, int64_t tokens, int64_t wideWarpgroups,
                      bool forcePairs = false) {
  int64_t experts =
      cast<RankedTensorType>(op.getWeight().getType()).getDimSize(0);
  // `wide-accumulators` asks for more (or fewer) accumulators than the
  // default 160, up to the limit.
  int64_t maxAcc =
      o.wideAccumulators > 0
          ? std::min(o.wideAccumulators,
                     TileConfigAttr::wgmmaAccumulatorLimit(wideWarpgroups))
          : TileConfigAttr::wgmmaMaxAccumulators(wideWarpgroups);
  // The wide tokens where each consumer warpgroup holds `unitSets` sets:
  // plain 2:4's pairs (two units of one set) take kPlainPairWideTokens.
  auto wideFor = [&](int64_t unitSets) -> int64_t {
    int64_t most = plain && unitSets == 2 * sets ? kPlainPairWideTokens : 128;
    int64_t wide = o.wideTokens >= 0
                       ? llvm::divideCeil(o.wideTokens, 8) * 8
                       : std::min<int64_t>(most, 2 * maxAcc / unitSets / 8 * 8);
    return wide > 0 && o.persistent <= 0 && wide > tokens && wide <= 256 &&
                   unitSets * wide / 2 <= maxAcc
               ? wide
               : 0;
  };
  bool few = experts > 1 &&
             experts <= (plain ? kPlainFewExperts : kWgmmaFourRowsExperts);
  int64_t widePerExpert = o.wideSlots > 0 ? o.wideSlots
                          : few           ? kFewExpertsWideSlots
                                          : kWideSlotsPerExpert;
  // Unit pairs (`wide-units`: by default 2 on row-selected formats, H200
  // same process, S43: 1.06-1.22x at T = 256-4096 on five models,
  // DeepSeek-V2-Lite 0.99-1.01x; plain 2:4's since S49, with
  // kPlainPairWideTokens tokens): each wide consumer
  // warpgroup multiplies two 64-row units where the tile is unmasked, has
  // no clusters (or `wide-units=2` asks for pairs in them: 0.75-0.90x, S49),
  // the 64-row tiles of each half divide among the pairs, two units' sets leave
  // a wide width and the paired grid of the wide variant's first call (its
  // slots spread evenly over the experts) fills the SMs (pairsFillWave).
  // `unit-tails=2` gives pairs also where they do not divide the tiles, the
  // last row block's units past the half repeating its last tile
  // (DeepSeek-V2-Lite's 1:2 gate/up, 11 tiles a half: 1.14-1.15x single
  // units at T = 2048-4096, 1.00x at 256-1024, float64-correct, H100,
  // bench/RESULTS.md S70; opt-in until its memcheck, racecheck and V = 32
  // A/B have run).
  int64_t tokens2 = wideFor(2 * sets);
  int64_t perHalf2 = 2 * wideWarpgroups / halves;
  int64_t rowBlocks2 = llvm::divideCeil(tiles, perHalf2);
  // Whether the paired grid of `tileCount` token tiles an expert fills.
  auto pairsFill = [&](int64_t tileCount) {
    return tokens2 > 0 && pairsFillWave(chip, rowBlocks2 * experts * tileCount);
  };
  bool pairable =
      pairsAsked(o) && !masked &&
      (tiles % perHalf2 == 0 || (perHalf2 <= tiles && o.unitTails == 2));
  int64_t firstTiles =
      tokens2 > 0 ? llvm::divideCeil(widePerExpert, tokens2) : 0;
  int64_t wideUnits = pairable && (forcePairs || pairsFill(firstTiles)) ? 2 : 1;
  WideChoice wide;
  wide.units = wideUnits;
  wide.tokens = wideFor(wideUnits * sets);
  wide.slots = wide.tokens > 0 ? slotsOf(widePerExpert, experts) : 0;
  // The second width multiplies one unit: a paired wide variant has none
  // but late pairs' (below).
  if (wideUnits == 1)
    std::tie(wide.lowTokens, wide.lowSlots) = chooseWideLow(
        op, o, masked, wide.tokens, wide.slots, tokens, sets, maxAcc);
  // Late pairs (`late-pairs=1`): pairs from the first token tile count
  // where they fill a wave, the single units' width below it as the second
  // width; not where the tile has a second width of its own or one is
  // asked for (`wide-low-tokens`, `wide-low-slots`), nor in clusters (a
  // second width has none).
  bool lowAsked = o.wideLowTokens >= 0 || o.wideLowSlots > 0;
  if (o.latePairs == 1 && pairable && o.wideCluster == 1 && wideUnits == 1 &&
      !lowAsked && wide.lowTokens == 0 && wide.tokens > tokens2) {
    for (int64_t c = firstTiles + 1; c <= kLatePairsMaxTiles; ++c) {
      if (!pairsFill(c))
        continue;
      wide.lowTokens = wide.tokens;
      wide.lowSlots = slotsOf((c - 1) * tokens2, experts);
      wide.units = 2;
      wide.tokens = tokens2;
      break;
    }
  }
  return wide;
}

/// Whether the wide calls go to unit pairs or single units call by call
/// (`wide-unit-calls`: by default on one expert, whose calls make known
/// grids, and for unmasked routed row selection on any number of experts;
/// 1 also for plain 2:4 on several experts), where neither width, nor
/// pairs, clusters, multicast, a packed input, late pairs or a second width
/// are asked for. H100, Mixtral's 1:2+2:4 layer, same process, CUDA graphs
/// (bench/RESULTS.md S56): routed row selection's unit calls 1.00-1.08x the
/// S55 default at T = 448-4096 (the A/A control 0.97-1.00x); plain 2:4's on
/// several experts 0.89-1.07x (S54), so not by default.
bool unitCallsAsked(const WgmmaShape &s, const Overrides &o) {
  bool routedRows = !s.plain && !s.masked;
  bool asked = o.wideUnitCalls == 1 ||
               (o.wideUnitCalls < 0 && (s.experts == 1 || routedRows));
  bool format = s.plain || !s.masked;
  return asked && format && o.wideUnits < 0 && o.wideTokens < 0 &&
         o.wideLowTokens < 0 && o.wideLowSlots <= 0 && o.wideCluster == 1 &&
         o.wideMulticast == 1 && o.widePacked <= 0 && o.latePairs != 1;
}

/// Whether the wide variant starts early with single units
/// (kEarlySinglesSlotsPerExpert): unmasked routed row selection on more
/// than kWgmmaFourRowsExperts experts whose paired blocks of one token tile
/// an expert (two-warpgroup blocks of four 64-row units) take more than
/// kPersistentPairsMaxWaves waves, where no wide start, width, units,
/// second width or its bound, late pairs, clusters, multicast, packed
/// input, `persistent` (any value), wide persistent grid or few-slot bound
/// are asked for (an explicit option keeps the grids it names).
bool earlySinglesAsked(const WgmmaShape &s, const ChipInfo &chip,
                       const Overrides &o) {
  return routedOnManyExperts(s.op, s.masked) && pairsTakeManyWaves(s, chip) &&
         o.wideSlots <= 0 && o.wideTokens < 0 && o.wideUnits < 0 &&
         o.wideLowTokens < 0 && o.wideLowSlots <= 0 && o.latePairs != 1 &&
         o.wideCluster == 1 && o.wideMulticast == 1 && o.widePacked <= 0 &&
         o.persistent < 0 && o.widePersistent != 1 && o.fewSlots < 0;
}

/// The token tiles a call of `perExpert` routed slots per expert makes
/// over `experts` with `tokens`-token tiles: one expert's are known;
/// routing spreads several experts' slots about the mean by about
/// sigma = sqrt(mean (1 - 1 / E)) (random routing's, a lower bound of real
/// routers' imbalance), so ceil(E / 2) of them are taken at mean + sigma,
/// the rest at mean - sigma. H100, Mixtral's 1:2+2:4 down projection
/// (bench/RESULTS.md S55): late pairs from 80 slots per expert, which assumed
/// an even spread, lost 0.94 / 0.95x at 160 / 220 slots per expert, where half
/// the experts cross a tile edge of 80 tokens the single units' 128 do not;
/// these tiles give the grid of fewer rounds at all ten points timed (single
/// units at 64-80 and 160-220, pairs at 128-140 and 250-1024).
int64_t unitCallTiles(int64_t perExpert, int64_t experts, int64_t tokens) {
  int64_t sigma =
      experts > 1 ? int64_t(std::sqrt(double(perExpert) * double(experts - 1) /
                                      double(experts)))
                  : 0;
  int64_t below = experts / 2;
  return (experts - below) * llvm::divideCeil(perExpert + sigma, tokens) +
         below *
             llvm::divideCeil(std::max<int64_t>(perExpert - sigma, 1), tokens);
}

/// The single units' slot ranges (wide_low_calls) of the wide variant's
/// calls from `from` routed slots: the calls, their slots spread over
/// `experts` as unitCallTiles takes them, whose grid of single units
/// (`rowBlocks1` row blocks of `units1` 64-row units and `tokens1` tokens)
/// costs fewer token rounds, ceil(blocks / SMs) × tokens × units, than that
/// of the pairs (`rowBlocks2`, `units2`, `tokens2`), whose rounds count
/// 10 / kPairsGainTenths; up to kUnitCallsScanSlots slots per expert and at
/// most TileConfigAttr::kMaxWideLowCalls ranges. (Plain 2:4's blocks hold
/// four units either way by default; routed row selection's single units
/// two, its pairs four.)
SmallVector<int64_t> chooseUnitCalls(const ChipInfo &chip, int64_t experts,
                                     int64_t from, int64_t rowBlocks1,
                                     int64_t units1, int64_t tokens1,
                                     int64_t rowBlocks2, int64_t units2,
                                     int64_t tokens2) {
  auto cost = [&](int64_t rowBlocks, int64_t units, int64_t perExpert,
                  int64_t tokens) {
    int64_t blocks = rowBlocks * unitCallTiles(perExpert, experts, tokens);
    return llvm::divideCeil(blocks, chip.smCount) * tokens * units;
  };
  SmallVector<int64_t> calls;
  int64_t first = llvm::divideCeil(from, experts);
  for (int64_t n = first; n <= kUnitCallsScanSlots; ++n) {
    bool single = cost(rowBlocks1, units1, n, tokens1) * kPairsGainTenths <
                  cost(rowBlocks2, units2, n, tokens2) * 10;
    // The calls of n slots per expert on average (ceil(P / E)).
    int64_t lo = std::max(from, (n - 1) * experts + 1),
            hi = std::min(n * experts, TileConfigAttr::kMaxSlotBound);
    if (lo > hi)
      break;
    bool extends = !calls.empty() && calls.back() == lo - 1;
    if (single && extends) {
      calls.back() = hi;
    } else if (single) {
      if (int64_t(calls.size()) == 2 * TileConfigAttr::kMaxWideLowCalls)
        break;
      calls.append({lo, hi});
    }
  }
  return calls;
}

/// One expert's wide variant with unit calls (and routed row selection's,
/// persistentBelowWide) starts where the ordinary or persistent grid
/// (`tokens` a tile, `rowBlocks` row blocks) would take more than one
/// wave: below, its tiles make as few rounds as either wide width's, of
/// fewer tokens. H100, one expert, same process (bench/RESULTS.md S53):
/// the 64-token grids ran 1.11-1.26x the wide single units at n = 256-512
/// wherever they took one wave (the down projections of Mixtral, Qwen2-MoE,
/// DeepSeek-V2-Lite and OLMoE, the gate/up of Qwen2-MoE at 256 and of
/// DeepSeek-V2-Lite at 512), the wide variant 1.19-1.45x them where they
/// took more (Qwen2-MoE's gate/up at n = 512, Mixtral's at 256-512).
int64_t oneExpertWideSlots(const ChipInfo &chip, int64_t tokens,
                           int64_t rowBlocks) {
  int64_t oneWave = tokens * (chip.smCount / std::max<int64_t>(rowBlocks, 1));
  return std::max(kWideSlotsPerExpert, oneWave + 1);
}

/// The overrides the wide variant is chosen under: as asked, but where one
/// expert's routed row selection runs its persistent grid below the wide
/// variant (`persistent` and `wide-slots` not asked for, two consumer
/// warpgroups), the wide variant starts where that grid of `tokens`-token
/// tiles would take more than one wave (oneExpertWideSlots). H100, one
/// expert, 1:2+2:4, same process (bench/RESULTS.md S54): the persistent
/// grid ran 1.20-1.43x the wide single units at n = 256-512 wherever it
/// took one wave (the down projections of Mixtral, Qwen2-MoE,
/// DeepSeek-V2-Lite and OLMoE, the gate/up of Qwen2-MoE at 256 and of
/// DeepSeek-V2-Lite at 512), 0.71-0.87x where it took more (Qwen2-MoE's
/// gate/up at 512, Mixtral's at 256-512).
Overrides persistentBelowWide(const WgmmaShape &s, const WgmmaBase &t,
                              const ChipInfo &chip, const Overrides &o) {
  Overrides from = o;
  if (!s.plain && !s.masked && s.experts == 1 && !t.fourRows &&
      t.warpgroups == t.twoWarpgroups && o.wideSlots <= 0 && o.persistent < 0)
    from.wideSlots =
        oneExpertWideSlots(chip, t.tokens, s.tiles * s.halves / t.warpgroups);
  return from;
}

/// A packed input (`wide-packed`: 1 for gathered inputs, 2 for every input;
/// none by default since session 51), the wide variant's or, where the tile
/// has none, the persistent grid's of the large calls (`persistent=1`): its
/// workspace of two or three rows per routed slot holds the padded tiles of
/// every call from experts × (tokens - 1) / 2 slots (widePackedRowsPerSlot).
int64_t choosePacked(const WgmmaShape &s, const WgmmaBase &t,
                     const WgmmaWide &w, const WgmmaPersistent &p,
                     const Overrides &o) {
  const WideChoice &wide = w.choice;
  int64_t tokens = wide.tokens, lowTokens = wide.lowTokens, from = wide.slots;
  if (tokens <= 0 && p.persistent > 0) {
    tokens = p.tokens > 0 ? p.tokens : t.tokens;
    from = p.slots;
  }
  auto rowsPerSlot = [&](int64_t n) {
    return TileConfigAttr::widePackedRowsPerSlot(s.experts, n, from);
  };
  // A second width with calls of its own is never packed (its kernels
  // run under several bounds, the pack kernel under one).
  bool packable = tokens > 0 && rowsPerSlot(tokens) > 0 &&
                  (lowTokens == 0 || rowsPerSlot(lowTokens) > 0) &&
                  wide.lowCalls.empty();
  int64_t mode = o.widePacked >= 0 ? o.widePacked : kWidePackedDefault;
  return packable && (mode == 2 || (mode == 1 && s.gathers)) ? 1 : 0;
}

/// Whether the wide widths multiply masked group rows while the other
/// variants route (wide_row_masks): `wide-row-masks` = 1, or by default
/// (-1) where kWideRowMasksByDefault and the spans are shorter than the k
/// tile (`k`); routed row selection whose m divides 16, where no wide
/// units, clusters, multicast, packed input or wide persistent grid are
/// asked for (an explicit option keeps the grids it names).
bool wideMaskedAsked(const WgmmaShape &s, const Overrides &o, int64_t k) {
  bool format = !s.plain && !s.masked && 16 % s.format.getM() == 0;
  bool free = o.wideUnits < 0 && o.wideCluster == 1 && o.wideMulticast == 1 &&
              o.widePacked <= 0 && o.widePersistent != 1;
  bool byDefault = kWideRowMasksByDefault && s.format.getV() < k;
  return format &&
         (o.wideRowMasks == 1 || (o.wideRowMasks < 0 && byDefault && free));
}

/// The wide variant's own warps (wide_warps): its consumer warpgroups' where
/// it has a width and they differ from the ordinary grid's, else 0.
int64_t wideWarps(const WgmmaWide &w, const WgmmaBase &t) {
  return w.choice.tokens > 0 && w.warpgroups != t.warpgroups ? 4 * w.warpgroups
                                                             : 0;
}
} // namespace

WgmmaWide chooseWgmmaWide(const WgmmaShape &s, const WgmmaBase &t,
                          const ChipInfo &chip, const Overrides &o) {
  // Masked wide rows: single units of as many tokens as their m sets
  // allow, from where the routed wide variant would start (one expert's
  // after its persistent grid's wave), no second width.
  if (wideMaskedAsked(s, o, t.k)) {
    WgmmaWide w;
    w.warpgroups = t.fourRows ? t.twoWarpgroups : t.warpgroups;
    w.choice = chooseWide(s.op, chip, persistentBelowWide(s, t, chip, o),
                          /*masked=*/true, s.plain, s.tiles, s.halves, s.sets,
                          t.tokens, w.warpgroups);
    w.masked = w.choice.tokens > 0;
    w.warps = wideWarps(w, t);
    return w;
  }
  // Plain 2:4's pairs (by default since session 49) take the wide variant
  // to two consumer warpgroups of two units each (256 kept rows,
  // kPlainPairWideTokens tokens) where they pair, while its other variants
  // keep four.
  WgmmaWide w;
  w.warpgroups = t.fourRows ? t.twoWarpgroups : t.warpgroups;
  Overrides rowsFrom = persistentBelowWide(s, t, chip, o);
  w.choice = chooseWide(s.op, chip, rowsFrom, s.masked, s.plain, s.tiles,
                        s.halves, s.sets, t.tokens, w.warpgroups);
  if (s.plain && pairsAsked(o) && w.choice.units == 1 &&
      t.warpgroups > t.twoWarpgroups) {
    WideChoice two = chooseWide(s.op, chip, o, s.masked, s.plain, s.tiles,
                                s.halves, s.sets, t.tokens, t.twoWarpgroups);
    if (two.units == 2) {
      w.choice = two;
      w.warpgroups = t.twoWarpgroups;
    }
  }
  // Plain 2:4's unit calls (`wide-unit-calls`): its pairs as the wide
  // variant, its single units on the ordinary grid's four consumer
  // warpgroups as the second width, each call to the one of fewer token
  // rounds (H100, one expert, same process, S53: pairs 1.42 / 1.31x at
  // n = 1024 on Mixtral's and Qwen2-MoE's down projections, single units
  // 1.16-1.19x on Qwen2-MoE's gate/up at 1024-2048).
  // One expert's routed row selection too (S54: pairs of 80 tokens 1.51 /
  // 1.20x single units of 128 on Qwen2-MoE's gate/up at n = 1024 / 2048,
  // single units 1.01-1.02x pairs on Mixtral's down at 1024-4096): both on
  // two consumer warpgroups, the single units' blocks half the rows.
  // Routed row selection on more experts (by default since session 56):
  // the same, the single units on the wide variant's two warpgroups also
  // where the ordinary grid takes four (Mixtral's fourRows).
  bool plainCalls = s.plain && t.warpgroups > t.twoWarpgroups;
  bool rowCalls = !s.plain && (t.warpgroups == t.twoWarpgroups ||
                               (t.fourRows && s.experts > 1));
  if (unitCallsAsked(s, o) && (plainCalls || rowCalls)) {
    int64_t rows = s.tiles * s.halves;
    int64_t oneWarpgroups = plainCalls ? t.warpgroups : t.twoWarpgroups;
    Overrides from = rowsFrom;
    if (s.plain && o.wideSlots <= 0 && s.experts == 1)
      from.wideSlots = oneExpertWideSlots(chip, t.tokens, rows / t.warpgroups);
    WideChoice one = chooseWide(s.op, chip, from, s.masked, s.plain, s.tiles,
                                s.halves, s.sets, t.tokens, oneWarpgroups);
    WideChoice two =
        chooseWide(s.op, chip, from, s.masked, s.plain, s.tiles, s.halves,
                   s.sets, t.tokens, t.twoWarpgroups, /*forcePairs=*/true);
    // (Above the scan the pairs take every call: a wide variant that
    // starts there keeps the choice above.)
    bool scanned =
        llvm::divideCeil(two.slots, s.experts) <= kUnitCallsScanSlots;
    if (one.units == 1 && one.tokens > 0 && one.lowTokens == 0 &&
        two.units == 2 && two.tokens > 0 && scanned) {
      two.lowCalls = chooseUnitCalls(chip, s.experts, two.slots,
                                     rows / oneWarpgroups, oneWarpgroups,
                                     one.tokens, rows / (2 * t.twoWarpgroups),
                                     2 * t.twoWarpgroups, two.tokens);
      if (!two.lowCalls.empty()) {
        two.lowTokens = one.tokens;
        two.lowWarps = plainCalls ? 4 * t.warpgroups : 0;
      }
      w.choice = two;
      w.warpgroups = t.twoWarpgroups;
    }
  }
  if (earlySinglesAsked(s, chip, o) && w.choice.units == 2 &&
      w.choice.lowTokens == 0 && w.choice.lowCalls.empty()) {
    // The wide variant's single units without a second width of their own
    // (as `wide-units=1 wide-low-tokens=0` would have them).
    Overrides single = rowsFrom;
    single.wideUnits = 1;
    single.wideLowTokens = 0;
    WideChoice one = chooseWide(s.op, chip, single, s.masked, s.plain, s.tiles,
                                s.halves, s.sets, t.tokens, w.warpgroups);
    int64_t from = slotsOf(kEarlySinglesSlotsPerExpert, s.experts);
    if (one.units == 1 && one.tokens > w.choice.tokens &&
        from < w.choice.slots) {
      w.choice.lowTokens = one.tokens;
      w.choice.lowSlots = w.choice.slots;
      w.choice.slots = from;
    }
  }
  w.warps = wideWarps(w, t);
  return w;
}

WideExtras chooseWideExtras(const WgmmaShape &s, const WgmmaBase &t,
                            const WgmmaWide &w, const WgmmaPersistent &p,
                            const Overrides &o) {
  WideExtras e;
  const WideChoice &wide = w.choice;
  int64_t rowBlocks = s.tiles * s.halves / (w.warpgroups * wide.units);
  // Cluster pairs of the wide variant (`wide-cluster`): where the row blocks
  // of each half pair up and each block gathers whole 8-row groups.
  e.cluster = wide.tokens > 0 && wide.tokens % (8 * o.wideCluster) == 0 &&
                      rowBlocks % o.wideCluster == 0
                  ? o.wideCluster
                  : 1;
  // Weight multicast (`wide-multicast`): where there are no cluster pairs
  // and the wide variant's block holds whole pairs of units (one half per
  // block of the cluster), for its calls from `wide-multicast-slots`, by
  // default where the experts average kMulticastTilesPerExpert token tiles
  // (an expert's last group of one tile has one block working alone).
  bool evenUnits = (w.warpgroups * wide.units) % o.wideMulticast == 0;
  e.multicast =
      wide.tokens > 0 && e.cluster == 1 && evenUnits ? o.wideMulticast : 1;
  e.multicastSlots =
      e.multicast == 1 ? 0
      : o.wideMulticastSlots >= 0
          ? o.wideMulticastSlots
          : std::min<int64_t>(
                kMulticastTilesPerExpert * wide.tokens * s.experts, 1 << 20);
  e.packed = choosePacked(s, t, w, p, o);
  // Token steps (`token-step`): a block's MMAs (and packed copies) cover
  // its tile's tokens rounded up to the step, not the variant's tokens.
  e.tokenStep = e.cluster > 1           ? 0
                : o.tokenStep >= 0      ? o.tokenStep
                : !s.plain && !s.masked ? kWgmmaTokenStep
                                        : 0;
  // The wide variant on the persistent grid (`wide-persistent`): one block
  // per SM walks its tiles, its ring running on into the next tile. By
  // default plain 2:4's unit pairs (H100 same process, S52: their pairs of
  // kPlainPairWideTokens on the persistent grid 0.99-1.10x the ordinary
  // grid's on six models at T = 512-4096, 1.04-1.10x at T = 4096 but on
  // DeepSeek-V2, 1.01x); not with a second width, clusters, multicast or a
  // packed input, nor where SiLU·up exchanges through shared memory (single
  // units of a gate/up tile): on the persistent grid the exchange takes
  // room of its own beside the ring, which may then not fit.
  bool exchanges = s.siluMul && wide.units == 1;
  bool fits = wide.tokens > 0 &&
              (wide.lowTokens == 0 || !wide.lowCalls.empty()) &&
              e.cluster == 1 && e.multicast == 1 && e.packed == 0 && !exchanges;
  e.persistent = fits && (o.widePersistent == 1 ||
                          (o.widePersistent < 0 && s.plain && wide.units == 2))
                     ? 1
                     : 0;
  return e;
}

} // namespace mlir::samoyeds::select_tiles
