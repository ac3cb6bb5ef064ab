// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent-units=-1" | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent-units=1" | FileCheck %s --check-prefix=OFF
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent-units=2" | FileCheck %s --check-prefix=ALL --implicit-check-not=persistent_units_slots
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-masks=1" | FileCheck %s --check-prefix=OFF
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-slots=80" | FileCheck %s --check-prefix=NARROW-WIDE
// RUN: samoyeds-opt %s --samoyeds-select-tiles | samoyeds-opt | FileCheck %s

// The persistent grid's unit pairs by default (persistent-units=-1, session
// 55): SiLU·up's upper grid (two consumer warpgroups above the four-
// warpgroup grid of fewer than 40 routed slots per expert) pairs its gate
// and up units from 80 routed slots per expert
// (kPersistentPairsSlotsPerExpert: persistent_units_slots = 80 x E) where
// its paired blocks of one token tile an expert take at most five waves of
// 132 SMs (kPersistentPairsMaxWaves): OLMoE (256 blocks) and Qwen2-MoE
// (640), not Qwen3-235B (768) or DeepSeek-V2 (960); never the down
// projection.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
// CHECK-LABEL: func.func @olmoe_gate_up
// CHECK: persistent_slots = 2560, {{.*}}persistent_warps = 16, {{.*}}persistent_units = 2, persistent_units_slots = 5120, strategy = wgmma_sp>
// CHECK-LABEL: func.func @qwen2_gate_up
// CHECK: persistent_slots = 2560, {{.*}}persistent_units = 2, persistent_units_slots = 5120, strategy = wgmma_sp>
// CHECK-LABEL: func.func @qwen3_gate_up
// CHECK-NOT: persistent_units
// CHECK: return
// CHECK-LABEL: func.func @dsv2_gate_up
// CHECK-NOT: persistent_units
// CHECK: return
// CHECK-LABEL: func.func @olmoe_down
// CHECK-NOT: persistent_units
// CHECK: return
// OFF-NOT: persistent_units
// persistent-units=2 pairs every call of the persistent grid's
// two-warpgroup variants that allow them (no persistent_units_slots),
// the down projection's and Qwen3-235B's too.
// ALL-LABEL: func.func @olmoe_gate_up
// ALL: persistent_units = 2, strategy = wgmma_sp>
// ALL-LABEL: func.func @qwen3_gate_up
// ALL: persistent_units = 2, strategy = wgmma_sp>
// ALL-LABEL: func.func @olmoe_down
// ALL: persistent_units = 2, strategy = wgmma_sp>
// A wide variant from 80 slots per expert leaves the upper grid no calls
// to pair.
// NARROW-WIDE-NOT: persistent_units
func.func @olmoe_gate_up(%w: tensor<64x2048x2048xbf16, #ss>, %x: tensor<?x2048xbf16>,
                         %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x1024xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x2048x2048xbf16, #ss>, tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>)
      -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
func.func @qwen2_gate_up(%w: tensor<64x5120x3584xbf16, #ss>, %x: tensor<?x3584xbf16>,
                         %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x2560xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x5120x3584xbf16, #ss>, tensor<?x3584xbf16>, tensor<65xi32>, tensor<?xi32>)
      -> tensor<?x2560xbf16>
  return %y : tensor<?x2560xbf16>
}
func.func @qwen3_gate_up(%w: tensor<128x3072x4096xbf16, #ss>, %x: tensor<?x4096xbf16>,
                         %off: tensor<129xi32>, %tok: tensor<?xi32>) -> tensor<?x1536xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<128x3072x4096xbf16, #ss>, tensor<?x4096xbf16>, tensor<129xi32>, tensor<?xi32>)
      -> tensor<?x1536xbf16>
  return %y : tensor<?x1536xbf16>
}
func.func @dsv2_gate_up(%w: tensor<160x3072x5120xbf16, #ss>, %x: tensor<?x5120xbf16>,
                        %off: tensor<161xi32>, %tok: tensor<?xi32>) -> tensor<?x1536xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<160x3072x5120xbf16, #ss>, tensor<?x5120xbf16>, tensor<161xi32>, tensor<?xi32>)
      -> tensor<?x1536xbf16>
  return %y : tensor<?x1536xbf16>
}
func.func @olmoe_down(%w: tensor<64x2048x1024xbf16, #ss>, %x: tensor<?x1024xbf16>,
                      %off: tensor<65xi32>) -> tensor<?x2048xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none>
      : (tensor<64x2048x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<65xi32>)
      -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}
