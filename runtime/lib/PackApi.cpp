//===- PackApi.cpp - Packing and unpacking through the C API
//---------------===//
//
// Thin wrappers of samoyeds::rt::validate/pack/unpack/relayout (Format.cpp),
// for callers without C++ (the Python package).
//
//===----------------------------------------------------------------------===//

#include "RuntimeImpl.h"
#include "WeightFile.h"

#include <array>
#include <cstring>
#include <exception>
#include <memory>

using namespace samoyeds;
using namespace samoyeds::rt;

namespace {
/// Converts a weight element type; SY_ERR_INVALID_ARGUMENT naming `fn` for
/// anything but bf16 and f16.
sy_status weightDtype(const char *fn, int dtype, DType &out) {
  if (dtype != SY_DTYPE_BF16 && dtype != SY_DTYPE_F16)
    return setError(SY_ERR_INVALID_ARGUMENT,
                    std::string(fn) + ": unsupported dtype " +
                        std::to_string(dtype) +
                        " (weights are SY_DTYPE_BF16 or SY_DTYPE_F16)");
  out = dtype == SY_DTYPE_BF16 ? DType::BF16 : DType::F16;
  return SY_OK;
}

/// Converts and validates the parameters shared by the packing calls: the
/// layout, then the shape and n:m:v against Format.md with that layout's
/// rules. Errors name `fn` and the rule.
sy_status checkParams(const char *fn, int64_t experts, int64_t rows,
                      int64_t cols, int n, int m, int v, int layout,
                      SSShape &shape, SSParams &params, WeightLayout &out) {
  if (!layoutFromC(layout, out))
    return setError(SY_ERR_INVALID_ARGUMENT,
                    std::string(fn) + ": unknown layout " +
                        std::to_string(layout) +
                        " (SY_LAYOUT_MMA_SP, SY_LAYOUT_WGMMA or "
                        "SY_LAYOUT_WGMMA_HALVES)");
  shape = {experts, rows, cols};
  params = {n, m, v};
  std::string err = validate(params, shape, out);
  if (!err.empty())
    return setError(SY_ERR_INVALID_ARGUMENT,
                    std::string(fn) +
                        ": unsupported n:m:v = " + std::to_string(n) + ":" +
                        std::to_string(m) + ":" + std::to_string(v) + " for " +
                        std::to_string(experts) + " x " + std::to_string(rows) +
                        " x " + std::to_string(cols) + ": " + err);
  if (experts > INT32_MAX || rows > (int64_t(1) << 40) / experts ||
      cols > (int64_t(1) << 40) / (rows * experts))
    return setError(SY_ERR_INVALID_ARGUMENT,
                    std::string(fn) + ": weight too large");
  return SY_OK;
}

/// Copies the components of `packed` into `w` (whose parameters and layout
/// are set) after checking their sizes against Format.md's for its layout.
sy_status copyIn(const char *fn, const sy_packed_weight &packed,
                 PackedWeight &w) {
  std::array<int64_t, 3> bytes = componentBytes(w.p, w.s, w.layout);
  uint64_t want[3] = {uint64_t(bytes[0]), uint64_t(bytes[1]),
                      uint64_t(bytes[2])};
  uint64_t got[3] = {packed.values_bytes, packed.meta_bytes,
                     packed.row_idx_bytes};
  const void *src[3] = {packed.values, packed.meta, packed.row_idx};
  for (int i = 0; i < 3; ++i) {
    std::string part = weightPartName(WeightPart(i));
    if (got[i] != want[i])
      return setError(SY_ERR_SIZE_MISMATCH,
                      std::string(fn) + ": part '" + part + "' has " +
                          std::to_string(got[i]) + " bytes, expected " +
                          std::to_string(want[i]));
    if (got[i] && !src[i])
      return setError(SY_ERR_INVALID_ARGUMENT,
                      std::string(fn) + ": part '" + part + "': NULL data");
  }
  w.values.resize(size_t(want[0] / 4));
  w.meta.resize(size_t(want[1] / 4));
  w.rowIdx.resize(size_t(want[2]));
  std::memcpy(w.values.data(), src[0], size_t(want[0]));
  std::memcpy(w.meta.data(), src[1], size_t(want[1]));
  if (want[2])
    std::memcpy(w.rowIdx.data(), src[2], size_t(want[2]));
  return SY_OK;
}

/// sy_packed_sizes[_layout], errors naming `fn`.
sy_status packedSizes(const char *fn, int64_t experts, int64_t rows,
                      int64_t cols, int n, int m, int v, int layout,
                      uint64_t *values_bytes, uint64_t *meta_bytes,
                      uint64_t *row_idx_bytes){SY_GUARD({
  SSShape s;
  SSParams p;
  WeightLayout l;
  sy_status st = checkParams(fn, experts, rows, cols, n, m, v, layout, s, p, l);
  if (st != SY_OK)
    return st;
  std::array<int64_t, 3> bytes = componentBytes(p, s, l);
  uint64_t *out[3] = {values_bytes, meta_bytes, row_idx_bytes};
  for (int i = 0; i < 3; ++i)
    if (out[i])
      *out[i] = uint64_t(bytes[size_t(i)]);
  return clearError();
})}

/// sy_pack_weight[_layout], errors naming `fn`.
sy_status packWeight(const char *fn, const void *dense, int dtype,
                     int64_t experts, int64_t rows, int64_t cols, int n, int m,
                     int v, int layout, sy_packed_buffer **out) {
  if (out)
    *out = nullptr;
  if (!dense || !out)
    return setError(SY_ERR_INVALID_ARGUMENT,
                    std::string(fn) + ": NULL argument");
  SY_GUARD({
    SSShape s;
    SSParams p;
    DType dt;
    WeightLayout l;
    sy_status st = weightDtype(fn, dtype, dt);
    if (st == SY_OK)
      st = checkParams(fn, experts, rows, cols, n, m, v, layout, s, p, l);
    if (st != SY_OK)
      return st;
    auto b = std::make_unique<sy_packed_buffer>();
    std::string err;
    b->weight = pack(static_cast<const uint16_t *>(dense), dt, s, p, &err, l);
    if (!err.empty())
      return setError(SY_ERR_INVALID_ARGUMENT, std::string(fn) + ": " + err);
    *out = b.release();
    return clearError();
  })
}
} // namespace

