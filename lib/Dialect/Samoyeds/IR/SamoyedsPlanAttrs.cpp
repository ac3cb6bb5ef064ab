//===- SamoyedsPlanAttrs.cpp - Launch-plan attributes ---------------------===//
//
// Builders, syntax and verifiers of the attributes that state the host side
// of a compiled function (SamoyedsPlanAttrs.td).
//
//===----------------------------------------------------------------------===//

#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"

#include "mlir/IR/DialectImplementation.h"

#include <limits>

using namespace mlir;
using namespace mlir::samoyeds;

ParseResult mlir::samoyeds::parseSizeSymbol(AsmParser &parser,
                                            SizeSymbol &symbol,
                                            StringRef expected) {
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<SizeSymbol> parsed = symbolizeSizeSymbol(keyword);
  if (!parsed)
    return parser.emitError(loc)
           << "expected " << expected << ", got '" << keyword << "'";
  symbol = *parsed;
  return success();
}

namespace {
/// Parses a size symbol keyword (T or P).
ParseResult parseSymbol(AsmParser &parser, SizeSymbol &symbol) {
  return parseSizeSymbol(parser, symbol, "a size symbol (T or P)");
}

/// Parses `<` BODY `>` where BODY is parsed by `AttrT::parseBody`.
template <typename AttrT> Attribute parseAngled(AsmParser &parser) {
  if (parser.parseLess())
    return {};
  AttrT attr = AttrT::parseBody(parser);
  if (!attr || parser.parseGreater())
    return {};
  return attr;
}
} // namespace

//===----------------------------------------------------------------------===//
// GridDimAttr
//===----------------------------------------------------------------------===//

GridDimAttr GridDimAttr::getConstant(MLIRContext *ctx, int64_t size) {
  return get(ctx, GridDimKind::Constant, SizeSymbol::T, size, int64_t{0});
}
GridDimAttr GridDimAttr::getCeilDiv(MLIRContext *ctx, SizeSymbol symbol,
                                    int64_t divisor) {
  return get(ctx, GridDimKind::CeilDiv, symbol, divisor, int64_t{0});
}
GridDimAttr GridDimAttr::getPerSM(MLIRContext *ctx, int64_t blocks) {
  return get(ctx, GridDimKind::PerSM, SizeSymbol::T, blocks, int64_t{0});
}
GridDimAttr GridDimAttr::getTokenTiles(MLIRContext *ctx, SizeSymbol symbol,
                                       int64_t tokens, int64_t experts) {
  return get(ctx, GridDimKind::TokenTiles, symbol, tokens, experts);
}

LogicalResult GridDimAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  GridDimKind kind, SizeSymbol symbol,
                                  int64_t value, int64_t experts) {
  constexpr int64_t most = std::numeric_limits<int32_t>::max();
  if (value < 1 || value > most)
    return emitError() << "#samoyeds.dim: " << stringifyGridDimKind(kind)
                       << " operand " << value << " must be in [1, " << most
                       << "]";
  // Only token_tiles has an expert count (the parser gives the others 0).
  bool tiles = kind == GridDimKind::TokenTiles;
  assert((tiles || experts == 0) && "an expert count outside token_tiles");
  if (tiles && (experts < 1 || experts > most))
    return emitError() << "#samoyeds.dim: token_tiles experts " << experts
                       << " must be in [1, " << most << "]";
  return success();
}

GridDimAttr GridDimAttr::parseBody(AsmParser &parser) {
  MLIRContext *ctx = parser.getContext();
  auto emitError = [&] { return parser.emitError(parser.getNameLoc()); };
  int64_t value = 0;
  OptionalParseResult constant = parser.parseOptionalInteger(value);
  if (constant.has_value())
    return failed(*constant) ? GridDimAttr()
                             : getChecked(emitError, ctx, GridDimKind::Constant,
                                          SizeSymbol::T, value, int64_t{0});
  if (succeeded(parser.parseOptionalKeyword("per_sm"))) {
    if (parser.parseLParen() || parser.parseInteger(value) ||
        parser.parseRParen())
      return {};
    return getChecked(emitError, ctx, GridDimKind::PerSM, SizeSymbol::T, value,
                      int64_t{0});
  }
  SizeSymbol symbol;
  int64_t experts = 0;
  bool tiles = succeeded(parser.parseOptionalKeyword("token_tiles"));
  if ((!tiles && parser.parseKeyword("ceil_div")) || parser.parseLParen() ||
      parseSymbol(parser, symbol) || parser.parseComma() ||
      parser.parseInteger(value) ||
      (tiles && (parser.parseComma() || parser.parseInteger(experts))) ||
      parser.parseRParen())
    return {};
  return getChecked(emitError, ctx,
                    tiles ? GridDimKind::TokenTiles : GridDimKind::CeilDiv,
                    symbol, value, experts);
}

