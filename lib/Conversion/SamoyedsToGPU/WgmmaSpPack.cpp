//===- WgmmaSpPack.cpp - The wide variant's packed input ------------------===//
//
// With tile wide_packed = 1 the wide variant of a wgmma_sp matmul (or, in a
// tile without one, the persistent grid of its large calls) reads its
// input from a workspace that this kernel writes right before it: token tile
// g's rows (a row per routed slot of the tile, through the token list where
// the op gathers), 64 columns a block, in the 128-byte-swizzled B layout of
// the ring:
//
//   packed[g][c][r][8 chunks of 16 bytes], chunk j of row r at j ^ (r % 8)
//
// so that a stage (kTile / 64 consecutive column blocks) is one contiguous
// run that one bulk copy brings. A block packs one token tile's 128
// columns: 16 threads a row (16 bytes each), 16 rows a pass; its loads are
// issued before its stores. It writes only the rows the wide kernel's MMAs
// read (with token steps, the tile's slots rounded up to the step: the
// wide kernel copies no others), zero past the tile's slots; rows past
// those are neither loaded nor stored.
//
//===----------------------------------------------------------------------===//

#include "LaunchPlan.h"
#include "WgmmaSpLayout.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
constexpr int64_t kPackThreads = 256, kPackCols = 128;

class PackEmitter : public EmitterBase {
public:
  PackEmitter(ImplicitLocOpBuilder &b, Type elt, int64_t cols, int64_t tokens,
              int64_t tokenStep, int64_t experts, bool gather)
      : EmitterBase(b), elt(elt), cols(cols), tokens(tokens),
        tokenStep(tokenStep), experts(experts), gather(gather) {}

  void emit(gpu::GPUFuncOp func) {
    Block &entry = func.getBody().front();
    b.setInsertionPointToStart(&entry);
    unsigned arg = 0;
    Value input = entry.getArgument(arg++), offsets = entry.getArgument(arg++);
    Value tokenList = gather ? entry.getArgument(arg++) : Value();
    Value packed = entry.getArgument(arg++);
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value colBlock = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    Value g = gpu::BlockIdOp::create(b, gpu::Dimension::y);
    TokenTile tile =
        findTokenTile(b, offsets, rem(tid, idx(32)), g, experts, tokens);
    ifThen(cmp(arith::CmpIPredicate::slt, tile.start, tile.end), [&] {
      Value count =
          arith::MinSIOp::create(b, idx(tokens), sub(tile.end, tile.start));
      int64_t perRow = kPackCols / 8;
      Value j = rem(tid, idx(perRow));
      Value r0 = div(tid, idx(perRow));
      Value col = add(mul(colBlock, idx(kPackCols)), mul(j, idx(8)));
      auto vecType = VectorType::get({8}, elt);
      Value zero =
          constant(DenseElementsAttr::get(vecType, b.getFloatAttr(elt, 0.0)));
      // With token steps, the rows the wide kernel's MMAs read (its
      // mmaRows); without, every row.
      Value bound = tokenStep ? stepRows(count, tokens, tokenStep) : Value();
      // Every pass's load first (a row of the tile's slots, the tile's
      // last row past them), then the stores.
      SmallVector<Value> rows, live, values;
      for (int64_t r = 0; r < tokens; r += kPackThreads / perRow) {
        Value row = add(r0, idx(r));
        Value slot =
            add(tile.start, arith::MinSIOp::create(b, row, sub(count, idx(1))));
        rows.push_back(row);
        live.push_back(bound ? cmp(arith::CmpIPredicate::ult, row, bound)
                             : Value());
        values.push_back(loadIf(live.back(), zero, [&] {
          Value src = gather ? loadIndex(tokenList, slot) : slot;
          return vector::LoadOp::create(
              b, vecType, input, ValueRange{add(mul(src, idx(cols)), col)},
              /*nontemporal=*/false, llvm::MaybeAlign(16));
        }));
      }
      Value block = add(mul(g, idx(cols / 64)), div(col, idx(64)));
      Value chunk = rem(j, idx(Wgmma::kChunksPerRow));
      for (auto [row, isLive, value] : llvm::zip(rows, live, values)) {
        auto store = [&, row = row, value = value] {
          Value kept = cmp(arith::CmpIPredicate::ult, row, count);
          Value swizzled = arith::XOrIOp::create(b, chunk, rem(row, idx(8)));
          Value at = add(mul(add(mul(block, idx(tokens)), row), idx(64)),
                         mul(swizzled, idx(8)));
          vector::StoreOp::create(b, select(kept, value, zero), packed,
                                  ValueRange{at}, /*nontemporal=*/false,
                                  llvm::MaybeAlign(16));
        };
        if (isLive)
          ifThen(isLive, store);
        else
          store();
      }
    });
    gpu::ReturnOp::create(b);
  }

private:
  /// `load()`'s vector where `live` holds, `zero` where not (an scf.if);
  /// `load()` alone where `live` is null.
  Value loadIf(Value live, Value zero, function_ref<Value()> load) {
    if (!live)
      return load();
    auto ifOp = scf::IfOp::create(b, TypeRange{zero.getType()}, live,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, ValueRange{load()});
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, ValueRange{zero});
    return ifOp.getResult(0);
  }

  Type elt;
  int64_t cols, tokens, tokenStep, experts;
  bool gather;
};
} // namespace

