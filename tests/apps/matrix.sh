#!/usr/bin/env bash
# tests/apps/matrix.sh TABLE APP [VAR=VALUE...] — a table-driven bad-input test: every row of
# TABLE runs APP with some bad input and states the exit code and a fragment of the message.
#
# TABLE lines (# comments and blank lines skipped):
#   ! shell command              setup, run by bash in the scratch folder $D before the rows
#   name | exit | fragment | arguments
# exit "2*": exit 2 with the fragment, after warnings and progress lines (a dataset whose files
# are all skipped one by one, each with its warning).
# arguments are expanded by bash (quotes, $D, $'\xff' for non-UTF-8 names, and the VAR=VALUE
# pairs given here, e.g. SAMPLE=path/to/a.txt for setup lines); the fragment is literal text but
# for $D (the scratch folder) and backslash escapes (\xff).
# A row passes when APP exits with `exit`, stderr holds the fragment, and — for exit 2, the bad
# input code — stderr holds exactly one line besides the "device" line and warnings (the
# project's rule: one clear line, never a crash). Any sanitizer report fails the row.
# Prints one line per row and a summary "N rows, F failed"; exits 1 if any row failed.
# MATRIX_TIMES=1 also prints each row's time.
set -u
table="$1"
APP=$(realpath "$2")
shift 2
for kv in "$@"; do export "${kv?}"; done
D=$(mktemp -d)
export D APP
trap 'chmod -R u+w "$D" 2>/dev/null; rm -rf "$D"' EXIT
rows=0 failed=0
noise='device cpu|fast CPU backend|^[^:]*: warning:'

# setup
while IFS= read -r line; do
  [[ "$line" == '!'* ]] || continue
  (cd "$D" && eval "${line#!}") >"$D/.setup.out" 2>&1 || { echo "FAIL setup: ${line#!}"; cat "$D/.setup.out"; exit 1; }
done < "$table"

trim() { local s="$1"; s="${s#"${s%%[![:space:]]*}"}"; printf '%s' "${s%"${s##*[![:space:]]}"}"; }
while IFS= read -r line; do
  [[ -z "${line//[[:space:]]/}" || "$line" == '#'* || "$line" == '!'* ]] && continue
  IFS='|' read -r name want frag args <<< "$line"
  name=$(trim "$name"); want=$(trim "$want"); frag=$(trim "$frag"); args=$(trim "$args")
  rows=$((rows + 1))
  multi=0
  [ "${want%\*}" != "$want" ] && multi=1 want=${want%\*}
  frag=$(printf '%b' "${frag//\$D/$D}")
  eval "argv=($args)"
  s0=$EPOCHREALTIME
  (cd "$D" && "$APP" "${argv[@]}") >"$D/.out" 2>"$D/.err" </dev/null
  rc=$?
  [ -n "${MATRIX_TIMES:-}" ] && awk -v a="$s0" -v b="$EPOCHREALTIME" -v n="$name" 'BEGIN { printf "%.2fs %s\n", b - a, n }'
  why=""
  [ "$rc" -eq "$want" ] || why="exit $rc, expected $want"
  [ -z "$frag" ] || grep -aqF -- "$frag" "$D/.err" || why="${why:+$why; }no '$frag' in the message"
  if [ "$want" -eq 2 ] && [ $multi -eq 0 ]; then
    n=$(grep -aEvc "$noise" "$D/.err")
    [ "$n" -eq 1 ] || why="${why:+$why; }$n message lines, expected 1"
  fi
  grep -aqE 'Sanitizer|runtime error:' "$D/.err" && why="${why:+$why; }sanitizer report"
  if [ -z "$why" ]; then
    echo "ok   $name: $(grep -aEv "$noise" "$D/.err" | head -1)"
  else
    failed=$((failed + 1))
    echo "FAIL $name: $why; stderr:"
    head -20 "$D/.err" | sed 's/^/       /'
  fi
done < "$table"
echo "$(basename "$table"): $rows rows, $failed failed"
[ "$rows" -gt 0 ] && [ "$failed" -eq 0 ]
