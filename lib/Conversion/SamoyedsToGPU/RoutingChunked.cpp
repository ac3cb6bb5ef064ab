//===- RoutingChunked.cpp - The dispatch of many routed slots -------------===//
//
// From kStreamingSlots routed slots the dispatch runs over chunks of
// kChunkSlots slots instead of one block per expert that reads them all:
//
//   _count: a block per chunk counts its slots per expert in shared memory
//     (atomic adds) and writes the chunk's row of a [chunks, E] i32 table;
//   _place: a block per chunk sums that table (each expert's slots in all
//     chunks and in the chunks before its own, loads issued 8 a thread at a
//     time), scans the totals over the experts (the offsets, which block 0
//     writes) and places its chunk's slots: a warp takes 128 consecutive
//     slots as 4 runs of 32 and ranks each slot among its run's slots of
//     the same expert (match.any) after the warp's earlier runs (a per-warp
//     count per expert in shared memory), then after the chunk's earlier
//     warps.
//
// The slots land in (token, choice) order within each expert, as the
// per-expert kernel places them: token list, offsets and positions are the
// same, bit for bit. Expert ids are clamped to [0, E) as there.
//
//===----------------------------------------------------------------------===//

#include "KernelUtils.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
constexpr int64_t kThreads = 256, kWarps = kThreads / 32;
/// Slots a thread takes in a chunk, and the table loads it issues at once.
constexpr int64_t kSlotsPerThread = 4, kTableLoads = 8;
static_assert(kThreads * kSlotsPerThread == kChunkSlots,
              "a chunk is a slot per thread and run");

class ChunkEmitter : public EmitterBase {
public:
  ChunkEmitter(ImplicitLocOpBuilder &b, int64_t experts, int64_t topK)
      : EmitterBase(b), experts(experts), topK(topK) {}

  /// (ids, counts, P): the chunk's row of the counts table.
  void emitCount(gpu::GPUFuncOp func);
  /// (ids, counts, tokens, offsets, positions, P): the chunk's placement.
  void emitPlace(gpu::GPUFuncOp func);

private:
  struct Slot {
    Value index, valid, expert;
  };
  /// Starts the body of `func`: thread, chunk and P (index).
  void enter(gpu::GPUFuncOp func);
  /// Slot `s` (an index): whether it is below P, and its expert id (i32)
  /// clamped to [0, E), E past P.
  Slot slotAt(Value ids, Value s);
  /// `buffer[i] = v` for i = tid, tid + kThreads, ... below `n`.
  void fill(Value buffer, int64_t n, Value v);
  /// Atomically adds `v` to `buffer[i]` (shared memory, i32).
  void atomicAdd(Value buffer, Value i, Value v);
  /// Sums the counts table into shared memory: sums[e] = expert e's slots
  /// in every chunk, sums[E + e] = in the chunks before this one.
  void sumTable(Value counts, Value sums);
  /// Turns sums[E + e] into expert e's first position in this chunk, and
  /// (block 0) writes the offsets.
  void scanExperts(Value sums, Value partial, Value offsets);

  int64_t experts, topK;
  Value tid, chunk, slots, warp, lane;
};
} // namespace

void ChunkEmitter::enter(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  chunk = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  slots = toIndex(func.getArgument(func.getNumArguments() - 1));
  warp = div(tid, idx(32));
  lane = rem(tid, idx(32));
}

ChunkEmitter::Slot ChunkEmitter::slotAt(Value ids, Value s) {
  Value valid = cmp(arith::CmpIPredicate::ult, s, slots);
  Value id = clampExpert(load(ids, select(valid, s, idx(0))), experts);
  return {s, valid, select(valid, id, i32c(experts))};
}

void ChunkEmitter::fill(Value buffer, int64_t n, Value v) {
  forLoop(tid, idx(n), idx(kThreads), ValueRange{},
          [&](Value i, ValueRange) -> SmallVector<Value> {
            memref::StoreOp::create(b, v, buffer, ValueRange{i});
            return {};
          });
}

void ChunkEmitter::atomicAdd(Value buffer, Value i, Value v) {
  memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, v, buffer,
                              ValueRange{i});
}

void ChunkEmitter::emitCount(gpu::GPUFuncOp func) {
  enter(func);
  Value ids = func.getArgument(0), counts = func.getArgument(1);
  Value hist = func.getWorkgroupAttributions()[0];
  Value first = mul(chunk, idx(kChunkSlots));
  SmallVector<Slot> mine;
  for (int64_t u = 0; u < kSlotsPerThread; ++u)
    mine.push_back(slotAt(ids, add(first, add(tid, idx(u * kThreads)))));
  fill(hist, experts, i32c(0));
  gpu::BarrierOp::create(b);
  for (const Slot &s : mine)
    ifThen(s.valid, [&] { atomicAdd(hist, toIndex(s.expert), i32c(1)); });
  gpu::BarrierOp::create(b);
  Value row = mul(chunk, idx(experts));
  forLoop(tid, idx(experts), idx(kThreads), ValueRange{},
          [&](Value e, ValueRange) -> SmallVector<Value> {
            memref::StoreOp::create(b, load(hist, e), counts,
                                    ValueRange{add(row, e)});
            return {};
          });
  gpu::ReturnOp::create(b);
}

