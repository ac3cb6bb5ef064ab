// A whole MoE layer, from one samoyeds.moe_ffn to a bundle: launches in
// order (router logits, decode or prefill shape, and top-k; dispatch; gate/up
// with SiLU·up; down into a workspace; deterministic combine).
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=mma_sp dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin %}
// RUN: FileCheck %s --check-prefix=NOGROUP < %t/kernels.ptx
// RUN: rm -rf %t.g && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=mma_sp group-tiles=2 dir=%t.g assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=GROUP < %t.g/kernels.ptx

// The experts are small (a few MB packed): the ordinary grids keep the
// launch order. The pipeline's group-tiles option orders the blocks of the
// ordinary grid and its decode variant in groups of token tiles (they read
// the grid's height); the persistent grid numbers its blocks by x alone.
// NOGROUP-NOT: %nctaid.y
// GROUP-LABEL: .entry qwen_ssmm_2_decode(
// GROUP: %nctaid.y
// GROUP-LABEL: .entry qwen_ssmm_2(
// GROUP: %nctaid.y
// GROUP-LABEL: .entry qwen_ssmm_2_persistent(
// GROUP-NOT: %nctaid.y
// GROUP-LABEL: .entry qwen_ssmm_3_decode(
// GROUP: %nctaid.y
// GROUP-LABEL: .entry qwen_ssmm_3(
// GROUP: %nctaid.y
// GROUP-LABEL: .entry qwen_ssmm_3_combine(

// CHECK: "kind": "input",
// CHECK-NEXT: "name": "x",
// CHECK: "name": "w13.values",
// CHECK: "kind": "output",
// CHECK-NEXT: "name": "y",
// CHECK: "launches": [
// CHECK: "kernel": "qwen_route_0_logits",
// CHECK: "kernel": "qwen_route_0_logits_prefill",
// CHECK: "kernel": "qwen_route_0_select",
// CHECK: "kernel": "qwen_dispatch_1",
// The expert matmuls launch one row of blocks per token tile that P slots
// can make over the E experts (min(E, P) + (P - min(E, P)) / tokens), not
// E * ceil(P / tokens): 8-token tiles up to 12 slots per expert (decode),
// then the tile's 32.
// CHECK: "token_tiles": [
// CHECK-NEXT: "P",
// CHECK-NEXT: 8,
// CHECK-NEXT: 8
// CHECK-NEXT: ]
// CHECK: "kernel": "qwen_ssmm_2_decode",
// CHECK: "max": 96,
// CHECK: "token_tiles": [
// CHECK-NEXT: "P",
// CHECK-NEXT: 32,
// CHECK-NEXT: 8
// CHECK-NEXT: ]
// CHECK: "kernel": "qwen_ssmm_2",
// CHECK-NEXT: "pdl": true,
// Its tile (5 stages of 32 tokens x 72 columns, 4 x 2 x 2 weight
// fragments and 4 x 2 x 16 row choices) is more than the 48 KB a kernel may
// declare statically: it takes dynamic shared memory.
// CHECK-NEXT: "smem": 69760
// CHECK: "kernel": "qwen_ssmm_3",
// CHECK: "kernel": "qwen_ssmm_3_combine",
// CHECK: "routing": {
// CHECK-NEXT: "experts": 8,
// CHECK-NEXT: "renormalize": false,
// CHECK-NEXT: "routed_scaling_factor": 1,
// CHECK-NEXT: "top_k": 2

// PTX-LABEL: .entry qwen_route_0_logits(
// PTX: shfl.sync.bfly.b32
// PTX-LABEL: .entry qwen_route_0_select(
// PTX: shfl.sync.bfly.b32
// PTX: redux.sync.min.s32
// PTX-LABEL: .entry qwen_dispatch_1(
// PTX: vote.sync.ballot.b32
// PTX: popc.b32
// PTX-LABEL: .entry qwen_ssmm_2_decode(
// PTX: mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32
// PTX-LABEL: .entry qwen_ssmm_2(
// PTX: mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32
// PTX: ex2.approx.ftz.f32
// PTX-LABEL: .entry qwen_ssmm_3(
// PTX: mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32
// PTX-LABEL: .entry qwen_ssmm_3_combine(

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
