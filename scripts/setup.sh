#!/usr/bin/env bash
# scripts/setup.sh — install krait's build dependencies from Debian 12 (as root, or through
# sudo) and build krait into ./build. Safe to run again: it installs only what is missing and
# rebuilds only what changed. Used by scripts/demo.sh, scripts/test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config libopenblas-openmp-dev libcjson-dev zlib1g-dev libpcre2-dev libutf8proc-dev python3
      libhts-dev samtools tabix clang libclang-rt-14-dev libomp-dev locales
      libsndfile1-dev libsamplerate0-dev libfftw3-dev libpng-dev sox)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "krait setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${KRAIT_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$jobs"
