//===- KernelUtils.h - Helpers for building kernels -------------*- C++ -*-===//
//
// Private to the SamoyedsToGPU conversion: short builders for the index
// arithmetic, loads and guards that kernel bodies are made of.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_KERNELUTILS_H
#define SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_KERNELUTILS_H

#include "samoyeds/Conversion/SamoyedsToGPU/SamoyedsToGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::samoyeds::detail {

/// A 1-D buffer in global memory: how every kernel argument is typed.
inline MemRefType globalBuffer(Type elt) {
  return MemRefType::get(
      {ShapedType::kDynamic}, elt, AffineMap(),
      gpu::AddressSpaceAttr::get(elt.getContext(), gpu::AddressSpace::Global));
}

/// Index arithmetic, constants, loads and guards on an implicit location.
class EmitterBase {
public:
  explicit EmitterBase(ImplicitLocOpBuilder &b) : b(b) {}

protected:
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value i32c(int64_t v) {
    return arith::ConstantIntOp::create(b, b.getI32Type(), v);
  }
  Value f32c(double v) {
    return arith::ConstantFloatOp::create(b, b.getF32Type(),
                                          APFloat(static_cast<float>(v)));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value div(Value x, Value y) { return arith::DivUIOp::create(b, x, y); }
  Value rem(Value x, Value y) { return arith::RemUIOp::create(b, x, y); }
  Value cmp(arith::CmpIPredicate pred, Value x, Value y) {
    return arith::CmpIOp::create(b, pred, x, y);
  }
  Value load(Value memref, Value i) {
    return memref::LoadOp::create(b, memref, ValueRange{i});
  }
  /// Loads an i32 and widens it to an index.
  Value loadIndex(Value memref, Value i) {
    return arith::IndexCastOp::create(b, b.getIndexType(), load(memref, i));
  }
  /// Emits `body` under `scf.if cond`.
  template <typename Fn> void ifThen(Value cond, Fn body) {
    auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    body();
  }
  /// SiLU(x) = x / (1 + 2^(-x log2 e)), with the PTX ex2 approximation (no
  /// libdevice needed).
  Value silu(Value x) {
    Value scaled = arith::MulFOp::create(b, x, f32c(-1.4426950408889634));
    auto ex2 = LLVM::InlineAsmOp::create(
        b, b.getF32Type(), ValueRange{scaled},
        b.getStringAttr("ex2.approx.ftz.f32 $0, $1;"), b.getStringAttr("=f,f"),
        /*has_side_effects=*/UnitAttr(),
        /*is_align_stack=*/UnitAttr(), LLVM::TailCallKindAttr(),
        /*asm_dialect=*/LLVM::AsmDialectAttr(), /*operand_attrs=*/ArrayAttr());
    Value denom = arith::AddFOp::create(b, f32c(1.0), ex2.getResult(0));
    return arith::DivFOp::create(b, x, denom);
  }

  ImplicitLocOpBuilder &b;
};

} // namespace mlir::samoyeds::detail

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_KERNELUTILS_H
