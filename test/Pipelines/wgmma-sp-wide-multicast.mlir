// Weight multicast of the wide variant (wide-multicast=2) through the whole
// pipeline, on a 1:2+2:4 layer (gate/up and down: 4 row blocks of two 64-row
// units): by default the wide variant's calls from two token tiles an expert
// (2048 routed slots) run its multicast kernels (`_wide_mc`; with
// wide-multicast-slots=0 every wide call), which declare two-block clusters
// (.reqnctapercluster, which every launch takes) and launch twice the row
// blocks in grid x (the two ranks of each) over groups of two token tiles in
// grid y (token_tiles with twice the wide tokens); each rank copies its share
// of a stage's weights (values, metadata, row choices) with multicast bulk
// copies into both blocks' slots, releases each slot on both blocks' empty
// barriers (one arrival per consumer warp, after the warp's lanes meet at
// bar.warp.sync: routed row selection reads the slot's row choices after the
// MMAs' wait; lane 0 arrives here and, through mapa, on the peer, released at
// CTA scope: cluster scope cost a GPU-wide MEMBAR per warp and stage) and meets
// the peer at cluster barriers; a group of one tile runs its first block alone
// (all six copies of a stage into its own ring, each warp's release counting
// twice) while the second leaves. Packed rows (wide-packed=2): each block
// copies its own tile's rows without multicast, the weights still multicast,
// and the pack kernels keep their single tiles (one `_pack` for the wide
// variant's and the multicast kernel's calls). ptxas assembles every kernel
// without serialising a wgmma or spilling. Without the option no kernel
// multicasts.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-multicast=2 dir=%t assemble=false" | FileCheck %s --check-prefix=GRID
// RUN: rm -rf %t.all && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-multicast=2 wide-multicast-slots=0 dir=%t.all assemble=false" | FileCheck %s --check-prefix=ALL
// RUN: FileCheck %s --implicit-check-not=mbarrier.arrive.release.cluster < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.both && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-multicast=2 wide-packed=2 dir=%t.both assemble=false" | FileCheck %s --check-prefix=PACKED-BOTH --implicit-check-not=_pack_mc
// RUN: rm -rf %t.packed && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-multicast=2 wide-multicast-slots=0 wide-packed=2 dir=%t.packed assemble=false" | FileCheck %s --check-prefix=PACKED-GRID
// RUN: FileCheck %s --check-prefix=PACKED < %t.packed/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.packed/kernels.ptx -o %t.packed/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: rm -rf %t.group && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a wide-multicast=2 group-tiles=16 dir=%t.group assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=GROUP < %t.group/kernels.ptx
// RUN: rm -rf %t.none && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t.none assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=NONE < %t.none/kernels.ptx

// CHECK-LABEL: .entry layer_ssmm_2_wide_mc(
// CHECK: .reqnctapercluster 2, 1, 1
// CHECK: fence.mbarrier_init.release.cluster;
// CHECK-NEXT: barrier.cluster.arrive;
// CHECK-NEXT: barrier.cluster.wait;
// CHECK: wgmma.wait_group.sync.aligned 0;
// CHECK: ld.shared.b8
// CHECK: bar.warp.sync -1;
// CHECK-NOT: ld.shared
// CHECK: mbarrier.arrive.shared.b64 {{%rd[0-9]+}}, [[[EMPTY:%rd[0-9]+]]], {{%r[0-9]+}};
// CHECK-NOT: ld.shared
// CHECK: mapa.shared::cluster.u64 [[PEER:%rd[0-9]+]], [[EMPTY]],
// CHECK-NOT: ld.shared
// CHECK: mbarrier.arrive.shared::cluster.b64 _, [[[PEER]]], {{%r[0-9]+}};
// CHECK-COUNT-3: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster [{{%rd[0-9]+}}], [{{[^]]+}}], {{%r[0-9]+}}, [{{%rd[0-9]+}}], {{%rs[0-9]+}};
// CHECK-COUNT-6: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [{{%rd[0-9]+}}], [{{[^]]+}}], {{%r[0-9]+}}, [{{%rd[0-9]+}}];
// CHECK-NOT: .entry
// CHECK: barrier.cluster.arrive;
// CHECK-NEXT: barrier.cluster.wait;
// CHECK-LABEL: .entry layer_ssmm_3_wide_mc(
// CHECK: .reqnctapercluster 2, 1, 1
// CHECK: mbarrier.arrive.shared::cluster.b64
// CHECK: complete_tx::bytes.multicast::cluster
// CHECK-NOT: .entry
// CHECK: barrier.cluster.wait;

