// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_90a -split-input-file | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a strategy=wgmma_sp" --convert-samoyeds-to-gpu -split-input-file | FileCheck %s --check-prefix=WGMMA

// The warpgroup strategy's epilogues take the expert bias and the clamped
// SwiGLU (session 68): on sm_90a the automatic choice gives those matmuls
// to wgmma_sp where their shape fits it, as the same shape with SiLU and no
// bias.
// Each value gets its row's bias before the activation: the bias (the last
// argument) is loaded, widened and added; the split variant's partial sums
// carry it in slice 0 only (zero elsewhere).
// WGMMA-LABEL: gpu.func @bias_ssmm_0_wide_low(
// WGMMA-SAME: %[[B:arg[0-9]+]]: memref<?xbf16, #gpu.address_space<global>>) kernel
// WGMMA: nvvm.wgmma.fence.aligned
// WGMMA: %[[V:.+]] = memref.load %[[B]][%{{.*}}] : memref<?xbf16, #gpu.address_space<global>>
// WGMMA: %[[F:.+]] = arith.extf %[[V]] : bf16 to f32
// WGMMA: arith.addf %{{.*}}, %[[F]] : f32
// WGMMA-LABEL: gpu.func @bias_ssmm_0_split(
// WGMMA-SAME: %[[SB:arg[0-9]+]]: memref<?xbf16, #gpu.address_space<global>>) kernel
// WGMMA: %[[SV:.+]] = memref.load %[[SB]][%{{.*}}] : memref<?xbf16, #gpu.address_space<global>>
// WGMMA: %[[SF:.+]] = arith.extf %[[SV]] : bf16 to f32
// WGMMA: %[[SK:.+]] = arith.select %{{.*}}, %[[SF]], %{{.*}} : f32
// WGMMA: arith.addf %{{.*}}, %[[SK]] : f32
// The clamped SwiGLU: the gate clamped above, the up value to ±limit.
// WGMMA-LABEL: gpu.func @clamped_ssmm_0_wide_low(
// WGMMA: nvvm.wgmma.fence.aligned
// WGMMA: arith.minimumf %{{.*}}, %{{.*}} : f32
// WGMMA: %[[U:.+]] = arith.minimumf %{{.*}}, %{{.*}} : f32
// WGMMA: arith.maximumf %[[U]], %{{.*}} : f32
// WGMMA-LABEL: gpu.func @silu_ssmm_0_wide_low(
// WGMMA-NOT: arith.minimumf
// WGMMA-LABEL: gpu.func @silu_ssmm_0_wide(

// CHECK-LABEL: func.func @bias(
// CHECK: samoyeds.ssmm {{.*}}strategy = wgmma_sp
// CHECK-LABEL: func.func @clamped(
// CHECK: samoyeds.ssmm {{.*}}strategy = wgmma_sp
// CHECK-LABEL: func.func @silu(
// CHECK: samoyeds.ssmm {{.*}}strategy = wgmma_sp
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @bias(%w: tensor<8x1024x1024xbf16, #ss>, %x: tensor<?x1024xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>,
                   %b: tensor<8x1024xbf16>) -> tensor<?x512xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) bias(%b) epilogue <silu_mul>
      : (tensor<8x1024x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>, tensor<8x1024xbf16>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @clamped(%w: tensor<8x1024x1024xbf16, #ss>, %x: tensor<?x1024xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x512xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {activation = #samoyeds<activation clamped_swiglu>}
      : (tensor<8x1024x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @silu(%w: tensor<8x1024x1024xbf16, #ss>, %x: tensor<?x1024xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x512xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x1024x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}
