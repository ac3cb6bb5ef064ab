// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_80 | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_80 tokens=64" | FileCheck %s --check-prefix=FORCED

// The mma_sp tile keeps at most 128 f32 accumulators a thread
// (TileConfigAttr::kMmaSpMaxAccumulators): row selection over m rows keeps
// m sets per output row, so a large m takes fewer tokens (m = 16 at 64
// tokens spilled 11 KB a thread on sm_80), and SiLU·up's persistent gate/up
// takes 64 tokens only where they fit. The persistent grid keeps two blocks
// an SM where its tile holds more than 64 (three leave 168 registers a
// thread) and none above m = 4. A forced `tokens` is kept.

// CHECK-LABEL: func.func @none_m4(
// CHECK:         epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64,{{.*}} persistent = 2,
// FORCED-LABEL: func.func @none_m4(
// FORCED:         epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64,
func.func @none_m4(%w: tensor<8x1024x512xbf16, #samoyeds.ss<n = 1, m = 4, v = 128>>,
                   %x: tensor<?x512xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>)
    -> tensor<?x1024xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<8x1024x512xbf16, #samoyeds.ss<n = 1, m = 4, v = 128>>, tensor<?x512xbf16>,
         tensor<9xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}

// CHECK-LABEL: func.func @none_m8(
// CHECK:         epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 32,
// CHECK-NOT:     persistent
func.func @none_m8(%w: tensor<8x1024x512xbf16, #samoyeds.ss<n = 1, m = 8, v = 128>>,
                   %x: tensor<?x512xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>)
    -> tensor<?x1024xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<8x1024x512xbf16, #samoyeds.ss<n = 1, m = 8, v = 128>>, tensor<?x512xbf16>,
         tensor<9xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}

// CHECK-LABEL: func.func @none_m16(
// CHECK:         epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 16,
// CHECK-NOT:     persistent
// FORCED-LABEL: func.func @none_m16(
// FORCED:         epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64,
func.func @none_m16(%w: tensor<8x1024x512xbf16, #samoyeds.ss<n = 1, m = 16, v = 128>>,
                    %x: tensor<?x512xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>)
    -> tensor<?x1024xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<8x1024x512xbf16, #samoyeds.ss<n = 1, m = 16, v = 128>>, tensor<?x512xbf16>,
         tensor<9xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}

// SiLU·up: m = 2 keeps its 32-token tile and 64-token persistent gate/up;
// m = 4 keeps 32 tokens without the 64-token persistent tile; m = 16 takes 8.
// CHECK-LABEL: func.func @silu_m2(
// CHECK:         epilogue <silu_mul> {tile = #samoyeds.tile<{{.*}}tokens = 32,{{.*}} persistent = 2,{{.*}}persistent_tokens = 64,
// CHECK-LABEL: func.func @silu_m4(
// CHECK:         epilogue <silu_mul> {tile = #samoyeds.tile<{{.*}}tokens = 32,{{.*}} persistent = 2,
// CHECK-NOT:     persistent_tokens
// CHECK-LABEL: func.func @silu_m16(
// CHECK:         epilogue <silu_mul> {tile = #samoyeds.tile<{{.*}}tokens = 8,
// CHECK-NOT:     persistent
// CHECK-NOT:     decode_tokens
func.func @silu_m2(%w: tensor<8x2048x512xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
                   %x: tensor<?x512xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>)
    -> tensor<?x1024xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x2048x512xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<?x512xbf16>,
         tensor<9xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
func.func @silu_m4(%w: tensor<8x2048x512xbf16, #samoyeds.ss<n = 1, m = 4, v = 128>>,
                   %x: tensor<?x512xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>)
    -> tensor<?x1024xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x2048x512xbf16, #samoyeds.ss<n = 1, m = 4, v = 128>>, tensor<?x512xbf16>,
         tensor<9xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
func.func @silu_m16(%w: tensor<8x2048x512xbf16, #samoyeds.ss<n = 1, m = 16, v = 128>>,
                    %x: tensor<?x512xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>)
    -> tensor<?x1024xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x2048x512xbf16, #samoyeds.ss<n = 1, m = 16, v = 128>>, tensor<?x512xbf16>,
         tensor<9xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
