//===- MmaSpPersistent.cpp - Persistent-grid mma.sp body ----------------===//
//
// With `persistent` = k the grid is G = k blocks per SM whatever the token
// count. Tiles are numbered t = token tile × row blocks + row block (the
// order in which the hardware starts the blocks of the ordinary grid), and
// block g computes tiles g, g + G, … in a loop whose body looks up the
// block's next tile and runs the K loop of the current one. The K loop's
// copies run stages - 1 k tiles ahead into the next tile, so a tile's
// pipeline fill overlaps the previous tile's last multiplies and its
// epilogue; the lookup (offsets and gathered rows, global loads) overlaps
// the copies in flight.
//
//===----------------------------------------------------------------------===//

#include "MmaSpEmitter.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

MmaSpEmitter::Tile MmaSpEmitter::lookupTile(Value t, Value *total) {
  int64_t rowBlocks = getMmaSpLowering().rowBlocks(p);
  Value end;
  Tile tile = findTokenTile(div(t, idx(rowBlocks)), end, total);
  tile.count = arith::MinSIOp::create(b, idx(p.tokens), sub(end, tile.start));
  tile.rowBlock = rem(t, idx(rowBlocks));
  tile.blockRows = blockRowsOf(tile.rowBlock);
  return tile;
}

SmallVector<Value> MmaSpEmitter::packTile(const Tile &t) {
  auto narrow = [&](Value v) -> Value {
    return arith::IndexCastOp::create(b, b.getI32Type(), v);
  };
  SmallVector<Value> v{narrow(t.rowBlock), narrow(t.expert), narrow(t.start),
                       narrow(t.count)};
  for (const CopySlot &c : t.copies)
    v.append({narrow(c.srcBase), narrow(c.srcElems)});
  return v;
}

MmaSpEmitter::Tile MmaSpEmitter::unpackTile(ValueRange state,
                                            const Tile &first) {
  auto widen = [&](Value v) -> Value {
    return arith::IndexCastOp::create(b, b.getIndexType(), v);
  };
  Tile t = first;
  t.rowBlock = widen(state[0]);
  t.blockRows = blockRowsOf(t.rowBlock);
  t.expert = widen(state[1]);
  t.start = widen(state[2]);
  t.count = widen(state[3]);
  for (auto [n, c] : llvm::enumerate(t.copies)) {
    c.srcBase = widen(state[4 + 2 * n]);
    c.srcElems = widen(state[5 + 2 * n]);
  }
  return t;
}

void MmaSpEmitter::emitPersistent(Value tid, Value g) {
  int64_t rowBlocks = getMmaSpLowering().rowBlocks(p);
  // The grid is `persistent` blocks per SM of whichever chip runs it.
  Value blocks = gpu::GridDimOp::create(b, gpu::Dimension::x);
  Value total32;
  Tile first = lookupTile(g, &total32);
  Value tiles = mul(arith::IndexCastOp::create(b, b.getIndexType(), total32),
                    idx(rowBlocks));
  Value mine =
      select(cmp(arith::CmpIPredicate::ult, g, tiles),
             div(add(sub(tiles, g), sub(blocks, idx(1))), blocks), idx(0));
  ifThen(cmp(arith::CmpIPredicate::ult, idx(0), mine), [&] {
    makeCopySlots(first, tid);
    // The first tile's first stages - 1 k tiles (the plan checked that they
    // lie in one tile).
    fillPipeline(first, idx(0), p.kTiles());
    scf::ForOp::create(
        b, idx(0), mine, idx(1), packTile(first),
        [&](OpBuilder &outer, Location, Value q, ValueRange state) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(outer.getInsertionBlock(),
                              outer.getInsertionPoint());
          // The block's next tile, looked up while this tile's first copies
          // are in flight (the current tile where there is none).
          Value hasNext = cmp(arith::CmpIPredicate::ult, add(q, idx(1)), mine);
          auto lookupNext = scf::IfOp::create(b, state.getTypes(), hasNext,
                                              /*withElseRegion=*/true);
          {
            OpBuilder::InsertionGuard g2(b);
            b.setInsertionPointToStart(lookupNext.thenBlock());
            Tile next = lookupTile(add(g, mul(add(q, idx(1)), blocks)));
            makeCopySlots(next, tid);
            scf::YieldOp::create(b, packTile(next));
            b.setInsertionPointToStart(lookupNext.elseBlock());
            scf::YieldOp::create(b, state);
          }
          emitPersistentTile(unpackTile(state, first),
                             unpackTile(lookupNext.getResults(), first),
                             hasNext, q);
          scf::YieldOp::create(b, lookupNext.getResults());
        });
  });
}

void MmaSpEmitter::emitPersistentTile(const Tile &cur, const Tile &next,
                                      Value hasNext, Value q) {
  int64_t kTiles = p.kTiles();
  Value base = mul(q, idx(kTiles));
  // The K loop in two parts, each with loop-invariant copy addresses: k
  // tiles whose copies (stages - 1 ahead) are this tile's, then the last
  // stages - 1, whose copies are the next tile's first (none when there is
  // no next tile).
  auto kLoop = [&](int64_t from, int64_t to, ValueRange init, bool intoNext) {
    return scf::ForOp::create(
        b, idx(from), idx(to), idx(1), init,
        [&](OpBuilder &inner, Location, Value k, ValueRange iter) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(inner.getInsertionBlock(),
                              inner.getInsertionPoint());
          Value j = add(k, idx(p.stages - 1));
          Value stage = rem(add(base, j), idx(p.stages));
          Value group =
              intoNext ? issueStageIf(hasNext,
                                      [&] {
                                        return issueStageLoad(
                                            next, sub(j, idx(kTiles)), stage);
                                      })
                       : closeGroup(issueStageLoad(cur, j, stage));
          waitForStage(group, p.stages - 1);
          SmallVector<Value> accs(iter.begin(), iter.end());
          multiplyStage(cur, k, rem(add(base, k), idx(p.stages)), accs);
          gpu::BarrierOp::create(b);
          scf::YieldOp::create(b, accs);
        });
  };
  int64_t split = kTiles - (p.stages - 1);
  SmallVector<Value> init(numCarried(), f32Splat(4, 0.0));
  auto own = kLoop(0, split, init, /*intoNext=*/false);
  auto last = kLoop(split, kTiles, own.getResults(), /*intoNext=*/true);
  // The output coordinates derive from a thread index read here: from the
  // one read at entry they would be invariant in the tile loop, and LLVM
  // would hoist them all out of it and keep them in registers for the whole
  // kernel. NVVM's read of %tid.x is pure (LLVM hoists it too): the inline
  // PTX, with side effects, is neither hoisted nor merged with the first.
  Value freshTid = inlinePtx(b, b.getI32Type(), {}, "mov.u32 $0, %tid.x;", "=r",
                             /*sideEffects=*/true);
  setThreadCoordinates(
      arith::IndexCastOp::create(b, b.getIndexType(), freshTid));
  emitEpilogue(cur, SmallVector<Value>(last.getResults()));
}
