//===- RouteSelect.cpp - The router's softmax and top-k kernel ------------===//
//
// One warp per token. Each lane keeps every 32nd logit in registers (plus
// the expert's router bias, in f32, where the route has one); the
// softmax's maximum and sum and the k rounds of arg-max are warp reductions
// (gpu.subgroup_reduce; the maxima as one redux.sync on order-preserving i32
// keys, the sum by shuffles). Round j takes the largest logit after round
// j-1's in (logit descending, expert ascending) order, so ties go to the
// lower expert and no set of chosen experts is kept; a NaN logit is never
// chosen (its maximum, and so every weight, is NaN). Lane j % 32 keeps round
// j's weight and id, and the lanes store them together after the rounds.
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
  selectToken(func.getArgument(0), selectBias(func, sel), func.getArgument(1),
              func.getArgument(2), tokens, token, rem(tid, idx(32)), sel);
  gpu::ReturnOp::create(b);
}

Value RouteEmitter::warpMax(Value f) {
  // The signed i32 whose order is that of the f32 (not NaN): a negative
  // value's magnitude bits flipped. The mapping is its own inverse.
  auto flip = [&](Value bits) {
    Value sign = arith::ShRSIOp::create(b, bits, i32c(31));
    return arith::XOrIOp::create(
        b, bits, arith::AndIOp::create(b, sign, i32c(0x7FFFFFFF)));
  };
  Value key = flip(arith::BitcastOp::create(b, b.getI32Type(), f));
  Value top = warpReduce(key, gpu::AllReduceOperation::MAXSI);
  return arith::BitcastOp::create(b, b.getF32Type(), flip(top));
}

RouteEmitter::TokenLogits RouteEmitter::loadSoftmax(Value logits, Value bias,
                                                    Value token, Value lane) {
  float inf = std::numeric_limits<float>::infinity();
  Type i32 = b.getI32Type();
  Value lane32 = arith::IndexCastOp::create(b, i32, lane);
  Value row = mul(token, idx(experts));
  TokenLogits t;
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
    if (bias)
      l = arith::AddFOp::create(b, l, toF32(load(bias, at)));
    t.logit.push_back(l);
    t.expert.push_back(e);
    t.valid.push_back(ok);
    localMax = arith::MaximumFOp::create(b, localMax,
                                         ok ? select(ok, l, f32c(-inf)) : l);
  }
  // The maximum propagates a NaN, as arith.maximumf does.
  Value isNaN =
      arith::CmpFOp::create(b, arith::CmpFPredicate::UNO, localMax, localMax);
  Value anyNaN = warpReduce(arith::ExtUIOp::create(b, i32, isNaN),
                            gpu::AllReduceOperation::OR);
  t.max = select(cmp(arith::CmpIPredicate::ne, anyNaN, i32c(0)),
                 f32c(std::numeric_limits<float>::quiet_NaN()),
                 warpMax(select(isNaN, f32c(-inf), localMax)));
  Value localSum = f32c(0.0);
  for (auto [l, ok] : llvm::zip(t.logit, t.valid)) {
    Value p = prob(t, l);
    localSum =
        arith::AddFOp::create(b, localSum, ok ? select(ok, p, f32c(0.0)) : p);
  }
  t.sum = warpReduce(localSum, gpu::AllReduceOperation::ADD);
  return t;
}

Value RouteEmitter::prob(const TokenLogits &t, Value l) {
  return exp2(arith::MulFOp::create(b, arith::SubFOp::create(b, l, t.max),
                                    f32c(1.4426950408889634)));
}

std::pair<Value, Value> RouteEmitter::laneBest(const TokenLogits &t,
                                               Value lastLogit,
                                               Value lastExpert) {
  Value none = i32c(experts);
  Value best = f32c(-std::numeric_limits<float>::infinity()), bestExpert = none;
  for (auto [l, e, ok] : llvm::zip(t.logit, t.expert, t.valid)) {
    Value after = arith::OrIOp::create(
        b, arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, l, lastLogit),
        arith::AndIOp::create(
            b,
            arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, l, lastLogit),
            cmp(arith::CmpIPredicate::sgt, e, lastExpert)));
    if (ok)
      after = arith::AndIOp::create(b, after, ok);
    // Experts come in increasing order: an equal logit stays.
    Value better = arith::AndIOp::create(
        b, after,
        arith::OrIOp::create(
            b, arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l, best),
            cmp(arith::CmpIPredicate::eq, bestExpert, none)));
    best = select(better, l, best);
    bestExpert = select(better, e, bestExpert);
  }
  return {best, bestExpert};
}

