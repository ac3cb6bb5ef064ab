//===- Manifest.cpp - manifest.json of a bundle ---------------------------===//
//
// The rules of docs/Bundle.md as tables of fields (ManifestSchema, read by
// JsonSchema.h's generic reader) followed by the checks between fields; the
// sizes, guards and grids the runtime derives from a manifest; and reading
// the bundle's files.
//
//===----------------------------------------------------------------------===//

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
    if (!isRuntimeOwned(b.kind))
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

/// Whether `s` may name a file of the bundle directory (module, cubin): a
/// plain name without '/', other than "." and "..".
static bool isBundleFile(const std::string &s) {
  return isPlainName(s) && s.find('/') == std::string::npos && s != "." &&
         s != "..";
}

/// Whether `s` may name a file of "files": a file of the bundle directory,
/// never a path out of it.
static bool isListedFile(const std::string &s) {
  return !s.empty() && s != "." && s != ".." &&
         s.find_first_of("/\\") == std::string::npos;
}

/// Whether `s` is a checksum: 16 lower-case hex digits.
static bool isHex64(const std::string &s) {
  return s.size() == 16 &&
         s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

namespace {
using json::Fields;
using json::Presence;
using json::Reader;
using json::Rule;
using json::Value;

/// What isPlainName accepts, for messages.
const std::string kPlainName = "1 to " + std::to_string(kMaxNameBytes) +
                               " printable ASCII characters other than "
                               "space, ' and \\";

/// The names of the values of an enumeration, for json::oneOf.
template <class E>
std::vector<std::pair<std::string, E>> named(const char *(*name)(E),
                                             std::initializer_list<E> all) {
  std::vector<std::pair<std::string, E>> out;
  for (E e : all)
    out.emplace_back(name(e), e);
  return out;
}

/// The fields of a weight description (docs/Bundle.md "weights",
/// docs/WeightFiles.md) but its name, with "layout" `layout`.
Fields<WeightSpec> weightFields(Presence layout) {
  using json::at;
  using json::integer;
  using W = WeightSpec;
  const auto layouts =
      named(layoutName, {WeightLayout::MmaSp, WeightLayout::Wgmma,
                         WeightLayout::WgmmaHalves});
  return {{"dtype", json::oneOf(named(dtypeName, {DType::BF16, DType::F16})),
           &W::dtype},
          {"experts", integer(1, INT_MAX), at(&W::shape, &SSShape::experts)},
          {"rows", integer(1, INT64_MAX / 2), at(&W::shape, &SSShape::rows)},
          {"cols", integer(1, INT64_MAX / 2), at(&W::shape, &SSShape::cols)},
          {"n", integer(1, 16), at(&W::params, &SSParams::n)},
          {"m", integer(1, 16), at(&W::params, &SSParams::m)},
          {"v", integer(1, INT_MAX), at(&W::params, &SSParams::v)},
          {"layout", json::oneOf(layouts), &W::layout, layout}};
}

/// The rules of docs/Bundle.md, read into `m`. Rules that refer to names
/// (symbols, weights, buffers) look them up in the indexes of `m`, filled
/// as the names are read, so the fields are read in an order where every
/// name is declared before it is used.
class ManifestSchema {
public:
  explicit ManifestSchema(Manifest &m) : m(m) {}
  ManifestSchema(const ManifestSchema &) = delete;
  ManifestSchema &operator=(const ManifestSchema &) = delete;

  /// Reads the document `root`; false with the error in `r`.
  bool read(Reader &r, const Value &root) {
    return json::readFields(r, root, "", top, m);
  }

private:
  Manifest &m;
  std::unordered_map<std::string, int> fileIndex; ///< Names of "files".

  /// `read` of this schema as a rule.
  template <class T>
  Rule<T> method(bool (ManifestSchema::*read)(Reader &, const Value &,
                                              const std::string &, T &)) {
    return [this, read](Reader &r, const Value &v, const std::string &path,
                        T &out) { return (this->*read)(r, v, path, out); };
  }

  const Rule<std::string> plainName = json::string(isPlainName, kPlainName);
  const Rule<int> symbol = json::reference(m.symbolIndex, "symbol");

  //===--- files ----------------------------------------------------------===//

  const Rule<FileDesc> fileEntry = json::object<FileDesc>({
      {"name",
       json::newName(json::string(isListedFile, "a file name"), fileIndex,
                     m.files, "file"),
       &FileDesc::name},
      {"bytes", json::integer(0, INT64_MAX), &FileDesc::bytes},
      {"fnv1a64", json::string(isHex64, "16 lower-case hex digits"),
       [](FileDesc &f, const std::string &hex) {
         f.fnv1a64 = std::stoull(hex, nullptr, 16);
       }},
  });

  bool files(Reader &r, const Value &v, const std::string &path, Manifest &) {
    if (!json::arrayOf(fileEntry)(r, v, path, m.files))
      return false;
    // A manifest that records checksums records those of its kernel files.
    for (const std::string *name : {&m.module, &m.cubin})
      if (!name->empty() && !fileIndex.count(*name))
        return r.fail(path, "no entry for " + json::quote(*name));
    return true;
  }

  //===--- weights --------------------------------------------------------===//

  const Fields<WeightDesc> weightName = {
      {"name",
       json::newName(plainName, m.weightIndex, m.weights, "weight name"),
       &WeightDesc::name}};

  bool weight(Reader &r, const Value &v, const std::string &path,
              WeightDesc &w) {
    if (!json::readFields(r, v, path, weightName, w))
      return false;
    Reader::Context named(r, "weight " + json::quote(w.name) + ": ");
    return readWeightSpec(r, v, path, w, Presence::Optional);
  }

  //===--- buffers --------------------------------------------------------===//

  const Fields<BufferDesc> bufferFields = {
      {"name",
       json::newName(plainName, m.bufferIndex, m.buffers, "buffer name"),
       &BufferDesc::name},
      {"kind",
       json::oneOf<sy_buffer_kind>({{"input", SY_BUFFER_INPUT},
                                    {"output", SY_BUFFER_OUTPUT},
                                    {"weight", SY_BUFFER_WEIGHT},
                                    {"workspace", SY_BUFFER_WORKSPACE},
                                    {"counters", SY_BUFFER_COUNTERS}}),
       &BufferDesc::kind},
      {"dtype",
       json::oneOf<sy_dtype>({{"bf16", SY_DTYPE_BF16},
                              {"f16", SY_DTYPE_F16},
                              {"f32", SY_DTYPE_F32},
                              {"i32", SY_DTYPE_I32},
                              {"u32", SY_DTYPE_U32},
                              {"u8", SY_DTYPE_U8}}),
       &BufferDesc::dtype}};
  /// Of a weight buffer.
  const Fields<BufferDesc> weightPartFields = {
      {"bytes", json::integer(0, INT64_MAX), &BufferDesc::bytes},
      {"of", json::reference(m.weightIndex, "weight"), &BufferDesc::weight},
      {"part",
       json::oneOf(named(weightPartName, {WeightPart::Values, WeightPart::Meta,
                                          WeightPart::RowIdx})),
       &BufferDesc::part}};
  /// Of the other buffers: dimensions are integers or symbols.
  const Rule<int64_t> dimension = json::integer(0, INT32_MAX);
  const Fields<BufferDesc> shapeFields = {
      {"shape",
       json::arrayOf(
           Rule<ShapeDim>([this](Reader &r, const Value &v,
                                 const std::string &path, ShapeDim &d) {
             return v.isString() ? symbol(r, v, path, d.symbol)
                                 : dimension(r, v, path, d.value);
           })),
       &BufferDesc::shape}};

  bool buffer(Reader &r, const Value &v, const std::string &path,
              BufferDesc &b) {
    if (!json::readFields(r, v, path, bufferFields, b))
      return false;
    if (b.kind == SY_BUFFER_WEIGHT)
      return json::readFields(r, v, path, weightPartFields, b) &&
             weightPartFits(r, path, b);
    // The constant part must fit on its own (no symbol values yet).
    int64_t elements, bytes;
    std::string err;
    return json::readFields(r, v, path, shapeFields, b) &&
           (bufferSize(m, b, {}, elements, bytes, err) ||
            r.fail(path + ".shape", err)) &&
           countersFit(r, path, b);
  }

  /// Counters are i32 of a constant shape: the runtime zeroes them once,
  /// when it allocates them.
  bool countersFit(Reader &r, const std::string &path, const BufferDesc &b) {
    if (b.kind != SY_BUFFER_COUNTERS)
      return true;
    bool constant = std::all_of(b.shape.begin(), b.shape.end(),
                                [](const ShapeDim &d) { return d.symbol < 0; });
    return (b.dtype == SY_DTYPE_I32 && constant) ||
           r.fail(path, "counters buffer " + json::quote(b.name) +
                            " must be i32 with a constant shape");
  }

  /// Weight buffer `b` is its weight's only one of its part, of the size
  /// Format.md gives the part.
  bool weightPartFits(Reader &r, const std::string &path, const BufferDesc &b) {
    WeightDesc &w = m.weights[size_t(b.weight)];
    std::string part = weightPartName(b.part);
    int &slot = w.parts[int(b.part)];
    if (slot >= 0)
      return r.fail(path + ".part",
                    "weight '" + w.name + "' has two '" + part + "' buffers");
    slot = int(m.buffers.size());
    int64_t want = componentBytes(w.params, w.shape, w.layout)[size_t(b.part)];
    return b.bytes == want ||
           r.fail(path + ".bytes", "weight '" + w.name + "' part '" + part +
                                       "' must be " + std::to_string(want) +
                                       " bytes per Format.md, manifest says " +
                                       std::to_string(b.bytes));
  }

  //===--- launches -------------------------------------------------------===//

  const Rule<int64_t> divisor = json::integer(1, INT32_MAX),
                      addend = json::integer(0, INT32_MAX),
                      expertCount = json::integer(1, INT32_MAX);

  /// What a grid entry that is not the array it should be holds: "N
  /// entries" or its kind.
  static std::string shape(const Value &v) {
    return v.isArray() ? std::to_string(v.array.size()) + " entries"
                       : json::kindName(v.kind);
  }

  /// `[symbol, divisor]` or `[symbol, divisor, plus]`.
  bool ceilDiv(Reader &r, const Value &v, const std::string &path, GridDim &g) {
    if (!v.isArray() || v.array.size() < 2 || v.array.size() > 3)
      return r.fail(path, "expected [symbol, divisor] or [symbol, divisor, "
                          "plus], got " +
                              shape(v));
    using json::elementPath;
    return symbol(r, v.array[0], elementPath(path, 0), g.symbol) &&
           divisor(r, v.array[1], elementPath(path, 1), g.value) &&
           (v.array.size() < 3 ||
            addend(r, v.array[2], elementPath(path, 2), g.plus));
  }

  /// `[symbol, tokens, experts]`.
  bool tokenTiles(Reader &r, const Value &v, const std::string &path,
                  GridDim &g) {
    if (!v.isArray() || v.array.size() != 3)
      return r.fail(path,
                    "expected [symbol, tokens, experts], got " + shape(v));
    using json::elementPath;
    return symbol(r, v.array[0], elementPath(path, 0), g.symbol) &&
           divisor(r, v.array[1], elementPath(path, 1), g.value) &&
           expertCount(r, v.array[2], elementPath(path, 2), g.experts);
  }

  const Fields<GridDim> constGrid = {
      {"const", json::integer(0, INT32_MAX), &GridDim::value}};
  const Fields<GridDim> ceilDivGrid = {
      {"ceil_div", method(&ManifestSchema::ceilDiv)}};
  const Fields<GridDim> perSmGrid = {
      {"per_sm", json::integer(1, 64), [](GridDim &g, int64_t k) {
         g.perSM = true;
         g.value = k;
       }}};
  const Fields<GridDim> tokenTilesGrid = {
      {"token_tiles", method(&ManifestSchema::tokenTiles)}};
  const Rule<GridDim> gridDim = json::variant<GridDim>(
      "grid entry", {constGrid, ceilDivGrid, perSmGrid, tokenTilesGrid});

  static std::string powerOfTwo(const int64_t &v) {
    return (v & (v - 1)) == 0 ? "" : "must be a power of two";
  }

  /// Sets `a` to `kind` with index `index` (a buffer or a symbol).
  template <LaunchArg::Kind kind> static void refer(LaunchArg &a, int index) {
    a.kind = kind;
    a.index = index;
  }

  const Fields<LaunchArg> bufferArg = {
      {"buffer", json::reference(m.bufferIndex, "buffer"),
       refer<LaunchArg::Buffer>},
      {"elem_bytes", json::integer(1, 64), &LaunchArg::elemBytes,
       Presence::Optional},
      {"align", json::satisfying(json::integer(2, kMaxBufferAlign), powerOfTwo),
       &LaunchArg::align, Presence::Optional}};
  const Fields<LaunchArg> symbolArg = {
      {"symbol", symbol, refer<LaunchArg::Symbol>}};
  const Fields<LaunchArg> i32Arg = {{"i32", json::integer(INT32_MIN, INT32_MAX),
                                     [](LaunchArg &a, int64_t value) {
                                       a.kind = LaunchArg::I32;
                                       a.value = int32_t(value);
                                     }}};
  const Rule<LaunchArg> launchArg =
      json::variant<LaunchArg>("argument kind", {bufferArg, symbolArg, i32Arg});

  const Rule<LaunchGuard> guard = json::object<LaunchGuard>(
      {{"symbol", symbol, &LaunchGuard::symbol},
       {"min", json::integer(0, INT32_MAX), &LaunchGuard::min},
       {"max",
        [](Reader &r, const Value &v, const std::string &path, LaunchGuard &g) {
          return json::integer(g.min, INT32_MAX)(r, v, path, g.max);
        },
        Presence::Optional}},
      json::Members::Closed);

  const Fields<LaunchDesc> launchFields = {
      {"kernel",
       json::string(isPtxIdentifier, "a PTX identifier of at most " +
                                         std::to_string(kMaxNameBytes) +
                                         " characters"),
       &LaunchDesc::kernel},
      {"grid", json::arrayOf(gridDim, 3, 3),
       [](LaunchDesc &l, const std::vector<GridDim> &grid) {
         std::copy(grid.begin(), grid.end(), l.grid);
       }},
      {"block", json::arrayOf(json::integer(1, 1024), 3, 3),
       [](LaunchDesc &l, const std::vector<int64_t> &block) {
         for (int d = 0; d < 3; ++d)
           l.block[d] = unsigned(block[size_t(d)]);
       }},
      {"smem", json::integer(0, INT32_MAX), &LaunchDesc::smem,
       Presence::Optional},
      {"pdl", json::boolean(), &LaunchDesc::pdl, Presence::Optional},
      {"args", json::arrayOf(launchArg), &LaunchDesc::args},
      {"when", guard, &LaunchDesc::when, Presence::Optional}};

  bool launch(Reader &r, const Value &v, const std::string &path,
              LaunchDesc &l) {
    if (!json::readFields(r, v, path, launchFields, l))
      return false;
    int64_t threads = int64_t(l.block[0]) * l.block[1] * l.block[2];
    return threads <= 1024 ||
           r.fail(path + ".block", "more than 1024 threads per block");
  }

  //===--- activation -----------------------------------------------------===//

  /// What a non-positive "alpha" or "limit" breaks.
  static std::string positive(const double &v) {
    if (v > 0)
      return "";
    char text[32];
    std::snprintf(text, sizeof(text), "%.6g", v);
    return std::string("expected a number > 0, got ") + text;
  }

  const Fields<Activation> activationFields = {
      {"kind",
       json::oneOf(named(activationName, {ActivationKind::Silu,
                                          ActivationKind::ClampedSwiglu})),
       &Activation::kind},
      {"alpha", json::satisfying(json::number(), positive), &Activation::alpha,
       Presence::Optional},
      {"limit", json::satisfying(json::number(), positive), &Activation::limit,
       Presence::Optional}};

  /// `{"kind": "silu"}` or `{"kind": "clamped_swiglu", "alpha": a, "limit":
  /// l}`: alpha and limit are clamped_swiglu's, and it needs both.
  bool activation(Reader &r, const Value &v, const std::string &path,
                  Manifest &) {
    Activation &a = m.activation;
    if (!json::readFields(r, v, path, activationFields, a,
                          json::Members::Closed))
      return false;
    m.hasActivation = true;
    bool swiglu = a.kind == ActivationKind::ClampedSwiglu;
    for (const char *key : {"alpha", "limit"}) {
      std::string at = json::memberPath(path, key);
      if (swiglu && !v.get(key))
        return r.fail(at, "missing required field (kind \"clamped_swiglu\" "
                          "needs \"alpha\" and \"limit\")");
      if (!swiglu && v.get(key))
        return r.fail(at, "unexpected field (only kind \"clamped_swiglu\" "
                          "has \"alpha\" and \"limit\")");
    }
    return true;
  }

  //===--- the document ---------------------------------------------------===//

  static std::string supported(const int64_t &version) {
    return version == 1 ? ""
                        : "unsupported version " + std::to_string(version) +
                              " (this runtime reads version 1)";
  }

  const Rule<std::string> bundleFile = json::string(
      isBundleFile, "a file name in the bundle directory (no '/')");

  const Fields<Manifest> top = {
      {"format", json::literal("samoyeds-bundle"), json::ignore},
      {"version", json::satisfying(json::integer(), supported), json::ignore},
      {"chip", json::string(isChipName, "sm_XX[X][a-z]"), &Manifest::chip},
      {"ptx_version", json::integer(0, INT_MAX), json::ignore,
       Presence::Optional},
      {"module", bundleFile, &Manifest::module},
      {"cubin", bundleFile, &Manifest::cubin, Presence::Optional},
      {"symbols",
       json::arrayOf(
           json::newName(plainName, m.symbolIndex, m.symbols, "symbol")),
       &Manifest::symbols},
      {"files", method(&ManifestSchema::files), Presence::Optional},
      {"activation", method(&ManifestSchema::activation), Presence::Optional},
      {"weights", json::arrayOf(method(&ManifestSchema::weight)),
       &Manifest::weights, Presence::Optional},
      {"buffers", json::arrayOf(method(&ManifestSchema::buffer)),
       &Manifest::buffers},
      {"launches", json::arrayOf(method(&ManifestSchema::launch)),
       &Manifest::launches}};
};
} // namespace

bool readWeightSpec(Reader &r, const Value &v, const std::string &path,
                    WeightSpec &w, Presence layout) {
  static const Fields<WeightSpec> optional = weightFields(Presence::Optional),
                                  required = weightFields(Presence::Required);
  if (!json::readFields(r, v, path,
                        layout == Presence::Required ? required : optional, w))
    return false;
  std::string err = validate(w.params, w.shape, w.layout);
  return err.empty() || r.fail(path, err);
}

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
  if (s == 0)
    return 0;
  if (g.experts > 0) {
    int64_t n = std::min(g.experts, s);
    return n + (s - n) / g.value;
  }
  return (s + g.value - 1) / g.value + g.plus;
}