FailureOr<KernelLaunch> mlir::samoyeds::buildWidePackKernel(
    OpBuilder &builder, gpu::GPUModuleOp module, SSMMOp op, StringRef workspace,
    StringRef name, int64_t fromSlots, SSMMVariant variant) {
  FailureOr<SSMMPlan> plan = makePlan(op, variant);
  if (failed(plan))
    return failure();
  const SSMMPlan &p = *plan;
  assert(p.packed && p.strategy == MmaStrategy::WgmmaSp &&
         "tile wide_packed = 1 is a wgmma_sp tile's (its verifier)");
  // Each expert's last tile is padded to `tokens` rows.
  if (TileConfigAttr::widePackedRowsPerSlot(p.experts, p.tokens, fromSlots) ==
      0)
    return op.emitOpError()
           << "tile wide_packed = 1 needs the "
           << (p.wide ? "wide variant's" : "persistent grid's")
           << " calls to have at least experts × (tokens - 1) / 2 = "
           << TileConfigAttr::widePackedMinSlots(p.experts, p.tokens)
           << " routed slots, but they start at " << fromSlots << "; raise "
           << (p.wide ? "wide_slots" : "persistent_slots");
  // makePlan checked that the k tiles (multiples of 128) cover the input,
  // and verifyPaddedK that it is not padded.
  if (failed(verifyPaddedK(op, p)))
    return failure();
  assert(p.cols % kPackCols == 0 && "whole 128-column stages");
  MLIRContext *ctx = op.getContext();
  Type i32 = IntegerType::get(ctx, 32);
  KernelLaunch launch;
  SmallVector<Type> argTypes = {globalBuffer(p.elt), globalBuffer(i32)};
  launch.args = {bufferArg(op.getInput(), 2, kVectorAlign),
                 bufferArg(op.getOffsets(), 4)};
  if (p.gather) {
    argTypes.push_back(globalBuffer(i32));
    launch.args.push_back(bufferArg(op.getTokens(), 4));
  }
  argTypes.push_back(globalBuffer(p.elt));
  launch.args.push_back(workspaceArg(workspace, 2));
  launch.args.back().align = kVectorAlign;
  auto func =
      createKernel(builder, module, op.getLoc(), name, argTypes, kPackThreads);
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  PackEmitter(b, p.elt, p.cols, p.tokens, p.tokenStep, p.experts, p.gather)
      .emit(func);

  launch.kernel = func;
  launch.grid[0].constant = p.cols / kPackCols;
  launch.grid[1].symbol = "P";
  launch.grid[1].divisor = p.tokens;
  launch.grid[1].experts = p.experts;
  launch.block[0] = kPackThreads;
  return launch;
}
