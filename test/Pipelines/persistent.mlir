// The persistent variant of an expert matmul, end to end. By default a 1:2
// gate/up of 8 experts gets it from 64 routed slots per expert (P >= 512):
// the ordinary grid runs between the split-K variant (P <= split_slots) and
// 511, the persistent grid from 512, so exactly one runs. The persistent
// variant takes 64-token tiles (the others 32): 92 800 bytes of shared
// memory against 69 760, so 2 blocks per SM.
// The runtime sizes the grid from the device's SM count ({"per_sm": 2});
// ptxas is told that 2 blocks share an SM (.minnctapersm), and the kernel
// strides through the tiles by the grid size (%nctaid.x).
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=mma_sp pdl=0 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin %}
// A forced persistent=2 replaces the ordinary grid for every unsplit call.
// RUN: rm -rf %t.all && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=mma_sp pdl=0 persistent=2 split-k=1 dir=%t.all assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=ALL < %t.all/manifest.json
// RUN: rm -rf %t.none && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=mma_sp pdl=0 persistent=0 dir=%t.none assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=NONE < %t.none/manifest.json

// CHECK: "kernel": "mix_ssmm_0",
// CHECK-NEXT: "smem": 69760,
// CHECK-NEXT: "when": {
// CHECK-NEXT: "max": 511,
// CHECK-NEXT: "min": [[#FROM:]],
// CHECK-NEXT: "symbol": "P"
// CHECK: "grid": [
// CHECK-NEXT: {
// CHECK-NEXT: "per_sm": 2
// CHECK: "kernel": "mix_ssmm_0_persistent",
// CHECK-NEXT: "smem": 92800,
// CHECK-NEXT: "when": {
// CHECK-NEXT: "min": 512,
// CHECK-NEXT: "symbol": "P"
// CHECK: "kernel": "mix_ssmm_0_split",
// CHECK: "when": {
// CHECK-NEXT: "max": [[#FROM - 1]],
// CHECK-NEXT: "min": 1,

// ALL-NOT: "kernel": "mix_ssmm_0",
// ALL: "per_sm": 2
// ALL: "kernel": "mix_ssmm_0_persistent",
// ALL-NEXT: "smem"
// ALL-NEXT: "when": {
// ALL-NEXT: "min": 1,
// ALL-NOT: _split

// NONE-NOT: per_sm
// NONE-NOT: _persistent

// PTX-LABEL: .entry mix_ssmm_0(
// PTX-NOT: .minnctapersm
// PTX-NOT: %nctaid.x
// PTX-LABEL: .entry mix_ssmm_0_persistent(
// PTX: .minnctapersm 2
// PTX: %nctaid.x
// PTX: mma.sp::ordered_metadata
// The epilogue's coordinates come from a thread index read after the K loop.
// PTX: mov.u32 %r{{[0-9]+}}, %tid.x;
// PTX: ex2.approx.ftz.f32
// PTX-LABEL: .entry mix_ssmm_0_split(

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @mix(%w: tensor<8x4096x4096xbf16, #ss> {samoyeds.name = "w13"},
               %x: tensor<?x4096xbf16> {samoyeds.name = "x"},
               %off: tensor<9xi32> {samoyeds.name = "offsets"},
               %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x2048xbf16> {samoyeds.name = "h"}) {
  %h = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x4096x4096xbf16, #ss>, tensor<?x4096xbf16>, tensor<9xi32>,
         tensor<?xi32>) -> tensor<?x2048xbf16>
  return %h : tensor<?x2048xbf16>
}
