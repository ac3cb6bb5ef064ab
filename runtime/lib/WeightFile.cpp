//===- WeightFile.cpp - Packed weight files (C API) -----------------------===//
//
// See docs/WeightFiles.md. The header is parsed and checked up front; tensor
// data is read only when a weight is read or uploaded.
//
//===----------------------------------------------------------------------===//

#include "WeightFile.h"
#include "RuntimeImpl.h"

#include <array>
#include <climits>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>

using namespace samoyeds;
using namespace samoyeds::rt;

namespace samoyeds {
namespace rt {

int WeightFile::findTensor(const std::string &name) const {
  return lookUp(tensorIndex, name);
}

int WeightFile::findWeight(const std::string &name) const {
  return lookUp(weightIndex, name);
}

namespace {

/// Bytes per element of a safetensors dtype, 0 if unknown.
int64_t safetensorsDtypeSize(const std::string &d) {
  if (d == "BOOL" || d == "U8" || d == "I8" || d == "F8_E5M2" || d == "F8_E4M3")
    return 1;
  if (d == "I16" || d == "U16" || d == "F16" || d == "BF16")
    return 2;
  if (d == "I32" || d == "U32" || d == "F32")
    return 4;
  if (d == "I64" || d == "U64" || d == "F64")
    return 8;
  return 0;
}

std::string describe(const WeightSpec &w) {
  return std::string(dtypeName(w.dtype)) + ", " +
         std::to_string(w.shape.experts) + " x " +
         std::to_string(w.shape.rows) + " x " + std::to_string(w.shape.cols) +
         ", n:m:v = " + std::to_string(w.params.n) + ":" +
         std::to_string(w.params.m) + ":" + std::to_string(w.params.v) +
         ", layout " + layoutName(w.layout);
}

/// Parses one tensor entry of the header.
bool parseTensor(const std::string &name, const json::Value &o,
                 uint64_t dataStart, uint64_t dataBytes, TensorEntry &t,
                 std::string &err) {
  std::string where = "tensor " + json::quote(name) + ": ";
  if (!o.isObject()) {
    err = where + "expected an object";
    return false;
  }
  const json::Value *dt = o.get("dtype"), *shape = o.get("shape"),
                    *off = o.get("data_offsets");
  if (!dt || !dt->isString()) {
    err = where + "missing or non-string 'dtype'";
    return false;
  }
  t.name = name;
  t.dtype = dt->string;
  int64_t esize = safetensorsDtypeSize(t.dtype);
  if (!esize) {
    err = where + "unknown dtype " + json::quote(t.dtype);
    return false;
  }
  if (!shape || !shape->isArray()) {
    err = where + "missing or non-array 'shape'";
    return false;
  }
  int64_t elems = 1;
  for (const json::Value &d : shape->array) {
    if (!d.isNumber() || !d.isInteger || d.integer < 0) {
      err = where + "shape entries must be non-negative integers";
      return false;
    }
    if (d.integer && elems > INT64_MAX / 8 / d.integer) {
      err = where + "shape is too large";
      return false;
    }
    elems *= d.integer;
    t.shape.push_back(d.integer);
  }
  if (!off || !off->isArray() || off->array.size() != 2 ||
      !off->array[0].isInteger || !off->array[1].isInteger ||
      off->array[0].integer < 0 ||
      off->array[1].integer < off->array[0].integer) {
    err = where + "'data_offsets' must be [begin, end] with 0 <= begin <= end";
    return false;
  }
  uint64_t b = uint64_t(off->array[0].integer),
           e = uint64_t(off->array[1].integer);
  if (uint64_t(elems * esize) != e - b) {
    err = where + "shape and dtype " + t.dtype + " need " +
          std::to_string(elems * esize) + " bytes but data_offsets [" +
          std::to_string(b) + ", " + std::to_string(e) + ") span " +
          std::to_string(e - b);
    return false;
  }
  if (e > dataBytes) {
    err = where + "data_offsets [" + std::to_string(b) + ", " +
          std::to_string(e) +
          ") extend beyond the end of the file (the data section has " +
          std::to_string(dataBytes) + " bytes): truncated file";
    return false;
  }
  t.begin = dataStart + b;
  t.end = dataStart + e;
  return true;
}

/// Why a weight file of format version `version` is not read ("" if it is).
std::string supported(const int64_t &version) {
  if (version == 1)
    return "weight file format version 1 predates the layout field; "
           "re-convert with python -m samoyeds.convert";
  if (version != kWeightFileVersion)
    return "unsupported version " + std::to_string(version) +
           " (this runtime reads version " +
           std::to_string(kWeightFileVersion) + ")";
  return "";
}

/// Reads the weight descriptions of object `v` (at `path`), keyed by name,
/// into `out.weights`.
bool readWeights(json::Reader &r, const json::Value &v, const std::string &path,
                 WeightFile &out) {
  if (!json::expectObject(r, v, path))
    return false;
  for (const auto &[name, entry] : v.object) {
    FileWeight w;
    w.name = name;
    if (!readWeightSpec(r, entry, path + "[" + json::quote(name) + "]", w,
                        json::Presence::Required))
      return false;
    out.weightIndex.emplace(w.name, int(out.weights.size()));
    out.weights.push_back(w);
  }
  return true;
}

/// Finds the tensors of `w` (its components of nonzero size), checks their
/// dtype and size (those of the layout the file stores `w` in), and records
/// them in `w.tensors`.
sy_status findTensors(const WeightFile &file, FileWeight &w, std::string &err) {
  std::array<int64_t, 3> bytes = componentBytes(w.params, w.shape, w.layout);
  for (int p = 0; p < 3; ++p) {
    std::string tname = w.name + "." + weightPartName(WeightPart(p));
    int ti = file.findTensor(tname);
    int64_t want = bytes[size_t(p)];
    if (ti < 0) {
      if (want == 0)
        continue;
      err = "tensor " + json::quote(tname) + " of weight " +
            json::quote(w.name) + " not found";
      return SY_ERR_NOT_FOUND;
    }
    const TensorEntry &t = file.tensors[size_t(ti)];
    if (t.dtype != "U8") {
      err = "tensor " + json::quote(tname) + ": dtype " + t.dtype +
            ", expected U8";
      return SY_ERR_WEIGHT_FILE;
    }
    if (int64_t(t.bytes()) != want) {
      err = "tensor " + json::quote(tname) + " has " +
            std::to_string(t.bytes()) + " bytes but weight " +
            json::quote(w.name) + " (" + describe(w) + ") needs " +
            std::to_string(want);
      return SY_ERR_SIZE_MISMATCH;
    }
    w.tensors[p] = ti;
  }
  return SY_OK;
}

/// Reads the `samoyeds` metadata into `out.weights` (docs/WeightFiles.md)
/// and finds every weight's tensors.
sy_status parseSamoyeds(WeightFile &out, const std::string &text,
                        std::string &err) {
  const std::string where = "__metadata__.samoyeds";
  std::string perr;
  if (!json::parse(text, out.info, perr)) {
    err = where + ": bad JSON: " + perr;
    return SY_ERR_WEIGHT_FILE;
  }
  static const json::Fields<WeightFile> fields = {
      {"format", json::literal("samoyeds-weights"), json::ignore},
      {"version", json::satisfying(json::integer(), supported), json::ignore},
      {"weights", readWeights}};
  json::Reader reader;
  if (!json::readFields(reader, out.info, where, fields, out)) {
    err = reader.error();
    return SY_ERR_WEIGHT_FILE;
  }
  for (FileWeight &w : out.weights) {
    sy_status st = findTensors(out, w, err);
    if (st != SY_OK)
      return st;
  }
  return SY_OK;
}

} // namespace

sy_status openWeightFile(const std::string &path, WeightFile &out,
                         std::string &error) {
  out = WeightFile();
  out.path = path;
  auto fail = [&](sy_status st, const std::string &msg) {
    error = path + ": " + msg;
    return st;
  };
  std::string why;
  if (!regularFileSize(path, out.fileSize, why))
    return fail(SY_ERR_IO, "cannot open file: " + why);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(SY_ERR_IO, "cannot open file");
  if (out.fileSize < 8)
    return fail(SY_ERR_WEIGHT_FILE,
                "truncated file: " + std::to_string(out.fileSize) +
                    " bytes, less than the 8-byte header length");
  in.seekg(0);
  unsigned char len8[8];
  in.read(reinterpret_cast<char *>(len8), 8);
  if (!in)
    return fail(SY_ERR_IO, "cannot read the header length");
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i)
    hlen = (hlen << 8) | len8[i];
  if (hlen > out.fileSize - 8)
    return fail(SY_ERR_WEIGHT_FILE,
                "header length " + std::to_string(hlen) +
                    " extends beyond the end of the file (" +
                    std::to_string(out.fileSize) +
                    " bytes): truncated file or not a safetensors file");
  if (hlen > kMaxHeaderBytes)
    return fail(SY_ERR_WEIGHT_FILE, "header length " + std::to_string(hlen) +
                                        " exceeds the " +
                                        std::to_string(kMaxHeaderBytes) +
                                        "-byte limit of safetensors headers");
  std::string header(size_t(hlen), '\0');
  in.read(&header[0], std::streamsize(hlen));
  if (!in)
    return fail(SY_ERR_IO,
                "cannot read the " + std::to_string(hlen) + "-byte header");
  out.dataStart = 8 + hlen;
  uint64_t dataBytes = out.fileSize - out.dataStart;
  json::Value root;
  std::string perr;
  if (!json::parse(header, root, perr))
    return fail(SY_ERR_WEIGHT_FILE, "bad JSON header: " + perr);
  if (!root.isObject())
    return fail(SY_ERR_WEIGHT_FILE, "bad header: expected a JSON object");
  const json::Value *meta = nullptr;
  for (const auto &kv : root.object) {
    if (kv.first == "__metadata__") {
      meta = &kv.second;
      continue;
    }
    TensorEntry t;
    std::string terr;
    if (!parseTensor(kv.first, kv.second, out.dataStart, dataBytes, t, terr))
      return fail(SY_ERR_WEIGHT_FILE, terr);
    out.tensorIndex.emplace(t.name, int(out.tensors.size()));
    out.tensors.push_back(std::move(t));
  }
  if (meta) {
    if (!meta->isObject())
      return fail(SY_ERR_WEIGHT_FILE,
                  "__metadata__: expected an object of strings");
    for (const auto &kv : meta->object) {
      if (!kv.second.isString())
        return fail(SY_ERR_WEIGHT_FILE, "__metadata__[" +
                                            json::quote(kv.first) +
                                            "]: expected a string");
      out.metadata.emplace_back(kv.first, kv.second.string);
    }
  }
  const std::string *sam = nullptr;
  for (const auto &kv : out.metadata)
    if (kv.first == "samoyeds")
      sam = &kv.second;
  if (!sam)
    return fail(SY_ERR_WEIGHT_FILE, "__metadata__ has no 'samoyeds' entry: not "
                                    "a Samoyeds packed weight file");
  std::string merr;
  sy_status st = parseSamoyeds(out, *sam, merr);
  if (st != SY_OK)
    return fail(st, merr);
  return SY_OK;
}

/// Opens `file` for reading tensor data into `in`.
static sy_status openData(const WeightFile &file, std::ifstream &in,
                          std::string &error) {
  in.open(file.path, std::ios::binary);
  if (in)
    return SY_OK;
  error = file.path + ": cannot open file";
  return SY_ERR_IO;
}

/// Reads `bytes` bytes at `offset` of tensor `t` of `file` into `dst`
/// (offset + bytes <= t.bytes()).
static sy_status readTensorRange(std::ifstream &in, const WeightFile &file,
                                 const TensorEntry &t, uint64_t offset,
                                 uint64_t bytes, void *dst,
                                 std::string &error) {
  in.clear();
  in.seekg(std::streamoff(t.begin + offset));
  in.read(static_cast<char *>(dst), std::streamsize(bytes));
  if (in && uint64_t(in.gcount()) == bytes)
    return SY_OK;
  error = file.path + ": tensor " + json::quote(t.name) + ": short read of " +
          std::to_string(bytes) + " bytes at offset " +
          std::to_string(t.begin + offset) +
          " (file truncated or changed since it was opened)";
  return SY_ERR_IO;
}

/// Reads tensor `t` of `file` into `dst` (t.bytes() bytes).
static sy_status readTensor(std::ifstream &in, const WeightFile &file,
                            const TensorEntry &t, void *dst,
                            std::string &error) {
  return readTensorRange(in, file, t, 0, t.bytes(), dst, error);
}

/// The error of a content check of part `part` of weight `w` of `file`: the
/// message names the file and the tensor.
static sy_status contentError(const WeightFile &file, const FileWeight &w,
                              int part, const std::string &err,
                              std::string &error) {
  error = file.path + ": tensor " +
          json::quote(file.tensors[size_t(w.tensors[part])].name) + ": " + err;
  return SY_ERR_WEIGHT_FILE;
}

/// Checks the components read for weight `w` of `file` (checkContent: row_idx,
/// meta, the values padding); the error names the file and the tensor.
static sy_status checkReadContent(const WeightFile &file, const FileWeight &w,
                                  const void *values, const void *meta,
                                  const void *rowIdx, std::string &error) {
  int part;
  std::string err = checkContent(
      static_cast<const uint8_t *>(values), static_cast<const uint8_t *>(meta),
      static_cast<const uint8_t *>(rowIdx), w.params, w.shape, w.layout, part);
  if (err.empty())
    return SY_OK;
  return contentError(file, w, part, err, error);
}

sy_status readFileWeight(const WeightFile &file, size_t index,
                         PackedWeight &out, std::string &error) {
  const FileWeight &w = file.weights[index];
  out = PackedWeight();
  out.p = w.params;
  out.s = w.shape;
  out.dtype = w.dtype;
  out.layout = w.layout;
  std::ifstream in;
  sy_status st = openData(file, in, error);
  if (st != SY_OK)
    return st;
  void *dst[3];
  for (int p = 0; p < 3; ++p) {
    uint64_t bytes =
        w.tensors[p] < 0 ? 0 : file.tensors[size_t(w.tensors[p])].bytes();
    if (p == 0) {
      out.values.resize(size_t(bytes / 4));
      dst[p] = out.values.data();
    } else if (p == 1) {
      out.meta.resize(size_t(bytes / 4));
      dst[p] = out.meta.data();
    } else {
      out.rowIdx.resize(size_t(bytes));
      dst[p] = out.rowIdx.data();
    }
    if (!bytes)
      continue;
    st =
        readTensor(in, file, file.tensors[size_t(w.tensors[p])], dst[p], error);
    if (st != SY_OK)
      return st;
  }
  // The file may have changed since it was checked: check what was read.
  return checkReadContent(file, w, dst[0], dst[1], dst[2], error);
}

sy_status checkFileWeightContent(const WeightFile &file, size_t index,
                                 std::string &error) {
  const FileWeight &w = file.weights[index];
  std::ifstream in;
  sy_status st = openData(file, in, error);
  if (st != SY_OK)
    return st;
  std::vector<uint8_t> parts[3];
  for (int p = 1; p < 3; ++p) {
    if (w.tensors[p] < 0)
      continue;
    const TensorEntry &t = file.tensors[size_t(w.tensors[p])];
    parts[p].resize(size_t(t.bytes()));
    st = readTensor(in, file, t, parts[p].data(), error);
    if (st != SY_OK)
      return st;
  }
  std::string err = checkRowIdx(parts[2].data(), w.params, w.shape, w.layout);
  if (!err.empty())
    return contentError(file, w, 2, err, error);
  err = checkMeta(parts[1].data(), w.params, w.shape, w.layout);
  if (!err.empty())
    return contentError(file, w, 1, err, error);
  // Of the values only the ranges that hold padding are read (the wgmma
  // layouts: every 64-row tile with padding rows, and the last 8192-byte k
  // block of every other tile where K % 128 != 0).
  std::vector<uint8_t> block;
  for (const ByteRange &range : valuesPadding(w.params, w.shape, w.layout)) {
    block.resize(size_t(range.bytes));
    st = readTensorRange(in, file, file.tensors[size_t(w.tensors[0])],
                         uint64_t(range.offset), uint64_t(range.bytes),
                         block.data(), error);
    if (st != SY_OK)
      return st;
    err = checkValuesPadding(block.data(), range, w.params, w.shape, w.layout);
    if (!err.empty())
      return contentError(file, w, 0, err, error);
  }
  return SY_OK;
}

sy_status readFileWeightAs(const WeightFile &file, size_t index,
                           WeightLayout layout, PackedWeight &out,
                           std::string &error) {
  sy_status st = readFileWeight(file, index, out, error);
  if (st != SY_OK || out.layout == layout)
    return st;
  std::string err;
  out = relayout(out, layout, &err);
  if (err.empty())
    return SY_OK;
  error = file.path + ": weight " + json::quote(file.weights[index].name) +
          ": " + err;
  return SY_ERR_PARAM_MISMATCH;
}

sy_status matchManifestWeight(const WeightFile &file, const Manifest &manifest,
                              const WeightDesc &w,
                              const std::string &manifestFile,
                              const std::string &prefix, size_t &index,
                              std::string &error) {
  std::string name = prefix + w.name;
  std::string forW = " (weight '" + w.name + "' of " + manifestFile + ")";
  int idx = file.findWeight(name);
  if (idx < 0) {
    if (file.findTensor(name + ".values") >= 0) {
      error = file.path + ": tensor " + json::quote(name + ".values") +
              " exists but weight " + json::quote(name) +
              " is not described in __metadata__.samoyeds" + forW;
      return SY_ERR_WEIGHT_FILE;
    }
    error = file.path + ": no weight " + json::quote(name) + " (tensor " +
            json::quote(name + ".values") + " not found)" + forW;
    return SY_ERR_NOT_FOUND;
  }
  const FileWeight &f = file.weights[size_t(idx)];
  std::string diffs;
  auto cmp = [&](const char *key, int64_t got, int64_t want) {
    if (got != want)
      diffs += std::string(diffs.empty() ? "" : ", ") + key + " = " +
               std::to_string(got) + " (bundle: " + std::to_string(want) + ")";
  };
  if (f.dtype != w.dtype)
    diffs += std::string("dtype = ") + dtypeName(f.dtype) +
             " (bundle: " + dtypeName(w.dtype) + ")";
  cmp("experts", f.shape.experts, w.shape.experts);
  cmp("rows", f.shape.rows, w.shape.rows);
  cmp("cols", f.shape.cols, w.shape.cols);
  cmp("n", f.params.n, w.params.n);
  cmp("m", f.params.m, w.params.m);
  cmp("v", f.params.v, w.params.v);
  if (!diffs.empty()) {
    error = file.path + ": weight " + json::quote(name) +
            " does not match the bundle: " + diffs + forW;
    return SY_ERR_PARAM_MISMATCH;
  }
  // The file's tensors have the sizes of the file's layout, the bundle's
  // buffers those of the bundle's (they differ where wgmma pads K): compare
  // in the file's layout, which the weight is relaid out from on upload.
  const bool sameLayout = f.layout == w.layout;
  const std::array<int64_t, 3> inFileLayout =
      componentBytes(w.params, w.shape, f.layout);
  for (int p = 0; p < 3; ++p) {
    int bi = w.parts[p];
    int64_t want = bi < 0       ? 0
                   : sameLayout ? manifest.buffers[size_t(bi)].bytes
                                : inFileLayout[size_t(p)];
    uint64_t got =
        f.tensors[p] >= 0 ? file.tensors[size_t(f.tensors[p])].bytes() : 0;
    if (got != uint64_t(want)) {
      error = file.path + ": tensor " +
              json::quote(name + "." + weightPartName(WeightPart(p))) +
              " has " + std::to_string(got) + " bytes but buffer '" +
              (bi >= 0 ? manifest.buffers[size_t(bi)].name
                       : std::string("(none)")) +
              "' expects " + std::to_string(want) +
              (bi >= 0 && !sameLayout ? std::string(" in the file's layout ") +
                                            layoutName(f.layout)
                                      : std::string()) +
              forW;
      return SY_ERR_SIZE_MISMATCH;
    }
  }
  index = size_t(idx);
  return SY_OK;
}

} // namespace rt
} // namespace samoyeds

