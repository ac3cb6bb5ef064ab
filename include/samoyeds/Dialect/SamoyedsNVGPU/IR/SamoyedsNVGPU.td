//===- SamoyedsNVGPU.td - NVIDIA instructions upstream lacks -*- tablegen -*-===//
//
// Typed ops for the NVIDIA GPU instructions the Samoyeds kernels use and that
// MLIR's NVGPU dialect does not model: the warp-level sparse MMA with ordered
// metadata on bf16 (lowered to nvvm.mma.sp.sync), Hopper's sparse warpgroup
// MMA and a wait that orders its accumulators (lowered to inline PTX, as NVVM
// has no op for them); see convert-samoyeds-nvgpu-to-nvvm. The rest of a
// kernel stays typed, with vector accumulators.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_DIALECT_SAMOYEDSNVGPU_IR_SAMOYEDSNVGPU_TD
#define SAMOYEDS_DIALECT_SAMOYEDSNVGPU_IR_SAMOYEDSNVGPU_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def SamoyedsNVGPU_Dialect : Dialect {
  let name = "samoyeds_nvgpu";
  let cppNamespace = "::mlir::samoyeds_nvgpu";
  let summary = "NVIDIA GPU instructions that upstream MLIR does not model";
  let description = [{
    Operations on registers and shared-memory matrix descriptors for the
    instructions the Samoyeds kernels need beyond MLIR's `nvgpu` dialect, with
    vector accumulators. `mma` and `mma_sp` lower to one `nvvm.mma.sync` and
    `nvvm.mma.sp.sync`, the warpgroup ops to one inline PTX statement each.
  }];
}

class SamoyedsNVGPU_Op<string mnemonic, list<Trait> traits = []>
    : Op<SamoyedsNVGPU_Dialect, mnemonic, traits>;

def SamoyedsNVGPU_Accumulator : VectorOfRankAndType<[1], [F32]>;

def SamoyedsNVGPU_MmaSpOp : SamoyedsNVGPU_Op<"mma_sp", [
    Pure, AllTypesMatch<["acc", "result"]>]> {
  let summary = "Warp-level sparse MMA: m16n8k32, 2:4 A, ordered metadata";
  let description = [{
    `mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.<elt>.<elt>.f32`:
    the 32 threads of a warp multiply a 16 × 32 A operand, 2:4 sparse along K
    and held compressed (16 × 16), by a 32 × 8 B operand and add the product
    to the 16 × 8 f32 accumulators. Per thread (lane `l`, group `g = l / 4`,
    `t = l % 4`):

    * `a`: the four 32-bit A registers, each a pair of 16-bit values
      (registers 0 and 2 hold row `g`, 1 and 3 row `g + 8`);
    * `b`: the four B registers as pairs of `bf16` or `f16`, as
      `nvgpu.ldmatrix` with four tiles returns them; their element type is
      the MMA's;
    * `meta`: the thread's metadata word (the two threads of each quad that
      `selector` names supply it);
    * `acc`: values `i` = 0..3 are row `g + 8 (i / 2)`, column
      `2 t + i % 2` of the 16 × 8 tile.

    It lowers to `nvvm.mma.sp.sync` with `orderedMetadata` (NVGPU's
    `mma.sp.sync` has neither bf16 nor ordered metadata in MLIR 22).

    ```mlir
    %d = samoyeds_nvgpu.mma_sp %acc, %a, %b, %meta
        : vector<4xi32>, vector<4x2xbf16> into vector<4xf32>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[4], [F32]>:$acc,
                       VectorOfLengthAndType<[4], [I32]>:$a,
                       VectorOfRankAndType<[2], [BF16, F16]>:$b, I32:$meta,
                       DefaultValuedAttr<I64Attr, "0">:$selector);
  let results = (outs VectorOfLengthAndType<[4], [F32]>:$result);
  let assemblyFormat = [{
    $acc `,` $a `,` $b `,` $meta attr-dict `:` type($a) `,` type($b) `into`
    type($result)
  }];
  let hasVerifier = 1;
}

def SamoyedsNVGPU_MmaOp : SamoyedsNVGPU_Op<"mma", [
    Pure, AllTypesMatch<["acc", "result"]>]> {
  let summary = "Warp-level dense MMA: m16n8k16 on bf16 or f16, f32 accumulators";
  let description = [{
    `mma.sync.aligned.m16n8k16.row.col.f32.<elt>.<elt>.f32`: the 32 threads
    of a warp multiply a 16 × 16 A operand by a 16 × 8 B operand and add the
    product to the 16 × 8 f32 accumulators. Per thread (lane `l`, group
    `g = l / 4`, `t = l % 4`), each 32-bit register a consecutive pair of
    values:

    * `a`: four registers (8 values): register 0 is row `g`, columns
      `2 t, 2 t + 1`; register 1 row `g + 8`; registers 2 and 3 the same rows
      at columns `2 t + 8, 2 t + 9`;
    * `b`: two registers (4 values): column `g`, rows `2 t, 2 t + 1` and
      `2 t + 8, 2 t + 9`;
    * `acc`: values `i` = 0..3 are row `g + 8 (i / 2)`, column `2 t + i % 2`.

    It lowers to `nvvm.mma.sync` (NVGPU's `mma.sync` cannot deduce bf16
    operands in MLIR 22).

    ```mlir
    %d = samoyeds_nvgpu.mma %acc, %a, %b
        : vector<8xbf16>, vector<4xbf16> into vector<4xf32>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[4], [F32]>:$acc,
                       VectorOfLengthAndType<[8], [BF16, F16]>:$a,
                       VectorOfLengthAndType<[4], [BF16, F16]>:$b);
  let results = (outs VectorOfLengthAndType<[4], [F32]>:$result);
  let assemblyFormat = [{
    $acc `,` $a `,` $b attr-dict `:` type($a) `,` type($b) `into`
    type($result)
  }];
  let hasVerifier = 1;
}

