// RUN: samoyeds-opt %s --samoyeds-decompose-moe -split-input-file -verify-diagnostics

// The expert count is needed for the dispatch offsets; when neither w13 nor
// the router gives it, the layer cannot be decomposed.
func.func @dynamic_experts(
    %x: tensor<?x128xbf16>, %router: tensor<?x128xbf16>,
    %w13: tensor<?x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<?x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
    -> tensor<?x128xbf16> {
  // expected-error @+1 {{could not decompose: needs a static expert count}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2) {renormalize}
      : (tensor<?x128xbf16>, tensor<?x128xbf16>,
         tensor<?x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
      -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

// Every shape dynamic: the expert count is still what is missing.
func.func @all_dynamic(
    %x: tensor<?x?xf16>, %router: tensor<?x?xf32>,
    %w13: tensor<?x?x?xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
    %w2: tensor<?x?x?xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>)
    -> tensor<?x?xf16> {
  // expected-error @+1 {{could not decompose: needs a static expert count}}
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(8)
      : (tensor<?x?xf16>, tensor<?x?xf32>,
         tensor<?x?x?xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>,
         tensor<?x?x?xf16, #samoyeds.ss<n = 2, m = 2, v = 32>>)
      -> tensor<?x?xf16>
  return %y : tensor<?x?xf16>
}

// -----

// moe_experts has no router: with neither weight giving the expert count, it
// cannot be decomposed either.
func.func @experts_dynamic_experts(
    %x: tensor<?x128xbf16>, %w: tensor<?x2xf32>, %ids: tensor<?x2xi32>,
    %w13: tensor<?x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
    %w2: tensor<?x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
    -> tensor<?x128xbf16> {
  // expected-error @+1 {{could not decompose: needs a static expert count}}
  %y = samoyeds.moe_experts %x, %w, %ids, %w13, %w2
      : (tensor<?x128xbf16>, tensor<?x2xf32>, tensor<?x2xi32>,
         tensor<?x128x128xbf16, #samoyeds.ss<n = 1, m = 2, v = 128>>,
         tensor<?x128x64xbf16, #samoyeds.ss<n = 1, m = 2, v = 64>>)
      -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}
