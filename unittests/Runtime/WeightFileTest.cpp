//===- WeightFileTest.cpp - Tests of packed weight files
//-------------------===//
//
// Writes small safetensors files (docs/WeightFiles.md) and a bundle manifest,
// then checks the reader: the good file, and every kind of bad file.
//
//===----------------------------------------------------------------------===//

#include "WeightFile.h"
#include "samoyeds-c/Runtime.h"
#include "samoyeds/Runtime/Format.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace samoyeds::rt;

namespace {

/// Expects the first weight of the file at `path`, read in `layout` (what
/// sy_session_load_weights uploads for a bundle of that layout), to be
/// `want` word for word.
void expectReadAs(const std::string &path, WeightLayout layout,
                  const PackedWeight &want) {
  WeightFile opened;
  std::string err;
  ASSERT_EQ(openWeightFile(path, opened, err), SY_OK) << err;
  PackedWeight up;
  ASSERT_EQ(readFileWeightAs(opened, 0, layout, up, err), SY_OK) << err;
  EXPECT_EQ(up.layout, want.layout);
  EXPECT_EQ(up.values, want.values);
  EXPECT_EQ(up.meta, want.meta);
  EXPECT_EQ(up.rowIdx, want.rowIdx);
}

/// Bundle with one weight `w`: 2 experts of 64 x 128, bf16, n:m:v = 1:2:64.
const char *kManifest = R"({
  "format": "samoyeds-bundle", "version": 1,
  "chip": "sm_90a", "ptx_version": 85, "module": "kernels.ptx",
  "symbols": ["P"],
  "buffers": [
    {"name": "x", "kind": "input", "dtype": "bf16", "shape": ["P", 128]},
    {"name": "w.values", "kind": "weight", "dtype": "bf16", "bytes": 8192, "of": "w", "part": "values"},
    {"name": "w.meta", "kind": "weight", "dtype": "u32", "bytes": 1024, "of": "w", "part": "meta"},
    {"name": "w.row_idx", "kind": "weight", "dtype": "u8", "bytes": 128, "of": "w", "part": "row_idx"},
    {"name": "y", "kind": "output", "dtype": "bf16", "shape": ["P", 32]}
  ],
  "weights": [
    {"name": "w", "dtype": "bf16", "experts": 2, "rows": 64, "cols": 128, "n": 1, "m": 2, "v": 64}
  ],
  "launches": [
    {"kernel": "k", "grid": [{"const": 1}, {"const": 1}, {"const": 1}], "block": [32, 1, 1],
     "smem": 0, "args": [{"buffer": "w.values"}, {"buffer": "x"}, {"buffer": "y"}]}
  ]
})";

struct Tensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string data;
};

/// Writes a safetensors file by hand (so that bad files can be made too).
struct FileBuilder {
  std::vector<Tensor> tensors;
  std::string samoyeds;    ///< The `samoyeds` metadata JSON ("" = omit).
  std::string extraHeader; ///< Replaces the header JSON when non-empty.

  std::string header() const {
    if (!extraHeader.empty())
      return extraHeader;
    std::string h = "{";
    if (!samoyeds.empty()) {
      std::string esc;
      for (char c : samoyeds) {
        if (c == '"' || c == '\\')
          esc += '\\';
        esc += c;
      }
      h += "\"__metadata__\": {\"samoyeds\": \"" + esc + "\"}";
    }
    uint64_t off = 0;
    for (const Tensor &t : tensors) {
      if (h.size() > 1)
        h += ", ";
      h += "\"" + t.name + "\": {\"dtype\": \"" + t.dtype + "\", \"shape\": [";
      for (size_t i = 0; i < t.shape.size(); ++i)
        h += (i ? ", " : "") + std::to_string(t.shape[i]);
      h += "], \"data_offsets\": [" + std::to_string(off) + ", " +
           std::to_string(off + t.data.size()) + "]}";
      off += t.data.size();
    }
    h += "}";
    while (h.size() % 8)
      h += ' ';
    return h;
  }
  std::string bytes() const {
    std::string h = header();
    std::string out(8, '\0');
    uint64_t n = h.size();
    for (int i = 0; i < 8; ++i)
      out[size_t(i)] = char((n >> (8 * i)) & 0xff);
    out += h;
    for (const Tensor &t : tensors)
      out += t.data;
    return out;
  }
};

/// A weight entry of the `samoyeds` metadata; `layout` is the JSON text of
/// the "layout" value ("" leaves the field out).
std::string weightJson(const std::string &name, const char *dtype, int64_t e,
                       int64_t r, int64_t c, int n, int m, int v,
                       const std::string &layout = "\"mma_sp\"") {
  return "\"" + name + "\": {\"dtype\": \"" + dtype +
         "\", \"experts\": " + std::to_string(e) +
         ", \"rows\": " + std::to_string(r) +
         ", \"cols\": " + std::to_string(c) + ", \"n\": " + std::to_string(n) +
         ", \"m\": " + std::to_string(m) + ", \"v\": " + std::to_string(v) +
         (layout.empty() ? "" : ", \"layout\": " + layout) + "}";
}

std::string samoyedsJson(const std::string &weights, int version = 2) {
  return "{\"format\": \"samoyeds-weights\", \"version\": " +
         std::to_string(version) +
         ", \"source\": \"test-ckpt\", "
         "\"model\": \"mixtral\", \"weights\": {" +
         weights + "}}";
}

template <typename T> std::string asBytes(const std::vector<T> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()),
                     v.size() * sizeof(T));
}

PackedWeight makeWeight(DType dt, int64_t e, int64_t r, int64_t c, int n, int m,
                        int v, WeightLayout layout = WeightLayout::MmaSp) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<uint16_t> dense(size_t(e * r * c));
  for (auto &x : dense)
    x = fromFloat(dist(rng), dt);
  return pack(dense.data(), dt, {e, r, c}, {n, m, v}, nullptr, layout);
}

void addWeight(FileBuilder &f, const std::string &name, const PackedWeight &w) {
  int64_t e = w.s.experts;
  f.tensors.push_back(
      {name + ".values", "U8", {e, w.valuesBytes() / e}, asBytes(w.values)});
  f.tensors.push_back(
      {name + ".meta", "U8", {e, w.metaBytes() / e}, asBytes(w.meta)});
  if (w.rowIdxBytes())
    f.tensors.push_back(
        {name + ".row_idx", "U8", {e, w.rowIdxBytes() / e}, asBytes(w.rowIdx)});
}

bool contains(const std::string &s, const std::string &what) {
  return s.find(what) != std::string::npos;
}

class WeightFileTest : public ::testing::Test {
protected:
  std::string dir, file;
  sy_bundle *bundle = nullptr;
  PackedWeight w;

