// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu=fuse-split-reduce | FileCheck %s --check-prefix=FUSED

// Unit tails (plain 2:4): 3 64-row tiles a half, 2 units a half (four
// consumer warpgroups, SiLU·up) make 2 row blocks, the last with one live
// unit. Its other unit repeats the half's last tile (tile 2): the unit's
// tile within its half, rowBlock * 2 + r, is clamped to 2 wherever the
// kernel addresses weights, row choices, biases or output rows, so that it
// copies, multiplies and stores what tile 2's own unit does.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 16, tokens = 16, k = 128, stages = 2, split_k = 2, split_slots = 4, strategy = wgmma_sp>
// CHECK: samoyeds.launch<@samoyeds_kernels::@tails_ssmm_0 grid(2, token_tiles(P, 16, 2), 1)
// CHECK-SAME: samoyeds.launch<@samoyeds_kernels::@tails_ssmm_0_split grid(2, token_tiles(P, 16, 2), 2)
// CHECK-LABEL: gpu.func @tails_ssmm_0(
// CHECK: nvgpu.mbarrier.arrive.expect_tx
// CHECK: %[[FIRST:.+]] = arith.muli %block_id_x, %[[C2:c2]] : index
// CHECK-NEXT: %[[TILE:.+]] = arith.minui %[[FIRST]], %[[C2]] : index
// CHECK: nvvm.cp.async.bulk.shared.cluster.global
//
// With the fused split reduction the last block of a tile reduces its row
// block's 128 rows of each half, those below the half's 192 only.
// FUSED-LABEL: gpu.func @tails_ssmm_0_split(
// FUSED: %[[FIRSTROW:.+]] = arith.muli %block_id_x, %[[C128:c128]] : index
// FUSED: scf.for
// FUSED: %[[COL:.+]] = arith.addi %[[FIRSTROW]], %{{.*}} : index
// FUSED-NEXT: %[[IN:.+]] = arith.cmpi ult, %[[COL]], %[[C192:c192]] : index
// FUSED-NEXT: scf.if %[[IN]]
func.func @tails(%w: tensor<2x384x256xbf16, #ss> {samoyeds.name = "w"},
                 %x: tensor<?x256xbf16>, %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x192xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<2x384x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x192xbf16>
  return %y : tensor<?x192xbf16>
}
