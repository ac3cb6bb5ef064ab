// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-slots=128" | FileCheck %s --check-prefix=ASKED
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=0" | FileCheck %s --check-prefix=ASKED
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-masks=1" | FileCheck %s --check-prefix=ASKED

// One expert's routed row selection (session 54): the persistent grid
// serves the calls below the wide variant, and the wide variant starts where
// that grid's 64-token tiles would take more than one wave of 132 SMs,
// 64 x floor(132 / row blocks) + 1 routed slots, at least 128 (row blocks
// of 128 kept rows: two consumer warpgroups).
// Qwen2-MoE's gate/up as one expert, 1:2: 2560 kept rows, 20 row blocks,
// six tiles of 64 a wave: the wide variant from 385.
// CHECK-LABEL: func.func @qwen2_gate_up
// CHECK: persistent = 1,{{.*}} wide_tokens = 128, wide_slots = 385,
// DeepSeek-V2-Lite's down projection: 1024 kept rows, 8 row blocks: from 1025.
// CHECK-LABEL: func.func @deepseek_v2l_down
// CHECK: persistent = 1,{{.*}} wide_tokens = 128, wide_slots = 1025,
// Mixtral's gate/up: 14336 kept rows, 112 row blocks; one tile of 64 tokens
// already fills the chip: the default start, 128.
// CHECK-LABEL: func.func @mixtral_gate_up
// CHECK: wide_slots = 128,
// Plain 2:4 keeps its own rule (its unit calls), eight experts the layers'.
// CHECK-LABEL: func.func @plain_down
// CHECK: wide_slots = 513,
// CHECK-LABEL: func.func @eight_experts
// CHECK: wide_slots = 512,

// With `wide-slots` or `persistent` asked for, or masked rows: no such rule.
// ASKED-LABEL: func.func @qwen2_gate_up
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