  void SetUp() override {
    char tmpl[] = "/tmp/samoyeds-wf-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    std::ofstream(dir + "/manifest.json") << kManifest;
    std::ofstream(dir + "/kernels.ptx") << "// none\n";
    file = dir + "/weights.safetensors";
    ASSERT_EQ(sy_bundle_open(dir.c_str(), &bundle), SY_OK) << sy_last_error();
    w = makeWeight(DType::BF16, 2, 64, 128, 1, 2, 64);
  }
  void TearDown() override {
    sy_bundle_destroy(bundle);
    for (const char *f :
         {"/manifest.json", "/kernels.ptx", "/weights.safetensors"})
      std::remove((dir + f).c_str());
    rmdir(dir.c_str());
  }
  /// The good file: weight `prefix + w` plus a plain router tensor.
  FileBuilder good(const std::string &prefix = "") {
    FileBuilder f;
    f.samoyeds =
        samoyedsJson(weightJson(prefix + "w", "bf16", 2, 64, 128, 1, 2, 64));
    addWeight(f, prefix + "w", w);
    f.tensors.push_back({prefix + "router",
                         "BF16",
                         {2, 128},
                         std::string(2 * 128 * 2, '\x01')});
    return f;
  }
  void write(const std::string &bytes) {
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
  }
  /// Expects both sy_weight_file_open (when `onOpen`) and
  /// sy_bundle_check_weights to fail with `status` and every part.
  void expectError(sy_status status, std::initializer_list<std::string> parts,
                   const char *prefix = "", bool onOpen = true) {
    if (onOpen) {
      sy_weight_file *wf = reinterpret_cast<sy_weight_file *>(0x1);
      EXPECT_EQ(sy_weight_file_open(file.c_str(), &wf), status)
          << sy_last_error();
      EXPECT_EQ(wf, nullptr);
    }
    EXPECT_EQ(sy_bundle_check_weights(bundle, file.c_str(), prefix), status)
        << sy_status_name(status) << " wanted; got: " << sy_last_error();
    std::string msg = sy_last_error();
    EXPECT_TRUE(contains(msg, file)) << "file name not in: " << msg;
    for (const std::string &p : parts)
      EXPECT_TRUE(contains(msg, p)) << "'" << p << "' not in: " << msg;
  }
};

TEST_F(WeightFileTest, GoodFileOpensReadsAndMatches) {
  write(good().bytes());
  sy_weight_file *wf = nullptr;
  ASSERT_EQ(sy_weight_file_open(file.c_str(), &wf), SY_OK) << sy_last_error();
  int32_t n = 0;
  ASSERT_EQ(sy_weight_file_num_weights(wf, &n), SY_OK);
  EXPECT_EQ(n, 1);
  sy_weight_info info;
  ASSERT_EQ(sy_weight_file_weight_info(wf, 0, &info), SY_OK);
  EXPECT_STREQ(info.name, "w");
  EXPECT_EQ(info.experts, 2);
  EXPECT_EQ(info.rows, 64);
  EXPECT_EQ(info.cols, 128);
  EXPECT_EQ(info.n, 1);
  EXPECT_EQ(info.m, 2);
  EXPECT_EQ(info.v, 64);
  EXPECT_EQ(info.dtype, SY_DTYPE_BF16);
  EXPECT_EQ(info.layout, SY_LAYOUT_MMA_SP);
  EXPECT_EQ(sy_weight_file_weight_info(wf, 1, &info), SY_ERR_NOT_FOUND);
  EXPECT_EQ(sy_weight_file_find_weight(wf, "w", &info), SY_OK);
  EXPECT_EQ(sy_weight_file_find_weight(wf, "router", &info), SY_ERR_NOT_FOUND);
  // Names from the caller are quoted in messages, control bytes escaped.
  EXPECT_EQ(sy_weight_file_find_weight(wf, "r\x01", &info), SY_ERR_NOT_FOUND);
  EXPECT_TRUE(std::string(sy_last_error()).find(": no weight 'r\\x01'") !=
              std::string::npos)
      << sy_last_error();
  const char *s = nullptr;
  ASSERT_EQ(sy_weight_file_metadata(wf, "source", &s), SY_OK);
  EXPECT_STREQ(s, "test-ckpt");
  EXPECT_EQ(sy_weight_file_metadata(wf, "version", &s), SY_ERR_NOT_FOUND);

  sy_packed_buffer *buf = nullptr;
  ASSERT_EQ(sy_weight_file_read_weight(wf, "w", &buf), SY_OK)
      << sy_last_error();
  sy_packed_weight view;
  ASSERT_EQ(sy_packed_buffer_view(buf, &view), SY_OK);
  ASSERT_EQ(view.values_bytes, uint64_t(w.valuesBytes()));
  ASSERT_EQ(view.meta_bytes, uint64_t(w.metaBytes()));
  ASSERT_EQ(view.row_idx_bytes, uint64_t(w.rowIdxBytes()));
  EXPECT_EQ(std::memcmp(view.values, w.values.data(), view.values_bytes), 0);
  EXPECT_EQ(std::memcmp(view.meta, w.meta.data(), view.meta_bytes), 0);
  EXPECT_EQ(std::memcmp(view.row_idx, w.rowIdx.data(), view.row_idx_bytes), 0);
  ASSERT_EQ(sy_packed_buffer_info(buf, &info), SY_OK);
  EXPECT_STREQ(info.name, "w");
  sy_packed_buffer_destroy(buf);
  EXPECT_EQ(sy_weight_file_read_weight(wf, "nope", &buf), SY_ERR_NOT_FOUND);
  EXPECT_EQ(sy_weight_file_destroy(wf), SY_OK);

  EXPECT_EQ(sy_bundle_check_weights(bundle, file.c_str(), nullptr), SY_OK)
      << sy_last_error();
  EXPECT_EQ(sy_bundle_check_weights(bundle, file.c_str(), ""), SY_OK)
      << sy_last_error();
}

TEST_F(WeightFileTest, PrefixMapsBundleNamesToFileNames) {
  write(good("layers.3.").bytes());
  EXPECT_EQ(sy_bundle_check_weights(bundle, file.c_str(), "layers.3."), SY_OK)
      << sy_last_error();
  expectError(SY_ERR_NOT_FOUND,
              {"no weight 'layers.2.w'", "tensor 'layers.2.w.values' not found",
               "manifest.json"},
              "layers.2.", /*onOpen=*/false);
  expectError(SY_ERR_NOT_FOUND, {"no weight 'w'"}, "", false);
}

TEST_F(WeightFileTest, F16AndNoRowIdxWhenNEqualsM) {
  PackedWeight h = makeWeight(DType::F16, 1, 32, 64, 2, 2, 32);
  FileBuilder f;
  f.samoyeds = samoyedsJson(weightJson("h", "f16", 1, 32, 64, 2, 2, 32));
  addWeight(f, "h", h);
  write(f.bytes());
  sy_weight_file *wf = nullptr;
  ASSERT_EQ(sy_weight_file_open(file.c_str(), &wf), SY_OK) << sy_last_error();
  sy_packed_buffer *buf = nullptr;
  ASSERT_EQ(sy_weight_file_read_weight(wf, "h", &buf), SY_OK)
      << sy_last_error();
  sy_packed_weight view;
  sy_packed_buffer_view(buf, &view);
  EXPECT_EQ(view.row_idx_bytes, 0u);
  EXPECT_EQ(view.row_idx, nullptr);
  sy_weight_info info;
  sy_packed_buffer_info(buf, &info);
  EXPECT_EQ(info.dtype, SY_DTYPE_F16);
  sy_packed_buffer_destroy(buf);
  sy_weight_file_destroy(wf);
}

