#!/usr/bin/env bash
# tests/apps/bench_resume.sh KRAIT_BENCH — `krait-bench synthetic` checkpoints end to end: a run
# stopped with --stop-at and resumed, and a run interrupted by SIGINT at a random moment (exit
# 130 with a checkpoint) and resumed, both repeat the per-step losses of an uninterrupted run
# exactly (metrics.jsonl, loss printed with %.17g); the run folder holds the latest model at its
# top level and keeps --keep checkpoints. Ctrl-C during the evaluation after training ends it (exit 130).
set -u
bench="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
args=(synthetic --task induction --train-len 16 --eval-len 16 --steps 300 --minutes 0 --batch 2
      --d-model 16 --check-every 1000 --eval-seqs 1 --device cpu-ref --seed 5)
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
losses() { cut -d, -f1,2 "$1/metrics.jsonl"; }

"$bench" "${args[@]}" --out "$dir/A" >/dev/null 2>"$dir/errA" || { bad "straight run"; cat "$dir/errA"; }
[ "$(losses "$dir/A" | wc -l)" -eq 300 ] && ok "straight run: 300 metric lines" || bad "straight run metrics"

"$bench" "${args[@]}" --out "$dir/B" --stop-at 137 --ckpt-every 50 --keep 2 >"$dir/outB" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "stopped at step 137" "$dir/outB" && [ "$(cat "$dir/B/checkpoints/latest")" = step-137 ] &&
  [ -d "$dir/B/checkpoints/step-100" ] && [ ! -d "$dir/B/checkpoints/step-50" ] &&
  ok "--stop-at 137: checkpoint step-137, keep 2 (step-100, step-137)" || { bad "--stop-at (exit $rc)"; cat "$dir/outB"; }
"$bench" "${args[@]}" --resume "$dir/B" >/dev/null 2>"$dir/errB2" || { bad "resume after --stop-at"; cat "$dir/errB2"; }
if cmp -s <(losses "$dir/A") <(losses "$dir/B"); then ok "stop + resume: losses identical at all 300 steps"
else bad "stop + resume losses differ"; diff <(losses "$dir/A") <(losses "$dir/B") | head -5; fi

"$bench" "${args[@]}" --out "$dir/C" >/dev/null 2>"$dir/errC" &
pid=$!
sleep "0.$((RANDOM % 4 + 1))"
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
if [ $rc -eq 130 ]; then
  grep -q "interrupted at step" "$dir/errC" && [ -f "$dir/C/checkpoints/latest" ] &&
    ok "SIGINT: exit 130 at $(cat "$dir/C/checkpoints/latest") with a checkpoint" || { bad "SIGINT checkpoint"; cat "$dir/errC"; }
  "$bench" "${args[@]}" --resume "$dir/C" >/dev/null 2>"$dir/errC2" || { bad "resume after SIGINT"; cat "$dir/errC2"; }
  if cmp -s <(losses "$dir/A") <(losses "$dir/C"); then ok "SIGINT + resume: losses identical at all 300 steps"
  else bad "SIGINT + resume losses differ"; diff <(losses "$dir/A") <(losses "$dir/C") | head -5; fi
elif [ $rc -eq 0 ]; then
  ok "SIGINT came after the run ended (nothing to check)"
else
  bad "SIGINT run exit $rc"; cat "$dir/errC"
fi
[ -f "$dir/A/model.safetensors" ] && [ -f "$dir/A/config.json" ] && ok "top-level model in the run folder" ||
  bad "top-level model missing"

"$bench" "${args[@]}" --resume "$dir/nothing" >/dev/null 2>"$dir/errD"
rc=$?
[ $rc -eq 2 ] && [ "$(grep -vc 'device\|warning' "$dir/errD")" -eq 1 ] && ok "resume from a missing folder: exit 2, one line" ||
  { bad "resume from a missing folder (exit $rc)"; cat "$dir/errD"; }
"$bench" "${args[@]}" --lr 0.01 --resume "$dir/B" >/dev/null 2>"$dir/errE"
rc=$?
[ $rc -eq 2 ] && grep -q "train.lr" "$dir/errE" && ok "resume with another --lr: exit 2 naming train.lr" ||
  { bad "resume with another --lr (exit $rc)"; cat "$dir/errE"; }
# resumed from an earlier checkpoint into a new folder: that folder's metrics are the whole run's
first=$(ls "$dir/B/checkpoints" | grep '^step-' | sort -t- -k2 -n | head -1)
"$bench" "${args[@]}" --resume "$dir/B/checkpoints/$first" --out "$dir/N" >/dev/null 2>"$dir/errN" &&
  cmp -s <(losses "$dir/A") <(losses "$dir/N") && ok "resume from $first into a new --out: its metrics.jsonl is the whole run's" ||
  { bad "resume into a new --out: history"; cat "$dir/errN"; wc -l "$dir/N/metrics.jsonl"; }
"$bench" "${args[@]}" --out "$dir/A/checkpoints/x" >/dev/null 2>"$dir/errI"
rc=$?
[ $rc -eq 2 ] && grep -q "error: " "$dir/errI" && [ ! -e "$dir/A/checkpoints/x" ] && ok "--out inside another run: exit 2" ||
  { bad "--out inside another run (exit $rc)"; cat "$dir/errI"; }

# Ctrl-C during the evaluation after training: exit 130 promptly (it used to run the evaluation out)
"$bench" "${args[@]}" --steps 2 --eval-len 4000000 --eval-seqs 4 --device cpu --threads 1 >/dev/null 2>"$dir/errE" &
p=$!
for _ in $(seq 300); do grep -q "eval eval-len" "$dir/errE" && break; sleep 0.1; done
kill -INT $p
for _ in $(seq 50); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
kill -0 $p 2>/dev/null && { bad "still evaluating 5 s after Ctrl-C"; kill -9 $p; }
wait $p
rc=$?
[ $rc -eq 130 ] && grep -q "interrupted at step 2, during the evaluation after training" "$dir/errE" &&
  ok "Ctrl-C during the final evaluation: exit 130, said" || { bad "Ctrl-C in the evaluation (exit $rc)"; tail -c 300 "$dir/errE"; }

# --sweep's accuracies are results: in stdout's lines and the JSON, not only in the progress on stderr
"$bench" synthetic --task induction --steps 3 --minutes 0 --warmup 1 --train-len 32 --eval-len 2048 --eval-seqs 2 \
  --sweep --device cpu --threads 1 --json >"$dir/sw" 2>/dev/null
[ "$(grep -c '^  sweep: eval_acc' "$dir/sw")" = 3 ] &&
  tail -1 "$dir/sw" | python3 -c 'import json, sys; s = json.load(sys.stdin)["sweep"]; assert [e["len"] for e in s] == [64, 256, 1024]' &&
  ok "--sweep: lengths 64, 256, 1024 in stdout and the JSON" || { bad "--sweep results"; cat "$dir/sw"; }
exit $fail
