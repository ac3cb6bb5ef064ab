//===- RouteLogits.cpp - The router's logits kernels ----------------------===//
//
// Each shape writes the [T, E] f32 logits workspace: rows past the last token
// or expert are read clamped (so every load is in bounds) and never stored.
//
//===----------------------------------------------------------------------===//

#include "RouteEmitter.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

using namespace mlir;
using namespace mlir::samoyeds::detail;

void RouteEmitter::storeLogit(Value logits, Value tokens, Value sum,
                              Value token, Value expert) {
  Value valid = arith::AndIOp::create(
      b, cmp(arith::CmpIPredicate::ult, token, tokens),
      cmp(arith::CmpIPredicate::ult, expert, idx(experts)));
  ifThen(valid, [&] {
    memref::StoreOp::create(b, sum, logits,
                            ValueRange{add(mul(token, idx(experts)), expert)});
  });
}

void RouteEmitter::storeSlicedLogits(Value partials, Value logits, Value tokens,
                                     Value tid, const LogitsShape &shape,
                                     Value firstToken, Value firstExpert) {
  gpu::BarrierOp::create(b);
  int64_t tileSums = shape.blockTokens() * shape.blockExperts();
  forLoop(tid, idx(tileSums), idx(shape.warps() * 32), {},
          [&](Value at, ValueRange) -> SmallVector<Value> {
            Value sum = load(partials, at);
            for (int64_t s = 1; s < shape.slices; ++s)
              sum = arith::AddFOp::create(
                  b, sum, load(partials, add(at, idx(s * tileSums))));
            Value t = div(at, idx(shape.blockExperts()));
            Value col = rem(at, idx(shape.blockExperts()));
            storeLogit(logits, tokens, sum, add(firstToken, t),
                       add(firstExpert, col));
            return {};
          });
}

Value RouteEmitter::enter(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  return arith::IndexCastOp::create(
      b, b.getIndexType(),
      func.getArgument(func.getFunctionType().getNumInputs() - 1));
}