namespace {

/// Checks every weight of `bundle` against the opened file.
sy_status checkAll(const sy_bundle &bundle, const WeightFile &file,
                   const char *prefix, std::vector<size_t> &indices) {
  std::string mfile = bundle.dir + "/manifest.json";
  std::string pre = prefix ? prefix : "";
  indices.clear();
  for (const WeightDesc &w : bundle.manifest.weights) {
    size_t idx = 0;
    std::string err;
    sy_status st =
        matchManifestWeight(file, bundle.manifest, w, mfile, pre, idx, err);
    if (st == SY_OK)
      st = checkFileWeightContent(file, idx, err);
    if (st != SY_OK)
      return setError(st, err);
    indices.push_back(idx);
  }
  return SY_OK;
}
} // namespace

#define SY_WF_ARGS(cond, fn)                                                   \
  if (!(cond))                                                                 \
    return setError(SY_ERR_INVALID_ARGUMENT, fn ": NULL argument");

extern "C" {

sy_status sy_weight_file_open(const char *path, sy_weight_file **out) {
  if (out)
    *out = nullptr;
  SY_WF_ARGS(path && out, "sy_weight_file_open")
  SY_GUARD({
    auto f = std::make_unique<sy_weight_file>();
    std::string err;
    sy_status st = openWeightFile(path, f->file, err);
    if (st != SY_OK)
      return setError(st, err);
    *out = f.release();
    return clearError();
  })
}

sy_status sy_weight_file_destroy(sy_weight_file *file) {
  delete file;
  return clearError();
}

sy_status sy_weight_file_num_weights(const sy_weight_file *file,
                                     int32_t *count) {
  SY_WF_ARGS(file && count, "sy_weight_file_num_weights")
  *count = int32_t(file->file.weights.size());
  return clearError();
}

sy_status sy_weight_file_weight_info(const sy_weight_file *file, int32_t index,
                                     sy_weight_info *info) {
  SY_WF_ARGS(file && info, "sy_weight_file_weight_info")
  if (index < 0 || size_t(index) >= file->file.weights.size())
    return setError(SY_ERR_NOT_FOUND,
                    file->file.path + ": no weight #" + std::to_string(index));
  samoyeds::rt::fillWeightInfo(file->file.weights[size_t(index)], info);
  return clearError();
}

sy_status sy_weight_file_find_weight(const sy_weight_file *file,
                                     const char *name, sy_weight_info *info) {
  SY_WF_ARGS(file && name && info, "sy_weight_file_find_weight")
  int idx = file->file.findWeight(name);
  if (idx < 0)
    return setError(SY_ERR_NOT_FOUND,
                    file->file.path + ": no weight " + json::quote(name));
  samoyeds::rt::fillWeightInfo(file->file.weights[size_t(idx)], info);
  return clearError();
}

sy_status sy_weight_file_metadata(const sy_weight_file *file, const char *key,
                                  const char **value) {
  SY_WF_ARGS(file && key && value, "sy_weight_file_metadata")
  const json::Value *v = file->file.info.get(key);
  if (!v || !v->isString())
    return setError(SY_ERR_NOT_FOUND,
                    file->file.path + ": __metadata__.samoyeds has no string " +
                        json::quote(key));
  *value = v->string.c_str();
  return clearError();
}

sy_status sy_weight_file_read_weight(const sy_weight_file *file,
                                     const char *name, sy_packed_buffer **out) {
  if (out)
    *out = nullptr;
  SY_WF_ARGS(file && name && out, "sy_weight_file_read_weight")
  SY_GUARD({
    int idx = file->file.findWeight(name);
    if (idx < 0)
      return setError(SY_ERR_NOT_FOUND,
                      file->file.path + ": no weight " + json::quote(name));
    auto b = std::make_unique<sy_packed_buffer>();
    b->name = name;
    std::string err;
    sy_status st = readFileWeight(file->file, size_t(idx), b->weight, err);
    if (st != SY_OK)
      return setError(st, err);
    *out = b.release();
    return clearError();
  })
}

sy_status sy_bundle_check_weights(const sy_bundle *bundle, const char *path,
                                  const char *prefix){
    SY_WF_ARGS(bundle && path, "sy_bundle_check_weights") SY_GUARD({
      WeightFile file;
      std::string err;
      sy_status st = openWeightFile(path, file, err);
      if (st != SY_OK)
        return setError(st, err);
      std::vector<size_t> indices;
      st = checkAll(*bundle, file, prefix, indices);
      if (st != SY_OK)
        return st;
      return clearError();
    })}

sy_status sy_session_load_weights(sy_session *session, const char *path,
                                  const char *prefix) {
  SY_WF_ARGS(session && path, "sy_session_load_weights")
  SY_GUARD({
    WeightFile file;
    std::string err;
    sy_status st = openWeightFile(path, file, err);
    if (st != SY_OK)
      return setError(st, err);
    const sy_bundle &bundle = *session->bundle;
    std::vector<size_t> indices;
    st = checkAll(bundle, file, prefix, indices);
    if (st != SY_OK)
      return st;
    for (size_t i = 0; i < indices.size(); ++i) {
      // The kernels read the bundle's layout.
      PackedWeight w;
      st = readFileWeightAs(file, indices[i], bundle.manifest.weights[i].layout,
                            w, err);
      if (st != SY_OK)
        return setError(st, err);
      sy_packed_weight pw = {w.values.data(),
                             uint64_t(w.valuesBytes()),
                             w.meta.data(),
                             uint64_t(w.metaBytes()),
                             w.rowIdx.empty() ? nullptr : w.rowIdx.data(),
                             uint64_t(w.rowIdxBytes())};
      st = sy_session_upload_weight(
          session, bundle.manifest.weights[i].name.c_str(), &pw);
      if (st != SY_OK)
        return setError(st, std::string(path) + ": weight " +
                                json::quote(file.weights[indices[i]].name) +
                                ": " + sy_last_error());
    }
    return clearError();
  })
}

} // extern "C"
