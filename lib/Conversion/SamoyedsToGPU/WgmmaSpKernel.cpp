//===- WgmmaSpKernel.cpp - The Hopper warpgroup wgmma.sp strategy ---------===//
//
// Block set-up, the roles, the persistent grid's walk and the strategy's
// MmaLowering (WgmmaSpEmitter.h describes the block and its pipeline; the
// producer's copies are in WgmmaSpProducer.cpp).
//
// Barrier phases: the full barrier of a slot expects the arrival of producer
// thread 0 (with the bulk copies' byte count) and one cp.async arrival per
// producer thread (in a cluster those go to the own barrier; packed rows
// arrive by bulk copies, counted in the byte count); the empty
// barrier one arrival per consumer thread of every block of the cluster (with
// weight multicast one per consumer warp of both blocks). Use u
// of a slot (k tile u · stages + slot) completes phase u of both, so waits test
// parity u % 2; the producer refills a slot after phase u - 1 of its empty
// barrier.
//===----------------------------------------------------------------------===//

#include "WgmmaSpEmitter.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

void WgmmaSpEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  bind(p, func);

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  bindThreads(tid);
  // The ordinary grid's row block and token tile; the persistent grid
  // numbers its blocks by grid x alone.
  int64_t clusterBlocks = p.clusterBlocks();
  // With weight multicast grid y counts groups of `multicast` token tiles:
  // a group of groupTiles / multicast of them holds the tile's group_tiles.
  int64_t group = llvm::divideCeil(p.groupTiles, p.multicast);
  auto [blockX, tileY] = orderedBlock(b, group, clusterBlocks);
  if (clusterBlocks > 1) {
    // Blocks of a cluster are consecutive in grid x.
    Value x = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    Value r = rem(x, idx(clusterBlocks));
    rank = arith::IndexCastOp::create(b, b.getI32Type(), r);
    peerRank = arith::IndexCastOp::create(
        b, b.getI32Type(), rem(add(r, idx(1)), idx(clusterBlocks)));
  }
  slice =
      p.split() ? Value(gpu::BlockIdOp::create(b, gpu::Dimension::z)) : idx(0);
  kBegin = mul(slice, idx(kTiles()));
  setUpSharedMemory();
  initBarriers(tid);
  if (p.persistent > 0)
    emitPersistent(blockX);
  else
    emitGridTile(tid, blockX, tileY);
  gpu::ReturnOp::create(b);
}

void WgmmaSpEmitter::bindThreads(Value tid) {
  warpgroup = div(tid, idx(Wgmma::kThreads));
  wgThread = rem(tid, idx(Wgmma::kThreads));
  warp = div(wgThread, idx(32));
  lane = rem(tid, idx(32));
  group = div(lane, idx(4));
  quad = rem(lane, idx(4));
}

void WgmmaSpEmitter::initBarriers(Value tid) {
  int64_t clusterBlocks = p.clusterBlocks();
  Value first = cmp(arith::CmpIPredicate::eq, tid, idx(0));
  bool bulkOnly = p.cluster > 1 || p.packed;
  for (int64_t s = 0; s < layout.stages; ++s) {
    nvgpu::MBarrierInitOp::create(b, barriers,
                                  idx(bulkOnly ? 1 : Wgmma::kThreads + 1),
                                  fullBarrier(idx(s)), first);
    // In a cluster: one arrival per consumer warp of both blocks (see
    // releaseSharedSlot).
    int64_t releases =
        layout.consumers * clusterBlocks *
        (clusterBlocks > 1 ? Wgmma::kThreads / 32 : Wgmma::kThreads);
    nvgpu::MBarrierInitOp::create(b, barriers, idx(releases),
                                  emptyBarrier(idx(s)), first);
    if (layout.barriersPerSlot > 2)
      nvgpu::MBarrierInitOp::create(b, barriers, idx(Wgmma::kThreads),
                                    ownBarrier(idx(s)), first);
  }
  if (clusterBlocks > 1) {
    // The peer's copies and arrivals may only reach initialised barriers.
    NVVM::FenceMbarrierInitOp::create(b);
    clusterBarrier();
  } else {
    gpu::BarrierOp::create(b);
  }
}

