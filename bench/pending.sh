#!/usr/bin/env bash
# The GPU work that waits for a device: the opt-in variants that were compiled
# and lit-tested without one, and the compiler fixes not yet rerun on the GPU
# (docs/Status.md, "Waiting for a GPU"). Kept in the repository so that a
# session lent a GPU starts on it at once. Two halves:
#   bash bench/pending.sh prepare [SAMOYEDS_OPT]    # here, with MLIR
#   bash bench/pending.sh run STEP OUT_DIR [--dry-run]   # GPU machine
# prepare compiles every variant's layer bundles into .device/pending/NAME
# (SAMOYEDS_DEVICE_DIR moves .device; about 55 MB in all, so carry only the
# directories of the step: `steps` lists them). run executes one step, each
# made to end within one device call (PENDING_LIMIT seconds, default 540: what
# would start later is skipped and named), writing its logs and JSON under
# OUT_DIR; --dry-run prints the step's commands instead. `bash bench/pending.sh
# steps` lists the steps. Exit status 1 when a check failed or a command did.
# bench/same_kernels.py tells which kernels of a variant are those of another
# (a new default built from timed kernels).
# A device call brings back at most 8 files: give run an OUT_DIR outside the
# call's output folder and tar it into that folder.
#
# Variants (tile options of samoyeds-to-bundle, docs/TileChoice.md):
#   def, def11  the default (1:2+2:4 V = 128, whose SiLU·up upper persistent
#               grid pairs its units from 80 routed slots per expert on
#               OLMoE and Qwen2-MoE since session 55; plain 2:4)
#   ws128       wide-slots=128: the wide variant from 128 routed slots per
#               expert, no early single units (the S56 default before them;
#               DeepSeek-V2's and Qwen3-235B's tiles as session 56's runs
#               1-5 had them; other models' wide start may differ)
#   u1w80n      wide-units=1 wide-slots=80 wide-low-tokens=0: single units
#               of 128 tokens from 80 routed slots per expert on every
#               model (the early single units' kernels, S56 run 6)
#   k32, k32m, k32a  one expert's 1:2+2:4 V = 32 matmuls: the default
#               (span routing, whose running sum is folded into the group
#               rows after every 32-column span, each MMA waited for),
#               masked group rows (`row-masks=1`: twice the MMAs, no fold)
#               and the warp-level mma_sp strategy (`strategy=mma_sp`)
# Session 56 ran the queue's steps before (bench/RESULTS.md S56): uc12
# (routed row selection's unit calls, now the default: 1.00-1.08x), ncu
# of persistent pairs (DeepSeek-V2's pairs read 1.19x the DRAM bytes of
# single units, L2 hit rate 30.5 against 45.6%) and u1w80 / u1w80n (the
# basis of the early single units, 1.03-1.09x); session 55 the one-expert
# pair kernels, V = 32, late pairs (opt-in), fused combine and plain 2:4
# pairs on two warpgroups (dropped).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dev=${SAMOYEDS_DEVICE_DIR:-$root/.device}/pending
variants=(
  "def 12v128 "
  "def11 11v128 "
  "ws128 12v128 wide-slots=128"
  "u1w80n 12v128 wide-units=1 wide-slots=80 wide-low-tokens=0"
)
kernel_variants=(
  "k32 12v32 "
  "k32m 12v32 row-masks=1"
  "k32a 12v32 strategy=mma_sp"
)
steps=(
  "1 the serving tests: samoyeds.load on the nine architectures against float32 references, CUDA graphs (S47, S54 and S56: 15 pass, 2 skipped with the reason; S53 passed GLM-4.5-Air's eight float64 checks)"
  "2 the early single units on their own bundles (S56 timed their kernels as u1w80n, 1.03-1.09x; the rule's bundles run those kernels byte for byte up to 128 routed slots per expert and the pairs above): float64 at the rule's edges (DeepSeek-V2 T = 2200 and 3300, Qwen3-235B 1400 and 1900 one-expert), memcheck and racecheck of the single units' kernel (never sanitized), then def / ws128 (the rule off) on DeepSeek-V2 at T = 2000-3500 (Qwen3-235B's in step 3)"
  "3 def / ws128 on Qwen3-235B at T = 1200-2200 (the rule's A/B, continued), and early single units where the persistent pairs serve (OLMoE and Qwen2-MoE, 80-125 routed slots per expert, whose upper grid pairs since S55): def / u1w80n at T = 640-1000 (OLMoE) and 720-1000 (Qwen2-MoE); if single units of 128 win there too, the rule's wave bound goes"
  "4 profile of the T = 4096 bound: ncu of the default's wide kernels (Mixtral and Qwen2-MoE, both formats, T = 4096): speed of light, compute and memory workload, warp stalls, and SASS stall sampling of Mixtral's 1:2+2:4 gate/up summarised by bench/stall_summary.py (S48 ran it: the consumers wait on the ring's full barrier; rerun after a change to the wide tiles)"
  "5 one expert's 1:2+2:4 V = 32 matmuls (S56: 0.70-1.13x cuSPARSELt at n >= 256, against 1.06-1.83x for V = 128 with the same tiles): the default's span routing folds after every 32-column span, so each consumer warpgroup waits for every MMA; masked group rows (k32m) and mma_sp (k32a) against it, kernel_bench.py --variants at n = 64-4096 on the eight shapes, each point checked against float64; the winner per size becomes V = 32's rule"
)

