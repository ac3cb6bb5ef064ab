//===- Manifest.cpp - manifest.json of a bundle
//----------------------------===//

#include "Manifest.h"

#include <climits>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace samoyeds {
namespace rt {

const char *weightPartName(WeightPart part) {
  switch (part) {
  case WeightPart::Values:
    return "values";
  case WeightPart::Meta:
    return "meta";
  case WeightPart::RowIdx:
    return "row_idx";
  }
  return "?";
}

template <typename T>
static int findByName(const std::vector<T> &v, const std::string &name) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i].name == name)
      return int(i);
  return -1;
}

int Manifest::findBuffer(const std::string &n) const {
  return findByName(buffers, n);
}
int Manifest::findWeight(const std::string &n) const {
  return findByName(weights, n);
}
int Manifest::findSymbol(const std::string &n) const {
  for (size_t i = 0; i < symbols.size(); ++i)
    if (symbols[i] == n)
      return int(i);
  return -1;
}

bool readFile(const std::string &path, std::string &contents) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  contents = ss.str();
  return !in.bad();
}

bool fileExists(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return bool(in);
}

int64_t bufferElements(const BufferDesc &b, const std::vector<int64_t> &syms) {
  int64_t n = 1;
  for (const ShapeDim &d : b.shape)
    n *= d.symbol >= 0 ? syms[size_t(d.symbol)] : d.value;
  return n;
}

std::vector<uint64_t>
workspaceReservation(const Manifest &m, const std::vector<int64_t> &maxSyms) {
  std::vector<uint64_t> bytes(m.buffers.size(), 0);
  for (size_t i = 0; i < m.buffers.size(); ++i) {
    const BufferDesc &b = m.buffers[i];
    if (b.kind == SY_BUFFER_WORKSPACE)
      bytes[i] = uint64_t(bufferElements(b, maxSyms)) * sy_dtype_size(b.dtype);
  }
  return bytes;
}

std::string checkReserved(const Manifest &m,
                          const std::vector<int64_t> &reserved,
                          const std::vector<int64_t> &syms) {
  for (size_t s = 0; s < syms.size() && s < reserved.size(); ++s)
    if (syms[s] > reserved[s])
      return "symbol '" + m.symbols[s] + "' = " + std::to_string(syms[s]) +
             " exceeds the maximum " + std::to_string(reserved[s]) +
             " reserved by sy_session_reserve (reserve a larger maximum, "
             "outside any CUDA graph capture)";
  return "";
}

namespace {
using json::Value;

/// Validates one manifest; every error is "FILE: FIELD: message".
class Checker {
public:
  Checker(std::string file, Manifest &m) : file(std::move(file)), m(m) {}
  std::string error;

  bool fail(const std::string &field, const std::string &msg) {
    error = file + ": " + field + ": " + msg;
    return false;
  }

  const Value *member(const Value &obj, const std::string &path,
                      const std::string &key, Value::Kind kind) {
    const Value *v = obj.get(key);
    std::string field = path.empty() ? key : path + "." + key;
    if (!v) {
      fail(field, "missing required field");
      return nullptr;
    }
    if (v->kind != kind) {
      fail(field, std::string("expected ") + json::kindName(kind) + ", got " +
                      json::kindName(v->kind));
      return nullptr;
    }
    return v;
  }

  bool integer(const Value &v, const std::string &field, int64_t lo, int64_t hi,
               int64_t &out) {
    if (!v.isNumber() || !v.isInteger)
      return fail(field, "expected an integer");
    if (v.integer < lo || v.integer > hi)
      return fail(field, "value " + std::to_string(v.integer) +
                             " out of range [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + "]");
    out = v.integer;
    return true;
  }

  bool intMember(const Value &obj, const std::string &path,
                 const std::string &key, int64_t lo, int64_t hi, int64_t &out) {
    const Value *v = obj.get(key);
    std::string field = path + "." + key;
    if (!v)
      return fail(field, "missing required field");
    return integer(*v, field, lo, hi, out);
  }

