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
  return table.setWeightLayout(ssmm, getWeightLayout(ssmm));
}

/// Builds the kernels of `op` into `kernels`.
FailureOr<KernelLaunches> buildLaunches(Operation *op,
                                        SamoyedsToGPUState &state) {
  OpBuilder &b = state.kernelBuilder;
  std::string base = state.kernelBases.lookup(op);
  return llvm::TypeSwitch<Operation *, FailureOr<KernelLaunches>>(op)
      .Case([&](RouteOp route) -> FailureOr<KernelLaunches> {
        std::string ws = "ws_" + base;
        int64_t experts =
            cast<ShapedType>(route.getRouter().getType()).getDimSize(0);
        state.table.addWorkspace(
            ws, {BufferAttr::encodeSymbol(SizeSymbol::T), experts});
        return buildRouteKernels(b, state.kernels, route, base, ws,
                                 state.selectDispatch.contains(route));
      })
      .Case([&](DispatchOp dispatch) -> FailureOr<KernelLaunches> {
        // The chunked dispatch's counts table.
        std::string ws;
        if (state.chunkedDispatch && canChunkDispatch(dispatch)) {
          ws = "ws_" + base;
          state.table.addWorkspace(ws,
                                   {BufferAttr::encodeSymbol(SizeSymbol::P), 2},
                                   IntegerType::get(dispatch.getContext(), 32));
        }
        if (Operation *route = state.selectDispatch.lookup(dispatch))
          return buildSelectDispatchKernels(
              b, state.kernels, cast<RouteOp>(route), dispatch, base,
              "ws_" + state.kernelBases.lookup(route), ws);
        return buildDispatchKernels(b, state.kernels, dispatch, base,
                                    /*fromTokens=*/0, ws);
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
        o.combineEarly = state.pdl && state.settledCombine.contains(ssmm);
        // The gathering matmul right after the router (the gate/up
        // projection).
        o.prefetch = state.pdl && state.prefetchBeforeWait &&
                     ssmm.getTokens() && !state.settledRouting.contains(ssmm);
        o.fuseSplitReduce = state.fuseSplitReduce;
        o.fuseCombine = state.fuseCombine;
        o.combineF32 = state.combineF32;
        o.spanHalves = state.spanHalves;
        o.wideDependent = state.pdl && state.pdlWide;
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
/// scheduled as soon as all of this one's blocks have started. With
/// `launchFirst` the dependents may launch before the wait: each of them
/// waits for this grid, and so for the grids this one waits for. With
/// `atExit` there is no launch_dependents: the dependents launch when the
/// kernel completes.
void addGridDependencyControl(gpu::GPUFuncOp kernel, bool launchFirst,
                              bool atExit) {
  OpBuilder b = OpBuilder::atBlockBegin(&kernel.getBody().front());
  auto create = [&](NVVM::GridDepActionKind kind) {
    NVVM::GriddepcontrolOp::create(b, kernel.getLoc(), kind);
  };
  if (atExit)
    return create(NVVM::GridDepActionKind::wait);
  if (launchFirst)
    create(NVVM::GridDepActionKind::launch_dependents);
  create(NVVM::GridDepActionKind::wait);
  if (!launchFirst)
    create(NVVM::GridDepActionKind::launch_dependents);
}

/// The pairs of `ops` (a function's samoyeds ops in order) of a
/// samoyeds.route and the samoyeds.dispatch of its ids right after it, over
/// the route's experts, mapped to one another, where one block can select
/// and dispatch a small call (the fused kernel reads the route's logits and
/// bias as the dispatch's experts).
llvm::DenseMap<Operation *, Operation *>
findSelectDispatch(ArrayRef<Operation *> ops) {
  llvm::DenseMap<Operation *, Operation *> pairs;
  for (size_t i = 0; i + 1 < ops.size(); ++i) {
    auto route = dyn_cast<RouteOp>(ops[i]);
    auto dispatch = dyn_cast<DispatchOp>(ops[i + 1]);
    if (!route || !dispatch ||
        dispatch.getExpertIds() != route.getExpertIds() ||
        dispatch.getNumExperts() !=
            cast<ShapedType>(route.getRouter().getType()).getDimSize(0) ||
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
/// same offsets, the producer's activation is SiLU (the reader's gathers
/// apply SiLU·up), and the reader's kernels of the producer's split calls
/// are wgmma_sp's ordinary grids reading slot rows (canSumSplitInput).
llvm::DenseMap<Operation *, Operation *>
findSplitInputs(ArrayRef<Operation *> ops) {
  llvm::DenseMap<Operation *, Operation *> pairs;
  for (size_t i = 0; i + 1 < ops.size(); ++i) {
    auto producer = dyn_cast<SSMMOp>(ops[i]);
    auto reader = dyn_cast<SSMMOp>(ops[i + 1]);
    if (!producer || !reader || reader.getInput() != producer.getResult() ||
        !producer.getResult().hasOneUse() ||
        producer.getEpilogue() == EpilogueKind::WeightedCombine ||
        producer.getActivation() != ActivationKind::Silu ||
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

/// The expert matmuls of `ops` (a function's samoyeds ops in order) whose
/// `operands` (taken from each, null ones skipped) were all written before
/// the launches of an earlier op of `ops`: by an op at least two before, or
/// outside the function. Every op launches at least one kernel per call, so
/// when such a matmul's kernel starts as a dependent launch, the writer has
/// finished and its writes are visible: the kernel in between waited for
/// it before it let the matmul's launch begin.
template <typename Operands>
llvm::SmallPtrSet<Operation *, 4>
findWrittenTwoOpsBefore(ArrayRef<Operation *> ops, Operands operands) {
  llvm::SmallPtrSet<Operation *, 4> settled;
  llvm::DenseMap<Operation *, size_t> position;
  for (auto [i, op] : llvm::enumerate(ops))
    position[op] = i;
  for (size_t i = 1; i < ops.size(); ++i) {
    auto ssmm = dyn_cast<SSMMOp>(ops[i]);
    if (!ssmm)
      continue;
    bool earlier = llvm::all_of(operands(ssmm), [&](Value v) {
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

/// The expert matmuls whose offsets and token list are settled (above).
llvm::SmallPtrSet<Operation *, 4>
findSettledRouting(ArrayRef<Operation *> ops) {
  return findWrittenTwoOpsBefore(ops, [](SSMMOp op) {
    return SmallVector<Value>{op.getOffsets(), op.getTokens()};
  });
}

/// The weighted_combine matmuls whose routing weights and positions, which
/// their combine kernels read, are settled (above).
llvm::SmallPtrSet<Operation *, 4>
findSettledCombine(ArrayRef<Operation *> ops) {
  auto settled = findWrittenTwoOpsBefore(ops, [](SSMMOp op) {
    return SmallVector<Value>{op.getRoutingWeights(), op.getPositions()};
  });
  settled.remove_if([](Operation *op) {
    return cast<SSMMOp>(op).getEpilogue() != EpilogueKind::WeightedCombine;
  });
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
    ActivationKindAttr activation;
    FloatAttr alpha, limit;
    if constexpr (std::is_same_v<OpTy, SSMMOp>) {
      epilogue = op.getEpilogueAttr();
      if (op.getActivation() != ActivationKind::Silu) {
        activation = op.getActivationAttr();
        alpha = op.getSwigluAlphaAttr();
        limit = op.getSwigluLimitAttr();
      }
    }
    auto launch = LaunchOp::create(
        rewriter, op.getLoc(), op->getResultTypes(), adaptor.getOperands(),
        *launches, routingOf(op), epilogue, activation, alpha, limit);
    rewriter.replaceOp(op, launch.getResults());
    return success();
  }

  /// The launch attributes of the kernels built for `op`.
  FailureOr<ArrayAttr> plan(OpTy op, OpBuilder &b) const {
    FailureOr<KernelLaunches> launches = buildLaunches(op, state);
    if (failed(launches))
      return failure();
    SmallVector<Attribute> records;
    // A kernel launched under several slot ranges (a wide width's calls)
    // gets its controls once.
    llvm::SmallPtrSet<Operation *, 4> controlled;
    for (const KernelLaunch &launch : *launches) {
      bool pdl = state.pdl && launch.dependent;
      assert((pdl || !launch.waitsInBody) &&
             "a kernel that waits in its body is a dependent launch");
      // A kernel that waits in its body also lets its dependents launch
      // there, after its wait: every kernel's dependents start only once
      // the grids before it have finished.
      // With prefetch-before-wait the router's kernels let the gate/up
      // kernels become resident (and prefetch) while routing runs.
      constexpr bool router =
          std::is_same_v<OpTy, RouteOp> || std::is_same_v<OpTy, DispatchOp>;
      if (pdl && !launch.waitsInBody && controlled.insert(launch.kernel).second)
        addGridDependencyControl(gpu::GPUFuncOp(launch.kernel),
                                 router && state.prefetchBeforeWait,
                                 launch.dependentsAtExit);
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
    llvm::SmallPtrSet<Operation *, 4> settled, settledCombine;
    if (weightsBeforeWait) {
      settled = findSettledRouting(ops);
      settledCombine = findSettledCombine(ops);
    }
    llvm::DenseMap<Operation *, Operation *> pairs;
    if (selectDispatch)
      pairs = findSelectDispatch(ops);
    SamoyedsToGPUState state{table, builder, kernels,        bases,
                             pdl,   settled, settledCombine, pairs};
    state.fuseSplitReduce = fuseSplitReduce;
    state.fuseCombine = fuseCombine;
    state.combineF32 = combineF32;
    state.spanHalves = spanHalves;
    state.pdlWide = pdlWide;
    state.prefetchBeforeWait = prefetchBeforeWait;
    state.chunkedDispatch = chunkedDispatch;
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