def SamoyedsNVGPU_WgmmaSpOp : SamoyedsNVGPU_Op<"wgmma_sp", [
    AllTypesMatch<["acc", "result"]>,
    MemoryEffects<[MemRead]>]> {
  let summary = "Hopper sparse warpgroup MMA: m64nNk32, 2:4 A, f32 accumulators";
  let description = [{
    `wgmma.mma_async.sp.sync.aligned.m64n<n>k32.f32.<elt>.<elt>`: the 128
    threads of a warpgroup multiply a 64 × 32 A operand, 2:4 sparse along K
    and stored compressed (64 × 16), by a 32 × `n` B operand, both K-major in
    shared memory and addressed by the 64-bit matrix descriptors `a_desc` and
    `b_desc`, and add the product to the accumulators (`scale_d` true) or
    overwrite them (`scale_d` false). `meta` is the thread's 32-bit sparsity
    metadata (ordered 2:4 nibbles; the threads the `selector` names supply
    it). Each thread holds `n / 2` accumulators: value `4j + i` is row
    `16 w + l / 4 + 8 (i / 2)`, column `8 j + 2 (l % 4) + i % 2` of the
    64 × `n` tile (warp `w`, lane `l`).

    The instruction is asynchronous: the result may be read only after a
    `samoyeds_nvgpu.wgmma_wait` that takes it (`nvvm.wgmma.fence.aligned`
    before the first MMA of a group, `nvvm.wgmma.commit.group.sync.aligned`
    after the last).

    ```mlir
    %d = samoyeds_nvgpu.wgmma_sp %acc, %a, %b, %meta, %scale
        {n = 64 : i64, element = bf16, selector = 0 : i64} : vector<32xf32>
    ```
  }];
  let arguments = (ins SamoyedsNVGPU_Accumulator:$acc, I64:$a_desc,
                       I64:$b_desc, I32:$meta, I1:$scale_d,
                       I64Attr:$n, TypeAttrOf<AnyFloat>:$element,
                       DefaultValuedAttr<I64Attr, "0">:$selector);
  let results = (outs SamoyedsNVGPU_Accumulator:$result);
  let assemblyFormat = [{
    $acc `,` $a_desc `,` $b_desc `,` $meta `,` $scale_d attr-dict
    `:` type($result)
  }];
  let hasVerifier = 1;
}

