//===- MmaSpEpilogue.cpp - mma.sp epilogues -----------------------------===//
//
// What an mma_sp block writes at the end: the fused epilogue, or the
// split-K variant's raw partial sums. The accumulator vectors are taken apart
// at the stores, which are grouped by output column (one guard each).
//
//===----------------------------------------------------------------------===//

#include "MmaSpEmitter.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

Value MmaSpEmitter::rowValue(ArrayRef<Value> carried, int64_t u, int64_t mIdx,
                             int64_t f) {
  if (!p.masked || mIdx != 0)
    return carried[accIndex(u, mIdx, f)];
  Value total = carried[accIndex(u, 0, f)];
  for (int64_t j = 1; j < p.m; ++j)
    total = arith::SubFOp::create(b, total, carried[accIndex(u, j, f)]);
  return total;
}

template <typename Fn>
void MmaSpEmitter::forEachColumn(const Tile &t, Fn store) {
  // Value v of n-fragment f is token f · 8 + 2 · (lane % 4) + v % 2 of the
  // warp's slice (mma C layout): values v and v + 2 share a column.
  Value first = add(tokenBase, mul(tig, idx(2)));
  for (int64_t f = 0; f < nFrags(); ++f)
    for (int64_t parity = 0; parity < 2; ++parity) {
      Value col = add(first, idx(f * 8 + parity));
      ifThen(cmp(arith::CmpIPredicate::ult, col, t.count),
             [&] { store(f, parity, col); });
    }
}

/// Value v of a fragment of unit r's tile for group row mIdx is output row
/// (16 · (warp tile + r) + group + 8 · (v / 2)) · m + mIdx within its half
/// (the kept row itself without row selection): `rowBase` plus this.
static int64_t outputRowOffset(const SSMMPlan &p, int64_t r, int64_t mIdx,
                               int64_t v) {
  int64_t kept = 16 * r + 8 * (v / 2);
  return p.rowSelect ? kept * p.m + mIdx : kept;
}

Value MmaSpEmitter::biasValues(const Tile &t, Value rowBase, int64_t u,
                               int64_t mIdx) {
  // Rows of half u / rowTiles: the bias rows [half · outCols, ...) of the
  // expert's `rows`.
  Value base = add(mul(t.expert, idx(p.rows)),
                   add(idx(u / p.rowTiles * p.outCols), rowBase));
  SmallVector<Value> values;
  for (int64_t v = 0; v < 4; v += 2) {
    Value at = add(base, idx(outputRowOffset(p, u % p.rowTiles, mIdx, v)));
    Value value = toF32(load(SSMMArgs::bias, at));
    values.append({value, value});
  }
  return vector::FromElementsOp::create(b, VectorType::get({4}, b.getF32Type()),
                                        values);
}

Value MmaSpEmitter::unitValue(ArrayRef<Value> carried, int64_t u, int64_t mIdx,
                              int64_t f, ArrayRef<Value> biases) {
  Value value = rowValue(carried, u, mIdx, f);
  if (!biases.empty())
    value =
        arith::AddFOp::create(b, value, biases[u * p.accsPerValue() + mIdx]);
  return value;
}

Value MmaSpEmitter::threadRowBase(const Tile &t) {
  return mul(add(mul(warpTile(t), idx(16)), group), idx(p.rowSelect ? p.m : 1));
}

SmallVector<Value> MmaSpEmitter::loadBiases(const Tile &t) {
  SmallVector<Value> biases;
  if (!p.bias)
    return biases;
  Value rowBase = threadRowBase(t);
  for (int64_t u = 0; u < p.units(); ++u)
    for (int64_t mIdx = 0; mIdx < p.accsPerValue(); ++mIdx)
      biases.push_back(biasValues(t, rowBase, u, mIdx));
  return biases;
}

void MmaSpEmitter::emitEpilogue(const Tile &t, ArrayRef<Value> carried) {
  if (p.split())
    return emitPartials(t, carried);
  SmallVector<Value> biases = loadBiases(t);
  // Unit r (gate, or the only half) pairs with unit rowTiles + r (up).
  SmallVector<Value> results;
  for (int64_t r = 0; r < p.rowTiles; ++r)
    for (int64_t mIdx = 0; mIdx < p.accsPerValue(); ++mIdx)
      for (int64_t f = 0; f < nFrags(); ++f) {
        Value value = unitValue(carried, r, mIdx, f, biases);
        if (p.siluMul)
          value = gated(
              value,
              [&] {
                return unitValue(carried, p.rowTiles + r, mIdx, f, biases);
              },
              p.act);
        results.push_back(value);
      }
  Value rowBase = threadRowBase(t);
  forEachColumn(t, [&](int64_t f, int64_t parity, Value col) {
    Value base = add(mul(add(t.start, col), idx(p.outCols)), rowBase);
    for (int64_t r = 0; r < p.rowTiles; ++r)
      for (int64_t mIdx = 0; mIdx < p.accsPerValue(); ++mIdx)
        for (int64_t v = parity; v < 4; v += 2) {
          Value value = vector::ExtractOp::create(
              b, results[(r * p.accsPerValue() + mIdx) * nFrags() + f], v);
          if (p.outElt != value.getType())
            value = arith::TruncFOp::create(b, p.outElt, value);
          memref::StoreOp::create(
              b, value, out,
              ValueRange{add(base, idx(outputRowOffset(p, r, mIdx, v)))});
        }
  });
}

void MmaSpEmitter::emitPartials(const Tile &t, ArrayRef<Value> carried) {
  // Workspace row (slice, slot) holds the `rows` raw sums of one slot: both
  // halves of silu_mul, gate first. Slice 0's sums carry the bias.
  SmallVector<Value> biases = loadBiases(t);
  Value firstSlice =
      p.bias ? cmp(arith::CmpIPredicate::eq, slice, idx(0)) : Value();
  SmallVector<Value> results;
  for (int64_t u = 0; u < p.units(); ++u)
    for (int64_t mIdx = 0; mIdx < p.accsPerValue(); ++mIdx)
      for (int64_t f = 0; f < nFrags(); ++f) {
        Value raw = rowValue(carried, u, mIdx, f);
        if (p.bias)
          raw = select(firstSlice, unitValue(carried, u, mIdx, f, biases), raw);
        results.push_back(raw);
      }
  Value rowBase = threadRowBase(t);
  forEachColumn(t, [&](int64_t f, int64_t parity, Value col) {
    Value wsRow = add(mul(slice, idx(p.splitSlots)), add(t.start, col));
    Value base = add(mul(wsRow, idx(p.rows)), rowBase);
    for (int64_t u = 0; u < p.units(); ++u)
      for (int64_t mIdx = 0; mIdx < p.accsPerValue(); ++mIdx)
        for (int64_t v = parity; v < 4; v += 2) {
          // Within its half: the gate unit of the same row tile.
          int64_t offset = u / p.rowTiles * p.outCols +
                           outputRowOffset(p, u % p.rowTiles, mIdx, v);
          Value value = vector::ExtractOp::create(
              b, results[(u * p.accsPerValue() + mIdx) * nFrags() + f], v);
          memref::StoreOp::create(b, value, out,
                                  ValueRange{add(base, idx(offset))});
        }
  });
}

MmaSpEmitter::Tile MmaSpEmitter::findTokenTile(Value tile, Value &end,
                                               Value *total) {
  TokenTile found =
      detail::findTokenTile(b, offsets, lane, tile, p.experts, p.tokens);
  end = found.end;
  if (total)
    *total = found.total;
  Tile t;
  t.expert = found.expert;
  t.start = found.start;
  return t;
}
