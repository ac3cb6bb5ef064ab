//===- SelectWgmmaTile.cpp - samoyeds-select-tiles' wgmma_sp tile ---------===//
//
// The Hopper warpgroup (wgmma_sp) tile of an expert matmul and the rules of
// its variants (docs/TileChoice.md).
//
//===----------------------------------------------------------------------===//

#include "SelectTilesRules.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::select_tiles;

namespace mlir::samoyeds::select_tiles {
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
/// dividing one another.
bool wgmmaFits(SSMMOp op) {
  SparseFormatAttr format = op.getFormat();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t halves = op.getEpilogue() == EpilogueKind::SiluMul ? 2 : 1;
  int64_t kept = wType.getDimSize(1) / format.getM() * format.getN();
  int64_t v = format.getV();
  bool spans = format.isPlain24() || v % 128 == 0 || 128 % v == 0;
  return (format.getN() == 1 || format.isPlain24()) &&
         kept % (halves * 64) == 0 && wType.getDimSize(2) % 128 == 0 && spans;
}

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
  int64_t lowSlots = (o.wideLowSlots > 0 ? o.wideLowSlots : low) * experts;
  if (low == 0 || wideTokens == 0 || o.wideCluster != 1 || low <= tokens ||
      low == wideTokens || sets * low / 2 > maxAcc || lowSlots < wideSlots)
    return {0, 0};
  return {low, lowSlots};
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

/// Whether a grid of unit pairs, `blocks` tiles at the first call of its
/// variant, fills three quarters of a wave of the chip's SMs: pairs halve a
/// tile's row blocks (Mixtral's 1:2+2:4 down projection would keep 64
/// blocks for 132 SMs at its wide variant's 64 slots per expert).
bool pairsFillWave(const ChipInfo &chip, int64_t blocks) {
  return 4 * blocks >= 3 * chip.smCount;
}

/// wgmma_sp's unit pairs on the persistent grid (persistent_units) and the
/// persistent tokens they leave: pairs (`persistent-units=2`) for its
/// variants of two consumer warpgroups (the tile's `warpgroups`, or
/// `persistentWarps` = 8) where the tile is unmasked, the `tiles` 64-row
/// tiles of each half divide among the pairs, two units' `sets` of the
/// tile's `tokens` fit and the paired tiles of one token tile an expert fill
/// the SMs (pairsFillWave). The opt-in persistent grid's 128-token tiles
/// become as many tokens as two units' sets hold.
struct PersistentPairs {
  int64_t units = 1, tokens = 0, slots = 0;
};
PersistentPairs choosePersistentPairs(const ChipInfo &chip, const Overrides &o,
                                      bool masked, int64_t experts,
                                      int64_t tiles, int64_t halves,
                                      int64_t sets, int64_t warpgroups,
                                      int64_t tokens, int64_t persistentWarps,
                                      int64_t persistentTokens,
                                      int64_t persistentSlots) {
  PersistentPairs pairs{1, persistentTokens, persistentSlots};
  int64_t pairTokens =
      2 * TileConfigAttr::wgmmaMaxAccumulators(2) / (2 * sets) / 8 * 8;
  if (o.persistentUnits != 2 || masked ||
      (warpgroups != 2 && persistentWarps != 8) || tiles % (4 / halves) != 0 ||
      tokens > pairTokens || !pairsFillWave(chip, tiles * halves / 4 * experts))
    return pairs;
  pairs.units = 2;
  if (persistentTokens > pairTokens) {
    pairs.tokens = pairTokens > tokens ? pairTokens : 0;
    if (pairs.tokens == 0)
      pairs.slots = 0;
  }
  return pairs;
}

/// Whether the wide variant's unit pairs are asked for: `wide-units` = 2,
/// or by default (-1) on every format where no clusters are (a cluster
/// takes pairs only where `wide-units` = 2 asks for them).
bool pairsAsked(const Overrides &o) {
  return o.wideUnits == 2 || (o.wideUnits <= 0 && o.wideCluster == 1);
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
struct WideChoice {
  int64_t tokens = 0, slots = 0, units = 1, lowTokens = 0, lowSlots = 0;
};
WideChoice chooseWide(SSMMOp op, const ChipInfo &chip, const Overrides &o,
                      bool masked, bool plain, int64_t tiles, int64_t halves,
                      int64_t sets, int64_t tokens, int64_t wideWarpgroups) {
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
  int64_t tokens2 = wideFor(2 * sets);
  int64_t rowBlocks2 = tiles * halves / (2 * wideWarpgroups);
  // Whether the paired grid of `tileCount` token tiles an expert fills.
  auto pairsFill = [&](int64_t tileCount) {
    return tokens2 > 0 && pairsFillWave(chip, rowBlocks2 * experts * tileCount);
  };
  bool pairable =
      pairsAsked(o) && !masked && tiles % (2 * wideWarpgroups / halves) == 0;
  int64_t firstTiles =
      tokens2 > 0 ? llvm::divideCeil(widePerExpert, tokens2) : 0;
  int64_t wideUnits = pairable && pairsFill(firstTiles) ? 2 : 1;
  WideChoice wide;
  wide.units = wideUnits;
  wide.tokens = wideFor(wideUnits * sets);
  wide.slots = wide.tokens > 0 ? widePerExpert * experts : 0;
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
      wide.lowSlots = (c - 1) * tokens2 * experts;
      wide.units = 2;
      wide.tokens = tokens2;
      break;
    }
  }
  return wide;
}

} // namespace

