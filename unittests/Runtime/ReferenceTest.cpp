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

/// `c` in the wgmma layout (or `layout`).
SsmmCase wgmma(SsmmCase c, WeightLayout layout = WeightLayout::Wgmma) {
  c.layout = layout;
  return c;
}

/// `c` in the wgmma_halves layout.
SsmmCase halves(SsmmCase c) { return wgmma(c, WeightLayout::WgmmaHalves); }

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
        wgmma({{3, 4, 64}, {1, 256, 128}, DType::F16, Epilogue::None, true}),
        // K % 128 != 0: wgmma pads K to a multiple of 128.
        wgmma(
            {{1, 2, 64}, {2, 128, 192}, DType::BF16, Epilogue::SiluMul, true}),
        wgmma({{2, 2, 32}, {3, 64, 320}, DType::F16, Epilogue::None, false}),
        // Kept rows padded to 64-row tiles: 80 -> 128 (wgmma), halves of 40
        // -> 64 each (wgmma_halves, as the silu_mul's gate and up), with K
        // padded too; 2:4 of 4 (row_idx padding 0, 1, 0, 1).
        wgmma({{1, 2, 32}, {2, 160, 128}, DType::BF16, Epilogue::None, true}),
        wgmma({{2, 2, 32}, {2, 80, 160}, DType::F16, Epilogue::None, false}),
        halves(
            {{1, 2, 32}, {2, 160, 160}, DType::BF16, Epilogue::SiluMul, true}),
        halves(
            {{2, 4, 64}, {3, 160, 128}, DType::F16, Epilogue::SiluMul, false}),
        halves(
            {{1, 2, 64}, {2, 256, 128}, DType::BF16, Epilogue::None, true})));

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
  // wgmma_halves: each half's 32 kept rows padded to 64.
  PackedWeight h =
      pack(dense.data(), DType::BF16, s, p, nullptr, WeightLayout::WgmmaHalves);
  ASSERT_EQ(h.valuesBytes(), 2 * b.valuesBytes());
  std::vector<double> yh;
  ASSERT_TRUE(ssmmReference(h, x.data(), T, offsets.data(), nullptr, T,
                            Epilogue::None, yh));
  EXPECT_EQ(ya, yh);
  PackedWeight lie = b;
  lie.layout = WeightLayout::MmaSp;
  ASSERT_TRUE(ssmmReference(lie, x.data(), T, offsets.data(), nullptr, T,
                            Epilogue::None, ylie));
  EXPECT_GT(relativeError(ylie, ya), 0.1);
  // A shape the layout cannot hold is refused with the rule.
  PackedWeight small =
      pack(dense.data(), DType::BF16, {1, 64, 256}, SSParams{3, 4, 64});
  small.layout = WeightLayout::Wgmma;
  std::string err;
  EXPECT_FALSE(ssmmReference(small, x.data(), T, offsets.data(), nullptr, 3,
                             Epilogue::None, ylie, &err));
  EXPECT_NE(err.find("layout wgmma pads the 48 kept rows to 64"),
            std::string::npos)
      << err;
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

/// The bf16 bits of each element of `v`.
template <size_t N> std::vector<uint16_t> bf16Of(const float (&v)[N]) {
  std::vector<uint16_t> out;
  for (float f : v)
    out.push_back(floatToBf16(f));
  return out;
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
  std::vector<uint16_t> xb = bf16Of(x), rb = bf16Of(router);
  std::vector<float> w2;
  std::vector<int32_t> ids2;
  routeReference(xb.data(), rb.data(), DType::BF16, 2, 2, 4, 3, false, 0.5, w2,
                 ids2);
  EXPECT_EQ(ids2, ids);
  EXPECT_EQ(w2, w);
}

