#!/usr/bin/env bash
# tests/apps/bad_config.sh KRAIT_BENCH — a bad config given to an app exits 2 with exactly one
# line on stderr that names the file and the problem (malformed JSON, unknown key, zero or
# negative size, missing file), and never crashes.
set -u
bench="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0

check() { # name, file content ("" = no file), expected fragment
  local name="$1" content="$2" want="$3" f="$dir/$1.json"
  [ -n "$content" ] && printf '%s' "$content" > "$f"
  "$bench" train --shape "$f" --steps 1 >"$dir/out" 2>"$dir/err"
  local rc=$? lines
  lines=$(grep -vc '^krait-bench: device' "$dir/err")
  if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && grep -q -- "$f" "$dir/err" && grep -q -- "$want" "$dir/err"; then
    echo "ok   $name: $(grep -v '^krait-bench: device' "$dir/err")"
  else
    echo "FAIL $name: exit $rc, $lines lines, stderr:"; cat "$dir/err"; fail=1
  fi
}

check malformed '{"hidden_size": 64, "num_hidden_layers": }' "malformed JSON at line 1"
check unknown_key '{"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 16, "hiden": 3}' 'unknown key "hiden"'
check zero_size '{"hidden_size": 0, "num_hidden_layers": 2, "vocab_size": 16}' 'must be a positive integer (got 0)'
check negative_size '{"hidden_size": 64, "num_hidden_layers": -2, "vocab_size": 16}' 'must be a positive integer (got -2)'
check negative_batch '{"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 16, "train": {"batch": -1}}' '"train.batch" must be a positive integer'
check missing_file "" "cannot read the config file"
exit $fail
