// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=1" | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s --check-prefix=PAIRS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-low-tokens=0" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=1 wide-low-tokens=150 wide-low-slots=170" | FileCheck %s --check-prefix=FORCED
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-masks=1" | FileCheck %s --check-prefix=NONE
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-low-tokens=264" 2>&1 | FileCheck %s --check-prefix=BAD-LOW
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-low-slots=0" 2>&1 | FileCheck %s --check-prefix=BAD-LOW-SLOTS

// The second wide width (docs/TileChoice.md): unmasked routed row selection
// on more than 8 experts takes 160 tokens per block for the wide variant's
// calls up to 160 routed slots per expert: Qwen3-235B's gate/up and down,
// DeepSeek-V2-Lite's gate/up; not Mixtral's (8 experts), plain 2:4 or
// masked rows. wide-low-tokens=0 turns it off; wide-low-tokens=150 (160
// rounded to 8) with wide-low-slots=170 asks for it on every shape where it
// fits, up to 170 slots per expert. These are the single units'
// (wide-units=1) widths: the default's unit pairs (select-tiles-wide-units.mlir)
// leave Qwen3-235B's gate/up and down 80 tokens from 128 slots per expert,
// and, as their paired blocks of one token tile an expert take more than
// five waves (768 and 1024 blocks for 132 SMs), early single units
// (session 56): the wide variant from 80 slots per expert (wide_slots =
// 10240), its single units of 128 tokens as the second width up to the
// pairs' 128 (wide_low_slots = 16384). DeepSeek-V2-Lite's gate/up, whose
// pairs would not fill a wave, keeps the 160-token width.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#p24 = #samoyeds.ss<n = 2, m = 2, v = 128>
// PAIRS-LABEL: func.func @qwen3_gate_up
// PAIRS: wide_tokens = 80, wide_slots = 10240, {{.*}}evict_first_experts = 37, wide_low_tokens = 128, wide_low_slots = 16384, wide_units = 2, strategy = wgmma_sp>
// PAIRS-LABEL: func.func @qwen3_down
// PAIRS: wide_tokens = 80, wide_slots = 10240, {{.*}}evict_first_experts = 74, wide_low_tokens = 128, wide_low_slots = 16384, wide_units = 2, strategy = wgmma_sp>
// PAIRS-LABEL: func.func @dsv2l_gate_up
// PAIRS: wide_tokens = 128, wide_slots = 8192, {{.*}}wide_low_tokens = 160, wide_low_slots = 10240, strategy = wgmma_sp>
// CHECK-LABEL: func.func @qwen3_gate_up
// CHECK: wide_tokens = 128, wide_slots = 16384, {{.*}}wide_low_tokens = 160, wide_low_slots = 20480, strategy = wgmma_sp>
// CHECK-LABEL: func.func @qwen3_down
// CHECK: wide_tokens = 128, wide_slots = 16384, {{.*}}wide_low_tokens = 160, wide_low_slots = 20480, strategy = wgmma_sp>
// CHECK-LABEL: func.func @dsv2l_gate_up
// CHECK: wide_tokens = 128, wide_slots = 8192, {{.*}}wide_low_tokens = 160, wide_low_slots = 10240, strategy = wgmma_sp>
// CHECK-LABEL: func.func @mixtral_gate_up
// CHECK-NOT: wide_low
// CHECK-LABEL: func.func @plain24_gate_up
// CHECK-NOT: wide_low
// CHECK: return
// NONE-LABEL: func.func @qwen3_gate_up
// NONE-NOT: wide_low
// NONE: return
// NONE-LABEL: func.func @qwen3_down
// NONE-NOT: wide_low
// NONE: return
// NONE-LABEL: func.func @dsv2l_gate_up
// NONE-NOT: wide_low
// NONE: return
// FORCED-LABEL: func.func @qwen3_gate_up
// FORCED: wide_low_tokens = 152, wide_low_slots = 21760,
// FORCED-LABEL: func.func @dsv2l_gate_up
// FORCED: wide_low_tokens = 152, wide_low_slots = 10880,
// FORCED-LABEL: func.func @plain24_gate_up
// FORCED-NOT: wide_low
// FORCED: return
// BAD-LOW: error: samoyeds-select-tiles: wide-low-tokens = 264 must be in [-1, 256]
// BAD-LOW-SLOTS: error: samoyeds-select-tiles: wide-low-slots (or -1) = 0 must be in [1, 1048576]
func.func @qwen3_gate_up(%w: tensor<128x3072x4096xbf16, #ss>, %x: tensor<?x4096xbf16>,
                         %off: tensor<129xi32>, %tok: tensor<?xi32>) -> tensor<?x1536xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<128x3072x4096xbf16, #ss>, tensor<?x4096xbf16>, tensor<129xi32>, tensor<?xi32>) -> tensor<?x1536xbf16>
  return %y : tensor<?x1536xbf16>
}
func.func @qwen3_down(%w: tensor<128x4096x1536xbf16, #ss>, %h: tensor<?x1536xbf16>,
                      %off: tensor<129xi32>) -> tensor<?x4096xbf16> {
  %y = samoyeds.ssmm %w, %h, %off epilogue <none>
      : (tensor<128x4096x1536xbf16, #ss>, tensor<?x1536xbf16>, tensor<129xi32>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
func.func @dsv2l_gate_up(%w: tensor<64x2816x2048xbf16, #ss>, %x: tensor<?x2048xbf16>,
                         %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x1408xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x2816x2048xbf16, #ss>, tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>) -> tensor<?x1408xbf16>
  return %y : tensor<?x1408xbf16>
}
func.func @mixtral_gate_up(%w: tensor<8x28672x4096xbf16, #ss>, %x: tensor<?x4096xbf16>,
                           %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x14336xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x28672x4096xbf16, #ss>, tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x14336xbf16>
  return %y : tensor<?x14336xbf16>
}
func.func @plain24_gate_up(%w: tensor<128x3072x4096xbf16, #p24>, %x: tensor<?x4096xbf16>,
                           %off: tensor<129xi32>, %tok: tensor<?xi32>) -> tensor<?x1536xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<128x3072x4096xbf16, #p24>, tensor<?x4096xbf16>, tensor<129xi32>, tensor<?xi32>) -> tensor<?x1536xbf16>
  return %y : tensor<?x1536xbf16>
}
