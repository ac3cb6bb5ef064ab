//===- Bundle.cpp - Loading and inspecting bundles (C API)
//-----------------===//

#include "RuntimeImpl.h"

#include <cstdlib>
#include <exception>
#include <memory>

using namespace samoyeds;
using namespace samoyeds::rt;

/// Checks the manifest chip against the device's compute capability.
static sy_status checkChip(const std::string &file, const std::string &chip,
                           int major, int minor) {
  std::string dev = "device compute capability " + std::to_string(major) + "." +
                    std::to_string(minor);
  bool ok = true;
  if (chip == "sm_90a" || chip == "sm_90") {
    ok = major == 9 && minor == 0;
  } else {
    // sm_XY[a]: the device must be at least X.Y.
    int want = std::atoi(chip.c_str() + 3);
    ok = want > 0 && major * 10 + minor >= want;
    if (chip.back() == 'a')
      ok = ok && major * 10 + minor == want;
  }
  if (ok)
    return SY_OK;
  return setError(SY_ERR_UNSUPPORTED_CHIP, file + ": chip: bundle targets " +
                                               chip + " but the " + dev +
                                               " cannot run it");
}

static sy_status loadModule(sy_bundle &b) {
  const cu::Driver &d = *b.driver;
  const Manifest &m = b.manifest;
  std::string file = b.dir + "/manifest.json";
  std::string errors, torn;
  auto tryLoad = [&](const std::string &name, const char *what) -> bool {
    std::string path = b.dir + "/" + name;
    std::string image;
    if (!readFile(path, image)) {
      errors += std::string(errors.empty() ? "" : "; ") + "cannot read " + path;
      return false;
    }
    // The file may have changed since loadManifest checked it: check the
    // bytes that are loaded, and refuse them rather than fall back.
    if (!checkFileContents(m, file, name, image, torn))
      return false;
    std::vector<char> errLog(16384, 0), infoLog(16384, 0);
    int opts[4] = {
        cu::CU_JIT_ERROR_LOG_BUFFER, cu::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
        cu::CU_JIT_INFO_LOG_BUFFER, cu::CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
    void *vals[4] = {errLog.data(), (void *)(uintptr_t)(errLog.size() - 1),
                     infoLog.data(), (void *)(uintptr_t)(infoLog.size() - 1)};
    cu::CUresult r =
        d.cuModuleLoadDataEx(&b.module, image.c_str(), 4, opts, vals);
    if (r == cu::CUDA_SUCCESS)
      return true;
    b.module = nullptr;
    errors += std::string(errors.empty() ? "" : "; ") + "loading " + what +
              " " + path + ": " + cu::describe(d, "cuModuleLoadDataEx", r);
    if (errLog[0])
      errors += "; JIT log: " + std::string(errLog.data());
    return false;
  };
  bool loaded = false;
  if (!m.cubin.empty() && fileExists(b.dir + "/" + m.cubin))
    loaded = tryLoad(m.cubin, "cubin");
  if (!loaded && torn.empty())
    loaded = tryLoad(m.module, "PTX");
  if (!torn.empty())
    return setError(SY_ERR_MANIFEST, torn);
  if (!loaded)
    return setError(SY_ERR_CUDA, file + ": " + errors);
  for (size_t i = 0; i < m.launches.size(); ++i) {
    const LaunchDesc &l = m.launches[i];
    std::string field = file + ": launches[" + std::to_string(i) + "].";
    cu::CUfunction fn = nullptr;
    cu::CUresult r = d.cuModuleGetFunction(&fn, b.module, l.kernel.c_str());
    if (r != cu::CUDA_SUCCESS)
      return setError(SY_ERR_CUDA,
                      field + "kernel: '" + l.kernel +
                          "': " + cu::describe(d, "cuModuleGetFunction", r));
    if (l.smem > 48 * 1024) {
      // The most shared memory (least L1): kernels whose blocks share an SM
      // (a decode variant's two) fit together only then.
      r = d.cuFuncSetAttribute(
          fn, cu::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, int(l.smem));
      if (r == cu::CUDA_SUCCESS)
        r = d.cuFuncSetAttribute(
            fn, cu::CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT,
            cu::CU_SHAREDMEM_CARVEOUT_MAX_SHARED);
      if (r != cu::CUDA_SUCCESS)
        return setError(SY_ERR_CUDA,
                        field + "smem: " + std::to_string(l.smem) +
                            " bytes for '" + l.kernel +
                            "': " + cu::describe(d, "cuFuncSetAttribute", r));
    }
    b.functions.push_back(fn);
  }
  return SY_OK;
}

/// The start of sy_bundle_open and sy_bundle_load (`fn`): clears `*out`,
/// checks the arguments and reads the manifest of `dir` into a new bundle
/// `b`; the error is set when it fails.
static sy_status readBundle(const char *fn, const char *dir, sy_bundle **out,
                            std::unique_ptr<sy_bundle> &b) {
  if (out)
    *out = nullptr;
  if (!dir || !out)
    return setError(SY_ERR_INVALID_ARGUMENT,
                    std::string(fn) + ": dir and out must not be NULL");
  b = std::make_unique<sy_bundle>();
  b->dir = dir;
  std::string err;
  sy_status st = loadManifest(b->dir, b->manifest, err);
  return st == SY_OK ? SY_OK : setError(st, err);
}

extern "C" {

sy_status sy_bundle_open(const char *dir, sy_bundle **out){SY_GUARD({
  std::unique_ptr<sy_bundle> b;
  sy_status st = readBundle("sy_bundle_open", dir, out, b);
  if (st != SY_OK)
    return st;
  *out = b.release();
  return clearError();
})}

sy_status sy_bundle_load(const char *dir, sy_bundle **out){SY_GUARD({
  std::unique_ptr<sy_bundle> b;
  sy_status st = readBundle("sy_bundle_load", dir, out, b);
  if (st != SY_OK)
    return st;
  b->driver = driverOrError(st);
  if (!b->driver)
    return st;
  st = checkChip(b->dir + "/manifest.json", b->manifest.chip,
                 b->driver->ccMajor, b->driver->ccMinor);
  if (st != SY_OK)
    return st;
  st = loadModule(*b);
  if (st != SY_OK) {
    if (b->module)
      b->driver->cuModuleUnload(b->module);
    return st;
  }
  *out = b.release();
  return clearError();
})}

sy_status sy_bundle_destroy(sy_bundle *bundle) {
  if (!bundle)
    return clearError();
  SY_GUARD({
    if (bundle->module && bundle->driver) {
      std::string err;
      if (cu::getDriver(err))
        bundle->driver->cuModuleUnload(bundle->module);
    }
    delete bundle;
    return clearError();
  })
}

#define SY_CHECK_ARGS(cond, fn)                                                \
  if (!(cond))                                                                 \
    return setError(SY_ERR_INVALID_ARGUMENT, fn ": NULL argument");

sy_status sy_bundle_chip(const sy_bundle *bundle, const char **chip) {
  SY_CHECK_ARGS(bundle && chip, "sy_bundle_chip")
  *chip = bundle->manifest.chip.c_str();
  return clearError();
}

sy_status sy_bundle_manifest_string(const sy_bundle *bundle, const char *key,
                                    const char **value) {
  SY_CHECK_ARGS(bundle && key && value, "sy_bundle_manifest_string")
  const json::Value *v = bundle->manifest.root.get(key);
  if (!v || !v->isString())
    return setError(SY_ERR_NOT_FOUND, bundle->dir +
                                          "/manifest.json: no string field '" +
                                          std::string(key) + "'");
  *value = v->string.c_str();
  return clearError();
}

sy_status sy_bundle_num_symbols(const sy_bundle *bundle, int32_t *count) {
  SY_CHECK_ARGS(bundle && count, "sy_bundle_num_symbols")
  *count = int32_t(bundle->manifest.symbols.size());
  return clearError();
}

sy_status sy_bundle_symbol_name(const sy_bundle *bundle, int32_t index,
                                const char **name) {
  SY_CHECK_ARGS(bundle && name, "sy_bundle_symbol_name")
  if (index < 0 || size_t(index) >= bundle->manifest.symbols.size())
    return setError(SY_ERR_NOT_FOUND,
                    "symbol index " + std::to_string(index) + " out of range");
  *name = bundle->manifest.symbols[size_t(index)].c_str();
  return clearError();
}

sy_status sy_bundle_num_buffers(const sy_bundle *bundle, int32_t *count) {
  SY_CHECK_ARGS(bundle && count, "sy_bundle_num_buffers")
  *count = int32_t(bundle->manifest.buffers.size());
  return clearError();
}

sy_status sy_bundle_buffer_info(const sy_bundle *bundle, int32_t index,
                                const char **name, sy_buffer_kind *kind,
                                sy_dtype *dtype) {
  SY_CHECK_ARGS(bundle, "sy_bundle_buffer_info")
  if (index < 0 || size_t(index) >= bundle->manifest.buffers.size())
    return setError(SY_ERR_NOT_FOUND,
                    "buffer index " + std::to_string(index) + " out of range");
  const BufferDesc &b = bundle->manifest.buffers[size_t(index)];
  if (name)
    *name = b.name.c_str();
  if (kind)
    *kind = b.kind;
  if (dtype)
    *dtype = b.dtype;
  return clearError();
}

sy_status sy_bundle_buffer_bytes(const sy_bundle *bundle, const char *name,
                                 const char *const *symbol_names,
                                 const int64_t *values, int32_t count,
                                 uint64_t *bytes){SY_CHECK_ARGS(
    bundle && name && bytes && (count == 0 || (symbol_names && values)),
    "sy_bundle_buffer_bytes") SY_GUARD({
  const Manifest &m = bundle->manifest;
  int idx = m.findBuffer(name);
  if (idx < 0)
    return setError(SY_ERR_NOT_FOUND, "no buffer '" + std::string(name) +
                                          "' in " + bundle->dir +
                                          "/manifest.json");
  const BufferDesc &b = m.buffers[size_t(idx)];
  if (b.kind == SY_BUFFER_WEIGHT) {
    *bytes = uint64_t(b.bytes);
    return clearError();
  }
  std::vector<int64_t> syms(m.symbols.size(), -1);
  for (int32_t i = 0; i < count; ++i) {
    int s = symbol_names[i] ? m.findSymbol(symbol_names[i]) : -1;
    if (s < 0)
      return setError(
          SY_ERR_NOT_FOUND,
          "unknown symbol '" +
              std::string(symbol_names[i] ? symbol_names[i] : "(null)") + "'");
    if (values[i] < 0)
      return setError(SY_ERR_INVALID_ARGUMENT,
                      "symbol '" + std::string(symbol_names[i]) +
                          "' is negative");
    syms[size_t(s)] = values[i];
  }
  for (const ShapeDim &d : b.shape)
    if (d.symbol >= 0 && syms[size_t(d.symbol)] < 0)
      return setError(SY_ERR_NOT_READY, "buffer '" + b.name +
                                            "' needs symbol '" +
                                            m.symbols[size_t(d.symbol)] + "'");
  int64_t elements, total;
  std::string err;
  if (!bufferSize(m, b, syms, elements, total, err))
    return setError(SY_ERR_INVALID_ARGUMENT, "sy_bundle_buffer_bytes: " + err);
  *bytes = uint64_t(total);
  return clearError();
})}

sy_status sy_bundle_buffer_alignment(const sy_bundle *bundle, const char *name,
                                     uint64_t *bytes){
    SY_CHECK_ARGS(bundle && name && bytes,
                  "sy_bundle_buffer_alignment") SY_GUARD({
      const Manifest &m = bundle->manifest;
      int idx = m.findBuffer(name);
      if (idx < 0)
        return setError(SY_ERR_NOT_FOUND, "sy_bundle_buffer_alignment: no "
                                          "buffer '" +
                                              std::string(name) + "' in " +
                                              bundle->dir + "/manifest.json");
      *bytes = m.buffers[size_t(idx)].align;
      return clearError();
    })}

sy_status sy_bundle_num_weights(const sy_bundle *bundle, int32_t *count) {
  SY_CHECK_ARGS(bundle && count, "sy_bundle_num_weights")
  *count = int32_t(bundle->manifest.weights.size());
  return clearError();
}

sy_status sy_bundle_weight_info(const sy_bundle *bundle, int32_t index,
                                sy_weight_info *info) {
  SY_CHECK_ARGS(bundle && info, "sy_bundle_weight_info")
  if (index < 0 || size_t(index) >= bundle->manifest.weights.size())
    return setError(SY_ERR_NOT_FOUND,
                    "weight index " + std::to_string(index) + " out of range");
  samoyeds::rt::fillWeightInfo(bundle->manifest.weights[size_t(index)], info);
  return clearError();
}

sy_status sy_bundle_find_weight(const sy_bundle *bundle, const char *name,
                                sy_weight_info *info) {
  SY_CHECK_ARGS(bundle && name && info, "sy_bundle_find_weight")
  int idx = bundle->manifest.findWeight(name);
  if (idx < 0)
    return setError(SY_ERR_NOT_FOUND, "no weight '" + std::string(name) +
                                          "' in " + bundle->dir +
                                          "/manifest.json");
  samoyeds::rt::fillWeightInfo(bundle->manifest.weights[size_t(idx)], info);
  return clearError();
}

} // extern "C"
