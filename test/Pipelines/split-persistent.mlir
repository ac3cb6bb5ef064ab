// An OLMoE-1B-7B layer with `split-persistent=1` (opt-in): the gate/up and
// down projections' split-K variants (calls of up to 16 routed slots: T = 1
// and 2) run one block per SM of the device, a `per_sm` grid with no y or z,
// and ptxas assembles them without serialising a wgmma or spilling.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a split-persistent=1 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/manifest.json
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}

// CHECK: "buffer": "ws_olmoe_ssmm_2_split",
// CHECK: "grid": [
// CHECK-NEXT: {
// CHECK-NEXT: "per_sm": 1
// CHECK-NEXT: },
// CHECK-NEXT: {
// CHECK-NEXT: "const": 1
// CHECK-NEXT: },
// CHECK-NEXT: {
// CHECK-NEXT: "const": 1
// CHECK-NEXT: }
// CHECK-NEXT: ],
// CHECK-NEXT: "kernel": "olmoe_ssmm_2_split",
// CHECK-NEXT: "pdl": true,
// CHECK-NEXT: "smem": {{[0-9]+}},
// CHECK-NEXT: "when": {
// CHECK-NEXT: "max": 16,
// CHECK: "kernel": "olmoe_ssmm_2_split_reduce",
// CHECK: "buffer": "ws_olmoe_ssmm_3_split",
// CHECK: "per_sm": 1
// CHECK: "kernel": "olmoe_ssmm_3_split",
// CHECK: "kernel": "olmoe_ssmm_3_split_combine",

// No kernel spills: the wide variant's unit pairs (80 tokens) leave the
// gate/up no 160-token second width, the one kernel that spilled 8 bytes
// before they became the default.
// PTXAS-NOT: warning
// PTXAS-NOT: C75
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill
func.func @olmoe(%x: tensor<?x2048xbf16> {samoyeds.name = "x"},
    %router: tensor<64x2048xbf16> {samoyeds.name = "router"},
    %w13: tensor<64x2048x2048xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>> {samoyeds.name = "w13"},
    %w2: tensor<64x2048x1024xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>> {samoyeds.name = "w2"})
    -> (tensor<?x2048xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(8)
      : (tensor<?x2048xbf16>, tensor<64x2048xbf16>,
         tensor<64x2048x2048xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<64x2048x1024xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
      -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}