/// Where the warpgroup strategy is the default (docs/TileChoice.md has the
/// same-process H200 A/B behind it): every plain 2:4 shape it fits (1.0-1.46x
/// mma_sp on four models at T = 1-4096, but for OLMoE at T = 1); row
/// selection where m divides 16 at any expert count (there masked group rows
/// ran 1.14-1.37x the first span routing on Mixtral at every T, and on the
/// 64-160-expert models 1.27-1.68x mma_sp at T = 1024-4096 and 0.98-1.24x at
/// T = 256, 0.77-0.98x at T = 1-64; today's routing runs 0.98-1.20x masked
/// rows, §S20), other m with at most 8 experts (with 64 experts
/// mma_sp's several blocks per SM won at T <= 256 by 8-25% against the first
/// span routing), and wherever masked rows are asked for.
bool wgmmaWins(SSMMOp op, const Overrides &o) {
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  SparseFormatAttr format = op.getFormat();
  return wgmmaFits(op) && (format.isPlain24() || 16 % format.getM() == 0 ||
                           wgmmaMasked(format, o) || wType.getDimSize(0) <= 8);
}

/// The warpgroup (wgmma_sp) tile: two warpgroups (the gate and up units of
/// the same 64 rows for silu_mul, else 128 kept rows when the tiles pair
/// up), 128-column stages, and as many tokens as the accumulator sets
/// allow up to 64.
TileConfigAttr chooseWgmmaTile(SSMMOp op, const ChipInfo &chip,
                               const Overrides &o, int64_t groupTiles) {
  SparseFormatAttr format = op.getFormat();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  bool siluMul = op.getEpilogue() == EpilogueKind::SiluMul;
  int64_t halves = siluMul ? 2 : 1;
  int64_t tiles =
      wType.getDimSize(1) / format.getM() * format.getN() / halves / 64;
  // Consumer warpgroups per half: `want` where the 64-row tiles of each
  // half divide among them, else `otherwise`.
  auto unitsFor = [&](int64_t want, int64_t otherwise) {
    return want > 0 && want % halves == 0 && tiles % (want / halves) == 0
               ? want / halves
               : otherwise;
  };
  // Four consumer warpgroups for plain 2:4 (256 kept rows a block; same-
  // process H200 A/B in docs/TileChoice.md) unless a persistent grid or
  // more forced tokens than their accumulators hold are asked for, or the
  // forced count (`warpgroups`).
  bool plain = format.isPlain24();
  bool fourFit = o.persistent <= 0 &&
                 o.tokens / 2 <= TileConfigAttr::wgmmaMaxAccumulators(4);
  int64_t twoPerHalf = siluMul || tiles % 2 != 0 ? 1 : 2;
  int64_t twoWarpgroups = twoPerHalf * halves;
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
  int64_t experts = wType.getDimSize(0);
  bool fourRows = format.getN() == 1 && format.getM() == 2 &&
                  !wgmmaMasked(format, o) &&
                  (o.warpgroups == 4 || (o.warpgroups == 0 && experts > 1 &&
                                         experts <= kWgmmaFourRowsExperts)) &&
                  o.persistent < 0 && o.tokens == 0 && o.wideTokens != 0 &&
                  unitsFor(4, 0) > 0;
  int64_t unitsPerHalf = unitsFor(o.warpgroups > 0 ? o.warpgroups
                                  : (plain && fourFit) || fourRows ? 4
                                                                   : 0,
                                  twoPerHalf);
  int64_t warpgroups = unitsPerHalf * halves;
  int64_t k = 128;
  bool masked = wgmmaMasked(format, o);
  int64_t sets = TileConfigAttr::wgmmaAccumulatorSets(format);
  int64_t tokens =
      o.tokens > 0
          ? o.tokens
          : std::min<int64_t>(
                64, 2 * TileConfigAttr::wgmmaMaxAccumulators(warpgroups) /
                        sets / 8 * 8);
  // One block per SM (its registers fill the SM): as many ring slots (a
  // weight block and metadata per warpgroup, the gathered tokens, two
  // mbarriers) as its shared memory holds, at most 6.
  int64_t stageBytes = TileConfigAttr::wgmmaSlotBytes(
      warpgroups, tokens, k,
      TileConfigAttr::wgmmaChoiceSpans(format.getV(), k, !plain));
  int64_t budget = chip.smemPerBlock - TileConfigAttr::kWgmmaSmemAlign;
  int64_t stages = TileConfigAttr::wgmmaStages(budget, 0, stageBytes,
                                               TileConfigAttr::kWgmmaMaxStages);
  int64_t sliceQuantum =
      format.isPlain24() ? k : std::max<int64_t>(k, format.getV());
  // Row selection takes a 16-token decode tile up to 8 routed slots per
  // expert (H200 1:2+2:4 layers with masked rows, same process, against 8
  // tokens up to 4: 1.12-1.15x at T = 64 on the 64-expert models, Mixtral
  // 1.09x at T = 32, 0.98-1.01x elsewhere at T = 1-256; bench/RESULTS.md
  // §S12, run 5).
  int64_t decodeWant = !plain && o.decode < 0 ? 16 : o.decode;
  int64_t slotsPerExpert = o.decodeSlots > 0 ? o.decodeSlots
                           : !plain          ? kWgmmaMaskedDecodeSlotsPerExpert
                                             : kWgmmaDecodeSlotsPerExpert;
  auto [decodeTokens, decodeSlots] =
      chooseDecode(tokens, 1, wType.getDimSize(0), slotsPerExpert, decodeWant);
  // Forced decode warpgroups (`decode-warpgroups`): the decode variants'
  // own row blocks, which the split-K rule then counts.
  int64_t decodeUnitsPerHalf =
      decodeTokens > 0 ? unitsFor(o.decodeWarpgroups > 0 ? o.decodeWarpgroups
                                  : fourRows             ? twoWarpgroups
                                                         : 0,
                                  unitsPerHalf)
                       : unitsPerHalf;
  int64_t decodeWarps =
      decodeUnitsPerHalf == unitsPerHalf ? 0 : 4 * decodeUnitsPerHalf * halves;
  // One block per SM: split K until one slot per active expert fills a wave.
  auto [splitK, splitSlots] = chooseSplit(
      op, chip, tiles / decodeUnitsPerHalf, tokens, sliceQuantum, o.split,
      /*blocksPerSM=*/1, o.splitSlots, o.splitPersistent == 1);
  int64_t splitPersistent = splitK > 1 && o.splitPersistent == 1 ? 1 : 0;
  auto [midSplitK, midSplitSlots] =
      chooseMidSplit(op, chip, tiles / unitsPerHalf, tokens, sliceQuantum,
                     splitK, splitSlots, splitPersistent, decodeSlots, o);
  auto [splitBlocks, sharedSlots] = chooseTwoBlocks(
      chip, o.decodeBlocks,
      decodeTokens > 0 &&
          twoDecodeBlocksFit(chip, format, decodeUnitsPerHalf * halves,
                             decodeTokens, k),
      wType.getDimSize(0), tiles / decodeUnitsPerHalf, splitK, splitSlots,
      decodeTokens, decodeSlots);
  // A persistent split grid runs one block per SM.
  if (splitPersistent)
    splitBlocks = 1;
  // Persistent grid (one block per SM), whose ring runs on into the
  // block's next tile. A tile with a wide variant takes it by default for
  // the unsplit calls between the decode and wide variants, with `tokens`
  // (set below): row selection always (H200 1:2+2:4 layers, same
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
  int64_t persistent = o.persistent > 0 ? 1 : 0;
  int64_t persistentSlots = 0, persistentTokens = 0;
  if (o.persistent > 0 && o.tokens == 0 &&
      sets * 128 / 2 <= TileConfigAttr::wgmmaMaxAccumulators(warpgroups)) {
    persistentSlots = kWgmmaPersistentSlots * wType.getDimSize(0);
    persistentTokens = 128;
  }
  // Wide token tile (chooseWide). Plain 2:4's pairs (by default since
  // session 49) take the wide variant to two consumer warpgroups of two
  // units each (256 kept rows, kPlainPairWideTokens tokens) where they pair,
  // while its other variants keep four.
  int64_t wideWarpgroups = fourRows ? twoWarpgroups : warpgroups;
  WideChoice wide = chooseWide(op, chip, o, masked, plain, tiles, halves, sets,
                               tokens, wideWarpgroups);
  if (plain && pairsAsked(o) && wide.units == 1 && warpgroups > twoWarpgroups) {
    WideChoice two = chooseWide(op, chip, o, masked, plain, tiles, halves, sets,
                                tokens, twoWarpgroups);
    if (two.units == 2) {
      wide = two;
      wideWarpgroups = twoWarpgroups;
    }
  }
  int64_t maxAcc = TileConfigAttr::wgmmaMaxAccumulators(wideWarpgroups);
  int64_t wideTokens = wide.tokens, wideSlots = wide.slots,
          wideUnits = wide.units, wideLowTokens = wide.lowTokens,
          wideLowSlots = wide.lowSlots;
  if (o.persistent < 0 && wideTokens > 0 && (!plain || groupTiles == 1))
    persistent = 1;
  // The four-warpgroup tile's persistent grid: the two-warpgroup one's.
  int64_t persistentWarps = 0;
  if (fourRows && persistent > 0) {
    persistentWarps = 4 * wideWarpgroups;
    persistentSlots = kWgmmaFourRowsSlotsPerExpert * experts;
    persistentTokens = std::min<int64_t>(64, 2 * maxAcc / sets / 8 * 8);
  } else if (FewSlots few =
                 chooseFewSlots(op, o, masked, persistent > 0 && wideTokens > 0,
                                unitsFor(4, 0) > 0, sets);
             few.warps > 0) {
    persistentWarps = few.warps;
    persistentTokens = few.tokens;
    persistentSlots = few.slots;
  }
  int64_t persistentUnits = 1;
  if (persistent > 0) {
    PersistentPairs pairs = choosePersistentPairs(
        chip, o, masked, experts, tiles, halves, sets, warpgroups, tokens,
        persistentWarps, persistentTokens, persistentSlots);
    persistentUnits = pairs.units;
    persistentTokens = pairs.tokens;
    persistentSlots = pairs.slots;
  }
  int64_t wideWarps =
      wideTokens > 0 && wideWarpgroups != warpgroups ? 4 * wideWarpgroups : 0;
  // Cluster pairs of the wide variant (`wide-cluster`): where the row blocks
  // of each half pair up and each block gathers whole 8-row groups.
  int64_t wideCluster =
      wideTokens > 0 && wideTokens % (8 * o.wideCluster) == 0 &&
              (tiles * halves / (wideWarpgroups * wideUnits)) % o.wideCluster ==
                  0
          ? o.wideCluster
          : 1;
  // Weight multicast (`wide-multicast`): where there are no cluster pairs
  // and the wide variant's block holds whole pairs of units (one half per
  // block of the cluster), for its calls from `wide-multicast-slots`, by
  // default where the experts average kMulticastTilesPerExpert token tiles
  // (an expert's last group of one tile has one block working alone).
  bool evenUnits = (wideWarpgroups * wideUnits) % o.wideMulticast == 0;
  int64_t wideMulticast =
      wideTokens > 0 && wideCluster == 1 && evenUnits ? o.wideMulticast : 1;
  int64_t wideMulticastSlots =
      wideMulticast == 1 ? 0
      : o.wideMulticastSlots >= 0
          ? o.wideMulticastSlots
          : std::min<int64_t>(kMulticastTilesPerExpert * wideTokens * experts,
                              1 << 20);
  // A packed wide input (`wide-packed`: 1 for gathered inputs, 2 for
  // every input; by default gathered inputs of routed row selection whose
  // wide tile has many row blocks): its workspace of two or three rows per
  // routed slot holds the padded tiles of every call from experts ×
  // (wide_tokens - 1) / 2 slots (widePackedRowsPerSlot).
  bool packable =
      wideTokens > 0 &&
      TileConfigAttr::widePackedRowsPerSlot(experts, wideTokens, wideSlots) >
          0 &&
      (wideLowTokens == 0 || TileConfigAttr::widePackedRowsPerSlot(
                                 experts, wideLowTokens, wideSlots) > 0);
  int64_t wideRowBlocks = tiles * halves / (wideWarpgroups * wideUnits);
  int64_t packMode = o.widePacked >= 0 ? o.widePacked
                     : !plain && !masked && wideCluster == 1 &&
                             wideRowBlocks >= kWidePackedRowBlocks
                         ? 1
                         : 0;
  int64_t widePacked =
      packable && (packMode == 2 || (packMode == 1 && op.getTokens())) ? 1 : 0;
  // Token steps (`token-step`): a block's MMAs (and packed copies) cover
  // its tile's tokens rounded up to the step, not the variant's tokens.
  int64_t tokenStep = wideCluster > 1     ? 0
                      : o.tokenStep >= 0  ? o.tokenStep
                      : !plain && !masked ? kWgmmaTokenStep
                                          : 0;
  return TileConfigAttr::get(
      op.getContext(), 4 * warpgroups, tokens, k, stages, 1, 1, masked ? 1 : 0,
      splitK, splitSlots, persistent, persistentSlots, persistentTokens,
      decodeTokens, decodeSlots, decodeWarps, splitBlocks, sharedSlots,
      wideTokens, wideSlots, groupTiles, splitPersistent, wideCluster,
      wideWarps, persistentWarps, widePacked, tokenStep, midSplitK,
      midSplitSlots, chooseEvictFirst(op, chip, o.evictFirstExperts),
      wideLowTokens, wideLowSlots, wideUnits, persistentUnits, wideMulticast,
      wideMulticastSlots, MmaStrategy::WgmmaSp);
}

} // namespace mlir::samoyeds::select_tiles
