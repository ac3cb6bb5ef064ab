// RUN: samoyeds-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of the samoyeds attribute and op verifiers, plus the
// ODS type constraints.

//===----------------------------------------------------------------------===//
// #samoyeds.ss
//===----------------------------------------------------------------------===//

// expected-error @+1 {{#samoyeds.ss: m = 0 must be in [1, 16]}}
func.func @ss_m_zero(%w: tensor<1x32x128xbf16, #samoyeds.ss<n = 1, m = 0, v = 128>>) {
  return
}

// -----

// expected-error @+1 {{#samoyeds.ss: m = 17 must be in [1, 16]}}
func.func @ss_m_too_big(%w: tensor<1x32x128xbf16, #samoyeds.ss<n = 1, m = 17, v = 128>>) {
  return
}

// -----

// expected-error @+1 {{#samoyeds.ss: n = 0 must be in [1, m = 2]}}
func.func @ss_n_zero(%w: tensor<1x32x128xbf16, #samoyeds.ss<n = 0, m = 2, v = 128>>) {
  return
}

// -----

// expected-error @+1 {{#samoyeds.ss: n = 3 must be in [1, m = 2]}}
func.func @ss_n_above_m(%w: tensor<1x32x128xbf16, #samoyeds.ss<n = 3, m = 2, v = 128>>) {
  return
}

// -----

// expected-error @+1 {{#samoyeds.ss: v = 100 must be a positive multiple of the mma.sp K step (32)}}
func.func @ss_v_not_multiple(%w: tensor<1x32x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 100>>) {
  return
}

// -----

// expected-error @+1 {{#samoyeds.ss: v = 0 must be a positive multiple of the mma.sp K step (32)}}
func.func @ss_v_zero(%w: tensor<1x32x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 0>>) {
  return
}

// -----

// expected-error @+1 {{#samoyeds.ss: v = -32 must be a positive multiple of the mma.sp K step (32)}}
func.func @ss_v_negative(%w: tensor<1x32x128xbf16, #samoyeds.ss<n = 1, m = 2, v = -32>>) {
  return
}

//===----------------------------------------------------------------------===//
// #samoyeds.tile
//===----------------------------------------------------------------------===//

// -----

// expected-error @+1 {{#samoyeds.tile: warps = 0 must be in [1, 16]}}
func.func @tile_warps_zero() attributes {t = #samoyeds.tile<warps = 0, tokens = 32, k = 64, stages = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: warps = 17 must be in [1, 16]}}
func.func @tile_warps_too_many() attributes {t = #samoyeds.tile<warps = 17, tokens = 32, k = 64, stages = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: tokens = 4 must be a multiple of 8 in [8, 128]}}
func.func @tile_tokens_too_few() attributes {t = #samoyeds.tile<warps = 4, tokens = 4, k = 64, stages = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: tokens = 12 must be a multiple of 8 in [8, 128]}}
func.func @tile_tokens_not_multiple() attributes {t = #samoyeds.tile<warps = 4, tokens = 12, k = 64, stages = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: tokens = 136 must be a multiple of 8 in [8, 128]}}
func.func @tile_tokens_too_many() attributes {t = #samoyeds.tile<warps = 4, tokens = 136, k = 64, stages = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: k = 16 must be a multiple of 32 in [32, 256]}}
func.func @tile_k_too_small() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 16, stages = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: k = 48 must be a multiple of 32 in [32, 256]}}
func.func @tile_k_not_multiple() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 48, stages = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: k = 288 must be a multiple of 32 in [32, 256]}}
func.func @tile_k_too_big() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 288, stages = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: stages = 0 must be in [1, 8]}}
func.func @tile_stages_zero() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 0>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: stages = 9 must be in [1, 8]}}
func.func @tile_stages_too_many() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 9>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: tokens = 264 must be a multiple of 8 in [8, 256]}}
func.func @tile_wgmma_tokens_too_many() attributes {t = #samoyeds.tile<warps = 4, tokens = 264, k = 128, stages = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: warps = 6 must be whole warpgroups (a multiple of 4) with strategy wgmma_sp}}
func.func @tile_wgmma_warps() attributes {t = #samoyeds.tile<warps = 6, tokens = 64, k = 128, stages = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: k = 64 must be a multiple of 128 (one swizzled weight block) with strategy wgmma_sp}}
func.func @tile_wgmma_k() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 64, stages = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: stages = 1 must be at least 2 with strategy wgmma_sp}}
func.func @tile_wgmma_stages() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: token_warps and row_tiles belong to strategy mma_sp}}
func.func @tile_wgmma_row_tiles() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 2, row_tiles = 2, strategy = wgmma_sp>} {
  return
}


// -----

