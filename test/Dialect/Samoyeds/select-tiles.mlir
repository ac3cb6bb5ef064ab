// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_80 | FileCheck %s --check-prefix=SM80
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90 tokens=64" | FileCheck %s --check-prefix=TOKENS
// RUN: samoyeds-opt %s --samoyeds-select-tiles | samoyeds-opt --samoyeds-select-tiles=tokens=128 | FileCheck %s
// RUN: not samoyeds-opt %s --samoyeds-select-tiles=chip=sm_70 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not samoyeds-opt %s --samoyeds-select-tiles=chip= 2>&1 | FileCheck %s --check-prefix=EMPTY-CHIP
// RUN: not samoyeds-opt %s --samoyeds-select-tiles=tokens=12 2>&1 | FileCheck %s --check-prefix=BAD-TOKENS
// RUN: not samoyeds-opt %s --samoyeds-select-tiles=tokens=-8 2>&1 | FileCheck %s --check-prefix=NEG-TOKENS

// CHIP: error: samoyeds-select-tiles: unsupported chip 'sm_70' (expected sm_80, sm_90 or sm_90a)
// EMPTY-CHIP: error: samoyeds-select-tiles: unsupported chip '' (expected sm_80, sm_90 or sm_90a)
// BAD-TOKENS: error: #samoyeds.tile: tokens = 12 must be a multiple of 8 in [8, 128]
// NEG-TOKENS: error: #samoyeds.tile: tokens = -8 must be a multiple of 8 in [8, 128]

// The table: 64 tokens per block (32 for silu_mul with row selection, whose
// gate, up and span accumulators would not fit at 64) or the `tokens` option;
// one token warp;
// k = 64 when the columns are a multiple of 64 and the span divides or is
// divided by 64, else 32; up to 6 stages within the chip's shared-memory
// budget for three blocks per SM (75 KB on sm_90, 54 KB on sm_80).

// The default tile: 64 tokens, k = 64 (the span is a multiple of 64).
// CHECK-LABEL: func.func @default_none(
// CHECK:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5>}
// sm_80's smaller budget takes 4 stages.
// SM80-LABEL: func.func @default_none(
// SM80:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 4>}
// TOKENS-LABEL: func.func @default_none(
// TOKENS:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5>}
func.func @default_none(
    %w: tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %offsets: tensor<2xi32>, %tokens: tensor<?xi32>)
    -> tensor<?x14336xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <none>
      : (tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<2xi32>, tensor<?xi32>)
      -> tensor<?x14336xbf16>
  return %y : tensor<?x14336xbf16>
}

// Both matmuls of a decomposed Mixtral layer get a tile.
// CHECK-LABEL: func.func @mixtral_layer(
// CHECK:         samoyeds.ssmm {{.*}} epilogue <silu_mul> {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 5>}
// CHECK:         samoyeds.ssmm {{.*}} epilogue <weighted_combine> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5>}
// TOKENS-LABEL: func.func @mixtral_layer(
// TOKENS:         samoyeds.ssmm {{.*}} epilogue <silu_mul> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 4>}
// TOKENS:         samoyeds.ssmm {{.*}} epilogue <weighted_combine> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5>}
func.func @mixtral_layer(
    %w13: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %offsets: tensor<9xi32>, %tokens: tensor<?xi32>,
    %weights: tensor<?x2xf32>, %positions: tensor<?x2xi32>) -> tensor<?x4096xbf16> {
  %h = samoyeds.ssmm %w13, %x, %offsets gather(%tokens) epilogue <silu_mul>
      : (tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x14336xbf16>
  %y = samoyeds.ssmm %w2, %h, %offsets combine(%weights, %positions)
      epilogue <weighted_combine>
      : (tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x14336xbf16>, tensor<9xi32>, tensor<?x2xf32>, tensor<?x2xi32>)
      -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

// 96 columns are not a multiple of 64: k = 32.
// CHECK-LABEL: func.func @k32(
// CHECK:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 32, stages = 6>}
// TOKENS-LABEL: func.func @k32(
// TOKENS:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 32, stages = 6>}
func.func @k32(
    %w: tensor<2x128x96xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
    %x: tensor<16x96xf16>, %offsets: tensor<3xi32>) -> tensor<16x128xf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<2x128x96xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
         tensor<16x96xf16>, tensor<3xi32>) -> tensor<16x128xf16>
  return %y : tensor<16x128xf16>
}

// A span of 96 neither divides nor is divided by 64: k = 32 even though the
// columns are a multiple of 64.
// CHECK-LABEL: func.func @k32_span(
// CHECK:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 32, stages = 6>}
func.func @k32_span(
    %w: tensor<2x128x192xbf16, #samoyeds.ss<n = 1, m = 2, v = 96>>,
    %x: tensor<16x192xbf16>, %offsets: tensor<3xi32>) -> tensor<16x128xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<2x128x192xbf16, #samoyeds.ss<n = 1, m = 2, v = 96>>,
         tensor<16x192xbf16>, tensor<3xi32>) -> tensor<16x128xbf16>
  return %y : tensor<16x128xbf16>
}

// A span of 32 divides 64: k = 64.
// CHECK-LABEL: func.func @k64_small_span(
// CHECK:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5>}
func.func @k64_small_span(
    %w: tensor<2x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 32>>,
    %x: tensor<16x128xbf16>, %offsets: tensor<3xi32>) -> tensor<16x128xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<2x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 32>>,
         tensor<16x128xbf16>, tensor<3xi32>) -> tensor<16x128xbf16>
  return %y : tensor<16x128xbf16>
}

// A tile that is already there is kept, whatever the options.
// CHECK-LABEL: func.func @keep_tile(
// CHECK:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 2, tokens = 16, k = 128, stages = 3>}
// TOKENS-LABEL: func.func @keep_tile(
// TOKENS:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 2, tokens = 16, k = 128, stages = 3>}
func.func @keep_tile(
    %w: tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %offsets: tensor<2xi32>) -> tensor<?x14336xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      {tile = #samoyeds.tile<warps = 2, tokens = 16, k = 128, stages = 3>}
      : (tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<2xi32>) -> tensor<?x14336xbf16>
  return %y : tensor<?x14336xbf16>
}

// Plain 2:4 gate/up (no row selection) takes 64 tokens: its accumulators fit
// 126 registers, and an expert with up to 64 tokens reads w13 once.
// CHECK-LABEL: func.func @silu_plain24(
// CHECK:         samoyeds.ssmm {{.*}} epilogue <silu_mul> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 4>}
func.func @silu_plain24(
    %w13: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
    %x: tensor<?x4096xbf16>, %offsets: tensor<9xi32>, %tokens: tensor<?xi32>)
    -> tensor<?x14336xbf16> {
  %h = samoyeds.ssmm %w13, %x, %offsets gather(%tokens) epilogue <silu_mul>
      : (tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
         tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x14336xbf16>
  return %h : tensor<?x14336xbf16>
}
