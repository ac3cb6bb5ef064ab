//===- SelectMmaSpTile.cpp - samoyeds-select-tiles' mma_sp tile -----------===//
//
// The warp-level (mma_sp) tile of an expert matmul (docs/TileChoice.md).
//
//===----------------------------------------------------------------------===//

#include "SelectTilesRules.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::select_tiles;

namespace {
/// Shared memory one mma_sp block may use: about a third of an SM's, as
/// three blocks of 128 threads at ~170 registers fill the register file.
int64_t smemBudget(const ChipInfo &chip) {
  return chip.name == "sm_80" ? 54 * 1024 : 75 * 1024;
}
} // namespace

namespace mlir::samoyeds::select_tiles {

int64_t mmaSpRowTiles(SSMMOp op) {
  SparseFormatAttr format = op.getFormat();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t halves = op.getEpilogue() == EpilogueKind::SiluMul ? 2 : 1;
  return wType.getDimSize(1) / format.getM() * format.getN() / halves /
         SparseFormatAttr::kMmaRows;
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
  // Row selection keeps m accumulator sets per output row: fewer tokens
  // where more would spill (m = 16 at 64 tokens: 7 KB of stack a thread).
  int64_t sets = rowSelect ? format.getM() : 1;
  auto accumulators = [&](int64_t t) {
    return TileConfigAttr::mmaSpAccumulators(t, halves, sets);
  };
  if (o.tokens <= 0)
    while (tokens > 8 &&
           accumulators(tokens) > TileConfigAttr::kMmaSpMaxAccumulators)
      tokens /= 2;
  // Row tiles per block: 4 where they divide each half's kept 16-row tiles,
  // else 2 or 1. Row selection takes 6 where 4 does not divide and 6 does,
  // its decode tile (and the split-K variant that takes it) keeping 2 or 1
  // and the split chosen for those blocks (gpt-oss's 90 tiles; H100
  // same-process A/B against 2 for every variant,
  // bench/logs/2026-12-07-h100-s67-ab-*: gpt-oss-20b 1.15-1.40x at
  // T = 128-4096, 0.95-0.97x at T = 16-64, 1.01-1.04x at T = 1-3; 6 for
  // every variant the same within 3%; -120b 1.21-1.33x at T = 1024-4096).
  // Plain 2:4 at 3, 5 or 6 was 0.77-1.05x against 4. The row-warps option
  // forces the count for every variant.
  int64_t tiles = mmaSpRowTiles(op);
  int64_t fewWarps = tiles % 2 == 0 ? 2 : 1;
  int64_t warps = tiles % 4 == 0                ? 4
                  : rowSelect && tiles % 6 == 0 ? 6
                                                : fewWarps;
  int64_t decodeWarps = warps == 6 ? fewWarps : 0;
  if (o.rowWarps > 0) {
    warps = o.rowWarps;
    decodeWarps = 0;
  }
  // Row selection by masked mma.sp: a total and m - 1 masked accumulators
  // instead of m accumulators and the span partials (H100 A/B, same call,
  // 1:2+2:4 layers: 1.05-1.12x faster at T <= 256 on all four models,
  // 127-128 registers instead of 163-164; Mixtral 0.92-0.98x at
  // T >= 1024). The row-masks option forces it (0: span routing).
  int64_t rowMasks = rowSelect && o.rowMasks != 0 ? 1 : 0;
  // Weight fragments stream through shared memory with the activations: up
  // to 6 stages within the chip's budget (more bytes in flight per SM for
  // the weight stream at decode sizes).
  auto smemBytes = [&](int64_t s, int64_t t, int64_t w) {
    return TileConfigAttr::mmaSpSmemBytes(
        s, t, k, w, halves, rowMasks != 0,
        std::max<int64_t>(1, k / format.getV()));
  };
  int64_t stages = 6;
  while (stages > 2 && smemBytes(stages, tokens, warps) > smemBudget(chip))
    --stages;
  int64_t blockSmem = smemBytes(stages, tokens, warps);
  // Split slots are counted in the tile's tokens (a single expert's bound is
  // its unsplit grid's token tiles); the split-K variant takes the decode
  // tile when its calls are decode calls (split_slots <= decode_slots), and
  // with it the decode tile's row warps.
  int64_t sliceQuantum = rowSelect ? std::max(k, format.getV()) : k;
  auto [splitK, splitSlots] =
      chooseSplit(op, chip, tiles / (decodeWarps > 0 ? decodeWarps : warps),
                  tokens, sliceQuantum, o.split,
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
  // A decode tile of its own row warps keeps the tile's ring unless the
  // decode-stages option sizes one for it: gpt-oss's 2-warp decode blocks
  // at 6 stages (session 66's decode and split kernels, byte for byte)
  // against the 6-warp tile's 4, H100 same-process A/B
  // (bench/logs/2026-12-07-h100-s68-ab-decode-stages.log): -20b 1.01-1.03x
  // at T = 16-64 but 0.96x at T = 1-3, -120b 0.99-1.00x at 16-64 and 0.96x
  // at 1.
  int64_t decodeStages =
      decodeTokens > 0 && decodeWarps > 0 && o.decodeStages != stages
          ? o.decodeStages
          : 0;
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
  // Not above m = 4: the persistent kernels of m = 8 and 16, whose m sets of
  // masked weight registers come on top of their accumulators, spilled
  // 4-148 bytes a thread even at two blocks an SM (sm_80).
  int64_t blocks = o.persistent, persistentSlots = 0, persistentTokens = 0;
  if (o.persistent < 0) {
    blocks = rowSelect && experts >= 8 && format.getM() <= 4 ? 3 : 0;
    persistentSlots = (format.getV() >= 64 ? 64 : 128) * experts;
    if (siluMul && rowSelect && o.tokens == 0 && tokens < 64 &&
        accumulators(64) <= TileConfigAttr::kMmaSpMaxAccumulators)
      persistentTokens = 64;
    if (accumulators(persistentTokens > 0 ? persistentTokens : tokens) >
        TileConfigAttr::kMmaSpThreeBlockAccumulators)
      blocks = std::min<int64_t>(blocks, 2);
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
      decodeTokens, decodeSlots, decodeTokens > 0 ? decodeWarps : 0,
      decodeStages,
      /*splitBlocks=*/1,
      /*sharedSlots=*/0,
      /*wideTokens=*/0, /*wideSlots=*/0, groupTiles, /*splitPersistent=*/0,
      /*wideCluster=*/1, /*wideWarps=*/0,
      /*persistentWarps=*/0, /*widePacked=*/0, /*tokenStep=*/0,
      /*midSplitK=*/1, /*midSplitSlots=*/0, /*evictFirstExperts=*/0,
      /*wideLowTokens=*/0, /*wideLowSlots=*/0, /*wideUnits=*/1,
      /*persistentUnits=*/1, /*persistentUnitsSlots=*/0, /*wideMulticast=*/1,
      /*wideMulticastSlots=*/0,
      /*widePersistent=*/0, /*wideLowWarps=*/0, /*wideRowMasks=*/0,
      /*wideLowCalls=*/DenseI64ArrayAttr(), MmaStrategy::MmaSp);
}

} // namespace mlir::samoyeds::select_tiles
