//===- RoutingKernels.cpp - The dispatch kernel ---------------------------===//
//
// dispatch: one block per expert. The expert's first slot is the number of
// routed slots with a lower expert id (a block reduction); its slots are then
// placed in (token, choice) order with a ballot/popcount prefix per chunk, so
// the lists are deterministic and stable without atomics. A chunk of the
// count is `count` slots per thread, one of the placement `place` runs of 32
// slots per warp (DispatchChunks), its loads issued together: each chunk is
// one round trip to memory (and, placing, one block scan); the calls of many
// slots take a kernel of longer chunks. Expert ids are data
// (samoyeds.moe_experts takes them from the caller): an id outside [0, E) is
// clamped to the nearest expert, so every slot lands in exactly one expert's
// range and every token-list and position entry is written (an unplaced slot
// would leave them undefined and the matmuls would read out of bounds).
//
//===----------------------------------------------------------------------===//

#include "KernelUtils.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
constexpr int64_t kDispatchThreads = 256;
/// Slots per thread and chunk of the placement and of the count before it
/// (H200: at T = 4096 with 64 experts one slot per thread and chunk took 39
/// µs, a chain of 128 chunks, bench/RESULTS.md S17). 8 and 8; from
/// kStreamingSlots routed slots the `_long` kernel's 16 and 32: at T = 4096
/// on OLMoE and DeepSeek-V2-Lite the dispatch ended 13.6-15.6 µs after the
/// select kernel, two chains of 16 chunks (S23).
struct DispatchChunks {
  int64_t place, count;
};
constexpr DispatchChunks kDispatchChunks{8, 8}, kDispatchLongChunks{16, 32};

/// Builds one dispatch kernel's body: the block's expert, the count of the
/// slots routed below it, and the placement of its own.
class DispatchEmitter : public EmitterBase {
public:
  DispatchEmitter(ImplicitLocOpBuilder &b, int64_t experts, int64_t topK,
                  DispatchChunks chunks)
      : EmitterBase(b), experts(experts), topK(topK), chunks(chunks) {}

  /// Emits the body of `func` (arguments: ids, tokens, offsets, positions,
  /// P; the workgroup buffer of the warps' partial sums).
  void emit(gpu::GPUFuncOp func);

private:
  static constexpr int64_t kWarps = kDispatchThreads / 32;

  /// Sum over the block of one i32 per thread (every thread gets the total
  /// and the sum of the warps before its own).
  std::pair<Value, Value> blockScan(Value v);
  /// Whether slot `s` is below P, and its expert: its id clamped to
  /// [0, experts) (slot 0's past P, never used).
  std::pair<Value, Value> slotExpert(Value s);
  /// The slots routed to lower experts: this expert's first slot, which
  /// thread 0 stores (and the last expert's block P after it).
  Value storeFirstSlot();
  /// Places this expert's slots from `first` on, one chunk at a time.
  void place(Value first);

  int64_t experts, topK;
  DispatchChunks chunks;
  Value ids, tokens, offsets, positions, slots, partial;
  Value tid, expertIdx, expert, warp, lane, isLane0;
};
} // namespace

void DispatchEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  ids = entry.getArgument(0);
  tokens = entry.getArgument(1);
  offsets = entry.getArgument(2);
  positions = entry.getArgument(3);
  slots = toIndex(entry.getArgument(4));
  partial = func.getWorkgroupAttributions()[0];
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  expertIdx = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  expert = toI32(expertIdx);
  warp = arith::DivUIOp::create(b, tid, idx(32));
  lane = arith::RemUIOp::create(b, tid, idx(32));
  isLane0 = cmp(arith::CmpIPredicate::eq, lane, idx(0));
  place(storeFirstSlot());
  gpu::ReturnOp::create(b);
}

