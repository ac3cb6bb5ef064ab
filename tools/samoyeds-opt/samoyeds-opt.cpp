//===- samoyeds-opt.cpp - The Samoyeds optimizer driver -------------------===//
//
// mlir-opt with the samoyeds dialect, its passes and pipelines, and the
// upstream dialects and passes the lowering to NVVM/PTX needs.
//
//===----------------------------------------------------------------------===//

#include "samoyeds/Conversion/SamoyedsToGPU/SamoyedsToGPU.h"
#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"
#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"
#include "samoyeds/Pipelines/Pipelines.h"
#include "samoyeds/Target/Bundle/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/ProgramStack.h"

/// The stack samoyeds-opt runs on (docs/Robustness.md).
static constexpr unsigned kStackSize = 512u << 20;

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::samoyeds::SamoyedsDialect,
                  mlir::samoyeds_nvgpu::SamoyedsNVGPUDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);

  mlir::registerAllPasses();
  mlir::samoyeds::registerSamoyedsPasses();
  mlir::samoyeds::registerSamoyedsConversionPasses();
  mlir::samoyeds::registerSamoyedsTargetBundlePasses();
  mlir::samoyeds::registerSamoyedsPipelines();

  // MLIR's parser, verifier and printer recurse once per level of nesting;
  // on the usual 8 MiB stack some 5,000 nested regions or 10,000 nested
  // attribute brackets overflow it. A larger stack (address space; only the
  // pages used are touched) moves that limit out of reach of real inputs.
  int rc = 1;
  llvm::runOnNewStack(kStackSize, [&] {
    rc = mlir::asMainReturnCode(
        mlir::MlirOptMain(argc, argv, "Samoyeds optimizer driver\n", registry));
  });
  return rc;
}
