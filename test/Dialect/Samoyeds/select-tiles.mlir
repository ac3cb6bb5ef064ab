// RUN: samoyeds-opt %s --samoyeds-select-tiles=strategy=mma_sp | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_80 | FileCheck %s --check-prefix=SM80
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90 tokens=64" | FileCheck %s --check-prefix=TOKENS
// RUN: samoyeds-opt %s --samoyeds-select-tiles=strategy=mma_sp | samoyeds-opt --samoyeds-select-tiles=tokens=128 | FileCheck %s
// RUN: not samoyeds-opt %s --samoyeds-select-tiles=chip=sm_70 2>&1 | FileCheck %s --check-prefix=CHIP --implicit-check-not="see current operation"
// RUN: not samoyeds-opt %s --samoyeds-select-tiles=chip= 2>&1 | FileCheck %s --check-prefix=EMPTY-CHIP
// RUN: not samoyeds-opt %s --samoyeds-select-tiles=tokens=12 2>&1 | FileCheck %s --check-prefix=BAD-TOKENS
// RUN: not samoyeds-opt %s --samoyeds-select-tiles=tokens=-8 2>&1 | FileCheck %s --check-prefix=NEG-TOKENS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="split-k=1 strategy=mma_sp" | FileCheck %s --check-prefix=NOSPLIT
// RUN: samoyeds-opt %s --samoyeds-select-tiles="split-k=2 strategy=mma_sp" | FileCheck %s --check-prefix=SPLIT2
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="split-k=17 strategy=mma_sp" 2>&1 | FileCheck %s --check-prefix=BAD-SPLIT
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-tiles=1 strategy=mma_sp" | FileCheck %s --check-prefix=ROWS1
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-tiles=2 strategy=mma_sp" | FileCheck %s --check-prefix=ROWS2
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="row-tiles=5 strategy=mma_sp" 2>&1 | FileCheck %s --check-prefix=BAD-ROWS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-masks=0 strategy=mma_sp" | FileCheck %s --check-prefix=MASKS0
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="row-masks=2 strategy=mma_sp" 2>&1 | FileCheck %s --check-prefix=BAD-MASKS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=0 strategy=mma_sp" | FileCheck %s --check-prefix=PERSIST0
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=4 strategy=mma_sp" | FileCheck %s --check-prefix=PERSIST4
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="persistent=33 strategy=mma_sp" 2>&1 | FileCheck %s --check-prefix=BAD-PERSIST
// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s --check-prefix=AUTO
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90" | FileCheck %s --check-prefix=NO-WGMMA
// RUN: samoyeds-opt %s --samoyeds-select-tiles="strategy=wgmma_sp tokens=128" | FileCheck %s --check-prefix=FORCED
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=0" | FileCheck %s --check-prefix=WG-PERSIST0
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=3" | FileCheck %s --check-prefix=WG-PERSIST3
// RUN: samoyeds-opt %s --samoyeds-select-tiles="decode-tokens=0 strategy=mma_sp" | FileCheck %s --check-prefix=DECODE0
// RUN: samoyeds-opt %s --samoyeds-select-tiles="decode-tokens=12 strategy=mma_sp" | FileCheck %s --check-prefix=DECODE12
// RUN: samoyeds-opt %s --samoyeds-select-tiles="decode-tokens=16" | FileCheck %s --check-prefix=WG-DECODE
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="decode-tokens=257" 2>&1 | FileCheck %s --check-prefix=BAD-DECODE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="group-tiles=1 strategy=mma_sp" | FileCheck %s --check-prefix=GROUP1
// RUN: samoyeds-opt %s --samoyeds-select-tiles="group-tiles=4 strategy=mma_sp" | FileCheck %s --check-prefix=GROUP4
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="group-tiles=65" 2>&1 | FileCheck %s --check-prefix=BAD-GROUP
// RUN: samoyeds-opt %s --samoyeds-select-tiles="warpgroups=2 wide-tokens=121 wide-slots=512" | FileCheck %s --check-prefix=WIDE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-tokens=121 wide-units=1" | FileCheck %s --check-prefix=WIDE-NOFIT
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-tokens=0" | FileCheck %s --check-prefix=WIDE0
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-tokens=128 persistent=1" | FileCheck %s --check-prefix=WIDE-PERSIST
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-tokens=264" 2>&1 | FileCheck %s --check-prefix=BAD-WIDE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=1 persistent-tokens=144" | FileCheck %s --check-prefix=PERSIST-TOKENS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=1 persistent-units=2 persistent-tokens=256" | FileCheck %s --check-prefix=PERSIST-TOKENS-PAIRS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=1 persistent-tokens=256" | FileCheck %s --check-prefix=PERSIST-TOKENS-NOFIT
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="persistent-tokens=12" 2>&1 | FileCheck %s --check-prefix=BAD-PERSIST-TOKENS12
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="persistent-tokens=0" 2>&1 | FileCheck %s --check-prefix=BAD-PERSIST-TOKENS0
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="persistent-tokens=264" 2>&1 | FileCheck %s --check-prefix=BAD-PERSIST-TOKENS264
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-slots=0" 2>&1 | FileCheck %s --check-prefix=BAD-WIDE-SLOTS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-cluster=2" | FileCheck %s --check-prefix=CLUSTER
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-cluster=3" 2>&1 | FileCheck %s --check-prefix=BAD-CLUSTER
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-multicast=2" | FileCheck %s --check-prefix=MULTICAST
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-multicast=2 wide-cluster=2" | FileCheck %s --check-prefix=MULTICAST-CLUSTER
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-multicast=3" 2>&1 | FileCheck %s --check-prefix=BAD-MULTICAST
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-multicast=2 wide-multicast-slots=0" | FileCheck %s --check-prefix=MULTICAST-ALL
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-multicast=2 wide-multicast-slots=600" | FileCheck %s --check-prefix=MULTICAST-600
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-multicast=2 wide-multicast-slots=-2" 2>&1 | FileCheck %s --check-prefix=BAD-MULTICAST-SLOTS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-packed=0" | FileCheck %s --check-prefix=PACK0
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-packed=2" | FileCheck %s --check-prefix=PACK2
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-packed=3" 2>&1 | FileCheck %s --check-prefix=BAD-PACK
// RUN: samoyeds-opt %s --samoyeds-select-tiles="token-step=0" | FileCheck %s --check-prefix=STEP0
// RUN: samoyeds-opt %s --samoyeds-select-tiles="token-step=16" | FileCheck %s --check-prefix=STEP16
// RUN: samoyeds-opt %s --samoyeds-select-tiles="token-step=16 wide-cluster=2" | FileCheck %s --check-prefix=STEP-CLUSTER
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="token-step=12" 2>&1 | FileCheck %s --check-prefix=BAD-STEP
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="token-step=264" 2>&1 | FileCheck %s --check-prefix=BAD-STEP-RANGE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="warpgroups=4" | FileCheck %s --check-prefix=WG4
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="warpgroups=5" 2>&1 | FileCheck %s --check-prefix=BAD-WG
// RUN: samoyeds-opt %s --samoyeds-select-tiles="decode-warpgroups=2" | FileCheck %s --check-prefix=DECWG
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="decode-warpgroups=5" 2>&1 | FileCheck %s --check-prefix=BAD-DECWG
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-masks=1" | FileCheck %s --check-prefix=WG-MASK
// RUN: samoyeds-opt %s --samoyeds-select-tiles="decode-slots=12" | FileCheck %s --check-prefix=DECODE-SLOTS
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="decode-slots=5000" 2>&1 | FileCheck %s --check-prefix=BAD-DECODE-SLOTS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="decode-blocks=1" | FileCheck %s --check-prefix=DECODE-BLOCKS1
// RUN: samoyeds-opt %s --samoyeds-select-tiles="decode-blocks=2" | FileCheck %s --check-prefix=DECODE-BLOCKS2
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="decode-blocks=3" 2>&1 | FileCheck %s --check-prefix=BAD-DECODE-BLOCKS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="split-persistent=1" | FileCheck %s --check-prefix=SPLIT-PERSIST
// RUN: samoyeds-opt %s --samoyeds-select-tiles="split-persistent=1 strategy=mma_sp" | FileCheck %s --check-prefix=SPLIT-PERSIST-MMA
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="split-persistent=2" 2>&1 | FileCheck %s --check-prefix=BAD-SPLIT-PERSIST
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-masks=1 persistent=1" | FileCheck %s --check-prefix=WG-MASK-PERSIST
// RUN: samoyeds-opt %s --samoyeds-select-tiles="row-masks=1 persistent=1 strategy=mma_sp" | FileCheck %s --check-prefix=MMA-MASK-PERSIST
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="chip=sm_80 strategy=wgmma_sp" 2>&1 | FileCheck %s --check-prefix=WGMMA-CHIP
// RUN: not samoyeds-opt %s --samoyeds-select-tiles=strategy=hmma 2>&1 | FileCheck %s --check-prefix=BAD-STRATEGY
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="strategy=wgmma_sp tokens=264" 2>&1 | FileCheck %s --check-prefix=BAD-WGMMA-TOKENS

