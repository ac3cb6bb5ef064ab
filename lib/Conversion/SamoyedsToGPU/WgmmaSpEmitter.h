//===- WgmmaSpEmitter.h - The Hopper warpgroup wgmma.sp strategy -*- C++ -*-===//
//
// Private to the SamoyedsToGPU conversion: the emitter of the wgmma_sp
// strategy's kernel body, defined across WgmmaSpKernel.cpp (block set-up,
// copies, pipeline, the strategy's MmaLowering), WgmmaSpMainLoop.cpp (the
// multiplies of a stage and span routing) and WgmmaSpEpilogue.cpp.
//
// A block is `warps` / 4 warpgroups; warpgroup u owns a unit of 64 kept rows
// (for silu_mul the first half of the units are gate rows, the second half
// the matching up rows) and all `tokens` routed tokens of the block's token
// tile. Per K stage, thread 0 bulk-copies every unit's weight block and
// metadata into a ring slot and arms the slot's mbarrier with their byte
// count; every thread gathers its share of the activation rows through the
// token list with cp.async into the 128-byte-swizzled B layout. Consumers
// wait for both, then each warpgroup issues one wgmma.mma_async.sp
// m64n`tokens`k32 per K step of the stage.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_WGMMASPEMITTER_H
#define SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_WGMMASPEMITTER_H

#include "WgmmaSpLayout.h"

namespace mlir::samoyeds::detail {

class WgmmaSpEmitter : public EmitterBase {
public:
  WgmmaSpEmitter(ImplicitLocOpBuilder &b, const SSMMPlan &p)
      : EmitterBase(b), p(p), layout(p) {}

  void emit(gpu::GPUFuncOp func);

private:
  // WgmmaSpKernel.cpp
  void setUpSharedMemory();
  void makeCopySlots();
  /// The K loop over the block's K slice; returns the accumulator sets.
  SmallVector<Value> emitMainLoop();
  /// Issues the copies of k tile `kt` into ring slot `slot`.
  void issueStage(Value kt, Value slot);
  /// Bulk-copies `bytes` from global address `src` to shared address `dst`
  /// (i64), completing on the mbarrier at `mbar`.
  void bulkCopy(Value dst, Value src, int64_t bytes, Value mbar);
  /// The 64-row tile, within the expert's kept rows, of unit `u`.
  Value unitTile(Value u);
  /// The 128B-swizzle K-major matrix descriptor of the tile at shared
  /// address `addr` (i64).
  Value descriptor(Value addr);
  /// An LLVM pointer in address space `space` from an integer address.
  Value intToPtr(Value address, unsigned space) {
    return LLVM::IntToPtrOp::create(
        b, LLVM::LLVMPointerType::get(b.getContext(), space), address,
        LLVM::DereferenceableAttr());
  }
  Value toI64(Value index) {
    return arith::IndexCastOp::create(b, b.getI64Type(), index);
  }

  // WgmmaSpMainLoop.cpp
  /// Multiplies k tile `kt` held in `slot`; updates `sets`.
  void computeStage(Value kt, Value slot, SmallVectorImpl<Value> &sets);
  /// Issues the MMAs of K steps [first, last) of the stage into `acc`; the
  /// first of them starts the accumulation over (scale-d false) where
  /// `restart` holds.
  Value multiply(Value acc, int64_t first, int64_t last, Value restart,
                 ArrayRef<Value> descA, ArrayRef<Value> descB,
                 ArrayRef<Value> metas);
  /// Adds the span partial (set 0) into the row accumulator of the group
  /// row that span `span` chose for each of the thread's two kept rows,
  /// where `isEnd` holds (always when null).
  void routeSpan(Value span, Value isEnd, SmallVectorImpl<Value> &sets);
  /// Kept row, within the expert, of the thread's row `half8` (0: lane/4,
  /// 1: lane/4 + 8) of its warp's 16 rows of its unit.
  Value threadKeptRow(int64_t half8);

  // WgmmaSpEpilogue.cpp
  void emitEpilogue(ArrayRef<Value> sets);
  /// Writes value `i` of the thread's accumulators for group row `j` (row
  /// selection) to the output or split-K workspace.
  void storeValue(Value value, int64_t j, int64_t i);
  /// The output row, within its half, of value `i` for group row `j`.
  Value outputRow(int64_t j, int64_t i);
  /// The block-local token of value `i`.
  Value valueToken(int64_t i);

  const SSMMPlan &p;
  const WgmmaSpLayout layout;
  Value values, meta, rowIdx, input, offsets, tokenList, out;
  /// Shared memory: the aligned base address (i64), typed views for the B
  /// ring, metadata ring and exchange, and the mbarrier group.
  Value base, sB, sMeta, sExchange, barriers;
  /// Thread coordinates: warpgroup, thread within it, warp within the
  /// warpgroup, lane, lane / 4, lane % 4; the block's row block and K slice.
  Value unit, wgThread, warp, lane, group, quad, rowBlock, slice;
  /// The block's token tile: expert, first slot, tokens in it.
  Value expert, start, count;
  /// Global addresses (i64) of the packed values and metadata.
  Value valuesAddr, metaAddr;
  /// Per activation copy: guard (null: always), destination element within a
  /// B stage, source element of k tile 0, and source elements (8 or 0).
  struct CopySlot {
    Value guard, dst, src, srcElems;
  };
  SmallVector<CopySlot> copies;
};

} // namespace mlir::samoyeds::detail

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_WGMMASPEMITTER_H
