//===- RouteKernels.cpp - Router logits and top-k selection ---------------===//
//
// samoyeds.route becomes two kernels around a [T, E] f32 workspace of logits.
//
// logits: a block owns a tile of tokens x experts. Each warp computes the dot
// products of `tokensPerWarp` tokens and `expertsPerWarp` experts over one of
// `slices` equal ranges of the hidden size (lanes strided over it, 16 bytes
// of each row per lane and step where the size allows), reduces them over
// its lanes and, with several slices, sums the slices' partials in slice
// order through shared memory. Up to three shapes are built, guarded by T:
// for decode one token per warp with the hidden size split so that every SM
// streams a part of the router; for prefill 8 tokens x 4 experts per warp,
// so every router vector loaded serves 8 tokens and every activation vector
// 4 experts; and, where x and the router share a 16-bit type and the grid is
// large enough, m16n8k16 tensor-core MMAs of 16 tokens x up to 32 experts per
// warp.
//
// select: one warp per token. Each lane keeps every 32nd logit in registers;
// the softmax's maximum and sum and the k rounds of arg-max are warp
// reductions (gpu.subgroup_reduce). Round j takes the largest logit after
// round j-1's in (logit descending, expert ascending) order, so ties go to
// the lower expert and no set of chosen experts is kept; a NaN logit is never
// chosen (its maximum, and so every weight, is NaN).
//
//===----------------------------------------------------------------------===//

#include "KernelUtils.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

#include <limits>

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
/// Calls with at most this many tokens run the decode shape of the logits
/// kernel, the others the prefill shape.
constexpr int64_t kDecodeTokens = 32;
/// Warps (tokens) per block of the select kernel.
constexpr int64_t kSelectWarps = 4;
/// Elements per vector load of x and router rows (16 bytes of bf16).
constexpr int64_t kVector = 8;

/// The tensor-core shape runs where its grid has at least this many blocks
/// (and T >= kMmaMinTokens): each of its blocks streams the whole hidden size
/// with two chunks in flight, so with fewer blocks the prefill shape is
/// faster (H200, bench/RESULTS.md S8: 0.95-0.98x at 8-16 blocks on Mixtral,
/// Qwen2-MoE and OLMoE; 1.05-1.36x at T = 4096).
constexpr int64_t kMmaMinBlocks = 64, kMmaMinTokens = 512;

/// How one logits kernel divides its work.
struct LogitsShape {
  int64_t tokensPerWarp = 1, expertsPerWarp = 1;
  /// Warps per block along the experts and along the hidden size.
  int64_t expertWarps = 1, slices = 1;
  /// The tensor-core shape: each warp computes 16 tokens x expertsPerWarp
  /// (a multiple of 8) with m16n8k16 MMAs; tokenWarps warps along the
  /// tokens.
  bool mma = false;
  int64_t tokenWarps = 1;

  int64_t warps() const { return expertWarps * slices * tokenWarps; }
  int64_t blockExperts() const { return expertWarps * expertsPerWarp; }
  int64_t blockTokens() const { return mma ? 16 * tokenWarps : tokensPerWarp; }
};

/// Elements each lane reads per step: a 16-byte vector where whole vectors
/// of 32 lanes tile the hidden size, else one element.
int64_t laneWidth(int64_t hidden) {
  return hidden % (32 * kVector) == 0 ? kVector : 1;
}

/// The decode shape: one token and one expert per warp; the hidden size is
/// split over up to 16 warps until the grid has about 512 warps, so that at
/// T = 1 the router is read by many SMs at once.
LogitsShape decodeShape(int64_t hidden, int64_t experts) {
  int64_t steps = llvm::divideCeil(hidden, 32 * laneWidth(hidden));
  LogitsShape s;
  for (int64_t slices = 1; slices <= 16 && slices <= steps; slices *= 2) {
    if (steps % slices != 0)
      continue;
    s.slices = slices;
    if (experts * slices >= 512)
      break;
  }
  s.expertWarps = std::min(experts, std::max<int64_t>(1, 4 / s.slices));
  return s;
}

/// The prefill shape: 8 tokens x up to 4 experts per warp, 4 warps along the
/// experts; with fewer than 4 such groups of 16 experts (Mixtral's 8) the
/// hidden size is split over up to 4 warps too, so that a call of a few
/// hundred tokens still fills the SMs.
LogitsShape prefillShape(int64_t hidden, int64_t experts) {
  LogitsShape s;
  s.tokensPerWarp = 8;
  s.expertsPerWarp = std::min<int64_t>(4, experts);
  s.expertWarps =
      std::min<int64_t>(4, llvm::divideCeil(experts, s.expertsPerWarp));
  int64_t groups = llvm::divideCeil(experts, s.blockExperts());
  int64_t steps = llvm::divideCeil(hidden, 32 * laneWidth(hidden));
  while (groups * s.slices < 4 && s.slices < 4 && steps % (2 * s.slices) == 0)
    s.slices *= 2;
  return s;
}

