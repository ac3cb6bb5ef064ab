// The wide variant's packed input through the whole pipeline, on a 1:2+2:4
// layer. wide-packed=1: the gate/up projection (which gathers through the
// token list) gets a pack kernel that loads 16-byte chunks of the gathered
// rows and stores them swizzled, and its wide kernel brings each stage's
// rows with one bulk copy (no cp.async gathers); the down projection (slot
// rows) keeps its gathers. With wide-cluster=2 each block of a pair copies
// its 64-column block of the stage to both blocks with one multicast bulk
// copy. ptxas assembles them without serialising a wgmma or spilling. The
// default leaves this layer's wide tiles (4 row blocks) unpacked. With the
// persistent grid serving the large calls (persistent=1, no wide variant)
// its gate/up kernel reads the packed rows the same way (ptxas: no
// serialised wgmma; 4 bytes spilled around the tile loop's epilogue).
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-packed=1 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.pairs && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-packed=1 wide-cluster=2 dir=%t.pairs assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=PAIRS < %t.pairs/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.pairs/kernels.ptx -o %t.pairs/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.pers && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a persistent=1 persistent-units=2 wide-packed=1 dir=%t.pers assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=PERS < %t.pers/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.pers/kernels.ptx -o %t.pers/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS-PERS %}
// RUN: rm -rf %t.none && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t.none assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=NONE < %t.none/kernels.ptx

// CHECK-LABEL: .entry layer_ssmm_2_pack(
// CHECK-COUNT-8: ld.global.v4.b32
// CHECK-COUNT-8: st.global.v4.b32
// CHECK-LABEL: .entry layer_ssmm_2_wide(
// CHECK-NOT: cp.async.cg
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// CHECK-NOT: cp.async.cg
// CHECK: mbarrier.arrive.expect_tx.shared.b64
// CHECK: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes
// CHECK-NOT: cp.async.cg
// CHECK-LABEL: .entry layer_ssmm_2_split(
// CHECK-LABEL: .entry layer_ssmm_3_wide(
// CHECK: cp.async.cg.shared.global

// PAIRS-LABEL: .entry layer_ssmm_2_wide(
// PAIRS: .reqnctapercluster 2, 1, 1
// PAIRS: fence.mbarrier_init.release.cluster;
// PAIRS-NEXT: barrier.cluster.arrive;
// PAIRS-NOT: shared::cluster.shared::cta
// PAIRS: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster
// PAIRS-NOT: shared::cluster.shared::cta
// PAIRS-LABEL: .entry layer_ssmm_3_wide(

// PERS-NOT: _wide(
// PERS-LABEL: .entry layer_ssmm_2_pack(
// PERS-COUNT-8: ld.global.v4.b32
// PERS-LABEL: .entry layer_ssmm_2_persistent(
// PERS-NOT: cp.async.cg
// PERS: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes
// PERS-NOT: cp.async.cg
// PERS-LABEL: .entry layer_ssmm_2_split(
// PERS-LABEL: .entry layer_ssmm_3_persistent(
// PERS: cp.async.cg.shared.global

// PTXAS-PERS-NOT: warning
// PTXAS-PERS-NOT: C75

// PTXAS-NOT: warning
// PTXAS-NOT: C75
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill

// NONE-NOT: _pack(
// NONE-NOT: multicast

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
