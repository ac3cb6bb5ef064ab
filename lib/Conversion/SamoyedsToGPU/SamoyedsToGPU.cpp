//===- SamoyedsToGPU.cpp - Compile samoyeds ops into GPU kernels ----------===//
//
// Each samoyeds op of a host function becomes one or more gpu.func kernels in
// `gpu.module @samoyeds_kernels`. The host function keeps its ops (the
// runtime, not MLIR, executes the host side); each op records its launches
// in `samoyeds.launches`, and the function lists every buffer it binds in
// `samoyeds.buffers`. Dynamic sizes are named by two symbols: T (tokens) and
// P (routed token slots).
//
//===----------------------------------------------------------------------===//

#include "KernelUtils.h"
#include "samoyeds/Dialect/SamoyedsNVGPU/IR/SamoyedsNVGPU.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <limits>

namespace mlir::samoyeds {
#define GEN_PASS_DEF_CONVERTSAMOYEDSTOGPU
#include "samoyeds/Conversion/Passes.h.inc"
} // namespace mlir::samoyeds

using namespace mlir;
using namespace mlir::samoyeds;

namespace {
/// `base`, or `base_K` for the first K not in `taken`; the name is added.
std::string uniqueName(llvm::StringSet<> &taken, const std::string &base) {
  std::string name = base;
  for (int k = 1; !taken.insert(name).second; ++k)
    name = base + "_" + std::to_string(k);
  return name;
}

std::string dtypeName(Type t) {
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  if (t.isF32())
    return "f32";
  if (t.isInteger(32))
    return "i32";
  return "unknown";
}

/// Names, kinds and shapes of the buffers of one host function.
class BufferTable {
public:
  /// Arguments and results are named by their `samoyeds.name` (which the
  /// dialect verifies unique), others `argN`, `resultN` and temporaries `tN`,
  /// each skipping the names already given.
  BufferTable(func::FuncOp func) : func(func), ctx(func.getContext()) {
    StringRef attr = SamoyedsDialect::kNameAttrName;
    for (BlockArgument arg : func.getArguments())
      if (auto name =
              func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), attr))
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

  /// Records that dim `d` of `v` is the symbol `sym` (when dynamic).
  LogicalResult nameDim(Operation *op, Value v, unsigned d, StringRef sym) {
    auto type = cast<ShapedType>(v.getType());
    if (!type.isDynamicDim(d))
      return success();
    auto [it, inserted] = dims.try_emplace({v, d}, sym.str());
    if (!inserted && it->second != sym)
      return op->emitOpError() << "dimension " << d << " of " << v.getType()
                               << " is both " << it->second << " and " << sym;
    return success();
  }

