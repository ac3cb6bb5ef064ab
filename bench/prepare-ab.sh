#!/usr/bin/env bash
# Compiles the layer bundles of a same-process A/B (bench/ab.py) on a machine
# with MLIR, one directory per variant, into .device/ab/NAME for carrying to
# the GPU machine:
#   bash bench/prepare-ab.sh FORMATS NAME=OPTIONS... [-- SAMOYEDS_OPT]
#   bash bench/prepare-ab.sh 11v128 base= "w256=wide-tokens=128 wide-slots=256"
# FORMATS: comma-separated NmVv formats (11v128, 12v128, 12v32); OPTIONS: the
# pipeline's tile options (samoyeds-to-bundle), empty for the default. Prints
# the ab.py command to run on the GPU machine. SAMOYEDS_DEVICE_DIR moves
# .device.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
formats=${1:?usage: bench/prepare-ab.sh FORMATS NAME=OPTIONS... [-- SAMOYEDS_OPT]}
shift
opt=$root/build/bin/samoyeds-opt
variants=()
while (($#)); do
  if [[ $1 == -- ]]; then
    opt=${2:?-- needs SAMOYEDS_OPT}
    break
  fi
  [[ $1 == *=* ]] || { echo "error: variant '$1' is not NAME=OPTIONS" >&2; exit 2; }
  variants+=("$1")
  shift
done
((${#variants[@]})) || { echo "error: no variants" >&2; exit 2; }
dev=${SAMOYEDS_DEVICE_DIR:-$root/.device}
list=""
for v in "${variants[@]}"; do
  name=${v%%=*} options=${v#*=}
  [[ $name =~ ^[A-Za-z0-9_]+$ ]] || { echo "error: variant name '$name'" >&2; exit 2; }
  rm -rf "$dev/ab/$name"
  for f in ${formats//,/ }; do
    [[ $f =~ ^([0-9])([0-9])v([0-9]+)$ ]] || { echo "error: format '$f'" >&2; exit 2; }
    SAMOYEDS_TILE_OPTIONS="$options" bash "$root/test/GPU/gen-layer-bundles.sh" "$opt" \
      "$dev/ab/$name" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" > /dev/null
  done
  list+="${list:+,}$name=.device/ab/$name"
done
echo "bundles in $dev/ab; on the GPU machine:"
echo "  python3 bench/ab.py --graph --variants $list --formats $formats --tokens 256,1024,4096 --reps 3"
