#!/usr/bin/env bash
# scripts/dna-cv.sh — K-fold cross-validation of a krait-dna classifier against the k-mer
# baseline on one labelled input, so the comparison rests on every row instead of one held-out
# fifth. For each fold I of K (krait-dna split --folds K --fold I, seeded and stratified; fold 1
# of 5 is the README's 80/20 split): the baseline and krait are fitted on the other folds and
# predict fold I. Then `krait-dna compare` runs on all rows at once (each predicted by models that
# never saw it): accuracies, the difference with a 95% paired-bootstrap interval, McNemar's test,
# AUROCs. Writes OUT/fold_I/ (split, predictions, model), OUT/krait.tsv, OUT/baseline.tsv,
# OUT/folds.tsv (per-fold accuracies), OUT/folds.svg (them as bars), OUT/compare.txt (compare's
# report) and OUT/compare.json (the same as one JSON object); prints a table.
#
#   scripts/dna-cv.sh INPUT OUT [FOLDS] -- TRAIN_OPTIONS...
#   scripts/dna-cv.sh ../shared/data/dna/gb_human_enhancers_cohn/test.tsv runs/cv 5 -- \
#       --config dna-enhancers --steps 1266
#
# TRAIN_OPTIONS go to `krait-dna train` (--config is needed; --minutes or --steps sets the
# budget; they are checked first, `train --check` on the whole input, so a bad one fails at once); a --threads N or --device D among them also goes to split, baseline, eval and compare. KRAIT_DNA names the binary (default build/apps/krait-dna); SEED the split's seed (1);
# ONLY="2 3 4 5" runs those folds alone and compares over their rows (to judge a change without
# touching fold 1, the README's acceptance split); JOBS=J runs J folds at once (default 1; give
# each --threads 1 on a small machine: a fold's models are the same either way, its times are not).
set -euo pipefail
usage() { echo "usage: $0 INPUT OUT [FOLDS] -- TRAIN_OPTIONS... (see the header)" >&2; exit 2; }
[ $# -ge 3 ] || usage
input=$1 out=$2
shift 2
folds=5
if [ "$1" != "--" ]; then folds=$1; shift; fi
[ "${1:-}" = "--" ] || usage
shift
[[ "$folds" =~ ^[0-9]+$ ]] && [ "$folds" -ge 2 ] || { echo "$0: FOLDS must be an integer >= 2 (got $folds)" >&2; exit 2; }
run_folds=${ONLY:-$(seq 1 "$folds")}
[ -n "${run_folds// /}" ] || { echo "$0: ONLY names no fold (give fold numbers, e.g. ONLY=\"2 3 4 5\")" >&2; exit 2; }
for i in $run_folds; do
  [[ "$i" =~ ^[0-9]+$ ]] && [ "$i" -ge 1 ] && [ "$i" -le "$folds" ] ||
    { echo "$0: ONLY: '$i' is not a fold of 1..$folds" >&2; exit 2; }
done
[ -r "$input" ] || { echo "$0: $input: cannot read" >&2; exit 2; }
k=${KRAIT_DNA:-$(dirname "$0")/../build/apps/krait-dna}
seed=${SEED:-1}
[ -x "$k" ] || { echo "$0: $k: no krait-dna binary (build first, or set KRAIT_DNA)" >&2; exit 2; }
jget() { tail -1 "$1" | grep -o "\"$2\":[^,}]*" | head -1 | cut -d: -f2; }
common=() # --threads / --device of the train options, for every command
args=("$@")
for ((j = 0; j < ${#args[@]}; j++)); do
    case "${args[j]}" in --threads|--device) common+=("${args[j]}" "${args[j + 1]:-}") ;; esac
done

jobs=${JOBS:-1}
[[ "$jobs" =~ ^[0-9]+$ ]] && [ "$jobs" -ge 1 ] || { echo "$0: JOBS must be an integer >= 1 (got $jobs)" >&2; exit 2; }

# one fold: split, baseline, train, eval into OUT/fold_I (its stderr to OUT/fold_I.log when JOBS > 1)
run_fold() {
    local i=$1 f=$out/fold_$1
    echo "== fold $i of $folds ==" >&2
    "$k" split --input "$input" --out "$f" --folds "$folds" --fold "$i" --seed "$seed" --json "${common[@]}" > "$f.split.json"
    "$k" baseline --train "$f/train.tsv" --test "$f/test.tsv" --output "$f/baseline.tsv" --json "${common[@]}" \
        > "$f/baseline.json"
    rm -rf "$f/krait"
    "$k" train --train "$f/train.tsv" --out "$f/krait" --json "${train_args[@]}" > "$f/train.json"
    "$k" eval --model "$f/krait" --input "$f/test.tsv" --output "$f/krait.tsv" --json "${common[@]}" > "$f/eval.json"
}
train_args=("$@")
# the train options on the whole input first, so a bad --config or option fails now, not after
# each fold's split and baseline (--check reads the data, config and --init, writes nothing)
rc=0
"$k" train --check --train "$input" --out "$out/fold_check" "${train_args[@]}" > /dev/null || rc=$?
[ $rc = 0 ] || { echo "$0: krait-dna train refused the options (checked on $input before any fold)" >&2; exit $rc; }
mkdir -p "$out"
if [ "$jobs" = 1 ]; then
    for i in $run_folds; do run_fold "$i"; done
else # J folds at a time; any that fails fails the run, after the others finish
    declare -A pid_of
    failed=0 # the first failing fold's exit code
    for i in $run_folds; do
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
        echo "== fold $i of $folds: started, its log in $out/fold_$i.log ==" >&2
        ( set -e; run_fold "$i" ) 2> "$out/fold_$i.log" &
        pid_of[$i]=$!
    done
    for i in $run_folds; do
        rc=0
        wait "${pid_of[$i]}" || rc=$?
        if [ $rc != 0 ]; then
            echo "$0: fold $i failed (exit $rc); see $out/fold_$i.log:" >&2
            tail -3 "$out/fold_$i.log" >&2
            [ $failed != 0 ] || failed=$rc
        fi
    done
    [ $failed = 0 ] || exit $failed
fi
printf 'fold\trows\tbaseline\tkrait\n' > "$out/folds.tsv"
inputs=()
for i in $run_folds; do
    f=$out/fold_$i
    printf '%s\t%s\t%.4f\t%.4f\n' "$i" "$(jget "$f.split.json" test)" "$(jget "$f/baseline.json" accuracy)" \
        "$(jget "$f/eval.json" accuracy)" >> "$out/folds.tsv"
    inputs+=(--input "$f/test.tsv")
done
first=$(set -- $run_folds; echo "$1")
for m in krait baseline; do # one predictions file over the folds run, in the order of the inputs
    head -1 "$out/fold_$first/$m.tsv" > "$out/$m.tsv"
    for i in $run_folds; do tail -n +2 "$out/fold_$i/$m.tsv" >> "$out/$m.tsv"; done
done
"$k" compare "${inputs[@]}" --pred "$out/krait.tsv" --pred "$out/baseline.tsv" --json "${common[@]}" > "$out/compare.out"
head -n -1 "$out/compare.out" > "$out/compare.txt" # the report as printed; its JSON line alone in compare.json
tail -n 1 "$out/compare.out" > "$out/compare.json" && rm "$out/compare.out"
# the per-fold accuracies as paired bars (baseline grey, krait blue), the axis from 0.5 to 1
awk -F'\t' 'NR > 1 { n++; f[n] = $1; b[n] = $3; k[n] = $4 }
  END {
    W = 60 + 70 * n; H = 260; y0 = 220; s = 400 # pixels per accuracy unit above 0.5
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", W, H
    printf "<text x=\"10\" y=\"16\">accuracy per fold: baseline (grey), krait (blue)</text>\n"
    for (t = 0.5; t <= 1.0001; t += 0.1) {
      y = y0 - (t - 0.5) * s
      printf "<line x1=\"40\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"8\" y=\"%.1f\">%.1f</text>\n", W - 10, y, y, y + 4, t
    }
    for (i = 1; i <= n; i++) {
      x = 50 + 70 * (i - 1)
      printf "<rect x=\"%d\" y=\"%.1f\" width=\"25\" height=\"%.1f\" fill=\"#999\"/>\n", x, y0 - (b[i] - 0.5) * s, (b[i] - 0.5) * s
      printf "<rect x=\"%d\" y=\"%.1f\" width=\"25\" height=\"%.1f\" fill=\"#3b6fb6\"/>\n", x + 27, y0 - (k[i] - 0.5) * s, (k[i] - 0.5) * s
      printf "<text x=\"%d\" y=\"%d\">fold %d</text>\n", x + 8, y0 + 16, f[i]
    }
    print "</svg>"
  }' "$out/folds.tsv" > "$out/folds.svg"
echo
column -t -s $'\t' "$out/folds.tsv" 2>/dev/null || cat "$out/folds.tsv"
echo
cat "$out/compare.txt"
