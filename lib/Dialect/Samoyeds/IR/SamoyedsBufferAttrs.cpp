//===- SamoyedsBufferAttrs.cpp - Buffers and weights of a bundle ----------===//
//
// The buffer, weight-part and weight attributes of a compiled function, and
// the verifier of the function attributes that list them.
//
//===----------------------------------------------------------------------===//

#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"

#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringSet.h"

#include <limits>

using namespace mlir;
using namespace mlir::samoyeds;

StringRef mlir::samoyeds::getBundleDTypeName(Type type) {
  if (type.isBF16())
    return "bf16";
  if (type.isF16())
    return "f16";
  if (type.isF32())
    return "f32";
  if (type.isSignlessInteger(32))
    return "i32";
  if (type.isUnsignedInteger(32))
    return "u32";
  if (type.isUnsignedInteger(8))
    return "u8";
  return "";
}

//===----------------------------------------------------------------------===//
// BufferAttr
//===----------------------------------------------------------------------===//

/// Parses `DIM, ...`: sizes and size symbols.
ParseResult mlir::samoyeds::parseBufferShape(AsmParser &parser,
                                             SmallVector<int64_t> &shape) {
  return parser.parseCommaSeparatedList([&]() -> ParseResult {
    int64_t size = 0;
    OptionalParseResult integer = parser.parseOptionalInteger(size);
    if (integer.has_value()) {
      shape.push_back(size);
      return *integer;
    }
    SizeSymbol symbol;
    if (parseSizeSymbol(parser, symbol, "a size or a size symbol (T or P)"))
      return failure();
    shape.push_back(BufferAttr::encodeSymbol(symbol));
    return success();
  });
}

void mlir::samoyeds::printBufferShape(AsmPrinter &printer,
                                      ArrayRef<int64_t> shape) {
  llvm::interleaveComma(shape, printer, [&](int64_t size) {
    if (size < 0)
      printer << stringifySizeSymbol(static_cast<SizeSymbol>(-1 - size));
    else
      printer << size;
  });
}

std::optional<SizeSymbol> BufferAttr::getSymbol(unsigned d) const {
  int64_t size = getShape()[d];
  if (size >= 0)
    return std::nullopt;
  return static_cast<SizeSymbol>(-1 - size);
}

LogicalResult BufferAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 StringRef name, BufferKind kind,
                                 Type elementType, ArrayRef<int64_t> shape) {
  if (name.empty())
    return emitError() << "#samoyeds.buffer: the name is empty";
  StringRef dtype = getBundleDTypeName(elementType);
  if (dtype.empty() || dtype == "u32" || dtype == "u8")
    return emitError() << "#samoyeds.buffer \"" << name << "\": element type "
                       << elementType << " (expected bf16, f16, f32 or i32)";
  if (kind == BufferKind::Counters &&
      (!elementType.isSignlessInteger(32) ||
       llvm::any_of(shape, [](int64_t size) { return size < 0; })))
    return emitError() << "#samoyeds.buffer \"" << name
                       << "\": counters are i32 with a static shape";
  int64_t lowest = encodeSymbol(SizeSymbol::P);
  for (int64_t size : shape)
    if (size < lowest || size > std::numeric_limits<int32_t>::max())
      return emitError() << "#samoyeds.buffer \"" << name << "\": dimension "
                         << size << " is neither a size symbol nor in [0, "
                         << std::numeric_limits<int32_t>::max() << "]";
  return success();
}

//===----------------------------------------------------------------------===//
// WeightPartAttr and WeightAttr
//===----------------------------------------------------------------------===//

LogicalResult
WeightPartAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       StringRef name, StringRef weight, WeightPartKind part,
                       Type elementType, int64_t bytes) {
  std::string expected = (weight + "." + stringifyWeightPartKind(part)).str();
  if (name != expected)
    return emitError() << "#samoyeds.weight_part: part "
                       << stringifyWeightPartKind(part) << " of \"" << weight
                       << "\" must be named \"" << expected << "\", not \""
                       << name << "\"";
  StringRef dtype = getBundleDTypeName(elementType);
  bool ok = part == WeightPartKind::Values ? (dtype == "bf16" || dtype == "f16")
            : part == WeightPartKind::Meta ? dtype == "u32"
                                           : dtype == "u8";
  if (!ok)
    return emitError() << "#samoyeds.weight_part \"" << name
                       << "\": element type " << elementType
                       << " (values are bf16 or f16, meta ui32, row_idx ui8)";
  if (bytes < 0)
    return emitError() << "#samoyeds.weight_part \"" << name << "\": " << bytes
                       << " bytes";
  return success();
}

