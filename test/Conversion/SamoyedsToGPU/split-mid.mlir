// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// The mid-size split-K variant (tile mid_split_k = 2, mid_split_slots = 64):
// the calls above split_slots (8) up to 64 run the split-K kernel of the
// ordinary tile with 2 K slices of 512 columns (4 k tiles of 128), whose
// f32 partial rows go to their own workspace of 2 x 64 rows, summed in slice
// order by their own reduction; the split-K variant keeps P <= 8 (4 slices)
// and the unsplit kernel takes P > 64.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, split_k = 4, split_slots = 8, mid_split_k = 2, mid_split_slots = 64, strategy = wgmma_sp>
// CHECK-LABEL: func.func @mid(
// CHECK-SAME: #samoyeds.buffer<"ws_mid_ssmm_0_split_mid", workspace, f32, [128, 256]>, #samoyeds.buffer<"ws_mid_ssmm_0_split", workspace, f32, [32, 256]>
// CHECK: samoyeds.launch [
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@mid_ssmm_0 grid(1, token_tiles(P, 64, 1), 1) {{.*}} when(P in [65, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@mid_ssmm_0_split_mid grid(1, token_tiles(P, 64, 1), 2) block(384, 1, 1) {{.*}} buffer("ws_mid_ssmm_0_split_mid", 4, align 8)) when(P in [9, 64])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@mid_ssmm_0_split_mid_reduce grid(1, ceil_div(P, 1), 1) {{.*}} args(buffer("ws_mid_ssmm_0_split_mid", 4), buffer("y", 2)) when(P in [9, 64])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@mid_ssmm_0_split grid(1, token_tiles(P, 64, 1), 4) {{.*}} buffer("ws_mid_ssmm_0_split", 4, align 8)) when(P in [1, 8])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@mid_ssmm_0_split_reduce grid(1, ceil_div(P, 1), 1) {{.*}} when(P in [1, 8])>]
// CHECK-LABEL: gpu.func @mid_ssmm_0_split_mid(
// CHECK: %[[SLICE:.*]] = gpu.block_id  z
// CHECK-NEXT: %[[KBEGIN:.*]] = arith.muli %[[SLICE]], %c4 : index
// CHECK: samoyeds_nvgpu.wgmma_sp
// The reduction: slot p's row p of slice 0 plus row 64 + p of slice 1.
// CHECK-LABEL: gpu.func @mid_ssmm_0_split_mid_reduce(
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>, %[[Y:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: %[[SLOT:.*]] = gpu.block_id  y
// CHECK: %[[A:.*]] = memref.load %[[WS]][%[[FIRST:.*]]] :
// CHECK: %[[ROW1:.*]] = arith.addi %[[SLOT]], %c64 : index
// CHECK: %[[B:.*]] = memref.load %[[WS]][%{{.*}}] :
// CHECK: %[[SUM:.*]] = arith.addf %[[A]], %[[B]] : f32
// CHECK: %[[OUT:.*]] = arith.truncf %[[SUM]] : f32 to bf16
// CHECK: memref.store %[[OUT]], %[[Y]][%[[FIRST]]]
// CHECK-LABEL: gpu.func @mid_ssmm_0_split_reduce(
func.func @mid(%w: tensor<1x256x1024xbf16, #ss> {samoyeds.name = "w"},
               %x: tensor<?x1024xbf16> {samoyeds.name = "x"},
               %off: tensor<2xi32> {samoyeds.name = "offsets"},
               %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<1x256x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<2xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// With weighted_combine the mid-size variant's slices go to a combine kernel
// of their own (2 slices of 64 rows); the unsplit calls' combine starts
// above mid_split_slots.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, split_k = 4, split_slots = 8, mid_split_k = 2, mid_split_slots = 64, strategy = wgmma_sp>
// CHECK-LABEL: func.func @mid_combine(
// CHECK-SAME: #samoyeds.buffer<"ws_mid_combine_ssmm_0_split_mid", workspace, f32, [128, 256]>
// CHECK: samoyeds.launch [
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@mid_combine_ssmm_0 grid(1, token_tiles(P, 64, 1), 1) {{.*}} when(P in [65, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@mid_combine_ssmm_0_combine grid(1, ceil_div(T, 1), 1) {{.*}} when(P in [65, 8191])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@mid_combine_ssmm_0_combine_vector {{.*}} when(P in [8192, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@mid_combine_ssmm_0_split_mid grid(1, token_tiles(P, 64, 1), 2) {{.*}} buffer("ws_mid_combine_ssmm_0_split_mid", 4, align 8)) when(P in [9, 64])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@mid_combine_ssmm_0_split_mid_combine grid(1, ceil_div(T, 1), 1) {{.*}} args(buffer("ws_mid_combine_ssmm_0_split_mid", 4), buffer("weights", 4), buffer("positions", 4), buffer("y", 2)) when(P in [9, 64])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@mid_combine_ssmm_0_split_combine {{.*}} when(P in [1, 8])>]
// CHECK-LABEL: gpu.func @mid_combine_ssmm_0_split_mid_combine(
func.func @mid_combine(%w: tensor<1x256x1024xbf16, #ss> {samoyeds.name = "w"},
                       %h: tensor<?x1024xbf16> {samoyeds.name = "h"},
                       %off: tensor<2xi32> {samoyeds.name = "offsets"},
                       %rw: tensor<?x2xf32> {samoyeds.name = "weights"},
                       %pos: tensor<?x2xi32> {samoyeds.name = "positions"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #tile}
      : (tensor<1x256x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<2xi32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
