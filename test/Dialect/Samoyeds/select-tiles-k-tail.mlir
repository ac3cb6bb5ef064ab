// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_90a -split-input-file | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a unit-tails=0" -split-input-file | FileCheck %s --check-prefix=NOTAILS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a pad-rows=1" -split-input-file | FileCheck %s --check-prefix=PAD
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="unit-tails=3" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="pad-rows=2" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADPAD

// BAD: error: samoyeds-select-tiles: unit-tails = 3 must be in [0, 2]
// BADPAD: error: samoyeds-select-tiles: pad-rows = 2 must be in [0, 1]

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

// Row selection takes it with `pad-rows=1` (session 71; opt-in until run on
// a GPU): the layout does not pad its row choices, and the spans past K
// take the last span's.
// CHECK-LABEL: func.func @rows
// CHECK: samoyeds.ssmm
// CHECK-NOT: wgmma_sp
// CHECK: return
// PAD-LABEL: func.func @rows
// PAD: samoyeds.ssmm {{.*}}k = 128{{.*}}strategy = wgmma_sp
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

// -----

// gpt-oss-20b's gate/up matmul in 1:2: 1440 kept rows a half, 22.5 64-row
// tiles. By default mma_sp; with `pad-rows=1` wgmma_sp, its weight layout
// (wgmma_halves) padding each half to 1472 kept rows (2.2% more).
// CHECK-LABEL: func.func @gpt_oss_rows
// CHECK: samoyeds.ssmm
// CHECK-NOT: wgmma_sp
// CHECK: return
// PAD-LABEL: func.func @gpt_oss_rows
// PAD: samoyeds.ssmm {{.*}}strategy = wgmma_sp
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @gpt_oss_rows(%w: tensor<32x5760x2880xbf16, #ss>, %x: tensor<?x2880xbf16>, %off: tensor<33xi32>,
                        %tok: tensor<?xi32>) -> tensor<?x2880xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<32x5760x2880xbf16, #ss>, tensor<?x2880xbf16>, tensor<33xi32>, tensor<?xi32>) -> tensor<?x2880xbf16>
  return %y : tensor<?x2880xbf16>
}

// -----

// 48 kept rows a half would be a third padding: mma_sp even with `pad-rows`.
// PAD-LABEL: func.func @few_rows
// PAD: samoyeds.ssmm
// PAD-NOT: wgmma_sp
// PAD: return
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @few_rows(%w: tensor<8x192x1024xbf16, #ss>, %x: tensor<?x1024xbf16>, %off: tensor<9xi32>,
                    %tok: tensor<?xi32>) -> tensor<?x96xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x192x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x96xbf16>
  return %y : tensor<?x96xbf16>
}
