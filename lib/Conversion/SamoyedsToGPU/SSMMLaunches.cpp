//===- SSMMLaunches.cpp - The launches of one expert matmul ---------------===//
//
// The build of an expert matmul's launches (lowerSSMM): its tile's matmul
// kernels (MatmulVariants.cpp), each cut into parts where reduce-in-gather's
// input and fuse-combine's calls end, the wide variant's pack kernels, the
// combine and the split reductions, and their workspaces and counters.
//
//===----------------------------------------------------------------------===//

#include "LaunchPlan.h"
#include "MatmulVariants.h"
#include "SSMMPlan.h"

using namespace mlir;
using namespace mlir::samoyeds;
using samoyeds::detail::PlannedMatmul;

namespace {
/// Restricts `launch` to calls whose P is in [lo, hi] (hi < 0: no bound).
void guardBySlots(KernelLaunch &launch, int64_t lo, int64_t hi) {
  launch.whenSymbol = "P";
  launch.whenMin = lo;
  launch.whenMax = hi;
}

/// Builds the launches of one expert matmul (lowerSSMM), in launch order:
/// the unsplit variants (each wide width after its pack kernel), the
/// combine, the mid-size split-K variant and its reduction, the split-K
/// variant and its reduction.
class SSMMLauncher {
public:
  SSMMLauncher(SSMMOp op, BufferTable &table, OpBuilder &builder,
               gpu::GPUModuleOp kernels, StringRef base,
               const SSMMLoweringOptions &o);

  FailureOr<KernelLaunches> build();

private:
  /// Builds `m` for the calls [lo, hi]; with `in`, summing its slices; with
  /// `fused`, combining its slot rows.
  FailureOr<KernelLaunch> buildMatmul(const PlannedMatmul &m, int64_t lo,
                                      int64_t hi, const SplitInput *in,
                                      bool fused);
  /// Builds `m`, one kernel for each part of its calls: those it shares
  /// with the split-K input (up to its slots) and those up to fusedTo have
  /// kernels of their own.
  LogicalResult addMatmul(const PlannedMatmul &m);
  /// The pack kernel of `m` (a wide width or the persistent grid of the
  /// large calls; tile wide_packed), where it needs one, and the packed
  /// workspace.
  LogicalResult addPack(const PlannedMatmul &m);
  /// The combine kernels of the unsplit calls the matmuls do not combine.
  LogicalResult addCombine();
  /// The reduction of a split-K variant's `splits` slices of `m.hi` rows in
  /// `workspace` (the combine kernel for a weighted_combine), for m's calls
  /// from `from`.
  LogicalResult addReduction(const PlannedMatmul &m, StringRef workspace,
                             StringRef kernelBase, int64_t splits,
                             int64_t from);
  /// The split-K variants: their matmuls, workspaces and reductions.
  LogicalResult addSplitVariants();

  SSMMOp op;
  BufferTable &table;
  OpBuilder &builder;
  gpu::GPUModuleOp kernels;
  StringRef base;
  const SSMMLoweringOptions &o;
  bool combine, packed;
  Type f32, combineRows;
  int64_t rows;
  SmallVector<PlannedMatmul> planned;
  /// The wide widths' kernels built so far, by name.
  llvm::StringMap<KernelLaunch> built;
  /// The unsplit variants of a weighted_combine write the same workspace
  /// of slot rows (one of them runs); the wide variant's packed input
  /// (tile wide_packed); the fused combine's counters.
  std::string combineWs, packedInput, combineCounters;
  SSMMBuffers splitBuffers, midBuffers;
  /// The calls the split-K variants take (P <= splitTo) and, with
  /// fuse-combine, those whose matmul kernels combine (P <= fusedTo).
  int64_t splitTo = 0, fusedTo = 0;
  /// The most counters of a fused split reduction and of a fused combine.
  int64_t splitCounters = 0, fusedCounters = 0;
  KernelLaunches launches;
};
} // namespace

