//===- SamoyedsNVGPUToNVVM.h - samoyeds_nvgpu to inline PTX -----*- C++ -*-===//

#ifndef SAMOYEDS_CONVERSION_SAMOYEDSNVGPUTONVVM_SAMOYEDSNVGPUTONVVM_H
#define SAMOYEDS_CONVERSION_SAMOYEDSNVGPUTONVVM_SAMOYEDSNVGPUTONVVM_H

namespace mlir {
class RewritePatternSet;
namespace samoyeds {
/// Adds the patterns that lower every samoyeds_nvgpu op to one
/// `llvm.inline_asm` of PTX (the accumulators tied input to output).
void populateSamoyedsNVGPUToNVVMPatterns(RewritePatternSet &patterns);
} // namespace samoyeds
} // namespace mlir

#endif // SAMOYEDS_CONVERSION_SAMOYEDSNVGPUTONVVM_SAMOYEDSNVGPUTONVVM_H
