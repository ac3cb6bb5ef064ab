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

extern "C" {
// CCallers.c: calls with enum values only C may pass.
sy_status cPackWeightLayout(const void *dense, int dtype, int64_t experts,
                            int64_t rows, int64_t cols, int n, int m, int v,
                            int layout, sy_packed_buffer **out);
sy_status cPackedSizesLayout(int64_t experts, int64_t rows, int64_t cols, int n,
                             int m, int v, int layout);
sy_status cRelayoutWeight(const sy_packed_weight *packed, int dtype,
                          int64_t experts, int64_t rows, int64_t cols, int n,
                          int m, int v, int from, int to,
                          sy_packed_buffer **out);
sy_status cUnpackWeight(const sy_packed_weight *packed, int dtype,
                        int64_t experts, int64_t rows, int64_t cols, int n,
                        int m, int v, void *dense, uint64_t dense_bytes);
const char *cStatusName(int status);
uint64_t cDtypeSize(int dtype);
}

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
  EXPECT_EQ(info.layout, SY_LAYOUT_MMA_SP);

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

/// Cases that mma_sp and the wgmma layouts can hold (wgmma padding K % 128 !=
/// 0 to Kp, and kept rows to whole 64-row tiles).
class PackApiLayouts : public ::testing::TestWithParam<Case> {};

/// Packs case `c` in the wgmma layout `layout` through the C API, relays it
/// out to mma_sp and back, and compares every step with the C++ functions.
void packRelayoutAndUnpack(const Case &c, sy_weight_layout layout) {
  SCOPED_TRACE(layoutName(WeightLayout(int(layout))));
  DType dt = c.dtype == SY_DTYPE_BF16 ? DType::BF16 : DType::F16;
  std::vector<uint16_t> dense = randomDense(c.experts * c.rows * c.cols, dt, 9);
  const SSShape shape{c.experts, c.rows, c.cols};
  const SSParams params{c.n, c.m, c.v};
  PackedWeight refS = pack(dense.data(), dt, shape, params);
  PackedWeight refG =
      pack(dense.data(), dt, shape, params, nullptr, WeightLayout(int(layout)));
  ASSERT_NE(refS.values, refG.values);

  sy_packed_buffer *g = nullptr;
  ASSERT_EQ(sy_pack_weight_layout(dense.data(), c.dtype, c.experts, c.rows,
                                  c.cols, c.n, c.m, c.v, layout, &g),
            SY_OK)
      << sy_last_error();
  sy_weight_info info;
  ASSERT_EQ(sy_packed_buffer_info(g, &info), SY_OK);
  EXPECT_EQ(info.layout, layout);
  sy_packed_weight gv;
  ASSERT_EQ(sy_packed_buffer_view(g, &gv), SY_OK);
  ASSERT_EQ(gv.values_bytes, uint64_t(refG.valuesBytes()));
  EXPECT_EQ(std::memcmp(gv.values, refG.values.data(), gv.values_bytes), 0);
  EXPECT_EQ(std::memcmp(gv.meta, refG.meta.data(), gv.meta_bytes), 0);
  ASSERT_EQ(gv.row_idx_bytes, uint64_t(refG.rowIdxBytes()));
  if (gv.row_idx_bytes) {
    EXPECT_EQ(std::memcmp(gv.row_idx, refG.rowIdx.data(), gv.row_idx_bytes), 0);
  }

  // wgmma -> mma_sp is byte-identical to packing in mma_sp.
  sy_packed_buffer *s = nullptr;
  ASSERT_EQ(sy_relayout_weight(&gv, c.dtype, c.experts, c.rows, c.cols, c.n,
                               c.m, c.v, layout, SY_LAYOUT_MMA_SP, &s),
            SY_OK)
      << sy_last_error();
  ASSERT_EQ(sy_packed_buffer_info(s, &info), SY_OK);
  EXPECT_EQ(info.layout, SY_LAYOUT_MMA_SP);
  EXPECT_EQ(info.rows, c.rows);
  sy_packed_weight sv;
  ASSERT_EQ(sy_packed_buffer_view(s, &sv), SY_OK);
  ASSERT_EQ(sv.values_bytes, uint64_t(refS.valuesBytes()));
  EXPECT_EQ(std::memcmp(sv.values, refS.values.data(), sv.values_bytes), 0);
  EXPECT_EQ(std::memcmp(sv.meta, refS.meta.data(), sv.meta_bytes), 0);
  EXPECT_EQ(sv.row_idx_bytes, uint64_t(refS.rowIdxBytes()));
  if (sv.row_idx_bytes) {
    EXPECT_EQ(std::memcmp(sv.row_idx, refS.rowIdx.data(), sv.row_idx_bytes), 0);
  }

  // And back again.
  sy_packed_buffer *g2 = nullptr;
  ASSERT_EQ(sy_relayout_weight(&sv, c.dtype, c.experts, c.rows, c.cols, c.n,
                               c.m, c.v, SY_LAYOUT_MMA_SP, layout, &g2),
            SY_OK)
      << sy_last_error();
  sy_packed_weight g2v;
  ASSERT_EQ(sy_packed_buffer_view(g2, &g2v), SY_OK);
  EXPECT_EQ(std::memcmp(g2v.values, refG.values.data(), g2v.values_bytes), 0);
  EXPECT_EQ(std::memcmp(g2v.meta, refG.meta.data(), g2v.meta_bytes), 0);
  if (g2v.row_idx_bytes) {
    EXPECT_EQ(std::memcmp(g2v.row_idx, refG.rowIdx.data(), g2v.row_idx_bytes),
              0);
  }

  // Unpacking the relaid-out weight gives unpack of the C++ wgmma weight.
  std::vector<uint16_t> back(dense.size(), 0xffff);
  ASSERT_EQ(sy_unpack_weight(&sv, c.dtype, c.experts, c.rows, c.cols, c.n, c.m,
                             c.v, back.data(), back.size() * 2),
            SY_OK);
  EXPECT_EQ(back, unpack(refG));

  uint64_t vb = 0, mb = 0, rb = 0;
  ASSERT_EQ(sy_packed_sizes_layout(c.experts, c.rows, c.cols, c.n, c.m, c.v,
                                   layout, &vb, &mb, &rb),
            SY_OK);
  EXPECT_EQ(vb, gv.values_bytes);
  EXPECT_EQ(mb, gv.meta_bytes);
  EXPECT_EQ(rb, gv.row_idx_bytes);
  for (sy_packed_buffer *b : {g, s, g2})
    sy_packed_buffer_destroy(b);
}

