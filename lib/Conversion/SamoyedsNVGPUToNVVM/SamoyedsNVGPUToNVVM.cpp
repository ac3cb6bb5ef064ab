//===- SamoyedsNVGPUToNVVM.cpp - samoyeds_nvgpu to NVVM and inline PTX ----===//
//
// samoyeds_nvgpu.mma_sp becomes one nvvm.mma.sp.sync with ordered metadata,
// its vector operands taken apart into the registers NVVM wants.
//
// MLIR 22 has no NVVM op for sparse wgmma; each warpgroup op becomes one
// llvm.inline_asm whose accumulator operands are tied to its results, so the
// accumulators stay SSA values and ptxas sees back-to-back wgmma with no moves
// between them. (nvvm.inline_ptx is avoided: with both read-only and
// read-write operands MLIR 22 binds them to the wrong constraints.)
//
//===----------------------------------------------------------------------===//

#include "samoyeds/Conversion/SamoyedsNVGPUToNVVM/SamoyedsNVGPUToNVVM.h"
#include "samoyeds/Conversion/SamoyedsToGPU/SamoyedsToGPU.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::samoyeds {
#define GEN_PASS_DEF_CONVERTSAMOYEDSNVGPUTONVVM
#include "samoyeds/Conversion/Passes.h.inc"
} // namespace mlir::samoyeds

using namespace mlir;
using namespace mlir::samoyeds;

namespace {
/// Emits `asm` with the f32 values of `accs` as tied read-write operands
/// (`$0`.. in order) followed by the read-only `inputs` with `constraints`;
/// returns the accumulators as vectors of the same types.
SmallVector<Value> tiedInlinePtx(ConversionPatternRewriter &rewriter,
                                 Location loc, ValueRange accs,
                                 ValueRange inputs, StringRef constraints,
                                 StringRef asmString) {
  Type f32 = rewriter.getF32Type();
  SmallVector<Value> scalars;
  for (Value acc : accs) {
    int64_t n = cast<VectorType>(acc.getType()).getNumElements();
    for (int64_t i = 0; i < n; ++i)
      scalars.push_back(LLVM::ExtractElementOp::create(
          rewriter, loc, acc,
          LLVM::ConstantOp::create(rewriter, loc, rewriter.getI32Type(), i)));
  }
  int64_t total = scalars.size();
  SmallVector<std::string> parts(total, "=f");
  if (!constraints.empty())
    parts.push_back(constraints.str());
  for (int64_t i = 0; i < total; ++i)
    parts.push_back(std::to_string(i));
  std::string cons = llvm::join(parts, ",");
  SmallVector<Value> operands(inputs.begin(), inputs.end());
  operands.append(scalars);
  SmallVector<Type, 1> resultTypes;
  if (total > 0)
    resultTypes.push_back(LLVM::LLVMStructType::getLiteral(
        rewriter.getContext(), SmallVector<Type>(total, f32)));
  auto asmOp = LLVM::InlineAsmOp::create(
      rewriter, loc, resultTypes, operands, asmString, cons,
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::TailCallKind::None,
      LLVM::AsmDialectAttr::get(rewriter.getContext(),
                                LLVM::AsmDialect::AD_ATT),
      /*operand_attrs=*/ArrayAttr());
  if (total == 0)
    return {};
  SmallVector<Value> results;
  int64_t next = 0;
  for (Value acc : accs) {
    auto type = cast<VectorType>(acc.getType());
    Value vec = LLVM::PoisonOp::create(rewriter, loc, type);
    for (int64_t i = 0; i < type.getNumElements(); ++i, ++next) {
      Value v =
          LLVM::ExtractValueOp::create(rewriter, loc, asmOp.getResult(0), next);
      vec = LLVM::InsertElementOp::create(
          rewriter, loc, vec, v,
          LLVM::ConstantOp::create(rewriter, loc, rewriter.getI32Type(), i));
    }
    results.push_back(vec);
  }
  return results;
}

/// The registers of an MMA operand of element type `elt` as NVVM takes
/// them (a bf16 pair as an i32, an f16 pair as vector<2xf16>), from
/// vector<Nx2xelt>, its pairs flattened (vector<2Nxelt>) or vector<Nxi32>.
SmallVector<Value, 4> mmaRegisters(OpBuilder &b, Location loc, Value vec,
                                   Type elt) {
  auto type = cast<VectorType>(vec.getType());
  Type reg =
      elt.isBF16() ? Type(b.getI32Type()) : Type(VectorType::get({2}, elt));
  bool flat = type.getRank() == 1 && type.getElementType() == elt;
  int64_t count = flat ? type.getDimSize(0) / 2 : type.getDimSize(0);
  SmallVector<Value, 4> regs;
  for (int64_t i = 0; i < count; ++i) {
    Value r = flat ? vector::ShuffleOp::create(
                         b, loc, vec, vec, ArrayRef<int64_t>{2 * i, 2 * i + 1})
                         .getResult()
                   : vector::ExtractOp::create(b, loc, vec, i).getResult();
    if (r.getType() != reg)
      r = LLVM::BitcastOp::create(b, loc, reg, r);
    regs.push_back(r);
  }
  return regs;
}

/// NVVM's name of a 16-bit MMA element type.
NVVM::MMATypes ptxTypeOf(Type elt) {
  return elt.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
}

/// The four f32 accumulators of `acc`, and the vector of an MMA's result
/// struct.
SmallVector<Value, 4> accumulators(OpBuilder &b, Location loc, Value acc) {
  SmallVector<Value, 4> c;
  for (int64_t i = 0; i < 4; ++i)
    c.push_back(vector::ExtractOp::create(b, loc, acc, i));
  return c;
}
Value fromStruct(OpBuilder &b, Location loc, Type type, Value res) {
  SmallVector<Value, 4> d;
  for (int64_t i = 0; i < 4; ++i)
    d.push_back(LLVM::ExtractValueOp::create(b, loc, res, i));
  return vector::FromElementsOp::create(b, loc, type, d);
}
Type mmaResultType(MLIRContext *ctx) {
  return LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(4, Float32Type::get(ctx)));
}

