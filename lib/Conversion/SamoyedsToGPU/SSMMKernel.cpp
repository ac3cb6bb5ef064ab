//===- SSMMKernel.cpp - The expert-matmul kernel and its launch -----------===//
//
// Builds the gpu.func of one samoyeds.ssmm in the MMA strategy its tile
// names: the arguments and the launch are the same for every strategy (the
// packed weight's components, the activations, the offsets, the token list,
// the output; grid x row blocks, y token tiles, z K slices); the strategy
// checks its own rules, sizes the block and emits the body.
//
//===----------------------------------------------------------------------===//

#include "SSMMPlan.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

void SSMMArgs::bind(const SSMMPlan &p, gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  unsigned arg = 0;
  values = entry.getArgument(arg++);
  meta = entry.getArgument(arg++);
  rowIdx = p.rowSelect ? entry.getArgument(arg++) : Value();
  input = entry.getArgument(arg++);
  offsets = entry.getArgument(arg++);
  tokenList = p.readsTokenList() ? entry.getArgument(arg++) : Value();
  out = entry.getArgument(arg++);
  if (p.fusedReduce || p.fusedCombine) {
    result = entry.getArgument(arg++);
    counters = entry.getArgument(arg++);
  }
  if (p.fusedCombine) {
    routingWeights = entry.getArgument(arg++);
    positions = entry.getArgument(arg++);
    tokenCount = entry.getArgument(arg++);
  }
  bias = p.bias ? entry.getArgument(arg++) : Value();
}

WeightLayout mlir::samoyeds::getWeightLayout(SSMMOp op) {
  TileConfigAttr tile = op.getTileAttr();
  SparseFormatAttr format = op.getFormat();
  auto type = cast<RankedTensorType>(op.getWeight().getType());
  int64_t kept = type.getDimSize(1) / format.getM() * format.getN();
  int64_t halves = op.getEpilogue() == EpilogueKind::SiluMul ? 2 : 1;
  return getMmaLowering(tile ? tile.getStrategy() : MmaStrategy::MmaSp)
      .weightLayout(kept, halves);
}

bool mlir::samoyeds::isPersistentAtEverySize(SSMMOp op) {
  TileConfigAttr tile = op.getTileAttr();
  return tile && getMmaLowering(tile.getStrategy()).persistentAtEverySize();
}

/// SSMMPlan::evictFirstRows of a kernel of `op`: the calls of at most
/// x = evict_first_experts experts where the kernel reads each weight byte
/// once; every call where x >= E or the variant's calls are at most x slots,
/// else (grids of one row of blocks per token tile) the calls whose grid has
/// at most x rows: as long as x < E, the first x token tiles are the first
/// x slots' (#samoyeds.dim's token_tiles), so those are the calls of at most
/// x slots.
static int64_t chooseEvictFirstRows(const SSMMPlan &p, SSMMOp op,
                                    const SSMMKernelOptions &options,
                                    const MmaLowering &lowering) {
  int64_t x = op.getTileAttr() ? op.getTileAttr().getEvictFirstExperts() : 0;
  if (x <= 0 || !options.readsWeightsOnce || !lowering.canEvictWeightsFirst())
    return 0;
  if (x >= p.experts || (options.maxSlots >= 0 && options.maxSlots <= x))
    return -1;
  // (Grids of groups of token tiles, weight multicast's, have no such rows.)
  return p.persistent == 0 && p.multicast == 1 ? x : 0;
}

