//===- BundleTest.cpp - Tests of JSON, manifests and the C API
//-------------===//

#include "Json.h"
#include "Manifest.h"
#include "samoyeds-c/Runtime.h"

#include <gtest/gtest.h>

#include <array>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace samoyeds;

namespace {

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

TEST(Json, ParsesAllKinds) {
  json::Value v;
  std::string err;
  ASSERT_TRUE(json::parse(R"( {"a": [1, -2, 3.5, 1e3, true, false, null],
      "s": "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "o": {}, "e": []} )",
                          v, err))
      << err;
  ASSERT_TRUE(v.isObject());
  const json::Value *a = v.get("a");
  ASSERT_TRUE(a && a->isArray());
  ASSERT_EQ(a->array.size(), 7u);
  EXPECT_TRUE(a->array[0].isInteger);
  EXPECT_EQ(a->array[0].integer, 1);
  EXPECT_EQ(a->array[1].integer, -2);
  EXPECT_FALSE(a->array[2].isInteger);
  EXPECT_DOUBLE_EQ(a->array[2].number, 3.5);
  EXPECT_DOUBLE_EQ(a->array[3].number, 1000);
  EXPECT_TRUE(a->array[4].boolean);
  EXPECT_FALSE(a->array[5].boolean);
  EXPECT_TRUE(a->array[6].isNull());
  EXPECT_EQ(v.get("s")->string, "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(v.get("o")->isObject());
  EXPECT_TRUE(v.get("e")->isArray());
  EXPECT_EQ(v.get("missing"), nullptr);
}

void expectJsonError(const std::string &text, const std::string &where,
                     const std::string &what) {
  json::Value v;
  std::string err;
  EXPECT_FALSE(json::parse(text, v, err)) << text;
  EXPECT_EQ(err.compare(0, where.size(), where), 0) << "got: " << err;
  EXPECT_NE(err.find(what), std::string::npos) << "got: " << err;
}

TEST(Json, ErrorsCarryLineAndColumn) {
  expectJsonError("{\n  \"a\": tru }", "2:8:", "invalid literal");
  expectJsonError("[1, 2,]", "1:7:", "unexpected character");
  expectJsonError("{\"a\": \"abc", "1:11:", "unterminated string");
  expectJsonError("{\"a\" 1}", "1:6:", "expected ':'");
  expectJsonError("{\"a\": 1, \"a\": 2}", "1:", "duplicate key");
  expectJsonError("[1] x", "1:5:", "trailing characters");
  expectJsonError("", "1:1:", "unexpected end");
  expectJsonError("\n\n  [01]", "3:5:", "expected ',' or ']'");
  expectJsonError("\"\\x\"", "1:3:", "invalid escape");
  expectJsonError("\"\\ud800\"", "1:", "surrogate");
  expectJsonError("[-]", "1:", "invalid number");
  expectJsonError("[1.]", "1:", "digits after '.'");
  expectJsonError("{1: 2}", "1:2:", "expected a string key");
}

TEST(Json, QuoteBoundsAndEscapes) {
  EXPECT_EQ(json::quote("w13.values"), "'w13.values'");
  EXPECT_EQ(json::quote(""), "''");
  EXPECT_EQ(json::quote(std::string("a'b\\c\n\x01\xff\0", 9)),
            "'a\\'b\\\\c\\x0a\\x01\\xff\\x00'");
  EXPECT_EQ(json::quote(std::string(64, 'x')),
            "'" + std::string(64, 'x') + "'");
  EXPECT_EQ(json::quote(std::string(1 << 20, 'x')),
            "'" + std::string(64, 'x') + "...' (1048576 bytes)");
  // The limit counts input bytes; an escape is never cut.
  EXPECT_EQ(
      json::quote(std::string(65, '\x7f')), "'" + [] {
        std::string e;
        for (int i = 0; i < 64; ++i)
          e += "\\x7f";
        return e;
      }() + "...' (65 bytes)");
}

TEST(Json, ErrorsQuoteWhatTheyEcho) {
  expectJsonError("[\x01]", "1:2:", "unexpected character '\\x01'");
  expectJsonError("\"\\\x80\"", "1:3:", "invalid escape '\\\\\\x80'");
  std::string key(1 << 20, 'k');
  json::Value v;
  std::string err;
  EXPECT_FALSE(json::parse("{\"" + key + "\": 1, \"" + key + "\": 2}", v, err));
  EXPECT_NE(err.find("duplicate key '" + std::string(64, 'k') +
                     "...' (1048576 bytes)"),
            std::string::npos);
  EXPECT_LT(err.size(), 200u);
}

TEST(Json, NestingIsBounded) {
  expectJsonError(std::string(257, '[') + std::string(257, ']'),
                  "1:257:", "nesting deeper than 256");
  json::Value v;
  std::string err;
  EXPECT_TRUE(
      json::parse(std::string(256, '[') + std::string(256, ']'), v, err))
      << err;
  // Far deeper input fails the same way, without exhausting the stack.
  expectJsonError(std::string(1 << 20, '['),
                  "1:257:", "nesting deeper than 256");
}

TEST(Json, StringsMustBeUtf8) {
  json::Value v;
  std::string err;
  // 2-, 3- and 4-byte sequences.
  ASSERT_TRUE(json::parse("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", v, err))
      << err;
  EXPECT_EQ(v.string, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  for (const char *bad : {"\"\x80\"",             // stray continuation
                          "\"\xc3\"",             // truncated
                          "\"\xc3(\"",            // bad continuation
                          "\"\xc0\xaf\"",         // overlong '/'
                          "\"\xe0\x80\xaf\"",     // overlong '/'
                          "\"\xed\xa0\x80\"",     // surrogate U+D800
                          "\"\xf4\x90\x80\x80\"", // above U+10FFFF
                          "\"\xff\""})
    expectJsonError(bad, "1:2:", "invalid UTF-8 in string");
}

//===----------------------------------------------------------------------===//
// Manifests
//===----------------------------------------------------------------------===//

/// w: 2 experts of 64 x 128, n = 1, m = 2, v = 64 => Rk = 32, values 2*4096,
/// meta 2*512, row_idx 2*2*32.
const char *kValidManifest = R"({
  "format": "samoyeds-bundle", "version": 1,
  "chip": "sm_90a", "ptx_version": 85,
  "module": "kernels.ptx", "cubin": "kernels.cubin",
  "epilogue": "silu_mul",
  "symbols": ["T", "P"],
  "buffers": [
    {"name": "x", "kind": "input", "dtype": "bf16", "shape": ["T", 128]},
    {"name": "tokens", "kind": "input", "dtype": "i32", "shape": ["P"]},
    {"name": "offsets", "kind": "input", "dtype": "i32", "shape": [3]},
    {"name": "w.values", "kind": "weight", "dtype": "bf16", "bytes": 8192, "of": "w", "part": "values"},
    {"name": "w.meta", "kind": "weight", "dtype": "u32", "bytes": 1024, "of": "w", "part": "meta"},
    {"name": "w.row_idx", "kind": "weight", "dtype": "u8", "bytes": 128, "of": "w", "part": "row_idx"},
    {"name": "y", "kind": "output", "dtype": "bf16", "shape": ["P", 32]},
    {"name": "ws0", "kind": "workspace", "dtype": "f32", "shape": ["P", 64]}
  ],
  "weights": [
    {"name": "w", "dtype": "bf16", "experts": 2, "rows": 64, "cols": 128, "n": 1, "m": 2, "v": 64}
  ],
  "launches": [
    {"kernel": "samoyeds_ssmm_0",
     "grid": [{"const": 2}, {"ceil_div": ["P", 32]}, {"const": 1}],
     "block": [128, 1, 1], "smem": 65536,
     "args": [{"buffer": "w.values"}, {"buffer": "w.meta"}, {"buffer": "w.row_idx"},
              {"buffer": "x"}, {"buffer": "tokens"}, {"buffer": "offsets"},
              {"buffer": "y"}, {"buffer": "ws0"}, {"symbol": "P"}, {"i32": -3}]}
  ]
})";

class BundleDir : public ::testing::Test {
protected:
  std::string dir;

