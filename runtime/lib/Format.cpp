//===- Format.cpp - SS weight packing
//--------------------------------------===//

#include "samoyeds/Runtime/Format.h"

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

std::string validate(const SSParams &p, const SSShape &s) {
  auto str = [](int64_t v) { return std::to_string(v); };
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
  return "";
}

int64_t keptRows(const SSParams &p, const SSShape &s) {
  return s.rows / p.m * p.n;
}
int64_t valuesBytesPerExpert(const SSParams &p, const SSShape &s) {
  return keptRows(p, s) * s.cols;
}
int64_t metaBytesPerExpert(const SSParams &p, const SSShape &s) {
  return keptRows(p, s) * s.cols / 8;
}
int64_t rowIdxBytesPerExpert(const SSParams &p, const SSShape &s) {
  return p.n == p.m ? 0 : (s.cols / p.v) * keptRows(p, s);
}

int64_t valuesWordIndex(int64_t row, int64_t col, int64_t kSteps) {
  int64_t tr = row / 16, rr = row % 16;
  int64_t ks = col / 16, cc = col % 16;
  int64_t lane = (rr % 8) * 4 + (cc % 8) / 2;
  int64_t i = (rr / 8) | ((cc / 8) << 1);
  return ((tr * kSteps + ks) * 32 + lane) * 4 + i;
}

void metaNibblePosition(int64_t row, int64_t chunk, int64_t kSteps,
                        int64_t &word, int &shift) {
  int64_t tr = row / 16, rr = row % 16;
  int64_t ks = chunk / 8, cc = chunk % 8;
  word = (tr * kSteps + ks) * 16 + 2 * (rr % 8) + cc / 4;
  shift = int(16 * (rr / 8) + 4 * (cc % 4));
}

/// Magnitude used for selection; NaN sorts as the smallest.
static double magnitude(double x) {
  return std::isnan(x) ? -1.0 : std::fabs(x);
}

PackedWeight pack(const uint16_t *dense, DType dtype, const SSShape &shape,
                  const SSParams &params, std::string *error) {
  PackedWeight w;
  std::string err = validate(params, shape);
  if (err.empty() && !dense)
    err = "dense weight pointer is null";
  if (!err.empty()) {
    if (error)
      *error = err;
    return w;
  }
  w.p = params;
  w.s = shape;
  w.dtype = dtype;
  const int64_t R = shape.rows, K = shape.cols, M = params.m, N = params.n;
  const int64_t V = params.v, S = K / V, Rk = keptRows(params, shape);
  const int64_t KS = K / 32, E = shape.experts;
  const int64_t valWords = Rk * K / 4, metaWords = Rk * K / 32;
  const int64_t idxBytes = rowIdxBytesPerExpert(params, shape);
  w.values.assign(static_cast<size_t>(valWords * E), 0);
  w.meta.assign(static_cast<size_t>(metaWords * E), 0);
  w.rowIdx.assign(static_cast<size_t>(idxBytes * E), 0);

  // Experts are packed independently (in parallel when OpenMP is on).
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t e = 0; e < E; ++e) {
    std::vector<uint16_t> c(static_cast<size_t>(Rk * K / 2));
    std::vector<uint8_t> nib(static_cast<size_t>(Rk * K / 4));
    std::vector<double> norms(static_cast<size_t>(M));
    std::vector<int> order(static_cast<size_t>(M));
    const uint16_t *We = dense + e * R * K;
    for (int64_t s = 0; s < S; ++s) {
      for (int64_t g = 0; g < R / M; ++g) {
        for (int64_t j = 0; j < M; ++j) {
          double acc = 0;
          for (int64_t k = s * V; k < (s + 1) * V; ++k) {
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
          if (idxBytes)
            w.rowIdx[size_t(e * idxBytes + s * Rk + kr)] = uint8_t(order[jj]);
          for (int64_t ch = s * V / 4; ch < (s + 1) * V / 4; ++ch) {
            const uint16_t *q = We + src * K + 4 * ch;
            int idx[4] = {0, 1, 2, 3};
            std::stable_sort(idx, idx + 4, [&](int a, int b) {
              return magnitude(toFloat(q[a], dtype)) >
                     magnitude(toFloat(q[b], dtype));
            });
            int i0 = std::min(idx[0], idx[1]), i1 = std::max(idx[0], idx[1]);
            c[size_t(kr * (K / 2) + 2 * ch)] = q[i0];
            c[size_t(kr * (K / 2) + 2 * ch + 1)] = q[i1];
            nib[size_t(kr * (K / 4) + ch)] = uint8_t(i0 | (i1 << 2));
          }
        }
      }
    }
    uint32_t *vals = w.values.data() + e * valWords;
    uint32_t *meta = w.meta.data() + e * metaWords;
    for (int64_t kr = 0; kr < Rk; ++kr) {
      for (int64_t col = 0; col < K / 2; col += 2)
        vals[valuesWordIndex(kr, col, KS)] =
            uint32_t(c[size_t(kr * (K / 2) + col)]) |
            (uint32_t(c[size_t(kr * (K / 2) + col + 1)]) << 16);
      for (int64_t ch = 0; ch < K / 4; ++ch) {
        int64_t word;
        int shift;
        metaNibblePosition(kr, ch, KS, word, shift);
        meta[word] |= uint32_t(nib[size_t(kr * (K / 4) + ch)]) << shift;
      }
    }
  }
  return w;
}

std::vector<uint16_t> unpack(const PackedWeight &w) {
  const int64_t R = w.s.rows, K = w.s.cols, M = w.p.m, N = w.p.n, V = w.p.v;
  const int64_t Rk = keptRows(w.p, w.s), KS = K / 32, E = w.s.experts;
  const int64_t valWords = Rk * K / 4, metaWords = Rk * K / 32;
  const int64_t idxBytes = rowIdxBytesPerExpert(w.p, w.s);
  std::vector<uint16_t> dense(static_cast<size_t>(E * R * K), 0);
  if (!validate(w.p, w.s).empty() || int64_t(w.values.size()) != valWords * E ||
      int64_t(w.meta.size()) != metaWords * E ||
      int64_t(w.rowIdx.size()) != idxBytes * E)
    return dense;
  for (int64_t e = 0; e < E; ++e) {
    const uint32_t *vals = w.values.data() + e * valWords;
    const uint32_t *meta = w.meta.data() + e * metaWords;
    uint16_t *De = dense.data() + e * R * K;
    for (int64_t kr = 0; kr < Rk; ++kr) {
      for (int64_t ch = 0; ch < K / 4; ++ch) {
        int64_t s = ch * 4 / V;
        int64_t sel =
            idxBytes ? w.rowIdx[size_t(e * idxBytes + s * Rk + kr)] : kr % M;
        int64_t row = (kr / N) * M + sel;
        int64_t word;
        int shift;
        metaNibblePosition(kr, ch, KS, word, shift);
        uint32_t n = (meta[word] >> shift) & 0xfu;
        uint32_t v = vals[valuesWordIndex(kr, 2 * ch, KS)];
        De[row * K + 4 * ch + (n & 3u)] = uint16_t(v & 0xffffu);
        De[row * K + 4 * ch + (n >> 2)] = uint16_t(v >> 16);
      }
    }
  }
  return dense;
}

} // namespace rt
} // namespace samoyeds
