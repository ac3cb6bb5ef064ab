//===- SamoyedsNVGPUToNVVM.h - samoyeds_nvgpu to NVVM -----------*- C++ -*-===//

#ifndef SAMOYEDS_CONVERSION_SAMOYEDSNVGPUTONVVM_SAMOYEDSNVGPUTONVVM_H
#define SAMOYEDS_CONVERSION_SAMOYEDSNVGPUTONVVM_SAMOYEDSNVGPUTONVVM_H

namespace mlir {
class RewritePatternSet;
namespace samoyeds {
/// Adds the patterns that lower every samoyeds_nvgpu op: `mma` to one
/// `nvvm.mma.sync`, `mma_sp` to one `nvvm.mma.sp.sync` with ordered metadata,
/// the warpgroup ops to one `llvm.inline_asm` of PTX each (the accumulators
/// tied input to output).
void populateSamoyedsNVGPUToNVVMPatterns(RewritePatternSet &patterns);
} // namespace samoyeds
} // namespace mlir

#endif // SAMOYEDS_CONVERSION_SAMOYEDSNVGPUTONVVM_SAMOYEDSNVGPUTONVVM_H
