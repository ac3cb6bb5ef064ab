//===- MmaSpEpilogue.cpp - mma.sp epilogues -----------------------------===//
//
// What an mma_sp block writes at the end: the fused epilogue, or the
// split-K variant's raw partial sums.
//
//===----------------------------------------------------------------------===//

#include "MmaSpEmitter.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

Value MmaSpEmitter::fragmentToken(int64_t f, int64_t v) {
  return add(add(tokenBase, idx(f * 8)), add(mul(tig, idx(2)), idx(v % 2)));
}

Value MmaSpEmitter::outputRow(int64_t r, int64_t mIdx, int64_t v) {
  Value kept = add(mul(keptTile(r), idx(16)), add(group, idx(8 * (v / 2))));
  return p.rowSelect ? add(mul(kept, idx(p.m)), idx(mIdx)) : kept;
}

void MmaSpEmitter::emitEpilogue(ArrayRef<Value> carried) {
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

void MmaSpEmitter::emitPartials(ArrayRef<Value> carried) {
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

void MmaSpEmitter::findTokenTile(Value by, Value &end, Value *total) {
  TokenTile tile =
      detail::findTokenTile(b, offsets, lane, by, p.experts, p.tokens);
  expert = tile.expert;
  start = tile.start;
  end = tile.end;
  if (total)
    *total = tile.total;
}
