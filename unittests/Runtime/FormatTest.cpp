//===- FormatTest.cpp - Tests of the SS packed format
//----------------------===//

#include "samoyeds/Runtime/Format.h"
#include "samoyeds/Runtime/Reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
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

TEST(Validate, WgmmaRulesOnlyForWgmma) {
  const WeightLayout W = WeightLayout::Wgmma, S = WeightLayout::MmaSp;
  // Kept rows 128 x 256 columns passes both.
  EXPECT_EQ(validate({1, 2, 64}, {1, 256, 256}, W), "");
  // Kept rows 32: wgmma pads them to 64 (no rule on the kept rows of 1:2).
  EXPECT_EQ(validate({1, 2, 64}, {1, 64, 256}, S), "");
  EXPECT_EQ(validate({1, 2, 64}, {1, 64, 256}), "");
  EXPECT_EQ(validate({1, 2, 64}, {1, 64, 256}, W), "");
  // Kept rows 96 with n:m = 3:4: 32 padding rows are no whole groups of 3.
  EXPECT_EQ(validate({3, 4, 64}, {1, 128, 256}, W),
            "layout wgmma pads the 96 kept rows to 128: n = 3 must divide 64 "
            "(padding rows form whole groups of n)");
  EXPECT_EQ(validate({3, 4, 64}, {1, 128, 256}, S), "");
  // 192 kept rows need no padding: any n.
  EXPECT_EQ(validate({3, 4, 64}, {1, 256, 256}, W), "");
  // cols 192: a multiple of v = 64 but not of 128: wgmma pads it to 256.
  EXPECT_EQ(validate({1, 2, 64}, {1, 128, 192}, S), "");
  EXPECT_EQ(validate({1, 2, 64}, {1, 128, 192}, W), "");
  // The common rules come first.
  EXPECT_NE(validate({1, 2, 48}, {1, 128, 192}, W).find("v = 48"),
            std::string::npos);
  std::string err = "unchanged";
  std::vector<uint16_t> d(128 * 256, 0x3f80);
  PackedWeight w =
      pack(d.data(), DType::BF16, {1, 128, 256}, {3, 4, 64}, &err, W);
  EXPECT_NE(err.find("pads the 96 kept rows to 128"), std::string::npos) << err;
  EXPECT_TRUE(w.values.empty());
}

TEST(Layout, NamesParseAndRoundTrip) {
  EXPECT_STREQ(layoutName(WeightLayout::MmaSp), "mma_sp");
  EXPECT_STREQ(layoutName(WeightLayout::Wgmma), "wgmma");
  EXPECT_STREQ(layoutName(WeightLayout::WgmmaHalves), "wgmma_halves");
  WeightLayout l = WeightLayout::MmaSp;
  EXPECT_TRUE(parseLayout("wgmma", l));
  EXPECT_EQ(l, WeightLayout::Wgmma);
  EXPECT_TRUE(parseLayout("mma_sp", l));
  EXPECT_EQ(l, WeightLayout::MmaSp);
  EXPECT_TRUE(parseLayout("wgmma_halves", l));
  EXPECT_EQ(l, WeightLayout::WgmmaHalves);
  EXPECT_FALSE(isWgmmaLayout(WeightLayout::MmaSp));
  EXPECT_TRUE(isWgmmaLayout(WeightLayout::Wgmma));
  EXPECT_TRUE(isWgmmaLayout(WeightLayout::WgmmaHalves));
  EXPECT_EQ(layoutParts(WeightLayout::MmaSp), 1);
  EXPECT_EQ(layoutParts(WeightLayout::Wgmma), 1);
  EXPECT_EQ(layoutParts(WeightLayout::WgmmaHalves), 2);
  for (const char *bad : {"", "WGMMA", "mma-sp", "wgmma ", "sp", "mma_sp\n",
                          "wgmma-halves", "halves", "wgmma_halves "}) {
    l = WeightLayout::Wgmma;
    EXPECT_FALSE(parseLayout(bad, l)) << bad;
    EXPECT_EQ(l, WeightLayout::Wgmma) << "unchanged on failure";
  }
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
  WeightLayout layout = WeightLayout::MmaSp;
};

/// `count` random cases valid in `layout` (kept rows a multiple of 16, or of
/// 64 for wgmma; cols a multiple of v, for wgmma often no multiple of 128, so
/// padded), then corners.
std::vector<Case> randomCases(uint64_t seed, int count,
                              WeightLayout layout = WeightLayout::MmaSp) {
  const bool wgmma = layout == WeightLayout::Wgmma;
  SplitMix64 rng(seed);
  std::vector<Case> cases;
  const int ms[] = {1, 2, 4, 8}, vs[] = {32, 64, 128};
  for (int i = 0; i < count; ++i) {
    Case c;
    c.layout = layout;
    c.p.m = ms[rng.below(4)];
    c.p.n = 1 + int(rng.below(uint64_t(c.p.m)));
    c.p.v = vs[rng.below(3)];
    // R must be a multiple of M with R*N/M a multiple of the row tile.
    int64_t unit = c.p.m * (wgmma ? 64 : 16);
    c.s.rows = unit * int64_t(1 + rng.below(unit >= 64 ? 1 : 2));
    c.s.cols = c.p.v * int64_t(1 + rng.below(wgmma ? 5 : 3));
    c.s.experts = int64_t(1 + rng.below(3));
    c.dt = rng.below(2) ? DType::BF16 : DType::F16;
    cases.push_back(c);
  }
  // Make sure the corners are always there.
  const std::vector<Case> corners =
      wgmma ? std::vector<Case>{{{1, 1, 32}, {1, 64, 128}, DType::BF16},
                                {{3, 4, 128}, {2, 256, 256}, DType::F16},
                                {{1, 2, 64}, {3, 128, 384}, DType::BF16},
                                // Padded: K % 128 = 64, 32, 96 (K < 128).
                                {{1, 2, 64}, {2, 128, 192}, DType::BF16},
                                {{2, 2, 32}, {2, 64, 320}, DType::F16},
                                {{1, 2, 32}, {1, 128, 96}, DType::BF16},
                                {{1, 1, 32}, {1, 64, 32}, DType::F16}}
            : std::vector<Case>{{{1, 1, 32}, {1, 16, 32}, DType::BF16},
                                {{8, 8, 128}, {2, 32, 256}, DType::F16},
                                {{1, 8, 32}, {3, 128, 64}, DType::BF16},
                                {{3, 4, 64}, {2, 64, 128}, DType::F16}};
  for (Case c : corners) {
    c.layout = layout;
    cases.push_back(c);
  }
  return cases;
}

std::vector<Case> wgmmaCases(uint64_t seed, int count) {
  return randomCases(seed, count, WeightLayout::Wgmma);
}

/// Both kinds of cases.
std::vector<Case> allCases(uint64_t seed, int count) {
  std::vector<Case> cases = randomCases(seed, count);
  for (const Case &c : wgmmaCases(seed + 1, count / 2))
    cases.push_back(c);
  return cases;
}

std::vector<uint16_t> randomDense(SplitMix64 &rng, const Case &c) {
  std::vector<uint16_t> d(
      static_cast<size_t>(c.s.experts * c.s.rows * c.s.cols));
  for (auto &v : d)
    v = rng.nonZero(c.dt, 1.0);
  return d;
}

/// Expects `got` to be `want` word for word (layout and components).
void expectSameWeight(const PackedWeight &got, const PackedWeight &want) {
  EXPECT_EQ(got.layout, want.layout);
  EXPECT_EQ(got.values, want.values);
  EXPECT_EQ(got.meta, want.meta);
  EXPECT_EQ(got.rowIdx, want.rowIdx);
}

TEST(Pack, SizesFollowFormatMd) {
  for (const Case &c : allCases(11, 20)) {
    SplitMix64 rng(5);
    std::vector<uint16_t> d = randomDense(rng, c);
    PackedWeight w = pack(d.data(), c.dt, c.s, c.p, nullptr, c.layout);
    EXPECT_EQ(w.layout, c.layout);
    int64_t Rk = c.s.rows * c.p.n / c.p.m, K = c.s.cols, E = c.s.experts;
    // wgmma stores Kp = roundUp(K, 128) columns; row_idx is never padded.
    int64_t Kp = c.layout == WeightLayout::Wgmma ? (K + 127) / 128 * 128 : K;
    EXPECT_EQ(storedCols(c.s, c.layout), Kp);
    EXPECT_EQ(w.valuesBytes(), E * Rk * Kp);
    EXPECT_EQ(w.metaBytes(), E * Rk * Kp / 8);
    EXPECT_EQ(w.rowIdxBytes(), c.p.n == c.p.m ? 0 : E * (K / c.p.v) * Rk);
    std::array<int64_t, 3> want = {w.valuesBytes(), w.metaBytes(),
                                   w.rowIdxBytes()};
    EXPECT_EQ(componentBytes(c.p, c.s, c.layout), want);
    EXPECT_EQ(valuesBytesPerExpert(c.p, c.s, c.layout), Rk * Kp);
    EXPECT_EQ(metaBytesPerExpert(c.p, c.s, c.layout), Rk * Kp / 8);
  }
}

