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

/// A 1-D buffer of `n` elements in shared memory (a workgroup attribution).
inline MemRefType workgroupBuffer(Type elt, int64_t n) {
  return MemRefType::get({n}, elt, AffineMap(),
                         gpu::AddressSpaceAttr::get(
                             elt.getContext(), gpu::AddressSpace::Workgroup));
}

/// A kernel of `threads` threads per block at the end of `module`, with
/// arguments `args` and shared-memory attributions `workgroup`.
inline gpu::GPUFuncOp createKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                                   Location loc, StringRef name, TypeRange args,
                                   int64_t threads, TypeRange workgroup = {}) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  auto func = gpu::GPUFuncOp::create(
      builder, loc, name, FunctionType::get(builder.getContext(), args, {}),
      workgroup, TypeRange{});
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(
      builder.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
  return func;
}

/// A launch argument passing the buffer of host value `v` (elements of
/// `elemBytes` bytes; `align` > 0: the kernel also accesses it in aligned
/// pieces of that many bytes).
inline KernelArg bufferArg(Value v, int64_t elemBytes, int64_t align = 0) {
  return {KernelArg::Buffer, v, "", "", "", elemBytes, align};
}

/// The address alignment of 16-byte copies (cp.async) and vector loads.
constexpr int64_t kVectorAlign = 16;

/// Routed slots from which the combine and dispatch kernels take their
/// streaming forms (16-byte rows a thread, longer chunks): H200, same
/// process, with the streaming forms at every size, 1.02-1.04x at T =
/// 1024-4096 on Mixtral, Qwen2-MoE, DeepSeek-V2-Lite and OLMoE, but
/// 0.97-1.01x at T = 16-256 and 0.92-0.98x at T = 1 (bench/RESULTS.md
/// S23); the combine's form alone at every size 0.96-1.01x at T = 1-256
/// (S35, run 5).
constexpr int64_t kStreamingSlots = 8192;

/// The most tokens of the calls whose decode and split-K kernels combine
/// their own slot rows with the pass's fuse-combine (decode calls: the last
/// block of a row block combines every token's columns of it alone).
constexpr int64_t kFusedCombineTokens = 4;

/// Routed slots a block of the chunked dispatch kernels takes
/// (RoutingChunked.cpp); they serve layers of at most this many experts.
constexpr int64_t kChunkSlots = 1024;

/// A launch argument passing the workspace or counters buffer `name` of
/// `elemBytes`-byte elements (f32 or i32 unless said).
inline KernelArg workspaceArg(StringRef name, int64_t elemBytes = 4) {
  return {KernelArg::Buffer, Value(), "", name.str(), "", elemBytes};
}

/// A launch argument passing the value of size symbol `symbol` as an i32.
inline KernelArg symbolArg(StringRef symbol) {
  return {KernelArg::Symbol, Value(), "", "", symbol.str(), 0};
}

/// Emits `asm` as an `llvm.inline_asm` of PTX with `constraints` ("=r" for
/// an i32 result, "f" for an f32 operand, ...) and returns its result. The
/// one way a kernel writes PTX by hand: every use says why no typed op
/// exists. `sideEffects` keeps LLVM from moving, merging or removing it.
inline Value inlinePtx(ImplicitLocOpBuilder &b, Type result,
                       ValueRange operands, StringRef asmString,
                       StringRef constraints, bool sideEffects) {
  auto op = LLVM::InlineAsmOp::create(
      b, result, operands, b.getStringAttr(asmString),
      b.getStringAttr(constraints), sideEffects ? b.getUnitAttr() : UnitAttr(),
      /*is_align_stack=*/UnitAttr(), LLVM::TailCallKindAttr(),
      /*asm_dialect=*/LLVM::AsmDialectAttr(), /*operand_attrs=*/ArrayAttr());
  return op.getResult(0);
}

