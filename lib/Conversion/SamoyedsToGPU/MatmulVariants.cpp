//===- MatmulVariants.cpp - The kernels an expert matmul's tile asks for --===//
//
// Which matmul kernels an op's tile asks for and the calls each takes
// (planMatmuls), and the rules on them of reduce-in-gather and fuse-combine.
//
//===----------------------------------------------------------------------===//

#include "MatmulVariants.h"
#include "LaunchPlan.h"
#include "SSMMPlan.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
/// The routed-slot ranges of an op's calls that each matmul variant of its
/// tile takes (planMatmuls). Every bound is a count of routed slots P; a
/// `…To` of -1 is open, a range whose `…To` is below its `…From` empty.
class MatmulPlanner {
public:
  explicit MatmulPlanner(SSMMOp op) : op(op), tile(op.getTileAttr()) {
    boundSplits();
    boundDecode();
    boundWide();
    boundNarrow();
  }

  SmallVector<PlannedMatmul> plan() {
    SmallVector<PlannedMatmul> planned;
    addDecode(planned);
    addOrdinary(planned);
    addWide(planned);
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

private:
  /// The split-K variants' calls and the first unsplit one.
  void boundSplits() {
    splits = tile ? tile.getSplitK() : 1;
    slots = splits > 1 ? tile.getSplitSlots() : 0;
    midSlots = tile && tile.getMidSplitK() > 1 ? tile.getMidSplitSlots() : 0;
    // Unsplit calls: P > slots (every call without split-K), P > midSlots
    // with the mid-size split-K variant.
    unsplitFrom = midSlots > 0 ? midSlots + 1 : splits > 1 ? slots + 1 : 0;
    firstCall = std::max<int64_t>(unsplitFrom, 1);
  }

  /// The persistent variant of the large calls, the decode variants and
  /// the ordinary grid's calls below them.
  void boundDecode() {
    persistent = tile && tile.getPersistent() > 0;
    // The wide variant (never with a persistent variant) takes the unsplit
    // calls from wide_slots above the decode variant's.
    wide = tile && tile.getWideTokens() > 0;
    // The persistent variant serves the large calls unless the wide one
    // does; the persistent grid then runs the ordinary grid's calls.
    persistentLarge = persistent && !wide;
    persistentFrom =
        persistentLarge ? std::max(tile.getPersistentSlots(), unsplitFrom) : -1;
    // The unsplit calls below persistent_slots (all without a persistent
    // variant): decode up to decode_slots, then the ordinary grid; either
    // range may be empty.
    ordinaryTo = persistentLarge ? persistentFrom - 1 : -1;
    if (tile && tile.getDecodeTokens() > 0)
      decodeTo = persistentLarge ? std::min(tile.getDecodeSlots(), ordinaryTo)
                                 : tile.getDecodeSlots();
    decode = decodeTo >= firstCall;
    ordinaryFrom = decode ? decodeTo + 1 : unsplitFrom;
    // The decode calls run one block per SM below shared_slots (`_decode`)
    // and two from it (`_decode_shared`); either part may be empty.
    sharedFrom = decode && tile.getSharedSlots() > 0
                     ? std::max(tile.getSharedSlots(), firstCall)
                     : decodeTo + 1;
  }

  /// The wide variant's first call, which ends the ordinary grid's.
  void boundWide() {
    if (!wide)
      return;
    wideFrom = std::max<int64_t>({tile.getWideSlots(), ordinaryFrom, 1});
    ordinaryTo = wideFrom - 1;
  }

  /// With persistent_warps the persistent grid takes the calls below
  /// persistent_slots with those warps, and those from it (below the wide
  /// variant) with the tile's warps where the strategy's persistent grid
  /// wins at every size (the tile verifier asks for one), else the ordinary
  /// grid; either part may be empty.
  void boundNarrow() {
    splitBelowWide = wide && persistent && tile.getPersistentWarps() > 0;
    narrowFrom = ordinaryFrom;
    if (splitBelowWide) {
      narrowTo = std::min(std::max(tile.getPersistentSlots(), ordinaryFrom) - 1,
                          ordinaryTo);
      if (narrowTo >= std::max<int64_t>(ordinaryFrom, 1))
        ordinaryFrom = narrowTo + 1;
      else
        narrowTo = -1;
    }
  }

  void addDecode(SmallVectorImpl<PlannedMatmul> &planned) const {
    bool shared = sharedFrom <= decodeTo;
    bool decodeOne = decode && sharedFrom > firstCall;
    if (decodeOne)
      planned.push_back(
          {"_decode", SSMMVariant::Decode, unsplitFrom, sharedFrom - 1});
    if (shared)
      planned.push_back({"_decode_shared", SSMMVariant::DecodeShared,
                         decodeOne ? sharedFrom : unsplitFrom, decodeTo});
  }

  /// Below persistent_slots: the ordinary grid, or the persistent one with
  /// the tile's tokens where the strategy's persistent grid always wins.
  void addOrdinary(SmallVectorImpl<PlannedMatmul> &planned) const {
    if (narrowTo >= 0)
      planned.push_back({"_persistent_narrow", SSMMVariant::PersistentNarrow,
                         narrowFrom, narrowTo});
    bool plain = (!persistentLarge && !wide) ||
                 ordinaryTo >= std::max<int64_t>(ordinaryFrom, 1);
    if (!plain)
      return;
    bool everySize = persistent && isPersistentAtEverySize(op);
    bool narrow = everySize && !splitBelowWide;
    bool upper = everySize && splitBelowWide;
    if (upper && tile.getPersistentUnitsSlots() > 0)
      return addUpperPairs(planned);
    planned.push_back({narrow  ? "_persistent_narrow"
                       : upper ? "_persistent_upper"
                               : "",
                       narrow  ? SSMMVariant::PersistentNarrow
                       : upper ? SSMMVariant::PersistentUpper
                               : SSMMVariant::Plain,
                       ordinaryFrom, ordinaryTo});
  }

  /// The upper persistent grid's calls (below the wide variant's, so
  /// bounded): single units below persistent_units_slots, unit pairs from
  /// them; either part may be empty.
  void addUpperPairs(SmallVectorImpl<PlannedMatmul> &planned) const {
    int64_t pairsFrom =
        std::max<int64_t>(tile.getPersistentUnitsSlots(), ordinaryFrom);
    int64_t singleTo = std::min(pairsFrom - 1, ordinaryTo);
    if (singleTo >= std::max<int64_t>(ordinaryFrom, 1))
      planned.push_back({"_persistent_upper", SSMMVariant::PersistentUpper,
                         ordinaryFrom, singleTo});
    if (pairsFrom <= ordinaryTo)
      planned.push_back({"_persistent_upper_pairs",
                         SSMMVariant::PersistentUpperPairs, pairsFrom,
                         ordinaryTo});
  }

  void addWide(SmallVectorImpl<PlannedMatmul> &planned) const {
    DenseI64ArrayAttr calls = wide ? tile.getWideLowCalls() : nullptr;
    if (calls && !calls.empty())
      return addUnitCalls(planned, calls.asArrayRef());
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
  }

  /// A second width that takes the ranges of wide_low_calls: `_wide_low`
  /// in each range, `_wide` between and above them (one kernel each, under
  /// several bounds; the verifier keeps multicast and packing away).
  void addUnitCalls(SmallVectorImpl<PlannedMatmul> &planned,
                    ArrayRef<int64_t> calls) const {
    int64_t next = wideFrom;
    for (size_t i = 0; i + 1 < calls.size(); i += 2) {
      int64_t lo = std::max(calls[i], wideFrom), hi = calls[i + 1];
      if (hi < lo)
        continue;
      if (lo > next)
        planned.push_back({"_wide", SSMMVariant::Wide, next, lo - 1});
      planned.push_back({"_wide_low", SSMMVariant::WideLow, lo, hi});
      next = hi + 1;
    }
    planned.push_back({"_wide", SSMMVariant::Wide, next, -1});
  }

  SSMMOp op;
  TileConfigAttr tile;
  int64_t splits = 1, slots = 0, midSlots = 0, unsplitFrom = 0, firstCall = 1;
  bool persistent = false, wide = false, persistentLarge = false,
       decode = false, splitBelowWide = false;
  int64_t persistentFrom = -1, ordinaryFrom = 0, ordinaryTo = -1, decodeTo = -1,
          sharedFrom = 0, wideFrom = -1, narrowFrom = 0, narrowTo = -1;
};
} // namespace

