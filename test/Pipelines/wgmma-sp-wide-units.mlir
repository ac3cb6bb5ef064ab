// Unit pairs (the default on row-selected formats; wide-units=2 asks for
// them) through the whole pipeline, on a 1:2+2:4 layer.
// The wide variants of both projections launch two consumer warpgroups (384
// threads) that each multiply two 64-row units, 80 tokens a block: the
// gate/up kernel's warpgroups their gate and up units of the same rows, whose
// SiLU·up they form in registers (no exchange, so no named barrier of the
// consumers); the down projection's two units of its rows. Token steps
// (32) give each K loop the widths 32, 64 and 80. ptxas assembles every
// width's pipeline of both units' accumulators (160 registers at 80 tokens)
// without serialising a wgmma or spilling. Single units (wide-units=1) keep
// the 128-token kernels. (wide-slots=1024: the small test layer's paired row
// blocks fill the 132 SMs only with many token tiles, which select-tiles asks.)
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-units=2 wide-slots=1024 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: rm -rf %t.def && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-slots=1024 dir=%t.def assemble=false" -o /dev/null
// RUN: FileCheck %s < %t.def/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// Late pairs (late-pairs=1, opt-in; no wide-slots): the small layer's paired
// grids fill a wave only from 7 token tiles an expert, so each projection's
// wide variant pairs from 3841 routed slots and its second width, single
// units of 128 tokens, runs the calls below.
// RUN: rm -rf %t.late && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a late-pairs=1 dir=%t.late assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=LATE < %t.late/kernels.ptx
// RUN: FileCheck %s --check-prefix=LATE-WHEN < %t.late/manifest.json
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.late/kernels.ptx -o %t.late/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.one && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-units=1 wide-slots=1024 dir=%t.one assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=ONE < %t.one/kernels.ptx
// Unit pairs in cluster pairs (wide-cluster=2 wide-units=2, opt-in since
// session 48, untimed): both wide kernels keep their paired 80-token
// warpgroups and take clusters of two blocks on neighbouring paired row
// blocks, each gathering half the token rows and forwarding it to the
// peer; no token steps in a cluster (one width, 80). wide-cluster=2 alone
// keeps single units (test/Pipelines/wgmma-sp-wide-cluster.mlir).
// RUN: rm -rf %t.cl && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-units=2 wide-cluster=2 wide-slots=1024 dir=%t.cl assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=CLUSTER < %t.cl/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.cl/kernels.ptx -o %t.cl/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// wide-accumulators=176 (opt-in, session 49, untimed): the 176 accumulator
// registers two consumer warpgroups' threads can hold (224 less 48) give the
// pairs 88 tokens (2 units x 2 sets x 44): widths 32, 64 and 88, no spill;
// the ring keeps three slots of 88 tokens where it kept four of 80.
// RUN: rm -rf %t.acc && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-accumulators=176 wide-slots=1024 dir=%t.acc assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=ACC176 < %t.acc/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.acc/kernels.ptx -o %t.acc/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}

// CHECK-LABEL: .entry layer_ssmm_2_wide(
// CHECK: .maxntid 384, 1, 1
// CHECK-NOT: bar.sync 1,
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n32k32.f32.bf16.bf16
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.bf16.bf16
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// CHECK-DAG: ex2.approx
// CHECK-NOT: bar.sync 1,
// CHECK-LABEL: .entry layer_ssmm_3_wide(
// CHECK: .maxntid 384, 1, 1
// CHECK-DAG: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16

// CLUSTER-LABEL: .entry layer_ssmm_2_wide(
// CLUSTER: .maxntid 384, 1, 1
// CLUSTER: .reqnctapercluster 2, 1, 1
// CLUSTER-NOT: m64n32k32
// CLUSTER: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// CLUSTER: mapa.shared::cluster.u64
// CLUSTER: cp.async.bulk.shared::cluster.shared::cta.mbarrier::complete_tx::bytes
// CLUSTER-LABEL: .entry layer_ssmm_3_wide(
// CLUSTER: .maxntid 384, 1, 1
// CLUSTER: .reqnctapercluster 2, 1, 1
// CLUSTER: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16

// ACC176-LABEL: .entry layer_ssmm_2_wide(
// ACC176: .maxntid 384, 1, 1
// ACC176-NOT: m64n80k32
// ACC176-DAG: wgmma.mma_async.sp.sync.aligned.m64n32k32.f32.bf16.bf16
// ACC176-DAG: wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.bf16.bf16
// ACC176-DAG: wgmma.mma_async.sp.sync.aligned.m64n88k32.f32.bf16.bf16
// ACC176-LABEL: .entry layer_ssmm_3_wide(
// ACC176: wgmma.mma_async.sp.sync.aligned.m64n88k32.f32.bf16.bf16

// PTXAS-NOT: warning
// PTXAS-NOT: C75
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill

// LATE-LABEL: .entry layer_ssmm_2_wide_low(
// LATE: .maxntid 384, 1, 1
// LATE: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// LATE-NOT: m64n80k32
// LATE-LABEL: .entry layer_ssmm_2_wide(
// LATE-NOT: m64n128k32
// LATE: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// LATE-NOT: m64n128k32
// LATE-LABEL: .entry layer_ssmm_3_wide_low(
// LATE: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// LATE-LABEL: .entry layer_ssmm_3_wide(
// LATE: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// LATE-WHEN: "kernel": "layer_ssmm_2_wide_low",
// LATE-WHEN: "max": 3840,
// LATE-WHEN: "kernel": "layer_ssmm_2_wide",
// LATE-WHEN: "min": 3841,

// ONE-LABEL: .entry layer_ssmm_2_wide(
// ONE: .maxntid 384, 1, 1
// ONE: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// ONE: bar.sync 1, 256;
// ONE-LABEL: .entry layer_ssmm_3_wide(
// ONE: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16

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
