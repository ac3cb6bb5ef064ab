// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="span-halves=1" | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="span-halves=0" | FileCheck %s --check-prefix=WHOLE
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s --check-prefix=WHOLE

// Routed row selection with spans of 32 columns, four to a 128-column stage
// (span-halves=1): each span's MMAs are two groups of 16 of the
// tile's 32 tokens, each on its half of the running sum (vector<8xf32>;
// the B descriptor of the second half 16 rows of 128 bytes on, 128 in
// descriptor units of 16 bytes). A half is routed (one multiply-add per
// value into its group-row sum) once `wgmma_wait {pending = 1}` says its
// MMAs are done, while the other half's run; the next span's MMAs of that
// half follow. The peeled first stage restarts both halves (scale-d false).
// With span-halves=0 (the default) a span is one group of 32 tokens, waited
// for in full.
#ss = #samoyeds.ss<n = 1, m = 2, v = 32>
#tile = #samoyeds.tile<warps = 4, tokens = 32, k = 128, stages = 2, strategy = wgmma_sp>
// CHECK-LABEL: gpu.func @halves_ssmm_0(
// CHECK: %[[UNDEF:.*]] = llvm.mlir.poison : vector<8xf32>
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: %[[A0:.*]] = samoyeds_nvgpu.wgmma_sp %[[UNDEF]], %[[DA:.*]], %[[DB:.*]], %[[M:.*]], %[[FALSE:.*]] {element = bf16, n = 16 : i64} : vector<8xf32>
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.fence.aligned
// CHECK-NEXT: %[[DB1:.*]] = arith.addi %[[DB]], %[[C128:.*]] : i64
// CHECK-NEXT: %[[B0:.*]] = samoyeds_nvgpu.wgmma_sp %[[UNDEF]], %[[DA]], %[[DB1]], %[[M]], %[[FALSE]] {element = bf16, n = 16 : i64} : vector<8xf32>
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: %[[A0D:.*]] = samoyeds_nvgpu.wgmma_wait %[[A0]] {pending = 1 : i64} : vector<8xf32>
// CHECK: %[[RA:.*]] = llvm.intr.fma(%[[A0D]], %{{.*}}, %{{.*}}) : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
// CHECK-NEXT: nvvm.wgmma.fence.aligned
// CHECK-NEXT: %[[A1:.*]] = samoyeds_nvgpu.wgmma_sp %[[A0D]], {{.*}} {element = bf16, n = 16 : i64} : vector<8xf32>
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: %[[B0D:.*]] = samoyeds_nvgpu.wgmma_wait %[[B0]] {pending = 1 : i64} : vector<8xf32>
// CHECK: llvm.intr.fma(%[[B0D]], %{{.*}}, %{{.*}}) : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
// CHECK-NEXT: nvvm.wgmma.fence.aligned
// CHECK: samoyeds_nvgpu.wgmma_sp %[[B0D]], {{.*}} {element = bf16, n = 16 : i64} : vector<8xf32>
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: samoyeds_nvgpu.wgmma_wait %[[A1]] {pending = 1 : i64} : vector<8xf32>
// The next stage waits for both halves, routes the last span, and goes on.
// CHECK: samoyeds_nvgpu.wgmma_wait %{{.*}}, %{{.*}} {pending = 0 : i64} : vector<8xf32>, vector<8xf32>
// After the loop: both halves' sums complete, group row 0 the sum less
// group row 1, and each set's halves joined into the tile's 32 tokens (a
// vector.shuffle the epilogue's extracts fold: tokens 0-15 from the first
// half, 16-31 from the second).
// CHECK: %[[LAST:.*]]:{{[0-9]+}} = samoyeds_nvgpu.wgmma_wait %{{.*}}, %{{.*}} {pending = 0 : i64} : vector<8xf32>, vector<8xf32>
// CHECK: %[[R0A:.*]] = arith.subf %[[LAST]]#0, %{{.*}} : vector<8xf32>
// CHECK: %[[R0B:.*]] = arith.subf %[[LAST]]#1, %{{.*}} : vector<8xf32>
// CHECK: vector.extract %[[R0A]][0] : f32 from vector<8xf32>
// CHECK: vector.extract %[[R0B]][0] : f32 from vector<8xf32>

// WHOLE-LABEL: gpu.func @halves_ssmm_0(
// WHOLE-NOT: n = 16 : i64
// WHOLE-NOT: pending = 1
// WHOLE: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 32 : i64} : vector<16xf32>
// WHOLE-NOT: n = 16 : i64
// WHOLE-NOT: pending = 1
// WHOLE: gpu.return
func.func @halves(%w: tensor<1x128x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                  %off: tensor<2xi32>) -> tensor<?x128xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x128x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}