void RouteEmitter::selectToken(Value logits, Value bias, Value weights,
                               Value ids, Value tokens, Value token, Value lane,
                               const SelectParams &sel, Value sharedIds) {
  int64_t topK = sel.topK;
  // The whole warp takes the branch: its reductions stay uniform.
  ifThen(cmp(arith::CmpIPredicate::ult, token, tokens), [&] {
    TokenLogits t = loadSoftmax(logits, bias, token, lane);
    Value base = mul(token, idx(topK));
    // Round j: the largest (logit, -expert) below the last round's. Lane
    // j % 32 keeps round j's weight and id in its register j / 32, so the
    // stores go out together after the last round.
    int64_t regs = (topK + 31) / 32;
    SmallVector<Value> init{f32c(std::numeric_limits<float>::infinity()),
                            i32c(-1), f32c(0.0)};
    init.append(regs, f32c(0.0));
    init.append(regs, i32c(0));
    auto rounds = forLoop(
        idx(0), idx(topK), idx(1), init,
        [&](Value j, ValueRange it) -> SmallVector<Value> {
          auto [best, bestExpert] = laneBest(t, it[0], it[1]);
          // `best` is never NaN: no comparison lets one in.
          Value top = warpMax(best);
          Value isTop =
              arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, best, top);
          Value none = i32c(experts);
          Value chosen = warpReduce(select(isTop, bestExpert, none),
                                    gpu::AllReduceOperation::MINSI);
          Value w = arith::DivFOp::create(b, prob(t, top), t.sum);
          // No expert left (NaN logits): expert 0, with a NaN weight.
          Value id = select(cmp(arith::CmpIPredicate::eq, chosen, none),
                            i32c(0), chosen);
          Value mine = cmp(arith::CmpIPredicate::eq, lane, rem(j, idx(32)));
          SmallVector<Value> next{top, chosen,
                                  arith::AddFOp::create(b, it[2], w)};
          SmallVector<Value> here;
          for (int64_t r = 0; r < regs; ++r)
            here.push_back(arith::AndIOp::create(
                b, mine,
                cmp(arith::CmpIPredicate::eq, div(j, idx(32)), idx(r))));
          for (int64_t r = 0; r < regs; ++r)
            next.push_back(select(here[r], w, it[3 + r]));
          for (int64_t r = 0; r < regs; ++r)
            next.push_back(select(here[r], id, it[3 + regs + r]));
          return next;
        });
    Value factor = f32c(sel.scale);
    if (sel.renormalize)
      factor = arith::DivFOp::create(b, factor, rounds.getResult(2));
    for (int64_t r = 0; r < regs; ++r) {
      Value j = add(lane, idx(32 * r));
      ifThen(cmp(arith::CmpIPredicate::ult, j, idx(topK)), [&] {
        Value slot = add(base, j);
        memref::StoreOp::create(
            b, arith::MulFOp::create(b, rounds.getResult(3 + r), factor),
            weights, ValueRange{slot});
        Value id = rounds.getResult(3 + regs + r);
        memref::StoreOp::create(b, id, ids, ValueRange{slot});
        if (sharedIds)
          memref::StoreOp::create(b, clampExpert(id, experts), sharedIds,
                                  ValueRange{slot});
      });
    }
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
  // The selecting lanes also place their ids, clamped to [0, E) as the
  // dispatch kernel clamps them (none is outside here), in shared memory,
  // visible to all the block's threads after the barrier.
  selectToken(logits, selectBias(func, sel), weights, ids, tokens,
              div(tid, idx(32)), rem(tid, idx(32)), sel, sIds);
  gpu::BarrierOp::create(b);
  Value slots = mul(tokens, idx(sel.topK));
  Value mine = cmp(arith::CmpIPredicate::ult, tid, slots);
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
