// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | grep -c "gpu.func @calls_ssmm_0_wide" | FileCheck %s --check-prefix=COUNT

// A second width with calls of its own (wide_low_calls): `_wide_low` in
// each range, `_wide` between and above, each one kernel launched under
// several bounds. The ranges are cut at the wide variant's first call,
// here past the split-K variant's 200 slots: [128, 190] goes, `_wide`
// takes 201-229.
#ss = #samoyeds.ss<n = 2, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, split_k = 2, split_slots = 200, wide_tokens = 144, wide_slots = 128, wide_warps = 8, wide_low_tokens = 112, wide_units = 2, wide_persistent = 1, wide_low_warps = 16, wide_low_calls = [128, 190, 230, 300, 400, 500], strategy = wgmma_sp>
// CHECK-LABEL: func.func @calls
// CHECK-NOT: _wide_low {{.*}} when(P in [128,
// CHECK: @calls_ssmm_0_wide grid(per_sm(1), 1, 1) block(384, 1, 1) {{.*}} when(P in [201, 229])
// CHECK-SAME: @calls_ssmm_0_wide_low grid(1, token_tiles(P, 112, 1), 1) block(640, 1, 1) {{.*}} when(P in [230, 300])
// CHECK-SAME: @calls_ssmm_0_wide grid(per_sm(1), 1, 1) block(384, 1, 1) {{.*}} when(P in [301, 399])
// CHECK-SAME: @calls_ssmm_0_wide_low grid(1, token_tiles(P, 112, 1), 1) block(640, 1, 1) {{.*}} when(P in [400, 500])
// CHECK-SAME: @calls_ssmm_0_wide grid(per_sm(1), 1, 1) block(384, 1, 1) {{.*}} when(P in [501, ...])
// CHECK-DAG: gpu.func @calls_ssmm_0_wide(
// CHECK-DAG: gpu.func @calls_ssmm_0_wide_low(
// Each kernel once: two wide functions in all.
// COUNT: 2
func.func @calls(%w: tensor<1x256x256xbf16, #ss> {samoyeds.name = "w"},
                 %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                 %off: tensor<2xi32> {samoyeds.name = "offsets"},
                 %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<1x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