  void SetUp() override {
    char tmpl[] = "/tmp/samoyeds-bundle-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    write("kernels.ptx", "// not a real module\n");
  }
  void TearDown() override {
    std::remove((dir + "/manifest.json").c_str());
    std::remove((dir + "/kernels.ptx").c_str());
    std::remove((dir + "/kernels.cubin").c_str());
    rmdir(dir.c_str());
  }
  void write(const std::string &name, const std::string &text) {
    std::ofstream(dir + "/" + name) << text;
  }
  /// Writes the valid manifest with `from` replaced by `to`.
  void writeMutated(const std::string &from, const std::string &to) {
    std::string text = kValidManifest;
    size_t pos = text.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    text.replace(pos, from.size(), to);
    write("manifest.json", text);
  }
  /// Expects sy_bundle_open to fail with `status` and a message containing
  /// every string of `parts`.
  void expectError(sy_status status, std::initializer_list<std::string> parts) {
    sy_bundle *b = reinterpret_cast<sy_bundle *>(0x1);
    EXPECT_EQ(sy_bundle_open(dir.c_str(), &b), status) << sy_last_error();
    EXPECT_EQ(b, nullptr);
    std::string msg = sy_last_error();
    for (const std::string &p : parts)
      EXPECT_NE(msg.find(p), std::string::npos)
          << "'" << p << "' not in: " << msg;
    // sy_bundle_load validates first, so it reports the same error.
    b = nullptr;
    EXPECT_EQ(sy_bundle_load(dir.c_str(), &b), status);
    EXPECT_EQ(b, nullptr);
  }
};

TEST_F(BundleDir, OpenAndIntrospect) {
  write("manifest.json", kValidManifest);
  sy_bundle *b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  const char *s = nullptr;
  ASSERT_EQ(sy_bundle_chip(b, &s), SY_OK);
  EXPECT_STREQ(s, "sm_90a");
  ASSERT_EQ(sy_bundle_manifest_string(b, "epilogue", &s), SY_OK);
  EXPECT_STREQ(s, "silu_mul");
  EXPECT_EQ(sy_bundle_manifest_string(b, "version", &s), SY_ERR_NOT_FOUND);
  int32_t n = 0;
  ASSERT_EQ(sy_bundle_num_symbols(b, &n), SY_OK);
  EXPECT_EQ(n, 2);
  ASSERT_EQ(sy_bundle_symbol_name(b, 1, &s), SY_OK);
  EXPECT_STREQ(s, "P");
  ASSERT_EQ(sy_bundle_num_buffers(b, &n), SY_OK);
  EXPECT_EQ(n, 8);
  sy_buffer_kind kind;
  sy_dtype dt;
  ASSERT_EQ(sy_bundle_buffer_info(b, 4, &s, &kind, &dt), SY_OK);
  EXPECT_STREQ(s, "w.meta");
  EXPECT_EQ(kind, SY_BUFFER_WEIGHT);
  EXPECT_EQ(dt, SY_DTYPE_U32);
  ASSERT_EQ(sy_bundle_buffer_info(b, 7, &s, &kind, &dt), SY_OK);
  EXPECT_EQ(kind, SY_BUFFER_WORKSPACE);
  EXPECT_EQ(dt, SY_DTYPE_F32);
  EXPECT_EQ(sy_bundle_buffer_info(b, 8, &s, &kind, &dt), SY_ERR_NOT_FOUND);

  const char *names[] = {"T", "P"};
  const int64_t values[] = {5, 11};
  uint64_t bytes = 0;
  ASSERT_EQ(sy_bundle_buffer_bytes(b, "x", names, values, 2, &bytes), SY_OK);
  EXPECT_EQ(bytes, 5u * 128 * 2);
  ASSERT_EQ(sy_bundle_buffer_bytes(b, "y", names, values, 2, &bytes), SY_OK);
  EXPECT_EQ(bytes, 11u * 32 * 2);
  ASSERT_EQ(sy_bundle_buffer_bytes(b, "offsets", names, values, 0, &bytes),
            SY_OK);
  EXPECT_EQ(bytes, 12u);
  ASSERT_EQ(sy_bundle_buffer_bytes(b, "w.row_idx", nullptr, nullptr, 0, &bytes),
            SY_OK);
  EXPECT_EQ(bytes, 128u);
  EXPECT_EQ(sy_bundle_buffer_bytes(b, "y", names, values, 1, &bytes),
            SY_ERR_NOT_READY);
  EXPECT_NE(std::string(sy_last_error()).find("'P'"), std::string::npos);
  EXPECT_EQ(sy_bundle_buffer_bytes(b, "nope", names, values, 2, &bytes),
            SY_ERR_NOT_FOUND);
  const char *bad[] = {"Q"};
  EXPECT_EQ(sy_bundle_buffer_bytes(b, "x", bad, values, 1, &bytes),
            SY_ERR_NOT_FOUND);

  ASSERT_EQ(sy_bundle_num_weights(b, &n), SY_OK);
  EXPECT_EQ(n, 1);
  sy_weight_info wi;
  ASSERT_EQ(sy_bundle_find_weight(b, "w", &wi), SY_OK);
  EXPECT_STREQ(wi.name, "w");
  EXPECT_EQ(wi.n, 1);
  EXPECT_EQ(wi.m, 2);
  EXPECT_EQ(wi.v, 64);
  EXPECT_EQ(wi.experts, 2);
  EXPECT_EQ(wi.rows, 64);
  EXPECT_EQ(wi.cols, 128);
  EXPECT_EQ(wi.dtype, SY_DTYPE_BF16);
  EXPECT_EQ(wi.layout, SY_LAYOUT_MMA_SP); // "layout" absent
  EXPECT_EQ(sy_bundle_weight_info(b, 0, &wi), SY_OK);
  EXPECT_EQ(sy_bundle_find_weight(b, "v", &wi), SY_ERR_NOT_FOUND);

  // An opened (device-less) bundle cannot run.
  sy_session *session = nullptr;
  EXPECT_EQ(sy_session_create(b, &session), SY_ERR_NOT_READY);
  EXPECT_EQ(session, nullptr);
  EXPECT_EQ(sy_bundle_destroy(b), SY_OK);
}

TEST_F(BundleDir, LoadWithoutGpuReportsNoDeviceOrLoads) {
  write("manifest.json", kValidManifest);
  sy_bundle *b = nullptr;
  sy_status st = sy_bundle_load(dir.c_str(), &b);
  if (st == SY_ERR_NO_DEVICE) {
    EXPECT_EQ(b, nullptr);
    EXPECT_EQ(std::string(sy_last_error()).rfind("no CUDA driver/device: ", 0),
              0u)
        << sy_last_error();
  } else {
    // On a GPU machine the dummy PTX fails to load, or the chip differs.
    EXPECT_TRUE(st == SY_ERR_CUDA || st == SY_ERR_UNSUPPORTED_CHIP)
        << sy_status_name(st);
    EXPECT_NE(std::string(sy_last_error()), "");
  }
  sy_bundle_destroy(b);
}

TEST(DeviceHelpers, NeverCrashWithoutDevice) {
  uint64_t p = 123;
  EXPECT_EQ(sy_device_alloc(0, &p), SY_OK);
  EXPECT_EQ(p, 0u);
  EXPECT_EQ(sy_device_free(0), SY_OK);
  EXPECT_EQ(sy_device_alloc(16, nullptr), SY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sy_memcpy_htod(0, nullptr, 4), SY_ERR_INVALID_ARGUMENT);
  sy_status st = sy_device_alloc(256, &p);
  if (st == SY_OK) {
    EXPECT_EQ(sy_memset(p, 0xab, 256), SY_OK);
    unsigned char host[256] = {};
    EXPECT_EQ(sy_memcpy_dtoh(host, p, 256), SY_OK);
    EXPECT_EQ(host[255], 0xab);
    EXPECT_EQ(sy_device_sync(), SY_OK);
    EXPECT_EQ(sy_device_free(p), SY_OK);
  } else {
    EXPECT_EQ(st, SY_ERR_NO_DEVICE);
    EXPECT_EQ(sy_device_sync(), SY_ERR_NO_DEVICE);
    int32_t major, minor;
    EXPECT_EQ(sy_device_capability(&major, &minor), SY_ERR_NO_DEVICE);
  }
  EXPECT_EQ(sy_bundle_load(nullptr, nullptr), SY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sy_session_run(nullptr, nullptr, nullptr, 0, nullptr),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sy_status_name(SY_ERR_MANIFEST), "SY_ERR_MANIFEST");
  EXPECT_EQ(sy_dtype_size(SY_DTYPE_BF16), 2u);
}

TEST_F(BundleDir, MissingManifestIsIoError) {
  expectError(SY_ERR_IO,
              {"manifest.json: cannot read file: No such file or directory"});
}

TEST_F(BundleDir, BadJsonReportsLineAndColumn) {
  writeMutated("\"version\": 1,", "\"version\": 1,,");
  expectError(SY_ERR_MANIFEST, {"manifest.json:2:", "expected a string key"});
}

TEST_F(BundleDir, UnknownBufferInLaunch) {
  writeMutated("{\"buffer\": \"tokens\"}", "{\"buffer\": \"tokenz\"}");
  expectError(SY_ERR_MANIFEST, {"manifest.json", "launches[0].args[4].buffer",
                                "unknown buffer 'tokenz'"});
}

TEST_F(BundleDir, BadGridEntries) {
  writeMutated("{\"const\": 1}]", "{\"constant\": 1}]");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].grid[2]", "unknown grid entry 'constant'"});
  writeMutated(", {\"const\": 1}]", "]");
  expectError(SY_ERR_MANIFEST, {"launches[0].grid", "expected 3 entries"});
  writeMutated("\"ceil_div\": [\"P\", 32]", "\"ceil_div\": [\"Q\", 32]");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].grid[1].ceil_div[0]", "unknown symbol 'Q'"});
  writeMutated("\"ceil_div\": [\"P\", 32]", "\"ceil_div\": [\"P\", 0]");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].grid[1].ceil_div[1]", "out of range"});
  writeMutated("{\"const\": 2}", "{\"const\": -2}");
  expectError(SY_ERR_MANIFEST, {"launches[0].grid[0].const"});
  writeMutated("\"ceil_div\": [\"P\", 32]", "\"ceil_div\": [\"P\", 32, -1]");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].grid[1].ceil_div[2]", "out of range"});
  writeMutated("\"ceil_div\": [\"P\", 32]", "\"ceil_div\": [\"P\", 32, 1, 2]");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].grid[1].ceil_div", "[symbol, divisor, plus]"});
  writeMutated("\"ceil_div\": [\"P\", 32]", "\"token_tiles\": [\"P\", 32]");
  expectError(SY_ERR_MANIFEST, {"launches[0].grid[1].token_tiles",
                                "[symbol, tokens, experts], got 2 entries"});
  writeMutated("\"ceil_div\": [\"P\", 32]", "\"token_tiles\": [\"P\", 32, 0]");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].grid[1].token_tiles[2]", "out of range"});
  writeMutated("\"ceil_div\": [\"P\", 32]", "\"token_tiles\": [\"P\", 0, 8]");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].grid[1].token_tiles[1]", "out of range"});
  writeMutated("\"ceil_div\": [\"P\", 32]", "\"token_tiles\": [\"Q\", 32, 8]");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].grid[1].token_tiles[0]", "unknown symbol 'Q'"});
  writeMutated("{\"const\": 2}", "{\"per_sm\": 0}");
  expectError(SY_ERR_MANIFEST, {"launches[0].grid[0].per_sm", "out of range"});
  writeMutated("{\"const\": 2}", "{\"per_sm\": 65}");
  expectError(SY_ERR_MANIFEST, {"launches[0].grid[0].per_sm", "out of range"});
}

