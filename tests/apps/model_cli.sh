#!/usr/bin/env bash
# tests/apps/model_cli.sh KRAIT_MODEL — krait-model end to end: init, info (plain and --json),
# convert to f32 (logits bit-identical to the source) and bf16/f16 (dtype reported), logits to a
# file (positions x vocab fp32), and bad input — a missing config, a config whose sizes do not
# match the weights, an id outside the vocabulary, a missing option — exiting 2 with exactly one
# line that names the file or the option.
set -u
km="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
noise() { grep -v 'device cpu\|fast CPU backend' "$1"; }

printf '{"hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 20, "state_size": 8}' > "$dir/c.json"
"$km" init "$dir/c.json" --out "$dir/m" --seed 3 >/dev/null 2>"$dir/err" && ok "init" || { bad "init"; cat "$dir/err"; }
"$km" info "$dir/m" --json >"$dir/info" 2>"$dir/err"
tail -1 "$dir/info" | grep -q '"vocab_size":24,"vocab_size_raw":20' && tail -1 "$dir/info" | grep -q '"dtype":"F32"' &&
  tail -1 "$dir/info" | grep -q '"tied":true,"lm_head_stored":false' && ok "info --json" || { bad "info"; cat "$dir/info"; }
# the 20 ids stay 20 through a save and a convert (the file's vocab_size is its 24 padded rows:
# ids 20..23 were valid after a convert), and logits refuses an id past them
"$km" convert "$dir/m" --out "$dir/m20" --dtype bf16 >/dev/null 2>&1 && "$km" info "$dir/m20" --json 2>/dev/null | tail -1 |
  grep -q '"vocab_size":24,"vocab_size_raw":20' && grep -q '"vocab_size_raw":[[:space:]]*20' "$dir/m20/config.json" &&
  ! "$km" logits "$dir/m20" --ids 1,20 >/dev/null 2>"$dir/e20" && grep -q "id 20 is outside the vocabulary (0..19)" "$dir/e20" &&
  ok "20 ids in 24 rows: kept by init and convert, id 20 refused by logits" ||
  { bad "raw vocabulary through convert"; cat "$dir/m20/config.json" "$dir/e20"; }
# a preset named like a folder in the working directory (here the run's own --out, made before
# the config is read) is still the preset
(cd "$dir" && "$km" init small --out small --seed 1 >/dev/null 2>"$dir/err") &&
  grep -Eq '"hidden_size":[[:space:]]*256,' "$dir/small/config.json" &&
  ok "init small --out small: the preset, though ./small is a folder" || { bad "preset beside a folder of its name"; cat "$dir/err"; }
# a classifier: its head, not an LM head that is not there
printf '{"hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 8, "state_size": 8, "krait": {"head": "classify", "classes": 3, "pooling": "last", "bidirectional": true}}' > "$dir/cc.json"
printf '{"hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 8, "state_size": 8, "krait": {"head": "classify", "classes": 4, "input_dim": 5}}' > "$dir/cf.json"
"$km" init "$dir/cc.json" --out "$dir/mc" >/dev/null 2>&1 && "$km" init "$dir/cf.json" --out "$dir/mf" >/dev/null 2>&1 &&
  "$km" info "$dir/mc" --json >"$dir/infoc" 2>/dev/null && "$km" info "$dir/mf" >"$dir/infof" 2>/dev/null &&
  grep -q "classification head: 3 classes, last pooling, bidirectional; input: ids, vocab 8" "$dir/infoc" &&
  tail -1 "$dir/infoc" | grep -q '"tied":false' && tail -1 "$dir/infoc" | grep -q '"n_classes":3,"pooling":"last","bidirectional":true' &&
  grep -q "classification head: 4 classes, mean pooling; input: feature vectors of 5" "$dir/infof" && ! grep -q "tied" "$dir/infof" &&
  ok "info on classifiers: classes, pooling, input" || { bad "info on a classifier"; cat "$dir/infoc" "$dir/infof"; }

