// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="warpgroups=2" | FileCheck %s --check-prefix=TWO
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=1 warpgroups=2" | FileCheck %s --check-prefix=TWO
// RUN: samoyeds-opt %s --samoyeds-select-tiles="tokens=128" | FileCheck %s --check-prefix=T128
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=1" | FileCheck %s

// Plain 2:4's default unit pairs (session 49) take kPlainPairWideTokens
// (144) only where they pair. On a small layer (8 experts, 1024 kept rows:
// its paired grid would not fill the SMs) the wide variant keeps single
// units, with the widths it had before pairs were the default: 112 on
// four consumer warpgroups, 128 on two (warpgroups=2), none above forced
// 128-token tiles (tokens=128) — as with wide-units=1.
// CHECK-LABEL: func.func @plain24_small
// CHECK-NOT: wide_units
// CHECK: wide_tokens = 112, wide_slots = 512,
// CHECK-NOT: wide_units
// CHECK: return
// TWO-LABEL: func.func @plain24_small
// TWO-NOT: wide_units
// TWO: warps = 8, {{.*}}wide_tokens = 128, wide_slots = 512,
// TWO-NOT: wide_units
// TWO: return
// T128-LABEL: func.func @plain24_small
// T128-NOT: wide_
// T128: return
func.func @plain24_small(
    %w: tensor<8x1024x4096xbf16, #samoyeds.ss<n = 2, m = 2, v = 128>>,
    %x: tensor<?x4096xbf16>, %off: tensor<9xi32>, %tok: tensor<?xi32>)
    -> tensor<?x512xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x1024x4096xbf16, #samoyeds.ss<n = 2, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>)
      -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}