TEST_F(WeightFileTest, MissingFileIsIoError) {
  expectError(SY_ERR_IO, {"cannot open file: No such file or directory"});
}

TEST_F(WeightFileTest, ShorterThanTheLengthField) {
  write("abc");
  expectError(SY_ERR_WEIGHT_FILE, {"truncated file", "3 bytes"});
}

TEST_F(WeightFileTest, HeaderLengthBeyondEof) {
  std::string b = good().bytes();
  write(b.substr(0, 100));
  expectError(SY_ERR_WEIGHT_FILE,
              {"header length", "beyond the end of the file (100 bytes)"});
}

TEST_F(WeightFileTest, HeaderLengthOverTheLimit) {
  // A 100 MiB + 9 byte (sparse) file whose header would be 100 MiB + 1 bytes:
  // refused before it is allocated.
  std::string len(8, '\0');
  uint64_t h = (uint64_t(100) << 20) + 1;
  for (int i = 0; i < 8; ++i)
    len[size_t(i)] = char((h >> (8 * i)) & 0xff);
  write(len);
  ASSERT_EQ(truncate(file.c_str(), off_t(h + 8)), 0);
  expectError(SY_ERR_WEIGHT_FILE,
              {"header length 104857601 exceeds the 104857600-byte limit of "
               "safetensors headers"});
}

TEST_F(WeightFileTest, NotARegularFile) {
  // A FIFO used to block the reader until something wrote to it.
  ASSERT_EQ(mkfifo(file.c_str(), 0600), 0);
  expectError(SY_ERR_IO, {"cannot open file: not a regular file"});
  std::remove(file.c_str());
  ASSERT_EQ(mkdir(file.c_str(), 0700), 0);
  expectError(SY_ERR_IO, {"cannot open file: not a regular file"});
  rmdir(file.c_str());
}

TEST_F(WeightFileTest, TruncatedDataNamesTheTensor) {
  std::string b = good().bytes();
  write(b.substr(0, b.size() - 2 * 128 * 2 -
                        10)); // cuts the router and part of w.row_idx
  expectError(SY_ERR_WEIGHT_FILE, {"tensor 'w.row_idx'", "truncated file"});
}

TEST_F(WeightFileTest, BadJsonHeader) {
  FileBuilder f = good();
  std::string h = f.header();
  h[h.find(':')] = ';';
  f.extraHeader = h;
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE, {"bad JSON header", "1:"});
}

TEST_F(WeightFileTest, ErrorsQuoteBoundedValues) {
  // A 1 MB dtype and a name with control bytes: quoted, escaped, bounded.
  FileBuilder f = good();
  f.tensors[3].dtype = std::string(1 << 20, 'D');
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE,
              {"tensor 'router': unknown dtype '" + std::string(64, 'D') +
               "...' (1048576 bytes)"});
  EXPECT_LT(std::string(sy_last_error()).size(), file.size() + 200);
  f = good();
  f.tensors[3].name = "r\\u0007\\u00ff'";
  f.tensors[3].dtype = "X";
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE,
              {"tensor 'r\\x07\\xc3\\xbf\\'': unknown dtype 'X'"});
  f = good();
  f.samoyeds = samoyedsJson(weightJson(std::string(100, 'n'), "bf16", 2, 64,
                                       128, 1, 2, 64, "\"mmasp\""));
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE,
              {"weights['" + std::string(64, 'n') +
               "...' (100 bytes)].layout: expected "
               "\"mma_sp\", \"wgmma\" or \"wgmma_halves\", got 'mmasp'"});
}

TEST_F(WeightFileTest, MetadataProblems) {
  FileBuilder f = good();
  f.samoyeds = "";
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE, {"no 'samoyeds' entry"});
  f.samoyeds = "{\"format\": \"samoyeds-weights\", ";
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE, {"__metadata__.samoyeds: bad JSON"});
  f.samoyeds =
      "{\"format\": \"samoyeds-weights\", \"version\": 3, \"weights\": {}}";
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE, {"unsupported version 3", "reads version 2"});
  f.samoyeds = samoyedsJson(weightJson("w", "f32", 2, 64, 128, 1, 2, 64));
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE, {"weights['w'].dtype"});
  f.samoyeds = samoyedsJson(weightJson("w", "bf16", 2, 64, 128, 1, 2, 48));
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE, {"weights['w']", "v = 48"});
}

TEST_F(WeightFileTest, MissingTensor) {
  FileBuilder f = good();
  f.tensors.erase(f.tensors.begin() + 1); // w.meta
  write(f.bytes());
  expectError(SY_ERR_NOT_FOUND, {"tensor 'w.meta' of weight 'w' not found"});
}

TEST_F(WeightFileTest, TensorWithoutMetadataEntry) {
  FileBuilder f = good();
  f.samoyeds = samoyedsJson("");
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE, {"tensor 'w.values' exists", "not described"},
              "", false);
}

TEST_F(WeightFileTest, SizeMismatch) {
  FileBuilder f = good();
  f.tensors[1].data.resize(1000);
  f.tensors[1].shape = {1000};
  write(f.bytes());
  expectError(SY_ERR_SIZE_MISMATCH,
              {"tensor 'w.meta' has 1000 bytes", "needs 1024"});
}

TEST_F(WeightFileTest, ShapeDisagreesWithOffsets) {
  FileBuilder f = good();
  f.tensors[1].shape = {2, 100};
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE,
              {"tensor 'w.meta'", "need 200 bytes", "span 1024"});
}

TEST_F(WeightFileTest, ComponentNotU8) {
  FileBuilder f = good();
  f.tensors[1].dtype = "I32";
  f.tensors[1].shape = {256};
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE,
              {"tensor 'w.meta'", "dtype I32, expected U8"});
}

TEST_F(WeightFileTest, ParameterMismatchWithTheBundle) {
  // A valid file whose weight is 1:2:32 while the bundle wants 1:2:64.
  PackedWeight other = makeWeight(DType::BF16, 2, 64, 128, 1, 2, 32);
  FileBuilder f;
  f.samoyeds = samoyedsJson(weightJson("w", "bf16", 2, 64, 128, 1, 2, 32));
  addWeight(f, "w", other);
  write(f.bytes());
  sy_weight_file *wf = nullptr;
  ASSERT_EQ(sy_weight_file_open(file.c_str(), &wf), SY_OK) << sy_last_error();
  sy_weight_file_destroy(wf);
  expectError(SY_ERR_PARAM_MISMATCH,
              {"weight 'w' does not match the bundle", "v = 32 (bundle: 64)",
               "manifest.json"},
              "", false);

  PackedWeight h = makeWeight(DType::F16, 1, 64, 128, 1, 4, 64);
  f = FileBuilder();
  f.samoyeds = samoyedsJson(weightJson("w", "f16", 1, 64, 128, 1, 4, 64));
  addWeight(f, "w", h);
  write(f.bytes());
  expectError(SY_ERR_PARAM_MISMATCH,
              {"dtype = f16 (bundle: bf16)", "experts = 1 (bundle: 2)",
               "m = 4 (bundle: 2)"},
              "", false);
}

