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

// -----

func.func @mma_sp_selector(%acc: vector<4xf32>, %a: vector<4xi32>, %b: vector<4x2xbf16>, %m: i32) {
  // expected-error @+1 {{'samoyeds_nvgpu.mma_sp' op selector = 2 must be 0 or 1 for 16-bit types}}
  %d = samoyeds_nvgpu.mma_sp %acc, %a, %b, %m {selector = 2 : i64} : vector<4xi32>, vector<4x2xbf16> into vector<4xf32>
  return
}

// -----

func.func @mma_sp_b_shape(%acc: vector<4xf32>, %a: vector<4xi32>, %b: vector<2x4xbf16>, %m: i32) {
  // expected-error @+1 {{'samoyeds_nvgpu.mma_sp' op b must hold 4 registers of 2 values, got 'vector<2x4xbf16>'}}
  %d = samoyeds_nvgpu.mma_sp %acc, %a, %b, %m : vector<4xi32>, vector<2x4xbf16> into vector<4xf32>
  return
}

// -----

func.func @mma_sp_b_f32(%acc: vector<4xf32>, %a: vector<4xi32>, %b: vector<4x2xf32>, %m: i32) {
  // expected-error @+1 {{'samoyeds_nvgpu.mma_sp' op operand #2 must be vector of bfloat16 type or 16-bit float values of ranks 2}}
  %d = samoyeds_nvgpu.mma_sp %acc, %a, %b, %m : vector<4xi32>, vector<4x2xf32> into vector<4xf32>
  return
}

// -----

func.func @mma_sp_acc_size(%acc: vector<8xf32>, %a: vector<4xi32>, %b: vector<4x2xbf16>, %m: i32) {
  // expected-error @+1 {{'samoyeds_nvgpu.mma_sp' op operand #0 must be vector of 32-bit float values of length 4}}
  %d = samoyeds_nvgpu.mma_sp %acc, %a, %b, %m : vector<4xi32>, vector<4x2xbf16> into vector<8xf32>
  return
}

// -----

func.func @mma_sp_a_f16(%acc: vector<4xf32>, %a: vector<8xf16>, %b: vector<4x2xbf16>, %m: i32) {
  // expected-error @+1 {{'samoyeds_nvgpu.mma_sp' op operand #1 must be vector of 32-bit signless integer values of length 4}}
  %d = samoyeds_nvgpu.mma_sp %acc, %a, %b, %m : vector<8xf16>, vector<4x2xbf16> into vector<4xf32>
  return
}

// -----

func.func @mma_a_length(%acc: vector<4xf32>, %a: vector<4xbf16>, %b: vector<4xbf16>) {
  // expected-error @+1 {{'samoyeds_nvgpu.mma' op operand #1 must be vector of bfloat16 type or 16-bit float values of length 8}}
  %d = samoyeds_nvgpu.mma %acc, %a, %b : vector<4xbf16>, vector<4xbf16> into vector<4xf32>
  return
}

// -----

func.func @mma_b_length(%acc: vector<4xf32>, %a: vector<8xbf16>, %b: vector<8xbf16>) {
  // expected-error @+1 {{'samoyeds_nvgpu.mma' op operand #2 must be vector of bfloat16 type or 16-bit float values of length 4}}
  %d = samoyeds_nvgpu.mma %acc, %a, %b : vector<8xbf16>, vector<8xbf16> into vector<4xf32>
  return
}

// -----

func.func @mma_mixed(%acc: vector<4xf32>, %a: vector<8xbf16>, %b: vector<4xf16>) {
  // expected-error @+1 {{'samoyeds_nvgpu.mma' op a and b must have one element type, got 'bf16' and 'f16'}}
  %d = samoyeds_nvgpu.mma %acc, %a, %b : vector<8xbf16>, vector<4xf16> into vector<4xf32>
  return
}

// -----

func.func @mma_f32(%acc: vector<4xf32>, %a: vector<8xf32>, %b: vector<4xf32>) {
  // expected-error @+1 {{'samoyeds_nvgpu.mma' op operand #1 must be vector of bfloat16 type or 16-bit float values of length 8}}
  %d = samoyeds_nvgpu.mma %acc, %a, %b : vector<8xf32>, vector<4xf32> into vector<4xf32>
  return
}

// -----

func.func @rs_n_not_multiple(%acc: vector<6xf32>, %a: vector<4xi32>, %b: i64, %m: i32, %s: i1) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_sp_rs' op n = 12 must be a multiple of 8 in [8, 256]}}
  %d = samoyeds_nvgpu.wgmma_sp_rs %acc, %a, %b, %m, %s {n = 12 : i64, element = bf16} : vector<4xi32>, vector<6xf32>
  return
}

// -----

func.func @rs_wrong_accumulators(%acc: vector<16xf32>, %a: vector<4xi32>, %b: i64, %m: i32, %s: i1) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_sp_rs' op needs n / 2 = 32 accumulators per thread, got 16}}
  %d = samoyeds_nvgpu.wgmma_sp_rs %acc, %a, %b, %m, %s {n = 64 : i64, element = bf16} : vector<4xi32>, vector<16xf32>
  return
}

// -----

func.func @rs_f32_operands(%acc: vector<32xf32>, %a: vector<4xi32>, %b: i64, %m: i32, %s: i1) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_sp_rs' op element type must be bf16 or f16, got 'f32'}}
  %d = samoyeds_nvgpu.wgmma_sp_rs %acc, %a, %b, %m, %s {n = 64 : i64, element = f32} : vector<4xi32>, vector<32xf32>
  return
}

// -----

func.func @rs_selector_two(%acc: vector<32xf32>, %a: vector<4xi32>, %b: i64, %m: i32, %s: i1) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_sp_rs' op selector = 2 must be 0 or 1 for 16-bit types}}
  %d = samoyeds_nvgpu.wgmma_sp_rs %acc, %a, %b, %m, %s {n = 64 : i64, element = bf16, selector = 2 : i64} : vector<4xi32>, vector<32xf32>
  return
}

// -----

func.func @rs_three_registers(%acc: vector<32xf32>, %a: vector<3xi32>, %b: i64, %m: i32, %s: i1) {
  // expected-error @+1 {{'samoyeds_nvgpu.wgmma_sp_rs' op operand #1 must be vector of 32-bit signless integer values of length 4}}
  %d = samoyeds_nvgpu.wgmma_sp_rs %acc, %a, %b, %m, %s {n = 64 : i64, element = bf16} : vector<3xi32>, vector<32xf32>
  return
}
