// RUN: samoyeds-opt %s --split-input-file -verify-diagnostics

func.func @n_not_multiple(%acc: vector<6xf32>, %a: i64, %b: i64, %m: i32, %s: i1) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_sp' op n = 12 must be a multiple of 8 in [8, 256]}}
  %d = samoyeds_nvgpu.wgmma_sp %acc, %a, %b, %m, %s {n = 12 : i64, element = bf16} : vector<6xf32>
  return
}

// -----

func.func @n_too_big(%acc: vector<132xf32>, %a: i64, %b: i64, %m: i32, %s: i1) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_sp' op n = 264 must be a multiple of 8 in [8, 256]}}
  %d = samoyeds_nvgpu.wgmma_sp %acc, %a, %b, %m, %s {n = 264 : i64, element = bf16} : vector<132xf32>
  return
}

// -----

func.func @wrong_accumulators(%acc: vector<16xf32>, %a: i64, %b: i64, %m: i32, %s: i1) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_sp' op needs n / 2 = 32 accumulators per thread, got 16}}
  %d = samoyeds_nvgpu.wgmma_sp %acc, %a, %b, %m, %s {n = 64 : i64, element = bf16} : vector<16xf32>
  return
}

// -----

func.func @f32_operands(%acc: vector<32xf32>, %a: i64, %b: i64, %m: i32, %s: i1) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_sp' op element type must be bf16 or f16, got 'f32'}}
  %d = samoyeds_nvgpu.wgmma_sp %acc, %a, %b, %m, %s {n = 64 : i64, element = f32} : vector<32xf32>
  return
}

// -----

func.func @selector_two(%acc: vector<32xf32>, %a: i64, %b: i64, %m: i32, %s: i1) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_sp' op selector = 2 must be 0 or 1 for 16-bit types}}
  %d = samoyeds_nvgpu.wgmma_sp %acc, %a, %b, %m, %s {n = 64 : i64, element = bf16, selector = 2 : i64} : vector<32xf32>
  return
}

// -----

func.func @wait_pending(%acc: vector<32xf32>) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_wait' op pending = 8 must be in [0, 7]}}
  %d = samoyeds_nvgpu.wgmma_wait %acc {pending = 8 : i64} : vector<32xf32>
  return
}

// -----

func.func @f16_accumulators(%acc: vector<32xf16>, %a: i64, %b: i64, %m: i32, %s: i1) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_sp' op operand #0 must be vector of 32-bit float values of ranks 1}}
  %d = samoyeds_nvgpu.wgmma_sp %acc, %a, %b, %m, %s {n = 64 : i64, element = bf16} : vector<32xf16>
  return
}
