#!/usr/bin/env bash
# data/fetch.sh DIR — download the text, DNA and audio datasets krait's benchmarks and data tests use into DIR
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
# DNA: the Genomic Benchmarks test splits (sequences + labels, as exported to TSV in the
# ai4h-inspired-fm-benchmark-hub repository) and htslib's C. elegans test FASTA with its index.
hub=https://raw.githubusercontent.com/allison-eunse/ai4h-inspired-fm-benchmark-hub/main/toy_data/genomics/dna_sequences
get $hub/promoters_nontata/test.tsv "$dest/dna/gb_human_nontata_promoters/test.tsv"
get $hub/enhancers_cohn/test.tsv "$dest/dna/gb_human_enhancers_cohn/test.tsv"
for f in ce.fa ce.fa.fai; do
  get https://raw.githubusercontent.com/samtools/htslib/develop/test/$f "$dest/dna/celegans_ce_fa/$f"
done
echo "data in $dest/dna"

# FSDD (Free Spoken Digit Dataset, CC BY-SA 4.0): recordings/{digit}_{speaker}_{index}.wav, 8 kHz.
if [ -d "$dest/audio/fsdd/recordings" ]; then echo "have $dest/audio/fsdd/recordings"
else
  get https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/heads/master.tar.gz "$dest/audio/fsdd.tar.gz"
  mkdir -p "$dest/audio/fsdd"
  tar -xzf "$dest/audio/fsdd.tar.gz" -C "$dest/audio/fsdd" --strip-components=1 --wildcards '*/recordings/*.wav'
  rm -f "$dest/audio/fsdd.tar.gz"
fi
echo "data in $dest/audio"