void WgmmaSpEmitter::emitGridTile(Value tid, Value blockX, Value tileY) {
  // With weight multicast grid x holds the ranks of each row block.
  rowBlock = p.multicast > 1 ? div(blockX, idx(p.multicast)) : blockX;
  tokenTile = tileY;
  if (p.prefetchBeforeWait)
    prefetchBeforeWait(tid);
  TokenTile tile =
      findTokenTile(b, offsets, lane, tileY, p.experts, p.tokens, p.multicast);
  expert = tile.expert;
  start = tile.start;
  if (p.multicast > 1)
    takeRankTile(tile);
  ifThen(cmp(arith::CmpIPredicate::slt, start, tile.end), [&] {
    count = arith::MinSIOp::create(b, idx(p.tokens), sub(tile.end, start));
    emitGridRoles(tid);
    // Neither block of a cluster leaves while the other may still copy
    // into or arrive on its shared memory (both take this branch: they
    // share the token tile, or with weight multicast the group of tiles;
    // a block working alone shares nothing).
    if (solo)
      ifThen(arith::XOrIOp::create(b, solo, i1c(true)),
             [&] { clusterBarrier(); });
    else if (p.clusterBlocks() > 1)
      clusterBarrier();
  });
  // A block without a token tile (with weight multicast: the second of a
  // group of one) waits too: the grid finishes only after the grids
  // before it. With a fused combine it counts itself in its row block's
  // counter, and combines if it is the last.
  if (p.weightsBeforeWait || p.fusedCombine)
    ifThen(cmp(arith::CmpIPredicate::sge, start, tile.end), [&] {
      if (p.weightsBeforeWait)
        waitForGrids();
      if (p.fusedCombine)
        emitFusedCombine(b, p, *this,
                         {tid, layout.threads(), 0, /*wholeBlock=*/true},
                         rowBlock);
    });
}

void WgmmaSpEmitter::emitGridRoles(Value tid) {
  // Summing a split-K input, the whole block fills the ring first.
  bool summed = p.inputSplits > 0;
  if (summed)
    fillRingWithSums(tid);
  emitRoles(
      [&] {
        if (summed) {
          arriveOnFilledRing();
          return;
        }
        int64_t early = issueWeightsBeforeWait();
        // Packed rows: thread 0 issues every copy.
        if (p.packed) {
          ifThen(cmp(arith::CmpIPredicate::eq, wgThread, idx(0)),
                 [&] { produceTile(idx(0), early); });
          return;
        }
        makeCopySlots(wgThread);
        produceTile(idx(0), early);
      },
      [&] {
        if (p.weightsBeforeWait && !summed)
          waitForGrids();
        emitEpilogue(emitConsumer(idx(0)));
        if (!p.fusedReduce && !p.fusedCombine)
          return;
        ReduceThreads consumers{
            add(mul(consumer, idx(Wgmma::kThreads)), wgThread),
            layout.consumers * Wgmma::kThreads, kConsumerBarrier,
            /*wholeBlock=*/false};
        if (p.fusedReduce)
          emitSplitReduce(b, p, *this, consumers, rowBlock, start, count);
        else
          emitFusedCombine(b, p, *this, consumers, rowBlock);
      });
}

void WgmmaSpEmitter::takeRankTile(const TokenTile &group) {
  assert(p.multicast == 2 && "groups of two tiles");
  // Rank r takes the group's tile r; where the expert lacks the second, the
  // first block works alone and the second, whose start is past the
  // expert's slots, has no tile.
  Value r = arith::IndexCastOp::create(b, b.getIndexType(), rank);
  start = add(group.start, mul(r, idx(p.tokens)));
  solo = cmp(arith::CmpIPredicate::sle, group.end,
             add(group.start, idx(p.tokens)));
  // The packed workspace numbers single tiles.
  tokenTile = add(group.first, r);
}

