//===- Passes.td - Samoyeds transformation passes ----------*- tablegen -*-===//

#ifndef SAMOYEDS_DIALECT_SAMOYEDS_TRANSFORMS_PASSES_TD
#define SAMOYEDS_DIALECT_SAMOYEDS_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SamoyedsDecomposeMoE : Pass<"samoyeds-decompose-moe"> {
  let summary = "Split samoyeds.moe_ffn and samoyeds.moe_experts into routing, "
                "dispatch and expert matmuls";
  let description = [{
    Rewrites every `samoyeds.moe_ffn` into

        %w, %ids              = samoyeds.route    (hidden, router)
        %tok, %off, %pos      = samoyeds.dispatch (%ids)
        %h = samoyeds.ssmm w13, hidden, %off gather(%tok)  epilogue <silu_mul>
        %y = samoyeds.ssmm w2,  %h,     %off combine(%w, %pos) epilogue <weighted_combine>

    The routing convention (renormalisation, scaling factor) moves to the
    route op; the activation must be SiLU. A `samoyeds.moe_experts` (routing
    given by the caller) becomes the same without the route op: its
    `topk_ids` feed the dispatch and its `topk_weights` the combine.
  }];
  let dependentDialects = ["::mlir::samoyeds::SamoyedsDialect"];
}

