// A whole MoE feed-forward layer with the shapes of OLMoE-1B-7B (hidden 2048,
// intermediate 1024, 64 experts, top-8, no renormalisation), weights in the
// Samoyeds default format (1:2 row selection over spans of 128, 2:4 inside).
//
//   samoyeds-opt examples/moe_layer.mlir \
//     --samoyeds-to-bundle="chip=sm_90a dir=bundle-olmoe"
#ss = #samoyeds.ss<n = 1, m = 2, v = 128>
func.func @olmoe_moe(
    %x: tensor<?x2048xbf16> {samoyeds.name = "x"},
    %router: tensor<64x2048xbf16> {samoyeds.name = "router"},
    %w13: tensor<64x2048x2048xbf16, #ss> {samoyeds.name = "w13"},
    %w2: tensor<64x2048x1024xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x2048xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(8)
      : (tensor<?x2048xbf16>, tensor<64x2048xbf16>,
         tensor<64x2048x2048xbf16, #ss>, tensor<64x2048x1024xbf16, #ss>)
      -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}
