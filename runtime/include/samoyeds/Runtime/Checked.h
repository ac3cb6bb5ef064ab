//===- Checked.h - Overflow-checked sizes -----------------------*- C++ -*-===//
//
// The one place where the runtime multiplies sizes that come from files
// (weight shapes, manifest buffer shapes, symbol values): every product is
// checked, so a hostile shape is an error instead of a wrapped byte count.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_RUNTIME_CHECKED_H
#define SAMOYEDS_RUNTIME_CHECKED_H

#include <cstdint>
#include <initializer_list>

namespace samoyeds {
namespace rt {

/// Sets `out` to `a * b`; false when the product overflows int64 (then `out`
/// is unspecified).
inline bool checkedMul(int64_t a, int64_t b, int64_t &out) {
  return !__builtin_mul_overflow(a, b, &out);
}

/// Sets `out` to `a + b`; false when the sum overflows int64.
inline bool checkedAdd(int64_t a, int64_t b, int64_t &out) {
  return !__builtin_add_overflow(a, b, &out);
}

/// Sets `out` to the product of `factors` (1 when empty); false when any
/// partial product overflows int64.
inline bool checkedProduct(std::initializer_list<int64_t> factors,
                           int64_t &out) {
  out = 1;
  for (int64_t f : factors)
    if (!checkedMul(out, f, out))
      return false;
  return true;
}

} // namespace rt
} // namespace samoyeds

#endif // SAMOYEDS_RUNTIME_CHECKED_H