SSMMLauncher::SSMMLauncher(SSMMOp op, BufferTable &table, OpBuilder &builder,
                           gpu::GPUModuleOp kernels, StringRef base,
                           const SSMMLoweringOptions &o)
    : op(op), table(table), builder(builder), kernels(kernels), base(base),
      o(o) {
  combine = op.getEpilogue() == EpilogueKind::WeightedCombine;
  f32 = Float32Type::get(op.getContext());
  combineRows =
      o.combineF32 ? f32 : cast<ShapedType>(op.getType()).getElementType();
  rows = cast<RankedTensorType>(op.getWeight().getType()).getDimSize(1);
  planned = samoyeds::detail::planMatmuls(op);
  combineWs = "ws_" + base.str();
  packed = op.getTileAttr() && op.getTileAttr().getWidePacked() == 1;
  packedInput = packed ? combineWs + "_packed" : "";
  combineCounters = combineWs + "_counters";
  splitBuffers = {"ws_" + base.str() + "_split", "", Type()};
  if (o.fuseSplitReduce && !combine && !o.reducedByConsumer)
    splitBuffers.counters = splitBuffers.workspace + "_counters";
  // The mid-size split-K variant's workspace; its reduction is a kernel of
  // its own.
  midBuffers = {"ws_" + base.str() + "_split_mid", "", Type()};
  for (const PlannedMatmul &m : planned) {
    if (m.variant == SSMMVariant::Split || m.variant == SSMMVariant::SplitMid)
      splitTo = std::max(splitTo, m.hi);
  }
  if (combine && o.fuseCombine)
    fusedTo = samoyeds::detail::fusedCombineSlots(op, planned);
}

FailureOr<KernelLaunch> SSMMLauncher::buildMatmul(const PlannedMatmul &m,
                                                  int64_t lo, int64_t hi,
                                                  const SplitInput *in,
                                                  bool fused) {
  bool mid = m.variant == SSMMVariant::SplitMid;
  bool split = m.variant == SSMMVariant::Split || mid;
  bool decodeVariant = m.variant == SSMMVariant::Decode ||
                       m.variant == SSMMVariant::DecodeShared;
  SSMMBuffers buffers =
      mid     ? midBuffers
      : split ? splitBuffers
              : SSMMBuffers{combine ? combineWs : "", "", combineRows};
  buffers.splitInput = in;
  if (fused)
    buffers.counters = combineCounters;
  bool wideVariant = samoyeds::detail::isWideVariant(m.variant);
  if (samoyeds::detail::packsInput(op.getTileAttr(), m.variant))
    buffers.packedInput = packedInput;
  std::string name =
      (base + m.suffix + (in ? "_reducing" : "") + (fused ? "_combining" : ""))
          .str();
  // A wide width under several bounds (wide_low_calls) is one kernel,
  // built for its first range and launched again under each other one.
  auto builtBefore = wideVariant ? built.find(name) : built.end();
  if (builtBefore != built.end()) {
    KernelLaunch again = builtBefore->second;
    guardBySlots(again, lo, hi);
    again.dependent = o.wideDependent;
    return again;
  }
  SSMMKernelOptions options;
  // With pdl-wide the gate/up's wide variants prefetch their first weights
  // before the wait, as its decode variants do; the down projection's wide
  // variants wait at their start (issuing their ring's first weight copies
  // before it cost them spills and 13-19% of their time: H100,
  // bench/RESULTS.md S62).
  bool dependentWide = wideVariant && o.wideDependent;
  options.weightsBeforeWait = o.early && (split || decodeVariant);
  options.prefetchBeforeWait = o.prefetch && (decodeVariant || dependentWide);
  // A wide grid runs several waves: its dependents (the down projection,
  // the combine) launching at its start took the SMs of its later waves
  // (H100, bench/RESULTS.md S61).
  options.dependentsAtExit = dependentWide;
  options.readsWeightsOnce = split || decodeVariant;
  options.maxSlots = hi;
  options.spanHalves = o.spanHalves;
  FailureOr<KernelLaunch> matmul =
      buildSSMMKernel(builder, kernels, op, name, m.variant, buffers, options);
  if (failed(matmul))
    return failure();
  if (lo > 0 || hi >= 0)
    guardBySlots(*matmul, lo, hi);
  int64_t &counters = fused ? fusedCounters : splitCounters;
  counters = std::max(counters, matmul->counters);
  // The unbounded variants lost up to 5% at T = 4096 as dependent
  // launches (H200, bench/RESULTS.md S7); the wide widths, which serve
  // such calls, are dependent only with the pass's pdl-wide.
  matmul->dependent = wideVariant ? o.wideDependent : hi >= 0;
  if (wideVariant)
    built.try_emplace(name, *matmul);
  return matmul;
}

