//===- samoyeds-opt.cpp - The Samoyeds optimizer driver -------------------===//
//
// mlir-opt with the samoyeds dialect, its passes and pipelines, and the
// upstream dialects and passes the lowering to NVVM/PTX needs.
//
//===----------------------------------------------------------------------===//

#include "ParseSandbox.h"
#include "samoyeds/Conversion/SamoyedsToGPU/SamoyedsToGPU.h"
#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"
#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"
#include "samoyeds/Pipelines/Pipelines.h"
#include "samoyeds/Target/Bundle/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/ProgramStack.h"
#include "llvm/Support/ToolOutputFile.h"

#include <cstdio>

/// The stack samoyeds-opt runs on (docs/Robustness.md).
static constexpr unsigned kStackSize = 512u << 20;

/// mlir::MlirOptMain(argc, argv, toolName, registry), with the parse sandbox
/// (ParseSandbox.h) between reading the input and opening the output.
static mlir::LogicalResult samoyedsOptMain(int argc, char **argv,
                                           mlir::DialectRegistry &registry) {
  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "Samoyeds optimizer driver\n", registry);
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::MlirOptMain(argc, argv, inputFilename, outputFilename,
                             registry);

  // What MlirOptMain(argc, argv, inputFilename, outputFilename, registry)
  // does, with the sandbox before the output is opened.
  llvm::InitLLVM y(argc, argv);
  if (inputFilename == "-" &&
      llvm::sys::Process::FileDescriptorIsDisplayed(fileno(stdin)))
    llvm::errs() << "(processing input from stdin now, hit ctrl-c/ctrl-d to "
                    "interrupt)\n";
  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> input =
      mlir::openInputFile(inputFilename, &errorMessage);
  if (!input) {
    llvm::errs() << errorMessage << "\n";
    return mlir::failure();
  }
  if (mlir::failed(mlir::samoyeds::parseInSandbox(input, registry, config)))
    return mlir::failure();
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << errorMessage << "\n";
    return mlir::failure();
  }
  if (mlir::failed(
          mlir::MlirOptMain(output->os(), std::move(input), registry, config)))
    return mlir::failure();
  output->keep();
  return mlir::success();
}

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
  // The parse sandbox forks from this thread, before MlirOptMain starts any
  // other.
  int rc = 1;
  llvm::runOnNewStack(kStackSize, [&] {
    rc = mlir::asMainReturnCode(samoyedsOptMain(argc, argv, registry));
  });
  return rc;
}