/// samoyeds_nvgpu.mma -> nvvm.mma.sync m16n8k16, A row-major, B col-major.
struct MmaLowering : OpConversionPattern<samoyeds_nvgpu::MmaOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(samoyeds_nvgpu::MmaOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elt = cast<VectorType>(op.getA().getType()).getElementType();
    // One statement each: the ops are built in operand order.
    SmallVector<Value, 4> a = mmaRegisters(rewriter, loc, adaptor.getA(), elt);
    SmallVector<Value, 4> b = mmaRegisters(rewriter, loc, adaptor.getB(), elt);
    SmallVector<Value, 4> c = accumulators(rewriter, loc, adaptor.getAcc());
    NVVM::MMATypes ptxType = ptxTypeOf(elt);
    auto mma =
        NVVM::MmaOp::create(rewriter, loc, mmaResultType(rewriter.getContext()),
                            a, b, c, {16, 8, 16}, std::nullopt, std::nullopt,
                            std::array<NVVM::MMATypes, 2>{ptxType, ptxType},
                            std::array<NVVM::MMALayout, 2>{
                                NVVM::MMALayout::row, NVVM::MMALayout::col});
    rewriter.replaceOp(op,
                       fromStruct(rewriter, loc, op.getType(), mma.getRes()));
    return success();
  }
};

/// samoyeds_nvgpu.mma_sp -> nvvm.mma.sp.sync m16n8k32 with ordered metadata.
/// NVVM takes each register of A and B as a bf16 pair in an i32 or an f16
/// pair as vector<2xf16>, and returns the accumulators as a struct.
struct MmaSpLowering : OpConversionPattern<samoyeds_nvgpu::MmaSpOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(samoyeds_nvgpu::MmaSpOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elt = cast<VectorType>(op.getB().getType()).getElementType();
    // A arrives as i32 registers.
    SmallVector<Value, 4> a = mmaRegisters(rewriter, loc, adaptor.getA(), elt);
    SmallVector<Value, 4> b = mmaRegisters(rewriter, loc, adaptor.getB(), elt);
    SmallVector<Value, 4> c = accumulators(rewriter, loc, adaptor.getAcc());
    Value selector = LLVM::ConstantOp::create(
        rewriter, loc, rewriter.getI32Type(), op.getSelector());
    NVVM::MMATypes ptxType = ptxTypeOf(elt);
    auto mma = NVVM::MmaSpOp::create(
        rewriter, loc, mmaResultType(rewriter.getContext()), a, b, c,
        adaptor.getMeta(), selector, {16, 8, 32}, std::nullopt,
        std::array<NVVM::MMATypes, 2>{ptxType, ptxType});
    mma.setOrderedMetadata(true);
    rewriter.replaceOp(op,
                       fromStruct(rewriter, loc, op.getType(), mma.getRes()));
    return success();
  }
};

/// The inline PTX of a sparse warpgroup MMA of `op`'s shape whose inputs
/// follow its n / 2 accumulators: `a` is the A operand's text (a descriptor
/// or a register list), `b` the index of B's descriptor (metadata and scale
/// follow it), `transA` the A transpose immediate where the form has one.
template <typename OpTy>
static std::string wgmmaSpText(OpTy op, StringRef a, int64_t b,
                               StringRef transA) {
  int64_t regs = op.getN() / 2;
  std::string list;
  for (int64_t i = 0; i < regs; ++i)
    list += (i ? ", $" : "$") + std::to_string(i);
  StringRef elt = op.getElement().isBF16() ? "bf16" : "f16";
  return llvm::formatv("{{\n.reg .pred p;\nsetp.ne.b32 p, ${0}, 0;\n"
                       "wgmma.mma_async.sp.sync.aligned.m64n{1}k32.f32.{2}.{2} "
                       "{{{3}}, {4}, ${5}, ${6}, {7}, p, 1, 1, {8}0;\n}",
                       b + 2, op.getN(), elt, list, a, b, b + 1,
                       op.getSelector(), transA);
}

