// RUN: samoyeds-opt %s --split-input-file -verify-diagnostics --samoyeds-emit-bundle="dir=%t assemble=false"
// RUN: not test -e %t

// samoyeds-emit-bundle reads one compiled function and its PTX; other inputs
// are errors at the offending function or binary, and nothing is written.

module attributes {gpu.container_module} {
  func.func @f() attributes {samoyeds.buffers = [], samoyeds.weights = []} {
    return
  }
  // expected-error @+1 {{'gpu.binary' op expects PTX (format=isa) objects}}
  gpu.binary @samoyeds_kernels [#gpu.object<#nvvm.target<chip = "sm_90a">, bin = "\7FELF">]
}

// -----

module attributes {gpu.container_module} {
  func.func @f() attributes {samoyeds.buffers = [], samoyeds.weights = []} {
    return
  }
  // expected-error @+1 {{'gpu.binary' op expects an #nvvm.target object}}
  gpu.binary @samoyeds_kernels [#gpu.object<#rocdl.target<chip = "gfx90a">, assembly = "">]
}

// -----

module attributes {gpu.container_module} {
  // expected-note @+1 {{the first one}}
  func.func @first() attributes {samoyeds.buffers = [], samoyeds.weights = []} {
    return
  }
  // expected-error @+1 {{a bundle holds one compiled function; found 2 (run convert-samoyeds-to-gpu first)}}
  func.func @second() attributes {samoyeds.buffers = [], samoyeds.weights = []} {
    return
  }
}

// -----

// Two expert matmuls whose clamped SwiGLU differs: the manifest names one
// activation for the bundle.
module attributes {gpu.container_module} {
  func.func @f(%x: tensor<4xf32>) attributes {samoyeds.buffers = [#samoyeds.buffer<"x", input, f32, [4]>], samoyeds.weights = []} {
    // expected-note @+1 {{the first one}}
    samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@k grid(1, 1, 1) block(1, 1, 1) smem(0) args(buffer("x", 4))>](%x) {epilogue = #samoyeds.epilogue<silu_mul>, activation = #samoyeds<activation clamped_swiglu>} : (tensor<4xf32>) -> ()
    // expected-error @+1 {{a bundle's expert matmuls have one gated activation; this one differs}}
    samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@k grid(1, 1, 1) block(1, 1, 1) smem(0) args(buffer("x", 4))>](%x) {epilogue = #samoyeds.epilogue<silu_mul>, activation = #samoyeds<activation clamped_swiglu>, swiglu_limit = 3.0 : f64} : (tensor<4xf32>) -> ()
    return
  }
  gpu.binary @samoyeds_kernels [#gpu.object<#nvvm.target<chip = "sm_90a">, assembly = "">]
}
