#!/usr/bin/env bash
# Installs every Debian package that rhotrain's build, tests and main job need.
# Idempotent and quiet: packages already present are skipped, apt runs only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libtorch-dev libopenblas0-pthread libgloo-dev
  libhdf5-dev hdf5-tools zlib1g-dev
  libeigen3-dev libcxxopts-dev libyaml-cpp-dev nlohmann-json3-dev
  protobuf-compiler libprotobuf-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libgoogle-perftools-dev libcairo2-dev
  python3 python3-numpy python3-h5py python3-ase python3-pymatgen
  python3-torch
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root or install them" >&2
  exit 1
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
