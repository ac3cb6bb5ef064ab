//===- AuxKernels.cpp - Combine kernel of the weighted_combine epilogue ---===//
//
// out[t][r] = sum_j weights[t][j] * ws[positions[t][j]][r], summed in j order
// in f32: the result depends only on the inputs, never on scheduling, so two
// runs give bit-identical outputs (no atomics).
//
//===----------------------------------------------------------------------===//

#include "KernelUtils.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
constexpr int64_t kCombineThreads = 256;

class CombineEmitter : public EmitterBase {
public:
  CombineEmitter(ImplicitLocOpBuilder &b, int64_t cols, int64_t topK)
      : EmitterBase(b), cols(cols), topK(topK) {}

  void emit(gpu::GPUFuncOp func) {
    Block &entry = func.getBody().front();
    b.setInsertionPointToStart(&entry);
    Value ws = entry.getArgument(0), weights = entry.getArgument(1),
          positions = entry.getArgument(2), out = entry.getArgument(3);
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value bx = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    Value token = gpu::BlockIdOp::create(b, gpu::Dimension::y);
    Value col = add(mul(bx, idx(kCombineThreads)), tid);
    ifThen(cmp(arith::CmpIPredicate::ult, col, idx(cols)), [&] {
      Value sum = f32c(0.0);
      for (int64_t j = 0; j < topK; ++j) {
        Value pair = add(mul(token, idx(topK)), idx(j));
        Value slot = loadIndex(positions, pair);
        Value y = load(ws, add(mul(slot, idx(cols)), col));
        sum = arith::AddFOp::create(
            b, sum, arith::MulFOp::create(b, load(weights, pair), y));
      }
      Type elt = cast<MemRefType>(out.getType()).getElementType();
      memref::StoreOp::create(b, arith::TruncFOp::create(b, elt, sum), out,
                              ValueRange{add(mul(token, idx(cols)), col)});
    });
    gpu::ReturnOp::create(b);
  }

private:
  int64_t cols, topK;
};
} // namespace

FailureOr<KernelLaunch>
mlir::samoyeds::buildCombineKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                                   SSMMOp op, StringRef workspace,
                                   StringRef name) {
  auto wType = cast<RankedTensorType>(op.getRoutingWeights().getType());
  auto outType = cast<RankedTensorType>(op.getResult().getType());
  if (wType.isDynamicDim(1) || outType.isDynamicDim(1))
    return op.emitOpError() << "weighted_combine needs a static top_k and "
                            << "row count to be compiled";
  int64_t topK = wType.getDimSize(1), cols = outType.getDimSize(1);
  MLIRContext *ctx = op.getContext();
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);

  KernelLaunch launch;
  launch.args = {{KernelArg::Buffer, Value(), "", workspace.str(), "", 4},
                 {KernelArg::Buffer, op.getRoutingWeights(), "", "", "", 4},
                 {KernelArg::Buffer, op.getPositions(), "", "", "", 4},
                 {KernelArg::Buffer, op.getResult(), "", "", "",
                  outType.getElementTypeBitWidth() / 8}};
  SmallVector<Type> argTypes = {globalBuffer(f32), globalBuffer(f32),
                                globalBuffer(i32),
                                globalBuffer(outType.getElementType())};
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  auto func = gpu::GPUFuncOp::create(builder, op.getLoc(), name,
                                     FunctionType::get(ctx, argTypes, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(builder.getDenseI32ArrayAttr(
      {static_cast<int32_t>(kCombineThreads), 1, 1}));
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  CombineEmitter(b, cols, topK).emit(func);

  launch.kernel = func;
  launch.grid[0].constant = (cols + kCombineThreads - 1) / kCombineThreads;
  launch.grid[1].symbol = "T";
  launch.block[0] = kCombineThreads;
  return launch;
}
