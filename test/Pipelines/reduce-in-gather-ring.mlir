// reduce-in-gather where the reader's tile ring is shorter than its K range:
// DeepSeek-V2-Lite's down projection (K = 1408: 11 k tiles; decode tile of
// 16 tokens, 6 ring slots) reads gate/up's split-K slices at T = 1 (P <= 6)
// with a ring of 11 slots, which fits one block's shared memory only with 8
// tokens (227888 bytes): `_decode_reducing` takes token tiles of 8, and
// gate/up's `_split_reduce` launch is gone. The other decode calls keep the
// 16-token tile.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --implicit-check-not=_split_reduce < %t/manifest.json

// CHECK: "kernel": "dsv2l_ssmm_2_split",
// CHECK: "buffer": "ws_dsv2l_ssmm_2_split",
// CHECK: "grid": [
// CHECK: "P",
// CHECK-NEXT: 8,
// CHECK-NEXT: 64
// CHECK: "kernel": "dsv2l_ssmm_3_decode_reducing",
// CHECK-NEXT: "pdl": true,
// CHECK-NEXT: "smem": 227888,
// CHECK-NEXT: "when": {
// CHECK-NEXT: "max": 6,
// CHECK-NEXT: "min": 1,
// CHECK: "P",
// CHECK-NEXT: 16,
// CHECK-NEXT: 64
// CHECK: "kernel": "dsv2l_ssmm_3_decode",

#enc = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @dsv2l(%x: tensor<?x2048xbf16> {samoyeds.name = "x"},
    %router: tensor<64x2048xbf16> {samoyeds.name = "router"},
    %w13: tensor<64x2816x2048xbf16, #enc> {samoyeds.name = "w13"},
    %w2: tensor<64x2048x1408xbf16, #enc> {samoyeds.name = "w2"})
    -> (tensor<?x2048xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(6)
      : (tensor<?x2048xbf16>, tensor<64x2048xbf16>,
         tensor<64x2816x2048xbf16, #enc>, tensor<64x2048x1408xbf16, #enc>)
      -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}
