#!/usr/bin/env bash
# tests/gpu/run.sh — everything krait checks on a GPU machine, in one go, within KRAIT_GPU_DEADLINE
# seconds (default 540):
#   1. report the machine (GPU, driver, nvcc, cmake, compilers) and which libraries are missing;
#   2. configure + build in a fresh build dir (-j16): the full project when its dependencies
#      (OpenBLAS, cJSON, zlib, OpenMP, pkg-config) are all there, otherwise the standalone GPU-test
#      build (tests/gpu/standalone: needs only CUDA and a C/C++ compiler);
#   3. run every GPU test (ctest -L gpu --output-on-failure), with KRAIT_CUDA_SYNC=1 so that an
#      asynchronous kernel fault is reported at the op that caused it;
#   4. run the GPU benchmark (JSON lines), and (full build) training throughput and the
#      inference benchmarks: decode at batch 1 / 64 and prefill of 2k / 1M tokens, 130m and 1.4b;
#      then, where python3 has torch and transformers, the Python stack on the same shapes and GPU
#      (tests/gpu/hf_speed.py) and the transformers interoperability check;
#   5. print a short summary table.
# Logs go to build-gpu/logs; when $OUT is set (the device tool), summary.txt, tests.log,
# bench.jsonl, infer.jsonl and logs.tgz (every log) are copied there: it returns 8 files at most.
# Each stage runs under a time limit cut to what is left of KRAIT_GPU_DEADLINE seconds (default
# 540: one device call is 600 s) less 30 s for the summary, and is not started with under 20 s
# left (listed as skipped, exit code 200 inside: a benchmark skipped for time is listed, not a
# failure; tests not run are), so the summary prints unless the build itself fails or times out.
# The full build needs Debian packages the GPU image may lack: tests/gpu/fetch-deps.sh downloads
# them here into .gpu-deps/, and the device call names it in carry (".gpu-deps"). Without them
# the run falls back to the standalone GPU-test build and exits 3: kernels tested, the whole-model
# tests and benchmarks not run. Usage, from anywhere:
#   bash tests/gpu/run.sh [--standalone] [--quick] [--sanitize] [--profile] [--no-python] [--ab]
#     --standalone  use the standalone build even when the full project could be configured
#     --quick       benchmark only copy/GEMM/scan at the 130m shape
#     --sanitize    also run the scan and conv tests (quick sizes) under compute-sanitizer memcheck
#     --profile     (full build) also time inference kernel by kernel with ncu (tests/gpu/profile.sh)
#     --no-python   skip the Python stack's speed and the transformers check (a rerun after a kernel change)
#     --ab          (full build) a short rerun: the quick ops benchmark, then only batch-1 decode of
#                   130m and 1.4b, with the small-row products on gemv_kernel and on cuBLASLt
#                   (KRAIT_CUDA_GEMV=0); no training, prefill, Python or profile stage
# KRAIT_GPU_TESTS=REGEX runs only the GPU tests whose names match (ctest -R).
# Exit status: 0 when every test passed (skips count as failures here: this script is for GPUs);
# 3 when all that ran passed but the full build could not be made (standalone fallback).
set -u -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${KRAIT_GPU_BUILD:-$ROOT/build-gpu}
LOGS=$BUILD/logs
DEADLINE=${KRAIT_GPU_DEADLINE:-540}
JOBS=${KRAIT_GPU_JOBS:-16}
STANDALONE=0 QUICK=0 SANITIZE=0 PROFILE=0 PYTHON=1 AB=0
for a in "$@"; do
  case $a in
    --standalone) STANDALONE=1 ;;
    --quick) QUICK=1 ;;
    --sanitize) SANITIZE=1 ;;
    --profile) PROFILE=1 ;;
    --no-python) PYTHON=0 ;;
    --ab) AB=1 QUICK=1 PYTHON=0 ;;
    *) echo "run.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
