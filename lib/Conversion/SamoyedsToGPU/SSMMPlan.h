//===- SSMMPlan.h - Target-independent tile plan of an expert matmul -*- C++
//-*-===//
//
// Private to the SamoyedsToGPU conversion. What one block of a samoyeds.ssmm
// kernel owns — an expert's token tile, a block of kept rows, a K range, an
// epilogue — independent of the MMA instruction family that computes it, and
// the interface every MMA strategy implements (MmaSp*.cpp: warp-level mma.sp;
// WgmmaSp*.cpp: Hopper warpgroup wgmma.sp). docs/Strategies.md says how to
// add one.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_SSMMPLAN_H
#define SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_SSMMPLAN_H

#include "KernelUtils.h"
#include "samoyeds/Support/Chip.h"

namespace mlir::samoyeds::detail {

/// Static parameters of one expert-matmul kernel.
struct SSMMPlan {
  MmaStrategy strategy = MmaStrategy::MmaSp;
  int64_t experts, rows, cols, n, m, v;
  int64_t warps, tokens, kTile, stages, tokenWarps, rowTiles;
  /// K slices (grid z) and the workspace's rows per slice; 1 and 0 for the
  /// unsplit kernel.
  int64_t splitK = 1, splitSlots = 0;
  /// The split-K kernel reduces its slices itself (SSMMBuffers::counters;
  /// an epilogue other than weighted_combine): emitSplitReduce.
  bool fusedReduce = false;
  /// The decode or split-K kernel of a weighted_combine combines its slot
  /// rows itself (SSMMBuffers::counters): emitFusedCombine; `topK` slots
  /// per token.
  bool fusedCombine = false;
  int64_t topK = 0;
  /// The input is the f32 split-K workspace of the matmul before
  /// (SSMMBuffers::splitInput): inputSplits slices of inputSlots rows of
  /// inputRowElems, summed (and with inputSiluMul, SiLU·up) as the kernel
  /// gathers it; inputSplits = 0: the input as given.
  int64_t inputSplits = 0, inputSlots = 0, inputRowElems = 0;
  bool inputSiluMul = false;
  /// Block rows of the persistent grid (0: one block row per token tile).
  int64_t persistent = 0;
  /// Token tiles per group of the ordinary grid's block order (and of the
  /// wgmma_sp persistent grid's tile order).
  int64_t groupTiles = 1;
  /// The wide variant: `tokens` is the tile's wide_tokens.
  bool wide = false;
  /// wgmma_sp: 64-row units each consumer warpgroup multiplies (the wide
  /// variant's wide_units, the persistent grid's persistent_units where it
  /// has at most two consumer warpgroups; 1 elsewhere).
  int64_t unitsPerWarpgroup = 1;
  /// Blocks per cluster sharing the activation tile (the wide variant's
  /// wide_cluster; 1: none). A cluster's blocks take neighbouring row blocks
  /// of one token tile.
  int64_t cluster = 1;
  /// Blocks per cluster sharing the weights by multicast copies (the wide
  /// variant's wide_multicast; 1: none). A cluster's blocks take one row
  /// block and neighbouring token tiles of one expert: grid x holds the
  /// ranks of each row block, grid y the groups of `multicast` token tiles.
  int64_t multicast = 1;
  /// The variant (a wide width, or without one the persistent grid of the
  /// large calls: packsInput) reads its input from the workspace its pack
  /// kernel wrote in the ring's layout (tile wide_packed): bulk copies
  /// instead of gathers, no token list.
  bool packed = false;
  /// wgmma_sp (the tile's token_step where `tokens` exceeds it, the rows
  /// are not masked and the block has at most kTokenStepMaxWarps warps;
  /// else 0): a block multiplies, and copies packed rows of, its tile's
  /// tokens rounded up to a multiple of this, not `tokens`.
  int64_t tokenStep = 0;
  /// The most warps (two consumer warpgroups) of a variant that takes token
  /// steps: with four, ptxas serialised some variants' wgmma (C7511).
  static constexpr int64_t kTokenStepMaxWarps = 8;
  /// The decode variants' own warps (tile `decode_warps`): their ring keeps
  /// as many slots as fit.
  bool ownWarps = false;
  /// Blocks that share an SM (the tile's `shared_slots` and `split_blocks`):
  /// registers and shared memory are sized for that many.
  int64_t blocksPerSM = 1;
  bool gather, rowSelect, siluMul;
  /// The gate/up activation of silu_mul (a split-K input's, inputSiluMul,
  /// is SiLU: findSplitInputs pairs no other), and whether the op adds a
  /// bias row per expert (SSMMArgs::bias, [E, rows]).
  GatedActivation act;
  bool bias = false;
  /// Row selection by masked mma.sp (see #samoyeds.tile's row_masks).
  bool masked = false;
  /// wgmma_sp, routed row selection whose spans are shorter than the k tile
  /// (the conversion's span-halves): each span's MMAs by token halves, one
  /// half routed while the other's MMAs run (WgmmaSpSpanHalves.cpp).
  bool spanHalves = false;
  /// A dependent launch whose routing inputs are settled: the kernel issues
  /// its ring's first weight copies, then waits for the grids in flight
  /// (KernelLaunch::waitsInBody).
  bool weightsBeforeWait = false;
  /// A dependent launch whose routing the kernel before writes: the kernel
  /// prefetches into the L2 the first weight tiles of the expert its token
  /// tile row names, then waits (KernelLaunch::waitsInBody).
  bool prefetchBeforeWait = false;
  /// No griddepcontrol.launch_dependents: the dependents launch when the
  /// grid completes (KernelLaunch::dependentsAtExit).
  bool dependentsAtExit = false;
  /// The calls whose weight copies carry the L2 evict_first policy (the
  /// tile's evict_first_experts, a kernel reading each weight byte once):
  /// 0 none, -1 every call, k > 0 those whose grid has at most k token tile
  /// rows (min(P, E) <= k where k < E).
  int64_t evictFirstRows = 0;
  /// Operand elements, what the blocks store (f32 partial or combine rows)
  /// and the op's result elements.
  Type elt, outElt, resultElt;
  int64_t halves, keptRows, keptTilesPerHalf, kSteps, outCols;
  /// The weight's layout (MmaLowering::weightLayout) and its stored columns
  /// and kept rows (WeightAttr::storedCols, storedKeptRows): `cols` (K, the
  /// input's row length) rounded up to the layout's column blocks, which
  /// the k tiles and `kSteps` cover (an input column past `cols` is zero:
  /// the gathers zero-fill it), and each half's kept rows rounded up to the
  /// layout's row tiles (a kept row past the half's stores nothing).
  WeightLayout layout = WeightLayout::MmaSp;
  int64_t storedCols, storedKeptRows;
  /// mma_sp: threads of a block, tokens of one warp's slice, and a warp's
  /// 16-row tiles ("units": `rowTiles` per half; unit u is tile u % rowTiles
  /// of half u / rowTiles).
  int64_t threads() const { return warps * tokenWarps * 32; }
  int64_t warpTokens() const { return tokens / tokenWarps; }
  int64_t units() const { return halves * rowTiles; }
  /// Accumulator sets per kept row: one per output row of its group with row
  /// selection.
  int64_t accsPerValue() const { return rowSelect ? m : 1; }
  /// Spans a pipeline stage covers (1 when the span is a whole number of
  /// stages).
  int64_t spansPerStage() const { return kTile > v ? kTile / v : 1; }
  bool split() const { return splitK > 1; }
  /// Blocks per cluster (1 without clusters).
  int64_t clusterBlocks() const { return cluster * multicast; }
  /// Whether the kernel takes the token list (it gathers, unpacked).
  bool readsTokenList() const { return gather && !packed; }
  int64_t kTilesPerSplit() const { return storedCols / kTile / splitK; }
  int64_t kTiles() const { return storedCols / kTile; }
  /// Whether the stored columns pad K (the last k tile reads past it).
  bool padsK() const { return storedCols != cols; }
  /// Whether the stored kept rows pad a half's (the last tile of a half
  /// holds kept rows past it, whose output rows are past `outCols`).
  bool padsRows() const { return storedKeptRows != keptRows; }
};

/// The arguments of an expert-matmul kernel, in the order buildSSMMKernel
/// declares them: the weight's values, meta and (row selection) row_idx, the
/// input, the offsets, (gather) the token list, the output (the split
/// variant's partial-sum workspace), with a fused split reduction or combine
/// the op's result and the counters, and with a fused combine the routing
/// weights, the positions and the token count T (i32), then the bias.
struct SSMMArgs {
  Value values, meta, rowIdx, input, offsets, tokenList, out, result, counters;
  Value routingWeights, positions, tokenCount;
  /// The op's bias [E, rows] (SSMMPlan::bias), the last argument.
  Value bias;
  /// Binds the members to the entry block arguments of `func`.
  void bind(const SSMMPlan &p, gpu::GPUFuncOp func);
};

/// The most token tiles of `tokens` slots that `slots` routed slots make
/// over `experts` experts (#samoyeds.dim's token_tiles).
inline int64_t maxTokenTiles(int64_t slots, int64_t tokens, int64_t experts) {
  int64_t ones = std::min(experts, slots);
  return ones + (slots - ones) / tokens;
}

/// Whether `variant` is one of the wide widths (Wide, WideLow) or the wide
/// variant's multicast kernel (WideMulticast).
inline bool isWideVariant(SSMMVariant variant) {
  return variant == SSMMVariant::Wide || variant == SSMMVariant::WideLow ||
         variant == SSMMVariant::WideMulticast;
}

/// The routed tokens per block of wide width `variant` of `tile`.
inline int64_t wideVariantTokens(TileConfigAttr tile, SSMMVariant variant) {
  assert(isWideVariant(variant) && "a wide width");
  return variant == SSMMVariant::WideLow ? tile.getWideLowTokens()
                                         : tile.getWideTokens();
}

/// Whether `variant` of `tile` reads its input packed by a `_pack` kernel
/// (tile wide_packed): the wide widths, or where the tile has no wide
/// variant the persistent grid of the large calls.
inline bool packsInput(TileConfigAttr tile, SSMMVariant variant) {
  return tile && tile.getWidePacked() == 1 &&
         (isWideVariant(variant) ||
          (variant == SSMMVariant::Persistent && tile.getWideTokens() == 0));
}

/// The routed tokens per block of the persistent grid of the large calls
/// (SSMMVariant::Persistent): persistent_tokens, or the tile's.
inline int64_t persistentVariantTokens(TileConfigAttr tile) {
  return tile.getPersistentTokens() > 0 ? tile.getPersistentTokens()
                                        : tile.getTokens();
}

/// The routed tokens per block of `variant`, which packs its input.
inline int64_t packedVariantTokens(TileConfigAttr tile, SSMMVariant variant) {
  assert(packsInput(tile, variant) && "a variant reading packed rows");
  return isWideVariant(variant) ? wideVariantTokens(tile, variant)
                                : persistentVariantTokens(tile);
}

/// Reads the kernel's parameters from `op` and the given variant of its
/// tile and checks the rules every strategy shares; fails with a diagnostic
/// on `op` when they are unsupported.
FailureOr<SSMMPlan> makePlan(SSMMOp op, SSMMVariant variant);

/// Bytes of a statically shaped memref.
int64_t byteSize(MemRefType t);

/// One family of sparse tensor-core instructions that implements the tile
/// plan: how many threads a block has, what shared memory it carves, how the
/// blocks cover the kept rows, and the kernel body.
class MmaLowering {
public:
  virtual ~MmaLowering() = default;
  /// Checks the rules the strategy adds to the plan (shapes, registers,
  /// shared memory); reports on `op`.
  virtual LogicalResult verify(SSMMOp op, const SSMMPlan &p) const = 0;
  /// Threads per block.
  virtual int64_t threads(const SSMMPlan &p) const = 0;
  /// Dynamic shared memory per block, in bytes.
  virtual int64_t smemBytes(const SSMMPlan &p) const = 0;
  /// Blocks along the kept rows of one half (grid x of the ordinary grid).
  virtual int64_t rowBlocks(const SSMMPlan &p) const = 0;
  /// Output rows (of one half) a block of the ordinary grid covers; where
  /// rowBlocks times this exceeds `outCols`, the last block's run past it.
  virtual int64_t rowsPerBlock(const SSMMPlan &p) const {
    return p.outCols / rowBlocks(p);
  }
  /// The layout of the packed weight the kernel reads (docs/Format.md), of
  /// `keptRows` kept rows in `halves` halves.
  virtual WeightLayout weightLayout(int64_t keptRows, int64_t halves) const {
    return WeightLayout::MmaSp;
  }
  /// Emits the body of `func`, whose arguments are the weight's values,
  /// meta and (row selection) row_idx, the input, the offsets, (gather) the
  /// token list and the output, in this order.
  virtual void emit(ImplicitLocOpBuilder &b, const SSMMPlan &p,
                    gpu::GPUFuncOp func) const = 0;
  /// Blocks per multiprocessor that must be resident together (ptxas sizes
  /// the registers for them: NVVM's minctasm); 0 leaves the choice to ptxas.
  virtual int64_t minBlocksPerSM(const SSMMPlan &p) const { return 0; }
  /// Whether a tile with a persistent grid runs it for every unsplit call:
  /// below `persistent_slots` with `tokens` (SSMMVariant::PersistentNarrow)
  /// instead of the ordinary grid, and with `persistent_warps` from
  /// `persistent_slots` with the tile's warps (SSMMVariant::PersistentUpper;
  /// from `persistent_units_slots` SSMMVariant::PersistentUpperPairs).
  virtual bool persistentAtEverySize() const { return false; }
  /// The address alignment, in bytes, that the kernel's stores to its
  /// output (or workspace rows) need; 0 when the element size is enough.
  virtual int64_t outputAlign(const SSMMPlan &p) const { return 0; }
  /// Whether the kernel of `p` can issue weight copies before it waits for
  /// the grids in flight (SSMMPlan::weightsBeforeWait); a strategy that
  /// cannot gets the wait at the kernel's start.
  virtual bool canIssueWeightsBeforeWait(const SSMMPlan &p) const {
    return false;
  }
  /// Whether the kernel of `p` can prefetch weights into the L2 before it
  /// waits for the grids in flight (SSMMPlan::prefetchBeforeWait); a
  /// strategy that cannot gets the wait at the kernel's start.
  virtual bool canPrefetchBeforeWait(const SSMMPlan &p) const { return false; }
  /// Whether the strategy copies its weights with the L2 evict_first
  /// policy where SSMMPlan::evictFirstRows asks.
  virtual bool canEvictWeightsFirst() const { return false; }
  /// Whether the kernel of `p` can read its input as the f32 split-K
  /// workspace of the matmul before and sum it (SSMMPlan::inputSplits).
  virtual bool canSumSplitInput(const SSMMPlan &p) const { return false; }
  /// Adapts the plan of a kernel that sums a split-K input (its ring, its
  /// tokens); called only where canSumSplitInput holds.
  virtual void planSplitInput(SSMMPlan &p) const {}
};

/// The lowering of each strategy (MmaSpKernel.cpp, WgmmaSpKernel.cpp).
const MmaLowering &getMmaSpLowering();
const MmaLowering &getWgmmaSpLowering();
/// The lowering of `strategy`.
const MmaLowering &getMmaLowering(MmaStrategy strategy);

/// Where a block's token tile is: `expert`, its first routed slot `start`,
/// and `end` the expert's last slot (start = end when there is no such
/// tile); `total` the number of token tiles of the launch (i32). For a
/// group of tiles, `first` is the number of its first tile among the
/// single tiles (index).
struct TokenTile {
  Value expert, start, end, total, first;
};

/// Finds token tile `tile` (numbered expert after expert, ceil(count_e /
/// tokens) per expert) by a warp-parallel scan of `offsets`; every warp of
/// the block computes the same answer. `lane` is the thread's lane. With
/// `group` > 1, finds group `tile` of `group` tiles of `tokens` (numbered
/// expert after expert, ceil(count_e / (group · tokens)) per expert).
TokenTile findTokenTile(ImplicitLocOpBuilder &b, Value offsets, Value lane,
                        Value tile, int64_t experts, int64_t tokens,
                        int64_t group = 1);

/// The threads of a block that reduce a split-K tile: `thread` in [0,
/// `size`), synchronized by hardware barrier `barrier` (every thread of
/// the block when `size` is the block's).
struct ReduceThreads {
  Value thread;
  int64_t size, barrier;
  bool wholeBlock;
};

/// The fused split-K reduction (SSMMPlan::fusedReduce), emitted by a
/// strategy after the block's threads stored its partial sums of row block
/// `rowBlock` and the `count` slots from `start` (SplitReduce.cpp): the last
/// of the tile's split_k blocks to arrive sums the slices in slice order,
/// applies the epilogue, writes the op's result and zeroes the tile's
/// counter again. Bit-identical to a separate reduction kernel.
void emitSplitReduce(ImplicitLocOpBuilder &b, const SSMMPlan &p,
                     const SSMMArgs &args, const ReduceThreads &threads,
                     Value rowBlock, Value start, Value count);

/// The fused combine (SSMMPlan::fusedCombine), emitted by a strategy in
/// every block of the grid, after the block's threads stored its partial
/// sums of row block `rowBlock` (a block without a token tile stores none):
/// the last of the row block's blocks to arrive combines the row block's
/// columns of every token, as the combine kernel would, and zeroes the row
/// block's counter again (SplitReduce.cpp).
void emitFusedCombine(ImplicitLocOpBuilder &b, const SSMMPlan &p,
                      const SSMMArgs &args, const ReduceThreads &threads,
                      Value rowBlock);

/// The row block and token tile (index values) of this block of an
/// ordinary grid (grid x: row blocks, y: token tiles). Blocks numbered
/// y · X + x in launch order are handed out in groups of `group` token
/// tiles: within a group the token tile varies fastest, then the row block,
/// so a wave of blocks shares a few row blocks' weights and a few token
/// tiles' activations (#samoyeds.tile's group_tiles). `group` = 1 is the
/// launch order.
/// With `cluster` > 1 the blocks of a launch-order cluster (consecutive in
/// grid x) stay on one token tile and neighbouring row blocks: the order
/// hands out clusters as it would blocks.
std::pair<Value, Value> orderedBlock(ImplicitLocOpBuilder &b, int64_t group,
                                     int64_t cluster = 1);

/// The row block and token tile (index values) of tile `linear` of
/// `rowBlocks` × `tiles` in the order of orderedBlock: the persistent
/// grid's tiles in a grid's launch order.
std::pair<Value, Value> groupedTile(ImplicitLocOpBuilder &b, Value linear,
                                    Value rowBlocks, Value tiles,
                                    int64_t group);

} // namespace mlir::samoyeds::detail

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_SSMMPLAN_H