/// Index arithmetic, constants, loads and guards on an implicit location.
/// Constants are made once per kernel, at the start of its entry block, and
/// arithmetic on constants folds as it is built (x + 0 is x, 2 * 3 is 6).
class EmitterBase {
public:
  explicit EmitterBase(ImplicitLocOpBuilder &b) : b(b) {}

protected:
  /// The constant `value` of the kernel being built.
  Value constant(TypedAttr value);
  Value idx(int64_t v) { return constant(b.getIndexAttr(v)); }
  Value i32c(int64_t v) { return constant(b.getI32IntegerAttr(v)); }
  Value i64c(int64_t v) { return constant(b.getI64IntegerAttr(v)); }
  Value i1c(bool v) { return constant(b.getIntegerAttr(b.getI1Type(), v)); }
  Value f32c(double v) {
    return constant(b.getF32FloatAttr(static_cast<float>(v)));
  }
  /// `value` in every element of a vector of `n` f32.
  Value f32Splat(int64_t n, double value) {
    auto type = VectorType::get({n}, b.getF32Type());
    return constant(DenseElementsAttr::get(
        type, b.getF32FloatAttr(static_cast<float>(value))));
  }
  Value add(Value x, Value y) { return fold<arith::AddIOp>(x, y); }
  Value sub(Value x, Value y) { return fold<arith::SubIOp>(x, y); }
  Value mul(Value x, Value y) { return fold<arith::MulIOp>(x, y); }
  Value div(Value x, Value y) { return fold<arith::DivUIOp>(x, y); }
  Value rem(Value x, Value y) { return fold<arith::RemUIOp>(x, y); }
  Value cmp(arith::CmpIPredicate pred, Value x, Value y) {
    return foldResult(b.createOrFold<arith::CmpIOp>(pred, x, y));
  }
  Value select(Value cond, Value x, Value y) {
    return foldResult(b.createOrFold<arith::SelectOp>(cond, x, y));
  }
  /// The rows of a token tile of `count` tokens (index) that its MMAs read:
  /// `count` rounded up to a multiple of `step`, at most `tokens`; `tokens`
  /// where `step` is 0 (SSMMPlan::tokenStep).
  Value stepRows(Value count, int64_t tokens, int64_t step) {
    if (step == 0)
      return idx(tokens);
    Value steps = div(add(count, idx(step - 1)), idx(step));
    return arith::MinSIOp::create(b, idx(tokens), mul(steps, idx(step)));
  }
  /// An integer (i32) as an index, and an index as an i32.
  Value toIndex(Value v) {
    return arith::IndexCastOp::create(b, b.getIndexType(), v);
  }
  Value toI32(Value v) {
    return arith::IndexCastOp::create(b, b.getI32Type(), v);
  }
  /// An i32 expert id clamped to [0, experts): expert ids are data, and an
  /// id outside the range goes to the nearest expert, so every routed slot
  /// lands in exactly one expert's range.
  Value clampExpert(Value id, int64_t experts) {
    Value low = arith::MaxSIOp::create(b, id, i32c(0));
    return arith::MinSIOp::create(b, low, i32c(experts - 1));
  }
  Value load(Value memref, Value i) {
    return memref::LoadOp::create(b, memref, ValueRange{i});
  }
  /// `v` (a float or a vector of floats) widened to f32.
  Value toF32(Value v) {
    Type f32 = b.getF32Type();
    if (auto vec = dyn_cast<VectorType>(v.getType()))
      f32 = VectorType::get(vec.getShape(), f32);
    return v.getType() == f32 ? v : arith::ExtFOp::create(b, f32, v);
  }
  /// Loads an i32 and widens it to an index.
  Value loadIndex(Value memref, Value i) { return toIndex(load(memref, i)); }
  /// griddepcontrol.wait, then griddepcontrol.launch_dependents, for a
  /// kernel that reads settled inputs first: the wait is inline PTX with a
  /// memory clobber, so no load moves across it (LLVM's
  /// llvm.nvvm.griddepcontrol.wait touches no memory, and LLVM sank the
  /// combine's routing loads below it).
  void waitForGridsAfterReads() {
    LLVM::InlineAsmOp::create(
        b, TypeRange{}, ValueRange{}, b.getStringAttr("griddepcontrol.wait;"),
        b.getStringAttr("~{memory}"), /*has_side_effects=*/b.getUnitAttr(),
        /*is_align_stack=*/UnitAttr(), LLVM::TailCallKindAttr(),
        LLVM::AsmDialectAttr(), ArrayAttr());
    NVVM::GriddepcontrolOp::create(b,
                                   NVVM::GridDepActionKind::launch_dependents);
  }
  /// Emits `body` under `scf.if cond`.
  template <typename Fn> void ifThen(Value cond, Fn body) {
    auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    body();
  }
  /// An scf.for over [lb, ub) with `step` and loop-carried `init`, whose
  /// body `body(iv, iterArgs)` builds on `b` and returns the values to yield.
  template <typename Fn>
  scf::ForOp forLoop(Value lb, Value ub, Value step, ValueRange init, Fn body) {
    return scf::ForOp::create(
        b, lb, ub, step, init,
        [&](OpBuilder &nested, Location, Value iv, ValueRange iter) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.getInsertionBlock(),
                              nested.getInsertionPoint());
          SmallVector<Value> next = body(iv, iter);
          scf::YieldOp::create(b, next);
        });
  }
  /// `v` (i32 or f32) reduced by `op` over the 32 lanes of the warp, in
  /// every lane; every lane must take part. samoyeds-lower-subgroup-reduce
  /// makes it a redux.sync where the chip has one for it, else a butterfly
  /// of xor shuffles.
  Value warpReduce(Value v, gpu::AllReduceOperation op) {
    return gpu::SubgroupReduceOp::create(b, v, op, /*uniform=*/true);
  }
  /// The inclusive prefix sum of the i32 `v` over the warp's lanes up to
  /// this one (`lane32`, its lane as an i32): shuffle-up steps of 1, 2, ...
  /// 16; every lane must take part.
  Value warpInclusiveScan(Value v, Value lane32) {
    for (int32_t d = 1; d < 32; d *= 2) {
      auto up = gpu::ShuffleOp::create(b, v, d, 32, gpu::ShuffleMode::UP);
      Value has = cmp(arith::CmpIPredicate::uge, lane32, i32c(d));
      v = add(v, select(has, up.getShuffleResult(), i32c(0)));
    }
    return v;
  }
  /// 2^x, the PTX approximation (ex2.approx.ftz.f32), through its NVVM
  /// intrinsic: no libdevice is needed and LLVM knows it has no side effect.
  /// `asPtx` writes the instruction as inline PTX instead, which LLVM
  /// schedules as it did before the intrinsic (see its one use).
  Value exp2(Value x, bool asPtx = false) {
    if (asPtx)
      return inlinePtx(b, b.getF32Type(), x, "ex2.approx.ftz.f32 $0, $1;",
                       "=f,f", /*sideEffects=*/false);
    return LLVM::CallIntrinsicOp::create(
               b, b.getF32Type(), b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"),
               ValueRange{x})
        .getResult(0);
  }
  /// SiLU(x) = x / (1 + 2^(-x log2 e)) of an f32 or of each element of a
  /// vector of f32 (`asPtx`: as for exp2).
  Value silu(Value x, bool asPtx = false);
  /// x / (1 + 2^(-alpha x log2 e)), x · sigmoid(alpha x), as silu.
  Value siluScaled(Value x, double alpha, bool asPtx = false);
  /// The gated activation `act` of `gate` and `up()` (f32 or vectors of
  /// f32; `up` is built after the gate's part): SiLU(gate) · up, or the
  /// clamped SwiGLU min(gate, limit) · sigmoid(alpha · min(gate, limit)) ·
  /// (clamp(up, ±limit) + 1); NaN propagates through the clamps
  /// (arith.minimumf / maximumf).
  Value gated(Value gate, function_ref<Value()> up, const GatedActivation &act,
              bool asPtx = false);

  ImplicitLocOpBuilder &b;

