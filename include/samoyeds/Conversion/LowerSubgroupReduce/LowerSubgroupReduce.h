//===- LowerSubgroupReduce.h - gpu.subgroup_reduce for NVVM -----*- C++ -*-===//

#ifndef SAMOYEDS_CONVERSION_LOWERSUBGROUPREDUCE_LOWERSUBGROUPREDUCE_H
#define SAMOYEDS_CONVERSION_LOWERSUBGROUPREDUCE_LOWERSUBGROUPREDUCE_H

namespace mlir {
class RewritePatternSet;
namespace gpu {
class SubgroupReduceOp;
} // namespace gpu
namespace samoyeds {
/// Whether `convert-gpu-to-nvvm` with `has-redux` lowers `op` to one
/// `redux.sync`: a uniform, unclustered i32 add, minsi, maxsi, and, or or
/// xor.
bool isReduxSync(gpu::SubgroupReduceOp op);

/// Adds the patterns that rewrite `gpu.subgroup_reduce` (unclustered) into a
/// butterfly of 32-bit xor shuffles over a 32-lane warp. The pass applies
/// them only to the ops `redux.sync` cannot take.
void populateLowerSubgroupReducePatterns(RewritePatternSet &patterns);
} // namespace samoyeds
} // namespace mlir

#endif // SAMOYEDS_CONVERSION_LOWERSUBGROUPREDUCE_LOWERSUBGROUPREDUCE_H
