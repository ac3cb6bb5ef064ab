//===- RoutingKernels.cpp - Route and dispatch kernels --------------------===//
//
// route: one block per token. Each warp computes router logits for its
// experts (f32 dot products, lanes strided over the hidden size with 16-byte
// loads where it divides, a shuffle reduction); thread 0 then takes the softmax
// and the top-k in expert order (ties: lower expert first), renormalises if
// asked and applies the scaling factor.
//
// dispatch: one block per expert. The expert's first slot is the number of
// routed slots with a lower expert id (a block reduction); its slots are then
// placed in (token, choice) order with a ballot/popcount prefix per chunk, so
// the lists are deterministic and stable without atomics. Expert ids are data
// (samoyeds.moe_experts takes them from the caller): an id outside [0, E) is
// clamped to the nearest expert, so every slot lands in exactly one expert's
// range and every token-list and position entry is written (an unplaced slot
// would leave them undefined and the matmuls would read out of bounds).
//
//===----------------------------------------------------------------------===//

#include "KernelUtils.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
/// Warps per router block; each warp owns every kRouteWarps-th expert.
constexpr int64_t kRouteWarps = 16;
/// Independent partial sums per lane in the router dot products, so that
/// several loads are in flight (the loop is latency-bound otherwise).
constexpr int64_t kRouteUnroll = 4;
/// Elements per vector load in the router dot products (16 bytes).
constexpr int64_t kRouteVector = 8;
constexpr int64_t kDispatchThreads = 256;

class RoutingEmitter : public EmitterBase {
public:
  using EmitterBase::EmitterBase;
  using EmitterBase::exp2;
  using EmitterBase::f32c;
  using EmitterBase::f32Splat;
  using EmitterBase::i32c;
  using EmitterBase::idx;
  using EmitterBase::select;

  Value toF32(Value v) {
    if (v.getType().isF32())
      return v;
    return arith::ExtFOp::create(b, b.getF32Type(), v);
  }

  /// Sum over the 32 lanes of a warp (i32 or f32), in every lane.
  Value warpSum(Value v) {
    return warpReduce(v, [&](Value x, Value y) -> Value {
      if (x.getType().isF32())
        return arith::AddFOp::create(b, x, y);
      return arith::AddIOp::create(b, x, y);
    });
  }

  /// An scf.for over [lb, ub) with step and loop-carried values.
  template <typename Fn>
  ValueRange loop(Value lb, Value ub, Value step, ValueRange init, Fn body) {
    auto forOp = scf::ForOp::create(
        b, lb, ub, step, init,
        [&](OpBuilder &nested, Location, Value iv, ValueRange iter) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.getInsertionBlock(),
                              nested.getInsertionPoint());
          SmallVector<Value> next = body(iv, iter);
          scf::YieldOp::create(b, next);
        });
    return forOp.getResults();
  }
};

gpu::GPUFuncOp makeKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                          Location loc, StringRef name, TypeRange args,
                          TypeRange workgroup, int64_t threads) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  MLIRContext *ctx = builder.getContext();
  auto func = gpu::GPUFuncOp::create(builder, loc, name,
                                     FunctionType::get(ctx, args, {}),
                                     workgroup, TypeRange{});
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(
      builder.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
  return func;
}

MemRefType workgroupBuffer(Type elt, int64_t n) {
  return MemRefType::get({n}, elt, AffineMap(),
                         gpu::AddressSpaceAttr::get(
                             elt.getContext(), gpu::AddressSpace::Workgroup));
}

KernelArg bufferArg(Value v, int64_t elemBytes) {
  return {KernelArg::Buffer, v, "", "", "", elemBytes};
}
} // namespace

