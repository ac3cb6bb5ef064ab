//===- Format.cpp - SS weight packing
//--------------------------------------===//

#include "samoyeds/Runtime/Format.h"
#include "samoyeds/Runtime/Checked.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace samoyeds {
namespace rt {

const char *dtypeName(DType dtype) {
  return dtype == DType::BF16 ? "bf16" : "f16";
}

static uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

static float bitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float bf16ToFloat(uint16_t bits) { return bitsFloat(uint32_t(bits) << 16); }

uint16_t floatToBf16(float value) {
  uint32_t u = floatBits(value);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

float f16ToFloat(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000u) << 16;
  uint32_t exp = (bits >> 10) & 0x1fu;
  uint32_t mant = bits & 0x3ffu;
  if (exp == 0x1f)
    return bitsFloat(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in float.
    float f = std::ldexp(float(mant), -24);
    return sign ? -f : f;
  }
  return bitsFloat(sign | ((exp + 112u) << 23) | (mant << 13));
}

uint16_t floatToF16(float value) {
  uint32_t u = floatBits(value);
  uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  uint32_t x = u & 0x7fffffffu;
  if (x > 0x7f800000u)
    return uint16_t(sign | 0x7e00u | ((x >> 13) & 0x3ffu));
  if (x >= 0x47800000u) // >= 65536 (and inf) overflows.
    return uint16_t(sign | 0x7c00u);
  if (x >= 0x38800000u) { // Normal in f16 (>= 2^-14).
    uint32_t mant = x & 0x7fffffu;
    uint32_t exp = (x >> 23) - 112u;
    uint32_t h = (exp << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
      ++h; // A carry into the exponent is the correct rounding (up to inf).
    return uint16_t(sign | h);
  }
  uint32_t exp = x >> 23;
  if (exp < 102) // Below 2^-25: rounds to zero.
    return sign;
  uint32_t mant = (x & 0x7fffffu) | 0x800000u;
  uint32_t shift = 126 - exp; // 14..24
  uint32_t h = mant >> shift;
  uint32_t rem = mant & ((1u << shift) - 1u);
  uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (h & 1u)))
    ++h;
  return uint16_t(sign | h);
}

float toFloat(uint16_t bits, DType dtype) {
  return dtype == DType::BF16 ? bf16ToFloat(bits) : f16ToFloat(bits);
}

uint16_t fromFloat(float value, DType dtype) {
  return dtype == DType::BF16 ? floatToBf16(value) : floatToF16(value);
}

const char *layoutName(WeightLayout layout) {
  switch (layout) {
  case WeightLayout::MmaSp:
    break;
  case WeightLayout::Wgmma:
    return "wgmma";
  case WeightLayout::WgmmaHalves:
    return "wgmma_halves";
  }
  return "mma_sp";
}

bool parseLayout(const std::string &name, WeightLayout &layout) {
  for (WeightLayout l :
       {WeightLayout::MmaSp, WeightLayout::Wgmma, WeightLayout::WgmmaHalves})
    if (name == layoutName(l)) {
      layout = l;
      return true;
    }
  return false;
}

bool isWgmmaLayout(WeightLayout layout) {
  return layout == WeightLayout::Wgmma || layout == WeightLayout::WgmmaHalves;
}

int layoutParts(WeightLayout layout) {
  return layout == WeightLayout::WgmmaHalves ? 2 : 1;
}

static std::string str(int64_t v) { return std::to_string(v); }

/// `x` rounded up to a multiple of `to`.
static int64_t roundUp(int64_t x, int64_t to) { return x + (to - x % to) % to; }

/// The wgmma layouts' units: one 64-row x 128-column block (8192 bytes).
static constexpr int64_t kWgmmaCols = 128, kWgmmaRows = 64,
                         kWgmmaBlockBytes = 8192;

