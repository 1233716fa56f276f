#!/usr/bin/env bash
# tests/apps/dna_app.sh KRAIT_DNA DATA_DIR — krait-dna end to end on tiny data (data/dna): split
# (deterministic, stratified), pretrain a tiny next-base LM a few steps on a genome excerpt,
# train a bidirectional classifier from it (--init copies the backbone), predict (TSV with
# probabilities summing to 1), eval (--json keys, confusion SVG), a long BED region streamed in
# chunks gives the same probabilities as the same region in one batch, baseline, and bad input
# (non-IUPAC, empty sequence, missing index, region past the contig end, a label outside the
# class list, resume on other data) exits 2 with one line naming the problem; --resume repeats the
# uninterrupted run's losses (plain, augmented, with dropout).
# --keep-best ends with the first best validation's model (by accuracy, or by log-loss with
# --best-by nll) and carries it across --resume.
set -u
k="$1"
data="$2"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
jget() { tail -1 "$1" | grep -o "\"$2\":[^,}]*" | head -1 | cut -d: -f2; }
bad_input() { # name, fragment, -- command...
  local name="$1" frag="$2"; shift 3
  "$@" >"$dir/out" 2>"$dir/err"
  local rc=$? lines
  lines=$(grep -vc 'device cpu' "$dir/err")
  if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -qF -- "$frag" "$dir/err"; then ok "$name: $(grep -v 'device cpu' "$dir/err")"
  else bad "$name: exit $rc, $lines lines, want '$frag':"; cat "$dir/err"; fi
}

cat > "$dir/tiny.json" <<'JSON'
{ "hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 8, "state_size": 4, "expand": 2, "conv_kernel": 4,
  "krait": { "modality": "dna", "head": "classify", "n_classes": 2, "pooling": "mean", "bidirectional": true,
             "tokenizer": "dna" },
  "train": { "batch": 4, "seq_len": 64, "lr": 3e-3, "warmup": 2, "steps": 4 } }
JSON
sed 's/"head": "classify", "n_classes": 2, "pooling": "mean", "bidirectional": true,/"head": "lm",/' "$dir/tiny.json" > "$dir/tiny_lm.json"

# ---- split ----------------------------------------------------------------------------------------
"$k" split --input "$data/promoters_tiny.tsv" --out "$dir/s1" --json > "$dir/sp1" 2>"$dir/e" || { bad "split"; cat "$dir/e"; }
"$k" split --input "$data/promoters_tiny.tsv" --out "$dir/s2" > /dev/null 2>&1
"$k" split --input "$data/promoters_tiny.tsv" --out "$dir/s3" --seed 5 > /dev/null 2>&1
[ "$(jget "$dir/sp1" train)" = 52 ] && [ "$(jget "$dir/sp1" test)" = 12 ] && ok "split: 52 train / 12 test (6 of each 32)" ||
  { bad "split counts"; cat "$dir/sp1"; }
cmp -s "$dir/s1/test.tsv" "$dir/s2/test.tsv" && ! cmp -s "$dir/s1/test.tsv" "$dir/s3/test.tsv" &&
  ok "split is deterministic for a seed, different for another" || bad "split determinism"
[ "$(tail -n +2 "$dir/s1/test.tsv" | cut -f2 | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" = "6 6 " ] &&
  ok "split is stratified" || bad "split strata"
for i in 1 2 3; do "$k" split --input "$data/promoters_tiny.tsv" --out "$dir/f$i" --folds 3 --fold $i > /dev/null 2>&1; done
[ "$(tail -q -n +2 "$dir"/f{1,2,3}/test.tsv | sort | md5sum)" = "$(tail -n +2 "$data/promoters_tiny.tsv" | sort | md5sum)" ] &&
  [ "$(tail -n +2 "$dir/f2/test.tsv" | cut -f2 | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" = "10 10 " ] &&
  cmp -s <(tail -n +2 "$dir/f2/train.tsv" | sort) <(tail -q -n +2 "$dir"/f{1,3}/test.tsv | sort) &&
  ok "split --folds 3: the test folds partition the rows (stratified 10 + 10 in fold 2), train = the other folds" ||
  bad "split --folds"
"$k" split --input "$data/promoters_tiny.tsv" --out "$dir/f5" --folds 5 --fold 1 > /dev/null 2>&1
cmp -s "$dir/f5/test.tsv" "$dir/s1/test.tsv" && ok "split: fold 1 of 5 == the default 0.2 split" || bad "fold 1 of 5 != 0.2 split"
# the same rows on every machine (the docs promise it): seed 1's split and fold 3 of 5, pinned
[ "$(md5sum < "$dir/s1/test.tsv" | cut -c1-32)" = 16a5f518cb9237942a50c3c13e79a1bb ] &&
  "$k" split --input "$data/promoters_tiny.tsv" --out "$dir/f53" --folds 5 --fold 3 > /dev/null 2>&1 &&
  [ "$(md5sum < "$dir/f53/test.tsv" | cut -c1-32)" = 7ea904598307a98da91bf6916b0e419d ] &&
  ok "split: seed 1's rows and fold 3 of 5 are the pinned ones" || bad "split rows changed (md5 of test.tsv)"
# a class's held-out count is rounded: 0.3 x 32 = 9.6 -> 10 of each class
"$k" split --input "$data/promoters_tiny.tsv" --out "$dir/s30" --fraction 0.3 --json > "$dir/sp30" 2>/dev/null
[ "$(jget "$dir/sp30" test)" = 20 ] && ok "split --fraction 0.3: 10 of each 32 held out (rounded)" ||
  { bad "split --fraction 0.3 rounding"; cat "$dir/sp30"; }
# records with ids of their own (FASTA names) keep them in an id column; predictions name them
for c in A B; do for i in 1 2 3 4 5; do printf '>%s%d\nACGT%sACGTTG\n' "$c" "$i" "$c"; done; done > "$dir/ids_all.fa"
awk '/^>A/ { p = 1 } /^>B/ { p = 0 } p' "$dir/ids_all.fa" > "$dir/ids_a.fa"
awk '/^>B/ { p = 1 } /^>A/ { p = 0 } p' "$dir/ids_all.fa" > "$dir/ids_b.fa"
"$k" split --input "A=$dir/ids_a.fa" --input "B=$dir/ids_b.fa" --out "$dir/sid" > /dev/null 2>"$dir/e" &&
  [ "$(head -1 "$dir/sid/test.tsv")" = "$(printf 'id\tseq\tlabel')" ] &&
  [ "$(tail -q -n +2 "$dir/sid/train.tsv" "$dir/sid/test.tsv" | cut -f1 | sort | tr '\n' ' ')" = "A1 A2 A3 A4 A5 B1 B2 B3 B4 B5 " ] &&
  [ "$(tail -n +2 "$dir/sid/test.tsv" | awk -F'\t' 'substr($1, 1, 1) != $3' | wc -l)" = 0 ] &&
  ok "split keeps the records' own ids in an id column (FASTA names)" || { bad "split ids"; cat "$dir/e" "$dir/sid/test.tsv"; }
# a file whose name holds '=' is that file, not CLASS=FILE
cp "$data/promoters_tiny.tsv" "$dir/a=b.tsv"
"$k" split --input "$dir/a=b.tsv" --out "$dir/seq" > /dev/null 2>"$dir/e" && cmp -s "$dir/seq/test.tsv" "$dir/s1/test.tsv" &&
  ok "a file named a=b.tsv is read as a file" || { bad "a file named a=b.tsv"; cat "$dir/e"; }

# ---- pretrain, train --init, predict, eval --------------------------------------------------------
"$k" pretrain --config "$dir/tiny_lm.json" --fasta "$data/ce_small.fa" --out "$dir/lm" --steps 3 --json > "$dir/pt" 2>"$dir/e" &&
  [ -f "$dir/lm/model.safetensors" ] && [ "$(jget "$dir/pt" steps)" = 3 ] &&
  awk -v l="$(jget "$dir/pt" train_loss)" -v b="$(jget "$dir/pt" train_bits_per_base)" 'BEGIN { exit !(b > 0 && (l / log(2) - b)^2 < 1e-12) }' &&
  ok "pretrain: 3 steps, model folder, bits per base = loss / ln 2" ||
  { bad "pretrain"; cat "$dir/e" "$dir/pt"; }
# next-base targets: 60 steps leave the loss near DNA's entropy (about 1.3 nats); a model shown
# the base it predicts would drive it to 0
"$k" pretrain --config "$dir/tiny_lm.json" --fasta "$data/ce_small.fa" --out "$dir/lm60" --steps 60 --lr 1e-2 --batch 8 \
  --threads 1 --json > "$dir/pt60" 2>"$dir/e"
awk -v l="$(jget "$dir/pt60" train_loss)" 'BEGIN { exit !(l > 1.0 && l < 1.45) }' &&
  ok "pretrain: the next base is predicted, not seen (loss $(jget "$dir/pt60" train_loss) after 60 steps)" ||
  { bad "pretrain loss $(jget "$dir/pt60" train_loss) (want 1.0..1.45)"; cat "$dir/e"; }
"$k" pretrain --config "$dir/tiny_lm.json" --fasta "$dir/s1/train.tsv" --fasta "$data/ce_small.fa" --out "$dir/lm_tsv" \
  --steps 2 > /dev/null 2>"$dir/e" && grep -q "$(( $(tail -n +2 "$dir/s1/train.tsv" | wc -l) + $(grep -c '^>' "$data/ce_small.fa") )) records" "$dir/e" &&
  ok "pretrain on a labelled TSV + a FASTA: every record read, labels ignored" || { bad "pretrain on a TSV"; cat "$dir/e"; }
printf 'chrI_excerpt\t0\t3000\nchrM_excerpt\t0\t2000\n' > "$dir/pre.bed"
"$k" pretrain --config "$dir/tiny_lm.json" --fasta "$dir/pre.bed" --genome "$data/ce_small.fa" --out "$dir/lm_bed" \
  --steps 2 > /dev/null 2>"$dir/e" && grep -q "2 records" "$dir/e" &&
  ok "pretrain on BED regions of --genome" || { bad "pretrain on BED regions"; cat "$dir/e"; }
# the training length: train.seq_len when the config sets it (a crop), else the longest row; --max-len first
sed 's/"seq_len": 64, //' "$dir/tiny.json" > "$dir/tiny_nolen.json"
lens_ok=1
for v in "tiny.json::64" "tiny_nolen.json::251" "tiny.json:--max-len 100:100" "tiny_nolen.json:--max-len 300:251"; do
  IFS=: read -r cf extra want <<< "$v"
  # shellcheck disable=SC2086
  "$k" train --config "$dir/$cf" --train "$dir/s1/train.tsv" --out "$dir/len" --steps 1 --threads 1 $extra --overwrite \
    > /dev/null 2>"$dir/e"
  grep -q "length <= $want;" "$dir/e" || { lens_ok=0; bad "training length with $cf $extra: want $want"; cat "$dir/e"; }
done
[ $lens_ok = 1 ] && ok "training length: train.seq_len crops (64), else the longest (251); --max-len 100 / 300 (251)"
# pretrain --stop-at + --resume = straight through; --resume on other data and --eval-every refused
pt() { "$k" pretrain --config "$dir/tiny_lm.json" --fasta "$data/ce_small.fa" --steps 4 --threads 1 "$@"; }
pt --out "$dir/lm4" > /dev/null 2>&1
pt --out "$dir/lm2" --stop-at 2 --json > "$dir/pts" 2>/dev/null
pt --out "$dir/lm2" --resume "$dir/lm2" > /dev/null 2>"$dir/e" || { bad "pretrain --resume"; cat "$dir/e"; }
grep -q "^stopped at step 2; checkpoint in $dir/lm2" "$dir/pts" && [ "$(jget "$dir/pts" stopped_at)" = 2 ] &&
  cmp -s "$dir/lm4/model.safetensors" "$dir/lm2/model.safetensors" &&
  ok "pretrain --stop-at 2 + --resume = 4 steps straight through (same model file)" || { bad "pretrain stop/resume"; cat "$dir/pts"; }
pt --out "$dir/lm2s" --stop-at 2 > /dev/null 2>&1
"$k" pretrain --config "$dir/tiny_lm.json" --fasta "$dir/s1/train.tsv" --steps 4 --out "$dir/lm2s" --resume "$dir/lm2s" \
  > /dev/null 2>"$dir/e"
rc=$? # (after the model's summary line, as train's own resume check)
[ $rc -eq 2 ] && [ "$(grep -c 'error' "$dir/e")" = 1 ] &&
  tail -1 "$dir/e" | grep -qF "the checkpoint was pretrained on other data (2 records, 15000 bases" &&
  ok "pretrain --resume on other data: exit 2, $(tail -1 "$dir/e")" || { bad "pretrain resume on other data: exit $rc"; cat "$dir/e"; }
awk '/^>/ { print; next } { gsub(/A/, "x"); gsub(/T/, "A"); gsub(/x/, "T"); print }' "$data/ce_small.fa" > "$dir/ce_swap.fa"
"$k" pretrain --config "$dir/tiny_lm.json" --fasta "$dir/ce_swap.fa" --steps 4 --out "$dir/lm2s" --resume "$dir/lm2s" \
  > /dev/null 2>"$dir/e"
rc=$?
[ $rc -eq 2 ] && [ "$(grep -c 'error' "$dir/e")" = 1 ] &&
  tail -1 "$dir/e" | grep -qF "the checkpoint was pretrained on other data (as many records and bases, but other sequences" &&
  ok "pretrain --resume on other bases (A and T swapped, the same counts): exit 2" || { bad "pretrain resume on swapped bases: exit $rc"; cat "$dir/e"; }
bad_input "pretrain --eval-every" "pretraining has no validation set" -- \
  "$k" pretrain --config "$dir/tiny_lm.json" --fasta "$data/ce_small.fa" --out "$dir/lmx" --eval-every 5
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --valid "$dir/s1/test.tsv" --init "$dir/lm" \
  --out "$dir/cls" --steps 4 --eval-every 2 --json > "$dir/tr" 2>"$dir/e" || { bad "train"; cat "$dir/e"; }
