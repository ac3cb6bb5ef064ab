// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s

// The warpgroup strategy, row-selected 1:2 (v = 128 = one 128-column stage):
// a producer warpgroup and one consumer warpgroup owning 64 kept rows by 16
// tokens. The weight reads the `wgmma` layout.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @rows
// CHECK-SAME: samoyeds.weights = [#samoyeds.weight<"w", wgmma, bf16, [2, 128, 512], <n = 1, m = 2, v = 128>>]
// The output's pairs of group rows are stored as 4-byte vectors: y must be
// 4-byte aligned.
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@rows_ssmm_0 grid(1, token_tiles(P, 16, 2), 1) block(256, 1, 1) smem(27808)
// CHECK-SAME: buffer("y", 2, align 4)
// CHECK: gpu.func @rows_ssmm_0(%[[VALUES:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[META:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[ROWIDX:.*]]: memref<?xi8, #gpu.address_space<global>>, %[[X:.*]]: memref<?xbf16, #gpu.address_space<global>>, %[[OFF:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[TOK:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[Y:.*]]: memref<?xbf16, #gpu.address_space<global>>)
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-SAME: nvvm.minctasm = 1 : i32
// The running sum starts undefined: the MMA that first writes it restarts
// it, and no instruction writes its registers after the wgmma fence.
// CHECK: %[[UNDEF:.*]] = llvm.mlir.poison : vector<8xf32>
// The carve-out is aligned to 1024 bytes at run time; a full and an empty
// mbarrier per slot live in it (129 arrivals: the bulk copies' expect_tx
// and one cp.async arrival per producer thread; 128 consumer arrivals).
// CHECK: %[[DYN:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[RAW:.*]] = memref.extract_aligned_pointer_as_index %[[DYN]]
// CHECK: arith.remui %[[RAW]]
// CHECK: %[[SB:.*]] = memref.view %[[DYN]]{{.*}} to memref<4096xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[SMETA:.*]] = memref.view %[[DYN]]{{.*}} to memref<512xi32, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[DYN]]{{.*}} to memref<128xi8, #gpu.address_space<workgroup>>
// CHECK: %[[WORDS:.*]] = memref.view %[[DYN]]{{.*}} to memref<4xi64, #gpu.address_space<workgroup>>
// CHECK: %[[BARS:.*]] = builtin.unrealized_conversion_cast %[[WORDS]] {{.*}} to !nvgpu.mbarrier.group<memorySpace = #gpu.address_space<workgroup>, num_barriers = 4>
// CHECK: nvgpu.mbarrier.init %[[BARS]][%{{.*}}], %[[C129:.*]], predicate
// CHECK: nvgpu.mbarrier.init %[[BARS]][%{{.*}}], %[[C128:.*]], predicate
// CHECK: gpu.barrier
// CHECK: memref.load %[[OFF]]
// CHECK: gpu.shuffle up
// The producer lowers its registers, then per k tile waits for the slot's
// previous use to be released, arms the full barrier with the stage's 9280
// bytes, issues the three bulk copies (weight block, metadata, the row
// choices of the stage's span), gathers its token rows and arrives when
// they land.
// One consumer warpgroup leaves the producer its most, 64 registers.
// CHECK: nvvm.setmaxregister  decrease 64
// CHECK: memref.load %[[TOK]]
// CHECK: scf.for
// CHECK: scf.if
// CHECK: nvgpu.mbarrier.try_wait.parity %[[BARS]]
// CHECK: nvgpu.mbarrier.arrive.expect_tx %[[BARS]][%{{.*}}], %{{.*}}
// CHECK-COUNT-3: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : !llvm.ptr<7>, <1>
// CHECK: nvgpu.device_async_copy %[[X]][%{{.*}}], %[[SB]][%{{.*}}], 8 {bypassL1}
// CHECK: nvvm.cp.async.mbarrier.arrive %{{.*}} {noinc = true} : !llvm.ptr<3>
// CHECK: nvvm.cp.async.wait.group 0
// The consumers raise theirs. Accumulators are vectors: the running sum of
// the kept rows' MMAs and the sum of group row 1. The first k tile is
// peeled: its four MMAs (metadata words and descriptors ready before the
// fence) start the running sum with a constant scale-d.
// CHECK: nvvm.setmaxregister  increase 240
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-COUNT-4: memref.load %[[SMETA]]
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: %[[S0:.*]] = samoyeds_nvgpu.wgmma_sp %[[UNDEF]], %{{.*}}, %{{.*}}, %{{.*}}, %[[FALSE:.*]] {element = bf16, n = 16 : i64} : vector<8xf32>
// CHECK-NEXT: %[[S1:.*]] = samoyeds_nvgpu.wgmma_sp %[[S0]]
// CHECK-NEXT: %[[S2:.*]] = samoyeds_nvgpu.wgmma_sp %[[S1]]
// CHECK-NEXT: %[[S3:.*]] = samoyeds_nvgpu.wgmma_sp %[[S2]]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// Each later k tile: once its data is there, the previous MMAs are waited
// for (the sum is complete through the span that ended), the span is
// routed from the row choices that rode with the two stages (its own and
// the next span's, in shared memory): group row 1 takes (chose 1 − next
// chose 1) times the sum, one fused multiply-add; then the slot is
// released and the next MMAs continue the sum.
// CHECK: %[[LOOP:.*]]:2 = scf.for {{.*}} iter_args(%[[P:.*]] = %[[S3]], %[[R1:.*]] = %[[ZERO:.*]]) -> (vector<8xf32>, vector<8xf32>)
// CHECK: nvgpu.mbarrier.try_wait.parity %[[BARS]]
// CHECK: nvvm.fence.proxy
// CHECK: %[[DONE:.*]] = samoyeds_nvgpu.wgmma_wait %[[P]] {pending = 0 : i64} : vector<8xf32>
// CHECK-COUNT-4: memref.load %[[SCHOICE:.*]][%{{.*}}] : memref<128xi8, #gpu.address_space<workgroup>>
// CHECK: %[[THIS:.*]] = arith.select %{{.*}}, %[[ONE:.*]], %[[NOUGHT:.*]] : f32
// CHECK: %[[NEXT:.*]] = arith.select %{{.*}}, %[[ONE]], %[[NOUGHT]] : f32
// CHECK: arith.subf %[[THIS]], %[[NEXT]] : f32
// CHECK: %[[FACTOR:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<8xi1>, vector<8xf32>
// CHECK: %[[ROUTED:.*]] = llvm.intr.fma(%[[DONE]], %[[FACTOR]], %[[R1]])
// CHECK: nvgpu.mbarrier.arrive %[[BARS]]
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: %[[T0:.*]] = samoyeds_nvgpu.wgmma_sp %[[DONE]]
// CHECK-NEXT: %[[T1:.*]] = samoyeds_nvgpu.wgmma_sp %[[T0]]
// CHECK-NEXT: %[[T2:.*]] = samoyeds_nvgpu.wgmma_sp %[[T1]]
// CHECK-NEXT: %[[T3:.*]] = samoyeds_nvgpu.wgmma_sp %[[T2]]
// CHECK: scf.yield %[[T3]], %[[ROUTED]] : vector<8xf32>, vector<8xf32>
// After the loop the last span is routed (no next span: its factor is
// whether it chose row 1) and group row 0 is the sum less row 1. The two
// group rows of a kept row are adjacent output rows, stored together by one
// 4-byte-aligned vector store.
// CHECK: %[[SUM:.*]] = samoyeds_nvgpu.wgmma_wait %[[LOOP]]#0 {pending = 0 : i64} : vector<8xf32>
// CHECK-COUNT-2: memref.load %[[SCHOICE]]
// CHECK-NOT: arith.subf {{.*}} : f32
// CHECK: %[[ROW1:.*]] = llvm.intr.fma(%[[SUM]], %{{.*}}, %[[LOOP]]#1)
// CHECK: %[[ROW0:.*]] = arith.subf %[[SUM]], %[[ROW1]] : vector<8xf32>
// CHECK: %[[V0:.*]] = vector.extract %[[ROW0]][0]
// CHECK: %[[V1:.*]] = vector.extract %[[ROW1]][0]
// CHECK: %[[B0:.*]] = arith.truncf %[[V0]] : f32 to bf16
// CHECK: %[[B1:.*]] = arith.truncf %[[V1]] : f32 to bf16
// CHECK: %[[PAIR:.*]] = vector.from_elements %[[B0]], %[[B1]] : vector<2xbf16>
// CHECK: vector.store %[[PAIR]], %[[Y]][%{{.*}}] {alignment = 4 : i64}
func.func @rows(%w: tensor<2x128x512xbf16, #ss> {samoyeds.name = "w"},
                %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                %off: tensor<3xi32> {samoyeds.name = "offsets"},
                %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x128xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<2x128x512xbf16, #ss>, tensor<?x512xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// SiLU·up, plain 2:4: warpgroup 0 holds gate rows, warpgroup 1 the same up
// rows; after the K loop the up accumulators cross through shared memory
// (8 KB: 128 threads × 16 values) between two barriers of the 256 consumer
// threads.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 32, k = 128, stages = 3, strategy = wgmma_sp>
// CHECK-LABEL: func.func @silu
// CHECK-SAME: samoyeds.weights = [#samoyeds.weight<"w", wgmma,
// CHECK: grid(2, token_tiles(P, 32, 4), 1) block(384, 1, 1)
// CHECK: gpu.func @silu_ssmm_0(
// CHECK: %[[XCH:.*]] = memref.view {{.*}} to memref<2048xf32, #gpu.address_space<workgroup>>
// Without row selection a stage's MMAs stay in flight until the next stage's
// data is there, and are waited for before its metadata words are loaded.
// CHECK: %[[ACC:.*]] = scf.for {{.*}} iter_args(%[[IN:.*]] = %{{.*}}) -> (vector<16xf32>)
// CHECK: nvvm.fence.proxy
// CHECK: %[[DONE:.*]] = samoyeds_nvgpu.wgmma_wait %[[IN]] {pending = 0 : i64} : vector<16xf32>
// CHECK: nvgpu.mbarrier.arrive
// CHECK: memref.load
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: samoyeds_nvgpu.wgmma_sp %[[DONE]]
// CHECK: %[[FINAL:.*]] = samoyeds_nvgpu.wgmma_wait %[[ACC]] {pending = 0 : i64} : vector<16xf32>
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// CHECK: scf.if
// CHECK-COUNT-16: memref.store %{{.*}}, %[[XCH]]
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// CHECK: scf.if
// CHECK: %[[UP:.*]] = memref.load %[[XCH]]
// CHECK: llvm.inline_asm "ex2.approx.ftz.f32 $0, $1;", "=f,f"
// CHECK: arith.mulf %{{.*}}, %[[UP]] : f32
func.func @silu(%w: tensor<4x256x256xbf16, #ss> {samoyeds.name = "w"},
                %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                %off: tensor<5xi32> {samoyeds.name = "offsets"},
                %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x128xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// Spans of two stages (v = 256, k = 128): a span ends where an odd k tile
// does, so a k tile routes the span before it only where it starts one
// (even tiles past the first; the choices of a long span ride with each of
// its stages), decided at run time; the running sum never restarts.
#ss = #samoyeds.ss<n = 1, m = 2, v = 256>
#tile = #samoyeds.tile<warps = 4, tokens = 8, k = 128, stages = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @long_span
// CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%[[P:.*]] = %{{.*}}, %[[R1:.*]] = %{{.*}})
// CHECK: %[[PHASE:.*]] = arith.remui %[[I]], %{{.*}} : index
// CHECK: %[[DONE:.*]] = samoyeds_nvgpu.wgmma_wait %[[P]]
// CHECK: %[[ENDS:.*]] = arith.cmpi eq, %[[PHASE]], %{{.*}} : index
// CHECK: %[[ROUTED:.*]] = scf.if %[[ENDS]] -> (vector<4xf32>) {
// CHECK: %[[NEW:.*]] = llvm.intr.fma(%[[DONE]], %{{.*}}, %[[R1]])
// CHECK: scf.yield %[[NEW]]
// CHECK: } else {
// CHECK: scf.yield %[[R1]]
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: samoyeds_nvgpu.wgmma_sp %[[DONE]], %{{.*}}, %{{.*}}, %{{.*}}, %[[TRUE:[^ ]*]] {
// CHECK: scf.yield %{{.*}}, %[[ROUTED]]
func.func @long_span(%w: tensor<1x128x512xbf16, #ss>, %x: tensor<?x512xbf16>,
                     %off: tensor<2xi32>) -> tensor<?x128xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x128x512xbf16, #ss>, tensor<?x512xbf16>, tensor<2xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// Spans shorter than a stage (v = 64, k = 128) and m = 4: each k tile
// multiplies its two spans one after the other, and routes the first once
// its MMAs are done (both spans' choices ride with the stage); the second
// is routed by the next k tile, or after the loop. Group rows 1-3 each take
// one fused multiply-add per span; row 0 is the sum less all three.
#ss = #samoyeds.ss<n = 1, m = 4, v = 64>
#tile = #samoyeds.tile<warps = 4, tokens = 8, k = 128, stages = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @short_spans
// CHECK: memref.view {{.*}} to memref<256xi8, #gpu.address_space<workgroup>>
// CHECK: scf.for {{.*}} iter_args(%[[P:.*]] = %{{.*}}, %[[R1:.*]] = %{{.*}}, %[[R2:.*]] = %{{.*}}, %[[R3:.*]] = %{{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: %[[DONE:.*]] = samoyeds_nvgpu.wgmma_wait %[[P]]
// CHECK: llvm.intr.fma(%[[DONE]], %{{.*}}, %[[R1]])
// CHECK: llvm.intr.fma(%[[DONE]], %{{.*}}, %[[R2]])
// CHECK: llvm.intr.fma(%[[DONE]], %{{.*}}, %[[R3]])
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: %[[A0:.*]] = samoyeds_nvgpu.wgmma_sp %[[DONE]]
// CHECK-NEXT: %[[A1:.*]] = samoyeds_nvgpu.wgmma_sp %[[A0]]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: %[[MID:.*]] = samoyeds_nvgpu.wgmma_wait %[[A1]]
// CHECK-COUNT-3: llvm.intr.fma(%[[MID]],
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: samoyeds_nvgpu.wgmma_sp %[[MID]]
// CHECK-NEXT: samoyeds_nvgpu.wgmma_sp
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK: scf.yield
// CHECK: %[[SUM:.*]] = samoyeds_nvgpu.wgmma_wait
// CHECK-COUNT-3: llvm.intr.fma(%[[SUM]],
// CHECK: %[[L1:.*]] = arith.subf %[[SUM]], %{{.*}} : vector<4xf32>
// CHECK: %[[L2:.*]] = arith.subf %[[L1]], %{{.*}} : vector<4xf32>
// CHECK: arith.subf %[[L2]], %{{.*}} : vector<4xf32>
func.func @short_spans(%w: tensor<1x256x384xbf16, #ss>, %x: tensor<?x384xbf16>,
                       %off: tensor<2xi32>) -> tensor<?x256xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x256x384xbf16, #ss>, tensor<?x384xbf16>, tensor<2xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Split-K with the weighted combine: grid z is the K slice; the split
// variant writes raw f32 sums to its workspace rows (both halves' columns)
// and the unsplit one f32 rows for the combine.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, split_k = 2, split_slots = 8, strategy = wgmma_sp>
// CHECK-LABEL: func.func @split_combine
// CHECK: #samoyeds.launch<@samoyeds_kernels::@split_combine_ssmm_0 grid
// CHECK-SAME: when(P in [9, ...])>
// CHECK: #samoyeds.launch<@samoyeds_kernels::@split_combine_ssmm_0_split grid(2, token_tiles(P, 16, 2), 2)
// CHECK: gpu.func @split_combine_ssmm_0(
// CHECK: gpu.func @split_combine_ssmm_0_split(
// CHECK: %[[SLICE:.*]] = gpu.block_id z
// CHECK: scf.for
// CHECK: samoyeds_nvgpu.wgmma_sp
// CHECK: %[[SLOT:.*]] = arith.muli %[[SLICE]], %{{.*}} : index
// CHECK: memref.store %{{.*}} : memref<?xf32, #gpu.address_space<global>>
func.func @split_combine(%w: tensor<2x256x512xbf16, #ss>, %h: tensor<?x512xbf16>,
                         %off: tensor<3xi32>, %rw: tensor<?x2xf32>,
                         %pos: tensor<?x2xi32>) -> tensor<?x256xbf16> {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #tile}
      : (tensor<2x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<3xi32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// The persistent variant: one block per SM walks tiles g, g + G, … (G the
// grid) through one continuous ring; both roles look each tile up and each
// producer thread loads its copies' source rows once per tile (registers;
// rows past the tile's tokens zero-fill their chunks, no branch). Its 64 tokens (persistent_tokens)
// are the exchange's size, which gets its own space beside the six slots
// (the ring runs on into the next tile during the epilogue), and the
// consumer frees its last slot after each tile.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 32, k = 128, stages = 6, persistent = 1, persistent_tokens = 64, strategy = wgmma_sp>
// CHECK-LABEL: func.func @silu_persistent
// CHECK: #samoyeds.launch<@samoyeds_kernels::@silu_persistent_ssmm_0_persistent grid(per_sm(1), 1, 1)
// CHECK: gpu.func @silu_persistent_ssmm_0_persistent(
// CHECK: memref.view {{.*}} to memref<49152xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[XCH:.*]] = memref.view {{.*}} to memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK: num_barriers = 12
// CHECK: %[[G:.*]] = gpu.grid_dim x
// CHECK: nvvm.setmaxregister  decrease 56
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %[[MINE:.*]] step
// CHECK: arith.muli %[[T]], %[[G]]
// CHECK: gpu.shuffle up
// CHECK: memref.load %{{.*}}[%{{.*}}] : memref<?xi32, #gpu.address_space<global>>
// CHECK: scf.for
// CHECK: nvgpu.mbarrier.try_wait.parity
// CHECK: %[[BYTES:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// CHECK: nvgpu.device_async_copy {{.*}}, 8, %[[BYTES]] {bypassL1}
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: nvvm.setmaxregister  increase 224
// CHECK: scf.for %[[T2:.*]] = %{{.*}} to %[[MINE]] step
// CHECK: arith.muli %[[T2]], %[[G]]
// CHECK: %[[ACC:.*]] = scf.for {{.*}} iter_args
// CHECK: %[[FINAL:.*]] = samoyeds_nvgpu.wgmma_wait %[[ACC]] {pending = 0 : i64} : vector<32xf32>
// CHECK: %[[LAST:.*]] = arith.remui
// CHECK: %[[EMPTY:.*]] = arith.addi %[[LAST]]
// CHECK-NEXT: nvgpu.mbarrier.arrive %{{.*}}[%[[EMPTY]]]
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// CHECK: memref.store %{{.*}}, %[[XCH]]
func.func @silu_persistent(%w: tensor<4x256x256xbf16, #ss> {samoyeds.name = "w"},
                %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                %off: tensor<5xi32> {samoyeds.name = "offsets"},
                %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x128xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// Plain 2:4 with 128-token tiles from persistent_slots: the unsplit calls
// below it run the persistent grid with the tile's 64 tokens (the strategy's
// persistent grid wins at every size), those from it the 128-token variant,
// whose ring holds as many of the six slots as fit (four).
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, persistent_slots = 384, persistent_tokens = 128, strategy = wgmma_sp>
// CHECK-LABEL: func.func @narrow_wide
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@narrow_wide_ssmm_0_persistent_narrow grid(per_sm(1), 1, 1) {{.*}} smem(210016) {{.*}} when(P in [0, 383])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@narrow_wide_ssmm_0_persistent grid(per_sm(1), 1, 1) {{.*}} smem(205888) {{.*}} when(P in [384, ...])>]
// CHECK: gpu.func @narrow_wide_ssmm_0_persistent_narrow(
// CHECK: memref.view {{.*}} to memref<49152xbf16, #gpu.address_space<workgroup>>
// CHECK: num_barriers = 12
// CHECK: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 64 : i64}
// CHECK: gpu.func @narrow_wide_ssmm_0_persistent(
// CHECK: memref.view {{.*}} to memref<65536xbf16, #gpu.address_space<workgroup>>
// CHECK: num_barriers = 8
// CHECK: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 128 : i64}
func.func @narrow_wide(%w: tensor<4x256x256xbf16, #ss> {samoyeds.name = "w"},
                %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                %off: tensor<5xi32> {samoyeds.name = "offsets"},
                %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// The warpgroup kernel's ordinary grid in groups of 16 token tiles (the
// same block order as mma_sp's).
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, group_tiles = 16, strategy = wgmma_sp>
// CHECK-LABEL: func.func @grouped
// CHECK: grid(2, token_tiles(P, 64, 4), 1) block(384, 1, 1)
// CHECK: gpu.func @grouped_ssmm_0(
// CHECK: %[[G:.*]] = arith.constant 16 : index
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
func.func @grouped(%w: tensor<4x256x256xbf16, #ss> {samoyeds.name = "w"},
                   %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                   %off: tensor<5xi32> {samoyeds.name = "offsets"},
                   %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Above 64 tokens the consumers' first k tile is peeled: its MMAs restart
// the undefined accumulator with a constant scale-d, and the K loop runs
// from the second k tile on accumulators that are always MMA results (else
// ptxas 12.8 serialises the kernel's wgmma, test/Pipelines/wgmma-sp-wide.mlir).
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 128, k = 128, stages = 4, strategy = wgmma_sp>
// CHECK-LABEL: func.func @wide
// CHECK: gpu.func @wide_ssmm_0(
// CHECK: %[[UNDEF:.*]] = llvm.mlir.poison : vector<64xf32>
// CHECK: %[[W0:.*]] = samoyeds_nvgpu.wgmma_wait %[[UNDEF]] {pending = 0 : i64} : vector<64xf32>
// CHECK: samoyeds_nvgpu.wgmma_sp %[[W0]], %{{.*}}, %{{.*}}, %{{.*}}, %false {element = bf16, n = 128 : i64}
// CHECK-COUNT-3: samoyeds_nvgpu.wgmma_sp {{.*}}, %true {element = bf16, n = 128 : i64}
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<64xf32>)
// CHECK: samoyeds_nvgpu.wgmma_wait %[[ACC]] {pending = 0 : i64} : vector<64xf32>
func.func @wide(%w: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w"},
                %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                %off: tensor<5xi32> {samoyeds.name = "offsets"},
                %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// The wide token tile: calls up to decode_slots run the 8-token decode
// variant, then the ordinary grid up to wide_slots - 1, then the `_wide`
// variant with 128 tokens per block (m64n128k32 MMAs) and as many of the
// tile's 6 ring slots as its shared memory holds: 4 (8 mbarriers).
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, decode_tokens = 8, decode_slots = 4, wide_tokens = 128, wide_slots = 512, strategy = wgmma_sp>
// CHECK-LABEL: func.func @wide_variant
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@wide_variant_ssmm_0_decode grid(2, token_tiles(P, 8, 4), 1) {{.*}} when(P in [0, 4])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@wide_variant_ssmm_0 grid(2, token_tiles(P, 64, 4), 1) {{.*}} smem(210016) {{.*}} when(P in [5, 511])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@wide_variant_ssmm_0_wide grid(2, token_tiles(P, 128, 4), 1) {{.*}} smem(205888) {{.*}} when(P in [512, ...])>]
// CHECK: gpu.func @wide_variant_ssmm_0_wide(
// CHECK: memref.view {{.*}} to memref<8xi64, #gpu.address_space<workgroup>>
// CHECK: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 128 : i64}
func.func @wide_variant(%w: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w"},
                        %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                        %off: tensor<5xi32> {samoyeds.name = "offsets"},
                        %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Decode variants with their own warps (decode_warps = 8 under a 16-warp
// tile): the `_decode` grid runs two consumer warpgroups (two 128-row blocks,
// 384 threads) and a ring of as many slots as fit (6: 12 mbarriers); the
// ordinary grid four (one 256-row block, 640 threads).
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, decode_tokens = 8, decode_slots = 4, decode_warps = 8, strategy = wgmma_sp>
// CHECK-LABEL: func.func @decode_warps
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@decode_warps_ssmm_0_decode grid(2, token_tiles(P, 8, 4), 1) block(384, 1, 1) {{.*}} when(P in [0, 4])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@decode_warps_ssmm_0 grid(1, token_tiles(P, 64, 4), 1) block(640, 1, 1) {{.*}} when(P in [5, ...])>]
// CHECK: gpu.func @decode_warps_ssmm_0_decode(
// CHECK: memref.view {{.*}} to memref<12xi64, #gpu.address_space<workgroup>>
// CHECK: gpu.func @decode_warps_ssmm_0(
// CHECK: memref.view {{.*}} to memref<8xi64, #gpu.address_space<workgroup>>
func.func @decode_warps(%w: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w"},
                        %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                        %off: tensor<5xi32> {samoyeds.name = "offsets"},
                        %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Two blocks per SM at decode: the split-K variant (split_blocks = 2, it
// takes the decode tile) and the unsplit decode calls from shared_slots = 3
// (`_decode_shared`) are sized for two blocks: minctasm 2, consumers raised
// to 88 registers (224 for one block), a ring of as many slots as half an SM
// holds (5 here: 10 mbarriers, 113744 bytes); the decode calls below
// (P = 2) keep one block and its 6 slots.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 2, split_slots = 1, split_blocks = 2, decode_tokens = 16, decode_slots = 8, shared_slots = 3, strategy = wgmma_sp>
// CHECK-LABEL: func.func @two_blocks
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@two_blocks_ssmm_0_decode grid(2, token_tiles(P, 16, 4), 1) block(384, 1, 1) smem(136288) {{.*}} when(P in [2, 2])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@two_blocks_ssmm_0_decode_shared grid(2, token_tiles(P, 16, 4), 1) block(384, 1, 1) smem(113744) {{.*}} when(P in [3, 8])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@two_blocks_ssmm_0 grid(2, token_tiles(P, 64, 4), 1) {{.*}} when(P in [9, ...])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@two_blocks_ssmm_0_split grid(2, token_tiles(P, 16, 4), 2) block(384, 1, 1) smem(113744) {{.*}} when(P in [1, 1])>
// CHECK: gpu.func @two_blocks_ssmm_0_decode({{.*}} nvvm.minctasm = 1
// CHECK: memref.view {{.*}} to memref<12xi64, #gpu.address_space<workgroup>>
// The producer keeps what the consumers leave: 56 registers of one block's
// 168, 64 of two blocks' 80.
// CHECK: nvvm.setmaxregister  decrease 56
// CHECK: nvvm.setmaxregister  increase 224
// CHECK: gpu.func @two_blocks_ssmm_0_decode_shared({{.*}} nvvm.minctasm = 2
// CHECK: memref.view {{.*}} to memref<10xi64, #gpu.address_space<workgroup>>
// CHECK: nvvm.setmaxregister  decrease 64
// CHECK: nvvm.setmaxregister  increase 88
// CHECK: gpu.func @two_blocks_ssmm_0(
// CHECK: gpu.func @two_blocks_ssmm_0_split({{.*}} nvvm.minctasm = 2
// CHECK: nvvm.setmaxregister  increase 88
func.func @two_blocks(%w: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w"},
                      %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                      %off: tensor<5xi32> {samoyeds.name = "offsets"},
                      %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// A persistent grid beside the wide variant (persistent = 1, no
// persistent_slots): the persistent grid with the tile's 64 tokens serves
// the unsplit calls below wide_slots, the wide variant those from it, and
// there is no 128-token persistent variant. Masked rows: the row choices
// ride with each stage.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, row_masks = 1, persistent = 1, wide_tokens = 128, wide_slots = 512, strategy = wgmma_sp>
// CHECK-LABEL: func.func @masked_persistent_wide
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@masked_persistent_wide_ssmm_0_persistent_narrow grid(per_sm(1), 1, 1) {{.*}} when(P in [0, 511])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@masked_persistent_wide_ssmm_0_wide grid({{.*}}) {{.*}} when(P in [512, ...])>]
// CHECK-NOT: ssmm_0_persistent grid
// CHECK: gpu.func @masked_persistent_wide_ssmm_0_persistent_narrow(
// CHECK: gpu.grid_dim x
// CHECK: samoyeds_nvgpu.wgmma_sp_rs {{.*}} {element = bf16, n = 64 : i64}
// CHECK: gpu.func @masked_persistent_wide_ssmm_0_wide(
// CHECK: samoyeds_nvgpu.wgmma_sp_rs {{.*}} {element = bf16, n = 128 : i64}
func.func @masked_persistent_wide(%w: tensor<4x256x256xbf16, #ss> {samoyeds.name = "w"},
                %x: tensor<?x256xbf16> {samoyeds.name = "x"},
                %off: tensor<5xi32> {samoyeds.name = "offsets"},
                %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// wide_warps: the wide variant has its own warps. Four consumer warpgroups
// (256 kept rows by 56 tokens, 640 threads) serve the calls below
// wide_slots; the wide variant's two (128 kept rows by 128 tokens, 384
// threads) hold its two accumulator sets of 64, in twice the row blocks.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_warps = 8, strategy = wgmma_sp>
// CHECK-LABEL: func.func @wide_warps
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@wide_warps_ssmm_0 grid(2, token_tiles(P, 56, 4), 1) block(640, 1, 1) {{.*}} when(P in [0, 511])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@wide_warps_ssmm_0_wide grid(4, token_tiles(P, 128, 4), 1) block(384, 1, 1) {{.*}} when(P in [512, ...])>]
// CHECK: gpu.func @wide_warps_ssmm_0(
// CHECK: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 56 : i64}
// CHECK: gpu.func @wide_warps_ssmm_0_wide(
// CHECK: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 128 : i64}
func.func @wide_warps(%w: tensor<4x1024x512xbf16, #ss> {samoyeds.name = "w"},
                      %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                      %off: tensor<5xi32> {samoyeds.name = "offsets"},
                      %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x1024xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x1024x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}

// -----

// persistent_warps splits the calls below the wide variant: the persistent
// grid of two warpgroups (64 tokens, persistent_tokens) below
// persistent_slots, the four-warpgroup persistent grid (56 tokens, the
// tile's) from there.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, persistent = 1, persistent_slots = 256, persistent_tokens = 64, wide_tokens = 128, wide_slots = 512, wide_warps = 8, persistent_warps = 8, strategy = wgmma_sp>
// CHECK-LABEL: func.func @split_below_wide
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@split_below_wide_ssmm_0_persistent_narrow grid(per_sm(1), 1, 1) block(384, 1, 1) {{.*}} when(P in [0, 255])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_below_wide_ssmm_0_persistent_upper grid(per_sm(1), 1, 1) block(640, 1, 1) {{.*}} when(P in [256, 511])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@split_below_wide_ssmm_0_wide grid(4, token_tiles(P, 128, 4), 1) block(384, 1, 1) {{.*}} when(P in [512, ...])>]
// CHECK: gpu.func @split_below_wide_ssmm_0_persistent_narrow(
// CHECK: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 64 : i64}
// CHECK: gpu.func @split_below_wide_ssmm_0_persistent_upper(
// CHECK: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 56 : i64}
func.func @split_below_wide(%w: tensor<4x1024x512xbf16, #ss> {samoyeds.name = "w"},
                            %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                            %off: tensor<5xi32> {samoyeds.name = "offsets"},
                            %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x1024xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x1024x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}

// -----

// The few-slot split (samoyeds-select-tiles' few-slots): four warpgroups and
// 48 tokens on the persistent grid below persistent_slots, the tile's two
// warpgroups and 64 tokens on the persistent grid from there, each block
// walking its tiles through one ring.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, persistent_slots = 160, persistent_tokens = 48, wide_tokens = 128, wide_slots = 512, persistent_warps = 16, strategy = wgmma_sp>
// CHECK-LABEL: func.func @few_slots
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@few_slots_ssmm_0_persistent_narrow grid(per_sm(1), 1, 1) block(640, 1, 1) {{.*}} when(P in [0, 159])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@few_slots_ssmm_0_persistent_upper grid(per_sm(1), 1, 1) block(384, 1, 1) {{.*}} when(P in [160, 511])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@few_slots_ssmm_0_wide grid(4, token_tiles(P, 128, 4), 1) block(384, 1, 1) {{.*}} when(P in [512, ...])>]
// CHECK: gpu.func @few_slots_ssmm_0_persistent_narrow(
// CHECK-COUNT-4: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 48 : i64}
// CHECK: gpu.func @few_slots_ssmm_0_persistent_upper(
// CHECK: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 64 : i64}
// CHECK: gpu.func @few_slots_ssmm_0_wide(
func.func @few_slots(%w: tensor<4x1024x512xbf16, #ss> {samoyeds.name = "w"},
                     %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                     %off: tensor<5xi32> {samoyeds.name = "offsets"},
                     %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x1024xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x1024x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}

// -----

// persistent_units_slots splits the upper persistent grid: single units
// below it (_persistent_upper), unit pairs from it (_persistent_upper_pairs:
// each consumer warpgroup's two units, twice the MMAs a k tile); the grid
// below persistent_slots keeps single units. Slots at or above the wide
// variant's leave the upper grid single (@upper_pairs_above_wide).
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, persistent_slots = 160, persistent_tokens = 48, wide_tokens = 128, wide_slots = 512, persistent_warps = 16, persistent_units = 2, persistent_units_slots = 320, strategy = wgmma_sp>
// CHECK-LABEL: func.func @upper_pairs
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@upper_pairs_ssmm_0_persistent_narrow grid(per_sm(1), 1, 1) block(640, 1, 1) {{.*}} when(P in [0, 159])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@upper_pairs_ssmm_0_persistent_upper grid(per_sm(1), 1, 1) block(384, 1, 1) {{.*}} when(P in [160, 319])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@upper_pairs_ssmm_0_persistent_upper_pairs grid(per_sm(1), 1, 1) block(384, 1, 1) {{.*}} when(P in [320, 511])>
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@upper_pairs_ssmm_0_wide grid(4, token_tiles(P, 128, 4), 1) block(384, 1, 1) {{.*}} when(P in [512, ...])>]
// (Each kernel peels its first k tile: its MMAs appear twice.)
// CHECK: gpu.func @upper_pairs_ssmm_0_persistent_narrow(
// CHECK-COUNT-8: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 48 : i64}
// CHECK-NOT: samoyeds_nvgpu.wgmma_sp
// CHECK: gpu.func @upper_pairs_ssmm_0_persistent_upper(
// CHECK-COUNT-8: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 64 : i64}
// CHECK-NOT: samoyeds_nvgpu.wgmma_sp
// CHECK: gpu.func @upper_pairs_ssmm_0_persistent_upper_pairs(
// CHECK-COUNT-16: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 64 : i64}
// CHECK-NOT: samoyeds_nvgpu.wgmma_sp
// CHECK: gpu.func @upper_pairs_ssmm_0_wide(
func.func @upper_pairs(%w: tensor<4x1024x512xbf16, #ss> {samoyeds.name = "w"},
                       %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                       %off: tensor<5xi32> {samoyeds.name = "offsets"},
                       %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x1024xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x1024x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, persistent_slots = 160, persistent_tokens = 48, wide_tokens = 128, wide_slots = 512, persistent_warps = 16, persistent_units = 2, persistent_units_slots = 600, strategy = wgmma_sp>
// CHECK-LABEL: func.func @upper_pairs_above_wide
// CHECK: @upper_pairs_above_wide_ssmm_0_persistent_upper grid(per_sm(1), 1, 1) block(384, 1, 1) {{.*}} when(P in [160, 511])>
// CHECK-SAME: @upper_pairs_above_wide_ssmm_0_wide grid(4, token_tiles(P, 128, 4), 1) block(384, 1, 1) {{.*}} when(P in [512, ...])>]
// CHECK-NOT: persistent_upper_pairs
// CHECK: return
func.func @upper_pairs_above_wide(%w: tensor<4x1024x512xbf16, #ss> {samoyeds.name = "w"},
                                  %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                                  %off: tensor<5xi32> {samoyeds.name = "offsets"},
                                  %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x1024xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x1024x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}

// -----

// A persistent tile of 40 tokens: the producer gathers rows t / 8 + 16 · i in
// passes of 16; the last pass's rows past the tile's 40 copy nothing (their
// zero-filled chunks would land in the next column block and past the slot).
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 40, k = 128, stages = 4, persistent = 1, strategy = wgmma_sp>
// CHECK-LABEL: gpu.func @rows_past_tokens_ssmm_0_persistent(
// CHECK-COUNT-4: nvgpu.device_async_copy
// CHECK: %[[PAST:.*]] = arith.cmpi ult, %{{.*}}, %c40 : index
// CHECK-NEXT: scf.if %[[PAST]] {
// CHECK-NEXT: nvgpu.device_async_copy
// CHECK-NEXT: arith.addi
// CHECK-NEXT: arith.addi
// CHECK-NEXT: nvgpu.device_async_copy
// CHECK-NEXT: {{^ *}}}
func.func @rows_past_tokens(%w: tensor<4x1024x512xbf16, #ss> {samoyeds.name = "w"},
                            %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                            %off: tensor<5xi32> {samoyeds.name = "offsets"},
                            %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x1024xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<4x1024x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
