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
#   p24w        wide-tokens=128 (plain 2:4: the default's paired wide
#               kernels with 128 tokens, S45's p24w)
#   ppers       persistent-units=2: the persistent grid's unit pairs
#   late        late-pairs=1: pairs from the slots where they fill a wave
#               (of the anchors only Mixtral's down projection changes)
#   ppk         wide-packed=1: every gathered wide input packed (the
#               default until session 51 packed Mixtral's, Qwen2-MoE's and
#               DeepSeek-V2-Lite's gate/up; S51: gathered 1.03-1.08x there)
#   mc          wide-multicast=2: the wide variant's blocks in pairs on two
#               token tiles of one expert, sharing each stage's weights by
#               multicast bulk copies, from two wide tiles per expert on
#               average (1:2+2:4)
#   mcall       wide-multicast=2 wide-multicast-slots=0: every wide call
#               multicasts (where the threshold should be)
#   fc, fc11    fuse-combine=1: the down projection's decode and split-K
#               kernels of the calls of at most 4 tokens combine their own
#               slot rows (the last block of each row block), no combine
#               launch at T = 1-4 (1:2+2:4 and plain 2:4)
#   wc          wide-cluster=2: the wide variant's cluster pairs on
#               neighbouring row blocks sharing the activation tile (S22:
#               0.63-0.72x; S49, after S46's CTA-scope release: 0.67-0.73x)
#   p152        wide-tokens=152 (plain 2:4: the default's pairs with the
#               most tokens three ring slots hold, 3% fewer bytes taken in
#               per MMA than with 144; session 50)
#   uc11        wide-unit-calls=1 (plain 2:4: the wide variant's calls to
#               its unit pairs or to single units on four warpgroups, call
#               by call, by the token rounds of each grid with the slots
#               spread evenly over the experts; one expert's by default
#               since session 53)
# Expert-matmul variants (single-expert bundles, test/GPU/gen-kernel-bundles.sh):
#   k11         the default (since session 53 one expert's wide calls go
#               to its unit pairs or single units, whichever grid makes
#               fewer token rounds: wide_low_calls)
#   kuo11       wide-unit-calls=0 (single units for every wide call, the
#               default until session 53)
#   k12, kws12  1:2+2:4 V = 128: the default, and its wide variant from 1024
#               tokens (wide-slots=1024): whether one expert's 1:2+2:4 grids
#               quantise into waves as plain 2:4's did (S53)
# Session 53 ran steps 10-12 of the queue before (acc: 0.94-1.01x, not
# kept; the persistent wide grid's racecheck, float64 and A/B; one expert's
# pairs from 1024 tokens, kws11, whose kernels the unit calls now use),
# GLM-4.5-Air's eight checks and step 2's first half (bench/RESULTS.md S53).
# Session 52 ran step 11's pw144 (its kernels now the default's wide ones).
# Session 51 ran step 11's first version (1:2+2:4 on the persistent grid
# lost, 0.68-0.99x; packing lost to gathered rows, now the default).
# Session 43 ran what this queue held before (bench/RESULTS.md §S43): the S40
# gather fix, the wide variant's unit pairs (now the default) and p64 (lost).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dev=${SAMOYEDS_DEVICE_DIR:-$root/.device}/pending
variants=(
  "def 12v128 "
  "def11 11v128 "
  "p24 11v128 warpgroups=2 wide-units=2"
  "p24w 11v128 wide-tokens=128"
  "ppers 12v128 persistent-units=2"
  "late 12v128 late-pairs=1"
  "ppk 12v128 wide-packed=1"
  "mc 12v128 wide-multicast=2"
  "mcall 12v128 wide-multicast=2 wide-multicast-slots=0"
  "fc 12v128 fuse-combine=1"
  "fc11 11v128 fuse-combine=1"
  "wc 12v128 wide-cluster=2"
  "p152 11v128 wide-tokens=152"
  "uc11 11v128 wide-unit-calls=1"
)
kernel_variants=(
  "k11 11v128 "
  "kuo11 11v128 wide-unit-calls=0"
  "k12 12v128 "
  "kws12 12v128 wide-slots=1024"
)
steps=(
  "1 the serving tests: samoyeds.load on the nine architectures against float32 references, CUDA graphs (S47: 15 pass, 2 skipped with the reason; S53 passed GLM-4.5-Air's eight float64 checks, the rest of this step until then)"
  "2 plain 2:4's default pairs of 144 tokens against pairs of 128 (p24w) at T = 256-1024, then against pairs of 152 (p152, the most tokens three ring slots hold; S53: float64 on Qwen2-MoE at T = 4096 passed) at 1024 and 4096 (S53 timed the rest of this step: pairs 1.00-1.03x single units at T = 256-512 but Mixtral 1.22x at 512, DeepSeek-V2-Lite 1.14x at 4096, DeepSeek-V2 0.93-0.95x at 4096; racecheck clean)"
  "3 persistent pairs: ppers against float64 and under memcheck / racecheck, then def / ppers in the persistent bands"
  "4 late pairs: late (Mixtral) against float64 in its single band (T = 300) and its paired one, memcheck / racecheck of both widths of the down projection, then def / late at T = 256-4096"
  "5 packed input (ppk, the default until S51, which found gathered rows 1.03-1.08x on Mixtral and Qwen2-MoE): against float64 on the models whose paired gate/up never packed (Qwen3-235B, DeepSeek-V2), then def / ppk at T = 1024-4096"
  "6 weight multicast and cluster pairs, the rest (S47: mc 0.94-1.04x; S49: wc 0.67-0.73x, wcu 0.75-0.90x, racecheck of wcu reports hazards between the producer's bulk copies and the consumers' loads): racecheck of wc and of the multicast kernels (whose consumer warps release slots the same way, by lane 0 after bar.warp.sync), memcheck of the multicast kernels, def / mc / mcall on the four fine-grained models"
  "7 fused combine: fc and fc11 against float64 with bit-identical repeats (T = 1-5 on the six models, each kind of combining kernel, three routings), memcheck / racecheck of the combining kernels, then def / fc and def11 / fc11 at T = 1, 2, 4 and 5 (the first call above the bound: its kernels are def's) with bit-identical outputs"
  "8 plain 2:4 pairs on two warpgroups everywhere (p24, warpgroups=2 wide-units=2): against float64, memcheck, then def11 / p24 at T = 256-4096 (split from step 2 after S44's hang)"
  "9 profile of the T = 4096 bound: ncu of the default's wide kernels (Mixtral and Qwen2-MoE, both formats, T = 4096): speed of light, compute and memory workload, warp stalls, and SASS stall sampling of Mixtral's 1:2+2:4 gate/up summarised by bench/stall_summary.py (S48 ran it: the consumers wait on the ring's full barrier; rerun after a change to the wide tiles)"
  "10 plain 2:4's unit calls on the layers (uc11, wide-unit-calls=1: each wide call to pairs or single units by the token rounds of each grid, slots spread evenly; S53: single units 1.05-1.07x the default's pairs on DeepSeek-V2 at T = 4096, pairs 1.14-1.19x on DeepSeek-V2-Lite and Qwen3-235B, which the rule keeps): against float64 with bit-identical repeats on the six models at T where it takes single units, racecheck of Mixtral's single units (T = 300), then def11 / uc11 at T = 384-4096 on the six models"
  "11 one expert's unit calls, the default since S53 (k11; S53 measured its kernels as k11's and kws11's: pairs 1.42 / 1.31x at n = 1024 on Mixtral's and Qwen2-MoE's down projections, single units 1.16-1.19x on Qwen2-MoE's gate/up): against single units alone (kuo11, the default until S53), kernel_bench.py --variants at n = 256-4096 on the eight shapes, around the bounds too, each point checked against float64; then one expert's 1:2+2:4 matmul (k12) against its wide variant from 1024 tokens (kws12), n = 256-4096: whether its grids quantise into waves as plain 2:4's did"
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
  # S49 made S48's p24w144 plain 2:4's default; S53 timed it against single
  # units where S49 had not and racechecked it: the other widths remain.
  ab ab-pairs-128 def11,p24w 11v128 mixtral,qwen2_moe 256,512,1024
  ab ab-pairs-152 def11,p152 11v128 mixtral,qwen2_moe 1024,4096
}
step3() {
  check ppers-mixtral ppers mixtral 12v128 128 random
  check ppers-qwen2 ppers qwen2_moe 12v128 600 random
  check ppers-olmoe ppers olmoe 12v128 700 one-expert
  check ppers-qwen3 ppers qwen3_235b 12v128 700 half-empty
  sanitize memcheck-ppers memcheck persistent ppers qwen2_moe 12v128 600
  sanitize racecheck-ppers racecheck persistent ppers mixtral 12v128 128
  ab ab-ppers-mixtral def,ppers 12v128 mixtral 64,128,200
  ab ab-ppers-fine def,ppers 12v128 qwen2_moe,olmoe 400,700,1000
  ab ab-ppers-large def,ppers 12v128 qwen3_235b,deepseek_v2 1200,1600,2000
}
step4() {
  check late-mixtral-300 late mixtral 12v128 300 random
  check late-mixtral-1024 late mixtral 12v128 1024 half-empty
  check late-mixtral-4096 late mixtral 12v128 4096 one-expert
  sanitize memcheck-late memcheck ssmm_3_wide late mixtral 12v128 1024
  sanitize memcheck-late-low memcheck ssmm_3_wide_low late mixtral 12v128 300
  sanitize racecheck-late-low racecheck ssmm_3_wide_low late mixtral 12v128 300
  ab ab-late def,late 12v128 mixtral 256,320,512,1024,2048,4096
}
step5() {
  check ppk-qwen3 ppk qwen3_235b 12v128 4096 random
  check ppk-dsv2 ppk deepseek_v2 12v128 4096 half-empty
  ab ab-ppk def,ppk 12v128 qwen3_235b,deepseek_v2,olmoe 1024,2048,4096
}
step6() {
  # S47 and S49 ran the first parts (mc 0.94-1.04x, wc 0.67-0.73x, wcu
  # 0.75-0.90x; all float64-correct). Racecheck reported hazards in wcu's
  # down projection (bulk copies against the consumers' loads): wc and the
  # multicast kernels release slots the same way (lane 0 after
  # bar.warp.sync), so their racechecks tell whether it is the release.
  # A probe first (bench/probes/warp_release.cu): a ring released by lane 0
  # after __syncwarp against one released by every thread. Its racecheck
  # runs without --error-exitcode: hazards with 1 and none with 0 mean
  # racecheck does not follow the warp barrier (a review of the cluster
  # kernels' release order, S49, found no early refill).
  go 60 probe-build nvcc -arch=sm_90a -o "$out/warp_release" "$root/bench/probes/warp_release.cu"
  go 30 probe-racecheck-thread compute-sanitizer --tool racecheck "$out/warp_release" 0
  go 30 probe-racecheck-warp compute-sanitizer --tool racecheck "$out/warp_release" 1
  sanitize racecheck-wc racecheck wide wc mixtral 12v128 1024
  sanitize racecheck-mc racecheck wide mcall qwen2_moe 12v128 1024
  sanitize memcheck-mc memcheck wide mcall mixtral 12v128 600
  ab ab-mc-fine def,mc,mcall 12v128 olmoe,qwen3_235b,deepseek_v2,deepseek_v2l 1024,4096
}
step7() {
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

step8() {
  check p24-mixtral p24 mixtral 11v128 1024 random
  ((fail)) && return
  check p24-qwen2 p24 qwen2_moe 11v128 256 random
  sanitize memcheck-p24 memcheck wide p24 mixtral 11v128 1024
  ab ab-p24 def11,p24 11v128 mixtral,qwen2_moe,olmoe 256,1024,4096
}

step10() {
  # The first check stops the step where it fails. Each check at a T where
  # uc11 gives the call to single units (its wide_low_calls; DeepSeek-V2's
  # at 4096); the A/Bs on both sides of its bounds.
  check uc-dsv2 uc11 deepseek_v2 11v128 4096 random
  ((fail)) && return
  check uc-mixtral uc11 mixtral 11v128 300 random
  check uc-qwen2 uc11 qwen2_moe 11v128 1500 one-expert
  check uc-olmoe uc11 olmoe 11v128 640 half-empty
  check uc-dsv2l uc11 deepseek_v2l 11v128 1000 random
  check uc-qwen3 uc11 qwen3_235b 11v128 3000 half-empty
  sanitize racecheck-uc racecheck wide_low uc11 mixtral 11v128 300
  ab ab-uc def11,uc11 11v128 deepseek_v2,qwen3_235b,deepseek_v2l 1024,2048,3000,4096
  ab ab-uc-coarse def11,uc11 11v128 mixtral,qwen2_moe,olmoe 384,640,1024,1500,2048,4096
}

step11() {
  # One expert's matmuls (each point checked against float64 by
  # kernel_bench.py), both variants interleaved rep by rep, cuBLAS and
  # cuSPARSELt beside them; n on both sides of the unit calls' bounds.
  go 120 cslt-build bash "$root/bench/baselines/build-cslt-lib.sh" "$out/cslt_lib.so"
  go 360 kernels-uc python3 "$root/bench/kernel_bench.py" \
    --variants "k11=$dev/k11,kuo11=$dev/kuo11" --cslt-lib "$out/cslt_lib.so" \
    --tokens 256,512,768,896,1024,1152,1536,2048,3072,4096 --reps 9 --out "$out/kernels-uc.json"
  go 240 kernels-ws12 python3 "$root/bench/kernel_bench.py" \
    --variants "k12=$dev/k12,kws12=$dev/kws12" --cslt-lib "$out/cslt_lib.so" \
    --tokens 256,512,1024,2048,4096 --reps 9 --out "$out/kernels-ws12.json"
}

step9() {
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
needs=("" "serving" "def11 p24w p152" "def ppers" "def late" "def ppk" "def mc mcall wc"
       "def def11 fc fc11" "def11 p24" "def def11" "def11 uc11" "k11 kuo11 k12 kws12")
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
[[ $stepno =~ ^([1-9]|1[01])$ && -n $out ]] || { echo "error: run STEP(1-11) OUT_DIR" >&2; exit 2; }
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
