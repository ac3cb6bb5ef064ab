// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu=fuse-combine=true --split-input-file | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file | FileCheck %s --check-prefix=OFF

// fuse-combine: the decode and split-K kernels of a weighted_combine's
// calls of at most 4 tokens combine their own slot rows (`_combining`), one
// launch instead of two.

// mma_sp, top-2, the split-K variant up to 8 routed slots (4 tokens), 2
// row blocks of 16 rows, 4 K slices of one k tile: every block,
// with a token tile or without, fences, counts itself in its row block's
// counter (one per row block: 2) and compares the count before its own
// with grid y · grid z - 1; the last sums, for each of the T tokens (the
// launch's symbol, an i32 argument) and each of the row block's 16
// columns, the token's two slots' four slices weighted by its routing
// weights, stores the result and zeroes the counter. The unsplit calls
// keep their combine kernels.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2, split_k = 4, split_slots = 8>
// CHECK-LABEL: func.func @split_combine
// CHECK-SAME: #samoyeds.buffer<"ws_split_combine_ssmm_0_split", workspace, f32, [32, 32]>, #samoyeds.buffer<"ws_split_combine_ssmm_0_counters", counters, i32, [2]>
// CHECK: samoyeds.launch [
// CHECK-SAME: @samoyeds_kernels::@split_combine_ssmm_0_combine grid
// CHECK-SAME: when(P in [9, 8191])
// CHECK-SAME: @samoyeds_kernels::@split_combine_ssmm_0_split_combining grid(2, token_tiles(P, 8, 1), 4) block(32, 1, 1) smem(2432) args({{.*}}, buffer("ws_split_combine_ssmm_0_split", 4), buffer("result0", 2), buffer("ws_split_combine_ssmm_0_counters", 4), buffer("arg3", 4), buffer("arg4", 4), symbol(T)) when(P in [1, 8])>]
// CHECK-NOT: _split_combine
// CHECK: gpu.func @split_combine_ssmm_0_split_combining({{.*}}, %[[WS:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>, %[[OUT:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>, %[[CNT:[a-z0-9]+]]: memref<?xi32, #gpu.address_space<global>>, %[[RW:[a-z0-9]+]]: memref<?xf32, #gpu.address_space<global>>, %[[POS:[a-z0-9]+]]: memref<?xi32, #gpu.address_space<global>>, %[[T32:[a-z0-9]+]]: i32)
// CHECK: %[[RB:.*]] = gpu.block_id x
// CHECK: %[[Y:.*]] = gpu.block_id y
// CHECK: samoyeds_nvgpu.mma_sp
// CHECK: memref.store %{{.*}}, %[[WS]][%{{.*}}] : memref<?xf32,
// CHECK: %[[GY:.*]] = gpu.grid_dim y
// CHECK-NEXT: %[[GZ:.*]] = gpu.grid_dim z
// CHECK-NEXT: %[[BLOCKS:.*]] = arith.muli %[[GY]], %[[GZ]]
// CHECK-NEXT: %[[OTHERS:.*]] = arith.subi %[[BLOCKS]], %c1
// CHECK-NEXT: %[[OTHERS32:.*]] = arith.index_cast %[[OTHERS]] : index to i32
// CHECK-NEXT: nvvm.memory.barrier <gpu>
// CHECK-NEXT: nvvm.barrier{{$}}
// CHECK: %[[BEFORE:.*]] = memref.atomic_rmw addi %c1_i32, %[[CNT]][%[[RB]]]
// CHECK-NEXT: %[[LAST:.*]] = arith.cmpi eq, %[[BEFORE]], %[[OTHERS32]] : i32
// CHECK-NEXT: scf.if %[[LAST]] {
// CHECK-NEXT: memref.store %c0_i32, %[[CNT]][%[[RB]]]
// CHECK: %[[ANY:.*]] = nvvm.barrier #nvvm.reduction<or>
// CHECK-NEXT: %[[MINE:.*]] = arith.cmpi ne, %[[ANY]], %c0_i32
// CHECK-NEXT: scf.if %[[MINE]] {
// CHECK-NEXT: nvvm.memory.barrier <gpu>
// CHECK-NEXT: %[[T:.*]] = arith.index_cast %[[T32]] : i32 to index
// CHECK-NEXT: %[[N:.*]] = arith.muli %[[T]], %c16
// CHECK-NEXT: scf.for %{{.*}} = %{{.*}} to %[[N]] step %c32 {
// CHECK: memref.load %[[POS]]
// CHECK-COUNT-4: memref.load %[[WS]]
// CHECK: memref.load %[[RW]]
// CHECK: memref.load %[[POS]]
// CHECK-COUNT-4: memref.load %[[WS]]
// CHECK: memref.load %[[RW]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// A block without a token tile counts and may combine too.
// CHECK: arith.cmpi sge
// CHECK: memref.atomic_rmw addi %c1_i32, %[[CNT]][%[[RB]]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: gpu.return
// OFF-LABEL: func.func @split_combine
// OFF-NOT: counters
// OFF: @samoyeds_kernels::@split_combine_ssmm_0_split_combine
// OFF: gpu.func @split_combine_ssmm_0_split(
// OFF-NOT: memref.atomic_rmw
// OFF: gpu.return
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

