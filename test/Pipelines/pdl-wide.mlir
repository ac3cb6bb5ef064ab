// pdl-wide: with pdl the wide variants of the expert matmuls, which serve the
// large calls and are otherwise ordinary launches (Pipelines/pdl.mlir), are
// dependent launches too. Each starts with griddepcontrol.wait and
// griddepcontrol.launch_dependents once, though the gate/up projection's two
// wide widths (unit pairs `_wide` and single units `_wide_low`) are each
// launched under several slot ranges. Without pdl there is neither; without
// pdl-wide the wide kernels are as before.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a pdl-wide=1 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin %}
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
// MANIFEST: "kernel": "layer_ssmm_3_wide",
// MANIFEST-NEXT: "pdl": true,
// MANIFEST: "kernel": "layer_ssmm_3_combine",
// MANIFEST-NEXT: "pdl": true,

// PTX-LABEL: .entry layer_ssmm_2_wide_low(
// PTX-NOT: .entry
// PTX: griddepcontrol.wait;
// PTX-NEXT: griddepcontrol.launch_dependents;
// PTX-NOT: griddepcontrol
// PTX: {{^}}}
// PTX-LABEL: .entry layer_ssmm_2_wide(
// PTX-NOT: .entry
// PTX: griddepcontrol.wait;
// PTX-NEXT: griddepcontrol.launch_dependents;
// PTX-NOT: griddepcontrol
// PTX: {{^}}}
// PTX-LABEL: .entry layer_ssmm_3_wide(
// PTX-NOT: .entry
// PTX: griddepcontrol.wait;
// PTX-NEXT: griddepcontrol.launch_dependents;
// PTX-NOT: griddepcontrol
// PTX: {{^}}}
// PTX-LABEL: .entry layer_ssmm_3_combine(

// DEF: "kernel": "layer_ssmm_2_persistent_narrow",
// DEF-NEXT: "pdl": true,
// DEF: "kernel": "layer_ssmm_2_wide_low",
// DEF-NEXT: "smem"
// DEF: "kernel": "layer_ssmm_2_wide",
// DEF-NEXT: "smem"
// DEF: "kernel": "layer_ssmm_3_wide",
// DEF-NEXT: "smem"
// DEF: "kernel": "layer_ssmm_3_combine",
// DEF-NEXT: "pdl": true,

// DEFPTX-LABEL: .entry layer_ssmm_2_wide_low(
// DEFPTX-NOT: griddepcontrol
// DEFPTX: .entry

// OFF: layer_ssmm_2_wide

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
