// The largest route the conversion accepts, 1024 experts and top_k = 256,
// compiles and assembles; its select kernel keeps each lane's 32 logits in
// registers without spilling.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s < %t/manifest.json
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=REGS %}

// CHECK: "kernel": "widest_route_0_logits",
// CHECK: "kernel": "widest_route_0_logits_prefill",
// CHECK: "kernel": "widest_route_0_select",
// CHECK: "experts": 1024,
// CHECK: "top_k": 256

// REGS: Compiling entry function 'widest_route_0_select' for 'sm_90a'
// REGS: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
func.func @widest(%x: tensor<?x64xbf16> {samoyeds.name = "x"},
                  %r: tensor<1024x64xbf16> {samoyeds.name = "router"})
    -> (tensor<?x256xf32>, tensor<?x256xi32>) {
  %w, %ids = samoyeds.route %x, %r top_k(256) {renormalize}
      : (tensor<?x64xbf16>, tensor<1024x64xbf16>) -> (tensor<?x256xf32>, tensor<?x256xi32>)
  return %w, %ids : tensor<?x256xf32>, tensor<?x256xi32>
}
