//===- LaunchPlan.cpp - The host side of a compiled function --------------===//

#include "LaunchPlan.h"
#include "WgmmaSpLayout.h"

using namespace mlir;
using namespace mlir::samoyeds;

/// `base`, or `base_K` for the first K not in `taken`; the name is added.
static std::string uniqueName(llvm::StringSet<> &taken,
                              const std::string &base) {
  std::string name = base;
  for (int k = 1; !taken.insert(name).second; ++k)
    name = base + "_" + std::to_string(k);
  return name;
}

BufferTable::BufferTable(func::FuncOp func)
    : func(func), ctx(func.getContext()) {
  StringRef attr = SamoyedsDialect::kNameAttrName;
  for (BlockArgument arg : func.getArguments())
    if (auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), attr))
      names[arg] = taken.insert(name).first->getKey().str();
  auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
  for (auto [i, v] : llvm::enumerate(ret.getOperands()))
    if (auto name = func.getResultAttrOfType<StringAttr>(i, attr))
      if (!names.count(v))
        names[v] = taken.insert(name).first->getKey().str();
  for (BlockArgument arg : func.getArguments())
    if (!names.count(arg))
      names[arg] = fresh("arg" + std::to_string(arg.getArgNumber()));
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    if (!names.count(v))
      names[v] = fresh("result" + std::to_string(i));
    outputs.insert(v);
  }
}

std::string BufferTable::fresh(const std::string &base) {
  return uniqueName(taken, base);
}

std::string BufferTable::name(Value v) {
  auto it = names.find(v);
  if (it != names.end())
    return it->second;
  std::string temporary;
  do
    temporary = "t" + std::to_string(temporaries++);
  while (taken.contains(temporary));
  taken.insert(temporary);
  return names[v] = temporary;
}

LogicalResult BufferTable::nameDim(Operation *op, Value v, unsigned d,
                                   SizeSymbol sym) {
  auto type = cast<ShapedType>(v.getType());
  if (!type.isDynamicDim(d))
    return success();
  auto [it, inserted] = dims.try_emplace({v, d}, sym);
  if (!inserted && it->second != sym)
    return op->emitOpError() << "dimension " << d << " of " << v.getType()
                             << " is both " << stringifySizeSymbol(it->second)
                             << " and " << stringifySizeSymbol(sym);
  return success();
}

LogicalResult BufferTable::setWeightLayout(SSMMOp op, WeightLayout layout) {
  auto [known, added] = weightLayouts.try_emplace(op.getWeight(), layout);
  if (added || known->second == layout)
    return success();
  return op.emitOpError()
         << "reads its weight in the '" << stringifyWeightLayout(layout)
         << "' layout, but another samoyeds.ssmm of the function reads the "
         << "same weight in the '" << stringifyWeightLayout(known->second)
         << "' layout; give both the same MMA strategy";
}

void BufferTable::addWorkspace(StringRef wsName, ArrayRef<int64_t> shape,
                               Type elt) {
  workspaces.push_back(BufferAttr::get(ctx, wsName, BufferKind::Workspace,
                                       elt ? elt : Float32Type::get(ctx),
                                       shape));
}

void BufferTable::addCounters(StringRef name, int64_t count) {
  workspaces.push_back(BufferAttr::get(ctx, name, BufferKind::Counters,
                                       IntegerType::get(ctx, 32), {count}));
}

LogicalResult BufferTable::bindDense(Value v, StringRef bufferName) {
  auto type = cast<RankedTensorType>(v.getType());
  BufferKind kind = outputs.contains(v)     ? BufferKind::Output
                    : isa<BlockArgument>(v) ? BufferKind::Input
                                            : BufferKind::Workspace;
  SmallVector<int64_t> shape;
  for (unsigned d = 0; d < type.getRank(); ++d) {
    if (!type.isDynamicDim(d)) {
      shape.push_back(type.getDimSize(d));
      continue;
    }
    auto it = dims.find({v, d});
    if (it == dims.end())
      return emitError(func.getLoc())
             << "buffer \"" << bufferName << "\" (" << type
             << "): no samoyeds op says whether dynamic dimension " << d
             << " is T (tokens) or P (routed slots); give it a static size";
    shape.push_back(BufferAttr::encodeSymbol(it->second));
  }
  buffers.push_back(
      BufferAttr::get(ctx, bufferName, kind, type.getElementType(), shape));
  return success();
}