grep -q "tensors copied" "$dir/e" && ok "train --init: $(grep -o '[0-9]* of [0-9]* tensors copied' "$dir/e")" || bad "--init copied nothing"
bad_input "train --init LM without --config: says what to give" "lm/config.json: its \"head\" is \"lm\"; to train a \"classify\" model from it give --config" -- \
  "$k" train --init "$dir/lm" --train "$dir/s1/train.tsv" --out "$dir/clsx" --steps 2
sed 's/"hidden_size": 16/"hidden_size": 24/' "$dir/tiny.json" > "$dir/tiny24.json"
bad_input "train --init of other sizes: names the LM's" "(it was made with hidden_size 16, num_hidden_layers 2" -- \
  "$k" train --config "$dir/tiny24.json" --init "$dir/lm" --train "$dir/s1/train.tsv" --out "$dir/clsy" --steps 2
[ "$(cat "$dir/cls/classes.txt" | tr '\n' ' ')" = "0 1 " ] && ok "classes.txt: 0 1" || bad "classes.txt"
[ "$(grep -c val_accuracy "$dir/cls/metrics.jsonl")" = 2 ] && [ -s "$dir/cls/curves.svg" ] &&
  [ "$(grep val_accuracy "$dir/cls/metrics.jsonl" | grep -c '"tokens":[0-9]*,"elapsed_s":[0-9.]*}$')" = 2 ] &&
  ok "metrics.jsonl: 2 validations, each ending in tokens and elapsed_s as every trainer's; curves.svg" ||
  { bad "metrics.jsonl / curves.svg"; grep val_ "$dir/cls/metrics.jsonl"; }
va=$(jget "$dir/tr" val_accuracy)
[ -n "$va" ] && ok "train --json: val_accuracy $va" || { bad "train json"; cat "$dir/tr"; }
"$k" predict --model "$dir/cls" --input "$dir/s1/test.tsv" --output "$dir/pred.tsv" 2>"$dir/e" || { bad "predict"; cat "$dir/e"; }
[ "$(head -1 "$dir/pred.tsv")" = "$(printf 'id\tpredicted\tp_0\tp_1')" ] && [ "$(wc -l < "$dir/pred.tsv")" = 13 ] &&
  awk -F'\t' 'NR > 1 { s = $3 + $4; if (s < 0.9999 || s > 1.0001 || ($2 != "0" && $2 != "1")) exit 1 }' "$dir/pred.tsv" &&
  ok "predict: 12 rows, id / class / probabilities summing to 1" || { bad "predict TSV"; head -3 "$dir/pred.tsv"; }
for _ in 1 2 3 4 5 6 7 8; do tail -n +2 "$dir/s1/test.tsv"; done | sed '1i seq\tlabel' > "$dir/big.tsv"
(ulimit -f 4; "$k" predict --model "$dir/cls" --input "$dir/big.tsv" >"$dir/pf" 2>"$dir/epf")
rc=$?
[ $rc -eq 1 ] && [ "$(grep -c 'error' "$dir/epf")" = 1 ] && grep -q "error: stdout: write failed" "$dir/epf" &&
  ok "predict into a full stdout: exit 1, $(grep error "$dir/epf")" || { bad "predict into a full stdout: exit $rc"; tail -3 "$dir/epf"; }
(ulimit -f 1; "$k" train --help >"$dir/hf" 2>"$dir/ehf"); rc=$?
[ $rc -eq 1 ] && grep -q "stdout: write failed" "$dir/ehf" && ok "--help cut short by a full stdout: exit 1" ||
  { bad "--help into a full stdout: exit $rc"; cat "$dir/ehf"; }
"$k" train --help >&- 2>"$dir/ehc"; rc=$?
[ $rc -eq 1 ] && grep -q "stdout: write failed (Bad file descriptor)" "$dir/ehc" && ok "stdout closed: exit 1, said" ||
  { bad "stdout closed: exit $rc"; cat "$dir/ehc"; }
"$k" predict --model "$dir/cls" --input "$dir/s1/test.tsv" --output "$dir/pred2.tsv" --json >"$dir/pj" 2>/dev/null &&
  [ "$(jget "$dir/pj" n)" = 12 ] && tail -1 "$dir/pj" | grep -q '"classes":\["0","1"\]' && cmp -s "$dir/pred.tsv" "$dir/pred2.tsv" &&
  ok "predict --json: $(tail -1 "$dir/pj" | cut -c1-60)..." || { bad "predict --json"; cat "$dir/pj"; }
# OMP_NUM_THREADS stands for --threads when that is not given (a scheduler's or --jobs' share)
OMP_NUM_THREADS=1 "$k" predict --model "$dir/cls" --input "$dir/s1/test.tsv" --output "$dir/pred3.tsv" 2>"$dir/e3" &&
  OMP_NUM_THREADS=1 "$k" predict --model "$dir/cls" --input "$dir/s1/test.tsv" --output "$dir/pred4.tsv" --threads 2 2>"$dir/e4" &&
  OMP_NUM_THREADS=x "$k" predict --model "$dir/cls" --input "$dir/s1/test.tsv" --output "$dir/pred5.tsv" 2>"$dir/e5" &&
  grep -q "device cpu (1 thread from OMP_NUM_THREADS" "$dir/e3" && grep -q "device cpu (2 threads," "$dir/e4" &&
  grep -q "device cpu (all threads" "$dir/e5" &&
  paste "$dir/pred.tsv" "$dir/pred3.tsv" | awk -F'\t' 'NR > 1 { d = $3 - $7; if (d > 2e-6 || d < -2e-6 || $1 != $5) exit 1 }' &&
  ok "OMP_NUM_THREADS=1 without --threads: one thread, the same predictions; --threads wins; a bad value is ignored" ||
  { bad "OMP_NUM_THREADS"; cat "$dir/e3" "$dir/e4" "$dir/e5"; }
OMP_NUM_THREADS=2 "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/ompj" --ensemble 2 --jobs 2 \
  --steps 1 --device cpu >/dev/null 2>"$dir/e6" && [ "$(grep -c "member-[12]: device cpu (1 thread," "$dir/e6")" = 2 ] &&
  ok "OMP_NUM_THREADS=2 with --jobs 2: shared out, one thread a member" || { bad "OMP_NUM_THREADS with --jobs"; cat "$dir/e6"; }
"$k" eval --model "$dir/cls" --input "$dir/s1/test.tsv" --json --confusion "$dir/cm.svg" > "$dir/ev" 2>"$dir/e" || { bad "eval"; cat "$dir/e"; }
acc=$(jget "$dir/ev" accuracy)
for key in accuracy mcc macro_f1 auroc confusion; do grep -q "\"$key\"" <(tail -1 "$dir/ev") || bad "eval json lacks $key"; done
awk -v a="$acc" -v b="$va" 'BEGIN { exit !(a - b < 1e-9 && b - a < 1e-9) }' && ok "eval accuracy $acc = train's final validation" ||
  bad "eval accuracy $acc != validation $va"
grep -q "<svg" "$dir/cm.svg" && ok "eval --confusion: SVG" || bad "confusion SVG"
# the confusion matrix is sized from its text: a long title and long class names stay on the canvas
printf 'seq\tlabel\n' > "$dir/lc.tsv"
for i in A C G T; do printf 'ACGTACGTA%s\tspoken_digit_zero_english_very_long_name\nGGGGCCCC%s\tb\n' $i $i >> "$dir/lc.tsv"; done
sed 's/spoken_digit_zero_english_very_long_name/エンハンサー領域/; s/\tb$/\tプロモーター/' "$dir/lc.tsv" > "$dir/lcj.tsv"
"$k" baseline --train "$dir/lc.tsv" --test "$dir/./lc.tsv" --confusion "$dir/lcm.svg" >/dev/null 2>&1 &&
  "$k" baseline --train "$dir/lcj.tsv" --test "$dir/./lcj.tsv" --confusion "$dir/lcj.svg" >/dev/null 2>&1 &&
  python3 "$(dirname "$0")/svg_bounds.py" "$dir/cm.svg" "$dir/lcm.svg" "$dir/lcj.svg" &&
  ok "confusion SVGs: every title, class name and note on the canvas (Japanese class names: two cells a character)" ||
  bad "confusion SVG text off the canvas"
# long sequences in batches: the activations are capped (32 sequences of 4,096 bases took 683 MB
# with the promoter preset's 4 x 64 model), and 16 kb ones are streamed by default; not measured
# under AddressSanitizer (its quarantine keeps freed memory)
"$k" train --config dna-promoters --train "$dir/s1/train.tsv" --out "$dir/pm" --steps 1 --threads 1 >/dev/null 2>&1
if [ -x /usr/bin/time ] && ! ldd "$k" 2>/dev/null | grep -q libasan; then
  awk 'BEGIN { srand(4); for (r = 0; r < 32; r++) { printf ">r%d\n", r; for (i = 0; i < 4096; i++) printf "%s", substr("ACGT", 1 + int(rand() * 4), 1); printf "\n" } }' > "$dir/l4k.fa"
  /usr/bin/time -f "%M" -o "$dir/rss4k" "$k" predict --model "$dir/pm" --input "$dir/l4k.fa" --threads 1 >/dev/null 2>&1
  r4k=$(tail -1 "$dir/rss4k")
  [ "$r4k" -lt 300000 ] && ok "predict of 32 sequences of 4,096 bases: peak memory $r4k KB (under 300 MB)" ||
    bad "predict of 32 x 4,096 bases: peak memory $r4k KB"
  # many long records: a block holds up to 8 Mb, not 512 records (24 x 1 Mb took 21.5 MB more than
  # 2 x 1 Mb; now about 12 MB more)
  sed 's/"num_hidden_layers": 2/"num_hidden_layers": 1/; s/"bidirectional": true/"bidirectional": false/' \
    "$dir/tiny.json" > "$dir/tiny1.json"
  "$k" train --config "$dir/tiny1.json" --train "$dir/s1/train.tsv" --out "$dir/t1m" --steps 1 --threads 1 >/dev/null 2>&1
  awk 'BEGIN { srand(6); l = ""; for (i = 0; i < 60; i++) l = l substr("ACGT", 1 + int(rand() * 4), 1);
               for (r = 0; r < 24; r++) { printf ">r%d\n", r; for (i = 0; i < 16667; i++) print l } }' > "$dir/m24.fa"
  awk '/^>r2$/ { exit } { print }' "$dir/m24.fa" > "$dir/m2.fa"
  for f in m2 m24; do
    /usr/bin/time -f "%M" -o "$dir/rss$f" "$k" predict --model "$dir/t1m" --input "$dir/$f.fa" --rc-avg 0 --threads 1 \
      --output "$dir/$f.tsv" >/dev/null 2>&1
  done
  rm -f "$dir/m24.fa" "$dir/m2.fa"
  r2=$(tail -1 "$dir/rssm2") r24=$(tail -1 "$dir/rssm24")
  [ "$(wc -l < "$dir/m24.tsv")" = 25 ] && [ $((r24 - r2)) -lt 17000 ] &&
    ok "predict of 24 records of 1 Mb: peak memory $r24 KB, $((r24 - r2)) KB above 2 records (under 17 MB)" ||
    bad "predict of 24 x 1 Mb: peak memory $r24 KB against $r2 KB for 2 records, $(wc -l < "$dir/m24.tsv") lines"
fi
# a bad record: stdout has the rows of every record before it (a block of 512 was dropped), then
# exit 2 with its one line
awk 'BEGIN { for (i = 0; i < 600; i++) printf ">r%d\nACGTACGTAC\n", i; printf ">bad\nAC-GT\n" }' > "$dir/badlate.fa"
"$k" predict --model "$dir/pm" --input "$dir/badlate.fa" --threads 1 >"$dir/bl.out" 2>"$dir/bl.err"; blrc=$?
[ $blrc = 2 ] && [ "$(wc -l < "$dir/bl.out")" = 601 ] && [ "$(tail -1 "$dir/bl.out" | cut -f1)" = r599 ] &&
  [ "$(grep -c 'error: ' "$dir/bl.err")" = 1 ] && grep -q "badlate.fa:1202:3: '-' is not an IUPAC" "$dir/bl.err" &&
  ok "predict: a bad record after 600 good ones: their 600 rows, then its one error line (exit 2)" ||
  { bad "predict rows before a bad record: exit $blrc, $(wc -l < "$dir/bl.out") lines"; cat "$dir/bl.err"; }
# an index that no longer matches its FASTA in a way its checks miss (a line end moved within
# contig c1, the sizes kept): a region running into the next header says the index is wrong
printf '>c0\n%s\n%s\n>c1\n%s\n%s\n%s\n>c2\n%s\n' "$(printf 'A%.0s' $(seq 60))" "$(printf 'A%.0s' $(seq 40))" \
  "$(printf 'C%.0s' $(seq 30))" "$(printf 'C%.0s' $(seq 29))" "$(printf 'G%.0s' $(seq 40))" "$(printf 'T%.0s' $(seq 60))" > "$dir/st.fa"
printf 'c0\t100\t4\t60\t61\nc1\t100\t110\t60\t61\nc2\t60\t216\t60\t61\n' > "$dir/st.fa.fai"
printf 'c1\t0\t100\n' > "$dir/st.bed"
bad_input "a stale index (a '>' inside a region)" "c1:100: a '>' header inside the region's bases: the index (.fai) does not match" -- \
  "$k" predict --model "$dir/pm" --genome "$dir/st.fa" --input "$dir/st.bed"
# killed while writing --output: no temporary file is left (it was, beside the output's name)
awk 'BEGIN { srand(5); for (r = 0; r < 400; r++) { printf ">r%d\n", r; for (i = 0; i < 4096; i++) printf "%s", substr("ACGT", 1 + int(rand() * 4), 1); printf "\n" } }' > "$dir/l400.fa"
"$k" predict --model "$dir/pm" --input "$dir/l400.fa" --output "$dir/int.tsv" --threads 1 >/dev/null 2>&1 &
kpid=$!
sleep 1; kill -TERM $kpid; wait $kpid; krc=$?
[ $krc = 143 ] && [ -z "$(ls "$dir"/int.tsv* 2>/dev/null)" ] && ok "predict --output killed (SIGTERM, exit 143): nothing left behind" ||
  { bad "predict --output killed: exit $krc, left: $(ls "$dir"/int.tsv* 2>/dev/null)"; }
