// Early single units (session 56) through the whole pipeline: a SiLU·up
// gate/up of routed row selection on 64 experts whose paired blocks of one
// token tile an expert take more than five waves (24 64-row tiles a half:
// 768 blocks for 132 SMs). The upper persistent grid takes the calls up to
// 80 routed slots per expert (5120), the wide variant's single units
// (`_wide_low`: 128 tokens, m64n128 MMAs, SiLU·up across the block's two
// warpgroups) those up to the pairs' start of 128 (8192), its unit pairs
// (`_wide`: 80 tokens, m64n80) the rest. ptxas assembles both wide
// kernels without spilling or serialising a wgmma.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin > %t/ptxas.log 2>&1 %}
// RUN: %if ptxas %{ grep -A1 "Function properties for gate_up_ssmm_0_wide" %t/ptxas.log | FileCheck %s --check-prefix=WIDE %}
// RUN: %if ptxas %{ FileCheck %s --check-prefix=PTXAS < %t/ptxas.log %}

// CHECK-LABEL: .entry gate_up_ssmm_0_persistent_upper(
// CHECK-LABEL: .entry gate_up_ssmm_0_wide_low(
// CHECK-NOT: m64n80k32
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// CHECK-NOT: m64n80k32
// CHECK-LABEL: .entry gate_up_ssmm_0_wide(
// CHECK-NOT: m64n128k32
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// CHECK-NOT: m64n128k32
// CHECK-NOT: .entry gate_up_ssmm_0_wide

// MANIFEST: "kernel": "gate_up_ssmm_0_persistent_upper"
// MANIFEST: "max": 5119
// MANIFEST: "kernel": "gate_up_ssmm_0_wide_low"
// MANIFEST: "max": 8192
// MANIFEST-NEXT: "min": 5120
// MANIFEST: "kernel": "gate_up_ssmm_0_wide"
// MANIFEST-NOT: "max"
// MANIFEST: "min": 8193

// WIDE-COUNT-2: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// PTXAS-NOT: warning
// PTXAS-NOT: C75

func.func @gate_up(
    %w: tensor<64x6144x2048xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>> {samoyeds.name = "w"},
    %x: tensor<?x2048xbf16> {samoyeds.name = "x"},
    %offsets: tensor<65xi32> {samoyeds.name = "offsets"},
    %tokens: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x3072xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <silu_mul>
      : (tensor<64x6144x2048xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>) -> tensor<?x3072xbf16>
  return %y : tensor<?x3072xbf16>
}
