// reduce-in-gather through the whole pipeline: a layer with split-K forced
// (split-k=2) gives gate/up and down split-K variants for up to 128 routed
// slots per expert. With the option, down's split variant, the only one of
// its kernels serving those calls, becomes `layer_ssmm_3_split_reducing`:
// it reads gate/up's f32 workspace (2 slices x 128 rows of 512 columns,
// gate and up; 32-byte aligned) instead of the result t5, sums the slices,
// applies SiLU·up and stores the row-selected (1:2) chunks into its B slots
// itself, so gate/up's `_split_reduce` launch is gone. Without it (OFF)
// gate/up keeps its reduction and down's split variant gathers t5.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a split-k=2 reduce-in-gather=1 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --implicit-check-not=_split_reduce < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin %}
// RUN: rm -rf %t.off && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a split-k=2 reduce-in-gather=0 dir=%t.off assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=OFF --implicit-check-not=_reducing < %t.off/manifest.json

// CHECK: "name": "ws_layer_ssmm_2_split",
// CHECK-NEXT: "shape": [
// CHECK-NEXT: 256,
// CHECK-NEXT: 512
// CHECK: "launches": [
// CHECK: "kernel": "layer_ssmm_2_split",
// CHECK: "when": {
// CHECK-NEXT: "max": 128,
// CHECK-NEXT: "min": 1,
// CHECK: "kernel": "layer_ssmm_3_persistent_narrow",
// CHECK: "kernel": "layer_ssmm_3_wide",
// CHECK: "kernel": "layer_ssmm_3_combine",
// CHECK: "kernel": "layer_ssmm_3_combine_vector",
// CHECK: "args": [
// CHECK: "buffer": "w2.row_idx",
// CHECK: "align": 32,
// CHECK-NEXT: "buffer": "ws_layer_ssmm_2_split",
// CHECK-NEXT: "elem_bytes": 4
// CHECK: "buffer": "ws_layer_ssmm_3_split",
// CHECK: "kernel": "layer_ssmm_3_split_reducing",
// CHECK: "when": {
// CHECK-NEXT: "max": 128,
// CHECK-NEXT: "min": 1,
// CHECK: "kernel": "layer_ssmm_3_split_combine",

// The reducing kernel issues the weights of its whole K range in bulk,
// then waits for the grids in flight (a dependent launch; the routing is
// settled) and issues no cp.async: 16-byte loads of the workspace, SiLU (ex2), 16-byte shared stores, the fence for
// the async proxy, the block's barrier and plain arrivals on the full
// barriers.
// PTX-LABEL: .entry layer_ssmm_3_split_reducing(
// PTX-NOT: cp.async.cg
// PTX-NOT: cp.async.mbarrier.arrive
// PTX: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes
// PTX-NOT: cp.async.cg
// PTX: griddepcontrol.wait;
// PTX-NOT: cp.async.bulk
// PTX: ld.global.v4.b32
// PTX-NOT: cp.async.cg
// PTX: ex2.approx.ftz.f32
// PTX-NOT: cp.async.cg
// PTX: st.shared.v4.b32
// PTX-NOT: cp.async.cg
// PTX: fence.proxy.async.shared::cta;
// PTX-NEXT: bar.sync {{.*}}0;
// PTX: mbarrier.arrive.shared.b64
// PTX-NOT: cp.async.mbarrier.arrive
// PTX-LABEL: .entry layer_ssmm_3_split_combine(

// OFF: "kernel": "layer_ssmm_2_split",
// OFF: "buffer": "ws_layer_ssmm_2_split",
// OFF: "kernel": "layer_ssmm_2_split_reduce",
// OFF: "when": {
// OFF-NEXT: "max": 128,
// OFF-NEXT: "min": 1,
// OFF: "kernel": "layer_ssmm_3_combine_vector",
// OFF: "align": 16,
// OFF-NEXT: "buffer": "t5",
// OFF: "buffer": "ws_layer_ssmm_3_split",
// OFF: "kernel": "layer_ssmm_3_split",
// OFF: "kernel": "layer_ssmm_3_split_combine",

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @layer(%x: tensor<?x256xbf16> {samoyeds.name = "x"},
                 %router: tensor<8x256xbf16> {samoyeds.name = "router"},
                 %w13: tensor<8x512x256xbf16, #ss> {samoyeds.name = "w13"},
                 %w2: tensor<8x256x256xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