# krait-model convert keeps classes.txt beside the weights: the converted folder evaluates the same
"$(dirname "$k")/krait-model" convert "$dir/cls" --out "$dir/cls32" > "$dir/conv.out" 2>&1 && grep -q ", with classes.txt$" "$dir/conv.out" &&
  [ "$("$k" eval --model "$dir/cls32" --input "$dir/s1/test.tsv" --json 2>/dev/null | tail -1 | grep -o '"accuracy":[^,}]*' | cut -d: -f2)" = "$acc" ] &&
  ok "krait-model convert: the DNA model (with classes.txt, named as the one file copied) evaluates the same" ||
  { bad "converted DNA model"; cat "$dir/conv.out"; }

# ---- resume: stopped after 2 of 4 steps + --resume == 4 steps straight (losses bit for bit) ---------
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/r4" --steps 4 --threads 1 >/dev/null 2>&1
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/r2" --steps 4 --stop-at 2 --threads 1 >/dev/null 2>&1
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --resume "$dir/r2" --steps 4 --threads 1 >/dev/null 2>"$dir/e" ||
  { bad "train --resume"; cat "$dir/e"; }
if [ "$(grep -c '"loss"' "$dir/r4/metrics.jsonl")" = 4 ] &&
   cmp -s <(grep -o '"loss": *[^,]*' "$dir/r4/metrics.jsonl") <(grep -o '"loss": *[^,]*' "$dir/r2/metrics.jsonl"); then
  ok "train: stopped at 2 of 4 + --resume = 4 steps straight (same losses)"
else bad "resume differs"; grep -o '"loss": *[^,]*' "$dir/r4/metrics.jsonl" "$dir/r2/metrics.jsonl"; fi
# the augmentation is part of the run: resumed with other options, it is refused (rows trained otherwise)
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/ra" --steps 4 --stop-at 2 --mutate 0.2 \
  --shift 3 --threads 1 >/dev/null 2>&1
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --resume "$dir/ra" --steps 4 --threads 1 >/dev/null 2>"$dir/e"
[ $? = 2 ] && [ "$(grep -c error "$dir/e")" = 1 ] &&
  grep -qF "the checkpoint was trained with --rc-aug 1 --mutate 0.2 --shift 3; this run asks --rc-aug 1 --mutate 0 --shift 0" "$dir/e" &&
  ok "train --resume with other augmentation: refused" || { bad "resume with other augmentation"; cat "$dir/e"; }
# --init with --resume: the checkpoint's weights win (one line says --init is not used); and a
# --ckpt-every that divides --steps writes the last step's checkpoint once
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/ri2" --steps 4 --stop-at 2 --threads 1 >/dev/null 2>&1
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --resume "$dir/ri2" --init "$dir/lm" --steps 4 --threads 1 \
  --ckpt-every 2 >/dev/null 2>"$dir/e" || { bad "train --resume --init"; cat "$dir/e"; }
if grep -q "init $dir/lm not used: --resume continues from the checkpoint's weights" "$dir/e" &&
   cmp -s "$dir/r4/model.safetensors" "$dir/ri2/model.safetensors" &&
   [ "$(grep -c "checkpoint written" "$dir/e")" = 1 ] && grep -q "step 4: checkpoint written" "$dir/e"; then
  ok "--resume with --init: --init not used (one line), the model = 4 steps straight; step 4's checkpoint written once"
else bad "--resume --init"; cat "$dir/e"; fi
# the same with --mutate/--shift (their draws come from the data RNG, which checkpoints keep) and
# with dropout (its masks follow from the seed and the step), and their losses are not the plain ones
n=0
for aug in "--mutate 0.2 --shift 3" "--set train.embed_dropout=0.2 --set train.resid_dropout=0.1"; do
  n=$((n + 1))
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/a4$n" --steps 4 --threads 1 $aug >/dev/null 2>&1
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/a2$n" --steps 4 --stop-at 2 --threads 1 $aug >/dev/null 2>&1
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --resume "$dir/a2$n" --steps 4 --threads 1 $aug >/dev/null 2>"$dir/e" ||
    { bad "train --resume with $aug"; cat "$dir/e"; }
  if [ "$(grep -c '"loss"' "$dir/a4$n/metrics.jsonl")" = 4 ] &&
     cmp -s <(grep -o '"loss": *[^,]*' "$dir/a4$n/metrics.jsonl") <(grep -o '"loss": *[^,]*' "$dir/a2$n/metrics.jsonl") &&
     ! cmp -s <(grep -o '"loss": *[^,]*' "$dir/a4$n/metrics.jsonl") <(grep -o '"loss": *[^,]*' "$dir/r4/metrics.jsonl"); then
    ok "train $aug: stopped at 2 of 4 + --resume = 4 steps straight, losses unlike the plain run"
  else bad "resume with $aug differs, or it changed nothing"; fi
done
"$k" train --config "$dir/tiny.json" --train "$dir/s1/test.tsv" --resume "$dir/r2" --out "$dir/r5" --steps 5 >/dev/null 2>"$dir/e"
rc=$?
[ $rc -eq 2 ] && [ "$(grep -c 'error' "$dir/e")" = 1 ] && tail -1 "$dir/e" | grep -q "trained on other data" &&
  ok "resume on other data: exit 2, $(tail -1 "$dir/e")" || { bad "resume on other data: exit $rc"; cat "$dir/e"; }
{ head -1 "$dir/s1/train.tsv"; tail -n +2 "$dir/s1/train.tsv" | tac; } > "$dir/train_rev.tsv"
"$k" train --config "$dir/tiny.json" --train "$dir/train_rev.tsv" --resume "$dir/r2" --out "$dir/r6" --steps 5 >/dev/null 2>"$dir/e"
rc=$?
[ $rc -eq 2 ] && [ "$(grep -c 'error' "$dir/e")" = 1 ] && tail -1 "$dir/e" | grep -q "as many rows, but other sequences, labels or order" &&
  ok "resume on the same rows in another order: exit 2" || { bad "resume on reordered rows: exit $rc"; cat "$dir/e"; }
[ ! -e "$dir/r5" ] && ok "a run that failed before writing anything leaves no --out folder" ||
  { bad "a failed run left $(ls -A "$dir/r5" | tr '\n' ' ') in its new --out"; }
# a finished run resumed into another folder: no step left, but that folder gets the model
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --resume "$dir/r4" --out "$dir/r6" --steps 4 \
  --threads 1 >/dev/null 2>"$dir/e" && cmp -s "$dir/r4/model.safetensors" "$dir/r6/model.safetensors" &&
  [ -d "$dir/r6/checkpoints/step-4" ] && ok "a finished run resumed into a new --out: the same model and checkpoint there" ||
  { bad "a finished run resumed into a new --out"; ls "$dir/r6"; cat "$dir/e"; }

# ---- long regions: streamed in chunks == one batch ------------------------------------------------
cp "$data/ce_small.fa" "$dir/g.fa"
cp "$data/ce_small.fa.fai" "$dir/g.fa.fai"
printf 'chrI_excerpt\t1000\t1600\tr1\t0\t+\nchrI_excerpt\t2000\t2900\tr2\t0\t-\n' > "$dir/long.bed"
"$k" predict --model "$dir/cls" --genome "$dir/g.fa" --input "$dir/long.bed" > "$dir/batch.tsv" 2>"$dir/e" || { bad "predict BED"; cat "$dir/e"; }
"$k" predict --model "$dir/cls" --genome "$dir/g.fa" --input "$dir/long.bed" --stream-above 100 --chunk 64 > "$dir/stream.tsv" 2>"$dir/e" ||
  { bad "predict BED streamed"; cat "$dir/e"; }
"$k" predict --model "$dir/cls" --genome "$dir/g.fa" --input "$dir/long.bed" --stream-above 100 --chunk 64 \
  --output "$dir/stream2.tsv" --json > "$dir/sj" 2>"$dir/e" && [ "$(jget "$dir/sj" regions_streamed)" = 2 ] &&
  cmp -s "$dir/stream.tsv" "$dir/stream2.tsv" && ok "predict --json: both long regions read from the genome in chunks" ||
  { bad "predict regions_streamed"; cat "$dir/sj" "$dir/e"; }
if paste "$dir/batch.tsv" "$dir/stream.tsv" | awk -F'\t' 'NR > 1 { n++; if ($1 != $5 || $3 - $7 > 1e-4 || $7 - $3 > 1e-4) exit 1 } END { exit n != 2 }'; then
  ok "long BED regions streamed in 64-base chunks = one batch (strand + and -)"
else bad "streamed != batch"; cat "$dir/batch.tsv" "$dir/stream.tsv"; fi

# a bad base met while streaming a region names the BED line as well as the genome's place
{ printf '>c1\n'; head -c 250 /dev/zero | tr '\0' A; printf 'X'; head -c 49 /dev/zero | tr '\0' C; printf '\n'; } > "$dir/bx.fa"
printf 'c1\t300\t4\t300\t301\n' > "$dir/bx.fa.fai"
printf 'c1\t0\t100\nc1\t100\t300\n' > "$dir/bx.bed"
"$k" predict --model "$dir/cls" --genome "$dir/bx.fa" --input "$dir/bx.bed" --stream-above 150 --chunk 64 \
  > /dev/null 2>"$dir/e"
[ $? = 2 ] && [ "$(grep -c 'error: ' "$dir/e")" = 1 ] &&
  grep -qF "error: $dir/bx.bed:2: $dir/bx.fa: c1:251: 'X' is not an IUPAC nucleotide code" "$dir/e" &&
  ok "a non-IUPAC base in a streamed region: exit 2, one error line naming the BED line" ||
  { bad "a non-IUPAC base in a streamed region"; cat "$dir/e"; }

# a long sequence held in memory (TSV) is streamed the same way: chunks == one batch, with and
# without reverse-complement averaging, probabilities summing to 1
printf 'seq\tlabel\n%s\t1\n' "$(awk 'NR > 1' "$data/ce_small.fa" | tr -d '\n' | cut -c 5001-5300)" > "$dir/long300.tsv"
for rc in 1 0; do
  "$k" predict --model "$dir/cls" --input "$dir/long300.tsv" --rc-avg $rc > "$dir/lb$rc.tsv" 2>"$dir/e" &&
    "$k" predict --model "$dir/cls" --input "$dir/long300.tsv" --rc-avg $rc --stream-above 100 --chunk 64 > "$dir/ls$rc.tsv" 2>>"$dir/e" ||
    { bad "predict a long TSV sequence (--rc-avg $rc)"; cat "$dir/e"; }
  paste "$dir/lb$rc.tsv" "$dir/ls$rc.tsv" | awk -F'\t' 'NR == 2 { d = $3 - $7; s = $7 + $8; ok = d < 1e-4 && d > -1e-4 && s > 0.9999 && s < 1.0001 }
    END { exit !(NR == 2 && ok) }' && ok "a 300-base TSV sequence streamed in 64-base chunks = one batch (--rc-avg $rc)" ||
    { bad "streamed TSV sequence != batch (--rc-avg $rc)"; cat "$dir/lb$rc.tsv" "$dir/ls$rc.tsv"; }
done

# ---- ensembles: --model repeated averages the models' probabilities --------------------------------
"$k" predict --model "$dir/cls" --model "$dir/cls" --input "$dir/s1/test.tsv" --output "$dir/ens_same.tsv" 2>"$dir/e" ||
  { bad "predict ensemble"; cat "$dir/e"; }
cmp -s "$dir/pred.tsv" "$dir/ens_same.tsv" && ok "ensemble of a model with itself = the model (bit for bit)" ||
  bad "ensemble of a model with itself differs"
"$k" predict --model "$dir/r4" --input "$dir/s1/test.tsv" --output "$dir/pred_r4.tsv" 2>/dev/null
"$k" predict --model "$dir/cls" --model "$dir/r4" --input "$dir/s1/test.tsv" --output "$dir/ens.tsv" 2>"$dir/e" ||
  { bad "predict ensemble of two"; cat "$dir/e"; }
if paste "$dir/pred.tsv" "$dir/pred_r4.tsv" "$dir/ens.tsv" | awk -F'\t' 'NR > 1 { n++; m = ($4 + $8) / 2; d = m - $12;
     if ($1 != $9 || d > 2e-6 || d < -2e-6 || ($12 > 0.5) != ($10 == 1)) exit 1 } END { exit n != 12 }' &&
   ! cmp -s "$dir/pred.tsv" "$dir/pred_r4.tsv"; then
  ok "ensemble of two models: p = the mean of theirs, class = its argmax (12 rows)"
else bad "ensemble of two != mean"; paste "$dir/pred.tsv" "$dir/pred_r4.tsv" "$dir/ens.tsv" | head -4; fi
"$k" predict --model "$dir/cls" --model "$dir/cls" --genome "$dir/g.fa" --input "$dir/long.bed" --stream-above 100 \
  --chunk 64 > "$dir/ens_stream.tsv" 2>"$dir/e" && cmp -s "$dir/stream.tsv" "$dir/ens_stream.tsv" &&
  ok "ensemble streams long regions through every model" || { bad "ensemble stream"; cat "$dir/e"; }
"$k" predict --model "$dir/r4" --genome "$dir/g.fa" --input "$dir/long.bed" --stream-above 100 --chunk 64 \
  > "$dir/stream_r4.tsv" 2>"$dir/e" &&
  "$k" predict --model "$dir/cls" --model "$dir/r4" --genome "$dir/g.fa" --input "$dir/long.bed" --stream-above 100 \
    --chunk 64 > "$dir/ens_stream2.tsv" 2>>"$dir/e" || { bad "ensemble of two streamed"; cat "$dir/e"; }
if paste "$dir/stream.tsv" "$dir/stream_r4.tsv" "$dir/ens_stream2.tsv" | awk -F'\t' 'NR > 1 { n++
     for (j = 3; j <= 4; j++) { d = ($j + $(j + 4)) / 2 - $(j + 8); if (d > 2e-6 || d < -2e-6) exit 1 }
     if ($1 != $9 || $3 == $7) exit 1 } END { exit n != 2 }'; then
  ok "ensemble of two models on streamed regions: each p = the mean of the two models' streamed p"