prepare() {
  local opt=${1:-$root/build/bin/samoyeds-opt} v name fmt options
  [[ -x $opt ]] || { echo "error: no samoyeds-opt at $opt" >&2; return 2; }
  rm -rf "$dev"
  for v in "${variants[@]}"; do
    read -r name fmt options <<< "$v"
    [[ $fmt =~ ^([0-9])([0-9])v([0-9]+)$ ]] || return 2
    echo "== $name ($fmt): ${options:-default}"
    SAMOYEDS_TILE_OPTIONS="$options" bash "$root/test/GPU/gen-layer-bundles.sh" "$opt" \
      "$dev/$name" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" > /dev/null ||
      return 1
  done
  for v in "${kernel_variants[@]}"; do
    read -r name fmt options <<< "$v"
    echo "== $name ($fmt expert matmuls): ${options:-default}"
    SAMOYEDS_KERNEL_FORMATS=$fmt SAMOYEDS_TILE_OPTIONS="$options" \
      bash "$root/test/GPU/gen-kernel-bundles.sh" "$opt" "$dev/$name" > /dev/null || return 1
  done
  find "$dev" -name '*.mlir' -delete
  echo "== serving models"
  bash "$root/test/GPU/gen-serving-dirs.sh" "$dev/serving" "$opt" > /dev/null || return 1
  du -sh "$dev"
}

# --- the GPU machine ---------------------------------------------------------
start=$(date +%s) limit=${PENDING_LIMIT:-540} dry=0 fail=0 out=""
rt=${SAMOYEDS_RT_BUILD:-/tmp/samoyeds-rt}

