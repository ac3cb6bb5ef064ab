// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-unit-calls=0" | FileCheck %s --check-prefix=OFF
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-unit-calls=1" | samoyeds-opt | FileCheck %s --check-prefix=ON
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=1" | FileCheck %s --check-prefix=OFF
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-low-tokens=128" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="late-pairs=1" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-unit-calls=1 wide-packed=1" | FileCheck %s --check-prefix=NONE
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-unit-calls=2" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-unit-calls=-2" 2>&1 | FileCheck %s --check-prefix=BAD-LOW

// Plain 2:4's unit calls (`wide-unit-calls`, session 53): on one expert the
// wide variant keeps its unit pairs (144 tokens on two consumer warpgroups,
// the persistent grid) and single units (112 on the tile's four,
// `_wide_low`), and each call goes to the one of fewer token rounds,
// ceil(blocks / 132 SMs) x tokens, the pairs' divided by 1.1. Mixtral's down
// projection (16 row blocks either way): the wide variant from 513 tokens,
// where the ordinary grid's 64-token tiles (16 row blocks) would take more
// than one wave of 132 SMs; single units up to 896 tokens (8 tiles, 128
// blocks: one round of 112 against one of 144), pairs from 897 (9 tiles of 112 make 144
// blocks, two rounds; 7 of 144 make 112), single units again from 1153
// (9 tiles of 144 make 144 blocks, two rounds of 144 against two of 112)
// to 1792 ...
// CHECK-LABEL: func.func @one_expert_down
// CHECK: tile = #samoyeds.tile<warps = 16, {{.*}}wide_tokens = 144, wide_slots = 513, {{.*}}wide_warps = 8, {{.*}}wide_low_tokens = 112, wide_units = 2, wide_persistent = 1, wide_low_warps = 16, wide_low_calls = [513, 896, 1153, 1792, 2305, 2688, 3457, 3696, 5905, 6384, 7057, 7392, 8209, 8288], strategy = wgmma_sp>
// With the option off (or single units asked for) one width: single units,
// as before session 53, whose first call's pairs do not fill a wave.
// OFF-LABEL: func.func @one_expert_down
// OFF-NOT: wide_low
// OFF: wide_tokens = 112, wide_slots = 128,
// OFF-NOT: wide_low
// OFF-LABEL: func.func @eight_experts
// OFF-NOT: wide_low
// Where a second width, late pairs or a packed input are asked for, no
// calls.
// NONE-LABEL: func.func @one_expert_down
// NONE-NOT: wide_low_calls
// NONE-LABEL: func.func @eight_experts
// NONE-NOT: wide_low_calls
// NONE-LABEL: func.func @one_expert_rows
// NONE-NOT: wide_low_calls
// NONE-LABEL: func.func @eight_experts_rows
// NONE-NOT: wide_low_calls
// NONE: return
func.func @one_expert_down(
    %w: tensor<1x4096x14336xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
    %x: tensor<?x14336xbf16>, %off: tensor<2xi32>, %tok: tensor<?xi32>)
    -> tensor<?x4096xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<1x4096x14336xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
         tensor<?x14336xbf16>, tensor<2xi32>, tensor<?xi32>)
      -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

// Eight experts (Mixtral's layer): by default their pairs alone (the
// layers' kernels unchanged); `wide-unit-calls=1` weighs their calls too,
// each call's tiles taken with ceil(E/2) experts at mean + sigma and the
// rest at mean - sigma slots (sigma = sqrt(mean x 7 / 8), session 55):
// ranges from n x 8 + 1 to a multiple of 8 routed slots (but the first
// call's).
// CHECK-LABEL: func.func @eight_experts
// CHECK-NOT: wide_low
// CHECK: wide_tokens = 144, {{.*}}wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// ON-LABEL: func.func @eight_experts
// ON: wide_low_tokens = 112, wide_units = 2, wide_persistent = 1, wide_low_warps = 16, wide_low_calls = [512, 824, 1073, 1688, 2185, 2560, 3305, 3432, 5569, 6072, 6697, 6952], strategy = wgmma_sp>
func.func @eight_experts(
    %w: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
    %x: tensor<?x14336xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>)
    -> tensor<?x4096xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
         tensor<?x14336xbf16>, tensor<9xi32>, tensor<?xi32>)
      -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

