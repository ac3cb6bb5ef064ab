//===- Manifest.cpp - manifest.json of a bundle
//----------------------------===//

#include "Manifest.h"
#include "samoyeds/Runtime/Checked.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

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

int Manifest::findBuffer(const std::string &n) const {
  return lookUp(bufferIndex, n);
}
int Manifest::findWeight(const std::string &n) const {
  return lookUp(weightIndex, n);
}
int Manifest::findSymbol(const std::string &n) const {
  return lookUp(symbolIndex, n);
}

bool Manifest::addName(std::unordered_map<std::string, int> &index,
                       const std::string &name, size_t position) {
  return index.emplace(name, int(position)).second;
}

bool isPlainName(const std::string &s) {
  if (s.empty() || s.size() > kMaxNameBytes)
    return false;
  for (char c : s)
    if (c <= ' ' || c > '~' || c == '\'' || c == '\\')
      return false;
  return true;
}

/// Whether `s` is a PTX identifier of at most kMaxNameBytes bytes:
/// [A-Za-z][A-Za-z0-9_$]* or [_$%][A-Za-z0-9_$]+.
static bool isPtxIdentifier(const std::string &s) {
  auto word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
  };
  if (s.empty() || s.size() > kMaxNameBytes)
    return false;
  bool letter = std::isalpha(static_cast<unsigned char>(s[0]));
  if (!letter && (s.size() < 2 || (s[0] != '_' && s[0] != '$' && s[0] != '%')))
    return false;
  for (size_t i = 1; i < s.size(); ++i)
    if (!word(s[i]))
      return false;
  return true;
}

/// Whether `s` is sm_ followed by 2 or 3 digits and an optional lower-case
/// letter ("sm_90a", "sm_100f").
static bool isChipName(const std::string &s) {
  size_t digits = 0;
  while (3 + digits < s.size() &&
         std::isdigit(static_cast<unsigned char>(s[3 + digits])))
    ++digits;
  size_t rest = s.size() - std::min(s.size(), 3 + digits);
  return s.compare(0, 3, "sm_") == 0 && digits >= 2 && digits <= 3 &&
         (rest == 0 ||
          (rest == 1 && std::islower(static_cast<unsigned char>(s.back()))));
}

/// Why `st` is not a regular file of at most `maxBytes` ("" if it is).
static std::string notRegular(const struct stat &st, uint64_t maxBytes) {
  if (!S_ISREG(st.st_mode))
    return "not a regular file";
  if (uint64_t(st.st_size) > maxBytes)
    return std::to_string(st.st_size) + " bytes, more than the " +
           std::to_string(maxBytes) + " allowed";
  return "";
}

bool regularFileSize(const std::string &path, uint64_t &size,
                     std::string &why) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    why = std::strerror(errno);
    return false;
  }
  why = notRegular(st, UINT64_MAX);
  size = uint64_t(st.st_size);
  return why.empty();
}

bool readFile(const std::string &path, std::string &contents, uint64_t maxBytes,
              std::string &why) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    why = std::strerror(errno);
    return false;
  }
  struct stat st;
  why = ::fstat(fd, &st) != 0 ? std::strerror(errno) : notRegular(st, maxBytes);
  if (why.empty()) {
    contents.assign(size_t(st.st_size), '\0');
    size_t done = 0;
    while (done < contents.size()) {
      ssize_t n = ::read(fd, &contents[done], contents.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        why = n < 0 ? std::strerror(errno) : "file shrank while being read";
        break;
      }
      done += size_t(n);
    }
  }
  ::close(fd);
  return why.empty();
}

bool readFile(const std::string &path, std::string &contents) {
  std::string why;
  return readFile(path, contents, UINT64_MAX, why);
}

bool fileExists(const std::string &path) {
  uint64_t size;
  std::string why;
  return regularFileSize(path, size, why);
}

