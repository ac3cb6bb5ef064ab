//===- Reference.h - CPU oracles of the Samoyeds ops ------------*- C++ -*-===//
//
// Double-accumulating CPU references of the sparse expert matmul (computed
// from the packed layout), routing, dispatch and combine, plus test helpers.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_RUNTIME_REFERENCE_H
#define SAMOYEDS_RUNTIME_REFERENCE_H

#include "samoyeds/Runtime/Activation.h"
#include "samoyeds/Runtime/Format.h"

#include <cstdint>
#include <string>
#include <vector>

namespace samoyeds {
namespace rt {

/// What an expert matmul does with its accumulators.
enum class Epilogue {
  /// out[p][r] = acc[r] (R columns).
  None,
  /// R = 2I rows stacked [gate; up]: out[p][i] = act(acc[i], acc[I + i]),
  /// act an Activation (silu(gate) * up unless an EpilogueSpec says other).
  SiluMul
};

/// How many gate and up values a ClampedSwiglu activation clamped (test
/// programs print them to show that the clamp ran).
struct ClampCounts {
  int64_t gate = 0;   ///< gate > limit (gate is clamped from above only).
  int64_t upHigh = 0; ///< up > limit.
  int64_t upLow = 0;  ///< up < -limit.
  int64_t total() const { return gate + upHigh + upLow; }
  ClampCounts &operator+=(const ClampCounts &o) {
    gate += o.gate;
    upHigh += o.upHigh;
    upLow += o.upLow;
    return *this;
  }
};

/// h of one gate/up pair under `a` (Activation.h gives the formulas; NaN
/// propagates), counting the values it clamps in `clamps` when non-null.
double activate(const Activation &a, double gate, double up,
                ClampCounts *clamps = nullptr);

/// An expert matmul's epilogue with its activation and optional bias.
struct EpilogueSpec {
  Epilogue kind = Epilogue::None;
  Activation activation; ///< SiluMul's.
  /// [E, R] in the weight's dtype (expert e's row r at e * R + r), added to
  /// the accumulators before the epilogue; null: no bias.
  const std::vector<uint16_t> *bias = nullptr;
};

/// Reference of the expert matmul, computed by walking the physical layout
/// (values words, metadata nibbles, row_idx) of `w` in its `layout`.
///
/// `x` is `[xRows, K]` row major in `w.dtype`; `offsets` has `experts + 1`
/// entries splitting the `P` slots among experts; `tokens` (nullable) gathers
/// the input row of each slot, else slot p reads row p. `out` is resized to
/// `[P, R]` (or `[P, R/2]` for SiluMul). Returns false (and sets `error`) on
/// inconsistent arguments (a weight checkPacked refuses, out-of-range token,
/// bad offsets, odd R ...).
bool ssmmReference(const PackedWeight &w, const uint16_t *x, int64_t xRows,
                   const int32_t *offsets, const int32_t *tokens, int64_t P,
                   Epilogue epi, std::vector<double> &out,
                   std::string *error = nullptr);

/// ssmmReference with the activation and bias of `epi`: out[p] = epilogue(
/// W_e x + b_e) for the expert e of slot p. A bias of another size than
/// E * R is an error. ClampedSwiglu's clamps are added to `clamps` (nullable).
bool ssmmReference(const PackedWeight &w, const uint16_t *x, int64_t xRows,
                   const int32_t *offsets, const int32_t *tokens, int64_t P,
                   const EpilogueSpec &epi, std::vector<double> &out,
                   std::string *error = nullptr, ClampCounts *clamps = nullptr);

/// The expert FFN of a layer (samoyeds.moe_ffn after the routing,
/// samoyeds.moe_experts) for expertsReference.
struct ExpertFFN {
  const PackedWeight *w13 = nullptr; ///< [E, 2I, H]: gate rows, then up rows.
  const PackedWeight *w2 = nullptr;  ///< [E, H, I], of w13's dtype.
  Activation activation;
  const std::vector<uint16_t> *b13 = nullptr; ///< [E, 2I] or null.
  const std::vector<uint16_t> *b2 = nullptr;  ///< [E, H] or null.
};

/// Reference of an expert FFN: y[t] = sum_j weights[t][j] * o_e (j in
/// order), e = ids[t][j] clamped to [0, E) as dispatchReference does,
/// o_e = W2_e h + b2_e, h = act(W13_e x[t] + b13_e) rounded to the weights'
/// dtype (through float, as the GPU stores it). `x` is [T, H] and `ids`,
/// `weights` are [T, topK]; `y` becomes [T, H]. Returns false (and sets
/// `error`) on weights or biases of inconsistent shapes. ClampedSwiglu's
/// clamps are added to `clamps` (nullable).
bool expertsReference(const ExpertFFN &ffn, const uint16_t *x, int64_t T,
                      const int32_t *ids, const float *weights, int topK,
                      std::vector<double> &y, std::string *error = nullptr,
                      ClampCounts *clamps = nullptr);

/// Router reference: logits = x · router^T (double), plus `bias[e]` for
/// expert e where `bias` ([E], the router's bias: gpt-oss) is given, softmax
/// over E, top-k (ties: lower expert id first), optional renormalisation to
/// sum 1, then multiplication by `scalingFactor`. `weights` and `ids` become
/// `[T, topK]`.
void routeReference(const float *x, const float *router, int64_t T, int64_t H,
                    int64_t E, int topK, bool renormalize, double scalingFactor,
                    std::vector<float> &weights, std::vector<int32_t> &ids,
                    const float *bias = nullptr);
/// Same as above with 16-bit inputs of type `dtype` (the bias, if any, as
/// the float values of its elements).
void routeReference(const uint16_t *x, const uint16_t *router, DType dtype,
                    int64_t T, int64_t H, int64_t E, int topK, bool renormalize,
                    double scalingFactor, std::vector<float> &weights,
                    std::vector<int32_t> &ids, const float *bias = nullptr);

/// Dispatch reference: sorts the `T * topK` slots of `ids` by expert, stable
/// in (t, j) order. `tokens[p] = t`, `offsets` has E + 1 entries and
/// `positions[t * topK + j] = p`. Ids outside [0, E) are clamped to the
/// nearest expert (-1 -> 0, E -> E - 1), as the dispatch kernel does.
void dispatchReference(const int32_t *ids, int64_t T, int topK, int64_t E,
                       std::vector<int32_t> &tokens,
                       std::vector<int32_t> &offsets,
                       std::vector<int32_t> &positions);

/// Combine reference: out[t] = sum_j weights[t][j] * y[positions[t][j]] in j
/// order; `y` is `[P, H]`, `out` becomes `[T, H]`.
void combineReference(const std::vector<double> &y, int64_t H,
                      const float *weights, const int32_t *positions, int64_t T,
                      int topK, std::vector<double> &out);

/// ||a - b|| / ||b|| (L2); +inf when any element is NaN or the sizes differ.
/// 0 when both are all zero.
double relativeError(const double *a, const double *b, size_t n);
double relativeError(const std::vector<double> &a,
                     const std::vector<double> &b);

/// Deterministic splitmix64 generator for tests.
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state(seed) {}
  /// Next 64 random bits.
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform double in [0, 1).
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  /// Uniform double in [-scale, scale).
  double symmetric(double scale) { return (2.0 * uniform() - 1.0) * scale; }
  /// Uniform integer in [0, n) (n > 0).
  uint64_t below(uint64_t n) { return next() % n; }
  /// Non-zero 16-bit element uniform in magnitude (0, scale].
  uint16_t nonZero(DType dtype, double scale);

private:
  uint64_t state;
};

/// A random bias of `n` elements of `dtype` for tests: on average one element
/// in `oneIn` (none when `oneIn` is 0) is +-limit + u, u uniform in
/// [-2 * scale, 2 * scale): about half of those still cross +-limit once
/// accumulators of about `scale` are added, so clamped SwiGLU clamps them.
/// The others are uniform in [-scale, scale).
std::vector<uint16_t> randomBias(SplitMix64 &rng, DType dtype, int64_t n,
                                 double scale, double limit, int oneIn);

} // namespace rt
} // namespace samoyeds

#endif // SAMOYEDS_RUNTIME_REFERENCE_H
