#!/usr/bin/env bash
# Expert parallelism on 2 GPUs against one (bench/ep_bench.py), one command on the GPU
# machine (2 H200s; NCCL's NVLink multicast stays off):
#   bash bench/run-ep.sh OUT_DIR [BUNDLES]
# Needs the bundles from `bash bench/prepare-ep.sh` (a machine with samoyeds-opt) under
# .device/ep (carry .device). Builds the runtime library, then runs
# torchrun --nproc-per-node 2 bench/ep_bench.py, bounded by EP_TIMEOUT seconds (230).
# OUT_DIR gets ep.json (rewritten after every T), ep.log (all that was printed) and NCCL's
# INIT log of each process (nccl.PID.log: the transport it chose, P2P or SHM).
set -uo pipefail
out=${1:?usage: bench/run-ep.sh OUT_DIR [BUNDLES]}
root=$(cd "$(dirname "$0")/.." && pwd)
bundles=${2:-${SAMOYEDS_DEVICE_DIR:-$root/.device}/ep}
rt=${SAMOYEDS_RT_BUILD:-/tmp/samoyeds-rt}
mkdir -p "$out"
log=$out/ep.log
: > "$log"
for b in single_k8 single_k1 rank_k1; do
  [[ -f $bundles/$b/manifest.json ]] || { echo "missing $bundles/$b: run bench/prepare-ep.sh" \
    | tee -a "$log"; exit 1; }
done
echo "== runtime library ($rt)" | tee -a "$log"
if ! { cmake -S "$root/runtime" -B "$rt" -G Ninja -DCMAKE_BUILD_TYPE=Release > "$rt.log" 2>&1 &&
       ninja -C "$rt" SamoyedsRuntimeShared >> "$rt.log" 2>&1; }; then
  tail -40 "$rt.log" | tee -a "$log"
  exit 1
fi
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT NCCL_DEBUG_FILE=$out/nccl.%p.log
export PYTHONPATH=$root/python PYTHONUNBUFFERED=1 SAMOYEDS_RUNTIME_LIB=$rt
nvidia-smi -L 2>&1 | tee -a "$log"
timeout "${EP_TIMEOUT:-230}" python3 -m torch.distributed.run --nproc-per-node 2 \
  "$root/bench/ep_bench.py" --bundles "$bundles" --out "$out/ep.json" 2>&1 | tee -a "$log"
st=${PIPESTATUS[0]}
echo "== exit status $st" | tee -a "$log"
exit "$st"
