// The three stages of the expert-matmul lowering: NVVM IR, PTX in a
// gpu.binary, and the bundle on disk; the ordinary grid (persistent=0;
// the persistent variant: persistent.mlir).
// RUN: samoyeds-opt %s --pass-pipeline="builtin.module(samoyeds-select-tiles{persistent=0 strategy=mma_sp},convert-samoyeds-to-gpu,gpu.module(convert-samoyeds-nvgpu-to-nvvm,convert-nvgpu-to-nvvm,convert-vector-to-scf,convert-scf-to-cf,expand-strided-metadata,samoyeds-lower-subgroup-reduce,convert-gpu-to-nvvm{has-redux=1},convert-nvvm-to-llvm,canonicalize,cse,reconcile-unrealized-casts))" | FileCheck %s --check-prefix=NVVM
// RUN: samoyeds-opt %s --samoyeds-to-ptx="chip=sm_90a persistent=0 strategy=mma_sp" | FileCheck %s --check-prefix=BIN
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_80 persistent=0 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=PTX80 < %t/kernels.ptx
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json

// NVVM-LABEL: gpu.module @samoyeds_kernels
// NVVM: llvm.func @expert_ssmm_0(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64,
// NVVM-SAME: nvvm.kernel, nvvm.maxntid = array<i32: 128, 1, 1>
// NVVM: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = {{ *}}cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// NVVM: nvvm.cp.async.commit.group
// NVVM: nvvm.cp.async.wait.group 4
// NVVM: nvvm.barrier0
// Masked row selection (1:2): the weight registers, the span's row choices
// of rows g and g + 8 from shared memory, the registers masked to row 1's
// spans, then per activation fragment one mma.sp into the total and one
// with the masked registers into row 1's accumulators; the next k step's
// mma.sp of the fragment takes the results as they are.
// NVVM: %[[AV:.*]] = llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xi32>
// NVVM: llvm.load %{{.*}} : !llvm.ptr<3> -> i8
// NVVM: llvm.load %{{.*}} : !llvm.ptr<3> -> i8
// NVVM: %[[A0:.*]] = llvm.extractelement %[[AV]][%{{.*}} : i64] : vector<4xi32>
// NVVM-NEXT: %[[M0:.*]] = llvm.and %[[A0]], %{{.*}} : i32
// NVVM: %[[B:.*]] = nvvm.ldmatrix %{{.*}} {{{.*}}layout = #nvvm.mma_layout<row>, num = 4 : i32{{.*}}} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
// NVVM: %[[B0:.*]] = llvm.extractvalue %[[B]][0]
// NVVM: %[[D:.*]] = nvvm.mma.sp.sync A[%[[A0]], {{.*}}] B[%[[B0]], {{.*}}] {{.*}}orderedMetadata{{.*}} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// NVVM-NEXT: %[[D0:.*]] = llvm.extractvalue %[[D]][0]
// NVVM: nvvm.mma.sp.sync A[%[[M0]], {{.*}}] B[%[[B0]], {{.*}}]
// NVVM: nvvm.mma.sp.sync A[{{.*}}] B[{{.*}}] C[%[[D0]],
// NVVM-NOT: !llvm.ptr<1> -> i8
// Row 0 of each group is the total minus row 1.
// NVVM: llvm.fsub
// NVVM: llvm.fptrunc %{{.*}} : f32 to bf16

// BIN: gpu.binary @samoyeds_kernels
// BIN-SAME: #nvvm.target<O = 3, chip = "sm_90a", features = "+ptx85">
// BIN-SAME: .version 8.5
// BIN-SAME: .target sm_90a
// BIN-SAME: .visible .entry expert_ssmm_0(
// BIN-SAME: cp.async.cg.shared.global
// BIN-SAME: ld.shared.v4.b32
// BIN-SAME: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// BIN-SAME: mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32

// PTX80: .version 8.5
// PTX80: .target sm_80
// PTX80-LABEL: .visible .entry expert_ssmm_0(
// PTX80: ld.shared.v4.b32
// PTX80: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX80-COUNT-8: mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32
// PTX80: cvt.rn.bf16.f32
// PTX80: st.global.b16

// MANIFEST: "buffers": [
// MANIFEST: "name": "w.values"
// MANIFEST: "name": "w.row_idx"
// MANIFEST: "shape": [
// MANIFEST-NEXT: "T",
// MANIFEST-NEXT: 4096
// MANIFEST: "chip": "sm_80",
// MANIFEST-NOT: "cubin"
// MANIFEST: "epilogue": "none",
// MANIFEST: "function": "expert",
// MANIFEST: "launches": [
// MANIFEST: "block": [
// MANIFEST-NEXT: 128,
// MANIFEST: "kernel": "expert_ssmm_0",
// MANIFEST-NEXT: "smem": 41664
// MANIFEST: "module": "kernels.ptx",
// MANIFEST: "weights": [
// MANIFEST: "m": 2,
// MANIFEST: "n": 1,
// MANIFEST: "v": 128

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @expert(%w: tensor<1x1024x4096xbf16, #ss> {samoyeds.name = "w"},
                  %x: tensor<?x4096xbf16> {samoyeds.name = "x"},
                  %off: tensor<2xi32> {samoyeds.name = "offsets"},
                  %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x1024xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<1x1024x4096xbf16, #ss>, tensor<?x4096xbf16>, tensor<2xi32>,
         tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