namespace {
/// The stored kept rows of one expert in a layout (Format.md): `parts` parts
/// of `height` rows, the first `kept` of each holding the part's logical kept
/// rows in order, the others padding rows (none for mma_sp).
struct RowPlan {
  WeightLayout layout;
  int64_t parts, kept, height;
  RowPlan(const SSParams &p, const SSShape &s, WeightLayout layout)
      : layout(layout), parts(layoutParts(layout)),
        kept(s.rows / p.m * p.n / parts),
        height(isWgmmaLayout(layout) ? roundUp(kept, kWgmmaRows) : kept) {}
  int64_t stored() const { return parts * height; }
  bool padded() const { return height != kept; }
  /// The logical kept row stored at `sr`, or -1 for a padding row.
  int64_t logical(int64_t sr) const {
    int64_t j = sr % height;
    return j < kept ? sr / height * kept + j : -1;
  }
  /// Where logical kept row `kr` is stored.
  int64_t storedRow(int64_t kr) const { return kr / kept * height + kr % kept; }
  /// The index of padding row `sr` among its part's padding rows.
  int64_t padding(int64_t sr) const { return sr % height - kept; }
  /// How messages name stored row `sr`: "kept row 5" where it holds kept row
  /// 5, "stored kept row 70 (kept row 40)" where it holds another, and a
  /// padding row "stored kept row 1460: padding row 20 of half 0 past its
  /// 1440 kept rows" (or "... past the 80 kept rows" with one part).
  std::string name(int64_t sr) const {
    int64_t kr = logical(sr);
    if (kr == sr)
      return "kept row " + str(sr);
    std::string at = "stored kept row " + str(sr);
    if (kr >= 0)
      return at + " (kept row " + str(kr) + ")";
    at += ": padding row " + str(padding(sr));
    if (parts == 1)
      return at + " past the " + str(kept) + " kept rows";
    return at + " of half " + str(sr / height) + " past its " + str(kept) +
           " kept rows";
  }
};
} // namespace

/// The rules every layout shares.
static std::string validateCommon(const SSParams &p, const SSShape &s) {
  if (p.m < 1 || p.m > 16)
    return "m = " + str(p.m) + " must be in [1, 16]";
  if (p.n < 1 || p.n > p.m)
    return "n = " + str(p.n) + " must be in [1, m = " + str(p.m) + "]";
  if (p.v <= 0 || p.v % 32 != 0)
    return "v = " + str(p.v) + " must be a positive multiple of 32";
  if (s.experts < 1)
    return "experts = " + str(s.experts) + " must be >= 1";
  if (s.rows <= 0)
    return "rows = " + str(s.rows) + " must be positive";
  if (s.cols <= 0)
    return "cols = " + str(s.cols) + " must be positive";
  if (s.cols % p.v != 0)
    return "cols = " + str(s.cols) + " must be a multiple of v = " + str(p.v);
  if (s.rows % p.m != 0)
    return "rows = " + str(s.rows) + " must be a multiple of m = " + str(p.m);
  int64_t rk = s.rows / p.m * p.n;
  if (rk % 16 != 0)
    return "kept rows rows*n/m = " + str(rk) + " (rows = " + str(s.rows) +
           ") must be a multiple of 16";
  // The dense size bounds every other size of the weight.
  int64_t dense;
  if (!checkedProduct({s.experts, s.rows, s.cols, 2}, dense))
    return "experts x rows x cols = " + str(s.experts) + " x " + str(s.rows) +
           " x " + str(s.cols) +
           " is too large (2-byte elements overflow a "
           "64-bit byte count)";
  return "";
}

/// The wgmma layouts' rules on the kept rows: wgmma_halves' halves are whole
/// row groups, and padding rows form whole groups of n.
static std::string validateRowPadding(const SSParams &p, const SSShape &s,
                                      WeightLayout layout) {
  const bool halves = layout == WeightLayout::WgmmaHalves;
  if (halves && s.rows % (2 * p.m) != 0)
    return "layout wgmma_halves needs rows = " + str(s.rows) +
           " to be a multiple of 2*m = " + str(2 * p.m) +
           " (each half whole row groups)";
  const RowPlan rows(p, s, layout);
  if (rows.padded() && p.n < p.m && 64 % p.n != 0)
    return "layout " + std::string(layoutName(layout)) + " pads the " +
           str(rows.kept) + " kept rows" + (halves ? " of each half" : "") +
           " to " + str(rows.height) + ": n = " + str(p.n) +
           " must divide 64 (padding rows form whole groups of n)";
  return "";
}

/// The padded values (E * Rs * Kp bytes) bound every padded size; K <=
/// INT64_MAX / 2 here (the dense size fits), so Kp does not overflow, nor
/// does Rs (at most Rk + 126).
static std::string validatePaddedSize(const SSParams &p, const SSShape &s,
                                      WeightLayout layout) {
  const int64_t rk = keptRows(p, s), rs = storedKeptRows(p, s, layout);
  const int64_t kp = storedCols(s, layout);
  int64_t values;
  if (checkedProduct({s.experts, rs, kp}, values))
    return "";
  const bool rowsPadded = rs != rk;
  return "layout " + std::string(layoutName(layout)) +
         " pads cols = " + str(s.cols) + " to " + str(kp) +
         (rowsPadded ? " and kept rows rows*n/m = " + str(rk) + " to " + str(rs)
                     : "") +
         ": experts x " + (rowsPadded ? "stored " : "") +
         "kept rows x padded cols = " + str(s.experts) + " x " + str(rs) +
         " x " + str(kp) +
         " is too large (the values bytes overflow a 64-bit byte count)";
}

