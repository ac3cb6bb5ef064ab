//===- WgmmaSpMainLoop.cpp - The consumers' K loop and span routing -------===//
//
// A consumer warpgroup waits for each ring slot, loads its metadata words and
// computes the descriptors of the stage's K steps before the wgmma fence (so
// the MMAs of a group issue back to back: ptxas serialises wgmma when other
// instructions write accumulator registers inside a group), and releases the
// slot once the MMAs that read it are done.
//
// Stage i's MMAs run while the thread waits for stage i + 1's data; they are
// waited for before stage i + 1's metadata words are loaded (an MMA in flight
// reads its metadata register), and stage i's slot is released then.
//
// Routed row selection (n = 1 < m, row_masks = 0): the kept rows' MMAs
// accumulate every span into one running sum P. Where span s ends and P is
// complete through it, the sum R_j of each group row j > 0 takes
// (δ(c(s) = j) − δ(c(s + 1) = j)) · P, with c(s) the group row span s chose
// for the thread's kept row (from the row choices that ride with the stage)
// and no c(s + 1) after the K range's last span. Summed over s this is
// Σ_s δ(c(s) = j) (P(s) − P(s − 1)), the sums of the spans that chose j;
// group row 0 is P less the R_j. Routing is one fused multiply-add per value
// and group row past the first where a span ends, and P needs no restart.
// Masked row selection (WgmmaSpMaskedRows.cpp) multiplies the unit's group
// rows instead.
//
// Token steps (SSMMPlan::tokenStep): the K loop is built once per MMA width
// N = step, 2 · step, …, tokens, and a block runs the one of its tile's
// tokens rounded up to the step; its sets are widened to `tokens` columns,
// whose values past N are never stored (a column depends on its own token
// alone). Each loop is the one a variant of N tokens would run, so ptxas
// sees one whole wgmma pipeline per loop.
//
//===----------------------------------------------------------------------===//

#include "WgmmaSpEmitter.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

WgmmaSpEmitter::StageOperands WgmmaSpEmitter::loadStage(Value slot) {
  int64_t steps = p.kTile / 32;
  Value ring = add(mul(slot, idx(layout.units)), unit);
  Value aBase = descriptor(
      arith::AddIOp::create(b, base, toI64(mul(ring, idx(layout.aStage)))));
  Value bBase = descriptor(arith::AddIOp::create(
      b, base, toI64(add(idx(layout.bRing), mul(slot, idx(layout.bStage))))));
  // The thread's metadata word of each K step: [step][warp][2 · group + h],
  // h = lane % 2 (selector 0: lanes 0 and 1 of each quad supply it).
  Value metaBase =
      add(add(mul(ring, idx(layout.metaStage / 4)), mul(warp, idx(16))),
          add(mul(group, idx(2)), rem(quad, idx(2))));
  auto offset = [&](Value desc, int64_t bytes) -> Value {
    return arith::AddIOp::create(b, desc, i64c(bytes >> 4));
  };
  StageOperands ops;
  for (int64_t ks = 0; ks < steps; ++ks) {
    ops.metas.push_back(load(sMeta, add(metaBase, idx(ks * 64))));
    // A: block ks / 4, 32 bytes per step inside its 128-byte rows. B: column
    // block ks / 2 of `tokens` rows, 64 bytes per step inside its rows.
    ops.descA.push_back(
        offset(aBase, ks / Wgmma::kStepsPerBlock * Wgmma::kBlockBytes +
                          ks % Wgmma::kStepsPerBlock * 32));
    ops.descB.push_back(offset(bBase, ks / 2 * p.tokens * 128 + ks % 2 * 64));
  }
  return ops;
}

SmallVector<WgmmaSpEmitter::StageOperands>
WgmmaSpEmitter::loadUnits(Value slot) {
  SmallVector<StageOperands> ops;
  for (int64_t j = 0; j < p.unitsPerWarpgroup; ++j) {
    useUnit(j);
    ops.push_back(loadStage(slot));
  }
  return ops;
}