private:
  template <typename OpTy> Value fold(Value x, Value y) {
    return foldResult(b.createOrFold<OpTy>(x, y));
  }
  /// A constant that building an op folded to, made the kernel's constant.
  Value foldResult(Value v);

  /// The gpu.func being built.
  Operation *kernel = nullptr;
};

inline Value EmitterBase::constant(TypedAttr value) {
  // The kernel being built: the insertion block's gpu.func, or the last one
  // seen while a region is built detached (an scf.for body builder).
  Operation *parent = b.getInsertionBlock()->getParentOp();
  auto func = dyn_cast_or_null<gpu::GPUFuncOp>(parent);
  if (!func && parent)
    func = parent->getParentOfType<gpu::GPUFuncOp>();
  if (func)
    kernel = func;
  if (!kernel)
    return arith::ConstantOp::create(b, value);
  // The kernel's constants open its entry block (every emitter of the
  // kernel shares them).
  Block &entry = cast<gpu::GPUFuncOp>(kernel).getBody().front();
  Block::iterator it = entry.begin();
  for (; it != entry.end(); ++it) {
    auto c = dyn_cast<arith::ConstantOp>(*it);
    if (!c)
      break;
    if (c.getValue() == value)
      return c;
  }
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(&entry, it);
  return arith::ConstantOp::create(b, value);
}

