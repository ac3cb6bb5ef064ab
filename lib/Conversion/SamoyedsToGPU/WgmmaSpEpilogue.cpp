//===- WgmmaSpEpilogue.cpp - What a wgmma_sp block writes -----------------===//
//
// Value i of a thread's accumulators is kept row 16 · warp + lane / 4 +
// 8 · ((i % 4) / 2) of its unit (with masked row selection, of a group-row
// tile of it) and token 8 · (i / 4) + 2 · (lane % 4) +
// i % 2 of the tile. Plain and combine epilogues store each value (routed
// row selection the group rows of a kept row together); the split
// variant stores raw f32 partial sums in both halves' columns of its
// workspace row; SiLU·up pairs a gate unit with the up unit of the same rows,
// which hands its accumulators over through shared memory. An expert bias
// (gpt-oss) is added to each value before the activation (the split
// variant's slice 0 only); the activation is the op's (SiLU or gpt-oss's
// clamped SwiGLU).
//
//===----------------------------------------------------------------------===//

#include "WgmmaSpEmitter.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

Value WgmmaSpEmitter::valueToken(int64_t i) {
  return add(idx(8 * (i / 4) + i % 2), mul(quad, idx(2)));
}

Value WgmmaSpEmitter::outputRow(int64_t j, int64_t i) {
  Value r = rem(unit, idx(layout.unitsPerHalf));
  if (p.masked) {
    // Set j is the unit's group-row tile j: its row 16 · warp + g + 8 h is
    // group row 64 j + 16 · warp + 2 g + h (loadMaskedStage).
    Value unitRows = mul(tileInHalf(r), idx(Wgmma::kRows * p.m));
    return add(add(unitRows, idx(Wgmma::kRows * j + (i % 4) / 2)),
               add(mul(warp, idx(16)), mul(group, idx(2))));
  }
  Value kept = add(mul(tileInHalf(r), idx(Wgmma::kRows)),
                   add(mul(warp, idx(16)), add(group, idx(8 * ((i % 4) / 2)))));
  return p.rowSelect ? add(mul(kept, idx(p.m)), idx(j)) : kept;
}

void WgmmaSpEmitter::storeValues(ArrayRef<Value> values, int64_t j, int64_t i) {
  Value col = valueToken(i);
  Value row = outputRow(j, i);
  // Padding kept rows (past the half's, in its last tile) store nothing.
  Value liveRow = p.padsRows()
                      ? cmp(arith::CmpIPredicate::ult, row, idx(p.outCols))
                      : Value();
  if (p.split()) {
    // Workspace row (slice, slot) holds all `rows` sums, gate half first.
    Value half = div(unit, idx(layout.unitsPerHalf));
    row = add(mul(half, idx(p.outCols)), row);
  }
  SmallVector<Value> stored;
  for (Value value : values)
    stored.push_back(value.getType() == p.outElt
                         ? value
                         : arith::TruncFOp::create(b, p.outElt, value));
  Value live = cmp(arith::CmpIPredicate::ult, col, count);
  if (liveRow)
    live = arith::AndIOp::create(b, live, liveRow);
  ifThen(live, [&] {
    Value slot = add(start, col);
    if (p.split())
      slot = add(mul(slice, idx(p.splitSlots)), slot);
    int64_t width = p.split() ? p.rows : p.outCols;
    Value at = add(mul(slot, idx(width)), row);
    if (stored.size() == 1) {
      memref::StoreOp::create(b, stored.front(), out, ValueRange{at});
      return;
    }
    auto type = VectorType::get({int64_t(stored.size())}, p.outElt);
    int64_t bytes = stored.size() * p.outElt.getIntOrFloatBitWidth() / 8;
    vector::StoreOp::create(b, vector::FromElementsOp::create(b, type, stored),
                            out, ValueRange{at}, /*nontemporal=*/false,
                            llvm::MaybeAlign(bytes));
  });
}

SmallVector<Value> WgmmaSpEmitter::unitBiases(Value half) {
  SmallVector<Value> biases;
  if (!p.bias)
    return biases;
  // The split variant's partial sums carry the bias in slice 0 only.
  Value keep =
      p.split() ? cmp(arith::CmpIPredicate::eq, slice, idx(0)) : Value();
  Value rowBase = add(mul(expert, idx(p.rows)), mul(half, idx(p.outCols)));
  for (int64_t j = 0; j < layout.sets; ++j)
    for (int64_t h = 0; h < 2; ++h) {
      // Value i's row depends on (i % 4) / 2 only (outputRow); a padding
      // row (which stores nothing) reads the half's last.
      Value row = outputRow(j, 2 * h);
      if (p.padsRows())
        row = arith::MinUIOp::create(b, row, idx(p.outCols - 1));
      Value value = toF32(load(bias, add(rowBase, row)));
      biases.push_back(keep ? select(keep, value, f32c(0.0)) : value);
    }
  return biases;
}