std::string validate(const SSParams &p, const SSShape &s, WeightLayout layout) {
  std::string err = validateCommon(p, s);
  if (err.empty() && isWgmmaLayout(layout))
    err = validateRowPadding(p, s, layout);
  if (err.empty() && isWgmmaLayout(layout))
    err = validatePaddedSize(p, s, layout);
  return err;
}

int64_t storedCols(const SSShape &s, WeightLayout layout) {
  return isWgmmaLayout(layout) ? roundUp(s.cols, kWgmmaCols) : s.cols;
}

int64_t keptRows(const SSParams &p, const SSShape &s) {
  return s.rows / p.m * p.n;
}
int64_t storedKeptRows(const SSParams &p, const SSShape &s,
                       WeightLayout layout) {
  return RowPlan(p, s, layout).stored();
}
StoredKeptRow storedKeptRow(const SSParams &p, const SSShape &s,
                            WeightLayout layout, int64_t sr) {
  const RowPlan rows(p, s, layout);
  StoredKeptRow out;
  out.part = sr / rows.height;
  out.keptRow = rows.logical(sr);
  if (out.keptRow < 0)
    out.padding = rows.padding(sr);
  return out;
}
int64_t valuesBytesPerExpert(const SSParams &p, const SSShape &s,
                             WeightLayout layout) {
  return storedKeptRows(p, s, layout) * storedCols(s, layout);
}
int64_t metaBytesPerExpert(const SSParams &p, const SSShape &s,
                           WeightLayout layout) {
  return storedKeptRows(p, s, layout) * storedCols(s, layout) / 8;
}
int64_t rowIdxBytesPerExpert(const SSParams &p, const SSShape &s,
                             WeightLayout layout) {
  return p.n == p.m ? 0 : (s.cols / p.v) * storedKeptRows(p, s, layout);
}
std::array<int64_t, 3> componentBytes(const SSParams &p, const SSShape &s,
                                      WeightLayout layout) {
  return {valuesBytesPerExpert(p, s, layout) * s.experts,
          metaBytesPerExpert(p, s, layout) * s.experts,
          rowIdxBytesPerExpert(p, s, layout) * s.experts};
}

/// Why row_idx byte `b` of a kept row (group position `j % n`) is not what
/// the packer writes ("" when it is).
static std::string rowIdxProblem(const uint8_t *rowIdx, int64_t b,
                                 bool firstOfGroup, const SSParams &p) {
  if (rowIdx[b] >= p.m)
    return ", not below m = " + str(p.m);
  if (firstOfGroup || rowIdx[b] > rowIdx[b - 1])
    return "";
  return ", not above the previous kept row of its group (" +
         str(rowIdx[b - 1]) + "): kept rows must be strictly increasing";
}

/// Why row_idx byte `b` of padding row `sr` is not the packer's ("" when it
/// is).
static std::string rowIdxPaddingProblem(const uint8_t *rowIdx, int64_t b,
                                        int64_t sr, const RowPlan &rows,
                                        const SSParams &p) {
  const int64_t want = rows.padding(sr) % p.n;
  if (rowIdx[b] == want)
    return "";
  return ", not " + str(want) + ": layout " + layoutName(rows.layout) +
         " pads row_idx with the padding row's index modulo n = " + str(p.n);
}

/// checkRowIdx, or with `content` false only its check of the padding rows.
static std::string checkRowIdxBytes(const uint8_t *rowIdx, const SSParams &p,
                                    const SSShape &s, WeightLayout layout,
                                    bool content) {
  const RowPlan rows(p, s, layout);
  if (p.n == p.m || (!content && !rows.padded()))
    return "";
  const int64_t Rs = rows.stored(), spans = s.cols / p.v;
  const int64_t bytes = spans * Rs * s.experts;
  for (int64_t b = 0; b < bytes; ++b) {
    const int64_t sr = b % Rs;
    std::string problem;
    if (rows.logical(sr) < 0)
      problem = rowIdxPaddingProblem(rowIdx, b, sr, rows, p);
    else if (content)
      problem = rowIdxProblem(rowIdx, b, sr % rows.height % p.n == 0, p);
    if (!problem.empty())
      return "byte " + str(b) + " (expert " + str(b / Rs / spans) + ", span " +
             str(b / Rs % spans) + ", " + rows.name(sr) + ") is " +
             str(rowIdx[b]) + problem;
  }
  return "";
}

std::string checkRowIdx(const uint8_t *rowIdx, const SSParams &p,
                        const SSShape &s, WeightLayout layout) {
  return checkRowIdxBytes(rowIdx, p, s, layout, true);
}

/// Whether a metadata nibble is ordered 2:4 metadata (i0 < i1).
static bool validNibble(unsigned nibble) {
  return (nibble & 3u) < (nibble >> 2);
}

static const char *const kHex = "0123456789abcdef";