void BufferTable::bindWeight(Value v, StringRef base, RankedTensorType type,
                             SparseFormatAttr format) {
  int64_t e = type.getDimSize(0), r = type.getDimSize(1),
          k = type.getDimSize(2);
  int64_t kept = r / format.getM() * format.getN();
  auto found = weightLayouts.find(v);
  WeightLayout layout =
      found == weightLayouts.end() ? WeightLayout::MmaSp : found->second;
  // The wgmma layouts store values and metadata padded to whole 128-column
  // blocks and each half's kept rows padded to whole 64-row tiles
  // (docs/Format.md); the row choices keep one byte per span of K and
  // stored kept row.
  int64_t stored = WeightAttr::storedCols(layout, k);
  int64_t storedKept = WeightAttr::storedKeptRows(layout, kept);
  auto part = [&](WeightPartKind kind, Type elt, int64_t bytes) {
    std::string partName = (base + "." + stringifyWeightPartKind(kind)).str();
    buffers.push_back(
        WeightPartAttr::get(ctx, partName, base, kind, elt, bytes));
  };
  part(WeightPartKind::Values, type.getElementType(), e * storedKept * stored);
  part(WeightPartKind::Meta, IntegerType::get(ctx, 32, IntegerType::Unsigned),
       e * storedKept * stored / 8);
  if (!format.isPlain24())
    part(WeightPartKind::RowIdx,
         IntegerType::get(ctx, 8, IntegerType::Unsigned),
         e * (k / format.getV()) * storedKept);
  weights.push_back(WeightAttr::get(ctx, base, layout, type.getElementType(), e,
                                    r, k, format));
}

FailureOr<StringRef> BufferTable::bind(const KernelArg &arg) {
  if (!arg.value)
    return StringRef(arg.name);
  std::string base = name(arg.value);
  auto type = cast<RankedTensorType>(arg.value.getType());
  SparseFormatAttr format = getSparseFormat(type);
  if (bound.insert(arg.value).second) {
    if (format)
      bindWeight(arg.value, base, type, format);
    else if (failed(bindDense(arg.value, base)))
      return failure();
  }
  if (!arg.part.empty())
    base += "." + arg.part;
  return StringAttr::get(ctx, base).getValue();
}

FailureOr<KernelLaunchAttr> BufferTable::bindLaunch(const KernelLaunch &launch,
                                                    bool pdl) {
  SmallVector<GridDimAttr, 3> grid;
  for (const KernelLaunch::Dim &d : launch.grid) {
    if (d.perSM > 0)
      grid.push_back(GridDimAttr::getPerSM(ctx, d.perSM));
    else if (d.symbol.empty())
      grid.push_back(GridDimAttr::getConstant(ctx, d.constant));
    else if (d.experts > 0)
      grid.push_back(GridDimAttr::getTokenTiles(
          ctx, *symbolizeSizeSymbol(d.symbol), d.divisor, d.experts));
    else
      grid.push_back(GridDimAttr::getCeilDiv(
          ctx, *symbolizeSizeSymbol(d.symbol), d.divisor));
  }
  SmallVector<KernelArgAttr> args;
  for (const KernelArg &arg : launch.args) {
    if (arg.kind == KernelArg::Symbol) {
      args.push_back(
          KernelArgAttr::getSymbol(ctx, *symbolizeSizeSymbol(arg.symbol)));
    } else if (arg.kind == KernelArg::Constant) {
      args.push_back(KernelArgAttr::getI32(ctx, arg.number));
    } else {
      FailureOr<StringRef> buffer = bind(arg);
      if (failed(buffer))
        return failure();
      args.push_back(
          KernelArgAttr::getBuffer(ctx, *buffer, arg.number, arg.align));
    }
  }
  SlotGuardAttr when;
  if (!launch.whenSymbol.empty())
    when = SlotGuardAttr::get(
        ctx, *symbolizeSizeSymbol(launch.whenSymbol), launch.whenMin,
        launch.whenMax < 0 ? std::optional<int64_t>() : launch.whenMax);
  auto kernel = SymbolRefAttr::get(
      StringAttr::get(ctx, "samoyeds_kernels"),
      {FlatSymbolRefAttr::get(gpu::GPUFuncOp(launch.kernel).getNameAttr())});
  return KernelLaunchAttr::get(ctx, kernel, grid, launch.block,
                               launch.dynamicSmem, pdl, args, when);
}

LogicalResult BufferTable::finish() {
  SmallVector<Attribute> list(buffers);
  list.append(workspaces.begin(), workspaces.end());
  llvm::StringSet<> listed;
  for (Attribute buffer : list) {
    StringRef bufferName = getBufferEntryName(buffer);
    if (!listed.insert(bufferName).second)
      return func.emitOpError()
             << "two bundle buffers are named \"" << bufferName
             << "\" (a weight's parts are named NAME.values, NAME.meta and "
                "NAME.row_idx, workspaces ws_KERNEL); rename the argument "
                "or result";
  }
  func->setAttr(SamoyedsDialect::kBuffersAttrName, ArrayAttr::get(ctx, list));
  func->setAttr(SamoyedsDialect::kWeightsAttrName,
                ArrayAttr::get(ctx, weights));
  return success();
}