void ChunkEmitter::sumTable(Value counts, Value sums) {
  Value chunks = div(add(slots, idx(kChunkSlots - 1)), idx(kChunkSlots));
  Value entries = mul(chunks, idx(experts));
  forLoop(idx(0), entries, idx(kThreads * kTableLoads), ValueRange{},
          [&](Value i0, ValueRange) -> SmallVector<Value> {
            SmallVector<Value> at, ok, v;
            for (int64_t k = 0; k < kTableLoads; ++k) {
              at.push_back(add(i0, add(tid, idx(k * kThreads))));
              ok.push_back(cmp(arith::CmpIPredicate::ult, at.back(), entries));
              v.push_back(load(counts, select(ok.back(), at.back(), idx(0))));
            }
            for (int64_t k = 0; k < kTableLoads; ++k)
              ifThen(ok[k], [&] {
                Value e = rem(at[k], idx(experts));
                atomicAdd(sums, e, v[k]);
                ifThen(cmp(arith::CmpIPredicate::ult, div(at[k], idx(experts)),
                           chunk),
                       [&] { atomicAdd(sums, add(e, idx(experts)), v[k]); });
              });
            return {};
          });
}

void ChunkEmitter::scanExperts(Value sums, Value partial, Value offsets) {
  // Thread t takes experts [t * per, (t + 1) * per).
  int64_t per = llvm::divideCeil(experts, kThreads);
  SmallVector<Value> expert, valid, total;
  Value local = i32c(0);
  for (int64_t q = 0; q < per; ++q) {
    expert.push_back(add(mul(tid, idx(per)), idx(q)));
    valid.push_back(
        cmp(arith::CmpIPredicate::ult, expert.back(), idx(experts)));
    total.push_back(select(
        valid.back(), load(sums, select(valid.back(), expert.back(), idx(0))),
        i32c(0)));
    local = add(local, total.back());
  }
  Value incl = warpInclusiveScan(local, toI32(lane));
  ifThen(cmp(arith::CmpIPredicate::eq, lane, idx(31)),
         [&] { memref::StoreOp::create(b, incl, partial, ValueRange{warp}); });
  gpu::BarrierOp::create(b);
  Value run = sub(incl, local);
  for (int64_t w = 0; w + 1 < kWarps; ++w)
    run = add(run, select(cmp(arith::CmpIPredicate::ugt, warp, idx(w)),
                          load(partial, idx(w)), i32c(0)));
  Value first = cmp(arith::CmpIPredicate::eq, chunk, idx(0));
  for (int64_t q = 0; q < per; ++q) {
    ifThen(valid[q], [&] {
      Value at = add(expert[q], idx(experts));
      memref::StoreOp::create(b, add(load(sums, at), run), sums,
                              ValueRange{at});
      ifThen(first, [&] {
        memref::StoreOp::create(b, run, offsets, ValueRange{expert[q]});
      });
    });
    run = add(run, total[q]);
  }
  ifThen(arith::AndIOp::create(b, first,
                               cmp(arith::CmpIPredicate::eq, tid, idx(0))),
         [&] {
           memref::StoreOp::create(b, toI32(slots), offsets,
                                   ValueRange{idx(experts)});
         });
  gpu::BarrierOp::create(b);
}

