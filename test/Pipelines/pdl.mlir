// Programmatic dependent launches: with pdl the kernels that serve small
// calls (route, dispatch, the split-K variants) start with
// griddepcontrol.wait (before they touch global memory) and
// griddepcontrol.launch_dependents (the route and dispatch kernels, with the
// default prefetch-before-wait, let their dependents launch first:
// Conversion/SamoyedsToGPU/prefetch-before-wait.mlir), and the manifest marks their launches
// (the down projection's kernels, whose routing is settled, wait after their
// first weight copies: Conversion/SamoyedsToGPU/weights-before-wait.mlir);
// the large calls' matmuls (here the wide variants, which take the calls
// from 128 routed slots per expert) are ordinary launches, while the
// persistent grid of masked rows, bounded above by the wide variant, serves
// the smaller calls as a dependent launch, and so does the combine at every
// size.
// (The split-K variants with their reduction kernel: reduce-in-gather=0;
// Pipelines/reduce-in-gather.mlir checks the down projection's reducing
// kernel, which waits after its weight copies too.)
// Without pdl there is neither. The pipelines' default (-1) turns it on where
// the chip has it (sm_90, sm_90a), off on sm_80.
// RUN: samoyeds-opt %s --samoyeds-decompose-moe --samoyeds-select-tiles="chip=sm_90a" --convert-samoyeds-to-gpu="pdl=true" | FileCheck %s --check-prefix=IR
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a pdl=1 split-k=2 reduce-in-gather=0 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin %}
// RUN: rm -rf %t.off && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a pdl=0 dir=%t.off assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=OFF --implicit-check-not=griddepcontrol < %t.off/kernels.ptx
// RUN: FileCheck %s --check-prefix=OFF --implicit-check-not=pdl < %t.off/manifest.json
// RUN: rm -rf %t.def && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a split-k=2 reduce-in-gather=0 dir=%t.def assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=MANIFEST < %t.def/manifest.json
// RUN: rm -rf %t.80 && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_80 dir=%t.80 assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=OFF --implicit-check-not=griddepcontrol < %t.80/kernels.ptx

// IR-LABEL: func.func @layer
// IR: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@layer_route_0_logits grid(
// IR-SAME: smem(0) pdl args(
// IR-SAME: #samoyeds.launch<@samoyeds_kernels::@layer_route_0_logits_prefill grid(
// IR-SAME: smem(0) pdl args(
// IR-SAME: #samoyeds.launch<@samoyeds_kernels::@layer_route_0_select grid(
// IR-SAME: smem(0) pdl args(
// IR: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@layer_dispatch_1_select grid({{[^)]*}}) block({{[^)]*}}) smem(0) pdl args(
// IR-SAME: #samoyeds.launch<@samoyeds_kernels::@layer_dispatch_1 grid({{[^)]*}}) block({{[^)]*}}) smem(0) pdl args(
// Only constants (hoisted by the conversion's clean-up) come before them.
// IR-LABEL: gpu.func @layer_route_0_logits(
// IR-NOT: memref.load
// IR-NOT: vector.load
// IR: nvvm.griddepcontrol launch_dependents
// IR-NEXT: nvvm.griddepcontrol wait
// IR-LABEL: gpu.func @layer_route_0_select(
// IR-NOT: memref.load
// IR: nvvm.griddepcontrol launch_dependents
// IR-NEXT: nvvm.griddepcontrol wait
// IR-LABEL: gpu.func @layer_dispatch_1(
// IR-NOT: memref.load
// IR-NOT: vector.load
// IR: nvvm.griddepcontrol launch_dependents
// IR-NEXT: nvvm.griddepcontrol wait

// MANIFEST: "launches": [
// MANIFEST: "kernel": "layer_route_0_logits",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_route_0_logits_prefill",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_route_0_select",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_dispatch_1",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_2_persistent_narrow",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_2_wide",
// MANIFEST-NEXT: "smem"
// MANIFEST: "kernel": "layer_ssmm_2_split",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_2_split_reduce",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_3_persistent_narrow",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_3_wide",
// MANIFEST-NEXT: "smem"
// MANIFEST: "kernel": "layer_ssmm_3_combine",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_3_split",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_3_split_combine",
// MANIFEST-NEXT: "pdl": true,

// PTX-LABEL: .entry layer_route_0_logits(
// PTX: griddepcontrol.launch_dependents;
// PTX: griddepcontrol.wait;
// PTX-LABEL: .entry layer_ssmm_2_persistent_narrow(
// PTX: griddepcontrol.wait;
// PTX-LABEL: .entry layer_ssmm_2_wide(
// PTX-NOT: griddepcontrol
// PTX-LABEL: .entry layer_ssmm_2_split(
// PTX: griddepcontrol.wait;
// PTX: griddepcontrol.launch_dependents;
// PTX-LABEL: .entry layer_ssmm_3_split(
// PTX: griddepcontrol.wait;
// PTX: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes

// OFF: layer_route_0

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
