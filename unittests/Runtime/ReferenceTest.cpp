//===- ReferenceTest.cpp - Tests of the CPU oracles
//------------------------===//

#include "samoyeds/Runtime/Reference.h"
#include "samoyeds/Runtime/Format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace samoyeds::rt;

namespace {

/// Dense double matmul of unpack(w) against gathered rows of x.
std::vector<double> denseOracle(const PackedWeight &w,
                                const std::vector<uint16_t> &x,
                                const std::vector<int32_t> &offsets,
                                const int32_t *tokens, int64_t P,
                                Epilogue epi) {
  std::vector<uint16_t> u = unpack(w);
  const int64_t R = w.s.rows, K = w.s.cols;
  const int64_t cols = epi == Epilogue::SiluMul ? R / 2 : R;
  std::vector<double> out(static_cast<size_t>(P * cols), 0.0);
  for (int64_t e = 0; e < w.s.experts; ++e)
    for (int64_t p = offsets[size_t(e)]; p < offsets[size_t(e + 1)]; ++p) {
      int64_t row = tokens ? tokens[p] : p;
      std::vector<double> acc(static_cast<size_t>(R), 0.0);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t k = 0; k < K; ++k)
          acc[size_t(r)] +=
              double(toFloat(u[size_t((e * R + r) * K + k)], w.dtype)) *
              double(toFloat(x[size_t(row * K + k)], w.dtype));
      for (int64_t i = 0; i < cols; ++i)
        out[size_t(p * cols + i)] = epi == Epilogue::None
                                        ? acc[size_t(i)]
                                        : acc[size_t(i)] /
                                              (1 + std::exp(-acc[size_t(i)])) *
                                              acc[size_t(cols + i)];
    }
  return out;
}

struct SsmmCase {
  SSParams p;
  SSShape s;
  DType dt;
  Epilogue epi;
  bool gather;
  WeightLayout layout = WeightLayout::MmaSp;
};

/// `c` in the wgmma layout.
SsmmCase wgmma(SsmmCase c) {
  c.layout = WeightLayout::Wgmma;
  return c;
}

class SsmmReference : public ::testing::TestWithParam<SsmmCase> {};

TEST_P(SsmmReference, MatchesDenseMatmulOfUnpack) {
  const SsmmCase &c = GetParam();
  SplitMix64 rng(42 + uint64_t(c.p.n * 7 + c.p.m * 3 + c.p.v));
  std::vector<uint16_t> dense(
      static_cast<size_t>(c.s.experts * c.s.rows * c.s.cols));
  for (auto &v : dense)
    v = rng.nonZero(c.dt, 0.05);
  PackedWeight w = pack(dense.data(), c.dt, c.s, c.p, nullptr, c.layout);
  ASSERT_EQ(w.layout, c.layout);
  const int64_t T = 13, P = c.gather ? 29 : T;
  std::vector<uint16_t> x(static_cast<size_t>(T * c.s.cols));
  for (auto &v : x)
    v = rng.nonZero(c.dt, 1.0);
  std::vector<int32_t> tokens(static_cast<size_t>(P));
  for (auto &t : tokens)
    t = int32_t(rng.below(uint64_t(T)));
  // Expert 0 gets no tokens when there are several; the rest split the slots.
  std::vector<int32_t> offsets(static_cast<size_t>(c.s.experts + 1), 0);
  for (int64_t e = 0; e <= c.s.experts; ++e)
    offsets[size_t(e)] = int32_t(P * e / c.s.experts);
  if (c.s.experts > 1)
    offsets[1] = 0;
  const int32_t *tk = c.gather ? tokens.data() : nullptr;
  std::vector<double> got;
  std::string err;
  ASSERT_TRUE(
      ssmmReference(w, x.data(), T, offsets.data(), tk, P, c.epi, got, &err))
      << err;
  std::vector<double> want = denseOracle(w, x, offsets, tk, P, c.epi);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_LT(relativeError(got, want), 1e-12);
  double norm = 0;
  for (double v : want)
    norm += v * v;
  EXPECT_GT(norm, 0.0);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SsmmReference,
    ::testing::Values(
        SsmmCase{{1, 2, 64}, {3, 64, 128}, DType::BF16, Epilogue::None, true},
        SsmmCase{{1, 2, 64}, {3, 64, 128}, DType::BF16, Epilogue::None, false},
        SsmmCase{{1, 4, 32}, {2, 128, 64}, DType::F16, Epilogue::SiluMul, true},
        SsmmCase{
            {1, 4, 32}, {2, 128, 64}, DType::F16, Epilogue::SiluMul, false},
        SsmmCase{
            {4, 4, 128}, {3, 32, 256}, DType::BF16, Epilogue::SiluMul, true},
        SsmmCase{{2, 8, 32}, {1, 64, 96}, DType::F16, Epilogue::None, true},
        SsmmCase{{1, 1, 32}, {4, 16, 32}, DType::BF16, Epilogue::None, true},
        wgmma({{1, 2, 64}, {3, 128, 128}, DType::BF16, Epilogue::None, true}),
        wgmma({{1, 4, 32}, {2, 256, 256}, DType::F16, Epilogue::SiluMul, true}),
        wgmma({{4, 4, 128},
               {2, 128, 384},
               DType::BF16,
               Epilogue::SiluMul,
               false}),
        wgmma({{3, 4, 64}, {1, 256, 128}, DType::F16, Epilogue::None, true})));

