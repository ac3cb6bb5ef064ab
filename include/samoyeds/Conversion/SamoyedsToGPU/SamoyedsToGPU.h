//===- SamoyedsToGPU.h - Samoyeds to GPU kernels ----------------*- C++ -*-===//

#ifndef SAMOYEDS_CONVERSION_SAMOYEDSTOGPU_SAMOYEDSTOGPU_H
#define SAMOYEDS_CONVERSION_SAMOYEDSTOGPU_SAMOYEDSTOGPU_H

#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace arith {
class ArithDialect;
} // namespace arith
namespace LLVM {
class LLVMDialect;
} // namespace LLVM
namespace memref {
class MemRefDialect;
} // namespace memref
namespace NVVM {
class NVVMDialect;
} // namespace NVVM
namespace nvgpu {
class NVGPUDialect;
} // namespace nvgpu
namespace scf {
class SCFDialect;
} // namespace scf
namespace vector {
class VectorDialect;
} // namespace vector

namespace samoyeds_nvgpu {
class SamoyedsNVGPUDialect;
} // namespace samoyeds_nvgpu

namespace samoyeds {

#define GEN_PASS_DECL
#include "samoyeds/Conversion/Passes.h.inc"

/// How one argument of a compiled kernel is bound at launch.
struct KernelArg {
  /// Kind of binding: a 1-D buffer, a symbol's value, or an i32 constant.
  enum Kind { Buffer, Symbol, Constant } kind;
  /// The host value whose buffer is passed (Buffer); null otherwise.
  Value value;
  /// For a weight buffer: which component ("values", "meta", "row_idx").
  std::string part;
  /// A buffer with no host value (a workspace): its name.
  std::string name;
  /// Symbol name (Symbol).
  std::string symbol;
  /// Constant value (Constant) or element size in bytes (Buffer).
  int64_t number = 0;
  /// Buffer: the address alignment the kernel's wider accesses need (16 for
  /// 16-byte copies and vector loads); 0 when the element size is enough.
  int64_t align = 0;
};

/// A compiled kernel and how to launch it.
struct KernelLaunch {
  gpu::GPUFuncOp kernel;
  /// Grid dimensions: a constant (symbol empty), ceil(symbol / divisor),
  /// (experts > 0) the most token tiles of `divisor` slots over `experts`
  /// experts (#samoyeds.dim's token_tiles), or (perSM > 0) perSM blocks per
  /// multiprocessor of the device the runtime runs on.
  struct Dim {
    int64_t constant = 1;
    std::string symbol;
    int64_t divisor = 1;
    int64_t experts = 0;
    int64_t perSM = 0;
  };
  Dim grid[3];
  int64_t block[3] = {1, 1, 1};
  int64_t dynamicSmem = 0;
  SmallVector<KernelArg> args;
  /// The launch runs only when the value of `whenSymbol` is in
  /// [whenMin, whenMax] (no upper bound when whenMax < 0); always when
  /// `whenSymbol` is empty.
  std::string whenSymbol;
  int64_t whenMin = 0, whenMax = -1;
  /// Whether the launch runs as a programmatic dependent launch when the
  /// pass has `pdl`: every launch but the expert matmuls' variants without
  /// an upper bound on P, which serve the large calls (the wide ones too
  /// with `pdl-wide`).
  bool dependent = true;
  /// The kernel places its own `griddepcontrol.wait`, after work that reads
  /// only inputs no kernel in flight writes, and (unless dependentsAtExit)
  /// follows it with `griddepcontrol.launch_dependents` (in every thread,
  /// empty blocks included): the conversion adds neither.
  bool waitsInBody = false;
  /// The kernel never issues `griddepcontrol.launch_dependents` (neither
  /// the conversion nor its body): its dependents launch when it completes.
  /// For a grid of several waves, whose dependents' blocks would otherwise
  /// take the SMs its later waves need.
  bool dependentsAtExit = false;
  /// The size of the counters buffer the kernel's own split-K reduction
  /// takes (0: none).
  int64_t counters = 0;
};

/// The launches one samoyeds op becomes, in order.
using KernelLaunches = SmallVector<KernelLaunch, 2>;

/// The split-K workspace of the expert matmul whose result an expert matmul
/// reads (convert-samoyeds-to-gpu's reduce-in-gather): `splits` slices of
/// `slots` partial rows of `rowElems` f32 each; with `siluMul` a row's
/// first half is the gate, its second the up projection.
struct SplitInput {
  std::string workspace;
  int64_t splits, slots, rowElems;
  bool siluMul;
};

/// What an expert matmul's kernel writes besides the op's result: the
/// split-K variant's f32 workspace of partial sums or the unsplit variants'
/// slot rows of a weighted_combine, by name, and, when the kernel reduces
/// or combines them itself, its counters (empty: a separate kernel does);
/// and the element type of the slot rows that the unsplit variants of a
/// weighted_combine write (null: f32).
/// With `splitInput` the kernel reads its input as that workspace's slices
/// and sums them as it gathers (the calls of at most its `slots` slots).
struct SSMMBuffers {
  std::string workspace, counters;
  Type combineRows;
  const SplitInput *splitInput = nullptr;
  /// The workspace the wide variant of a tile with wide_packed reads its
  /// input from (buildWidePackKernel writes it).
  std::string packedInput = {};
};

/// The variants of an expert-matmul kernel a tile may ask for.
enum class SSMMVariant {
  /// One block per (row block, token tile).
  Plain,
  /// Split-K: grid z is the K slice and the blocks write partial sums to
  /// an f32 workspace of split_k × split_slots rows (`decode_tokens` tokens
  /// per block where split_slots <= decode_slots, else `tokens`). Given
  /// SSMMBuffers::counters (an epilogue other than weighted_combine) the
  /// kernel reduces them itself: the last of a (row block, token tile)'s
  /// split_k blocks to finish, found by an i32 counter per tile, sums the
  /// slices in slice order, applies the epilogue and writes the result.
  /// With weighted_combine (this and the decode variants) the last of a row
  /// block's blocks, found by an i32 counter per row block, combines every
  /// token's slots for its rows.
  Split,
  /// The mid-size split-K variant (wgmma_sp): the split-K kernel of the
  /// tile's `tokens` with `mid_split_k` slices of K, for the calls above
  /// `split_slots` up to `mid_split_slots`, into its own workspace of
  /// mid_split_k × mid_split_slots rows that its own reduction (or combine)
  /// kernel sums; never reduced by the kernel itself.
  SplitMid,
  /// The ordinary grid with `decode_tokens` tokens per block, for the
  /// unsplit calls up to `decode_slots` (below `shared_slots`).
  Decode,
  /// The decode variant with two blocks per SM, for the unsplit calls of
  /// the decode tile from `shared_slots`.
  DecodeShared,
  /// The ordinary grid with `wide_tokens` tokens per block, for the unsplit
  /// calls from `wide_slots` (its ring keeps as many of the tile's `stages`
  /// as its shared memory holds).
  Wide,
  /// The wide variant with `wide_low_tokens` tokens per block, for its
  /// calls up to `wide_low_slots` (the wide variant then takes those above).
  WideLow,
  /// The wide variant's kernel in clusters of `wide_multicast` blocks on
  /// neighbouring token tiles of one expert that share the weights by
  /// multicast copies, for its calls from `wide_multicast_slots` (the wide
  /// variant then takes those below).
  WideMulticast,
  /// A persistent grid of `persistent` blocks per SM taking the tiles in
  /// turn (`persistent_tokens` tokens each, or `tokens`).
  Persistent,
  /// The persistent grid with the tile's `tokens`, for the unsplit calls
  /// below `persistent_slots` of a strategy whose persistent grid wins at
  /// every size (MmaLowering::persistentAtEverySize); with
  /// `persistent_warps`, the calls below `persistent_slots` with those warps
  /// and `persistent_tokens`.
  PersistentNarrow,
  /// With `persistent_warps`, the persistent grid with the tile's `warps`
  /// and `tokens` for the unsplit calls from `persistent_slots` below the
  /// wide variant, where the strategy's persistent grid wins at every size.
  PersistentUpper,
  /// With `persistent_units_slots`, the upper persistent grid's unit pairs
  /// for its calls from those slots (`PersistentUpper` keeps single units
  /// below them).
  PersistentUpperPairs,
};

/// How the kernel of an expert matmul overlaps the launches around it and
/// paces its ring (buildSSMMKernel).
struct SSMMKernelOptions {
  /// A programmatic dependent launch whose offsets and token list were
  /// written by a kernel at least two launches earlier: a strategy that
  /// streams its weights through a ring may issue the ring's first weight
  /// copies before it waits for the grids in flight
  /// (KernelLaunch::waitsInBody).
  bool weightsBeforeWait = false;
  /// A dependent launch whose routing the kernel before writes: a strategy
  /// may prefetch into the L2, before it waits, weights of the expert its
  /// token tile row names (MmaLowering::canPrefetchBeforeWait).
  bool prefetchBeforeWait = false;
  /// The kernel reads each weight byte once a call (the decode and split-K
  /// variants) and takes calls of at most `maxSlots` routed slots (-1: no
  /// bound): a strategy may copy its weights with the L2 evict_first policy
  /// in the calls the tile's evict_first_experts names
  /// (MmaLowering::canEvictWeightsFirst).
  bool readsWeightsOnce = false;
  int64_t maxSlots = -1;
  /// Routed row selection whose spans are shorter than the k tile routes
  /// one token half while the other's MMAs run (the pass's span-halves;
  /// SSMMPlan::spanHalves).
  bool spanHalves = false;
  /// The kernel lets its dependents launch only when it completes
  /// (KernelLaunch::dependentsAtExit).
  bool dependentsAtExit = false;
};

/// Builds the kernel of `op`, in the MMA strategy and the given variant of
/// its tile, into `module`, as `options` allow. Fails with a diagnostic on
/// `op` when the op's parameters are outside what the strategy supports.
///
/// The split-K variant passes `buffers.workspace` for its partial sums and,
/// with `buffers.counters` (not with weighted_combine), reduces them itself:
/// it also takes the result and the counters buffer, of
/// KernelLaunch::counters elements. The unsplit variants of a
/// weighted_combine store their slot rows as `buffers.combineRows`.
FailureOr<KernelLaunch>
buildSSMMKernel(OpBuilder &builder, gpu::GPUModuleOp module, SSMMOp op,
                StringRef name, SSMMVariant variant = SSMMVariant::Plain,
                const SSMMBuffers &buffers = {},
                const SSMMKernelOptions &options = {});

/// The physical layout (docs/Format.md) of the packed weight that the kernel
/// of `op` reads.
WeightLayout getWeightLayout(SSMMOp op);

/// Whether the strategy of `op`'s tile runs its persistent grid for every
/// unsplit call (SSMMVariant::PersistentNarrow below `persistent_slots`).
bool isPersistentAtEverySize(SSMMOp op);

/// The top_k of weighted_combine `op` (the routing weights' columns), over
/// which the combine is unrolled; fails with a diagnostic on `op` where it,
/// or the result's row count, is dynamic.
FailureOr<int64_t> getCombineTopK(SSMMOp op);

/// Builds the deterministic combine kernel of a weighted_combine ssmm: sums
/// the k routed slots of every token in slot order, in f32, from the rows of
/// `workspace`, whose elements are `rowElt`. With `splits` > 1 each slot's
/// row is the sum, in slice order, of `splits` partial rows `slotsPerSplit`
/// rows apart. With `vector` a thread sums 16 bytes of row, not a column.
/// With `routingFirst` (a dependent launch whose routing weights and
/// positions were written two ops before) the kernel loads its token's
/// slots and weights before its own griddepcontrol.wait
/// (KernelLaunch::waitsInBody).
FailureOr<KernelLaunch>
buildCombineKernel(OpBuilder &builder, gpu::GPUModuleOp module, SSMMOp op,
                   StringRef workspace, Type rowElt, StringRef name,
                   int64_t splits = 1, int64_t slotsPerSplit = 0,
                   bool vector = false, bool routingFirst = false);

/// Builds the pack kernel of `op`'s variant that reads packed rows (tile
/// wide_packed = 1, strategy wgmma_sp): writes every token tile's input
/// rows (through the token list where the op gathers) into `workspace` in
/// that kernel's swizzled B layout, [token tile][64-column block][its
/// tokens rows][128 bytes], rows past the tile's slots zero. Fails with a
/// diagnostic on `op` when no workspace of
/// TileConfigAttr::widePackedRowsPerSlot rows per routed slot holds the
/// padded tiles of the variant's first call, `fromSlots` routed slots.
/// `variant` (Wide, WideLow or WideMulticast, or Persistent in a tile
/// without a wide variant) names it.
FailureOr<KernelLaunch>
buildWidePackKernel(OpBuilder &builder, gpu::GPUModuleOp module, SSMMOp op,
                    StringRef workspace, StringRef name, int64_t fromSlots,
                    SSMMVariant variant = SSMMVariant::Wide);

/// Builds the reduction of a split-K ssmm without weighted_combine: sums the
/// `splits` partial rows of every slot (`slotsPerSplit` rows a slice: the
/// tile's split_k and split_slots, or its mid-size variant's) in slice order
/// and applies the epilogue (none or silu_mul) into the op's result.
FailureOr<KernelLaunch> buildSplitReduceKernel(OpBuilder &builder,
                                               gpu::GPUModuleOp module,
                                               SSMMOp op, StringRef workspace,
                                               StringRef name, int64_t splits,
                                               int64_t slotsPerSplit);

/// Builds the router kernels of `op`: logits into the [T, E] f32 workspace
/// `workspace` (a decode, a prefill and, for 16-bit operands, a tensor-core
/// shape, guarded by T), then softmax and top-k from it; with
/// `dispatchSmall` the latter only for the calls that
/// buildSelectDispatchKernels leaves to the dispatch kernel.
FailureOr<KernelLaunches> buildRouteKernels(OpBuilder &builder,
                                            gpu::GPUModuleOp module, RouteOp op,
                                            StringRef name, StringRef workspace,
                                            bool dispatchSmall = false);

/// Whether one block can select and dispatch the small calls of `op`
/// (buildSelectDispatchKernels): its top_k is small enough.
bool canSelectAndDispatch(RouteOp op);

/// Builds the launches of a `dispatch` of the ids `route` selects: for calls
/// of a few tokens one kernel (`name`_select) that does the route's softmax
/// and top-k from the logits workspace `workspace` and the dispatch, one
/// launch instead of two; the dispatch kernels for the others (with
/// `dispatchWorkspace` as buildDispatchKernels' workspace).
FailureOr<KernelLaunches>
buildSelectDispatchKernels(OpBuilder &builder, gpu::GPUModuleOp module,
                           RouteOp route, DispatchOp dispatch, StringRef name,
                           StringRef workspace,
                           StringRef dispatchWorkspace = {});

/// Builds the dispatch kernels (per-expert token lists) of `op` for the
/// calls from `fromTokens` tokens: `name` for the calls of fewer routed
/// slots; for the calls of many, `name`_count and `name`_place over chunks
/// of the slots with the i32 workspace `workspace` ([P, 2], which holds the
/// [chunks, E] counts table), or, with more experts than a chunk has
/// slots or no workspace, `name`_long, in longer chunks.
FailureOr<KernelLaunches> buildDispatchKernels(OpBuilder &builder,
                                               gpu::GPUModuleOp module,
                                               DispatchOp op, StringRef name,
                                               int64_t fromTokens,
                                               StringRef workspace = {});

/// Whether the chunked dispatch kernels can serve `op`'s large calls.
bool canChunkDispatch(DispatchOp op);

/// The chunked dispatch kernels of `op` (`name`_count, `name`_place; their
/// launches unguarded), with the counts table in `workspace`.
FailureOr<KernelLaunches>
buildChunkedDispatchKernels(OpBuilder &builder, gpu::GPUModuleOp module,
                            DispatchOp op, StringRef name, StringRef workspace);

#define GEN_PASS_REGISTRATION
#include "samoyeds/Conversion/Passes.h.inc"

} // namespace samoyeds
} // namespace mlir

#endif // SAMOYEDS_CONVERSION_SAMOYEDSTOGPU_SAMOYEDSTOGPU_H
