// Cluster pairs of the wide variant (wide-cluster=2) through the whole
// pipeline, on a 1:2+2:4 layer whose row blocks pair up (gate/up: 4 row blocks
// of 64 kept rows per half; down: 4 of 128): both wide kernels declare their
// two-block clusters (.reqnctapercluster, which every launch takes), forward
// their half of the token rows to the peer's slot with one shared::cta to
// shared::cluster bulk copy per 64-column block, completing on the peer's full
// barrier (mapa), release each slot on both blocks' empty barriers (one
// arrival per consumer warp after bar.warp.sync, the remote one released at
// CTA scope, as CUTLASS's ClusterBarrier::arrive: cluster scope costs a
// GPU-wide MEMBAR each) and meet at cluster barriers. ptxas
// assembles them without serialising a wgmma or spilling. Without the option no
// kernel has a cluster.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-cluster=2 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --implicit-check-not=mbarrier.arrive.release.cluster < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.none && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t.none assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=NONE < %t.none/kernels.ptx

// CHECK-LABEL: .entry layer_ssmm_2_wide(
// CHECK: .reqnctapercluster 2, 1, 1
// CHECK: fence.mbarrier_init.release.cluster;
// CHECK-NEXT: barrier.cluster.arrive;
// CHECK-NEXT: barrier.cluster.wait;
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// CHECK: bar.warp.sync -1;
// CHECK: mapa.shared::cluster.u64 [[PEER:%rd[0-9]+]], [[EMPTY:%rd[0-9]+]],
// CHECK: mbarrier.arrive.shared.b64 {{%rd[0-9]+}}, [[[EMPTY]]], {{%r[0-9]+}};
// CHECK-NEXT: mbarrier.arrive.shared::cluster.b64 _, [[[PEER]]], {{%r[0-9]+}};
// CHECK: cp.async.bulk.shared::cluster.shared::cta.mbarrier::complete_tx::bytes
// CHECK: barrier.cluster.arrive;
// CHECK-NEXT: barrier.cluster.wait;
// CHECK-LABEL: .entry layer_ssmm_3_wide(
// CHECK: .reqnctapercluster 2, 1, 1
// CHECK: mbarrier.arrive.shared::cluster.b64
// CHECK: cp.async.bulk.shared::cluster.shared::cta.mbarrier::complete_tx::bytes

// PTXAS-NOT: warning
// PTXAS-NOT: C75
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill

// NONE-NOT: reqnctapercluster
// NONE-NOT: barrier.cluster
// NONE-NOT: shared::cluster.shared::cta

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @layer(%x: tensor<?x1024xbf16> {samoyeds.name = "x"},
                 %router: tensor<8x1024xbf16> {samoyeds.name = "router"},
                 %w13: tensor<8x1024x1024xbf16, #ss> {samoyeds.name = "w13"},
                 %w2: tensor<8x1024x512xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x1024xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x1024xbf16>, tensor<8x1024xbf16>, tensor<8x1024x1024xbf16, #ss>,
         tensor<8x1024x512xbf16, #ss>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
