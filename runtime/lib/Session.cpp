//===- Session.cpp - Uploading, binding and launching (C API) -------------===//

#include "RuntimeImpl.h"

#include <array>
#include <climits>
#include <cstring>
#include <exception>
#include <memory>

using namespace samoyeds;
using namespace samoyeds::rt;

namespace {
/// Frees `ptr` if set; returns the driver status.
cu::CUresult release(const cu::Driver &d, cu::CUdeviceptr &ptr,
                     uint64_t &bytes) {
  cu::CUresult r = cu::CUDA_SUCCESS;
  if (ptr)
    r = d.cuMemFree(ptr);
  ptr = 0;
  bytes = 0;
  return r;
}

/// Makes `ptr` hold at least `bytes` (reallocating if smaller). With `zero`
/// a new allocation is zeroed before any launch can read it (the memset runs
/// on the legacy default stream, which the call waits for).
sy_status ensure(const cu::Driver &d, cu::CUdeviceptr &ptr, uint64_t &have,
                 uint64_t bytes, const std::string &what, bool zero = false) {
  if (have >= bytes && (ptr || bytes == 0))
    return SY_OK;
  cu::CUresult r = release(d, ptr, have);
  if (r != cu::CUDA_SUCCESS)
    return setError(SY_ERR_CUDA,
                    what + ": " + cu::describe(d, "cuMemFree_v2", r));
  if (bytes == 0)
    return SY_OK;
  r = d.cuMemAlloc(&ptr, size_t(bytes));
  if (r != cu::CUDA_SUCCESS) {
    ptr = 0;
    return setError(SY_ERR_CUDA,
                    what + ": " + cu::describe(d, "cuMemAlloc_v2", r) +
                        " allocating " + std::to_string(bytes) + " bytes");
  }
  have = bytes;
  if (!zero)
    return SY_OK;
  r = d.cuMemsetD8(ptr, 0, size_t(bytes));
  if (r == cu::CUDA_SUCCESS)
    r = d.cuStreamSynchronize(nullptr);
  if (r != cu::CUDA_SUCCESS)
    return setError(SY_ERR_CUDA,
                    what + ": " + cu::describe(d, "cuMemsetD8_v2", r));
  return SY_OK;
}

/// Reads the (name, value) pairs of `fn`'s arguments into `syms` (one value
/// per manifest symbol); every symbol must be given once, in [0, 2^31).
sy_status readSymbols(const sy_bundle &bundle, const char *fn,
                      const char *const *names, const int64_t *values,
                      int32_t count, std::vector<int64_t> &syms) {
  const Manifest &m = bundle.manifest;
  syms.assign(m.symbols.size(), -1);
  for (int32_t i = 0; i < count; ++i) {
    std::string name = names[i] ? names[i] : "(null)";
    int s = m.findSymbol(name);
    if (s < 0)
      return setError(SY_ERR_NOT_FOUND, std::string(fn) + ": unknown symbol " +
                                            json::quote(name) + " (not in " +
                                            bundle.manifestPath() + ")");
    if (values[i] < 0 || values[i] > INT32_MAX)
      return setError(SY_ERR_INVALID_ARGUMENT, std::string(fn) + ": symbol " +
                                                   json::quote(name) + " = " +
                                                   std::to_string(values[i]) +
                                                   " out of range [0, 2^31)");
    syms[size_t(s)] = values[i];
  }
  for (size_t s = 0; s < syms.size(); ++s)
    if (syms[s] < 0)
      return setError(SY_ERR_NOT_READY, std::string(fn) +
                                            ": no value for symbol '" +
                                            m.symbols[s] + "'");
  return SY_OK;
}

/// Whether `l` goes out as a programmatic dependent launch: it asks for one
/// (`pdl`) and the device has it (sm_90 and later, a driver with
/// cuLaunchKernelEx). Its kernel may then start while the kernel before it
/// finishes, and waits for that one with griddepcontrol.wait; as an ordinary
/// launch, that wait returns at once.
bool isProgrammatic(const cu::Driver &d, const LaunchDesc &l) {
  return l.pdl && d.cuLaunchKernelEx && d.ccMajor >= 9;
}

/// Launches `fn` as `l` says, on `stream`.
cu::CUresult launchKernel(const cu::Driver &d, cu::CUfunction fn,
                          const LaunchDesc &l, const unsigned grid[3],
                          cu::CUstream stream, std::vector<void *> &params) {
  void **args = params.empty() ? nullptr : params.data();
  if (!isProgrammatic(d, l))
    return d.cuLaunchKernel(fn, grid[0], grid[1], grid[2], l.block[0],
                            l.block[1], l.block[2], unsigned(l.smem), stream,
                            args, nullptr);
  cu::CUlaunchAttribute attr{};
  attr.id = cu::CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
  attr.value.programmaticStreamSerializationAllowed = 1;
  cu::CUlaunchConfig config{
      grid[0],    grid[1],          grid[2], l.block[0], l.block[1],
      l.block[2], unsigned(l.smem), stream,  &attr,      1};
  return d.cuLaunchKernelEx(&config, fn, args, nullptr);
}
} // namespace

