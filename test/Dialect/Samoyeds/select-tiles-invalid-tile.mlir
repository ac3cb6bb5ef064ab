// RUN: samoyeds-opt %s --samoyeds-select-tiles -verify-diagnostics -split-input-file

// A tile the rules would make invalid is a located error, not an attribute
// the next parse rejects: with 2^62 - 1 experts the decode variant's routed
// slots overflow (the pipelines reject such expert counts before this pass:
// a bundle describes at most 2^31 - 1).
func.func @hostile_experts(
    %w: tensor<4611686018427387903x128x256xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
    %x: tensor<?x256xbf16>, %off: tensor<4611686018427387904xi32>,
    %tok: tensor<?xi32>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{'samoyeds.ssmm' op samoyeds-select-tiles: #samoyeds.tile: decode_slots = -4 must be in [0, 2^30]}}
  %y = samoyeds.ssmm %w, %x, %off gather(%tok) epilogue <none>
      : (tensor<4611686018427387903x128x256xbf16, #samoyeds.ss<n = 1, m = 1, v = 128>>,
         tensor<?x256xbf16>, tensor<4611686018427387904xi32>, tensor<?xi32>)
      -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}
