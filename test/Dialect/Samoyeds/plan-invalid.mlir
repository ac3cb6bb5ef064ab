// RUN: samoyeds-opt %s --split-input-file --verify-diagnostics

// Every diagnostic of the launch-plan attributes, of samoyeds.launch and of
// the samoyeds.buffers / samoyeds.weights function attributes.

// expected-error @+1 {{#samoyeds.dim: const operand 0 must be in [1, 2147483647]}}
func.func @f() attributes {a = #samoyeds.dim<0>}

// -----

// expected-error @+1 {{#samoyeds.dim: ceil_div operand 4294967296 must be in [1, 2147483647]}}
func.func @f() attributes {a = #samoyeds.dim<ceil_div(P, 4294967296)>}

// -----

// expected-error @+1 {{#samoyeds.dim: token_tiles experts 0 must be in [1, 2147483647]}}
func.func @f() attributes {a = #samoyeds.dim<token_tiles(P, 8, 0)>}

// -----

// expected-error @+1 {{#samoyeds.dim: token_tiles operand 0 must be in [1, 2147483647]}}
func.func @f() attributes {a = #samoyeds.dim<token_tiles(P, 0, 8)>}

// -----

// expected-error @+1 {{expected ','}}
func.func @f() attributes {a = #samoyeds.dim<token_tiles(P, 8)>}

// -----

// The addend of compilers before token_tiles is not IR any more.
// expected-error @+1 {{expected '>'}}
func.func @f() attributes {a = #samoyeds.dim<ceil_div(P, 8) + 2>}

// -----

// expected-error @+1 {{expected a size symbol (T or P), got 'Q'}}
func.func @f() attributes {a = #samoyeds.dim<ceil_div(Q, 8)>}

// -----

// expected-error @+1 {{#samoyeds.arg: the buffer name is empty}}
func.func @f() attributes {a = #samoyeds.arg<buffer("", 4)>}

// -----

// expected-error @+1 {{#samoyeds.arg: buffer element size 3 must be 1, 2, 4 or 8 bytes}}
func.func @f() attributes {a = #samoyeds.arg<buffer("x", 3)>}

// -----

// expected-error @+1 {{#samoyeds.arg: buffer alignment 24 must be a power of two above the element size 2 and at most 256}}
func.func @f() attributes {a = #samoyeds.arg<buffer("x", 2, align 24)>}

// -----

// expected-error @+1 {{#samoyeds.arg: buffer alignment 2 must be a power of two above the element size 2 and at most 256}}
func.func @f() attributes {a = #samoyeds.arg<buffer("x", 2, align 2)>}

// -----

// expected-error @+1 {{#samoyeds.arg: buffer alignment 512 must be a power of two above the element size 2 and at most 256}}
func.func @f() attributes {a = #samoyeds.arg<buffer("x", 2, align 512)>}

// -----

// expected-error @+1 {{expected 'align'}}
func.func @f() attributes {a = #samoyeds.arg<buffer("x", 2, 16)>}

// -----

// expected-error @+1 {{#samoyeds.arg: 2147483648 is not an i32}}
func.func @f() attributes {a = #samoyeds.arg<i32(2147483648)>}

// -----

// expected-error @+1 {{expected buffer, symbol or i32, got 'f32'}}
func.func @f() attributes {a = #samoyeds.arg<f32(1)>}

// -----

// expected-error @+1 {{#samoyeds.guard: the lower bound -1 is negative}}
func.func @f() attributes {a = #samoyeds.guard<P in [-1, 4]>}

// -----

// expected-error @+1 {{#samoyeds.guard: [5, 4] is empty}}
func.func @f() attributes {a = #samoyeds.guard<P in [5, 4]>}

// -----

// expected-error @+1 {{#samoyeds.launch: grid and block need 3 dimensions each, got 2 and 3}}
func.func @f() attributes {a = #samoyeds.launch<@k grid(1, 1) block(1, 1, 1) smem(0) args()>}

// -----

// expected-error @+1 {{#samoyeds.launch: block dimension 0 must be in [1, 1024]}}
func.func @f() attributes {a = #samoyeds.launch<@k grid(1, 1, 1) block(0, 1, 1) smem(0) args()>}

// -----

// expected-error @+1 {{#samoyeds.launch: a block of 2048 threads (at most 1024)}}
func.func @f() attributes {a = #samoyeds.launch<@k grid(1, 1, 1) block(1024, 2, 1) smem(0) args()>}

// -----

// expected-error @+1 {{#samoyeds.launch: -1 bytes of dynamic shared memory}}
func.func @f() attributes {a = #samoyeds.launch<@k grid(1, 1, 1) block(1, 1, 1) smem(-1) args()>}

// -----

// expected-error @+1 {{#samoyeds.buffer: the name is empty}}
func.func @f() attributes {a = #samoyeds.buffer<"", input, f32, [4]>}

// -----

// expected-error @+1 {{#samoyeds.buffer "x": element type 'f64' (expected bf16, f16, f32 or i32)}}
func.func @f() attributes {a = #samoyeds.buffer<"x", input, f64, [4]>}

// -----

// expected-error @+1 {{#samoyeds.buffer "x": dimension 4294967296 is neither a size symbol nor in [0, 2147483647]}}
func.func @f() attributes {a = #samoyeds.buffer<"x", input, f32, [T, 4294967296]>}

// -----

// expected-error @+1 {{#samoyeds.buffer "c": counters are i32 with a static shape}}
func.func @f() attributes {a = #samoyeds.buffer<"c", counters, f32, [4]>}

// -----

// expected-error @+1 {{#samoyeds.buffer "c": counters are i32 with a static shape}}
func.func @f() attributes {a = #samoyeds.buffer<"c", counters, i32, [P]>}

// -----

// expected-error @+1 {{expected a size or a size symbol (T or P), got 'N'}}
func.func @f() attributes {a = #samoyeds.buffer<"x", input, f32, [N]>}

// -----

// expected-error @+1 {{#samoyeds.weight_part: part meta of "w" must be named "w.meta", not "w.values"}}
func.func @f() attributes {a = #samoyeds.weight_part<"w.values", "w", meta, ui32, 8>}

// -----

// expected-error @+1 {{#samoyeds.weight_part "w.meta": element type 'i32' (values are bf16 or f16, meta ui32, row_idx ui8)}}
func.func @f() attributes {a = #samoyeds.weight_part<"w.meta", "w", meta, i32, 8>}

// -----

// expected-error @+1 {{#samoyeds.weight_part "w.row_idx": -8 bytes}}
func.func @f() attributes {a = #samoyeds.weight_part<"w.row_idx", "w", row_idx, ui8, -8>}

// -----

// expected-error @+1 {{#samoyeds.weight: the name is empty}}
func.func @f() attributes {a = #samoyeds.weight<"", mma_sp, bf16, [1, 64, 64], #samoyeds.ss<n = 1, m = 1, v = 32>>}

// -----

// expected-error @+1 {{#samoyeds.weight "w": element type 'f32' (expected bf16 or f16)}}
func.func @f() attributes {a = #samoyeds.weight<"w", mma_sp, f32, [1, 64, 64], #samoyeds.ss<n = 1, m = 1, v = 32>>}

// -----

// expected-error @+1 {{#samoyeds.weight "w": shape [0, 64, 64] is not positive}}
func.func @f() attributes {a = #samoyeds.weight<"w", mma_sp, bf16, [0, 64, 64], #samoyeds.ss<n = 1, m = 1, v = 32>>}

// -----

// expected-error @+1 {{#samoyeds.weight "w": layout wgmma_halves needs each half of the 48 rows in whole groups of m = 16}}
func.func @f() attributes {a = #samoyeds.weight<"w", wgmma_halves, bf16, [1, 48, 64], #samoyeds.ss<n = 16, m = 16, v = 32>>}

// -----

// expected-error @+1 {{weight has 48 columns, not a multiple of the span v = 32}}
func.func @f() attributes {a = #samoyeds.weight<"w", mma_sp, bf16, [1, 64, 48], #samoyeds.ss<n = 1, m = 1, v = 32>>}

// -----

// expected-error @+1 {{'func.func' op unknown attribute 'samoyeds.launches'}}
func.func @f() attributes {samoyeds.launches = []}

// -----

// expected-error @+1 {{'builtin.module' op 'samoyeds.buffers' belongs on a function}}
module attributes {samoyeds.buffers = []} {}

// -----

// expected-error @+1 {{'func.func' op samoyeds.buffers must be an array of #samoyeds.buffer or #samoyeds.weight_part}}
func.func @f() attributes {samoyeds.buffers = 1}

// -----

// expected-error @+1 {{'func.func' op samoyeds.weights: #samoyeds.buffer<"x", input, f32, [4]> is not a #samoyeds.weight}}
func.func @f() attributes {samoyeds.weights = [#samoyeds.buffer<"x", input, f32, [4]>]}

// -----

// expected-error @+1 {{'func.func' op samoyeds.buffers: two entries are named "x"}}
func.func @f() attributes {samoyeds.buffers = [#samoyeds.buffer<"x", input, f32, [4]>, #samoyeds.buffer<"x", output, f32, [4]>]}

// -----

// expected-error @+1 {{'func.func' op samoyeds.buffers: "w.meta" is part of "w", which samoyeds.weights does not list}}
func.func @f() attributes {samoyeds.buffers = [#samoyeds.weight_part<"w.meta", "w", meta, ui32, 8>]}

// -----

func.func @f(%x: tensor<4xf32>) attributes {samoyeds.buffers = [], samoyeds.weights = []} {
  // expected-error @+1 {{'samoyeds.launch' op has no kernel launch}}
  samoyeds.launch [](%x) : (tensor<4xf32>) -> ()
  return
}

// -----

func.func @f(%x: tensor<4xf32>) {
  // expected-error @+1 {{'samoyeds.launch' op needs the enclosing function's samoyeds.buffers}}
  samoyeds.launch [#samoyeds.launch<@k grid(1, 1, 1) block(1, 1, 1) smem(0) args()>](%x) : (tensor<4xf32>) -> ()
  return
}

// -----

func.func @f(%x: tensor<4xf32>) attributes {samoyeds.buffers = [#samoyeds.buffer<"x", input, f32, [4]>]} {
  // expected-error @+1 {{'samoyeds.launch' op launch 0 binds buffer "y", which samoyeds.buffers does not list}}
  samoyeds.launch [#samoyeds.launch<@k grid(1, 1, 1) block(1, 1, 1) smem(0) args(buffer("y", 4))>](%x) : (tensor<4xf32>) -> ()
  return
}

// -----

func.func @f(%x: tensor<4xf32>) attributes {samoyeds.buffers = [#samoyeds.buffer<"x", input, f32, [4]>]} {
  // expected-error @+1 {{'samoyeds.launch' op launch 0: no kernel module @kernels}}
  samoyeds.launch [#samoyeds.launch<@kernels::@k grid(1, 1, 1) block(1, 1, 1) smem(0) args(buffer("x", 4))>](%x) : (tensor<4xf32>) -> ()
  return
}

// -----

module attributes {gpu.container_module} {
  func.func @f(%x: tensor<4xf32>) attributes {samoyeds.buffers = [#samoyeds.buffer<"x", input, f32, [4]>]} {
    // expected-error @+1 {{'samoyeds.launch' op launch 0: no kernel function @kernels::@k}}
    samoyeds.launch [#samoyeds.launch<@kernels::@k grid(1, 1, 1) block(1, 1, 1) smem(0) args(buffer("x", 4))>](%x) : (tensor<4xf32>) -> ()
    return
  }
  gpu.module @kernels {}
}

// -----

module attributes {gpu.container_module} {
  func.func @f(%x: tensor<4xf32>) attributes {samoyeds.buffers = [#samoyeds.buffer<"x", input, f32, [4]>]} {
    // expected-error @+1 {{'samoyeds.launch' op launch 1: @kernels::@k takes 1 arguments, the launch binds 2}}
    samoyeds.launch [#samoyeds.launch<@kernels::@k grid(1, 1, 1) block(1, 1, 1) smem(0) args(buffer("x", 4))>,
                     #samoyeds.launch<@kernels::@k grid(1, 1, 1) block(1, 1, 1) smem(0) args(buffer("x", 4), symbol(T))>](%x) : (tensor<4xf32>) -> ()
    return
  }
  gpu.module @kernels {
    gpu.func @k(%a: memref<?xf32>) kernel {
      gpu.return
    }
  }
}

// -----

func.func @f(%x: tensor<4xf32>) attributes {samoyeds.buffers = [], samoyeds.weights = []} {
  // expected-error @+1 {{'samoyeds.launch' op activation goes only with an epilogue}}
  samoyeds.launch [#samoyeds.launch<@k grid(1, 1, 1) block(1, 1, 1) smem(0) args()>](%x) {activation = #samoyeds<activation clamped_swiglu>} : (tensor<4xf32>) -> ()
  return
}

// -----

func.func @f(%x: tensor<4xf32>) attributes {samoyeds.buffers = [], samoyeds.weights = []} {
  // expected-error @+1 {{'samoyeds.launch' op swiglu_alpha goes only with the clamped_swiglu activation}}
  samoyeds.launch [#samoyeds.launch<@k grid(1, 1, 1) block(1, 1, 1) smem(0) args()>](%x) {epilogue = #samoyeds.epilogue<silu_mul>, swiglu_alpha = 1.0 : f64} : (tensor<4xf32>) -> ()
  return
}