extern "C" {

sy_status sy_packed_sizes(int64_t experts, int64_t rows, int64_t cols, int n,
                          int m, int v, uint64_t *values_bytes,
                          uint64_t *meta_bytes, uint64_t *row_idx_bytes) {
  return packedSizes("sy_packed_sizes", experts, rows, cols, n, m, v,
                     SY_LAYOUT_MMA_SP, values_bytes, meta_bytes, row_idx_bytes);
}

sy_status sy_packed_sizes_layout(int64_t experts, int64_t rows, int64_t cols,
                                 int n, int m, int v, sy_weight_layout layout,
                                 uint64_t *values_bytes, uint64_t *meta_bytes,
                                 uint64_t *row_idx_bytes) {
  return packedSizes("sy_packed_sizes_layout", experts, rows, cols, n, m, v,
                     enumValue(layout), values_bytes, meta_bytes,
                     row_idx_bytes);
}

sy_status sy_pack_weight(const void *dense, sy_dtype dtype, int64_t experts,
                         int64_t rows, int64_t cols, int n, int m, int v,
                         sy_packed_buffer **out) {
  return packWeight("sy_pack_weight", dense, enumValue(dtype), experts, rows,
                    cols, n, m, v, SY_LAYOUT_MMA_SP, out);
}

sy_status sy_pack_weight_layout(const void *dense, sy_dtype dtype,
                                int64_t experts, int64_t rows, int64_t cols,
                                int n, int m, int v, sy_weight_layout layout,
                                sy_packed_buffer **out) {
  return packWeight("sy_pack_weight_layout", dense, enumValue(dtype), experts,
                    rows, cols, n, m, v, enumValue(layout), out);
}

sy_status sy_relayout_weight(const sy_packed_weight *packed, sy_dtype dtype,
                             int64_t experts, int64_t rows, int64_t cols, int n,
                             int m, int v, sy_weight_layout from,
                             sy_weight_layout to, sy_packed_buffer **out) {
  if (out)
    *out = nullptr;
  if (!packed || !out)
    return setError(SY_ERR_INVALID_ARGUMENT,
                    "sy_relayout_weight: NULL argument");
  SY_GUARD({
    const char *fn = "sy_relayout_weight";
    PackedWeight w;
    WeightLayout target;
    sy_status st = weightDtype(fn, enumValue(dtype), w.dtype);
    if (st == SY_OK)
      st = checkParams(fn, experts, rows, cols, n, m, v, enumValue(from), w.s,
                       w.p, w.layout);
    if (st == SY_OK)
      st = checkParams(fn, experts, rows, cols, n, m, v, enumValue(to), w.s,
                       w.p, target);
    if (st == SY_OK)
      st = copyIn(fn, *packed, w);
    if (st != SY_OK)
      return st;
    auto b = std::make_unique<sy_packed_buffer>();
    std::string err;
    b->weight = relayout(w, target, &err);
    if (!err.empty())
      return setError(SY_ERR_INVALID_ARGUMENT, std::string(fn) + ": " + err);
    *out = b.release();
    return clearError();
  })
}

sy_status sy_packed_buffer_view(const sy_packed_buffer *buffer,
                                sy_packed_weight *out) {
  if (!buffer || !out)
    return setError(SY_ERR_INVALID_ARGUMENT,
                    "sy_packed_buffer_view: NULL argument");
  const PackedWeight &w = buffer->weight;
  out->values = w.values.data();
  out->values_bytes = uint64_t(w.valuesBytes());
  out->meta = w.meta.data();
  out->meta_bytes = uint64_t(w.metaBytes());
  out->row_idx = w.rowIdx.empty() ? nullptr : w.rowIdx.data();
  out->row_idx_bytes = uint64_t(w.rowIdxBytes());
  return clearError();
}

sy_status sy_packed_buffer_info(const sy_packed_buffer *buffer,
                                sy_weight_info *info) {
  if (!buffer || !info)
    return setError(SY_ERR_INVALID_ARGUMENT,
                    "sy_packed_buffer_info: NULL argument");
  const PackedWeight &w = buffer->weight;
  samoyeds::rt::fillWeightInfo(buffer->name, w.p, w.s, w.dtype, w.layout, info);
  return clearError();
}

sy_status sy_packed_buffer_destroy(sy_packed_buffer *buffer) {
  delete buffer;
  return clearError();
}

sy_status sy_unpack_weight(const sy_packed_weight *packed, sy_dtype dtype,
                           int64_t experts, int64_t rows, int64_t cols, int n,
                           int m, int v, void *dense, uint64_t dense_bytes) {
  if (!packed || !dense)
    return setError(SY_ERR_INVALID_ARGUMENT, "sy_unpack_weight: NULL argument");
  SY_GUARD({
    const char *fn = "sy_unpack_weight";
    PackedWeight w;
    sy_status st = weightDtype(fn, enumValue(dtype), w.dtype);
    if (st == SY_OK)
      st = checkParams(fn, experts, rows, cols, n, m, v, SY_LAYOUT_MMA_SP, w.s,
                       w.p, w.layout);
    if (st == SY_OK)
      st = copyIn(fn, *packed, w);
    if (st != SY_OK)
      return st;
    uint64_t denseWant = uint64_t(experts * rows * cols) * 2;
    if (dense_bytes != denseWant)
      return setError(SY_ERR_SIZE_MISMATCH,
                      "sy_unpack_weight: dense buffer has " +
                          std::to_string(dense_bytes) + " bytes, expected " +
                          std::to_string(denseWant));
    std::string err;
    std::vector<uint16_t> out = unpack(w, &err);
    if (!err.empty())
      return setError(SY_ERR_INVALID_ARGUMENT, std::string(fn) + ": " + err);
    std::memcpy(dense, out.data(), size_t(denseWant));
    return clearError();
  })
}

} // extern "C"
