//===- SSMMKernel.cpp - The mma.sp expert-matmul kernel -------------------===//
//
// Builds the gpu.func of one samoyeds.ssmm. The packed weight layout it reads
// is specified in docs/Format.md. Per block: `warps` × `token_warps` warps,
// each owning `row_tiles` 16-row tiles of kept rows (per half for silu_mul:
// gate and up) and one slice of the block's `tokens` routed tokens of one
// expert. Activations are gathered through the token list by cp.async into a
// multi-stage shared-memory ring, read with ldmatrix, and multiplied with
// mma.sp::ordered_metadata m16n8k32 (f32 accumulation). With row selection
// (n = 1 < m), either each span's partial sums are added into the accumulator
// of the original row they stand for (row_masks = 0), or the group's total
// and m - 1 accumulators fed by mma.sp with masked weight registers are kept
// and row 0 is the total minus the others (row_masks = 1). The split-K
// variant multiplies one slice of K per grid z and writes raw f32 partial
// sums for a reduction kernel.
//
//===----------------------------------------------------------------------===//

#include "SSMMEmitter.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
/// The most shared memory a block may opt in to on any supported chip
/// (sm_90; sm_80 allows 163 KB, which samoyeds-select-tiles respects).
constexpr int64_t kDynamicSmemLimit = 227 * 1024;
/// Shared memory and threads of one SM (sm_90), and the shared memory the
/// hardware reserves per resident block.
constexpr int64_t kSmemPerSM = 228 * 1024, kSmemPerBlockReserved = 1024,
                  kThreadsPerSM = 2048;
} // namespace

void SSMMEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  unsigned arg = 0;
  values = entry.getArgument(arg++);
  meta = entry.getArgument(arg++);
  if (p.rowSelect)
    rowIdx = entry.getArgument(arg++);
  input = entry.getArgument(arg++);
  offsets = entry.getArgument(arg++);
  if (p.gather)
    tokenList = entry.getArgument(arg++);
  out = entry.getArgument(arg++);
  // Views of the dynamic shared memory (more than the 48 KB a kernel may
  // declare statically).
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  Value dynamic = gpu::DynamicSharedMemoryOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(),
                         workgroup));
  SmallVector<Value, 4> views;
  int64_t shift = 0;
  for (MemRefType t : smemLayout(p, b.getContext())) {
    views.push_back(
        byteSize(t) == 0
            ? Value()
            : memref::ViewOp::create(b, t, dynamic, idx(shift), ValueRange{})
                  .getResult());
    shift += byteSize(t);
  }
  smem = views[0];
  smemA = views[1];
  smemMeta = views[2];
  smemRows = views[3];

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value bx = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value by = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  slice =
      p.split() ? Value(gpu::BlockIdOp::create(b, gpu::Dimension::z)) : idx(0);
  setThreadCoordinates(tid, bx);

  if (p.persistent > 0) {
    emitPersistent(tid, bx);
    gpu::ReturnOp::create(b);
    return;
  }
  Value end;
  findTokenTile(by, end);
  Value hasWork = cmp(arith::CmpIPredicate::slt, start, end);
  ifThen(hasWork, [&] {
    count = arith::MinSIOp::create(b, idx(p.tokens), sub(end, start));
    makeCopySlots(tid);
    // This block's K slice: k tiles [kBegin, kBegin + kTiles).
    int64_t kTiles = p.kTilesPerSplit();
    Value kBegin = mul(slice, idx(kTiles));
    for (int64_t s = 0; s + 1 < p.stages; ++s) {
      if (s < kTiles)
        issueStageLoad(add(kBegin, idx(s)), idx(s));
      NVVM::CpAsyncCommitGroupOp::create(b);
    }
    SmallVector<Value> init(numCarried(), f32c(0.0));
    auto loop = scf::ForOp::create(
        b, idx(0), idx(kTiles), idx(1), init,
        [&](OpBuilder &nested, Location, Value i, ValueRange iter) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.getInsertionBlock(),
                              nested.getInsertionPoint());
          Value kt = add(kBegin, i);
          Value next = add(i, idx(p.stages - 1));
          ifThen(cmp(arith::CmpIPredicate::slt, next, idx(kTiles)), [&] {
            issueStageLoad(add(kBegin, next), rem(next, idx(p.stages)));
          });
          NVVM::CpAsyncCommitGroupOp::create(b);
          NVVM::CpAsyncWaitGroupOp::create(b,
                                           b.getI32IntegerAttr(p.stages - 1));
          gpu::BarrierOp::create(b);
          SmallVector<Value> carried(iter.begin(), iter.end());
          multiplyStage(kt, rem(i, idx(p.stages)), carried);
          gpu::BarrierOp::create(b);
          scf::YieldOp::create(b, carried);
        });
    emitEpilogue(SmallVector<Value>(loop.getResults()));
  });
  gpu::ReturnOp::create(b);
}

void SSMMEmitter::setThreadCoordinates(Value tid, Value rowBlock) {
  Value warpId = div(tid, idx(32));
  warp = rem(warpId, idx(p.warps));
  tokenWarp = div(warpId, idx(p.warps));
  tokenBase = mul(tokenWarp, idx(p.warpTokens()));
  lane = rem(tid, idx(32));
  group = div(lane, idx(4));
  tig = rem(lane, idx(4));
  blockRows = mul(rowBlock, idx(p.warps * p.rowTiles));
}

