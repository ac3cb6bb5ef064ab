//===- SplitReduce.cpp - A matmul kernel's own reduction or combine -------===//
//
// The split_k blocks of one (row block, token tile) of a split-K kernel each
// store their K slice's partial sums in the workspace and count themselves
// in the tile's counter; the last to arrive sums the slices in slice order,
// applies the epilogue, writes the op's result and zeroes the counter for
// the next launch. With weighted_combine the decode and split-K kernels of
// the few-token calls combine: every block of a row block (every token
// tile's and K slice's, those without a tile too) counts itself in the row
// block's counter, and the last to arrive combines the row block's columns
// of every token: the routing-weighted sum of its slots' rows (each the sum
// of its slices with split-K). The sums are those of the combine kernel and
// of the reduction kernel these replace, in the same order, so the result
// is bit-identical and does not depend on which block arrives last.
//
// Memory order, the fence-and-count reduction of the CUDA programming
// guide: every thread fences its partial stores (membar.gl) before a barrier
// after which one thread counts with an atomic add; a second barrier's OR
// tells every thread whether its block was last, and the last block's
// threads fence again before they read the other blocks' partial sums. (A
// count before the first barrier let the last block read partial sums that
// another block's threads had not yet stored: wrong results under
// compute-sanitizer's slower schedule, S16.)
//
//===----------------------------------------------------------------------===//

#include "SSMMPlan.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
class LastBlockEmitter : public SliceSumEmitter {
public:
  LastBlockEmitter(ImplicitLocOpBuilder &b, const SSMMPlan &p,
                   const SSMMArgs &args, const ReduceThreads &threads)
      : SliceSumEmitter(b, p.rows, p.splitK, p.splitSlots), p(p), args(args),
        threads(threads) {}

  /// The split-K reduction of the tile of row block `rowBlock` and the
  /// `count` slots from `start`: the last of its split_k blocks reduces.
  void emitReduce(Value rowBlock, Value start, Value count) {
    // The tile's counter: its block's place in grid (x, y), the same in
    // every K slice.
    Value tile = add(mul(gpu::BlockIdOp::create(b, gpu::Dimension::y),
                         gpu::GridDimOp::create(b, gpu::Dimension::x)),
                     gpu::BlockIdOp::create(b, gpu::Dimension::x));
    ifLast(tile, i32c(p.splitK - 1), [&] { reduce(rowBlock, start, count); });
  }

