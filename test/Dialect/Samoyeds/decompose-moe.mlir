// RUN: samoyeds-opt %s --samoyeds-decompose-moe | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-decompose-moe | samoyeds-opt | FileCheck %s

// moe_ffn -> route + dispatch + ssmm(gather, silu_mul) + ssmm(combine,
// weighted_combine), with the routing convention moved to the route op.

// Mixtral-8x7B: renormalised top-2 over 8 experts, dynamic token count.
// CHECK-LABEL: func.func @mixtral(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x4096xbf16>,
// CHECK-SAME:    %[[R:[a-zA-Z0-9_]+]]: tensor<8x4096xbf16>,
// CHECK-SAME:    %[[W13:[a-zA-Z0-9_]+]]: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[W2:[a-zA-Z0-9_]+]]: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
// CHECK-NOT:     samoyeds.moe_ffn
// CHECK:         %[[RW:[a-zA-Z0-9_]+]], %[[IDS:[a-zA-Z0-9_]+]] = samoyeds.route %[[X]], %[[R]] top_k(2) {renormalize} : (tensor<?x4096xbf16>, tensor<8x4096xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
// CHECK-NEXT:    %[[TOK:[a-zA-Z0-9_]+]], %[[OFF:[a-zA-Z0-9_]+]], %[[POS:[a-zA-Z0-9_]+]] = samoyeds.dispatch %[[IDS]] experts(8) : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<9xi32>, tensor<?x2xi32>)
// CHECK-NEXT:    %[[H:.*]] = samoyeds.ssmm %[[W13]], %[[X]], %[[OFF]] gather(%[[TOK]]) epilogue <silu_mul> : (tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x14336xbf16>
// CHECK-NEXT:    %[[Y:.*]] = samoyeds.ssmm %[[W2]], %[[H]], %[[OFF]] combine(%[[RW]], %[[POS]]) epilogue <weighted_combine> : (tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<?x14336xbf16>, tensor<9xi32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x4096xbf16>
// CHECK-NEXT:    return %[[Y]] : tensor<?x4096xbf16>
func.func @mixtral(
    %x: tensor<?x4096xbf16>, %router: tensor<8x4096xbf16>,
    %w13: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
    -> tensor<?x4096xbf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2) {renormalize}
      : (tensor<?x4096xbf16>, tensor<8x4096xbf16>,
         tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
      -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

// Qwen2-MoE (57B-A14B shapes, 60 experts, top-4, no renormalisation) in f16
// with 16 static tokens: 64 dispatch slots, an f32 router, and a different
// format for each weight.
// CHECK-LABEL: func.func @qwen2(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<16x2048xf16>,
// CHECK-SAME:    %[[R:[a-zA-Z0-9_]+]]: tensor<60x2048xf32>,
// CHECK-SAME:    %[[W13:[a-zA-Z0-9_]+]]: tensor<60x2816x2048xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[W2:[a-zA-Z0-9_]+]]: tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>)
// CHECK:         %[[RW:[a-zA-Z0-9_]+]], %[[IDS:[a-zA-Z0-9_]+]] = samoyeds.route %[[X]], %[[R]] top_k(4) : (tensor<16x2048xf16>, tensor<60x2048xf32>) -> (tensor<16x4xf32>, tensor<16x4xi32>)
// CHECK-NEXT:    %[[TOK:[a-zA-Z0-9_]+]], %[[OFF:[a-zA-Z0-9_]+]], %[[POS:[a-zA-Z0-9_]+]] = samoyeds.dispatch %[[IDS]] experts(60) : (tensor<16x4xi32>) -> (tensor<64xi32>, tensor<61xi32>, tensor<16x4xi32>)
// CHECK-NEXT:    %[[H:.*]] = samoyeds.ssmm %[[W13]], %[[X]], %[[OFF]] gather(%[[TOK]]) epilogue <silu_mul> : ({{.*}}) -> tensor<64x1408xf16>
// CHECK-NEXT:    %[[Y:.*]] = samoyeds.ssmm %[[W2]], %[[H]], %[[OFF]] combine(%[[RW]], %[[POS]]) epilogue <weighted_combine> : (tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>, tensor<64x1408xf16>, tensor<61xi32>, tensor<16x4xf32>, tensor<16x4xi32>) -> tensor<16x2048xf16>
// CHECK-NEXT:    return %[[Y]] : tensor<16x2048xf16>
func.func @qwen2(
    %x: tensor<16x2048xf16>, %router: tensor<60x2048xf32>,
    %w13: tensor<60x2816x2048xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>)
    -> tensor<16x2048xf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(4)
      : (tensor<16x2048xf16>, tensor<60x2048xf32>,
         tensor<60x2816x2048xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>)
      -> tensor<16x2048xf16>
  return %y : tensor<16x2048xf16>
}
// No renormalisation and the default scale: the route op carries neither.
// CHECK-LABEL: func.func @qwen2_attrs(
// CHECK:         samoyeds.route %{{.*}}, %{{.*}} top_k(4) :
// CHECK-NOT:     renormalize
// CHECK-SAME:    -> (tensor<16x4xf32>, tensor<16x4xi32>)
func.func @qwen2_attrs(
    %x: tensor<16x2048xf16>, %router: tensor<60x2048xf32>,
    %w13: tensor<60x2816x2048xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>)
    -> tensor<16x2048xf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(4)
      : (tensor<16x2048xf16>, tensor<60x2048xf32>,
         tensor<60x2816x2048xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<60x2048x1408xf16, #samoyeds.ss<n = 2, m = 2, v = 64>>)
      -> tensor<16x2048xf16>
  return %y : tensor<16x2048xf16>
}