inline Value EmitterBase::foldResult(Value v) {
  auto c = v.getDefiningOp<arith::ConstantOp>();
  // Only a constant that folding has just made, right before the insertion
  // point, is replaced.
  if (!c || !v.use_empty() || c->getBlock() != b.getInsertionBlock() ||
      c->getNextNode() != (b.getInsertionPoint() == b.getInsertionBlock()->end()
                               ? nullptr
                               : &*b.getInsertionPoint()))
    return v;
  // The kernel's own constants (x + 0 may fold to one) stay.
  if (kernel)
    for (Operation &op : cast<gpu::GPUFuncOp>(kernel).getBody().front()) {
      if (!isa<arith::ConstantOp>(op))
        break;
      if (&op == c.getOperation())
        return v;
    }
  TypedAttr value = c.getValue();
  c.erase();
  return constant(value);
}

inline Value EmitterBase::silu(Value x, bool asPtx) {
  return siluScaled(x, 1.0, asPtx);
}

inline Value EmitterBase::gated(Value gate, function_ref<Value()> up,
                                const GatedActivation &act, bool asPtx) {
  if (act.isSilu()) {
    Value s = silu(gate, asPtx);
    return arith::MulFOp::create(b, s, up());
  }
  auto vec = dyn_cast<VectorType>(gate.getType());
  auto splat = [&](double v) {
    return vec ? f32Splat(vec.getNumElements(), v) : f32c(v);
  };
  Value g = siluScaled(arith::MinimumFOp::create(b, gate, splat(act.limit)),
                       act.alpha, asPtx);
  Value u = arith::MaximumFOp::create(
      b, arith::MinimumFOp::create(b, up(), splat(act.limit)),
      splat(-act.limit));
  return arith::MulFOp::create(b, g, arith::AddFOp::create(b, u, splat(1.0)));
}

inline Value EmitterBase::siluScaled(Value x, double alpha, bool asPtx) {
  auto vec = dyn_cast<VectorType>(x.getType());
  auto splat = [&](double v) {
    return vec ? f32Splat(vec.getNumElements(), v) : f32c(v);
  };
  Value scaled =
      arith::MulFOp::create(b, x, splat(-1.4426950408889634 * alpha));
  Value ex2;
  if (!vec) {
    ex2 = exp2(scaled, asPtx);
  } else {
    SmallVector<Value> parts;
    for (int64_t i = 0; i < vec.getNumElements(); ++i)
      parts.push_back(exp2(vector::ExtractOp::create(b, scaled, i), asPtx));
    ex2 = vector::FromElementsOp::create(b, vec, parts);
  }
  Value denom = arith::AddFOp::create(b, splat(1.0), ex2);
  return arith::DivFOp::create(b, x, denom);
}

