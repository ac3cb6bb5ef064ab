// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s

// A hidden size that is a multiple of 32 lanes x 8 elements: the router dot
// products read 16 bytes of x and of the router row per lane and step, with
// two independent vector accumulators (512 divides 3584; 1024 does not).
// CHECK-LABEL: gpu.func @route_vector_route_0(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[R:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>
// CHECK: scf.for {{.*}} iter_args(%[[A0:.*]] = %{{.*}}, %[[A1:.*]] = %{{.*}}) -> (vector<8xf32>, vector<8xf32>)
// CHECK: %[[XV:.*]] = vector.load %[[X]][%{{.*}}] {alignment = 16 : i64} : memref<?xbf16, #gpu.address_space<global>>, vector<8xbf16>
// CHECK: arith.extf %[[XV]] : vector<8xbf16> to vector<8xf32>
// CHECK: %[[RV:.*]] = vector.load %[[R]][%{{.*}}] {alignment = 16 : i64} : memref<?xbf16, #gpu.address_space<global>>, vector<8xbf16>
// CHECK: arith.extf %[[RV]] : vector<8xbf16> to vector<8xf32>
// CHECK: vector.load %[[X]]
// CHECK: vector.load %[[R]]
// CHECK-NOT: vector.load
// CHECK: scf.yield {{.*}} : vector<8xf32>, vector<8xf32>
// CHECK-COUNT-7: vector.extract
// CHECK: gpu.shuffle xor
func.func @route_vector(%x: tensor<?x3584xbf16> {samoyeds.name = "x"},
                        %r: tensor<8x3584xbf16> {samoyeds.name = "router"})
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(2)
      : (tensor<?x3584xbf16>, tensor<8x3584xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}