TEST_P(PackApiLayouts, PackRelayoutAndUnpackAgreeWithCpp) {
  const Case c = GetParam();
  packRelayoutAndUnpack(c, SY_LAYOUT_WGMMA);
  // wgmma_halves where each half is whole row groups of whole groups of n.
  if (validate({c.n, c.m, c.v}, {c.experts, c.rows, c.cols},
               WeightLayout::WgmmaHalves)
          .empty())
    packRelayoutAndUnpack(c, SY_LAYOUT_WGMMA_HALVES);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PackApiLayouts,
    ::testing::Values(Case{SY_DTYPE_BF16, 2, 128, 128, 1, 2, 64},
                      Case{SY_DTYPE_F16, 1, 256, 384, 1, 4, 128},
                      Case{SY_DTYPE_BF16, 2, 64, 256, 2, 2, 32},
                      Case{SY_DTYPE_F16, 1, 256, 128, 3, 4, 64},
                      // Padded: K = 192, 320, 96.
                      Case{SY_DTYPE_BF16, 2, 128, 192, 1, 2, 64},
                      Case{SY_DTYPE_F16, 3, 128, 320, 2, 2, 32},
                      Case{SY_DTYPE_BF16, 1, 256, 96, 1, 2, 32},
                      // Padded kept rows: 80 (wgmma: 128; halves of 40:
                      // 128), 2:4 with R = 80, and K padded too.
                      Case{SY_DTYPE_BF16, 2, 160, 128, 1, 2, 64},
                      Case{SY_DTYPE_F16, 1, 80, 256, 2, 2, 64},
                      Case{SY_DTYPE_BF16, 2, 160, 160, 1, 2, 32}));

