// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-to-ptx | FileCheck %s --check-prefix=PTX

// Kernel symbols are derived from the host function's name. A name that is
// not a PTX identifier has every other byte replaced by '_' (and a '_' put
// before a leading digit); names that map to the same identifier get a
// numeric suffix. Ordinary names are kept as they are.

#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2>

// CHECK-LABEL: func.func @"x-y"
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@x_y_ssmm_0 grid
func.func @"x-y"(%w: tensor<1x64x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                 %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// CHECK-LABEL: func.func @x_y(
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@x_y_ssmm_0_1 grid
func.func @x_y(%w: tensor<1x64x64xbf16, #ss>, %x: tensor<?x64xbf16>,
               %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// CHECK-LABEL: func.func @"1.\C3\A9$"
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@_1___$_ssmm_0 grid
func.func @"1.é$"(%w: tensor<1x64x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                  %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// CHECK-LABEL: func.func @plain_name
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@plain_name_ssmm_0 grid
func.func @plain_name(%w: tensor<1x64x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                      %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// CHECK-LABEL: gpu.module @samoyeds_kernels
// CHECK: gpu.func @x_y_ssmm_0(
// CHECK: gpu.func @x_y_ssmm_0_1(
// CHECK: gpu.func @_1___$_ssmm_0(
// CHECK: gpu.func @plain_name_ssmm_0(

// The PTX names them the same, and LLVM accepts them.
// PTX: gpu.binary @samoyeds_kernels
// PTX-SAME: .entry x_y_ssmm_0(
// PTX-SAME: .entry x_y_ssmm_0_1(
// PTX-SAME: .entry _1___$_ssmm_0(
// PTX-SAME: .entry plain_name_ssmm_0(