TEST_F(BundleDir, GridSizes) {
  // A persistent grid of 3 blocks per multiprocessor, whatever P is.
  writeMutated("{\"const\": 2}", "{\"per_sm\": 3}");
  samoyeds::rt::Manifest m;
  std::string error;
  ASSERT_EQ(samoyeds::rt::loadManifest(dir, m, error), SY_OK) << error;
  const samoyeds::rt::LaunchDesc &l = m.launches[0];
  EXPECT_EQ(samoyeds::rt::gridSize(l.grid[0], {1, 5}, 132), 396);
  EXPECT_EQ(samoyeds::rt::gridSize(l.grid[0], {1, 0}, 114), 342);
  // ceil(P / 32), and 0 (an empty launch) when P is 0.
  EXPECT_EQ(samoyeds::rt::gridSize(l.grid[1], {1, 65}, 132), 3);
  EXPECT_EQ(samoyeds::rt::gridSize(l.grid[1], {1, 0}, 132), 0);
  EXPECT_EQ(samoyeds::rt::gridSize(l.grid[2], {1, 65}, 132), 1);
}

/// The most token tiles (ceil(count / tokens) per expert) any routing of
/// `slots` slots over `experts` experts makes, by dynamic programming over
/// the experts.
static int64_t mostTokenTiles(int64_t slots, int64_t experts, int64_t tokens) {
  std::vector<int64_t> best(size_t(slots) + 1, 0);
  for (int64_t e = 1; e < experts; ++e)
    for (int64_t p = slots; p >= 0; --p)
      for (int64_t c = 1; c <= p; ++c)
        best[size_t(p)] = std::max(
            best[size_t(p)], best[size_t(p - c)] + (c + tokens - 1) / tokens);
  int64_t most = 0;
  for (int64_t c = 0; c <= slots; ++c)
    most = std::max(most, best[size_t(slots - c)] + (c + tokens - 1) / tokens);
  return most;
}

TEST_F(BundleDir, TokenTilesIsTheMostTilesARoutingMakes) {
  // The expert matmuls' token-tile rows: exactly the most tiles any routing
  // of P slots makes, so no tile is left out and no block row is idle by
  // construction at T = 1 (6 of 160 experts: 6 rows, not ceil(6/32) + 160).
  for (int64_t experts : {1, 2, 3, 5})
    for (int64_t tokens : {1, 2, 3, 8})
      for (int64_t slots = 0; slots <= 24; ++slots) {
        writeMutated("\"ceil_div\": [\"P\", 32]",
                     "\"token_tiles\": [\"P\", " + std::to_string(tokens) +
                         ", " + std::to_string(experts) + "]");
        samoyeds::rt::Manifest m;
        std::string error;
        ASSERT_EQ(samoyeds::rt::loadManifest(dir, m, error), SY_OK) << error;
        EXPECT_EQ(samoyeds::rt::gridSize(m.launches[0].grid[1], {1, slots}, 1),
                  mostTokenTiles(slots, experts, tokens))
            << slots << " slots, " << experts << " experts, " << tokens
            << " tokens";
      }
  writeMutated("\"ceil_div\": [\"P\", 32]",
               "\"token_tiles\": [\"P\", 32, 160]");
  samoyeds::rt::Manifest m;
  std::string error;
  ASSERT_EQ(samoyeds::rt::loadManifest(dir, m, error), SY_OK) << error;
  EXPECT_EQ(samoyeds::rt::gridSize(m.launches[0].grid[1], {1, 6}, 1), 6);
  EXPECT_EQ(samoyeds::rt::gridSize(m.launches[0].grid[1], {1, 10240}, 1),
            160 + 10080 / 32);
  EXPECT_EQ(
      samoyeds::rt::gridSize(m.launches[0].grid[1], {1, int64_t{INT32_MAX}}, 1),
      160 + (int64_t{INT32_MAX} - 160) / 32);
}

TEST_F(BundleDir, GridWithAddedConstantOpens) {
  writeMutated("\"ceil_div\": [\"P\", 32]", "\"ceil_div\": [\"P\", 32, 4]");
  sy_bundle *b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  EXPECT_EQ(sy_bundle_destroy(b), SY_OK);
}

TEST_F(BundleDir, BadLaunchGuards) {
  const std::string smem = "\"smem\": 65536,";
  writeMutated(smem, smem + " \"when\": [1, 2],");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].when", "expected an object, got array"});
  writeMutated(smem, smem + " \"when\": {\"min\": 1},");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].when.symbol", "missing required field"});
  writeMutated(smem, smem + " \"when\": {\"symbol\": \"Q\", \"min\": 1},");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].when.symbol", "unknown symbol 'Q'"});
  writeMutated(smem, smem + " \"when\": {\"symbol\": \"P\"},");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].when.min", "missing required field"});
  writeMutated(
      smem, smem + " \"when\": {\"symbol\": \"P\", \"min\": 5, \"max\": 4},");
  expectError(SY_ERR_MANIFEST, {"launches[0].when.max", "out of range [5,"});
  writeMutated(
      smem, smem + " \"when\": {\"symbol\": \"P\", \"min\": 0, \"upto\": 4},");
  expectError(SY_ERR_MANIFEST, {"launches[0].when", "unknown field 'upto'"});
}

TEST_F(BundleDir, ProgrammaticDependentLaunchFlag) {
  const std::string smem = "\"smem\": 65536,";
  samoyeds::rt::Manifest m;
  std::string error;
  writeMutated(smem, smem);
  ASSERT_EQ(samoyeds::rt::loadManifest(dir, m, error), SY_OK) << error;
  EXPECT_FALSE(m.launches[0].pdl);
  writeMutated(smem, smem + " \"pdl\": true,");
  ASSERT_EQ(samoyeds::rt::loadManifest(dir, m, error), SY_OK) << error;
  EXPECT_TRUE(m.launches[0].pdl);
  writeMutated(smem, smem + " \"pdl\": 1,");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].pdl", "expected true or false, got number"});
}

TEST_F(BundleDir, BufferAlignmentIsTheLaunchesLargest) {
  const std::string x = "{\"buffer\": \"x\"}";
  writeMutated(x, "{\"buffer\": \"x\", \"elem_bytes\": 2, \"align\": 16}");
  sy_bundle *b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  uint64_t align = 0;
  ASSERT_EQ(sy_bundle_buffer_alignment(b, "x", &align), SY_OK);
  EXPECT_EQ(align, 16u);
  // Without "align": the element size, or the dtype's size.
  ASSERT_EQ(sy_bundle_buffer_alignment(b, "tokens", &align), SY_OK);
  EXPECT_EQ(align, 4u);
  ASSERT_EQ(sy_bundle_buffer_alignment(b, "y", &align), SY_OK);
  EXPECT_EQ(align, 2u);
  EXPECT_EQ(sy_bundle_buffer_alignment(b, "nope", &align), SY_ERR_NOT_FOUND);
  EXPECT_NE(std::string(sy_last_error()).find("no buffer 'nope'"),
            std::string::npos);
  EXPECT_EQ(sy_bundle_buffer_alignment(b, nullptr, &align),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sy_bundle_buffer_alignment(b, "x", nullptr),
            SY_ERR_INVALID_ARGUMENT);
  sy_bundle_destroy(b);
}

