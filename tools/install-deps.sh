#!/usr/bin/env bash
# Installs the Debian packages vit builds and tests with. Safe to re-run: does nothing when all
# are present. Needs root (or sudo) only when something is missing.
set -euo pipefail

# zlib1g-dev reads gzip-compressed IDX files; dataset-fashion-mnist is the training data (and test data) of
# vit/train (its tests skip without it); cairo draws the train tool's plot of its curves.
packages=(cmake make g++ pkgconf libeigen3-dev nlohmann-json3-dev catch2 libstb-dev libturbojpeg0-dev zlib1g-dev
          libcli11-dev libbenchmark-dev libdnnl-dev dataset-fashion-mnist libcairo2-dev)
if [ "${1:-}" = "--with-fuzzing" ]; then packages+=(clang libclang-rt-14-dev); fi

# CUDA is not installed from here: the toolkit comes with the machine (/usr/local/cuda). Without nvcc the
# CUDA backend is simply not built (CMake says so); everything else works the same.
if [ -x /usr/local/cuda/bin/nvcc ] || command -v nvcc >/dev/null 2>&1; then
  echo "CUDA toolkit found: the CUDA backend will be built"
else
  echo "no CUDA toolkit (nvcc): the CUDA backend will not be built"
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
run_as_root=()
[ "$(id -u)" -eq 0 ] || run_as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${run_as_root[@]}" apt-get update -qq
"${run_as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