TEST_F(WeightFileTest, Version1IsRejectedWithAHint) {
  FileBuilder f = good();
  f.samoyeds =
      samoyedsJson(weightJson("w", "bf16", 2, 64, 128, 1, 2, 64, ""), 1);
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE,
              {"__metadata__.samoyeds.version: weight file format version 1 "
               "predates the layout field; re-convert with python -m "
               "samoyeds.convert"});
  // Even with a layout field, version 1 is not read.
  f.samoyeds = samoyedsJson(weightJson("w", "bf16", 2, 64, 128, 1, 2, 64), 1);
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE, {"version 1 predates the layout field"});
}

TEST_F(WeightFileTest, LayoutFieldIsRequiredAndChecked) {
  FileBuilder f = good();
  struct {
    std::string json, want;
  } cases[] = {
      {"", "weights['w'].layout: missing required field"},
      {"\"WGMMA\"", "weights['w'].layout: expected \"mma_sp\", \"wgmma\" or "
                    "\"wgmma_halves\", got 'WGMMA'"},
      {"\"mma-sp\"", "got 'mma-sp'"},
      {"\"\"", "got ''"},
      {"1", "weights['w'].layout: expected \"mma_sp\", \"wgmma\" or "
            "\"wgmma_halves\", got number"},
      {"null", "weights['w'].layout: expected \"mma_sp\", \"wgmma\" or "
               "\"wgmma_halves\", got null"},
      {"[\"wgmma\"]", "got array"},
  };
  for (const auto &c : cases) {
    SCOPED_TRACE(c.json);
    f.samoyeds =
        samoyedsJson(weightJson("w", "bf16", 2, 64, 128, 1, 2, 64, c.json));
    write(f.bytes());
    expectError(SY_ERR_WEIGHT_FILE, {c.want});
  }
}

TEST_F(WeightFileTest, WgmmaWeightMustSatisfyTheLayoutRules) {
  // In 3:4, w has 48 kept rows: wgmma would pad them with 16 rows, no whole
  // groups of 3.
  FileBuilder f = good();
  f.samoyeds =
      samoyedsJson(weightJson("w", "bf16", 2, 64, 128, 3, 4, 64, "\"wgmma\""));
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE,
              {"weights['w']", "layout wgmma pads the 48 kept rows to 64: n = "
                               "3 must divide 64 (padding rows form whole "
                               "groups of n)"});
  // In 1:2, its 32 kept rows are padded to 64: the tensors of an mma_sp pack
  // are too small.
  f.samoyeds =
      samoyedsJson(weightJson("w", "bf16", 2, 64, 128, 1, 2, 64, "\"wgmma\""));
  write(f.bytes());
  expectError(SY_ERR_SIZE_MISMATCH,
              {"tensor 'w.values' has 8192 bytes but weight 'w' (bf16, 2 x 64 "
               "x 128, n:m:v = 1:2:64, layout wgmma) needs 16384"});
  // 128 x 192 (kept rows 64) is a wgmma shape, padded to 256 columns: the
  // tensors of an mma_sp pack are too small for it.
  PackedWeight c = makeWeight(DType::BF16, 1, 128, 192, 1, 2, 64);
  f = FileBuilder();
  f.samoyeds =
      samoyedsJson(weightJson("c", "bf16", 1, 128, 192, 1, 2, 64, "\"wgmma\""));
  addWeight(f, "c", c);
  write(f.bytes());
  sy_weight_file *wf = nullptr;
  EXPECT_EQ(sy_weight_file_open(file.c_str(), &wf), SY_ERR_SIZE_MISMATCH);
  EXPECT_TRUE(
      contains(sy_last_error(),
               "tensor 'c.values' has 12288 bytes but weight 'c' (bf16, "
               "1 x 128 x 192, n:m:v = 1:2:64, layout wgmma) needs "
               "16384"))
      << sy_last_error();
  // The wgmma pack opens and reads.
  f.tensors.clear();
  addWeight(
      f, "c",
      makeWeight(DType::BF16, 1, 128, 192, 1, 2, 64, WeightLayout::Wgmma));
  write(f.bytes());
  ASSERT_EQ(sy_weight_file_open(file.c_str(), &wf), SY_OK) << sy_last_error();
  sy_packed_buffer *buf = nullptr;
  EXPECT_EQ(sy_weight_file_read_weight(wf, "c", &buf), SY_OK)
      << sy_last_error();
  sy_packed_buffer_destroy(buf);
  sy_weight_file_destroy(wf);
}

TEST_F(WeightFileTest, ShapesWhoseSizesOverflowAreRefused) {
  // The audit's 232-byte file: rows 2^33 x cols 2^31 and no tensors used to
  // open with SY_OK (every component size wrapped to 0).
  FileBuilder f;
  f.samoyeds = samoyedsJson(
      weightJson("w", "bf16", 1, int64_t(1) << 33, int64_t(1) << 31, 1, 2, 32));
  write(f.bytes());
  expectError(SY_ERR_WEIGHT_FILE,
              {"__metadata__.samoyeds.weights['w']: experts x rows x cols = 1 "
               "x 8589934592 x 2147483648 is too large (2-byte elements "
               "overflow a 64-bit byte count)"});
}

/// The good file with byte `offset` of component `part` ("row_idx" or
/// "meta") of `w` set to `value`.
FileBuilder corrupt(FileBuilder f, const std::string &part, size_t offset,
                    char value) {
  for (Tensor &t : f.tensors)
    if (t.name == "w." + part)
      t.data[offset] = value;
  return f;
}

TEST_F(WeightFileTest, BadRowIdxOrMetaFailsReadsAndChecks) {
  // Open checks only the header: the content is checked by every call that
  // reads it (read_weight, check_weights, load_weights).
  struct {
    const char *part;
    size_t offset;
    char value;
    const char *want;
  } cases[] = {
      {"row_idx", 70, '\xff',
       "tensor 'w.row_idx': byte 70 (expert 1, span 0, kept row 6) is 255, "
       "not below m = 2"},
      {"meta", 515, '\x4f',
       "tensor 'w.meta': byte 515 (expert 1) holds nibble 0xf: 2:4 metadata "
       "is i0 | i1 << 2 with i0 < i1 (0x4, 0x8, 0x9, 0xc, 0xd or 0xe)"},
  };
  for (const auto &c : cases) {
    SCOPED_TRACE(c.part);
    write(corrupt(good(), c.part, c.offset, c.value).bytes());
    sy_weight_file *wf = nullptr;
    ASSERT_EQ(sy_weight_file_open(file.c_str(), &wf), SY_OK) << sy_last_error();
    sy_packed_buffer *buf = reinterpret_cast<sy_packed_buffer *>(0x1);
    EXPECT_EQ(sy_weight_file_read_weight(wf, "w", &buf), SY_ERR_WEIGHT_FILE);
    EXPECT_EQ(buf, nullptr);
    EXPECT_EQ(sy_last_error(), file + ": " + c.want);
    sy_weight_file_destroy(wf);
    expectError(SY_ERR_WEIGHT_FILE, {c.want}, "", /*onOpen=*/false);
    EXPECT_EQ(sy_last_error(), file + ": " + c.want);
  }
}

