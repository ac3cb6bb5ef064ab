// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu --split-input-file -verify-diagnostics

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @no_tile(%w: tensor<1x64x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                   %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op has no #samoyeds.tile; run samoyeds-select-tiles first}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none>
      : (tensor<1x64x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

#ss = #samoyeds.ss<n = 2, m = 4, v = 128>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 64, stages = 2>
func.func @n_not_one(%w: tensor<1x64x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                     %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op the kernel supports n = 1 or n = m, got n = 2, m = 4}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 64, stages = 2>
func.func @dynamic_weight(%w: tensor<?x64x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                          %off: tensor<?xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op needs a static weight shape to be compiled, got 'tensor<?x64x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>'}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<?x64x256xbf16, #ss>, tensor<?x256xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 96>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 64, stages = 2>
func.func @span_vs_tile(%w: tensor<1x64x384xbf16, #ss>, %x: tensor<?x384xbf16>,
                        %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile k = 64 and span v = 96 must divide one another}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x384xbf16, #ss>, tensor<?x384xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 64, stages = 2>
func.func @k_tile(%w: tensor<1x64x96xbf16, #ss>, %x: tensor<?x96xbf16>,
                  %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile k = 64 must divide the 96 weight columns}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x96xbf16, #ss>, tensor<?x96xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 4, tokens = 8, k = 32, stages = 2>
func.func @warps(%w: tensor<1x48x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                 %off: tensor<2xi32>) -> tensor<?x48xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile warps = 4 × row_tiles = 1 must divide the 3 kept 16-row tiles}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x48x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x48xbf16>
  return %y : tensor<?x48xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
func.func @whole_layer(%x: tensor<?x64xbf16>, %r: tensor<4x64xbf16>,
                       %w13: tensor<4x64x64xbf16, #ss>, %w2: tensor<4x64x32xbf16, #ss>)
    -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op has no GPU lowering; run samoyeds-decompose-moe first}}
  %y = samoyeds.moe_ffn %x, %r, %w13, %w2 top_k(2)
      : (tensor<?x64xbf16>, tensor<4x64xbf16>, tensor<4x64x64xbf16, #ss>,
         tensor<4x64x32xbf16, #ss>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @route_dynamic_experts(%x: tensor<?x64xbf16>, %r: tensor<?x64xbf16>) -> tensor<?x2xf32> {
  // expected-error @+1 {{'samoyeds.route' op needs static hidden size and expert count to be compiled}}
  %w, %ids = samoyeds.route %x, %r top_k(2)
      : (tensor<?x64xbf16>, tensor<?x64xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w : tensor<?x2xf32>
}

// -----

func.func @dispatch_dynamic_k(%ids: tensor<?x?xi32>) -> tensor<?xi32> {
  // expected-error @+1 {{'samoyeds.dispatch' op needs a static top_k to be compiled}}
  %tok, %off, %pos = samoyeds.dispatch %ids experts(4)
      : (tensor<?x?xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x?xi32>)
  return %tok : tensor<?xi32>
}

// -----

// A K slice must hold whole spans: 256 columns in 4 slices of 64 < v = 128.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 64, stages = 2, split_k = 4, split_slots = 8>
func.func @split_straddles_span(%w: tensor<1x64x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                                %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile split_k = 4 must cut the 256 columns into slices of whole multiples of 128 (k tile and span)}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Plain 2:4: slices of whole k tiles (96 columns in 2 slices of 48, k = 32).
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2, split_k = 2, split_slots = 8>
func.func @split_partial_k_tile(%w: tensor<1x32x96xbf16, #ss>, %x: tensor<?x96xbf16>,
                                %off: tensor<2xi32>) -> tensor<?x32xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile split_k = 2 must cut the 96 columns into slices of whole multiples of 32 (k tile)}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x32x96xbf16, #ss>, tensor<?x96xbf16>, tensor<2xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// 8 stages of 128 tokens × 264 bf16 columns do not fit a block's shared memory.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 128, k = 256, stages = 8>
