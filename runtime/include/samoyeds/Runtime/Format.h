//===- Format.h - The SS packed weight format -------------------*- C++ -*-===//
//
// Host side of the row-selected N:M + 2:4 ("SS") weight format described in
// docs/Format.md: element conversion, parameter validation, the physical
// layouts (mma_sp, wgmma, wgmma_halves), pack, unpack and relayout.
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

/// Physical arrangement of the values, meta and row_idx bytes of a packed
/// weight (Format.md "Physical layout"); the logical content is the same in
/// all. The values match sy_weight_layout of the C API.
enum class WeightLayout {
  /// Fragment order of `mma.sp.m16n8k32` (one 16-byte load per lane).
  MmaSp = 0,
  /// 64-row x 128-byte blocks, 128B-swizzled K-major, for Hopper's
  /// `wgmma.mma_async.sp` (one bulk copy per block); K padded to whole
  /// 128-column blocks and the kept rows to whole 64-row tiles.
  Wgmma = 1,
  /// The wgmma layout with the kept rows in two halves: a fused gate/up
  /// weight whose rows [0, R/2) are the gate and [R/2, R) the up projection,
  /// each half's kept rows padded to whole 64-row tiles.
  WgmmaHalves = 2
};

/// Returns "mma_sp", "wgmma" or "wgmma_halves".
const char *layoutName(WeightLayout layout);
/// Parses "mma_sp", "wgmma" or "wgmma_halves" into `layout`; false (and
/// `layout` unchanged) for any other string.
bool parseLayout(const std::string &name, WeightLayout &layout);
/// Whether `layout` is one of the wgmma layouts (wgmma, wgmma_halves): the
/// same blocks, K and kept rows padded (Format.md).
bool isWgmmaLayout(WeightLayout layout);
/// The parts P whose kept rows `layout` stores (and pads) separately: 2 for
/// wgmma_halves, else 1.
int layoutParts(WeightLayout layout);

/// Checks the rules of Format.md, with the extra rules of `layout` (the
/// wgmma layouts: wgmma_halves needs rows a multiple of 2*m; where a part's
/// kept rows are padded and n < m, n must divide 64), and that the dense size
/// `experts * rows * cols * 2` bytes fits in int64, and so does the values
/// size of `layout` (the wgmma layouts pad cols up to a multiple of 128 and
/// the kept rows to whole 64-row tiles), so that no size of the weight
/// overflows. Returns the empty string when valid, else a message naming the
/// offending value.
std::string validate(const SSParams &params, const SSShape &shape,
                     WeightLayout layout = WeightLayout::MmaSp);

/// Columns `layout` stores per kept row (Format.md): `K` for mma_sp, `Kp =
/// roundUp(K, 128)` for the wgmma layouts, whose columns K..Kp-1 are padding
/// (values 0, meta nibbles 0x4). Only for a shape that passes
/// validate(params, shape, layout).
int64_t storedCols(const SSShape &shape, WeightLayout layout);

/// Kept rows per expert: `Rk = rows * n / m` (logical, in every layout).
int64_t keptRows(const SSParams &params, const SSShape &shape);
/// Kept rows `layout` stores per expert (Format.md): `Rk` for mma_sp; for the
/// wgmma layouts `Rs = P * H`, each of the P = layoutParts() parts' `Rk / P`
/// kept rows followed by padding rows up to `H = roundUp(Rk / P, 64)`. Only
/// for a shape that passes validate(params, shape, layout).
int64_t storedKeptRows(const SSParams &params, const SSShape &shape,
                       WeightLayout layout);

/// What stored kept row `sr` (0 <= sr < storedKeptRows()) of a layout holds.
struct StoredKeptRow {
  /// The logical kept row `p * Rk/P + j` it holds (part p = sr / H, j = sr %
  /// H), or -1 for a padding row (j >= Rk/P).
  int64_t keptRow = -1;
  /// Its part p (for wgmma_halves the half, else 0).
  int64_t part = 0;
  /// For a padding row, its index `j - Rk/P` among its part's padding rows;
  /// -1 otherwise.
  int64_t padding = -1;
};
/// Maps stored kept row `sr` of `layout` to the logical kept row it holds or
/// to its place among the padding rows (Format.md). Only for a shape that
/// passes validate(params, shape, layout).
StoredKeptRow storedKeptRow(const SSParams &params, const SSShape &shape,
                            WeightLayout layout, int64_t sr);

/// Bytes of the values component for one expert in `layout` (`Rs * Kp`,
/// Rs = storedKeptRows(), Kp = storedCols()).
int64_t valuesBytesPerExpert(const SSParams &params, const SSShape &shape,
                             WeightLayout layout);
