//===- ssmm-gpu-test.cpp - Check a compiled expert matmul on the GPU
//-------===//
//
// ssmm-gpu-test BUNDLE_DIR [--tokens 1,7,64,129,1000] [--seed S]
//               [--x-rows N] [--iters N] [--allow-skip]
//
// The bundle has one weight "w" and buffers "x" [T, K], "tokens" i32 [P],
// "offsets" i32 [E+1], "y" [P, R or R/2] (top-level "epilogue": "none" or
// "silu_mul"; "activation": silu_mul's, when not SiLU) and optionally the
// input "bias" [E, R] (x's dtype). For every token count: random weights
// (and bias: with silu_mul one value in 16 near +-limit, so clamped SwiGLU
// clamps some, which the line of each count reports) are packed and
// uploaded, the kernels are run, and y is compared with ssmmReference.
// Without a GPU it prints "SKIPPED: <reason>" and exits 0 with --allow-skip,
// else 77.
//
//===----------------------------------------------------------------------===//

#include "Manifest.h" // parseManifest (runtime internals): "activation"
#include "samoyeds-c/Runtime.h"
#include "samoyeds/Runtime/Format.h"
#include "samoyeds/Runtime/Reference.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace samoyeds::rt;

namespace {

struct Options {
  std::string dir;
  std::vector<int64_t> tokens = {1, 7, 64, 129, 1000};
  uint64_t seed = 1234;
  int64_t xRows = -1;
  int64_t iters = 20;
  bool allowSkip = false;
};

int usage(const char *msg) {
  std::fprintf(stderr,
               "error: %s\nusage: ssmm-gpu-test BUNDLE_DIR [--tokens 1,7,64] "
               "[--seed S] [--x-rows N] [--iters N] [--allow-skip]\n",
               msg);
  return 2;
}

bool parseList(const char *s, std::vector<int64_t> &out) {
  out.clear();
  std::string str(s);
  size_t pos = 0;
  while (pos <= str.size()) {
    size_t comma = str.find(',', pos);
    std::string item = str.substr(
        pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char *end = nullptr;
    long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end || v < 0)
      return false;
    out.push_back(v);
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return !out.empty();
}

/// Reports a failed runtime call and returns false.
bool check(sy_status st, const char *what) {
  if (st == SY_OK)
    return true;
  std::fprintf(stderr, "error: %s: %s: %s\n", what, sy_status_name(st),
               sy_last_error());
  return false;
}

double elementToDouble(const uint8_t *p, sy_dtype dt) {
  uint16_t h;
  float f;
  switch (dt) {
  case SY_DTYPE_BF16:
    std::memcpy(&h, p, 2);
    return bf16ToFloat(h);
  case SY_DTYPE_F16:
    std::memcpy(&h, p, 2);
    return f16ToFloat(h);
  case SY_DTYPE_F32:
    std::memcpy(&f, p, 4);
    return f;
  default:
    return NAN;
  }
}

/// Device allocation freed on scope exit.
struct DeviceBuffer {
  uint64_t ptr = 0, bytes = 0;
  ~DeviceBuffer() { sy_device_free(ptr); }
  bool alloc(uint64_t n, const char *what) {
    sy_device_free(ptr);
    ptr = 0;
    bytes = n;
    return check(sy_device_alloc(n, &ptr), what);
  }
};

/// The activation of DIR/manifest.json and whether its input "bias" has
/// the constant shape [E, R] (`bias`: the bundle has an input "bias").
bool readManifest(const std::string &dir, int64_t E, int64_t R, Activation &act,
                  bool &bias) {
  std::string text, err, file = dir + "/manifest.json";
  Manifest m;
  if (!readFile(file, text) || parseManifest(text, file, m, err) != SY_OK) {
    std::fprintf(stderr, "error: %s\n",
                 err.empty() ? (file + ": cannot read").c_str() : err.c_str());
    return false;
  }
  act = m.activation;
  int i = m.findBuffer("bias");
  bias = i >= 0;
  if (!bias)
    return true;
  const BufferDesc &b = m.buffers[size_t(i)];
  if (b.kind == SY_BUFFER_INPUT && b.shape.size() == 2 &&
      b.shape[0].symbol < 0 && b.shape[0].value == E && b.shape[1].symbol < 0 &&
      b.shape[1].value == R)
    return true;
  std::fprintf(stderr,
               "error: %s: buffer 'bias' is not an input of shape [%lld, "
               "%lld] (the weight's [E, R])\n",
               file.c_str(), (long long)E, (long long)R);
  return false;
}

struct Bundle {
  sy_bundle *b = nullptr;
  sy_session *s = nullptr;
  ~Bundle() {
    sy_session_destroy(s);
    sy_bundle_destroy(b);
  }
};

} // namespace

int main(int argc, char **argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--allow-skip") {
      opt.allowSkip = true;
    } else if (a == "--tokens" && i + 1 < argc) {
      if (!parseList(argv[++i], opt.tokens))
        return usage("bad --tokens list");
    } else if (a == "--seed" && i + 1 < argc) {
      opt.seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--x-rows" && i + 1 < argc) {
      opt.xRows = std::strtoll(argv[++i], nullptr, 10);
    } else if (a == "--iters" && i + 1 < argc) {
      opt.iters = std::max<int64_t>(1, std::strtoll(argv[++i], nullptr, 10));
    } else if (!a.empty() && a[0] == '-') {
      return usage(("unknown option " + a).c_str());
    } else if (opt.dir.empty()) {
      opt.dir = a;
    } else {
      return usage("more than one bundle directory");
    }
  }
  if (opt.dir.empty())
    return usage("missing BUNDLE_DIR");

  Bundle bundle;
  sy_status st = sy_bundle_load(opt.dir.c_str(), &bundle.b);
  if (st == SY_ERR_NO_DEVICE) {
    std::printf("SKIPPED: %s\n", sy_last_error());
    return opt.allowSkip ? 0 : 77;
  }
  if (!check(st, "sy_bundle_load") ||
      !check(sy_session_create(bundle.b, &bundle.s), "sy_session_create"))
    return 1;

  sy_weight_info wi;
  if (!check(sy_bundle_find_weight(bundle.b, "w", &wi), "weight 'w'"))
    return 1;
  Epilogue epi = Epilogue::None;
  const char *epiName = "none";
  if (sy_bundle_manifest_string(bundle.b, "epilogue", &epiName) == SY_OK) {
    if (std::string(epiName) == "silu_mul")
      epi = Epilogue::SiluMul;
    else if (std::string(epiName) != "none")
      return usage((std::string("unknown epilogue '") + epiName + "'").c_str());
  }
  Activation act;
  bool haveBias = false;
  if (!readManifest(opt.dir, wi.experts, wi.rows, act, haveBias))
    return 1;
  int32_t nbuf = 0;
  sy_dtype yType = SY_DTYPE_F32;
  bool haveY = false;
  sy_bundle_num_buffers(bundle.b, &nbuf);
  for (int32_t i = 0; i < nbuf; ++i) {
    const char *name;
    sy_dtype dt;
    sy_bundle_buffer_info(bundle.b, i, &name, nullptr, &dt);
    if (std::string(name) == "y") {
      yType = dt;
      haveY = true;
    }
    if (std::string(name) == "bias" && dt != wi.dtype)
      return usage("input 'bias' is not of the weight's dtype");
  }
  if (!haveY)
    return usage("bundle has no buffer 'y'");
  std::vector<const char *> symNames;
  int32_t nsym = 0;
  sy_bundle_num_symbols(bundle.b, &nsym);
  for (int32_t i = 0; i < nsym; ++i) {
    const char *n;
    sy_bundle_symbol_name(bundle.b, i, &n);
    symNames.push_back(n);
  }

  DType dtype = wi.dtype == SY_DTYPE_BF16 ? DType::BF16 : DType::F16;
  SSShape shape{wi.experts, wi.rows, wi.cols};
  SSParams params{wi.n, wi.m, wi.v};
  const int64_t E = wi.experts, R = wi.rows, K = wi.cols;
  const int64_t outCols = epi == Epilogue::SiluMul ? R / 2 : R;
  const bool clamped =
      epi == Epilogue::SiluMul && act.kind == ActivationKind::ClampedSwiglu;
  std::printf("bundle %s: E=%lld R=%lld K=%lld n=%d m=%d v=%d %s layout=%s "
              "epilogue=%s y=%s",
              opt.dir.c_str(), (long long)E, (long long)R, (long long)K, wi.n,
              wi.m, wi.v, dtypeName(dtype),
              layoutName(WeightLayout(int(wi.layout))), epiName,
              yType == SY_DTYPE_F32 ? "f32" : "16-bit");
  if (act.kind != ActivationKind::Silu)
    std::printf(" activation=%s(alpha=%g,limit=%g)", activationName(act.kind),
                act.alpha, act.limit);
  std::printf("%s\n", haveBias ? " bias" : "");
  // The accumulators' size: x uniform in [-1, 1], the kept weights (of
  // density keptRows / 2R) in [-0.05, 0.05].
  const double accScale =
      0.05 * std::sqrt(double(K) * double(keptRows(params, shape)) /
                       (2.0 * double(R)) / 9.0);

  SplitMix64 rng(opt.seed);
  bool allOk = true;
  for (int64_t P : opt.tokens) {
    int64_t T = opt.xRows > 0 ? opt.xRows : std::max<int64_t>(P, 16);
    // Weights.
    std::vector<uint16_t> dense(static_cast<size_t>(E * R * K));
    for (auto &v : dense)
      v = rng.nonZero(dtype, 0.05);
    // Packed in the layout the bundle's kernels read.
    PackedWeight pw = pack(dense.data(), dtype, shape, params, nullptr,
                           WeightLayout(int(wi.layout)));
    sy_packed_weight up = {pw.values.data(),
                           uint64_t(pw.valuesBytes()),
                           pw.meta.data(),
                           uint64_t(pw.metaBytes()),
                           pw.rowIdx.empty() ? nullptr : pw.rowIdx.data(),
                           uint64_t(pw.rowIdxBytes())};
    if (!check(sy_session_upload_weight(bundle.s, "w", &up), "upload w"))
      return 1;
    // Bias: near +-limit one value in 16 where an activation follows.
    std::vector<uint16_t> bias;
    if (haveBias)
      bias = randomBias(rng, dtype, E * R, accScale, act.limit,
                        epi == Epilogue::SiluMul ? 16 : 0);
    // Activations, token list, offsets (one expert left empty when E > 1).
    std::vector<uint16_t> x(static_cast<size_t>(T * K));
    for (auto &v : x)
      v = rng.nonZero(dtype, 1.0);
    std::vector<int32_t> tokens(static_cast<size_t>(P));
    for (auto &t : tokens)
      t = int32_t(rng.below(uint64_t(T)));
    std::vector<int32_t> offsets(static_cast<size_t>(E + 1), 0);
    int64_t emptyExpert = E > 1 ? int64_t(rng.below(uint64_t(E))) : -1;
    std::vector<int64_t> counts(static_cast<size_t>(E), 0);
    for (int64_t p = 0; p < P; ++p) {
      int64_t e = int64_t(rng.below(uint64_t(E > 1 ? E - 1 : 1)));
      if (emptyExpert >= 0 && e >= emptyExpert)
        ++e;
      ++counts[size_t(e)];
    }
    for (int64_t e = 0; e < E; ++e)
      offsets[size_t(e + 1)] = offsets[size_t(e)] + int32_t(counts[size_t(e)]);

    std::vector<int64_t> symValues;
    for (const char *n : symNames)
      symValues.push_back(std::string(n) == "T" ? T : P);
    auto bytesOf = [&](const char *name, uint64_t &b) {
      return check(sy_bundle_buffer_bytes(bundle.b, name, symNames.data(),
                                          symValues.data(),
                                          int32_t(symNames.size()), &b),
                   name);
    };
    uint64_t xb, tb, ob, yb;
    if (!bytesOf("x", xb) || !bytesOf("tokens", tb) ||
        !bytesOf("offsets", ob) || !bytesOf("y", yb))
      return 1;
    if (xb < uint64_t(T * K * 2) || tb < uint64_t(P * 4) ||
        ob < uint64_t((E + 1) * 4) ||
        yb < uint64_t(P * outCols) * sy_dtype_size(yType)) {
      std::fprintf(
          stderr,
          "error: buffer shapes in the manifest do not match the weight\n");
      return 1;
    }
    DeviceBuffer dx, dt, doff, dy, db;
    if (!dx.alloc(xb, "alloc x") || !dt.alloc(tb, "alloc tokens") ||
        !doff.alloc(ob, "alloc offsets") || !dy.alloc(yb, "alloc y"))
      return 1;
    const uint64_t bb = bias.size() * sizeof(uint16_t);
    uint64_t bm = 0; // The manifest's bytes of "bias".
    if (haveBias &&
        (!bytesOf("bias", bm) || bm != bb || !db.alloc(bb, "alloc bias") ||
         !check(sy_memcpy_htod(db.ptr, bias.data(), bb), "copy bias") ||
         !check(sy_session_bind(bundle.s, "bias", db.ptr, bb), "bind bias")))
      return 1;
    if (!check(sy_memcpy_htod(dx.ptr, x.data(), uint64_t(T * K * 2)),
               "copy x") ||
        !check(sy_memcpy_htod(dt.ptr, tokens.data(), uint64_t(P * 4)),
               "copy tokens") ||
        !check(sy_memcpy_htod(doff.ptr, offsets.data(), uint64_t((E + 1) * 4)),
               "copy offsets") ||
        !check(sy_memset(dy.ptr, 0xff, yb), "poison y"))
      return 1;
    if (!check(sy_session_bind(bundle.s, "x", dx.ptr, xb), "bind x") ||
        !check(sy_session_bind(bundle.s, "tokens", dt.ptr, tb),
               "bind tokens") ||
        !check(sy_session_bind(bundle.s, "offsets", doff.ptr, ob),
               "bind offsets") ||
        !check(sy_session_bind(bundle.s, "y", dy.ptr, yb), "bind y"))
      return 1;
    auto run = [&]() {
      return sy_session_run(bundle.s, symNames.data(), symValues.data(),
                            int32_t(symNames.size()), nullptr);
    };
    if (!check(run(), "sy_session_run") ||
        !check(sy_device_sync(), "sync after run"))
      return 1;
    std::vector<uint8_t> yHost(static_cast<size_t>(yb));
    if (!check(sy_memcpy_dtoh(yHost.data(), dy.ptr, yb), "copy y back"))
      return 1;
    std::vector<double> ref;
    std::string err;
    ClampCounts clamps;
    EpilogueSpec spec{epi, act, haveBias ? &bias : nullptr};
    if (!ssmmReference(pw, x.data(), T, offsets.data(), tokens.data(), P, spec,
                       ref, &err, &clamps)) {
      std::fprintf(stderr, "error: reference: %s\n", err.c_str());
      return 1;
    }
    std::vector<double> got(static_cast<size_t>(P * outCols));
    int64_t nan = 0;
    uint64_t es = sy_dtype_size(yType);
    for (size_t i = 0; i < got.size(); ++i) {
      got[i] = elementToDouble(yHost.data() + i * es, yType);
      nan += std::isnan(got[i]);
    }
    double rel = relativeError(got, ref);
    bool ok = nan == 0 && rel <= 1e-2;
    // Timing: 20 warm iterations, host wall clock around launches + one sync.
    const int64_t iters = opt.iters;
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < iters; ++i)
      if (!check(run(), "sy_session_run (timing)"))
        return 1;
    if (!check(sy_device_sync(), "sync after timing"))
      return 1;
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - t0)
                    .count() /
                iters;
    std::printf("P=%lld relerr=%.3e", (long long)P, rel);
    if (clamped)
      std::printf(" clamped=%lld/%lld(gate=%lld,up_high=%lld,up_low=%lld)",
                  (long long)clamps.total(), (long long)(P * R),
                  (long long)clamps.gate, (long long)clamps.upHigh,
                  (long long)clamps.upLow);
    std::printf(" %s avg_ms=%.4f", ok ? "ok" : "FAIL", ms);
    if (nan)
      std::printf(" (%lld unwritten/NaN outputs)", (long long)nan);
    std::printf("\n");
    allOk &= ok;
  }
  return allOk ? 0 : 1;
}
