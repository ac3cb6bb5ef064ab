//===- SamoyedsNVGPU.cpp - NVIDIA instructions upstream lacks -------------===//

#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace mlir::samoyeds_nvgpu;

#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPUDialect.cpp.inc"

void SamoyedsNVGPUDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPUOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPUOps.cpp.inc"

/// PTX: the sparsity selector of 16-bit types is an immediate 0 or 1.
static LogicalResult verifySelector(Operation *op, int64_t selector) {
  if (selector != 0 && selector != 1)
    return op->emitOpError()
           << "selector = " << selector << " must be 0 or 1 for 16-bit types";
  return success();
}

LogicalResult MmaOp::verify() {
  Type aElt = cast<VectorType>(getA().getType()).getElementType();
  Type bElt = cast<VectorType>(getB().getType()).getElementType();
  if (aElt != bElt)
    return emitOpError() << "a and b must have one element type, got " << aElt
                         << " and " << bElt;
  return success();
}

LogicalResult MmaSpOp::verify() {
  auto bType = cast<VectorType>(getB().getType());
  if (bType.getShape() != ArrayRef<int64_t>{4, 2})
    return emitOpError() << "b must hold 4 registers of 2 values, got "
                         << bType;
  return verifySelector(*this, getSelector());
}

/// The rules both forms of the sparse warpgroup MMA share: N, the
/// accumulators it implies, the element type and the selector.
template <typename OpTy> static LogicalResult verifyWgmmaSp(OpTy op) {
  int64_t n = op.getN();
  if (n < 8 || n > 256 || n % 8 != 0)
    return op.emitOpError() << "n = " << n << " must be a multiple of 8 in "
                            << "[8, 256]";
  int64_t regs = cast<VectorType>(op.getAcc().getType()).getNumElements();
  if (regs != n / 2)
    return op.emitOpError() << "needs n / 2 = " << n / 2
                            << " accumulators per thread, got " << regs;
  Type elt = op.getElement();
  if (!elt.isBF16() && !elt.isF16())
    return op.emitOpError() << "element type must be bf16 or f16, got " << elt;
  return verifySelector(op, op.getSelector());
}

LogicalResult WgmmaSpOp::verify() { return verifyWgmmaSp(*this); }

LogicalResult WgmmaSpRsOp::verify() { return verifyWgmmaSp(*this); }

LogicalResult WgmmaWaitOp::verify() {
  if (getPending() < 0 || getPending() > 7)
    return emitOpError() << "pending = " << getPending()
                         << " must be in [0, 7]";
  return success();
}