  bool dtype(const std::string &s, const std::string &field, sy_dtype &out) {
    static const char *names[] = {"bf16", "f16", "f32", "i32", "u32", "u8"};
    for (int i = 0; i < 6; ++i)
      if (s == names[i]) {
        out = sy_dtype(i);
        return true;
      }
    return fail(field, "unknown dtype '" + s + "'");
  }

  bool symbol(const Value &v, const std::string &field, int &out) {
    if (!v.isString())
      return fail(field, "expected a symbol name");
    out = m.findSymbol(v.string);
    if (out < 0)
      return fail(field, "unknown symbol '" + v.string + "'");
    return true;
  }

  /// Reads the optional "layout" of weight entry `o` into `w.layout`.
  bool layout(const Value &o, const std::string &path, WeightDesc &w) {
    const Value *v = o.get("layout");
    if (!v)
      return true; // Absent: mma_sp.
    if (!v->isString())
      return fail(path + ".layout", "weight '" + w.name +
                                        "': expected a string (\"mma_sp\" "
                                        "or \"wgmma\"), got " +
                                        json::kindName(v->kind));
    if (!parseLayout(v->string, w.layout))
      return fail(path + ".layout", "weight '" + w.name +
                                        "': unknown layout '" + v->string +
                                        "' (expected \"mma_sp\" or \"wgmma\")");
    return true;
  }

