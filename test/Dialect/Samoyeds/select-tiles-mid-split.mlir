// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_90a | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a mid-split-k=1" | FileCheck %s --check-prefix=OFF
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a mid-split-slots=200" | FileCheck %s --check-prefix=SLOTS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a mid-split-k=4" | FileCheck %s --check-prefix=FOUR
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a strategy=mma_sp" | FileCheck %s --check-prefix=MMASP
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="mid-split-k=17" 2>&1 | FileCheck %s --check-prefix=BAD-K
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="mid-split-slots=4097" 2>&1 | FileCheck %s --check-prefix=BAD-SLOTS

// The mid-size split-K variant: 2 slices for the calls above split_slots
// whose grid of 64-token tiles fits one wave (132 SMs on sm_90a).

// One expert of OLMoE's gate/up shape (epilogue none: 8 row blocks of 128
// kept rows): split_k = 4 up to 64 slots; 2 slices of 1024 columns up to
// 8 tiles = 512 slots (8 x 8 x 2 = 128 blocks).
// CHECK-LABEL: func.func @one_expert
// CHECK: split_k = 4, split_slots = 64,
// CHECK-SAME: mid_split_k = 2, mid_split_slots = 512
// OFF-LABEL: func.func @one_expert
// OFF-NOT: mid_split
// OFF: return
// SLOTS-LABEL: func.func @one_expert
// SLOTS: mid_split_k = 2, mid_split_slots = 200
// Four slices are not fewer than the split-K variant's four: none.
// FOUR-LABEL: func.func @one_expert
// FOUR-NOT: mid_split
// FOUR: return
// MMASP-NOT: mid_split
#enc = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @one_expert(%w: tensor<1x2048x2048xbf16, #enc>, %x: tensor<?x2048xbf16>,
                      %off: tensor<2xi32>, %tok: tensor<?xi32>) -> tensor<?x2048xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<1x2048x2048xbf16, #enc>, tensor<?x2048xbf16>, tensor<2xi32>, tensor<?xi32>) -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}

// Two experts of Mixtral's down shape (four consumer warpgroups on 2-8
// experts: 8 row blocks of 256 kept rows, 56-token tiles): one wave of the
// 2-slice grid holds 8 tiles, and P slots make at most 1 + ceil((P - 1) / 56)
// of them, so it takes P up to (8 - 2 + 1) x 56 + 1 = 393.
// CHECK-LABEL: func.func @two_experts
// CHECK: split_k = 8, split_slots = 256,
// CHECK-SAME: mid_split_k = 2, mid_split_slots = 393
func.func @two_experts(%w: tensor<2x4096x14336xbf16, #enc>, %x: tensor<?x14336xbf16>,
                       %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x4096xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<2x4096x14336xbf16, #enc>, tensor<?x14336xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

// The layers' shapes never take it: OLMoE's 64 experts (one wave holds 8
// tiles, fewer than the experts: 8 slots, below split_slots) ...
// CHECK-LABEL: func.func @many_experts
// CHECK-NOT: mid_split
// CHECK: return
func.func @many_experts(%w: tensor<64x2048x2048xbf16, #enc>, %x: tensor<?x2048xbf16>,
                        %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x1024xbf16> {
  %h = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x2048x2048xbf16, #enc>, tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %h : tensor<?x1024xbf16>
}

// ... nor a K whose two slices would be shorter than 1024 columns (OLMoE's
// down projection, K = 1024: split_k = 2 already).
// CHECK-LABEL: func.func @short_k
// CHECK-NOT: mid_split
// CHECK: return
func.func @short_k(%w: tensor<1x2048x1024xbf16, #enc>, %x: tensor<?x1024xbf16>,
                   %off: tensor<2xi32>, %tok: tensor<?xi32>) -> tensor<?x2048xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<1x2048x1024xbf16, #enc>, tensor<?x1024xbf16>, tensor<2xi32>, tensor<?xi32>) -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}
// BAD-K: samoyeds-select-tiles: mid-split-k = 17 must be in [0, 16]
// BAD-SLOTS: samoyeds-select-tiles: mid-split-slots = 4097 must be in [0, 4096]
