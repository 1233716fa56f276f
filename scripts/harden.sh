#!/usr/bin/env bash
# scripts/harden.sh — the hardening checks, run by scripts/test.sh after the normal suite (CI):
#   1. the CPU test suite built with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan:
#      KRAIT_SANITIZE=ON; UBSan halts on the first error, LeakSanitizer checks every app run that
#      finishes), GPU tests excluded (without a device they only skip); built without
#      -march=native (KRAIT_NATIVE=OFF), so the portable SIMD code of kernels/cpu/cpu_simd.h is
#      tested too (the normal build tests the machine's own, e.g. AVX-512);
#   2. every libFuzzer target (build-fuzz: clang, KRAIT_FUZZ=ON) for KRAIT_FUZZ_SECONDS seconds
#      (default 20) from its committed seed corpus and regression inputs; a finding fails the run
#      and leaves its input in build-fuzz/findings/<target>/ (add it to tests/fuzz/regressions/).
#      The fuzzer's seed is fixed (KRAIT_FUZZ_SEED, default 1), so a run explores the same inputs
#      every time and CI's verdict on a commit does not depend on luck; KRAIT_FUZZ_SEED=0 draws a
#      fresh seed each run, for exploring beyond what CI covers (a developer's longer runs).
# Prints the time of each part and the executions per fuzz target. Options: KRAIT_HARDEN=asan
# or fuzz runs one part only. Does not install anything (scripts/setup.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
# leaks inside third-party libraries on malformed input (see the file) are not krait's
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
part=${KRAIT_HARDEN:-all}
secs=${KRAIT_FUZZ_SECONDS:-20}
seed=${KRAIT_FUZZ_SEED:-1}
case "$part" in all|asan|fuzz) ;; *) echo "harden: KRAIT_HARDEN='$part': expected all, asan or fuzz (off skips harden.sh in scripts/test.sh)" >&2; exit 2;; esac
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || { echo "harden: KRAIT_FUZZ_SECONDS='$secs': expected a whole number of seconds >= 1" >&2; exit 2; }
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "harden: KRAIT_FUZZ_SEED='$seed': expected a whole number (0: a fresh seed each run)" >&2; exit 2; }
t0=$(date +%s)

if [ "$part" = all ] || [ "$part" = asan ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKRAIT_SANITIZE=ON -DKRAIT_CUDA=OFF -DKRAIT_NATIVE=OFF >/dev/null
  cmake --build build-asan -j"$jobs" >/dev/null
  t1=$(date +%s)
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j"$jobs" -LE 'gpu|emu')
  t2=$(date +%s)
  echo "harden: sanitizer build $((t1 - t0))s, sanitizer test suite $((t2 - t1))s"
fi

if [ "$part" = all ] || [ "$part" = fuzz ]; then
  t3=$(date +%s)
  CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKRAIT_SANITIZE=ON -DKRAIT_FUZZ=ON \
    -DKRAIT_CUDA=OFF -DKRAIT_BUILD_TESTS=ON >/dev/null
  cmake --build build-fuzz --target krait_fuzz -j"$jobs" >/dev/null
  t4=$(date +%s)
  echo "harden: fuzz build $((t4 - t3))s"
  failed=0
  for bin in build-fuzz/tests/fuzz/fuzz_*; do
    t=${bin##*/fuzz_}
    work=build-fuzz/fuzz-work/$t found=build-fuzz/findings/$t
    rm -rf "$work" && mkdir -p "$work" "$found"
    # two jobs of secs/2 each would not find more on 2 cores than one run; run them one by one
    if build-fuzz/tests/fuzz/fuzz_"$t" "$work" tests/fuzz/corpus/"$t" tests/fuzz/regressions/"$t" \
         -max_total_time="$secs" -seed="$seed" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 \
         -artifact_prefix="$found/" >"$work.log" 2>&1; then
      runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
      cov=$(grep -o 'cov: [0-9]*' "$work.log" | tail -1)
      echo "harden: fuzz_$t: $runs executions in ${secs}s, $cov, no finding"
    else
      failed=1
      echo "harden: fuzz_$t: FINDING (input in $found/):"
      grep -E 'ERROR|runtime error|property failed|SUMMARY' "$work.log" | head -5
    fi
  done
  echo "harden: fuzzing $(( $(date +%s) - t4 ))s"
  [ $failed -eq 0 ] || exit 1
fi
echo "harden: total $(( $(date +%s) - t0 ))s"
