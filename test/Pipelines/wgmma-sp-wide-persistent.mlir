// Plain 2:4's paired wide variant on the persistent grid (`wide_persistent`,
// the default since session 52) through the whole pipeline, on Mixtral's
// plain 2:4 experts: the `_wide` kernels of the large calls (from 64 routed
// slots per expert) launch one block per SM, which walks the wide tiles
// (unit pairs of 144 tokens, m64n144 MMAs) with one ring running on into
// its next tile; `wide-persistent=0` gives back the ordinary grid of token
// tiles. ptxas assembles both wide kernels without spilling or serialising
// a wgmma.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
// RUN: rm -rf %t.ord && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-persistent=0 dir=%t.ord assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=ORDINARY < %t.ord/manifest.json
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin > %t/ptxas.log 2>&1 %}
// RUN: %if ptxas %{ grep -A1 "Function properties for mixtral24_ssmm_._wide$" %t/ptxas.log | FileCheck %s --check-prefix=WIDE %}
// RUN: %if ptxas %{ FileCheck %s --check-prefix=PTXAS < %t/ptxas.log %}

// CHECK-LABEL: .entry mixtral24_ssmm_1_wide(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n144k32.f32.bf16.bf16
// CHECK-LABEL: .entry mixtral24_ssmm_2_wide(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n144k32.f32.bf16.bf16

// MANIFEST: "per_sm": 1
// MANIFEST-NOT: "kernel"
// MANIFEST: "kernel": "mixtral24_ssmm_1_wide"
// MANIFEST: "per_sm": 1
// MANIFEST-NOT: "kernel"
// MANIFEST: "kernel": "mixtral24_ssmm_2_wide"

// ORDINARY-NOT: "per_sm"
// ORDINARY: "kernel": "mixtral24_ssmm_1_wide"
// ORDINARY-NOT: "per_sm"

// WIDE-COUNT-2: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// PTXAS-NOT: warning
// PTXAS-NOT: C75

#ss = #samoyeds.ss<n = 2, m = 2, v = 128>
func.func @mixtral24(%x: tensor<?x4096xbf16> {samoyeds.name = "x"},
    %w: tensor<?x2xf32> {samoyeds.name = "topk_weights"},
    %ids: tensor<?x2xi32> {samoyeds.name = "topk_ids"},
    %w13: tensor<8x28672x4096xbf16, #ss> {samoyeds.name = "w13"},
    %w2: tensor<8x4096x14336xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x4096xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x4096xbf16>, tensor<?x2xf32>, tensor<?x2xi32>, tensor<8x28672x4096xbf16, #ss>, tensor<8x4096x14336xbf16, #ss>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