sy_status parseManifest(const std::string &text, const std::string &file,
                        Manifest &out, std::string &error) {
  out = Manifest();
  std::string perr;
  if (!json::parse(text, out.root, perr)) {
    error = file + ":" + perr;
    return SY_ERR_MANIFEST;
  }
  Reader reader(file);
  if (!ManifestSchema(out).read(reader, out.root)) {
    error = reader.error();
    return SY_ERR_MANIFEST;
  }
  for (BufferDesc &b : out.buffers)
    b.align = sy_dtype_size(b.dtype);
  for (const LaunchDesc &l : out.launches)
    for (const LaunchArg &a : l.args)
      if (a.kind == LaunchArg::Buffer) {
        uint64_t &align = out.buffers[size_t(a.index)].align;
        align = std::max(align, uint64_t(a.align > 0 ? a.align : a.elemBytes));
      }
  return SY_OK;
}

/// A dtype as manifests spell it.
static const char *dtypeText(sy_dtype dtype) {
  static const char *const names[] = {"bf16", "f16", "f32", "i32", "u32", "u8"};
  return names[dtype];
}

/// A buffer's shape as manifests write it ("[T, 8]"), bounded: at most four
/// dimensions ("[1, 2, 3, 4, ... (9 dimensions)]"), symbol names cut to 64
/// bytes (they are plain names: printable).
static std::string shapeText(const Manifest &m, const BufferDesc &b) {
  constexpr size_t kDims = 4, kSymbol = 64;
  std::string out = "[";
  for (size_t d = 0; d < b.shape.size() && d < kDims; ++d) {
    const ShapeDim &dim = b.shape[d];
    std::string text = dim.symbol >= 0 ? m.symbols[size_t(dim.symbol)]
                                       : std::to_string(dim.value);
    if (text.size() > kSymbol)
      text = text.substr(0, kSymbol) + "...";
    out += (d ? ", " : "") + text;
  }
  if (b.shape.size() > kDims)
    out += ", ... (" + std::to_string(b.shape.size()) + " dimensions)";
  return out + "]";
}