void RouteEmitter::emitLogits(gpu::GPUFuncOp func, const LogitsShape &shape) {
  Value tokens = enter(func);
  Value x = func.getArgument(0), router = func.getArgument(1),
        logits = func.getArgument(2);
  int64_t width = laneWidth(hidden), step = 32 * width;
  int64_t perSlice = laneSteps(hidden) / shape.slices;
  bool ragged = hidden % step != 0;

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value warp = div(tid, idx(32)), lane = rem(tid, idx(32));
  Value slice = rem(warp, idx(shape.slices));
  Value expertWarp = div(warp, idx(shape.slices));
  Value blockFirst = mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                         idx(shape.blockExperts()));
  Value firstExpert =
      add(blockFirst, mul(expertWarp, idx(shape.expertsPerWarp)));
  Value firstToken = mul(gpu::BlockIdOp::create(b, gpu::Dimension::y),
                         idx(shape.tokensPerWarp));

  // Rows past the last token or expert read the last one and are not
  // stored.
  SmallVector<Value> xRows, rRows, tokenOf, expertOf;
  Value last = sub(tokens, idx(1));
  for (int64_t t = 0; t < shape.tokensPerWarp; ++t) {
    tokenOf.push_back(add(firstToken, idx(t)));
    xRows.push_back(
        mul(arith::MinUIOp::create(b, tokenOf.back(), last), idx(hidden)));
  }
  for (int64_t e = 0; e < shape.expertsPerWarp; ++e) {
    expertOf.push_back(add(firstExpert, idx(e)));
    rRows.push_back(
        mul(arith::MinUIOp::create(b, expertOf.back(), idx(experts - 1)),
            idx(hidden)));
  }

  int64_t accs = shape.tokensPerWarp * shape.expertsPerWarp;
  SmallVector<Value> zeros(accs, f32c(0.0));
  Value sliceStart = mul(slice, idx(perSlice * step));
  auto forOp =
      forLoop(idx(0), idx(perSlice), idx(1), zeros,
              [&](Value i, ValueRange acc) -> SmallVector<Value> {
                Value h = add(add(sliceStart, mul(i, idx(step))),
                              mul(lane, idx(width)));
                Value inside;
                if (ragged) {
                  inside = cmp(arith::CmpIPredicate::ult, h, idx(hidden));
                  h = select(inside, h, idx(0));
                }
                auto masked = [&](Value v) {
                  return ragged ? select(inside, v, f32c(0.0)) : v;
                };
                SmallVector<Value> xv, rv;
                for (Value row : xRows)
                  xv.push_back(masked(loadF32(x, add(row, h), width)));
                for (Value row : rRows)
                  rv.push_back(loadF32(router, add(row, h), width));
                SmallVector<Value> next;
                for (int64_t t = 0; t < shape.tokensPerWarp; ++t)
                  for (int64_t e = 0; e < shape.expertsPerWarp; ++e)
                    next.push_back(
                        dot(acc[t * shape.expertsPerWarp + e], xv[t], rv[e]));
                return next;
              });

  // Lane 0 keeps each sum: stored directly, or with several slices as a
  // partial that the block's first threads add up in slice order.
  Value isLane0 = cmp(arith::CmpIPredicate::eq, lane, idx(0));
  Value partials =
      shape.slices > 1 ? Value(func.getWorkgroupAttributions()[0]) : Value();
  int64_t tileSums = shape.blockTokens() * shape.blockExperts();
  for (int64_t t = 0; t < shape.tokensPerWarp; ++t)
    for (int64_t e = 0; e < shape.expertsPerWarp; ++e) {
      Value sum = warpReduce(forOp.getResult(t * shape.expertsPerWarp + e),
                             gpu::AllReduceOperation::ADD);
      ifThen(isLane0, [&] {
        if (!partials)
          return storeLogit(logits, tokens, sum, tokenOf[t], expertOf[e]);
        // partials[slice][t][expert in block]
        Value col = add(mul(expertWarp, idx(shape.expertsPerWarp)), idx(e));
        Value at = add(mul(slice, idx(tileSums)),
                       add(mul(idx(t), idx(shape.blockExperts())), col));
        memref::StoreOp::create(b, sum, partials, ValueRange{at});
      });
    }
  if (partials)
    storeSlicedLogits(partials, logits, tokens, tid, shape, firstToken,
                      blockFirst);
  gpu::ReturnOp::create(b);
}