/// Manifest of a bundle with one weight `w`: 2 experts of 128 x 128, bf16,
/// 1:2:64 (64 kept rows: both layouts can hold it); `layout` is the JSON
/// text of the weight's "layout" ("" leaves it out).
std::string layoutManifest(const std::string &layout) {
  std::string m = kManifest;
  auto replace = [&](const std::string &from, const std::string &to) {
    size_t pos = m.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    m.replace(pos, from.size(), to);
  };
  replace("\"bytes\": 8192", "\"bytes\": 16384");
  replace("\"bytes\": 1024", "\"bytes\": 2048");
  replace("\"bytes\": 128", "\"bytes\": 256");
  replace("\"rows\": 64, \"cols\": 128, \"n\": 1, \"m\": 2, \"v\": 64",
          "\"rows\": 128, \"cols\": 128, \"n\": 1, \"m\": 2, \"v\": 64" +
              (layout.empty() ? "" : ", \"layout\": " + layout));
  return m;
}

TEST_F(WeightFileTest, LayoutsMayDifferBetweenFileAndBundle) {
  const WeightLayout S = WeightLayout::MmaSp, G = WeightLayout::Wgmma;
  PackedWeight inS = makeWeight(DType::BF16, 2, 128, 128, 1, 2, 64, S);
  PackedWeight inG = makeWeight(DType::BF16, 2, 128, 128, 1, 2, 64, G);
  ASSERT_NE(inS.values, inG.values);
  struct {
    const char *bundleJson;
    sy_weight_layout bundle;
    WeightLayout file;
  } cases[] = {{"", SY_LAYOUT_MMA_SP, G},
               {"\"mma_sp\"", SY_LAYOUT_MMA_SP, S},
               {"\"mma_sp\"", SY_LAYOUT_MMA_SP, G},
               {"\"wgmma\"", SY_LAYOUT_WGMMA, S},
               {"\"wgmma\"", SY_LAYOUT_WGMMA, G}};
  for (const auto &c : cases) {
    SCOPED_TRACE(std::string("bundle ") + c.bundleJson + ", file " +
                 layoutName(c.file));
    std::ofstream(dir + "/manifest.json") << layoutManifest(c.bundleJson);
    sy_bundle *b = nullptr;
    ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
    sy_weight_info info;
    ASSERT_EQ(sy_bundle_find_weight(b, "w", &info), SY_OK);
    EXPECT_EQ(info.layout, c.bundle);

    const PackedWeight &stored = c.file == S ? inS : inG;
    FileBuilder f;
    f.samoyeds =
        samoyedsJson(weightJson("w", "bf16", 2, 128, 128, 1, 2, 64,
                                std::string("\"") + layoutName(c.file) + "\""));
    addWeight(f, "w", stored);
    write(f.bytes());
    EXPECT_EQ(sy_bundle_check_weights(b, file.c_str(), nullptr), SY_OK)
        << sy_last_error();

    // The file reports how it stores the weight and reads it as stored.
    sy_weight_file *wf = nullptr;
    ASSERT_EQ(sy_weight_file_open(file.c_str(), &wf), SY_OK) << sy_last_error();
    ASSERT_EQ(sy_weight_file_find_weight(wf, "w", &info), SY_OK);
    EXPECT_EQ(info.layout, sy_weight_layout(int(c.file)));
    sy_packed_buffer *buf = nullptr;
    ASSERT_EQ(sy_weight_file_read_weight(wf, "w", &buf), SY_OK);
    ASSERT_EQ(sy_packed_buffer_info(buf, &info), SY_OK);
    EXPECT_EQ(info.layout, sy_weight_layout(int(c.file)));
    sy_packed_weight view;
    ASSERT_EQ(sy_packed_buffer_view(buf, &view), SY_OK);
    EXPECT_EQ(std::memcmp(view.values, stored.values.data(), view.values_bytes),
              0);
    sy_packed_buffer_destroy(buf);
    sy_weight_file_destroy(wf);

    // What sy_session_load_weights uploads: the bundle's layout.
    expectReadAs(file, WeightLayout(int(c.bundle)),
                 c.bundle == SY_LAYOUT_MMA_SP ? inS : inG);
    sy_bundle_destroy(b);
  }
}

TEST_F(WeightFileTest, BadContentOfAWgmmaWeightIsFoundToo) {
  std::ofstream(dir + "/manifest.json") << layoutManifest("\"mma_sp\"");
  sy_bundle *b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  PackedWeight g =
      makeWeight(DType::BF16, 2, 128, 128, 1, 2, 64, WeightLayout::Wgmma);
  g.rowIdx[129] = g.rowIdx[128] = 1; // expert 1, span 0, kept rows 0 and 1
  g.rowIdx[133] = 0;
  g.rowIdx[132] = 1; // kept rows 4 and 5 of a 1:2 weight: groups of one row
  FileBuilder f;
  f.samoyeds =
      samoyedsJson(weightJson("w", "bf16", 2, 128, 128, 1, 2, 64, "\"wgmma\""));
  addWeight(f, "w", g);
  write(f.bytes());
  EXPECT_EQ(sy_bundle_check_weights(b, file.c_str(), nullptr), SY_OK)
      << sy_last_error();
  g.meta[3] = 0x44444441u;
  f.tensors.clear();
  addWeight(f, "w", g);
  write(f.bytes());
  EXPECT_EQ(sy_bundle_check_weights(b, file.c_str(), nullptr),
            SY_ERR_WEIGHT_FILE);
  EXPECT_EQ(sy_last_error(),
            file + ": tensor 'w.meta': byte 12 (expert 0) holds nibble 0x1: "
                   "2:4 metadata is i0 | i1 << 2 with i0 < i1 (0x4, 0x8, "
                   "0x9, 0xc, 0xd or 0xe)");
  WeightFile opened;
  std::string err;
  ASSERT_EQ(openWeightFile(file, opened, err), SY_OK) << err;
  PackedWeight up;
  EXPECT_EQ(readFileWeightAs(opened, 0, WeightLayout::MmaSp, up, err),
            SY_ERR_WEIGHT_FILE);
  EXPECT_EQ(err, sy_last_error());
  sy_bundle_destroy(b);
}

/// Manifest of a bundle with one weight `w`: 2 experts of `rows` x `cols`,
/// bf16, 1:2:`v` in `layout`, its buffers of that layout's sizes (the wgmma
/// layouts pad K to 128 and the kept rows to 64-row tiles).
std::string shapedManifest(WeightLayout layout, int64_t rows, int64_t cols,
                           int v) {
  std::string m = kManifest;
  auto replace = [&](const std::string &from, const std::string &to) {
    size_t pos = m.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    m.replace(pos, from.size(), to);
  };
  std::array<int64_t, 3> bytes =
      componentBytes({1, 2, v}, {2, rows, cols}, layout);
  replace("\"bytes\": 8192", "\"bytes\": " + std::to_string(bytes[0]));
  replace("\"bytes\": 1024", "\"bytes\": " + std::to_string(bytes[1]));
  replace("\"bytes\": 128", "\"bytes\": " + std::to_string(bytes[2]));
  replace("\"rows\": 64, \"cols\": 128, \"n\": 1, \"m\": 2, \"v\": 64",
          "\"rows\": " + std::to_string(rows) +
              ", \"cols\": " + std::to_string(cols) +
              ", \"n\": 1, \"m\": 2, \"v\": " + std::to_string(v) +
              ", \"layout\": \"" + layoutName(layout) + "\"");
  return m;
}

