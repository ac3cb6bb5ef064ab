//===- WgmmaSpMainLoop.cpp - The consumers' K loop and span routing -------===//
//
// A consumer warpgroup waits for each ring slot, loads its metadata words and
// computes the descriptors of the stage's K steps before the wgmma fence (so
// the MMAs of a group issue back to back: ptxas serialises wgmma when other
// instructions write accumulator registers inside a group), and releases the
// slot once the MMAs that read it are done.
//
// Without row selection stage i's MMAs run while the thread waits for stage
// i + 1's data; they are waited for before stage i + 1's metadata words are
// loaded (an MMA in flight reads its metadata register), and stage i's slot
// is released then. With row selection (n = 1 < m) every span's partial sums
// are added into the accumulator of the group row the span chose for each kept
// row: a span's MMAs accumulate into a free partial while the previous span's
// partial, complete, is routed. Accumulators cross a loop iteration only when
// complete or chained into the next MMA, never while another instruction
// could read them in flight. Masked row selection (WgmmaSpMaskedRows.cpp)
// multiplies the unit's group rows instead.
//
//===----------------------------------------------------------------------===//

#include "WgmmaSpEmitter.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

Value WgmmaSpEmitter::threadKeptRow(int64_t half8) {
  Value inUnit = add(mul(warp, idx(16)), add(group, idx(8 * half8)));
  return add(mul(unitTile(unit), idx(Wgmma::kRows)), inUnit);
}

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

Value WgmmaSpEmitter::multiply(Value acc, int64_t first, int64_t last,
                               Value restart, const StageOperands &ops) {
  // Scale-d: false restarts the accumulation (only the first MMA).
  Value yes = i1c(true);
  Value firstScale =
      restart ? arith::XOrIOp::create(b, restart, yes).getResult() : yes;
  NVVM::WgmmaFenceAlignedOp::create(b);
  for (int64_t ks = first; ks < last; ++ks) {
    Value scale = ks == first ? firstScale : yes;
    acc = samoyeds_nvgpu::WgmmaSpOp::create(
        b, acc.getType(), acc, ops.descA[ks], ops.descB[ks], ops.metas[ks],
        scale, b.getI64IntegerAttr(p.tokens), TypeAttr::get(p.elt),
        b.getI64IntegerAttr(0));
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  return acc;
}

SmallVector<Value> WgmmaSpEmitter::waitMma(ValueRange accs, int64_t pending) {
  auto wait = samoyeds_nvgpu::WgmmaWaitOp::create(b, accs.getTypes(), accs,
                                                  b.getI64IntegerAttr(pending));
  return SmallVector<Value>(wait.getResults());
}

void WgmmaSpEmitter::releaseSlot(Value slot) {
  nvgpu::MBarrierArriveOp::create(b,
                                  nvgpu::MBarrierTokenType::get(b.getContext()),
                                  barriers, emptyBarrier(slot));
}

void WgmmaSpEmitter::consumePlain(Value i, Value use,
                                  SmallVectorImpl<Value> &sets) {
  // Stage i - 1's MMAs ran while this thread waited for stage i's data; they
  // must be done before its metadata registers take stage i's words (an MMA
  // in flight reads them), and then its slot is free.
  sets[0] = waitMma(sets[0], 0).front();
  ifThen(cmp(arith::CmpIPredicate::ugt, i, idx(0)), [&] {
    releaseSlot(rem(add(use, idx(layout.stages - 1)), idx(layout.stages)));
  });
  StageOperands ops = loadStage(rem(use, idx(layout.stages)));
  // The first MMA starts the sum: no register write precedes it.
  Value first = cmp(arith::CmpIPredicate::eq, i, idx(0));
  sets[0] = multiply(sets[0], 0, p.kTile / 32, first, ops);
}

void WgmmaSpEmitter::consumeSpans(Value kt, Value slot,
                                  SmallVectorImpl<Value> &sets) {
  // sets: [complete partial of the previous span, free partial, rows...].
  StageOperands ops = loadStage(slot);
  int64_t perSpan = p.v / 32;
  Value yes = i1c(true);
  MutableArrayRef<Value> rows(sets.begin() + 2, sets.end());
  for (int64_t s0 = 0; s0 < p.kTile / 32; s0 += perSpan) {
    Value span = add(div(mul(kt, idx(p.kTile)), idx(p.v)), idx(s0 / perSpan));
    Value partial = multiply(sets[1], s0, s0 + perSpan, yes, ops);
    // The first span has no predecessor: its "previous partial" is zero,
    // routed through span 0 harmlessly.
    Value previous = arith::MaxSIOp::create(
        b, arith::IndexCastOp::create(b, b.getI64Type(), sub(span, idx(1))),
        i64c(0));
    routeSpan(sets[0],
              arith::IndexCastOp::create(b, b.getIndexType(), previous),
              Value(), rows);
    sets[1] = sets[0];
    sets[0] = waitMma(partial, 0).front();
  }
  releaseSlot(slot);
}

void WgmmaSpEmitter::consumeLongSpan(Value kt, Value slot,
                                     SmallVectorImpl<Value> &sets) {
  // sets: [partial, rows...]; the partial restarts where the k tile starts
  // a span and is routed where it ends, both decided at run time.
  StageOperands ops = loadStage(slot);
  int64_t stagesPerSpan = p.v / p.kTile;
  Value phase = rem(kt, idx(stagesPerSpan));
  Value isStart = cmp(arith::CmpIPredicate::eq, phase, idx(0));
  Value isEnd = cmp(arith::CmpIPredicate::eq, phase, idx(stagesPerSpan - 1));
  sets[0] =
      waitMma(multiply(sets[0], 0, p.kTile / 32, isStart, ops), 0).front();
  releaseSlot(slot);
  routeSpan(sets[0], div(kt, idx(stagesPerSpan)), isEnd,
            MutableArrayRef<Value>(sets).drop_front());
}

SmallVector<Value> WgmmaSpEmitter::emitConsumer(Value base) {
  auto accType = VectorType::get({WgmmaSpLayout::regs(p)}, b.getF32Type());
  Value zero = f32Splat(accType.getNumElements(), 0.0);
  // Sets an MMA restarts before anything reads them start undefined (no
  // instruction writes their registers between the wgmma fence and the
  // MMA): the accumulator, the free span partial, the long-span partial.
  Value undef = LLVM::PoisonOp::create(b, accType);
  SmallVector<Value> init(layout.sets, zero);
  if (p.masked)
    init.assign(layout.sets, undef);
  else if (!p.rowSelect || p.v > p.kTile)
    init[0] = undef;
  else
    init[1] = undef;
  // One k tile: wait for its slot, then multiply.
  auto stage = [&](Value i, ValueRange iter) {
    Value use = add(base, i);
    Value slot = rem(use, idx(layout.stages));
    waitBarrier(fullBarrier(slot), div(use, idx(layout.stages)));
    // The gathered rows were written through the generic proxy; the MMAs
    // read through the async proxy.
    NVVM::FenceProxyOp::create(
        b,
        NVVM::ProxyKindAttr::get(b.getContext(), NVVM::ProxyKind::async_shared),
        NVVM::SharedSpaceAttr::get(b.getContext(),
                                   NVVM::SharedSpace::shared_cta));
    SmallVector<Value> sets(iter.begin(), iter.end());
    Value kt = add(kBegin, i);
    if (!p.rowSelect)
      consumePlain(i, use, sets);
    else if (p.masked)
      consumeMasked(i, use, sets);
    else if (p.v <= p.kTile)
      consumeSpans(kt, slot, sets);
    else
      consumeLongSpan(kt, slot, sets);
    return sets;
  };
  // Without row selection and above 64 tokens the first k tile is peeled:
  // its MMAs restart the undefined accumulator with a constant scale-d, and
  // the loop's accumulators are always an MMA's results. Left in the loop,
  // which LLVM peels itself only up to 72 tokens, ptxas 12.8 serialises
  // every wgmma of the kernel (C7515; test/Pipelines/wgmma-sp.mlir). The
  // smaller tiles keep the code LLVM peels (measured on the H200). Masked
  // row selection always peels it (m sets restart there).
  int64_t first = p.masked || (!p.rowSelect && p.tokens > 64) ? 1 : 0;
  if (first)
    init = stage(idx(0), init);
  auto loop = scf::ForOp::create(
      b, idx(first), idx(kTiles()), idx(1), init,
      [&](OpBuilder &nested, Location, Value i, ValueRange iter) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nested.getInsertionBlock(),
                            nested.getInsertionPoint());
        scf::YieldOp::create(b, stage(i, iter));
      });
  SmallVector<Value> sets(loop.getResults());
  if (!p.rowSelect || p.masked) {
    sets = waitMma(sets, 0);
    // A persistent block's ring runs on into its next tile: the last slot
    // is free now.
    if (p.persistent > 0)
      releaseSlot(rem(add(base, idx(kTiles() - 1)), idx(layout.stages)));
    return sets;
  }
  if (p.v > p.kTile)
    return SmallVector<Value>(ArrayRef<Value>(sets).drop_front());
  // The last span's partial is still to be routed.
  SmallVector<Value> rows(ArrayRef<Value>(sets).drop_front(2));
  Value lastSpan = idx(p.kTilesPerSplit() * p.kTile / p.v - 1);
  routeSpan(sets[0], add(lastSpan, div(mul(kBegin, idx(p.kTile)), idx(p.v))),
            Value(), rows);
  return rows;
}

