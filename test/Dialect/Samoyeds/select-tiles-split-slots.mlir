// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_90a | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a split-slots=8" | FileCheck %s --check-prefix=SLOTS8
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="split-slots=4097" 2>&1 | FileCheck %s --check-prefix=BAD-SLOTS

// split-slots overrides how many routed slots the split-K variant takes
// (DeepSeek-V2's gate/up: split_k = 8 for at most 2 slots by the two-wave
// rule; forced 8 it takes the T = 1 call, 6 slots — H200 0.87x, bench/RESULTS.md
// S26); a tile without a split-K variant gets none.
// CHECK-LABEL: func.func @gate_up
// CHECK: split_k = 8, split_slots = 2,
// SLOTS8-LABEL: func.func @gate_up
// SLOTS8: split_k = 8, split_slots = 8,
// BAD-SLOTS: samoyeds-select-tiles: split-slots = 4097 must be in [0, 4096]
#enc = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @gate_up(%w: tensor<160x3072x5120xbf16, #enc>, %x: tensor<?x5120xbf16>,
                   %off: tensor<161xi32>, %tok: tensor<?xi32>) -> tensor<?x1536xbf16> {
  %h = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<160x3072x5120xbf16, #enc>, tensor<?x5120xbf16>, tensor<161xi32>, tensor<?xi32>) -> tensor<?x1536xbf16>
  return %h : tensor<?x1536xbf16>
}
