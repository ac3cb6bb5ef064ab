//===- moe-gpu-test.cpp - Check a compiled MoE layer on the GPU
//------------===//
//
// moe-gpu-test BUNDLE_DIR [--tokens 1,16,256,4096]
//              [--routing random|one-expert|half-empty] [--seed S]
//              [--repeat-check] [--iters N] [--bench] [--allow-skip]
//              [--check-rows N]
//
// The bundle is a whole samoyeds.moe_ffn layer: weights "w13" [E, 2I, H]
// (gate rows, then up rows) and "w2" [E, H, I]; inputs "x" [T, H] (bf16/f16)
// and "router" [E, H] (x's dtype or f32); output "y" [T, H]; symbols T and
// P = T * top_k; top-level object "routing" {experts, top_k, renormalize,
// routed_scaling_factor}; optionally the object "activation" (clamped_swiglu),
// both inputs "w13_bias" [E, 2I] and "w2_bias" [E, H] (x's dtype) and the
// input "router_bias" [E] (bf16, f16 or f32; checkLayerBiases checks them).
// For every T, random weights (and biases) are packed and uploaded, the layer
// is run and y is compared with the float64 CPU references (route (+ the
// router's bias) -> dispatch -> ssmm + b13, activation -> h rounded to 16
// bits -> ssmm + b2 -> combine). The random w13 bias pushes one value in 16
// near +-limit, so a clamped_swiglu layer clamps some: the line of each T
// counts them. The random router bias is about as large as the logits'
// spread: the line of each T counts the tokens whose top-k experts it
// changed (bias_changed). With
// --check-rows N and T > N, N evenly spaced rows of y
// (the first and the last among them) are compared, each token's output
// depending on its own row and routing alone, and every row is checked for
// NaN (the float64 reference of a large layer takes minutes). Without a
// GPU it prints "SKIPPED: <reason>" and exits 0 with
// --allow-skip, else 77 (after checking the manifest).
//
//===----------------------------------------------------------------------===//

#include "Manifest.h" // readFile, json::parse (runtime internals)
#include "samoyeds-c/Runtime.h"
#include "samoyeds/Runtime/Format.h"
#include "samoyeds/Runtime/Reference.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace samoyeds;
using namespace samoyeds::rt;

namespace {

enum class Mode { Random, OneExpert, HalfEmpty };
const char *modeNames[] = {"random", "one-expert", "half-empty"};
/// A token whose k-th and (k+1)-th logits are closer than this (relative to
/// its largest |logit|) may be routed either way by the GPU's f32 logits.
constexpr double kTieTolerance = 1e-3;

int usage(const std::string &msg) {
  std::fprintf(
      stderr,
      "error: %s\nusage: moe-gpu-test BUNDLE_DIR [--tokens 1,16,256,4096] "
      "[--routing random|one-expert|half-empty] [--seed S] [--repeat-check] "
      "[--iters N] [--bench] [--allow-skip] [--check-rows N]\n",
      msg.c_str());
  return 2;
}

bool parseList(const char *s, std::vector<int64_t> &out) {
  out.clear();
  for (const char *p = s;;) {
    char *end = nullptr;
    long long v = std::strtoll(p, &end, 10);
    if (end == p || v <= 0 || (*end && *end != ','))
      return false;
    out.push_back(v);
    if (!*end)
      return true;
    p = end + 1;
  }
}

/// Reports a failed runtime call and returns false.
bool check(sy_status st, const std::string &what) {
  if (st == SY_OK)
    return true;
  std::fprintf(stderr, "error: %s: %s: %s\n", what.c_str(), sy_status_name(st),
               sy_last_error());
  return false;
}

/// Device allocation freed on scope exit.
struct DeviceBuffer {
  uint64_t ptr = 0;
  ~DeviceBuffer() { sy_device_free(ptr); }
  bool alloc(uint64_t n, const char *what) {
    return check(sy_device_alloc(n, &ptr), what);
  }
};

struct Bundles {
  sy_bundle *meta = nullptr, *b = nullptr; // opened (introspection), loaded
  sy_session *s = nullptr;
  ~Bundles() {
    sy_session_destroy(s);
    sy_bundle_destroy(b);
    sy_bundle_destroy(meta);
  }
};

struct Layer {
  int64_t E = 0, H = 0, I = 0;
  int k = 1;
  bool renormalize = false;
  double scale = 1.0;
  DType dt = DType::BF16;
  PackedWeight w13, w2;
  Activation act;
  bool bias = false;             ///< The inputs w13_bias and w2_bias.
  std::vector<uint16_t> b13, b2; ///< [E, 2I], [E, H] when `bias`.
  bool routerBias = false;       ///< The input router_bias.
  sy_dtype routerBiasType = SY_DTYPE_F32;
  /// router_bias [E] as bound (`routerBiasType`'s bytes) and its values.
  std::vector<uint8_t> rbBytes;
  std::vector<float> rb;

