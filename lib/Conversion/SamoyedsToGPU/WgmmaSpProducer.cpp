//===- WgmmaSpProducer.cpp - The wgmma_sp producer warpgroup --------------===//
//
// What the producer warpgroup of a wgmma_sp block issues (WgmmaSpEmitter.h
// describes the pipeline): the bulk copies of each stage's weight blocks,
// metadata and row choices, the cp.async gathers of the activation rows
// through the token list (or one bulk copy of packed rows), the weights
// issued or prefetched before the grids in flight are waited for, and in a
// cluster the forwarding of the block's gathered rows to its peer.
//
//===----------------------------------------------------------------------===//

#include "WgmmaSpEmitter.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

void WgmmaSpEmitter::loadTileRows() {
  // Thread t copies chunk t % 8 of each 128-byte column block of the tile's
  // rows t / 8 + 16 · i (a warp copies four whole 128-byte rows at a time):
  // their sources, read once per tile, stay in registers (i32) for all its
  // stages. Rows past the tile's tokens read its last one (their copies
  // zero-fill instead).
  Value r0 = div(wgThread, idx(Wgmma::kChunksPerRow));
  Value last = sub(count, idx(1));
  tileRows.clear();
  for (int64_t r = 0; r < p.tokens; r += kRowsPerPass) {
    Value slot = add(start, arith::MinSIOp::create(b, add(r0, idx(r)), last));
    Value row = p.gather ? loadIndex(tokenList, slot) : slot;
    tileRows.push_back(arith::IndexCastOp::create(b, b.getI32Type(), row));
  }
}

void WgmmaSpEmitter::makeCopySlots(Value producerThread) {
  // Chunk c (16 bytes) of a stage is token row r = c / chunksPerRow, column
  // chunk j: consecutive threads read consecutive chunks of a row, and the
  // row's chunks land in one 128-byte swizzled row of column block j / 8.
  // In a cluster the block gathers its rank's rows alone.
  copies.clear();
  int64_t threads = Wgmma::kThreads;
  int64_t chunksPerRow = p.kTile / 8;
  int64_t ownRows = p.tokens / p.cluster;
  int64_t chunks = ownRows * chunksPerRow;
  Value firstRow =
      p.cluster > 1 ? mul(arith::IndexCastOp::create(b, b.getIndexType(), rank),
                          idx(ownRows))
                    : idx(0);
  for (int64_t c0 = 0; c0 < chunks; c0 += threads) {
    CopySlot slot;
    Value c = add(producerThread, idx(c0));
    Value row = add(firstRow, div(c, idx(chunksPerRow)));
    // Rows past the tile's tokens are not copied: the MMA columns they feed
    // are never stored, and a column depends on its own row alone.
    slot.guard = cmp(arith::CmpIPredicate::ult, row, count);
    if (c0 + threads > chunks)
      slot.guard = arith::AndIOp::create(
          b, slot.guard, cmp(arith::CmpIPredicate::ult, c, idx(chunks)));
    Value j = rem(c, idx(chunksPerRow));
    Value swizzled = arith::XOrIOp::create(b, rem(j, idx(8)), rem(row, idx(8)));
    slot.dst =
        add(add(mul(div(j, idx(8)), idx(p.tokens * 64)), mul(row, idx(64))),
            mul(swizzled, idx(8)));
    Value slotIdx =
        add(start, arith::MinSIOp::create(b, row, sub(count, idx(1))));
    Value srcRow = p.gather ? loadIndex(tokenList, slotIdx) : slotIdx;
    slot.col = mul(j, idx(8));
    slot.src = add(mul(srcRow, idx(p.cols)), slot.col);
    copies.push_back(slot);
  }
}

void WgmmaSpEmitter::bulkCopy(Value dst, Value src, int64_t bytes, Value mbar,
                              int64_t multicast, Value policy) {
  bulkCopy(dst, src, i32c(bytes), mbar, multicast, policy);
}

