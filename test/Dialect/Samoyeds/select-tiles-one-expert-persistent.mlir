// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-slots=128" | FileCheck %s --check-prefix=ASKED
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=0" | FileCheck %s --check-prefix=ASKED
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-masks=1" | FileCheck %s --check-prefix=ASKED
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-unit-calls=0" | FileCheck %s --check-prefix=SINGLE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="warpgroups=1" | FileCheck %s --check-prefix=WG1

// One expert's routed row selection (session 54): the persistent grid
// serves the calls below the wide variant, and the wide variant starts where
// that grid's 64-token tiles would take more than one wave of 132 SMs,
// 64 x floor(132 / row blocks) + 1 routed slots, at least 128 (row blocks
// of 128 kept rows: two consumer warpgroups).
// The wide variant's calls then go to unit pairs (80 tokens, 256 kept rows
// a block) or single units (`_wide_low`: 128 tokens, 128 rows) by token
// rounds weighted by a block's rows, ceil(blocks / 132) x tokens x rows,
// the pairs' divided by 1.1 (`wide-unit-calls=0`: single units only).
// Qwen2-MoE's gate/up as one expert, 1:2: 2560 kept rows, 20 row blocks,
// six tiles of 64 a wave: the wide variant from 385; single units up to 768
// (6 tiles of 128 make 120 blocks, one round: 128 x 128 against pairs' 10
// tiles, 100 blocks, one round of 80 x 256 / 1.1), pairs from 769 (7 tiles
// make 140 blocks, two rounds).
// CHECK-LABEL: func.func @qwen2_gate_up(
// CHECK: persistent = 1,{{.*}} wide_tokens = 80, wide_slots = 385,{{.*}} wide_low_tokens = 128, wide_units = 2, wide_low_calls = [385, 768, 1041, 1664, 2081, 2432, 3121, 3328, 4161, 4224, 7361, 7552, 8401, 8448], strategy = wgmma_sp>
// A gate/up projection with SiLU·up (two halves; a block's two consumer
// warpgroups take the gate and up units of the same 64 rows): the same
// row blocks, start and calls.
// CHECK-LABEL: func.func @qwen2_gate_up_silu
// CHECK: wide_tokens = 80, wide_slots = 385,{{.*}} wide_low_calls = [385, 768, 1041, 1664,
// DeepSeek-V2-Lite's down projection: 1024 kept rows, 8 row blocks: from 1025.
// CHECK-LABEL: func.func @deepseek_v2l_down
// CHECK: persistent = 1,{{.*}} wide_tokens = 80, wide_slots = 1025,{{.*}} wide_low_calls = [1025, 2048, 2641, 4224, 5281, 6272, 7921, 8448],
// Mixtral's gate/up: 14336 kept rows, 112 row blocks; one tile of 64 tokens
// already fills the chip: the default start, 128, and its pairs alone (they
// fill a wave at the first call).
// CHECK-LABEL: func.func @mixtral_gate_up
// CHECK-NOT: wide_low
// CHECK: wide_tokens = 80, wide_slots = 128,{{.*}} wide_units = 2, strategy
// SINGLE-LABEL: func.func @qwen2_gate_up(
// SINGLE-NOT: wide_low
// SINGLE: wide_tokens = 128, wide_slots = 385,
// SINGLE-NOT: wide_low
// SINGLE-LABEL: func.func @deepseek_v2l_down
// Plain 2:4 keeps its own rule (its unit calls), eight experts the layers'.
// CHECK-LABEL: func.func @plain_down
// CHECK: wide_slots = 513,
// CHECK-LABEL: func.func @eight_experts
// CHECK: wide_slots = 512,

// With the consumer warpgroups forced to one (`warpgroups=1`) neither rule
// (both widths would not share the tile's warpgroups).
// (SiLU·up keeps its two warpgroups, gate and up, and both rules.)
// WG1-LABEL: func.func @qwen2_gate_up(
// WG1-NOT: wide_low
// WG1: warps = 4,{{.*}} wide_slots = 128,
// WG1-NOT: wide_low
// WG1-LABEL: func.func @qwen2_gate_up_silu
// WG1: warps = 8,{{.*}} wide_slots = 385,{{.*}} wide_low_calls = [385,
// WG1-LABEL: func.func @deepseek_v2l_down
// WG1-NOT: wide_low
// WG1: warps = 4,{{.*}} wide_slots = 128,
// WG1-NOT: wide_low
// WG1-LABEL: func.func @mixtral_gate_up
// With `wide-slots` or `persistent` asked for, or masked rows: no such
// start (the calls still go to either width where `wide-slots` is asked).
// ASKED-LABEL: func.func @qwen2_gate_up(
// ASKED: wide_slots = 128,
// ASKED-LABEL: func.func @deepseek_v2l_down
// ASKED: wide_slots = 128,
func.func @qwen2_gate_up(
    %w: tensor<1x5120x3584xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x3584xbf16>, %off: tensor<2xi32>, %tok: tensor<?xi32>)
    -> tensor<?x5120xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<1x5120x3584xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x3584xbf16>, tensor<2xi32>, tensor<?xi32>)
      -> tensor<?x5120xbf16>
  return %y : tensor<?x5120xbf16>
}

func.func @qwen2_gate_up_silu(
    %w: tensor<1x5120x3584xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x3584xbf16>, %off: tensor<2xi32>, %tok: tensor<?xi32>)
    -> tensor<?x2560xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<1x5120x3584xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x3584xbf16>, tensor<2xi32>, tensor<?xi32>)
      -> tensor<?x2560xbf16>
  return %y : tensor<?x2560xbf16>
}

func.func @deepseek_v2l_down(
    %w: tensor<1x2048x1408xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x1408xbf16>, %off: tensor<2xi32>, %tok: tensor<?xi32>)
    -> tensor<?x2048xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<1x2048x1408xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x1408xbf16>, tensor<2xi32>, tensor<?xi32>)
      -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}

func.func @mixtral_gate_up(
    %w: tensor<1x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %off: tensor<2xi32>, %tok: tensor<?xi32>)
    -> tensor<?x28672xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<1x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<2xi32>, tensor<?xi32>)
      -> tensor<?x28672xbf16>
  return %y : tensor<?x28672xbf16>
}

func.func @plain_down(
    %w: tensor<1x4096x14336xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
    %x: tensor<?x14336xbf16>, %off: tensor<2xi32>, %tok: tensor<?xi32>)
    -> tensor<?x4096xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<1x4096x14336xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
         tensor<?x14336xbf16>, tensor<2xi32>, tensor<?xi32>)
      -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

func.func @eight_experts(
    %w: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x14336xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>)
    -> tensor<?x4096xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x14336xbf16>, tensor<9xi32>, tensor<?xi32>)
      -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
