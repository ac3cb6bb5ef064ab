// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// Plain 2:4 with K = 160, no multiple of the 128-column k tile: the `wgmma`
// layout stores the weight padded to 256 columns (docs/Format.md), so the
// values and metadata are sized for 256, and the kernel runs two k tiles.
// Each activation chunk's copy reads its 8 elements below K and none past
// it (cp.async zero-fills the chunk: the padding's zero weights must meet
// zeros, not what the slot held). Only the last k tile (1) has such chunks,
// from column K - 128 = 32 of the tile on: the test is `kt != 1 or column <
// 32`, and a chunk past K reads from the tile's first column of its row.
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
// CHECK-NEXT: %[[NOTLAST:.+]] = arith.cmpi ne, %[[KT]], %[[C1:c1]] : index
// CHECK-NEXT: %[[BELOW:.+]] = arith.cmpi ult, %[[COL:.+]], %[[C32:c32]] : index
// CHECK-NEXT: %[[IN:.+]] = arith.ori %[[NOTLAST]], %[[BELOW]] : i1
// CHECK-NEXT: %[[ELEMS:.+]] = arith.select %[[IN]], %[[C8:c8]], %[[C0:c0]] : index
// CHECK-NEXT: %[[FIRST:.+]] = arith.subi %[[SRC]], %[[COL]] : index
// CHECK-NEXT: %[[FROM:.+]] = arith.select %[[IN]], %[[SRC]], %[[FIRST]] : index
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
// a row of the tile's tokens and a chunk inside K (the smaller of the two
// counts); the second block's column is 64 on.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, persistent = 1, strategy = wgmma_sp>
// CHECK-LABEL: gpu.func @k_tail_persistent_ssmm_0_persistent(
// CHECK-SAME: %[[X:arg[0-9]+]]: memref<?xbf16, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: %[[ROWS:.+]] = arith.select %{{.*}}, %[[C8:c8]], %[[C0:c0]] : index
// CHECK: %[[NOTLAST:.+]] = arith.cmpi ne, %{{.*}}, %[[C1:c1]] : index
// CHECK-NEXT: %[[BELOW:.+]] = arith.cmpi ult, %[[COL:.+]], %[[C32:c32]] : index
// CHECK-NEXT: %[[IN:.+]] = arith.ori %[[NOTLAST]], %[[BELOW]] : i1
// CHECK-NEXT: %[[COLS:.+]] = arith.select %[[IN]], %[[C8]], %[[C0]] : index
// CHECK: %[[FROM:.+]] = arith.select %[[IN]], %{{.*}}, %{{.*}} : index
// CHECK: %[[ELEMS:.+]] = arith.minui %[[ROWS]], %[[COLS]] : index
// CHECK: nvgpu.device_async_copy %[[X]][%[[FROM]]], %{{.*}}[%{{.*}}], 8, %[[ELEMS]] {bypassL1}
// CHECK: %[[COL2:.+]] = arith.addi %[[COL]], %[[C64:c64]] : index
// CHECK-NEXT: arith.cmpi ult, %[[COL2]], %[[C32]] : index
// CHECK: nvgpu.device_async_copy %[[X]]
func.func @k_tail_persistent(%w: tensor<2x64x160xbf16, #ss> {samoyeds.name = "w"},
                             %x: tensor<?x160xbf16>, %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<2x64x160xbf16, #ss>, tensor<?x160xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Row selection with K = 160 (five 32-column spans, row_idx [5][64] an
// expert, not padded): the second k tile's stage copies the row choices of
// spans 4 … 7, and the three past K take span 4's (the spans are clamped to
// the last), so that no copy reads past an expert's row_idx and the last
// span's routing folds their zero weights' sums into its own rows.
#ss = #samoyeds.ss<n = 1, m = 2, v = 32>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @k_tail_rows
// CHECK-SAME: #samoyeds.weight_part<"w.row_idx", "w", row_idx, ui8, 640>
// CHECK: gpu.func @k_tail_rows_ssmm_0(
// CHECK: %[[KCOL:.+]] = arith.muli %[[KT:.+]], %c128 : index
// CHECK-NEXT: %[[SPAN:.+]] = arith.divui %[[KCOL]], %c32 : index
// CHECK-NEXT: %[[S0:.+]] = arith.minui %[[SPAN]], %[[LAST:c4]] : index
// CHECK-NEXT: %[[EXP:.+]] = arith.muli %{{.*}}, %c5 : index
// CHECK-NEXT: arith.addi %[[EXP]], %[[S0]] : index
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, %c64_i32
// CHECK: %[[SPAN1:.+]] = arith.addi %[[SPAN]], %c1 : index
// CHECK-NEXT: arith.minui %[[SPAN1]], %[[LAST]] : index
// CHECK: %[[SPAN3:.+]] = arith.addi %[[SPAN]], %c3 : index
// CHECK-NEXT: arith.minui %[[SPAN3]], %[[LAST]] : index
func.func @k_tail_rows(%w: tensor<2x128x160xbf16, #ss> {samoyeds.name = "w"},
                       %x: tensor<?x160xbf16>, %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x128xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<2x128x160xbf16, #ss>, tensor<?x160xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}
