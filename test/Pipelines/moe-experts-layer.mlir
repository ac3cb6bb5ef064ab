// An experts-only layer (samoyeds.moe_experts: routing computed by the
// caller) from one op to a bundle: four launches in order (dispatch, gate/up
// with SiLU·up, down into a workspace, deterministic combine), no route
// kernel and no "routing" entry in the manifest; the routing buffers are the
// caller's inputs, shaped [T, k]. Both MMA strategies assemble for sm_90a;
// wgmma_sp's decode kernels copy their weights under the L2 evict_first
// policy (its 8 small experts: every call; evict-first-experts=0: none).
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=mma_sp dir=%t/mma assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/mma/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/mma/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/mma/kernels.ptx -o %t/mma/kernels.cubin %}
// RUN: samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=wgmma_sp dir=%t/wgmma assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=WGMMA < %t/wgmma/manifest.json
// RUN: FileCheck %s --check-prefix=WGMMA-PTX < %t/wgmma/kernels.ptx
// RUN: samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=wgmma_sp evict-first-experts=0 dir=%t/plain assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=NO-POLICY < %t/plain/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/wgmma/kernels.ptx -o %t/wgmma/kernels.cubin %}

// CHECK: "buffers": [
// CHECK-DAG: "name": "x",
// CHECK-DAG: "name": "topk_weights",
// CHECK-DAG: "name": "topk_ids",
// CHECK: "launches": [
// CHECK-NOT: _route_
// CHECK: "kernel": "experts_dispatch_0",
// CHECK: "kernel": "experts_ssmm_1",
// CHECK: "kernel": "experts_ssmm_2",
// CHECK: "kernel": "experts_ssmm_2_combine",
// CHECK-NOT: "routing"
// CHECK-NOT: _route_

// PTX-NOT: .entry experts_route
// PTX-LABEL: .entry experts_dispatch_0(
// PTX: max.s32
// PTX: min.s32
// PTX: vote.sync.ballot.b32
// PTX-LABEL: .entry experts_ssmm_1(
// PTX: mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32
// PTX-LABEL: .entry experts_ssmm_2(
// PTX: mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32
// PTX-LABEL: .entry experts_ssmm_2_combine(

// WGMMA: "layout": "wgmma"
// WGMMA-NOT: "routing"

// WGMMA-PTX-LABEL: .entry experts_ssmm_1_decode(
// WGMMA-PTX: createpolicy.fractional.L2::evict_first.b64 [[POLICY:%rd[0-9]+]], 1.0;
// WGMMA-PTX: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [{{.*}}], [{{.*}}], {{.*}}, [{{.*}}], [[POLICY]];
// WGMMA-PTX-LABEL: .entry experts_ssmm_1_persistent_narrow(
// WGMMA-PTX-NOT: cache_hint
// WGMMA-PTX-LABEL: .entry experts_ssmm_2_decode(
// WGMMA-PTX: createpolicy.fractional.L2::evict_first.b64
// WGMMA-PTX: .L2::cache_hint
// WGMMA-PTX-LABEL: .entry experts_ssmm_2_persistent_narrow(
// WGMMA-PTX-NOT: cache_hint

// NO-POLICY-NOT: createpolicy
// NO-POLICY-NOT: cache_hint

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @experts(%x: tensor<?x256xbf16> {samoyeds.name = "x"},
                   %w: tensor<?x2xf32> {samoyeds.name = "topk_weights"},
                   %ids: tensor<?x2xi32> {samoyeds.name = "topk_ids"},
                   %w13: tensor<8x256x256xbf16, #ss> {samoyeds.name = "w13"},
                   %w2: tensor<8x256x128xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x256xbf16>, tensor<?x2xf32>, tensor<?x2xi32>,
         tensor<8x256x256xbf16, #ss>, tensor<8x256x128xbf16, #ss>)
      -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
