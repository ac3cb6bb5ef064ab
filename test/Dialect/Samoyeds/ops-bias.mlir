// RUN: samoyeds-opt %s | samoyeds-opt | FileCheck %s
// RUN: samoyeds-opt %s --mlir-print-op-generic | samoyeds-opt | FileCheck %s
// RUN: samoyeds-opt %s --emit-bytecode | samoyeds-opt | FileCheck %s
// RUN: samoyeds-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Round trip of gpt-oss's layers: the clamped SwiGLU activation (its
// parameters given or defaulted), the expert biases of moe_ffn,
// moe_experts and ssmm, and the router's bias of route and moe_ffn (alone or
// with the experts' biases; bf16, f16 or f32, any router type).

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>

// CHECK-LABEL: func.func @experts_bias(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x256xbf16>,
// CHECK-SAME:    %[[W:[a-zA-Z0-9_]+]]: tensor<?x4xf32>,
// CHECK-SAME:    %[[IDS:[a-zA-Z0-9_]+]]: tensor<?x4xi32>,
// CHECK-SAME:    %[[W13:[a-zA-Z0-9_]+]]: tensor<8x512x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
// CHECK-SAME:    %[[W2:[a-zA-Z0-9_]+]]: tensor<8x256x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
// CHECK-SAME:    %[[B13:[a-zA-Z0-9_]+]]: tensor<8x512xbf16>,
// CHECK-SAME:    %[[B2:[a-zA-Z0-9_]+]]: tensor<8x256xbf16>)
// CHECK: samoyeds.moe_experts %[[X]], %[[W]], %[[IDS]], %[[W13]], %[[W2]] bias(%[[B13]], %[[B2]]) {activation = #samoyeds<activation clamped_swiglu>}
func.func @experts_bias(%x: tensor<?x256xbf16>, %w: tensor<?x4xf32>, %ids: tensor<?x4xi32>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>,
    %b13: tensor<8x512xbf16>, %b2: tensor<8x256xbf16>) -> tensor<?x256xbf16> {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2 bias(%b13, %b2)
      {activation = #samoyeds<activation clamped_swiglu>}
      : (tensor<?x256xbf16>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>, tensor<8x512xbf16>, tensor<8x256xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// The parameters given; no bias (the activation alone).
// CHECK-LABEL: func.func @ffn_params(
// CHECK: samoyeds.moe_ffn %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} top_k(2) {activation = #samoyeds<activation clamped_swiglu>, renormalize, swiglu_alpha = 1.500000e+00 : f64, swiglu_limit = 1.000000e+01 : f64}
func.func @ffn_params(%x: tensor<?x256xf16>, %r: tensor<8x256xf16>,
    %w13: tensor<8x512x256xf16, #ss>, %w2: tensor<8x256x256xf16, #ss>) -> tensor<?x256xf16> {
  %y = samoyeds.moe_ffn %x, %r, %w13, %w2 top_k(2)
      {renormalize, activation = #samoyeds<activation clamped_swiglu>,
       swiglu_alpha = 1.5 : f64, swiglu_limit = 10.0 : f64}
      : (tensor<?x256xf16>, tensor<8x256xf16>, tensor<8x512x256xf16, #ss>,
         tensor<8x256x256xf16, #ss>) -> tensor<?x256xf16>
  return %y : tensor<?x256xf16>
}

// moe_ffn with both biases; dynamic expert count on the bias is allowed.
// CHECK-LABEL: func.func @ffn_bias(
// CHECK-SAME:    %[[B13:[a-zA-Z0-9_]+]]: tensor<?x512xbf16>,
// CHECK-SAME:    %[[B2:[a-zA-Z0-9_]+]]: tensor<8x256xbf16>)
// CHECK: samoyeds.moe_ffn %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} bias(%[[B13]], %[[B2]]) top_k(4)
func.func @ffn_bias(%x: tensor<?x256xbf16>, %r: tensor<8x256xbf16>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>,
    %b13: tensor<?x512xbf16>, %b2: tensor<8x256xbf16>) -> tensor<?x256xbf16> {
  %y = samoyeds.moe_ffn %x, %r, %w13, %w2 bias(%b13, %b2) top_k(4)
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>, tensor<?x512xbf16>, tensor<8x256xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// ssmm with a bias: the gate/up matmul (clamped SwiGLU) and the down
// projection (bias, weighted combine).
// CHECK-LABEL: func.func @ssmm_bias(
// CHECK-SAME:    %[[B:[a-zA-Z0-9_]+]]: tensor<8x512xbf16>,
// CHECK-SAME:    %[[BD:[a-zA-Z0-9_]+]]: tensor<8x256xbf16>,
// CHECK: %[[H:.*]] = samoyeds.ssmm %{{.*}}, %{{.*}}, %{{.*}} gather(%{{.*}}) bias(%[[B]]) epilogue <silu_mul> {activation = #samoyeds<activation clamped_swiglu>, swiglu_limit = 5.000000e+00 : f64}
// CHECK: samoyeds.ssmm %{{.*}}, %[[H]], %{{.*}} combine(%{{.*}}, %{{.*}}) bias(%[[BD]]) epilogue <weighted_combine>
func.func @ssmm_bias(%w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>,
    %x: tensor<?x256xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>,
    %b: tensor<8x512xbf16>, %bd: tensor<8x256xbf16>,
    %rw: tensor<?x4xf32>, %pos: tensor<?x4xi32>) -> tensor<?x256xbf16> {
  %h = samoyeds.ssmm %w13, %x, %off gather(%tok) bias(%b) epilogue <silu_mul>
      {activation = #samoyeds<activation clamped_swiglu>, swiglu_limit = 5.0 : f64}
      : (tensor<8x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<9xi32>, tensor<?xi32>,
         tensor<8x512xbf16>) -> tensor<?x256xbf16>
  %y = samoyeds.ssmm %w2, %h, %off combine(%rw, %pos) bias(%bd) epilogue <weighted_combine>
      : (tensor<8x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<9xi32>, tensor<?x4xf32>,
         tensor<?x4xi32>, tensor<8x256xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// route with the router's bias.
// CHECK-LABEL: func.func @route_bias(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x256xbf16>,
// CHECK-SAME:    %[[R:[a-zA-Z0-9_]+]]: tensor<32x256xbf16>,
// CHECK-SAME:    %[[RB:[a-zA-Z0-9_]+]]: tensor<32xbf16>)
// CHECK: samoyeds.route %[[X]], %[[R]] bias(%[[RB]]) top_k(4) {renormalize} : (tensor<?x256xbf16>, tensor<32x256xbf16>, tensor<32xbf16>) -> (tensor<?x4xf32>, tensor<?x4xi32>)
func.func @route_bias(%x: tensor<?x256xbf16>, %r: tensor<32x256xbf16>, %rb: tensor<32xbf16>)
    -> (tensor<?x4xf32>, tensor<?x4xi32>) {
  %w, %ids = samoyeds.route %x, %r bias(%rb) top_k(4) {renormalize}
      : (tensor<?x256xbf16>, tensor<32x256xbf16>, tensor<32xbf16>) -> (tensor<?x4xf32>, tensor<?x4xi32>)
  return %w, %ids : tensor<?x4xf32>, tensor<?x4xi32>
}

// An f32 router with an f16 bias of a dynamic size; an f32 bias.
// CHECK-LABEL: func.func @route_bias_types(
// CHECK-SAME:    %[[RB16:[a-zA-Z0-9_]+]]: tensor<?xf16>,
// CHECK-SAME:    %[[RB32:[a-zA-Z0-9_]+]]: tensor<8xf32>)
// CHECK: samoyeds.route %{{.*}}, %{{.*}} bias(%[[RB16]]) top_k(2) :
// CHECK: samoyeds.route %{{.*}}, %{{.*}} bias(%[[RB32]]) top_k(1) {routed_scaling_factor = 2.000000e+00 : f64} :
func.func @route_bias_types(%x: tensor<?x256xf16>, %r: tensor<8x256xf32>,
    %rb16: tensor<?xf16>, %rb32: tensor<8xf32>) -> (tensor<?x2xi32>, tensor<?x1xi32>) {
  %w, %ids = samoyeds.route %x, %r bias(%rb16) top_k(2)
      : (tensor<?x256xf16>, tensor<8x256xf32>, tensor<?xf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  %w1, %ids1 = samoyeds.route %x, %r bias(%rb32) top_k(1) {routed_scaling_factor = 2.0 : f64}
      : (tensor<?x256xf16>, tensor<8x256xf32>, tensor<8xf32>) -> (tensor<?x1xf32>, tensor<?x1xi32>)
  return %ids, %ids1 : tensor<?x2xi32>, tensor<?x1xi32>
}

// gpt-oss's whole layer: the experts' biases and the router's; the router's
// alone.
// CHECK-LABEL: func.func @ffn_router_bias(
// CHECK-SAME:    %[[B13:[a-zA-Z0-9_]+]]: tensor<8x512xbf16>,
// CHECK-SAME:    %[[B2:[a-zA-Z0-9_]+]]: tensor<8x256xbf16>,
// CHECK-SAME:    %[[RB:[a-zA-Z0-9_]+]]: tensor<8xbf16>)
// CHECK: samoyeds.moe_ffn %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} bias(%[[B13]], %[[B2]]) router_bias(%[[RB]]) top_k(4) {activation = #samoyeds<activation clamped_swiglu>, renormalize}
// CHECK: samoyeds.moe_ffn %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} router_bias(%[[RB]]) top_k(2) :
func.func @ffn_router_bias(%x: tensor<?x256xbf16>, %r: tensor<8x256xbf16>,
    %w13: tensor<8x512x256xbf16, #ss>, %w2: tensor<8x256x256xbf16, #ss>,
    %b13: tensor<8x512xbf16>, %b2: tensor<8x256xbf16>, %rb: tensor<8xbf16>)
    -> (tensor<?x256xbf16>, tensor<?x256xbf16>) {
  %y = samoyeds.moe_ffn %x, %r, %w13, %w2 bias(%b13, %b2) router_bias(%rb) top_k(4)
      {renormalize, activation = #samoyeds<activation clamped_swiglu>}
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>, tensor<8x512xbf16>, tensor<8x256xbf16>, tensor<8xbf16>)
      -> tensor<?x256xbf16>
  %y2 = samoyeds.moe_ffn %x, %r, %w13, %w2 router_bias(%rb) top_k(2)
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #ss>,
         tensor<8x256x256xbf16, #ss>, tensor<8xbf16>) -> tensor<?x256xbf16>
  return %y, %y2 : tensor<?x256xbf16>, tensor<?x256xbf16>
}

// GENERIC-LABEL: sym_name = "experts_bias"
// GENERIC: "samoyeds.moe_experts"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{activation = #samoyeds<activation clamped_swiglu>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1>}>
// GENERIC-LABEL: sym_name = "ffn_params"
// GENERIC: "samoyeds.moe_ffn"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{activation = #samoyeds<activation clamped_swiglu>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0>, renormalize, routed_scaling_factor = 1.000000e+00 : f64, swiglu_alpha = 1.500000e+00 : f64, swiglu_limit = 1.000000e+01 : f64, top_k = 2 : i64}>
// GENERIC-LABEL: sym_name = "ssmm_bias"
// GENERIC: "samoyeds.ssmm"({{.*}}) <{activation = #samoyeds<activation clamped_swiglu>, epilogue = #samoyeds.epilogue<silu_mul>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 1>, swiglu_limit = 5.000000e+00 : f64}>
// GENERIC: "samoyeds.ssmm"({{.*}}) <{activation = #samoyeds<activation silu>, epilogue = #samoyeds.epilogue<weighted_combine>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 1, 1>}>
// GENERIC-LABEL: sym_name = "route_bias"
// GENERIC: "samoyeds.route"(%{{.*}}, %{{.*}}, %{{.*}}) <{renormalize, routed_scaling_factor = 1.000000e+00 : f64, top_k = 4 : i64}>
// GENERIC-LABEL: sym_name = "ffn_router_bias"
// GENERIC: "samoyeds.moe_ffn"({{.*}}) <{activation = #samoyeds<activation clamped_swiglu>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1>, renormalize, routed_scaling_factor = 1.000000e+00 : f64, top_k = 4 : i64}>
// GENERIC: "samoyeds.moe_ffn"({{.*}}) <{activation = #samoyeds<activation silu>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 1>, routed_scaling_factor = 1.000000e+00 : f64, top_k = 2 : i64}>
