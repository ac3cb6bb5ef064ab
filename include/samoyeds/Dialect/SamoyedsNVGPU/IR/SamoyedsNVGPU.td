//===- SamoyedsNVGPU.td - NVIDIA instructions upstream lacks -*- tablegen -*-===//
//
// Typed ops for the NVIDIA GPU instructions the Samoyeds kernels use and that
// MLIR's NVGPU and NVVM dialects do not model: Hopper's sparse warpgroup MMA
// and a wait that orders its accumulators. They lower to inline PTX
// (convert-samoyeds-nvgpu-to-nvvm), so the rest of a kernel stays typed.
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
    instructions the Samoyeds kernels need beyond MLIR's `nvgpu` and `nvvm`
    dialects. Each lowers to one inline PTX statement.
  }];
}

class SamoyedsNVGPU_Op<string mnemonic, list<Trait> traits = []>
    : Op<SamoyedsNVGPU_Dialect, mnemonic, traits>;

def SamoyedsNVGPU_Accumulator : VectorOfRankAndType<[1], [F32]>;

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
    waited for.

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