  bool run(const Value &root);
  bool files(const Value &root);
  bool weights(const Value &root);
  bool buffers(const Value &root);
  bool launches(const Value &root);

private:
  std::string file;
  Manifest &m;
};

bool Checker::run(const Value &root) {
  if (!root.isObject())
    return fail("(root)", "expected an object");
  const Value *v;
  if (!(v = member(root, "", "format", Value::Kind::String)))
    return false;
  if (v->string != "samoyeds-bundle")
    return fail("format",
                "expected \"samoyeds-bundle\", got \"" + v->string + "\"");
  int64_t version;
  if (!root.get("version"))
    return fail("version", "missing required field");
  if (!integer(*root.get("version"), "version", 1, 1, version))
    return fail("version",
                "unsupported version (this runtime reads version 1)");
  if (!(v = member(root, "", "chip", Value::Kind::String)))
    return false;
  m.chip = v->string;
  if (m.chip.size() < 5 || m.chip.compare(0, 3, "sm_") != 0)
    return fail("chip", "expected sm_XX, got '" + m.chip + "'");
  if (const Value *pv = root.get("ptx_version")) {
    int64_t ignored;
    if (!integer(*pv, "ptx_version", 0, INT_MAX, ignored))
      return false;
  }
  if (!(v = member(root, "", "module", Value::Kind::String)))
    return false;
  m.module = v->string;
  if (m.module.empty())
    return fail("module", "empty file name");
  if (const Value *cv = root.get("cubin")) {
    if (!cv->isString())
      return fail("cubin", "expected string");
    m.cubin = cv->string;
  }
  if (!(v = member(root, "", "symbols", Value::Kind::Array)))
    return false;
  for (size_t i = 0; i < v->array.size(); ++i) {
    std::string field = "symbols[" + std::to_string(i) + "]";
    const Value &s = v->array[i];
    if (!s.isString() || s.string.empty())
      return fail(field, "expected a non-empty string");
    if (m.findSymbol(s.string) >= 0)
      return fail(field, "duplicate symbol '" + s.string + "'");
    m.symbols.push_back(s.string);
  }
  return files(root) && weights(root) && buffers(root) && launches(root);
}

bool Checker::files(const Value &root) {
  const Value *arr = root.get("files");
  if (!arr)
    return true; // Older compilers record no checksums.
  if (!arr->isArray())
    return fail("files", "expected array");
  for (size_t i = 0; i < arr->array.size(); ++i) {
    std::string path = "files[" + std::to_string(i) + "]";
    const Value &o = arr->array[i];
    if (!o.isObject())
      return fail(path, "expected object");
    FileDesc f;
    const Value *v;
    if (!(v = member(o, path, "name", Value::Kind::String)))
      return false;
    f.name = v->string;
    // A file of the bundle directory, never a path out of it.
    if (f.name.empty() || f.name == "." || f.name == ".." ||
        f.name.find_first_of("/\\") != std::string::npos)
      return fail(path + ".name", "expected a file name, got '" + f.name + "'");
    for (const FileDesc &other : m.files)
      if (other.name == f.name)
        return fail(path + ".name", "duplicate file '" + f.name + "'");
    if (!intMember(o, path, "bytes", 0, INT64_MAX, f.bytes))
      return false;
    if (!(v = member(o, path, "fnv1a64", Value::Kind::String)))
      return false;
    if (v->string.size() != 16 ||
        v->string.find_first_not_of("0123456789abcdef") != std::string::npos)
      return fail(path + ".fnv1a64",
                  "expected 16 lower-case hex digits, got '" + v->string + "'");
    f.fnv1a64 = std::stoull(v->string, nullptr, 16);
    m.files.push_back(f);
  }
  // A manifest that records checksums records those of its kernel files.
  for (const std::string *name : {&m.module, &m.cubin}) {
    if (name->empty())
      continue;
    bool listed = false;
    for (const FileDesc &f : m.files)
      listed = listed || f.name == *name;
    if (!listed)
      return fail("files", "no entry for '" + *name + "'");
  }
  return true;
}

bool Checker::weights(const Value &root) {
  const Value *arr = root.get("weights");
  if (!arr)
    return true; // A bundle may have no weights.
  if (!arr->isArray())
    return fail("weights", "expected array");
  for (size_t i = 0; i < arr->array.size(); ++i) {
    std::string path = "weights[" + std::to_string(i) + "]";
    const Value &o = arr->array[i];
    if (!o.isObject())
      return fail(path, "expected object");
    WeightDesc w;
    const Value *v;
    if (!(v = member(o, path, "name", Value::Kind::String)))
      return false;
    w.name = v->string;
    if (m.findWeight(w.name) >= 0)
      return fail(path + ".name", "duplicate weight '" + w.name + "'");
    if (!(v = member(o, path, "dtype", Value::Kind::String)))
      return false;
    if (v->string == "bf16")
      w.dtype = DType::BF16;
    else if (v->string == "f16")
      w.dtype = DType::F16;
    else
      return fail(path + ".dtype",
                  "weights must be bf16 or f16, got '" + v->string + "'");
    int64_t n, mm, vv;
    if (!intMember(o, path, "experts", 1, INT_MAX, w.shape.experts) ||
        !intMember(o, path, "rows", 1, INT64_MAX / 2, w.shape.rows) ||
        !intMember(o, path, "cols", 1, INT64_MAX / 2, w.shape.cols) ||
        !intMember(o, path, "n", 1, 16, n) ||
        !intMember(o, path, "m", 1, 16, mm) ||
        !intMember(o, path, "v", 1, INT_MAX, vv))
      return false;
    w.params = {int(n), int(mm), int(vv)};
    if (!layout(o, path, w))
      return false;
    std::string err = validate(w.params, w.shape, w.layout);
    if (!err.empty())
      return fail(path, "weight '" + w.name + "': " + err);
    m.weights.push_back(w);
  }
  return true;
}

bool Checker::buffers(const Value &root) {
  const Value *arr = member(root, "", "buffers", Value::Kind::Array);
  if (!arr)
    return false;
  for (size_t i = 0; i < arr->array.size(); ++i) {
    std::string path = "buffers[" + std::to_string(i) + "]";
    const Value &o = arr->array[i];
    if (!o.isObject())
      return fail(path, "expected object");
    BufferDesc b;
    const Value *v;
    if (!(v = member(o, path, "name", Value::Kind::String)))
      return false;
    b.name = v->string;
    if (b.name.empty() || m.findBuffer(b.name) >= 0)
      return fail(path + ".name",
                  "empty or duplicate buffer name '" + b.name + "'");
    if (!(v = member(o, path, "kind", Value::Kind::String)))
      return false;
    static const char *kinds[] = {"input", "output", "weight", "workspace"};
    int kind = -1;
    for (int k = 0; k < 4; ++k)
      if (v->string == kinds[k])
        kind = k;
    if (kind < 0)
      return fail(path + ".kind",
                  "unknown kind '" + v->string +
                      "' (expected input, output, weight or workspace)");
    b.kind = sy_buffer_kind(kind);
    if (!(v = member(o, path, "dtype", Value::Kind::String)) ||
        !dtype(v->string, path + ".dtype", b.dtype))
      return false;
    if (b.kind == SY_BUFFER_WEIGHT) {
      if (!intMember(o, path, "bytes", 0, INT64_MAX, b.bytes))
        return false;
      if (!(v = member(o, path, "of", Value::Kind::String)))
        return false;
      b.weight = m.findWeight(v->string);
      if (b.weight < 0)
        return fail(path + ".of", "unknown weight '" + v->string + "'");
      if (!(v = member(o, path, "part", Value::Kind::String)))
        return false;
      if (v->string == "values")
        b.part = WeightPart::Values;
      else if (v->string == "meta")
        b.part = WeightPart::Meta;
      else if (v->string == "row_idx")
        b.part = WeightPart::RowIdx;
      else
        return fail(path + ".part", "unknown part '" + v->string +
                                        "' (expected values, meta or row_idx)");
      WeightDesc &w = m.weights[size_t(b.weight)];
      int &slot = w.parts[int(b.part)];
      if (slot >= 0)
        return fail(path + ".part", "weight '" + w.name + "' has two '" +
                                        v->string + "' buffers");
      slot = int(m.buffers.size());
      int64_t per = b.part == WeightPart::Values
                        ? valuesBytesPerExpert(w.params, w.shape)
                    : b.part == WeightPart::Meta
                        ? metaBytesPerExpert(w.params, w.shape)
                        : rowIdxBytesPerExpert(w.params, w.shape);
      if (b.bytes != per * w.shape.experts)
        return fail(path + ".bytes",
                    "weight '" + w.name + "' part '" + v->string +
                        "' must be " + std::to_string(per * w.shape.experts) +
                        " bytes per Format.md, manifest says " +
                        std::to_string(b.bytes));
    } else {
      if (!(v = member(o, path, "shape", Value::Kind::Array)))
        return false;
      for (size_t d = 0; d < v->array.size(); ++d) {
        std::string field = path + ".shape[" + std::to_string(d) + "]";
        const Value &e = v->array[d];
        ShapeDim dim;
        if (e.isString()) {
          if (!symbol(e, field, dim.symbol))
            return false;
        } else if (!integer(e, field, 0, INT32_MAX, dim.value)) {
          return false;
        }
        b.shape.push_back(dim);
      }
    }
    m.buffers.push_back(b);
  }
  return true;
}

bool Checker::launches(const Value &root) {
  const Value *arr = member(root, "", "launches", Value::Kind::Array);
  if (!arr)
    return false;
  for (size_t i = 0; i < arr->array.size(); ++i) {
    std::string path = "launches[" + std::to_string(i) + "]";
    const Value &o = arr->array[i];
    if (!o.isObject())
      return fail(path, "expected object");
    LaunchDesc l;
    const Value *v;
    if (!(v = member(o, path, "kernel", Value::Kind::String)))
      return false;
    if (v->string.empty())
      return fail(path + ".kernel", "empty kernel name");
    l.kernel = v->string;
    if (!(v = member(o, path, "grid", Value::Kind::Array)))
      return false;
    if (v->array.size() != 3)
      return fail(path + ".grid",
                  "expected 3 entries, got " + std::to_string(v->array.size()));
    for (int d = 0; d < 3; ++d) {
      std::string field = path + ".grid[" + std::to_string(d) + "]";
      const Value &g = v->array[size_t(d)];
      if (!g.isObject() || g.object.size() != 1)
        return fail(field,
                    "expected {\"const\": c} or {\"ceil_div\": [symbol, d]}");
      if (const Value *c = g.get("const")) {
        if (!integer(*c, field + ".const", 0, INT32_MAX, l.grid[d].value))
          return false;
      } else if (const Value *cd = g.get("ceil_div")) {
        if (!cd->isArray() || cd->array.size() < 2 || cd->array.size() > 3)
          return fail(field + ".ceil_div",
                      "expected [symbol, divisor] or [symbol, divisor, plus]");
        if (!symbol(cd->array[0], field + ".ceil_div[0]", l.grid[d].symbol) ||
            !integer(cd->array[1], field + ".ceil_div[1]", 1, INT32_MAX,
                     l.grid[d].value))
          return false;
        if (cd->array.size() == 3 &&
            !integer(cd->array[2], field + ".ceil_div[2]", 0, INT32_MAX,
                     l.grid[d].plus))
          return false;
      } else if (const Value *k = g.get("per_sm")) {
        l.grid[d].perSM = true;
        if (!integer(*k, field + ".per_sm", 1, 64, l.grid[d].value))
          return false;
      } else {
        return fail(field, "unknown grid entry '" + g.object[0].first +
                               "' (expected const, ceil_div or per_sm)");
      }
    }
    if (!(v = member(o, path, "block", Value::Kind::Array)))
      return false;
    if (v->array.size() != 3)
      return fail(path + ".block", "expected 3 entries");
    int64_t threads = 1;
    for (int d = 0; d < 3; ++d) {
      int64_t b;
      if (!integer(v->array[size_t(d)],
                   path + ".block[" + std::to_string(d) + "]", 1, 1024, b))
        return false;
      l.block[d] = unsigned(b);
      threads *= b;
    }
    if (threads > 1024)
      return fail(path + ".block", "more than 1024 threads per block");
    if (o.get("smem") && !intMember(o, path, "smem", 0, INT32_MAX, l.smem))
      return false;
    if (!(v = member(o, path, "args", Value::Kind::Array)))
      return false;
    for (size_t a = 0; a < v->array.size(); ++a) {
      std::string field = path + ".args[" + std::to_string(a) + "]";
      const Value &e = v->array[a];
      bool bufferArg = e.isObject() && e.get("buffer");
      size_t keys = bufferArg && e.get("elem_bytes") ? 2 : 1;
      if (!e.isObject() || e.object.size() != keys)
        return fail(field, "expected {\"buffer\": b[, \"elem_bytes\": n]}, "
                           "{\"symbol\": s} or {\"i32\": c}");
      LaunchArg arg;
      if (const Value *b = e.get("buffer")) {
        arg.kind = LaunchArg::Buffer;
        if (!b->isString())
          return fail(field + ".buffer", "expected a buffer name");
        arg.index = m.findBuffer(b->string);
        if (arg.index < 0)
          return fail(field + ".buffer", "unknown buffer '" + b->string + "'");
        if (e.get("elem_bytes") &&
            !integer(*e.get("elem_bytes"), field + ".elem_bytes", 1, 64,
                     arg.elemBytes))
          return false;
      } else if (const Value *s = e.get("symbol")) {
        arg.kind = LaunchArg::Symbol;
        if (!symbol(*s, field + ".symbol", arg.index))
          return false;
      } else if (const Value *c = e.get("i32")) {
        arg.kind = LaunchArg::I32;
        int64_t value;
        if (!integer(*c, field + ".i32", INT32_MIN, INT32_MAX, value))
          return false;
        arg.value = int32_t(value);
      } else {
        return fail(field, "unknown argument kind '" + e.object[0].first + "'");
      }
      l.args.push_back(arg);
    }
    if (const Value *w = o.get("when")) {
      std::string field = path + ".when";
      if (!w->isObject())
        return fail(field, "expected {\"symbol\": s, \"min\": a[, \"max\": "
                           "b]}");
      for (const auto &[key, value] : w->object)
        if (key != "symbol" && key != "min" && key != "max")
          return fail(field, "unknown field '" + key +
                                 "' (expected symbol, min, max)");
      const Value *s = w->get("symbol");
      if (!s)
        return fail(field + ".symbol", "missing required field");
      if (!symbol(*s, field + ".symbol", l.when.symbol) ||
          !intMember(*w, field, "min", 0, INT32_MAX, l.when.min))
        return false;
      if (w->get("max") &&
          !intMember(*w, field, "max", l.when.min, INT32_MAX, l.when.max))
        return false;
    }
    m.launches.push_back(l);
  }
  return true;
}
} // namespace

