// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// Plain 2:4 with K = 160, no multiple of the 128-column k tile: the `wgmma`
// layout stores the weight padded to 256 columns (docs/Format.md), so the
// values and metadata are sized for 256, and the kernel runs two k tiles.
// Each activation chunk's copy reads its 8 elements at input columns below
// K and none past it (cp.async zero-fills the chunk: the padding's zero
// weights must meet zeros, not what the slot held), from the row's last
// chunk (column K - 8 = 152) so that the address stays inside the row.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @k_tail
// CHECK-SAME: samoyeds.buffers = [#samoyeds.weight_part<"w.values", "w", values, bf16, 32768>, #samoyeds.weight_part<"w.meta", "w", meta, ui32, 4096>
// CHECK-SAME: samoyeds.weights = [#samoyeds.weight<"w", wgmma, bf16, [2, 64, 160], <n = 1, m = 1, v = 32>>]
// CHECK: gpu.func @k_tail_ssmm_0(
// CHECK-SAME: %[[X:arg[0-9]+]]: memref<?xbf16, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: scf.for %[[KT:.+]] = %{{.*}} to %[[TILES:c2]] step
// CHECK: %[[KOFF:.+]] = arith.muli %[[KT]], %c128 : index
// CHECK-NEXT: scf.if
// CHECK-NEXT: %[[SRC:.+]] = arith.addi %{{.*}}, %[[KOFF]] : index
// CHECK-NEXT: %[[COL:.+]] = arith.addi %{{.*}}, %[[KOFF]] : index
// CHECK-NEXT: %[[IN:.+]] = arith.cmpi ult, %[[COL]], %[[K:c160]] : index
// CHECK: %[[ELEMS:.+]] = arith.select %[[IN]], %[[C8:c8]], %[[C0:c0]] : index
// CHECK: %[[ROW:.+]] = arith.subi %[[SRC]], %[[COL]] : index
// CHECK: %[[LAST:.+]] = arith.addi %[[ROW]], %[[C152:c152]] : index
// CHECK: %[[FROM:.+]] = arith.select %[[IN]], %[[SRC]], %[[LAST]] : index
// CHECK: nvgpu.device_async_copy %[[X]][%[[FROM]]], %{{.*}}[%{{.*}}], 8, %[[ELEMS]] {bypassL1}
func.func @k_tail(%w: tensor<2x64x160xbf16, #ss> {samoyeds.name = "w"},
                  %x: tensor<?x160xbf16>, %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<2x64x160xbf16, #ss>, tensor<?x160xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// The persistent grid's copies (one per 64-column block of the k tile, from
// the rows each producer thread loaded): the chunk's elements are 8 only for
// a row of the tile's tokens and a column below K (the smaller of the two
// counts).
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, persistent = 1, strategy = wgmma_sp>
// CHECK-LABEL: gpu.func @k_tail_persistent_ssmm_0_persistent(
// CHECK-SAME: %[[X:arg[0-9]+]]: memref<?xbf16, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: %[[ROWS:.+]] = arith.select %{{.*}}, %[[C8:c8]], %[[C0:c0]] : index
// CHECK: %[[IN:.+]] = arith.cmpi ult, %[[COL:.+]], %[[K:c160]] : index
// CHECK: %[[COLS:.+]] = arith.select %[[IN]], %[[C8]], %[[C0]] : index
// CHECK: %[[FROM:.+]] = arith.select %[[IN]], %{{.*}}, %{{.*}} : index
// CHECK: %[[ELEMS:.+]] = arith.minui %[[ROWS]], %[[COLS]] : index
// CHECK: nvgpu.device_async_copy %[[X]][%[[FROM]]], %{{.*}}[%{{.*}}], 8, %[[ELEMS]] {bypassL1}
// The second 64-column block: 64 columns on.
// CHECK: %[[COL2:.+]] = arith.addi %[[COL]], %[[C64:c64]] : index
// CHECK: arith.cmpi ult, %[[COL2]], %[[K]] : index
// CHECK: nvgpu.device_async_copy %[[X]]
func.func @k_tail_persistent(%w: tensor<2x64x160xbf16, #ss> {samoyeds.name = "w"},
                             %x: tensor<?x160xbf16>, %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<2x64x160xbf16, #ss>, tensor<?x160xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
