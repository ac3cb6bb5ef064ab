// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="pdl=true" --split-input-file | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="pdl=true weights-before-wait=false" --split-input-file | FileCheck %s --check-prefix=OFF
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s --check-prefix=NOPDL --implicit-check-not=griddepcontrol

// The combine reads its routing before the wait. The down matmul's
// positions come from the dispatch two ops before (the gate/up kernels ran
// in between and waited for it), its routing weights from the caller: its
// combine kernels (the unsplit variant's `_combine`, the split-K variant's
// `_split_combine`) load each token's top_k slots and weights, then wait for
// the grids in flight through inline PTX with a memory clobber (LLVM's
// griddepcontrol intrinsic touches no memory and would let the loads sink
// below it) and let their dependents launch; after the wait they read only
// the slot rows the matmul before them wrote.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2>
#split = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2, split_k = 4, split_slots = 8>
// CHECK-LABEL: gpu.func @layer_ssmm_2_combine(
// CHECK-SAME: %[[ROWS:[a-z0-9]+]]: memref<?xf16, #gpu.address_space<global>>, %[[RW:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>, %[[POS:[a-z0-9]+]]: memref<?xi32, #gpu.address_space<global>>
// CHECK-NOT: griddepcontrol
// CHECK: %[[TOKEN:.*]] = gpu.block_id  y
// CHECK-NOT: griddepcontrol
// CHECK: %[[PAIR0:.*]] = arith.muli %[[TOKEN]], %{{.*}} : index
// CHECK-NEXT: memref.load %[[POS]][%[[PAIR0]]]
// CHECK-NEXT: arith.index_cast
// CHECK-NEXT: memref.load %[[RW]][%[[PAIR0]]]
// CHECK-NEXT: %[[PAIR1:.*]] = arith.addi %[[PAIR0]], %{{.*}} : index
// CHECK-NEXT: memref.load %[[POS]][%[[PAIR1]]]
// CHECK-NEXT: arith.index_cast
// CHECK-NEXT: memref.load %[[RW]][%[[PAIR1]]]
// CHECK-NEXT: llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
// CHECK-NEXT: nvvm.griddepcontrol  launch_dependents
// CHECK-NOT: griddepcontrol
// CHECK: scf.if
// CHECK-NOT: memref.load %[[POS]]
// CHECK: memref.load %[[ROWS]]
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @layer_ssmm_2_split_combine(
// CHECK-SAME: %[[SLICES:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>, %[[SRW:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>, %[[SPOS:[a-z0-9]+]]: memref<?xi32, #gpu.address_space<global>>
// CHECK-NOT: griddepcontrol
// CHECK: memref.load %[[SPOS]]
// CHECK: memref.load %[[SRW]]
// CHECK: memref.load %[[SPOS]]
// CHECK: memref.load %[[SRW]]
// CHECK-NEXT: llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
// CHECK-NEXT: nvvm.griddepcontrol  launch_dependents
// CHECK: scf.if
// CHECK: memref.load %[[SLICES]]

// Without weights-before-wait the combine waits first, as every dependent
// launch does.
// OFF-LABEL: gpu.func @layer_ssmm_2_combine(
// OFF-NOT: memref.load
// OFF: nvvm.griddepcontrol  wait
// OFF-NEXT: nvvm.griddepcontrol  launch_dependents
// OFF-NOT: llvm.inline_asm
// OFF-LABEL: gpu.func @layer_ssmm_2_split_combine(
// OFF-NOT: memref.load
// OFF: nvvm.griddepcontrol  wait
// OFF-NOT: llvm.inline_asm

// NOPDL-LABEL: gpu.func @layer_ssmm_2_combine(
// NOPDL-NOT: llvm.inline_asm
// NOPDL: gpu.return
func.func @layer(%w1: tensor<1x128x32xf16, #ss>, %w2: tensor<1x32x128xf16, #ss>,
                 %x: tensor<?x32xf16>, %ids: tensor<?x2xi32>,
                 %rw: tensor<?x2xf32>) -> tensor<?x32xf16> {
  %tok, %off, %pos = samoyeds.dispatch %ids experts(1)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<2xi32>, tensor<?x2xi32>)
  %h = samoyeds.ssmm %w1, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<1x128x32xf16, #ss>, tensor<?x32xf16>, tensor<2xi32>, tensor<?xi32>) -> tensor<?x128xf16>
  %y = samoyeds.ssmm %w2, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #split}
      : (tensor<1x32x128xf16, #ss>, tensor<?x128xf16>, tensor<2xi32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

// Positions the op right before writes: the dispatch kernel may still be
// running when the combine's launch begins, so the combine waits first.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2>
// CHECK-LABEL: gpu.func @fresh_ssmm_1_combine(
// CHECK-NOT: memref.load
// CHECK: nvvm.griddepcontrol  wait
// CHECK-NEXT: nvvm.griddepcontrol  launch_dependents
// CHECK-NOT: llvm.inline_asm
// CHECK: gpu.return
func.func @fresh(%w: tensor<1x32x128xf16, #ss>, %h: tensor<?x128xf16>,
                 %ids: tensor<?x2xi32>, %rw: tensor<?x2xf32>) -> tensor<?x32xf16> {
  %tok, %off, %pos = samoyeds.dispatch %ids experts(1)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<2xi32>, tensor<?x2xi32>)
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #tile}
      : (tensor<1x32x128xf16, #ss>, tensor<?x128xf16>, tensor<2xi32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}
