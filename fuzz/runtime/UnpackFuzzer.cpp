//===- UnpackFuzzer.cpp - libFuzzer target: packed weight buffers ---------===//
//
// Builds a packed weight from the input: parameters and shape (mostly ones
// Format.md allows, sometimes any integers), layout, dtype, then the values,
// meta and row_idx bytes (the input's bytes first; the rest filled with
// valid content so that corrupting a few bytes is enough). Runs what reads
// packed weights: sy_packed_sizes_layout, sy_relayout_weight,
// sy_unpack_weight, checkPacked, unpack, relayout and ssmmReference.
// Properties: the C API and the C++ functions agree on what they accept,
// relayout there and back is the identity and keeps the logical content,
// and errors follow the message rules (FuzzCommon.h).
//
//===----------------------------------------------------------------------===//

#include "FuzzCommon.h"
#include "samoyeds-c/Runtime.h"
#include "samoyeds/Runtime/Format.h"
#include "samoyeds/Runtime/Reference.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cstring>

using namespace samoyeds;
using namespace samoyeds::rt;

namespace {

struct Input {
  int64_t experts = 1, rows = 0, cols = 0;
  int n = 1, m = 1, v = 32;
  sy_weight_layout layout = SY_LAYOUT_MMA_SP;
  sy_dtype dtype = SY_DTYPE_BF16;
  std::vector<uint8_t> parts[3];
};

/// A shape Format.md allows (1 or 2 experts of at most 1024 kept rows x 256
/// columns), or one in four times any integers.
void shape(FuzzedDataProvider &in, Input &x) {
  if (in.ConsumeIntegralInRange(0, 3) == 0) {
    x.experts = in.ConsumeIntegral<int64_t>();
    x.rows = in.ConsumeIntegral<int64_t>();
    x.cols = in.ConsumeIntegral<int64_t>();
    x.n = in.ConsumeIntegral<int>();
    x.m = in.ConsumeIntegral<int>();
    x.v = in.ConsumeIntegral<int>();
    return;
  }
  x.m = in.ConsumeIntegralInRange(1, 16);
  x.n = in.ConsumeIntegralInRange(1, x.m);
  x.v = 32 * in.ConsumeIntegralInRange(1, 4);
  x.experts = in.ConsumeIntegralInRange(1, 2);
  // Groups of m rows, a multiple of 16 of them: kept rows 16 * k * n.
  x.rows = int64_t(x.m) * 16 * in.ConsumeIntegralInRange(1, 4);
  x.cols = int64_t(x.v) * in.ConsumeIntegralInRange(1, 2);
}

/// The row_idx filler byte `b` of a weight with `rowIdxBytes` bytes in its
/// layout: `j % n` for the j-th stored row of a part, valid for kept rows
/// (increasing within a group) and the wgmma layouts' padding rows alike.
uint8_t rowIdxFiller(const Input &x, uint64_t rowIdxBytes, size_t b) {
  const int64_t spans = x.cols / x.v,
                rows = int64_t(rowIdxBytes) / x.experts / spans;
  const int64_t part = x.layout == SY_LAYOUT_WGMMA_HALVES ? rows / 2 : rows;
  return uint8_t(int64_t(b) % rows % part % x.n);
}

/// The components: the sizes Format.md gives (sometimes off by a few bytes),
/// the input's bytes first, then valid filler (values 0, meta nibbles 0x4,
/// row_idx rowIdxFiller(); also the wgmma layouts' padding).
void components(FuzzedDataProvider &in, Input &x) {
  uint64_t want[3] = {0, 0, 0};
  bool valid =
      sy_packed_sizes_layout(x.experts, x.rows, x.cols, x.n, x.m, x.v, x.layout,
                             &want[0], &want[1], &want[2]) == SY_OK;
  if (!valid)
    fuzz::checkMessage(sy_last_error());
  const uint8_t filler[3] = {0, 0x44, 0};
  for (int p = 0; p < 3; ++p) {
    uint64_t bytes = valid && want[p] <= (1u << 19)
                         ? want[p]
                         : in.ConsumeIntegralInRange<uint64_t>(0, 4096);
    if (in.ConsumeIntegralInRange(0, 31) == 0)
      bytes += in.ConsumeIntegralInRange(0, 8) - 4 + (bytes < 4 ? 4 : 0);
    std::vector<uint8_t> head =
        in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, bytes));
    x.parts[p].assign(size_t(bytes), filler[p]);
    for (size_t b = 0; p == 2 && valid && want[2] && b < bytes; ++b)
      x.parts[p][b] = rowIdxFiller(x, want[2], b);
    std::copy(head.begin(), head.end(), x.parts[p].begin());
  }
}

/// Whether the components of `x` (as the weight `w`) have the bytes
/// componentBytes gives in its layout.
bool componentsHaveTheirSizes(const Input &x, const PackedWeight &w) {
  std::array<int64_t, 3> want = componentBytes(w.p, w.s, w.layout);
  for (int p = 0; p < 3; ++p)
    if (int64_t(x.parts[p].size()) != want[p])
      return false;
  return true;
}

