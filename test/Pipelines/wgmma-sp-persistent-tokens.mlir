// The persistent grid of the large calls with other tiles than 128 tokens
// (`persistent=1 persistent-units=2 persistent-tokens=144`) through the
// whole pipeline, on Mixtral's plain 2:4 experts: every unsplit call from 96
// routed slots per expert runs the persistent grid's unit pairs of 144
// tokens (m64n144 MMAs, the default wide variant's tile), whose ring runs on
// into the block's next tile. ptxas assembles those kernels without
// spilling, and no kernel with a serialised wgmma: the paired 64-token grid
// below them (`_persistent_narrow`) peels its first k tile, which LLVM does
// not for unit pairs (until session 51 ptxas serialised it, C7515).
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a persistent=1 persistent-units=2 persistent-tokens=144 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: FileCheck %s --check-prefix=NOWIDE < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin > %t/ptxas.log 2>&1 %}
// RUN: %if ptxas %{ grep -A1 "Function properties for mixtral24_ssmm_._persistent$" %t/ptxas.log | FileCheck %s --check-prefix=LARGE %}
// RUN: %if ptxas %{ FileCheck %s --check-prefix=PTXAS < %t/ptxas.log %}

// CHECK-LABEL: .entry mixtral24_ssmm_1_persistent_narrow(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.bf16.bf16
// CHECK-LABEL: .entry mixtral24_ssmm_1_persistent(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n144k32.f32.bf16.bf16
// CHECK-LABEL: .entry mixtral24_ssmm_2_persistent(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n144k32.f32.bf16.bf16
// NOWIDE-NOT: _wide

// LARGE-COUNT-2: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// PTXAS-NOT: warning
// PTXAS-NOT: C75

#ss = #samoyeds.ss<n = 2, m = 2, v = 128>
func.func @mixtral24(%x: tensor<?x4096xbf16> {samoyeds.name = "x"},
    %w: tensor<?x2xf32> {samoyeds.name = "topk_weights"},
    %ids: tensor<?x2xi32> {samoyeds.name = "topk_ids"},
    %w13: tensor<8x28672x4096xbf16, #ss> {samoyeds.name = "w13"},
    %w2: tensor<8x4096x14336xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x4096xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x4096xbf16>, tensor<?x2xf32>, tensor<?x2xi32>, tensor<8x28672x4096xbf16, #ss>, tensor<8x4096x14336xbf16, #ss>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
