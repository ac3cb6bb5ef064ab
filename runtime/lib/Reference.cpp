//===- Reference.cpp - CPU oracles of the Samoyeds ops
//---------------------===//

#include "samoyeds/Runtime/Reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace samoyeds {
namespace rt {

uint16_t SplitMix64::nonZero(DType dtype, double scale) {
  for (;;) {
    double v = symmetric(scale);
    uint16_t bits = fromFloat(float(v), dtype);
    if ((bits & 0x7fffu) != 0)
      return bits;
  }
}

namespace {
/// One non-zero of an expert: original row, column, value.
struct Entry {
  int32_t row, col;
  double value;
};
} // namespace

namespace {
/// The stored kept rows of `w`'s layout (Format.md): `logical[sr]` is the
/// kept row stored at `sr` (-1 for a padding row of the wgmma layouts),
/// `stored[kr]` where kept row `kr` is stored.
struct RowMap {
  std::vector<int64_t> logical, stored;
  explicit RowMap(const PackedWeight &w)
      : logical(size_t(storedKeptRows(w.p, w.s, w.layout))),
        stored(size_t(keptRows(w.p, w.s))) {
    for (size_t sr = 0; sr < logical.size(); ++sr) {
      logical[sr] = storedKeptRow(w.p, w.s, w.layout, int64_t(sr)).keptRow;
      if (logical[sr] >= 0)
        stored[size_t(logical[sr])] = int64_t(sr);
    }
  }
  int64_t rows() const { return int64_t(logical.size()); }
};
} // namespace

/// Columns `w`'s layout stores per kept row: K, or for the wgmma layouts K
/// rounded up to 128.
static int64_t paddedCols(const PackedWeight &w) {
  const int64_t K = w.s.cols;
  return isWgmmaLayout(w.layout) ? (K + 127) / 128 * 128 : K;
}

/// Reads expert `e`'s values words into `words[kr * K/4 + chunk]` (C columns
/// 2*chunk, 2*chunk + 1) by walking the physical layout of Format.md
/// forwards, independently of Format.cpp's index functions. Experts are
/// `Rs * Kp / 4` words apart (Rs stored kept rows, Kp: K, or for the wgmma
/// layouts K rounded up to 128); the wgmma padding (C columns K/2 .. Kp/2 -
/// 1, padding rows) is skipped.
static void walkValues(const PackedWeight &w, int64_t e, const RowMap &rows,
                       std::vector<uint32_t> &words) {
  const int64_t K = w.s.cols, Rs = rows.rows(), chunks = K / 4;
  const int64_t Kp = paddedCols(w);
  const uint32_t *vals = w.values.data() + e * (Rs * Kp / 4);
  int64_t pos = 0;
  if (w.layout == WeightLayout::MmaSp) {
    // Fragments (tr, ks, lane, i) of mma.sp's A operand.
    for (int64_t tr = 0; tr < Rs / 16; ++tr)
      for (int64_t ks = 0; ks < K / 32; ++ks)
        for (int lane = 0; lane < 32; ++lane)
          for (int i = 0; i < 4; ++i) {
            int g = lane >> 2, t = lane & 3;
            int64_t kr = tr * 16 + g + 8 * (i & 1);
            int64_t ccol = ks * 16 + 2 * t + 8 * (i >> 1); // C column, even.
            words[size_t(kr * chunks + ccol / 2)] = vals[pos++];
          }
    return;
  }
  // Wgmma: 64-row x 128-byte blocks (T, b); row r of a block is 8 16-byte
  // slots, slot j holding C columns b*64 + 8*(j ^ r%8) .. + 7.
  for (int64_t T = 0; T < Rs / 64; ++T)
    for (int64_t b = 0; b < Kp / 128; ++b)
      for (int64_t r = 0; r < 64; ++r)
        for (int64_t j = 0; j < 8; ++j)
          for (int64_t i = 0; i < 4; ++i) {
            int64_t kr = rows.logical[size_t(T * 64 + r)];
            int64_t ccol = b * 64 + (j ^ (r % 8)) * 8 + 2 * i;
            uint32_t word = vals[pos++];
            if (kr >= 0 && ccol < K / 2)
              words[size_t(kr * chunks + ccol / 2)] = word;
          }
}

/// Reads expert `e`'s metadata nibbles into `nibbles[kr * K/4 + chunk]` by
/// walking the 16-word meta blocks forwards (one 16-row tile and one k step
/// each; mma_sp orders them [tile][ks], the wgmma layouts [tile/4][ks][tile%4]
/// over the padded k steps Kp / 32, whose blocks past K / 32 are skipped, as
/// are padding rows).
static void walkMeta(const PackedWeight &w, int64_t e, const RowMap &rows,
                     std::vector<uint8_t> &nibbles) {
  const int64_t K = w.s.cols, Rs = rows.rows(), chunks = K / 4;
  const int64_t KS = paddedCols(w) / 32;
  const uint32_t *meta = w.meta.data() + e * (Rs * KS);
  int64_t pos = 0;
  for (int64_t blk = 0; blk < Rs / 16 * KS; ++blk) {
    int64_t tr = blk / KS, ks = blk % KS;
    if (w.layout != WeightLayout::MmaSp) {
      tr = blk / (4 * KS) * 4 + blk % 4;
      ks = blk / 4 % KS;
    }
    if (ks >= K / 32) { // wgmma padding
      pos += 16;
      continue;
    }
    // Word 2*g + h: rows tr*16 + g (low half) and + 8 (high half), chunks
    // ks*8 + 4*h + q in nibble q.
    for (int g = 0; g < 8; ++g)
      for (int h = 0; h < 2; ++h) {
        uint32_t word = meta[pos++];
        for (int half = 0; half < 2; ++half)
          for (int q = 0; q < 4; ++q) {
            int64_t kr = rows.logical[size_t(tr * 16 + g + 8 * half)];
            int64_t chunk = ks * 8 + 4 * h + q;
            if (kr >= 0)
              nibbles[size_t(kr * chunks + chunk)] =
                  uint8_t((word >> (4 * q + 16 * half)) & 0xfu);
          }
      }
  }
}

/// Decodes expert `e` straight from its physical layout (walkValues,
/// walkMeta), written independently of unpack().
static std::vector<Entry> decodeExpert(const PackedWeight &w, int64_t e) {
  const int64_t K = w.s.cols, M = w.p.m, N = w.p.n, V = w.p.v;
  const int64_t Rk = keptRows(w.p, w.s), chunks = K / 4;
  const RowMap rows(w);
  const int64_t Rs = rows.rows();
  const int64_t idxBytes = rowIdxBytesPerExpert(w.p, w.s, w.layout);
  const uint8_t *ridx = idxBytes ? w.rowIdx.data() + e * idxBytes : nullptr;
  std::vector<uint32_t> words(static_cast<size_t>(Rk * chunks));
  std::vector<uint8_t> nibbles(static_cast<size_t>(Rk * chunks));
  walkValues(w, e, rows, words);
  walkMeta(w, e, rows, nibbles);
  std::vector<Entry> out;
  out.reserve(static_cast<size_t>(Rk * K / 2));
  for (int64_t kr = 0; kr < Rk; ++kr)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      uint32_t word = words[size_t(kr * chunks + chunk)];
      uint32_t nibble = nibbles[size_t(kr * chunks + chunk)];
      int64_t span = chunk * 4 / V;
      int64_t sel = ridx ? ridx[span * Rs + rows.stored[size_t(kr)]] : kr % M;
      int32_t row = int32_t((kr / N) * M + sel);
      int64_t idx[2] = {nibble & 3u, nibble >> 2};
      for (int half = 0; half < 2; ++half) {
        uint16_t bits = uint16_t(half ? word >> 16 : word & 0xffffu);
        double v = toFloat(bits, w.dtype);
        if (v != 0.0 || std::isnan(v))
          out.push_back({row, int32_t(chunk * 4 + idx[half]), v});
      }
    }
  return out;
}

