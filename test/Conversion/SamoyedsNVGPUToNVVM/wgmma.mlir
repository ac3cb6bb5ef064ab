// RUN: samoyeds-opt %s --convert-samoyeds-nvgpu-to-nvvm | FileCheck %s

// Each op is one inline PTX statement whose accumulators are tied from input
// to output ("=f" results, "0".."n/2-1" inputs), so no move separates MMAs.
// CHECK-LABEL: func.func @wgmma_sp
// CHECK-SAME: (%[[ACC:.*]]: vector<8xf32>, %[[A:.*]]: i64, %[[B:.*]]: i64, %[[META:.*]]: i32, %[[SCALE:.*]]: i1)
// CHECK: %[[S:.*]] = llvm.zext %[[SCALE]] : i1 to i32
// CHECK-COUNT-8: llvm.extractelement %[[ACC]]
// CHECK: %[[R:.*]] = llvm.inline_asm has_side_effects asm_dialect = att "{\0A.reg .pred p;\0Asetp.ne.b32 p, $11, 0;\0Awgmma.mma_async.sp.sync.aligned.m64n16k32.f32.bf16.bf16 {$0, $1, $2, $3, $4, $5, $6, $7}, $8, $9, $10, 0, p, 1, 1, 0, 0;\0A}", "=f,=f,=f,=f,=f,=f,=f,=f,l,l,r,r,0,1,2,3,4,5,6,7" %[[A]], %[[B]], %[[META]], %[[S]], {{.*}} : (i64, i64, i32, i32, f32, f32, f32, f32, f32, f32, f32, f32) -> !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32)>
// CHECK-COUNT-8: llvm.extractvalue %[[R]]
// The f16 form and selector 1.
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n16k32.f32.f16.f16 {{.*}}, 1, p, 1, 1, 0, 0;
// CHECK: %[[W:.*]] = llvm.inline_asm has_side_effects asm_dialect = att "wgmma.wait_group.sync.aligned 1;", "=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15"
// A wait that orders no accumulator has no operands.
// CHECK: llvm.inline_asm has_side_effects asm_dialect = att "wgmma.wait_group.sync.aligned 0;", ""  : () -> ()
// CHECK-NOT: samoyeds_nvgpu
func.func @wgmma_sp(%acc: vector<8xf32>, %a: i64, %b: i64, %meta: i32,
                    %scale: i1) -> vector<8xf32> {
  %d = samoyeds_nvgpu.wgmma_sp %acc, %a, %b, %meta, %scale
      {n = 16 : i64, element = bf16} : vector<8xf32>
  %e = samoyeds_nvgpu.wgmma_sp %d, %a, %b, %meta, %scale
      {n = 16 : i64, element = f16, selector = 1 : i64} : vector<8xf32>
  %w:2 = samoyeds_nvgpu.wgmma_wait %e, %acc {pending = 1 : i64}
      : vector<8xf32>, vector<8xf32>
  samoyeds_nvgpu.wgmma_wait {pending = 0 : i64}
  return %w#0 : vector<8xf32>
}

// The register form: A's four registers follow the accumulators, then B's
// descriptor, the metadata and scale-d; no A transpose immediate.
// CHECK-LABEL: func.func @wgmma_sp_rs
// CHECK-SAME: (%[[ACC:.*]]: vector<8xf32>, %[[A:.*]]: vector<4xi32>, %[[B:.*]]: i64, %[[META:.*]]: i32, %[[SCALE:.*]]: i1)
// CHECK-COUNT-4: llvm.extractelement %[[A]]
// CHECK: %[[S:.*]] = llvm.zext %[[SCALE]] : i1 to i32
// CHECK: llvm.inline_asm has_side_effects asm_dialect = att "{\0A.reg .pred p;\0Asetp.ne.b32 p, $14, 0;\0Awgmma.mma_async.sp.sync.aligned.m64n16k32.f32.bf16.bf16 {$0, $1, $2, $3, $4, $5, $6, $7}, {$8, $9, $10, $11}, $12, $13, 0, p, 1, 1, 0;\0A}", "=f,=f,=f,=f,=f,=f,=f,=f,r,r,r,r,l,r,r,0,1,2,3,4,5,6,7" %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[B]], %[[META]], %[[S]],
// CHECK-NOT: samoyeds_nvgpu
func.func @wgmma_sp_rs(%acc: vector<8xf32>, %a: vector<4xi32>, %b: i64,
                       %meta: i32, %scale: i1) -> vector<8xf32> {
  %d = samoyeds_nvgpu.wgmma_sp_rs %acc, %a, %b, %meta, %scale
      {n = 16 : i64, element = bf16} : vector<4xi32>, vector<8xf32>
  return %d : vector<8xf32>
}