// expected-error @+1 {{#samoyeds.tile: persistent = 2 must be 0 or 1 with strategy wgmma_sp (its block fills an SM)}}
func.func @tile_wgmma_persistent() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 2, persistent = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+2 {{expected ::mlir::samoyeds::MmaStrategy to be one of: mma_sp, wgmma_sp}}
// expected-error @+1 {{failed to parse Samoyeds_TileConfigAttr parameter 'strategy' which is to be a `::mlir::samoyeds::MmaStrategy`}}
func.func @tile_bad_strategy() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 2, strategy = hmma>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: token_warps = 0 must be in [1, 8]}}
func.func @tile_token_warps_zero() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, token_warps = 0>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: token_warps = 9 must be in [1, 8]}}
func.func @tile_token_warps_too_many() attributes {t = #samoyeds.tile<warps = 1, tokens = 128, k = 64, stages = 2, token_warps = 9>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: tokens = 32 must split into 8 token_warps slices of a multiple of 8}}
func.func @tile_token_slices() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, token_warps = 8>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: warps × token_warps = 64 is more than the 32 warps of a block}}
func.func @tile_too_many_warps() attributes {t = #samoyeds.tile<warps = 16, tokens = 128, k = 64, stages = 2, token_warps = 4>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: row_tiles = 0 must be in [1, 4]}}
func.func @tile_row_tiles_zero() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, row_tiles = 0>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: row_tiles = 5 must be in [1, 4]}}
func.func @tile_row_tiles_too_many() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, row_tiles = 5>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: row_masks = 2 must be 0 or 1}}
func.func @tile_row_masks() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, row_masks = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: split_k = 0 must be in [1, 16]}}
func.func @tile_split_zero() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, split_k = 0>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: split_k = 17 must be in [1, 16]}}
func.func @tile_split_too_many() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, split_k = 17, split_slots = 8>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: split_slots = 8 needs split_k > 1}}
func.func @tile_slots_without_split() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, split_slots = 8>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: split_slots = 0 must be in [1, 4096] with split_k = 4}}
func.func @tile_split_without_slots() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, split_k = 4>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: split_slots = 5000 must be in [1, 4096] with split_k = 2}}
func.func @tile_split_slots_too_many() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, split_k = 2, split_slots = 5000>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent = -1 must be in [0, 32]}}
func.func @tile_persistent_negative() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, persistent = -1>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent = 33 must be in [0, 32]}}
func.func @tile_persistent_too_many() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, persistent = 33>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_slots = 64 needs persistent > 0}}
func.func @tile_persistent_slots_alone() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, persistent_slots = 64>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_slots = -1 must be in [0, 2^30]}}
func.func @tile_persistent_slots_negative() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, persistent = 2, persistent_slots = -1>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_tokens = 64 needs persistent > 0}}
func.func @tile_persistent_tokens_alone() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, persistent_tokens = 64>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_tokens = 24 must be a multiple of 16 in [8, 128]}}
func.func @tile_persistent_tokens_split() attributes {t = #samoyeds.tile<warps = 2, tokens = 32, k = 64, stages = 2, token_warps = 2, persistent = 2, persistent_tokens = 24>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_tokens = 264 must be a multiple of 8 in [8, 256]}}
func.func @tile_wgmma_persistent_tokens() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 2, persistent = 1, persistent_tokens = 264, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: decode_tokens = 8 must be a multiple of 16 below tokens = 64}}
func.func @tile_decode_tokens_split() attributes {t = #samoyeds.tile<warps = 2, tokens = 64, k = 64, stages = 2, token_warps = 2, decode_tokens = 8, decode_slots = 64>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: decode_tokens = 32 must be a multiple of 8 below tokens = 32}}
func.func @tile_decode_tokens_not_below() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, decode_tokens = 32, decode_slots = 64>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: decode_slots = 64 needs decode_tokens > 0}}
func.func @tile_decode_slots_alone() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, decode_slots = 64>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: decode_slots = -1 must be in [0, 2^30]}}
func.func @tile_decode_slots_negative() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, decode_tokens = 8, decode_slots = -1>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_tokens = 64 must be a multiple of 8 above tokens = 64 and at most 256}}
func.func @tile_wide_not_above() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 64, wide_slots = 512, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_tokens = 88 must be a multiple of 16 above tokens = 64 and at most 128}}
func.func @tile_wide_token_warps() attributes {t = #samoyeds.tile<warps = 2, tokens = 64, k = 64, stages = 2, token_warps = 2, wide_tokens = 88, wide_slots = 512>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_tokens = 128 with persistent = 1 needs strategy wgmma_sp and persistent_slots = persistent_tokens = 0 (the wide variant serves the large calls, the persistent grid those below)}}
func.func @tile_wide_persistent() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, persistent = 1, persistent_slots = 768, persistent_tokens = 128, wide_tokens = 128, wide_slots = 512, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_tokens = 128 with persistent = 1 needs strategy wgmma_sp and persistent_slots = persistent_tokens = 0 (the wide variant serves the large calls, the persistent grid those below)}}
func.func @tile_wide_persistent_mma() attributes {t = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 4, persistent = 1, wide_tokens = 128, wide_slots = 512>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_slots = 512 needs wide_tokens > 0}}
func.func @tile_wide_slots_alone() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, wide_slots = 512>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_slots = 0 must be at least 1 with wide_tokens > 0}}
func.func @tile_wide_no_slots() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, wide_tokens = 64>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_slots = -4 must be in [0, 2^30]}}
func.func @tile_wide_slots_negative() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, wide_tokens = 64, wide_slots = -4>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: group_tiles = 0 must be in [1, 64]}}
func.func @tile_group_zero() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, group_tiles = 0>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: group_tiles = 65 must be in [1, 64]}}
func.func @tile_group_large() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, group_tiles = 65, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: split_persistent = 2 must be 0, or 1 with split_k > 1 and strategy wgmma_sp}}
func.func @tile_split_persistent_two() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, split_k = 2, split_slots = 4, split_persistent = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: split_persistent = 1 must be 0, or 1 with split_k > 1 and strategy wgmma_sp}}
func.func @tile_split_persistent_unsplit() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, split_persistent = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: split_persistent = 1 must be 0, or 1 with split_k > 1 and strategy wgmma_sp}}
func.func @tile_split_persistent_mma_sp() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, split_k = 2, split_slots = 4, split_persistent = 1>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_cluster = 3 must be 1, or 2 with strategy wgmma_sp and wide_tokens a multiple of 16 (whole 8-row halves)}}
func.func @tile_wide_cluster_three() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_cluster = 3, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_cluster = 2 must be 1, or 2 with strategy wgmma_sp and wide_tokens a multiple of 16 (whole 8-row halves)}}
func.func @tile_wide_cluster_no_wide() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_cluster = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_cluster = 2 must be 1, or 2 with strategy wgmma_sp and wide_tokens a multiple of 16 (whole 8-row halves)}}
func.func @tile_wide_cluster_odd_half() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 120, wide_slots = 512, wide_cluster = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_cluster = 2 must be 1, or 2 with strategy wgmma_sp and wide_tokens a multiple of 16 (whole 8-row halves)}}
func.func @tile_wide_cluster_mma_sp() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_cluster = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_cluster = 0 must be 1, or 2 with strategy wgmma_sp and wide_tokens a multiple of 16 (whole 8-row halves)}}
func.func @tile_wide_cluster_zero() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_cluster = 0, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_multicast = 3 must be 1, or 2 with wide_tokens > 0, wide_cluster = 1 and strategy wgmma_sp}}
func.func @tile_wide_multicast_three() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_multicast = 3, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_multicast = 2 must be 1, or 2 with wide_tokens > 0, wide_cluster = 1 and strategy wgmma_sp}}
func.func @tile_wide_multicast_no_wide() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_multicast = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_multicast = 2 must be 1, or 2 with wide_tokens > 0, wide_cluster = 1 and strategy wgmma_sp}}
func.func @tile_wide_multicast_and_cluster() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_cluster = 2, wide_multicast = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_multicast = 2 must be 1, or 2 with wide_tokens > 0, wide_cluster = 1 and strategy wgmma_sp}}
func.func @tile_wide_multicast_mma_sp() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_multicast = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_multicast = 0 must be 1, or 2 with wide_tokens > 0, wide_cluster = 1 and strategy wgmma_sp}}
func.func @tile_wide_multicast_zero() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_multicast = 0, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_multicast_slots = 512 must be 0, or in [1, 1048576] with wide_multicast > 1}}
func.func @tile_wide_multicast_slots_alone() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_multicast_slots = 512, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_multicast_slots = -1 must be 0, or in [1, 1048576] with wide_multicast > 1}}
func.func @tile_wide_multicast_slots_negative() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_multicast = 2, wide_multicast_slots = -1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_multicast_slots = 1048577 must be 0, or in [1, 1048576] with wide_multicast > 1}}
func.func @tile_wide_multicast_slots_huge() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_multicast = 2, wide_multicast_slots = 1048577, strategy = wgmma_sp>} {
  return
}

// -----

// The tile attribute on an ssmm is checked too.
func.func @ssmm_bad_tile(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  // expected-error @+2 {{#samoyeds.tile: stages = 12 must be in [1, 8]}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 12>}
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

//===----------------------------------------------------------------------===//
// moe_ffn
//===----------------------------------------------------------------------===//

// -----

func.func @moe_ffn_w13_no_encoding(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op expects w13 to carry a #samoyeds.ss encoding, got 'tensor<4x128x128xbf16>'}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>, tensor<4x128x128xbf16>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_w2_no_encoding(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op expects w2 to carry a #samoyeds.ss encoding, got 'tensor<4x128x64xbf16>'}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// A foreign encoding is not an SS format.
func.func @moe_ffn_w13_foreign_encoding(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, "ss">,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op expects w13 to carry a #samoyeds.ss encoding, got 'tensor<4x128x128xbf16, "ss">'}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>, tensor<4x128x128xbf16, "ss">,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_w13_cols_not_span(
    %x: tensor<?x96xbf16>, %router: tensor<4x96xbf16>,
    %w13: tensor<4x128x96xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
    %w2: tensor<4x96x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x96xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op w13: weight has 96 columns, not a multiple of the span v = 64}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x96xbf16>, tensor<4x96xbf16>,
         tensor<4x128x96xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
         tensor<4x96x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x96xbf16>
  return %y : tensor<?x96xbf16>
}

// -----

func.func @moe_ffn_w2_rows_not_group(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 3, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op w2: weight has 128 rows, not a multiple of the group size m = 3}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 3, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_w13_kept_rows_not_tile(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x96x128xbf16, #samoyeds.ss<n = 1, m = 4, v = 128>>,
    %w2: tensor<4x128x48xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op w13: weight keeps 24 of its 96 rows, not a multiple of the 16-row mma.sp tile}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x96x128xbf16, #samoyeds.ss<n = 1, m = 4, v = 128>>,
         tensor<4x128x48xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_router_hidden_mismatch(
    %x: tensor<?x128xbf16>, %router: tensor<4x256xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op router has hidden size 256 but the hidden states have 128}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x256xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_top_k_zero(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op top_k = 0 must be at least 1}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(0)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_top_k_above_experts(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op top_k = 5 exceeds the 4 experts}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(5)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_scale_zero(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op routed_scaling_factor = 0.000000e+00 must be positive}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2) {routed_scaling_factor = 0.0 : f64}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_scale_negative(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op routed_scaling_factor = -1.500000e+00 must be positive}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2) {routed_scaling_factor = -1.5 : f64}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_weight_element_type(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op weights must have the hidden states' element type 'bf16', got 'f16' and 'bf16'}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_result_type(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<16x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op result type 'tensor<16x128xbf16>' must equal the hidden states' type 'tensor<?x128xbf16>'}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<16x128xbf16>
  return %y : tensor<16x128xbf16>
}

