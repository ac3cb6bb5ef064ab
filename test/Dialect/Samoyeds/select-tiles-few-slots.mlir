// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="few-slots=0" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-masks=1" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="few-slots=24" | FileCheck %s --check-prefix=FORCED
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="few-slots=5000" 2>&1 | FileCheck %s --check-prefix=BAD

// Four warpgroups for few slots (docs/TileChoice.md): unmasked routed row
// selection on more than 8 experts whose 64-row tiles divide among four
// consumer warpgroups runs the persistent grid's calls below 40 routed slots
// per expert with four warpgroups (persistent_warps = 16) and 48 tokens, the
// tile's two warpgroups above: Qwen3-235B's gate/up (12 tiles a half),
// DeepSeek-V2-Lite's down (16 tiles); not DeepSeek-V2-Lite's gate/up (11
// tiles a half), Mixtral's gate/up (8 experts: its own four-warpgroup rule
// keeps persistent_warps = 8), plain 2:4 or masked rows. few-slots=0 turns
// it off, few-slots=24 moves the bound to 24 slots per expert.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#p24 = #samoyeds.ss<n = 2, m = 2, v = 128>
// CHECK-LABEL: func.func @qwen3_gate_up
// CHECK: #samoyeds.tile<warps = 8, tokens = 64, {{.*}}persistent = 1, persistent_slots = 5120, persistent_tokens = 48, {{.*}}persistent_warps = 16,
// CHECK-LABEL: func.func @dsv2l_gate_up
// CHECK-NOT: persistent_warps
// CHECK-LABEL: func.func @dsv2l_down
// CHECK: #samoyeds.tile<warps = 8, tokens = 64, {{.*}}persistent = 1, persistent_slots = 2560, persistent_tokens = 48, {{.*}}persistent_warps = 16,
// CHECK-LABEL: func.func @mixtral_gate_up
// CHECK: persistent_slots = 512, persistent_tokens = 64, {{.*}}persistent_warps = 8,
// CHECK-LABEL: func.func @plain24_gate_up
// CHECK-NOT: persistent_warps
// CHECK: return
// NONE-LABEL: func.func @qwen3_gate_up
// NONE-NOT: persistent_warps
// NONE-LABEL: func.func @dsv2l_down
// NONE-NOT: persistent_warps
// NONE-LABEL: func.func @mixtral_gate_up
// FORCED-LABEL: func.func @qwen3_gate_up
// FORCED: persistent_slots = 3072, persistent_tokens = 48, {{.*}}persistent_warps = 16,
// FORCED-LABEL: func.func @dsv2l_down
// FORCED: persistent_slots = 1536, persistent_tokens = 48, {{.*}}persistent_warps = 16,
// BAD: error: samoyeds-select-tiles: few-slots = 5000 must be in [-1, 4096]
func.func @qwen3_gate_up(%w: tensor<128x3072x4096xbf16, #ss>, %x: tensor<?x4096xbf16>,
                         %off: tensor<129xi32>, %tok: tensor<?xi32>) -> tensor<?x1536xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<128x3072x4096xbf16, #ss>, tensor<?x4096xbf16>, tensor<129xi32>, tensor<?xi32>) -> tensor<?x1536xbf16>
  return %y : tensor<?x1536xbf16>
}
func.func @dsv2l_gate_up(%w: tensor<64x2816x2048xbf16, #ss>, %x: tensor<?x2048xbf16>,
                         %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x1408xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x2816x2048xbf16, #ss>, tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>) -> tensor<?x1408xbf16>
  return %y : tensor<?x1408xbf16>
}
func.func @dsv2l_down(%w: tensor<64x2048x1408xbf16, #ss>, %h: tensor<?x1408xbf16>,
                      %off: tensor<65xi32>) -> tensor<?x2048xbf16> {
  %y = samoyeds.ssmm %w, %h, %off epilogue <none>
      : (tensor<64x2048x1408xbf16, #ss>, tensor<?x1408xbf16>, tensor<65xi32>) -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
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