/// "[T = 5, 128]" (the symbol's value when `syms` has one, else its name).
static std::string describeShape(const Manifest &m, const BufferDesc &b,
                                 const std::vector<int64_t> &syms) {
  std::string out = "[";
  for (const ShapeDim &d : b.shape) {
    out += out.size() > 1 ? ", " : "";
    if (d.symbol < 0) {
      out += std::to_string(d.value);
      continue;
    }
    out += m.symbols[size_t(d.symbol)];
    if (size_t(d.symbol) < syms.size())
      out += " = " + std::to_string(syms[size_t(d.symbol)]);
  }
  return out + "]";
}

bool bufferSize(const Manifest &m, const BufferDesc &b,
                const std::vector<int64_t> &syms, int64_t &elements,
                int64_t &bytes, std::string &error) {
  elements = 1;
  bool ok = true;
  for (const ShapeDim &d : b.shape) {
    bool known = d.symbol >= 0 && size_t(d.symbol) < syms.size();
    int64_t dim = d.symbol < 0 ? d.value : known ? syms[size_t(d.symbol)] : 1;
    ok = ok && checkedMul(elements, dim, elements);
  }
  if (ok && checkedMul(elements, int64_t(sy_dtype_size(b.dtype)), bytes))
    return true;
  error = "buffer " + json::quote(b.name) + " of shape " +
          describeShape(m, b, syms) +
          " is too large (its bytes overflow a 64-bit count)";
  return false;
}