TEST_F(BundleDir, BadBufferAlignments) {
  const std::string x = "{\"buffer\": \"x\"}";
  for (const char *bad : {"24", "1", "512", "0", "-16", "16.5", "\"16\""}) {
    writeMutated(x, std::string("{\"buffer\": \"x\", \"align\": ") + bad + "}");
    expectError(SY_ERR_MANIFEST, {"launches[0].args[3].align"});
  }
  writeMutated(x, "{\"buffer\": \"x\", \"align\": 24}");
  expectError(SY_ERR_MANIFEST, {"must be a power of two"});
}

TEST_F(BundleDir, LaunchGuardsSelectBySymbolValue) {
  const std::string smem = "\"smem\": 65536,";
  writeMutated(
      smem, smem + " \"when\": {\"symbol\": \"P\", \"min\": 1, \"max\": 64},");
  samoyeds::rt::Manifest m;
  std::string error;
  ASSERT_EQ(samoyeds::rt::loadManifest(dir, m, error), SY_OK) << error;
  ASSERT_EQ(m.launches.size(), 1u);
  const samoyeds::rt::LaunchDesc &l = m.launches[0];
  // Symbols are [T, P].
  EXPECT_FALSE(samoyeds::rt::launchSelected(l, {1, 0}));
  EXPECT_TRUE(samoyeds::rt::launchSelected(l, {1, 1}));
  EXPECT_TRUE(samoyeds::rt::launchSelected(l, {100, 64}));
  EXPECT_FALSE(samoyeds::rt::launchSelected(l, {1, 65}));

  writeMutated(smem, smem + " \"when\": {\"symbol\": \"P\", \"min\": 65},");
  ASSERT_EQ(samoyeds::rt::loadManifest(dir, m, error), SY_OK) << error;
  EXPECT_FALSE(samoyeds::rt::launchSelected(m.launches[0], {1, 64}));
  EXPECT_TRUE(samoyeds::rt::launchSelected(m.launches[0], {1, 65}));
  EXPECT_TRUE(samoyeds::rt::launchSelected(m.launches[0], {1, 1 << 30}));

  // No guard: always.
  writeMutated(smem, smem);
  ASSERT_EQ(samoyeds::rt::loadManifest(dir, m, error), SY_OK) << error;
  EXPECT_TRUE(samoyeds::rt::launchSelected(m.launches[0], {0, 0}));
}

TEST_F(BundleDir, WorkspaceReservation) {
  // A second workspace of constant shape (a split-K partial sum) used only
  // by a launch guarded to small P: reserved all the same.
  writeMutated(
      R"({"name": "ws0", "kind": "workspace", "dtype": "f32", "shape": ["P", 64]})",
      R"({"name": "ws0", "kind": "workspace", "dtype": "f32", "shape": ["P", 64]},
         {"name": "ws1", "kind": "workspace", "dtype": "bf16", "shape": [4, "T", 8]},
         {"name": "cnt", "kind": "counters", "dtype": "i32", "shape": [12]})");
  samoyeds::rt::Manifest m;
  std::string error;
  ASSERT_EQ(samoyeds::rt::loadManifest(dir, m, error), SY_OK) << error;
  int ws0 = m.findBuffer("ws0"), ws1 = m.findBuffer("ws1");
  ASSERT_GE(ws0, 0);
  ASSERT_GE(ws1, 0);
  // Symbols are [T, P]: T = 8, P = 16 at most.
  std::vector<uint64_t> bytes;
  ASSERT_TRUE(samoyeds::rt::workspaceReservation(m, {8, 16}, bytes, error))
      << error;
  ASSERT_EQ(bytes.size(), m.buffers.size());
  EXPECT_EQ(bytes[size_t(ws0)], 16u * 64 * 4);
  EXPECT_EQ(bytes[size_t(ws1)], 4u * 8 * 8 * 2);
  // Counters are reserved with the workspaces.
  int cnt = m.findBuffer("cnt");
  ASSERT_GE(cnt, 0);
  EXPECT_EQ(m.buffers[size_t(cnt)].kind, SY_BUFFER_COUNTERS);
  EXPECT_EQ(bytes[size_t(cnt)], 12u * 4);
  for (size_t i = 0; i < bytes.size(); ++i)
    if (!samoyeds::rt::isRuntimeOwned(m.buffers[i].kind))
      EXPECT_EQ(bytes[i], 0u) << m.buffers[i].name;
  // No run at or below the maximum needs more than was reserved.
  for (int64_t t = 0; t <= 8; ++t)
    for (int64_t p = 0; p <= 16; ++p)
      for (size_t i = 0; i < bytes.size(); ++i) {
        int64_t elements = 0, size = 0;
        if (m.buffers[i].kind != SY_BUFFER_WORKSPACE)
          continue;
        ASSERT_TRUE(samoyeds::rt::bufferSize(m, m.buffers[i], {t, p}, elements,
                                             size, error));
        EXPECT_LE(uint64_t(size), bytes[i]);
      }
  // A maximum whose workspace bytes overflow is refused, naming the buffer.
  EXPECT_FALSE(samoyeds::rt::workspaceReservation(m, {8, int64_t(1) << 62},
                                                  bytes, error));
  EXPECT_NE(error.find("buffer 'ws0'"), std::string::npos) << error;
}

TEST_F(BundleDir, RunsAboveTheReservationAreRefused) {
  write("manifest.json", kValidManifest);
  samoyeds::rt::Manifest m;
  std::string error;
  ASSERT_EQ(samoyeds::rt::loadManifest(dir, m, error), SY_OK) << error;
  // No reservation: anything goes.
  EXPECT_EQ(samoyeds::rt::checkReserved(m, {}, {1 << 20, 1 << 22}), "");
  EXPECT_EQ(samoyeds::rt::checkReserved(m, {256, 512}, {256, 512}), "");
  EXPECT_EQ(samoyeds::rt::checkReserved(m, {256, 512}, {0, 0}), "");
  EXPECT_EQ(samoyeds::rt::checkReserved(m, {256, 512}, {257, 514}),
            "symbol 'T' = 257 exceeds the maximum 256 reserved by "
            "sy_session_reserve (reserve a larger maximum, outside any CUDA "
            "graph capture)");
  EXPECT_NE(samoyeds::rt::checkReserved(m, {256, 512}, {1, 513})
                .find("symbol 'P' = 513 exceeds the maximum 512"),
            std::string::npos);
}

TEST(SessionReserve, RejectsBadArguments) {
  const char *names[] = {"T"};
  const int64_t values[] = {4};
  EXPECT_EQ(sy_session_reserve(nullptr, names, values, 1),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sy_last_error()).find("sy_session_reserve"),
            std::string::npos);
  sy_session *fake = reinterpret_cast<sy_session *>(0x1);
  EXPECT_EQ(sy_session_reserve(fake, nullptr, values, 1),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sy_session_reserve(fake, names, values, -1),
            SY_ERR_INVALID_ARGUMENT);
}

TEST_F(BundleDir, BadLaunchFields) {
  writeMutated("[128, 1, 1]", "[128, 16, 1]");
  expectError(SY_ERR_MANIFEST, {"launches[0].block", "1024"});
  writeMutated("{\"symbol\": \"P\"}", "{\"symbol\": \"X\"}");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].args[8].symbol", "unknown symbol 'X'"});
  writeMutated("{\"i32\": -3}", "{\"f32\": 1.5}");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].args[9]", "unknown argument kind 'f32'"});
  writeMutated("\"kernel\": \"samoyeds_ssmm_0\",", "");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].kernel", "missing required field"});
}

TEST_F(BundleDir, MissingModuleFile) {
  writeMutated("\"module\": \"kernels.ptx\"", "\"module\": \"gone.ptx\"");
  expectError(SY_ERR_MANIFEST,
              {"manifest.json", "module", "gone.ptx", "does not exist"});
}

TEST_F(BundleDir, HeaderFields) {
  writeMutated("\"samoyeds-bundle\"", "\"something-else\"");
  expectError(SY_ERR_MANIFEST, {"manifest.json: format:"});
  writeMutated("\"version\": 1", "\"version\": 2");
  expectError(SY_ERR_MANIFEST,
              {"manifest.json: version:", "unsupported version"});
  writeMutated("\"chip\": \"sm_90a\"", "\"chip\": \"gfx90a\"");
  expectError(SY_ERR_MANIFEST, {"manifest.json: chip:"});
  writeMutated("\"symbols\": [\"T\", \"P\"]", "\"symbols\": [\"T\", \"T\"]");
  expectError(SY_ERR_MANIFEST, {"symbols[1]", "duplicate symbol 'T'"});
}

