#!/usr/bin/env bash
# tests/dna/region_memory.sh KRAIT_DNA SHARED_DATA [MODEL_DIR] — classifying one long region of
# ce.fa streams it in chunks: peak memory (max RSS, /usr/bin/time -v) for a 10 kb, a 100 kb and a
# 1 Mb region of CHROMOSOME_I (all streamed: --stream-above 4096) must agree within 8 MB, i.e. not grow with the length (a 1 Mb region
# held whole as ids and activations would cost > 100 MB even for a tiny model). Without
# MODEL_DIR a tiny bidirectional classifier is trained for 2 steps first (label data; exit 77
# without ../shared/data or /usr/bin/time).
set -u
k="$1"
fa="$2/dna/celegans_ce_fa/ce.fa"
model="${3:-}"
[ -f "$fa" ] && [ -f "$fa.fai" ] || { echo "skip: $fa not present"; exit 77; }
[ -x /usr/bin/time ] || { echo "skip: /usr/bin/time not installed"; exit 77; }
# AddressSanitizer's quarantine and shadow memory make peak RSS meaningless (as test_longeval)
ldd "$k" 2>/dev/null | grep -q libasan && { echo "skip: AddressSanitizer build"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
if [ -z "$model" ]; then
  cat > "$dir/tiny.json" <<'JSON'
{ "hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 8, "state_size": 4, "expand": 2, "conv_kernel": 4,
  "krait": { "modality": "dna", "head": "classify", "n_classes": 2, "pooling": "mean", "bidirectional": true },
  "train": { "batch": 4, "seq_len": 64, "lr": 3e-3, "warmup": 1, "steps": 2 } }
JSON
  printf 'seq\tlabel\nACGTACGTAC\t0\nGGGCCCGGTA\t1\nACGTTTGTAC\t0\nGCGCCCGGCA\t1\n' > "$dir/t.tsv"
  "$k" train --config "$dir/tiny.json" --train "$dir/t.tsv" --out "$dir/m" --steps 2 >/dev/null 2>"$dir/err" || { cat "$dir/err"; exit 1; }
  model="$dir/m"
fi
peak() { # length -> max RSS in kB
  printf 'CHROMOSOME_I\t0\t%d\tregion\t0\t-\n' "$1" > "$dir/r.bed"
  /usr/bin/time -v "$k" predict --model "$model" --genome "$fa" --input "$dir/r.bed" --stream-above 4096 --chunk 4096 --output "$dir/p$1.tsv" 2>"$dir/t$1" ||
    { cat "$dir/t$1" >&2; echo 0; return; }
  grep "Maximum resident" "$dir/t$1" | awk '{print $NF}'
}
r10=$(peak 10000); r100=$(peak 100000); r1000=$(peak 1000000)
echo "peak RSS: 10 kb $r10 kB, 100 kb $r100 kB, 1 Mb $r1000 kB"
for f in 10000 100000 1000000; do tail -1 "$dir/p$f.tsv"; done
lo=$r10; hi=$r10
for r in $r100 $r1000; do [ "$r" -lt "$lo" ] && lo=$r; [ "$r" -gt "$hi" ] && hi=$r; done
if [ "$r10" -gt 0 ] && [ "$r100" -gt 0 ] && [ "$r1000" -gt 0 ] && [ $(( hi - lo )) -le 8192 ]; then
  echo "ok   peak memory flat over 10 kb .. 1 Mb (spread $(( hi - lo )) kB)"
else echo "FAIL peak memory grows with the region ($r10 / $r100 / $r1000 kB)"; fail=1; fi
exit $fail
