// fuse-combine through the whole pipeline: a layer with split-K forced for
// up to 8 routed slots (split-k=2 split-slots=8: 4 tokens of top-2) gives
// down a split-K variant (`_split_reducing` on sm_90a, which sums gate/up's
// slices as it gathers them; `_split` on sm_80) that takes every call of at
// most 4 tokens. With the option it combines its slot rows itself
// (`_combining`): it takes the result y, a counter per row block, the
// routing weights (t0) and positions (t4) and the token count T, and
// `_split_combine` is gone. The kernels assemble for both chips. A split
// variant of calls up to 8 tokens (split-slots=16) combines those up to 4
// and keeps `_split_combine` for the others (BIG).
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a split-k=2 split-slots=8 fuse-combine=1 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --implicit-check-not=_split_combine < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: FileCheck %s --check-prefix=TILELESS < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin %}
// RUN: rm -rf %t.80 && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_80 split-k=2 split-slots=8 fuse-combine=1 dir=%t.80 assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=SM80 --implicit-check-not=_split_combine < %t.80/manifest.json
// RUN: FileCheck %s --check-prefix=PTX80 < %t.80/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_80 %t.80/kernels.ptx -o %t.80/kernels.cubin %}
// RUN: rm -rf %t.big && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a split-k=2 split-slots=16 fuse-combine=1 dir=%t.big assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=BIG < %t.big/manifest.json

// CHECK: "kind": "counters",
// CHECK-NEXT: "name": "ws_layer_ssmm_3_counters",
// CHECK-NEXT: "shape": [
// CHECK-NEXT: 1
// CHECK: "launches": [
// CHECK: "kernel": "layer_ssmm_3_combine",
// CHECK: "min": 9,
// CHECK: "buffer": "ws_layer_ssmm_3_split",
// CHECK: "buffer": "y",
// CHECK: "buffer": "ws_layer_ssmm_3_counters",
// CHECK: "buffer": "t0",
// CHECK: "buffer": "t4",
// CHECK: "symbol": "T"
// CHECK: "kernel": "layer_ssmm_3_split_reducing_combining",
// CHECK: "when": {
// CHECK-NEXT: "max": 8,
// CHECK-NEXT: "min": 1,

// A block without a token tile fences, counts (grid y · grid z blocks a
// row block) and, if last (the OR over the whole block, barrier 0),
// combines each column's two slots' slices and weights for each of the T
// tokens (TILELESS); a block with a tile does the same in its
// consumer warpgroups (barrier 1, 256 threads) after their partial sums
// (PTX). The two paths' order in the PTX is LLVM's.
// PTX-LABEL: .entry layer_ssmm_3_split_reducing_combining(
// PTX: setmaxnreg.inc.sync.aligned.u32
// PTX: wgmma.mma_async.sp
// PTX: membar.gl;
// PTX-NEXT: bar.sync 1, 256;
// PTX: %nctaid.y;
// PTX-NEXT: %nctaid.z;
// PTX: atom.global.add.u32
// PTX: bar.red.or.pred q,
// PTX: membar.gl;
// PTX: st.global.b16
// PTX: ret;
// TILELESS-LABEL: .entry layer_ssmm_3_split_reducing_combining(
// TILELESS: atom.global.add.u32
// TILELESS: bar.red.or.pred %p{{[0-9]+}}, 0, %p{{[0-9]+}};
// TILELESS: membar.gl;
// TILELESS: ld.global.b32
// TILELESS: ld.global.b32
// TILELESS: st.global.b16
// TILELESS: ret;

// SM80: "name": "ws_layer_ssmm_3_counters",
// SM80-NEXT: "shape": [
// SM80-NEXT: 2
// SM80: "buffer": "ws_layer_ssmm_3_counters",
// SM80: "kernel": "layer_ssmm_3_split_combining",
// On sm_80 (no programmatic dependent launch) the tile-less blocks' count
// and combine come first in the PTX.
// PTX80-LABEL: .entry layer_ssmm_3_split_combining(
// PTX80: membar.gl;
// PTX80-NEXT: bar.sync 0;
// PTX80: atom.global.add.u32
// PTX80: bar.red.or.pred
// PTX80: membar.gl;
// PTX80: st.global.b16
// PTX80: mma.sp::ordered_metadata
// PTX80: membar.gl;
// PTX80-NEXT: bar.sync 0;
// PTX80: atom.global.add.u32
// PTX80: bar.red.or.pred
// PTX80: st.global.b16

// BIG: "kernel": "layer_ssmm_3_split_reducing_combining",
// BIG: "max": 8,
// BIG-NEXT: "min": 1,
// BIG: "kernel": "layer_ssmm_3_split_reducing",
// BIG: "max": 16,
// BIG-NEXT: "min": 9,
// BIG: "kernel": "layer_ssmm_3_split_combine",
// BIG: "max": 16,
// BIG-NEXT: "min": 9,

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