func.func @smem_too_big(%w: tensor<1x32x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                        %off: tensor<2xi32>) -> tensor<?x32xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile needs 577536 bytes of shared memory, more than the 232448 a block may use; use fewer stages, warps, tokens or k}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x32x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// The persistent pipeline runs stages - 1 k tiles ahead: one stage is none.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 1, persistent = 2>
func.func @persistent_one_stage(%w: tensor<1x32x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                                %off: tensor<2xi32>) -> tensor<?x32xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile persistent = 2 needs at least 2 stages, got 1}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x32x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// 4 stages run 3 k tiles ahead, into the tile after next with 2 k tiles.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 4, persistent = 2>
func.func @persistent_few_k_tiles(%w: tensor<1x32x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                                  %off: tensor<2xi32>) -> tensor<?x32xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile persistent = 2 needs at least 3 k tiles (stages - 1), got 2}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x32x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// Three blocks of 1024 threads do not fit an SM's 2048.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 16, tokens = 16, k = 32, stages = 2, token_warps = 2, persistent = 3>
func.func @persistent_threads(%w: tensor<1x256x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                              %off: tensor<2xi32>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile persistent = 3 blocks per SM of 1024 threads need more than the 2048 threads of an SM}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x256x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Four blocks of 3 stages × 128 tokens (over 57 KB each) do not fit 228 KB.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 128, k = 64, stages = 3, persistent = 4>
func.func @persistent_smem(%w: tensor<1x16x128xbf16, #ss>, %x: tensor<?x128xbf16>,
                           %off: tensor<2xi32>) -> tensor<?x16xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile persistent = 4 blocks per SM of}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x16x128xbf16, #ss>, tensor<?x128xbf16>, tensor<2xi32>) -> tensor<?x16xbf16>
  return %y : tensor<?x16xbf16>
}

// -----

