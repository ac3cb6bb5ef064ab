// The emitted PTX assembles with ptxas for sm_80 and sm_90a, for every
// epilogue, both element types and both weight formats.
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: samoyeds-opt %s --samoyeds-to-bundle="chip=sm_80 dir=%t/sm80 assemble=false" -o /dev/null
// RUN: %ptxas -arch=sm_80 %t/sm80/kernels.ptx -o %t/sm80.cubin
// RUN: samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a strategy=mma_sp dir=%t/sm90a assemble=false" -o /dev/null
// RUN: %ptxas -arch=sm_90a %t/sm90a/kernels.ptx -o %t/sm90a.cubin
// RUN: FileCheck %s < %t/sm90a/kernels.ptx
// A bundle assembled by the pipeline itself names its cubin.
// RUN: env PATH=%{ptxas_dir}:$PATH samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t/cubin" -o /dev/null
// RUN: FileCheck %s --check-prefix=CUBIN < %t/cubin/manifest.json
// RUN: test -s %t/cubin/kernels.cubin

// CHECK-LABEL: .visible .entry layer_ssmm_0(
// CHECK: mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32
// CHECK-LABEL: .visible .entry layer_ssmm_1(
// CHECK: mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32
// CHECK: ex2.approx.ftz.f32
// CHECK-LABEL: .visible .entry layer_ssmm_2(
// CHECK: mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32
// The combine's slot rows are bf16, the result's element type, read a
// column a thread, and from 8192 routed slots 16 bytes (8 columns) at a time.
// CHECK-LABEL: .visible .entry layer_ssmm_3(
// CHECK: st.global.b16
// CHECK-LABEL: .visible .entry layer_ssmm_3_combine(
// CHECK: ld.global.b16
// CHECK-LABEL: .visible .entry layer_ssmm_3_combine_vector(
// CHECK: ld.global.v4.b32
// CHECK: st.global.v4.b32

// CUBIN: "cubin": "kernels.cubin",

#s12 = #samoyeds.ss<n = 1, m = 2, v = 64>
#s24 = #samoyeds.ss<n = 1, m = 1, v = 32>
#s14 = #samoyeds.ss<n = 1, m = 4, v = 128>
func.func @layer(%w0: tensor<2x256x512xbf16, #s12>, %w1: tensor<2x512x512xbf16, #s14>,
                 %w2: tensor<2x256x512xf16, #s24>, %w3: tensor<2x64x256xbf16, #s24>,
                 %x: tensor<?x512xbf16>, %xh: tensor<?x512xf16>, %h: tensor<?x256xbf16>,
                 %off: tensor<3xi32>, %tok: tensor<?xi32>,
                 %rw: tensor<?x2xf32>, %pos: tensor<?x2xi32>)
    -> (tensor<?x256xbf16>, tensor<?x256xbf16>, tensor<?x256xf16>, tensor<?x64xbf16>) {
  %a = samoyeds.ssmm %w0, %x, %off gather(%tok) epilogue <none>
      : (tensor<2x256x512xbf16, #s12>, tensor<?x512xbf16>, tensor<3xi32>, tensor<?xi32>)
      -> tensor<?x256xbf16>
  %b = samoyeds.ssmm %w1, %x, %off gather(%tok) epilogue <silu_mul>
      : (tensor<2x512x512xbf16, #s14>, tensor<?x512xbf16>, tensor<3xi32>, tensor<?xi32>)
      -> tensor<?x256xbf16>
  %c = samoyeds.ssmm %w2, %xh, %off gather(%tok) epilogue <none>
      : (tensor<2x256x512xf16, #s24>, tensor<?x512xf16>, tensor<3xi32>, tensor<?xi32>)
      -> tensor<?x256xf16>
  %d = samoyeds.ssmm %w3, %h, %off combine(%rw, %pos) epilogue <weighted_combine>
      : (tensor<2x64x256xbf16, #s24>, tensor<?x256xbf16>, tensor<3xi32>, tensor<?x2xf32>,
         tensor<?x2xi32>) -> tensor<?x64xbf16>
  return %a, %b, %c, %d : tensor<?x256xbf16>, tensor<?x256xbf16>, tensor<?x256xf16>, tensor<?x64xbf16>
}
