#!/usr/bin/env bash
# tests/apps/text_tokenize_cli.sh KRAIT_TEXT [TOKENIZER_JSON] — krait-text tokenize / detokenize end
# to end: round trips through the byte tokenizer (--tokenizer bytes and --model DIR with vocab 256),
# --json output, and bad input (missing or malformed tokenizer file, invalid UTF-8 on stdin, a
# non-numeric or out-of-range id, no tokenizer given) giving exit 2 and exactly one line on stderr
# that names the place. With the GPT-NeoX tokenizer.json (when given and present) also known ids.
set -u
kt="$1"
tj="${2:-}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }

# expect_fail NAME EXPECTED_FRAGMENT STDIN_FILE ARGS...
expect_fail() {
  local name="$1" want="$2" in="$3"; shift 3
  "$kt" "$@" <"$in" >"$dir/out" 2>"$dir/err"
  local rc=$? lines
  lines=$(wc -l <"$dir/err")
  if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && grep -q -- "$want" "$dir/err"; then
    ok "$name: $(cat "$dir/err")"
  else
    bad "$name: exit $rc, $lines lines, stderr:"; cat "$dir/err"
  fi
}

# byte tokenizer round trip, any bytes
printf 'caf\xc3\xa9 \xff\x00 tab\t<|endoftext|>\n' >"$dir/bytes.txt"
"$kt" tokenize --tokenizer bytes <"$dir/bytes.txt" >"$dir/ids" 2>"$dir/err" || bad "bytes tokenize exit $?"
[ "$(tr ' ' '\n' <"$dir/ids" | grep -c .)" -eq 15 ] && grep -q ' 256 10$' "$dir/ids" && ok "bytes: 15 ids, <|endoftext|> = 256" \
  || { bad "bytes ids:"; cat "$dir/ids" "$dir/err"; }
"$kt" detokenize --tokenizer bytes <"$dir/ids" >"$dir/back" && cmp -s "$dir/bytes.txt" "$dir/back" && ok "bytes round trip" \
  || bad "bytes round trip differs"

# --model DIR with vocab 256 and no tokenizer.json: the bytes themselves (no specials)
mkdir -p "$dir/model"
echo '{"hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 256}' >"$dir/model/config.json"
out=$(printf 'A<|e' | "$kt" tokenize --model "$dir/model")
[ "$out" = "65 60 124 101" ] && ok "--model vocab 256: bytes" || bad "--model vocab 256: got '$out'"
json=$(printf 'hi' | "$kt" tokenize --model "$dir/model" --json | tail -n 1)
[ "$json" = '{"ids": [104, 105], "tokens": 2}' ] && ok "--json: $json" || bad "--json: got '$json'"
back=$(echo '[104, 105]' | "$kt" detokenize --model "$dir/model")
[ "$back" = "hi" ] && ok "detokenize a JSON array" || bad "detokenize JSON array: got '$back'"
back=$(echo '104,105, 33' | "$kt" detokenize --model "$dir/model")
[ "$back" = "hi!" ] && ok "detokenize ids separated by commas (krait-model logits --ids' form)" || bad "detokenize commas: got '$back'"
# a byte-level run as krait-text train writes it: vocab padded to 264, "krait": {"tokenizer": "bytes"}
mkdir -p "$dir/run"
echo '{"hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 264, "krait": {"tokenizer": "bytes"}}' >"$dir/run/config.json"
out=$(printf 'A<|endoftext|>' | "$kt" tokenize --model "$dir/run")
[ "$out" = "65 256" ] && [ "$(echo 65 256 | "$kt" detokenize --model "$dir/run")" = 'A<|endoftext|>' ] &&
  ok "--model of a byte-level run (vocab 264): bytes + <|endoftext|> = 256, both ways" || bad "--model byte run: got '$out'"
# --json keeps every byte: NUL and control bytes escaped, bytes that are not UTF-8 as U+FFFD
json=$(echo '72 0 73 200 74 10' | "$kt" detokenize --tokenizer bytes --json | tail -n 1)
[ "$json" = '{"text":"H\u0000I\ufffdJ\n","bytes":6}' ] && python3 -c 'import json,sys; json.loads(sys.argv[1].encode())' "$json" &&
  ok "detokenize --json: $json" || bad "detokenize --json: got '$json'"