else bad "streamed ensemble of two != mean"; paste "$dir/stream.tsv" "$dir/stream_r4.tsv" "$dir/ens_stream2.tsv"; fi
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --valid "$dir/s1/test.tsv" --ensemble 2 --steps 3 \
  --out "$dir/ens2" --json > "$dir/ens2.out" 2>"$dir/e" || { bad "train --ensemble 2"; cat "$dir/e"; }
ea=$(jget "$dir/ens2.out" val_accuracy)
if [ -f "$dir/ens2/member-1/model.safetensors" ] && [ -f "$dir/ens2/member-2/classes.txt" ] &&
   [ "$(jget "$dir/ens2.out" members)" = 2 ] && [ -n "$ea" ] && grep -q "seed 2" "$dir/e"; then
  ok "train --ensemble 2: member-1, member-2 (seeds 1, 2); ensemble validation accuracy $ea"
else bad "train --ensemble"; cat "$dir/ens2.out"; ls "$dir/ens2"; fi
for args in "ens2:$dir/ens2" "ens2m:$dir/ens2/member-1 --model $dir/ens2/member-2" "m1:$dir/ens2/member-1" "m2:$dir/ens2/member-2"; do
  # shellcheck disable=SC2086  # the model list splits on purpose
  "$k" predict --model ${args#*:} --input "$dir/s1/test.tsv" --output "$dir/${args%%:*}.tsv" 2>"$dir/e" ||
    { bad "predict --model ${args#*:}"; cat "$dir/e"; }
done
cmp -s "$dir/ens2.tsv" "$dir/ens2m.tsv" && ! cmp -s "$dir/m1.tsv" "$dir/m2.tsv" &&
  ok "predict --model ENSEMBLE_RUN = its members given one by one; the members differ" || bad "ensemble run folder"
ee=$("$k" eval --model "$dir/ens2" --input "$dir/s1/test.tsv" --json 2>/dev/null | tail -1 | grep -o '"accuracy":[^,}]*' | cut -d: -f2)
awk -v a="$ee" -v b="$ea" 'BEGIN { exit !(a != "" && a - b < 1e-9 && b - a < 1e-9) }' &&
  ok "eval of the ensemble run: accuracy $ee = train's ensemble validation" || bad "ensemble eval $ee != $ea"
bad_input "--ensemble 0" "--ensemble must be 1 to 64" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/x" --steps 1 --ensemble 0
bad_input "--ensemble with --resume of one model's run" "one model's run folder resumes without --ensemble" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --resume "$dir/ens2/member-1" --steps 4 --ensemble 2
bad_input "--ensemble --resume into another --out" "an ensemble continues in its own folder" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --resume "$dir/ens2" --out "$dir/x" --steps 4 --ensemble 2

# ---- --jobs: members trained at once in processes = one after another; stop, resume, failure ----
ens() { # out, extra options...
  local out="$1"; shift
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --valid "$dir/s1/test.tsv" --ensemble 3 --steps 6 \
    --threads 1 --json "$@" > "$dir/$out.out" 2>"$dir/$out.err"
}
same_members() { for m in 1 2 3; do cmp -s "$dir/$1/member-$m/model.safetensors" "$dir/$2/member-$m/model.safetensors" || return 1; done; }
ens ensq --out "$dir/ensq" || { bad "train --ensemble 3"; cat "$dir/ensq.err"; }
ens ensj --out "$dir/ensj" --jobs 2 || { bad "train --ensemble 3 --jobs 2"; cat "$dir/ensj.err"; }
if same_members ensq ensj && [ -n "$(jget "$dir/ensq.out" val_accuracy)" ] &&
   [ "$(jget "$dir/ensq.out" val_accuracy)" = "$(jget "$dir/ensj.out" val_accuracy)" ] &&
   grep -q "^krait-dna member-3: ensemble member 3 of 3 (seed 3)" "$dir/ensj.err"; then
  ok "--jobs 2: the 3 members bit for bit those trained one after another; the same ensemble figure"
else bad "--jobs members differ"; cat "$dir/ensj.err"; fi
# a member killed during its first save (a checkpoints/ folder, no complete checkpoint) starts anew on --resume
cp -r "$dir/ensq" "$dir/ensf" && rm -rf "$dir/ensf/member-3" &&
  find "$dir/ensf/member-2" -mindepth 1 ! -name classes.txt -exec rm -rf {} + && mkdir -p "$dir/ensf/member-2/checkpoints/step-3.tmp-k1l2m3"
ens ensf --resume "$dir/ensf" && same_members ensq ensf &&
  ok "--resume: a member killed in its first save trains anew (the members as uninterrupted)" || { bad "resume an unsaved member"; cat "$dir/ensf.err"; }
# the ensemble's validation after the members runs on the threads they had between them (2 x 1)
pt=$(( $(nproc) < 2 ? $(nproc) : 2 ))
grep -q "^krait-dna: device cpu ($pt thread" "$dir/ensj.err" &&
  ok "--jobs 2 --threads 1: the ensemble's validation runs on $pt thread(s)" ||
  { bad "--jobs parent threads"; grep "device cpu" "$dir/ensj.err"; }
# a stop (SIGTERM to the parent alone) reaches every running member, which checkpoints, and no
# member starts after it
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --ensemble 3 --steps 100000 --threads 1 --jobs 2 \
  --out "$dir/enss" > /dev/null 2>"$dir/enss.err" &
pid=$!
for _ in $(seq 100); do [ "$(grep -c "step 0: checkpoint\|budget" "$dir/enss.err")" -ge 2 ] && break; sleep 0.1; done
kill -TERM $pid
wait $pid
src=$?
n_int=$(grep -c "interrupted at step .*the same command with --resume $dir/enss)" "$dir/enss.err")
if [ $src = 130 ] && [ "$n_int" = 2 ] && [ -d "$dir/enss/member-1/checkpoints" ] && [ -d "$dir/enss/member-2/checkpoints" ] &&
   [ ! -d "$dir/enss/member-3/checkpoints" ] && ! grep -q "exit code" "$dir/enss.err"; then
  ok "--jobs: SIGTERM to the parent: exit 130, both running members checkpointed, the third not started"
else bad "--jobs stop: exit $src, $n_int interrupted lines"; cat "$dir/enss.err"; fi
# Ctrl-C reaches the whole process group: the members have the user's SIGINT and the parent's
# stop on top of it, which must not be the second signal that exits without a checkpoint
setsid "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --ensemble 2 --steps 100000 --threads 1 \
  --jobs 2 --out "$dir/ensc" > /dev/null 2>"$dir/ensc.err" &
pid=$!
for _ in $(seq 100); do [ "$(grep -c "budget" "$dir/ensc.err")" -ge 2 ] && break; sleep 0.1; done
sleep 0.5
kill -INT -- -$pid
wait $pid
src=$?
if [ $src = 130 ] && [ "$(grep -c "interrupted at step" "$dir/ensc.err")" = 2 ] &&
   [ -d "$dir/ensc/member-1/checkpoints" ] && [ -d "$dir/ensc/member-2/checkpoints" ]; then
  ok "--jobs: Ctrl-C to the process group: exit 130, both members checkpointed"
else bad "--jobs group SIGINT: exit $src"; cat "$dir/ensc.err"; fi
ens enst --out "$dir/enst" --jobs 3 --stop-at 4
rm -r "$dir/enst/member-3"
ens ensr --resume "$dir/enst" --jobs 3 || { bad "--ensemble --resume"; cat "$dir/ensr.err"; }
ens ensu --out "$dir/ensu" --jobs 3
if [ "$(grep -c "continuing its checkpoint" "$dir/ensr.err")" = 2 ] && same_members enst ensu &&
   [ "$(jget "$dir/ensr.out" val_accuracy)" = "$(jget "$dir/ensu.out" val_accuracy)" ]; then
  ok "--ensemble 3 --resume OUT: members 1-2 continue their checkpoints, 3 starts; = the uninterrupted ensemble"
else bad "ensemble resume"; cat "$dir/ensr.err"; fi
# the parent killed outright (kill -9): its members stop by themselves, with a checkpoint
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --ensemble 2 --steps 100000 --threads 1 --jobs 2 \
  --out "$dir/ensk" > /dev/null 2>"$dir/ensk.err" &
pid=$!
for _ in $(seq 100); do [ "$(grep -c "budget" "$dir/ensk.err")" -ge 2 ] && break; sleep 0.1; done
{ kill -KILL $pid; wait $pid; } 2>/dev/null # (bash's "Killed" notice)
for _ in $(seq 100); do [ "$(grep -c "interrupted at step" "$dir/ensk.err")" -ge 2 ] && break; sleep 0.1; done
sleep 0.3
if [ "$(grep -c "interrupted at step" "$dir/ensk.err")" = 2 ] && [ -d "$dir/ensk/member-2/checkpoints" ] &&
   ! pgrep -f -- "--out $dir/ensk" > /dev/null; then
  ok "--jobs: the parent killed (-9): both members checkpoint and exit"
else bad "--jobs members outlive their parent"; cat "$dir/ensk.err"; pkill -f -- "--out $dir/ensk"; fi
# an ignored SIGCHLD (inherited through exec) must not hide the members from the parent
( trap '' CHLD; exec "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --ensemble 3 --steps 2 --threads 1 \
  --jobs 2 --out "$dir/ensi" > /dev/null 2>"$dir/e" )
irc=$?
[ $irc = 0 ] && [ -f "$dir/ensi/member-3/model.safetensors" ] &&
  ok "--jobs with SIGCHLD ignored by the caller: all 3 members trained" || { bad "--jobs SIGCHLD ignored: exit $irc"; ls "$dir/ensi"; }
# --init with an ensemble's --resume: a member never begun starts from the --init model
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --ensemble 2 --steps 4 --threads 1 --init "$dir/lm" \
  --out "$dir/ensiu" > /dev/null 2>&1
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --ensemble 2 --steps 4 --threads 1 --init "$dir/lm" \
  --out "$dir/ensii" --stop-at 2 > /dev/null 2>&1
rm -r "$dir/ensii/member-2"
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --ensemble 2 --steps 4 --threads 1 --init "$dir/lm" \
  --resume "$dir/ensii" > /dev/null 2>"$dir/e" || { bad "ensemble --resume --init"; cat "$dir/e"; }
cmp -s "$dir/ensiu/member-1/model.safetensors" "$dir/ensii/member-1/model.safetensors" &&
  cmp -s "$dir/ensiu/member-2/model.safetensors" "$dir/ensii/member-2/model.safetensors" && ! grep -q "not used" "$dir/e" &&
  ok "--ensemble --resume --init: member 1 continues, member 2 starts from --init: = the run straight through" ||
  { bad "ensemble resume with --init differs"; cat "$dir/e"; }
rm -r "$dir/ensu/member-2/checkpoints"
bad_input "--resume an ensemble whose member has a model but no checkpoint" "member-2 holds a model but no checkpoint to continue" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --resume "$dir/ensu" --steps 6 --ensemble 3
bad_input "--resume an ensemble with fewer members" "it holds member-3, more members than --ensemble 2" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --resume "$dir/enst" --steps 6 --ensemble 2
bad_input "--resume an ensemble without --ensemble" "an ensemble's folder (member-1, ...): resume it with --ensemble N" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --resume "$dir/enst" --steps 6
# a member folder that cannot be made fails the run before any member trains (one line)
mkdir -p "$dir/ensm" && touch "$dir/ensm/member-3"
bad_input "an ensemble member's folder is a file" "ensm/member-3: exists and is not a folder" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --ensemble 3 --steps 6 --out "$dir/ensm" --jobs 2
[ ! -e "$dir/ensm/member-1/model.safetensors" ] && ok "... and no member trained" || bad "a member trained before the bad folder was seen"
# a member that fails while the others train (a damaged checkpoint on --resume): exit 2, the others stopped
ens ensf --out "$dir/ensf" --stop-at 2
echo garbage > "$(ls -d "$dir"/ensf/member-2/checkpoints/step-*)/trainer_state.json"
ens ensf2 --resume "$dir/ensf" --jobs 2
frc=$?
if [ $frc = 2 ] && grep -q "member-2: error: " "$dir/ensf2.err" &&
   grep -q "ensemble member 2 stopped (exit code 2)" "$dir/ensf2.err" && ! grep -q "member-3: " "$dir/ensf2.err"; then
  ok "--jobs: a member that fails (damaged checkpoint) fails the run (exit 2); member 3 never starts"
else bad "--jobs failure: exit $frc"; cat "$dir/ensf2.err"; fi
bad_input "--jobs without --ensemble" "give --ensemble N too" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/x" --steps 1 --jobs 2
bad_input "--jobs 0" "--jobs must be 1 to 64" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/x" --steps 1 --jobs 0 --ensemble 2
# the memory check counts every member trained at once: a batch that needs about 60 % of this
# machine's memory (scaled from the figure a huge batch is refused with) passes alone, and two at
# once are refused before anything is allocated; the members' folders made for them go too
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/x" --steps 1 --device cpu \
  --batch 1000000 > /dev/null 2>"$dir/mem.err"
need=$(grep -o 'needs about [0-9.]* GB' "$dir/mem.err" | grep -o '[0-9.]*')
have=$(grep -o "machine's [0-9.]* GB" "$dir/mem.err" | grep -o '[0-9.]*')
if [ -n "$need" ] && [ -n "$have" ]; then
  b=$(awk -v n="$need" -v h="$have" 'BEGIN { printf "%d", 1000000 * 0.6 * h / n }')
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/x" --steps 1 --device cpu --threads 1 \
    --ensemble 2 --jobs 2 --batch "$b" > /dev/null 2>"$dir/mem2.err"
  mrc=$?
  if [ $mrc -eq 2 ] && grep -q "needs about .* GB of memory (2 processes at once: fewer --jobs), more than" "$dir/mem2.err" &&
     [ ! -e "$dir/x" ]; then
    ok "--jobs 2 with a batch that fits one process ($b): refused, the need counted twice; no run folder left"
  else bad "--jobs memory check: exit $mrc"; cat "$dir/mem2.err"; fi
else bad "memory figure of a huge batch: $(cat "$dir/mem.err")"; fi
# member folders that hold no run (an ensemble stopped before its members began) are no run: a
# new run takes the folder and drops them; a later member that holds one makes the folder a run
mkdir -p "$dir/em/member-1" "$dir/em/member-2" && echo 0 > "$dir/em/member-1/classes.txt"
if "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/em" --steps 1 --threads 1 > /dev/null 2>"$dir/e" &&
   [ -f "$dir/em/model.safetensors" ] && [ ! -e "$dir/em/member-1" ] && [ ! -e "$dir/em/member-2" ]; then
  ok "train into a folder of empty member folders: trained, the member folders gone"
else bad "train over empty members"; cat "$dir/e"; ls -R "$dir/em"; fi
mkdir -p "$dir/em2/member-1" "$dir/em2/member-2" && echo '{}' > "$dir/em2/member-2/metrics.jsonl"
bad_input "a member that holds a run" "already holds a run (member-2)" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/em2" --steps 1 --threads 1
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --classes 1,0 --out "$dir/r10" --steps 1 >/dev/null 2>&1
bad_input "ensemble with other classes" "classes (classes.txt) differ from those of" -- \
  "$k" eval --model "$dir/cls" --model "$dir/r10" --input "$dir/s1/test.tsv"

# ---- run folders: --overwrite deletes only once the command is ready; --resume into another run;
# a resumed run keeps its classes; member gaps; members locked; --resume messages --------------
T() { "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --threads 1 "$@"; }
T --out "$dir/ow" --steps 2 > /dev/null 2>&1
cp "$dir/ow/model.safetensors" "$dir/ow.model"
bad_input "--overwrite with a mistyped --config" "nope.json" -- \
  "$k" train --config "$dir/nope.json" --train "$dir/s1/train.tsv" --out "$dir/ow" --steps 2 --overwrite
bad_input "--overwrite with a mistyped --train" "trian.tsv" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/trian.tsv" --out "$dir/ow" --steps 2 --overwrite
bad_input "--overwrite of the folder --init reads" "--init $dir/ow lies in the run folder that --overwrite empties" -- \
  T --init "$dir/ow" --out "$dir/ow" --steps 2 --overwrite
cmp -s "$dir/ow.model" "$dir/ow/model.safetensors" && [ -e "$dir/ow/checkpoints/latest" ] && [ -e "$dir/ow/metrics.jsonl" ] &&
  ok "... and the old run is still all there" || { bad "a failed --overwrite deleted the old run"; ls "$dir/ow"; }
T --out "$dir/rA" --steps 4 --stop-at 2 > /dev/null 2>&1
T --out "$dir/rB" --steps 4 --seed 7 > /dev/null 2>&1
cp "$dir/rB/model.safetensors" "$dir/rB.model"
bad_input "--resume A --out B, B another run" "already holds a run (checkpoints), not the one --resume $dir/rA continues" -- \
  T --resume "$dir/rA" --out "$dir/rB" --steps 4
cmp -s "$dir/rB.model" "$dir/rB/model.safetensors" && ok "... B untouched" || bad "--resume into another run changed it"
T --resume "$dir/rA" --out "$dir/rC" --steps 4 > /dev/null 2>"$dir/e" && [ -f "$dir/rC/model.safetensors" ] &&
  ok "--resume A --out C, C new: continued there" || { bad "--resume into a new folder"; cat "$dir/e"; }
sed 's/\t0$/\tneg/; s/\t1$/\tpos/' "$dir/s1/train.tsv" > "$dir/named.tsv"
cp "$dir/rA/classes.txt" "$dir/rA.classes"
bad_input "--resume with other labels" "the run's classes are 0, 1" -- \
  "$k" train --config "$dir/tiny.json" --threads 1 --train "$dir/named.tsv" --resume "$dir/rA" --steps 4
bad_input "--resume with --classes in another order" "these are 1, 0" -- T --classes 1,0 --resume "$dir/rA" --steps 4
"$k" train --config "$dir/tiny.json" --threads 1 --train "$dir/named.tsv" --resume "$dir/rA/checkpoints/step-2" \
  --out "$dir/rD" --steps 4 > /dev/null 2>"$dir/e"
[ $? -eq 2 ] && grep -q 'trained on the classes \["0","1"\], these are neg, pos' "$dir/e" &&
  ok "a checkpoint resumed elsewhere with other labels: $(grep error "$dir/e")" || { bad "checkpoint with other labels"; cat "$dir/e"; }
cmp -s "$dir/rA.classes" "$dir/rA/classes.txt" && ok "... the run's classes.txt unchanged" || bad "a refused resume rewrote classes.txt"
T --ensemble 2 --steps 2 --out "$dir/gap" > /dev/null 2>&1
rm -r "$dir/gap/member-1"
bad_input "a new run over an ensemble with a gap" "already holds a run (member-2)" -- T --ensemble 2 --steps 2 --out "$dir/gap"
bad_input "eval of an ensemble with a gap" "no member-1 of the ensemble's 2" -- \
  "$k" eval --model "$dir/gap" --input "$dir/s1/test.tsv"
bad_input "--resume of a folder that is not there" "no such checkpoint or run folder (--resume)" -- \
  T --resume "$dir/nothere" --steps 4
mkdir -p "$dir/mo" && cp "$dir/rB/model.safetensors" "$dir/rB/config.json" "$dir/mo/"
bad_input "--resume of a model folder" "no checkpoint to continue" -- T --resume "$dir/mo" --steps 4
bad_input "--resume of a model folder into itself" "no checkpoint to continue" -- T --resume "$dir/mo" --out "$dir/mo" --steps 4
[ ! -e "$dir/mo/classes.txt" ] && ok "... nothing written there" || bad "a refused --resume wrote into its folder"
bad_input "a failed run in new nested folders" "nope.json" -- \
  "$k" train --config "$dir/nope.json" --train "$dir/s1/train.tsv" --out "$dir/new1/new2" --steps 2
[ ! -e "$dir/new1" ] && ok "... and neither folder is left" || bad "a failed run left $dir/new1"
# a member being trained is locked: another command that wants its folder is refused
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --threads 1 --ensemble 2 --steps 100000 \
  --out "$dir/lk" > /dev/null 2>"$dir/lk.err" & # not through T: $! must be krait-dna's own
lkpid=$!
for _ in $(seq 100); do [ -s "$dir/lk/member-1/metrics.jsonl" ] && break; sleep 0.1; done
bad_input "a running member's folder" "another krait process is writing this run folder now" -- \
  T --out "$dir/lk/member-1" --steps 2 --overwrite
kill -TERM $lkpid; wait $lkpid
lkrc=$?
[ $lkrc -eq 130 ] && ok "... and that ensemble stops on SIGTERM (exit 130)" || { bad "locked ensemble: exit $lkrc"; kill -9 $lkpid 2>/dev/null; }

# ---- --keep-best: OUT ends with the best validation's model; --resume keeps the best so far -
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --valid "$dir/s1/test.tsv" --out "$dir/kb" --steps 8 \
  --lr 3e-2 --threads 1 --eval-every 1 --keep-best --json > "$dir/kb.out" 2>"$dir/e" || { bad "train --keep-best"; cat "$dir/e"; }
# the first step with the highest validation accuracy in metrics.jsonl
want=$(grep val_accuracy "$dir/kb/metrics.jsonl" | sed 's/.*"step":\([0-9]*\).*"val_accuracy":\([^,}]*\).*/\1 \2/' |
  awk '$2 > b || b == "" { b = $2; s = $1 } END { print s, b }')
got="$(jget "$dir/kb.out" best_step) $(jget "$dir/kb.out" best_val)"
kacc=$("$k" eval --model "$dir/kb" --input "$dir/s1/test.tsv" --json 2>/dev/null | tail -1 | grep -o '"accuracy":[^,}]*' | cut -d: -f2)
if [ "$(grep -c val_accuracy "$dir/kb/metrics.jsonl")" = 8 ] && [ "${want% *}" = "${got% *}" ] &&
   awk -v a="${want#* }" -v b="${got#* }" -v c="$kacc" 'BEGIN { exit !(a - b < 1e-9 && b - a < 1e-9 && c - b < 1e-9 && b - c < 1e-9) }' &&
   cmp -s "$dir/kb/model.safetensors" "$dir/kb/best/model.safetensors" && grep -q "kept the best validation" "$dir/kb.out"; then
  ok "train --keep-best: OUT = OUT/best = the first best of 8 validations (step ${got% *}, accuracy ${got#* }, eval $kacc)"
else bad "--keep-best: want $want, got $got, eval $kacc"; cat "$dir/kb.out"; fi
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --valid "$dir/s1/test.tsv" --out "$dir/kb3" --steps 8 \
  --lr 3e-2 --threads 1 --stop-at 7 --eval-every 1 --keep-best --json > "$dir/kb3s.out" 2>/dev/null
# stopped is not finished: OUT keeps step 7's model (the best is step ${got% *}), the summary says how to go on
[ "${got% *}" != 7 ] && cmp -s "$dir/kb3/model.safetensors" "$dir/kb3/checkpoints/step-7/model.safetensors" &&
  grep -q "^stopped at step 7; checkpoint in $dir/kb3 (continue: the same command without --stop-at, or with a later one, and --resume $dir/kb3)" "$dir/kb3s.out" &&
  [ "$(jget "$dir/kb3s.out" stopped_at)" = 7 ] && ! grep -q "kept the best" "$dir/kb3s.out" &&
  ok "train --keep-best --stop-at 7: OUT holds step 7's model, not the best so far; the summary says stopped" ||
  { bad "--keep-best --stop-at"; cat "$dir/kb3s.out"; }
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --valid "$dir/s1/test.tsv" --resume "$dir/kb3" --steps 8 \
  --lr 3e-2 --threads 1 --eval-every 1 --keep-best --json > "$dir/kb3.out" 2>"$dir/e" || { bad "train --keep-best --resume"; cat "$dir/e"; }
[ "$(jget "$dir/kb3.out" best_step) $(jget "$dir/kb3.out" best_val)" = "$got" ] &&
  cmp -s "$dir/kb/model.safetensors" "$dir/kb3/model.safetensors" &&
  ok "train --keep-best: stopped at 7 of 8 + --resume keeps the same best (same model file)" ||
  { bad "--keep-best across --resume"; cat "$dir/kb3.out"; }
# --best-by nll: the first validation with the lowest log-loss; at lr 0.15 that is step 6 of 8, where
# the accuracy is at its worst (0.42 against 0.5) and which is not the last step
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --valid "$dir/s1/test.tsv" --out "$dir/kbn" --steps 8 \
  --lr 1.5e-1 --threads 1 --eval-every 1 --keep-best --best-by nll --json > "$dir/kbn.out" 2>"$dir/e" || { bad "train --best-by nll"; cat "$dir/e"; }
wantn=$(grep val_nll "$dir/kbn/metrics.jsonl" | sed 's/.*"step":\([0-9]*\).*"val_nll":\([^,}]*\).*/\1 \2/' |
  awk 'b == "" || $2 < b { b = $2; s = $1 } END { print s, b }')
gotn="$(jget "$dir/kbn.out" best_step) $(jget "$dir/kbn.out" best_val)"
[ "${wantn% *}" = "${gotn% *}" ] && [ "${gotn% *}" != 8 ] && [ "$(jget "$dir/kbn.out" best_by)" = '"nll"' ] &&
  awk -v a="${wantn#* }" -v b="${gotn#* }" 'BEGIN { exit !(a - b < 1e-9 && b - a < 1e-9) }' &&
  cmp -s "$dir/kbn/model.safetensors" "$dir/kbn/best/model.safetensors" &&
  ok "train --keep-best --best-by nll: OUT = the first lowest log-loss of 8 validations (step ${gotn% *}, nll ${gotn#* })" ||
  { bad "--best-by nll: want $wantn, got $gotn"; cat "$dir/kbn.out"; }
# ... and the summary (line and JSON) gives the kept model's validation figures, not the last step's
acc6=$(grep "\"step\":${gotn% *}," "$dir/kbn/metrics.jsonl" | grep -o '"val_accuracy":[^,}]*' | cut -d: -f2)
acc8=$(grep '"step":8,' "$dir/kbn/metrics.jsonl" | grep -o '"val_accuracy":[^,}]*' | cut -d: -f2)
awk -v a="$acc6" -v b="$(jget "$dir/kbn.out" val_accuracy)" -v n="${gotn#* }" -v m="$(jget "$dir/kbn.out" val_nll)" \
  -v l="$acc8" 'BEGIN { exit !(a - b < 1e-9 && b - a < 1e-9 && n - m < 1e-9 && m - n < 1e-9 && (a - l > 1e-9 || l - a > 1e-9)) }' &&
  grep -q "validation accuracy $(printf '%.4f' "$acc6"); model in $dir/kbn" "$dir/kbn.out" &&
  ok "  ... its summary: the kept step's accuracy $acc6 (the last step's: $acc8) and log-loss" ||
  { bad "--keep-best summary: kept step's accuracy $acc6, last $acc8"; cat "$dir/kbn.out"; }
# --best-by auroc on validation rows of one class: no AUROC, so nothing is kept, and it says so
awk -F'\t' 'NR == 1 || $2 == 1' "$dir/s1/test.tsv" > "$dir/one.tsv"
"$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --valid "$dir/one.tsv" --out "$dir/kba" --steps 3 \
  --threads 1 --eval-every 1 --keep-best --best-by auroc > "$dir/kba.out" 2>"$dir/e" &&
  grep -q "no validation had a --best-by auroc figure" "$dir/kba.out" && [ ! -e "$dir/kba/best" ] &&
  ok "train --best-by auroc on one class: the last model stays, with one line saying why" ||
  { bad "--best-by auroc on one class"; cat "$dir/kba.out" "$dir/e"; }
bad_input "--best-by without --keep-best" "give --keep-best too" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --valid "$dir/s1/test.tsv" --out "$dir/x" --steps 1 --best-by nll
bad_input "--best-by unknown" "want accuracy, mcc, auroc or nll" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --valid "$dir/s1/test.tsv" --out "$dir/x" --steps 1 --keep-best --best-by loss
bad_input "--keep-best without --valid" "--keep-best needs --valid" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/x" --steps 1 --keep-best

# ---- padding: a short row in a padded batch trains as it would alone ------------------------------
# 16 rows of 10 bases and one of 64; batch 1, no RC draws. With --max-len 10 nothing is padded; with
# the default (64) every short row is padded to 64. Until the long row is first drawn (step 3 for
# this seed) both runs see the same rows, so their losses agree if padding leaves no trace.
cat > "$dir/uni.json" <<'JSON'
{ "hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 8, "state_size": 4,
  "krait": { "modality": "dna", "head": "classify", "n_classes": 2, "pooling": "mean", "tokenizer": "dna" },
  "train": { "batch": 1, "seq_len": 10, "lr": 3e-3, "warmup": 2, "steps": 2 } }
JSON
awk 'BEGIN { srand(3); print "seq\tlabel"; for (i = 0; i < 16; i++) { s = ""; for (j = 0; j < 10; j++) s = s substr("ACGT", int(rand() * 4) + 1, 1)
             print s "\t" i % 2 }
             s = ""; for (j = 0; j < 64; j++) s = s substr("ACGT", int(rand() * 4) + 1, 1); print s "\t1" }' > "$dir/mixed.tsv"
for L in 10 64; do
  "$k" train --config "$dir/uni.json" --train "$dir/mixed.tsv" --out "$dir/pad$L" --max-len $L --rc-aug 0 --threads 1 \
    >/dev/null 2>"$dir/e" || { bad "train on mixed lengths (--max-len $L)"; cat "$dir/e"; }
done
paste <(grep -o '"loss": [^,]*' "$dir/pad10/metrics.jsonl") <(grep -o '"loss": [^,]*' "$dir/pad64/metrics.jsonl") |
  awk '{ d = $2 - $4; if (d > 1e-6 || d < -1e-6) bad = 1; n++ } END { exit !(n == 2 && !bad) }' &&
  ok "padding leaves no trace: short rows padded to 64 train as unpadded (2 steps, losses within 1e-6)" ||
  { bad "padded short rows train differently"; cat "$dir/pad10/metrics.jsonl" "$dir/pad64/metrics.jsonl"; }
# the same with reverse-complement draws: only a row's bases are reverse-complemented, not its
# padding. Seed 2: a short row is reverse-complemented in the first 2 steps (with seed 1 the extra
# RC draws bring the long row, cropped under --max-len 10, in at step 2)
for L in 10 64; do
  "$k" train --config "$dir/uni.json" --train "$dir/mixed.tsv" --out "$dir/rcpad$L" --max-len $L --rc-aug 1 --seed 2 \
    --threads 1 >/dev/null 2>"$dir/e" || { bad "train on mixed lengths with --rc-aug 1 (--max-len $L)"; cat "$dir/e"; }
done
paste <(grep -o '"loss": [^,]*' "$dir/rcpad10/metrics.jsonl") <(grep -o '"loss": [^,]*' "$dir/rcpad64/metrics.jsonl") |
  awk '{ d = $2 - $4; if (d > 1e-6 || d < -1e-6) bad = 1; n++ } END { exit !(n == 2 && !bad) }' &&
  ok "padding leaves no trace under --rc-aug 1: only the bases are reverse-complemented (2 steps, losses within 1e-6)" ||
  { bad "--rc-aug moves padded rows' padding"; cat "$dir/rcpad10/metrics.jsonl" "$dir/rcpad64/metrics.jsonl"; }

# ---- class lists: integer labels sort as numbers; a class named twice is refused -------------------
printf 'seq\tlabel\nACGTAC\t2\nGGCCGG\t10\nACGTTT\t2\nGGCGCC\t10\n' > "$dir/n210.tsv"
"$k" baseline --train "$dir/n210.tsv" --test "$dir/n210.tsv" --k 2 --json 2>/dev/null | tail -1 | grep -q '"classes":\["2","10"\]' &&
  ok "labels 2 and 10: classes in numeric order (2, 10)" || bad "labels 2 and 10 not in numeric order"
bad_input "--classes with a class twice" "class '2' appears twice" -- "$k" baseline --train "$dir/n210.tsv" --test "$dir/n210.tsv" --classes 2,2

# ---- baseline ------------------------------------------------------------------------------------
"$k" baseline --train "$dir/s1/train.tsv" --test "$dir/s1/test.tsv" --k 3 --epochs 3 --json > "$dir/bl" 2>"$dir/e" &&
  [ "$(jget "$dir/bl" n)" = 12 ] && grep -q '"model":"kmer-logreg"' "$dir/bl" && ok "baseline: $(head -1 "$dir/bl")" ||
  { bad "baseline"; cat "$dir/e" "$dir/bl"; }
"$k" baseline --train "$dir/s1/train.tsv" --test "$dir/s1/test.tsv" --k 3 --epochs 3 --output "$dir/blp.tsv" \
  --confusion "$dir/blcm.svg" --json > "$dir/bl2" 2>"$dir/e" || { bad "baseline --output"; cat "$dir/e"; }
bacc=$(jget "$dir/bl2" accuracy)
[ "$(head -1 "$dir/blp.tsv")" = "$(printf 'id\tpredicted\tp_0\tp_1')" ] && [ "$(wc -l < "$dir/blp.tsv")" = 13 ] &&
  [ "$(cut -f1 "$dir/blp.tsv")" = "$(cut -f1 "$dir/pred.tsv")" ] && grep -q "<svg" "$dir/blcm.svg" &&
  awk -F'\t' -v a="$bacc" 'NR == FNR { if (FNR > 1) y[FNR] = $2; next }
    FNR > 1 { s = $3 + $4; if (s < 0.9999 || s > 1.0001) exit 1; if (($4 > $3) != ($2 == "1")) exit 1; r += $2 == y[FNR]; n++ }
    END { exit !(n == 12 && r / n - a < 1e-9 && a - r / n < 1e-9) }' "$dir/s1/test.tsv" "$dir/blp.tsv" &&
  ok "baseline --output: predict's TSV format and ids, argmax classes, its accuracy $bacc; --confusion SVG" ||
  { bad "baseline --output"; head -3 "$dir/blp.tsv"; }

# the baseline learns: GC-rich (1) against AT-rich (0) random sequences, 2-mers, all held out right
awk 'function base(y, r) { if (y) return r < 0.4 ? "G" : r < 0.8 ? "C" : r < 0.9 ? "A" : "T"
                           return r < 0.4 ? "A" : r < 0.8 ? "T" : r < 0.9 ? "G" : "C" }
  BEGIN { srand(7); print "seq\tlabel"
    for (i = 0; i < 240; i++) { y = i % 2; s = ""; for (j = 0; j < 60; j++) s = s base(y, rand()); print s "\t" y } }' \
  > "$dir/gc.tsv"