TEST_F(BundleDir, BadBuffersAndWeights) {
  writeMutated("\"bytes\": 1024", "\"bytes\": 1000");
  expectError(SY_ERR_MANIFEST,
              {"buffers[4].bytes", "weight 'w' part 'meta'", "1024"});
  writeMutated("\"kind\": \"workspace\"", "\"kind\": \"scratch\"");
  expectError(SY_ERR_MANIFEST,
              {"buffers[7].kind", "expected \"input\", \"output\", "
                                  "\"weight\", \"workspace\" or \"counters\", "
                                  "got 'scratch'"});
  // Counters are i32 of a constant shape.
  writeMutated(
      "\"kind\": \"workspace\", \"dtype\": \"f32\", \"shape\": [\"P\", 64]",
      "\"kind\": \"counters\", \"dtype\": \"i32\", \"shape\": [\"P\", 64]");
  expectError(SY_ERR_MANIFEST,
              {"buffers[7]", "counters buffer 'ws0' must be i32 with a "
                             "constant shape"});
  writeMutated(
      "\"kind\": \"workspace\", \"dtype\": \"f32\", \"shape\": [\"P\", 64]",
      "\"kind\": \"counters\", \"dtype\": \"f32\", \"shape\": [64]");
  expectError(SY_ERR_MANIFEST, {"buffers[7]", "must be i32"});
  writeMutated("[\"P\", 64]", "[\"N\", 64]");
  expectError(SY_ERR_MANIFEST, {"buffers[7].shape[0]", "unknown symbol 'N'"});
  writeMutated("\"dtype\": \"u8\"", "\"dtype\": \"u4\"");
  expectError(SY_ERR_MANIFEST, {"buffers[5].dtype", "\"u8\", got 'u4'"});
  writeMutated("\"of\": \"w\", \"part\": \"values\"",
               "\"of\": \"w2\", \"part\": \"values\"");
  expectError(SY_ERR_MANIFEST, {"buffers[3].of", "unknown weight 'w2'"});
  writeMutated("\"part\": \"meta\"", "\"part\": \"values\"");
  expectError(SY_ERR_MANIFEST, {"buffers[4].part", "two 'values' buffers"});
  writeMutated("\"rows\": 64", "\"rows\": 48");
  expectError(SY_ERR_MANIFEST, {"weights[0]", "kept rows"});
  writeMutated("\"v\": 64", "\"v\": 48");
  expectError(SY_ERR_MANIFEST, {"weights[0]", "v = 48"});
  writeMutated("{\"name\": \"x\",", "{\"name\": \"y\",");
  expectError(SY_ERR_MANIFEST,
              {"buffers[6].name", "duplicate buffer name 'y'"});
}

/// The weight entry of kValidManifest (2 experts of 64 x 128, 1:2:64).
const char *kWeightEntry = "\"n\": 1, \"m\": 2, \"v\": 64}";

TEST_F(BundleDir, WeightLayoutField) {
  // Explicit mma_sp is the default.
  writeMutated(kWeightEntry, "\"n\": 1, \"m\": 2, \"v\": 64, \"layout\": "
                             "\"mma_sp\"}");
  sy_bundle *b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  sy_weight_info wi;
  wi.layout = SY_LAYOUT_WGMMA;
  ASSERT_EQ(sy_bundle_find_weight(b, "w", &wi), SY_OK);
  EXPECT_EQ(wi.layout, SY_LAYOUT_MMA_SP);
  sy_bundle_destroy(b);

  // wgmma with a weight of 128 kept rows x 128 columns (sizes unchanged).
  std::string text = kValidManifest;
  for (auto [from, to] :
       {std::pair<std::string, std::string>{"\"bytes\": 8192",
                                            "\"bytes\": 32768"},
        {"\"bytes\": 1024", "\"bytes\": 4096"},
        {"\"bytes\": 128", "\"bytes\": 512"},
        {"\"rows\": 64", "\"rows\": 256"},
        {kWeightEntry,
         "\"n\": 1, \"m\": 2, \"v\": 64, \"layout\": \"wgmma\"}"}})
    text.replace(text.find(from), from.size(), to);
  write("manifest.json", text);
  b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  ASSERT_EQ(sy_bundle_find_weight(b, "w", &wi), SY_OK);
  EXPECT_EQ(wi.layout, SY_LAYOUT_WGMMA);
  EXPECT_EQ(wi.rows, 256);
  sy_bundle_destroy(b);
  // The same weight with 192 columns: wgmma pads its values and meta to
  // Kp = 256 columns (2 x 128 kept rows x 256 bytes of values), but not its
  // row_idx (192 / 64 = 3 spans).
  auto replace = [&](const std::string &from, const std::string &to) {
    size_t pos = text.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    text.replace(pos, from.size(), to);
    write("manifest.json", text);
  };
  replace("\"cols\": 128", "\"cols\": 192");
  expectError(SY_ERR_MANIFEST,
              {"manifest.json: buffers[3].bytes: weight 'w' part 'values' must "
               "be 65536 bytes per Format.md, manifest says 32768"});
  replace("\"bytes\": 32768", "\"bytes\": 65536");
  replace("\"bytes\": 4096", "\"bytes\": 8192");
  expectError(SY_ERR_MANIFEST,
              {"manifest.json: buffers[5].bytes: weight 'w' part 'row_idx' "
               "must be 768 bytes per Format.md, manifest says 512"});
  replace("\"bytes\": 512", "\"bytes\": 768");
  b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  ASSERT_EQ(sy_bundle_find_weight(b, "w", &wi), SY_OK);
  EXPECT_EQ(wi.layout, SY_LAYOUT_WGMMA);
  EXPECT_EQ(wi.cols, 192);
  sy_bundle_destroy(b);
  // In mma_sp the values are 128 x 192 bytes per expert.
  replace(", \"layout\": \"wgmma\"", "");
  expectError(SY_ERR_MANIFEST,
              {"manifest.json: buffers[3].bytes: weight 'w' part 'values' must "
               "be 49152 bytes per Format.md, manifest says 65536"});
}

TEST_F(BundleDir, WgmmaLayoutsPadTheKeptRows) {
  // 32 kept rows a expert: wgmma pads them to 64 (2 x 64 x 128 bytes of
  // values), wgmma_halves each half's 16 to 64 (2 x 128 x 128); the
  // manifest's buffers must have the padded sizes.
  const std::string halves =
      "\"n\": 1, \"m\": 2, \"v\": 64, \"layout\": \"wgmma_halves\"}";
  writeMutated(kWeightEntry,
               "\"n\": 1, \"m\": 2, \"v\": 64, \"layout\": \"wgmma\"}");
  expectError(SY_ERR_MANIFEST,
              {"manifest.json: buffers[3].bytes: weight 'w' part 'values' must "
               "be 16384 bytes per Format.md, manifest says 8192"});
  writeMutated(kWeightEntry, halves);
  expectError(SY_ERR_MANIFEST,
              {"manifest.json: buffers[3].bytes: weight 'w' part 'values' must "
               "be 32768 bytes per Format.md, manifest says 8192"});
  std::string text = kValidManifest;
  for (auto [from, to] : {std::pair<std::string, std::string>{
                              "\"bytes\": 8192", "\"bytes\": 32768"},
                          {"\"bytes\": 1024", "\"bytes\": 4096"},
                          {"\"bytes\": 128", "\"bytes\": 512"},
                          {kWeightEntry, halves}})
    text.replace(text.find(from), from.size(), to);
  write("manifest.json", text);
  sy_bundle *b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  sy_weight_info wi;
  ASSERT_EQ(sy_bundle_find_weight(b, "w", &wi), SY_OK);
  EXPECT_EQ(wi.layout, SY_LAYOUT_WGMMA_HALVES);
  EXPECT_EQ(wi.rows, 64);
  sy_bundle_destroy(b);
}

TEST_F(BundleDir, BadWeightLayouts) {
  auto entry = [](const std::string &layout) {
    return "\"n\": 1, \"m\": 2, \"v\": 64, \"layout\": " + layout + "}";
  };
  // 3:4: 48 kept rows, fine for mma_sp; wgmma would pad them with 16 rows,
  // no whole groups of 3.
  writeMutated(kWeightEntry,
               "\"n\": 3, \"m\": 4, \"v\": 64, \"layout\": \"wgmma\"}");
  expectError(SY_ERR_MANIFEST,
              {"weights[0]", "weight 'w'",
               "layout wgmma pads the 48 kept rows to 64: n = 3 must divide 64 "
               "(padding rows form whole groups of n)"});
  for (const char *bad : {"WGMMA", "mma-sp", "", "wgmma ", "sparse"}) {
    writeMutated(kWeightEntry, entry(std::string("\"") + bad + "\""));
    expectError(SY_ERR_MANIFEST, {"weights[0].layout: weight 'w': expected "
                                  "\"mma_sp\", \"wgmma\" or "
                                  "\"wgmma_halves\", got '" +
                                  std::string(bad) + "'"});
  }
  writeMutated(kWeightEntry, entry("1"));
  expectError(SY_ERR_MANIFEST,
              {"weights[0].layout: weight 'w': expected \"mma_sp\", "
               "\"wgmma\" or \"wgmma_halves\", got number"});
  writeMutated(kWeightEntry, entry("null"));
  expectError(SY_ERR_MANIFEST, {"weights[0].layout", "got null"});
}

