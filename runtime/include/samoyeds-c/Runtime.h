/*===- samoyeds-c/Runtime.h - C API of the Samoyeds runtime -------*- C -*-===*\
|*                                                                            *|
|* Loads a bundle written by `samoyeds-opt --samoyeds-to-bundle`, uploads     *|
|* packed weights, binds caller buffers and launches the layer's kernels.     *|
|* Every function returns an sy_status; on failure sy_last_error() describes  *|
|* what went wrong (file, field, CUDA call and code). No function aborts.     *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef SAMOYEDS_C_RUNTIME_H
#define SAMOYEDS_C_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result of every runtime call.
typedef enum sy_status {
  SY_OK = 0,
  /// A null pointer or otherwise invalid argument.
  SY_ERR_INVALID_ARGUMENT = 1,
  /// A file could not be read.
  SY_ERR_IO = 2,
  /// manifest.json is not valid JSON or violates Bundle.md.
  SY_ERR_MANIFEST = 3,
  /// The CUDA driver could not be loaded or there is no device.
  SY_ERR_NO_DEVICE = 4,
  /// The bundle targets a chip the device is not.
  SY_ERR_UNSUPPORTED_CHIP = 5,
  /// A CUDA driver call failed (the message names it and its code).
  SY_ERR_CUDA = 6,
  /// A name (buffer, weight, symbol) is not in the bundle.
  SY_ERR_NOT_FOUND = 7,
  /// Sizes disagree with the manifest (weight part, bound buffer).
  SY_ERR_SIZE_MISMATCH = 8,
  /// sy_session_run lacks a bound buffer, uploaded weight or symbol value.
  SY_ERR_NOT_READY = 9,
  /// An unexpected internal failure (e.g. out of host memory).
  SY_ERR_INTERNAL = 10,
  /// A packed weight file is truncated, corrupt or violates WeightFiles.md.
  SY_ERR_WEIGHT_FILE = 11,
  /// A weight's SS parameters, shape or dtype differ from the bundle's.
  SY_ERR_PARAM_MISMATCH = 12
} sy_status;

/// Role of a bundle buffer.
typedef enum sy_buffer_kind {
  SY_BUFFER_INPUT = 0,
  SY_BUFFER_OUTPUT = 1,
  SY_BUFFER_WEIGHT = 2,
  SY_BUFFER_WORKSPACE = 3,
  /// i32 counters the runtime allocates zeroed; the kernels that use them
  /// leave them zeroed (a split-K kernel's own reduction).
  SY_BUFFER_COUNTERS = 4
} sy_buffer_kind;

/// Element type of a bundle buffer.
typedef enum sy_dtype {
  SY_DTYPE_BF16 = 0,
  SY_DTYPE_F16 = 1,
  SY_DTYPE_F32 = 2,
  SY_DTYPE_I32 = 3,
  SY_DTYPE_U32 = 4,
  SY_DTYPE_U8 = 5
} sy_dtype;

/// Physical layout of a packed weight's values, meta and row_idx
/// (docs/Format.md). The same logical content in all; the order of words
/// differs, and the wgmma layouts add padding.
typedef enum sy_weight_layout {
  /// The `mma.sp` fragment order ("mma_sp"; the default).
  SY_LAYOUT_MMA_SP = 0,
  /// 128B-swizzled 64-row blocks for Hopper `wgmma.mma_async.sp` ("wgmma");
  /// values and metadata padded to whole 128-column blocks, and the kept
  /// rows (values, meta and row_idx) to whole 64-row tiles with zero rows
  /// (docs/Format.md).
  SY_LAYOUT_WGMMA = 1,
  /// The wgmma layout with the kept rows in two halves ("wgmma_halves"): a
  /// fused gate/up weight whose rows [0, R/2) are the gate and [R/2, R) the
  /// up projection, each half's kept rows padded to whole 64-row tiles;
  /// needs rows % (2 * m) == 0. Where neither half is padded, the same bytes
  /// as SY_LAYOUT_WGMMA.
  SY_LAYOUT_WGMMA_HALVES = 2
} sy_weight_layout;

/// A loaded bundle (manifest + module + functions).
typedef struct sy_bundle sy_bundle;
/// Device state for running a bundle: weights, bindings, workspaces.
typedef struct sy_session sy_session;

/// SS parameters and shape of one logical weight of a bundle.
typedef struct sy_weight_info {
  /// Weight name; valid while the bundle lives.
  const char *name;
  int32_t n, m, v;
  int64_t experts, rows, cols;
  /// SY_DTYPE_BF16 or SY_DTYPE_F16.
  sy_dtype dtype;
  /// Layout of the weight: the bundle's (what its kernels read), the file's
  /// (how it is stored) or the packed buffer's. Added after `dtype`, where it
  /// fills what was tail padding on LP64: the struct's size is unchanged.
  sy_weight_layout layout;
} sy_weight_info;

/// Host copies of the three components of a packed weight (see Format.md).
/// `row_idx` may be NULL with `row_idx_bytes` 0 when n == m.
typedef struct sy_packed_weight {
  const void *values;
  uint64_t values_bytes;
  const void *meta;
  uint64_t meta_bytes;
  const void *row_idx;
  uint64_t row_idx_bytes;
} sy_packed_weight;

/// Message of the last failure on the calling thread ("" if none; at most
/// 16383 bytes, longer ones end in "..."). Valid until the thread's next
/// runtime call.
const char *sy_last_error(void);
/// Name of a status ("SY_OK", "SY_ERR_MANIFEST", ...).
const char *sy_status_name(sy_status status);
/// Byte size of one element of `dtype` (0 if unknown).
uint64_t sy_dtype_size(sy_dtype dtype);

/// Reads DIR/manifest.json, validates it, checks the chip against device 0,
/// loads DIR/<cubin> if present else DIR/<module> (PTX, JIT log reported on
/// failure) and resolves every kernel. Without a driver or device it returns
/// SY_ERR_NO_DEVICE ("no CUDA driver/device: ...") after validating.
sy_status sy_bundle_load(const char *dir, sy_bundle **out);
/// Reads and validates DIR/manifest.json only (no driver, no module): enough
/// for the sy_bundle_* introspection calls, not for sessions.
sy_status sy_bundle_open(const char *dir, sy_bundle **out);
/// Unloads the module and frees the bundle (NULL is fine). Sessions of the
/// bundle must be destroyed first.
sy_status sy_bundle_destroy(sy_bundle *bundle);

/// Target chip of the manifest ("sm_90a", ...), valid while the bundle lives.
sy_status sy_bundle_chip(const sy_bundle *bundle, const char **chip);
/// Value of a top-level string field of manifest.json (e.g. "epilogue");
/// SY_ERR_NOT_FOUND if absent or not a string.
sy_status sy_bundle_manifest_string(const sy_bundle *bundle, const char *key,
                                    const char **value);
/// Number of symbols (dynamic sizes) of the bundle.
sy_status sy_bundle_num_symbols(const sy_bundle *bundle, int32_t *count);
/// Name of symbol `index`.
sy_status sy_bundle_symbol_name(const sy_bundle *bundle, int32_t index,
                                const char **name);
/// Number of buffers of the bundle.
sy_status sy_bundle_num_buffers(const sy_bundle *bundle, int32_t *count);
/// Name, kind and dtype of buffer `index`; any output pointer may be NULL.
sy_status sy_bundle_buffer_info(const sy_bundle *bundle, int32_t index,
                                const char **name, sy_buffer_kind *kind,
                                sy_dtype *dtype);
/// Bytes of buffer `name` for the given symbol values (`count` pairs);
/// fixed-size (weight) buffers ignore them.
sy_status sy_bundle_buffer_bytes(const sy_bundle *bundle, const char *name,
                                 const char *const *symbol_names,
                                 const int64_t *values, int32_t count,
                                 uint64_t *bytes);
/// The alignment, in bytes, that the bundle's kernels need of the device
/// address of buffer `name` (the largest over the launches that pass it:
/// its element size, or more where a kernel reads it in 16-byte copies or
/// vector loads); sy_session_bind refuses an address that is not a multiple.
sy_status sy_bundle_buffer_alignment(const sy_bundle *bundle, const char *name,
                                     uint64_t *bytes);
/// Number of logical weights of the bundle.
sy_status sy_bundle_num_weights(const sy_bundle *bundle, int32_t *count);
/// Parameters of weight `index`.
sy_status sy_bundle_weight_info(const sy_bundle *bundle, int32_t index,
                                sy_weight_info *info);
/// Parameters of the weight called `name`.
sy_status sy_bundle_find_weight(const sy_bundle *bundle, const char *name,
                                sy_weight_info *info);

/// Creates an execution session of `bundle` (which must outlive it).
sy_status sy_session_create(sy_bundle *bundle, sy_session **out);
/// Frees the session's weights and workspaces (NULL is fine).
sy_status sy_session_destroy(sy_session *session);
/// Copies a packed weight to the device after checking every component's
/// size against the manifest (SY_ERR_SIZE_MISMATCH names weight and part).
/// The bytes must be in the bundle weight's layout (sy_weight_info.layout
/// of sy_bundle_find_weight; sizes cannot always tell layouts apart): pack
/// with sy_pack_weight_layout or convert with sy_relayout_weight first.
/// The content the kernels index with is checked too: every row_idx byte
/// below m and increasing within its group, every meta nibble ordered, and
/// the wgmma layouts' padding the packer's (SY_ERR_INVALID_ARGUMENT naming
/// the part and the byte).
/// Synchronous; replaces an earlier upload of the same weight.
sy_status sy_session_upload_weight(sy_session *session, const char *weight,
                                   const sy_packed_weight *packed);
/// Binds the caller's device buffer `dptr` of `bytes` bytes to the input or
/// output buffer `buffer`.
sy_status sy_session_bind(sy_session *session, const char *buffer,
                          uint64_t dptr, uint64_t bytes);
/// Sizes the session's workspaces up front for every run whose symbol values
/// are at most the given ones (every symbol of the bundle, e.g. T = max_tokens
/// and P = max_tokens * top_k for a layer): each workspace of every launch
/// variant is allocated at its size for these values (synchronous; call it
/// outside any CUDA graph capture). Afterwards sy_session_run never allocates,
/// frees or synchronises, so runs can be captured in a CUDA graph at any
/// values up to the maximum, with no earlier eager run; a run above it fails
/// with SY_ERR_INVALID_ARGUMENT naming the symbol. A later call replaces the
/// maximum (memory only grows). Without a call, runs allocate as needed.
sy_status sy_session_reserve(sy_session *session,
                             const char *const *symbol_names,
                             const int64_t *values, int32_t count);
/// Launches every kernel of the bundle in order on `stream` (a CUstream;
/// NULL is the default stream) for the given symbol values. Workspaces are
/// allocated or grown as needed, unless sy_session_reserve sized them (then
/// values above its maximum are refused); bound buffers are checked against
/// the sizes the symbols imply. Launches with an empty grid are skipped. The
/// host is not synchronised. The only host-side choices depend on the symbol
/// values (which launch variants run), never on device data.
sy_status sy_session_run(sy_session *session, const char *const *symbol_names,
                         const int64_t *values, int32_t count, void *stream);

/// Reads the packed weight file `path` (docs/WeightFiles.md) and uploads,
/// for every weight W of the bundle, the file's weight `prefix` + W (prefix
/// may be NULL or ""). Everything is checked before the first upload (see
/// sy_bundle_check_weights); errors name the file and the tensor. A weight
/// stored in another layout than the bundle's is relaid out on the host
/// (its words rearranged, the wgmma layouts' K and row padding written or
/// dropped) before the upload.
sy_status sy_session_load_weights(sy_session *session, const char *path,
                                  const char *prefix);

/*===----------------------------------------------------------------------===*\
|* Packing (host only; no device needed)                                      *|
\*===----------------------------------------------------------------------===*/