rm -rf "$LOGS"; mkdir -p "$LOGS"
T0=$(date +%s)
say() { echo "[run.sh $(( $(date +%s) - T0 ))s] $*" | tee -a "$LOGS/run.log"; }
have() { command -v "$1" >/dev/null 2>&1; }
# limit SECONDS: SECONDS, or what is left before the deadline less 30 s for the summary (0: skip)
limit() { local left=$(( DEADLINE - ($(date +%s) - T0) - 30 )); [ $left -lt 20 ] && left=0; echo $(( $1 < left ? $1 : left )); }
# tl SECONDS COMMAND...: COMMAND under timeout(1) within the deadline; not run (200) when too little is left
tl() {
  local l; l=$(limit "$1"); shift
  [ "$l" -gt 0 ] || { echo "run.sh: deadline: not run: $*" | tee -a "$LOGS/skipped.txt" >&2; return 200; }
  timeout "$l" "$@"
}
# the logs back to $OUT (the device tool returns at most 8 files from it)
export_logs() {
  [ -n "${OUT:-}" ] || return 0
  mkdir -p "$OUT"
  for f in summary.txt tests.log bench.jsonl infer.jsonl hf_speed.jsonl; do [ -f "$LOGS/$f" ] && cp "$LOGS/$f" "$OUT/"; done
  tar -czf "$OUT/logs.tgz" -C "$BUILD" logs 2>/dev/null
  return 0
}
trap export_logs EXIT

# nvcc often lives outside PATH on fresh images
if ! have nvcc; then
  for d in /usr/local/cuda/bin /usr/local/cuda-13*/bin /opt/cuda/bin; do
    if [ -x "$d/nvcc" ]; then export PATH="$d:$PATH"; break; fi
  done
fi

# ---- 1. the machine ----------------------------------------------------------------------------
{
  echo "== machine"; uname -a
  if have nvidia-smi; then nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv; else echo "nvidia-smi: not found"; fi
  if have nvcc; then nvcc --version | tail -2; else echo "nvcc: not found"; fi
  if have cmake; then cmake --version | head -1; else echo "cmake: not found"; fi
  if have gcc; then gcc --version | head -1; else echo "gcc: not found"; fi
  if have g++; then g++ --version | head -1; else echo "g++: not found"; fi
  ldd --version 2>&1 | head -1
  if have make; then echo "make: $(command -v make)"; elif have ninja; then echo "make: not found; ninja $(ninja --version)"; else echo "make, ninja: not found"; fi
} 2>&1 | tee "$LOGS/machine.log"
if ! have cmake || ! have nvcc || ! have gcc || ! have g++; then
  for t in cmake nvcc gcc g++; do have $t || say "MISSING: $t (required)"; done
  say "cannot build: the tools above are required"; exit 1
fi

missing=()
cc_ok() { printf '%s\n' "$1" | gcc -x c - $2 -o /dev/null >/dev/null 2>&1; }
have pkg-config || missing+=("pkg-config")
if have pkg-config && ! pkg-config --exists libcjson; then missing+=("libcjson-dev (cJSON)"); fi
cc_ok '#include <zlib.h>
int main(void){return 0;}' "-lz" || missing+=("zlib1g-dev (zlib)")
cc_ok '#include <cblas.h>
int main(void){return 0;}' "-I/usr/include/openblas -I/usr/include/x86_64-linux-gnu/openblas-openmp -lopenblas" \
  || missing+=("libopenblas-dev (OpenBLAS with cblas.h)")
