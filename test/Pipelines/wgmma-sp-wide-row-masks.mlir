// Masked wide rows (`wide-row-masks=1`) through the whole pipeline: one
// expert's 1:2+2:4 V = 32 matmul (spans shorter than the 128-column k tile).
// The wide variant (`_wide`, from the persistent grid's one wave: 513 routed
// slots) multiplies masked group rows, single units of 128 tokens: its A
// operand in registers, two MMAs (one a group row) per K step of 32. The
// split-K and persistent grids keep routing the span sums: A from shared
// memory by descriptor. ptxas assembles the wide kernel without spilling or
// serialising a wgmma.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-row-masks=1 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin > %t/ptxas.log 2>&1 %}
// RUN: %if ptxas %{ grep -A1 "Function properties for down_ssmm_0_wide" %t/ptxas.log | FileCheck %s --check-prefix=WIDE %}
// RUN: %if ptxas %{ FileCheck %s --check-prefix=PTXAS < %t/ptxas.log %}

// CHECK-LABEL: .entry down_ssmm_0_persistent_narrow(
// CHECK-NOT: .entry
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n{{[0-9]+}}k32.f32.bf16.bf16 {{{.*}}}, %rd{{[0-9]+}}, %rd{{[0-9]+}}, %r{{[0-9]+}}, 0, p, 1, 1, 0, 0;
// CHECK-LABEL: .entry down_ssmm_0_wide(
// CHECK-NOT: .entry
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16 {{{.*}}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd{{[0-9]+}}, %r{{[0-9]+}}, 0, p, 1, 1, 0;
// CHECK-NOT: , %rd{{[0-9]+}}, %rd{{[0-9]+}}, %r{{[0-9]+}}, 0, p, 1, 1, 0, 0;
// CHECK-LABEL: .entry down_ssmm_0_split(
// CHECK-NOT: .entry
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n{{[0-9]+}}k32.f32.bf16.bf16 {{{.*}}}, %rd{{[0-9]+}}, %rd{{[0-9]+}}, %r{{[0-9]+}}, 0, p, 1, 1, 0, 0;

// MANIFEST: "kernel": "down_ssmm_0_persistent_narrow"
// MANIFEST: "max": 512
// MANIFEST-NEXT: "min": 65
// MANIFEST: "kernel": "down_ssmm_0_wide"
// MANIFEST-NOT: "max"
// MANIFEST: "min": 513

// WIDE: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// PTXAS-NOT: warning
// PTXAS-NOT: C75

func.func @down(
    %w: tensor<1x4096x1024xbf16, #samoyeds.ss<n = 1, m = 2, v = 32>> {samoyeds.name = "w"},
    %x: tensor<?x1024xbf16> {samoyeds.name = "x"},
    %offsets: tensor<2xi32> {samoyeds.name = "offsets"},
    %tokens: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x4096xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <none>
      : (tensor<1x4096x1024xbf16, #samoyeds.ss<n = 1, m = 2, v = 32>>,
         tensor<?x1024xbf16>, tensor<2xi32>, tensor<?xi32>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
