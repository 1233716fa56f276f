#!/usr/bin/env bash
# tests/apps/audio_app.sh KRAIT_AUDIO — krait-audio end to end on a tiny synthetic dataset made
# with sox: two classes of tones with noise ("lo", "hi"), WAV/FLAC/OGG/AIFF, mono and stereo,
# 8 and 16 kHz, in subfolders, plus one bad file in the training folder. Trains a waveform
# model a few steps (the bad file skipped and counted), evals bits per sample, generates WAVs
# (continuing a prompt, and unconditionally) with their pictures, encodes byte streams (one file in
# memory at a time),
# classify-train + classify (accuracy, confusion matrix), resume; and the bad-input cases: exit
# 2 with one line naming the file (malformed, truncated, zero-length, unsupported).
set -u
k="$1"
command -v sox >/dev/null || { echo "sox not found: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
jget() { tail -1 "$1" | grep -o "\"$2\":[^,}]*" | head -1 | cut -d: -f2 | tr -d '"'; }
bad_input() { # name, fragments..., -- command...
  local name="$1"; shift
  local frags=()
  while [ "$1" != "--" ]; do frags+=("$1"); shift; done
  shift
  "$@" >"$dir/out" 2>"$dir/err"
  local rc=$? lines
  lines=$(grep -vc 'device cpu' "$dir/err")
  local ok_=1
  for f in "${frags[@]}"; do grep -qF -- "$f" "$dir/err" || ok_=0; done
  if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && [ $ok_ -eq 1 ]; then ok "$name: $(grep -v 'device cpu' "$dir/err")"
  else bad "$name: exit $rc, $lines lines:"; cat "$dir/err"; fi
}

# ---- a tiny dataset: <class>_<take>.<ext>; takes 0-1 are the test split ---------------------------
d="$dir/data"
mkdir -p "$d/a" "$d/b/c"
exts=(wav flac ogg aiff)
for take in 0 1 2 3 4 5 6 7; do
  ext=${exts[$(( take % 4 ))]}
  f1=$(( 250 + 13 * take )); f2=$(( 1300 + 29 * take ))
  sox -n -r 8000 -c 1 -b 16 "$d/a/lo_$take.$ext" synth 0.3 sine $f1 synth 0.3 whitenoise amod 0.05 vol 0.7 2>/dev/null
  sox -n -r 16000 -c 2 -b 16 "$d/b/c/hi_$take.$ext" synth 0.3 sine $f2 synth 0.3 whitenoise amod 0.05 vol 0.7 2>/dev/null
done
printf 'not audio at all' > "$d/a/lo_9.wav"     # a bad file inside the training folder
n_files=$(find "$d" -type f | wc -l)
[ "$n_files" -eq 17 ] && ok "dataset: 16 clips (WAV, FLAC, OGG, AIFF; 8 kHz mono and 16 kHz stereo) + 1 bad file" ||
  bad "dataset: $n_files files"
split=(--data "$d" --label-regex '^([a-z]+)_' --test-regex '_[01]\.[a-z]+$')
lmsplit=(--data "$d" --test-regex '_[01]\.[a-z]+$') # a waveform model's commands take no labels

cat > "$dir/lm.json" <<'JSON'
{ "hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 256, "state_size": 4,
  "audio": { "rate": 8000, "quantization": "mulaw" },
  "train": { "batch": 2, "seq_len": 256, "lr": 3e-3, "warmup": 5, "steps": 0 } }
JSON
# ---- waveform model -----------------------------------------------------------------------------
targs=(train --config "$dir/lm.json" "${lmsplit[@]}" --device cpu --seed 3 --eval-every 10 --val-files 0)
"$k" "${targs[@]}" --out "$dir/LM" --steps 20 --json >"$dir/t1" 2>"$dir/e1" || { bad "train"; cat "$dir/e1"; }
grep -q "skipped .*lo_9.wav.*unsupported or unrecognised" "$dir/e1" && grep -q "train: skipped 1 unreadable file" "$dir/e1" &&
  tail -1 "$dir/t1" | grep -q '"skipped":1[,}]' &&
  ok "train: the bad file is skipped with a warning naming it, and counted (--json skipped 1)" || { bad "train skip"; cat "$dir/e1" "$dir/t1"; }
[ "$(grep -c '"loss"' "$dir/LM/metrics.jsonl")" -eq 20 ] && [ "$(grep -c '"val_loss"' "$dir/LM/metrics.jsonl")" -eq 2 ] &&
  ok "train: 20 step lines, 2 test-file validations" || { bad "train metrics"; head -3 "$dir/LM/metrics.jsonl"; }
for f in config.json model.safetensors audio.json curves.svg; do [ -s "$dir/LM/$f" ] || bad "run folder lacks $f"; done
grep -q '"quantization":[[:space:]]*"mulaw"' "$dir/LM/audio.json" && grep -q '"tokenizer":[[:space:]]*"mulaw"' "$dir/LM/config.json" &&
  ok "run folder: model, audio.json (mulaw, 8 kHz), curves.svg" || bad "audio.json / config"
kt="$(dirname "$k")/krait-text" # an audio model given to the text app: said so, in one line
if [ -x "$kt" ]; then
  bad_input "krait-text generate with an audio model" "$dir/LM: an audio model (config.json: \"modality\": \"audio\")" -- \
    "$kt" generate --model "$dir/LM" --prompt hi --max-tokens 1
fi
bps=$(jget "$dir/t1" val_bits_per_sample)
awk -v b="$bps" 'BEGIN { exit !(b > 1 && b < 9) }' && ok "train --json: test files at $bps bits per sample" || bad "train bps '$bps'"

"$k" eval --model "$dir/LM" "${lmsplit[@]}" --split test --tsv "$dir/ev.tsv" --json >"$dir/ev" 2>"$dir/eev" || { bad "eval"; cat "$dir/eev"; }
want=0
for f in $(find "$d" -name '*_[01].*'); do want=$(( want + $(soxi -s "$f") * 8000 / $(soxi -r "$f") )); done
got=$(jget "$dir/ev" samples)
[ "$(jget "$dir/ev" files)" = 4 ] && [ "$got" -ge $(( want - 8 )) ] && [ "$got" -le $(( want + 8 )) ] &&
  ok "eval --split test: 4 files, $got samples at 8 kHz (sox: $want)" || { bad "eval counts (got $got, sox $want)"; cat "$dir/ev"; }
e_bps=$(jget "$dir/ev" bits_per_sample)
awk -v a="$e_bps" -v b="$bps" 'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }' &&
  ok "eval bits per sample ($e_bps) == the trainer's last validation" || bad "eval $e_bps vs train $bps"
[ "$(wc -l < "$dir/ev.tsv")" -eq 5 ] && ok "eval --tsv: one line per file" || bad "eval tsv"
# each file's bits per sample in the TSV, weighted by its samples, is the --json figure
awk -F'\t' -v j="$e_bps" 'NR > 1 { s += $2 * $3; n += $2 } END { d = s / n - j; exit !(n > 0 && d < 1e-6 && d > -1e-6) }' "$dir/ev.tsv" &&
  ok "eval --tsv: the files' bits per sample, weighted by samples, == --json's ($e_bps)" || { bad "eval tsv bits per sample vs $e_bps"; cat "$dir/ev.tsv"; }
# audio.json records the split: --split test without --test-regex scores the same 4 test files
"$k" eval --model "$dir/LM" --data "$d" --split test --json >"$dir/evr" 2>"$dir/eevr" &&
  [ "$(jget "$dir/evr" files)" = 4 ] && [ "$(jget "$dir/evr" bits_per_sample)" = "$e_bps" ] && grep -q "as trained" "$dir/eevr" &&
  ok "eval --split test alone: the model's recorded split (4 files, same figure)" || { bad "eval recorded split"; cat "$dir/evr" "$dir/eevr"; }
# without --test-regex or --test-fraction a tenth of the names is held out by their FNV-1a hash
# (its top 53 bits as a fraction below 0.1), recorded in audio.json; eval --split test/train follow it
mkdir -p "$dir/hash" && for i in $(seq -w 0 39); do cp "$d/a/lo_0.wav" "$dir/hash/n_$i.wav"; done
n_hash=$(python3 -c 'import sys
def h(s):
    v = 1469598103934665603
    for b in s.encode(): v = ((v ^ b) * 1099511628211) % 2**64
    return v
print(sum((h("n_%02d.wav" % i) >> 11) * 2.0**-53 < 0.1 for i in range(40)))')
"$k" train --config "$dir/lm.json" --data "$dir/hash" --out "$dir/HS" --steps 1 --eval-every 0 --device cpu >/dev/null 2>"$dir/ehs" &&
  "$k" eval --model "$dir/HS" --data "$dir/hash" --split test --json >"$dir/evh" 2>/dev/null &&
  "$k" eval --model "$dir/HS" --data "$dir/hash" --split train --json >"$dir/evh2" 2>/dev/null &&
  grep -qE '"test_fraction":[[:space:]]*0\.1([,}[:space:]]|$)' "$dir/HS/audio.json" && [ "$n_hash" -gt 0 ] &&
  [ "$(jget "$dir/evh" files)" = "$n_hash" ] && [ "$(jget "$dir/evh2" files)" = $(( 40 - n_hash )) ] &&
  ok "the default split: test_fraction 0.1 in audio.json, $n_hash of 40 names held out by hash" ||
  { bad "default hash split (want $n_hash test files)"; cat "$dir/ehs" "$dir/evh" "$dir/HS/audio.json"; }
# --val-files N takes N test files evenly spaced through the listing (file floor(v * n / N), v = 0..N-1):
# of t_0..t_9 with 3, t_0, t_3 and t_6; t_3 and t_6 (and t_1, not taken) are unreadable, so exactly
# those two are warned about and one file is scored
mkdir -p "$dir/vf" && for i in 0 1 2 3; do cp "$d/a/lo_$i.wav" "$dir/vf/r_$i.wav"; done
for i in 0 1 2 3 4 5 6 7 8 9; do cp "$d/a/lo_4.wav" "$dir/vf/t_$i.wav"; done
for i in 1 3 6; do printf 'junk' > "$dir/vf/t_$i.wav"; done
"$k" train --config "$dir/lm.json" --data "$dir/vf" --test-regex '^t_' --val-files 3 --out "$dir/VF" --steps 1 \
  --eval-every 0 --device cpu >/dev/null 2>"$dir/evf" &&
  [ "$(grep -c 'skipped test file' "$dir/evf")" = 2 ] && grep -q 'skipped test file .*vf/t_3\.wav' "$dir/evf" &&
  grep -q 'skipped test file .*vf/t_6\.wav' "$dir/evf" && grep -q '1 test file' "$dir/evf" &&
  ok "--val-files 3 of 10: the 1st, 4th and 7th test files (the two unreadable ones warned, one scored)" ||
  { bad "--val-files spacing"; cat "$dir/evf"; }
# a tab or newline in a file name stays inside its TSV field (escaped)
mkdir -p "$dir/tabs" && cp "$d/a/lo_0.wav" "$dir/tabs/$(printf 'a\tb')_0.wav" && cp "$d/a/lo_0.wav" "$dir/tabs/$(printf 'c\nd')_1.wav"
"$k" eval --model "$dir/LM" --data "$dir/tabs" --tsv "$dir/tabs.tsv" >/dev/null 2>&1 && [ "$(wc -l < "$dir/tabs.tsv")" -eq 3 ] &&
  grep -qF 'a\tb_0.wav' "$dir/tabs.tsv" && grep -qF 'c\nd_1.wav' "$dir/tabs.tsv" &&
  ok "eval --tsv: a tab or newline in a name is escaped (one row per file)" || { bad "TSV escaping"; cat "$dir/tabs.tsv"; }
# ... and its path column reads back as a manifest: the escaped names find their files
tail -n +2 "$dir/tabs.tsv" | cut -f1 > "$dir/tabs_man.tsv"
"$k" eval --model "$dir/LM" --data "$dir/tabs_man.tsv" --json >"$dir/tabsm" 2>"$dir/etabsm" &&
  [ "$(jget "$dir/tabsm" files)" = 2 ] && [ "$(jget "$dir/tabsm" skipped)" = 0 ] &&
  ok "the eval TSV's escaped paths as a manifest: both files read" || { bad "escaped paths as a manifest"; cat "$dir/etabsm"; }
# an unreadable test file is skipped at the start (it used to end the run at its first validation)
cp -r "$d" "$dir/badtest" && printf 'junk' > "$dir/badtest/a/lo_1.wav"
"$k" train --config "$dir/lm.json" --data "$dir/badtest" --test-regex '_[01]\.[a-z]+$' \
  --out "$dir/BT" --steps 3 --eval-every 0 --device cpu --json >"$dir/bt" 2>"$dir/ebt" &&
  grep -q "warning: skipped test file .*badtest/a/lo_1.wav" "$dir/ebt" && [ -s "$dir/BT/model.safetensors" ] &&
  [ "$(grep -c val_loss "$dir/BT/metrics.jsonl")" -eq 1 ] &&
  tail -1 "$dir/bt" | grep -q '"skipped":2[,}]' && grep -q "(unreadable files skipped)" "$dir/bt" &&
  ok "train: an unreadable test file is skipped with a warning; the run ends with a model; the summary counts train's and test's" ||
  { bad "unreadable test file"; cat "$dir/ebt" "$dir/bt"; }
# a name that is not UTF-8 still matches --test-regex (it used to fall silently into train); its
# --label-regex below, with the classifier
mkdir -p "$dir/latin1" && cp "$d/a/lo_0.wav" "$dir/latin1/$(printf 'lo\xe9_0.wav')" && cp "$d/a/lo_0.wav" "$dir/latin1/lo_5.wav"
"$k" eval --model "$dir/LM" --data "$dir/latin1" --split test --test-regex '_0\.wav$' --json \
  >"$dir/evl" 2>"$dir/eevl" && [ "$(jget "$dir/evl" files)" = 1 ] &&
  ok "a Latin-1 file name matches --test-regex" || { bad "non-UTF-8 name and regex"; cat "$dir/eevl"; }
bad_input "eval of a waveform model with --label-regex" "unknown option '--label-regex'" -- \
  "$k" eval --model "$dir/LM" --data "$dir/latin1" --label-regex '^([a-z]+)'

mkdir -p "$dir/mixed"; cp "$d/a/lo_0.wav" "$d/a/lo_9.wav" "$dir/mixed/"
"$k" eval --model "$dir/LM" --data "$dir/mixed" --json >"$dir/evm" 2>"$dir/eevm"
[ $? -eq 0 ] && [ "$(jget "$dir/evm" files)" = 1 ] && [ "$(grep -c 'lo_9.wav' "$dir/eevm")" -eq 1 ] &&
  grep -q "warning: skipped $dir/mixed/lo_9.wav: unsupported" "$dir/eevm" && ! grep -q 'error' "$dir/eevm" &&
  ok "eval of a folder with a bad file: one warning line naming it, the rest scored" || { bad "eval skip"; cat "$dir/eevm"; }
"$k" eval --model "$dir/LM" --data "$d/a/lo_0.wav" --chunk 7 --json >"$dir/ev1" 2>/dev/null
"$k" eval --model "$dir/LM" --data "$d/a/lo_0.wav" --chunk 4096 --json >"$dir/ev2" 2>/dev/null
a=$(jget "$dir/ev1" bits_per_sample) b=$(jget "$dir/ev2" bits_per_sample)
awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(a > 0 && d < 1e-4 && d > -1e-4) }' &&
  ok "eval of one file: chunk 7 == chunk 4096 ($a bits per sample; state carried)" || bad "chunked eval $a vs $b"

"$k" generate --model "$dir/LM" --prompt "$d/b/c/hi_1.flac" --seconds 0.5 --output "$dir/g.wav" --json >"$dir/g" 2>"$dir/eg" ||
  { bad "generate"; cat "$dir/eg"; }
n_prompt=$(jget "$dir/g" prompt_samples)
[ "$(soxi -r "$dir/g.wav")" = 8000 ] && [ "$(soxi -c "$dir/g.wav")" = 1 ] && [ "$(soxi -b "$dir/g.wav")" = 16 ] &&
  [ "$(soxi -s "$dir/g.wav")" -eq $(( n_prompt + 4000 )) ] &&
  ok "generate: a valid 16-bit mono WAV (sox): $n_prompt prompt + 4000 samples" || { bad "generate wav"; soxi "$dir/g.wav"; }
grep -q "generate: 4000/4000 samples" "$dir/eg" && ok "generate shows progress" || bad "generate progress"
"$k" generate --model "$dir/LM" --prompt "$d/b/c/hi_1.flac" --prompt-seconds 0.1 --seconds 0.05 --output "$dir/gp.wav" --no-picture \
  --json >"$dir/gp" 2>"$dir/egp"
[ "$(jget "$dir/gp" prompt_samples)" = 800 ] && [ "$(soxi -s "$dir/gp.wav")" = 1200 ] &&
  ok "generate --prompt-seconds 0.1 --seconds 0.05: 800 prompt samples + 400 = 1200 in the WAV" ||
  { bad "generate --prompt-seconds ($(jget "$dir/gp" prompt_samples) prompt samples, $(soxi -s "$dir/gp.wav") in the WAV)"; cat "$dir/egp"; }
[ "$(head -c 8 "$dir/g.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && ok "generate: picture g.png (PNG)" || bad "picture"
(ulimit -f 40; "$k" generate --model "$dir/LM" --seconds 2 --output "$dir/uf.wav" >/dev/null 2>"$dir/euf"); rc=$?
[ $rc -eq 1 ] && [ "$(grep -c error "$dir/euf")" = 1 ] && grep -q "uf.png: PNG write failed (File too large)" "$dir/euf" &&
  [ ! -e "$dir/uf.png" ] && [ -z "$(ls -A "$dir" | grep '^\.krait-')" ] &&
  ok "generate: a picture the disk cannot hold: exit 1, one line, no cut PNG" || { bad "picture on a full disk (exit $rc)"; cat "$dir/euf"; ls "$dir" | grep '^uf'; }
# the output is written to a temporary of its own: a file named like a fixed temporary (OUT.tmp.wav) is untouched
cp "$d/b/c/hi_1.flac" "$dir/q.tmp.flac" && cp "$dir/q.tmp.flac" "$dir/q.keep"
"$k" generate --model "$dir/LM" --prompt "$dir/q.tmp.flac" --seconds 0.05 --output "$dir/q.flac" --no-picture >/dev/null 2>&1 &&
  cmp -s "$dir/q.tmp.flac" "$dir/q.keep" && [ -s "$dir/q.flac" ] && [ -z "$(ls -A "$dir" | grep '^\.krait-')" ] &&
  [ "$(stat -c %a "$dir/q.flac")" = "$(printf '%o' $((0666 & ~0$(umask))))" ] &&
  ok "generate --output q.flac: the prompt q.tmp.flac untouched, no temporary left, the umask's mode" ||
  { bad "generate's temporary"; ls -lA "$dir" | grep ' q\| \.krait'; }
(cd "$dir" && "$k" generate --model LM --seconds 0.05 --output "$(printf 'a%.0s' $(seq 246)).wav" >/dev/null 2>"$dir/elw") &&
  ok "generate --output with a 250-byte name in the current folder (the temporary's name is short)" || { bad "long output name"; cat "$dir/elw"; }
"$k" generate --model "$dir/LM" --seconds 0.25 --no-prompt-audio --output "$dir/u.flac" --picture "$dir/u.png" --seed 5 >/dev/null 2>&1
"$k" generate --model "$dir/LM" --seconds 0.25 --no-prompt-audio --output "$dir/u2.flac" --no-picture --seed 5 >/dev/null 2>&1
[ "$(soxi -s "$dir/u.flac")" -eq 2000 ] && [ -s "$dir/u.png" ] && [ ! -e "$dir/u2.png" ] &&
  cmp -s <(sox "$dir/u.flac" -t raw -) <(sox "$dir/u2.flac" -t raw -) &&
  ok "generate unconditionally to FLAC: 2000 samples, the same seed gives the same audio" || bad "unconditional generate"

"$k" encode "${lmsplit[@]}" --split test --model "$dir/LM" --out "$dir/enc" --json >"$dir/enc.out" 2>/dev/null
[ "$(stat -c %s "$dir/enc/all.u8")" = "$(jget "$dir/enc.out" samples)" ] && [ "$(jget "$dir/enc.out" samples)" = "$got" ] &&
  [ "$(ls "$dir/enc/files" | wc -l)" = 4 ] && ok "encode: one byte per sample, the samples eval scored" || bad "encode"
[ "$(ls "$dir/enc/files" | cut -c1-6 | tr '\n' ' ')" = "00000_ 00001_ 00002_ 00003_ " ] &&
  ok "encode: the streams are numbered from 00000" || { bad "encode stream names"; ls "$dir/enc/files"; }

losses() { grep -o '^{"step": [0-9]*, "[a-z_]*": [^,]*' "$1/metrics.jsonl"; }
"$k" "${targs[@]}" --out "$dir/R" --steps 20 --stop-at 12 >/dev/null 2>&1
"$k" "${targs[@]}" --steps 20 --resume "$dir/R" >/dev/null 2>"$dir/eR" || { bad "resume"; cat "$dir/eR"; }
cmp -s <(losses "$dir/LM") <(losses "$dir/R") && ok "stop at 12 + resume: losses identical to the uninterrupted run" ||
  { bad "resume differs"; diff <(losses "$dir/LM") <(losses "$dir/R") | head -4; }
"$k" "${targs[@]}" --out "$dir/RQ" --steps 20 --stop-at 12 >/dev/null 2>&1
"$k" "${targs[@]}" --steps 20 --resume "$dir/RQ" --set audio.quantization=linear8 >/dev/null 2>"$dir/e"
[ $? = 2 ] && [ "$(grep -c error "$dir/e")" = 1 ] && grep -qF -- "--resume $dir/RQ: the checkpoint was trained on mulaw 8-bit at 8000 Hz" "$dir/e" &&
  ok "resume with other audio settings (quantization): refused" || { bad "resume with other audio settings"; cat "$dir/e"; }
# --init DIR without --config: the model's own front-end (audio.json), not the defaults
"$k" "${targs[@]}" --out "$dir/R16" --steps 2 --set audio.rate=16000 --set audio.quantization=linear8 >/dev/null 2>&1
"$k" train "${lmsplit[@]}" --init "$dir/R16" --out "$dir/R16f" --steps 1 --val-files 0 --device cpu >/dev/null 2>"$dir/e16"
grep -q '"rate":[[:space:]]*16000' "$dir/R16f/audio.json" && grep -q '"quantization":[[:space:]]*"linear8"' "$dir/R16f/audio.json" &&
  ! grep -q 'its weights learnt' "$dir/e16" && ok "train --init alone: the model's front-end (16 kHz, linear8), not 8 kHz mu-law" ||
  { bad "train --init alone: front-end"; cat "$dir/e16" "$dir/R16f/audio.json"; }
mkdir -p "$dir/bare" && cp "$dir/R16/config.json" "$dir/R16/model.safetensors" "$dir/bare/" # a model folder, no audio.json
"$k" train "${lmsplit[@]}" --init "$dir/bare" --out "$dir/baref" --steps 1 --val-files 0 --device cpu >/dev/null 2>"$dir/eb" &&
  grep -q '"rate":[[:space:]]*8000' "$dir/baref/audio.json" &&
  ok "train --init of a model folder without audio.json: the default front-end" || { bad "--init without audio.json"; cat "$dir/eb"; }

# ---- classifier ---------------------------------------------------------------------------------
cat > "$dir/cls.json" <<'JSON'
{ "hidden_size": 16, "num_hidden_layers": 1, "state_size": 4,
  "krait": { "head": "classify", "pooling": "mean", "bidirectional": true },
  "audio": { "rate": 8000, "input": "logmel", "mel": { "bands": 16 } },
  "train": { "batch": 8, "lr": 1e-2, "warmup": 5, "steps": 0 } }
JSON
"$k" classify-train --config "$dir/cls.json" "${split[@]}" --out "$dir/CL" --steps 40 --eval-every 20 --device cpu --json \
  >"$dir/c1" 2>"$dir/ec1" || { bad "classify-train"; cat "$dir/ec1"; }
# a manifest row that cannot be read is skipped with its manifest line named (classify, eval, encode)
printf '%s\n' "$d/a/lo_2.ogg" "$d/a/nothere.wav" > "$dir/mm.tsv"
"$k" classify --model "$dir/CL" --data "$dir/mm.tsv" > /dev/null 2>"$dir/emm1" &&
  "$k" eval --model "$dir/LM" --data "$dir/mm.tsv" > /dev/null 2>"$dir/emm2" &&
  "$k" encode --data "$dir/mm.tsv" --out "$dir/emm" > /dev/null 2>"$dir/emm3" &&
  grep -qF "warning: skipped $dir/mm.tsv:2: $d/a/nothere.wav" "$dir/emm1" &&
  grep -qF "warning: skipped $dir/mm.tsv:2: $d/a/nothere.wav" "$dir/emm2" &&
  grep -qF "warning: skipped $dir/mm.tsv:2: $d/a/nothere.wav" "$dir/emm3" &&
  ok "a missing manifest row is skipped with the manifest's line named (classify, eval, encode)" ||
  { bad "skipped manifest row without its line"; cat "$dir/emm1" "$dir/emm2" "$dir/emm3"; }
# encode with a log-mel classifier's front-end writes its quantised samples and says so (it named log-mel)
"$k" encode --data "$d" --model "$dir/CL" --out "$dir/encl" > "$dir/encl.out" 2>"$dir/e" &&
  ! grep -q "log-mel" "$dir/encl.out" && grep -q "reads log-mel frames; written are its samples" "$dir/e" &&
  ok "encode --model LOG-MEL-CLASSIFIER: the quantised samples, described as such" || { bad "encode log-mel model"; cat "$dir/encl.out" "$dir/e"; }
grep -q "skipped 1 unreadable" "$dir/ec1" && tail -1 "$dir/c1" | grep -q '"skipped":1[,}]' &&
  [ "$(tail -c 1 "$dir/CL/test_metrics.json" | od -An -c | tr -d ' ')" = '\n' ] &&
  ok "classify-train: the bad file skipped and counted (--json skipped 1); test_metrics.json ends its line" ||
  { bad "classify-train skip"; cat "$dir/c1"; }
python3 - "$dir/c1" "$dir/CL/test_metrics.json" <<'PY' && ok "classify-train --json: mcc and classes, as test_metrics.json" || { bad "classify-train --json keys"; cat "$dir/c1"; }
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); t = json.load(open(sys.argv[2]))
sys.exit(not (abs(j["mcc"] - t["mcc"]) < 1e-12 and j["classes"] == t["classes"]))
PY
# log-mel frames: the longest clip, or train.seq_len when the config sets it (it was ignored)
"$k" classify-train "${split[@]}" --init "$dir/CL" --out "$dir/CLI" --steps 1 --device cpu >/dev/null 2>"$dir/ecli" &&
  grep -q '"input":[[:space:]]*"logmel"' "$dir/CLI/audio.json" && ok "classify-train --init alone: a log-mel classifier fine-tuned as it is" ||
  { bad "classify-train --init alone"; cat "$dir/ecli"; }
"$k" classify-train --config "$dir/cls.json" "${split[@]}" --out "$dir/CLL" --steps 1 --device cpu --set train.seq_len=7 \
  >/dev/null 2>"$dir/e"
grep -q "(up to 7 positions)" "$dir/e" && ! grep -q "(up to 7 positions)" "$dir/ec1" &&
  ok "classify-train on log-mel: train.seq_len 7 caps the frames (else the longest clip)" || { bad "log-mel seq_len"; cat "$dir/e"; }
# one clip far longer than the rest sets the padded length of every batch: a warning names it
mkdir -p "$dir/onelong/lo" "$dir/onelong/hi"
for i in 0 1 2; do sox -n -r 8000 -c 1 -b 16 "$dir/onelong/lo/c$i.wav" synth 0.3 sine 300 2>/dev/null
  sox -n -r 8000 -c 1 -b 16 "$dir/onelong/hi/c$i.wav" synth 0.3 sine 2000 2>/dev/null; done
sox -n -r 8000 -c 1 -b 16 "$dir/onelong/hi/zlong.wav" synth 12 sine 2000 2>/dev/null
"$k" classify-train --config "$dir/cls.json" --data "$dir/onelong" --label-from-dir --test-fraction 0 --out "$dir/OL" \
  --steps 1 --device cpu >/dev/null 2>"$dir/eol" &&
  grep -q "warning: every batch is padded to .*zlong.wav is that long; --seq-len" "$dir/eol" &&
  "$k" classify-train --config "$dir/cls.json" --data "$dir/onelong" --label-from-dir --test-fraction 0 --out "$dir/OL2" \
    --steps 1 --device cpu --seq-len 40 >/dev/null 2>"$dir/eol2" && ! grep -q "padded to" "$dir/eol2" &&
  ok "classify-train: one clip 40x the others' length is named (not with --seq-len)" || { bad "long-clip warning"; cat "$dir/eol" "$dir/eol2"; }
for f in config.json model.safetensors audio.json curves.svg confusion.svg test_metrics.json; do
  [ -s "$dir/CL/$f" ] || bad "classifier run folder lacks $f"; done
python3 "$(dirname "$0")/svg_bounds.py" "$dir/CL/confusion.svg" "$dir/CL/curves.svg" &&
  ok "classifier pictures: every text on the canvas" || bad "classifier picture text off the canvas"
grep -q '"classes"' "$dir/CL/audio.json" && grep -q '"input":[[:space:]]*"logmel"' "$dir/CL/audio.json" &&
  ok "classifier folder: audio.json with classes and log-mel settings" || bad "classifier audio.json"
"$k" classify --model "$dir/CL" "${split[@]}" --split test --output "$dir/pred.tsv" --confusion "$dir/conf.svg" --json \
  >"$dir/c2" 2>"$dir/ec2" || { bad "classify"; cat "$dir/ec2"; }
acc=$(jget "$dir/c2" accuracy)
[ "$(jget "$dir/c2" n)" = 4 ] && awk -v a="$acc" 'BEGIN { exit !(a >= 0.75) }' &&
  ok "classify --split test: 4 clips, accuracy $acc (tones apart by 1 kHz)" || { bad "classify accuracy '$acc'"; cat "$dir/c2"; }
[ "$(jget "$dir/c1" accuracy)" = "$acc" ] && ok "classify-train's final test accuracy == classify's" || bad "accuracy differs"
# clips longer than --stream-above go through the chunked path (the bidirectional model's reverse
# pass included): with --stream-above 7 --chunk 5 every clip does, and the probabilities are the batched ones. A rising
# sweep and a fading tone: a clip and its reversal differ (stationary tones barely tell). Their
# lengths differ (0.3 s, 0.6 s): in the batch the sweep is padded, and must pool and reverse over
# its own frames only, as alone
mkdir -p "$dir/nonstat"
sox -n -r 8000 -c 1 -b 16 "$dir/nonstat/sweep.wav" synth 0.3 sine 200-3000 fade t 0 0.3 0.25 2>/dev/null
sox -n -r 8000 -c 1 -b 16 "$dir/nonstat/fade.wav" synth 0.6 sine 1500 fade t 0 0.6 0.5 2>/dev/null
"$k" classify --model "$dir/CL" --data "$dir/nonstat" --output "$dir/pb.tsv" >/dev/null 2>"$dir/e" &&
  "$k" classify --model "$dir/CL" --data "$dir/nonstat" --stream-above 7 --chunk 5 --output "$dir/pl.tsv" >/dev/null 2>>"$dir/e" &&
  paste "$dir/pb.tsv" "$dir/pl.tsv" | awk -F'\t' 'NR > 1 { rows++; for (j = 4; j <= 5; j++) { d = $j - $(5 + j); if (d > 1e-5 || d < -1e-5) bad = 1 } }
    END { exit !(rows == 2 && !bad) }' &&
  ok "classify --stream-above 7 --chunk 5: clips in chunks (the reverse pass too) = batched ($(sed -n 2p "$dir/pl.tsv" | cut -f4-5 | tr '\t' ' '))" ||
  { bad "classify in chunks != batched"; cat "$dir/e"; paste "$dir/pb.tsv" "$dir/pl.tsv"; }
# unlabelled clips with --json and no --output: the TSV on stdout, the JSON its last line (the
# predictions went nowhere)
"$k" classify --model "$dir/CL" --data "$dir/nonstat" --json >"$dir/cj" 2>"$dir/e" &&
  [ "$(head -1 "$dir/cj" | cut -f1-3)" = "$(printf 'path\tlabel\tpredicted')" ] && [ "$(grep -c '\.wav' "$dir/cj")" = 2 ] &&
  tail -1 "$dir/cj" | grep -q '^{"n":2,' && ok "classify --json of unlabelled clips: the TSV on stdout, then the JSON" ||
  { bad "classify --json, unlabelled"; cat "$dir/cj" "$dir/e"; }
# eval shows progress inside a long file on a terminal (it was silent until the file's end)
if command -v script >/dev/null; then
  sox -n -r 8000 -c 1 -b 16 "$dir/s60.wav" synth 60 pinknoise vol 0.3 2>/dev/null
  script -q -c "$k eval --model $dir/LM --data $dir/s60.wav --threads 1" /dev/null < /dev/null | tr '\r' '\n' > "$dir/evtty"
  grep -o 'eval: file 1/1: [0-9]*/[0-9]* samples' "$dir/evtty" | awk -F'[ /]' '$5 < $6 { mid++ } END { exit !mid }' &&
    ok "eval on a terminal: progress inside a 60 s file ($(grep -c 'eval: file 1/1' "$dir/evtty") lines)" ||
    { bad "eval: no progress inside a long file"; tail -3 "$dir/evtty"; }
fi
# classify reads one clip at a time: a folder of four 5-minute clips takes about the memory of one
# (all four were held at once: 4x); not measured under AddressSanitizer (its quarantine)
if [ -x /usr/bin/time ] && ! ldd "$k" 2>/dev/null | grep -q libasan; then
  mkdir -p "$dir/long1" "$dir/long4"
  sox -n -r 8000 -c 1 -b 16 "$dir/long1/c1.wav" synth 300 pinknoise vol 0.3 2>/dev/null
  for i in 1 2 3 4; do ln -f "$dir/long1/c1.wav" "$dir/long4/c$i.wav"; done
  for n in 1 4; do
    /usr/bin/time -f "%M" -o "$dir/rss$n" "$k" classify --model "$dir/CL" --data "$dir/long$n" --threads 1 >/dev/null 2>&1
  done
  r1=$(tail -1 "$dir/rss1") r4=$(tail -1 "$dir/rss4")
  [ $((r4 - r1)) -lt $((r1 / 2)) ] && ok "classify of one and four 5-minute clips: peak memory $r1 KB and $r4 KB" ||
    bad "classify's memory grows with the clips: $r1 KB for one 5-minute clip, $r4 KB for four"
fi
"$k" classify --model "$dir/CL" --data "$d" --split test --json >"$dir/c2r" 2>"$dir/ec2r" &&
  [ "$(jget "$dir/c2r" n)" = 4 ] && [ "$(jget "$dir/c2r" accuracy)" = "$acc" ] && grep -q "labels as trained" "$dir/ec2r" &&
  ok "classify --data DIR --split test alone: split and labels as trained" || { bad "classify recorded split"; cat "$dir/c2r" "$dir/ec2r"; }
# new recordings whose names the trained --label-regex does not fit: classified without labels
mkdir -p "$dir/newrecs" && cp "$d/a/lo_0.wav" "$dir/newrecs/hello.wav"
"$k" classify --model "$dir/CL" --data "$dir/newrecs" --output "$dir/np.tsv" >"$dir/cn" 2>"$dir/ecn" &&
  [ "$(wc -l < "$dir/np.tsv")" -eq 2 ] && grep -q "do not all fit the labels as trained" "$dir/ecn" &&
  ok "classify a folder of unlabelled names: predictions, a note, no accuracy" || { bad "classify unlabelled folder"; cat "$dir/ecn"; }
"$k" classify --model "$dir/CL" --data "$dir/newrecs" --confusion "$dir/nc.svg" >"$dir/cn3" 2>"$dir/ecn3"
[ $? -eq 2 ] && [ ! -s "$dir/cn3" ] && grep -q -- "--confusion needs labelled data" "$dir/ecn3" &&
  ok "classify --confusion of unlabelled clips: exit 2 before the work, nothing on stdout" || { bad "--confusion unlabelled"; cat "$dir/ecn3"; }
"$k" classify --model "$dir/CL" --data "$dir/newrecs" >"$dir/cn2" 2>/dev/null && cmp -s "$dir/cn2" "$dir/np.tsv" &&
  ok "classify unlabelled clips without --output: the predictions TSV on stdout" || { bad "unlabelled to stdout"; cat "$dir/cn2"; }
# a preset may carry the split and labels ("audio": {"data"}): the same run as with the options
sed 's/"mel": { "bands": 16 } }/"mel": { "bands": 16 }, "data": { "test_regex": "_[01]\\\\.[a-z]+$", "label_regex": "^([a-z]+)_" } }/' \
  "$dir/cls.json" > "$dir/cls_data.json"
"$k" classify-train --config "$dir/cls_data.json" --data "$d" --out "$dir/CLD" --steps 40 --eval-every 20 --device cpu --json \
  >"$dir/c1d" 2>"$dir/ec1d" && [ "$(jget "$dir/c1d" accuracy)" = "$(jget "$dir/c1" accuracy)" ] &&
  grep -q '"test_regex":[[:space:]]*"_\[01\]\\\\.\[a-z\]+\$"' "$dir/CLD/audio.json" && grep -q '"label_regex":[[:space:]]*"^(\[a-z\]+)_"' "$dir/CLD/audio.json" &&
  ok "a preset's \"data\" split and labels: the same run, recorded in audio.json" || { bad "preset data"; cat "$dir/ec1d"; cat "$dir/CLD/audio.json"; }
grep -q "confusion (rows: true" "$dir/c2" && grep -q '<svg' "$dir/conf.svg" && [ "$(wc -l < "$dir/pred.tsv")" -eq 5 ] &&
  ok "classify: confusion matrix (text + SVG), predictions TSV" || bad "classify outputs"
"$k" classify --model "$dir/CL" --data "$d/b/c/hi_3.aiff" >"$dir/c3" 2>/dev/null && grep -q "hi_3.aiff: [a-z]* (probability" "$dir/c3" &&
  ok "classify one file: $(cat "$dir/c3")" || { bad "classify one file"; cat "$dir/c3"; }
printf 'path\tlabel\n%s\thi\n%s\tlo\n' "$d/b/c/hi_0.wav" "$d/a/lo_1.flac" > "$dir/m.tsv"
"$k" classify --model "$dir/CL" --data "$dir/m.tsv" --json >"$dir/c4" 2>/dev/null && [ "$(jget "$dir/c4" n)" = 2 ] &&
  ok "classify a manifest with labels" || { bad "classify manifest"; cat "$dir/c4"; }
# a manifest that mislabels a clip (a hi tone labelled lo): the TSV's label column is the
# manifest's label, its predicted column the prediction, and the printed confusion matrix counts
# each clip in the row of its label and the column of its prediction (not transposed)
printf 'path\tlabel\n%s\tlo\n%s\tlo\n%s\thi\n' "$d/b/c/hi_0.wav" "$d/a/lo_1.flac" "$d/b/c/hi_1.flac" > "$dir/m_mis.tsv"
"$k" classify --model "$dir/CL" --data "$dir/m_mis.tsv" --output "$dir/pmis.tsv" >"$dir/cmis" 2>"$dir/ecmis"
awk -F'\t' 'FNR == 1 { next } FILENAME == ARGV[1] { want[$1] = $2; next }
  { rows++; if (!($1 in want) || $2 != want[$1]) bad = 1; if ($2 != $3) off++ }
  END { exit !(rows == 3 && !bad && off >= 1) }' "$dir/m_mis.tsv" "$dir/pmis.tsv" &&
  ok "classify --output: the label column is the manifest's (one clip mislabelled, predicted $(sed -n 2p "$dir/pmis.tsv" | cut -f3))" ||
  { bad "classify --output label column"; cat "$dir/pmis.tsv" "$dir/ecmis"; }
awk -F'\t' 'NR > 1 { n[$2 SUBSEP $3]++ } END { for (x in n) { split(x, a, SUBSEP); print a[1], a[2], n[x] } }' "$dir/pmis.tsv" > "$dir/cells"
awk 'FILENAME == ARGV[1] { want[$1 " " $2] = $3; next }
  /^confusion \(rows: true, columns: predicted\)/ { hdr = FNR + 1; next }
  hdr && FNR == hdr { C = NF; for (j = 1; j <= NF; j++) col[j] = $j; next }
  hdr && FNR > hdr && FNR <= hdr + C { for (j = 2; j <= NF; j++) { got[$1 " " col[j - 1]] = $j; cells++ } }
  END { if (cells != C * C || C < 2) exit 1; for (x in got) if (got[x] + 0 != want[x] + 0) exit 1; for (x in want) if (got[x] + 0 != want[x] + 0) exit 1 }' \
  "$dir/cells" "$dir/cmis" &&
  ok "classify: confusion row = the true label, column = the prediction ($(tr '\n' ';' < "$dir/cells"))" ||
  { bad "confusion matrix orientation"; cat "$dir/cells" "$dir/cmis"; }
printf '%s\n%s\n' "$d/b/c/hi_0.wav" "$d/a/lo_1.flac" > "$dir/m_nolab.tsv"
"$k" classify --model "$dir/CL" --data "$dir/m_nolab.tsv" --label-regex '^([a-z]+)_' --json >"$dir/c5" 2>/dev/null &&
  [ "$(jget "$dir/c5" n)" = 2 ] && [ "$(jget "$dir/c5" accuracy)" = "$(jget "$dir/c4" accuracy)" ] &&
  ok "classify a manifest without labels, --label-regex on its names: the same accuracy" || { bad "manifest + label regex"; cat "$dir/c5"; }
bad_input "a manifest with labels and --label-regex" "$dir/m.tsv: the manifest has labels and --label-regex" -- \
  "$k" classify --model "$dir/CL" --data "$dir/m.tsv" --label-regex '^([a-z]+)_'
printf 'path\tlabel\n%s\thi\n%s\tmid\n' "$d/b/c/hi_0.wav" "$d/a/lo_1.flac" > "$dir/m_mid.tsv"
bad_input "a manifest label the model does not have" "$dir/m_mid.tsv:3: label 'mid' (of $d/a/lo_1.flac) is not one of the model's 2 classes" -- \
  "$k" classify --model "$dir/CL" --data "$dir/m_mid.tsv"
# audio.json's classes edited by hand: the weights are judged first, then the labels
mkdir -p "$dir/CL3" "$dir/CLdup" && cp "$dir/CL/config.json" "$dir/CL/model.safetensors" "$dir/CL3/" &&
  cp "$dir/CL/config.json" "$dir/CL/model.safetensors" "$dir/CLdup/"
sed 's/"classes":[[:space:]]*\[[^]]*\]/"classes": ["hi", "lo", "mid"]/' "$dir/CL/audio.json" > "$dir/CL3/audio.json"
sed 's/"classes":[[:space:]]*\[[^]]*\]/"classes": ["hi", "hi"]/' "$dir/CL/audio.json" > "$dir/CLdup/audio.json"
printf 'path\tlabel\n%s\tzz\n' "$d/b/c/hi_0.wav" > "$dir/m_zz.tsv"
bad_input "audio.json's class count differs from the weights'" "$dir/CL3: config.json and audio.json disagree" -- \
  "$k" classify --model "$dir/CL3" --data "$dir/m_zz.tsv"
bad_input "audio.json names a class twice" "\"classes\"[1] 'hi' appears twice" -- \
  "$k" classify --model "$dir/CLdup" --data "$dir/m_zz.tsv"

"$k" classify-train --config "$dir/cls.json" "${split[@]}" --set audio.input=tokens --set vocab_size=256 --seq-len 512 \
  --out "$dir/CT" --steps 5 --device cpu >/dev/null 2>"$dir/ect" &&
  grep -q '"input":[[:space:]]*"tokens"' "$dir/CT/audio.json" && ! grep -q input_dim "$dir/CT/config.json" &&
  "$k" classify --model "$dir/CT" --data "$d/a/lo_2.ogg" >"$dir/c5" 2>/dev/null && grep -q "lo_2.ogg: " "$dir/c5" &&
  ok "classifier on mu-law ids (audio.input=tokens): trains and classifies" || { bad "token classifier"; cat "$dir/ect"; }
# from the waveform model: its embedding and layer (same width) start the classifier, the head fresh
"$k" classify-train --config "$dir/cls.json" "${split[@]}" --set audio.input=tokens --set vocab_size=256 --seq-len 512 \
  --init "$dir/LM" --out "$dir/CI" --steps 5 --device cpu >/dev/null 2>"$dir/eci"
grep -q -- "--init $dir/LM: 12 of 14 tensors copied" "$dir/eci" &&
  ! cmp -s <(losses "$dir/CT") <(losses "$dir/CI") &&
  ok "classify-train --init LM: its 12 tensors copied, the head's 2 fresh; other losses than without" || { bad "classify-train --init"; cat "$dir/eci"; }
"$k" classify-train --config "$dir/cls.json" "${split[@]}" --init "$dir/LM" --out "$dir/CIW" --steps 1 --device cpu >/dev/null 2>"$dir/eciw"
grep -q -- "warning: --init $dir/LM: its weights learnt mulaw 8-bit at 8000 Hz, peak-normalised; this run feeds log-mel 16 bands" "$dir/eciw" &&
  ! grep -q "its weights learnt" "$dir/eci" &&
  ok "--init from a model of other inputs (mu-law into log-mel): a warning; from the same inputs: none" || { bad "--init front-end warning"; cat "$dir/eciw"; }
# the presets the README pairs: a classifier on mu-law samples that starts from the waveform model
presets="$(dirname "$0")/../../configs"
"$k" train --config "$presets/audio-mulaw-fsdd.json" "${lmsplit[@]}" --out "$dir/PL" --steps 1 --batch 1 --seq-len 64 \
  --val-files 1 --device cpu >/dev/null 2>"$dir/epl" &&
  "$k" classify-train --config "$presets/audio-digits-mulaw.json" "${split[@]}" --init "$dir/PL" --out "$dir/PC" --steps 1 \
  --batch 2 --seq-len 64 --device cpu >/dev/null 2>>"$dir/epl" && grep -q -- "--init $dir/PL: 42 of 44 tensors copied" "$dir/epl" &&
  ok "presets audio-mulaw-fsdd -> audio-digits-mulaw (--init): 42 of 44 tensors copied" || { bad "preset pair"; cat "$dir/epl"; }
# stop + resume of the classifier repeats the uninterrupted run
ctargs=(classify-train --config "$dir/cls.json" "${split[@]}" --steps 12 --eval-every 5 --device cpu --seed 4)
"$k" "${ctargs[@]}" --out "$dir/CU" >/dev/null 2>&1
"$k" "${ctargs[@]}" --out "$dir/CR" --stop-at 7 >/dev/null 2>&1
"$k" "${ctargs[@]}" --resume "$dir/CR" >/dev/null 2>"$dir/ecr" || { bad "classify-train resume"; cat "$dir/ecr"; }
[ "$(grep -c '"val_loss"' "$dir/CU/metrics.jsonl")" -eq 3 ] && cmp -s <(losses "$dir/CU") <(losses "$dir/CR") &&
  cmp -s "$dir/CU/test_metrics.json" "$dir/CR/test_metrics.json" &&
  ok "classify-train stop at 7 + resume: train and test losses and the test metrics identical" ||
  { bad "classify-train resume differs"; diff <(losses "$dir/CU") <(losses "$dir/CR") | head -4; }

# ---- bad input ----------------------------------------------------------------------------------
: > "$dir/zero.wav"
printf 'hello, not audio\n' > "$dir/text.wav"
printf 'RIFF\x24\x00\x00\x00WAVEfmt ' > "$dir/malformed.wav"
head -c 3000 "$d/a/lo_0.wav" > "$dir/trunc.wav"
head -c 44 "$d/a/lo_0.wav" > "$dir/nodata.wav"
# codecs libsndfile reads without a length or without seeking (where this sox can write them)
if sox "$d/a/lo_0.wav" -r 44100 "$dir/cut_src.ogg" 2>/dev/null; then
  head -c $(( $(stat -c %s "$dir/cut_src.ogg") / 2 )) "$dir/cut_src.ogg" > "$dir/cut.ogg"
  bad_input "a cut Ogg stream (no length)" "$dir/cut.ogg" -- "$k" encode --data "$dir/cut.ogg" --out "$dir/xo"
  # cut at 5 and 7 tenths of a 20 s stream: libsndfile reads 54,272 of its 160,000 samples and
  # stops without an error (the old reader scored them as the whole file)
  sox -n -r 8000 -c 1 "$dir/long_src.ogg" synth 20 sine 440 || bad "sox: a longer Ogg"
  for tenth in 5 7; do
    head -c $(( $(stat -c %s "$dir/long_src.ogg") * tenth / 10 )) "$dir/long_src.ogg" > "$dir/cut$tenth.ogg"
    bad_input "an Ogg stream cut at $tenth/10" "$dir/cut$tenth.ogg" "truncated: the Ogg stream has no last page" -- \
      "$k" eval --model "$dir/LM" --data "$dir/cut$tenth.ogg"
  done
  bad_input "classify a cut Ogg stream" "$dir/cut5.ogg" "truncated" -- "$k" classify --model "$dir/CL" --data "$dir/cut5.ogg"
else echo "skip a cut Ogg stream: this sox writes no Ogg"; fi
if sox "$d/a/lo_0.wav" -e gsm-full-rate "$dir/gsm.wav" 2>/dev/null; then
  "$k" eval --model "$dir/LM" --data "$dir/gsm.wav" --json >"$dir/evg" 2>"$dir/eevg" && [ "$(jget "$dir/evg" files)" = 1 ] &&
    ok "a GSM 6.10 WAV (no seeking) is read, peak-normalised, scored" || { bad "GSM WAV"; cat "$dir/eevg"; }
else echo "skip GSM: this sox writes no GSM"; fi
# a WAV or AIFF written to a pipe: the writer could not seek back, so the header keeps a
# placeholder size (sox: 0x7ffff000, 0x7f000000 frames); the file is whole, not truncated
sox "$d/a/lo_0.wav" -t wav - 2>/dev/null | cat > "$dir/piped.wav"
sox "$d/a/lo_0.wav" -t aiff - 2>/dev/null | cat > "$dir/piped.aiff"
"$k" eval --model "$dir/LM" --data "$d/a/lo_0.wav" --json >"$dir/evw" 2>/dev/null
for f in piped.wav piped.aiff; do
  "$k" eval --model "$dir/LM" --data "$dir/$f" --json >"$dir/evp" 2>"$dir/eevp" &&
    [ "$(jget "$dir/evp" samples)" = "$(jget "$dir/evw" samples)" ] &&
    [ "$(jget "$dir/evp" bits_per_sample)" = "$(jget "$dir/evw" bits_per_sample)" ] &&
    ok "a $f written to a pipe (placeholder size) reads whole: $(jget "$dir/evp" samples) samples" ||
    { bad "$f written to a pipe"; cat "$dir/eevp"; }
done
bad_input "zero-length file" "$dir/zero.wav" "zero-length" -- "$k" eval --model "$dir/LM" --data "$dir/zero.wav"
bad_input "unsupported format" "$dir/text.wav" "unsupported or unrecognised audio format" -- "$k" eval --model "$dir/LM" --data "$dir/text.wav"
bad_input "malformed WAV" "$dir/malformed.wav" "malformed audio" -- "$k" eval --model "$dir/LM" --data "$dir/malformed.wav"
bad_input "truncated WAV" "$dir/trunc.wav" "truncated" -- "$k" eval --model "$dir/LM" --data "$dir/trunc.wav"
bad_input "header without samples" "$dir/nodata.wav" "zero-length audio" -- "$k" generate --model "$dir/LM" --prompt "$dir/nodata.wav" --output "$dir/x.wav"
bad_input "truncated prompt" "$dir/trunc.wav" "truncated" -- "$k" generate --model "$dir/LM" --prompt "$dir/trunc.wav" --output "$dir/x.wav"
bad_input "unsupported output" "$dir/x.mp3" "unsupported output format" -- "$k" generate --model "$dir/LM" --output "$dir/x.mp3"
bad_input "classify a truncated file" "$dir/trunc.wav" "truncated" -- "$k" classify --model "$dir/CL" --data "$dir/trunc.wav"
bad_input "not a model folder" "$dir" "no audio.json" -- "$k" eval --model "$dir" --data "$d/a/lo_0.wav"
printf 'a.wav\tx\nb.wav\n' > "$dir/bad.tsv"
bad_input "manifest mixing labels" "$dir/bad.tsv:2" "no label" -- "$k" classify --model "$dir/CL" --data "$dir/bad.tsv"
mkdir -p "$dir/empty"
bad_input "folder without audio" "$dir/empty" "no audio files" -- "$k" train --config "$dir/lm.json" --data "$dir/empty" --out "$dir/x" --steps 1
sed 's/"quantization": "mulaw"/"quantization": "alaw"/' "$dir/lm.json" > "$dir/alaw.json"
bad_input "unknown quantisation" "$dir/alaw.json" "quantization" -- "$k" train --config "$dir/alaw.json" "${lmsplit[@]}" --out "$dir/x" --steps 1
mkdir -p "$dir/allbad"; cp "$dir/zero.wav" "$dir/text.wav" "$dir/allbad/"
"$k" train --config "$dir/lm.json" --data "$dir/allbad" --test-fraction 0 --out "$dir/x" --steps 1 >/dev/null 2>"$dir/eab"
[ $? -eq 2 ] && grep -q "skipped 2 unreadable" "$dir/eab" && grep -q "no readable train files" "$dir/eab" &&
  ok "a folder of only bad files: each skipped with a warning, then exit 2" || { bad "all bad"; cat "$dir/eab"; }
# ---- outputs never overwrite inputs; the reviewed edge cases -----------------------------------
printf 'path\tlabel\n%s\thi\n' "$d/b/c/hi_0.wav" > "$dir/keep.tsv" && cp "$dir/keep.tsv" "$dir/keep0.tsv"
bad_input "classify --output naming its manifest" "--output $dir/keep.tsv: that is an input of this command" -- \
  "$k" classify --model "$dir/CL" --data "$dir/keep.tsv" --output "$dir/keep.tsv"
bad_input "classify --output inside the model folder" "that is a file of $dir/CL, which this command reads" -- \
  "$k" classify --model "$dir/CL" --data "$dir/keep.tsv" --output "$dir/CL/audio.json"
bad_input "eval --tsv over the model's weights" "that is a file of $dir/LM" -- \
  "$k" eval --model "$dir/LM" --data "$d/a/lo_0.wav" --tsv "$dir/LM/model.safetensors"
cp "$d/a/lo_0.wav" "$dir/prompt.wav" && cp "$dir/prompt.wav" "$dir/prompt0.wav"
bad_input "generate --output naming its prompt" "--output $dir/prompt.wav: that is an input of this command" -- \
  "$k" generate --model "$dir/LM" --prompt "$dir/prompt.wav" --output "$dir/prompt.wav"
bad_input "generate --picture naming its --output" "--picture $dir/gg.wav: the picture is a PNG" -- \
  "$k" generate --model "$dir/LM" --seconds 0.01 --output "$dir/gg.wav" --picture "$dir/gg.wav"
# a folder the user cannot write in is said before generating (as root, run as nobody to see it)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && chmod 755 "$dir" && mkdir -p "$dir/ro" "$dir/rw" &&
   chmod 555 "$dir/ro" && chmod 777 "$dir/rw" && setpriv --reuid=nobody --regid=nogroup --clear-groups "$k" --help >/dev/null 2>&1; then
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$k" generate --model "$dir/LM" --seconds 0.01 --output "$dir/rw/g.wav" \
    --picture "$dir/ro/g.png" >/dev/null 2>"$dir/ero"
  [ $? -eq 2 ] && grep -q "$dir/ro: cannot write in this folder for --picture" "$dir/ero" && [ ! -e "$dir/rw/g.wav" ] &&
    ok "generate --picture in a read-only folder: exit 2 before generating, no WAV left" || { bad "read-only picture folder"; cat "$dir/ero"; }
else ok "generate --picture in a read-only folder: skipped (needs root and setpriv to run as nobody)"; fi
bad_input "generate --picture into a missing folder, before generating" "no such folder for --picture" -- \
  "$k" generate --model "$dir/LM" --seconds 0.01 --output "$dir/gg.wav" --picture "$dir/nofolder/gg.png"
# the audio files a folder or manifest lists are inputs too (a data folder may hold the outputs)
cp -r "$d" "$dir/dcopy" && cp -r "$d" "$dir/dorig"
bad_input "classify --output naming a clip of the --data folder" "that is one of the audio files this command reads" -- \
  "$k" classify --model "$dir/CL" --data "$dir/dcopy" --label-regex '^([a-z]+)_' --output "$dir/dcopy/a/lo_0.wav"
bad_input "classify --confusion FILE.png (the picture is SVG)" "--confusion $dir/conf.png: the picture is an SVG" -- \
  "$k" classify --model "$dir/CL" --data "$dir/dcopy" --label-regex '^([a-z]+)_' --confusion "$dir/conf.png"
bad_input "classify --confusion naming a clip of the --data folder" "--confusion $dir/dcopy/b/c/../c/hi_0.wav: that is one of the audio files this command reads ($dir/dcopy/b/c/hi_0.wav)" -- \
  "$k" classify --model "$dir/CL" --data "$dir/dcopy" --label-regex '^([a-z]+)_' --confusion "$dir/dcopy/b/c/../c/hi_0.wav"
bad_input "eval --tsv naming a clip of the --data folder" "--tsv $dir/dcopy/a/lo_0.wav: that is one of the audio files" -- \
  "$k" eval --model "$dir/LM" --data "$dir/dcopy" --split all --tsv "$dir/dcopy/a/lo_0.wav"
printf 'path\tlabel\n%s\thi\n' "$dir/dcopy/b/c/hi_0.wav" > "$dir/dman.tsv"
bad_input "classify --output naming a clip its manifest lists" "that is one of the audio files this command reads" -- \
  "$k" classify --model "$dir/CL" --data "$dir/dman.tsv" --output "$dir/dcopy/b/c/hi_0.wav"
"$k" classify --model "$dir/CL" --data "$dir/dcopy" --output "$dir/dcopy/pred.tsv" >/dev/null 2>&1 &&
  [ -s "$dir/dcopy/pred.tsv" ] && rm "$dir/dcopy/pred.tsv" && ok "  ... a new file in the data folder is written" ||
  bad "classify --output into the --data folder"
diff -r "$dir/dcopy" "$dir/dorig" >/dev/null && ok "  ... the data folder's clips as they were" || bad "a listed clip was overwritten"
cmp -s "$dir/keep.tsv" "$dir/keep0.tsv" && cmp -s "$dir/prompt.wav" "$dir/prompt0.wav" && [ -s "$dir/CL/audio.json" ] &&
  [ ! -e "$dir/gg.wav" ] && ok "  ... the inputs as they were, nothing generated" || bad "an input was overwritten"
# a clip name as long as a file system takes (253 bytes): its stream's name is cut to fit
mkdir -p "$dir/longname" && cp "$d/a/lo_0.wav" "$dir/longname/0_$(printf 'a%.0s' $(seq 247)).wav"
"$k" encode --data "$dir/longname" --out "$dir/enc_long" >/dev/null 2>"$dir/elong" &&
  [ "$(ls "$dir/enc_long/files" | wc -l)" = 1 ] && [ "$(ls "$dir/enc_long/files" | head -1 | wc -c)" -le 256 ] &&
  ok "encode of a clip with a 253-byte name: its stream's name cut to fit" || { bad "encode long name"; cat "$dir/elong"; }
# encode: a second, smaller encode into the same folder leaves no stale streams; nothing selected is an error
"$k" encode "${lmsplit[@]}" --model "$dir/LM" --out "$dir/enc2" >/dev/null 2>&1
"$k" encode "${lmsplit[@]}" --split test --model "$dir/LM" --out "$dir/enc2" >/dev/null 2>&1 &&
  [ "$(ls "$dir/enc2/files" | wc -l)" = 4 ] && ok "encode again into the same folder: only this encode's 4 streams" ||
  { bad "encode left stale streams"; ls "$dir/enc2/files"; }
# encode --model takes the model's front-end (a 16 kHz linear8 model's), not the defaults
"$k" encode "${lmsplit[@]}" --split test --model "$dir/R16" --out "$dir/enc16" > "$dir/enc16.out" 2>"$dir/e" &&
  grep -q "linear8 8-bit at 16000 Hz" "$dir/enc16.out" &&
  ok "encode --model: the model's front-end (16 kHz linear8)" || { bad "encode --model front-end"; cat "$dir/enc16.out" "$dir/e"; }
# a class name with a tab or newline would break the TSV outputs' columns and rows: refused
mkdir -p "$dir/ctl/cat"$'\t'"A" "$dir/ctl/dog"$'\n'"B" && cp "$d/a/lo_0.wav" "$dir/ctl/cat"$'\t'"A/" && cp "$d/a/lo_1.flac" "$dir/ctl/dog"$'\n'"B/"
"$k" classify --model "$dir/CL" --data "$dir/ctl" --label-from-dir >/dev/null 2>"$dir/ectl"
[ $? -eq 2 ] && grep -q "label 'cat?A' holds a tab, newline or other control character" "$dir/ectl" &&
  ok "a --label-from-dir class name with a tab: exit 2, said" || { bad "control character in a label"; cat "$dir/ectl"; }
"$k" classify --model "$dir/CL" --data "$dir/ctl" --label-regex '^(l.)' >/dev/null 2>&1 &&
  ok "  ... the same files labelled by a clean --label-regex: fine" || bad "clean labels of odd folders"
bad_input "classify --confusion in a folder that is not there (before the work)" "--confusion $dir/nodir/c.svg" -- \
  "$k" classify --model "$dir/CL" --data "$dir/l1" --confusion "$dir/nodir/c.svg"
# a class name must be UTF-8 (audio.json, the pictures); a path that is not still makes a valid SVG
mkdir -p "$dir/l1/$(printf 'caf\xe9')" "$dir/$(printf 'd\xe9s')/hi" "$dir/$(printf 'd\xe9s')/lo" &&
  cp "$d/a/lo_0.wav" "$dir/l1/$(printf 'caf\xe9')/" && cp "$d/a/lo_0.wav" "$dir/$(printf 'd\xe9s')/lo/" &&
  cp "$d/b/c/hi_0.wav" "$dir/$(printf 'd\xe9s')/hi/"
bad_input "a Latin-1 folder name as a label" "label is not UTF-8 text (byte 0xe9 at 3), which a class name must be" -- \
  "$k" classify --model "$dir/CL" --data "$dir/l1" --label-from-dir
"$k" classify --model "$dir/CL" --data "$dir/$(printf 'd\xe9s')" --label-from-dir --confusion "$dir/l1c.svg" >/dev/null 2>&1 &&
  python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$dir/l1c.svg" &&
  ok "a confusion SVG titled with a Latin-1 path: well-formed XML" || bad "SVG with a Latin-1 path"
"$k" classify --model "$dir/CL" --data "$dir/latin1" --label-regex '^([a-z]+)' --json >"$dir/cll" 2>"$dir/ecll" &&
  [ "$(jget "$dir/cll" n)" = 2 ] && [ -n "$(jget "$dir/cll" accuracy)" ] &&
  ok "a Latin-1 file name matches --label-regex" || { bad "non-UTF-8 name and label regex"; cat "$dir/cll" "$dir/ecll"; }
# a failed write (a file-size limit, as a full disk) leaves the earlier encode as it was, no partial file
cp "$dir/enc2/all.u8" "$dir/enc2.all0" && ls "$dir/enc2/files" > "$dir/enc2.ls0"
(ulimit -f 4; "$k" encode "${lmsplit[@]}" --model "$dir/LM" --out "$dir/enc2" >/dev/null 2>"$dir/eenc2")
rc=$?
[ $rc -eq 1 ] && grep -q "write failed" "$dir/eenc2" && cmp -s "$dir/enc2/all.u8" "$dir/enc2.all0" &&
  cmp -s <(ls "$dir/enc2/files") "$dir/enc2.ls0" && [ "$(ls -A "$dir/enc2")" = "$(printf 'all.u8\nfiles')" ] &&
  ok "encode that fails a write: exit 1, the earlier encode kept whole, nothing partial left" ||
  { bad "encode after a failed write (exit $rc)"; cat "$dir/eenc2"; ls -A "$dir/enc2"; }
bad_input "encode with no file selected" "the test split is empty" -- \
  "$k" encode --data "$d" --split test --test-regex 'nomatch' --model "$dir/LM" --out "$dir/enc3"
"$k" encode --data "$dir/allbad" --model "$dir/LM" --out "$dir/enc4" >/dev/null 2>"$dir/eenc4"
[ $? -eq 2 ] && [ ! -e "$dir/enc4/all.u8" ] && ok "encode of a folder of only bad files: exit 2, no empty all.u8" ||
  { bad "encode of bad files"; cat "$dir/eenc4"; }
# manifests: a "file<TAB>label" header is a header; a label with a space at an end is refused
printf 'file\tlabel\n%s\thi\n%s\tlo\n' "$d/b/c/hi_0.wav" "$d/a/lo_1.flac" > "$dir/mf.tsv"
"$k" classify --model "$dir/CL" --data "$dir/mf.tsv" --json >"$dir/c6" 2>"$dir/ec6" && [ "$(jget "$dir/c6" n)" = 2 ] &&
  ! grep -q "skipped" "$dir/ec6" && ok "a manifest with a file<TAB>label header" || { bad "file header"; cat "$dir/ec6"; }
printf '%s\thi \n' "$d/b/c/hi_0.wav" > "$dir/sp.tsv"
bad_input "a manifest label ending in a space" "$dir/sp.tsv:1: the label 'hi ' ends with white space" -- \
  "$k" classify --model "$dir/CL" --data "$dir/sp.tsv"
printf '%s\thi\n%s\tlo\n' "$d/b/c/hi_0.wav" "$d/b/c/hi_0.wav" > "$dir/twolab.tsv"
bad_input "a manifest listing one file with two labels" "$dir/twolab.tsv: $d/b/c/hi_0.wav is listed with two labels, 'hi' and 'lo'" -- \
  "$k" classify --model "$dir/CL" --data "$dir/twolab.tsv"
printf '%s\thi\n%s\tlo\n' "$d/b/c/hi_0.wav" "$d/b/c/../c/hi_0.wav" > "$dir/twoname.tsv"
bad_input "... one file under two names" "$dir/twoname.tsv: $d/b/c/hi_0.wav is listed with two labels, 'hi' and 'lo' (also named $d/b/c/../c/hi_0.wav)" -- \
  "$k" classify --model "$dir/CL" --data "$dir/twoname.tsv"
# a folder that links back to itself, or to a file it holds: each clip read once, with a warning
mkdir -p "$dir/selfd" && cp "$d/b/c/hi_0.wav" "$d/a/lo_1.flac" "$dir/selfd/" && ln -s . "$dir/selfd/self" &&
  ln -s hi_0.wav "$dir/selfd/zz.wav"
"$k" encode --data "$dir/selfd" --out "$dir/eself" 2>"$dir/eself.err" &&
  [ "$(ls "$dir/eself/files" | wc -l)" = 2 ] &&
  grep -q "selfd/self: a link to .*selfd, a folder already read; not read twice" "$dir/eself.err" &&
  grep -q "selfd/zz.wav: a link to .*selfd/hi_0.wav, a file already read" "$dir/eself.err" &&
  ok "a folder linking to itself and to its own file: 2 clips, each read once, with warnings" ||
  { bad "self-linked folder"; cat "$dir/eself.err"; ls "$dir/eself/files"; }
# a file linked from another class's folder, and a link to a whole class folder sorted first: the
# real paths are kept (so --label-from-dir labels by them), whatever the folders' order
mkdir -p "$dir/lk/hi" "$dir/lk/lo" && cp "$d/b/c/hi_0.wav" "$dir/lk/hi/h1.wav" && cp "$d/a/lo_1.flac" "$dir/lk/lo/l1.flac" &&
  ln -s ../hi/h1.wav "$dir/lk/lo/a9.wav" && ln -s hi "$dir/lk/aa"
"$k" encode --data "$dir/lk/" --out "$dir/elk" 2>"$dir/elk.err" &&
  [ "$(ls "$dir/elk/files" | tr '\n' ' ')" = "00000_h1.wav.u8 00001_l1.flac.u8 " ] &&
  grep -q "lk/lo/a9.wav: a link to .*lk/hi/h1.wav, a file already read" "$dir/elk.err" &&
  grep -q "lk/aa: a link to .*lk/hi, a folder already read" "$dir/elk.err" && [ "$(grep -c warning "$dir/elk.err")" = 2 ] &&
  ok "files reached through links: kept once under their own paths, a warning a link" || { bad "linked files"; cat "$dir/elk.err"; ls "$dir/elk/files"; }
# links that share folders (each of 13 folders linked twice from the one before) are read once:
# linear, not 2^12 paths
mkdir -p "$dir/chain"
for i in $(seq 0 12); do mkdir -p "$dir/chain/d$i" && cp "$d/b/c/hi_0.wav" "$dir/chain/d$i/f$i.wav"; done
for i in $(seq 0 11); do ln -s ../d$((i + 1)) "$dir/chain/d$i/x" && ln -s ../d$((i + 1)) "$dir/chain/d$i/y"; done
timeout 60 "$k" encode --data "$dir/chain" --out "$dir/echain" 2>"$dir/echain.err" && [ "$(ls "$dir/echain/files" | wc -l)" = 13 ] &&
  [ "$(grep -c "already read" "$dir/echain.err")" = 24 ] &&
  ok "a chain of folders linked twice each: 13 files, one warning a link" || { bad "linked chain"; tail -3 "$dir/echain.err"; }
bad_input "a device as a manifest" "/dev/zero: not a regular file" -- "$k" eval --model "$dir/LM" --data /dev/zero
# --label-from-dir: files directly in the folder have no label, however the folder is spelled
# (they were labelled "flat", "" or "." by its spelling)
mkdir -p "$dir/flat" && cp "$d/a/lo_2.ogg" "$d/a/lo_3.aiff" "$dir/flat/"
for spell in "$dir/flat" "$dir/flat/"; do
  "$k" classify --model "$dir/CL" --data "$spell" --label-from-dir --output "$dir/fd.tsv" >/dev/null 2>"$dir/efd" &&
    [ "$(awk -F'\t' 'NR > 1 && $2 != "" { n++ } END { print n + 0 }' "$dir/fd.tsv")" = 0 ] &&
    ok "--label-from-dir on files directly in $spell: unlabelled, classified" || { bad "label-from-dir top level ($spell)"; cat "$dir/efd" "$dir/fd.tsv"; }
done
# a broken link that looks like audio is said, not counted with the names that are not audio
mkdir -p "$dir/gh" && cp "$d/a/lo_2.ogg" "$dir/gh/" && ln -s "$dir/nowhere.wav" "$dir/gh/ghost.wav" && echo x > "$dir/gh/notes.txt"
"$k" classify --model "$dir/CL" --data "$dir/gh" >/dev/null 2>"$dir/egh" &&
  grep -q "ghost.wav: cannot read" "$dir/egh" && grep -q "gh: 1 file without an audio extension ignored" "$dir/egh" &&
  ok "a broken link named in a warning, not counted as a file without an audio extension" ||
  { bad "broken link silent or counted twice"; cat "$dir/egh"; }
# resuming a classifier with other labels for the same clips is refused
sed 's/\thi$/\tup/; s/\tlo$/\tdown/' "$dir/m.tsv" > "$dir/m2.tsv"
"$k" classify-train --config "$dir/cls.json" --data "$dir/m.tsv" --test-fraction 0 --out "$dir/CM" --steps 4 --stop-at 2 --device cpu >/dev/null 2>&1
"$k" classify-train --config "$dir/cls.json" --data "$dir/m2.tsv" --test-fraction 0 --steps 4 --resume "$dir/CM" --device cpu >/dev/null 2>"$dir/ecm"
[ $? -eq 2 ] && grep -q "the checkpoint was trained on other classes" "$dir/ecm" && [ "$(grep -c error "$dir/ecm")" = 1 ] &&
  ! grep -q '"up"' "$dir/CM/audio.json" 2>/dev/null && ok "classify-train --resume with other labels: refused, the run's classes unchanged" ||
  { bad "resume with other labels"; cat "$dir/ecm"; }
# ... and with the same clips and classes, the labels swapped (only the fingerprint tells), or the
# waveform model with a clip reversed in time (as many samples)
printf 'path\tlabel\n%s\tlo\n%s\thi\n' "$d/b/c/hi_0.wav" "$d/a/lo_1.flac" > "$dir/msw.tsv"
"$k" classify-train --config "$dir/cls.json" --data "$dir/msw.tsv" --test-fraction 0 --steps 4 --resume "$dir/CM" --device cpu >/dev/null 2>"$dir/esw"
[ $? -eq 2 ] && grep -qF -- "--resume $dir/CM: the checkpoint was trained on other data" "$dir/esw" && [ "$(grep -c error "$dir/esw")" = 1 ] &&
  ok "classify-train --resume with the labels swapped: refused" || { bad "resume with swapped labels"; cat "$dir/esw"; }
sox "$d/b/c/hi_0.wav" "$dir/hi_0r.wav" reverse
sed "s|$d/b/c/hi_0.wav|$dir/hi_0r.wav|" "$dir/m.tsv" > "$dir/mrev.tsv"
"$k" train --config "$dir/lm.json" --data "$dir/m.tsv" --test-fraction 0 --out "$dir/RM" --steps 4 --stop-at 2 --device cpu >/dev/null 2>&1
"$k" train --config "$dir/lm.json" --data "$dir/mrev.tsv" --test-fraction 0 --steps 4 --resume "$dir/RM" --device cpu >/dev/null 2>"$dir/erm"
[ $? -eq 2 ] && grep -qF -- "--resume $dir/RM: the checkpoint was trained on other data" "$dir/erm" && [ "$(grep -c error "$dir/erm")" = 1 ] &&
  ok "train --resume with a clip reversed in time (as many samples): refused" || { bad "resume with a reversed clip"; cat "$dir/erm"; }
"$k" train --config "$dir/lm.json" --data "$dir/m.tsv" --test-fraction 0 --steps 4 --resume "$dir/RM" --device cpu >/dev/null 2>"$dir/erm2" &&
  ok "train --resume with the same data: continues" || { bad "resume with the same data"; cat "$dir/erm2"; }
# ... and with labels that give another number of classes, said as such (not as a config mismatch)
{ cat "$dir/m.tsv"; printf '%s\tmid\n' "$d/a/lo_0.wav"; } > "$dir/m3.tsv"
"$k" classify-train --config "$dir/cls.json" --data "$dir/m3.tsv" --test-fraction 0 --steps 4 --resume "$dir/CM" --device cpu >/dev/null 2>"$dir/ecm3"
[ $? -eq 2 ] && grep -q -- "--resume $dir/CM: the run was trained on 2 classes, but the labels of $dir/m3.tsv give 3" "$dir/ecm3" &&
  [ "$(grep -vc 'device cpu' "$dir/ecm3")" = 1 ] && ok "classify-train --resume with a third class: one line saying so" ||
  { bad "resume with a third class"; cat "$dir/ecm3"; }
# training clips of one sample: nothing to learn
mkdir -p "$dir/one" && for i in 1 2; do
  python3 -c "import wave, sys; w = wave.open(sys.argv[1], 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(b'\x00\x10'); w.close()" "$dir/one/c_$i.wav"
done
"$k" train --config "$dir/lm.json" --data "$dir/one" --test-fraction 0 --out "$dir/x1" --steps 1 >/dev/null 2>"$dir/eone"
[ $? -eq 2 ] && grep -q "every train file has fewer than 2 samples" "$dir/eone" && [ "$(grep -c error "$dir/eone")" = 1 ] &&
  ok "train on clips of one sample: exit 2, nothing to learn" || { bad "train on one-sample clips"; cat "$dir/eone"; }
# ... and one clip of two samples among them: every step learns from it (never a step of padding alone)
python3 -c "import wave, sys; w = wave.open(sys.argv[1], 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(b'\x00\x10\x00\x20'); w.close()" "$dir/one/c_3.wav"
"$k" train --config "$dir/lm.json" --data "$dir/one" --test-fraction 0 --out "$dir/x1b" --steps 12 --batch 1 --eval-every 0 >/dev/null 2>"$dir/eone2" &&
  [ "$(grep -c '"loss": 0,' "$dir/x1b/metrics.jsonl")" = 0 ] && [ "$(grep -c '"loss"' "$dir/x1b/metrics.jsonl")" = 12 ] &&
  ok "train on 1-sample clips and one of 2: 12 steps, none with nothing to predict (loss 0)" || { bad "padding-only steps"; cat "$dir/eone2"; grep '"loss": 0,' "$dir/x1b/metrics.jsonl" | head -3; }
"$k" eval --model "$dir/LM" --data "$dir/one/c_1.wav" >"$dir/evone" 2>/dev/null && grep -q "no sample after a file's first to predict" "$dir/evone" &&
  ! grep -qi nan "$dir/evone" && ok "eval of a one-sample clip: nothing predicted, said (no 'nan')" || { bad "eval one sample"; cat "$dir/evone"; }
bad_input "mel bands above the Nyquist frequency, before any audio is read" "do not fit 8000 Hz audio" -- \
  "$k" classify-train --config "$dir/cls.json" "${split[@]}" --set audio.mel.fmin=5000 --out "$dir/x2" --steps 1
python3 -c "import wave, sys; w = wave.open(sys.argv[1], 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(1); w.writeframes(b'\x00\x10' * 4); w.close()" "$dir/onehz.wav"
bad_input "a 1 Hz WAV (beyond the resampler's 256 times)" "$dir/onehz.wav" "a sample rate of 1 Hz cannot be resampled to 8000 Hz" -- \
  "$k" eval --model "$dir/LM" --data "$dir/onehz.wav"

# encode holds one file at a time: six 5-minute files peak where one does (it decoded the whole
# set first: about 4 bytes per sample of all the files)
mkdir -p "$dir/long"
for i in 1 2 3 4 5 6; do sox -n -r 16000 -c 1 -b 16 "$dir/long/t$i.wav" synth 300 sine $((300 + 50 * i)) 2>/dev/null; done
peak() { # max RSS in kB of the command
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}
p_set=$(peak "$k" encode --data "$dir/long" --out "$dir/encset")
p_one=$(peak "$k" encode --data "$dir/long/t1.wav" --out "$dir/encone")
if ldd "$k" 2>/dev/null | grep -q libasan; then # its quarantine keeps freed memory: peaks say nothing
  [ "$(stat -c %s "$dir/encset/all.u8")" = 14400000 ] && ok "encode of six 5-minute files: 14,400,000 samples (memory not measured under AddressSanitizer)" ||
    bad "encode of six files: all.u8 not 14,400,000 bytes"
elif [ -n "$p_set" ] && [ -n "$p_one" ] && [ $(( p_set * 4 )) -lt $(( p_one * 5 )) ] &&
   [ "$(stat -c %s "$dir/encset/all.u8")" = 14400000 ]; then
  ok "encode of six 5-minute files: peak $p_set kB, of one $p_one kB; 14,400,000 samples"
else bad "encode memory: six files peak '$p_set' kB, one '$p_one' kB (more than 1.25 times), or all.u8 not 14,400,000 bytes"; fi
# ... and an encode that fails (no file readable) leaves no OUT it made
mkdir -p "$dir/allbad" && head -c 1000 "$dir/long/t1.wav" >"$dir/allbad/a.wav" && cp "$dir/allbad/a.wav" "$dir/allbad/b.wav"
"$k" encode --data "$dir/allbad" --out "$dir/encbad/new" >/dev/null 2>"$dir/eencbad"
rc=$?
[ $rc = 2 ] && [ ! -e "$dir/encbad/new" ] && grep -q "no readable audio files" "$dir/eencbad" &&
  ok "encode of unreadable files only: exit 2, the OUT it made removed" || { bad "encode all unreadable: exit $rc, OUT left: $(ls -A "$dir/encbad" 2>&1)"; cat "$dir/eencbad"; }
exit $fail