// On sm_90a the warpgroup strategy takes every shape it fits: two
// consumer warpgroups, 128-column stages, 64 tokens (1:2 row selection:
// the kept rows' MMAs with their span sums routed, two accumulator sets of
// 32, and a 128-token wide variant from 128 routed slots per expert, 64 on
// 2-8 experts), six stages (one block per SM), no persistent
// grid unless asked for: persistent=k > 0 gives one block per SM for every
// unsplit call, with 128-token tiles from 96 routed slots per expert where
// one accumulator set allows them (plain 2:4: silu_plain24's 8 experts, 768
// slots; row selection keeps 64 tokens). K under 128 columns
// (k32, k32_span) keeps mma_sp. sm_90 has no sparse wgmma. An MoE layer of
// 2-8 experts with 1:2 routed row selection (mixtral_layer) takes four
// consumer warpgroups (256 kept rows by 56 tokens, an ordinary grid) from 64
// routed slots per expert (512) up to its wide variant, which on 2-8
// experts also starts at 64 slots per expert (wide_slots = 512: no call
// takes the ordinary grid unless wide-slots moves the wide variant up);
// below, its persistent grid keeps two warpgroups and 64 tokens
// (persistent_warps, persistent_tokens), as do the decode and wide variants
// (decode_warps, wide_warps). Its gate/up's wide variant pairs 64-row
// units (wide_units = 2, 80 tokens: select-tiles-wide-units.mlir); the
// down projection's paired grid would not fill a wave. A lone expert
// (default_none) keeps two throughout.
// Every wide tile gathers its rows (no wide_packed by default since
// session 51).
// AUTO-LABEL: func.func @default_none
// AUTO: {tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 4, split_slots = 64, persistent = 1, decode_tokens = 16, decode_slots = 8, wide_tokens = 80, wide_slots = 129, group_tiles = 16, token_step = 32, evict_first_experts = 1, wide_low_tokens = 128, wide_units = 2, wide_low_calls = [129, 256, 321, 512, 721, 896, 1121, 1152, 2641, 2688], strategy = wgmma_sp>}
// AUTO-LABEL: func.func @mixtral_layer
// AUTO: epilogue <silu_mul> {tile = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, split_k = 2, split_slots = 1, persistent = 1, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 16, decode_slots = 64, decode_warps = 8, split_blocks = 2, shared_slots = 2, wide_tokens = 80, wide_slots = 512, group_tiles = 16, wide_warps = 8, persistent_warps = 8, token_step = 32, evict_first_experts = 3, wide_units = 2, strategy = wgmma_sp>}
// AUTO: epilogue <weighted_combine> {tile = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, split_k = 8, split_slots = 2, persistent = 1, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 16, decode_slots = 64, decode_warps = 8, split_blocks = 2, wide_tokens = 80, wide_slots = 512, group_tiles = 16, wide_warps = 8, persistent_warps = 8, token_step = 32, evict_first_experts = 7, wide_low_tokens = 128, wide_units = 2, wide_low_calls = [512, 944, 1193, 1936, 2433, 2936, 3681, 3936, 8721, 8968], strategy = wgmma_sp>}
// AUTO-LABEL: func.func @k32
// AUTO: {tile = #samoyeds.tile<warps = 2, tokens = 64, k = 32, stages = 6, token_warps = 2, row_tiles = 2, decode_tokens = 16, decode_slots = 24>}
// AUTO-LABEL: func.func @k32_span
// AUTO: {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 32, stages = 6, row_masks = 1, decode_tokens = 8, decode_slots = 24>}
// Row selection with a K loop of one 128-column k tile: a wgmma_sp decode
// tile and a wide one.
// AUTO-LABEL: func.func @k64_small_span
// AUTO: {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 128, stages = 6, persistent = 1, decode_tokens = 16, decode_slots = 16, wide_tokens = 128, wide_slots = 128, token_step = 32, evict_first_experts = 2, strategy = wgmma_sp>}
// m = 3 (which masked rows cannot take: m does not divide 16) routes like
// m = 2, with three accumulator sets (a 104-token wide tile) and, with a K
// loop of two k tiles, a decode tile: the routing defines no accumulator
// inside a pipeline stage for ptxas to serialise.
// AUTO-LABEL: func.func @m3_routing
// AUTO: {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 128, stages = 6, persistent = 1, decode_tokens = 16, decode_slots = 8, wide_tokens = 104, wide_slots = 8449, token_step = 32, evict_first_experts = 1, strategy = wgmma_sp>}
// Row selection of many experts: wgmma_sp, routed (row-masks=1: masked
// group rows).
// AUTO-LABEL: func.func @experts64
// AUTO: {tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, decode_tokens = 16, decode_slots = 512, wide_tokens = 128, wide_slots = 8192, token_step = 32, evict_first_experts = 64, wide_low_tokens = 160, wide_low_slots = 10240, strategy = wgmma_sp>}
// AUTO-LABEL: func.func @keep_tile
// AUTO: {tile = #samoyeds.tile<warps = 2, tokens = 16, k = 128, stages = 3>}
// Plain 2:4 (silu_plain24): four consumer warpgroups (256 kept rows a
// block; 16 warps, four stages fit), so fewer row blocks and split_k = 2 at
// decode, and from 64 routed slots per expert (plain 2:4 on up to 64
// experts: silu_plain24_small's 64 too; row selection on up to 8) the wide
// variant on two consumer warpgroups of unit pairs (wide_warps = 8,
// wide_units = 2) with 144 tokens.
// AUTO-LABEL: func.func @silu_plain24
// AUTO: {tile = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, split_k = 2, split_slots = 1, decode_tokens = 8, decode_slots = 32, wide_tokens = 144, wide_slots = 512, group_tiles = 16, wide_warps = 8, evict_first_experts = 1, wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>}
// NO-WGMMA-NOT: wgmma_sp
// FORCED-LABEL: func.func @default_none
// FORCED: {tile = #samoyeds.tile<warps = 8, tokens = 128, k = 128, stages = 4, split_k = 4, split_slots = 128, decode_tokens = 16, decode_slots = 8, group_tiles = 16, token_step = 32, evict_first_experts = 1, strategy = wgmma_sp>}
// WG-PERSIST0-LABEL: func.func @silu_plain24
// WG-PERSIST0: {tile = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, split_k = 2, split_slots = 1, decode_tokens = 8, decode_slots = 32, wide_tokens = 144, wide_slots = 512, group_tiles = 16, wide_warps = 8, evict_first_experts = 1, wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>}
// With the persistent grid serving every unsplit call, Mixtral's gate/up
// (112 row blocks of single units) gathers its rows as every tile does by
// default.
// WG-PERSIST3-LABEL: func.func @mixtral_layer
// WG-PERSIST3: epilogue <silu_mul> {tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 2, split_slots = 1, persistent = 1, persistent_slots = 768, persistent_tokens = 128, decode_tokens = 16, decode_slots = 64, split_blocks = 2, shared_slots = 2, group_tiles = 16, token_step = 32, evict_first_experts = 3, strategy = wgmma_sp>}
// WG-PERSIST3-LABEL: func.func @silu_plain24
// A persistent grid keeps two warpgroups (its 128-token tiles), no wide
// variant.
// WG-PERSIST3: {tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, persistent_slots = 768, persistent_tokens = 128, decode_tokens = 8, decode_slots = 32, shared_slots = 1, group_tiles = 16, evict_first_experts = 1, strategy = wgmma_sp>}
// WGMMA-CHIP: error: samoyeds-select-tiles: strategy wgmma_sp needs sm_90a, not sm_80
// BAD-STRATEGY: error: samoyeds-select-tiles: unknown strategy 'hmma' (expected auto, mma_sp or wgmma_sp)
// BAD-WGMMA-TOKENS: error: #samoyeds.tile: tokens = 264 must be a multiple of 8 in [8, 256]

