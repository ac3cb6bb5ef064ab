//===- LaunchPlan.h - The host side of a compiled function ------*- C++ -*-===//
//
// Names the buffers a compiled function binds and states its launches as
// typed attributes (#samoyeds.buffer, #samoyeds.weight_part,
// #samoyeds.weight, #samoyeds.launch).
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_LAUNCHPLAN_H
#define SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_LAUNCHPLAN_H

#include "samoyeds/Conversion/SamoyedsToGPU/SamoyedsToGPU.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::samoyeds {

/// The buffers of one host function: their names, the size symbols of their
/// dynamic dimensions, and the attributes that describe them.
class BufferTable {
public:
  /// Arguments and results are named by their `samoyeds.name` (which the
  /// dialect verifies unique), others `argN`, `resultN` and temporaries `tN`,
  /// each skipping the names already given.
  explicit BufferTable(func::FuncOp func);

  /// Records that dim `d` of `v` is the symbol `sym` (when dynamic); fails
  /// with a diagnostic on `op` when another op named it otherwise.
  LogicalResult nameDim(Operation *op, Value v, unsigned d, SizeSymbol sym);

  /// Records the packed layout `op` reads its weight in; fails when another
  /// matmul of the function reads the same weight in another.
  LogicalResult setWeightLayout(SSMMOp op, WeightLayout layout);

  /// Adds a workspace buffer of `elt` elements (f32 when null).
  void addWorkspace(StringRef name, ArrayRef<int64_t> shape, Type elt = {});

  /// Adds a buffer of `count` i32 counters that the runtime zeroes when it
  /// allocates it and that the kernels using it leave zeroed.
  void addCounters(StringRef name, int64_t count);

  /// The launch attribute of `launch` (a programmatic dependent launch with
  /// `pdl`); binds (lists) every buffer it passes.
  FailureOr<KernelLaunchAttr> bindLaunch(const KernelLaunch &launch, bool pdl);

  /// Sets `samoyeds.buffers` (in order of first binding, then the
  /// workspaces) and `samoyeds.weights` on the function; fails when two
  /// buffers share a name.
  LogicalResult finish();

private:
  std::string fresh(const std::string &base);
  std::string name(Value v);
  FailureOr<StringRef> bind(const KernelArg &arg);
  LogicalResult bindDense(Value v, StringRef name);
  void bindWeight(Value v, StringRef base, RankedTensorType type,
                  SparseFormatAttr format);

  func::FuncOp func;
  MLIRContext *ctx;
  llvm::DenseMap<Value, std::string> names;
  llvm::StringSet<> taken;
  llvm::SmallDenseSet<Value> outputs;
  llvm::DenseMap<std::pair<Value, unsigned>, SizeSymbol> dims;
  llvm::DenseMap<Value, WeightLayout> weightLayouts;
  llvm::SmallDenseSet<Value> bound;
  SmallVector<Attribute> buffers, workspaces, weights;
  int temporaries = 0;
};

/// What the patterns of convert-samoyeds-to-gpu share while they convert
/// one function.
struct SamoyedsToGPUState {
  BufferTable &table;
  /// Builds the kernels into `kernels`.
  OpBuilder &kernelBuilder;
  gpu::GPUModuleOp kernels;
  /// Each op's kernel name prefix.
  const llvm::DenseMap<Operation *, std::string> &kernelBases;
  /// Whether the kernels are programmatic dependent launches.
  bool pdl = false;
  /// The expert matmuls whose offsets and token list were written at least
  /// two launches before theirs: as dependent launches their kernels may
  /// read them, and the weights, before they wait for the grids in flight
  /// (empty without the pass's weights-before-wait).
  const llvm::SmallPtrSetImpl<Operation *> &settledRouting;
  /// The weighted_combine matmuls whose routing weights and positions were
  /// written at least two launches before theirs: their combine kernels
  /// load them before they wait (empty without weights-before-wait).
  const llvm::SmallPtrSetImpl<Operation *> &settledCombine;
  /// Each samoyeds.route whose ids the next op, a samoyeds.dispatch,
  /// places, and that dispatch, mapped to one another: the dispatch's
  /// launches select and dispatch small calls in one kernel (empty without
  /// the pass's select-dispatch).
  const llvm::DenseMap<Operation *, Operation *> &selectDispatch;
  /// Whether dispatches of many routed slots place them over chunks (the
  /// pass's chunked-dispatch).
  bool chunkedDispatch = false;
  /// The pass's prefetch-before-wait: route and dispatch kernels let their
  /// dependents launch before they wait; gate/up decode kernels prefetch.
  bool prefetchBeforeWait = false;
  /// Whether split-K kernels reduce their own slices (the pass's
  /// fuse-split-reduce), or with weighted_combine combine their slot rows
  /// (fuse-combine).
  bool fuseSplitReduce = false, fuseCombine = false;
  /// Each expert matmul whose reader sums its split-K slices as it gathers
  /// them, and that reader, mapped to one another (the pass's
  /// reduce-in-gather; empty without it).
  llvm::DenseMap<Operation *, Operation *> splitInputs{};
  /// Whether the unsplit expert matmuls of a weighted_combine write f32
  /// slot rows (the pass's combine-f32) rather than the result's elements.
  bool combineF32 = false;
  /// The pass's span-halves (SSMMKernelOptions::spanHalves).
  bool spanHalves = false;
  /// The pass's pdl-wide: the wide variants are dependent launches too.
  bool pdlWide = false;
  /// Set when a pattern failed and reported why.
  bool reported = false;
};

