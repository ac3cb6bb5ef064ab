//===- WgmmaSpEmitter.h - The Hopper warpgroup wgmma.sp strategy -*- C++
//-*-===//
//
// Private to the SamoyedsToGPU conversion: the emitter of the wgmma_sp
// strategy's kernel body, defined across WgmmaSpKernel.cpp (block set-up,
// the roles, the persistent grid, the strategy's MmaLowering),
// WgmmaSpProducer.cpp (the producer's copies), WgmmaSpMainLoop.cpp (the
// consumers' K loop and the routing of span sums), WgmmaSpMaskedRows.cpp
// (row selection by masked group rows) and WgmmaSpEpilogue.cpp.
//
// A block is warp-specialised: warpgroup 0 produces, warpgroups
// 1..consumers consume. Consumer u owns a unit of 64 kept rows (for silu_mul
// the first half of the units are gate rows, the second half the matching up
// rows) and all `tokens` routed tokens of the block's token tile; with unit
// pairs (the wide variant's wide_units = 2) consumer c owns units c and c +
// consumers (for silu_mul the gate and the up unit of the same rows, whose
// SiLU·up it forms in registers), issues both units' MMAs of a stage as one
// group and waits for them with one wait. The ring has `stages` slots, each
// with a full and an empty mbarrier. The producer fills slot i % stages with k
// tile i once the consumers have released it: thread 0 arms the full barrier
// with the bytes of the slot's bulk copies (every unit's weight block and
// metadata) and issues them; every producer thread gathers its share of the
// activation rows through the token list with cp.async into the
// 128-byte-swizzled B layout and arrives on the full barrier when its copies
// land. A consumer waits on the full barrier, issues one wgmma.mma_async.sp
// m64n`tokens`k32 per K step and arrives on the empty barrier once the MMAs
// that read the slot are done. The producer lowers its registers, the consumers
// raise theirs (setmaxnreg).
//
// In a cluster (the wide variant's wide_cluster = 2) the blocks of a pair take
// neighbouring row blocks of one token tile. Each producer gathers its half
// of the token rows into its own slot, completing on a third mbarrier of the
// slot (its own gathers), and producer thread 0 bulk-copies that half into
// the peer's slot one stage later, completing on the peer's full barrier,
// whose tx count includes it. Consumers wait on the full and own barriers
// and release a slot on the empty barriers of both blocks, so a producer
// refills a slot (its own, and its half of the peer's) only once both
// blocks have read it. Cluster barriers after the set-up and before exit.
//
// With weight multicast (the wide variant's wide_multicast = 2) the blocks
// of a pair take one row block and two token tiles of one expert. Producer
// thread 0 of rank r issues the weight copies of units r, r + 2, … of each
// stage as multicast bulk copies into both blocks' slots, completing on
// both full barriers (each armed with the whole stage's bytes); each
// producer gathers its own tile's rows. Consumers release a slot on the
// empty barriers of both blocks (one arrival per warp). Where an expert's
// last group has one tile, its first block works alone (every unit's copies
// into its own ring, each warp's release counting for both blocks) and the
// second leaves at once: no copy or arrival crosses the pair.
//
// Packed rows (wide_packed = 1: the wide variant's, or without one the
// persistent grid's of the large calls): a pack kernel wrote the
// token tiles' rows in the ring's layout, so producer thread 0 alone issues
// a stage's rows with one bulk copy into its slot, or in a cluster one
// multicast bulk copy of its share of the column blocks into both blocks'
// slots; the full barrier's byte count covers all of them.
//
// The persistent variant (a tile with persistent = 1) launches one block per
// SM; both roles walk the block's tiles g, g + G, … and the k tiles of all
// of them are consecutive uses of one ring, so the producer fills the next
// tile's stages while the consumers finish the current one. Its producer
// threads load their copies' source rows once per tile into registers, and
// the SiLU·up exchange gets its own shared memory.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_WGMMASPEMITTER_H
#define SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_WGMMASPEMITTER_H

#include "WgmmaSpLayout.h"