// CHIP: error: samoyeds-select-tiles: unsupported chip 'sm_70' (expected sm_80, sm_90 or sm_90a)
// EMPTY-CHIP: error: samoyeds-select-tiles: unsupported chip '' (expected sm_80, sm_90 or sm_90a)
// BAD-TOKENS: error: #samoyeds.tile: tokens = 12 must be a multiple of 8 in [8, 128]
// NEG-TOKENS: error: #samoyeds.tile: tokens = -8 must be a multiple of 8 in [8, 128]
// BAD-SPLIT: error: samoyeds-select-tiles: split-k = 17 must be in [0, 16]
// BAD-ROWS: error: samoyeds-select-tiles: row-tiles = 5 must be in [0, 4]
// BAD-MASKS: error: samoyeds-select-tiles: row-masks = 2 must be -1, 0 or 1
// BAD-PERSIST: error: samoyeds-select-tiles: persistent = 33 must be in [-1, 32]

// The table: 64 tokens per block (32 for silu_mul with row selection, whose
// gate, up and span accumulators would not fit at 64) or the `tokens` option;
// one token warp;
// k = 64 when the columns are a multiple of 64 and the span divides or is
// divided by 64, else 32; up to 6 stages within the chip's shared-memory
// budget for three blocks per SM (75 KB on sm_90, 54 KB on sm_80).
//
// Split-K (target: two working blocks per SM, 264 on sm_90 and 216 on
// sm_80): split_k is the power of two (at most 8, slices of >= 512 columns of
// whole k tiles and spans) that gives one slot's row blocks the target;
// split_slots the slots below which the unsplit grid misses it (one tile per
// slot up to E experts, or ceil(P / tokens) tiles for one expert), with the
// partial sums' traffic (8 bytes per slot, row, slice) within twice the
// weight values of the experts reached and the workspace within 32 MiB. The
// split-k option forces split_k (1: none).
//
// Row tiles per warp: plain 2:4 runs its 4 row tiles as 2 row warps of 2
// tiles by 2 token warps (row_tiles = token_warps = 2); row selection keeps
// one tile per warp. The row-tiles option forces it (1: one tile per warp).
//
// Row selection uses masked mma.sp (row_masks = 1); row-masks=0 keeps the
// span-routing scheme.
//
// Persistent grid: with row selection and at least 8 experts, 3 blocks per
// SM (as many as fit the SM's shared memory) from 64 routed slots per expert
// (128 for spans under 64 columns), where the pipeline spans a tile boundary
// (at least stages - 1 k tiles); none for plain 2:4 or fewer experts. persistent=0 turns it off, persistent=k
// forces k blocks per SM for every unsplit call (persistent_slots = 0).
// The persistent gate/up with row selection takes 64-token tiles.