Value WgmmaSpEmitter::withBias(Value value, ArrayRef<Value> biases, int64_t j,
                               int64_t i) {
  if (biases.empty())
    return value;
  return arith::AddFOp::create(b, value, biases[2 * j + (i % 4) / 2]);
}

void WgmmaSpEmitter::consumerBarrier() {
  NVVM::BarrierOp::create(b, TypeRange{}, i32c(kConsumerBarrier),
                          i32c(layout.consumers * Wgmma::kThreads),
                          NVVM::BarrierReductionAttr(), Value());
}

void WgmmaSpEmitter::emitEpilogue(ArrayRef<Value> rows) {
  int64_t regs = WgmmaSpLayout::regs(p);
  auto element = [&](Value acc, int64_t i) -> Value {
    return vector::ExtractOp::create(b, acc, i);
  };
  // Routed row selection: the m group rows of a kept row are adjacent
  // output rows, stored together (rowsPerStore at a time, one vector store)
  // or back to back so that their writes meet in whole sectors (set by set,
  // the down projection's f32 rows took twice the L2 write sectors and 1.41x
  // the time: H200, OLMoE T = 4096, bench/RESULTS.md §S20). The other tiles
  // store set by set.
  int64_t sets = layout.sets;
  int64_t together = WgmmaSpLayout::rowsPerStore(p);
  auto storeAll = [&](function_ref<Value(int64_t j, int64_t i)> valueAt) {
    if (p.rowSelect && !p.masked) {
      for (int64_t i = 0; i < regs; ++i)
        for (int64_t j = 0; j < sets; j += together) {
          SmallVector<Value> values;
          for (int64_t g = j; g < j + together; ++g)
            values.push_back(valueAt(g, i));
          storeValues(values, j, i);
        }
      return;
    }
    for (int64_t j = 0; j < sets; ++j)
      for (int64_t i = 0; i < regs; ++i)
        storeValues(valueAt(j, i), j, i);
  };
  // ex2 as inline PTX: through its intrinsic LLVM moved it after the
  // exchange loads and the layer ran 1-2% slower on the H200 (mixtral
  // 12v128, T >= 1024).
  auto activate = [&](Value gate, Value up) -> Value {
    return gated(
        gate, [&] { return up; }, p.act, /*asPtx=*/true);
  };
  // SiLU·up with unit pairs: the consumer's first unit is the gate, its
  // second the up unit of the same rows.
  if (WgmmaSpLayout::pairsGateUp(p) && !p.split()) {
    useUnit(0);
    SmallVector<Value> gateBias = unitBiases(idx(0));
    SmallVector<Value> upBias = unitBiases(idx(1));
    storeAll([&](int64_t j, int64_t i) {
      Value up = withBias(element(rows[sets + j], i), upBias, j, i);
      return activate(withBias(element(rows[j], i), gateBias, j, i), up);
    });
    return;
  }
  if (!p.siluMul || p.split()) {
    for (int64_t u = 0; u < p.unitsPerWarpgroup; ++u) {
      useUnit(u);
      SmallVector<Value> biases =
          unitBiases(div(unit, idx(layout.unitsPerHalf)));
      storeAll([&](int64_t j, int64_t i) {
        return withBias(element(rows[u * sets + j], i), biases, j, i);
      });
    }
    return;
  }
  // Exchange slot of value i of set j of the unit pair r:
  // [r][j][i][thread], consecutive threads on consecutive words.
  Value pair = rem(unit, idx(layout.unitsPerHalf));
  auto slotOf = [&](int64_t j, int64_t i) {
    return add(mul(add(mul(pair, idx(rows.size())), idx(j)),
                   idx(regs * Wgmma::kThreads)),
               add(idx(i * Wgmma::kThreads), wgThread));
  };
  Value isUp = cmp(arith::CmpIPredicate::uge, unit, idx(layout.unitsPerHalf));
  // The exchange is free: a block of one tile reuses the rings for it, and
  // every consumer's last MMAs are done (the producer issues nothing after
  // the consumers' last wait); a persistent block's gate units have read the
  // previous tile's exchange.
  consumerBarrier();
  ifThen(isUp, [&] {
    for (auto [j, acc] : llvm::enumerate(rows))
      for (int64_t i = 0; i < regs; ++i)
        memref::StoreOp::create(b, element(acc, i), sExchange,
                                ValueRange{slotOf(j, i)});
  });
  consumerBarrier();
  Value isGate = cmp(arith::CmpIPredicate::ult, unit, idx(layout.unitsPerHalf));
  ifThen(isGate, [&] {
    SmallVector<Value> gateBias = unitBiases(idx(0));
    SmallVector<Value> upBias = unitBiases(idx(1));
    storeAll([&](int64_t j, int64_t i) {
      Value up = withBias(load(sExchange, slotOf(j, i)), upBias, j, i);
      return activate(withBias(element(rows[j], i), gateBias, j, i), up);
    });
  });
}
