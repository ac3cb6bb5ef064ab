// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// Unit pairs (wide_units = 2) on a 1:2 gate/up matmul: the wide variant keeps
// two consumer warpgroups (384 threads) but covers 128 kept rows of each half
// a block (2 row blocks of the 4 64-row tiles a half, where one unit each
// would take 4), 80 tokens. Its empty barriers count the 256 consumer
// threads; a stage's group holds both units' MMAs, which read the same
// token rows (B descriptors) with each unit's own weights (A descriptors),
// and one wait orders both units' sums. The warpgroup forms SiLU·up of its
// gate and up sums in registers: no consumer barrier, no exchange. The
// ordinary grid keeps one unit a warpgroup.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 80, wide_slots = 512, wide_units = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @pairs
// CHECK: #samoyeds.launch<@samoyeds_kernels::@pairs_ssmm_0 grid(4, token_tiles(P, 64, 4), 1) block(384, 1, 1)
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@pairs_ssmm_0_wide grid(2, token_tiles(P, 80, 4), 1) block(384, 1, 1)
// CHECK: gpu.func @pairs_ssmm_0(
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// CHECK: gpu.func @pairs_ssmm_0_wide(
// CHECK: nvgpu.mbarrier.init %[[BARS:.*]][%c4], %c256,
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: %[[G0:.*]] = samoyeds_nvgpu.wgmma_sp %{{.*}}, %[[GA:.*]], %[[B0:.*]], %{{.*}}, %false {element = bf16, n = 80 : i64}
// CHECK-COUNT-3: samoyeds_nvgpu.wgmma_sp
// CHECK-NEXT: %[[U0:.*]] = samoyeds_nvgpu.wgmma_sp %{{.*}}, %[[UA:.*]], %[[B0]], %{{.*}}, %false {element = bf16, n = 80 : i64}
// CHECK-COUNT-3: samoyeds_nvgpu.wgmma_sp
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK: samoyeds_nvgpu.wgmma_wait %{{.*}}, %{{.*}} {pending = 0 : i64} : vector<40xf32>, vector<40xf32>
// CHECK-NOT: nvvm.barrier id
// CHECK: llvm.inline_asm "ex2.approx.ftz.f32
// CHECK-NOT: nvvm.barrier id
// CHECK: gpu.return
func.func @pairs(%w: tensor<4x1024x256xbf16, #ss> {samoyeds.name = "w"},
                 %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                 %off: tensor<5xi32> {samoyeds.name = "offsets"},
                 %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x512xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x1024x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}

// -----

// Without SiLU·up a warpgroup's two units are units c and c + 2 of the
// block's four (256 kept rows: one row block of the 4 tiles; warpgroup
// w = c + 1 folds them to w - 1 and w + 1); each stores its own rows, m group
// rows of a kept row together.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 80, wide_slots = 512, wide_units = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @down
// CHECK: @down_ssmm_0_wide grid(1, token_tiles(P, 80, 4), 1) block(384, 1, 1)
// CHECK: gpu.func @down_ssmm_0_wide(
// CHECK: %[[WG:.*]] = arith.divui %{{.*}}, %c128 : index
// CHECK: %[[FIRST:.*]] = arith.subi %[[WG]], %c1 : index
// CHECK: %[[SECOND:.*]] = arith.addi %[[WG]], %c1 : index
// CHECK: arith.remui %[[FIRST]], %c4 : index
// CHECK-COUNT-40: vector.store {{.*}}, vector<2xbf16>
// CHECK: arith.remui %[[SECOND]], %c4 : index
// CHECK-COUNT-40: vector.store {{.*}}, vector<2xbf16>
// CHECK: gpu.return
func.func @down(%w: tensor<4x512x256xbf16, #ss> {samoyeds.name = "w"},
                %h: tensor<?x256xbf16> {samoyeds.name = "h"},
                %off: tensor<5xi32> {samoyeds.name = "offsets"},
                %rw: tensor<?x2xf32> {samoyeds.name = "weights"},
                %pos: tensor<?x2xi32> {samoyeds.name = "positions"})
    -> (tensor<?x512xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}