// The default tile: 64 tokens, k = 64 (the span is a multiple of 64), and a
// decode tile of 8 tokens up to 12 slots per expert. One expert of 7168 kept
// rows is 112 row blocks: split_k = 4 (448 blocks) up to 2 token tiles (128
// slots); the split-K variant keeps the 64-token tile, as its slots go past
// decode_slots.
// CHECK-LABEL: func.func @default_none(
// CHECK:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 4, split_slots = 128, decode_tokens = 8, decode_slots = 12, group_tiles = 16>}
// sm_80's smaller budget takes 3 stages (4 would need 13 888 bytes x 4 with
// the row choices, over 54 KB); 216 blocks need split_k = 2, and one token
// tile misses them.
// SM80-LABEL: func.func @default_none(
// SM80:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 3, row_masks = 1, split_k = 2, split_slots = 64, decode_tokens = 8, decode_slots = 12, group_tiles = 16>}
// TOKENS-LABEL: func.func @default_none(
// TOKENS:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 4, split_slots = 128, decode_tokens = 8, decode_slots = 12, group_tiles = 16>}
// ROWS2-LABEL: func.func @default_none(
// ROWS2:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 2, tokens = 64, k = 64, stages = 5, token_warps = 2, row_tiles = 2, row_masks = 1, split_k = 4, split_slots = 128, decode_tokens = 16, decode_slots = 12, group_tiles = 16>}
// MASKS0-LABEL: func.func @default_none(
// MASKS0:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, split_k = 4, split_slots = 128, decode_tokens = 8, decode_slots = 12, group_tiles = 16>}
// decode-tokens=0: no decode tile.
// DECODE0-LABEL: func.func @default_none(
// DECODE0:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 4, split_slots = 128, group_tiles = 16>}
// A forced decode tile is a whole number of 8-token warp slices.
// DECODE12-LABEL: func.func @default_none(
// DECODE12:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 4, split_slots = 128, decode_tokens = 16, decode_slots = 12, group_tiles = 16>}
// wgmma_sp takes a forced count too (its default is 8, AUTO above).
// WG-DECODE-LABEL: func.func @default_none(
// WG-DECODE:         {tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 4, split_slots = 64, persistent = 1, decode_tokens = 16, decode_slots = 8, wide_tokens = 80, wide_slots = 129, group_tiles = 16, token_step = 32, evict_first_experts = 1, wide_low_tokens = 128, wide_units = 2, wide_low_calls = [129, 256, 321, 512, 721, 896, 1121, 1152, 2641, 2688], strategy = wgmma_sp>}
// BAD-DECODE: error: samoyeds-select-tiles: decode-tokens = 257 must be in [-1, 256]
// Block order: an expert of 7168 kept rows by 4096 columns packs into 33 MB,
// more than half the 50 MB L2, so the ordinary grid hands out its blocks in
// groups of 16 token tiles (group_tiles above); the small weights below
// (k32, k32_span) keep the launch order. group-tiles=1 turns it off, and a
// forced group applies to every weight.
// GROUP1-LABEL: func.func @default_none(
// GROUP1:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 4, split_slots = 128, decode_tokens = 8, decode_slots = 12>}
// GROUP4-LABEL: func.func @default_none(
// GROUP4:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 4, split_slots = 128, decode_tokens = 8, decode_slots = 12, group_tiles = 4>}
// GROUP4-LABEL: func.func @k32(
// GROUP4:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 2, tokens = 64, k = 32, stages = 6, token_warps = 2, row_tiles = 2, decode_tokens = 16, decode_slots = 24, group_tiles = 4>}
// BAD-GROUP: error: samoyeds-select-tiles: group-tiles = 65 must be in [0, 64]
// Asked-for wide tiles: wide-tokens (rounded up to a multiple of 8) for the
// unsplit calls from wide-slots routed slots per expert, only where one
// accumulator set of them fits (two warpgroups, plain 2:4: silu_plain24's 8
// experts, 4096 slots) and no persistent grid serves the large calls; the
// row selection tiles stay as they are; plain 2:4 pairs its units. With
// single units (wide-units=1) on the default four warpgroups 128 tokens do
// not fit: no wide variant. wide-tokens=0: none.
// WIDE-LABEL: func.func @default_none(
// WIDE:         {tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 4, split_slots = 64, persistent = 1, decode_tokens = 16, decode_slots = 8, wide_tokens = 128, wide_slots = 512, group_tiles = 16, token_step = 32, evict_first_experts = 1, strategy = wgmma_sp>}
// WIDE-LABEL: func.func @silu_plain24(
// WIDE:         {tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, decode_tokens = 8, decode_slots = 32, shared_slots = 1, wide_tokens = 128, wide_slots = 4096, group_tiles = 16, evict_first_experts = 1, wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>}
// WIDE-PERSIST-NOT: wide_tokens
// WIDE-NOFIT-LABEL: func.func @silu_plain24(
// WIDE-NOFIT: {tile = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, split_k = 2, split_slots = 1, decode_tokens = 8, decode_slots = 32, group_tiles = 16, evict_first_experts = 1, strategy = wgmma_sp>}
// WIDE0-NOT: wide_tokens
// BAD-WIDE: error: samoyeds-select-tiles: wide-tokens = 264 must be in [-1, 256]
// persistent-tokens=t: the persistent grid of the large calls (persistent=1,
// no wide variant) takes t tokens where one accumulator set holds them: 144
// on plain 2:4 (one set) and on Mixtral's 1:2+2:4 gate/up (two sets of 72).
// PERSIST-TOKENS-LABEL: func.func @mixtral_layer
// PERSIST-TOKENS: epilogue <silu_mul> {tile = #samoyeds.tile<{{.*}}, persistent = 1, persistent_slots = 768, persistent_tokens = 144,
// PERSIST-TOKENS-LABEL: func.func @silu_plain24(
// PERSIST-TOKENS: {tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, persistent = 1, persistent_slots = 768, persistent_tokens = 144,
// PERSIST-TOKENS-NOT: wide_tokens
// With unit pairs the tokens asked for are trimmed to what two units' sets
// hold (80 on Mixtral's 1:2+2:4 gate/up); with single units, tokens that do
// not fit one set (256 there: two sets of 128) give no large-call tiles.
// PERSIST-TOKENS-PAIRS-LABEL: func.func @mixtral_layer
// PERSIST-TOKENS-PAIRS: epilogue <silu_mul> {tile = #samoyeds.tile<{{.*}}, persistent = 1, persistent_slots = 768, persistent_tokens = 80, {{.*}}, persistent_units = 2,
// PERSIST-TOKENS-NOFIT-LABEL: func.func @mixtral_layer
// PERSIST-TOKENS-NOFIT: epilogue <silu_mul> {tile = #samoyeds.tile<{{.*}}, persistent = 1, decode_tokens
// BAD-PERSIST-TOKENS12: error: samoyeds-select-tiles: persistent-tokens = 12 must be -1 or a positive multiple of 8
// BAD-PERSIST-TOKENS0: error: samoyeds-select-tiles: persistent-tokens = 0 must be -1 or a positive multiple of 8
// BAD-PERSIST-TOKENS264: error: samoyeds-select-tiles: persistent-tokens = 264 must be in [-1, 256]
// BAD-WIDE-SLOTS: error: samoyeds-select-tiles: wide-slots (or -1) = 0 must be in [1, 1048576]
// wide-cluster=2 pairs the wide variant's blocks where the row blocks of
// each half pair up and the wide tile's halves are whole 8-row groups:
// Mixtral's 112 gate/up and 112 down row blocks, the plain 2:4 tiles' 112
// and 8 (four warpgroups, 112 tokens); not one row block (k64_small_span,
// experts64) nor 104 tokens (m3_routing: 52-row halves).
// CLUSTER-LABEL: func.func @default_none
// CLUSTER: wide_tokens = 128, wide_slots = 129, group_tiles = 16, wide_cluster = 2, evict_first_experts = 1, strategy = wgmma_sp>
// CLUSTER-LABEL: func.func @mixtral_layer
// CLUSTER: epilogue <silu_mul> {tile = {{.*}}wide_tokens = 128, wide_slots = 512, group_tiles = 16, wide_cluster = 2, wide_warps = 8, persistent_warps = 8, evict_first_experts = 3, strategy = wgmma_sp>
// CLUSTER: epilogue <weighted_combine> {tile = {{.*}}wide_tokens = 128, wide_slots = 512, group_tiles = 16, wide_cluster = 2, wide_warps = 8, persistent_warps = 8, evict_first_experts = 7, strategy = wgmma_sp>
// CLUSTER-LABEL: func.func @k64_small_span
// CLUSTER-NOT: wide_cluster
// CLUSTER-LABEL: func.func @silu_plain24(
// CLUSTER: wide_tokens = 112, wide_slots = 512, group_tiles = 16, wide_cluster = 2, evict_first_experts = 1, strategy = wgmma_sp>
// CLUSTER-LABEL: func.func @silu_plain24_small
// CLUSTER: wide_tokens = 112, wide_slots = 4096, wide_cluster = 2, evict_first_experts = 55, strategy = wgmma_sp>
// BAD-CLUSTER: error: samoyeds-select-tiles: wide-cluster = 3 must be in [1, 2]
// wide-multicast=2 pairs the wide variant's blocks on two token tiles of
// one expert wherever its blocks (and its second width's) hold an even
// number of 64-row units: Mixtral's gate/up (two warpgroups of unit pairs)
// and down (two of one unit), the plain 2:4 tiles (four warpgroups) and
// experts64 with its second width (two warpgroups); never with cluster
// pairs (with wide-cluster=2 only experts64, whose one row block does not
// pair, multicasts), and not without a wide variant (k64_small_span).
// MULTICAST-LABEL: func.func @default_none
// MULTICAST: wide_tokens = 128, wide_slots = 129, {{.*}}wide_multicast = 2, wide_multicast_slots = 256, strategy = wgmma_sp>
// MULTICAST-LABEL: func.func @mixtral_layer
// MULTICAST: epilogue <silu_mul> {tile = {{.*}}wide_tokens = 80, {{.*}}wide_units = 2, wide_multicast = 2, wide_multicast_slots = 1280, strategy = wgmma_sp>
// MULTICAST: epilogue <weighted_combine> {tile = {{.*}}wide_tokens = 128, {{.*}}wide_multicast = 2, wide_multicast_slots = 2048, strategy = wgmma_sp>
// MULTICAST-LABEL: func.func @k64_small_span
// MULTICAST-NOT: wide_multicast
// MULTICAST-LABEL: func.func @experts64
// MULTICAST: wide_low_tokens = 160, wide_low_slots = 10240, wide_multicast = 2, wide_multicast_slots = 16384, strategy = wgmma_sp>
// MULTICAST-LABEL: func.func @silu_plain24(
// MULTICAST: wide_tokens = 144, {{.*}}wide_units = 2, wide_multicast = 2, wide_multicast_slots = 2304, strategy = wgmma_sp>
// MULTICAST-CLUSTER-LABEL: func.func @mixtral_layer
// MULTICAST-CLUSTER: epilogue <silu_mul> {tile = {{.*}}wide_cluster = 2, {{.*}}evict_first_experts = 3, strategy = wgmma_sp>
// MULTICAST-CLUSTER: epilogue <weighted_combine> {tile = {{.*}}wide_cluster = 2, {{.*}}evict_first_experts = 7, strategy = wgmma_sp>
// MULTICAST-CLUSTER-LABEL: func.func @experts64
// MULTICAST-CLUSTER: evict_first_experts = 64, wide_multicast = 2, wide_multicast_slots = 16384, strategy = wgmma_sp>
// MULTICAST-CLUSTER-LABEL: func.func @silu_plain24(
// MULTICAST-CLUSTER: wide_cluster = 2, evict_first_experts = 1, strategy = wgmma_sp>
// The multicast kernel's calls: by default from two wide token tiles per
// expert on average (Mixtral's gate/up 2 × 80 × 8 = 1280 routed slots, its
// down projection 2 × 128 × 8, experts64 2 × 128 × 64 above its second
// width), from 0 (every wide call: the parameter omitted) or a given count.
// BAD-MULTICAST: error: samoyeds-select-tiles: wide-multicast = 3 must be in [1, 2]
// MULTICAST-ALL-LABEL: func.func @mixtral_layer
// MULTICAST-ALL: epilogue <silu_mul> {tile = {{.*}}wide_units = 2, wide_multicast = 2, strategy = wgmma_sp>
// MULTICAST-600-LABEL: func.func @mixtral_layer
// MULTICAST-600: epilogue <silu_mul> {tile = {{.*}}wide_units = 2, wide_multicast = 2, wide_multicast_slots = 600, strategy = wgmma_sp>
// BAD-MULTICAST-SLOTS: error: samoyeds-select-tiles: wide-multicast-slots = -2 must be in [-1, 1048576]
// wide-packed=0 (the default): no wide variant reads a packed input; =2:
// every one does
// (Mixtral's down projection, the plain 2:4 and span-routed tiles, whose
// workspace of two or three rows per slot holds the padded tiles from
// wide_slots).
// PACK0-NOT: wide_packed
// PACK2-LABEL: func.func @mixtral_layer
// PACK2: epilogue <silu_mul> {tile = {{.*}}wide_packed = 1, token_step = 32, evict_first_experts = 3, wide_units = 2, strategy = wgmma_sp>
// PACK2: epilogue <weighted_combine> {tile = {{.*}}wide_packed = 1, token_step = 32, evict_first_experts = 7, strategy = wgmma_sp>
// PACK2-LABEL: func.func @m3_routing
// PACK2: wide_tokens = 104, wide_slots = 8449, wide_packed = 1, token_step = 32, evict_first_experts = 1, strategy = wgmma_sp>
// Plain 2:4's default pairs of 144 tokens from 64 slots per expert would
// need four packed rows per slot (three at most): gathered rows.
// PACK2-LABEL: func.func @silu_plain24(
// PACK2: wide_tokens = 144, wide_slots = 512, group_tiles = 16, wide_warps = 8, evict_first_experts = 1, wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// BAD-PACK: error: samoyeds-select-tiles: wide-packed = 3 must be in [-1, 2]
// Token steps: by default 32 for routed row selection (the AUTO lines),
// none for plain 2:4 and masked rows (WG-MASK); token-step=0 none anywhere;
// token-step=16 on every wgmma_sp tile (plain 2:4 too: its four-warpgroup
// variants keep their tokens in the conversion); none beside cluster pairs.
// STEP0-NOT: token_step
// STEP16-LABEL: func.func @default_none
// STEP16: token_step = 16, evict_first_experts = 1, strategy = wgmma_sp>
// STEP16-LABEL: func.func @silu_plain24
// STEP16: group_tiles = 16, wide_warps = 8, token_step = 16, evict_first_experts = 1, wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// STEP-CLUSTER-LABEL: func.func @silu_plain24
// STEP-CLUSTER: wide_cluster = 2, evict_first_experts = 1, strategy = wgmma_sp>
// BAD-STEP: error: samoyeds-select-tiles: token-step = 12 must be a multiple of 8
// BAD-STEP-RANGE: error: samoyeds-select-tiles: token-step = 264 must be in [-1, 256]
// warpgroups=4: four consumer warpgroups (256 kept rows a block) where the
// 64-row tiles divide among them; their 104 registers (what the producer
// leaves of 640 threads' 96 at launch) hold 56 accumulators, so masked row
// selection's two sets take 56 tokens (no wide variant above them).
// k64_small_span's single
// 64-row tile keeps one.
// With 1:2 routed row selection the four warpgroups serve the calls from 64
// routed slots per expert up to the wide variant (56 tokens, an ordinary
// grid), a lone expert too when forced; the decode, persistent and wide
// variants keep two (the 128-token wide tile's two accumulator sets of 64
// need a two-warpgroup block's registers). Its 28 row blocks of 256 kept
// rows fit two 56-token tiles a wave in two K slices: the mid-size split-K
// variant takes the calls above split_slots up to 112.
// WG4-LABEL: func.func @default_none(
// WG4:         {tile = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, split_k = 4, split_slots = 56, persistent = 1, persistent_slots = 64, persistent_tokens = 64, decode_tokens = 16, decode_slots = 8, decode_warps = 8, wide_tokens = 128, wide_slots = 128, group_tiles = 16, wide_warps = 8, persistent_warps = 8, token_step = 32, mid_split_k = 2, mid_split_slots = 112, evict_first_experts = 1, strategy = wgmma_sp>}
// WG4-LABEL: func.func @mixtral_layer(
// WG4:         epilogue <silu_mul> {tile = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, split_k = 2, split_slots = 1, persistent = 1, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 16, decode_slots = 64, decode_warps = 8, split_blocks = 2, shared_slots = 2, wide_tokens = 80, wide_slots = 512, group_tiles = 16, wide_warps = 8, persistent_warps = 8, token_step = 32, evict_first_experts = 3, wide_units = 2, strategy = wgmma_sp>}
// WG4:         epilogue <weighted_combine> {tile = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, split_k = 8, split_slots = 2, persistent = 1, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 16, decode_slots = 64, decode_warps = 8, split_blocks = 2, wide_tokens = 80, wide_slots = 512, group_tiles = 16, wide_warps = 8, persistent_warps = 8, token_step = 32, evict_first_experts = 7, wide_low_tokens = 128, wide_units = 2, wide_low_calls = [512, 944, 1193, 1936, 2433, 2936, 3681, 3936, 8721, 8968], strategy = wgmma_sp>}
// WG4-LABEL: func.func @k64_small_span(
// WG4:         {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 128, stages = 6, persistent = 1, decode_tokens = 16, decode_slots = 16, wide_tokens = 128, wide_slots = 128, token_step = 32, evict_first_experts = 2, strategy = wgmma_sp>}
// WG4-LABEL: func.func @silu_plain24(
// WG4:         {tile = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, split_k = 2, split_slots = 1, decode_tokens = 8, decode_slots = 32, wide_tokens = 144, wide_slots = 512, group_tiles = 16, wide_warps = 8, evict_first_experts = 1, wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>}
// BAD-WG: error: samoyeds-select-tiles: warpgroups = 5 must be in [0, 4]
// row-masks=1: masked group rows under the warpgroup strategy, the same
// tiles (m accumulator sets either way); plain 2:4 is unaffected. (m = 3
// takes it too, which the conversion then refuses: invalid.mlir.)
// WG-MASK-LABEL: func.func @default_none(
// WG-MASK:         {tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, row_masks = 1, split_k = 4, split_slots = 64, persistent = 1, decode_tokens = 16, decode_slots = 8, wide_tokens = 128, wide_slots = 128, group_tiles = 16, evict_first_experts = 1, strategy = wgmma_sp>}
// WG-MASK-LABEL: func.func @m3_routing(
// WG-MASK:         row_masks = 1, {{.*}}strategy = wgmma_sp
// WG-MASK-LABEL: func.func @experts64(
// WG-MASK:         row_masks = 1, {{.*}}strategy = wgmma_sp
// WG-MASK-LABEL: func.func @keep_tile(
// WG-MASK-LABEL: func.func @silu_plain24(
// WG-MASK-NOT:     row_masks
// WG-MASK:         wide_tokens = 144
// decode-slots=12: calls of up to 12 routed slots per expert take the
// decode tile (row selection's 16 tokens; mixtral_layer's 8 experts: 96).
// DECODE-SLOTS-LABEL: func.func @mixtral_layer(
// DECODE-SLOTS:         decode_tokens = 16, decode_slots = 96,
// BAD-DECODE-SLOTS: error: samoyeds-select-tiles: decode-slots = 5000 must be in [0, 4096]
// Two blocks per SM at decode. By default (AUTO) mixtral_layer's gate/up
// (112 row blocks) takes them from 2 routed slots and in its split-K
// variant (224 blocks at its one slot); its down projection's decode calls
// keep one (8 experts by 16 row blocks never exceed the 132 SMs) while its
// split variant (2 slots, 16 row blocks, 8 slices: 256 blocks) takes two.
// decode-blocks=1 keeps one everywhere; decode-blocks=2 takes two for every
// decode call; plain 2:4 on four consumer warpgroups never fits two.
// DECODE-BLOCKS1-LABEL: func.func @mixtral_layer(
// DECODE-BLOCKS1-NOT:     split_blocks
// DECODE-BLOCKS1-NOT:     shared_slots
// DECODE-BLOCKS1-LABEL: func.func @keep_tile(
// DECODE-BLOCKS2-LABEL: func.func @mixtral_layer(
// DECODE-BLOCKS2:         split_k = 2, split_slots = 1, persistent = 1, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 16, decode_slots = 64, decode_warps = 8, split_blocks = 2, shared_slots = 1,
// DECODE-BLOCKS2:         split_k = 8, split_slots = 2, persistent = 1, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 16, decode_slots = 64, decode_warps = 8, split_blocks = 2, shared_slots = 1,
// DECODE-BLOCKS2-LABEL: func.func @silu_plain24(
// DECODE-BLOCKS2:         {tile = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, split_k = 2, split_slots = 1, decode_tokens = 8, decode_slots = 32, wide_tokens = 144, wide_slots = 512, group_tiles = 16, wide_warps = 8, evict_first_experts = 1, wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>}
// BAD-DECODE-BLOCKS: error: samoyeds-select-tiles: decode-blocks = 3 must be in [0, 2]
// split-persistent=1: wgmma_sp's split-K variants run the persistent grid
// (one block per SM, no split_blocks) for every call whose unsplit grid has
// fewer blocks than SMs: mixtral_layer's gate/up (112 row blocks) up to 1
// slot, its down projection (16 row blocks, 8 experts: always fewer) up to
// the workspace bound, 256. mma_sp has no persistent split grid.
// SPLIT-PERSIST-LABEL: func.func @mixtral_layer(
// SPLIT-PERSIST:         epilogue <silu_mul> {tile = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, split_k = 2, split_slots = 1, persistent = 1, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 16, decode_slots = 64, decode_warps = 8, shared_slots = 2, wide_tokens = 80, wide_slots = 512, group_tiles = 16, split_persistent = 1, wide_warps = 8, persistent_warps = 8, token_step = 32, evict_first_experts = 3, wide_units = 2, strategy = wgmma_sp>}
// SPLIT-PERSIST:         epilogue <weighted_combine> {tile = #samoyeds.tile<warps = 16, tokens = 56, k = 128, stages = 4, split_k = 8, split_slots = 256, persistent = 1, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 16, decode_slots = 64, decode_warps = 8, wide_tokens = 80, wide_slots = 512, group_tiles = 16, split_persistent = 1, wide_warps = 8, persistent_warps = 8, token_step = 32, evict_first_experts = 7, wide_low_tokens = 128, wide_units = 2, wide_low_calls = [512, 944, 1193, 1936, 2433, 2936, 3681, 3936, 8721, 8968], strategy = wgmma_sp>}
// SPLIT-PERSIST-MMA-NOT: split_persistent
// BAD-SPLIT-PERSIST: error: samoyeds-select-tiles: split-persistent = 2 must be in [0, 1]
// Both strategies have a persistent grid with masked rows; the warpgroup
// one takes 128-token tiles from 96 routed slots per expert (two
// accumulator sets of 64).
// WG-MASK-PERSIST-LABEL: func.func @default_none(
// WG-MASK-PERSIST:         row_masks = 1, {{.*}}persistent = 1, persistent_slots = 96, persistent_tokens = 128, {{.*}}strategy = wgmma_sp
// WG-MASK-PERSIST-LABEL: func.func @mixtral_layer(
// WG-MASK-PERSIST:         row_masks = 1, {{.*}}persistent = 1, persistent_slots = 768, persistent_tokens = 128, {{.*}}strategy = wgmma_sp
// MMA-MASK-PERSIST-LABEL: func.func @default_none(
// MMA-MASK-PERSIST:         row_masks = 1, {{.*}}persistent = 1
// decode-warpgroups=2: the decode variants of silu_plain24's four-warpgroup
// tile run two (decode_warps = 8), whose 224 row blocks the split-K rule
// counts (no split: they fill the chip); the tiles that already have two
// keep them (no decode_warps).
// DECWG-LABEL: func.func @default_none(
// DECWG:         {tile = #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 4, split_slots = 64, persistent = 1, decode_tokens = 16, decode_slots = 8, wide_tokens = 80, wide_slots = 129, group_tiles = 16, token_step = 32, evict_first_experts = 1, wide_low_tokens = 128, wide_units = 2, wide_low_calls = [129, 256, 321, 512, 721, 896, 1121, 1152, 2641, 2688], strategy = wgmma_sp>}
// DECWG-LABEL: func.func @silu_plain24(
// DECWG:         {tile = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, decode_tokens = 8, decode_slots = 32, decode_warps = 8, shared_slots = 1, wide_tokens = 144, wide_slots = 512, group_tiles = 16, wide_warps = 8, evict_first_experts = 1, wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>}
// BAD-DECWG: error: samoyeds-select-tiles: decode-warpgroups = 5 must be in [0, 4]
// NOSPLIT-LABEL: func.func @default_none(
// NOSPLIT:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, decode_tokens = 8, decode_slots = 12, group_tiles = 16>}
// SPLIT2-LABEL: func.func @default_none(
// SPLIT2:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 2, split_slots = 128, decode_tokens = 8, decode_slots = 12, group_tiles = 16>}
// PERSIST0-LABEL: func.func @default_none(
// PERSIST0:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 4, split_slots = 128, decode_tokens = 8, decode_slots = 12, group_tiles = 16>}
// Four blocks of 5 stages (69 120 bytes) do not fit 228 KB: three.
// PERSIST4-LABEL: func.func @default_none(
// PERSIST4:         samoyeds.ssmm {{.*}} epilogue <none> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 4, split_slots = 128, persistent = 3, decode_tokens = 8, decode_slots = 12, group_tiles = 16>}
func.func @default_none(
    %w: tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %offsets: tensor<2xi32>, %tokens: tensor<?xi32>)
    -> tensor<?x14336xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <none>
      : (tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<2xi32>, tensor<?xi32>)
      -> tensor<?x14336xbf16>
  return %y : tensor<?x14336xbf16>
}

