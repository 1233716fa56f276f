#!/usr/bin/env bash
# tests/apps/install.sh BUILD_DIR — cmake --install into a temporary prefix, as a packager or a
# user without root would, then: the commands, presets, headers, static libraries and pkg-config
# files are where the README says; an installed command reads the installed presets (a preset only
# the install has), also after the whole tree is moved elsewhere; and a program built through
# pkg-config alone (tests/apps/install_prog.c: text, DNA through htslib, audio through
# libsndfile, a model on the CPU backend) links and runs. In a sanitizer build the program is
# compiled with the same sanitizers (the libraries carry their instrumentation).
set -u
build=$1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
prefix=$dir/prefix
if ! cmake --install "$build" --prefix "$prefix" > "$dir/install.log" 2>&1; then
  bad "cmake --install $build --prefix $prefix"; cat "$dir/install.log"; exit 1
fi
ok "cmake --install: $(grep -c Installing "$dir/install.log") files"
libdir=$(cd "$prefix" && ls -d lib*/pkgconfig 2>/dev/null | head -1)
libdir=${libdir%/pkgconfig}
[ -n "$libdir" ] || { bad "no lib*/pkgconfig under the prefix"; exit 1; }
missing=""
for f in bin/krait-text bin/krait-dna bin/krait-audio bin/krait-bench bin/krait-model \
         share/krait/configs/dna-enhancers.json share/krait/configs/mamba-130m.json \
         include/krait/model.h include/krait/backend.h include/krait/tokenizer.h include/krait/dna_read.h \
         include/krait/audio_io.h include/krait/synthetic.h include/krait/krait_version.h \
         "$libdir"/libkrait_core.a "$libdir"/libkrait_kernels.a "$libdir"/libkrait_text.a "$libdir"/libkrait_dna.a \
         "$libdir"/libkrait_audio.a "$libdir"/libkrait_synthetic.a "$libdir"/pkgconfig/krait.pc \
         "$libdir"/pkgconfig/krait-text.pc "$libdir"/pkgconfig/krait-dna.pc "$libdir"/pkgconfig/krait-audio.pc \
         "$libdir"/pkgconfig/krait-synthetic.pc; do
  [ -e "$prefix/$f" ] || missing+=" $f"
done
[ -z "$missing" ] && ok "installed: bin/, share/krait/configs/, include/krait/, $libdir/ (.a, pkgconfig/)" || bad "missing:$missing"
if ls "$build"/kernels/cuda/libkrait_cuda.so >/dev/null 2>&1; then
  [ -f "$prefix/$libdir/krait/libkrait_cuda.so" ] && ok "the CUDA backend in $libdir/krait/" || bad "no $libdir/krait/libkrait_cuda.so"