/// The meta padding byte (two 0x4 nibbles: i0 = 0, i1 = 1).
static constexpr uint8_t kPadMetaByte = 0x44;

namespace {
/// Where the meta padding of one expert lies. Meta is stored in 64-byte
/// blocks of one 16-row tile and one k step; the wgmma layouts order them
/// [T][ks][w] over the padded k steps, and those with ks >= K/32 are
/// padding, as is every byte of a padding row (each byte holds two nibbles of
/// one stored kept row).
struct MetaPadding {
  RowPlan rows;
  int64_t KS, KSp;
  MetaPadding(const SSParams &p, const SSShape &s, WeightLayout layout)
      : rows(p, s, layout), KS(s.cols / 32), KSp(storedCols(s, layout) / 32) {}
  bool any() const { return KSp != KS || rows.padded(); }
  /// The k step of byte `off` of one expert (a wgmma layout).
  int64_t kStep(int64_t off) const { return off / 64 / 4 % KSp; }
  /// The first stored kept row of the 16-row tile of byte `off`.
  int64_t tileRow(int64_t off) const {
    int64_t blk = off / 64;
    return blk / (4 * KSp) * 64 + blk % 4 * 16;
  }
  /// The stored kept row of byte `off`: word 2*g + h holds row g in its low
  /// half, row g + 8 in its high half.
  int64_t row(int64_t off) const {
    return tileRow(off) + off % 64 / 8 + 8 * (off % 4 / 2);
  }
};
} // namespace

/// The error of meta padding byte `b` (offset `off` in expert `e`) that is
/// not 0x44.
static std::string metaPaddingError(const uint8_t *meta, int64_t b, int64_t e,
                                    int64_t off, const MetaPadding &pad,
                                    const SSShape &s) {
  unsigned lo = meta[b] & 0xfu;
  unsigned nibble = lo != 0x4 ? lo : unsigned(meta[b]) >> 4;
  const RowPlan &rows = pad.rows;
  std::string where = rows.name(pad.row(off));
  if (rows.logical(pad.row(off)) >= 0) {
    int64_t first = pad.tileRow(off);
    where = std::string(rows.padded() ? "stored " : "") + "kept rows " +
            str(first) + ".." + str(first + 15) + ", k step " +
            str(pad.kStep(off)) + ": padding past cols = " + str(s.cols);
  }
  return "byte " + str(b) + " (expert " + str(e) + ", " + where +
         ") holds nibble 0x" + kHex[nibble] + ", not 0x4: layout " +
         layoutName(rows.layout) + " pads the metadata with 0x4";
}

/// checkMeta, or with `content` false only its check of the padding.
static std::string checkMetaBytes(const uint8_t *meta, const SSParams &p,
                                  const SSShape &s, WeightLayout layout,
                                  bool content) {
  const int64_t perExpert = metaBytesPerExpert(p, s, layout);
  const int64_t bytes = perExpert * s.experts;
  const MetaPadding pad(p, s, layout);
  const bool padded = pad.any();
  if (!padded && !content)
    return "";
  for (int64_t b = 0; b < bytes; ++b) {
    const int64_t off = b % perExpert;
    if (padded &&
        (pad.kStep(off) >= pad.KS || pad.rows.logical(pad.row(off)) < 0)) {
      if (meta[b] == kPadMetaByte)
        continue;
      return metaPaddingError(meta, b, b / perExpert, off, pad, s);
    }
    if (!content)
      continue;
    for (unsigned nibble : {meta[b] & 0xfu, unsigned(meta[b]) >> 4})
      if (!validNibble(nibble))
        return "byte " + str(b) + " (expert " + str(b / perExpert) +
               ") holds nibble 0x" + kHex[nibble] +
               ": 2:4 metadata is i0 | i1 << 2 with i0 < i1 (0x4, 0x8, 0x9, "
               "0xc, 0xd or 0xe)";
  }
  return "";
}

std::string checkMeta(const uint8_t *meta, const SSParams &p, const SSShape &s,
                      WeightLayout layout) {
  return checkMetaBytes(meta, p, s, layout, true);
}

std::vector<ByteRange> valuesPadding(const SSParams &p, const SSShape &s,
                                     WeightLayout layout) {
  std::vector<ByteRange> out;
  const RowPlan rows(p, s, layout);
  const int64_t kp = storedCols(s, layout);
  if (!isWgmmaLayout(layout) || (kp == s.cols && !rows.padded()))
    return out;
  // A tile holds padding rows iff its last row is one (they end a part).
  const int64_t tileBytes = kp / kWgmmaCols * kWgmmaBlockBytes;
  const int64_t tilesPerExpert = rows.stored() / kWgmmaRows;
  for (int64_t t = 0; t < s.experts * tilesPerExpert; ++t) {
    int64_t last = (t % tilesPerExpert + 1) * kWgmmaRows - 1;
    if (rows.logical(last) < 0)
      out.push_back({t * tileBytes, tileBytes});
    else if (kp != s.cols)
      out.push_back({(t + 1) * tileBytes - kWgmmaBlockBytes, kWgmmaBlockBytes});
  }
  return out;
}