SmallVector<PlannedMatmul> mlir::samoyeds::detail::planMatmuls(SSMMOp op) {
  return MatmulPlanner(op).plan();
}

bool mlir::samoyeds::detail::canFuseCombine(SSMMOp op, SSMMVariant variant) {
  if (variant != SSMMVariant::Split && variant != SSMMVariant::Decode &&
      variant != SSMMVariant::DecodeShared)
    return false;
  // A plan that fails is reported when the op's kernels are built.
  ScopedDiagnosticHandler quiet(op.getContext(),
                                [](Diagnostic &) { return success(); });
  FailureOr<SSMMPlan> p = makePlan(op, variant);
  return succeeded(p) && p->persistent == 0 && p->clusterBlocks() == 1;
}

int64_t
mlir::samoyeds::detail::fusedCombineSlots(SSMMOp op,
                                          ArrayRef<PlannedMatmul> planned) {
  auto wType = cast<RankedTensorType>(op.getRoutingWeights().getType());
  if (wType.isDynamicDim(1))
    return 0;
  int64_t slots = kFusedCombineTokens * wType.getDimSize(1);
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
    FailureOr<SSMMPlan> p = makePlan(op, m.variant);
    return succeeded(p) && getMmaLowering(p->strategy).canSumSplitInput(*p);
  });
}
