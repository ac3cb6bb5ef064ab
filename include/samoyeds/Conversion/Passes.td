//===- Passes.td - Samoyeds conversion passes --------------*- tablegen -*-===//

#ifndef SAMOYEDS_CONVERSION_PASSES_TD
#define SAMOYEDS_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSamoyedsToGPU : Pass<"convert-samoyeds-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Compile samoyeds ops into gpu.func kernels with mma.sp";
  let description = [{
    Every `samoyeds.ssmm` (with a `#samoyeds.tile`) becomes a `gpu.func` in the
    module's `gpu.module @samoyeds_kernels`: asynchronous global->shared copies
    that gather the activations through the token list, `ldmatrix`, the sparse
    tensor-core instruction `mma.sp::ordered_metadata` m16n8k32 (through
    `nvvm.mma.sp.sync`) with f32 accumulation, the routing of per-span partial
    sums to the rows they stand for, and the fused epilogue (or, with the
    `wgmma_sp` strategy, warpgroup `wgmma.mma_async.sp`); `samoyeds.route`
    and `samoyeds.dispatch` get their routing kernels. Each op is replaced by
    a `samoyeds.launch` with the same operands and results that states its
    kernel launches (`#samoyeds.launch`: kernel, grid, block, shared memory,
    argument bindings, guard); the function lists the buffers they bind in
    `samoyeds.buffers` and its packed weights in `samoyeds.weights`.
    `samoyeds-emit-bundle` serialises that plan into the bundle's manifest.

    With `pdl`, the kernels of every launch but the expert-matmul variants
    without an upper bound on P (which serve the large calls) start with
    `griddepcontrol.wait` (before any access to global memory) and
    `griddepcontrol.launch_dependents`, and their launches are marked `pdl`:
    the runtime launches them as programmatic dependent launches (sm_90 and
    later), so each is scheduled while the kernel before it finishes instead
    of after.

    With `select-dispatch`, a `samoyeds.dispatch` of the ids the
    `samoyeds.route` right before it selects takes over, for calls of up to 4
    tokens, that route's softmax and top-k: one block selects each token in
    a warp and places the slots as the dispatch kernel does (the same
    positions, token list and offsets), one launch instead of two.

    With `chunked-dispatch`, a `samoyeds.dispatch` of at most 1024 experts
    places the calls of at least 8192 routed slots over chunks of 1024
    slots (`_count`: a block counts its chunk's slots per expert into an
    i32 table, the `ws_` workspace of [P, 2]; `_place`: a block sums the
    table, scans it over the experts and places its chunk's slots), two
    launches of P / 1024 blocks instead of `_long`'s block per expert that
    reads every slot twice. The token list, offsets and positions are the
    same, bit for bit.

    With `pdl` and `weights-before-wait`, an expert matmul whose offsets and
    token list come from an op at least two before it (the down projection,
    after the gate/up projection) waits later: the `wgmma_sp` kernels of its
    decode and split-K variants find their expert from the offsets, issue
    the bulk copies of the ring's first k tiles of weights, and only then
    execute `griddepcontrol.wait` and `griddepcontrol.launch_dependents`
    (the producer before it gathers activations, the consumers before
    anything, blocks without a tile before they exit). The weights stream
    while the kernel before finishes; that kernel waited for the routing's
    writer before it let this launch begin, and every kernel still lets its
    dependents launch only after its own wait. Likewise the combine kernels
    of a `weighted_combine` whose routing weights and positions come from
    an op at least two before it load their token's slots and weights, and
    only then wait: the slot rows, which the matmul right before writes,
    are then one round trip after the wait instead of two.

    With `pdl` and `prefetch-before-wait`, the route and dispatch kernels let
    their dependents launch before they wait, so the first expert matmul's
    kernels are resident while the router runs, and the `wgmma_sp` decode
    kernels of an expert matmul that gathers its input through the token
    list the dispatch kernel writes (the gate/up projection) prefetch into
    the L2, before they wait, the ring's first k tiles of weights of expert
    `y` (their token tile row; `cp.async.bulk.prefetch.L2`) in calls with at
    least 4 routed slots an expert, where nearly every expert has slots and
    the grid's first E rows are the experts' first tiles whenever every
    expert has slots. The weights
    stream from DRAM while the router runs; nothing read before the wait
    depends on the routing, and a block whose tile turns out to be another
    expert's has only warmed the L2.

    With `fuse-split-reduce`, the split-K variant of an expert matmul without
    `weighted_combine` reduces its own K slices: each block stores its
    partial sums, fences them and counts itself in its tile's counter (a
    `counters` buffer, which the runtime zeroes when it allocates it); the
    last of the tile's `split_k` blocks sums the slices in slice order,
    applies the epilogue, writes the result and zeroes the counter. The
    result is bit-identical to the separate reduction kernel's, one launch
    fewer; off by default: on the H200 it ran 0.97-1.03x with CUDA-graph
    replay and 0.96-0.97x eager (bench/RESULTS.md S16).

    With `fuse-combine`, the kernels of a `weighted_combine` expert matmul
    (the down projection) for its calls of at most 4 tokens combine their
    own slot rows, in kernels of their own (`_combining`): every block of
    the grid, those without a token tile too, fences its slot rows (split-K
    partial sums) and counts itself in its row block's counter (a
    `counters` buffer of one per row block); the last of the row block's
    grid y · grid z blocks sums, for every token and every column of the
    row block, the token's slots' rows (each the sum of its K slices in
    slice order) weighted by its routing weights in slot order, writes the
    result and zeroes the counter. The sums are the combine kernel's, in
    its order: the result is bit-identical, one launch fewer. Only where
    every kernel of those calls is a decode or split-K variant on an
    ordinary grid (one block per row block, token tile and K slice);
    larger calls keep the combine kernel, which spreads the tokens over
    blocks where the fused form would combine them in one block per row
    block. Off by default: on the H100 it ran 0.95-0.99x at T = 1-4
    (bench/RESULTS.md S45), the serial tail it adds to the last block
    costing more than the resident combine kernel.

    With `reduce-in-gather`, an expert matmul whose input is the result of
    the split-K variant of the matmul right before it (the down projection
    after the gate/up projection; the result read by nothing else, the same
    offsets) sums that variant's slices itself: its `wgmma_sp` kernels for
    the calls the split-K variant serves (`_reducing`) read the f32
    workspace, sum each 16-byte chunk's slices in slice order, apply the
    producer's epilogue (SiLU·up), round and store the chunk into the B
    slot, fence it for the async proxy and arrive on the full barrier. The
    values are the reduction kernel's, and that kernel's launch is gone.

    With `pdl-wide` (and `pdl`), the wide variants of the expert matmuls,
    which serve the large calls and are otherwise ordinary launches, are
    dependent launches too: the gate/up widths (with
    `prefetch-before-wait`) prefetch their token tile row's expert's first
    weight tiles into the L2 before `griddepcontrol.wait`, as the decode
    variants do, and the down widths start with the wait; a width without
    the prefetch starts with it too, once however many slot ranges launch
    it. Their blocks become resident while the kernels before them run (on
    the H100 Mixtral's T = 256 gate/up, a wide call, starts 5.3 µs after
    dispatch ends where the dependent grids of smaller calls start during
    routing: bench/RESULTS.md S60). A wide grid runs several waves, so it
    issues no `griddepcontrol.launch_dependents`: its dependents launch
    when it completes (issued after the wait, it let the combine's blocks
    wait resident during the down projection, S61). The down widths issuing
    their ring's first weight copies before the wait, as the decode
    variants do, cost them spills and 13-19% of their time (S62). Off by
    default: on the six layers (H100, S64) this form ran 1.01-1.02x on
    Mixtral's 1:2+2:4 layer at T = 256 and 384 but 0.98x there at 4096 and
    on OLMoE at 1024, and plain 2:4 0.95x at T = 4096 on OLMoE and
    DeepSeek-V2, whose gate/up persistent wide grid runs 10-12% longer as
    a dependent launch (the gate/up's widths alone dependent, 0.94-0.96x).

    A `weighted_combine` matmul writes each routed slot's row to a workspace
    that the combine kernel sums per token. The unsplit variants write those
    rows in the result's element type (one rounding per slot, as vLLM's
    fused MoE keeps its slot rows), half the bytes of f32 written by the
    matmul and read by the combine; with `combine-f32` they write f32. The
    split-K variant always writes f32 partial rows.
  }];
  let options = [
    Option<"pdl", "pdl", "bool", /*default=*/"false",
           "Programmatic dependent launches (sm_90 and later)">,
    Option<"selectDispatch", "select-dispatch", "bool", /*default=*/"true",
           "A samoyeds.dispatch of the ids of the samoyeds.route before it "
           "selects and dispatches calls of up to 4 tokens in one kernel">,
    Option<"chunkedDispatch", "chunked-dispatch", "bool", /*default=*/"true",
           "samoyeds.dispatch places calls of at least 8192 routed slots "
           "over chunks of 1024 slots (two kernels and a counts table)">,
    Option<"weightsBeforeWait", "weights-before-wait", "bool",
           /*default=*/"true",
           "With pdl: expert matmuls whose routing is settled issue their "
           "first weight copies, and their combine kernels load the routing, "
           "before griddepcontrol.wait">,
    Option<"prefetchBeforeWait", "prefetch-before-wait", "bool",
           /*default=*/"true",
           "With pdl: route and dispatch kernels let their dependents launch "
           "before they wait, and the gate/up decode kernels prefetch their "
           "token tile row's expert's first weight tiles into the L2 before "
           "griddepcontrol.wait">,
    Option<"fuseSplitReduce", "fuse-split-reduce", "bool", /*default=*/"false",
           "Split-K expert matmuls without weighted_combine reduce their own "
           "K slices (the last block of each tile, found by an i32 counter) "
           "instead of a separate reduction kernel">,
    Option<"fuseCombine", "fuse-combine", "bool",
           /*default=*/"false",
           "The decode and split-K kernels of a weighted_combine's calls of "
           "at most 4 tokens combine their own slot rows (the last block of "
           "each row block, found by an i32 counter) instead of a separate "
           "combine kernel">,
    Option<"reduceInGather", "reduce-in-gather", "bool", /*default=*/"true",
           "An expert matmul reading the result of the split-K variant of "
           "the matmul before sums its slices as it gathers them (no "
           "separate reduction kernel; wgmma_sp)">,
    Option<"spanHalves", "span-halves", "bool", /*default=*/"false",
           "wgmma_sp, routed row selection whose spans are shorter than the "
           "k tile: each span's MMAs by token halves, one half routed while "
           "the other's MMAs run (bit-identical; 0.88-0.99x on the H100, "
           "bench/RESULTS.md S59)">,
    Option<"pdlWide", "pdl-wide", "bool", /*default=*/"false",
           "With pdl: the wide variants of the expert matmuls (the large "
           "calls' kernels) are dependent launches too, the gate/up's first "
           "weights prefetched before griddepcontrol.wait as the decode "
           "variants', their dependents launched at exit (opt-in; 1.02x on "
           "Mixtral at T = 256-384 but 0.95-0.98x at T = 1024-4096 on the "
           "H100, bench/RESULTS.md S64)">,
    Option<"combineF32", "combine-f32", "bool", /*default=*/"false",
           "The unsplit expert matmuls of a weighted_combine write their "
           "slot rows in f32 instead of the result's element type">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::samoyeds_nvgpu::SamoyedsNVGPUDialect",
  ];
}