/// How lowerSSMM builds an op's kernels.
struct SSMMLoweringOptions {
  /// The decode and split-K variants issue their first weight copies before
  /// they wait (the op's routing is settled).
  bool early = false;
  /// The combine kernels load their token's slots and routing weights
  /// before they wait (the op's combine routing is settled).
  bool combineEarly = false;
  /// The decode variants prefetch their first weight tiles into the L2
  /// before they wait (the pass's prefetch-before-wait; the op's routing is
  /// written by the kernel right before).
  bool prefetch = false;
  /// The pass's fuse-split-reduce, fuse-combine and combine-f32.
  bool fuseSplitReduce = false, fuseCombine = false, combineF32 = false;
  /// The pass's span-halves.
  bool spanHalves = false;
  /// The wide variants are dependent launches (pdl with pdl-wide).
  bool wideDependent = false;
  /// The split-K workspace this op's input is (the op sums it), or whether
  /// the op after this one sums this op's split-K slices.
  const SplitInput *splitInput = nullptr;
  bool reducedByConsumer = false;
};

/// The kernels of expert matmul `op` in launch order (SSMMLaunches.cpp), named
/// from `base`: its tile's matmul variants, each for its range of routed
/// slots P; with weighted_combine they write slot rows to a workspace that a
/// deterministic combine kernel reduces (rows of the result's element type,
/// as vLLM's fused MoE keeps them, or f32 with `combineF32`). The split-K
/// variant's f32 partial rows are summed by the combine kernel or the
/// matmul's own last block of each row block (`fuseCombine`), by a
/// split reduction kernel, by the matmul's own last block of each tile
/// (`fuseSplitReduce`) or, with `reducedByConsumer`, by the matmul that reads
/// the op's result. With
/// `splitInput`, the kernels of the calls of at most its slots read the
/// split-K workspace of the matmul before (`_reducing`). With `early`, the
/// decode and split-K variants issue their first weight copies before they
/// wait for the grids in flight (H200, bench/RESULTS.md S14: up to 1.10x at
/// T = 1-4; the ordinary grid lost 1-2% at T = 256, so it waits first).
FailureOr<KernelLaunches> lowerSSMM(SSMMOp op, BufferTable &table,
                                    OpBuilder &builder,
                                    gpu::GPUModuleOp kernels, StringRef base,
                                    const SSMMLoweringOptions &o);

/// Whether every kernel of `op` that takes calls of at most `slots` routed
/// slots can read a split-K input and sum it (MmaLowering::canSumSplitInput:
/// wgmma_sp's ordinary grids reading slot rows, their whole K range in the
/// ring).
bool canSumSplitInput(SSMMOp op, int64_t slots);

/// The split-K workspace of `producer`, whose kernels are named from `base`.
SplitInput splitInputOf(SSMMOp producer, StringRef base);

/// Adds the patterns that replace samoyeds.route, samoyeds.dispatch and
/// samoyeds.ssmm by a samoyeds.launch of kernels built into
/// `state.kernels`; the launches bind buffers through `state.table`.
void populateSamoyedsToGPUPatterns(RewritePatternSet &patterns,
                                   SamoyedsToGPUState &state);

} // namespace mlir::samoyeds

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_LAUNCHPLAN_H
