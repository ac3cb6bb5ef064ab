//===- SSMMKernel.cpp - The mma.sp expert-matmul kernel -------------------===//
//
// Builds the gpu.func of one samoyeds.ssmm. The packed weight layout it reads
// is specified in docs/Format.md. Per block: `warps` × `token_warps` warps,
// each owning `row_tiles` 16-row tiles of kept rows (per half for silu_mul:
// gate and up) and one slice of the block's `tokens` routed tokens of one
// expert. Activations are gathered through the token list by cp.async into a
// multi-stage shared-memory ring, read with ldmatrix, and multiplied with
// mma.sp::ordered_metadata m16n8k32 (f32 accumulation). With row selection
// (n = 1 < m), either each span's partial sums are added into the accumulator
// of the original row they stand for (row_masks = 0), or the group's total
// and m - 1 accumulators fed by mma.sp with masked weight registers are kept
// and row 0 is the total minus the others (row_masks = 1). The split-K
// variant multiplies one slice of K per grid z and writes raw f32 partial
// sums for a reduction kernel.
//
//===----------------------------------------------------------------------===//

#include "KernelUtils.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
/// The most shared memory a block may opt in to on any supported chip
/// (sm_90; sm_80 allows 163 KB, which samoyeds-select-tiles respects).
constexpr int64_t kDynamicSmemLimit = 227 * 1024;

/// Static parameters of one expert-matmul kernel.
struct Plan {
  int64_t experts, rows, cols, n, m, v;
  int64_t warps, tokens, kTile, stages, tokenWarps, rowTiles;
  /// K slices (grid z) and the workspace's rows per slice; 1 and 0 for the
  /// unsplit kernel.
  int64_t splitK = 1, splitSlots = 0;
  bool gather, rowSelect, siluMul;
  /// Row selection by masked mma.sp (see #samoyeds.tile's row_masks).
  bool masked = false;
  Type elt, outElt;
  int64_t halves, keptRows, keptTilesPerHalf, kSteps, outCols;
  int64_t threads() const { return warps * tokenWarps * 32; }
  /// Tokens of one warp's slice.
  int64_t warpTokens() const { return tokens / tokenWarps; }
  int64_t accsPerValue() const { return rowSelect ? m : 1; }
  /// A warp's 16-row tiles ("units"): `rowTiles` per half; unit u is tile
  /// u % rowTiles of half u / rowTiles.
  int64_t units() const { return halves * rowTiles; }
  /// Spans a pipeline stage covers (1 when the span is a whole number of
  /// stages).
  int64_t spansPerStage() const { return kTile > v ? kTile / v : 1; }
  bool split() const { return splitK > 1; }
  int64_t kTilesPerSplit() const { return cols / kTile / splitK; }
};

FailureOr<Plan> makePlan(SSMMOp op, bool split) {
  Plan p;
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  SparseFormatAttr format = op.getFormat();
  TileConfigAttr tile = op.getTileAttr();
  if (!tile)
    return op.emitOpError() << "has no #samoyeds.tile; run "
                            << "samoyeds-select-tiles first";
  if (wType.isDynamicDim(0) || wType.isDynamicDim(1) || wType.isDynamicDim(2))
    return op.emitOpError()
           << "needs a static weight shape to be compiled, got " << wType;
  p.experts = wType.getDimSize(0);
  p.rows = wType.getDimSize(1);
  p.cols = wType.getDimSize(2);
  p.n = format.getN();
  p.m = format.getM();
  p.v = format.getV();
  if (p.n != 1 && p.n != p.m)
    return op.emitOpError()
           << "the kernel supports n = 1 or n = m, got n = " << p.n
           << ", m = " << p.m;
  p.rowSelect = p.n < p.m;
  p.warps = tile.getWarps();
  p.tokens = tile.getTokens();
  p.kTile = tile.getK();
  p.stages = tile.getStages();
  p.tokenWarps = tile.getTokenWarps();
  p.rowTiles = tile.getRowTiles();
  p.masked = p.rowSelect && tile.getRowMasks() == 1;
  p.gather = static_cast<bool>(op.getTokens());
  p.siluMul = op.getEpilogue() == EpilogueKind::SiluMul;
  p.elt = wType.getElementType();
  if (split) {
    p.splitK = tile.getSplitK();
    p.splitSlots = tile.getSplitSlots();
  }
  p.outElt = op.getEpilogue() == EpilogueKind::WeightedCombine || split
                 ? Type(Float32Type::get(op.getContext()))
                 : p.elt;
  p.halves = p.siluMul ? 2 : 1;
  p.keptRows = p.rows / p.m * p.n;
  p.keptTilesPerHalf = p.keptRows / p.halves / 16;
  p.kSteps = p.cols / 32;
  p.outCols = p.siluMul ? p.rows / 2 : p.rows;
  if (p.cols % p.kTile != 0)
    return op.emitOpError() << "tile k = " << p.kTile << " must divide the "
                            << p.cols << " weight columns";
  if (p.rowSelect && p.v % p.kTile != 0 && p.kTile % p.v != 0)
    return op.emitOpError() << "tile k = " << p.kTile << " and span v = " << p.v
                            << " must divide one another";
  if (p.keptTilesPerHalf % (p.warps * p.rowTiles) != 0)
    return op.emitOpError()
           << "tile warps = " << p.warps << " × row_tiles = " << p.rowTiles
           << " must divide the " << p.keptTilesPerHalf << " kept 16-row tiles";
  // Every K slice is whole k tiles and, with row selection, whole spans.
  int64_t sliceQuantum = p.rowSelect ? std::max(p.kTile, p.v) : p.kTile;
  if (p.cols % (p.splitK * sliceQuantum) != 0)
    return op.emitOpError()
           << "tile split_k = " << p.splitK << " must cut the " << p.cols
           << " columns into slices of whole multiples of " << sliceQuantum
           << (p.rowSelect ? " (k tile and span)" : " (k tile)");
  return p;
}

