//===- SSMMLaunches.cpp - The launches of one expert matmul ---------------===//
//
// Which kernels an expert matmul's tile asks for and the calls each takes
// (planMatmuls), their build (lowerSSMM: the matmul variants, the combine,
// the split reduction) and the pairing rule of reduce-in-gather.
//
//===----------------------------------------------------------------------===//

#include "LaunchPlan.h"
#include "SSMMPlan.h"

using namespace mlir;
using namespace mlir::samoyeds;

namespace {
/// Restricts `launch` to calls whose P is in [lo, hi] (hi < 0: no bound).
void guardBySlots(KernelLaunch &launch, int64_t lo, int64_t hi) {
  launch.whenSymbol = "P";
  launch.whenMin = lo;
  launch.whenMax = hi;
}

/// One expert-matmul kernel of an op's tile: its name suffix, variant and
/// the calls it takes (P in [lo, hi]; hi < 0: no upper bound).
struct PlannedMatmul {
  StringRef suffix;
  SSMMVariant variant;
  int64_t lo, hi;
};

/// The matmul kernels of `op`'s tile, in launch order. A tile with split_k >
/// 1 has the split-K variant, for P <= split_slots (the unsplit launches
/// take P > split_slots): its matmul writes f32 partial rows to a workspace
/// of split_k × split_slots rows, which a split reduction kernel sums in
/// slice order. A tile with decode_tokens > 0 adds the decode variant for the
/// unsplit calls up to decode_slots (from shared_slots a second one with two
/// blocks per SM), and one with wide_tokens > 0 the wide variant for those
/// from wide_slots (with wide_low_tokens, the second width for those up to
/// wide_low_slots). A tile with persistent > 0 and no wide variant adds the
/// persistent variant for P >= persistent_slots, or uses it instead of the
/// ordinary grid when that is every unsplit call; below persistent_slots
/// (below wide_slots with a wide variant) a strategy whose persistent grid
/// always wins runs it with `tokens`. With a wide variant and
/// persistent_warps, the persistent grid runs with those warps and
/// persistent_tokens below persistent_slots (`_persistent_narrow`) and with
/// the tile's warps and tokens from there to wide_slots
/// (`_persistent_upper`). A
/// tile with mid_split_k > 1 has the mid-size split-K variant for P in
/// (split_slots, mid_split_slots] (the unsplit launches then take P >
/// mid_split_slots), planned before the split-K variant, which stays last.
SmallVector<PlannedMatmul> planMatmuls(SSMMOp op) {
  TileConfigAttr tile = op.getTileAttr();
  int64_t splits = tile ? tile.getSplitK() : 1;
  int64_t slots = splits > 1 ? tile.getSplitSlots() : 0;
  int64_t midSlots =
      tile && tile.getMidSplitK() > 1 ? tile.getMidSplitSlots() : 0;
  // Unsplit calls: P > slots (every call without split-K), P > midSlots
  // with the mid-size split-K variant.
  int64_t unsplitFrom = midSlots > 0 ? midSlots + 1
                        : splits > 1 ? slots + 1
                                     : 0;
  bool persistent = tile && tile.getPersistent() > 0;
  // The wide variant (never with a persistent variant) takes the unsplit
  // calls from wide_slots above the decode variant's.
  bool wide = tile && tile.getWideTokens() > 0;
  // The persistent variant serves the large calls unless the wide one
  // does; the persistent grid then runs the ordinary grid's calls.
  bool persistentLarge = persistent && !wide;
  int64_t persistentFrom =
      persistentLarge ? std::max(tile.getPersistentSlots(), unsplitFrom) : -1;
  // The unsplit calls below persistent_slots (all without a persistent
  // variant): decode up to decode_slots, then the ordinary grid; either
  // range may be empty.
  int64_t ordinaryTo = persistentLarge ? persistentFrom - 1 : -1;
  int64_t decodeTo = -1;
  if (tile && tile.getDecodeTokens() > 0)
    decodeTo = persistentLarge ? std::min(tile.getDecodeSlots(), ordinaryTo)
                               : tile.getDecodeSlots();
  bool decode = decodeTo >= std::max<int64_t>(unsplitFrom, 1);
  int64_t ordinaryFrom = decode ? decodeTo + 1 : unsplitFrom;
  // The decode calls run one block per SM below shared_slots (`_decode`)
  // and two from it (`_decode_shared`); either part may be empty.
  int64_t firstCall = std::max<int64_t>(unsplitFrom, 1);
  int64_t sharedFrom = decode && tile.getSharedSlots() > 0
                           ? std::max(tile.getSharedSlots(), firstCall)
                           : decodeTo + 1;
  bool shared = sharedFrom <= decodeTo;
  bool decodeOne = decode && sharedFrom > firstCall;
  int64_t wideFrom =
      wide ? std::max<int64_t>({tile.getWideSlots(), ordinaryFrom, 1}) : -1;
  if (wide)
    ordinaryTo = wideFrom - 1;
  // With persistent_warps the persistent grid takes the calls below
  // persistent_slots with those warps, and those from it (below the wide
  // variant) with the tile's warps where the strategy's persistent grid
  // wins at every size (the tile verifier asks for one), else the ordinary
  // grid; either part may be empty.
  bool splitBelowWide = wide && persistent && tile.getPersistentWarps() > 0;
  int64_t narrowFrom = ordinaryFrom, narrowTo = -1;
  if (splitBelowWide) {
    narrowTo = std::min(std::max(tile.getPersistentSlots(), ordinaryFrom) - 1,
                        ordinaryTo);
    if (narrowTo >= std::max<int64_t>(ordinaryFrom, 1))
      ordinaryFrom = narrowTo + 1;
    else
      narrowTo = -1;
  }
  bool plain = (!persistentLarge && !wide) ||
               ordinaryTo >= std::max<int64_t>(ordinaryFrom, 1);

  SmallVector<PlannedMatmul> planned;
  if (decodeOne)
    planned.push_back(
        {"_decode", SSMMVariant::Decode, unsplitFrom, sharedFrom - 1});
  if (shared)
    planned.push_back({"_decode_shared", SSMMVariant::DecodeShared,
                       decodeOne ? sharedFrom : unsplitFrom, decodeTo});
  // Below persistent_slots: the ordinary grid, or the persistent one with
  // the tile's tokens where the strategy's persistent grid always wins.
  if (narrowTo >= 0)
    planned.push_back({"_persistent_narrow", SSMMVariant::PersistentNarrow,
                       narrowFrom, narrowTo});
  bool everySize = persistent && isPersistentAtEverySize(op);
  bool narrow = everySize && !splitBelowWide;
  bool upper = everySize && splitBelowWide;
  if (plain)
    planned.push_back({narrow  ? "_persistent_narrow"
                       : upper ? "_persistent_upper"
                               : "",
                       narrow  ? SSMMVariant::PersistentNarrow
                       : upper ? SSMMVariant::PersistentUpper
                               : SSMMVariant::Plain,
                       ordinaryFrom, ordinaryTo});
  // With a second width its calls up to wide_low_slots, the wide
  // variant's those above.
  int64_t lowTo = wide && tile.getWideLowTokens() > 0
                      ? std::max(tile.getWideLowSlots(), wideFrom - 1)
                      : wideFrom - 1;
  if (lowTo >= wideFrom)
    planned.push_back({"_wide_low", SSMMVariant::WideLow, wideFrom, lowTo});
  // With weight multicast its kernel takes the wide variant's calls from
  // wide_multicast_slots.
  int64_t multicastFrom =
      wide && tile.getWideMulticast() > 1
          ? std::max(tile.getWideMulticastSlots(), lowTo + 1)
          : -1;
  if (wide && multicastFrom != lowTo + 1)
    planned.push_back({"_wide", SSMMVariant::Wide, lowTo + 1,
                       multicastFrom >= 0 ? multicastFrom - 1 : -1});
  if (multicastFrom >= 0)
    planned.push_back(
        {"_wide_mc", SSMMVariant::WideMulticast, multicastFrom, -1});
  // A persistent grid is never empty: it runs from one routed slot.
  if (persistentLarge)
    planned.push_back({"_persistent", SSMMVariant::Persistent,
                       std::max<int64_t>(persistentFrom, 1), -1});
  if (midSlots > 0)
    planned.push_back(
        {"_split_mid", SSMMVariant::SplitMid, slots + 1, midSlots});
  if (splits > 1)
    planned.push_back({"_split", SSMMVariant::Split, 1, slots});
  return planned;
}
} // namespace

