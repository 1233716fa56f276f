#!/usr/bin/env bash
# data/fetch.sh [DIR] — download the text, DNA and audio datasets krait's benchmarks and data tests use
# into DIR (default ../shared/data beside the checkout, where the tests look). Needs curl, tar, gzip and
# internet. Every file is checked against the SHA-256 of the copy the tests were written for; a file
# already there is kept only when it matches (a different one stops the script: nothing is overwritten).
set -euo pipefail
export LC_ALL=C
dest=${1:-"$(cd "$(dirname "$0")/.." && pwd)/../shared/data"}
for t in curl tar gzip sha256sum; do
  command -v "$t" >/dev/null || { echo "fetch.sh: needs $t (Debian: apt-get install curl ca-certificates tar gzip)" >&2; exit 1; }
done
die() { echo "fetch.sh: $*" >&2; exit 1; }
ok_sum() { [ "$(sha256sum <"$1" | cut -d' ' -f1)" = "$2" ]; }
get() { # url file sha256
  if [ -e "$2" ]; then
    ok_sum "$2" "$3" && { echo "have $2"; return; }
    die "$2 is there but is not the expected file (SHA-256 differs): move it away and run again"
  fi
  mkdir -p "$(dirname "$2")"
  echo "fetching $1"
  curl -fL --retry 3 -o "$2.part" "$1" || { rm -f "$2.part"; die "download failed: $1"; }
  ok_sum "$2.part" "$3" || { rm -f "$2.part"; die "$1: SHA-256 differs from the expected file (changed upstream?)"; }
  mv "$2.part" "$2"
}
gh=https://raw.githubusercontent.com
# text (pinned to the commits in ../shared/data's READMEs)
get $gh/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt \
    "$dest/text/tinyshakespeare/input.txt" 86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed
ex=$gh/pytorch/examples/77f55b912142e11fcfdf5b530231fb9c52f181e8/word_language_model/data/wikitext-2
get $ex/valid.txt "$dest/text/wikitext2/valid.txt" f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8
get $ex/test.txt "$dest/text/wikitext2/test.txt" d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0
get https://huggingface.co/state-spaces/mamba-130m-hf/resolve/main/tokenizer.json \
    "$dest/text/gpt-neox-20b/tokenizer.json" 503a6edd4ed5739c5ef9b1af11e9b724d5140f803dc7fcf1e71ea3fb8a1e73e4
# DNA
hub=$gh/allison-eunse/ai4h-inspired-fm-benchmark-hub/main/toy_data/genomics/dna_sequences
get $hub/promoters_nontata/test.tsv "$dest/dna/gb_human_nontata_promoters/test.tsv" \
    e223768c9a846506581e702b412211d71290107b798bb1b220b10a158f591e35
get $hub/enhancers_cohn/test.tsv "$dest/dna/gb_human_enhancers_cohn/test.tsv" \
    285b359415300d55b929cb67c861169f5227a40a76a1e98cd14c8a2753d12e1a
hts=$gh/samtools/htslib/cb88c90b4620bf4c910b9c3b60e9738c48b09ddb/test
get $hts/ce.fa "$dest/dna/celegans_ce_fa/ce.fa" 5eca163c91918ada9774080ee2274208155f4d1b2d00700ee950cdd7b269508c
get $hts/ce.fa.fai "$dest/dna/celegans_ce_fa/ce.fa.fai" 445a36da04b64dd49b8b964171c6d4b4cafc12e9bff50f8cf4ce33717fec6ff5
# FSDD (CC BY-SA 4.0): recordings/{digit}_{speaker}_{index}.wav, 3,000 files. The hash is over the
# sorted `sha256sum *.wav` listing (GitHub's archives are not byte-stable, their contents are).
fsdd=26eb9aaf76e81b692f806f9140c2d2777410d7a1
fsdd_sum=1801eae019c063377d98f831d3f93574f259475df7332bb0e3d1b080fb5e6959
rec="$dest/audio/fsdd/recordings"
list_sum() { (cd "$1" && sha256sum -- *.wav) | sha256sum | cut -d' ' -f1; }
if [ -e "$rec" ]; then
  [ "$(list_sum "$rec")" = "$fsdd_sum" ] || die "$rec is incomplete or differs from FSDD $fsdd: remove it and run again"
  echo "have $rec"
else
  mkdir -p "$dest/audio/fsdd"
  tmp=$(mktemp -d "$dest/audio/fsdd/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "fetching FSDD $fsdd"
  curl -fL --retry 3 -o "$tmp/fsdd.tar.gz" https://github.com/Jakobovski/free-spoken-digit-dataset/archive/$fsdd.tar.gz ||
    die "download of FSDD failed"
  tar -xzf "$tmp/fsdd.tar.gz" -C "$tmp" --strip-components=1 --wildcards '*/recordings/*.wav' || die "FSDD archive unreadable"
  [ "$(list_sum "$tmp/recordings")" = "$fsdd_sum" ] || die "FSDD recordings differ from commit $fsdd"
  mv "$tmp/recordings" "$rec"
fi
echo "data in $dest"
