// samoyeds-emit-bundle writes a bundle atomically: into a fresh directory
// beside the target, moved into place at the end. A recompile replaces the
// bundle's own files only (no stale cubin survives; other files stay), the
// manifest records each kernel file's size and checksum, and every I/O error
// is located at the compiled function, without a dump of the module.
// RUN: rm -rf %t && mkdir -p %t

// A fresh bundle: exactly the three files, nothing left beside it.
// RUN: samoyeds-opt %s --samoyeds-emit-bundle="dir=%t/b assemble=false" -o /dev/null
// RUN: ls %t | FileCheck %s --check-prefix=BESIDE --implicit-check-not=tmp
// RUN: ls %t/b | FileCheck %s --check-prefix=FRESH --implicit-check-not=cubin
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/b/manifest.json
// BESIDE: b
// FRESH: kernels.ptx
// FRESH-NEXT: manifest.json
// MANIFEST: "files": [
// MANIFEST-NEXT: {
// MANIFEST-NEXT: "bytes": 35,
// MANIFEST-NEXT: "fnv1a64": "50d05f8dda12cf73",
// MANIFEST-NEXT: "name": "kernels.ptx"
// MANIFEST-NEXT: }
// MANIFEST-NEXT: ],
// MANIFEST-NOT: cubin
// A buffer argument's alignment beyond its element size.
// MANIFEST: "align": 16,
// MANIFEST-NEXT: "buffer": "x",
// MANIFEST-NEXT: "elem_bytes": 2
// MANIFEST-NOT: cubin

// Over an old bundle with a cubin and a user's file: the stale cubin goes,
// the user's file stays.
// RUN: echo stale > %t/b/kernels.cubin && echo mine > %t/b/NOTES
// RUN: samoyeds-opt %s --samoyeds-emit-bundle="dir=%t/b assemble=false" -o /dev/null
// RUN: ls %t/b | FileCheck %s --check-prefix=REPLACED --implicit-check-not=cubin
// RUN: ls %t | FileCheck %s --check-prefix=BESIDE --implicit-check-not=tmp
// REPLACED: NOTES
// REPLACED-NEXT: kernels.ptx
// REPLACED-NEXT: manifest.json

// With ptxas (here a stand-in) the cubin is recorded too; a ptxas that fails,
// or writes no cubin, is an error and the old bundle stays.
// RUN: mkdir -p %t/ok %t/fail %t/none
// RUN: printf '#!/bin/sh\nwhile [ "$1" != -o ]; do shift; done\necho cubin > "$2"\n' > %t/ok/ptxas
// RUN: printf '#!/bin/sh\necho "ptxas fatal: bad PTX" >&2\nexit 3\n' > %t/fail/ptxas
// RUN: printf '#!/bin/sh\nexit 0\n' > %t/none/ptxas
// RUN: chmod +x %t/ok/ptxas %t/fail/ptxas %t/none/ptxas
// RUN: env PATH=%t/ok:%PATH% samoyeds-opt %s --samoyeds-emit-bundle="dir=%t/b" -o /dev/null
// RUN: FileCheck %s --check-prefix=CUBIN < %t/b/manifest.json
// CUBIN: "cubin": "kernels.cubin",
// CUBIN: "bytes": 35,
// CUBIN: "name": "kernels.ptx"
// CUBIN: "bytes": 6,
// CUBIN: "name": "kernels.cubin"
// RUN: env PATH=%t/fail:%PATH% not samoyeds-opt %s --samoyeds-emit-bundle="dir=%t/b" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PTXAS --implicit-check-not="see current operation"
// PTXAS: emit-bundle-io.mlir:[[#@LINE+55]]:3: error: ptxas failed (3) on '{{.*}}/b.tmp-{{.*}}/kernels.ptx': {{.*}}ptxas fatal: bad PTX
// RUN: env PATH=%t/none:%PATH% not samoyeds-opt %s --samoyeds-emit-bundle="dir=%t/b" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOCUBIN --implicit-check-not="see current operation"
// NOCUBIN: emit-bundle-io.mlir:[[#@LINE+36]]:3: error: cannot read '{{.*}}/b.tmp-{{.*}}/kernels.cubin': {{.+}}
// RUN: ls %t | FileCheck %s --check-prefix=BESIDE --implicit-check-not=tmp
// RUN: test -s %t/b/kernels.cubin

