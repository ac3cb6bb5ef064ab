// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="pdl=true" --split-input-file | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="pdl=true weights-before-wait=false" --split-input-file | FileCheck %s --check-prefix=OFF
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s --check-prefix=NOPDL --implicit-check-not=griddepcontrol

// Weights before the wait. The gate/up matmul reads the offsets and token
// list the dispatch kernel just wrote: its dependent launches wait first.
// The down matmul's routing is two launches old (the gate/up kernels ran in
// between and waited for the dispatch before letting it launch): its
// wgmma_sp kernels find the expert, issue the first stages' weight copies
// (the ring's 2 slots of its 4 k tiles), and only then wait and let their
// dependents launch; the producer's K loop then issues weights only for the
// k tiles past those, and a block without a token tile waits before it
// exits. Launches without an upper bound on P (the ordinary grid here) are
// not dependent launches and keep their kernels.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile13 = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, decode_tokens = 8, decode_slots = 4, strategy = wgmma_sp>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, decode_tokens = 8, decode_slots = 4, strategy = wgmma_sp>
// CHECK-LABEL: func.func @layer
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@layer_dispatch_0 {{.*}} pdl
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@layer_ssmm_1_decode {{.*}} pdl
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@layer_ssmm_2_decode {{.*}} pdl
// CHECK-LABEL: gpu.func @layer_ssmm_1_decode(
// CHECK-NOT: memref.load
// CHECK: nvvm.griddepcontrol  wait
// CHECK-NEXT: nvvm.griddepcontrol  launch_dependents
// CHECK-LABEL: gpu.func @layer_ssmm_1(
// CHECK-NOT: griddepcontrol
// CHECK-LABEL: gpu.func @layer_ssmm_2_decode(
// CHECK-NOT: griddepcontrol
// CHECK: %[[TILE:.*]] = arith.cmpi slt, %{{.*}}, %{{.*}} : index
// CHECK-NEXT: scf.if %[[TILE]]
// CHECK: nvvm.setmaxregister  decrease
// CHECK: nvgpu.mbarrier.arrive.expect_tx
// CHECK-COUNT-2: nvvm.cp.async.bulk.shared.cluster.global
// CHECK: nvgpu.mbarrier.arrive.expect_tx
// CHECK-COUNT-2: nvvm.cp.async.bulk.shared.cluster.global
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: nvvm.griddepcontrol  wait
// CHECK-NEXT: nvvm.griddepcontrol  launch_dependents
// CHECK: scf.for
// CHECK: %[[LATER:.*]] = arith.cmpi uge
// CHECK: %[[ISSUE:.*]] = arith.andi %{{.*}}, %[[LATER]]
// CHECK: scf.if %[[ISSUE]]
// CHECK: nvgpu.mbarrier.arrive.expect_tx
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.setmaxregister  increase
// CHECK-NEXT: nvvm.griddepcontrol  wait
// CHECK-NEXT: nvvm.griddepcontrol  launch_dependents
// CHECK: samoyeds_nvgpu.wgmma_sp
// CHECK: %[[EMPTY:.*]] = arith.cmpi sge, %{{.*}}, %{{.*}} : index
// CHECK-NEXT: scf.if %[[EMPTY]]
// CHECK-NEXT: nvvm.griddepcontrol  wait
// CHECK-NEXT: nvvm.griddepcontrol  launch_dependents
// CHECK-LABEL: gpu.func @layer_ssmm_2(
// CHECK-NOT: griddepcontrol
// CHECK: gpu.return

// OFF-LABEL: gpu.func @layer_ssmm_2_decode(
// OFF-NOT: memref.load
// OFF: nvvm.griddepcontrol  wait
// OFF-NEXT: nvvm.griddepcontrol  launch_dependents

// NOPDL: gpu.func @layer_ssmm_2_decode(
func.func @layer(%w13: tensor<4x1024x256xbf16, #ss> {samoyeds.name = "w13"},
                 %w2: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w2"},
                 %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                 %ids: tensor<?x2xi32> {samoyeds.name = "ids"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %tok, %off, %pos = samoyeds.dispatch %ids experts(4)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
  %h = samoyeds.ssmm %w13, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile13}
      : (tensor<4x1024x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  %y = samoyeds.ssmm %w2, %h, %off epilogue <none> {tile = #tile}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Routing the caller gives: the function's first matmul may be launched
// right after the kernel that wrote it, the second after the first, whose
// kernels waited for that writer.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, decode_tokens = 8, decode_slots = 4, strategy = wgmma_sp>
// CHECK-LABEL: gpu.func @given_ssmm_0_decode(
// CHECK-NOT: memref.load
// CHECK: nvvm.griddepcontrol  wait
// CHECK-NEXT: nvvm.griddepcontrol  launch_dependents
// CHECK-LABEL: gpu.func @given_ssmm_1_decode(
// CHECK: nvvm.cp.async.bulk.shared.cluster.global
// CHECK: nvvm.griddepcontrol  wait
func.func @given(%w: tensor<4x256x256xbf16, #ss> {samoyeds.name = "w"},
                 %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                 %off: tensor<5xi32> {samoyeds.name = "offsets"},
                 %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"},
        tensor<?x256xbf16> {samoyeds.name = "z"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  %z = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y, %z : tensor<?x256xbf16>, tensor<?x256xbf16>
}