/// The three shared-memory buffers, carved in this order out of the block's
/// dynamic shared memory: the activation ring [stage][token][k + 8 pad], the
/// weight fragments [stage][row warp][unit][k step][lane][4 x i32] and the
/// metadata [stage][row warp][unit][k step][16 x i32], then (masked row
/// selection) the row choices. Each size is a multiple
/// of 16 bytes, so every buffer stays 16-byte aligned for cp.async.
SmallVector<MemRefType, 4> smemLayout(const Plan &p, MLIRContext *ctx) {
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Type i32 = IntegerType::get(ctx, 32);
  int64_t stepsPerStage = p.kTile / 32;
  return {MemRefType::get({p.stages, p.tokens, p.kTile + 8}, p.elt, AffineMap(),
                          workgroup),
          MemRefType::get({p.stages, p.warps, p.units(), stepsPerStage, 32, 4},
                          i32, AffineMap(), workgroup),
          MemRefType::get({p.stages, p.warps, p.units(), stepsPerStage, 16},
                          i32, AffineMap(), workgroup),
          // Row choices of masked row selection: [stage][row warp][unit]
          // [span of the stage][16 kept rows] (one byte each).
          MemRefType::get({p.stages, p.warps, p.masked ? p.units() : 0,
                           p.spansPerStage(), 16},
                          IntegerType::get(ctx, 8), AffineMap(), workgroup)};
}

int64_t byteSize(MemRefType t) {
  return t.getNumElements() * t.getElementTypeBitWidth() / 8;
}

/// Emits the kernel body. All values are per thread.
class SSMMEmitter : public EmitterBase {
public:
  SSMMEmitter(ImplicitLocOpBuilder &b, const Plan &p) : EmitterBase(b), p(p) {}

  void emit(gpu::GPUFuncOp func);

private:
  /// Per-thread accumulators: [unit][acc m][n-frag][4] then the span
  /// partials [unit][n-frag][4] when rows are selected.
  int64_t accIndex(int64_t u, int64_t mIdx, int64_t f, int64_t v) const {
    return ((u * p.accsPerValue() + mIdx) * nFrags() + f) * 4 + v;
  }
  int64_t numAccs() const {
    return p.units() * p.accsPerValue() * nFrags() * 4;
  }
  int64_t partialIndex(int64_t u, int64_t f, int64_t v) const {
    return numAccs() + (u * nFrags() + f) * 4 + v;
  }
  int64_t numCarried() const {
    return numAccs() +
           (p.rowSelect && !p.masked ? p.units() * nFrags() * 4 : 0);
  }
  /// The sum of output row `mIdx` of unit `u`'s group (row selection) or of
  /// its row: with masked row selection, set 0 is the group's total.
  Value rowValue(ArrayRef<Value> carried, int64_t u, int64_t mIdx, int64_t f,
                 int64_t v) {
    if (!p.masked || mIdx != 0)
      return carried[accIndex(u, mIdx, f, v)];
    Value total = carried[accIndex(u, 0, f, v)];
    for (int64_t j = 1; j < p.m; ++j)
      total = arith::SubFOp::create(b, total, carried[accIndex(u, j, f, v)]);
    return total;
  }
  int64_t nFrags() const { return p.warpTokens() / 8; }
  int64_t rowStride() const { return p.kTile + 8; }