std::pair<Value, Value> DispatchEmitter::blockScan(Value v) {
  Value w = warpReduce(v, gpu::AllReduceOperation::ADD);
  ifThen(isLane0,
         [&] { memref::StoreOp::create(b, w, partial, ValueRange{warp}); });
  gpu::BarrierOp::create(b);
  Value total = i32c(0), before = i32c(0);
  for (int64_t i = 0; i < kWarps; ++i) {
    Value pw = load(partial, idx(i));
    total = arith::AddIOp::create(b, total, pw);
    before = arith::AddIOp::create(
        b, before,
        select(cmp(arith::CmpIPredicate::ugt, warp, idx(i)), pw, i32c(0)));
  }
  gpu::BarrierOp::create(b);
  return {total, before};
}

std::pair<Value, Value> DispatchEmitter::slotExpert(Value s) {
  Value inRange = cmp(arith::CmpIPredicate::ult, s, slots);
  Value id = load(ids, select(inRange, s, idx(0)));
  return {inRange, clampExpert(id, experts)};
}

Value DispatchEmitter::storeFirstSlot() {
  Value below =
      forLoop(
          idx(0), slots, idx(kDispatchThreads * chunks.count), {i32c(0)},
          [&](Value chunk, ValueRange it) -> SmallVector<Value> {
            Value count = it[0];
            for (int64_t u = 0; u < chunks.count; ++u) {
              auto [inRange, slotE] = slotExpert(arith::AddIOp::create(
                  b, chunk,
                  arith::AddIOp::create(b, tid, idx(u * kDispatchThreads))));
              Value lower = arith::AndIOp::create(
                  b, inRange, cmp(arith::CmpIPredicate::slt, slotE, expert));
              count = arith::AddIOp::create(b, count,
                                            select(lower, i32c(1), i32c(0)));
            }
            return {count};
          })
          .getResults()[0];
  Value first = blockScan(below).first;
  Value isThread0 = cmp(arith::CmpIPredicate::eq, tid, idx(0));
  ifThen(isThread0, [&] {
    memref::StoreOp::create(b, first, offsets, ValueRange{expertIdx});
    ifThen(cmp(arith::CmpIPredicate::eq, expertIdx, idx(experts - 1)), [&] {
      memref::StoreOp::create(b, toI32(slots), offsets,
                              ValueRange{idx(experts)});
    });
  });
  return first;
}

void DispatchEmitter::place(Value first) {
  // Warp w takes the chunk's slots [w, w + 1) * 32 * chunks.place, 32 per
  // run, so slot order is (warp, run, lane) order.
  Value laneMask = arith::SubIOp::create(
      b, arith::ShLIOp::create(b, i32c(1), toI32(lane)), i32c(1));
  Value warpFirst = arith::AddIOp::create(
      b, arith::MulIOp::create(b, warp, idx(32 * chunks.place)), lane);
  forLoop(idx(0), slots, idx(kDispatchThreads * chunks.place), {first},
          [&](Value chunk, ValueRange it) -> SmallVector<Value> {
            SmallVector<Value> slot, mine, ballot;
            for (int64_t u = 0; u < chunks.place; ++u) {
              slot.push_back(arith::AddIOp::create(
                  b, chunk, arith::AddIOp::create(b, warpFirst, idx(u * 32))));
              auto [inRange, slotE] = slotExpert(slot.back());
              mine.push_back(arith::AndIOp::create(
                  b, inRange, cmp(arith::CmpIPredicate::eq, slotE, expert)));
            }
            // The warp's slots of this expert before each run, and in all.
            SmallVector<Value> runBefore;
            Value count = i32c(0);
            for (int64_t u = 0; u < chunks.place; ++u) {
              ballot.push_back(
                  NVVM::VoteSyncOp::create(b, b.getI32Type(), i32c(-1), mine[u],
                                           NVVM::VoteSyncKind::ballot));
              runBefore.push_back(count);
              count = arith::AddIOp::create(
                  b, count,
                  LLVM::CtPopOp::create(b, b.getI32Type(), ballot[u]));
            }
            // Every lane holds its warp's count: let lane 0 contribute it.
            auto [total, before] = blockScan(select(isLane0, count, i32c(0)));
            Value base = arith::AddIOp::create(b, it[0], before);
            for (int64_t u = 0; u < chunks.place; ++u) {
              ifThen(mine[u], [&] {
                Value rank = LLVM::CtPopOp::create(
                    b, b.getI32Type(),
                    arith::AndIOp::create(b, ballot[u], laneMask));
                Value p = arith::AddIOp::create(
                    b, base, arith::AddIOp::create(b, runBefore[u], rank));
                Value token = arith::DivUIOp::create(b, slot[u], idx(topK));
                memref::StoreOp::create(b, toI32(token), tokens,
                                        ValueRange{toIndex(p)});
                memref::StoreOp::create(b, p, positions, ValueRange{slot[u]});
              });
            }
            return {arith::AddIOp::create(b, it[0], total)};
          });
}

