//===- Device.cpp - Errors and device helpers of the C API
//-----------------===//

#include "RuntimeImpl.h"

#include <algorithm>
#include <cstring>
#include <exception>

using namespace samoyeds;

namespace {
/// The thread's last error. A plain array, not a std::string: it has no
/// destructor, so the C API still works from static destructors and atexit
/// handlers that run after the thread-local destructors (a std::string was
/// used after being freed there).
thread_local char lastError[rt::kMaxErrorBytes + 1];
} // namespace

sy_status rt::setError(sy_status status, const std::string &message) {
  size_t n = std::min(message.size(), kMaxErrorBytes);
  std::memcpy(lastError, message.data(), n);
  if (n < message.size())
    std::memcpy(lastError + n - 3, "...", 3);
  lastError[n] = '\0';
  return status;
}

sy_status rt::clearError() {
  lastError[0] = '\0';
  return SY_OK;
}

const cu::Driver *rt::driverOrError(sy_status &status) {
  std::string err;
  const cu::Driver *d = cu::getDriver(err);
  if (!d) {
    status =
        err.compare(0, 10, "no CUDA dr") == 0 ? SY_ERR_NO_DEVICE : SY_ERR_CUDA;
    setError(status, err);
  }
  return d;
}

extern "C" {

const char *sy_last_error(void) { return lastError; }

const char *sy_status_name(sy_status status) {
  switch (rt::enumValue(status)) { // Any int may come from C.
  case SY_OK:
    return "SY_OK";
  case SY_ERR_INVALID_ARGUMENT:
    return "SY_ERR_INVALID_ARGUMENT";
  case SY_ERR_IO:
    return "SY_ERR_IO";
  case SY_ERR_MANIFEST:
    return "SY_ERR_MANIFEST";
  case SY_ERR_NO_DEVICE:
    return "SY_ERR_NO_DEVICE";
  case SY_ERR_UNSUPPORTED_CHIP:
    return "SY_ERR_UNSUPPORTED_CHIP";
  case SY_ERR_CUDA:
    return "SY_ERR_CUDA";
  case SY_ERR_NOT_FOUND:
    return "SY_ERR_NOT_FOUND";
  case SY_ERR_SIZE_MISMATCH:
    return "SY_ERR_SIZE_MISMATCH";
  case SY_ERR_NOT_READY:
    return "SY_ERR_NOT_READY";
  case SY_ERR_INTERNAL:
    return "SY_ERR_INTERNAL";
  case SY_ERR_WEIGHT_FILE:
    return "SY_ERR_WEIGHT_FILE";
  case SY_ERR_PARAM_MISMATCH:
    return "SY_ERR_PARAM_MISMATCH";
  }
  return "SY_ERR_UNKNOWN";
}

uint64_t sy_dtype_size(sy_dtype dtype) {
  switch (rt::enumValue(dtype)) { // Any int may come from C.
  case SY_DTYPE_BF16:
  case SY_DTYPE_F16:
    return 2;
  case SY_DTYPE_F32:
  case SY_DTYPE_I32:
  case SY_DTYPE_U32:
    return 4;
  case SY_DTYPE_U8:
    return 1;
  }
  return 0;
}

/// Runs one driver call with the standard error handling.
#define SY_DRIVER_CALL(call, name)                                             \
  SY_GUARD({                                                                   \
    sy_status st = SY_OK;                                                      \
    const cu::Driver *d = rt::driverOrError(st);                               \
    if (!d)                                                                    \
      return st;                                                               \
    cu::CUresult r = (call);                                                   \
    if (r != cu::CUDA_SUCCESS)                                                 \
      return rt::setError(SY_ERR_CUDA, cu::describe(*d, name, r));             \
    return rt::clearError();                                                   \
  })

sy_status sy_device_capability(int32_t *major, int32_t *minor){SY_GUARD({
  sy_status st = SY_OK;
  const cu::Driver *d = rt::driverOrError(st);
  if (!d)
    return st;
  if (major)
    *major = d->ccMajor;
  if (minor)
    *minor = d->ccMinor;
  return rt::clearError();
})}

sy_status sy_device_alloc(uint64_t bytes, uint64_t *dptr) {
  if (!dptr)
    return rt::setError(SY_ERR_INVALID_ARGUMENT,
                        "sy_device_alloc: dptr is NULL");
  *dptr = 0;
  if (bytes == 0)
    return rt::clearError();
  cu::CUdeviceptr p = 0;
  sy_status st;
  SY_GUARD({
    st = SY_OK;
    const cu::Driver *d = rt::driverOrError(st);
    if (!d)
      return st;
    cu::CUresult r = d->cuMemAlloc(&p, size_t(bytes));
    if (r != cu::CUDA_SUCCESS)
      return rt::setError(SY_ERR_CUDA, cu::describe(*d, "cuMemAlloc_v2", r) +
                                           " allocating " +
                                           std::to_string(bytes) + " bytes");
    *dptr = p;
    return rt::clearError();
  })
}

sy_status sy_device_free(uint64_t dptr) {
  if (dptr == 0)
    return rt::clearError();
  SY_DRIVER_CALL(d->cuMemFree(dptr), "cuMemFree_v2")
}

sy_status sy_memcpy_htod(uint64_t dst, const void *src, uint64_t bytes) {
  if (bytes == 0)
    return rt::clearError();
  if (!src || !dst)
    return rt::setError(SY_ERR_INVALID_ARGUMENT,
                        "sy_memcpy_htod: null pointer");
  SY_DRIVER_CALL(d->cuMemcpyHtoD(dst, src, size_t(bytes)), "cuMemcpyHtoD_v2")
}

sy_status sy_memcpy_dtoh(void *dst, uint64_t src, uint64_t bytes) {
  if (bytes == 0)
    return rt::clearError();
  if (!src || !dst)
    return rt::setError(SY_ERR_INVALID_ARGUMENT,
                        "sy_memcpy_dtoh: null pointer");
  SY_DRIVER_CALL(d->cuMemcpyDtoH(dst, src, size_t(bytes)), "cuMemcpyDtoH_v2")
}

sy_status sy_memset(uint64_t dst, uint8_t value, uint64_t bytes) {
  if (bytes == 0)
    return rt::clearError();
  if (!dst)
    return rt::setError(SY_ERR_INVALID_ARGUMENT, "sy_memset: null pointer");
  SY_DRIVER_CALL(d->cuMemsetD8(dst, value, size_t(bytes)), "cuMemsetD8_v2")
}

sy_status sy_device_sync(void) {
  SY_DRIVER_CALL(d->cuCtxSynchronize(), "cuCtxSynchronize")
}

} // extern "C"