  /// NVVM's mma.sp takes bf16 pairs as i32 and f16 pairs as vector<2xf16>;
  /// converts a 32-bit register (i32 or a pair) to that form.
  Value mmaOperand(Value reg) {
    Type want = p.elt.isBF16() ? Type(b.getI32Type())
                               : Type(VectorType::get({2}, p.elt));
    if (reg.getType() == want)
      return reg;
    return LLVM::BitcastOp::create(b, want, reg);
  }
  void issueStageLoad(Value kt, Value stage);
  void computeStage(Value kt, Value stage, SmallVectorImpl<Value> &carried);
  void routeSpan(Value spanIdx, Value isEnd, SmallVectorImpl<Value> &carried);
  void emitEpilogue(ArrayRef<Value> carried);
  /// The split-K variant's epilogue: raw f32 sums to the workspace.
  void emitPartials(ArrayRef<Value> carried);
  /// Sets `expert` and `start` to the token tile of block row `by`, and `end`
  /// to the expert's last slot (start = end when the block has no tile).
  void findTokenTile(Value by, Value &end);
  /// The 16-row tile of kept rows of the warp's unit `u`, within the expert
  /// (keptTile) and within the stacked experts' packed arrays (weightTile).
  Value keptTile(int64_t u);
  Value weightTile(int64_t u);

  const Plan &p;
  Value values, meta, rowIdx, input, offsets, tokenList, out, smem, smemA,
      smemMeta, smemRows, slice;
  /// `warp` is the warp's kept-row tile in the block, `tokenBase` the first
  /// token of its slice.
  Value lane, warp, group, tig, blockRows, expert, tokenWarp, tokenBase;
  Value start, count;
  /// Per copy slot: destination row, column and source element offset.
  struct CopySlot {
    Value guard, row, col, srcBase, srcElems;
  };
  SmallVector<CopySlot> copies;
};
} // namespace

Value SSMMEmitter::keptTile(int64_t u) {
  int64_t h = u / p.rowTiles, r = u % p.rowTiles;
  return add(idx(h * p.keptTilesPerHalf + r),
             add(blockRows, mul(warp, idx(p.rowTiles))));
}

Value SSMMEmitter::weightTile(int64_t u) {
  return add(mul(expert, idx(p.keptRows / 16)), keptTile(u));
}

void SSMMEmitter::issueStageLoad(Value kt, Value stage) {
  // The warp's own weight fragments and metadata for the stage: one 16-byte
  // copy per lane and k-step (values), one 4-byte copy per lane < 16 (meta).
  int64_t stepsPerStage = p.kTile / 32;
  Value isMetaLane = cmp(arith::CmpIPredicate::ult, lane, idx(16));
  for (int64_t u = 0; u < p.units(); ++u) {
    for (int64_t ks = 0; ks < stepsPerStage; ++ks) {
      // The warps of a row tile take turns copying its fragments.
      int64_t copier = (u * stepsPerStage + ks) % p.tokenWarps;
      OpBuilder::InsertionGuard guard(b);
      if (p.tokenWarps > 1) {
        auto ifOp = scf::IfOp::create(
            b, cmp(arith::CmpIPredicate::eq, tokenWarp, idx(copier)),
            /*withElseRegion=*/false);
        b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      }
      Value kstep = add(mul(kt, idx(stepsPerStage)), idx(ks));
      Value tileStep = add(mul(weightTile(u), idx(p.kSteps)), kstep);
      nvgpu::DeviceAsyncCopyOp::create(
          b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), smemA,
          ValueRange{stage, warp, idx(u), idx(ks), lane, idx(0)}, values,
          ValueRange{mul(add(mul(tileStep, idx(32)), lane), idx(4))},
          b.getIndexAttr(4), Value(), b.getUnitAttr());
      ifThen(isMetaLane, [&] {
        nvgpu::DeviceAsyncCopyOp::create(
            b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), smemMeta,
            ValueRange{stage, warp, idx(u), idx(ks), lane}, meta,
            ValueRange{add(mul(tileStep, idx(16)), lane)}, b.getIndexAttr(1),
            Value(), UnitAttr());
      });
    }
  }
  if (p.masked) {
    // Each span's choices of the unit's 16 kept rows: 16 contiguous bytes.
    int64_t sps = p.spansPerStage();
    for (int64_t u = 0; u < p.units(); ++u) {
      int64_t copier = u % p.tokenWarps;
      Value mine = cmp(arith::CmpIPredicate::ult, lane, idx(sps));
      if (p.tokenWarps > 1)
        mine = arith::AndIOp::create(
            b, mine, cmp(arith::CmpIPredicate::eq, tokenWarp, idx(copier)));
      ifThen(mine, [&] {
        Value span = p.v >= p.kTile ? div(mul(kt, idx(p.kTile)), idx(p.v))
                                    : add(mul(kt, idx(sps)), lane);
        Value src =
            add(mul(add(mul(expert, idx(p.cols / p.v)), span), idx(p.keptRows)),
                mul(keptTile(u), idx(16)));
        nvgpu::DeviceAsyncCopyOp::create(
            b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), smemRows,
            ValueRange{stage, warp, idx(u), lane, idx(0)}, rowIdx,
            ValueRange{src}, b.getIndexAttr(16), Value(), b.getUnitAttr());
      });
    }
  }
  Value kOff = mul(kt, idx(p.kTile));
  for (CopySlot &c : copies) {
    auto body = [&] {
      nvgpu::DeviceAsyncCopyOp::create(
          b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), smem,
          ValueRange{stage, c.row, c.col}, input,
          ValueRange{add(c.srcBase, kOff)}, b.getIndexAttr(8), c.srcElems,
          b.getUnitAttr());
    };
    if (c.guard)
      ifThen(c.guard, body);
    else
      body();
  }
}