// Errors. A path under a regular file (fails for root too).
// RUN: touch %t/file
// RUN: not samoyeds-opt %s --samoyeds-emit-bundle="dir=%t/file/b assemble=false" -o /dev/null 2>&1 | FileCheck %s --check-prefix=UNDERFILE --implicit-check-not="see current operation"
// UNDERFILE: emit-bundle-io.mlir:[[#@LINE+29]]:3: error: cannot create bundle directory '{{.*}}/file/b': Not a directory
// RUN: not samoyeds-opt %s --samoyeds-emit-bundle="dir=%t/file assemble=false" -o /dev/null 2>&1 | FileCheck %s --check-prefix=ISFILE
// ISFILE: emit-bundle-io.mlir:[[#@LINE+27]]:3: error: bundle directory '{{.*}}/file' exists and is not a directory
// A parent where nothing can be created.
// RUN: not samoyeds-opt %s --samoyeds-emit-bundle="dir=/proc/samoyeds-bundle assemble=false" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PROC
// PROC: emit-bundle-io.mlir:[[#@LINE+24]]:3: error: cannot create a directory beside '/proc/samoyeds-bundle': {{.+}}
// A dangling symbolic link: the new directory cannot be renamed over it.
// RUN: ln -s nowhere %t/link
// RUN: not samoyeds-opt %s --samoyeds-emit-bundle="dir=%t/link assemble=false" -o /dev/null 2>&1 | FileCheck %s --check-prefix=LINK
// LINK: emit-bundle-io.mlir:[[#@LINE+20]]:3: error: cannot rename '{{.*}}/link.tmp-{{.*}}' to '{{.*}}/link': Not a directory
// Old bundle files that cannot be removed or replaced.
// RUN: mkdir -p %t/m/manifest.json/x %t/p/kernels.ptx/x
// RUN: not samoyeds-opt %s --samoyeds-emit-bundle="dir=%t/m assemble=false" -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMOVE
// REMOVE: emit-bundle-io.mlir:[[#@LINE+16]]:3: error: cannot remove '{{.*}}/m/manifest.json': {{.+}}
// RUN: not samoyeds-opt %s --samoyeds-emit-bundle="dir=%t/p assemble=false" -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPLACE
// REPLACE: emit-bundle-io.mlir:[[#@LINE+14]]:3: error: cannot replace '{{.*}}/p/kernels.ptx': {{.+}}
// None of the failures left a directory behind.
// RUN: ls %t | FileCheck %s --check-prefix=LEFT --implicit-check-not=tmp
// LEFT: b

// The runtime refuses a torn bundle: a kernel file that is not the one the
// manifest describes.
// RUN: %if runtime %{ echo "// torn" >> %t/b/kernels.ptx %}
// RUN: %if runtime %{ not %samoyeds_rt/ssmm-gpu-test %t/b 2>&1 | FileCheck %s --check-prefix=TORN %}
// TORN: error: sy_bundle_load: SY_ERR_MANIFEST: {{.*}}/b/manifest.json: files[0]: 'kernels.ptx' is 43 bytes, the manifest says 35

// A compiled function (as convert-samoyeds-to-gpu and gpu-module-to-binary
// leave it) with a stand-in PTX module.
module attributes {gpu.container_module} {
  func.func @f(%w: tensor<1x64x64xbf16, #samoyeds.ss<n = 1, m = 1, v = 32>> {samoyeds.name = "w"},
               %x: tensor<?x64xbf16> {samoyeds.name = "x"}, %off: tensor<2xi32> {samoyeds.name = "offsets"})
      -> (tensor<?x64xbf16> {samoyeds.name = "y"}) attributes {
        samoyeds.buffers = [#samoyeds.weight_part<"w.values", "w", values, bf16, 4096>,
                            #samoyeds.weight_part<"w.meta", "w", meta, ui32, 512>,
                            #samoyeds.buffer<"x", input, bf16, [P, 64]>,
                            #samoyeds.buffer<"offsets", input, i32, [2]>,
                            #samoyeds.buffer<"y", output, bf16, [P, 64]>],
        samoyeds.weights = [#samoyeds.weight<"w", mma_sp, bf16, [1, 64, 64], <n = 1, m = 1, v = 32>>]} {
    %y = samoyeds.launch [#samoyeds.launch<@samoyeds_kernels::@f_ssmm_0
        grid(1, token_tiles(P, 64, 1), 1) block(128, 1, 1) smem(69120)
        args(buffer("w.values", 4), buffer("w.meta", 4), buffer("x", 2, align 16),
             buffer("offsets", 4), buffer("y", 2))>](%w, %x, %off)
        {epilogue = #samoyeds.epilogue<none>}
        : (tensor<1x64x64xbf16, #samoyeds.ss<n = 1, m = 1, v = 32>>, tensor<?x64xbf16>, tensor<2xi32>) -> tensor<?x64xbf16>
    return %y : tensor<?x64xbf16>
  }
  gpu.binary @samoyeds_kernels [#gpu.object<#nvvm.target<chip = "sm_90a">, assembly = "// a stand-in for the kernels' PTX\0A">]
}