TEST(SsmmReference, ReadsTheWeightsLayout) {
  // The same dense weight in both layouts gives the same result; a wgmma
  // weight labelled mma_sp (words read in the wrong order) does not.
  SplitMix64 rng(8);
  const SSShape s{2, 128, 256};
  const SSParams p{1, 2, 64};
  std::vector<uint16_t> dense(size_t(s.experts * s.rows * s.cols));
  for (auto &v : dense)
    v = rng.nonZero(DType::BF16, 0.05);
  PackedWeight a = pack(dense.data(), DType::BF16, s, p);
  PackedWeight b =
      pack(dense.data(), DType::BF16, s, p, nullptr, WeightLayout::Wgmma);
  const int64_t T = 7;
  std::vector<uint16_t> x(size_t(T * s.cols));
  for (auto &v : x)
    v = rng.nonZero(DType::BF16, 1.0);
  std::vector<int32_t> offsets = {0, 3, 7};
  std::vector<double> ya, yb, ylie;
  ASSERT_TRUE(ssmmReference(a, x.data(), T, offsets.data(), nullptr, T,
                            Epilogue::None, ya));
  ASSERT_TRUE(ssmmReference(b, x.data(), T, offsets.data(), nullptr, T,
                            Epilogue::None, yb));
  EXPECT_EQ(ya, yb);
  PackedWeight lie = b;
  lie.layout = WeightLayout::MmaSp;
  ASSERT_TRUE(ssmmReference(lie, x.data(), T, offsets.data(), nullptr, T,
                            Epilogue::None, ylie));
  EXPECT_GT(relativeError(ylie, ya), 0.1);
  // A shape the layout cannot hold is refused with the rule.
  PackedWeight small = pack(dense.data(), DType::BF16, {1, 64, 256}, p);
  small.layout = WeightLayout::Wgmma;
  std::string err;
  EXPECT_FALSE(ssmmReference(small, x.data(), T, offsets.data(), nullptr, 3,
                             Epilogue::None, ylie, &err));
  EXPECT_NE(err.find("layout wgmma needs kept rows"), std::string::npos) << err;
}

TEST(SsmmReference, RejectsBadArguments) {
  std::vector<uint16_t> dense(32 * 64, floatToBf16(0.5f));
  PackedWeight w = pack(dense.data(), DType::BF16, {1, 32, 64}, {1, 2, 32});
  std::vector<uint16_t> x(2 * 64, floatToBf16(1.0f));
  std::vector<int32_t> offsets = {0, 2}, tokens = {0, 5};
  std::vector<double> out;
  std::string err;
  EXPECT_FALSE(ssmmReference(w, x.data(), 2, offsets.data(), tokens.data(), 2,
                             Epilogue::None, out, &err));
  EXPECT_NE(err.find("row 5"), std::string::npos) << err;
  std::vector<int32_t> badOffsets = {0, 3};
  EXPECT_FALSE(ssmmReference(w, x.data(), 2, badOffsets.data(), nullptr, 2,
                             Epilogue::None, out, &err));
}