TEST(PackApi, LayoutErrorsNameTheRule) {
  std::vector<uint16_t> dense(64 * 256, 0x3f80);
  sy_packed_buffer *buf = reinterpret_cast<sy_packed_buffer *>(0x1);
  // 3:4: 48 kept rows, which wgmma would pad with 16 rows (no whole groups).
  EXPECT_EQ(sy_pack_weight_layout(dense.data(), SY_DTYPE_BF16, 1, 64, 256, 3, 4,
                                  64, SY_LAYOUT_WGMMA, &buf),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(buf, nullptr);
  std::string msg = sy_last_error();
  EXPECT_TRUE(contains(msg, "sy_pack_weight_layout: unsupported n:m:v = 3:4:64 "
                            "for 1 x 64 x 256: layout wgmma pads the 48 kept "
                            "rows to 64: n = 3 must divide 64 (padding rows "
                            "form whole groups of n)"))
      << msg;
  // The same weight packs in mma_sp.
  ASSERT_EQ(sy_pack_weight_layout(dense.data(), SY_DTYPE_BF16, 1, 64, 256, 3, 4,
                                  64, SY_LAYOUT_MMA_SP, &buf),
            SY_OK);
  sy_packed_weight view;
  ASSERT_EQ(sy_packed_buffer_view(buf, &view), SY_OK);
  sy_packed_buffer *out = reinterpret_cast<sy_packed_buffer *>(0x1);
  for (sy_weight_layout to : {SY_LAYOUT_WGMMA, SY_LAYOUT_WGMMA_HALVES}) {
    EXPECT_EQ(sy_relayout_weight(&view, SY_DTYPE_BF16, 1, 64, 256, 3, 4, 64,
                                 SY_LAYOUT_MMA_SP, to, &out),
              SY_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(out, nullptr);
    EXPECT_TRUE(contains(sy_last_error(), "sy_relayout_weight"));
    EXPECT_TRUE(contains(sy_last_error(), "n = 3 must divide 64"));
  }
  sy_packed_buffer_destroy(buf);
  // 1:2: 32 kept rows, padded to 64 (wgmma) or each half's 16 to 64
  // (wgmma_halves); halves need whole row groups (rows % 2m).
  uint64_t sizes[3] = {0, 0, 0};
  EXPECT_EQ(sy_packed_sizes_layout(1, 64, 256, 1, 2, 64, SY_LAYOUT_WGMMA,
                                   &sizes[0], &sizes[1], &sizes[2]),
            SY_OK);
  EXPECT_EQ(sizes[0], 64u * 256);
  EXPECT_EQ(sizes[2], 4u * 64);
  EXPECT_EQ(sy_packed_sizes_layout(1, 64, 256, 1, 2, 64, SY_LAYOUT_WGMMA_HALVES,
                                   &sizes[0], &sizes[1], &sizes[2]),
            SY_OK);
  EXPECT_EQ(sizes[0], 128u * 256);
  EXPECT_EQ(sizes[1], 128u * 256 / 8);
  EXPECT_EQ(sizes[2], 4u * 128);
  EXPECT_EQ(sy_packed_sizes_layout(1, 16, 256, 16, 16, 64,
                                   SY_LAYOUT_WGMMA_HALVES, nullptr, nullptr,
                                   nullptr),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(sy_last_error(),
                       "sy_packed_sizes_layout: unsupported n:m:v = 16:16:64 "
                       "for 1 x 16 x 256: layout wgmma_halves needs rows = 16 "
                       "to be a multiple of 2*m = 32 (each half whole row "
                       "groups)"))
      << sy_last_error();

  // 64 kept rows and 192 columns: wgmma pads them to 256 (values and meta;
  // row_idx keeps its 192 / 64 spans).
  uint64_t vb = 0, mb = 0, rb = 0;
  EXPECT_EQ(sy_packed_sizes_layout(1, 128, 192, 1, 2, 64, SY_LAYOUT_WGMMA, &vb,
                                   &mb, &rb),
            SY_OK)
      << sy_last_error();
  EXPECT_EQ(vb, 64u * 256);
  EXPECT_EQ(mb, 64u * 256 / 8);
  EXPECT_EQ(rb, 3u * 64);
  EXPECT_EQ(sy_packed_sizes_layout(1, 128, 192, 1, 2, 64, SY_LAYOUT_MMA_SP, &vb,
                                   &mb, &rb),
            SY_OK);
  EXPECT_EQ(vb, 64u * 192);
  EXPECT_EQ(mb, 64u * 192 / 8);
  EXPECT_EQ(rb, 3u * 64);
  EXPECT_EQ(sy_packed_sizes(1, 128, 192, 1, 2, 64, &vb, &mb, &rb), SY_OK);
  EXPECT_EQ(vb, 64u * 192);

  // Unknown layout values (from C: C++ cannot pass them without UB).
  for (int bad : {3, -1, 100}) {
    EXPECT_EQ(cPackWeightLayout(dense.data(), SY_DTYPE_BF16, 1, 64, 256, 1, 2,
                                64, bad, &buf),
              SY_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(
        contains(sy_last_error(), "unknown layout " + std::to_string(bad) +
                                      " (SY_LAYOUT_MMA_SP, SY_LAYOUT_WGMMA or "
                                      "SY_LAYOUT_WGMMA_HALVES)"))
        << sy_last_error();
    EXPECT_EQ(cPackedSizesLayout(1, 64, 256, 1, 2, 64, bad),
              SY_ERR_INVALID_ARGUMENT);
  }
  EXPECT_EQ(sy_relayout_weight(nullptr, SY_DTYPE_BF16, 1, 64, 256, 1, 2, 64,
                               SY_LAYOUT_MMA_SP, SY_LAYOUT_MMA_SP, &out),
            SY_ERR_INVALID_ARGUMENT);
}

TEST(PackApi, RelayoutChecksSizesAndArguments) {
  std::vector<uint16_t> dense = randomDense(128 * 128, DType::BF16, 4);
  sy_packed_buffer *buf = nullptr;
  ASSERT_EQ(sy_pack_weight_layout(dense.data(), SY_DTYPE_BF16, 1, 128, 128, 1,
                                  2, 64, SY_LAYOUT_WGMMA, &buf),
            SY_OK);
  sy_packed_weight view, bad;
  ASSERT_EQ(sy_packed_buffer_view(buf, &view), SY_OK);
  sy_packed_buffer *out = nullptr;
  bad = view;
  bad.values_bytes -= 4;
  EXPECT_EQ(sy_relayout_weight(&bad, SY_DTYPE_BF16, 1, 128, 128, 1, 2, 64,
                               SY_LAYOUT_WGMMA, SY_LAYOUT_MMA_SP, &out),
            SY_ERR_SIZE_MISMATCH);
  EXPECT_TRUE(contains(sy_last_error(), "sy_relayout_weight: part 'values'"))
      << sy_last_error();
  bad = view;
  bad.meta = nullptr;
  EXPECT_EQ(sy_relayout_weight(&bad, SY_DTYPE_BF16, 1, 128, 128, 1, 2, 64,
                               SY_LAYOUT_WGMMA, SY_LAYOUT_MMA_SP, &out),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sy_relayout_weight(&view, SY_DTYPE_F32, 1, 128, 128, 1, 2, 64,
                               SY_LAYOUT_WGMMA, SY_LAYOUT_MMA_SP, &out),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(sy_last_error(), "unsupported dtype"))
      << sy_last_error();
  EXPECT_EQ(sy_relayout_weight(&view, SY_DTYPE_BF16, 1, 128, 128, 1, 2, 64,
                               SY_LAYOUT_WGMMA, SY_LAYOUT_MMA_SP, nullptr),
            SY_ERR_INVALID_ARGUMENT);
  // Same layout: a copy.
  ASSERT_EQ(sy_relayout_weight(&view, SY_DTYPE_BF16, 1, 128, 128, 1, 2, 64,
                               SY_LAYOUT_WGMMA, SY_LAYOUT_WGMMA, &out),
            SY_OK);
  sy_packed_weight copy;
  ASSERT_EQ(sy_packed_buffer_view(out, &copy), SY_OK);
  EXPECT_NE(copy.values, view.values);
  EXPECT_EQ(std::memcmp(copy.values, view.values, view.values_bytes), 0);
  sy_packed_buffer_destroy(out);
  sy_packed_buffer_destroy(buf);
}

TEST(PackApi, UnpackRefusesRowIdxOutsideTheGroup) {
  // The audit's reproducer: 1 x 32 x 32, 1:2:32, row_idx all 0xff. It used to
  // write far past `out` (ASan: heap-buffer-overflow WRITE) and return SY_OK.
  std::vector<uint8_t> values(16 * 32, 0x11), meta(16 * 32 / 8, 0x44),
      rowIdx(16, 0xff);
  sy_packed_weight w = {values.data(), values.size(), meta.data(),
                        meta.size(),   rowIdx.data(), rowIdx.size()};
  std::vector<uint16_t> out(32 * 32, 0xabcd);
  EXPECT_EQ(sy_unpack_weight(&w, SY_DTYPE_BF16, 1, 32, 32, 1, 2, 32, out.data(),
                             out.size() * 2),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sy_last_error(),
               "sy_unpack_weight: row_idx: byte 0 (expert 0, span 0, kept row "
               "0) is 255, not below m = 2");
  EXPECT_EQ(out, std::vector<uint16_t>(out.size(), 0xabcd));
  // With valid row_idx the same buffers unpack.
  std::fill(rowIdx.begin(), rowIdx.end(), 1);
  EXPECT_EQ(sy_unpack_weight(&w, SY_DTYPE_BF16, 1, 32, 32, 1, 2, 32, out.data(),
                             out.size() * 2),
            SY_OK)
      << sy_last_error();
}

TEST(PackApi, UnpackRefusesUnorderedMeta) {
  std::vector<uint8_t> values(16 * 32, 0x11), meta(16 * 32 / 8, 0x44),
      rowIdx(16, 0);
  meta[7] = 0x34; // nibble 3: i0 = 3, i1 = 0
  sy_packed_weight w = {values.data(), values.size(), meta.data(),
                        meta.size(),   rowIdx.data(), rowIdx.size()};
  std::vector<uint16_t> out(32 * 32);
  EXPECT_EQ(sy_unpack_weight(&w, SY_DTYPE_BF16, 1, 32, 32, 1, 2, 32, out.data(),
                             out.size() * 2),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sy_last_error(),
               "sy_unpack_weight: meta: byte 7 (expert 0) holds nibble 0x3: "
               "2:4 metadata is i0 | i1 << 2 with i0 < i1 (0x4, 0x8, 0x9, 0xc, "
               "0xd or 0xe)");
}

TEST(PackApi, WgmmaWeightWithBadRowIdxFailsOnUnpackNotRelayout) {
  // The Python unpack path of a wgmma weight: relayout to mma_sp, unpack.
  std::vector<uint16_t> dense = randomDense(2 * 128 * 128, DType::F16, 8);
  sy_packed_buffer *buf = nullptr, *mma = nullptr;
  ASSERT_EQ(sy_pack_weight_layout(dense.data(), SY_DTYPE_F16, 2, 128, 128, 1, 2,
                                  64, SY_LAYOUT_WGMMA, &buf),
            SY_OK);
  sy_packed_weight view;
  ASSERT_EQ(sy_packed_buffer_view(buf, &view), SY_OK);
  const_cast<uint8_t *>(static_cast<const uint8_t *>(view.row_idx))[200] = 2;
  ASSERT_EQ(sy_relayout_weight(&view, SY_DTYPE_F16, 2, 128, 128, 1, 2, 64,
                               SY_LAYOUT_WGMMA, SY_LAYOUT_MMA_SP, &mma),
            SY_OK);
  sy_packed_weight mv;
  ASSERT_EQ(sy_packed_buffer_view(mma, &mv), SY_OK);
  std::vector<uint16_t> out(dense.size());
  EXPECT_EQ(sy_unpack_weight(&mv, SY_DTYPE_F16, 2, 128, 128, 1, 2, 64,
                             out.data(), out.size() * 2),
            SY_ERR_INVALID_ARGUMENT);
  // Rk = 64, 2 spans: byte 200 is expert 1, span 1, kept row 8.
  EXPECT_STREQ(sy_last_error(),
               "sy_unpack_weight: row_idx: byte 200 (expert 1, span 1, kept "
               "row 8) is 2, not below m = 2");
  sy_packed_buffer_destroy(mma);
  sy_packed_buffer_destroy(buf);
}

TEST(PackApi, SizesThatOverflowAreRefused) {
  EXPECT_EQ(sy_packed_sizes(1, int64_t(1) << 33, int64_t(1) << 31, 1, 2, 32,
                            nullptr, nullptr, nullptr),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sy_last_error(),
               "sy_packed_sizes: unsupported n:m:v = 1:2:32 for 1 x 8589934592 "
               "x 2147483648: experts x rows x cols = 1 x 8589934592 x "
               "2147483648 is too large (2-byte elements overflow a 64-bit "
               "byte count)");
  std::vector<uint16_t> out(4);
  std::vector<uint8_t> none;
  sy_packed_weight w = {none.data(), 0, none.data(), 0, none.data(), 0};
  EXPECT_EQ(sy_unpack_weight(&w, SY_DTYPE_BF16, INT32_MAX, int64_t(1) << 40,
                             int64_t(1) << 40, 1, 2, 32, out.data(), 8),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(sy_last_error(), "is too large")) << sy_last_error();
}

TEST(PackApi, PaddedWgmmaSizesAndPaddingAreChecked) {
  // The padded size overflows where the dense size does not.
  EXPECT_EQ(sy_packed_sizes_layout(1, int64_t(1) << 56, 32, 2, 2, 32,
                                   SY_LAYOUT_WGMMA, nullptr, nullptr, nullptr),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sy_last_error(),
               "sy_packed_sizes_layout: unsupported n:m:v = 2:2:32 for 1 x "
               "72057594037927936 x 32: layout wgmma pads cols = 32 to 128: "
               "experts x kept rows x padded cols = 1 x 72057594037927936 x "
               "128 is too large (the values bytes overflow a 64-bit byte "
               "count)");
  // A wgmma weight of K = 192 is passed with its padded sizes; the mma_sp
  // sizes are refused.
  std::vector<uint16_t> dense = randomDense(128 * 192, DType::BF16, 6);
  sy_packed_buffer *g = nullptr, *s = nullptr, *out = nullptr;
  ASSERT_EQ(sy_pack_weight_layout(dense.data(), SY_DTYPE_BF16, 1, 128, 192, 1,
                                  2, 64, SY_LAYOUT_WGMMA, &g),
            SY_OK);
  ASSERT_EQ(
      sy_pack_weight(dense.data(), SY_DTYPE_BF16, 1, 128, 192, 1, 2, 64, &s),
      SY_OK);
  sy_packed_weight gv, sv;
  ASSERT_EQ(sy_packed_buffer_view(g, &gv), SY_OK);
  ASSERT_EQ(sy_packed_buffer_view(s, &sv), SY_OK);
  EXPECT_EQ(gv.values_bytes, 64u * 256);
  EXPECT_EQ(sv.values_bytes, 64u * 192);
  EXPECT_EQ(sy_relayout_weight(&sv, SY_DTYPE_BF16, 1, 128, 192, 1, 2, 64,
                               SY_LAYOUT_WGMMA, SY_LAYOUT_MMA_SP, &out),
            SY_ERR_SIZE_MISMATCH);
  EXPECT_STREQ(sy_last_error(), "sy_relayout_weight: part 'values' has 12288 "
                                "bytes, expected 16384");
  // Padding that is not zero is refused where relayout would drop it.
  auto *bytes = const_cast<uint8_t *>(static_cast<const uint8_t *>(gv.values));
  // K block 1 (bytes 8192..16383) holds compressed columns 64..127, of which
  // 96.. (logical chunks 4..7) are padding; row r stores logical chunk j at
  // chunk j ^ (r % 8).
  const uint8_t saved = bytes[8192 + 128];
  bytes[8192 + 128] = uint8_t(saved + 1); // row 1, chunk 0: logical 1, a value
  EXPECT_EQ(sy_relayout_weight(&gv, SY_DTYPE_BF16, 1, 128, 192, 1, 2, 64,
                               SY_LAYOUT_WGMMA, SY_LAYOUT_MMA_SP, &out),
            SY_OK)
      << sy_last_error();
  sy_packed_buffer_destroy(out);
  out = nullptr;
  bytes[8192 + 128] = saved;
  bytes[8192 + 128 + 4 * 16] = 0x01; // row 1, physical chunk 4 = logical 5
  EXPECT_EQ(sy_relayout_weight(&gv, SY_DTYPE_BF16, 1, 128, 192, 1, 2, 64,
                               SY_LAYOUT_WGMMA, SY_LAYOUT_MMA_SP, &out),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(
      sy_last_error(),
      "sy_relayout_weight: cannot relayout from wgmma to mma_sp: "
      "values: byte 8384 (expert 0, kept row 1, compressed column 104: "
      "padding past cols = 192) is 0x01, not 0: layout wgmma pads the "
      "values with zeros");
  EXPECT_EQ(out, nullptr);
  sy_packed_buffer_destroy(g);
  sy_packed_buffer_destroy(s);
}

TEST(PackApi, EnumValuesOutsideTheEnumeratorsAreRefused) {
  // A C caller may pass any int; the runtime reads it without UB.
  std::vector<uint16_t> dense = randomDense(128 * 128, DType::BF16, 5);
  sy_packed_buffer *buf = nullptr;
  EXPECT_EQ(cPackWeightLayout(dense.data(), 77, 1, 128, 128, 1, 2, 64, 0, &buf),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sy_last_error(),
               "sy_pack_weight_layout: unsupported dtype 77 (weights are "
               "SY_DTYPE_BF16 or SY_DTYPE_F16)");
  ASSERT_EQ(cPackWeightLayout(dense.data(), SY_DTYPE_BF16, 1, 128, 128, 1, 2,
                              64, SY_LAYOUT_WGMMA, &buf),
            SY_OK);
  sy_packed_weight view;
  ASSERT_EQ(sy_packed_buffer_view(buf, &view), SY_OK);
  sy_packed_buffer *out = nullptr;
  EXPECT_EQ(cRelayoutWeight(&view, SY_DTYPE_BF16, 1, 128, 128, 1, 2, 64, 1,
                            1 << 20, &out),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sy_last_error(),
               "sy_relayout_weight: unknown layout 1048576 (SY_LAYOUT_MMA_SP, "
               "SY_LAYOUT_WGMMA or SY_LAYOUT_WGMMA_HALVES)");
  // 2 is SY_LAYOUT_WGMMA_HALVES: each half's 32 kept rows padded to 64.
  ASSERT_EQ(
      cRelayoutWeight(&view, SY_DTYPE_BF16, 1, 128, 128, 1, 2, 64, 1, 2, &out),
      SY_OK)
      << sy_last_error();
  sy_packed_weight halves;
  ASSERT_EQ(sy_packed_buffer_view(out, &halves), SY_OK);
  ASSERT_EQ(halves.values_bytes, view.values_bytes * 2);
  sy_packed_buffer_destroy(out);
  out = nullptr;
  std::vector<uint16_t> back(dense.size());
  EXPECT_EQ(cUnpackWeight(&view, -1, 1, 128, 128, 1, 2, 64, back.data(),
                          back.size() * 2),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sy_last_error(), "sy_unpack_weight: unsupported dtype -1 "
                                "(weights are SY_DTYPE_BF16 or SY_DTYPE_F16)");
  EXPECT_STREQ(cStatusName(99), "SY_ERR_UNKNOWN");
  EXPECT_STREQ(cStatusName(-1), "SY_ERR_UNKNOWN");
  EXPECT_EQ(cDtypeSize(6), 0u);
  EXPECT_EQ(cDtypeSize(1000), 0u);
  sy_packed_buffer_destroy(buf);
}

} // namespace
