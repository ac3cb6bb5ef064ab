//===- WeightFileFuzzer.cpp - libFuzzer target: packed weight files -------===//
//
// Writes the input to a temporary file and reads it as a packed weight file
// (docs/WeightFiles.md) through the C API: sy_weight_file_open, every
// weight's info and metadata, sy_weight_file_read_weight, and
// sy_bundle_check_weights against a small bundle whose weight "w" is what the
// seeds hold (2 x 64 x 128, bf16, 1:2:64). A weight that reads passed the
// reader's content checks, so it must unpack, and relaying it out and back
// must give it back. Errors must follow the message rules (FuzzCommon.h).
//
//===----------------------------------------------------------------------===//

#include "FuzzCommon.h"
#include "WeightFile.h"

#include <cstdint>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace samoyeds;
using namespace samoyeds::rt;

namespace {

const char *kManifest = R"({"format": "samoyeds-bundle", "version": 1,
  "chip": "sm_90a", "module": "kernels.ptx", "symbols": ["P"],
  "buffers": [
    {"name": "w.values", "kind": "weight", "dtype": "bf16", "bytes": 8192, "of": "w", "part": "values"},
    {"name": "w.meta", "kind": "weight", "dtype": "u32", "bytes": 1024, "of": "w", "part": "meta"},
    {"name": "w.row_idx", "kind": "weight", "dtype": "u8", "bytes": 128, "of": "w", "part": "row_idx"}],
  "weights": [{"name": "w", "dtype": "bf16", "experts": 2, "rows": 64, "cols": 128,
               "n": 1, "m": 2, "v": 64}],
  "launches": []})";

std::string dir, path;
sy_bundle *bundle = nullptr;

void tearDown() {
  sy_bundle_destroy(bundle);
  for (const char *name :
       {"/manifest.json", "/kernels.ptx", "/input.safetensors"})
    unlink((dir + name).c_str());
  rmdir(dir.c_str());
}

/// The bundle the inputs are checked against, in a temporary directory.
void setUp() {
  const char *tmp = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/samoyeds-fuzz-wf-XXXXXX";
  if (!mkdtemp(&tmpl[0]))
    fuzz::violated("cannot create a temporary directory", tmpl);
  dir = tmpl;
  path = dir + "/input.safetensors";
  std::ofstream(dir + "/manifest.json") << kManifest;
  std::ofstream(dir + "/kernels.ptx") << "// not loaded\n";
  if (sy_bundle_open(dir.c_str(), &bundle) != SY_OK)
    fuzz::violated("the fixed bundle does not open", sy_last_error());
  std::atexit(tearDown);
}

/// The properties of a weight the reader accepted.
void checkAccepted(const PackedWeight &w) {
  std::string why = checkPacked(w);
  if (!why.empty())
    fuzz::violated("read_weight accepted a weight checkPacked refuses", why);
  std::string err;
  std::vector<uint16_t> dense = unpack(w, &err);
  if (!err.empty())
    fuzz::violated("an accepted weight does not unpack", err);
  PackedWeight there;
  if (fuzz::relayoutRoundTrip(w, there) && unpack(there) != dense)
    fuzz::violated("relayout changed the logical content", "");
}

/// Every query and read of the opened file.
void readAll(sy_weight_file *file) {
  int32_t count = 0;
  if (sy_weight_file_num_weights(file, &count) != SY_OK)
    fuzz::violated("num_weights failed", sy_last_error());
  const char *value = nullptr;
  for (const char *key : {"source", "model", "format"})
    if (sy_weight_file_metadata(file, key, &value) != SY_OK)
      fuzz::checkMessage(sy_last_error(), path);
  for (int32_t i = 0; i < count; ++i) {
    sy_weight_info info;
    if (sy_weight_file_weight_info(file, i, &info) != SY_OK)
      fuzz::violated("weight_info failed", sy_last_error());
    sy_packed_buffer *buf = nullptr;
    if (sy_weight_file_read_weight(file, info.name, &buf) != SY_OK) {
      fuzz::checkMessage(sy_last_error(), path);
      continue;
    }
    checkAccepted(buf->weight);
    sy_packed_buffer_destroy(buf);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!bundle)
    setUp();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data), std::streamsize(size));
  }
  sy_weight_file *file = nullptr;
  if (sy_weight_file_open(path.c_str(), &file) == SY_OK)
    readAll(file);
  else
    fuzz::checkMessage(sy_last_error(), path);
  sy_weight_file_destroy(file);
  for (const char *prefix : {"", "layers.0."})
    if (sy_bundle_check_weights(bundle, path.c_str(), prefix) != SY_OK)
      fuzz::checkMessage(sy_last_error(), path + dir);
  return 0;
}