Value WgmmaSpEmitter::evictFirstPolicy() {
  // MLIR 22 has no NVVM op for createpolicy; the copies take its result as
  // their typed l2CacheHint operand.
  return inlinePtx(b, b.getI64Type(), ValueRange{},
                   "createpolicy.fractional.L2::evict_first.b64 $0, 1.0;", "=l",
                   /*sideEffects=*/false);
}

void WgmmaSpEmitter::bulkCopy(Value dst, Value src, Value bytes, Value mbar,
                              int64_t multicast, Value policy) {
  // The destination is shared::cta memory named as shared::cluster (the
  // form MLIR 22 selects at PTX 8.5); multicast copies land at the same
  // offset in every block of the mask, completing on the barrier at the
  // same offset in each.
  Value cluster = LLVM::AddrSpaceCastOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext(), 7), intToPtr(dst, 3));
  Value global = intToPtr(src, 1);
  Value mask = multicast ? constant(b.getI16IntegerAttr(multicast)) : Value();
  NVVM::CpAsyncBulkGlobalToSharedClusterOp::create(b, cluster, global, mbar,
                                                   bytes, mask, policy);
}

void WgmmaSpEmitter::issuePackedRows(Value kt, Value slot) {
  // The stage's column blocks of the token tile are one run of the
  // workspace in the ring's layout; in a cluster each block copies its
  // share of them into every block's slot.
  int64_t share = layout.bStage / p.cluster;
  Value block =
      add(mul(tokenTile, idx(p.cols / 64)), mul(kt, idx(p.kTile / 64)));
  Value src = mul(block, idx(p.tokens * 128));
  Value dst = add(idx(layout.bRing), mul(slot, idx(layout.bStage)));
  if (p.cluster > 1) {
    Value mine =
        mul(arith::IndexCastOp::create(b, b.getIndexType(), rank), idx(share));
    src = add(src, mine);
    dst = add(dst, mine);
  }
  if (p.tokenStep > 0) {
    // Token steps (never in a cluster): the rows the tile's MMAs read, of
    // each column block.
    Value bytes =
        arith::IndexCastOp::create(b, b.getI32Type(), mul(mmaRows(), idx(128)));
    for (int64_t cb = 0; cb < p.kTile / 64; ++cb) {
      Value at = idx(cb * p.tokens * 128);
      bulkCopy(arith::AddIOp::create(b, base, toI64(add(dst, at))),
               arith::AddIOp::create(b, inputAddr, toI64(add(src, at))), bytes,
               barrierPointer(fullBarrier(slot)));
    }
    return;
  }
  bulkCopy(arith::AddIOp::create(b, base, toI64(dst)),
           arith::AddIOp::create(b, inputAddr, toI64(src)), share,
           barrierPointer(fullBarrier(slot)),
           p.cluster > 1 ? (1 << p.cluster) - 1 : 0);
}

Value WgmmaSpEmitter::stageTxBytes() {
  if (!p.packed || p.tokenStep == 0)
    return idx(layout.stageTxBytes());
  return add(idx(layout.stageTxBytes() - layout.bStage),
             mul(mmaRows(), idx(p.kTile * 2)));
}

void WgmmaSpEmitter::issueStage(Value kt, Value slot, Value producerThread,
                                Value weights) {
  Value issue = cmp(arith::CmpIPredicate::eq, producerThread, idx(0));
  if (weights)
    issue = arith::AndIOp::create(b, issue, weights);
  ifThen(issue, [&] { issueWeights(kt, slot); });
  // Packed rows (thread 0 alone): the slot's full barrier counts their
  // bytes.
  if (p.packed) {
    issuePackedRows(kt, slot);
    return;
  }
  if (p.persistent > 0)
    gatherThroughTileRows(kt, slot, producerThread);
  else
    gatherThroughCopySlots(kt, slot);
  // Arrives on the full (in a cluster: own) barrier when this thread's
  // copies have landed.
  Value landed = p.cluster > 1 ? ownBarrier(slot) : fullBarrier(slot);
  NVVM::CpAsyncMBarrierArriveOp::create(b, barrierPointer(landed),
                                        /*noinc=*/true);
}

