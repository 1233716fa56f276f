#!/usr/bin/env bash
# tests/gpu/fetch-deps.sh — download (not install) the Debian 12 packages the full krait build
# needs into .gpu-deps/ at the repository root, for a GPU machine that has CUDA and a compiler
# but none of krait's libraries and no way to reach a package registry. tests/gpu/run.sh unpacks
# them into a private prefix (dpkg -x, never into /) when the machine lacks them; the device call
# carries the folder: run with carry [".gpu-deps"]. About 31 MB, 79 packages: the -dev packages of
# CMakeLists.txt's dependencies and everything they need at run time, less the C library and the
# compiler's own runtime, which every machine that builds C has (the packages are built against
# glibc 2.36: a machine with an older one cannot load them).
# Usage, from anywhere, on a Debian 12 machine with network (as root for apt-get update):
#   bash tests/gpu/fetch-deps.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEST=$ROOT/.gpu-deps
# the -dev packages the full build (CMakeLists.txt, modalities/, apps/) needs
WANT="zlib1g-dev libcjson-dev libpcre2-dev libutf8proc-dev libopenblas-openmp-dev libopenblas-dev libhts-dev
      libsndfile1-dev libsamplerate0-dev libpng-dev pkgconf"
# on every machine that compiles C, or other builds of OpenBLAS than the OpenMP one
SKIP='^(gcc-[0-9]+-base|libc-dev-bin|libc6|libc6-dev|libcrypt-dev|libcrypt1|libgcc-s1|libstdc\+\+6|linux-libc-dev|'
SKIP+='libnsl-dev|libnsl2|libtirpc-dev|libtirpc3|libtirpc-common|rpcsvc-proto|libopenblas-pthread-dev|'
SKIP+='libopenblas-serial-dev|libopenblas0-pthread|libopenblas0-serial)$'
[ -n "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial)" ] || apt-get update -qq
# shellcheck disable=SC2086
pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
         --no-enhances $WANT | grep -E '^[a-z0-9]' | sort -u | grep -Ev "$SKIP")
rm -rf "$DEST"
mkdir -p "$DEST"
cd "$DEST"
# shellcheck disable=SC2086
apt-get download $pkgs > /dev/null 2>&1 || true # the count below says whether all came
n=$(ls ./*.deb 2>/dev/null | wc -l)
[ "$n" -eq "$(echo "$pkgs" | wc -w)" ] || { echo "fetch-deps.sh: got $n of $(echo "$pkgs" | wc -w) packages" >&2; exit 1; }
grep -qx '/.gpu-deps/' "$ROOT/.gitignore" || echo "fetch-deps.sh: warning: .gpu-deps/ is not in .gitignore" >&2
echo "fetch-deps.sh: $n packages, $(du -sh . | cut -f1) in $DEST; carry \".gpu-deps\" in the device call"
