//===- Format.h - The SS packed weight format -------------------*- C++ -*-===//
//
// Host side of the row-selected N:M + 2:4 ("SS") weight format described in
// docs/Format.md: element conversion, parameter validation, the physical
// layouts (mma_sp, wgmma), pack, unpack and relayout.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_RUNTIME_FORMAT_H
#define SAMOYEDS_RUNTIME_FORMAT_H

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace samoyeds {
namespace rt {

/// Element type of a weight or activation stored as 16-bit words.
enum class DType { BF16, F16 };

/// Returns "bf16" or "f16".
const char *dtypeName(DType dtype);

/// Converts a bf16 bit pattern to float (exact).
float bf16ToFloat(uint16_t bits);
/// Converts float to bf16, rounding to nearest even; NaN stays a quiet NaN.
uint16_t floatToBf16(float value);
/// Converts an IEEE binary16 bit pattern to float (exact; subnormals, inf,
/// NaN).
float f16ToFloat(uint16_t bits);
/// Converts float to IEEE binary16, rounding to nearest even (overflow -> inf,
/// underflow -> subnormal or signed zero, NaN -> quiet NaN).
uint16_t floatToF16(float value);
/// Converts a 16-bit element of type `dtype` to float.
float toFloat(uint16_t bits, DType dtype);
/// Converts float to a 16-bit element of type `dtype`.
uint16_t fromFloat(float value, DType dtype);

/// The N:M:V parameters of `#samoyeds.ss<n, m, v>`.
struct SSParams {
  int n = 1, m = 1, v = 32;
};

/// The logical shape of a (possibly batched) weight: `experts` matrices of
/// `rows` (output features) x `cols` (reduction).
struct SSShape {
  int64_t experts = 1, rows = 0, cols = 0;
};

/// Physical arrangement of the values and meta words of a packed weight
/// (Format.md "Physical layout"); the logical content is the same in both.
/// The values match sy_weight_layout of the C API.
enum class WeightLayout {
  /// Fragment order of `mma.sp.m16n8k32` (one 16-byte load per lane).
  MmaSp = 0,
  /// 64-row x 128-byte blocks, 128B-swizzled K-major, for Hopper's
  /// `wgmma.mma_async.sp` (one bulk copy per block).
  Wgmma = 1
};

/// Returns "mma_sp" or "wgmma".
const char *layoutName(WeightLayout layout);
/// Parses "mma_sp" or "wgmma" into `layout`; false (and `layout` unchanged)
/// for any other string.
bool parseLayout(const std::string &name, WeightLayout &layout);

/// Checks the rules of Format.md, with the extra rules of `layout` (wgmma:
/// kept rows a multiple of 64, cols a multiple of 128), and that the dense
/// size `experts * rows * cols * 2` bytes fits in int64 (so that no size of
/// the weight overflows). Returns the empty string when valid, else a message
/// naming the offending value.
std::string validate(const SSParams &params, const SSShape &shape,
                     WeightLayout layout = WeightLayout::MmaSp);

/// Kept rows per expert: `rows * n / m`.
int64_t keptRows(const SSParams &params, const SSShape &shape);
/// Bytes of the values component for one expert (`Rk * K`).
int64_t valuesBytesPerExpert(const SSParams &params, const SSShape &shape);
/// Bytes of the meta component for one expert (`Rk * K / 8`).
int64_t metaBytesPerExpert(const SSParams &params, const SSShape &shape);
/// Bytes of the row_idx component for one expert (`S * Rk`, 0 when n == m).
int64_t rowIdxBytesPerExpert(const SSParams &params, const SSShape &shape);
/// Bytes of the values, meta and row_idx components of all experts, in that
/// order (the per-expert sizes times `experts`). Like the per-expert sizes,
/// only for a shape that passes validate(), which rules out overflow.
std::array<int64_t, 3> componentBytes(const SSParams &params,
                                      const SSShape &shape);

/// Checks the row_idx component of all experts (componentBytes()[2] bytes at
/// `rowIdx`): every byte must be below m, and the n bytes of a group strictly
/// increasing (Format.md). Returns "" when valid, else a message naming the
/// byte, expert, span and kept row.
std::string checkRowIdx(const uint8_t *rowIdx, const SSParams &params,
                        const SSShape &shape);
/// Checks the meta component of all experts (componentBytes()[1] bytes at
/// `meta`, any layout): every nibble must be ordered 2:4 metadata, `i0 | i1 <<
/// 2` with i0 < i1. Returns "" when valid, else a message naming the byte and
/// expert.
std::string checkMeta(const uint8_t *meta, const SSParams &params,
                      const SSShape &shape);
/// checkRowIdx then checkMeta (`rowIdx` may be null when n == m). Returns ""
/// when both pass, else the failing check's message with `part` set to the
/// component's index in componentBytes() (2: row_idx, 1: meta).
std::string checkContent(const uint8_t *meta, const uint8_t *rowIdx,
                         const SSParams &params, const SSShape &shape,
                         int &part);

/// A weight in the physical SS layout; all experts stored one after another.
struct PackedWeight {
  SSParams p;
  SSShape s;
  DType dtype = DType::BF16;
  /// Where the values and meta words go.
  WeightLayout layout = WeightLayout::MmaSp;
  /// Compressed values, two elements per word (low first), in `layout`.
  std::vector<uint32_t> values;
  /// Ordered 2:4 metadata nibbles, in `layout`.
  std::vector<uint32_t> meta;
  /// `row_idx[e][s][kr]`; empty when n == m.
  std::vector<uint8_t> rowIdx;

  int64_t valuesBytes() const { return int64_t(values.size()) * 4; }
  int64_t metaBytes() const { return int64_t(meta.size()) * 4; }
  int64_t rowIdxBytes() const { return int64_t(rowIdx.size()); }
};

/// Index, within one expert, of the values word of `layout` holding
/// `C[row][col]` and `C[row][col + 1]` (col even), per Format.md;
/// `kSteps = K / 32`.
int64_t valuesWordIndex(WeightLayout layout, int64_t row, int64_t col,
                        int64_t kSteps);
/// Word index (within one expert) and bit shift of the meta nibble of `C` row
/// `row`, 4-column chunk `chunk`, in `layout`; `kSteps = K / 32`.
void metaNibblePosition(WeightLayout layout, int64_t row, int64_t chunk,
                        int64_t kSteps, int64_t &word, int &shift);

/// Packs `dense` (`[experts][rows][cols]`, row major, 16-bit elements of
/// `dtype`) in `layout`. The shape and parameters must pass
/// validate(params, shape, layout); on failure the returned weight is empty
/// and `error` (when given) holds the reason.
PackedWeight pack(const uint16_t *dense, DType dtype, const SSShape &shape,
                  const SSParams &params, std::string *error = nullptr,
                  WeightLayout layout = WeightLayout::MmaSp);

/// Why `weight` cannot be read ("" when it can): parameters that break
/// validate() (with the rules of its layout), component sizes that differ
/// from the shape's, or content a reader would index with (checkRowIdx,
/// checkMeta; the message then starts with "row_idx: " or "meta: ").
std::string checkPacked(const PackedWeight &weight);

/// Expands a packed weight (in its `layout`) back to `[experts][rows][cols]`;
/// dropped entries are 0. Empty (and `error`, when given, set to
/// checkPacked's reason) when the weight cannot be read: nothing is allocated
/// for a shape its components do not hold.
std::vector<uint16_t> unpack(const PackedWeight &weight,
                             std::string *error = nullptr);

/// The same weight in `layout`: a pure permutation of the values and meta
/// words (row_idx is unchanged). On failure (the weight is inconsistent, or
/// its shape breaks the rules of `layout`) the returned weight is empty and
/// `error` (when given) holds the reason.
PackedWeight relayout(const PackedWeight &weight, WeightLayout layout,
                      std::string *error = nullptr);

} // namespace rt
} // namespace samoyeds

#endif // SAMOYEDS_RUNTIME_FORMAT_H
