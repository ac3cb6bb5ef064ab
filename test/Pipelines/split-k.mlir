// The same layer with split-K forced (split-k=2): each expert matmul gets a
// second variant for few routed slots (grid z = 2 K slices, f32 partial sums
// in a constant-size workspace) and a reduction, every launch guarded by P so
// that exactly one variant runs. The slot bounds come from the partial sums'
// traffic: 8 x 128 x 256 x 1/4 / (4 x 2 x 2) = 128 slots for gate/up (w13 has
// 256 columns) and 64 for down (128 columns). Gate/up also has a persistent
// variant from 64 slots per expert (512); down's 2 k tiles are too few for it.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=mma_sp split-k=2 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin %}
// RUN: rm -rf %t.fused && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=mma_sp split-k=2 fuse-split-reduce=1 dir=%t.fused assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=FUSED < %t.fused/manifest.json
// RUN: FileCheck %s --check-prefix=FUSEDPTX < %t.fused/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t.fused/kernels.ptx -o %t.fused/kernels.cubin %}
// RUN: rm -rf %t.none && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=mma_sp split-k=1 persistent=0 decode-tokens=0 dir=%t.none assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=NONE < %t.none/manifest.json

// CHECK: "name": "ws_qwen_ssmm_2_split",
// CHECK-NEXT: "shape": [
// CHECK-NEXT: 256,
// CHECK-NEXT: 256
// CHECK: "name": "ws_qwen_ssmm_3_split",
// CHECK-NEXT: "shape": [
// CHECK-NEXT: 128,
// CHECK-NEXT: 256
// CHECK: "launches": [
// CHECK: "kernel": "qwen_route_0_select",
// CHECK: "min": 5,
// CHECK-NEXT: "symbol": "T"
// CHECK: "kernel": "qwen_dispatch_1_select",
// CHECK: "max": 4,
// CHECK-NEXT: "min": 0,
// CHECK-NEXT: "symbol": "T"
// CHECK: "kernel": "qwen_dispatch_1",
// CHECK: "kernel": "qwen_ssmm_2",
// CHECK: "when": {
// CHECK-NEXT: "max": 511,
// CHECK-NEXT: "min": 129,
// CHECK-NEXT: "symbol": "P"
// CHECK: "kernel": "qwen_ssmm_2_persistent",
// CHECK: "min": 512,
// CHECK: "const": 2
// CHECK: "kernel": "qwen_ssmm_2_split",
// CHECK: "when": {
// CHECK-NEXT: "max": 128,
// CHECK-NEXT: "min": 1,
// CHECK-NEXT: "symbol": "P"
// CHECK: "buffer": "ws_qwen_ssmm_2_split",
// CHECK: "kernel": "qwen_ssmm_2_split_reduce",
// CHECK: "max": 128,
// The down projection's decode variant (8-token tiles) takes the unsplit
// calls up to its 12 slots per expert.
// CHECK: "kernel": "qwen_ssmm_3_decode",
// CHECK: "when": {
// CHECK-NEXT: "max": 96,
// CHECK-NEXT: "min": 65,
// CHECK: "kernel": "qwen_ssmm_3",
// CHECK: "min": 97,
// CHECK: "kernel": "qwen_ssmm_3_combine",
// CHECK: "min": 65,
// CHECK: "kernel": "qwen_ssmm_3_split",
// CHECK: "max": 64,
// CHECK: "kernel": "qwen_ssmm_3_split_combine",
// CHECK: "max": 64,

// fuse-split-reduce: gate/up's split kernel reduces its own slices (11
// counters: the blocks of its largest grid) and no reduction kernel runs;
// down keeps its combine.
// FUSED: "kind": "counters",
// FUSED-NEXT: "name": "ws_qwen_ssmm_2_split_counters",
// FUSED-NEXT: "shape": [
// FUSED-NEXT: 11
// FUSED: "buffer": "ws_qwen_ssmm_2_split",
// FUSED: "buffer": "t5",
// FUSED: "buffer": "ws_qwen_ssmm_2_split_counters",
// FUSED: "kernel": "qwen_ssmm_2_split",
// FUSED-NOT: _split_reduce
// FUSED: "kernel": "qwen_ssmm_3_split_combine",
// FUSEDPTX-LABEL: .entry qwen_ssmm_2_split(
// FUSEDPTX: membar.gl;
// FUSEDPTX-NEXT: bar.sync 0;
// FUSEDPTX: atom.global.add.u32
// FUSEDPTX: bar.red.or.pred
// FUSEDPTX: membar.gl;
// FUSEDPTX: ex2.approx.ftz.f32
// FUSEDPTX-LABEL: .entry qwen_ssmm_3(

// Without split-K, persistent grid and decode tile the matmuls are not
// guarded; the router's launches (logits in the decode or prefill shape;
// select, and select with dispatch for up to 4 tokens; the dispatch over
// chunks of slots, in two kernels, from 8192 routed slots) are, by T, and the combine's two
// forms by P.
// NONE-NOT: _split
// NONE: "kernel": "qwen_route_0_select",
// NONE: "symbol": "T"
// NONE: "kernel": "qwen_dispatch_1_select",
// NONE: "symbol": "T"
// NONE: "kernel": "qwen_dispatch_1",
// NONE: "symbol": "T"
// NONE: "kernel": "qwen_dispatch_1_count",
// NONE: "symbol": "T"
// NONE: "kernel": "qwen_dispatch_1_place",
// NONE: "symbol": "T"
// NONE-NOT: "when"
// NONE: "kernel": "qwen_ssmm_3_combine",
// NONE: "symbol": "P"
// NONE: "kernel": "qwen_ssmm_3_combine_vector",
// NONE: "symbol": "P"
// NONE-NOT: _split

// PTX-LABEL: .entry qwen_ssmm_2(
// PTX-NOT: %ctaid.z
// PTX-LABEL: .entry qwen_ssmm_2_split(
// PTX: mov.u32 %r{{[0-9]+}}, %ctaid.z;
// PTX: mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32
// PTX-NOT: ex2.approx
// PTX-LABEL: .entry qwen_ssmm_2_split_reduce(
// PTX: ex2.approx.ftz.f32
// PTX-LABEL: .entry qwen_ssmm_3(
// PTX-LABEL: .entry qwen_ssmm_3_combine(
// PTX-LABEL: .entry qwen_ssmm_3_split(
// PTX: %ctaid.z
// PTX-LABEL: .entry qwen_ssmm_3_split_combine(

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @qwen(%x: tensor<?x256xbf16> {samoyeds.name = "x"},
                %router: tensor<8x256xbf16> {samoyeds.name = "router"},
                %w13: tensor<8x256x256xbf16, #ss> {samoyeds.name = "w13"},
                %w2: tensor<8x256x128xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x256x256xbf16, #ss>,
         tensor<8x256x128xbf16, #ss>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
