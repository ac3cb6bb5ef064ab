//===- Activation.h - The activation of an expert FFN -----------*- C++ -*-===//
//
// What a gated expert FFN does between its two matmuls: the "activation" of
// a bundle's manifest (docs/Bundle.md), read by the manifest reader and used
// by the CPU references.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_RUNTIME_ACTIVATION_H
#define SAMOYEDS_RUNTIME_ACTIVATION_H

namespace samoyeds {
namespace rt {

/// The function of a gate/up pair (gate = gu[:I], up = gu[I:]).
enum class ActivationKind {
  /// h = silu(gate) * up (Mixtral, OLMoE, ...).
  Silu,
  /// gpt-oss: g = min(gate, limit), u = clamp(up, -limit, limit),
  /// h = g * sigmoid(alpha * g) * (u + 1).
  ClampedSwiglu
};

/// The manifest's name of `kind` ("silu", "clamped_swiglu").
inline const char *activationName(ActivationKind kind) {
  return kind == ActivationKind::ClampedSwiglu ? "clamped_swiglu" : "silu";
}

/// gpt-oss's constants (transformers hard-codes alpha; its config's
/// swiglu_limit is 7.0).
constexpr double kSwigluAlpha = 1.702, kSwigluLimit = 7.0;

/// An activation and its parameters (alpha and limit: ClampedSwiglu only).
struct Activation {
  ActivationKind kind = ActivationKind::Silu;
  double alpha = kSwigluAlpha;
  double limit = kSwigluLimit;
};

} // namespace rt
} // namespace samoyeds

#endif // SAMOYEDS_RUNTIME_ACTIVATION_H
