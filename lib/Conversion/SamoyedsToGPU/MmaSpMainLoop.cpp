//===- MmaSpMainLoop.cpp - mma.sp pipeline and multiplies --------------===//
//
// The body of the expert-matmul K loop: the asynchronous copies of one
// pipeline stage (weight fragments, metadata, row choices, gathered
// activations), the mma.sp of a stage (samoyeds_nvgpu.mma_sp on vector
// accumulators) and the span-end routing of row selection.
//
//===----------------------------------------------------------------------===//

#include "MmaSpEmitter.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

SmallVector<Value> MmaSpEmitter::issueStageLoad(const Tile &t, Value kt,
                                                Value stage) {
  auto token = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  SmallVector<Value> tokens;
  // The warp's own weight fragments and metadata for the stage: one 16-byte
  // copy per lane and k step (values), one 4-byte copy per lane < 16 (meta).
  // Each copy's source is computed from its tile's k step: as a common base
  // plus constant offsets, the guarded metadata copies became blocks so
  // small that LLVM duplicated them, and ptxas spilled in a persistent
  // kernel at 255 registers.
  int64_t steps = p.kTile / 32;
  Value warpTileIdx = warpWeightTile(t);
  Value isMetaLane = cmp(arith::CmpIPredicate::ult, lane, idx(16));
  for (int64_t u = 0; u < p.units(); ++u) {
    for (int64_t ks = 0; ks < steps; ++ks) {
      // The warps of a row tile take turns copying its fragments.
      int64_t copier = (u * steps + ks) % p.tokenWarps;
      OpBuilder::InsertionGuard guard(b);
      if (p.tokenWarps > 1) {
        auto ifOp = scf::IfOp::create(
            b, cmp(arith::CmpIPredicate::eq, tokenWarp, idx(copier)),
            /*withElseRegion=*/false);
        b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      }
      Value tileStep =
          add(mul(add(warpTileIdx, idx(unitTileOffset(u))), idx(p.kSteps)),
              add(mul(kt, idx(steps)), idx(ks)));
      Value copy = nvgpu::DeviceAsyncCopyOp::create(
          b, token, smemA,
          ValueRange{stage, warp, idx(u), idx(ks), lane, idx(0)}, values,
          ValueRange{mul(add(mul(tileStep, idx(32)), lane), idx(4))},
          b.getIndexAttr(4), Value(), b.getUnitAttr());
      if (p.tokenWarps == 1)
        tokens.push_back(copy);
      ifThen(isMetaLane, [&] {
        nvgpu::DeviceAsyncCopyOp::create(
            b, token, smemMeta, ValueRange{stage, warp, idx(u), idx(ks), lane},
            meta, ValueRange{add(mul(tileStep, idx(16)), lane)},
            b.getIndexAttr(1), Value(), UnitAttr());
      });
    }
  }
  if (p.masked) {
    // Each span's choices of the unit's 16 kept rows: 16 contiguous bytes.
    int64_t sps = p.spansPerStage();
    Value span = p.v >= p.kTile ? div(mul(kt, idx(p.kTile)), idx(p.v))
                                : add(mul(kt, idx(sps)), lane);
    Value rowsBase = add(spanRows(t, span), mul(warpTile(t), idx(16)));
    for (int64_t u = 0; u < p.units(); ++u) {
      int64_t copier = u % p.tokenWarps;
      Value mine = cmp(arith::CmpIPredicate::ult, lane, idx(sps));
      if (p.tokenWarps > 1)
        mine = arith::AndIOp::create(
            b, mine, cmp(arith::CmpIPredicate::eq, tokenWarp, idx(copier)));
      ifThen(mine, [&] {
        nvgpu::DeviceAsyncCopyOp::create(
            b, token, smemRows, ValueRange{stage, warp, idx(u), lane, idx(0)},
            rowIdx, ValueRange{add(rowsBase, idx(unitTileOffset(u) * 16))},
            b.getIndexAttr(16), Value(), b.getUnitAttr());
      });
    }
  }
  Value kOff = mul(kt, idx(p.kTile));
  for (const CopySlot &c : t.copies) {
    auto body = [&] {
      return nvgpu::DeviceAsyncCopyOp::create(
          b, token, smem, ValueRange{stage, c.row, c.col}, input,
          ValueRange{add(c.srcBase, kOff)}, b.getIndexAttr(8), c.srcElems,
          b.getUnitAttr());
    };
    if (c.guard)
      ifThen(c.guard, body);
    else
      tokens.push_back(body());
  }
  return tokens;
}

