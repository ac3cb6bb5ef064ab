//===- Passes.td - Bundle emission pass definition ---------*- tablegen -*-===//
//
// The pass that writes a compiled module's kernels and launch plan to a
// bundle directory (docs/Bundle.md).
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_TARGET_BUNDLE_PASSES_TD
#define SAMOYEDS_TARGET_BUNDLE_PASSES_TD

include "mlir/Pass/PassBase.td"

def SamoyedsEmitBundle : Pass<"samoyeds-emit-bundle", "::mlir::ModuleOp"> {
  let summary = "Write the compiled kernels and their launch plan to a bundle";
  let description = [{
    Reads the `gpu.binary @samoyeds_kernels` (PTX, from
    `gpu-module-to-binary{format=isa}`) and the launch plan of the host
    function (its `samoyeds.launch` ops, `samoyeds.buffers` and
    `samoyeds.weights`), and writes `dir/kernels.ptx` and `dir/manifest.json` (see
    docs/Bundle.md). When `ptxas` is found (PATH or `/usr/local/cuda/bin`) it
    also assembles `dir/kernels.cubin`.
  }];
  let options = [
    Option<"dir", "dir", "std::string", /*default=*/"\"\"",
           "Directory to write the bundle into (created if missing)">,
    Option<"assemble", "assemble", "bool", /*default=*/"true",
           "Run ptxas when it is available">,
  ];
}

#endif // SAMOYEDS_TARGET_BUNDLE_PASSES_TD
