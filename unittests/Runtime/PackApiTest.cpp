//===- PackApiTest.cpp - Tests of sy_pack_weight / sy_unpack_weight
//--------===//

#include "samoyeds-c/Runtime.h"
#include "samoyeds/Runtime/Format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace samoyeds::rt;

namespace {

std::vector<uint16_t> randomDense(int64_t n, DType dtype, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<uint16_t> d(static_cast<size_t>(n));
  for (auto &x : d)
    x = fromFloat(dist(rng), dtype);
  return d;
}

bool contains(const std::string &s, const std::string &what) {
  return s.find(what) != std::string::npos;
}

struct Case {
  sy_dtype dtype;
  int64_t experts, rows, cols;
  int n, m, v;
};

class PackApiRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(PackApiRoundTrip, MatchesPackAndUnpack) {
  const Case c = GetParam();
  DType dt = c.dtype == SY_DTYPE_BF16 ? DType::BF16 : DType::F16;
  std::vector<uint16_t> dense = randomDense(c.experts * c.rows * c.cols, dt, 7);
  sy_packed_buffer *buf = nullptr;
  ASSERT_EQ(sy_pack_weight(dense.data(), c.dtype, c.experts, c.rows, c.cols,
                           c.n, c.m, c.v, &buf),
            SY_OK)
      << sy_last_error();
  ASSERT_NE(buf, nullptr);

  // Byte-identical to the C++ packer.
  PackedWeight ref =
      pack(dense.data(), dt, {c.experts, c.rows, c.cols}, {c.n, c.m, c.v});
  sy_packed_weight view;
  ASSERT_EQ(sy_packed_buffer_view(buf, &view), SY_OK);
  ASSERT_EQ(view.values_bytes, uint64_t(ref.valuesBytes()));
  ASSERT_EQ(view.meta_bytes, uint64_t(ref.metaBytes()));
  ASSERT_EQ(view.row_idx_bytes, uint64_t(ref.rowIdxBytes()));
  EXPECT_EQ(std::memcmp(view.values, ref.values.data(), view.values_bytes), 0);
  EXPECT_EQ(std::memcmp(view.meta, ref.meta.data(), view.meta_bytes), 0);
  if (c.n == c.m) {
    EXPECT_EQ(view.row_idx, nullptr);
    EXPECT_EQ(view.row_idx_bytes, 0u);
  } else {
    EXPECT_EQ(std::memcmp(view.row_idx, ref.rowIdx.data(), view.row_idx_bytes),
              0);
  }

  uint64_t vb = 0, mb = 0, rb = 0;
  ASSERT_EQ(
      sy_packed_sizes(c.experts, c.rows, c.cols, c.n, c.m, c.v, &vb, &mb, &rb),
      SY_OK);
  EXPECT_EQ(vb, view.values_bytes);
  EXPECT_EQ(mb, view.meta_bytes);
  EXPECT_EQ(rb, view.row_idx_bytes);

  sy_weight_info info;
  ASSERT_EQ(sy_packed_buffer_info(buf, &info), SY_OK);
  EXPECT_STREQ(info.name, "");
  EXPECT_EQ(info.experts, c.experts);
  EXPECT_EQ(info.rows, c.rows);
  EXPECT_EQ(info.cols, c.cols);
  EXPECT_EQ(info.n, c.n);
  EXPECT_EQ(info.m, c.m);
  EXPECT_EQ(info.v, c.v);
  EXPECT_EQ(info.dtype, c.dtype);

