// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-packed=1" | FileCheck %s --check-prefix=PACK1
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-packed=1 wide-tokens=128" | FileCheck %s --check-prefix=PACK128
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=1 persistent-units=2 wide-packed=1" | FileCheck %s --check-prefix=PERS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=1 persistent-units=2" | FileCheck %s --check-prefix=PERS0

// The default of wide_packed (docs/TileChoice.md): none since session 51,
// every wide tile gathers its rows. wide-packed=1 packs every gathered input
// where the workspace's rows per slot hold its tiles.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#p24 = #samoyeds.ss<n = 2, m = 2, v = 128>
// CHECK-LABEL: func.func @olmoe_gate_up
// CHECK-NOT: wide_packed
// CHECK-LABEL: func.func @dsv2l_gate_up
// CHECK: wide_tokens = 128, wide_slots = 8192, token_step = 32,
// CHECK-NOT: wide_packed
// CHECK-LABEL: func.func @plain24_gate_up
// CHECK-NOT: wide_packed
// PACK1-LABEL: func.func @olmoe_gate_up
// PACK1: wide_tokens = 80, wide_slots = 8192, persistent_warps = 16, wide_packed = 1, token_step = 32,
// PACK1-LABEL: func.func @dsv2l_gate_up
// PACK1: wide_packed = 1, token_step = 32, evict_first_experts = 64, wide_low_tokens = 160, wide_low_slots = 10240, strategy = wgmma_sp>
// Plain 2:4's default wide tile (144 tokens from 64 routed slots per
// expert) would need four packed rows per slot, more than the workspace
// holds, so it reads gathered rows even where packing is asked for; 128
// tokens need three.
// PACK1-LABEL: func.func @plain24_gate_up
// PACK1: wide_tokens = 144
// PACK1-NOT: wide_packed
// PACK128-LABEL: func.func @plain24_gate_up
// PACK128: wide_tokens = 128, wide_slots = 512, wide_warps = 8, wide_packed = 1, evict_first_experts = 8, wide_units = 2, strategy = wgmma_sp>
// Without a wide variant (`persistent=1`: the persistent grid serves the
// large calls) packing asked for applies to the persistent grid's large
// calls: OLMoE's pairs of 80 tokens, DeepSeek-V2-Lite's single units of 128
// and plain 2:4's pairs of 128; none by default.
// PERS-LABEL: func.func @olmoe_gate_up
// PERS: persistent = 1, persistent_slots = 6144, persistent_tokens = 80, {{.*}}, wide_packed = 1, token_step = 32, {{.*}}, persistent_units = 2,
// PERS-LABEL: func.func @dsv2l_gate_up
// PERS: persistent = 1, persistent_slots = 6144, persistent_tokens = 128, {{.*}}, wide_packed = 1, token_step = 32,
// PERS-NOT: wide_tokens
// PERS-LABEL: func.func @plain24_gate_up
// PERS: persistent_tokens = 128, {{.*}}, wide_packed = 1, evict_first_experts = 8, persistent_units = 2,
// PERS0-NOT: wide_packed
func.func @olmoe_gate_up(%w: tensor<64x2048x2048xbf16, #ss>, %x: tensor<?x2048xbf16>,
                         %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x1024xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x2048x2048xbf16, #ss>, tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
func.func @dsv2l_gate_up(%w: tensor<64x2816x2048xbf16, #ss>, %x: tensor<?x2048xbf16>,
                         %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x1408xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x2816x2048xbf16, #ss>, tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>) -> tensor<?x1408xbf16>
  return %y : tensor<?x1408xbf16>
}
func.func @plain24_gate_up(%w: tensor<8x4096x1024xbf16, #p24>, %x: tensor<?x1024xbf16>,
                           %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x2048xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x4096x1024xbf16, #p24>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}