void SSMMEmitter::computeStage(Value kt, Value stage,
                               SmallVectorImpl<Value> &carried) {
  auto bFragType = VectorType::get({4, 2}, p.elt);
  auto resType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(4, b.getF32Type()));
  NVVM::MMATypes ptxType =
      p.elt.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  Value selector = i32c(0);
  int64_t stepsPerStage = p.kTile / 32;
  for (int64_t ks = 0; ks < stepsPerStage; ++ks) {
    // aRegs[u][j]: unit u's A registers for accumulator set j (masked row
    // selection: set 0 unmasked, set j > 0 keeps the rows whose span chose
    // row j of their group; otherwise one set).
    int64_t sets = p.masked ? p.m : 1;
    SmallVector<SmallVector<SmallVector<Value>>> aRegs(
        p.units(), SmallVector<SmallVector<Value>>(sets));
    SmallVector<Value> metaRegs(p.units());
    for (int64_t u = 0; u < p.units(); ++u) {
      Value aVec = vector::LoadOp::create(
          b, VectorType::get({4}, b.getI32Type()), smemA,
          ValueRange{stage, warp, idx(u), idx(ks), lane, idx(0)},
          /*nontemporal=*/false, llvm::MaybeAlign(16));
      SmallVector<Value> raw;
      for (int64_t i = 0; i < 4; ++i)
        raw.push_back(vector::ExtractOp::create(b, aVec, i));
      for (Value r : raw)
        aRegs[u][0].push_back(mmaOperand(r));
      if (p.masked) {
        // Registers 0 and 2 hold row `group` of the tile, 1 and 3 row
        // `group` + 8 (docs/Format.md).
        Value spanInStage = idx(p.v < p.kTile ? ks * 32 / p.v : 0);
        Value which[2];
        for (int64_t rr = 0; rr < 2; ++rr)
          which[rr] = arith::ExtUIOp::create(
              b, b.getI32Type(),
              memref::LoadOp::create(b, smemRows,
                                     ValueRange{stage, warp, idx(u),
                                                spanInStage,
                                                add(group, idx(8 * rr))}));
        for (int64_t j = 1; j < p.m; ++j) {
          Value mask[2];
          for (int64_t rr = 0; rr < 2; ++rr)
            mask[rr] = arith::SelectOp::create(
                b, cmp(arith::CmpIPredicate::eq, which[rr], i32c(j)), i32c(-1),
                i32c(0));
          for (int64_t i = 0; i < 4; ++i)
            aRegs[u][j].push_back(mmaOperand(
                arith::AndIOp::create(b, raw[i], mask[i & 1]).getResult()));
        }
      }
      Value metaLane = add(mul(group, idx(2)), rem(tig, idx(2)));
      metaRegs[u] = memref::LoadOp::create(
          b, smemMeta, ValueRange{stage, warp, idx(u), idx(ks), metaLane});
    }
    for (int64_t f = 0; f < nFrags(); ++f) {
      // Lanes 8j..8j+7 address the rows of matrix j (k offset 8j).
      Value row = add(add(tokenBase, idx(f * 8)), rem(lane, idx(8)));
      Value col = add(idx(ks * 32), mul(div(lane, idx(8)), idx(8)));
      Value frag = nvgpu::LdMatrixOp::create(b, bFragType, smem,
                                             ValueRange{stage, row, col},
                                             /*transpose=*/false,
                                             /*numTiles=*/4);
      SmallVector<Value> bRegs;
      for (int64_t i = 0; i < 4; ++i)
        bRegs.push_back(mmaOperand(vector::ExtractOp::create(b, frag, i)));
      for (int64_t u = 0; u < p.units(); ++u) {
        for (int64_t j = 0; j < sets; ++j) {
          auto slot = [&](int64_t v) {
            return p.rowSelect && !p.masked ? partialIndex(u, f, v)
                                            : accIndex(u, j, f, v);
          };
          SmallVector<Value> c;
          for (int64_t v = 0; v < 4; ++v)
            c.push_back(carried[slot(v)]);
          auto mma = NVVM::MmaSpOp::create(
              b, resType, aRegs[u][j], bRegs, c, metaRegs[u], selector,
              {16, 8, 32}, std::nullopt,
              std::array<NVVM::MMATypes, 2>{ptxType, ptxType});
          mma.setOrderedMetadata(true);
          for (int64_t v = 0; v < 4; ++v)
            carried[slot(v)] = LLVM::ExtractValueOp::create(b, mma.getRes(), v);
        }
      }
    }
    if (!p.rowSelect || p.masked)
      continue;
    // Span ends fall at fixed steps of a stage (v divides k or k divides v).
    int64_t kDone = (ks + 1) * 32;
    if (p.v <= p.kTile) {
      if (kDone % p.v == 0)
        routeSpan(div(add(mul(kt, idx(p.kTile)), idx(kDone - 1)), idx(p.v)),
                  Value(), carried);
    } else if (ks == stepsPerStage - 1) {
      int64_t stagesPerSpan = p.v / p.kTile;
      Value next = add(kt, idx(1));
      Value isEnd =
          cmp(arith::CmpIPredicate::eq, rem(next, idx(stagesPerSpan)), idx(0));
      routeSpan(div(kt, idx(stagesPerSpan)), isEnd, carried);
    }
  }
}

