// Unit pairs on plain 2:4 (the default since session 49): four consumer
// warpgroups of one unit would hold 112 tokens (their 56 accumulators leave
// pairs no wide width), so the wide variant runs two warpgroups of two
// units, 144 tokens (2 × 72 accumulators), covering the same 256 kept rows
// a block; the other variants keep the default's four consumer warpgroups
// (640 threads). warpgroups=2 gives every variant two, and wide-tokens=128
// asks for 128 tokens (2 × 64). ptxas assembles every wide kernel without
// serialising a wgmma (the paired weighted-combine kernels spill outside
// the K loop, docs/TileChoice.md). wide-slots=1024: the paired grid of the
// small layer fills the SMs.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a warpgroups=2 wide-tokens=128 wide-slots=1024 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefixes=CHECK,N128 < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.wide && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-slots=1024 dir=%t.wide assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefixes=CHECK,WIDE,N144 < %t.wide/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.wide/kernels.ptx -o %t.wide/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}

// WIDE-LABEL: .entry layer_ssmm_2_persistent_narrow(
// WIDE: .maxntid 640, 1, 1
// CHECK-LABEL: .entry layer_ssmm_2_wide(
// CHECK: .maxntid 384, 1, 1
// CHECK-NOT: bar.sync 1,
// N128: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// N144: wgmma.mma_async.sp.sync.aligned.m64n144k32.f32.bf16.bf16
// CHECK-NOT: bar.sync 1,
// WIDE-LABEL: .entry layer_ssmm_3_decode(
// WIDE: .maxntid 640, 1, 1
// CHECK-LABEL: .entry layer_ssmm_3_wide(
// CHECK: .maxntid 384, 1, 1
// N128: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// N144: wgmma.mma_async.sp.sync.aligned.m64n144k32.f32.bf16.bf16

// PTXAS-NOT: warning
// PTXAS-NOT: C75

#ss = #samoyeds.ss<n = 2, m = 2, v = 128>
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
