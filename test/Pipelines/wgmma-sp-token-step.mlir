// Token steps (token-step=16) through the whole pipeline, on a 1:2+2:4
// layer with a packed wide input. Every wgmma_sp variant with more than 16
// tokens, at most two consumer warpgroups and routed rows builds its K loop
// once per MMA width 16, 32, … up to its tokens, and a block runs the one of
// its tile's tokens rounded up to 16: the wide variants (128 tokens) eight
// widths, the persistent grid (64) four. The 16-token decode variant and the
// split-K variant (four consumer warpgroups, whose registers leave ptxas no
// room for the widths' pipelines) keep one. The packed gate/up input brings
// only the rows the tile's MMAs read, one bulk copy per 64-column block, both
// with the same register byte count. ptxas assembles every width's pipeline
// without serialising a wgmma or spilling. With token-step=0 each variant has
// one width; so has each variant of masked rows (row-masks=1: A in registers,
// where the widths' pipelines had ptxas serialise the wgmma for want of
// registers, C7511).
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-packed=1 token-step=16 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.none && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-packed=1 token-step=0 dir=%t.none assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=NONE < %t.none/kernels.ptx
// RUN: rm -rf %t.masked && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a row-masks=1 token-step=16 dir=%t.masked assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=MASKED < %t.masked/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.masked/kernels.ptx -o %t.masked/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}

// CHECK-LABEL: .entry layer_ssmm_2_wide(
// CHECK-DAG: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [{{.*}}], [{{.*}}], [[ROWS:%r[0-9]+]], [{{.*}}];
// CHECK-DAG: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [{{.*}}], [{{.*}}], [[ROWS]], [{{.*}}];
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n16k32.f32.bf16.bf16
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n32k32.f32.bf16.bf16
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n48k32.f32.bf16.bf16
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.bf16.bf16
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n96k32.f32.bf16.bf16
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n112k32.f32.bf16.bf16
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// CHECK-LABEL: .entry layer_ssmm_2_split(
// CHECK-NOT: m64n{{(16|32|48)}}k32
// CHECK: m64n56k32
// CHECK-NOT: m64n{{(16|32|48)}}k32
// CHECK-LABEL: .entry layer_ssmm_3_decode(
// CHECK-NOT: m64n{{([2-9][0-9]|1[0-9][0-9])}}k32
// CHECK: m64n16k32
// CHECK-NOT: m64n{{([2-9][0-9]|1[0-9][0-9])}}k32
// CHECK-LABEL: .entry layer_ssmm_3_persistent_narrow(
// CHECK-DAG: m64n16k32
// CHECK-DAG: m64n32k32
// CHECK-DAG: m64n48k32
// CHECK-DAG: m64n64k32
// CHECK-LABEL: .entry layer_ssmm_3_wide(
// CHECK-DAG: m64n16k32
// CHECK-DAG: m64n64k32
// CHECK-DAG: m64n128k32

// PTXAS-NOT: warning
// PTXAS-NOT: C75
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill

// NONE-LABEL: .entry layer_ssmm_2_wide(
// NONE-NOT: m64n{{(16|32|48|64|80|96|112)}}k32
// NONE: m64n128k32
// NONE-NOT: m64n{{(16|32|48|64|80|96|112)}}k32
// NONE-LABEL: .entry layer_ssmm_2_split(

// MASKED-LABEL: .entry layer_ssmm_2_wide(
// MASKED-NOT: m64n{{(16|32|48|64|80|96|112)}}k32
// MASKED: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// MASKED-NOT: m64n{{(16|32|48|64|80|96|112)}}k32
// MASKED-LABEL: .entry layer_ssmm_2_split(

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
