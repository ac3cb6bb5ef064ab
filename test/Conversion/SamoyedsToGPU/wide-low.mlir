// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// Two wide widths (wide_low_tokens = 160 up to wide_low_slots = 640): the
// wide variant's calls of 512-640 routed slots run the 160-token kernel
// (`_wide_low`, its ring three slots: six mbarriers), those above the
// 128-token one (four slots: eight), each after its own pack kernel over its
// own token tiles. The packed workspace holds the rows of both widths' first
// calls: three a slot for 160-token tiles from 512 slots (4 × 159 > 512).
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 512, wide_packed = 1, token_step = 32, wide_low_tokens = 160, wide_low_slots = 640, strategy = wgmma_sp>
// CHECK-LABEL: func.func @low
// CHECK-SAME: #samoyeds.buffer<"ws_low_ssmm_0_packed", workspace, bf16, [3, P, 256]>
// CHECK: #samoyeds.launch<@samoyeds_kernels::@low_ssmm_0 grid(2, token_tiles(P, 64, 4), 1) {{.*}} when(P in [0, 511])
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@low_ssmm_0_pack_low grid(2, token_tiles(P, 160, 4), 1) block(256, 1, 1) smem(0) args(buffer("x", 2, align 16), buffer("offsets", 4), buffer("tokens", 4), buffer("ws_low_ssmm_0_packed", 2, align 16)) when(P in [512, 640])
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@low_ssmm_0_wide_low grid(2, token_tiles(P, 160, 4), 1) block(384, 1, 1) smem({{[0-9]+}}) args(buffer("w.values", 4), buffer("w.meta", 4), buffer("w.row_idx", 1), buffer("ws_low_ssmm_0_packed", 2, align 16), buffer("offsets", 4), buffer("y", 2, align 4)) when(P in [512, 640])
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@low_ssmm_0_pack grid(2, token_tiles(P, 128, 4), 1) block(256, 1, 1) smem(0) {{[^>]*}} when(P in [641, ...])
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@low_ssmm_0_wide grid(2, token_tiles(P, 128, 4), 1) {{.*}} when(P in [641, ...])
// CHECK: gpu.func @low_ssmm_0_pack_low(
// CHECK: %[[BOUND:.*]] = arith.minsi %{{.*}}, %c160 : index
// CHECK: gpu.func @low_ssmm_0_wide_low(
// CHECK: builtin.unrealized_conversion_cast {{.*}} to !nvgpu.mbarrier.group<memorySpace = #gpu.address_space<workgroup>, num_barriers = 6>
// CHECK: samoyeds_nvgpu.wgmma_sp
// CHECK: gpu.func @low_ssmm_0_pack(
// CHECK: gpu.func @low_ssmm_0_wide(
// CHECK: builtin.unrealized_conversion_cast {{.*}} to !nvgpu.mbarrier.group<memorySpace = #gpu.address_space<workgroup>, num_barriers = 8>
func.func @low(%w: tensor<4x512x256xbf16, #ss> {samoyeds.name = "w"},
               %x: tensor<?x256xbf16> {samoyeds.name = "x"},
               %off: tensor<5xi32> {samoyeds.name = "offsets"},
               %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Unpacked slot rows into a weighted combine: both widths write the
// combine's slot-row workspace; no pack kernel, no packed workspace.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 512, token_step = 32, wide_low_tokens = 160, wide_low_slots = 640, strategy = wgmma_sp>
// CHECK-LABEL: func.func @low_slots
// CHECK-NOT: _packed
// CHECK: @low_slots_ssmm_0_wide_low grid(2, token_tiles(P, 160, 4), 1) {{[^>]*}} args(buffer("w.values", 4), buffer("w.meta", 4), buffer("w.row_idx", 1), buffer("h", 2, align 16), buffer("offsets", 4), buffer("ws_low_slots_ssmm_0", 2, align 4)) when(P in [512, 640])
// CHECK-SAME: @low_slots_ssmm_0_wide grid(2, token_tiles(P, 128, 4), 1) {{[^>]*}} buffer("ws_low_slots_ssmm_0", 2, align 4)) when(P in [641, ...])
// CHECK-NOT: _pack
// CHECK-SAME: @low_slots_ssmm_0_combine
func.func @low_slots(%w: tensor<4x512x256xbf16, #ss> {samoyeds.name = "w"},
                     %h: tensor<?x256xbf16> {samoyeds.name = "h"},
                     %off: tensor<5xi32> {samoyeds.name = "offsets"},
                     %rw: tensor<?x2xf32> {samoyeds.name = "weights"},
                     %pos: tensor<?x2xi32> {samoyeds.name = "positions"})
    -> (tensor<?x512xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}
