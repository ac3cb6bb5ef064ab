// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// Row-selected (1:2, v = 128) expert matmul with a token gather; its 16-byte
// gathers need x 16-byte aligned.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2>
// CHECK-LABEL: func.func @gather
// CHECK-SAME: samoyeds.buffers = [#samoyeds.weight_part<"w.values", "w", values, bf16, 4194304>, #samoyeds.weight_part<"w.meta", "w", meta, ui32, 524288>, #samoyeds.weight_part<"w.row_idx", "w", row_idx, ui8, 32768>, #samoyeds.buffer<"x", input, bf16, [T, 2048]>, #samoyeds.buffer<"offsets", input, i32, [3]>, #samoyeds.buffer<"tokens", input, i32, [P]>, #samoyeds.buffer<"y", output, bf16, [P, 2048]>]
// CHECK-SAME: samoyeds.weights = [#samoyeds.weight<"w", mma_sp, bf16, [2, 2048, 2048], <n = 1, m = 2, v = 128>>]
// CHECK: %[[RESULT:.*]] = samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@gather_ssmm_0 grid(16, token_tiles(P, 32, 2), 1) block(128, 1, 1) smem(18432) args(buffer("w.values", 4), buffer("w.meta", 4), buffer("w.row_idx", 1), buffer("x", 2, align 16), buffer("offsets", 4), buffer("tokens", 4), buffer("y", 2))>](%{{.*}}) {epilogue = #samoyeds.epilogue<none>}
// CHECK: return %[[RESULT]]
// CHECK: gpu.module @samoyeds_kernels
// CHECK: gpu.func @gather_ssmm_0(%[[VALUES:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[META:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[ROWIDX:.*]]: memref<?xi8, #gpu.address_space<global>>, %[[X:.*]]: memref<?xbf16, #gpu.address_space<global>>, %[[OFF:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[TOK:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[Y:.*]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// The kernel's constants open its body, each made once.
// CHECK-DAG: %[[SHIFTA:.*]] = arith.constant 9216 : index
// CHECK-DAG: %[[SHIFTM:.*]] = arith.constant 17408 : index
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// The three shared-memory buffers are views of the dynamic shared memory,
// back to back (2*32*72*2 = 9216 and 9216 + 2*4*1*2*32*4*4 = 17408 bytes).
// CHECK: %[[DYN:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: %[[SMEM:.*]] = memref.view %[[DYN]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x32x72xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[SMEMA:.*]] = memref.view %[[DYN]][%[[SHIFTA]]][] : {{.*}} to memref<2x4x1x2x32x4xi32, #gpu.address_space<workgroup>>
// CHECK: %[[SMEMM:.*]] = memref.view %[[DYN]][%[[SHIFTM]]][] : {{.*}} to memref<2x4x1x2x16xi32, #gpu.address_space<workgroup>>
// Each block row finds its expert and token tile by a warp scan over the
// offsets: one load pair per lane, a shuffle prefix sum of the experts' tile
// counts, and a max-reduction of the finding lane's values.
// CHECK: %[[BY:.*]] = gpu.block_id y
// CHECK: %[[BY32:.*]] = arith.index_cast %[[BY]] : index to i32
// CHECK: memref.load %[[OFF]]
// CHECK: memref.load %[[OFF]]
// CHECK-COUNT-5: gpu.shuffle up
// CHECK: arith.cmpi sge, %[[BY32]]
// CHECK: arith.cmpi slt, %[[BY32]]
// CHECK: gpu.subgroup_reduce maxsi %{{.*}} uniform : (i32) -> i32
// CHECK: %[[EXPERT:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK: gpu.subgroup_reduce maxsi %{{.*}} uniform : (i32) -> i32
// CHECK: %[[START:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK: gpu.subgroup_reduce maxsi %{{.*}} uniform : (i32) -> i32
// CHECK: %[[END:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK: arith.cmpi slt, %[[START]], %[[END]]
// The gathered row index comes from the token list and feeds the async copy;
// weight fragments and metadata stream through the same pipeline stages. The
// prologue's stage is one cp.async group (naming the copies outside guards).
// CHECK: %[[TOKV:.*]] = memref.load %[[TOK]]
// CHECK: %[[CW:.*]] = nvgpu.device_async_copy %[[VALUES]][%{{.*}}], %[[SMEMA]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}], 4 {bypassL1}
// CHECK: scf.if
// CHECK: nvgpu.device_async_copy %[[META]][%{{.*}}], %[[SMEMM]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}], 1 :
// CHECK: %[[CX:.*]] = nvgpu.device_async_copy %[[X]][%{{.*}}], %[[SMEM]][%{{.*}}, %{{.*}}, %{{.*}}], 8, %{{.*}} {bypassL1}
// CHECK: nvgpu.device_async_create_group %[[CW]], {{.*}}, %[[CX]],
// The K loop carries one vector<4xf32> per mma fragment; it issues the
// stage 1 ahead when there is one (an empty group otherwise) and waits
// until 1 group is in flight.
// CHECK: scf.for %{{.*}} iter_args(%{{.*}} = %[[ZERO]], {{.*}}) -> (vector<4xf32>, vector<4xf32>,
// CHECK: %[[GROUP:.*]] = scf.if %{{.*}} -> (!nvgpu.device.async.token) {
// CHECK: %[[FULL:.*]] = nvgpu.device_async_create_group %{{.*}}
// CHECK-NEXT: scf.yield %[[FULL]]
// CHECK: } else {
// CHECK-NEXT: %[[EMPTY:.*]] = nvgpu.device_async_create_group
// CHECK-NEXT: scf.yield %[[EMPTY]]
// CHECK: nvgpu.device_async_wait %[[GROUP]] {numGroups = 1 : i32}
// CHECK-NEXT: gpu.barrier
// CHECK: %[[A:.*]] = vector.load %[[SMEMA]]{{.*}} {alignment = 16 : i64}
// CHECK: %[[E:.*]] = memref.load %[[SMEMM]]
// CHECK: %[[B:.*]] = nvgpu.ldmatrix %[[SMEM]]{{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK: samoyeds_nvgpu.mma_sp %{{.*}}, %[[A]], %[[B]], %[[E]] : vector<4xi32>, vector<4x2xbf16> into vector<4xf32>
// Span routing: the kept row's original row comes from row_idx; values 0, 1
// (row g) and 2, 3 (row g + 8) of a span partial go to the accumulator of
// the row their span chose.
// CHECK: memref.load %[[ROWIDX]]
// CHECK: %[[MASK:.*]] = vector.from_elements %[[HIT0:[0-9]+]], %[[HIT0]], %[[HIT1:[0-9]+]], %[[HIT1]] : vector<4xi1>
// CHECK: arith.select %[[MASK]], %{{.*}}, %[[ZERO]] : vector<4xi1>, vector<4xf32>
// The epilogue takes the accumulators apart at the stores.
// CHECK: scf.yield
// CHECK: vector.extract %{{.*}}[0] : f32 from vector<4xf32>
// CHECK: memref.store %{{.*}}, %[[Y]]
func.func @gather(%w: tensor<2x2048x2048xbf16, #ss> {samoyeds.name = "w"},
                  %x: tensor<?x2048xbf16> {samoyeds.name = "x"},
                  %off: tensor<3xi32> {samoyeds.name = "offsets"},
                  %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x2048xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<2x2048x2048xbf16, #ss>, tensor<?x2048xbf16>, tensor<3xi32>,
         tensor<?xi32>) -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}