void GridDimAttr::printBody(AsmPrinter &printer) const {
  switch (getKind()) {
  case GridDimKind::Constant:
    printer << getValue();
    return;
  case GridDimKind::PerSM:
    printer << "per_sm(" << getValue() << ")";
    return;
  case GridDimKind::CeilDiv:
    printer << "ceil_div(" << stringifySizeSymbol(getSymbol()) << ", "
            << getValue() << ")";
    return;
  case GridDimKind::TokenTiles:
    printer << "token_tiles(" << stringifySizeSymbol(getSymbol()) << ", "
            << getValue() << ", " << getExperts() << ")";
    return;
  }
}

//===----------------------------------------------------------------------===//
// KernelArgAttr
//===----------------------------------------------------------------------===//

KernelArgAttr KernelArgAttr::getBuffer(MLIRContext *ctx, StringRef name,
                                       int64_t elemBytes, int64_t align) {
  return get(ctx, KernelArgKind::Buffer, name, SizeSymbol::T, elemBytes, align);
}
KernelArgAttr KernelArgAttr::getSymbol(MLIRContext *ctx, SizeSymbol symbol) {
  return get(ctx, KernelArgKind::Symbol, StringRef(), symbol, int64_t{0},
             int64_t{0});
}
KernelArgAttr KernelArgAttr::getI32(MLIRContext *ctx, int64_t value) {
  return get(ctx, KernelArgKind::I32, StringRef(), SizeSymbol::T, value,
             int64_t{0});
}

LogicalResult
KernelArgAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      KernelArgKind kind, StringRef buffer, SizeSymbol symbol,
                      int64_t value, int64_t align) {
  if (kind == KernelArgKind::Buffer) {
    if (buffer.empty())
      return emitError() << "#samoyeds.arg: the buffer name is empty";
    if (value != 1 && value != 2 && value != 4 && value != 8)
      return emitError() << "#samoyeds.arg: buffer element size " << value
                         << " must be 1, 2, 4 or 8 bytes";
    if (align != 0 && (align <= value || align > kMaxBufferAlignment ||
                       !llvm::isPowerOf2_64(align)))
      return emitError() << "#samoyeds.arg: buffer alignment " << align
                         << " must be a power of two above the element size "
                         << value << " and at most " << kMaxBufferAlignment;
  }
  if (kind == KernelArgKind::I32 &&
      (value < std::numeric_limits<int32_t>::min() ||
       value > std::numeric_limits<int32_t>::max()))
    return emitError() << "#samoyeds.arg: " << value << " is not an i32";
  return success();
}

KernelArgAttr KernelArgAttr::parseBody(AsmParser &parser) {
  MLIRContext *ctx = parser.getContext();
  auto emitError = [&] { return parser.emitError(parser.getNameLoc()); };
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseKeyword(&keyword) || parser.parseLParen())
    return {};
  std::optional<KernelArgKind> kind = symbolizeKernelArgKind(keyword);
  if (!kind) {
    parser.emitError(loc) << "expected buffer, symbol or i32, got '" << keyword
                          << "'";
    return {};
  }
  std::string buffer;
  SizeSymbol symbol = SizeSymbol::T;
  int64_t value = 0, align = 0;
  if ((*kind == KernelArgKind::Buffer &&
       (parser.parseString(&buffer) || parser.parseComma() ||
        parser.parseInteger(value) ||
        (succeeded(parser.parseOptionalComma()) &&
         (parser.parseKeyword("align") || parser.parseInteger(align))))) ||
      (*kind == KernelArgKind::Symbol && parseSymbol(parser, symbol)) ||
      (*kind == KernelArgKind::I32 && parser.parseInteger(value)) ||
      parser.parseRParen())
    return {};
  return getChecked(emitError, ctx, *kind, StringRef(buffer), symbol, value,
                    align);
}

void KernelArgAttr::printBody(AsmPrinter &printer) const {
  printer << stringifyKernelArgKind(getKind()) << "(";
  switch (getKind()) {
  case KernelArgKind::Buffer:
    printer.printString(getBuffer());
    printer << ", " << getValue();
    if (getAlign() > 0)
      printer << ", align " << getAlign();
    break;
  case KernelArgKind::Symbol:
    printer << stringifySizeSymbol(getSymbol());
    break;
  case KernelArgKind::I32:
    printer << getValue();
    break;
  }
  printer << ")";
}

//===----------------------------------------------------------------------===//
// SlotGuardAttr
//===----------------------------------------------------------------------===//

LogicalResult
SlotGuardAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      SizeSymbol symbol, int64_t min,
                      std::optional<int64_t> max) {
  if (min < 0)
    return emitError() << "#samoyeds.guard: the lower bound " << min
                       << " is negative";
  if (max && *max < min)
    return emitError() << "#samoyeds.guard: [" << min << ", " << *max
                       << "] is empty";
  return success();
}

SlotGuardAttr SlotGuardAttr::parseBody(AsmParser &parser) {
  auto emitError = [&] { return parser.emitError(parser.getNameLoc()); };
  SizeSymbol symbol;
  int64_t min = 0, max = 0;
  if (parseSymbol(parser, symbol) || parser.parseKeyword("in") ||
      parser.parseLSquare() || parser.parseInteger(min) || parser.parseComma())
    return {};
  bool unbounded = succeeded(parser.parseOptionalEllipsis());
  if ((!unbounded && parser.parseInteger(max)) || parser.parseRSquare())
    return {};
  return getChecked(emitError, parser.getContext(), symbol, min,
                    unbounded ? std::optional<int64_t>() : max);
}

