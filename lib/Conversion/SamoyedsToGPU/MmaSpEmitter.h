//===- MmaSpEmitter.h - The warp-level mma.sp strategy ----------*- C++ -*-===//
//
// Private to the SamoyedsToGPU conversion: the emitter of the mma_sp
// strategy's kernel body, defined across MmaSpMainLoop.cpp (pipelined copies,
// multiplies on vector accumulators, span routing), MmaSpEpilogue.cpp
// (epilogues), MmaSpPersistent.cpp (the persistent grid) and MmaSpKernel.cpp
// (kernel body, shared-memory layout and the strategy's MmaLowering). The
// per-thread coordinates are members; what a block computes (its Tile) is
// passed by value, as the persistent grid changes it from tile to tile.
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
  /// One 16-byte activation copy of a stage: guard (none when every thread
  /// has the chunk), destination row and column, source element offset at
  /// k = 0 and element count (0: zero-fill a row past the tile's tokens).
  struct CopySlot {
    Value guard, row, col, srcBase, srcElems;
  };
  /// What a block computes: its row block and `blockRows`, the first 16-row
  /// tile of its kept rows (per half); the token tile (expert, first slot
  /// `start`, `count` tokens); the thread's activation copies, whose rows do
  /// not change along K. The persistent grid passes it from tile to tile.
  struct Tile {
    Value rowBlock, blockRows, expert, start, count;
    SmallVector<CopySlot> copies;
  };

  // Accumulators: one vector<4xf32> per mma.sp (the fragment's values in
  // the mma C layout), [unit][acc m][n-frag], then with span-end routing
  // the span partials [unit][n-frag].
  int64_t accIndex(int64_t u, int64_t mIdx, int64_t f) const {
    return (u * p.accsPerValue() + mIdx) * nFrags() + f;
  }
  int64_t numAccs() const { return p.units() * p.accsPerValue() * nFrags(); }
  int64_t partialIndex(int64_t u, int64_t f) const {
    return numAccs() + u * nFrags() + f;
  }
  int64_t numCarried() const {
    return numAccs() + (p.rowSelect && !p.masked ? p.units() * nFrags() : 0);
  }
  /// The sums of output row `mIdx` of unit `u`'s group (row selection) or of
  /// its row: with masked row selection, set 0 is the group's total.
  Value rowValue(ArrayRef<Value> carried, int64_t u, int64_t mIdx, int64_t f);
  int64_t nFrags() const { return p.warpTokens() / 8; }
  /// Unit `u`'s 16-row tile relative to the warp's first (docs/Format.md).
  int64_t unitTileOffset(int64_t u) const {
    return u / p.rowTiles * p.keptTilesPerHalf + u % p.rowTiles;
  }
  /// The warp's first 16-row tile of kept rows within the expert.
  Value warpTile(const Tile &t) {
    return add(t.blockRows, mul(warp, idx(p.rowTiles)));
  }
  /// The same within the stacked experts' packed arrays.
  Value warpWeightTile(const Tile &t) {
    return add(mul(t.expert, idx(p.keptRows / 16)), warpTile(t));
  }
  /// The first element of span `span`'s row choices of the expert's kept
  /// rows in row_idx.
  Value spanRows(const Tile &t, Value span) {
    return mul(add(mul(t.expert, idx(p.cols / p.v)), span), idx(p.keptRows));
  }

  /// Sets the thread's warp, lane and fragment coordinates from its thread
  /// index.
  void setThreadCoordinates(Value tid);
  /// Tile `tile` of the launch (numbered expert after expert): expert and
  /// start of the returned tile; `end` the expert's last slot (start = end
  /// when there is no such tile); `total`, when given, the number of token
  /// tiles (i32).
  Tile findTokenTile(Value tile, Value &end, Value *total = nullptr);
  /// `blockRows` of row block `rowBlock`.
  Value blockRowsOf(Value rowBlock) {
    return mul(rowBlock, idx(p.warps * p.rowTiles));
  }
  /// Sets the tile's activation copies for its `count` tokens from `start`.
  void makeCopySlots(Tile &t, Value tid);
  /// The persistent grid's body: block `g`'s tiles through one continuous
  /// pipeline (MmaSpPersistent.cpp).
  void emitPersistent(Value tid, Value g);
  /// Tile `t` of the persistent grid (t = token tile × row blocks + row
  /// block), without its copies; `total`, when given, the number of token
  /// tiles (i32).
  Tile lookupTile(Value t, Value *total = nullptr);
  /// A tile as the i32 values the persistent tile loop carries (one
  /// register each instead of two): row block, expert, start, count, then
  /// each copy's source offset and element count; and back, the copies'
  /// destinations and guards from `first`.
  SmallVector<Value> packTile(const Tile &t);
  Tile unpackTile(ValueRange state, const Tile &first);
  /// One iteration of the persistent tile loop (`q`): tile `cur`'s K loop,
  /// whose last copies are `next`'s first where `hasNext`, and epilogue.
  void emitPersistentTile(const Tile &cur, const Tile &next, Value hasNext,
                          Value q);
  /// Issues the copies of the first min(stages - 1, kTiles) k tiles of the
  /// K slice at `kBegin` into stages 0 .., one cp.async group each.
  void fillPipeline(const Tile &t, Value kBegin, int64_t kTiles);
  /// Issues the copies of k tile `kt` into `stage`; returns the tokens of
  /// those outside guards.
  SmallVector<Value> issueStageLoad(const Tile &t, Value kt, Value stage);
  /// Closes the thread's copies since the last group into a group: every
  /// copy, guarded or not (cp.async.commit_group); `tokens` names those
  /// outside guards.
  Value closeGroup(ValueRange tokens) {
    return nvgpu::DeviceAsyncCreateGroupOp::create(
        b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tokens);
  }
  /// closeGroup(issue()) where `cond` holds, an empty group (which keeps the
  /// wait counts uniform) elsewhere; returns the group. `issue` builds the
  /// copies (issueStageLoad) inside the guard, with the k tile and stage
  /// computed there too: made before the guard, the stage reached the copies
  /// from another basic block, as a 64-bit value that LLVM could no longer
  /// narrow, and ptxas kept more registers (up to 31 in sm_80 split-K
  /// kernels).
  Value issueStageIf(Value cond, function_ref<SmallVector<Value>()> issue);
  /// Waits until the group of the oldest stage in flight has landed (at most
  /// `pending` newer groups in flight) and synchronises the block.
  void waitForStage(Value group, int64_t pending);
  /// computeStage, skipped by a warp whose token slice is empty.
  void multiplyStage(const Tile &t, Value kt, Value stage,
                     SmallVectorImpl<Value> &carried);
  void computeStage(const Tile &t, Value kt, Value stage,
                    SmallVectorImpl<Value> &carried);
  /// The A registers of unit `u` at k step `ks` of the stage: one set, or
  /// with masked row selection the unmasked set then the set of each group
  /// row j > 0 (the registers of the rows whose span chose j).
  SmallVector<Value> loadARegisters(Value stage, int64_t u, int64_t ks);
  void routeSpan(const Tile &t, Value spanIdx, Value isEnd,
                 SmallVectorImpl<Value> &carried);
  void emitEpilogue(const Tile &t, ArrayRef<Value> carried);
  /// The thread's first output row of a half in tile `t`.
  Value threadRowBase(const Tile &t);
  /// The bias (f32, one vector per unit and group row, in rowValue's
  /// layout) of the rows the thread's values of tile `t` hold, or none
  /// without a bias.
  SmallVector<Value> loadBiases(const Tile &t);
  /// Unit u's bias vector for group row mIdx (`rowBase`: threadRowBase).
  Value biasValues(const Tile &t, Value rowBase, int64_t u, int64_t mIdx);
  /// rowValue plus its bias (`biases` from loadBiases; empty: none).
  Value unitValue(ArrayRef<Value> carried, int64_t u, int64_t mIdx, int64_t f,
                  ArrayRef<Value> biases);
  /// The split-K variant's epilogue: raw f32 sums to the workspace.
  void emitPartials(const Tile &t, ArrayRef<Value> carried);
  /// Calls `store(f, parity, col)` for each column of the thread's values:
  /// those of parity `parity` (0 or 1) of n-fragment `f`, whose block-local
  /// token is `col`, under a guard that `col` is one of the tile's tokens.
  template <typename Fn> void forEachColumn(const Tile &t, Fn store);

  const SSMMPlan &p;
  Value smem, smemA, smemMeta, smemRows, slice;
  /// `warp` is the warp's kept-row tile in the block, `tokenBase` the first
  /// token of its slice; `metaLane` the metadata word the thread supplies,
  /// `ldRow`/`ldCol` the row and column its lane addresses in ldmatrix.
  Value lane, warp, group, tig, tokenWarp, tokenBase, metaLane, ldRow, ldCol;
};
} // namespace mlir::samoyeds::detail

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_MMASPEMITTER_H
