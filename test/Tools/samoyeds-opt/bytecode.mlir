// RUN: samoyeds-opt %s --emit-bytecode -o %t.mlirbc
// RUN: samoyeds-opt %t.mlirbc | FileCheck %s --check-prefix=ROUNDTRIP
// RUN: samoyeds-opt < %t.mlirbc | FileCheck %s --check-prefix=ROUNDTRIP
// RUN: samoyeds-opt < %s | FileCheck %s --check-prefix=ROUNDTRIP
// RUN: samoyeds-opt %t.mlirbc --parse-sandbox-timeout=0 | FileCheck %s --check-prefix=ROUNDTRIP
// RUN: head -c 200 %t.mlirbc > %t.cut.mlirbc
// RUN: not samoyeds-opt %t.cut.mlirbc 2>&1 | FileCheck %s --check-prefix=CUT --implicit-check-not="Stack dump" --implicit-check-not="PLEASE submit"
// RUN: printf 'ML\357R\001\002garbage' > %t.bad.mlirbc
// RUN: not samoyeds-opt %t.bad.mlirbc 2>&1 | FileCheck %s --check-prefix=BAD --implicit-check-not="Stack dump" --implicit-check-not="PLEASE submit"
// RUN: not samoyeds-opt %S/Inputs/bytecode-session65.mlirbc 2>&1 | FileCheck %s --check-prefix=OLD --implicit-check-not="Stack dump" --implicit-check-not="PLEASE submit"
// RUN: samoyeds-opt %S/Inputs/bytecode-session66.mlirbc | FileCheck %s --check-prefix=S66
// RUN: printf 'ML\357R' > %t.magic.mlirbc
// RUN: not samoyeds-opt %t.magic.mlirbc 2>&1 | FileCheck %s --check-prefix=MAGIC --implicit-check-not="Stack dump" --implicit-check-not="PLEASE submit"

// Samoyeds IR survives a bytecode round trip, from a file or standard input,
// with the parse sandbox (which reads bytecode in its child and hands the
// module over) or without; a cut-off or corrupt bytecode file gives an error,
// not a crash. Bytecode written before session 66 (this file's ops by
// session 65's samoyeds-opt), whose moe_ffn has no operand segments and whose
// ssmm has six, is refused with an error: re-emit it from its text.
// Bytecode of session 66 (moe_ffn's six segments, before the router's bias
// added a seventh, last) reads as it was written: its layers have no router
// bias. The file holds, written by session 66's samoyeds-opt, a moe_ffn
// without biases, one with the experts' biases and a route.

// ROUNDTRIP-LABEL: func.func @layer(
// ROUNDTRIP:         samoyeds.moe_ffn %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} top_k(2) {renormalize, routed_scaling_factor = 2.000000e+00 : f64} : (tensor<?x128xbf16>, tensor<4x128xbf16>, tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>, tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x128xbf16>
// ROUNDTRIP:         samoyeds.ssmm {{.*}} epilogue <silu_mul> {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2>}

// CUT: .mlirbc:0:0: error: {{.+}}
// BAD: .mlirbc:0:0: error: malformed null-terminated string, no null character found
// MAGIC: .mlirbc:0:0: error: attempting to parse a byte at the end of the bytecode
// OLD: bytecode-session65.mlirbc:0:0: error: {{.+}}

// S66-LABEL: func.func @layer(
// S66-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x256xbf16>, %[[R:[a-zA-Z0-9_]+]]: tensor<8x256xbf16>, %[[W13:[a-zA-Z0-9_]+]]: tensor<8x512x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>, %[[W2:[a-zA-Z0-9_]+]]: tensor<8x256x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>, %[[B13:[a-zA-Z0-9_]+]]: tensor<8x512xbf16>, %[[B2:[a-zA-Z0-9_]+]]: tensor<8x256xbf16>)
// S66:         samoyeds.moe_ffn %[[X]], %[[R]], %[[W13]], %[[W2]] top_k(2) {renormalize} : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>, tensor<8x256x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>) -> tensor<?x256xbf16>
// S66:         samoyeds.moe_ffn %[[X]], %[[R]], %[[W13]], %[[W2]] bias(%[[B13]], %[[B2]]) top_k(4) {activation = #samoyeds<activation clamped_swiglu>} : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x512x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>, tensor<8x256x256xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>, tensor<8x512xbf16>, tensor<8x256xbf16>) -> tensor<?x256xbf16>
// S66:         samoyeds.route %[[X]], %[[R]] top_k(2) : (tensor<?x256xbf16>, tensor<8x256xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)

func.func @layer(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>,
    %offsets: tensor<5xi32>) -> (tensor<?x128xbf16>, tensor<?x64xbf16>) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      {renormalize, routed_scaling_factor = 2.0 : f64}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
      -> tensor<?x128xbf16>
  %h = samoyeds.ssmm %w13, %x, %offsets epilogue <silu_mul>
      {tile = #samoyeds.tile<warps = 4, tokens = 32, k = 64, stages = 2>}
      : (tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y, %h : tensor<?x128xbf16>, tensor<?x64xbf16>
}
