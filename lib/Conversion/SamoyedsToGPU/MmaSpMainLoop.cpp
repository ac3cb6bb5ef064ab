//===- MmaSpMainLoop.cpp - mma.sp pipeline and multiplies --------------===//
//
// The body of the expert-matmul K loop: the asynchronous copies of one
// pipeline stage (weight fragments, metadata, row choices, gathered
// activations), the mma.sp of a stage and the span-end routing of row
// selection.
//
//===----------------------------------------------------------------------===//

#include "MmaSpEmitter.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

Value MmaSpEmitter::keptTile(int64_t u) {
  int64_t h = u / p.rowTiles, r = u % p.rowTiles;
  return add(idx(h * p.keptTilesPerHalf + r),
             add(blockRows, mul(warp, idx(p.rowTiles))));
}

Value MmaSpEmitter::weightTile(int64_t u) {
  return add(mul(expert, idx(p.keptRows / 16)), keptTile(u));
}

void MmaSpEmitter::issueStageLoad(Value kt, Value stage) {
  // The warp's own weight fragments and metadata for the stage: one 16-byte
  // copy per lane and k-step (values), one 4-byte copy per lane < 16 (meta).
  int64_t stepsPerStage = p.kTile / 32;
  Value isMetaLane = cmp(arith::CmpIPredicate::ult, lane, idx(16));
  for (int64_t u = 0; u < p.units(); ++u) {
    for (int64_t ks = 0; ks < stepsPerStage; ++ks) {
      // The warps of a row tile take turns copying its fragments.
      int64_t copier = (u * stepsPerStage + ks) % p.tokenWarps;
      OpBuilder::InsertionGuard guard(b);
      if (p.tokenWarps > 1) {
        auto ifOp = scf::IfOp::create(
            b, cmp(arith::CmpIPredicate::eq, tokenWarp, idx(copier)),
            /*withElseRegion=*/false);
        b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      }
      Value kstep = add(mul(kt, idx(stepsPerStage)), idx(ks));
      Value tileStep = add(mul(weightTile(u), idx(p.kSteps)), kstep);
      nvgpu::DeviceAsyncCopyOp::create(
          b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), smemA,
          ValueRange{stage, warp, idx(u), idx(ks), lane, idx(0)}, values,
          ValueRange{mul(add(mul(tileStep, idx(32)), lane), idx(4))},
          b.getIndexAttr(4), Value(), b.getUnitAttr());
      ifThen(isMetaLane, [&] {
        nvgpu::DeviceAsyncCopyOp::create(
            b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), smemMeta,
            ValueRange{stage, warp, idx(u), idx(ks), lane}, meta,
            ValueRange{add(mul(tileStep, idx(16)), lane)}, b.getIndexAttr(1),
            Value(), UnitAttr());
      });
    }
  }
  if (p.masked) {
    // Each span's choices of the unit's 16 kept rows: 16 contiguous bytes.
    int64_t sps = p.spansPerStage();
    for (int64_t u = 0; u < p.units(); ++u) {
      int64_t copier = u % p.tokenWarps;
      Value mine = cmp(arith::CmpIPredicate::ult, lane, idx(sps));
      if (p.tokenWarps > 1)
        mine = arith::AndIOp::create(
            b, mine, cmp(arith::CmpIPredicate::eq, tokenWarp, idx(copier)));
      ifThen(mine, [&] {
        Value span = p.v >= p.kTile ? div(mul(kt, idx(p.kTile)), idx(p.v))
                                    : add(mul(kt, idx(sps)), lane);
        Value src =
            add(mul(add(mul(expert, idx(p.cols / p.v)), span), idx(p.keptRows)),
                mul(keptTile(u), idx(16)));
        nvgpu::DeviceAsyncCopyOp::create(
            b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), smemRows,
            ValueRange{stage, warp, idx(u), lane, idx(0)}, rowIdx,
            ValueRange{src}, b.getIndexAttr(16), Value(), b.getUnitAttr());
      });
    }
  }
  Value kOff = mul(kt, idx(p.kTile));
  for (CopySlot &c : copies) {
    auto body = [&] {
      nvgpu::DeviceAsyncCopyOp::create(
          b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), smem,
          ValueRange{stage, c.row, c.col}, input,
          ValueRange{add(c.srcBase, kOff)}, b.getIndexAttr(8), c.srcElems,
          b.getUnitAttr());
    };
    if (c.guard)
      ifThen(c.guard, body);
    else
      body();
  }
}

