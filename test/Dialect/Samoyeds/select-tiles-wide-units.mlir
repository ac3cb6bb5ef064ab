// RUN: samoyeds-opt %s --samoyeds-select-tiles | FileCheck %s --check-prefixes=CHECK,DEFPLAIN
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=2" | FileCheck %s --check-prefixes=CHECK,ASKPLAIN
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=-1" | FileCheck %s --check-prefixes=CHECK,DEFPLAIN
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=2 wide-tokens=128" | FileCheck %s --check-prefix=PAIR128
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=1" | FileCheck %s --check-prefix=NONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="warpgroups=2" | FileCheck %s --check-prefix=PLAIN2
// RUN: samoyeds-opt %s --samoyeds-select-tiles="warpgroups=2 wide-units=2" | FileCheck %s --check-prefix=PLAIN2PAIRS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=2 wide-tokens=64" | FileCheck %s --check-prefix=FORCED
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=2 row-masks=1" | FileCheck %s --check-prefix=MASKED
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=2 wide-slots=100" | FileCheck %s --check-prefix=SLOTS
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent-units=2" | FileCheck %s --check-prefix=PERSIST
// RUN: samoyeds-opt %s --samoyeds-select-tiles="persistent=1 persistent-units=2" | FileCheck %s --check-prefix=PERSIST128
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="persistent-units=3" 2>&1 | FileCheck %s --check-prefix=BADP
// RUN: samoyeds-opt %s --samoyeds-select-tiles="late-pairs=1" | FileCheck %s --check-prefix=LATE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="late-pairs=1 wide-low-tokens=160" | FileCheck %s --check-prefix=LATELOW
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-low-tokens=72" | FileCheck %s --check-prefix=PAIREDLOW
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="late-pairs=2" 2>&1 | FileCheck %s --check-prefix=BADLATE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-units=2 wide-cluster=2" | FileCheck %s --check-prefix=CLUSTER
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-cluster=2" | FileCheck %s --check-prefix=CLUSTER-ONE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="late-pairs=1 wide-cluster=2 wide-units=2" | samoyeds-opt | FileCheck %s --check-prefix=LATE-CLUSTER
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-units=3" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-units=0" 2>&1 | FileCheck %s --check-prefix=BAD0
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-accumulators=176" | FileCheck %s --check-prefix=ACC176
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-accumulators=240" | FileCheck %s --check-prefix=ACC176
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-accumulators=4" 2>&1 | FileCheck %s --check-prefix=BAD-ACC
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-accumulators=241" 2>&1 | FileCheck %s --check-prefix=BAD-ACC-HIGH
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-persistent=0" | FileCheck %s --check-prefix=WP-OFF
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-persistent=1" | FileCheck %s --check-prefix=WP-ON
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-persistent=1 late-pairs=1" | FileCheck %s --check-prefix=WP-LATE
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-persistent=1 wide-units=2 wide-cluster=2" | FileCheck %s --check-prefix=WP-CLUSTER
// RUN: samoyeds-opt %s --samoyeds-select-tiles="wide-persistent=1 wide-units=1" | FileCheck %s --check-prefix=WP-SINGLE
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-persistent=2" 2>&1 | FileCheck %s --check-prefix=BAD-WP
// RUN: not samoyeds-opt %s --samoyeds-select-tiles="wide-persistent=-2" 2>&1 | FileCheck %s --check-prefix=BAD-WP-LOW