void WgmmaSpEmitter::emitRoles(function_ref<void()> produce,
                               function_ref<void()> consume) {
  Value producer = cmp(arith::CmpIPredicate::eq, warpgroup, idx(0));
  auto roles = scf::IfOp::create(b, producer, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(roles.thenBlock()->getTerminator());
  NVVM::SetMaxRegisterOp::create(
      b, b.getI32IntegerAttr(layout.producerRegs(p)),
      NVVM::SetMaxRegisterActionAttr::get(
          b.getContext(), NVVM::SetMaxRegisterAction::decrease));
  takeWeightAddresses();
  produce();
  // No copy outlives the warpgroup.
  NVVM::CpAsyncWaitGroupOp::create(b, b.getI32IntegerAttr(0));
  b.setInsertionPoint(roles.elseBlock()->getTerminator());
  consumer = sub(warpgroup, idx(1));
  // Consumer c's units: c, c + consumers, … (with unit pairs for SiLU·up
  // the gate and the up unit of the same rows).
  consumerUnits.clear();
  for (int64_t j = 0; j < p.unitsPerWarpgroup; ++j)
    consumerUnits.push_back(add(consumer, idx(j * layout.consumers)));
  unit = consumerUnits.front();
  NVVM::SetMaxRegisterOp::create(
      b, b.getI32IntegerAttr(layout.consumerRegs(p)),
      NVVM::SetMaxRegisterActionAttr::get(
          b.getContext(), NVVM::SetMaxRegisterAction::increase));
  consume();
}

void WgmmaSpEmitter::takeWeightAddresses() {
  auto address = [&](Value memref) {
    return toI64(memref::ExtractAlignedPointerAsIndexOp::create(b, memref));
  };
  valuesAddr = address(values);
  metaAddr = address(meta);
  if (p.rowSelect)
    rowIdxAddr = address(rowIdx);
  if (p.packed)
    inputAddr = address(input);
}

void WgmmaSpEmitter::emitPersistent(Value g) {
  int64_t rowBlocks = layout.rowBlocks(p);
  Value blocks = gpu::GridDimOp::create(b, gpu::Dimension::x);
  TokenTile first = findTokenTile(b, offsets, lane, div(g, idx(rowBlocks)),
                                  p.experts, p.tokens);
  Value tokenTiles =
      arith::IndexCastOp::create(b, b.getIndexType(), first.total);
  // Units: the (row block, token tile) tiles, each in split_k K slices.
  Value units = mul(mul(tokenTiles, idx(rowBlocks)), idx(p.splitK));
  Value mine =
      select(cmp(arith::CmpIPredicate::ult, g, units),
             div(add(sub(units, g), sub(blocks, idx(1))), blocks), idx(0));
  // Makes the block's unit `it` current: its row block, expert, slots and
  // (split-K) K slice. Tiles are numbered as the ordinary grid's blocks
  // (group_tiles).
  auto enter = [&](Value it) {
    Value unit = add(g, mul(it, blocks));
    if (p.split()) {
      // Consecutive units are the slices of one tile: a tile's slices go to
      // different blocks.
      slice = rem(unit, idx(p.splitK));
      kBegin = mul(slice, idx(kTiles()));
      unit = div(unit, idx(p.splitK));
    }
    auto [r, y] =
        groupedTile(b, unit, idx(rowBlocks), tokenTiles, p.groupTiles);
    TokenTile tile = findTokenTile(b, offsets, lane, y, p.experts, p.tokens);
    rowBlock = r;
    tokenTile = y;
    expert = tile.expert;
    start = tile.start;
    count = arith::MinSIOp::create(b, idx(p.tokens), sub(tile.end, start));
  };
  // Both roles walk the same tiles; the k tiles of tile `it` are uses
  // it · kTiles … of the ring, so the producer runs on into the next tile
  // while the consumers finish the current one.
  auto forEachTile = [&](function_ref<void(Value)> body) {
    scf::ForOp::create(b, idx(0), mine, idx(1), ValueRange{},
                       [&](OpBuilder &nested, Location, Value it, ValueRange) {
                         OpBuilder::InsertionGuard guard(b);
                         b.setInsertionPoint(nested.getInsertionBlock(),
                                             nested.getInsertionPoint());
                         enter(it);
                         body(mul(it, idx(kTiles())));
                         scf::YieldOp::create(b);
                       });
  };
  emitRoles(
      [&] {
        // Packed rows: thread 0 issues every copy, its warp looks the tiles
        // up (the lookup takes a whole warp).
        if (p.packed) {
          ifThen(cmp(arith::CmpIPredicate::eq, warp, idx(0)), [&] {
            forEachTile([&](Value base) {
              ifThen(cmp(arith::CmpIPredicate::eq, wgThread, idx(0)),
                     [&] { produceTile(base); });
            });
          });
          return;
        }
        forEachTile([&](Value base) {
          loadTileRows();
          produceTile(base);
        });
      },
      [&] {
        forEachTile([&](Value base) { emitEpilogue(emitConsumer(base)); });
      });
}

void WgmmaSpEmitter::setUpSharedMemory() {
  MLIRContext *ctx = b.getContext();
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Value dynamic = gpu::DynamicSharedMemoryOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(),
                         workgroup));
  // The swizzle pattern is a function of address bits: align the base.
  Value raw = memref::ExtractAlignedPointerAsIndexOp::create(b, dynamic);
  Value align = idx(Wgmma::kSwizzleAlign);
  Value pad = rem(sub(align, rem(raw, align)), align);
  base = toI64(add(raw, pad));
  auto view = [&](int64_t offset, int64_t bytes, Type elt) -> Value {
    int64_t n = bytes * 8 / elt.getIntOrFloatBitWidth();
    return memref::ViewOp::create(
        b, MemRefType::get({n}, elt, AffineMap(), workgroup), dynamic,
        add(pad, idx(offset)), ValueRange{});
  };
  sB = view(layout.bRing, layout.stages * layout.bStage, p.elt);
  sMeta = view(layout.metaRing, layout.stages * layout.units * layout.metaStage,
               b.getI32Type());
  if (p.masked)
    sA = view(layout.aRing, layout.stages * layout.units * layout.aStage,
              b.getI32Type());
  if (p.rowSelect)
    sChoice =
        view(layout.choiceRing,
             layout.stages * layout.units * layout.choiceStage, b.getI8Type());
  if (layout.exchange > 0)
    sExchange = view(layout.exchangeAt, layout.exchange, b.getF32Type());
  // The mbarriers live inside the carved block: a static .shared mbarrier
  // would sit where the aligned carve-out may start.
  int64_t count = layout.barriersPerSlot * layout.stages;
  Value words = view(layout.barriers, count * 8, b.getI64Type());
  barriers = UnrealizedConversionCastOp::create(
                 b,
                 TypeRange{::mlir::nvgpu::MBarrierGroupType::get(ctx, workgroup,
                                                                 count)},
                 words)
                 .getResult(0);
}

