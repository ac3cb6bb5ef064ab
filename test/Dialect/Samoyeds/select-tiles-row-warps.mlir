// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_90a | FileCheck %s
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a row-warps=3" | FileCheck %s --check-prefix=THREE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a row-warps=4" -verify-diagnostics -o /dev/null
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="row-warps=17" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a decode-stages=6" | FileCheck %s --check-prefix=RING6
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a decode-stages=6" --convert-samoyeds-to-gpu | FileCheck %s --check-prefix=LOWERED6
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a decode-stages=3" | FileCheck %s --check-prefix=RING3
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="decode-stages=9" 2>&1 | FileCheck %s --check-prefix=BADRING
// RUN: samoyeds-opt %s --samoyeds-select-tiles=chip=sm_90a --convert-samoyeds-to-gpu | FileCheck %s --check-prefix=LOWERED
// RUN: samoyeds-opt %s --samoyeds-select-tiles="chip=sm_90a row-warps=3" --convert-samoyeds-to-gpu | FileCheck %s --check-prefix=LOWERED3

// gpt-oss-20b's gate/up matmul in 1:2+2:4 keeps 2880 rows of each half: 90
// 16-row tiles, which 4 does not divide. Row selection then takes blocks of
// 6 row tiles (192 threads) in a ring of 4 stages, its decode tile (the
// `_decode` and split-K kernels) 2 (`decode_warps`) in the same ring.
// `row-warps` forces the count for every variant where it divides the 90,
// and is an error at the op where it does not.

// CHECK-LABEL: func.func @gpt_oss_gate_up(
// CHECK: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<warps = 6, tokens = 32, k = 64, stages = 4, {{.*}}decode_tokens = 8, decode_slots = 384, decode_warps = 2>
// THREE-LABEL: func.func @gpt_oss_gate_up(
// THREE: samoyeds.ssmm {{.*}}tile = #samoyeds.tile<warps = 3, tokens = 32,
// THREE-NOT: decode_warps
// THREE-NOT: decode_stages
// BAD: error: samoyeds-select-tiles: row-warps = 17 must be in [0, 16]
// `decode-stages` gives the decode tile a ring of its own (0: the tile's):
// at 6 its decode and split-K kernels are those of 2 row warps for every
// variant (session 66's), byte for byte.
// RING6-LABEL: func.func @gpt_oss_gate_up(
// RING6: decode_warps = 2, decode_stages = 6>
// RING3-LABEL: func.func @gpt_oss_gate_up(
// RING3: decode_warps = 2, decode_stages = 3>
// BADRING: error: samoyeds-select-tiles: decode-stages = 9 must be in [0, 8]

// The decode kernel's ring, 4 stages by default and 6 with decode-stages=6,
// each of 8 tokens × 72 bf16, 2 row warps × 2 halves of 2 k steps of 32 × 4
// i32 values and 16 i32 metadata words, and 16 masked-row bytes: 23296 and
// 34944 bytes.
// LOWERED: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@{{[a-z_0-9]+}}_decode grid({{.*}}) block(64, 1, 1) smem(23296)
// LOWERED6: samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@{{[a-z_0-9]+}}_decode grid({{.*}}) block(64, 1, 1) smem(34944)

// LOWERED-LABEL: gpu.module
// LOWERED: gpu.func @[[DECODE:[a-z_0-9]+]]_decode({{.*}}known_block_size = array<i32: 64, 1, 1>
// LOWERED: gpu.func @[[DECODE]]({{.*}}known_block_size = array<i32: 192, 1, 1>
// LOWERED: gpu.func @[[DECODE]]_persistent({{.*}}known_block_size = array<i32: 192, 1, 1>
// LOWERED: gpu.func @[[DECODE]]_split({{.*}}known_block_size = array<i32: 64, 1, 1>
// LOWERED3-COUNT-4: known_block_size = array<i32: 96, 1, 1>
#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @gpt_oss_gate_up(%w: tensor<32x5760x2880xbf16, #ss>, %x: tensor<?x2880xbf16>, %off: tensor<33xi32>, %tok: tensor<?xi32>) -> tensor<?x2880xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op samoyeds-select-tiles: row-warps = 4 must divide the 90 kept 16-row tiles of each half}}
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<32x5760x2880xbf16, #ss>, tensor<?x2880xbf16>, tensor<33xi32>, tensor<?xi32>) -> tensor<?x2880xbf16>
  return %y : tensor<?x2880xbf16>
}
