//===- PackApi.cpp - Packing and unpacking through the C API
//---------------===//
//
// Thin wrappers of samoyeds::rt::validate/pack/unpack (Format.cpp), for
// callers without C++ (the Python package).
//
//===----------------------------------------------------------------------===//

#include "RuntimeImpl.h"
#include "WeightFile.h"

#include <cstring>
#include <exception>
#include <memory>

using namespace samoyeds;
using namespace samoyeds::rt;

namespace {
/// Converts and validates the arguments shared by pack and unpack.
sy_status checkParams(const char *fn, sy_dtype dtype, int64_t experts,
                      int64_t rows, int64_t cols, int n, int m, int v,
                      SSShape &shape, SSParams &params, DType *dt) {
  if (dt)
    *dt = dtype == SY_DTYPE_BF16 ? DType::BF16 : DType::F16;
  shape = {experts, rows, cols};
  params = {n, m, v};
  std::string err = validate(params, shape);
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
} // namespace

extern "C" {

sy_status sy_packed_sizes(int64_t experts, int64_t rows, int64_t cols, int n,
                          int m, int v, uint64_t *values_bytes,
                          uint64_t *meta_bytes,
                          uint64_t *row_idx_bytes){SY_GUARD({
  SSShape s;
  SSParams p;
  sy_status st = checkParams("sy_packed_sizes", SY_DTYPE_BF16, experts, rows,
                             cols, n, m, v, s, p, nullptr);
  if (st != SY_OK)
    return st;
  if (values_bytes)
    *values_bytes = uint64_t(valuesBytesPerExpert(p, s) * experts);
  if (meta_bytes)
    *meta_bytes = uint64_t(metaBytesPerExpert(p, s) * experts);
  if (row_idx_bytes)
    *row_idx_bytes = uint64_t(rowIdxBytesPerExpert(p, s) * experts);
  return clearError();
})}

sy_status sy_pack_weight(const void *dense, sy_dtype dtype, int64_t experts,
                         int64_t rows, int64_t cols, int n, int m, int v,
                         sy_packed_buffer **out) {
  if (out)
    *out = nullptr;
  if (!dense || !out)
    return setError(SY_ERR_INVALID_ARGUMENT, "sy_pack_weight: NULL argument");
  SY_GUARD({
    if (dtype != SY_DTYPE_BF16 && dtype != SY_DTYPE_F16)
      return setError(SY_ERR_INVALID_ARGUMENT,
                      "sy_pack_weight: unsupported dtype " +
                          std::to_string(int(dtype)) +
                          " (weights are SY_DTYPE_BF16 or SY_DTYPE_F16)");
    SSShape s;
    SSParams p;
    DType dt;
    sy_status st = checkParams("sy_pack_weight", dtype, experts, rows, cols, n,
                               m, v, s, p, &dt);
    if (st != SY_OK)
      return st;
    auto b = std::make_unique<sy_packed_buffer>();
    std::string err;
    b->weight = pack(static_cast<const uint16_t *>(dense), dt, s, p, &err);
    if (!err.empty())
      return setError(SY_ERR_INVALID_ARGUMENT, "sy_pack_weight: " + err);
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
  samoyeds::rt::fillWeightInfo(buffer->name, w.p, w.s, w.dtype, info);
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
    if (dtype != SY_DTYPE_BF16 && dtype != SY_DTYPE_F16)
      return setError(SY_ERR_INVALID_ARGUMENT,
                      "sy_unpack_weight: unsupported dtype " +
                          std::to_string(int(dtype)) +
                          " (weights are SY_DTYPE_BF16 or SY_DTYPE_F16)");
    SSShape s;
    SSParams p;
    DType dt;
    sy_status st = checkParams("sy_unpack_weight", dtype, experts, rows, cols,
                               n, m, v, s, p, &dt);
    if (st != SY_OK)
      return st;
    uint64_t want[3] = {uint64_t(valuesBytesPerExpert(p, s) * experts),
                        uint64_t(metaBytesPerExpert(p, s) * experts),
                        uint64_t(rowIdxBytesPerExpert(p, s) * experts)};
    uint64_t got[3] = {packed->values_bytes, packed->meta_bytes,
                       packed->row_idx_bytes};
    const void *src[3] = {packed->values, packed->meta, packed->row_idx};
    for (int i = 0; i < 3; ++i) {
      std::string part = weightPartName(WeightPart(i));
      if (got[i] != want[i])
        return setError(SY_ERR_SIZE_MISMATCH,
                        "sy_unpack_weight: part '" + part + "' has " +
                            std::to_string(got[i]) + " bytes, expected " +
                            std::to_string(want[i]));
      if (got[i] && !src[i])
        return setError(SY_ERR_INVALID_ARGUMENT,
                        "sy_unpack_weight: part '" + part + "': NULL data");
    }
    uint64_t denseWant = uint64_t(experts * rows * cols) * 2;
    if (dense_bytes != denseWant)
      return setError(SY_ERR_SIZE_MISMATCH,
                      "sy_unpack_weight: dense buffer has " +
                          std::to_string(dense_bytes) + " bytes, expected " +
                          std::to_string(denseWant));
    PackedWeight w;
    w.p = p;
    w.s = s;
    w.dtype = dt;
    w.values.resize(size_t(want[0] / 4));
    w.meta.resize(size_t(want[1] / 4));
    w.rowIdx.resize(size_t(want[2]));
    std::memcpy(w.values.data(), src[0], size_t(want[0]));
    std::memcpy(w.meta.data(), src[1], size_t(want[1]));
    if (want[2])
      std::memcpy(w.rowIdx.data(), src[2], size_t(want[2]));
    std::vector<uint16_t> out = unpack(w);
    std::memcpy(dense, out.data(), size_t(denseWant));
    return clearError();
  })
}

} // extern "C"
