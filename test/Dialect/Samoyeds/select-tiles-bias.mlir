// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_90a -split-input-file | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a strategy=wgmma_sp" --convert-samoyeds-to-gpu -split-input-file -verify-diagnostics -o /dev/null

// The warpgroup strategy has neither the expert bias nor the clamped SwiGLU
// in its epilogues: on sm_90a the automatic choice gives those matmuls to
// mma_sp where it gives the same shape with SiLU and no bias to wgmma_sp;
// a forced wgmma_sp is refused at the conversion, naming mma_sp.

// CHECK-LABEL: func.func @bias(
// CHECK: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<
// CHECK-NOT: strategy = wgmma_sp
// CHECK-LABEL: func.func @clamped(
// CHECK: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<
// CHECK-NOT: strategy = wgmma_sp
// CHECK-LABEL: func.func @silu(
// CHECK: samoyeds.ssmm {{.*}}strategy = wgmma_sp
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @bias(%w: tensor<8x1024x1024xbf16, #ss>, %x: tensor<?x1024xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>,
                   %b: tensor<8x1024xbf16>) -> tensor<?x512xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op strategy wgmma_sp has no epilogue for an expert bias (strategy mma_sp has)}}
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) bias(%b) epilogue <silu_mul>
      : (tensor<8x1024x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>, tensor<8x1024xbf16>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @clamped(%w: tensor<8x1024x1024xbf16, #ss>, %x: tensor<?x1024xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x512xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op strategy wgmma_sp has no epilogue for the clamped_swiglu activation (strategy mma_sp has)}}
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {activation = #samoyeds<activation clamped_swiglu>}
      : (tensor<8x1024x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @silu(%w: tensor<8x1024x1024xbf16, #ss>, %x: tensor<?x1024xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x512xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x1024x1024xbf16, #ss>, tensor<?x1024xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}
