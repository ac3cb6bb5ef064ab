//===- MmaSpKernel.cpp - The mma.sp expert-matmul strategy -------------===//
//
// Builds the gpu.func of one samoyeds.ssmm. The packed weight layout it reads
// is specified in docs/Format.md. Per block: `warps` × `token_warps` warps,
// each owning `row_tiles` 16-row tiles of kept rows (per half for silu_mul:
// gate and up) and one slice of the block's `tokens` routed tokens of one
// expert. Activations are gathered through the token list by cp.async into a
// multi-stage shared-memory ring, read with ldmatrix, and multiplied with
// samoyeds_nvgpu.mma_sp (mma.sp::ordered_metadata m16n8k32, f32 accumulation
// in one vector<4xf32> per fragment). With row selection
// (n = 1 < m), either each span's partial sums are added into the accumulator
// of the original row they stand for (row_masks = 0), or the group's total
// and m - 1 accumulators fed by mma.sp with masked weight registers are kept
// and row 0 is the total minus the others (row_masks = 1). The split-K
// variant multiplies one slice of K per grid z and writes raw f32 partial
// sums for a reduction or combine kernel, or reduces or combines them in
// its last block (SplitReduce.cpp).
//
//===----------------------------------------------------------------------===//

#include "MmaSpEmitter.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

SmallVector<MemRefType, 4>
mlir::samoyeds::detail::smemLayout(const SSMMPlan &p, MLIRContext *ctx) {
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Type i32 = IntegerType::get(ctx, 32);
  Type types[] = {p.elt, i32, i32, IntegerType::get(ctx, 8)};
  SmallVector<MemRefType, 4> layout;
  for (auto [type, shape] :
       llvm::zip(types, TileConfigAttr::mmaSpSmemShapes(
                            p.stages, p.tokens, p.kTile, p.warps, p.units(),
                            p.masked, p.spansPerStage())))
    layout.push_back(MemRefType::get(shape, type, AffineMap(), workgroup));
  return layout;
}

void MmaSpEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  bind(p, func);
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
  auto [bx, by] = orderedBlock(b, p.groupTiles);
  slice =
      p.split() ? Value(gpu::BlockIdOp::create(b, gpu::Dimension::z)) : idx(0);
  setThreadCoordinates(tid);

  if (p.persistent > 0) {
    emitPersistent(tid, bx);
    gpu::ReturnOp::create(b);
    return;
  }
  Value end;
  Tile t = findTokenTile(by, end);
  t.rowBlock = bx;
  t.blockRows = blockRowsOf(bx);
  // The threads that reduce or combine split-K slices: the whole block.
  ReduceThreads block{tid, p.threads(), 0, /*wholeBlock=*/true};
  ifThen(cmp(arith::CmpIPredicate::slt, t.start, end), [&] {
    t.count = arith::MinSIOp::create(b, idx(p.tokens), sub(end, t.start));
    makeCopySlots(t, tid);
    // This block's K slice: k tiles [kBegin, kBegin + kTiles).
    int64_t kTiles = p.kTilesPerSplit();
    Value kBegin = mul(slice, idx(kTiles));
    fillPipeline(t, kBegin, kTiles);
    SmallVector<Value> init(numCarried(), f32Splat(4, 0.0));
    auto loop = scf::ForOp::create(
        b, idx(0), idx(kTiles), idx(1), init,
        [&](OpBuilder &nested, Location, Value i, ValueRange iter) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.getInsertionBlock(),
                              nested.getInsertionPoint());
          // Stage i + stages - 1 is issued (an empty group past the slice),
          // then stage i waited for: the groups after it are in flight.
          Value next = add(i, idx(p.stages - 1));
          Value group = issueStageIf(
              cmp(arith::CmpIPredicate::slt, next, idx(kTiles)), [&] {
                return issueStageLoad(t, add(kBegin, next),
                                      rem(next, idx(p.stages)));
              });
          waitForStage(group, std::min(p.stages - 1, kTiles));
          SmallVector<Value> carried(iter.begin(), iter.end());
          multiplyStage(t, add(kBegin, i), rem(i, idx(p.stages)), carried);
          gpu::BarrierOp::create(b);
          scf::YieldOp::create(b, carried);
        });
    emitEpilogue(t, SmallVector<Value>(loop.getResults()));
    if (p.fusedReduce)
      emitSplitReduce(b, p, *this, block, t.rowBlock, t.start, t.count);
    if (p.fusedCombine)
      emitFusedCombine(b, p, *this, block, t.rowBlock);
  });
  // With a fused combine a block without a token tile counts itself in its
  // row block's counter too, and combines if it is the last.
  if (p.fusedCombine)
    ifThen(cmp(arith::CmpIPredicate::sge, t.start, end),
           [&] { emitFusedCombine(b, p, *this, block, t.rowBlock); });
  gpu::ReturnOp::create(b);
}