/// Manifest of a bundle with one weight `w`: 2 experts of 128 x 192, bf16,
/// 1:2:64 (64 kept rows, 3 spans) in `layout`, whose wgmma values and meta
/// are padded to 256 columns.
std::string paddedManifest(WeightLayout layout) {
  return shapedManifest(layout, 128, 192, 64);
}

/// For 2 experts of `rows` x `cols`, bf16, 1:2:`v`, and every pair of the
/// `layouts` of the bundle and of the file: the file's tensors have its
/// layout's sizes, the bundle's buffers the bundle's; the weight checks and
/// is relaid out between them.
void expectLayoutsMatch(const std::string &dir, const std::string &file,
                        int64_t rows, int64_t cols, int v,
                        const std::vector<WeightLayout> &layouts) {
  for (WeightLayout bundleLayout : layouts)
    for (WeightLayout fileLayout : layouts) {
      SCOPED_TRACE(std::string("bundle ") + layoutName(bundleLayout) +
                   ", file " + layoutName(fileLayout));
      std::ofstream(dir + "/manifest.json")
          << shapedManifest(bundleLayout, rows, cols, v);
      sy_bundle *b = nullptr;
      ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
      FileBuilder f;
      f.samoyeds = samoyedsJson(
          weightJson("w", "bf16", 2, rows, cols, 1, 2, v,
                     std::string("\"") + layoutName(fileLayout) + "\""));
      addWeight(f, "w",
                makeWeight(DType::BF16, 2, rows, cols, 1, 2, v, fileLayout));
      std::ofstream(file, std::ios::binary) << f.bytes();
      EXPECT_EQ(sy_bundle_check_weights(b, file.c_str(), nullptr), SY_OK)
          << sy_last_error();
      expectReadAs(
          file, bundleLayout,
          makeWeight(DType::BF16, 2, rows, cols, 1, 2, v, bundleLayout));
      sy_bundle_destroy(b);
    }
}

TEST_F(WeightFileTest, PaddedWgmmaWeightsMatchEitherBundleLayout) {
  // K = 192: the file's tensors have its layout's sizes (wgmma: padded), the
  // bundle's buffers the bundle's; the weight is relaid out between them.
  const WeightLayout S = WeightLayout::MmaSp, G = WeightLayout::Wgmma;
  PackedWeight in[2] = {makeWeight(DType::BF16, 2, 128, 192, 1, 2, 64, S),
                        makeWeight(DType::BF16, 2, 128, 192, 1, 2, 64, G)};
  ASSERT_EQ(in[1].valuesBytes(), 2 * 64 * 256);
  ASSERT_EQ(in[0].valuesBytes(), 2 * 64 * 192);
  ASSERT_EQ(in[1].rowIdx, in[0].rowIdx);
  expectLayoutsMatch(dir, file, 128, 192, 64, {S, G});
}

TEST_F(WeightFileTest, RowPaddedWeightsMatchEveryBundleLayout) {
  // 160 x 160, 1:2:32: 80 kept rows, which wgmma pads to 128 and
  // wgmma_halves as two halves of 40, each to 64; K padded to 256.
  const WeightLayout S = WeightLayout::MmaSp, G = WeightLayout::Wgmma,
                     H = WeightLayout::WgmmaHalves;
  for (WeightLayout l : {G, H}) {
    PackedWeight w = makeWeight(DType::BF16, 2, 160, 160, 1, 2, 32, l);
    EXPECT_EQ(w.valuesBytes(), 2 * 128 * 256);
    EXPECT_EQ(w.metaBytes(), 2 * 128 * 256 / 8);
    EXPECT_EQ(w.rowIdxBytes(), 2 * 5 * 128);
  }
  expectLayoutsMatch(dir, file, 160, 160, 32, {S, G, H});
  // K = 128 (no K padding): only the tiles with padding rows hold padding.
  expectLayoutsMatch(dir, file, 160, 128, 32, {S, G, H});
}

/// A byte of a component set to `value` and the error every reader gives.
struct BadByte {
  const char *part;
  size_t offset;
  uint8_t value;
  std::string want;
};

/// Expects every reader to refuse the wgmma weight `g` (2 experts, 1:2) with
/// each of `cases`, naming the tensor and the byte: read_weight (all values),
/// check_weights against the mma_sp bundle in `dir` (only the ranges that
/// hold padding) and the upload path; and `g` itself to pass.
void expectBadBytesFound(const std::string &dir, const std::string &file,
                         const PackedWeight &g,
                         const std::vector<BadByte> &cases) {
  std::ofstream(dir + "/manifest.json")
      << shapedManifest(WeightLayout::MmaSp, g.s.rows, g.s.cols, g.p.v);
  sy_bundle *b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  auto writeFile = [&](const PackedWeight &w) {
    FileBuilder f;
    f.samoyeds = samoyedsJson(
        weightJson("w", "bf16", 2, g.s.rows, g.s.cols, 1, 2, g.p.v,
                   std::string("\"") + layoutName(g.layout) + "\""));
    addWeight(f, "w", w);
    std::ofstream(file, std::ios::binary) << f.bytes();
  };
  for (const BadByte &c : cases) {
    SCOPED_TRACE(c.part);
    PackedWeight bad = g;
    uint8_t *bytes = c.part[0] == 'r' ? bad.rowIdx.data()
                     : c.part[0] == 'v'
                         ? reinterpret_cast<uint8_t *>(bad.values.data())
                         : reinterpret_cast<uint8_t *>(bad.meta.data());
    bytes[c.offset] = c.value;
    writeFile(bad);
    sy_weight_file *wf = nullptr;
    ASSERT_EQ(sy_weight_file_open(file.c_str(), &wf), SY_OK) << sy_last_error();
    sy_packed_buffer *buf = nullptr;
    EXPECT_EQ(sy_weight_file_read_weight(wf, "w", &buf), SY_ERR_WEIGHT_FILE);
    EXPECT_EQ(sy_last_error(), file + ": " + c.want);
    sy_weight_file_destroy(wf);
    EXPECT_EQ(sy_bundle_check_weights(b, file.c_str(), nullptr),
              SY_ERR_WEIGHT_FILE);
    EXPECT_EQ(sy_last_error(), file + ": " + c.want);
    WeightFile opened;
    std::string err;
    ASSERT_EQ(openWeightFile(file, opened, err), SY_OK) << err;
    PackedWeight up;
    EXPECT_EQ(readFileWeightAs(opened, 0, WeightLayout::MmaSp, up, err),
              SY_ERR_WEIGHT_FILE);
    EXPECT_EQ(err, file + ": " + c.want);
  }
  // The same file with the packer's padding passes.
  writeFile(g);
  EXPECT_EQ(sy_bundle_check_weights(b, file.c_str(), nullptr), SY_OK)
      << sy_last_error();
  sy_bundle_destroy(b);
}

