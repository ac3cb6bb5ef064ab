//===- SamoyedsToGPU.cpp - Compile samoyeds ops into GPU kernels ----------===//
//
// Each samoyeds op of a host function becomes one or more gpu.func kernels in
// `gpu.module @samoyeds_kernels`, and is replaced by a `samoyeds.launch` with
// the same operands and results that states its kernel launches
// (#samoyeds.launch). The function lists every buffer the launches bind in
// `samoyeds.buffers` and its packed weights in `samoyeds.weights`. Dynamic
// sizes are named by two symbols: T (tokens) and P (routed token slots).
//
// The pass first checks every op and names the dynamic dimensions of the
// function's values (a value's symbol may be fixed by a later op), then
// converts the ops with populateSamoyedsToGPUPatterns and
// applyPartialConversion, and finally records the buffer list.
//
//===----------------------------------------------------------------------===//

#include "KernelUtils.h"
#include "LaunchPlan.h"
#include "SSMMPlan.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <limits>

namespace mlir::samoyeds {
#define GEN_PASS_DEF_CONVERTSAMOYEDSTOGPU
#include "samoyeds/Conversion/Passes.h.inc"
} // namespace mlir::samoyeds

using namespace mlir;
using namespace mlir::samoyeds;

namespace {
/// Names the dynamic dims of an ssmm's operands: T tokens, P slots.
LogicalResult nameSSMMDims(BufferTable &table, SSMMOp op) {
  Operation *o = op.getOperation();
  bool combine = op.getEpilogue() == EpilogueKind::WeightedCombine;
  if (failed(table.nameDim(o, op.getInput(), 0,
                           op.getTokens() ? SizeSymbol::T : SizeSymbol::P)))
    return failure();
  if (op.getTokens() &&
      failed(table.nameDim(o, op.getTokens(), 0, SizeSymbol::P)))
    return failure();
  if (combine &&
      (failed(table.nameDim(o, op.getRoutingWeights(), 0, SizeSymbol::T)) ||
       failed(table.nameDim(o, op.getPositions(), 0, SizeSymbol::T))))
    return failure();
  return table.nameDim(o, op.getResult(), 0,
                       combine ? SizeSymbol::T : SizeSymbol::P);
}

/// The most experts a route kernel (its select kernel keeps every 32nd logit
/// of a token in each lane's registers, 32 at most) and an expert matmul
/// (whose size grows with the count) are compiled for.
constexpr int64_t kMaxRouteExperts = 32 * 32;
constexpr int64_t kMaxMatmulExperts = 8192;
/// The most experts per token (top_k) the route and combine kernels, which
/// are unrolled over them, are compiled for.
constexpr int64_t kMaxTopK = 256;

/// Refuses static sizes a bundle cannot describe: the runtime reads buffer
/// dimensions as 32-bit and weight byte counts as 64-bit integers; and
/// expert counts the kernels cannot hold.
LogicalResult verifyBundleSizes(Operation *op) {
  auto check = [&](Type type, StringRef what, unsigned index) -> LogicalResult {
    auto shaped = dyn_cast<ShapedType>(type);
    if (!shaped || !shaped.hasRank())
      return success();
    for (auto [d, size] : llvm::enumerate(shaped.getShape()))
      if (!ShapedType::isDynamic(size) &&
          size > std::numeric_limits<int32_t>::max())
        return op->emitOpError()
               << what << " " << index << " (" << type << "): dimension " << d
               << " is " << size << ", more than the "
               << std::numeric_limits<int32_t>::max() << " a bundle describes";
    if (!getSparseFormat(type))
      return success();
    std::optional<int64_t> bytes = shaped.getElementTypeBitWidth() / 8;
    for (int64_t size : shaped.getShape())
      if (bytes && !ShapedType::isDynamic(size))
        bytes = llvm::checkedMul(*bytes, size);
    if (!bytes)
      return op->emitOpError() << what << " " << index << " (" << type
                               << "): a weight of more than 2^63 bytes";
    return success();
  };
  for (auto [i, type] : llvm::enumerate(op->getOperandTypes()))
    if (failed(check(type, "operand", i)))
      return failure();
  for (auto [i, type] : llvm::enumerate(op->getResultTypes()))
    if (failed(check(type, "result", i)))
      return failure();
  // The route kernel keeps E / 32 logits per lane in registers; the matmul
  // kernels unroll a scan over the experts, so their size grows with the
  // count.
  if (auto route = dyn_cast<RouteOp>(op)) {
    int64_t experts =
        cast<ShapedType>(route.getRouter().getType()).getDimSize(0);
    if (experts > kMaxRouteExperts)
      return op->emitOpError()
             << "routes over " << experts << " experts; its select kernel "
             << "keeps a token's logits in the registers of one warp, which "
             << "hold " << kMaxRouteExperts;
    if (route.getTopK() > kMaxTopK)
      return op->emitOpError()
             << "routes each token to top_k = " << route.getTopK()
             << " experts; the route kernel is compiled for at most "
             << kMaxTopK;
  }
  if (auto ssmm = dyn_cast<SSMMOp>(op)) {
    int64_t experts =
        cast<ShapedType>(ssmm.getWeight().getType()).getDimSize(0);
    if (experts > kMaxMatmulExperts)
      return op->emitOpError()
             << "has " << experts << " experts; the kernels are compiled for "
             << "at most " << kMaxMatmulExperts;
    if (Value weights = ssmm.getRoutingWeights()) {
      int64_t topK = cast<ShapedType>(weights.getType()).getDimSize(1);
      if (topK > kMaxTopK)
        return op->emitOpError()
               << "combines top_k = " << topK << " slots per token; the "
               << "combine kernel is compiled for at most " << kMaxTopK;
    }
  }
  return success();
}

/// Whether `c` may follow the first character of a PTX identifier.
bool isPTXIdentifierChar(char c) {
  return llvm::isAlnum(c) || c == '_' || c == '$';
}

/// `name` made a PTX identifier ([a-zA-Z][a-zA-Z0-9_$]* or [_$][a-zA-Z0-9_$]+
/// once a suffix follows): every other byte becomes '_', and a leading digit
/// gets a '_' before it. A name that is one already is returned unchanged.
std::string ptxIdentifierPrefix(StringRef name) {
  std::string out = name.str();
  for (char &c : out)
    if (!isPTXIdentifierChar(c))
      c = '_';
  if (!out.empty() && llvm::isDigit(out.front()))
    out.insert(out.begin(), '_');
  return out;
}

/// Names the dynamic dims of the operands and results of `op`.
LogicalResult nameDims(BufferTable &table, Operation *op) {
  if (auto route = dyn_cast<RouteOp>(op)) {
    for (Value v :
         {route.getHidden(), route.getWeights(), route.getExpertIds()})
      if (failed(table.nameDim(op, v, 0, SizeSymbol::T)))
        return failure();
    return success();
  }
  if (auto dispatch = dyn_cast<DispatchOp>(op))
    return success(
        succeeded(
            table.nameDim(op, dispatch.getExpertIds(), 0, SizeSymbol::T)) &&
        succeeded(
            table.nameDim(op, dispatch.getPositions(), 0, SizeSymbol::T)) &&
        succeeded(table.nameDim(op, dispatch.getTokens(), 0, SizeSymbol::P)));
  auto ssmm = cast<SSMMOp>(op);
  if (failed(nameSSMMDims(table, ssmm)))
    return failure();
  // One buffer holds one packed layout: every matmul reading it must agree.
  return table.setWeightLayout(ssmm,
                               *symbolizeWeightLayout(getWeightLayout(ssmm)));
}

using Launches = KernelLaunches;

/// Restricts `launch` to calls whose P is in [lo, hi] (hi < 0: no bound).
void guardBySlots(KernelLaunch &launch, int64_t lo, int64_t hi) {
  launch.whenSymbol = "P";
  launch.whenMin = lo;
  launch.whenMax = hi;
}

/// One expert-matmul kernel of an op's tile: its name suffix, variant and
/// the calls it takes (P in [lo, hi]; hi < 0: no upper bound).
struct PlannedMatmul {
  StringRef suffix;
  SSMMVariant variant;
  int64_t lo, hi;
};

/// The matmul kernels of `op`'s tile, in launch order. A tile with split_k >
/// 1 has the split-K variant, for P <= split_slots (the unsplit launches
/// take P > split_slots): its matmul writes f32 partial rows to a workspace
/// of split_k × split_slots rows, which a split reduction kernel sums in
/// slice order. A tile with decode_tokens > 0 adds the decode variant for the
/// unsplit calls up to decode_slots (from shared_slots a second one with two
/// blocks per SM), and one with wide_tokens > 0 the wide variant for those
/// from wide_slots. A tile with persistent > 0 and no wide variant adds the
/// persistent variant for P >= persistent_slots, or uses it instead of the
/// ordinary grid when that is every unsplit call; below persistent_slots
/// (below wide_slots with a wide variant) a strategy whose persistent grid
/// always wins runs it with `tokens`. With a wide variant and
/// persistent_warps, the persistent grid (its own warps and tokens) runs
/// below persistent_slots and the ordinary grid from there to wide_slots.
SmallVector<PlannedMatmul> planMatmuls(SSMMOp op) {
  TileConfigAttr tile = op.getTileAttr();
  int64_t splits = tile ? tile.getSplitK() : 1;
  int64_t slots = splits > 1 ? tile.getSplitSlots() : 0;
  // Unsplit calls: P > slots (every call without split-K).
  int64_t unsplitFrom = splits > 1 ? slots + 1 : 0;
  bool persistent = tile && tile.getPersistent() > 0;
  // The wide variant (never with a persistent variant) takes the unsplit
  // calls from wide_slots above the decode variant's.
  bool wide = tile && tile.getWideTokens() > 0;
  // The persistent variant serves the large calls unless the wide one
  // does; the persistent grid then runs the ordinary grid's calls.
  bool persistentLarge = persistent && !wide;
  int64_t persistentFrom =
      persistentLarge ? std::max(tile.getPersistentSlots(), unsplitFrom) : -1;
  // The unsplit calls below persistent_slots (all without a persistent
  // variant): decode up to decode_slots, then the ordinary grid; either
  // range may be empty.
  int64_t ordinaryTo = persistentLarge ? persistentFrom - 1 : -1;
  int64_t decodeTo = -1;
  if (tile && tile.getDecodeTokens() > 0)
    decodeTo = persistentLarge ? std::min(tile.getDecodeSlots(), ordinaryTo)
                               : tile.getDecodeSlots();
  bool decode = decodeTo >= std::max<int64_t>(unsplitFrom, 1);
  int64_t ordinaryFrom = decode ? decodeTo + 1 : unsplitFrom;
  // The decode calls run one block per SM below shared_slots (`_decode`)
  // and two from it (`_decode_shared`); either part may be empty.
  int64_t firstCall = std::max<int64_t>(unsplitFrom, 1);
  int64_t sharedFrom = decode && tile.getSharedSlots() > 0
                           ? std::max(tile.getSharedSlots(), firstCall)
                           : decodeTo + 1;
  bool shared = sharedFrom <= decodeTo;
  bool decodeOne = decode && sharedFrom > firstCall;
  int64_t wideFrom =
      wide ? std::max<int64_t>({tile.getWideSlots(), ordinaryFrom, 1}) : -1;
  if (wide)
    ordinaryTo = wideFrom - 1;
  // With persistent_warps the persistent grid takes the calls below
  // persistent_slots and the ordinary grid those from it (below the wide
  // variant); either part may be empty.
  bool splitBelowWide = wide && persistent && tile.getPersistentWarps() > 0;
  int64_t narrowFrom = ordinaryFrom, narrowTo = -1;
  if (splitBelowWide) {
    narrowTo = std::min(std::max(tile.getPersistentSlots(), ordinaryFrom) - 1,
                        ordinaryTo);
    if (narrowTo >= std::max<int64_t>(ordinaryFrom, 1))
      ordinaryFrom = narrowTo + 1;
    else
      narrowTo = -1;
  }
  bool plain = (!persistentLarge && !wide) ||
               ordinaryTo >= std::max<int64_t>(ordinaryFrom, 1);

  SmallVector<PlannedMatmul> planned;
  if (decodeOne)
    planned.push_back(
        {"_decode", SSMMVariant::Decode, unsplitFrom, sharedFrom - 1});
  if (shared)
    planned.push_back({"_decode_shared", SSMMVariant::DecodeShared,
                       decodeOne ? sharedFrom : unsplitFrom, decodeTo});
  // Below persistent_slots: the ordinary grid, or the persistent one with
  // the tile's tokens where the strategy's persistent grid always wins.
  if (narrowTo >= 0)
    planned.push_back({"_persistent_narrow", SSMMVariant::PersistentNarrow,
                       narrowFrom, narrowTo});
  bool narrow = persistent && !splitBelowWide && isPersistentAtEverySize(op);
  if (plain)
    planned.push_back(
        {narrow ? "_persistent_narrow" : "",
         narrow ? SSMMVariant::PersistentNarrow : SSMMVariant::Plain,
         ordinaryFrom, ordinaryTo});
  if (wide)
    planned.push_back({"_wide", SSMMVariant::Wide, wideFrom, -1});
  // A persistent grid is never empty: it runs from one routed slot.
  if (persistentLarge)
    planned.push_back({"_persistent", SSMMVariant::Persistent,
                       std::max<int64_t>(persistentFrom, 1), -1});
  if (splits > 1)
    planned.push_back({"_split", SSMMVariant::Split, 1, slots});
  return planned;
}

/// Whether every kernel of `op` that takes calls of at most `slots` routed
/// slots can read a split-K input and sum it (MmaLowering::canSumSplitInput:
/// wgmma_sp's ordinary grids reading slot rows, their whole K range in
/// the ring).
bool canSumSplitInput(SSMMOp op, int64_t slots) {
  if (!op.getTileAttr())
    return false;
  // A plan that fails is reported when the op's kernels are built.
  ScopedDiagnosticHandler quiet(op.getContext(),
                                [](Diagnostic &) { return success(); });
  return llvm::all_of(planMatmuls(op), [&](const PlannedMatmul &m) {
    if (m.lo > slots)
      return true;
    FailureOr<samoyeds::detail::SSMMPlan> p =
        samoyeds::detail::makePlan(op, m.variant);
    return succeeded(p) &&
           samoyeds::detail::getMmaLowering(p->strategy).canSumSplitInput(*p);
  });
}

/// How lowerSSMM builds an op's kernels.
struct SSMMLoweringOptions {
  /// The decode and split-K variants issue their first weight copies before
  /// they wait (the op's routing is settled).
  bool early = false;
  bool fuseSplitReduce = false, combineF32 = false;
  /// The split-K workspace this op's input is (the op sums it), or whether
  /// the op after this one sums this op's split-K slices.
  const SplitInput *splitInput = nullptr;
  bool reducedByConsumer = false;
};

/// The matmul kernels of `op` (planMatmuls); with weighted_combine they
/// write slot rows to a workspace that a second, deterministic combine
/// kernel reduces: rows of the result's element type (half the bytes of f32
/// that the matmul writes and the combine reads, as vLLM's fused MoE keeps
/// them), f32 with `combineF32`. The split-K variant's partial rows are
/// summed by the combine, by a split reduction kernel or (`fuseSplitReduce`)
/// by the matmul's own last block of each tile; with `reducedByConsumer` by
/// the matmul that reads the op's result as it gathers it (no reduction
/// here). With `splitInput`, the kernels of the calls of at most its slots
/// read the split-K workspace of the matmul before (`_reducing`).
///
/// With `early`, the decode and split-K variants issue their first weight
/// copies before they wait for the grids in flight (H200, bench/RESULTS.md
/// S14: up to 1.10x at T = 1-4; the ordinary grid lost 1-2% at T = 256, so
/// it waits first).
FailureOr<Launches> lowerSSMM(SSMMOp op, BufferTable &table, OpBuilder &builder,
                              gpu::GPUModuleOp kernels, StringRef base,
                              const SSMMLoweringOptions &o) {
  bool fuseSplitReduce = o.fuseSplitReduce, combineF32 = o.combineF32,
       reducedByConsumer = o.reducedByConsumer;
  const SplitInput *splitInput = o.splitInput;
  bool combine = op.getEpilogue() == EpilogueKind::WeightedCombine;
  Type f32 = Float32Type::get(op.getContext());
  Type combineRows =
      combineF32 ? f32 : cast<ShapedType>(op.getType()).getElementType();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t rows = wType.getDimSize(1);
  SmallVector<PlannedMatmul> planned = planMatmuls(op);
  std::string splitBase = (base + "_split").str();
  SSMMBuffers splitBuffers{"ws_" + splitBase, "", Type()};
  if (fuseSplitReduce && !combine && !reducedByConsumer)
    splitBuffers.counters = splitBuffers.workspace + "_counters";

  // Builds `m` for the calls [lo, hi]; with `in`, summing its slices.
  auto build = [&](const PlannedMatmul &m, int64_t lo, int64_t hi,
                   const SplitInput *in) -> FailureOr<KernelLaunch> {
    bool split = m.variant == SSMMVariant::Split;
    bool decodeVariant = m.variant == SSMMVariant::Decode ||
                         m.variant == SSMMVariant::DecodeShared;
    SSMMBuffers buffers =
        split ? splitBuffers : SSMMBuffers{"", "", combineRows};
    buffers.splitInput = in;
    std::string name = (base + m.suffix + (in ? "_reducing" : "")).str();
    EarlyWeights early = o.early && (split || decodeVariant)
                             ? EarlyWeights::BeforeWait
                             : EarlyWeights::None;
    FailureOr<KernelLaunch> matmul =
        buildSSMMKernel(builder, kernels, op, name, m.variant, early, buffers);
    if (failed(matmul))
      return failure();
    if (lo > 0 || hi >= 0)
      guardBySlots(*matmul, lo, hi);
    // The unbounded variants lost up to 5% at T = 4096 as dependent
    // launches (H200, bench/RESULTS.md).
    matmul->dependent = hi >= 0;
    return matmul;
  };
  // Builds `m`; the calls it shares with `splitInput` as a second kernel.
  auto addMatmul = [&](const PlannedMatmul &m, Launches &out) -> LogicalResult {
    int64_t lo = m.lo, hi = m.hi;
    if (splitInput && std::max<int64_t>(lo, 1) <= splitInput->slots) {
      int64_t to = hi < 0 ? splitInput->slots : std::min(hi, splitInput->slots);
      FailureOr<KernelLaunch> reducing =
          build(m, std::max<int64_t>(lo, 1), to, splitInput);
      if (failed(reducing))
        return failure();
      out.push_back(*reducing);
      lo = splitInput->slots + 1;
      if (hi >= 0 && lo > hi)
        return success();
    }
    FailureOr<KernelLaunch> matmul = build(m, lo, hi, nullptr);
    if (failed(matmul))
      return failure();
    out.push_back(*matmul);
    return success();
  };

  Launches launches;
  for (const PlannedMatmul &m : planned)
    if (m.variant != SSMMVariant::Split && failed(addMatmul(m, launches)))
      return failure();
  if (combine) {
    // The unsplit variants write the same workspace; one of them runs.
    std::string ws = "ws_" + base.str();
    table.addWorkspace(ws, {BufferAttr::encodeSymbol(SizeSymbol::P), rows},
                       combineRows);
    // The matmuls' output argument becomes the workspace (the alignment
    // their stores need is kept).
    for (KernelLaunch &launch : launches) {
      KernelArg &rowsArg = launch.args.back();
      rowsArg.value = Value();
      rowsArg.name = ws;
    }
    // A column a thread below kStreamingSlots routed slots, 16 bytes of
    // row a thread (`_combine_vector`) from there.
    int64_t from = planned.back().variant == SSMMVariant::Split
                       ? planned.back().hi + 1
                       : 0;
    int64_t streaming = samoyeds::detail::kStreamingSlots;
    for (bool vector : {false, true}) {
      int64_t lo = vector ? std::max(from, streaming) : from;
      int64_t hi = vector ? -1 : streaming - 1;
      if (hi >= 0 && lo > hi)
        continue;
      FailureOr<KernelLaunch> reduce = buildCombineKernel(
          builder, kernels, op, ws, combineRows,
          (base + (vector ? "_combine_vector" : "_combine")).str(), 1, 0,
          vector);
      if (failed(reduce))
        return failure();
      guardBySlots(*reduce, lo, hi);
      launches.push_back(*reduce);
    }
  }
  if (planned.empty() || planned.back().variant != SSMMVariant::Split)
    return launches;

  const PlannedMatmul &split = planned.back();
  int64_t splits = op.getTileAttr().getSplitK();
  Launches splitLaunches;
  if (failed(addMatmul(split, splitLaunches)))
    return failure();
  table.addWorkspace(splitBuffers.workspace, {splits * split.hi, rows});
  int64_t counters = 0;
  for (KernelLaunch &matmul : splitLaunches) {
    counters = std::max(counters, matmul.counters);
    launches.push_back(matmul);
  }
  if (counters > 0) {
    table.addCounters(splitBuffers.counters, counters);
    return launches;
  }
  // The matmul that reads the result sums the slices itself.
  if (reducedByConsumer)
    return launches;
  FailureOr<KernelLaunch> reduce =
      combine
          ? buildCombineKernel(builder, kernels, op, splitBuffers.workspace,
                               f32, splitBase + "_combine", splits, split.hi)
          : buildSplitReduceKernel(builder, kernels, op, splitBuffers.workspace,
                                   splitBase + "_reduce");
  if (failed(reduce))
    return failure();
  guardBySlots(*reduce, 1, split.hi);
  launches.push_back(*reduce);
  return launches;
}

/// The split-K workspace of `producer`, whose kernels are named from
/// `base`.
SplitInput splitInputOf(SSMMOp producer, StringRef base) {
  TileConfigAttr tile = producer.getTileAttr();
  auto wType = cast<RankedTensorType>(producer.getWeight().getType());
  return {"ws_" + base.str() + "_split", tile.getSplitK(), tile.getSplitSlots(),
          wType.getDimSize(1), producer.getEpilogue() == EpilogueKind::SiluMul};
}

/// Builds the kernels of `op` into `kernels`.
FailureOr<Launches> buildLaunches(Operation *op, SamoyedsToGPUState &state) {
  OpBuilder &b = state.kernelBuilder;
  std::string base = state.kernelBases.lookup(op);
  return llvm::TypeSwitch<Operation *, FailureOr<Launches>>(op)
      .Case([&](RouteOp route) -> FailureOr<Launches> {
        std::string ws = "ws_" + base;
        int64_t experts =
            cast<ShapedType>(route.getRouter().getType()).getDimSize(0);
        state.table.addWorkspace(
            ws, {BufferAttr::encodeSymbol(SizeSymbol::T), experts});
        return buildRouteKernels(b, state.kernels, route, base, ws,
                                 state.selectDispatch.contains(route));
      })
      .Case([&](DispatchOp dispatch) -> FailureOr<Launches> {
        if (Operation *route = state.selectDispatch.lookup(dispatch))
          return buildSelectDispatchKernels(
              b, state.kernels, cast<RouteOp>(route), dispatch, base,
              "ws_" + state.kernelBases.lookup(route));
        return buildDispatchKernels(b, state.kernels, dispatch, base,
                                    /*fromTokens=*/0);
      })
      .Case([&](SSMMOp ssmm) {
        // The pair's reader sums the slices; its producer reduces none.
        auto other =
            cast_or_null<SSMMOp>(state.splitInputs.lookup(ssmm.getOperation()));
        bool reads = other && ssmm.getInput() == other.getResult();
        std::optional<SplitInput> in;
        if (reads)
          in = splitInputOf(other, state.kernelBases.lookup(other));
        SSMMLoweringOptions o;
        o.early = state.pdl && state.settledRouting.contains(ssmm);
        o.fuseSplitReduce = state.fuseSplitReduce;
        o.combineF32 = state.combineF32;
        o.splitInput = in ? &*in : nullptr;
        o.reducedByConsumer = other && !reads;
        return lowerSSMM(ssmm, state.table, b, state.kernels, base, o);
      });
}

/// What the manifest records of a route op.
RoutingAttr routingOf(Operation *op) {
  auto route = dyn_cast<RouteOp>(op);
  if (!route)
    return {};
  int64_t experts = cast<ShapedType>(route.getRouter().getType()).getDimSize(0);
  return RoutingAttr::get(op->getContext(), experts, route.getTopK(),
                          route.getRenormalize(),
                          route.getRoutedScalingFactorAttr());
}

/// Starts `kernel` with `griddepcontrol.wait`, so it reads nothing before
/// the grids it depends on have finished and their writes are visible, and
/// `griddepcontrol.launch_dependents`, so the kernel after it may be
/// scheduled as soon as all of this one's blocks have started.
void addGridDependencyControl(gpu::GPUFuncOp kernel) {
  OpBuilder b = OpBuilder::atBlockBegin(&kernel.getBody().front());
  NVVM::GriddepcontrolOp::create(b, kernel.getLoc(),
                                 NVVM::GridDepActionKind::wait);
  NVVM::GriddepcontrolOp::create(b, kernel.getLoc(),
                                 NVVM::GridDepActionKind::launch_dependents);
}

/// The pairs of `ops` (a function's samoyeds ops in order) of a
/// samoyeds.route and the samoyeds.dispatch of its ids right after it, mapped
/// to one another, where one block can select and dispatch a small call.
llvm::DenseMap<Operation *, Operation *>
findSelectDispatch(ArrayRef<Operation *> ops) {
  llvm::DenseMap<Operation *, Operation *> pairs;
  for (size_t i = 0; i + 1 < ops.size(); ++i) {
    auto route = dyn_cast<RouteOp>(ops[i]);
    auto dispatch = dyn_cast<DispatchOp>(ops[i + 1]);
    if (!route || !dispatch ||
        dispatch.getExpertIds() != route.getExpertIds() ||
        !canSelectAndDispatch(route))
      continue;
    pairs[route] = dispatch;
    pairs[dispatch] = route;
  }
  return pairs;
}

/// The expert matmuls of `ops` (a function's samoyeds ops in order) whose
/// input is the result of the split-K variant of the matmul right before,
/// and that matmul, mapped to one another, where the reader can sum the
/// slices as it gathers them: the result has no other use, both take the
/// same offsets, and the reader's kernels of the producer's split calls are
/// wgmma_sp's ordinary grids reading slot rows (canSumSplitInput).
llvm::DenseMap<Operation *, Operation *>
findSplitInputs(ArrayRef<Operation *> ops) {
  llvm::DenseMap<Operation *, Operation *> pairs;
  for (size_t i = 0; i + 1 < ops.size(); ++i) {
    auto producer = dyn_cast<SSMMOp>(ops[i]);
    auto reader = dyn_cast<SSMMOp>(ops[i + 1]);
    if (!producer || !reader || reader.getInput() != producer.getResult() ||
        !producer.getResult().hasOneUse() ||
        producer.getEpilogue() == EpilogueKind::WeightedCombine ||
        reader.getOffsets() != producer.getOffsets())
      continue;
    TileConfigAttr tile = producer.getTileAttr();
    if (!tile || tile.getSplitK() < 2 ||
        !canSumSplitInput(reader, tile.getSplitSlots()))
      continue;
    pairs[producer] = reader;
    pairs[reader] = producer;
  }
  return pairs;
}

/// The ops of `ops` (a function's samoyeds ops in order) whose routing
/// operands (an expert matmul's offsets and token list) were written before
/// the launches of an earlier op of `ops`: by an op at least two before, or
/// outside the function. Every op launches at least one kernel per call, so
/// when such a matmul's kernel starts as a dependent launch, the writer has
/// finished and its writes are visible: the kernel in between waited for
/// it before it let the matmul's launch begin.
llvm::SmallPtrSet<Operation *, 4>
findSettledRouting(ArrayRef<Operation *> ops) {
  llvm::SmallPtrSet<Operation *, 4> settled;
  llvm::DenseMap<Operation *, size_t> position;
  for (auto [i, op] : llvm::enumerate(ops))
    position[op] = i;
  for (size_t i = 1; i < ops.size(); ++i) {
    auto ssmm = dyn_cast<SSMMOp>(ops[i]);
    if (!ssmm)
      continue;
    bool earlier = llvm::all_of(
        ValueRange{ssmm.getOffsets(), ssmm.getTokens()}, [&](Value v) {
          if (!v)
            return true;
          auto it = position.find(v.getDefiningOp());
          return it == position.end() || it->second + 1 < i;
        });
    if (earlier)
      settled.insert(ssmm);
  }
  return settled;
}

/// Replaces a route, dispatch or ssmm op by a `samoyeds.launch` of the
/// kernels built for it.
template <typename OpTy> struct LowerToLaunch : OpConversionPattern<OpTy> {
  LowerToLaunch(MLIRContext *ctx, SamoyedsToGPUState &state)
      : OpConversionPattern<OpTy>(ctx), state(state) {}

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<ArrayAttr> launches = plan(op, rewriter);
    if (failed(launches)) {
      state.reported = true;
      return failure();
    }
    EpilogueKindAttr epilogue;
    if constexpr (std::is_same_v<OpTy, SSMMOp>)
      epilogue = op.getEpilogueAttr();
    auto launch = LaunchOp::create(rewriter, op.getLoc(), op->getResultTypes(),
                                   adaptor.getOperands(), *launches,
                                   routingOf(op), epilogue);
    rewriter.replaceOp(op, launch.getResults());
    return success();
  }

