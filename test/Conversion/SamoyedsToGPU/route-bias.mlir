// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="select-dispatch=false" | FileCheck %s --check-prefix=APART

// The router's bias (gpt-oss): the select kernels, the one after the logits
// (T >= 5) and the one that selects and dispatches small calls (T <= 4),
// take it as their argument before T and add each expert's bias, widened
// to f32, to its logit as they load the logits, before the softmax's
// maximum; the logits kernels are unchanged. With 40 experts lane l holds
// experts l and l + 32; the second is there on lanes 0-7 only: the other
// lanes read expert 0's logit and bias and drop the sum (-inf).
// CHECK-LABEL: func.func @gpt_oss
// CHECK-SAME: #samoyeds.buffer<"router_bias", input, bf16, [40]>
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@gpt_oss_route_0_logits {{.*}} args(buffer("x", 2), buffer("router", 2), buffer("ws_gpt_oss_route_0", 4), symbol(T)) when(T in [1, 32])>,
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@gpt_oss_route_0_select grid(ceil_div(T, 4), 1, 1) block(128, 1, 1) smem(0) args(buffer("ws_gpt_oss_route_0", 4), buffer("result3", 4), buffer("t0", 4), buffer("router_bias", 2), symbol(T)) when(T in [5, ...])>]
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@gpt_oss_dispatch_1_select grid(1, 1, 1) block(128, 1, 1) smem(0) args(buffer("ws_gpt_oss_route_0", 4), buffer("result3", 4), buffer("t0", 4), buffer("result0", 4), buffer("result1", 4), buffer("result2", 4), buffer("router_bias", 2), symbol(T)) when(T in [0, 4])>,

// An f32 bias (4-byte elements) is added as it is loaded.
// CHECK-LABEL: func.func @f32_bias
// CHECK: @f32_bias_route_0_select grid(ceil_div(T, 4), 1, 1) block(128, 1, 1) smem(0) args(buffer("ws_f32_bias_route_0", 4), buffer("result0", 4), buffer("result1", 4), buffer("arg2", 4), symbol(T))>]

// CHECK-LABEL: gpu.func @gpt_oss_route_0_logits(
// CHECK-SAME: %{{.*}}: memref<?xbf16, #gpu.address_space<global>>, %{{.*}}: memref<?xbf16, #gpu.address_space<global>>, %{{.*}}: memref<?xf32, #gpu.address_space<global>>, %{{.*}}: i32)

// CHECK-LABEL: gpu.func @gpt_oss_route_0_select(
// CHECK-SAME: %[[WS:[a-zA-Z0-9_]+]]: memref<?xf32, #gpu.address_space<global>>, %{{.*}}: memref<?xf32, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %[[BIAS:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %{{.*}}: i32)
// CHECK: %[[LANE:.*]] = arith.remui %{{.*}}, %{{.*}} : index
// CHECK: %[[L0:.*]] = memref.load %[[WS]][%{{.*}}]
// CHECK: %[[B0:.*]] = memref.load %[[BIAS]][%[[LANE]]]
// CHECK: %[[B0F:.*]] = arith.extf %[[B0]] : bf16 to f32
// CHECK: %[[S0:.*]] = arith.addf %[[L0]], %[[B0F]] : f32
// CHECK: %[[HAS1:.*]] = arith.cmpi slt, %{{.*}}, %{{.*}} : i32
// CHECK: %[[AT1:.*]] = arith.select %[[HAS1]], %{{.*}}, %{{.*}} : index
// CHECK: %[[L1:.*]] = memref.load %[[WS]][%{{.*}}]
// CHECK: %[[B1:.*]] = memref.load %[[BIAS]][%[[AT1]]]
// CHECK: %[[B1F:.*]] = arith.extf %[[B1]] : bf16 to f32
// CHECK: %[[S1:.*]] = arith.addf %[[L1]], %[[B1F]] : f32
// CHECK: %[[M1:.*]] = arith.select %[[HAS1]], %[[S1]], %{{.*}} : f32
// CHECK: arith.maximumf %[[S0]], %[[M1]] : f32
// CHECK: gpu.subgroup_reduce maxsi
// CHECK: arith.subf %[[S0]], %{{.*}} : f32
// The rounds compare the biased logits.
// CHECK: scf.for
// CHECK: arith.cmpf olt, %[[S0]], %{{.*}} : f32

// CHECK-LABEL: gpu.func @gpt_oss_dispatch_1_select(
// CHECK-SAME: %[[DWS:[a-zA-Z0-9_]+]]: memref<?xf32, #gpu.address_space<global>>, {{.*}}, %[[DBIAS:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %{{.*}}: i32) workgroup(
// CHECK: %[[DL0:.*]] = memref.load %[[DWS]][%{{.*}}]
// CHECK: %[[DB0:.*]] = memref.load %[[DBIAS]][%{{.*}}]
// CHECK: %[[DB0F:.*]] = arith.extf %[[DB0]] : bf16 to f32
// CHECK: %[[DS0:.*]] = arith.addf %[[DL0]], %[[DB0F]] : f32
// CHECK: gpu.subgroup_reduce maxsi
// CHECK: gpu.barrier

// APART-LABEL: func.func @gpt_oss
// APART: @gpt_oss_route_0_select grid(ceil_div(T, 4), 1, 1) block(128, 1, 1) smem(0) args(buffer("ws_gpt_oss_route_0", 4), buffer("result3", 4), buffer("t0", 4), buffer("router_bias", 2), symbol(T))>]
// APART-NOT: @gpt_oss_dispatch_1_select
func.func @gpt_oss(%x: tensor<?x64xbf16> {samoyeds.name = "x"},
                   %r: tensor<40x64xbf16> {samoyeds.name = "router"},
                   %rb: tensor<40xbf16> {samoyeds.name = "router_bias"})
    -> (tensor<?xi32>, tensor<41xi32>, tensor<?x4xi32>, tensor<?x4xf32>) {
  %w, %ids = samoyeds.route %x, %r bias(%rb) top_k(4) {renormalize}
      : (tensor<?x64xbf16>, tensor<40x64xbf16>, tensor<40xbf16>) -> (tensor<?x4xf32>, tensor<?x4xi32>)
  %tok, %off, %pos = samoyeds.dispatch %ids experts(40)
      : (tensor<?x4xi32>) -> (tensor<?xi32>, tensor<41xi32>, tensor<?x4xi32>)
  return %tok, %off, %pos, %w : tensor<?xi32>, tensor<41xi32>, tensor<?x4xi32>, tensor<?x4xf32>
}

// CHECK-LABEL: gpu.func @f32_bias_route_0_select(
// CHECK-SAME: %[[FWS:[a-zA-Z0-9_]+]]: memref<?xf32, #gpu.address_space<global>>, %{{.*}}: memref<?xf32, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %[[FBIAS:[a-zA-Z0-9_]+]]: memref<?xf32, #gpu.address_space<global>>, %{{.*}}: i32)
// CHECK: %[[FL:.*]] = memref.load %[[FWS]][%{{.*}}]
// CHECK: %[[FB:.*]] = memref.load %[[FBIAS]][%{{.*}}]
// CHECK-NOT: arith.extf
// CHECK: arith.addf %[[FL]], %[[FB]] : f32
func.func @f32_bias(%x: tensor<?x64xbf16>, %r: tensor<8x64xf32>, %rb: tensor<8xf32>)
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w2, %ids2 = samoyeds.route %x, %r bias(%rb) top_k(2)
      : (tensor<?x64xbf16>, tensor<8x64xf32>, tensor<8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w2, %ids2 : tensor<?x2xf32>, tensor<?x2xi32>
}