//===----------------------------------------------------------------------===//
// The activation (gpt-oss's clamped SwiGLU)
//===----------------------------------------------------------------------===//

/// parseManifest's message for kValidManifest with the member "activation":
/// `activation` ("" when it accepts it, with the manifest in `m`).
std::string activationError(const std::string &activation,
                            samoyeds::rt::Manifest &m) {
  std::string text = kValidManifest, err;
  text.insert(text.find("\"epilogue\""), "\"activation\": " + activation + ",");
  sy_status st = samoyeds::rt::parseManifest(text, "manifest.json", m, err);
  EXPECT_EQ(st == SY_OK, err.empty()) << err;
  EXPECT_TRUE(st == SY_OK || st == SY_ERR_MANIFEST);
  return err;
}

std::string activationError(const std::string &activation) {
  samoyeds::rt::Manifest m;
  return activationError(activation, m);
}

TEST(Activation, AbsentIsSilu) {
  samoyeds::rt::Manifest m;
  std::string err;
  ASSERT_EQ(
      samoyeds::rt::parseManifest(kValidManifest, "manifest.json", m, err),
      SY_OK)
      << err;
  EXPECT_FALSE(m.hasActivation);
  EXPECT_EQ(m.activation.kind, samoyeds::rt::ActivationKind::Silu);
}

TEST(Activation, ReadsSiluAndClampedSwiglu) {
  using samoyeds::rt::ActivationKind;
  samoyeds::rt::Manifest m;
  EXPECT_EQ(activationError(R"({"kind": "silu"})", m), "");
  EXPECT_TRUE(m.hasActivation);
  EXPECT_EQ(m.activation.kind, ActivationKind::Silu);
  EXPECT_EQ(
      activationError(
          R"({"kind": "clamped_swiglu", "alpha": 1.702, "limit": 7.0})", m),
      "");
  EXPECT_TRUE(m.hasActivation);
  EXPECT_EQ(m.activation.kind, ActivationKind::ClampedSwiglu);
  EXPECT_EQ(m.activation.alpha, 1.702);
  EXPECT_EQ(m.activation.limit, 7.0);
  // Integers are numbers too; the order of the members does not matter.
  EXPECT_EQ(
      activationError(
          R"({"limit": 10, "alpha": 2.5e-1, "kind": "clamped_swiglu"})", m),
      "");
  EXPECT_EQ(m.activation.alpha, 0.25);
  EXPECT_EQ(m.activation.limit, 10.0);
}

TEST(Activation, RefusesBadObjects) {
  const std::string kinds = "expected \"silu\" or \"clamped_swiglu\"";
  const std::string swiglu = R"("kind": "clamped_swiglu")";
  for (auto [activation, message] :
       std::initializer_list<std::pair<std::string, std::string>>{
           {R"("clamped_swiglu")",
            "activation: expected an object, got string"},
           {"null", "activation: expected an object, got null"},
           {"{}", "activation.kind: missing required field"},
           {R"({"kind": "gelu"})",
            "activation.kind: " + kinds + ", got 'gelu'"},
           {R"({"kind": "SiLU"})",
            "activation.kind: " + kinds + ", got 'SiLU'"},
           {R"({"kind": 1})", "activation.kind: " + kinds + ", got number"},
           {R"({"kind": "silu", "beta": 1})",
            "activation: unknown field 'beta' (expected \"kind\", \"alpha\" "
            "or \"limit\")"},
           {R"({"kind": "silu", "alpha": 1.702})",
            "activation.alpha: unexpected field (only kind "
            "\"clamped_swiglu\" has \"alpha\" and \"limit\")"},
           {R"({"kind": "silu", "limit": 7})",
            "activation.limit: unexpected field (only kind "
            "\"clamped_swiglu\" has \"alpha\" and \"limit\")"},
           {"{" + swiglu + R"(, "limit": 7})",
            "activation.alpha: missing required field (kind "
            "\"clamped_swiglu\" needs \"alpha\" and \"limit\")"},
           {"{" + swiglu + R"(, "alpha": 1.702})",
            "activation.limit: missing required field (kind "
            "\"clamped_swiglu\" needs \"alpha\" and \"limit\")"},
           {"{" + swiglu + R"(, "alpha": 0, "limit": 7})",
            "activation.alpha: expected a number > 0, got 0"},
           {"{" + swiglu + R"(, "alpha": -0.0, "limit": 7})",
            "activation.alpha: expected a number > 0, got -0"},
           {"{" + swiglu + R"(, "alpha": 1e-400, "limit": 7})",
            "activation.alpha: expected a number > 0, got 0"},
           {"{" + swiglu + R"(, "alpha": 1.702, "limit": -7.5})",
            "activation.limit: expected a number > 0, got -7.5"},
           {"{" + swiglu + R"(, "alpha": 1.702, "limit": 1e999})",
            "activation.limit: expected a finite number, got one beyond the "
            "range of a double"},
           {"{" + swiglu + R"(, "alpha": "1.702", "limit": 7})",
            "activation.alpha: expected a number, got string"},
           {"{" + swiglu + R"(, "alpha": 1.702, "limit": [7]})",
            "activation.limit: expected a number, got array"},
           {"{" + swiglu + R"(, "alpha": 1.702, "limit": 7, "limit2": 7})",
            "activation: unknown field 'limit2' (expected \"kind\", "
            "\"alpha\" or \"limit\")"}})
    EXPECT_EQ(activationError(activation), "manifest.json: " + message)
        << activation;
}

TEST(Activation, ErrorsQuoteBoundedValues) {
  // An unknown key or kind of 1000 bytes is cut to 64 in the message.
  std::string key(1000, 'k');
  std::string err = activationError("{\"kind\": \"silu\", \"" + key + "\": 1}");
  EXPECT_EQ(err, "manifest.json: activation: unknown field '" +
                     std::string(64, 'k') +
                     "...' (1000 bytes) (expected \"kind\", \"alpha\" or "
                     "\"limit\")");
  err = activationError("{\"kind\": \"" + key + "\"}");
  EXPECT_EQ(err, "manifest.json: activation.kind: expected \"silu\" or "
                 "\"clamped_swiglu\", got '" +
                     std::string(64, 'k') + "...' (1000 bytes)");
}

TEST_F(BundleDir, ActivationThroughTheCApi) {
  writeMutated("\"epilogue\"", "\"activation\": {\"kind\": \"clamped_swiglu\", "
                               "\"alpha\": 1.702, \"limit\": 7}, \"epilogue\"");
  sy_bundle *b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  const char *s = nullptr;
  EXPECT_EQ(sy_bundle_manifest_string(b, "activation", &s), SY_ERR_NOT_FOUND);
  sy_bundle_destroy(b);
  writeMutated("\"epilogue\"",
               "\"activation\": {\"kind\": \"clamped_swiglu\"}, \"epilogue\"");
  expectError(SY_ERR_MANIFEST,
              {"manifest.json: activation.alpha: missing required field"});
}

//===----------------------------------------------------------------------===//
// A layer's bias inputs (gpt-oss)
//===----------------------------------------------------------------------===//

/// checkLayerBiases on kValidManifest with the buffers `extra` added, for a
/// layer of E = 2, H = 128, I = 32 and bf16 hidden states; "" when it
/// accepts them (with what it found in `out`), else its message.
std::string layerBiasError(const std::string &extra,
                           samoyeds::rt::LayerBiases &out, bool routes = true) {
  std::string text = kValidManifest, err;
  text.insert(text.find("    {\"name\": \"y\""), extra);
  samoyeds::rt::Manifest m;
  EXPECT_EQ(samoyeds::rt::parseManifest(text, "manifest.json", m, err), SY_OK)
      << err;
  if (!samoyeds::rt::checkLayerBiases(m, 2, 128, 32, SY_DTYPE_BF16, routes, out,
                                      err))
    return err;
  EXPECT_EQ(err, "");
  return "";
}

std::string layerBiasError(const std::string &extra, bool routes = true) {
  samoyeds::rt::LayerBiases out;
  return layerBiasError(extra, out, routes);
}

/// A buffer entry of a manifest, with a trailing comma.
std::string bufferEntry(const std::string &name, const std::string &kind,
                        const std::string &dtype, const std::string &shape) {
  return "    {\"name\": \"" + name + "\", \"kind\": \"" + kind +
         "\", \"dtype\": \"" + dtype + "\", \"shape\": " + shape + "},\n";
}

