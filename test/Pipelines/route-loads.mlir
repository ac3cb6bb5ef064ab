// The small-grid tensor-core logits kernel keeps its grouped loads in the
// PTX: each iteration of a warp's loop issues the loads of 4 chunks (2 x rows
// and 2 router rows each: 16 16-byte loads) and multiplies them. Loads carried to a later iteration in registers would
// not survive LLVM (InstCombine folds a loop-carried phi of loads into one
// load at its use: one chunk a round trip), which is why the emitter groups
// them within an iteration.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin %}

// CHECK-LABEL: .entry qwen2_router_route_0_logits_mma_small(
// CHECK-NOT: ld.global
// CHECK: $L__BB[[LOOP:[0-9_]+]]:
// CHECK-COUNT-16: ld.global.v4.b32
// CHECK-NOT: ld.global
// CHECK: bra $L__BB[[LOOP]];
func.func @qwen2_router(%x: tensor<?x3584xbf16> {samoyeds.name = "x"},
                        %r: tensor<64x3584xbf16> {samoyeds.name = "router"})
    -> (tensor<?x8xf32>, tensor<?x8xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(8)
      : (tensor<?x3584xbf16>, tensor<64x3584xbf16>) -> (tensor<?x8xf32>, tensor<?x8xi32>)
  return %w, %ids : tensor<?x8xf32>, tensor<?x8xi32>
}
