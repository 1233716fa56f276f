#!/usr/bin/env bash
# tests/apps/faults_dna.sh KRAIT_DNA DATA_DIR — krait-dna classifier training under faults (the
# classification path of the trainer; faults_text.sh has the full set for the LM path): kill -9
# mid-training, SIGTERM (exit 130 with a checkpoint) and a NaN loss with on_nonfinite "stop" (exit
# 1, one line naming the step, the last checkpoint kept) each resume to the uninterrupted run's
# losses; "skip" skips and counts the batch; an ensemble resumed to a --stop-at one member reached.
set -u
k="$1"
data="$2"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
losses() { grep -o '^{"step": [0-9]*, "[a-z_]*": [^,]*' "$1/metrics.jsonl"; }
same_as() { # name, reference run, run
  if cmp -s <(losses "$2") <(losses "$3"); then ok "$1: losses identical to the straight run"
  else bad "$1: losses differ"; diff <(losses "$2") <(losses "$3") | head -5; fi
}
wait_step() { for _ in $(seq 300); do grep -q "\"step\": $2," "$1/metrics.jsonl" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

cat > "$dir/tiny.json" <<'JSON'
{ "hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 8, "state_size": 4,
  "krait": { "modality": "dna", "head": "classify", "n_classes": 2, "pooling": "mean", "bidirectional": true, "tokenizer": "dna" },
  "train": { "batch": 4, "seq_len": 64, "lr": 3e-3, "warmup": 2, "steps": 30 } }
JSON
targs=(train --config "$dir/tiny.json" --train "$data/promoters_tiny.tsv" --max-len 64 --eval-every 0 --device cpu-ref --seed 4)
"$k" "${targs[@]}" --out "$dir/A" >/dev/null 2>"$dir/eA" || { bad "straight run"; cat "$dir/eA"; }
[ "$(grep -c '"loss"' "$dir/A/metrics.jsonl")" -eq 30 ] && ok "straight run: 30 steps" || bad "straight run metrics"

"$k" "${targs[@]}" --out "$dir/B" --ckpt-every 5 >/dev/null 2>"$dir/eB" &
pid=$!
wait_step "$dir/B" 12
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -f "$dir/B/checkpoints/latest" ] && ok "kill -9 at step >= 12: latest $(cat "$dir/B/checkpoints/latest")" || bad "kill -9: no checkpoint"
"$k" "${targs[@]}" --resume "$dir/B" >/dev/null 2>"$dir/eB2" || { bad "resume after kill -9"; cat "$dir/eB2"; }
same_as "kill -9 + resume" "$dir/A" "$dir/B"

"$k" "${targs[@]}" --out "$dir/R" --steps 300 >/dev/null 2>"$dir/eR" || { bad "straight 300-step run"; cat "$dir/eR"; }
"$k" "${targs[@]}" --out "$dir/E" --steps 300 >/dev/null 2>"$dir/eE" &
pid=$!
wait_step "$dir/E" 3
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 130 ] && [ -f "$dir/E/checkpoints/latest" ] && ok "SIGTERM: exit 130, checkpoint $(cat "$dir/E/checkpoints/latest")" ||
  { bad "SIGTERM (exit $rc)"; cat "$dir/eE"; }
"$k" "${targs[@]}" --resume "$dir/E" --steps 300 >/dev/null 2>"$dir/eE2" || { bad "resume after SIGTERM"; cat "$dir/eE2"; }
same_as "SIGTERM + resume (300 steps)" "$dir/R" "$dir/E"

KRAIT_FAULT_NONFINITE_STEP=17 "$k" "${targs[@]}" --out "$dir/F" --ckpt-every 5 >/dev/null 2>"$dir/eF"
rc=$?
[ $rc -eq 1 ] && [ "$(grep -c error "$dir/eF")" -eq 1 ] && grep -q "step 17: the loss is nan: training stopped" "$dir/eF" &&
  [ "$(cat "$dir/F/checkpoints/latest")" = step-15 ] && ok "NaN at step 17, stop: exit 1, one line, step-15 kept" ||
  { bad "NaN stop (exit $rc)"; cat "$dir/eF"; }
"$k" "${targs[@]}" --resume "$dir/F" >/dev/null 2>"$dir/eF2" || { bad "resume after NaN stop"; cat "$dir/eF2"; }
same_as "NaN stop + resume" "$dir/A" "$dir/F"
KRAIT_FAULT_NONFINITE_STEP=17 "$k" "${targs[@]}" --out "$dir/G" --set train.on_nonfinite=skip >/dev/null 2>"$dir/eG"
rc=$?
[ $rc -eq 0 ] && grep -q "step 17: the loss is nan: batch skipped (1 skipped so far)" "$dir/eG" &&
  [ "$(grep -c '"loss"' "$dir/G/metrics.jsonl")" -eq 30 ] && ok "NaN at step 17, skip: 30 steps, 1 batch skipped" ||
  { bad "NaN skip (exit $rc)"; cat "$dir/eG"; }

# an ensemble stopped with one member at --stop-at and the other behind it (a Ctrl-C while the
# second trained): the same --stop-at again brings the second there (it was refused, the first
# member's checkpoint being at that step already)
"$k" "${targs[@]}" --out "$dir/S" --ensemble 2 --stop-at 2 >/dev/null 2>"$dir/eS" &&
  "$k" "${targs[@]}" --resume "$dir/S/member-1" --out "$dir/S/member-1" --stop-at 4 >/dev/null 2>>"$dir/eS" &&
  "$k" "${targs[@]}" --resume "$dir/S" --ensemble 2 --stop-at 4 >/dev/null 2>>"$dir/eS" &&
  [ "$(cat "$dir/S/member-1/checkpoints/latest")" = step-4 ] && [ "$(cat "$dir/S/member-2/checkpoints/latest")" = step-4 ] &&
  ok "ensemble resumed to a --stop-at one member has reached: the other brought there" ||
  { bad "ensemble --stop-at resume"; cat "$dir/eS"; ls "$dir/S"/member-*/checkpoints; }
exit $fail