void WgmmaSpEmitter::issueWeights(Value kt, Value slot) {
  Value full = fullBarrier(slot);
  nvgpu::MBarrierArriveExpectTxOp::create(b, barriers, stageTxBytes(), full,
                                          Value());
  Value mbar = barrierPointer(full);
  if (p.evictFirstRows == 0)
    return issueWeightCopies(kt, slot, mbar, Value());
  if (p.evictFirstRows < 0)
    return issueWeightCopies(kt, slot, mbar, evictFirstPolicy());
  // Calls of a larger grid copy without a policy: an explicit evict_normal
  // one ran 0.95-0.97x where no policy ran 1.00x (bench/RESULTS.md S37).
  Value rows = gpu::GridDimOp::create(b, gpu::Dimension::y);
  auto small = scf::IfOp::create(
      b, cmp(arith::CmpIPredicate::ule, rows, idx(p.evictFirstRows)),
      /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(small.thenBlock()->getTerminator());
  issueWeightCopies(kt, slot, mbar, evictFirstPolicy());
  b.setInsertionPoint(small.elseBlock()->getTerminator());
  issueWeightCopies(kt, slot, mbar, Value());
}

void WgmmaSpEmitter::issueWeightCopies(Value kt, Value slot, Value mbar,
                                       Value policy) {
  auto everyUnit = [&] {
    for (int64_t u = 0; u < layout.units; ++u)
      issueUnitCopies(kt, slot, idx(u), mbar, /*multicast=*/0, policy);
  };
  if (p.multicast == 1)
    return everyUnit();
  // With weight multicast rank r copies units r, r + multicast, … into
  // every block of the cluster; a block working alone copies every unit
  // into its own ring.
  auto alone = scf::IfOp::create(b, solo, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(alone.thenBlock()->getTerminator());
  everyUnit();
  b.setInsertionPoint(alone.elseBlock()->getTerminator());
  Value r = arith::IndexCastOp::create(b, b.getIndexType(), rank);
  for (int64_t j = 0; j < layout.units; j += p.multicast)
    issueUnitCopies(kt, slot, add(idx(j), r), mbar, (1 << p.multicast) - 1,
                    policy);
}

void WgmmaSpEmitter::issueUnitCopies(Value kt, Value slot, Value u, Value mbar,
                                     int64_t multicast, Value policy) {
  Value tile = weightTile(expert, u);
  Value ring = add(mul(slot, idx(layout.units)), u);
  Value block = valuesBlock(tile, kt);
  bulkCopy(arith::AddIOp::create(b, base, toI64(mul(ring, idx(layout.aStage)))),
           arith::AddIOp::create(b, valuesAddr,
                                 toI64(mul(block, idx(Wgmma::kBlockBytes)))),
           layout.aStage, mbar, multicast, policy);
  Value step = metaStep(tile, kt);
  bulkCopy(arith::AddIOp::create(b, base,
                                 toI64(add(idx(layout.metaRing),
                                           mul(ring, idx(layout.metaStage))))),
           arith::AddIOp::create(b, metaAddr,
                                 toI64(mul(step, idx(Wgmma::kMetaStepBytes)))),
           layout.metaStage, mbar, multicast, policy);
  // Row selection: the tile's row choices of each span of the stage (of
  // the span it is part of where spans are longer),
  // row_idx[expert][span][tile · 64 ...]. Past a padded K the last k tile's
  // spans have no row choices (row_idx is not padded): they take the last
  // span's, so that its routing folds their zero weights' sums into the
  // last span's rows (WgmmaSpMainLoop.cpp).
  for (int64_t s = 0; s < WgmmaSpLayout::choiceSpans(p); ++s) {
    int64_t bytes = TileConfigAttr::kWgmmaRowChoiceBytes;
    Value span = add(div(mul(kt, idx(p.kTile)), idx(p.v)), idx(s));
    if (p.padsK())
      span = arith::MinUIOp::create(b, span, idx(p.cols / p.v - 1));
    Value src = add(
        mul(add(mul(expert, idx(p.cols / p.v)), span), idx(p.storedKeptRows)),
        mul(unitTile(u), idx(Wgmma::kRows)));
    Value dst = add(idx(layout.choiceRing),
                    add(mul(ring, idx(layout.choiceStage)), idx(s * bytes)));
    bulkCopy(arith::AddIOp::create(b, base, toI64(dst)),
             arith::AddIOp::create(b, rowIdxAddr, toI64(src)), bytes, mbar,
             multicast, policy);
  }
}

Value WgmmaSpEmitter::weightTile(Value e, Value u) {
  return add(mul(e, idx(p.storedKeptRows / Wgmma::kRows)), unitTile(u));
}

Value WgmmaSpEmitter::valuesBlock(Value tile, Value kt) {
  return add(mul(tile, idx(p.storedCols / Wgmma::kBlockCols)),
             mul(kt, idx(p.kTile / Wgmma::kBlockCols)));
}

Value WgmmaSpEmitter::metaStep(Value tile, Value kt) {
  return add(mul(tile, idx(p.kSteps)), mul(kt, idx(p.kTile / 32)));
}

std::pair<Value, Value> WgmmaSpEmitter::chunkSource(Value src, Value kt,
                                                    Value colInTile) {
  if (!p.padsK())
    return {Value(), src};
  // Past K the weights are zero columns: the chunk must be zero (not
  // whatever the slot held, which may be NaN), so the copy reads nothing
  // and zero-fills it, from the k tile's first column of the row (inside
  // K). Only the last k tile has such chunks: the column test is the
  // thread's own, the same every stage (few registers in the producer).
  int64_t last = p.kTiles() - 1, inLast = p.cols - last * p.kTile;
  Value inside = arith::OrIOp::create(
      b, cmp(arith::CmpIPredicate::ne, kt, idx(last)),
      cmp(arith::CmpIPredicate::ult, colInTile, idx(inLast)));
  return {select(inside, idx(8), idx(0)),
          select(inside, src, sub(src, colInTile))};
}

void WgmmaSpEmitter::gatherThroughCopySlots(Value kt, Value slot) {
  Value stageBase = mul(slot, idx(layout.bStage / 2));
  Value kOff = mul(kt, idx(p.kTile));
  for (CopySlot &c : copies) {
    auto body = [&] {
      auto [elems, src] = chunkSource(add(c.src, kOff), kt, c.col);
      nvgpu::DeviceAsyncCopyOp::create(
          b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), sB,
          ValueRange{add(stageBase, c.dst)}, input, ValueRange{src},
          b.getIndexAttr(8), elems, b.getUnitAttr());
    };
    ifThen(c.guard, body);
  }
}

void WgmmaSpEmitter::gatherThroughTileRows(Value kt, Value slot,
                                           Value producerThread) {
  // The copies of loadTileRows' rows, without branches: a row past the
  // tile's tokens copies no bytes and zero-fills its chunk (its MMA columns
  // are never stored).
  Value c = rem(producerThread, idx(Wgmma::kChunksPerRow));
  Value r0 = div(producerThread, idx(Wgmma::kChunksPerRow));
  Value stageBase = mul(slot, idx(layout.bStage / 2));
  Value srcCol = add(mul(kt, idx(p.kTile)), mul(c, idx(8)));
  for (auto [i, src] : llvm::enumerate(tileRows)) {
    Value row = add(r0, idx(int64_t(i) * kRowsPerPass));
    Value bytes =
        select(cmp(arith::CmpIPredicate::ult, row, count), idx(8), idx(0));
    Value swizzled = arith::XOrIOp::create(b, c, rem(row, idx(8)));
    Value dst = add(stageBase, add(mul(row, idx(64)), mul(swizzled, idx(8))));
    Value from = add(mul(arith::IndexCastUIOp::create(b, b.getIndexType(), src),
                         idx(p.cols)),
                     srcCol);
    // Column block cb of the stage: columns 64 · cb ... of the k tile.
    auto copy = [&] {
      for (int64_t cb = 0; cb < p.kTile / 64; ++cb) {
        auto [elems, src] = chunkSource(add(from, idx(cb * 64)), kt,
                                        add(mul(c, idx(8)), idx(cb * 64)));
        nvgpu::DeviceAsyncCopyOp::create(
            b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), sB,
            ValueRange{add(dst, idx(cb * p.tokens * 64))}, input,
            ValueRange{src}, b.getIndexAttr(8),
            elems ? arith::MinUIOp::create(b, bytes, elems) : bytes,
            b.getUnitAttr());
      }
    };
    // Where `tokens` is not a multiple of the pass, the last pass's rows
    // past it copy nothing: their zero-filled chunks would land in the next
    // column block's rows and past the slot.
    if ((int64_t(i) + 1) * kRowsPerPass > p.tokens)
      ifThen(cmp(arith::CmpIPredicate::ult, row, idx(p.tokens)), copy);
    else
      copy();
  }
}