extern "C" {

sy_status sy_session_create(sy_bundle *bundle, sy_session **out) {
  if (out)
    *out = nullptr;
  if (!bundle || !out)
    return setError(SY_ERR_INVALID_ARGUMENT,
                    "sy_session_create: NULL argument");
  if (!bundle->module)
    return setError(SY_ERR_NOT_READY,
                    "sy_session_create: bundle " + bundle->dir +
                        " was opened without a device (use sy_bundle_load)");
  SY_GUARD({
    auto s = std::make_unique<sy_session>();
    size_t nb = bundle->manifest.buffers.size();
    s->bundle = bundle;
    s->ownedPtr.assign(nb, 0);
    s->ownedBytes.assign(nb, 0);
    s->bound.assign(nb, false);
    s->boundPtr.assign(nb, 0);
    s->boundBytes.assign(nb, 0);
    s->uploaded.assign(bundle->manifest.weights.size(), false);
    *out = s.release();
    return clearError();
  })
}

sy_status sy_session_destroy(sy_session *session) {
  if (!session)
    return clearError();
  SY_GUARD({
    std::unique_ptr<sy_session> s(session);
    sy_status st = SY_OK;
    const cu::Driver *d = driverOrError(st);
    if (!d)
      return st;
    std::string errors;
    for (size_t i = 0; i < s->ownedPtr.size(); ++i) {
      cu::CUresult r = release(*d, s->ownedPtr[i], s->ownedBytes[i]);
      if (r != cu::CUDA_SUCCESS)
        errors = cu::describe(*d, "cuMemFree_v2", r);
    }
    if (!errors.empty())
      return setError(SY_ERR_CUDA, "sy_session_destroy: " + errors);
    return clearError();
  })
}

sy_status sy_session_upload_weight(sy_session *session, const char *weight,
                                   const sy_packed_weight *packed) {
  if (!session || !weight || !packed)
    return setError(SY_ERR_INVALID_ARGUMENT,
                    "sy_session_upload_weight: NULL argument");
  SY_GUARD({
    const Manifest &m = session->bundle->manifest;
    std::string file = session->bundle->manifestPath();
    int wi = m.findWeight(weight);
    if (wi < 0)
      return setError(SY_ERR_NOT_FOUND, "sy_session_upload_weight: no weight " +
                                            json::quote(weight) + " in " +
                                            file);
    const WeightDesc &w = m.weights[size_t(wi)];
    const void *src[3] = {packed->values, packed->meta, packed->row_idx};
    uint64_t got[3] = {packed->values_bytes, packed->meta_bytes,
                       packed->row_idx_bytes};
    std::array<int64_t, 3> want = componentBytes(w.params, w.shape, w.layout);
    for (int p = 0; p < 3; ++p) {
      std::string part = weightPartName(WeightPart(p));
      if (got[p] != uint64_t(want[p]))
        return setError(SY_ERR_SIZE_MISMATCH,
                        "weight '" + w.name + "' part '" + part + "': got " +
                            std::to_string(got[p]) + " bytes, " + file +
                            " expects " + std::to_string(want[p]));
      if (got[p] && !src[p])
        return setError(SY_ERR_INVALID_ARGUMENT, "weight '" + w.name +
                                                     "' part '" + part +
                                                     "': NULL data");
    }
    // The kernels index with row_idx and meta, and multiply the wgmma
    // padding: refuse what they cannot take.
    int bad;
    std::string err = checkContent(static_cast<const uint8_t *>(src[0]),
                                   static_cast<const uint8_t *>(src[1]),
                                   static_cast<const uint8_t *>(src[2]),
                                   w.params, w.shape, w.layout, bad);
    if (!err.empty())
      return setError(SY_ERR_INVALID_ARGUMENT,
                      "weight '" + w.name + "' part '" +
                          weightPartName(WeightPart(bad)) + "': " + err);
    sy_status st = SY_OK;
    const cu::Driver *d = driverOrError(st);
    if (!d)
      return st;
    session->uploaded[size_t(wi)] = false;
    for (int p = 0; p < 3; ++p) {
      int bi = w.parts[p];
      if (bi < 0 || got[p] == 0)
        continue;
      std::string what = "weight '" + w.name + "' part '" +
                         weightPartName(WeightPart(p)) + "'";
      st = ensure(*d, session->ownedPtr[size_t(bi)],
                  session->ownedBytes[size_t(bi)], got[p], what);
      if (st != SY_OK)
        return st;
      cu::CUresult r = d->cuMemcpyHtoD(session->ownedPtr[size_t(bi)], src[p],
                                       size_t(got[p]));
      if (r != cu::CUDA_SUCCESS)
        return setError(SY_ERR_CUDA,
                        what + ": " + cu::describe(*d, "cuMemcpyHtoD_v2", r));
    }
    session->uploaded[size_t(wi)] = true;
    return clearError();
  })
}

sy_status sy_session_bind(sy_session *session, const char *buffer,
                          uint64_t dptr, uint64_t bytes) {
  if (!session || !buffer)
    return setError(SY_ERR_INVALID_ARGUMENT, "sy_session_bind: NULL argument");
  SY_GUARD({
    const Manifest &m = session->bundle->manifest;
    int bi = m.findBuffer(buffer);
    if (bi < 0)
      return setError(SY_ERR_NOT_FOUND,
                      "sy_session_bind: no buffer '" + std::string(buffer) +
                          "' in " + session->bundle->dir + "/manifest.json");
    const BufferDesc &b = m.buffers[size_t(bi)];
    if (b.kind != SY_BUFFER_INPUT && b.kind != SY_BUFFER_OUTPUT)
      return setError(SY_ERR_INVALID_ARGUMENT,
                      "sy_session_bind: buffer '" + b.name + "' is a " +
                          (b.kind == SY_BUFFER_WEIGHT
                               ? "weight (use sy_session_upload_weight)"
                               : "workspace (the runtime allocates it)"));
    if (dptr == 0 && bytes != 0)
      return setError(SY_ERR_INVALID_ARGUMENT,
                      "sy_session_bind: buffer '" + b.name +
                          "': null pointer with non-zero size");
    // A misaligned address would fault in a kernel (and leave the context
    // unusable): refuse it here.
    uint64_t align = b.align;
    if (dptr % align != 0)
      return setError(SY_ERR_INVALID_ARGUMENT,
                      "sy_session_bind: buffer '" + b.name + "' at address " +
                          std::to_string(dptr) + " is not " +
                          std::to_string(align) +
                          "-byte aligned, as the bundle's kernels read it");
    session->bound[size_t(bi)] = true;
    session->boundPtr[size_t(bi)] = dptr;
    session->boundBytes[size_t(bi)] = bytes;
    return clearError();
  })
}

sy_status sy_session_reserve(sy_session *session,
                             const char *const *symbol_names,
                             const int64_t *values, int32_t count) {
  if (!session || (count > 0 && (!symbol_names || !values)) || count < 0)
    return setError(SY_ERR_INVALID_ARGUMENT,
                    "sy_session_reserve: NULL or invalid argument");
  SY_GUARD({
    const Manifest &m = session->bundle->manifest;
    std::vector<int64_t> syms;
    sy_status st = readSymbols(*session->bundle, "sy_session_reserve",
                               symbol_names, values, count, syms);
    if (st != SY_OK)
      return st;
    std::vector<uint64_t> bytes;
    std::string why;
    if (!workspaceReservation(m, syms, bytes, why))
      return setError(SY_ERR_INVALID_ARGUMENT, "sy_session_reserve: " + why);
    const cu::Driver *d = driverOrError(st);
    if (!d)
      return st;
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (!isRuntimeOwned(m.buffers[i].kind))
        continue;
      st = ensure(*d, session->ownedPtr[i], session->ownedBytes[i], bytes[i],
                  "sy_session_reserve: workspace '" + m.buffers[i].name + "'",
                  m.buffers[i].kind == SY_BUFFER_COUNTERS);
      if (st != SY_OK)
        return st;
    }
    session->reserved = syms;
    return clearError();
  })
}