/// A packed weight owned by the runtime (from sy_pack_weight or
/// sy_weight_file_read_weight).
typedef struct sy_packed_buffer sy_packed_buffer;

/// Byte sizes of the three components of a packed weight of `experts`
/// matrices of `rows` x `cols` with parameters n:m:v; checks the rules of
/// Format.md and that no size overflows (SY_ERR_INVALID_ARGUMENT with the
/// offending value otherwise).
/// Any output pointer may be NULL.
sy_status sy_packed_sizes(int64_t experts, int64_t rows, int64_t cols, int n,
                          int m, int v, uint64_t *values_bytes,
                          uint64_t *meta_bytes, uint64_t *row_idx_bytes);
/// sy_packed_sizes with the extra rules of `layout` (the wgmma layouts:
/// values and meta padded to whole 128-column blocks, and values, meta and
/// row_idx to whole 64-row tiles of kept rows per part).
sy_status sy_packed_sizes_layout(int64_t experts, int64_t rows, int64_t cols,
                                 int n, int m, int v, sy_weight_layout layout,
                                 uint64_t *values_bytes, uint64_t *meta_bytes,
                                 uint64_t *row_idx_bytes);
/// Packs `dense` (`[experts][rows][cols]`, row major, 16-bit elements of
/// `dtype`, which is SY_DTYPE_BF16 or SY_DTYPE_F16) into the SS format, in
/// the mma_sp layout. Invalid parameters give SY_ERR_INVALID_ARGUMENT naming
/// the rule.
sy_status sy_pack_weight(const void *dense, sy_dtype dtype, int64_t experts,
                         int64_t rows, int64_t cols, int n, int m, int v,
                         sy_packed_buffer **out);