"$km" logits "$dir/m" --ids 1,2,3,4,5 --output "$dir/a.f32" >/dev/null 2>"$dir/err" || { bad "logits"; cat "$dir/err"; }
[ "$(stat -c %s "$dir/a.f32")" -eq $((5 * 24 * 4)) ] && ok "logits file: 5 x 24 fp32" || bad "logits file size"
"$km" convert "$dir/m" --out "$dir/m32" >/dev/null 2>"$dir/err" || { bad "convert f32"; cat "$dir/err"; }
"$km" logits "$dir/m32" --ids 1,2,3,4,5 --output "$dir/b.f32" >/dev/null 2>&1
cmp -s "$dir/a.f32" "$dir/b.f32" && ok "convert f32: logits bit-identical" || bad "convert f32 logits differ"
for dt in bf16 f16; do
  "$km" convert "$dir/m" --out "$dir/m$dt" --dtype $dt >/dev/null 2>"$dir/err" || { bad "convert $dt"; cat "$dir/err"; }
  want=$([ $dt = bf16 ] && echo BF16 || echo F16)
  "$km" info "$dir/m$dt" --json 2>/dev/null | tail -1 | grep -q "\"dtype\":\"$want\"" &&
    "$km" logits "$dir/m$dt" --ids 1,2,3 --json 2>/dev/null | tail -1 | grep -q '"positions":3' &&
    ok "convert $dt: info says $want, logits run" || bad "convert $dt"
done
"$km" logits "$dir/m" --ids 7,1 2>/dev/null | awk 'END { exit !(NR == 2 && NF == 24) }' && ok "plain logits: 2 lines x 24" ||
  bad "plain logits output"

check() { # name, expected fragment, command...
  local name="$1" want="$2"; shift 2
  "$@" >"$dir/out" 2>"$dir/err"
  local rc=$? lines
  lines=$(noise "$dir/err" | wc -l)
  if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && noise "$dir/err" | grep -q -- "$want"; then ok "$name: $(noise "$dir/err")"
  else bad "$name: exit $rc, $lines lines:"; cat "$dir/err"; fi
}
cp -r "$dir/m" "$dir/nocfg" && rm "$dir/nocfg/config.json"
check "no config.json" "$dir/nocfg/config.json" "$km" info "$dir/nocfg"
cp -r "$dir/m" "$dir/wide" && sed -i 's/"hidden_size":\s*16/"hidden_size": 32/; s/"d_model":\s*16/"d_model": 32/; s/"intermediate_size":\s*32/"intermediate_size": 64/; s/"d_inner":\s*32/"d_inner": 64/' "$dir/wide/config.json"
check "sizes do not match" "$dir/wide/model.safetensors: tensor 'backbone.embeddings.weight' has shape" "$km" logits "$dir/wide" --ids 1
check "id outside the vocabulary" "id 24 is outside" "$km" logits "$dir/m" --ids 1,24
cp -r "$dir/m" "$dir/mo"
check "logits --output over the model's weights" "that is a file of $dir/mo" "$km" logits "$dir/mo" --ids 1,2 --output "$dir/mo/model.safetensors"
"$km" logits "$dir/mo" --ids 1,2 >/dev/null 2>&1 && ok "  ... and the model still loads" || bad "logits --output destroyed the model"
check "convert without --out" "--out is required" "$km" convert "$dir/m"
check "unknown dtype" "'f8' is not" "$km" convert "$dir/m" --out "$dir/x" --dtype f8
check "no such folder" "$dir/none" "$km" info "$dir/none"
# a classifier has no per-position logits (used to crash); one without classes cannot be initialised
printf '{"hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 8, "krait": {"head": "classify", "classes": 3}}' > "$dir/cls.json"
"$km" init "$dir/cls.json" --out "$dir/cls" >/dev/null 2>&1 || bad "init a classifier"
check "logits of a classifier" "$dir/cls: a classifier" "$km" logits "$dir/cls" --ids 1,2
sed 's/, "classes": 3//' "$dir/cls.json" > "$dir/cls0.json"
check "init a classifier without classes" "classes" "$km" init "$dir/cls0.json" --out "$dir/x0"
# an audio preset's front-end section: one line pointing to krait-audio, not "unknown key"
printf '{"hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 256, "audio": {"rate": 8000}}' > "$dir/au.json"
check "init an audio preset" "read by krait-audio" "$km" init "$dir/au.json" --out "$dir/au"
# a text LM of 257 ids is byte-level: config.json says so, as its vocab_size is padded to 264
for v in 257:text:1 256:audio:0 300:text:0; do
  IFS=: read -r n mod want <<< "$v"
  printf '{"hidden_size": 16, "num_hidden_layers": 1, "vocab_size": %s, "krait": {"modality": "%s"}}' "$n" "$mod" > "$dir/v$n.json"
  "$km" init "$dir/v$n.json" --out "$dir/v$n" >/dev/null 2>&1
  [ "$(grep -c '"tokenizer":[[:space:]]*"bytes"' "$dir/v$n/config.json")" = "$want" ] &&
    ok "init: a $mod LM of $n ids: \"tokenizer\": \"bytes\" in config.json $want time(s)" || { bad "init vocab $n $mod: tokenizer"; cat "$dir/v$n/config.json"; }
