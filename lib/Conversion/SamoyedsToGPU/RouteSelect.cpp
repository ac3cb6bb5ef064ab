//===- RouteSelect.cpp - The router's softmax and top-k kernel ------------===//
//
// One warp per token. Each lane keeps every 32nd logit in registers; the
// softmax's maximum and sum and the k rounds of arg-max are warp reductions
// (gpu.subgroup_reduce). Round j takes the largest logit after round j-1's
// in (logit descending, expert ascending) order, so ties go to the lower
// expert and no set of chosen experts is kept; a NaN logit is never chosen
// (its maximum, and so every weight, is NaN).
//
// select_dispatch (calls of at most kSelectWarps tokens): one block selects
// every token, one warp each, and places the slots as the dispatch kernel
// does, in one launch instead of two: a slot's position is the count of the
// slots routed to lower experts plus that of the lower slots routed to its
// own; offsets[e] counts the slots below expert e.
//
//===----------------------------------------------------------------------===//

#include "RouteEmitter.h"

#include <limits>

using namespace mlir;
using namespace mlir::samoyeds::detail;

void RouteEmitter::emitSelect(gpu::GPUFuncOp func, const SelectParams &sel) {
  Value tokens = enter(func);
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value token =
      add(mul(gpu::BlockIdOp::create(b, gpu::Dimension::x), idx(kSelectWarps)),
          div(tid, idx(32)));
  selectToken(func.getArgument(0), func.getArgument(1), func.getArgument(2),
              tokens, token, rem(tid, idx(32)), sel);
  gpu::ReturnOp::create(b);
}

void RouteEmitter::selectToken(Value logits, Value weights, Value ids,
                               Value tokens, Value token, Value lane,
                               const SelectParams &sel) {
  int64_t topK = sel.topK;
  bool renormalize = sel.renormalize;
  Type i32 = b.getI32Type();
  // The whole warp takes the branch: its reductions stay uniform.
  ifThen(cmp(arith::CmpIPredicate::ult, token, tokens), [&] {
    float inf = std::numeric_limits<float>::infinity();
    Value lane32 = arith::IndexCastOp::create(b, i32, lane);
    Value row = mul(token, idx(experts));
    // Lane l holds the logits of experts l, l + 32, ...; `valid` is null
    // where every lane has one.
    SmallVector<Value> logit, expert, valid;
    Value localMax = f32c(-inf);
    for (int64_t c = 0; c * 32 < experts; ++c) {
      Value e = add(lane32, i32c(c * 32));
      Value ok = (c + 1) * 32 <= experts
                     ? Value()
                     : cmp(arith::CmpIPredicate::slt, e, i32c(experts));
      Value at = add(lane, idx(c * 32));
      if (ok)
        at = select(ok, at, idx(0));
      Value l = load(logits, add(row, at));
      logit.push_back(l);
      expert.push_back(e);
      valid.push_back(ok);
      localMax = arith::MaximumFOp::create(b, localMax,
                                           ok ? select(ok, l, f32c(-inf)) : l);
    }
    Value max = warpReduce(localMax, gpu::AllReduceOperation::MAXIMUMF);
    auto prob = [&](Value l) {
      return exp2(arith::MulFOp::create(b, arith::SubFOp::create(b, l, max),
                                        f32c(1.4426950408889634)));
    };
    Value localSum = f32c(0.0);
    for (auto [l, ok] : llvm::zip(logit, valid)) {
      Value p = prob(l);
      localSum =
          arith::AddFOp::create(b, localSum, ok ? select(ok, p, f32c(0.0)) : p);
    }
    Value sum = warpReduce(localSum, gpu::AllReduceOperation::ADD);
    Value isLane0 = cmp(arith::CmpIPredicate::eq, lane, idx(0));
    Value base = mul(token, idx(topK));
    Value factor = f32c(sel.scale);

    // Round j: the largest (logit, -expert) below the last round's.
    auto rounds = forLoop(
        idx(0), idx(topK), idx(1), ValueRange{f32c(inf), i32c(-1), f32c(0.0)},
        [&](Value j, ValueRange it) -> SmallVector<Value> {
          Value lastLogit = it[0], lastExpert = it[1];
          Value none = i32c(experts);
          Value best = f32c(-inf), bestExpert = none;
          for (auto [l, e, ok] : llvm::zip(logit, expert, valid)) {
            Value after = arith::OrIOp::create(
                b,
                arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, l,
                                      lastLogit),
                arith::AndIOp::create(
                    b,
                    arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, l,
                                          lastLogit),
                    cmp(arith::CmpIPredicate::sgt, e, lastExpert)));
            if (ok)
              after = arith::AndIOp::create(b, after, ok);
            // Experts come in increasing order: an equal logit stays.
            Value better = arith::AndIOp::create(
                b, after,
                arith::OrIOp::create(
                    b,
                    arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l,
                                          best),
                    cmp(arith::CmpIPredicate::eq, bestExpert, none)));
            best = select(better, l, best);
            bestExpert = select(better, e, bestExpert);
          }
          Value top = warpReduce(best, gpu::AllReduceOperation::MAXIMUMF);
          Value isTop =
              arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, best, top);
          Value chosen = warpReduce(select(isTop, bestExpert, none),
                                    gpu::AllReduceOperation::MINSI);
          Value w = arith::DivFOp::create(b, prob(top), sum);
          Value slot = add(base, j);
          ifThen(isLane0, [&] {
            Value stored =
                renormalize ? w : arith::MulFOp::create(b, w, factor);
            memref::StoreOp::create(b, stored, weights, ValueRange{slot});
            // No expert left (NaN logits): expert 0, with a NaN weight.
            Value id = select(cmp(arith::CmpIPredicate::eq, chosen, none),
                              i32c(0), chosen);
            memref::StoreOp::create(b, id, ids, ValueRange{slot});
          });
          return {top, chosen, arith::AddFOp::create(b, it[2], w)};
        });
    if (!renormalize)
      return;
    factor = arith::DivFOp::create(b, factor, rounds.getResult(2));
    ifThen(isLane0, [&] {
      for (int64_t j = 0; j < topK; ++j) {
        Value slot = add(base, idx(j));
        Value w = load(weights, slot);
        memref::StoreOp::create(b, arith::MulFOp::create(b, w, factor), weights,
                                ValueRange{slot});
      }
    });
  });
}