// -----

// Plain 2:4 has no row_idx buffer; f16 mma operands are f16 pairs.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 2, tokens = 16, k = 32, stages = 3>
// CHECK-LABEL: func.func @plain_f16
// CHECK: gpu.func @plain_f16_ssmm_0(%{{.*}}: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %[[X:.*]]: memref<?xf16, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: memref<?xf16, #gpu.address_space<global>>)
// CHECK: memref.view {{.*}} to memref<3x16x40xf16, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<3x2x1x1x32x4xi32, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<3x2x1x1x16xi32, #gpu.address_space<workgroup>>
// CHECK-NOT: memref<?xi8
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// CHECK: samoyeds_nvgpu.mma_sp {{.*}} : vector<4xi32>, vector<4x2xf16> into vector<4xf32>
// CHECK-NOT: arith.select %{{.*}}, %{{.*}}, %cst
func.func @plain_f16(%w: tensor<1x64x256xf16, #ss>, %h: tensor<?x256xf16>,
                     %off: tensor<2xi32>) -> tensor<?x64xf16> {
  %y = samoyeds.ssmm %w, %h, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x256xf16, #ss>, tensor<?x256xf16>, tensor<2xi32>)
      -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}

// -----

// silu_mul: each warp multiplies a gate tile and its up tile; the epilogue
// applies SiLU to a fragment's four values at once, with the PTX ex2
// approximation (its NVVM intrinsic) on each.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 64, stages = 2>
// CHECK-LABEL: func.func @silu
// CHECK: gpu.func @silu_ssmm_0
// CHECK-COUNT-2: samoyeds_nvgpu.mma_sp
// CHECK: scf.yield
// CHECK: %[[SCALED:.*]] = arith.mulf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK-COUNT-4: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK: arith.divf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK: arith.mulf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @silu(%w: tensor<1x64x128xbf16, #ss>, %x: tensor<?x128xbf16>,
                %off: tensor<2xi32>, %tok: tensor<?xi32>) -> tensor<?x32xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<1x64x128xbf16, #ss>, tensor<?x128xbf16>, tensor<2xi32>,
         tensor<?xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// weighted_combine: the matmul writes bf16 slot rows (the result's element
