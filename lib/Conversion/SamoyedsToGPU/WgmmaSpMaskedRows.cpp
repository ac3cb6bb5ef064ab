//===- WgmmaSpMaskedRows.cpp - Row selection by masked group rows ---------===//
//
// Masked row selection (#samoyeds.tile's row_masks = 1): a consumer
// multiplies its unit's 64 · m group rows as m 64-row tiles instead of the 64
// kept rows. Tile row 16 · warp + g + 8 h is group row 64 q + 16 · warp +
// 2 g + h, so both of a thread's rows belong to one group (m divides 16):
// the thread loads that group's kept row from the stage's weight block (the
// bulk-copied, 128-byte-swizzled `wgmma` layout) into the A registers of
// both rows, zero in the row the span did not choose (the row choices
// arrive with the stage), duplicates the kept row's metadata for both rows,
// and issues wgmma_sp_rs (A from registers). The MMAs chain like the plain
// ones: no span routing, m accumulator sets.
//
//===----------------------------------------------------------------------===//

#include "WgmmaSpEmitter.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

Value WgmmaSpEmitter::maskedKeptRow(int64_t q) {
  // Tile row 16 w + g + 8 h is group row 64 q + 16 w + 2 g + h of the unit:
  // both of the thread's rows belong to one group (m divides 16).
  return div(
      add(idx(Wgmma::kRows * q), add(mul(warp, idx(16)), mul(group, idx(2)))),
      idx(p.m));
}

WgmmaSpEmitter::MaskedOperands WgmmaSpEmitter::loadMaskedStage(Value slot) {
  int64_t steps = p.kTile / 32;
  Value ring = add(mul(slot, idx(layout.units)), unit);
  Value bBase = descriptor(arith::AddIOp::create(
      b, base, toI64(add(idx(layout.bRing), mul(slot, idx(layout.bStage))))));
  MaskedOperands ops;
  for (int64_t ks = 0; ks < steps; ++ks)
    ops.descB.push_back(arith::AddIOp::create(
        b, bBase, i64c((ks / 2 * p.tokens * 128 + ks % 2 * 64) >> 4)));
  MaskedStage stage;
  stage.aWords = mul(ring, idx(layout.aStage / 4));
  stage.metaWords = mul(ring, idx(layout.metaStage / 4));
  stage.choices = mul(ring, idx(layout.choiceStage));
  // The group members of the thread's two rows: 2 g % m and 2 g % m + 1.
  Value member = arith::IndexCastOp::create(b, b.getI32Type(),
                                            rem(mul(group, idx(2)), idx(p.m)));
  stage.members[0] = member;
  stage.members[1] = arith::AddIOp::create(b, member, i32c(1));
  for (int64_t q = 0; q < p.m; ++q)
    loadMaskedTile(q, stage, ops);
  return ops;
}

void WgmmaSpEmitter::loadMaskedTile(int64_t q, const MaskedStage &stage,
                                    MaskedOperands &ops) {
  int64_t steps = p.kTile / 32;
  Value zero = i32c(0);
  auto vecType = VectorType::get({4}, b.getI32Type());
  Value kr = maskedKeptRow(q);
  Value swizzle = rem(kr, idx(8));
  Value rowWords = add(stage.aWords, mul(kr, idx(Wgmma::kBlockCols / 4)));
  // Kept row kr's metadata: warp kr / 16's word 2 (kr % 8) + k half, in the
  // half (kr % 16) / 8; both of the thread's rows take it.
  Value metaWord =
      add(stage.metaWords, add(mul(div(kr, idx(16)), idx(16)),
                               add(mul(swizzle, idx(2)), rem(quad, idx(2)))));
  Value shift = arith::IndexCastOp::create(
      b, b.getI32Type(), mul(div(rem(kr, idx(16)), idx(8)), idx(16)));
  SmallVector<Value> choice;
  for (int64_t s = 0; s < WgmmaSpLayout::choiceSpans(p); ++s)
    choice.push_back(arith::ExtUIOp::create(
        b, b.getI32Type(),
        load(sChoice,
             add(stage.choices,
                 add(idx(s * TileConfigAttr::kWgmmaRowChoiceBytes), kr)))));
  for (int64_t ks = 0; ks < steps; ++ks) {
    // Columns 2 t, 2 t + 1 and 2 t + 8, 2 t + 9 of the step's 16 compressed
    // ones: 16-byte chunks 2 (ks % 4) and 2 (ks % 4) + 1 of the row,
    // swizzled by kr % 8.
    Value words[2];
    for (int64_t c = 0; c < 2; ++c) {
      Value chunk = arith::XOrIOp::create(
          b, idx(2 * (ks % Wgmma::kStepsPerBlock) + c), swizzle);
      words[c] = load(sA, add(add(rowWords, idx(ks / Wgmma::kStepsPerBlock *
                                                Wgmma::kBlockBytes / 4)),
                              add(mul(chunk, idx(4)), quad)));
    }
    Value chosen = choice[ks * 32 / std::min(p.v, p.kTile)];
    Value hit[2] = {cmp(arith::CmpIPredicate::eq, chosen, stage.members[0]),
                    cmp(arith::CmpIPredicate::eq, chosen, stage.members[1])};
    // Registers 0, 2: the first row; 1, 3: the row 8 below.
    ops.a.push_back(vector::FromElementsOp::create(
        b, vecType,
        ValueRange{
            select(hit[0], words[0], zero), select(hit[1], words[0], zero),
            select(hit[0], words[1], zero), select(hit[1], words[1], zero)}));
    Value word = arith::ShRUIOp::create(
        b, load(sMeta, add(metaWord, idx(ks * 64))), shift);
    Value half = arith::AndIOp::create(b, word, i32c(0xFFFF));
    ops.metas.push_back(arith::OrIOp::create(
        b, half, arith::ShLIOp::create(b, half, i32c(16))));
  }
}

void WgmmaSpEmitter::consumeMasked(Value i, Value use,
                                   SmallVectorImpl<Value> &sets) {
  // As consumePlain: stage i - 1's MMAs read their A and metadata registers
  // until they are done.
  SmallVector<Value> done = waitMma(sets, 0);
  ifThen(cmp(arith::CmpIPredicate::ugt, i, idx(0)), [&] {
    releaseSlot(rem(add(use, idx(layout.stages - 1)), idx(layout.stages)));
  });
  MaskedOperands ops = loadMaskedStage(rem(use, idx(layout.stages)));
  int64_t steps = p.kTile / 32;
  Value yes = i1c(true);
  // Scale-d false restarts the sets at the first k tile.
  Value scale =
      arith::XOrIOp::create(b, cmp(arith::CmpIPredicate::eq, i, idx(0)), yes);
  NVVM::WgmmaFenceAlignedOp::create(b);
  for (int64_t ks = 0; ks < steps; ++ks)
    for (int64_t q = 0; q < p.m; ++q)
      done[q] = samoyeds_nvgpu::WgmmaSpRsOp::create(
          b, done[q].getType(), done[q], ops.a[q * steps + ks], ops.descB[ks],
          ops.metas[q * steps + ks], ks == 0 ? scale : yes,
          b.getI64IntegerAttr(mmaTokens), TypeAttr::get(p.elt),
          b.getI64IntegerAttr(0));
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  sets.assign(done.begin(), done.end());
}