say() { echo "$@" | tee -a "$out/pending.log"; }
# late SECONDS: true when a command expected to take SECONDS would end past the limit.
late() { (($(date +%s) - start + $1 > limit)); }
# go SECONDS NAME CMD...: runs CMD (logged to OUT/NAME.log) unless it would end late.
go() {
  local secs=$1 name=$2
  shift 2
  if ((dry)); then echo "$*"; return 0; fi
  if late "$secs"; then say "SKIPPED (time): $name: $*"; return 0; fi
  say "-- $name ($(($(date +%s) - start)) s): $*"
  # A hang (a kernel waiting on a barrier that never completes) costs at
  # most three times the estimate.
  local left=$((limit - ($(date +%s) - start)))
  timeout $((left < 3 * secs ? left : 3 * secs)) "$@" > "$out/$name.log" 2>&1
  local st=$?
  tail -4 "$out/$name.log" | tee -a "$out/pending.log"
  ((st == 0)) || { say "FAILED ($st): $name"; fail=1; }
}
# check NAME VARIANT MODEL FORMAT T ROUTING: float64 check with repeats.
check() {
  go 30 "$1" "$rt/moe-gpu-test" "$dev/$2/$3_$4" --tokens "$5" --routing "$6" --seed 11 \
    --repeat-check --check-rows 16
}
# sanitize NAME TOOL KERNELS VARIANT MODEL FORMAT T [ROUTING]
sanitize() {
  go 120 "$1" compute-sanitizer --tool "$2" --error-exitcode 1 --kernel-name "kns=$3" \
    "$rt/moe-gpu-test" "$dev/$4/$5_$6" --tokens "$7" --routing "${8:-random}" --iters 1 \
    --check-rows 2
}
# ab NAME VARIANTS FORMAT MODELS TOKENS: same-process A/B with an A/A control.
ab() {
  local list="" v
  for v in ${2//,/ }; do list+="${list:+,}$v=$dev/$v"; done
  go 150 "$1" python3 "$root/bench/ab.py" --graph --control --variants "$list" --formats "$3" \
    --models "$4" --tokens "$5" --reps 7 --out "$out/$1.json"
}

build_runtime() {
  ((dry)) && return 0
  say "== runtime ($rt)"
  if ! { cmake -S "$root/runtime" -B "$rt" -G Ninja -DCMAKE_BUILD_TYPE=Release > "$out/rt.log" 2>&1 &&
         ninja -C "$rt" >> "$out/rt.log" 2>&1; }; then
    tail -30 "$out/rt.log"
    say "runtime build failed"
    exit 1
  fi
  export PYTHONPATH=$root/python:$root/bench SAMOYEDS_RUNTIME_LIB=$rt PYTHONUNBUFFERED=1
  nvidia-smi -L 2>&1 | tee -a "$out/pending.log"
}

step1() {
  # S47 ran the serving tests (15 pass, 2 skipped with reasons); S47, S48
  # and S53 the float64 checks of Qwen3-Next's, GLM-4.5's and GLM-4.5-Air's
  # layers (all pass).
  go 200 serving bash "$root/test/GPU/run-serving-tests.sh" "$dev/serving" "$out/serving"
}

step2() {
  check new-deepseek_v2-2200 def deepseek_v2 12v128 2200 random
  check new-deepseek_v2-3300 def deepseek_v2 12v128 3300 random
  check new-qwen3_235b-1400 def qwen3_235b 12v128 1400 random
  check new-qwen3_235b-1900 def qwen3_235b 12v128 1900 one-expert
  ((fail)) && return
  sanitize memcheck-wide-low memcheck wide_low def qwen3_235b 12v128 1600
  sanitize racecheck-wide-low racecheck wide_low def qwen3_235b 12v128 1600
  ab ab-dsv2 def,ws128 12v128 deepseek_v2 2000,2200,2800,3200,3500
}

step3() {
  check u1w80n-olmoe-880 u1w80n olmoe 12v128 880 random
  check u1w80n-qwen2_moe-880 u1w80n qwen2_moe 12v128 880 random
  ((fail)) && return
  ab ab-qwen3 def,ws128 12v128 qwen3_235b 1200,1300,1600,2000,2200
  ab ab-olmoe def,u1w80n 12v128 olmoe 640,720,880,1000
  ab ab-qwen2 def,u1w80n 12v128 qwen2_moe 720,880,1000
}

step4() {
  # Each wide kernel of the call (gate/up, down) once; the run checks two
  # rows so that ncu replays only the kernels it names.
  local m f v
  for f in 12v128 11v128; do
    v=def; [[ $f == 11v128 ]] && v=def11
    for m in mixtral qwen2_moe; do
      go 60 "ncu-$m-$f" ncu --kernel-name 'regex:ssmm_[23]_wide$' --launch-count 2 \
        --section SpeedOfLight --section ComputeWorkloadAnalysis \
        --section MemoryWorkloadAnalysis --section WarpStateStats --section SchedulerStats \
        --metrics dram__bytes_read.sum,lts__t_bytes.sum,l1tex__m_xbar2l1tex_read_bytes.sum \
        "$rt/moe-gpu-test" "$dev/$v/${m}_$f" --tokens 4096 --iters 1 --check-rows 2
    done
  done
  # SASS stall sampling of Mixtral's 1:2+2:4 gate/up (S48: a third of the
  # samples on the consumers' wait for a full ring slot), summarised.
  go 90 ncu-sass-mixtral-12v128 ncu --kernel-name 'regex:ssmm_2_wide$' --launch-count 1 \
    --section WarpStateStats --section SourceCounters -f -o "$out/sass-mixtral-12v128" \
    "$rt/moe-gpu-test" "$dev/def/mixtral_12v128" --tokens 4096 --iters 1 --check-rows 2
  go 60 sass-mixtral-12v128-csv ncu --import "$out/sass-mixtral-12v128.ncu-rep" --page source \
    --csv --print-source sass
  go 10 stall-summary-mixtral-12v128 python3 "$root/bench/stall_summary.py" \
    "$out/sass-mixtral-12v128-csv.log"
}

step5() {
  go 120 cslt-build bash "$root/bench/baselines/build-cslt-lib.sh" "$out/cslt_lib.so"
  go 300 kernels-v32 python3 "$root/bench/kernel_bench.py" \
    --variants "k32=$dev/k32,k32m=$dev/k32m,k32a=$dev/k32a" --control --cslt-lib "$out/cslt_lib.so" \
    --tokens 64,256,1024,4096 --reps 9 --out "$out/kernels-v32.json"
}

# The directories under .device/pending each step reads (carry these).
needs=("" "serving" "def ws128" "def ws128 u1w80n" "def def11" "k32 k32m k32a")
case ${1:-} in
  prepare) shift; prepare "$@"; exit ;;
  steps)
    for s in "${steps[@]}"; do
      echo "$s"
      dirs=$(printf '.device/pending/%s ' ${needs[${s%% *}]})
      echo "    carry: ${dirs% }"
    done
    exit 0 ;;
  run) ;;
  *) echo "usage: bench/pending.sh prepare [SAMOYEDS_OPT] | steps | run STEP OUT_DIR [--dry-run]" >&2
     exit 2 ;;
esac
stepno=${2:-} out=${3:-}
[[ $stepno =~ ^[1-5]$ && -n $out ]] || { echo "error: run STEP(1-5) OUT_DIR" >&2; exit 2; }
[[ ${4:-} == --dry-run ]] && dry=1
mkdir -p "$out"
if ((!dry)); then
  for d in ${needs[$stepno]}; do
    [[ -d $dev/$d ]] || { echo "error: no $dev/$d (bench/pending.sh prepare here; carry" \
      "the step's directories: bench/pending.sh steps)" >&2; exit 2; }
  done
fi
build_runtime
"step$stepno"
((dry)) || say "== step $stepno done in $(($(date +%s) - start)) s, exit status $fail"
exit $fail