/// Whether `m` has the bias input `name` (`found`), and if so that it is an
/// input of one of `dtypes` and the constant shape `dims`; `what` names the
/// bias in errors.
static bool checkBiasInput(const Manifest &m, const char *name,
                           std::initializer_list<sy_dtype> dtypes,
                           std::vector<int64_t> dims, const std::string &what,
                           bool &found, std::string &error) {
  int i = m.findBuffer(name);
  found = i >= 0;
  if (!found)
    return true;
  const BufferDesc &b = m.buffers[size_t(i)];
  std::string wanted;
  for (sy_dtype d : dtypes)
    wanted += std::string(wanted.empty() ? "" : " or ") + dtypeText(d);
  std::string shape = "[";
  for (size_t d = 0; d < dims.size(); ++d)
    shape += (d ? ", " : "") + std::to_string(dims[d]);
  shape += "]";
  std::string at = "buffer " + json::quote(name) + " (" + what + ")";
  if (b.kind != SY_BUFFER_INPUT) {
    static const char *const kinds[] = {"an input", "an output", "a weight",
                                        "a workspace", "counters"};
    error = at + " is " + kinds[b.kind] + ", not an input";
    return false;
  }
  if (std::find(dtypes.begin(), dtypes.end(), b.dtype) == dtypes.end()) {
    error = at + " is " + dtypeText(b.dtype) + ", expected " + wanted;
    return false;
  }
  bool same = b.shape.size() == dims.size() &&
              std::equal(dims.begin(), dims.end(), b.shape.begin(),
                         [](int64_t d, const ShapeDim &s) {
                           return s.symbol < 0 && s.value == d;
                         });
  if (!same) {
    error = at + " has shape " + shapeText(m, b) + ", expected " + shape;
    return false;
  }
  return true;
}

