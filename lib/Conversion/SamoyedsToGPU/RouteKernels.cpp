//===- RouteKernels.cpp - The launches of samoyeds.route ------------------===//
//
// samoyeds.route becomes kernels around a [T, E] f32 workspace of logits: a
// logits kernel in up to six shapes, each guarded by T, then the select
// kernel (softmax and top-k; RouteSelect.cpp), which adds the router's bias
// to the logits where the route has one. Where a samoyeds.dispatch
// of the ids follows, calls of at most kSelectWarps tokens select and
// dispatch in one kernel of the dispatch's launches instead.
//
// logits (RouteLogits.cpp): a block owns a tile of tokens x experts. Each
// warp computes the dot products of `tokensPerWarp` tokens and
// `expertsPerWarp` experts over one of `slices` equal ranges of the hidden
// size (lanes strided over it, 16 bytes of each row per lane and step where
// the size allows), reduces them over its lanes and, with several slices,
// sums the slices' partials in slice order through shared memory. For decode
// one token per warp with the hidden size split so that every SM streams a
// part of the router; for prefill 8 tokens x 4 experts per warp, so every
// router vector loaded serves 8 tokens and every activation vector 4 experts,
// the hidden size sliced further while the grid is small (each warp's steps
// are a chain of round trips), with fewer tokens a warp (down to 1) where 8
// would leave the grid few blocks; and, where x and the router share a 16-bit
// type and the grid is large enough, m16n8k16 tensor-core MMAs of 16 tokens x
// up to 32 experts per warp over a slice of the 32-column chunks. Below that
// grid's calls, where the fused multiply-add shapes would run more than
// kLogitsSteps steps a warp, small-grid tensor-core shapes (a block of one
// warp of 16 tokens x 8 or 16 experts, the chunks over up to 16 warps) take
// their calls.
//
//===----------------------------------------------------------------------===//

#include "RouteEmitter.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
/// The decode shape: one token and one expert per warp; the hidden size is
/// split over the fewest warps (a divisor of its steps, at most
/// kLogitsMaxWarps) that give 512 warps at T = 1, so that the router is read
/// by many SMs at once, and at most kLogitsSteps steps a warp, whose steps
/// are a chain of round trips (H200, same process: 1.02-1.05x at T = 1 on
/// Qwen2-MoE, DeepSeek-V2 and Qwen3-235B, 14, 10 and 8 slices where powers of
/// two gave 2, 4 and 4; 0.99-1.01x at T = 2-32; bench/RESULTS.md S18).
LogitsShape decodeShape(int64_t hidden, int64_t experts) {
  int64_t steps = laneSteps(hidden);
  LogitsShape s;
  for (int64_t slices = 1; slices <= kLogitsMaxWarps && slices <= steps;
       ++slices) {
    if (steps % slices != 0)
      continue;
    s.slices = slices;
    if (experts * slices >= 512 && steps / slices <= kLogitsSteps)
      break;
  }
  s.expertWarps = std::min(experts, std::max<int64_t>(1, 4 / s.slices));
  return s;
}

/// The prefill shape: 8 tokens x up to 4 experts per warp, 4 warps along the
/// experts; with fewer than 4 groups of 16 experts (Mixtral's 8) the hidden
/// size is split over up to 4 warps too, so that a call of a few hundred
/// tokens still fills the SMs.
LogitsShape prefillShape(int64_t hidden, int64_t experts) {
  LogitsShape s;
  s.tokensPerWarp = 8;
  s.expertsPerWarp = std::min<int64_t>(4, experts);
  s.expertWarps =
      std::min<int64_t>(4, llvm::divideCeil(experts, s.expertsPerWarp));
  int64_t groups = llvm::divideCeil(experts, s.blockExperts());
  int64_t steps = laneSteps(hidden);
  while (groups * s.slices < 4 && s.slices < 4 && steps % (2 * s.slices) == 0)
    s.slices *= 2;
  return s;
}

/// The sliced prefill shape of `tokensPerWarp` tokens a warp: the prefill
/// shape with the hidden size split further, over up to kLogitsMaxWarps warps
/// a block, until each warp runs at most kLogitsSteps steps, so that a warp's
/// loads are not a long chain of round trips.
LogitsShape slicedPrefillShape(int64_t hidden, int64_t experts,
                               int64_t tokensPerWarp) {
  LogitsShape s = prefillShape(hidden, experts);
  s.tokensPerWarp = tokensPerWarp;
  int64_t steps = laneSteps(hidden);
  while (s.warps() * 2 <= kLogitsMaxWarps && steps % (2 * s.slices) == 0 &&
         steps / s.slices > kLogitsSteps)
    s.slices *= 2;
  return s;
}