/// The tensor-core shape, or none: both operands one 16-bit type and the
/// hidden size a multiple of 32 (each lane loads 8 elements of a 32-column
/// chunk). Up to 4 MMA tiles of 8 experts per warp, 2 warps along the
/// experts, 4 warps in all.
std::optional<LogitsShape> mmaShape(Type xElt, Type rElt, int64_t hidden,
                                    int64_t experts) {
  if (xElt != rElt || !(xElt.isBF16() || xElt.isF16()) || hidden % 32 != 0)
    return std::nullopt;
  LogitsShape s;
  s.mma = true;
  int64_t tiles = std::min<int64_t>(4, llvm::divideCeil(experts, 8));
  s.expertsPerWarp = 8 * tiles;
  s.expertWarps =
      std::min<int64_t>(2, llvm::divideCeil(experts, s.expertsPerWarp));
  s.tokenWarps = 4 / s.expertWarps;
  return s;
}

class RouteEmitter : public EmitterBase {
public:
  RouteEmitter(ImplicitLocOpBuilder &b, int64_t hidden, int64_t experts)
      : EmitterBase(b), hidden(hidden), experts(experts) {}

  void emitLogits(gpu::GPUFuncOp func, const LogitsShape &shape);
  void emitMmaLogits(gpu::GPUFuncOp func, const LogitsShape &shape);
  void emitSelect(gpu::GPUFuncOp func, int64_t topK, bool renormalize,
                  double scale);

private:
  /// Starts the body of `func`; returns its last argument, T, as an index.
  Value enter(gpu::GPUFuncOp func);
  Value toF32(Value v) {
    Type f32 = b.getF32Type();
    if (auto vec = dyn_cast<VectorType>(v.getType()))
      f32 = VectorType::get(vec.getShape(), f32);
    return v.getType() == f32 ? v : arith::ExtFOp::create(b, f32, v);
  }
  /// `width` elements of `buf` from element `i` as f32 (a vector when
  /// width > 1).
  Value loadF32(Value buf, Value i, int64_t width) {
    if (width == 1)
      return toF32(load(buf, i));
    Type elt = cast<MemRefType>(buf.getType()).getElementType();
    return toF32(vector::LoadOp::create(b, VectorType::get({width}, elt), buf,
                                        ValueRange{i}, /*nontemporal=*/false,
                                        llvm::MaybeAlign(16)));
  }
  /// acc + the dot product of `x` and `r` (vectors or scalars), one fused
  /// multiply-add per element in element order.
  Value dot(Value acc, Value x, Value r) {
    auto fma = [&](Value a, Value c) {
      return LLVM::FMAOp::create(b, a, c, acc).getResult();
    };
    auto vec = dyn_cast<VectorType>(x.getType());
    if (!vec)
      return fma(x, r);
    for (int64_t i = 0; i < vec.getNumElements(); ++i)
      acc = fma(vector::ExtractOp::create(b, x, i),
                vector::ExtractOp::create(b, r, i));
    return acc;
  }