/// Replaces a sparse warpgroup MMA with the inline PTX `text` whose inputs
/// are `inputs` (of `constraints`) and its scale-d as a 32-bit register,
/// followed by its accumulators `acc`, tied from input to output.
static void replaceWithWgmmaSp(ConversionPatternRewriter &rewriter,
                               Operation *op, Value acc, Value scaleD,
                               SmallVector<Value> inputs, StringRef constraints,
                               StringRef text) {
  Location loc = op->getLoc();
  inputs.push_back(
      LLVM::ZExtOp::create(rewriter, loc, rewriter.getI32Type(), scaleD));
  rewriter.replaceOp(op, tiedInlinePtx(rewriter, loc, acc, inputs,
                                       (constraints + ",r").str(), text));
}

/// samoyeds_nvgpu.wgmma_sp -> wgmma.mma_async.sp (scale-d from a predicate).
struct WgmmaSpLowering : OpConversionPattern<samoyeds_nvgpu::WgmmaSpOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(samoyeds_nvgpu::WgmmaSpOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    int64_t regs = op.getN() / 2;
    replaceWithWgmmaSp(
        rewriter, op, adaptor.getAcc(), adaptor.getScaleD(),
        {adaptor.getADesc(), adaptor.getBDesc(), adaptor.getMeta()}, "l,l,r",
        wgmmaSpText(op, "$" + std::to_string(regs), regs + 1, "0, "));
    return success();
  }
};

/// samoyeds_nvgpu.wgmma_sp_rs -> the register-A form of wgmma.mma_async.sp
/// (no A transpose immediate).
struct WgmmaSpRsLowering : OpConversionPattern<samoyeds_nvgpu::WgmmaSpRsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(samoyeds_nvgpu::WgmmaSpRsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    int64_t regs = op.getN() / 2;
    std::string a = llvm::formatv("{{${0}, ${1}, ${2}, ${3}}", regs, regs + 1,
                                  regs + 2, regs + 3);
    Location loc = op.getLoc();
    SmallVector<Value> inputs;
    for (int64_t i = 0; i < 4; ++i)
      inputs.push_back(LLVM::ExtractElementOp::create(
          rewriter, loc, adaptor.getA(),
          LLVM::ConstantOp::create(rewriter, loc, rewriter.getI32Type(), i)));
    inputs.push_back(adaptor.getBDesc());
    inputs.push_back(adaptor.getMeta());
    replaceWithWgmmaSp(rewriter, op, adaptor.getAcc(), adaptor.getScaleD(),
                       inputs, "r,r,r,r,l,r", wgmmaSpText(op, a, regs + 4, ""));
    return success();
  }
};

/// samoyeds_nvgpu.wgmma_wait -> wgmma.wait_group, accumulators tied through.
struct WgmmaWaitLowering : OpConversionPattern<samoyeds_nvgpu::WgmmaWaitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(samoyeds_nvgpu::WgmmaWaitOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    std::string text =
        llvm::formatv("wgmma.wait_group.sync.aligned {0};", op.getPending());
    SmallVector<Value> results =
        tiedInlinePtx(rewriter, op.getLoc(), adaptor.getAccs(), {}, "", text);
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct ConvertSamoyedsNVGPUToNVVM
    : samoyeds::impl::ConvertSamoyedsNVGPUToNVVMBase<
          ConvertSamoyedsNVGPUToNVVM> {
  /// The ops the lowering of mma_sp creates (the declaration names LLVM).
  void getDependentDialects(DialectRegistry &registry) const override {
    ConvertSamoyedsNVGPUToNVVMBase::getDependentDialects(registry);
    registry.insert<NVVM::NVVMDialect, vector::VectorDialect>();
  }

  void runOnOperation() override {
    ConversionTarget target(getContext());
    target.addLegalDialect<LLVM::LLVMDialect>();
    target.addIllegalDialect<samoyeds_nvgpu::SamoyedsNVGPUDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateSamoyedsNVGPUToNVVMPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::samoyeds::populateSamoyedsNVGPUToNVVMPatterns(
    RewritePatternSet &patterns) {
  patterns.add<MmaLowering, MmaSpLowering, WgmmaSpLowering, WgmmaSpRsLowering,
               WgmmaWaitLowering>(patterns.getContext());
}
