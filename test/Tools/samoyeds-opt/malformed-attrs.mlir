// RUN: not samoyeds-opt %s -split-input-file 2>&1 | FileCheck %s --implicit-check-not="Stack dump" --implicit-check-not="PLEASE submit"

// samoyeds-opt reports malformed samoyeds attributes at their location and
// exits with an error; it never crashes. (`not` without --crash fails when
// the tool dies on a signal.)

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:60: error: #samoyeds.ss: n = 3 must be in [1, m = 2]
func.func @n_above_m(%w: tensor<4x64x128xbf16, #samoyeds.ss<n = 3, m = 2, v = 128>>) {
  return
}

// -----

// Missing parameters.
// CHECK: malformed-attrs.mlir:[[@LINE+1]]:71: error: expected ','
func.func @missing_params(%w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1>>) {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:78: error: duplicate or unknown struct parameter name: n
func.func @duplicate_param(%w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, n = 1, m = 2, v = 128>>) {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:84: error: expected '>'
func.func @extra_param(%w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128, k = 4>>) {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+2]]:68: error: expected integer value
// CHECK: malformed-attrs.mlir:[[@LINE+1]]:68: error: failed to parse Samoyeds_SparseFormatAttr parameter 'n' which is to be a `int64_t`
func.func @string_param(%w: tensor<4x64x128xbf16, #samoyeds.ss<n = "a", m = 2, v = 128>>) {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:66: error: integer value too large
func.func @huge_param(%w: tensor<4x64x128xbf16, #samoyeds.ss<n = 99999999999999999999, m = 2, v = 128>>) {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:50: error: #samoyeds.ss: m = -9223372036854775808 must be in [1, 16]
func.func @min_int() attributes {a = #samoyeds.ss<n = -9223372036854775808, m = -9223372036854775808, v = 0>} {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:59: error: #samoyeds.ss: v = 48 must be a positive multiple of the mma.sp K step (32)
func.func @bad_span(%w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 48>>) {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:82: error: expected '>' in tensor type
func.func @unclosed(%w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>) {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:61: error: unknown attribute `bar` in dialect `samoyeds`
func.func @unknown_attr(%w: tensor<4x64x128xbf16, #samoyeds.bar<n = 1>>) {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:56: error: expected '<'
func.func @bare_mnemonic() attributes {a = #samoyeds.ss} {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:70: error: expected ::mlir::samoyeds::ActivationKind to be one of: silu
func.func @unknown_activation() attributes {a = #samoyeds<activation gelu>} {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:66: error: expected ::mlir::samoyeds::EpilogueKind to be one of: none, silu_mul, weighted_combine
func.func @unknown_epilogue() attributes {a = #samoyeds.epilogue<relu>} {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:87: error: struct is missing required parameter: k
func.func @tile_missing_params() attributes {a = #samoyeds.tile<warps = 4, tokens = 32>} {
  return
}

// -----

// CHECK: malformed-attrs.mlir:[[@LINE+1]]:55: error: #samoyeds.tile: k = 100 must be a multiple of 32 in [32, 256]
func.func @tile_bad_k() attributes {a = #samoyeds.tile<warps = 4, tokens = 32, k = 100, stages = 2>} {
  return
}