// -----

func.func @moe_ffn_result_element_type(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op result type 'tensor<?x128xf16>' must equal the hidden states' type 'tensor<?x128xbf16>'}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}

// -----

func.func @moe_ffn_expert_count(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<8x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op router has 4 experts but w13 has 4 and w2 has 8}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<8x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// A dynamic router still constrains nothing, but two static weights disagree.
func.func @moe_ffn_expert_count_w13(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<?x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<6x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op router has 4 experts but w13 has ? and w2 has 6}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<?x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<6x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_hidden_vs_w13_cols(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op hidden size 128 must match w13 columns (256) and w2 rows (128)}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_hidden_vs_w2_rows(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x64x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op hidden size 128 must match w13 columns (128) and w2 rows (64)}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x64x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// The gate and the up half of w13 become separate weights of the decomposed
// layer: each half must keep whole 16-row tiles (here 64 rows keep 16, but
// each 32-row half keeps only 8).
func.func @moe_ffn_w13_gate_half(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 4, v = 128>>,
    %w2: tensor<4x128x32xbf16, #samoyeds.ss<n = 1, m = 2, v = 32>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op w13 gate half: weight keeps 8 of its 32 rows, not a multiple of the 16-row mma.sp tile}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 4, v = 128>>,
         tensor<4x128x32xbf16, #samoyeds.ss<n = 1, m = 2, v = 32>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_ffn_intermediate_size(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op intermediate size 64 (w13 rows / 2) must match w2 columns (128)}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// ODS: the hidden states must be a 2-D tensor.
func.func @moe_ffn_hidden_rank(
    %x: tensor<2x?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op operand #0 must be 2D tensor of bfloat16 type or 16-bit float values, but got 'tensor<2x?x128xbf16>'}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<2x?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// ODS: f32 hidden states are not supported.
func.func @moe_ffn_hidden_f32(
    %x: tensor<?x128xf32>, %router: tensor<4x128xf32>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op operand #0 must be 2D tensor of bfloat16 type or 16-bit float values, but got 'tensor<?x128xf32>'}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xf32>, tensor<4x128xf32>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

// ODS: f32 weights are not supported.
func.func @moe_ffn_w13_f32(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xf32, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op operand #2 must be 3D tensor of bfloat16 type or 16-bit float values, but got 'tensor<4x128x128xf32, #samoyeds.ss<n = 1, m = 2, v = 128>>'}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xf32, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// ODS: the weights are 3-D.
func.func @moe_ffn_w2_rank(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op operand #3 must be 3D tensor of bfloat16 type or 16-bit float values, but got 'tensor<128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>'}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// ODS: the router may be f32 but not an integer tensor.
func.func @moe_ffn_router_i32(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xi32>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op operand #1 must be 2D tensor of bfloat16 type or 16-bit float or 32-bit float values, but got 'tensor<4x128xi32>'}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xi32>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

//===----------------------------------------------------------------------===//
// moe_experts
//===----------------------------------------------------------------------===//

func.func @moe_experts_w13_no_encoding(
    %x: tensor<?x128xbf16>, %w: tensor<?x2xf32>, %ids: tensor<?x2xi32>,
    %w13: tensor<4x128x128xbf16>, %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op expects w13 to carry a #samoyeds.ss encoding, got 'tensor<4x128x128xbf16>'}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x128xbf16>, tensor<?x2xf32>, tensor<?x2xi32>,
         tensor<4x128x128xbf16>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_experts_routing_shapes(
    %x: tensor<?x128xbf16>, %w: tensor<?x2xf32>, %ids: tensor<?x4xi32>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op topk_weights 'tensor<?x2xf32>' and topk_ids 'tensor<?x4xi32>' must have the same shape}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x128xbf16>, tensor<?x2xf32>, tensor<?x4xi32>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_experts_dynamic_top_k(
    %x: tensor<?x128xbf16>, %w: tensor<?x?xf32>, %ids: tensor<?x?xi32>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op needs a static top_k (topk_ids dimension 1), got 'tensor<?x?xi32>'}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x128xbf16>, tensor<?x?xf32>, tensor<?x?xi32>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_experts_top_k_zero(
    %x: tensor<?x128xbf16>, %w: tensor<?x0xf32>, %ids: tensor<?x0xi32>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op top_k = 0 must be at least 1}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x128xbf16>, tensor<?x0xf32>, tensor<?x0xi32>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_experts_top_k_above_experts(
    %x: tensor<?x128xbf16>, %w: tensor<?x5xf32>, %ids: tensor<?x5xi32>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op top_k = 5 exceeds the 4 experts}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x128xbf16>, tensor<?x5xf32>, tensor<?x5xi32>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_experts_tokens(
    %x: tensor<16x128xbf16>, %w: tensor<8x2xf32>, %ids: tensor<8x2xi32>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<16x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op routing has 8 tokens but the hidden states have 16}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<16x128xbf16>, tensor<8x2xf32>, tensor<8x2xi32>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<16x128xbf16>
  return %y : tensor<16x128xbf16>
}

// -----

func.func @moe_experts_expert_count(
    %x: tensor<?x128xbf16>, %w: tensor<?x2xf32>, %ids: tensor<?x2xi32>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, %w2: tensor<8x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op w13 has 4 experts but w2 has 8}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x128xbf16>, tensor<?x2xf32>, tensor<?x2xi32>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<8x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @moe_experts_result_type(
    %x: tensor<?x128xbf16>, %w: tensor<?x2xf32>, %ids: tensor<?x2xi32>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op result type 'tensor<?x128xf16>' must equal the hidden states' type 'tensor<?x128xbf16>'}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x128xbf16>, tensor<?x2xf32>, tensor<?x2xi32>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}

// -----

func.func @moe_experts_intermediate(
    %x: tensor<?x128xbf16>, %w: tensor<?x2xf32>, %ids: tensor<?x2xi32>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, %w2: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_experts' op intermediate size 64 (w13 rows / 2) must match w2 columns (128)}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x128xbf16>, tensor<?x2xf32>, tensor<?x2xi32>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// ODS: top_k is required.
func.func @moe_ffn_missing_top_k(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op requires attribute 'top_k'}}
  %y = "samoyeds.moe_ffn"(%x, %router, %w13, %w2)
      <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0>}>
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

//===----------------------------------------------------------------------===//
// route
//===----------------------------------------------------------------------===//

// -----

func.func @route_router_hidden_mismatch(%x: tensor<?x128xbf16>, %router: tensor<8x64xbf16>) {
  // expected-error @+1 {{'samoyeds.route' op router has hidden size 64 but the hidden states have 128}}
  %w, %ids = samoyeds.route %x, %router top_k(2)
      : (tensor<?x128xbf16>, tensor<8x64xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

func.func @route_top_k_zero(%x: tensor<?x128xbf16>, %router: tensor<8x128xbf16>) {
  // expected-error @+1 {{'samoyeds.route' op top_k = 0 must be at least 1}}
  %w, %ids = samoyeds.route %x, %router top_k(0)
      : (tensor<?x128xbf16>, tensor<8x128xbf16>) -> (tensor<?x0xf32>, tensor<?x0xi32>)
  return
}

// -----

func.func @route_top_k_negative(%x: tensor<?x128xbf16>, %router: tensor<8x128xbf16>) {
  // expected-error @+1 {{'samoyeds.route' op top_k = -2 must be at least 1}}
  %w, %ids = samoyeds.route %x, %router top_k(-2)
      : (tensor<?x128xbf16>, tensor<8x128xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

func.func @route_top_k_above_experts(%x: tensor<?x128xbf16>, %router: tensor<8x128xbf16>) {
  // expected-error @+1 {{'samoyeds.route' op top_k = 9 exceeds the 8 experts}}
  %w, %ids = samoyeds.route %x, %router top_k(9)
      : (tensor<?x128xbf16>, tensor<8x128xbf16>) -> (tensor<?x9xf32>, tensor<?x9xi32>)
  return
}

// -----

func.func @route_scale_negative(%x: tensor<?x128xbf16>, %router: tensor<8x128xbf16>) {
  // expected-error @+1 {{'samoyeds.route' op routed_scaling_factor = -1.600000e+01 must be positive}}
  %w, %ids = samoyeds.route %x, %router top_k(2) {routed_scaling_factor = -16.0 : f64}
      : (tensor<?x128xbf16>, tensor<8x128xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return
}

// -----

func.func @route_weights_top_k(%x: tensor<?x128xbf16>, %router: tensor<8x128xbf16>) {
  // expected-error @+1 {{'samoyeds.route' op results must be [tokens, top_k] = [?, 2], got 'tensor<?x3xf32>'}}
  %w, %ids = samoyeds.route %x, %router top_k(2)
      : (tensor<?x128xbf16>, tensor<8x128xbf16>) -> (tensor<?x3xf32>, tensor<?x2xi32>)
  return
}

// -----

func.func @route_ids_tokens(%x: tensor<16x128xbf16>, %router: tensor<8x128xbf16>) {
  // expected-error @+1 {{'samoyeds.route' op results must be [tokens, top_k] = [16, 2], got 'tensor<32x2xi32>'}}
  %w, %ids = samoyeds.route %x, %router top_k(2)
      : (tensor<16x128xbf16>, tensor<8x128xbf16>) -> (tensor<16x2xf32>, tensor<32x2xi32>)
  return
}

// -----

// ODS: the routing weights are f32.
func.func @route_weights_bf16(%x: tensor<?x128xbf16>, %router: tensor<8x128xbf16>) {
  // expected-error @+1 {{'samoyeds.route' op result #0 must be 2D tensor of 32-bit float values, but got 'tensor<?x2xbf16>'}}
  %w, %ids = samoyeds.route %x, %router top_k(2)
      : (tensor<?x128xbf16>, tensor<8x128xbf16>) -> (tensor<?x2xbf16>, tensor<?x2xi32>)
  return
}

// -----

// ODS: the expert ids are i32.
func.func @route_ids_i64(%x: tensor<?x128xbf16>, %router: tensor<8x128xbf16>) {
  // expected-error @+1 {{'samoyeds.route' op result #1 must be 2D tensor of 32-bit signless integer values, but got 'tensor<?x2xi64>'}}
  %w, %ids = samoyeds.route %x, %router top_k(2)
      : (tensor<?x128xbf16>, tensor<8x128xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi64>)
  return
}

//===----------------------------------------------------------------------===//
// dispatch
//===----------------------------------------------------------------------===//

// -----

func.func @dispatch_zero_experts(%ids: tensor<?x2xi32>) {
  // expected-error @+1 {{'samoyeds.dispatch' op experts = 0 must be at least 1}}
  %t, %o, %p = samoyeds.dispatch %ids experts(0)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<1xi32>, tensor<?x2xi32>)
  return
}

// -----

// experts + 1 would overflow (used to wrap and report a negative size).
func.func @dispatch_experts_overflow(%ids: tensor<?x2xi32>) {
  // expected-error @+1 {{'samoyeds.dispatch' op experts = 9223372036854775807 is too large}}
  %t, %o, %p = samoyeds.dispatch %ids experts(9223372036854775807)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<9xi32>, tensor<?x2xi32>)
  return
}

// -----

// T * k would overflow (used to wrap and report 0 routed slots).
func.func @dispatch_slots_overflow(%ids: tensor<4611686018427387904x4xi32>) {
  // expected-error @+1 {{'samoyeds.dispatch' op expert ids 'tensor<4611686018427387904x4xi32>' have more routed slots than fit in 64 bits}}
  %t, %o, %p = samoyeds.dispatch %ids experts(8)
      : (tensor<4611686018427387904x4xi32>)
      -> (tensor<16xi32>, tensor<9xi32>, tensor<4611686018427387904x4xi32>)
  return
}

// -----

func.func @dispatch_token_list(%ids: tensor<16x2xi32>) {
  // expected-error @+1 {{'samoyeds.dispatch' op token list has 16 entries but there are 32 routed slots}}
  %t, %o, %p = samoyeds.dispatch %ids experts(8)
      : (tensor<16x2xi32>) -> (tensor<16xi32>, tensor<9xi32>, tensor<16x2xi32>)
  return
}

// -----

func.func @dispatch_offsets(%ids: tensor<?x2xi32>) {
  // expected-error @+1 {{'samoyeds.dispatch' op offsets have 8 entries, expected experts + 1 = 9}}
  %t, %o, %p = samoyeds.dispatch %ids experts(8)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<8xi32>, tensor<?x2xi32>)
  return
}

// -----

func.func @dispatch_positions_shape(%ids: tensor<16x2xi32>) {
  // expected-error @+1 {{'samoyeds.dispatch' op positions type 'tensor<16x4xi32>' must equal the expert ids' type 'tensor<16x2xi32>'}}
  %t, %o, %p = samoyeds.dispatch %ids experts(8)
      : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<16x4xi32>)
  return
}

// -----

// Positions must match the ids exactly, dynamic dimensions included.
func.func @dispatch_positions_dynamic(%ids: tensor<16x2xi32>) {
  // expected-error @+1 {{'samoyeds.dispatch' op positions type 'tensor<?x2xi32>' must equal the expert ids' type 'tensor<16x2xi32>'}}
  %t, %o, %p = samoyeds.dispatch %ids experts(8)
      : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<?x2xi32>)
  return
}

// -----

// ODS: the offsets are a 1-D tensor.
func.func @dispatch_offsets_rank(%ids: tensor<?x2xi32>) {
  // expected-error @+1 {{'samoyeds.dispatch' op result #1 must be 1D tensor of 32-bit signless integer values, but got 'tensor<9x1xi32>'}}
  %t, %o, %p = samoyeds.dispatch %ids experts(8)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<9x1xi32>, tensor<?x2xi32>)
  return
}

// -----

// ODS: the expert ids are i32.
func.func @dispatch_ids_i64(%ids: tensor<?x2xi64>) {
  // expected-error @+1 {{'samoyeds.dispatch' op operand #0 must be 2D tensor of 32-bit signless integer values, but got 'tensor<?x2xi64>'}}
  %t, %o, %p = samoyeds.dispatch %ids experts(8)
      : (tensor<?x2xi64>) -> (tensor<?xi32>, tensor<9xi32>, tensor<?x2xi64>)
  return
}

//===----------------------------------------------------------------------===//
// ssmm
//===----------------------------------------------------------------------===//

// -----

func.func @ssmm_no_encoding(%w: tensor<4x64x128xbf16>, %x: tensor<?x128xbf16>,
                            %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op expects weight to carry a #samoyeds.ss encoding, got 'tensor<4x64x128xbf16>'}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x64x128xbf16>, tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @ssmm_weight_cols(
    %w: tensor<4x64x96xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
    %x: tensor<?x96xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op weight: weight has 96 columns, not a multiple of the span v = 64}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x64x96xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
         tensor<?x96xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @ssmm_weight_empty(
    %w: tensor<1x0x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x256xbf16>, %offsets: tensor<2xi32>) -> tensor<?x0xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op weight: weight has 0 rows and 256 columns; it needs at least one of each}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<1x0x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x256xbf16>, tensor<2xi32>) -> tensor<?x0xbf16>
  return %y : tensor<?x0xbf16>
}

// -----

func.func @ssmm_weight_no_experts(
    %w: tensor<0x128x256xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
    %x: tensor<?x256xbf16>, %offsets: tensor<1xi32>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op weight: weight has no experts}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<0x128x256xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
         tensor<?x256xbf16>, tensor<1xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @ssmm_weight_no_columns(
    %w: tensor<1x128x0xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
    %x: tensor<?x0xbf16>, %offsets: tensor<2xi32>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op weight: weight has 128 rows and 0 columns; it needs at least one of each}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<1x128x0xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
         tensor<?x0xbf16>, tensor<2xi32>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @ssmm_weight_rows(
    %w: tensor<4x100x128xbf16, #samoyeds.ss<n = 1, m = 8, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x100xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op weight: weight has 100 rows, not a multiple of the group size m = 8}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x100x128xbf16, #samoyeds.ss<n = 1, m = 8, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x100xbf16>
  return %y : tensor<?x100xbf16>
}

// -----

func.func @ssmm_weight_kept_rows(
    %w: tensor<4x8x128xbf16, #samoyeds.ss<n = 4, m = 4, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x8xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op weight: weight keeps 8 of its 8 rows, not a multiple of the 16-row mma.sp tile}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x8x128xbf16, #samoyeds.ss<n = 4, m = 4, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x8xbf16>
  return %y : tensor<?x8xbf16>
}

// -----

func.func @ssmm_input_element_type(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op input and result must have the weight's element type 'bf16', got 'f16' and 'bf16'}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @ssmm_result_element_type(
    %w: tensor<4x64x128xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op input and result must have the weight's element type 'f16', got 'f16' and 'bf16'}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x64x128xf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @ssmm_input_cols(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x256xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op input has 256 columns but the weight has 128}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x256xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @ssmm_offsets(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<4xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op offsets have 4 entries, expected experts + 1 = 5}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<4xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @ssmm_combine_without_weighted_combine(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>,
    %rw: tensor<?x2xf32>, %pos: tensor<?x2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op combine(weights, positions) operands go with the weighted_combine epilogue and only with it}}
  %y = samoyeds.ssmm %w, %x, %offsets combine(%rw, %pos) epilogue <none>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>, tensor<?x2xf32>, tensor<?x2xi32>)
      -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @ssmm_weighted_combine_without_combine(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op combine(weights, positions) operands go with the weighted_combine epilogue and only with it}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <weighted_combine>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Generic form: routing weights without positions (used to crash the
// verifier).
func.func @ssmm_routing_weights_only(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>,
    %rw: tensor<?x2xf32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op combine needs both routing weights and positions, got only the routing weights}}
  %y = "samoyeds.ssmm"(%w, %x, %offsets, %rw)
      <{epilogue = #samoyeds.epilogue<weighted_combine>,
        operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0>}>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>, tensor<?x2xf32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// Generic form: positions without routing weights (used to be accepted and
// then dropped by the custom printer).
func.func @ssmm_positions_only(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>,
    %pos: tensor<?x2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op combine needs both routing weights and positions, got only the positions}}
  %y = "samoyeds.ssmm"(%w, %x, %offsets, %pos)
      <{epilogue = #samoyeds.epilogue<none>,
        operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 0>}>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>, tensor<?x2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @ssmm_gather_with_weighted_combine(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>, %tokens: tensor<?xi32>,
    %rw: tensor<?x2xf32>, %pos: tensor<?x2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op weighted_combine reads its input in dispatch order; it takes no gather list}}
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) combine(%rw, %pos)
      epilogue <weighted_combine>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>, tensor<?xi32>, tensor<?x2xf32>,
         tensor<?x2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// 64 rows keep 16 (one tile), but each 32-row half keeps only 8.
