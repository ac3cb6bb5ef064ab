//===- Format.h - The SS packed weight format -------------------*- C++ -*-===//
//
// Host side of the row-selected N:M + 2:4 ("SS") weight format described in
// docs/Format.md: element conversion, parameter validation, pack and unpack.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_RUNTIME_FORMAT_H
#define SAMOYEDS_RUNTIME_FORMAT_H

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

/// Checks the rules of Format.md. Returns the empty string when valid, else a
/// message naming the offending value.
std::string validate(const SSParams &params, const SSShape &shape);

/// Kept rows per expert: `rows * n / m`.
int64_t keptRows(const SSParams &params, const SSShape &shape);
/// Bytes of the values component for one expert (`Rk * K`).
int64_t valuesBytesPerExpert(const SSParams &params, const SSShape &shape);
/// Bytes of the meta component for one expert (`Rk * K / 8`).
int64_t metaBytesPerExpert(const SSParams &params, const SSShape &shape);
/// Bytes of the row_idx component for one expert (`S * Rk`, 0 when n == m).
int64_t rowIdxBytesPerExpert(const SSParams &params, const SSShape &shape);

/// A weight in the physical SS layout; all experts stored one after another.
struct PackedWeight {
  SSParams p;
  SSShape s;
  DType dtype = DType::BF16;
  /// Fragment-ordered compressed values, two elements per word (low first).
  std::vector<uint32_t> values;
  /// Ordered 2:4 metadata nibbles in `mma.sp` order.
  std::vector<uint32_t> meta;
  /// `row_idx[e][s][kr]`; empty when n == m.
  std::vector<uint8_t> rowIdx;

  int64_t valuesBytes() const { return int64_t(values.size()) * 4; }
  int64_t metaBytes() const { return int64_t(meta.size()) * 4; }
  int64_t rowIdxBytes() const { return int64_t(rowIdx.size()); }
};

/// Word index of the values word holding `C[row][col]` (col even) of one
/// expert, per Format.md; `ks = K / 32`.
int64_t valuesWordIndex(int64_t row, int64_t col, int64_t kSteps);
/// Word index and bit shift of the meta nibble of `C` row `row`, chunk `chunk`.
void metaNibblePosition(int64_t row, int64_t chunk, int64_t kSteps,
                        int64_t &word, int &shift);

/// Packs `dense` (`[experts][rows][cols]`, row major, 16-bit elements of
/// `dtype`). The shape and parameters must pass validate(); on failure the
/// returned weight is empty and `error` (when given) holds the reason.
PackedWeight pack(const uint16_t *dense, DType dtype, const SSShape &shape,
                  const SSParams &params, std::string *error = nullptr);

/// Expands a packed weight back to `[experts][rows][cols]`; dropped entries
/// are 0.
std::vector<uint16_t> unpack(const PackedWeight &weight);

} // namespace rt
} // namespace samoyeds

#endif // SAMOYEDS_RUNTIME_FORMAT_H