LogicalResult SSMMLauncher::addMatmul(const PlannedMatmul &m) {
  bool fusable = fusedTo > 0 && samoyeds::detail::canFuseCombine(op, m.variant);
  int64_t reads = o.splitInput ? o.splitInput->slots : 0;
  int64_t lo = m.lo;
  while (true) {
    // The part from lo ends before the next bound at or above its first
    // call, or where m's calls end.
    int64_t first = std::max<int64_t>(lo, 1), hi = m.hi;
    for (int64_t bound : {reads, fusable ? fusedTo : 0})
      if (bound >= first && (hi < 0 || bound < hi))
        hi = bound;
    bool reading = first <= reads;
    bool fused = fusable && first <= fusedTo;
    FailureOr<KernelLaunch> matmul = buildMatmul(
        m, reading ? first : lo, hi, reading ? o.splitInput : nullptr, fused);
    if (failed(matmul))
      return failure();
    launches.push_back(*matmul);
    if (hi == m.hi)
      return success();
    lo = hi + 1;
  }
}

LogicalResult SSMMLauncher::addPack(const PlannedMatmul &m) {
  // The wide variant's and its multicast kernel's tiles are packed alike:
  // with both, `_pack` serves both.
  auto plans = [&](SSMMVariant variant) {
    return llvm::any_of(planned, [&](const PlannedMatmul &other) {
      return other.variant == variant;
    });
  };
  bool low = m.variant == SSMMVariant::WideLow;
  bool multicast = m.variant == SSMMVariant::WideMulticast;
  if (!samoyeds::detail::packsInput(op.getTileAttr(), m.variant) ||
      (multicast && plans(SSMMVariant::Wide)))
    return success();
  int64_t packTo =
      m.variant == SSMMVariant::Wide && plans(SSMMVariant::WideMulticast)
          ? -1
          : m.hi;
  FailureOr<KernelLaunch> pack = buildWidePackKernel(
      builder, kernels, op, packedInput,
      (base + (low ? "_pack_low" : "_pack")).str(), m.lo, m.variant);
  if (failed(pack))
    return failure();
  guardBySlots(*pack, m.lo, packTo);
  launches.push_back(*pack);
  // Added with the pack kernel of the widest calls (`_pack`): the most rows
  // per routed slot the first call of a variant that packs needs, two or
  // three, so that every call of each fits.
  if (packTo >= 0)
    return success();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t packedRowsPerSlot = 0;
  TileConfigAttr tile = op.getTileAttr();
  for (const PlannedMatmul &width : planned) {
    if (samoyeds::detail::packsInput(tile, width.variant))
      packedRowsPerSlot = std::max(
          packedRowsPerSlot,
          TileConfigAttr::widePackedRowsPerSlot(
              wType.getDimSize(0),
              samoyeds::detail::packedVariantTokens(tile, width.variant),
              width.lo));
  }
  assert(packedRowsPerSlot > 0 && "buildWidePackKernel checked m.lo");
  Type elt = cast<RankedTensorType>(op.getInput().getType()).getElementType();
  table.addWorkspace(packedInput,
                     {packedRowsPerSlot,
                      BufferAttr::encodeSymbol(SizeSymbol::P),
                      wType.getDimSize(2)},
                     elt);
  return success();
}