// Units need not divide the tiles (the last row block's units past the
// half repeat its last tile: ssmm-wgmma-unit-tails.mlir), but a block has
// at most one unit per tile.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, strategy = wgmma_sp>
func.func @wgmma_units(%w: tensor<1x128x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                       %off: tensor<2xi32>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile warps = 8 (2 warpgroups) must not give it more units (2) than 64-row tiles (1)}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x128x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, strategy = wgmma_sp>
func.func @wgmma_silu_pair(%w: tensor<1x128x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                           %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile warps = 4 (1 warpgroups) must give each of the 2 halves as many units}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <silu_mul> {tile = #tile}
      : (tensor<1x128x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 4, tokens = 256, k = 128, stages = 2, strategy = wgmma_sp>
func.func @wgmma_registers(%w: tensor<1x128x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                           %off: tensor<2xi32>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile needs 256 accumulators per thread (2 sets of tokens / 2), more than 192 (1 consumer warpgroups); use fewer tokens or warps}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x128x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// Unit pairs (wide_units = 2): each consumer warpgroup holds both units'
// sets, 2 x 2 x 96 / 2 accumulators for 96 wide tokens of 1:2 routed rows.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 2, wide_tokens = 96, wide_slots = 512, wide_units = 2, strategy = wgmma_sp>
func.func @wgmma_registers_unit_pairs(%w: tensor<4x512x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                                      %off: tensor<5xi32>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile needs 192 accumulators per thread (4 sets of tokens / 2), more than 176 (2 consumer warpgroups); use fewer tokens or warps}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Unit pairs take two 64-row tiles of each half per warpgroup: 1:2 rows of
// 256 keep one a half.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 2, wide_tokens = 80, wide_slots = 512, wide_units = 2, strategy = wgmma_sp>
func.func @wgmma_unit_pairs_rows(%w: tensor<4x256x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                                 %off: tensor<5xi32>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile warps = 8 (2 warpgroups of 2 units) must not give a half more units (2) than 64-row tiles (1)}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <silu_mul> {tile = #tile}
      : (tensor<4x256x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// Four consumer warpgroups and the producer start with 96 registers a thread
// (640 threads); setmaxnreg leaves each consumer 104: 56 accumulators, less
// than 128 tokens' 64.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 16, tokens = 128, k = 128, stages = 2, strategy = wgmma_sp>
func.func @wgmma_registers_warpgroups(%w: tensor<1x256x512xbf16, #ss>, %x: tensor<?x512xbf16>,
                                      %off: tensor<2xi32>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile needs 64 accumulators per thread (1 sets of tokens / 2), more than 56 (4 consumer warpgroups); use fewer tokens or warps}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<2xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 16, tokens = 96, k = 256, stages = 4, strategy = wgmma_sp>
func.func @wgmma_smem(%w: tensor<1x256x512xbf16, #ss>, %x: tensor<?x512xbf16>,
                      %off: tensor<2xi32>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile needs 492608 bytes of shared memory, more than the 232448 a block may use (1 per SM); use fewer stages, warps, tokens or k}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<2xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Two blocks per SM for a decode variant of four consumer warpgroups: their
// registers do not fit two blocks.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, decode_tokens = 8, decode_slots = 8, shared_slots = 1, strategy = wgmma_sp>
func.func @wgmma_two_blocks_four_warpgroups(%w: tensor<1x512x512xbf16, #ss>, %x: tensor<?x512xbf16>,
                                            %off: tensor<2xi32>) -> tensor<?x512xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op two blocks per SM (the tile's shared_slots or split_blocks) take at most 2 consumer warpgroups, the decode variant has 4; give it decode_warps = 8}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x512x512xbf16, #ss>, tensor<?x512xbf16>, tensor<2xi32>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}

// -----

// An argument named like a part of a weight.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2>
// expected-error @+1 {{'func.func' op two bundle buffers are named "w.values" (a weight's parts are named NAME.values, NAME.meta and NAME.row_idx, workspaces ws_KERNEL); rename the argument or result}}
func.func @name_of_a_part(%w: tensor<1x64x64xbf16, #ss> {samoyeds.name = "w"},
                          %x: tensor<?x64xbf16> {samoyeds.name = "w.values"},
                          %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// A combine whose top_k is dynamic.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2>
func.func @combine_dynamic_top_k(%w: tensor<1x32x64xbf16, #ss>, %h: tensor<?x64xbf16>,
                                 %off: tensor<2xi32>, %rw: tensor<?x?xf32>,
                                 %pos: tensor<?x?xi32>) -> tensor<?x32xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op weighted_combine needs a static top_k and row count to be compiled}}
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #tile}
      : (tensor<1x32x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>,
         tensor<?x?xf32>, tensor<?x?xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// One buffer whose rows are both the tokens (routed) and the slots (the
// matmul's input without a token list).
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2>
func.func @tokens_and_slots(%x: tensor<?x64xbf16>, %r: tensor<4x64xbf16>,
                            %w: tensor<1x64x64xbf16, #ss>, %off: tensor<2xi32>)
    -> (tensor<?x2xf32>, tensor<?x64xbf16>) {
  %rw, %ids = samoyeds.route %x, %r top_k(2)
      : (tensor<?x64xbf16>, tensor<4x64xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  // expected-error @+1 {{'samoyeds.ssmm' op dimension 0 of 'tensor<?x64xbf16>' is both T and P}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %rw, %y : tensor<?x2xf32>, tensor<?x64xbf16>
}

// -----

// Sizes a bundle cannot describe: 32-bit dimensions, 64-bit byte counts.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
func.func @dimension_too_large(%w: tensor<1x1099511627776x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                               %off: tensor<2xi32>) -> tensor<?x1099511627776xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op operand 0 ('tensor<1x1099511627776x64xbf16, #samoyeds.ss<n = 1, m = 1, v = 32>>'): dimension 1 is 1099511627776, more than the 2147483647 a bundle describes}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none>
      : (tensor<1x1099511627776x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x1099511627776xbf16>
  return %y : tensor<?x1099511627776xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
func.func @weight_too_large(%w: tensor<2147483646x2147483632x2147483616xbf16, #ss>,
                            %x: tensor<?x2147483616xbf16>, %off: tensor<2147483647xi32>)
    -> tensor<?x2147483632xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op operand 0 ('tensor<2147483646x2147483632x2147483616xbf16, #samoyeds.ss<n = 1, m = 1, v = 32>>'): a weight of more than 2^63 bytes}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none>
      : (tensor<2147483646x2147483632x2147483616xbf16, #ss>, tensor<?x2147483616xbf16>,
         tensor<2147483647xi32>) -> tensor<?x2147483632xbf16>
  return %y : tensor<?x2147483632xbf16>
}

// -----

// More experts than the select kernel's warp holds in registers (1024
// assemble: test/Pipelines/route-limits.mlir).
func.func @route_experts(%x: tensor<?x64xbf16>, %r: tensor<1025x64xbf16>)
    -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  // expected-error @+1 {{'samoyeds.route' op routes over 1025 experts; its select kernel keeps a token's logits in the registers of one warp, which hold 1024}}
  %w, %ids = samoyeds.route %x, %r top_k(2)
      : (tensor<?x64xbf16>, tensor<1025x64xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// More experts than the matmul kernels are compiled for (their code grows
// with the count).
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2>
func.func @matmul_experts(%w: tensor<8193x64x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                          %off: tensor<8194xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op has 8193 experts; the kernels are compiled for at most 8192}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<8193x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<8194xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// A combine over more slots per token than its kernel is compiled for.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2>
func.func @combine_top_k(%w: tensor<1x32x64xbf16, #ss>, %h: tensor<?x64xbf16>,
                         %off: tensor<2xi32>, %rw: tensor<?x257xf32>,
                         %pos: tensor<?x257xi32>) -> tensor<?x32xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op combines top_k = 257 slots per token; the combine kernel is compiled for at most 256}}
  %y = samoyeds.ssmm %w, %h, %off combine(%rw, %pos) epilogue <weighted_combine> {tile = #tile}
      : (tensor<1x32x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>,
         tensor<?x257xf32>, tensor<?x257xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

func.func @route_top_k(%x: tensor<?x64xbf16>, %r: tensor<512x64xbf16>)
    -> (tensor<?x257xf32>, tensor<?x257xi32>) {
  // expected-error @+1 {{'samoyeds.route' op routes each token to top_k = 257 experts; the route kernel is compiled for at most 256}}
  %w, %ids = samoyeds.route %x, %r top_k(257)
      : (tensor<?x64xbf16>, tensor<512x64xbf16>) -> (tensor<?x257xf32>, tensor<?x257xi32>)
  return %w, %ids : tensor<?x257xf32>, tensor<?x257xi32>
}

// -----

// One weight buffer holds one packed layout, so two matmuls of one weight
// must lower with the same strategy.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#wgmma = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, strategy = wgmma_sp>
#mma = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, strategy = mma_sp>
func.func @weight_layouts(%w: tensor<2x128x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                          %off: tensor<3xi32>) -> (tensor<?x128xbf16>, tensor<?x128xbf16>) {
  %a = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #wgmma}
      : (tensor<2x128x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>) -> tensor<?x128xbf16>
  // expected-error @+1 {{'samoyeds.ssmm' op reads its weight in the 'mma_sp' layout, but another samoyeds.ssmm of the function reads the same weight in the 'wgmma' layout; give both the same MMA strategy}}
  %b = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #mma}
      : (tensor<2x128x256xbf16, #ss>, tensor<?x256xbf16>, tensor<3xi32>) -> tensor<?x128xbf16>
  return %a, %b : tensor<?x128xbf16>, tensor<?x128xbf16>
}

// -----

// Every dynamic dimension of a bound buffer is T or P; nothing fixes the
// expert offsets' length when it is dynamic.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
// expected-error @+1 {{buffer "arg2" ('tensor<?xi32>'): no samoyeds op says whether dynamic dimension 0 is T (tokens) or P (routed slots); give it a static size}}
func.func @unnamed_dim(%w: tensor<1x64x64xbf16, #ss>, %x: tensor<?x64xbf16>,
                       %off: tensor<?xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none>
      {tile = #samoyeds.tile<warps = 1, tokens = 8, k = 32, stages = 2>}
      : (tensor<1x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Masked row selection under the warpgroup strategy: a thread's two rows
// must belong to one group.
#ss = #samoyeds.ss<n = 1, m = 3, v = 128>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, row_masks = 1, strategy = wgmma_sp>
func.func @wgmma_masked_m3(%w: tensor<1x384x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                           %off: tensor<2xi32>) -> tensor<?x384xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op masked group rows (row_masks or wide_row_masks = 1) with strategy wgmma_sp need m to divide 16 (a thread's two rows in one group), got m = 3}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x384x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x384xbf16>
  return %y : tensor<?x384xbf16>
}

// -----

// Masked wide rows: the same rule for the wide widths, whose other variants
// route (m = 3 is fine there).
#ss = #samoyeds.ss<n = 1, m = 3, v = 128>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, wide_tokens = 32, wide_slots = 64, wide_row_masks = 1, strategy = wgmma_sp>
func.func @wgmma_wide_masked_m3(%w: tensor<1x384x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                                %off: tensor<2xi32>) -> tensor<?x384xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op masked group rows (row_masks or wide_row_masks = 1) with strategy wgmma_sp need m to divide 16 (a thread's two rows in one group), got m = 3}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x384x256xbf16, #ss>, tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x384xbf16>
  return %y : tensor<?x384xbf16>
}

// -----

// Cluster pairs need the row blocks of each half in pairs: three do not pair.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 4, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_cluster = 2, strategy = wgmma_sp>
func.func @cluster_odd_row_blocks(%w: tensor<4x192x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                                  %off: tensor<5xi32>) -> tensor<?x192xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile wide_cluster = 2 needs the 3 row blocks of each half in clusters}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<4x192x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>) -> tensor<?x192xbf16>
  return %y : tensor<?x192xbf16>
}

// -----

// Weight multicast splits a wide block's 64-row units between the two
// blocks of a pair: one consumer warpgroup of one unit has no second share.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 4, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_multicast = 2, strategy = wgmma_sp>
func.func @multicast_one_unit(%w: tensor<4x192x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                              %off: tensor<5xi32>) -> tensor<?x192xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile wide_multicast = 2 needs a multiple of 2 64-row units per wide block (one share per block), got 1}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<4x192x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>) -> tensor<?x192xbf16>
  return %y : tensor<?x192xbf16>
}

// -----

// The SiLU·up exchange of a 256-token wide tile (64 KB) would reach the
// token rows of the two-slot ring, which the peer may still be copying.
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 256, wide_slots = 512, wide_cluster = 2, strategy = wgmma_sp>
func.func @cluster_exchange(%w: tensor<4x512x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                            %off: tensor<5xi32>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile wide_cluster = 2: the SiLU·up exchange (65536 bytes) would overwrite token rows the peer may still copy; use fewer wide tokens or more stages}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// Without the exchange the same 256-token tile leaves a two-slot ring:
// a block forwards its half of use i - 1 after waiting for use i - 2 to be
// released, which waits for the peer's forward of use i - 1 (a deadlock).
#ss = #samoyeds.ss<n = 1, m = 1, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 256, wide_slots = 512, wide_cluster = 2, strategy = wgmma_sp>
func.func @cluster_two_slots(%w: tensor<4x512x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                             %off: tensor<5xi32>) -> tensor<?x512xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile wide_cluster = 2 needs a ring of at least 3 slots, not 2 (a block forwards its half of a slot's token rows after waiting for an earlier slot); use fewer wide tokens}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}

// -----

// A packed wide input's workspace holds at most three rows per routed
// slot: the padded tiles of 4 experts × 127 rows need calls of at least 254
// slots (two rows per slot from 508).
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 250, wide_packed = 1, strategy = wgmma_sp>
func.func @packed_few_slots(%w: tensor<4x512x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                            %off: tensor<5xi32>, %tok: tensor<?xi32>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile wide_packed = 1 needs the wide variant's calls to have at least experts × (tokens - 1) / 2 = 254 routed slots, but they start at 250; raise wide_slots}}
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// The mid-size split-K variant's slices too: 640 columns in 2 slices of 320
// are not whole 128-column k tiles (its split-K variant's 5 slices are).
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 2, split_k = 5, split_slots = 8, mid_split_k = 2, mid_split_slots = 64, strategy = wgmma_sp>
func.func @mid_split_straddles_k_tile(%w: tensor<1x256x640xbf16, #ss>, %x: tensor<?x640xbf16>,
                                      %off: tensor<2xi32>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile mid_split_k = 2 must cut the 640 columns into slices of whole multiples of 128 (k tile and span)}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x256x640xbf16, #ss>, tensor<?x640xbf16>, tensor<2xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// The persistent grid's packed input (no wide variant) has the same bound:
// 4 experts × 127 rows need its calls to start at 254 slots.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, persistent = 1, persistent_slots = 200, persistent_tokens = 128, wide_packed = 1, strategy = wgmma_sp>
func.func @persistent_packed_few_slots(%w: tensor<4x512x256xbf16, #ss>, %x: tensor<?x256xbf16>,
                                       %off: tensor<5xi32>, %tok: tensor<?xi32>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile wide_packed = 1 needs the persistent grid's calls to have at least experts × (tokens - 1) / 2 = 254 routed slots, but they start at 200; raise persistent_slots}}
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x256xbf16, #ss>, tensor<?x256xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// K that the wgmma layout pads (docs/Format.md): the k tile and the split-K
// slices divide the stored columns, which the diagnostics name.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 256, stages = 2, strategy = wgmma_sp>
func.func @wgmma_padded_k_tile(%w: tensor<1x64x288xbf16, #ss>, %x: tensor<?x288xbf16>,
                               %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile k = 256 must divide the 384 weight columns (K = 288, stored padded)}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x288xbf16, #ss>, tensor<?x288xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 4, tokens = 16, k = 128, stages = 2, split_k = 2, split_slots = 4, strategy = wgmma_sp>
func.func @wgmma_padded_split(%w: tensor<1x64x288xbf16, #ss>, %x: tensor<?x288xbf16>,
                              %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile split_k = 2 must cut the 384 columns (K = 288, stored padded) into slices of whole multiples of 128 (k tile)}}
  %y = samoyeds.ssmm %w, %x, %off epilogue <none> {tile = #tile}
      : (tensor<1x64x288xbf16, #ss>, tensor<?x288xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// The packed input (wide_packed = 1) holds K columns, unpadded.
#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
#tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 512, wide_packed = 1, strategy = wgmma_sp>
func.func @wgmma_padded_packed(%w: tensor<4x512x160xbf16, #ss> {samoyeds.name = "w"},
                               %x: tensor<?x160xbf16>, %off: tensor<5xi32>, %tok: tensor<?xi32>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op tile wide_packed = 1 needs K in whole 128-column blocks, got K = 160; use wide_packed = 0}}
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<4x512x160xbf16, #ss>, tensor<?x160xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