FailureOr<KernelLaunch>
mlir::samoyeds::buildRouteKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                                 RouteOp op, StringRef name) {
  auto xType = cast<RankedTensorType>(op.getHidden().getType());
  auto rType = cast<RankedTensorType>(op.getRouter().getType());
  if (xType.isDynamicDim(1) || rType.hasStaticShape() == false)
    return op.emitOpError() << "needs static hidden size and expert count to "
                            << "be compiled";
  int64_t hidden = xType.getDimSize(1), experts = rType.getDimSize(0);
  int64_t topK = op.getTopK();
  bool renormalize = op.getRenormalize();
  double scale = op.getRoutedScalingFactor().convertToDouble();
  MLIRContext *ctx = op.getContext();
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);

  auto func =
      makeKernel(builder, module, op.getLoc(), name,
                 {globalBuffer(xType.getElementType()),
                  globalBuffer(rType.getElementType()), globalBuffer(f32),
                  globalBuffer(i32)},
                 {workgroupBuffer(f32, experts), workgroupBuffer(f32, experts)},
                 kRouteWarps * 32);
  ImplicitLocOpBuilder ib(op.getLoc(), builder);
  RoutingEmitter e(ib);
  Block &entry = func.getBody().front();
  ib.setInsertionPointToStart(&entry);
  Value x = entry.getArgument(0), router = entry.getArgument(1),
        weights = entry.getArgument(2), ids = entry.getArgument(3);
  Value logits = func.getWorkgroupAttributions()[0];
  Value probs = func.getWorkgroupAttributions()[1];

  auto &b = ib;
  auto c = [&](int64_t v) { return e.idx(v); };
  auto f = [&](double v) { return e.f32c(v); };
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value token = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value warp = arith::DivUIOp::create(b, tid, c(32));
  Value lane = arith::RemUIOp::create(b, tid, c(32));
  Value xBase = arith::MulIOp::create(b, token, c(hidden));

  // Logits: warp w handles experts w, w + warps, ... Lanes read 16 bytes (8
  // elements) of x and of the router row at a time when the hidden size
  // allows, with up to kRouteUnroll independent vector accumulators in flight.
  bool vectorize = hidden % (32 * kRouteVector) == 0;
  int64_t width = vectorize ? kRouteVector : 1;
  int64_t unroll = 1;
  for (int64_t u = kRouteUnroll; u > 1; u /= 2)
    if (hidden % (32 * width * u) == 0) {
      unroll = u;
      break;
    }
  e.loop(warp, c(experts), c(kRouteWarps), {}, [&](Value ex, ValueRange) {
    Value rBase = arith::MulIOp::create(b, ex, c(hidden));
    Type accType =
        vectorize ? Type(VectorType::get({kRouteVector}, f32)) : Type(f32);
    Value zero = vectorize ? e.f32Splat(kRouteVector, 0.0) : f(0.0);
    SmallVector<Value> zeros(unroll, zero);
    auto loadF32 = [&](Value buf, Value i) -> Value {
      if (!vectorize)
        return e.toF32(memref::LoadOp::create(b, buf, ValueRange{i}));
      Type elt = cast<MemRefType>(buf.getType()).getElementType();
      Value v = vector::LoadOp::create(
          b, VectorType::get({kRouteVector}, elt), buf, ValueRange{i},
          /*nontemporal=*/false, llvm::MaybeAlign(16));
      return arith::ExtFOp::create(b, accType, v);
    };
    ValueRange partial =
        e.loop(arith::MulIOp::create(b, lane, c(width)), c(hidden),
               c(32 * width * unroll), zeros,
               [&](Value h, ValueRange it) -> SmallVector<Value> {
                 SmallVector<Value> next;
                 for (int64_t u = 0; u < unroll; ++u) {
                   Value hu = arith::AddIOp::create(b, h, c(32 * width * u));
                   Value xv = loadF32(x, arith::AddIOp::create(b, xBase, hu));
                   Value rv =
                       loadF32(router, arith::AddIOp::create(b, rBase, hu));
                   next.push_back(arith::AddFOp::create(
                       b, it[u], arith::MulFOp::create(b, xv, rv)));
                 }
                 return next;
               });
    Value sum = partial[0];
    for (int64_t u = 1; u < unroll; ++u)
      sum = arith::AddFOp::create(b, sum, partial[u]);
    Value acc = sum;
    if (vectorize) {
      acc = vector::ExtractOp::create(b, sum, 0);
      for (int64_t i = 1; i < kRouteVector; ++i)
        acc =
            arith::AddFOp::create(b, acc, vector::ExtractOp::create(b, sum, i));
    }
    acc = e.warpSum(acc);
    Value isLane0 =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, c(0));
    auto ifOp = scf::IfOp::create(b, isLane0, false);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      memref::StoreOp::create(b, acc, logits, ValueRange{ex});
    }
    return SmallVector<Value>{};
  });
  gpu::BarrierOp::create(b);

  // Softmax and top-k on thread 0.
  Value isThread0 =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, c(0));
  auto ifOp = scf::IfOp::create(b, isThread0, false);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    float negInf = -std::numeric_limits<float>::infinity();
    Value maxLogit =
        e.loop(c(0), c(experts), c(1), {f(negInf)},
               [&](Value ex, ValueRange it) -> SmallVector<Value> {
                 Value l = memref::LoadOp::create(b, logits, ValueRange{ex});
                 return {arith::MaximumFOp::create(b, it[0], l)};
               })[0];
    Value sum = e.loop(
        c(0), c(experts), c(1), {f(0.0)},
        [&](Value ex, ValueRange it) -> SmallVector<Value> {
          Value l = memref::LoadOp::create(b, logits, ValueRange{ex});
          Value shifted = arith::MulFOp::create(
              b, arith::SubFOp::create(b, l, maxLogit), f(1.4426950408889634));
          Value p = e.exp2(shifted);
          memref::StoreOp::create(b, p, probs, ValueRange{ex});
          return {arith::AddFOp::create(b, it[0], p)};
        })[0];
    Value base = arith::MulIOp::create(b, token, c(topK));
    // k rounds of arg-max over the logits; a chosen expert's logit is set to
    // -inf. Strict '>' in expert order keeps the lower expert on ties.
    Value chosenSum = f(0.0);
    for (int64_t j = 0; j < topK; ++j) {
      ValueRange best = e.loop(
          c(0), c(experts), c(1), {f(negInf), c(0)},
          [&](Value ex, ValueRange it) -> SmallVector<Value> {
            Value l = memref::LoadOp::create(b, logits, ValueRange{ex});
            Value better =
                arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l, it[0]);
            return {e.select(better, l, it[0]), e.select(better, ex, it[1])};
          });
      Value bestIdx = best[1];
      memref::StoreOp::create(b, f(negInf), logits, ValueRange{bestIdx});
      Value p = arith::DivFOp::create(
          b, memref::LoadOp::create(b, probs, ValueRange{bestIdx}), sum);
      chosenSum = arith::AddFOp::create(b, chosenSum, p);
      Value slot = arith::AddIOp::create(b, base, c(j));
      memref::StoreOp::create(b, p, weights, ValueRange{slot});
      memref::StoreOp::create(
          b, arith::IndexCastOp::create(b, b.getI32Type(), bestIdx), ids,
          ValueRange{slot});
    }
    Value factor = f(scale);
    if (renormalize)
      factor = arith::DivFOp::create(b, factor, chosenSum);
    for (int64_t j = 0; j < topK; ++j) {
      Value slot = arith::AddIOp::create(b, base, c(j));
      Value w = memref::LoadOp::create(b, weights, ValueRange{slot});
      memref::StoreOp::create(b, arith::MulFOp::create(b, w, factor), weights,
                              ValueRange{slot});
    }
  }
  gpu::ReturnOp::create(b);

  KernelLaunch launch;
  launch.kernel = func;
  launch.grid[0].symbol = "T";
  launch.block[0] = kRouteWarps * 32;
  int64_t xBytes = xType.getElementTypeBitWidth() / 8;
  launch.args = {bufferArg(op.getHidden(), xBytes),
                 bufferArg(op.getRouter(), rType.getElementTypeBitWidth() / 8),
                 bufferArg(op.getWeights(), 4),
                 bufferArg(op.getExpertIds(), 4)};
  return launch;
}