  /// The launch attributes of the kernels built for `op`.
  FailureOr<ArrayAttr> plan(OpTy op, OpBuilder &b) const {
    FailureOr<Launches> launches = buildLaunches(op, state);
    if (failed(launches))
      return failure();
    SmallVector<Attribute> records;
    for (const KernelLaunch &launch : *launches) {
      bool pdl = state.pdl && launch.dependent;
      assert((pdl || !launch.waitsInBody) &&
             "a kernel that waits in its body is a dependent launch");
      // A kernel that waits in its body also lets its dependents launch
      // there, after its wait: every kernel's dependents start only once
      // the grids before it have finished.
      if (pdl && !launch.waitsInBody)
        addGridDependencyControl(gpu::GPUFuncOp(launch.kernel));
      FailureOr<KernelLaunchAttr> record = state.table.bindLaunch(launch, pdl);
      if (failed(record))
        return failure();
      records.push_back(*record);
    }
    return b.getArrayAttr(records);
  }

  SamoyedsToGPUState &state;
};
} // namespace

void mlir::samoyeds::populateSamoyedsToGPUPatterns(RewritePatternSet &patterns,
                                                   SamoyedsToGPUState &state) {
  patterns.add<LowerToLaunch<RouteOp>, LowerToLaunch<DispatchOp>,
               LowerToLaunch<SSMMOp>>(patterns.getContext(), state);
}

