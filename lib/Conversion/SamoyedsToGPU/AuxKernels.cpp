//===- AuxKernels.cpp - Combine and split-K reduction kernels -------------===//
//
// out[t][r] = sum_j weights[t][j] * ws[positions[t][j]][r], summed in j order
// in f32: the result depends only on the inputs, never on scheduling, so two
// runs give bit-identical outputs (no atomics). The unsplit matmuls write
// the workspace rows in the result's element type (f32 with the pass's
// combine-f32), the split-K ones in f32. After a split-K matmul each
// workspace row is itself the sum of its K slices' partial rows, in slice
// order (with the pass's fuse-combine the decode and split-K kernels of
// the few-token calls combine themselves, the same sums: SplitReduce.cpp);
// the split reduction kernel
// (or, with fuse-split-reduce, the split-K kernel itself) does the same for
// the other epilogues.
//
// A thread sums one column, in blocks of kCombineThreads; the combine of
// the calls of many routed slots (`vector`) a thread sums 16 bytes of
// workspace row (8 16-bit or 4 f32 columns, one vector load per row; the
// rows, weight rows of a sparse format, are a multiple of 16) in blocks of
// kCombineVectorThreads, with 16-byte loads in flight instead of 2- or
// 4-byte ones: at T = 4096 a combine is a stream of the slot rows, bound by
// the loads each SM keeps in flight.
//
// Where the op's routing is settled (`routingFirst`: its weights and
// positions were written two ops before), every thread loads its token's
// slots and weights, then waits for the grids in flight and lets its
// dependents launch: after the wait only the slot rows the matmul right
// before wrote are read, one round trip instead of two.
//
//===----------------------------------------------------------------------===//

#include "KernelUtils.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
constexpr int64_t kCombineThreads = 256, kCombineVectorThreads = 64;

/// Columns one thread of a combine sums: 16 bytes of workspace row of
/// element type `rowElt` with `vector`, else one.
int64_t combineWidth(Type rowElt, bool vector) {
  return vector ? kVectorAlign / (rowElt.getIntOrFloatBitWidth() / 8) : 1;
}

/// Threads per block of a combine of `width` columns a thread.
int64_t combineThreads(int64_t width) {
  return width > 1 ? kCombineVectorThreads : kCombineThreads;
}

class CombineEmitter : public SliceSumEmitter {
public:
  CombineEmitter(ImplicitLocOpBuilder &b, int64_t cols, int64_t topK,
                 int64_t splits, int64_t slotsPerSplit, int64_t width,
                 bool routingFirst)
      : SliceSumEmitter(b, cols, splits, slotsPerSplit, width), cols(cols),
        topK(topK), routingFirst(routingFirst) {}

  void emit(gpu::GPUFuncOp func) {
    Block &entry = func.getBody().front();
    b.setInsertionPointToStart(&entry);
    Value ws = entry.getArgument(0), weights = entry.getArgument(1),
          positions = entry.getArgument(2), out = entry.getArgument(3);
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value bx = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    Value token = gpu::BlockIdOp::create(b, gpu::Dimension::y);
    Value col = mul(add(mul(bx, idx(combineThreads(width))), tid), idx(width));
    auto pair = [&](int64_t j) { return add(mul(token, idx(topK)), idx(j)); };
    SmallVector<Value> slots, scales;
    if (routingFirst) {
      for (int64_t j = 0; j < topK; ++j) {
        slots.push_back(loadIndex(positions, pair(j)));
        scales.push_back(load(weights, pair(j)));
      }
      waitForGridsAfterReads();
    }
    ifThen(cmp(arith::CmpIPredicate::ult, col, idx(cols)), [&] {
      Value sum = weightedSlotSum(
          ws, col, topK,
          [&](int64_t j) {
            return routingFirst ? slots[j] : loadIndex(positions, pair(j));
          },
          [&](int64_t j) {
            return routingFirst ? scales[j] : load(weights, pair(j));
          });
      storeOut(sum, out, add(mul(token, idx(cols)), col));
    });
    gpu::ReturnOp::create(b);
  }

private:
  int64_t cols, topK;
  bool routingFirst;
};

/// out[p][c] = epilogue(sum_z ws[z][p][...]) for c < outCols; the workspace
/// rows hold `rows` sums: gate then up for silu_mul.
class SplitReduceEmitter : public SliceSumEmitter {
public:
  SplitReduceEmitter(ImplicitLocOpBuilder &b, int64_t rows, int64_t outCols,
                     int64_t splits, int64_t slotsPerSplit,
                     std::optional<GatedActivation> act)
      : SliceSumEmitter(b, rows, splits, slotsPerSplit), outCols(outCols),
        act(act) {}

