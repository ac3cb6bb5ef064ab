//===- Chip.h - What the compiler knows of each target chip -----*- C++ -*-===//
//
// The one description of the chips the pipelines accept, read by
// samoyeds-select-tiles (tile choice), the lowering (limits a kernel must
// respect) and the pipelines (target, PTX version). Data-centre parts: A100
// (sm_80) and H100/H200 (sm_90, sm_90a).
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_SUPPORT_CHIP_H
#define SAMOYEDS_SUPPORT_CHIP_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace mlir::samoyeds {

/// Limits and features of one target chip.
struct ChipInfo {
  /// The chip as `nvvm-attach-target` and the bundle name it.
  llvm::StringRef name;
  /// Streaming multiprocessors of the data-centre part.
  int64_t smCount;
  /// Dynamic shared memory one block may opt in to, in bytes.
  int64_t smemPerBlock;
  /// Shared memory of one SM, and what the hardware reserves per resident
  /// block.
  int64_t smemPerSM, smemReservedPerBlock;
  /// Threads one SM keeps resident.
  int64_t threadsPerSM;
  /// Bytes of the L2 cache.
  int64_t l2Bytes;
  /// Whether Hopper's warpgroup sparse MMA (wgmma.mma_async.sp) exists.
  bool hasWgmmaSp;
  /// Whether programmatic dependent launch (griddepcontrol) exists.
  bool hasGridDependencyControl;
  /// Whether warp reductions of 32-bit integers (redux.sync) exist.
  bool hasReduxSync;

  /// Dynamic shared memory each of `blocks` blocks resident together on one
  /// SM may use, in bytes.
  int64_t smemPerResidentBlock(int64_t blocks) const {
    if (blocks <= 1)
      return smemPerBlock;
    int64_t share = smemPerSM / blocks - smemReservedPerBlock;
    return share < smemPerBlock ? share : smemPerBlock;
  }
};

/// Every chip the compiler targets.
inline llvm::ArrayRef<ChipInfo> getChips() {
  static const ChipInfo chips[] = {
      {"sm_80", 108, 163 * 1024, 164 * 1024, 1024, 2048, 40 << 20, false, false,
       true},
      {"sm_90", 132, 227 * 1024, 228 * 1024, 1024, 2048, 50 << 20, false, true,
       true},
      {"sm_90a", 132, 227 * 1024, 228 * 1024, 1024, 2048, 50 << 20, true, true,
       true},
  };
  return chips;
}

/// The chip named `name`, or null.
inline const ChipInfo *lookupChip(llvm::StringRef name) {
  for (const ChipInfo &chip : getChips())
    if (chip.name == name)
      return &chip;
  return nullptr;
}

/// The chip whose limits a kernel compiled without a named target must
/// respect: the largest of every limit (sm_90a).
inline const ChipInfo &getLargestChip() { return *lookupChip("sm_90a"); }

/// PTX ISA version the pipelines emit (8.5: the first with
/// mma.sp::ordered_metadata; wgmma.mma_async.sp needs 8.2).
constexpr int kPtxVersion = 85;

} // namespace mlir::samoyeds

#endif // SAMOYEDS_SUPPORT_CHIP_H
