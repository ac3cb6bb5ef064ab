//===- FormatTest.cpp - Tests of the SS packed format
//----------------------===//

#include "samoyeds/Runtime/Format.h"
#include "samoyeds/Runtime/Reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace samoyeds::rt;

namespace {

float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(Conversion, Bf16EdgeCases) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBf16(-2.0f), 0xc000);
  EXPECT_EQ(floatToBf16(0.0f), 0x0000);
  EXPECT_EQ(floatToBf16(-0.0f), 0x8000);
  // Ties round to even; above the tie rounds up.
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3f808000u)), 0x3f80);
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3f818000u)), 0x3f82);
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3f808001u)), 0x3f81);
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(floatToBf16(-std::numeric_limits<float>::infinity()), 0xff80);
  // Largest finite float rounds to inf.
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(std::nanf("")))));
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(bitsToFloat(0x7f800001u)))));
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  for (uint32_t b = 0; b < 0x10000u; ++b) {
    float f = bf16ToFloat(uint16_t(b));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(f))));
    } else {
      ASSERT_EQ(floatToBf16(f), b) << std::hex << b;
    }
  }
}

TEST(Conversion, F16EdgeCases) {
  EXPECT_EQ(floatToF16(1.0f), 0x3c00);
  EXPECT_EQ(floatToF16(-2.0f), 0xc000);
  EXPECT_EQ(floatToF16(-0.0f), 0x8000);
  EXPECT_EQ(floatToF16(65504.0f), 0x7bff);
  EXPECT_EQ(floatToF16(65519.0f), 0x7bff);
  EXPECT_EQ(floatToF16(65520.0f), 0x7c00); // tie -> even -> inf
  EXPECT_EQ(floatToF16(1e10f), 0x7c00);
  EXPECT_EQ(floatToF16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(floatToF16(std::ldexp(1.0f, -14)), 0x0400); // smallest normal
  EXPECT_EQ(floatToF16(std::ldexp(1.0f, -24)), 0x0001); // smallest subnormal
  EXPECT_EQ(floatToF16(std::ldexp(1.0f, -25)), 0x0000); // tie -> even (0)
  EXPECT_EQ(floatToF16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(floatToF16(std::ldexp(3.0f, -25)), 0x0002); // 1.5 ulp tie -> 2
  EXPECT_EQ(floatToF16(std::ldexp(1.0f, -30)), 0x0000);
  EXPECT_EQ(floatToF16(-std::ldexp(1.0f, -30)), 0x8000);
  EXPECT_EQ(floatToF16(std::ldexp(1023.0f, -24)), 0x03ff); // largest subnormal
  // Subnormal rounding up into the smallest normal.
  EXPECT_EQ(floatToF16(std::ldexp(1023.75f, -24)), 0x0400);
  // 1 + 2^-11 is a tie between 1 and 1 + 2^-10: even is 1.
  EXPECT_EQ(floatToF16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(floatToF16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_TRUE(std::isnan(f16ToFloat(floatToF16(std::nanf("")))));
  EXPECT_TRUE(std::isinf(f16ToFloat(0x7c00)));
  EXPECT_EQ(f16ToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16ToFloat(0x8001), -std::ldexp(1.0f, -24));
  for (uint32_t b = 0; b < 0x10000u; ++b) {
    float f = f16ToFloat(uint16_t(b));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16ToFloat(floatToF16(f))));
    } else {
      ASSERT_EQ(floatToF16(f), b) << std::hex << b;
    }
  }
}

TEST(Validate, NamesTheBadValue) {
  SSShape s{1, 64, 128};
  EXPECT_EQ(validate({1, 2, 64}, s), "");
  EXPECT_NE(validate({0, 2, 64}, s).find("n = 0"), std::string::npos);
  EXPECT_NE(validate({3, 2, 64}, s).find("n = 3"), std::string::npos);
  EXPECT_NE(validate({1, 17, 64}, s).find("m = 17"), std::string::npos);
  EXPECT_NE(validate({1, 2, 48}, s).find("v = 48"), std::string::npos);
  EXPECT_NE(validate({1, 2, 96}, s).find("cols = 128"), std::string::npos);
  EXPECT_NE(validate({1, 3, 32}, {1, 64, 128}).find("rows = 64"),
            std::string::npos);
  EXPECT_NE(validate({1, 2, 32}, {1, 16, 128}).find("kept rows"),
            std::string::npos);
  EXPECT_NE(validate({1, 2, 32}, {0, 64, 128}).find("experts = 0"),
            std::string::npos);
  std::string err;
  PackedWeight w = pack(nullptr, DType::BF16, {1, 16, 128}, {1, 2, 32}, &err);
  EXPECT_FALSE(err.empty());
  EXPECT_TRUE(w.values.empty());
}

/// The test's own reading of Format.md's logical content: kept rows per
/// (span, group) and the compressed matrix C with its nibbles.
struct Expected {
  std::vector<uint8_t> rowIdx;  // [S][Rk]
  std::vector<uint16_t> c;      // [Rk][K/2]
  std::vector<uint8_t> nibbles; // [Rk][K/4]
};

Expected expectedLogical(const uint16_t *W, DType dt, int64_t R, int64_t K,
                         const SSParams &p) {
  int64_t M = p.m, N = p.n, V = p.v, S = K / V, Rk = R / M * N;
  Expected ex;
  ex.rowIdx.resize(static_cast<size_t>(S * Rk));
  ex.c.resize(static_cast<size_t>(Rk * K / 2));
  ex.nibbles.resize(static_cast<size_t>(Rk * K / 4));
  for (int64_t s = 0; s < S; ++s)
    for (int64_t g = 0; g < R / M; ++g) {
      std::vector<std::pair<double, int>> norms;
      for (int j = 0; j < M; ++j) {
        double n2 = 0;
        for (int64_t k = s * V; k < (s + 1) * V; ++k) {
          double v = toFloat(W[(g * M + j) * K + k], dt);
          n2 += v * v;
        }
        norms.push_back({-n2, j}); // sort: largest norm, then lower row
      }
      std::sort(norms.begin(), norms.end());
      std::vector<int> kept;
      for (int j = 0; j < N; ++j)
        kept.push_back(norms[size_t(j)].second);
      std::sort(kept.begin(), kept.end());
      for (int j = 0; j < N; ++j) {
        int64_t kr = g * N + j, row = g * M + kept[size_t(j)];
        ex.rowIdx[size_t(s * Rk + kr)] = uint8_t(kept[size_t(j)]);
        for (int64_t c = s * V / 4; c < (s + 1) * V / 4; ++c) {
          std::vector<std::pair<double, int>> mags;
          for (int i = 0; i < 4; ++i)
            mags.push_back(
                {-std::fabs(toFloat(W[row * K + 4 * c + i], dt)), i});
          std::sort(mags.begin(), mags.end());
          int i0 = std::min(mags[0].second, mags[1].second);
          int i1 = std::max(mags[0].second, mags[1].second);
          ex.c[size_t(kr * K / 2 + 2 * c)] = W[row * K + 4 * c + i0];
          ex.c[size_t(kr * K / 2 + 2 * c + 1)] = W[row * K + 4 * c + i1];
          ex.nibbles[size_t(kr * K / 4 + c)] = uint8_t(i0 | (i1 << 2));
        }
      }
    }
  return ex;
}

struct Case {
  SSParams p;
  SSShape s;
  DType dt;
};

std::vector<Case> randomCases(uint64_t seed, int count) {
  SplitMix64 rng(seed);
  std::vector<Case> cases;
  const int ms[] = {1, 2, 4, 8}, vs[] = {32, 64, 128};
  for (int i = 0; i < count; ++i) {
    Case c;
    c.p.m = ms[rng.below(4)];
    c.p.n = 1 + int(rng.below(uint64_t(c.p.m)));
    c.p.v = vs[rng.below(3)];
    // R must be a multiple of M with R*N/M a multiple of 16.
    int64_t unit = c.p.m * 16;
    c.s.rows = unit * int64_t(1 + rng.below(unit >= 64 ? 1 : 2));
    c.s.cols = c.p.v * int64_t(1 + rng.below(3));
    c.s.experts = int64_t(1 + rng.below(3));
    c.dt = rng.below(2) ? DType::BF16 : DType::F16;
    cases.push_back(c);
  }
  // Make sure the corners are always there.
  cases.push_back({{1, 1, 32}, {1, 16, 32}, DType::BF16});
  cases.push_back({{8, 8, 128}, {2, 32, 256}, DType::F16});
  cases.push_back({{1, 8, 32}, {3, 128, 64}, DType::BF16});
  cases.push_back({{3, 4, 64}, {2, 64, 128}, DType::F16});
  return cases;
}

std::vector<uint16_t> randomDense(SplitMix64 &rng, const Case &c) {
  std::vector<uint16_t> d(
      static_cast<size_t>(c.s.experts * c.s.rows * c.s.cols));
  for (auto &v : d)
    v = rng.nonZero(c.dt, 1.0);
  return d;
}

TEST(Pack, SizesFollowFormatMd) {
  for (const Case &c : randomCases(11, 20)) {
    SplitMix64 rng(5);
    std::vector<uint16_t> d = randomDense(rng, c);
    PackedWeight w = pack(d.data(), c.dt, c.s, c.p);
    int64_t Rk = c.s.rows * c.p.n / c.p.m, K = c.s.cols, E = c.s.experts;
    EXPECT_EQ(w.valuesBytes(), E * Rk * K);
    EXPECT_EQ(w.metaBytes(), E * Rk * K / 8);
    EXPECT_EQ(w.rowIdxBytes(), c.p.n == c.p.m ? 0 : E * (K / c.p.v) * Rk);
  }
}

TEST(Pack, UnpackKeepsExactlyTheLargestEntries) {
  SplitMix64 rng(2024);
  int caseNo = 0;
  for (const Case &c : randomCases(7, 60)) {
    SCOPED_TRACE(
        "case " + std::to_string(caseNo++) + " n=" + std::to_string(c.p.n) +
        " m=" + std::to_string(c.p.m) + " v=" + std::to_string(c.p.v) +
        " E=" + std::to_string(c.s.experts) + " R=" + std::to_string(c.s.rows) +
        " K=" + std::to_string(c.s.cols));
    std::vector<uint16_t> d = randomDense(rng, c);
    std::string err;
    PackedWeight w = pack(d.data(), c.dt, c.s, c.p, &err);
    ASSERT_EQ(err, "");
    std::vector<uint16_t> u = unpack(w);
    const int64_t R = c.s.rows, K = c.s.cols, M = c.p.m, N = c.p.n, V = c.p.v;
    for (int64_t e = 0; e < c.s.experts; ++e) {
      const uint16_t *D = d.data() + e * R * K, *U = u.data() + e * R * K;
      Expected ex = expectedLogical(D, c.dt, R, K, c.p);
      for (int64_t s = 0; s < K / V; ++s)
        for (int64_t g = 0; g < R / M; ++g) {
          int keptRowsInGroup = 0;
          for (int64_t j = 0; j < M; ++j) {
            int64_t row = g * M + j;
            bool kept = false;
            for (int64_t jj = 0; jj < N; ++jj)
              kept |= ex.rowIdx[size_t(s * (R / M * N) + g * N + jj)] == j;
            int nonzeroInRow = 0;
            for (int64_t ch = s * V / 4; ch < (s + 1) * V / 4; ++ch) {
              int nz = 0;
              for (int i = 0; i < 4; ++i) {
                uint16_t uv = U[row * K + 4 * ch + i];
                nz += uv != 0;
                // Every kept entry is the original value.
                if (uv != 0) {
                  ASSERT_EQ(uv, D[row * K + 4 * ch + i]);
                }
              }
              if (kept) {
                ASSERT_EQ(nz, 2)
                    << "2:4 violated at row " << row << " chunk " << ch;
                // The two kept entries are the two largest magnitudes.
                for (int i = 0; i < 4; ++i) {
                  if (U[row * K + 4 * ch + i] != 0)
                    continue;
                  for (int k = 0; k < 4; ++k)
                    if (U[row * K + 4 * ch + k] != 0) {
                      ASSERT_GE(
                          std::fabs(toFloat(D[row * K + 4 * ch + k], c.dt)),
                          std::fabs(toFloat(D[row * K + 4 * ch + i], c.dt)));
                    }
                }
              } else {
                ASSERT_EQ(nz, 0) << "dropped row " << row << " has entries";
              }
              nonzeroInRow += nz;
            }
            keptRowsInGroup += nonzeroInRow > 0;
          }
          ASSERT_EQ(keptRowsInGroup, N)
              << "N-of-M violated, span " << s << " group " << g;
        }
      // The kept rows are the largest-norm ones (as Format.md ranks them).
      for (int64_t s = 0; s < K / V; ++s)
        for (int64_t g = 0; g < R / M; ++g)
          for (int64_t jj = 0; jj < N; ++jj) {
            int64_t row =
                g * M + ex.rowIdx[size_t(s * (R / M * N) + g * N + jj)];
            ASSERT_NE(U[row * K + s * V] | U[row * K + s * V + 1] |
                          U[row * K + s * V + 2] | U[row * K + s * V + 3],
                      0);
          }
    }
    // pack(unpack(w)) is a fixed point.
    PackedWeight w2 = pack(u.data(), c.dt, c.s, c.p);
    EXPECT_EQ(w2.values, w.values);
    EXPECT_EQ(w2.meta, w.meta);
    EXPECT_EQ(w2.rowIdx, w.rowIdx);
  }
}

TEST(Pack, PhysicalLayoutMatchesFormatMd) {
  SplitMix64 rng(99);
  for (const Case &c : randomCases(3, 25)) {
    std::vector<uint16_t> d = randomDense(rng, c);
    PackedWeight w = pack(d.data(), c.dt, c.s, c.p);
    const int64_t R = c.s.rows, K = c.s.cols, Rk = R / c.p.m * c.p.n;
    const int64_t KS = K / 32, TR = Rk / 16, S = K / c.p.v;
    for (int64_t e = 0; e < c.s.experts; ++e) {
      Expected ex = expectedLogical(d.data() + e * R * K, c.dt, R, K, c.p);
      const uint32_t *vals = w.values.data() + e * Rk * K / 4;
      const uint32_t *meta = w.meta.data() + e * Rk * K / 32;
      // Walk the physical words forwards, exactly as Format.md writes them.
      for (int64_t tr = 0; tr < TR; ++tr)
        for (int64_t ks = 0; ks < KS; ++ks) {
          for (int lane = 0; lane < 32; ++lane) {
            int g = lane >> 2, t = lane & 3;
            for (int i = 0; i < 4; ++i) {
              int64_t row = tr * 16 + g + 8 * (i & 1);
              int64_t col = ks * 16 + 2 * t + 8 * (i >> 1);
              uint32_t word = vals[((tr * KS + ks) * 32 + lane) * 4 + i];
              ASSERT_EQ(word & 0xffffu, ex.c[size_t(row * K / 2 + col)]);
              ASSERT_EQ(word >> 16, ex.c[size_t(row * K / 2 + col + 1)]);
            }
          }
          for (int g = 0; g < 8; ++g)
            for (int h = 0; h < 2; ++h) {
              uint32_t word = meta[(tr * KS + ks) * 16 + 2 * g + h];
              for (int q = 0; q < 4; ++q) {
                int64_t chunk = ks * 8 + 4 * h + q;
                uint32_t lo = (word >> (4 * q)) & 0xfu;
                uint32_t hi = (word >> (16 + 4 * q)) & 0xfu;
                ASSERT_EQ(lo,
                          ex.nibbles[size_t((tr * 16 + g) * K / 4 + chunk)]);
                ASSERT_EQ(
                    hi, ex.nibbles[size_t((tr * 16 + g + 8) * K / 4 + chunk)]);
                // Ordered metadata: i0 < i1, both in 0..3.
                ASSERT_LT(lo & 3u, lo >> 2);
                ASSERT_LT(hi & 3u, hi >> 2);
              }
            }
        }
      if (c.p.n < c.p.m) {
        const uint8_t *ri = w.rowIdx.data() + e * S * Rk;
        for (int64_t i = 0; i < S * Rk; ++i)
          ASSERT_EQ(ri[i], ex.rowIdx[size_t(i)]);
      }
    }
  }
}

TEST(Pack, HandCheckedSmallCase) {
  // One 16x32 expert, n = m = 1: values word 0 holds C[0][0..1], word 1 holds
  // C[8][0..1], word 2 holds C[0][8..9], word 3 C[8][8..9]; lane 1 starts at
  // C[0][2].
  std::vector<uint16_t> d(16 * 32);
  for (int r = 0; r < 16; ++r)
    for (int k = 0; k < 32; ++k)
      d[size_t(r * 32 + k)] =
          floatToBf16(float(1 + r * 32 + k) * ((k % 4) >= 2 ? 1.f : 0.5f));
  // Largest two of every chunk are positions 2 and 3 => nibble 2 | 3 << 2 =
  // 0xe.
  PackedWeight w = pack(d.data(), DType::BF16, {1, 16, 32}, {1, 1, 32});
  ASSERT_EQ(w.values.size(), 16u * 32 / 4);
  EXPECT_EQ(w.values[0], uint32_t(d[2]) | (uint32_t(d[3]) << 16));
  EXPECT_EQ(w.values[1],
            uint32_t(d[8 * 32 + 2]) | (uint32_t(d[8 * 32 + 3]) << 16));
  EXPECT_EQ(w.values[2], uint32_t(d[16 + 2]) | (uint32_t(d[16 + 3]) << 16));
  EXPECT_EQ(w.values[4], uint32_t(d[4 + 2]) | (uint32_t(d[4 + 3]) << 16));
  for (uint32_t m : w.meta)
    EXPECT_EQ(m, 0xeeeeeeeeu);
  EXPECT_TRUE(w.rowIdx.empty());
}

TEST(Pack, TiesPickLowerIndices) {
  // All-equal weights: rows 0..n-1 of each group, chunk entries 0 and 1.
  std::vector<uint16_t> d(static_cast<size_t>(64 * 64), floatToBf16(1.0f));
  PackedWeight w = pack(d.data(), DType::BF16, {1, 64, 64}, {1, 4, 32});
  for (uint8_t r : w.rowIdx)
    EXPECT_EQ(r, 0);
  for (uint32_t m : w.meta)
    EXPECT_EQ(m, 0x44444444u); // 0 | 1 << 2
  std::vector<uint16_t> u = unpack(w);
  for (int64_t r = 0; r < 64; ++r)
    for (int64_t k = 0; k < 64; ++k)
      EXPECT_EQ(u[size_t(r * 64 + k)],
                (r % 4 == 0 && k % 4 < 2) ? floatToBf16(1.0f) : 0);
}

} // namespace