/// The error of values padding byte `at` (of the values component) of stored
/// kept row `sr` of expert `e`, compressed column `col`, holding `byte`.
static std::string valuesPaddingError(int64_t at, int64_t e, int64_t sr,
                                      int64_t col, uint8_t byte,
                                      const RowPlan &rows, const SSShape &s) {
  std::string where = rows.name(sr);
  if (rows.logical(sr) >= 0)
    where += ", compressed column " + str(col) +
             ": padding past cols = " + str(s.cols);
  return "byte " + str(at) + " (expert " + str(e) + ", " + where + ") is 0x" +
         kHex[byte >> 4] + kHex[byte & 0xfu] + ", not 0: layout " +
         layoutName(rows.layout) + " pads the values with zeros";
}

std::string checkValuesPadding(const uint8_t *bytes, const ByteRange &range,
                               const SSParams &p, const SSShape &s,
                               WeightLayout layout) {
  // Row r of a (T, b) block is 128 bytes, 8 chunks of 16; physical chunk j
  // holds the block's compressed columns 8*(j ^ r%8) .. +7: padding at or
  // past K/2 (K % 32 == 0, so whole chunks), or in a padding row.
  const RowPlan rows(p, s, layout);
  const int64_t KB = storedCols(s, layout) / kWgmmaCols;
  const int64_t tilesPerExpert = rows.stored() / kWgmmaRows;
  for (int64_t off = 0; off < range.bytes; off += 16) {
    const int64_t at = range.offset + off, blk = at / kWgmmaBlockBytes;
    const int64_t r = at % kWgmmaBlockBytes / 128, j = at % 128 / 16;
    const int64_t tile = blk / KB;
    const int64_t sr = tile % tilesPerExpert * kWgmmaRows + r;
    const int64_t col = blk % KB * 64 + (j ^ (r % 8)) * 8;
    if (rows.logical(sr) >= 0 && col < s.cols / 2)
      continue;
    for (int64_t k = 0; k < 16; ++k)
      if (bytes[off + k] != 0)
        return valuesPaddingError(at + k, tile / tilesPerExpert, sr,
                                  col + k / 2, bytes[off + k], rows, s);
  }
  return "";
}

/// Checks every range of the values padding of the whole values component.
static std::string checkAllValuesPadding(const uint8_t *values,
                                         const SSParams &p, const SSShape &s,
                                         WeightLayout layout) {
  for (const ByteRange &range : valuesPadding(p, s, layout)) {
    std::string err =
        checkValuesPadding(values + range.offset, range, p, s, layout);
    if (!err.empty())
      return err;
  }
  return "";
}

int64_t valuesWordIndex(WeightLayout layout, int64_t row, int64_t col,
                        int64_t kSteps) {
  if (layout == WeightLayout::MmaSp) {
    int64_t tr = row / 16, rr = row % 16;
    int64_t ks = col / 16, cc = col % 16;
    int64_t lane = (rr % 8) * 4 + (cc % 8) / 2;
    int64_t i = (rr / 8) | ((cc / 8) << 1);
    return ((tr * kSteps + ks) * 32 + lane) * 4 + i;
  }
  // The wgmma layouts: blocks of 64 stored kept rows x 64 compressed columns
  // (128 bytes a row); the 16-byte chunk cc/8 of row r is stored at chunk
  // (cc/8) ^ (r%8) (the 128B swizzle). In 32-bit words: a row is 32 words, a
  // chunk 4.
  int64_t t = row / 64, r = row % 64;
  int64_t b = col / 64, cc = col % 64;
  int64_t blocks = kSteps / 4; // Kp / 128
  return ((t * blocks + b) * 64 + r) * 32 + ((cc / 8) ^ (r % 8)) * 4 +
         (cc % 8) / 2;
}

void metaNibblePosition(WeightLayout layout, int64_t row, int64_t chunk,
                        int64_t kSteps, int64_t &word, int &shift) {
  int64_t tr = row / 16, rr = row % 16;
  int64_t ks = chunk / 8, cc = chunk % 8;
  // Every layout stores the same 16-word blocks (one 16-row tile, one k
  // step); only the order of the blocks differs.
  int64_t block = layout == WeightLayout::MmaSp
                      ? tr * kSteps + ks
                      : ((tr / 4) * kSteps + ks) * 4 + tr % 4;
  word = block * 16 + 2 * (rr % 8) + cc / 4;
  shift = int(16 * (rr / 8) + 4 * (cc % 4));
}