TEST(LayerBiases, FindsTheExpertAndRouterBiases) {
  samoyeds::rt::LayerBiases out;
  EXPECT_EQ(layerBiasError("", out), "");
  EXPECT_FALSE(out.experts);
  EXPECT_FALSE(out.router);
  for (auto [dtype, code] : {std::make_pair("bf16", SY_DTYPE_BF16),
                             std::make_pair("f16", SY_DTYPE_F16),
                             std::make_pair("f32", SY_DTYPE_F32)}) {
    EXPECT_EQ(
        layerBiasError(bufferEntry("router_bias", "input", dtype, "[2]"), out),
        "");
    EXPECT_TRUE(out.router);
    EXPECT_EQ(out.routerDtype, code);
    EXPECT_FALSE(out.experts);
  }
  EXPECT_EQ(
      layerBiasError(bufferEntry("w13_bias", "input", "bf16", "[2, 64]") +
                         bufferEntry("w2_bias", "input", "bf16", "[2, 128]") +
                         bufferEntry("router_bias", "input", "bf16", "[2]"),
                     out),
      "");
  EXPECT_TRUE(out.experts);
  EXPECT_TRUE(out.router);
  // An experts-only layer has the experts' biases but no router's.
  EXPECT_EQ(
      layerBiasError(bufferEntry("w13_bias", "input", "bf16", "[2, 64]") +
                         bufferEntry("w2_bias", "input", "bf16", "[2, 128]"),
                     out, /*routes=*/false),
      "");
  EXPECT_TRUE(out.experts);
  EXPECT_FALSE(out.router);
}

TEST(LayerBiases, RefusesBadBiasInputs) {
  // The router's bias with its kind, dtype or shape wrong in turn.
  for (auto [kind, dtype, shape, what] :
       std::initializer_list<std::array<std::string, 4>>{
           {"output", "bf16", "[2]", "is an output, not an input"},
           {"workspace", "f32", "[2]", "is a workspace, not an input"},
           {"input", "i32", "[2]", "is i32, expected bf16 or f16 or f32"},
           {"input", "bf16", "[3]", "has shape [3], expected [2]"},
           {"input", "bf16", "[\"T\"]", "has shape [T], expected [2]"},
           {"input", "bf16", "[2, 1]", "has shape [2, 1], expected [2]"},
           {"input", "bf16", "[]", "has shape [], expected [2]"},
           {"input", "bf16", "[1, 1, 2, 1, 1, 1]",
            "has shape [1, 1, 2, 1, ... (6 dimensions)], expected [2]"}})
    EXPECT_EQ(layerBiasError(bufferEntry("router_bias", kind, dtype, shape)),
              "buffer 'router_bias' (the router's bias [E]) " + what)
        << kind << " " << dtype << " " << shape;
  EXPECT_EQ(layerBiasError(bufferEntry("router_bias", "input", "bf16", "[2]"),
                           /*routes=*/false),
            "input 'router_bias' in a layer without a router (its routing is "
            "the caller's, bias included)");
  // The experts' biases: one alone, a dtype or a shape wrong.
  const std::string b13 = bufferEntry("w13_bias", "input", "bf16", "[2, 64]");
  EXPECT_EQ(layerBiasError(b13), "input 'w13_bias' without 'w2_bias' (the "
                                 "experts' biases come in pairs)");
  EXPECT_EQ(
      layerBiasError(b13 + bufferEntry("w2_bias", "input", "f16", "[2, 128]")),
      "buffer 'w2_bias' (the experts' down bias [E, H]) is f16, "
      "expected bf16");
  EXPECT_EQ(layerBiasError(bufferEntry("w13_bias", "input", "bf16", "[2, 32]") +
                           bufferEntry("w2_bias", "input", "bf16", "[2, 128]")),
            "buffer 'w13_bias' (the experts' gate/up bias [E, 2I]) has shape "
            "[2, 32], expected [2, 64]");
}

//===----------------------------------------------------------------------===//
// Kernel file sizes and checksums
//===----------------------------------------------------------------------===//