/// One logits kernel: its name's suffix, its shape and the calls [from, to]
/// it takes (to -1: no end).
struct LogitsRange {
  std::string suffix;
  LogitsShape shape;
  int64_t from, to;
};

/// The sliced prefill shapes from T = `from` up to `to` (-1: no end), where
/// slicing shortens the chains of `prefill` (the prefill shape), while its grid
/// would have at most kLogitsSlicedWarps warps: for each T the fewest tokens a
/// warp (1, 2, 4, up to the prefill shape's 8) whose grid has no more blocks
/// than that prefill grid, so that the router is read by as many SMs as that
/// grid's warps allow, not re-read by every token.
SmallVector<LogitsRange> slicedRanges(const LogitsShape &prefill,
                                      int64_t hidden, int64_t experts,
                                      int64_t from, int64_t to) {
  SmallVector<LogitsRange> ranges;
  if (slicedPrefillShape(hidden, experts, prefill.tokensPerWarp).slices <=
      prefill.slices)
    return ranges;
  int64_t tokenBlocks =
      kLogitsSlicedWarps /
      (llvm::divideCeil(experts, prefill.blockExperts()) * prefill.warps());
  for (int64_t p = 1; p <= prefill.tokensPerWarp; p *= 2) {
    int64_t last = tokenBlocks * p;
    if (to >= 0)
      last = std::min(last, to);
    if (last < from)
      continue;
    std::string suffix = "_logits_prefill_sliced";
    if (p != prefill.tokensPerWarp)
      suffix += "_t" + std::to_string(p);
    ranges.push_back(
        {suffix, slicedPrefillShape(hidden, experts, p), from, last});
    from = last + 1;
  }
  return ranges;
}

/// The tensor-core shape, or none: both operands one 16-bit type and the
/// hidden size a positive multiple of 32 (each lane loads 8 elements of a
/// 32-column chunk, and the first chunks before the loop). Up to 4 MMA tiles
/// of 8 experts per warp, 2 warps along the experts, 4 warps along experts
/// and tokens; the chunks split over up to 4 slices of at least
/// kLogitsMmaChunks chunks each.
std::optional<LogitsShape> mmaShape(Type xElt, Type rElt, int64_t hidden,
                                    int64_t experts) {
  if (xElt != rElt || !(xElt.isBF16() || xElt.isF16()) || hidden % 32 != 0 ||
      hidden == 0)
    return std::nullopt;
  LogitsShape s;
  s.mma = true;
  int64_t tiles = std::min<int64_t>(4, llvm::divideCeil(experts, 8));
  s.expertsPerWarp = 8 * tiles;
  s.expertWarps =
      std::min<int64_t>(2, llvm::divideCeil(experts, s.expertsPerWarp));
  s.tokenWarps = 4 / s.expertWarps;
  int64_t chunks = hidden / 32;
  while (s.warps() * 2 <= kLogitsMaxWarps && chunks % (2 * s.slices) == 0 &&
         chunks / (2 * s.slices) >= kLogitsMmaChunks)
    s.slices *= 2;
  return s;
}