  int64_t hidden, experts;
};

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
  int64_t steps = llvm::divideCeil(hidden, step);
  int64_t perSlice = steps / shape.slices;
  bool ragged = hidden % step != 0;

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value warp = div(tid, idx(32)), lane = rem(tid, idx(32));
  Value slice = rem(warp, idx(shape.slices));
  Value expertWarp = div(warp, idx(shape.slices));
  Value firstExpert = add(mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                              idx(shape.blockExperts())),
                          mul(expertWarp, idx(shape.expertsPerWarp)));
  Value firstToken = mul(gpu::BlockIdOp::create(b, gpu::Dimension::y),
                         idx(shape.tokensPerWarp));

  // Rows past the last token or expert read the last one and are not
  // stored.
  SmallVector<Value> xRows, rRows, tokenOf, expertOf;
  for (int64_t t = 0; t < shape.tokensPerWarp; ++t) {
    tokenOf.push_back(add(firstToken, idx(t)));
    Value last = sub(tokens, idx(1));
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
  auto store = [&](Value sum, Value token, Value expert) {
    Value valid = arith::AndIOp::create(
        b, cmp(arith::CmpIPredicate::ult, token, tokens),
        cmp(arith::CmpIPredicate::ult, expert, idx(experts)));
    ifThen(valid, [&] {
      memref::StoreOp::create(
          b, sum, logits, ValueRange{add(mul(token, idx(experts)), expert)});
    });
  };
  int64_t tileSums = shape.tokensPerWarp * shape.blockExperts();
  for (int64_t t = 0; t < shape.tokensPerWarp; ++t)
    for (int64_t e = 0; e < shape.expertsPerWarp; ++e) {
      Value sum = warpReduce(forOp.getResult(t * shape.expertsPerWarp + e),
                             gpu::AllReduceOperation::ADD);
      ifThen(isLane0, [&] {
        if (!partials)
          return store(sum, tokenOf[t], expertOf[e]);
        // partials[slice][t][expert in block]
        Value col = add(mul(expertWarp, idx(shape.expertsPerWarp)), idx(e));
        Value at = add(mul(slice, idx(tileSums)),
                       add(mul(idx(t), idx(shape.blockExperts())), col));
        memref::StoreOp::create(b, sum, partials, ValueRange{at});
      });
    }
  if (partials) {
    gpu::BarrierOp::create(b);
    ifThen(cmp(arith::CmpIPredicate::ult, tid, idx(tileSums)), [&] {
      Value sum = load(partials, tid);
      for (int64_t s = 1; s < shape.slices; ++s)
        sum = arith::AddFOp::create(
            b, sum, load(partials, add(tid, idx(s * tileSums))));
      Value t = div(tid, idx(shape.blockExperts()));
      Value col = rem(tid, idx(shape.blockExperts()));
      Value blockFirst = mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                             idx(shape.blockExperts()));
      store(sum, add(firstToken, t), add(blockFirst, col));
    });
  }
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
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value warp = div(tid, idx(32)), lane = rem(tid, idx(32));
  Value g = div(lane, idx(4)), t = rem(lane, idx(4));
  Value firstToken = add(mul(gpu::BlockIdOp::create(b, gpu::Dimension::y),
                             idx(shape.blockTokens())),
                         mul(div(warp, idx(shape.expertWarps)), idx(16)));
  Value firstExpert =
      add(mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
              idx(shape.blockExperts())),
          mul(rem(warp, idx(shape.expertWarps)), idx(shape.expertsPerWarp)));
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
  // The 2 x rows and `tiles` router rows of chunk `c` (clamped to the last).
  auto loadChunk = [&](Value c) {
    Value col = mul(arith::MinUIOp::create(b, c, idx(chunks - 1)), idx(32));
    SmallVector<Value> v;
    for (auto [i, row] : llvm::enumerate(rows))
      v.push_back(vector::LoadOp::create(
          b, vec8, i < 2 ? x : router, ValueRange{add(row, col)},
          /*nontemporal=*/false, llvm::MaybeAlign(16)));
    return v;
  };
  // Two chunks in flight: iteration i computes chunk i and loads chunk i + 2.
  int64_t sets = rows.size();
  SmallVector<Value> init(tiles, f32Splat(4, 0.0));
  llvm::append_range(init, loadChunk(idx(0)));
  llvm::append_range(init, loadChunk(idx(1)));
  auto loop = forLoop(idx(0), idx(chunks), idx(1), init,
                      [&](Value i, ValueRange it) -> SmallVector<Value> {
                        SmallVector<Value> later = loadChunk(add(i, idx(2)));
                        ValueRange cur = it.slice(tiles, sets);
                        SmallVector<Value> acc(it.take_front(tiles));
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
                        SmallVector<Value> next = acc;
                        llvm::append_range(next, it.slice(tiles + sets, sets));
                        llvm::append_range(next, later);
                        return next;
                      });
  // Accumulator i of tile n: token g + 8 (i / 2), expert 8 n + 2 t + i % 2.
  for (int64_t n = 0; n < tiles; ++n)
    for (int64_t i = 0; i < 4; ++i) {
      Value token = add(add(firstToken, g), idx(8 * (i / 2)));
      Value expert = add(add(firstExpert, idx(8 * n + i % 2)), mul(t, idx(2)));
      Value valid = arith::AndIOp::create(
          b, cmp(arith::CmpIPredicate::ult, token, tokens),
          cmp(arith::CmpIPredicate::ult, expert, idx(experts)));
      Value sum = vector::ExtractOp::create(b, loop.getResult(n), i);
      ifThen(valid, [&] {
        memref::StoreOp::create(
            b, sum, logits, ValueRange{add(mul(token, idx(experts)), expert)});
      });
    }
  gpu::ReturnOp::create(b);
}

