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
  // Kept rows 32: fine for mma_sp, not for wgmma.
  EXPECT_EQ(validate({1, 2, 64}, {1, 64, 256}, S), "");
  EXPECT_EQ(validate({1, 2, 64}, {1, 64, 256}), "");
  EXPECT_EQ(validate({1, 2, 64}, {1, 64, 256}, W),
            "layout wgmma needs kept rows rows*n/m = 32 (rows = 64) to be a "
            "multiple of 64");
  // Kept rows 96 (not 64-aligned) with n:m = 3:4.
  EXPECT_NE(validate({3, 4, 64}, {1, 128, 256}, W).find("kept rows"),
            std::string::npos);
  EXPECT_EQ(validate({3, 4, 64}, {1, 128, 256}, S), "");
  // cols 192: a multiple of v = 64 but not of 128: wgmma pads it to 256.
  EXPECT_EQ(validate({1, 2, 64}, {1, 128, 192}, S), "");
  EXPECT_EQ(validate({1, 2, 64}, {1, 128, 192}, W), "");
  // The common rules come first.
  EXPECT_NE(validate({1, 2, 48}, {1, 128, 192}, W).find("v = 48"),
            std::string::npos);
  std::string err = "unchanged";
  std::vector<uint16_t> d(64 * 256, 0x3f80);
  PackedWeight w =
      pack(d.data(), DType::BF16, {1, 64, 256}, {1, 2, 64}, &err, W);
  EXPECT_NE(err.find("kept rows rows*n/m = 32"), std::string::npos) << err;
  EXPECT_TRUE(w.values.empty());
}