  /// The combine of row block `rowBlock`: the last of the grid's blocks of
  /// that row block (grid y · grid z of them) combines.
  void emitCombine(Value rowBlock) {
    Value blocks = mul(gpu::GridDimOp::create(b, gpu::Dimension::y),
                       gpu::GridDimOp::create(b, gpu::Dimension::z));
    Value others = toI32(sub(blocks, idx(1)));
    ifLast(rowBlock, others, [&] { combine(rowBlock); });
  }

private:
  /// Counts this block in counters[`counter`] and runs `body` in the
  /// block's reducing threads if it is the last to count, after `others`
  /// (i32) blocks, after zeroing the counter for the next launch.
  void ifLast(Value counter, Value others, function_ref<void()> body) {
    // Every thread's partial sums are stored and fenced before the block
    // counts itself.
    fence();
    barrier();
    auto counting =
        scf::IfOp::create(b, TypeRange{b.getI1Type()},
                          cmp(arith::CmpIPredicate::eq, threads.thread, idx(0)),
                          /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(counting.thenBlock());
      Value before =
          memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, i32c(1),
                                      args.counters, ValueRange{counter});
      Value last = cmp(arith::CmpIPredicate::eq, before, others);
      // Every block has counted: the next launch starts at 0.
      ifThen(last, [&] {
        memref::StoreOp::create(b, i32c(0), args.counters, ValueRange{counter});
      });
      scf::YieldOp::create(b, last);
      b.setInsertionPointToStart(counting.elseBlock());
      scf::YieldOp::create(b, i1c(false));
    }
    Value last = barrierOr(counting.getResult(0));
    ifThen(last, [&] {
      fence();
      body();
    });
  }

  void fence() { NVVM::MembarOp::create(b, NVVM::MemScopeKind::GPU); }

  /// Synchronizes the reducing threads.
  void barrier() {
    NVVM::BarrierOp::create(
        b, TypeRange{}, threads.wholeBlock ? Value() : i32c(threads.barrier),
        threads.wholeBlock ? Value() : i32c(threads.size),
        NVVM::BarrierReductionAttr(), Value());
  }

  /// The OR of `pred` over the reducing threads, in each of them.
  Value barrierOr(Value pred) {
    Value word = arith::ExtUIOp::create(b, b.getI32Type(), pred);
    Value any;
    if (threads.wholeBlock && threads.barrier == 0) {
      any = NVVM::BarrierOp::create(
                b, TypeRange{b.getI32Type()}, Value(), Value(),
                NVVM::BarrierReductionAttr::get(b.getContext(),
                                                NVVM::BarrierReduction::OR),
                word)
                .getResult(0);
    } else {
      // nvvm.barrier reduces only on barrier 0 for the whole block; a
      // subset of the warps (wgmma_sp's consumers) needs bar.red on its own.
      any =
          inlinePtx(b, b.getI32Type(),
                    ValueRange{word, i32c(threads.barrier), i32c(threads.size)},
                    "{ .reg .pred p, q; setp.ne.u32 p, $1, 0; "
                    "bar.red.or.pred q, $2, $3, p; selp.u32 $0, 1, 0, q; }",
                    "=r,r,r,r", /*sideEffects=*/true);
    }
    return cmp(arith::CmpIPredicate::ne, any, i32c(0));
  }

  /// The block's result rows [rowBlock · R, rowBlock · R + R) of its `count`
  /// slots, consecutive threads on consecutive rows.
  void reduce(Value rowBlock, Value start, Value count) {
    int64_t blockRows = getMmaLowering(p.strategy).rowsPerBlock(p);
    Value firstRow = mul(rowBlock, idx(blockRows));
    forLoop(threads.thread, idx(p.tokens * blockRows), idx(threads.size),
            ValueRange{}, [&](Value i, ValueRange) {
              Value token = div(i, idx(blockRows));
              ifThen(cmp(arith::CmpIPredicate::ult, token, count), [&] {
                Value slot = add(start, token);
                Value col = add(firstRow, rem(i, idx(blockRows)));
                ifInside(col, [&] {
                  Value y = reduceSlices(args.out, slot, col, p.outCols,
                                         p.siluMul ? std::optional(p.act)
                                                   : std::nullopt);
                  memref::StoreOp::create(
                      b, arith::TruncFOp::create(b, p.resultElt, y),
                      args.result,
                      ValueRange{add(mul(slot, idx(p.outCols)), col)});
                });
              });
              return SmallVector<Value>{};
            });
  }

  /// Columns [rowBlock · R, rowBlock · R + R) of the result's T tokens,
  /// consecutive threads on consecutive columns: out[t][c] = sum over j of
  /// weights[t][j] · (the slice sum of slot positions[t][j]), in j order
  /// (the combine kernel's sums).
  void combine(Value rowBlock) {
    int64_t blockRows = getMmaLowering(p.strategy).rowsPerBlock(p);
    Value firstRow = mul(rowBlock, idx(blockRows));
    Value tokens = toIndex(args.tokenCount);
    forLoop(
        threads.thread, mul(tokens, idx(blockRows)), idx(threads.size),
        ValueRange{}, [&](Value i, ValueRange) {
          Value token = div(i, idx(blockRows));
          Value col = add(firstRow, rem(i, idx(blockRows)));
          auto pair = [&](int64_t j) {
            return add(mul(token, idx(p.topK)), idx(j));
          };
          ifInside(col, [&] {
            Value sum = weightedSlotSum(
                args.out, col, p.topK,
                [&](int64_t j) { return loadIndex(args.positions, pair(j)); },
                [&](int64_t j) { return load(args.routingWeights, pair(j)); });
            storeOut(sum, args.result, add(mul(token, idx(p.outCols)), col));
          });
          return SmallVector<Value>{};
        });
  }

  /// Runs `body` for output row `col`, under `col < outCols` where the
  /// last row block runs past the output rows (unit tails).
  void ifInside(Value col, function_ref<void()> body) {
    const MmaLowering &lowering = getMmaLowering(p.strategy);
    if (lowering.rowBlocks(p) * lowering.rowsPerBlock(p) <= p.outCols)
      return body();
    ifThen(cmp(arith::CmpIPredicate::ult, col, idx(p.outCols)), body);
  }

  const SSMMPlan &p;
  const SSMMArgs &args;
  const ReduceThreads &threads;
};
} // namespace

void mlir::samoyeds::detail::emitSplitReduce(
    ImplicitLocOpBuilder &b, const SSMMPlan &p, const SSMMArgs &args,
    const ReduceThreads &threads, Value rowBlock, Value start, Value count) {
  assert(p.fusedReduce && "the kernel does not reduce its slices");
  LastBlockEmitter(b, p, args, threads).emitReduce(rowBlock, start, count);
}

void mlir::samoyeds::detail::emitFusedCombine(ImplicitLocOpBuilder &b,
                                              const SSMMPlan &p,
                                              const SSMMArgs &args,
                                              const ReduceThreads &threads,
                                              Value rowBlock) {
  assert(p.fusedCombine && "the kernel does not combine its slot rows");
  // Grid x is the row blocks, and every block of the grid counts once.
  assert(p.clusterBlocks() == 1 && p.persistent == 0 &&
         "an ordinary grid of one block per (row block, token tile, slice)");
  LastBlockEmitter(b, p, args, threads).emitCombine(rowBlock);
}
