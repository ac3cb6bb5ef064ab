// Router shapes through the whole PTX pipeline: which logits shapes a route
// gets (their T guards) and the instructions they become.
// RUN: samoyeds-opt %s --split-input-file --samoyeds-to-ptx="chip=sm_90a" | FileCheck %s

// f16 activations and router, 6 experts: the tensor-core shape on f16 (one
// 8-expert tile per warp, 4 warps along the tokens: 64-token blocks, so 192
// blocks from T = 12288), the two experts past the sixth never stored (the
// small-grid shape would pad them to 8 too).
// CHECK-LABEL: func.func @f16_router
// CHECK: samoyeds.launch
// CHECK-SAME: @samoyeds_kernels::@f16_router_route_0_logits_prefill grid(1, ceil_div(T, 8), 1) {{.*}} when(T in [33, 12287])
// CHECK-SAME: @samoyeds_kernels::@f16_router_route_0_logits_mma grid(1, ceil_div(T, 64), 1) block(128, 1, 1) {{.*}} when(T in [12288, ...])
// CHECK: gpu.binary @samoyeds_kernels
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
func.func @f16_router(%x: tensor<?x64xf16> {samoyeds.name = "x"},
                      %r: tensor<6x64xf16> {samoyeds.name = "router"})
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(2)
      : (tensor<?x64xf16>, tensor<6x64xf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// 1000 experts (not a multiple of 32: the select kernel's last logit per
// lane is masked): 16 groups of 64 experts (1024, within 1/8 of the small-
// grid shape's 1008), so the tensor-core grid has 192 blocks from T = 384.
// Top-k = 8 of 1000 with redux.sync for the expert index.
// CHECK-LABEL: func.func @many_experts
// CHECK: samoyeds.launch
// CHECK-SAME: @samoyeds_kernels::@many_experts_route_0_logits_prefill grid(63, ceil_div(T, 8), 1) {{.*}} when(T in [33, 383])
// CHECK-SAME: @samoyeds_kernels::@many_experts_route_0_logits_mma grid(16, ceil_div(T, 32), 1) {{.*}} when(T in [384, ...])
// CHECK: gpu.binary @samoyeds_kernels
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-SAME: redux.sync.min.s32
func.func @many_experts(%x: tensor<?x64xbf16> {samoyeds.name = "x"},
                        %r: tensor<1000x64xbf16> {samoyeds.name = "router"})
    -> (tensor<?x8xf32>, tensor<?x8xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(8) {renormalize}
      : (tensor<?x64xbf16>, tensor<1000x64xbf16>) -> (tensor<?x8xf32>, tensor<?x8xi32>)
  return %w, %ids : tensor<?x8xf32>, tensor<?x8xi32>
}

// -----

// An f32 router: no tensor-core shape; the prefill shape serves every
// T > 32 and its dot products are f32 fused multiply-adds.
// CHECK-LABEL: func.func @f32_router
// CHECK: samoyeds.launch
// CHECK-SAME: @samoyeds_kernels::@f32_router_route_0_logits_prefill {{.*}} when(T in [33, ...])
// CHECK-NOT: _logits_mma
// CHECK: gpu.binary @samoyeds_kernels
// CHECK-NOT: mma.sync
// CHECK-SAME: fma.rn.f32
// CHECK-NOT: mma.sync
func.func @f32_router(%x: tensor<?x96xbf16> {samoyeds.name = "x"},
                      %r: tensor<16x96xf32> {samoyeds.name = "router"})
    -> (tensor<?x4xf32>, tensor<?x4xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(4)
      : (tensor<?x96xbf16>, tensor<16x96xf32>) -> (tensor<?x4xf32>, tensor<?x4xi32>)
  return %w, %ids : tensor<?x4xf32>, tensor<?x4xi32>
}

// -----

// A hidden size of 0 (empty dot products, every logit 0): no tensor-core
// shape, whose prologue loads two chunks before its loop would read past the
// empty rows; the other shapes run no steps.
// CHECK-LABEL: func.func @no_hidden
// CHECK: samoyeds.launch
// CHECK-SAME: @samoyeds_kernels::@no_hidden_route_0_logits_prefill {{.*}} when(T in [33, ...])
// CHECK-NOT: _logits_mma
func.func @no_hidden(%x: tensor<?x0xbf16> {samoyeds.name = "x"},
                     %r: tensor<4x0xbf16> {samoyeds.name = "router"})
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(2)
      : (tensor<?x0xbf16>, tensor<4x0xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// OLMoE's router (2048 x 64, bf16): 4 groups of 16 experts; up to T = 256,
// while the sliced grid has at most 128 blocks, the sliced prefill shapes
// split the hidden size over 4 warps (512 threads: 2 steps of 8 columns a
// lane per warp), with 2 tokens a warp up to T = 64, 4 up to 128 and 8 up to
// 256 (one token a warp would pass 128 blocks from T = 33); the prefill shape
// would run T = 257-6143 unsliced at 8 steps a warp, so the small-grid
// tensor-core shape takes them (16 tokens x 16 experts a block, the 64 chunks
// over 8 warps); the tensor-core shape, from T = 6144 (192 blocks of 32
// tokens), splits its chunks over 4 warps (16 chunks of 32 columns each). The slices meet in shared memory (8 tokens x 16
// experts x 4 slices, 16 x 16 x 8, 32 tokens x 64 experts x 4 slices).
// CHECK-LABEL: func.func @olmoe_router
// CHECK: samoyeds.launch
// CHECK-SAME: @samoyeds_kernels::@olmoe_router_route_0_logits_prefill_sliced_t2 grid(4, ceil_div(T, 2), 1) block(512, 1, 1) {{.*}} when(T in [33, 64])
// CHECK-SAME: @samoyeds_kernels::@olmoe_router_route_0_logits_prefill_sliced_t4 grid(4, ceil_div(T, 4), 1) block(512, 1, 1) {{.*}} when(T in [65, 128])
// CHECK-SAME: @samoyeds_kernels::@olmoe_router_route_0_logits_prefill_sliced grid(4, ceil_div(T, 8), 1) block(512, 1, 1) {{.*}} when(T in [129, 256])
// CHECK-SAME: @samoyeds_kernels::@olmoe_router_route_0_logits_mma_small grid(4, ceil_div(T, 16), 1) block(256, 1, 1) {{.*}} when(T in [257, 6143])
// CHECK-SAME: @samoyeds_kernels::@olmoe_router_route_0_logits_mma grid(1, ceil_div(T, 32), 1) block(512, 1, 1) {{.*}} when(T in [6144, ...])
// CHECK: gpu.binary @samoyeds_kernels
// CHECK-SAME: .entry olmoe_router_route_0_logits_prefill_sliced
// CHECK-SAME: .shared .align {{[0-9]+}} .b8 {{.*}}[2048]
// CHECK-SAME: bar.sync
// CHECK-SAME: .entry olmoe_router_route_0_logits_mma_small(
// CHECK-SAME: .shared .align {{[0-9]+}} .b8 {{.*}}[8192]
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-SAME: bar.sync
// CHECK-SAME: .entry olmoe_router_route_0_logits_mma(
// CHECK-SAME: .shared .align {{[0-9]+}} .b8 {{.*}}[32768]
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-SAME: bar.sync
func.func @olmoe_router(%x: tensor<?x2048xbf16> {samoyeds.name = "x"},
                        %r: tensor<64x2048xbf16> {samoyeds.name = "router"})
    -> (tensor<?x8xf32>, tensor<?x8xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(8)
      : (tensor<?x2048xbf16>, tensor<64x2048xbf16>) -> (tensor<?x8xf32>, tensor<?x8xi32>)
  return %w, %ids : tensor<?x8xf32>, tensor<?x8xi32>
}

// -----

// DeepSeek-V2's router (5120 x 160, bf16): the decode shape splits the 20
// steps over 10 warps (2 steps each; 1600 warps at T = 1, a block per
// expert); the prefill shapes would run 10 or 20 steps a warp (their slices
// are powers of two), so the small-grid tensor-core shapes take every T from
// 33: 16 tokens x 8 experts a block (20 groups) up to T = 111, 16 x 16 (10
// groups, 64 blocks from T = 112) from there, the 160 chunks over 16 warps.
// No tensor-core shape: its 64-expert blocks would pad the 160 experts to
// 192, a fifth more work than the small-grid shape's.
// CHECK-LABEL: func.func @deepseek_router
// CHECK: samoyeds.launch
// CHECK-SAME: @samoyeds_kernels::@deepseek_router_route_0_logits grid(160, ceil_div(T, 1), 1) block(320, 1, 1) {{.*}} when(T in [1, 32])
// CHECK-SAME: @samoyeds_kernels::@deepseek_router_route_0_logits_mma_small_e8 grid(20, ceil_div(T, 16), 1) block(512, 1, 1) {{.*}} when(T in [33, 111])
// CHECK-SAME: @samoyeds_kernels::@deepseek_router_route_0_logits_mma_small grid(10, ceil_div(T, 16), 1) block(512, 1, 1) {{.*}} when(T in [112, ...])
// CHECK-NOT: _logits_prefill
// CHECK-NOT: @deepseek_router_route_0_logits_mma grid
func.func @deepseek_router(%x: tensor<?x5120xbf16> {samoyeds.name = "x"},
                           %r: tensor<160x5120xbf16> {samoyeds.name = "router"})
    -> (tensor<?x6xf32>, tensor<?x6xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(6)
      : (tensor<?x5120xbf16>, tensor<160x5120xbf16>) -> (tensor<?x6xf32>, tensor<?x6xi32>)
  return %w, %ids : tensor<?x6xf32>, tensor<?x6xi32>
}

// -----

// Qwen2-MoE's router (3584 x 64, bf16): 14 steps of 8 columns a lane, which
// no power of two above 2 divides; the decode shape splits them over 14 warps
// (1 step each, 896 warps at T = 1), whose partial sums meet in shared memory
// (14 slices x 1 expert); the prefill shapes would run 7 steps a warp, so the
// small-grid tensor-core shapes serve T = 33-6143 (test/Conversion/
// SamoyedsToGPU/route-vector.mlir has their bodies), the tensor-core shape
// the calls from 6144 (192 blocks).
// CHECK-LABEL: func.func @qwen2_router
// CHECK: samoyeds.launch
// CHECK-SAME: @samoyeds_kernels::@qwen2_router_route_0_logits grid(64, ceil_div(T, 1), 1) block(448, 1, 1) {{.*}} when(T in [1, 32])
// CHECK-SAME: @samoyeds_kernels::@qwen2_router_route_0_logits_mma_small_e8 grid(8, ceil_div(T, 16), 1) block(448, 1, 1) {{.*}} when(T in [33, 255])
// CHECK-SAME: @samoyeds_kernels::@qwen2_router_route_0_logits_mma_small grid(4, ceil_div(T, 16), 1) block(448, 1, 1) {{.*}} when(T in [256, 6143])
// CHECK-SAME: @samoyeds_kernels::@qwen2_router_route_0_logits_mma grid(1, ceil_div(T, 32), 1) block(512, 1, 1) {{.*}} when(T in [6144, ...])
// CHECK: gpu.binary @samoyeds_kernels
// CHECK-SAME: .entry qwen2_router_route_0_logits(
// CHECK-SAME: .shared .align {{[0-9]+}} .b8 {{.*}}[56]
// CHECK-SAME: bar.sync
func.func @qwen2_router(%x: tensor<?x3584xbf16> {samoyeds.name = "x"},
                        %r: tensor<64x3584xbf16> {samoyeds.name = "router"})
    -> (tensor<?x8xf32>, tensor<?x8xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(8)
      : (tensor<?x3584xbf16>, tensor<64x3584xbf16>) -> (tensor<?x8xf32>, tensor<?x8xi32>)
  return %w, %ids : tensor<?x8xf32>, tensor<?x8xi32>
}

// -----

// Mixtral's router (4096 x 8, bf16): one group of 8 experts, whose prefill
// shape splits the hidden size over 4 warps (8 warps a block, 64 blocks while
// its grid has at most 512 warps: T <= 512); the sliced shapes (16 warps, 2
// steps each) take 1 token a warp up to T = 64, 2 up to 128, 4 up to 256 and
// the prefill shape's 8 up to 512, each grid at most 64 blocks; the prefill
// shape would run 4 steps a warp from T = 513, so the small-grid tensor-core
// shape (one tile of 8 experts, 16 warps of 8 chunks) takes T = 513-12287,
// the tensor-core shape (64-token blocks) the calls from 12288.
// CHECK-LABEL: func.func @mixtral_router
// CHECK: samoyeds.launch
// CHECK-SAME: @samoyeds_kernels::@mixtral_router_route_0_logits_prefill_sliced_t1 grid(1, ceil_div(T, 1), 1) block(512, 1, 1) {{.*}} when(T in [33, 64])
// CHECK-SAME: @samoyeds_kernels::@mixtral_router_route_0_logits_prefill_sliced_t2 grid(1, ceil_div(T, 2), 1) block(512, 1, 1) {{.*}} when(T in [65, 128])
// CHECK-SAME: @samoyeds_kernels::@mixtral_router_route_0_logits_prefill_sliced_t4 grid(1, ceil_div(T, 4), 1) block(512, 1, 1) {{.*}} when(T in [129, 256])
// CHECK-SAME: @samoyeds_kernels::@mixtral_router_route_0_logits_prefill_sliced grid(1, ceil_div(T, 8), 1) block(512, 1, 1) {{.*}} when(T in [257, 512])
// CHECK-SAME: @samoyeds_kernels::@mixtral_router_route_0_logits_mma_small grid(1, ceil_div(T, 16), 1) block(512, 1, 1) {{.*}} when(T in [513, 12287])
// CHECK-SAME: @samoyeds_kernels::@mixtral_router_route_0_logits_mma grid(1, ceil_div(T, 64), 1) block(512, 1, 1) {{.*}} when(T in [12288, ...])
func.func @mixtral_router(%x: tensor<?x4096xbf16> {samoyeds.name = "x"},
                          %r: tensor<8x4096xbf16> {samoyeds.name = "router"})
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(2) {renormalize}
      : (tensor<?x4096xbf16>, tensor<8x4096xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// Qwen3-235B's router (4096 x 128, bf16): the prefill shapes would run more
// than 2 steps a warp, so the small-grid tensor-core shapes serve T = 33-3071 (8
// experts a warp up to 127, 16 from 128, where that grid has 64 blocks); the
// tensor-core shape (2 groups of 64 experts, no padding) from T = 3072, where
// its grid has 192 blocks.
// CHECK-LABEL: func.func @qwen3_router
// CHECK: samoyeds.launch
// CHECK-SAME: @samoyeds_kernels::@qwen3_router_route_0_logits grid(128, ceil_div(T, 1), 1) block(256, 1, 1) {{.*}} when(T in [1, 32])
// CHECK-SAME: @samoyeds_kernels::@qwen3_router_route_0_logits_mma_small_e8 grid(16, ceil_div(T, 16), 1) block(512, 1, 1) {{.*}} when(T in [33, 127])
// CHECK-SAME: @samoyeds_kernels::@qwen3_router_route_0_logits_mma_small grid(8, ceil_div(T, 16), 1) block(512, 1, 1) {{.*}} when(T in [128, 3071])
// CHECK-SAME: @samoyeds_kernels::@qwen3_router_route_0_logits_mma grid(2, ceil_div(T, 32), 1) block(512, 1, 1) {{.*}} when(T in [3072, ...])
func.func @qwen3_router(%x: tensor<?x4096xbf16> {samoyeds.name = "x"},
                        %r: tensor<128x4096xbf16> {samoyeds.name = "router"})
    -> (tensor<?x8xf32>, tensor<?x8xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(8) {renormalize}
      : (tensor<?x4096xbf16>, tensor<128x4096xbf16>) -> (tensor<?x8xf32>, tensor<?x8xi32>)
  return %w, %ids : tensor<?x8xf32>, tensor<?x8xi32>
}