static bool fail(std::string *error, const std::string &msg) {
  if (error)
    *error = msg;
  return false;
}

double activate(const Activation &a, double gate, double up,
                ClampCounts *clamps) {
  if (a.kind == ActivationKind::Silu)
    return gate / (1.0 + std::exp(-gate)) * up;
  if (clamps) {
    clamps->gate += gate > a.limit;
    clamps->upHigh += up > a.limit;
    clamps->upLow += up < -a.limit;
  }
  // std::min/max return their first argument when it is NaN.
  double g = std::min(gate, a.limit);
  double u = std::max(std::min(up, a.limit), -a.limit);
  return g / (1.0 + std::exp(-a.alpha * g)) * (u + 1.0);
}

/// "" when `w`, `offsets`, `tokens` and `epi` fit together (see
/// ssmmReference), else what is wrong.
static std::string checkSsmmArgs(const PackedWeight &w, int64_t xRows,
                                 const int32_t *offsets, const int32_t *tokens,
                                 int64_t P, const EpilogueSpec &epi) {
  std::string err = checkPacked(w);
  if (!err.empty())
    return "weight: " + err;
  const int64_t E = w.s.experts, R = w.s.rows;
  if (epi.kind == Epilogue::SiluMul && R % 2 != 0)
    return "silu_mul needs an even number of rows";
  if (epi.bias && int64_t(epi.bias->size()) != E * R)
    return "bias has " + std::to_string(epi.bias->size()) +
           " elements, expected experts * rows = " + std::to_string(E * R);
  if (!offsets || offsets[0] != 0 || offsets[E] != P)
    return "offsets must start at 0 and end at P";
  for (int64_t e = 0; e < E; ++e)
    if (offsets[e + 1] < offsets[e])
      return "offsets must be non-decreasing";
  for (int64_t p = 0; p < P; ++p) {
    int64_t row = tokens ? tokens[p] : p;
    if (row < 0 || row >= xRows)
      return "slot " + std::to_string(p) + " reads row " + std::to_string(row) +
             " outside [0, " + std::to_string(xRows) + ")";
  }
  return "";
}