LogicalResult SSMMLauncher::addCombine() {
  table.addWorkspace(combineWs, {BufferAttr::encodeSymbol(SizeSymbol::P), rows},
                     combineRows);
  // A column a thread below kStreamingSlots routed slots, 16 bytes of row
  // a thread (`_combine_vector`) from there; none for the calls the
  // matmuls combine themselves.
  int64_t covered = std::max(splitTo, fusedTo);
  int64_t from = covered > 0 ? covered + 1 : 0;
  int64_t streaming = samoyeds::detail::kStreamingSlots;
  for (bool vector : {false, true}) {
    int64_t lo = vector ? std::max(from, streaming) : from;
    int64_t hi = vector ? -1 : streaming - 1;
    if (hi >= 0 && lo > hi)
      continue;
    FailureOr<KernelLaunch> reduce = buildCombineKernel(
        builder, kernels, op, combineWs, combineRows,
        (base + (vector ? "_combine_vector" : "_combine")).str(), 1, 0, vector,
        o.combineEarly);
    if (failed(reduce))
      return failure();
    guardBySlots(*reduce, lo, hi);
    launches.push_back(*reduce);
  }
  return success();
}

LogicalResult SSMMLauncher::addReduction(const PlannedMatmul &m,
                                         StringRef workspace,
                                         StringRef kernelBase, int64_t splits,
                                         int64_t from) {
  FailureOr<KernelLaunch> reduce =
      combine ? buildCombineKernel(builder, kernels, op, workspace, f32,
                                   (kernelBase + "_combine").str(), splits,
                                   m.hi, /*vector=*/false, o.combineEarly)
              : buildSplitReduceKernel(builder, kernels, op, workspace,
                                       (kernelBase + "_reduce").str(), splits,
                                       m.hi);
  if (failed(reduce))
    return failure();
  guardBySlots(*reduce, from, m.hi);
  launches.push_back(*reduce);
  return success();
}

LogicalResult SSMMLauncher::addSplitVariants() {
  for (const PlannedMatmul &m : planned) {
    if (m.variant != SSMMVariant::SplitMid)
      continue;
    int64_t midSplits = op.getTileAttr().getMidSplitK();
    if (failed(addMatmul(m)))
      return failure();
    table.addWorkspace(midBuffers.workspace, {midSplits * m.hi, rows});
    if (failed(addReduction(m, midBuffers.workspace,
                            (base + "_split_mid").str(), midSplits,
                            std::max<int64_t>(m.lo, 1))))
      return failure();
  }
  if (planned.empty() || planned.back().variant != SSMMVariant::Split)
    return success();
  const PlannedMatmul &split = planned.back();
  int64_t splits = op.getTileAttr().getSplitK();
  if (failed(addMatmul(split)))
    return failure();
  table.addWorkspace(splitBuffers.workspace, {splits * split.hi, rows});
  if (splitCounters > 0) {
    table.addCounters(splitBuffers.counters, splitCounters);
    return success();
  }
  // The calls whose kernels neither reduce (fuse-split-reduce) nor combine
  // (fuse-combine) their slices themselves, unless the matmul that reads
  // the result sums them.
  int64_t from = std::max<int64_t>({split.lo, 1, fusedTo + 1});
  if (o.reducedByConsumer || from > split.hi)
    return success();
  return addReduction(split, splitBuffers.workspace, (base + "_split").str(),
                      splits, from);
}

FailureOr<KernelLaunches> SSMMLauncher::build() {
  for (const PlannedMatmul &m : planned) {
    if (m.variant == SSMMVariant::Split || m.variant == SSMMVariant::SplitMid)
      continue;
    // The pack kernel writes what the wide kernel right after it reads.
    if (failed(addPack(m)) || failed(addMatmul(m)))
      return failure();
  }
  if (combine && failed(addCombine()))
    return failure();
  if (failed(addSplitVariants()))
    return failure();
  if (fusedCounters > 0)
    table.addCounters(combineCounters, fusedCounters);
  return launches;
}

FailureOr<KernelLaunches>
mlir::samoyeds::lowerSSMM(SSMMOp op, BufferTable &table, OpBuilder &builder,
                          gpu::GPUModuleOp kernels, StringRef base,
                          const SSMMLoweringOptions &o) {
  return SSMMLauncher(op, table, builder, kernels, base, o).build();
}

SplitInput mlir::samoyeds::splitInputOf(SSMMOp producer, StringRef base) {
  TileConfigAttr tile = producer.getTileAttr();
  auto wType = cast<RankedTensorType>(producer.getWeight().getType());
  return {"ws_" + base.str() + "_split", tile.getSplitK(), tile.getSplitSlots(),
          wType.getDimSize(1), producer.getEpilogue() == EpilogueKind::SiluMul};
}