cc_ok 'int main(void){return 0;}' "-fopenmp" || missing+=("OpenMP (libgomp)")
pc_missing() { # the pkg-config modules CMakeLists.txt requires, each with its Debian package
  local m
  for m in libpcre2-8:libpcre2-dev libutf8proc:libutf8proc-dev htslib:libhts-dev sndfile:libsndfile1-dev \
           samplerate:libsamplerate0-dev libpng:libpng-dev; do
    have pkg-config && pkg-config --exists "${m%%:*}" || echo "${m#*:}"
  done
}
missing+=($(pc_missing))
DEPS_ARGS=()
# KRAIT_GPU_USE_DEPS=1: build against .gpu-deps even when this machine has the libraries (to
# check the carried packages on a machine that has them)
if [ ${#missing[@]} -gt 0 ] || [ "${KRAIT_GPU_USE_DEPS:-0}" = 1 ]; then
  say "missing for the full krait build: ${missing[*]}"
  # Debian packages carried in .gpu-deps/ (apt-get download on the dev machine; the GPU machine
  # has no network): unpack them into a private prefix and point the build there.
  if ls "$ROOT"/.gpu-deps/*.deb >/dev/null 2>&1 && have dpkg; then
    DEPS=/tmp/krait-deps
    rm -rf "$DEPS"; mkdir -p "$DEPS"
    for d in "$ROOT"/.gpu-deps/*.deb; do dpkg -x "$d" "$DEPS"; done
    A=x86_64-linux-gnu
    export PATH="$PATH:$DEPS/usr/bin" # pkg-config, when the machine has none
    export LD_LIBRARY_PATH="$DEPS/usr/lib/$A:$DEPS/lib/$A:$DEPS/usr/lib/$A/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export PKG_CONFIG_LIBDIR="$DEPS/usr/lib/$A/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$DEPS"
    DEPS_ARGS=(-DCMAKE_PREFIX_PATH="$DEPS/usr" -DZLIB_INCLUDE_DIR="$DEPS/usr/include"
               -DZLIB_LIBRARY="$DEPS/usr/lib/$A/libz.a" -DCJSON_INCLUDE_DIR="$DEPS/usr/include"
               -DCJSON_LIBRARY="$DEPS/usr/lib/$A/libcjson.so")
    say "unpacked $(ls "$ROOT"/.gpu-deps/*.deb | wc -l) carried packages into $DEPS; trying the full build"
    missing=($(pc_missing))
    [ ${#missing[@]} -gt 0 ] && say "still missing after unpacking: ${missing[*]}"
  fi
fi

# ---- 2. configure + build ----------------------------------------------------------------------
rm -rf "$BUILD/CMakeCache.txt" "$BUILD/CMakeFiles"
CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90)
# some CUDA images carry ninja (through pip) but no make
! have make && have ninja && CMAKE_ARGS+=(-G Ninja)
if [ $STANDALONE = 0 ] && [ ${#missing[@]} = 0 ]; then
  MODE=full
  say "configuring the full project (KRAIT_CUDA=ON, sm_90) in $BUILD"
  tl 120 cmake -S "$ROOT" -B "$BUILD" "${CMAKE_ARGS[@]}" "${DEPS_ARGS[@]}" -DKRAIT_CUDA=ON \
    > "$LOGS/configure.log" 2>&1 || { say "full configure failed (see configure.log); using the standalone build"; MODE=standalone; }
else
  MODE=standalone
fi
if [ $MODE = standalone ]; then
  rm -rf "$BUILD/CMakeCache.txt" "$BUILD/CMakeFiles"
  say "configuring the standalone GPU-test build (tests/gpu/standalone) in $BUILD"
  tl 120 cmake -S "$ROOT/tests/gpu/standalone" -B "$BUILD" "${CMAKE_ARGS[@]}" >> "$LOGS/configure.log" 2>&1 \
    || { say "configure FAILED:"; tail -30 "$LOGS/configure.log"; exit 1; }
fi
TARGETS=(test_gpu_basics test_gpu_ops test_gpu_linear test_gpu_conv test_gpu_scan test_gpu_decode_ops bench_ops_gpu)
[ $MODE = full ] && TARGETS+=(test_gpu_model test_gpu_decode krait-bench krait-model)
say "building (${MODE}, -j$JOBS): ${TARGETS[*]}"
if ! tl 360 cmake --build "$BUILD" -j"$JOBS" --target "${TARGETS[@]}" > "$LOGS/build.log" 2>&1; then
  say "build FAILED:"; grep -E "error|Error" "$LOGS/build.log" | head -40
  [ $MODE = full ] || exit 1
  # the carried libraries may not link here (an older C library, say): the kernels can still be
  # tested through the standalone build
  say "the full build failed; trying the standalone GPU-test build"
  mv "$LOGS/build.log" "$LOGS/build-full.log"
  MODE=standalone
  rm -rf "$BUILD/CMakeCache.txt" "$BUILD/CMakeFiles"
  tl 120 cmake -S "$ROOT/tests/gpu/standalone" -B "$BUILD" "${CMAKE_ARGS[@]}" >> "$LOGS/configure.log" 2>&1 \
    || { say "configure FAILED:"; tail -30 "$LOGS/configure.log"; exit 1; }
  TARGETS=(test_gpu_basics test_gpu_ops test_gpu_linear test_gpu_conv test_gpu_scan test_gpu_decode_ops bench_ops_gpu)
  tl 360 cmake --build "$BUILD" -j"$JOBS" --target "${TARGETS[@]}" > "$LOGS/build.log" 2>&1 ||
    { say "standalone build FAILED:"; grep -E "error|Error" "$LOGS/build.log" | head -40; exit 1; }
fi
TBUILD=$(( $(date +%s) - T0 ))
say "built in ${TBUILD}s"
TESTDIR=$BUILD/tests/gpu
# the CUDA libraries come through the dlopen'd backend, not the test binaries
find "$BUILD" -name "libkrait_cuda.so*" -exec ldd {} \; > "$LOGS/ldd.log" 2>&1

# ---- 3. GPU tests ------------------------------------------------------------------------------
say "running the GPU tests (ctest -L gpu)"
# test_gpu_decode measures device memory (cudaMemGetInfo: the whole device), so it runs alone,
# after the others whether or not they passed (its checks are wanted from the one run we get)
( cd "$BUILD" || exit 1
  SEL=(-E '^test_gpu_decode$')
  [ -n "${KRAIT_GPU_TESTS:-}" ] && SEL=(-R "$KRAIT_GPU_TESTS" -E '^test_gpu_decode$')
  KRAIT_CUDA_SYNC=1 tl 300 ctest -L gpu "${SEL[@]}" --output-on-failure --timeout 300 -j5
  r1=$? r2=0
  if [ $MODE = full ] && { [ -z "${KRAIT_GPU_TESTS:-}" ] || [[ test_gpu_decode =~ $KRAIT_GPU_TESTS ]]; }; then
    KRAIT_CUDA_SYNC=1 tl 240 ctest -R '^test_gpu_decode$' --output-on-failure --timeout 240
    r2=$?
  fi
  exit $(( r1 ? r1 : r2 )) ) > "$LOGS/tests.log" 2>&1
TEST_RC=$?
if grep -q "Skipped" "$LOGS/tests.log"; then
  say "some GPU tests were SKIPPED (no device visible?): counted as a failure"
  [ $TEST_RC = 0 ] && TEST_RC=77
fi
if [ $SANITIZE = 1 ]; then
  if have compute-sanitizer; then
    for t in test_gpu_scan test_gpu_conv; do
      say "compute-sanitizer memcheck: $t (quick sizes)"
      KRAIT_GPU_TEST_QUICK=1 tl 120 compute-sanitizer --tool memcheck --error-exitcode 3 "$TESTDIR/$t" \
        > "$LOGS/sanitize_$t.log" 2>&1
      echo "sanitize $t rc=$?" >> "$LOGS/run.log"
    done
  else
    say "compute-sanitizer: not found, --sanitize skipped"
  fi
fi

# ---- 4. benchmark ------------------------------------------------------------------------------
say "running the GPU benchmark"
BARGS=()
[ $QUICK = 1 ] && BARGS=(--quick)
tl 150 "$TESTDIR/bench_ops_gpu" "${BARGS[@]}" > "$LOGS/bench.jsonl" 2> "$LOGS/bench.log"
BENCH_RC=$?
[ $BENCH_RC = 200 ] && BENCH_RC=-   # skipped for time: listed under SKIPPED

# ---- 4b. whole-model benchmark and the transformers check (full build only) ---------------------
TRAIN_RC=- HF_RC=- INFER_RC=- HFS_RC=- PROF_RC=-
# ran_ok RC: true when RC is 0, or 200 (not run for lack of time: listed under SKIPPED, not a failure)
ran_ok() { [ "$1" = 0 ] || [ "$1" = 200 ]; }
if [ $MODE = full ] && [ $AB = 1 ]; then
  : > "$LOGS/infer.jsonl"
  INFER_RC=0
  for sh in 130m 1.4b; do
    for g in 1 0; do
      say "decode: KRAIT_CUDA_GEMV=$g krait-bench generate --device cuda --shape $sh --batch 1"
      KRAIT_CUDA_GEMV=$g tl 120 "$BUILD/apps/krait-bench" generate --device cuda --shape $sh --batch 1 \
        --prompt 16 --tokens 256 --repeats 2 --json 2>> "$LOGS/infer.log" | tail -1 |
        sed "s/^{/{\"gemv\":$([ $g = 1 ] && echo true || echo false),/" >> "$LOGS/infer.jsonl"
      ran_ok $? || INFER_RC=1
    done
  done
elif [ $MODE = full ]; then
  say "training throughput: krait-bench train --device cuda --shape 130m --seq-len 2048 (f32 as the trainers, bf16)"
  TRAIN_RC=0
  for dt in f32 bf16; do
    tl 150 "$BUILD/apps/krait-bench" train --device cuda --shape 130m --seq-len 2048 --batch 8 --dtype $dt \
      --steps 5 --json >> "$LOGS/train.out" 2>> "$LOGS/train.log"
    ran_ok $? || TRAIN_RC=1
  done
  # inference: decode at batch 1 and 64, prefill of 2k and 1M tokens, 130m and 1.4b (random weights)
  : > "$LOGS/infer.jsonl"
  INFER_RC=0
  for sh in 130m 1.4b; do
    for b in 1 64; do
      say "decode: krait-bench generate --device cuda --shape $sh --batch $b"
      tl 120 "$BUILD/apps/krait-bench" generate --device cuda --shape $sh --batch $b --prompt 16 \
        --tokens 256 --repeats 2 --json 2>> "$LOGS/infer.log" | tail -1 >> "$LOGS/infer.jsonl"
      ran_ok $? || INFER_RC=1
    done
    for n in 2048 1000000; do
      say "prefill: krait-bench prefill --device cuda --shape $sh --tokens $n"
      tl 150 "$BUILD/apps/krait-bench" prefill --device cuda --shape $sh --tokens $n --chunk 4096 \
        --repeats $([ $n = 2048 ] && echo 3 || echo 1) --json 2>> "$LOGS/infer.log" | tail -1 >> "$LOGS/infer.jsonl"
      ran_ok $? || INFER_RC=1
    done
  done
  if [ $PYTHON = 0 ]; then
    say "--no-python: the Python stack's speed and the transformers check not run"
  elif have python3 && python3 -c "import torch, transformers" >/dev/null 2>&1; then
    say "the Python stack on the same GPU: tests/gpu/hf_speed.py"
    tl 150 python3 "$ROOT/tests/gpu/hf_speed.py" $([ $QUICK = 1 ] && echo --quick) > "$LOGS/hf_speed.jsonl" 2> "$LOGS/hf_speed.log"
    HFS_RC=$?
    [ $HFS_RC = 200 ] && HFS_RC=-
    say "transformers interoperability: tests/hf/check_transformers.py"
    tl 150 python3 "$ROOT/tests/hf/check_transformers.py" "$BUILD/apps/krait-model" \
      > "$LOGS/hf.log" 2>&1
    HF_RC=$?
    [ $HF_RC = 200 ] && HF_RC=-
  else
    say "python3 with torch + transformers: not found, transformers check skipped"
  fi
  if [ $PROFILE = 1 ]; then
    say "kernel profile (ncu): tests/gpu/profile.sh"
    tl 150 bash "$ROOT/tests/gpu/profile.sh" "$BUILD/apps/krait-bench" "$LOGS" > "$LOGS/profile.txt" 2>&1
    PROF_RC=$?
    [ $PROF_RC = 200 ] && PROF_RC=-
  fi
fi

# ---- 5. summary --------------------------------------------------------------------------------
{
  echo
  echo "================ krait GPU summary ($MODE build, $(( $(date +%s) - T0 ))s total) ================"
  grep -A1 "^name" "$LOGS/machine.log" | tail -1 | sed 's/^/GPU: /'
  grep -E "release [0-9]" "$LOGS/machine.log" | sed 's/^/nvcc: /'
  [ ${#missing[@]} -gt 0 ] && echo "missing for the full build: ${missing[*]}"
  [ -s "$LOGS/skipped.txt" ] && sed 's/^run.sh: deadline: not run:/SKIPPED (deadline):/' "$LOGS/skipped.txt"
  [ $MODE = standalone ] && [ $STANDALONE = 0 ] &&
    echo "INCOMPLETE: standalone build only (kernels tested; whole-model tests, benchmarks and the HF check not run)"
  echo "-- tests (ctest -L gpu, rc=$TEST_RC)"
  grep -E "Test +#[0-9]+: " "$LOGS/tests.log" | sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: //; s/ \.+/ /' \
    | awk '{printf "   %-22s %s %s %s\n", $1, $2, $3, $4}'
  grep -E "^ +FAIL " "$LOGS/tests.log" | head -40 | sed 's/^/   /'
  grep -E "tests passed|tests failed" "$LOGS/tests.log" | sed 's/^/   /'
  echo "-- benchmark (rc=$BENCH_RC; full lines in bench.jsonl)"
  if have python3; then
    python3 "$ROOT/tests/gpu/summary.py" bench "$LOGS/bench.jsonl"
  else
    sed 's/^/   /' "$LOGS/bench.jsonl"
  fi
  grep -h "cuda profile" "$LOGS/bench.log" | sed 's/^/   /'
  echo "-- model training (rc=$TRAIN_RC)"
  [ -f "$LOGS/train.out" ] && grep -v '^{' "$LOGS/train.out" | sed 's/^/   /'
  [ -f "$LOGS/train.log" ] && grep -E "error|warning" "$LOGS/train.log" | head -5 | sed 's/^/   /'
  echo "-- inference (rc=$INFER_RC; full lines in infer.jsonl; targets: batch-1 decode >= 50% of the bound, batch 64 >= 10x batch 1)"
  if [ -s "$LOGS/infer.jsonl" ] && have python3; then
    python3 "$ROOT/tests/gpu/summary.py" infer "$LOGS/infer.jsonl"
  fi
  grep -h "1M-token prefill\|prefill of [0-9]* tokens" "$BUILD/Testing/Temporary/LastTest.log" 2>/dev/null | head -8 | sed 's/^/   /'
  echo "-- the Python stack on the same GPU (rc=$HFS_RC; tests/gpu/hf_speed.py, bf16, random weights)"
  if [ -s "$LOGS/hf_speed.jsonl" ] && have python3; then
    python3 "$ROOT/tests/gpu/summary.py" hf_speed "$LOGS/hf_speed.jsonl"
  fi
  [ -f "$LOGS/hf_speed.log" ] && grep -E "Error|error" "$LOGS/hf_speed.log" | head -5 | sed 's/^/   /'
  if [ $PROFILE = 1 ]; then
    echo "-- kernel profile (rc=$PROF_RC; ncu, tests/gpu/profile.sh)"
    [ -f "$LOGS/profile.txt" ] && sed 's/^/   /' "$LOGS/profile.txt"
  fi
  echo "-- transformers check (rc=$HF_RC)"
  [ -f "$LOGS/hf.log" ] && grep -E "PASS|FAIL|SKIP|Error|error" "$LOGS/hf.log" | head -30 | sed 's/^/   /'
  echo "logs: $LOGS${OUT:+ (and \$OUT: summary.txt, tests.log, bench.jsonl, infer.jsonl, logs.tgz)}"
} | tee "$LOGS/summary.txt"
ok_rc() { [ "$1" = 0 ] || [ "$1" = - ]; } # -: not run (the standalone build; no python with torch)
ok_rc $TEST_RC && ok_rc $BENCH_RC && ok_rc "$TRAIN_RC" && ok_rc "$HF_RC" && ok_rc "$INFER_RC" && ok_rc "$HFS_RC" &&
  ok_rc "$PROF_RC" || exit 1
[ $MODE = standalone ] && [ $STANDALONE = 0 ] && exit 3
exit 0
