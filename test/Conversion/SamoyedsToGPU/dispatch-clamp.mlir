// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s
// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu="chunked-dispatch=false" | FileCheck %s --check-prefix=LONG

// Expert ids are data (samoyeds.moe_experts takes them from the caller): the
// dispatch kernel clamps every id it reads to [0, E) before comparing it with
// its block's expert, both when counting the slots of lower experts and when
// placing its own, so an id outside the range (-1, E, garbage) still lands in
// exactly one expert's slot range and every token-list and position entry is
// written.

// CHECK-LABEL: gpu.func @clamp_dispatch_0(
// CHECK-SAME:    %[[IDS:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>,
// The kernel's constants open its body.
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK-DAG:     %[[LAST:.*]] = arith.constant 5 : i32
// A chunk is 256 threads x 8 slots, its loads issued together.
// CHECK-DAG:     %[[CHUNK:.*]] = arith.constant 2048 : index
// Slots routed to lower experts.
// CHECK:         scf.for {{.*}} step %[[CHUNK]]
// CHECK:         %[[ID0:.*]] = memref.load %[[IDS]]
// CHECK-NEXT:    %[[LO0:.*]] = arith.maxsi %[[ID0]], %[[ZERO]] : i32
// CHECK-NEXT:    %[[E0:.*]] = arith.minsi %[[LO0]], %[[LAST]] : i32
// CHECK-NEXT:    arith.cmpi slt, %[[E0]], %{{.*}} : i32
// CHECK-COUNT-7: memref.load %[[IDS]]
// Placement of this expert's slots: the 8 loads, then the 8 ballots.
// CHECK:         scf.for {{.*}} step %[[CHUNK]]
// CHECK:         %[[ID1:.*]] = memref.load %[[IDS]]
// CHECK-NEXT:    %[[LO1:.*]] = arith.maxsi %[[ID1]], %[[ZERO]] : i32
// CHECK-NEXT:    %[[E1:.*]] = arith.minsi %[[LO1]], %[[LAST]] : i32
// CHECK-NEXT:    arith.cmpi eq, %[[E1]], %{{.*}} : i32
// CHECK-COUNT-7: memref.load %[[IDS]]
// CHECK-COUNT-8: nvvm.vote.sync ballot
// CHECK-NOT:     memref.load %[[IDS]]
// CHECK:         gpu.return

// From 8192 routed slots (T = 4096 here) the chunked kernels clamp the same
// way (dispatch-chunked.mlir); without chunked-dispatch, or with more than
// 1024 experts, the `_long` kernel counts in chunks of 256 threads x 32
// slots and places in chunks of 256 threads x 16, with the same clamps.
// LONG-LABEL: gpu.func @clamp_dispatch_0_long(
// LONG-SAME:    %[[LIDS:[a-zA-Z0-9_]+]]: memref<?xi32, #gpu.address_space<global>>,
// LONG-DAG:     %[[LZERO:.*]] = arith.constant 0 : i32
// LONG-DAG:     %[[LLAST:.*]] = arith.constant 5 : i32
// LONG-DAG:     %[[COUNT_CHUNK:.*]] = arith.constant 8192 : index
// LONG-DAG:     %[[PLACE_CHUNK:.*]] = arith.constant 4096 : index
// LONG:         scf.for {{.*}} step %[[COUNT_CHUNK]]
// LONG:         %[[LID0:.*]] = memref.load %[[LIDS]]
// LONG-NEXT:    %[[LLO0:.*]] = arith.maxsi %[[LID0]], %[[LZERO]] : i32
// LONG-NEXT:    %[[LE0:.*]] = arith.minsi %[[LLO0]], %[[LLAST]] : i32
// LONG-NEXT:    arith.cmpi slt, %[[LE0]], %{{.*}} : i32
// LONG-COUNT-31: memref.load %[[LIDS]]
// LONG:         scf.for {{.*}} step %[[PLACE_CHUNK]]
// LONG:         %[[LID1:.*]] = memref.load %[[LIDS]]
// LONG-NEXT:    %[[LLO1:.*]] = arith.maxsi %[[LID1]], %[[LZERO]] : i32
// LONG-NEXT:    %[[LE1:.*]] = arith.minsi %[[LLO1]], %[[LLAST]] : i32
// LONG-NEXT:    arith.cmpi eq, %[[LE1]], %{{.*}} : i32
// LONG-COUNT-15: memref.load %[[LIDS]]
// LONG-COUNT-16: nvvm.vote.sync ballot
// LONG-NOT:     memref.load %[[LIDS]]
// LONG:         gpu.return
func.func @clamp(%ids: tensor<?x2xi32> {samoyeds.name = "ids"})
    -> (tensor<?xi32>, tensor<7xi32>, tensor<?x2xi32>) {
  %tok, %off, %pos = samoyeds.dispatch %ids experts(6)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<7xi32>, tensor<?x2xi32>)
  return %tok, %off, %pos : tensor<?xi32>, tensor<7xi32>, tensor<?x2xi32>
}
