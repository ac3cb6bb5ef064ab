#!/usr/bin/env bash
# Installs the pinned torch (python/requirements-torch.txt) into .venv for the
# torch-only Python tests. Its PyPI wheel brings about 5 GB of CUDA libraries, so
# with SAMOYEDS_TORCH=auto (the default) it is installed only where the disk of
# .venv has SAMOYEDS_TORCH_MIN_GB (default 8) GiB free; otherwise it says so, and
# pytest reports the torch-only tests as skipped with the reason.
# SAMOYEDS_TORCH=require installs it whatever the room (and fails where pip does);
# SAMOYEDS_TORCH=skip never installs it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${SAMOYEDS_TORCH:-auto}
min_gb=${SAMOYEDS_TORCH_MIN_GB:-8}
req="$root/python/requirements-torch.txt"
want=$(sed -n 's/^torch==//p' "$req")
case "$mode" in
  auto | require | skip) ;;
  *) echo "SAMOYEDS_TORCH must be auto, require or skip, not '$mode'" >&2; exit 2 ;;
esac
have=$("$root/.venv/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))' \
  2>/dev/null || true)
if [[ "$have" == "$want" ]]; then
  echo "== torch $have already installed"
  exit 0
fi
if [[ "$mode" == skip ]]; then
  echo "== torch NOT installed (SAMOYEDS_TORCH=skip): the torch-only Python tests are skipped"
  exit 0
fi
free_kb=$(df -Pk "$root/.venv" | awk 'NR == 2 { print $4 }')
free_gb=$((free_kb / 1024 / 1024))
if [[ "$mode" == auto && $free_gb -lt $min_gb ]]; then
  echo "== torch NOT installed: ${free_gb} GiB free on the disk of .venv, torch $want" \
    "needs about ${min_gb} GiB (SAMOYEDS_TORCH_MIN_GB); the torch-only Python tests" \
    "are skipped and pytest names them (SAMOYEDS_TORCH=require to insist)"
  exit 0
fi
echo "== installing torch $want (${free_gb} GiB free)"
PIP_NO_CACHE_DIR=1 "$root/.venv/bin/pip" install -q --disable-pip-version-check -r "$req"