namespace mlir::samoyeds::detail {

class WgmmaSpEmitter : public EmitterBase, private SSMMArgs {
public:
  WgmmaSpEmitter(ImplicitLocOpBuilder &b, const SSMMPlan &p)
      : EmitterBase(b), p(p), layout(p) {}

  void emit(gpu::GPUFuncOp func);

private:
  // WgmmaSpKernel.cpp (the producer's copies: WgmmaSpProducer.cpp)
  /// Sets the thread's warpgroup, warp, lane and their parts from `tid`.
  void bindThreads(Value tid);
  void setUpSharedMemory();
  /// Thread 0 initialises every slot's barriers; the block (the cluster)
  /// meets after it.
  void initBarriers(Value tid);
  /// The ordinary grid's block: row block and token tile from `blockX` and
  /// `tileY`, the roles over the tile where it has tokens, and the waits
  /// and the fused combine of a block without one.
  void emitGridTile(Value tid, Value blockX, Value tileY);
  /// The producer's and the consumers' work on the ordinary grid's tile.
  void emitGridRoles(Value tid);
  /// Splits the block into the producer warpgroup, which lowers its
  /// registers, takes the weight addresses, runs `produce` and waits for its
  /// copies, and the consumers, which raise their registers and run
  /// `consume`.
  void emitRoles(function_ref<void()> produce, function_ref<void()> consume);
  /// Sets the global addresses (valuesAddr, …) of the packed weight's
  /// components, which the bulk copies take.
  void takeWeightAddresses();
  /// The persistent grid: block `g` takes tiles g, g + G, … (token tile ×
  /// row blocks + row block) through one continuous ring.
  void emitPersistent(Value g);
  /// Weight multicast: this rank's token tile of the group `group` (start,
  /// tokenTile, solo).
  void takeRankTile(const TokenTile &group);
  /// The producer's K loop over the current tile, whose k tiles are ring
  /// uses base, base + 1, …; the weights of the first `early` were issued
  /// before the wait.
  void produceTile(Value base, int64_t early = 0);
  /// With SSMMPlan::weightsBeforeWait: thread 0 issues the weight copies of
  /// the ring's first uses, then the producer waits for the grids in
  /// flight; returns how many uses' weights it issued (0 without).
  int64_t issueWeightsBeforeWait();
  /// griddepcontrol.wait (the grids before this one have finished and their
  /// writes are visible), then griddepcontrol.launch_dependents.
  void waitForGrids();
  /// With SSMMPlan::prefetchBeforeWait: thread 0 prefetches into the L2 the
  /// ring's first k tiles of weights of expert `tokenTile` (when the grid
  /// has a row for every expert), then the block waits for the grids.
  void prefetchBeforeWait(Value tid);
  /// The routed slots per expert from which a block prefetches: H200
  /// (bench/RESULTS.md S30) 1.02-1.03x at 4-8 slots an expert (OLMoE,
  /// DeepSeek-V2-Lite), 0.93-0.97x at 1-3 (Qwen3-235B, DeepSeek-V2), where
  /// a third of the experts have none.
  static constexpr int64_t kPrefetchSlotsPerExpert = 4;
  /// The ordinary grid's activation copies: each thread's guard, shared
  /// destination and global source, computed once for the block's tile.
  void makeCopySlots(Value producerThread);
  /// The persistent grid: loads the source rows of the current tile's
  /// activation copies this producer thread makes (tileRows), once per tile.
  void loadTileRows();
  /// Gathers k tile `kt`'s activation rows into ring slot `slot` through the
  /// copy slots (ordinary grid) or the tile's rows (persistent grid).
  void gatherThroughCopySlots(Value kt, Value slot);
  void gatherThroughTileRows(Value kt, Value slot, Value producerThread);
  /// The elements a chunk's copy of k tile `kt` reads at column
  /// `colInTile` of the tile (8, or where K is padded 0 past it: the copy
  /// zero-fills) and its source element `src`, kept inside the row past K.
  std::pair<Value, Value> chunkSource(Value src, Value kt, Value colInTile);

