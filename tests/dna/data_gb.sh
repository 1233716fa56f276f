#!/usr/bin/env bash
# tests/dna/data_gb.sh KRAIT_DNA SHARED_DATA — the Genomic Benchmarks files the README's figures
# use (label data; exit 77 without ../shared/data): `krait-dna split` with the documented seed
# (1) and fraction (0.2) gives the documented sizes, keeps every row exactly once (train + test =
# the input, as multisets), is stratified, and promoters are all 251 bp.
set -u
k="$1"
shared="$2/dna"
[ -f "$shared/gb_human_nontata_promoters/test.tsv" ] && [ -f "$shared/gb_human_enhancers_cohn/test.tsv" ] ||
  { echo "skip: $shared not present"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
check() { # task, rows, train, test
  local t="$1" src="$shared/gb_human_$1/test.tsv"
  "$k" split --input "$src" --out "$dir/$t" --seed 1 --fraction 0.2 --json > "$dir/$t.out" 2>"$dir/err" || { bad "$t split"; cat "$dir/err"; return; }
  local line
  line=$(tail -1 "$dir/$t.out")
  [ "$line" = "{\"n\":$2,\"train\":$3,\"test\":$4,\"classes\":2,\"seed\":1}" ] && ok "$t: $line" || bad "$t: $line"
  if cmp -s <(tail -n +2 "$src" | tr a-z A-Z | sort) <(tail -q -n +2 "$dir/$t/train.tsv" "$dir/$t/test.tsv" | sort); then
    ok "$t: train + test = the input rows, each once"
  else bad "$t: rows lost or duplicated"; fi
  for part in train test; do
    local all c0 c1
    all=$(tail -n +2 "$src" | cut -f2 | grep -c '^0$')
    c0=$(tail -n +2 "$dir/$t/$part.tsv" | cut -f2 | grep -c '^0$')
    c1=$(tail -n +2 "$dir/$t/$part.tsv" | cut -f2 | grep -c '^1$')
    echo "     $part: $c0 negative, $c1 positive (input: $all negative)"
  done
  local t0 t1 all0
  all0=$(tail -n +2 "$src" | cut -f2 | grep -c '^0$')
  t0=$(tail -n +2 "$dir/$t/test.tsv" | cut -f2 | grep -c '^0$')
  [ "$t0" -eq $(( (all0 * 2 + 5) / 10 )) ] && ok "$t: test holds round(20%) of the negatives ($t0 of $all0)" || bad "$t: not stratified ($t0 of $all0)"
}
check nontata_promoters 9034 7227 1807
check enhancers_cohn 6948 5558 1390
[ "$(tail -n +2 "$dir/nontata_promoters/train.tsv" | awk -F'\t' 'length($1) != 251' | wc -l)" = 0 ] &&
  ok "promoters: every sequence 251 bp" || bad "promoter lengths"
exit $fail
