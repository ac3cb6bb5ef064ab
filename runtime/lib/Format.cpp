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
  return layout == WeightLayout::Wgmma ? "wgmma" : "mma_sp";
}

bool parseLayout(const std::string &name, WeightLayout &layout) {
  for (WeightLayout l : {WeightLayout::MmaSp, WeightLayout::Wgmma})
    if (name == layoutName(l)) {
      layout = l;
      return true;
    }
  return false;
}

static std::string str(int64_t v) { return std::to_string(v); }

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

/// The wgmma layout's unit of K: one 64-row x 128-column block (8192 bytes).
static constexpr int64_t kWgmmaCols = 128, kWgmmaBlockBytes = 8192;

std::string validate(const SSParams &p, const SSShape &s, WeightLayout layout) {
  std::string err = validateCommon(p, s);
  if (!err.empty() || layout != WeightLayout::Wgmma)
    return err;
  int64_t rk = keptRows(p, s);
  if (rk % 64 != 0)
    return "layout wgmma needs kept rows rows*n/m = " + str(rk) +
           " (rows = " + str(s.rows) + ") to be a multiple of 64";
  // The padded values (Rk * Kp bytes per expert) bound every padded size.
  // K <= INT64_MAX / 2 here (the dense size fits), so Kp does not overflow.
  int64_t kp = storedCols(s, layout), values;
  if (!checkedProduct({s.experts, rk, kp}, values))
    return "layout wgmma pads cols = " + str(s.cols) + " to " + str(kp) +
           ": experts x kept rows x padded cols = " + str(s.experts) + " x " +
           str(rk) + " x " + str(kp) +
           " is too large (the values bytes overflow a 64-bit byte count)";
  return "";
}

/// Columns `layout` stores for K columns: K, or K rounded up to 128 (wgmma).
static int64_t paddedCols(int64_t K, WeightLayout layout) {
  if (layout != WeightLayout::Wgmma)
    return K;
  return K + (kWgmmaCols - K % kWgmmaCols) % kWgmmaCols;
}

int64_t storedCols(const SSShape &s, WeightLayout layout) {
  return paddedCols(s.cols, layout);
}

int64_t keptRows(const SSParams &p, const SSShape &s) {
  return s.rows / p.m * p.n;
}
int64_t valuesBytesPerExpert(const SSParams &p, const SSShape &s,
                             WeightLayout layout) {
  return keptRows(p, s) * storedCols(s, layout);
}
int64_t metaBytesPerExpert(const SSParams &p, const SSShape &s,
                           WeightLayout layout) {
  return keptRows(p, s) * storedCols(s, layout) / 8;
}
int64_t rowIdxBytesPerExpert(const SSParams &p, const SSShape &s) {
  return p.n == p.m ? 0 : (s.cols / p.v) * keptRows(p, s);
}
std::array<int64_t, 3> componentBytes(const SSParams &p, const SSShape &s,
                                      WeightLayout layout) {
  return {valuesBytesPerExpert(p, s, layout) * s.experts,
          metaBytesPerExpert(p, s, layout) * s.experts,
          rowIdxBytesPerExpert(p, s) * s.experts};
}

std::string checkRowIdx(const uint8_t *rowIdx, const SSParams &p,
                        const SSShape &s) {
  const int64_t bytes = rowIdxBytesPerExpert(p, s) * s.experts;
  const int64_t Rk = keptRows(p, s);
  const int64_t spans = s.cols / p.v;
  for (int64_t b = 0; b < bytes; ++b) {
    int64_t kr = b % Rk;
    bool inRange = rowIdx[b] < p.m;
    if (inRange && (kr % p.n == 0 || rowIdx[b] > rowIdx[b - 1]))
      continue;
    std::string where = "byte " + str(b) + " (expert " + str(b / Rk / spans) +
                        ", span " + str(b / Rk % spans) + ", kept row " +
                        str(kr) + ") is " + str(rowIdx[b]);
    if (!inRange)
      return where + ", not below m = " + str(p.m);
    return where + ", not above the previous kept row of its group (" +
           str(rowIdx[b - 1]) + "): kept rows must be strictly increasing";
  }
  return "";
}

/// Whether a metadata nibble is ordered 2:4 metadata (i0 < i1).
static bool validNibble(unsigned nibble) {
  return (nibble & 3u) < (nibble >> 2);
}

static const char *const kHex = "0123456789abcdef";

/// The meta padding byte (two 0x4 nibbles: i0 = 0, i1 = 1).
static constexpr uint8_t kPadMetaByte = 0x44;