func.func @ssmm_silu_mul_gate_half(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 4, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x32xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op silu_mul gate half: weight keeps 8 of its 32 rows, not a multiple of the 16-row mma.sp tile}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <silu_mul>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 4, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// 48 rows in groups of 16 keep 48; each 24-row half is not a whole group.
func.func @ssmm_silu_mul_gate_half_group(
    %w: tensor<4x48x128xbf16, #samoyeds.ss<n = 16, m = 16, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x24xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op silu_mul gate half: weight has 24 rows, not a multiple of the group size m = 16}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <silu_mul>
      : (tensor<4x48x128xbf16, #samoyeds.ss<n = 16, m = 16, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x24xbf16>
  return %y : tensor<?x24xbf16>
}

// -----

func.func @ssmm_combine_shapes(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>,
    %rw: tensor<?x2xf32>, %pos: tensor<?x4xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op routing weights 'tensor<?x2xf32>' and positions 'tensor<?x4xi32>' must have the same shape}}
  %y = samoyeds.ssmm %w, %x, %offsets combine(%rw, %pos) epilogue <weighted_combine>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>, tensor<?x2xf32>, tensor<?x4xi32>)
      -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @ssmm_none_result_rows(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<10x128xbf16>, %offsets: tensor<5xi32>, %tokens: tensor<20xi32>)
    -> tensor<10x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op result must be [20, 64] for the none epilogue, got 'tensor<10x64xbf16>'}}
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <none>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<10x128xbf16>, tensor<5xi32>, tensor<20xi32>) -> tensor<10x64xbf16>
  return %y : tensor<10x64xbf16>
}

