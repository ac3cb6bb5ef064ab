// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s --check-prefix=DEF
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-row-masks=0" | FileCheck %s --check-prefix=DEF
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-row-masks=1" | samoyeds-opt | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-row-masks=1 row-masks=1" | FileCheck %s --check-prefix=ALL
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-row-masks=1 wide-cluster=2" 2>&1 | FileCheck %s --check-prefix=CLUSTER
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-row-masks=2" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-row-masks=-2" 2>&1 | FileCheck %s --check-prefix=BAD-LOW

// Masked wide rows (`wide-row-masks=1`): routed row selection's wide widths
// multiply masked group rows, single units of 128 tokens (two sets of 64
// accumulators in 160 registers; m = 4's four sets 80), from where the
// routed wide variant would start: Mixtral's 8 experts at 64 routed slots per expert (512), one
// expert after its persistent grid's wave (577 for a 3584-row down
// projection: 28 row blocks, 4 a wave of 132 SMs, 64 tokens each). No unit
// pairs, unit calls or second width; the decode, split-K, persistent and
// ordinary grids keep routing (row_masks = 0, token steps). Plain 2:4 and
// m = 3 (a thread's two rows in two groups) are never masked; with
// `row-masks=1` every variant is masked already.
// CHECK-LABEL: func.func @mixtral_gate_up
// CHECK: tile = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, split_k = 2, split_slots = 1, persistent = 1, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 16, decode_slots = 64, decode_warps = 8, split_blocks = 2, shared_slots = 2, wide_tokens = 128, wide_slots = 512, group_tiles = 16, wide_warps = 8, persistent_warps = 8, token_step = 32, evict_first_experts = 3, wide_row_masks = 1, strategy = wgmma_sp>
// CHECK-LABEL: func.func @one_expert_down
// CHECK: tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 5, split_slots = 64, persistent = 1, decode_tokens = 16, decode_slots = 8, wide_tokens = 128, wide_slots = 577, token_step = 32, mid_split_k = 2, mid_split_slots = 256, evict_first_experts = 1, wide_row_masks = 1, strategy = wgmma_sp>
// CHECK-LABEL: func.func @v128_gate_up
// CHECK: wide_tokens = 128, {{.*}}wide_row_masks = 1, strategy = wgmma_sp>
// CHECK-LABEL: func.func @plain24
// CHECK-NOT: wide_row_masks
// CHECK: return
// CHECK-LABEL: func.func @m3
// CHECK-NOT: wide_row_masks
// CHECK: return
// CHECK-LABEL: func.func @m4
// CHECK: wide_tokens = 80, {{.*}}wide_row_masks = 1
//
// DEF-LABEL: func.func @mixtral_gate_up
// DEF-NOT: wide_row_masks
// DEF: wide_tokens = 80, {{.*}}wide_units = 2,
// DEF-NOT: wide_row_masks
// DEF: return
// DEF-LABEL: func.func @one_expert_down
// DEF-NOT: wide_row_masks
// DEF: wide_low_calls
// DEF-NOT: wide_row_masks
// DEF: return
//
// ALL-LABEL: func.func @mixtral_gate_up
// ALL: stages = 6, row_masks = 1,
// ALL-NOT: wide_row_masks
// ALL: return
//
// CLUSTER: error: 'samoyeds.ssmm' op samoyeds-select-tiles: #samoyeds.tile: wide_row_masks = 1 must be 0, or 1 with wide_tokens > 0, row_masks = 0, wide_units = 1, wide_cluster = 1,
// BAD: samoyeds-select-tiles: wide-row-masks = 2 must be in [-1, 1]
// BAD-LOW: samoyeds-select-tiles: wide-row-masks = -2 must be in [-1, 1]
#v32 = #samoyeds.ss<n = 1, m = 2, v = 32>
#v128 = #samoyeds.ss<n = 1, m = 2, v = 128>
#p24 = #samoyeds.ss<n = 2, m = 2, v = 128>
#m3 = #samoyeds.ss<n = 1, m = 3, v = 32>
#m4 = #samoyeds.ss<n = 1, m = 4, v = 32>
func.func @mixtral_gate_up(%w: tensor<8x28672x4096xbf16, #v32>, %x: tensor<?x4096xbf16>,
                           %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x14336xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x28672x4096xbf16, #v32>, tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x14336xbf16>
  return %y : tensor<?x14336xbf16>
}
func.func @one_expert_down(%w: tensor<1x3584x2560xbf16, #v32>, %x: tensor<?x2560xbf16>,
                           %off: tensor<2xi32>, %tok: tensor<?xi32>) -> tensor<?x3584xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<1x3584x2560xbf16, #v32>, tensor<?x2560xbf16>, tensor<2xi32>, tensor<?xi32>) -> tensor<?x3584xbf16>
  return %y : tensor<?x3584xbf16>
}
func.func @v128_gate_up(%w: tensor<64x2048x2048xbf16, #v128>, %x: tensor<?x2048xbf16>,
                        %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x1024xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x2048x2048xbf16, #v128>, tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
func.func @plain24(%w: tensor<8x4096x1024xbf16, #p24>, %x: tensor<?x1024xbf16>,
                   %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x4096xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<8x4096x1024xbf16, #p24>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
func.func @m3(%w: tensor<8x6144x1024xbf16, #m3>, %x: tensor<?x1024xbf16>,
              %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x6144xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<8x6144x1024xbf16, #m3>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x6144xbf16>
  return %y : tensor<?x6144xbf16>
}
func.func @m4(%w: tensor<8x8192x1024xbf16, #m4>, %x: tensor<?x1024xbf16>,
              %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x8192xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<8x8192x1024xbf16, #m4>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x8192xbf16>
  return %y : tensor<?x8192xbf16>
}