TEST(Checksum, Fnv1a64KnownValues) {
  EXPECT_EQ(samoyeds::rt::fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(samoyeds::rt::fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(samoyeds::rt::fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

class BundleFiles : public BundleDir {
protected:
  const std::string ptx = "// not a real module\n";
  const std::string cubin = std::string("\x7f"
                                        "ELF\0\1",
                                        6);

  void SetUp() override {
    BundleDir::SetUp();
    write("kernels.cubin", cubin);
  }
  /// A `files` entry as the compiler writes it.
  static std::string entry(const std::string &name, const std::string &data) {
    char hash[17];
    std::snprintf(hash, sizeof(hash), "%016" PRIx64,
                  samoyeds::rt::fnv1a64(data));
    return "{\"name\": \"" + name +
           "\", \"bytes\": " + std::to_string(data.size()) +
           ", \"fnv1a64\": \"" + hash + "\"}";
  }
  /// Writes the valid manifest with `files` as its files list.
  void writeFiles(const std::string &files) {
    writeMutated("\"symbols\"", "\"files\": " + files + ", \"symbols\"");
  }
  std::string validFiles() {
    return "[" + entry("kernels.ptx", ptx) + ", " +
           entry("kernels.cubin", cubin) + "]";
  }
};

TEST_F(BundleFiles, MatchingFilesOpen) {
  writeFiles(validFiles());
  sy_bundle *b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  EXPECT_EQ(sy_bundle_destroy(b), SY_OK);
}

TEST_F(BundleFiles, SizeMismatchIsRejected) {
  writeFiles(validFiles());
  write("kernels.ptx", ptx + "// appended by a newer compile\n");
  expectError(SY_ERR_MANIFEST, {"manifest.json: files[0]: 'kernels.ptx' is",
                                "bytes, the manifest says 21"});
}

TEST_F(BundleFiles, LargerFileIsRejectedWithoutReadingIt) {
  // A sparse file of 1 TiB where the manifest says 21 bytes: its size is
  // compared before anything is read (reading it would not fit in memory).
  writeFiles(validFiles());
  int fd = ::open((dir + "/kernels.ptx").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, off_t(1) << 40), 0);
  ::close(fd);
  expectError(SY_ERR_MANIFEST, {"files[0]: 'kernels.ptx' is 1099511627776 "
                                "bytes, the manifest says 21"});
}

TEST_F(BundleFiles, ChecksumMismatchIsRejected) {
  writeFiles(validFiles());
  // Same size, one byte changed: only the checksum tells.
  std::string other = cubin;
  other[5] = '\2';
  write("kernels.cubin", other);
  expectError(SY_ERR_MANIFEST,
              {"manifest.json: files[1]: 'kernels.cubin' has checksum "
               "(FNV-1a 64)",
               "the manifest says"});
}

TEST_F(BundleFiles, ListedFileMissingIsRejected) {
  writeFiles(validFiles());
  std::remove((dir + "/kernels.cubin").c_str());
  expectError(SY_ERR_MANIFEST, {"files[1]: cannot read", "kernels.cubin'"});
}

TEST_F(BundleFiles, MalformedEntries) {
  writeFiles("{}");
  expectError(SY_ERR_MANIFEST, {"files: expected an array, got object"});
  writeFiles("[" + entry("../kernels.ptx", ptx) + "]");
  expectError(SY_ERR_MANIFEST,
              {"files[0].name", "expected a file name, got '../kernels.ptx'"});
  // Control bytes of a name are escaped in the message.
  writeFiles("[{\"name\": \"a/\\u0001\", \"bytes\": 1, "
             "\"fnv1a64\": \"0000000000000000\"}]");
  expectError(SY_ERR_MANIFEST,
              {"files[0].name", "expected a file name, got 'a/\\x01'"});
  writeFiles("[" + entry("kernels.ptx", ptx) + ", " +
             entry("kernels.ptx", ptx) + "]");
  expectError(SY_ERR_MANIFEST,
              {"files[1].name", "duplicate file 'kernels.ptx'"});
  writeFiles("[{\"name\": \"kernels.ptx\", \"bytes\": 21, "
             "\"fnv1a64\": \"ABC\"}]");
  expectError(SY_ERR_MANIFEST, {"files[0].fnv1a64", "16 lower-case hex"});
  writeFiles("[{\"name\": \"kernels.ptx\", \"bytes\": -1, "
             "\"fnv1a64\": \"0000000000000000\"}]");
  expectError(SY_ERR_MANIFEST, {"files[0].bytes", "out of range"});
  // Checksums of some kernel files but not of the module.
  writeFiles("[" + entry("kernels.cubin", cubin) + "]");
  expectError(SY_ERR_MANIFEST, {"files: no entry for 'kernels.ptx'"});
}

//===----------------------------------------------------------------------===//
// Hostile manifests (docs/Robustness.md)
//===----------------------------------------------------------------------===//

TEST_F(BundleDir, BufferBytesThatOverflowAreRefused) {
  // Constant dims alone: refused when the manifest is read.
  writeMutated("[\"T\", 128]", "[2147483647, 2147483647, 2147483647]");
  expectError(SY_ERR_MANIFEST,
              {"manifest.json: buffers[0].shape: buffer 'x' of shape "
               "[2147483647, 2147483647, 2147483647] is too large (its bytes "
               "overflow a 64-bit count)"});
  // With symbols: refused for the symbol values that overflow.
  writeMutated("[\"T\", 128]", "[\"T\", 2147483647, 2147483647]");
  sy_bundle *b = nullptr;
  ASSERT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  const char *names[] = {"T"};
  int64_t small[] = {1}, big[] = {2147483647};
  uint64_t bytes = 0;
  EXPECT_EQ(sy_bundle_buffer_bytes(b, "x", names, small, 1, &bytes), SY_OK);
  EXPECT_EQ(bytes, uint64_t(2147483647) * 2147483647 * 2);
  bytes = 7;
  EXPECT_EQ(sy_bundle_buffer_bytes(b, "x", names, big, 1, &bytes),
            SY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(bytes, 7u);
  EXPECT_STREQ(sy_last_error(),
               "sy_bundle_buffer_bytes: buffer 'x' of shape [T = 2147483647, "
               "2147483647, 2147483647] is too large (its bytes overflow a "
               "64-bit count)");
  sy_bundle_destroy(b);
}

TEST_F(BundleDir, ManifestMustBeASmallRegularFile) {
  // A FIFO used to block sy_bundle_open forever.
  ASSERT_EQ(mkfifo((dir + "/manifest.json").c_str(), 0600), 0);
  expectError(SY_ERR_IO,
              {"manifest.json: cannot read file: not a regular file"});
  std::remove((dir + "/manifest.json").c_str());
  ASSERT_EQ(mkdir((dir + "/manifest.json").c_str(), 0700), 0);
  expectError(SY_ERR_IO,
              {"manifest.json: cannot read file: not a regular file"});
  rmdir((dir + "/manifest.json").c_str());
  // 16 MiB + 1 bytes (sparse).
  write("manifest.json", "");
  ASSERT_EQ(truncate((dir + "/manifest.json").c_str(), (16 << 20) + 1), 0);
  expectError(SY_ERR_IO, {"manifest.json: cannot read file: 16777217 bytes, "
                          "more than the 16777216 allowed"});
  // A module that is not a regular file does not exist for the runtime.
  write("manifest.json", kValidManifest);
  std::remove((dir + "/kernels.ptx").c_str());
  ASSERT_EQ(mkfifo((dir + "/kernels.ptx").c_str(), 0600), 0);
  expectError(SY_ERR_MANIFEST, {"module file", "kernels.ptx' does not exist"});
}

TEST_F(BundleDir, ErrorsQuoteBoundedValues) {
  // The audit: a 1 MB dtype gave a 1 MB message.
  std::string big(1 << 20, 'd');
  writeMutated("\"dtype\": \"u8\"", "\"dtype\": \"" + big + "\"");
  expectError(SY_ERR_MANIFEST, {"buffers[5].dtype: expected \"bf16\", "
                                "\"f16\", \"f32\", \"i32\", \"u32\" or "
                                "\"u8\", got '" +
                                std::string(64, 'd') + "...' (1048576 bytes)"});
  EXPECT_LT(std::string(sy_last_error()).size(), dir.size() + 200);
  writeMutated("\"kind\": \"workspace\"", "\"kind\": \"scr\\u0000tch\"");
  expectError(SY_ERR_MANIFEST, {"buffers[7].kind: expected \"input\", "
                                "\"output\", \"weight\", \"workspace\" or "
                                "\"counters\", got 'scr\\x00tch'"});
  writeMutated("\"samoyeds-bundle\"", "\"\\u00e9\"");
  expectError(SY_ERR_MANIFEST,
              {"format: expected \"samoyeds-bundle\", got '\\xc3\\xa9'"});
}

TEST_F(BundleDir, NamesAreBoundedPrintableAscii) {
  const char *rule = "expected 1 to 256 printable ASCII characters other "
                     "than space, ' and \\, got ";
  writeMutated("{\"name\": \"ws0\"", "{\"name\": \"ws 0\"");
  expectError(SY_ERR_MANIFEST,
              {std::string("buffers[7].name: ") + rule + "'ws 0'"});
  writeMutated("{\"name\": \"ws0\"",
               "{\"name\": \"" + std::string(257, 'w') + "\"");
  expectError(SY_ERR_MANIFEST, {"buffers[7].name: ", "(257 bytes)"});
  writeMutated("{\"name\": \"ws0\"", "{\"name\": \"\"");
  expectError(SY_ERR_MANIFEST,
              {std::string("buffers[7].name: ") + rule + "''"});
  writeMutated("{\"name\": \"w\", \"dtype\"", "{\"name\": \"w\\t\", \"dtype\"");
  expectError(SY_ERR_MANIFEST,
              {std::string("weights[0].name: ") + rule + "'w\\x09'"});
  writeMutated("[\"T\", \"P\"]", "[\"T\", \"P'\"]");
  expectError(SY_ERR_MANIFEST, {std::string("symbols[1]: ") + rule + "'P\\''"});
  writeMutated("\"kernel\": \"samoyeds_ssmm_0\"", "\"kernel\": \"9lives\"");
  expectError(SY_ERR_MANIFEST, {"launches[0].kernel: expected a PTX identifier "
                                "of at most 256 characters, got '9lives'"});
  writeMutated("\"kernel\": \"samoyeds_ssmm_0\"", "\"kernel\": \"\"");
  expectError(SY_ERR_MANIFEST,
              {"launches[0].kernel: expected a PTX "
               "identifier of at most 256 characters, got ''"});
  // PTX identifiers may start with _, $ or % and hold $.
  writeMutated("\"kernel\": \"samoyeds_ssmm_0\"", "\"kernel\": \"%k$1\"");
  sy_bundle *b = nullptr;
  EXPECT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
  sy_bundle_destroy(b);
}

TEST_F(BundleDir, ChipAndFileNamesAreChecked) {
  for (const char *chip : {"sm_9", "sm_1000", "sm_90ab", "sm_90A", "sm_x0"}) {
    writeMutated("\"chip\": \"sm_90a\"",
                 std::string("\"chip\": \"") + chip + "\"");
    expectError(SY_ERR_MANIFEST, {std::string("chip: expected sm_XX[X][a-z], "
                                              "got '") +
                                  chip + "'"});
  }
  for (const char *chip : {"sm_80", "sm_100f", "sm_120a"}) {
    writeMutated("\"chip\": \"sm_90a\"",
                 std::string("\"chip\": \"") + chip + "\"");
    sy_bundle *b = nullptr;
    EXPECT_EQ(sy_bundle_open(dir.c_str(), &b), SY_OK) << sy_last_error();
    sy_bundle_destroy(b);
  }
  // The module and cubin lie in the bundle directory.
  for (const char *name : {"../kernels.ptx", "/etc/passwd", "..", "."}) {
    writeMutated("\"module\": \"kernels.ptx\"",
                 std::string("\"module\": \"") + name + "\"");
    expectError(SY_ERR_MANIFEST, {std::string("module: expected a file name in "
                                              "the bundle directory (no '/'), "
                                              "got '") +
                                  name + "'"});
  }
  writeMutated("\"cubin\": \"kernels.cubin\"", "\"cubin\": \"a/b.cubin\"");
  expectError(SY_ERR_MANIFEST, {"cubin: expected a file name in the bundle "
                                "directory (no '/'), got 'a/b.cubin'"});
}

TEST(Errors, LongMessagesAreCut) {
  // A path of 20000 bytes: the message keeps its first 16380 bytes + "...".
  std::string dir = "/" + std::string(19999, 'd');
  sy_bundle *b = nullptr;
  EXPECT_EQ(sy_bundle_open(dir.c_str(), &b), SY_ERR_IO);
  std::string msg = sy_last_error();
  EXPECT_EQ(msg.size(), 16383u);
  EXPECT_EQ(msg, dir.substr(0, 16380) + "...");
}

TEST(Errors, CApiWorksInExitHandlers) {
  // Thread-local destructors run before atexit handlers and static
  // destructors; the last error used to be a std::string freed by then.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::atexit([] {
      sy_bundle *b = nullptr;
      sy_status st = sy_bundle_open("/nonexistent-samoyeds", &b);
      bool ok = st == SY_ERR_IO &&
                std::string(sy_last_error()) ==
                    "/nonexistent-samoyeds/manifest.json: cannot read file: "
                    "No such file or directory";
      ok = ok && sy_bundle_destroy(nullptr) == SY_OK && !*sy_last_error();
      std::_Exit(ok ? 0 : 3);
    });
    std::exit(1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status))
      << "child died with signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

} // namespace
