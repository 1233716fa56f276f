#!/usr/bin/env bash
# tests/apps/text_shakespeare.sh KRAIT_TEXT DATA_DIR — the acceptance split: `prepare
# --split-tail 0.1` of tinyshakespeare gives nanoGPT's split exactly (train = the first
# int(n * 0.9) bytes, val = the rest), and the shipped preset accepts the folder (one training
# step of the real preset shape). Exits 77 (skipped) without ../shared/data.
set -u
k="$1"
src="$2/text/tinyshakespeare/input.txt"
[ -f "$src" ] || { echo "skip: $src not found"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
n=$(wc -c < "$src")
cut=$(( n * 9 / 10 ))
"$k" prepare --input "$src" --output "$dir/d" --split-tail 0.1 --json >"$dir/p" 2>"$dir/e" || { echo "FAIL prepare"; cat "$dir/e"; exit 1; }
if grep -q "\"train_tokens\":$cut," "$dir/p" && grep -q "\"val_tokens\":$(( n - cut ))," "$dir/p" &&
   cmp -s <(od -An -v -tu2 -j32 "$dir/d/val.bin" | tr -s ' \n' '\n' | sed '/^$/d') \
          <(tail -c $(( n - cut )) "$src" | od -An -v -tu1 | tr -s ' \n' '\n' | sed '/^$/d'); then
  echo "ok   nanoGPT split: $cut train bytes, $(( n - cut )) validation bytes (the last 10%)"
else echo "FAIL split"; cat "$dir/p"; fail=1; fi
"$k" train --config text-bytes-shakespeare --data "$dir/d" --out "$dir/run" --steps 1 --val-tokens 512 >"$dir/t" 2>"$dir/et" &&
  grep -q "validation loss" "$dir/t" && echo "ok   the preset trains on it: $(cat "$dir/t")" || { echo "FAIL preset"; cat "$dir/et"; fail=1; }
exit $fail
