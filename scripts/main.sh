#!/usr/bin/env bash
# The main job: install, build, and compile the example expert matmul
# (examples/expert_ssmm.mlir) to a bundle; on a machine with an NVIDIA GPU,
# also run it on random data against the CPU reference and time it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SAMOYEDS_BUILD_DIR:-$root/build}
bash "$root/scripts/setup-deps.sh"
bash "$root/scripts/build.sh"
bundle=$build/examples/expert_ssmm.bundle
echo "== bundle: $bundle"
ls -l "$bundle"
grep -c "mma.sp::ordered_metadata" "$bundle/kernels.ptx" | sed 's/^/mma.sp instructions in kernels.ptx: /'
echo "== run (GPU)"
"$build/runtime/ssmm-gpu-test" "$bundle" --tokens 1,16,64,256,1000 --allow-skip