/// sy_pack_weight in `layout` (SY_ERR_INVALID_ARGUMENT naming the value when
/// the shape breaks the layout's rules or `layout` is unknown).
sy_status sy_pack_weight_layout(const void *dense, sy_dtype dtype,
                                int64_t experts, int64_t rows, int64_t cols,
                                int n, int m, int v, sy_weight_layout layout,
                                sy_packed_buffer **out);
/// Rearranges `packed` (parameters as for sy_pack_weight, stored in layout
/// `from`) into layout `to`: the values, meta and row_idx bytes rearranged
/// (the wgmma layouts' K and row padding written, or checked and dropped).
/// Sizes are checked as in sy_unpack_weight.
sy_status sy_relayout_weight(const sy_packed_weight *packed, sy_dtype dtype,
                             int64_t experts, int64_t rows, int64_t cols, int n,
                             int m, int v, sy_weight_layout from,
                             sy_weight_layout to, sy_packed_buffer **out);
/// The components of `buffer` (valid while it lives).
sy_status sy_packed_buffer_view(const sy_packed_buffer *buffer,
                                sy_packed_weight *out);
/// Parameters and layout of `buffer`; `name` is "" for sy_pack_weight
/// results.
sy_status sy_packed_buffer_info(const sy_packed_buffer *buffer,
                                sy_weight_info *info);
