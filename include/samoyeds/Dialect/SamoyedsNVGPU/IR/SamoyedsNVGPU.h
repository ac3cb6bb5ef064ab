//===- SamoyedsNVGPU.h - NVIDIA instructions upstream lacks -----*- C++ -*-===//
//
// The samoyeds_nvgpu dialect: typed warp-level and warpgroup sparse MMA and
// the warpgroup MMA wait.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_DIALECT_SAMOYEDSNVGPU_IR_SAMOYEDSNVGPU_H
#define SAMOYEDS_DIALECT_SAMOYEDSNVGPU_IR_SAMOYEDSNVGPU_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPUDialect.h.inc"

#define GET_OP_CLASSES
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPUOps.h.inc"

#endif // SAMOYEDS_DIALECT_SAMOYEDSNVGPU_IR_SAMOYEDSNVGPU_H