  /// The expert FFN the references compute.
  ExpertFFN ffn() const {
    return {&w13, &w2, act, bias ? &b13 : nullptr, bias ? &b2 : nullptr};
  }
};

/// The "routing" object and the activation of DIR/manifest.json, parsed into
/// `m` by the runtime's reader (sy_bundle_manifest_string reads strings
/// only).
bool readLayer(const std::string &dir, Manifest &m, Layer &L) {
  std::string text, err, file = dir + "/manifest.json";
  if (!readFile(file, text) || parseManifest(text, file, m, err) != SY_OK) {
    std::fprintf(stderr, "error: %s\n",
                 err.empty() ? (file + ": cannot read").c_str() : err.c_str());
    return false;
  }
  const json::Value *r = m.root.get("routing");
  const json::Value *e = r ? r->get("experts") : nullptr,
                    *k = r ? r->get("top_k") : nullptr;
  const json::Value *rn = r ? r->get("renormalize") : nullptr;
  const json::Value *sf = r ? r->get("routed_scaling_factor") : nullptr;
  if (!r || !r->isObject() || !e || !e->isInteger || e->integer <= 0 || !k ||
      !k->isInteger || k->integer <= 0 || k->integer > e->integer || !rn ||
      !rn->isBool() || (sf && !sf->isNumber())) {
    std::fprintf(
        stderr,
        "error: %s/manifest.json: expected \"routing\": {\"experts\": E > 0, "
        "\"top_k\": 1..E, \"renormalize\": bool, \"routed_scaling_factor\": "
        "number}\n",
        dir.c_str());
    return false;
  }
  L.E = e->integer;
  L.k = int(k->integer);
  L.renormalize = rn->boolean;
  L.scale = sf ? sf->number : 1.0;
  L.act = m.activation;
  return true;
}

/// Reference layer for `T` rows of `x` routed by `ids`/`wts` ([T, k]);
/// clamped SwiGLU's clamps are added to `clamps` (nullable).
bool referenceLayer(const Layer &L, const uint16_t *x, int64_t T,
                    const int32_t *ids, const float *wts,
                    std::vector<double> &y, ClampCounts *clamps = nullptr) {
  std::string err;
  if (expertsReference(L.ffn(), x, T, ids, wts, L.k, y, &err, clamps))
    return true;
  std::fprintf(stderr, "error: reference: %s\n", err.c_str());
  return false;
}

/// Random non-zero 16-bit element in [shift - scale, shift + scale).
uint16_t randomElement(SplitMix64 &rng, DType dt, double scale, double shift) {
  for (;;) {
    uint16_t bits = fromFloat(float(rng.symmetric(scale) + shift), dt);
    if (bits & 0x7fffu)
      return bits;
  }
}

bool randomPacked(SplitMix64 &rng, DType dt, const sy_weight_info &wi,
                  PackedWeight &pw) {
  std::vector<uint16_t> dense(size_t(wi.experts * wi.rows * wi.cols));
  for (auto &v : dense)
    v = rng.nonZero(dt, 0.05);
  std::string err;
  // Packed in the layout the bundle's kernels read.
  pw = pack(dense.data(), dt, SSShape{wi.experts, wi.rows, wi.cols},
            SSParams{wi.n, wi.m, wi.v}, &err, WeightLayout(int(wi.layout)));
  if (!err.empty())
    std::fprintf(stderr, "error: packing %s: %s\n", wi.name, err.c_str());
  return err.empty();
}

/// Random biases for `L` (L.bias): b13 about the size of the gate/up
/// accumulators (x's elements uniform in [xShift - 1, xShift + 1), the
/// weights' in [-0.05, 0.05]), one value in 16 near +-limit; b2 about the
/// size of the down projection's outputs, measured on a few slots with that
/// b13.
bool randomBiases(SplitMix64 &rng, double xShift, Layer &L) {
  const double xSquare = 1.0 / 3.0 + xShift * xShift;
  const double density =
      double(keptRows(L.w13.p, L.w13.s)) / (2.0 * double(L.w13.s.rows));
  const double acc = 0.05 * std::sqrt(double(L.H) * density * xSquare / 3.0);
  L.b13 = randomBias(rng, L.dt, L.E * 2 * L.I, acc, L.act.limit, 16);
  L.b2.assign(size_t(L.E * L.H), 0); // Zero while measuring.
  const int64_t S = std::min<int64_t>(L.E, 16);
  std::vector<uint16_t> x(size_t(S * L.H));
  for (uint16_t &v : x)
    v = randomElement(rng, L.dt, 1.0, xShift);
  std::vector<int32_t> ids(static_cast<size_t>(S));
  std::vector<float> ones(size_t(S), 1.0f);
  for (int64_t i = 0; i < S; ++i)
    ids[size_t(i)] = int32_t(i * L.E / S);
  std::vector<double> o;
  std::string err;
  if (!expertsReference(L.ffn(), x.data(), S, ids.data(), ones.data(), 1, o,
                        &err))
    return std::fprintf(stderr, "error: bias scale: %s\n", err.c_str()), false;
  double sum = 0;
  for (double v : o)
    sum += v * v;
  double rms = o.empty() ? 0.0 : std::sqrt(sum / double(o.size()));
  L.b2 = randomBias(rng, L.dt, L.E * L.H, rms > 0 ? rms : 1.0, 0.0, 0);
  std::printf("biases: b13 ~ +-%.3g (1 in 16 near +-%g), b2 ~ +-%.3g\n", acc,
              L.act.limit, rms);
  return true;
}

/// A random router bias for `L` (L.routerBias): uniform in [-1.5, 1.5),
/// about the spread of the random logits (N(0, ~1)), so that it changes the
/// top-k of many tokens, stored in L.routerBiasType.
void randomRouterBias(SplitMix64 &rng, Layer &L) {
  const size_t bytes = sy_dtype_size(L.routerBiasType);
  L.rb.resize(size_t(L.E));
  L.rbBytes.resize(L.rb.size() * bytes);
  for (size_t e = 0; e < L.rb.size(); ++e) {
    float v = float(rng.symmetric(1.5));
    if (L.routerBiasType != SY_DTYPE_F32) {
      DType dt = L.routerBiasType == SY_DTYPE_BF16 ? DType::BF16 : DType::F16;
      uint16_t bits = fromFloat(v, dt);
      v = toFloat(bits, dt);
      std::memcpy(&L.rbBytes[e * bytes], &bits, bytes);
    } else {
      std::memcpy(&L.rbBytes[e * bytes], &v, bytes);
    }
    L.rb[e] = v;
  }
}

/// Uploads `bytes` bytes of `host` into a new device buffer `d` and binds it
/// as `name`.
bool uploadInput(sy_session *s, const char *name, const void *host,
                 uint64_t bytes, DeviceBuffer &d) {
  return d.alloc(bytes, name) &&
         check(sy_memcpy_htod(d.ptr, host, bytes),
               std::string("copy ") + name) &&
         check(sy_session_bind(s, name, d.ptr, bytes),
               std::string("bind ") + name);
}

bool uploadInput(sy_session *s, const char *name,
                 const std::vector<uint16_t> &host, DeviceBuffer &d) {
  return uploadInput(s, name, host.data(), host.size() * sizeof(uint16_t), d);
}

/// " activation=clamped_swiglu(alpha=A,limit=L)" or "" (SiLU).
std::string describeActivation(const Activation &a) {
  if (a.kind == ActivationKind::Silu)
    return "";
  char text[96];
  std::snprintf(text, sizeof(text), " activation=%s(alpha=%g,limit=%g)",
                activationName(a.kind), a.alpha, a.limit);
  return text;
}

} // namespace

