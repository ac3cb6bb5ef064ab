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
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsOpsDialect.h.inc"

#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsAttrs.h.inc"

#define GET_OP_CLASSES
#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsOps.h.inc"

namespace mlir::samoyeds {
/// Returns the SS format that encodes `type`, or null.
SparseFormatAttr getSparseFormat(Type type);
} // namespace mlir::samoyeds

#endif // SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDS_H
