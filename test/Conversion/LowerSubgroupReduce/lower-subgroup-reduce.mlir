// RUN: samoyeds-opt %s --split-input-file --pass-pipeline="builtin.module(gpu.module(samoyeds-lower-subgroup-reduce))" | FileCheck %s
// RUN: samoyeds-opt %s --split-input-file --pass-pipeline="builtin.module(gpu.module(samoyeds-lower-subgroup-reduce{redux=false}))" | FileCheck %s --check-prefix=NOREDUX
// RUN: samoyeds-opt %s --split-input-file --pass-pipeline="builtin.module(gpu.module(samoyeds-lower-subgroup-reduce,convert-gpu-to-nvvm{has-redux=1}))" | FileCheck %s --check-prefix=NVVM

// Uniform i32 add/minsi/maxsi stay for convert-gpu-to-nvvm (one
// redux.sync each); f32 and non-uniform reductions become five xor
// shuffles (offsets 1, 2, 4, 8, 16) and their combining op.
// CHECK-LABEL: gpu.func @reductions(
// CHECK-SAME: %[[I:[a-zA-Z0-9_]+]]: i32, %[[F:[a-zA-Z0-9_]+]]: f32
// CHECK: %[[SUM:.*]] = gpu.subgroup_reduce add %[[I]] uniform : (i32) -> i32
// CHECK: %[[MIN:.*]] = gpu.subgroup_reduce minsi %[[I]] uniform : (i32) -> i32
// CHECK-NOT: gpu.subgroup_reduce
// CHECK: gpu.shuffle xor %[[F]]
// CHECK: arith.maximumf
// CHECK-COUNT-4: gpu.shuffle xor
// CHECK: gpu.shuffle xor %[[F]]
// CHECK: arith.addf
// CHECK-COUNT-4: gpu.shuffle xor
// CHECK: gpu.shuffle xor %[[I]]
// CHECK: arith.maxsi
// CHECK-NOT: gpu.subgroup_reduce

// NOREDUX-LABEL: gpu.func @reductions(
// NOREDUX-NOT: gpu.subgroup_reduce
// NOREDUX-COUNT-25: gpu.shuffle xor
// NOREDUX-NOT: gpu.subgroup_reduce

// NVVM-LABEL: llvm.func @reductions(
// NVVM: nvvm.redux.sync add
// NVVM: nvvm.redux.sync min
// NVVM-COUNT-15: nvvm.shfl.sync bfly
// NVVM-NOT: gpu.subgroup_reduce
gpu.module @kernels {
  gpu.func @reductions(%i: i32, %f: f32, %out: memref<8xi32>, %outf: memref<8xf32>) kernel {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %sum = gpu.subgroup_reduce add %i uniform : (i32) -> i32
    %min = gpu.subgroup_reduce minsi %i uniform : (i32) -> i32
    %max = gpu.subgroup_reduce maximumf %f uniform : (f32) -> f32
    %fsum = gpu.subgroup_reduce add %f uniform : (f32) -> f32
    %nonuniform = gpu.subgroup_reduce maxsi %i : (i32) -> i32
    memref.store %sum, %out[%c0] : memref<8xi32>
    memref.store %min, %out[%c1] : memref<8xi32>
    memref.store %nonuniform, %out[%c2] : memref<8xi32>
    memref.store %max, %outf[%c0] : memref<8xf32>
    memref.store %fsum, %outf[%c1] : memref<8xf32>
    gpu.return
  }
}
