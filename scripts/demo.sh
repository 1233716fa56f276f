#!/usr/bin/env bash
# scripts/demo.sh — set up (scripts/setup.sh), then the main job on a small default: a byte-level
# Mamba (4 layers, d_model 256) trains for two minutes on 300 kB of Shakespeare shipped in
# data/text, validating on the last 10%, then writes a continuation of a prompt. Progress (loss,
# validation loss, tokens/s, ETA) streams on stderr; the run folder runs/demo/model holds the
# model, checkpoints, metrics.jsonl and curves.svg (train and validation loss).
# Options after the script name go to `krait-text train` (e.g. --minutes 5).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
K=build/apps/krait-text
rm -rf runs/demo
$K prepare --input data/text/shakespeare-300k.txt --output runs/demo/data --split-tail 0.1
$K train --config text-bytes-shakespeare --data runs/demo/data --out runs/demo/model --minutes 2 \
    --eval-every 100 --ckpt-every 0 "$@"
echo
echo "--- krait-text generate --model runs/demo/model --prompt 'ROMEO:' ---"
$K generate --model runs/demo/model --prompt "ROMEO:" --max-tokens 400 --temperature 0.8 --seed 1
echo
echo "curves: runs/demo/model/curves.svg; more text: $K generate --model runs/demo/model --prompt '...'"