// -----

func.func @ssmm_none_result_cols(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x32xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op result must be [?, 64] for the none epilogue, got 'tensor<?x32xbf16>'}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

func.func @ssmm_silu_mul_result(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>, %tokens: tensor<?xi32>)
    -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op result must be [?, 32] for the silu_mul epilogue, got 'tensor<?x64xbf16>'}}
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <silu_mul>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @ssmm_weighted_combine_result(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<32x128xbf16>, %offsets: tensor<5xi32>,
    %rw: tensor<16x2xf32>, %pos: tensor<16x2xi32>) -> tensor<32x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op result must be [16, 64] for the weighted_combine epilogue, got 'tensor<32x64xbf16>'}}
  %y = samoyeds.ssmm %w, %x, %offsets combine(%rw, %pos) epilogue <weighted_combine>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<32x128xbf16>, tensor<5xi32>, tensor<16x2xf32>, tensor<16x2xi32>)
      -> tensor<32x64xbf16>
  return %y : tensor<32x64xbf16>
}

// -----

// ODS: f32 weights are not supported.
func.func @ssmm_weight_f32(
    %w: tensor<4x64x128xf32, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op operand #0 must be 3D tensor of bfloat16 type or 16-bit float values, but got 'tensor<4x64x128xf32, #samoyeds.ss<n = 1, m = 2, v = 128>>'}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x64x128xf32, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// ODS: the token list is 1-D.
func.func @ssmm_tokens_rank(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>, %tokens: tensor<?x2xi32>)
    -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op operand #3 must be 1D tensor of 32-bit signless integer values, but got 'tensor<?x2xi32>'}}
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <none>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>, tensor<?x2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// ODS: the routing weights are f32 (operand #3: the absent gather list
// takes no slot).
func.func @ssmm_routing_weights_bf16(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>,
    %rw: tensor<?x2xbf16>, %pos: tensor<?x2xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op operand #3 must be 2D tensor of 32-bit float values, but got 'tensor<?x2xbf16>'}}
  %y = samoyeds.ssmm %w, %x, %offsets combine(%rw, %pos) epilogue <weighted_combine>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>, tensor<?x2xbf16>, tensor<?x2xi32>)
      -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// ODS: the result is 2-D.
func.func @ssmm_result_rank(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op result #0 must be 2D tensor of bfloat16 type or 16-bit float values, but got 'tensor<?xbf16>'}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?xbf16>
  return %y : tensor<?xbf16>
}

// -----

// ODS: the tile attribute must be a #samoyeds.tile.
func.func @ssmm_tile_kind(
    %w: tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x128xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op attribute 'tile' failed to satisfy constraint}}
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none> {tile = 4 : i64}
      : (tensor<4x64x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// An odd gate/up row count cannot pass the format rules (kept rows come in
// whole 16-row tiles), so it is reported by the weight shape check.
func.func @moe_ffn_w13_odd_rows(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x33x128xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.moe_ffn' op w13: weight keeps 33 of its 33 rows, not a multiple of the 16-row mma.sp tile}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x33x128xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// expected-error @+1 {{#samoyeds.tile: decode_warps = 8 must be 0, or with decode_tokens > 0 in [1, 16] (strategy mma_sp) or 4, 8, 12 or 16 (wgmma_sp)}}
func.func @tile_decode_warps_no_decode() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, decode_warps = 8, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: decode_warps = 6 must be 0, or with decode_tokens > 0 in [1, 16] (strategy mma_sp) or 4, 8, 12 or 16 (wgmma_sp)}}
func.func @tile_decode_warps_partial() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, decode_tokens = 8, decode_slots = 4, decode_warps = 6, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: decode_warps = 17 must be 0, or with decode_tokens > 0 in [1, 16] (strategy mma_sp) or 4, 8, 12 or 16 (wgmma_sp)}}
func.func @tile_decode_warps_mma_sp() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, decode_tokens = 8, decode_slots = 4, decode_warps = 17>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: decode_warps × token_warps = 64 is more than the 32 warps of a block}}
func.func @tile_decode_warps_mma_sp_block() attributes {t = #samoyeds.tile<warps = 2, tokens = 64, k = 64, stages = 2, token_warps = 4, decode_tokens = 32, decode_slots = 4, decode_warps = 16>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: decode_stages = 6 must be 0, or with decode_tokens > 0 and strategy mma_sp in [1, 8]}}
func.func @tile_decode_stages_no_decode() attributes {t = #samoyeds.tile<warps = 6, tokens = 32, k = 64, stages = 4, decode_stages = 6>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: decode_stages = 9 must be 0, or with decode_tokens > 0 and strategy mma_sp in [1, 8]}}
func.func @tile_decode_stages_range() attributes {t = #samoyeds.tile<warps = 6, tokens = 32, k = 64, stages = 4, decode_tokens = 8, decode_slots = 4, decode_stages = 9>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: decode_stages = 4 must be 0, or with decode_tokens > 0 and strategy mma_sp in [1, 8]}}
func.func @tile_decode_stages_wgmma() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, decode_tokens = 8, decode_slots = 4, decode_stages = 4, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: split_blocks = 2 must be 1, or 2 with strategy wgmma_sp and a split-K variant that takes the decode tile (split_slots <= decode_slots)}}
func.func @tile_split_blocks_no_decode_split() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 2, split_slots = 16, split_blocks = 2, decode_tokens = 16, decode_slots = 8, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: split_blocks = 3 must be 1, or 2 with strategy wgmma_sp and a split-K variant that takes the decode tile (split_slots <= decode_slots)}}
func.func @tile_split_blocks_three() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 2, split_slots = 4, split_blocks = 3, decode_tokens = 16, decode_slots = 8, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: split_blocks = 2 must be 1, or 2 with strategy wgmma_sp and a split-K variant that takes the decode tile (split_slots <= decode_slots)}}
func.func @tile_split_blocks_mma_sp() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, split_k = 2, split_slots = 4, split_blocks = 2, decode_tokens = 8, decode_slots = 8>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: shared_slots = 9 must be 0, or with strategy wgmma_sp in [1, decode_slots = 8]}}
func.func @tile_shared_slots_above_decode() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, decode_tokens = 16, decode_slots = 8, shared_slots = 9, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: shared_slots = -1 must be 0, or with strategy wgmma_sp in [1, decode_slots = 8]}}
func.func @tile_shared_slots_negative() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, decode_tokens = 16, decode_slots = 8, shared_slots = -1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: shared_slots = 4 must be 0, or with strategy wgmma_sp in [1, decode_slots = 8]}}
func.func @tile_shared_slots_mma_sp() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, decode_tokens = 8, decode_slots = 8, shared_slots = 4>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_warps = 6 must be 0, or a multiple of 4 in [4, 16] with wide_tokens > 0 and strategy wgmma_sp}}
func.func @tile_wide_warps_six() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_warps = 6, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_warps = 8 must be 0, or a multiple of 4 in [4, 16] with wide_tokens > 0 and strategy wgmma_sp}}
func.func @tile_wide_warps_no_wide() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_warps = 8, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_warps = 8 must be 0, or a multiple of 4 in [4, 16] with wide_tokens > 0 and strategy wgmma_sp}}
func.func @tile_wide_warps_mma_sp() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_warps = 8>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_warps = 6 must be 0, or a multiple of 4 in [4, 16] with wide_tokens > 0, persistent > 0, persistent_slots > 0 and strategy wgmma_sp}}
func.func @tile_persistent_warps_six() attributes {t = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, persistent = 1, persistent_slots = 64, wide_tokens = 128, wide_slots = 512, persistent_warps = 6, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_warps = 8 must be 0, or a multiple of 4 in [4, 16] with wide_tokens > 0, persistent > 0, persistent_slots > 0 and strategy wgmma_sp}}
func.func @tile_persistent_warps_no_wide() attributes {t = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, persistent = 1, persistent_slots = 64, persistent_warps = 8, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_warps = 8 must be 0, or a multiple of 4 in [4, 16] with wide_tokens > 0, persistent > 0, persistent_slots > 0 and strategy wgmma_sp}}
func.func @tile_persistent_warps_no_slots() attributes {t = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, persistent = 1, wide_tokens = 128, wide_slots = 512, persistent_warps = 8, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_packed = 2 must be 0, or 1 with wide_tokens > 0 or persistent > 0 and strategy wgmma_sp}}
func.func @tile_wide_packed_two() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_packed = 2, strategy = wgmma_sp>} {
  return
}

