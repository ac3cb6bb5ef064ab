// RUN: samoyeds-opt %s | samoyeds-opt | FileCheck %s
// RUN: samoyeds-opt %s --mlir-print-op-generic | samoyeds-opt | FileCheck %s
// RUN: samoyeds-opt %s --emit-bytecode | samoyeds-opt | FileCheck %s
// RUN: samoyeds-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Round trip of every samoyeds op and attribute, in the custom and the
// generic form.

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @ss_default(
// CHECK-SAME:    tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>
func.func @ss_default(%w: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>) {
  return
}

// n = m: plain 2:4.
// CHECK-LABEL: func.func @ss_plain_2_4(
// CHECK-SAME:    tensor<4x64x64xf16, #samoyeds.ss<n = 4, m = 4, v = 32>>
func.func @ss_plain_2_4(%w: tensor<4x64x64xf16, #samoyeds.ss<n = 4, m = 4, v = 32>>) {
  return
}

// n < m with a wider group and the smallest span.
// CHECK-LABEL: func.func @ss_n_lt_m(
// CHECK-SAME:    tensor<2x256x96xbf16, #samoyeds.ss<n = 3, m = 16, v = 32>>
func.func @ss_n_lt_m(%w: tensor<2x256x96xbf16, #samoyeds.ss<n = 3, m = 16, v = 32>>) {
  return
}

// Dynamic weight dimensions are accepted (the shape rules apply to static ones).
// CHECK-LABEL: func.func @ss_dynamic_weight(
// CHECK-SAME:    tensor<?x?x?xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>
func.func @ss_dynamic_weight(%w: tensor<?x?x?xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>) {
  return
}

//===----------------------------------------------------------------------===//
// moe_experts
//===----------------------------------------------------------------------===//

// The experts of a Mixtral layer with the routing given: dynamic token count.
// CHECK-LABEL: func.func @moe_experts(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x4096xbf16>,
// CHECK-SAME:    %[[W:[a-zA-Z0-9_]+]]: tensor<?x2xf32>,
// CHECK-SAME:    %[[IDS:[a-zA-Z0-9_]+]]: tensor<?x2xi32>,
// CHECK-SAME:    %[[W13:[a-zA-Z0-9_]+]]: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[W2:[a-zA-Z0-9_]+]]: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
// CHECK:         %[[Y:.*]] = samoyeds.moe_experts %[[X]], %[[W]], %[[IDS]], %[[W13]], %[[W2]] : (tensor<?x4096xbf16>, tensor<?x2xf32>, tensor<?x2xi32>, tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>) -> tensor<?x4096xbf16>
// CHECK:         return %[[Y]]
func.func @moe_experts(
    %x: tensor<?x4096xbf16>, %w: tensor<?x2xf32>, %ids: tensor<?x2xi32>,
    %w13: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
    -> tensor<?x4096xbf16> {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x4096xbf16>, tensor<?x2xf32>, tensor<?x2xi32>,
         tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
      -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

// Static tokens, f16, a dynamic expert count on w13 (w2 gives it).
// CHECK-LABEL: func.func @moe_experts_static(
// CHECK:         samoyeds.moe_experts %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<16x2048xf16>, tensor<16x8xf32>, tensor<16x8xi32>, tensor<?x1536x2048xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<128x2048x768xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>) -> tensor<16x2048xf16>
func.func @moe_experts_static(
    %x: tensor<16x2048xf16>, %w: tensor<16x8xf32>, %ids: tensor<16x8xi32>,
    %w13: tensor<?x1536x2048xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<128x2048x768xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
    -> tensor<16x2048xf16> {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<16x2048xf16>, tensor<16x8xf32>, tensor<16x8xi32>,
         tensor<?x1536x2048xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<128x2048x768xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
      -> tensor<16x2048xf16>
  return %y : tensor<16x2048xf16>
}

//===----------------------------------------------------------------------===//
// moe_ffn
//===----------------------------------------------------------------------===//

// Mixtral: renormalised top-2, dynamic token count.
// CHECK-LABEL: func.func @moe_ffn_renormalize(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x4096xbf16>,
// CHECK-SAME:    %[[R:[a-zA-Z0-9_]+]]: tensor<8x4096xbf16>,
// CHECK-SAME:    %[[W13:[a-zA-Z0-9_]+]]: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[W2:[a-zA-Z0-9_]+]]: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
// CHECK:         %[[Y:.*]] = samoyeds.moe_ffn %[[X]], %[[R]], %[[W13]], %[[W2]] top_k(2) {renormalize} : (tensor<?x4096xbf16>, tensor<8x4096xbf16>, tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>) -> tensor<?x4096xbf16>
// CHECK:         return %[[Y]]
func.func @moe_ffn_renormalize(
    %x: tensor<?x4096xbf16>, %router: tensor<8x4096xbf16>,
    %w13: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
    -> tensor<?x4096xbf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2) {renormalize}
      : (tensor<?x4096xbf16>, tensor<8x4096xbf16>,
         tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
      -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

// Qwen2-MoE: no renormalisation, f16, static token count, f32 router. The
// default scaling factor and activation are not printed.
// CHECK-LABEL: func.func @moe_ffn_plain(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<16x2048xf16>,
// CHECK-SAME:    %[[R:[a-zA-Z0-9_]+]]: tensor<60x2048xf32>,
// CHECK-SAME:    %[[W13:[a-zA-Z0-9_]+]]: tensor<60x2816x2048xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[W2:[a-zA-Z0-9_]+]]: tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>)
// CHECK:         %[[Y:.*]] = samoyeds.moe_ffn %[[X]], %[[R]], %[[W13]], %[[W2]] top_k(4) : (tensor<16x2048xf16>, tensor<60x2048xf32>, {{.*}}) -> tensor<16x2048xf16>
// CHECK-NOT:     renormalize
// CHECK-NOT:     routed_scaling_factor
// CHECK:         return %[[Y]]
func.func @moe_ffn_plain(
    %x: tensor<16x2048xf16>, %router: tensor<60x2048xf32>,
    %w13: tensor<60x2816x2048xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>)
    -> tensor<16x2048xf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(4)
      : (tensor<16x2048xf16>, tensor<60x2048xf32>,
         tensor<60x2816x2048xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>)
      -> tensor<16x2048xf16>
  return %y : tensor<16x2048xf16>
}

// DeepSeek-V2: routed_scaling_factor; the explicit default activation is
// elided.
// CHECK-LABEL: func.func @moe_ffn_scaled(
// CHECK:         samoyeds.moe_ffn %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} top_k(6) {routed_scaling_factor = 1.600000e+01 : f64} : (tensor<?x5120xbf16>, tensor<160x5120xbf16>,
func.func @moe_ffn_scaled(
    %x: tensor<?x5120xbf16>, %router: tensor<160x5120xbf16>,
    %w13: tensor<160x3072x5120xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<160x5120x1536xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
    -> tensor<?x5120xbf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(6)
      {routed_scaling_factor = 16.0 : f64, activation = #samoyeds<activation silu>}
      : (tensor<?x5120xbf16>, tensor<160x5120xbf16>,
         tensor<160x3072x5120xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<160x5120x1536xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
      -> tensor<?x5120xbf16>
  return %y : tensor<?x5120xbf16>
}

// Both scaling conventions at once.
// CHECK-LABEL: func.func @moe_ffn_renormalize_scaled(
// CHECK:         samoyeds.moe_ffn {{.*}} top_k(2) {renormalize, routed_scaling_factor = 2.500000e+00 : f64}
func.func @moe_ffn_renormalize_scaled(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
    -> tensor<?x128xbf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      {renormalize, routed_scaling_factor = 2.5 : f64}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
      -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

//===----------------------------------------------------------------------===//
// route
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @route_dynamic(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x4096xbf16>,
// CHECK-SAME:    %[[R:[a-zA-Z0-9_]+]]: tensor<8x4096xbf16>)
// CHECK:         %[[W:[a-zA-Z0-9_]+]], %[[IDS:[a-zA-Z0-9_]+]] = samoyeds.route %[[X]], %[[R]] top_k(2) {renormalize} : (tensor<?x4096xbf16>, tensor<8x4096xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
// CHECK:         return %[[W]], %[[IDS]]
func.func @route_dynamic(%x: tensor<?x4096xbf16>, %router: tensor<8x4096xbf16>)
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = samoyeds.route %x, %router top_k(2) {renormalize}
      : (tensor<?x4096xbf16>, tensor<8x4096xbf16>)
      -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}

// CHECK-LABEL: func.func @route_static_f16(
// CHECK:         samoyeds.route %{{.*}}, %{{.*}} top_k(8) {routed_scaling_factor = 1.600000e+01 : f64} : (tensor<32x1024xf16>, tensor<64x1024xf32>) -> (tensor<32x8xf32>, tensor<32x8xi32>)
func.func @route_static_f16(%x: tensor<32x1024xf16>, %router: tensor<64x1024xf32>)
    -> (tensor<32x8xf32>, tensor<32x8xi32>) {
  %w, %ids = samoyeds.route %x, %router top_k(8) {routed_scaling_factor = 16.0 : f64}
      : (tensor<32x1024xf16>, tensor<64x1024xf32>)
      -> (tensor<32x8xf32>, tensor<32x8xi32>)
  return %w, %ids : tensor<32x8xf32>, tensor<32x8xi32>
}

// top_k equal to the expert count is allowed.
// CHECK-LABEL: func.func @route_all_experts(
// CHECK:         samoyeds.route %{{.*}}, %{{.*}} top_k(4) : (tensor<?x64xbf16>, tensor<4x64xbf16>) -> (tensor<?x4xf32>, tensor<?x4xi32>)
func.func @route_all_experts(%x: tensor<?x64xbf16>, %router: tensor<4x64xbf16>)
    -> (tensor<?x4xf32>, tensor<?x4xi32>) {
  %w, %ids = samoyeds.route %x, %router top_k(4)
      : (tensor<?x64xbf16>, tensor<4x64xbf16>) -> (tensor<?x4xf32>, tensor<?x4xi32>)
  return %w, %ids : tensor<?x4xf32>, tensor<?x4xi32>
}

//===----------------------------------------------------------------------===//
// dispatch
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @dispatch_dynamic(
// CHECK-SAME:    %[[IDS:[a-zA-Z0-9_]+]]: tensor<?x2xi32>)
// CHECK:         %[[TOK:[a-zA-Z0-9_]+]], %[[OFF:[a-zA-Z0-9_]+]], %[[POS:[a-zA-Z0-9_]+]] = samoyeds.dispatch %[[IDS]] experts(8) : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<9xi32>, tensor<?x2xi32>)
// CHECK:         return %[[TOK]], %[[OFF]], %[[POS]]
func.func @dispatch_dynamic(%ids: tensor<?x2xi32>)
    -> (tensor<?xi32>, tensor<9xi32>, tensor<?x2xi32>) {
  %tokens, %offsets, %positions = samoyeds.dispatch %ids experts(8)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<9xi32>, tensor<?x2xi32>)
  return %tokens, %offsets, %positions : tensor<?xi32>, tensor<9xi32>, tensor<?x2xi32>
}

// CHECK-LABEL: func.func @dispatch_static(
// CHECK:         samoyeds.dispatch %{{.*}} experts(60) : (tensor<16x4xi32>) -> (tensor<64xi32>, tensor<61xi32>, tensor<16x4xi32>)
func.func @dispatch_static(%ids: tensor<16x4xi32>)
    -> (tensor<64xi32>, tensor<61xi32>, tensor<16x4xi32>) {
  %tokens, %offsets, %positions = samoyeds.dispatch %ids experts(60)
      : (tensor<16x4xi32>) -> (tensor<64xi32>, tensor<61xi32>, tensor<16x4xi32>)
  return %tokens, %offsets, %positions : tensor<64xi32>, tensor<61xi32>, tensor<16x4xi32>
}

// A single expert.
// CHECK-LABEL: func.func @dispatch_one_expert(
// CHECK:         samoyeds.dispatch %{{.*}} experts(1) : (tensor<?x1xi32>) -> (tensor<?xi32>, tensor<2xi32>, tensor<?x1xi32>)
func.func @dispatch_one_expert(%ids: tensor<?x1xi32>)
    -> (tensor<?xi32>, tensor<2xi32>, tensor<?x1xi32>) {
  %tokens, %offsets, %positions = samoyeds.dispatch %ids experts(1)
      : (tensor<?x1xi32>) -> (tensor<?xi32>, tensor<2xi32>, tensor<?x1xi32>)
  return %tokens, %offsets, %positions : tensor<?xi32>, tensor<2xi32>, tensor<?x1xi32>
}

//===----------------------------------------------------------------------===//
// ssmm
//===----------------------------------------------------------------------===//

// gather + none (the example in examples/expert_ssmm.mlir).
// CHECK-LABEL: func.func @ssmm_gather_none(
// CHECK-SAME:    %[[W:[a-zA-Z0-9_]+]]: tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x4096xbf16>,
// CHECK-SAME:    %[[OFF:[a-zA-Z0-9_]+]]: tensor<2xi32>,
// CHECK-SAME:    %[[TOK:[a-zA-Z0-9_]+]]: tensor<?xi32>)
// CHECK:         %[[Y:.*]] = samoyeds.ssmm %[[W]], %[[X]], %[[OFF]] gather(%[[TOK]]) epilogue <none> : (tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<?x4096xbf16>, tensor<2xi32>, tensor<?xi32>) -> tensor<?x14336xbf16>
// CHECK:         return %[[Y]]
func.func @ssmm_gather_none(
    %w: tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %offsets: tensor<2xi32>, %tokens: tensor<?xi32>)
    -> tensor<?x14336xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <none>
      : (tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<2xi32>, tensor<?xi32>)
      -> tensor<?x14336xbf16>
  return %y : tensor<?x14336xbf16>
}

// No gather list, static slots, f16, plain 2:4, with a tile (token_warps = 1
// is the default and is not printed).
// CHECK-LABEL: func.func @ssmm_none_tile(
// CHECK-SAME:    %[[W:[a-zA-Z0-9_]+]]: tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<64x512xf16>,
// CHECK-SAME:    %[[OFF:[a-zA-Z0-9_]+]]: tensor<5xi32>)
// CHECK:         %[[Y:.*]] = samoyeds.ssmm %[[W]], %[[X]], %[[OFF]] epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2>} : (tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>, tensor<64x512xf16>, tensor<5xi32>) -> tensor<64x256xf16>
// CHECK:         return %[[Y]]
func.func @ssmm_none_tile(
    %w: tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
    %x: tensor<64x512xf16>, %offsets: tensor<5xi32>) -> tensor<64x256xf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, token_warps = 1>}
      : (tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
         tensor<64x512xf16>, tensor<5xi32>) -> tensor<64x256xf16>
  return %y : tensor<64x256xf16>
}

// Unit pairs in cluster pairs round-trip (allowed since session 48).
// CHECK-LABEL: func.func @tile_wide_units_cluster()
// CHECK-SAME: t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 80, wide_slots = 512, wide_cluster = 2, wide_units = 2, strategy = wgmma_sp>
func.func @tile_wide_units_cluster() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 80, wide_slots = 512, wide_cluster = 2, wide_units = 2, strategy = wgmma_sp>} {
  return
}

// Decode variants' own warps round-trip; decode_warps = 0 is the default
// and is not printed.
// CHECK-LABEL: func.func @tile_decode_warps()
// CHECK-SAME: t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, decode_tokens = 8, decode_slots = 4, decode_warps = 8, strategy = wgmma_sp>
// CHECK-SAME: u = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, decode_tokens = 8, decode_slots = 4, strategy = wgmma_sp>
func.func @tile_decode_warps() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, decode_tokens = 8, decode_slots = 4, decode_warps = 8, strategy = wgmma_sp>, u = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, decode_tokens = 8, decode_slots = 4, decode_warps = 0, strategy = wgmma_sp>} {
  return
}

// An mma_sp decode tile's own ring round-trips; decode_stages = 0 is the
// default and is not printed.
// CHECK-LABEL: func.func @tile_decode_stages()
// CHECK-SAME: t = #samoyeds.tile<warps = 6, tokens = 32, k = 64, stages = 4, decode_tokens = 8, decode_slots = 384, decode_warps = 2, decode_stages = 6>
// CHECK-SAME: u = #samoyeds.tile<warps = 6, tokens = 32, k = 64, stages = 4, decode_tokens = 8, decode_slots = 384, decode_warps = 2>
func.func @tile_decode_stages() attributes {t = #samoyeds.tile<warps = 6, tokens = 32, k = 64, stages = 4, decode_tokens = 8, decode_slots = 384, decode_warps = 2, decode_stages = 6>, u = #samoyeds.tile<warps = 6, tokens = 32, k = 64, stages = 4, decode_tokens = 8, decode_slots = 384, decode_warps = 2, decode_stages = 0>} {
  return
}

// Masked row selection with the warpgroup strategy round-trips.
// CHECK-LABEL: func.func @tile_wgmma_row_masks()
// CHECK-SAME: t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, row_masks = 1, wide_tokens = 128, wide_slots = 1024, strategy = wgmma_sp>
func.func @tile_wgmma_row_masks() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, row_masks = 1, wide_tokens = 128, wide_slots = 1024, strategy = wgmma_sp>} {
  return
}

// Masked rows on the persistent grid below the wide variant.
// CHECK-LABEL: func.func @tile_wgmma_masked_persistent_wide
// CHECK-SAME: t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, row_masks = 1, persistent = 1, wide_tokens = 128, wide_slots = 1024, strategy = wgmma_sp>
func.func @tile_wgmma_masked_persistent_wide() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, row_masks = 1, persistent = 1, wide_tokens = 128, wide_slots = 1024, strategy = wgmma_sp>} {
  return
}

