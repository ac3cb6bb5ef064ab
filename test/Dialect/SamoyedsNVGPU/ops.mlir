// RUN: samoyeds-opt %s | samoyeds-opt | FileCheck %s
// RUN: samoyeds-opt %s --mlir-print-op-generic | samoyeds-opt | FileCheck %s
// RUN: samoyeds-opt %s --emit-bytecode | samoyeds-opt | FileCheck %s

// CHECK-LABEL: func.func @wgmma_sp
// CHECK-SAME: (%[[ACC:.*]]: vector<32xf32>, %[[A:.*]]: i64, %[[B:.*]]: i64, %[[META:.*]]: i32, %[[SCALE:.*]]: i1)
// CHECK: %[[D:.*]] = samoyeds_nvgpu.wgmma_sp %[[ACC]], %[[A]], %[[B]], %[[META]], %[[SCALE]] {element = bf16, n = 64 : i64} : vector<32xf32>
// CHECK: %[[E:.*]] = samoyeds_nvgpu.wgmma_sp %[[D]], %[[A]], %[[B]], %[[META]], %[[SCALE]] {element = f16, n = 64 : i64, selector = 1 : i64} : vector<32xf32>
// CHECK: %[[W:.*]]:2 = samoyeds_nvgpu.wgmma_wait %[[E]], %[[ACC]] {pending = 1 : i64} : vector<32xf32>, vector<32xf32>
// CHECK: samoyeds_nvgpu.wgmma_wait {pending = 1 : i64}
// CHECK-NEXT: return %[[W]]#0
func.func @wgmma_sp(%acc: vector<32xf32>, %a: i64, %b: i64, %meta: i32,
                    %scale: i1) -> vector<32xf32> {
  %d = samoyeds_nvgpu.wgmma_sp %acc, %a, %b, %meta, %scale
      {n = 64 : i64, element = bf16} : vector<32xf32>
  %e = samoyeds_nvgpu.wgmma_sp %d, %a, %b, %meta, %scale
      {n = 64 : i64, element = f16, selector = 1 : i64} : vector<32xf32>
  %w:2 = samoyeds_nvgpu.wgmma_wait %e, %acc {pending = 1 : i64}
      : vector<32xf32>, vector<32xf32>
  samoyeds_nvgpu.wgmma_wait {pending = 1 : i64}
  return %w#0 : vector<32xf32>
}

// CHECK-LABEL: func.func @wgmma_sp_n256
// CHECK: samoyeds_nvgpu.wgmma_sp {{.*}} {element = bf16, n = 256 : i64} : vector<128xf32>
func.func @wgmma_sp_n256(%acc: vector<128xf32>, %a: i64, %b: i64, %meta: i32,
                         %scale: i1) -> vector<128xf32> {
  %d = samoyeds_nvgpu.wgmma_sp %acc, %a, %b, %meta, %scale
      {n = 256 : i64, element = bf16} : vector<128xf32>
  return %d : vector<128xf32>
}

// A from registers: four 32-bit registers of the compressed A.
// CHECK-LABEL: func.func @wgmma_sp_rs
// CHECK-SAME: (%[[ACC:.*]]: vector<32xf32>, %[[A:.*]]: vector<4xi32>, %[[B:.*]]: i64, %[[META:.*]]: i32, %[[SCALE:.*]]: i1)
// CHECK: %[[D:.*]] = samoyeds_nvgpu.wgmma_sp_rs %[[ACC]], %[[A]], %[[B]], %[[META]], %[[SCALE]] {element = bf16, n = 64 : i64} : vector<4xi32>, vector<32xf32>
// CHECK: samoyeds_nvgpu.wgmma_sp_rs %[[D]], %[[A]], %[[B]], %[[META]], %[[SCALE]] {element = f16, n = 64 : i64, selector = 1 : i64} : vector<4xi32>, vector<32xf32>
func.func @wgmma_sp_rs(%acc: vector<32xf32>, %a: vector<4xi32>, %b: i64,
                       %meta: i32, %scale: i1) -> vector<32xf32> {
  %d = samoyeds_nvgpu.wgmma_sp_rs %acc, %a, %b, %meta, %scale
      {n = 64 : i64, element = bf16} : vector<4xi32>, vector<32xf32>
  %e = samoyeds_nvgpu.wgmma_sp_rs %d, %a, %b, %meta, %scale
      {n = 64 : i64, element = f16, selector = 1 : i64}
      : vector<4xi32>, vector<32xf32>
  return %e : vector<32xf32>
}

// CHECK-LABEL: func.func @mma_sp
// CHECK-SAME: (%[[ACC:.*]]: vector<4xf32>, %[[A:.*]]: vector<4xi32>, %[[B:.*]]: vector<4x2xbf16>, %[[H:.*]]: vector<4x2xf16>, %[[META:.*]]: i32)
// CHECK: %[[D:.*]] = samoyeds_nvgpu.mma_sp %[[ACC]], %[[A]], %[[B]], %[[META]] : vector<4xi32>, vector<4x2xbf16> into vector<4xf32>
// CHECK: %[[E:.*]] = samoyeds_nvgpu.mma_sp %[[D]], %[[A]], %[[H]], %[[META]] {selector = 1 : i64} : vector<4xi32>, vector<4x2xf16> into vector<4xf32>
// CHECK: return %[[E]]
func.func @mma_sp(%acc: vector<4xf32>, %a: vector<4xi32>, %b: vector<4x2xbf16>,
                  %h: vector<4x2xf16>, %meta: i32) -> vector<4xf32> {
  %d = samoyeds_nvgpu.mma_sp %acc, %a, %b, %meta
      : vector<4xi32>, vector<4x2xbf16> into vector<4xf32>
  %e = samoyeds_nvgpu.mma_sp %d, %a, %h, %meta {selector = 1 : i64}
      : vector<4xi32>, vector<4x2xf16> into vector<4xf32>
  return %e : vector<4xf32>
}

// CHECK-LABEL: func.func @mma
// CHECK-SAME: (%[[ACC:.*]]: vector<4xf32>, %[[A:.*]]: vector<8xbf16>, %[[B:.*]]: vector<4xbf16>, %[[AH:.*]]: vector<8xf16>, %[[BH:.*]]: vector<4xf16>)
// CHECK: %[[D:.*]] = samoyeds_nvgpu.mma %[[ACC]], %[[A]], %[[B]] : vector<8xbf16>, vector<4xbf16> into vector<4xf32>
// CHECK: %[[E:.*]] = samoyeds_nvgpu.mma %[[D]], %[[AH]], %[[BH]] : vector<8xf16>, vector<4xf16> into vector<4xf32>
// CHECK: return %[[E]]
func.func @mma(%acc: vector<4xf32>, %a: vector<8xbf16>, %b: vector<4xbf16>,
               %ah: vector<8xf16>, %bh: vector<4xf16>) -> vector<4xf32> {
  %d = samoyeds_nvgpu.mma %acc, %a, %b : vector<8xbf16>, vector<4xbf16> into vector<4xf32>
  %e = samoyeds_nvgpu.mma %d, %ah, %bh : vector<8xf16>, vector<4xf16> into vector<4xf32>
  return %e : vector<4xf32>
}