void SlotGuardAttr::printBody(AsmPrinter &printer) const {
  printer << stringifySizeSymbol(getSymbol()) << " in [" << getMin() << ", ";
  if (getMax())
    printer << *getMax() << "]";
  else
    printer << "...]";
}

//===----------------------------------------------------------------------===//
// The attributes written `<` BODY `>`, BODY also written inside a launch
//===----------------------------------------------------------------------===//

#define SAMOYEDS_ANGLED_SYNTAX(AttrT)                                          \
  Attribute AttrT::parse(AsmParser &parser, Type) {                            \
    return parseAngled<AttrT>(parser);                                         \
  }                                                                            \
  void AttrT::print(AsmPrinter &printer) const {                               \
    printer << "<";                                                            \
    printBody(printer);                                                        \
    printer << ">";                                                            \
  }
SAMOYEDS_ANGLED_SYNTAX(GridDimAttr)
SAMOYEDS_ANGLED_SYNTAX(KernelArgAttr)
SAMOYEDS_ANGLED_SYNTAX(SlotGuardAttr)
#undef SAMOYEDS_ANGLED_SYNTAX

//===----------------------------------------------------------------------===//
// KernelLaunchAttr
//===----------------------------------------------------------------------===//

LogicalResult
KernelLaunchAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         SymbolRefAttr kernel, ArrayRef<GridDimAttr> grid,
                         ArrayRef<int64_t> block, int64_t smem, bool pdl,
                         ArrayRef<KernelArgAttr> args, SlotGuardAttr when) {
  if (grid.size() != 3 || block.size() != 3)
    return emitError() << "#samoyeds.launch: grid and block need 3 dimensions "
                       << "each, got " << grid.size() << " and "
                       << block.size();
  int64_t threads = 1;
  for (int64_t b : block) {
    if (b < 1 || b > 1024)
      return emitError() << "#samoyeds.launch: block dimension " << b
                         << " must be in [1, 1024]";
    threads *= b;
  }
  if (threads > 1024)
    return emitError() << "#samoyeds.launch: a block of " << threads
                       << " threads (at most 1024)";
  if (smem < 0 || smem > std::numeric_limits<int32_t>::max())
    return emitError() << "#samoyeds.launch: " << smem
                       << " bytes of dynamic shared memory";
  return success();
}

/// Parses `NAME(ITEM, ...)` with `parseItem` for each item.
template <typename AttrT>
static ParseResult parseClause(AsmParser &parser, StringRef name,
                               SmallVectorImpl<AttrT> &items) {
  if (parser.parseKeyword(name))
    return failure();
  return parser.parseCommaSeparatedList(AsmParser::Delimiter::Paren,
                                        [&]() -> ParseResult {
                                          AttrT item = AttrT::parseBody(parser);
                                          if (!item)
                                            return failure();
                                          items.push_back(item);
                                          return success();
                                        });
}

Attribute KernelLaunchAttr::parse(AsmParser &parser, Type) {
  SymbolRefAttr kernel;
  SmallVector<GridDimAttr, 3> grid;
  SmallVector<int64_t, 3> block;
  SmallVector<KernelArgAttr> args;
  int64_t smem = 0;
  SlotGuardAttr when;
  if (parser.parseLess() || parser.parseAttribute(kernel) ||
      parseClause(parser, "grid", grid) || parser.parseKeyword("block") ||
      parser.parseCommaSeparatedList(AsmParser::Delimiter::Paren,
                                     [&]() -> ParseResult {
                                       return parser.parseInteger(
                                           block.emplace_back());
                                     }) ||
      parser.parseKeyword("smem") || parser.parseLParen() ||
      parser.parseInteger(smem) || parser.parseRParen())
    return {};
  bool pdl = succeeded(parser.parseOptionalKeyword("pdl"));
  if (parseClause(parser, "args", args))
    return {};
  if (succeeded(parser.parseOptionalKeyword("when"))) {
    if (parser.parseLParen() || !(when = SlotGuardAttr::parseBody(parser)) ||
        parser.parseRParen())
      return {};
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                    parser.getContext(), kernel, ArrayRef<GridDimAttr>(grid),
                    ArrayRef<int64_t>(block), smem, pdl,
                    ArrayRef<KernelArgAttr>(args), when);
}

void KernelLaunchAttr::print(AsmPrinter &printer) const {
  printer << "<" << getKernel() << " grid(";
  llvm::interleaveComma(getGrid(), printer,
                        [&](GridDimAttr d) { d.printBody(printer); });
  printer << ") block(";
  llvm::interleaveComma(getBlock(), printer);
  printer << ") smem(" << getSmem() << ")" << (getPdl() ? " pdl" : "")
          << " args(";
  llvm::interleaveComma(getArgs(), printer,
                        [&](KernelArgAttr a) { a.printBody(printer); });
  printer << ")";
  if (getWhen()) {
    printer << " when(";
    getWhen().printBody(printer);
    printer << ")";
  }
  printer << ">";
}