bool checkLayerBiases(const Manifest &m, int64_t E, int64_t H, int64_t I,
                      sy_dtype hidden, bool routes, LayerBiases &out,
                      std::string &error) {
  out = LayerBiases();
  bool b13 = false, b2 = false;
  if (!checkBiasInput(m, "w13_bias", {hidden}, {E, 2 * I},
                      "the experts' gate/up bias [E, 2I]", b13, error) ||
      !checkBiasInput(m, "w2_bias", {hidden}, {E, H},
                      "the experts' down bias [E, H]", b2, error) ||
      !checkBiasInput(m, "router_bias",
                      {SY_DTYPE_BF16, SY_DTYPE_F16, SY_DTYPE_F32}, {E},
                      "the router's bias [E]", out.router, error))
    return false;
  if (b13 != b2) {
    error = std::string("input '") + (b13 ? "w13_bias" : "w2_bias") +
            "' without '" + (b13 ? "w2_bias" : "w13_bias") +
            "' (the experts' biases come in pairs)";
    return false;
  }
  if (out.router && !routes) {
    error = "input 'router_bias' in a layer without a router (its routing "
            "is the caller's, bias included)";
    return false;
  }
  out.experts = b13;
  if (out.router)
    out.routerDtype = m.buffers[size_t(m.findBuffer("router_bias"))].dtype;
  return true;
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