TEST(SsmmReference, RefusesContentItWouldIndexWith) {
  // A row_idx byte >= m used to index past the accumulator.
  std::vector<uint16_t> dense(32 * 64, floatToBf16(0.5f));
  std::vector<uint16_t> x(64, floatToBf16(1.0f));
  std::vector<int32_t> offsets = {0, 1};
  std::vector<double> out;
  std::string err;
  PackedWeight w = pack(dense.data(), DType::BF16, {1, 32, 64}, {1, 2, 32});
  w.rowIdx[3] = 200;
  EXPECT_FALSE(ssmmReference(w, x.data(), 1, offsets.data(), nullptr, 1,
                             Epilogue::None, out, &err));
  EXPECT_EQ(err, "weight: row_idx: byte 3 (expert 0, span 0, kept row 3) is "
                 "200, not below m = 2");
  w = pack(dense.data(), DType::BF16, {1, 32, 64}, {1, 2, 32});
  w.meta[0] = 0;
  EXPECT_FALSE(ssmmReference(w, x.data(), 1, offsets.data(), nullptr, 1,
                             Epilogue::None, out, &err));
  EXPECT_EQ(err.rfind("weight: meta: byte 0 (expert 0) holds nibble 0x0", 0),
            0u)
      << err;
}

TEST(Route, TopTwoWithAndWithoutRenormalisation) {
  // logits = [1, 0, 2] for the single token.
  const float x[2] = {1, 0};
  const float router[6] = {1, 5, 0, 5, 2, 5};
  std::vector<float> w;
  std::vector<int32_t> ids;
  double z = std::exp(1.0) + 1 + std::exp(2.0);
  routeReference(x, router, 1, 2, 3, 2, false, 1.0, w, ids);
  ASSERT_EQ(ids, (std::vector<int32_t>{2, 0}));
  EXPECT_NEAR(w[0], std::exp(2.0) / z, 1e-6);
  EXPECT_NEAR(w[1], std::exp(1.0) / z, 1e-6);
  routeReference(x, router, 1, 2, 3, 2, true, 2.5, w, ids);
  ASSERT_EQ(ids, (std::vector<int32_t>{2, 0}));
  double p2 = std::exp(2.0) / (std::exp(2.0) + std::exp(1.0));
  EXPECT_NEAR(w[0], 2.5 * p2, 1e-6);
  EXPECT_NEAR(w[1], 2.5 * (1 - p2), 1e-6);
  EXPECT_NEAR(w[0] + w[1], 2.5, 1e-6);
}

TEST(Route, TiesPickLowerExpertFirst) {
  const float x[4] = {0, 0, 1, 1};                    // T = 2, H = 2
  const float router[8] = {1, -1, 3, 3, 2, -2, 0, 0}; // E = 4
  std::vector<float> w;
  std::vector<int32_t> ids;
  routeReference(x, router, 2, 2, 4, 3, false, 0.5, w, ids);
  // Token 0: all logits 0 -> experts 0, 1, 2 each 1/4 (times 0.5).
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(ids[1], 1);
  EXPECT_EQ(ids[2], 2);
  EXPECT_NEAR(w[0], 0.125, 1e-7);
  // Token 1: logits [0, 6, 0, 0] -> expert 1, then 0 and 2 (ties).
  EXPECT_EQ(ids[3], 1);
  EXPECT_EQ(ids[4], 0);
  EXPECT_EQ(ids[5], 2);
  // 16-bit entry point agrees.
  std::vector<uint16_t> xb, rb;
  for (float v : x)
    xb.push_back(floatToBf16(v));
  for (float v : router)
    rb.push_back(floatToBf16(v));
  std::vector<float> w2;
  std::vector<int32_t> ids2;
  routeReference(xb.data(), rb.data(), DType::BF16, 2, 2, 4, 3, false, 0.5, w2,
                 ids2);
  EXPECT_EQ(ids2, ids);
  EXPECT_EQ(w2, w);
}

