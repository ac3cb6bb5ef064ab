// gpt-oss-20b's experts-only layer in plain 2:4 (32 experts of 2880 x 2880,
// top-4) on the warpgroup strategy: 2880 is no multiple of the 128-column k
// tile, but the `wgmma` layout stores K padded to 2944 (docs/Format.md), so
// every expert matmul runs on wgmma_sp when asked (`strategy=wgmma_sp`): the
// manifest sizes both weights' values and metadata for 2944 columns
// (32 x 5760 x 2944 and 32 x 2880 x 2944 bytes of values), the kernels
// gather the activations with a register source size (a chunk past K reads
// nothing and is zero-filled), the gate/up kernels apply the clamped SwiGLU;
// no split variant (23 k tiles: only 1 and 23 divide them); ptxas assembles
// every kernel. The automatic choice (AUTO) takes it too, with unit tails:
// both matmuls on four consumer warpgroups (640 threads with the producer),
// the last row block's units past the 45th tile repeating it; ptxas
// assembles them (no spills here). Without unit tails (`unit-tails=0`,
// NOTAILS) each half's 45 64-row tiles would leave one consumer warpgroup a
// block, so mma_sp stays (bench/RESULTS.md S69: 0.66-0.82x mma_sp at
// T = 4096; with tails 1.57-2.02x, S70).
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=wgmma_sp dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS --allow-empty %}
// RUN: samoyeds-opt %s --samoyeds-decompose-moe --samoyeds-select-tiles=chip=sm_90a | FileCheck %s --check-prefix=AUTO
// RUN: samoyeds-opt %s --samoyeds-decompose-moe --samoyeds-select-tiles="chip=sm_90a unit-tails=0" | FileCheck %s --check-prefix=NOTAILS
// RUN: rm -rf %t.tails && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t.tails assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=TAILS < %t.tails/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t.tails/kernels.ptx -o %t.tails/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS --allow-empty %}

// TAILS-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_1_wide(
// TAILS: .maxntid 640, 1, 1
// TAILS: min.u64 {{.*}}, 44;
// TAILS: wgmma.mma_async.sp.sync.aligned.m64n
// TAILS-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_2_wide(
// TAILS: .maxntid 640, 1, 1

// AUTO-LABEL: func.func @moe_experts_e32_h2880_i2880_k4
// AUTO: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<{{.*}}strategy = wgmma_sp
// AUTO: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<{{.*}}strategy = wgmma_sp

// NOTAILS-LABEL: func.func @moe_experts_e32_h2880_i2880_k4
// NOTAILS: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<
// NOTAILS-NOT: wgmma_sp
// NOTAILS: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<
// NOTAILS-NOT: wgmma_sp
// NOTAILS: return

// MANIFEST: "bytes": 542638080,
// MANIFEST-NEXT: "dtype": "bf16",
// MANIFEST-NEXT: "kind": "weight",
// MANIFEST-NEXT: "name": "w13.values",
// MANIFEST: "bytes": 67829760,
// MANIFEST-NEXT: "dtype": "u32",
// MANIFEST-NEXT: "kind": "weight",
// MANIFEST-NEXT: "name": "w13.meta",
// MANIFEST: "bytes": 271319040,
// MANIFEST-NEXT: "dtype": "bf16",
// MANIFEST-NEXT: "kind": "weight",
// MANIFEST-NEXT: "name": "w2.values",
// MANIFEST-NOT: _split
// MANIFEST: "layout": "wgmma",
// MANIFEST: "layout": "wgmma",

// CHECK-NOT: mma.sp::ordered_metadata
// CHECK-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_1_decode(
// CHECK: cp.async.cg.shared.global [%rd{{[0-9]+}}{{(\+[0-9]+)?}}], [%rd{{[0-9]+}}{{(\+[0-9]+)?}}], 16, %r{{[0-9]+}};
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n
// CHECK: min.NaN.f32
// CHECK-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_1_wide(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n
// CHECK-LABEL: .entry moe_experts_e32_h2880_i2880_k4_ssmm_2_decode(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n
// CHECK-NOT: mma.sp::ordered_metadata

// PTXAS-NOT: warning

#ss = #samoyeds.ss<n = 1, m = 1, v = 64>
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