/// Reads workspace rows that split-K may have written as `splits` partial
/// rows, `slotsPerSplit` rows apart, of `rowElems` elements each; `width`
/// columns at a time (a vector load of `width` elements, aligned to its
/// bytes, where `width` > 1).
class SliceSumEmitter : public EmitterBase {
public:
  SliceSumEmitter(ImplicitLocOpBuilder &b, int64_t rowElems, int64_t splits,
                  int64_t slotsPerSplit, int64_t width = 1)
      : EmitterBase(b), rowElems(rowElems), splits(splits),
        slotsPerSplit(slotsPerSplit), width(width) {}

protected:
  /// Columns [`col`, `col` + width) of workspace row `row`, widened to f32
  /// (a vector where width > 1).
  Value loadRow(Value ws, Value row, Value col) {
    Value at = add(mul(row, idx(rowElems)), col);
    if (width == 1)
      return toF32(load(ws, at));
    Type elt = cast<MemRefType>(ws.getType()).getElementType();
    int64_t bytes = width * elt.getIntOrFloatBitWidth() / 8;
    return toF32(vector::LoadOp::create(b, VectorType::get({width}, elt), ws,
                                        ValueRange{at}, /*nontemporal=*/false,
                                        llvm::MaybeAlign(bytes)));
  }

  /// `width` values from column `col` of row `slot` of the workspace: the
  /// sums of the slices' partial rows in slice order. The rows are f32, or
  /// 16-bit for the combine after an unsplit matmul.
  Value sumSlices(Value ws, Value slot, Value col) {
    Value y = loadRow(ws, slot, col);
    for (int64_t z = 1; z < splits; ++z)
      y = arith::AddFOp::create(
          b, y, loadRow(ws, add(idx(z * slotsPerSplit), slot), col));
    return y;
  }

  /// Stores `value` (f32, `width` of them) as `out`'s element type at
  /// element `at`.
  void storeOut(Value value, Value out, Value at) {
    Type elt = cast<MemRefType>(out.getType()).getElementType();
    if (width == 1) {
      memref::StoreOp::create(b, arith::TruncFOp::create(b, elt, value), out,
                              ValueRange{at});
      return;
    }
    auto type = VectorType::get({width}, elt);
    int64_t bytes = width * elt.getIntOrFloatBitWidth() / 8;
    vector::StoreOp::create(b, arith::TruncFOp::create(b, type, value), out,
                            ValueRange{at}, /*nontemporal=*/false,
                            llvm::MaybeAlign(bytes));
  }

  /// The routing-weighted sum over a token's `topK` slots, in slot order,
  /// of their rows' values from column `col` (sumSlices; f32, a vector
  /// where width > 1): slot j's row and weight are `slot(j)` and
  /// `weight(j)`, called in this order.
  Value weightedSlotSum(Value ws, Value col, int64_t topK,
                        function_ref<Value(int64_t)> slot,
                        function_ref<Value(int64_t)> weight) {
    Value sum = width > 1 ? f32Splat(width, 0.0) : f32c(0.0);
    for (int64_t j = 0; j < topK; ++j) {
      Value y = sumSlices(ws, slot(j), col);
      Value w = weight(j);
      if (width > 1)
        w = vector::BroadcastOp::create(b, y.getType(), w);
      sum = arith::AddFOp::create(b, sum, arith::MulFOp::create(b, w, y));
    }
    return sum;
  }

  /// The split reduction's value at (`slot`, `col`): sumSlices, or with
  /// silu_mul's activation `act` that of the gate sum and the up sum
  /// `outCols` columns on.
  Value reduceSlices(Value ws, Value slot, Value col, int64_t outCols,
                     const std::optional<GatedActivation> &act) {
    Value y = sumSlices(ws, slot, col);
    if (!act)
      return y;
    return gated(
        y, [&] { return sumSlices(ws, slot, add(col, idx(outCols))); }, *act);
  }

  int64_t rowElems, splits, slotsPerSplit, width;
};

} // namespace mlir::samoyeds::detail

#endif // SAMOYEDS_LIB_CONVERSION_SAMOYEDSTOGPU_KERNELUTILS_H
