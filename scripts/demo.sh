#!/usr/bin/env bash
# scripts/demo.sh — set up (scripts/setup.sh), then the main job on a small default: a 2-layer
# Mamba learns the induction-heads task at length 256 and is evaluated at length 4096, which it
# has never seen. Progress (loss, accuracy, tokens/s) streams on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./build/apps/krait-bench synthetic --task induction --minutes 3 --eval-len 4096 --eval-seqs 64 "$@"
