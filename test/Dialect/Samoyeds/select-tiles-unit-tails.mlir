// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_90a | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a unit-tails=2" | FileCheck %s --check-prefix=PAIRS

// DeepSeek-V2-Lite's gate/up in 1:2+2:4 (64 experts, 2 x 1408 rows, K =
// 2048): 704 kept rows, 11 64-row tiles, a half. The wide variant's unit
// pairs (two tiles of each half a block) do not divide them, so by default
// it multiplies single units (128 tokens, a second width of 160). With
// `unit-tails=2` it takes pairs anyway (80 tokens): 6 row blocks, the last
// block's second units repeating tile 10 of each half.
// CHECK-LABEL: func.func @dsv2l_w13
// CHECK: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<warps = 8,{{.*}}wide_tokens = 128,{{.*}}wide_low_tokens = 160, wide_low_slots = 10240, strategy = wgmma_sp>
// PAIRS-LABEL: func.func @dsv2l_w13
// PAIRS: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<warps = 8,{{.*}}wide_tokens = 80,{{.*}}wide_units = 2, strategy = wgmma_sp
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @dsv2l_w13(%w: tensor<64x2816x2048xbf16, #ss>, %x: tensor<?x2048xbf16>,
                     %off: tensor<65xi32>, %tok: tensor<?xi32>) -> tensor<?x1408xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<64x2816x2048xbf16, #ss>, tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>) -> tensor<?x1408xbf16>
  return %y : tensor<?x1408xbf16>
}

// A 1:2 down projection of 11 64-row tiles (704 kept rows; gpt-oss's padded
// one has 23): by default one consumer warpgroup a block (two would not
// divide the tiles); with `unit-tails=2` two, the last row block's second
// unit repeating tile 10 (opt-in, not measured).
// CHECK-LABEL: func.func @odd_down
// CHECK: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<warps = 4,
// PAIRS-LABEL: func.func @odd_down
// PAIRS: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<warps = 8,
#ss2 = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @odd_down(%w: tensor<64x1408x2048xbf16, #ss2>, %x: tensor<?x2048xbf16>,
                    %off: tensor<65xi32>) -> tensor<?x1408xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none>
      : (tensor<64x1408x2048xbf16, #ss2>, tensor<?x2048xbf16>, tensor<65xi32>) -> tensor<?x1408xbf16>
  return %y : tensor<?x1408xbf16>
}