void WgmmaSpEmitter::multiply(MutableArrayRef<Value> sets, int64_t first,
                              int64_t last, Value restart,
                              ArrayRef<StageOperands> ops, int64_t half) {
  // Scale-d: false restarts the accumulation (only each unit's first MMA).
  Value yes = i1c(true);
  Value firstScale =
      restart ? arith::XOrIOp::create(b, restart, yes).getResult() : yes;
  // A token half's MMAs are N / 2 wide; its token rows start h · N / 2
  // rows (of 128 bytes) into each column block of the B slot: whole 8-row
  // swizzle atoms.
  int64_t n = half < 0 ? mmaTokens : mmaTokens / 2;
  int64_t rowsBytes = half < 0 ? 0 : half * n * Wgmma::kBRowBytes;
  NVVM::WgmmaFenceAlignedOp::create(b);
  for (auto [j, unitOps] : llvm::enumerate(ops)) {
    Value &acc = half < 0 ? unitSet(sets, j, 0) : halfSet(sets, j, half, 0);
    for (int64_t ks = first; ks < last; ++ks) {
      Value scale = ks == first ? firstScale : yes;
      Value descB = unitOps.descB[ks];
      if (rowsBytes > 0)
        descB = arith::AddIOp::create(b, descB, i64c(rowsBytes >> 4));
      acc = samoyeds_nvgpu::WgmmaSpOp::create(
          b, acc.getType(), acc, unitOps.descA[ks], descB, unitOps.metas[ks],
          scale, b.getI64IntegerAttr(n), TypeAttr::get(p.elt),
          b.getI64IntegerAttr(0));
    }
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
}

SmallVector<Value> WgmmaSpEmitter::waitMma(ValueRange accs, int64_t pending) {
  auto wait = samoyeds_nvgpu::WgmmaWaitOp::create(b, accs.getTypes(), accs,
                                                  b.getI64IntegerAttr(pending));
  return SmallVector<Value>(wait.getResults());
}

void WgmmaSpEmitter::waitUnits(MutableArrayRef<Value> sets) {
  SmallVector<Value> accs;
  for (int64_t j = 0; j < p.unitsPerWarpgroup; ++j)
    accs.push_back(unitSet(sets, j, 0));
  for (auto [j, done] : llvm::enumerate(waitMma(accs, 0)))
    unitSet(sets, j, 0) = done;
}

MutableArrayRef<Value> WgmmaSpEmitter::groupRows(MutableArrayRef<Value> sets,
                                                 int64_t j) {
  return sets.slice(j * layout.sets + 1, layout.sets - 1);
}

void WgmmaSpEmitter::releaseSlot(Value slot) {
  if (p.clusterBlocks() > 1)
    return releaseSharedSlot(slot);
  nvgpu::MBarrierArriveOp::create(b,
                                  nvgpu::MBarrierTokenType::get(b.getContext()),
                                  barriers, emptyBarrier(slot));
}

void WgmmaSpEmitter::releaseSharedSlot(Value slot) {
  // In a cluster the peer's producer writes into this block's slot too (its
  // share of the weights with multicast, its half of the token rows with
  // cluster pairs): it refills only after both blocks have read it.
  // A warpgroup's MMAs are done for all its threads once one has waited for
  // them (each is one operation of the warpgroup), but routed row selection
  // reads the slot's row choices with ordinary loads after the wait: the
  // warp's lanes meet (bar.warp.sync orders their loads before lane 0's
  // release), then lane 0 arrives on this block's empty barrier and on the
  // peer's. The remote arrival releases at CTA scope, as CUTLASS's
  // ClusterBarrier::arrive: cluster scope made ptxas put a GPU-wide MEMBAR
  // before every release (S46).
  // A multicast block working alone (`solo`) arrives for both.
  NVVM::SyncWarpOp::create(b, i32c(-1));
  ifThen(cmp(arith::CmpIPredicate::eq, lane, idx(0)), [&] {
    Value empty = barrierPointer(emptyBarrier(slot));
    NVVM::MBarrierArriveOp::create(b, b.getI64Type(), empty,
                                   solo ? select(solo, i32c(2), i32c(1))
                                        : i32c(1),
                                   NVVM::MemScopeKind::CTA, /*relaxed=*/false);
    auto remote = [&] {
      NVVM::MBarrierArriveOp::create(b, Type(), peerPointer(empty), Value(),
                                     NVVM::MemScopeKind::CTA,
                                     /*relaxed=*/false);
    };
    if (!solo)
      return remote();
    ifThen(arith::XOrIOp::create(b, solo, i1c(true)), remote);
  });
}

void WgmmaSpEmitter::consumePlain(Value i, Value use,
                                  SmallVectorImpl<Value> &sets) {
  // Stage i - 1's MMAs ran while this thread waited for stage i's data; they
  // must be done before its metadata registers take stage i's words (an MMA
  // in flight reads them), and then its slot is free.
  waitUnits(sets);
  ifThen(cmp(arith::CmpIPredicate::ugt, i, idx(0)), [&] {
    releaseSlot(rem(add(use, idx(layout.stages - 1)), idx(layout.stages)));
  });
  SmallVector<StageOperands> ops = loadUnits(rem(use, idx(layout.stages)));
  // The first MMA starts the sum: no register write precedes it.
  Value first = cmp(arith::CmpIPredicate::eq, i, idx(0));
  multiply(sets, 0, p.kTile / 32, first, ops);
}

Value WgmmaSpEmitter::loadChoice(ChoiceAt at, int64_t half8) {
  Value ring = add(mul(at.slot, idx(layout.units)), unit);
  Value row = add(mul(warp, idx(16)), add(group, idx(8 * half8)));
  Value byte =
      add(mul(ring, idx(layout.choiceStage)),
          add(idx(at.entry * TileConfigAttr::kWgmmaRowChoiceBytes), row));
  return arith::ExtUIOp::create(b, b.getI32Type(), load(sChoice, byte));
}

void WgmmaSpEmitter::routeSpan(Value total, ChoiceAt span,
                               std::optional<ChoiceAt> next,
                               MutableArrayRef<Value> rows, Value when) {
  if (when) {
    auto ifOp = scf::IfOp::create(b, ValueRange(rows).getTypes(), when,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    SmallVector<Value> routed(rows.begin(), rows.end());
    routeSpan(total, span, next, routed);
    scf::YieldOp::create(b, routed);
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, ValueRange(rows));
    llvm::copy(ifOp.getResults(), rows.begin());
    return;
  }
  // Values 4j, 4j + 1 are the thread's first kept row, 4j + 2, 4j + 3 its
  // second (8 rows below).
  int64_t regs = cast<VectorType>(total.getType()).getNumElements();
  auto maskType = VectorType::get({regs}, b.getI1Type());
  auto accType = VectorType::get({regs}, b.getF32Type());
  SmallVector<bool> firstRow;
  for (int64_t i = 0; i < regs; ++i)
    firstRow.push_back(i % 4 < 2);
  Value pattern =
      constant(DenseElementsAttr::get(maskType, ArrayRef<bool>(firstRow)));
  Value one = f32c(1.0), zero = f32c(0.0);
  Value chosen[2], following[2];
  for (int64_t h = 0; h < 2; ++h) {
    chosen[h] = loadChoice(span, h);
    if (next)
      following[h] = loadChoice(*next, h);
  }
  for (int64_t j = 1; j < p.m; ++j) {
    Value factor[2];
    for (int64_t h = 0; h < 2; ++h) {
      factor[h] =
          select(cmp(arith::CmpIPredicate::eq, chosen[h], i32c(j)), one, zero);
      if (next)
        factor[h] = arith::SubFOp::create(
            b, factor[h],
            select(cmp(arith::CmpIPredicate::eq, following[h], i32c(j)), one,
                   zero));
    }
    Value factors = arith::SelectOp::create(
        b, pattern, vector::BroadcastOp::create(b, accType, factor[0]),
        vector::BroadcastOp::create(b, accType, factor[1]));
    rows[j - 1] = LLVM::FMAOp::create(b, total, factors, rows[j - 1]);
  }
}

void WgmmaSpEmitter::consumeRouted(Value i, Value use, bool first,
                                   SmallVectorImpl<Value> &sets) {
  if (routesByHalves())
    return consumeRoutedHalves(i, use, first, sets);
  // Each unit's sets: [running sum, group rows 1 … m - 1].
  Value slot = rem(use, idx(layout.stages));
  int64_t spansPerSlot = WgmmaSpLayout::choiceSpans(p);
  // Routes span `at` (and its successor `next`) of every unit.
  auto routeUnits = [&](ChoiceAt at, ChoiceAt next, Value when) {
    for (int64_t j = 0; j < p.unitsPerWarpgroup; ++j) {
      useUnit(j);
      routeSpan(unitSet(sets, j, 0), at, next, groupRows(sets, j), when);
    }
  };
  if (!first) {
    // Stage i - 1's MMAs are done: the sum is complete through its last
    // span, whose successor's choices arrived with this stage.
    waitUnits(sets);
    Value previous = rem(add(use, idx(layout.stages - 1)), idx(layout.stages));
    ChoiceAt last{previous, spansPerSlot - 1}, following{slot, 0};
    // A span of several stages ends where the next k tile starts one.
    Value ends = p.v <= p.kTile ? Value()
                                : cmp(arith::CmpIPredicate::eq,
                                      rem(i, idx(p.v / p.kTile)), idx(0));
    routeUnits(last, following, ends);
    releaseSlot(previous);
  }
  SmallVector<StageOperands> ops = loadUnits(slot);
  // Spans shorter than the stage: each span's MMAs, then its routing once
  // they are done.
  int64_t perGroup = std::min(p.v, p.kTile) / 32;
  for (int64_t g = 0; g < p.kTile / 32 / perGroup; ++g) {
    if (g > 0) {
      waitUnits(sets);
      routeUnits(ChoiceAt{slot, g - 1}, ChoiceAt{slot, g}, Value());
    }
    // The first MMA of the K range restarts the sum (constant scale-d).
    Value restart = first && g == 0 ? i1c(true) : Value();
    multiply(sets, g * perGroup, (g + 1) * perGroup, restart, ops);
  }
}

SmallVector<Value> WgmmaSpEmitter::finishRouted(Value base,
                                                ArrayRef<Value> sets) {
  if (routesByHalves())
    return finishRoutedHalves(base, sets);
  SmallVector<Value> rows(sets.begin(), sets.end());
  waitUnits(rows);
  // The K range ends where a span does: its last span has no successor.
  Value slot = rem(add(base, idx(kTiles() - 1)), idx(layout.stages));
  for (int64_t u = 0; u < p.unitsPerWarpgroup; ++u) {
    useUnit(u);
    routeSpan(unitSet(rows, u, 0),
              ChoiceAt{slot, WgmmaSpLayout::choiceSpans(p) - 1}, std::nullopt,
              groupRows(rows, u));
  }
  if (p.persistent > 0)
    releaseSlot(slot);
  for (int64_t u = 0; u < p.unitsPerWarpgroup; ++u)
    for (int64_t j = 1; j < p.m; ++j)
      unitSet(rows, u, 0) =
          arith::SubFOp::create(b, unitSet(rows, u, 0), unitSet(rows, u, j));
  return rows;
}

Value WgmmaSpEmitter::mmaRows() {
  return stepRows(count, p.tokens, p.tokenStep);
}

SmallVector<Value> WgmmaSpEmitter::emitConsumer(Value base) {
  if (p.tokenStep == 0) {
    mmaTokens = p.tokens;
    return emitConsumerLoop(base);
  }
  // Case c runs N = (c + 1) · step; the default the variant's tokens.
  int64_t cases = llvm::divideCeil(p.tokens, p.tokenStep) - 1;
  Value which = div(sub(count, idx(1)), idx(p.tokenStep));
  auto full = VectorType::get({WgmmaSpLayout::regs(p)}, b.getF32Type());
  SmallVector<Type> types(p.unitsPerWarpgroup * layout.sets, full);
  auto cased = scf::IndexSwitchOp::create(
      b, types, which, llvm::to_vector(llvm::seq<int64_t>(0, cases)), cases);
  auto build = [&](Region &region, int64_t n) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&region.emplaceBlock());
    mmaTokens = n;
    SmallVector<Value> sets = emitConsumerLoop(base);
    // The first n / 2 values, then poison.
    SmallVector<int64_t> widen(full.getNumElements(),
                               vector::ShuffleOp::kPoisonIndex);
    for (int64_t i = 0; i < n / 2; ++i)
      widen[i] = i;
    for (Value &set : sets)
      if (n < p.tokens)
        set = vector::ShuffleOp::create(b, set, set, widen);
    scf::YieldOp::create(b, sets);
  };
  for (int64_t c = 0; c < cases; ++c)
    build(cased.getCaseRegions()[c], (c + 1) * p.tokenStep);
  build(cased.getDefaultRegion(), p.tokens);
  mmaTokens = p.tokens;
  return SmallVector<Value>(cased.getResults());
}

