// 128-token blocks of the Hopper warpgroup strategy (plain 2:4): forced for
// every unsplit call (tokens=128 split-k=1; the split-K variant with 128
// tokens spills 12 bytes), as the wide variant for large calls of two
// consumer warpgroups (warpgroups=2 wide-tokens=128), as the default's
// 112-token wide variant of four, and as the opt-in persistent grid's wide tile
// (persistent=1: 128 tokens from 96 routed slots per expert, SiLU·up
// included). The consumers' first k tile is peeled, so ptxas assembles the
// m64n128k32 MMAs without serialising them (C7515: left in the K loop, the
// undefined accumulators it restarts made ptxas 12.8 serialise every wgmma
// of the kernel) and without spilling.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a tokens=128 split-k=1 wide-tokens=0 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.p && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a persistent=1 dir=%t.p assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=PERSIST < %t.p/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.p/kernels.ptx -o %t.p/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.w && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a warpgroups=2 wide-units=1 wide-tokens=128 wide-slots=256 dir=%t.w assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=WIDE-MANIFEST < %t.w/manifest.json
// RUN: FileCheck %s --check-prefix=WIDE < %t.w/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.w/kernels.ptx -o %t.w/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.4 && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-units=1 dir=%t.4 assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=WIDE4 < %t.4/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.4/kernels.ptx -o %t.4/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS4 %}
// RUN: rm -rf %t.d && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a decode-warpgroups=2 wide-units=1 dir=%t.d assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=DECWG < %t.d/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.d/kernels.ptx -o %t.d/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS4 %}

// PTX-LABEL: .entry layer_ssmm_2(
// PTX: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// PTX-LABEL: .entry layer_ssmm_3(
// PTX: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// PERSIST-LABEL: .entry layer_ssmm_2_persistent(
// PERSIST: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// PERSIST-LABEL: .entry layer_ssmm_3_persistent(
// PERSIST: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16

// The wide variant of two warpgroups (wide-tokens=128): from 256 routed slots per
// expert (2048 for 8 experts) both matmuls run 128-token blocks.
// WIDE-MANIFEST: "kernel": "layer_ssmm_2_wide",
// WIDE-MANIFEST: "kernel": "layer_ssmm_3_wide",
// WIDE-LABEL: .entry layer_ssmm_2_wide(
// WIDE: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16
// WIDE-LABEL: .entry layer_ssmm_3_wide(
// WIDE: wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16

// Single units (wide-units=1; the default wherever plain 2:4's pairs would
// not fill the SMs, as on this layer's gate/up, and everywhere before
// session 49): four consumer warpgroups (256 kept rows a block, 640
// threads) and a 112-token wide variant from 128 routed slots per expert.
// The threads start with 96 registers each; the consumers take 104 (more
// would never be granted: setmaxnreg moves registers only within the block),
// enough for the 56 accumulators of 112 tokens, and the producer keeps the
// 64 they leave: with 56 ptxas spilled the weighted-combine wide kernel's
// producer loop 8 bytes (session 46's SASS audit; the change timed 1.00x,
// bench/RESULTS.md §S47). ptxas serialises none of its wgmma.
// PTXAS4-NOT: warning
// PTXAS4-NOT: C75
// PTXAS4: Function properties for layer_ssmm_3_wide
// PTXAS4-NEXT: , 0 bytes spill stores, 0 bytes spill loads
// WIDE4-LABEL: .entry layer_ssmm_2_wide(
// WIDE4: .maxntid 640, 1, 1
// WIDE4: setmaxnreg.inc.sync.aligned.u32 104
// WIDE4: wgmma.mma_async.sp.sync.aligned.m64n112k32.f32.bf16.bf16
// WIDE4: setmaxnreg.dec.sync.aligned.u32 64
// WIDE4-LABEL: .entry layer_ssmm_3_wide(
// WIDE4: .maxntid 640, 1, 1
// WIDE4: wgmma.mma_async.sp.sync.aligned.m64n112k32.f32.bf16.bf16

// decode-warpgroups=2 (beside single wide units, as above): the decode
// variants keep two consumer warpgroups
// (384 threads, 224 registers) under the four of the persistent grid that
// serves the calls below the wide variant (the experts fit the L2, so the
// block order is not grouped).
// DECWG-LABEL: .entry layer_ssmm_2_decode(
// DECWG: .maxntid 384, 1, 1
// DECWG: setmaxnreg.inc.sync.aligned.u32 224
// DECWG-LABEL: .entry layer_ssmm_2_persistent_narrow(
// DECWG: .maxntid 640, 1, 1
// DECWG: setmaxnreg.inc.sync.aligned.u32 104

// PTXAS-NOT: warning
// PTXAS-NOT: C75
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill

#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
func.func @layer(%x: tensor<?x4096xbf16> {samoyeds.name = "x"},
                 %router: tensor<8x4096xbf16> {samoyeds.name = "router"},
                 %w13: tensor<8x1024x4096xbf16, #ss> {samoyeds.name = "w13"},
                 %w2: tensor<8x4096x512xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x4096xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x4096xbf16>, tensor<8x4096xbf16>, tensor<8x1024x4096xbf16, #ss>,
         tensor<8x4096x512xbf16, #ss>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
