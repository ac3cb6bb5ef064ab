//===- Passes.h - Bundle emission pass ---------------------------*- C++
//-*-===//
//
// The samoyeds-emit-bundle pass (Passes.td): writes kernels.ptx, the
// manifest and, where ptxas is found, kernels.cubin.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_TARGET_BUNDLE_PASSES_H
#define SAMOYEDS_TARGET_BUNDLE_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::samoyeds {

#define GEN_PASS_DECL
#include "samoyeds/Target/Bundle/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "samoyeds/Target/Bundle/Passes.h.inc"

} // namespace mlir::samoyeds

#endif // SAMOYEDS_TARGET_BUNDLE_PASSES_H