/// checkMeta, or with `content` false only its check of the padding.
static std::string checkMetaBytes(const uint8_t *meta, const SSParams &p,
                                  const SSShape &s, WeightLayout layout,
                                  bool content) {
  const int64_t perExpert = metaBytesPerExpert(p, s, layout);
  const int64_t bytes = perExpert * s.experts;
  // Meta is stored in 64-byte blocks of one 16-row tile and one k step;
  // wgmma orders them [kr/64][ks][(kr%64)/16] over the padded k steps, and
  // those with ks >= K/32 are padding.
  const int64_t KS = s.cols / 32, KSp = storedCols(s, layout) / 32;
  const bool padded = KSp != KS;
  if (!padded && !content)
    return "";
  for (int64_t b = 0; b < bytes; ++b) {
    int64_t blk = padded ? b % perExpert / 64 : 0;
    if (padded && blk / 4 % KSp >= KS) {
      if (meta[b] == kPadMetaByte)
        continue;
      unsigned lo = meta[b] & 0xfu;
      unsigned nibble = lo != 0x4 ? lo : unsigned(meta[b]) >> 4;
      int64_t row = blk / (4 * KSp) * 64 + blk % 4 * 16;
      return "byte " + str(b) + " (expert " + str(b / perExpert) +
             ", kept rows " + str(row) + ".." + str(row + 15) + ", k step " +
             str(blk / 4 % KSp) + ": padding past cols = " + str(s.cols) +
             ") holds nibble 0x" + kHex[nibble] +
             ", not 0x4: layout wgmma pads the metadata with 0x4";
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

ValuesPadding valuesPadding(const SSParams &p, const SSShape &s,
                            WeightLayout layout) {
  ValuesPadding pad;
  const int64_t kp = storedCols(s, layout);
  if (layout != WeightLayout::Wgmma || kp == s.cols)
    return pad;
  const int64_t blocks = kp / kWgmmaCols; // k blocks per 64-row tile
  pad.count = s.experts * (keptRows(p, s) / 64);
  pad.bytes = kWgmmaBlockBytes;
  pad.stride = blocks * kWgmmaBlockBytes;
  pad.first = (blocks - 1) * kWgmmaBlockBytes;
  return pad;
}

std::string checkValuesPaddingBlock(const uint8_t *block, int64_t i,
                                    const SSParams &p, const SSShape &s) {
  // Row r of the block is 128 bytes, 8 chunks of 16; physical chunk j holds
  // the block's compressed columns 8*(j ^ r%8) .. +7. Those at or past
  // (K % 128) / 2 are padding (K % 32 == 0, so whole chunks).
  const ValuesPadding pad = valuesPadding(p, s, WeightLayout::Wgmma);
  const int64_t firstPad = (s.cols % kWgmmaCols) / 2 / 8; // logical chunk
  const int64_t tiles = keptRows(p, s) / 64;
  for (int64_t r = 0; r < 64; ++r)
    for (int64_t j = 0; j < 8; ++j) {
      int64_t logical = j ^ (r % 8);
      if (logical < firstPad)
        continue;
      for (int64_t k = 0; k < 16; ++k) {
        uint8_t byte = block[r * 128 + j * 16 + k];
        if (byte == 0)
          continue;
        int64_t col = (storedCols(s, WeightLayout::Wgmma) - kWgmmaCols) / 2 +
                      logical * 8 + k / 2;
        return "byte " +
               str(pad.first + i * pad.stride + r * 128 + j * 16 + k) +
               " (expert " + str(i / tiles) + ", kept row " +
               str(i % tiles * 64 + r) + ", compressed column " + str(col) +
               ": padding past cols = " + str(s.cols) + ") is 0x" +
               kHex[byte >> 4] + kHex[byte & 0xfu] +
               ", not 0: layout wgmma pads the values with zeros";
      }
    }
  return "";
}

/// Checks every block of the values padding of the whole values component.
static std::string checkValuesPadding(const uint8_t *values, const SSParams &p,
                                      const SSShape &s, WeightLayout layout) {
  const ValuesPadding pad = valuesPadding(p, s, layout);
  for (int64_t i = 0; i < pad.count; ++i) {
    std::string err =
        checkValuesPaddingBlock(values + pad.first + i * pad.stride, i, p, s);
    if (!err.empty())
      return err;
  }
  return "";
}

int64_t valuesWordIndex(WeightLayout layout, int64_t row, int64_t col,
                        int64_t kSteps) {
  switch (layout) {
  case WeightLayout::MmaSp: {
    int64_t tr = row / 16, rr = row % 16;
    int64_t ks = col / 16, cc = col % 16;
    int64_t lane = (rr % 8) * 4 + (cc % 8) / 2;
    int64_t i = (rr / 8) | ((cc / 8) << 1);
    return ((tr * kSteps + ks) * 32 + lane) * 4 + i;
  }
  case WeightLayout::Wgmma: {
    // Blocks of 64 kept rows x 64 compressed columns (128 bytes a row); the
    // 16-byte chunk cc/8 of row r is stored at chunk (cc/8) ^ (r%8) (the 128B
    // swizzle). In 32-bit words: a row is 32 words, a chunk 4.
    int64_t t = row / 64, r = row % 64;
    int64_t b = col / 64, cc = col % 64;
    int64_t blocks = kSteps / 4; // K / 128
    return ((t * blocks + b) * 64 + r) * 32 + ((cc / 8) ^ (r % 8)) * 4 +
           (cc % 8) / 2;
  }
  }
  return -1;
}

void metaNibblePosition(WeightLayout layout, int64_t row, int64_t chunk,
                        int64_t kSteps, int64_t &word, int &shift) {
  int64_t tr = row / 16, rr = row % 16;
  int64_t ks = chunk / 8, cc = chunk % 8;
  // Both layouts store the same 16-word blocks (one 16-row tile, one k
  // step); only the order of the blocks differs.
  int64_t block = -1;
  switch (layout) {
  case WeightLayout::MmaSp:
    block = tr * kSteps + ks;
    break;
  case WeightLayout::Wgmma:
    block = ((tr / 4) * kSteps + ks) * 4 + tr % 4;
    break;
  }
  word = block * 16 + 2 * (rr % 8) + cc / 4;
  shift = int(16 * (rr / 8) + 4 * (cc % 4));
}

namespace {
/// One expert's compressed matrix in logical order: for kept row kr and
/// 4-column chunk ch, `words[kr*K/4 + ch]` holds `C[kr][2ch]` (low half) and
/// `C[kr][2ch+1]` (high half), `nibbles[kr*K/4 + ch]` its metadata nibble.
struct LogicalExpert {
  std::vector<uint32_t> words;
  std::vector<uint8_t> nibbles;
  LogicalExpert(int64_t Rk, int64_t K)
      : words(static_cast<size_t>(Rk * K / 4)),
        nibbles(static_cast<size_t>(Rk * K / 4)) {}
};

/// Writes `c` into one expert's values and meta (meta zeroed first) in
/// `layout`: the only loop that places words.
void scatterExpert(const LogicalExpert &c, WeightLayout layout, int64_t Rk,
                   int64_t K, uint32_t *vals, uint32_t *meta) {
  const int64_t chunks = K / 4;
  // Columns K..Kp-1 are padding: value 0, nibble 0x4 (i0 = 0, i1 = 1).
  const int64_t Kp = paddedCols(K, layout);
  const int64_t KSp = Kp / 32, padChunks = Kp / 4;
  std::fill(meta, meta + Rk * Kp / 32, 0u);
  for (int64_t kr = 0; kr < Rk; ++kr)
    for (int64_t ch = 0; ch < padChunks; ++ch) {
      size_t i = size_t(kr * chunks + ch);
      bool real = ch < chunks;
      vals[valuesWordIndex(layout, kr, 2 * ch, KSp)] = real ? c.words[i] : 0u;
      int64_t word;
      int shift;
      metaNibblePosition(layout, kr, ch, KSp, word, shift);
      meta[word] |= uint32_t(real ? c.nibbles[i] : 0x4u) << shift;
    }
}

/// Reads one expert's values and meta in `layout`: the only loop that finds
/// words. The padding (columns K..Kp-1 of wgmma) is not read.
LogicalExpert gatherExpert(const uint32_t *vals, const uint32_t *meta,
                           WeightLayout layout, int64_t Rk, int64_t K) {
  const int64_t KS = paddedCols(K, layout) / 32, chunks = K / 4;
  LogicalExpert c(Rk, K);
  for (int64_t kr = 0; kr < Rk; ++kr)
    for (int64_t ch = 0; ch < chunks; ++ch) {
      size_t i = size_t(kr * chunks + ch);
      c.words[i] = vals[valuesWordIndex(layout, kr, 2 * ch, KS)];
      int64_t word;
      int shift;
      metaNibblePosition(layout, kr, ch, KS, word, shift);
      c.nibbles[i] = uint8_t((meta[word] >> shift) & 0xfu);
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

/// Selects the kept rows and 2:4 entries of expert `We` (Format.md's logical
/// content) into `c` and the expert's row_idx `ridx` (null when n == m).
static void selectExpert(const uint16_t *We, DType dtype, const SSParams &p,
                         const SSShape &s, LogicalExpert &c, uint8_t *ridx) {
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
        int64_t kr = g * N + jj, src = g * M + order[jj];
        if (ridx)
          ridx[sp * Rk + kr] = uint8_t(order[jj]);
        for (int64_t ch = sp * V / 4; ch < (sp + 1) * V / 4; ++ch) {
          const uint16_t *q = We + src * K + 4 * ch;
          int idx[4] = {0, 1, 2, 3};
          std::stable_sort(idx, idx + 4, [&](int a, int b) {
            return magnitude(toFloat(q[a], dtype)) >
                   magnitude(toFloat(q[b], dtype));
          });
          int i0 = std::min(idx[0], idx[1]), i1 = std::max(idx[0], idx[1]);
          size_t i = size_t(kr * (K / 4) + ch);
          c.words[i] = uint32_t(q[i0]) | (uint32_t(q[i1]) << 16);
          c.nibbles[i] = uint8_t(i0 | (i1 << 2));
        }
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
  const int64_t R = shape.rows, K = shape.cols, Rk = keptRows(params, shape);
  const int64_t valWords = valuesBytesPerExpert(params, shape, layout) / 4;
  const int64_t metaWords = metaBytesPerExpert(params, shape, layout) / 4;
  const int64_t idxBytes = rowIdxBytesPerExpert(params, shape);

  // Experts are packed independently (in parallel when OpenMP is on).
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t e = 0; e < shape.experts; ++e) {
    LogicalExpert c(Rk, K);
    selectExpert(dense + e * R * K, dtype, params, shape, c,
                 idxBytes ? w.rowIdx.data() + e * idxBytes : nullptr);
    scatterExpert(c, layout, Rk, K, w.values.data() + e * valWords,
                  w.meta.data() + e * metaWords);
  }
  return w;
}

std::string checkContent(const uint8_t *values, const uint8_t *meta,
                         const uint8_t *rowIdx, const SSParams &p,
                         const SSShape &s, WeightLayout layout, int &part) {
  part = 2;
  std::string err = checkRowIdx(rowIdx, p, s);
  if (!err.empty())
    return err;
  part = 1;
  err = checkMeta(meta, p, s, layout);
  if (!err.empty())
    return err;
  part = 0;
  return checkValuesPadding(values, p, s, layout);
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

/// unpack() of a weight that passed checkPacked.
static std::vector<uint16_t> expand(const PackedWeight &w) {
  const int64_t R = w.s.rows, K = w.s.cols, M = w.p.m, N = w.p.n, V = w.p.v;
  const int64_t Rk = keptRows(w.p, w.s), E = w.s.experts;
  const int64_t valWords = valuesBytesPerExpert(w.p, w.s, w.layout) / 4;
  const int64_t metaWords = metaBytesPerExpert(w.p, w.s, w.layout) / 4;
  const int64_t idxBytes = rowIdxBytesPerExpert(w.p, w.s);
  std::vector<uint16_t> dense(static_cast<size_t>(E * R * K), 0);
  for (int64_t e = 0; e < E; ++e) {
    LogicalExpert c =
        gatherExpert(w.values.data() + e * valWords,
                     w.meta.data() + e * metaWords, w.layout, Rk, K);
    uint16_t *De = dense.data() + e * R * K;
    for (int64_t kr = 0; kr < Rk; ++kr) {
      for (int64_t ch = 0; ch < K / 4; ++ch) {
        int64_t s = ch * 4 / V;
        int64_t sel =
            idxBytes ? w.rowIdx[size_t(e * idxBytes + s * Rk + kr)] : kr % M;
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
  if (err.empty()) {
    err = checkMetaBytes(reinterpret_cast<const uint8_t *>(w.meta.data()), w.p,
                         w.s, w.layout, false);
    if (!err.empty())
      err = "meta: " + err;
  }
  if (err.empty()) {
    err = checkValuesPadding(reinterpret_cast<const uint8_t *>(w.values.data()),
                             w.p, w.s, w.layout);
    if (!err.empty())
      err = "values: " + err;
  }
  if (!err.empty()) {
    fail(error, std::string("cannot relayout from ") + layoutName(w.layout) +
                    " to " + layoutName(layout) + ": " + err);
    return PackedWeight();
  }
  PackedWeight out = allocate(w.p, w.s, w.dtype, layout);
  out.rowIdx = w.rowIdx;
  const int64_t K = w.s.cols, Rk = keptRows(w.p, w.s);
  const int64_t fromVal = valuesBytesPerExpert(w.p, w.s, w.layout) / 4;
  const int64_t fromMeta = metaBytesPerExpert(w.p, w.s, w.layout) / 4;
  const int64_t toVal = valuesBytesPerExpert(w.p, w.s, layout) / 4;
  const int64_t toMeta = metaBytesPerExpert(w.p, w.s, layout) / 4;
  for (int64_t e = 0; e < w.s.experts; ++e)
    scatterExpert(gatherExpert(w.values.data() + e * fromVal,
                               w.meta.data() + e * fromMeta, w.layout, Rk, K),
                  layout, Rk, K, out.values.data() + e * toVal,
                  out.meta.data() + e * toMeta);
  return out;
}

} // namespace rt
} // namespace samoyeds