  std::string name(Value v) {
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

  /// The manifest name of a kernel argument's buffer.
  std::string bufferName(const KernelArg &arg) {
    if (!arg.name.empty())
      return arg.name;
    std::string base = name(arg.value);
    return arg.part.empty() ? base : base + "." + arg.part;
  }

  void addWorkspace(StringRef wsName, Type elt, ArrayRef<Attribute> shape) {
    workspaces.push_back(dict({{"name", str(wsName)},
                               {"kind", str("workspace")},
                               {"dtype", str(dtypeName(elt))},
                               {"shape", ArrayAttr::get(ctx, shape)}}));
  }

  Attribute dimAttr(Value v, unsigned d) {
    auto type = cast<ShapedType>(v.getType());
    if (!type.isDynamicDim(d))
      return IntegerAttr::get(IntegerType::get(ctx, 64), type.getDimSize(d));
    auto it = dims.find({v, d});
    return str(it == dims.end() ? "?" : it->second);
  }

  /// The `samoyeds.buffers` list: every value a launch binds. Fails when an
  /// argument's name is also that of a weight part or workspace.
  FailureOr<ArrayAttr> buffers(ArrayRef<Value> bound) {
    SmallVector<Attribute> list;
    llvm::SmallDenseSet<Value> seen;
    for (Value v : bound) {
      if (!seen.insert(v).second)
        continue;
      auto type = cast<RankedTensorType>(v.getType());
      if (SparseFormatAttr format = getSparseFormat(type)) {
        appendWeight(list, v, type, format);
        continue;
      }
      StringRef kind = outputs.contains(v)     ? "output"
                       : isa<BlockArgument>(v) ? "input"
                                               : "workspace";
      SmallVector<Attribute> shape;
      for (unsigned d = 0; d < type.getRank(); ++d)
        shape.push_back(dimAttr(v, d));
      list.push_back(dict({{"name", str(name(v))},
                           {"kind", str(kind)},
                           {"dtype", str(dtypeName(type.getElementType()))},
                           {"shape", ArrayAttr::get(ctx, shape)}}));
    }
    list.append(workspaces.begin(), workspaces.end());
    llvm::StringSet<> listed;
    for (Attribute buffer : list) {
      auto name = cast<DictionaryAttr>(buffer).getAs<StringAttr>("name");
      if (!listed.insert(name).second)
        return func.emitOpError()
               << "two bundle buffers are named " << name
               << " (a weight's parts are named NAME.values, NAME.meta and "
                  "NAME.row_idx, workspaces ws_KERNEL); rename the argument "
                  "or result";
    }
    return ArrayAttr::get(ctx, list);
  }

  StringAttr str(StringRef s) { return StringAttr::get(ctx, s); }
  IntegerAttr i64(int64_t v) {
    return IntegerAttr::get(IntegerType::get(ctx, 64), v);
  }
  DictionaryAttr dict(ArrayRef<std::pair<StringRef, Attribute>> entries) {
    SmallVector<NamedAttribute> attrs;
    for (auto &[k, v] : entries)
      attrs.push_back(NamedAttribute(str(k), v));
    return DictionaryAttr::get(ctx, attrs);
  }

private:
  /// `base`, or `base_K` for the first K that no buffer has.
  std::string fresh(const std::string &base) { return uniqueName(taken, base); }

  void appendWeight(SmallVectorImpl<Attribute> &list, Value v,
                    RankedTensorType type, SparseFormatAttr format) {
    int64_t e = type.getDimSize(0), r = type.getDimSize(1),
            k = type.getDimSize(2);
    int64_t kept = r / format.getM() * format.getN();
    std::string base = name(v);
    auto part = [&](StringRef partName, StringRef dtype, int64_t bytes) {
      list.push_back(dict({{"name", str(base + "." + partName.str())},
                           {"kind", str("weight")},
                           {"dtype", str(dtype)},
                           {"bytes", i64(bytes)},
                           {"of", str(base)},
                           {"part", str(partName)}}));
    };
    part("values", dtypeName(type.getElementType()), e * kept * k);
    part("meta", "u32", e * kept * k / 8);
    if (!format.isPlain24())
      part("row_idx", "u8", e * (k / format.getV()) * kept);
    auto layout = weightLayouts.find(v);
    weights.push_back(
        dict({{"name", str(base)},
              {"layout", str(layout == weightLayouts.end() ? StringRef("mma_sp")
                                                           : layout->second)},
              {"dtype", str(dtypeName(type.getElementType()))},
              {"experts", i64(e)},
              {"rows", i64(r)},
              {"cols", i64(k)},
              {"n", i64(format.getN())},
              {"m", i64(format.getM())},
              {"v", i64(format.getV())}}));
  }

public:
  SmallVector<Attribute> weights;
  /// The packed layout each weight's kernel reads (docs/Format.md).
  llvm::DenseMap<Value, StringRef> weightLayouts;

private:
  func::FuncOp func;
  MLIRContext *ctx;
  llvm::DenseMap<Value, std::string> names;
  llvm::StringSet<> taken;
  llvm::SmallDenseSet<Value> outputs;
  llvm::DenseMap<std::pair<Value, unsigned>, std::string> dims;
  SmallVector<Attribute> workspaces;
  int temporaries = 0;
};

/// Names the dynamic dims of an ssmm's operands: T tokens, P slots.
LogicalResult nameSSMMDims(BufferTable &table, SSMMOp op) {
  Operation *o = op.getOperation();
  bool combine = op.getEpilogue() == EpilogueKind::WeightedCombine;
  if (failed(table.nameDim(o, op.getInput(), 0, op.getTokens() ? "T" : "P")))
    return failure();
  if (op.getTokens() && failed(table.nameDim(o, op.getTokens(), 0, "P")))
    return failure();
  if (combine && (failed(table.nameDim(o, op.getRoutingWeights(), 0, "T")) ||
                  failed(table.nameDim(o, op.getPositions(), 0, "T"))))
    return failure();
  return table.nameDim(o, op.getResult(), 0, combine ? "T" : "P");
}

/// The most experts a route kernel (its logits and probabilities fill 48 KiB
/// of static shared memory) and an expert matmul (whose size grows with the
/// count) are compiled for.
constexpr int64_t kMaxRouteExperts = 48 * 1024 / 8;
constexpr int64_t kMaxMatmulExperts = 8192;
/// The most experts per token (top_k) the route and combine kernels, which
/// are unrolled over them, are compiled for.
constexpr int64_t kMaxTopK = 256;

/// Refuses static sizes a bundle cannot describe: the runtime reads buffer
/// dimensions as 32-bit and weight byte counts as 64-bit integers; and
/// expert counts the kernels cannot hold.
LogicalResult verifyBundleSizes(Operation *op) {
  auto check = [&](Type type, StringRef what, unsigned index) -> LogicalResult {
    auto shaped = dyn_cast<ShapedType>(type);
    if (!shaped || !shaped.hasRank())
      return success();
    for (auto [d, size] : llvm::enumerate(shaped.getShape()))
      if (!ShapedType::isDynamic(size) &&
          size > std::numeric_limits<int32_t>::max())
        return op->emitOpError()
               << what << " " << index << " (" << type << "): dimension " << d
               << " is " << size << ", more than the "
               << std::numeric_limits<int32_t>::max() << " a bundle describes";
    if (!getSparseFormat(type))
      return success();
    std::optional<int64_t> bytes = shaped.getElementTypeBitWidth() / 8;
    for (int64_t size : shaped.getShape())
      if (bytes && !ShapedType::isDynamic(size))
        bytes = llvm::checkedMul(*bytes, size);
    if (!bytes)
      return op->emitOpError() << what << " " << index << " (" << type
                               << "): a weight of more than 2^63 bytes";
    return success();
  };
  for (auto [i, type] : llvm::enumerate(op->getOperandTypes()))
    if (failed(check(type, "operand", i)))
      return failure();
  for (auto [i, type] : llvm::enumerate(op->getResultTypes()))
    if (failed(check(type, "result", i)))
      return failure();
  // The route kernel keeps two f32 per expert in static shared memory (48
  // KiB at most); the matmul kernels unroll a scan over the experts, so
  // their size grows with the count.
  if (auto route = dyn_cast<RouteOp>(op)) {
    int64_t experts =
        cast<ShapedType>(route.getRouter().getType()).getDimSize(0);
    if (experts > kMaxRouteExperts)
      return op->emitOpError()
             << "routes over " << experts << " experts; its kernel keeps 8 "
             << "bytes per expert in static shared memory, which holds "
             << kMaxRouteExperts;
    if (route.getTopK() > kMaxTopK)
      return op->emitOpError()
             << "routes each token to top_k = " << route.getTopK()
             << " experts; the route kernel is compiled for at most "
             << kMaxTopK;
  }
  if (auto ssmm = dyn_cast<SSMMOp>(op)) {
    int64_t experts =
        cast<ShapedType>(ssmm.getWeight().getType()).getDimSize(0);
    if (experts > kMaxMatmulExperts)
      return op->emitOpError()
             << "has " << experts << " experts; the kernels are compiled for "
             << "at most " << kMaxMatmulExperts;
    if (Value weights = ssmm.getRoutingWeights()) {
      int64_t topK = cast<ShapedType>(weights.getType()).getDimSize(1);
      if (topK > kMaxTopK)
        return op->emitOpError()
               << "combines top_k = " << topK << " slots per token; the "
               << "combine kernel is compiled for at most " << kMaxTopK;
    }
  }
  return success();
}

/// Whether `c` may follow the first character of a PTX identifier.
bool isPTXIdentifierChar(char c) {
  return llvm::isAlnum(c) || c == '_' || c == '$';
}

/// `name` made a PTX identifier ([a-zA-Z][a-zA-Z0-9_$]* or [_$][a-zA-Z0-9_$]+
/// once a suffix follows): every other byte becomes '_', and a leading digit
/// gets a '_' before it. A name that is one already is returned unchanged.
std::string ptxIdentifierPrefix(StringRef name) {
  std::string out = name.str();
  for (char &c : out)
    if (!isPTXIdentifierChar(c))
      c = '_';
  if (!out.empty() && llvm::isDigit(out.front()))
    out.insert(out.begin(), '_');
  return out;
}

using Launches = SmallVector<KernelLaunch, 2>;

FailureOr<Launches> single(FailureOr<KernelLaunch> launch) {
  if (failed(launch))
    return failure();
  return Launches{*launch};
}

FailureOr<Launches> lowerRoute(RouteOp op, BufferTable &table,
                               OpBuilder &builder, gpu::GPUModuleOp kernels,
                               StringRef base) {
  for (Value v : {op.getHidden(), op.getWeights(), op.getExpertIds()})
    if (failed(table.nameDim(op, v, 0, "T")))
      return failure();
  return single(buildRouteKernel(builder, kernels, op, base));
}

FailureOr<Launches> lowerDispatch(DispatchOp op, BufferTable &table,
                                  OpBuilder &builder, gpu::GPUModuleOp kernels,
                                  StringRef base) {
  if (failed(table.nameDim(op, op.getExpertIds(), 0, "T")) ||
      failed(table.nameDim(op, op.getPositions(), 0, "T")) ||
      failed(table.nameDim(op, op.getTokens(), 0, "P")))
    return failure();
  return single(buildDispatchKernel(builder, kernels, op, base));
}

/// Restricts `launch` to calls whose P is in [lo, hi] (hi < 0: no bound).
static void guardBySlots(KernelLaunch &launch, int64_t lo, int64_t hi) {
  launch.whenSymbol = "P";
  launch.whenMin = lo;
  launch.whenMax = hi;
}

/// The matmul kernel; with weighted_combine it writes f32 rows to a
/// workspace that a second, deterministic combine kernel reduces. A tile with
/// split_k > 1 adds the split-K variant, guarded by P <= split_slots (the
/// unsplit launches by P > split_slots): its matmul writes partial rows to a
/// workspace of split_k × split_slots rows, which the combine or a split
/// reduction sums in slice order. A tile with persistent > 0 adds the
/// persistent variant for P >= persistent_slots, or uses it instead of the
/// ordinary grid when that is every unsplit call; below persistent_slots a
/// strategy whose persistent grid always wins runs it with `tokens`.
FailureOr<Launches> lowerSSMM(SSMMOp op, BufferTable &table, OpBuilder &builder,
                              gpu::GPUModuleOp kernels, StringRef base) {
  if (failed(nameSSMMDims(table, op)))
    return failure();
  // One buffer holds one packed layout: every matmul reading it must agree.
  StringRef layout = getWeightLayout(op);
  auto [known, added] = table.weightLayouts.try_emplace(op.getWeight(), layout);
  if (!added && known->second != layout)
    return op.emitOpError()
           << "reads its weight in the '" << layout
           << "' layout, but another samoyeds.ssmm of the function reads the "
           << "same weight in the '" << known->second
           << "' layout; give both the same MMA strategy";
  bool combine = op.getEpilogue() == EpilogueKind::WeightedCombine;
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t rows = wType.getDimSize(1);
  TileConfigAttr tile = op.getTileAttr();
  int64_t splits = tile ? tile.getSplitK() : 1;
  int64_t slots = splits > 1 ? tile.getSplitSlots() : 0;
  // Unsplit calls: P > slots (every call without split-K).
  int64_t unsplitFrom = splits > 1 ? slots + 1 : 0;
  bool persistent = tile && tile.getPersistent() > 0;
  int64_t persistentFrom =
      persistent ? std::max(tile.getPersistentSlots(), unsplitFrom) : -1;
  bool plain =
      !persistent || persistentFrom > std::max<int64_t>(unsplitFrom, 1);

  Launches launches;
  auto addMatmul = [&](StringRef name, SSMMVariant variant, int64_t lo,
                       int64_t hi) -> LogicalResult {
    FailureOr<KernelLaunch> matmul =
        buildSSMMKernel(builder, kernels, op, name, variant);
    if (failed(matmul))
      return failure();
    if (lo > 0 || hi >= 0)
      guardBySlots(*matmul, lo, hi);
    launches.push_back(*matmul);
    return success();
  };
  // Below persistent_slots: the ordinary grid, or the persistent one with
  // the tile's tokens where the strategy's persistent grid always wins.
  bool narrow = persistent && isPersistentAtEverySize(op);
  if (plain && failed(addMatmul(
                   narrow ? (base + "_persistent_narrow").str() : base.str(),
                   narrow ? SSMMVariant::PersistentNarrow : SSMMVariant::Plain,
                   unsplitFrom, persistent ? persistentFrom - 1 : -1)))
    return failure();
  // A persistent grid is never empty: it runs from one routed slot.
  if (persistent &&
      failed(addMatmul((base + "_persistent").str(), SSMMVariant::Persistent,
                       std::max<int64_t>(persistentFrom, 1), -1)))
    return failure();
  if (combine) {
    // Both unsplit variants write the same workspace; one of them runs.
    std::string ws = "ws_" + base.str();
    table.addWorkspace(ws, builder.getF32Type(),
                       {table.str("P"), table.i64(rows)});
    for (KernelLaunch &launch : launches)
      launch.args.back() = KernelArg{KernelArg::Buffer, Value(), "", ws, "", 4};
    FailureOr<KernelLaunch> reduce =
        buildCombineKernel(builder, kernels, op, ws, (base + "_combine").str());
    if (failed(reduce))
      return failure();
    if (unsplitFrom > 0)
      guardBySlots(*reduce, unsplitFrom, -1);
    launches.push_back(*reduce);
  }
  if (splits == 1)
    return launches;

  std::string splitBase = (base + "_split").str();
  FailureOr<KernelLaunch> matmul =
      buildSSMMKernel(builder, kernels, op, splitBase, SSMMVariant::Split);
  if (failed(matmul))
    return failure();
  std::string ws = "ws_" + splitBase;
  table.addWorkspace(ws, builder.getF32Type(),
                     {table.i64(splits * slots), table.i64(rows)});
  matmul->args.back() = KernelArg{KernelArg::Buffer, Value(), "", ws, "", 4};
  FailureOr<KernelLaunch> reduce =
      combine ? buildCombineKernel(builder, kernels, op, ws,
                                   splitBase + "_combine", splits, slots)
              : buildSplitReduceKernel(builder, kernels, op, ws,
                                       splitBase + "_reduce");
  if (failed(reduce))
    return failure();
  for (KernelLaunch *launch : {&*matmul, &*reduce}) {
    guardBySlots(*launch, 1, slots);
    launches.push_back(*launch);
  }
  return launches;
}

struct ConvertSamoyedsToGPU
    : samoyeds::impl::ConvertSamoyedsToGPUBase<ConvertSamoyedsToGPU> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder builder(module.getContext());
    kernelBases.clear();
    gpu::GPUModuleOp kernels;
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (failed(convertFunc(func, builder, kernels)))
        return signalPassFailure();
    }
  }

  LogicalResult convertFunc(func::FuncOp func, OpBuilder &builder,
                            gpu::GPUModuleOp &kernels) {
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (isa<SamoyedsDialect>(op->getDialect()))
        ops.push_back(op);
    });
    if (ops.empty())
      return success();
    ModuleOp module = getOperation();
    if (!kernels) {
      builder.setInsertionPointToEnd(module.getBody());
      kernels = gpu::GPUModuleOp::create(builder, module.getLoc(),
                                         "samoyeds_kernels");
      module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                      builder.getUnitAttr());
    }
    BufferTable table(func);
    SmallVector<Value> bound;
    int counter = 0;
    for (Operation *op : ops) {
      if (failed(verifyBundleSizes(op)))
        return failure();
      std::string base = kernelBase(func, op, counter++);
      FailureOr<SmallVector<KernelLaunch, 2>> lowered =
          llvm::TypeSwitch<Operation *,
                           FailureOr<SmallVector<KernelLaunch, 2>>>(op)
              .Case([&](RouteOp route) {
                return lowerRoute(route, table, builder, kernels, base);
              })
              .Case([&](DispatchOp dispatch) {
                return lowerDispatch(dispatch, table, builder, kernels, base);
              })
              .Case([&](SSMMOp ssmm) {
                return lowerSSMM(ssmm, table, builder, kernels, base);
              })
              .Default([](Operation *op) {
                return op->emitOpError()
                       << "has no GPU lowering; run samoyeds-decompose-moe "
                          "first";
              });
      if (failed(lowered))
        return failure();
      SmallVector<KernelLaunch, 2> &launches = *lowered;
      SmallVector<Attribute> records;
      for (KernelLaunch &launch : launches) {
        for (KernelArg &arg : launch.args)
          if (arg.kind == KernelArg::Buffer && arg.value)
            bound.push_back(arg.value);
        records.push_back(record(table, launch));
      }
      op->setAttr("samoyeds.launches", builder.getArrayAttr(records));
    }
    FailureOr<ArrayAttr> buffers = table.buffers(bound);
    if (failed(buffers))
      return failure();
    func->setAttr("samoyeds.buffers", *buffers);
    func->setAttr("samoyeds.weights", builder.getArrayAttr(table.weights));
    return success();
  }

  /// The name of an op's first kernel, FUNC_OP_N, which its other kernels
  /// extend with `_persistent`, `_combine`, `_split`, ... . FUNC is the host
  /// function's name made a PTX identifier, and a `_K` suffix keeps two
  /// functions whose names map to the same identifier apart: the names end
  /// in a digit and their extensions do not, so every kernel name is unique.
  std::string kernelBase(func::FuncOp func, Operation *op, int counter) {
    std::string base = ptxIdentifierPrefix(func.getSymName()) + "_" +
                       op->getName().stripDialect().str() + "_" +
                       std::to_string(counter);
    return uniqueName(kernelBases, base);
  }

  DictionaryAttr record(BufferTable &table, const KernelLaunch &launch) {
    SmallVector<Attribute> grid, block, args;
    for (const KernelLaunch::Dim &d : launch.grid) {
      if (d.perSM > 0) {
        grid.push_back(table.dict({{"per_sm", table.i64(d.perSM)}}));
        continue;
      }
      if (d.symbol.empty()) {
        grid.push_back(table.dict({{"const", table.i64(d.constant)}}));
        continue;
      }
      SmallVector<std::pair<StringRef, Attribute>> entry = {
          {"ceil_div", table.str(d.symbol)}, {"by", table.i64(d.divisor)}};
      if (d.plus)
        entry.push_back({"plus", table.i64(d.plus)});
      grid.push_back(table.dict(entry));
    }
    for (int64_t b : launch.block)
      block.push_back(table.i64(b));
    for (const KernelArg &arg : launch.args) {
      switch (arg.kind) {
      case KernelArg::Buffer:
        args.push_back(table.dict({{"buffer", table.str(table.bufferName(arg))},
                                   {"elem_bytes", table.i64(arg.number)}}));
        break;
      case KernelArg::Symbol:
        args.push_back(table.dict({{"symbol", table.str(arg.symbol)}}));
        break;
      case KernelArg::Constant:
        args.push_back(table.dict({{"i32", table.i64(arg.number)}}));
        break;
      }
    }
    auto kernel = SymbolRefAttr::get(
        table.str("samoyeds_kernels"),
        {FlatSymbolRefAttr::get(gpu::GPUFuncOp(launch.kernel).getNameAttr())});
    SmallVector<std::pair<StringRef, Attribute>> entries = {
        {"kernel", kernel},
        {"grid", ArrayAttr::get(kernel.getContext(), grid)},
        {"block", ArrayAttr::get(kernel.getContext(), block)},
        {"smem", table.i64(launch.dynamicSmem)},
        {"args", ArrayAttr::get(kernel.getContext(), args)}};
    if (!launch.whenSymbol.empty()) {
      SmallVector<std::pair<StringRef, Attribute>> when = {
          {"symbol", table.str(launch.whenSymbol)},
          {"min", table.i64(launch.whenMin)}};
      if (launch.whenMax >= 0)
        when.push_back({"max", table.i64(launch.whenMax)});
      entries.push_back({"when", table.dict(when)});
    }
    return table.dict(entries);
  }

  /// The kernel name prefixes handed out in this run.
  llvm::StringSet<> kernelBases;
};
} // namespace