// wgmma_sp, top-3: the calls of up to 12 routed slots combine in their
// kernels, those of the split-K variant (1-4) and of the decode variant's
// first part (5-12), whose remaining calls (13-16) have a kernel of their
// own and the combine kernel, like the larger calls. Two row blocks of 128
// rows, one counter each. In a block with a token tile the two consumer
// warpgroups count and combine (barrier 1, 256 threads, after the
// epilogue's stores); a block without one does with its whole 384 threads
// (barrier 0). The decode kernel's slot rows are bf16.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 2, split_slots = 4, split_blocks = 2, decode_tokens = 16, decode_slots = 16, shared_slots = 3, strategy = wgmma_sp>
// CHECK-LABEL: func.func @wgmma
// CHECK-SAME: #samoyeds.buffer<"ws_wgmma_ssmm_0_counters", counters, i32, [2]>
// CHECK: @samoyeds_kernels::@wgmma_ssmm_0_decode_shared_combining grid(2, token_tiles(P, 16, 4), 1) {{.*}} buffer("ws_wgmma_ssmm_0", 2), buffer("y", 2), buffer("ws_wgmma_ssmm_0_counters", 4), buffer("weights", 4), buffer("positions", 4), symbol(T)) when(P in [5, 12])>
// CHECK-SAME: @samoyeds_kernels::@wgmma_ssmm_0_decode_shared grid(2, token_tiles(P, 16, 4), 1) {{.*}} buffer("ws_wgmma_ssmm_0", 2)) when(P in [13, 16])>
// CHECK-SAME: @samoyeds_kernels::@wgmma_ssmm_0_combine grid({{.*}} when(P in [13, 8191])>
// CHECK-SAME: @samoyeds_kernels::@wgmma_ssmm_0_split_combining grid(2, token_tiles(P, 16, 4), 2) {{.*}} buffer("y", 2), buffer("ws_wgmma_ssmm_0_counters", 4), buffer("weights", 4), buffer("positions", 4), symbol(T)) when(P in [1, 4])>]
// CHECK: gpu.func @wgmma_ssmm_0_decode_shared_combining({{.*}}, %[[ROWS:[a-z0-9]+]]: memref<?xbf16, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xbf16, #gpu.address_space<global>>, %[[DCNT:[a-z0-9]+]]: memref<?xi32, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xf32, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xi32, #gpu.address_space<global>>, %{{[a-z0-9]+}}: i32)
// CHECK: memref.atomic_rmw addi %c1_i32, %[[DCNT]]
// CHECK: memref.load %[[ROWS]]
// CHECK-NEXT: arith.extf %{{.*}} : bf16 to f32
// CHECK: gpu.func @wgmma_ssmm_0_split_combining({{.*}}%[[CNT:[a-z0-9]+]]: memref<?xi32, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xf32, #gpu.address_space<global>>, %{{[a-z0-9]+}}: memref<?xi32, #gpu.address_space<global>>, %{{[a-z0-9]+}}: i32)
// CHECK: nvvm.setmaxregister  increase 88
// CHECK: nvvm.memory.barrier <gpu>
// CHECK-NEXT: nvvm.barrier id = %c1_i32 number_of_threads = %c256_i32
// CHECK: memref.atomic_rmw addi %c1_i32, %[[CNT]]
// CHECK: %[[ANY:.*]] = llvm.inline_asm has_side_effects "{{.*}}bar.red.or.pred q, $2, $3, p;{{.*}}", "=r,r,r,r" %{{.*}}, %c1_i32, %c256_i32
// CHECK: arith.cmpi ne, %[[ANY]], %c0_i32
// CHECK: nvvm.memory.barrier <gpu>
// CHECK: scf.for %{{.*}} step %c256
// CHECK: arith.cmpi sge
// CHECK: nvvm.memory.barrier <gpu>
// CHECK-NEXT: nvvm.barrier{{$}}
// CHECK: memref.atomic_rmw addi %c1_i32, %[[CNT]]
// CHECK: nvvm.barrier #nvvm.reduction<or>
// CHECK: scf.for %{{.*}} step %c384
// CHECK: gpu.return
// OFF-LABEL: func.func @wgmma
// OFF: @samoyeds_kernels::@wgmma_ssmm_0_split_combine
func.func @wgmma(%w: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w"},
                 %h: tensor<?x512xbf16> {samoyeds.name = "h"},
                 %off: tensor<5xi32> {samoyeds.name = "offsets"},
                 %rw: tensor<?x3xf32> {samoyeds.name = "weights"},
                 %pos: tensor<?x3xi32> {samoyeds.name = "positions"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #tile}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>,
         tensor<?x3xf32>, tensor<?x3xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Where a kernel that cannot count its blocks takes some of the calls of
// up to 4 tokens (here the ordinary grid's from 9 routed slots: decode_slots
// = 8), no kernel of the op combines: the combine kernels stay.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 2, split_slots = 4, split_blocks = 2, decode_tokens = 16, decode_slots = 8, shared_slots = 3, strategy = wgmma_sp>
// CHECK-LABEL: func.func @fallback
// CHECK-NOT: counters
// CHECK-NOT: _combining
// CHECK: @samoyeds_kernels::@fallback_ssmm_0_combine grid({{.*}} when(P in [5, 8191])>
// CHECK-SAME: @samoyeds_kernels::@fallback_ssmm_0_split_combine grid({{.*}} when(P in [1, 4])>]
func.func @fallback(%w: tensor<4x256x512xbf16, #ss> {samoyeds.name = "w"},
                    %h: tensor<?x512xbf16> {samoyeds.name = "h"},
                    %off: tensor<5xi32> {samoyeds.name = "offsets"},
                    %rw: tensor<?x3xf32> {samoyeds.name = "weights"},
                    %pos: tensor<?x3xi32> {samoyeds.name = "positions"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #tile}
      : (tensor<4x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<5xi32>,
         tensor<?x3xf32>, tensor<?x3xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Without weighted_combine the option changes nothing: the split reduction
// kernel stays.
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 64, stages = 2, split_k = 2, split_slots = 16>
// CHECK-LABEL: func.func @silu
// CHECK-NOT: counters
// CHECK: @samoyeds_kernels::@silu_ssmm_0_split_reduce
// CHECK: gpu.func @silu_ssmm_0_split(
// CHECK-NOT: memref.atomic_rmw
// CHECK: gpu.return
func.func @silu(%w: tensor<2x64x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x32xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<2x64x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?xi32>)
      -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}
