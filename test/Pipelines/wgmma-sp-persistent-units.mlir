// Unit pairs on the persistent grid (persistent-units=2) through the whole
// pipeline, on a 1:2+2:4 layer of 64 experts. The persistent grid's upper
// variant (two consumer warpgroups, 64 tokens, from the few-slot bound up to
// the wide variant) gives each warpgroup two 64-row units: gate/up its gate
// and up units of the same rows, SiLU·up in registers (no exchange, so no
// named barrier of the consumers), the down projection two of its rows. The
// few-slot variant keeps its four warpgroups of one unit. ptxas assembles
// the paired kernels without serialising a wgmma or spilling. (wide-units=1:
// the wide variant keeps single units and its second width, as before the
// default paired it.)
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-units=1 persistent-units=2 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin > %t/ptxas.log 2>&1 %}
// RUN: %if ptxas %{ FileCheck %s --check-prefix=PTXAS < %t/ptxas.log %}
// RUN: %if ptxas %{ grep -A1 "Function properties for layer_ssmm_._persistent_upper$" %t/ptxas.log | FileCheck %s --check-prefix=UPPER %}
// RUN: rm -rf %t.one && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-units=1 dir=%t.one assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=ONE < %t.one/kernels.ptx
// By default (session 55) only the gate/up's upper grid pairs, from 80
// routed slots per expert (`_persistent_upper_pairs`); below them its
// `_persistent_upper` keeps single units, and the down projection keeps
// them throughout (samoyeds-select-tiles, kPersistentPairsSlotsPerExpert).
// RUN: rm -rf %t.def && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t.def assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=DEF < %t.def/kernels.ptx
// RUN: FileCheck %s --check-prefix=DEF-MANIFEST < %t.def/manifest.json
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.def/kernels.ptx -o %t.def/kernels.cubin > %t.def/ptxas.log 2>&1 %}
// RUN: %if ptxas %{ FileCheck %s --check-prefix=PTXAS-DEF --implicit-check-not=C75 < %t.def/ptxas.log %}

// CHECK-LABEL: .entry layer_ssmm_2_persistent_narrow(
// CHECK: .maxntid 640, 1, 1
// CHECK-LABEL: .entry layer_ssmm_2_persistent_upper(
// CHECK: .maxntid 384, 1, 1
// CHECK-NOT: bar.sync 1,
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.bf16.bf16
// CHECK-NOT: bar.sync 1,
// CHECK: ex2.approx
// CHECK-NOT: bar.sync 1,
// CHECK-LABEL: .entry layer_ssmm_2_wide_low(
// CHECK-LABEL: .entry layer_ssmm_3_persistent_upper(
// CHECK: .maxntid 384, 1, 1
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.bf16.bf16

// (The 8 bytes the 160-token gathered gate/up kernel spills are the
// default's too: docs/TileChoice.md, wide_low_tokens.)
// PTXAS-NOT: warning
// PTXAS-NOT: C75
// PTXAS-DAG: Function properties for layer_ssmm_3_persistent_upper{{$}}
// PTXAS-DAG: Function properties for layer_ssmm_2_persistent_upper{{$}}

// UPPER-COUNT-2: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// DEF-LABEL: .entry layer_ssmm_2_persistent_upper(
// DEF: bar.sync 1, 256;
// DEF-LABEL: .entry layer_ssmm_2_persistent_upper_pairs(
// DEF: .maxntid 384, 1, 1
// DEF-NOT: bar.sync 1,
// DEF: wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.bf16.bf16
// DEF-NOT: bar.sync 1,
// DEF: ex2.approx
// DEF-LABEL: .entry layer_ssmm_3_persistent_upper(
// DEF-NOT: .entry layer_ssmm_3_persistent_upper_pairs(
// DEF-MANIFEST: "kernel": "layer_ssmm_2_persistent_upper",
// DEF-MANIFEST: "when": {
// DEF-MANIFEST-NEXT: "max": 5119,
// DEF-MANIFEST-NEXT: "min": 2560,
// DEF-MANIFEST: "kernel": "layer_ssmm_2_persistent_upper_pairs",
// DEF-MANIFEST: "when": {
// DEF-MANIFEST-NEXT: "max": 8191,
// DEF-MANIFEST-NEXT: "min": 5120,
// PTXAS-DEF: Function properties for layer_ssmm_2_persistent_upper_pairs{{$}}
// PTXAS-DEF-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// ONE-LABEL: .entry layer_ssmm_2_persistent_upper(
// ONE: .maxntid 384, 1, 1
// ONE: bar.sync 1, 256;
// ONE-LABEL: .entry layer_ssmm_2_wide_low(

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @layer(%x: tensor<?x1024xbf16> {samoyeds.name = "x"},
                 %router: tensor<64x1024xbf16> {samoyeds.name = "router"},
                 %w13: tensor<64x2048x1024xbf16, #ss> {samoyeds.name = "w13"},
                 %w2: tensor<64x1024x1024xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x1024xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(8)
      : (tensor<?x1024xbf16>, tensor<64x1024xbf16>, tensor<64x2048x1024xbf16, #ss>,
         tensor<64x1024x1024xbf16, #ss>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