// One expert's routed row selection (session 54): its unit pairs of 80
// tokens and single units of 128, both on two consumer warpgroups (no
// wide_low_warps), the wide variant from where the persistent grid takes
// more than one wave (8 row blocks: 1025); `wide-unit-calls=0` keeps single
// units.
// CHECK-LABEL: func.func @one_expert_rows
// CHECK-NOT: wide_low_warps
// CHECK: wide_tokens = 80, wide_slots = 1025,{{.*}} wide_low_tokens = 128, wide_units = 2, wide_low_calls = [1025, 2048, 2641, 4224, 5281, 6272, 7921, 8448], strategy
// OFF-LABEL: func.func @one_expert_rows
// OFF-NOT: wide_low
// OFF: wide_tokens = 128, wide_slots = 1025,
// OFF-NOT: wide_low
// OFF: return
func.func @one_expert_rows(
    %w: tensor<1x2048x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %off: tensor<2xi32>, %tok: tensor<?xi32>)
    -> tensor<?x2048xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<1x2048x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<2xi32>, tensor<?xi32>)
      -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}

// Six million experts: the ranges stop at the verifier's 2^30 slots (the
// tile reads back).
// ON-LABEL: func.func @many
// ON: wide_slots = 768000000, {{.*}}wide_low_calls = [936000001, 1073741824], strategy = wgmma_sp>
func.func @many(
    %w: tensor<6000000x4096x256xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
    %x: tensor<?x256xbf16>, %off: tensor<6000001xi32>, %tok: tensor<?xi32>)
    -> tensor<?x4096xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<6000000x4096x256xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
         tensor<?x256xbf16>, tensor<6000001xi32>, tensor<?xi32>)
      -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

// BAD: error: samoyeds-select-tiles: wide-unit-calls = 2 must be in [-1, 1]
// BAD-LOW: error: samoyeds-select-tiles: wide-unit-calls = -2 must be in [-1, 1]

// Routed row selection on more than one expert (`wide-unit-calls=1` since
// session 55, the default since session 56) gives its calls to pairs of 80
// tokens or single units of 128 on the same two warpgroups (the ordinary
// grid's four of this 8-expert tile are not the wide variant's), by the
// token rounds of the imbalanced spread above; `wide-unit-calls=0` keeps one
// width.
// CHECK-LABEL: func.func @eight_experts_rows
// CHECK: wide_tokens = 80, wide_slots = 512, {{.*}}wide_warps = 8, {{.*}}wide_low_tokens = 128, wide_units = 2, wide_low_calls = [512, 1936, 2433, 3936, 4937, 5944, 7457, 7960, 18209, 18792], strategy = wgmma_sp>
// OFF-LABEL: func.func @eight_experts_rows
// OFF-NOT: wide_low_calls
// OFF: return
// ON-LABEL: func.func @eight_experts_rows
// ON: wide_tokens = 80, wide_slots = 512, {{.*}}wide_warps = 8, {{.*}}wide_low_tokens = 128, wide_units = 2, wide_low_calls = [512, 1936, 2433, 3936, 4937, 5944, 7457, 7960, 18209, 18792], strategy = wgmma_sp>
func.func @eight_experts_rows(
    %w: tensor<8x2048x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>)
    -> tensor<?x2048xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<8x2048x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>)
      -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}

// More than eight experts of routed row selection (Qwen2-MoE's down
// projection): the wide variant's single units would take the second width
// of 160 tokens (kWideLowTokens) or pairs, so unit calls (the default and
// `wide-unit-calls=1`) leave its calls to one width each.
// CHECK-LABEL: func.func @sixty_four_experts_rows
// CHECK-NOT: wide_low_calls
// CHECK: return
// ON-LABEL: func.func @sixty_four_experts_rows
// ON-NOT: wide_low_calls
// ON: return
func.func @sixty_four_experts_rows(
    %w: tensor<64x3584x2560xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x2560xbf16>, %off: tensor<65xi32>, %tok: tensor<?xi32>)
    -> tensor<?x3584xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<64x3584x2560xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x2560xbf16>, tensor<65xi32>, tensor<?xi32>)
      -> tensor<?x3584xbf16>
  return %y : tensor<?x3584xbf16>
}