/// The variant's plan with what the pass and its options decide beyond the
/// tile: fused reductions and combines, a split-K input, the waits.
static FailureOr<SSMMPlan> completePlan(SSMMOp op, SSMMVariant variant,
                                        const SSMMBuffers &buffers,
                                        const SSMMKernelOptions &options) {
  FailureOr<SSMMPlan> plan = makePlan(op, variant);
  if (failed(plan))
    return failure();
  bool combine = op.getEpilogue() == EpilogueKind::WeightedCombine;
  plan->fusedReduce = plan->split() && !buffers.counters.empty() && !combine;
  plan->fusedCombine = !buffers.counters.empty() && combine;
  if (const SplitInput *in = buffers.splitInput) {
    const MmaLowering &lowering = getMmaLowering(plan->strategy);
    assert(lowering.canSumSplitInput(*plan) &&
           "the pass pairs only matmuls whose kernels can (canSumSplitInput)");
    lowering.planSplitInput(*plan);
    plan->inputSplits = in->splits;
    plan->inputSlots = in->slots;
    plan->inputRowElems = in->rowElems;
    plan->inputSiluMul = in->siluMul;
  }
  if (!plan->split() && buffers.combineRows && combine)
    plan->outElt = buffers.combineRows;
  if (plan->fusedReduce && plan->persistent > 0)
    return op.emitOpError()
           << "fuse-split-reduce counts the blocks of a tile, but the split "
              "variant of tile split_persistent = 1 runs a persistent grid";
  if (plan->fusedCombine) {
    FailureOr<int64_t> topK = getCombineTopK(op);
    if (failed(topK))
      return failure();
    plan->topK = *topK;
  }
  const MmaLowering &lowering = getMmaLowering(plan->strategy);
  plan->weightsBeforeWait =
      options.weightsBeforeWait && lowering.canIssueWeightsBeforeWait(*plan);
  plan->prefetchBeforeWait = options.prefetchBeforeWait &&
                             !plan->weightsBeforeWait &&
                             lowering.canPrefetchBeforeWait(*plan);
  plan->dependentsAtExit = options.dependentsAtExit;
  plan->evictFirstRows = chooseEvictFirstRows(*plan, op, options, lowering);
  plan->spanHalves = options.spanHalves &&
                     plan->strategy == MmaStrategy::WgmmaSp &&
                     plan->rowSelect && !plan->masked && plan->v < plan->kTile;
  if (failed(lowering.verify(op, *plan)))
    return failure();
  return plan;
}

/// The kernel's argument types and the launch's arguments, in the order of
/// SSMMArgs::bind.
static SmallVector<Type> addKernelArgs(SSMMOp op, const SSMMPlan &p,
                                       const SSMMBuffers &buffers,
                                       const MmaLowering &lowering,
                                       KernelLaunch &launch) {
  MLIRContext *ctx = op.getContext();
  Type i32 = IntegerType::get(ctx, 32), i8 = IntegerType::get(ctx, 8);
  SmallVector<Type> argTypes;
  auto addBuffer = [&](Type elt, Value host, StringRef part, int64_t bytes,
                       int64_t align = 0) {
    argTypes.push_back(globalBuffer(elt));
    launch.args.push_back(
        {KernelArg::Buffer, host, part.str(), "", "", bytes, align});
  };
  addBuffer(i32, op.getWeight(), "values", 4);
  addBuffer(i32, op.getWeight(), "meta", 4);
  if (p.rowSelect)
    addBuffer(i8, op.getWeight(), "row_idx", 1);
  if (const SplitInput *in = buffers.splitInput) {
    // Read 8 f32 columns at a time (two 16-byte loads).
    argTypes.push_back(globalBuffer(Float32Type::get(ctx)));
    launch.args.push_back(workspaceArg(in->workspace));
    launch.args.back().align = 2 * kVectorAlign;
  } else if (p.packed) {
    // Bulk copies of whole 16-byte-aligned stages.
    assert(!buffers.packedInput.empty() && "a packed wide variant's workspace");
    argTypes.push_back(globalBuffer(p.elt));
    launch.args.push_back(workspaceArg(buffers.packedInput, 2));
    launch.args.back().align = kVectorAlign;
  } else {
    // Both strategies gather activation rows in 16-byte copies.
    addBuffer(p.elt, op.getInput(), "", 2, kVectorAlign);
  }
  addBuffer(i32, op.getOffsets(), "", 4);
  if (p.readsTokenList())
    addBuffer(i32, op.getTokens(), "", 4);
  int64_t outAlign = lowering.outputAlign(p);
  // The split variants' partial sums, a weighted_combine's slot rows.
  if (!buffers.workspace.empty()) {
    argTypes.push_back(globalBuffer(p.outElt));
    launch.args.push_back(
        workspaceArg(buffers.workspace, p.outElt.getIntOrFloatBitWidth() / 8));
    launch.args.back().align = outAlign;
  } else {
    addBuffer(p.outElt, op.getResult(), "",
              p.outElt.getIntOrFloatBitWidth() / 8, outAlign);
  }
  if (p.fusedReduce || p.fusedCombine) {
    addBuffer(p.resultElt, op.getResult(), "",
              p.resultElt.getIntOrFloatBitWidth() / 8);
    argTypes.push_back(globalBuffer(i32));
    launch.args.push_back(workspaceArg(buffers.counters));
  }
  if (p.fusedCombine) {
    addBuffer(Float32Type::get(ctx), op.getRoutingWeights(), "", 4);
    addBuffer(i32, op.getPositions(), "", 4);
    argTypes.push_back(i32);
    launch.args.push_back(symbolArg("T"));
  }
  if (p.bias)
    addBuffer(p.elt, op.getBias(), "", 2);
  return argTypes;
}

