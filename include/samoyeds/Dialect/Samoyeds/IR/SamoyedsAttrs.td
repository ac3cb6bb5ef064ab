//===- SamoyedsAttrs.td - Samoyeds attributes --------------*- tablegen -*-===//

#ifndef SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSATTRS_TD
#define SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSATTRS_TD

include "samoyeds/Dialect/Samoyeds/IR/SamoyedsDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

class Samoyeds_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Samoyeds_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Samoyeds_SparseFormatAttr : Samoyeds_Attr<"SparseFormat", "ss"> {
  let summary = "The SS weight format: N of every M rows per K-span of V, 2:4 inside";
  let description = [{
    Encoding of an expert weight tensor `[experts, rows, cols]`. Rows (output
    features) are grouped by `m`; for every span of `v` columns, `n` rows of
    each group are kept (the choice is shared across the span) and every kept
    row is 2:4 sparse along the columns. `n = m` is plain 2:4 (50% density);
    `n = 1, m = 2, v = 128` is the Samoyeds default (25% density).

    ```mlir
    tensor<8x28672x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>
    ```

    The packed layout (values, `mma.sp` metadata, row indices) is specified in
    docs/Format.md.
  }];
  let parameters = (ins "int64_t":$n, "int64_t":$m, "int64_t":$v);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The K step of one `mma.sp` instruction (m16n8k32, 16-bit types).
    static constexpr int64_t kMmaK = 32;
    /// Rows of one `mma.sp` tile; kept rows come in whole tiles.
    static constexpr int64_t kMmaRows = 16;
    /// Largest supported group size.
    static constexpr int64_t kMaxM = 16;
    /// True for plain 2:4 (no row selection).
    bool isPlain24() const { return getN() == getM(); }
    /// Fraction of the dense weight's entries that are stored.
    double getDensity() const { return 0.5 * getN() / getM(); }
    /// Checks a weight of `rows` x `cols` against the format; reports through
    /// `emitError` and fails when a rule is broken.
    ::mlir::LogicalResult verifyWeightShape(
        ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError,
        int64_t rows, int64_t cols) const;
  }];
}

def Samoyeds_EpilogueKind : I32EnumAttr<"EpilogueKind",
    "what an expert matmul does with its accumulators", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"SiluMul", 1, "silu_mul">,
      I32EnumAttrCase<"WeightedCombine", 2, "weighted_combine">]> {
  let cppNamespace = "::mlir::samoyeds";
  let genSpecializedAttr = 0;
}
def Samoyeds_EpilogueAttr : EnumAttr<Samoyeds_Dialect, Samoyeds_EpilogueKind,
                                     "epilogue"> {
  let assemblyFormat = "`<` $value `>`";
}

def Samoyeds_ActivationKind : I32EnumAttr<"ActivationKind",
    "the gated activation of an MoE expert", [
      I32EnumAttrCase<"Silu", 0, "silu">,
      I32EnumAttrCase<"ClampedSwiglu", 1, "clamped_swiglu">]> {
  let cppNamespace = "::mlir::samoyeds";
  let genSpecializedAttr = 0;
}
/// `silu`: SiLU(gate) * up. `clamped_swiglu` (gpt-oss): with g = min(gate,
/// limit) and u = clamp(up, -limit, limit), g * sigmoid(alpha * g) * (u + 1);
/// its `alpha` and `limit` are the ops' `swiglu_alpha` and `swiglu_limit`
/// (1.702 and 7.0 when absent).
def Samoyeds_ActivationAttr : EnumAttr<Samoyeds_Dialect, Samoyeds_ActivationKind,
                                       "activation">;

def Samoyeds_MmaStrategy : I32EnumAttr<"MmaStrategy",
    "the sparse tensor-core instruction family an expert matmul is built on", [
      I32EnumAttrCase<"MmaSp", 0, "mma_sp">,
      I32EnumAttrCase<"WgmmaSp", 1, "wgmma_sp">]> {
  let cppNamespace = "::mlir::samoyeds";
  let genSpecializedAttr = 0;
}
def Samoyeds_MmaStrategyParameter : EnumParameter<Samoyeds_MmaStrategy> {
  let defaultValue = "::mlir::samoyeds::MmaStrategy::MmaSp";
}

