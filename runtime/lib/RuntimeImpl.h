//===- RuntimeImpl.h - Internals behind the C API ---------------*- C++ -*-===//

#ifndef SAMOYEDS_RUNTIME_RUNTIMEIMPL_H
#define SAMOYEDS_RUNTIME_RUNTIMEIMPL_H

#include "CudaDriver.h"
#include "Manifest.h"
#include "samoyeds-c/Runtime.h"

#include <cstring>
#include <string>
#include <vector>

struct sy_bundle {
  samoyeds::rt::Manifest manifest;
  std::string dir;
  const samoyeds::cu::Driver *driver = nullptr;
  samoyeds::cu::CUmodule module = nullptr;
  /// One function per launch.
  std::vector<samoyeds::cu::CUfunction> functions;
  /// DIR/manifest.json, for messages.
  std::string manifestPath() const { return dir + "/manifest.json"; }
};

struct sy_session {
  sy_bundle *bundle = nullptr;
  /// Per buffer: memory the session owns (weights, workspaces).
  std::vector<samoyeds::cu::CUdeviceptr> ownedPtr;
  std::vector<uint64_t> ownedBytes;
  /// Per buffer: the caller's binding (inputs, outputs).
  std::vector<bool> bound;
  std::vector<samoyeds::cu::CUdeviceptr> boundPtr;
  std::vector<uint64_t> boundBytes;
  /// Per weight: whether it was uploaded.
  std::vector<bool> uploaded;
  /// Per symbol: the maximum value of sy_session_reserve (empty: none, and
  /// runs allocate workspaces as they need them).
  std::vector<int64_t> reserved;
};

namespace samoyeds {
namespace rt {

static_assert(int(WeightLayout::MmaSp) == SY_LAYOUT_MMA_SP &&
                  int(WeightLayout::Wgmma) == SY_LAYOUT_WGMMA &&
                  int(WeightLayout::WgmmaHalves) == SY_LAYOUT_WGMMA_HALVES,
              "WeightLayout and sy_weight_layout must agree");
static_assert(sizeof(void *) != 8 || sizeof(sy_weight_info) == 56,
              "sy_weight_info.layout must fit in the old tail padding");

/// The value a C caller passed for the enum parameter `e`, read as bytes:
/// any int is a valid C enum value, but loading one outside the
/// enumerators' range through the C++ enum type is undefined behaviour
/// (UBSan: "not a valid value for type").
template <typename Enum> int enumValue(const Enum &e) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized");
  int v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

/// Converts a C API layout (enumValue); false when it is not a known value.
inline bool layoutFromC(int layout, WeightLayout &out) {
  if (layout != SY_LAYOUT_MMA_SP && layout != SY_LAYOUT_WGMMA &&
      layout != SY_LAYOUT_WGMMA_HALVES)
    return false;
  out = WeightLayout(layout);
  return true;
}

/// Describes a weight (from a manifest, a weight file or a packed buffer) in
/// the C API's terms; `name` must outlive `info`.
inline void fillWeightInfo(const std::string &name, const SSParams &params,
                           const SSShape &shape, DType dtype,
                           WeightLayout layout, sy_weight_info *info) {
  info->name = name.c_str();
  info->n = params.n;
  info->m = params.m;
  info->v = params.v;
  info->experts = shape.experts;
  info->rows = shape.rows;
  info->cols = shape.cols;
  info->dtype = dtype == DType::BF16 ? SY_DTYPE_BF16 : SY_DTYPE_F16;
  info->layout = sy_weight_layout(int(layout));
}

template <typename Weight>
void fillWeightInfo(const Weight &w, sy_weight_info *info) {
  fillWeightInfo(w.name, w.params, w.shape, w.dtype, w.layout, info);
}

/// The longest message sy_last_error() returns; longer ones are cut, ending
/// in "...".
constexpr size_t kMaxErrorBytes = 16383;

/// Records `message` as the thread's last error and returns `status`.
sy_status setError(sy_status status, const std::string &message);
/// Clears the thread's last error and returns SY_OK.
sy_status clearError();
/// The driver, or SY_ERR_NO_DEVICE recorded in the thread's error.
const cu::Driver *driverOrError(sy_status &status);

} // namespace rt
} // namespace samoyeds

/// Wraps a C API body so that no C++ exception escapes.
#define SY_GUARD(...)                                                          \
  try {                                                                        \
    __VA_ARGS__                                                                \
  } catch (const std::exception &e) {                                          \
    return ::samoyeds::rt::setError(                                           \
        SY_ERR_INTERNAL, std::string("internal error: ") + e.what());          \
  } catch (...) {                                                              \
    return ::samoyeds::rt::setError(SY_ERR_INTERNAL, "internal error");        \
  }

#endif // SAMOYEDS_RUNTIME_RUNTIMEIMPL_H