void SSMMEmitter::makeCopySlots(Value tid) {
  // Each thread copies fixed 16-byte chunks of the activation tile; their
  // rows (and so the gathered source rows) do not change along K.
  copies.clear();
  int64_t chunksPerRow = p.kTile / 8;
  int64_t chunks = p.tokens * chunksPerRow;
  for (int64_t c0 = 0; c0 < chunks; c0 += p.threads()) {
    CopySlot slot;
    Value c = add(tid, idx(c0));
    if (c0 + p.threads() > chunks)
      slot.guard = cmp(arith::CmpIPredicate::ult, c, idx(chunks));
    slot.row = div(c, idx(chunksPerRow));
    slot.col = mul(rem(c, idx(chunksPerRow)), idx(8));
    Value valid = cmp(arith::CmpIPredicate::ult, slot.row, count);
    Value slotIdx =
        add(start, arith::MinSIOp::create(b, slot.row, sub(count, idx(1))));
    Value srcRow = p.gather ? loadIndex(tokenList, slotIdx) : slotIdx;
    slot.srcBase = add(mul(srcRow, idx(p.cols)), slot.col);
    slot.srcElems = arith::SelectOp::create(b, valid, idx(8), idx(0));
    copies.push_back(slot);
  }
}

void SSMMEmitter::multiplyStage(Value kt, Value stage,
                                SmallVectorImpl<Value> &carried) {
  if (p.tokenWarps == 1)
    return computeStage(kt, stage, carried);
  // A warp whose token slice is empty skips its multiplies.
  SmallVector<Value> before(carried.begin(), carried.end());
  auto busy =
      scf::IfOp::create(b, ValueRange(before).getTypes(),
                        cmp(arith::CmpIPredicate::ult, tokenBase, count),
                        /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(busy.thenBlock());
    computeStage(kt, stage, carried);
    scf::YieldOp::create(b, carried);
    b.setInsertionPointToStart(busy.elseBlock());
    scf::YieldOp::create(b, before);
  }
  carried.assign(busy.getResults().begin(), busy.getResults().end());
}

FailureOr<KernelLaunch> mlir::samoyeds::buildSSMMKernel(OpBuilder &builder,
                                                        gpu::GPUModuleOp module,
                                                        SSMMOp op,
                                                        StringRef name,
                                                        SSMMVariant variant) {
  FailureOr<SSMMPlan> plan = makePlan(op, variant);
  if (failed(plan))
    return failure();
  const SSMMPlan &p = *plan;
  MLIRContext *ctx = op.getContext();
  Type i32 = IntegerType::get(ctx, 32), i8 = IntegerType::get(ctx, 8);

  KernelLaunch launch;
  SmallVector<Type> argTypes;
  auto addBuffer = [&](Type elt, Value host, StringRef part, int64_t bytes) {
    argTypes.push_back(globalBuffer(elt));
    launch.args.push_back({KernelArg::Buffer, host, part.str(), "", "", bytes});
  };
  addBuffer(i32, op.getWeight(), "values", 4);
  addBuffer(i32, op.getWeight(), "meta", 4);
  if (p.rowSelect)
    addBuffer(i8, op.getWeight(), "row_idx", 1);
  addBuffer(p.elt, op.getInput(), "", 2);
  addBuffer(i32, op.getOffsets(), "", 4);
  if (p.gather)
    addBuffer(i32, op.getTokens(), "", 4);
  addBuffer(p.outElt, op.getResult(), "", p.outElt.getIntOrFloatBitWidth() / 8);

  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  int64_t smemBytes = 0;
  for (MemRefType t : smemLayout(p, ctx))
    smemBytes += byteSize(t);
  if (smemBytes > kDynamicSmemLimit)
    return op.emitOpError() << "tile needs " << smemBytes
                            << " bytes of shared memory, more than the "
                            << kDynamicSmemLimit << " a block may use; "
                            << "use fewer stages, warps, tokens or k";
  if (p.threads() > 1024)
    return op.emitOpError() << "tile needs " << p.threads()
                            << " threads per block, more than 1024";
  if (p.persistent > 0 && p.persistent * p.threads() > kThreadsPerSM)
    return op.emitOpError()
           << "tile persistent = " << p.persistent << " blocks per SM of "
           << p.threads() << " threads need more than the " << kThreadsPerSM
           << " threads of an SM";
  if (p.persistent > 0 &&
      p.persistent * (smemBytes + kSmemPerBlockReserved) > kSmemPerSM)
    return op.emitOpError()
           << "tile persistent = " << p.persistent << " blocks per SM of "
           << smemBytes << " bytes of shared memory need more than the "
           << kSmemPerSM << " an SM has";
  auto func = gpu::GPUFuncOp::create(builder, op.getLoc(), name,
                                     FunctionType::get(ctx, argTypes, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(
      builder.getDenseI32ArrayAttr({static_cast<int32_t>(p.threads()), 1, 1}));
  // A persistent grid assumes its blocks are resident together: ptxas keeps
  // the registers within what `persistent` blocks per SM allow.
  if (p.persistent > 0)
    func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                  builder.getI32IntegerAttr(p.persistent));

  ImplicitLocOpBuilder b(op.getLoc(), builder);
  SSMMEmitter(b, p).emit(func);

  launch.kernel = func;
  launch.grid[0].constant = p.keptTilesPerHalf / (p.warps * p.rowTiles);
  if (p.persistent > 0) {
    // `persistent` blocks per multiprocessor that take the tiles in turn.
    launch.grid[0].perSM = p.persistent;
    launch.grid[1].constant = 1;
  } else {
    launch.grid[1].symbol = "P";
    launch.grid[1].divisor = p.tokens;
    launch.grid[1].plus = p.experts;
  }
  launch.grid[2].constant = p.splitK;
  launch.block[0] = p.threads();
  launch.dynamicSmem = smemBytes;
  return launch;
}
