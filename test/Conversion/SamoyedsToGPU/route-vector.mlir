// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// A hidden size that is a multiple of 32 lanes x 8 elements: the router dot
// products read 16 bytes of x and of the router row per lane and step. The
// decode shape splits the 14 steps of 3584 over 14 warps (at most 2 steps a
// warp, 14 slices meeting in shared memory), one step each, so no loop is
// left, and sums the 8 elements by fused multiply-adds in element order; the
// prefill shape loads 8 x rows and 4 router rows per step and carries 32
// sums.
// CHECK-LABEL: gpu.func @route_vector_route_0_logits(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[R:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>
// CHECK-SAME: workgroup(%{{.*}} : memref<14xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: known_block_size = array<i32: 448, 1, 1>
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: scf.for
// CHECK: %[[XV:.*]] = vector.load %[[X]][%{{.*}}] {alignment = 16 : i64} : memref<?xbf16, #gpu.address_space<global>>, vector<8xbf16>
// CHECK: %[[XF:.*]] = arith.extf %[[XV]] : vector<8xbf16> to vector<8xf32>
// CHECK: %[[RV:.*]] = vector.load %[[R]][%{{.*}}] {alignment = 16 : i64} : memref<?xbf16, #gpu.address_space<global>>, vector<8xbf16>
// CHECK: %[[RF:.*]] = arith.extf %[[RV]] : vector<8xbf16> to vector<8xf32>
// CHECK: %[[X0:.*]] = vector.extract %[[XF]][0] : f32 from vector<8xf32>
// CHECK: %[[R0:.*]] = vector.extract %[[RF]][0] : f32 from vector<8xf32>
// CHECK: %[[S0:.*]] = llvm.intr.fma(%[[X0]], %[[R0]], %[[ZERO]]) : (f32, f32, f32) -> f32
// CHECK: %[[X1:.*]] = vector.extract %[[XF]][1] : f32 from vector<8xf32>
// CHECK: %[[R1:.*]] = vector.extract %[[RF]][1] : f32 from vector<8xf32>
// CHECK: llvm.intr.fma(%[[X1]], %[[R1]], %[[S0]]) : (f32, f32, f32) -> f32
// CHECK-COUNT-6: llvm.intr.fma
// CHECK: gpu.subgroup_reduce add
// CHECK-LABEL: gpu.func @route_vector_route_0_logits_prefill(
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-8: vector.load %[[X]]
// CHECK-COUNT-4: vector.load %[[R]]
// CHECK-NOT: vector.load
// CHECK: scf.yield
func.func @route_vector(%x: tensor<?x3584xbf16> {samoyeds.name = "x"},
                        %r: tensor<8x3584xbf16> {samoyeds.name = "router"})
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(2)
      : (tensor<?x3584xbf16>, tensor<8x3584xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// A hidden size of 72 (not a multiple of 32): one element per lane and step,
// three steps, the last masked: lanes past the end read element 0 and add 0.
// An f32 router is read as f32, and no tensor-core shape is built (its
// operands are not one 16-bit type): the prefill shape serves every T > 32.
// CHECK-LABEL: func.func @route_ragged
// CHECK: @route_ragged_route_0_logits_prefill {{.*}} when(T in [33, ...])
// CHECK-NOT: _logits_mma
// CHECK-LABEL: gpu.func @route_ragged_route_0_logits(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[R:[a-zA-Z0-9_]+]]: memref<?xf32, #gpu.address_space<global>>
// CHECK: %[[C72:.*]] = arith.constant 72 : index
// CHECK: scf.for
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[H:.*]], %[[C72]] : index
// CHECK: arith.select %[[IN]], %[[H]], %{{.*}} : index
// CHECK: %[[XE:.*]] = memref.load %[[X]]
// CHECK: %[[XF:.*]] = arith.extf %[[XE]] : bf16 to f32
// CHECK: arith.select %[[IN]], %[[XF]], %{{.*}} : f32
// CHECK: memref.load %[[R]]
// CHECK-NOT: arith.extf
// CHECK: llvm.intr.fma
func.func @route_ragged(%x: tensor<?x72xbf16> {samoyeds.name = "x"},
                        %r: tensor<6x72xf32> {samoyeds.name = "router"})
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(2)
      : (tensor<?x72xbf16>, tensor<6x72xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}
