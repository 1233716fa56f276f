#!/usr/bin/env bash
# tests/apps/faults_text.sh KRAIT_TEXT SAMPLE_TXT — krait-text training under faults, on a tiny
# byte-level model (cpu-ref: the same losses on every machine). Each case is compared with one
# uninterrupted run A (train and validation losses, every step):
#  - kill -9 mid-training, then --resume: the run continues from the last checkpoint to A's end;
#  - kill -9 during checkpoint writes (a checkpoint every step; kills until one leaves a
#    half-written step-N.tmp-* folder), then --resume: A's losses, no temporary folder left;
#  - disk full while writing a checkpoint (ulimit -f below the model's size): exit 1 naming the
#    file, the previous checkpoint stays the latest and resumes to A's losses;
#  - SIGTERM: exit 130 with a checkpoint, --resume gives A's losses;
#  - a NaN loss (KRAIT_FAULT_NONFINITE_STEP, or lr 1e30): "stop" exits 1 with one line naming
#    the step and keeps the last checkpoint; "skip" skips and counts the batch;
#  - a validation that fails (KRAIT_FAULT_VALIDATE_STEP: as a test file made unreadable mid-run):
#    the error, a checkpoint of that step, and --resume validates that step first: A's losses.
#  - two trainers on one new --out (KRAIT_FAULT_LOCK_DELAY_MS, _LOCKED_): the loser leaves the winner's folder;
#    SIGTERM before a run starts removes the folders the trainer made.
# (SIGINT and --stop-at are in text_app.sh; synthetic's SIGINT resume in bench_resume.sh.)
set -u
k="$1"
sample="$2"
dir=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
losses() { grep -o '^{"step": [0-9]*, "[a-z_]*": [^,]*' "$1/metrics.jsonl"; }
same_as_A() { # name, run folder
  if cmp -s <(losses "$dir/A") <(losses "$2"); then ok "$1: train and validation losses identical to the straight run"
  else bad "$1: losses differ"; diff <(losses "$dir/A") <(losses "$2") | head -5; fi
}
wait_step() { # run folder, step: wait (up to 30 s) until metrics.jsonl holds that step
  for _ in $(seq 300); do grep -q "\"step\": $2," "$1/metrics.jsonl" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

"$k" prepare --input "$sample" --output "$dir/d" --split-tail 0.2 >/dev/null 2>&1 || { echo "FAIL prepare"; exit 1; }
cat > "$dir/tiny.json" <<'JSON'
{ "hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 257, "state_size": 4,
  "krait": { "tokenizer": "bytes" },
  "train": { "batch": 2, "seq_len": 32, "lr": 3e-3, "warmup": 5, "steps": 40 } }
JSON
targs=(train --config "$dir/tiny.json" --data "$dir/d" --eval-every 10 --val-tokens 256 --device cpu-ref --seed 3)
"$k" "${targs[@]}" --out "$dir/A" >/dev/null 2>"$dir/eA" || { bad "straight run"; cat "$dir/eA"; }
[ "$(losses "$dir/A" | wc -l)" -eq 44 ] && ok "straight run: 40 steps + 4 validations" || bad "straight run metrics"

KRAIT_FAULT_VALIDATE_STEP=20 "$k" "${targs[@]}" --out "$dir/V" >/dev/null 2>"$dir/eV"
rc=$?
[ $rc -eq 2 ] && grep -q "step 20: validation failed" "$dir/eV" && [ "$(cat "$dir/V/checkpoints/latest")" = step-20 ] &&
  grep -q "checkpoint in $dir/V: --resume $dir/V continues once that is fixed" "$dir/eV" &&
  ok "a validation that fails at step 20: exit 2, the training kept in a checkpoint of step 20" ||
  { bad "failed validation (exit $rc)"; cat "$dir/eV"; ls "$dir/V/checkpoints" 2>&1; }
"$k" "${targs[@]}" --resume "$dir/V" >/dev/null 2>"$dir/eV2" || { bad "resume after a failed validation"; cat "$dir/eV2"; }
same_as_A "failed validation + resume" "$dir/V"

# ---- kill -9 mid-training --------------------------------------------------------------------
"$k" "${targs[@]}" --out "$dir/B" --ckpt-every 5 >/dev/null 2>"$dir/eB" &
pid=$!
wait_step "$dir/B" 13
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
at=$(cat "$dir/B/checkpoints/latest" 2>/dev/null)
[ -n "$at" ] && ok "kill -9 at step >= 13: latest checkpoint $at" || bad "kill -9: no checkpoint"
"$k" "${targs[@]}" --resume "$dir/B" >/dev/null 2>"$dir/eB2" || { bad "resume after kill -9"; cat "$dir/eB2"; }
same_as_A "kill -9 + resume" "$dir/B"

# ---- kill -9 during checkpoint writes --------------------------------------------------------
# A checkpoint every step; once one is complete, watch for a new step-N.tmp-* folder (it exists
# only while a checkpoint is being written) and kill -9 at once; repeat (resuming) until two
# kills left one behind.
declare -A seen=()
kills=0 torn=0
for attempt in $(seq 20); do
  if [ -f "$dir/C/checkpoints/latest" ]; then "$k" "${targs[@]}" --resume "$dir/C" --ckpt-every 1 >/dev/null 2>"$dir/eC" &
  else "$k" "${targs[@]}" --out "$dir/C" --ckpt-every 1 >/dev/null 2>"$dir/eC" & fi
  pid=$!
  hit=""
  while [ -z "$hit" ] && kill -0 $pid 2>/dev/null; do
    [ -f "$dir/C/checkpoints/latest" ] || continue   # a complete checkpoint first
    for f in $(compgen -G "$dir/C/checkpoints/step-*.tmp-*"); do [ -z "${seen[$f]:-}" ] && hit=$f; done
  done
  kill -9 $pid 2>/dev/null && kills=$((kills + 1))
  wait $pid 2>/dev/null
  [ -n "$hit" ] && [ -d "$hit" ] && torn=$((torn + 1))
  for f in $(compgen -G "$dir/C/checkpoints/step-*.tmp-*"); do seen[$f]=1; done
  [ "$torn" -ge 2 ] && break
  [ "$(cat "$dir/C/checkpoints/latest" 2>/dev/null)" = step-40 ] && break
done
[ "$torn" -ge 2 ] && ok "kill -9 during checkpoint writes: $kills kills, $torn left a half-written step-N.tmp folder" ||
  bad "kill -9 during checkpoint writes: $torn of $kills kills landed inside a checkpoint write"
"$k" "${targs[@]}" --resume "$dir/C" >/dev/null 2>"$dir/eC2" || { bad "resume after torn checkpoints"; cat "$dir/eC2"; }
same_as_A "kill -9 in checkpoint writes + resume" "$dir/C"
ls -d "$dir"/C/checkpoints/*.tmp-* >/dev/null 2>&1 && bad "temporary checkpoint folders left" ||
  ok "no temporary checkpoint folder left after the resumed run"

# ---- disk full while writing a checkpoint -----------------------------------------------------
"$k" "${targs[@]}" --out "$dir/D" --stop-at 10 >/dev/null 2>"$dir/eD" || { bad "run to step 10"; cat "$dir/eD"; }
size_kb=$(( $(stat -c %s "$dir/D/model.safetensors") / 1024 / 2 ))
( ulimit -f "$size_kb"; exec "$k" "${targs[@]}" --resume "$dir/D" --ckpt-every 5 ) >/dev/null 2>"$dir/eD2"
rc=$?
if [ $rc -eq 1 ] && grep -q "File too large\|No space left" "$dir/eD2" && grep -q "$dir/D/checkpoints/step-15" "$dir/eD2"; then
  ok "disk full (ulimit -f ${size_kb}K): exit 1, $(grep -m1 'error' "$dir/eD2")"
else bad "disk full: exit $rc"; cat "$dir/eD2"; fi
[ "$(cat "$dir/D/checkpoints/latest")" = step-10 ] && ! ls -d "$dir"/D/checkpoints/*.tmp-* >/dev/null 2>&1 &&
  ok "disk full: step-10 is still the latest checkpoint, no temporary folder left" || bad "disk full: checkpoints"
"$k" "${targs[@]}" --resume "$dir/D" >/dev/null 2>"$dir/eD3" || { bad "resume after disk full"; cat "$dir/eD3"; }
same_as_A "disk full + resume" "$dir/D"

# ---- SIGTERM ------------------------------------------------------------------------------------
# 400 steps, so that the signal lands mid-run; compared with its own straight run R
"$k" "${targs[@]}" --out "$dir/R" --steps 400 --eval-every 100 >/dev/null 2>"$dir/eR" || { bad "straight 400-step run"; cat "$dir/eR"; }
"$k" "${targs[@]}" --out "$dir/E" --steps 400 --eval-every 100 >/dev/null 2>"$dir/eE" &
pid=$!
wait_step "$dir/E" 3
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 130 ] && grep -q "interrupted at step" "$dir/eE" && [ -f "$dir/E/checkpoints/latest" ] &&
  ok "SIGTERM: exit 130 with a checkpoint at $(cat "$dir/E/checkpoints/latest")" || { bad "SIGTERM (exit $rc)"; cat "$dir/eE"; }
"$k" "${targs[@]}" --resume "$dir/E" --steps 400 --eval-every 100 >/dev/null 2>"$dir/eE2" || { bad "resume after SIGTERM"; cat "$dir/eE2"; }
if cmp -s <(losses "$dir/R") <(losses "$dir/E"); then ok "SIGTERM + resume: losses identical to the straight run (400 steps)"
else bad "SIGTERM + resume losses differ"; diff <(losses "$dir/R") <(losses "$dir/E") | head -5; fi

# ---- a NaN loss -----------------------------------------------------------------------------------
KRAIT_FAULT_NONFINITE_STEP=17 "$k" "${targs[@]}" --out "$dir/F" --ckpt-every 5 >/dev/null 2>"$dir/eF"
rc=$?
n=$(grep -c 'error' "$dir/eF")
[ $rc -eq 1 ] && [ "$n" -eq 1 ] && grep -q "step 17: the loss is nan: training stopped" "$dir/eF" &&
  [ "$(cat "$dir/F/checkpoints/latest")" = step-15 ] &&
  ok "NaN at step 17, on_nonfinite stop: exit 1, one line, checkpoint step-15 kept" || { bad "NaN stop (exit $rc)"; cat "$dir/eF"; }
"$k" "${targs[@]}" --resume "$dir/F" >/dev/null 2>"$dir/eF2" || { bad "resume after NaN stop"; cat "$dir/eF2"; }
same_as_A "NaN stop + resume" "$dir/F"
KRAIT_FAULT_NONFINITE_STEP=17 "$k" "${targs[@]}" --out "$dir/G" --set train.on_nonfinite=skip --json >"$dir/oG" 2>"$dir/eG"
rc=$?
[ $rc -eq 0 ] && grep -q "step 17: the loss is nan: batch skipped (1 skipped so far)" "$dir/eG" &&
  tail -1 "$dir/oG" | grep -q '"steps":40,"skipped_batches":1' && [ "$(grep -c '"loss"' "$dir/G/metrics.jsonl")" -eq 40 ] &&
  ok "NaN at step 17, on_nonfinite skip: 40 steps, 1 batch skipped and counted" || { bad "NaN skip (exit $rc)"; cat "$dir/eG"; tail -1 "$dir/oG"; }
# the skip count is the run's: a stop after the skipped batch and a resume still count it
KRAIT_FAULT_NONFINITE_STEP=17 "$k" "${targs[@]}" --out "$dir/G2" --set train.on_nonfinite=skip --ckpt-every 5 \
  --stop-at 25 >/dev/null 2>&1
"$k" "${targs[@]}" --out "$dir/G2" --set train.on_nonfinite=skip --ckpt-every 5 --resume "$dir/G2" --json >"$dir/oG2" 2>"$dir/eG2"
tail -1 "$dir/oG2" | grep -q '"steps":40,"skipped_batches":1' && cmp -s "$dir/G/model.safetensors" "$dir/G2/model.safetensors" &&
  ok "a skipped batch before a stop is still counted after --resume (same model as straight)" ||
  { bad "skip count after resume"; tail -1 "$dir/oG2"; cat "$dir/eG2"; }
"$k" "${targs[@]}" --out "$dir/H" --lr 1e30 >/dev/null 2>"$dir/eH"
rc=$?
[ $rc -eq 1 ] && grep -q "step [0-9]*: the loss is .*nan: training stopped" "$dir/eH" &&
  ok "lr 1e30: $(grep error "$dir/eH")" || { bad "lr 1e30 (exit $rc)"; cat "$dir/eH"; }

# ---- two trainers start on one new --out: the one that loses the lock leaves the winner's folder
# alone (it used to remove it, having made it, while the winner trained on into deleted files)
KRAIT_FAULT_LOCK_DELAY_MS=1000 "$k" "${targs[@]}" --out "$dir/L" >/dev/null 2>"$dir/eLb" &
b=$!
sleep 0.3
KRAIT_FAULT_LOCKED_DELAY_MS=2000 "$k" "${targs[@]}" --out "$dir/L" --steps 100 >/dev/null 2>"$dir/eLa"
rca=$?
wait $b
rcb=$?
[ $rca -eq 0 ] && [ $rcb -eq 2 ] && grep -q "another krait process is writing this run folder now" "$dir/eLb" &&
  [ -f "$dir/L/.lock" ] && [ "$(grep -c '"loss"' "$dir/L/metrics.jsonl" 2>/dev/null)" = 100 ] &&
  ok "the trainer that loses the lock exits 2 and leaves the winner's run folder whole" ||
  { bad "lock race (exits $rca, $rcb)"; cat "$dir/eLb"; ls -A "$dir/L"; }

# a trainer stopped after making its --out (and the folder above it) but before its run starts
# (KRAIT_FAULT_LOCKED_DELAY_MS holds it there): both folders go (they were left holding .lock)
KRAIT_FAULT_LOCKED_DELAY_MS=20000 "$k" "${targs[@]}" --out "$dir/new/P" >/dev/null 2>"$dir/eP" &
p=$!
for _ in $(seq 200); do [ -e "$dir/new/P/.lock" ] && break; sleep 0.05; done
kill -TERM $p
wait $p
rcp=$?
[ $rcp -eq 143 ] && [ ! -e "$dir/new" ] && ok "SIGTERM before the run starts: exit 143, the folders it made are gone" ||
  { bad "SIGTERM before the run starts (exit $rcp)"; ls -AR "$dir/new" 2>&1 | head; }

# ---- train.bin cut to nothing under a running trainer (it is read through a memory map): one
# line naming it, exit 2 (it was "Bus error", exit 135)
cp -r "$dir/d" "$dir/dcut"
"$k" train --config "$dir/tiny.json" --data "$dir/dcut" --eval-every 0 --device cpu-ref --out "$dir/M" --steps 100000 \
  >/dev/null 2>"$dir/eM" &
m=$!
if wait_step "$dir/M" 3; then : > "$dir/dcut/train.bin"; else kill $m; fi
wait $m
rcm=$?
[ $rcm -eq 2 ] && [ "$(grep -c "error" "$dir/eM")" = 1 ] && grep -q "dcut/train.bin.*cut short or rewritten while it ran" "$dir/eM" &&
  ok "train.bin emptied mid-run: exit 2, $(grep -o 'a file this command.*ran' "$dir/eM")" ||
  { bad "train.bin emptied mid-run (exit $rcm)"; cat "$dir/eM"; }
exit $fail