Value WgmmaSpEmitter::tileInHalf(Value r) {
  Value tile = add(mul(rowBlock, idx(layout.unitsPerHalf)), r);
  if (!layout.hasUnitTails(p))
    return tile;
  // A unit past the half repeats its last tile: the same copies, MMAs and
  // stores as that tile's own unit (the same values to the same rows).
  return arith::MinUIOp::create(b, tile,
                                idx(WgmmaSpLayout::tilesPerHalf(p) - 1));
}

Value WgmmaSpEmitter::unitTile(Value u) {
  Value h = div(u, idx(layout.unitsPerHalf));
  Value r = rem(u, idx(layout.unitsPerHalf));
  return add(mul(h, idx(WgmmaSpLayout::tilesPerHalf(p))), tileInHalf(r));
}

Value WgmmaSpEmitter::descriptor(Value addr) {
  // Start address >> 4 (bits 0-13), leading offset 16 B (ignored by the
  // 128B swizzle), stride offset 1024 B between 8-row groups, 128B swizzle.
  Value start = arith::ShRUIOp::create(
      b, arith::AndIOp::create(b, addr, i64c(0x3FFFF)), i64c(4));
  int64_t fixed = (int64_t(1) << 16) | (int64_t(64) << 32) | (int64_t(1) << 62);
  return arith::OrIOp::create(b, start, i64c(fixed));
}

Value WgmmaSpEmitter::barrierPointer(Value id) {
  return intToPtr(nvgpu::MBarrierGetOp::create(b, b.getI32Type(), barriers, id),
                  3);
}

void WgmmaSpEmitter::waitBarrier(Value id, Value use) {
  Value parity = arith::TruncIOp::create(
      b, b.getI1Type(),
      arith::IndexCastOp::create(b, b.getI32Type(), rem(use, idx(2))));
  nvgpu::MBarrierTryWaitParityOp::create(b, barriers, parity, idx(10000000),
                                         id);
}

void WgmmaSpEmitter::waitForGrids() {
  NVVM::GriddepcontrolOp::create(b, NVVM::GridDepActionKind::wait);
  if (!p.dependentsAtExit)
    NVVM::GriddepcontrolOp::create(b,
                                   NVVM::GridDepActionKind::launch_dependents);
}

LogicalResult mlir::samoyeds::detail::verifyPaddedK(SSMMOp op,
                                                    const SSMMPlan &p) {
  if (!p.padsK())
    return success();
  // The gathers zero-fill the input past K; the row choices (row_idx, one
  // byte per span of K) are not padded, and the spans past K take the last
  // span's (issueUnitCopies); the packed input holds K columns.
  if (p.packed)
    return op.emitOpError()
           << "tile wide_packed = 1 needs K in whole 128-column blocks, got K "
              "= "
           << p.cols << "; use wide_packed = 0";
  return success();
}

