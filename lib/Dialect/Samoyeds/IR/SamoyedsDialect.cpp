//===- SamoyedsDialect.cpp - Samoyeds dialect -----------------------------===//

#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::samoyeds;

#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsOpsDialect.cpp.inc"

#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsAttrs.cpp.inc"

void SamoyedsDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsOps.cpp.inc"
      >();
}