/// The largest divisor of `n` up to `most` (1 if none above 1).
int64_t largestDivisor(int64_t n, int64_t most) {
  for (int64_t d = std::min(most, n); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

/// The small-grid tensor-core shape of `mma` (the tensor-core shape) with
/// `tiles` tiles of 8 experts a warp: a block of one warp of 16 tokens along
/// tokens and experts, the 32-column chunks split over the most warps (any
/// divisor of the chunks, at most kLogitsMaxWarps) that leave each at least
/// kLogitsMmaChunks, and a warp's loads issued kLogitsMmaGroup chunks at a
/// time (the largest divisor of its chunks up to that).
LogitsShape smallMmaShape(LogitsShape s, int64_t hidden, int64_t experts,
                          int64_t tiles) {
  s.expertsPerWarp = 8 * std::min<int64_t>(tiles, llvm::divideCeil(experts, 8));
  s.expertWarps = s.tokenWarps = 1;
  int64_t chunks = hidden / 32;
  s.slices = largestDivisor(
      chunks, std::min(kLogitsMaxWarps, chunks / kLogitsMmaChunks));
  s.group = largestDivisor(chunks / s.slices, kLogitsMmaGroup);
  return s;
}

/// The small-grid tensor-core kernels for the calls [from, to] (to >= from,
/// or -1: no end): kLogitsSmallTiles tiles a warp from the T where that grid
/// has kLogitsSmallBlocks blocks, one tile below it.
void addSmallMma(SmallVectorImpl<LogitsRange> &out, const LogitsShape &mma,
                 int64_t hidden, int64_t experts, int64_t from, int64_t to) {
  LogitsShape wide = smallMmaShape(mma, hidden, experts, kLogitsSmallTiles);
  LogitsShape one = smallMmaShape(mma, hidden, experts, 1);
  int64_t wideFrom = from;
  if (wide.expertsPerWarp != one.expertsPerWarp) {
    int64_t groups = llvm::divideCeil(experts, wide.blockExperts());
    wideFrom =
        std::max<int64_t>(from, llvm::divideCeil(kLogitsSmallBlocks, groups) *
                                    wide.blockTokens());
    if (to >= 0 && wideFrom > to)
      wideFrom = to + 1;
    if (from < wideFrom)
      out.push_back({"_logits_mma_small_e8", one, from, wideFrom - 1});
  }
  if (to < 0 || wideFrom <= to)
    out.push_back({"_logits_mma_small", wide, wideFrom, to});
}

/// The first call the tensor-core shape `mma` serves, or -1 where it serves
/// none: from the T where its grid has kMmaMinBlocks blocks, unless its
/// blocks pad the experts to more than 1 + 1/kMmaMaxPadding times those of
/// the small-grid shape that serves the calls otherwise.
int64_t mmaFirstCall(const LogitsShape &mma, int64_t hidden, int64_t experts) {
  LogitsShape small = smallMmaShape(mma, hidden, experts, kLogitsSmallTiles);
  int64_t groups = llvm::divideCeil(experts, mma.blockExperts());
  int64_t padded = groups * mma.blockExperts();
  int64_t smallPadded = llvm::alignTo(experts, small.blockExperts());
  if (padded * kMmaMaxPadding > smallPadded * (kMmaMaxPadding + 1))
    return -1;
  return std::max<int64_t>(kDecodeTokens + 1,
                           llvm::divideCeil(kMmaMinBlocks, groups) *
                               mma.blockTokens());
}
} // namespace

/// What the select kernels of `op` compute per token.
static SelectParams selectParams(RouteOp op) {
  return {static_cast<int64_t>(op.getTopK()), op.getRenormalize(),
          op.getRoutedScalingFactor().convertToDouble(),
          /*bias=*/static_cast<bool>(op.getBias())};
}

/// Inserts the router's bias of `op`, where it has one, before the last
/// (T) of a select kernel's argument types `types` and launch arguments
/// `args`.
static void insertSelectBias(RouteOp op, SmallVectorImpl<Type> &types,
                             SmallVectorImpl<KernelArg> &args) {
  Value bias = op.getBias();
  if (!bias)
    return;
  Type elt = cast<RankedTensorType>(bias.getType()).getElementType();
  types.insert(std::prev(types.end()), globalBuffer(elt));
  args.insert(std::prev(args.end()),
              bufferArg(bias, elt.getIntOrFloatBitWidth() / 8));
}

bool mlir::samoyeds::canSelectAndDispatch(RouteOp op) {
  return op.getTopK() * kSelectWarps <= kSelectDispatchSlots;
}

namespace {
/// Adds the route op's logits and select kernels to a module.
struct RouteKernelBuilder {
  OpBuilder &builder;
  gpu::GPUModuleOp module;
  RouteOp op;
  StringRef name, workspace;
  RankedTensorType xType, rType;
  int64_t hidden, experts;
  ImplicitLocOpBuilder b;
  KernelLaunches launches;

  RouteKernelBuilder(OpBuilder &builder, gpu::GPUModuleOp module, RouteOp op,
                     StringRef name, StringRef workspace)
      : builder(builder), module(module), op(op), name(name),
        workspace(workspace),
        xType(cast<RankedTensorType>(op.getHidden().getType())),
        rType(cast<RankedTensorType>(op.getRouter().getType())),
        hidden(xType.getDimSize(1)), experts(rType.getDimSize(0)),
        b(op.getLoc(), builder) {}

  /// The logits kernel `suffix` of `shape` for the calls of [minTokens,
  /// maxTokens] tokens (-1: no end).
  void addLogits(StringRef suffix, const LogitsShape &shape, int64_t minTokens,
                 int64_t maxTokens);
  /// Every logits kernel: the decode shape, the prefill shapes (sliced for
  /// small grids, or the small-grid tensor-core shapes where a warp would
  /// run too many steps) and the tensor-core shape from its first call.
  void addAllLogits();
  /// The select kernel (from kSelectWarps + 1 tokens where the calls below
  /// select and dispatch in one kernel).
  void addSelect(bool dispatchSmall);
};
} // namespace

void RouteKernelBuilder::addLogits(StringRef suffix, const LogitsShape &shape,
                                   int64_t minTokens, int64_t maxTokens) {
  MLIRContext *ctx = op.getContext();
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  SmallVector<Type> workgroup;
  if (shape.partials())
    workgroup.push_back(workgroupBuffer(f32, shape.partials()));
  auto func = createKernel(builder, module, op.getLoc(), (name + suffix).str(),
                           {globalBuffer(xType.getElementType()),
                            globalBuffer(rType.getElementType()),
                            globalBuffer(f32), i32},
                           shape.warps() * 32, workgroup);
  RouteEmitter emitter(b, hidden, experts);
  if (shape.mma)
    emitter.emitMmaLogits(func, shape);
  else
    emitter.emitLogits(func, shape);
  KernelLaunch launch;
  launch.kernel = func;
  launch.grid[0].constant = llvm::divideCeil(experts, shape.blockExperts());
  launch.grid[1].symbol = "T";
  launch.grid[1].divisor = shape.blockTokens();
  launch.block[0] = shape.warps() * 32;
  // 16-byte vector loads of x and the router rows where they tile the
  // hidden size (laneWidth), always in the tensor-core shape.
  int64_t align = shape.mma || laneWidth(hidden) > 1 ? kVectorAlign : 0;
  launch.args = {
      bufferArg(op.getHidden(), xType.getElementTypeBitWidth() / 8, align),
      bufferArg(op.getRouter(), rType.getElementTypeBitWidth() / 8, align),
      workspaceArg(workspace), symbolArg("T")};
  launch.whenSymbol = "T";
  launch.whenMin = minTokens;
  launch.whenMax = maxTokens;
  launches.push_back(launch);
}

void RouteKernelBuilder::addAllLogits() {
  addLogits("_logits", decodeShape(hidden, experts), 1, kDecodeTokens);
  std::optional<LogitsShape> mma =
      mmaShape(xType.getElementType(), rType.getElementType(), hidden, experts);
  int64_t mmaFrom = mma ? mmaFirstCall(*mma, hidden, experts) : -1;
  // The prefill shapes serve [kDecodeTokens + 1, prefillTo] (-1: no end):
  // the sliced ones the calls of a small grid, the other the rest.
  int64_t prefillFrom = kDecodeTokens + 1,
          prefillTo = mmaFrom > 0 ? mmaFrom - 1 : -1;
  LogitsShape prefill = prefillShape(hidden, experts);
  SmallVector<LogitsRange> fma =
      slicedRanges(prefill, hidden, experts, prefillFrom, prefillTo);
  if (!fma.empty())
    prefillFrom = fma.back().to + 1;
  if (prefillTo < 0 || prefillFrom <= prefillTo)
    fma.push_back({"_logits_prefill", prefill, prefillFrom, prefillTo});
  // Where a warp of these shapes would run more than kLogitsSteps steps,
  // the small-grid tensor-core shapes serve their calls instead, where a
  // tensor-core shape exists (up to mmaFrom, or with no end where it does
  // not serve).
  SmallVector<LogitsRange> ranges;
  int64_t smallFrom = -1, smallTo = -1;
  auto flushSmall = [&] {
    if (smallFrom >= 0)
      addSmallMma(ranges, *mma, hidden, experts, smallFrom, smallTo);
    smallFrom = -1;
  };
  for (const LogitsRange &r : fma) {
    if (!mma || laneSteps(hidden) / r.shape.slices <= kLogitsSteps) {
      flushSmall();
      ranges.push_back(r);
      continue;
    }
    if (smallFrom < 0)
      smallFrom = r.from;
    smallTo = r.to;
  }
  flushSmall();
  for (const LogitsRange &r : ranges)
    addLogits(r.suffix, r.shape, r.from, r.to);
  if (mmaFrom > 0)
    addLogits("_logits_mma", *mma, mmaFrom, -1);
}

void RouteKernelBuilder::addSelect(bool dispatchSmall) {
  MLIRContext *ctx = op.getContext();
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  SmallVector<Type> types = {globalBuffer(f32), globalBuffer(f32),
                             globalBuffer(i32), i32};
  KernelLaunch launch;
  launch.args = {workspaceArg(workspace), bufferArg(op.getWeights(), 4),
                 bufferArg(op.getExpertIds(), 4), symbolArg("T")};
  insertSelectBias(op, types, launch.args);
  auto select =
      createKernel(builder, module, op.getLoc(), (name + "_select").str(),
                   types, kSelectWarps * 32);
  RouteEmitter(b, hidden, experts).emitSelect(select, selectParams(op));
  launch.kernel = select;
  launch.grid[0].symbol = "T";
  launch.grid[0].divisor = kSelectWarps;
  launch.block[0] = kSelectWarps * 32;
  if (dispatchSmall) {
    launch.whenSymbol = "T";
    launch.whenMin = kSelectWarps + 1;
  }
  launches.push_back(launch);
}

FailureOr<KernelLaunches>
mlir::samoyeds::buildRouteKernels(OpBuilder &builder, gpu::GPUModuleOp module,
                                  RouteOp op, StringRef name,
                                  StringRef workspace, bool dispatchSmall) {
  auto xType = cast<RankedTensorType>(op.getHidden().getType());
  auto rType = cast<RankedTensorType>(op.getRouter().getType());
  if (xType.isDynamicDim(1) || !rType.hasStaticShape())
    return op.emitOpError() << "needs static hidden size and expert count to "
                            << "be compiled";
  RouteKernelBuilder kernels(builder, module, op, name, workspace);
  kernels.addAllLogits();
  kernels.addSelect(dispatchSmall);
  return std::move(kernels.launches);
}

FailureOr<KernelLaunches> mlir::samoyeds::buildSelectDispatchKernels(
    OpBuilder &builder, gpu::GPUModuleOp module, RouteOp route,
    DispatchOp dispatch, StringRef name, StringRef workspace,
    StringRef dispatchWorkspace) {
  assert(canSelectAndDispatch(route) && "too many slots for one block");
  int64_t experts = dispatch.getNumExperts();
  MLIRContext *ctx = route.getContext();
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  // (logits, weights, ids, token list, offsets, positions, T).
  SmallVector<Type> types = {globalBuffer(f32), globalBuffer(f32)};
  types.append(4, globalBuffer(i32));
  types.push_back(i32);
  KernelLaunch fused;
  fused.args = {workspaceArg(workspace),
                bufferArg(route.getWeights(), 4),
                bufferArg(route.getExpertIds(), 4),
                bufferArg(dispatch.getTokens(), 4),
                bufferArg(dispatch.getOffsets(), 4),
                bufferArg(dispatch.getPositions(), 4),
                symbolArg("T")};
  insertSelectBias(route, types, fused.args);
  auto func = createKernel(builder, module, dispatch.getLoc(),
                           (name + "_select").str(), types, kSelectWarps * 32,
                           {workgroupBuffer(i32, kSelectDispatchSlots)});
  // LLVM reads the staged ids with 16-byte vector loads: align the buffer
  // to 16 bytes (its own alignment, 4, is all the PTX would otherwise say).
  func.setWorkgroupAttributionAttr(0, LLVM::LLVMDialect::getAlignAttrName(),
                                   builder.getI64IntegerAttr(16));
  ImplicitLocOpBuilder b(dispatch.getLoc(), builder);
  RouteEmitter(b, /*hidden=*/0, experts)
      .emitSelectDispatch(func, selectParams(route));
  fused.kernel = func;
  fused.block[0] = kSelectWarps * 32;
  // From T = 0: its offsets (all zero) are what the dispatch kernel writes.
  fused.whenSymbol = "T";
  fused.whenMax = kSelectWarps;
  FailureOr<KernelLaunches> rest = buildDispatchKernels(
      builder, module, dispatch, name, kSelectWarps + 1, dispatchWorkspace);
  if (failed(rest))
    return failure();
  KernelLaunches launches{fused};
  llvm::append_range(launches, *rest);
  return launches;
}
