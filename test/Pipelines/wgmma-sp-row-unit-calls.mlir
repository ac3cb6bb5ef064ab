// One expert's routed row selection (session 54) through the whole
// pipeline, on Qwen2-MoE's 1:2+2:4 gate/up as one expert (2560 kept rows,
// 20 row blocks of 128): the persistent grid (one block per SM, 64-token
// tiles with token steps of 32) takes the calls past the 2-slice split-K
// variant up to 384 routed slots, where its tiles would take more than one
// wave of 132 SMs; from there the wide variant's calls alternate between
// its single units (`_wide_low`: 128 tokens, m64n128 MMAs, 20 blocks a token
// tile) and its unit pairs (`_wide`: 80 tokens, m64n80, 10 blocks a tile),
// each built once, by the token rounds of each grid. `wide-unit-calls=0`
// keeps the single units alone (`_wide`). ptxas assembles every kernel
// without spilling or serialising a wgmma.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
// RUN: rm -rf %t.off && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-unit-calls=0 dir=%t.off assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=OFF < %t.off/manifest.json
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin > %t/ptxas.log 2>&1 %}
// RUN: %if ptxas %{ grep -A1 "Function properties for gate_up_ssmm_0_wide\|Function properties for gate_up_ssmm_0_persistent" %t/ptxas.log | FileCheck %s --check-prefix=WIDE %}
// RUN: %if ptxas %{ FileCheck %s --check-prefix=PTXAS < %t/ptxas.log %}

// CHECK-LABEL: .entry gate_up_ssmm_0_persistent_narrow(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.bf16.bf16
// CHECK-LABEL: .entry gate_up_ssmm_0_wide_low(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// CHECK-NOT: .entry gate_up_ssmm_0_wide_low(
// CHECK-LABEL: .entry gate_up_ssmm_0_wide(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n80k32.f32.bf16.bf16
// CHECK-NOT: .entry gate_up_ssmm_0_wide

// MANIFEST: "kernel": "gate_up_ssmm_0_persistent_narrow"
// MANIFEST: "max": 384
// MANIFEST-NEXT: "min": 193
// MANIFEST: "kernel": "gate_up_ssmm_0_wide_low"
// MANIFEST: "max": 768
// MANIFEST-NEXT: "min": 385
// MANIFEST: "kernel": "gate_up_ssmm_0_wide"
// MANIFEST: "max": 1040
// MANIFEST-NEXT: "min": 769
// MANIFEST: "kernel": "gate_up_ssmm_0_wide_low"
// MANIFEST: "max": 1664
// MANIFEST-NEXT: "min": 1041
// MANIFEST: "kernel": "gate_up_ssmm_0_wide"
// MANIFEST: "max": 2080
// MANIFEST-NEXT: "min": 1665
// MANIFEST: "kernel": "gate_up_ssmm_0_wide_low"
// MANIFEST: "max": 8448
// MANIFEST-NEXT: "min": 8401
// MANIFEST: "kernel": "gate_up_ssmm_0_wide"
// MANIFEST-NOT: "max"
// MANIFEST: "min": 8449
// MANIFEST: "kernel": "gate_up_ssmm_0_split_mid"
// MANIFEST: "max": 192

// OFF-NOT: _wide_low
// OFF: "kernel": "gate_up_ssmm_0_wide"
// OFF-NOT: _wide

// WIDE-COUNT-3: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// PTXAS-NOT: warning
// PTXAS-NOT: C75

func.func @gate_up(
    %w: tensor<1x5120x3584xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>> {samoyeds.name = "w"},
    %x: tensor<?x3584xbf16> {samoyeds.name = "x"},
    %offsets: tensor<2xi32> {samoyeds.name = "offsets"},
    %tokens: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x5120xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <none>
      : (tensor<1x5120x3584xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x3584xbf16>, tensor<2xi32>, tensor<?xi32>) -> tensor<?x5120xbf16>
  return %y : tensor<?x5120xbf16>
}
