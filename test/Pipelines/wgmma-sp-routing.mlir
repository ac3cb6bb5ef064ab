// Routed row selection of other span lengths and group sizes through the
// whole pipeline: a gate/up weight of spans shorter than a stage (v = 64,
// m = 4: three routed group rows, routing inside a stage) and a down
// projection of spans of two stages (v = 256, m = 2: routing decided per
// k tile at run time). Every variant takes the routed tile and ptxas
// assembles them without serialising a wgmma (C7515), injecting a
// warpgroup.arrive (C7519) or spilling.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: FileCheck %s --check-prefix=WHOLE < %t/kernels.ptx
// RUN: rm -rf %t.halves && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a span-halves=1 dir=%t.halves assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=HALVES < %t.halves/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.halves/kernels.ptx -o %t.halves/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}

// CHECK: "kernel": "layer_ssmm_2_decode",
// CHECK: "kernel": "layer_ssmm_2_persistent_narrow",
// CHECK: "kernel": "layer_ssmm_2_wide",
// CHECK: "kernel": "layer_ssmm_3_decode",
// CHECK: "kernel": "layer_ssmm_3_persistent_narrow",
// CHECK: "kernel": "layer_ssmm_3_wide_low",
// CHECK: "kernel": "layer_ssmm_3_wide",
// CHECK: "weights": [
// CHECK: "layout": "wgmma",
// CHECK-NEXT: "m": 4,
// CHECK: "layout": "wgmma",
// CHECK-NEXT: "m": 2,

// The wide gate/up tile of m = 4 holds four accumulator sets of 40 values
// (80 tokens); every routed span costs three multiply-adds per value. Its
// spans of 64 columns end inside the stage: by default one group of 80
// tokens a span, waited for in full; with span-halves=1 two groups of 40,
// the second in flight while the first half's span is routed
// (`wgmma.wait_group 1`). The down projection's wide calls
// (unit calls, the default for routed row selection since session 56) go
// to unit pairs of 80 tokens or to single units of 128 (spans of two
// stages: whole MMAs).
// HALVES-LABEL: .entry layer_ssmm_2_wide(
// HALVES-NOT: m64n80k32
// HALVES: wgmma.mma_async.sp.sync.aligned.m64n40k32.f32.bf16.bf16
// HALVES: wgmma.wait_group.sync.aligned 1;
// HALVES: fma.rn.f32
// HALVES-NOT: m64n80k32
// HALVES-LABEL: .entry layer_ssmm_3_wide_low(
// PTX-LABEL: .entry layer_ssmm_2_wide(
// PTX: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// PTX: fma.rn.f32
// WHOLE-LABEL: .entry layer_ssmm_2_wide(
// WHOLE-NOT: m64n40k32
// WHOLE: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// WHOLE-NOT: wgmma.wait_group.sync.aligned 1;
// WHOLE: fma.rn.f32
// WHOLE-NOT: m64n40k32
// WHOLE-LABEL: .entry layer_ssmm_3_wide_low(
// PTX-LABEL: .entry layer_ssmm_3_wide_low(
// PTX: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// PTX: fma.rn.f32
// PTX-LABEL: .entry layer_ssmm_3_wide(
// PTX: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// PTX: fma.rn.f32

// PTXAS-NOT: warning
// PTXAS-NOT: C75
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill

#short = #samoyeds.ss<n = 1, m = 4, v = 64>
#long = #samoyeds.ss<n = 1, m = 2, v = 256>
func.func @layer(%x: tensor<?x512xbf16> {samoyeds.name = "x"},
                 %router: tensor<8x512xbf16> {samoyeds.name = "router"},
                 %w13: tensor<8x512x512xbf16, #short> {samoyeds.name = "w13"},
                 %w2: tensor<8x512x256xbf16, #long> {samoyeds.name = "w2"})
    -> (tensor<?x512xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x512xbf16>, tensor<8x512xbf16>, tensor<8x512x512xbf16, #short>,
         tensor<8x512x256xbf16, #long>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}
