// Bundle emission fails with a diagnostic, and writes nothing, when its
// inputs are missing. The errors are located at the compiled function, or at
// the module when there is none, and never print the module.
// RUN: rm -rf %t
// RUN: not samoyeds-opt %s --samoyeds-emit-bundle 2>&1 | FileCheck %s --check-prefix=NODIR --implicit-check-not="see current operation"
// RUN: not samoyeds-opt %s --samoyeds-select-tiles --convert-samoyeds-to-gpu --samoyeds-emit-bundle 2>&1 | FileCheck %s --check-prefix=NODIR-FUNC --implicit-check-not="see current operation"
// RUN: not samoyeds-opt %s --samoyeds-emit-bundle="dir=%t" 2>&1 | FileCheck %s --check-prefix=NOFUNC --implicit-check-not="see current operation"
// RUN: not samoyeds-opt %s --samoyeds-select-tiles --convert-samoyeds-to-gpu --samoyeds-emit-bundle="dir=%t" 2>&1 | FileCheck %s --check-prefix=NOBIN --implicit-check-not="see current operation"
// RUN: not test -e %t
// RUN: not samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a" 2>&1 | FileCheck %s --check-prefix=PIPEDIR
// RUN: not samoyeds-opt %s --samoyeds-to-ptx="chip=sm_70" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="chip=sm_61" 2>&1 | FileCheck %s --check-prefix=TILECHIP
// RUN: not samoyeds-opt %s --samoyeds-to-ptx="chip=sm_80 pdl=1" 2>&1 | FileCheck %s --check-prefix=PDLCHIP

// NODIR: emit-bundle-errors.mlir:0:0: error: samoyeds-emit-bundle needs dir=<directory>
// NODIR-FUNC: emit-bundle-errors.mlir:[[#@LINE+9]]:1: error: samoyeds-emit-bundle needs dir=<directory>
// NOFUNC: emit-bundle-errors.mlir:0:0: error: a bundle holds one compiled function; found 0 (run convert-samoyeds-to-gpu first)
// NOBIN: emit-bundle-errors.mlir:[[#@LINE+7]]:1: error: no gpu.binary @samoyeds_kernels; run gpu-module-to-binary{format=isa} first
// PIPEDIR: samoyeds-to-bundle needs dir=<directory>
// CHIP: samoyeds pipelines: unsupported chip 'sm_70' (expected sm_80, sm_90 or sm_90a)
// TILECHIP: error: samoyeds-select-tiles: unsupported chip 'sm_61' (expected sm_80, sm_90 or sm_90a)
// PDLCHIP: samoyeds pipelines: pdl needs sm_90 or later, not sm_80

#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
func.func @f(%w: tensor<1x64x64xbf16, #ss>, %x: tensor<?x64xbf16>,
             %off: tensor<2xi32>) -> tensor<?x64xbf16> {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none>
      : (tensor<1x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