void MmaSpEmitter::computeStage(Value kt, Value stage,
                                SmallVectorImpl<Value> &carried) {
  auto bFragType = VectorType::get({4, 2}, p.elt);
  auto resType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(4, b.getF32Type()));
  NVVM::MMATypes ptxType =
      p.elt.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  Value selector = i32c(0);
  int64_t stepsPerStage = p.kTile / 32;
  for (int64_t ks = 0; ks < stepsPerStage; ++ks) {
    // aRegs[u][j]: unit u's A registers for accumulator set j (masked row
    // selection: set 0 unmasked, set j > 0 keeps the rows whose span chose
    // row j of their group; otherwise one set).
    int64_t sets = p.masked ? p.m : 1;
    SmallVector<SmallVector<SmallVector<Value>>> aRegs(
        p.units(), SmallVector<SmallVector<Value>>(sets));
    SmallVector<Value> metaRegs(p.units());
    for (int64_t u = 0; u < p.units(); ++u) {
      Value aVec = vector::LoadOp::create(
          b, VectorType::get({4}, b.getI32Type()), smemA,
          ValueRange{stage, warp, idx(u), idx(ks), lane, idx(0)},
          /*nontemporal=*/false, llvm::MaybeAlign(16));
      SmallVector<Value> raw;
      for (int64_t i = 0; i < 4; ++i)
        raw.push_back(vector::ExtractOp::create(b, aVec, i));
      for (Value r : raw)
        aRegs[u][0].push_back(mmaOperand(r));
      if (p.masked) {
        // Registers 0 and 2 hold row `group` of the tile, 1 and 3 row
        // `group` + 8 (docs/Format.md).
        Value spanInStage = idx(p.v < p.kTile ? ks * 32 / p.v : 0);
        Value which[2];
        for (int64_t rr = 0; rr < 2; ++rr)
          which[rr] = arith::ExtUIOp::create(
              b, b.getI32Type(),
              memref::LoadOp::create(b, smemRows,
                                     ValueRange{stage, warp, idx(u),
                                                spanInStage,
                                                add(group, idx(8 * rr))}));
        for (int64_t j = 1; j < p.m; ++j) {
          Value mask[2];
          for (int64_t rr = 0; rr < 2; ++rr)
            mask[rr] = arith::SelectOp::create(
                b, cmp(arith::CmpIPredicate::eq, which[rr], i32c(j)), i32c(-1),
                i32c(0));
          for (int64_t i = 0; i < 4; ++i)
            aRegs[u][j].push_back(mmaOperand(
                arith::AndIOp::create(b, raw[i], mask[i & 1]).getResult()));
        }
      }
      Value metaLane = add(mul(group, idx(2)), rem(tig, idx(2)));
      metaRegs[u] = memref::LoadOp::create(
          b, smemMeta, ValueRange{stage, warp, idx(u), idx(ks), metaLane});
    }
    for (int64_t f = 0; f < nFrags(); ++f) {
      // Lanes 8j..8j+7 address the rows of matrix j (k offset 8j).
      Value row = add(add(tokenBase, idx(f * 8)), rem(lane, idx(8)));
      Value col = add(idx(ks * 32), mul(div(lane, idx(8)), idx(8)));
      Value frag = nvgpu::LdMatrixOp::create(b, bFragType, smem,
                                             ValueRange{stage, row, col},
                                             /*transpose=*/false,
                                             /*numTiles=*/4);
      SmallVector<Value> bRegs;
      for (int64_t i = 0; i < 4; ++i)
        bRegs.push_back(mmaOperand(vector::ExtractOp::create(b, frag, i)));
      for (int64_t u = 0; u < p.units(); ++u) {
        for (int64_t j = 0; j < sets; ++j) {
          auto slot = [&](int64_t v) {
            return p.rowSelect && !p.masked ? partialIndex(u, f, v)
                                            : accIndex(u, j, f, v);
          };
          SmallVector<Value> c;
          for (int64_t v = 0; v < 4; ++v)
            c.push_back(carried[slot(v)]);
          auto mma = NVVM::MmaSpOp::create(
              b, resType, aRegs[u][j], bRegs, c, metaRegs[u], selector,
              {16, 8, 32}, std::nullopt,
              std::array<NVVM::MMATypes, 2>{ptxType, ptxType});
          mma.setOrderedMetadata(true);
          for (int64_t v = 0; v < 4; ++v)
            carried[slot(v)] = LLVM::ExtractValueOp::create(b, mma.getRes(), v);
        }
      }
    }
    if (!p.rowSelect || p.masked)
      continue;
    // Span ends fall at fixed steps of a stage (v divides k or k divides v).
    int64_t kDone = (ks + 1) * 32;
    if (p.v <= p.kTile) {
      if (kDone % p.v == 0)
        routeSpan(div(add(mul(kt, idx(p.kTile)), idx(kDone - 1)), idx(p.v)),
                  Value(), carried);
    } else if (ks == stepsPerStage - 1) {
      int64_t stagesPerSpan = p.v / p.kTile;
      Value next = add(kt, idx(1));
      Value isEnd =
          cmp(arith::CmpIPredicate::eq, rem(next, idx(stagesPerSpan)), idx(0));
      routeSpan(div(kt, idx(stagesPerSpan)), isEnd, carried);
    }
  }
}

void MmaSpEmitter::routeSpan(Value spanIdx, Value isEnd,
                             SmallVectorImpl<Value> &carried) {
  Value zero = f32c(0.0);
  for (int64_t u = 0; u < p.units(); ++u) {
    for (int64_t rr = 0; rr < 2; ++rr) {
      Value kept = add(mul(keptTile(u), idx(16)), add(group, idx(8 * rr)));
      Value which = arith::ExtUIOp::create(
          b, b.getI32Type(),
          load(rowIdx, add(mul(add(mul(expert, idx(p.cols / p.v)), spanIdx),
                               idx(p.keptRows)),
                           kept)));
      for (int64_t mIdx = 0; mIdx < p.m; ++mIdx) {
        Value hit = cmp(arith::CmpIPredicate::eq, which, i32c(mIdx));
        if (isEnd)
          hit = arith::AndIOp::create(b, hit, isEnd);
        for (int64_t f = 0; f < nFrags(); ++f)
          for (int64_t v = 2 * rr; v < 2 * rr + 2; ++v) {
            Value part = carried[partialIndex(u, f, v)];
            Value addend = arith::SelectOp::create(b, hit, part, zero);
            Value &acc = carried[accIndex(u, mIdx, f, v)];
            acc = arith::AddFOp::create(b, acc, addend);
          }
      }
      for (int64_t f = 0; f < nFrags(); ++f)
        for (int64_t v = 2 * rr; v < 2 * rr + 2; ++v) {
          Value &part = carried[partialIndex(u, f, v)];
          part = isEnd
                     ? arith::SelectOp::create(b, isEnd, zero, part).getResult()
                     : zero;
        }
    }
  }
}
