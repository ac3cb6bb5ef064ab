// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-slots=128" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=2" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-low-tokens=0" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="late-pairs=1" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-persistent=1" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-packed=1" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-masks=1" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-low-slots=160" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-multicast=2" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=0" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="few-slots=100" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-unit-calls=0" | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles | samoyeds-opt | FileCheck %s

// Early single units (session 56): unmasked routed row selection on more
// than 8 experts whose paired blocks of one token tile an expert take more
// than five waves of 132 SMs starts its wide variant at 80 routed slots per
// expert (wide_slots) and gives the calls up to the pairs' start, 128 slots
// per expert (wide_low_slots), to its single units of 128 tokens
// (wide_low_tokens): one token tile an expert where the persistent grid's
// 64-token tiles made two. DeepSeek-V2's gate/up (160 experts x 24 64-row
// tiles / 4 = 960 paired blocks, 7.3 waves) and down projection (1600,
// 12.1) take it; Qwen2-MoE's gate/up (640 blocks, 4.8 waves), OLMoE's
// (256, 1.9), Mixtral's (8 experts) and plain 2:4 do not. Any explicit wide
// start, width, units, second width or its bound, late pairs, multicast,
// wide persistent grid, packed input, `persistent`, few-slot bound or masked
// rows turns it off; `wide-unit-calls=0` does not (unit calls and early
// single units are separate rules).
// CHECK-LABEL: func.func @dsv2_gate_up
// CHECK: wide_tokens = 80, wide_slots = 12800, {{.*}}wide_low_tokens = 128, wide_low_slots = 20480, wide_units = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @dsv2_down
// CHECK: wide_tokens = 80, wide_slots = 12800, {{.*}}wide_low_tokens = 128, wide_low_slots = 20480, wide_units = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @qwen2_gate_up
// CHECK: wide_tokens = 80, wide_slots = 8192,
// CHECK-NOT: wide_low
// CHECK: return
// CHECK-LABEL: func.func @olmoe_gate_up
// CHECK: wide_tokens = 80, wide_slots = 8192,
// CHECK-NOT: wide_low
// CHECK: return
// CHECK-LABEL: func.func @mixtral_gate_up
// CHECK-NOT: wide_low
// CHECK: return
// CHECK-LABEL: func.func @plain24_dsv2_gate_up
// CHECK-NOT: wide_low
// CHECK: return
// NONE-LABEL: func.func @dsv2_gate_up
// NONE-NOT: wide_low_tokens = 128
// NONE: return
// NONE-LABEL: func.func @dsv2_down
// NONE-NOT: wide_low_tokens = 128
// NONE: return
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#p24 = #samoyeds.ss<n = 2, m = 2, v = 128>
func.func @dsv2_gate_up(%w: tensor<160x3072x5120xbf16, #ss>, %x: tensor<?x5120xbf16>,
                        %off: tensor<161xi32>, %tok: tensor<?xi32>) -> tensor<?x1536xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<160x3072x5120xbf16, #ss>, tensor<?x5120xbf16>, tensor<161xi32>, tensor<?xi32>) -> tensor<?x1536xbf16>
  return %y : tensor<?x1536xbf16>
}
func.func @dsv2_down(%w: tensor<160x5120x1536xbf16, #ss>, %h: tensor<?x1536xbf16>,
                     %off: tensor<161xi32>) -> tensor<?x5120xbf16> {
  %y = samoyeds.ssmm %w, %h, %off epilogue <none>
      : (tensor<160x5120x1536xbf16, #ss>, tensor<?x1536xbf16>, tensor<161xi32>) -> tensor<?x5120xbf16>
  return %y : tensor<?x5120xbf16>
}
func.func @qwen2_gate_up(%w: tensor<64x5120x3584xbf16, #ss>, %x: tensor<?x3584xbf16>,
                         %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x2560xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x5120x3584xbf16, #ss>, tensor<?x3584xbf16>, tensor<65xi32>, tensor<?xi32>) -> tensor<?x2560xbf16>
  return %y : tensor<?x2560xbf16>
}
func.func @olmoe_gate_up(%w: tensor<64x2048x2048xbf16, #ss>, %x: tensor<?x2048xbf16>,
                         %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x1024xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x2048x2048xbf16, #ss>, tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
func.func @mixtral_gate_up(%w: tensor<8x28672x4096xbf16, #ss>, %x: tensor<?x4096xbf16>,
                           %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x14336xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x28672x4096xbf16, #ss>, tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x14336xbf16>
  return %y : tensor<?x14336xbf16>
}
func.func @plain24_dsv2_gate_up(%w: tensor<160x3072x5120xbf16, #p24>, %x: tensor<?x5120xbf16>,
                                %off: tensor<161xi32>, %tok: tensor<?xi32>) -> tensor<?x1536xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<160x3072x5120xbf16, #p24>, tensor<?x5120xbf16>, tensor<161xi32>, tensor<?xi32>) -> tensor<?x1536xbf16>
  return %y : tensor<?x1536xbf16>
}