// A grouped block order and a wide token tile round-trip; group_tiles = 1
// is the default and is not printed.
// CHECK-LABEL: func.func @ssmm_group_tile(
// CHECK:         samoyeds.ssmm %{{.*}}, %{{.*}}, %{{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 3, group_tiles = 8>}
// CHECK:         samoyeds.ssmm %{{.*}}, %{{.*}}, %{{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 3, wide_tokens = 64, wide_slots = 2048, group_tiles = 8>}
// CHECK:         samoyeds.ssmm %{{.*}}, %{{.*}}, %{{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 3>}
func.func @ssmm_group_tile(
    %w: tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
    %x: tensor<64x512xf16>, %offsets: tensor<5xi32>) -> tensor<64x256xf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 3, group_tiles = 8>}
      : (tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
         tensor<64x512xf16>, tensor<5xi32>) -> tensor<64x256xf16>
  %u = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 3, wide_tokens = 64, wide_slots = 2048, group_tiles = 8>}
      : (tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
         tensor<64x512xf16>, tensor<5xi32>) -> tensor<64x256xf16>
  %z = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 3, group_tiles = 1>}
      : (tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
         tensor<64x512xf16>, tensor<5xi32>) -> tensor<64x256xf16>
  return %z : tensor<64x256xf16>
}

