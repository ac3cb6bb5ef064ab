//===- LowerSubgroupReduce.cpp - gpu.subgroup_reduce for NVVM -------------===//
//
// convert-gpu-to-nvvm lowers a gpu.subgroup_reduce only when one redux.sync
// implements it; this pass gives every other one (the f32 sums and maxima of
// the route kernels, for instance) to MLIR's shuffle lowering first.
//
//===----------------------------------------------------------------------===//

#include "samoyeds/Conversion/LowerSubgroupReduce/LowerSubgroupReduce.h"
#include "samoyeds/Conversion/SamoyedsToGPU/SamoyedsToGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::samoyeds {
#define GEN_PASS_DEF_SAMOYEDSLOWERSUBGROUPREDUCE
#include "samoyeds/Conversion/Passes.h.inc"
} // namespace mlir::samoyeds

using namespace mlir;
using namespace mlir::samoyeds;

/// Threads per warp, and the width of one shuffle, on every NVIDIA chip.
static constexpr unsigned kWarpSize = 32, kShuffleBits = 32;

bool mlir::samoyeds::isReduxSync(gpu::SubgroupReduceOp op) {
  if (!op.getUniform() || op.getClusterSize() || !op.getType().isInteger(32))
    return false;
  switch (op.getOp()) {
  case gpu::AllReduceOperation::ADD:
  case gpu::AllReduceOperation::MINSI:
  case gpu::AllReduceOperation::MAXSI:
  case gpu::AllReduceOperation::AND:
  case gpu::AllReduceOperation::OR:
  case gpu::AllReduceOperation::XOR:
    return true;
  default:
    return false;
  }
}

void mlir::samoyeds::populateLowerSubgroupReducePatterns(
    RewritePatternSet &patterns) {
  populateGpuLowerSubgroupReduceToShufflePatterns(patterns, kWarpSize,
                                                  kShuffleBits);
}

namespace {
struct SamoyedsLowerSubgroupReduce
    : samoyeds::impl::SamoyedsLowerSubgroupReduceBase<
          SamoyedsLowerSubgroupReduce> {
  using SamoyedsLowerSubgroupReduceBase::SamoyedsLowerSubgroupReduceBase;

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](gpu::SubgroupReduceOp op) {
      if (!redux || !isReduxSync(op))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    RewritePatternSet patterns(&getContext());
    populateLowerSubgroupReducePatterns(patterns);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    if (failed(applyOpPatternsGreedily(ops, std::move(patterns), config)))
      return signalPassFailure();
    // A clustered or wider-than-32-bit reduction the patterns left alone
    // would fail later, less clearly.
    WalkResult left = getOperation().walk([&](gpu::SubgroupReduceOp op) {
      if (redux && isReduxSync(op))
        return WalkResult::advance();
      op.emitOpError() << "cannot be lowered to 32-lane shuffles"
                       << (redux ? " or redux.sync" : "");
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
