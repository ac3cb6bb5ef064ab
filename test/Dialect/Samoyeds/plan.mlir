// RUN: samoyeds-opt %s | samoyeds-opt | FileCheck %s
// RUN: samoyeds-opt %s --mlir-print-op-generic | samoyeds-opt | FileCheck %s
// RUN: samoyeds-opt %s --emit-bytecode | samoyeds-opt | FileCheck %s

// Round trip of the launch plan: samoyeds.launch, #samoyeds.launch and its
// grid dimensions, arguments and guards, and the buffer and weight lists of
// a compiled function.

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>

// CHECK-LABEL: func.func @plan(
// CHECK-SAME: samoyeds.buffers = [#samoyeds.weight_part<"w.values", "w", values, bf16, 4194304>, #samoyeds.weight_part<"w.meta", "w", meta, ui32, 524288>, #samoyeds.weight_part<"w.row_idx", "w", row_idx, ui8, 32768>, #samoyeds.buffer<"x", input, bf16, [T, 2048]>, #samoyeds.buffer<"offsets", input, i32, [3]>, #samoyeds.buffer<"tokens", input, i32, [P]>, #samoyeds.buffer<"y", output, bf16, [P, 2048]>, #samoyeds.buffer<"ws", workspace, f32, [64, 2048]>, #samoyeds.buffer<"ws_counters", counters, i32, [48]>]
// CHECK-SAME: samoyeds.weights = [#samoyeds.weight<"w", mma_sp, bf16, [2, 2048, 2048], <n = 1, m = 2, v = 128>>]
// CHECK: %[[Y:.*]] = samoyeds.launch [
// CHECK-SAME: #samoyeds.launch<@kernels::@matmul grid(16, token_tiles(P, 32, 2), 1) block(128, 1, 1) smem(18432) args(buffer("w.values", 4), buffer("w.meta", 4), buffer("w.row_idx", 1), buffer("x", 2), buffer("offsets", 4), buffer("tokens", 4), buffer("y", 2)) when(P in [65, ...])>,
// CHECK-SAME: #samoyeds.launch<@kernels::@split grid(per_sm(2), 1, 1) block(32, 1, 1) smem(0) pdl args(buffer("ws", 4), symbol(P), symbol(T), i32(-7)) when(P in [1, 64])>
// CHECK-SAME: ](%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {epilogue = #samoyeds.epilogue<none>}
// CHECK: return %[[Y]]
module attributes {gpu.container_module} {
  func.func @plan(%w: tensor<2x2048x2048xbf16, #ss>, %x: tensor<?x2048xbf16>,
                  %off: tensor<3xi32>, %tok: tensor<?xi32>) -> tensor<?x2048xbf16>
      attributes {
        samoyeds.buffers = [
          #samoyeds.weight_part<"w.values", "w", values, bf16, 4194304>,
          #samoyeds.weight_part<"w.meta", "w", meta, ui32, 524288>,
          #samoyeds.weight_part<"w.row_idx", "w", row_idx, ui8, 32768>,
          #samoyeds.buffer<"x", input, bf16, [T, 2048]>,
          #samoyeds.buffer<"offsets", input, i32, [3]>,
          #samoyeds.buffer<"tokens", input, i32, [P]>,
          #samoyeds.buffer<"y", output, bf16, [P, 2048]>,
          #samoyeds.buffer<"ws", workspace, f32, [64, 2048]>,
          #samoyeds.buffer<"ws_counters", counters, i32, [48]>],
        samoyeds.weights = [#samoyeds.weight<"w", mma_sp, bf16, [2, 2048, 2048], #ss>]} {
    %y = samoyeds.launch [
        #samoyeds.launch<@kernels::@matmul grid(16, token_tiles(P, 32, 2), 1)
            block(128, 1, 1) smem(18432)
            args(buffer("w.values", 4), buffer("w.meta", 4), buffer("w.row_idx", 1),
                 buffer("x", 2), buffer("offsets", 4), buffer("tokens", 4), buffer("y", 2))
            when(P in [65, ...])>,
        #samoyeds.launch<@kernels::@split grid(per_sm(2), 1, 1) block(32, 1, 1)
            smem(0) pdl args(buffer("ws", 4), symbol(P), symbol(T), i32(-7))
            when(P in [1, 64])>]
        (%w, %x, %off, %tok) {epilogue = #samoyeds.epilogue<none>}
        : (tensor<2x2048x2048xbf16, #ss>, tensor<?x2048xbf16>, tensor<3xi32>, tensor<?xi32>)
        -> tensor<?x2048xbf16>
    return %y : tensor<?x2048xbf16>
  }
  gpu.module @kernels {
    gpu.func @matmul(%a: memref<?xi32>, %b: memref<?xi32>, %c: memref<?xi8>,
                     %d: memref<?xbf16>, %e: memref<?xi32>, %f: memref<?xi32>,
                     %g: memref<?xbf16>) kernel {
      gpu.return
    }
    gpu.func @split(%a: memref<?xf32>, %p: i32, %t: i32, %c: i32) kernel {
      gpu.return
    }
  }

// A route's launch records its routing; after serialisation the kernel
// module is a gpu.binary, which the launch may name.
// CHECK-LABEL: func.func @route(
// CHECK: samoyeds.launch [#samoyeds.launch<@binary::@route grid(ceil_div(T, 1), 1, 1) block(512, 1, 1) smem(0) args(buffer("x", 2))>](%{{.*}}) {routing = #samoyeds.routing<experts = 8, top_k = 2, renormalize = true, routed_scaling_factor = 1.000000e+00 : f64>}
  func.func @route(%x: tensor<?x64xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
      attributes {samoyeds.buffers = [#samoyeds.buffer<"x", input, bf16, [T, 64]>],
                  samoyeds.weights = []} {
    %w, %ids = samoyeds.launch [#samoyeds.launch<@binary::@route
        grid(ceil_div(T, 1), 1, 1) block(512, 1, 1) smem(0) args(buffer("x", 2))>]
        (%x) {routing = #samoyeds.routing<experts = 8, top_k = 2, renormalize = true, routed_scaling_factor = 1.0 : f64>}
        : (tensor<?x64xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
    return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
  }
  gpu.binary @binary [#gpu.object<#nvvm.target<chip = "sm_90a">, assembly = "">]
}

// The attributes on their own.
// CHECK-LABEL: func.func @attrs(
// CHECK-SAME: a = #samoyeds.dim<7>, b = #samoyeds.dim<ceil_div(T, 4)>, c = #samoyeds.dim<token_tiles(P, 64, 3)>, d = #samoyeds.dim<per_sm(1)>, e = #samoyeds.arg<buffer("x.y", 8)>, f = #samoyeds.arg<symbol(T)>, g = #samoyeds.arg<i32(2147483647)>, h = #samoyeds.guard<T in [0, 0]>, i = #samoyeds.guard<P in [3, ...]>, j = #samoyeds.weight<"w", wgmma, f16, [1, 64, 128], <n = 1, m = 1, v = 32>>, k = #samoyeds.arg<buffer("x", 2, align 16)>, l = #samoyeds.weight<"w13", wgmma_halves, bf16, [2, 192, 128], <n = 1, m = 2, v = 64>>
func.func @attrs() attributes {
    a = #samoyeds.dim<7>, b = #samoyeds.dim<ceil_div(T, 4)>,
    c = #samoyeds.dim<token_tiles(P, 64, 3)>, d = #samoyeds.dim<per_sm(1)>,
    e = #samoyeds.arg<buffer("x.y", 8)>, f = #samoyeds.arg<symbol(T)>,
    g = #samoyeds.arg<i32(2147483647)>, h = #samoyeds.guard<T in [0, 0]>,
    i = #samoyeds.guard<P in [3, ...]>,
    j = #samoyeds.weight<"w", wgmma, f16, [1, 64, 128], #samoyeds.ss<n = 1, m = 1, v = 32>>,
    k = #samoyeds.arg<buffer("x", 2, align 16)>,
    l = #samoyeds.weight<"w13", wgmma_halves, bf16, [2, 192, 128], #samoyeds.ss<n = 1, m = 2, v = 64>>} {
  return
}
