// The tensor-core logits keep kLogitsMmaDepth = 4 chunks of x and router rows
// in flight, at most the chunks of a warp's slice: OLMoE's router (2048 x 64)
// splits its 64 chunks over 4 slices of 16, so each warp loads 4 chunks (2 x
// rows and 4 router rows each, for its 4 tiles of 8 experts) before its loop
// and chunk i + 4 in iteration i. routing.mlir's slices of 2 chunks keep 2.
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s

// CHECK-LABEL: gpu.func @olmoe_route_0_logits_mma(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[R:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>
// CHECK-COUNT-2: vector.load %[[X]]
// CHECK-COUNT-4: vector.load %[[R]]
// CHECK-COUNT-2: vector.load %[[X]]
// CHECK-COUNT-4: vector.load %[[R]]
// CHECK-COUNT-2: vector.load %[[X]]
// CHECK-COUNT-4: vector.load %[[R]]
// CHECK-COUNT-2: vector.load %[[X]]
// CHECK-COUNT-4: vector.load %[[R]]
// CHECK-NOT: vector.load
// CHECK: scf.for %[[I:[a-zA-Z0-9_]+]] = %{{.*}} to %c16 step %{{.*}} iter_args(
// CHECK-NEXT: arith.addi %[[I]], %c4 : index
// CHECK-COUNT-2: vector.load %[[X]]
// CHECK-COUNT-4: vector.load %[[R]]
// CHECK-NOT: vector.load
// CHECK: scf.yield
func.func @olmoe(%x: tensor<?x2048xbf16>, %r: tensor<64x2048xbf16>)
    -> (tensor<?x8xf32>, tensor<?x8xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(8)
      : (tensor<?x2048xbf16>, tensor<64x2048xbf16>) -> (tensor<?x8xf32>, tensor<?x8xi32>)
  return %w, %ids : tensor<?x8xf32>, tensor<?x8xi32>
}