void RouteEmitter::emitSelectDispatch(gpu::GPUFuncOp func,
                                      const SelectParams &sel) {
  Value tokens = enter(func);
  Value logits = func.getArgument(0), weights = func.getArgument(1),
        ids = func.getArgument(2), tokenList = func.getArgument(3),
        offsets = func.getArgument(4), positions = func.getArgument(5);
  Value sIds = func.getWorkgroupAttributions()[0];
  Type i32 = b.getI32Type();
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  selectToken(logits, weights, ids, tokens, div(tid, idx(32)),
              rem(tid, idx(32)), sel);
  // The block's ids are visible to all its threads after the barrier.
  gpu::BarrierOp::create(b);
  Value slots = mul(tokens, idx(sel.topK));
  Value mine = cmp(arith::CmpIPredicate::ult, tid, slots);
  ifThen(mine, [&] {
    // An id outside [0, E) (none here, but as the dispatch kernel) goes to
    // the nearest expert.
    memref::StoreOp::create(b, clampExpert(load(ids, tid), experts), sIds, tid);
  });
  gpu::BarrierOp::create(b);
  auto count = [&](Value acc, Value yes) {
    return add(acc, select(yes, i32c(1), i32c(0)));
  };
  // offsets[e] = the slots routed to experts below e, for e = 0 … E.
  forLoop(tid, idx(experts + 1), idx(kSelectWarps * 32), ValueRange{},
          [&](Value e, ValueRange) -> SmallVector<Value> {
            Value e32 = arith::IndexCastOp::create(b, i32, e);
            Value below = forLoop(idx(0), slots, idx(1), ValueRange{i32c(0)},
                                  [&](Value s, ValueRange it) {
                                    return SmallVector<Value>{count(
                                        it[0], cmp(arith::CmpIPredicate::slt,
                                                   load(sIds, s), e32))};
                                  })
                              .getResult(0);
            memref::StoreOp::create(b, below, offsets, e);
            return {};
          });
  // Slot `tid` goes after the slots of lower experts and the lower slots of
  // its own, in (token, choice) order as the dispatch kernel places them.
  ifThen(mine, [&] {
    Value e = load(sIds, tid);
    auto place = forLoop(
        idx(0), slots, idx(1), ValueRange{i32c(0), i32c(0)},
        [&](Value s, ValueRange it) -> SmallVector<Value> {
          Value other = load(sIds, s);
          Value same =
              arith::AndIOp::create(b, cmp(arith::CmpIPredicate::eq, other, e),
                                    cmp(arith::CmpIPredicate::ult, s, tid));
          return {count(it[0], cmp(arith::CmpIPredicate::slt, other, e)),
                  count(it[1], same)};
        });
    Value p = add(place.getResult(0), place.getResult(1));
    memref::StoreOp::create(b, p, positions, tid);
    memref::StoreOp::create(
        b, arith::IndexCastOp::create(b, i32, div(tid, idx(sel.topK))),
        tokenList,
        ValueRange{arith::IndexCastOp::create(b, b.getIndexType(), p)});
  });
  gpu::ReturnOp::create(b);
}
