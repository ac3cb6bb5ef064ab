//===- CudaDriver.cpp - The CUDA driver API, loaded at run time
//------------===//

#include "CudaDriver.h"

#include <dlfcn.h>
#include <mutex>

namespace samoyeds {
namespace cu {

namespace {
struct Loaded {
  Driver driver{};
  bool ok = false;
  std::string error;
};
} // namespace

template <typename F>
static bool resolve(void *lib, const char *name, F &fn, std::string &error) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) {
    error = std::string("no CUDA driver/device: libcuda.so.1 lacks ") + name;
    return false;
  }
  return true;
}

static void load(Loaded &l) {
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    l.error = std::string("no CUDA driver/device: dlopen(libcuda.so.1): ") +
              (why ? why : "unknown error");
    return;
  }
  Driver &d = l.driver;
  std::string &e = l.error;
  bool ok =
      resolve(lib, "cuInit", d.cuInit, e) &&
      resolve(lib, "cuDeviceGetCount", d.cuDeviceGetCount, e) &&
      resolve(lib, "cuDeviceGet", d.cuDeviceGet, e) &&
      resolve(lib, "cuDeviceGetAttribute", d.cuDeviceGetAttribute, e) &&
      resolve(lib, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain, e) &&
      resolve(lib, "cuCtxSetCurrent", d.cuCtxSetCurrent, e) &&
      resolve(lib, "cuCtxSynchronize", d.cuCtxSynchronize, e) &&
      resolve(lib, "cuModuleLoadDataEx", d.cuModuleLoadDataEx, e) &&
      resolve(lib, "cuModuleUnload", d.cuModuleUnload, e) &&
      resolve(lib, "cuModuleGetFunction", d.cuModuleGetFunction, e) &&
      resolve(lib, "cuFuncSetAttribute", d.cuFuncSetAttribute, e) &&
      resolve(lib, "cuLaunchKernel", d.cuLaunchKernel, e) &&
      resolve(lib, "cuMemAlloc_v2", d.cuMemAlloc, e) &&
      resolve(lib, "cuMemFree_v2", d.cuMemFree, e) &&
      resolve(lib, "cuMemcpyHtoD_v2", d.cuMemcpyHtoD, e) &&
      resolve(lib, "cuMemcpyDtoH_v2", d.cuMemcpyDtoH, e) &&
      resolve(lib, "cuMemsetD8_v2", d.cuMemsetD8, e) &&
      resolve(lib, "cuStreamSynchronize", d.cuStreamSynchronize, e) &&
      resolve(lib, "cuGetErrorString", d.cuGetErrorString, e);
  if (!ok)
    return;
  d.cuLaunchKernelEx = reinterpret_cast<decltype(d.cuLaunchKernelEx)>(
      dlsym(lib, "cuLaunchKernelEx"));
  const char *prefix = "no CUDA driver/device: ";
  CUresult r = d.cuInit(0);
  if (r != CUDA_SUCCESS) {
    e = prefix + describe(d, "cuInit", r);
    return;
  }
  int count = 0;
  r = d.cuDeviceGetCount(&count);
  if (r != CUDA_SUCCESS) {
    e = prefix + describe(d, "cuDeviceGetCount", r);
    return;
  }
  if (count == 0) {
    e = std::string(prefix) + "cuDeviceGetCount reports 0 devices";
    return;
  }
  if ((r = d.cuDeviceGet(&d.device, 0)) != CUDA_SUCCESS) {
    e = prefix + describe(d, "cuDeviceGet", r);
    return;
  }
  if ((r = d.cuDeviceGetAttribute(&d.ccMajor,
                                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                                  d.device)) != CUDA_SUCCESS ||
      (r = d.cuDeviceGetAttribute(&d.ccMinor,
                                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                                  d.device)) != CUDA_SUCCESS ||
      (r = d.cuDeviceGetAttribute(&d.smCount,
                                  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                                  d.device)) != CUDA_SUCCESS) {
    e = prefix + describe(d, "cuDeviceGetAttribute", r);
    return;
  }
  if ((r = d.cuDevicePrimaryCtxRetain(&d.context, d.device)) != CUDA_SUCCESS) {
    e = prefix + describe(d, "cuDevicePrimaryCtxRetain", r);
    return;
  }
  l.ok = true;
}

const Driver *getDriver(std::string &error) {
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] { load(loaded); });
  if (!loaded.ok) {
    error = loaded.error;
    return nullptr;
  }
  CUresult r = loaded.driver.cuCtxSetCurrent(loaded.driver.context);
  if (r != CUDA_SUCCESS) {
    error = describe(loaded.driver, "cuCtxSetCurrent", r);
    return nullptr;
  }
  return &loaded.driver;
}

std::string describe(const Driver &d, const char *call, CUresult code) {
  const char *text = nullptr;
  if (d.cuGetErrorString)
    d.cuGetErrorString(code, &text);
  return std::string(call) + " failed with CUDA error " + std::to_string(code) +
         (text ? std::string(" (") + text + ")" : std::string());
}

} // namespace cu
} // namespace samoyeds