namespace {
/// One expert's compressed matrix and row choices in logical order: for kept
/// row kr and 4-column chunk ch, `words[kr*K/4 + ch]` holds `C[kr][2ch]` (low
/// half) and `C[kr][2ch+1]` (high half), `nibbles[kr*K/4 + ch]` its metadata
/// nibble; `rowIdx[s*Rk + kr]` its row choice in span s (empty when n == m).
struct LogicalExpert {
  std::vector<uint32_t> words;
  std::vector<uint8_t> nibbles, rowIdx;
  LogicalExpert(int64_t Rk, int64_t K, int64_t spans)
      : words(static_cast<size_t>(Rk * K / 4)),
        nibbles(static_cast<size_t>(Rk * K / 4)),
        rowIdx(static_cast<size_t>(spans * Rk)) {}
};

/// Where one expert's words lie in a layout: its stored rows and columns,
/// and its components' sizes (in words for values and meta).
struct ExpertLayout {
  WeightLayout layout;
  RowPlan rows;
  int64_t K, Kp, Rk, n, spans, valWords, metaWords, idxBytes;
  ExpertLayout(const SSParams &p, const SSShape &s, WeightLayout layout)
      : layout(layout), rows(p, s, layout), K(s.cols),
        Kp(storedCols(s, layout)), Rk(keptRows(p, s)), n(p.n),
        spans(p.n == p.m ? 0 : s.cols / p.v),
        valWords(valuesBytesPerExpert(p, s, layout) / 4),
        metaWords(metaBytesPerExpert(p, s, layout) / 4),
        idxBytes(rowIdxBytesPerExpert(p, s, layout)) {}
};

/// Writes `c` into expert `e` of `w` (meta zeroed first) in `x.layout`, with
/// the padding: the only loop that places words.
void scatterExpert(const LogicalExpert &c, const ExpertLayout &x,
                   PackedWeight &w, int64_t e) {
  uint32_t *vals = w.values.data() + e * x.valWords;
  uint32_t *meta = w.meta.data() + e * x.metaWords;
  uint8_t *ridx = w.rowIdx.data() + e * x.idxBytes;
  const int64_t chunks = x.K / 4, KSp = x.Kp / 32, Rs = x.rows.stored();
  std::fill(meta, meta + x.metaWords, 0u);
  for (int64_t sr = 0; sr < Rs; ++sr) {
    // Padding rows and columns K..Kp-1: value 0, nibble 0x4 (i0 = 0, i1 =
    // 1); a padding row's row_idx its index among the padding rows mod n.
    const int64_t kr = x.rows.logical(sr);
    for (int64_t ch = 0; ch < x.Kp / 4; ++ch) {
      bool real = kr >= 0 && ch < chunks;
      size_t i = real ? size_t(kr * chunks + ch) : 0;
      vals[valuesWordIndex(x.layout, sr, 2 * ch, KSp)] = real ? c.words[i] : 0u;
      int64_t word;
      int shift;
      metaNibblePosition(x.layout, sr, ch, KSp, word, shift);
      meta[word] |= uint32_t(real ? c.nibbles[i] : 0x4u) << shift;
    }
    for (int64_t sp = 0; sp < x.spans; ++sp)
      ridx[sp * Rs + sr] = kr >= 0 ? c.rowIdx[size_t(sp * x.Rk + kr)]
                                   : uint8_t(x.rows.padding(sr) % x.n);
  }
}

/// Reads expert `e` of `w` in `x.layout`: the only loop that finds words. The
/// padding (columns K..Kp-1 and padding rows of the wgmma layouts) is not
/// read.
LogicalExpert gatherExpert(const PackedWeight &w, int64_t e,
                           const ExpertLayout &x) {
  const uint32_t *vals = w.values.data() + e * x.valWords;
  const uint32_t *meta = w.meta.data() + e * x.metaWords;
  const uint8_t *ridx = w.rowIdx.data() + e * x.idxBytes;
  const int64_t KS = x.Kp / 32, chunks = x.K / 4, Rs = x.rows.stored();
  LogicalExpert c(x.Rk, x.K, x.spans);
  for (int64_t kr = 0; kr < x.Rk; ++kr) {
    const int64_t sr = x.rows.storedRow(kr);
    for (int64_t ch = 0; ch < chunks; ++ch) {
      size_t i = size_t(kr * chunks + ch);
      c.words[i] = vals[valuesWordIndex(x.layout, sr, 2 * ch, KS)];
      int64_t word;
      int shift;
      metaNibblePosition(x.layout, sr, ch, KS, word, shift);
      c.nibbles[i] = uint8_t((meta[word] >> shift) & 0xfu);
    }
    for (int64_t sp = 0; sp < x.spans; ++sp)
      c.rowIdx[size_t(sp * x.Rk + kr)] = ridx[sp * Rs + sr];
  }
  return c;
}

/// A weight with the given parameters, shape, dtype and layout, and zeroed
/// components of the sizes Format.md gives.
PackedWeight allocate(const SSParams &p, const SSShape &s, DType dtype,
                      WeightLayout layout) {
  PackedWeight w;
  w.p = p;
  w.s = s;
  w.dtype = dtype;
  w.layout = layout;
  std::array<int64_t, 3> bytes = componentBytes(p, s, layout);
  w.values.assign(static_cast<size_t>(bytes[0] / 4), 0);
  w.meta.assign(static_cast<size_t>(bytes[1] / 4), 0);
  w.rowIdx.assign(static_cast<size_t>(bytes[2]), 0);
  return w;
}

/// Why `w` cannot be read ("" when its parameters, layout and component sizes
/// agree).
std::string inconsistency(const PackedWeight &w) {
  std::string err = validate(w.p, w.s, w.layout);
  if (!err.empty())
    return err;
  std::array<int64_t, 3> bytes = componentBytes(w.p, w.s, w.layout);
  if (w.valuesBytes() != bytes[0] || w.metaBytes() != bytes[1] ||
      w.rowIdxBytes() != bytes[2])
    return "component sizes do not match the shape";
  return "";
}

bool fail(std::string *error, const std::string &msg) {
  if (error)
    *error = msg;
  return false;
}
} // namespace