/// Frees `buffer` (NULL is fine).
sy_status sy_packed_buffer_destroy(sy_packed_buffer *buffer);
/// Expands `packed` (parameters as for sy_pack_weight) into `dense`, which
/// holds `dense_bytes` = experts*rows*cols*2 bytes; dropped entries are 0.
/// Component sizes are checked (SY_ERR_SIZE_MISMATCH names the part), then
/// the content unpacking indexes with: a row_idx byte >= m or not increasing
/// within its group, or a meta nibble that is not ordered 2:4 metadata
/// (i0 | i1 << 2 with i0 < i1), is SY_ERR_INVALID_ARGUMENT naming the byte.
/// `packed` is in the mma_sp layout: convert a weight of another layout with
/// sy_relayout_weight first.
sy_status sy_unpack_weight(const sy_packed_weight *packed, sy_dtype dtype,
                           int64_t experts, int64_t rows, int64_t cols, int n,
                           int m, int v, void *dense, uint64_t dense_bytes);

/*===----------------------------------------------------------------------===*\
|* Packed weight files (docs/WeightFiles.md; host only)                       *|
\*===----------------------------------------------------------------------===*/

/// An opened packed weight file: header parsed and checked, data not read.
typedef struct sy_weight_file sy_weight_file;

/// Opens `path` and checks its header: framing (truncation, header length),
/// JSON, the `samoyeds` metadata, and every described weight's tensors
/// (present, U8, sizes as Format.md demands, inside the file). Tensor data is
/// not read: its content is checked by the calls that read it.
sy_status sy_weight_file_open(const char *path, sy_weight_file **out);
/// Frees `file` (NULL is fine).
sy_status sy_weight_file_destroy(sy_weight_file *file);
/// Number of packed weights described by the file.
sy_status sy_weight_file_num_weights(const sy_weight_file *file,
                                     int32_t *count);