sy_packed_weight view(const Input &x) {
  return {x.parts[0].data(), x.parts[0].size(), x.parts[1].data(),
          x.parts[1].size(), x.parts[2].data(), x.parts[2].size()};
}

/// The C++ weight of an input the C API accepted.
PackedWeight toWeight(const Input &x) {
  PackedWeight w;
  w.p = {x.n, x.m, x.v};
  w.s = {x.experts, x.rows, x.cols};
  w.dtype = x.dtype == SY_DTYPE_F16 ? DType::F16 : DType::BF16;
  w.layout = WeightLayout(int(x.layout));
  w.values.resize(x.parts[0].size() / 4);
  w.meta.resize(x.parts[1].size() / 4);
  if (!w.values.empty())
    std::memcpy(w.values.data(), x.parts[0].data(), w.values.size() * 4);
  if (!w.meta.empty())
    std::memcpy(w.meta.data(), x.parts[1].data(), w.meta.size() * 4);
  w.rowIdx = x.parts[2];
  return w;
}

/// sy_relayout_weight to mma_sp then sy_unpack_weight, as samoyeds.pack.unpack
/// does; compares with the C++ functions.
void unpackThroughTheCApi(const Input &x) {
  sy_packed_weight pw = view(x);
  sy_packed_buffer *mma = nullptr;
  sy_status st =
      sy_relayout_weight(&pw, x.dtype, x.experts, x.rows, x.cols, x.n, x.m, x.v,
                         x.layout, SY_LAYOUT_MMA_SP, &mma);
  if (st != SY_OK) {
    fuzz::checkMessage(sy_last_error());
    return;
  }
  sy_packed_weight mv;
  sy_packed_buffer_view(mma, &mv);
  std::vector<uint16_t> dense(size_t(x.experts * x.rows * x.cols));
  st = sy_unpack_weight(&mv, x.dtype, x.experts, x.rows, x.cols, x.n, x.m, x.v,
                        dense.data(), dense.size() * 2);
  std::string message = sy_last_error();
  sy_packed_buffer_destroy(mma);
  PackedWeight w = toWeight(x);
  std::string why = checkPacked(w);
  if ((st == SY_OK) != why.empty())
    fuzz::violated("sy_unpack_weight and checkPacked disagree", why);
  if (st != SY_OK) {
    fuzz::checkMessage(message);
    return;
  }
  if (unpack(w) != dense)
    fuzz::violated("unpack differs from relayout + sy_unpack_weight", "");
}

/// Relayout there and back, and the reference on both layouts.
void relayoutAndReference(const Input &x) {
  PackedWeight w = toWeight(x);
  std::string err;
  std::vector<double> y0, y1;
  std::vector<uint16_t> xin(size_t(x.cols), 0x3f80);
  int32_t offsets[4] = {0, 0, 0, 0};
  offsets[x.experts] = 1;
  bool ok0 = ssmmReference(w, xin.data(), 1, offsets, nullptr, 1,
                           Epilogue::None, y0, &err);
  if (!ok0)
    fuzz::checkMessage(err);
  PackedWeight there;
  if (!fuzz::relayoutRoundTrip(w, there))
    return;
  err.clear();
  bool ok1 = ssmmReference(there, xin.data(), 1, offsets, nullptr, 1,
                           Epilogue::None, y1, &err);
  if (ok0 != ok1 || (ok0 && y0 != y1 && y0 == y0))
    fuzz::violated("the reference depends on the layout", err);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  Input x;
  shape(in, x);
  // Enumerators only: other values are for C callers (PackApiTest covers
  // them through CCallers.c; C++ cannot pass them without UB).
  x.layout = sy_weight_layout(in.ConsumeIntegralInRange(0, 2));
  x.dtype = in.ConsumeIntegralInRange(0, 15) == 0
                ? sy_dtype(in.ConsumeIntegralInRange(2, 5))
            : in.ConsumeBool() ? SY_DTYPE_F16
                               : SY_DTYPE_BF16;
  components(in, x);
  unpackThroughTheCApi(x);
  PackedWeight w = toWeight(x);
  // The C++ functions take anything, valid or not.
  std::string err;
  std::vector<uint16_t> dense = unpack(w, &err);
  if (err != checkPacked(w) || (!err.empty() && !dense.empty()))
    fuzz::violated("unpack and checkPacked disagree", err);
  if (!err.empty())
    fuzz::checkMessage(err);
  // The reference's offsets hold up to 3 experts; its input row has `cols`
  // values, which components of their sizes bound (values hold at least
  // one byte per column) where any integers would not.
  if (validate(w.p, w.s, w.layout).empty() && x.experts <= 3 &&
      componentsHaveTheirSizes(x, w))
    relayoutAndReference(x);
  return 0;
}