/// Bytes of the meta component for one expert in `layout` (`Rs * Kp / 8`).
int64_t metaBytesPerExpert(const SSParams &params, const SSShape &shape,
                           WeightLayout layout);
/// Bytes of the row_idx component for one expert in `layout` (`S * Rs` with
/// `S = K / v` spans, never padded along K; 0 when n == m).
int64_t rowIdxBytesPerExpert(const SSParams &params, const SSShape &shape,
                             WeightLayout layout);
/// Bytes of the values, meta and row_idx components of all experts in
/// `layout`, in that order (the per-expert sizes times `experts`). Like the
/// per-expert sizes, only for a shape that passes validate(params, shape,
/// layout), which rules out overflow.
std::array<int64_t, 3> componentBytes(const SSParams &params,
                                      const SSShape &shape,
                                      WeightLayout layout);

/// Checks the row_idx component of all experts in `layout`
/// (componentBytes()[2] bytes at `rowIdx`): every byte of a kept row must be
/// below m, and the n bytes of a group strictly increasing; every byte of a
/// padding row (the wgmma layouts) exactly its index among its part's padding
/// rows modulo n (Format.md). Returns "" when valid, else a message naming
/// the byte, expert, span and (stored) kept row.
std::string checkRowIdx(const uint8_t *rowIdx, const SSParams &params,
                        const SSShape &shape, WeightLayout layout);
/// Checks the meta component of all experts in `layout` (componentBytes()[1]
/// bytes at `meta`): every nibble must be ordered 2:4 metadata, `i0 | i1 <<
/// 2` with i0 < i1, and every padding nibble (the wgmma layouts: columns
/// K..Kp-1, padding rows) exactly 0x4. Returns "" when valid, else a message
/// naming the byte and expert (and, for padding, the kept row(s) and k step).
std::string checkMeta(const uint8_t *meta, const SSParams &params,
                      const SSShape &shape, WeightLayout layout);

/// A byte range [offset, offset + bytes) of a component.
struct ByteRange {
  int64_t offset = 0, bytes = 0;
};
/// The ranges of the values component that hold padding, in increasing
/// order: for each 64-row tile of a wgmma layout (experts one after another),
/// the whole tile (Kp / 128 blocks of 8192 bytes) where it holds padding rows,
/// else its last k block (8192 bytes) where K % 128 != 0. Empty where
/// `layout` stores no padding. Lets a reader check the padding without
/// reading all values (checkValuesPadding).
std::vector<ByteRange> valuesPadding(const SSParams &params,
                                     const SSShape &shape, WeightLayout layout);
/// Checks `range` (one of valuesPadding(params, shape, layout), its
/// `range.bytes` bytes at `bytes`): every padding byte in it must be 0 (the
/// range's other bytes are values and are not checked). Returns "" when
/// valid, else a message naming the byte of the values component, the
/// expert, the (stored) kept row and, for K padding, the compressed column.
std::string checkValuesPadding(const uint8_t *bytes, const ByteRange &range,
                               const SSParams &params, const SSShape &shape,
                               WeightLayout layout);

/// checkRowIdx, then checkMeta, then the values padding (every range of
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
  /// `row_idx[e][s][sr]` over the stored kept rows sr of `layout`; empty
  /// when n == m.
  std::vector<uint8_t> rowIdx;

  int64_t valuesBytes() const { return int64_t(values.size()) * 4; }
  int64_t metaBytes() const { return int64_t(meta.size()) * 4; }
  int64_t rowIdxBytes() const { return int64_t(rowIdx.size()); }
};

/// Index, within one expert, of the values word of `layout` holding
/// `C[row][col]` and `C[row][col + 1]` (col even) of stored kept row `row`,
/// per Format.md; `kSteps = storedCols() / 32` (the padded k steps for the
/// wgmma layouts).
int64_t valuesWordIndex(WeightLayout layout, int64_t row, int64_t col,
                        int64_t kSteps);
/// Word index (within one expert) and bit shift of the meta nibble of stored
/// kept row `row`, 4-column chunk `chunk`, in `layout`; `kSteps =
/// storedCols() / 32`.
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

/// The same weight in `layout`: the values, meta and row_idx bytes of the
/// kept rows moved; no content is checked, except that the padding of a
/// wgmma source (K % 128 != 0, padding rows), which is dropped or rewritten,
/// must be the packer's (zero values, 0x4 nibbles, row_idx bytes of
/// Format.md), and a wgmma target gets that padding. On failure (the weight is
/// inconsistent, its padding is not the packer's, or its shape breaks the rules
/// of `layout`) the returned weight is empty and `error` (when given) holds the
/// reason.
PackedWeight relayout(const PackedWeight &weight, WeightLayout layout,
                      std::string *error = nullptr);

} // namespace rt
} // namespace samoyeds

#endif // SAMOYEDS_RUNTIME_FORMAT_H