/// Parameters of weight `index` (name valid while the file lives).
sy_status sy_weight_file_weight_info(const sy_weight_file *file, int32_t index,
                                     sy_weight_info *info);
/// Parameters of the weight called `name`.
sy_status sy_weight_file_find_weight(const sy_weight_file *file,
                                     const char *name, sy_weight_info *info);
/// String field `key` of the file's `samoyeds` metadata ("source", "model",
/// ...); SY_ERR_NOT_FOUND if absent or not a string.
sy_status sy_weight_file_metadata(const sy_weight_file *file, const char *key,
                                  const char **value);
/// Reads the components of weight `name` from disk and checks the row_idx
/// and meta read (SY_ERR_WEIGHT_FILE naming the tensor and the byte, as
/// sy_unpack_weight's checks).
sy_status sy_weight_file_read_weight(const sy_weight_file *file,
                                     const char *name, sy_packed_buffer **out);
/// Checks, without a device, that the file `path` holds every weight of
/// `bundle` (as `prefix` + name) with the bundle's dtype, shape, n:m:v and
/// component sizes (SY_ERR_NOT_FOUND, SY_ERR_PARAM_MISMATCH,
/// SY_ERR_SIZE_MISMATCH, SY_ERR_WEIGHT_FILE, SY_ERR_IO), and reads each
/// weight's row_idx and meta to check their content as
/// sy_weight_file_read_weight does (of the values only the blocks that hold
/// the wgmma layouts' padding are read). The layouts may
/// differ (sy_session_load_weights rearranges the words).
sy_status sy_bundle_check_weights(const sy_bundle *bundle, const char *path,
                                  const char *prefix);

/// Compute capability of device 0 (initialises the driver).
sy_status sy_device_capability(int32_t *major, int32_t *minor);
/// cuMemAlloc; `*dptr` is 0 for a 0-byte request.
sy_status sy_device_alloc(uint64_t bytes, uint64_t *dptr);
/// cuMemFree (0 is fine).
sy_status sy_device_free(uint64_t dptr);
/// cuMemcpyHtoD.
sy_status sy_memcpy_htod(uint64_t dst, const void *src, uint64_t bytes);
/// cuMemcpyDtoH.
sy_status sy_memcpy_dtoh(void *dst, uint64_t src, uint64_t bytes);
/// cuMemsetD8.
sy_status sy_memset(uint64_t dst, uint8_t value, uint64_t bytes);
/// cuCtxSynchronize.
sy_status sy_device_sync(void);

#ifdef __cplusplus
} // extern "C"
#endif

#endif /* SAMOYEDS_C_RUNTIME_H */
