// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// A hidden size that is a multiple of 32 lanes x 8 elements: the router dot
// products read 16 bytes of x and of the router row per lane and step (an f16
// router beside bf16 x: no tensor-core shape, so the prefill shape serves
// every T > 32). The
// decode shape splits the 14 steps of 3584 over 14 warps (at most 2 steps a
// warp, 14 slices meeting in shared memory), one step each, so no loop is
// left, and sums the 8 elements by fused multiply-adds in element order; the
// prefill shape loads 8 x rows and 4 router rows per step and carries 32
// sums.
// CHECK-LABEL: gpu.func @route_vector_route_0_logits(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[R:[a-zA-Z0-9_]+]]: memref<?xf16, #gpu.address_space<global>>
// CHECK-SAME: workgroup(%{{.*}} : memref<14xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: known_block_size = array<i32: 448, 1, 1>
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: scf.for
// CHECK: %[[XV:.*]] = vector.load %[[X]][%{{.*}}] {alignment = 16 : i64} : memref<?xbf16, #gpu.address_space<global>>, vector<8xbf16>
// CHECK: %[[XF:.*]] = arith.extf %[[XV]] : vector<8xbf16> to vector<8xf32>
// CHECK: %[[RV:.*]] = vector.load %[[R]][%{{.*}}] {alignment = 16 : i64} : memref<?xf16, #gpu.address_space<global>>, vector<8xf16>
// CHECK: %[[RF:.*]] = arith.extf %[[RV]] : vector<8xf16> to vector<8xf32>
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
                        %r: tensor<8x3584xf16> {samoyeds.name = "router"})
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(2)
      : (tensor<?x3584xbf16>, tensor<8x3584xf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// Qwen2-MoE's router (3584 x 64, bf16): the prefill shapes would run 7 steps
// a warp (14 steps of 256 columns, 2 slices), so the small-grid tensor-core
// shapes serve T = 33 up to the tensor-core shape's 6144: a block of one warp
// of 16 tokens along tokens and experts, the 112 chunks of 32 columns over 14
// warps (8 each), their loads issued 4 chunks at a time; 8 experts a warp
// below T = 256, where 16 a warp would give fewer than 64 blocks, 16 from it.
// The slices meet in shared memory (14 x 16 tokens x 8 or 16 experts).
// CHECK-LABEL: func.func @small_grid
// CHECK: @small_grid_route_0_logits_mma_small_e8 grid(8, ceil_div(T, 16), 1) block(448, 1, 1) {{.*}} when(T in [33, 255])
// CHECK-SAME: @small_grid_route_0_logits_mma_small grid(4, ceil_div(T, 16), 1) block(448, 1, 1) {{.*}} when(T in [256, 6143])
// CHECK-SAME: @small_grid_route_0_logits_mma grid(1, ceil_div(T, 32), 1) {{.*}} when(T in [6144, ...])
// CHECK-LABEL: gpu.func @small_grid_route_0_logits_mma_small_e8(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[R:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>
// CHECK-SAME: workgroup(%{{.*}} : memref<1792xf32, #gpu.address_space<workgroup>>)
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C8]] step %[[C4]] iter_args(%{{.*}} = %{{.*}}) -> (vector<4xf32>)
// CHECK-COUNT-12: vector.load
// CHECK-NOT: vector.load
// CHECK-COUNT-8: samoyeds_nvgpu.mma
// CHECK-NOT: samoyeds_nvgpu.mma
// CHECK: scf.yield
// CHECK-LABEL: gpu.func @small_grid_route_0_logits_mma_small(
// CHECK-SAME: workgroup(%{{.*}} : memref<3584xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>)
// CHECK-COUNT-16: samoyeds_nvgpu.mma
// CHECK-NOT: samoyeds_nvgpu.mma
// CHECK: scf.yield
func.func @small_grid(%x: tensor<?x3584xbf16> {samoyeds.name = "x"},
                      %r: tensor<64x3584xbf16> {samoyeds.name = "router"})
    -> (tensor<?x8xf32>, tensor<?x8xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(8)
      : (tensor<?x3584xbf16>, tensor<64x3584xbf16>) -> (tensor<?x8xf32>, tensor<?x8xi32>)
  return %w, %ids : tensor<?x8xf32>, tensor<?x8xi32>
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