done
# convert and init never replace a model unasked, and never write into a run folder
check "convert onto a model folder" "$dir/m32: already holds a model" "$km" convert "$dir/m" --out "$dir/m32"
check "init onto a model folder" "--overwrite replaces it" "$km" init "$dir/c.json" --out "$dir/m"
mkdir -p "$dir/run/checkpoints"
check "convert into a run folder" "$dir/run: a training run folder" "$km" convert "$dir/m" --out "$dir/run" --overwrite
# a convert that fails to write (a file size limit, as a full disk) leaves the model it replaces whole
cp -r "$dir/m" "$dir/mfail"
(trap '' XFSZ; ulimit -f 1; "$km" convert "$dir/mfail" --out "$dir/mfail" --overwrite >/dev/null 2>&1)
[ $? = 1 ] && "$km" info "$dir/mfail" >/dev/null 2>&1 && [ ! -e "$dir/mfail/.lock" ] &&
  ok "a failed convert --overwrite leaves the model whole (and no lock file)" || { bad "a failed convert broke the model"; ls -a "$dir/mfail"; }
# two converts into one folder never run at once (the folder's lock, as a trainer's)
mkdir -p "$dir/mlock"
check "convert into a folder another convert holds" "$dir/mlock: another krait process is writing" \
  flock -n "$dir/mlock/.lock" "$km" convert "$dir/m" --out "$dir/mlock"
# ... nor into a folder of one: a checkpoint, checkpoints/, a folder below, an ensemble
mkdir -p "$dir/run2/checkpoints/step-1" "$dir/ens/member-1" && echo step-1 > "$dir/run2/checkpoints/latest" &&
  echo '{}' > "$dir/run2/checkpoints/step-1/trainer_state.json"
check "convert into a checkpoint" "inside a training run ($dir/run2/checkpoints/step-1 holds trainer_state.json)" \
  "$km" convert "$dir/m" --out "$dir/run2/checkpoints/step-1" --overwrite
check "init into checkpoints/" "$dir/run2/checkpoints: inside a training run ($dir/run2 holds checkpoints/latest)" \
  "$km" init "$dir/c.json" --out "$dir/run2/checkpoints"
check "convert to a new folder below a run" "inside a training run ($dir/run2 holds" \
  "$km" convert "$dir/m" --out "$dir/run2/checkpoints/new/x"
check "convert into an ensemble's folder" "inside a training run ($dir/ens holds member-1)" "$km" convert "$dir/m" --out "$dir/ens"
[ ! -e "$dir/run2/checkpoints/new" ] && [ ! -e "$dir/run2/checkpoints/config.json" ] &&
  [ ! -e "$dir/run2/checkpoints/step-1/config.json" ] && ok "  ... nothing written there" || bad "a model written into a run"
