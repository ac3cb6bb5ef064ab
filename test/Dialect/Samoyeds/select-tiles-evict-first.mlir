// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a" | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a evict-first-experts=0" | FileCheck %s --check-prefix=OFF
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a evict-first-experts=5" | FileCheck %s --check-prefix=FORCED
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a strategy=mma_sp" | FileCheck %s --check-prefix=OFF
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="evict-first-experts=-2" 2>&1 | FileCheck %s --check-prefix=BAD

// evict_first_experts: the experts whose packed weights (about 9/8 byte per
// kept row and column) make at most five L2s (sm_90a: 50 MiB), at most the
// op's experts. Mixtral's gate/up, 1:2+2:4: 14336 x 4096 x 9/8 = 66 MB an
// expert, 3 of them; OLMoE's: 1024 x 2048 x 9/8 = 2.4 MB, all 64 (111
// would fit). The option forces a count; 0 and the mma_sp strategy, which
// has no such policy, leave it out.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
// CHECK-LABEL: func.func @mixtral
// CHECK: evict_first_experts = 3, wide_units = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @olmoe
// CHECK: evict_first_experts = 64, wide_units = 2, persistent_units = 2, persistent_units_slots = 5120, strategy = wgmma_sp>
// OFF-NOT: evict_first_experts
// FORCED-LABEL: func.func @mixtral
// FORCED: evict_first_experts = 5, wide_units = 2, strategy = wgmma_sp>
// FORCED-LABEL: func.func @olmoe
// FORCED: evict_first_experts = 5, wide_units = 2, persistent_units = 2, persistent_units_slots = 5120, strategy = wgmma_sp>
// BAD: samoyeds-select-tiles: evict-first-experts = -2 must be in [-1, 1048576]
func.func @mixtral(%w: tensor<8x28672x4096xbf16, #ss>, %x: tensor<?x4096xbf16>,
                   %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x14336xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x28672x4096xbf16, #ss>, tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>)
      -> tensor<?x14336xbf16>
  return %y : tensor<?x14336xbf16>
}
func.func @olmoe(%w: tensor<64x2048x2048xbf16, #ss>, %x: tensor<?x2048xbf16>,
                 %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x1024xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x2048x2048xbf16, #ss>, tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>)
      -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