TEST(Dispatch, StableByExpert) {
  const int32_t ids[6] = {1, 0, 1, 2, 0, 1}; // T = 3, k = 2
  std::vector<int32_t> tokens, offsets, positions;
  dispatchReference(ids, 3, 2, 4, tokens, offsets, positions);
  EXPECT_EQ(offsets, (std::vector<int32_t>{0, 2, 5, 6, 6}));
  EXPECT_EQ(tokens, (std::vector<int32_t>{0, 2, 0, 1, 2, 1}));
  EXPECT_EQ(positions, (std::vector<int32_t>{2, 0, 3, 5, 1, 4}));
}

TEST(Dispatch, ClampsOutOfRangeIds) {
  // Ids are data: -1 and 7 (E = 4) go to experts 0 and 3, like the kernel.
  const int32_t ids[6] = {-1, 2, 7, 0, 3, -5}; // T = 3, k = 2
  const int32_t clamped[6] = {0, 2, 3, 0, 3, 0};
  std::vector<int32_t> tokens, offsets, positions;
  std::vector<int32_t> tokens2, offsets2, positions2;
  dispatchReference(ids, 3, 2, 4, tokens, offsets, positions);
  dispatchReference(clamped, 3, 2, 4, tokens2, offsets2, positions2);
  EXPECT_EQ(offsets, (std::vector<int32_t>{0, 3, 3, 4, 6}));
  EXPECT_EQ(tokens, tokens2);
  EXPECT_EQ(offsets, offsets2);
  EXPECT_EQ(positions, positions2);
  for (int32_t p : positions)
    EXPECT_TRUE(p >= 0 && p < 6) << p;
}

TEST(Combine, WeightedSumOfSlots) {
  // P = 3 slots of H = 2, T = 2 tokens with k = 2.
  std::vector<double> y = {1, 2, 10, 20, 100, 200};
  const float w[4] = {0.5f, 0.25f, 2.0f, -1.0f};
  const int32_t pos[4] = {2, 0, 1, 1};
  std::vector<double> out;
  combineReference(y, 2, w, pos, 2, 2, out);
  EXPECT_EQ(out, (std::vector<double>{50.25, 100.5, 10, 20}));
}

TEST(RouteDispatchCombine, EndToEndRoundTrip) {
  // With y = identity per slot, combine(dispatch(route)) returns sum of
  // weights.
  SplitMix64 rng(17);
  const int64_t T = 9, H = 8, E = 5;
  const int k = 2;
  std::vector<float> x(static_cast<size_t>(T * H)),
      r(static_cast<size_t>(E * H));
  for (auto &v : x)
    v = float(rng.symmetric(1));
  for (auto &v : r)
    v = float(rng.symmetric(1));
  std::vector<float> w;
  std::vector<int32_t> ids, tokens, offsets, positions;
  routeReference(x.data(), r.data(), T, H, E, k, true, 1.0, w, ids);
  dispatchReference(ids.data(), T, k, E, tokens, offsets, positions);
  ASSERT_EQ(offsets.back(), T * k);
  std::vector<double> y(static_cast<size_t>(T * k * H));
  for (int64_t p = 0; p < T * k; ++p)
    for (int64_t h = 0; h < H; ++h)
      y[size_t(p * H + h)] = x[size_t(tokens[size_t(p)] * H + h)];
  std::vector<double> out;
  combineReference(y, H, w.data(), positions.data(), T, k, out);
  std::vector<double> want(x.begin(), x.end());
  EXPECT_LT(relativeError(out, want), 1e-6);
}

TEST(Helpers, RelativeErrorAndRng) {
  std::vector<double> a = {1, 2, 3}, b = {1, 2, 3};
  EXPECT_EQ(relativeError(a, b), 0.0);
  a[2] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(std::isinf(relativeError(a, b)));
  a = {3, 0};
  b = {0, 4};
  EXPECT_DOUBLE_EQ(relativeError(a, b), 5.0 / 4.0);
  SplitMix64 r1(7), r2(7);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(r1.next(), r2.next());
  EXPECT_EQ(SplitMix64(0).next(), 0xe220a8397b1dcdafull);
  for (int i = 0; i < 1000; ++i) {
    double u = r1.uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
    EXPECT_NE(r1.nonZero(DType::F16, 1e-3) & 0x7fff, 0);
  }
}

} // namespace