/// Whether kernel variant `variant` of `op` can combine its own slot rows
/// (fuse-combine): the decode and split-K variants on an ordinary grid, one
/// block per (row block, token tile, K slice), all of which count.
static bool canFuseCombine(SSMMOp op, SSMMVariant variant) {
  if (variant != SSMMVariant::Split && variant != SSMMVariant::Decode &&
      variant != SSMMVariant::DecodeShared)
    return false;
  // A plan that fails is reported when the op's kernels are built.
  ScopedDiagnosticHandler quiet(op.getContext(),
                                [](Diagnostic &) { return success(); });
  FailureOr<samoyeds::detail::SSMMPlan> p =
      samoyeds::detail::makePlan(op, variant);
  return succeeded(p) && p->persistent == 0 && p->clusterBlocks() == 1;
}

/// The calls of weighted_combine `op` whose kernels combine their own slot
/// rows with fuse-combine: P up to the returned count (0: none), the calls
/// of at most kFusedCombineTokens tokens, where every planned kernel that
/// takes any of them can (canFuseCombine). The last block of a row block
/// combines every token's columns of it alone, where the combine kernel
/// spreads the tokens over blocks: decode calls only.
static int64_t fusedCombineSlots(SSMMOp op, ArrayRef<PlannedMatmul> planned) {
  auto wType = cast<RankedTensorType>(op.getRoutingWeights().getType());
  if (wType.isDynamicDim(1))
    return 0;
  int64_t slots = samoyeds::detail::kFusedCombineTokens * wType.getDimSize(1);
  for (const PlannedMatmul &m : planned) {
    if (std::max<int64_t>(m.lo, 1) <= slots && !canFuseCombine(op, m.variant))
      return 0;
  }
  return slots;
}

