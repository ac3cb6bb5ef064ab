// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu=fuse-split-reduce=true --split-input-file | FileCheck %s

// fuse-split-reduce: the split-K variant of an expert matmul reduces its
// own K slices, one launch instead of two.

// Split-K: a call with at most split_slots routed slots runs the split
// variant (grid z = 2 K slices, each of 2 k tiles, raw f32 sums of both
// halves to a 2 x 16-row workspace); the last of a tile's two blocks to
// count itself (an i32 counter per block of the largest grid: 1 row block x
// 3 token tiles) sums the slices in order, applies SiLU and writes the
// result; larger calls run the unsplit kernel.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 64, stages = 2, split_k = 2, split_slots = 16>
// CHECK-LABEL: func.func @split_silu
// CHECK-SAME: #samoyeds.buffer<"ws_split_silu_ssmm_0_split", workspace, f32, [32, 64]>, #samoyeds.buffer<"ws_split_silu_ssmm_0_split_counters", counters, i32, [3]>
// CHECK: samoyeds.launch [
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_silu_ssmm_0 grid(1, token_tiles(P, 8, 2), 1) block(32, 1, 1) smem(6912) {{.*}} when(P in [17, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_silu_ssmm_0_split grid(1, token_tiles(P, 8, 2), 2) block(32, 1, 1) smem(6912) {{.*}}, buffer("ws_split_silu_ssmm_0_split", 4), buffer("result0", 2), buffer("ws_split_silu_ssmm_0_split_counters", 4)) when(P in [1, 16])>]
// CHECK-NOT: _reduce
// CHECK: gpu.func @split_silu_ssmm_0(
// CHECK-NOT: gpu.block_id z
// CHECK: gpu.func @split_silu_ssmm_0_split({{.*}}%[[WS:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>, %[[OUT:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[CNT:[a-z0-9]+]]: memref<?xi32, #gpu.address_space<global>>)
// CHECK: %[[SLICE:.*]] = gpu.block_id z
// CHECK: %[[BEGIN:.*]] = arith.muli %[[SLICE]], %[[KT:.*]] : index
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[KT]]
// CHECK: arith.addi %[[BEGIN]], %[[I]]
// CHECK: samoyeds_nvgpu.mma_sp
// CHECK-NOT: ex2
// CHECK: %[[ROW:.*]] = arith.muli %[[SLICE]], %c16{{.*}} : index
// CHECK: memref.store %{{.*}}, %[[WS]][%{{.*}}] : memref<?xf32,
// CHECK: nvvm.memory.barrier <gpu>
// CHECK-NEXT: nvvm.barrier{{$}}
// CHECK: %[[BEFORE:.*]] = memref.atomic_rmw addi %{{.*}}, %[[CNT]][%[[TILE:.*]]] :
// CHECK: %[[LAST:.*]] = arith.cmpi eq, %[[BEFORE]], %c1_i32
// CHECK: scf.if %[[LAST]] {
// CHECK-NEXT: memref.store %c0_i32, %[[CNT]][%[[TILE]]]
// CHECK: %[[ANY:.*]] = nvvm.barrier #nvvm.reduction<or>
// CHECK: %[[MINE:.*]] = arith.cmpi ne, %[[ANY]], %c0_i32
// CHECK: scf.if %[[MINE]] {
// CHECK-NEXT: nvvm.memory.barrier <gpu>
// CHECK-COUNT-2: memref.load %[[WS]]
// CHECK: ex2.approx
// CHECK-COUNT-2: memref.load %[[WS]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
func.func @split_silu(%w: tensor<2x64x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                      %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x32xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<2x64x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?xi32>)
      -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// wgmma_sp, plain 2:4, two blocks per SM: the two consumer warpgroups
// reduce (barrier 1, 256 threads; a counter per block of 2 row blocks x 1
// token tile); their 256 threads walk the block's 16 x 128 result rows.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 2, split_slots = 1, split_blocks = 2, decode_tokens = 16, decode_slots = 8, shared_slots = 3, strategy = wgmma_sp>
// CHECK-LABEL: func.func @two_blocks
// CHECK-SAME: #samoyeds.buffer<"ws_two_blocks_ssmm_0_split_counters", counters, i32, [2]>
// CHECK: gpu.func @two_blocks_ssmm_0_split({{.*}}%[[CNT:[a-z0-9]+]]: memref<?xi32, #gpu.address_space<global>>) {{.*}} nvvm.minctasm = 2
// CHECK: nvvm.setmaxregister  increase 88
// CHECK: nvvm.memory.barrier <gpu>
// CHECK-NEXT: nvvm.barrier id = %c1_i32 number_of_threads = %c256_i32
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[CNT]]
// CHECK: %[[ANY:.*]] = llvm.inline_asm has_side_effects "{{.*}}bar.red.or.pred q, $2, $3, p;{{.*}}", "=r,r,r,r" %{{.*}}, %c1_i32, %c256_i32
// CHECK: arith.cmpi ne, %[[ANY]], %c0_i32
// CHECK: nvvm.memory.barrier <gpu>
// CHECK: scf.for %{{.*}} = %{{.*}} to %c2048 step %c256
func.func @two_blocks(%w: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w"},
                      %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                      %off: tensor<5xi32> {samoyeds.name = "offsets"},
                      %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// A weighted_combine keeps its combine kernel, which sums the slices: no
// counters, no reduction in the split kernel.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2, split_k = 4, split_slots = 8>
// CHECK-LABEL: func.func @split_combine
// CHECK-NOT: counters
// CHECK: @split_combine_ssmm_0_split_combine
// CHECK: gpu.func @split_combine_ssmm_0_split(
// CHECK-NOT: memref.atomic_rmw
// CHECK: gpu.return
func.func @split_combine(%w: tensor<1x32x128xbf16, #ss>, %h: tensor<?x128xbf16>,
                         %off: tensor<2xi32>, %rw: tensor<?x2xf32>,
                         %pos: tensor<?x2xi32>) -> tensor<?x32xbf16> {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine>
      {tile = #tile}
      : (tensor<1x32x128xbf16, #ss>, tensor<?x128xbf16>, tensor<2xi32>,
         tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}
