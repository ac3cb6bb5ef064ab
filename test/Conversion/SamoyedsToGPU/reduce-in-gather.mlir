// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu=reduce-in-gather=true --split-input-file | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu=reduce-in-gather=false --split-input-file | FileCheck %s --check-prefix=OFF --implicit-check-not=_reducing

// reduce-in-gather: an expert matmul (the reader) whose input is the result
// of the split-K variant of the matmul right before it (the producer) sums
// the producer's f32 slices as it gathers them, and the producer's
// `_split_reduce` launch is gone. Without the option every split-K matmul
// keeps its reduction and no kernel is `_reducing` (OFF).

// Gate/up (SiLU·up, split_k = 2 for up to 8 routed slots) feeding down
// (weighted_combine; decode variant up to 16 slots, its own split-K variant
// up to 4). Each of down's variants whose calls meet [1, 8] gets a
// `_reducing` clone for those calls, reading the producer's workspace
// (16 = 2 slices x 8 rows of 1024 columns: gate and up) 32-byte aligned:
// the split variant [1, 4] entirely, the decode variant [5, 8]; the
// decode variant's original keeps [9, 16] and gathers the result t0, which
// gate/up's unsplit kernels write for those calls.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile13 = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, split_k = 2, split_slots = 8, decode_tokens = 8, decode_slots = 16, strategy = wgmma_sp>
#tile2 = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 4, split_k = 2, split_slots = 4, decode_tokens = 8, decode_slots = 16, strategy = wgmma_sp>
// CHECK-LABEL: func.func @pair
// CHECK-SAME: #samoyeds.buffer<"ws_pair_ssmm_0_split", workspace, f32, [16, 1024]>
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@pair_ssmm_0_decode {{[^>]*}} when(P in [9, 16])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@pair_ssmm_0 {{[^>]*}} when(P in [17, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@pair_ssmm_0_split grid(8, token_tiles(P, 8, 4), 2) {{[^>]*}} buffer("ws_pair_ssmm_0_split", 4)) when(P in [1, 8])>]
// CHECK-NOT: _split_reduce
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@pair_ssmm_1_decode_reducing grid(4, token_tiles(P, 8, 4), 1) {{[^>]*}} args(buffer("w2.values", 4), buffer("w2.meta", 4), buffer("ws_pair_ssmm_0_split", 4, align 32), buffer("offsets", 4), buffer("ws_pair_ssmm_1", 2)) when(P in [5, 8])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@pair_ssmm_1_decode grid(4, token_tiles(P, 8, 4), 1) {{[^>]*}} buffer("t0", 2, align 16), {{[^>]*}} when(P in [9, 16])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@pair_ssmm_1 grid({{[^>]*}} buffer("t0", 2, align 16), {{[^>]*}} when(P in [17, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@pair_ssmm_1_combine grid({{[^>]*}} when(P in [5, 8191])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@pair_ssmm_1_combine_vector grid({{[^>]*}} when(P in [8192, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@pair_ssmm_1_split_reducing grid(4, token_tiles(P, 8, 4), 2) {{[^>]*}} buffer("ws_pair_ssmm_0_split", 4, align 32), buffer("offsets", 4), buffer("ws_pair_ssmm_1_split", 4)) when(P in [1, 4])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@pair_ssmm_1_split_combine grid({{[^>]*}} when(P in [1, 4])>]
// CHECK-NOT: _split_reduce
// CHECK-LABEL: gpu.func @pair_ssmm_0_split(
// CHECK-NOT: gpu.func @pair_ssmm_0_split_reduce(
//
// The reducing decode kernel, whose ring (4 slots) holds its 4 k tiles:
// thread 0 issues every k tile's bulk weight copies (values and metadata)
// first; then every thread of the block takes 16-byte chunks of the token
// rows, loads both slices of the gate half, sums them in slice order,
// applies SiLU (x / (1 + 2^(-x log2 e))), multiplies by the sum of the up
// half's slices, rounds to bf16 and stores the chunk into its B slot; the
// block fences the stores for the async proxy (the wgmma reads them) and
// synchronises before the roles split, and the producer threads only arrive
// on the four full barriers: no cp.async, no cp.async arrival.
// CHECK-LABEL: gpu.func @pair_ssmm_1_decode_reducing(
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xi32, #gpu.address_space<global>>, %[[ROWS:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: %[[DYN:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[SB:.*]] = memref.view %[[DYN]]{{.*}} to memref<4096xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[WORDS:.*]] = memref.view %[[DYN]]{{.*}} to memref<8xi64, #gpu.address_space<workgroup>>
// CHECK: %[[BARS:.*]] = builtin.unrealized_conversion_cast %[[WORDS]]
// CHECK: gpu.barrier
// CHECK-NOT: nvvm.setmaxregister
// CHECK-COUNT-4: nvgpu.mbarrier.arrive.expect_tx %[[BARS]]
// CHECK-NOT: nvvm.setmaxregister
// CHECK: scf.for %{{.*}} = %thread_id_x to %c512 step %c256 {
// CHECK: %[[G0:.*]] = vector.load %[[WS]][%{{.*}}] {alignment = 32 : i64} : memref<?xf32, #gpu.address_space<global>>, vector<8xf32>
// CHECK: %[[G1:.*]] = vector.load %[[WS]][%{{.*}}] {alignment = 32 : i64} : memref<?xf32, #gpu.address_space<global>>, vector<8xf32>
// CHECK-NEXT: %[[G:.*]] = arith.addf %[[G0]], %[[G1]] : vector<8xf32>
// CHECK-COUNT-8: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK: %[[SILU:.*]] = arith.divf %[[G]], %{{.*}} : vector<8xf32>
// CHECK: %[[U0:.*]] = vector.load %[[WS]]
// CHECK: %[[U1:.*]] = vector.load %[[WS]]
// CHECK-NEXT: %[[U:.*]] = arith.addf %[[U0]], %[[U1]] : vector<8xf32>
// CHECK-NEXT: %[[H:.*]] = arith.mulf %[[SILU]], %[[U]] : vector<8xf32>
// CHECK: %[[BF:.*]] = arith.truncf %[[H]] : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store %[[BF]], %[[SB]][%{{.*}}] {alignment = 16 : i64} : memref<4096xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.setmaxregister  decrease
// CHECK-NEXT: nvgpu.mbarrier.arrive %[[BARS]][%c0]
// CHECK-NEXT: nvgpu.mbarrier.arrive %[[BARS]][%c1]
// CHECK-NEXT: nvgpu.mbarrier.arrive %[[BARS]][%c2]
// CHECK-NEXT: nvgpu.mbarrier.arrive %[[BARS]][%c3]
// CHECK-NOT: nvgpu.device_async_copy
// CHECK-NOT: nvvm.cp.async.mbarrier.arrive
// CHECK: nvvm.setmaxregister  increase
// CHECK: samoyeds_nvgpu.wgmma_sp
// CHECK: memref.store %{{.*}}, %[[ROWS]]
//
// The decode variant's original still gathers the bf16 result with cp.async.
// CHECK-LABEL: gpu.func @pair_ssmm_1_decode(
// CHECK-SAME: %[[IN:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xi32, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xbf16, #gpu.address_space<global>>)
// CHECK-NOT: vector.load
// CHECK: nvgpu.device_async_copy %[[IN]][%{{.*}}], %{{.*}}, 8 {bypassL1}
// CHECK: nvvm.cp.async.mbarrier.arrive
//
// The reducing split-K variant sums the input's slices of its own K slice
// (grid z: 2 k tiles of 128 columns from 256 · z) and writes f32 partial
// rows for its combine.
// CHECK-LABEL: gpu.func @pair_ssmm_1_split_reducing(
// CHECK-SAME: %[[WS2:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xi32, #gpu.address_space<global>>, %[[PART:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>)
// CHECK: %[[Z:.*]] = gpu.block_id  z
// CHECK: %[[BEGIN:.*]] = arith.muli %[[Z]], %c2 : index
// CHECK-COUNT-2: nvgpu.mbarrier.arrive.expect_tx
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: scf.for %{{.*}} = %thread_id_x to %c256 step %c256 {
// CHECK: arith.addi %[[BEGIN]], %{{.*}} : index
// CHECK: vector.load %[[WS2]]
// CHECK: ex2.approx
// CHECK: vector.store %{{.*}}, %{{.*}} : memref<{{[0-9]+}}xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.setmaxregister  decrease
// CHECK-COUNT-2: nvgpu.mbarrier.arrive %
// CHECK: memref.store %{{.*}}, %[[PART]]
// CHECK-LABEL: gpu.func @pair_ssmm_1_split_combine(

// OFF-LABEL: func.func @pair
// OFF: @pair_ssmm_0_split {{[^>]*}} when(P in [1, 8])>
// OFF-SAME: @pair_ssmm_0_split_reduce {{[^>]*}} when(P in [1, 8])>]
// OFF: @pair_ssmm_1_decode grid({{[^>]*}} buffer("t0", 2, align 16), {{[^>]*}} when(P in [5, 16])>
// OFF: @pair_ssmm_1_split grid({{[^>]*}} buffer("t0", 2, align 16), {{[^>]*}} when(P in [1, 4])>
func.func @pair(%w13: tensor<4x1024x256xbf16, #ss> {samoyeds.name = "w13"},
                %w2: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w2"},
                %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                %off: tensor<5xi32> {samoyeds.name = "offsets"},
                %tok: tensor<?xi32> {samoyeds.name = "tokens"},
                %rw: tensor<?x2xf32> {samoyeds.name = "weights"},
                %pos: tensor<?x2xi32> {samoyeds.name = "positions"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %h = samoyeds.ssmm %w13, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile13}
      : (tensor<4x1024x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  %y = samoyeds.ssmm %w2, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #tile2}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// A producer without an epilogue: the reader only sums the slices (16 =
// 2 x 8 rows of 512 columns), rounds and stores them, no SiLU. The reading
// decode variant's clone takes all of [1, 8].
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile1 = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, split_k = 2, split_slots = 8, decode_tokens = 8, decode_slots = 16, strategy = wgmma_sp>
#tile2 = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 4, decode_tokens = 8, decode_slots = 16, strategy = wgmma_sp>
// CHECK-LABEL: func.func @linear
// CHECK-SAME: #samoyeds.buffer<"ws_linear_ssmm_0_split", workspace, f32, [16, 512]>
// CHECK: samoyeds.launch [{{.*}}@linear_ssmm_0_split {{[^>]*}} when(P in [1, 8])>]
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@linear_ssmm_1_decode_reducing {{[^>]*}} buffer("ws_linear_ssmm_0_split", 4, align 32), {{[^>]*}} when(P in [1, 8])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@linear_ssmm_1_decode {{[^>]*}} when(P in [9, 16])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@linear_ssmm_1 {{[^>]*}} when(P in [17, ...])>]
// CHECK-NOT: _split_reduce
// CHECK-LABEL: gpu.func @linear_ssmm_1_decode_reducing(
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>
// CHECK-NOT: ex2
// CHECK: %[[A:.*]] = vector.load %[[WS]]
// CHECK: %[[B:.*]] = vector.load %[[WS]]
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[A]], %[[B]] : vector<8xf32>
// CHECK: %[[BF:.*]] = arith.truncf %[[S]] : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store %[[BF]]
// CHECK: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: ex2
// CHECK-LABEL: gpu.func @linear_ssmm_1_decode(

// OFF-LABEL: func.func @linear
// OFF: @linear_ssmm_0_split_reduce {{[^>]*}} when(P in [1, 8])>]
func.func @linear(%w1: tensor<4x512x256xbf16, #ss> {samoyeds.name = "w1"},
                  %w2: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w2"},
                  %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                  %off: tensor<5xi32> {samoyeds.name = "offsets"},
                  %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %h = samoyeds.ssmm %w1, %x, %off gather(%tok) epilogue <none> {tile = #tile1}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  %y = samoyeds.ssmm %w2, %h, %off epilogue <none> {tile = #tile2}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// No pairing: the producer's result is also returned (h), so it must be
// written; its reduction stays and the reader gathers h.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile13 = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, split_k = 2, split_slots = 8, decode_tokens = 8, decode_slots = 16, strategy = wgmma_sp>
#tile2 = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 4, decode_tokens = 8, decode_slots = 16, strategy = wgmma_sp>
// CHECK-LABEL: func.func @twice
// CHECK: @twice_ssmm_0_split_reduce {{[^>]*}} when(P in [1, 8])>]
// CHECK-NOT: _reducing
// CHECK: @twice_ssmm_1_decode grid({{[^>]*}} buffer("h", 2, align 16), {{[^>]*}} when(P in [0, 16])>
// CHECK-NOT: _reducing
// CHECK: return

// OFF-LABEL: func.func @twice
// OFF: @twice_ssmm_0_split_reduce
func.func @twice(%w13: tensor<4x1024x256xbf16, #ss> {samoyeds.name = "w13"},
                 %w2: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w2"},
                 %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                 %off: tensor<5xi32> {samoyeds.name = "offsets"},
                 %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"},
        tensor<?x512xbf16> {samoyeds.name = "h"}) {
  %h = samoyeds.ssmm %w13, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile13}
      : (tensor<4x1024x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  %y = samoyeds.ssmm %w2, %h, %off epilogue <none> {tile = #tile2}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y, %h : tensor<?x256xbf16>, tensor<?x512xbf16>
}

// -----

// No pairing: the reader's strategy is mma_sp (the tile's default), whose
// kernels cannot sum the slices.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile13 = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, split_k = 2, split_slots = 8, decode_tokens = 8, decode_slots = 16, strategy = wgmma_sp>
#tile2 = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, decode_tokens = 8, decode_slots = 16>
// CHECK-LABEL: func.func @mma
// CHECK: @mma_ssmm_0_split_reduce {{[^>]*}} when(P in [1, 8])>]
// CHECK-NOT: _reducing
// CHECK: @mma_ssmm_1_decode grid({{[^>]*}} buffer("t0", 2, align 16), {{[^>]*}} when(P in [0, 16])>
// CHECK-NOT: _reducing
// CHECK: gpu.func @mma_ssmm_1_decode(
// CHECK: samoyeds_nvgpu.mma_sp
// CHECK-NOT: _reducing
// CHECK: gpu.return

// OFF-LABEL: func.func @mma
// OFF: @mma_ssmm_0_split_reduce
func.func @mma(%w13: tensor<4x1024x256xbf16, #ss> {samoyeds.name = "w13"},
               %w2: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w2"},
               %x: tensor<?x256xbf16> {samoyeds.name = "x"},
               %off: tensor<5xi32> {samoyeds.name = "offsets"},
               %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %h = samoyeds.ssmm %w13, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile13}
      : (tensor<4x1024x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  %y = samoyeds.ssmm %w2, %h, %off epilogue <none> {tile = #tile2}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// A wgmma_sp reader whose ordinary grid (no decode or split-K variant)
// serves the producer's split calls, its tile's ring (2 slots) shorter than
// its K range (4 k tiles): the reducing kernel grows its ring to a slot per
// k tile (4 slots of 16 tokens fit) and sums the slices; gate/up's
// reduction is gone.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile13 = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, split_k = 2, split_slots = 8, decode_tokens = 8, decode_slots = 16, strategy = wgmma_sp>
#tile2 = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @ordinary
// CHECK-NOT: _split_reduce
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@ordinary_ssmm_1_reducing grid(4, token_tiles(P, 16, 4), 1) {{[^>]*}} buffer("ws_ordinary_ssmm_0_split", 4, align 32), {{[^>]*}} when(P in [1, 8])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@ordinary_ssmm_1 grid({{[^>]*}} buffer("t0", 2, align 16), {{[^>]*}} when(P in [9, ...])>]
// CHECK-LABEL: gpu.func @ordinary_ssmm_1_reducing(
// CHECK-COUNT-4: nvgpu.mbarrier.arrive.expect_tx
// CHECK: gpu.return

// OFF-LABEL: func.func @ordinary
// OFF: @ordinary_ssmm_0_split_reduce
func.func @ordinary(%w13: tensor<4x1024x256xbf16, #ss> {samoyeds.name = "w13"},
                    %w2: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w2"},
                    %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                    %off: tensor<5xi32> {samoyeds.name = "offsets"},
                    %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %h = samoyeds.ssmm %w13, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile13}
      : (tensor<4x1024x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  %y = samoyeds.ssmm %w2, %h, %off epilogue <none> {tile = #tile2}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