TEST(Pack, UnpackKeepsExactlyTheLargestEntries) {
  SplitMix64 rng(2024);
  int caseNo = 0;
  for (const Case &c : allCases(7, 60)) {
    SCOPED_TRACE(
        "case " + std::to_string(caseNo++) + " n=" + std::to_string(c.p.n) +
        " m=" + std::to_string(c.p.m) + " v=" + std::to_string(c.p.v) +
        " E=" + std::to_string(c.s.experts) + " R=" + std::to_string(c.s.rows) +
        " K=" + std::to_string(c.s.cols) + " " + layoutName(c.layout));
    std::vector<uint16_t> d = randomDense(rng, c);
    std::string err;
    PackedWeight w = pack(d.data(), c.dt, c.s, c.p, &err, c.layout);
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
    expectSameWeight(pack(u.data(), c.dt, c.s, c.p, nullptr, c.layout), w);
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

/// Byte offset of `C[kr][c]` (c even, up to Kp / 2) in one expert of the
/// wgmma layout, as Format.md writes it (in bytes, unlike the packer's word
/// indices); `Kp` is K rounded up to 128.
int64_t wgmmaValuesByte(int64_t kr, int64_t c, int64_t Kp) {
  int64_t T = kr / 64, r = kr % 64, b = c / 64, cc = c % 64, KB = Kp / 128;
  return ((T * KB + b) * 64 + r) * 128 + (((cc / 8) ^ (r % 8)) * 16) +
         (cc % 8) * 2;
}

/// The logical kept row that stored kept row `sr` of a wgmma layout with
/// `parts` parts holds, or -1 for a padding row, as Format.md defines it
/// (independently of Format.cpp): each part's Rk / parts kept rows, then
/// padding rows up to a multiple of 64; `pad` is the padding row's index.
int64_t storedToKept(int64_t sr, int64_t Rk, int64_t parts, int64_t &pad) {
  const int64_t kept = Rk / parts, H = (kept + 63) / 64 * 64, j = sr % H;
  pad = j - kept;
  return j < kept ? sr / H * kept + j : -1;
}

/// Expects `w` (`c` packed from `d` in a wgmma layout) to hold every word
/// where Format.md puts it: for each stored kept row sr, C of the kept row it
/// holds, or a padding row's zero values, 0x4 nibbles and row_idx; padding
/// columns K..Kp-1 of every row likewise.
void expectWgmmaLayoutMatchesFormatMd(const Case &c,
                                      const std::vector<uint16_t> &d,
                                      const PackedWeight &w) {
  const int64_t R = c.s.rows, K = c.s.cols, Rk = R / c.p.m * c.p.n;
  const int64_t parts = c.layout == WeightLayout::WgmmaHalves ? 2 : 1;
  const int64_t Rs = parts * ((Rk / parts + 63) / 64 * 64);
  // Values and meta hold Kp = roundUp(K, 128) columns: K..Kp-1 padding.
  const int64_t Kp = (K + 127) / 128 * 128;
  const int64_t KS = Kp / 32, S = K / c.p.v;
  ASSERT_EQ(storedKeptRows(c.p, c.s, c.layout), Rs);
  ASSERT_EQ(w.valuesBytes(), c.s.experts * Rs * Kp);
  ASSERT_EQ(w.rowIdxBytes(), c.p.n < c.p.m ? c.s.experts * S * Rs : 0);
  for (int64_t e = 0; e < c.s.experts; ++e) {
    Expected ex = expectedLogical(d.data() + e * R * K, c.dt, R, K, c.p);
    const uint8_t *bytes =
        reinterpret_cast<const uint8_t *>(w.values.data() + e * Rs * Kp / 4);
    const uint32_t *meta = w.meta.data() + e * Rs * Kp / 32;
    // Plain 2:4 stores no row indices (an empty vector: no offset from it).
    const uint8_t *ri =
        w.rowIdx.empty() ? nullptr : w.rowIdx.data() + e * S * Rs;
    std::vector<bool> seen(static_cast<size_t>(Rs * Kp), false);
    for (int64_t sr = 0; sr < Rs; ++sr) {
      int64_t pad;
      const int64_t kr = storedToKept(sr, Rk, parts, pad);
      ASSERT_EQ(storedKeptRow(c.p, c.s, c.layout, sr).keptRow, kr);
      for (int64_t col = 0; col < Kp / 2; col += 2) {
        int64_t off = wgmmaValuesByte(sr, col, Kp);
        ASSERT_EQ(off % 4, 0);
        ASSERT_LT(off, Rs * Kp);
        ASSERT_FALSE(seen[size_t(off)]) << "two words at byte " << off;
        seen[size_t(off)] = true;
        uint32_t word;
        std::memcpy(&word, bytes + off, 4);
        if (kr < 0 || col >= K / 2) { // padding: zero values
          ASSERT_EQ(word, 0u) << "row " << sr << " column " << col;
          continue;
        }
        ASSERT_EQ(word & 0xffffu, ex.c[size_t(kr * K / 2 + col)]);
        ASSERT_EQ(word >> 16, ex.c[size_t(kr * K / 2 + col + 1)]);
      }
      for (int64_t ch = 0; ch < Kp / 4; ++ch) {
        int64_t T = sr / 64, wt = (sr % 64) / 16, rr = sr % 16, g = rr % 8;
        int64_t ks = ch / 8, h = (ch % 8) / 4, q = ch % 4;
        int64_t word = ((T * KS + ks) * 4 + wt) * 16 + 2 * g + h;
        int shift = int(4 * q + (rr >= 8 ? 16 : 0));
        // Padding: nibble 0x4 (i0 = 0, i1 = 1).
        ASSERT_EQ((meta[word] >> shift) & 0xfu,
                  kr >= 0 && ch < K / 4 ? ex.nibbles[size_t(kr * K / 4 + ch)]
                                        : 0x4u)
            << "row " << sr << " chunk " << ch;
      }
      // row_idx[s][sr]: a padding row's is its index modulo n.
      for (int64_t s = 0; s < S && c.p.n < c.p.m; ++s)
        ASSERT_EQ(ri[s * Rs + sr],
                  kr >= 0 ? ex.rowIdx[size_t(s * Rk + kr)] : pad % c.p.n)
            << "span " << s << " row " << sr;
    }
  }
}

TEST(Pack, WgmmaLayoutMatchesFormatMd) {
  SplitMix64 rng(123);
  for (const Case &c : wgmmaCases(5, 12)) {
    std::vector<uint16_t> d = randomDense(rng, c);
    PackedWeight w = pack(d.data(), c.dt, c.s, c.p, nullptr, c.layout);
    expectWgmmaLayoutMatchesFormatMd(c, d, w);
  }
}

TEST(Pack, WgmmaHandCheckedSmallCase) {
  // One 64 x 256 expert, n = m = 1: every chunk keeps positions 2 and 3, so
  // C[kr][2ch], C[kr][2ch+1] = W[kr][4ch+2], W[kr][4ch+3].
  const int64_t R = 64, K = 256;
  std::vector<uint16_t> d(size_t(R * K));
  for (int64_t r = 0; r < R; ++r)
    for (int64_t k = 0; k < K; ++k)
      d[size_t(r * K + k)] =
          floatToBf16(float(1 + r * K + k) * ((k % 4) >= 2 ? 1.f : 0.5f));
  PackedWeight w = pack(d.data(), DType::BF16, {1, R, K}, {1, 1, 32}, nullptr,
                        WeightLayout::Wgmma);
  ASSERT_EQ(w.values.size(), size_t(R * K / 4));
  auto cword = [&](int64_t kr, int64_t c) { // C[kr][c], C[kr][c+1]
    int64_t k = 2 * c + 2;                  // the chunk's positions 2, 3
    return uint32_t(d[size_t(kr * K + k)]) |
           (uint32_t(d[size_t(kr * K + k + 1)]) << 16);
  };
  EXPECT_EQ(w.values[0], cword(0, 0));  // byte 0
  EXPECT_EQ(w.values[1], cword(0, 2));  // byte 4
  EXPECT_EQ(w.values[4], cword(0, 8));  // byte 16: chunk 1 of row 0
  EXPECT_EQ(w.values[32], cword(1, 8)); // byte 128: row 1, chunk 1 ^ 1 = 0
  EXPECT_EQ(w.values[36], cword(1, 0)); // byte 144: row 1, chunk 0 ^ 1 = 1
  EXPECT_EQ(w.values[9 * 32 + 4], cword(9, 0));  // row 9 swizzles like row 1
  EXPECT_EQ(w.values[7 * 32 + 28], cword(7, 0)); // chunk 0 ^ 7 = 7
  EXPECT_EQ(w.values[2048], cword(0, 64));       // byte 8192: block b = 1
  EXPECT_EQ(w.values[2048 + 63 * 32 + 4 * (1 ^ 7) + 3],
            cword(63, 64 + 14)); // last row of block 1, chunk 1, word 3
  for (uint32_t m : w.meta)
    EXPECT_EQ(m, 0xeeeeeeeeu);
}

TEST(Pack, WgmmaMetaOrdersTilesWithinKSteps) {
  // Distinct nibbles per 16-row tile: tile t keeps positions
  // (t % 3, 3) -> nibble (t%3) | 3 << 2. With 64 rows and K = 128 (4 k
  // steps), mma_sp orders the 16-word blocks [tile][ks], wgmma [ks][tile].
  const int64_t R = 64, K = 128;
  std::vector<uint16_t> d(size_t(R * K), floatToBf16(0.25f));
  for (int64_t r = 0; r < R; ++r)
    for (int64_t ch = 0; ch < K / 4; ++ch) {
      d[size_t(r * K + 4 * ch + (r / 16) % 3)] = floatToBf16(2.0f);
      d[size_t(r * K + 4 * ch + 3)] = floatToBf16(4.0f);
    }
  PackedWeight a = pack(d.data(), DType::BF16, {1, R, K}, {1, 1, 32});
  PackedWeight b = pack(d.data(), DType::BF16, {1, R, K}, {1, 1, 32}, nullptr,
                        WeightLayout::Wgmma);
  auto nib = [](int64_t tile) {
    uint32_t n = uint32_t(tile % 3) | (3u << 2);
    return n * 0x11111111u;
  };
  for (int64_t tile = 0; tile < 4; ++tile)
    for (int64_t ks = 0; ks < 4; ++ks)
      for (int64_t i = 0; i < 16; ++i) {
        EXPECT_EQ(a.meta[size_t((tile * 4 + ks) * 16 + i)], nib(tile));
        EXPECT_EQ(b.meta[size_t((ks * 4 + tile) * 16 + i)], nib(tile));
      }
}

/// Expects relayout(from, want.layout) to be `want`, word for word.
void expectRelayoutGives(const PackedWeight &from, const PackedWeight &want) {
  std::string err;
  expectSameWeight(relayout(from, want.layout, &err), want);
  EXPECT_EQ(err, "");
}

TEST(Relayout, PackThenRelayoutEqualsPackInTheOtherLayout) {
  SplitMix64 rng(77);
  for (const Case &c : wgmmaCases(9, 16)) {
    std::vector<uint16_t> d = randomDense(rng, c);
    PackedWeight s = pack(d.data(), c.dt, c.s, c.p);
    PackedWeight g = pack(d.data(), c.dt, c.s, c.p, nullptr, c.layout);
    ASSERT_EQ(g.layout, WeightLayout::Wgmma);
    // The layouts really differ (except in degenerate cases, none here).
    EXPECT_NE(s.values, g.values);
    expectRelayoutGives(s, g);
    expectRelayoutGives(g, s);
    expectRelayoutGives(g, g); // Same layout: a copy.
    EXPECT_EQ(unpack(g), unpack(s));
  }
}

TEST(Relayout, IsAPurePermutationOfArbitraryWords) {
  // Words that no packer would write (any bits, any nibbles) still just move.
  SplitMix64 rng(4);
  PackedWeight w;
  w.p = {1, 2, 64};
  w.s = {2, 256, 256};
  w.values.resize(size_t(2 * 128 * 256 / 4));
  w.meta.resize(size_t(2 * 128 * 256 / 32));
  w.rowIdx.resize(size_t(2 * 4 * 128));
  for (auto &v : w.values)
    v = uint32_t(rng.next());
  for (auto &v : w.meta)
    v = uint32_t(rng.next());
  for (auto &v : w.rowIdx)
    v = uint8_t(rng.below(2));
  std::string err;
  PackedWeight g = relayout(w, WeightLayout::Wgmma, &err);
  ASSERT_EQ(err, "");
  auto sorted = [](std::vector<uint32_t> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(g.values), sorted(w.values));
  EXPECT_EQ(sorted(g.meta), sorted(w.meta));
  EXPECT_EQ(g.rowIdx, w.rowIdx);
  EXPECT_NE(g.values, w.values);
  EXPECT_NE(g.meta, w.meta);
  PackedWeight back = relayout(g, WeightLayout::MmaSp, &err);
  EXPECT_EQ(back.values, w.values);
  EXPECT_EQ(back.meta, w.meta);
  // Meta words move whole: only the order of (tile, k step) blocks changes.
  const int64_t KS = 256 / 32;
  for (int64_t tr = 0; tr < 128 / 16; ++tr)
    for (int64_t ks = 0; ks < KS; ++ks)
      for (int64_t i = 0; i < 16; ++i)
        ASSERT_EQ(g.meta[size_t(((tr / 4 * KS + ks) * 4 + tr % 4) * 16 + i)],
                  w.meta[size_t((tr * KS + ks) * 16 + i)]);
}

TEST(Relayout, RejectsWhatTheTargetLayoutCannotHold) {
  std::vector<uint16_t> d(64 * 128, floatToBf16(1.0f));
  PackedWeight w = pack(d.data(), DType::BF16, {1, 64, 128}, {3, 4, 64});
  std::string err;
  PackedWeight g = relayout(w, WeightLayout::Wgmma, &err);
  EXPECT_TRUE(g.values.empty());
  EXPECT_EQ(err, "cannot relayout from mma_sp to wgmma: layout wgmma pads the "
                 "48 kept rows to 64: n = 3 must divide 64 (padding rows form "
                 "whole groups of n)");
  PackedWeight bad = pack(d.data(), DType::BF16, {1, 64, 128}, {1, 1, 64});
  bad.meta.pop_back();
  err.clear();
  EXPECT_TRUE(relayout(bad, WeightLayout::Wgmma, &err).values.empty());
  EXPECT_NE(err.find("component sizes"), std::string::npos) << err;
  // unpack refuses a weight whose layout its shape cannot have.
  PackedWeight lie = w;
  lie.layout = WeightLayout::Wgmma;
  err.clear();
  EXPECT_TRUE(unpack(lie, &err).empty());
  EXPECT_NE(err.find("layout wgmma pads the 48 kept rows"), std::string::npos)
      << err;
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

//===----------------------------------------------------------------------===//
// Hostile sizes and content (docs/Robustness.md)
//===----------------------------------------------------------------------===//

TEST(Validate, RefusesShapesWhoseSizesOverflow) {
  // 2^33 x 2^31 x 2 bytes overflows int64; so would the values size.
  EXPECT_EQ(validate({1, 2, 32}, {1, int64_t(1) << 33, int64_t(1) << 31}),
            "experts x rows x cols = 1 x 8589934592 x 2147483648 is too large "
            "(2-byte elements overflow a 64-bit byte count)");
  EXPECT_NE(validate({1, 2, 32}, {INT32_MAX, int64_t(1) << 32, 1 << 20})
                .find("is too large"),
            std::string::npos);
  // The largest dense size that fits is fine.
  EXPECT_EQ(validate({1, 1, 32}, {1, 16, int64_t(1) << 57}), "");
}

/// 1 expert of 64 x 128 (1:2:32 => Rk = 32, 4 spans) in `layout` (wgmma needs
/// 64 kept rows: 128 x 128).
PackedWeight smallWeight(WeightLayout layout) {
  SplitMix64 rng(9);
  int64_t rows = layout == WeightLayout::Wgmma ? 128 : 64;
  std::vector<uint16_t> d(static_cast<size_t>(rows * 128));
  for (auto &v : d)
    v = rng.nonZero(DType::BF16, 1.0);
  return pack(d.data(), DType::BF16, {1, rows, 128}, {1, 2, 32}, nullptr,
              layout);
}

TEST(Content, RowIdxMustIndexItsGroup) {
  for (WeightLayout layout : {WeightLayout::MmaSp, WeightLayout::Wgmma}) {
    PackedWeight w = smallWeight(layout);
    const int64_t Rk = keptRows(w.p, w.s);
    ASSERT_EQ(checkPacked(w), "");
    w.rowIdx[size_t(Rk + 5)] = 2; // span 1, kept row 5
    EXPECT_EQ(checkRowIdx(w.rowIdx.data(), w.p, w.s, w.layout),
              "byte " + std::to_string(Rk + 5) +
                  " (expert 0, span 1, kept row 5) is 2, not below m = 2");
    std::string err;
    std::vector<uint16_t> u = unpack(w, &err);
    EXPECT_EQ(err,
              "row_idx: " + checkRowIdx(w.rowIdx.data(), w.p, w.s, w.layout));
    EXPECT_TRUE(u.empty());
    // 0xff everywhere: the audit's reproducer.
    std::fill(w.rowIdx.begin(), w.rowIdx.end(), 0xff);
    EXPECT_EQ(checkPacked(w), "row_idx: byte 0 (expert 0, span 0, kept row 0) "
                              "is 255, not below m = 2");
  }
}

TEST(Content, RowIdxMustIncreaseWithinAGroup) {
  // 2:4 => two kept rows per group: bytes 2g and 2g + 1 of a span.
  std::vector<uint16_t> d(static_cast<size_t>(2 * 64 * 64), floatToBf16(1.0f));
  PackedWeight w = pack(d.data(), DType::BF16, {2, 64, 64}, {2, 4, 32});
  ASSERT_EQ(checkPacked(w), "");
  const int64_t Rk = keptRows(w.p, w.s), perExpert = 2 * Rk;
  w.rowIdx[size_t(perExpert + 3)] = w.rowIdx[size_t(perExpert + 2)];
  EXPECT_EQ(checkRowIdx(w.rowIdx.data(), w.p, w.s, w.layout),
            "byte " + std::to_string(perExpert + 3) +
                " (expert 1, span 0, kept row 3) is 0, not above the previous "
                "kept row of its group (0): kept rows must be strictly "
                "increasing");
  // The first kept row of a group may be anything below m.
  w.rowIdx[size_t(perExpert + 3)] = 1;
  w.rowIdx[size_t(perExpert + 4)] = 0;
  EXPECT_EQ(checkPacked(w), "");
}

TEST(Content, MetaNibblesMustBeOrdered) {
  for (WeightLayout layout : {WeightLayout::MmaSp, WeightLayout::Wgmma}) {
    PackedWeight w = smallWeight(layout);
    auto *bytes = reinterpret_cast<uint8_t *>(w.meta.data());
    // Nibbles i0 | i1 << 2 with i0 >= i1: 0x0 (0, 0) and 0x6 (2, 1).
    bytes[5] = uint8_t((bytes[5] & 0x0f) | 0x60);
    EXPECT_EQ(checkMeta(bytes, w.p, w.s, w.layout),
              "byte 5 (expert 0) holds nibble 0x6: 2:4 metadata is i0 | i1 "
              "<< 2 with i0 < i1 (0x4, 0x8, 0x9, 0xc, 0xd or 0xe)");
    std::string err;
    EXPECT_TRUE(unpack(w, &err).empty());
    EXPECT_EQ(err, "meta: " + checkMeta(bytes, w.p, w.s, w.layout));
    bytes[5] = 0x00;
    EXPECT_NE(checkPacked(w).find("holds nibble 0x0"), std::string::npos);
  }
  // Every ordered nibble passes, every other fails.
  PackedWeight w = smallWeight(WeightLayout::MmaSp);
  auto *bytes = reinterpret_cast<uint8_t *>(w.meta.data());
  for (unsigned n = 0; n < 16; ++n) {
    bytes[0] = uint8_t(n | 0x40);
    bool ordered =
        n == 0x4 || n == 0x8 || n == 0x9 || n == 0xc || n == 0xd || n == 0xe;
    EXPECT_EQ(checkMeta(bytes, w.p, w.s, w.layout).empty(), ordered) << n;
  }
}

TEST(Content, UnpackChecksParametersBeforeUsingThem) {
  // m = 0 and v = 0 used to reach divisions (SIGFPE) before the check.
  PackedWeight w = smallWeight(WeightLayout::MmaSp);
  for (SSParams bad : {SSParams{1, 0, 32}, SSParams{1, 2, 0}}) {
    PackedWeight b = w;
    b.p = bad;
    std::string err;
    EXPECT_TRUE(unpack(b, &err).empty());
    EXPECT_EQ(err, validate(bad, w.s));
    EXPECT_EQ(relayout(b, WeightLayout::Wgmma, &err).values.size(), 0u);
  }
}

TEST(Content, RelayoutKeepsWhatItCannotCheck) {
  // relayout only moves words: a bad weight stays bad, and unpack says so.
  PackedWeight w = smallWeight(WeightLayout::Wgmma);
  w.rowIdx[0] = 7;
  std::string err;
  PackedWeight m = relayout(w, WeightLayout::MmaSp, &err);
  EXPECT_EQ(err, "");
  EXPECT_EQ(checkPacked(m), checkPacked(w));
  EXPECT_EQ(checkPacked(m).rfind("row_idx: byte 0 ", 0), 0u) << checkPacked(m);
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

//===----------------------------------------------------------------------===//
// The wgmma layout pads K up to a multiple of 128 (Format.md)
//===----------------------------------------------------------------------===//

/// Expects the component sizes of Format.md for `Rs` stored kept rows of `Kp`
/// columns: `E * Rs * Kp` bytes of values, an eighth of that of meta, and
/// `E * (K / v) * Rs` of row_idx (0 when n == m).
void expectSizes(const SSParams &p, const SSShape &s, WeightLayout layout,
                 int64_t Rs, int64_t Kp) {
  const int64_t E = s.experts, S = p.n == p.m ? 0 : s.cols / p.v;
  EXPECT_EQ(componentBytes(p, s, layout),
            (std::array<int64_t, 3>{E * Rs * Kp, E * Rs * Kp / 8, E * S * Rs}))
      << layoutName(layout);
}

TEST(Padding, StoredColsAndSizesAreLayoutAware) {
  const WeightLayout S = WeightLayout::MmaSp, W = WeightLayout::Wgmma;
  for (auto [K, Kp] : {std::pair<int64_t, int64_t>{32, 128},
                       {96, 128},
                       {128, 128},
                       {192, 256},
                       {320, 384},
                       {2880, 2944}}) {
    EXPECT_EQ(storedCols({1, 128, K}, S), K);
    EXPECT_EQ(storedCols({1, 128, K}, W), Kp);
  }
  // gpt-oss's w13: 32 experts of 5760 x 2880, 1:2:64 (kept rows 2880).
  const SSParams p{1, 2, 64};
  const SSShape s{32, 5760, 2880};
  ASSERT_EQ(validate(p, s, W), "");
  EXPECT_EQ(valuesBytesPerExpert(p, s, S), 2880 * 2880);
  EXPECT_EQ(valuesBytesPerExpert(p, s, W), 2880 * 2944);
  EXPECT_EQ(metaBytesPerExpert(p, s, S), 2880 * 2880 / 8);
  EXPECT_EQ(metaBytesPerExpert(p, s, W), 2880 * 2944 / 8);
  EXPECT_EQ(rowIdxBytesPerExpert(p, s, S), 45 * 2880); // K / v spans: unpadded
  EXPECT_EQ(rowIdxBytesPerExpert(p, s, W), 45 * 2880);
  expectSizes(p, s, S, 2880, 2880);
  expectSizes(p, s, W, 2880, 2944);
  // Where the values padding lies: the last k block of each 64-row tile.
  std::vector<ByteRange> pad = valuesPadding({1, 2, 64}, {2, 128, 192}, W);
  ASSERT_EQ(pad.size(), 2u);
  EXPECT_EQ(pad[0].offset, 8192);
  EXPECT_EQ(pad[0].bytes, 8192);
  EXPECT_EQ(pad[1].offset, 8192 + 16384);
  EXPECT_EQ(pad[1].bytes, 8192);
  pad = valuesPadding(p, s, W);
  ASSERT_EQ(pad.size(), size_t(32 * 2880 / 64));
  for (size_t i = 0; i < pad.size(); ++i) {
    EXPECT_EQ(pad[i].offset, 22 * 8192 + int64_t(i) * 23 * 8192);
    EXPECT_EQ(pad[i].bytes, 8192);
  }
  EXPECT_TRUE(valuesPadding({1, 2, 64}, {2, 128, 192}, S).empty());
  EXPECT_TRUE(valuesPadding({1, 2, 64}, {2, 128, 256}, W).empty());
}

TEST(Padding, PaddedSizesThatOverflowAreRefused) {
  // 2^56 rows of 32 columns: the dense size (2^62 bytes) fits, the wgmma
  // values (2^56 kept rows x 128 padded columns = 2^63 bytes) do not.
  const SSShape s{1, int64_t(1) << 56, 32};
  EXPECT_EQ(validate({2, 2, 32}, s, WeightLayout::MmaSp), "");
  EXPECT_EQ(validate({2, 2, 32}, s, WeightLayout::Wgmma),
            "layout wgmma pads cols = 32 to 128: experts x kept rows x padded "
            "cols = 1 x 72057594037927936 x 128 is too large (the values "
            "bytes overflow a 64-bit byte count)");
  // Half the rows fit.
  EXPECT_EQ(
      validate({2, 2, 32}, {1, int64_t(1) << 55, 32}, WeightLayout::Wgmma), "");
  std::string err;
  uint16_t one = 0x3f80;
  EXPECT_TRUE(pack(&one, DType::BF16, s, {2, 2, 32}, &err, WeightLayout::Wgmma)
                  .values.empty());
  EXPECT_NE(err.find("layout wgmma pads cols = 32 to 128"), std::string::npos)
      << err;
}

/// FNV-1a of `bytes` bytes at `p`.
uint64_t fnv1a(const void *p, size_t bytes) {
  uint64_t h = 1469598103934665603ull;
  const uint8_t *b = static_cast<const uint8_t *>(p);
  for (size_t i = 0; i < bytes; ++i) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

TEST(Padding, MmaSpAndAlignedWgmmaPacksAreUnchanged) {
  // Hashes and sizes of the components as the packer wrote them before the
  // wgmma layout padded K (Format.cpp of commit b7f2cec): every mma_sp pack,
  // K % 128 != 0 included, and every wgmma pack of K % 128 == 0 is
  // byte-identical.
  const WeightLayout S = WeightLayout::MmaSp, W = WeightLayout::Wgmma;
  struct Golden {
    Case c;
    uint64_t values, meta, rowIdx;
    int64_t bytes[3];
  } golden[] = {
      {{{1, 2, 64}, {2, 128, 192}, DType::BF16, S},
       0xe1330ecda498df37ull,
       0xef69a6df0c1c75c5ull,
       0xb0c832955426f6dfull,
       {24576, 3072, 384}},
      {{{2, 2, 32}, {1, 64, 320}, DType::F16, S},
       0x6b5150f882077a04ull,
       0x8acb8ecf64a28addull,
       0x14650fb0739d0383ull,
       {20480, 2560, 0}},
      {{{1, 4, 32}, {3, 64, 96}, DType::BF16, S},
       0x66a4be10818e85b6ull,
       0xd5adb94d3fa34128ull,
       0xf236c68e1e8ac880ull,
       {4608, 576, 144}},
      {{{3, 4, 64}, {2, 64, 128}, DType::F16, S},
       0xee4301ca266f4e6full,
       0x00ef91b366794d68ull,
       0xeb6bb776aa407796ull,
       {12288, 1536, 192}},
      {{{1, 2, 64}, {1, 64, 2880}, DType::BF16, S},
       0x797068d873bbd0eaull,
       0x88114507586226bcull,
       0xefa26eabb15c6b3aull,
       {92160, 11520, 1440}},
      {{{1, 2, 64}, {2, 128, 256}, DType::BF16, W},
       0xda4b196aa4b7f3edull,
       0x8963152c4ad0ab12ull,
       0xe94ab95d1e5e6847ull,
       {32768, 4096, 512}},
      {{{2, 2, 32}, {1, 64, 384}, DType::F16, W},
       0xfcf8c3523e37b8c7ull,
       0x95e94860c474ca06ull,
       0x14650fb0739d0383ull,
       {24576, 3072, 0}},
      {{{3, 4, 128}, {2, 256, 256}, DType::F16, W},
       0xb5fef20afa0be022ull,
       0x90243d534978403bull,
       0x830944866fe8110cull,
       {98304, 12288, 768}},
      {{{1, 1, 32}, {1, 64, 128}, DType::BF16, W},
       0x396d8d7b4a88d4ffull,
       0xe621451034267a27ull,
       0x14650fb0739d0383ull,
       {8192, 1024, 0}},
  };
  int i = 0;
  for (const Golden &g : golden) {
    SCOPED_TRACE("golden case " + std::to_string(i));
    const Case &c = g.c;
    SplitMix64 rng(uint64_t(1000 + i++));
    std::vector<uint16_t> d = randomDense(rng, c);
    std::string err;
    PackedWeight w = pack(d.data(), c.dt, c.s, c.p, &err, c.layout);
    ASSERT_EQ(err, "");
    EXPECT_EQ(fnv1a(w.values.data(), w.values.size() * 4), g.values);
    EXPECT_EQ(fnv1a(w.meta.data(), w.meta.size() * 4), g.meta);
    EXPECT_EQ(fnv1a(w.rowIdx.data(), w.rowIdx.size()), g.rowIdx);
    std::array<int64_t, 3> bytes = {g.bytes[0], g.bytes[1], g.bytes[2]};
    EXPECT_EQ(componentBytes(c.p, c.s, c.layout), bytes);
    EXPECT_EQ(w.valuesBytes(), bytes[0]);
    // Where both layouts can hold the shape unpadded, their sizes agree.
    if (c.s.cols % 128 == 0 && validate(c.p, c.s, W).empty())
      EXPECT_EQ(componentBytes(c.p, c.s, S), componentBytes(c.p, c.s, W));
  }
}

/// The padded shapes of Format.md's examples: K = 192 and 320 (K % 128 = 64),
/// kept rows 64 and 128, formats 2:2 (plain 2:4) and 1:2, v = 64 and 32.
std::vector<Case> paddedCases() {
  std::vector<Case> cases;
  DType dt = DType::BF16;
  for (SSParams p : {SSParams{2, 2, 64}, SSParams{2, 2, 32}, SSParams{1, 2, 64},
                     SSParams{1, 2, 32}})
    for (int64_t K : {192, 320})
      for (int64_t Rk : {64, 128}) {
        cases.push_back({p, {3, Rk * p.m / p.n, K}, dt, WeightLayout::Wgmma});
        dt = dt == DType::BF16 ? DType::F16 : DType::BF16;
      }
  return cases;
}

std::string describe(const Case &c) {
  return std::to_string(c.p.n) + ":" + std::to_string(c.p.m) + ":" +
         std::to_string(c.p.v) + " " + std::to_string(c.s.experts) + " x " +
         std::to_string(c.s.rows) + " x " + std::to_string(c.s.cols);
}

TEST(Padding, WgmmaPackEqualsPackOfZeroPaddedColumns) {
  // An independent oracle of the padding: the weight with Kp - K zero
  // columns appended packs (all-zero chunks keep entries 0 and 1: value 0,
  // nibble 0x4) to the same values and meta, and to the same row_idx for the
  // K / v real spans (the zero spans' row_idx is not stored).
  SplitMix64 rng(31);
  for (const Case &c : paddedCases()) {
    SCOPED_TRACE(describe(c));
    const int64_t E = c.s.experts, R = c.s.rows, K = c.s.cols;
    const int64_t Kp = storedCols(c.s, c.layout), Rk = keptRows(c.p, c.s);
    ASSERT_NE(Kp, K);
    std::vector<uint16_t> d = randomDense(rng, c);
    std::vector<uint16_t> dp(size_t(E * R * Kp), 0);
    for (int64_t row = 0; row < E * R; ++row)
      std::copy(d.begin() + row * K, d.begin() + (row + 1) * K,
                dp.begin() + row * Kp);
    std::string err;
    PackedWeight w = pack(d.data(), c.dt, c.s, c.p, &err, c.layout);
    ASSERT_EQ(err, "");
    PackedWeight wp =
        pack(dp.data(), c.dt, {E, R, Kp}, c.p, &err, WeightLayout::Wgmma);
    ASSERT_EQ(err, "");
    EXPECT_EQ(w.values, wp.values);
    EXPECT_EQ(w.meta, wp.meta);
    const int64_t spans = K / c.p.v, spansP = Kp / c.p.v;
    ASSERT_EQ(w.rowIdxBytes(), c.p.n == c.p.m ? 0 : E * spans * Rk);
    for (int64_t e = 0; e < E && c.p.n < c.p.m; ++e)
      for (int64_t i = 0; i < spans * Rk; ++i)
        ASSERT_EQ(w.rowIdx[size_t(e * spans * Rk + i)],
                  wp.rowIdx[size_t(e * spansP * Rk + i)]);
    // Unpacking ignores the padding: the pruned weight, K columns wide.
    std::vector<uint16_t> u = unpack(w, &err), up = unpack(wp);
    ASSERT_EQ(err, "");
    for (int64_t row = 0; row < E * R; ++row)
      for (int64_t k = 0; k < K; ++k)
        ASSERT_EQ(u[size_t(row * K + k)], up[size_t(row * Kp + k)]);
    EXPECT_EQ(u, unpack(pack(d.data(), c.dt, c.s, c.p)));
  }
}

TEST(Padding, RelayoutWritesAndDropsThePadding) {
  SplitMix64 rng(32);
  for (const Case &c : paddedCases()) {
    SCOPED_TRACE(describe(c));
    std::vector<uint16_t> d = randomDense(rng, c);
    PackedWeight s = pack(d.data(), c.dt, c.s, c.p);
    PackedWeight g = pack(d.data(), c.dt, c.s, c.p, nullptr, c.layout);
    ASSERT_GT(g.valuesBytes(), s.valuesBytes());
    ASSERT_GT(g.metaBytes(), s.metaBytes());
    ASSERT_EQ(g.rowIdx, s.rowIdx);
    expectRelayoutGives(s, g); // writes zeros and 0x4 nibbles
    expectRelayoutGives(g, s); // drops them
    expectRelayoutGives(g, g);
    EXPECT_EQ(unpack(g), unpack(s));
    EXPECT_EQ(checkPacked(g), "");
  }
}

/// Expert 1 of 2 x 128 x 192, 1:2:64 (kept rows 64, Kp = 256), in wgmma.
PackedWeight paddedWeight() {
  SplitMix64 rng(33);
  Case c{{1, 2, 64}, {2, 128, 192}, DType::BF16, WeightLayout::Wgmma};
  std::vector<uint16_t> d = randomDense(rng, c);
  return pack(d.data(), c.dt, c.s, c.p, nullptr, c.layout);
}

TEST(Padding, ValuesPaddingMustBeZero) {
  PackedWeight w = paddedWeight();
  ASSERT_EQ(checkPacked(w), "");
  auto *bytes = reinterpret_cast<uint8_t *>(w.values.data());
  // Expert 1's k block 1 (the last) starts at 16384 + 8192. Kept row 3,
  // logical chunk 5 (compressed columns 64 + 40 .. 64 + 47: past K/2 = 96) is
  // stored at chunk 5 ^ 3 = 6; its byte 2 is column 105's low byte.
  const size_t at = 16384 + 8192 + 3 * 128 + 6 * 16 + 2;
  bytes[at] = 0x7f;
  const std::string want =
      "byte 25058 (expert 1, kept row 3, compressed column 105: padding past "
      "cols = 192) is 0x7f, not 0: layout wgmma pads the values with zeros";
  EXPECT_EQ(checkPacked(w), "values: " + want);
  std::vector<ByteRange> pad = valuesPadding(w.p, w.s, w.layout);
  ASSERT_EQ(pad.size(), 2u);
  EXPECT_EQ(
      checkValuesPadding(bytes + pad[0].offset, pad[0], w.p, w.s, w.layout),
      "");
  EXPECT_EQ(
      checkValuesPadding(bytes + pad[1].offset, pad[1], w.p, w.s, w.layout),
      want);
  int part = -1;
  EXPECT_EQ(checkContent(bytes, reinterpret_cast<uint8_t *>(w.meta.data()),
                         w.rowIdx.data(), w.p, w.s, w.layout, part),
            want);
  EXPECT_EQ(part, 0);
  std::string err;
  EXPECT_TRUE(unpack(w, &err).empty());
  EXPECT_EQ(err, "values: " + want);
  // relayout would lose the bad byte: it refuses, to either layout.
  for (WeightLayout to : {WeightLayout::MmaSp, WeightLayout::Wgmma}) {
    err.clear();
    EXPECT_TRUE(relayout(w, to, &err).values.empty());
    EXPECT_EQ(err, std::string("cannot relayout from wgmma to ") +
                       layoutName(to) + ": values: " + want);
  }
  // NaN in the padding (NaN * 0 = NaN in a kernel) is refused the same way.
  bytes[at] = 0;
  bytes[at + 1] = 0x7f;
  bytes[at] = 0xc0;
  EXPECT_NE(checkPacked(w).find("byte 25058 "), std::string::npos);
  // The block's other words are values: any bits pass.
  bytes[at] = bytes[at + 1] = 0;
  ASSERT_EQ(checkPacked(w), "");
  bytes[16384 + 8192 + 3 * 128 + (3 ^ 3) * 16] = 0xff; // logical chunk 3
  EXPECT_EQ(checkPacked(w), "");
}

TEST(Padding, MetaPaddingMustBe0x4) {
  PackedWeight w = paddedWeight();
  auto *bytes = reinterpret_cast<uint8_t *>(w.meta.data());
  // Expert 0's 64-byte blocks are [T][ks][w] over Kp / 32 = 8 k steps, of
  // which 6 and 7 are padding: block (0*8 + 7)*4 + 2 = 30 is kept rows
  // 32..47, k step 7.
  bytes[30 * 64 + 5] = 0x48; // 0x8: ordered metadata, but not the padding
  const std::string want =
      "byte 1925 (expert 0, kept rows 32..47, k step 7: padding past cols = "
      "192) holds nibble 0x8, not 0x4: layout wgmma pads the metadata with "
      "0x4";
  EXPECT_EQ(checkMeta(bytes, w.p, w.s, w.layout), want);
  EXPECT_EQ(checkPacked(w), "meta: " + want);
  std::string err;
  EXPECT_TRUE(unpack(w, &err).empty());
  EXPECT_EQ(err, "meta: " + want);
  EXPECT_TRUE(relayout(w, WeightLayout::MmaSp, &err).values.empty());
  EXPECT_EQ(err, "cannot relayout from wgmma to mma_sp: meta: " + want);
  // Expert 1, the high nibble of its first padding byte (block 6*4).
  bytes[30 * 64 + 5] = 0x44;
  ASSERT_EQ(checkPacked(w), "");
  bytes[2048 + 24 * 64] = 0x04;
  EXPECT_EQ(checkMeta(bytes, w.p, w.s, w.layout),
            "byte 3584 (expert 1, kept rows 0..15, k step 6: padding past "
            "cols = 192) holds nibble 0x0, not 0x4: layout wgmma pads the "
            "metadata with 0x4");
}

TEST(Padding, ReferenceReadsEitherLayoutAlike) {
  // The float64 reference at gpt-oss-like K (2880 = 22 * 128 + 64, and the
  // small padded shapes): identical results from either layout.
  std::vector<Case> cases = paddedCases();
  cases.push_back(
      {{1, 2, 64}, {2, 128, 2880}, DType::BF16, WeightLayout::Wgmma});
  SplitMix64 rng(34);
  for (const Case &c : cases) {
    SCOPED_TRACE(describe(c));
    std::vector<uint16_t> d = randomDense(rng, c);
    PackedWeight s = pack(d.data(), c.dt, c.s, c.p);
    PackedWeight g = pack(d.data(), c.dt, c.s, c.p, nullptr, c.layout);
    const int64_t T = 5;
    std::vector<uint16_t> x(size_t(T * c.s.cols));
    for (auto &v : x)
      v = rng.nonZero(c.dt, 1.0);
    std::vector<int32_t> offsets(size_t(c.s.experts + 1));
    for (int64_t e = 0; e <= c.s.experts; ++e)
      offsets[size_t(e)] = int32_t(T * e / c.s.experts);
    std::vector<double> ys, yg;
    std::string err;
    ASSERT_TRUE(ssmmReference(s, x.data(), T, offsets.data(), nullptr, T,
                              Epilogue::None, ys, &err))
        << err;
    ASSERT_TRUE(ssmmReference(g, x.data(), T, offsets.data(), nullptr, T,
                              Epilogue::None, yg, &err))
        << err;
    EXPECT_EQ(ys, yg);
    double norm = 0;
    for (double v : ys)
      norm += v * v;
    EXPECT_GT(norm, 0.0);
  }
}

//===----------------------------------------------------------------------===//
// The wgmma layouts pad the kept rows to whole 64-row tiles (Format.md)
//===----------------------------------------------------------------------===//

TEST(RowPadding, StoredKeptRowsAndSizes) {
  const WeightLayout S = WeightLayout::MmaSp, W = WeightLayout::Wgmma,
                     H = WeightLayout::WgmmaHalves;
  // gpt-oss's w13 (32 experts of 5760 x 2880, 1:2:64): 2880 kept rows, 1440
  // a half (22.5 tiles, stored as 23); w2 (2880 x 2880): 1440 kept rows.
  const SSParams p{1, 2, 64};
  const SSShape w13{32, 5760, 2880}, w2{32, 2880, 2880};
  for (const SSShape &s : {w13, w2})
    for (WeightLayout l : {S, W, H})
      ASSERT_EQ(validate(p, s, l), "") << layoutName(l);
  EXPECT_EQ(storedKeptRows(p, w13, S), 2880);
  EXPECT_EQ(storedKeptRows(p, w13, W), 2880); // 45 whole tiles
  EXPECT_EQ(storedKeptRows(p, w13, H), 2 * 1472);
  EXPECT_EQ(storedKeptRows(p, w2, S), 1440);
  EXPECT_EQ(storedKeptRows(p, w2, W), 1472);
  EXPECT_EQ(storedKeptRows(p, w2, H), 2 * 768);
  expectSizes(p, w13, H, 2944, 2944);
  expectSizes(p, w2, W, 1472, 2944);
  expectSizes(p, w2, S, 1440, 2880);
  EXPECT_EQ(rowIdxBytesPerExpert(p, w13, H), 45 * 2944);
  // Stored kept row -> kept row or padding row.
  struct {
    WeightLayout layout;
    int64_t sr, keptRow, part, padding;
  } rows[] = {{H, 0, 0, 0, -1},       {H, 1439, 1439, 0, -1},
              {H, 1440, -1, 0, 0},    {H, 1460, -1, 0, 20},
              {H, 1471, -1, 0, 31},   {H, 1472, 1440, 1, -1},
              {H, 2911, 2879, 1, -1}, {H, 2943, -1, 1, 31},
              {W, 2879, 2879, 0, -1}, {S, 5, 5, 0, -1}};
  for (const auto &r : rows) {
    StoredKeptRow got = storedKeptRow(p, w13, r.layout, r.sr);
    EXPECT_EQ(got.keptRow, r.keptRow) << r.sr;
    EXPECT_EQ(got.part, r.part) << r.sr;
    EXPECT_EQ(got.padding, r.padding) << r.sr;
  }
  StoredKeptRow last = storedKeptRow(p, w2, W, 1471);
  EXPECT_EQ(last.keptRow, -1);
  EXPECT_EQ(last.padding, 31);
}

/// Expects valuesPadding(p, s, layout) to be `want` ({offset, bytes} pairs).
void expectValuesPadding(const SSParams &p, const SSShape &s,
                         WeightLayout layout,
                         const std::vector<std::pair<int64_t, int64_t>> &want) {
  std::vector<std::pair<int64_t, int64_t>> got;
  for (const ByteRange &r : valuesPadding(p, s, layout))
    got.push_back({r.offset, r.bytes});
  EXPECT_EQ(got, want) << layoutName(layout);
}

TEST(RowPadding, ValuesPaddingIsWholeTilesOfPaddingRows) {
  const WeightLayout W = WeightLayout::Wgmma, H = WeightLayout::WgmmaHalves;
  // 2 experts of 160 x 128, 1:2: 80 kept rows. wgmma: tiles 0 and 1 a
  // expert (8192 bytes each), tile 1 holding padding rows 80..127;
  // wgmma_halves: halves of 40 kept rows, every tile holds padding rows.
  expectValuesPadding({1, 2, 64}, {2, 160, 128}, W,
                      {{8192, 8192}, {24576, 8192}});
  expectValuesPadding({1, 2, 64}, {2, 160, 128}, H,
                      {{0, 8192}, {8192, 8192}, {16384, 8192}, {24576, 8192}});
  // With K = 192 (2 k blocks a tile): the last k block of a tile without
  // padding rows, the whole tile with them.
  expectValuesPadding({1, 2, 64}, {2, 160, 192}, W,
                      {{8192, 8192},
                       {16384, 16384},
                       {32768 + 8192, 8192},
                       {32768 + 16384, 16384}});
  // No padding rows and K % 128 == 0: no padding.
  expectValuesPadding({1, 2, 64}, {2, 256, 128}, H, {});
}

TEST(RowPadding, ValidateNamesTheNewRules) {
  const WeightLayout S = WeightLayout::MmaSp, W = WeightLayout::Wgmma,
                     H = WeightLayout::WgmmaHalves;
  // Halves must be whole row groups: with Rk % 16 == 0 only n = m = 16 can
  // have an odd number of groups.
  EXPECT_EQ(validate({16, 16, 32}, {1, 16, 128}, H),
            "layout wgmma_halves needs rows = 16 to be a multiple of 2*m = 32 "
            "(each half whole row groups)");
  EXPECT_EQ(validate({16, 16, 32}, {1, 16, 128}, W), "");
  EXPECT_EQ(validate({16, 16, 32}, {1, 32, 128}, H), "");
  // Padding rows form whole groups of n: 3:4 with 192 kept rows needs no
  // padding in wgmma, but its halves of 96 do.
  EXPECT_EQ(validate({3, 4, 64}, {1, 256, 256}, W), "");
  EXPECT_EQ(validate({3, 4, 64}, {1, 256, 256}, S), "");
  EXPECT_EQ(validate({3, 4, 64}, {1, 256, 256}, H),
            "layout wgmma_halves pads the 96 kept rows of each half to 128: "
            "n = 3 must divide 64 (padding rows form whole groups of n)");
  EXPECT_EQ(validate({3, 4, 64}, {1, 512, 256}, H), "");
  // n = m: no row_idx, any n.
  EXPECT_EQ(validate({3, 3, 32}, {1, 48, 128}, W), "");
  EXPECT_EQ(validate({5, 5, 32}, {1, 160, 128}, H), "");
  std::string err;
  std::vector<uint16_t> d(256 * 256, 0x3f80);
  EXPECT_TRUE(pack(d.data(), DType::BF16, {1, 256, 256}, {3, 4, 64}, &err, H)
                  .values.empty());
  EXPECT_EQ(err, validate({3, 4, 64}, {1, 256, 256}, H));
}

TEST(RowPadding, PaddedSizesThatOverflowAreRefused) {
  // 32 x 2^56, 1:2: the dense size (2^62 bytes) fits; wgmma_halves stores
  // 2 x 64 rows for the 16 kept rows: 2^63 bytes of values do not.
  const int64_t K = int64_t(1) << 56;
  EXPECT_EQ(validate({1, 2, 32}, {1, 32, K}, WeightLayout::Wgmma), "");
  EXPECT_EQ(validate({1, 2, 32}, {1, 32, K}, WeightLayout::WgmmaHalves),
            "layout wgmma_halves pads cols = 72057594037927936 to "
            "72057594037927936 and kept rows rows*n/m = 16 to 128: experts x "
            "stored kept rows x padded cols = 1 x 128 x 72057594037927936 is "
            "too large (the values bytes overflow a 64-bit byte count)");
  // Plain 2:4 with 16 rows: wgmma stores 64 rows.
  EXPECT_EQ(validate({2, 2, 32}, {1, 16, 2 * K}, WeightLayout::MmaSp), "");
  EXPECT_EQ(validate({2, 2, 32}, {1, 16, 2 * K}, WeightLayout::Wgmma),
            "layout wgmma pads cols = 144115188075855872 to "
            "144115188075855872 and kept rows rows*n/m = 16 to 64: experts x "
            "stored kept rows x padded cols = 1 x 64 x 144115188075855872 is "
            "too large (the values bytes overflow a 64-bit byte count)");
}

/// Row-padded shapes: kept rows 80 (wgmma: 128), plain 2:4 of 80 rows, halves
/// of 40 and 80 kept rows (wgmma_halves: 64 and 128 each), n = 2 and 4
/// (padding row_idx 0, 1, ... n-1), K padded or not.
std::vector<Case> rowPaddedCases() {
  const WeightLayout W = WeightLayout::Wgmma, H = WeightLayout::WgmmaHalves;
  return {{{1, 2, 32}, {2, 160, 128}, DType::BF16, W},
          {{2, 2, 64}, {1, 80, 256}, DType::F16, W},
          {{2, 4, 32}, {2, 160, 96}, DType::BF16, W},
          {{1, 2, 32}, {2, 160, 160}, DType::BF16, H},
          {{2, 4, 64}, {2, 160, 128}, DType::F16, H},
          {{4, 8, 32}, {1, 320, 64}, DType::BF16, H},
          {{2, 2, 32}, {3, 80, 192}, DType::F16, H},
          {{1, 4, 64}, {1, 384, 2880}, DType::BF16, H}};
}

TEST(RowPadding, LayoutMatchesFormatMd) {
  SplitMix64 rng(41);
  for (const Case &c : rowPaddedCases()) {
    SCOPED_TRACE(describe(c) + " " + layoutName(c.layout));
    std::vector<uint16_t> d = randomDense(rng, c);
    std::string err;
    PackedWeight w = pack(d.data(), c.dt, c.s, c.p, &err, c.layout);
    ASSERT_EQ(err, "");
    ASSERT_NE(storedKeptRows(c.p, c.s, c.layout), keptRows(c.p, c.s));
    expectWgmmaLayoutMatchesFormatMd(c, d, w);
  }
}

/// `d` (`c.s.experts` x `c.s.rows` x `c.s.cols`) with zero rows appended to
/// each of `parts` parts, as many as pad the part's kept rows to a multiple
/// of 64; `rows` is set to the rows per expert.
std::vector<uint16_t> withZeroRows(const std::vector<uint16_t> &d,
                                   const Case &c, int64_t parts,
                                   int64_t &rows) {
  const int64_t R = c.s.rows, K = c.s.cols, partRows = R / parts;
  const int64_t kept = partRows / c.p.m * c.p.n;
  const int64_t paddedRows = (kept + 63) / 64 * 64 / c.p.n * c.p.m;
  rows = parts * paddedRows;
  std::vector<uint16_t> out(size_t(c.s.experts * rows * K), 0);
  for (int64_t e = 0; e < c.s.experts; ++e)
    for (int64_t q = 0; q < parts; ++q)
      std::copy(d.begin() + (e * R + q * partRows) * K,
                d.begin() + (e * R + (q + 1) * partRows) * K,
                out.begin() + (e * rows + q * paddedRows) * K);
  return out;
}

TEST(RowPadding, PackEqualsPackOfZeroPaddedRows) {
  // An independent oracle of the row padding: each part with zero rows
  // appended (all-zero groups keep their first n rows, row_idx 0..n-1;
  // zero chunks keep entries 0 and 1: value 0, nibble 0x4) has whole tiles
  // of kept rows, which wgmma stores without padding rows: the same bytes.
  SplitMix64 rng(42);
  for (const Case &c : rowPaddedCases()) {
    SCOPED_TRACE(describe(c) + " " + layoutName(c.layout));
    std::vector<uint16_t> d = randomDense(rng, c);
    int64_t rows;
    std::vector<uint16_t> dp = withZeroRows(d, c, layoutParts(c.layout), rows);
    const SSShape sp{c.s.experts, rows, c.s.cols};
    ASSERT_EQ(storedKeptRows(c.p, sp, WeightLayout::Wgmma), keptRows(c.p, sp));
    std::string err;
    PackedWeight w = pack(d.data(), c.dt, c.s, c.p, &err, c.layout);
    ASSERT_EQ(err, "");
    PackedWeight wp = pack(dp.data(), c.dt, sp, c.p, &err, WeightLayout::Wgmma);
    ASSERT_EQ(err, "");
    EXPECT_EQ(w.values, wp.values);
    EXPECT_EQ(w.meta, wp.meta);
    EXPECT_EQ(w.rowIdx, wp.rowIdx);
  }
}

TEST(RowPadding, RoundTripsAndRelayoutAmongAllLayouts) {
  // pack -> unpack equals pack in mma_sp -> unpack; pack(unpack(w)) is w;
  // relayout between any two layouts (both ways) equals packing in the
  // target; the reference reads every layout alike.
  SplitMix64 rng(43);
  const WeightLayout layouts[] = {WeightLayout::MmaSp, WeightLayout::Wgmma,
                                  WeightLayout::WgmmaHalves};
  for (const Case &c : rowPaddedCases()) {
    SCOPED_TRACE(describe(c) + " " + layoutName(c.layout));
    std::vector<uint16_t> d = randomDense(rng, c);
    std::vector<PackedWeight> packed;
    for (WeightLayout l : layouts)
      if (validate(c.p, c.s, l).empty())
        packed.push_back(pack(d.data(), c.dt, c.s, c.p, nullptr, l));
    ASSERT_GE(packed.size(), 2u);
    const std::vector<uint16_t> want = unpack(packed[0]);
    std::vector<double> y0;
    std::vector<uint16_t> x(size_t(3 * c.s.cols), 0x3c00);
    std::vector<int32_t> offsets(size_t(c.s.experts + 1), 3);
    offsets[0] = 0;
    ASSERT_TRUE(ssmmReference(packed[0], x.data(), 3, offsets.data(), nullptr,
                              3, Epilogue::None, y0));
    for (const PackedWeight &from : packed) {
      SCOPED_TRACE(std::string("from ") + layoutName(from.layout));
      EXPECT_EQ(checkPacked(from), "");
      std::string err;
      EXPECT_EQ(unpack(from, &err), want) << err;
      expectSameWeight(pack(want.data(), c.dt, c.s, c.p, nullptr, from.layout),
                       from);
      for (const PackedWeight &to : packed)
        expectRelayoutGives(from, to);
      std::vector<double> y;
      ASSERT_TRUE(ssmmReference(from, x.data(), 3, offsets.data(), nullptr, 3,
                                Epilogue::None, y));
      EXPECT_EQ(y, y0);
    }
  }
}

TEST(RowPadding, HalvesWithoutPaddingRowsAreWgmmaBytes) {
  // Where no half is padded, wgmma_halves is byte-identical to wgmma (and
  // wgmma without padding rows to the golden packs above).
  SplitMix64 rng(44);
  for (Case c : {Case{{1, 2, 64}, {2, 256, 192}, DType::BF16},
                 Case{{2, 2, 32}, {1, 128, 128}, DType::F16},
                 Case{{3, 4, 128}, {1, 512, 256}, DType::BF16}}) {
    SCOPED_TRACE(describe(c));
    std::vector<uint16_t> d = randomDense(rng, c);
    PackedWeight w =
        pack(d.data(), c.dt, c.s, c.p, nullptr, WeightLayout::Wgmma);
    PackedWeight h =
        pack(d.data(), c.dt, c.s, c.p, nullptr, WeightLayout::WgmmaHalves);
    ASSERT_EQ(storedKeptRows(c.p, c.s, h.layout), keptRows(c.p, c.s));
    EXPECT_EQ(h.values, w.values);
    EXPECT_EQ(h.meta, w.meta);
    EXPECT_EQ(h.rowIdx, w.rowIdx);
  }
}

/// Expects every reader of `w` to refuse it with `want`, the message of
/// component `part` (componentBytes' index): checkContent, checkPacked,
/// unpack, and relayout to every layout (which would drop the padding).
void expectRefused(const PackedWeight &w, int part, const std::string &want) {
  static const char *const prefix[3] = {"values: ", "meta: ", "row_idx: "};
  int got = -1;
  EXPECT_EQ(checkContent(reinterpret_cast<const uint8_t *>(w.values.data()),
                         reinterpret_cast<const uint8_t *>(w.meta.data()),
                         w.rowIdx.data(), w.p, w.s, w.layout, got),
            want);
  EXPECT_EQ(got, part);
  EXPECT_EQ(checkPacked(w), prefix[part] + want);
  std::string err;
  EXPECT_TRUE(unpack(w, &err).empty());
  EXPECT_EQ(err, prefix[part] + want);
  for (WeightLayout to :
       {WeightLayout::MmaSp, WeightLayout::Wgmma, WeightLayout::WgmmaHalves}) {
    err.clear();
    EXPECT_TRUE(relayout(w, to, &err).values.empty());
    EXPECT_EQ(err, std::string("cannot relayout from ") + layoutName(w.layout) +
                       " to " + layoutName(to) + ": " + prefix[part] + want);
  }
}

/// 2 experts of 160 x 128, 2:4:64 (halves of 40 kept rows, each padded to
/// 64; 2 spans) in wgmma_halves.
PackedWeight halvesWeight() {
  SplitMix64 rng(45);
  Case c{{2, 4, 64}, {2, 160, 128}, DType::BF16, WeightLayout::WgmmaHalves};
  std::vector<uint16_t> d = randomDense(rng, c);
  return pack(d.data(), c.dt, c.s, c.p, nullptr, c.layout);
}

/// 1 expert of 160 x 160, 1:2:32 (80 kept rows, K padded to 256) in
/// `layout`.
PackedWeight rowAndColumnPaddedWeight(WeightLayout layout) {
  SplitMix64 rng(46);
  Case c{{1, 2, 32}, {1, 160, 160}, DType::BF16, layout};
  std::vector<uint16_t> d = randomDense(rng, c);
  return pack(d.data(), c.dt, c.s, c.p, nullptr, c.layout);
}

TEST(RowPadding, ValuesOfPaddingRowsMustBeZero) {
  // Expert 1 (from byte 16384), stored row 50 (half 0, padding row 10),
  // chunk 0.
  PackedWeight w = halvesWeight();
  ASSERT_EQ(checkPacked(w), "");
  reinterpret_cast<uint8_t *>(w.values.data())[16384 + 50 * 128] = 0x3c;
  expectRefused(w, 0,
                "byte 22784 (expert 1, stored kept row 50: padding row 10 of "
                "half 0 past its 40 kept rows) is 0x3c, not 0: layout "
                "wgmma_halves pads the values with zeros");
}

TEST(RowPadding, ValuesOfPaddingRowsOfWgmmaMustBeZero) {
  // Tile 1, k block 0 (of 2): row 36 = stored row 100 (padding row 20).
  PackedWeight w = rowAndColumnPaddedWeight(WeightLayout::Wgmma);
  ASSERT_EQ(checkPacked(w), "");
  reinterpret_cast<uint8_t *>(w.values.data())[2 * 8192 + 36 * 128] = 0x3c;
  expectRefused(w, 0,
                "byte 20992 (expert 0, stored kept row 100: padding row 20 "
                "past the 80 kept rows) is 0x3c, not 0: layout wgmma pads the "
                "values with zeros");
}

TEST(RowPadding, KPaddingOfAStoredRowNamesItsKeptRow) {
  // wgmma_halves: stored row 70 holds kept row 46 (half 1's seventh). Its
  // compressed column 80 (past K / 2 = 80) is in tile 1, k block 1,
  // logical chunk 2, stored at chunk 2 ^ (70 % 8) = 4.
  PackedWeight w = rowAndColumnPaddedWeight(WeightLayout::WgmmaHalves);
  ASSERT_EQ(checkPacked(w), "");
  reinterpret_cast<uint8_t *>(w.values.data())[3 * 8192 + 6 * 128 + 4 * 16] =
      0x3c;
  expectRefused(w, 0,
                "byte 25408 (expert 0, stored kept row 70 (kept row 46), "
                "compressed column 80: padding past cols = 160) is 0x3c, not "
                "0: layout wgmma_halves pads the values with zeros");
}

TEST(RowPadding, MetaOfPaddingRowsMustBe0x4) {
  // Expert 0, 64-byte block (T = 1, ks = 1, w = 2) = (4 + 1) * 4 + 2 = 22,
  // word 2 * 6: rows 6 and 14 of the 16-row tile (stored rows 102 and 110);
  // byte 2: row 110 (half 1, padding row 6), chunks 8 and 9.
  PackedWeight w = halvesWeight();
  reinterpret_cast<uint8_t *>(w.meta.data())[22 * 64 + 12 * 4 + 2] = 0x49;
  expectRefused(w, 1,
                "byte 1458 (expert 0, stored kept row 110: padding row 6 of "
                "half 1 past its 40 kept rows) holds nibble 0x9, not 0x4: "
                "layout wgmma_halves pads the metadata with 0x4");
}

TEST(RowPadding, MetaKPaddingOfARowPaddedLayoutNamesStoredRows) {
  // K = 160: k steps 5..7 of 8 are padding; block (T = 1, ks = 6, w = 0) =
  // (8 + 6) * 4 = 56 holds stored rows 64..79 (kept rows).
  PackedWeight w = rowAndColumnPaddedWeight(WeightLayout::Wgmma);
  reinterpret_cast<uint8_t *>(w.meta.data())[56 * 64] = 0x48;
  expectRefused(w, 1,
                "byte 3584 (expert 0, stored kept rows 64..79, k step 6: "
                "padding past cols = 160) holds nibble 0x8, not 0x4: layout "
                "wgmma pads the metadata with 0x4");
}

TEST(RowPadding, RowIdxOfPaddingRowsIsTheirIndexModuloN) {
  // Expert 1 (from byte 256), span 1 (+128), stored row 105 (half 1,
  // padding row 1: row_idx 1 % 2 = 1).
  PackedWeight w = halvesWeight();
  ASSERT_EQ(w.rowIdx[256 + 128 + 105], 1);
  ASSERT_EQ(w.rowIdx[256 + 128 + 104], 0);
  w.rowIdx[256 + 128 + 105] = 7;
  expectRefused(w, 2,
                "byte 489 (expert 1, span 1, stored kept row 105: padding row "
                "1 of half 1 past its 40 kept rows) is 7, not 1: layout "
                "wgmma_halves pads row_idx with the padding row's index modulo "
                "n = 2");
}

TEST(RowPadding, RowIdxOfKeptRowsNamesStoredAndKeptRow) {
  // Stored row 64 holds kept row 40 (half 1's first): its row_idx is
  // content, checked by unpack but moved as it is by relayout.
  PackedWeight w = halvesWeight();
  w.rowIdx[64] = 4;
  const std::string want = "row_idx: byte 64 (expert 0, span 0, stored kept "
                           "row 64 (kept row 40)) is 4, not below m = 4";
  EXPECT_EQ(checkPacked(w), want);
  std::string err;
  PackedWeight m = relayout(w, WeightLayout::MmaSp, &err);
  EXPECT_EQ(err, "");
  EXPECT_EQ(checkPacked(m), "row_idx: byte 40 (expert 0, span 0, kept row "
                            "40) is 4, not below m = 4");
  EXPECT_EQ(checkPacked(relayout(m, WeightLayout::WgmmaHalves)), want);
}

} // namespace
