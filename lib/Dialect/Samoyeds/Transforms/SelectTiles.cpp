//===- SelectTiles.cpp - Choose expert-matmul tile shapes -----------------===//

#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h"
#include "samoyeds/Support/Chip.h"

#include "mlir/IR/BuiltinOps.h"

#include <algorithm>
#include <limits>

namespace mlir::samoyeds {
#define GEN_PASS_DEF_SAMOYEDSSELECTTILES
#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h.inc"
} // namespace mlir::samoyeds

using namespace mlir;
using namespace mlir::samoyeds;

namespace {
/// Shared memory one mma_sp block may use: about a third of an SM's, as
/// three blocks of 128 threads at ~170 registers fill the register file.
int64_t smemBudget(const ChipInfo &chip) {
  return chip.name == "sm_80" ? 54 * 1024 : 75 * 1024;
}

/// Largest partial-sum workspace a split-K variant may use.
constexpr int64_t kSplitWorkspaceBytes = 32 << 20;
/// Shortest K slice of a split-K variant, in columns.
constexpr int64_t kMinSliceCols = 512;
/// wgmma_sp's mid-size split-K variant: its K slices, and the shortest slice
/// (in columns) it takes by default. H200 expert matmuls, one expert, same
/// process (bench/RESULTS.md S35): 2 slices 1.3-2.0x the unsplit grid at
/// n = 128-256 on shapes of K >= 2048, but 0.83x at n = 512 with K = 1024.
constexpr int64_t kMidSplitK = 2, kMinMidSliceCols = 1024;
/// wgmma_sp: routed slots per expert from which calls take the 128-token
/// persistent variant.
constexpr int64_t kWgmmaPersistentSlots = 96;
/// wgmma_sp with routed 1:2 row selection: layers of at most this many
/// experts take four consumer warpgroups from this many routed slots per
/// expert up to the wide variant (chooseWgmmaTile).
constexpr int64_t kWgmmaFourRowsExperts = 8, kWgmmaFourRowsSlotsPerExpert = 64;
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
constexpr int64_t kWideSlotsPerExpert = 128, kFewExpertsWideSlots = 64,
                  kPlainFewExperts = 64;
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
constexpr int64_t kWideLowTokens = 160;
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
constexpr int64_t kFewSlotsPerExpert = 40, kFewSlotsTokens = 48;
/// wgmma_sp with routed row selection: the tile's token_step. H200
/// 1:2+2:4 layers, same process (bench/RESULTS.md §S29, run 2, control
/// 0.99-1.02x): Mixtral 1.06 / 1.04x at T = 256 / 320 (16: 1.05 / 1.03x),
/// 0.99-1.01x at T = 64-128 and 448-1024; Qwen2-MoE, OLMoE, DeepSeek-V2-Lite
/// 0.99-1.03x at T = 128-1024.
constexpr int64_t kWgmmaTokenStep = 32;
/// Routed slots per expert up to which calls take the decode token tile
/// (H200 same-process A/B, bench/RESULTS.md §S9): mma_sp 1:2+2:4 layers won
/// 1.25-1.81x at 1-8 slots per expert and 1.14x at 9.6 (DeepSeek-V2,
/// T = 256) but lost 7% at 16 (Qwen3-235B, T = 256); wgmma_sp 2:4 layers
/// won 1.03-1.10x at 1-4 and lost 6-50% at 8-16.
constexpr int64_t kMmaSpDecodeSlotsPerExpert = 12;
constexpr int64_t kWgmmaDecodeSlotsPerExpert = 4,
                  kWgmmaMaskedDecodeSlotsPerExpert = 8;
/// Token tiles per group of the ordinary grid's block order for experts
/// whose packed weight exceeds half the L2 (docs/TileChoice.md).
constexpr int64_t kGroupTiles = 16;
/// Row blocks of the wide tile from which a row-selected matmul that gathers
/// its input reads it packed (wide_packed) by default. H200 1:2+2:4 layers,
/// same process (bench/RESULTS.md §S25, runs 2 and 4): packed gate/up input
/// 1.08x / 1.08x / 1.11x on Mixtral at T = 512 / 1024 / 4096 (112 row
/// blocks), 1.05x / 1.06x on Qwen2-MoE at T = 1024 / 4096 (20), 1.00-1.02x
/// on Qwen3-235B and DeepSeek-V2 (12) and DeepSeek-V2-Lite (11) at T =
/// 2048 / 4096, but 0.98x / 1.00x on OLMoE (8); plain 2:4 0.94-1.04x, so
/// never.
constexpr int64_t kWidePackedRowBlocks = 10;

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
            int64_t slotsOverride, bool persistent = false) {
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

/// The pass's overrides of the tile choice (see its options).
struct Overrides {
  int64_t tokens, decode, split, rowTiles, rowMasks, persistent, wideTokens,
      wideSlots, warpgroups, decodeWarpgroups, decodeSlots, decodeBlocks,
      splitPersistent, wideCluster, widePacked, splitSlots, tokenStep,
      midSplitK, midSplitSlots, evictFirstExperts, wideLowTokens, wideLowSlots,
      fewSlots, wideUnits, persistentUnits;
};

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

/// The tile table. A block covers `warps` row tiles of 16 kept rows (per
/// half for silu_mul) by `tokens` routed tokens split among `token_warps`
/// warps per row tile; a pipeline stage covers `k` columns. The k tile must
/// divide or be divided by the span so that span ends fall at fixed steps of
/// a stage.
TileConfigAttr chooseTile(SSMMOp op, const ChipInfo &chip, const Overrides &o,
                          int64_t groupTiles) {
  SparseFormatAttr format = op.getFormat();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t cols = wType.getDimSize(2);
  int64_t k =
      (cols % 64 == 0 && (format.isPlain24() || format.getV() % 64 == 0 ||
                          64 % format.getV() == 0))
          ? 64
          : 32;
  // Tokens per block: 64 halves the weight re-reads when an expert gets
  // more than 32 tokens. The gate/up kernel with row selection keeps 32: at
  // 64 its gate, up, per-row and span accumulators take 255 registers, two
  // blocks per SM, and decode got slower (H100, Mixtral 1:2 T = 16 0.46 ->
  // 0.54 ms); plain 2:4 gate/up at 64 tokens takes 126 registers and reads
  // w13 once for Mixtral's ~64-token experts (T = 256 1.38 -> 0.96 ms).
  // One token warp per row tile: two token warps (256 threads, 128 tokens)
  // left one block of ~170 registers a thread per SM and made every layer
  // slower (Mixtral 1:2 T = 16 0.44 -> 0.79 ms).
  bool siluMul = op.getEpilogue() == EpilogueKind::SiluMul;
  bool rowSelect = !format.isPlain24();
  int64_t tokens = o.tokens > 0 ? o.tokens : siluMul && rowSelect ? 32 : 64;
  // The block's row warps must tile the kept rows exactly.
  int64_t halves = siluMul ? 2 : 1;
  int64_t tiles = wType.getDimSize(1) / format.getM() * format.getN() / halves /
                  SparseFormatAttr::kMmaRows;
  int64_t warps = tiles % 4 == 0 ? 4 : tiles % 2 == 0 ? 2 : 1;
  // Row selection by masked mma.sp: a total and m - 1 masked accumulators
  // instead of m accumulators and the span partials (H100 A/B, same call,
  // 1:2+2:4 layers: 1.05-1.12x faster at T <= 256 on all four models,
  // 127-128 registers instead of 163-164; Mixtral 0.92-0.98x at
  // T >= 1024). The row-masks option forces it (0: span routing).
  int64_t rowMasks = rowSelect && o.rowMasks != 0 ? 1 : 0;
  // Weight fragments stream through shared memory with the activations: up
  // to 6 stages within the chip's budget (more bytes in flight per SM for
  // the weight stream at decode sizes).
  auto smemBytes = [&](int64_t s) {
    return TileConfigAttr::mmaSpSmemBytes(
        s, tokens, k, warps, halves, rowMasks != 0,
        std::max<int64_t>(1, k / format.getV()));
  };
  int64_t stages = 6;
  while (stages > 2 && smemBytes(stages) > smemBudget(chip))
    --stages;
  int64_t blockSmem = smemBytes(stages);
  // Split slots are counted in the tile's tokens (a single expert's bound is
  // its unsplit grid's token tiles); the split-K variant takes the decode
  // tile when its calls are decode calls (split_slots <= decode_slots).
  int64_t sliceQuantum = rowSelect ? std::max(k, format.getV()) : k;
  auto [splitK, splitSlots] =
      chooseSplit(op, chip, tiles / warps, tokens, sliceQuantum, o.split,
                  /*blocksPerSM=*/2, o.splitSlots);
  // Warps of R row tiles: the same block of `warps` row tiles by `tokens`
  // tokens and the same threads, as warps / R row warps of R tiles by R
  // token warps, so each activation fragment a warp loads feeds R row tiles.
  // R = 2 for plain 2:4 (H100 A/B, same run: layers 1.02-1.17x faster at
  // T = 16-4096, 163-167 registers); 1 with row selection, whose per-row
  // accumulators then take 231-235 registers, two blocks per SM, and every
  // layer was 9-27% slower.
  // With masked row selection two row tiles per warp took 166-168
  // registers and lost to one at T >= 256 (same A/B).
  int64_t want = o.rowTiles > 0 ? o.rowTiles : rowSelect ? 1 : 2;
  int64_t rowTiles = 1, tokenWarps = 1;
  if (want > 1 && warps % want == 0 && tokens % (8 * want) == 0) {
    rowTiles = tokenWarps = want;
    warps /= want;
  }
  int64_t experts = wType.getDimSize(0);
  auto [decodeTokens, decodeSlots] = chooseDecode(
      tokens, tokenWarps, experts,
      o.decodeSlots > 0 ? o.decodeSlots : kMmaSpDecodeSlotsPerExpert, o.decode);
  // Persistent grid (blocks per SM, as many as fit the SM's shared memory;
  // only where the pipeline can run on into the next tile: at least
  // stages - 1 k tiles). Chosen for row selection with at least 8 experts
  // from 64 routed slots per expert (128 with spans under 64 columns).
  // Same-process H100 A/B of 3 blocks per SM for every unsplit call
  // (bench/logs/2026-11-24-h100-ab-persistent-v4), layers of 8-64 experts:
  // 1:2+2:4 V=128 1.04-1.15x faster from 64 (Mixtral) or 96-128 (the
  // 64-expert models) slots per expert, 0.97-0.99x below; V=32 0.92x at 64
  // (Mixtral T=256), 1.01-1.06x from 128 on Mixtral and Qwen2; plain 2:4
  // 0.88-0.99x on the 64-expert models, so never. Single-expert matmuls
  // were 1.05-1.5x slower persistent at n = 256-4096 (bench run k), so
  // never below 8 experts. A forced k applies to every unsplit call.
  // The persistent gate/up with row selection takes 64-token tiles (the
  // other variants 32): 253-255 registers, so two blocks per SM, but w13
  // read half as often (Mixtral 1:2, same-process A/B against 32-token
  // persistent tiles, bench/logs/2026-11-24-h100-ab-persistent-t64-mixtral:
  // T = 256 1.03x, T = 1024 1.09x).
  int64_t blocks = o.persistent, persistentSlots = 0, persistentTokens = 0;
  if (o.persistent < 0) {
    blocks = rowSelect && experts >= 8 ? 3 : 0;
    persistentSlots = (format.getV() >= 64 ? 64 : 128) * experts;
    if (siluMul && rowSelect && o.tokens == 0 && tokens < 64)
      persistentTokens = 64;
  }
  int64_t persistentSmem =
      blockSmem + (persistentTokens > 0
                       ? stages * (persistentTokens - tokens) * (k + 8) * 2
                       : 0);
  int64_t persistent = 0;
  if (blocks > 0 && cols / k >= stages - 1)
    persistent = std::min(
        blocks, chip.smemPerSM / (persistentSmem + chip.smemReservedPerBlock));
  if (persistent == 0)
    persistentSlots = persistentTokens = 0;
  return TileConfigAttr::get(
      op.getContext(), warps, tokens, k, stages, tokenWarps, rowTiles, rowMasks,
      splitK, splitSlots, persistent, persistentSlots, persistentTokens,
      decodeTokens, decodeSlots, /*decodeWarps=*/0, /*splitBlocks=*/1,
      /*sharedSlots=*/0,
      /*wideTokens=*/0, /*wideSlots=*/0, groupTiles, /*splitPersistent=*/0,
      /*wideCluster=*/1, /*wideWarps=*/0,
      /*persistentWarps=*/0, /*widePacked=*/0, /*tokenStep=*/0,
      /*midSplitK=*/1, /*midSplitSlots=*/0, /*evictFirstExperts=*/0,
      /*wideLowTokens=*/0, /*wideLowSlots=*/0, /*wideUnits=*/1,
      /*persistentUnits=*/1, MmaStrategy::MmaSp);
}

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
  // Wide token tile: the unsplit calls of at least
  // `wide-slots` routed slots per expert take as many tokens per block as
  // one accumulator set allows, at most 128, or the `wide-tokens` asked for
  // (rounded up to a multiple of 8) where they fit; not with a persistent
  // grid asked for. 128 tokens (two warpgroups) ran 1.12-1.25x 64 at T =
  // 1024-4096, 192 0.79-1.01x; four warpgroups with 112 tokens
  // another 1.02-1.29x (H200, bench/RESULTS.md §S11).
  int64_t wideWarpgroups = fourRows ? twoWarpgroups : warpgroups;
  int64_t maxAcc = TileConfigAttr::wgmmaMaxAccumulators(wideWarpgroups);
  // The wide tokens where each consumer warpgroup holds `unitSets` sets.
  auto wideFor = [&](int64_t unitSets) -> int64_t {
    int64_t wide = o.wideTokens >= 0
                       ? llvm::divideCeil(o.wideTokens, 8) * 8
                       : std::min<int64_t>(128, 2 * maxAcc / unitSets / 8 * 8);
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
  // Unit pairs (`wide-units=2`): each wide consumer warpgroup multiplies
  // two 64-row units where the tile is unmasked, has no clusters, the
  // 64-row tiles of each half divide among the pairs, two units' sets
  // leave a wide width and the paired grid of the wide variant's first
  // call (its slots spread evenly over the experts) fills the SMs
  // (pairsFillWave).
  auto pairsFill = [&] {
    int64_t tokens2 = wideFor(2 * sets);
    int64_t rowBlocks2 = tiles * halves / (2 * wideWarpgroups);
    return tokens2 > 0 &&
           pairsFillWave(chip, rowBlocks2 * experts *
                                   llvm::divideCeil(widePerExpert, tokens2));
  };
  int64_t wideUnits = o.wideUnits == 2 && !masked && o.wideCluster == 1 &&
                              tiles % (2 * wideWarpgroups / halves) == 0 &&
                              pairsFill()
                          ? 2
                          : 1;
  int64_t wideTokens = wideFor(wideUnits * sets);
  int64_t wideSlots = wideTokens > 0 ? widePerExpert * experts : 0;
  auto [wideLowTokens, wideLowSlots] = chooseWideLow(
      op, o, masked, wideTokens, wideSlots, tokens, wideUnits * sets, maxAcc);
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
              (tiles * halves / wideWarpgroups) % o.wideCluster == 0
          ? o.wideCluster
          : 1;
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
      wideLowTokens, wideLowSlots, wideUnits, persistentUnits,
      MmaStrategy::WgmmaSp);
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
            /*decodeWarps=*/0, /*splitBlocks=*/1, /*sharedSlots=*/0,
            /*wideTokens=*/0, /*wideSlots=*/0, /*groupTiles=*/1,
            /*splitPersistent=*/0, /*wideCluster=*/1, /*wideWarps=*/0,
            /*persistentWarps=*/0, /*widePacked=*/0, /*tokenStep=*/0,
            /*midSplitK=*/1, /*midSplitSlots=*/0, /*evictFirstExperts=*/0,
            /*wideLowTokens=*/0, /*wideLowSlots=*/0, /*wideUnits=*/1,
            /*persistentUnits=*/1, forced.value_or(MmaStrategy::MmaSp))))
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
        !inRange("wide-units", wideUnits, 1, 2) ||
        !inRange("persistent-units", persistentUnits, 1, 2) ||
        !inRange("wide-packed", widePacked, -1, 2) ||
        !inRange("token-step", tokenStep, -1, 256))
      return signalPassFailure();
    if (tokenStep > 0 && tokenStep % TileConfigAttr::kTokenQuantum != 0) {
      optionError() << "samoyeds-select-tiles: token-step = "
                    << static_cast<int64_t>(tokenStep)
                    << " must be a multiple of "
                    << TileConfigAttr::kTokenQuantum;
      return signalPassFailure();
    }
    Overrides overrides{
        tokens,          decodeTokens,     splitK,        rowTiles,
        rowMasks,        persistent,       wideTokens,    wideSlots,
        warpgroups,      decodeWarpgroups, decodeSlots,   decodeBlocks,
        splitPersistent, wideCluster,      widePacked,    splitSlots,
        tokenStep,       midSplitK,        midSplitSlots, evictFirstExperts,
        wideLowTokens,   wideLowSlots,     fewSlots,      wideUnits,
        persistentUnits};
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
      int64_t group = chooseGroup(op, *target, groupTiles);
      op.setTileAttr(wgmma ? chooseWgmmaTile(op, *target, overrides, group)
                           : chooseTile(op, *target, overrides, group));
    });
  }
};
} // namespace