/// The accumulators W_e x of input row `xrow` for expert `e`, plus e's bias.
static void accumulate(const PackedWeight &w, const std::vector<Entry> &entries,
                       const uint16_t *xrow, const EpilogueSpec &epi, int64_t e,
                       std::vector<double> &acc) {
  const int64_t R = w.s.rows, K = w.s.cols;
  std::vector<double> xin(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k)
    xin[size_t(k)] = toFloat(xrow[k], w.dtype);
  acc.assign(static_cast<size_t>(R), 0.0);
  for (const Entry &en : entries)
    acc[size_t(en.row)] += en.value * xin[size_t(en.col)];
  if (epi.bias)
    for (int64_t r = 0; r < R; ++r)
      acc[size_t(r)] += toFloat((*epi.bias)[size_t(e * R + r)], w.dtype);
}

bool ssmmReference(const PackedWeight &w, const uint16_t *x, int64_t xRows,
                   const int32_t *offsets, const int32_t *tokens, int64_t P,
                   const EpilogueSpec &epi, std::vector<double> &out,
                   std::string *error, ClampCounts *clamps) {
  std::string err = checkSsmmArgs(w, xRows, offsets, tokens, P, epi);
  if (!err.empty())
    return fail(error, err);
  const int64_t E = w.s.experts, R = w.s.rows, K = w.s.cols;
  const int64_t cols = epi.kind == Epilogue::SiluMul ? R / 2 : R;
  out.assign(static_cast<size_t>(P * cols), 0.0);
  int64_t gate = 0, upHigh = 0, upLow = 0;
  for (int64_t e = 0; e < E; ++e) {
    if (offsets[e] == offsets[e + 1])
      continue;
    std::vector<Entry> entries = decodeExpert(w, e);
    // Slots are independent: split them over threads when OpenMP is on.
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : gate, upHigh, upLow)
    for (int64_t p = offsets[e]; p < offsets[e + 1]; ++p) {
      std::vector<double> acc;
      accumulate(w, entries, x + (tokens ? tokens[p] : p) * K, epi, e, acc);
      double *o = out.data() + p * cols;
      if (epi.kind == Epilogue::None) {
        std::copy(acc.begin(), acc.end(), o);
        continue;
      }
      ClampCounts c;
      for (int64_t i = 0; i < cols; ++i)
        o[i] =
            activate(epi.activation, acc[size_t(i)], acc[size_t(cols + i)], &c);
      gate += c.gate;
      upHigh += c.upHigh;
      upLow += c.upLow;
    }
  }
  if (clamps)
    *clamps += ClampCounts{gate, upHigh, upLow};
  return true;
}