// A persistent grid with a split-K variant and a decode tile round-trips.
// CHECK-LABEL: func.func @ssmm_persistent_tile(
// CHECK:         samoyeds.ssmm %{{.*}}, %{{.*}}, %{{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 3, split_k = 2, split_slots = 16, persistent = 3, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 8, decode_slots = 128>}
func.func @ssmm_persistent_tile(
    %w: tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
    %x: tensor<64x512xf16>, %offsets: tensor<5xi32>) -> tensor<64x256xf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 3, split_k = 2, split_slots = 16, persistent = 3, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 8, decode_slots = 128>}
      : (tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
         tensor<64x512xf16>, tensor<5xi32>) -> tensor<64x256xf16>
  return %y : tensor<64x256xf16>
}

// gather + silu_mul: the result has half the weight's rows.
// CHECK-LABEL: func.func @ssmm_gather_silu_mul(
// CHECK-SAME:    %[[W:[a-zA-Z0-9_]+]]: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x4096xbf16>,
// CHECK-SAME:    %[[OFF:[a-zA-Z0-9_]+]]: tensor<9xi32>,
// CHECK-SAME:    %[[TOK:[a-zA-Z0-9_]+]]: tensor<?xi32>)
// CHECK:         %[[H:.*]] = samoyeds.ssmm %[[W]], %[[X]], %[[OFF]] gather(%[[TOK]]) epilogue <silu_mul> : (tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x14336xbf16>
// CHECK:         return %[[H]]
func.func @ssmm_gather_silu_mul(
    %w: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %offsets: tensor<9xi32>, %tokens: tensor<?xi32>)
    -> tensor<?x14336xbf16> {
  %h = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <silu_mul>
      : (tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>)
      -> tensor<?x14336xbf16>
  return %h : tensor<?x14336xbf16>
}

