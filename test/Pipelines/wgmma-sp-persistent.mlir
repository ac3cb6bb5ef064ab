// The opt-in persistent grid of the Hopper warpgroup strategy (persistent=1)
// on a plain 2:4 layer: each matmul gets a persistent kernel with the tile's
// 64 tokens below 96 routed slots per expert and one with 128-token tiles
// from there, both one block per SM. ptxas assembles the PTX without
// injecting a warpgroup.arrive (C7519) and without spilling. Known issue of
// this opt-in variant: ptxas 12.8 (CI's) serialises the wgmma of the
// 128-token SiLU·up kernel (C7515: a non-wgmma instruction defines its
// accumulators inside a pipeline stage); ptxas 13.0 does not. The default
// kernels are checked for C7515 by wgmma-sp.mlir. No spills: each producer
// thread holds one source row per 16 of the tile's tokens (8 registers for
// 128 tokens; a warp copies four whole 128-byte rows at a time).
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a persistent=1 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}

// CHECK: "per_sm": 1
// CHECK: "kernel": "layer_ssmm_2_persistent_narrow",
// CHECK: "max": 767,
// CHECK: "per_sm": 1
// CHECK: "kernel": "layer_ssmm_2_persistent",
// CHECK: "min": 768,

// PTX-LABEL: .entry layer_ssmm_2_persistent_narrow(
// PTX-DAG: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16, {{%r[0-9]+}};
// PTX-DAG: wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.bf16.bf16
// PTX-LABEL: .entry layer_ssmm_2_persistent(
// PTX-DAG: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16, {{%r[0-9]+}};
// PTX-DAG: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16

// PTXAS-NOT: warning
// PTXAS-NOT: C7519
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill

#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
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