/// Magnitude used for selection; NaN sorts as the smallest.
static double magnitude(double x) {
  return std::isnan(x) ? -1.0 : std::fabs(x);
}

/// Keeps the 2 entries of largest magnitude of every chunk of span `sp` of
/// row `src` of `We` as kept row `kr` of `c`.
static void selectEntries(const uint16_t *We, DType dtype, const SSParams &p,
                          const SSShape &s, int64_t sp, int64_t src, int64_t kr,
                          LogicalExpert &c) {
  const int64_t K = s.cols, V = p.v;
  for (int64_t ch = sp * V / 4; ch < (sp + 1) * V / 4; ++ch) {
    const uint16_t *q = We + src * K + 4 * ch;
    int idx[4] = {0, 1, 2, 3};
    std::stable_sort(idx, idx + 4, [&](int a, int b) {
      return magnitude(toFloat(q[a], dtype)) > magnitude(toFloat(q[b], dtype));
    });
    int i0 = std::min(idx[0], idx[1]), i1 = std::max(idx[0], idx[1]);
    size_t i = size_t(kr * (K / 4) + ch);
    c.words[i] = uint32_t(q[i0]) | (uint32_t(q[i1]) << 16);
    c.nibbles[i] = uint8_t(i0 | (i1 << 2));
  }
}

/// Selects the kept rows and 2:4 entries of expert `We` (Format.md's logical
/// content) into `c` (its row_idx only when n < m).
static void selectExpert(const uint16_t *We, DType dtype, const SSParams &p,
                         const SSShape &s, LogicalExpert &c) {
  const int64_t R = s.rows, K = s.cols, M = p.m, N = p.n, V = p.v;
  const int64_t S = K / V, Rk = keptRows(p, s);
  std::vector<double> norms(static_cast<size_t>(M));
  std::vector<int> order(static_cast<size_t>(M));
  for (int64_t sp = 0; sp < S; ++sp) {
    for (int64_t g = 0; g < R / M; ++g) {
      for (int64_t j = 0; j < M; ++j) {
        double acc = 0;
        for (int64_t k = sp * V; k < (sp + 1) * V; ++k) {
          double x = toFloat(We[(g * M + j) * K + k], dtype);
          acc += x * x;
        }
        norms[j] = std::isnan(acc) ? -1.0 : acc;
        order[j] = int(j);
      }
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return norms[a] > norms[b]; });
      std::sort(order.begin(), order.begin() + N);
      for (int64_t jj = 0; jj < N; ++jj) {
        int64_t kr = g * N + jj;
        if (!c.rowIdx.empty())
          c.rowIdx[size_t(sp * Rk + kr)] = uint8_t(order[jj]);
        selectEntries(We, dtype, p, s, sp, g * M + order[jj], kr, c);
      }
    }
  }
}

PackedWeight pack(const uint16_t *dense, DType dtype, const SSShape &shape,
                  const SSParams &params, std::string *error,
                  WeightLayout layout) {
  std::string err = validate(params, shape, layout);
  if (err.empty() && !dense)
    err = "dense weight pointer is null";
  if (!err.empty()) {
    fail(error, err);
    return PackedWeight();
  }
  PackedWeight w = allocate(params, shape, dtype, layout);
  const ExpertLayout x(params, shape, layout);
  const int64_t R = shape.rows, K = shape.cols;

  // Experts are packed independently (in parallel when OpenMP is on).
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t e = 0; e < shape.experts; ++e) {
    LogicalExpert c(x.Rk, K, x.spans);
    selectExpert(dense + e * R * K, dtype, params, shape, c);
    scatterExpert(c, x, w, e);
  }
  return w;
}