namespace {
struct ConvertSamoyedsToGPU
    : samoyeds::impl::ConvertSamoyedsToGPUBase<ConvertSamoyedsToGPU> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder builder(module.getContext());
    usedBases.clear();
    gpu::GPUModuleOp kernels;
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>()))
      if (failed(convertFunc(func, builder, kernels)))
        return signalPassFailure();
    if (kernels && failed(cleanUp(kernels)))
      return signalPassFailure();
  }

  /// Folds the kernels' constants and index arithmetic, which the builders
  /// create op by op, and merges common subexpressions: the IR a reader of
  /// the conversion sees is what the lowering that follows would make of it.
  LogicalResult cleanUp(gpu::GPUModuleOp kernels) {
    OpPassManager pm(gpu::GPUModuleOp::getOperationName());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    return runPipeline(pm, kernels);
  }

  LogicalResult convertFunc(func::FuncOp func, OpBuilder &builder,
                            gpu::GPUModuleOp &kernels) {
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (isa<SamoyedsDialect>(op->getDialect()) && !isa<LaunchOp>(op))
        ops.push_back(op);
    });
    if (ops.empty())
      return success();
    BufferTable table(func);
    llvm::DenseMap<Operation *, std::string> bases;
    for (auto [i, op] : llvm::enumerate(ops)) {
      if (!isa<RouteOp, DispatchOp, SSMMOp>(op))
        return op->emitOpError()
               << "has no GPU lowering; run samoyeds-decompose-moe first";
      if (failed(verifyBundleSizes(op)) || failed(nameDims(table, op)))
        return failure();
      bases[op] = kernelBase(func, op, i);
    }
    if (!kernels)
      kernels = createKernelModule(builder);
    llvm::SmallPtrSet<Operation *, 4> settled;
    if (weightsBeforeWait)
      settled = findSettledRouting(ops);
    llvm::DenseMap<Operation *, Operation *> pairs;
    if (selectDispatch)
      pairs = findSelectDispatch(ops);
    SamoyedsToGPUState state{table, builder, kernels, bases,
                             pdl,   settled, pairs};
    state.fuseSplitReduce = fuseSplitReduce;
    state.combineF32 = combineF32;
    if (reduceInGather)
      state.splitInputs = findSplitInputs(ops);
    if (failed(convert(func, state)))
      return failure();
    return table.finish();
  }

  /// Applies the patterns to `func`. A pattern that fails has reported why;
  /// the driver's "failed to legalize" that follows is dropped.
  LogicalResult convert(func::FuncOp func, SamoyedsToGPUState &state) {
    MLIRContext *ctx = func.getContext();
    RewritePatternSet patterns(ctx);
    populateSamoyedsToGPUPatterns(patterns, state);
    ConversionTarget target(*ctx);
    target.addIllegalOp<RouteOp, DispatchOp, SSMMOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    ScopedDiagnosticHandler filter(ctx, [&](Diagnostic &diag) {
      return success(state.reported &&
                     StringRef(diag.str()).starts_with("failed to legalize"));
    });
    return applyPartialConversion(func, target, std::move(patterns));
  }

  gpu::GPUModuleOp createKernelModule(OpBuilder &builder) {
    ModuleOp module = getOperation();
    builder.setInsertionPointToEnd(module.getBody());
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    builder.getUnitAttr());
    return gpu::GPUModuleOp::create(builder, module.getLoc(),
                                    "samoyeds_kernels");
  }

  /// The name of an op's first kernel, FUNC_OP_N, which its other kernels
  /// extend with `_persistent`, `_combine`, `_split`, ... . FUNC is the host
  /// function's name made a PTX identifier, and a `_K` suffix keeps two
  /// functions whose names map to the same identifier apart: the names end
  /// in a digit and their extensions do not, so every kernel name is unique.
  std::string kernelBase(func::FuncOp func, Operation *op, int counter) {
    std::string base = ptxIdentifierPrefix(func.getSymName()) + "_" +
                       op->getName().stripDialect().str() + "_" +
                       std::to_string(counter);
    std::string name = base;
    for (int k = 1; !usedBases.insert(name).second; ++k)
      name = base + "_" + std::to_string(k);
    return name;
  }

  /// The kernel name prefixes handed out in this run.
  llvm::StringSet<> usedBases;
};
} // namespace
