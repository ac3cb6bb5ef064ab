// gpt-oss-20b's experts-only layer (32 experts of 2880 x 2880, top-4, the
// form samoyeds-compile writes for it): expert biases and the clamped SwiGLU
// through the whole pipeline for sm_90a. 2880 is no multiple of 128, so the
// format's v is 64, and in 1:2 every expert matmul is mma_sp's (no wgmma:
// the row choices are not padded, and 1440 kept rows a half are no whole
// 64-row tiles; plain 2:4 runs wgmma_sp where asked, arch-gpt-oss-24.mlir); the
// manifest names the activation and lists the two biases as inputs; the
// gate/up kernels (decode, ordinary, persistent, split) take w13_bias and the
// down projection's w2_bias; the split reduction applies the activation;
// ptxas assembles every kernel.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS --allow-empty %}

// MANIFEST: "activation": {
// MANIFEST-NEXT: "alpha": 1.702,
// MANIFEST-NEXT: "kind": "clamped_swiglu",
// MANIFEST-NEXT: "limit": 7
// MANIFEST-DAG: "name": "w13_bias",
// MANIFEST-DAG: "name": "w2_bias",
// MANIFEST: "kernel": "moe_experts_e32_h2880_i2880_k4_ssmm_1_decode",
// MANIFEST: "buffer": "w13_bias",
// MANIFEST: "kernel": "moe_experts_e32_h2880_i2880_k4_ssmm_2_decode",
// MANIFEST: "buffer": "w2_bias",

// CHECK-NOT: wgmma
// CHECK-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_1_decode(
// CHECK: mma.sp::ordered_metadata
// CHECK: min.NaN.f32
// CHECK: max.NaN.f32
// CHECK-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_1(
// CHECK-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_1_persistent(
// CHECK-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_1_split(
// CHECK-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_1_split_reduce(
// CHECK: min.NaN.f32
// CHECK-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_2_decode(
// CHECK-NOT: min.NaN.f32
// CHECK-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_2_combine(
// CHECK-NOT: wgmma

// PTXAS-NOT: warning

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @moe_experts_e32_h2880_i2880_k4(%x: tensor<?x2880xbf16> {samoyeds.name = "x"},
    %w: tensor<?x4xf32> {samoyeds.name = "topk_weights"},
    %ids: tensor<?x4xi32> {samoyeds.name = "topk_ids"},
    %w13: tensor<32x5760x2880xbf16, #ss> {samoyeds.name = "w13"},
    %w2: tensor<32x2880x2880xbf16, #ss> {samoyeds.name = "w2"},
    %b13: tensor<32x5760xbf16> {samoyeds.name = "w13_bias"},
    %b2: tensor<32x2880xbf16> {samoyeds.name = "w2_bias"})
    -> (tensor<?x2880xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2 bias(%b13, %b2)
      {activation = #samoyeds<activation clamped_swiglu>}
      : (tensor<?x2880xbf16>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<32x5760x2880xbf16, #ss>,
         tensor<32x2880x2880xbf16, #ss>, tensor<32x5760xbf16>, tensor<32x2880xbf16>) -> tensor<?x2880xbf16>
  return %y : tensor<?x2880xbf16>
}
