// One sparse-sparse expert matmul: the Mixtral expert shape (14336 x 4096)
// with 1:2 row selection over spans of 128 columns and 2:4 inside the kept
// rows, reading its tokens' activations through a token list.
//
//   samoyeds-opt examples/expert_ssmm.mlir \
//     --samoyeds-to-bundle="chip=sm_90a dir=bundle-expert"
func.func @expert(
    %w: tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>> {samoyeds.name = "w"},
    %x: tensor<?x4096xbf16> {samoyeds.name = "x"},
    %offsets: tensor<2xi32> {samoyeds.name = "offsets"},
    %tokens: tensor<?xi32> {samoyeds.name = "tokens"})
    -> (tensor<?x14336xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.ssmm %w, %x, %offsets gather(%tokens) epilogue <none>
      : (tensor<1x14336x4096xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x4096xbf16>, tensor<2xi32>, tensor<?xi32>)
      -> tensor<?x14336xbf16>
  return %y : tensor<?x14336xbf16>
}