void SSMMEmitter::routeSpan(Value spanIdx, Value isEnd,
                            SmallVectorImpl<Value> &carried) {
  Value zero = f32c(0.0);
  for (int64_t u = 0; u < p.units(); ++u) {
    for (int64_t rr = 0; rr < 2; ++rr) {
      Value kept = add(mul(keptTile(u), idx(16)), add(group, idx(8 * rr)));
      Value which = arith::ExtUIOp::create(
          b, b.getI32Type(),
          load(rowIdx, add(mul(add(mul(expert, idx(p.cols / p.v)), spanIdx),
                               idx(p.keptRows)),
                           kept)));
      for (int64_t mIdx = 0; mIdx < p.m; ++mIdx) {
        Value hit = cmp(arith::CmpIPredicate::eq, which, i32c(mIdx));
        if (isEnd)
          hit = arith::AndIOp::create(b, hit, isEnd);
        for (int64_t f = 0; f < nFrags(); ++f)
          for (int64_t v = 2 * rr; v < 2 * rr + 2; ++v) {
            Value part = carried[partialIndex(u, f, v)];
            Value addend = arith::SelectOp::create(b, hit, part, zero);
            Value &acc = carried[accIndex(u, mIdx, f, v)];
            acc = arith::AddFOp::create(b, acc, addend);
          }
      }
      for (int64_t f = 0; f < nFrags(); ++f)
        for (int64_t v = 2 * rr; v < 2 * rr + 2; ++v) {
          Value &part = carried[partialIndex(u, f, v)];
          part = isEnd
                     ? arith::SelectOp::create(b, isEnd, zero, part).getResult()
                     : zero;
        }
    }
  }
}

