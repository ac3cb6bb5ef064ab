// pdl-wide: with pdl the wide variants of the expert matmuls, which serve the
// large calls and are otherwise ordinary launches (Pipelines/pdl.mlir), are
// dependent launches too. The gate/up projection's wide widths (unit pairs
// `_wide`, single units `_wide_low`) prefetch their token tile row's expert's
// first weight tiles into the L2 before griddepcontrol.wait, as its decode
// variants do; the down projection's start with the wait (their ring's first
// weight copies issued before it, as the decode variants' are, cost them
// spills and time on the H100, bench/RESULTS.md S62), however
// weights-before-wait is set. A wide grid runs several waves, so none issues
// griddepcontrol.launch_dependents: its dependents launch when it completes.
// Without the prefetch (LATE) the conversion starts each width with the wait
// alone, once however many slot ranges launch it. Without pdl there is
// neither; without pdl-wide the wide kernels are as before.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a pdl-wide=1 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin %}
// RUN: rm -rf %t.late && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a pdl-wide=1 prefetch-before-wait=0 dir=%t.late assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=LATE < %t.late/kernels.ptx
// RUN: rm -rf %t.def && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t.def assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=DEF < %t.def/manifest.json
// RUN: FileCheck %s --check-prefix=DEFPTX < %t.def/kernels.ptx
// RUN: rm -rf %t.off && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a pdl=0 pdl-wide=1 dir=%t.off assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=OFF --implicit-check-not=griddepcontrol < %t.off/kernels.ptx
// RUN: FileCheck %s --check-prefix=OFF --implicit-check-not=pdl < %t.off/manifest.json

// MANIFEST: "kernel": "layer_ssmm_2_persistent_narrow",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_2_wide_low",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_2_wide",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_2_wide_low",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_2_wide",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_3_wide_low",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_3_wide",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_3_combine",
// MANIFEST-NEXT: "pdl": true,

// The gate/up widths: the L2 prefetch, then the wait, once.
// PTX-LABEL: .entry layer_ssmm_2_wide_low(
// PTX-NOT: griddepcontrol
// PTX: cp.async.bulk.prefetch.L2.global
// PTX-NOT: cp.async.bulk.shared
// PTX: griddepcontrol.wait;
// PTX-NOT: griddepcontrol
// PTX-LABEL: .entry layer_ssmm_2_wide(
// PTX-NOT: griddepcontrol
// PTX: cp.async.bulk.prefetch.L2.global
// PTX-NOT: cp.async.bulk.shared
// PTX: griddepcontrol.wait;
// PTX-NOT: griddepcontrol
// PTX: .entry
// The down widths: the wait first, then the producer's copies; no
// launch_dependents.
// PTX-LABEL: .entry layer_ssmm_3_wide_low(
// PTX-NOT: {{prefetch.L2|launch_dependents|cp.async.bulk.shared}}
// PTX: griddepcontrol.wait;
// PTX-NOT: griddepcontrol
// PTX: cp.async.bulk.shared::cluster.global
// PTX-NOT: griddepcontrol
// PTX-LABEL: .entry layer_ssmm_3_wide(
// PTX-NOT: {{prefetch.L2|launch_dependents|cp.async.bulk.shared}}
// PTX: griddepcontrol.wait;
// PTX-NOT: griddepcontrol
// PTX: cp.async.bulk.shared::cluster.global
// PTX-NOT: griddepcontrol
// PTX-LABEL: .entry layer_ssmm_3_combine(

// LATE-LABEL: .entry layer_ssmm_2_wide_low(
// LATE-NOT: {{griddepcontrol|prefetch.L2}}
// LATE: griddepcontrol.wait;
// LATE-NOT: griddepcontrol
// LATE-LABEL: .entry layer_ssmm_2_wide(
// LATE-NOT: {{griddepcontrol|prefetch.L2}}
// LATE: griddepcontrol.wait;
// LATE-NOT: griddepcontrol
// LATE: .entry
// LATE-LABEL: .entry layer_ssmm_3_wide_low(
// LATE-NOT: griddepcontrol
// LATE: griddepcontrol.wait;
// LATE-NOT: griddepcontrol
// LATE-LABEL: .entry layer_ssmm_3_wide(
// LATE-NOT: griddepcontrol
// LATE: griddepcontrol.wait;
// LATE-NOT: griddepcontrol
// LATE-LABEL: .entry layer_ssmm_3_combine(

// DEF: "kernel": "layer_ssmm_2_persistent_narrow",
// DEF-NEXT: "pdl": true,
// DEF: "kernel": "layer_ssmm_2_wide_low",
// DEF-NEXT: "smem"
// DEF: "kernel": "layer_ssmm_2_wide",
// DEF-NEXT: "smem"
// DEF: "kernel": "layer_ssmm_3_wide_low",
// DEF-NEXT: "smem"
// DEF: "kernel": "layer_ssmm_3_wide",
// DEF-NEXT: "smem"
// DEF: "kernel": "layer_ssmm_3_combine",
// DEF-NEXT: "pdl": true,
// DEFPTX-LABEL: .entry layer_ssmm_2_wide_low(
// DEFPTX-NOT: {{griddepcontrol|prefetch.L2}}
// DEFPTX-LABEL: .entry layer_ssmm_2_wide(
// DEFPTX-NOT: {{griddepcontrol|prefetch.L2}}
// DEFPTX: .entry
// DEFPTX-LABEL: .entry layer_ssmm_3_wide_low(
// DEFPTX-NOT: griddepcontrol
// DEFPTX-LABEL: .entry layer_ssmm_3_wide(
// DEFPTX-NOT: griddepcontrol
// DEFPTX-LABEL: .entry layer_ssmm_3_combine(

// OFF: layer_ssmm_2_wide

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @layer(%x: tensor<?x512xbf16> {samoyeds.name = "x"},
                 %router: tensor<8x512xbf16> {samoyeds.name = "router"},
                 %w13: tensor<8x512x512xbf16, #ss> {samoyeds.name = "w13"},
                 %w2: tensor<8x512x256xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x512xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x512xbf16>, tensor<8x512xbf16>, tensor<8x512x512xbf16, #ss>,
         tensor<8x512x256xbf16, #ss>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}
