// The slot rows an unsplit weighted_combine matmul writes for the combine
// kernel: the result's element type by default, f32 with combine-f32; the
// split-K variant's partial rows are f32 either way. A combine thread sums
// one column (blocks of 256 threads) below 8192 routed slots; from there
// `_combine_vector`'s threads read 16 bytes of each slot row (8 16-bit or 4
// f32 columns) and store their columns as one vector (blocks of 64 threads,
// the result aligned to the store).
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="combine-f32=1" | FileCheck %s --check-prefix=F32
// The pipelines pass the option on; the manifest types the workspace.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t/rows assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/rows/manifest.json
// RUN: samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a combine-f32=1 dir=%t/f32 assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=MANIFEST-F32 < %t/f32/manifest.json

#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2, split_k = 4, split_slots = 8>
// CHECK-LABEL: func.func @rows
// CHECK-SAME: #samoyeds.buffer<"ws_rows_ssmm_0", workspace, f16, [P, 32]>, #samoyeds.buffer<"ws_rows_ssmm_0_split", workspace, f32, [32, 32]>
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@rows_ssmm_0 {{.*}} args({{.*}}, buffer("ws_rows_ssmm_0", 2)) when(P in [9, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@rows_ssmm_0_combine grid(1, ceil_div(T, 1), 1) block(256, 1, 1) smem(0) args(buffer("ws_rows_ssmm_0", 2), buffer("arg3", 4), buffer("arg4", 4), buffer("result0", 2)) when(P in [9, 8191])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@rows_ssmm_0_combine_vector grid(1, ceil_div(T, 1), 1) block(64, 1, 1) smem(0) args(buffer("ws_rows_ssmm_0", 2), buffer("arg3", 4), buffer("arg4", 4), buffer("result0", 2, align 16)) when(P in [8192, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@rows_ssmm_0_split {{.*}} args({{.*}}, buffer("ws_rows_ssmm_0_split", 4)) when(P in [1, 8])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@rows_ssmm_0_split_combine grid(1, ceil_div(T, 1), 1) block(256, 1, 1) smem(0) args(buffer("ws_rows_ssmm_0_split", 4), buffer("arg3", 4), buffer("arg4", 4), buffer("result0", 2)) when(P in [1, 8])>]
// CHECK: gpu.func @rows_ssmm_0({{.*}}%[[WS:.*]]: memref<?xf16, #gpu.address_space<global>>)
// CHECK: %[[ROUNDED:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %[[ROUNDED]], %[[WS]]
// CHECK: gpu.func @rows_ssmm_0_combine(%[[ROWS:[a-z0-9]+]]: memref<?xf16, #gpu.address_space<global>>,
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: %[[ROW:.*]] = memref.load %[[ROWS]]
// CHECK: arith.extf %[[ROW]] : f16 to f32
// CHECK: gpu.func @rows_ssmm_0_combine_vector(%[[VROWS:[a-z0-9]+]]: memref<?xf16, #gpu.address_space<global>>, %{{.*}}, %{{.*}}, %[[OUT:.*]]: memref<?xf16, #gpu.address_space<global>>)
// CHECK-SAME: known_block_size = array<i32: 64, 1, 1>
// CHECK: %[[VROW:.*]] = vector.load %[[VROWS]][%{{.*}}] {alignment = 16 : i64} : memref<?xf16, #gpu.address_space<global>>, vector<8xf16>
// CHECK: arith.extf %[[VROW]] : vector<8xf16> to vector<8xf32>
// CHECK: %[[SUM:.*]] = arith.truncf %{{.*}} : vector<8xf32> to vector<8xf16>
// CHECK: vector.store %[[SUM]], %[[OUT]][%{{.*}}] {alignment = 16 : i64}
// CHECK: gpu.func @rows_ssmm_0_split({{.*}}%[[PARTIAL:.*]]: memref<?xf32, #gpu.address_space<global>>)
// CHECK: gpu.func @rows_ssmm_0_split_combine(%[[SLICES:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>,
// CHECK-NOT: arith.extf
// CHECK: gpu.return

// F32-LABEL: func.func @rows
// F32-SAME: #samoyeds.buffer<"ws_rows_ssmm_0", workspace, f32, [P, 32]>, #samoyeds.buffer<"ws_rows_ssmm_0_split", workspace, f32, [32, 32]>
// F32: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@rows_ssmm_0 {{.*}} args({{.*}}, buffer("ws_rows_ssmm_0", 4)) when(P in [9, ...])>
// F32-SAME: #samoyeds.launch<@samoyeds_kernels::@rows_ssmm_0_combine {{.*}} args(buffer("ws_rows_ssmm_0", 4), {{.*}}) when(P in [9, 8191])>
// F32-SAME: #samoyeds.launch<@samoyeds_kernels::@rows_ssmm_0_combine_vector {{.*}} args(buffer("ws_rows_ssmm_0", 4), {{.*}}, buffer("result0", 2, align 8)) when(P in [8192, ...])>
// F32: gpu.func @rows_ssmm_0({{.*}}%[[WS:.*]]: memref<?xf32, #gpu.address_space<global>>)
// F32-NOT: arith.truncf
// F32: memref.store %{{.*}}, %[[WS]]
// F32: gpu.func @rows_ssmm_0_combine(%[[ROWS:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>,
// F32-NOT: arith.extf
// F32: gpu.func @rows_ssmm_0_combine_vector(%[[VROWS:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>,
// F32-NOT: arith.extf
// F32: vector.load %[[VROWS]][%{{.*}}] {alignment = 16 : i64} : memref<?xf32, #gpu.address_space<global>>, vector<4xf32>
// F32-NOT: arith.extf
// F32: gpu.return
// MANIFEST: "name": "result0",
// MANIFEST: "dtype": "f16",
// MANIFEST-NEXT: "kind": "workspace",
// MANIFEST-NEXT: "name": "ws_rows_ssmm_0",
// MANIFEST: "dtype": "f32",
// MANIFEST-NEXT: "kind": "workspace",
// MANIFEST-NEXT: "name": "ws_rows_ssmm_0_split",
// MANIFEST: "buffer": "ws_rows_ssmm_0",
// MANIFEST-NEXT: "elem_bytes": 2
// MANIFEST-F32: "name": "result0",
// MANIFEST-F32: "dtype": "f32",
// MANIFEST-F32-NEXT: "kind": "workspace",
// MANIFEST-F32-NEXT: "name": "ws_rows_ssmm_0",
// MANIFEST-F32: "buffer": "ws_rows_ssmm_0",
// MANIFEST-F32-NEXT: "elem_bytes": 4
func.func @rows(%w: tensor<1x32x128xf16, #ss>, %h: tensor<?x128xf16>,
                %off: tensor<2xi32>, %rw: tensor<?x2xf32>,
                %pos: tensor<?x2xi32>) -> tensor<?x32xf16> {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine>
      {tile = #tile}
      : (tensor<1x32x128xf16, #ss>, tensor<?x128xf16>, tensor<2xi32>,
         tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}