// Each lane loads 8 consecutive elements (16 bytes) at column 8 t of a
// 32-column chunk of its rows g and g + 8 of x and of its router rows g:
// MMA step s (of 2) takes elements 4 s .. 4 s + 3 of them as its k positions
// 2 t, 2 t + 1, 2 t + 8, 2 t + 9. A and B use the same map, so the chunk's 32
// columns each meet once; the sum's order is the MMAs'.
void RouteEmitter::emitMmaLogits(gpu::GPUFuncOp func,
                                 const LogitsShape &shape) {
  Value tokens = enter(func);
  Value x = func.getArgument(0), router = func.getArgument(1),
        logits = func.getArgument(2);
  int64_t tiles = shape.expertsPerWarp / 8, chunks = hidden / 32;
  int64_t sliceChunks = chunks / shape.slices;
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value warp = div(tid, idx(32)), lane = rem(tid, idx(32));
  // Warp = (token warp, expert warp, slice), the slice fastest.
  Value slice = rem(warp, idx(shape.slices));
  Value tile = div(warp, idx(shape.slices));
  Value g = div(lane, idx(4)), t = rem(lane, idx(4));
  Value blockToken = mul(gpu::BlockIdOp::create(b, gpu::Dimension::y),
                         idx(shape.blockTokens()));
  Value blockExpert = mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                          idx(shape.blockExperts()));
  Value tokenInBlock = mul(div(tile, idx(shape.expertWarps)), idx(16));
  Value expertInBlock =
      mul(rem(tile, idx(shape.expertWarps)), idx(shape.expertsPerWarp));
  Value firstToken = add(blockToken, tokenInBlock);
  Value firstExpert = add(blockExpert, expertInBlock);
  Value firstChunk = mul(slice, idx(sliceChunks));
  // Rows past the last token or expert read the last one and are not
  // stored.
  Value lastToken = sub(tokens, idx(1));
  auto rowStart = [&](Value row, Value last) {
    return add(mul(arith::MinUIOp::create(b, row, last), idx(hidden)),
               mul(t, idx(8)));
  };
  SmallVector<Value> rows = {
      rowStart(add(firstToken, g), lastToken),
      rowStart(add(add(firstToken, g), idx(8)), lastToken)};
  for (int64_t n = 0; n < tiles; ++n)
    rows.push_back(
        rowStart(add(add(firstExpert, idx(8 * n)), g), idx(experts - 1)));
  Type elt = cast<MemRefType>(x.getType()).getElementType();
  auto vec8 = VectorType::get({8}, elt);
  // The 2 x rows and `tiles` router rows of the slice's chunk `c`.
  auto loadChunk = [&](Value c) {
    Value col = mul(add(firstChunk, c), idx(32));
    SmallVector<Value> v;
    for (auto [i, row] : llvm::enumerate(rows))
      v.push_back(vector::LoadOp::create(
          b, vec8, i < 2 ? x : router, ValueRange{add(row, col)},
          /*nontemporal=*/false, llvm::MaybeAlign(16)));
    return v;
  };
  // `group` chunks a round trip: each iteration issues the loads of its
  // chunks together, then multiplies them in chunk order. (Loads carried
  // to a later iteration in registers do not stay there: LLVM's InstCombine
  // folds a loop-carried phi of loads into one load at its use.)
  int64_t group = shape.group;
  auto loop = forLoop(idx(0), idx(sliceChunks), idx(group),
                      SmallVector<Value>(tiles, f32Splat(4, 0.0)),
                      [&](Value i, ValueRange it) -> SmallVector<Value> {
                        SmallVector<SmallVector<Value>> loaded;
                        for (int64_t c = 0; c < group; ++c)
                          loaded.push_back(loadChunk(add(i, idx(c))));
                        SmallVector<Value> acc(it);
                        for (ArrayRef<Value> cur : loaded)
                          for (int64_t st = 0; st < 2; ++st) {
                            int64_t o = 4 * st;
                            Value a = vector::ShuffleOp::create(
                                b, cur[0], cur[1],
                                ArrayRef<int64_t>{o, o + 1, 8 + o, 9 + o, o + 2,
                                                  o + 3, 10 + o, 11 + o});
                            for (int64_t n = 0; n < tiles; ++n) {
                              Value bv = vector::ShuffleOp::create(
                                  b, cur[2 + n], cur[2 + n],
                                  ArrayRef<int64_t>{o, o + 1, o + 2, o + 3});
                              acc[n] = samoyeds_nvgpu::MmaOp::create(
                                  b, acc[n].getType(), acc[n], a, bv);
                            }
                          }
                        return acc;
                      });
  // Accumulator i of tile n: token g + 8 (i / 2), expert 8 n + 2 t + i % 2
  // of the warp's; with several slices a partial at [slice][token][expert]
  // of the block's tile.
  Value partials =
      shape.slices > 1 ? Value(func.getWorkgroupAttributions()[0]) : Value();
  int64_t tileSums = shape.blockTokens() * shape.blockExperts();
  for (int64_t n = 0; n < tiles; ++n)
    for (int64_t i = 0; i < 4; ++i) {
      Value token = add(g, idx(8 * (i / 2)));
      Value expert = add(idx(8 * n + i % 2), mul(t, idx(2)));
      Value sum = vector::ExtractOp::create(b, loop.getResult(n), i);
      if (!partials) {
        storeLogit(logits, tokens, sum, add(firstToken, token),
                   add(firstExpert, expert));
        continue;
      }
      Value at =
          add(mul(slice, idx(tileSums)),
              add(mul(add(tokenInBlock, token), idx(shape.blockExperts())),
                  add(expertInBlock, expert)));
      memref::StoreOp::create(b, sum, partials, ValueRange{at});
    }
  if (partials)
    storeSlicedLogits(partials, logits, tokens, tid, shape, blockToken,
                      blockExpert);
  gpu::ReturnOp::create(b);
}
