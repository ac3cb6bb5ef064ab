// RUN: samoyeds-opt %s --convert-samoyeds-to-gpu | FileCheck %s

// Names the conversion makes up (argN, resultN, tN) skip those that
// arguments and results already have: every bundle buffer has its own name.

// CHECK-LABEL: func.func @made_up_names
// CHECK-SAME: samoyeds.buffers = [#samoyeds.buffer<"arg0_1", input, bf16, [T, 64]>, #samoyeds.buffer<"arg0", input, bf16, [4, 64]>, #samoyeds.buffer<"t0", output, f32, [T, 2]>, #samoyeds.buffer<"t1", workspace, i32, [T, 2]>, #samoyeds.buffer<"result0_1", output, i32, [P]>, #samoyeds.buffer<"result0", output, i32, [5]>, #samoyeds.buffer<"t2", output, i32, [T, 2]>, #samoyeds.buffer<"ws_made_up_names_route_0", workspace, f32, [T, 4]>, #samoyeds.buffer<"ws_made_up_names_dispatch_1", workspace, i32, [P, 2]>]
func.func @made_up_names(%x: tensor<?x64xbf16>,
                         %r: tensor<4x64xbf16> {samoyeds.name = "arg0"})
    -> (tensor<?xi32>, tensor<5xi32> {samoyeds.name = "result0"},
        tensor<?x2xi32> {samoyeds.name = "t2"}, tensor<?x2xf32> {samoyeds.name = "t0"}) {
  %w, %ids = samoyeds.route %x, %r top_k(2)
      : (tensor<?x64xbf16>, tensor<4x64xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  %tok, %off, %pos = samoyeds.dispatch %ids experts(4)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
  return %tok, %off, %pos, %w : tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>
}
