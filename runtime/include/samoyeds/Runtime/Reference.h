//===- Reference.h - CPU oracles of the Samoyeds ops ------------*- C++ -*-===//
//
// Double-accumulating CPU references of the sparse expert matmul (computed
// from the packed layout), routing, dispatch and combine, plus test helpers.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_RUNTIME_REFERENCE_H
#define SAMOYEDS_RUNTIME_REFERENCE_H

#include "samoyeds/Runtime/Format.h"

#include <cstdint>
#include <vector>

namespace samoyeds {
namespace rt {

/// What an expert matmul does with its accumulators.
enum class Epilogue {
  /// out[p][r] = acc[r] (R columns).
  None,
  /// R = 2I rows stacked [gate; up]: out[p][i] = silu(acc[i]) * acc[I + i].
  SiluMul
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

/// Router reference: logits = x · router^T (double), softmax over E, top-k
/// (ties: lower expert id first), optional renormalisation to sum 1, then
/// multiplication by `scalingFactor`. `weights` and `ids` become `[T, topK]`.
void routeReference(const float *x, const float *router, int64_t T, int64_t H,
                    int64_t E, int topK, bool renormalize, double scalingFactor,
                    std::vector<float> &weights, std::vector<int32_t> &ids);
/// Same as above with 16-bit inputs of type `dtype`.
void routeReference(const uint16_t *x, const uint16_t *router, DType dtype,
                    int64_t T, int64_t H, int64_t E, int topK, bool renormalize,
                    double scalingFactor, std::vector<float> &weights,
                    std::vector<int32_t> &ids);

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

} // namespace rt
} // namespace samoyeds

#endif // SAMOYEDS_RUNTIME_REFERENCE_H
