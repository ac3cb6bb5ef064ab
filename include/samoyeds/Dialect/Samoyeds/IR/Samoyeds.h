//===- Samoyeds.h - Samoyeds dialect ----------------------------*- C++ -*-===//
//
// The samoyeds dialect, its attributes and operations.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDS_H
#define SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsOpsDialect.h.inc"

#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsAttrs.h.inc"

#define GET_OP_CLASSES
#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsOps.h.inc"

namespace mlir::samoyeds {
/// The largest address alignment a kernel argument may ask of a buffer
/// (#samoyeds.arg's `align`; docs/Bundle.md: the manifest's "align").
constexpr int64_t kMaxBufferAlignment = 256;

/// The gated activation of an expert (moe_ffn, moe_experts, ssmm, launch):
/// its kind and, for `clamped_swiglu`, the gate's clamp and sigmoid scale.
struct GatedActivation {
  /// gpt-oss's constants, what `swiglu_alpha` / `swiglu_limit` default to.
  static constexpr double kDefaultAlpha = 1.702, kDefaultLimit = 7.0;
  ActivationKind kind = ActivationKind::Silu;
  double alpha = kDefaultAlpha, limit = kDefaultLimit;

  bool isSilu() const { return kind == ActivationKind::Silu; }
  bool operator==(const GatedActivation &o) const {
    return kind == o.kind &&
           (isSilu() || (alpha == o.alpha && limit == o.limit));
  }

  /// The activation of kind `kind` with the parameters `alpha` and `limit`
  /// give (null: the defaults).
  static GatedActivation get(ActivationKind kind, FloatAttr alpha,
                             FloatAttr limit) {
    GatedActivation act;
    act.kind = kind;
    if (alpha)
      act.alpha = alpha.getValueAsDouble();
    if (limit)
      act.limit = limit.getValueAsDouble();
    return act;
  }
  /// The activation an op's `activation`, `swiglu_alpha` and `swiglu_limit`
  /// attributes give (the op verified them: verifyGatedActivation).
  template <typename OpTy> static GatedActivation of(OpTy op) {
    return get(op.getActivation(), op.getSwigluAlphaAttr(),
               op.getSwigluLimitAttr());
  }
};

/// Verifies an op's activation attributes: `swiglu_alpha` and
/// `swiglu_limit` go only with `clamped_swiglu` and are finite and positive.
LogicalResult verifyGatedActivation(Operation *op, ActivationKind kind,
                                    FloatAttr alpha, FloatAttr limit);

/// Returns the SS format that encodes `type`, or null.
SparseFormatAttr getSparseFormat(Type type);

/// The name a bundle manifest gives element type `type` ("bf16", "f16",
/// "f32", "i32", "u32", "u8"), or "" when a bundle cannot hold it.
StringRef getBundleDTypeName(Type type);

/// The name of a `samoyeds.buffers` entry (#samoyeds.buffer or
/// #samoyeds.weight_part), or "" for another attribute.
StringRef getBufferEntryName(Attribute entry);

/// Parses a size symbol keyword (T or P); reports "expected EXPECTED, got
/// 'KEYWORD'" for another keyword.
ParseResult parseSizeSymbol(AsmParser &parser, SizeSymbol &symbol,
                            StringRef expected);

/// The custom<BufferShape> directive of #samoyeds.buffer: sizes and size
/// symbols, comma-separated.
ParseResult parseBufferShape(AsmParser &parser, SmallVector<int64_t> &shape);
void printBufferShape(AsmPrinter &printer, ArrayRef<int64_t> shape);
} // namespace mlir::samoyeds

#endif // SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDS_H