def SamoyedsNVGPU_WgmmaSpRsOp : SamoyedsNVGPU_Op<"wgmma_sp_rs", [
    AllTypesMatch<["acc", "result"]>,
    MemoryEffects<[MemRead]>]> {
  let summary = "Hopper sparse warpgroup MMA with A from registers";
  let description = [{
    `wgmma_sp` with the compressed A operand in registers instead of shared
    memory (PTX's register form of `wgmma.mma_async.sp`; CUTLASS's RS): `a`
    is the thread's four 32-bit registers of the 64 × 16 compressed A, each
    a pair of 16-bit values, as the warp-level `mma_sp` holds them for the
    warp's 16 rows (warp `w`, lane `l`, `g = l / 4`, `t = l % 4`: registers
    0 and 2 are row `16 w + g`, 1 and 3 row `16 w + g + 8`; 0 and 1 columns
    `2 t, 2 t + 1`, 2 and 3 columns `2 t + 8, 2 t + 9`). B, `meta`,
    `selector`, `scale_d` and the accumulators are as for `wgmma_sp`.

    An MMA in flight reads its A registers: a kernel must not write them
    before a `samoyeds_nvgpu.wgmma_wait` has waited for it, and must write
    them before the `nvvm.wgmma.fence.aligned` of the group.

    ```mlir
    %d = samoyeds_nvgpu.wgmma_sp_rs %acc, %a, %b, %meta, %scale
        {n = 64 : i64, element = bf16} : vector<4xi32>, vector<32xf32>
    ```
  }];
  let arguments = (ins SamoyedsNVGPU_Accumulator:$acc,
                       VectorOfLengthAndType<[4], [I32]>:$a, I64:$b_desc,
                       I32:$meta, I1:$scale_d, I64Attr:$n,
                       TypeAttrOf<AnyFloat>:$element,
                       DefaultValuedAttr<I64Attr, "0">:$selector);
  let results = (outs SamoyedsNVGPU_Accumulator:$result);
  let assemblyFormat = [{
    $acc `,` $a `,` $b_desc `,` $meta `,` $scale_d attr-dict
    `:` type($a) `,` type($result)
  }];
  let hasVerifier = 1;
}

def SamoyedsNVGPU_WgmmaWaitOp : SamoyedsNVGPU_Op<"wgmma_wait", [
    AllTypesMatch<["accs", "results"]>,
    MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "Wait for warpgroup MMA groups; orders their accumulators";
  let description = [{
    `wgmma.wait_group.sync.aligned pending`: waits until at most `pending`
    committed groups of warpgroup MMAs are still in flight. The accumulators
    of the awaited MMAs pass through the op, so every later use of them is
    ordered after the wait (the compiler may not hoist a read above it);
    accumulators still in flight after it (`pending` > 0) are not passed.

    An MMA in flight also reads its sparsity metadata register: ptxas does
    not keep that register from being reused, so a kernel must not write
    new metadata words before the MMAs that read the previous ones are
    waited for. (Session 48: a K loop that loaded the next stage's words
    while the previous stage's MMAs ran gave wrong, nondeterministic
    results, also with a use of the old words after the wait, which ptxas
    met by copying them at the loop's back edge; two stages an iteration,
    each stage's words used after the wait that completes it, left two
    register sets without copies and ran correctly. bench/RESULTS.md §S48.)

    ```mlir
    %d0, %d1 = samoyeds_nvgpu.wgmma_wait %a0, %a1 {pending = 0 : i64}
        : vector<32xf32>, vector<32xf32>
    ```
  }];
  let arguments = (ins Variadic<SamoyedsNVGPU_Accumulator>:$accs,
                       I64Attr:$pending);
  let results = (outs Variadic<SamoyedsNVGPU_Accumulator>:$results);
  let assemblyFormat = [{
    $accs attr-dict (`:` type($results)^)?
  }];
  let hasVerifier = 1;
}

#endif // SAMOYEDS_DIALECT_SAMOYEDSNVGPU_IR_SAMOYEDSNVGPU_TD