// Blocks are handed out in groups of group_tiles token tiles: the multicast
// kernel's grid y counts pairs of tiles, so its groups hold group_tiles / 2.
// GROUP-LABEL: .entry layer_ssmm_2_wide(
// GROUP: min.u64 {{%rd[0-9]+}}, {{%rd[0-9]+}}, 16;
// GROUP-LABEL: .entry layer_ssmm_2_wide_mc(
// GROUP: min.u64 {{%rd[0-9]+}}, {{%rd[0-9]+}}, 8;
// GROUP-LABEL: .entry layer_ssmm_2_split(

// GRID: launch<@samoyeds_kernels::@layer_ssmm_2_wide grid(4, token_tiles(P, 128, 8), 1) {{[^>]*}} when(P in [513, 2047])
// GRID: launch<@samoyeds_kernels::@layer_ssmm_2_wide_mc grid(8, token_tiles(P, 256, 8), 1) {{[^>]*}} when(P in [2048, ...])
// GRID: launch<@samoyeds_kernels::@layer_ssmm_3_wide grid(4, token_tiles(P, 128, 8), 1) {{[^>]*}} when(P in [512, 2047])
// GRID: launch<@samoyeds_kernels::@layer_ssmm_3_wide_mc grid(8, token_tiles(P, 256, 8), 1) {{[^>]*}} when(P in [2048, ...])

// ALL-NOT: @layer_ssmm_2_wide grid
// ALL: launch<@samoyeds_kernels::@layer_ssmm_2_wide_mc grid(8, token_tiles(P, 256, 8), 1) {{[^>]*}} when(P in [513, ...])
// ALL-NOT: @layer_ssmm_3_wide grid
// ALL: launch<@samoyeds_kernels::@layer_ssmm_3_wide_mc grid(8, token_tiles(P, 256, 8), 1) {{[^>]*}} when(P in [512, ...])

// PACKED-GRID: launch<@samoyeds_kernels::@layer_ssmm_2_pack grid(8, token_tiles(P, 128, 8), 1) {{[^>]*}} when(P in [513, ...])>
// PACKED-GRID: launch<@samoyeds_kernels::@layer_ssmm_2_wide_mc grid(8, token_tiles(P, 256, 8), 1) {{[^>]*}} when(P in [513, ...])>

// PACKED-BOTH: launch<@samoyeds_kernels::@layer_ssmm_2_pack grid(8, token_tiles(P, 128, 8), 1) {{[^>]*}} when(P in [513, ...])>
// PACKED-BOTH-SAME: launch<@samoyeds_kernels::@layer_ssmm_2_wide grid(4, token_tiles(P, 128, 8), 1) {{[^>]*}} when(P in [513, 2047])>
// PACKED-BOTH-SAME: launch<@samoyeds_kernels::@layer_ssmm_2_wide_mc grid(8, token_tiles(P, 256, 8), 1) {{[^>]*}} when(P in [2048, ...])>

// PACKED-LABEL: .entry layer_ssmm_2_pack(
// PACKED-NOT: reqnctapercluster
// PACKED-LABEL: .entry layer_ssmm_2_wide_mc(
// PACKED: .reqnctapercluster 2, 1, 1
// PACKED-COUNT-3: complete_tx::bytes.multicast::cluster
// PACKED: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [{{%rd[0-9]+}}], [{{%rd[0-9]+}}], {{%r[0-9]+}}, [{{%rd[0-9]+}}];
// PACKED-LABEL: .entry layer_ssmm_3_wide_mc(
// PACKED: .reqnctapercluster 2, 1, 1


// PTXAS-NOT: warning
// PTXAS-NOT: C75
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill

// NONE-NOT: reqnctapercluster
// NONE-NOT: multicast::cluster

#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @layer(%x: tensor<?x1024xbf16> {samoyeds.name = "x"},
                 %router: tensor<8x1024xbf16> {samoyeds.name = "router"},
                 %w13: tensor<8x1024x1024xbf16, #ss> {samoyeds.name = "w13"},
                 %w2: tensor<8x1024x512xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x1024xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2)
      : (tensor<?x1024xbf16>, tensor<8x1024xbf16>, tensor<8x1024x1024xbf16, #ss>,
         tensor<8x1024x512xbf16, #ss>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
