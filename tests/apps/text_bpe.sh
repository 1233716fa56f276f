#!/usr/bin/env bash
# tests/apps/text_bpe.sh KRAIT_TEXT SAMPLE_TXT DATA_DIR — krait-text with the GPT-NeoX BPE
# tokenizer (DATA_DIR/text/gpt-neox-20b/tokenizer.json, from ../shared/data): prepare copies
# tokenizer.json beside the token files (uint16 ids, EOS = <|endoftext|>); a tiny model trains
# and its run folder carries tokenizer.json, so generate and eval load it as it is, with bits per
# byte from the real byte count; invalid UTF-8 and data whose ids pass the model's vocabulary
# exit 2 with one line. The pretrained Mamba LMs have 50280 ids, the shared tokenizer.json 50281
# (added specials 50277..50280): such a model trains, generates and evaluates, and only text that
# uses a token past its ids ("RWKV", 50280) is refused, with one line naming it; a byte model
# with that tokenizer.json does not fit. Exits 77 (skipped) when the data or the BPE tokenizer is
# not available. Also: prepare's 1 MiB pieces give the ids of one encode of the whole text.
set -u
k="$1"
sample="$2"
tokj="$3/text/gpt-neox-20b/tokenizer.json"
[ -f "$tokj" ] || { echo "skip: $tokj not found"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
jget() { tail -1 "$1" | grep -o "\"$2\":[^,}]*" | head -1 | cut -d: -f2; }

"$k" prepare --input "$sample" --output "$dir/d" --tokenizer "$tokj" --split-tail 0.25 --json >"$dir/p" 2>"$dir/e"
rc=$?
if [ $rc -ne 0 ] && grep -q "not supported" "$dir/e"; then echo "skip: this build has no BPE tokenizer yet"; exit 77; fi
[ $rc -eq 0 ] && [ -f "$dir/d/tokenizer.json" ] && grep -q '"tokenizer":[[:space:]]*"tokenizer.json"' "$dir/d/meta.json" &&
  ok "prepare with BPE: $(jget "$dir/p" train_tokens) + $(jget "$dir/p" val_tokens) ids, tokenizer.json copied" ||
  { bad "prepare BPE (exit $rc)"; cat "$dir/e"; }
vocab=$(jget "$dir/p" vocab)
cat > "$dir/tiny.json" <<JSON
{ "hidden_size": 16, "num_hidden_layers": 1, "vocab_size": $vocab, "state_size": 4,
  "train": { "batch": 2, "seq_len": 16, "lr": 3e-3, "warmup": 2, "steps": 4 } }
JSON
"$k" train --config "$dir/tiny.json" --data "$dir/d" --out "$dir/A" --eval-every 2 --device cpu --json >"$dir/t" 2>"$dir/et" &&
  [ -f "$dir/A/tokenizer.json" ] && ok "train: run folder has tokenizer.json; val_bpb $(jget "$dir/t" val_bpb)" ||
  { bad "train BPE"; cat "$dir/et"; }
# bits per byte of validation: val_loss x (val ids / val bytes, from meta.json) / ln 2
python3 -c 'import json, math, sys
m = json.load(open(sys.argv[1]))["val"]; t = json.loads(open(sys.argv[2]).read().splitlines()[-1])
want = t["val_loss"] * m["tokens"] / (m["bytes"] * math.log(2))
sys.exit(not (m["tokens"] < m["bytes"] and abs(t["val_bpb"] - want) <= 1e-6 * want))' "$dir/d/meta.json" "$dir/t" &&
  ok "val_bpb $(jget "$dir/t" val_bpb) = val_loss x val ids / (val bytes x ln 2)" ||
  { bad "val_bpb"; tail -1 "$dir/t"; cat "$dir/d/meta.json"; }
"$k" generate --model "$dir/A" --prompt "The river" --max-tokens 8 >/dev/null 2>"$dir/eg" && ok "generate with BPE" ||
  { bad "generate BPE"; cat "$dir/eg"; }
# --stop inside a multi-character token: the text ends right after the stop string
"$k" generate --model "$dir/A" --prompt "The river" --max-tokens 12 --temperature 0 > "$dir/g0" 2>/dev/null
stop=$(head -c 3 "$dir/g0" | tail -c 2)
if [ ${#stop} -eq 2 ]; then
  "$k" generate --model "$dir/A" --prompt "The river" --max-tokens 12 --temperature 0 --stop "$stop" > "$dir/gs" 2>"$dir/egs"
  want=$(head -c 3 "$dir/g0")
  [ "$(head -c -1 "$dir/gs")" = "$want" ] && grep -q "stop: stop" "$dir/egs" &&
    ok "generate --stop '$stop' (inside a BPE token): the text ends right after it" ||
    { bad "BPE --stop"; od -c "$dir/gs" | head -3; cat "$dir/egs"; }
fi
"$k" eval --model "$dir/A" --input "$sample" --json >"$dir/ev" 2>"$dir/eev"
[ "$(jget "$dir/ev" bytes)" = "$(wc -c < "$sample")" ] && [ "$(jget "$dir/ev" tokens)" -lt "$(wc -c < "$sample")" ] &&
  ok "eval with BPE: $(jget "$dir/ev" tokens) tokens over $(jget "$dir/ev" bytes) bytes, $(jget "$dir/ev" bits_per_byte) bits per byte" ||
  { bad "eval BPE"; cat "$dir/ev" "$dir/eev"; }
# a checkpoint is a model folder of its own: the tokenizer rides along
"$k" eval --model "$dir/A/checkpoints/$(cat "$dir/A/checkpoints/latest")" --input "$sample" --json >"$dir/evc" 2>"$dir/eevc" &&
  cmp -s "$dir/A/tokenizer.json" "$dir/A/checkpoints/$(cat "$dir/A/checkpoints/latest")/tokenizer.json" &&
  [ "$(jget "$dir/evc" bits_per_byte)" = "$(jget "$dir/ev" bits_per_byte)" ] &&
  ok "eval of the latest checkpoint (its own tokenizer.json): the run folder's bits per byte" ||
  { bad "eval of a BPE checkpoint"; cat "$dir/eevc"; }

printf 'good text\n\xff\xfe bad\n' > "$dir/bad.txt"
"$k" prepare --input "$dir/bad.txt" --output "$dir/x" --tokenizer "$tokj" >/dev/null 2>"$dir/eb"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$dir/eb")" -eq 1 ] && grep -q "bad.txt" "$dir/eb" && grep -q "invalid UTF-8" "$dir/eb" &&
  ok "invalid UTF-8: $(cat "$dir/eb")" || { bad "invalid UTF-8 (exit $rc)"; cat "$dir/eb"; }
# past the first 1 MiB piece: the place is the file's line, column and byte, not the piece's
awk 'BEGIN { for (i = 1; i <= 90000; i++) print "line " i " of plain text" }' > "$dir/far.txt"
printf 'bad \xff here\n' >> "$dir/far.txt"
want="far.txt:90001:5: invalid UTF-8 at byte $(( $(wc -c < "$dir/far.txt") - 7 )) of the text"
"$k" prepare --input "$dir/far.txt" --output "$dir/x2" --tokenizer "$tokj" >/dev/null 2>"$dir/eb"
rc=$?
"$k" eval --model "$dir/A" --input "$dir/far.txt" >/dev/null 2>"$dir/eb2"
rc2=$?
[ $rc -eq 2 ] && [ $rc2 -eq 2 ] && grep -q "$want" "$dir/eb" && grep -q "$want" "$dir/eb2" &&
  ok "invalid UTF-8 past the first piece: $(cat "$dir/eb")" ||
  { bad "invalid UTF-8 past the first piece (exit $rc / $rc2), want '$want'"; cat "$dir/eb" "$dir/eb2"; }
sed "s/\"vocab_size\": $vocab/\"vocab_size\": 1000/" "$dir/tiny.json" > "$dir/small.json"
"$k" train --config "$dir/small.json" --data "$dir/d" --out "$dir/x" --steps 1 >/dev/null 2>"$dir/ev2"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$dir/ev2")" -eq 1 ] && grep -q "vocab_size 1000" "$dir/ev2" && grep -q "ids up to" "$dir/ev2" &&
  ok "data ids past the model's vocabulary (train): $(cat "$dir/ev2")" || { bad "vocab check (exit $rc)"; cat "$dir/ev2"; }
# the byte-level preset on BPE data: its vocabulary does not hold the tokenizer's ids
"$k" train --config "$(dirname "$0")/../../configs/text-bytes-shakespeare.json" --data "$dir/d" --out "$dir/x" --steps 1 \
  >/dev/null 2>"$dir/ev3"
[ $? -eq 2 ] && grep -q 'krait.tokenizer is "bytes" but .* was prepared with a tokenizer.json' "$dir/ev3" &&
  [ "$(wc -l < "$dir/ev3")" -eq 1 ] && ok "byte preset on BPE data refused" || { bad "byte preset on BPE data"; cat "$dir/ev3"; }
# ... and a BPE config on byte data (it trained a 50280-id "bytes" model, without a word)
printf '{ "hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 50280, "krait": { "tokenizer": "tokenizer.json" } }' > "$dir/bpecfg.json"
"$k" prepare --input "$sample" --output "$dir/dbytes" --val-fraction 0 >/dev/null 2>&1
"$k" train --config "$dir/bpecfg.json" --data "$dir/dbytes" --out "$dir/x" --steps 1 >/dev/null 2>"$dir/ev4"
[ $? -eq 2 ] && grep -q 'krait.tokenizer is "tokenizer.json" but .* was prepared with the byte tokenizer' "$dir/ev4" &&
  ok "BPE config on byte data refused" || { bad "BPE config on byte data"; cat "$dir/ev4"; }

# ---- a model with the pretrained LMs' 50280 ids and the 50281-id tokenizer ------------------------
sed "s/\"vocab_size\": $vocab/\"vocab_size\": 50280/" "$dir/tiny.json" > "$dir/hf.json"
"$k" train --config "$dir/hf.json" --data "$dir/d" --out "$dir/H" --steps 2 --device cpu >/dev/null 2>"$dir/eh" &&
  "$k" train --init "$dir/H" --data "$dir/d" --out "$dir/H2" --steps 2 --seq-len 16 --batch 2 --device cpu >/dev/null 2>>"$dir/eh" &&
  "$k" generate --model "$dir/H2" --prompt "The river" --max-tokens 4 >/dev/null 2>>"$dir/eh" &&
  "$k" eval --model "$dir/H2" --input "$sample" >/dev/null 2>>"$dir/eh" &&
  ok "vocab 50280 with the 50281-id tokenizer: train, fine-tune (--init), generate, eval" || { bad "vocab 50280"; cat "$dir/eh"; }
one_line() { # name, fragment, -- command
  local name="$1" frag="$2"; shift 3
  "$@" >/dev/null 2>"$dir/eo"
  local rc=$?
  [ $rc -eq 2 ] && [ "$(grep -vc 'device cpu' "$dir/eo")" -eq 1 ] && grep -qF -- "$frag" "$dir/eo" &&
    ok "$name: $(grep -v 'device cpu' "$dir/eo")" || { bad "$name (exit $rc)"; cat "$dir/eo"; }
}
one_line "a prompt with a token the model lacks" 'token "RWKV" (id 50280) is not in the model' -- \
  "$k" generate --model "$dir/H" --prompt "about RWKV" --max-tokens 2 --device cpu
printf 'first line\nthe RWKV line\n' > "$dir/rwkv.txt"
"$k" tokenize --model "$dir/H" < "$dir/rwkv.txt" >"$dir/tk" 2>"$dir/etk" && grep -q "50280" "$dir/tk" &&
  grep -q "warning: stdin: token 5 is id 50280, not in the model's vocabulary (ids 0..50279)" "$dir/etk" &&
  ok "tokenize --model: an id the model lacks is printed and warned of" || { bad "tokenize --model, id past the model"; cat "$dir/tk" "$dir/etk"; }
one_line "eval of text with a token the model lacks" "$dir/rwkv.txt:2:5: token \"RWKV\"" -- "$k" eval --model "$dir/H" --input "$dir/rwkv.txt" --device cpu
one_line "generate --prompt-file with a token the model lacks" "$dir/rwkv.txt:2:5: token \"RWKV\"" -- \
  "$k" generate --model "$dir/H" --prompt-file "$dir/rwkv.txt" --max-tokens 2 --device cpu
printf 'first line\nab\377cd\n' > "$dir/badp.txt"
one_line "generate --prompt-file with invalid UTF-8: its line and column" "$dir/badp.txt:2:3: invalid UTF-8 at byte 13 of the text (0xff)" -- \
  "$k" generate --model "$dir/H" --prompt-file "$dir/badp.txt" --max-tokens 2 --device cpu
# past the first 1 MiB piece: the file's line and column, not the piece's
for i in $(seq 1 30000); do echo "line $i of a long text to push the token past the first piece"; done > "$dir/long.txt"
printf 'x\nsome words and RWKV here\n' >> "$dir/long.txt"
one_line "eval: a token the model lacks past the first piece" "$dir/long.txt:30002:16: token \"RWKV\"" -- \
  "$k" eval --model "$dir/H" --input "$dir/long.txt" --device cpu
cat "$sample" "$dir/rwkv.txt" > "$dir/rwkv2.txt"
"$k" prepare --input "$dir/rwkv2.txt" --output "$dir/dr" --tokenizer "$tokj" --val-fraction 0 >/dev/null 2>&1
one_line "training data with a token the model lacks" "ids up to 50280" -- "$k" train --init "$dir/H" --data "$dir/dr" --out "$dir/x" --steps 1 --device cpu
"$k" prepare --input "$sample" --output "$dir/db" --split-tail 0.25 >/dev/null 2>&1
sed "s/\"vocab_size\": $vocab/\"vocab_size\": 257/" "$dir/tiny.json" > "$dir/b.json"
"$k" train --config "$dir/b.json" --data "$dir/db" --out "$dir/B" --steps 1 --device cpu >/dev/null 2>&1
one_line "--init a BPE model on byte-level data" "the model reads tokenizer.json ids but $dir/db was prepared with the byte tokenizer" -- \
  "$k" train --init "$dir/H" --data "$dir/db" --out "$dir/x" --steps 1 --device cpu
one_line "--init a byte model on BPE data" "the model reads byte ids but $dir/d was prepared with a tokenizer.json" -- \
  "$k" train --init "$dir/B" --data "$dir/d" --out "$dir/x" --steps 1 --device cpu
cp "$tokj" "$dir/B/tokenizer.json"
one_line "a byte model with the BPE tokenizer.json" "does not fit the model" -- "$k" generate --model "$dir/B" --prompt hi --device cpu
# prepare reads in 1 MiB pieces, cut only after a newline that is a whitespace run of its own:
# 2.2 MB of lines mostly ending " \n" or "\r\n" give train.bin = one encode of the whole text
awk 'BEGIN { srand(1); split("alpha beta gamma delta the river of x1 Zed", w, " ")
  split(" \n| \n| \n| \n| \n| \n|\r\n|\r\n|\n", e, "|")
  while (n < 2200000) { k = 1 + int(rand() * 9); l = w[1 + int(rand() * 9)]
    for (i = 1; i < k; i++) l = l " " w[1 + int(rand() * 9)]
    l = l e[1 + int(rand() * 9)]; printf "%s", l; n += length(l) } }' > "$dir/ws.txt"