def ConvertSamoyedsNVGPUToNVVM : Pass<"convert-samoyeds-nvgpu-to-nvvm"> {
  let summary = "Lower samoyeds_nvgpu ops to inline PTX";
  let description = [{
    Rewrites `samoyeds_nvgpu.wgmma_sp` and `samoyeds_nvgpu.wgmma_wait` into
    one `llvm.inline_asm` each, the accumulators tied from input to output
    (so they stay SSA values and no move separates two MMAs). Runs on the
    kernels' `gpu.module` before `convert-gpu-to-nvvm`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def SamoyedsLowerSubgroupReduce
    : Pass<"samoyeds-lower-subgroup-reduce", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Lower the gpu.subgroup_reduce ops convert-gpu-to-nvvm cannot";
  let description = [{
    Kernels reduce over a warp with `gpu.subgroup_reduce`. MLIR's
    `convert-gpu-to-nvvm` (with `has-redux`) lowers only the uniform i32
    `add`, `minsi`, `maxsi`, `and`, `or` and `xor` reductions, to one
    `redux.sync`. This pass rewrites every other one (f32, other kinds,
    non-uniform; all of them without `redux`) into a butterfly of 32-bit
    `gpu.shuffle xor` (MLIR's subgroup-reduce-to-shuffle patterns, 32
    lanes). Runs on the kernels' `gpu.module` before `convert-gpu-to-nvvm`.
  }];
  let options = [
    Option<"redux", "redux", "bool", /*default=*/"true",
           "Keep the reductions redux.sync implements (sm_80 and later) for "
           "convert-gpu-to-nvvm with has-redux">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::vector::VectorDialect",
  ];
}

#endif // SAMOYEDS_CONVERSION_PASSES_TD