  // WgmmaSpSliceGather.cpp
  /// SSMMPlan::inputSplits, every thread of the block (`tid`): thread 0
  /// issues the weights of every k tile of the block (one ring slot each),
  /// the block waits for the grids in flight (weightsBeforeWait), sums the
  /// input's split-K slices of its token rows (the producer's epilogue
  /// applied) into the B slots, fences them for the async proxy and
  /// synchronises.
  void fillRingWithSums(Value tid);
  /// The producer threads' arrivals on the full barriers of the slots
  /// fillRingWithSums filled.
  void arriveOnFilledRing();
  /// Issues the copies of k tile `kt` into ring slot `slot`; its weights
  /// (thread 0) only where `weights` holds (always when null).
  void issueStage(Value kt, Value slot, Value producerThread,
                  Value weights = Value());
  /// Thread 0: arms the full barrier of `slot` with the stage's bytes and
  /// issues the bulk copies of k tile `kt`'s weight blocks, metadata and
  /// (row selection) row choices.
  void issueWeights(Value kt, Value slot);
  /// The copies of issueWeights, completing on `mbar`, under `policy`
  /// (none where null): evict_first in the calls SSMMPlan::evictFirstRows
  /// names.
  void issueWeightCopies(Value kt, Value slot, Value mbar, Value policy);
  /// The copies of issueWeightCopies for unit `u` (index), with a
  /// `multicast` mask (0: this block alone).
  void issueUnitCopies(Value kt, Value slot, Value u, Value mbar,
                       int64_t multicast, Value policy);
  /// The weight tile (64 kept rows) of unit `u` of expert `e`.
  Value weightTile(Value e, Value u);
  /// The `wgmma` layout of weight tile `tile` at k tile `kt`: its values
  /// block and its first metadata K step (a tile's consecutive k tiles are
  /// contiguous in both).
  Value valuesBlock(Value tile, Value kt);
  Value metaStep(Value tile, Value kt);
  /// Bulk-copies `bytes` from global address `src` to shared address `dst`
  /// (i64), completing on the mbarrier at `mbar`; with a `multicast` mask
  /// to that offset and barrier in each block of the mask; with `policy`
  /// (an L2 cache policy) under that policy.
  void bulkCopy(Value dst, Value src, int64_t bytes, Value mbar,
                int64_t multicast = 0, Value policy = Value());
  void bulkCopy(Value dst, Value src, Value bytes, Value mbar,
                int64_t multicast = 0, Value policy = Value());
  /// The 64-bit L2 cache policy that gives every line it covers the
  /// evict_first priority (createpolicy.fractional, fraction 1).
  Value evictFirstPolicy();
  /// The bytes the bulk copies of one stage bring (the full barrier's tx
  /// count): WgmmaSpLayout::stageTxBytes, with token steps only the packed
  /// rows the tile's MMAs read.
  Value stageTxBytes();
  /// Packed rows (thread 0): bulk-copies k tile `kt`'s rows of the token
  /// tile from the packed workspace into ring slot `slot` (in a cluster
  /// this block's share of the stage's column blocks, to both blocks).
  void issuePackedRows(Value kt, Value slot);
  /// The 64-row tile, within the expert's kept rows, of unit `u`.
  Value unitTile(Value u);
  /// The tile within its half of the unit `r` of a half of this row block:
  /// rowBlock · unitsPerHalf + r, at most the half's last tile (unit
  /// tails, WgmmaSpLayout::hasUnitTails).
  Value tileInHalf(Value r);
  /// The 128B-swizzle K-major matrix descriptor of the tile at shared
  /// address `addr` (i64).
  Value descriptor(Value addr);
  /// Barrier `index` of the group: full barriers are 0..stages-1, empty
  /// barriers stages..2·stages-1.
  Value fullBarrier(Value slot) { return slot; }
  Value emptyBarrier(Value slot) { return add(slot, idx(layout.stages)); }
  /// In a cluster: the barrier of the block's own gathers into `slot`.
  Value ownBarrier(Value slot) { return add(slot, idx(2 * layout.stages)); }
  /// In a cluster: waits for this block's gathers of ring use `use`, then
  /// bulk-copies its token rows of every column block into the peer's slot,
  /// completing on the peer's full barrier (producer thread 0).
  void forwardToPeer(Value use);
  /// The address in the peer block of shared pointer `ptr` (ptr<3>), as a
  /// shared::cluster pointer (ptr<7>).
  Value peerPointer(Value ptr);
  /// A barrier of all threads of the cluster (release, then acquire).
  void clusterBarrier();
  /// Waits for the phase of barrier `id` that use `use` (index) of its slot
  /// completes.
  void waitBarrier(Value id, Value use);
  /// The shared address (ptr<3>) of barrier `id`.
  Value barrierPointer(Value id);
  /// An LLVM pointer in address space `space` from an integer address.
  Value intToPtr(Value address, unsigned space) {
    return LLVM::IntToPtrOp::create(
        b, LLVM::LLVMPointerType::get(b.getContext(), space), address,
        LLVM::DereferenceableAttr());
  }
  Value toI64(Value index) {
    return arith::IndexCastOp::create(b, b.getI64Type(), index);
  }
  int64_t kTiles() const { return p.kTilesPerSplit(); }