// -----

// Neither a wide variant nor a persistent grid of the large calls packs.
// expected-error @+1 {{#samoyeds.tile: wide_packed = 1 must be 0, or 1 with wide_tokens > 0 or persistent > 0 and strategy wgmma_sp}}
func.func @tile_wide_packed_no_wide() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_packed = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_packed = 1 must be 0, or 1 with wide_tokens > 0 or persistent > 0 and strategy wgmma_sp}}
func.func @tile_wide_packed_mma_sp() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_packed = 1>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: token_step = 12 must be 0, or a multiple of 8 in [8, 256] with strategy wgmma_sp and wide_cluster = 1}}
func.func @tile_token_step_quantum() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, token_step = 12, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: token_step = 264 must be 0, or a multiple of 8 in [8, 256] with strategy wgmma_sp and wide_cluster = 1}}
func.func @tile_token_step_range() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, token_step = 264, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: token_step = 16 must be 0, or a multiple of 8 in [8, 256] with strategy wgmma_sp and wide_cluster = 1}}
func.func @tile_token_step_mma_sp() attributes {t = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 4, token_step = 16>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: token_step = 16 must be 0, or a multiple of 8 in [8, 256] with strategy wgmma_sp and wide_cluster = 1}}
func.func @tile_token_step_cluster() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_cluster = 2, token_step = 16, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: evict_first_experts = -1 must be 0, or positive with strategy wgmma_sp}}
func.func @tile_evict_first_negative() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, evict_first_experts = -1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: evict_first_experts = 4 must be 0, or positive with strategy wgmma_sp}}
func.func @tile_evict_first_mma_sp() attributes {t = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 4, evict_first_experts = 4>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: mid_split_slots = 64 needs mid_split_k > 1}}
func.func @tile_mid_slots_without_mid() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, split_k = 4, split_slots = 8, mid_split_slots = 64, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: mid_split_k = 4 must be 1, or in [2, split_k) with strategy wgmma_sp and split_persistent = 0}}
func.func @tile_mid_not_fewer() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, split_k = 4, split_slots = 8, mid_split_k = 4, mid_split_slots = 64, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: mid_split_k = 0 must be 1, or in [2, split_k) with strategy wgmma_sp and split_persistent = 0}}
func.func @tile_mid_zero() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, split_k = 4, split_slots = 8, mid_split_k = 0, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: mid_split_k = 2 must be 1, or in [2, split_k) with strategy wgmma_sp and split_persistent = 0}}
func.func @tile_mid_mma_sp() attributes {t = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2, split_k = 4, split_slots = 8, mid_split_k = 2, mid_split_slots = 64>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: mid_split_k = 2 must be 1, or in [2, split_k) with strategy wgmma_sp and split_persistent = 0}}
func.func @tile_mid_persistent_split() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, split_k = 4, split_slots = 8, split_persistent = 1, mid_split_k = 2, mid_split_slots = 64, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: mid_split_slots = 8 must be in (split_slots = 8, 4096] with mid_split_k = 2}}
func.func @tile_mid_slots_not_above() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, split_k = 4, split_slots = 8, mid_split_k = 2, mid_split_slots = 8, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: mid_split_slots = 4097 must be in (split_slots = 8, 4096] with mid_split_k = 2}}
func.func @tile_mid_slots_too_many() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, split_k = 4, split_slots = 8, mid_split_k = 2, mid_split_slots = 4097, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_tokens = 160 must be 0, or a multiple of 8 x token_warps in (tokens, 256] other than wide_tokens, with wide_tokens > 0, wide_cluster = 1 and strategy wgmma_sp}}
func.func @tile_wide_low_no_wide() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_low_tokens = 160, wide_low_slots = 640, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_tokens = 128 must be 0, or a multiple of 8 x token_warps in (tokens, 256] other than wide_tokens, with wide_tokens > 0, wide_cluster = 1 and strategy wgmma_sp}}
func.func @tile_wide_low_same_width() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_low_tokens = 128, wide_low_slots = 640, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_tokens = 164 must be 0, or a multiple of 8 x token_warps in (tokens, 256] other than wide_tokens, with wide_tokens > 0, wide_cluster = 1 and strategy wgmma_sp}}
func.func @tile_wide_low_quantum() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_low_tokens = 164, wide_low_slots = 640, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_tokens = 160 must be 0, or a multiple of 8 x token_warps in (tokens, 256] other than wide_tokens, with wide_tokens > 0, wide_cluster = 1 and strategy wgmma_sp}}
func.func @tile_wide_low_cluster() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_cluster = 2, wide_low_tokens = 160, wide_low_slots = 640, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_tokens = 160 must be 0, or a multiple of 8 x token_warps in (tokens, 256] other than wide_tokens, with wide_tokens > 0, wide_cluster = 1 and strategy wgmma_sp}}
func.func @tile_wide_low_mma_sp() attributes {t = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 4, wide_tokens = 128, wide_slots = 512, wide_low_tokens = 160, wide_low_slots = 640>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_slots = 640 needs wide_low_tokens > 0}}
func.func @tile_wide_low_slots_alone() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_low_slots = 640, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_slots = 256 must be in [wide_slots = 512, 2^30] with wide_low_tokens > 0}}
func.func @tile_wide_low_slots_below() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_low_tokens = 160, wide_low_slots = 256, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_units = 2 must be 1, or 2 with wide_tokens > 0, row_masks = 0 and strategy wgmma_sp}}
func.func @tile_wide_units_no_wide() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_units = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_units = 3 must be 1, or 2 with wide_tokens > 0, row_masks = 0 and strategy wgmma_sp}}
func.func @tile_wide_units_three() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 80, wide_slots = 512, wide_units = 3, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_units = 2 must be 1, or 2 with wide_tokens > 0, row_masks = 0 and strategy wgmma_sp}}
func.func @tile_wide_units_masked() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, row_masks = 1, wide_tokens = 80, wide_slots = 512, wide_units = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_units = 2 must be 1, or 2 with wide_tokens > 0, row_masks = 0 and strategy wgmma_sp}}
func.func @tile_wide_units_mma_sp() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 80, wide_slots = 512, wide_units = 2>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_units = 2 must be 1, or 2 with persistent = 1, row_masks = 0 and strategy wgmma_sp}}
func.func @tile_persistent_units_no_persistent() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, persistent_units = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_units = 3 must be 1, or 2 with persistent = 1, row_masks = 0 and strategy wgmma_sp}}
func.func @tile_persistent_units_three() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, persistent = 1, persistent_units = 3, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_units = 2 must be 1, or 2 with persistent = 1, row_masks = 0 and strategy wgmma_sp}}
func.func @tile_persistent_units_masked() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, row_masks = 1, persistent = 1, persistent_units = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_units_slots = 320 must be 0, or in (persistent_slots, 1073741824] with persistent_units = 2, warps <= 8 and persistent_warps > 8 (which needs a wide variant)}}
func.func @tile_persistent_units_slots_single() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, persistent_slots = 160, persistent_tokens = 48, wide_tokens = 128, wide_slots = 512, persistent_warps = 16, persistent_units_slots = 320, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_units_slots = 320 must be 0, or in (persistent_slots, 1073741824] with persistent_units = 2, warps <= 8 and persistent_warps > 8 (which needs a wide variant)}}
func.func @tile_persistent_units_slots_no_split() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, wide_tokens = 128, wide_slots = 512, persistent_units = 2, persistent_units_slots = 320, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_units_slots = 320 must be 0, or in (persistent_slots, 1073741824] with persistent_units = 2, warps <= 8 and persistent_warps > 8 (which needs a wide variant)}}
func.func @tile_persistent_units_slots_four_upper() attributes {t = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, persistent = 1, persistent_slots = 160, persistent_tokens = 64, wide_tokens = 128, wide_slots = 512, wide_warps = 8, persistent_warps = 8, persistent_units = 2, persistent_units_slots = 320, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_units_slots = 160 must be 0, or in (persistent_slots, 1073741824] with persistent_units = 2, warps <= 8 and persistent_warps > 8 (which needs a wide variant)}}
func.func @tile_persistent_units_slots_narrow() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, persistent_slots = 160, persistent_tokens = 48, wide_tokens = 128, wide_slots = 512, persistent_warps = 16, persistent_units = 2, persistent_units_slots = 160, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_units_slots = -1 must be 0, or in (persistent_slots, 1073741824] with persistent_units = 2, warps <= 8 and persistent_warps > 8 (which needs a wide variant)}}
func.func @tile_persistent_units_slots_negative() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, persistent_slots = 160, persistent_tokens = 48, wide_tokens = 128, wide_slots = 512, persistent_warps = 16, persistent_units = 2, persistent_units_slots = -1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: persistent_units_slots = 1073741825 must be 0, or in (persistent_slots, 1073741824] with persistent_units = 2, warps <= 8 and persistent_warps > 8 (which needs a wide variant)}}
func.func @tile_persistent_units_slots_huge() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, persistent_slots = 160, persistent_tokens = 48, wide_tokens = 128, wide_slots = 512, persistent_warps = 16, persistent_units = 2, persistent_units_slots = 1073741825, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_persistent = 2 must be 0, or 1 with wide_tokens > 0, wide_low_tokens = 0 or wide_low_calls, wide_cluster = 1, wide_multicast = 1, wide_packed = 0 and strategy wgmma_sp}}
func.func @tile_wide_persistent_two() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 512, wide_persistent = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_persistent = 1 must be 0, or 1 with wide_tokens > 0, wide_low_tokens = 0 or wide_low_calls, wide_cluster = 1, wide_multicast = 1, wide_packed = 0 and strategy wgmma_sp}}
func.func @tile_wide_persistent_no_wide() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_persistent = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_persistent = 1 must be 0, or 1 with wide_tokens > 0, wide_low_tokens = 0 or wide_low_calls, wide_cluster = 1, wide_multicast = 1, wide_packed = 0 and strategy wgmma_sp}}
func.func @tile_wide_persistent_cluster() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_cluster = 2, wide_persistent = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_persistent = 1 must be 0, or 1 with wide_tokens > 0, wide_low_tokens = 0 or wide_low_calls, wide_cluster = 1, wide_multicast = 1, wide_packed = 0 and strategy wgmma_sp}}
func.func @tile_wide_persistent_low() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 80, wide_slots = 512, wide_low_tokens = 128, wide_low_slots = 640, wide_persistent = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_persistent = 1 must be 0, or 1 with wide_tokens > 0, wide_low_tokens = 0 or wide_low_calls, wide_cluster = 1, wide_multicast = 1, wide_packed = 0 and strategy wgmma_sp}}
func.func @tile_wide_persistent_packed() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_packed = 1, wide_persistent = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_persistent = 1 must be 0, or 1 with wide_tokens > 0, wide_low_tokens = 0 or wide_low_calls, wide_cluster = 1, wide_multicast = 1, wide_packed = 0 and strategy wgmma_sp}}
func.func @tile_wide_persistent_multicast() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_multicast = 2, wide_persistent = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_persistent = 1 must be 0, or 1 with wide_tokens > 0, wide_low_tokens = 0 or wide_low_calls, wide_cluster = 1, wide_multicast = 1, wide_packed = 0 and strategy wgmma_sp}}
func.func @tile_wide_persistent_mma_sp() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_persistent = 1, strategy = mma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_warps = 6 must be 0, or 4, 8, 12 or 16 with wide_low_tokens > 0}}
func.func @tile_wide_low_warps_odd() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_low_tokens = 112, wide_low_slots = 512, wide_units = 2, wide_low_warps = 6, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_warps = 16 must be 0, or 4, 8, 12 or 16 with wide_low_tokens > 0}}
func.func @tile_wide_low_warps_no_low() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_units = 2, wide_low_warps = 16, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_calls needs wide_low_tokens > 0, wide_low_slots = 0, wide_packed = 0 and wide_multicast = 1}}
func.func @tile_wide_low_calls_no_low() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_units = 2, wide_low_calls = [300, 400], strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_calls needs wide_low_tokens > 0, wide_low_slots = 0, wide_packed = 0 and wide_multicast = 1}}
func.func @tile_wide_low_calls_slots() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_low_tokens = 112, wide_low_slots = 512, wide_units = 2, wide_low_calls = [300, 400], strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_calls needs wide_low_tokens > 0, wide_low_slots = 0, wide_packed = 0 and wide_multicast = 1}}
func.func @tile_wide_low_calls_packed() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_packed = 1, wide_low_tokens = 112, wide_units = 2, wide_low_calls = [300, 400], strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_calls has 3 bounds; it needs pairs of bounds, at most 8 ranges}}
func.func @tile_wide_low_calls_odd() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_low_tokens = 112, wide_units = 2, wide_low_calls = [300, 400, 500], strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_calls has 18 bounds; it needs pairs of bounds, at most 8 ranges}}
func.func @tile_wide_low_calls_many() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_low_tokens = 112, wide_units = 2, wide_low_calls = [300, 310, 320, 330, 340, 350, 360, 370, 380, 390, 400, 410, 420, 430, 440, 450, 460, 470], strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_calls range 0 = [200, 400] must start at 256 or later and end at or after its start, at most 2^30}}
func.func @tile_wide_low_calls_early() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_low_tokens = 112, wide_units = 2, wide_low_calls = [200, 400], strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_calls range 0 = [300, 299] must start at 256 or later and end at or after its start, at most 2^30}}
func.func @tile_wide_low_calls_reversed() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_low_tokens = 112, wide_units = 2, wide_low_calls = [300, 299], strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_calls range 1 = [401, 500] must start at 402 or later and end at or after its start, at most 2^30}}
func.func @tile_wide_low_calls_adjacent() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_low_tokens = 112, wide_units = 2, wide_low_calls = [300, 400, 401, 500], strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_calls range 0 = [300, 1073741825] must start at 256 or later and end at or after its start, at most 2^30}}
func.func @tile_wide_low_calls_huge() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_low_tokens = 112, wide_units = 2, wide_low_calls = [300, 1073741825], strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_low_calls needs wide_low_tokens > 0, wide_low_slots = 0, wide_packed = 0 and wide_multicast = 1}}
func.func @tile_wide_low_calls_multicast() attributes {t = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, wide_tokens = 144, wide_slots = 256, wide_warps = 8, wide_low_tokens = 112, wide_units = 2, wide_multicast = 2, wide_low_calls = [300, 400], strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_row_masks = 2 must be 0, or 1 with wide_tokens > 0, row_masks = 0, wide_units = 1, wide_cluster = 1, wide_multicast = 1, wide_packed = 0, wide_persistent = 0 and strategy wgmma_sp}}
func.func @tile_wide_row_masks_two() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 1024, wide_row_masks = 2, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_row_masks = 1 must be 0, or 1 with wide_tokens > 0, row_masks = 0, wide_units = 1, wide_cluster = 1, wide_multicast = 1, wide_packed = 0, wide_persistent = 0 and strategy wgmma_sp}}
func.func @tile_wide_row_masks_no_wide() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_row_masks = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_row_masks = 1 must be 0, or 1 with wide_tokens > 0, row_masks = 0, wide_units = 1, wide_cluster = 1, wide_multicast = 1, wide_packed = 0, wide_persistent = 0 and strategy wgmma_sp}}
func.func @tile_wide_row_masks_row_masks() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, row_masks = 1, wide_tokens = 128, wide_slots = 1024, wide_row_masks = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_row_masks = 1 must be 0, or 1 with wide_tokens > 0, row_masks = 0, wide_units = 1, wide_cluster = 1, wide_multicast = 1, wide_packed = 0, wide_persistent = 0 and strategy wgmma_sp}}
func.func @tile_wide_row_masks_pairs() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 80, wide_slots = 1024, wide_units = 2, wide_row_masks = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_row_masks = 1 must be 0, or 1 with wide_tokens > 0, row_masks = 0, wide_units = 1, wide_cluster = 1, wide_multicast = 1, wide_packed = 0, wide_persistent = 0 and strategy wgmma_sp}}
func.func @tile_wide_row_masks_cluster() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 1024, wide_cluster = 2, wide_row_masks = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_row_masks = 1 must be 0, or 1 with wide_tokens > 0, row_masks = 0, wide_units = 1, wide_cluster = 1, wide_multicast = 1, wide_packed = 0, wide_persistent = 0 and strategy wgmma_sp}}
func.func @tile_wide_row_masks_multicast() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 1024, wide_multicast = 2, wide_row_masks = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_row_masks = 1 must be 0, or 1 with wide_tokens > 0, row_masks = 0, wide_units = 1, wide_cluster = 1, wide_multicast = 1, wide_packed = 0, wide_persistent = 0 and strategy wgmma_sp}}
func.func @tile_wide_row_masks_packed() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 1024, wide_packed = 1, wide_row_masks = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_row_masks = 1 must be 0, or 1 with wide_tokens > 0, row_masks = 0, wide_units = 1, wide_cluster = 1, wide_multicast = 1, wide_packed = 0, wide_persistent = 0 and strategy wgmma_sp}}
func.func @tile_wide_row_masks_persistent() attributes {t = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 1024, wide_persistent = 1, wide_row_masks = 1, strategy = wgmma_sp>} {
  return
}

// -----

// expected-error @+1 {{#samoyeds.tile: wide_row_masks = 1 must be 0, or 1 with wide_tokens > 0, row_masks = 0, wide_units = 1, wide_cluster = 1, wide_multicast = 1, wide_packed = 0, wide_persistent = 0 and strategy wgmma_sp}}
func.func @tile_wide_row_masks_mma_sp() attributes {t = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 4, wide_row_masks = 1>} {
  return
}
