#!/usr/bin/env bash
# data/fetch.sh DIR — download the text datasets krait's benchmarks and data tests use into DIR
# (default ../shared/data, where the tests look). Needs curl and internet. See data/README.md.
set -euo pipefail
dest=${1:-"$(dirname "$0")/../../shared/data"}
get() { # url file
  if [ -s "$2" ]; then echo "have $2"; return; fi
  mkdir -p "$(dirname "$2")"
  echo "fetching $1"
  curl -fL --retry 3 -o "$2.part" "$1" && mv "$2.part" "$2"
}
get https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt \
    "$dest/text/tinyshakespeare/input.txt"
for s in valid test; do
  get https://raw.githubusercontent.com/pytorch/examples/main/word_language_model/data/wikitext-2/$s.txt \
      "$dest/text/wikitext2/$s.txt"
done
get https://huggingface.co/state-spaces/mamba-130m-hf/resolve/main/tokenizer.json \
    "$dest/text/gpt-neox-20b/tokenizer.json"
echo "data in $dest/text"
