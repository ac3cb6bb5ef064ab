// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_90a -split-input-file | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a unit-tails=0" -split-input-file | FileCheck %s --check-prefix=NOTAILS
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="unit-tails=3" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: error: samoyeds-select-tiles: unit-tails = 3 must be in [0, 2]

// K = 1568 = 12 x 128 + 32, no multiple of the 128-column k tile: plain 2:4
// takes the warpgroup strategy (its `wgmma` layout pads K to 1664 and its
// gathers zero-fill the input past K; 96 padded columns, at most K / 16).
// CHECK-LABEL: func.func @plain
// CHECK: samoyeds.ssmm {{.*}}k = 128{{.*}}strategy = wgmma_sp
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
func.func @plain(%w: tensor<8x256x1568xbf16, #ss>, %x: tensor<?x1568xbf16>, %off: tensor<9xi32>,
                 %tok: tensor<?xi32>) -> tensor<?x128xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x256x1568xbf16, #ss>, tensor<?x1568xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// K = 160: the same 96 padded columns would be 60% more MMA work; mma_sp.
// CHECK-LABEL: func.func @short
// CHECK: samoyeds.ssmm
// CHECK-NOT: wgmma_sp
// CHECK: return
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
func.func @short(%w: tensor<8x256x160xbf16, #ss>, %x: tensor<?x160xbf16>, %off: tensor<9xi32>,
                 %tok: tensor<?xi32>) -> tensor<?x128xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x256x160xbf16, #ss>, tensor<?x160xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// Row selection takes it too (session 71): the layout does not pad its row
// choices, and the spans past K take the last span's.
// CHECK-LABEL: func.func @rows
// CHECK: samoyeds.ssmm {{.*}}k = 128{{.*}}strategy = wgmma_sp
#ss = #samoyeds.ss<n = 1, m = 2, v = 32>
func.func @rows(%w: tensor<8x512x1568xbf16, #ss>, %x: tensor<?x1568xbf16>, %off: tensor<9xi32>,
                %tok: tensor<?xi32>) -> tensor<?x256xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x512x1568xbf16, #ss>, tensor<?x1568xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Plain 2:4 whose 64-row tiles are odd in number (3 here, gpt-oss's 45 at
// 2880) takes wgmma_sp with unit tails: four consumer warpgroups, the last
// row block's units past the half repeating its last tile (bench/RESULTS.md
// S70), here three, as no more units than tiles (one row block). Without
// them (`unit-tails=0`) it stays on mma_sp: one consumer warpgroup a block
// (S69), padded K or not.
// CHECK-LABEL: func.func @odd_tiles
// CHECK: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<warps = 12,{{.*}}strategy = wgmma_sp
// NOTAILS-LABEL: func.func @odd_tiles
// NOTAILS: samoyeds.ssmm
// NOTAILS-NOT: wgmma_sp
// NOTAILS: return
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
func.func @odd_tiles(%w: tensor<8x192x1024xbf16, #ss>, %x: tensor<?x1024xbf16>, %off: tensor<9xi32>,
                     %tok: tensor<?xi32>) -> tensor<?x192xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<8x192x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x192xbf16>
  return %y : tensor<?x192xbf16>
}

// -----

// One 64-row tile a half: no tails can share it, so one consumer warpgroup a
// block, and mma_sp stays.
// CHECK-LABEL: func.func @one_tile
// CHECK: samoyeds.ssmm
// CHECK-NOT: wgmma_sp
// CHECK: return
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
func.func @one_tile(%w: tensor<8x64x1024xbf16, #ss>, %x: tensor<?x1024xbf16>, %off: tensor<9xi32>,
                    %tok: tensor<?xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<8x64x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
