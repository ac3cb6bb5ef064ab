#!/usr/bin/env bash
# Compares the PTX two samoyeds-opt builds generate for the GPU test bundles:
# the six layer shapes of test/GPU/gen-layer-bundles.sh in the formats
# (n m v) = (1 1 128), (1 2 128), (1 2 32) and the expert shapes of
# test/GPU/gen-kernel-bundles.sh, each for sm_90a and sm_80.
#   scripts/compare-ptx.sh OLD_OPT NEW_OPT [WORK_DIR]
# A bundle whose kernels.ptx is byte-identical passes. Otherwise both PTX
# files are assembled with ptxas -v (SAMOYEDS_PTXAS, else the .venv's or
# PATH's ptxas) and each kernel must use no more registers, stack or spill
# bytes than before and the same number of mma.sp, cp.async, cp.async group
# and shfl instructions. Exits 1 when a bundle fails.
# KEEP_OLD=1 reuses WORK_DIR/old from an earlier run (the old compiler's
# bundles do not change); ONLY=REGEX limits the run to matching bundles
# (e.g. ONLY='layers-sm_90a-12v128/olmoe').
set -euo pipefail
old_opt=$(realpath "$1") new_opt=$(realpath "$2")
work=${3:-$(mktemp -d /tmp/compare-ptx.XXXXXX)}
root=$(cd "$(dirname "$0")/.." && pwd)
ptxas=${SAMOYEDS_PTXAS:-$(find "$root/.venv/" -path "*/nvidia/cuda_nvcc/bin/ptxas" -type f 2>/dev/null | head -1)}
ptxas=${ptxas:-$(command -v ptxas || true)}
[[ -x "$ptxas" ]] || { echo "compare-ptx: no ptxas (set SAMOYEDS_PTXAS)" >&2; exit 2; }
export SAMOYEDS_TILE_OPTIONS="assemble=false"

# generate OPT DIR: every bundle of the comparison under DIR.
generate() {
  local opt=$1 dir=$2 chip f n m v
  for chip in sm_90a sm_80; do
    for f in 1:1:128 1:2:128 1:2:32; do
      IFS=: read -r n m v <<<"$f"
      bash "$root/test/GPU/gen-layer-bundles.sh" "$opt" \
        "$dir/layers-$chip-$n${m}v$v" "$n" "$m" "$v" "$chip" >/dev/null
    done
    bash "$root/test/GPU/gen-kernel-bundles.sh" "$opt" "$dir/kernels-$chip" \
      "$chip" >/dev/null
  done
}

# stats PTX CHIP: one line per kernel: name regs stack spill-stores
# spill-loads mma.sp cp.async commit wait shfl.
stats() {
  local ptx=$1 chip=$2
  "$ptxas" -v -arch="$chip" "$ptx" -o /dev/null 2>&1 | awk '
    /Compiling entry function/ { f = $0; sub(/.*function .\047?/, "", f);
                                 sub(/\047.*/, "", f) }
    /bytes stack frame/ { st[f] = $1; ss[f] = $5; sl[f] = $9 }
    /Used [0-9]+ registers/ { for (i = 1; i <= NF; ++i)
                                if ($(i + 1) ~ /^registers/) r[f] = $i }
    END { for (k in r) print k, r[k], st[k] + 0, ss[k] + 0, sl[k] + 0 }' |
    sort > "$ptx.$chip.regs"
  awk '
    /^\.visible \.entry|^\.entry/ { f = $NF; sub(/\(.*/, "", f) }
    /mma\.sp/ { mma[f]++ }
    /cp\.async\.c[ag]\.shared/ { cp[f]++ }
    /cp\.async\.commit_group/ { cm[f]++ }
    /cp\.async\.wait_group/ { wt[f]++ }
    /shfl\.sync/ { sh[f]++ }
    /^\.visible \.entry|^\.entry/ { seen[f] = 1 }
    END { for (k in seen) print k, mma[k] + 0, cp[k] + 0, cm[k] + 0,
                                 wt[k] + 0, sh[k] + 0 }' "$ptx" |
    sort > "$ptx.counts"
  join "$ptx.$chip.regs" "$ptx.counts"
}

if [[ "${KEEP_OLD:-0}" != 1 || ! -f "$work/old/.done" ]]; then
  rm -rf "$work/old"
  generate "$old_opt" "$work/old"
  touch "$work/old/.done"
fi
rm -rf "$work/new"
generate "$new_opt" "$work/new"

identical=0 equivalent=0 failed=0
while read -r old; do
  rel=${old#"$work/old/"}
  bundle=${rel%/kernels.ptx}
  [[ -n "${ONLY:-}" && ! "$bundle" =~ $ONLY ]] && continue
  new=$work/new/$rel
  if cmp -s "$old" "$new"; then
    identical=$((identical + 1))
    continue
  fi
  chip=$(sed -E 's/^(layers|kernels)-(sm_[0-9a-z]+).*/\2/' <<<"$bundle")
  stats "$old" "$chip" > "$old.stats"
  stats "$new" "$chip" > "$new.stats"
  verdict=$(join -a1 -a2 "$old.stats" "$new.stats" | awk '
    # name, old: regs stack ss sl mma cp commit wait shfl, new: the same.
    NF != 19 { print $1 ": kernel only in one PTX"; next }
    { bad = ""
      # ptxas allocates registers in units of 8 per thread: note when an
      # increase stays within the unit (no change of occupancy).
      if ($11 > $2) bad = bad " regs " $2 "->" $11 \
          (int(($11 + 7) / 8) == int(($2 + 7) / 8) ? " (same 8-register unit)" : "")
      if ($12 > $3) bad = bad " stack " $3 "->" $12
      if ($13 > $4 || $14 > $5) bad = bad " spills " $4 "/" $5 "->" $13 "/" $14
      for (i = 6; i <= 10; ++i) if ($(i + 9) != $i) bad = bad " count" i - 5 " " $i "->" $(i + 9)
      if (bad != "") print $1 ":" bad
      else if ($11 < $2) print $1 ": regs " $2 "->" $11 " (fewer)" }')
  if [[ -n "$verdict" ]] && grep -qv "(fewer)" <<<"$verdict"; then
    failed=$((failed + 1))
    echo "FAIL $bundle:"
    sed 's/^/    /' <<<"$verdict"
  else
    equivalent=$((equivalent + 1))
    echo "differs, equivalent: $bundle ${verdict:+($(tr '\n' ';' <<<"$verdict"))}"
  fi
done < <(find "$work/old" -name kernels.ptx | sort)
echo "compare-ptx: $identical identical, $equivalent equivalent (ptxas -v," \
  "instruction counts), $failed worse; bundles in $work"
[[ $failed == 0 ]]
