// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="pdl=true" | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="pdl=true prefetch-before-wait=false" | FileCheck %s --check-prefix=OFF --implicit-check-not=prefetch
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s --check-prefix=NOPDL --implicit-check-not=prefetch --implicit-check-not=griddepcontrol
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin %}

// Prefetch before the wait (the pass's prefetch-before-wait, on by default).
// The dispatch kernels let their dependents launch before they wait, so the
// gate/up kernels are resident while the routing runs. The gate/up matmul
// gathers through the token list the dispatch kernel writes: its decode
// kernel's thread 0, where its token tile row y names an expert (y < 4) and
// the grid has rows for 4 slots an expert (4 + 3 · 4 / 8 = 5 rows of 8-token
// tiles), prefetches into the L2 the ring's first 2 k tiles of values
// (2 · 8 KB) and metadata (2 · 1 KB) of expert y's two units (the gate and up
// rows of row block x: weight tiles 16 · y + x and 16 · y + x + 8), then the
// block waits and lets its dependents launch. Its ordinary grid (no upper
// bound on P) is not a dependent launch; the down projection's routing is
// settled (weights-before-wait.mlir): neither prefetches.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile13 = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, decode_tokens = 8, decode_slots = 4, strategy = wgmma_sp>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, decode_tokens = 8, decode_slots = 4, strategy = wgmma_sp>
// CHECK-LABEL: gpu.func @layer_dispatch_0(
// CHECK-NOT: memref.load
// CHECK: nvvm.griddepcontrol  launch_dependents
// CHECK-NEXT: nvvm.griddepcontrol  wait
// CHECK-LABEL: gpu.func @layer_ssmm_1_decode(
// CHECK-NOT: memref.load
// CHECK: %[[ROWS:.*]] = gpu.grid_dim  y
// CHECK-NEXT: %[[EXPERT:.*]] = arith.cmpi ult, %[[Y:.*]], %c4 : index
// CHECK-NEXT: %[[MANY:.*]] = arith.cmpi uge, %[[ROWS]], %c5 : index
// CHECK-NEXT: %[[LIKELY:.*]] = arith.andi %[[EXPERT]], %[[MANY]]
// CHECK-NEXT: %[[DO:.*]] = arith.andi %{{.*}}, %[[LIKELY]]
// CHECK-NEXT: scf.if %[[DO]] {
// CHECK: %[[FIRST:.*]] = arith.muli %[[Y]], %c16 : index
// CHECK-NEXT: %[[GATE:.*]] = arith.addi %[[FIRST]], %[[X:.*]] : index
// CHECK-NEXT: arith.muli %[[GATE]], %c16384 : index
// CHECK: nvvm.cp.async.bulk.prefetch %{{.*}}, %c16384_i32 : <1>
// CHECK: arith.muli %[[GATE]], %c2048 : index
// CHECK: nvvm.cp.async.bulk.prefetch %{{.*}}, %c2048_i32 : <1>
// CHECK: %[[UPX:.*]] = arith.addi %[[X]], %c8 : index
// CHECK-NEXT: %[[UP:.*]] = arith.addi %[[FIRST]], %[[UPX]] : index
// CHECK: nvvm.cp.async.bulk.prefetch %{{.*}}, %c16384_i32 : <1>
// CHECK: nvvm.cp.async.bulk.prefetch %{{.*}}, %c2048_i32 : <1>
// CHECK-NEXT: }
// CHECK-NEXT: nvvm.griddepcontrol  wait
// CHECK-NEXT: nvvm.griddepcontrol  launch_dependents
// CHECK-NOT: griddepcontrol
// CHECK-LABEL: gpu.func @layer_ssmm_1(
// CHECK-NOT: griddepcontrol
// CHECK-NOT: prefetch
// CHECK-LABEL: gpu.func @layer_ssmm_2_decode(
// CHECK-NOT: prefetch
// CHECK: gpu.return

// OFF-LABEL: gpu.func @layer_dispatch_0(
// OFF-NOT: memref.load
// OFF: nvvm.griddepcontrol  wait
// OFF-NEXT: nvvm.griddepcontrol  launch_dependents
// OFF-LABEL: gpu.func @layer_ssmm_1_decode(
// OFF-NOT: memref.load
// OFF: nvvm.griddepcontrol  wait
// OFF-NEXT: nvvm.griddepcontrol  launch_dependents

// NOPDL: gpu.func @layer_ssmm_1_decode(

// The pipeline's default on sm_90a, through ptxas.
// PTX-LABEL: .entry layer_dispatch_0(
// PTX: griddepcontrol.launch_dependents;
// PTX-NEXT: griddepcontrol.wait;
// PTX-LABEL: .entry layer_ssmm_1_decode(
// PTX-COUNT-4: cp.async.bulk.prefetch.L2.global
// PTX: griddepcontrol.wait;
// PTX-NEXT: griddepcontrol.launch_dependents;
// PTX-LABEL: .entry layer_ssmm_1(
// PTX-NOT: prefetch.L2
// PTX-LABEL: .entry layer_ssmm_2_decode(
// PTX-NOT: prefetch.L2
func.func @layer(%w13: tensor<4x1024x256xbf16, #ss> {samoyeds.name = "w13"},
                 %w2: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w2"},
                 %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                 %ids: tensor<?x2xi32> {samoyeds.name = "ids"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %tok, %off, %pos = samoyeds.dispatch %ids experts(4)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
  %h = samoyeds.ssmm %w13, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile13}
      : (tensor<4x1024x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  %y = samoyeds.ssmm %w2, %h, %off epilogue <none> {tile = #tile}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
