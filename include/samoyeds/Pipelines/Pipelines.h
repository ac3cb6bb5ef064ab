//===- Pipelines.h - The named Samoyeds pipelines ----------------*- C++
//-*-===//
//
// samoyeds-to-ptx and samoyeds-to-bundle, built in C++ from the passes' typed
// options (lib/Pipelines/Pipelines.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_PIPELINES_PIPELINES_H
#define SAMOYEDS_PIPELINES_PIPELINES_H

namespace mlir::samoyeds {

/// Registers the named pipelines (`samoyeds-to-bundle`, `samoyeds-to-ptx`).
void registerSamoyedsPipelines();

} // namespace mlir::samoyeds

#endif // SAMOYEDS_PIPELINES_PIPELINES_H