void MmaSpEmitter::fillPipeline(const Tile &t, Value kBegin, int64_t kTiles) {
  for (int64_t s = 0; s < std::min(p.stages - 1, kTiles); ++s) {
    SmallVector<Value> tokens = issueStageLoad(t, add(kBegin, idx(s)), idx(s));
    // A group without tokens would swallow the next op's result name when
    // printed and parsed again (nvgpu's assembly format); this stage's
    // copies are all guarded (token warps and fewer chunks than threads).
    if (tokens.empty())
      NVVM::CpAsyncCommitGroupOp::create(b);
    else
      closeGroup(tokens);
  }
}

Value MmaSpEmitter::issueStageIf(Value cond,
                                 function_ref<SmallVector<Value>()> issue) {
  auto ifOp = scf::IfOp::create(
      b, TypeRange{nvgpu::DeviceAsyncTokenType::get(b.getContext())}, cond,
      /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(b, closeGroup(issue()));
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, closeGroup({}));
  return ifOp.getResult(0);
}

void MmaSpEmitter::waitForStage(Value group, int64_t pending) {
  nvgpu::DeviceAsyncWaitOp::create(b, group, b.getI32IntegerAttr(pending));
  gpu::BarrierOp::create(b);
}

void MmaSpEmitter::setThreadCoordinates(Value tid) {
  Value warpId = div(tid, idx(32));
  warp = rem(warpId, idx(p.warps));
  tokenWarp = div(warpId, idx(p.warps));
  tokenBase = mul(tokenWarp, idx(p.warpTokens()));
  lane = rem(tid, idx(32));
  group = div(lane, idx(4));
  tig = rem(lane, idx(4));
  // Selector 0: lanes 0 and 1 of each quad supply the metadata of rows
  // group and group + 8.
  metaLane = add(mul(group, idx(2)), rem(tig, idx(2)));
  // Lanes 8j..8j+7 address the rows of matrix j (k offset 8j).
  ldRow = add(tokenBase, rem(lane, idx(8)));
  ldCol = mul(div(lane, idx(8)), idx(8));
}

void MmaSpEmitter::makeCopySlots(Tile &t, Value tid) {
  // Each thread copies fixed 16-byte chunks of the activation tile; their
  // rows (and so the gathered source rows) do not change along K.
  t.copies.clear();
  int64_t chunksPerRow = p.kTile / 8;
  int64_t chunks = p.tokens * chunksPerRow;
  for (int64_t c0 = 0; c0 < chunks; c0 += p.threads()) {
    CopySlot slot;
    Value c = add(tid, idx(c0));
    if (c0 + p.threads() > chunks)
      slot.guard = cmp(arith::CmpIPredicate::ult, c, idx(chunks));
    slot.row = div(c, idx(chunksPerRow));
    slot.col = mul(rem(c, idx(chunksPerRow)), idx(8));
    Value valid = cmp(arith::CmpIPredicate::ult, slot.row, t.count);
    Value slotIdx =
        add(t.start, arith::MinSIOp::create(b, slot.row, sub(t.count, idx(1))));
    Value srcRow = p.gather ? loadIndex(tokenList, slotIdx) : slotIdx;
    slot.srcBase = add(mul(srcRow, idx(p.cols)), slot.col);
    slot.srcElems = select(valid, idx(8), idx(0));
    t.copies.push_back(slot);
  }
}