FailureOr<KernelLaunch>
mlir::samoyeds::buildDispatchKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                                    DispatchOp op, StringRef name) {
  auto idsType = cast<RankedTensorType>(op.getExpertIds().getType());
  if (idsType.isDynamicDim(1))
    return op.emitOpError() << "needs a static top_k to be compiled";
  int64_t topK = idsType.getDimSize(1), experts = op.getNumExperts();
  constexpr int64_t warps = kDispatchThreads / 32;
  MLIRContext *ctx = op.getContext();
  Type i32 = IntegerType::get(ctx, 32);
  auto func = makeKernel(builder, module, op.getLoc(), name,
                         {globalBuffer(i32), globalBuffer(i32),
                          globalBuffer(i32), globalBuffer(i32), i32},
                         {workgroupBuffer(i32, warps)}, kDispatchThreads);
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  RoutingEmitter e(b);
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  Value ids = entry.getArgument(0), tokens = entry.getArgument(1),
        offsets = entry.getArgument(2), positions = entry.getArgument(3);
  Value slots =
      arith::IndexCastOp::create(b, b.getIndexType(), entry.getArgument(4));
  Value partial = func.getWorkgroupAttributions()[0];
  auto c = [&](int64_t v) { return e.idx(v); };
  auto ci = [&](int64_t v) { return e.i32c(v); };
  auto load = [&](Value m, Value i) {
    return memref::LoadOp::create(b, m, ValueRange{i}).getResult();
  };
  auto cmpi = [&](arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y).getResult();
  };
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value expertIdx = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value expert = arith::IndexCastOp::create(b, b.getI32Type(), expertIdx);
  Value warp = arith::DivUIOp::create(b, tid, c(32));
  Value lane = arith::RemUIOp::create(b, tid, c(32));
  Value isLane0 = cmpi(arith::CmpIPredicate::eq, lane, c(0));

  // Sum over the block of one i32 per thread (every thread gets the total
  // and the sum of the warps before its own).
  auto blockScan = [&](Value v) -> std::pair<Value, Value> {
    Value w = e.warpSum(v);
    auto ifOp = scf::IfOp::create(b, isLane0, false);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      memref::StoreOp::create(b, w, partial, ValueRange{warp});
    }
    gpu::BarrierOp::create(b);
    Value total = ci(0), before = ci(0);
    for (int64_t i = 0; i < warps; ++i) {
      Value pw = load(partial, c(i));
      total = arith::AddIOp::create(b, total, pw);
      before = arith::AddIOp::create(
          b, before,
          e.select(cmpi(arith::CmpIPredicate::ugt, warp, c(i)), pw, ci(0)));
    }
    gpu::BarrierOp::create(b);
    return {total, before};
  };

  // The expert of slot `s`: its id clamped to [0, experts).
  auto expertOf = [&](Value s) -> Value {
    Value id = arith::MaxSIOp::create(b, load(ids, s), ci(0));
    return arith::MinSIOp::create(b, id, ci(experts - 1));
  };

  // First slot of this expert: slots routed to lower experts.
  Value below = e.loop(
      tid, slots, c(kDispatchThreads), {ci(0)},
      [&](Value s, ValueRange it) -> SmallVector<Value> {
        Value lower = cmpi(arith::CmpIPredicate::slt, expertOf(s), expert);
        return {arith::AddIOp::create(b, it[0], e.select(lower, ci(1), ci(0)))};
      })[0];
  Value first = blockScan(below).first;
  Value isThread0 = cmpi(arith::CmpIPredicate::eq, tid, c(0));
  {
    auto ifOp = scf::IfOp::create(b, isThread0, false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    memref::StoreOp::create(b, first, offsets, ValueRange{expertIdx});
    Value last = cmpi(arith::CmpIPredicate::eq, expertIdx, c(experts - 1));
    auto lastIf = scf::IfOp::create(b, last, false);
    b.setInsertionPoint(lastIf.thenBlock()->getTerminator());
    memref::StoreOp::create(
        b, arith::IndexCastOp::create(b, b.getI32Type(), slots), offsets,
        ValueRange{c(experts)});
  }

  // Placement, one chunk of kDispatchThreads slots at a time.
  Value laneMask = arith::SubIOp::create(
      b,
      arith::ShLIOp::create(
          b, ci(1), arith::IndexCastOp::create(b, b.getI32Type(), lane)),
      ci(1));
  e.loop(
      c(0), slots, c(kDispatchThreads), {first},
      [&](Value chunk, ValueRange it) -> SmallVector<Value> {
        Value s = arith::AddIOp::create(b, chunk, tid);
        Value inRange = cmpi(arith::CmpIPredicate::ult, s, slots);
        Value safe = e.select(inRange, s, c(0));
        Value mine = arith::AndIOp::create(
            b, inRange, cmpi(arith::CmpIPredicate::eq, expertOf(safe), expert));
        Value ballot = NVVM::VoteSyncOp::create(b, b.getI32Type(), ci(-1), mine,
                                                NVVM::VoteSyncKind::ballot);
        Value rank = LLVM::CtPopOp::create(
            b, b.getI32Type(), arith::AndIOp::create(b, ballot, laneMask));
        Value count = LLVM::CtPopOp::create(b, b.getI32Type(), ballot);
        // Every lane holds its warp's count: let lane 0 contribute it.
        auto [total, before] = blockScan(e.select(isLane0, count, ci(0)));
        auto ifOp = scf::IfOp::create(b, mine, false);
        {
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
          Value p = arith::AddIOp::create(
              b, it[0], arith::AddIOp::create(b, before, rank));
          Value token = arith::DivUIOp::create(b, s, c(topK));
          memref::StoreOp::create(
              b, arith::IndexCastOp::create(b, b.getI32Type(), token), tokens,
              ValueRange{arith::IndexCastOp::create(b, b.getIndexType(), p)});
          memref::StoreOp::create(b, p, positions, ValueRange{s});
        }
        return {arith::AddIOp::create(b, it[0], total)};
      });
  gpu::ReturnOp::create(b);

  KernelLaunch launch;
  launch.kernel = func;
  launch.grid[0].constant = experts;
  launch.block[0] = kDispatchThreads;
  launch.args = {bufferArg(op.getExpertIds(), 4), bufferArg(op.getTokens(), 4),
                 bufferArg(op.getOffsets(), 4), bufferArg(op.getPositions(), 4),
                 KernelArg{KernelArg::Symbol, Value(), "", "", "P", 0}};
  return launch;
}
