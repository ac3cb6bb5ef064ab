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

void MmaSpEmitter::emitPersistent(Value tid, Value g) {
  int64_t kTiles = p.kTiles();
  int64_t rowBlocks = getMmaSpLowering().rowBlocks(p);
  auto narrow = [&](Value v) -> Value {
    return arith::IndexCastOp::create(b, b.getI32Type(), v);
  };
  auto widen = [&](Value v) -> Value {
    return arith::IndexCastOp::create(b, b.getIndexType(), v);
  };
  // Looks tile `t` up: its row block (returned), expert, start and count.
  auto lookup = [&](Value t, Value *total) {
    Value end;
    findTokenTile(div(t, idx(rowBlocks)), end, total);
    count = arith::MinSIOp::create(b, idx(p.tokens), sub(end, start));
    return rem(t, idx(rowBlocks));
  };

  // The grid is `persistent` blocks per SM of whichever chip runs it.
  Value blocks = gpu::GridDimOp::create(b, gpu::Dimension::x);
  Value total32;
  Value rowBlock = lookup(g, &total32);
  setThreadCoordinates(tid, rowBlock);
  Value tiles = mul(widen(total32), idx(rowBlocks));
  Value mine = arith::SelectOp::create(
      b, cmp(arith::CmpIPredicate::ult, g, tiles),
      div(add(sub(tiles, g), sub(blocks, idx(1))), blocks), idx(0));
  ifThen(cmp(arith::CmpIPredicate::ult, idx(0), mine), [&] {
    makeCopySlots(tid);
    // The first tile's first stages - 1 k tiles (the plan checked that they
    // lie in one tile).
    for (int64_t s = 0; s + 1 < p.stages; ++s) {
      issueStageLoad(idx(s), idx(s));
      NVVM::CpAsyncCommitGroupOp::create(b);
    }
    SmallVector<CopySlot> fixedSlots = copies;
    // A tile's state, carried as i32 (one register each instead of two):
    // row block, expert, start, count, then each copy slot's source offset
    // and element count.
    auto tileState = [&](Value rows) {
      SmallVector<Value> v{narrow(rows), narrow(expert), narrow(start),
                           narrow(count)};
      for (const CopySlot &c : copies)
        v.append({narrow(c.srcBase), narrow(c.srcElems)});
      return v;
    };
    // Makes `s` the current tile of the emitter (its row block, expert,
    // token range and copy sources; the thread coordinates stay).
    auto enter = [&](ValueRange s) {
      blockRows = mul(widen(s[0]), idx(p.warps * p.rowTiles));
      expert = widen(s[1]);
      start = widen(s[2]);
      count = widen(s[3]);
      copies = fixedSlots;
      for (auto [n, c] : llvm::enumerate(copies)) {
        c.srcBase = widen(s[4 + 2 * n]);
        c.srcElems = widen(s[5 + 2 * n]);
      }
    };

    scf::ForOp::create(
        b, idx(0), mine, idx(1), tileState(rowBlock),
        [&](OpBuilder &outer, Location, Value q, ValueRange cur) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(outer.getInsertionBlock(),
                              outer.getInsertionPoint());
          // The block's next tile, looked up while this tile's first copies
          // are in flight (the current tile where there is none).
          Value hasNext = cmp(arith::CmpIPredicate::ult, add(q, idx(1)), mine);
          auto lookupNext = scf::IfOp::create(b, cur.getTypes(), hasNext,
                                              /*withElseRegion=*/true);
          {
            OpBuilder::InsertionGuard g2(b);
            b.setInsertionPointToStart(lookupNext.thenBlock());
            Value rows = lookup(add(g, mul(add(q, idx(1)), blocks)), nullptr);
            makeCopySlots(tid);
            scf::YieldOp::create(b, tileState(rows));
            b.setInsertionPointToStart(lookupNext.elseBlock());
            scf::YieldOp::create(b, cur);
          }
          ValueRange next = lookupNext.getResults();
          Value base = mul(q, idx(kTiles));

          // The K loop in two parts, each with loop-invariant copy
          // addresses: k tiles whose copies (stages - 1 ahead) are this
          // tile's, then the last stages - 1, whose copies are the next
          // tile's first (none when there is no next tile).
          auto kLoop = [&](int64_t from, int64_t to, ValueRange init,
                           bool intoNext) {
            return scf::ForOp::create(
                b, idx(from), idx(to), idx(1), init,
                [&](OpBuilder &inner, Location, Value k, ValueRange iter) {
                  OpBuilder::InsertionGuard g2(b);
                  b.setInsertionPoint(inner.getInsertionBlock(),
                                      inner.getInsertionPoint());
                  Value j = add(k, idx(p.stages - 1));
                  Value stage = rem(add(base, j), idx(p.stages));
                  enter(intoNext ? next : cur);
                  if (intoNext)
                    ifThen(hasNext,
                           [&] { issueStageLoad(sub(j, idx(kTiles)), stage); });
                  else
                    issueStageLoad(j, stage);
                  NVVM::CpAsyncCommitGroupOp::create(b);
                  NVVM::CpAsyncWaitGroupOp::create(
                      b, b.getI32IntegerAttr(p.stages - 1));
                  gpu::BarrierOp::create(b);
                  enter(cur);
                  SmallVector<Value> accs(iter.begin(), iter.end());
                  multiplyStage(k, rem(add(base, k), idx(p.stages)), accs);
                  gpu::BarrierOp::create(b);
                  scf::YieldOp::create(b, accs);
                });
          };
          int64_t split = kTiles - (p.stages - 1);
          SmallVector<Value> init(numCarried(), f32c(0.0));
          auto own = kLoop(0, split, init, /*intoNext=*/false);
          auto last = kLoop(split, kTiles, own.getResults(), /*intoNext=*/true);
          // The output coordinates derive from a thread index read here:
          // from the one read at entry they would be invariant in the tile
          // loop, and LLVM would hoist them all out of it and keep them in
          // registers.
          auto tidAsm = LLVM::InlineAsmOp::create(
              b, b.getI32Type(), ValueRange{},
              b.getStringAttr("mov.u32 $0, %tid.x;"), b.getStringAttr("=r"),
              /*has_side_effects=*/b.getUnitAttr(),
              /*is_align_stack=*/UnitAttr(), LLVM::TailCallKindAttr(),
              /*asm_dialect=*/LLVM::AsmDialectAttr(),
              /*operand_attrs=*/ArrayAttr());
          enter(cur);
          setThreadCoordinates(widen(tidAsm.getResult(0)), widen(cur.front()));
          emitEpilogue(SmallVector<Value>(last.getResults()));
          scf::YieldOp::create(b, next);
        });
  });
}
