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