void RouteEmitter::emitSelect(gpu::GPUFuncOp func, int64_t topK,
                              bool renormalize, double scale) {
  Value tokens = enter(func);
  Value logits = func.getArgument(0), weights = func.getArgument(1),
        ids = func.getArgument(2);
  Type i32 = b.getI32Type();
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value lane = rem(tid, idx(32));
  Value token =
      add(mul(gpu::BlockIdOp::create(b, gpu::Dimension::x), idx(kSelectWarps)),
          div(tid, idx(32)));
  // The whole warp takes the branch: its reductions stay uniform.
  ifThen(cmp(arith::CmpIPredicate::ult, token, tokens), [&] {
    float inf = std::numeric_limits<float>::infinity();
    Value lane32 = arith::IndexCastOp::create(b, i32, lane);
    Value row = mul(token, idx(experts));
    // Lane l holds the logits of experts l, l + 32, ...; `valid` is null
    // where every lane has one.
    SmallVector<Value> logit, expert, valid;
    Value localMax = f32c(-inf);
    for (int64_t c = 0; c * 32 < experts; ++c) {
      Value e = add(lane32, i32c(c * 32));
      Value ok = (c + 1) * 32 <= experts
                     ? Value()
                     : cmp(arith::CmpIPredicate::slt, e, i32c(experts));
      Value at = add(lane, idx(c * 32));
      if (ok)
        at = select(ok, at, idx(0));
      Value l = load(logits, add(row, at));
      logit.push_back(l);
      expert.push_back(e);
      valid.push_back(ok);
      localMax = arith::MaximumFOp::create(b, localMax,
                                           ok ? select(ok, l, f32c(-inf)) : l);
    }
    Value max = warpReduce(localMax, gpu::AllReduceOperation::MAXIMUMF);
    auto prob = [&](Value l) {
      return exp2(arith::MulFOp::create(b, arith::SubFOp::create(b, l, max),
                                        f32c(1.4426950408889634)));
    };
    Value localSum = f32c(0.0);
    for (auto [l, ok] : llvm::zip(logit, valid)) {
      Value p = prob(l);
      localSum =
          arith::AddFOp::create(b, localSum, ok ? select(ok, p, f32c(0.0)) : p);
    }
    Value sum = warpReduce(localSum, gpu::AllReduceOperation::ADD);
    Value isLane0 = cmp(arith::CmpIPredicate::eq, lane, idx(0));
    Value base = mul(token, idx(topK));
    Value factor = f32c(scale);

    // Round j: the largest (logit, -expert) below the last round's.
    auto rounds = forLoop(
        idx(0), idx(topK), idx(1), ValueRange{f32c(inf), i32c(-1), f32c(0.0)},
        [&](Value j, ValueRange it) -> SmallVector<Value> {
          Value lastLogit = it[0], lastExpert = it[1];
          Value none = i32c(experts);
          Value best = f32c(-inf), bestExpert = none;
          for (auto [l, e, ok] : llvm::zip(logit, expert, valid)) {
            Value after = arith::OrIOp::create(
                b,
                arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, l,
                                      lastLogit),
                arith::AndIOp::create(
                    b,
                    arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, l,
                                          lastLogit),
                    cmp(arith::CmpIPredicate::sgt, e, lastExpert)));
            if (ok)
              after = arith::AndIOp::create(b, after, ok);
            // Experts come in increasing order: an equal logit stays.
            Value better = arith::AndIOp::create(
                b, after,
                arith::OrIOp::create(
                    b,
                    arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l,
                                          best),
                    cmp(arith::CmpIPredicate::eq, bestExpert, none)));
            best = select(better, l, best);
            bestExpert = select(better, e, bestExpert);
          }
          Value top = warpReduce(best, gpu::AllReduceOperation::MAXIMUMF);
          Value isTop =
              arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, best, top);
          Value chosen = warpReduce(select(isTop, bestExpert, none),
                                    gpu::AllReduceOperation::MINSI);
          Value w = arith::DivFOp::create(b, prob(top), sum);
          Value slot = add(base, j);
          ifThen(isLane0, [&] {
            Value stored =
                renormalize ? w : arith::MulFOp::create(b, w, factor);
            memref::StoreOp::create(b, stored, weights, ValueRange{slot});
            // No expert left (NaN logits): expert 0, with a NaN weight.
            Value id = select(cmp(arith::CmpIPredicate::eq, chosen, none),
                              i32c(0), chosen);
            memref::StoreOp::create(b, id, ids, ValueRange{slot});
          });
          return {top, chosen, arith::AddFOp::create(b, it[2], w)};
        });
    if (!renormalize)
      return;
    factor = arith::DivFOp::create(b, factor, rounds.getResult(2));
    ifThen(isLane0, [&] {
      for (int64_t j = 0; j < topK; ++j) {
        Value slot = add(base, idx(j));
        Value w = load(weights, slot);
        memref::StoreOp::create(b, arith::MulFOp::create(b, w, factor), weights,
                                ValueRange{slot});
      }
    });
  });
  gpu::ReturnOp::create(b);
}
} // namespace