std::string checkContent(const uint8_t *values, const uint8_t *meta,
                         const uint8_t *rowIdx, const SSParams &p,
                         const SSShape &s, WeightLayout layout, int &part) {
  part = 2;
  std::string err = checkRowIdx(rowIdx, p, s, layout);
  if (!err.empty())
    return err;
  part = 1;
  err = checkMeta(meta, p, s, layout);
  if (!err.empty())
    return err;
  part = 0;
  return checkAllValuesPadding(values, p, s, layout);
}

/// "row_idx: ", "meta: " or "values: " for a part index of componentBytes().
static const char *partPrefix(int part) {
  return part == 2 ? "row_idx: " : part == 1 ? "meta: " : "values: ";
}

std::string checkPacked(const PackedWeight &w) {
  std::string err = inconsistency(w);
  if (!err.empty())
    return err;
  int part;
  err = checkContent(reinterpret_cast<const uint8_t *>(w.values.data()),
                     reinterpret_cast<const uint8_t *>(w.meta.data()),
                     w.rowIdx.data(), w.p, w.s, w.layout, part);
  if (!err.empty())
    return partPrefix(part) + err;
  return "";
}

/// checkPacked's checks of the padding only (what relayout drops or
/// rewrites), of a weight whose sizes agree.
static std::string checkPadding(const PackedWeight &w) {
  std::string err =
      checkRowIdxBytes(w.rowIdx.data(), w.p, w.s, w.layout, false);
  if (!err.empty())
    return partPrefix(2) + err;
  err = checkMetaBytes(reinterpret_cast<const uint8_t *>(w.meta.data()), w.p,
                       w.s, w.layout, false);
  if (!err.empty())
    return partPrefix(1) + err;
  err = checkAllValuesPadding(
      reinterpret_cast<const uint8_t *>(w.values.data()), w.p, w.s, w.layout);
  return err.empty() ? err : partPrefix(0) + err;
}

/// unpack() of a weight that passed checkPacked.
static std::vector<uint16_t> expand(const PackedWeight &w) {
  const int64_t R = w.s.rows, K = w.s.cols, M = w.p.m, N = w.p.n, V = w.p.v;
  const int64_t Rk = keptRows(w.p, w.s), E = w.s.experts;
  const ExpertLayout x(w.p, w.s, w.layout);
  std::vector<uint16_t> dense(static_cast<size_t>(E * R * K), 0);
  for (int64_t e = 0; e < E; ++e) {
    LogicalExpert c = gatherExpert(w, e, x);
    uint16_t *De = dense.data() + e * R * K;
    for (int64_t kr = 0; kr < Rk; ++kr) {
      for (int64_t ch = 0; ch < K / 4; ++ch) {
        int64_t s = ch * 4 / V;
        int64_t sel = x.spans ? c.rowIdx[size_t(s * Rk + kr)] : kr % M;
        int64_t row = (kr / N) * M + sel;
        size_t i = size_t(kr * (K / 4) + ch);
        uint32_t n = c.nibbles[i], v = c.words[i];
        De[row * K + 4 * ch + (n & 3u)] = uint16_t(v & 0xffffu);
        De[row * K + 4 * ch + (n >> 2)] = uint16_t(v >> 16);
      }
    }
  }
  return dense;
}

std::vector<uint16_t> unpack(const PackedWeight &w, std::string *error) {
  std::string err = checkPacked(w);
  if (err.empty())
    return expand(w);
  fail(error, err);
  return {};
}

PackedWeight relayout(const PackedWeight &w, WeightLayout layout,
                      std::string *error) {
  std::string err = inconsistency(w);
  if (err.empty())
    err = validate(w.p, w.s, layout);
  // The source's padding is dropped (or rewritten): refuse padding that is
  // not the packer's rather than lose it, so that relayout never turns a
  // weight unpack refuses into one it accepts.
  if (err.empty())
    err = checkPadding(w);
  if (!err.empty()) {
    fail(error, std::string("cannot relayout from ") + layoutName(w.layout) +
                    " to " + layoutName(layout) + ": " + err);
    return PackedWeight();
  }
  PackedWeight out = allocate(w.p, w.s, w.dtype, layout);
  const ExpertLayout from(w.p, w.s, w.layout), to(w.p, w.s, layout);
  for (int64_t e = 0; e < w.s.experts; ++e)
    scatterExpert(gatherExpert(w, e, from), to, out, e);
  return out;
}

} // namespace rt
} // namespace samoyeds