head -161 "$dir/gc.tsv" > "$dir/gc_train.tsv"
{ head -1 "$dir/gc.tsv"; tail -80 "$dir/gc.tsv"; } > "$dir/gc_test.tsv"
"$k" baseline --train "$dir/gc_train.tsv" --test "$dir/gc_test.tsv" --k 2 --json --threads 1 > "$dir/blgc" 2>"$dir/e"
awk -v a="$(jget "$dir/blgc" accuracy)" -v u="$(jget "$dir/blgc" auroc)" 'BEGIN { exit !(a >= 0.95 && u >= 0.99) }' &&
  ok "baseline on GC-rich against AT-rich rows: accuracy $(jget "$dir/blgc" accuracy), AUROC $(jget "$dir/blgc" auroc)" ||
  { bad "baseline does not learn a separable task"; cat "$dir/blgc" "$dir/e"; }
# the penalty shrinks the weights: with --l2 10 the test probabilities lie nearer 1/2 than with 1e-4
for l2 in 0.0001 10; do
  "$k" baseline --train "$dir/gc_train.tsv" --test "$dir/gc_test.tsv" --k 2 --l2 $l2 --output "$dir/blgc$l2.tsv" --json \
    --threads 1 > "$dir/blgcj$l2" 2>"$dir/e" || { bad "baseline --l2 $l2"; cat "$dir/e"; }