/// The dispatch kernel `name` with `chunks`.
static FailureOr<KernelLaunch> buildDispatch(OpBuilder &builder,
                                             gpu::GPUModuleOp module,
                                             DispatchOp op, StringRef name,
                                             DispatchChunks chunks) {
  auto idsType = cast<RankedTensorType>(op.getExpertIds().getType());
  assert(!idsType.isDynamicDim(1) && "buildDispatchKernels checks top_k");
  int64_t topK = idsType.getDimSize(1), experts = op.getNumExperts();
  Type i32 = IntegerType::get(op.getContext(), 32);
  auto func = createKernel(builder, module, op.getLoc(), name,
                           {globalBuffer(i32), globalBuffer(i32),
                            globalBuffer(i32), globalBuffer(i32), i32},
                           kDispatchThreads,
                           {workgroupBuffer(i32, kDispatchThreads / 32)});
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  DispatchEmitter(b, experts, topK, chunks).emit(func);

  KernelLaunch launch;
  launch.kernel = func;
  launch.grid[0].constant = experts;
  launch.block[0] = kDispatchThreads;
  launch.args = {bufferArg(op.getExpertIds(), 4), bufferArg(op.getTokens(), 4),
                 bufferArg(op.getOffsets(), 4), bufferArg(op.getPositions(), 4),
                 symbolArg("P")};
  return launch;
}

bool mlir::samoyeds::canChunkDispatch(DispatchOp op) {
  return op.getNumExperts() <= kChunkSlots;
}

FailureOr<KernelLaunches> mlir::samoyeds::buildDispatchKernels(
    OpBuilder &builder, gpu::GPUModuleOp module, DispatchOp op, StringRef name,
    int64_t fromTokens, StringRef workspace) {
  auto idsType = cast<RankedTensorType>(op.getExpertIds().getType());
  if (idsType.isDynamicDim(1))
    return op.emitOpError() << "needs a static top_k to be compiled";
  int64_t longFrom = llvm::divideCeil(
      kStreamingSlots, std::max<int64_t>(idsType.getDimSize(1), 1));
  KernelLaunches launches;
  if (fromTokens < longFrom) {
    FailureOr<KernelLaunch> base =
        buildDispatch(builder, module, op, name, kDispatchChunks);
    if (failed(base))
      return failure();
    base->whenSymbol = "T";
    base->whenMin = fromTokens;
    base->whenMax = longFrom - 1;
    launches.push_back(*base);
  }
  KernelLaunches large;
  if (!workspace.empty() && canChunkDispatch(op)) {
    FailureOr<KernelLaunches> chunked =
        buildChunkedDispatchKernels(builder, module, op, name, workspace);
    if (failed(chunked))
      return failure();
    large = std::move(*chunked);
  } else {
    FailureOr<KernelLaunch> longer = buildDispatch(
        builder, module, op, (name + "_long").str(), kDispatchLongChunks);
    if (failed(longer))
      return failure();
    large.push_back(*longer);
  }
  for (KernelLaunch &launch : large) {
    launch.whenSymbol = "T";
    launch.whenMin = std::max(fromTokens, longFrom);
    launches.push_back(launch);
  }
  return launches;
}
