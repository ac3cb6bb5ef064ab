// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu=fuse-split-reduce=true -verify-diagnostics -o /dev/null

// fuse-split-reduce finds a tile's last block by counting its split_k
// blocks; a persistent split grid has no such blocks.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#tile = #samoyeds.tile<warps = 8, tokens = 16, k = 128, stages = 2, row_masks = 1, split_k = 2, split_slots = 4, split_persistent = 1, strategy = wgmma_sp>
func.func @fused(%w13: tensor<2x256x512xbf16, #ss> {samoyeds.name = "w13"},
                 %x: tensor<?x512xbf16> {samoyeds.name = "x"},
                 %off: tensor<3xi32> {samoyeds.name = "offsets"},
                 %tok: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x128xbf16> {samoyeds.name = "h"}) {
  // expected-error @+1 {{'samoyeds.ssmm' op fuse-split-reduce counts the blocks of a tile, but the split variant of tile split_persistent = 1 runs a persistent grid}}
  %h = samoyeds.ssmm %w13, %x, %off gather(%tok) epilogue <silu_mul> {tile = #tile}
      : (tensor<2x256x512xbf16, #ss>, tensor<?x512xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x128xbf16>
  return %h : tensor<?x128xbf16>
}