  // WgmmaSpMainLoop.cpp (masked rows: WgmmaSpMaskedRows.cpp)
  /// The consumer warpgroup's K loop over the current tile, whose k tiles
  /// are ring uses base, base + 1, …; returns the output accumulator sets
  /// (one, or the m group rows with row selection) of `tokens` columns of
  /// each of its units, unit after unit.
  /// With token steps, the loop of the tile's MMA width (mmaRows).
  SmallVector<Value> emitConsumer(Value base);
  /// The K loop with MMAs of mmaTokens columns; sets of mmaTokens / 2
  /// values.
  SmallVector<Value> emitConsumerLoop(Value base);
  /// The token rows the current tile's MMAs read (index): its tokens
  /// rounded up to SSMMPlan::tokenStep, at most `tokens`; `tokens` without
  /// token steps.
  Value mmaRows();
  /// The stage's descriptors and metadata words, loaded before the fence.
  struct StageOperands {
    SmallVector<Value> descA, descB, metas;
  };
  StageOperands loadStage(Value slot);
  /// loadStage for each of the consumer's units.
  SmallVector<StageOperands> loadUnits(Value slot);
  /// Issues the MMAs of K steps [first, last) of the stage into the first
  /// set (the accumulator, or the running sum) of each of the consumer's
  /// units (`ops`: its operands per unit) and commits them as one group;
  /// each unit's first restarts the accumulation (scale-d false) where
  /// `restart` holds. With `half` >= 0 (routesByHalves) the MMAs are those
  /// of that token half, N / 2 columns, into its running sums.
  void multiply(MutableArrayRef<Value> sets, int64_t first, int64_t last,
                Value restart, ArrayRef<StageOperands> ops, int64_t half = -1);
  /// Waits until at most `pending` MMA groups are in flight; `accs` are
  /// ordered after the wait.
  SmallVector<Value> waitMma(ValueRange accs, int64_t pending);
  /// Waits for every MMA in flight; the first set of each unit is ordered
  /// after the wait (one wait for all of them).
  void waitUnits(MutableArrayRef<Value> sets);
  /// Routed row selection: the group-row sums (sets 1 … m - 1) of unit `j`.
  MutableArrayRef<Value> groupRows(MutableArrayRef<Value> sets, int64_t j);
  /// Arrives on the empty barrier of `slot`: this warpgroup's MMAs that read
  /// it are done.
  void releaseSlot(Value slot);
  /// In a cluster (weight multicast, cluster pairs): releaseSlot with one
  /// arrival per consumer warp on the empty barrier of each block of the
  /// pair.
  void releaseSharedSlot(Value slot);
  /// One stage (k tile i, ring use `use`) without row selection; its MMAs
  /// stay in flight until the next stage's data is there.
  void consumePlain(Value i, Value use, SmallVectorImpl<Value> &sets);
  /// One stage (k tile i, ring use `use`) of routed row selection: the
  /// kept rows' MMAs into the running sum, which stays in flight until the
  /// next stage's data is there; every span that ends is routed once the
  /// sum is complete through it. Stage 0 (`first`) routes nothing.
  void consumeRouted(Value i, Value use, bool first,
                     SmallVectorImpl<Value> &sets);
  /// Where the row choices of one span are: ring slot and span entry.
  struct ChoiceAt {
    Value slot;
    int64_t entry;
  };
  /// Adds the routing term of span `span` to the group-row sums `rows`
  /// (rows 1 … m - 1): (δ(c = j) − δ(c' = j)) · `total` for row j, c the
  /// group row the span chose for the thread's kept row and c' the one the
  /// next span of the K range (`next`; none after the last) chose; only
  /// where `when` holds at run time, if given.
  void routeSpan(Value total, ChoiceAt span, std::optional<ChoiceAt> next,
                 MutableArrayRef<Value> rows, Value when = Value());
  /// The group row (i32) span `at` chose for the thread's kept row `half8`
  /// (0: lane / 4, 1: lane / 4 + 8 of its warp's 16).
  Value loadChoice(ChoiceAt at, int64_t half8);
  /// After the K loop: the last span routed and the group rows' sums, the
  /// first being the running sum less the others.
  SmallVector<Value> finishRouted(Value base, ArrayRef<Value> sets);
  // WgmmaSpSpanHalves.cpp (SSMMPlan::spanHalves)
  /// Whether the K loop being built routes its spans by token halves: the
  /// plan asks for it and the MMA width splits into two of whole swizzle
  /// atoms.
  bool routesByHalves() const {
    return p.spanHalves && mmaTokens % (2 * Wgmma::kChunksPerRow) == 0;
  }
  /// Set `s` of token half `h` of the consumer's unit `j` in the loop of
  /// routesByHalves, where each half of a unit's sets is laid out as a
  /// unit's.
  Value &halfSet(MutableArrayRef<Value> sets, int64_t j, int64_t h, int64_t s) {
    return unitSet(sets, 2 * j + h, s);
  }
  /// Waits until at most `pending` MMA groups are in flight; the running
  /// sums of `halves` of every unit are ordered after the wait.
  void waitHalves(MutableArrayRef<Value> sets, int64_t pending,
                  ArrayRef<int64_t> halves);
  /// routeSpan for token half `h` of every unit.
  void routeHalf(MutableArrayRef<Value> sets, int64_t h, ChoiceAt at,
                 std::optional<ChoiceAt> next, Value when = Value());
  /// consumeRouted by token halves.
  void consumeRoutedHalves(Value i, Value use, bool first,
                           SmallVectorImpl<Value> &sets);
  /// finishRouted by token halves; returns whole sets, unit after unit.
  SmallVector<Value> finishRoutedHalves(Value base, ArrayRef<Value> sets);

