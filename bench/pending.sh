#!/usr/bin/env bash
# The GPU work that waits for a device: the opt-in variants that were compiled
# and lit-tested without one, and the compiler fixes not yet rerun on the GPU
# (docs/Status.md, "Waiting for a GPU"). Kept in the repository so that a
# session lent a GPU starts on it at once. Two halves:
#   bash bench/pending.sh prepare [SAMOYEDS_OPT]    # here, with MLIR
#   bash bench/pending.sh run STEP[,STEP...] OUT_DIR [--dry-run]   # GPU machine
# prepare compiles every variant's layer bundles into .device/pending/NAME
# (SAMOYEDS_DEVICE_DIR moves .device; about 55 MB in all, so carry only the
# directories of the step: `steps` lists them). run executes one step, each
# made to end within one device call (PENDING_LIMIT seconds, default 540: what
# would start later is skipped and named), or several one after another under
# that one limit (`run 1,2`: a device start costs minutes), writing their
# logs and JSON under OUT_DIR; --dry-run prints the commands instead.
# `bash bench/pending.sh steps` lists the steps. Exit status 1 when a check
# failed or a command did.
# bench/same_kernels.py tells which kernels of a variant are those of another
# (a new default built from timed kernels).
# A device call brings back at most 8 files: give run an OUT_DIR outside the
# call's output folder and tar it into that folder.
#
# Variants (tile options of samoyeds-to-bundle, docs/TileChoice.md):
#   def, def11  the default (1:2+2:4 V = 128, whose SiLU·up upper persistent
#               grid pairs its units from 80 routed slots per expert on
#               OLMoE and Qwen2-MoE since session 55; plain 2:4)
#   gdef, pr, pr2  gpt-oss-20b's and -120b's 1:2+2:4 (v = 64) layers: the
#               default (mma_sp: K = 2880 is no whole number of wgmma
#               blocks and 1440 kept rows a half no whole tiles), pad-rows=1
#               (wgmma_sp over K and rows padded, sessions 70-71) and with
#               unit-tails=2 (two units a half where 23 tiles do not pair)
#   km, kw      gpt_oss_i2816 (-20b's K, intermediate 2816: whole tiles, K
#               padded): mma_sp against wgmma_sp's span tail (session 71)
#   u0, u1, t2  DeepSeek-V2-Lite's unit tails: unit-tails=0 and 2 on V = 32,
#               unit-tails=2 on V = 128 (against def)
# A variant may name chip=CHIP (default sm_90a), models=A,B (default all)
# and set=NAME (gen-layer-bundles.sh's SAMOYEDS_LAYER_SET, default the anchors).
# A new variant's steps are built from check, sanitize and ab below.
# Sessions 64-65 ran the mma_sp tiles of large m (s90m4, s90m8, s90m16:
# chip=sm_90 layers of 1:4, 1:8 and 1:16 row selection under session 64's
# accumulator bound; bench/RESULTS.md S64, S65): twelve float64 points,
# memcheck and racecheck clean; retired.
# Session 64 ran pdl-wide's session-62 form (bench/RESULTS.md S64): float64
# and memcheck clean, bit-identical, 1.02x on Mixtral at T = 256 but 0.98x
# there at 4096 and 0.95x on two 2:4 layers at 4096 (the 2:4 gate/up's
# persistent wide grid runs 10-12% longer as a dependent launch, the
# gate/up alone dependent included): kept opt-in, its steps retired.
# Session 65 ran it without the gate/up widths' L2 prefetch (a one-line
# experiment): the 2:4 loss at T = 4096 stays (0.96x), so it is the
# dependent grid's residency, not the prefetch (bench/RESULTS.md S65).
# Sessions 61-62 ran its earlier forms (S61, S62).
# Session 60 ran a step on .device/layers (where Mixtral's and Qwen2-MoE's
# layer time goes from T = 64 to 1024, bench/RESULTS.md S60): retired.
# Session 59 ran session 58's span halves (bench/RESULTS.md S59): float64,
# memcheck and racecheck clean, bit-identical, but 0.88-0.99x the default
# on six layers and one expert's matmuls: kept opt-in.
# Session 58 (bench/RESULTS.md S58): masked wide rows (`wide-row-masks=1`)
# on V = 32, float64, memcheck and racecheck clean, 1.23-1.45x on
# Mixtral's one-expert shapes and 1.03-1.07x on four layers at
# T = 2048-4096 but 0.79-0.94x elsewhere: kept opt-in.
# Sessions 55-57 (bench/RESULTS.md S55-S57): the early single units (now
# the default), single units under the five-wave bound (the bound stays),
# one expert's V = 32, uc12 (now the default), ncu of persistent pairs,
# the one-expert pair kernels, late pairs (opt-in), the fused combine and
# plain 2:4 pairs on two warpgroups (dropped).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dev=${SAMOYEDS_DEVICE_DIR:-$root/.device}/pending
variants=(
  "def 12v128 "
  "def11 11v128 "
  "gdef 12v64 set=gptoss models=gpt_oss_20b,gpt_oss_120b"
  "pr 12v64 set=gptoss models=gpt_oss_20b,gpt_oss_120b pad-rows=1"
  "pr2 12v64 set=gptoss models=gpt_oss_20b,gpt_oss_120b pad-rows=1 unit-tails=2"
  "km 12v64 set=gptoss models=gpt_oss_i2816 strategy=mma_sp"
  "kw 12v64 set=gptoss models=gpt_oss_i2816 pad-rows=1"
  "u0 12v32 models=deepseek_v2l unit-tails=0"
  "u1 12v32 models=deepseek_v2l unit-tails=2"
  "t2 12v128 models=deepseek_v2l unit-tails=2"
)
kernel_variants=()
steps=(
  "1 the serving tests: samoyeds.load on the fifteen architectures against float32 references, CUDA graphs (S65: 18 pass; S66, MiniMax-M2, ERNIE-4.5 and gpt-oss added: 23 pass, 2 skipped with the reason), and MiniMax-M2's and gpt-oss-20b's layer shapes against float64 (S66: both pass; gpt-oss's biased clamped-SwiGLU experts at 26 points); rerun after a compiler change"
  "2 profile of the T = 4096 bound: ncu of the default's wide kernels (Mixtral and Qwen2-MoE, both formats, T = 4096): speed of light, compute and memory workload, warp stalls, and SASS stall sampling of Mixtral's 1:2+2:4 gate/up summarised by bench/stall_summary.py (S48 and S61 ran it: the consumers wait on the ring's full barrier; rerun after a change to the wide tiles)"
  "3 gpt-oss's 1:2+2:4 on wgmma_sp (pad-rows=1: K and rows padded, sessions 70-71, never run): float64 checks of -20b at T = 1-4096 and all-on-one-expert, -120b at 4096; memcheck"
  "4 racecheck of step 3's variant; with unit-tails=2 (two units a half where 23 tiles do not pair): float64 checks and memcheck; gpt_oss_i2816 on wgmma_sp (K padded under row selection, session 71): float64 checks"
  "5 memcheck of gpt_oss_i2816 on wgmma_sp; DeepSeek-V2-Lite's unit-tails=2 on V = 32 and V = 128 (sessions 70-71, never run): float64 checks, memcheck and racecheck at T = 2048"
  "6 A/Bs of steps 3-4's gpt-oss variants: -20b at T = 1-4096 and -120b at 1024 and 4096, the default (mma_sp) against pad-rows=1 and against pad-rows=1 unit-tails=2 (if one wins and its checks passed, it becomes the default)"
  "7 A/Bs: gpt_oss_i2816 mma_sp against wgmma_sp; DeepSeek-V2-Lite unit-tails=0 against 2 (V = 32), the default against unit-tails=2 (V = 128)"
)