SmallVector<Value> WgmmaSpEmitter::emitConsumerLoop(Value base) {
  // Routed by token halves: each unit's sets as two halves.
  int64_t halves = routesByHalves() ? 2 : 1;
  auto accType = VectorType::get({mmaTokens / 2 / halves}, b.getF32Type());
  Value zero = f32Splat(accType.getNumElements(), 0.0);
  // Sets an MMA restarts before anything reads them start undefined (no
  // instruction writes their registers between the wgmma fence and the
  // MMA): the accumulator, the running sum of routed row selection, the
  // masked sets.
  Value undef = LLVM::PoisonOp::create(b, accType);
  assert((!p.masked || p.unitsPerWarpgroup == 1) &&
         "masked row selection multiplies one unit per warpgroup");
  SmallVector<Value> init(halves * p.unitsPerWarpgroup * layout.sets, zero);
  for (int64_t j = 0; j < halves * p.unitsPerWarpgroup; ++j)
    for (int64_t s = 0; s < layout.sets; ++s)
      if (p.masked || s == 0)
        unitSet(init, j, s) = undef;
  // Without row selection and above 64 tokens the first k tile is peeled:
  // its MMAs restart the undefined accumulator with a constant scale-d, and
  // the loop's accumulators are always an MMA's results. Left in the loop,
  // which LLVM peels itself only up to 72 tokens, ptxas 12.8 serialises
  // every wgmma of the kernel (C7515; test/Pipelines/wgmma-sp.mlir). The
  // smaller tiles of one unit keep the code LLVM peels (measured on the
  // H200); unit pairs, whose loop bodies LLVM does not peel at any width,
  // peel it here too (test/Pipelines/wgmma-sp-persistent-tokens.mlir). Row
  // selection always peels it (the sets restart there, and routing starts
  // with the second stage).
  int64_t first =
      p.rowSelect || mmaTokens > 64 || p.unitsPerWarpgroup > 1 ? 1 : 0;
  // One k tile: wait for its slot, then multiply.
  auto stage = [&](Value i, ValueRange iter, bool peeled) {
    Value use = add(base, i);
    Value slot = rem(use, idx(layout.stages));
    waitBarrier(fullBarrier(slot), div(use, idx(layout.stages)));
    if (layout.barriersPerSlot > 2)
      waitBarrier(ownBarrier(slot), div(use, idx(layout.stages)));
    // The gathered rows were written through the generic proxy; the MMAs
    // read through the async proxy (packed rows arrive through it).
    if (!p.packed)
      NVVM::FenceProxyOp::create(
          b,
          NVVM::ProxyKindAttr::get(b.getContext(),
                                   NVVM::ProxyKind::async_shared),
          NVVM::SharedSpaceAttr::get(b.getContext(),
                                     NVVM::SharedSpace::shared_cta));
    SmallVector<Value> sets(iter.begin(), iter.end());
    if (!p.rowSelect)
      consumePlain(i, use, sets);
    else if (p.masked)
      consumeMasked(i, use, sets);
    else
      consumeRouted(i, use, peeled, sets);
    return sets;
  };
  if (first)
    init = stage(idx(0), init, /*peeled=*/true);
  auto loop = scf::ForOp::create(
      b, idx(first), idx(kTiles()), idx(1), init,
      [&](OpBuilder &nested, Location, Value i, ValueRange iter) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nested.getInsertionBlock(),
                            nested.getInsertionPoint());
        scf::YieldOp::create(b, stage(i, iter, /*peeled=*/false));
      });
  SmallVector<Value> sets(loop.getResults());
  if (p.rowSelect && !p.masked)
    return finishRouted(base, sets);
  sets = waitMma(sets, 0);
  // A persistent block's ring runs on into its next tile: the last slot is
  // free now.
  if (p.persistent > 0)
    releaseSlot(rem(add(base, idx(kTiles() - 1)), idx(layout.stages)));
  return sets;
}