def Samoyeds_TileConfigAttr : Samoyeds_Attr<"TileConfig", "tile"> {
  let summary = "Tile shape and pipeline depth of a compiled expert matmul";
  let description = [{
    A block computes `warps` × `row_tiles` × 16 kept rows (twice that for the
    `silu_mul` epilogue: gate and up) by `tokens` routed tokens of one expert,
    with `warps` × `token_warps` warps: warp (r, t) owns the `row_tiles`
    kept-row tiles r × `row_tiles` … and the t-th of `token_warps` equal
    slices of the tokens, and multiplies each activation fragment it loads
    with all of its row tiles. A warp whose token slice is empty (an expert
    with fewer tokens) skips its multiplies. `k` columns per pipeline stage
    and `stages` stages of the asynchronous copy pipeline. `token_warps` and
    `row_tiles` are 1 when omitted, `row_masks` 0.

    Row selection (n = 1 < m) keeps, per thread and output row of a group,
    one accumulator. With `row_masks` = 0 the `mma.sp` accumulates a span's
    partial sums, added at each span end into the accumulator of the row
    the span chose (m + 1 sets of accumulators). With `row_masks` = 1 the
    first set accumulates every span (the group's total) and set j > 0 is fed
    by a second `mma.sp` whose weight rows are masked to the spans that chose
    row j; row 0 is the total minus the others (m sets, no span-end work, m
    `mma.sp` per fragment); the row choices stream through shared memory
    with the weights.

    Split-K for few routed tokens: when `split_k` > 1, a call with at most
    `split_slots` routed slots runs a second variant of the kernel whose
    blocks each multiply one of `split_k` equal slices of K, writing f32
    partial sums to a workspace of `split_k` × `split_slots` rows that a
    reduction kernel sums in a fixed order (the result is deterministic) and
    finishes with the epilogue. Decode gives a layer too few blocks to fill
    the chip otherwise. Larger calls run the unsplit kernel. `split_k` is 1
    and `split_slots` 0 when omitted.

    Persistent grid: when `persistent` = k > 0 the unsplit kernel launches
    k blocks per SM of the device it runs on (G blocks), whatever the token
    count, and ptxas is told that k blocks must be resident together
    (registers). Tiles are numbered token tile × row blocks + row block, and
    block g computes tiles g, g + G, … through one continuous pipeline: the
    copies of a tile's first stages are issued while the previous tile's
    last stages are multiplied, and its epilogue runs between them. It needs
    at least 2 stages and at least `stages` - 1 k tiles. With
    `persistent_slots` = S > 0 the persistent variant runs for calls with at
    least S routed slots and the ordinary grid below (above `split_slots`);
    with S = 0 it replaces the ordinary grid. `persistent_tokens` > 0 gives
    the persistent variant its own routed tokens per block (the other
    variants keep `tokens`). `persistent`, `persistent_slots` and
    `persistent_tokens` are 0 (one block per tile) when omitted. With
    strategy `wgmma_sp` `persistent` is 0 or 1 (its block fills an SM), the
    unsplit calls below `persistent_slots` run the persistent grid too, with
    `tokens` (it won at every size measured against an ordinary grid with
    the same copy path), and a variant whose tokens
    differ from the tile's uses as many of the `stages` ring slots as its
    shared memory holds.

    Decode token tile: when `decode_tokens` = d > 0 the calls of at most
    `decode_slots` routed slots take d routed tokens per block instead of
    `tokens`: the split-K variant when `split_slots` <= `decode_slots`, and
    a variant of the ordinary grid (`_decode`) for the unsplit ones. At decode
    most experts get a few tokens, and a block of `tokens` spent its
    activation copies and multiplies on empty columns. d is a multiple of
    8 × `token_warps` below `tokens`; `decode_tokens` and `decode_slots` are
    0 (no decode tile) when omitted. `decode_warps` > 0 gives those
    variants that many warps instead of `warps` (with strategy `wgmma_sp`
    4 per consumer warpgroup, and a ring of as many slots as fit; with
    `mma_sp` that many row warps): at decode fewer rows per block make
    more blocks to stream the weights; 0 (the tile's `warps`) when omitted.
    `decode_stages` > 0 (strategy `mma_sp`) gives those variants a ring of
    that many stages instead of `stages`: a decode tile of fewer row warps
    fits more stages in the same shared memory; 0 (the tile's `stages`)
    when omitted.

    Two blocks per SM at decode (strategy `wgmma_sp`): `shared_slots` = S
    > 0 gives the unsplit calls of the decode tile from S routed slots on a
    variant (`_decode_shared`) whose two blocks share an SM, and
    `split_blocks` = 2 does the same for the split-K variant where it takes
    the decode tile: ptxas sizes their registers for two blocks and their
    ring keeps as many slots as half an SM's shared memory holds. One
    block's consumers wait on their MMAs between stages and a grid of a few
    waves idles in its last; two blocks overlap both, where a call has more
    blocks than SMs (a lone block with the smaller ring streams slower).
    `shared_slots` is 0 (none) and `split_blocks` 1 when omitted.

    Wide token tile: when `wide_tokens` = w > 0 the unsplit calls of at
    least `wide_slots` routed slots (and above the decode variant's) take w
    routed tokens per block: a variant of the ordinary grid (`_wide`) whose
    blocks read each weight tile once per w tokens. w is a multiple of
    8 × `token_warps` above `tokens`. With a persistent grid (strategy
    `wgmma_sp`, whose persistent grid runs the unsplit calls at every size)
    the wide variant serves the large calls instead of the persistent
    variant: `persistent_slots` and `persistent_tokens` are then 0, and the
    persistent grid, with `tokens`, runs the unsplit calls below
    `wide_slots`. `wide_tokens` and `wide_slots` are 0 (no wide tile) when
    omitted.

    Two wide widths (strategy `wgmma_sp`): with `wide_low_tokens` = w' > 0
    the wide variant's calls of at most `wide_low_slots` routed slots take
    w' routed tokens per block (`_wide_low`), those above it `wide_tokens`
    (`_wide`): a width that makes most experts of the call one token tile
    (rather than a tile and a sliver, each reading the expert's weights)
    where the other width, whose ring holds more slots, makes as many
    tiles. w' is a multiple of 8 × `token_warps` above `tokens`, other than
    `wide_tokens`, and `wide_low_slots` is at least `wide_slots`; not with
    `wide_cluster` = 2. Both are 0 (one width) when omitted.

    With strategy `wgmma_sp`, `wide_warps` > 0 gives the wide variant that
    many warps (4 per consumer warpgroup) instead of `warps`: a tile whose
    other variants take four consumer warpgroups (few tokens each) keeps
    two for the wide tile, whose accumulators they hold. 0 (the tile's
    `warps`) when omitted.

    A tile with a wide variant and a persistent grid can split the calls
    below `wide_slots` (strategy `wgmma_sp`): with `persistent_warps` = w >
    0 and `persistent_slots` = S > 0 the persistent grid takes the calls
    below S with w warps, `persistent_tokens` routed tokens (the tile's
    `tokens` when 0) and as many ring slots as fit, and the persistent grid
    with `warps` and `tokens` those from S (the `_persistent_upper`
    kernel). `persistent_warps` is 0 (no split) when omitted.

    Unit pairs (strategy `wgmma_sp`): with `wide_units` = 2 each consumer
    warpgroup of the wide variant (its `_wide` width; a second width,
    `_wide_low`, multiplies one unit: the calls below the routed slots
    where the paired grid fills a wave) multiplies two 64-row units
    of weights by the same gathered tokens instead of one: for `silu_mul`
    the gate unit and the up unit of the same kept rows, whose SiLU·up it
    then forms in its registers (no exchange through shared memory), else
    two units of the half. A block covers twice the kept rows per
    activation tile with the same consumer warpgroups; their accumulators
    hold both units' sets (2 × sets × tokens / 2). Not with `row_masks` = 1.
    With `wide_cluster` = 2 (since session 48; S49: 0.75-0.90x) the clusters pair
    neighbouring paired row blocks. `wide_units` is 1 when omitted.
    `persistent_units` = 2 does the same for the persistent grid's
    variants of at most two consumer warpgroups (their `tokens`); it needs
    `persistent` = 1 and `row_masks` = 0, and is 1 when omitted. With
    `persistent_units_slots` = S > 0 only the calls of the upper persistent
    grid from S routed slots take the pairs (the `_persistent_upper_pairs`
    kernel); those below S keep single units (`_persistent_upper`), and so
    does the grid below `persistent_slots`. It needs `persistent_units` =
    2, `warps` <= 8 (the pairs' two consumer warpgroups), `persistent_warps`
    > 8 (a grid of more warps below, so a wide variant) and S >
    `persistent_slots`, and is 0 (every call of the variants pairs) when
    omitted.

    The wide variant on the persistent grid (strategy `wgmma_sp`): with
    `wide_persistent` = 1 the `_wide` kernel launches one block per SM,
    each of which walks the wide tiles (the same tokens, warps and unit
    pairs) in the ordinary grid's order with one ring running on into its
    next tile, as the persistent grid of the large calls does. It needs
    `wide_tokens` > 0, no second width (`wide_low_tokens` = 0) but one that
    takes its calls by `wide_low_calls`, no clusters or multicast and no
    packed input, and is 0 when omitted.

    The second width's own warps and calls (strategy `wgmma_sp`): with
    `wide_low_warps` = w > 0 the `_wide_low` kernel runs w warps (4 per
    consumer warpgroup) instead of the wide variant's, and with
    `wide_low_calls` = [a1, b1, a2, b2, ...] (in place of
    `wide_low_slots`, which is then 0) it takes the wide variant's calls of
    a1 to b1, a2 to b2, ... routed slots and `_wide` the calls between and
    above them: one kernel each, launched under several bounds. Plain
    2:4's single units on four consumer warpgroups beside its unit pairs
    on two, each taking the calls whose grid makes fewer, fuller waves
    (one expert's by default, session 53); one expert's routed row
    selection's single units of 128 tokens beside its pairs of 80, both on
    two warpgroups (session 54). The bounds ascend, a range's
    first call is at least `wide_slots` and above the end of the one
    before it plus one, the last at most 2^30, at most kMaxWideLowCalls
    ranges (the conversion cuts them at the wide variant's first call,
    past the decode and split-K variants' calls); both need
    `wide_low_tokens` > 0, and no packed input or multicast with the
    calls. 0 and none when omitted.

    Masked wide rows (strategy `wgmma_sp`, row selection): with
    `wide_row_masks` = 1 the wide widths (`_wide`, `_wide_low`) multiply
    masked group rows as `row_masks` = 1 has every variant do (m sets, m
    times the MMAs, no span-end routing), while the decode, split-K,
    ordinary and persistent grids route the kept rows' span sums. Where a
    span is shorter than the k tile the routing folds the running sum into
    the group rows after every span, so a consumer waits for each MMA; the
    wide tile's many tokens pay most for it. It needs `wide_tokens` > 0,
    `row_masks` = 0 (with 1 every variant is masked already), `wide_units`
    = 1 (a masked unit's A operand is in registers), no clusters,
    multicast, packed input or wide persistent grid, and is 0 when omitted;
    without row selection it changes nothing.

    Cluster pairs (strategy `wgmma_sp`): with `wide_cluster` = 2 the wide
    variant launches clusters of two blocks on neighbouring row blocks of
    one token tile, which share its activation tile: each block gathers
    half of the tile's token rows into its ring slot and bulk-copies that
    half into its peer's slot (distributed shared memory), so a block reads
    half the activation bytes from L2 per stage. A slot is refilled once
    the consumers of both blocks have released it. The row blocks of a
    half pair up and the wide tile's halves are whole 8-row groups; with
    gathered rows the lowering needs a ring of at least three slots (a
    block forwards its half of a slot after waiting for an earlier one).
    `wide_cluster` is 1 (no clusters) when omitted.
    (Measured in session 22: 0.63-0.72x; then every consumer thread
    released on the peer at cluster scope, a GPU-wide fence each; since
    session 46 one arrival per warp at CTA scope, not yet timed.)

    Weight multicast (strategy `wgmma_sp`): with `wide_multicast` = 2 the
    wide variant launches clusters of two blocks on the same row block and
    two neighbouring token tiles of one expert (grid x holds the two ranks
    of each row block, grid y the pairs of token tiles, numbered expert
    after expert), which share the weights: each block bulk-copies half of
    a stage's 64-row units (values, metadata, row choices) into both
    blocks' rings with one multicast copy each, and gathers its own token
    rows, so the pair reads each weight byte from L2 once. A slot is
    refilled once the consumers of both blocks have released it. Where an
    expert's last pair has one tile, the first block works alone (all the
    stage's copies into its own ring) and the second leaves at once. The
    multicast kernel (`_wide_mc`)
    takes the wide variant's calls from `wide_multicast_slots` routed slots
    (0: all of them; the second width's, below, never multicast), the
    wide variant's own kernel those below. Not with `wide_cluster` = 2; the
    wide variant's blocks must hold an even number of units.
    `wide_multicast` is 1 (none) and `wide_multicast_slots` 0 when omitted.
    (Measured in session 45: 0.60-0.71x where it runs; then each consumer
    warp's release on the peer was a cluster-scope release, which ptxas
    fences GPU-wide, and a block group held group_tiles pairs of tiles;
    both fixed in session 46, session 47 measured 0.94-1.04x: not chosen.)

    Packed wide input (strategy `wgmma_sp`): with `wide_packed` = 1 a
    kernel launched before the wide variant (`_pack`) writes each token
    tile's input rows (gathered through the token list, or the slot rows)
    into a workspace in the exact 128-byte-swizzled B layout of the ring,
    one stage after another, so the wide variant's producer brings a
    stage's rows with one bulk copy (in a cluster pair each block copies
    one of the stage's two 64-column blocks to both blocks' rings with one
    multicast bulk copy) instead of 16-byte gathers. A call of P slots
    fills at most P + `experts` × (`wide_tokens` − 1) rows (each expert's
    last tile padded); the workspace holds two rows per routed slot where
    the wide variant's first call has at least `experts` × (`wide_tokens`
    − 1) slots, three where it has at least half that, the fewest it may
    have. In a tile without a wide variant, whose persistent grid serves
    the large calls (`persistent` > 0), that grid's kernel of the calls
    from `persistent_slots` reads its input packed the same way, in tiles
    of `persistent_tokens`. `wide_packed` is 0 (gathers) when omitted.

    Token steps (strategy `wgmma_sp`): with `token_step` = s > 0 a block
    whose token tile holds c tokens issues its MMAs with N = c rounded up
    to a multiple of s (at most the variant's tokens) instead of the
    variant's tokens, and a packed input brings only those rows: each
    variant with more tokens than s, at most two consumer warpgroups and
    unmasked rows builds its K loop once per such N and picks one per tile,
    so a tile of few tokens neither multiplies nor (packed) copies the
    empty columns. (With four consumer warpgroups or masked rows ptxas
    serialised some variants' wgmma for want of registers: those keep
    their tokens.) s is a multiple of 8 (the MMA's N) and not with
    `wide_cluster` = 2. `token_step` is 0 (the variant's tokens) when
    omitted.

    Block order: the ordinary grid (and its split-K and decode variants)
    numbers its blocks in launch order and hands them out in groups of
    `group_tiles` token tiles: consecutive blocks take the group's token
    tiles, token tile fastest, for each block of kept rows in turn, and the
    next group starts when the group's row blocks are done. A wave of blocks
    then reads the weights of a few row blocks and the activations of a few
    token tiles, which stay in L2, instead of every row block of one token
    tile (the whole weight, read again for each token tile). `group_tiles` is
    1 (row block fastest) when omitted.

    Persistent split-K (strategy `wgmma_sp`): with `split_persistent` = 1
    the split-K variant runs one block per SM instead of one per (row block,
    token tile, K slice): block g of G takes the call's units g, g + G, …,
    a unit being one K slice of one (row block, token tile), through one
    continuous ring, and stores each unit's partial sums where the split-K
    block of that slice would. Every SM then streams about the same bytes
    where the split grid would leave SMs idle or run a partial wave.
    `split_persistent` is 0 when omitted.

    Mid-size split-K (strategy `wgmma_sp`): with `mid_split_k` = s > 1 the
    calls above `split_slots` up to `mid_split_slots` routed slots run a
    third variant (`_split_mid`): the split-K kernel of the ordinary tile
    with s slices of K, its own f32 workspace of s × `mid_split_slots` rows
    and its own reduction (or combine). It serves weights of few experts
    whose unsplit grid would leave most SMs idle at such calls while
    `split_k` slices would run several waves. Unsplit calls start above
    `mid_split_slots`. `mid_split_k` is 1 and `mid_split_slots` 0 when
    omitted.

    Weight streams (strategy `wgmma_sp`): with `evict_first_experts` = x > 0
    the decode and split-K variants, which read each weight byte once a
    call, copy their weights (values, metadata, row choices) with the L2
    `evict_first` cache policy in the calls whose routed slots reach at most
    x experts (min(P, E) <= x; every call where x >= E): the L2 replaces
    their lines first and keeps what other kernels left there. 0 (when
    omitted): no cache policy.

    MMA strategy: `strategy = mma_sp` (the default) builds the kernel on
    the warp-level `mma.sp::ordered_metadata` m16n8k32 (sm_80 and later),
    everything above. `strategy = wgmma_sp` builds it on Hopper's warpgroup
    `wgmma.mma_async.sp` m64n`tokens`k32 (sm_90a): `warps` / 4 warpgroups
    each own 64 kept rows (for `silu_mul` the first half of the warpgroups
    the gate rows, the second half the matching up rows), the weight tile
    of a stage (values and metadata, packed in the `wgmma` layout of
    docs/Format.md) arrives by one bulk copy per warpgroup into a ring of
    `stages` slots guarded by mbarriers, and the block's `tokens` routed
    tokens (8 to 256) are gathered by cp.async into the 128-byte-swizzled
    layout the B descriptor reads; `k` is a multiple of 128. It supports
    split-K and the persistent grid; `token_warps` and `row_tiles` belong
    to `mma_sp`. With row selection its consumers either multiply the kept
    rows and route (`row_masks` = 0: the MMAs of all spans accumulate into
    one running sum P; where span s ends, the sum of each group row j > 0
    takes (δ(c(s) = j) − δ(c(s + 1) = j)) · P, c(s) the group row span s
    chose for the kept row and c(s + 1) that of the next span of the block's K
    range, if any, which telescopes to the span sums of the spans that
    chose j; group row 0 is P less the others: one multiply-add per value,
    span and group row past the first, m accumulator sets; the row choices
    arrive with the weights), or, with
    `row_masks` = 1, multiply the group rows themselves: a consumer takes
    its unit's kept rows from shared memory into registers (`wgmma_sp_rs`),
    one copy per row of the group, zero in the rows the span did not choose
    (the row choices arrive with the weights), so its m 64-row tiles
    accumulate without routing (m sets, m times the MMAs; m divides 16).

    ```mlir
    #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, strategy = wgmma_sp>
    #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2>
    #samoyeds.tile<warps = 4, tokens = 128, k = 32, stages = 3, token_warps = 4>
    #samoyeds.tile<warps = 2, tokens = 64, k = 64, stages = 5, token_warps = 2, row_tiles = 2>
    #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 5, split_k = 4, split_slots = 16>
    #samoyeds.tile<warps = 4, tokens = 64, k = 64, stages = 4, persistent = 3, persistent_slots = 512>
    #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 5, split_k = 8, split_slots = 21, decode_tokens = 8, decode_slots = 1024>
    #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, group_tiles = 8, strategy = wgmma_sp>
    #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, wide_tokens = 128, wide_slots = 8192, strategy = wgmma_sp>
    #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 1024, wide_cluster = 2, strategy = wgmma_sp>
    #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 1024, wide_cluster = 2, wide_packed = 1, strategy = wgmma_sp>
    #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 512, wide_packed = 1, token_step = 16, strategy = wgmma_sp>
    #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 4, wide_tokens = 128, wide_slots = 8192, wide_packed = 1, token_step = 32, wide_low_tokens = 160, wide_low_slots = 10240, strategy = wgmma_sp>
    #samoyeds.tile<warps = 16, tokens = 64, k = 128, stages = 4, decode_tokens = 8, decode_slots = 256, decode_warps = 8, strategy = wgmma_sp>
    #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, row_masks = 1, split_k = 4, split_slots = 8, split_blocks = 2, decode_tokens = 16, decode_slots = 512, shared_slots = 17, strategy = wgmma_sp>
    #samoyeds.tile<warps = 8, tokens = 64, k = 128, stages = 6, split_k = 4, split_slots = 8, decode_tokens = 16, decode_slots = 512, evict_first_experts = 25, strategy = wgmma_sp>
    ```
  }];
  let parameters = (ins "int64_t":$warps, "int64_t":$tokens, "int64_t":$k,
                        "int64_t":$stages,
                        DefaultValuedParameter<"int64_t", "1">:$token_warps,
                        DefaultValuedParameter<"int64_t", "1">:$row_tiles,
                        DefaultValuedParameter<"int64_t", "0">:$row_masks,
                        DefaultValuedParameter<"int64_t", "1">:$split_k,
                        DefaultValuedParameter<"int64_t", "0">:$split_slots,
                        DefaultValuedParameter<"int64_t", "0">:$persistent,
                        DefaultValuedParameter<"int64_t", "0">:$persistent_slots,
                        DefaultValuedParameter<"int64_t", "0">:$persistent_tokens,
                        DefaultValuedParameter<"int64_t", "0">:$decode_tokens,
                        DefaultValuedParameter<"int64_t", "0">:$decode_slots,
                        DefaultValuedParameter<"int64_t", "0">:$decode_warps,
                        DefaultValuedParameter<"int64_t", "0">:$decode_stages,
                        DefaultValuedParameter<"int64_t", "1">:$split_blocks,
                        DefaultValuedParameter<"int64_t", "0">:$shared_slots,
                        DefaultValuedParameter<"int64_t", "0">:$wide_tokens,
                        DefaultValuedParameter<"int64_t", "0">:$wide_slots,
                        DefaultValuedParameter<"int64_t", "1">:$group_tiles,
                        DefaultValuedParameter<"int64_t", "0">:$split_persistent,
                        DefaultValuedParameter<"int64_t", "1">:$wide_cluster,
                        DefaultValuedParameter<"int64_t", "0">:$wide_warps,
                        DefaultValuedParameter<"int64_t", "0">:$persistent_warps,
                        DefaultValuedParameter<"int64_t", "0">:$wide_packed,
                        DefaultValuedParameter<"int64_t", "0">:$token_step,
                        DefaultValuedParameter<"int64_t", "1">:$mid_split_k,
                        DefaultValuedParameter<"int64_t", "0">:$mid_split_slots,
                        DefaultValuedParameter<"int64_t", "0">:$evict_first_experts,
                        DefaultValuedParameter<"int64_t", "0">:$wide_low_tokens,
                        DefaultValuedParameter<"int64_t", "0">:$wide_low_slots,
                        DefaultValuedParameter<"int64_t", "1">:$wide_units,
                        DefaultValuedParameter<"int64_t", "1">:$persistent_units,
                        DefaultValuedParameter<"int64_t", "0">:$persistent_units_slots,
                        DefaultValuedParameter<"int64_t", "1">:$wide_multicast,
                        DefaultValuedParameter<"int64_t", "0">:$wide_multicast_slots,
                        DefaultValuedParameter<"int64_t", "0">:$wide_persistent,
                        DefaultValuedParameter<"int64_t", "0">:$wide_low_warps,
                        DefaultValuedParameter<"int64_t", "0">:$wide_row_masks,
                        OptionalParameter<"::mlir::DenseI64ArrayAttr">:$wide_low_calls,
                        Samoyeds_MmaStrategyParameter:$strategy);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// wgmma_sp: accumulator sets a consumer thread holds for `format`, each
    /// of tokens / 2 registers: one without row selection, else m (routed:
    /// the running sum and the sums of group rows 1 … m - 1; `masked`: the m
    /// 64-row tiles of its unit's group rows).
    static int64_t wgmmaAccumulatorSets(SparseFormatAttr format) {
      return format.isPlain24() ? 1 : format.getM();
    }
    /// mma_sp: the shapes of a block's shared-memory arrays, in the order
    /// the kernel carves them out of its dynamic shared memory: per stage
    /// the activations (`tokens` × (`k` + 8) 16-bit values, padded against
    /// bank conflicts), per row warp and unit the weight values (`k` / 32
    /// fragments of 32 × 4 i32) and their metadata (`k` / 32 × 16 i32), and
    /// with masked row selection the row choices (`spans` × 16 bytes). The
    /// one description of that layout (select-tiles sizes stages by it, the
    /// kernel carves it); element bytes in kMmaSpSmemElementBytes.
    static ::llvm::SmallVector<::llvm::SmallVector<int64_t, 6>, 4>
    mmaSpSmemShapes(int64_t stages, int64_t tokens, int64_t k,
                    int64_t rowWarps, int64_t units, bool masked,
                    int64_t spans) {
      int64_t steps = k / 32;
      return {{stages, tokens, k + 8},
              {stages, rowWarps, units, steps, 32, 4},
              {stages, rowWarps, units, steps, 16},
              {stages, rowWarps, masked ? units : 0, spans, 16}};
    }
    static constexpr int64_t kMmaSpSmemElementBytes[4] = {2, 4, 4, 1};
    /// mma_sp: the bytes of the arrays of mmaSpSmemShapes.
    static int64_t mmaSpSmemBytes(int64_t stages, int64_t tokens, int64_t k,
                                  int64_t rowWarps, int64_t units,
                                  bool masked, int64_t spans) {
      int64_t bytes = 0;
      auto shapes = mmaSpSmemShapes(stages, tokens, k, rowWarps, units,
                                    masked, spans);
      for (auto [i, shape] : ::llvm::enumerate(shapes)) {
        int64_t n = kMmaSpSmemElementBytes[i];
        for (int64_t d : shape)
          n *= d;
        bytes += n;
      }
      return bytes;
    }
    /// mma_sp: the f32 accumulators a thread keeps, 4 for each m16n8
    /// fragment: `halves` (2 for silu_mul) times `sets` accumulator sets
    /// per output row (m with row selection, 1 for plain 2:4) times the
    /// fragments of `tokens` tokens (R row tiles a warp over R token warps
    /// keep as many).
    static constexpr int64_t mmaSpAccumulators(int64_t tokens, int64_t halves,
                                               int64_t sets) {
      return halves * sets * (tokens / 8) * 4;
    }
    /// mma_sp: the most accumulators per thread the tile choice gives. At
    /// 128 ptxas fits the kernels in 240-255 registers without spills (row
    /// selection over m = 4 at 64 tokens, m = 16 at 16 tokens, SiLU·up's
    /// persistent 64-token gate/up at m = 2); at 256 it spills 5-11 KB a
    /// thread (m = 8 at 64 tokens, m = 16 at 32; sm_80, docs/Robustness.md).
    static constexpr int64_t kMmaSpMaxAccumulators = 128;
    /// mma_sp: the most accumulators per thread of a persistent tile with
    /// three blocks of 128 threads an SM, whose launch bound leaves 168
    /// registers a thread (128 accumulators spilled 240-1,700 bytes there;
    /// sm_80); above it the persistent grid keeps two blocks an SM.
    static constexpr int64_t kMmaSpThreeBlockAccumulators = 64;
    /// Whether the split-K variant (`split_k` slices up to `split_slots`)
    /// takes the decode tile (`decode_tokens` up to `decode_slots`): all its
    /// calls are decode calls.
    static constexpr bool splitTakesDecodeTile(int64_t splitK,
                                               int64_t splitSlots,
                                               int64_t decodeTokens,
                                               int64_t decodeSlots) {
      return decodeTokens > 0 && splitK > 1 && splitSlots <= decodeSlots;
    }
    /// wgmma_sp: the fewest and the most registers per thread the producer
    /// warpgroup keeps (setmaxnreg); the consumers' registers are sized
    /// against the fewest. 56 spilled the four-warpgroup producer loop's
    /// gather addresses (8 bytes), 64 spills nothing.
    static constexpr int64_t kWgmmaMinProducerRegs = 56,
                             kWgmmaMaxProducerRegs = 64;
    /// wgmma_sp: registers per thread a block of `units` consumer
    /// warpgroups and the producer starts with, `blocks` blocks sharing an
    /// SM. Its `.maxntid` and `.minnctapersm` bound them to a multiple of 8
    /// of the SM's 64 K registers over the blocks' threads (at most 255),
    /// and ptxas gives a kernel with setmaxnreg that bound.
    static constexpr int64_t wgmmaLaunchRegs(int64_t units,
                                             int64_t blocks = 1) {
      return std::min<int64_t>(255, 65536 / (blocks * (units + 1) * 128)) /
             8 * 8;
    }
    /// wgmma_sp: registers per thread `units` consumer warpgroups raise to
    /// once the producer has lowered its own: a multiple of 8 of what the
    /// producer leaves of the block's launch registers (setmaxnreg only
    /// moves registers within the block: asking for more than the launch
    /// gave deadlocks), at most 240. One block per SM, two warpgroups: 224;
    /// four: 104; two blocks of two warpgroups: 88.
    static constexpr int64_t wgmmaConsumerRegs(int64_t units,
                                               int64_t blocks = 1) {
      int64_t block = wgmmaLaunchRegs(units, blocks) * (units + 1) * 128;
      int64_t left = block - kWgmmaMinProducerRegs * 128;
      return std::min<int64_t>(240, left / (units * 128) / 8 * 8);
    }
    /// wgmma_sp: registers per thread the producer warpgroup keeps: what
    /// the consumers' `wgmmaConsumerRegs` leave of the block's launch
    /// registers, a multiple of 8, at most `kWgmmaMaxProducerRegs`. Four
    /// warpgroups: 64; two: 56; two blocks of two warpgroups: 64.
    static constexpr int64_t wgmmaProducerRegs(int64_t units,
                                               int64_t blocks = 1) {
      int64_t left = wgmmaLaunchRegs(units, blocks) * (units + 1) * 128 -
                     wgmmaConsumerRegs(units, blocks) * units * 128;
      return std::min<int64_t>(kWgmmaMaxProducerRegs, left / 128 / 8 * 8);
    }
    /// wgmma_sp: the most accumulator registers a consumer thread of
    /// `units` consumer warpgroups can hold: its registers less 48 for
    /// addresses, descriptors and metadata (one block per SM, two
    /// warpgroups: 176; four: 56; two blocks of two warpgroups: 40). A tile
    /// beyond it is rejected.
    static int64_t wgmmaAccumulatorLimit(int64_t units, int64_t blocks = 1) {
      return wgmmaConsumerRegs(units, blocks) - 48;
    }
    /// wgmma_sp: the accumulator registers the tile choice gives a consumer
    /// thread by default: the limit, at most 160 (two warpgroups: 160;
    /// samoyeds-select-tiles' `wide-accumulators` asks for more).
    static int64_t wgmmaMaxAccumulators(int64_t units, int64_t blocks = 1) {
      return std::min<int64_t>(160, wgmmaAccumulatorLimit(units, blocks));
    }
    /// wgmma_sp: bytes of one swizzled weight block (64 kept rows by 128
    /// dense columns) and of one unit's metadata per K step of 32; the
    /// alignment of the 128-byte-swizzled tiles.
    static constexpr int64_t kWgmmaBlockBytes = 8192,
                             kWgmmaMetaStepBytes = 256, kWgmmaSmemAlign = 1024;
    /// wgmma_sp: bytes of one unit's row choices of one span (a byte per
    /// kept row of its 64; row selection).
    static constexpr int64_t kWgmmaRowChoiceBytes = 64;
    /// wgmma_sp: spans whose row choices one ring slot of K tile `k` holds
    /// per unit: with row selection one per span the stage covers (spans of
    /// `v` columns; the span a stage is part of where spans are longer),
    /// none without.
    /// wide_packed: rows per routed slot of the packed workspace (at most
    /// this many): every call from `fromSlots` slots, whose token tiles
    /// fill at most P + experts × (wideTokens − 1) rows, fits; 0: none.
    static constexpr int64_t kWidePackedMaxRowsPerSlot = 3;
    static int64_t widePackedRowsPerSlot(int64_t experts, int64_t wideTokens,
                                         int64_t fromSlots) {
      for (int64_t r = 2; r <= kWidePackedMaxRowsPerSlot; ++r)
        if ((r - 1) * fromSlots >= experts * (wideTokens - 1))
          return r;
      return 0;
    }
    /// wide_packed: the fewest routed slots a wide call may have, where
    /// widePackedRowsPerSlot first gives kWidePackedMaxRowsPerSlot.
    static int64_t widePackedMinSlots(int64_t experts, int64_t wideTokens) {
      return llvm::divideCeilSigned(experts * (wideTokens - 1),
                                    kWidePackedMaxRowsPerSlot - 1);
    }
    /// A tile's tokens are a multiple of this (the MMAs' N granularity).
    static constexpr int64_t kTokenQuantum = 8;
    /// The largest routed-slot count a tile's slot bounds name
    /// (`wide_slots`, `decode_slots`, `wide_low_calls`, ...).
    static constexpr int64_t kMaxSlotBound = int64_t(1) << 30;
    /// The most slot ranges `wide_low_calls` lists (the second width's
    /// calls beside the wide variant's).
    static constexpr int64_t kMaxWideLowCalls = 8;
    static int64_t wgmmaChoiceSpans(int64_t v, int64_t k, bool rowSelect) {
      return rowSelect ? (k > v ? k / v : 1) : 0;
    }
    /// wgmma_sp: shared memory of one ring slot of K tile `k`: per unit its
    /// weight blocks, metadata and (row selection) the row choices of
    /// `choiceSpans` spans, the gathered tokens (16-bit), and the slot's full
    /// and empty mbarriers.
    static int64_t wgmmaSlotBytes(int64_t units, int64_t tokens, int64_t k,
                                  int64_t choiceSpans) {
      int64_t perUnit = k / 128 * kWgmmaBlockBytes +
                        k / 32 * kWgmmaMetaStepBytes +
                        choiceSpans * kWgmmaRowChoiceBytes;
      return units * perUnit + tokens * k * 2 + 2 * 8;
    }
    /// wgmma_sp: bytes of the SiLU·up epilogue's exchange of the up
    /// accumulators: per gate/up unit pair, `accs` accumulators per value (m
    /// with row selection) of tokens / 2 values per thread of a warpgroup,
    /// f32.
    static int64_t wgmmaExchangeBytes(int64_t unitsPerHalf, int64_t accs,
                                      int64_t tokens) {
      return unitsPerHalf * accs * 128 * (tokens / 2) * 4;
    }
    /// wgmma_sp: the most ring slots a block keeps.
    static constexpr int64_t kWgmmaMaxStages = 6;
    /// wgmma_sp: ring slots of `slotBytes` that fit in `budget` bytes of
    /// shared memory beside `reserved` others, clamped to [2, `most`].
    static int64_t wgmmaStages(int64_t budget, int64_t reserved,
                               int64_t slotBytes, int64_t most) {
      return std::clamp<int64_t>((budget - reserved) / slotBytes, 2, most);
    }
  }];
}

include "samoyeds/Dialect/Samoyeds/IR/SamoyedsPlanAttrs.td"

#endif // SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSATTRS_TD