  /// One stage (k tile i, ring use `use`) of masked row selection: the
  /// MMAs of the unit's m group-row tiles, A from registers; they stay in
  /// flight until the next stage's data is there.
  void consumeMasked(Value i, Value use, SmallVectorImpl<Value> &sets);
  /// Masked row selection: the stage's B descriptors and, per group-row
  /// tile q and K step ks (index q · steps + ks), the thread's A registers
  /// (its kept row's values where the span chose the row, else zero) and
  /// metadata word.
  struct MaskedOperands {
    SmallVector<Value> descB, a, metas;
  };
  MaskedOperands loadMaskedStage(Value slot);
  /// Where a consumer's share of a ring slot is (its unit's weight block
  /// and metadata as word indices, its row choices as a byte index) and the
  /// group members of the thread's two rows (i32).
  struct MaskedStage {
    Value aWords, metaWords, choices, members[2];
  };
  /// Appends group-row tile `q`'s A registers and metadata words of every K
  /// step of `stage` to `ops`.
  void loadMaskedTile(int64_t q, const MaskedStage &stage, MaskedOperands &ops);
  /// The unit-local kept row of the group of the thread's rows in group-row
  /// tile `q` (rows 16 · warp + 2 · group + {0, 1} of the tile's 64).
  Value maskedKeptRow(int64_t q);

