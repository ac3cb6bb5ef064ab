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
/// kept rows a multiple of 64), and that the dense size `experts * rows *
/// cols * 2` bytes fits in int64, and so does the values size of `layout`
/// (wgmma pads cols up to a multiple of 128), so that no size of the weight
/// overflows. Returns the empty string when valid, else a message naming the
/// offending value.
std::string validate(const SSParams &params, const SSShape &shape,
                     WeightLayout layout = WeightLayout::MmaSp);

/// Columns `layout` stores per kept row (Format.md): `K` for mma_sp, `Kp =
/// roundUp(K, 128)` for wgmma, whose columns K..Kp-1 are padding (values 0,
/// meta nibbles 0x4). Only for a shape that passes validate(params, shape,
/// layout).
int64_t storedCols(const SSShape &shape, WeightLayout layout);

/// Kept rows per expert: `rows * n / m`.
int64_t keptRows(const SSParams &params, const SSShape &shape);
/// Bytes of the values component for one expert in `layout` (`Rk * Kp`,
/// Kp = storedCols()).
int64_t valuesBytesPerExpert(const SSParams &params, const SSShape &shape,
                             WeightLayout layout);
/// Bytes of the meta component for one expert in `layout` (`Rk * Kp / 8`).
int64_t metaBytesPerExpert(const SSParams &params, const SSShape &shape,
                           WeightLayout layout);
/// Bytes of the row_idx component for one expert (`S * Rk` with `S = K / v`,
/// 0 when n == m): the same in every layout (never padded).
int64_t rowIdxBytesPerExpert(const SSParams &params, const SSShape &shape);
/// Bytes of the values, meta and row_idx components of all experts in
/// `layout`, in that order (the per-expert sizes times `experts`). Like the
/// per-expert sizes, only for a shape that passes validate(params, shape,
/// layout), which rules out overflow.
std::array<int64_t, 3> componentBytes(const SSParams &params,
                                      const SSShape &shape,
                                      WeightLayout layout);

/// Checks the row_idx component of all experts (componentBytes()[2] bytes at
/// `rowIdx`): every byte must be below m, and the n bytes of a group strictly
/// increasing (Format.md). Returns "" when valid, else a message naming the
/// byte, expert, span and kept row.
std::string checkRowIdx(const uint8_t *rowIdx, const SSParams &params,
                        const SSShape &shape);
/// Checks the meta component of all experts in `layout` (componentBytes()[1]
/// bytes at `meta`): every nibble must be ordered 2:4 metadata, `i0 | i1 <<
/// 2` with i0 < i1, and every padding nibble (wgmma, columns K..Kp-1)
/// exactly 0x4. Returns "" when valid, else a message naming the byte and
/// expert (and, for padding, the kept rows and k step).
std::string checkMeta(const uint8_t *meta, const SSParams &params,
                      const SSShape &shape, WeightLayout layout);

/// Where the values padding of a weight lies: `count` blocks of `bytes`
/// bytes, block `i` at byte offset `first + i * stride` of the values
/// component. For wgmma with K % 128 != 0, block `i` is the last k block
/// (8192 bytes) of 64-row tile `i` (tile `i` = expert * Rk/64 + row tile);
/// `count` is 0 when `layout` stores no padding. Lets a reader check the
/// padding without reading all values (checkValuesPaddingBlock).
struct ValuesPadding {
  int64_t count = 0, first = 0, stride = 0, bytes = 0;
};
ValuesPadding valuesPadding(const SSParams &params, const SSShape &shape,
                            WeightLayout layout);
/// Checks block `i` of valuesPadding(params, shape, Wgmma) (its `bytes`
/// bytes at `block`): every padding word in it must be 0 (the block's other
/// words are values and are not checked). Returns "" when valid, else a
/// message naming the byte of the values component, the expert, kept row
/// and compressed column.
std::string checkValuesPaddingBlock(const uint8_t *block, int64_t i,
                                    const SSParams &params,
                                    const SSShape &shape);

/// checkRowIdx, then checkMeta, then the values padding (every block of
/// valuesPadding(); `values` holds componentBytes()[0] bytes and is read
/// only there). `rowIdx` may be null when n == m. Returns "" when all pass,
/// else the failing check's message with `part` set to the component's index
/// in componentBytes() (2: row_idx, 1: meta, 0: values).
std::string checkContent(const uint8_t *values, const uint8_t *meta,
                         const uint8_t *rowIdx, const SSParams &params,
                         const SSShape &shape, WeightLayout layout, int &part);

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
/// `kSteps = storedCols() / 32` (the padded k steps for wgmma).
int64_t valuesWordIndex(WeightLayout layout, int64_t row, int64_t col,
                        int64_t kSteps);
/// Word index (within one expert) and bit shift of the meta nibble of `C` row
/// `row`, 4-column chunk `chunk`, in `layout`; `kSteps = storedCols() / 32`.
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
/// from the shape's in its layout, or content a reader would index with or
/// padding that is not the packer's (checkContent; the message then starts
/// with "row_idx: ", "meta: " or "values: ").
std::string checkPacked(const PackedWeight &weight);

/// Expands a packed weight (in its `layout`) back to `[experts][rows][cols]`;
/// dropped entries are 0. Empty (and `error`, when given, set to
/// checkPacked's reason) when the weight cannot be read: nothing is allocated
/// for a shape its components do not hold.
std::vector<uint16_t> unpack(const PackedWeight &weight,
                             std::string *error = nullptr);

/// The same weight in `layout`: the values and meta words moved (row_idx is
/// unchanged); no content is checked, except that the padding of a wgmma
/// source (K % 128 != 0), which is dropped or rewritten, must be the
/// packer's (zero values, 0x4 nibbles), and a wgmma target gets that
/// padding. On failure (the weight is inconsistent, its padding is not the
/// packer's, or its shape breaks the rules of `layout`) the returned weight
/// is empty and `error` (when given) holds the reason.
PackedWeight relayout(const PackedWeight &weight, WeightLayout layout,
                      std::string *error = nullptr);

} // namespace rt
} // namespace samoyeds

#endif // SAMOYEDS_RUNTIME_FORMAT_H
