#!/usr/bin/env bash
# tests/gpu/loader.sh KRAIT_BENCH CUDA_STUBS_DIR — the CUDA backend is loaded only when asked for
# (kernels/cuda_loader.c): a CPU command maps neither libkrait_cuda.so nor cuBLAS; --device cuda
# on a machine without the driver says so in one line (exit 2) without loading them either; and
# with a driver present (here the toolkit's stub libcuda, which answers "no device") the backend
# library loads, resolves krait_log from the program, and reports no device, exit 2. A copy of
# the library that cannot load (a symbol missing) is one warning line naming the problem.
set -u
kb="$1"
stubs="$2"
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

LD_DEBUG=files "$kb" train --help >/dev/null 2>"$dir/files"
! grep -qE 'libkrait_cuda|libcublas' "$dir/files" && ok "--help loads neither libkrait_cuda.so nor cuBLAS" ||
  { bad "a CPU command loaded the CUDA backend"; grep -E 'libkrait_cuda|libcublas' "$dir/files" | head -3; }
if ldconfig -p | grep -q 'libcuda\.so\.1'; then
  echo "skip: this machine has a CUDA driver; the no-driver cases need one without"
else
  LD_DEBUG=files "$kb" train --device cuda --shape small >/dev/null 2>"$dir/e"
  rc=$?
  [ $rc -eq 2 ] && grep -q 'no CUDA device answers' "$dir/e" && ! grep -q 'libkrait_cuda' "$dir/e" &&
    ok "--device cuda without a driver: exit 2, one line, nothing loaded" || { bad "--device cuda without a driver (exit $rc)"; grep -v '^ *[0-9]*:' "$dir/e"; }
fi
if [ -f "$stubs/libcuda.so" ]; then
  ln -s "$stubs/libcuda.so" "$dir/libcuda.so.1"
  LD_LIBRARY_PATH="$dir" LD_DEBUG=files "$kb" train --device cuda --shape small >/dev/null 2>"$dir/e"
  rc=$?
  [ $rc -eq 2 ] && grep -q 'no CUDA device answers' "$dir/e" && grep -q 'libkrait_cuda.so.*dynamically loaded' "$dir/e" &&
    ! grep -v '^ *[0-9]*:' "$dir/e" | grep -q 'symbol lookup error\|undefined symbol' &&
    ok "--device cuda with the stub driver: libkrait_cuda.so loaded (symbols resolved), no device, exit 2" ||
    { bad "--device cuda with the stub driver (exit $rc)"; grep -v '^ *[0-9]*:' "$dir/e"; }
  # a backend library that cannot be loaded: a warning naming the problem, then the same answer
  printf 'not a library' > "$dir/bad.so"
  LD_LIBRARY_PATH="$dir" KRAIT_CUDA_LIBRARY="$dir/bad.so" "$kb" train --device cuda --shape small >/dev/null 2>"$dir/e2"
  rc=$?
  [ $rc -eq 2 ] && grep -q "warning: cuda: cannot load the CUDA backend: $dir/bad.so" "$dir/e2" &&
    ok "a backend library that cannot load: $(head -1 "$dir/e2")" || { bad "unloadable backend (exit $rc)"; cat "$dir/e2"; }
else
  echo "skip: no CUDA stub driver in $stubs"
fi
exit $fail
