//===- Manifest.h - manifest.json of a bundle -------------------*- C++ -*-===//
//
// The launch plan of docs/Bundle.md, parsed and validated without touching a
// device.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_RUNTIME_MANIFEST_H
#define SAMOYEDS_RUNTIME_MANIFEST_H

#include "JsonSchema.h"
#include "samoyeds-c/Runtime.h"
#include "samoyeds/Runtime/Activation.h"
#include "samoyeds/Runtime/Format.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace samoyeds {
namespace rt {

/// One entry of a buffer shape: a constant or a symbol index.
struct ShapeDim {
  int symbol = -1; ///< Index into Manifest::symbols, or -1 for a constant.
  int64_t value = 0;
};

enum class WeightPart { Values = 0, Meta = 1, RowIdx = 2 };
const char *weightPartName(WeightPart part);

/// The index of `name` in `index`, or -1.
inline int lookUp(const std::unordered_map<std::string, int> &index,
                  const std::string &name) {
  auto it = index.find(name);
  return it == index.end() ? -1 : it->second;
}

/// Whether the runtime allocates buffers of `kind` (workspaces, counters).
inline bool isRuntimeOwned(sy_buffer_kind kind) {
  return kind == SY_BUFFER_WORKSPACE || kind == SY_BUFFER_COUNTERS;
}

struct BufferDesc {
  std::string name;
  sy_buffer_kind kind = SY_BUFFER_INPUT;
  sy_dtype dtype = SY_DTYPE_F32;
  std::vector<ShapeDim> shape; ///< Non-weight buffers.
  int64_t bytes = -1;          ///< Weight buffers.
  int weight = -1;             ///< Index into Manifest::weights (weights).
  WeightPart part = WeightPart::Values;
  /// The address alignment, in bytes, the launches need of it: the largest
  /// of each buffer argument's align or element size, at least the dtype's
  /// size (parseManifest computes it).
  uint64_t align = 1;
};

/// What a manifest's weight entry and a weight file's weight description
/// both say of a packed weight (the same fields, read by readWeightSpec).
struct WeightSpec {
  std::string name;
  SSParams params;
  SSShape shape;
  DType dtype = DType::BF16;
  /// The layout ("layout"; in a manifest optional, default mma_sp: the
  /// layout the kernels read).
  WeightLayout layout = WeightLayout::MmaSp;
};

/// Reads the fields of a weight description, object `v` at `path`, into
/// `w` (all but the name), then checks them against Format.md (validate);
/// `layout` says whether "layout" may be absent.
bool readWeightSpec(json::Reader &r, const json::Value &v,
                    const std::string &path, WeightSpec &w,
                    json::Presence layout);

struct WeightDesc : WeightSpec {
  int parts[3] = {-1, -1, -1}; ///< Buffer index of each part, or -1.
};

/// A grid entry: `{"const": c}` or `{"ceil_div": [symbol, d]}`, or
/// `{"ceil_div": [symbol, d, plus]}` for ceil(symbol / d) + plus (the expert
/// matmuls' token tiles in bundles of compilers before token_tiles), or
/// `{"token_tiles": [symbol, d, experts]}` for the most tiles of d slots
/// `symbol` slots make over `experts` experts (n + (symbol - n) / d with n =
/// min(experts, symbol)), or `{"per_sm": k}` for k blocks per
/// multiprocessor of the device (a persistent grid).
struct GridDim {
  int symbol = -1;     ///< -1 for a constant.
  int64_t value = 0;   ///< The constant, the divisor, or k.
  int64_t plus = 0;    ///< Added to the quotient (ceil_div).
  int64_t experts = 0; ///< token_tiles' expert count (0: not token_tiles).
  bool perSM = false;  ///< `value` blocks per multiprocessor.
};

struct LaunchArg {
  enum Kind { Buffer, Symbol, I32 } kind = I32;
  int index = -1;    ///< Buffer or symbol index.
  int32_t value = 0; ///< I32 constant.
  /// Buffer: bytes of one element of the kernel's view (0: the dtype's size).
  int64_t elemBytes = 0;
  /// Buffer: the address alignment the kernel's wider accesses need (16-byte
  /// copies, vector loads); 0: the element size.
  int64_t align = 0;
};

/// The largest "align" a manifest's buffer argument may ask (docs/Bundle.md).
constexpr int64_t kMaxBufferAlign = 256;

/// `"when": {"symbol": s, "min": a[, "max": b]}`: the launch runs only when
/// a <= s <= b (no upper bound without "max").
struct LaunchGuard {
  int symbol = -1; ///< -1: the launch always runs.
  int64_t min = 0;
  int64_t max = -1; ///< -1: no upper bound.
};

struct LaunchDesc {
  std::string kernel;
  GridDim grid[3];
  unsigned block[3] = {1, 1, 1};
  int64_t smem = 0;
  /// `"pdl": true`: a programmatic dependent launch (the kernel starts with
  /// griddepcontrol.wait), which may overlap the kernel before it.
  bool pdl = false;
  std::vector<LaunchArg> args;
  LaunchGuard when;
};

/// Whether launch `l` runs for the given symbol values (its guard holds).
bool launchSelected(const LaunchDesc &l, const std::vector<int64_t> &syms);

/// The size of grid dimension `g` for the given symbol values on a device of
/// `smCount` multiprocessors; 0 when a symbol it divides is 0 (an empty
/// launch).
int64_t gridSize(const GridDim &g, const std::vector<int64_t> &syms,
                 int64_t smCount);

/// `"files": [{"name": f, "bytes": n, "fnv1a64": "16 hex digits"}]`: the
/// size and checksum of a kernel file, which the compiler records so that a
/// torn or mixed bundle is refused.
struct FileDesc {
  std::string name;
  int64_t bytes = 0;
  uint64_t fnv1a64 = 0;
};

struct Manifest {
  json::Value root;
  std::string chip, module, cubin;
  std::vector<FileDesc> files; ///< Empty: the manifest records none.
  std::vector<std::string> symbols;
  std::vector<BufferDesc> buffers;
  std::vector<WeightDesc> weights;
  std::vector<LaunchDesc> launches;
  /// The expert FFN's activation ("activation"; absent: SiLU).
  Activation activation;
  /// Whether the manifest has an "activation" object.
  bool hasActivation = false;

