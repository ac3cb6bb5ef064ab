// gpt-oss's whole layer (moe_ffn with the router's bias and the experts'
// biases) through the whole pipeline: the bundle lists the router's bias as
// the input "router_bias" [E] that both select kernels take before T; ptxas
// assembles them. The runtime's layer test program accepts the bundle (it
// validates the manifest and reports SKIPPED without a GPU) and refuses a
// router_bias of another shape or dtype.
// RUN: rm -rf %t && samoyeds-opt %s --samoyeds-to-bundle="chip=sm_90a dir=%t assemble=false" -o /dev/null
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/kernels.ptx -o %t/kernels.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS --allow-empty %}
// RUN: %if runtime %{ %samoyeds_rt/moe-gpu-test %t --tokens 1,64 --allow-skip | FileCheck %s --check-prefix=RT %}
// RUN: %if runtime %{ rm -rf %t.size %t.dtype && cp -r %t %t.size && cp -r %t %t.dtype %}
// RUN: %if runtime %{ %python -c "import json, sys; p = sys.argv[1] + '/manifest.json'; m = json.load(open(p)); [b.update(eval(sys.argv[2])) for b in m['buffers'] if b['name'] == 'router_bias']; json.dump(m, open(p, 'w'))" %t.size "dict(shape=[9])" %}
// RUN: %if runtime %{ %python -c "import json, sys; p = sys.argv[1] + '/manifest.json'; m = json.load(open(p)); [b.update(eval(sys.argv[2])) for b in m['buffers'] if b['name'] == 'router_bias']; json.dump(m, open(p, 'w'))" %t.dtype "dict(dtype='i32')" %}
// RUN: %if runtime %{ not %samoyeds_rt/moe-gpu-test %t.size --allow-skip 2>&1 | FileCheck %s --check-prefix=SIZE %}
// RUN: %if runtime %{ not %samoyeds_rt/moe-gpu-test %t.dtype --allow-skip 2>&1 | FileCheck %s --check-prefix=DTYPE %}

// The buffer's dtype (bf16) and kind (input) are on the lines before its
// name; moe-gpu-test's line (RT) shows them.
// MANIFEST: "name": "router_bias",
// MANIFEST-NEXT: "shape": [
// MANIFEST-NEXT: 32
// MANIFEST-NEXT: ]
// MANIFEST: "buffer": "router_bias",
// MANIFEST-NEXT: "elem_bytes": 2
// MANIFEST-NEXT: },
// MANIFEST-NEXT: {
// MANIFEST-NEXT: "symbol": "T"
// MANIFEST: "kernel": "gpt_oss_20b_route_0_select",
// MANIFEST: "buffer": "router_bias",
// MANIFEST-NEXT: "elem_bytes": 2
// MANIFEST-NEXT: },
// MANIFEST-NEXT: {
// MANIFEST-NEXT: "symbol": "T"
// MANIFEST: "kernel": "gpt_oss_20b_dispatch_1_select",
// MANIFEST-NOT: router_bias
// MANIFEST: "routing": {
// MANIFEST-NEXT: "experts": 32,

// The router's bias: a bf16 load widened to f32 and added to the logit.
// PTX-LABEL: .entry gpt_oss_20b_route_0_select(
// PTX: ld.global.b32 [[LOGIT:%r[0-9]+]],
// PTX: ld.global.b16 [[BIAS:%rs[0-9]+]],
// PTX: cvt.f32.bf16 [[BIASF:%r[0-9]+]], [[BIAS]];
// PTX: add.rn.f32 %r{{[0-9]+}}, [[LOGIT]], [[BIASF]];
// PTX-LABEL: .entry gpt_oss_20b_dispatch_1_select(
// PTX: cvt.f32.bf16

// PTXAS-NOT: warning

// RT: bundle {{.*}}: E=32 top_k=4 H=256 I=128 w13 1:2:64 w2 1:2:64 bf16 router=bf16 renormalize=1 scale=1 routing=random activation=clamped_swiglu(alpha=1.702,limit=7) bias router_bias=bf16
// RT: {{SKIPPED: no CUDA driver/device|T=1 routing=random .* ok}}
// SIZE: error: {{.*}}.size/manifest.json: buffer 'router_bias' (the router's bias [E]) has shape [9], expected [32]
// DTYPE: error: {{.*}}.dtype/manifest.json: buffer 'router_bias' (the router's bias [E]) is i32, expected bf16 or f16 or f32

#ss = #samoyeds.ss<n = 1, m = 2, v = 64>
func.func @gpt_oss_20b(%x: tensor<?x256xbf16> {samoyeds.name = "x"},
    %router: tensor<32x256xbf16> {samoyeds.name = "router"},
    %w13: tensor<32x256x256xbf16, #ss> {samoyeds.name = "w13"},
    %w2: tensor<32x256x128xbf16, #ss> {samoyeds.name = "w2"},
    %b13: tensor<32x256xbf16> {samoyeds.name = "w13_bias"},
    %b2: tensor<32x256xbf16> {samoyeds.name = "w2_bias"},
    %rb: tensor<32xbf16> {samoyeds.name = "router_bias"})
    -> (tensor<?x256xbf16> {samoyeds.name = "y"}) {
  %y = samoyeds.moe_ffn %x, %router, %w13, %w2 bias(%b13, %b2) router_bias(%rb) top_k(4)
      {renormalize, activation = #samoyeds<activation clamped_swiglu>}
      : (tensor<?x256xbf16>, tensor<32x256xbf16>, tensor<32x256x256xbf16, #ss>,
         tensor<32x256x128xbf16, #ss>, tensor<32x256xbf16>, tensor<32x256xbf16>,
         tensor<32xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