FailureOr<KernelLaunches>
mlir::samoyeds::buildRouteKernels(OpBuilder &builder, gpu::GPUModuleOp module,
                                  RouteOp op, StringRef name,
                                  StringRef workspace) {
  auto xType = cast<RankedTensorType>(op.getHidden().getType());
  auto rType = cast<RankedTensorType>(op.getRouter().getType());
  if (xType.isDynamicDim(1) || !rType.hasStaticShape())
    return op.emitOpError() << "needs static hidden size and expert count to "
                            << "be compiled";
  int64_t hidden = xType.getDimSize(1), experts = rType.getDimSize(0);
  MLIRContext *ctx = op.getContext();
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  int64_t xBytes = xType.getElementTypeBitWidth() / 8;
  int64_t rBytes = rType.getElementTypeBitWidth() / 8;
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  KernelLaunches launches;

  auto addLogits = [&](StringRef suffix, const LogitsShape &shape,
                       int64_t minTokens, int64_t maxTokens) {
    int64_t partials = shape.slices > 1 ? shape.slices * shape.tokensPerWarp *
                                              shape.blockExperts()
                                        : 0;
    SmallVector<Type> workgroup;
    if (partials)
      workgroup.push_back(workgroupBuffer(f32, partials));
    auto func = createKernel(
        builder, module, op.getLoc(), (name + suffix).str(),
        {globalBuffer(xType.getElementType()),
         globalBuffer(rType.getElementType()), globalBuffer(f32), i32},
        shape.warps() * 32, workgroup);
    RouteEmitter emitter(b, hidden, experts);
    if (shape.mma)
      emitter.emitMmaLogits(func, shape);
    else
      emitter.emitLogits(func, shape);
    KernelLaunch launch;
    launch.kernel = func;
    launch.grid[0].constant = llvm::divideCeil(experts, shape.blockExperts());
    launch.grid[1].symbol = "T";
    launch.grid[1].divisor = shape.blockTokens();
    launch.block[0] = shape.warps() * 32;
    launch.args = {bufferArg(op.getHidden(), xBytes),
                   bufferArg(op.getRouter(), rBytes), workspaceArg(workspace),
                   symbolArg("T")};
    launch.whenSymbol = "T";
    launch.whenMin = minTokens;
    launch.whenMax = maxTokens;
    launches.push_back(launch);
  };
  addLogits("_logits", decodeShape(hidden, experts), 1, kDecodeTokens);
  std::optional<LogitsShape> mma =
      mmaShape(xType.getElementType(), rType.getElementType(), hidden, experts);
  int64_t mmaFrom = 0;
  if (mma) {
    int64_t groups = llvm::divideCeil(experts, mma->blockExperts());
    mmaFrom = std::max<int64_t>(kMmaMinTokens,
                                llvm::divideCeil(kMmaMinBlocks, groups) *
                                    mma->blockTokens());
  }
  addLogits("_logits_prefill", prefillShape(hidden, experts), kDecodeTokens + 1,
            mma ? mmaFrom - 1 : -1);
  if (mma)
    addLogits("_logits_mma", *mma, mmaFrom, -1);

  auto select = createKernel(
      builder, module, op.getLoc(), (name + "_select").str(),
      {globalBuffer(f32), globalBuffer(f32), globalBuffer(i32), i32},
      kSelectWarps * 32);
  RouteEmitter(b, hidden, experts)
      .emitSelect(select, op.getTopK(), op.getRenormalize(),
                  op.getRoutedScalingFactor().convertToDouble());
  KernelLaunch launch;
  launch.kernel = select;
  launch.grid[0].symbol = "T";
  launch.grid[0].divisor = kSelectWarps;
  launch.block[0] = kSelectWarps * 32;
  launch.args = {workspaceArg(workspace), bufferArg(op.getWeights(), 4),
                 bufferArg(op.getExpertIds(), 4), symbolArg("T")};
  launches.push_back(launch);
  return launches;
}