  /// Name -> index in `buffers`, `weights`, `symbols` (what loadManifest
  /// fills; the find functions read them).
  std::unordered_map<std::string, int> bufferIndex, weightIndex, symbolIndex;

  int findBuffer(const std::string &name) const;
  int findSymbol(const std::string &name) const;
  int findWeight(const std::string &name) const;
  /// Records `name` at `position` in `index`; false if it is there already.
  static bool addName(std::unordered_map<std::string, int> &index,
                      const std::string &name, size_t position);
};

/// The bias inputs of a layer bundle (docs/Bundle.md, "Biases"), as
/// checkLayerBiases finds them.
struct LayerBiases {
  /// The experts' biases: the inputs w13_bias [E, 2I] and w2_bias [E, H] of
  /// the hidden states' dtype, both or neither.
  bool experts = false;
  /// The router's bias: the input router_bias [E] (bf16, f16 or f32) of a
  /// layer that routes (gpt-oss's moe_ffn).
  bool router = false;
  sy_dtype routerDtype = SY_DTYPE_F32;
};

/// Finds the bias inputs of the layer bundle `m` (E experts, hidden size H,
/// intermediate size I, hidden states of dtype `hidden`; `routes`: it has a
/// router, a moe_ffn bundle, rather than taking the routing) into `out`.
/// False, with `error` naming the buffer, what it is and what it must be,
/// when a buffer named w13_bias, w2_bias or router_bias is not an input of
/// that dtype and constant shape, when one of the experts' biases comes
/// without the other, or when a layer without a router has a router bias.
bool checkLayerBiases(const Manifest &m, int64_t E, int64_t H, int64_t I,
                      sy_dtype hidden, bool routes, LayerBiases &out,
                      std::string &error);

/// The longest name (buffer, weight, symbol, kernel, file) of a manifest.
constexpr size_t kMaxNameBytes = 256;

/// Whether `s` may name a buffer, weight, symbol or file of a bundle: 1 to
/// kMaxNameBytes printable ASCII characters other than space, ' and \ (so
/// that error messages can quote names as they are).
bool isPlainName(const std::string &s);

/// Parses and validates the manifest `text` (everything but the files it
/// names); errors are SY_ERR_MANIFEST with `error` naming `file` and the
/// field.
sy_status parseManifest(const std::string &text, const std::string &file,
                        Manifest &out, std::string &error);

/// Reads and validates DIR/manifest.json (parseManifest), and checks that the
/// module file exists and that every file the manifest's `files` lists has its
/// size and checksum. On failure returns SY_ERR_IO or SY_ERR_MANIFEST and sets
/// `error` to a message naming the file and the offending field.
sy_status loadManifest(const std::string &dir, Manifest &out,
                       std::string &error);

/// FNV-1a (64 bits) of `data`, the checksum of `files` entries.
uint64_t fnv1a64(const std::string &data);

/// Checks `contents`, read from the bundle file `name`, against the
/// manifest's `files` entry for it (true when there is none). On a mismatch
/// returns false and sets `error` to "FILE: files[i]: message" for the
/// manifest FILE.
bool checkFileContents(const Manifest &m, const std::string &manifestFile,
                       const std::string &name, const std::string &contents,
                       std::string &error);

/// The most bytes manifest.json may have (real ones have kilobytes).
constexpr uint64_t kMaxManifestBytes = 16u << 20;

/// Reads the whole regular file `path` if it has at most `maxBytes` bytes;
/// otherwise returns false with `why` saying what is wrong ("not a regular
/// file", the size, errno's text). Never blocks on a FIFO or a device.
bool readFile(const std::string &path, std::string &contents, uint64_t maxBytes,
              std::string &why);
/// readFile without a size limit, `why` dropped.
bool readFile(const std::string &path, std::string &contents);
/// Size of `path` if it is a regular file; false (and `why`) otherwise.
bool regularFileSize(const std::string &path, uint64_t &size, std::string &why);
/// Whether `path` is a regular file.
bool fileExists(const std::string &path);

/// Elements and bytes of a (non-weight) buffer for the given symbol values
/// (a symbol beyond `syms` counts as 1: `{}` sizes the constant part); false,
/// with `error` naming the buffer and its shape, when they overflow int64.
bool bufferSize(const Manifest &m, const BufferDesc &b,
                const std::vector<int64_t> &syms, int64_t &elements,
                int64_t &bytes, std::string &error);

/// Bytes of every workspace and counters buffer (0 for the other buffers)
/// that a run with symbol
/// values at most `maxSyms` may need: each workspace of every launch, selected
/// for `maxSyms` or not (a smaller value may select another variant), at its
/// size for `maxSyms`. Shapes are products of symbols and constants, so no
/// smaller value needs more. False, with `error` naming the buffer, when a
/// size overflows.
bool workspaceReservation(const Manifest &m,
                          const std::vector<int64_t> &maxSyms,
                          std::vector<uint64_t> &bytes, std::string &error);

/// "" when every symbol value of `syms` is at most its value in `reserved`,
/// else a message naming the first symbol above its reserved maximum.
std::string checkReserved(const Manifest &m,
                          const std::vector<int64_t> &reserved,
                          const std::vector<int64_t> &syms);

} // namespace rt
} // namespace samoyeds

#endif // SAMOYEDS_RUNTIME_MANIFEST_H