done
spread() { awk -F'\t' 'NR > 1 { d = $3 - 0.5; s += d < 0 ? -d : d; n++ } END { printf "%.4f", s / n }' "$1"; }
lo=$(spread "$dir/blgc0.0001.tsv") hi=$(spread "$dir/blgc10.tsv")
awk -v a="$lo" -v b="$hi" 'BEGIN { exit !(b < a - 0.05) }' && [ "$(jget "$dir/blgcj10" l2)" = 10 ] &&
  ok "baseline --l2: mean |p - 1/2| $lo at 1e-4, $hi at 10 (a penalty shrinks)" ||
  { bad "baseline --l2 does not shrink ($lo, $hi)"; cat "$dir/blgcj10"; }
# the penalty is chosen on held-out training rows: with 30% of the labels flipped, 4-mers fit the
# noise (a fit-row choice takes 1e-4, right on ~83% of its own rows) while held out a large
# penalty is best (1e-4: 0.58, 10: 0.72)
awk 'function base(y, r) { if (y) return r < 0.3 ? "G" : r < 0.6 ? "C" : r < 0.8 ? "A" : "T"
                           return r < 0.3 ? "A" : r < 0.6 ? "T" : r < 0.8 ? "G" : "C" }
  BEGIN { srand(11); print "seq\tlabel"
    for (i = 0; i < 600; i++) { y = i % 2; s = ""; for (j = 0; j < 40; j++) s = s base(y, rand())
                                if (rand() < 0.3) y = 1 - y; print s "\t" y } }' > "$dir/noisy.tsv"
head -501 "$dir/noisy.tsv" > "$dir/noisy_train.tsv"
{ head -1 "$dir/noisy.tsv"; tail -100 "$dir/noisy.tsv"; } > "$dir/noisy_test.tsv"
"$k" baseline --train "$dir/noisy_train.tsv" --test "$dir/noisy_test.tsv" --k 4 --json --threads 1 > "$dir/blno" 2>"$dir/e"
awk -v l="$(jget "$dir/blno" l2)" 'BEGIN { exit !(l >= 1) }' &&
  ok "baseline: the penalty chosen on held-out rows of a noisy task is large ($(jget "$dir/blno" l2))" ||
  { bad "baseline chose penalty $(jget "$dir/blno" l2) on noisy labels (want >= 1)"; cat "$dir/e"; }
# a tenth of each class is held out (64 rows: 58 fit, 6 held out); there every penalty is right on all 6,
# and of tied penalties the first (smallest) is kept
"$k" baseline --train "$data/promoters_tiny.tsv" --test "$data/promoters_tiny.tsv" --k 2 --json --threads 1 \
  > "$dir/bltie" 2>"$dir/e" || { bad "baseline on promoters_tiny"; cat "$dir/e"; }
[ "$(grep -c "(58 fit, 6 held out)" "$dir/e")" = 6 ] && ok "baseline: the penalty is chosen on a held-out tenth (58 fit, 6 held out)" ||
  { bad "baseline's held-out rows"; cat "$dir/e"; }
[ "$(grep -c "held-out accuracy 1.0000" "$dir/e")" = 6 ] && [ "$(jget "$dir/bltie" l2)" = 0.0001 ] &&
  ok "baseline: of penalties tied on the held-out rows the smallest (1e-4) is kept" ||
  { bad "baseline tie: l2 $(jget "$dir/bltie" l2), want 0.0001 of 6 penalties all right on the held-out rows"; cat "$dir/e"; }

# ---- compare: accuracies, bootstrap interval, McNemar on hand-made predictions --------------------
"$k" compare --input "$dir/s1/test.tsv" --pred "$dir/pred.tsv" --pred "$dir/blp.tsv" --json > "$dir/cmp" 2>"$dir/e" &&
  awk -v a="$acc" -v b="$(jget "$dir/cmp" accuracy_a)" -v c="$bacc" -v d="$(jget "$dir/cmp" accuracy_b)" \
    'BEGIN { exit !(a - b < 1e-9 && b - a < 1e-9 && c - d < 1e-9 && d - c < 1e-9) }' &&
  ok "compare: predict vs baseline accuracies = eval's and baseline's ($acc, $bacc)" || { bad "compare"; cat "$dir/e" "$dir/cmp"; }
awk -v a="$(jget "$dir/ev" auroc)" -v b="$(jget "$dir/cmp" auroc_a)" -v c="$(jget "$dir/bl2" auroc)" -v d="$(jget "$dir/cmp" auroc_b)" \
  -v l="$(jget "$dir/cmp" auroc_ci_low)" -v h="$(jget "$dir/cmp" auroc_ci_high)" \
  'BEGIN { exit !(a != "" && c != "" && a - b < 1e-6 && b - a < 1e-6 && c - d < 1e-6 && d - c < 1e-6 && l <= b - d && b - d <= h) }' &&
  ok "compare: AUROCs = eval's and baseline's, their difference inside its interval" || { bad "compare AUROC"; cat "$dir/cmp"; }
# B's class columns in the other order (p_1 before p_0): matched by name, the same AUROC
awk -F'\t' -v OFS='\t' '{ t = $3; $3 = $4; $4 = t; print }' "$dir/blp.tsv" > "$dir/blp_swap.tsv"
"$k" compare --input "$dir/s1/test.tsv" --pred "$dir/pred.tsv" --pred "$dir/blp_swap.tsv" --json > "$dir/cmp2" 2>"$dir/e" &&
  awk -v b="$(jget "$dir/cmp" auroc_b)" -v d="$(jget "$dir/cmp2" auroc_b)" 'BEGIN { exit !(d != "" && b - d < 1e-6 && d - b < 1e-6) }' &&
  ok "compare: a file with its class columns in the other order has the same AUROC" ||
  { bad "compare swapped columns"; cat "$dir/e" "$dir/cmp2"; }