# bad input
printf 'ok' >"$dir/text"
printf '1 2 x3\n' >"$dir/nonnum"
printf '1 256\n' >"$dir/range"
printf -- '-1\n' >"$dir/neg"
printf '{"model": [' >"$dir/malformed.json"
expect_fail "missing tokenizer file" "$dir/none.json" "$dir/text" tokenize --tokenizer "$dir/none.json"
expect_fail "malformed tokenizer.json" "malformed JSON at line 1" "$dir/text" tokenize --tokenizer "$dir/malformed.json"
printf '{"ids": [1, 2]}' >"$dir/other.json"
expect_fail "a JSON file that is not a tokenizer" "other.json: not a HuggingFace tokenizer.json (no \"model\" object)" \
  "$dir/text" tokenize --tokenizer "$dir/other.json"
expect_fail "no tokenizer option" "exactly one of --tokenizer and --model" "$dir/text" tokenize
expect_fail "non-numeric id" "token 2 ('x3') is not an integer id" "$dir/nonnum" detokenize --model "$dir/model"
expect_fail "id out of range" "id 256 at position 1 is outside the vocabulary (0..255)" "$dir/range" detokenize --model "$dir/model"
expect_fail "negative id" "id -1 at position 0 is outside" "$dir/neg" detokenize --tokenizer bytes
printf '12,,13\n' >"$dir/emptyfield"
expect_fail "an empty field between commas" "stdin: byte 3: a comma with no id before it" "$dir/emptyfield" detokenize --tokenizer bytes
printf ' ,12\n' >"$dir/leadcomma"
expect_fail "a comma before the first id" "stdin: byte 1: a comma with no id before it" "$dir/leadcomma" detokenize --tokenizer bytes
back=$(echo '104 , 105,' | "$kt" detokenize --tokenizer bytes)
[ "$back" = "hi" ] && ok "detokenize: spaces around commas and a trailing comma" || bad "detokenize '104 , 105,': got '$back'"
echo '{"hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 1000}' >"$dir/model/config.json"
expect_fail "model without tokenizer" "no tokenizer.json, and with vocab_size 1000 the model is not a byte-level one" "$dir/text" tokenize --model "$dir/model"

# GPT-NeoX BPE
if [ -n "$tj" ] && [ -f "$tj" ]; then
  out=$(printf 'Hello  world<|endoftext|>caf\xc3\xa9' | "$kt" tokenize --tokenizer "$tj")
  [ "$out" = "12092 50276 10186 0 68 2320 860" ] && ok "neox ids: $out" || bad "neox ids: got '$out'"
  printf 'The  quick\n\n brown fox\xe2\x80\x99s \xf0\x9f\x98\x80\n' >"$dir/t.txt"
  "$kt" tokenize --tokenizer "$tj" <"$dir/t.txt" | "$kt" detokenize --tokenizer "$tj" >"$dir/t.back"
  cmp -s "$dir/t.txt" "$dir/t.back" && ok "neox round trip" || bad "neox round trip differs"
  cp "$tj" "$dir/model/tokenizer.json"
  expect_fail "--model: tokenizer.json larger than the model" "tokenizer.json has 50281 ids but the model's vocab_size is 1000" \
    "$dir/text" tokenize --model "$dir/model"
  echo '{"hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 50280}' >"$dir/model/config.json"
  out=$(printf 'Hello' | "$kt" tokenize --model "$dir/model")
  [ "$out" = "12092" ] && ok "--model DIR/tokenizer.json" || bad "--model DIR/tokenizer.json: got '$out'"
  printf 'ab\xffcd' >"$dir/invalid"
  expect_fail "invalid UTF-8" "stdin: invalid UTF-8 at byte 2" "$dir/invalid" tokenize --tokenizer "$tj"
  expect_fail "id out of range (neox)" "id 50281 at position 0 is outside the vocabulary (0..50280)" \
    <(echo 50281) detokenize --tokenizer "$tj"
  # a tokenizer.json whose ids have a gap (an added token at 50290: 50281..50289 have none): such an
  # id is not called out of range
  python3 -c "
import json, sys; t = json.load(open(sys.argv[1])); a = dict(t['added_tokens'][-1])
a.update(id=50290, content='<|gap-test|>'); t['added_tokens'].append(a); json.dump(t, open(sys.argv[2], 'w'))" "$tj" "$dir/gap.json" &&
    expect_fail "an id in a gap of the tokenizer's ids" "id 50285 at position 0 has no token in the tokenizer (a gap in its ids)" \
      <(echo 50285) detokenize --tokenizer "$dir/gap.json"
else
  echo "note: no GPT-NeoX tokenizer.json ('$tj'): BPE checks skipped"
fi
exit $fail