namespace {
/// The rules of a cluster sharing the activation tile.
LogicalResult verifyCluster(SSMMOp op, const SSMMPlan &p,
                            const WgmmaSpLayout &layout) {
  if (layout.rowBlocks(p) % p.cluster != 0)
    return op.emitOpError()
           << "tile wide_cluster = " << p.cluster << " needs the "
           << layout.rowBlocks(p) << " row blocks of each half in clusters";
  // k is a multiple of 128 (the tile's verifier): a stage's 64-column
  // blocks split evenly between a pair's packed copies.
  assert((!p.packed || (p.kTile / 64) % p.cluster == 0) &&
         "a stage's column blocks divide among the cluster's blocks");
  if (layout.exchangeAt + layout.exchange > layout.bRing)
    return op.emitOpError()
           << "tile wide_cluster = " << p.cluster << ": the SiLU·up exchange ("
           << layout.exchange << " bytes) would overwrite token rows the "
           << "peer may still copy; use fewer wide tokens or more stages";
  // The producer forwards its half of use i - 1 after waiting for use
  // i - stages to be released, which needs the peer's forward of use
  // i - stages + 1: with two slots that is the forward the wait holds back.
  if (!p.packed && layout.stages < 3)
    return op.emitOpError()
           << "tile wide_cluster = " << p.cluster
           << " needs a ring of at least 3 slots, not " << layout.stages
           << " (a block forwards its half of a slot's token rows after "
              "waiting for an earlier slot); use fewer wide tokens";
  return success();
}

/// The Hopper warpgroup strategy (sm_90a): wgmma.mma_async.sp fed by bulk
/// copies of the `wgmma` weight layout and cp.async activation gathers.
class WgmmaSpLowering : public MmaLowering {
  /// The plan of `p`'s kernel summing a split-K input: a ring slot per k
  /// tile of its K range; where the tile's slots are fewer, that many
  /// slots with the most tokens (the tile's, halved to whole quanta of
  /// TileConfigAttr::kTokenQuantum) whose ring fits the block's shared
  /// memory (DeepSeek-V2-Lite's down projection: 11 k tiles, 8 tokens).
  static FailureOr<SSMMPlan> sumRing(SSMMPlan p) {
    if (p.kTilesPerSplit() <= WgmmaSpLayout(p).stages)
      return p;
    p.stages = p.kTilesPerSplit();
    int64_t smem = getLargestChip().smemPerResidentBlock(p.blocksPerSM);
    int64_t quantum = TileConfigAttr::kTokenQuantum;
    for (; p.tokens >= quantum;
         p.tokens = llvm::alignDown(p.tokens / 2, quantum)) {
      WgmmaSpLayout layout(p);
      if (layout.stages == p.stages && layout.bytes <= smem)
        return p;
    }
    return failure();
  }

public:
  LogicalResult verify(SSMMOp op, const SSMMPlan &p) const override {
    WgmmaSpLayout layout(p);
    if (failed(verifyPaddedK(op, p)))
      return failure();
    // Units may run past the half (unit tails: a unit past it repeats the
    // half's last tile, its row choices and group rows included), but a
    // block has at most one tile per unit.
    std::string units;
    llvm::raw_string_ostream(units)
        << "tile warps = " << p.warps << " (" << layout.consumers
        << " warpgroups" << (p.unitsPerWarpgroup > 1 ? " of 2 units" : "")
        << ")";
    if (layout.units % p.halves != 0)
      return op.emitOpError() << units << " must give each of the " << p.halves
                              << " halves as many units";
    if (layout.unitsPerHalf > WgmmaSpLayout::tilesPerHalf(p))
      return op.emitOpError()
             << units << " must not give " << (p.siluMul ? "a half" : "it")
             << " more units (" << layout.unitsPerHalf
             << ") than 64-row tiles (" << WgmmaSpLayout::tilesPerHalf(p)
             << ")";
    if (p.masked && 16 % p.m != 0)
      return op.emitOpError()
             << "masked group rows (row_masks or wide_row_masks = 1) with "
                "strategy wgmma_sp need m to divide 16 (a thread's two rows "
                "in one group), got m = "
             << p.m;
    if (p.blocksPerSM > 1 && layout.consumers > 2)
      return op.emitOpError()
             << "two blocks per SM (the tile's shared_slots or split_blocks) "
                "take at most 2 consumer warpgroups, the decode variant has "
             << layout.consumers << "; give it decode_warps = 8";
    int64_t regs = p.unitsPerWarpgroup * layout.sets * WgmmaSpLayout::regs(p);
    int64_t most =
        TileConfigAttr::wgmmaAccumulatorLimit(layout.consumers, p.blocksPerSM);
    if (regs > most)
      return op.emitOpError()
             << "tile needs " << regs << " accumulators per thread ("
             << p.unitsPerWarpgroup * layout.sets
             << " sets of tokens / 2), more than " << most << " ("
             << layout.consumers
             << " consumer warpgroups); use fewer tokens or warps";
    if (p.cluster > 1 && failed(verifyCluster(op, p, layout)))
      return failure();
    if (layout.units % p.multicast != 0)
      return op.emitOpError()
             << "tile wide_multicast = " << p.multicast
             << " needs a multiple of " << p.multicast
             << " 64-row units per wide block (one share per block), got "
             << layout.units;
    int64_t smem = getLargestChip().smemPerResidentBlock(p.blocksPerSM);
    if (layout.bytes > smem)
      return op.emitOpError()
             << "tile needs " << layout.bytes
             << " bytes of shared memory, more than the " << smem
             << " a block may use (" << p.blocksPerSM << " per SM); "
             << "use fewer stages, warps, tokens or k";
    return success();
  }