// Unit pairs (docs/TileChoice.md; the default on row-selected formats,
// wide-units=-1, since the H200 A/B of session 43): each consumer
// warpgroup of the wide variant multiplies two 64-row units, and the wide
// tokens are as many as two units' accumulator sets hold: 80 for 1:2 routed
// rows (2 units x 2 sets x 40 = the 160 accumulators of two warpgroups), on
// Mixtral's gate/up (its gate and up units of the same rows; 56 paired row
// blocks x 8 experts fill the 132 SMs at the wide variant's 64 slots per
// expert) and on Qwen3-235B's gate/up, whose second wide width (160 tokens)
// no longer fits and is dropped. Mixtral's down projection keeps one unit
// where pairs are asked for (wide-units=2): paired, its 8 row blocks x 8
// experts would leave half the SMs idle there; with wide-slots=100 (2 tiles
// of 80 an expert: 128 blocks, three quarters of a wave and more) it takes
// pairs. By default (unit calls since session 56,
// select-tiles-unit-calls.mlir) it keeps both, each call to the grid of
// fewer token rounds. Plain 2:4 pairs by default too (since
// session 49): four warpgroups' 56 accumulators leave two units no width
// above its 64 tokens, so its wide variant takes two warpgroups of two
// units (wide_warps = 8, the same 256 kept rows a block) with 144 tokens
// (wide-tokens=128 asks for p24w's 128), while its other variants keep
// four (warps = 16); warpgroups=2 gives every variant two.
// Masked rows keep one, and wide-units=1 keeps one everywhere. A forced width
// (wide-tokens=64) is taken where it fits.
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
#p24 = #samoyeds.ss<n = 2, m = 2, v = 128>
// Unit pairs in cluster pairs are asked for (wide-units=2 with
// wide-cluster=2): the paired row blocks (Mixtral's gate/up 56, Qwen3-235B's
// 6, plain 2:4's two paired warpgroups) pair up in clusters; Mixtral's down
// projection keeps one unit (its paired grid does not fill the SMs) and its
// clusters. wide-cluster=2 alone keeps single units.
// CLUSTER-LABEL: func.func @mixtral_gate_up
// CLUSTER: wide_tokens = 80, {{.*}}wide_cluster = 2, {{.*}}wide_units = 2, strategy = wgmma_sp>
// CLUSTER-LABEL: func.func @mixtral_down
// CLUSTER-NOT: wide_units
// CLUSTER: wide_tokens = 128, {{.*}}wide_cluster = 2, {{.*}}strategy = wgmma_sp>
// CLUSTER-LABEL: func.func @qwen3_gate_up
// CLUSTER: wide_tokens = 80, {{.*}}wide_cluster = 2, {{.*}}wide_units = 2, strategy = wgmma_sp>
// CLUSTER-LABEL: func.func @plain24_gate_up
// CLUSTER: wide_tokens = 144, {{.*}}wide_cluster = 2, wide_warps = 8, {{.*}}wide_units = 2, strategy = wgmma_sp>
// Late pairs make no second width in clusters (a second width has none):
// Mixtral's down projection keeps single clustered units, and the tile
// parses again.
// LATE-CLUSTER-LABEL: func.func @mixtral_down
// LATE-CLUSTER-NOT: wide_low_tokens
// LATE-CLUSTER: wide_cluster = 2,
// CLUSTER-ONE-LABEL: func.func @mixtral_gate_up
// CLUSTER-ONE-NOT: wide_units
// CLUSTER-ONE: wide_tokens = 128, {{.*}}wide_cluster = 2,
// CLUSTER-ONE-LABEL: func.func @qwen3_gate_up
// CLUSTER-ONE-NOT: wide_units
// CLUSTER-ONE: wide_cluster = 2,
// CHECK-LABEL: func.func @mixtral_gate_up
// CHECK: wide_tokens = 80, wide_slots = 512, {{.*}}wide_units = 2, strategy = wgmma_sp>
// CHECK-LABEL: func.func @mixtral_down
// DEFPLAIN: wide_tokens = 80, wide_slots = 512, {{.*}}wide_low_tokens = 128, wide_units = 2, wide_low_calls = [512, 944,
// ASKPLAIN-NOT: wide_units
// ASKPLAIN: wide_tokens = 128, wide_slots = 512,
// ASKPLAIN-NOT: wide_units
// CHECK: return
// CHECK-LABEL: func.func @qwen3_gate_up
// DEFPLAIN: wide_tokens = 80, wide_slots = 10240, {{.*}}wide_low_tokens = 128, wide_low_slots = 16384, wide_units = 2, strategy = wgmma_sp>
// ASKPLAIN: wide_tokens = 80, wide_slots = 16384,
// ASKPLAIN-NOT: wide_low
// ASKPLAIN: wide_units = 2, strategy = wgmma_sp>
// DEFPLAIN-LABEL: func.func @plain24_gate_up
// DEFPLAIN: warps = 16, {{.*}}wide_tokens = 144, wide_slots = 16384, wide_warps = 8, {{.*}}wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// ASKPLAIN-LABEL: func.func @plain24_gate_up
// ASKPLAIN: warps = 16, {{.*}}wide_tokens = 144, wide_slots = 16384, wide_warps = 8, {{.*}}wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// PAIR128-LABEL: func.func @plain24_gate_up
// PAIR128: warps = 16, {{.*}}wide_tokens = 128, wide_slots = 16384, wide_warps = 8, {{.*}}wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// NONE-LABEL: func.func @mixtral_gate_up
// NONE-NOT: wide_units
// NONE: return
// NONE-LABEL: func.func @mixtral_down
// NONE-NOT: wide_units
// NONE: return
// NONE-LABEL: func.func @qwen3_gate_up
// NONE-NOT: wide_units
// NONE: return
// NONE-LABEL: func.func @plain24_gate_up
// NONE-NOT: wide_units
// NONE-NOT: wide_persistent
// NONE: return
// Masked group rows (row-masks=1) keep one unit; plain 2:4 has none.
// MASKED-LABEL: func.func @mixtral_gate_up
// MASKED-NOT: wide_units
// MASKED-LABEL: func.func @mixtral_down
// MASKED-NOT: wide_units
// MASKED-LABEL: func.func @qwen3_gate_up
// MASKED-NOT: wide_units
// MASKED-LABEL: func.func @plain24_gate_up
// MASKED: wide_tokens = 144, {{.*}}wide_warps = 8, {{.*}}wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// PLAIN2-LABEL: func.func @plain24_gate_up
// PLAIN2: warps = 8, {{.*}}wide_tokens = 144, {{.*}}wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// PLAIN2PAIRS-LABEL: func.func @plain24_gate_up
// PLAIN2PAIRS: warps = 8, {{.*}}wide_tokens = 144, {{.*}}wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// FORCED-LABEL: func.func @mixtral_gate_up
// FORCED: wide_tokens = 64, {{.*}}wide_units = 2, strategy = wgmma_sp>
// SLOTS-LABEL: func.func @mixtral_down
// SLOTS: wide_tokens = 80, wide_slots = 800, {{.*}}wide_units = 2, strategy = wgmma_sp>
// persistent-units=2: the same pairs on the persistent grid's variants of two
// consumer warpgroups (Mixtral's persistent_warps = 8 grid, Qwen3-235B's
// upper grid of the tile's two), where the paired tiles of one token tile an
// expert fill three quarters of a wave: not Mixtral's down projection (64
// tiles); plain 2:4's persistent grid has four warpgroups.
// PERSIST-LABEL: func.func @mixtral_gate_up
// PERSIST: persistent_warps = 8, {{.*}}persistent_units = 2, strategy = wgmma_sp>
// PERSIST-LABEL: func.func @mixtral_down
// PERSIST-NOT: persistent_units
// PERSIST-LABEL: func.func @qwen3_gate_up
// PERSIST: persistent_units = 2, strategy = wgmma_sp>
// PERSIST-LABEL: func.func @plain24_gate_up
// PERSIST-NOT: persistent_units
// PERSIST: return
// With the opt-in persistent grid (persistent=1: 128-token tiles from 96
// slots per expert) pairs take 80 tokens, what two units' sets hold; Mixtral's
// down projection keeps 128 and one unit.
// PERSIST128-LABEL: func.func @mixtral_gate_up
// PERSIST128: persistent = 1, persistent_slots = 768, persistent_tokens = 80, {{.*}}persistent_units = 2, strategy = wgmma_sp>
// PERSIST128-LABEL: func.func @mixtral_down
// PERSIST128: persistent_tokens = 128,
// PERSIST128-NOT: persistent_units
// PERSIST128-LABEL: func.func @qwen3_gate_up
// PERSIST128: persistent_tokens = 80, {{.*}}persistent_units = 2, strategy = wgmma_sp>
// late-pairs=1 (opt-in): Mixtral's down projection pairs from 2 token tiles
// an expert (128 paired blocks: 641 routed slots), its single 128-token
// units serving 512-640 as the second width; the others as by default.
// LATE-LABEL: func.func @mixtral_gate_up
// LATE: wide_tokens = 80, wide_slots = 512, {{.*}}wide_units = 2, strategy = wgmma_sp>
// LATE-LABEL: func.func @mixtral_down
// LATE: wide_tokens = 80, wide_slots = 512, {{.*}}wide_low_tokens = 128, wide_low_slots = 640, wide_units = 2, strategy = wgmma_sp>
// LATE-LABEL: func.func @plain24_gate_up
// LATE-NOT: wide_low
// LATE: wide_tokens = 144, {{.*}}wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// A second width asked for (wide-low-tokens) keeps late pairs off: Mixtral's
// down projection takes single units of 128 tokens and 160 below 1280 slots.
// LATELOW-LABEL: func.func @mixtral_down
// LATELOW-NOT: wide_units
// LATELOW: wide_tokens = 128, wide_slots = 512, {{.*}}wide_low_tokens = 160, wide_low_slots = 1280, strategy = wgmma_sp>
// The second width multiplies one unit, so a paired wide variant has none
// (wide-low-tokens=72 gives Mixtral's single-unit down projection one).
// PAIREDLOW-LABEL: func.func @mixtral_gate_up
// PAIREDLOW-NOT: wide_low
// PAIREDLOW: wide_units = 2
// PAIREDLOW-LABEL: func.func @mixtral_down
// PAIREDLOW: wide_low_tokens = 72, wide_low_slots = 576, strategy = wgmma_sp>
// BADLATE: error: samoyeds-select-tiles: late-pairs = 2 must be in [0, 1]
// BADP: error: samoyeds-select-tiles: persistent-units (or -1) = 3 must be in [1, 2]
// BAD: error: samoyeds-select-tiles: wide-units (or -1) = 3 must be in [1, 2]
// BAD0: error: samoyeds-select-tiles: wide-units (or -1) = 0 must be in [1, 2]
// wide-accumulators=176 (opt-in): the pairs' wide tokens are what 176
// accumulators hold, 88 for 1:2 routed rows (2 units x 2 sets x 44); 240
// asks for more than two warpgroups' threads can hold (224 registers less
// 48) and gets the same. Single units keep 128 (Mixtral's down projection's
// second width, whose calls now take the pairs of 88 by their own ranges)
// and plain 2:4's pairs their 144.
// ACC176-LABEL: func.func @mixtral_gate_up
// ACC176: wide_tokens = 88, wide_slots = 512, {{.*}}wide_units = 2, strategy = wgmma_sp>
// ACC176-LABEL: func.func @mixtral_down
// ACC176: wide_tokens = 88, wide_slots = 512, {{.*}}wide_low_tokens = 128, wide_units = 2, wide_low_calls = [512, 944, 1313,
// ACC176-LABEL: func.func @qwen3_gate_up
// ACC176: wide_tokens = 88, {{.*}}wide_units = 2, strategy = wgmma_sp>
// ACC176-LABEL: func.func @plain24_gate_up
// ACC176: wide_tokens = 144, {{.*}}wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// BAD-ACC: error: samoyeds-select-tiles: wide-accumulators (or -1) = 4 must be in [8, 240]
// BAD-ACC-HIGH: error: samoyeds-select-tiles: wide-accumulators (or -1) = 241 must be in [8, 240]
// The wide variant on the persistent grid (`wide-persistent`, session 52):
// by default plain 2:4's unit pairs only (DEFPLAIN above); 0 keeps the
// ordinary grid there; 1 asks for it on every wide variant but one with a
// second width (Mixtral's down projection with late pairs) or clusters;
// unit calls keep their ranges (Mixtral's down projection by default).
// WP-OFF-LABEL: func.func @plain24_gate_up
// WP-OFF-NOT: wide_persistent
// WP-OFF: wide_units = 2, strategy = wgmma_sp>
// WP-ON-LABEL: func.func @mixtral_gate_up
// WP-ON: wide_tokens = 80, {{.*}}wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// WP-ON-LABEL: func.func @mixtral_down
// WP-ON: wide_tokens = 80, {{.*}}wide_low_tokens = 128, wide_units = 2, wide_persistent = 1, wide_low_calls = [512,
// WP-ON-LABEL: func.func @qwen3_gate_up
// WP-ON: wide_tokens = 80, {{.*}}wide_units = 2, wide_persistent = 1, strategy = wgmma_sp>
// WP-LATE-LABEL: func.func @mixtral_down
// WP-LATE-NOT: wide_persistent
// WP-LATE: wide_low_tokens = 128, wide_low_slots = 640, wide_units = 2, strategy = wgmma_sp>
// WP-CLUSTER-LABEL: func.func @mixtral_gate_up
// WP-CLUSTER: wide_cluster = 2, {{.*}}wide_units = 2, strategy = wgmma_sp>
// Nor single units of a gate/up tile, whose SiLU·up exchange would need
// room of its own beside the persistent ring.
// WP-SINGLE-LABEL: func.func @plain24_gate_up
// WP-SINGLE-NOT: wide_persistent
// WP-SINGLE: return
// BAD-WP: error: samoyeds-select-tiles: wide-persistent = 2 must be in [-1, 1]
// BAD-WP-LOW: error: samoyeds-select-tiles: wide-persistent = -2 must be in [-1, 1]