// DeepSeek-V2: top-6 of 160 experts, scaled by routed_scaling_factor = 16.
// CHECK-LABEL: func.func @deepseek_v2(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x5120xbf16>,
// CHECK-SAME:    %[[R:[a-zA-Z0-9_]+]]: tensor<160x5120xbf16>,
// CHECK-SAME:    %[[W13:[a-zA-Z0-9_]+]]: tensor<160x3072x5120xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[W2:[a-zA-Z0-9_]+]]: tensor<160x5120x1536xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
// CHECK:         %[[RW:[a-zA-Z0-9_]+]], %[[IDS:[a-zA-Z0-9_]+]] = samoyeds.route %[[X]], %[[R]] top_k(6) {routed_scaling_factor = 1.600000e+01 : f64} : (tensor<?x5120xbf16>, tensor<160x5120xbf16>) -> (tensor<?x6xf32>, tensor<?x6xi32>)
// CHECK-NEXT:    %[[TOK:[a-zA-Z0-9_]+]], %[[OFF:[a-zA-Z0-9_]+]], %[[POS:[a-zA-Z0-9_]+]] = samoyeds.dispatch %[[IDS]] experts(160) : (tensor<?x6xi32>) -> (tensor<?xi32>, tensor<161xi32>, tensor<?x6xi32>)
// CHECK-NEXT:    %[[H:.*]] = samoyeds.ssmm %[[W13]], %[[X]], %[[OFF]] gather(%[[TOK]]) epilogue <silu_mul> : ({{.*}}) -> tensor<?x1536xbf16>
// CHECK-NEXT:    %[[Y:.*]] = samoyeds.ssmm %[[W2]], %[[H]], %[[OFF]] combine(%[[RW]], %[[POS]]) epilogue <weighted_combine> : ({{.*}}) -> tensor<?x5120xbf16>
// CHECK-NEXT:    return %[[Y]] : tensor<?x5120xbf16>
func.func @deepseek_v2(
    %x: tensor<?x5120xbf16>, %router: tensor<160x5120xbf16>,
    %w13: tensor<160x3072x5120xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<160x5120x1536xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
    -> tensor<?x5120xbf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(6)
      {routed_scaling_factor = 16.0 : f64}
      : (tensor<?x5120xbf16>, tensor<160x5120xbf16>,
         tensor<160x3072x5120xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<160x5120x1536xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
      -> tensor<?x5120xbf16>
  return %y : tensor<?x5120xbf16>
}

// Renormalisation and scaling together both move to the route op.
// CHECK-LABEL: func.func @renormalize_and_scale(
// CHECK:         samoyeds.route %{{.*}}, %{{.*}} top_k(2) {renormalize, routed_scaling_factor = 2.500000e+00 : f64}
// CHECK-NOT:     samoyeds.moe_ffn
func.func @renormalize_and_scale(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
    -> tensor<?x128xbf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      {renormalize, routed_scaling_factor = 2.5 : f64}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
      -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// Dynamic token count and dynamic expert dimension of the weights: the
// expert count comes from the router.
// CHECK-LABEL: func.func @dynamic_tokens_experts_from_router(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x256xbf16>,
// CHECK-SAME:    %[[R:[a-zA-Z0-9_]+]]: tensor<4x256xbf16>,
// CHECK-SAME:    %[[W13:[a-zA-Z0-9_]+]]: tensor<?x128x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[W2:[a-zA-Z0-9_]+]]: tensor<?x256x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
// CHECK:         %[[RW:[a-zA-Z0-9_]+]], %[[IDS:[a-zA-Z0-9_]+]] = samoyeds.route %[[X]], %[[R]] top_k(1) : (tensor<?x256xbf16>, tensor<4x256xbf16>) -> (tensor<?x1xf32>, tensor<?x1xi32>)
// CHECK-NEXT:    %[[TOK:[a-zA-Z0-9_]+]], %[[OFF:[a-zA-Z0-9_]+]], %[[POS:[a-zA-Z0-9_]+]] = samoyeds.dispatch %[[IDS]] experts(4) : (tensor<?x1xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x1xi32>)
// CHECK-NEXT:    %[[H:.*]] = samoyeds.ssmm %[[W13]], %[[X]], %[[OFF]] gather(%[[TOK]]) epilogue <silu_mul> : (tensor<?x128x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x64xbf16>
// CHECK-NEXT:    %[[Y:.*]] = samoyeds.ssmm %[[W2]], %[[H]], %[[OFF]] combine(%[[RW]], %[[POS]]) epilogue <weighted_combine> : (tensor<?x256x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>, tensor<?x64xbf16>, tensor<5xi32>, tensor<?x1xf32>, tensor<?x1xi32>) -> tensor<?x256xbf16>
// CHECK-NEXT:    return %[[Y]] : tensor<?x256xbf16>
func.func @dynamic_tokens_experts_from_router(
    %x: tensor<?x256xbf16>, %router: tensor<4x256xbf16>,
    %w13: tensor<?x128x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<?x256x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
    -> tensor<?x256xbf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(1)
      : (tensor<?x256xbf16>, tensor<4x256xbf16>,
         tensor<?x128x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x256x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
      -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// Dynamic router rows: the expert count comes from w13. The intermediate
// size is dynamic too (w13 rows unknown), so the gate/up result is ?x?.
// CHECK-LABEL: func.func @experts_from_w13_dynamic_intermediate(
// CHECK:         samoyeds.route %{{.*}}, %{{.*}} top_k(2) : (tensor<?x256xbf16>, tensor<?x256xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
// CHECK-NEXT:    samoyeds.dispatch %{{.*}} experts(8) : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<9xi32>, tensor<?x2xi32>)
// CHECK-NEXT:    samoyeds.ssmm {{.*}} epilogue <silu_mul> : ({{.*}}) -> tensor<?x?xbf16>
// CHECK-NEXT:    samoyeds.ssmm {{.*}} epilogue <weighted_combine> : (tensor<8x256x?xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<?x?xbf16>, tensor<9xi32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x256xbf16>
func.func @experts_from_w13_dynamic_intermediate(
    %x: tensor<?x256xbf16>, %router: tensor<?x256xbf16>,
    %w13: tensor<8x?x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<8x256x?xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
    -> tensor<?x256xbf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x256xbf16>, tensor<?x256xbf16>,
         tensor<8x?x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<8x256x?xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
      -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// Two stacked layers: the second decomposed layer reads the first one's
// combined output; existing ops are left alone.
// CHECK-LABEL: func.func @two_layers(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x128xbf16>,
// CHECK-SAME:    %[[R:[a-zA-Z0-9_]+]]: tensor<4x128xbf16>,
// CHECK-SAME:    %[[W13:[a-zA-Z0-9_]+]]: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[W2:[a-zA-Z0-9_]+]]: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
// CHECK:         samoyeds.route %[[X]], %[[R]]
// CHECK:         samoyeds.dispatch
// CHECK:         samoyeds.ssmm %[[W13]], %[[X]]
// CHECK:         %[[Y1:.*]] = samoyeds.ssmm %[[W2]]
// CHECK:         samoyeds.route %[[Y1]], %[[R]]
// CHECK:         samoyeds.dispatch
// CHECK:         samoyeds.ssmm %[[W13]], %[[Y1]]
// CHECK:         %[[Y2:.*]] = samoyeds.ssmm %[[W2]]
// CHECK:         return %[[Y2]]
func.func @two_layers(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
    -> tensor<?x128xbf16> {
  %y1 = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2) {renormalize}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
      -> tensor<?x128xbf16>
  %y2 = samoyeds.moe_ffn %y1, %router, %w13, %w2 top_k(2) {renormalize}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
      -> tensor<?x128xbf16>
  return %y2 : tensor<?x128xbf16>
}

// Nothing to decompose: an ssmm with a tile is kept as written.
// CHECK-LABEL: func.func @no_moe(
// CHECK:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 2, tokens = 16, k = 32, stages = 3>}
// CHECK-NOT:     samoyeds.route
func.func @no_moe(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      {tile = #samoyeds.tile<warps = 2, tokens = 16, k = 32, stages = 3>}
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// moe_experts: the same experts without a route op; the caller's ids feed the
// dispatch and its weights the combine (DeepSeek-V3 shapes, top-8 of 256).
// CHECK-LABEL: func.func @experts_only(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x7168xbf16>,
// CHECK-SAME:    %[[W:[a-zA-Z0-9_]+]]: tensor<?x8xf32>,
// CHECK-SAME:    %[[IDS:[a-zA-Z0-9_]+]]: tensor<?x8xi32>,
// CHECK-SAME:    %[[W13:[a-zA-Z0-9_]+]]: tensor<256x4096x7168xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
// CHECK-SAME:    %[[W2:[a-zA-Z0-9_]+]]: tensor<256x7168x2048xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
// CHECK-NOT:     samoyeds.route
// CHECK:         %[[TOK:[a-zA-Z0-9_]+]], %[[OFF:[a-zA-Z0-9_]+]], %[[POS:[a-zA-Z0-9_]+]] = samoyeds.dispatch %[[IDS]] experts(256) : (tensor<?x8xi32>) -> (tensor<?xi32>, tensor<257xi32>, tensor<?x8xi32>)
// CHECK-NEXT:    %[[H:.*]] = samoyeds.ssmm %[[W13]], %[[X]], %[[OFF]] gather(%[[TOK]]) epilogue <silu_mul> : ({{.*}}) -> tensor<?x2048xbf16>
// CHECK-NEXT:    %[[Y:.*]] = samoyeds.ssmm %[[W2]], %[[H]], %[[OFF]] combine(%[[W]], %[[POS]]) epilogue <weighted_combine> : ({{.*}}) -> tensor<?x7168xbf16>
// CHECK-NEXT:    return %[[Y]] : tensor<?x7168xbf16>
func.func @experts_only(
    %x: tensor<?x7168xbf16>, %w: tensor<?x8xf32>, %ids: tensor<?x8xi32>,
    %w13: tensor<256x4096x7168xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<256x7168x2048xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
    -> tensor<?x7168xbf16> {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x7168xbf16>, tensor<?x8xf32>, tensor<?x8xi32>,
         tensor<256x4096x7168xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<256x7168x2048xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>)
      -> tensor<?x7168xbf16>
  return %y : tensor<?x7168xbf16>
}

// Static tokens and a dynamic expert count on w13: w2 gives it.
// CHECK-LABEL: func.func @experts_only_static(
// CHECK:         samoyeds.dispatch %{{.*}} experts(4) : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<5xi32>, tensor<16x2xi32>)
// CHECK:         samoyeds.ssmm {{.*}} epilogue <silu_mul> : ({{.*}}) -> tensor<32x64xbf16>
// CHECK:         samoyeds.ssmm {{.*}} epilogue <weighted_combine> : ({{.*}}) -> tensor<16x128xbf16>
func.func @experts_only_static(
    %x: tensor<16x128xbf16>, %w: tensor<16x2xf32>, %ids: tensor<16x2xi32>,
    %w13: tensor<?x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
    -> tensor<16x128xbf16> {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<16x128xbf16>, tensor<16x2xf32>, tensor<16x2xi32>,
         tensor<?x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
      -> tensor<16x128xbf16>
  return %y : tensor<16x128xbf16>
}

// gpt-oss's experts: the gate/up matmul takes the w13 bias and the clamped
// SwiGLU with its parameters, the down projection the w2 bias.
// CHECK-LABEL: func.func @experts_bias(
// CHECK-SAME:    %[[B13:[a-zA-Z0-9_]+]]: tensor<4x256xbf16>,
// CHECK-SAME:    %[[B2:[a-zA-Z0-9_]+]]: tensor<4x128xbf16>)
// CHECK:         %[[H:.*]] = samoyeds.ssmm {{.*}} gather(%{{.*}}) bias(%[[B13]]) epilogue <silu_mul> {activation = #samoyeds<activation clamped_swiglu>, swiglu_alpha = 2.000000e+00 : f64}
// CHECK:         samoyeds.ssmm {{.*}}, %[[H]], %{{.*}} combine(%{{.*}}, %{{.*}}) bias(%[[B2]]) epilogue <weighted_combine> :
func.func @experts_bias(
    %x: tensor<?x128xbf16>, %w: tensor<?x2xf32>, %ids: tensor<?x2xi32>,
    %w13: tensor<4x256x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
    %w2: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
    %b13: tensor<4x256xbf16>, %b2: tensor<4x128xbf16>) -> tensor<?x128xbf16> {
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2 bias(%b13, %b2)
      {activation = #samoyeds<activation clamped_swiglu>, swiglu_alpha = 2.0 : f64}
      : (tensor<?x128xbf16>, tensor<?x2xf32>, tensor<?x2xi32>,
         tensor<4x256x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
         tensor<4x256xbf16>, tensor<4x128xbf16>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// moe_ffn keeps its routing in the route op and passes the rest on.
// CHECK-LABEL: func.func @ffn_clamped(
// CHECK:         samoyeds.route
// CHECK:         samoyeds.ssmm {{.*}} epilogue <silu_mul> {activation = #samoyeds<activation clamped_swiglu>}
// CHECK-NOT:     bias(
func.func @ffn_clamped(
    %x: tensor<?x128xbf16>, %r: tensor<4x128xbf16>,
    %w13: tensor<4x256x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
    %w2: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  %y = samoyeds.moe_ffn %x, %r, %w13, %w2 top_k(2)
      {activation = #samoyeds<activation clamped_swiglu>}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x256x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// gpt-oss's whole layer: the route takes the router's bias, the matmuls the
// experts' biases.
// CHECK-LABEL: func.func @ffn_router_bias(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x128xbf16>,
// CHECK-SAME:    %[[R:[a-zA-Z0-9_]+]]: tensor<4x128xbf16>,
// CHECK-SAME:    %[[B13:[a-zA-Z0-9_]+]]: tensor<4x256xbf16>,
// CHECK-SAME:    %[[B2:[a-zA-Z0-9_]+]]: tensor<4x128xbf16>,
// CHECK-SAME:    %[[RB:[a-zA-Z0-9_]+]]: tensor<4xbf16>)
// CHECK:         %[[WEIGHTS:.*]], %[[IDS:.*]] = samoyeds.route %[[X]], %[[R]] bias(%[[RB]]) top_k(2) {renormalize} : (tensor<?x128xbf16>, tensor<4x128xbf16>, tensor<4xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
// CHECK:         samoyeds.dispatch %[[IDS]] experts(4)
// CHECK:         samoyeds.ssmm {{.*}} bias(%[[B13]]) epilogue <silu_mul>
// CHECK:         samoyeds.ssmm {{.*}} combine(%[[WEIGHTS]], %{{.*}}) bias(%[[B2]]) epilogue <weighted_combine>
func.func @ffn_router_bias(
    %x: tensor<?x128xbf16>, %r: tensor<4x128xbf16>,
    %w13: tensor<4x256x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
    %w2: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
    %b13: tensor<4x256xbf16>, %b2: tensor<4x128xbf16>,
    %rb: tensor<4xbf16>) -> tensor<?x128xbf16> {
  %y = samoyeds.moe_ffn %x, %r, %w13, %w2 bias(%b13, %b2) router_bias(%rb) top_k(2)
      {renormalize, activation = #samoyeds<activation clamped_swiglu>}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x256x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
         tensor<4x256xbf16>, tensor<4x128xbf16>, tensor<4xbf16>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}