// Both matmuls of a decomposed Mixtral layer get a tile. Gate/up: 112 row
// blocks, split_k = 4 up to 2 slots (T = 1). Down: 32 row blocks, split_k = 8;
// all 8 experts' tiles stay under 264 blocks, so the 32 MiB workspace bounds
// the slots (8 x 256 x 4096 f32). On sm_80, 216 blocks are reached at 7 tiles.
// With 8 experts and row selection both get a persistent variant from 64
// slots per expert (512); gate/up's takes 64-token tiles, whose shared
// memory (5 stages, 92 KB) fits two blocks per SM (the tokens option keeps
// every variant at its value).
// CHECK-LABEL: func.func @mixtral_layer(
// CHECK:         samoyeds.ssmm {{.*}} epilogue <silu_mul> {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 5, row_masks = 1, split_k = 4, split_slots = 2, persistent = 2, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 8, decode_slots = 96, group_tiles = 16>}
// CHECK:         samoyeds.ssmm {{.*}} epilogue <weighted_combine> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 8, split_slots = 256, persistent = 3, persistent_slots = 512, decode_tokens = 8, decode_slots = 96, group_tiles = 16>}
// SM80-LABEL: func.func @mixtral_layer(
// SM80:         samoyeds.ssmm {{.*}} epilogue <silu_mul> {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 3, row_masks = 1, split_k = 2, split_slots = 1, persistent = 2, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 8, decode_slots = 96, group_tiles = 16>}
// SM80:         samoyeds.ssmm {{.*}} epilogue <weighted_combine> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 3, row_masks = 1, split_k = 8, split_slots = 6, persistent = 3, persistent_slots = 512, decode_tokens = 8, decode_slots = 96, group_tiles = 16>}
// TOKENS-LABEL: func.func @mixtral_layer(
// TOKENS:         samoyeds.ssmm {{.*}} epilogue <silu_mul> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 4, row_masks = 1, split_k = 4, split_slots = 2, persistent = 2, persistent_slots = 512, decode_tokens = 8, decode_slots = 96, group_tiles = 16>}
// TOKENS:         samoyeds.ssmm {{.*}} epilogue <weighted_combine> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 8, split_slots = 256, persistent = 3, persistent_slots = 512, decode_tokens = 8, decode_slots = 96, group_tiles = 16>}
// NOSPLIT-LABEL: func.func @mixtral_layer(
// NOSPLIT:         samoyeds.ssmm {{.*}} epilogue <silu_mul> {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 5, row_masks = 1, persistent = 2, persistent_slots = 512, persistent_tokens = 64, decode_tokens = 8, decode_slots = 96, group_tiles = 16>}
// NOSPLIT:         samoyeds.ssmm {{.*}} epilogue <weighted_combine> {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, persistent = 3, persistent_slots = 512, decode_tokens = 8, decode_slots = 96, group_tiles = 16>}
func.func @mixtral_layer(
    %w13: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %offsets: tensor<9xi32>, %tokens: tensor<?xi32>,
    %weights: tensor<?x2xf32>, %positions: tensor<?x2xi32>) -> tensor<?x4096xbf16> {
  %h = samoyeds.ssmm %w13, %x, %offsets gather(%tokens) epilogue <silu_mul>
      : (tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x14336xbf16>
  %y = samoyeds.ssmm %w2, %h, %offsets combine(%weights, %positions)
      epilogue <weighted_combine>
      : (tensor<8x4096x14336xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x14336xbf16>, tensor<9xi32>, tensor<?x2xf32>, tensor<?x2xi32>)
      -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}

// 96 columns are not a multiple of 64: k = 32. Too short for split-K slices
// of 512 columns; a forced split_k = 2 does not cut 96 columns into whole k
// tiles, so it is dropped.
// The weights are plain 2:4 (n = m): 2 row tiles per warp.
// CHECK-LABEL: func.func @k32(
// CHECK:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 2, tokens = 64, k = 32, stages = 6, token_warps = 2, row_tiles = 2, decode_tokens = 16, decode_slots = 24>}
// TOKENS-LABEL: func.func @k32(
// TOKENS:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 2, tokens = 64, k = 32, stages = 6, token_warps = 2, row_tiles = 2, decode_tokens = 16, decode_slots = 24>}
// SPLIT2-LABEL: func.func @k32(
// SPLIT2:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 2, tokens = 64, k = 32, stages = 6, token_warps = 2, row_tiles = 2, decode_tokens = 16, decode_slots = 24>}
// ROWS1-LABEL: func.func @k32(
// ROWS1:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 32, stages = 6, decode_tokens = 8, decode_slots = 24>}
func.func @k32(
    %w: tensor<2x128x96xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
    %x: tensor<16x96xf16>, %offsets: tensor<3xi32>) -> tensor<16x128xf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<2x128x96xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
         tensor<16x96xf16>, tensor<3xi32>) -> tensor<16x128xf16>
  return %y : tensor<16x128xf16>
}

