//===- SelectTilesRules.h - samoyeds-select-tiles' rules --------*- C++ -*-===//
//
// Private to samoyeds-select-tiles (docs/TileChoice.md): the constants of its
// rules, the pass's overrides, and the choosers shared by SelectTiles.cpp
// (the pass and the rules both strategies use), SelectMmaSpTile.cpp (mma_sp)
// and SelectWgmmaTile.cpp / SelectWgmmaWide.cpp (wgmma_sp).
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_DIALECT_SAMOYEDS_TRANSFORMS_SELECTTILESRULES_H
#define SAMOYEDS_LIB_DIALECT_SAMOYEDS_TRANSFORMS_SELECTTILESRULES_H

#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"
#include "samoyeds/Support/Chip.h"

#include <utility>

namespace mlir::samoyeds::select_tiles {

/// Largest partial-sum workspace a split-K variant may use.
inline constexpr int64_t kSplitWorkspaceBytes = 32 << 20;
/// Shortest K slice of a split-K variant, in columns.
inline constexpr int64_t kMinSliceCols = 512;
/// wgmma_sp's mid-size split-K variant: its K slices, and the shortest slice
/// (in columns) it takes by default. H200 expert matmuls, one expert, same
/// process (bench/RESULTS.md S35): 2 slices 1.3-2.0x the unsplit grid at
/// n = 128-256 on shapes of K >= 2048, but 0.83x at n = 512 with K = 1024.
inline constexpr int64_t kMidSplitK = 2, kMinMidSliceCols = 1024;
/// wgmma_sp: routed slots per expert from which calls take the 128-token
/// persistent variant.
inline constexpr int64_t kWgmmaPersistentSlots = 96;
/// wgmma_sp on plain 2:4 with K no multiple of 128 (its layout pads K to
/// 128-column blocks): where the padding is at most 1/16 of K (gpt-oss's
/// 2880: 2.2%). Not measured below: K = 96 would multiply 33% zeros.
inline constexpr int64_t kMaxPaddedShare = 16;
/// wgmma_sp with routed 1:2 row selection: layers of at most this many
/// experts take four consumer warpgroups from this many routed slots per
/// expert up to the wide variant (chooseWgmmaTile).
inline constexpr int64_t kWgmmaFourRowsExperts = 8,
                         kWgmmaFourRowsSlotsPerExpert = 64;
/// Routed slots per expert from which the unsplit calls take the wide
/// variant, by default: 128, and kFewExpertsWideSlots for plain 2:4 on 2 to
/// kPlainFewExperts experts and row selection on 2 to kWgmmaFourRowsExperts,
/// whose 56- and 64-token grids read an expert's weights once per 56 or 64
/// of its tokens. H200 layers, same process (bench/RESULTS.md S28): 2:4
/// Mixtral 1.15 / 1.23 / 1.27x at T = 256 / 320 / 384 (0.97x at 448),
/// OLMoE 1.10x and Qwen2-MoE 1.28x at T = 768, DeepSeek-V2-Lite 1.09 /
/// 1.11x at T = 768 / 1024; 1:2+2:4 Mixtral 1.05 / 1.04 / 1.03 / 1.44x at
/// T = 256 / 320 / 384 / 448 (packed, three rows per slot), but with 64 or
/// 128 experts 0.97-1.19x (DeepSeek-V2-Lite, OLMoE, Qwen2-MoE) and 0.90x
/// (Qwen3-235B at T = 1024): those keep 128.
inline constexpr int64_t kWideSlotsPerExpert = 128, kFewExpertsWideSlots = 64,
                         kPlainFewExperts = 64;
/// wgmma_sp on plain 2:4: the wide variant's tokens per block where its
/// units pair, unless `wide-tokens` asks for others. Its units pair by
/// default (two 64-row units per consumer warpgroup, the wide variant on
/// two consumer warpgroups where four leave no pairs) and take 144 tokens,
/// not 128: three ring slots still fit and each SM takes in 6% fewer bytes
/// per MMA. H100 layers, same process (bench/RESULTS.md S49, control
/// 0.99-1.04x): against single units (112 tokens on four warpgroups) 1.08
/// / 1.08 / 1.08x on Mixtral at T = 1024 / 2048 / 4096 (pairs of 128: 1.07x at
/// 1024 and 4096), Qwen2-MoE 1.08 / 1.08 / 1.03x, OLMoE 1.09 / 1.03x and
/// Qwen3-235B 1.20 / 1.09x at T = 2048 / 4096; Mixtral 1.21x at T = 1024 in the
/// first A/B (S49 step 2).
inline constexpr int64_t kPlainPairWideTokens = 144;
/// wgmma_sp with routed row selection on more than kWgmmaFourRowsExperts
/// experts: the wide variant's calls up to kWideLowTokens routed slots per
/// expert take kWideLowTokens tokens per block (wide_low_tokens), so an
/// expert of up to 160 routed slots is one tile, not 128 and a sliver;
/// above, 160 makes as many tiles with a ring of three 58 KB slots, not
/// four, so they keep 128. H200 1:2+2:4 layers, same process
/// (bench/RESULTS.md S39): V = 128 DeepSeek-V2 1.10 / 1.12x at T = 3500 /
/// 4096, Qwen2-MoE 1.06x at T = 1024, Qwen3-235B 1.03 / 1.05x at T = 2048 /
/// 2560, OLMoE 1.02 / 1.06x at T = 1024 / 1200, DeepSeek-V2-Lite 1.08 /
/// 1.09x at T = 1400 / 1650, 1.00x above the bound; V = 32 1.11-1.19x; 160
/// tokens above the bound too 0.91x on Qwen3-235B at T = 3072 (192 slots per
/// expert) and 0.89-0.93x on OLMoE and DeepSeek-V2-Lite at T = 2048-4096
/// (S38); Mixtral (8 experts, from 64 slots per expert) 0.74-0.89x (S38).
inline constexpr int64_t kWideLowTokens = 160;
/// wgmma_sp with routed row selection on more than kWgmmaFourRowsExperts
/// experts: the persistent grid's calls below kFewSlotsPerExpert routed
/// slots per expert run four consumer warpgroups (256 kept rows a block,
/// each k tile's activations read once per 256 rows, not 128) with
/// kFewSlotsTokens tokens (two accumulator sets fit the 56 registers four
/// warpgroups leave), the two-warpgroup persistent grid those above. H200
/// 1:2+2:4 layers, same process (bench/RESULTS.md S40, run 2, control
/// 0.99-1.01x; four warpgroups and 48 tokens at every persistent call):
/// Qwen2-MoE 1.02 / 1.04x at T = 128 / 256 (16 / 32 slots per expert),
/// OLMoE 1.02 / 1.04x, DeepSeek-V2-Lite 1.04 / 1.06 / 1.05x at T = 128 /
/// 256 / 384 (12 / 24 / 36), but 0.94-0.95x at 48 slots per expert
/// (Qwen2-MoE and OLMoE at T = 384: an expert past 48 slots takes two
/// tiles, streaming its weights twice); the ordinary grid with the same
/// tile 0.92-1.02x.
inline constexpr int64_t kFewSlotsPerExpert = 40, kFewSlotsTokens = 48;
/// wgmma_sp with routed row selection: the tile's token_step. H200
/// 1:2+2:4 layers, same process (bench/RESULTS.md §S29, run 2, control
/// 0.99-1.02x): Mixtral 1.06 / 1.04x at T = 256 / 320 (16: 1.05 / 1.03x),
/// 0.99-1.01x at T = 64-128 and 448-1024; Qwen2-MoE, OLMoE, DeepSeek-V2-Lite
/// 0.99-1.03x at T = 128-1024.
inline constexpr int64_t kWgmmaTokenStep = 32;
/// Routed slots per expert up to which calls take the decode token tile
/// (H200 same-process A/B, bench/RESULTS.md §S9): mma_sp 1:2+2:4 layers won
/// 1.25-1.81x at 1-8 slots per expert and 1.14x at 9.6 (DeepSeek-V2,
/// T = 256) but lost 7% at 16 (Qwen3-235B, T = 256); wgmma_sp 2:4 layers
/// won 1.03-1.10x at 1-4 and lost 6-50% at 8-16.
inline constexpr int64_t kMmaSpDecodeSlotsPerExpert = 12;
inline constexpr int64_t kWgmmaDecodeSlotsPerExpert = 4,
                         kWgmmaMaskedDecodeSlotsPerExpert = 8;
/// Token tiles per group of the ordinary grid's block order for experts
/// whose packed weight exceeds half the L2 (docs/TileChoice.md).
inline constexpr int64_t kGroupTiles = 16;
/// `wide-packed` when not asked for: 0, gathered rows. Packed gate/up input
/// won on H200 before unit pairs and S40's gather fix (bench/RESULTS.md
/// §S25: 1.08-1.11x on Mixtral, 1.05-1.06x on Qwen2-MoE at T = 512-4096, the
/// default from 10 row blocks until session 51); with both, gathered rows
/// run 1.03-1.04x the packed on Mixtral at T = 256-4096 and 1.06-1.07x on
/// Qwen2-MoE at T = 1024-4096, 0.99-1.01x on DeepSeek-V2-Lite, the other
/// anchors unchanged (H100, same process, control 0.99-1.01x, §S51).
inline constexpr int64_t kWidePackedDefault = 0;

/// Late pairs (`late-pairs=1`): the most token tiles per expert from which
/// a wide variant pairs its units when its first call's paired grid is
/// short of a wave.
inline constexpr int64_t kLatePairsMaxTiles = 8;

/// The persistent grid's unit pairs by default (`persistent-units=-1`):
/// SiLU·up's upper grid (the two-warpgroup persistent grid above the
/// few-slot bound) pairs its gate and up units from
/// kPersistentPairsSlotsPerExpert routed slots per expert where the paired
/// blocks of one token tile an expert take at most kPersistentPairsMaxWaves
/// waves. H100 1:2+2:4 layers, gate/up kernel alone (bench/RESULTS.md §S55,
/// profiled replays, cold L2; pairs against single units): OLMoE (2 waves
/// of pairs) 1.02 / 1.02 / 1.22 / 1.29x at 50 / 70 / 80 / 125 slots per
/// expert, Qwen2-MoE (4.8 waves) 0.96 / 0.99 / 1.17 / 1.07x at 50 / 70 /
/// 110 / 125, Qwen3-235B (5.8 waves) 0.97 / 0.94 / 1.02 / 1.03x at 62 / 87
/// / 100 / 125, DeepSeek-V2 (7.3 waves) 0.79-0.89x at 60-128. The down
/// projection's pairs ran 0.97-1.03x (its time past the gate/up kernel's
/// end) and keep single units. The bound of waves is fitted to these four
/// models, not explained: the profile does not yet say why many waves of
/// pairs lose.
inline constexpr int64_t kPersistentPairsSlotsPerExpert = 80,
                         kPersistentPairsMaxWaves = 5;

/// Early single units: unmasked routed row selection on more than
/// kWgmmaFourRowsExperts experts whose paired blocks of one token tile an
/// expert take more than kPersistentPairsMaxWaves waves (of the anchors
/// DeepSeek-V2's and Qwen3-235B's two projections) starts its wide variant
/// at kEarlySinglesSlotsPerExpert routed slots per expert, with its single
/// units (128 tokens) as the second width up to the pairs' start
/// (kWideSlotsPerExpert): one token tile an expert where the persistent
/// grid's 64-token tiles made two, whose blocks read the same weights
/// apart in time (ncu, bench/RESULTS.md §S56 run 2: DeepSeek-V2's single
/// units read 1.24x the packed weights from DRAM at T = 2800). H100
/// 1:2+2:4 layers, same process, CUDA graphs, median of 7, A/A 1.00x
/// (§S56 run 6, `u1w80n`): DeepSeek-V2 1.05 / 1.07 / 1.09x at T = 2200 /
/// 2800 / 3200, Qwen3-235B 1.03 / 1.05 / 1.03x at 1300 / 1600 / 2000
/// (80-125 slots per expert); the 160-token second width from the same
/// start (`u1w80`) 0.92-1.00x. The rule's own bundles against it off
/// (`wide-slots=128`, §S57): 1.04-1.09x in its range, 0.99-1.01x outside.
inline constexpr int64_t kEarlySinglesSlotsPerExpert = 80;

/// Whether routed row selection whose spans are shorter than the k tile
/// (V = 32) masks its wide widths' group rows by default (`wide-row-masks`
/// = -1). Where spans are shorter than a stage, the routing folds the
/// running sum after every span, so each consumer waits for every MMA.
/// H100, one expert, V = 32, the tile-wide masked form (`row-masks=1`,
/// bench/RESULTS.md S57 run 2): 1.08-1.46x the default on Mixtral's shapes
/// from n = 256 and 1.04-1.20x at n = 4096 on Qwen2-MoE's and the gate/up
/// shapes, 0.79-0.90x at n = 256-1024 on the fine-grained shapes, where its
/// wide variant replaced their persistent grid. The per-variant form
/// (S58, same process, A/A 0.99-1.02x): one expert 1.23-1.45x on Mixtral's
/// shapes from n = 256 / 1024 but 0.79x on Qwen2-MoE's gate/up at 1024 and
/// 0.92 / 0.93x on OLMoE's down at 2048 / 4096; layers (CUDA graphs)
/// 1.03-1.07x at T = 2048-4096 on four models but 0.84-0.94x at the wide
/// variant's first calls (T = 512-1024) and 0.87x on DeepSeek-V2 at 4096.
/// Off: the gains need the routed unit calls below about 256 routed slots
/// per expert and masked single units above.
inline constexpr bool kWideRowMasksByDefault = false;

/// Weight multicast's default threshold (`wide-multicast-slots=-1`): the
/// multicast kernel takes the wide variant's calls from this many token
/// tiles per expert on average (untimed, session 44: with one tile an
/// expert every pair's first block works alone, the wide variant's kernel
/// on a grid of twice the blocks, half of which leave at once).
inline constexpr int64_t kMulticastTilesPerExpert = 2;

/// Plain 2:4's unit calls (`wide-unit-calls`): the per-token speed of its
/// wide unit pairs (144 tokens on two consumer warpgroups) over its single
/// units (112 on four), kPairsGainTenths / 10, by which a call's token
/// rounds of pairs are divided. H100 expert matmuls, one expert, same
/// process (bench/RESULTS.md S53): measured time over token rounds gives
/// pairs 1.08-1.13x per token at five of the points where the two grids
/// differed at n >= 1024 (0.95-0.99x at two more, n = 2048 of the down
/// projections; the one-round calls of n = 1024 fall short of their
/// rounds' ratio, 1.31-1.42x for 1.56x); with this factor the cost picks
/// the faster grid at all nine points where the two differed (pairs 1.42 /
/// 1.31x at n = 1024 on those down projections, single units 1.16-1.19x on
/// Qwen2-MoE's gate/up at n = 1024-2048 and 1.14x on its down at 4096).
/// One expert's routed row selection (session 54) takes the same factor
/// for its pairs of 80 tokens against single units of 128 (not fitted for
/// them: S54 measured pairs 1.51 / 1.20 / 1.01x on Qwen2-MoE's gate/up at
/// n = 1024 / 2048 / 4096 and 0.98-0.99x on Mixtral's down at 1024-4096,
/// as the cost with it chooses).
inline constexpr int64_t kPairsGainTenths = 11;
/// The routed slots per expert up to which `wide-unit-calls` weighs the two
/// widths call by call; above it the pairs take every call.
inline constexpr int64_t kUnitCallsScanSlots = 16384;

/// The pass's overrides of the tile choice (see its options).
struct Overrides {
  int64_t tokens, decode, split, rowTiles, rowMasks, persistent, wideTokens,
      wideSlots, warpgroups, decodeWarpgroups, decodeSlots, decodeBlocks,
      splitPersistent, wideCluster, widePacked, splitSlots, tokenStep,
      midSplitK, midSplitSlots, evictFirstExperts, wideLowTokens, wideLowSlots,
      fewSlots, wideUnits, persistentUnits, latePairs, wideMulticast,
      wideMulticastSlots, wideAccumulators, persistentTokens, widePersistent,
      wideUnitCalls, wideRowMasks, rowWarps, decodeStages, unitTails, padRows;
};

/// One expert's packed weight of `op`, values and metadata, in bytes.
int64_t expertBytes(SSMMOp op);
/// The block order (group_tiles) of `op`'s ordinary grid.
int64_t chooseGroup(SSMMOp op, const ChipInfo &chip, int64_t groupOverride);
/// wgmma_sp's evict_first_experts of `op`.
int64_t chooseEvictFirst(SSMMOp op, const ChipInfo &chip, int64_t forced);
/// The decode token tile (decode_tokens, decode_slots).
std::pair<int64_t, int64_t> chooseDecode(int64_t tokens, int64_t tokenWarps,
                                         int64_t experts,
                                         int64_t slotsPerExpert,
                                         int64_t decodeOverride);
/// The split-K variant (split_k, split_slots).
std::pair<int64_t, int64_t>
chooseSplit(SSMMOp op, const ChipInfo &chip, int64_t rowBlocks, int64_t tokens,
            int64_t sliceQuantum, int64_t splitOverride, int64_t blocksPerSM,
            int64_t slotsOverride, bool persistent = false);
/// wgmma_sp's mid-size split-K variant (mid_split_k, mid_split_slots).
std::pair<int64_t, int64_t>
chooseMidSplit(SSMMOp op, const ChipInfo &chip, int64_t rowBlocks,
               int64_t tokens, int64_t sliceQuantum, int64_t splitK,
               int64_t splitSlots, int64_t splitPersistent, int64_t decodeSlots,
               const Overrides &o);
/// The kept 16-row tiles of each half of `op`'s weight (mma_sp's row tiles).
int64_t mmaSpRowTiles(SSMMOp op);
/// The warp-level (mma_sp) tile of `op` (SelectMmaSpTile.cpp).
TileConfigAttr chooseTile(SSMMOp op, const ChipInfo &chip, const Overrides &o,
                          int64_t groupTiles);
/// Whether the warpgroup strategy serves `op` where the chip has it
/// (SelectWgmmaTile.cpp).
bool wgmmaWins(SSMMOp op, const Overrides &o);
/// The warpgroup (wgmma_sp) tile of `op` (SelectWgmmaTile.cpp).
TileConfigAttr chooseWgmmaTile(SSMMOp op, const ChipInfo &chip,
                               const Overrides &o, int64_t groupTiles);

} // namespace mlir::samoyeds::select_tiles

#endif // SAMOYEDS_LIB_DIALECT_SAMOYEDS_TRANSFORMS_SELECTTILESRULES_H