  void emit(gpu::GPUFuncOp func) {
    Block &entry = func.getBody().front();
    b.setInsertionPointToStart(&entry);
    Value ws = entry.getArgument(0), out = entry.getArgument(1);
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value bx = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    Value slot = gpu::BlockIdOp::create(b, gpu::Dimension::y);
    Value col = add(mul(bx, idx(kCombineThreads)), tid);
    ifThen(cmp(arith::CmpIPredicate::ult, col, idx(outCols)), [&] {
      Value value = reduceSlices(ws, slot, col, outCols, act);
      storeOut(value, out, add(mul(slot, idx(outCols)), col));
    });
    gpu::ReturnOp::create(b);
  }

private:
  int64_t outCols;
  /// silu_mul's activation; none for the plain sum.
  std::optional<GatedActivation> act;
};

} // namespace

FailureOr<int64_t> mlir::samoyeds::getCombineTopK(SSMMOp op) {
  auto wType = cast<RankedTensorType>(op.getRoutingWeights().getType());
  auto outType = cast<RankedTensorType>(op.getResult().getType());
  if (wType.isDynamicDim(1) || outType.isDynamicDim(1))
    return op.emitOpError() << "weighted_combine needs a static top_k and "
                            << "row count to be compiled";
  return wType.getDimSize(1);
}

FailureOr<KernelLaunch> mlir::samoyeds::buildCombineKernel(
    OpBuilder &builder, gpu::GPUModuleOp module, SSMMOp op, StringRef workspace,
    Type rowElt, StringRef name, int64_t splits, int64_t slotsPerSplit,
    bool vector, bool routingFirst) {
  FailureOr<int64_t> topK = getCombineTopK(op);
  if (failed(topK))
    return failure();
  auto outType = cast<RankedTensorType>(op.getResult().getType());
  int64_t cols = outType.getDimSize(1);
  MLIRContext *ctx = op.getContext();
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);

  KernelLaunch launch;
  assert((splits == 1 || rowElt == f32) && "split-K partial rows are f32");
  int64_t width = combineWidth(rowElt, vector), threads = combineThreads(width);
  assert(cols % width == 0 && "weight rows are a multiple of 16");
  int64_t outBytes = outType.getElementTypeBitWidth() / 8;
  launch.args = {
      workspaceArg(workspace, rowElt.getIntOrFloatBitWidth() / 8),
      bufferArg(op.getRoutingWeights(), 4), bufferArg(op.getPositions(), 4),
      bufferArg(op.getResult(), outBytes, width > 1 ? width * outBytes : 0)};
  SmallVector<Type> argTypes = {globalBuffer(rowElt), globalBuffer(f32),
                                globalBuffer(i32),
                                globalBuffer(outType.getElementType())};
  auto func =
      createKernel(builder, module, op.getLoc(), name, argTypes, threads);
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  CombineEmitter(b, cols, *topK, splits, slotsPerSplit, width, routingFirst)
      .emit(func);

  launch.kernel = func;
  launch.waitsInBody = routingFirst;
  launch.grid[0].constant = llvm::divideCeil(cols, threads * width);
  launch.grid[1].symbol = "T";
  launch.block[0] = threads;
  return launch;
}

FailureOr<KernelLaunch> mlir::samoyeds::buildSplitReduceKernel(
    OpBuilder &builder, gpu::GPUModuleOp module, SSMMOp op, StringRef workspace,
    StringRef name, int64_t splits, int64_t slotsPerSplit) {
  auto outType = cast<RankedTensorType>(op.getResult().getType());
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t rows = wType.getDimSize(1), outCols = outType.getDimSize(1);
  std::optional<GatedActivation> act;
  if (op.getEpilogue() == EpilogueKind::SiluMul)
    act = GatedActivation::of(op);
  Type f32 = Float32Type::get(op.getContext());

  KernelLaunch launch;
  launch.args = {
      workspaceArg(workspace),
      bufferArg(op.getResult(), outType.getElementTypeBitWidth() / 8)};
  auto func =
      createKernel(builder, module, op.getLoc(), name,
                   {globalBuffer(f32), globalBuffer(outType.getElementType())},
                   kCombineThreads);
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  SplitReduceEmitter(b, rows, outCols, splits, slotsPerSplit, act).emit(func);

  launch.kernel = func;
  launch.grid[0].constant = (outCols + kCombineThreads - 1) / kCombineThreads;
  launch.grid[1].symbol = "P";
  launch.block[0] = kCombineThreads;
  return launch;
}
