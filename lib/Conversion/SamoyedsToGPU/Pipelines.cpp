//===- Pipelines.cpp - Named Samoyeds pipelines ---------------------------===//

#include "samoyeds/Conversion/SamoyedsToGPU/SamoyedsToGPU.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace {
struct PipelineOptions : public PassPipelineOptions<PipelineOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("Target chip: sm_80, sm_90, sm_90a"),
                           llvm::cl::init("sm_90a")};
  Option<std::string> dir{
      *this, "dir", llvm::cl::desc("Bundle directory (samoyeds-to-bundle)"),
      llvm::cl::init("")};
  Option<bool> assemble{*this, "assemble",
                        llvm::cl::desc("Assemble a cubin when ptxas is found"),
                        llvm::cl::init(true)};
  Option<int64_t> tokens{
      *this, "tokens",
      llvm::cl::desc("samoyeds-select-tiles: routed tokens per block (0: "
                     "choose)"),
      llvm::cl::init(0)};
  Option<int64_t> splitK{
      *this, "split-k",
      llvm::cl::desc("samoyeds-select-tiles: K slices of the split-K variant "
                     "(0: choose, 1: none)"),
      llvm::cl::init(0)};
  Option<int64_t> rowTiles{
      *this, "row-tiles",
      llvm::cl::desc("samoyeds-select-tiles: 16-row tiles per warp (0: "
                     "choose)"),
      llvm::cl::init(0)};
  Option<int64_t> rowMasks{
      *this, "row-masks",
      llvm::cl::desc("samoyeds-select-tiles: row selection by masked mma.sp "
                     "(1) or span-end routing (0); -1: choose"),
      llvm::cl::init(-1)};
  Option<std::string> strategy{
      *this, "strategy",
      llvm::cl::desc("samoyeds-select-tiles: MMA strategy (auto, mma_sp, "
                     "wgmma_sp)"),
      llvm::cl::init("auto")};
  Option<int64_t> persistent{
      *this, "persistent",
      llvm::cl::desc("samoyeds-select-tiles: blocks per SM of a persistent "
                     "grid (0: none, -1: choose)"),
      llvm::cl::init(-1)};
};

/// The textual pipeline from samoyeds ops to a gpu.binary holding PTX.
/// PTX 8.5 is the first with mma.sp::ordered_metadata.
std::string ptxPipeline(const PipelineOptions &o) {
  return llvm::formatv(
      "samoyeds-decompose-moe,samoyeds-select-tiles{{chip={0} tokens={1} "
      "split-k={2} row-tiles={3} row-masks={4} persistent={5} strategy={6}},"
      "convert-samoyeds-to-gpu,"
      "gpu.module(convert-samoyeds-nvgpu-to-nvvm,convert-nvgpu-to-nvvm,convert-vector-to-scf,"
      "convert-scf-to-cf,expand-strided-metadata,"
      "convert-gpu-to-nvvm,convert-nvvm-to-llvm,canonicalize,cse,"
      "reconcile-unrealized-casts),"
      "nvvm-attach-target{{module=samoyeds_kernels chip={0} "
      "features=+ptx85 O=3},"
      "gpu-module-to-binary{{format=isa}",
      o.chip.getValue(), o.tokens.getValue(), o.splitK.getValue(),
      o.rowTiles.getValue(), o.rowMasks.getValue(), o.persistent.getValue(),
      o.strategy.getValue());
}

LogicalResult
buildPTX(OpPassManager &pm, const PipelineOptions &o,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
  if (o.chip != "sm_80" && o.chip != "sm_90" && o.chip != "sm_90a")
    return errorHandler("samoyeds pipelines: unsupported chip '" + o.chip +
                        "' (expected sm_80, sm_90 or sm_90a)");
  return parsePassPipeline(ptxPipeline(o), pm);
}
} // namespace

namespace {
/// Registers a pipeline whose option errors are reported, not fatal.
void registerPipeline(StringRef arg, StringRef description, bool bundle) {
  registerPassPipeline(
      arg, description,
      [bundle](OpPassManager &pm, StringRef optionsStr,
               function_ref<LogicalResult(const Twine &)> errorHandler) {
        PipelineOptions o;
        if (failed(o.parseFromString(optionsStr)) ||
            failed(buildPTX(pm, o, errorHandler)))
          return failure();
        if (!bundle)
          return success();
        if (o.dir.empty())
          return errorHandler("samoyeds-to-bundle needs dir=<directory>");
        return parsePassPipeline(
            "samoyeds-emit-bundle{dir=" + o.dir.getValue() +
                " assemble=" + (o.assemble ? "true" : "false") + "}",
            pm);
      },
      [](function_ref<void(const detail::PassOptions &)> optHandler) {
        optHandler(PipelineOptions());
      });
}
} // namespace

void mlir::samoyeds::registerSamoyedsPipelines() {
  registerPipeline("samoyeds-to-ptx",
                   "Compile samoyeds ops to a gpu.binary of PTX for the chip",
                   /*bundle=*/false);
  registerPipeline("samoyeds-to-bundle",
                   "Compile samoyeds ops to a bundle (PTX, cubin when ptxas "
                   "is found, manifest.json) in dir",
                   /*bundle=*/true);
}
