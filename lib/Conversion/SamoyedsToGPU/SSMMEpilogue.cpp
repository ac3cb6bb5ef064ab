//===- SSMMEpilogue.cpp - Expert-matmul tile lookup and epilogues ---------===//
//
// Where a block's token tile is (a warp-parallel scan of the offsets) and
// what it writes at the end: the fused epilogue, or the split-K variant's
// raw partial sums.
//
//===----------------------------------------------------------------------===//

#include "SSMMEmitter.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

Value SSMMEmitter::fragmentToken(int64_t f, int64_t v) {
  return add(add(tokenBase, idx(f * 8)), add(mul(tig, idx(2)), idx(v % 2)));
}

Value SSMMEmitter::outputRow(int64_t r, int64_t mIdx, int64_t v) {
  Value kept = add(mul(keptTile(r), idx(16)), add(group, idx(8 * (v / 2))));
  return p.rowSelect ? add(mul(kept, idx(p.m)), idx(mIdx)) : kept;
}

void SSMMEmitter::emitEpilogue(ArrayRef<Value> carried) {
  if (p.split())
    return emitPartials(carried);
  // Unit r (gate, or the only half) pairs with unit rowTiles + r (up).
  for (int64_t r = 0; r < p.rowTiles; ++r) {
    for (int64_t mIdx = 0; mIdx < p.accsPerValue(); ++mIdx) {
      for (int64_t f = 0; f < nFrags(); ++f) {
        for (int64_t v = 0; v < 4; ++v) {
          Value col = fragmentToken(f, v);
          Value row = outputRow(r, mIdx, v);
          Value value = rowValue(carried, r, mIdx, f, v);
          if (p.siluMul)
            value = arith::MulFOp::create(
                b, silu(value), rowValue(carried, p.rowTiles + r, mIdx, f, v));
          if (p.outElt != value.getType())
            value = arith::TruncFOp::create(b, p.outElt, value);
          Value inRange = cmp(arith::CmpIPredicate::ult, col, count);
          ifThen(inRange, [&] {
            Value outIdx = add(mul(add(start, col), idx(p.outCols)), row);
            memref::StoreOp::create(b, value, out, ValueRange{outIdx});
          });
        }
      }
    }
  }
}

void SSMMEmitter::emitPartials(ArrayRef<Value> carried) {
  // Workspace row (slice, slot) holds the `rows` raw sums of one slot: both
  // halves of silu_mul, gate first.
  for (int64_t u = 0; u < p.units(); ++u)
    for (int64_t mIdx = 0; mIdx < p.accsPerValue(); ++mIdx)
      for (int64_t f = 0; f < nFrags(); ++f)
        for (int64_t v = 0; v < 4; ++v) {
          Value col = fragmentToken(f, v);
          // Within its half: the gate unit of the same row tile.
          int64_t h = u / p.rowTiles;
          Value row = outputRow(u % p.rowTiles, mIdx, v);
          ifThen(cmp(arith::CmpIPredicate::ult, col, count), [&] {
            Value wsRow = add(mul(slice, idx(p.splitSlots)), add(start, col));
            Value outIdx =
                add(mul(wsRow, idx(p.rows)), add(idx(h * p.outCols), row));
            memref::StoreOp::create(b, rowValue(carried, u, mIdx, f, v), out,
                                    ValueRange{outIdx});
          });
        }
}

void SSMMEmitter::findTokenTile(Value by, Value &end, Value *total) {
  // Token tiles are numbered expert after expert: expert e owns
  // ceil(count_e / tokens) of them. The grid has ceil(P / tokens) + E rows of
  // blocks, at least that many tiles, so no block is launched for an expert's
  // missing tiles; blocks past the last tile find no expert and exit. Each
  // warp scans the offsets 32 experts at a time (one load per lane, a
  // shuffle prefix sum), so a block pays ceil(E / 32) load latencies; the lane
  // whose expert holds the tile keeps it and a max-reduction hands it to all.
  Type i32 = b.getI32Type();
  auto toI32 = [&](Value v) -> Value {
    return arith::IndexCastOp::create(b, i32, v);
  };
  Value lane32 = toI32(lane), by32 = toI32(by), none = i32c(-1);
  Value before = i32c(0), foundExpert = none, foundStart = none,
        foundEnd = none;
  for (int64_t c0 = 0; c0 < p.experts; c0 += 32) {
    Value e = add(lane32, i32c(c0));
    Value valid = cmp(arith::CmpIPredicate::slt, e, i32c(p.experts));
    Value eSafe = arith::MinSIOp::create(b, e, i32c(p.experts - 1));
    Value eIdx = arith::IndexCastOp::create(b, b.getIndexType(), eSafe);
    Value lo = load(offsets, eIdx);
    Value hi = load(offsets, add(eIdx, idx(1)));
    Value tiles = arith::SelectOp::create(
        b, valid, div(add(sub(hi, lo), i32c(p.tokens - 1)), i32c(p.tokens)),
        i32c(0));
    Value incl = tiles;
    for (int32_t d = 1; d < 32; d *= 2) {
      auto up = gpu::ShuffleOp::create(b, incl, d, 32, gpu::ShuffleMode::UP);
      Value has = cmp(arith::CmpIPredicate::uge, lane32, i32c(d));
      incl = add(incl, arith::SelectOp::create(b, has, up.getShuffleResult(),
                                               i32c(0)));
    }
    Value first = add(before, sub(incl, tiles));
    Value mine = arith::AndIOp::create(
        b, cmp(arith::CmpIPredicate::sge, by32, first),
        cmp(arith::CmpIPredicate::slt, by32, add(before, incl)));
    auto pick = [&](Value yes, Value no) -> Value {
      return arith::SelectOp::create(b, mine, yes, no);
    };
    foundExpert = pick(e, foundExpert);
    foundStart =
        pick(add(lo, mul(sub(by32, first), i32c(p.tokens))), foundStart);
    foundEnd = pick(hi, foundEnd);
    auto total = gpu::ShuffleOp::create(b, incl, 31, 32, gpu::ShuffleMode::IDX);
    before = add(before, total.getShuffleResult());
  }
  auto warpMax = [&](Value v) -> Value {
    for (int32_t off = 16; off > 0; off /= 2) {
      auto x = gpu::ShuffleOp::create(b, v, off, 32, gpu::ShuffleMode::XOR);
      v = arith::MaxSIOp::create(b, v, x.getShuffleResult());
    }
    return arith::IndexCastOp::create(b, b.getIndexType(),
                                      arith::MaxSIOp::create(b, v, i32c(0)));
  };
  // No lane found a tile: expert 0, start = end = 0, so the block exits.
  expert = warpMax(foundExpert);
  start = warpMax(foundStart);
  end = warpMax(foundEnd);
  if (total)
    *total = before;
}