LogicalResult WeightAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 StringRef name, WeightLayout layout,
                                 Type elementType, int64_t experts,
                                 int64_t rows, int64_t cols,
                                 SparseFormatAttr format) {
  if (name.empty())
    return emitError() << "#samoyeds.weight: the name is empty";
  if (!elementType.isBF16() && !elementType.isF16())
    return emitError() << "#samoyeds.weight \"" << name << "\": element type "
                       << elementType << " (expected bf16 or f16)";
  if (experts < 1 || rows < 1 || cols < 1)
    return emitError() << "#samoyeds.weight \"" << name << "\": shape ["
                       << experts << ", " << rows << ", " << cols
                       << "] is not positive";
  if (layout == WeightLayout::WgmmaHalves && rows % (2 * format.getM()) != 0)
    return emitError() << "#samoyeds.weight \"" << name
                       << "\": layout wgmma_halves needs each half of the "
                       << rows
                       << " rows in whole groups of m = " << format.getM();
  return format.verifyWeightShape(emitError, rows, cols);
}

WeightLayout WeightAttr::wgmmaLayout(int64_t keptRows, int64_t halves) {
  return halves == 2 && (keptRows / 2) % kWgmmaTileRows != 0
             ? WeightLayout::WgmmaHalves
             : WeightLayout::Wgmma;
}

int64_t WeightAttr::storedKeptRows(WeightLayout layout, int64_t keptRows) {
  switch (layout) {
  case WeightLayout::MmaSp:
    return keptRows;
  case WeightLayout::Wgmma:
    return llvm::alignTo(keptRows, kWgmmaTileRows);
  case WeightLayout::WgmmaHalves:
    return 2 * llvm::alignTo(keptRows / 2, kWgmmaTileRows);
  }
  llvm_unreachable("a weight layout");
}

int64_t WeightAttr::storedCols(WeightLayout layout, int64_t cols) {
  return layout == WeightLayout::MmaSp ? cols
                                       : llvm::alignTo(cols, kWgmmaBlockCols);
}

//===----------------------------------------------------------------------===//
// samoyeds.buffers and samoyeds.weights
//===----------------------------------------------------------------------===//

StringRef mlir::samoyeds::getBufferEntryName(Attribute entry) {
  if (auto buffer = dyn_cast<BufferAttr>(entry))
    return buffer.getName();
  if (auto part = dyn_cast<WeightPartAttr>(entry))
    return part.getName();
  return "";
}

namespace {

/// Checks that `attr` is an array of `what` (by `nameOf`) with unique names.
LogicalResult verifyNamedList(Operation *op, NamedAttribute attr,
                              StringRef what,
                              function_ref<StringRef(Attribute)> nameOf,
                              llvm::StringSet<> &names) {
  auto list = dyn_cast<ArrayAttr>(attr.getValue());
  if (!list)
    return op->emitOpError()
           << attr.getName().getValue() << " must be an array of " << what;
  for (Attribute entry : list) {
    StringRef name = nameOf(entry);
    if (name.empty())
      return op->emitOpError() << attr.getName().getValue() << ": " << entry
                               << " is not a " << what;
    if (!names.insert(name).second)
      return op->emitOpError() << attr.getName().getValue()
                               << ": two entries are named \"" << name << "\"";
  }
  return success();
}
} // namespace

LogicalResult SamoyedsDialect::verifyOperationAttribute(Operation *op,
                                                        NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name != kBuffersAttrName && name != kWeightsAttrName)
    return op->emitOpError() << "unknown attribute '" << name << "'";
  if (!isa<FunctionOpInterface>(op))
    return op->emitOpError() << "'" << name << "' belongs on a function";
  llvm::StringSet<> names;
  if (name == kWeightsAttrName)
    return verifyNamedList(
        op, attr, "#samoyeds.weight",
        [](Attribute a) {
          auto weight = dyn_cast<WeightAttr>(a);
          return weight ? weight.getName() : StringRef();
        },
        names);
  if (failed(verifyNamedList(op, attr,
                             "#samoyeds.buffer or "
                             "#samoyeds.weight_part",
                             getBufferEntryName, names)))
    return failure();
  auto weights = op->getAttrOfType<ArrayAttr>(kWeightsAttrName);
  for (Attribute entry : cast<ArrayAttr>(attr.getValue())) {
    auto part = dyn_cast<WeightPartAttr>(entry);
    if (!part)
      continue;
    bool known = weights && llvm::any_of(weights, [&](Attribute w) {
                   auto weight = dyn_cast<WeightAttr>(w);
                   return weight && weight.getName() == part.getWeight();
                 });
    if (!known)
      return op->emitOpError()
             << name << ": \"" << part.getName() << "\" is part of \""
             << part.getWeight() << "\", which " << kWeightsAttrName
             << " does not list";
  }
  return success();
}
