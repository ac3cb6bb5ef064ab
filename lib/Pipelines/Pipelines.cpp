//===- Pipelines.cpp - Named Samoyeds pipelines ---------------------------===//
//
// samoyeds-to-ptx and samoyeds-to-bundle, assembled with pm.addPass from the
// passes' typed options, as upstream's GPU-to-NVVM pipeline is.
//
//===----------------------------------------------------------------------===//

#include "samoyeds/Pipelines/Pipelines.h"
#include "samoyeds/Conversion/SamoyedsNVGPUToNVVM/SamoyedsNVGPUToNVVM.h"
#include "samoyeds/Conversion/SamoyedsToGPU/SamoyedsToGPU.h"
#include "samoyeds/Dialect/Samoyeds/Transforms/Passes.h"
#include "samoyeds/Support/Chip.h"
#include "samoyeds/Target/Bundle/Passes.h"

#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::samoyeds;

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
  Option<int64_t> decodeTokens{
      *this, "decode-tokens",
      llvm::cl::desc("samoyeds-select-tiles: routed tokens per block of the "
                     "decode variants (-1: choose, 0: none)"),
      llvm::cl::init(-1)};
  Option<int64_t> decodeSlots{
      *this, "decode-slots",
      llvm::cl::desc("samoyeds-select-tiles: routed slots per expert up to "
                     "which calls take the decode tile (0: choose)"),
      llvm::cl::init(0)};
  Option<int64_t> wideTokens{
      *this, "wide-tokens",
      llvm::cl::desc("samoyeds-select-tiles: routed tokens per block of the "
                     "wide variant (0: none, -1: choose)"),
      llvm::cl::init(-1)};
  Option<int64_t> wideSlots{
      *this, "wide-slots",
      llvm::cl::desc("samoyeds-select-tiles: routed slots per expert from "
                     "which calls take the wide variant (-1: choose)"),
      llvm::cl::init(-1)};
  Option<int64_t> wideLowTokens{
      *this, "wide-low-tokens",
      llvm::cl::desc("samoyeds-select-tiles: routed tokens per block of the "
                     "wide variant's second width (0: none, -1: choose)"),
      llvm::cl::init(-1)};
  Option<int64_t> wideLowSlots{
      *this, "wide-low-slots",
      llvm::cl::desc("samoyeds-select-tiles: routed slots per expert up to "
                     "which the wide variant's calls take its second width "
                     "(-1: its tokens)"),
      llvm::cl::init(-1)};
  Option<int64_t> fewSlots{
      *this, "few-slots",
      llvm::cl::desc("samoyeds-select-tiles: routed slots per expert below "
                     "which the persistent grid's calls run four consumer "
                     "warpgroups (0: none, -1: choose)"),
      llvm::cl::init(-1)};
  Option<int64_t> wideCluster{
      *this, "wide-cluster",
      llvm::cl::desc("samoyeds-select-tiles: blocks per cluster of the wide "
                     "variant sharing its activation tile (1: none, 2: pairs)"),
      llvm::cl::init(1)};
  Option<int64_t> wideMulticast{
      *this, "wide-multicast",
      llvm::cl::desc("samoyeds-select-tiles: blocks per cluster of the wide "
                     "variant sharing its weights by multicast copies (1: "
                     "none, 2: pairs of token tiles)"),
      llvm::cl::init(1)};
  Option<int64_t> wideMulticastSlots{
      *this, "wide-multicast-slots",
      llvm::cl::desc("samoyeds-select-tiles: routed slots from which the wide "
                     "variant runs its multicast kernel (0: every wide call, "
                     "-1: where the experts average two token tiles)"),
      llvm::cl::init(-1)};
  Option<int64_t> wideAccumulators{
      *this, "wide-accumulators",
      llvm::cl::desc("samoyeds-select-tiles: accumulator registers a "
                     "consumer thread of the wide variant may hold (-1: 160)"),
      llvm::cl::init(-1)};
  Option<int64_t> wideUnits{
      *this, "wide-units",
      llvm::cl::desc("samoyeds-select-tiles: 64-row units per consumer "
                     "warpgroup of the wide variant (1, or 2: pairs; -1: "
                     "pairs)"),
      llvm::cl::init(-1)};
  Option<int64_t> persistentUnits{
      *this, "persistent-units",
      llvm::cl::desc("samoyeds-select-tiles: 64-row units per consumer "
                     "warpgroup of the persistent grid (1, or 2: pairs; "
                     "-1: SiLU-up's upper grid pairs where they win)"),
      llvm::cl::init(-1)};
  Option<int64_t> latePairs{
      *this, "late-pairs",
      llvm::cl::desc("samoyeds-select-tiles: pair the wide variant from the "
                     "slots per expert where the paired grid fills a wave, "
                     "single units below (1), or not (0)"),
      llvm::cl::init(0)};
  Option<int64_t> widePacked{
      *this, "wide-packed",
      llvm::cl::desc("samoyeds-select-tiles: the wide variant reads a packed "
                     "input (-1: choose, 0: gathers, 1: gathered inputs, 2: "
                     "every input)"),
      llvm::cl::init(-1)};
  Option<int64_t> tokenStep{
      *this, "token-step",
      llvm::cl::desc("samoyeds-select-tiles: wgmma_sp blocks multiply their "
                     "tile's tokens rounded up to a multiple of this (-1: "
                     "choose, 0: the variant's tokens)"),
      llvm::cl::init(-1)};
  Option<int64_t> warpgroups{
      *this, "warpgroups",
      llvm::cl::desc("samoyeds-select-tiles: consumer warpgroups per block "
                     "of wgmma_sp (0: choose)"),
      llvm::cl::init(0)};
  Option<int64_t> decodeWarpgroups{
      *this, "decode-warpgroups",
      llvm::cl::desc("samoyeds-select-tiles: consumer warpgroups per block "
                     "of wgmma_sp's decode variants (0: the tile's)"),
      llvm::cl::init(0)};
  Option<int64_t> decodeBlocks{
      *this, "decode-blocks",
      llvm::cl::desc("samoyeds-select-tiles: blocks per SM of wgmma_sp's "
                     "decode variants (0: choose, 1: one, 2: two for every "
                     "decode call)"),
      llvm::cl::init(0)};
  Option<int64_t> splitSlots{
      *this, "split-slots",
      llvm::cl::desc("samoyeds-select-tiles: the most routed slots the "
                     "split-K variant takes (0: choose)"),
      llvm::cl::init(0)};
  Option<int64_t> midSplitK{
      *this, "mid-split-k",
      llvm::cl::desc("samoyeds-select-tiles: K slices of wgmma_sp's "
                     "mid-size split-K variant (0: choose, 1: none)"),
      llvm::cl::init(0)};
  Option<int64_t> midSplitSlots{
      *this, "mid-split-slots",
      llvm::cl::desc("samoyeds-select-tiles: the most routed slots "
                     "wgmma_sp's mid-size split-K variant takes (0: choose)"),
      llvm::cl::init(0)};
  Option<int64_t> evictFirstExperts{
      *this, "evict-first-experts",
      llvm::cl::desc("samoyeds-select-tiles: the most experts a call may "
                     "reach for wgmma_sp's decode and split-K variants to "
                     "copy weights with the L2 evict_first policy (-1: "
                     "choose, 0: never)"),
      llvm::cl::init(-1)};
  Option<int64_t> splitPersistent{
      *this, "split-persistent",
      llvm::cl::desc("samoyeds-select-tiles: wgmma_sp's split-K variant on "
                     "a persistent grid (1) for every call whose unsplit "
                     "grid has fewer blocks than SMs"),
      llvm::cl::init(0)};
  Option<int64_t> groupTiles{
      *this, "group-tiles",
      llvm::cl::desc("samoyeds-select-tiles: token tiles per group of the "
                     "ordinary grid's block order (0: choose, 1: none)"),
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
  Option<int64_t> rowWarps{
      *this, "row-warps",
      llvm::cl::desc("samoyeds-select-tiles: mma_sp 16-row tiles per block "
                     "(0: choose)"),
      llvm::cl::init(0)};
  Option<int64_t> decodeStages{
      *this, "decode-stages",
      llvm::cl::desc("samoyeds-select-tiles: mma_sp ring stages of a decode "
                     "tile with its own row warps (0: the tile's)"),
      llvm::cl::init(0)};
  Option<int64_t> unitTails{
      *this, "unit-tails",
      llvm::cl::desc("samoyeds-select-tiles: wgmma_sp units where they do "
                     "not divide the 64-row tiles (1, the default: plain "
                     "2:4's four warpgroups; 2: also the wide variant's "
                     "unit pairs and row selection's two units a half; 0: "
                     "none)"),
      llvm::cl::init(1)};
  Option<int64_t> padRows{
      *this, "pad-rows",
      llvm::cl::desc("samoyeds-select-tiles: wgmma_sp for halves of kept "
                     "rows in no whole 64-row tiles, the weight layout "
                     "padding them, and for row selection with K padded "
                     "(1; 0, the default: mma_sp)"),
      llvm::cl::init(0)};
  Option<int64_t> rowMasks{
      *this, "row-masks",
      llvm::cl::desc("samoyeds-select-tiles: row selection by masked rows "
                     "(1) or span-end routing (0); -1: choose (mma_sp "
                     "masked, wgmma_sp routing)"),
      llvm::cl::init(-1)};
  Option<int64_t> wideRowMasks{
      *this, "wide-row-masks",
      llvm::cl::desc("samoyeds-select-tiles: the wide widths multiply "
                     "masked group rows, the other variants routing (1), "
                     "every variant as row-masks says (0); -1: choose"),
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
  Option<int64_t> persistentTokens{
      *this, "persistent-tokens",
      llvm::cl::desc("samoyeds-select-tiles: with persistent > 0, routed "
                     "tokens per block of the persistent grid's large calls "
                     "(a multiple of 8; -1: 128)"),
      llvm::cl::init(-1)};
  Option<int64_t> widePersistent{
      *this, "wide-persistent",
      llvm::cl::desc("samoyeds-select-tiles: the wide variant on the "
                     "persistent grid (1), on its ordinary grid (0), or "
                     "plain 2:4's unit pairs (-1)"),
      llvm::cl::init(-1)};
  Option<int64_t> wideUnitCalls{
      *this, "wide-unit-calls",
      llvm::cl::desc("samoyeds-select-tiles: the wide calls to unit pairs "
                     "or single units call by call, by their waves (1: on "
                     "any number of experts), never (0), or for one expert "
                     "and routed row selection (-1)"),
      llvm::cl::init(-1)};
  Option<int64_t> pdl{
      *this, "pdl",
      llvm::cl::desc("convert-samoyeds-to-gpu: programmatic dependent launches "
                     "(1: on, sm_90 and later; 0: off; -1: on where the chip "
                     "has them)"),
      llvm::cl::init(-1)};
  Option<bool> selectDispatch{
      *this, "select-dispatch",
      llvm::cl::desc("convert-samoyeds-to-gpu: select and dispatch calls of "
                     "up to 4 tokens in one kernel"),
      llvm::cl::init(true)};
  Option<bool> chunkedDispatch{
      *this, "chunked-dispatch",
      llvm::cl::desc("convert-samoyeds-to-gpu: place calls of at least 8192 "
                     "routed slots over chunks of 1024 slots"),
      llvm::cl::init(true)};
  Option<bool> weightsBeforeWait{
      *this, "weights-before-wait",
      llvm::cl::desc("convert-samoyeds-to-gpu: with pdl, expert matmuls whose "
                     "routing is settled issue their first weight copies "
                     "before griddepcontrol.wait"),
      llvm::cl::init(true)};
  Option<bool> prefetchBeforeWait{
      *this, "prefetch-before-wait",
      llvm::cl::desc("convert-samoyeds-to-gpu: with pdl, the router lets the "
                     "gate/up kernels launch early and they prefetch their "
                     "first weight tiles into the L2 before "
                     "griddepcontrol.wait"),
      llvm::cl::init(true)};
  Option<bool> fuseSplitReduce{
      *this, "fuse-split-reduce",
      llvm::cl::desc("convert-samoyeds-to-gpu: split-K expert matmuls reduce "
                     "their own K slices (no separate reduction kernel)"),
      llvm::cl::init(false)};
  Option<bool> fuseCombine{
      *this, "fuse-combine",
      llvm::cl::desc("convert-samoyeds-to-gpu: the decode and split-K "
                     "kernels of a weighted_combine's calls of at most 4 "
                     "tokens combine their own slot rows (no separate "
                     "combine kernel)"),
      llvm::cl::init(false)};
  Option<bool> reduceInGather{
      *this, "reduce-in-gather",
      llvm::cl::desc("convert-samoyeds-to-gpu: an expert matmul reading a "
                     "split-K result sums its slices as it gathers them"),
      llvm::cl::init(true)};
  Option<bool> combineF32{
      *this, "combine-f32",
      llvm::cl::desc("convert-samoyeds-to-gpu: weighted_combine matmuls write "
                     "f32 slot rows (default: the result's element type)"),
      llvm::cl::init(false)};
  Option<bool> pdlWide{
      *this, "pdl-wide",
      llvm::cl::desc("convert-samoyeds-to-gpu: with pdl, the wide variants "
                     "of the expert matmuls are dependent launches too, the "
                     "gate/up's first weights prefetched before the wait"),
      llvm::cl::init(false)};
  Option<bool> spanHalves{
      *this, "span-halves",
      llvm::cl::desc("convert-samoyeds-to-gpu: routed spans shorter than the "
                     "k tile by token halves, one routed while the other's "
                     "MMAs run (wgmma_sp)"),
      llvm::cl::init(false)};
};

/// Samoyeds ops to a gpu.binary holding PTX: the samoyeds passes with their
/// typed options, then the upstream lowering of the kernels' gpu.module to
/// NVVM and PTX for the chip (PTX 8.5 is the first with
/// mma.sp::ordered_metadata).
LogicalResult
buildPTX(OpPassManager &pm, const PipelineOptions &o,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
  const ChipInfo *chip = lookupChip(o.chip);
  if (!chip)
    return errorHandler("samoyeds pipelines: unsupported chip '" + o.chip +
                        "' (expected sm_80, sm_90 or sm_90a)");
  if (o.pdl == 1 && !chip->hasGridDependencyControl)
    return errorHandler("samoyeds pipelines: pdl needs sm_90 or later, not " +
                        o.chip);
  pm.addPass(createSamoyedsDecomposeMoE());
  SamoyedsSelectTilesOptions tiles;
  tiles.chip = o.chip;
  tiles.tokens = o.tokens;
  tiles.decodeTokens = o.decodeTokens;
  tiles.decodeSlots = o.decodeSlots;
  tiles.groupTiles = o.groupTiles;
  tiles.wideTokens = o.wideTokens;
  tiles.wideSlots = o.wideSlots;
  tiles.wideLowTokens = o.wideLowTokens;
  tiles.wideLowSlots = o.wideLowSlots;
  tiles.fewSlots = o.fewSlots;
  tiles.wideCluster = o.wideCluster;
  tiles.wideUnits = o.wideUnits;
  tiles.wideMulticast = o.wideMulticast;
  tiles.wideMulticastSlots = o.wideMulticastSlots;
  tiles.wideAccumulators = o.wideAccumulators;
  tiles.persistentUnits = o.persistentUnits;
  tiles.latePairs = o.latePairs;
  tiles.widePacked = o.widePacked;
  tiles.tokenStep = o.tokenStep;
  tiles.warpgroups = o.warpgroups;
  tiles.decodeWarpgroups = o.decodeWarpgroups;
  tiles.decodeBlocks = o.decodeBlocks;
  tiles.splitPersistent = o.splitPersistent;
  tiles.splitSlots = o.splitSlots;
  tiles.midSplitK = o.midSplitK;
  tiles.midSplitSlots = o.midSplitSlots;
  tiles.evictFirstExperts = o.evictFirstExperts;
  tiles.splitK = o.splitK;
  tiles.rowTiles = o.rowTiles;
  tiles.rowWarps = o.rowWarps;
  tiles.decodeStages = o.decodeStages;
  tiles.unitTails = o.unitTails;
  tiles.padRows = o.padRows;
  tiles.rowMasks = o.rowMasks;
  tiles.wideRowMasks = o.wideRowMasks;
  tiles.persistent = o.persistent;
  tiles.persistentTokens = o.persistentTokens;
  tiles.widePersistent = o.widePersistent;
  tiles.wideUnitCalls = o.wideUnitCalls;
  tiles.strategy = o.strategy;
  pm.addPass(createSamoyedsSelectTiles(tiles));
  ConvertSamoyedsToGPUOptions convert;
  // Measured on the H200 (bench/RESULTS.md): 1.02-1.06x at T = 1, within
  // 1% from T = 16 to 256.
  convert.pdl = o.pdl < 0 ? chip->hasGridDependencyControl : o.pdl == 1;
  convert.weightsBeforeWait = o.weightsBeforeWait;
  convert.prefetchBeforeWait = o.prefetchBeforeWait;
  convert.selectDispatch = o.selectDispatch;
  convert.chunkedDispatch = o.chunkedDispatch;
  convert.fuseSplitReduce = o.fuseSplitReduce;
  convert.fuseCombine = o.fuseCombine;
  convert.combineF32 = o.combineF32;
  convert.spanHalves = o.spanHalves;
  convert.pdlWide = o.pdlWide;
  convert.reduceInGather = o.reduceInGather;
  pm.addPass(createConvertSamoyedsToGPU(convert));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createConvertSamoyedsNVGPUToNVVM());
  kernels.addPass(createConvertNVGPUToNVVMPass());
  kernels.addPass(createConvertVectorToSCFPass());
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(memref::createExpandStridedMetadataPass());
  SamoyedsLowerSubgroupReduceOptions reduce;
  reduce.redux = chip->hasReduxSync;
  kernels.addPass(createSamoyedsLowerSubgroupReduce(reduce));
  ConvertGpuOpsToNVVMOpsOptions gpuToNVVM;
  gpuToNVVM.hasRedux = chip->hasReduxSync;
  kernels.addPass(createConvertGpuOpsToNVVMOps(gpuToNVVM));
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  GpuNVVMAttachTargetOptions target;
  target.moduleMatcher = "samoyeds_kernels";
  target.chip = o.chip;
  target.features = "+ptx" + std::to_string(kPtxVersion);
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
  return success();
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
        SamoyedsEmitBundleOptions emit;
        emit.dir = o.dir;
        emit.assemble = o.assemble;
        pm.addPass(createSamoyedsEmitBundle(emit));
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> optHandler) {
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