int main(int argc, char **argv) {
  std::string dir;
  std::vector<int64_t> tokenCounts = {1, 16, 256, 4096};
  Mode mode = Mode::Random;
  uint64_t seed = 1234;
  int64_t iters = 20, checkRows = 0;
  bool allowSkip = false, repeatCheck = false, bench = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--allow-skip") {
      allowSkip = true;
    } else if (a == "--repeat-check") {
      repeatCheck = true;
    } else if (a == "--bench") {
      bench = true;
    } else if (a == "--tokens" && i + 1 < argc) {
      if (!parseList(argv[++i], tokenCounts))
        return usage("bad --tokens list (positive integers, comma separated)");
    } else if (a == "--routing" && i + 1 < argc) {
      std::string m = argv[++i];
      auto it = std::find(std::begin(modeNames), std::end(modeNames), m);
      if (it == std::end(modeNames))
        return usage("unknown --routing '" + m + "'");
      mode = Mode(it - std::begin(modeNames));
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--check-rows" && i + 1 < argc) {
      char *end = nullptr;
      checkRows = std::strtoll(argv[++i], &end, 10);
      if (!end || *end != '\0' || checkRows < 2 || checkRows > (1 << 24))
        return usage("bad --check-rows (an integer in [2, 2^24])");
    } else if (a == "--iters" && i + 1 < argc) {
      iters = std::max<int64_t>(1, std::strtoll(argv[++i], nullptr, 10));
    } else if (!a.empty() && a[0] == '-') {
      return usage("unknown option " + a);
    } else if (dir.empty()) {
      dir = a;
    } else {
      return usage("more than one bundle directory");
    }
  }
  if (dir.empty())
    return usage("missing BUNDLE_DIR");

  // --- Manifest checks (no device needed) ----------------------------------
  Bundles bd;
  Layer L;
  Manifest manifest;
  if (!check(sy_bundle_open(dir.c_str(), &bd.meta), "sy_bundle_open") ||
      !readLayer(dir, manifest, L))
    return 1;
  sy_weight_info w13i, w2i;
  if (!check(sy_bundle_find_weight(bd.meta, "w13", &w13i), "weight 'w13'") ||
      !check(sy_bundle_find_weight(bd.meta, "w2", &w2i), "weight 'w2'"))
    return 1;
  L.H = w13i.cols;
  L.I = w2i.cols;
  L.dt = w13i.dtype == SY_DTYPE_BF16 ? DType::BF16 : DType::F16;
  const int64_t E = L.E, H = L.H, I = L.I;
  const int k = L.k;
  if (w13i.experts != E || w2i.experts != E || w13i.rows != 2 * I ||
      w2i.rows != H || w2i.dtype != w13i.dtype) {
    std::fprintf(stderr,
                 "error: weights disagree: w13 [%lld, %lld, %lld] %s, w2 "
                 "[%lld, %lld, %lld] "
                 "%s, routing experts %lld; expected [E, 2I, H] and [E, H, I] "
                 "of one dtype\n",
                 (long long)w13i.experts, (long long)w13i.rows,
                 (long long)w13i.cols, dtypeName(L.dt), (long long)w2i.experts,
                 (long long)w2i.rows, (long long)w2i.cols,
                 w2i.dtype == SY_DTYPE_BF16 ? "bf16" : "f16", (long long)E);
    return 1;
  }
  for (const sy_weight_info *wi : {&w13i, &w2i})
    if (!check(sy_packed_sizes_layout(wi->experts, wi->rows, wi->cols, wi->n,
                                      wi->m, wi->v, wi->layout, nullptr,
                                      nullptr, nullptr),
               std::string("SS parameters of ") + wi->name))
      return 1;
  const sy_dtype actType = w13i.dtype;
  sy_dtype routerType = SY_DTYPE_F32;
  int32_t nbuf = 0, nsym = 0;
  sy_bundle_num_buffers(bd.meta, &nbuf);
  bool haveX = false, haveRouter = false, haveY = false;
  for (int32_t i = 0; i < nbuf; ++i) {
    const char *name;
    sy_buffer_kind kind;
    sy_dtype dt;
    sy_bundle_buffer_info(bd.meta, i, &name, &kind, &dt);
    std::string n = name;
    bool isIn = kind == SY_BUFFER_INPUT, isOut = kind == SY_BUFFER_OUTPUT;
    if ((n == "x" && isIn && dt == actType) ||
        (n == "y" && isOut && dt == actType)) {
      (n == "x" ? haveX : haveY) = true;
    } else if (n == "router" && isIn && (dt == actType || dt == SY_DTYPE_F32)) {
      haveRouter = true;
      routerType = dt;
    } else if (n == "w13_bias" || n == "w2_bias" || n == "router_bias") {
      // checkLayerBiases checks them below.
    } else if (isIn || isOut) {
      std::fprintf(stderr,
                   "error: unexpected %s buffer '%s' (or wrong dtype; the "
                   "weights are %s)\n",
                   isIn ? "input" : "output", name, dtypeName(L.dt));
      return 1;
    }
  }
  if (!haveX || !haveRouter || !haveY)
    return usage("bundle lacks input 'x', input 'router' or output 'y'");
  LayerBiases biases;
  std::string biasError;
  if (!checkLayerBiases(manifest, E, H, I, actType, /*routes=*/true, biases,
                        biasError)) {
    std::fprintf(stderr, "error: %s/manifest.json: %s\n", dir.c_str(),
                 biasError.c_str());
    return 1;
  }
  L.bias = biases.experts;
  L.routerBias = biases.router;
  L.routerBiasType = biases.routerDtype;
  std::vector<const char *> symNames;
  sy_bundle_num_symbols(bd.meta, &nsym);
  for (int32_t i = 0; i < nsym; ++i) {
    const char *n;
    sy_bundle_symbol_name(bd.meta, i, &n);
    if (std::string(n) != "T" && std::string(n) != "P")
      return usage(std::string("unexpected symbol '") + n + "' (want T and P)");
    symNames.push_back(n);
  }
  if (mode == Mode::HalfEmpty && k > E / 2)
    return usage("--routing half-empty needs top_k <= E/2");
  auto symbolsFor = [&](int64_t T) {
    std::vector<int64_t> v;
    for (const char *n : symNames)
      v.push_back(n[0] == 'T' ? T : T * k);
    return v;
  };
  auto bytesOf = [&](const char *name, int64_t T, uint64_t &bytes) {
    std::vector<int64_t> v = symbolsFor(T);
    return check(sy_bundle_buffer_bytes(bd.meta, name, symNames.data(),
                                        v.data(), int32_t(v.size()), &bytes),
                 name);
  };
  const uint64_t es = sy_dtype_size(actType), rsz = sy_dtype_size(routerType);
  for (int64_t T : tokenCounts) {
    uint64_t xb, rb, yb;
    if (!bytesOf("x", T, xb) || !bytesOf("router", T, rb) ||
        !bytesOf("y", T, yb))
      return 1;
    if (xb != uint64_t(T * H) * es || rb != uint64_t(E * H) * rsz ||
        yb != uint64_t(T * H) * es) {
      std::fprintf(stderr,
                   "error: T=%lld: manifest sizes x=%llu router=%llu y=%llu "
                   "bytes, expected "
                   "[T, H], [E, H], [T, H] with H=%lld E=%lld\n",
                   (long long)T, (unsigned long long)xb, (unsigned long long)rb,
                   (unsigned long long)yb, (long long)H, (long long)E);
      return 1;
    }
  }
  const int64_t maxT =
      *std::max_element(tokenCounts.begin(), tokenCounts.end());
  // Counters count with the workspaces (the runtime allocates both).
  uint64_t perKind[4] = {0, 0, 0, 0};
  for (int32_t i = 0; i < nbuf; ++i) {
    const char *name;
    sy_buffer_kind kind;
    uint64_t b = 0;
    sy_bundle_buffer_info(bd.meta, i, &name, &kind, nullptr);
    if (!bytesOf(name, maxT, b))
      return 1;
    perKind[kind == SY_BUFFER_COUNTERS ? SY_BUFFER_WORKSPACE : kind] += b;
  }
  const double MiB = 1024.0 * 1024.0;
  const char *dtypeNames[] = {"bf16", "f16", "f32"};
  std::printf("bundle %s: E=%lld top_k=%d H=%lld I=%lld w13 %d:%d:%d w2 "
              "%d:%d:%d %s router=%s "
              "renormalize=%d scale=%g routing=%s%s%s%s%s\n",
              dir.c_str(), (long long)E, k, (long long)H, (long long)I, w13i.n,
              w13i.m, w13i.v, w2i.n, w2i.m, w2i.v, dtypeName(L.dt),
              routerType == SY_DTYPE_F32 ? "f32" : dtypeName(L.dt),
              int(L.renormalize), L.scale, modeNames[int(mode)],
              describeActivation(L.act).c_str(), L.bias ? " bias" : "",
              L.routerBias ? " router_bias=" : "",
              L.routerBias ? dtypeNames[L.routerBiasType] : "");
  std::printf("device memory at T=%lld (P=%lld): weights=%.2f MiB inputs=%.2f "
              "MiB outputs=%.2f MiB "
              "workspaces=%.2f MiB total=%.2f MiB\n",
              (long long)maxT, (long long)(maxT * k),
              perKind[SY_BUFFER_WEIGHT] / MiB, perKind[SY_BUFFER_INPUT] / MiB,
              perKind[SY_BUFFER_OUTPUT] / MiB,
              perKind[SY_BUFFER_WORKSPACE] / MiB,
              (perKind[0] + perKind[1] + perKind[2] + perKind[3]) / MiB);

  // --- Device ----------------------------------------------------------------
  sy_status st = sy_bundle_load(dir.c_str(), &bd.b);
  if (st == SY_ERR_NO_DEVICE) {
    std::printf("SKIPPED: %s\n", sy_last_error());
    return allowSkip ? 0 : 77;
  }
  if (!check(st, "sy_bundle_load") ||
      !check(sy_session_create(bd.b, &bd.s), "sy_session_create"))
    return 1;

  SplitMix64 rng(seed);
  const bool shifted = mode != Mode::Random;
  const double routerScale = 3.0 / std::sqrt(double(H)); // logits ~ N(0, ~1)
  const double bias = 40.0 / double(H); // x mean 0.5: about 20 logits
  bool allOk = true;
  // One set of random weights per run (packing real model sizes is slow).
  if (!randomPacked(rng, L.dt, w13i, L.w13) ||
      !randomPacked(rng, L.dt, w2i, L.w2))
    return 1;
  for (auto [name, pw] :
       {std::make_pair("w13", &L.w13), std::make_pair("w2", &L.w2)}) {
    sy_packed_weight up = {pw->values.data(),
                           uint64_t(pw->valuesBytes()),
                           pw->meta.data(),
                           uint64_t(pw->metaBytes()),
                           pw->rowIdx.empty() ? nullptr : pw->rowIdx.data(),
                           uint64_t(pw->rowIdxBytes())};
    if (!check(sy_session_upload_weight(bd.s, name, &up),
               std::string("upload ") + name))
      return 1;
  }
  // Biases: one set per run, bound once.
  DeviceBuffer db13, db2, drb;
  if (L.bias && (!randomBiases(rng, shifted ? 0.5 : 0.0, L) ||
                 !uploadInput(bd.s, "w13_bias", L.b13, db13) ||
                 !uploadInput(bd.s, "w2_bias", L.b2, db2)))
    return 1;
  if (L.routerBias) {
    randomRouterBias(rng, L);
    if (!uploadInput(bd.s, "router_bias", L.rbBytes.data(), L.rbBytes.size(),
                     drb))
      return 1;
  }
  const float *rbias = L.routerBias ? L.rb.data() : nullptr;
  for (int64_t T : tokenCounts) {
    std::vector<uint16_t> x(size_t(T * H));
    std::vector<float> xf(x.size()), rf(size_t(E * H));
    for (size_t i = 0; i < x.size(); ++i)
      xf[i] = toFloat(x[i] = randomElement(rng, L.dt, 1.0, shifted ? 0.5 : 0.0),
                      L.dt);
    std::vector<uint8_t> router(rf.size() * rsz);
    for (int64_t e = 0; e < E; ++e)
      for (int64_t h = 0; h < H; ++h) {
        double shift = mode == Mode::OneExpert && e == 0       ? bias
                       : mode == Mode::HalfEmpty && e >= E / 2 ? -bias
                                                               : 0.0;
        size_t i = size_t(e * H + h);
        if (routerType == SY_DTYPE_F32) {
          rf[i] = float(rng.symmetric(routerScale) + shift);
          std::memcpy(&router[i * 4], &rf[i], 4);
        } else {
          uint16_t bits = randomElement(rng, L.dt, routerScale, shift);
          rf[i] = toFloat(bits, L.dt);
          std::memcpy(&router[i * 2], &bits, 2);
        }
      }
    // Reference routing (same 16-bit or f32 values as the GPU sees).
    std::vector<float> wts;
    std::vector<int32_t> ids;
    if (!bench)
      routeReference(xf.data(), rf.data(), T, H, E, k, L.renormalize, L.scale,
                     wts, ids, rbias);
    // The tokens whose set of top-k experts the router's bias changed.
    int64_t biasChanged = 0;
    if (!bench && rbias) {
      std::vector<float> w0;
      std::vector<int32_t> ids0;
      routeReference(xf.data(), rf.data(), T, H, E, k, false, 1.0, w0, ids0);
      for (int64_t t = 0; t < T; ++t) {
        std::vector<int32_t> a(ids.begin() + t * k, ids.begin() + (t + 1) * k),
            b(ids0.begin() + t * k, ids0.begin() + (t + 1) * k);
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
        biasChanged += a != b;
      }
    }
    bool setupOk = true;
    for (int64_t t = 0; !bench && t < T; ++t) {
      const int32_t *row = &ids[size_t(t * k)];
      if (mode == Mode::OneExpert)
        setupOk &= std::find(row, row + k, 0) != row + k;
      if (mode == Mode::HalfEmpty)
        setupOk &= *std::max_element(row, row + k) < E / 2;
    }
    if (!setupOk) {
      std::fprintf(
          stderr, "error: T=%lld: routing mode %s not realised by the inputs\n",
          (long long)T, modeNames[int(mode)]);
      return 1;
    }
    // Near ties between the k-th and (k+1)-th logits.
    std::vector<int64_t> ties;
    std::vector<double> logits(static_cast<size_t>(E));
    for (int64_t t = 0; !bench && E > k && t < T; ++t) {
      double mx = 0;
      for (int64_t e = 0; e < E; ++e) {
        double acc = 0;
        for (int64_t h = 0; h < H; ++h)
          acc += double(xf[size_t(t * H + h)]) * double(rf[size_t(e * H + h)]);
        if (rbias)
          acc += double(rbias[e]);
        logits[size_t(e)] = acc;
        mx = std::max(mx, std::fabs(acc));
      }
      std::nth_element(logits.begin(), logits.begin() + k, logits.end(),
                       std::greater<double>());
      double kth = *std::min_element(logits.begin(), logits.begin() + k);
      if (kth - logits[size_t(k)] < kTieTolerance * mx)
        ties.push_back(t);
    }

    // Device buffers, poison, bind, run.
    uint64_t xb = uint64_t(T * H) * es, rb = router.size(), yb = xb;
    DeviceBuffer dx, dr, dy;
    if (!dx.alloc(xb, "alloc x") || !dr.alloc(rb, "alloc router") ||
        !dy.alloc(yb, "alloc y") ||
        !check(sy_memcpy_htod(dx.ptr, x.data(), xb), "copy x") ||
        !check(sy_memcpy_htod(dr.ptr, router.data(), rb), "copy router") ||
        !check(sy_session_bind(bd.s, "x", dx.ptr, xb), "bind x") ||
        !check(sy_session_bind(bd.s, "router", dr.ptr, rb), "bind router") ||
        !check(sy_session_bind(bd.s, "y", dy.ptr, yb), "bind y"))
      return 1;
    std::vector<int64_t> symValues = symbolsFor(T);
    auto run = [&]() {
      return check(sy_session_run(bd.s, symNames.data(), symValues.data(),
                                  int32_t(symNames.size()), nullptr),
                   "sy_session_run");
    };
    auto runOnce = [&](std::vector<uint16_t> &out) {
      out.resize(size_t(T * H));
      return check(sy_memset(dy.ptr, 0xff, yb), "poison y") && run() &&
             check(sy_device_sync(), "sync after run") &&
             check(sy_memcpy_dtoh(out.data(), dy.ptr, yb), "copy y back");
    };
    std::vector<uint16_t> yHost, yAgain;
    if (!runOnce(yHost))
      return 1;
    auto timeRuns = [&]() {
      auto t0 = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < iters; ++i)
        if (!run())
          return -1.0;
      if (!check(sy_device_sync(), "sync after timing"))
        return -1.0;
      return std::chrono::duration<double, std::milli>(
                 std::chrono::steady_clock::now() - t0)
                 .count() /
             double(iters);
    };
    if (bench) {
      // Timing only (correctness is the checked mode's job): every output
      // must still be written.
      int64_t unwritten = 0;
      for (uint16_t v : yHost)
        unwritten += std::isnan(toFloat(v, L.dt));
      double ms = timeRuns();
      std::printf("T=%lld routing=%s bench nan=%lld %s avg_ms=%.4f\n",
                  (long long)T, modeNames[int(mode)], (long long)unwritten,
                  unwritten == 0 && ms > 0 ? "ok" : "FAIL", ms);
      allOk &= unwritten == 0 && ms > 0;
      continue;
    }

    // The rows compared (all, or --check-rows evenly spaced ones) and their
    // inputs; every row is checked for NaN.
    const int64_t R = checkRows > 0 && T > checkRows ? checkRows : T;
    std::vector<int64_t> rows(static_cast<size_t>(R));
    for (int64_t i = 0; i < R; ++i)
      rows[size_t(i)] = R == T ? i : i * (T - 1) / (R - 1);
    std::vector<uint16_t> xr(size_t(R * H));
    std::vector<int32_t> idsR(size_t(R * k));
    std::vector<float> wtsR(size_t(R * k));
    for (int64_t i = 0; i < R; ++i) {
      size_t t = size_t(rows[size_t(i)]);
      std::copy_n(&x[t * H], H, &xr[size_t(i * H)]);
      std::copy_n(&ids[t * k], k, &idsR[size_t(i * k)]);
      std::copy_n(&wts[t * k], k, &wtsR[size_t(i * k)]);
    }
    // Reference layer; near-tie tokens take whichever routing the GPU matches.
    std::vector<double> ref, got(size_t(R * H));
    ClampCounts clamps;
    if (!referenceLayer(L, xr.data(), R, idsR.data(), wtsR.data(), ref,
                        &clamps))
      return 1;
    int64_t nan = 0, alt = 0;
    for (uint16_t v : yHost)
      nan += std::isnan(toFloat(v, L.dt));
    for (int64_t i = 0; i < R; ++i)
      for (int64_t h = 0; h < H; ++h)
        got[size_t(i * H + h)] =
            toFloat(yHost[size_t(rows[size_t(i)] * H + h)], L.dt);
    // Near ties among the compared rows, as indices into them.
    std::vector<int64_t> tiesR;
    for (int64_t t : ties) {
      auto it = std::lower_bound(rows.begin(), rows.end(), t);
      if (it != rows.end() && *it == t)
        tiesR.push_back(it - rows.begin());
    }
    if (!tiesR.empty()) {
      const int64_t n = int64_t(tiesR.size());
      std::vector<uint16_t> xs(size_t(n * H));
      std::vector<float> xsf(xs.size()), p1, altW(size_t(n * k));
      std::vector<int32_t> id1, altIds(size_t(n * k));
      for (int64_t i = 0; i < n; ++i)
        for (int64_t h = 0; h < H; ++h) {
          size_t t = size_t(rows[size_t(tiesR[size_t(i)])]);
          xs[size_t(i * H + h)] = x[t * H + h];
          xsf[size_t(i * H + h)] = xf[t * H + h];
        }
      // Top k+1 softmax probabilities; the alternative swaps the k-th for the
      // (k+1)-th.
      routeReference(xsf.data(), rf.data(), n, H, E, k + 1, false, 1.0, p1, id1,
                     rbias);
      for (int64_t i = 0; i < n; ++i) {
        double sum = 0;
        for (int j = 0; j < k; ++j) {
          int src = j == k - 1 ? k : j;
          altIds[size_t(i * k + j)] = id1[size_t(i * (k + 1) + src)];
          sum += (altW[size_t(i * k + j)] = p1[size_t(i * (k + 1) + src)]);
        }
        for (int j = 0; j < k; ++j)
          altW[size_t(i * k + j)] =
              float((L.renormalize ? altW[size_t(i * k + j)] / sum
                                   : altW[size_t(i * k + j)]) *
                    L.scale);
      }
      std::vector<double> refAlt;
      if (!referenceLayer(L, xs.data(), n, altIds.data(), altW.data(), refAlt))
        return 1;
      for (int64_t i = 0; i < n; ++i) {
        size_t t = size_t(tiesR[size_t(i)]);
        double dRef = 0, dAlt = 0;
        for (int64_t h = 0; h < H; ++h) {
          double g = got[t * H + h];
          dRef += (g - ref[t * H + h]) * (g - ref[t * H + h]);
          dAlt +=
              (g - refAlt[size_t(i * H + h)]) * (g - refAlt[size_t(i * H + h)]);
        }
        if (dAlt < dRef) {
          ++alt;
          std::copy_n(&refAlt[size_t(i * H)], H, &ref[t * H]);
        }
      }
    }
    double rel = relativeError(got, ref);
    bool ok = nan == 0 && rel <= 1e-2;
    bool deterministic = false;
    if (repeatCheck) {
      if (!runOnce(yAgain))
        return 1;
      deterministic = std::memcmp(yHost.data(), yAgain.data(), yb) == 0;
      ok &= deterministic;
    }
    // Timing: warm iterations, host wall clock around launches + one sync.
    double ms = timeRuns();
    if (ms < 0)
      return 1;
    std::printf("T=%lld routing=%s relerr=%.3e", (long long)T,
                modeNames[int(mode)], rel);
    if (R < T)
      std::printf(" rows=%lld", (long long)R);
    if (!tiesR.empty())
      std::printf(" near_ties=%zu", tiesR.size());
    if (rbias)
      std::printf(" bias_changed=%lld/%lld", (long long)biasChanged,
                  (long long)T);
    if (L.act.kind == ActivationKind::ClampedSwiglu)
      std::printf(" clamped=%lld/%lld(gate=%lld,up_high=%lld,up_low=%lld)",
                  (long long)clamps.total(), (long long)(R * k * 2 * I),
                  (long long)clamps.gate, (long long)clamps.upHigh,
                  (long long)clamps.upLow);
    if (alt)
      std::printf(" gpu_alt_choice=%lld", (long long)alt);
    if (repeatCheck)
      std::printf(" %s", deterministic ? "deterministic" : "nondeterministic");
    if (nan)
      std::printf(" nan=%lld", (long long)nan);
    std::printf(" %s avg_ms=%.4f\n", ok ? "ok" : "FAIL", ms);
    allOk &= ok;
  }
  return allOk ? 0 : 1;
}
