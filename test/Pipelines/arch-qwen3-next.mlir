// The experts-only layer samoyeds-compile writes for Qwen3-Next-80B-A3B (512
// experts of 2048 x 512, top-10), an architecture beyond the anchor models,
// through the whole pipeline for sm_90a: every call range has its wgmma_sp
// kernels (decode, split-K, both persistent grids, the wide variant's unit
// pairs of 80 tokens and, its paired blocks of one token tile an expert
// taking many waves, its single units of 128 tokens from 80 routed slots
// per expert, `_wide_low`, session 56) and ptxas assembles them all without
// serialising a wgmma.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS --allow-empty %}

// CHECK-LABEL: .entry moe_experts_e512_h2048_i512_k10_dispatch_0(
// CHECK-LABEL: .entry moe_experts_e512_h2048_i512_k10_ssmm_1_decode(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n{{[0-9]+}}k32.f32.bf16.bf16
// CHECK-LABEL: .entry moe_experts_e512_h2048_i512_k10_ssmm_1_persistent_narrow(
// CHECK-LABEL: .entry moe_experts_e512_h2048_i512_k10_ssmm_1_persistent_upper(
// CHECK-LABEL: .entry moe_experts_e512_h2048_i512_k10_ssmm_1_wide_low(
// CHECK: .maxntid 384, 1, 1
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// CHECK-LABEL: .entry moe_experts_e512_h2048_i512_k10_ssmm_1_wide(
// CHECK: .maxntid 384, 1, 1
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// CHECK-LABEL: .entry moe_experts_e512_h2048_i512_k10_ssmm_1_split(
// CHECK-LABEL: .entry moe_experts_e512_h2048_i512_k10_ssmm_2_decode_reducing(
// CHECK-LABEL: .entry moe_experts_e512_h2048_i512_k10_ssmm_2_wide_low(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// CHECK-LABEL: .entry moe_experts_e512_h2048_i512_k10_ssmm_2_wide(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// CHECK-LABEL: .entry moe_experts_e512_h2048_i512_k10_ssmm_2_combine(

// PTXAS-NOT: warning

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @moe_experts_e512_h2048_i512_k10(%x: tensor<?x2048xbf16> {samoyeds.name = "x"},
    %w: tensor<?x10xf32> {samoyeds.name = "topk_weights"},
    %ids: tensor<?x10xi32> {samoyeds.name = "topk_ids"},
    %w13: tensor<512x1024x2048xbf16, #ss> {samoyeds.name = "w13"},
    %w2: tensor<512x2048x512xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x2048xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x2048xbf16>, tensor<?x10xf32>, tensor<?x10xi32>, tensor<512x1024x2048xbf16, #ss>, tensor<512x2048x512xbf16, #ss>) -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}

