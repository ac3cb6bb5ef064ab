// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// Weight streams under the L2 evict_first policy (#samoyeds.tile's
// evict_first_experts = x): the decode and split-K variants, which read each
// weight byte once a call, give their weight copies (values and metadata
// here) the policy of createpolicy.fractional in the calls whose routed
// slots reach at most x experts; the ordinary grid never does. (The PTX,
// through ptxas: test/Pipelines/moe-experts-layer.mlir.)
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>

// x = 2 of 4 experts: the split-K variant (P in [1, 2]) copies under the
// policy in every call; the decode variant (P in [3, 8]) only where its
// grid has at most 2 rows of token tiles (token_tiles(P, 8, 4) = P there,
// so never in its calls; a call of more slots copies without a policy).
#some = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, split_k = 2, split_slots = 2, decode_tokens = 8, decode_slots = 8, evict_first_experts = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @some
// CHECK: @some_ssmm_0_decode grid(4, token_tiles(P, 8, 4), 1) {{.*}} when(P in [3, 8])
// CHECK-SAME: @some_ssmm_0_split grid(4, token_tiles(P, 8, 4), 2) {{.*}} when(P in [1, 2])
// CHECK-LABEL: gpu.func @some_ssmm_0_decode(
// CHECK: %[[MBAR:.*]] = llvm.inttoptr %{{.*}} : i32 to !llvm.ptr<3>
// CHECK-NEXT: %[[ROWS:.*]] = gpu.grid_dim  y
// CHECK-NEXT: %[[SMALL:.*]] = arith.cmpi ule, %[[ROWS]], %c2 : index
// CHECK-NEXT: scf.if %[[SMALL]] {
// CHECK-NEXT: %[[POLICY:.*]] = llvm.inline_asm "createpolicy.fractional.L2::evict_first.b64 $0, 1.0;", "=l"  : () -> i64
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %[[MBAR]], %c8192_i32 l2_cache_hint = %[[POLICY]]
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %[[MBAR]], %c1024_i32 l2_cache_hint = %[[POLICY]]
// CHECK-NEXT: } else {
// CHECK-NOT: createpolicy
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %[[MBAR]], %c8192_i32 : !llvm.ptr<7>, <1>
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %[[MBAR]], %c1024_i32 : !llvm.ptr<7>, <1>
// CHECK-NEXT: }
// CHECK-LABEL: gpu.func @some_ssmm_0(
// CHECK-NOT: createpolicy
// CHECK-NOT: l2_cache_hint
// CHECK-LABEL: gpu.func @some_ssmm_0_split(
// CHECK-NOT: grid_dim
// CHECK: %[[SPOLICY:.*]] = llvm.inline_asm "createpolicy.fractional.L2::evict_first.b64 $0, 1.0;", "=l"  : () -> i64
// CHECK: nvvm.cp.async.bulk.shared.cluster.global {{.*}} l2_cache_hint = %[[SPOLICY]]
// CHECK: nvvm.cp.async.bulk.shared.cluster.global {{.*}} l2_cache_hint = %[[SPOLICY]]
func.func @some(%w: tensor<4x256x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                %off: tensor<5xi32>) -> tensor<?x256xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #some}
      : (tensor<4x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
// x >= E: every call of the decode variant, no test of the grid.
#every = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, decode_tokens = 8, decode_slots = 8, evict_first_experts = 4, strategy = wgmma_sp>
// CHECK-LABEL: gpu.func @every_ssmm_0_decode(
// CHECK-NOT: grid_dim
// CHECK: %[[EPOLICY:.*]] = llvm.inline_asm "createpolicy.fractional.L2::evict_first.b64 $0, 1.0;"
// CHECK: nvvm.cp.async.bulk.shared.cluster.global {{.*}} l2_cache_hint = %[[EPOLICY]]
// CHECK-LABEL: gpu.func @every_ssmm_0(
// CHECK-NOT: l2_cache_hint
func.func @every(%w: tensor<4x256x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                 %off: tensor<5xi32>) -> tensor<?x256xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #every}
      : (tensor<4x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
// Omitted (0): no policy anywhere.
#none = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, decode_tokens = 8, decode_slots = 8, strategy = wgmma_sp>
// CHECK-LABEL: gpu.func @none_ssmm_0_decode(
// CHECK-NOT: createpolicy
// CHECK-NOT: l2_cache_hint
// CHECK: gpu.return
func.func @none(%w: tensor<4x256x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                %off: tensor<5xi32>) -> tensor<?x256xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #none}
      : (tensor<4x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
