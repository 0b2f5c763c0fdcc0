#!/usr/bin/env bash
# Installs everything unigap needs on Debian 12, idempotently, and selects
# OpenBLAS (OpenMP build) as the system BLAS/LAPACK that libtorch links against.
# Safe to run repeatedly; exits non-zero (loudly) if anything is missing afterwards.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build git pkg-config
  libtorch-dev libopenblas0-openmp libopenblas-openmp-dev
  libgloo-dev
  nlohmann-json3-dev libcli11-dev libpng-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-torch python3-pil
  chromium
  clang libclang-rt-14-dev util-linux
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "[setup] all Debian packages present"
fi

# Select the OpenMP build of OpenBLAS for libblas.so.3 / liblapack.so.3. The pthread
# build fights libtorch's OpenMP threads; the reference BLAS is ~17x slower.
arch_triplet="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
for lib in libblas.so.3 liblapack.so.3; do
  alt="${lib}-${arch_triplet}"
  target="$(update-alternatives --list "$alt" 2>/dev/null | grep openblas-openmp | head -n1 || true)"
  if [ -z "$target" ]; then
    echo "[setup] ERROR: no openblas-openmp alternative for $alt" >&2
    exit 1
  fi
  current="$(readlink -f "/usr/lib/${arch_triplet}/${lib}" || true)"
  if [ "$(readlink -f "$target")" != "$current" ]; then
    $SUDO update-alternatives --set "$alt" "$target"
  fi
done
echo "[setup] BLAS: $(readlink -f /usr/lib/${arch_triplet}/libblas.so.3)"

# Fail loudly if a package is still missing (a green run must not hide an install step).
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || { echo "[setup] ERROR: package $p is not installed" >&2; exit 1; }
done
