//===- SSMMEmitter.h - Emitter of the expert-matmul kernel ------*- C++ -*-===//
//
// Private to the SamoyedsToGPU conversion: the static plan of one
// samoyeds.ssmm kernel and the emitter of its body, defined across
// SSMMPlan.cpp (plan, shared-memory layout), SSMMMainLoop.cpp (pipelined
// copies, multiplies, span routing), SSMMEpilogue.cpp (tile lookup and
// epilogues) and SSMMKernel.cpp (kernel body and launch).
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_SSMMEMITTER_H
#define SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_SSMMEMITTER_H

#include "KernelUtils.h"

namespace mlir::samoyeds::detail {

/// Static parameters of one expert-matmul kernel.
struct SSMMPlan {
  int64_t experts, rows, cols, n, m, v;
  int64_t warps, tokens, kTile, stages, tokenWarps, rowTiles;
  /// K slices (grid z) and the workspace's rows per slice; 1 and 0 for the
  /// unsplit kernel.
  int64_t splitK = 1, splitSlots = 0;
  /// Block rows of the persistent grid (0: one block row per token tile).
  int64_t persistent = 0;
  bool gather, rowSelect, siluMul;
  /// Row selection by masked mma.sp (see #samoyeds.tile's row_masks).
  bool masked = false;
  Type elt, outElt;
  int64_t halves, keptRows, keptTilesPerHalf, kSteps, outCols;
  int64_t threads() const { return warps * tokenWarps * 32; }
  /// Tokens of one warp's slice.
  int64_t warpTokens() const { return tokens / tokenWarps; }
  int64_t accsPerValue() const { return rowSelect ? m : 1; }
  /// A warp's 16-row tiles ("units"): `rowTiles` per half; unit u is tile
  /// u % rowTiles of half u / rowTiles.
  int64_t units() const { return halves * rowTiles; }
  /// Spans a pipeline stage covers (1 when the span is a whole number of
  /// stages).
  int64_t spansPerStage() const { return kTile > v ? kTile / v : 1; }
  bool split() const { return splitK > 1; }
  int64_t kTilesPerSplit() const { return cols / kTile / splitK; }
  int64_t kTiles() const { return cols / kTile; }
};

/// Reads the kernel's parameters from `op` and the given variant of its
/// tile; fails with a diagnostic on `op` when they are unsupported.
FailureOr<SSMMPlan> makePlan(SSMMOp op, SSMMVariant variant);

/// The three shared-memory buffers, carved in this order out of the block's
/// dynamic shared memory: the activation ring [stage][token][k + 8 pad], the
/// weight fragments [stage][row warp][unit][k step][lane][4 x i32] and the
/// metadata [stage][row warp][unit][k step][16 x i32], then (masked row
/// selection) the row choices. Each size is a multiple
/// of 16 bytes, so every buffer stays 16-byte aligned for cp.async.
SmallVector<MemRefType, 4> smemLayout(const SSMMPlan &p, MLIRContext *ctx);

/// Bytes of a statically shaped memref.
int64_t byteSize(MemRefType t);

/// Emits the kernel body. All values are per thread.
class SSMMEmitter : public EmitterBase {
public:
  SSMMEmitter(ImplicitLocOpBuilder &b, const SSMMPlan &p)
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
  /// pipeline (SSMMPersistent.cpp).
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
  Value values, meta, rowIdx, input, offsets, tokenList, out, smem, smemA,
      smemMeta, smemRows, slice;
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

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_SSMMEMITTER_H
