// A whole MoE layer through the Hopper warpgroup strategy, the sm_90a
// default: sparse wgmma fed by bulk copies of the `wgmma` weight layout, a
// producer warpgroup and consumer warpgroups. Row selection multiplies the
// kept rows and routes their span sums by default; `row-masks=1` multiplies
// the masked group rows (A from registers) instead. ptxas assembles both
// without serialising a wgmma (C7515) or injecting a warpgroup.arrive
// (C7519), and without spilling.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.m && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a row-masks=1 dir=%t.m assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=MASKED < %t.m/manifest.json
// RUN: FileCheck %s --check-prefix=MASKED-PTX < %t.m/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.m/kernels.ptx -o %t.m/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.b && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a decode-blocks=2 dir=%t.b assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=SHARED < %t.b/manifest.json
// RUN: FileCheck %s --check-prefix=SHARED-PTX < %t.b/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.b/kernels.ptx -o %t.b/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}

// decode-blocks=2: every decode call runs two blocks per SM
// (`_decode_shared`: ptxas bounds the registers for two blocks of 384
// threads, 80, and the consumers raise theirs to 88; a ring of 5 slots in
// half an SM), which ptxas assembles without serialising or spilling.
// SHARED: "kernel": "layer_ssmm_2_decode_shared",
// SHARED-NEXT: "pdl": true,
// SHARED-NEXT: "smem": 114384,
// SHARED: "kernel": "layer_ssmm_3_decode_shared",
// SHARED-PTX-LABEL: .entry layer_ssmm_2_decode_shared(
// SHARED-PTX: .minnctapersm 2
// SHARED-PTX: setmaxnreg.inc.sync.aligned.u32 88
// SHARED-PTX: wgmma.mma_async.sp.sync.aligned.m64n16k32.f32.bf16.bf16

// Routed rows (the default): the decode variants (the routing defines no
// wgmma accumulator inside a pipeline stage for ptxas to serialise, even
// with K loops of two k tiles and one), the persistent grid for the calls
// between them and a 128-token wide variant (two accumulator sets of 64
// values: the running sum and group row 1) from 128 routed slots per
// expert. Each stage brings the unit's weight block, metadata and the row
// choices of its span.
// CHECK: "launches": [
// CHECK: "kernel": "layer_dispatch_1",
// CHECK: "kernel": "layer_ssmm_2_decode",
// CHECK: "kernel": "layer_ssmm_2_persistent_narrow",
// CHECK: "block": [
// CHECK-NEXT: 384,
// CHECK: "kernel": "layer_ssmm_2_wide",
// CHECK: "kernel": "layer_ssmm_3_decode",
// CHECK: "kernel": "layer_ssmm_3_wide",
// The weights are packed in the layout the kernels read.
// CHECK: "weights": [
// CHECK: "layout": "wgmma",
// CHECK-NEXT: "m": 2,
// CHECK: "layout": "wgmma",

// PTX-LABEL: .entry layer_ssmm_2_persistent_narrow(
// PTX: .minnctapersm 1
// PTX: mbarrier.init.shared.b64
// Consumers: registers raised, then per stage wait for the slot, order the
// gathered rows for the async proxy, wait for the previous stage's MMAs,
// route the span that ended (its row choices and the next span's from
// shared memory, one fused multiply-add per value), release the slot and
// issue back-to-back sparse MMAs (A and B from shared memory).
// PTX: setmaxnreg.inc.sync.aligned.u32 224
// PTX: mbarrier.try_wait.parity.shared.b64
// PTX: fence.proxy.async.shared::cta
// PTX: wgmma.wait_group.sync.aligned 0
// PTX: ld.shared.b8
// PTX: fma.rn.f32
// PTX: mbarrier.arrive.shared.b64
// PTX: wgmma.fence.sync.aligned
// PTX: wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.bf16.bf16 {{.*}}, %rd{{[0-9]+}}, %rd{{[0-9]+}}, %r{{[0-9]+}}, 0, p, 1, 1, 0, 0;
// PTX: wgmma.commit_group.sync.aligned
// SiLU·up: the up rows cross to the gate warpgroup between two barriers of
// the 256 consumer threads.
// PTX: bar.sync {{[[:space:]]*}}1, 256
// PTX: bar.sync {{[[:space:]]*}}1, 256
// Producer: registers lowered; the bulk copies (weight block, metadata and
// row choices of both units) armed on the full barrier, then the gathers,
// which arrive on it when they land.
// PTX: setmaxnreg.dec.sync.aligned.u32 56
// PTX: mbarrier.arrive.expect_tx.shared.b64
// PTX-COUNT-6: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes
// PTX: cp.async.cg.shared.global
// PTX: cp.async.mbarrier.arrive.noinc.shared.b64
// PTX-LABEL: .entry layer_ssmm_2_wide(
// PTX: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16 {{.*}}, %rd{{[0-9]+}}, %rd{{[0-9]+}}, %r{{[0-9]+}}, 0, p, 1, 1, 0, 0;

// Masked rows (row-masks=1): the same variants. The consumers load their
// kept rows' words and feed them as A registers.
// MASKED: "kernel": "layer_ssmm_2_decode",
// MASKED: "kernel": "layer_ssmm_2_persistent_narrow",
// MASKED: "kernel": "layer_ssmm_2_wide",
// MASKED: "kernel": "layer_ssmm_3_decode",
// MASKED: "kernel": "layer_ssmm_3_wide",
// MASKED-PTX-LABEL: .entry layer_ssmm_2_persistent_narrow(
// MASKED-PTX: setmaxnreg.inc.sync.aligned.u32 224
// MASKED-PTX: ld.shared.b8
// MASKED-PTX: ld.shared.b32
// MASKED-PTX: selp.b32
// MASKED-PTX: wgmma.fence.sync.aligned
// MASKED-PTX: wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.bf16.bf16 {{.*}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd{{[0-9]+}}, %r{{[0-9]+}}, 0, p, 1, 1, 0;
// MASKED-PTX: wgmma.commit_group.sync.aligned
// MASKED-PTX: setmaxnreg.dec.sync.aligned.u32 56
// MASKED-PTX: mbarrier.arrive.expect_tx.shared.b64
// MASKED-PTX-COUNT-6: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes
// MASKED-PTX-LABEL: .entry layer_ssmm_2_wide(
// MASKED-PTX: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16 {{.*}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd

// PTXAS-NOT: warning
// PTXAS-NOT: C75
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @layer(%x: tensor<?x256xbf16> {samoyeds.name = "x"},
                 %router: tensor<8x256xbf16> {samoyeds.name = "router"},
                 %w13: tensor<8x256x256xbf16, #ss> {samoyeds.name = "w13"},
                 %w2: tensor<8x256x128xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x256x256xbf16, #ss>,
         tensor<8x256x128xbf16, #ss>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