int64_t WgmmaSpEmitter::issueWeightsBeforeWait() {
  if (!p.weightsBeforeWait)
    return 0;
  // The ring's first uses are slots 0, 1, …: their weights need only the
  // expert, which the settled offsets gave.
  int64_t early = std::min(layout.stages, kTiles());
  ifThen(cmp(arith::CmpIPredicate::eq, wgThread, idx(0)), [&] {
    for (int64_t i = 0; i < early; ++i)
      issueWeights(add(kBegin, idx(i)), idx(i));
  });
  waitForGrids();
  return early;
}

void WgmmaSpEmitter::prefetchBeforeWait(Value tid) {
  // With P >= E routed slots the grid has E + (P - E) / tokens token tile
  // rows (maxTokenTiles), and row y < E is expert y's first tile whenever
  // every expert has slots: the likely weights of this block, in calls of
  // at least kPrefetchSlotsPerExpert slots an expert (nearly every expert
  // has slots).
  Value rows = gpu::GridDimOp::create(b, gpu::Dimension::y);
  int64_t minRows =
      p.experts + (kPrefetchSlotsPerExpert - 1) * p.experts / p.tokens;
  Value likely = arith::AndIOp::create(
      b, cmp(arith::CmpIPredicate::eq, tid, idx(0)),
      arith::AndIOp::create(
          b, cmp(arith::CmpIPredicate::ult, tokenTile, idx(p.experts)),
          cmp(arith::CmpIPredicate::uge, rows, idx(minRows))));
  ifThen(likely, [&] {
    // (The producer takes them again where it copies.)
    takeWeightAddresses();
    // The ring's first k tiles of each unit: contiguous values and
    // metadata in the `wgmma` layout.
    int64_t early = std::min(layout.stages, kTiles());
    auto prefetch = [&](Value base, Value offset, int64_t bytes) {
      Value address = arith::AddIOp::create(b, base, toI64(offset));
      NVVM::CpAsyncBulkPrefetchOp::create(b, intToPtr(address, 1), i32c(bytes),
                                          Value());
    };
    for (int64_t u = 0; u < layout.units; ++u) {
      Value tile = weightTile(tokenTile, idx(u));
      prefetch(valuesAddr,
               mul(valuesBlock(tile, kBegin), idx(Wgmma::kBlockBytes)),
               early * layout.aStage);
      prefetch(metaAddr,
               mul(metaStep(tile, kBegin), idx(Wgmma::kMetaStepBytes)),
               early * layout.metaStage);
    }
  });
  waitForGrids();
}

