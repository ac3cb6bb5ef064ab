// The bundle pipeline takes its directory as given: a quoted `dir=` with a
// space and a brace reaches samoyeds-emit-bundle whole (the pipeline builds
// the pass from its options, not from a nested pipeline string).
// RUN: rm -rf %t && mkdir -p %t
// RUN: samoyeds-opt %s --samoyeds-to-bundle='chip=sm_90a dir="%t/a b}c" assemble=false' -o /dev/null
// RUN: ls %t | FileCheck %s --check-prefix=DIR --implicit-check-not=tmp
// RUN: ls "%t/a b}c" | FileCheck %s --check-prefix=FILES --implicit-check-not=cubin
// RUN: FileCheck %s --check-prefix=PTX < "%t/a b}c/kernels.ptx"
// DIR: a b}c
// FILES: kernels.ptx
// FILES-NEXT: manifest.json
// PTX-LABEL: .entry f_ssmm_0_decode(

#ss = #samoyeds.ss<n = 1, m = 1, v = 32>
func.func @f(%w: tensor<1x64x64xbf16, #ss> {samoyeds.name = "w"},
             %x: tensor<?x64xbf16> {samoyeds.name = "x"},
             %off: tensor<2xi32> {samoyeds.name = "offsets"})
    -> (tensor<?x64xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %off epilogue <none>
      : (tensor<1x64x64xbf16, #ss>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