void SSMMEmitter::emitEpilogue(ArrayRef<Value> carried) {
  if (p.split())
    return emitPartials(carried);
  // Unit r (gate, or the only half) pairs with unit rowTiles + r (up).
  for (int64_t r = 0; r < p.rowTiles; ++r) {
    for (int64_t mIdx = 0; mIdx < p.accsPerValue(); ++mIdx) {
      for (int64_t f = 0; f < nFrags(); ++f) {
        for (int64_t v = 0; v < 4; ++v) {
          Value col = add(add(tokenBase, idx(f * 8)),
                          add(mul(tig, idx(2)), idx(v % 2)));
          Value kept =
              add(mul(keptTile(r), idx(16)), add(group, idx(8 * (v / 2))));
          Value row = p.rowSelect ? add(mul(kept, idx(p.m)), idx(mIdx)) : kept;
          Value value = rowValue(carried, r, mIdx, f, v);
          if (p.siluMul)
            value = arith::MulFOp::create(
                b, silu(value), rowValue(carried, p.rowTiles + r, mIdx, f, v));
          if (p.outElt != value.getType())
            value = arith::TruncFOp::create(b, p.outElt, value);
          Value inRange = cmp(arith::CmpIPredicate::ult, col, count);
          ifThen(inRange, [&] {
            Value outIdx = add(mul(add(start, col), idx(p.outCols)), row);
            memref::StoreOp::create(b, value, out, ValueRange{outIdx});
          });
        }
      }
    }
  }
}

void SSMMEmitter::emitPartials(ArrayRef<Value> carried) {
  // Workspace row (slice, slot) holds the `rows` raw sums of one slot: both
  // halves of silu_mul, gate first.
  for (int64_t u = 0; u < p.units(); ++u)
    for (int64_t mIdx = 0; mIdx < p.accsPerValue(); ++mIdx)
      for (int64_t f = 0; f < nFrags(); ++f)
        for (int64_t v = 0; v < 4; ++v) {
          Value col = add(add(tokenBase, idx(f * 8)),
                          add(mul(tig, idx(2)), idx(v % 2)));
          // Within its half: the gate unit of the same row tile.
          int64_t h = u / p.rowTiles;
          Value kept = add(mul(keptTile(u % p.rowTiles), idx(16)),
                           add(group, idx(8 * (v / 2))));
          Value row = p.rowSelect ? add(mul(kept, idx(p.m)), idx(mIdx)) : kept;
          ifThen(cmp(arith::CmpIPredicate::ult, col, count), [&] {
            Value wsRow = add(mul(slice, idx(p.splitSlots)), add(start, col));
            Value outIdx =
                add(mul(wsRow, idx(p.rows)), add(idx(h * p.outCols), row));
            memref::StoreOp::create(b, rowValue(carried, u, mIdx, f, v), out,
                                    ValueRange{outIdx});
          });
        }
}

void SSMMEmitter::findTokenTile(Value by, Value &end) {
  // Token tiles are numbered expert after expert: expert e owns
  // ceil(count_e / tokens) of them. The grid has ceil(P / tokens) + E rows of
  // blocks, at least that many tiles, so no block is launched for an expert's
  // missing tiles; blocks past the last tile find no expert and exit. Each
  // warp scans the offsets 32 experts at a time (one load per lane, a
  // shuffle prefix sum), so a block pays ceil(E / 32) load latencies; the lane
  // whose expert holds the tile keeps it and a max-reduction hands it to all.
  Type i32 = b.getI32Type();
  auto toI32 = [&](Value v) -> Value {
    return arith::IndexCastOp::create(b, i32, v);
  };
  Value lane32 = toI32(lane), by32 = toI32(by), none = i32c(-1);
  Value before = i32c(0), foundExpert = none, foundStart = none,
        foundEnd = none;
  for (int64_t c0 = 0; c0 < p.experts; c0 += 32) {
    Value e = add(lane32, i32c(c0));
    Value valid = cmp(arith::CmpIPredicate::slt, e, i32c(p.experts));
    Value eSafe = arith::MinSIOp::create(b, e, i32c(p.experts - 1));
    Value eIdx = arith::IndexCastOp::create(b, b.getIndexType(), eSafe);
    Value lo = load(offsets, eIdx);
    Value hi = load(offsets, add(eIdx, idx(1)));
    Value tiles = arith::SelectOp::create(
        b, valid, div(add(sub(hi, lo), i32c(p.tokens - 1)), i32c(p.tokens)),
        i32c(0));
    Value incl = tiles;
    for (int32_t d = 1; d < 32; d *= 2) {
      auto up = gpu::ShuffleOp::create(b, incl, d, 32, gpu::ShuffleMode::UP);
      Value has = cmp(arith::CmpIPredicate::uge, lane32, i32c(d));
      incl = add(incl, arith::SelectOp::create(b, has, up.getShuffleResult(),
                                               i32c(0)));
    }
    Value first = add(before, sub(incl, tiles));
    Value mine = arith::AndIOp::create(
        b, cmp(arith::CmpIPredicate::sge, by32, first),
        cmp(arith::CmpIPredicate::slt, by32, add(before, incl)));
    auto pick = [&](Value yes, Value no) -> Value {
      return arith::SelectOp::create(b, mine, yes, no);
    };
    foundExpert = pick(e, foundExpert);
    foundStart =
        pick(add(lo, mul(sub(by32, first), i32c(p.tokens))), foundStart);
    foundEnd = pick(hi, foundEnd);
    auto total = gpu::ShuffleOp::create(b, incl, 31, 32, gpu::ShuffleMode::IDX);
    before = add(before, total.getShuffleResult());
  }
  auto warpMax = [&](Value v) -> Value {
    for (int32_t off = 16; off > 0; off /= 2) {
      auto x = gpu::ShuffleOp::create(b, v, off, 32, gpu::ShuffleMode::XOR);
      v = arith::MaxSIOp::create(b, v, x.getShuffleResult());
    }
    return arith::IndexCastOp::create(b, b.getIndexType(),
                                      arith::MaxSIOp::create(b, v, i32c(0)));
  };
  // No lane found a tile: expert 0, start = end = 0, so the block exits.
  expert = warpMax(foundExpert);
  start = warpMax(foundStart);
  end = warpMax(foundEnd);
}

void SSMMEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  unsigned arg = 0;
  values = entry.getArgument(arg++);
  meta = entry.getArgument(arg++);
  if (p.rowSelect)
    rowIdx = entry.getArgument(arg++);
  input = entry.getArgument(arg++);
  offsets = entry.getArgument(arg++);
  if (p.gather)
    tokenList = entry.getArgument(arg++);
  out = entry.getArgument(arg++);
  // Views of the dynamic shared memory (more than the 48 KB a kernel may
  // declare statically).
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  Value dynamic = gpu::DynamicSharedMemoryOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(),
                         workgroup));
  SmallVector<Value, 4> views;
  int64_t shift = 0;
  for (MemRefType t : smemLayout(p, b.getContext())) {
    views.push_back(
        byteSize(t) == 0
            ? Value()
            : memref::ViewOp::create(b, t, dynamic, idx(shift), ValueRange{})
                  .getResult());
    shift += byteSize(t);
  }
  smem = views[0];
  smemA = views[1];
  smemMeta = views[2];
  smemRows = views[3];

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value bx = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value by = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  slice =
      p.split() ? Value(gpu::BlockIdOp::create(b, gpu::Dimension::z)) : idx(0);
  Value warpId = div(tid, idx(32));
  warp = rem(warpId, idx(p.warps));
  tokenWarp = div(warpId, idx(p.warps));
  tokenBase = mul(tokenWarp, idx(p.warpTokens()));
  lane = rem(tid, idx(32));
  group = div(lane, idx(4));
  tig = rem(lane, idx(4));
  blockRows = mul(bx, idx(p.warps * p.rowTiles));

  Value end;
  findTokenTile(by, end);
  Value hasWork = cmp(arith::CmpIPredicate::slt, start, end);
  ifThen(hasWork, [&] {
    count = arith::MinSIOp::create(b, idx(p.tokens), sub(end, start));
    // Each thread copies fixed 16-byte chunks of the activation tile; their
    // rows (and so the gathered source rows) do not change along K.
    int64_t chunksPerRow = p.kTile / 8;
    int64_t chunks = p.tokens * chunksPerRow;
    for (int64_t c0 = 0; c0 < chunks; c0 += p.threads()) {
      CopySlot slot;
      Value c = add(tid, idx(c0));
      if (c0 + p.threads() > chunks)
        slot.guard = cmp(arith::CmpIPredicate::ult, c, idx(chunks));
      slot.row = div(c, idx(chunksPerRow));
      slot.col = mul(rem(c, idx(chunksPerRow)), idx(8));
      Value valid = cmp(arith::CmpIPredicate::ult, slot.row, count);
      Value slotIdx =
          add(start, arith::MinSIOp::create(b, slot.row, sub(count, idx(1))));
      Value srcRow = p.gather ? loadIndex(tokenList, slotIdx) : slotIdx;
      slot.srcBase = add(mul(srcRow, idx(p.cols)), slot.col);
      slot.srcElems = arith::SelectOp::create(b, valid, idx(8), idx(0));
      copies.push_back(slot);
    }

    // This block's K slice: k tiles [kBegin, kBegin + kTiles).
    int64_t kTiles = p.kTilesPerSplit();
    Value kBegin = mul(slice, idx(kTiles));
    for (int64_t s = 0; s + 1 < p.stages; ++s) {
      if (s < kTiles)
        issueStageLoad(add(kBegin, idx(s)), idx(s));
      NVVM::CpAsyncCommitGroupOp::create(b);
    }
    SmallVector<Value> init(numCarried(), f32c(0.0));
    auto loop = scf::ForOp::create(
        b, idx(0), idx(kTiles), idx(1), init,
        [&](OpBuilder &nested, Location, Value i, ValueRange iter) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.getInsertionBlock(),
                              nested.getInsertionPoint());
          Value kt = add(kBegin, i);
          Value next = add(i, idx(p.stages - 1));
          ifThen(cmp(arith::CmpIPredicate::slt, next, idx(kTiles)), [&] {
            issueStageLoad(add(kBegin, next), rem(next, idx(p.stages)));
          });
          NVVM::CpAsyncCommitGroupOp::create(b);
          NVVM::CpAsyncWaitGroupOp::create(b,
                                           b.getI32IntegerAttr(p.stages - 1));
          gpu::BarrierOp::create(b);
          SmallVector<Value> carried(iter.begin(), iter.end());
          Value stage = rem(i, idx(p.stages));
          if (p.tokenWarps == 1) {
            computeStage(kt, stage, carried);
          } else {
            // A warp whose token slice is empty skips its multiplies.
            auto busy = scf::IfOp::create(
                b, ValueRange(iter).getTypes(),
                cmp(arith::CmpIPredicate::ult, tokenBase, count),
                /*withElseRegion=*/true);
            {
              OpBuilder::InsertionGuard g(b);
              b.setInsertionPointToStart(busy.thenBlock());
              computeStage(kt, stage, carried);
              scf::YieldOp::create(b, carried);
              b.setInsertionPointToStart(busy.elseBlock());
              scf::YieldOp::create(b, iter);
            }
            carried.assign(busy.getResults().begin(), busy.getResults().end());
          }
          gpu::BarrierOp::create(b);
          scf::YieldOp::create(b, carried);
        });
    emitEpilogue(SmallVector<Value>(loop.getResults()));
  });
  gpu::ReturnOp::create(b);
}

