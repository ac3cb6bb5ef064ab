// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="chunked-dispatch=false" | FileCheck %s --check-prefix=OFF

// From 8192 routed slots (T = 4096 here) the dispatch runs over chunks of
// 1024 slots (RoutingChunked.cpp): `_count` writes each chunk's slots per
// expert into the [P, 2] i32 workspace, `_place` sums that table, scans it
// over the experts and places its chunk's slots; both grids are a block per
// chunk. Without chunked-dispatch the `_long` kernel (a block per expert)
// serves those calls and there is no workspace.
// CHECK-LABEL: func.func @chunked
// CHECK-SAME: #samoyeds.buffer<"ws_chunked_dispatch_0", workspace, i32, [P, 2]>]
// CHECK: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@chunked_dispatch_0 grid(6, 1, 1) block(256, 1, 1) smem(0) args({{.*}}) when(T in [0, 4095])>,
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@chunked_dispatch_0_count grid(ceil_div(P, 1024), 1, 1) block(256, 1, 1) smem(0) args(buffer("ids", 4), buffer("ws_chunked_dispatch_0", 4), symbol(P)) when(T in [4096, ...])>,
// CHECK-SAME: #samoyeds.launch<@samoyeds_kernels::@chunked_dispatch_0_place grid(ceil_div(P, 1024), 1, 1) block(256, 1, 1) smem(0) args(buffer("ids", 4), buffer("ws_chunked_dispatch_0", 4), buffer("result0", 4), buffer("result1", 4), buffer("result2", 4), symbol(P)) when(T in [4096, ...])>]
// OFF-LABEL: func.func @chunked
// OFF-NOT: ws_chunked_dispatch_0
// OFF: @chunked_dispatch_0 grid(6, 1, 1) {{.*}} when(T in [0, 4095])>,
// OFF-SAME: @chunked_dispatch_0_long grid(6, 1, 1) {{.*}} when(T in [4096, ...])>]
// OFF-NOT: _count
// OFF-NOT: _place

// More experts than a chunk has slots: `_long`, no workspace.
// CHECK-LABEL: func.func @many_experts
// CHECK-NOT: ws_many_experts
// CHECK: @many_experts_dispatch_0 grid(1100, 1, 1) {{.*}} when(T in [0, 4095])>,
// CHECK-SAME: @many_experts_dispatch_0_long grid(1100, 1, 1) {{.*}} when(T in [4096, ...])>]

// _count: 4 slots a thread (256 threads), each id clamped to [0, E) and
// counted by a shared-memory atomic add; the chunk's row of the table.
// CHECK-LABEL: gpu.func @chunked_dispatch_0_count(
// CHECK-SAME: %[[IDS:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %[[TABLE:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: i32)
// CHECK-SAME: workgroup(%[[HIST:.*]] : memref<6xi32, #gpu.address_space<workgroup>>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[LAST:.*]] = arith.constant 5 : i32
// CHECK: %[[CID:.*]] = memref.load %[[IDS]]
// CHECK-NEXT: %[[CLO:.*]] = arith.maxsi %[[CID]], %[[ZERO]] : i32
// CHECK-NEXT: arith.minsi %[[CLO]], %[[LAST]] : i32
// CHECK-COUNT-3: memref.load %[[IDS]]
// CHECK: gpu.barrier
// CHECK-COUNT-4: memref.atomic_rmw addi %{{.*}}, %[[HIST]]
// CHECK: gpu.barrier
// CHECK: %[[N:.*]] = memref.load %[[HIST]]
// CHECK: memref.store %[[N]], %[[TABLE]]
// CHECK: gpu.return

// _place: sums (2E: totals, chunks before), per-warp counts (8 warps x E)
// and the scan's warp totals in shared memory.
// CHECK-LABEL: gpu.func @chunked_dispatch_0_place(
// CHECK-SAME: %[[PIDS:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %[[PTABLE:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %[[TOK:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %[[OFFSETS:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %[[POS:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>, %{{.*}}: i32)
// CHECK-SAME: workgroup(%[[SUMS:.*]] : memref<12xi32, #gpu.address_space<workgroup>>, %[[WARPS:.*]] : memref<48xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<8xi32, #gpu.address_space<workgroup>>)
// CHECK-DAG: %[[PZERO:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[PLAST:.*]] = arith.constant 5 : i32
// CHECK: %[[ID:.*]] = memref.load %[[PIDS]]
// CHECK-NEXT: %[[LO:.*]] = arith.maxsi %[[ID]], %[[PZERO]] : i32
// CHECK-NEXT: arith.minsi %[[LO]], %[[PLAST]] : i32
// The table, 8 loads a thread at a time, summed by atomic adds.
// CHECK: scf.for
// CHECK-COUNT-8: memref.load %[[PTABLE]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[SUMS]]
// The offsets: a scan over the experts (block 0 writes them).
// CHECK: gpu.shuffle up
// CHECK: memref.store %{{.*}}, %[[OFFSETS]]
// Each run of 32 slots: rank among the run's slots of the same expert.
// CHECK: %[[SAME:.*]] = nvvm.match.sync any %{{.*}}, %{{.*}} : i32 -> i32
// CHECK: %[[BELOW:.*]] = arith.andi %[[SAME]], %{{.*}} : i32
// CHECK: llvm.intr.ctpop(%[[BELOW]])
// CHECK: nvvm.bar.warp.sync
// CHECK: memref.store %{{.*}}, %[[WARPS]]
// CHECK: nvvm.bar.warp.sync
// CHECK-COUNT-3: nvvm.match.sync any
// CHECK: gpu.barrier
// The slot's position: chunks before + warps before + rank.
// CHECK: scf.if
// CHECK: %[[BEFORE:.*]] = memref.load %[[SUMS]]
// CHECK: %[[WBEFORE:.*]] = memref.load %[[WARPS]]
// CHECK: %[[P0:.*]] = arith.addi %[[BEFORE]], %[[WBEFORE]] : i32
// CHECK: %[[P:.*]] = arith.addi %[[P0]], %{{.*}} : i32
// CHECK: %[[AT:.*]] = arith.index_cast %[[P]] : i32 to index
// CHECK: memref.store %{{.*}}, %[[TOK]][%[[AT]]]
// CHECK: memref.store %[[P]], %[[POS]]
func.func @chunked(%ids: tensor<?x2xi32> {samoyeds.name = "ids"})
    -> (tensor<?xi32>, tensor<7xi32>, tensor<?x2xi32>) {
  %tok, %off, %pos = samoyeds.dispatch %ids experts(6)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<7xi32>, tensor<?x2xi32>)
  return %tok, %off, %pos : tensor<?xi32>, tensor<7xi32>, tensor<?x2xi32>
}

func.func @many_experts(%ids: tensor<?x2xi32> {samoyeds.name = "ids"})
    -> (tensor<?xi32>, tensor<1101xi32>, tensor<?x2xi32>) {
  %tok, %off, %pos = samoyeds.dispatch %ids experts(1100)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<1101xi32>, tensor<?x2xi32>)
  return %tok, %off, %pos : tensor<?xi32>, tensor<1101xi32>, tensor<?x2xi32>
}