void WgmmaSpEmitter::routeSpan(Value partial, Value span, Value isEnd,
                               MutableArrayRef<Value> rows) {
  // Values 4j, 4j + 1 are the thread's first kept row, 4j + 2, 4j + 3 its
  // second (8 rows below).
  int64_t regs = WgmmaSpLayout::regs(p);
  auto maskType = VectorType::get({regs}, b.getI1Type());
  SmallVector<bool> firstRow;
  for (int64_t i = 0; i < regs; ++i)
    firstRow.push_back(i % 4 < 2);
  Value pattern =
      constant(DenseElementsAttr::get(maskType, ArrayRef<bool>(firstRow)));
  Value zero = f32Splat(regs, 0.0);
  Value which[2];
  for (int64_t h = 0; h < 2; ++h)
    which[h] = arith::ExtUIOp::create(
        b, b.getI32Type(),
        load(rowIdx, add(mul(add(mul(expert, idx(p.cols / p.v)), span),
                             idx(p.keptRows)),
                         threadKeptRow(h))));
  for (int64_t j = 0; j < p.m; ++j) {
    Value hit[2];
    for (int64_t h = 0; h < 2; ++h) {
      hit[h] = cmp(arith::CmpIPredicate::eq, which[h], i32c(j));
      if (isEnd)
        hit[h] = arith::AndIOp::create(b, hit[h], isEnd);
    }
    Value mask = arith::SelectOp::create(
        b, pattern, vector::BroadcastOp::create(b, maskType, hit[0]),
        vector::BroadcastOp::create(b, maskType, hit[1]));
    Value addend = arith::SelectOp::create(b, mask, partial, zero);
    rows[j] = arith::AddFOp::create(b, rows[j], addend);
  }
}
