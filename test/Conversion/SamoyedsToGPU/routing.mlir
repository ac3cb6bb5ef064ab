// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s

// CHECK-LABEL: func.func @routing
// CHECK-SAME: {dtype = "f32", kind = "output", name = "result3", shape = ["T", 2]}, {dtype = "i32", kind = "workspace", name = "t0", shape = ["T", 2]}, {dtype = "i32", kind = "output", name = "result0", shape = ["P"]}, {dtype = "i32", kind = "output", name = "result1", shape = [5]}, {dtype = "i32", kind = "output", name = "result2", shape = ["T", 2]}
// CHECK: samoyeds.route {{.*}}samoyeds.launches = [{args = [{buffer = "x", elem_bytes = 2 : i64}, {buffer = "router", elem_bytes = 2 : i64}, {buffer = "result3", elem_bytes = 4 : i64}, {buffer = "t0", elem_bytes = 4 : i64}], block = [512, 1, 1], grid = [{by = 1 : i64, ceil_div = "T"}, {const = 1 : i64}, {const = 1 : i64}], kernel = @samoyeds_kernels::@routing_route_0, smem = 0 : i64}]
// CHECK: samoyeds.dispatch {{.*}}samoyeds.launches = [{args = [{buffer = "t0", elem_bytes = 4 : i64}, {buffer = "result0", elem_bytes = 4 : i64}, {buffer = "result1", elem_bytes = 4 : i64}, {buffer = "result2", elem_bytes = 4 : i64}, {symbol = "P"}], block = [256, 1, 1], grid = [{const = 4 : i64}, {const = 1 : i64}, {const = 1 : i64}], kernel = @samoyeds_kernels::@routing_dispatch_1, smem = 0 : i64}]

// Route: warps reduce f32 dot products with shuffles; thread 0 takes the
// softmax (ex2.approx through its NVVM intrinsic) and k = 2 rounds of arg-max, then renormalises and scales.
// CHECK: gpu.func @routing_route_0(%[[X:.*]]: memref<?xbf16, #gpu.address_space<global>>, %[[R:.*]]: memref<?xbf16, #gpu.address_space<global>>, %[[W:.*]]: memref<?xf32, #gpu.address_space<global>>, %[[IDS:.*]]: memref<?xi32, #gpu.address_space<global>>)
// CHECK-SAME: workgroup(%[[LOGITS:.*]] : memref<4xf32, #gpu.address_space<workgroup>>, %[[PROBS:.*]] : memref<4xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.load %[[X]]
// CHECK: memref.load %[[R]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[LOGITS]]
// CHECK: gpu.barrier
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"(%{{.*}}) : (f32) -> f32
// CHECK: arith.cmpf ogt
// CHECK: memref.store %{{.*}}, %[[IDS]]
// CHECK: arith.cmpf ogt
// CHECK: memref.store %{{.*}}, %[[IDS]]
// CHECK: %[[SCALED:.*]] = arith.divf %cst{{.*}}, %{{.*}} : f32
// CHECK: arith.mulf %{{.*}}, %[[SCALED]]

// Dispatch: a block per expert; ballot + popcount place slots in order.
// CHECK: gpu.func @routing_dispatch_1(%[[IDS2:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[TOK:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[OFF:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[POS:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[P:.*]]: i32)
// CHECK: memref.store %{{.*}}, %[[OFF]]
// CHECK: nvvm.vote.sync ballot
// CHECK: llvm.intr.ctpop
// CHECK: memref.store %{{.*}}, %[[TOK]]
// CHECK: memref.store %{{.*}}, %[[POS]]
func.func @routing(%x: tensor<?x64xbf16> {samoyeds.name = "x"},
                   %r: tensor<4x64xbf16> {samoyeds.name = "router"})
    -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>) {
  %w, %ids = samoyeds.route %x, %r top_k(2) {renormalize, routed_scaling_factor = 2.5}
      : (tensor<?x64xbf16>, tensor<4x64xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  %tok, %off, %pos = samoyeds.dispatch %ids experts(4)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
  return %tok, %off, %pos, %w : tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>
}
