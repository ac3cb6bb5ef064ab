// Plain 2:4's unit calls (`wide-unit-calls`, one expert's by default since
// session 53) through the whole pipeline, on Mixtral's down projection as
// one expert: the single units (`_wide_low`, 112 tokens on four consumer
// warpgroups, m64n112 MMAs, the ordinary grid) and the unit pairs
// (`_wide`, 144 tokens on two, m64n144, one block per SM) are one kernel
// each, each launched under the bounds of its calls, alternating from the
// wide variant's first call (513 routed slots: below, the ordinary grid's
// 64-token tiles take one wave) to the pairs' open range. `wide-unit-calls=0` gives back one
// width, the single units'. ptxas assembles both without spilling or
// serialising a wgmma.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
// RUN: rm -rf %t.off && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-unit-calls=0 dir=%t.off assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=OFF < %t.off/manifest.json
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin > %t/ptxas.log 2>&1 %}
// RUN: %if ptxas %{ grep -A1 "Function properties for down_ssmm_0_wide" %t/ptxas.log | FileCheck %s --check-prefix=WIDE %}
// RUN: %if ptxas %{ FileCheck %s --check-prefix=PTXAS < %t/ptxas.log %}

// CHECK-LABEL: .entry down_ssmm_0_wide_low(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n112k32.f32.bf16.bf16
// CHECK-NOT: .entry down_ssmm_0_wide_low(
// CHECK-LABEL: .entry down_ssmm_0_wide(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n144k32.f32.bf16.bf16
// CHECK-NOT: .entry down_ssmm_0_wide

// MANIFEST: "kernel": "down_ssmm_0_wide_low"
// MANIFEST: "max": 896
// MANIFEST-NEXT: "min": 513
// MANIFEST: "per_sm": 1
// MANIFEST: "kernel": "down_ssmm_0_wide"
// MANIFEST: "max": 1152
// MANIFEST-NEXT: "min": 897
// MANIFEST: "kernel": "down_ssmm_0_wide_low"
// MANIFEST: "max": 1792
// MANIFEST-NEXT: "min": 1153
// MANIFEST: "kernel": "down_ssmm_0_wide"
// MANIFEST: "max": 2304
// MANIFEST-NEXT: "min": 1793
// MANIFEST: "kernel": "down_ssmm_0_wide_low"
// MANIFEST: "max": 8288
// MANIFEST-NEXT: "min": 8209
// MANIFEST: "kernel": "down_ssmm_0_wide"
// MANIFEST-NOT: "max"
// MANIFEST: "min": 8289
// MANIFEST-NOT: "down_ssmm_0_wide

// OFF-NOT: _wide_low
// OFF: "kernel": "down_ssmm_0_wide"
// OFF-NOT: "per_sm"
// OFF-NOT: _wide

// WIDE-COUNT-2: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// PTXAS-NOT: warning
// PTXAS-NOT: C75

func.func @down(
    %w: tensor<1x4096x14336xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>> {samoyeds.name = "w"},
    %x: tensor<?x14336xbf16> {samoyeds.name = "x"},
    %offsets: tensor<2xi32> {samoyeds.name = "offsets"},
    %tokens: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x4096xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <none>
      : (tensor<1x4096x14336xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>, tensor<?x14336xbf16>,
         tensor<2xi32>, tensor<?xi32>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