/// The launch's grid, block, shared memory and counters, and the kernel's
/// cluster and occupancy attributes.
static void sizeLaunch(OpBuilder &builder, const SSMMPlan &p,
                       const MmaLowering &lowering, gpu::GPUFuncOp func,
                       KernelLaunch &launch) {
  launch.kernel = func;
  // With weight multicast grid x holds the ranks of each row block and
  // grid y the groups of `multicast` token tiles.
  launch.grid[0].constant = lowering.rowBlocks(p) * p.multicast;
  launch.grid[1].symbol = "P";
  launch.grid[1].divisor = p.tokens * p.multicast;
  launch.grid[1].experts = p.experts;
  launch.grid[2].constant = p.splitK;
  launch.block[0] = lowering.threads(p);
  launch.dynamicSmem = lowering.smemBytes(p);
  launch.waitsInBody = p.weightsBeforeWait || p.prefetchBeforeWait;
  launch.dependentsAtExit = p.dependentsAtExit;
  // A counter per block of the largest grid (P = split_slots), or with a
  // fused combine per row block.
  if (p.fusedReduce)
    launch.counters = lowering.rowBlocks(p) *
                      maxTokenTiles(p.splitSlots, p.tokens, p.experts);
  if (p.fusedCombine)
    launch.counters = lowering.rowBlocks(p);
  // A cluster's blocks (consecutive in grid x) are fixed at compile time:
  // the PTX's .reqnctapercluster, which every launch of the kernel takes.
  if (p.clusterBlocks() > 1)
    func->setAttr(
        NVVM::NVVMDialect::getClusterDimAttrName(),
        builder.getDenseI32ArrayAttr({int32_t(p.clusterBlocks()), 1, 1}));
  if (int64_t blocks = lowering.minBlocksPerSM(p))
    func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                  builder.getI32IntegerAttr(blocks));
  if (p.persistent > 0) {
    // `persistent` blocks per multiprocessor that take the tiles (with
    // split-K the (tile, slice) units) in turn.
    launch.grid[2] = KernelLaunch::Dim();
    launch.grid[1] = KernelLaunch::Dim();
    launch.grid[0] = KernelLaunch::Dim();
    launch.grid[0].perSM = p.persistent;
  }
}

FailureOr<KernelLaunch>
mlir::samoyeds::buildSSMMKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                                SSMMOp op, StringRef name, SSMMVariant variant,
                                const SSMMBuffers &buffers,
                                const SSMMKernelOptions &options) {
  FailureOr<SSMMPlan> plan = completePlan(op, variant, buffers, options);
  if (failed(plan))
    return failure();
  const SSMMPlan &p = *plan;
  const MmaLowering &lowering = getMmaLowering(p.strategy);
  KernelLaunch launch;
  SmallVector<Type> argTypes = addKernelArgs(op, p, buffers, lowering, launch);

  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  MLIRContext *ctx = op.getContext();
  auto func = gpu::GPUFuncOp::create(builder, op.getLoc(), name,
                                     FunctionType::get(ctx, argTypes, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(builder.getDenseI32ArrayAttr(
      {static_cast<int32_t>(lowering.threads(p)), 1, 1}));

  ImplicitLocOpBuilder b(op.getLoc(), builder);
  lowering.emit(b, p, func);
  sizeLaunch(builder, p, lowering, func, launch);
  return launch;
}
