//===- TileLookup.cpp - Which token tile a block computes -----------------===//
//
// Shared by every MMA strategy: the block order of the ordinary grid, and
// token tiles numbered expert after expert, which a block finds with a
// warp-parallel scan of the offsets.
//
//===----------------------------------------------------------------------===//

#include "SSMMPlan.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
class TileFinder : public EmitterBase {
public:
  using EmitterBase::EmitterBase;
  TokenTile find(Value offsets, Value lane, Value by, int64_t experts,
                 int64_t tokens, int64_t group);
  std::pair<Value, Value> order(int64_t group, int64_t cluster);
  std::pair<Value, Value> grouped(Value linear, Value rowBlocks, Value tiles,
                                  int64_t group);
};
} // namespace

std::pair<Value, Value> TileFinder::order(int64_t group, int64_t cluster) {
  Value bx = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value by = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  if (group == 1)
    return {bx, by};
  Value rowBlocks = gpu::GridDimOp::create(b, gpu::Dimension::x);
  Value tiles = gpu::GridDimOp::create(b, gpu::Dimension::y);
  if (cluster == 1)
    return grouped(add(mul(by, rowBlocks), bx), rowBlocks, tiles, group);
  // Clusters are ordered as the blocks of a grid `cluster` times narrower;
  // a block keeps its rank within its cluster.
  Value clusters = div(rowBlocks, idx(cluster));
  auto [r, t] = grouped(add(mul(by, clusters), div(bx, idx(cluster))), clusters,
                        tiles, group);
  return {add(mul(r, idx(cluster)), rem(bx, idx(cluster))), t};
}

std::pair<Value, Value> TileFinder::grouped(Value linear, Value rowBlocks,
                                            Value tiles, int64_t group) {
  if (group == 1)
    return {rem(linear, rowBlocks), div(linear, rowBlocks)};
  // Group g holds token tiles [g · group, min(g · group + group, Y)) and
  // its blocks are numbered row block × size + token tile within it.
  Value perGroup = mul(idx(group), rowBlocks);
  Value first = mul(div(linear, perGroup), idx(group));
  Value size = arith::MinUIOp::create(b, idx(group), sub(tiles, first));
  Value within = rem(linear, perGroup);
  return {div(within, size), add(first, rem(within, size))};
}

TokenTile TileFinder::find(Value offsets, Value lane, Value by, int64_t experts,
                           int64_t tokens, int64_t group) {
  // Token tiles are numbered expert after expert: expert e owns
  // ceil(count_e / tokens) of them. The grid has ceil(P / tokens) + E rows of
  // blocks, at least that many tiles, so no block is launched for an expert's
  // missing tiles; blocks past the last tile find no expert and exit. Each
  // warp scans the offsets 32 experts at a time (one load per lane, a
  // shuffle prefix sum), so a block pays ceil(E / 32) load latencies; the lane
  // whose expert holds the tile keeps it and a max-reduction hands it to all.
  // Groups of `group` tiles are numbered the same way (ceil(count_e / (group
  // · tokens)) per expert), and a second scan numbers the group's first tile
  // among the single tiles.
  int64_t width = group * tokens;
  Value lane32 = toI32(lane), by32 = toI32(by), none = i32c(-1);
  Value before = i32c(0), foundExpert = none, foundStart = none,
        foundEnd = none, beforeTiles = i32c(0), foundFirst = none;
  auto ceilDiv = [&](Value count, int64_t d) -> Value {
    return div(add(count, i32c(d - 1)), i32c(d));
  };
  for (int64_t c0 = 0; c0 < experts; c0 += 32) {
    Value e = add(lane32, i32c(c0));
    Value valid = cmp(arith::CmpIPredicate::slt, e, i32c(experts));
    Value eSafe = arith::MinSIOp::create(b, e, i32c(experts - 1));
    Value eIdx = toIndex(eSafe);
    Value lo = load(offsets, eIdx);
    Value hi = load(offsets, add(eIdx, idx(1)));
    Value tiles = select(valid, ceilDiv(sub(hi, lo), width), i32c(0));
    Value incl = warpInclusiveScan(tiles, lane32);
    Value first = add(before, sub(incl, tiles));
    Value mine = arith::AndIOp::create(
        b, cmp(arith::CmpIPredicate::sge, by32, first),
        cmp(arith::CmpIPredicate::slt, by32, add(before, incl)));
    auto pick = [&](Value yes, Value no) -> Value {
      return select(mine, yes, no);
    };
    foundExpert = pick(e, foundExpert);
    foundStart = pick(add(lo, mul(sub(by32, first), i32c(width))), foundStart);
    foundEnd = pick(hi, foundEnd);
    auto total = gpu::ShuffleOp::create(b, incl, 31, 32, gpu::ShuffleMode::IDX);
    before = add(before, total.getShuffleResult());
    if (group == 1)
      continue;
    Value single = select(valid, ceilDiv(sub(hi, lo), tokens), i32c(0));
    Value inclSingle = warpInclusiveScan(single, lane32);
    Value firstSingle = add(beforeTiles, sub(inclSingle, single));
    foundFirst =
        pick(add(firstSingle, mul(sub(by32, first), i32c(group))), foundFirst);
    auto singles =
        gpu::ShuffleOp::create(b, inclSingle, 31, 32, gpu::ShuffleMode::IDX);
    beforeTiles = add(beforeTiles, singles.getShuffleResult());
  }
  auto warpMax = [&](Value v) -> Value {
    v = warpReduce(v, gpu::AllReduceOperation::MAXSI);
    return toIndex(arith::MaxSIOp::create(b, v, i32c(0)));
  };
  // No lane found a tile: expert 0, start = end = 0, so the block exits.
  return {warpMax(foundExpert), warpMax(foundStart), warpMax(foundEnd), before,
          group > 1 ? warpMax(foundFirst) : Value()};
}

std::pair<Value, Value>
mlir::samoyeds::detail::orderedBlock(ImplicitLocOpBuilder &b, int64_t group,
                                     int64_t cluster) {
  return TileFinder(b).order(group, cluster);
}

std::pair<Value, Value>
mlir::samoyeds::detail::groupedTile(ImplicitLocOpBuilder &b, Value linear,
                                    Value rowBlocks, Value tiles,
                                    int64_t group) {
  return TileFinder(b).grouped(linear, rowBlocks, tiles, group);
}

TokenTile mlir::samoyeds::detail::findTokenTile(ImplicitLocOpBuilder &b,
                                                Value offsets, Value lane,
                                                Value tile, int64_t experts,
                                                int64_t tokens, int64_t group) {
  return TileFinder(b).find(offsets, lane, tile, experts, tokens, group);
}