void WgmmaSpEmitter::produceTile(Value base, int64_t early) {
  scf::ForOp::create(
      b, idx(0), idx(kTiles()), idx(1), ValueRange{},
      [&](OpBuilder &nested, Location, Value i, ValueRange) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nested.getInsertionBlock(),
                            nested.getInsertionPoint());
        Value use = add(base, i);
        Value slot = rem(use, idx(layout.stages));
        Value round = div(use, idx(layout.stages));
        // Refill only after the consumers released the slot's last use.
        ifThen(cmp(arith::CmpIPredicate::uge, use, idx(layout.stages)),
               [&] { waitBarrier(emptyBarrier(slot), sub(round, idx(1))); });
        Value weights =
            early > 0 ? cmp(arith::CmpIPredicate::uge, i, idx(early)) : Value();
        issueStage(add(kBegin, i), slot, wgThread, weights);
        // The previous stage's rows go to the peer once they have landed:
        // its gathers had a stage's time.
        if (p.cluster > 1 && !p.packed)
          ifThen(arith::AndIOp::create(
                     b, cmp(arith::CmpIPredicate::eq, wgThread, idx(0)),
                     cmp(arith::CmpIPredicate::ugt, i, idx(0))),
                 [&] { forwardToPeer(sub(use, idx(1))); });
        scf::YieldOp::create(b);
      });
  if (p.cluster > 1 && !p.packed)
    ifThen(cmp(arith::CmpIPredicate::eq, wgThread, idx(0)),
           [&] { forwardToPeer(add(base, idx(kTiles() - 1))); });
}

