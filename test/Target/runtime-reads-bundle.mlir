// The runtime accepts what the compiler writes: the layer test program
// validates this bundle's manifest (buffers, weights, routing, symbols) and
// its sizes before it needs a device; without one it reports SKIPPED.
// REQUIRES: runtime
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: %samoyeds_rt/moe-gpu-test %t --tokens 1,64 --allow-skip | FileCheck %s
// RUN: %samoyeds_rt/moe-gpu-test %t --tokens 64 --check-rows 16 --allow-skip | FileCheck %s --check-prefix=ROWS
// RUN: not %samoyeds_rt/moe-gpu-test %t --check-rows 1 2>&1 | FileCheck %s --check-prefix=BAD-ROWS

// CHECK: bundle {{.*}}: E=8 top_k=2 H=256 I=128 w13 1:2:64 w2 1:2:64 bf16 router=bf16 renormalize=1 scale=2.5
// CHECK: device memory at T=64 (P=128): weights=0.43 MiB
// CHECK: {{SKIPPED: no CUDA driver/device|T=1 routing=random .* ok}}
// --check-rows compares 16 evenly spaced rows of the 64 (every row is
// checked for NaN).
// ROWS: {{SKIPPED: no CUDA driver/device|T=64 routing=random relerr=.* rows=16 .*ok}}
// BAD-ROWS: error: bad --check-rows (an integer in [2, 2^24])

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @layer(%x: tensor<?x256xbf16> {samoyeds.name = "x"},
                 %router: tensor<8x256xbf16> {samoyeds.name = "router"},
                 %w13: tensor<8x256x256xbf16, #ss> {samoyeds.name = "w13"},
                 %w2: tensor<8x256x128xbf16, #ss> {samoyeds.name = "w2"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 top_k(2) {renormalize, routed_scaling_factor = 2.5}
      : (tensor<?x256xbf16>, tensor<8x256xbf16>, tensor<8x256x256xbf16, #ss>,
         tensor<8x256x128xbf16, #ss>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
