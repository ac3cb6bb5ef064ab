// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// The wide variant's packed input (wide_packed = 1), 1:2 row selection with
// SiLU·up gathering through a token list: the pack kernel runs right before
// the wide kernel, for the same calls, over the same token tiles; it writes
// the workspace of two rows per routed slot ([2, P, 256]) that the wide
// kernel reads instead of x and the token list. A pack block loads its
// token tile's 128 rows (16-byte loads, rows past the tile's slots clamped
// to its last) before it stores them swizzled (chunk j of row r at j ^ (r %
// 8)), zero past the tile's slots. The wide kernel's full barriers expect
// one arrival (the expect_tx of 51328 bytes: two units' weights, metadata
// and row choices, 18560, and the 32768 bytes of the stage's rows), its
// producer thread 0 alone issues the stage's rows as one bulk copy, and no
// thread gathers or fences them.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 512, wide_packed = 1, strategy = wgmma_sp>
// CHECK-LABEL: func.func @packed
// CHECK-SAME: samoyeds.buffers = [{{.*}}#samoyeds.buffer<"ws_packed_ssmm_0_packed", workspace, bf16, [2, P, 256]>
// CHECK: #samoyeds.launch<@samoyeds_kernels::@packed_ssmm_0 grid(2, token_tiles(P, 64, 4), 1) {{.*}} when(P in [0, 511])
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@packed_ssmm_0_pack grid(2, token_tiles(P, 128, 4), 1) block(256, 1, 1) smem(0) args(buffer("x", 2, align 16), buffer("offsets", 4), buffer("tokens", 4), buffer("ws_packed_ssmm_0_packed", 2, align 16)) when(P in [512, ...])
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@packed_ssmm_0_wide grid(2, token_tiles(P, 128, 4), 1) block(384, 1, 1) smem({{[0-9]+}}) args(buffer("w.values", 4), buffer("w.meta", 4), buffer("w.row_idx", 1), buffer("ws_packed_ssmm_0_packed", 2, align 16), buffer("offsets", 4), buffer("y", 2, align 4)) when(P in [512, ...])
// CHECK: gpu.func @packed_ssmm_0_pack(%[[X:.*]]: memref<?xbf16, #gpu.address_space<global>>, %[[OFF:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[TOK:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[WS:.*]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: %[[TILE:.*]] = gpu.block_id  y
// CHECK: scf.if
// CHECK: %[[COUNT:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK: %[[LAST:.*]] = arith.subi %[[COUNT]], %{{.*}} : index
// CHECK: %[[ROW:.*]] = arith.minsi %{{.*}}, %[[LAST]] : index
// CHECK: memref.load %[[TOK]]
// CHECK: %[[V0:.*]] = vector.load %[[X]][%{{.*}}] {alignment = 16 : i64} : memref<?xbf16, #gpu.address_space<global>>, vector<8xbf16>
// CHECK-COUNT-7: vector.load %[[X]]
// CHECK: %[[KEPT:.*]] = arith.cmpi ult, %{{.*}}, %[[COUNT]] : index
// CHECK: %[[SW:.*]] = arith.xori
// CHECK: %[[PICK:.*]] = arith.select %[[KEPT]], %[[V0]], %{{.*}} : vector<8xbf16>
// CHECK: vector.store %[[PICK]], %[[WS]][%{{.*}}] {alignment = 16 : i64}
// CHECK-COUNT-7: vector.store {{.*}}, %[[WS]]
// CHECK: gpu.return
// CHECK: gpu.func @packed_ssmm_0_wide(
// CHECK-NOT: gpu.func
// CHECK: %[[BARS:.*]] = builtin.unrealized_conversion_cast {{.*}} to !nvgpu.mbarrier.group<memorySpace = #gpu.address_space<workgroup>, num_barriers = 8>
// CHECK: nvgpu.mbarrier.init %[[BARS]][%{{.*}}], %[[C1:.*]], predicate
// CHECK: nvgpu.mbarrier.init %[[BARS]][%{{.*}}], %[[C256:.*]], predicate
// CHECK: nvvm.setmaxregister  decrease 56
// CHECK: nvgpu.mbarrier.arrive.expect_tx %[[BARS]][%{{.*}}], %[[TX:.*]] :
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, %c32768_i32 : !llvm.ptr<7>, <1>
// CHECK-NOT: nvgpu.device_async_copy
// CHECK-NOT: nvvm.cp.async.mbarrier.arrive
// CHECK: nvvm.setmaxregister  increase 224
// CHECK-NOT: nvvm.fence.proxy
// CHECK: nvgpu.mbarrier.try_wait.parity %[[BARS]]
// CHECK: samoyeds_nvgpu.wgmma_sp
// CHECK: gpu.return
func.func @packed(%w: tensor<4x512x256xbf16, #ss> {samoyeds.name = "w"},
                  %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                  %off: tensor<5xi32> {samoyeds.name = "offsets"},
                  %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Packed rows in cluster pairs: each block copies one of a stage's two
// 64-column blocks (16384 bytes) to both blocks' rings with one multicast
// bulk copy (mask 0b11), completing on the full barrier at the same offset
// in each; the full barrier's expect_tx still counts the whole stage (51328
// bytes), no third barrier and no forwarding (mapa only for the remote
// releases).
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 512, wide_cluster = 2, wide_packed = 1, strategy = wgmma_sp>
// CHECK-LABEL: func.func @packed_pairs
// CHECK: gpu.func @packed_pairs_ssmm_0_wide(
// CHECK-SAME: nvvm.cluster_dim = array<i32: 2, 1, 1>
// CHECK: %[[BARS:.*]] = builtin.unrealized_conversion_cast {{.*}} to !nvgpu.mbarrier.group<memorySpace = #gpu.address_space<workgroup>, num_barriers = 8>
// CHECK: nvgpu.mbarrier.init %[[BARS]][%{{.*}}], %{{.*}}, predicate
// CHECK: nvgpu.mbarrier.init %[[BARS]][%{{.*}}], %[[C512:.*]], predicate
// CHECK: nvvm.fence.mbarrier.init
// CHECK-NEXT: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// CHECK: nvgpu.mbarrier.arrive.expect_tx %[[BARS]][%{{.*}}], %c51328 :
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, %c16384_i32 multicast_mask = %c3_i16 : !llvm.ptr<7>, <1>
// CHECK-NOT: cp.async.bulk.shared::cluster.shared::cta
// CHECK: nvvm.setmaxregister  increase 224
// CHECK: nvvm.mbarrier.arrive %{{[0-9]+}} : !llvm.ptr<7>
// CHECK: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// CHECK: gpu.return
func.func @packed_pairs(%w: tensor<4x512x256xbf16, #ss> {samoyeds.name = "w"},
                        %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                        %off: tensor<5xi32> {samoyeds.name = "offsets"},
                        %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// An input in slot order (no token list) packs its slot rows; the weighted
// combine's slot-row workspace stays the wide kernel's output, not the pack
// kernel's.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 512, wide_packed = 1, strategy = wgmma_sp>
// CHECK-LABEL: func.func @packed_slots
// CHECK: @packed_slots_ssmm_0_pack grid(2, token_tiles(P, 128, 4), 1) block(256, 1, 1) smem(0) args(buffer("h", 2, align 16), buffer("offsets", 4), buffer("ws_packed_slots_ssmm_0_packed", 2, align 16)) when(P in [512, ...])
// CHECK-SAME: @packed_slots_ssmm_0_wide grid(2, token_tiles(P, 128, 4), 1) {{.*}} args(buffer("w.values", 4), buffer("w.meta", 4), buffer("w.row_idx", 1), buffer("ws_packed_slots_ssmm_0_packed", 2, align 16), buffer("offsets", 4), buffer("ws_packed_slots_ssmm_0", 2, align 4)) when(P in [512, ...])
// CHECK: gpu.func @packed_slots_ssmm_0_pack(%[[H:.*]]: memref<?xbf16, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %[[WS:.*]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: vector.load %[[H]]
// CHECK: vector.store {{.*}}, %[[WS]]
func.func @packed_slots(%w: tensor<4x512x256xbf16, #ss> {samoyeds.name = "w"},
                        %h: tensor<?x256xbf16> {samoyeds.name = "h"},
                        %off: tensor<5xi32> {samoyeds.name = "offsets"},
                        %rw: tensor<?x2xf32> {samoyeds.name = "weights"},
                        %pos: tensor<?x2xi32> {samoyeds.name = "positions"})
    -> (tensor<?x512xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}

// -----

// A wide variant from fewer than experts × (wide_tokens - 1) = 508 slots
// (here 256, half that and more): three rows per routed slot hold every
// call's padded tiles, P + 4 × 127 rows at most.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 256, wide_packed = 1, strategy = wgmma_sp>
// CHECK-LABEL: func.func @packed_three_rows
// CHECK-SAME: #samoyeds.buffer<"ws_packed_three_rows_ssmm_0_packed", workspace, bf16, [3, P, 256]>
// CHECK: @packed_three_rows_ssmm_0_pack grid(2, token_tiles(P, 128, 4), 1) {{.*}} when(P in [256, ...])
func.func @packed_three_rows(%w: tensor<4x512x256xbf16, #ss> {samoyeds.name = "w"},
                             %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                             %off: tensor<5xi32> {samoyeds.name = "offsets"},
                             %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// With token steps (token_step = 32) the wide kernel copies only the rows
// its MMAs read, the tile's slots rounded up to 32; the pack kernel writes
// just those: each pass's load and store sit under `row < bound` (no load
// and no store past it), zero past the tile's slots as before.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 512, wide_packed = 1, token_step = 32, strategy = wgmma_sp>
// CHECK-LABEL: func.func @packed_steps
// CHECK: gpu.func @packed_steps_ssmm_0_pack(%[[X:.*]]: memref<?xbf16, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %[[TOK:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[WS:.*]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: %[[COUNT:.*]] = arith.minsi %{{.*}}, %[[C128:.*]] : index
// CHECK: %[[UP:.*]] = arith.addi %[[COUNT]], %[[C31:.*]] : index
// CHECK: %[[STEPS:.*]] = arith.divui %[[UP]], %[[C32:.*]] : index
// CHECK: %[[ROUND:.*]] = arith.muli %[[STEPS]], %[[C32]] : index
// CHECK: %[[BOUND:.*]] = arith.minsi %[[ROUND]], %[[C128]] : index
// CHECK: %[[LIVE:.*]] = arith.cmpi ult, %[[ROW:.*]], %[[BOUND]] : index
// CHECK: %[[V0:.*]] = scf.if %[[LIVE]] -> (vector<8xbf16>) {
// CHECK: memref.load %[[TOK]]
// CHECK: %[[L0:.*]] = vector.load %[[X]]
// CHECK: scf.yield %[[L0]]
// CHECK: } else {
// CHECK: scf.yield %[[ZERO:.*]] : vector<8xbf16>
// CHECK-COUNT-7: scf.if %{{.*}} -> (vector<8xbf16>)
// CHECK: scf.if %[[LIVE]] {
// CHECK: %[[KEPT:.*]] = arith.cmpi ult, %[[ROW]], %[[COUNT]] : index
// CHECK: %[[PICK:.*]] = arith.select %[[KEPT]], %[[V0]], %[[ZERO]] : vector<8xbf16>
// CHECK: vector.store %[[PICK]], %[[WS]]
// CHECK-COUNT-7: vector.store {{.*}}, %[[WS]]
// CHECK: gpu.return
// CHECK: gpu.func @packed_steps_ssmm_0_wide(
func.func @packed_steps(%w: tensor<4x512x256xbf16, #ss> {samoyeds.name = "w"},
                        %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                        %off: tensor<5xi32> {samoyeds.name = "offsets"},
                        %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Without a wide variant the persistent grid of the large calls packs
// (persistent = 1, wide_packed = 1): the pack kernel of its 128-token tiles
// runs right before it, for its calls (P from persistent_slots), and the
// persistent kernel reads the packed rows, not x and the token list. Its
// full barriers expect one arrival (the expect_tx of two units' weights and
// the stage's 32768 bytes of rows), the producer's warp 0 walks the tiles
// (the token-tile lookup takes a warp), its thread 0 issues every copy, and
// no thread gathers. The calls below persistent_slots keep gathering.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, persistent_slots = 512, persistent_tokens = 128, wide_packed = 1, strategy = wgmma_sp>
// CHECK-LABEL: func.func @persistent_packed
// CHECK-SAME: samoyeds.buffers = [{{.*}}#samoyeds.buffer<"ws_persistent_packed_ssmm_0_packed", workspace, bf16, [2, P, 256]>
// CHECK: #samoyeds.launch<@samoyeds_kernels::@persistent_packed_ssmm_0_persistent_narrow grid(per_sm(1), 1, 1) {{.*}} args({{.*}}buffer("x", 2, align 16), buffer("offsets", 4), buffer("tokens", 4){{.*}}) when(P in [0, 511])
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@persistent_packed_ssmm_0_pack grid(2, token_tiles(P, 128, 4), 1) block(256, 1, 1) smem(0) args(buffer("x", 2, align 16), buffer("offsets", 4), buffer("tokens", 4), buffer("ws_persistent_packed_ssmm_0_packed", 2, align 16)) when(P in [512, ...])
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@persistent_packed_ssmm_0_persistent grid(per_sm(1), 1, 1) block(384, 1, 1) smem({{[0-9]+}}) args(buffer("w.values", 4), buffer("w.meta", 4), buffer("w.row_idx", 1), buffer("ws_persistent_packed_ssmm_0_packed", 2, align 16), buffer("offsets", 4), buffer("y", 2, align 4)) when(P in [512, ...])
// CHECK: gpu.func @persistent_packed_ssmm_0_pack(
// CHECK: gpu.func @persistent_packed_ssmm_0_persistent(
// CHECK-NOT: gpu.func
// CHECK: %[[BARS:.*]] = builtin.unrealized_conversion_cast {{.*}} to !nvgpu.mbarrier.group<memorySpace = #gpu.address_space<workgroup>, num_barriers = 6>
// CHECK: nvgpu.mbarrier.init %[[BARS]][%{{.*}}], %[[C1:.*]], predicate
// CHECK: nvvm.setmaxregister  decrease 56
// CHECK: %[[WARP0:.*]] = arith.cmpi eq, %{{.*}}, %{{.*}} : index
// CHECK: scf.if %[[WARP0]] {
// CHECK: scf.for
// CHECK: gpu.shuffle  up
// CHECK: nvgpu.mbarrier.arrive.expect_tx %[[BARS]][%{{.*}}], %[[TX:.*]] :
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, %c32768_i32 : !llvm.ptr<7>, <1>
// CHECK-NOT: nvgpu.device_async_copy
// CHECK-NOT: nvvm.cp.async.mbarrier.arrive
// CHECK: nvvm.setmaxregister  increase 224
// CHECK: samoyeds_nvgpu.wgmma_sp
// CHECK: gpu.return
func.func @persistent_packed(%w: tensor<4x512x256xbf16, #ss> {samoyeds.name = "w"},
                             %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                             %off: tensor<5xi32> {samoyeds.name = "offsets"},
                             %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
