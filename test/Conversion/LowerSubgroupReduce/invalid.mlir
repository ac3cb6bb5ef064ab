// RUN: samoyeds-opt %s --split-input-file --verify-diagnostics --pass-pipeline="builtin.module(gpu.module(samoyeds-lower-subgroup-reduce))"
// RUN: samoyeds-opt %s --split-input-file --verify-diagnostics --pass-pipeline="builtin.module(gpu.module(samoyeds-lower-subgroup-reduce{redux=false}))"

gpu.module @kernels {
  gpu.func @wide(%v: i64, %out: memref<1xi64>) kernel {
    %c0 = arith.constant 0 : index
    // A 64-bit reduction: wider than one shuffle, and no redux.sync.
    // expected-error @+1 {{'gpu.subgroup_reduce' op cannot be lowered to 32-lane shuffles}}
    %s = gpu.subgroup_reduce add %v uniform : (i64) -> i64
    memref.store %s, %out[%c0] : memref<1xi64>
    gpu.return
  }
}

// -----

gpu.module @kernels {
  gpu.func @clustered(%v: f32, %out: memref<1xf32>) kernel {
    %c0 = arith.constant 0 : index
    // expected-error @+1 {{'gpu.subgroup_reduce' op cannot be lowered to 32-lane shuffles}}
    %s = gpu.subgroup_reduce add %v uniform cluster(size = 4) : (f32) -> f32
    memref.store %s, %out[%c0] : memref<1xf32>
    gpu.return
  }
}