  // WgmmaSpEpilogue.cpp
  void emitEpilogue(ArrayRef<Value> rows);
  /// Synchronises the consumer warpgroups (named barrier 1).
  void consumerBarrier();
  /// An expert bias's values for the current unit's rows in `half` (0, or 1
  /// for the up half of silu_mul), two per set (value i takes entry
  /// 2 · set + (i % 4) / 2; zeros past the split variant's slice 0); none
  /// without a bias.
  SmallVector<Value> unitBiases(Value half);
  /// `value` (set j, value i) plus its bias entry.
  Value withBias(Value value, ArrayRef<Value> biases, int64_t j, int64_t i);
  /// The hardware barrier of the consumer warpgroups (0 is the block's).
  static constexpr int64_t kConsumerBarrier = 1;
  /// Writes value `i` of the thread's accumulators for group rows `j`, j +
  /// 1, … (row selection; one vector store when several) to the output or
  /// split-K workspace.
  void storeValues(ArrayRef<Value> values, int64_t j, int64_t i);
  /// The output row, within its half, of value `i` for group row `j`.
  Value outputRow(int64_t j, int64_t i);
  /// The block-local token of value `i`.
  Value valueToken(int64_t i);

  const SSMMPlan &p;
  const WgmmaSpLayout layout;
  /// The N of the MMAs being emitted: `tokens`, or with token steps the
  /// width of the K loop emitConsumer is building.
  int64_t mmaTokens = 0;
  /// Shared memory: the aligned base address (i64), typed views for the B
  /// ring, metadata ring, exchange, (masked row selection) the A ring as
  /// words, (row selection) the row choices, and the mbarrier group.
  Value base, sB, sMeta, sExchange, sA, sChoice, barriers;
  /// Thread coordinates: warpgroup, thread within it, warp within the
  /// warpgroup, lane, lane / 4, lane % 4; the consumer warpgroup's index
  /// among the consumers and the unit being emitted (useUnit); the block's
  /// row block and K slice (first k tile kBegin).
  Value warpgroup, wgThread, warp, lane, group, quad, consumer, unit, rowBlock,
      slice, kBegin;
  /// The consumer's units (SSMMPlan::unitsPerWarpgroup): consumer + j ·
  /// consumers.
  SmallVector<Value> consumerUnits;
  /// Makes the consumer's unit `j` the one whose ring slots, row choices
  /// and output rows the emitted code addresses.
  void useUnit(int64_t j) { unit = consumerUnits[j]; }
  /// The consumer's sets of all its units: unit j's set s is set
  /// j · layout.sets + s.
  Value &unitSet(MutableArrayRef<Value> sets, int64_t j, int64_t s) {
    return sets[j * layout.sets + s];
  }
  /// In a cluster: the block's rank in it and its peer's (i32).
  Value rank, peerRank;
  /// Weight multicast: whether the block's group has one token tile (i1),
  /// which its first block then multiplies alone while the second leaves.
  Value solo;
  /// The block's token tile: expert, first slot, tokens in it.
  Value expert, start, count;
  /// Global addresses (i64) of the packed values, metadata, (row
  /// selection) row choices and (packed rows) the input workspace.
  Value valuesAddr, metaAddr, rowIdxAddr, inputAddr;
  /// The ordinary grid's token tile (index).
  Value tokenTile;
  /// Per activation copy of the ordinary grid: guard (a row of the tile's
  /// tokens), destination element within a B stage, source element and
  /// column of k tile 0.
  struct CopySlot {
    Value guard, dst, src, col;
  };
  SmallVector<CopySlot> copies;
  /// The persistent producer thread's source rows of the current tile
  /// (i32), one per pass of its copies.
  SmallVector<Value> tileRows;
  /// The tile rows the persistent producer's threads copy in one pass.
  static constexpr int64_t kRowsPerPass =
      Wgmma::kThreads / Wgmma::kChunksPerRow;
};

} // namespace mlir::samoyeds::detail

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_WGMMASPEMITTER_H
