//===- MmaSpEmitter.h - The warp-level mma.sp strategy ----------*- C++ -*-===//
//
// Private to the SamoyedsToGPU conversion: the emitter of the mma_sp
// strategy's kernel body, defined across MmaSpMainLoop.cpp (pipelined copies,
// multiplies, span routing), MmaSpEpilogue.cpp (epilogues),
// MmaSpPersistent.cpp (the persistent grid) and MmaSpKernel.cpp (kernel body,
// shared-memory layout and the strategy's MmaLowering).
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_MMASPEMITTER_H
#define SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_MMASPEMITTER_H

#include "SSMMPlan.h"

namespace mlir::samoyeds::detail {

/// The three shared-memory buffers, carved in this order out of the block's
/// dynamic shared memory: the activation ring [stage][token][k + 8 pad], the
/// weight fragments [stage][row warp][unit][k step][lane][4 x i32] and the
/// metadata [stage][row warp][unit][k step][16 x i32], then (masked row
/// selection) the row choices. Each size is a multiple
/// of 16 bytes, so every buffer stays 16-byte aligned for cp.async.
SmallVector<MemRefType, 4> smemLayout(const SSMMPlan &p, MLIRContext *ctx);

/// Emits the kernel body. All values are per thread.
class MmaSpEmitter : public EmitterBase, private SSMMArgs {
public:
  MmaSpEmitter(ImplicitLocOpBuilder &b, const SSMMPlan &p)
      : EmitterBase(b), p(p) {}

  void emit(gpu::GPUFuncOp func);

private:
  /// Per-thread accumulators: [unit][acc m][n-frag][4] then the span
  /// partials [unit][n-frag][4] when rows are selected.
  int64_t accIndex(int64_t u, int64_t mIdx, int64_t f, int64_t v) const {
    return ((u * p.accsPerValue() + mIdx) * nFrags() + f) * 4 + v;
  }
  int64_t numAccs() const {
    return p.units() * p.accsPerValue() * nFrags() * 4;
  }
  int64_t partialIndex(int64_t u, int64_t f, int64_t v) const {
    return numAccs() + (u * nFrags() + f) * 4 + v;
  }
  int64_t numCarried() const {
    return numAccs() +
           (p.rowSelect && !p.masked ? p.units() * nFrags() * 4 : 0);
  }
  /// The sum of output row `mIdx` of unit `u`'s group (row selection) or of
  /// its row: with masked row selection, set 0 is the group's total.
  Value rowValue(ArrayRef<Value> carried, int64_t u, int64_t mIdx, int64_t f,
                 int64_t v) {
    if (!p.masked || mIdx != 0)
      return carried[accIndex(u, mIdx, f, v)];
    Value total = carried[accIndex(u, 0, f, v)];
    for (int64_t j = 1; j < p.m; ++j)
      total = arith::SubFOp::create(b, total, carried[accIndex(u, j, f, v)]);
    return total;
  }
  int64_t nFrags() const { return p.warpTokens() / 8; }
  /// The block-local token of value `v` of n-fragment `f` (mma C layout).
  Value fragmentToken(int64_t f, int64_t v);
  /// The output row, within its half, of value `v` of unit `r`'s tile for
  /// row `mIdx` of the group (the kept row itself without row selection).
  Value outputRow(int64_t r, int64_t mIdx, int64_t v);
  int64_t rowStride() const { return p.kTile + 8; }

  /// NVVM's mma.sp takes bf16 pairs as i32 and f16 pairs as vector<2xf16>;
  /// converts a 32-bit register (i32 or a pair) to that form.
  Value mmaOperand(Value reg) {
    Type want = p.elt.isBF16() ? Type(b.getI32Type())
                               : Type(VectorType::get({2}, p.elt));
    if (reg.getType() == want)
      return reg;
    return LLVM::BitcastOp::create(b, want, reg);
  }
  /// Sets `copies` to the thread's activation copies for the token tile at
  /// `start` (`count` tokens).
  void makeCopySlots(Value tid);
  /// The persistent grid's body: block `g`'s tiles through one continuous
  /// pipeline (MmaSpPersistent.cpp).
  void emitPersistent(Value tid, Value g);
  /// Sets the thread's warp, lane and token coordinates from its thread
  /// index, and `blockRows` from the block's row block.
  void setThreadCoordinates(Value tid, Value rowBlock);
  void issueStageLoad(Value kt, Value stage);
  /// computeStage, skipped by a warp whose token slice is empty.
  void multiplyStage(Value kt, Value stage, SmallVectorImpl<Value> &carried);
  void computeStage(Value kt, Value stage, SmallVectorImpl<Value> &carried);
  void routeSpan(Value spanIdx, Value isEnd, SmallVectorImpl<Value> &carried);
  void emitEpilogue(ArrayRef<Value> carried);
  /// The split-K variant's epilogue: raw f32 sums to the workspace.
  void emitPartials(ArrayRef<Value> carried);
  /// Sets `expert` and `start` to token tile `by`, and `end` to the
  /// expert's last slot (start = end when there is no such tile); `total`,
  /// when given, to the number of token tiles (i32).
  void findTokenTile(Value by, Value &end, Value *total = nullptr);
  /// The 16-row tile of kept rows of the warp's unit `u`, within the expert
  /// (keptTile) and within the stacked experts' packed arrays (weightTile).
  Value keptTile(int64_t u);
  Value weightTile(int64_t u);

  const SSMMPlan &p;
  Value smem, smemA, smemMeta, smemRows, slice;
  /// `warp` is the warp's kept-row tile in the block, `tokenBase` the first
  /// token of its slice.
  Value lane, warp, group, tig, blockRows, expert, tokenWarp, tokenBase;
  Value start, count;
  /// Per copy slot: destination row, column and source element offset.
  struct CopySlot {
    Value guard, row, col, srcBase, srcElems;
  };
  SmallVector<CopySlot> copies;
};
} // namespace mlir::samoyeds::detail

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_MMASPEMITTER_H
