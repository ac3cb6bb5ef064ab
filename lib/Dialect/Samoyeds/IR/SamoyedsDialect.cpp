//===- SamoyedsDialect.cpp - Samoyeds dialect -----------------------------===//

#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringExtras.h"
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

namespace {
/// The `samoyeds.name` of argument or result `index` of `func`, or null.
StringAttr bufferName(FunctionOpInterface func, bool result, unsigned index) {
  return result ? func.getResultAttrOfType<StringAttr>(
                      index, SamoyedsDialect::kNameAttrName)
                : func.getArgAttrOfType<StringAttr>(
                      index, SamoyedsDialect::kNameAttrName);
}

/// Verifies a `samoyeds.*` attribute of argument or result `index` of `op`:
/// only `samoyeds.name` exists, and it is a non-empty string of printable
/// ASCII that no argument, nor an earlier result, of the function has too
/// (the runtime binds buffers by these names).
LogicalResult verifyBufferNameAttr(Operation *op, bool result, unsigned index,
                                   NamedAttribute attr) {
  auto emit = [&]() {
    return op->emitOpError()
           << (result ? "result " : "argument ") << index << ": ";
  };
  if (attr.getName() != SamoyedsDialect::kNameAttrName)
    return emit() << "unknown attribute '" << attr.getName().getValue()
                  << "' (expected " << SamoyedsDialect::kNameAttrName << ")";
  auto name = dyn_cast<StringAttr>(attr.getValue());
  if (!name)
    return emit() << SamoyedsDialect::kNameAttrName << " must be a string, got "
                  << attr.getValue();
  if (name.getValue().empty())
    return emit() << SamoyedsDialect::kNameAttrName << " is empty";
  for (char c : name.getValue())
    if (!llvm::isPrint(c))
      return emit() << SamoyedsDialect::kNameAttrName << " " << name
                    << " has a byte that is not printable ASCII (0x"
                    << llvm::utohexstr(static_cast<unsigned char>(c),
                                       /*LowerCase=*/true, /*Width=*/2)
                    << ")";
  auto func = dyn_cast<FunctionOpInterface>(op);
  if (!func)
    return success();
  // Arguments come first, then results: name the first holder.
  unsigned args = func.getNumArguments();
  unsigned self = result ? args + index : index;
  for (unsigned i = 0; i < self; ++i) {
    bool other = i >= args;
    unsigned j = other ? i - args : i;
    if (bufferName(func, other, j) == name)
      return emit() << SamoyedsDialect::kNameAttrName << " " << name
                    << " is also the name of "
                    << (other ? "result " : "argument ") << j;
  }
  return success();
}
} // namespace

LogicalResult SamoyedsDialect::verifyRegionArgAttribute(Operation *op,
                                                        unsigned regionIndex,
                                                        unsigned argIndex,
                                                        NamedAttribute attr) {
  return verifyBufferNameAttr(op, /*result=*/false, argIndex, attr);
}

LogicalResult SamoyedsDialect::verifyRegionResultAttribute(
    Operation *op, unsigned regionIndex, unsigned resultIndex,
    NamedAttribute attr) {
  return verifyBufferNameAttr(op, /*result=*/true, resultIndex, attr);
}