fi
impl=$(ls "$prefix"/include/krait/ | grep -c '_impl\.h$')
[ "$impl" -eq 0 ] && ok "no *_impl.h header installed" || bad "$impl *_impl.h headers installed"
# each installed header compiles alone as <krait/NAME.h> (C11), as the README promises
nh=0 hbad=""
for h in "$prefix"/include/krait/*.h; do
  nh=$((nh + 1))
  printf '#include <krait/%s>\nint main(void) { return 0; }\n' "$(basename "$h")" > "$dir/h.c"
  cc -std=c11 -fsyntax-only -I"$prefix/include" $(pkg-config --cflags-only-I libcjson 2>/dev/null) "$dir/h.c" 2>"$dir/h.err" ||
    { hbad+=" $(basename "$h")"; head -3 "$dir/h.err"; }
done
[ -z "$hbad" ] && ok "each of the $nh installed headers compiles alone as <krait/NAME.h>" || bad "headers that do not compile alone:$hbad"
# the build tree has the same names (links), for projects that add_subdirectory() krait
printf '#include <krait/model.h>\n#include <krait/tokenizer.h>\nint main(void) { return 0; }\n' > "$dir/hb.c"
cc -std=c11 -fsyntax-only -I"$build/include" $(pkg-config --cflags-only-I libcjson 2>/dev/null) "$dir/hb.c" 2>"$dir/hb.err" &&
  ok "the build tree: <krait/model.h> and <krait/tokenizer.h> from $build/include" || { bad "build-tree <krait/...> headers"; head -3 "$dir/hb.err"; }
# the commands keep the folder of the OpenBLAS they were linked with (its OpenMP build)
blas=$(ldd "$build/apps/krait-text" | sed -n 's|.*libopenblas[^ ]* => \(/[^ ]*\)/libopenblas.*|\1|p' | head -1)
if [ -n "$blas" ]; then
  readelf -d "$prefix/bin/krait-text" | grep -E 'RUNPATH|RPATH' | grep -q "$blas" &&
    ok "bin/krait-text keeps the run path of its OpenBLAS ($blas)" || bad "bin/krait-text lost the run path $blas"
fi

# presets from share/krait/configs beside bin/: one that only the install has
sed 's/"num_hidden_layers": *[0-9]*/"num_hidden_layers": 3/' "$src/configs/small.json" > "$prefix/share/krait/configs/only-installed.json"
grep -q '"num_hidden_layers": 3' "$prefix/share/krait/configs/only-installed.json" || bad "could not make the test preset"
check_preset() { # PREFIX WHAT
  local out
  out=$(cd "$dir" && "$1/bin/krait-model" init only-installed --out "$dir/m-$2" --seed 1 2>&1) &&
    grep -Eq '"num_hidden_layers":[[:space:]]*3,' "$dir/m-$2/config.json" &&
    ok "$2: krait-model init only-installed reads the installed preset" ||
    { bad "$2: the installed preset was not found"; echo "$out"; }
  rm -rf "$dir/m-$2"
}
check_preset "$prefix" "installed"
mv "$prefix" "$dir/moved"
prefix=$dir/moved
check_preset "$prefix" "moved"

# a program built through pkg-config alone, against the moved tree
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
pcs="krait-text krait-dna krait-audio krait-synthetic"
if ! flags=$(pkg-config --cflags --libs $pcs 2>"$dir/pc.err"); then
  bad "pkg-config --cflags --libs $pcs"; cat "$dir/pc.err"
else
  inc=$(printf '%s\n' $flags | sed -n 's|^-I\(.*/include\)$|\1|p' | head -1)
  [ -n "$inc" ] && [ "$(cd "$inc" 2>/dev/null && pwd -P)" = "$(cd "$prefix/include" && pwd -P)" ] &&
    ok "pkg-config: -I$inc (the moved tree)" || bad "pkg-config cflags do not name the moved prefix: $flags"
  san=""
  ldd "$prefix/bin/krait-model" | grep -q libasan && san="-fsanitize=address,undefined"
  # shellcheck disable=SC2086
  if cc -std=c11 $san "$src/tests/apps/install_prog.c" -o "$dir/prog" $flags 2>"$dir/cc.err"; then
    ok "install_prog.c compiled and linked with: cc install_prog.c \$(pkg-config --cflags --libs $pcs)"
    printf '>chrT test\nACGTNACGTA\n' > "$dir/t.fa"
    python3 - "$dir/t.wav" <<'PY'
import struct, sys, math
n, rate = 800, 8000
data = b"".join(struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(n))
hdr = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, 2 * rate, 2, 16)
open(sys.argv[1], "wb").write(hdr + b"data" + struct.pack("<I", len(data)) + data)
PY
    out=$("$dir/prog" "$dir/t.fa" "$dir/t.wav" 2>&1)
    rc=$?
    echo "$out" | sed 's/^/     /'
    [ $rc -eq 0 ] && echo "$out" | grep -q "dna: chrT, 10 bases" && echo "$out" | grep -q "audio: 64 samples" &&
      echo "$out" | grep -q "model: 256 logits, finite" && echo "$out" | grep -q "text: 5 tokens" &&
      ok "the program runs: text, DNA, audio, synthetic and a model through the installed libraries" ||
      bad "install_prog exit $rc"
  else
    bad "install_prog.c did not build with the pkg-config flags: $flags"; head -20 "$dir/cc.err"
  fi
fi
exit $fail