"$k" prepare --input "$dir/ws.txt" --output "$dir/ws" --tokenizer "$tokj" --val-fraction 0 >/dev/null 2>"$dir/e" &&
  "$k" tokenize --tokenizer "$tokj" < "$dir/ws.txt" | tr ' ' '\n' | grep -v '^$' > "$dir/ws.ids" &&
  od -An -v -t u2 -j 32 "$dir/ws/train.bin" | tr -s ' ' '\n' | grep -v '^$' | cmp -s - "$dir/ws.ids" &&
  ok "prepare of 2.2 MB in 1 MiB pieces = one encode of the whole text ($(wc -l < "$dir/ws.ids") ids)" ||
  { bad "prepare's piece cuts change the ids"; cat "$dir/e"; }
# WikiText (its lines begin with a space and end with " \n": cut only before a line's leading
# space) and lines in Cyrillic, Greek and Japanese (cut after a newline between non-ASCII
# letters; lines led by a no-break or ideographic space are not cut before): the same
wt="$3/text/wikitext2"
[ -f "$wt/test.txt" ] && cat "$wt/test.txt" "$wt/valid.txt" > "$dir/wt.txt"
awk 'BEGIN { srand(5); split("Привет мир это текст на русском ещё слова 日本語 テキスト Ελληνικά ünïcödé", w, " ")
  split("\n|\n|\n\n|\302\240\n", e, "|")
  while (n < 2300000) { l = ""; k = 1 + int(rand() * 10); for (i = 0; i < k; i++) l = l (i ? " " : "") w[1 + int(rand() * 12)]
    r = rand(); if (r < 0.1) l = "\343\200\200" l; else if (r < 0.2) l = "\302\240" l
    l = l e[1 + int(rand() * 4)]; printf "%s", l; n += length(l) } }' > "$dir/intl.txt"