void WgmmaSpEmitter::forwardToPeer(Value use) {
  Value slot = rem(use, idx(layout.stages));
  waitBarrier(ownBarrier(slot), div(use, idx(layout.stages)));
  // The rows were written through the generic proxy (cp.async); the bulk
  // copy reads them through the async proxy.
  NVVM::FenceProxyOp::create(
      b,
      NVVM::ProxyKindAttr::get(b.getContext(), NVVM::ProxyKind::async_shared),
      NVVM::SharedSpaceAttr::get(b.getContext(),
                                 NVVM::SharedSpace::shared_cta));
  auto address = [&](Value ptr) -> Value {
    return LLVM::PtrToIntOp::create(b, b.getI64Type(), ptr);
  };
  Value peerFull = address(peerPointer(barrierPointer(fullBarrier(slot))));
  int64_t ownRows = p.tokens / p.cluster;
  Value firstRow =
      mul(arith::IndexCastOp::create(b, b.getIndexType(), rank), idx(ownRows));
  // Column block cb holds `tokens` rows of 128 bytes: this block's rows are
  // one contiguous run of it, at the same offset in the peer's slot (the
  // blocks share the layout, and the swizzle is a function of the offset).
  for (int64_t cb = 0; cb < p.kTile / 64; ++cb) {
    Value offset = add(add(idx(layout.bRing), mul(slot, idx(layout.bStage))),
                       add(idx(cb * p.tokens * 128), mul(firstRow, idx(128))));
    Value src = arith::AddIOp::create(b, base, toI64(offset));
    Value dst = peerPointer(intToPtr(src, 3));
    // MLIR 22's nvvm.cp.async.bulk.shared.cluster.shared.cta types the
    // mbarrier as the issuing block's (ptr<3>); the peer's is a
    // shared::cluster address, so the PTX is written here.
    LLVM::InlineAsmOp::create(
        b, TypeRange{},
        ValueRange{address(dst), src, i32c(ownRows * 128), peerFull},
        b.getStringAttr(
            "cp.async.bulk.shared::cluster.shared::cta.mbarrier::complete_tx::"
            "bytes [$0], [$1], $2, [$3];"),
        b.getStringAttr("l,l,r,l"), /*has_side_effects=*/b.getUnitAttr(),
        /*is_align_stack=*/UnitAttr(), LLVM::TailCallKindAttr(),
        LLVM::AsmDialectAttr(), ArrayAttr());
  }
}

Value WgmmaSpEmitter::peerPointer(Value ptr) {
  return NVVM::MapaOp::create(b, LLVM::LLVMPointerType::get(b.getContext(), 7),
                              ptr, peerRank);
}

void WgmmaSpEmitter::clusterBarrier() {
  NVVM::ClusterArriveOp::create(b, UnitAttr());
  NVVM::ClusterWaitOp::create(b, UnitAttr());
}
