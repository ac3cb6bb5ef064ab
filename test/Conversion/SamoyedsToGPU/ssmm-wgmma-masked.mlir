// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s

// Masked row selection under the warpgroup strategy (row_masks = 1), 1:2
// with v = 128 (one span per 128-column stage): the consumer warpgroup owns
// a unit of 64 kept rows, that is 128 group rows, as two 64-row tiles (two
// accumulator sets). Each ring slot brings the unit's weight block, its
// metadata and its 64 row choices of the stage's span (bulk copies: 8192 +
// 1024 + 64 bytes); a thread takes its kept row's values from the weight
// block into the A registers of both rows of its group, zero in the row the
// span did not choose, and the MMAs chain without span routing.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, row_masks = 1, strategy = wgmma_sp>
// CHECK-LABEL: func.func @masked
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@masked_ssmm_0 grid(1, token_tiles(P, 16, 2), 1) block(256, 1, 1) smem(27808)
// CHECK: gpu.func @masked_ssmm_0(%[[VALUES:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[META:.*]]: memref<?xi32, #gpu.address_space<global>>, %[[ROWIDX:.*]]: memref<?xi8, #gpu.address_space<global>>, %[[X:.*]]: memref<?xbf16, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: memref<?xi32, #gpu.address_space<global>>, %[[Y:.*]]: memref<?xbf16, #gpu.address_space<global>>)
// Both sets start undefined: the first k tile's MMAs restart them.
// CHECK: %[[UNDEF:.*]] = llvm.mlir.poison : vector<8xf32>
// CHECK-DAG: %[[TX:.*]] = arith.constant 9280 : index
// CHECK-DAG: %[[CHOICEBYTES:.*]] = arith.constant 64 : i32
// The weight blocks as words (the consumers load them) and the row choices.
// CHECK: %[[SMETA:.*]] = memref.view %{{.*}} to memref<512xi32, #gpu.address_space<workgroup>>
// CHECK: %[[SA:.*]] = memref.view %{{.*}} to memref<4096xi32, #gpu.address_space<workgroup>>
// CHECK: %[[SCHOICE:.*]] = memref.view %{{.*}} to memref<128xi8, #gpu.address_space<workgroup>>
// CHECK: nvvm.setmaxregister  decrease 64
// CHECK: extract_aligned_pointer_as_index %[[ROWIDX]]
// CHECK: nvgpu.mbarrier.arrive.expect_tx %{{.*}}[%{{.*}}], %[[TX]] :
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : !llvm.ptr<7>, <1>
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : !llvm.ptr<7>, <1>
// CHECK: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, %[[CHOICEBYTES]] : !llvm.ptr<7>, <1>
// CHECK: nvvm.setmaxregister  increase 240
// The first k tile is peeled: its MMAs restart both sets (scale-d false).
// CHECK: %[[W0:.*]]:2 = samoyeds_nvgpu.wgmma_wait %[[UNDEF]], %[[UNDEF]] {pending = 0 : i64}
// Per set and K step: the kept row's choice, its two words of the step,
// one copy for each row of the thread's group (the other zero), and its
// metadata for both rows.
// CHECK: %[[CHOICE:.*]] = memref.load %[[SCHOICE]]
// CHECK: %[[C32:.*]] = arith.extui %[[CHOICE]] : i8 to i32
// CHECK: %[[V0:.*]] = memref.load %[[SA]]
// CHECK: %[[V1:.*]] = memref.load %[[SA]]
// CHECK: %[[HIT0:.*]] = arith.cmpi eq, %[[C32]], %{{.*}} : i32
// CHECK: %[[HIT1:.*]] = arith.cmpi eq, %[[C32]], %{{.*}} : i32
// CHECK: %[[A0:.*]] = arith.select %[[HIT0]], %[[V0]], %[[ZERO:.*]] : i32
// CHECK: %[[A1:.*]] = arith.select %[[HIT1]], %[[V0]], %[[ZERO]] : i32
// CHECK: %[[A2:.*]] = arith.select %[[HIT0]], %[[V1]], %[[ZERO]] : i32
// CHECK: %[[A3:.*]] = arith.select %[[HIT1]], %[[V1]], %[[ZERO]] : i32
// CHECK: %[[A:.*]] = vector.from_elements %[[A0]], %[[A1]], %[[A2]], %[[A3]] : vector<4xi32>
// CHECK: %[[MW:.*]] = memref.load %[[SMETA]]
// CHECK: %[[MS:.*]] = arith.shrui %[[MW]]
// CHECK: %[[MH:.*]] = arith.andi %[[MS]], %{{.*}} : i32
// CHECK: %[[MHI:.*]] = arith.shli %[[MH]]
// CHECK: %[[M:.*]] = arith.ori %[[MH]], %[[MHI]] : i32
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: %[[P0:.*]] = samoyeds_nvgpu.wgmma_sp_rs %[[W0]]#0, %[[A]], %{{.*}}, %[[M]], %[[FALSE:.*]] {element = bf16, n = 16 : i64} : vector<4xi32>, vector<8xf32>
// CHECK-NEXT: %[[P1:.*]] = samoyeds_nvgpu.wgmma_sp_rs %[[W0]]#1, %{{.*}}, %{{.*}}, %{{.*}}, %[[FALSE]]
// CHECK-NEXT: %[[P2:.*]] = samoyeds_nvgpu.wgmma_sp_rs %[[P0]], {{.*}}, %[[TRUE:.*]] {element
// CHECK-NEXT: %[[P3:.*]] = samoyeds_nvgpu.wgmma_sp_rs %[[P1]], {{.*}}, %[[TRUE]] {element
// CHECK-COUNT-4: samoyeds_nvgpu.wgmma_sp_rs
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// The rest of the K loop: wait for the previous k tile's MMAs (they read
// their A and metadata registers), release its slot, load and multiply.
// CHECK: %[[LOOP:.*]]:2 = scf.for {{.*}} iter_args(%[[S0:.*]] = %{{.*}}, %[[S1:.*]] = %{{.*}}) -> (vector<8xf32>, vector<8xf32>)
// CHECK: %[[DONE:.*]]:2 = samoyeds_nvgpu.wgmma_wait %[[S0]], %[[S1]] {pending = 0 : i64}
// CHECK: nvgpu.mbarrier.arrive
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: samoyeds_nvgpu.wgmma_sp_rs %[[DONE]]#0
// CHECK-NEXT: samoyeds_nvgpu.wgmma_sp_rs %[[DONE]]#1
// CHECK-COUNT-6: samoyeds_nvgpu.wgmma_sp_rs
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK: %[[OUT:.*]]:2 = samoyeds_nvgpu.wgmma_wait %[[LOOP]]#0, %[[LOOP]]#1 {pending = 0 : i64}
// Each set's values are stored to their group rows.
// CHECK: vector.extract %[[OUT]]#0[0]
// CHECK: memref.store %{{.*}}, %[[Y]]
// CHECK: vector.extract %[[OUT]]#1[0]
// CHECK: memref.store %{{.*}}, %[[Y]]
func.func @masked(%w: tensor<2x128x512xbf16, #ss> {samoyeds.name = "w"},
                  %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                  %off: tensor<3xi32> {samoyeds.name = "offsets"},
                  %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x128xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none> {tile = #tile}
      : (tensor<2x128x512xbf16, #ss>, tensor<?x512xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}
