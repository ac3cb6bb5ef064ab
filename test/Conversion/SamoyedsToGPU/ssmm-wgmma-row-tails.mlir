// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s

// Unit tails with row selection (1:2, SiLU·up): 3 64-row tiles of kept
// rows a half, 2 units a half (four consumer warpgroups) make 2 row blocks,
// the last with one live unit a half. Its other unit repeats the half's
// last tile (tile 2): the clamped tile addresses the weight blocks, the
// tile's row choices of each span (64 bytes of row_idx, 384 kept rows an
// expert and span) and the group rows it stores (2 a kept row), so that it
// copies, multiplies and stores what tile 2's own unit does.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 16, tokens = 16, k = 128, stages = 2, strategy = wgmma_sp>
// CHECK: samoyeds.launch<@samoyeds_kernels::@row_tails_ssmm_0 grid(2, token_tiles(P, 16, 2), 1) block(640, 1, 1)
// CHECK-LABEL: gpu.func @row_tails_ssmm_0(
// CHECK: %[[FIRST:.+]] = arith.muli %block_id_x, %[[C2:c2]] : index
// CHECK-NEXT: %[[TILE:.+]] = arith.minui %[[FIRST]], %[[C2]] : index
// CHECK: nvvm.cp.async.bulk.shared.cluster.global {{.*}}, %c8192_i32
// CHECK: nvvm.cp.async.bulk.shared.cluster.global {{.*}}, %c1024_i32
// CHECK: %[[SPANROW:.+]] = arith.muli %{{.+}}, %c384 : index
// CHECK-NEXT: %[[CHOICE:.+]] = arith.muli %[[TILE]], %c64 : index
// CHECK-NEXT: arith.addi %[[SPANROW]], %[[CHOICE]] : index
// CHECK: nvvm.cp.async.bulk.shared.cluster.global {{.*}}, %c64_i32
// CHECK: %[[NEXT:.+]] = arith.addi %[[FIRST]], %c1 : index
// CHECK-NEXT: arith.minui %[[NEXT]], %[[C2]] : index
//
// The epilogue's stores (after the SiLU): kept row (clamped tile · 64 +
// row) · 2.
// CHECK: ex2.approx.ftz.f32
// CHECK: %[[STILE:.+]] = arith.minui %{{.+}}, %[[C2]] : index
// CHECK-NEXT: %[[KEPT0:.+]] = arith.muli %[[STILE]], %c64 : index
// CHECK-NEXT: %[[KEPT:.+]] = arith.addi %[[KEPT0]], %{{.+}} : index
// CHECK-NEXT: arith.muli %[[KEPT]], %[[C2]] : index
// CHECK: vector.store
func.func @row_tails(%w: tensor<2x768x256xbf16, #ss> {samoyeds.name = "w"},
                     %x: tensor<?x256xbf16>, %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x384xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<2x768x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x384xbf16>
  return %y : tensor<?x384xbf16>
}