TEST(Route, RouterBiasIsAddedToTheLogits) {
  // logits = [1, 0, 2] for the single token; the bias [0, 2.5, -1.5] makes
  // them [1, 2.5, 0.5]: expert 1 wins, then 0, where 2 and 0 did without.
  const float x[2] = {1, 0};
  const float router[6] = {1, 5, 0, 5, 2, 5};
  const float bias[3] = {0, 2.5f, -1.5f};
  std::vector<float> w;
  std::vector<int32_t> ids;
  routeReference(x, router, 1, 2, 3, 2, false, 1.0, w, ids, bias);
  ASSERT_EQ(ids, (std::vector<int32_t>{1, 0}));
  double z = std::exp(1.0) + std::exp(2.5) + std::exp(0.5);
  EXPECT_NEAR(w[0], std::exp(2.5) / z, 1e-6);
  EXPECT_NEAR(w[1], std::exp(1.0) / z, 1e-6);
  routeReference(x, router, 1, 2, 3, 2, true, 1.0, w, ids, bias);
  ASSERT_EQ(ids, (std::vector<int32_t>{1, 0}));
  EXPECT_NEAR(w[0], std::exp(2.5) / (std::exp(2.5) + std::exp(1.0)), 1e-6);
  // A bias equal for every expert changes nothing (softmax's shift).
  const float same[3] = {-3, -3, -3};
  std::vector<float> w0, w3;
  std::vector<int32_t> ids0, ids3;
  routeReference(x, router, 1, 2, 3, 3, false, 1.0, w0, ids0);
  routeReference(x, router, 1, 2, 3, 3, false, 1.0, w3, ids3, same);
  EXPECT_EQ(ids3, ids0);
  for (size_t j = 0; j < w0.size(); ++j)
    EXPECT_NEAR(w3[j], w0[j], 1e-6);
  // The 16-bit entry point passes the bias on.
  std::vector<uint16_t> xb = bf16Of(x), rb = bf16Of(router);
  std::vector<float> w16;
  std::vector<int32_t> ids16;
  routeReference(x, router, 1, 2, 3, 2, false, 1.0, w, ids, bias);
  routeReference(xb.data(), rb.data(), DType::BF16, 1, 2, 3, 2, false, 1.0, w16,
                 ids16, bias);
  EXPECT_EQ(ids16, ids);
  EXPECT_EQ(w16, w);
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

//===----------------------------------------------------------------------===//
// Activations and biases (gpt-oss)
//===----------------------------------------------------------------------===//

namespace {

/// INTERFACE.md's clamped SwiGLU with gpt-oss's constants, written out.
double gptOss(double gate, double up) {
  double g = gate > 7.0 ? 7.0 : gate;
  double u = up > 7.0 ? 7.0 : up < -7.0 ? -7.0 : up;
  return g * (1.0 / (1.0 + std::exp(-1.702 * g))) * (u + 1.0);
}

double silu(double gate, double up) {
  return gate / (1 + std::exp(-gate)) * up;
}

const Activation kGptOss = {ActivationKind::ClampedSwiglu, 1.702, 7.0};

/// Expects `got` within 1e-13 (relative) of `want`.
void expectClose(double got, double want) {
  EXPECT_NEAR(got, want, 1e-13 * std::fabs(want)) << got << " vs " << want;
}

} // namespace

TEST(Activate, SiluAndClampedSwiglu) {
  const Activation silu0;
  EXPECT_EQ(silu0.kind, ActivationKind::Silu);
  expectClose(activate(silu0, 1.5, -2.0), silu(1.5, -2.0));
  expectClose(activate(silu0, 9.0, 9.0), silu(9.0, 9.0)); // No clamp.
  ClampCounts c;
  // gate above the limit, up below -limit; gate below -limit is not clamped.
  expectClose(activate(kGptOss, 10.0, -9.0, &c),
              7.0 / (1.0 + std::exp(-1.702 * 7.0)) * -6.0);
  expectClose(activate(kGptOss, -10.0, 8.5, &c),
              -10.0 / (1.0 + std::exp(1.702 * 10.0)) * 8.0);
  expectClose(activate(kGptOss, 0.5, 0.25, &c), gptOss(0.5, 0.25));
  expectClose(activate(kGptOss, 7.0, -7.0, &c), gptOss(7.0, -7.0));
  EXPECT_EQ(c.gate, 1);
  EXPECT_EQ(c.upHigh, 1);
  EXPECT_EQ(c.upLow, 1);
  EXPECT_EQ(c.total(), 3);
  // Other parameters.
  const Activation other = {ActivationKind::ClampedSwiglu, 1.0, 2.0};
  expectClose(activate(other, 3.0, -3.0),
              2.0 / (1.0 + std::exp(-2.0)) * (-2.0 + 1.0));
  // NaN propagates through the clamps.
  EXPECT_TRUE(std::isnan(activate(kGptOss, NAN, 1.0)));
  EXPECT_TRUE(std::isnan(activate(kGptOss, 1.0, NAN)));
  EXPECT_STREQ(activationName(ActivationKind::ClampedSwiglu), "clamped_swiglu");
  EXPECT_STREQ(activationName(ActivationKind::Silu), "silu");
}

namespace {

/// Two experts of 16 x 32 whose rows r hold `acc[e][r]` in column 0 (zeros
/// elsewhere: 2:4 keeps them exactly), so that x = e_0 gives the
/// accumulators `acc`; biases `bias`. Gate rows 0-7, up rows 8-15.
struct HandCase {
  std::vector<double> acc[2], bias[2];
  PackedWeight w;
  std::vector<uint16_t> b, x;

  HandCase() {
    acc[0] = {6, 9,  -12, 0.5, 2, -3,  7.5,  1,   // gate
              5, -8, 1,   -7,  7, 0.5, -1.5, 12}; // up
    bias[0] = {2, -1, 3, 0.25, 0, 1,    -0.5, -8, // gate: 8 8 -9 .75 2 -2 7 -7
               3, -1, 2, -0.5, 0, -0.5, 0.5,  8}; // up: 8 -9 3 -7.5 7 0 -1 20
    for (int i = 0; i < 16; ++i) {                // Expert 1: expert 0 negated.
      acc[1].push_back(-acc[0][size_t(i)]);
      bias[1].push_back(-bias[0][size_t(i)]);
    }
    std::vector<uint16_t> dense(2 * 16 * 32, 0);
    for (int e = 0; e < 2; ++e)
      for (int r = 0; r < 16; ++r) {
        dense[size_t((e * 16 + r) * 32)] = floatToBf16(float(acc[e][r]));
        b.push_back(floatToBf16(float(bias[e][r])));
      }
    w = pack(dense.data(), DType::BF16, {2, 16, 32}, {1, 1, 32});
    x.assign(32, 0);
    x[0] = floatToBf16(1.0f);
  }

  /// gate/up of expert e's row i (i < 8).
  double gu(int e, int r) const { return acc[e][r] + bias[e][r]; }
};

} // namespace

TEST(SsmmReference, ClampedSwigluWithBiasByHand) {
  HandCase c;
  std::vector<int32_t> offsets = {0, 1, 2}, tokens = {0, 0};
  EpilogueSpec spec{Epilogue::SiluMul, kGptOss, &c.b};
  std::vector<double> out;
  std::string err;
  ClampCounts clamps;
  ASSERT_TRUE(ssmmReference(c.w, c.x.data(), 1, offsets.data(), tokens.data(),
                            2, spec, out, &err, &clamps))
      << err;
  ASSERT_EQ(out.size(), 16u);
  for (int e = 0; e < 2; ++e)
    for (int i = 0; i < 8; ++i) {
      SCOPED_TRACE("expert " + std::to_string(e) + " column " +
                   std::to_string(i));
      expectClose(out[size_t(e * 8 + i)], gptOss(c.gu(e, i), c.gu(e, 8 + i)));
    }
  // Expert 0: gates 8, 8 (2 above); ups 8, 20 above, -9, -7.5 below.
  // Expert 1: gate 9 (1 above); ups 9, 7.5 above, -8, -20 below.
  EXPECT_EQ(clamps.gate, 3);
  EXPECT_EQ(clamps.upHigh, 4);
  EXPECT_EQ(clamps.upLow, 4);
  // Spot values: expert 0 column 0 = 7 sigmoid(11.914) 8, column 2 (gate -9
  // unclamped, up 3) = -9 sigmoid(-15.318) 4.
  expectClose(out[0], 7.0 / (1.0 + std::exp(-11.914)) * 8.0);
  expectClose(out[2], -9.0 / (1.0 + std::exp(15.318)) * 4.0);

  // SiLU with the same bias; no bias; the bias alone (no epilogue).
  spec.activation = Activation();
  ASSERT_TRUE(ssmmReference(c.w, c.x.data(), 1, offsets.data(), tokens.data(),
                            2, spec, out, &err));
  for (int i = 0; i < 8; ++i)
    expectClose(out[size_t(i)], silu(c.gu(0, i), c.gu(0, 8 + i)));
  spec.bias = nullptr;
  ASSERT_TRUE(ssmmReference(c.w, c.x.data(), 1, offsets.data(), tokens.data(),
                            2, spec, out, &err));
  for (int i = 0; i < 8; ++i)
    expectClose(out[size_t(8 + i)], silu(c.acc[1][i], c.acc[1][8 + i]));
  spec = EpilogueSpec{Epilogue::None, kGptOss, &c.b};
  ASSERT_TRUE(ssmmReference(c.w, c.x.data(), 1, offsets.data(), tokens.data(),
                            2, spec, out, &err));
  ASSERT_EQ(out.size(), 32u);
  for (int e = 0; e < 2; ++e)
    for (int r = 0; r < 16; ++r)
      EXPECT_EQ(out[size_t(e * 16 + r)], c.gu(e, r));
}

TEST(SsmmReference, RefusesABiasOfAnotherSize) {
  HandCase c;
  std::vector<int32_t> offsets = {0, 1, 2};
  c.b.pop_back();
  EpilogueSpec spec{Epilogue::SiluMul, kGptOss, &c.b};
  std::vector<double> out;
  std::string err;
  EXPECT_FALSE(ssmmReference(c.w, c.x.data(), 2, offsets.data(), nullptr, 2,
                             spec, out, &err));
  EXPECT_EQ(err, "bias has 31 elements, expected experts * rows = 32");
}

namespace {

/// The expert FFN of INTERFACE.md in dense double arithmetic on unpack()ed
/// weights, independently of ssmmReference; counts the clamps in `clamps`.
std::vector<double> denseFFN(const ExpertFFN &f, const std::vector<uint16_t> &x,
                             int64_t T, const std::vector<int32_t> &ids,
                             const std::vector<float> &wts, int k,
                             ClampCounts &clamps) {
  const DType dt = f.w13->dtype;
  const int64_t E = f.w13->s.experts, H = f.w13->s.cols, I = f.w2->s.cols;
  std::vector<uint16_t> w13 = unpack(*f.w13), w2 = unpack(*f.w2);
  auto v = [dt](uint16_t bits) { return double(toFloat(bits, dt)); };
  std::vector<double> y(size_t(T * H), 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int j = 0; j < k; ++j) {
      int64_t e = std::min<int64_t>(std::max(ids[size_t(t * k + j)], 0), E - 1);
      std::vector<double> gu(static_cast<size_t>(2 * I));
      for (int64_t r = 0; r < 2 * I; ++r) {
        double acc = f.b13 ? v((*f.b13)[size_t(e * 2 * I + r)]) : 0.0;
        for (int64_t c = 0; c < H; ++c)
          acc +=
              v(w13[size_t((e * 2 * I + r) * H + c)]) * v(x[size_t(t * H + c)]);
        gu[size_t(r)] = acc;
      }
      std::vector<uint16_t> h(static_cast<size_t>(I));
      for (int64_t i = 0; i < I; ++i) {
        double g = gu[size_t(i)], u = gu[size_t(I + i)];
        clamps.gate += g > 7.0;
        clamps.upHigh += u > 7.0;
        clamps.upLow += u < -7.0;
        h[size_t(i)] = fromFloat(float(gptOss(g, u)), dt);
      }
      for (int64_t r = 0; r < H; ++r) {
        double acc = f.b2 ? v((*f.b2)[size_t(e * H + r)]) : 0.0;
        for (int64_t c = 0; c < I; ++c)
          acc += v(w2[size_t((e * H + r) * I + c)]) * v(h[size_t(c)]);
        y[size_t(t * H + r)] += double(wts[size_t(t * k + j)]) * acc;
      }
    }
  return y;
}

} // namespace

TEST(ExpertsReference, ClampedSwigluWithBiasesMatchesDenseFFN) {
  const int64_t E = 3, H = 64, I = 32, T = 9;
  const int k = 2;
  SplitMix64 rng(66);
  std::vector<uint16_t> d13(size_t(E * 2 * I * H)), d2(size_t(E * H * I)),
      x(size_t(T * H));
  for (auto &v : d13)
    v = rng.nonZero(DType::BF16, 0.05);
  for (auto &v : d2)
    v = rng.nonZero(DType::BF16, 0.05);
  for (auto &v : x)
    v = rng.nonZero(DType::BF16, 1.0);
  PackedWeight w13 = pack(d13.data(), DType::BF16, {E, 2 * I, H}, {1, 2, 32});
  PackedWeight w2 = pack(d2.data(), DType::BF16, {E, H, I}, {1, 2, 32});
  // One b13 value in 4 near +-7: many gate/up values clamp.
  std::vector<uint16_t> b13 =
                            randomBias(rng, DType::BF16, E * 2 * I, 0.1, 7, 4),
                        b2 = randomBias(rng, DType::BF16, E * H, 0.1, 0, 0);
  std::vector<int32_t> ids(size_t(T * k));
  std::vector<float> wts(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    ids[i] = int32_t(rng.below(uint64_t(E)));
    wts[i] = float(rng.uniform());
  }
  ids[0] = -1; // Clamped to expert 0, as the dispatch kernel does.
  ids[3] = int32_t(E);
  ExpertFFN ffn{&w13, &w2, kGptOss, &b13, &b2};
  std::vector<double> y;
  std::string err;
  ClampCounts got, want;
  ASSERT_TRUE(expertsReference(ffn, x.data(), T, ids.data(), wts.data(), k, y,
                               &err, &got))
      << err;
  std::vector<double> oracle = denseFFN(ffn, x, T, ids, wts, k, want);
  EXPECT_LT(relativeError(y, oracle), 1e-12);
  EXPECT_GT(want.gate, 0);
  EXPECT_GT(want.upHigh, 0);
  EXPECT_GT(want.upLow, 0);
  EXPECT_EQ(got.gate, want.gate);
  EXPECT_EQ(got.upHigh, want.upHigh);
  EXPECT_EQ(got.upLow, want.upLow);
  // The biases matter: without them the result differs.
  ExpertFFN plain{&w13, &w2, kGptOss, nullptr, nullptr};
  std::vector<double> y0;
  ASSERT_TRUE(
      expertsReference(plain, x.data(), T, ids.data(), wts.data(), k, y0));
  EXPECT_GT(relativeError(y0, y), 0.1);
}

TEST(ExpertsReference, RefusesInconsistentShapes) {
  std::vector<uint16_t> d(size_t(2 * 64 * 64), floatToBf16(0.5f));
  PackedWeight w13 = pack(d.data(), DType::BF16, {2, 64, 64}, {1, 2, 32});
  PackedWeight w2 = pack(d.data(), DType::BF16, {2, 64, 64}, {1, 2, 32});
  std::vector<uint16_t> x(64, floatToBf16(1.0f)), b2(2 * 64 - 1);
  std::vector<int32_t> ids = {1};
  std::vector<float> wts = {1.0f};
  std::vector<double> y;
  std::string err;
  ExpertFFN ffn{&w13, &w2, kGptOss, nullptr, nullptr};
  EXPECT_FALSE(
      expertsReference(ffn, x.data(), 1, ids.data(), wts.data(), 1, y, &err));
  EXPECT_EQ(err, "w13 [2, 64, 64] and w2 [2, 64, 64] are not [E, 2I, H] and "
                 "[E, H, I] of one dtype");
  PackedWeight w2ok = pack(d.data(), DType::BF16, {2, 64, 32}, {1, 2, 32});
  ffn = {&w13, &w2ok, kGptOss, nullptr, &b2};
  EXPECT_FALSE(
      expertsReference(ffn, x.data(), 1, ids.data(), wts.data(), 1, y, &err));
  EXPECT_EQ(err, "w2: bias has 127 elements, expected experts * rows = 128");
  ffn.w2 = nullptr;
  EXPECT_FALSE(
      expertsReference(ffn, x.data(), 1, ids.data(), wts.data(), 1, y, &err));
  EXPECT_EQ(err, "w13 and w2 are required");
}

TEST(Helpers, RandomBiasPutsOneInNNearTheLimit) {
  SplitMix64 rng(3);
  std::vector<uint16_t> b = randomBias(rng, DType::BF16, 4096, 0.5, 7.0, 16);
  ASSERT_EQ(b.size(), 4096u);
  int64_t near = 0;
  for (uint16_t v : b) {
    double a = std::fabs(double(bf16ToFloat(v)));
    EXPECT_TRUE(a <= 0.5 || (a >= 6.0 - 1e-6 && a <= 8.0 + 1e-6)) << a;
    near += a > 0.5;
  }
  EXPECT_GT(near, 4096 / 16 / 2);
  EXPECT_LT(near, 4096 / 16 * 2);
  for (uint16_t v : randomBias(rng, DType::F16, 512, 0.25, 7.0, 0))
    EXPECT_LE(std::fabs(f16ToFloat(v)), 0.25);
  EXPECT_TRUE(randomBias(rng, DType::F16, -1, 0.25, 7.0, 0).empty());
}