sy_status sy_session_run(sy_session *session, const char *const *symbol_names,
                         const int64_t *values, int32_t count, void *stream) {
  if (!session || (count > 0 && (!symbol_names || !values)) || count < 0)
    return setError(SY_ERR_INVALID_ARGUMENT,
                    "sy_session_run: NULL or invalid argument");
  SY_GUARD({
    const sy_bundle &bundle = *session->bundle;
    const Manifest &m = bundle.manifest;
    std::vector<int64_t> syms;
    sy_status st = readSymbols(bundle, "sy_session_run", symbol_names, values,
                               count, syms);
    if (st != SY_OK)
      return st;
    std::string over = checkReserved(m, session->reserved, syms);
    if (!over.empty())
      return setError(SY_ERR_INVALID_ARGUMENT, "sy_session_run: " + over);
    for (size_t w = 0; w < m.weights.size(); ++w)
      if (!session->uploaded[w])
        return setError(SY_ERR_NOT_READY, "sy_session_run: weight '" +
                                              m.weights[w].name +
                                              "' was not uploaded");
    const cu::Driver *d = driverOrError(st);
    if (!d)
      return st;
    // Buffers: check bindings, grow the workspaces that the selected
    // launches use, record pointer and elements.
    size_t nb = m.buffers.size();
    std::vector<cu::CUdeviceptr> ptr(nb, 0);
    std::vector<int64_t> elems(nb, 0);
    std::vector<bool> used(nb, false), selected(m.launches.size());
    for (size_t li = 0; li < m.launches.size(); ++li) {
      selected[li] = launchSelected(m.launches[li], syms);
      if (selected[li])
        for (const LaunchArg &a : m.launches[li].args)
          if (a.kind == LaunchArg::Buffer)
            used[size_t(a.index)] = true;
    }
    for (size_t i = 0; i < nb; ++i) {
      const BufferDesc &b = m.buffers[i];
      uint64_t esize = sy_dtype_size(b.dtype);
      if (b.kind == SY_BUFFER_WEIGHT) {
        ptr[i] = session->ownedPtr[i];
        elems[i] = b.bytes / int64_t(esize);
        continue;
      }
      int64_t total;
      std::string err;
      if (!bufferSize(m, b, syms, elems[i], total, err))
        return setError(SY_ERR_INVALID_ARGUMENT, "sy_session_run: " + err);
      uint64_t need = uint64_t(total);
      if (isRuntimeOwned(b.kind)) {
        if (!used[i])
          continue;
        // A reserved session never allocates in a run (CUDA graph capture).
        if (!session->reserved.empty() && session->ownedBytes[i] < need)
          return setError(SY_ERR_INTERNAL,
                          "sy_session_run: workspace '" + b.name + "' needs " +
                              std::to_string(need) + " bytes but " +
                              std::to_string(session->ownedBytes[i]) +
                              " were reserved");
        st = ensure(*d, session->ownedPtr[i], session->ownedBytes[i], need,
                    "workspace '" + b.name + "'", b.kind == SY_BUFFER_COUNTERS);
        if (st != SY_OK)
          return st;
        ptr[i] = session->ownedPtr[i];
        continue;
      }
      if (!session->bound[i])
        return setError(
            SY_ERR_NOT_READY,
            "sy_session_run: " +
                std::string(b.kind == SY_BUFFER_INPUT ? "input" : "output") +
                " buffer '" + b.name + "' is not bound");
      if (session->boundBytes[i] < need)
        return setError(SY_ERR_SIZE_MISMATCH,
                        "sy_session_run: buffer '" + b.name + "' is bound to " +
                            std::to_string(session->boundBytes[i]) +
                            " bytes but needs " + std::to_string(need) +
                            " for the given symbol values");
      ptr[i] = session->boundPtr[i];
    }
    // Launches.
    cu::CUstream cs = static_cast<cu::CUstream>(stream);
    for (size_t li = 0; li < m.launches.size(); ++li) {
      const LaunchDesc &l = m.launches[li];
      if (!selected[li])
        continue;
      unsigned grid[3];
      bool empty = false;
      for (int k = 0; k < 3; ++k) {
        // A launch is empty when a constant dimension is 0 or a symbol
        // it divides is 0 (whatever is added to the quotient).
        int64_t v = gridSize(l.grid[k], syms, d->smCount);
        int64_t limit = k == 0 ? INT32_MAX : 65535;
        if (v > limit)
          return setError(SY_ERR_INVALID_ARGUMENT,
                          bundle.manifestPath() + ": launches[" +
                              std::to_string(li) + "] '" + l.kernel +
                              "': grid dimension " + std::to_string(k) +
                              " would be " + std::to_string(v) +
                              ", more than the " + std::to_string(limit) +
                              " CUDA allows; run fewer tokens per call");
        grid[k] = unsigned(v);
        empty |= v == 0;
      }
      if (empty)
        continue;
      size_t slots = 0;
      for (const LaunchArg &a : l.args)
        slots += a.kind == LaunchArg::Buffer ? 5 : 1;
      std::vector<uint64_t> storage(slots, 0);
      std::vector<void *> params(slots, nullptr);
      size_t k = 0;
      for (const LaunchArg &a : l.args) {
        if (a.kind == LaunchArg::Buffer) {
          size_t bi = size_t(a.index);
          storage[k] = ptr[bi];     // allocated pointer
          storage[k + 1] = ptr[bi]; // aligned pointer
          storage[k + 2] = 0;       // offset
          // size, in elements of the kernel's view of the buffer
          storage[k + 3] = a.elemBytes > 0
                               ? uint64_t(elems[bi]) *
                                     sy_dtype_size(m.buffers[bi].dtype) /
                                     uint64_t(a.elemBytes)
                               : uint64_t(elems[bi]);
          storage[k + 4] = 1; // stride
          for (int j = 0; j < 5; ++j)
            params[k + j] = &storage[k + j];
          k += 5;
        } else {
          int32_t v = a.kind == LaunchArg::Symbol
                          ? int32_t(syms[size_t(a.index)])
                          : a.value;
          std::memcpy(&storage[k], &v, sizeof(v));
          params[k] = &storage[k];
          k += 1;
        }
      }
      cu::CUresult r =
          launchKernel(*d, bundle.functions[li], l, grid, cs, params);
      if (r != cu::CUDA_SUCCESS)
        return setError(SY_ERR_CUDA, bundle.manifestPath() + ": launches[" +
                                         std::to_string(li) + "] '" + l.kernel +
                                         "' grid (" + std::to_string(grid[0]) +
                                         "," + std::to_string(grid[1]) + "," +
                                         std::to_string(grid[2]) + "): " +
                                         cu::describe(*d,
                                                      isProgrammatic(*d, l)
                                                          ? "cuLaunchKernelEx"
                                                          : "cuLaunchKernel",
                                                      r));
    }
    return clearError();
  })
}

} // extern "C"
