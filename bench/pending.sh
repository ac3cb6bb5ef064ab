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
#   def, def11  the default (1:2+2:4 V = 128, whose wide variant pairs its
#               units since session 43; plain 2:4, whose wide variant pairs
#               them with 144 tokens since session 49: S48's p24w144)
#   p24         warpgroups=2 wide-units=2 (plain 2:4: every variant on two
#               consumer warpgroups, the wide one's paired: 144 tokens)
#   ppers       persistent-units=2: the persistent grid's unit pairs
#   late        late-pairs=1: pairs from the slots where they fill a wave
#               (of the anchors only Mixtral's down projection changes)
#   fc, fc11    fuse-combine=1: the down projection's decode and split-K
#               kernels of the calls of at most 4 tokens combine their own
#               slot rows (the last block of each row block), no combine
#               launch at T = 1-4 (1:2+2:4 and plain 2:4)
# Expert-matmul variants (single-expert bundles, test/GPU/gen-kernel-bundles.sh):
#   k12, k32    1:2+2:4 V = 128 and V = 32: the default (since session 54
#               one expert's routed row selection runs its persistent grid
#               up to one wave, then gives each wide call to unit pairs or
#               single units, whichever grid makes fewer token rounds)
#   ko12, ko32  wide-slots=128 wide-unit-calls=0: the S53 default (for V =
#               128 the same kernels and launches byte for byte)
# Session 54 ran the queue's steps before (bench/RESULTS.md S54): plain
# 2:4's unit calls on the layers (uc11: 0.89-1.07x, not kept), one expert's
# unit calls (k11: 1.0-1.59x single units alone) and its 1:2+2:4 grids (the
# basis of the S54 default), pairs of 128 and 152 (p24w 0.84-1.01x, p152
# 0.94-1.07x: not kept), the serving tests, multicast and cluster pairs
# (0.90-1.01x; their racecheck hazards are the warp-barrier release, which
# racecheck does not follow: bench/probes/warp_release.cu), packing (ppk
# 0.89-0.91x), persistent pairs (ppers: step 3 now) and late pairs' checks.
# Session 53 ran steps 10-12 of the queue before it (acc: 0.94-1.01x, not
# kept; the persistent wide grid's racecheck, float64 and A/B; one expert's
# pairs from 1024 tokens).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dev=${SAMOYEDS_DEVICE_DIR:-$root/.device}/pending
variants=(
  "def 12v128 "
  "def11 11v128 "
  "p24 11v128 warpgroups=2 wide-units=2"
  "ppers 12v128 persistent-units=2"
  "late 12v128 late-pairs=1"
  "fc 12v128 fuse-combine=1"
  "fc11 11v128 fuse-combine=1"
)
kernel_variants=(
  "k12 12v128 "
  "ko12 12v128 wide-slots=128 wide-unit-calls=0"
  "k32 12v32 "
  "ko32 12v32 wide-slots=128 wide-unit-calls=0"
)
steps=(
  "1 the serving tests: samoyeds.load on the nine architectures against float32 references, CUDA graphs (S47 and S54: 15 pass, 2 skipped with the reason; S53 passed GLM-4.5-Air's eight float64 checks)"
  "2 one expert's routed row selection, the default since S54 (k12: the persistent grid up to one wave, then pairs or single units by token rounds), against the S53 default (ko12 = wide-slots=128 wide-unit-calls=0, byte for byte): kernel_bench.py at the n whose calls go to pairs S54 never ran (DeepSeek-V2-Lite's down and OLMoE's two at 2049-2640 and 4225-5280, Qwen2-MoE's down at 1153-1440), each point against float64; then V = 32 (k32 / ko32) at n = 256-4096, which S54 did not time"
  "3 persistent pairs' boundary (ppers, persistent-units=2; S54: 1.09-1.17x on Qwen2-MoE and OLMoE at 87-125 routed slots per expert, Qwen3-235B 1.04-1.06x at 100-125, but 0.87-0.98x at 45-75 on DeepSeek-V2 and Qwen3-235B): float64 on DeepSeek-V2 at 105 slots per expert, then def / ppers at 70-120 slots per expert on four models, for a rule by slots per expert"
  "4 late pairs (late, Mixtral; S54: float64 at T = 300 / 1024 / 4096, memcheck of both widths and racecheck of the single units clean): def / late at T = 256-4096"
  "5 fused combine: fc and fc11 against float64 with bit-identical repeats (T = 1-5 on the six models, each kind of combining kernel, three routings), memcheck / racecheck of the combining kernels, then def / fc and def11 / fc11 at T = 1, 2, 4 and 5 (the first call above the bound: its kernels are def's) with bit-identical outputs"
  "6 plain 2:4 pairs on two warpgroups everywhere (p24, warpgroups=2 wide-units=2): against float64, memcheck, then def11 / p24 at T = 256-4096 (split from step 2 after S44's hang)"
  "7 profile of the T = 4096 bound: ncu of the default's wide kernels (Mixtral and Qwen2-MoE, both formats, T = 4096): speed of light, compute and memory workload, warp stalls, and SASS stall sampling of Mixtral's 1:2+2:4 gate/up summarised by bench/stall_summary.py (S48 ran it: the consumers wait on the ring's full barrier; rerun after a change to the wide tiles)"
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
  # One expert's matmuls (each point checked against float64 by
  # kernel_bench.py), both variants interleaved rep by rep, cuBLAS and
  # cuSPARSELt beside them. S54 timed k12 against ko12 at n = 256-4096
  # (1.20-1.52x where the grid changed); these n reach the pairs' ranges.
  go 120 cslt-build bash "$root/bench/baselines/build-cslt-lib.sh" "$out/cslt_lib.so"
  go 240 kernels-pairs python3 "$root/bench/kernel_bench.py" \
    --variants "k12=$dev/k12,ko12=$dev/ko12" --control --cslt-lib "$out/cslt_lib.so" \
    --tokens 1280,2304,2560,4608,5120 --reps 9 --out "$out/kernels-pairs.json"
  go 240 kernels-v32 python3 "$root/bench/kernel_bench.py" \
    --variants "k32=$dev/k32,ko32=$dev/ko32" --control --cslt-lib "$out/cslt_lib.so" \
    --tokens 256,512,768,1024,2048,4096 --reps 9 --out "$out/kernels-v32.json"
}
step3() {
  # S54 checked ppers against float64 on Mixtral, Qwen2-MoE, OLMoE and
  # Qwen3-235B (memcheck, racecheck clean) and timed it at T = 64-2000.
  check ppers-dsv2 ppers deepseek_v2 12v128 2800 random
  ((fail)) && return
  ab ab-ppers-dsv2 def,ppers 12v128 deepseek_v2 2400,2800,3200
  ab ab-ppers-qwen3 def,ppers 12v128 qwen3_235b 1400,1800
  ab ab-ppers-64 def,ppers 12v128 qwen2_moe,olmoe 560,640,880
}
step4() {
  ab ab-late def,late 12v128 mixtral 256,320,512,1024,2048,4096
}
step5() {
  # The first check stops the step where it fails: a row block whose
  # count never completes would leave the result unwritten everywhere.
  check fc-olmoe-1 fc olmoe 12v128 1 random
  ((fail)) && return
  # Each kind of combining kernel: split-K (reading gate/up's slices, or
  # gathering), decode (reading gate/up's slices, or not), decode_shared.
  check fc-olmoe-2 fc olmoe 12v128 2 one-expert
  check fc-mixtral-1 fc mixtral 12v128 1 random
  check fc-mixtral-4 fc mixtral 12v128 4 half-empty
  check fc-dsv2l-1 fc deepseek_v2l 12v128 1 random
  check fc-dsv2l-2 fc deepseek_v2l 12v128 2 half-empty
  check fc-qwen2-1 fc qwen2_moe 12v128 1 one-expert
  check fc-qwen2-4 fc qwen2_moe 12v128 4 random
  check fc-dsv2-3 fc deepseek_v2 12v128 3 random
  check fc-qwen3-4 fc qwen3_235b 12v128 4 one-expert
  check fc-olmoe-5 fc olmoe 12v128 5 random
  check fc11-olmoe-1 fc11 olmoe 11v128 1 random
  check fc11-qwen2-2 fc11 qwen2_moe 11v128 2 half-empty
  check fc11-mixtral-1 fc11 mixtral 11v128 1 one-expert
  # Each kind under memcheck: split-K reading gate/up's slices (OLMoE
  # T = 1), decode reading them (DeepSeek-V2-Lite T = 1), decode (Qwen2-MoE
  # T = 1), decode_shared (DeepSeek-V2-Lite T = 4); racecheck on one.
  sanitize memcheck-fc-split memcheck combining fc olmoe 12v128 1
  sanitize memcheck-fc-decode-reducing memcheck combining fc deepseek_v2l 12v128 1
  sanitize memcheck-fc-decode memcheck combining fc qwen2_moe 12v128 1
  sanitize memcheck-fc-shared memcheck combining fc deepseek_v2l 12v128 4
  sanitize racecheck-fc racecheck combining fc qwen2_moe 12v128 2
  # T = 1 effects are a few per cent: more repetitions than ab's 7. The
  # sums are the combine kernel's, in its order: bit-identical outputs.
  go 240 ab-fc python3 "$root/bench/ab.py" --graph --control --identical \
    --variants "def=$dev/def,fc=$dev/fc" --formats 12v128 \
    --models olmoe,mixtral,deepseek_v2l,qwen2_moe,deepseek_v2,qwen3_235b \
    --tokens 1,2,4,5 --reps 15 --out "$out/ab-fc.json"
  go 150 ab-fc11 python3 "$root/bench/ab.py" --graph --control --identical \
    --variants "def11=$dev/def11,fc11=$dev/fc11" --formats 11v128 \
    --models olmoe,mixtral,deepseek_v2l --tokens 1,4 --reps 15 --out "$out/ab-fc11.json"
}

step6() {
  check p24-mixtral p24 mixtral 11v128 1024 random
  ((fail)) && return
  check p24-qwen2 p24 qwen2_moe 11v128 256 random
  sanitize memcheck-p24 memcheck wide p24 mixtral 11v128 1024
  ab ab-p24 def11,p24 11v128 mixtral,qwen2_moe,olmoe 256,1024,4096
}

step7() {
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

# The directories under .device/pending each step reads (carry these).
needs=("" "serving" "k12 ko12 k32 ko32" "def ppers" "def late" "def def11 fc fc11" "def11 p24"
       "def def11")
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
[[ $stepno =~ ^[1-7]$ && -n $out ]] || { echo "error: run STEP(1-7) OUT_DIR" >&2; exit 2; }
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