// A span of 96 neither divides nor is divided by 64: k = 32 even though the
// columns are a multiple of 64.
// CHECK-LABEL: func.func @k32_span(
// CHECK:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 32, stages = 6, row_masks = 1, decode_tokens = 8, decode_slots = 24>}
func.func @k32_span(
    %w: tensor<2x128x192xbf16, #samoyeds.ss<n = 1, m = 2, v = 96>>,
    %x: tensor<16x192xbf16>, %offsets: tensor<3xi32>) -> tensor<16x128xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<2x128x192xbf16, #samoyeds.ss<n = 1, m = 2, v = 96>>,
         tensor<16x192xbf16>, tensor<3xi32>) -> tensor<16x128xbf16>
  return %y : tensor<16x128xbf16>
}

// A span of 32 divides 64: k = 64. A forced split_k = 2 cuts 128 columns
// into two whole k tiles; 2 experts' 2 row blocks stay under 264 blocks at
// any slot count, so the partial sums' traffic bounds the slots: 8 bytes x
// 2 slices per slot and row against twice 2 experts' 128 x 1/4 values of
// 2 bytes per row: 16 slots.
// Two k tiles are fewer than the stages - 1 = 4 a persistent pipeline runs
// ahead: no persistent grid even when forced.
// CHECK-LABEL: func.func @k64_small_span(
// CHECK:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, decode_tokens = 8, decode_slots = 24>}
// SPLIT2-LABEL: func.func @k64_small_span(
// SPLIT2:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, split_k = 2, split_slots = 16, decode_tokens = 8, decode_slots = 24>}
// PERSIST4-LABEL: func.func @k64_small_span(
// PERSIST4:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, row_masks = 1, decode_tokens = 8, decode_slots = 24>}
func.func @k64_small_span(
    %w: tensor<2x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 32>>,
    %x: tensor<16x128xbf16>, %offsets: tensor<3xi32>) -> tensor<16x128xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<2x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 32>>,
         tensor<16x128xbf16>, tensor<3xi32>) -> tensor<16x128xbf16>
  return %y : tensor<16x128xbf16>
}

