//===- SamoyedsOps.cpp - Samoyeds operation verifiers ---------------------===//

#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::samoyeds;

#define GET_OP_CLASSES
#include "samoyeds/Dialect/Samoyeds/IR/SamoyedsOps.cpp.inc"

namespace {
/// Two sizes agree when either is dynamic or they are equal.
bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

int64_t dim(Value v, unsigned i) {
  return cast<ShapedType>(v.getType()).getDimSize(i);
}

Type elementType(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// Verifies that `weight` carries an SS encoding and a shape the format
/// accepts; returns the format.
FailureOr<SparseFormatAttr> verifyWeight(Operation *op, Value weight,
                                         StringRef name) {
  SparseFormatAttr format = getSparseFormat(weight.getType());
  if (!format)
    return op->emitOpError()
           << "expects " << name << " to carry a #samoyeds.ss encoding, got "
           << weight.getType();
  auto emit = [&]() { return op->emitOpError() << name << ": "; };
  if (dim(weight, 0) == 0)
    return emit() << "weight has no experts";
  if (failed(format.verifyWeightShape(emit, dim(weight, 1), dim(weight, 2))))
    return failure();
  return format;
}

/// Verifies the routing attributes shared by moe_ffn and route.
LogicalResult verifyRouting(Operation *op, int64_t topK, int64_t experts,
                            double scale) {
  if (topK < 1)
    return op->emitOpError() << "top_k = " << topK << " must be at least 1";
  if (!ShapedType::isDynamic(experts) && topK > experts)
    return op->emitOpError()
           << "top_k = " << topK << " exceeds the " << experts << " experts";
  if (!(scale > 0.0))
    return op->emitOpError()
           << "routed_scaling_factor = " << scale << " must be positive";
  return success();
}

/// Verifies hidden [T, H] against router [E, H].
LogicalResult verifyRouter(Operation *op, Value hidden, Value router) {
  if (!compatible(dim(hidden, 1), dim(router, 1)))
    return op->emitOpError()
           << "router has hidden size " << dimStr(dim(router, 1))
           << " but the hidden states have " << dimStr(dim(hidden, 1));
  return success();
}

/// Verifies the router's bias `bias` (when given; its rank and element type
/// are ODS's) against the router's `experts`.
LogicalResult verifyRouterBias(Operation *op, Value bias, int64_t experts) {
  if (bias && !compatible(dim(bias, 0), experts))
    return op->emitOpError() << "router bias must be [" << dimStr(experts)
                             << "], got " << bias.getType();
  return success();
}

/// Verifies a bias operand against the `[experts, rows]` it must have and
/// the element type `elt`.
LogicalResult verifyBias(Operation *op, Value bias, StringRef name,
                         int64_t experts, int64_t rows, Type elt) {
  if (elementType(bias) != elt)
    return op->emitOpError() << name << " must have element type " << elt
                             << ", got " << bias.getType();
  if (!compatible(dim(bias, 0), experts) || !compatible(dim(bias, 1), rows))
    return op->emitOpError() << name << " must be [" << dimStr(experts) << ", "
                             << dimStr(rows) << "], got " << bias.getType();
  return success();
}

/// Verifies a layer's biases: both or neither, `b13 : [E, 2I]` and
/// `b2 : [E, H]` in the hidden states' element type.
LogicalResult verifyExpertBiases(Operation *op, Value x, Value w13, Value w2,
                                 Value b13, Value b2) {
  if (!b13 && !b2)
    return success();
  if (!b13 || !b2)
    return op->emitOpError() << "takes both expert biases or neither, got "
                             << "only the " << (b13 ? "w13" : "w2") << " bias";
  Type elt = elementType(x);
  if (failed(verifyBias(op, b13, "w13 bias", dim(w13, 0), dim(w13, 1), elt)))
    return failure();
  return verifyBias(op, b2, "w2 bias", dim(w2, 0), dim(w2, 1), elt);
}

/// Verifies the expert weights of a layer (moe_ffn, moe_experts) against its
/// hidden states and result: element types, hidden and intermediate sizes,
/// stacked gate/up rows. The formats were verified by verifyWeight.
LogicalResult verifyExpertWeights(Operation *op, Value x, Value w13, Value w2,
                                  Value result, SparseFormatAttr w13Format) {
  Type elt = elementType(x);
  if (elementType(w13) != elt || elementType(w2) != elt)
    return op->emitOpError()
           << "weights must have the hidden states' element type " << elt
           << ", got " << elementType(w13) << " and " << elementType(w2);
  if (result.getType() != x.getType())
    return op->emitOpError()
           << "result type " << result.getType()
           << " must equal the hidden states' type " << x.getType();
  int64_t hiddenSize = dim(x, 1);
  if (!compatible(dim(w13, 2), hiddenSize) ||
      !compatible(dim(w2, 1), hiddenSize))
    return op->emitOpError()
           << "hidden size " << dimStr(hiddenSize)
           << " must match w13 columns (" << dimStr(dim(w13, 2))
           << ") and w2 rows (" << dimStr(dim(w2, 1)) << ")";
  int64_t gateUp = dim(w13, 1);
  if (ShapedType::isDynamic(gateUp))
    return success();
  // verifyWeight's rule (the kept rows fill 16-row tiles, m <= 16) makes
  // every static row count even, so gate and up stack.
  assert(gateUp % 2 == 0 && "verifyWeight admits only even row counts");
  // The gate and up halves are separate matmuls of the decomposed layer
  // (ssmm with the silu_mul epilogue); each must be a valid weight itself.
  auto emit = [&]() { return op->emitOpError() << "w13 gate half: "; };
  if (failed(w13Format.verifyWeightShape(emit, gateUp / 2, dim(w13, 2))))
    return failure();
  if (!compatible(gateUp / 2, dim(w2, 2)))
    return op->emitOpError() << "intermediate size " << gateUp / 2
                             << " (w13 rows / 2) must match w2 columns ("
                             << dimStr(dim(w2, 2)) << ")";
  return success();
}
} // namespace

LogicalResult mlir::samoyeds::verifyGatedActivation(Operation *op,
                                                    ActivationKind kind,
                                                    FloatAttr alpha,
                                                    FloatAttr limit) {
  for (auto [attr, name] : {std::make_pair(alpha, "swiglu_alpha"),
                            std::make_pair(limit, "swiglu_limit")}) {
    if (!attr)
      continue;
    if (kind != ActivationKind::ClampedSwiglu)
      return op->emitOpError() << name << " goes only with the "
                               << "clamped_swiglu activation";
    double value = attr.getValueAsDouble();
    if (!std::isfinite(value) || !(value > 0.0))
      return op->emitOpError()
             << name << " = " << value << " must be finite and positive";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// MoEFFNOp
//===----------------------------------------------------------------------===//

LogicalResult MoEFFNOp::verify() {
  Operation *op = getOperation();
  Value x = getHidden(), w13 = getW13(), w2 = getW2();
  FailureOr<SparseFormatAttr> w13Format = verifyWeight(op, w13, "w13");
  if (failed(w13Format) || failed(verifyWeight(op, w2, "w2")))
    return failure();
  if (failed(verifyRouter(op, x, getRouter())))
    return failure();
  int64_t experts = dim(getRouter(), 0);
  if (failed(verifyRouting(op, getTopK(), experts,
                           getRoutedScalingFactor().convertToDouble())) ||
      failed(verifyRouterBias(op, getRouterBias(), experts)))
    return failure();
  if (!compatible(dim(w13, 0), experts) || !compatible(dim(w2, 0), experts))
    return emitOpError() << "router has " << dimStr(experts)
                         << " experts but w13 has " << dimStr(dim(w13, 0))
                         << " and w2 has " << dimStr(dim(w2, 0));
  if (failed(verifyExpertWeights(op, x, w13, w2, getResult(), *w13Format)) ||
      failed(verifyExpertBiases(op, x, w13, w2, getW13Bias(), getW2Bias())))
    return failure();
  return verifyGatedActivation(op, getActivation(), getSwigluAlphaAttr(),
                               getSwigluLimitAttr());
}

//===----------------------------------------------------------------------===//
// MoEExpertsOp
//===----------------------------------------------------------------------===//

LogicalResult MoEExpertsOp::verify() {
  Operation *op = getOperation();
  Value x = getHidden(), w13 = getW13(), w2 = getW2();
  Value weights = getTopkWeights(), ids = getTopkIds();
  FailureOr<SparseFormatAttr> w13Format = verifyWeight(op, w13, "w13");
  if (failed(w13Format) || failed(verifyWeight(op, w2, "w2")))
    return failure();
  if (cast<ShapedType>(weights.getType()).getShape() !=
      cast<ShapedType>(ids.getType()).getShape())
    return emitOpError() << "topk_weights " << weights.getType()
                         << " and topk_ids " << ids.getType()
                         << " must have the same shape";
  int64_t topK = dim(ids, 1);
  if (ShapedType::isDynamic(topK))
    return emitOpError() << "needs a static top_k (topk_ids dimension 1), got "
                         << ids.getType();
  if (!compatible(dim(ids, 0), dim(x, 0)))
    return emitOpError() << "routing has " << dimStr(dim(ids, 0))
                         << " tokens but the hidden states have "
                         << dimStr(dim(x, 0));
  if (!compatible(dim(w13, 0), dim(w2, 0)))
    return emitOpError() << "w13 has " << dimStr(dim(w13, 0))
                         << " experts but w2 has " << dimStr(dim(w2, 0));
  int64_t experts =
      ShapedType::isDynamic(dim(w13, 0)) ? dim(w2, 0) : dim(w13, 0);
  if (failed(verifyRouting(op, topK, experts, /*scale=*/1.0)) ||
      failed(verifyExpertWeights(op, x, w13, w2, getResult(), *w13Format)) ||
      failed(verifyExpertBiases(op, x, w13, w2, getW13Bias(), getW2Bias())))
    return failure();
  return verifyGatedActivation(op, getActivation(), getSwigluAlphaAttr(),
                               getSwigluLimitAttr());
}

//===----------------------------------------------------------------------===//
// RouteOp
//===----------------------------------------------------------------------===//

LogicalResult RouteOp::verify() {
  Operation *op = getOperation();
  if (failed(verifyRouter(op, getHidden(), getRouter())))
    return failure();
  int64_t experts = dim(getRouter(), 0);
  if (failed(verifyRouting(op, getTopK(), experts,
                           getRoutedScalingFactor().convertToDouble())) ||
      failed(verifyRouterBias(op, getBias(), experts)))
    return failure();
  for (Value r : {getWeights(), getExpertIds()}) {
    if (!compatible(dim(r, 0), dim(getHidden(), 0)) ||
        !compatible(dim(r, 1), getTopK()))
      return emitOpError() << "results must be [tokens, top_k] = ["
                           << dimStr(dim(getHidden(), 0)) << ", " << getTopK()
                           << "], got " << r.getType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// DispatchOp
//===----------------------------------------------------------------------===//

LogicalResult DispatchOp::verify() {
  int64_t experts = getNumExperts();
  if (experts < 1)
    return emitOpError() << "experts = " << experts << " must be at least 1";
  int64_t offsetsSize;
  if (llvm::AddOverflow(experts, int64_t(1), offsetsSize))
    return emitOpError() << "experts = " << experts << " is too large";
  Value ids = getExpertIds();
  int64_t t = dim(ids, 0), k = dim(ids, 1);
  int64_t slots = ShapedType::kDynamic;
  if (!ShapedType::isDynamic(t) && !ShapedType::isDynamic(k) &&
      llvm::MulOverflow(t, k, slots))
    return emitOpError() << "expert ids " << ids.getType()
                         << " have more routed slots than fit in 64 bits";
  if (!compatible(dim(getTokens(), 0), slots))
    return emitOpError() << "token list has " << dimStr(dim(getTokens(), 0))
                         << " entries but there are " << dimStr(slots)
                         << " routed slots";
  if (!compatible(dim(getOffsets(), 0), offsetsSize))
    return emitOpError() << "offsets have " << dimStr(dim(getOffsets(), 0))
                         << " entries, expected experts + 1 = " << offsetsSize;
  if (getPositions().getType() != ids.getType())
    return emitOpError() << "positions type " << getPositions().getType()
                         << " must equal the expert ids' type "
                         << ids.getType();
  return success();
}

//===----------------------------------------------------------------------===//
// SSMMOp
//===----------------------------------------------------------------------===//

SparseFormatAttr SSMMOp::getFormat() {
  return getSparseFormat(getWeight().getType());
}

LogicalResult SSMMOp::verify() {
  Operation *op = getOperation();
  FailureOr<SparseFormatAttr> format = verifyWeight(op, getWeight(), "weight");
  if (failed(format))
    return failure();
  Value w = getWeight(), in = getInput(), out = getResult();
  Type elt = elementType(w);
  if (elementType(in) != elt || elementType(out) != elt)
    return emitOpError() << "input and result must have the weight's element "
                         << "type " << elt << ", got " << elementType(in)
                         << " and " << elementType(out);
  int64_t experts = dim(w, 0), rows = dim(w, 1), cols = dim(w, 2);
  if (!compatible(dim(in, 1), cols))
    return emitOpError() << "input has " << dimStr(dim(in, 1))
                         << " columns but the weight has " << dimStr(cols);
  if (!compatible(dim(getOffsets(), 0),
                  ShapedType::isDynamic(experts) ? experts : experts + 1))
    return emitOpError() << "offsets have " << dimStr(dim(getOffsets(), 0))
                         << " entries, expected experts + 1 = "
                         << dimStr(experts + 1);

  EpilogueKind epi = getEpilogue();
  // The generic form can give one of the two combine operands alone; the
  // custom form has no way to print that.
  if ((getRoutingWeights() != nullptr) != (getPositions() != nullptr))
    return emitOpError() << "combine needs both routing weights and positions, "
                         << "got only the "
                         << (getRoutingWeights() ? "routing weights"
                                                 : "positions");
  bool combine = getRoutingWeights() != nullptr;
  if (combine != (epi == EpilogueKind::WeightedCombine))
    return emitOpError() << "combine(weights, positions) operands go with "
                         << "the weighted_combine epilogue and only with it";
  if (combine && getTokens())
    return emitOpError() << "weighted_combine reads its input in dispatch "
                         << "order; it takes no gather list";

  int64_t slots = getTokens() ? dim(getTokens(), 0) : dim(in, 0);
  int64_t outRows = slots, outCols = rows;
  if (epi == EpilogueKind::SiluMul) {
    if (!ShapedType::isDynamic(rows)) {
      // The row count is even: verifyWeight checked that rows = g * m keeps
      // g * n rows, a multiple of 16, which for odd g and m needs n = 16 = m.
      auto emit = [&]() { return emitOpError() << "silu_mul gate half: "; };
      if (failed(format->verifyWeightShape(emit, rows / 2, cols)))
        return failure();
      outCols = rows / 2;
    }
  } else if (combine) {
    Value weights = getRoutingWeights(), positions = getPositions();
    if (cast<ShapedType>(weights.getType()).getShape() !=
        cast<ShapedType>(positions.getType()).getShape())
      return emitOpError() << "routing weights " << weights.getType()
                           << " and positions " << positions.getType()
                           << " must have the same shape";
    outRows = dim(weights, 0);
  }
  if (!compatible(dim(out, 0), outRows) || !compatible(dim(out, 1), outCols))
    return emitOpError() << "result must be [" << dimStr(outRows) << ", "
                         << dimStr(outCols) << "] for the "
                         << stringifyEpilogueKind(epi) << " epilogue, got "
                         << out.getType();
  if (getBias() &&
      failed(verifyBias(op, getBias(), "bias", experts, rows, elt)))
    return failure();
  if (getActivation() != ActivationKind::Silu && epi != EpilogueKind::SiluMul)
    return emitOpError() << "the " << stringifyActivationKind(getActivation())
                         << " activation needs the silu_mul epilogue";
  return verifyGatedActivation(op, getActivation(), getSwigluAlphaAttr(),
                               getSwigluLimitAttr());
}

//===----------------------------------------------------------------------===//
// LaunchOp
//===----------------------------------------------------------------------===//

LogicalResult LaunchOp::verify() {
  if (getLaunches().empty())
    return emitOpError() << "has no kernel launch";
  if (getActivation() && !getEpilogue())
    return emitOpError() << "activation goes only with an epilogue";
  if (failed(verifyGatedActivation(
          *this, getActivation().value_or(ActivationKind::Silu),
          getSwigluAlphaAttr(), getSwigluLimitAttr())))
    return failure();
  auto func = (*this)->getParentOfType<FunctionOpInterface>();
  auto buffers =
      func ? func->getAttrOfType<ArrayAttr>(SamoyedsDialect::kBuffersAttrName)
           : ArrayAttr();
  if (!buffers)
    return emitOpError() << "needs the enclosing function's "
                         << SamoyedsDialect::kBuffersAttrName;
  llvm::StringSet<> names;
  for (Attribute entry : buffers)
    names.insert(getBufferEntryName(entry));
  for (auto [i, launch] :
       llvm::enumerate(getLaunches().getAsRange<KernelLaunchAttr>()))
    for (KernelArgAttr arg : launch.getArgs())
      if (arg.getKind() == KernelArgKind::Buffer &&
          !names.contains(arg.getBuffer()))
        return emitOpError()
               << "launch " << i << " binds buffer \"" << arg.getBuffer()
               << "\", which " << SamoyedsDialect::kBuffersAttrName
               << " does not list";
  return success();
}

/// Checks the kernel of each launch: the kernel module must exist; while it
/// is a `gpu.module` (before serialisation to a `gpu.binary`), the kernel
/// must be a function of it, and while that is a `gpu.func` (before the
/// lowering to LLVM expands memref arguments), it must take one argument per
/// binding.
LogicalResult LaunchOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  for (auto [i, launch] :
       llvm::enumerate(getLaunches().getAsRange<KernelLaunchAttr>())) {
    SymbolRefAttr ref = launch.getKernel();
    Operation *module = symbolTable.lookupNearestSymbolFrom(
        *this, FlatSymbolRefAttr::get(ref.getRootReference()));
    if (!module)
      return emitOpError() << "launch " << i << ": no kernel module @"
                           << ref.getRootReference().getValue();
    if (!module->hasTrait<OpTrait::SymbolTable>())
      continue;
    auto kernel = dyn_cast_or_null<FunctionOpInterface>(
        symbolTable.lookupNearestSymbolFrom(*this, ref));
    if (!kernel)
      return emitOpError() << "launch " << i << ": no kernel function " << ref;
    if (kernel->getName().getStringRef() == "gpu.func" &&
        kernel.getNumArguments() != launch.getArgs().size())
      return emitOpError() << "launch " << i << ": " << ref << " takes "
                           << kernel.getNumArguments()
                           << " arguments, the launch binds "
                           << launch.getArgs().size();
  }
  return success();
}
