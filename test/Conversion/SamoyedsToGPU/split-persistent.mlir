// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s

// The split-K variant on a persistent grid (tile split_persistent = 1, an
// opt-in): one block per SM, no grid y or z. Block g of G walks the units
// g, g + G, … of the call's token tiles × 1 row block × 2 K slices; unit u
// is slice u % 2 (its k tiles from 2 · slice: 512 columns, 2 of 128 a slice)
// of tile u / 2, whose partial sums go where that slice's split-K block
// would store them. The reduction kernel is the split-K one.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, row_masks = 1, split_k = 2, split_slots = 4, decode_tokens = 8, decode_slots = 4, split_persistent = 1, strategy = wgmma_sp>
// CHECK-LABEL: func.func @gate_up
// CHECK: #samoyeds.launch<@samoyeds_kernels::@gate_up_ssmm_0_split grid(per_sm(1), 1, 1) block(384, 1, 1) smem(46368)
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@gate_up_ssmm_0_split_reduce grid(1, ceil_div(P, 1), 1)
// CHECK-LABEL: gpu.func @gate_up_ssmm_0_split(
// CHECK-SAME: nvvm.minctasm = 1
// CHECK: %[[G:.*]] = gpu.block_id  x
// CHECK: %[[BLOCKS:.*]] = gpu.grid_dim  x
// CHECK: %[[UNITS:.*]] = arith.muli %{{.*}}, %c2 : index
// CHECK-NEXT: %[[ANY:.*]] = arith.cmpi ult, %[[G]], %[[UNITS]] : index
// CHECK-NEXT: %[[LEFT:.*]] = arith.subi %[[UNITS]], %[[G]] : index
// CHECK: %[[MINE:.*]] = arith.select %[[ANY]], %{{.*}}, %c0 : index
// CHECK: nvvm.setmaxregister  decrease
// CHECK: scf.for %[[IT:.*]] = %c0 to %[[MINE]] step %c1 {
// CHECK-NEXT: %[[STRIDE:.*]] = arith.muli %[[IT]], %[[BLOCKS]] : index
// CHECK-NEXT: %[[UNIT:.*]] = arith.addi %[[G]], %[[STRIDE]] : index
// CHECK-NEXT: %[[SLICE:.*]] = arith.remui %[[UNIT]], %c2 : index
// CHECK-NEXT: %[[KBEGIN:.*]] = arith.muli %[[SLICE]], %c2 : index
// CHECK-NEXT: %[[TILE:.*]] = arith.divui %[[UNIT]], %c2 : index
// CHECK: nvvm.setmaxregister  increase
// CHECK: scf.for
// CHECK: arith.remui %{{.*}}, %c2 : index
// The consumers' epilogue: workspace row slice · split_slots + slot.
// CHECK: %[[ROWS:.*]] = arith.muli %{{.*}}, %c4 : index
// CHECK-LABEL: gpu.func @gate_up_ssmm_0_split_reduce(
func.func @gate_up(%w13: tensor<2x256x512xbf16, #ss> {samoyeds.name = "w13"},
                   %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                   %off: tensor<3xi32> {samoyeds.name = "offsets"},
                   %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x128xbf16> {samoyeds.name = "h"}) {
  %h = samoyeds.ssmm %w13, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<2x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x128xbf16>
  return %h : tensor<?x128xbf16>
}