  int64_t threads(const SSMMPlan &p) const override {
    return WgmmaSpLayout(p).threads();
  }

  int64_t smemBytes(const SSMMPlan &p) const override {
    return WgmmaSpLayout(p).bytes;
  }

  int64_t rowBlocks(const SSMMPlan &p) const override {
    return WgmmaSpLayout(p).rowBlocks(p);
  }
  /// Whole units; the last row block's may run past the half.
  int64_t rowsPerBlock(const SSMMPlan &p) const override {
    return WgmmaSpLayout(p).unitsPerHalf * Wgmma::kRows * p.m / p.n;
  }

  /// Whole 64-row tiles of each half and 128-column blocks
  /// (docs/Format.md's padding).
  WeightLayout weightLayout(int64_t keptRows, int64_t halves) const override {
    return WeightAttr::wgmmaLayout(keptRows, halves);
  }

  void emit(ImplicitLocOpBuilder &b, const SSMMPlan &p,
            gpu::GPUFuncOp func) const override {
    WgmmaSpEmitter(b, p).emit(func);
  }

  /// One block per SM (two for the decode variants of shared_slots and
  /// split_blocks): ptxas sizes the registers for them, which setmaxnreg
  /// then moves from the producer to the consumers of each block.
  int64_t minBlocksPerSM(const SSMMPlan &p) const override {
    return p.blocksPerSM;
  }

  /// Its persistent grid won at every size measured against an ordinary grid
  /// with the same copy path (bench/RESULTS.md §1: 1.01-1.16x with the same
  /// 64-token tiles, T = 16-4096).
  bool persistentAtEverySize() const override { return true; }
  /// Routed row selection stores the group rows of a kept row together.
  int64_t outputAlign(const SSMMPlan &p) const override {
    int64_t rows = WgmmaSpLayout::rowsPerStore(p);
    return rows > 1 ? rows * p.outElt.getIntOrFloatBitWidth() / 8 : 0;
  }
  /// The ordinary grids of blocks working alone: their ring's first uses
  /// need only the block's expert (the persistent grid's later tiles would
  /// need the offsets past the wait anyway; a cluster's copies reach its
  /// peers' rings, never run before a wait on a GPU).
  bool canIssueWeightsBeforeWait(const SSMMPlan &p) const override {
    return p.persistent == 0 && p.clusterBlocks() == 1;
  }
  /// The ordinary grid's blocks, whose token tile row names an expert.
  bool canPrefetchBeforeWait(const SSMMPlan &p) const override {
    return p.persistent == 0 && p.clusterBlocks() == 1 && p.inputSplits == 0;
  }
  /// An ordinary grid reading slot rows whose ring can hold the block's
  /// whole K range: the block sums the input once, into every k tile's slot.
  bool canSumSplitInput(const SSMMPlan &p) const override {
    return p.persistent == 0 && p.clusterBlocks() == 1 && !p.gather &&
           !p.padsK() && succeeded(sumRing(p));
  }
  void planSplitInput(SSMMPlan &p) const override { p = *sumRing(p); }
  /// Every weight copy is a bulk copy, which takes an L2 cache policy.
  bool canEvictWeightsFirst() const override { return true; }
};
} // namespace

const MmaLowering &mlir::samoyeds::detail::getWgmmaSpLowering() {
  static const WgmmaSpLowering lowering;
  return lowering;
}