TEST(Layout, NamesParseAndRoundTrip) {
  EXPECT_STREQ(layoutName(WeightLayout::MmaSp), "mma_sp");
  EXPECT_STREQ(layoutName(WeightLayout::Wgmma), "wgmma");
  WeightLayout l = WeightLayout::MmaSp;
  EXPECT_TRUE(parseLayout("wgmma", l));
  EXPECT_EQ(l, WeightLayout::Wgmma);
  EXPECT_TRUE(parseLayout("mma_sp", l));
  EXPECT_EQ(l, WeightLayout::MmaSp);
  for (const char *bad : {"", "WGMMA", "mma-sp", "wgmma ", "sp", "mma_sp\n"}) {
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

TEST(Pack, WgmmaLayoutMatchesFormatMd) {
  SplitMix64 rng(123);
  for (const Case &c : wgmmaCases(5, 12)) {
    std::vector<uint16_t> d = randomDense(rng, c);
    PackedWeight w = pack(d.data(), c.dt, c.s, c.p, nullptr, c.layout);
    const int64_t R = c.s.rows, K = c.s.cols, Rk = R / c.p.m * c.p.n;
    // Values and meta hold Kp = roundUp(K, 128) columns: K..Kp-1 padding.
    const int64_t Kp = (K + 127) / 128 * 128;
    const int64_t KS = Kp / 32, S = K / c.p.v;
    ASSERT_EQ(w.valuesBytes(), c.s.experts * Rk * Kp);
    for (int64_t e = 0; e < c.s.experts; ++e) {
      Expected ex = expectedLogical(d.data() + e * R * K, c.dt, R, K, c.p);
      const uint8_t *bytes =
          reinterpret_cast<const uint8_t *>(w.values.data() + e * Rk * Kp / 4);
      const uint32_t *meta = w.meta.data() + e * Rk * Kp / 32;
      std::vector<bool> seen(static_cast<size_t>(Rk * Kp), false);
      for (int64_t kr = 0; kr < Rk; ++kr)
        for (int64_t col = 0; col < Kp / 2; col += 2) {
          int64_t off = wgmmaValuesByte(kr, col, Kp);
          ASSERT_EQ(off % 4, 0);
          ASSERT_LT(off, Rk * Kp);
          ASSERT_FALSE(seen[size_t(off)]) << "two words at byte " << off;
          seen[size_t(off)] = true;
          uint32_t word;
          std::memcpy(&word, bytes + off, 4);
          if (col >= K / 2) { // padding: zero values
            ASSERT_EQ(word, 0u) << "row " << kr << " column " << col;
            continue;
          }
          ASSERT_EQ(word & 0xffffu, ex.c[size_t(kr * K / 2 + col)]);
          ASSERT_EQ(word >> 16, ex.c[size_t(kr * K / 2 + col + 1)]);
        }
      for (int64_t kr = 0; kr < Rk; ++kr)
        for (int64_t ch = 0; ch < Kp / 4; ++ch) {
          int64_t T = kr / 64, wt = (kr % 64) / 16, rr = kr % 16, g = rr % 8;
          int64_t ks = ch / 8, h = (ch % 8) / 4, q = ch % 4;
          int64_t word = ((T * KS + ks) * 4 + wt) * 16 + 2 * g + h;
          int shift = int(4 * q + (rr >= 8 ? 16 : 0));
          // Padding: nibble 0x4 (i0 = 0, i1 = 1).
          ASSERT_EQ((meta[word] >> shift) & 0xfu,
                    ch < K / 4 ? ex.nibbles[size_t(kr * K / 4 + ch)] : 0x4u)
              << "row " << kr << " chunk " << ch;
        }
      if (c.p.n < c.p.m) {
        const uint8_t *ri = w.rowIdx.data() + e * S * Rk;
        for (int64_t i = 0; i < S * Rk; ++i)
          ASSERT_EQ(ri[i], ex.rowIdx[size_t(i)]);
      }
    }
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
  PackedWeight w = pack(d.data(), DType::BF16, {1, 64, 128}, {1, 2, 64});
  std::string err;
  PackedWeight g = relayout(w, WeightLayout::Wgmma, &err);
  EXPECT_TRUE(g.values.empty());
  EXPECT_NE(err.find("cannot relayout from mma_sp to wgmma"), std::string::npos)
      << err;
  EXPECT_NE(err.find("kept rows rows*n/m = 32"), std::string::npos) << err;
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
  EXPECT_NE(err.find("layout wgmma needs"), std::string::npos) << err;
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
    EXPECT_EQ(checkRowIdx(w.rowIdx.data(), w.p, w.s),
              "byte " + std::to_string(Rk + 5) +
                  " (expert 0, span 1, kept row 5) is 2, not below m = 2");
    std::string err;
    std::vector<uint16_t> u = unpack(w, &err);
    EXPECT_EQ(err, "row_idx: " + checkRowIdx(w.rowIdx.data(), w.p, w.s));
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
  EXPECT_EQ(checkRowIdx(w.rowIdx.data(), w.p, w.s),
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
  EXPECT_EQ(rowIdxBytesPerExpert(p, s), 45 * 2880); // K / v spans: unpadded
  EXPECT_EQ(componentBytes(p, s, S),
            (std::array<int64_t, 3>{32 * 2880 * 2880, 32 * 2880 * 2880 / 8,
                                    32 * 45 * 2880}));
  EXPECT_EQ(componentBytes(p, s, W),
            (std::array<int64_t, 3>{32 * 2880 * 2944, 32 * 2880 * 2944 / 8,
                                    32 * 45 * 2880}));
  // Where the values padding lies: the last k block of each 64-row tile.
  ValuesPadding pad = valuesPadding({1, 2, 64}, {2, 128, 192}, W);
  EXPECT_EQ(pad.count, 2);
  EXPECT_EQ(pad.first, 8192);
  EXPECT_EQ(pad.stride, 16384);
  EXPECT_EQ(pad.bytes, 8192);
  pad = valuesPadding(p, s, W);
  EXPECT_EQ(pad.count, 32 * 2880 / 64);
  EXPECT_EQ(pad.first, 22 * 8192);
  EXPECT_EQ(pad.stride, 23 * 8192);
  EXPECT_EQ(valuesPadding({1, 2, 64}, {2, 128, 192}, S).count, 0);
  EXPECT_EQ(valuesPadding({1, 2, 64}, {2, 128, 256}, W).count, 0);
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
  ValuesPadding pad = valuesPadding(w.p, w.s, w.layout);
  ASSERT_EQ(pad.count, 2);
  EXPECT_EQ(checkValuesPaddingBlock(bytes + pad.first, 0, w.p, w.s), "");
  EXPECT_EQ(
      checkValuesPaddingBlock(bytes + pad.first + pad.stride, 1, w.p, w.s),
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

} // namespace