"$km" convert "$dir/m" --out "$dir/m" --overwrite >/dev/null 2>&1 && "$km" logits "$dir/m" --ids 1,2,3,4,5 --output "$dir/a2.f32" >/dev/null 2>&1 &&
  cmp -s "$dir/a.f32" "$dir/a2.f32" && ok "convert --overwrite in place (f32): the same logits" || bad "convert in place"
# in place with a side file (tokenizer.json, classes.txt), twice: no temporary names left beside them
printf 'a\nb\n' > "$dir/m/classes.txt"
"$km" convert "$dir/m" --out "$dir/m" --overwrite --dtype bf16 >/dev/null 2>&1 &&
  "$km" convert "$dir/m" --out "$dir/m" --overwrite --dtype bf16 >/dev/null 2>&1 &&
  [ -z "$(ls "$dir/m" | grep '\.tmp-')" ] && [ "$(cat "$dir/m/classes.txt")" = "$(printf 'a\nb')" ] &&
  ok "convert in place twice with classes.txt: no temporary files left" || { bad "convert in place leaves temporaries"; ls "$dir/m"; }
# convert --overwrite of another model: its side files replace the old model's, and the old ones
# it lacks are removed (a stale classes.txt or tokenizer.json would pair with the new weights)
"$km" convert "$dir/m" --out "$dir/side" >/dev/null 2>&1 && printf '{}' > "$dir/side/tokenizer.json" &&
  "$km" init "$dir/c.json" --out "$dir/fresh" >/dev/null 2>&1 &&
  "$km" convert "$dir/fresh" --out "$dir/side" --overwrite > "$dir/o.side" 2>&1 &&
  [ ! -e "$dir/side/classes.txt" ] && [ ! -e "$dir/side/tokenizer.json" ] &&
  grep -q "removed the replaced model's tokenizer.json, classes.txt" "$dir/o.side" &&
  ok "convert --overwrite removes the replaced model's side files the new one lacks" || { bad "stale side files"; cat "$dir/o.side"; ls "$dir/side"; }
# convert DIR/model.safetensors (a file): the side files of its folder travel too
"$km" convert "$dir/m/model.safetensors" --out "$dir/fromfile" > "$dir/o.file" 2>&1 && [ -f "$dir/fromfile/classes.txt" ] &&
  ok "convert of a .safetensors file carries its folder's classes.txt" || { bad "convert of a file: side files"; cat "$dir/o.file"; }
# a stop while the weights are written (KRAIT_FAULT_KILL_AT_RENAME: SIGTERM with the temporaries
# whole, just before the rename): the replaced model stays whole, no temporary or lock file is
# left; a new folder goes with it (it was left holding .lock, a .krait-*.json and a .tmp- file)
"$km" convert "$dir/m" --out "$dir/kept" >/dev/null 2>&1 && cp "$dir/kept/model.safetensors" "$dir/kept.st" &&
  cp "$dir/kept/config.json" "$dir/kept.json"
KRAIT_FAULT_KILL_AT_RENAME=model.safetensors "$km" convert "$dir/m" --out "$dir/kept" --dtype f16 --overwrite >/dev/null 2>&1
rc=$?
KRAIT_FAULT_KILL_AT_RENAME=model.safetensors "$km" convert "$dir/m" --out "$dir/new/k" >/dev/null 2>&1
rc2=$?
[ $rc -eq 143 ] && [ "$(ls -A "$dir/kept" | tr '\n' ' ')" = "classes.txt config.json model.safetensors " ] &&
  cmp -s "$dir/kept.st" "$dir/kept/model.safetensors" && cmp -s "$dir/kept.json" "$dir/kept/config.json" &&
  [ $rc2 -eq 143 ] && [ ! -e "$dir/new" ] &&
  ok "convert stopped mid-write: the old model whole, no temporary left; a new folder removed" ||
  { bad "convert stopped mid-write (exits $rc, $rc2)"; ls -A "$dir/kept" "$dir/new" 2>&1; }
exit $fail