func.func @m3_routing(
    %w: tensor<1x192x256xbf16, #samoyeds.ss<n = 1, m = 3, v = 128>>,
    %x: tensor<16x256xbf16>, %offsets: tensor<2xi32>) -> tensor<16x192xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<1x192x256xbf16, #samoyeds.ss<n = 1, m = 3, v = 128>>,
         tensor<16x256xbf16>, tensor<2xi32>) -> tensor<16x192xbf16>
  return %y : tensor<16x192xbf16>
}

func.func @experts64(
    %w: tensor<64x256x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x256xbf16>, %offsets: tensor<65xi32>) -> tensor<?x256xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      : (tensor<64x256x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x256xbf16>, tensor<65xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// A tile that is already there is kept, whatever the options.
// CHECK-LABEL: func.func @keep_tile(
// CHECK:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 2, tokens = 16, k = 128, stages = 3>}
// TOKENS-LABEL: func.func @keep_tile(
// TOKENS:         samoyeds.ssmm {{.*}} {tile = #samoyeds.tile<warps = 2, tokens = 16, k = 128, stages = 3>}
func.func @keep_tile(
    %w: tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %offsets: tensor<2xi32>) -> tensor<?x14336xbf16> {
  %y = samoyeds.ssmm %w, %x, %offsets epilogue <none>
      {tile = #samoyeds.tile<warps = 2, tokens = 16, k = 128, stages = 3>}
      : (tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<2xi32>) -> tensor<?x14336xbf16>
  return %y : tensor<?x14336xbf16>
}

// Plain 2:4 gate/up (no row selection) takes 64 tokens: its accumulators fit
// 126 registers, and an expert with up to 64 tokens reads w13 once. 224 row
// blocks: split_k = 2 for a single slot; 2 row tiles per warp.
// CHECK-LABEL: func.func @silu_plain24(
// CHECK:         samoyeds.ssmm {{.*}} epilogue <silu_mul> {tile = #samoyeds.tile<warps = 2, tokens = 64, k = 64, stages = 4, token_warps = 2, row_tiles = 2, split_k = 2, split_slots = 1, decode_tokens = 16, decode_slots = 96, group_tiles = 16>}
func.func @silu_plain24(
    %w13: tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
    %x: tensor<?x4096xbf16>, %offsets: tensor<9xi32>, %tokens: tensor<?xi32>)
    -> tensor<?x14336xbf16> {
  %h = samoyeds.ssmm %w13, %x, %offsets gather(%tokens) epilogue <silu_mul>
      : (tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
         tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x14336xbf16>
  return %h : tensor<?x14336xbf16>
}

// Plain 2:4 experts that fit the L2 (OLMoE's gate/up): the block order is
// not grouped, so the calls between the decode and wide variants run the
// persistent grid of four consumer warpgroups (persistent = 1 beside the
// wide variant).
// AUTO-LABEL: func.func @silu_plain24_small
// AUTO: {tile = #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, split_k = 4, split_slots = 8, persistent = 1, decode_tokens = 8, decode_slots = 256, wide_tokens = 144, wide_slots = 4096, wide_warps = 8, evict_first_experts = 55, wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>}
func.func @silu_plain24_small(
    %w13: tensor<64x2048x2048xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
    %x: tensor<?x2048xbf16>, %offsets: tensor<65xi32>, %tokens: tensor<?xi32>)
    -> tensor<?x1024xbf16> {
  %h = samoyeds.ssmm %w13, %x, %offsets gather(%tokens) epilogue <silu_mul>
      : (tensor<64x2048x2048xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
         tensor<?x2048xbf16>, tensor<65xi32>, tensor<?xi32>) -> tensor<?x1024xbf16>
  return %h : tensor<?x1024xbf16>
}