def SamoyedsSelectTiles : Pass<"samoyeds-select-tiles"> {
  let summary = "Choose the tile shape of every expert matmul";
  let description = [{
    Attaches a `#samoyeds.tile` to every `samoyeds.ssmm` that has none. The
    choice depends on the target chip and the weight shape; a tile that is
    already present (written by hand or by an earlier run) is kept.

    MMA strategy: on sm_90a the Hopper warpgroup strategy (`wgmma_sp`:
    sparse `wgmma` fed by bulk copies, a producer and consumer warpgroups)
    where the shape fits it (kept rows of each half in 64-row tiles, K in
    128-column blocks, spans and 128-column stages dividing one another,
    n = 1 or n = m) and it won the H200 A/B: every plain 2:4 weight, and row
    selection with at most 8 experts; the warp-level `mma_sp` strategy
    otherwise and on sm_80/sm_90 (docs/TileChoice.md). The `strategy` option
    forces one. A `wgmma_sp` tile has two consumer warpgroups (the gate and
    up units of the same rows for SiLU·up), 128-column stages, 64 tokens
    (fewer when the accumulator sets would exceed 160 registers), as many
    stages (2-6) as one block per SM holds, the split-K rule below with a
    target of one block per SM, its slots bounded so the split grid stays
    within two waves; masked row selection runs the unsplit calls between
    the decode and wide variants on a persistent grid of one block per SM
    (`persistent` = 1 with the wide variant); `persistent` = k > 0 asks for
    it for every unsplit call instead, with 128-token tiles from 96 routed
    slots per expert where one accumulator set allows them and no wide
    variant (`persistent-tokens` = t, a multiple of 8, asks for t tokens
    there instead: with `persistent-units` = 2, as many as two units' sets
    hold at most; with single units none where one set does not hold them;
    the conversion rejects a tile whose ring of two slots does not fit the
    shared memory); `persistent=0` for none (docs/TileChoice.md has the
    H200 A/B). Plain 2:4's paired wide variant runs on the persistent grid
    too (`wide_persistent`; `wide-persistent` = 0 keeps its ordinary grid,
    1 asks for it wherever the wide variant has no second width (but one
    with calls of its own, below), clusters, multicast, packed input or
    SiLU·up exchange, i.e. single gate/up units).
    On one expert (`wide-unit-calls` = -1, the default, which also serves
    unmasked routed row selection on any number of experts since session
    56; 1 plain 2:4 on any number of experts too; on several experts each
    call's token tiles are taken with ceil(E / 2) experts at mean + sigma
    and the rest at mean - sigma slots, sigma = sqrt(mean (1 - 1 / E));
    0 never) plain 2:4 keeps both wide
    widths, its unit pairs (`_wide`, 144 tokens on two consumer warpgroups,
    persistent grid) and single units (`_wide_low`, 112 tokens on four,
    `wide_low_warps` = 16), and gives each call of the wide variant to the
    one whose grid costs fewer token rounds, ceil(blocks / SMs) × tokens,
    the pairs' divided by 1.1 (`wide_low_calls`: the single units' ranges,
    at most 8, up to 16384 slots per expert; above, the pairs; where no
    call goes to single units, pairs alone). The conversion cuts ranges
    at the wide variant's first call (past the decode and split-K calls).
    One expert's wide variant then starts where its ordinary grid of
    64-token tiles would take more than one wave (64 × floor(SMs / row
    blocks) + 1 routed slots, at least 128; `wide-slots` sets it).
    One expert's routed row selection (unmasked, two consumer warpgroups,
    `persistent` and `wide-slots` not asked for) starts its wide variant
    the same way, from where its persistent grid of 64-token tiles would
    take more than one wave, and gives its wide calls to its unit pairs
    (80 tokens, 256 kept rows a block) or single units (128 tokens, 128
    rows, `_wide_low`), both on two consumer warpgroups, by token rounds
    weighted by a block's rows (session 54).
    The rest of this description is the `mma_sp` tile.

    Tokens: 32 for SiLU·up with row selection, else 64, halved (to at least
    8) while a thread would keep more than 128 f32 accumulators (m sets per
    output row with row selection: m = 8 takes 32 tokens, m = 16 takes 16);
    a forced `tokens` is kept. The persistent grid (three blocks an SM, two
    where its tile keeps more than 64 accumulators) serves row selection up
    to m = 4 (above, its kernels spilled on sm_80).

    Warps of several row tiles: with plain 2:4 weights a block of 4 row tiles
    runs as 2 row warps of 2 tiles by 2 token warps, so each activation
    fragment feeds two `mma.sp`; with row selection one tile per warp (the
    per-row accumulators would not fit). The `row-tiles` option forces it.
    A block takes 4 row tiles where they divide each half's kept 16-row
    tiles; else, with row selection, 6 where they divide them, its decode
    tile keeping 2 or 1 (`decode_warps`: gpt-oss's 90 tiles); else 2 or 1.
    `row-warps` forces the count for every variant (an error where it does
    not divide the tiles).

    Row selection uses masked `mma.sp` (`row_masks = 1`: a total and m - 1
    masked accumulators, no span-end routing); `row-masks=0` selects the
    span-routing scheme. Under `wgmma_sp` the kept rows' span sums are
    routed by default (`row-masks=1` asks for masked group rows, where m
    divides 16: m accumulator sets, m times the MMAs); `wide-row-masks=1`
    masks the wide widths' group rows only (`#samoyeds.tile`'s
    `wide_row_masks`: single units, from where the routed wide variant
    would start), the other variants routing.

    Split-K: when a call with one routed slot per active expert would give
    the kernel fewer than two working blocks per SM, the tile gets a split-K
    variant. `split_k` is the power of two that brings one slot's blocks to
    two per SM (at most 8, K slices of at least 512 columns made of whole k
    tiles and spans); `split_slots` is the largest slot count at which the
    unsplit grid still has fewer than two working blocks per SM, bounded so
    that the partial sums' traffic (8 bytes per slot, row and slice) stays
    within twice the weight values of the experts the slots reach and their
    workspace within 32 MiB.

    Persistent grid: `persistent=k` > 0 gives every unsplit call a grid of k
    blocks per SM (fewer where k blocks' shared memory does not fit an SM)
    that take the tiles in turn (`#samoyeds.tile`'s `persistent`); 0 keeps
    one block per tile. -1 chooses: with row selection and at least 8
    experts, 3 blocks per SM for calls with at least 64 routed slots per
    expert (128 for spans shorter than 64 columns; `persistent_slots`), the
    ordinary grid below, and for the SiLU·up kernel 64-token tiles
    (`persistent_tokens`; 2 blocks per SM then fit); none for plain 2:4
    (the H100 measurements are in bench/NOTES.md).

    Decode token tile (`decode_tokens`, `decode_slots`): the calls with at
    most 12 routed slots per expert (`mma_sp`; 4 for `wgmma_sp`, and none
    there with row selection and fewer than 3 k tiles of K) take 8 tokens
    per token warp (16 for plain 2:4's two token warps under `mma_sp`) where
    `tokens` is larger (H200 A/B in docs/TileChoice.md); split slots are
    counted in `tokens`. The `decode-slots` option sets the routed slots
    per expert up to which calls take it. The `decode-tokens` option forces the count
    (rounded up to whole 8-token warp slices) or turns it off (0).

    Block order (`group_tiles`): where one expert's packed weight is more
    than half the chip's L2, the ordinary grid hands its blocks out in
    groups of 16 token tiles, so that a wave of blocks reads the weights of
    a few row blocks from L2 instead of streaming the whole weight from DRAM
    once per token tile (docs/TileChoice.md); elsewhere 1 (row block
    fastest, the launch order). The `group-tiles` option sets the group.

    Wide token tile (`wide_tokens`, `wide_slots`; `wgmma_sp`, plain 2:4
    and masked row selection):
    the unsplit calls of at least `wide-slots` routed slots per expert
    (default 128) run the ordinary grid with as many tokens per block as
    one accumulator set allows, at most 128 (112 with four consumer
    warpgroups; on plain 2:4, whose units pair by default, 144), so that
    each weight tile is read once per that many
    tokens; `wide-tokens` = w > 0 asks for w (rounded up to a multiple of
    8) where it fits, 0 for none. Not with `persistent` > 0.

    Second wide width (`wide_low_tokens`, `wide_low_slots`; `wgmma_sp`):
    unmasked routed row selection on more than 8 experts takes 160 tokens
    per block for the wide variant's calls up to 160 routed slots per
    expert, where most experts become one token tile instead of 128 tokens
    and a sliver, and 128 above, where 160 makes as many tiles with a ring
    of three slots instead of four (H200 1:2+2:4 layers: 1.02-1.12x in the
    band on five models, 1.00x above; 160 throughout lost 7-11% at 192-512
    slots per expert). `wide-low-tokens` = w > 0 asks for w, 0 for none;
    `wide-low-slots` = s sets the bound to s slots per expert.

    Four warpgroups for few slots (`persistent_warps`, `persistent_tokens`,
    `persistent_slots`; `wgmma_sp`): unmasked routed row selection on more
    than 8 experts whose 64-row tiles divide among four consumer warpgroups
    runs the persistent grid's calls below 40 routed slots per expert with
    four warpgroups and 48 tokens per block (each k tile's activations
    read once per 256 kept rows), and the two-warpgroup persistent grid
    from there up to the wide variant (H200 1:2+2:4 layers: 1.02-1.06x at
    12-36 slots per expert, 0.94-0.95x at 48, where experts outgrow a
    48-token tile). `few-slots` = s sets the bound to s slots per expert,
    0 turns it off.

    Unit pairs (`wide_units`; `wgmma_sp`): `wide-units` = 2 gives each
    consumer warpgroup of the wide variant two 64-row units (for SiLU·up the
    gate and up units of the same rows, multiplied in registers) where the
    tile is unmasked, has no clusters (with `wide-cluster` = 2 only where
    `wide-units` = 2 asks for pairs: 0.75-0.90x, session 49), its 64-row tiles of each half
    divide among the pairs and the paired grid fills three quarters of a
    wave; its wide tokens are then as many as two units' accumulator sets
    hold (a second width multiplies one unit, so a paired wide variant has
    none but late pairs'). 1 gives one unit each; -1 (the default) pairs on
    every format: row-selected N:M formats (H200 1.06-1.22x at T =
    256-4096 on five of the six anchor models) and plain 2:4, whose pairs
    put its wide variant alone on two consumer warpgroups of two units
    (`wide_warps` = 8) with 144 tokens unless `wide-tokens` asks for others
    (H100 1.03-1.21x at T = 1024-4096 on four of the anchor models, session
    49). `late-pairs`
    = 1 (opt-in) pairs the wide variants whose first call's paired grid
    would fill less than three quarters of a wave from the first token
    tile count where it fills one (at most kLatePairsMaxTiles), running
    single units below as the second width (`wide_low_tokens`: where the
    wide variant pairs, its second width multiplies one unit).
    `wide-accumulators` = a asks the wide variant to hold up to a
    accumulator registers per consumer thread instead of 160, at most what
    its registers leave (consumer registers less 48: 176 with two
    warpgroups): with 176 routed 1:2 row selection's unit pairs hold 88
    tokens instead of 80 (ptxas: no spill on the six anchor models,
    session 49; untimed, bench/pending.sh step 10); 88 tokens are not
    whole 8-row groups per block of a cluster pair, so with
    `wide-cluster` = 2 those tiles keep no clusters.
    `persistent-units` = 2 (`persistent_units`) gives the persistent
    grid's variants of two consumer warpgroups the same pairs, where the
    tile is unmasked, its 64-row tiles divide among the pairs and the
    paired tiles of one token tile an expert fill three quarters of a
    wave. By default (-1, session 55) only SiLU·up's upper grid (above
    the four-warpgroup few-slot grid) pairs, from
    kPersistentPairsSlotsPerExpert routed slots per expert
    (`persistent_units_slots`: the `_persistent_upper_pairs` kernel) where
    its paired blocks of one token tile an expert take at most
    kPersistentPairsMaxWaves waves (H100 1:2+2:4 layers: OLMoE 1.09-1.14x
    and Qwen2-MoE 1.09-1.11x at T = 640-1000; Qwen3-235B and DeepSeek-V2,
    more waves, lost with pairs and keep single units); 1 keeps single
    units everywhere.

    Cluster pairs (`wide_cluster`; `wgmma_sp`): `wide-cluster` = 2 gives
    the wide variant clusters of two blocks sharing the activation tile
    where its row blocks of each half pair up and the tile's halves are
    whole 8-row groups; 1 (the default) none.

    Weight multicast (`wide_multicast`; `wgmma_sp`): `wide-multicast` = 2
    gives the wide variant clusters of two blocks on two token tiles of
    one expert that share the weights by multicast bulk copies, where
    there are no cluster pairs and the wide variant's block holds an even
    number of 64-row units; 1 (the default) none. Its multicast kernel
    takes the wide variant's calls from `wide-multicast-slots` routed
    slots (`wide_multicast_slots`; -1, the default: where the experts
    average two token tiles of the wide variant; 0: all of them).

    Packed wide input (`wide_packed`; `wgmma_sp`): `wide-packed` = 1 gives
    the wide variant of the matmuls that gather their input through a
    token list a pack kernel that writes the token tiles' rows in the
    ring's swizzled layout, which the wide kernel brings by bulk copies
    (multicast to both blocks of a cluster pair); 2 does so for every
    matmul with a wide variant; 0 for none; -1 (the default) chooses 0
    (since session 51: with unit pairs gathered rows run faster). The
    persistent grid of the large calls (`persistent` = 1, no wide
    variant) packs by the same rule. Only where the wide variant's first
    call has at least experts × (wide_tokens − 1) / 2 slots (its workspace
    three rows per slot below experts × (wide_tokens − 1), two from there).

    Token steps (`token_step`; `wgmma_sp`): `token-step` = s > 0 has each
    block of the variants with more than s tokens (and at most two consumer
    warpgroups, unmasked rows) multiply (and, packed, copy) its token tile's
    tokens rounded up to a multiple of s instead of the variant's tokens; 0
    none; -1 (the default) chooses 32 for routed row selection, else 0. Not
    with cluster pairs.

    Consumer warpgroups (`wgmma_sp`): four per block for plain 2:4 where
    the 64-row tiles of each half divide among them (256 kept rows a block:
    each weight tile's activations read once per 256 rows); else two (the
    gate and the up unit of the same 64 rows, or two 64-row units), one
    when the 64-row tiles do not pair up. With 1:2 routed row selection on
    2-8 experts (or `warpgroups` = 4) four (56 tokens, an ordinary grid)
    serve the calls from 64 routed slots per expert up to the wide variant,
    while the decode, persistent (below 64 slots per expert, 64 tokens) and
    wide variants keep two (`decode_warps`, `persistent_warps`,
    `wide_warps`). The `warpgroups` option forces a
    count where the tiles divide among them, else it keeps the choice;
    `decode-warpgroups` forces one for the decode variants (the `_decode`
    grid, and the split-K variant where it takes the decode tile) alone,
    whose row blocks the split-K rule then counts.

    Two blocks per SM at decode (`wgmma_sp`, where two blocks' accumulators
    and a ring of two slots fit an SM): `#samoyeds.tile`'s `split_blocks`
    = 2 when the split-K variant takes the decode tile and its largest call
    (split_slots, at most one per expert) has more blocks than the chip has
    SMs, and `shared_slots` = the slot count from which an unsplit decode
    call can have more blocks than SMs (none when all experts' row blocks
    do not). The `decode-blocks` option: 0 chooses so, 1 keeps one block
    per SM, 2 takes two for every decode call.

    Persistent split-K (`wgmma_sp`, opt-in: `split-persistent=1`): the
    split-K variant runs one block per SM walking the call's (tile, K
    slice) units (`#samoyeds.tile`'s `split_persistent`), for every call
    whose unsplit grid has fewer blocks than the chip has SMs (no cap of two
    waves: the grid has none). Off by default: on the H200 it ran 0.86-0.96x
    at T = 1 (bench/RESULTS.md S19).

    Mid-size split-K (`wgmma_sp`): where the split-K variant cuts K into
    more than 2 slices, a second split-K variant of 2 slices
    (`#samoyeds.tile`'s `mid_split_k`, `mid_split_slots`) takes the calls
    above `split_slots` (where the decode calls end at or below it) whose
    2-slice grid of the tile's token tiles still fits one wave (at most one
    block per SM for the most tiles P routed slots can make), where each
    slice keeps at least 1024 columns. It serves the
    weights of few experts (a single expert, expert parallelism), whose
    unsplit grid has a block per row block and token tile: H200 expert
    matmuls, one expert, same process (bench/RESULTS.md S35): 1.3-2.0x at
    n = 128-256 on the OLMoE, DeepSeek-V2-Lite, Qwen2-MoE and Mixtral shapes
    of K >= 2048; the half-K slices of K = 1024 ran 0.83x at n = 512, hence
    the bound. The anchor layers (8-160 experts) never take it.
    `mid-split-k=1` turns it off; `mid-split-slots=n` sets its bound.

    Weight streams (`wgmma_sp`): the decode and split-K variants copy their
    weights with the L2 `evict_first` policy in calls whose routed slots
    reach at most x experts (`#samoyeds.tile`'s `evict_first_experts`), x
    the experts whose packed weights (about 9/8 byte per kept row and
    column) make at most 5 L2s: such a call keeps the lines other kernels
    left in the L2 (dirty ones are not written back on its time) at a cost
    that grows with its stream. H200 1:2+2:4 layers, same process, policy on
    every decode and split-K call (bench/RESULTS.md S37, run 1): 1.03-1.08x
    at T = 1 on six models, 1.02-1.06x at T = 16-64 on OLMoE and
    DeepSeek-V2-Lite (gate/up weights of up to 4 L2s), 0.97-0.99x at T =
    16-64 on the four models whose calls there reach 10-25 L2s.
    `evict-first-experts=0` turns it off; `=x` sets x.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "Target chip (sm_80, sm_90, sm_90a)">,
    Option<"tokens", "tokens", "int64_t", /*default=*/"0",
           "Override: routed tokens per block (0: choose)">,
    Option<"decodeTokens", "decode-tokens", "int64_t", /*default=*/"-1",
           "Routed tokens per block of the decode variants (split-K and "
           "calls up to decode_slots); -1: choose, 0: none">,
    Option<"decodeSlots", "decode-slots", "int64_t", /*default=*/"0",
           "Override: routed slots per expert up to which calls take the "
           "decode tile (0: choose)">,
    Option<"splitK", "split-k", "int64_t", /*default=*/"0",
           "Override: K slices of the split-K variant (0: choose, 1: none)">,
    Option<"rowMasks", "row-masks", "int64_t", /*default=*/"-1",
           "Row selection by masked rows (1) or span-end routing (0); "
           "-1: choose (mma_sp masked, wgmma_sp routing)">,
    Option<"rowTiles", "row-tiles", "int64_t", /*default=*/"0",
           "Override: 16-row tiles per warp, with as many token warps "
           "(0: choose, 1: one)">,
    Option<"rowWarps", "row-warps", "int64_t", /*default=*/"0",
           "mma_sp override: 16-row tiles per block (before `row-tiles` "
           "groups them into warps); they must divide each half's kept "
           "16-row tiles (0: choose)">,
    Option<"unitTails", "unit-tails", "int64_t", /*default=*/"1",
           "wgmma_sp: units where they do not divide a half's 64-row tiles, "
           "the last row block's units past the half repeating its last "
           "tile. 1: plain 2:4's four consumer warpgroups (gpt-oss's 45 "
           "tiles); 2: also the wide variant's unit pairs (DeepSeek-V2-Lite's "
           "11 tiles a half in 1:2) and row selection's two units a half "
           "(gpt-oss's padded 1:2 down projection, 23 tiles); 0: only counts "
           "that divide (plain 2:4 on mma_sp where that is one)">,
    Option<"padRows", "pad-rows", "int64_t", /*default=*/"0",
           "wgmma_sp: 1 takes shapes whose halves' kept rows are no whole "
           "64-row tiles, the weight layout padding each half's (the "
           "padding at most 1/16 of its rows: gpt-oss's 1:2 1440 kept rows "
           "a half, stored as 1472), and row selection with K no multiple "
           "of 128 (padded; the spans past K take the last span's row "
           "choices); 0: such shapes stay on mma_sp (opt-in until run on a "
           "GPU)">,
    Option<"decodeStages", "decode-stages", "int64_t", /*default=*/"0",
           "mma_sp override: ring stages of a decode tile with its own row "
           "warps (0: the tile's stages)">,
    Option<"persistent", "persistent", "int64_t", /*default=*/"-1",
           "Blocks per SM of a persistent grid (0: none, -1: choose)">,
    Option<"persistentTokens", "persistent-tokens", "int64_t",
           /*default=*/"-1",
           "wgmma_sp with `persistent` > 0: routed tokens per block of the "
           "persistent grid's large calls (a multiple of 8; -1: 128)">,
    Option<"widePersistent", "wide-persistent", "int64_t", /*default=*/"-1",
           "wgmma_sp: run the wide variant on the persistent grid, one block "
           "per SM walking its tiles (1), or on its ordinary grid (0; -1: "
           "plain 2:4's unit pairs)">,
    Option<"wideUnitCalls", "wide-unit-calls", "int64_t", /*default=*/"-1",
           "wgmma_sp: give the wide variant's calls to its unit pairs or "
           "to single units (plain 2:4's on four consumer warpgroups), call "
           "by call, by the waves each makes (1: plain 2:4 and unmasked "
           "routed row selection on any number of experts; 0: pairs or "
           "single units for every call; -1: one expert's, and routed row "
           "selection's on any number)">,
    Option<"wideRowMasks", "wide-row-masks", "int64_t", /*default=*/"-1",
           "wgmma_sp: the wide widths multiply masked group rows, single "
           "units, while the other variants route the span sums (1), or "
           "every variant as `row-masks` says (0); -1: choose (masked wide "
           "rows where spans are shorter than the k tile, when "
           "kWideRowMasksByDefault)">,
    Option<"wideTokens", "wide-tokens", "int64_t", /*default=*/"-1",
           "Routed tokens per block of the wide variant (wgmma_sp, plain "
           "2:4; 0: none, -1: choose)">,
    Option<"wideSlots", "wide-slots", "int64_t", /*default=*/"-1",
           "Routed slots per expert from which calls take the wide "
           "variant (-1: choose: 128, or 64 for plain 2:4 on 2-64 experts "
           "and row selection on 2-8; one expert's from where its 64-token "
           "grid would take more than one wave; 80, with single units up "
           "to 128, for unmasked routed row selection on more than 8 "
           "experts whose paired blocks of one token tile an expert take "
           "more than 5 waves)">,
    Option<"wideLowTokens", "wide-low-tokens", "int64_t", /*default=*/"-1",
           "Routed tokens per block of the wide variant's second width "
           "(wgmma_sp; 0: none, -1: choose: 160 for routed row selection on "
           "more than 8 experts where the wide variant keeps single units, "
           "128 for unit calls and early single units; a width asked for is "
           "none where the wide variant pairs its units)">,
    Option<"wideLowSlots", "wide-low-slots", "int64_t", /*default=*/"-1",
           "Routed slots per expert up to which the wide variant's calls take "
           "its second width (-1: its tokens)">,
    Option<"fewSlots", "few-slots", "int64_t", /*default=*/"-1",
           "Routed slots per expert below which the persistent grid's calls "
           "run four consumer warpgroups (wgmma_sp, routed row selection on "
           "more than 8 experts; 0: none, -1: choose: 40)">,
    Option<"warpgroups", "warpgroups", "int64_t", /*default=*/"0",
           "Override: consumer warpgroups per block of wgmma_sp (0: "
           "choose)">,
    Option<"decodeWarpgroups", "decode-warpgroups", "int64_t",
           /*default=*/"0",
           "Override: consumer warpgroups per block of wgmma_sp's decode "
           "variants (0: the tile's)">,
    Option<"decodeBlocks", "decode-blocks", "int64_t", /*default=*/"0",
           "Blocks per SM of wgmma_sp's decode variants (0: choose, 1: one, "
           "2: two for every decode call)">,
    Option<"splitSlots", "split-slots", "int64_t", /*default=*/"0",
           "Override: the most routed slots the split-K variant takes, "
           "where a tile has one, within the 32 MiB partial-sum bound (0: "
           "choose)">,
    Option<"midSplitK", "mid-split-k", "int64_t", /*default=*/"0",
           "wgmma_sp: K slices of the mid-size split-K variant (0: choose, "
           "1: none)">,
    Option<"midSplitSlots", "mid-split-slots", "int64_t", /*default=*/"0",
           "wgmma_sp: the most routed slots the mid-size split-K variant "
           "takes, within the 32 MiB partial-sum bound (0: choose)">,
    Option<"evictFirstExperts", "evict-first-experts", "int64_t",
           /*default=*/"-1",
           "wgmma_sp: the most experts a call's routed slots may reach for "
           "its decode and split-K variants to copy weights with the L2 "
           "evict_first policy (-1: choose, 0: never)">,
    Option<"splitPersistent", "split-persistent", "int64_t", /*default=*/"0",
           "wgmma_sp: run the split-K variant on a persistent grid (1), "
           "for every call whose unsplit grid has fewer blocks than SMs">,
    Option<"wideCluster", "wide-cluster", "int64_t", /*default=*/"1",
           "Blocks per cluster of wgmma_sp's wide variant sharing its "
           "activation tile (1: none, 2: pairs where the row blocks pair "
           "up)">,
    Option<"wideMulticast", "wide-multicast", "int64_t", /*default=*/"1",
           "Blocks per cluster of wgmma_sp's wide variant sharing its "
           "weights by multicast copies (1: none, 2: pairs of token tiles "
           "where the wide variant's block holds an even number of units)">,
    Option<"wideMulticastSlots", "wide-multicast-slots", "int64_t",
           /*default=*/"-1",
           "Routed slots from which wgmma_sp's wide variant runs its "
           "multicast kernel with wide-multicast (0: every wide call; -1: "
           "where the experts average two token tiles)">,
    Option<"wideAccumulators", "wide-accumulators", "int64_t",
           /*default=*/"-1",
           "Accumulator registers a consumer thread of wgmma_sp's wide "
           "variant may hold, up to what its registers leave (-1: 160)">,
    Option<"wideUnits", "wide-units", "int64_t", /*default=*/"-1",
           "64-row units each consumer warpgroup of wgmma_sp's wide variant "
           "multiplies (1, or 2: pairs, where the tile allows them; -1: "
           "pairs)">,
    Option<"persistentUnits", "persistent-units", "int64_t",
           /*default=*/"-1",
           "64-row units each consumer warpgroup of wgmma_sp's persistent "
           "grid of two warpgroups multiplies (1, or 2: pairs, where the "
           "tile allows them; -1: pairs on SiLU-up's upper grid from "
           "kPersistentPairsSlotsPerExpert routed slots per expert where "
           "its paired tiles fill at most kPersistentPairsMaxWaves waves)">,
    Option<"latePairs", "late-pairs", "int64_t", /*default=*/"0",
           "wgmma_sp: where the wide variant's first call leaves a paired "
           "grid short of a wave, pair from the routed slots per expert "
           "where it fills one, single units (the second width) below "
           "(1; 0: no pairs there)">,
    Option<"widePacked", "wide-packed", "int64_t", /*default=*/"-1",
           "wgmma_sp's wide variant reads its input from a workspace a pack "
           "kernel fills in the ring's layout (-1: choose (0), 0: gathers, 1: "
           "for gathered inputs, 2: for every input)">,
    Option<"tokenStep", "token-step", "int64_t", /*default=*/"-1",
           "wgmma_sp: a block multiplies (and, packed, copies) its tile's "
           "tokens rounded up to a multiple of this, not its variant's "
           "tokens (-1: choose, 0: the variant's tokens; a multiple of 8)">,
    Option<"groupTiles", "group-tiles", "int64_t", /*default=*/"0",
           "Override: token tiles per group of the ordinary grid's block "
           "order (0: choose, 1: none)">,
    Option<"strategy", "strategy", "std::string", /*default=*/"\"auto\"",
           "MMA strategy: auto (wgmma_sp on sm_90a where the shape fits, "
           "else mma_sp), mma_sp or wgmma_sp">,
  ];
  let dependentDialects = ["::mlir::samoyeds::SamoyedsDialect"];
}

#endif // SAMOYEDS_DIALECT_SAMOYEDS_TRANSFORMS_PASSES_TD
