//===- MatmulVariants.h - The kernels an expert matmul's tile asks for ----===//
//
// Private to the SamoyedsToGPU conversion: the matmul kernels of an op's
// tile and the calls each takes (MatmulVariants.cpp), which SSMMLaunches.cpp
// builds.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_MATMULVARIANTS_H
#define SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_MATMULVARIANTS_H

#include "samoyeds/Conversion/SamoyedsToGPU/SamoyedsToGPU.h"

namespace mlir::samoyeds::detail {

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
/// (`_persistent_upper`; with persistent_units_slots, unit pairs from those
/// slots, `_persistent_upper_pairs`). A
/// tile with mid_split_k > 1 has the mid-size split-K variant for P in
/// (split_slots, mid_split_slots] (the unsplit launches then take P >
/// mid_split_slots), planned before the split-K variant, which stays last.
SmallVector<PlannedMatmul> planMatmuls(SSMMOp op);

/// Whether kernel variant `variant` of `op` can combine its own slot rows
/// (fuse-combine): the decode and split-K variants on an ordinary grid, one
/// block per (row block, token tile, K slice), all of which count.
bool canFuseCombine(SSMMOp op, SSMMVariant variant);

/// The calls of weighted_combine `op` whose kernels combine their own slot
/// rows with fuse-combine: P up to the returned count (0: none), the calls
/// of at most kFusedCombineTokens tokens, where every kernel of `planned`
/// that takes any of them can (canFuseCombine). The last block of a row
/// block combines every token's columns of it alone, where the combine
/// kernel spreads the tokens over blocks: decode calls only.
int64_t fusedCombineSlots(SSMMOp op, ArrayRef<PlannedMatmul> planned);

} // namespace mlir::samoyeds::detail

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_MATMULVARIANTS_H
