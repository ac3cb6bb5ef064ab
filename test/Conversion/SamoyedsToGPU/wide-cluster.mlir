// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s

// Cluster pairs of the wide variant (wide_cluster = 2), 1:2 row selection
// with SiLU·up: the two row blocks of each half form one cluster on one
// token tile. Each block gathers its 64 of the 128 token rows, completing on
// a third mbarrier of the slot (128 cp.async arrivals), and producer thread
// 0 bulk-copies them into the peer's slot (mapa), completing on the peer's
// full barrier: one arrival (the expect_tx of 34944 bytes: two units'
// weight blocks, metadata and row choices, 18560, and the peer's 16384
// bytes of rows). The empty barrier counts the consumers of both blocks
// (512), who release each slot on their own and the peer's barrier.
// Cluster barriers after the set-up and before the block exits.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 512, wide_cluster = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @pairs
// CHECK: #samoyeds.launch<@samoyeds_kernels::@pairs_ssmm_0_wide grid(2, token_tiles(P, 128, 4), 1) block(384, 1, 1)
// CHECK: gpu.func @pairs_ssmm_0_wide(
// CHECK-SAME: nvvm.cluster_dim = array<i32: 2, 1, 1>
// CHECK: %[[BX:.*]] = gpu.block_id  x
// CHECK: %[[RANK:.*]] = arith.remui %[[BX]], %[[C2:.*]] : index
// CHECK: %[[BARS:.*]] = builtin.unrealized_conversion_cast {{.*}} to !nvgpu.mbarrier.group<memorySpace = #gpu.address_space<workgroup>, num_barriers = 12>
// CHECK: nvgpu.mbarrier.init %[[BARS]][%{{.*}}], %[[C1:.*]], predicate
// CHECK: nvgpu.mbarrier.init %[[BARS]][%{{.*}}], %[[C512:.*]], predicate
// CHECK: nvgpu.mbarrier.init %[[BARS]][%{{.*}}], %[[C128:.*]], predicate
// CHECK: nvvm.fence.mbarrier.init
// CHECK-NEXT: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// CHECK: nvvm.setmaxregister  decrease 56
// CHECK: scf.for
// CHECK: nvgpu.mbarrier.arrive.expect_tx %[[BARS]][%{{.*}}], %[[TX:.*]] :
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.mbarrier.arrive %{{.*}} {noinc = true} : !llvm.ptr<3>
// CHECK: nvgpu.mbarrier.try_wait.parity %[[BARS]]
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: nvvm.mapa %{{.*}}, %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK: llvm.inline_asm has_side_effects "cp.async.bulk.shared::cluster.shared::cta.mbarrier::complete_tx::bytes [$0], [$1], $2, [$3];", "l,l,r,l"
// CHECK: nvvm.setmaxregister  increase 224
// CHECK: nvvm.mbarrier.arrive %{{[0-9]+}} : !llvm.ptr<7>
// CHECK: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// CHECK: gpu.return
func.func @pairs(%w: tensor<4x512x256xbf16, #ss> {samoyeds.name = "w"},
                 %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                 %off: tensor<5xi32> {samoyeds.name = "offsets"},
                 %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
