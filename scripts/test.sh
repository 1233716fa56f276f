#!/usr/bin/env bash
# scripts/test.sh — set up (scripts/setup.sh) and run every test. GPU tests report "skipped"
# without a GPU; tests that need ../shared/data skip when it is absent. Then the hardening checks
# (scripts/harden.sh: the suite under ASan + UBSan, bounded fuzzing); KRAIT_HARDEN=off skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${KRAIT_HARDEN:-all}" in all|asan|fuzz|off) ;;
  *) echo "test.sh: KRAIT_HARDEN='$KRAIT_HARDEN': expected all, asan, fuzz or off" >&2; exit 2;; esac
./scripts/setup.sh
(cd build && ctest --output-on-failure -j"$(nproc 2>/dev/null || echo 2)" "$@")
[ "${KRAIT_HARDEN:-all}" = off ] || ./scripts/harden.sh