TEST_F(WeightFileTest, PaddingThatIsNotThePackersIsFoundWithItsPosition) {
  // Every reader refuses a wgmma file whose padding is not zero values and
  // 0x4 nibbles.
  // Values: expert 1's last k block starts at 16384 + 8192; kept row 2
  // stores logical chunk 7 ^ 2 = 5 (compressed columns 64 + 40.., past
  // K / 2 = 96) at chunk 7.
  // Meta: expert 1 (from byte 2048), 64-byte block (ks = 6) * 4 + 3 = 27:
  // kept rows 48..63, k step 6 of 8 (6 and 7 are padding).
  expectBadBytesFound(
      dir, file,
      makeWeight(DType::BF16, 2, 128, 192, 1, 2, 64, WeightLayout::Wgmma),
      {{"values", 16384 + 8192 + 2 * 128 + 7 * 16, 0x3c,
        "tensor 'w.values': byte 24944 (expert 1, kept row 2, compressed "
        "column 104: padding past cols = 192) is 0x3c, not 0: layout wgmma "
        "pads the values with zeros"},
       {"meta", 2048 + 27 * 64 + 10, 0x94,
        "tensor 'w.meta': byte 3786 (expert 1, kept rows 48..63, k step 6: "
        "padding past cols = 192) holds nibble 0x9, not 0x4: layout wgmma "
        "pads the metadata with 0x4"}});
}

TEST_F(WeightFileTest, RowPaddingThatIsNotThePackersIsFoundWithItsPosition) {
  // wgmma_halves, 2 experts of 160 x 256, 1:2:32: halves of 40 kept rows,
  // each padded to 64 (stored kept rows 40..63 and 104..127), 2 k blocks.
  // Values: expert 1 (from byte 32768), tile 0, k block 0 (not the last: a
  // reader must read the whole tile), stored row 50, chunk 0.
  // Meta: expert 0, 64-byte block (T = 1, ks = 3, w = 2) = (8 + 3) * 4 + 2 =
  // 46, word 2 * 6 (rows 6 and 14 of the 16-row tile: stored rows 102 and
  // 110), byte 2 (row 110's chunks 0 and 1).
  // Row_idx: expert 1 (from byte 1024), span 2, stored row 105.
  expectBadBytesFound(
      dir, file,
      makeWeight(DType::BF16, 2, 160, 256, 1, 2, 32, WeightLayout::WgmmaHalves),
      {{"values", 32768 + 50 * 128, 0x3c,
        "tensor 'w.values': byte 39168 (expert 1, stored kept row 50: "
        "padding row 10 of half 0 past its 40 kept rows) is 0x3c, not 0: "
        "layout wgmma_halves pads the values with zeros"},
       {"meta", 46 * 64 + 12 * 4 + 2, 0x94,
        "tensor 'w.meta': byte 2994 (expert 0, stored kept row 110: padding "
        "row 6 of half 1 past its 40 kept rows) holds nibble 0x9, not 0x4: "
        "layout wgmma_halves pads the metadata with 0x4"},
       {"row_idx", 1024 + 2 * 128 + 105, 1,
        "tensor 'w.row_idx': byte 1385 (expert 1, span 2, stored kept row "
        "105: padding row 1 of half 1 past its 40 kept rows) is 1, not 0: "
        "layout wgmma_halves pads row_idx with the padding row's index "
        "modulo n = 1"}});
}

TEST_F(WeightFileTest, SessionLoadWeightsArguments) {
  write(good().bytes());
  EXPECT_EQ(sy_session_load_weights(nullptr, file.c_str(), nullptr),
            SY_ERR_INVALID_ARGUMENT);
  // A device-less bundle has no session; on a GPU machine load the real one.
  sy_session *session = nullptr;
  EXPECT_EQ(sy_session_create(bundle, &session), SY_ERR_NOT_READY);
}

/// PTX of `copy_words(src, dst)`: dst[i] = src[i] for every 32-bit word of
/// src (both passed as MLIR's expanded 1-D memref descriptors).
const char *kCopyWordsPtx = R"(.version 8.0
.target sm_90
.address_size 64

.visible .entry copy_words(.param .u64 sa, .param .u64 sp, .param .u64 so,
    .param .u64 ss, .param .u64 st, .param .u64 da, .param .u64 dp,
    .param .u64 dof, .param .u64 ds, .param .u64 dst)
{
  .reg .pred %p;
  .reg .b32 %r<6>;
  .reg .b64 %rd<8>;
  ld.param.u64 %rd1, [sp];
  ld.param.u64 %rd2, [ss];
  ld.param.u64 %rd3, [dp];
  mov.u32 %r1, %ctaid.x;
  mov.u32 %r2, %ntid.x;
  mov.u32 %r3, %tid.x;
  mad.lo.u32 %r4, %r1, %r2, %r3;
  cvt.u64.u32 %rd4, %r4;
  setp.ge.u64 %p, %rd4, %rd2;
  @%p bra DONE;
  shl.b64 %rd5, %rd4, 2;
  add.u64 %rd6, %rd1, %rd5;
  add.u64 %rd7, %rd3, %rd5;
  ld.global.u32 %r5, [%rd6];
  st.global.u32 [%rd7], %r5;
DONE:
  ret;
}
)";

/// A bundle whose kernels copy the uploaded values and meta of `w` (2 x 128 x
/// 128, 1:2:64, in `layout`) to the outputs `yv` and `ym`.
std::string copyManifest(const std::string &layout) {
  auto copy = [](const char *from, const char *to, int blocks) {
    return std::string("{\"kernel\": \"copy_words\", \"grid\": [{\"const\": ") +
           std::to_string(blocks) +
           "}, {\"const\": 1}, {\"const\": 1}], \"block\": [256, 1, 1], "
           "\"args\": [{\"buffer\": \"" +
           from + "\", \"elem_bytes\": 4}, {\"buffer\": \"" + to +
           "\", \"elem_bytes\": 4}]}";
  };
  return R"({"format": "samoyeds-bundle", "version": 1, "chip": "sm_90a",
  "module": "kernels.ptx", "symbols": [],
  "buffers": [
    {"name": "w.values", "kind": "weight", "dtype": "bf16", "bytes": 16384, "of": "w", "part": "values"},
    {"name": "w.meta", "kind": "weight", "dtype": "u32", "bytes": 2048, "of": "w", "part": "meta"},
    {"name": "w.row_idx", "kind": "weight", "dtype": "u8", "bytes": 256, "of": "w", "part": "row_idx"},
    {"name": "yv", "kind": "output", "dtype": "u32", "shape": [4096]},
    {"name": "ym", "kind": "output", "dtype": "u32", "shape": [512]}],
  "weights": [{"name": "w", "dtype": "bf16", "experts": 2, "rows": 128,
    "cols": 128, "n": 1, "m": 2, "v": 64, "layout": ")" +
         layout + R"("}],
  "launches": [)" +
         copy("w.values", "yv", 16) + ", " + copy("w.meta", "ym", 2) + "]}";
}

/// A bundle loaded on the device and a session of it, freed at the end.
struct DeviceSession {
  sy_bundle *bundle = nullptr;
  sy_session *session = nullptr;
  ~DeviceSession() {
    EXPECT_EQ(sy_session_destroy(session), SY_OK);
    EXPECT_EQ(sy_bundle_destroy(bundle), SY_OK);
  }
};

/// sy_bundle_load of `dir` and sy_session_create into `ds`; skips the test
/// without a device (callers check IsSkipped() and HasFatalFailure()).
void loadSession(const std::string &dir, DeviceSession &ds) {
  sy_status st = sy_bundle_load(dir.c_str(), &ds.bundle);
  if (st == SY_ERR_NO_DEVICE)
    GTEST_SKIP() << sy_last_error();
  ASSERT_EQ(st, SY_OK) << sy_last_error();
  ASSERT_EQ(sy_session_create(ds.bundle, &ds.session), SY_OK)
      << sy_last_error();
}

