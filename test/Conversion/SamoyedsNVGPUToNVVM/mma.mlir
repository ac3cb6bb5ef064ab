// RUN: samoyeds-opt %s --convert-samoyeds-nvgpu-to-nvvm | FileCheck %s

// One nvvm.mma.sync m16n8k16 (A row-major, B column-major): each consecutive
// pair a register: bf16 pairs as i32, f16 pairs as vector<2xf16>; the accumulators taken out of the vector
// and the four results put back.
// CHECK-LABEL: func.func @mma_bf16
// CHECK-SAME: (%[[ACC:.*]]: vector<4xf32>, %[[A:.*]]: vector<8xbf16>, %[[B:.*]]: vector<4xbf16>)
// CHECK: %[[A0P:.*]] = vector.shuffle %[[A]], %[[A]] [0, 1] : vector<8xbf16>, vector<8xbf16>
// CHECK: %[[A0:.*]] = llvm.bitcast %[[A0P]] : vector<2xbf16> to i32
// CHECK: %[[A3P:.*]] = vector.shuffle %[[A]], %[[A]] [6, 7] : vector<8xbf16>, vector<8xbf16>
// CHECK: %[[A3:.*]] = llvm.bitcast %[[A3P]] : vector<2xbf16> to i32
// CHECK: %[[B0P:.*]] = vector.shuffle %[[B]], %[[B]] [0, 1] : vector<4xbf16>, vector<4xbf16>
// CHECK: %[[B0:.*]] = llvm.bitcast %[[B0P]] : vector<2xbf16> to i32
// CHECK: %[[B1P:.*]] = vector.shuffle %[[B]], %[[B]] [2, 3] : vector<4xbf16>, vector<4xbf16>
// CHECK: %[[B1:.*]] = llvm.bitcast %[[B1P]] : vector<2xbf16> to i32
// CHECK: %[[C0:.*]] = vector.extract %[[ACC]][0] : f32 from vector<4xf32>
// CHECK: %[[C3:.*]] = vector.extract %[[ACC]][3] : f32 from vector<4xf32>
// CHECK: %[[MMA:.*]] = nvvm.mma.sync A[%[[A0]], %{{.*}}, %{{.*}}, %[[A3]]] B[%[[B0]], %[[B1]]] C[%[[C0]], %{{.*}}, %{{.*}}, %[[C3]]] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: %[[D0:.*]] = llvm.extractvalue %[[MMA]][0]
// CHECK: %[[D3:.*]] = llvm.extractvalue %[[MMA]][3]
// CHECK: %[[D:.*]] = vector.from_elements %[[D0]], %{{.*}}, %{{.*}}, %[[D3]] : vector<4xf32>
// CHECK: return %[[D]]
// CHECK-NOT: samoyeds_nvgpu
func.func @mma_bf16(%acc: vector<4xf32>, %a: vector<8xbf16>,
                    %b: vector<4xbf16>) -> vector<4xf32> {
  %d = samoyeds_nvgpu.mma %acc, %a, %b
      : vector<8xbf16>, vector<4xbf16> into vector<4xf32>
  return %d : vector<4xf32>
}

// CHECK-LABEL: func.func @mma_f16
// (NVVM infers f16 from the operand types and prints no PTX type.)
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @mma_f16(%acc: vector<4xf32>, %a: vector<8xf16>,
                   %b: vector<4xf16>) -> vector<4xf32> {
  %d = samoyeds_nvgpu.mma %acc, %a, %b
      : vector<8xf16>, vector<4xf16> into vector<4xf32>
  return %d : vector<4xf32>
}
