// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s

// CHECK-LABEL: func.func @routing
// CHECK-SAME: samoyeds.buffers = [#samoyeds.buffer<"x", input, bf16, [T, 64]>, #samoyeds.buffer<"router", input, bf16, [4, 64]>, #samoyeds.buffer<"result3", output, f32, [T, 2]>, #samoyeds.buffer<"t0", workspace, i32, [T, 2]>, #samoyeds.buffer<"result0", output, i32, [P]>, #samoyeds.buffer<"result1", output, i32, [5]>, #samoyeds.buffer<"result2", output, i32, [T, 2]>], samoyeds.weights = []
// CHECK: %[[W:.*]]:2 = samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@routing_route_0 grid(ceil_div(T, 1), 1, 1) block(512, 1, 1) smem(0) args(buffer("x", 2), buffer("router", 2), buffer("result3", 4), buffer("t0", 4))>]
// CHECK-SAME: {routing = #samoyeds.routing<experts = 4, top_k = 2, renormalize = true, routed_scaling_factor = 2.500000e+00 : f64>}
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@routing_dispatch_1 grid(4, 1, 1) block(256, 1, 1) smem(0) args(buffer("t0", 4), buffer("result0", 4), buffer("result1", 4), buffer("result2", 4), symbol(P))>](%[[W]]#1)

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
