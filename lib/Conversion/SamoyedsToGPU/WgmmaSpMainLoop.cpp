//===- WgmmaSpMainLoop.cpp - wgmma.sp multiplies and span routing ---------===//
//
// The multiplies of one K stage: every thread loads its metadata words and
// computes the descriptors of the stage's K steps before the wgmma fence, so
// the MMAs of a group issue back to back (ptxas serialises wgmma when other
// instructions write accumulator registers inside a group). With row
// selection (n = 1 < m) set 0 accumulates the current span's partial sums and
// sets 1..m the group's m output rows: at each span end the partial is added
// into the row the span chose for each of the thread's two kept rows.
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

Value WgmmaSpEmitter::multiply(Value acc, int64_t first, int64_t last,
                               Value restart, ArrayRef<Value> descA,
                               ArrayRef<Value> descB, ArrayRef<Value> metas) {
  // Scale-d: false restarts the accumulation (only the first MMA).
  Value yes = arith::ConstantIntOp::create(b, b.getI1Type(), 1);
  Value firstScale =
      restart ? arith::XOrIOp::create(b, restart, yes).getResult() : yes;
  NVVM::WgmmaFenceAlignedOp::create(b);
  for (int64_t ks = first; ks < last; ++ks) {
    Value scale = ks == first ? firstScale : yes;
    acc = samoyeds_nvgpu::WgmmaSpOp::create(
        b, acc.getType(), acc, descA[ks], descB[ks], metas[ks], scale,
        b.getI64IntegerAttr(p.tokens), TypeAttr::get(p.elt),
        b.getI64IntegerAttr(0));
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  return samoyeds_nvgpu::WgmmaWaitOp::create(b, TypeRange{acc.getType()},
                                              ValueRange{acc},
                                              b.getI64IntegerAttr(0))
      .getResult(0);
}

void WgmmaSpEmitter::computeStage(Value kt, Value slot,
                                  SmallVectorImpl<Value> &sets) {
  int64_t steps = p.kTile / 32;
  Value ring = add(mul(slot, idx(layout.units)), unit);
  Value aBase = descriptor(arith::AddIOp::create(
      b, base, toI64(mul(ring, idx(layout.aStage)))));
  Value bBase = descriptor(arith::AddIOp::create(
      b, base,
      toI64(add(idx(layout.bRing), mul(slot, idx(layout.bStage))))));
  // The thread's metadata word of each K step: [step][warp][2 · group + h],
  // h = lane % 2 (selector 0: lanes 0 and 1 of each quad supply it).
  Value metaBase =
      add(add(mul(ring, idx(layout.metaStage / 4)), mul(warp, idx(16))),
          add(mul(group, idx(2)), rem(quad, idx(2))));
  SmallVector<Value> descA, descB, metas;
  auto offset = [&](Value desc, int64_t bytes) -> Value {
    return arith::AddIOp::create(
        b, desc,
        arith::ConstantIntOp::create(b, b.getI64Type(), bytes >> 4));
  };
  for (int64_t ks = 0; ks < steps; ++ks) {
    metas.push_back(load(sMeta, add(metaBase, idx(ks * 64))));
    // A: block ks / 4, 32 bytes per step inside its 128-byte rows. B: column
    // block ks / 2 of `tokens` rows, 64 bytes per step inside its rows.
    descA.push_back(offset(aBase, ks / Wgmma::kStepsPerBlock *
                                          Wgmma::kBlockBytes +
                                      ks % Wgmma::kStepsPerBlock * 32));
    descB.push_back(offset(bBase, ks / 2 * p.tokens * 128 + ks % 2 * 64));
  }
  if (!p.rowSelect) {
    sets[0] = multiply(sets[0], 0, steps, Value(), descA, descB, metas);
    return;
  }
  if (p.v <= p.kTile) {
    // Whole spans of v / 32 steps: the first of each restarts the partial.
    int64_t perSpan = p.v / 32;
    Value yes = arith::ConstantIntOp::create(b, b.getI1Type(), 1);
    for (int64_t s0 = 0; s0 < steps; s0 += perSpan) {
      Value span = add(div(mul(kt, idx(p.kTile)), idx(p.v)), idx(s0 / perSpan));
      sets[0] = multiply(sets[0], s0, s0 + perSpan, yes, descA, descB, metas);
      routeSpan(span, Value(), sets);
    }
    return;
  }
  // A span of several stages: restart at its first, route at its last.
  int64_t stagesPerSpan = p.v / p.kTile;
  Value phase = rem(kt, idx(stagesPerSpan));
  Value isStart = cmp(arith::CmpIPredicate::eq, phase, idx(0));
  Value isEnd = cmp(arith::CmpIPredicate::eq, phase, idx(stagesPerSpan - 1));
  sets[0] = multiply(sets[0], 0, steps, isStart, descA, descB, metas);
  routeSpan(div(kt, idx(stagesPerSpan)), isEnd, sets);
}

void WgmmaSpEmitter::routeSpan(Value span, Value isEnd,
                               SmallVectorImpl<Value> &sets) {
  // Values 4j, 4j + 1 are the thread's first kept row, 4j + 2, 4j + 3 its
  // second (8 rows below).
  int64_t regs = WgmmaSpLayout::regs(p);
  auto accType = VectorType::get({regs}, b.getF32Type());
  auto maskType = VectorType::get({regs}, b.getI1Type());
  SmallVector<bool> firstRow;
  for (int64_t i = 0; i < regs; ++i)
    firstRow.push_back(i % 4 < 2);
  Value pattern = arith::ConstantOp::create(
      b, maskType, DenseElementsAttr::get(maskType, ArrayRef<bool>(firstRow)));
  Value zero = arith::ConstantOp::create(
      b, accType, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0f)));
  Value which[2];
  for (int64_t h = 0; h < 2; ++h)
    which[h] = arith::ExtUIOp::create(
        b, b.getI32Type(),
        load(rowIdx,
             add(mul(add(mul(expert, idx(p.cols / p.v)), span),
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
    Value addend = arith::SelectOp::create(b, mask, sets[0], zero);
    sets[1 + j] = arith::AddFOp::create(b, sets[1 + j], addend);
  }
}
