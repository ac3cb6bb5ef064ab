// RUN: not samoyeds-opt %s 2>&1 | FileCheck %s --implicit-check-not="Stack dump" --implicit-check-not="PLEASE submit"
// RUN: not samoyeds-opt %s --samoyeds-decompose-moe 2>&1 | FileCheck %s --implicit-check-not="Stack dump" --implicit-check-not="PLEASE submit"

// A file cut off in the middle of a samoyeds op (no closing brace, no final
// newline): a located parse error, no crash.

// CHECK: truncated.mlir:[[@LINE+8]]:45: error: unbalanced '<' character in pretty dialect name
func.func @cut(
    %x: tensor<?x128xbf16>, %router: tensor<4x128xbf16>,
    %w13: tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<4x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
    -> tensor<?x128xbf16> {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2) {renormalize}
      : (tensor<?x128xbf16>, tensor<4x128xbf16>,
         tensor<4x128x128xbf16, #samoyeds.ss<n = 1, m = 2