bool launchSelected(const LaunchDesc &l, const std::vector<int64_t> &syms) {
  if (l.when.symbol < 0)
    return true;
  int64_t v = syms[size_t(l.when.symbol)];
  return v >= l.when.min && (l.when.max < 0 || v <= l.when.max);
}

int64_t gridSize(const GridDim &g, const std::vector<int64_t> &syms,
                 int64_t smCount) {
  if (g.perSM)
    return g.value * smCount;
  if (g.symbol < 0)
    return g.value;
  int64_t s = syms[size_t(g.symbol)];
  return s == 0 ? 0 : (s + g.value - 1) / g.value + g.plus;
}

sy_status loadManifest(const std::string &dir, Manifest &out,
                       std::string &error) {
  std::string file = dir + "/manifest.json";
  std::string text;
  if (!readFile(file, text)) {
    error = file + ": cannot read file";
    return SY_ERR_IO;
  }
  out = Manifest();
  std::string perr;
  if (!json::parse(text, out.root, perr)) {
    error = file + ":" + perr;
    return SY_ERR_MANIFEST;
  }
  Checker checker(file, out);
  if (!checker.run(out.root)) {
    error = checker.error;
    return SY_ERR_MANIFEST;
  }
  if (!fileExists(dir + "/" + out.module)) {
    error = file + ": module: module file '" + dir + "/" + out.module +
            "' does not exist";
    return SY_ERR_MANIFEST;
  }
  for (size_t i = 0; i < out.files.size(); ++i) {
    const FileDesc &f = out.files[i];
    std::string contents;
    if (!readFile(dir + "/" + f.name, contents)) {
      error = file + ": files[" + std::to_string(i) + "]: cannot read '" + dir +
              "/" + f.name + "'";
      return SY_ERR_MANIFEST;
    }
    if (!checkFileContents(out, file, f.name, contents, error))
      return SY_ERR_MANIFEST;
  }
  return SY_OK;
}

uint64_t fnv1a64(const std::string &data) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

bool checkFileContents(const Manifest &m, const std::string &manifestFile,
                       const std::string &name, const std::string &contents,
                       std::string &error) {
  for (size_t i = 0; i < m.files.size(); ++i) {
    const FileDesc &f = m.files[i];
    if (f.name != name)
      continue;
    std::string field = manifestFile + ": files[" + std::to_string(i) + "]: ";
    if (int64_t(contents.size()) != f.bytes) {
      error = field + "'" + name + "' is " + std::to_string(contents.size()) +
              " bytes, the manifest says " + std::to_string(f.bytes) +
              " (a torn or mixed bundle)";
      return false;
    }
    uint64_t hash = fnv1a64(contents);
    if (hash != f.fnv1a64) {
      char got[17], want[17];
      std::snprintf(got, sizeof(got), "%016llx", (unsigned long long)hash);
      std::snprintf(want, sizeof(want), "%016llx",
                    (unsigned long long)f.fnv1a64);
      error = field + "'" + name + "' has checksum (FNV-1a 64) " + got +
              ", the manifest says " + want + " (a torn or mixed bundle)";
      return false;
    }
  }
  return true;
}

} // namespace rt
} // namespace samoyeds
