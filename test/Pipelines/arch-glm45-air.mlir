// The experts-only layer samoyeds-compile writes for GLM-4.5-Air (128 experts
// of 4096 x 1408, top-8: 11 spans of 128 in the down projection's K), an
// architecture beyond the anchor models, through the whole pipeline for
// sm_90a: its gate/up gathers its input in the wide variant (no pack kernel
// by default since session 51), and ptxas assembles every kernel without
// serialising a wgmma.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS --allow-empty %}

// CHECK-LABEL: .entry moe_experts_e128_h4096_i1408_k8_dispatch_0(
// CHECK-LABEL: .entry moe_experts_e128_h4096_i1408_k8_ssmm_1_decode(
// CHECK-NOT: _pack
// CHECK-LABEL: .entry moe_experts_e128_h4096_i1408_k8_ssmm_1_wide(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n{{[0-9]+}}k32.f32.bf16.bf16
// CHECK-LABEL: .entry moe_experts_e128_h4096_i1408_k8_ssmm_2_decode_reducing(
// CHECK-LABEL: .entry moe_experts_e128_h4096_i1408_k8_ssmm_2_wide(
// CHECK-LABEL: .entry moe_experts_e128_h4096_i1408_k8_ssmm_2_combine(

// PTXAS-NOT: warning

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @moe_experts_e128_h4096_i1408_k8(%x: tensor<?x4096xbf16> {samoyeds.name = "x"},
    %w: tensor<?x8xf32> {samoyeds.name = "topk_weights"},
    %ids: tensor<?x8xi32> {samoyeds.name = "topk_ids"},
    %w13: tensor<128x2816x4096xbf16, #ss> {samoyeds.name = "w13"},
    %w2: tensor<128x4096x1408xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x4096xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x4096xbf16>, tensor<?x8xf32>, tensor<?x8xi32>, tensor<128x2816x4096xbf16, #ss>, tensor<128x4096x1408xbf16, #ss>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

