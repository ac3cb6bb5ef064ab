// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// gpt-oss's expert matmuls on mma_sp: the bias is the kernel's last argument
// and the launch's last buffer; each thread loads the bias of the rows its
// accumulators hold (two a fragment: rows g and g + 8 of a 16-row tile; with
// 1:2 row selection the dense rows 2k + mIdx) and adds it before the
// epilogue. The clamped SwiGLU clamps the gate from above and the up row on
// both sides (NaN-propagating minimumf / maximumf), scales the sigmoid by
// alpha and multiplies by up + 1.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
#tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2>
// CHECK-LABEL: func.func @gate_up(
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@gate_up_ssmm_0 {{.*}} args({{.*}}, buffer("y", 2), buffer("bias", 2))>]
// CHECK-SAME: {activation = #samoyeds<activation clamped_swiglu>, epilogue = #samoyeds.epilogue<silu_mul>, swiglu_limit = 5.000000e+00 : f64}
// CHECK: gpu.func @gate_up_ssmm_0({{.*}}, %[[Y:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[BIAS:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK-DAG: %[[LIMIT:.*]] = arith.constant dense<5.000000e+00> : vector<4xf32>
// CHECK-DAG: %[[NEG:.*]] = arith.constant dense<-5.000000e+00> : vector<4xf32>
// CHECK-DAG: %[[SCALE:.*]] = arith.constant dense<-2.45546699> : vector<4xf32>
// CHECK-DAG: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : vector<4xf32>
// CHECK: samoyeds_nvgpu.mma_sp
// CHECK: %[[B0:.*]] = memref.load %[[BIAS]]
// CHECK: arith.extf %[[B0]] : bf16 to f32
// CHECK: %[[G:.*]] = arith.addf
// CHECK: %[[GC:.*]] = arith.minimumf %[[G]], %[[LIMIT]] : vector<4xf32>
// CHECK: arith.mulf %[[GC]], %[[SCALE]]
// CHECK: arith.divf %[[GC]]
// CHECK: %[[U:.*]] = arith.addf
// CHECK: %[[UC:.*]] = arith.minimumf %[[U]], %[[LIMIT]] : vector<4xf32>
// CHECK: %[[UL:.*]] = arith.maximumf %[[UC]], %[[NEG]] : vector<4xf32>
// CHECK: arith.addf %[[UL]], %[[ONE]] : vector<4xf32>
// CHECK: memref.store %{{.*}}, %[[Y]]
func.func @gate_up(%w: tensor<2x256x256xbf16, #ss> {samoyeds.name = "w"},
    %x: tensor<?x256xbf16> {samoyeds.name = "x"}, %off: tensor<3xi32> {samoyeds.name = "offsets"},
    %tok: tensor<?xi32> {samoyeds.name = "tokens"}, %b: tensor<2x256xbf16> {samoyeds.name = "bias"})
    -> (tensor<?x128xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) bias(%b) epilogue <silu_mul>
      {tile = #tile, activation = #samoyeds<activation clamped_swiglu>, swiglu_limit = 5.0 : f64}
      : (tensor<2x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?xi32>,
         tensor<2x256xbf16>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// Split-K: only slice 0 adds the bias to its partial sums; the reduction
// kernel sums the slices and applies the clamped SwiGLU (default limit 7).
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 64, stages = 2, split_k = 2, split_slots = 16>
// CHECK-LABEL: gpu.func @split_bias_ssmm_0_split(
// CHECK-SAME: %[[BIAS:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: %[[B:.*]] = memref.load %[[BIAS]]
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %block_id_z, %c0 : index
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC:.*]], %{{.*}} : vector<4xf32>
// CHECK: arith.select %[[FIRST]], %[[SUM]], %[[ACC]] : vector<4xf32>
// CHECK-LABEL: gpu.func @split_bias_ssmm_0_split_reduce(
// CHECK-NOT: memref.load %arg2
// CHECK: arith.minimumf %{{.*}}, %{{.*}} : f32
// CHECK: llvm.nvvm.ex2.approx.ftz.f
// CHECK: %[[UC:.*]] = arith.minimumf %{{.*}}, %[[L:.*]] : f32
// CHECK: arith.maximumf %[[UC]], %{{.*}} : f32
func.func @split_bias(%w: tensor<2x64x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                      %off: tensor<3xi32>, %tok: tensor<?xi32>, %b: tensor<2x64xbf16>) -> tensor<?x32xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) bias(%b) epilogue <silu_mul>
      {tile = #tile, activation = #samoyeds<activation clamped_swiglu>}
      : (tensor<2x64x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?xi32>,
         tensor<2x64xbf16>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// The down projection: its bias enters the slot rows the combine reads;
// the combine kernels are those of a projection without a bias.
#ss = #samoyeds.ss<n = 4, m = 4, v = 64>
#tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2>
// CHECK-LABEL: func.func @down_bias(
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@down_bias_ssmm_0 {{.*}} buffer("bias", 2))>, #samoyeds.launch<@samoyeds_kernels::@down_bias_ssmm_0_combine
// CHECK-SAME: {epilogue = #samoyeds.epilogue<weighted_combine>}
// CHECK: gpu.func @down_bias_ssmm_0({{.*}}, %[[BIAS:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: memref.load %[[BIAS]]
// CHECK-NOT: minimumf
// CHECK: gpu.func @down_bias_ssmm_0_combine(%{{[a-z0-9]+}}: memref<?xbf16, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xf32, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xi32, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xbf16, #gpu.address_space<global>>) kernel
func.func @down_bias(%w: tensor<2x128x256xbf16, #ss>, %h: tensor<?x256xbf16>, %off: tensor<3xi32>,
                     %rw: tensor<?x2xf32>, %pos: tensor<?x2xi32>,
                     %b: tensor<2x128xbf16> {samoyeds.name = "bias"}) -> tensor<?x128xbf16> {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) bias(%b) epilogue <weighted_combine>
      {tile = #tile}
      : (tensor<2x128x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?x2xf32>,
         tensor<?x2xi32>, tensor<2x128xbf16>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}