bool mlir::samoyeds::canSumSplitInput(SSMMOp op, int64_t slots) {
  if (!op.getTileAttr())
    return false;
  // A plan that fails is reported when the op's kernels are built.
  ScopedDiagnosticHandler quiet(op.getContext(),
                                [](Diagnostic &) { return success(); });
  return llvm::all_of(planMatmuls(op), [&](const PlannedMatmul &m) {
    if (m.lo > slots)
      return true;
    FailureOr<samoyeds::detail::SSMMPlan> p =
        samoyeds::detail::makePlan(op, m.variant);
    return succeeded(p) &&
           samoyeds::detail::getMmaLowering(p->strategy).canSumSplitInput(*p);
  });
}

FailureOr<KernelLaunches>
mlir::samoyeds::lowerSSMM(SSMMOp op, BufferTable &table, OpBuilder &builder,
                          gpu::GPUModuleOp kernels, StringRef base,
                          const SSMMLoweringOptions &o) {
  const SplitInput *splitInput = o.splitInput;
  bool combine = op.getEpilogue() == EpilogueKind::WeightedCombine;
  Type f32 = Float32Type::get(op.getContext());
  Type combineRows =
      o.combineF32 ? f32 : cast<ShapedType>(op.getType()).getElementType();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t rows = wType.getDimSize(1);
  SmallVector<PlannedMatmul> planned = planMatmuls(op);
  std::string splitBase = (base + "_split").str();
  // The unsplit variants of a weighted_combine write the same workspace of
  // slot rows; one of them runs.
  std::string combineWs = "ws_" + base.str();
  // The wide variant's packed input (tile wide_packed).
  bool packed = op.getTileAttr() && op.getTileAttr().getWidePacked() == 1;
  std::string packedInput = packed ? "ws_" + base.str() + "_packed" : "";
  SSMMBuffers splitBuffers{"ws_" + splitBase, "", Type()};
  if (o.fuseSplitReduce && !combine && !o.reducedByConsumer)
    splitBuffers.counters = splitBuffers.workspace + "_counters";
  // fuse-combine: the calls up to fusedTo combine in their matmul's
  // kernels (`_combining`), which count in one counter per row block.
  int64_t fusedTo =
      combine && o.fuseCombine ? fusedCombineSlots(op, planned) : 0;
  std::string combineCounters = combineWs + "_counters";
  int64_t splitCounters = 0, fusedCounters = 0;
  // The mid-size split-K variant's workspace; its reduction is a kernel of
  // its own.
  std::string midBase = (base + "_split_mid").str();
  SSMMBuffers midBuffers{"ws_" + midBase, "", Type()};

  // Builds `m` for the calls [lo, hi]; with `in`, summing its slices; with
  // `fused`, combining its slot rows.
  auto build = [&](const PlannedMatmul &m, int64_t lo, int64_t hi,
                   const SplitInput *in,
                   bool fused) -> FailureOr<KernelLaunch> {
    bool mid = m.variant == SSMMVariant::SplitMid;
    bool split = m.variant == SSMMVariant::Split || mid;
    bool decodeVariant = m.variant == SSMMVariant::Decode ||
                         m.variant == SSMMVariant::DecodeShared;
    SSMMBuffers buffers =
        mid     ? midBuffers
        : split ? splitBuffers
                : SSMMBuffers{combine ? combineWs : "", "", combineRows};
    buffers.splitInput = in;
    if (fused)
      buffers.counters = combineCounters;
    bool wideVariant = samoyeds::detail::isWideVariant(m.variant);
    if (wideVariant)
      buffers.packedInput = packedInput;
    std::string name = (base + m.suffix + (in ? "_reducing" : "") +
                        (fused ? "_combining" : ""))
                           .str();
    SSMMKernelOptions options;
    options.weightsBeforeWait = o.early && (split || decodeVariant);
    options.prefetchBeforeWait = o.prefetch && decodeVariant;
    options.readsWeightsOnce = split || decodeVariant;
    options.maxSlots = hi;
    FailureOr<KernelLaunch> matmul = buildSSMMKernel(
        builder, kernels, op, name, m.variant, buffers, options);
    if (failed(matmul))
      return failure();
    if (lo > 0 || hi >= 0)
      guardBySlots(*matmul, lo, hi);
    int64_t &counters = fused ? fusedCounters : splitCounters;
    counters = std::max(counters, matmul->counters);
    // The unbounded variants lost up to 5% at T = 4096 as dependent
    // launches (H200, bench/RESULTS.md); the wide widths, which serve
    // such calls, are never dependent.
    matmul->dependent = hi >= 0 && !wideVariant;
    return matmul;
  };
  // Builds `m`, one kernel for each part of its calls: those it shares
  // with `splitInput` (up to its slots) and those up to fusedTo have
  // kernels of their own.
  auto addMatmul = [&](const PlannedMatmul &m,
                       KernelLaunches &out) -> LogicalResult {
    bool fusable = fusedTo > 0 && canFuseCombine(op, m.variant);
    int64_t reads = splitInput ? splitInput->slots : 0;
    int64_t lo = m.lo;
    while (true) {
      // The part from lo ends before the next bound at or above its first
      // call, or where m's calls end.
      int64_t first = std::max<int64_t>(lo, 1), hi = m.hi;
      for (int64_t bound : {reads, fusable ? fusedTo : 0})
        if (bound >= first && (hi < 0 || bound < hi))
          hi = bound;
      bool reading = first <= reads;
      bool fused = fusable && first <= fusedTo;
      FailureOr<KernelLaunch> matmul = build(
          m, reading ? first : lo, hi, reading ? splitInput : nullptr, fused);
      if (failed(matmul))
        return failure();
      out.push_back(*matmul);
      if (hi == m.hi)
        return success();
      lo = hi + 1;
    }
  };

  // The packed workspace: the most rows per routed slot a wide width's
  // first call needs.
  int64_t packedRowsPerSlot = 0;
  for (const PlannedMatmul &m : planned) {
    if (packed && samoyeds::detail::isWideVariant(m.variant))
      packedRowsPerSlot = std::max(
          packedRowsPerSlot,
          TileConfigAttr::widePackedRowsPerSlot(
              wType.getDimSize(0),
              samoyeds::detail::wideVariantTokens(op.getTileAttr(), m.variant),
              m.lo));
  }
  KernelLaunches launches;
  // The calls the split-K variants take: P <= splitTo.
  int64_t splitTo = 0;
  for (const PlannedMatmul &m : planned) {
    if (m.variant == SSMMVariant::Split || m.variant == SSMMVariant::SplitMid)
      splitTo = std::max(splitTo, m.hi);
  }
  // The wide variant's and its multicast kernel's tiles are packed alike:
  // with both, `_pack` serves both.
  bool multicastPlanned = llvm::any_of(planned, [](const PlannedMatmul &m) {
    return m.variant == SSMMVariant::WideMulticast;
  });
  bool widePlanned = llvm::any_of(planned, [](const PlannedMatmul &m) {
    return m.variant == SSMMVariant::Wide;
  });
  for (const PlannedMatmul &m : planned) {
    if (m.variant == SSMMVariant::Split || m.variant == SSMMVariant::SplitMid)
      continue;
    // The pack kernel writes what the wide kernel right after it reads.
    bool low = m.variant == SSMMVariant::WideLow;
    bool multicast = m.variant == SSMMVariant::WideMulticast;
    if (samoyeds::detail::isWideVariant(m.variant) && packed &&
        !(multicast && widePlanned)) {
      int64_t packTo =
          m.variant == SSMMVariant::Wide && multicastPlanned ? -1 : m.hi;
      FailureOr<KernelLaunch> pack = buildWidePackKernel(
          builder, kernels, op, packedInput,
          (base + (low ? "_pack_low" : "_pack")).str(), m.lo, m.variant);
      if (failed(pack))
        return failure();
      guardBySlots(*pack, m.lo, packTo);
      launches.push_back(*pack);
      Type elt =
          cast<RankedTensorType>(op.getInput().getType()).getElementType();
      // Two or three rows per routed slot: every call of either width fits.
      assert(packedRowsPerSlot > 0 && "buildWidePackKernel checked m.lo");
      // Added with the pack kernel of the widest calls (`_pack`).
      if (packTo < 0)
        table.addWorkspace(packedInput,
                           {packedRowsPerSlot,
                            BufferAttr::encodeSymbol(SizeSymbol::P),
                            wType.getDimSize(2)},
                           elt);
    }
    if (failed(addMatmul(m, launches)))
      return failure();
  }
  if (combine) {
    table.addWorkspace(combineWs,
                       {BufferAttr::encodeSymbol(SizeSymbol::P), rows},
                       combineRows);
    // A column a thread below kStreamingSlots routed slots, 16 bytes of
    // row a thread (`_combine_vector`) from there; none for the calls the
    // matmuls combine themselves.
    int64_t covered = std::max(splitTo, fusedTo);
    int64_t from = covered > 0 ? covered + 1 : 0;
    int64_t streaming = samoyeds::detail::kStreamingSlots;
    for (bool vector : {false, true}) {
      int64_t lo = vector ? std::max(from, streaming) : from;
      int64_t hi = vector ? -1 : streaming - 1;
      if (hi >= 0 && lo > hi)
        continue;
      FailureOr<KernelLaunch> reduce = buildCombineKernel(
          builder, kernels, op, combineWs, combineRows,
          (base + (vector ? "_combine_vector" : "_combine")).str(), 1, 0,
          vector, o.combineEarly);
      if (failed(reduce))
        return failure();
      guardBySlots(*reduce, lo, hi);
      launches.push_back(*reduce);
    }
  }
  // The reduction of a split-K variant's `splits` slices of `m.hi` rows in
  // `workspace` (the combine kernel for a weighted_combine), for m's calls
  // from `from`.
  auto addReduction = [&](const PlannedMatmul &m, StringRef workspace,
                          StringRef kernelBase, int64_t splits,
                          int64_t from) -> LogicalResult {
    FailureOr<KernelLaunch> reduce =
        combine
            ? buildCombineKernel(builder, kernels, op, workspace, f32,
                                 (kernelBase + "_combine").str(), splits, m.hi,
                                 /*vector=*/false, o.combineEarly)
            : buildSplitReduceKernel(builder, kernels, op, workspace,
                                     (kernelBase + "_reduce").str(), splits,
                                     m.hi);
    if (failed(reduce))
      return failure();
    guardBySlots(*reduce, from, m.hi);
    launches.push_back(*reduce);
    return success();
  };
  // The mid-size split-K variant: its matmul, workspace and reduction.
  for (const PlannedMatmul &m : planned) {
    if (m.variant != SSMMVariant::SplitMid)
      continue;
    int64_t midSplits = op.getTileAttr().getMidSplitK();
    if (failed(addMatmul(m, launches)))
      return failure();
    table.addWorkspace(midBuffers.workspace, {midSplits * m.hi, rows});
    if (failed(addReduction(m, midBuffers.workspace, midBase, midSplits,
                            std::max<int64_t>(m.lo, 1))))
      return failure();
  }
  if (!planned.empty() && planned.back().variant == SSMMVariant::Split) {
    const PlannedMatmul &split = planned.back();
    int64_t splits = op.getTileAttr().getSplitK();
    if (failed(addMatmul(split, launches)))
      return failure();
    table.addWorkspace(splitBuffers.workspace, {splits * split.hi, rows});
    // The calls whose kernels neither reduce (fuse-split-reduce) nor
    // combine (fuse-combine) their slices themselves, unless the matmul
    // that reads the result sums them.
    int64_t from = std::max<int64_t>({split.lo, 1, fusedTo + 1});
    if (splitCounters > 0)
      table.addCounters(splitBuffers.counters, splitCounters);
    else if (!o.reducedByConsumer && from <= split.hi &&
             failed(addReduction(split, splitBuffers.workspace, splitBase,
                                 splits, from)))
      return failure();
  }
  if (fusedCounters > 0)
    table.addCounters(combineCounters, fusedCounters);
  return launches;
}

SplitInput mlir::samoyeds::splitInputOf(SSMMOp producer, StringRef base) {
  TileConfigAttr tile = producer.getTileAttr();
  auto wType = cast<RankedTensorType>(producer.getWeight().getType());
  return {"ws_" + base.str() + "_split", tile.getSplitK(), tile.getSplitSlots(),
          wType.getDimSize(1), producer.getEpilogue() == EpilogueKind::SiluMul};
}