bool workspaceReservation(const Manifest &m,
                          const std::vector<int64_t> &maxSyms,
                          std::vector<uint64_t> &bytes, std::string &error) {
  bytes.assign(m.buffers.size(), 0);
  for (size_t i = 0; i < m.buffers.size(); ++i) {
    const BufferDesc &b = m.buffers[i];
    int64_t elements = 0, size = 0;
    if (b.kind != SY_BUFFER_WORKSPACE)
      continue;
    if (!bufferSize(m, b, maxSyms, elements, size, error))
      return false;
    bytes[i] = uint64_t(size);
  }
  return true;
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
    return fail(field, "unknown dtype " + json::quote(s));
  }

  bool symbol(const Value &v, const std::string &field, int &out) {
    if (!v.isString())
      return fail(field, "expected a symbol name");
    out = m.findSymbol(v.string);
    if (out < 0)
      return fail(field, "unknown symbol " + json::quote(v.string));
    return true;
  }

  /// Reads the "name" of `obj` (at `path`), the name of a `what`: a string
  /// that passes isPlainName, not yet in `index` (where it is added at
  /// `position`).
  bool name(const Value &obj, const std::string &path, const char *what,
            std::unordered_map<std::string, int> &index, size_t position,
            std::string &out) {
    const std::string key = "name";
    const Value *v = member(obj, path, key, Value::Kind::String);
    if (!v)
      return false;
    out = v->string;
    if (!isPlainName(out))
      return fail(path + "." + key, "expected 1 to " +
                                        std::to_string(kMaxNameBytes) +
                                        " printable ASCII characters other "
                                        "than space, ' and \\, got " +
                                        json::quote(out));
    if (!Manifest::addName(index, out, position))
      return fail(path + "." + key, std::string("duplicate ") + what +
                                        " name " + json::quote(out));
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
      return fail(path + ".layout", "weight '" + w.name + "': unknown layout " +
                                        json::quote(v->string) +
                                        " (expected \"mma_sp\" or \"wgmma\")");
    return true;
  }

  /// Reads the file name `key` of the root: a plain name (no '/') other
  /// than "." and "..", so the file lies in the bundle directory.
  bool fileName(const Value &root, const std::string &key, std::string &out) {
    const Value *v = member(root, "", key, Value::Kind::String);
    if (!v)
      return false;
    out = v->string;
    if (isPlainName(out) && out.find('/') == std::string::npos && out != "." &&
        out != "..")
      return true;
    return fail(key, "expected a file name in the bundle directory (no '/'), "
                     "got " +
                         json::quote(out));
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
                "expected \"samoyeds-bundle\", got " + json::quote(v->string));
  int64_t version;
  if (!root.get("version"))
    return fail("version", "missing required field");
  if (!integer(*root.get("version"), "version", 1, 1, version))
    return fail("version",
                "unsupported version (this runtime reads version 1)");
  if (!(v = member(root, "", "chip", Value::Kind::String)))
    return false;
  m.chip = v->string;
  if (!isChipName(m.chip))
    return fail("chip", "expected sm_XX[X][a-z], got " + json::quote(m.chip));
  if (const Value *pv = root.get("ptx_version")) {
    int64_t ignored;
    if (!integer(*pv, "ptx_version", 0, INT_MAX, ignored))
      return false;
  }
  if (!fileName(root, "module", m.module) ||
      (root.get("cubin") && !fileName(root, "cubin", m.cubin)))
    return false;
  if (!(v = member(root, "", "symbols", Value::Kind::Array)))
    return false;
  for (size_t i = 0; i < v->array.size(); ++i) {
    std::string field = "symbols[" + std::to_string(i) + "]";
    const Value &s = v->array[i];
    if (!s.isString() || !isPlainName(s.string))
      return fail(field, "expected a symbol name (1 to " +
                             std::to_string(kMaxNameBytes) +
                             " printable ASCII characters other than space, "
                             "' and \\)");
    if (!Manifest::addName(m.symbolIndex, s.string, m.symbols.size()))
      return fail(field, "duplicate symbol " + json::quote(s.string));
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
  std::unordered_set<std::string> listed;
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
      return fail(path + ".name",
                  "expected a file name, got " + json::quote(f.name));
    if (!listed.insert(f.name).second)
      return fail(path + ".name", "duplicate file " + json::quote(f.name));
    if (!intMember(o, path, "bytes", 0, INT64_MAX, f.bytes))
      return false;
    if (!(v = member(o, path, "fnv1a64", Value::Kind::String)))
      return false;
    if (v->string.size() != 16 ||
        v->string.find_first_not_of("0123456789abcdef") != std::string::npos)
      return fail(path + ".fnv1a64", "expected 16 lower-case hex digits, got " +
                                         json::quote(v->string));
    f.fnv1a64 = std::stoull(v->string, nullptr, 16);
    m.files.push_back(f);
  }
  // A manifest that records checksums records those of its kernel files.
  for (const std::string *name : {&m.module, &m.cubin})
    if (!name->empty() && !listed.count(*name))
      return fail("files", "no entry for " + json::quote(*name));
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
    if (!name(o, path, "weight", m.weightIndex, m.weights.size(), w.name))
      return false;
    if (!(v = member(o, path, "dtype", Value::Kind::String)))
      return false;
    if (v->string == "bf16")
      w.dtype = DType::BF16;
    else if (v->string == "f16")
      w.dtype = DType::F16;
    else
      return fail(path + ".dtype",
                  "weights must be bf16 or f16, got " + json::quote(v->string));
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
    if (!name(o, path, "buffer", m.bufferIndex, m.buffers.size(), b.name))
      return false;
    if (!(v = member(o, path, "kind", Value::Kind::String)))
      return false;
    static const char *kinds[] = {"input", "output", "weight", "workspace"};
    int kind = -1;
    for (int k = 0; k < 4; ++k)
      if (v->string == kinds[k])
        kind = k;
    if (kind < 0)
      return fail(path + ".kind",
                  "unknown kind " + json::quote(v->string) +
                      " (expected input, output, weight or workspace)");
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
        return fail(path + ".of", "unknown weight " + json::quote(v->string));
      if (!(v = member(o, path, "part", Value::Kind::String)))
        return false;
      if (v->string == "values")
        b.part = WeightPart::Values;
      else if (v->string == "meta")
        b.part = WeightPart::Meta;
      else if (v->string == "row_idx")
        b.part = WeightPart::RowIdx;
      else
        return fail(path + ".part", "unknown part " + json::quote(v->string) +
                                        " (expected values, meta or row_idx)");
      WeightDesc &w = m.weights[size_t(b.weight)];
      int &slot = w.parts[int(b.part)];
      if (slot >= 0)
        return fail(path + ".part", "weight '" + w.name + "' has two '" +
                                        v->string + "' buffers");
      slot = int(m.buffers.size());
      int64_t want = componentBytes(w.params, w.shape)[size_t(b.part)];
      if (b.bytes != want)
        return fail(path + ".bytes",
                    "weight '" + w.name + "' part '" + v->string +
                        "' must be " + std::to_string(want) +
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
      // The constant part must fit on its own (no symbol values yet).
      int64_t elements, bytes;
      std::string err;
      if (!bufferSize(m, b, {}, elements, bytes, err))
        return fail(path + ".shape", err);
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
    l.kernel = v->string;
    if (!isPtxIdentifier(l.kernel))
      return fail(path + ".kernel", "expected a PTX identifier of at most " +
                                        std::to_string(kMaxNameBytes) +
                                        " characters, got " +
                                        json::quote(l.kernel));
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
        return fail(field, "unknown grid entry " +
                               json::quote(g.object[0].first) +
                               " (expected const, ceil_div or per_sm)");
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
    if (const Value *pdl = o.get("pdl")) {
      if (!pdl->isBool())
        return fail(path + ".pdl", "expected true or false");
      l.pdl = pdl->boolean;
    }
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
          return fail(field + ".buffer",
                      "unknown buffer " + json::quote(b->string));
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
        return fail(field,
                    "unknown argument kind " + json::quote(e.object[0].first));
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
          return fail(field, "unknown field " + json::quote(key) +
                                 " (expected symbol, min, max)");
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

sy_status parseManifest(const std::string &text, const std::string &file,
                        Manifest &out, std::string &error) {
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
  return SY_OK;
}

/// "FILE: files[I]: 'NAME' is N bytes, the manifest says M (...)".
static std::string sizeMismatch(const std::string &manifestFile, size_t i,
                                const FileDesc &f, uint64_t size) {
  return manifestFile + ": files[" + std::to_string(i) +
         "]: " + json::quote(f.name) + " is " + std::to_string(size) +
         " bytes, the manifest says " + std::to_string(f.bytes) +
         " (a torn or mixed bundle)";
}

sy_status loadManifest(const std::string &dir, Manifest &out,
                       std::string &error) {
  std::string file = dir + "/manifest.json";
  std::string text, why;
  if (!readFile(file, text, kMaxManifestBytes, why)) {
    error = file + ": cannot read file: " + why;
    return SY_ERR_IO;
  }
  sy_status st = parseManifest(text, file, out, error);
  if (st != SY_OK)
    return st;
  if (!fileExists(dir + "/" + out.module)) {
    error = file + ": module: module file '" + dir + "/" + out.module +
            "' does not exist";
    return SY_ERR_MANIFEST;
  }
  for (size_t i = 0; i < out.files.size(); ++i) {
    const FileDesc &f = out.files[i];
    std::string path = dir + "/" + f.name, contents;
    // The size first: a file larger than recorded is never read.
    uint64_t size = 0;
    if (regularFileSize(path, size, why) && size != uint64_t(f.bytes)) {
      error = sizeMismatch(file, i, f, size);
      return SY_ERR_MANIFEST;
    }
    if (!readFile(path, contents, uint64_t(f.bytes), why)) {
      error = file + ": files[" + std::to_string(i) + "]: cannot read " +
              json::quote(f.name) + " in " + dir + ": " + why;
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
    if (int64_t(contents.size()) != f.bytes) {
      error = sizeMismatch(manifestFile, i, f, contents.size());
      return false;
    }
    std::string field = manifestFile + ": files[" + std::to_string(i) + "]: ";
    uint64_t hash = fnv1a64(contents);
    if (hash != f.fnv1a64) {
      char got[17], want[17];
      std::snprintf(got, sizeof(got), "%016llx", (unsigned long long)hash);
      std::snprintf(want, sizeof(want), "%016llx",
                    (unsigned long long)f.fnv1a64);
      error = field + json::quote(name) + " has checksum (FNV-1a 64) " + got +
              ", the manifest says " + want + " (a torn or mixed bundle)";
      return false;
    }
  }
  return true;
}

} // namespace rt
} // namespace samoyeds
