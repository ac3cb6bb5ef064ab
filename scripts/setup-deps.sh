#!/usr/bin/env bash
# Installs what building and testing Samoyeds needs on Debian 12 (as root, or
# with sudo): LLVM/MLIR 22, clang/lld, CMake/Ninja, GoogleTest, Python venv.
# Then a virtual environment .venv with the pinned Python test dependencies
# (python/requirements-dev.txt), which includes ptxas from NVIDIA's wheel, and
# torch where the disk has room for it (scripts/setup-torch.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkgs=(llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22
      libclang-rt-22-dev
      ninja-build cmake g++ libgtest-dev zlib1g-dev libzstd-dev libxml2-dev
      libedit-dev libffi-dev libcurl4-openssl-dev python3-venv python3-pip)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) == 0 ]] || sudo=sudo
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  $sudo apt-get clean # the downloaded .deb files: room for the build and torch
fi
if [[ ! -x "$root/.venv/bin/python" ]]; then
  python3 -m venv "$root/.venv"
fi
# No wheel cache: the wheels would take as much disk again as what they install.
export PIP_NO_CACHE_DIR=1
"$root/.venv/bin/pip" install -q --disable-pip-version-check -r "$root/python/requirements-dev.txt"
bash "$root/scripts/setup-torch.sh"
