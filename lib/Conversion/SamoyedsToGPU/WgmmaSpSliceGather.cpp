//===- WgmmaSpSliceGather.cpp - Activations summed from split-K slices ----===//
//
// An expert matmul whose input is the result of the split-K variant of the
// matmul before it (convert-samoyeds-to-gpu's reduce-in-gather) reads, for
// the calls that variant serves, the variant's f32 workspace instead of the
// result no kernel then writes. Its ring holds the block's whole K range
// (canSumSplitInput): thread 0 issues every k tile's weights, the block
// waits for the grids in flight, and then all its threads sum the slices
// of the token rows' 16-byte chunks in slice order, apply the producer's
// epilogue (SiLU of the gate sum times the up sum), round to the operand
// type and store each chunk where its activation copy would land; they
// fence the stores for the async proxy (the wgmma reads through it) and
// synchronise, and the producer threads arrive on every full barrier. The
// values are those the split reduction kernel would have written (the same
// sums, in the same order, rounded once), so the result is bit-identical;
// the reduction's launch is gone, and every row is summed in one round trip
// of loads instead of one per k tile. (Summing in the producer, stage by
// stage, ran 0.98x on OLMoE and 0.75x on DeepSeek-V2-Lite at T = 1 on the
// H200: each k tile waited for its loads.)
//
//===----------------------------------------------------------------------===//

#include "WgmmaSpEmitter.h"

using namespace mlir;
using namespace mlir::samoyeds;
using namespace mlir::samoyeds::detail;

namespace {
/// The split reduction's values of one 16-byte chunk: kChunk columns of a
/// slot row, read as f32 vectors.
class ChunkSums : public SliceSumEmitter {
public:
  static constexpr int64_t kChunk = 8;

  ChunkSums(ImplicitLocOpBuilder &b, const SSMMPlan &p)
      : SliceSumEmitter(b, p.inputRowElems, p.inputSplits, p.inputSlots,
                        kChunk),
        outCols(p.cols), siluMul(p.inputSiluMul) {}

  /// Columns [col, col + kChunk) of slot row `slot` (f32 vector); the
  /// producer's activation is SiLU (findSplitInputs).
  Value at(Value ws, Value slot, Value col) {
    return reduceSlices(ws, slot, col, outCols,
                        siluMul ? std::optional(GatedActivation())
                                : std::nullopt);
  }

private:
  int64_t outCols;
  bool siluMul;
};
} // namespace

void WgmmaSpEmitter::fillRingWithSums(Value tid) {
  assert(p.persistent == 0 && p.cluster == 1 && !p.gather &&
         kTiles() <= layout.stages && "canSumSplitInput checked the kernel");
  takeWeightAddresses();
  // The weights need only the expert: they stream while the block sums.
  ifThen(cmp(arith::CmpIPredicate::eq, tid, idx(0)), [&] {
    for (int64_t i = 0; i < kTiles(); ++i)
      issueWeights(add(kBegin, idx(i)), idx(i));
  });
  if (p.weightsBeforeWait)
    waitForGrids();
  // Chunk c: token row c / perRow, k tile and 16-byte column chunk j of
  // c % perRow, so that consecutive threads take one row's chunks; each
  // lands where makeCopySlots' copy of it would.
  ChunkSums sums(b, p);
  int64_t chunksPerTile = p.kTile / ChunkSums::kChunk;
  int64_t perRow = kTiles() * chunksPerTile;
  auto chunk = VectorType::get({ChunkSums::kChunk}, p.elt);
  forLoop(tid, idx(p.tokens * perRow), idx(layout.threads()), ValueRange{},
          [&](Value c, ValueRange) {
            Value row = div(c, idx(perRow));
            Value tile = div(rem(c, idx(perRow)), idx(chunksPerTile));
            Value j = rem(c, idx(chunksPerTile));
            // Rows past the tile's tokens stay as they are: the MMA
            // columns they feed are never stored.
            ifThen(cmp(arith::CmpIPredicate::ult, row, count), [&] {
              Value col = add(mul(add(kBegin, tile), idx(p.kTile)),
                              mul(j, idx(ChunkSums::kChunk)));
              Value v = sums.at(input, add(start, row), col);
              Value swizzled =
                  arith::XOrIOp::create(b, rem(j, idx(8)), rem(row, idx(8)));
              Value dst = add(add(mul(tile, idx(layout.bStage / 2)),
                                  mul(div(j, idx(8)), idx(p.tokens * 64))),
                              add(mul(row, idx(64)), mul(swizzled, idx(8))));
              vector::StoreOp::create(
                  b, arith::TruncFOp::create(b, chunk, v), sB, ValueRange{dst},
                  /*nontemporal=*/false, llvm::MaybeAlign(kVectorAlign));
            });
            return SmallVector<Value>{};
          });
  // Generic-proxy stores, read by the wgmma through the async proxy of
  // every consumer warp.
  NVVM::FenceProxyOp::create(
      b,
      NVVM::ProxyKindAttr::get(b.getContext(), NVVM::ProxyKind::async_shared),
      NVVM::SharedSpaceAttr::get(b.getContext(),
                                 NVVM::SharedSpace::shared_cta));
  gpu::BarrierOp::create(b);
}

void WgmmaSpEmitter::arriveOnFilledRing() {
  // Thread 0's arrival (with the bytes) came with the weights.
  for (int64_t i = 0; i < kTiles(); ++i)
    nvgpu::MBarrierArriveOp::create(
        b, nvgpu::MBarrierTokenType::get(b.getContext()), barriers,
        fullBarrier(idx(i)));
}