# the only allowed cut of the first 1 MiB lies just before " <|endoftext|>" / " assistant" (added
# tokens): "\n " before an added token is one pre-token, so that cut is refused
for t in '<|endoftext|> hello' 'assistant said'; do
  awk -v t="$t" 'BEGIN { for (i = 0; i < 333333; i++) printf "ab "; printf "x\n %s", t
    for (i = 0; i < 100000; i++) printf " ab"; printf "\n" }'
done > "$dir/added.txt"
# CRLF lines (none begins with a space): cut before a "\r\n" after a plain character
awk 'BEGIN { srand(7); split("alpha beta gamma delta the river of x1 Zed 42", w, " ")
  while (n < 2300000) { k = 1 + int(rand() * 9); l = w[1 + int(rand() * 10)]
    for (i = 1; i < k; i++) l = l " " w[1 + int(rand() * 10)]
    r = rand(); l = l (r < 0.3 ? ".\r\n" : r < 0.4 ? "\r\n\r\n" : r < 0.5 ? " \r\n" : "\r\n"); printf "%s", l; n += length(l) } }' > "$dir/crlf.txt"
for f in wt intl added crlf; do
  [ -f "$dir/$f.txt" ] || continue
  "$k" prepare --input "$dir/$f.txt" --output "$dir/$f" --tokenizer "$tokj" --val-fraction 0 >/dev/null 2>"$dir/e" &&
    "$k" tokenize --tokenizer "$tokj" < "$dir/$f.txt" | tr ' ' '\n' | grep -v '^$' > "$dir/$f.ids" &&
    od -An -v -t u2 -j 32 "$dir/$f/train.bin" | tr -s ' ' '\n' | grep -v '^$' | cmp -s - "$dir/$f.ids" &&
    ok "prepare of $f.txt ($(wc -c < "$dir/$f.txt") bytes) in pieces = one encode of the whole text" ||
    { bad "prepare's piece cuts change the ids of $f.txt"; cat "$dir/e"; }
done
exit $fail