func.func @mixtral_gate_up(%w: tensor<8x28672x4096xbf16, #ss>, %x: tensor<?x4096xbf16>,
                           %off: tensor<9xi32>, %tok: tensor<?xi32>) -> tensor<?x14336xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<8x28672x4096xbf16, #ss>, tensor<?x4096xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x14336xbf16>
  return %y : tensor<?x14336xbf16>
}
func.func @mixtral_down(%w: tensor<8x4096x14336xbf16, #ss>, %h: tensor<?x14336xbf16>,
                        %off: tensor<9xi32>) -> tensor<?x4096xbf16> {
  %y = samoyeds.ssmm %w, %h, %off epilogue <none>
      : (tensor<8x4096x14336xbf16, #ss>, tensor<?x14336xbf16>, tensor<9xi32>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
func.func @qwen3_gate_up(%w: tensor<128x3072x4096xbf16, #ss>, %x: tensor<?x4096xbf16>,
                         %off: tensor<129xi32>, %tok: tensor<?xi32>) -> tensor<?x1536xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<128x3072x4096xbf16, #ss>, tensor<?x4096xbf16>, tensor<129xi32>, tensor<?xi32>) -> tensor<?x1536xbf16>
  return %y : tensor<?x1536xbf16>
}
func.func @plain24_gate_up(%w: tensor<128x3072x4096xbf16, #p24>, %x: tensor<?x4096xbf16>,
                           %off: tensor<129xi32>, %tok: tensor<?xi32>) -> tensor<?x1536xbf16> {
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<128x3072x4096xbf16, #p24>, tensor<?x4096xbf16>, tensor<129xi32>, tensor<?xi32>) -> tensor<?x1536xbf16>
  return %y : tensor<?x1536xbf16>
}
