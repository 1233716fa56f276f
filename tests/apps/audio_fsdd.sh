#!/usr/bin/env bash
# tests/apps/audio_fsdd.sh KRAIT_AUDIO SHARED_DATA — krait-audio on the Free Spoken Digit Dataset
# (label data; exit 77 without ../shared/data/audio/fsdd): every recording reads, the official
# split (index 0-4 = test) has 2,700 train and 300 test files with the documented sample counts,
# labels 0-9 from the file names, and a few training steps on the real clips bring the test
# files' bits per sample below the 8 bits of storing the mu-law bytes as they are. Quick (< 60 s).
set -u
k="$1"
rec="$2/audio/fsdd/recordings"
[ -d "$rec" ] || { echo "no $rec: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
jget() { tail -1 "$1" | grep -o "\"$2\":[^,}]*" | head -1 | cut -d: -f2 | tr -d '"'; }
split=(--data "$rec" --test-regex '_[0-4]\.wav$')

"$k" encode "${split[@]}" --split all --out "$dir/all" --json >"$dir/a" 2>"$dir/ea" || { bad "encode all"; cat "$dir/ea"; }
[ "$(jget "$dir/a" files)" = 3000 ] && [ "$(jget "$dir/a" skipped)" = 0 ] && [ "$(jget "$dir/a" samples)" = 10498424 ] &&
  ok "all 3000 recordings read: 10,498,424 samples at 8 kHz (as documented)" || { bad "encode all"; cat "$dir/a"; }
"$k" encode "${split[@]}" --split test --out "$dir/test" --json >"$dir/t" 2>/dev/null
[ "$(jget "$dir/t" files)" = 300 ] && ok "official split: 300 test files ($(jget "$dir/t" samples) samples)" || bad "test split"
names=$(ls "$dir/test/files" | sed 's/^[0-9]*_//' | grep -c '_[0-4]\.wav\.u8$')
[ "$names" = 300 ] && ok "every test file has index 0-4" || bad "test names ($names)"

cat > "$dir/lm.json" <<'JSON'
{ "hidden_size": 32, "num_hidden_layers": 2, "vocab_size": 256, "state_size": 8,
  "audio": { "rate": 8000, "quantization": "mulaw", "normalize": "peak" },
  "train": { "batch": 4, "seq_len": 512, "lr": 5e-3, "warmup": 10, "steps": 0 } }
JSON
"$k" train --config "$dir/lm.json" "${split[@]}" --out "$dir/LM" --steps 60 --eval-every 0 --val-files 10 --json \
  >"$dir/tr" 2>"$dir/etr" || { bad "train"; cat "$dir/etr"; }
bps=$(jget "$dir/tr" val_bits_per_sample)
grep -q "2700 train files" "$dir/etr" && awk -v b="$bps" 'BEGIN { exit !(b > 2 && b < 7.9) }' &&
  ok "60 steps on the 2700 train files: 10 test files at $bps bits per sample (< 8)" || { bad "train ($bps)"; tail -3 "$dir/etr"; }
exit $fail