SmallVector<Value> MmaSpEmitter::loadARegisters(Value stage, int64_t u,
                                                int64_t ks) {
  Value a = vector::LoadOp::create(
      b, VectorType::get({4}, b.getI32Type()), smemA,
      ValueRange{stage, warp, idx(u), idx(ks), lane, idx(0)},
      /*nontemporal=*/false, llvm::MaybeAlign(16));
  SmallVector<Value> sets{a};
  if (!p.masked)
    return sets;
  // Registers 0 and 2 hold row `group` of the tile, 1 and 3 row `group` + 8
  // (docs/Format.md). The masks are applied register by register: as one
  // vector and, LLVM's code needed up to 28 more registers (ptxas -v).
  Value spanInStage = idx(p.v < p.kTile ? ks * 32 / p.v : 0);
  Value which[2];
  for (int64_t rr = 0; rr < 2; ++rr)
    which[rr] = arith::ExtUIOp::create(
        b, b.getI32Type(),
        memref::LoadOp::create(b, smemRows,
                               ValueRange{stage, warp, idx(u), spanInStage,
                                          add(group, idx(8 * rr))}));
  for (int64_t j = 1; j < p.m; ++j) {
    Value mask[2];
    for (int64_t rr = 0; rr < 2; ++rr)
      mask[rr] = select(cmp(arith::CmpIPredicate::eq, which[rr], i32c(j)),
                        i32c(-1), i32c(0));
    SmallVector<Value, 4> masked;
    for (int64_t i = 0; i < 4; ++i)
      masked.push_back(arith::AndIOp::create(
          b, vector::ExtractOp::create(b, a, i), mask[i % 2]));
    sets.push_back(vector::FromElementsOp::create(b, a.getType(), masked));
  }
  return sets;
}

void MmaSpEmitter::computeStage(const Tile &t, Value kt, Value stage,
                                SmallVectorImpl<Value> &carried) {
  auto bFragType = VectorType::get({4, 2}, p.elt);
  int64_t steps = p.kTile / 32;
  for (int64_t ks = 0; ks < steps; ++ks) {
    // aRegs[u][j]: unit u's A registers for accumulator set j (masked row
    // selection: set 0 unmasked, set j > 0 keeps the rows whose span chose
    // row j of their group; otherwise one set).
    SmallVector<SmallVector<Value>> aRegs;
    SmallVector<Value> metaRegs;
    for (int64_t u = 0; u < p.units(); ++u) {
      aRegs.push_back(loadARegisters(stage, u, ks));
      metaRegs.push_back(memref::LoadOp::create(
          b, smemMeta, ValueRange{stage, warp, idx(u), idx(ks), metaLane}));
    }
    for (int64_t f = 0; f < nFrags(); ++f) {
      Value frag = nvgpu::LdMatrixOp::create(
          b, bFragType, smem,
          ValueRange{stage, add(ldRow, idx(f * 8)), add(ldCol, idx(ks * 32))},
          /*transpose=*/false, /*numTiles=*/4);
      for (int64_t u = 0; u < p.units(); ++u) {
        for (auto [j, a] : llvm::enumerate(aRegs[u])) {
          Value &acc = carried[p.rowSelect && !p.masked ? partialIndex(u, f)
                                                        : accIndex(u, j, f)];
          acc = samoyeds_nvgpu::MmaSpOp::create(b, acc.getType(), acc, a, frag,
                                                metaRegs[u]);
        }
      }
    }
    if (!p.rowSelect || p.masked)
      continue;
    // Span ends fall at fixed steps of a stage (v divides k or k divides v).
    int64_t kDone = (ks + 1) * 32;
    if (p.v <= p.kTile) {
      if (kDone % p.v == 0)
        routeSpan(t, div(add(mul(kt, idx(p.kTile)), idx(kDone - 1)), idx(p.v)),
                  Value(), carried);
    } else if (ks == steps - 1) {
      int64_t stagesPerSpan = p.v / p.kTile;
      Value next = add(kt, idx(1));
      Value isEnd =
          cmp(arith::CmpIPredicate::eq, rem(next, idx(stagesPerSpan)), idx(0));
      routeSpan(t, div(kt, idx(stagesPerSpan)), isEnd, carried);
    }
  }
}

void MmaSpEmitter::routeSpan(const Tile &t, Value spanIdx, Value isEnd,
                             SmallVectorImpl<Value> &carried) {
  // Values 0 and 1 of a fragment are the thread's kept row `group`, 2 and 3
  // row `group` + 8: each adds into the accumulator of the group row its
  // span chose.
  Value zero = f32Splat(4, 0.0);
  auto maskType = VectorType::get({4}, b.getI1Type());
  Value rows = add(spanRows(t, spanIdx), add(mul(warpTile(t), idx(16)), group));
  for (int64_t u = 0; u < p.units(); ++u) {
    Value which[2];
    for (int64_t rr = 0; rr < 2; ++rr)
      which[rr] = arith::ExtUIOp::create(
          b, b.getI32Type(),
          load(rowIdx, add(rows, idx(unitTileOffset(u) * 16 + 8 * rr))));
    for (int64_t mIdx = 0; mIdx < p.m; ++mIdx) {
      Value hit[2];
      for (int64_t rr = 0; rr < 2; ++rr) {
        hit[rr] = cmp(arith::CmpIPredicate::eq, which[rr], i32c(mIdx));
        if (isEnd)
          hit[rr] = arith::AndIOp::create(b, hit[rr], isEnd);
      }
      Value mask = vector::FromElementsOp::create(
          b, maskType, ValueRange{hit[0], hit[0], hit[1], hit[1]});
      for (int64_t f = 0; f < nFrags(); ++f) {
        Value addend =
            arith::SelectOp::create(b, mask, carried[partialIndex(u, f)], zero);
        Value &acc = carried[accIndex(u, mIdx, f)];
        acc = arith::AddFOp::create(b, acc, addend);
      }
    }
    for (int64_t f = 0; f < nFrags(); ++f) {
      Value &part = carried[partialIndex(u, f)];
      part = isEnd ? arith::SelectOp::create(b, isEnd, zero, part).getResult()
                   : zero;
    }
  }
}