void ChunkEmitter::emitPlace(gpu::GPUFuncOp func) {
  enter(func);
  Value ids = func.getArgument(0), counts = func.getArgument(1),
        tokens = func.getArgument(2), offsets = func.getArgument(3),
        positions = func.getArgument(4);
  Value sums = func.getWorkgroupAttributions()[0],
        warpCounts = func.getWorkgroupAttributions()[1],
        partial = func.getWorkgroupAttributions()[2];
  // The chunk's slots first: warp w's are [w, w + 1) * 32 * kSlotsPerThread,
  // run u's lane l slot u * 32 + l of them.
  Value first =
      add(mul(chunk, idx(kChunkSlots)), mul(warp, idx(32 * kSlotsPerThread)));
  SmallVector<Slot> mine;
  for (int64_t u = 0; u < kSlotsPerThread; ++u)
    mine.push_back(slotAt(ids, add(first, add(lane, idx(u * 32)))));
  fill(sums, 2 * experts, i32c(0));
  fill(warpCounts, kWarps * experts, i32c(0));
  gpu::BarrierOp::create(b);
  sumTable(counts, sums);
  gpu::BarrierOp::create(b);
  scanExperts(sums, partial, offsets);

  // Each run's slots of an expert after the warp's earlier runs' (the lanes
  // read the count, then the run's first lane of the expert adds the run's).
  Value lane32 = toI32(lane);
  Value below = sub(arith::ShLIOp::create(b, i32c(1), lane32), i32c(1));
  Value row = mul(warp, idx(experts));
  auto countAt = [&](const Slot &s) {
    return add(row, toIndex(select(s.valid, s.expert, i32c(0))));
  };
  SmallVector<Value> within;
  for (const Slot &s : mine) {
    Value same = NVVM::MatchSyncOp::create(b, b.getI32Type(), i32c(-1),
                                           s.expert, NVVM::MatchSyncKind::any);
    Value rank = LLVM::CtPopOp::create(b, b.getI32Type(),
                                       arith::AndIOp::create(b, same, below));
    Value prior = select(s.valid, load(warpCounts, countAt(s)), i32c(0));
    within.push_back(add(prior, rank));
    NVVM::SyncWarpOp::create(b, i32c(-1));
    Value lead = arith::AndIOp::create(
        b, s.valid, cmp(arith::CmpIPredicate::eq, rank, i32c(0)));
    ifThen(lead, [&] {
      memref::StoreOp::create(
          b, add(prior, LLVM::CtPopOp::create(b, b.getI32Type(), same)),
          warpCounts, ValueRange{countAt(s)});
    });
    NVVM::SyncWarpOp::create(b, i32c(-1));
  }
  gpu::BarrierOp::create(b);
  // Per expert, the chunk's earlier warps' slots.
  forLoop(tid, idx(experts), idx(kThreads), ValueRange{},
          [&](Value e, ValueRange) -> SmallVector<Value> {
            Value run = i32c(0);
            for (int64_t w = 0; w < kWarps; ++w) {
              Value at = add(idx(w * experts), e);
              Value v = load(warpCounts, at);
              memref::StoreOp::create(b, run, warpCounts, ValueRange{at});
              run = add(run, v);
            }
            return {};
          });
  gpu::BarrierOp::create(b);
  for (auto [s, rank] : llvm::zip(mine, within)) {
    ifThen(s.valid, [&, &s = s, rank = rank] {
      Value e = toIndex(s.expert);
      Value p = add(
          add(load(sums, add(e, idx(experts))), load(warpCounts, add(row, e))),
          rank);
      Value token = toI32(div(s.index, idx(topK)));
      memref::StoreOp::create(b, token, tokens, ValueRange{toIndex(p)});
      memref::StoreOp::create(b, p, positions, ValueRange{s.index});
    });
  }
  gpu::ReturnOp::create(b);
}

FailureOr<KernelLaunches> mlir::samoyeds::buildChunkedDispatchKernels(
    OpBuilder &builder, gpu::GPUModuleOp module, DispatchOp op, StringRef name,
    StringRef workspace) {
  auto idsType = cast<RankedTensorType>(op.getExpertIds().getType());
  assert(!idsType.isDynamicDim(1) && "buildDispatchKernels checks top_k");
  assert(op.getNumExperts() <= kChunkSlots && "the table's workspace bound");
  int64_t topK = idsType.getDimSize(1), experts = op.getNumExperts();
  Type i32 = IntegerType::get(op.getContext(), 32);
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  KernelLaunches launches;
  auto add = [&](StringRef suffix, SmallVector<Type> args,
                 SmallVector<Type> workgroup, SmallVector<KernelArg> launchArgs,
                 function_ref<void(ChunkEmitter &, gpu::GPUFuncOp)> emit) {
    args.push_back(i32);
    auto func = createKernel(builder, module, op.getLoc(),
                             (name + suffix).str(), args, kThreads, workgroup);
    ChunkEmitter emitter(b, experts, topK);
    emit(emitter, func);
    KernelLaunch launch;
    launch.kernel = func;
    launch.grid[0].symbol = "P";
    launch.grid[0].divisor = kChunkSlots;
    launch.block[0] = kThreads;
    launch.args = std::move(launchArgs);
    launch.args.push_back(symbolArg("P"));
    launches.push_back(launch);
  };
  KernelArg ids = bufferArg(op.getExpertIds(), 4),
            counts = workspaceArg(workspace);
  add("_count", {globalBuffer(i32), globalBuffer(i32)},
      {workgroupBuffer(i32, experts)}, {ids, counts},
      [](ChunkEmitter &e, gpu::GPUFuncOp f) { e.emitCount(f); });
  add("_place",
      {globalBuffer(i32), globalBuffer(i32), globalBuffer(i32),
       globalBuffer(i32), globalBuffer(i32)},
      {workgroupBuffer(i32, 2 * experts),
       workgroupBuffer(i32, kWarps * experts), workgroupBuffer(i32, kWarps)},
      {ids, counts, bufferArg(op.getTokens(), 4), bufferArg(op.getOffsets(), 4),
       bufferArg(op.getPositions(), 4)},
      [](ChunkEmitter &e, gpu::GPUFuncOp f) { e.emitPlace(f); });
  return launches;
}