/// Runs the copy bundle in `dir` after sy_session_load_weights of `file`;
/// returns the device's values and meta words.
void loadAndCopy(const std::string &dir, const std::string &file,
                 std::vector<uint32_t> &values, std::vector<uint32_t> &meta) {
  DeviceSession ds;
  loadSession(dir, ds);
  if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure())
    return;
  sy_session *s = ds.session;
  ASSERT_EQ(sy_session_load_weights(s, file.c_str(), nullptr), SY_OK)
      << sy_last_error();
  values.assign(4096, 0);
  meta.assign(512, 0);
  uint64_t yv = 0, ym = 0;
  ASSERT_EQ(sy_device_alloc(values.size() * 4, &yv), SY_OK);
  ASSERT_EQ(sy_device_alloc(meta.size() * 4, &ym), SY_OK);
  ASSERT_EQ(sy_session_bind(s, "yv", yv, values.size() * 4), SY_OK);
  ASSERT_EQ(sy_session_bind(s, "ym", ym, meta.size() * 4), SY_OK);
  ASSERT_EQ(sy_session_run(s, nullptr, nullptr, 0, nullptr), SY_OK)
      << sy_last_error();
  ASSERT_EQ(sy_device_sync(), SY_OK) << sy_last_error();
  ASSERT_EQ(sy_memcpy_dtoh(values.data(), yv, values.size() * 4), SY_OK);
  ASSERT_EQ(sy_memcpy_dtoh(meta.data(), ym, meta.size() * 4), SY_OK);
  sy_device_free(yv);
  sy_device_free(ym);
}

TEST_F(WeightFileTest, SessionLoadWeightsUploadsTheBundlesLayout) {
  // On a GPU: the device holds the bundle's layout whatever the file's.
  const WeightLayout S = WeightLayout::MmaSp, G = WeightLayout::Wgmma;
  PackedWeight in[2] = {makeWeight(DType::BF16, 2, 128, 128, 1, 2, 64, S),
                        makeWeight(DType::BF16, 2, 128, 128, 1, 2, 64, G)};
  std::ofstream(dir + "/kernels.ptx") << kCopyWordsPtx;
  for (WeightLayout bundleLayout : {S, G})
    for (WeightLayout fileLayout : {S, G}) {
      SCOPED_TRACE(std::string("bundle ") + layoutName(bundleLayout) +
                   ", file " + layoutName(fileLayout));
      std::ofstream(dir + "/manifest.json")
          << copyManifest(layoutName(bundleLayout));
      FileBuilder f;
      f.samoyeds = samoyedsJson(
          weightJson("w", "bf16", 2, 128, 128, 1, 2, 64,
                     std::string("\"") + layoutName(fileLayout) + "\""));
      addWeight(f, "w", in[int(fileLayout)]);
      write(f.bytes());
      std::vector<uint32_t> values, meta;
      loadAndCopy(dir, file, values, meta);
      if (IsSkipped() || HasFatalFailure())
        return;
      EXPECT_EQ(values, in[int(bundleLayout)].values);
      EXPECT_EQ(meta, in[int(bundleLayout)].meta);
    }
}

TEST_F(WeightFileTest, UploadsRefuseBadRowIdxAndMeta) {
  // On a GPU: the kernels index with row_idx and meta, so neither upload path
  // lets a bad byte reach the device.
  std::ofstream(dir + "/kernels.ptx") << kCopyWordsPtx;
  std::ofstream(dir + "/manifest.json") << copyManifest("mma_sp");
  DeviceSession ds;
  loadSession(dir, ds);
  if (IsSkipped() || HasFatalFailure())
    return;
  sy_session *s = ds.session;
  PackedWeight g = makeWeight(DType::BF16, 2, 128, 128, 1, 2, 64);
  g.rowIdx[5] = 9;
  sy_packed_weight pw = {g.values.data(), uint64_t(g.valuesBytes()),
                         g.meta.data(),   uint64_t(g.metaBytes()),
                         g.rowIdx.data(), uint64_t(g.rowIdxBytes())};
  EXPECT_EQ(sy_session_upload_weight(s, "w", &pw), SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sy_last_error(), "weight 'w' part 'row_idx': byte 5 (expert 0, "
                                "span 0, kept row 5) is 9, not below m = 2");
  g.rowIdx[5] = 0;
  g.meta[0] = 0;
  EXPECT_EQ(sy_session_upload_weight(s, "w", &pw), SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sy_last_error(),
               "weight 'w' part 'meta': byte 0 (expert 0) holds nibble 0x0: "
               "2:4 metadata is i0 | i1 << 2 with i0 < i1 (0x4, 0x8, 0x9, "
               "0xc, 0xd or 0xe)");
  FileBuilder f;
  f.samoyeds = samoyedsJson(
      weightJson("w", "bf16", 2, 128, 128, 1, 2, 64, "\"mma_sp\""));
  g.meta[0] = 0x44444444u;
  g.rowIdx[255] = 2;
  addWeight(f, "w", g);
  write(f.bytes());
  EXPECT_EQ(sy_session_load_weights(s, file.c_str(), nullptr),
            SY_ERR_WEIGHT_FILE);
  EXPECT_EQ(sy_last_error(),
            file + ": tensor 'w.row_idx': byte 255 (expert 1, span 1, kept "
                   "row 63) is 2, not below m = 2");
  EXPECT_EQ(sy_session_run(s, nullptr, nullptr, 0, nullptr), SY_ERR_NOT_READY);
  EXPECT_STREQ(sy_last_error(), "sy_session_run: weight 'w' was not uploaded");
}

TEST_F(WeightFileTest, SessionRunRefusesBuffersThatOverflow) {
  // On a GPU (the copy kernel is just a loadable module here).
  std::ofstream(dir + "/kernels.ptx") << kCopyWordsPtx;
  std::ofstream(dir + "/manifest.json") << R"({"format": "samoyeds-bundle",
  "version": 1, "chip": "sm_90a", "module": "kernels.ptx", "symbols": ["P"],
  "buffers": [{"name": "y", "kind": "output", "dtype": "u8",
               "shape": ["P", 2147483647, 2147483647]}],
  "launches": [{"kernel": "copy_words", "grid": [{"const": 0}, {"const": 1},
    {"const": 1}], "block": [32, 1, 1], "args": [{"buffer": "y"},
    {"buffer": "y"}]}]})";
  DeviceSession ds;
  loadSession(dir, ds);
  if (IsSkipped() || HasFatalFailure())
    return;
  sy_session *s = ds.session;
  ASSERT_EQ(sy_session_bind(s, "y", 0, 0), SY_OK);
  const char *names[] = {"P"};
  int64_t values[] = {4};
  EXPECT_EQ(sy_session_run(s, names, values, 1, nullptr),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sy_last_error(),
               "sy_session_run: buffer 'y' of shape [P = 4, 2147483647, "
               "2147483647] is too large (its bytes overflow a 64-bit count)");
}

} // namespace