bool ssmmReference(const PackedWeight &w, const uint16_t *x, int64_t xRows,
                   const int32_t *offsets, const int32_t *tokens, int64_t P,
                   Epilogue epi, std::vector<double> &out, std::string *error) {
  EpilogueSpec spec;
  spec.kind = epi;
  return ssmmReference(w, x, xRows, offsets, tokens, P, spec, out, error);
}

/// "" when the weights and biases of `ffn` have the shapes of one FFN, else
/// what is wrong.
static std::string checkExpertFFN(const ExpertFFN &ffn) {
  if (!ffn.w13 || !ffn.w2)
    return "w13 and w2 are required";
  const SSShape &a = ffn.w13->s, &b = ffn.w2->s;
  if (a.experts != b.experts || a.rows != 2 * b.cols || b.rows != a.cols ||
      ffn.w13->dtype != ffn.w2->dtype)
    return "w13 [" + std::to_string(a.experts) + ", " + std::to_string(a.rows) +
           ", " + std::to_string(a.cols) + "] and w2 [" +
           std::to_string(b.experts) + ", " + std::to_string(b.rows) + ", " +
           std::to_string(b.cols) +
           "] are not [E, 2I, H] and [E, H, I] of one dtype";
  return "";
}

bool expertsReference(const ExpertFFN &ffn, const uint16_t *x, int64_t T,
                      const int32_t *ids, const float *weights, int topK,
                      std::vector<double> &y, std::string *error,
                      ClampCounts *clamps) {
  std::string err = checkExpertFFN(ffn);
  if (!err.empty())
    return fail(error, err);
  if (T < 0 || topK < 1 || (T > 0 && (!x || !ids || !weights)))
    return fail(error, "expected T >= 0, topK >= 1 and non-null inputs");
  const PackedWeight &w13 = *ffn.w13, &w2 = *ffn.w2;
  std::vector<int32_t> tokens, offsets, positions;
  dispatchReference(ids, T, topK, w13.s.experts, tokens, offsets, positions);
  const int64_t P = offsets.back();
  EpilogueSpec up{Epilogue::SiluMul, ffn.activation, ffn.b13};
  std::vector<double> act, out;
  if (!ssmmReference(w13, x, T, offsets.data(), tokens.data(), P, up, act, &err,
                     clamps))
    return fail(error, "w13: " + err);
  // The GPU keeps h in the activation dtype.
  std::vector<uint16_t> h(act.size());
  for (size_t i = 0; i < act.size(); ++i)
    h[i] = fromFloat(float(act[i]), w13.dtype);
  EpilogueSpec down{Epilogue::None, ffn.activation, ffn.b2};
  if (!ssmmReference(w2, h.data(), P, offsets.data(), nullptr, P, down, out,
                     &err))
    return fail(error, "w2: " + err);
  combineReference(out, w2.s.rows, weights, positions.data(), T, topK, y);
  return true;
}

