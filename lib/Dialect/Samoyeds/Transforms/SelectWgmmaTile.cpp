//===- SelectWgmmaTile.cpp - samoyeds-select-tiles' wgmma_sp tile ---------===//
//
// The Hopper warpgroup (wgmma_sp) tile of an expert matmul and the rules of
// its variants (docs/TileChoice.md).
//
//===----------------------------------------------------------------------===//

#include "SelectWgmmaTile.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::select_tiles;

namespace mlir::samoyeds::select_tiles {
/// Whether a wgmma_sp tile of `format` multiplies masked group rows: only
/// where `row-masks=1` asks for it. Row selection routes the kept rows' span
/// sums by default (H200 1:2+2:4 layers, same process, against masked rows:
/// bench/RESULTS.md §S20).
bool wgmmaMasked(SparseFormatAttr format, const Overrides &o) {
  return !format.isPlain24() && o.rowMasks == 1;
}

/// Whether `op` is unmasked routed row selection on more than
/// kWgmmaFourRowsExperts experts, the weights the second wide width and the
/// few-slot four-warpgroup grid serve.
bool routedOnManyExperts(SSMMOp op, bool masked) {
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  return !op.getFormat().isPlain24() && !masked &&
         wType.getDimSize(0) > kWgmmaFourRowsExperts;
}

namespace {
/// Whether two blocks of a wgmma_sp decode variant with `units` consumer
/// warpgroups and `tokens` tokens fit one SM: their accumulators in the
/// registers of two blocks and a ring of at least two slots in half the
/// SM's shared memory.
bool twoDecodeBlocksFit(const ChipInfo &chip, SparseFormatAttr format,
                        int64_t units, int64_t tokens, int64_t k) {
  int64_t sets = TileConfigAttr::wgmmaAccumulatorSets(format);
  int64_t slot = TileConfigAttr::wgmmaSlotBytes(
      units, tokens, k,
      TileConfigAttr::wgmmaChoiceSpans(format.getV(), k, !format.isPlain24()));
  return sets * tokens / 2 <= TileConfigAttr::wgmmaMaxAccumulators(units, 2) &&
         2 * slot <=
             chip.smemPerResidentBlock(2) - TileConfigAttr::kWgmmaSmemAlign;
}

/// Two blocks per SM at decode (split_blocks, shared_slots) for a decode
/// tile whose blocks cover `rowBlocks` row blocks of `experts` experts:
/// `mode` (the decode-blocks option) 1 gives none, 2 every decode call,
/// 0 chooses the calls whose grid can have more blocks than the chip has
/// SMs (a call of P slots reaches at most min(P, experts) experts): the
/// split-K variant when its largest call does, the unsplit decode calls
/// from the slot count that does. H200 1:2+2:4 layers, same process: two
/// blocks 1.04-1.14x at T = 1-128 where the calls had more blocks than SMs,
/// 0.84x (DeepSeek-V2, T = 1, 72 and 120 blocks) and 0.88x (Mixtral's
/// down projection, 86 blocks) where a block was alone on its SM
/// (bench/RESULTS.md §S13).
std::pair<int64_t, int64_t>
chooseTwoBlocks(const ChipInfo &chip, int64_t mode, bool fit, int64_t experts,
                int64_t rowBlocks, int64_t splitK, int64_t splitSlots,
                int64_t decodeTokens, int64_t decodeSlots) {
  if (mode == 1 || !fit || decodeTokens == 0)
    return {1, 0};
  bool splitDecode = TileConfigAttr::splitTakesDecodeTile(
      splitK, splitSlots, decodeTokens, decodeSlots);
  if (mode == 2)
    return {splitDecode ? 2 : 1, 1};
  int64_t splitBlocks =
      splitDecode &&
              std::min(splitSlots, experts) * rowBlocks * splitK > chip.smCount
          ? 2
          : 1;
  int64_t from = chip.smCount / rowBlocks + 1;
  bool reach = experts * rowBlocks > chip.smCount && from <= decodeSlots;
  return {splitBlocks, reach ? from : 0};
}

/// Whether the warpgroup strategy can compile `op`: kept rows of each half
/// in 64-row tiles, K in 128-column blocks, spans and 128-column stages
/// dividing one another. Other K and kept rows are taken where the padding
/// adds at most 1/kMaxPaddedShare of the MMA work: the weight layouts pad K
/// to 128-column blocks (the gathers zero-fill the input past K; gpt-oss's
/// 2880: 64 columns, 2.2%) and, with `padRows` (opt-in, `pad-rows`, until
/// run on a GPU), each half's kept rows to 64-row tiles (the padding rows
/// store nothing; gpt-oss's 1:2 1440 kept rows a half: 32, 2.2%), and row
/// selection's K too (its spans past K take the last span's row choices).
/// Its epilogues add expert biases and apply the
/// clamped SwiGLU too (session 68; gpt-oss's layer at 2816, H100, float64-
/// and memcheck-clean, same-process A/B: 1.07-2.25x mma_sp at T = 16-4096 in
/// 1:2+2:4, 1.00-2.43x in 2:4; bench/RESULTS.md S68, S69).
bool wgmmaFits(SSMMOp op, bool padRows) {
  SparseFormatAttr format = op.getFormat();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t halves = op.getEpilogue() == EpilogueKind::SiluMul ? 2 : 1;
  int64_t kept = wType.getDimSize(1) / format.getM() * format.getN();
  int64_t v = format.getV();
  bool spans = format.isPlain24() || v % 128 == 0 || 128 % v == 0;
  auto padded = [](int64_t size, int64_t block) {
    return (llvm::alignTo(size, block) - size) * kMaxPaddedShare <= size;
  };
  int64_t k = wType.getDimSize(2);
  // Row selection with K padded (the span tail) and padded rows: opt-in.
  bool padsK = k % 128 != 0 && (format.isPlain24() || padRows);
  bool rows = padRows ? padded(kept / halves, 64) : kept % (halves * 64) == 0;
  return (format.getN() == 1 || format.isPlain24()) && rows &&
         (k % 128 == 0 || (padsK && padded(k, 128))) && spans;
}

/// wgmma_sp's four-warpgroup persistent grid for few routed slots per
/// expert (persistent_warps, persistent_tokens, persistent_slots), or all 0
/// for none: kFewSlotsTokens tokens for the calls below `few-slots` (by
/// default kFewSlotsPerExpert) routed slots per expert of unmasked routed
/// row selection on more than kWgmmaFourRowsExperts experts, where the tile
/// runs the persistent grid below its wide variant, four warpgroups divide
/// its 64-row tiles (`fourUnits`) and their accumulators hold `sets` sets.
struct FewSlots {
  int64_t warps = 0, tokens = 0, slots = 0;
};
FewSlots chooseFewSlots(SSMMOp op, const Overrides &o, bool masked,
                        bool persistentBelowWide, bool fourUnits,
                        int64_t sets) {
  int64_t experts =
      cast<RankedTensorType>(op.getWeight().getType()).getDimSize(0);
  int64_t perExpert = o.fewSlots >= 0 ? o.fewSlots : kFewSlotsPerExpert;
  if (!routedOnManyExperts(op, masked) || perExpert == 0 ||
      !persistentBelowWide || !fourUnits || o.warpgroups != 0 ||
      o.tokens != 0 ||
      sets * kFewSlotsTokens / 2 > TileConfigAttr::wgmmaMaxAccumulators(4))
    return {};
  // Four consumer warpgroups of 4 warps.
  return {4 * 4, kFewSlotsTokens, perExpert * experts};
}

/// wgmma_sp's unit pairs on the persistent grid (persistent_units) and the
/// persistent tokens they leave: pairs (`persistent-units=2`) for its
/// variants of two consumer warpgroups (the tile's `warpgroups`, or
/// `persistentWarps` = 8) where the tile is unmasked, the `tiles` 64-row
/// tiles of each half divide among the pairs, two units' `sets` of the
/// tile's `tokens` fit and the paired tiles of one token tile an expert fill
/// the SMs (pairsFillWave). The opt-in persistent grid's 128-token tiles
/// become as many tokens as two units' sets hold. By default (-1) SiLU·up's
/// upper grid pairs from kPersistentPairsSlotsPerExpert routed slots per
/// expert below the wide variant's `wideSlots` (`unitsSlots`) where those
/// paired tiles take at most kPersistentPairsMaxWaves waves.
struct PersistentPairs {
  int64_t units = 1, tokens = 0, slots = 0, unitsSlots = 0;
};
PersistentPairs choosePersistentPairs(const ChipInfo &chip, const Overrides &o,
                                      const WgmmaShape &s, int64_t warpgroups,
                                      int64_t tokens, int64_t persistentWarps,
                                      int64_t persistentTokens,
                                      int64_t persistentSlots,
                                      int64_t wideSlots) {
  PersistentPairs pairs{1, persistentTokens, persistentSlots, 0};
  int64_t pairTokens =
      2 * TileConfigAttr::wgmmaMaxAccumulators(2) / (2 * s.sets) / 8 * 8;
  if (o.persistentUnits == 1 || s.masked ||
      (warpgroups != 2 && persistentWarps != 8) ||
      s.tiles % (4 / s.halves) != 0 || tokens > pairTokens ||
      !pairsFillWave(chip, s.pairedBlocks()))
    return pairs;
  if (o.persistentUnits < 0) {
    // The upper grid of SiLU·up: the tile's two warpgroups above a
    // narrow grid of four.
    int64_t from = slotsOf(kPersistentPairsSlotsPerExpert, s.experts);
    if (!s.siluMul || warpgroups != 2 || persistentWarps != 16 ||
        wideSlots <= 0 || pairsTakeManyWaves(s, chip) ||
        from <= persistentSlots || from >= wideSlots)
      return pairs;
    // Only the upper grid pairs: the narrow grid's tokens stay its own.
    pairs.units = 2;
    pairs.unitsSlots = from;
    return pairs;
  }
  pairs.units = 2;
  if (persistentTokens > pairTokens) {
    pairs.tokens = pairTokens > tokens ? pairTokens : 0;
    if (pairs.tokens == 0)
      pairs.slots = 0;
  }
  return pairs;
}

} // namespace

/// Where the warpgroup strategy is the default (docs/TileChoice.md has the
/// same-process H200 A/B behind it): every plain 2:4 shape it fits (1.0-1.46x
/// mma_sp on four models at T = 1-4096, but for OLMoE at T = 1), with
/// unit tails where four consumer warpgroups do not divide a half's 64-row
/// tiles (gpt-oss's 45, K = 2880 padded, H100 same process,
/// bench/RESULTS.md S70: 1.57-2.02x mma_sp at T = 1024-4096 on -20b,
/// 1.13x at T = 1, 0.98-1.03x at T = 16-256; `unit-tails=0` leaves an odd
/// count one warpgroup a block and so on mma_sp, S69, as does one tile a
/// half, which no tails share); row
/// selection where m divides 16 at any expert count (there masked group rows
/// ran 1.14-1.37x the first span routing on Mixtral at every T, and on the
/// 64-160-expert models 1.27-1.68x mma_sp at T = 1024-4096 and 0.98-1.24x at
/// T = 256, 0.77-0.98x at T = 1-64; today's routing runs 0.98-1.20x masked
/// rows, §S20), other m with at most 8 experts (with 64 experts
/// mma_sp's several blocks per SM won at T <= 256 by 8-25% against the first
/// span routing), and wherever masked rows are asked for.
bool wgmmaWins(SSMMOp op, const Overrides &o) {
  if (!wgmmaFits(op, o.padRows == 1))
    return false;
  WgmmaShape s(op, o);
  if (s.plain)
    return s.tiles % 2 == 0 || (o.unitTails >= 1 && s.tiles > 1);
  return 16 % s.format.getM() == 0 || s.masked || s.experts <= 8;
}

namespace {
/// The ordinary grid's tile (WgmmaBase).
WgmmaBase chooseWgmmaBase(const WgmmaShape &s, const ChipInfo &chip,
                          const Overrides &o) {
  WgmmaBase t;
  // Four consumer warpgroups for plain 2:4 (256 kept rows a block; same-
  // process H200 A/B in docs/TileChoice.md) unless a persistent grid or
  // more forced tokens than their accumulators hold are asked for, or the
  // forced count (`warpgroups`).
  bool fourFit = o.persistent <= 0 &&
                 o.tokens / 2 <= TileConfigAttr::wgmmaMaxAccumulators(4);
  // Two units a half where they divide its tiles or, with `unit-tails=2`
  // (opt-in, not measured), where they do not (gpt-oss's padded 1:2 down
  // projection: 23 tiles).
  bool twoTail = o.unitTails >= 2 && s.tiles > 1;
  t.twoPerHalf = s.siluMul || (s.tiles % 2 != 0 && !twoTail) ? 1 : 2;
  t.twoWarpgroups = t.twoPerHalf * s.halves;
  // Routed 1:2 row selection on 2-8 experts (Mixtral's 8), or with
  // `warpgroups=4`: four consumer warpgroups (56 tokens, an ordinary grid)
  // serve the calls from kWgmmaFourRowsSlotsPerExpert routed slots per
  // expert up to the wide variant; the decode, wide and persistent variants
  // below keep two (decode_warps, wide_warps, persistent_warps: their PTX is
  // the two-warpgroup tile's). H200 1:2+2:4 Mixtral, same process
  // (bench/RESULTS.md §S22, run 3): the four-warpgroup grid 1.08x / 1.27x the
  // two-warpgroup persistent grid at T = 256 / 384 (64 / 96 slots per
  // expert), 0.88-0.90x at T = 64-128 (16-32), where that grid stays. The
  // whole tile was not measured as one bundle. A lone expert's matmul (the
  // kernel benchmark's) keeps two.
  t.fourRows = s.format.getN() == 1 && s.format.getM() == 2 && !s.masked &&
               (o.warpgroups == 4 || (o.warpgroups == 0 && s.experts > 1 &&
                                      s.experts <= kWgmmaFourRowsExperts)) &&
               o.persistent < 0 && o.tokens == 0 && o.wideTokens != 0 &&
               s.unitsFor(4, 0) > 0;
  t.unitsPerHalf = s.unitsFor(o.warpgroups > 0 ? o.warpgroups
                              : (s.plain && fourFit) || t.fourRows ? 4
                                                                   : 0,
                              t.twoPerHalf);
  // Unit tails (`unit-tails`, on by default; wgmmaWins has the A/B): plain
  // 2:4 takes four warpgroups where they do not divide the tiles, the last
  // row block's units past the half repeating its last tile; no more units
  // than tiles.
  if (o.unitTails >= 1 && s.plain && fourFit && o.warpgroups == 0)
    t.unitsPerHalf = std::min<int64_t>(4 / s.halves, s.tiles);
  t.warpgroups = t.unitsPerHalf * s.halves;
  t.tokens =
      o.tokens > 0
          ? o.tokens
          : std::min<int64_t>(
                64, 2 * TileConfigAttr::wgmmaMaxAccumulators(t.warpgroups) /
                        s.sets / 8 * 8);
  // One block per SM (its registers fill the SM): as many ring slots (a
  // weight block and metadata per warpgroup, the gathered tokens, two
  // mbarriers) as its shared memory holds, at most 6.
  int64_t stageBytes = TileConfigAttr::wgmmaSlotBytes(
      t.warpgroups, t.tokens, t.k,
      TileConfigAttr::wgmmaChoiceSpans(s.format.getV(), t.k, !s.plain));
  int64_t budget = chip.smemPerBlock - TileConfigAttr::kWgmmaSmemAlign;
  t.stages = TileConfigAttr::wgmmaStages(budget, 0, stageBytes,
                                         TileConfigAttr::kWgmmaMaxStages);
  return t;
}

/// The variants of the small calls: decode, split-K (and its persistent
/// grid), mid-size split-K and two blocks per SM at decode.
struct WgmmaSmallCalls {
  int64_t decodeTokens, decodeSlots, decodeWarps, splitK, splitSlots,
      splitPersistent, midSplitK, midSplitSlots, splitBlocks, sharedSlots;
};
WgmmaSmallCalls chooseWgmmaSmallCalls(const WgmmaShape &s, const WgmmaBase &t,
                                      const ChipInfo &chip,
                                      const Overrides &o) {
  WgmmaSmallCalls c;
  int64_t sliceQuantum =
      s.plain ? t.k : std::max<int64_t>(t.k, s.format.getV());
  // Row selection takes a 16-token decode tile up to 8 routed slots per
  // expert (H200 1:2+2:4 layers with masked rows, same process, against 8
  // tokens up to 4: 1.12-1.15x at T = 64 on the 64-expert models, Mixtral
  // 1.09x at T = 32, 0.98-1.01x elsewhere at T = 1-256; bench/RESULTS.md
  // §S12, run 5).
  int64_t decodeWant = !s.plain && o.decode < 0 ? 16 : o.decode;
  int64_t slotsPerExpert = o.decodeSlots > 0 ? o.decodeSlots
                           : !s.plain        ? kWgmmaMaskedDecodeSlotsPerExpert
                                             : kWgmmaDecodeSlotsPerExpert;
  std::tie(c.decodeTokens, c.decodeSlots) =
      chooseDecode(t.tokens, 1, s.experts, slotsPerExpert, decodeWant);
  // Forced decode warpgroups (`decode-warpgroups`): the decode variants'
  // own row blocks, which the split-K rule then counts.
  int64_t decodeUnitsPerHalf =
      c.decodeTokens > 0
          ? s.unitsFor(o.decodeWarpgroups > 0 ? o.decodeWarpgroups
                       : t.fourRows           ? t.twoWarpgroups
                                              : 0,
                       t.unitsPerHalf)
          : t.unitsPerHalf;
  c.decodeWarps = decodeUnitsPerHalf == t.unitsPerHalf
                      ? 0
                      : 4 * decodeUnitsPerHalf * s.halves;
  // One block per SM: split K until one slot per active expert fills a wave.
  std::tie(c.splitK, c.splitSlots) =
      chooseSplit(s.op, chip, s.rowBlocks(decodeUnitsPerHalf), t.tokens,
                  sliceQuantum, o.split,
                  /*blocksPerSM=*/1, o.splitSlots, o.splitPersistent == 1);
  c.splitPersistent = c.splitK > 1 && o.splitPersistent == 1 ? 1 : 0;
  std::tie(c.midSplitK, c.midSplitSlots) = chooseMidSplit(
      s.op, chip, s.rowBlocks(t.unitsPerHalf), t.tokens, sliceQuantum, c.splitK,
      c.splitSlots, c.splitPersistent, c.decodeSlots, o);
  std::tie(c.splitBlocks, c.sharedSlots) = chooseTwoBlocks(
      chip, o.decodeBlocks,
      c.decodeTokens > 0 &&
          twoDecodeBlocksFit(chip, s.format, decodeUnitsPerHalf * s.halves,
                             c.decodeTokens, t.k),
      s.experts, s.rowBlocks(decodeUnitsPerHalf), c.splitK, c.splitSlots,
      c.decodeTokens, c.decodeSlots);
  // A persistent split grid runs one block per SM.
  if (c.splitPersistent)
    c.splitBlocks = 1;
  return c;
}

/// The persistent grid's variants (WgmmaPersistent).
WgmmaPersistent chooseWgmmaPersistent(const WgmmaShape &s, const WgmmaBase &t,
                                      const WgmmaWide &w, const ChipInfo &chip,
                                      const Overrides &o, int64_t groupTiles) {
  // Persistent grid (one block per SM), whose ring runs on into the
  // block's next tile. A tile with a wide variant takes it by default for
  // the unsplit calls between the decode and wide variants, with `tokens`:
  // row selection always (H200 1:2+2:4 layers, same
  // process: 1.00-1.11x the ordinary grid at T = 128-1024 on six models),
  // plain 2:4 where the block order is not grouped (1.00-1.07x on OLMoE,
  // DeepSeek-V2-Lite, Qwen2-MoE at T = 64-1024; Mixtral, whose experts
  // outgrow the L2, 0.97x at T = 256 even in group_tiles order;
  // bench/RESULTS.md §S15). `persistent` =
  // k > 0 asks for it for every unsplit call instead of the wide variant,
  // with 128-token tiles (m64n128 MMAs, weights read once per 128 tokens)
  // from kWgmmaPersistentSlots routed slots per expert where one
  // accumulator set allows them: against the wide variant 0.96-0.99x on
  // 1:2+2:4 and 0.72-0.91x on plain 2:4, whose persistent grid has two
  // consumer warpgroups, not four (§S15).
  WgmmaPersistent p;
  p.persistent = o.persistent > 0 ? 1 : 0;
  // `persistent-tokens` asks for other tiles than 128 tokens there; with
  // `persistent-units=2` the pairs below trim them to what two units' sets
  // hold, so only a tile left with single units needs them to fit one set.
  int64_t large = o.persistentTokens > 0 ? o.persistentTokens : 128;
  auto fitsOneSet = [&](int64_t tokens) {
    return s.sets * tokens / 2 <=
           TileConfigAttr::wgmmaMaxAccumulators(t.warpgroups);
  };
  if (o.persistent > 0 && o.tokens == 0 &&
      (fitsOneSet(large) || o.persistentUnits == 2)) {
    p.slots = kWgmmaPersistentSlots * s.experts;
    p.tokens = large;
  }
  int64_t wideTokens = w.choice.tokens;
  if (o.persistent < 0 && wideTokens > 0 && (!s.plain || groupTiles == 1))
    p.persistent = 1;
  // The four-warpgroup tile's persistent grid: the two-warpgroup one's.
  if (t.fourRows && p.persistent > 0) {
    int64_t maxAcc = TileConfigAttr::wgmmaMaxAccumulators(w.warpgroups);
    p.warps = 4 * w.warpgroups;
    p.slots = kWgmmaFourRowsSlotsPerExpert * s.experts;
    p.tokens = std::min<int64_t>(64, 2 * maxAcc / s.sets / 8 * 8);
  } else if (FewSlots few = chooseFewSlots(s.op, o, s.masked,
                                           p.persistent > 0 && wideTokens > 0,
                                           s.unitsFor(4, 0) > 0, s.sets);
             few.warps > 0) {
    p.warps = few.warps;
    p.tokens = few.tokens;
    p.slots = few.slots;
  }
  if (p.persistent > 0) {
    PersistentPairs pairs = choosePersistentPairs(
        chip, o, s, t.warpgroups, t.tokens, p.warps, p.tokens, p.slots,
        wideTokens > 0 ? w.choice.slots : 0);
    p.units = pairs.units;
    p.unitsSlots = pairs.unitsSlots;
    p.tokens = pairs.tokens;
    p.slots = pairs.slots;
    if (p.units == 1 && p.tokens == large && !fitsOneSet(large))
      p.tokens = p.slots = 0;
  }
  return p;
}

} // namespace

/// The warpgroup (wgmma_sp) tile: two warpgroups (the gate and up units of
/// the same 64 rows for silu_mul, else 128 kept rows when the tiles pair
/// up), 128-column stages, and as many tokens as the accumulator sets
/// allow up to 64; then the variants of the small, middle and large calls.
TileConfigAttr chooseWgmmaTile(SSMMOp op, const ChipInfo &chip,
                               const Overrides &o, int64_t groupTiles) {
  WgmmaShape s(op, o);
  WgmmaBase t = chooseWgmmaBase(s, chip, o);
  WgmmaSmallCalls c = chooseWgmmaSmallCalls(s, t, chip, o);
  WgmmaWide w = chooseWgmmaWide(s, t, chip, o);
  WgmmaPersistent p = chooseWgmmaPersistent(s, t, w, chip, o, groupTiles);
  WideExtras e = chooseWideExtras(s, t, w, p, o);
  const WideChoice &wide = w.choice;
  return TileConfigAttr::get(
      op.getContext(), 4 * t.warpgroups, t.tokens, t.k, t.stages, 1, 1,
      s.masked ? 1 : 0, c.splitK, c.splitSlots, p.persistent, p.slots, p.tokens,
      c.decodeTokens, c.decodeSlots, c.decodeWarps, /*decodeStages=*/0,
      c.splitBlocks, c.sharedSlots, wide.tokens, wide.slots, groupTiles,
      c.splitPersistent, e.cluster, w.warps, p.warps, e.packed, e.tokenStep,
      c.midSplitK, c.midSplitSlots,
      chooseEvictFirst(op, chip, o.evictFirstExperts), wide.lowTokens,
      wide.lowSlots, wide.units, p.units, p.unitsSlots, e.multicast,
      e.multicastSlots, e.persistent, wide.lowWarps, w.masked ? 1 : 0,
      wide.lowCalls.empty()
          ? DenseI64ArrayAttr()
          : DenseI64ArrayAttr::get(op.getContext(), wide.lowCalls),
      MmaStrategy::WgmmaSp);
}

} // namespace mlir::samoyeds::select_tiles