// type) to a workspace and a second kernel sums each token's k slots in slot
// order, in f32 (deterministic); combine-rows.mlir tests combine-f32.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2>
// CHECK-LABEL: func.func @combine
// CHECK-SAME: #samoyeds.buffer<"ws_combine_ssmm_0", workspace, bf16, [P, 32]>
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@combine_ssmm_0 {{.*}} args({{.*}}, buffer("ws_combine_ssmm_0", 2))>, #samoyeds.launch<@samoyeds_kernels::@combine_ssmm_0_combine grid(1, ceil_div(T, 1), 1) block(256, 1, 1) smem(0) args(buffer("ws_combine_ssmm_0", 2), buffer("arg3", 4), buffer("arg4", 4), buffer("result0", 2)) when(P in [0, 8191])>, #samoyeds.launch<@samoyeds_kernels::@combine_ssmm_0_combine_vector grid(1, ceil_div(T, 1), 1) block(64, 1, 1) smem(0) args(buffer("ws_combine_ssmm_0", 2), buffer("arg3", 4), buffer("arg4", 4), buffer("result0", 2, align 16)) when(P in [8192, ...])>]
// CHECK: gpu.func @combine_ssmm_0({{.*}}%[[WS:.*]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: %[[ROUNDED:.*]] = arith.truncf %{{.*}} : f32 to bf16
// CHECK: memref.store %[[ROUNDED]], %[[WS]]
// CHECK: gpu.func @combine_ssmm_0_combine(%[[ROWS:.*]]: memref<?xbf16, #gpu.address_space<global>>, %[[RW:.*]]: memref<?xf32, #gpu.address_space<global>>, %[[POS:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[OUT:.*]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: memref.load %[[POS]]
// CHECK: %[[ROW:.*]] = memref.load %[[ROWS]]
// CHECK: arith.extf %[[ROW]] : bf16 to f32
// CHECK: memref.load %[[RW]]
// CHECK: memref.load %[[POS]]
// CHECK: memref.load %[[ROWS]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// From 8192 routed slots a thread sums 16 bytes of row.
// CHECK: gpu.func @combine_ssmm_0_combine_vector(%[[VROWS:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[VRW:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>, %[[VPOS:[a-z0-9]+]]: memref<?xi32, #gpu.address_space<global>>, %[[VOUT:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK: memref.load %[[VPOS]]
// CHECK: %[[VROW:.*]] = vector.load %[[VROWS]]
// CHECK: arith.extf %[[VROW]] : vector<8xbf16> to vector<8xf32>
// CHECK: %[[VW:.*]] = memref.load %[[VRW]]
// CHECK: vector.broadcast %[[VW]] : f32 to vector<8xf32>
// CHECK: vector.store %{{.*}}, %[[VOUT]]
func.func @combine(%w: tensor<1x32x64xbf16, #ss>, %h: tensor<?x64xbf16>,
                   %off: tensor<2xi32>, %rw: tensor<?x2xf32>,
                   %pos: tensor<?x2xi32>) -> tensor<?x32xbf16> {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine>
      {tile = #tile}
      : (tensor<1x32x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>,
         tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// Two token warps per row tile: the block has 2 x 32 threads, the row tile's
// weight copies alternate between its warps, and a warp whose token slice is
// past the expert's tokens skips its multiplies.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
#tile = #samoyeds.tile<warps = 1, tokens = 32, k = 64, stages = 2, token_warps = 2>
// CHECK-LABEL: func.func @token_warps
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@token_warps_ssmm_0 grid(4, token_tiles(P, 32, 1), 1) block(64, 1, 1)
// CHECK: gpu.func @token_warps_ssmm_0(
// One row warp: the warp index is the token warp.
// CHECK: %[[TW:.*]] = arith.divui %{{.*}}, %c32
// CHECK: %[[BASE:.*]] = arith.muli %[[TW]], %c16{{.*}} : index
// CHECK: %[[MINE:.*]] = arith.cmpi eq, %[[TW]], %{{.*}} : index
// CHECK: scf.if %[[MINE]] {
// CHECK: nvgpu.device_async_copy
// CHECK: %[[BUSY:.*]] = arith.cmpi ult, %[[BASE]], %{{.*}} : index
// CHECK: scf.if %[[BUSY]] -> (vector<4xf32>,
// CHECK: samoyeds_nvgpu.mma_sp
// CHECK: } else {
// CHECK: scf.yield
func.func @token_warps(%w: tensor<1x128x128xbf16, #ss>, %x: tensor<?x128xbf16>,
                       %off: tensor<2xi32>) -> tensor<?x128xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x128x128xbf16, #ss>, tensor<?x128xbf16>, tensor<2xi32>)
      -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// Split-K: a call with at most split_slots routed slots runs the split
// variant (grid z = 2 K slices, each of 2 k tiles, raw f32 sums of both
// halves to a 2 x 16-row workspace) and a reduction that sums the slices in
// order and applies SiLU; larger calls run the unsplit kernel.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 64, stages = 2, split_k = 2, split_slots = 16>
// CHECK-LABEL: func.func @split_silu
// CHECK-SAME: #samoyeds.buffer<"ws_split_silu_ssmm_0_split", workspace, f32, [32, 64]>
// CHECK: samoyeds.launch [
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_silu_ssmm_0 grid(1, token_tiles(P, 8, 2), 1) block(32, 1, 1) smem(6912) {{.*}} when(P in [17, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_silu_ssmm_0_split grid(1, token_tiles(P, 8, 2), 2) block(32, 1, 1) smem(6912) {{.*}}, buffer("ws_split_silu_ssmm_0_split", 4)) when(P in [1, 16])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_silu_ssmm_0_split_reduce grid(1, ceil_div(P, 1), 1) block(256, 1, 1) smem(0) args(buffer("ws_split_silu_ssmm_0_split", 4), buffer("result0", 2)) when(P in [1, 16])>]
// CHECK: gpu.func @split_silu_ssmm_0(
// CHECK-NOT: gpu.block_id z
// CHECK: gpu.func @split_silu_ssmm_0_split({{.*}}%[[WS:.*]]: memref<?xf32, #gpu.address_space<global>>)
// CHECK: %[[SLICE:.*]] = gpu.block_id z
// CHECK: %[[BEGIN:.*]] = arith.muli %[[SLICE]], %[[KT:.*]] : index
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[KT]]
// CHECK: arith.addi %[[BEGIN]], %[[I]]
// CHECK: samoyeds_nvgpu.mma_sp
// CHECK-NOT: ex2
// CHECK: %[[ROW:.*]] = arith.muli %[[SLICE]], %c16{{.*}} : index
// CHECK: memref.store %{{.*}}, %[[WS]][%{{.*}}] : memref<?xf32,
// CHECK: gpu.func @split_silu_ssmm_0_split_reduce(%[[RWS:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>, %[[OUT:.*]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK-COUNT-2: memref.load %[[RWS]]
// CHECK: ex2.approx
// CHECK-COUNT-2: memref.load %[[RWS]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
func.func @split_silu(%w: tensor<2x64x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                      %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x32xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<2x64x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?xi32>)
      -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// The decode token tile: the split-K variant and the unsplit calls up to
// decode_slots take 8-token blocks (an activation ring of 8 rows, one
// n-fragment per warp: the total and the masked mma.sp of each of a
// stage's two k steps), the
// rest the tile's 32; the persistent grid takes over from persistent_slots
// and bounds the decode range; no ordinary grid is left between them.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
#tile = #samoyeds.tile<warps = 1, tokens = 32, k = 64, stages = 2, row_masks = 1, split_k = 2, split_slots = 4, persistent = 2, persistent_slots = 24, decode_tokens = 8, decode_slots = 64>
// CHECK-LABEL: func.func @decode
// CHECK: samoyeds.launch [
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@decode_ssmm_0_decode grid(2, token_tiles(P, 8, 2), 1) block(32, 1, 1) smem(4640) {{.*}} when(P in [5, 23])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@decode_ssmm_0_persistent grid(per_sm(2), 1, 1) block(32, 1, 1) smem(11552) {{.*}} when(P in [24, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@decode_ssmm_0_split grid(2, token_tiles(P, 8, 2), 2) block(32, 1, 1) smem(4640) {{.*}} buffer("ws_decode_ssmm_0_split", 4)) when(P in [1, 4])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@decode_ssmm_0_split_reduce grid(1, ceil_div(P, 1), 1) {{.*}} when(P in [1, 4])>]
// CHECK-NOT: @decode_ssmm_0 grid
// CHECK: gpu.func @decode_ssmm_0_decode(
// CHECK: memref.view {{.*}} to memref<2x8x72xbf16, #gpu.address_space<workgroup>>
// CHECK-COUNT-4: samoyeds_nvgpu.mma_sp
// CHECK-NOT: samoyeds_nvgpu.mma_sp
// CHECK: gpu.func @decode_ssmm_0_persistent(
// CHECK: memref.view {{.*}} to memref<2x32x72xbf16, #gpu.address_space<workgroup>>
// CHECK: gpu.func @decode_ssmm_0_split(
// CHECK: memref.view {{.*}} to memref<2x8x72xbf16, #gpu.address_space<workgroup>>
func.func @decode(%w: tensor<2x64x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                  %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<2x64x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?xi32>)
      -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// A split-K variant whose calls go past decode_slots keeps the tile's
// tokens; the decode variant then has no calls of its own (decode_slots <
// split_slots + 1) and is not built.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
#tile = #samoyeds.tile<warps = 1, tokens = 32, k = 64, stages = 2, row_masks = 1, split_k = 2, split_slots = 16, decode_tokens = 8, decode_slots = 8>
// CHECK-LABEL: func.func @split_wide
// CHECK: samoyeds.launch [
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_wide_ssmm_0 grid(2, token_tiles(P, 32, 2), 1) {{.*}} when(P in [17, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_wide_ssmm_0_split grid(2, token_tiles(P, 32, 2), 2)
// CHECK-NOT: ssmm_0_decode
// CHECK: gpu.func @split_wide_ssmm_0_split(
// CHECK: memref.view {{.*}} to memref<2x32x72xbf16, #gpu.address_space<workgroup>>
func.func @split_wide(%w: tensor<2x64x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                             %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<2x64x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?xi32>)
      -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Split-K with weighted_combine: the split variant's combine sums each
// slot's 4 slice rows (8 rows apart) before weighting.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2, split_k = 4, split_slots = 8>
// CHECK-LABEL: func.func @split_combine
// CHECK-SAME: #samoyeds.buffer<"ws_split_combine_ssmm_0", workspace, bf16, [P, 32]>, #samoyeds.buffer<"ws_split_combine_ssmm_0_split", workspace, f32, [32, 32]>
// CHECK: samoyeds.launch [
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_combine_ssmm_0_combine {{.*}} smem(0) {{.*}} when(P in [9, 8191])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_combine_ssmm_0_combine_vector {{.*}} smem(0) {{.*}} when(P in [8192, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_combine_ssmm_0_split_combine {{.*}} smem(0) {{.*}} when(P in [1, 8])>]
// CHECK: gpu.func @split_combine_ssmm_0_split_combine(%[[WS:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>,
// CHECK: %[[SLOT:[a-z0-9_]+]] = arith.index_cast
// CHECK: memref.load %[[WS]]
// CHECK: arith.addi %[[SLOT]], %c8{{.*}}
// CHECK: memref.load %[[WS]]
// CHECK: arith.addi %[[SLOT]], %c16{{.*}}
// CHECK: memref.load %[[WS]]
// CHECK: arith.addi %[[SLOT]], %c24{{.*}}
// CHECK: memref.load %[[WS]]
func.func @split_combine(%w: tensor<1x32x128xbf16, #ss>, %h: tensor<?x128xbf16>,
                         %off: tensor<2xi32>, %rw: tensor<?x2xf32>,
                         %pos: tensor<?x2xi32>) -> tensor<?x32xbf16> {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine>
      {tile = #tile}
      : (tensor<1x32x128xbf16, #ss>, tensor<?x128xbf16>, tensor<2xi32>,
         tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// Two row tiles per warp (with two token warps: 64 threads): the block covers
// 1 x 2 row tiles, so 4 kept tiles take 2 blocks; the weight ring holds both
// tiles of the warp, and one ldmatrix of activations feeds an mma.sp of each
// tile (same B registers, different A and accumulators).
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 16, k = 32, stages = 2, token_warps = 2, row_tiles = 2>
// CHECK-LABEL: func.func @row_tiles
// CHECK: grid(2, token_tiles(P, 16, 1), 1) block(64, 1, 1)
// CHECK: gpu.func @row_tiles_ssmm_0(
// CHECK: %[[RING:.*]] = memref.view %{{.*}} to memref<2x1x2x1x32x4xi32, #gpu.address_space<workgroup>>
// CHECK: %[[A0:.*]] = vector.load %[[RING]][%{{.*}}, %{{.*}}, %c0{{.*}}, %c0{{.*}}, %{{.*}}, %c0{{.*}}]
// CHECK: %[[A1:.*]] = vector.load %[[RING]][%{{.*}}, %{{.*}}, %c1{{.*}}, %c0{{.*}}, %{{.*}}, %c0{{.*}}]
// CHECK: %[[B:.*]] = nvgpu.ldmatrix
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: samoyeds_nvgpu.mma_sp %[[C0:[a-z0-9]+]], %[[A0]], %[[B]],
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: samoyeds_nvgpu.mma_sp %[[C1:[a-z0-9]+]], %[[A1]], %[[B]],
func.func @row_tiles(%w: tensor<1x64x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                     %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Masked row selection (row_masks = 1), two spans (v = 32) per stage
// (k = 64): the row choices of each span stream into shared memory with the
// weights (16 bytes per span and row tile); per k step the weight registers
// are masked to the rows that chose row 1 of their group, each activation
// fragment feeds an mma.sp into the total and one into row 1's
// accumulators, and no row choice is read from global memory in the loop.
#ss = #samoyeds.ss<n = 1, m = 2, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 64, stages = 2, row_masks = 1>
// CHECK-LABEL: func.func @row_masks
// CHECK: gpu.func @row_masks_ssmm_0(%{{.*}}: memref<?xi32, {{.*}}>, %{{.*}}: memref<?xi32, {{.*}}>, %[[RIDX:[a-z0-9]+]]: memref<?xi8,
// CHECK: %[[ROWS:.*]] = memref.view %{{.*}} to memref<2x1x1x2x16xi8, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK: nvgpu.device_async_copy %[[RIDX]][%{{.*}}], %[[ROWS]][%{{.*}}], 16
// CHECK: %[[A:.*]] = vector.load
// CHECK: memref.load %[[ROWS]]
// CHECK: %[[M0:.*]] = arith.andi %{{.*}}, %{{.*}} : i32
// CHECK: %[[AM:.*]] = vector.from_elements %[[M0]], %{{.*}}, %{{.*}}, %{{.*}} : vector<4xi32>
// CHECK: %[[B:.*]] = nvgpu.ldmatrix
// CHECK: samoyeds_nvgpu.mma_sp %{{.*}}, %[[A]], %[[B]],
// CHECK: samoyeds_nvgpu.mma_sp %{{.*}}, %[[AM]], %[[B]],
// CHECK-NOT: memref.load %[[RIDX]]
// CHECK: scf.yield
// CHECK: arith.subf %{{.*}}, %{{.*}} : vector<4xf32>
func.func @row_masks(%w: tensor<1x64x128xbf16, #ss>, %x: tensor<?x128xbf16>,
                     %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x128xbf16, #ss>, tensor<?x128xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Persistent grid (persistent = 2, every call): 2 blocks per SM, told to
// ptxas; each block strides through the tiles by the grid size, carrying the
// current tile (row block, expert, start, count, copy source and size) and
// looking up the next one; the K loop runs in two parts: k tiles whose
// copies (stages - 1 = 1 ahead) are this tile's, then the last, whose copy is
// the next tile's first; the epilogue follows, with coordinates from a
// thread index read there.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2, persistent = 2>
// CHECK-LABEL: func.func @persistent
// CHECK: #samoyeds.launch<@samoyeds_kernels::@persistent_ssmm_0_persistent grid(per_sm(2), 1, 1)
// CHECK: gpu.func @persistent_ssmm_0_persistent(
// CHECK-SAME: nvvm.minctasm = 2 : i32
// CHECK: %[[G:.*]] = gpu.grid_dim x
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (i32, i32, i32, i32, i32, i32)
// CHECK: %[[NEXT:.*]]:5 = scf.if %{{.*}} -> (i32, i32, i32, i32, i32)
// CHECK: arith.muli %{{.*}}, %[[G]] : index
// CHECK: gpu.shuffle
// CHECK: %[[OWN:.*]] = scf.for %{{.*}} = %c0{{.*}} to %c2{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<4xf32>)
// CHECK: nvgpu.device_async_copy
// CHECK: nvgpu.device_async_create_group
// CHECK: samoyeds_nvgpu.mma_sp
// The last part is one k tile here (the conversion's clean-up inlines its
// one-trip loop):
// CHECK: scf.if %{{.*}} -> (!nvgpu.device.async.token)
// CHECK: nvgpu.device_async_copy
// CHECK: %[[LAST:.*]] = samoyeds_nvgpu.mma_sp %[[OWN]],
// CHECK: llvm.inline_asm has_side_effects "mov.u32 $0, %tid.x;"
// CHECK: %[[V0:.*]] = vector.extract %[[LAST]][0]
// CHECK: arith.truncf %[[V0]]
// CHECK: memref.store
// CHECK: scf.yield %{{.*}}, %[[NEXT]]#0, %[[NEXT]]#1, %[[NEXT]]#2, %[[NEXT]]#3, %[[NEXT]]#4
func.func @persistent(%w: tensor<2x16x96xbf16, #ss>, %x: tensor<?x96xbf16>,
                      %off: tensor<3xi32>) -> tensor<?x16xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<2x16x96xbf16, #ss>, tensor<?x96xbf16>, tensor<3xi32>) -> tensor<?x16xbf16>
  return %y : tensor<?x16xbf16>
}

// -----

// Block order in groups of 4 token tiles: blocks numbered y * X + x in
// launch order take group g's token tiles [4g, min(4g + 4, Y)) fastest,
// then the row blocks; the token tile goes to the offsets scan and the row
// block picks the weight rows.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 16, k = 32, stages = 2, token_warps = 2, row_tiles = 2, group_tiles = 4>
// CHECK-LABEL: func.func @grouped
// CHECK: grid(2, token_tiles(P, 16, 1), 1) block(64, 1, 1)
// CHECK: gpu.func @grouped_ssmm_0(
// CHECK: %[[G:.*]] = arith.constant 4 : index
// CHECK: %[[BX:.*]] = gpu.block_id x
// CHECK: %[[BY:.*]] = gpu.block_id y
// CHECK: %[[XS:.*]] = gpu.grid_dim x
// CHECK: %[[YS:.*]] = gpu.grid_dim y
// CHECK: %[[ROWS:.*]] = arith.muli %[[BY]], %[[XS]] : index
// CHECK: %[[LIN:.*]] = arith.addi %[[ROWS]], %[[BX]] : index
// CHECK: %[[PER:.*]] = arith.muli %[[XS]], %[[G]] : index
// CHECK: %[[GROUP:.*]] = arith.divui %[[LIN]], %[[PER]] : index
// CHECK: %[[FIRST:.*]] = arith.muli %[[GROUP]], %[[G]] : index
// CHECK: %[[LEFT:.*]] = arith.subi %[[YS]], %[[FIRST]] : index
// CHECK: %[[SIZE:.*]] = arith.minui %[[LEFT]], %[[G]] : index
// CHECK: %[[IN:.*]] = arith.remui %[[LIN]], %[[PER]] : index
// CHECK: %[[RB:.*]] = arith.divui %[[IN]], %[[SIZE]] : index
// CHECK: %[[T:.*]] = arith.remui %[[IN]], %[[SIZE]] : index
// CHECK: %[[TILE:.*]] = arith.addi %[[FIRST]], %[[T]] : index
// CHECK: arith.index_cast %[[TILE]] : index to i32
// CHECK: arith.muli %[[RB]], %{{.*}} : index
func.func @grouped(%w: tensor<1x64x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                   %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
