//===- Passes.h - Samoyeds transformation passes ----------------*- C++ -*-===//

#ifndef SAMOYEDS_DIALECT_SAMOYEDS_TRANSFORMS_PASSES_H
#define SAMOYEDS_DIALECT_SAMOYEDS_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"
#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"

namespace mlir {
class RewritePatternSet;
namespace samoyeds {

#define GEN_PASS_DECL
#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h.inc"

/// Adds the patterns that split `samoyeds.moe_ffn` and `samoyeds.moe_experts`
/// into their parts.
void populateDecomposeMoEPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h.inc"

} // namespace samoyeds
} // namespace mlir

#endif // SAMOYEDS_DIALECT_SAMOYEDS_TRANSFORMS_PASSES_H
