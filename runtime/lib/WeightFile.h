//===- WeightFile.h - Packed weight files (safetensors) ---------*- C++ -*-===//
//
// Reader of the packed weight files of docs/WeightFiles.md: a safetensors
// file whose `__metadata__.samoyeds` entry describes each SS weight, stored
// as the U8 tensors NAME.values, NAME.meta and NAME.row_idx.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_RUNTIME_WEIGHTFILE_H
#define SAMOYEDS_RUNTIME_WEIGHTFILE_H

#include "Manifest.h"
#include "samoyeds-c/Runtime.h"
#include "samoyeds/Runtime/Format.h"

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace samoyeds {
namespace rt {

/// The format version this reader understands (2: per-weight "layout").
constexpr int kWeightFileVersion = 2;
/// The longest JSON header read (as the Python reader's; safetensors itself
/// allows 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

/// One tensor of the safetensors header.
struct TensorEntry {
  std::string name;
  std::string dtype; ///< safetensors dtype ("U8", "BF16", ...).
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0; ///< Absolute byte offsets in the file.
  uint64_t bytes() const { return end - begin; }
};

/// A packed weight described by the file (`layout`: how the file stores it).
struct FileWeight : WeightSpec {
  int tensors[3] = {-1, -1, -1}; ///< Tensor index per WeightPart, or -1.
};

struct WeightFile {
  std::string path;
  uint64_t fileSize = 0;
  uint64_t dataStart = 0;
  std::vector<TensorEntry> tensors;
  /// `__metadata__` of the header (string -> string).
  std::vector<std::pair<std::string, std::string>> metadata;
  /// Parsed `__metadata__.samoyeds`.
  json::Value info;
  std::vector<FileWeight> weights;
  /// Name -> index in `tensors` and `weights` (the find functions read them).
  std::unordered_map<std::string, int> tensorIndex, weightIndex;

  int findTensor(const std::string &name) const;
  int findWeight(const std::string &name) const;
};

/// Opens and checks `path`; on failure returns the status and sets `error`
/// to a message naming the file (and tensor or field).
sy_status openWeightFile(const std::string &path, WeightFile &out,
                         std::string &error);

/// Reads weight `index` of `file` into `out` (parameters, layout and
/// components, in the file's layout), then checks the content read
/// (checkContent: row_idx below m and increasing, ordered meta nibbles, the
/// wgmma layouts' padding zero values, 0x4 nibbles and the row_idx bytes of
/// Format.md; SY_ERR_WEIGHT_FILE naming the tensor and the byte).
sy_status readFileWeight(const WeightFile &file, size_t index,
                         PackedWeight &out, std::string &error);

/// Reads only the row_idx and meta of weight `index`, and of its values only
/// the ranges that hold padding (valuesPadding: the wgmma layouts' tiles with
/// padding rows and, where K % 128 != 0, last k blocks), and checks them as
/// readFileWeight does (what sy_bundle_check_weights adds to the header
/// checks; values are otherwise never inspected: any bits are a value).
sy_status checkFileWeightContent(const WeightFile &file, size_t index,
                                 std::string &error);

/// Reads weight `index` of `file` in `layout`: relaid out on the host when the
/// file stores another layout (what sy_session_load_weights uploads).
sy_status readFileWeightAs(const WeightFile &file, size_t index,
                           WeightLayout layout, PackedWeight &out,
                           std::string &error);

/// Finds `prefix + w.name` in `file` and checks it against the manifest
/// weight `w` (dtype, shape, n:m:v, component bytes; the layouts may differ).
/// Sets `index`.
sy_status matchManifestWeight(const WeightFile &file, const Manifest &manifest,
                              const WeightDesc &w,
                              const std::string &manifestFile,
                              const std::string &prefix, size_t &index,
                              std::string &error);

} // namespace rt
} // namespace samoyeds

/// A packed weight owned by the C API.
struct sy_packed_buffer {
  std::string name;
  samoyeds::rt::PackedWeight weight;
};

struct sy_weight_file {
  samoyeds::rt::WeightFile file;
};

#endif // SAMOYEDS_RUNTIME_WEIGHTFILE_H