// Static gather + silu_mul in f16 with every tile parameter at a bound.
// CHECK-LABEL: func.func @ssmm_silu_mul_static_tile(
// CHECK:         samoyeds.ssmm %{{.*}}, %{{.*}}, %{{.*}} gather(%{{.*}}) epilogue <silu_mul> {tile = #samoyeds.tile<warps = 16, tokens = 128, k = 256, stages = 8, token_warps = 2>} : (tensor<2x128x256xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<10x256xf16>, tensor<3xi32>, tensor<20xi32>) -> tensor<20x64xf16>
func.func @ssmm_silu_mul_static_tile(
    %w: tensor<2x128x256xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<10x256xf16>, %offsets: tensor<3xi32>, %tokens: tensor<20xi32>)
    -> tensor<20x64xf16> {
  %h = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <silu_mul>
      {tile = #samoyeds.tile<warps = 16, tokens = 128, k = 256, stages = 8, token_warps = 2>}
      : (tensor<2x128x256xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<10x256xf16>, tensor<3xi32>, tensor<20xi32>) -> tensor<20x64xf16>
  return %h : tensor<20x64xf16>
}

// combine + weighted_combine: the result is per token.
// CHECK-LABEL: func.func @ssmm_weighted_combine(
// CHECK-SAME:    %[[W:[a-zA-Z0-9_]+]]: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[H:[a-zA-Z0-9_]+]]: tensor<?x14336xbf16>,
// CHECK-SAME:    %[[OFF:[a-zA-Z0-9_]+]]: tensor<9xi32>,
// CHECK-SAME:    %[[RW:[a-zA-Z0-9_]+]]: tensor<?x2xf32>,
// CHECK-SAME:    %[[POS:[a-zA-Z0-9_]+]]: tensor<?x2xi32>)
// CHECK:         %[[Y:.*]] = samoyeds.ssmm %[[W]], %[[H]], %[[OFF]] combine(%[[RW]], %[[POS]]) epilogue <weighted_combine> {tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 1>} : (tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<?x14336xbf16>, tensor<9xi32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x4096xbf16>
// CHECK:         return %[[Y]]
func.func @ssmm_weighted_combine(
    %w: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %h: tensor<?x14336xbf16>, %offsets: tensor<9xi32>,
    %weights: tensor<?x2xf32>, %positions: tensor<?x2xi32>)
    -> tensor<?x4096xbf16> {
  %y = samoyeds.ssmm %w, %h, %offsets combine(%weights, %positions)
      epilogue <weighted_combine>
      {tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 1>}
      : (tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x14336xbf16>, tensor<9xi32>, tensor<?x2xf32>, tensor<?x2xi32>)
      -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

// Static weighted_combine in f16.
// CHECK-LABEL: func.func @ssmm_weighted_combine_static(
// CHECK:         samoyeds.ssmm %{{.*}}, %{{.*}}, %{{.*}} combine(%{{.*}}, %{{.*}}) epilogue <weighted_combine> : (tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>, tensor<64x1408xf16>, tensor<61xi32>, tensor<16x4xf32>, tensor<16x4xi32>) -> tensor<16x2048xf16>
func.func @ssmm_weighted_combine_static(
    %w: tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>,
    %h: tensor<64x1408xf16>, %offsets: tensor<61xi32>,
    %weights: tensor<16x4xf32>, %positions: tensor<16x4xi32>)
    -> tensor<16x2048xf16> {
  %y = samoyeds.ssmm %w, %h, %offsets combine(%weights, %positions)
      epilogue <weighted_combine>
      : (tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>,
         tensor<64x1408xf16>, tensor<61xi32>, tensor<16x4xf32>, tensor<16x4xi32>)
      -> tensor<16x2048xf16>
  return %y : tensor<16x2048xf16>
}

// Dynamic expert count: the offsets size is not checked.
// CHECK-LABEL: func.func @ssmm_dynamic_experts(
// CHECK:         samoyeds.ssmm %{{.*}}, %{{.*}}, %{{.*}} epilogue <none> : (tensor<?x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<?x128xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
func.func @ssmm_dynamic_experts(
    %w: tensor<?x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<?xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<?x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

//===----------------------------------------------------------------------===//
// Generic form
//===----------------------------------------------------------------------===//

// GENERIC-LABEL: sym_name = "moe_ffn_renormalize"}
// GENERIC:         "samoyeds.moe_ffn"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{activation = #samoyeds<activation silu>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0>, renormalize, routed_scaling_factor = 1.000000e+00 : f64, top_k = 2 : i64}>
// GENERIC-LABEL: sym_name = "route_dynamic"}
// GENERIC:         "samoyeds.route"(%{{.*}}, %{{.*}}) <{renormalize, routed_scaling_factor = 1.000000e+00 : f64, top_k = 2 : i64}>
// GENERIC-LABEL: sym_name = "dispatch_dynamic"}
// GENERIC:         "samoyeds.dispatch"(%{{.*}}) <{num_experts = 8 : i64}>
// GENERIC-LABEL: sym_name = "ssmm_gather_none"}
// GENERIC:         "samoyeds.ssmm"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{activation = #samoyeds<activation silu>, epilogue = #samoyeds.epilogue<none>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0>}>
// GENERIC-LABEL: sym_name = "ssmm_none_tile"}
// GENERIC:         "samoyeds.ssmm"(%{{.*}}, %{{.*}}, %{{.*}}) <{activation = #samoyeds<activation silu>, epilogue = #samoyeds.epilogue<none>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0>, tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2>}>
// GENERIC-LABEL: sym_name = "ssmm_gather_silu_mul"}
// GENERIC:         "samoyeds.ssmm"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{activation = #samoyeds<activation silu>, epilogue = #samoyeds.epilogue<silu_mul>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0>}>
// GENERIC-LABEL: sym_name = "ssmm_weighted_combine"}
// GENERIC:         "samoyeds.ssmm"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{activation = #samoyeds<activation silu>, epilogue = #samoyeds.epilogue<weighted_combine>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 1, 0>, tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 1>}>

// The warpgroup strategy: 256 tokens, with a split-K variant; mma_sp, the
// default, is not printed.
// CHECK-LABEL: func.func @ssmm_wgmma_tile(
// CHECK:         samoyeds.ssmm %{{.*}}, %{{.*}}, %{{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 8, tokens = 256, k = 128, stages = 3, split_k = 2, split_slots = 16, strategy = wgmma_sp>}
// CHECK-LABEL: func.func @ssmm_mma_sp_tile(
// CHECK:         samoyeds.ssmm %{{.*}}, %{{.*}}, %{{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2>}
func.func @ssmm_wgmma_tile(
    %w: tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
    %x: tensor<64x512xf16>, %offsets: tensor<5xi32>) -> tensor<64x256xf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      {tile = #samoyeds.tile<warps = 8, tokens = 256, k = 128, stages = 3, split_k = 2, split_slots = 16, strategy = wgmma_sp>}
      : (tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
         tensor<64x512xf16>, tensor<5xi32>) -> tensor<64x256xf16>
  return %y : tensor<64x256xf16>
}
func.func @ssmm_mma_sp_tile(
    %w: tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
    %x: tensor<64x512xf16>, %offsets: tensor<5xi32>) -> tensor<64x256xf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, strategy = mma_sp>}
      : (tensor<4x256x512xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
         tensor<64x512xf16>, tensor<5xi32>) -> tensor<64x256xf16>
  return %y : tensor<64x256xf16>
}

// The second wide width round-trips; 0 for both (one width) is omitted.
// CHECK-LABEL: func.func @tile_wide_low
// CHECK-SAME: t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_packed = 1, token_step = 32, wide_low_tokens = 160, wide_low_slots = 640, strategy = wgmma_sp>
// CHECK-SAME: u = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, strategy = wgmma_sp>
func.func @tile_wide_low() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_packed = 1, token_step = 32, wide_low_tokens = 160, wide_low_slots = 640, strategy = wgmma_sp>, u = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_low_tokens = 0, wide_low_slots = 0, strategy = wgmma_sp>} {
  return
}