std::vector<uint16_t> randomBias(SplitMix64 &rng, DType dtype, int64_t n,
                                 double scale, double limit, int oneIn) {
  std::vector<uint16_t> out(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (uint16_t &v : out) {
    bool large = oneIn > 0 && rng.below(uint64_t(oneIn)) == 0;
    double value = rng.symmetric(scale);
    if (large)
      value = (rng.below(2) ? limit : -limit) + 2 * value;
    v = fromFloat(float(value), dtype);
  }
  return out;
}

void routeReference(const float *x, const float *router, int64_t T, int64_t H,
                    int64_t E, int topK, bool renormalize, double scalingFactor,
                    std::vector<float> &weights, std::vector<int32_t> &ids,
                    const float *bias) {
  weights.assign(static_cast<size_t>(T * topK), 0.0f);
  ids.assign(static_cast<size_t>(T * topK), -1);
  std::vector<double> prob(static_cast<size_t>(E));
  std::vector<int32_t> order(static_cast<size_t>(E));
  for (int64_t t = 0; t < T; ++t) {
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t e = 0; e < E; ++e) {
      double acc = 0;
      for (int64_t h = 0; h < H; ++h)
        acc += double(x[t * H + h]) * double(router[e * H + h]);
      if (bias)
        acc += double(bias[e]);
      prob[e] = acc;
      mx = std::max(mx, acc);
    }
    double sum = 0;
    for (int64_t e = 0; e < E; ++e)
      sum += (prob[e] = std::exp(prob[e] - mx));
    for (int64_t e = 0; e < E; ++e) {
      prob[e] /= sum;
      order[e] = int32_t(e);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return prob[a] > prob[b]; });
    int k = int(std::min<int64_t>(topK, E));
    double kept = 0;
    for (int j = 0; j < k; ++j)
      kept += prob[order[j]];
    for (int j = 0; j < k; ++j) {
      double v = prob[order[j]];
      if (renormalize)
        v /= kept;
      weights[t * topK + j] = float(v * scalingFactor);
      ids[t * topK + j] = order[j];
    }
  }
}

void routeReference(const uint16_t *x, const uint16_t *router, DType dtype,
                    int64_t T, int64_t H, int64_t E, int topK, bool renormalize,
                    double scalingFactor, std::vector<float> &weights,
                    std::vector<int32_t> &ids, const float *bias) {
  std::vector<float> xf(static_cast<size_t>(T * H)),
      rf(static_cast<size_t>(E * H));
  for (size_t i = 0; i < xf.size(); ++i)
    xf[i] = toFloat(x[i], dtype);
  for (size_t i = 0; i < rf.size(); ++i)
    rf[i] = toFloat(router[i], dtype);
  routeReference(xf.data(), rf.data(), T, H, E, topK, renormalize,
                 scalingFactor, weights, ids, bias);
}

void dispatchReference(const int32_t *ids, int64_t T, int topK, int64_t E,
                       std::vector<int32_t> &tokens,
                       std::vector<int32_t> &offsets,
                       std::vector<int32_t> &positions) {
  auto expertOf = [&](int64_t i) {
    return std::min<int64_t>(std::max<int64_t>(ids[i], 0), E - 1);
  };
  offsets.assign(static_cast<size_t>(E + 1), 0);
  positions.assign(static_cast<size_t>(T * topK), -1);
  for (int64_t i = 0; i < T * topK; ++i)
    ++offsets[size_t(expertOf(i) + 1)];
  for (int64_t e = 0; e < E; ++e)
    offsets[e + 1] += offsets[e];
  tokens.assign(static_cast<size_t>(offsets[E]), 0);
  std::vector<int32_t> cursor(offsets.begin(), offsets.end() - 1);
  for (int64_t t = 0; t < T; ++t)
    for (int j = 0; j < topK; ++j) {
      int64_t e = expertOf(t * topK + j);
      int32_t p = cursor[size_t(e)]++;
      tokens[p] = int32_t(t);
      positions[t * topK + j] = p;
    }
}

void combineReference(const std::vector<double> &y, int64_t H,
                      const float *weights, const int32_t *positions, int64_t T,
                      int topK, std::vector<double> &out) {
  out.assign(static_cast<size_t>(T * H), 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int j = 0; j < topK; ++j) {
      int32_t p = positions[t * topK + j];
      if (p < 0 || int64_t(p + 1) * H > int64_t(y.size()))
        continue;
      double wgt = weights[t * topK + j];
      for (int64_t h = 0; h < H; ++h)
        out[t * H + h] += wgt * y[p * H + h];
    }
}

double relativeError(const double *a, const double *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i]))
      return std::numeric_limits<double>::infinity();
    double d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  if (num == 0)
    return 0;
  if (den == 0)
    return std::numeric_limits<double>::infinity();
  return std::sqrt(num / den);
}

double relativeError(const std::vector<double> &a,
                     const std::vector<double> &b) {
  if (a.size() != b.size())
    return std::numeric_limits<double>::infinity();
  return relativeError(a.data(), b.data(), a.size());
}

} // namespace rt
} // namespace samoyeds
