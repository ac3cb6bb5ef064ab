// RUN: samoyeds-opt %s --convert-samoyeds-nvgpu-to-nvvm | FileCheck %s

// One nvvm.mma.sp.sync with ordered metadata: bf16 pairs of B as i32, the
// accumulators taken out of the vector and the four results put back.
// CHECK-LABEL: func.func @mma_sp_bf16
// CHECK-SAME: (%[[ACC:.*]]: vector<4xf32>, %[[A:.*]]: vector<4xi32>, %[[B:.*]]: vector<4x2xbf16>, %[[META:.*]]: i32)
// CHECK: %[[A0:.*]] = vector.extract %[[A]][0] : i32 from vector<4xi32>
// CHECK: %[[A3:.*]] = vector.extract %[[A]][3] : i32 from vector<4xi32>
// CHECK: %[[B0P:.*]] = vector.extract %[[B]][0] : vector<2xbf16> from vector<4x2xbf16>
// CHECK: %[[B0:.*]] = llvm.bitcast %[[B0P]] : vector<2xbf16> to i32
// CHECK: %[[B3P:.*]] = vector.extract %[[B]][3] : vector<2xbf16> from vector<4x2xbf16>
// CHECK: %[[B3:.*]] = llvm.bitcast %[[B3P]] : vector<2xbf16> to i32
// CHECK: %[[C0:.*]] = vector.extract %[[ACC]][0] : f32 from vector<4xf32>
// CHECK: %[[C3:.*]] = vector.extract %[[ACC]][3] : f32 from vector<4xf32>
// CHECK: %[[SEL:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[MMA:.*]] = nvvm.mma.sp.sync A[%[[A0]], %{{.*}}, %{{.*}}, %[[A3]]] B[%[[B0]], %{{.*}}, %{{.*}}, %[[B3]]] C[%[[C0]], %{{.*}}, %{{.*}}, %[[C3]]] sparseMetadata[%[[META]]] selector[%[[SEL]]] {multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, orderedMetadata, shape = #nvvm.shape<m = 16, n = 8, k = 32>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: %[[D0:.*]] = llvm.extractvalue %[[MMA]][0]
// CHECK: %[[D1:.*]] = llvm.extractvalue %[[MMA]][1]
// CHECK: %[[D2:.*]] = llvm.extractvalue %[[MMA]][2]
// CHECK: %[[D3:.*]] = llvm.extractvalue %[[MMA]][3]
// CHECK: %[[D:.*]] = vector.from_elements %[[D0]], %[[D1]], %[[D2]], %[[D3]] : vector<4xf32>
// CHECK: return %[[D]]
// CHECK-NOT: samoyeds_nvgpu
func.func @mma_sp_bf16(%acc: vector<4xf32>, %a: vector<4xi32>,
                       %b: vector<4x2xbf16>, %meta: i32) -> vector<4xf32> {
  %d = samoyeds_nvgpu.mma_sp %acc, %a, %b, %meta
      : vector<4xi32>, vector<4x2xbf16> into vector<4xf32>
  return %d : vector<4xf32>
}

// f16: A registers become f16 pairs, B stays in pairs; the selector is kept.
// CHECK-LABEL: func.func @mma_sp_f16
// CHECK-SAME: (%[[ACC:.*]]: vector<4xf32>, %[[A:.*]]: vector<4xi32>, %[[B:.*]]: vector<4x2xf16>, %[[META:.*]]: i32)
// CHECK: %[[A0I:.*]] = vector.extract %[[A]][0] : i32 from vector<4xi32>
// CHECK: %[[A0:.*]] = llvm.bitcast %[[A0I]] : i32 to vector<2xf16>
// CHECK: %[[B0:.*]] = vector.extract %[[B]][0] : vector<2xf16> from vector<4x2xf16>
// CHECK-NOT: llvm.bitcast %[[B0]]
// CHECK: %[[SEL:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK: nvvm.mma.sp.sync A[%[[A0]], {{.*}}] B[%[[B0]], {{.*}}] C[{{.*}}] sparseMetadata[%[[META]]] selector[%[[SEL]]] {orderedMetadata, shape = #nvvm.shape<m = 16, n = 8, k = 32>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @mma_sp_f16(%acc: vector<4xf32>, %a: vector<4xi32>,
                      %b: vector<4x2xf16>, %meta: i32) -> vector<4xf32> {
  %d = samoyeds_nvgpu.mma_sp %acc, %a, %b, %meta {selector = 1 : i64}
      : vector<4xi32>, vector<4x2xf16> into vector<4xf32>
  return %d : vector<4xf32>
}
