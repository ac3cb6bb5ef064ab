//===- WgmmaSpSpanHalves.cpp - Routed spans shorter than a stage ----------===//
//
// Routed row selection (WgmmaSpMainLoop.cpp) where spans are shorter than
// the k tile (SSMMPlan::spanHalves): a span ends inside the stage, and its
// routing reads the running sum P once the span's MMAs are done, so with
// one MMA group per span a consumer waits for every MMA and the tensor pipe
// idles while it routes. Here each span's MMAs are two groups, one per half
// of the tile's tokens (N / 2 columns each; the accumulators of a set are
// its halves' values back to back), and the routing of one half runs while
// the other half's MMAs do:
//
//   M(g, 0) M(g, 1) | wait ≤ 1: route (g, 0), M(g + 1, 0)
//                   | wait ≤ 1: route (g, 1), M(g + 1, 1) | …
//
// A token column depends on its own token alone, so every value sees the
// same operations in the same order as with whole spans: bit-identical.
// The loop carries each unit's sets as halves, set s of half h of unit j
// at (2 · j + h) · sets + s, and joins them once every MMA is done.
//
//===----------------------------------------------------------------------===//

#include "WgmmaSpEmitter.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

void WgmmaSpEmitter::waitHalves(MutableArrayRef<Value> sets, int64_t pending,
                                ArrayRef<int64_t> halves) {
  SmallVector<Value> accs;
  for (int64_t j = 0; j < p.unitsPerWarpgroup; ++j)
    for (int64_t h : halves)
      accs.push_back(halfSet(sets, j, h, 0));
  SmallVector<Value> done = waitMma(accs, pending);
  int64_t i = 0;
  for (int64_t j = 0; j < p.unitsPerWarpgroup; ++j)
    for (int64_t h : halves)
      halfSet(sets, j, h, 0) = done[i++];
}

void WgmmaSpEmitter::routeHalf(MutableArrayRef<Value> sets, int64_t h,
                               ChoiceAt at, std::optional<ChoiceAt> next,
                               Value when) {
  for (int64_t j = 0; j < p.unitsPerWarpgroup; ++j) {
    useUnit(j);
    routeSpan(halfSet(sets, j, h, 0), at, next, groupRows(sets, 2 * j + h),
              when);
  }
}

void WgmmaSpEmitter::consumeRoutedHalves(Value i, Value use, bool first,
                                         SmallVectorImpl<Value> &sets) {
  Value slot = rem(use, idx(layout.stages));
  int64_t spansPerSlot = WgmmaSpLayout::choiceSpans(p);
  if (!first) {
    // The previous stage's last span, whose successor's choices arrived
    // with this stage, once both its halves are done.
    waitHalves(sets, 0, {0, 1});
    Value previous = rem(add(use, idx(layout.stages - 1)), idx(layout.stages));
    for (int64_t h = 0; h < 2; ++h)
      routeHalf(sets, h, ChoiceAt{previous, spansPerSlot - 1},
                ChoiceAt{slot, 0});
    releaseSlot(previous);
  }
  SmallVector<StageOperands> ops = loadUnits(slot);
  int64_t perSpan = p.v / 32;
  Value restart = first ? i1c(true) : Value();
  multiply(sets, 0, perSpan, restart, ops, /*half=*/0);
  multiply(sets, 0, perSpan, restart, ops, /*half=*/1);
  for (int64_t g = 1; g < spansPerSlot; ++g) {
    // In flight: span g - 1's halves (and nothing older). Each half is
    // routed once its MMAs are done, while the other half's run.
    for (int64_t h = 0; h < 2; ++h) {
      waitHalves(sets, 1, {h});
      routeHalf(sets, h, ChoiceAt{slot, g - 1}, ChoiceAt{slot, g});
      multiply(sets, g * perSpan, (g + 1) * perSpan, Value(), ops, h);
    }
  }
}

SmallVector<Value> WgmmaSpEmitter::finishRoutedHalves(Value base,
                                                      ArrayRef<Value> sets) {
  SmallVector<Value> halves(sets.begin(), sets.end());
  waitHalves(halves, 0, {0, 1});
  Value slot = rem(add(base, idx(kTiles() - 1)), idx(layout.stages));
  for (int64_t h = 0; h < 2; ++h)
    routeHalf(halves, h, ChoiceAt{slot, WgmmaSpLayout::choiceSpans(p) - 1},
              std::nullopt);
  if (p.persistent > 0)
    releaseSlot(slot);
  // Group row 0 is the running sum less the others; then each set's halves
  // are joined (every MMA is done: no register is in flight).
  SmallVector<int64_t> join =
      llvm::to_vector(llvm::seq<int64_t>(0, mmaTokens / 2));
  SmallVector<Value> rows;
  for (int64_t j = 0; j < p.unitsPerWarpgroup; ++j) {
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t s = 1; s < p.m; ++s)
        halfSet(halves, j, h, 0) = arith::SubFOp::create(
            b, halfSet(halves, j, h, 0), halfSet(halves, j, h, s));
    for (int64_t s = 0; s < layout.sets; ++s)
      rows.push_back(vector::ShuffleOp::create(b, halfSet(halves, j, 0, s),
                                               halfSet(halves, j, 1, s), join));
  }
  return rows;
}