FailureOr<KernelLaunch>
mlir::samoyeds::buildSSMMKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                                SSMMOp op, StringRef name, bool split) {
  FailureOr<Plan> plan = makePlan(op, split);
  if (failed(plan))
    return failure();
  const Plan &p = *plan;
  MLIRContext *ctx = op.getContext();
  Type i32 = IntegerType::get(ctx, 32), i8 = IntegerType::get(ctx, 8);

  KernelLaunch launch;
  SmallVector<Type> argTypes;
  auto addBuffer = [&](Type elt, Value host, StringRef part, int64_t bytes) {
    argTypes.push_back(globalBuffer(elt));
    launch.args.push_back({KernelArg::Buffer, host, part.str(), "", "", bytes});
  };
  addBuffer(i32, op.getWeight(), "values", 4);
  addBuffer(i32, op.getWeight(), "meta", 4);
  if (p.rowSelect)
    addBuffer(i8, op.getWeight(), "row_idx", 1);
  addBuffer(p.elt, op.getInput(), "", 2);
  addBuffer(i32, op.getOffsets(), "", 4);
  if (p.gather)
    addBuffer(i32, op.getTokens(), "", 4);
  addBuffer(p.outElt, op.getResult(), "", p.outElt.getIntOrFloatBitWidth() / 8);

  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  int64_t smemBytes = 0;
  for (MemRefType t : smemLayout(p, ctx))
    smemBytes += byteSize(t);
  if (smemBytes > kDynamicSmemLimit)
    return op.emitOpError() << "tile needs " << smemBytes
                            << " bytes of shared memory, more than the "
                            << kDynamicSmemLimit << " a block may use; "
                            << "use fewer stages, warps, tokens or k";
  if (p.threads() > 1024)
    return op.emitOpError() << "tile needs " << p.threads()
                            << " threads per block, more than 1024";
  auto func = gpu::GPUFuncOp::create(builder, op.getLoc(), name,
                                     FunctionType::get(ctx, argTypes, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(
      builder.getDenseI32ArrayAttr({static_cast<int32_t>(p.threads()), 1, 1}));

  ImplicitLocOpBuilder b(op.getLoc(), builder);
  SSMMEmitter(b, p).emit(func);

  launch.kernel = func;
  launch.grid[0].constant = p.keptTilesPerHalf / (p.warps * p.rowTiles);
  launch.grid[1].symbol = "P";
  launch.grid[1].divisor = p.tokens;
  launch.grid[1].plus = p.experts;
  launch.grid[2].constant = p.splitK;
  launch.block[0] = p.threads();
  launch.dynamicSmem = smemBytes;
  return launch;
}
