// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// Kept rows in no whole 64-row tiles: the `wgmma` layout stores them padded
// to whole tiles (docs/Format.md: 32 kept rows stored as 64, the values
// sized for 64), the kernel multiplies the padded tile, and a value of a
// padding row (row 32 on) stores nothing: each store's test is its token's
// and its row's.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @plain_rows
// CHECK-SAME: #samoyeds.weight_part<"w.values", "w", values, bf16, 16384>, #samoyeds.weight_part<"w.meta", "w", meta, ui32, 2048>
// CHECK-SAME: samoyeds.weights = [#samoyeds.weight<"w", wgmma, bf16, [1, 32, 256], <n = 1, m = 1, v = 128>>]
// CHECK: gpu.func @plain_rows_ssmm_0(
// CHECK: samoyeds_nvgpu.wgmma_wait
// CHECK: %[[TILE:.+]] = arith.muli %block_id_x, %c64 : index
// CHECK: %[[ROW:.+]] = arith.addi %[[TILE]], %{{.*}} : index
// CHECK-NEXT: %[[LIVE:.+]] = arith.cmpi ult, %[[ROW]], %c32 : index
// CHECK-NEXT: arith.truncf
// CHECK-NEXT: %[[TOKEN:.+]] = arith.cmpi ult, %{{.*}}, %{{.*}} : index
// CHECK-NEXT: %[[STORE:.+]] = arith.andi %[[TOKEN]], %[[LIVE]] : i1
// CHECK: scf.if %[[STORE]] {
// CHECK: memref.store
func.func @plain_rows(%w: tensor<1x32x256xbf16, #ss> {samoyeds.name = "w"}, %x: tensor<?x256xbf16>,
                      %off: tensor<2xi32>) -> tensor<?x32xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x32x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// A gate/up weight whose halves keep 48 rows each (96 kept rows, no whole
// number of tiles a half): the `wgmma_halves` layout pads each half to 64
// (128 stored kept rows an expert: values 2 x 128 x 256 bytes, row_idx
// 2 x 4 spans x 128). The row choices of tile T and span s are at
// (e · 4 + s) · 128 + 64 T; the bias of a padding row reads the half's last
// (row 95, storing nothing), and the SiLU·up of group rows 96 on stores
// nothing.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
#tile = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @halves
// CHECK-SAME: #samoyeds.weight_part<"w13.values", "w13", values, bf16, 65536>, #samoyeds.weight_part<"w13.meta", "w13", meta, ui32, 8192>, #samoyeds.weight_part<"w13.row_idx", "w13", row_idx, ui8, 1024>
// CHECK-SAME: samoyeds.weights = [#samoyeds.weight<"w13", wgmma_halves, bf16, [2, 192, 256], <n = 1, m = 2, v = 64>>]
// CHECK: gpu.func @halves_ssmm_0(
// CHECK: %[[SPAN:.+]] = arith.divui %{{.*}}, %c64 : index
// CHECK-NEXT: %[[ESPANS:.+]] = arith.muli %{{.*}}, %c4 : index
// CHECK-NEXT: %[[ES:.+]] = arith.addi %[[ESPANS]], %[[SPAN]] : index
// CHECK-NEXT: %[[CHOICES:.+]] = arith.muli %[[ES]], %c128 : index
// CHECK-NEXT: %[[T:.+]] = arith.muli %block_id_x, %c64 : index
// CHECK-NEXT: arith.addi %[[CHOICES]], %[[T]] : index
// CHECK: %[[BIASROW:.+]] = arith.minui %[[GROUP:.+]], %c95 : index
// CHECK-NEXT: %[[AT:.+]] = arith.addi %{{.*}}, %[[BIASROW]] : index
// CHECK-NEXT: memref.load %{{.*}}[%[[AT]]]
// CHECK: %[[LIVE:.+]] = arith.cmpi ult, %[[GROUP]], %c96 : index
// CHECK: %[[STORE:.+]] = arith.andi %{{.*}}, %[[LIVE]] : i1
// CHECK: scf.if %[[STORE]] {
// CHECK: vector.store
func.func @halves(%w: tensor<2x192x256xbf16, #ss> {samoyeds.name = "w13"}, %x: tensor<?x256xbf16>,
                  %b: tensor<2x192xbf16>, %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x96xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) bias(%b) epilogue <silu_mul> {tile = #tile}
      : (tensor<2x192x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?xi32>, tensor<2x192xbf16>) -> tensor<?x96xbf16>
  return %y : tensor<?x96xbf16>
}
