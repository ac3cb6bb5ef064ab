// RUN: not samoyeds-opt %s -split-input-file 2>&1 | FileCheck %s --implicit-check-not="Stack dump" --implicit-check-not="PLEASE submit"
// RUN: not samoyeds-opt %s -split-input-file --samoyeds-decompose-moe --samoyeds-select-tiles 2>&1 | FileCheck %s --implicit-check-not="Stack dump" --implicit-check-not="PLEASE submit"

// Malformed samoyeds ops are reported at their location and samoyeds-opt
// exits with an error (also with the passes requested: they never run on
// input that failed to parse or verify); it never crashes.

// CHECK: malformed-ops.mlir:[[@LINE+2]]:8: error: custom op 'samoyeds.foo' is unknown
func.func @unknown_op(%x: tensor<?x128xbf16>) {
  %y = samoyeds.foo %x : tensor<?x128xbf16>
  return
}

// -----

// CHECK: malformed-ops.mlir:[[@LINE+3]]:8: error: unregistered operation 'samoyeds.foo' found in dialect ('samoyeds') that does not allow unknown operations
func.func @unknown_op_generic(%x: tensor<?x128xbf16>) {
  // Generic form of an op the dialect does not define.
  %y = "samoyeds.foo"(%x) : (tensor<?x128xbf16>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// CHECK: malformed-ops.mlir:[[@LINE+4]]:49: error: custom op 'samoyeds.ssmm' expected ::mlir::samoyeds::EpilogueKind to be one of: none, silu_mul, weighted_combine
func.func @unknown_epilogue(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <gelu>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// CHECK: malformed-ops.mlir:[[@LINE+5]]:7: error: custom op 'samoyeds.ssmm' expected 'epilogue'
func.func @missing_epilogue(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Wrong rank: a 2-D weight.
// CHECK: malformed-ops.mlir:[[@LINE+4]]:8: error: 'samoyeds.ssmm' op operand #0 must be 3D tensor of bfloat16 type or 16-bit float values, but got 'tensor<64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>'
func.func @weight_rank(
    %w: tensor<64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Unranked activations.
// CHECK: malformed-ops.mlir:[[@LINE+4]]:8: error: 'samoyeds.ssmm' op operand #1 must be 2D tensor of bfloat16 type or 16-bit float values, but got 'tensor<*xbf16>'
func.func @unranked_input(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<*xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<*xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Missing encoding on the weight.
// CHECK: malformed-ops.mlir:[[@LINE+3]]:8: error: 'samoyeds.ssmm' op expects weight to carry a #samoyeds.ss encoding, got 'tensor<4x64x128xbf16>'
func.func @missing_encoding(%w: tensor<4x64x128xbf16>, %x: tensor<?x128xbf16>,
                            %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x64x128xbf16>, tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Missing encoding on a moe_ffn weight.
// CHECK: malformed-ops.mlir:[[@LINE+5]]:8: error: 'samoyeds.moe_ffn' op expects w2 to carry a #samoyeds.ss encoding, got 'tensor<4x128x64xbf16>'
func.func @moe_ffn_missing_encoding(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16>) -> tensor<?x128xbf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2) {renormalize}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// Generic form with routing weights but no positions: a verifier crash
// before the fix.
// CHECK: malformed-ops.mlir:[[@LINE+5]]:8: error: 'samoyeds.ssmm' op combine needs both routing weights and positions, got only the routing weights
func.func @combine_without_positions(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>,
    %rw: tensor<?x2xf32>) -> tensor<?x64xbf16> {
  %y = "samoyeds.ssmm"(%w, %x, %offsets, %rw)
      <{epilogue = #samoyeds.epilogue<weighted_combine>,
        operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0>}>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>, tensor<?x2xf32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Generic form with segment sizes that do not add up.
// CHECK: malformed-ops.mlir:[[@LINE+4]]:8: error: 'samoyeds.ssmm' op operand count (3) does not match with the total size (4) specified in attribute 'operandSegmentSizes'
func.func @bad_segments(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  %y = "samoyeds.ssmm"(%w, %x, %offsets)
      <{epilogue = #samoyeds.epilogue<none>,
        operandSegmentSizes = array<i32: 1, 1, 2, 0, 0, 0, 0>}>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Generic form with an epilogue of the wrong attribute kind.
// CHECK: malformed-ops.mlir:[[@LINE+4]]:8: error: invalid properties {epilogue = 3 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0>} for op samoyeds.ssmm: Invalid attribute `epilogue` in property conversion: 3 : i32
func.func @bad_epilogue_kind(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  %y = "samoyeds.ssmm"(%w, %x, %offsets)
      <{epilogue = 3 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0>}>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// CHECK: malformed-ops.mlir:[[@LINE+2]]:47: error: expected attribute value
func.func @top_k_not_integer(%x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>) {
  %w, %ids = samoyeds.route %x, %router top_k(two)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

// CHECK: malformed-ops.mlir:[[@LINE+2]]:3: error: operation defines 1 results but was provided 2 to bind
func.func @result_count(%x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>) {
  %w, %ids = samoyeds.route %x, %router top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>) -> (tensor<?x2xf32>)
  return
}

// -----

// CHECK: malformed-ops.mlir:[[@LINE+2]]:14: error: 'samoyeds.route' op routed_scaling_factor = nan must be positive
func.func @scale_nan(%x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>) {
  %w, %ids = samoyeds.route %x, %router top_k(2) {routed_scaling_factor = 0x7FF8000000000000 : f64}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

// CHECK: malformed-ops.mlir:[[@LINE+2]]:50: error: custom op 'samoyeds.route' 'samoyeds.route' op attribute 'routed_scaling_factor' failed to satisfy constraint: 64-bit float attribute
func.func @scale_integer(%x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>) {
  %w, %ids = samoyeds.route %x, %router top_k(2) {routed_scaling_factor = 2 : i64}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

// CHECK: malformed-ops.mlir:[[@LINE+2]]:46: error: expected '('
func.func @dispatch_no_experts(%ids: tensor<?x2xi32>) {
  %t, %o, %p = samoyeds.dispatch %ids experts
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<9xi32>, tensor<?x2xi32>)
  return
}

// -----

// A syntax error in the middle of a file.
// CHECK: malformed-ops.mlir:[[@LINE+2]]:32: error: expected SSA operand
func.func @syntax_error(%x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>) {
  %w, %ids = samoyeds.route %x, , %router top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return
}
