// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="select-dispatch=false" | FileCheck %s --check-prefix=APART
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s --check-prefix=WIDE

// CHECK-LABEL: func.func @routing
// CHECK-SAME: samoyeds.buffers = [#samoyeds.buffer<"x", input, bf16, [T, 64]>, #samoyeds.buffer<"router", input, bf16, [4, 64]>, #samoyeds.buffer<"result3", output, f32, [T, 2]>, #samoyeds.buffer<"t0", workspace, i32, [T, 2]>, #samoyeds.buffer<"result0", output, i32, [P]>, #samoyeds.buffer<"result1", output, i32, [5]>, #samoyeds.buffer<"result2", output, i32, [T, 2]>, #samoyeds.buffer<"ws_routing_route_0", workspace, f32, [T, 4]>, #samoyeds.buffer<"ws_routing_dispatch_1", workspace, i32, [P, 2]>], samoyeds.weights = []
// Route: logits into a [T, E] workspace (the decode shape up to T = 32, the
// prefill shape above, tensor-core MMAs as x and the router are both bf16 and
// 32 divides the hidden size, from the T at which their grid has 192 blocks
// of 64 tokens: 12288; its 16-byte loads need x and the router 16-byte
// aligned), then softmax and top-k from it. Calls of up to 4 tokens
// select in the dispatch's first kernel instead, which also places the slots:
// one launch for both.
// CHECK: %[[W:.*]]:2 = samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@routing_route_0_logits grid(2, ceil_div(T, 1), 1) block(128, 1, 1) smem(0) args(buffer("x", 2), buffer("router", 2), buffer("ws_routing_route_0", 4), symbol(T)) when(T in [1, 32])>,
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@routing_route_0_logits_prefill grid(1, ceil_div(T, 8), 1) block(64, 1, 1) smem(0) args(buffer("x", 2), buffer("router", 2), buffer("ws_routing_route_0", 4), symbol(T)) when(T in [33, 12287])>,
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@routing_route_0_logits_mma grid(1, ceil_div(T, 64), 1) block(128, 1, 1) smem(0) args(buffer("x", 2, align 16), buffer("router", 2, align 16), buffer("ws_routing_route_0", 4), symbol(T)) when(T in [12288, ...])>,
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@routing_route_0_select grid(ceil_div(T, 4), 1, 1) block(128, 1, 1) smem(0) args(buffer("ws_routing_route_0", 4), buffer("result3", 4), buffer("t0", 4), symbol(T)) when(T in [5, ...])>]
// CHECK-SAME: {routing = #samoyeds.routing<experts = 4, top_k = 2, renormalize = true, routed_scaling_factor = 2.500000e+00 : f64>}
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@routing_dispatch_1_select grid(1, 1, 1) block(128, 1, 1) smem(0) args(buffer("ws_routing_route_0", 4), buffer("result3", 4), buffer("t0", 4), buffer("result0", 4), buffer("result1", 4), buffer("result2", 4), symbol(T)) when(T in [0, 4])>,
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@routing_dispatch_1 grid(4, 1, 1) block(256, 1, 1) smem(0) args(buffer("t0", 4), buffer("result0", 4), buffer("result1", 4), buffer("result2", 4), symbol(P)) when(T in [5, 4095])>,
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@routing_dispatch_1_count grid(ceil_div(P, 1024), 1, 1) block(256, 1, 1) smem(0) args(buffer("t0", 4), buffer("ws_routing_dispatch_1", 4), symbol(P)) when(T in [4096, ...])>,
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@routing_dispatch_1_place grid(ceil_div(P, 1024), 1, 1) block(256, 1, 1) smem(0) args(buffer("t0", 4), buffer("ws_routing_dispatch_1", 4), buffer("result0", 4), buffer("result1", 4), buffer("result2", 4), symbol(P)) when(T in [4096, ...])>](%[[W]]#1)
// APART: @routing_route_0_select grid(ceil_div(T, 4), 1, 1) block(128, 1, 1) smem(0) args(buffer("ws_routing_route_0", 4), buffer("result3", 4), buffer("t0", 4), symbol(T))>]
// APART: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@routing_dispatch_1 grid(4, 1, 1) block(256, 1, 1) smem(0) args(buffer("t0", 4), buffer("result0", 4), buffer("result1", 4), buffer("result2", 4), symbol(P)) when(T in [0, 4095])>,
// APART-SAME: #samoyeds.launch<@samoyeds_kernels::@routing_dispatch_1_count grid(ceil_div(P, 1024), 1, 1) {{.*}} when(T in [4096, ...])>,
// APART-SAME: #samoyeds.launch<@samoyeds_kernels::@routing_dispatch_1_place grid(ceil_div(P, 1024), 1, 1) {{.*}} when(T in [4096, ...])>](
// APART-NOT: @routing_dispatch_1_select

// Decode logits: two warps split the hidden size of one expert; their
// partial sums meet in shared memory and are added in slice order.
// CHECK-LABEL: gpu.func @routing_route_0_logits(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[R:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[LOGITS:[a-zA-Z0-9_]+]]: memref<?xf32, #gpu.address_space<global>>, %{{.*}}: i32)
// CHECK-SAME: workgroup(%[[PART:.*]] : memref<4xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.load %[[X]]
// CHECK: memref.load %[[R]]
// CHECK: gpu.subgroup_reduce add %{{.*}} uniform : (f32) -> f32
// CHECK: memref.store %{{.*}}, %[[PART]]
// CHECK: gpu.barrier
// CHECK: %[[P0:.*]] = memref.load %[[PART]]
// CHECK: %[[P1:.*]] = memref.load %[[PART]]
// CHECK: %[[SUM:.*]] = arith.addf %[[P0]], %[[P1]] : f32
// CHECK: memref.store %[[SUM]], %[[LOGITS]]

// Prefill logits: 8 tokens x 4 experts per warp; with one group of experts
// the hidden size is split over two warps too (32 sums each, added through
// shared memory).
// CHECK-LABEL: gpu.func @routing_route_0_logits_prefill(
// CHECK-SAME: workgroup(%[[PART2:.*]] : memref<64xf32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-32: gpu.subgroup_reduce add
// CHECK: gpu.barrier

// Tensor-core logits: 16 tokens x 8 experts per warp; each lane loads 16
// bytes of its two x rows and its router row per 32-column chunk, the loads
// of a chunk group issued together in the loop (one chunk a group here);
// every chunk is two m16n8k16 MMAs, A and B taken from the same elements of
// the loads.
// CHECK-LABEL: gpu.func @routing_route_0_logits_mma(
// CHECK-SAME: %[[MX:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[MR:[a-zA-Z0-9_]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[MWS:[a-zA-Z0-9_]+]]: memref<?xf32, #gpu.address_space<global>>
// CHECK-NOT: vector.load
// CHECK: scf.for {{.*}} iter_args(%[[ACC:[a-zA-Z0-9_]+]] = %{{.*}}) -> (vector<4xf32>)
// CHECK: %[[XA:.*]] = vector.load %[[MX]]
// CHECK: %[[XB:.*]] = vector.load %[[MX]]
// CHECK: %[[RV:.*]] = vector.load %[[MR]]
// CHECK-NOT: vector.load
// CHECK: %[[A0:.*]] = vector.shuffle %[[XA]], %[[XB]] [0, 1, 8, 9, 2, 3, 10, 11]
// CHECK: %[[B0:.*]] = vector.shuffle %[[RV]], %[[RV]] [0, 1, 2, 3]
// CHECK: %[[D0:.*]] = samoyeds_nvgpu.mma %[[ACC]], %[[A0]], %[[B0]] : vector<8xbf16>, vector<4xbf16> into vector<4xf32>
// CHECK: %[[A1:.*]] = vector.shuffle %[[XA]], %[[XB]] [4, 5, 12, 13, 6, 7, 14, 15]
// CHECK: %[[B1:.*]] = vector.shuffle %[[RV]], %[[RV]] [4, 5, 6, 7]
// CHECK: %[[D1:.*]] = samoyeds_nvgpu.mma %[[D0]], %[[A1]], %[[B1]]
// CHECK: scf.yield %[[D1]]
// CHECK-COUNT-4: memref.store %{{.*}}, %[[MWS]]

// Select: a warp per token; softmax by warp max (one redux.sync on
// order-preserving i32 keys, NaN propagated by a warp OR) and sum
// (ex2.approx through its NVVM intrinsic); k rounds, each the largest logit
// after the last round's in (logit descending, expert ascending) order, lane
// j keeping round j's weight and id; then the weights renormalised, scaled
// and stored by the lanes together.
// CHECK-LABEL: gpu.func @routing_route_0_select(
// CHECK-SAME: %[[WS:[a-zA-Z0-9_]+]]: memref<?xf32, #gpu.address_space<global>>, %[[WTS:[a-zA-Z0-9_]+]]: memref<?xf32, #gpu.address_space<global>>, %[[IDS:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: i32)
// CHECK: %[[L:.*]] = memref.load %[[WS]]
// CHECK: %[[ANYNAN:.*]] = gpu.subgroup_reduce or %{{.*}} uniform : (i32) -> i32
// CHECK: %[[MAXKEY:.*]] = gpu.subgroup_reduce maxsi %{{.*}} uniform : (i32) -> i32
// CHECK: %[[MAXBITS:.*]] = arith.xori %[[MAXKEY]], %{{.*}} : i32
// CHECK: %[[MAXF:.*]] = arith.bitcast %[[MAXBITS]] : i32 to f32
// CHECK: %[[MAX:.*]] = arith.select %{{.*}}, %{{.*}}, %[[MAXF]] : f32
// CHECK: arith.subf %[[L]], %[[MAX]]
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK: %[[DENOM:.*]] = gpu.subgroup_reduce add %{{.*}} uniform : (f32) -> f32
// CHECK: %[[ROUNDS:.*]]:5 = scf.for %[[J:.*]] = %{{.*}} iter_args(%[[LAST:.*]] = %{{.*}}, %[[LASTE:.*]] = %{{.*}}, %[[KEPT:.*]] = %{{.*}}, %[[WREG:.*]] = %{{.*}}, %[[IDREG:.*]] = %{{.*}}) -> (f32, i32, f32, f32, i32)
// CHECK: arith.cmpf olt, %[[L]], %[[LAST]]
// CHECK: arith.cmpf oeq, %[[L]], %[[LAST]]
// CHECK: arith.cmpi sgt, %{{.*}}, %[[LASTE]]
// CHECK: %[[TOPKEY:.*]] = gpu.subgroup_reduce maxsi %{{.*}} uniform : (i32) -> i32
// CHECK: %[[TOPBITS:.*]] = arith.xori %[[TOPKEY]], %{{.*}} : i32
// CHECK: %[[TOP:.*]] = arith.bitcast %[[TOPBITS]] : i32 to f32
// CHECK: %[[CHOSEN:.*]] = gpu.subgroup_reduce minsi %{{.*}} uniform : (i32) -> i32
// CHECK: arith.subf %[[TOP]], %[[MAX]]
// CHECK: %[[WEIGHT:.*]] = arith.divf %{{.*}}, %[[DENOM]] : f32
// CHECK: %[[ID:.*]] = arith.select %{{.*}}, %{{.*}}, %[[CHOSEN]] : i32
// CHECK: %[[KEPT2:.*]] = arith.addf %[[KEPT]], %[[WEIGHT]] : f32
// CHECK: %[[W2:.*]] = arith.select %[[MINE:.*]], %[[WEIGHT]], %[[WREG]] : f32
// CHECK: %[[ID2:.*]] = arith.select %[[MINE]], %[[ID]], %[[IDREG]] : i32
// CHECK: scf.yield %[[TOP]], %[[CHOSEN]], %[[KEPT2]], %[[W2]], %[[ID2]] : f32, i32, f32, f32, i32
// CHECK: %[[SCALED:.*]] = arith.divf %cst{{.*}}, %[[ROUNDS]]#2 : f32
// CHECK: scf.if
// CHECK: %[[STORED:.*]] = arith.mulf %[[ROUNDS]]#3, %[[SCALED]]
// CHECK: memref.store %[[STORED]], %[[WTS]]
// CHECK: memref.store %[[ROUNDS]]#4, %[[IDS]]

// Select and dispatch: warp w selects token w, its lanes storing the ids
// and, clamped, staging them in shared memory (16-byte aligned: the counts
// read it in vectors); after a barrier thread e
// counts the slots below expert e (offsets, e = 0 … 4), and thread s places
// slot s after them and after the lower slots of its expert.
// CHECK-LABEL: gpu.func @routing_dispatch_1_select(
// CHECK-SAME: %[[SLOGITS:[a-zA-Z0-9_]+]]: memref<?xf32, #gpu.address_space<global>>, %[[SW:[a-zA-Z0-9_]+]]: memref<?xf32, #gpu.address_space<global>>, %[[SIDS:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %[[STOK:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %[[SOFF:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %[[SPOS:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: i32)
// CHECK-SAME: workgroup(%[[STAGE:.*]] : memref<128xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: memref.load %[[SLOGITS]]
// CHECK: gpu.subgroup_reduce maxsi
// CHECK: %[[SROUNDS:.*]]:5 = scf.for
// CHECK: memref.store %[[SROUNDS]]#4, %[[SIDS]]
// CHECK: %[[LO:.*]] = arith.maxsi %[[SROUNDS]]#4
// CHECK: %[[CLAMPED:.*]] = arith.minsi %[[LO]]
// CHECK: memref.store %[[CLAMPED]], %[[STAGE]]
// CHECK: gpu.barrier
// CHECK-NOT: memref.load %[[SIDS]]
// CHECK: scf.for %[[E:.*]] = %{{.*}} to %[[EXPERTS1:.*]] step
// CHECK: %[[BELOW:.*]] = scf.for
// CHECK: memref.store %[[BELOW]], %[[SOFF]][%[[E]]]
// CHECK: %[[PLACE:.*]]:2 = scf.for
// CHECK: %[[POSITION:.*]] = arith.addi %[[PLACE]]#0, %[[PLACE]]#1 : i32
// CHECK: memref.store %[[POSITION]], %[[SPOS]]
// CHECK: %[[AT:.*]] = arith.index_cast %[[POSITION]] : i32 to index
// CHECK: memref.store %{{.*}}, %[[STOK]][%[[AT]]]

// Dispatch: a block per expert; ballot + popcount place slots in order;
// from 8192 routed slots (T = 4096) `_count` and `_place` over chunks of
// 1024 slots (dispatch-chunked.mlir).
// CHECK: gpu.func @routing_dispatch_1(%[[IDS2:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[TOK:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[OFF:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[POS:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[P:.*]]: i32)
// CHECK: memref.store %{{.*}}, %[[OFF]]
// CHECK: nvvm.vote.sync ballot
// CHECK: llvm.intr.ctpop
// CHECK: memref.store %{{.*}}, %[[TOK]]
// CHECK: memref.store %{{.*}}, %[[POS]]
func.func @routing(%x: tensor<?x64xbf16> {samoyeds.name = "x"},
                   %r: tensor<4x64xbf16> {samoyeds.name = "router"})
    -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>) {
  %w, %ids = samoyeds.route %x, %r top_k(2) {renormalize, routed_scaling_factor = 2.5}
      : (tensor<?x64xbf16>, tensor<4x64xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  %tok, %off, %pos = samoyeds.dispatch %ids experts(4)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
  return %tok, %off, %pos, %w : tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>
}

// A top_k whose 4 tokens' slots do not fit one block's 128 threads (4 × 40):
// the select and dispatch kernels serve every call.
// WIDE-LABEL: func.func @wide_top_k
// WIDE: @wide_top_k_route_0_select grid(ceil_div(T, 4), 1, 1) block(128, 1, 1) smem(0) args({{.*}})>]
// WIDE: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@wide_top_k_dispatch_1 grid(64, 1, 1) block(256, 1, 1) smem(0) args({{.*}}) when(T in [0, 204])>,
// WIDE-SAME: #samoyeds.launch<@samoyeds_kernels::@wide_top_k_dispatch_1_count grid(ceil_div(P, 1024), 1, 1) block(256, 1, 1) smem(0) args({{.*}}) when(T in [205, ...])>,
// WIDE-SAME: #samoyeds.launch<@samoyeds_kernels::@wide_top_k_dispatch_1_place grid(ceil_div(P, 1024), 1, 1) block(256, 1, 1) smem(0) args({{.*}}) when(T in [205, ...])>](
// WIDE-NOT: @wide_top_k_dispatch_1_select
func.func @wide_top_k(%x: tensor<?x64xbf16>, %r: tensor<64x64xbf16>)
    -> (tensor<?xi32>, tensor<65xi32>, tensor<?x40xi32>, tensor<?x40xf32>) {
  %w, %ids = samoyeds.route %x, %r top_k(40)
      : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> (tensor<?x40xf32>, tensor<?x40xi32>)
  %tok, %off, %pos = samoyeds.dispatch %ids experts(64)
      : (tensor<?x40xi32>) -> (tensor<?xi32>, tensor<65xi32>, tensor<?x40xi32>)
  return %tok, %off, %pos, %w : tensor<?xi32>, tensor<65xi32>, tensor<?x40xi32>, tensor<?x40xf32>
}
