// RUN: samoyeds-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of the expert biases, the router's bias (route,
// moe_ffn) and the gated activation's parameters (moe_ffn, moe_experts,
// ssmm, launch).

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @b13_elt(%x: tensor<?x256xbf16>, %w: tensor<?x4xf32>, %ids: tensor<?x4xi32>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>,
    %b13: tensor<8x512xf16>, %b2: tensor<8x256xbf16>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op w13 bias must have element type 'bf16', got 'tensor<8x512xf16>'}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2 bias(%b13, %b2)
      : (tensor<?x256xbf16>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>, tensor<8x512xf16>, tensor<8x256xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @b13_shape(%x: tensor<?x256xbf16>, %w: tensor<?x4xf32>, %ids: tensor<?x4xi32>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>,
    %b13: tensor<8x256xbf16>, %b2: tensor<8x256xbf16>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op w13 bias must be [8, 512], got 'tensor<8x256xbf16>'}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2 bias(%b13, %b2)
      : (tensor<?x256xbf16>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>, tensor<8x256xbf16>, tensor<8x256xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @b2_shape(%x: tensor<?x256xbf16>, %r: tensor<8x256xbf16>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>,
    %b13: tensor<8x512xbf16>, %b2: tensor<4x256xbf16>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op w2 bias must be [8, 256], got 'tensor<4x256xbf16>'}}
  %y = samoyeds.moe_ffn %x, %r, %w13, %w2 bias(%b13, %b2) top_k(2)
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>, tensor<8x512xbf16>, tensor<4x256xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Generic form: one bias alone.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @one_bias(%x: tensor<?x256xbf16>, %r: tensor<8x256xbf16>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>,
    %b2: tensor<8x256xbf16>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op takes both expert biases or neither, got only the w2 bias}}
  %y = "samoyeds.moe_ffn"(%x, %r, %w13, %w2, %b2)
      <{top_k = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1, 0>}>
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>, tensor<8x256xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @alpha_with_silu(%x: tensor<?x256xbf16>, %r: tensor<8x256xbf16>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op swiglu_alpha goes only with the clamped_swiglu activation}}
  %y = samoyeds.moe_ffn %x, %r, %w13, %w2 top_k(2) {swiglu_alpha = 1.702 : f64}
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @limit_negative(%x: tensor<?x256xbf16>, %w: tensor<?x4xf32>, %ids: tensor<?x4xi32>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op swiglu_limit = -7.000000e+00 must be finite and positive}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      {activation = #samoyeds<activation clamped_swiglu>, swiglu_limit = -7.0 : f64}
      : (tensor<?x256xbf16>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @alpha_inf(%x: tensor<?x256xbf16>, %w: tensor<?x4xf32>, %ids: tensor<?x4xi32>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op swiglu_alpha = INF must be finite and positive}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      {activation = #samoyeds<activation clamped_swiglu>, swiglu_alpha = 0x7FF0000000000000 : f64}
      : (tensor<?x256xbf16>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @ssmm_bias_shape(%w: tensor<8x512x256xbf16, #ss>, %x: tensor<?x256xbf16>,
    %off: tensor<9xi32>, %b: tensor<8x256xbf16>) -> tensor<?x512xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op bias must be [8, 512], got 'tensor<8x256xbf16>'}}
  %y = samoyeds.ssmm %w, %x, %off bias(%b) epilogue <none>
      : (tensor<8x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<9xi32>, tensor<8x256xbf16>)
      -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @ssmm_bias_elt(%w: tensor<8x512x256xbf16, #ss>, %x: tensor<?x256xbf16>,
    %off: tensor<9xi32>, %b: tensor<8x512xf16>) -> tensor<?x512xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op bias must have element type 'bf16', got 'tensor<8x512xf16>'}}
  %y = samoyeds.ssmm %w, %x, %off bias(%b) epilogue <none>
      : (tensor<8x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<9xi32>, tensor<8x512xf16>)
      -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @ssmm_activation_none(%w: tensor<8x512x256xbf16, #ss>, %x: tensor<?x256xbf16>,
    %off: tensor<9xi32>) -> tensor<?x512xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op the clamped_swiglu activation needs the silu_mul epilogue}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none>
      {activation = #samoyeds<activation clamped_swiglu>}
      : (tensor<8x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<9xi32>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @ssmm_limit_with_silu(%w: tensor<8x512x256xbf16, #ss>, %x: tensor<?x256xbf16>,
    %off: tensor<9xi32>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op swiglu_limit goes only with the clamped_swiglu activation}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <silu_mul> {swiglu_limit = 7.0 : f64}
      : (tensor<8x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<9xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// An enum case the dialect does not have.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @unknown_activation(%x: tensor<?x256xbf16>, %r: tensor<8x256xbf16>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>) -> tensor<?x256xbf16> {
  // expected-error @+2 {{expected ::mlir::samoyeds::ActivationKind to be one of: silu, clamped_swiglu}}
  // expected-error @+1 {{failed to parse Samoyeds_ActivationAttr parameter 'value'}}
  %y = samoyeds.moe_ffn %x, %r, %w13, %w2 top_k(2) {activation = #samoyeds<activation gelu>}
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

func.func @router_bias_size(%x: tensor<?x64xbf16>, %r: tensor<8x64xbf16>, %rb: tensor<4xbf16>)
    -> tensor<?x2xi32> {
  // expected-error @+1 {{'samoyeds.route' op router bias must be [8], got 'tensor<4xbf16>'}}
  %w, %ids = samoyeds.route %x, %r bias(%rb) top_k(2)
      : (tensor<?x64xbf16>, tensor<8x64xbf16>, tensor<4xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %ids : tensor<?x2xi32>
}

// -----

// ODS: the router's bias is one-dimensional.
func.func @router_bias_rank(%x: tensor<?x64xbf16>, %r: tensor<8x64xbf16>, %rb: tensor<1x8xbf16>)
    -> tensor<?x2xi32> {
  // expected-error @+1 {{'samoyeds.route' op operand #2 must be 1D tensor of bfloat16 type or 16-bit float or 32-bit float values, but got 'tensor<1x8xbf16>'}}
  %w, %ids = samoyeds.route %x, %r bias(%rb) top_k(2)
      : (tensor<?x64xbf16>, tensor<8x64xbf16>, tensor<1x8xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %ids : tensor<?x2xi32>
}

// -----

// ODS: bf16, f16 or f32.
func.func @router_bias_elt(%x: tensor<?x64xbf16>, %r: tensor<8x64xbf16>, %rb: tensor<8xi32>)
    -> tensor<?x2xi32> {
  // expected-error @+1 {{'samoyeds.route' op operand #2 must be 1D tensor of bfloat16 type or 16-bit float or 32-bit float values, but got 'tensor<8xi32>'}}
  %w, %ids = samoyeds.route %x, %r bias(%rb) top_k(2)
      : (tensor<?x64xbf16>, tensor<8x64xbf16>, tensor<8xi32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %ids : tensor<?x2xi32>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @ffn_router_bias_size(%x: tensor<?x256xbf16>, %r: tensor<8x256xbf16>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>,
    %rb: tensor<16xf32>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op router bias must be [8], got 'tensor<16xf32>'}}
  %y = samoyeds.moe_ffn %x, %r, %w13, %w2 router_bias(%rb) top_k(2)
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>, tensor<16xf32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @ffn_router_bias_elt(%x: tensor<?x256xbf16>, %r: tensor<8x256xbf16>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>,
    %rb: tensor<8xf64>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op operand #4 must be 1D tensor of bfloat16 type or 16-bit float or 32-bit float values, but got 'tensor<8xf64>'}}
  %y = samoyeds.moe_ffn %x, %r, %w13, %w2 router_bias(%rb) top_k(2)
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>, tensor<8xf64>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Generic form: an operand segment list of before the router's bias (six
// entries) is refused.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @six_segments(%x: tensor<?x256xbf16>, %r: tensor<8x256xbf16>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{invalid properties {operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>, top_k = 2 : i64} for op samoyeds.moe_ffn: size mismatch in attribute conversion: 6 vs 7}}
  %y = "samoyeds.moe_ffn"(%x, %r, %w13, %w2)
      <{top_k = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>}>
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