"$k" compare --input "$dir/s1/test.tsv" --pred "$dir/pred.tsv" --pred "$dir/pred.tsv" --json > "$dir/cmp" 2>"$dir/e" &&
  [ "$(jget "$dir/cmp" difference)" = 0 ] && [ "$(jget "$dir/cmp" mcnemar_p)" = 1 ] && [ "$(jget "$dir/cmp" ci_low)" = 0 ] &&
  [ "$(jget "$dir/cmp" ci_high)" = 0 ] && [ "$(jget "$dir/cmp" auroc_ci_low)" = 0 ] && [ "$(jget "$dir/cmp" auroc_ci_high)" = 0 ] &&
  ok "compare: a model with itself: difference 0, intervals [0, 0], p 1" ||
  { bad "compare with itself"; cat "$dir/e" "$dir/cmp"; }
# 10 rows of class 1: A right on all, B wrong on the first 5 (b = 5, c = 0): p = 2 / 2^5 = 0.0625
{ printf 'seq\tlabel\n'; for i in 1 2 3 4 5 6 7 8 9 10; do printf 'ACGTACGT\t1\n'; done; } > "$dir/ten.tsv"
awk 'BEGIN { print "id\tpredicted\tp_0\tp_1"; for (i = 2; i <= 11; i++) print "ten.tsv:" i "\t1\t0.1\t0.9" }' > "$dir/pa.tsv"
awk 'BEGIN { print "id\tpredicted\tp_0\tp_1"; for (i = 2; i <= 11; i++) print "ten.tsv:" i "\t" (i <= 6 ? 0 : 1) "\t0.5\t0.5" }' > "$dir/pb.tsv"
"$k" compare --input "$dir/ten.tsv" --pred "$dir/pa.tsv" --pred "$dir/pb.tsv" --json > "$dir/cmp" 2>"$dir/e" &&
  [ "$(jget "$dir/cmp" mcnemar_p)" = 0.0625 ] && [ "$(jget "$dir/cmp" only_a)" = 5 ] && [ "$(jget "$dir/cmp" only_b)" = 0 ] &&
  [ "$(jget "$dir/cmp" difference)" = 0.5 ] && ! grep -q auroc "$dir/cmp" && awk -v l="$(jget "$dir/cmp" ci_low)" -v h="$(jget "$dir/cmp" ci_high)" \
    'BEGIN { exit !(l >= 0.1 && l < 0.5 && h > 0.5 && h <= 0.9) }' &&
  ok "compare: 5 of 10 rows only A: McNemar p 0.0625, difference 0.5, interval $(jget "$dir/cmp" ci_low)..$(jget "$dir/cmp" ci_high)" ||
  { bad "compare hand-made"; cat "$dir/e" "$dir/cmp"; }
# the printed p: four decimals, or "< 0.0001" with its value (20 rows only A: 2 / 2^20)
"$k" compare --input "$dir/ten.tsv" --pred "$dir/pa.tsv" --pred "$dir/pb.tsv" > "$dir/cmpt" 2>&1 &&
  { printf 'seq\tlabel\n'; for i in $(seq 20); do printf 'ACGTACGT\t1\n'; done; } > "$dir/twenty.tsv" &&
  awk 'BEGIN { print "id\tpredicted\tp_0\tp_1"; for (i = 2; i <= 21; i++) print "twenty.tsv:" i "\t1\t0.1\t0.9" }' > "$dir/qa.tsv" &&
  awk 'BEGIN { print "id\tpredicted\tp_0\tp_1"; for (i = 2; i <= 21; i++) print "twenty.tsv:" i "\t0\t0.9\t0.1" }' > "$dir/qb.tsv" &&
  "$k" compare --input "$dir/twenty.tsv" --pred "$dir/qa.tsv" --pred "$dir/qb.tsv" >> "$dir/cmpt" 2>&1 &&
  grep -q "McNemar exact p = 0.0625$" "$dir/cmpt" && grep -q "McNemar exact p < 0.0001 (1.9e-06)$" "$dir/cmpt" &&
  ok "compare prints p = 0.0625, and p < 0.0001 (1.9e-06) where four decimals would show 0.0000" ||
  { bad "compare's printed p"; cat "$dir/cmpt"; }
head -6 "$dir/pa.tsv" > "$dir/short.tsv"
bad_input "compare: fewer predictions than sequences" "short.tsv: 5 predictions, the input has 10 sequences" -- \
  "$k" compare --input "$dir/ten.tsv" --pred "$dir/pa.tsv" --pred "$dir/short.tsv"
bad_pred() { # name, sed script, file: that edit of pa.tsv, compared with pa.tsv, fails with fragment $4
  sed "$2" "$dir/pa.tsv" > "$dir/$3"
  bad_input "compare: $1" "$4" -- "$k" compare --input "$dir/ten.tsv" --pred "$dir/$3" --pred "$dir/pa.tsv"
}
bad_pred "predictions naming the classes otherwise" '1s/p_0\tp_1/p_at\tp_gc/; s/\t1\t0.1/\tgc\t0.1/' names.tsv \
  "names.tsv: the input's label '1' (sequence"
bad_pred "predictions of other sequences" 's/ten.tsv:4/ten.tsv:40/' order.tsv \
  "order.tsv:4: id 'ten.tsv:40' where the input's sequence 3 is"
bad_pred "a probability that is not a number" '5s/0.9$/x/' nan.tsv \
  "nan.tsv:5: p_1 'x' is not a probability (a number in [0, 1])"
bad_input "compare: not a predictions TSV" "ten.tsv:1: not a predictions TSV" -- \
  "$k" compare --input "$dir/ten.tsv" --pred "$dir/pa.tsv" --pred "$dir/ten.tsv"
# ids name rows of files: the same file spelled another way matches, another file of the same
# name (another fold's test.tsv) does not, nor do read names that only end alike
mkdir -p "$dir/fa" "$dir/fb"
cp "$dir/ten.tsv" "$dir/fa/ten.tsv"
cp "$dir/ten.tsv" "$dir/fb/ten.tsv"
sed "s|^ten.tsv:|$dir/fa/ten.tsv:|" "$dir/pa.tsv" > "$dir/pfa.tsv"
sed "s|^ten.tsv:|$dir/fa/../fa/ten.tsv:|" "$dir/pb.tsv" > "$dir/pfb.tsv"
"$k" compare --input "$dir/fa/ten.tsv" --pred "$dir/pfa.tsv" --pred "$dir/pfb.tsv" --json > "$dir/cmp" 2>"$dir/e" &&
  [ "$(jget "$dir/cmp" only_a)" = 5 ] && ok "compare: ids of the same file spelled another way match" ||
  { bad "compare: same file, other spelling"; cat "$dir/e"; }
bad_input "compare: predictions of another file of the same name" "pfa.tsv:2: id '$dir/fa/ten.tsv:2' where the input's sequence 1 is '$dir/fb/ten.tsv:2'" -- \
  "$k" compare --input "$dir/fb/ten.tsv" --pred "$dir/pfa.tsv" --pred "$dir/pfb.tsv"
printf '>s1/1\nACGTAC\n>s2/1\nGGCC\n' > "$dir/reads.fa"
printf 'id\tpredicted\tp_0\tp_1\nzz/1\t1\t0.2\t0.8\nyy/1\t0\t0.6\t0.4\n' > "$dir/preads.tsv"
bad_input "compare: read names that only end alike" "preads.tsv:2: id 'zz/1' where the input's sequence 1 is 's1/1'" -- \
  "$k" compare --input 1="$dir/reads.fa" --pred "$dir/preads.tsv" --pred "$dir/preads.tsv"
sed 's/$/\r/' "$dir/pb.tsv" > "$dir/pcrlf.tsv"
"$k" compare --input "$dir/ten.tsv" --pred "$dir/pa.tsv" --pred "$dir/pcrlf.tsv" --json > "$dir/cmp" 2>"$dir/e" &&
  [ "$(jget "$dir/cmp" only_a)" = 5 ] && [ "$(jget "$dir/cmp" mcnemar_p)" = 0.0625 ] &&
  ok "compare: a predictions file with CRLF line ends reads as the same file with LF" || { bad "compare CRLF"; cat "$dir/e"; }
bad_pred "a predicted class the file does not have" '3s/\t1\t0.1/\tbanana\t0.1/' banana.tsv \
  "banana.tsv:3: predicted class 'banana' is not one of its classes"
bad_pred "a probability with trailing text" '4s/0.9$/0.9abc/' junk.tsv \
  "junk.tsv:4: p_1 '0.9abc' is not a probability (a number in [0, 1])"
bad_pred "the first class's probability not a number" '5s/\t0.1\t/\tabc\t/' p0.tsv "p0.tsv:5: p_0 'abc' is not a probability"
bad_pred "probabilities that do not sum to 1" '4s/0.1\t0.9/0.3\t0.9/' sum.tsv "sum.tsv:4: the probabilities sum to 1.2, not 1"
bad_pred "a predicted class that is not the most probable" '3s/\t1\t0.1/\t0\t0.1/' argmax.tsv \
  "argmax.tsv:3: predicted class '0' (p 0.1) is not the most probable (p 0.9)"
bad_pred "a row short of a column" '6s/\t0.9$//' cols.tsv "cols.tsv:6: 3 columns where the header has 4"
# split into a folder whose train.tsv is a link: the linked file written, the link kept
mkdir -p "$dir/sl" "$dir/slreal" && echo old > "$dir/slreal/train.tsv" && ln -sf ../slreal/train.tsv "$dir/sl/train.tsv"
"$k" split --input "$data/promoters_tiny.tsv" --out "$dir/sl" >/dev/null 2>&1 && [ -L "$dir/sl/train.tsv" ] &&
  [ "$(head -1 "$dir/slreal/train.tsv")" = "$(printf 'seq\tlabel')" ] && [ -s "$dir/sl/test.tsv" ] &&
  ok "split through a linked train.tsv: the file written, the link kept" || { bad "split through a link"; ls -la "$dir/sl"; }
# a label that is not UTF-8: the --json line stays UTF-8 (the bad byte as \ufffd)
awk 'BEGIN { print "seq\tlabel"; for (i = 0; i < 20; i++) print "ACGTTGCAAC" (i % 2 ? "GG\ta\377" : "CC\tb") }' > "$dir/u8.tsv"
"$k" baseline --train "$dir/u8.tsv" --test "$dir/u8.tsv" --k 1 --epochs 1 --json 2>/dev/null | tail -1 > "$dir/u8.json" &&
  iconv -f UTF-8 -t UTF-8 "$dir/u8.json" >/dev/null 2>&1 && grep -qF '"a\ufffd"' "$dir/u8.json" &&
  "$k" train --config "$dir/tiny.json" --train "$dir/u8.tsv" --out "$dir/u8m" --steps 1 >/dev/null 2>&1 &&
  "$k" eval --model "$dir/u8m" --input "$dir/u8.tsv" --json 2>/dev/null | tail -1 > "$dir/u8e.json" &&
  iconv -f UTF-8 -t UTF-8 "$dir/u8e.json" >/dev/null 2>&1 && grep -qF '"a\ufffd"' "$dir/u8e.json" &&
  ok "--json with a label that is not UTF-8: valid UTF-8, the byte as \\ufffd" || { bad "non-UTF-8 label in --json"; cat "$dir/u8.json"; }
# the printed confusion matrix lines up non-ASCII class names by character cells, not bytes
awk 'BEGIN { print "seq\tlabel"; for (i = 0; i < 20; i++) print "ACGTTGCAAC" (i % 2 ? "GG\tpromöter ✓" : "CC\tnon promoter") }' > "$dir/uni.tsv"
"$k" train --config "$dir/tiny.json" --train "$dir/uni.tsv" --out "$dir/unim" --steps 1 >/dev/null 2>&1 &&
  "$k" eval --model "$dir/unim" --input "$dir/uni.tsv" 2>/dev/null | grep -A2 "^confusion" | tail -2 > "$dir/uni.txt" &&
  [ "$(python3 -c 'import sys; print(len(set(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8"))))' "$dir/uni.txt")" = 1 ] &&
  ok "confusion rows of non-ASCII class names line up" || { bad "confusion rows misaligned"; cat "$dir/uni.txt"; }
# one class only: AUROC said to be undefined (not "nan"), compare says why it leaves it out; a
# training set too small to hold a tenth out: the L2 penalty said to be unchosen
"$k" baseline --train "$dir/s1/train.tsv" --test "$dir/ten.tsv" --k 1 --epochs 1 --l2 0.01 --output "$dir/b10.tsv" > "$dir/o" 2>&1 &&
  grep -q "AUROC n/a (one class only)" "$dir/o" && ! grep -qi nan "$dir/o" &&
  "$k" compare --input "$dir/ten.tsv" --pred "$dir/b10.tsv" --pred "$dir/b10.tsv" 2>&1 | grep -q "AUROC left out: every sequence is of class 1" &&
  { head -3 "$data/promoters_tiny.tsv"; tail -2 "$data/promoters_tiny.tsv"; } > "$dir/four.tsv" &&
  "$k" baseline --train "$dir/four.tsv" --test "$dir/s1/test.tsv" --k 1 --epochs 1 2>&1 |
  grep -q "too few training rows to hold a tenth out" && ok "one-class AUROC n/a; compare says why; no held-out rows said" ||
  { bad "one-class AUROC / no held-out rows"; cat "$dir/o"; }

# ---- bad input -----------------------------------------------------------------------------------
# a record without a label in the second file of a command is named with that file and its line
printf '>r1\nACGTACGT\n' > "$dir/unl.fa"
bad_input "train: an unlabelled record in the second --train file" "unl.fa:1: record 'r1' has no label" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --train "$dir/unl.fa" --out "$dir/x" --steps 1
bad_input "train: an unlabelled record in --valid" "unl.fa:1: record 'r1' has no label" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --valid "$dir/unl.fa" --out "$dir/x" --steps 1
bad_input "split: an unlabelled record in the second input" "unl.fa:1: record 'r1' has no label" -- \
  "$k" split --input "$dir/s1/train.tsv" --input "$dir/unl.fa" --out "$dir/x"
bad_input "baseline: an unlabelled record in the second --test file" "unl.fa:1: record 'r1' has no label" -- \
  "$k" baseline --train "$dir/s1/train.tsv" --test "$dir/s1/test.tsv" --test "$dir/unl.fa"
