// Row selection over large m on sm_80 (mma_sp): the tile keeps at most 128
// accumulators a thread (16 tokens at m = 16) and no persistent grid above
// m = 4, so no kernel spills. At 64 tokens the main kernel kept 512
// accumulators and spilled 11 KB a thread (docs/Robustness.md).
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_80 dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_80 -v %t/kernels.ptx -o %t/kernels.cubin > %t/ptxas.log 2>&1 %}
// RUN: %if ptxas %{ FileCheck %s --check-prefix=PTXAS < %t/ptxas.log %}

// CHECK-LABEL: .visible .entry expert_ssmm_0_decode(
// CHECK-LABEL: .visible .entry expert_ssmm_0(
// CHECK:       mma.sp::ordered_metadata.sync.aligned.m16n8k32
// CHECK-NOT:   .entry
// PTXAS-COUNT-2: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS-NOT:   bytes stack frame
// PTXAS-NOT:   warning

func.func @expert(
    %w: tensor<8x1024x512xbf16, #samoyeds.ss<n = 1, m = 16, v = 128>> {samoyeds.name = "w"},
    %x: tensor<?x512xbf16> {samoyeds.name = "x"},
    %offsets: tensor<9xi32> {samoyeds.name = "offsets"},
    %tokens: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x1024xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <none>
      : (tensor<8x1024x512xbf16, #samoyeds.ss<n = 1, m = 16, v = 128>>,
         tensor<?x512xbf16>, tensor<9xi32>, tensor<?xi32>)
      -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