# take KEY: `taken` is the value of KEY=VALUE in the caller's `options`
# (removed from them), or "" where they have none.
take() {
  taken=""
  if [[ $options =~ (^|[[:space:]])$1=([a-z0-9_,]+) ]]; then
    taken=${BASH_REMATCH[2]}
    options=${options//$1=$taken/}
  fi
}

prepare() {
  local opt=${1:-$root/build/bin/samoyeds-opt} v name fmt options
  [[ -x $opt ]] || { echo "error: no samoyeds-opt at $opt" >&2; return 2; }
  rm -rf "$dev"
  for v in "${variants[@]}"; do
    read -r name fmt options <<< "$v"
    [[ $fmt =~ ^([0-9])([0-9]+)v([0-9]+)$ ]] || return 2
    local n=${BASH_REMATCH[1]} m=${BASH_REMATCH[2]} vv=${BASH_REMATCH[3]} taken
    # A variant's chip=CHIP (default sm_90a) is gen-layer-bundles.sh's
    # argument, its models=A,B its SAMOYEDS_LAYER_MODELS (default all) and
    # its set=NAME its SAMOYEDS_LAYER_SET (default the anchors).
    take chip
    local chip=${taken:-sm_90a}
    take models
    local models=$taken
    take set
    local set=$taken
    read -r options <<< "$options" # trims what take took
    echo "== $name ($fmt, $chip${set:+, $set}${models:+, $models}): ${options:-default}"
    SAMOYEDS_LAYER_SET=$set SAMOYEDS_LAYER_MODELS=$models SAMOYEDS_TILE_OPTIONS="$options" \
      bash "$root/test/GPU/gen-layer-bundles.sh" "$opt" "$dev/$name" "$n" "$m" "$vv" "$chip" \
      > /dev/null || return 1
  done
  for v in "${kernel_variants[@]}"; do
    read -r name fmt options <<< "$v"
    echo "== $name ($fmt expert matmuls): ${options:-default}"
    SAMOYEDS_KERNEL_FORMATS=$fmt SAMOYEDS_TILE_OPTIONS="$options" \
      bash "$root/test/GPU/gen-kernel-bundles.sh" "$opt" "$dev/$name" > /dev/null || return 1
  done
  # Layer shapes of architectures beyond the anchors (gen-layer-bundles.sh's
  # "more" and "gptoss" sets): MiniMax-M2's (session 65) and gpt-oss-20b's
  # (session 66: expert biases, clamped SwiGLU, v = 64).
  echo "== more (12v128): minimax_m2; (12v64, 44v64): gpt_oss_20b"
  SAMOYEDS_LAYER_SET=more SAMOYEDS_LAYER_MODELS=minimax_m2 \
    bash "$root/test/GPU/gen-layer-bundles.sh" "$opt" "$dev/more" 1 2 128 > /dev/null || return 1
  SAMOYEDS_LAYER_SET=gptoss SAMOYEDS_LAYER_MODELS=gpt_oss_20b \
    bash "$root/test/GPU/gen-layer-bundles.sh" "$opt" "$dev/more" 1 2 64 > /dev/null || return 1
  # Its plain 2:4 layer, on wgmma_sp by default: K = 2880 padded to 2944 (session 69),
  # four consumer warpgroups over 45 tiles a half with unit tails (session 70).
  SAMOYEDS_LAYER_SET=gptoss SAMOYEDS_LAYER_MODELS=gpt_oss_20b \
    bash "$root/test/GPU/gen-layer-bundles.sh" "$opt" "$dev/more" 4 4 64 > /dev/null || return 1
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
# check NAME VARIANT MODEL FORMAT T ROUTING [SECONDS]: float64 check with
# repeats, expected to take SECONDS (default 30).
check() {
  go "${7:-30}" "$1" "$rt/moe-gpu-test" "$dev/$2/$3_$4" --tokens "$5" --routing "$6" --seed 11 \
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

# format_of NAME: the format of variant NAME in the variants table.
format_of() {
  local v name fmt options
  for v in "${variants[@]}"; do
    read -r name fmt options <<< "$v"
    [[ $name == "$1" ]] && { echo "$fmt"; return 0; }
  done
  return 1
}

step1() {
  # S47 ran the serving tests (15 pass, 2 skipped with reasons); S47, S48
  # and S53 the float64 checks of Qwen3-Next's, GLM-4.5's and GLM-4.5-Air's
  # layers (all pass).
  go 200 serving bash "$root/test/GPU/run-serving-tests.sh" "$dev/serving" "$out/serving"
  local a
  for a in "64 random" "1024 random"; do
    set -- $a
    check "more-minimax_m2-$1-$2" more minimax_m2 12v128 "$1" "$2" 60
  done
  # Each gpt-oss check spends ~25 s packing its weights and in the reference.
  for a in "16 random" "1024 random" "300 one-expert"; do
    set -- $a
    check "more-gpt_oss_20b-$1-$2" more gpt_oss_20b 12v64 "$1" "$2"
  done
  # Plain 2:4's K tail and unit tails on wgmma_sp (sessions 69, 70): the ordinary and
  # wide grids.
  for a in "16 random" "1024 random"; do
    set -- $a
    check "more-gpt_oss_20b-44v64-$1-$2" more gpt_oss_20b 44v64 "$1" "$2"
  done
}



step2() {
  # Each wide kernel of the call (gate/up, down) once; the run checks two
  # rows so that ncu replays only the kernels it names.
  local m f v
  for v in def def11; do
    f=$(format_of "$v")
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

step3() {
  local t
  for t in 1 16 1024 4096; do
    check "pr-gpt_oss_20b-$t" pr gpt_oss_20b 12v64 "$t" random
  done
  check pr-gpt_oss_20b-300-one pr gpt_oss_20b 12v64 300 one-expert
  check pr-gpt_oss_120b-4096 pr gpt_oss_120b 12v64 4096 random 150
  sanitize memcheck-pr memcheck ssmm pr gpt_oss_20b 12v64 1024
}

step4() {
  local t
  sanitize racecheck-pr racecheck ssmm pr gpt_oss_20b 12v64 16
  check pr2-gpt_oss_20b-4096 pr2 gpt_oss_20b 12v64 4096 random
  check pr2-gpt_oss_20b-300-one pr2 gpt_oss_20b 12v64 300 one-expert
  sanitize memcheck-pr2 memcheck ssmm pr2 gpt_oss_20b 12v64 1024
  for t in 16 1024 4096; do
    check "kw-gpt_oss_i2816-$t" kw gpt_oss_i2816 12v64 "$t" random
  done
  check kw-gpt_oss_i2816-300-one kw gpt_oss_i2816 12v64 300 one-expert
}

step5() {
  local t
  sanitize memcheck-kw memcheck ssmm kw gpt_oss_i2816 12v64 1024
  for t in 1024 4096; do
    check "u1-deepseek_v2l-$t" u1 deepseek_v2l 12v32 "$t" random
  done
  check t2-deepseek_v2l-2048 t2 deepseek_v2l 12v128 2048 random
  sanitize memcheck-t2 memcheck ssmm t2 deepseek_v2l 12v128 2048
  sanitize racecheck-t2 racecheck ssmm t2 deepseek_v2l 12v128 2048
}

step6() {
  ab ab-gpt_oss_20b gdef,pr,pr2 12v64 gpt_oss_20b 1,16,64,256,1024,4096
  ab ab-gpt_oss_120b gdef,pr,pr2 12v64 gpt_oss_120b 1024,4096
}

step7() {
  ab ab-gpt_oss_i2816 km,kw 12v64 gpt_oss_i2816 1,16,256,1024,4096
  ab ab-deepseek_v2l-12v32 u0,u1 12v32 deepseek_v2l 64,256,1024,2048,4096
  ab ab-deepseek_v2l-12v128 def,t2 12v128 deepseek_v2l 64,256,1024,2048,4096
}

# The directories under .device/pending each step reads (carry these).
needs=("" "serving more" "def def11" "pr" "pr pr2 kw" "kw u1 t2" "gdef pr pr2"
       "km kw u0 u1 def t2")
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
  *) echo "usage: bench/pending.sh prepare [SAMOYEDS_OPT] | steps | run STEP[,STEP...] OUT_DIR [--dry-run]" >&2
     exit 2 ;;
esac
list=${2:-} out=${3:-}
# STEP or STEP,STEP,...: the steps one after another under one limit.
usage="error: run STEP[,STEP...] (each 1-${#steps[@]}) OUT_DIR"
[[ $list =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ && -n $out ]] || { echo "$usage" >&2; exit 2; }
IFS=, read -ra stepnos <<< "$list"
for stepno in "${stepnos[@]}"; do
  ((stepno <= ${#steps[@]})) || { echo "$usage" >&2; exit 2; }
done
[[ $(printf '%s\n' "${stepnos[@]}" | sort -u | wc -l) == "${#stepnos[@]}" ]] ||
  { echo "error: a step named twice in $list" >&2; exit 2; }
[[ ${4:-} == --dry-run ]] && dry=1
mkdir -p "$out"
if ((!dry)); then
  for stepno in "${stepnos[@]}"; do
    for d in ${needs[$stepno]}; do
      [[ -d $dev/$d ]] || { echo "error: no $dev/$d (bench/pending.sh prepare here; carry" \
        "the step's directories: bench/pending.sh steps)" >&2; exit 2; }
    done
  done
fi
build_runtime
for stepno in "${stepnos[@]}"; do
  "step$stepno"
  ((dry)) || say "== step $stepno done in $(($(date +%s) - start)) s, exit status $fail"
done
exit $fail
