//===- SamoyedsDialect.td - Samoyeds dialect definition ----*- tablegen -*-===//
//
// The samoyeds dialect: dual-side structured-sparse Mixture-of-Experts layers.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSDIALECT_TD
#define SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSDIALECT_TD

include "mlir/IR/OpBase.td"

def Samoyeds_Dialect : Dialect {
  let name = "samoyeds";
  let cppNamespace = "::mlir::samoyeds";
  let summary = "Dual-side structured sparsity for Mixture-of-Experts layers";
  let description = [{
    The `samoyeds` dialect expresses Mixture-of-Experts (MoE) feed-forward layers
    whose expert weights are stored in the SS format (row selection N:M over
    K-spans of length V, 2:4 inside every kept row; see `#samoyeds.ss`) and whose
    activations are sparse because routing sends each expert only some tokens.

    A whole layer is one `samoyeds.moe_ffn` op. `samoyeds-decompose-moe` splits it
    into routing (`samoyeds.route`), dispatch (`samoyeds.dispatch`) and two
    expert matmuls (`samoyeds.ssmm`) with fused epilogues, which
    `convert-samoyeds-to-gpu` lowers to sparse tensor-core kernels, replacing
    each by a `samoyeds.launch` that states its kernel launches; the compiled
    function lists its buffers and packed weights in `samoyeds.buffers` and
    `samoyeds.weights` (the launch plan that `samoyeds-emit-bundle` writes).
  }];
  let useDefaultAttributePrinterParser = 1;
  // `samoyeds.name` on function arguments and results names a bundle buffer.
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  // `samoyeds.buffers` and `samoyeds.weights` on a compiled function.
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// The argument and result attribute that names a bundle buffer.
    static constexpr ::llvm::StringLiteral kNameAttrName = "samoyeds.name";
    /// The attributes of a compiled function that list its buffers
    /// (#samoyeds.buffer, #samoyeds.weight_part) and its packed weights
    /// (#samoyeds.weight).
    static constexpr ::llvm::StringLiteral kBuffersAttrName =
        "samoyeds.buffers";
    static constexpr ::llvm::StringLiteral kWeightsAttrName =
        "samoyeds.weights";
  }];
}

#endif // SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSDIALECT_TD