void MmaSpEmitter::multiplyStage(const Tile &t, Value kt, Value stage,
                                 SmallVectorImpl<Value> &carried) {
  if (p.tokenWarps == 1)
    return computeStage(t, kt, stage, carried);
  // A warp whose token slice is empty skips its multiplies.
  SmallVector<Value> before(carried.begin(), carried.end());
  auto busy =
      scf::IfOp::create(b, ValueRange(before).getTypes(),
                        cmp(arith::CmpIPredicate::ult, tokenBase, t.count),
                        /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(busy.thenBlock());
    computeStage(t, kt, stage, carried);
    scf::YieldOp::create(b, carried);
    b.setInsertionPointToStart(busy.elseBlock());
    scf::YieldOp::create(b, before);
  }
  carried.assign(busy.getResults().begin(), busy.getResults().end());
}

namespace {
/// The warp-level mma.sp strategy: sm_80 and later.
class MmaSpLowering : public MmaLowering {
public:
  LogicalResult verify(SSMMOp op, const SSMMPlan &p) const override {
    if (p.keptTilesPerHalf % (p.warps * p.rowTiles) != 0)
      return op.emitOpError()
             << "tile warps = " << p.warps << " × row_tiles = " << p.rowTiles
             << " must divide the " << p.keptTilesPerHalf
             << " kept 16-row tiles";
    // The persistent pipeline issues a tile's first stages - 1 copies while
    // the previous tile's last stages run, so they must lie in one tile.
    if (p.persistent > 0 && p.stages < 2)
      return op.emitOpError() << "tile persistent = " << p.persistent
                              << " needs at least 2 stages, got " << p.stages;
    if (p.persistent > 0 && p.kTiles() < p.stages - 1)
      return op.emitOpError()
             << "tile persistent = " << p.persistent << " needs at least "
             << p.stages - 1 << " k tiles (stages - 1), got " << p.kTiles();
    // The largest chip's limits; samoyeds-select-tiles keeps within the
    // target's.
    const ChipInfo &chip = getLargestChip();
    int64_t smemBytes = this->smemBytes(p);
    if (smemBytes > chip.smemPerBlock)
      return op.emitOpError() << "tile needs " << smemBytes
                              << " bytes of shared memory, more than the "
                              << chip.smemPerBlock << " a block may use; "
                              << "use fewer stages, warps, tokens or k";
    // #samoyeds.tile bounds warps × token_warps by 32 (mma_sp has no
    // variant warps of its own).
    assert(p.threads() <= 1024 && "the tile's verifier bounds the warps");
    if (p.persistent > 0 && p.persistent * p.threads() > chip.threadsPerSM)
      return op.emitOpError()
             << "tile persistent = " << p.persistent << " blocks per SM of "
             << p.threads() << " threads need more than the "
             << chip.threadsPerSM << " threads of an SM";
    if (p.persistent > 0 &&
        p.persistent * (smemBytes + chip.smemReservedPerBlock) > chip.smemPerSM)
      return op.emitOpError()
             << "tile persistent = " << p.persistent << " blocks per SM of "
             << smemBytes << " bytes of shared memory need more than the "
             << chip.smemPerSM << " an SM has";
    return success();
  }

  int64_t threads(const SSMMPlan &p) const override { return p.threads(); }

  int64_t smemBytes(const SSMMPlan &p) const override {
    int64_t bytes = 0;
    for (MemRefType t : smemLayout(p, p.elt.getContext()))
      bytes += byteSize(t);
    return bytes;
  }

  int64_t rowBlocks(const SSMMPlan &p) const override {
    return p.keptTilesPerHalf / (p.warps * p.rowTiles);
  }

  void emit(ImplicitLocOpBuilder &b, const SSMMPlan &p,
            gpu::GPUFuncOp func) const override {
    MmaSpEmitter(b, p).emit(func);
  }

  /// A persistent grid assumes its blocks are resident together: ptxas
  /// keeps the registers within what `persistent` blocks per SM allow.
  int64_t minBlocksPerSM(const SSMMPlan &p) const override {
    return p.persistent;
  }
};
} // namespace

const MmaLowering &mlir::samoyeds::detail::getMmaSpLowering() {
  static const MmaSpLowering lowering;
  return lowering;
}