printf 'seq\tlabel\nACGT\t0\nTTGA\t1\n' > "$dir/two.tsv"
bad_input "split: two rows, one per class: the held-out part would be empty" "leave the held-out part empty with this fraction" -- \
  "$k" split --input "$dir/two.tsv" --out "$dir/x2"
[ ! -e "$dir/x2" ] && ok "  ... and no folder written" || bad "split wrote a folder for an empty part"
bad_input "train --out with '..' after a folder not there" "--out $dir/cls/zz/..: '..' after $dir/cls/zz, which does not exist" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --out "$dir/cls/zz/.." --steps 1
[ ! -e "$dir/cls/zz" ] && ok "  ... and no folder made" || bad "'..' past a new folder made it"
# no command writes over a file it reads
cp "$dir/s1/test.tsv" "$dir/keep.tsv"
bad_input "predict --output naming its --input" "--output $dir/keep.tsv: that is an input of this command" -- \
  "$k" predict --model "$dir/cls" --input "$dir/keep.tsv" --output "$dir/keep.tsv"
bad_input "baseline --output naming its --test" "that is an input of this command" -- \
  "$k" baseline --train "$dir/s1/train.tsv" --test "$dir/keep.tsv" --output "$dir/./keep.tsv"
mkdir -p "$dir/sd" && cp "$dir/s1/test.tsv" "$dir/sd/train.tsv"
bad_input "split --out over its own input" "--out $dir/sd/train.tsv: that is an input of this command" -- \
  "$k" split --input "$dir/sd/train.tsv" --out "$dir/sd"
echo garbage > "$dir/fake.bam"; printf '>a\nACGT\n' > "$dir/fake.cram"
bad_input "a text file named .bam" "fake.bam: named as BAM but it is not one (htslib reads it as unknown text)" -- \
  "$k" predict --model "$dir/cls" --input "$dir/fake.bam"
bad_input "a FASTA named .cram" "fake.cram: named as CRAM but it is not one (htslib reads it as FASTA" -- \
  "$k" predict --model "$dir/cls" --input "$dir/fake.cram"
cp "$dir/g.fa.fai" "$dir/g.fai0"
bad_input "predict --output naming the genome's index" "--output $dir/g.fa.fai: that is an input of this command" -- \
  "$k" predict --model "$dir/cls" --genome "$dir/g.fa" --input "$dir/long.bed" --output "$dir/g.fa.fai"
cmp -s "$dir/g.fa.fai" "$dir/g.fai0" &&
cmp -s "$dir/keep.tsv" "$dir/s1/test.tsv" && cmp -s "$dir/sd/train.tsv" "$dir/s1/test.tsv" &&
  ok "  ... and the inputs are as they were" || bad "an input was overwritten"
: > "$dir/empty.fa"
bad_input "predict: an empty second input" "empty.fa: no sequences" -- \
  "$k" predict --model "$dir/cls" --input "$dir/s1/test.tsv" --input "$dir/empty.fa" --output "$dir/x.tsv"
bad_input "predict: an empty class name in CLASS=FILE" "=$dir/unl.fa: empty class name before '='" -- \
  "$k" predict --model "$dir/cls" --input "=$dir/unl.fa"
printf 'seq\tlabel\nACGT\t0\nACQT\t1\n' > "$dir/x.tsv"
bad_input "non-IUPAC character" "x.tsv:3:3: 'Q' is not an IUPAC nucleotide code" -- "$k" predict --model "$dir/cls" --input "$dir/x.tsv"
echo old > "$dir/pp.tsv"
"$k" predict --model "$dir/cls" --input "$dir/s1/test.tsv" --input "$dir/x.tsv" --output "$dir/pp.tsv" 2>/dev/null
[ $? -eq 2 ] && [ "$(cat "$dir/pp.tsv")" = old ] && [ -z "$(ls "$dir" | grep 'pp.tsv.tmp')" ] &&
  ok "predict failing on its second input: the --output file untouched, no temporary left" || bad "partial predictions written"
printf 'seq\tlabel\nACGT\t0\n\t1\n' > "$dir/e.tsv"
bad_input "empty sequence" "e.tsv:3: empty sequence" -- "$k" eval --model "$dir/cls" --input "$dir/e.tsv"
printf '>a class=0\nACGTACGT\n>b class=\nACGTTT\n' > "$dir/emptylab.fa"
bad_input "an empty header label" "emptylab.fa:3: empty label" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/emptylab.fa" --label-key class --out "$dir/x" --steps 1
printf 'seq\tlabel\nACGT\t0\nACGT\t7\n' > "$dir/l.tsv"
bad_input "label outside the class list" "label '7' is not one of the model's classes (0, 1)" -- "$k" eval --model "$dir/cls" --input "$dir/l.tsv"
cp "$data/ce_small.fa" "$dir/noidx.fa"
bad_input "missing index" "no index" -- "$k" predict --model "$dir/cls" --genome "$dir/noidx.fa" --input "$dir/long.bed"
printf 'chrM_excerpt\t2900\t3100\n' > "$dir/past.bed"
bad_input "region past the contig end" "past.bed:1: region chrM_excerpt:2900-3100 is past the end of contig chrM_excerpt (length 3000)" -- \
  "$k" predict --model "$dir/cls" --genome "$dir/g.fa" --input "$dir/past.bed"
[ ! -s "$dir/out" ] && ok "predict to stdout: nothing printed (not even the header) when the first input is bad" ||
  { bad "predict printed before failing"; cat "$dir/out"; }
bad_input "train label outside --classes" "label '1' is not one of the model's classes (0, 2)" -- \
  "$k" train --config "$dir/tiny.json" --train "$dir/s1/train.tsv" --classes 0,2 --out "$dir/x" --steps 1
bad_input "lm config for train" "this command trains" -- "$k" train --config "$dir/tiny_lm.json" --train "$dir/s1/train.tsv" --out "$dir/x" --steps 1
bad_input "no index for --genome in train" "no index" -- "$k" train --config "$dir/tiny.json" --genome "$dir/noidx.fa" --train "$dir/long.bed" --out "$dir/x" --steps 1
# ---- cross-validation (scripts/dna-cv.sh) ------------------------------------------------------------
KRAIT_DNA="$k" "$(dirname "$0")/../../scripts/dna-cv.sh" "$data/promoters_tiny.tsv" "$dir/cv" 3 -- --config "$dir/tiny.json" \
  --steps 2 --threads 1 > "$dir/cvout" 2>"$dir/e" || { bad "dna-cv.sh"; tail -5 "$dir/e"; }
[ "$(jget "$dir/cv/compare.json" n)" = 64 ] && [ "$(wc -l < "$dir/cv/krait.tsv")" = 65 ] &&
  [ "$(wc -l < "$dir/cv/compare.json")" = 1 ] && [ "$(head -c 1 "$dir/cv/compare.json")" = "{" ] &&
  grep -q "McNemar" "$dir/cv/compare.txt" &&
  [ "$(awk 'NR > 1 { s += $2 } END { print s }' "$dir/cv/folds.tsv")" = 64 ] && grep -q "McNemar" "$dir/cvout" &&
  [ "$(grep -c '<rect' "$dir/cv/folds.svg")" = 6 ] &&
  ok "dna-cv.sh: 3 folds, all 64 rows predicted once by each, one compare, 6 bars" || { bad "dna-cv.sh output"; cat "$dir/cvout"; }
# ONLY: the folds named alone (fold 1 untouched), the same fold models as the full run's
ONLY="2 3" KRAIT_DNA="$k" "$(dirname "$0")/../../scripts/dna-cv.sh" "$data/promoters_tiny.tsv" "$dir/cv23" 3 -- \
  --config "$dir/tiny.json" --steps 2 --threads 1 > "$dir/cvout23" 2>"$dir/e" || { bad "dna-cv.sh ONLY"; tail -5 "$dir/e"; }
rows23=$(awk 'NR > 1 && $1 != 1 { s += $2 } END { print s }' "$dir/cv/folds.tsv")
[ ! -e "$dir/cv23/fold_1" ] && [ "$(jget "$dir/cv23/compare.json" n)" = "$rows23" ] &&
  [ "$(cut -f1 "$dir/cv23/folds.tsv" | tr '\n' ' ')" = "fold 2 3 " ] && grep -q ">fold 3<" "$dir/cv23/folds.svg" &&
  cmp -s <(cut -f2- "$dir/cv/fold_2/krait.tsv") <(cut -f2- "$dir/cv23/fold_2/krait.tsv") &&
  ok "dna-cv.sh ONLY=\"2 3\": $rows23 rows of folds 2 and 3, fold 1 not run, fold 2's predictions as in the full run" ||
  { bad "dna-cv.sh ONLY"; cat "$dir/cvout23" "$dir/cv23/folds.tsv"; }
# JOBS=2: folds at once, the same predictions and table as one after another; a fold that fails
# fails the run (after the others), naming its log
JOBS=2 KRAIT_DNA="$k" "$(dirname "$0")/../../scripts/dna-cv.sh" "$data/promoters_tiny.tsv" "$dir/cvj" 3 -- \
  --config "$dir/tiny.json" --steps 2 --threads 1 > "$dir/cvoutj" 2>"$dir/e" || { bad "dna-cv.sh JOBS=2"; tail -5 "$dir/e"; }
cmp -s "$dir/cv/folds.tsv" "$dir/cvj/folds.tsv" && cmp -s <(cut -f2- "$dir/cv/krait.tsv") <(cut -f2- "$dir/cvj/krait.tsv") &&
  [ -s "$dir/cvj/fold_3.log" ] && ok "dna-cv.sh JOBS=2: the same folds table and predictions, a log per fold" ||
  { bad "dna-cv.sh JOBS=2 differs"; cat "$dir/cv/folds.tsv" "$dir/cvj/folds.tsv"; }
# a krait-dna whose training fails (exit 3) after the options were checked
printf '#!/bin/sh\ncase " $* " in *" train "*) case " $* " in *" --check "*) ;; *) echo "train fails" >&2; exit 3;; esac;; esac\nexec "%s" "$@"\n' \
  "$k" > "$dir/failing-dna" && chmod +x "$dir/failing-dna"
JOBS=2 KRAIT_DNA="$dir/failing-dna" "$(dirname "$0")/../../scripts/dna-cv.sh" "$data/promoters_tiny.tsv" "$dir/cvjf" 3 -- \
  --config "$dir/tiny.json" --steps 2 --threads 1 > /dev/null 2>"$dir/e"
jrc=$?
[ $jrc = 3 ] && [ "$(grep -c "fold [123] failed (exit 3)" "$dir/e")" = 3 ] && grep -q "cvjf/fold_2.log" "$dir/e" &&
  ok "dna-cv.sh JOBS=2: failing folds fail the run with their exit code (3), each named with its log" || { bad "dna-cv.sh JOBS=2 failure: exit $jrc"; cat "$dir/e"; }
# a bad train option or config fails before any fold's split and baseline
for bad_opt in "--lr 0" "--config $dir/nosuch.json"; do
  KRAIT_DNA="$k" "$(dirname "$0")/../../scripts/dna-cv.sh" "$data/promoters_tiny.tsv" "$dir/cvbad" 3 -- \
    --config "$dir/tiny.json" --steps 2 --threads 1 $bad_opt > /dev/null 2>"$dir/e"
  jrc=$?
  [ $jrc = 2 ] && grep -q "refused the options (checked on .*promoters_tiny.tsv before any fold)" "$dir/e" &&
    [ ! -e "$dir/cvbad" ] && ok "dna-cv.sh: '$bad_opt' refused before any fold, nothing written" ||
    { bad "dna-cv.sh $bad_opt: exit $jrc"; cat "$dir/e"; ls "$dir/cvbad"; }
done
# train --check: reads and checks, trains and writes nothing
"$k" train --check --config "$dir/tiny.json" --train "$data/promoters_tiny.tsv" --out "$dir/chk" --steps 2 > "$dir/o" 2>"$dir/e" &&
  grep -q "train: --check: 64 training rows, 0 validation rows, classes 0, 1; .*tiny.json: 0\..*M parameters" "$dir/o" &&
  [ ! -e "$dir/chk" ] && ok "train --check: the data and model checked, no run folder" || { bad "train --check"; cat "$dir/o" "$dir/e"; }
"$k" train --check --json --config "$dir/tiny.json" --train "$data/promoters_tiny.tsv" --out "$dir/chk" --steps 2 > "$dir/o" 2>"$dir/e" &&
  [ "$(jget "$dir/o" n_train)" = 64 ] && [ "$(jget "$dir/o" n_valid)" = 0 ] && [ -n "$(jget "$dir/o" params)" ] &&
  ok "train --check --json: n_train, n_valid, params" || { bad "train --check --json"; cat "$dir/o" "$dir/e"; }
ONLY="4" KRAIT_DNA="$k" "$(dirname "$0")/../../scripts/dna-cv.sh" "$data/promoters_tiny.tsv" "$dir/cvx" 3 -- \
  --config "$dir/tiny.json" --steps 2 > /dev/null 2>"$dir/e"
[ $? -eq 2 ] && grep -q "ONLY: '4' is not a fold of 1..3" "$dir/e" && ok "dna-cv.sh ONLY past FOLDS refused" ||
  { bad "dna-cv.sh ONLY=4"; cat "$dir/e"; }
ONLY=" " KRAIT_DNA="$k" "$(dirname "$0")/../../scripts/dna-cv.sh" "$data/promoters_tiny.tsv" "$dir/cvy" 3 -- \
  --config "$dir/tiny.json" --steps 2 > /dev/null 2>"$dir/e"
[ $? -eq 2 ] && grep -q "ONLY names no fold" "$dir/e" && [ ! -e "$dir/cvy" ] && ok "dna-cv.sh ONLY=' ' refused" ||
  { bad "dna-cv.sh ONLY=' '"; cat "$dir/e"; }
bad_input "split --fold past --folds" "--fold I with 1 <= I <= K (got 4 of 3)" -- \
  "$k" split --input "$data/promoters_tiny.tsv" --out "$dir/x" --folds 3 --fold 4

exit $fail