  std::vector<uint16_t> back(dense.size(), 0xffff);
  ASSERT_EQ(sy_unpack_weight(&view, c.dtype, c.experts, c.rows, c.cols, c.n,
                             c.m, c.v, back.data(), back.size() * 2),
            SY_OK)
      << sy_last_error();
  EXPECT_EQ(back, unpack(ref));
  // Kept entries are the originals, the rest is zero.
  int64_t kept = 0;
  for (size_t i = 0; i < back.size(); ++i) {
    if (back[i] != 0) {
      EXPECT_EQ(back[i], dense[i]);
      ++kept;
    }
  }
  EXPECT_EQ(kept, c.experts * c.rows * c.cols * c.n / c.m / 2);
  EXPECT_EQ(sy_packed_buffer_destroy(buf), SY_OK);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PackApiRoundTrip,
    ::testing::Values(Case{SY_DTYPE_BF16, 2, 64, 128, 1, 2, 64},
                      Case{SY_DTYPE_F16, 3, 64, 96, 1, 4, 32},
                      Case{SY_DTYPE_BF16, 1, 32, 64, 2, 2, 32},
                      Case{SY_DTYPE_BF16, 2, 48, 64, 3, 3, 64}));

TEST(PackApi, RejectsInvalidParametersWithTheRule) {
  std::vector<uint16_t> dense(64 * 128, 0x3f80);
  sy_packed_buffer *buf = reinterpret_cast<sy_packed_buffer *>(0x1);
  EXPECT_EQ(
      sy_pack_weight(dense.data(), SY_DTYPE_BF16, 1, 64, 128, 1, 2, 48, &buf),
      SY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(buf, nullptr);
  std::string msg = sy_last_error();
  EXPECT_TRUE(contains(msg, "sy_pack_weight")) << msg;
  EXPECT_TRUE(contains(msg, "n:m:v = 1:2:48")) << msg;
  EXPECT_TRUE(contains(msg, "v = 48 must be a positive multiple of 32")) << msg;

  EXPECT_EQ(
      sy_pack_weight(dense.data(), SY_DTYPE_BF16, 1, 48, 128, 1, 2, 64, &buf),
      SY_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(sy_last_error(), "kept rows")) << sy_last_error();
  EXPECT_EQ(
      sy_pack_weight(dense.data(), SY_DTYPE_BF16, 1, 64, 128, 3, 2, 64, &buf),
      SY_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(sy_last_error(), "n = 3")) << sy_last_error();
  EXPECT_EQ(
      sy_pack_weight(dense.data(), SY_DTYPE_BF16, 1, 64, 128, 1, 17, 64, &buf),
      SY_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(sy_last_error(), "m = 17")) << sy_last_error();
  EXPECT_EQ(
      sy_pack_weight(dense.data(), SY_DTYPE_F32, 1, 64, 128, 1, 2, 64, &buf),
      SY_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(sy_last_error(), "unsupported dtype"))
      << sy_last_error();
  EXPECT_EQ(sy_pack_weight(nullptr, SY_DTYPE_BF16, 1, 64, 128, 1, 2, 64, &buf),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sy_pack_weight(dense.data(), SY_DTYPE_BF16, 1, 64, 128, 1, 2, 64,
                           nullptr),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sy_packed_sizes(0, 64, 128, 1, 2, 64, nullptr, nullptr, nullptr),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(sy_last_error(), "experts = 0")) << sy_last_error();
  EXPECT_EQ(sy_packed_buffer_destroy(nullptr), SY_OK);
  EXPECT_EQ(sy_packed_buffer_view(nullptr, nullptr), SY_ERR_INVALID_ARGUMENT);
}

TEST(PackApi, UnpackChecksSizes) {
  std::vector<uint16_t> dense = randomDense(64 * 128, DType::BF16, 3);
  sy_packed_buffer *buf = nullptr;
  ASSERT_EQ(
      sy_pack_weight(dense.data(), SY_DTYPE_BF16, 1, 64, 128, 1, 2, 64, &buf),
      SY_OK);
  sy_packed_weight view;
  ASSERT_EQ(sy_packed_buffer_view(buf, &view), SY_OK);
  std::vector<uint16_t> out(dense.size());
  sy_packed_weight bad = view;
  bad.meta_bytes -= 4;
  EXPECT_EQ(sy_unpack_weight(&bad, SY_DTYPE_BF16, 1, 64, 128, 1, 2, 64,
                             out.data(), out.size() * 2),
            SY_ERR_SIZE_MISMATCH);
  EXPECT_TRUE(contains(sy_last_error(), "part 'meta'")) << sy_last_error();
  bad = view;
  bad.row_idx = nullptr;
  EXPECT_EQ(sy_unpack_weight(&bad, SY_DTYPE_BF16, 1, 64, 128, 1, 2, 64,
                             out.data(), out.size() * 2),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sy_unpack_weight(&view, SY_DTYPE_BF16, 1, 64, 128, 1, 2, 64,
                             out.data(), 10),
            SY_ERR_SIZE_MISMATCH);
  EXPECT_TRUE(contains(sy_last_error(), "dense buffer")) << sy_last_error();
  // Other parameters change the expected sizes.
  EXPECT_EQ(sy_unpack_weight(&view, SY_DTYPE_BF16, 1, 64, 128, 1, 2, 32,
                             out.data(), out.size() * 2),
            SY_ERR_SIZE_MISMATCH);
  EXPECT_TRUE(contains(sy_last_error(), "part 'row_idx'")) << sy_last_error();
  sy_packed_buffer_destroy(buf);
}

} // namespace