// Masked wide rows round-trip; none (wide_row_masks = 0) is omitted.
// CHECK-LABEL: func.func @tile_wide_row_masks
// CHECK-SAME: t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, wide_tokens = 128, wide_slots = 1025, wide_low_tokens = 160, wide_low_slots = 2048, wide_row_masks = 1, strategy = wgmma_sp>
// CHECK-SAME: u = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 1025, strategy = wgmma_sp>
func.func @tile_wide_row_masks() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, wide_tokens = 128, wide_slots = 1025, wide_low_tokens = 160, wide_low_slots = 2048, wide_row_masks = 1, strategy = wgmma_sp>, u = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 1025, wide_row_masks = 0, strategy = wgmma_sp>} {
  return
}

// The second width's own warps and calls round-trip, with the pairs on the
// persistent grid; none (wide_low_warps = 0, no calls) is omitted.
// CHECK-LABEL: func.func @tile_wide_low_calls
// CHECK-SAME: t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_low_tokens = 112, wide_units = 2, wide_persistent = 1, wide_low_warps = 16, wide_low_calls = [257, 896, 1153, 1792], strategy = wgmma_sp>
// CHECK-SAME: u = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
func.func @tile_wide_low_calls() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_low_tokens = 112, wide_units = 2, wide_persistent = 1, wide_low_warps = 16, wide_low_calls = [257, 896, 1153, 1792], strategy = wgmma_sp>, u = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_units = 2, wide_persistent = 1, wide_low_warps = 0, strategy = wgmma_sp>} {
  return
}
