#!/usr/bin/env bash
# tests/dna/formats.sh DNA_DUMP DATA_DIR — the DNA reader against the tools genomics people trust:
# FASTA and FASTQ plain, gzip and bgzip read the same; TSV with and without a header; BED
# regions on a plain and a bgzipped indexed genome equal `samtools faidx` (strand '-' equals
# `samtools faidx -i`), centred and padded windows; SAM, BAM and CRAM reads (made by samtools
# from SAM text) give the SAM text's sequences; labels from a header key, a BED name, a
# whole-file label and a BAM aux tag; and bad input (a non-IUPAC character with its
# line:column, an empty sequence, a missing index, a region past the contig end, an unknown
# contig, a truncated FASTQ, a bgzip / BAM / gzip file cut short) exits 2 with one line.
set -u
dump="$1"
data="$2"
for t in samtools bgzip gzip; do command -v $t >/dev/null || { echo "skip: $t not installed"; exit 77; }; done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
same() { # name, expected file, command...
  local name="$1" want="$2"; shift 2
  if "$@" >"$dir/got" 2>"$dir/err" && cmp -s "$dir/got" "$want"; then ok "$name"
  else bad "$name"; diff "$want" "$dir/got" | head -5; cat "$dir/err"; fi
}
bad_input() { # name, fragment, command...
  local name="$1" frag="$2"; shift 2
  "$@" >/dev/null 2>"$dir/err"
  local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l < "$dir/err")" -eq 1 ] && grep -qF -- "$frag" "$dir/err"; then ok "$name: $(cat "$dir/err")"
  else bad "$name: exit $rc, want 2 and '$frag':"; cat "$dir/err"; fi
}

# ---- FASTA / FASTQ, three compressions -----------------------------------------------------------
printf '>r1 class=pos len=12\nACGTacgt\nNNRY\n\n>r2|x class=neg\nGGGG\n' > "$dir/a.fa"
printf 'r1\tpos\tACGTacgtNNRY\nr2|x\tneg\tGGGG\n' > "$dir/a.want"
printf '@q1 class=pos\nACGT\nAC\n+\nIIII\nII\n@q2 class=neg\nTTTn\n+q2\n!!!!\n' > "$dir/a.fq"
printf 'q1\tpos\tACGTAC\nq2\tneg\tTTTn\n' > "$dir/q.want"
for f in a.fa a.fq; do
  gzip -c "$dir/$f" > "$dir/$f.gz"
  bgzip -c "$dir/$f" > "$dir/$f.bgz"
done
for ext in "" .gz .bgz; do
  same "FASTA$ext (multi-line, mixed case, IUPAC, header key)" "$dir/a.want" "$dump" --label-key class "$dir/a.fa$ext"
  same "FASTQ$ext (multi-line and single-line records)" "$dir/q.want" "$dump" --label-key class "$dir/a.fq$ext"
done
# quality lines that start with '@' (Phred+33 Q31), on two lines: counted, not read as a header
printf '@q1\nACGT\nAC\n+\n@@@@\n@@\n@q2\nGG\n+\nII\n' > "$dir/at.fq"
printf 'q1\t-\tACGTAC\nq2\t-\tGG\n' > "$dir/at.want"
same "FASTQ quality lines starting with '@'" "$dir/at.want" "$dump" "$dir/at.fq"
# blank lines (CRLF too) before the first record: still FASTA / FASTQ, plain and gzip
printf '\n\r\n' | cat - "$dir/a.fa" > "$dir/lead.fa" && gzip -c "$dir/lead.fa" > "$dir/lead.fa.gz"
printf '\n' | cat - "$dir/a.fq" > "$dir/lead.fq"
same "FASTA after blank lines" "$dir/a.want" "$dump" --label-key class "$dir/lead.fa"
same "FASTA.gz after blank lines" "$dir/a.want" "$dump" --label-key class "$dir/lead.fa.gz"
same "FASTQ after a blank line" "$dir/q.want" "$dump" --label-key class "$dir/lead.fq"
printf 'r1\tpromoter\tACGTacgtNNRY\nr2|x\tpromoter\tGGGG\n' > "$dir/c.want"
same "one label for a whole file (one FASTA per class)" "$dir/c.want" "$dump" --label promoter "$dir/a.fa"

# ---- TSV ----------------------------------------------------------------------------------------
printf 'seq\tlabel\nACGT\t1\nggcc\t0\n' > "$dir/a.tsv"
printf '%s\t1\tACGT\n%s\t0\tggcc\n' "$dir/a.tsv:2" "$dir/a.tsv:3" > "$dir/t.want"
same "TSV with a header" "$dir/t.want" "$dump" "$dir/a.tsv"
printf 'label\tid\tsequence\nx\tn1\tAC\n' > "$dir/b.tsv"
printf 'n1\tx\tAC\n' > "$dir/b.want"
same "TSV columns found by header name" "$dir/b.want" "$dump" "$dir/b.tsv"
printf 'ACGT\nTTTT\n' > "$dir/c.tsv"
printf '%s\t-\tACGT\n%s\t-\tTTTT\n' "$dir/c.tsv:1" "$dir/c.tsv:2" > "$dir/c2.want"
same "TSV without a header or labels (sequences only)" "$dir/c2.want" "$dump" "$dir/c.tsv"
printf 'ACGT\tpos\nTTTT\n' > "$dir/c3.tsv"
bad_input "TSV rows of different widths (no header)" "c3.tsv:2: 1 column where the first row has 2" "$dump" "$dir/c3.tsv"
printf 'seq\tlabel\nACGT\tpos\textra\n' > "$dir/c4.tsv"
bad_input "TSV row wider than its header" "c4.tsv:2: 3 columns where the header has 2" "$dump" "$dir/c4.tsv"
# a header naming the label column but calling the sequences otherwise ("dna" is itself IUPAC):
# a header, said with a warning, not a row of bases "dna" labelled "label"
printf 'dna\tlabel\nACGT\t1\nggcc\t0\n' > "$dir/h.tsv"
printf '%s\t1\tACGT\n%s\t0\tggcc\n' "$dir/h.tsv:2" "$dir/h.tsv:3" > "$dir/h.want"
same "TSV header with the sequence column named otherwise" "$dir/h.want" "$dump" "$dir/h.tsv"
"$dump" "$dir/h.tsv" 2>&1 >/dev/null | grep -q "h.tsv:1: read as a header: the sequences are column 1 ('dna')" &&
  ok "  ... and a warning says so" || bad "no warning for the header read as one"
printf 'dna\tmore\tlabel\nACGT\tx\t1\n' > "$dir/h2.tsv"
bad_input "TSV header naming a label but not which of two columns holds the sequences" \
  "h2.tsv:1: a header (it names a label column) without a column named seq or sequence" "$dump" "$dir/h2.tsv"
# widths past the reader's 256 columns are refused, not cut (they were cut at 16, hiding width errors)
awk 'BEGIN { for (r = 0; r < 2; r++) { s = "ACGT\t1"; for (i = 0; i < (r ? 20 : 15); i++) s = s "\tx"; print s } }' > "$dir/w.tsv"
bad_input "TSV rows of 17 and 22 columns" "w.tsv:2: 22 columns where the first row has 17" "$dump" "$dir/w.tsv"
awk 'BEGIN { s = "ACGT\t1"; for (i = 0; i < 300; i++) s = s "\tx"; print s }' > "$dir/w2.tsv"
bad_input "TSV row of 302 columns" "w2.tsv:1: more than 256 columns" "$dump" "$dir/w2.tsv"
gzip -c "$dir/a.tsv" > "$dir/a.tsv.gz"
"$dump" "$dir/a.tsv.gz" | cut -f2,3 > "$dir/got"
[ "$(tr '\n' ' ' < "$dir/got")" = "1	ACGT 0	ggcc " ] && ok "TSV gzip" || bad "TSV gzip: $(cat "$dir/got")"

# ---- BED over faidx, plain and bgzipped genome -------------------------------------------------
cp "$data/ce_small.fa" "$dir/g.fa"
samtools faidx "$dir/g.fa"
bgzip -c "$dir/g.fa" > "$dir/g.fa.gz"
samtools faidx "$dir/g.fa.gz"
printf 'chrI_excerpt\t100\t160\tpos\t0\t+\nchrI_excerpt\t5000\t5251\tneg\t0\t-\n# comment\nchrM_excerpt\t0\t30\n' > "$dir/r.bed"
fa_seq() { samtools faidx "$@" | grep -v '^>' | tr -d '\n'; }
{
  printf 'chrI_excerpt:100-160(+)\tpos\t%s\n' "$(fa_seq "$dir/g.fa" chrI_excerpt:101-160)"
  printf 'chrI_excerpt:5000-5251(-)\tneg\t%s\n' "$(fa_seq -i "$dir/g.fa" chrI_excerpt:5001-5251)"
  printf 'chrM_excerpt:0-30(+)\t-\t%s\n' "$(fa_seq "$dir/g.fa" chrM_excerpt:1-30)"
} > "$dir/r.want"
same "BED regions = samtools faidx (strand - = samtools faidx -i)" "$dir/r.want" "$dump" --genome "$dir/g.fa" "$dir/r.bed"
same "BED regions on a bgzipped genome (.fai + .gzi)" "$dir/r.want" "$dump" --genome "$dir/g.fa.gz" "$dir/r.bed"
printf 'chrI_excerpt\t1000\t1011\tw\t0\t-\n' > "$dir/w.bed"
# centred 20-base window on [1000, 1011), strand -: read backwards its middle base 1005 is the
# window's 11th (index 10, as on +), so the window is [996, 1016) (+ reads [995, 1015)); named by
# the line's region
printf 'chrI_excerpt:1000-1011(-)\tw\t%s\n' "$(fa_seq -i "$dir/g.fa" chrI_excerpt:997-1016)" > "$dir/w.want"
same "centred window (strand -)" "$dir/w.want" "$dump" --genome "$dir/g.fa" --window 20 "$dir/w.bed"
printf 'chrI_excerpt\t1000\t1011\tw\t0\t+\n' > "$dir/wp.bed"
printf 'chrI_excerpt:1000-1011(+)\tw\t%s\n' "$(fa_seq "$dir/g.fa" chrI_excerpt:996-1015)" > "$dir/wp.want"
same "centred window (strand +)" "$dir/wp.want" "$dump" --genome "$dir/g.fa" --window 20 "$dir/wp.bed"
printf 'chrM_excerpt\t0\t4\tp\n' > "$dir/p.bed"
# padded 10-base window: [-3, 7): three N before the contig start
printf 'chrM_excerpt:0-4(+)\tp\tNNN%s\n' "$(fa_seq "$dir/g.fa" chrM_excerpt:1-7)" > "$dir/p.want"
same "padded window (N outside the contig)" "$dir/p.want" "$dump" --genome "$dir/g.fa" --window 10 --pad "$dir/p.bed"
printf 'chrI_excerpt\t3000\t3000\tpt\n' > "$dir/pt.bed"
# an empty region (a point between bases 2999 and 3000) with a 10-base window: [2995, 3005)
printf 'chrI_excerpt:3000-3000(+)\tpt\t%s\n' "$(fa_seq "$dir/g.fa" chrI_excerpt:2996-3005)" > "$dir/pt.want"
same "an empty region (a point) with a centred window" "$dir/pt.want" "$dump" --genome "$dir/g.fa" --window 10 "$dir/pt.bed"
# a region longer than the reader's fetch limit comes without its bases (the caller streams it)
printf 'chrI_excerpt\t100\t160\tlong\nchrI_excerpt\t100\t140\tshort\n' > "$dir/fm.bed"
printf 'chrI_excerpt:100-160(+)\tlong\t(60 bases, not fetched)\nchrI_excerpt:100-140(+)\tshort\t%s\n' \
  "$(fa_seq "$dir/g.fa" chrI_excerpt:101-140)" > "$dir/fm.want"
same "a BED region over the fetch limit is not read into memory" "$dir/fm.want" "$dump" --genome "$dir/g.fa" --fetch-max 50 "$dir/fm.bed"
# windows at the edges, both modes placing a window alike: the region's middle base (the later of
# two) at W/2, i.e. [start + len/2 - W/2, + W)
edge() { # name, bed line, dump options, want (sequence)
  printf '%s\n' "$2" > "$dir/edge.bed"
  printf '%s\t-\t%s\n' "$(echo "$2" | awk '{ printf "%s:%s-%s(+)", $1, $2, $3 }')" "$4" > "$dir/edge.want"
  same "$1" "$dir/edge.want" "$dump" --genome "$dir/g.fa" $3 "$dir/edge.bed"
}
edge "padded window over the contig end: N after its last base" "chrM_excerpt	2996	3000" "--window 10 --pad" \
  "$(fa_seq "$dir/g.fa" chrM_excerpt:2994-3000)NNN"
edge "padded window as long as the region" "chrM_excerpt	100	110" "--window 10 --pad" "$(fa_seq "$dir/g.fa" chrM_excerpt:101-110)"
edge "padded window, odd room: [97, 107)" "chrM_excerpt	100	105" "--window 10 --pad" "$(fa_seq "$dir/g.fa" chrM_excerpt:98-107)"
edge "centred window, odd room: the same [97, 107)" "chrM_excerpt	100	105" "--window 10" "$(fa_seq "$dir/g.fa" chrM_excerpt:98-107)"
edge "centred window ending at the contig end" "chrM_excerpt	2990	3000" "--window 10" "$(fa_seq "$dir/g.fa" chrM_excerpt:2991-3000)"
edge "centred window cutting a longer region" "chrI_excerpt	100	131" "--window 10" "$(fa_seq "$dir/g.fa" chrI_excerpt:111-120)"

# ---- SAM / BAM / CRAM ---------------------------------------------------------------------------
s1=$(fa_seq "$dir/g.fa" chrI_excerpt:201-240)
s2=$(fa_seq -i "$dir/g.fa" chrI_excerpt:301-330)
{
  printf '@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chrI_excerpt\tLN:12000\n@SQ\tSN:chrM_excerpt\tLN:3000\n'
  printf 'read1\t0\tchrI_excerpt\t201\t60\t40M\t*\t0\t0\t%s\t*\tXC:Z:pos\n' "$s1"
  printf 'read2\t16\tchrI_excerpt\t301\t60\t30M\t*\t0\t0\t%s\t*\tXC:Z:neg\n' "$(fa_seq "$dir/g.fa" chrI_excerpt:301-330)"
  printf 'read2\t2064\tchrI_excerpt\t301\t60\t30M\t*\t0\t0\t%s\t*\tXC:Z:neg\n' "$(fa_seq "$dir/g.fa" chrI_excerpt:301-330)"
  printf 'read1\t256\tchrI_excerpt\t201\t0\t40M\t*\t0\t0\t%s\t*\tXC:Z:pos\n' "$s1"
  printf 'read3\t4\t*\t0\t0\t*\t*\t0\t0\tACGTNACGT\t*\tXC:i:3\n'
} > "$dir/r.sam"
{
  printf 'read1\tpos\t%s\n' "$s1"
  printf 'read2\tneg\t%s\n' "$(fa_seq "$dir/g.fa" chrI_excerpt:301-330)"
  printf 'read3\t3\tACGTNACGT\n'
} > "$dir/sam.want"
samtools view -b -o "$dir/r.bam" "$dir/r.sam"
samtools view -C -T "$dir/g.fa" -o "$dir/r.cram" "$dir/r.sam"
same "SAM reads (secondary and supplementary skipped, aux-tag labels)" "$dir/sam.want" "$dump" --label-key XC "$dir/r.sam"
same "BAM reads" "$dir/sam.want" "$dump" --label-key XC "$dir/r.bam"
same "CRAM reads (reference given)" "$dir/sam.want" "$dump" --label-key XC --reference "$dir/g.fa" "$dir/r.cram"
[ -n "$s2" ] || bad "samtools faidx -i gave nothing"
sed 's/XC:i:3/XC:A:3/' "$dir/r.sam" > "$dir/ra.sam"
same "a character (A) tag as the label" "$dir/sam.want" "$dump" --label-key XC "$dir/ra.sam"
sed 's/XC:i:3/XC:f:3.5/' "$dir/r.sam" > "$dir/rf.sam"
bad_input "a float tag as the label" "rf.sam: read 5 ('read3'): its XC tag (type f) is not one of those" "$dump" --label-key XC "$dir/rf.sam"
sed 's/^read3\t4\t\*\t0\t0\t\*\t\*\t0\t0\tACGTN/read3\t4\t*\t0\t0\t*\t*\t0\t0\tAC=TN/' "$dir/r.sam" > "$dir/req.sam"
bad_input "a '=' base (the reference's) in a read" "req.sam: read 5 ('read3'), base 3: '=' is not an IUPAC nucleotide code ('=' stands for" \
  "$dump" --label-key XC "$dir/req.sam"
# a CRAM without its reference (moved away, the header's path and REF_PATH unusable): the reason, not "corrupt"
mkdir -p "$dir/cr" && cp "$dir/g.fa" "$dir/cr/ref.fa" && samtools faidx "$dir/cr/ref.fa" &&
  samtools view -C -T "$dir/cr/ref.fa" -o "$dir/cr/r.cram" "$dir/r.sam" && rm "$dir/cr/ref.fa" "$dir/cr/ref.fa.fai"
REF_PATH="$dir/no-ref" REF_CACHE="$dir/no-ref-cache" bad_input "a CRAM whose reference is gone" "r.cram: cannot decode record 1: a CRAM needs the reference" \
  "$dump" --label-key XC "$dir/cr/r.cram"
head -c 200 "$dir/r.cram" > "$dir/cut.cram"
bad_input "a CRAM cut to its first 200 bytes" "cut.cram: not a sequence file krait reads" "$dump" "$dir/cut.cram"

# ---- bad input: exit 2, one line ----------------------------------------------------------------
printf '>r1\nACGT\nACXT\n' > "$dir/x.fa"
bad_input "non-IUPAC character (file:line:column)" "x.fa:3:3: 'X' is not an IUPAC" "$dump" "$dir/x.fa"
printf 'seq\tlabel\nAC GT\t1\n' > "$dir/x.tsv"
bad_input "space inside a TSV sequence" "x.tsv:2:3:" "$dump" "$dir/x.tsv"
printf '>r1\n>r2\nAC\n' > "$dir/e.fa"
bad_input "empty FASTA sequence" "e.fa:1: record 'r1' has an empty sequence" "$dump" "$dir/e.fa"
printf 'seq\tlabel\n\t1\n' > "$dir/e.tsv"
bad_input "empty TSV sequence" "e.tsv:2: empty sequence" "$dump" "$dir/e.tsv"
printf '@q\nACGT\n+\nII\n' > "$dir/t.fq"
bad_input "truncated FASTQ quality" "2 quality characters for 4 bases" "$dump" "$dir/t.fq"
printf '@q\nACGT\n+\nIIIIII\n' > "$dir/t6.fq"
bad_input "FASTQ quality longer than its bases" "6 quality characters for 4 bases" "$dump" "$dir/t6.fq"
# a one-line sequence's short quality followed by the next record: its header is not counted as
# quality (it was, and the record passed when the header made up the length)
printf '@r1\nACGTACGT\n+\nIIIII\n@r2\nACGTACGT\n+\nIIIIIIII\n' > "$dir/sq.fq"
bad_input "FASTQ quality short by a header's length" "sq.fq:4: FASTQ record 'r1' has 5 quality characters for 8 bases" "$dump" "$dir/sq.fq"
printf 'seq label\nACGT 1\n' > "$dir/sp.tsv"
bad_input "TSV columns separated by spaces" "sp.tsv:1: one column holding spaces: a TSV's columns are separated by tabs" "$dump" "$dir/sp.tsv"
printf 'seq\tlabel\rACGT\t1\rACGG\t0\r' > "$dir/cr.tsv"
bad_input "TSV with carriage returns alone as line ends" "cr.tsv:1: lines end in a carriage return alone" "$dump" "$dir/cr.tsv"
printf 'seq\tlabel\nACGT\t\n' > "$dir/el.tsv"
bad_input "TSV row without its label" "el.tsv:2: empty label" "$dump" "$dir/el.tsv"
printf '> r1 desc\nACGT\n' > "$dir/sp.fa"
bad_input "a space after '>'" "sp.fa:1: record without a name (a space after the header's '>'" "$dump" "$dir/sp.fa"
printf '>r1\rACGT\r>r2\rACGG\r' > "$dir/cr.fa"
bad_input "carriage returns alone as line ends" "cr.fa:1: lines end in a carriage return alone; convert them (tr '\\r' '\\n')" "$dump" "$dir/cr.fa"
printf '>r1 a description\rACGT\r>r2 more\rACGG\r' > "$dir/crd.fa"
bad_input "carriage returns alone, headers with descriptions" "crd.fa:1: lines end in a carriage return alone" "$dump" "$dir/crd.fa"
printf '>r1\n;an old-style comment line\nACGT\n' > "$dir/sc.fa"
printf 'r1\t-\tACGT\n' > "$dir/sc.want"
same "FASTA ';' comment lines are skipped" "$dir/sc.want" "$dump" "$dir/sc.fa"
cp "$dir/g.fa" "$dir/noidx.fa"
bad_input "missing faidx index" "no index" "$dump" --genome "$dir/noidx.fa" "$dir/r.bed"
printf 'chrM_excerpt\t2990\t3010\n' > "$dir/past.bed"
# a base that is no IUPAC code inside a region: the genome's place and the BED line that asked for it
printf '>c1\nACGTACGTXA\n' > "$dir/bx.fa" && printf 'c1\t10\t4\t10\t11\n' > "$dir/bx.fa.fai"
printf 'c1\t0\t4\nc1\t2\t10\n' > "$dir/bx.bed"
bad_input "a non-IUPAC base in a BED region of the genome" "bx.bed:2: $dir/bx.fa: c1:9: 'X' is not an IUPAC nucleotide code" \
  "$dump" --genome "$dir/bx.fa" "$dir/bx.bed"
printf 'chrM_excerpt\t 10\t+50\n' > "$dir/sg.bed"
bad_input "BED coordinates with a space or a sign" "sg.bed:1: start ' 10' and end '+50' must be whole numbers" \
  "$dump" --genome "$dir/g.fa" "$dir/sg.bed"
bad_input "BED region past the contig end" "past.bed:1: region chrM_excerpt:2990-3010 is past the end of contig chrM_excerpt (length 3000)" \
  "$dump" --genome "$dir/g.fa" "$dir/past.bed"
# a region that ends exactly at the contig's end is inside it
printf 'chrM_excerpt\t2990\t3000\tend\n' > "$dir/end.bed"
printf 'chrM_excerpt:2990-3000(+)\tend\t%s\n' "$(fa_seq "$dir/g.fa" chrM_excerpt:2991-3000)" > "$dir/end.want"
same "a BED region ending at the contig's end" "$dir/end.want" "$dump" --genome "$dir/g.fa" "$dir/end.bed"
printf 'chrM_excerpt\t2990\t3000\n' > "$dir/pw.bed"
bad_input "centred window past the contig end" "past the end of contig" "$dump" --genome "$dir/g.fa" --window 40 "$dir/pw.bed"
bad_input "an empty region without a window" "pt.bed:1: region chrI_excerpt:3000-3000 is empty" "$dump" --genome "$dir/g.fa" "$dir/pt.bed"
printf 'chrZ\t1\t10\n' > "$dir/z.bed"
bad_input "unknown contig" "contig 'chrZ' is not in" "$dump" --genome "$dir/g.fa" "$dir/z.bed"
head -c 2000 "$dir/g.fa" > "$dir/cut.fa" && cp "$dir/g.fa.fai" "$dir/cut.fa.fai"   # the old index kept
printf 'chrI_excerpt\t5000\t5100\n' > "$dir/far.bed"
bad_input "a stale index (the FASTA cut short)" "cut.fa.fai does not match it (contig chrM_excerpt" "$dump" --genome "$dir/cut.fa" "$dir/far.bed"
# a stale index of a re-wrapped FASTA (80 columns, the 60-column index kept): htslib alone reads other bases
awk '/^>/ { if (s != "") print s; s = ""; print; next } { s = s $0 } END { print s }' "$dir/g.fa" |
  awk '/^>/ { print; next } { for (i = 1; i <= length($0); i += 80) print substr($0, i, 80) }' > "$dir/w80.fa"
cp "$dir/g.fa.fai" "$dir/w80.fa.fai"
bad_input "a stale index (the FASTA re-wrapped)" "w80.fa.fai does not match it" "$dump" --genome "$dir/w80.fa" "$dir/r.bed"
bgzip -c -i -I "$dir/w80.fa.gz.gzi" "$dir/w80.fa" > "$dir/w80.fa.gz" && cp "$dir/g.fa.fai" "$dir/w80.fa.gz.fai"
bad_input "a stale index of a bgzipped FASTA (re-wrapped)" "w80.fa.gz.fai does not match it" "$dump" --genome "$dir/w80.fa.gz" "$dir/r.bed"
# the index check's other two tests: a 100-base contig re-wrapped from 60 to 50 columns, whose
# last base lands where the old index expects it (the first line's end tells), and a FASTA
# without a final newline, whose index is right
printf '>c\n%s\n' "$(head -c 100 < <(fa_seq "$dir/g.fa" chrI_excerpt:1-100))" | fold -w 60 > "$dir/c60.fa"
samtools faidx "$dir/c60.fa" && fold -w 50 "$dir/c60.fa" | tr -d '\r' | awk 'NR == 1 { print; next } { s = s $0 } END {
  for (i = 1; i <= length(s); i += 50) print substr(s, i, 50) }' > "$dir/c50.fa" && cp "$dir/c60.fa.fai" "$dir/c50.fa.fai"
printf 'c\t55\t65\n' > "$dir/c.bed"
bad_input "a stale index (re-wrapped, the last base where the index expects it)" "c50.fa.fai does not match it" \
  "$dump" --genome "$dir/c50.fa" "$dir/c.bed"
printf '>c\nACGTACGTAC' > "$dir/nonl.fa" && samtools faidx "$dir/nonl.fa" && printf 'c\t2\t8\n' > "$dir/nonl.bed"
printf 'c:2-8(+)\t-\tGTACGT\n' > "$dir/nonl.want"
same "a genome FASTA without a final newline" "$dir/nonl.want" "$dump" --genome "$dir/nonl.fa" "$dir/nonl.bed"
# a contig, or bases, added at the end after indexing: the old index does not reach the file's end
# (htslib would say the new contig is not in the FASTA, and pad with N where there are bases)
cp "$dir/g.fa" "$dir/ap.fa" && cp "$dir/g.fa.fai" "$dir/ap.fa.fai" && printf '>plasmid\nACGTACGTAC\n' >> "$dir/ap.fa"
bad_input "a stale index (a contig appended)" "ap.fa.fai does not match it (contig chrM_excerpt" "$dump" --genome "$dir/ap.fa" "$dir/r.bed"
cp "$dir/g.fa" "$dir/ext.fa" && cp "$dir/g.fa.fai" "$dir/ext.fa.fai" && printf 'ACGTACGTAC\n' >> "$dir/ext.fa"
bad_input "a stale index (bases appended to the last contig)" "ext.fa.fai does not match it" "$dump" --genome "$dir/ext.fa" "$dir/r.bed"
cp "$dir/g.fa" "$dir/tail.fa" && printf '\n\r\n' >> "$dir/tail.fa" && samtools faidx "$dir/tail.fa"
same "blank lines after the last contig" "$dir/r.want" "$dump" --genome "$dir/tail.fa" "$dir/r.bed"
cp "$dir/g.fa" "$dir/tail2.fa" && printf '  \t\n' >> "$dir/tail2.fa" && samtools faidx "$dir/tail2.fa"
same "a line of spaces and a tab after the last contig (samtools indexes it)" "$dir/r.want" "$dump" --genome "$dir/tail2.fa" "$dir/r.bed"
# a bgzipped genome of several blocks whose .gzi is an older, shorter version's: htslib asserts
# (abort) on a seek past what it covers; krait refuses the index
awk 'BEGIN { srand(5); for (c = 0; c < 3; c++) { print ">k" c; for (l = 0; l < 1200; l++) { s = ""
  for (i = 0; i < 60; i++) s = s substr("ACGT", 1 + int(rand() * 4), 1); print s } } }' > "$dir/k.fa"
bgzip -c "$dir/k.fa" > "$dir/k.fa.gz" && samtools faidx "$dir/k.fa.gz"
printf 'k2\t70000\t70040\n' > "$dir/k.bed"
printf 'k2:70000-70040(+)\t-\t%s\n' "$(fa_seq "$dir/k.fa.gz" k2:70001-70040)" > "$dir/k.want"
same "a region in the last block of a bgzipped genome" "$dir/k.want" "$dump" --genome "$dir/k.fa.gz" "$dir/k.bed"
head -c 100000 "$dir/k.fa" | bgzip -c -i -I "$dir/k.fa.gz.gzi" > "$dir/k.old.gz"
bad_input "a .gzi of an older, shorter version" "k.fa.gz.gzi does not match it" "$dump" --genome "$dir/k.fa.gz" "$dir/k.bed"
printf 'junk' > "$dir/k.fa.gz.gzi"
bad_input "a .gzi that is not one" "k.fa.gz.gzi cannot be read as one" "$dump" --genome "$dir/k.fa.gz" "$dir/k.bed"
cp "$dir/g.fa.gz" "$dir/nogzi.fa.gz" && cp "$dir/g.fa.gz.fai" "$dir/nogzi.fa.gz.fai"
bad_input "a bgzipped genome without its .gzi" "nogzi.fa.gz.gzi" "$dump" --genome "$dir/nogzi.fa.gz" "$dir/r.bed"
gzip -c "$dir/g.fa" > "$dir/gz.fa.gz" && cp "$dir/g.fa.fai" "$dir/gz.fa.gz.fai"
bad_input "a gzip (not bgzip) genome, with or without an index" "gz.fa.gz: compressed with gzip, which cannot be indexed; recompress it with bgzip" \
  "$dump" --genome "$dir/gz.fa.gz" "$dir/r.bed"
rm "$dir/gz.fa.gz.fai"
bad_input "... without one" "gz.fa.gz: compressed with gzip" "$dump" --genome "$dir/gz.fa.gz" "$dir/r.bed"
cp "$dir/g.fa" "$dir/junk.fa" && printf 'chrI_excerpt\tmany\n' > "$dir/junk.fa.fai"
bad_input "an index that is not one" "junk.fa.fai:1: not a FASTA index line" "$dump" --genome "$dir/junk.fa" "$dir/r.bed"
# past 1024 contigs only 1024 are checked at open; the others when first read: 2,100 contigs,
# contig c1 (not among the checked at open) re-wrapped from 60 to 70 columns, same size
awk 'BEGIN { srand(3); for (i = 0; i < 2100; i++) { s = ""; for (j = 0; j < 100; j++) s = s substr("ACGT", int(rand() * 4) + 1, 1);
  print ">c" i; print substr(s, 1, 60); print substr(s, 61) } }' > "$dir/many.fa"
samtools faidx "$dir/many.fa"
awk 'NR == 4 { s = $0; next } NR == 5 { print substr(s $0, 1, 70); print substr(s $0, 71); next } { print }' "$dir/many.fa" > "$dir/many2.fa"
cmp -s <(wc -c < "$dir/many.fa") <(wc -c < "$dir/many2.fa") && mv "$dir/many2.fa" "$dir/many.fa" || bad "many.fa re-wrap changed its size"
printf 'c2\t10\t30\nc4\t10\t30\n' > "$dir/c24.bed"
printf 'c1\t10\t30\n' > "$dir/c1.bed"
"$dump" --genome "$dir/many.fa" "$dir/c24.bed" > /dev/null 2>&1 && ok "2,100 contigs, one re-wrapped: other contigs read" ||
  bad "2,100 contigs: the untouched contigs were refused"
bad_input "a stale index past 1024 contigs (the re-wrapped contig checked when first read)" \
  "many.fa.fai does not match it (contig c1, line 2 of the index)" "$dump" --genome "$dir/many.fa" "$dir/c1.bed"
samtools faidx "$dir/w80.fa"
same "the re-wrapped FASTA re-indexed reads the same bases" "$dir/r.want" "$dump" --genome "$dir/w80.fa" "$dir/r.bed"
bad_input "missing header key" "no label key 'class=...'" "$dump" --label-key class "$dir/x.fa"
bad_input "BED without a genome" "need a genome FASTA" "$dump" "$dir/r.bed"
bad_input "a BAM label key that is not a tag" "--label-key class: SAM/BAM/CRAM labels come from a two-letter aux tag" \
  "$dump" --label-key class "$dir/r.bam"
bad_input "missing file" "cannot open" "$dump" "$dir/nope.fa"
# cut-short compressed files: never read as if whole. A bgzip file or a BAM cut at a block boundary
# decompresses cleanly; only the missing end-of-file block tells (samtools quickcheck's test).
awk 'BEGIN { for (i = 0; i < 4000; i++) printf ">r%d\nACGTTGCAACGTTGCAACGTTGCAACGTTGCAACGTTGCA\n", i }' > "$dir/many.fa"
bgzip -c "$dir/many.fa" > "$dir/many.fa.gz"
blk=$(( $(od -An -tu1 -j16 -N2 "$dir/many.fa.gz" | awk '{ print $1 + 256 * $2 }') + 1 ))  # BSIZE + 1: the first block
head -c "$blk" "$dir/many.fa.gz" > "$dir/cut.fa.gz"
gzip -t "$dir/cut.fa.gz" 2>/dev/null && bad_input "bgzip cut at a block boundary" "cut.fa.gz: truncated: the BGZF end-of-file block is missing" "$dump" "$dir/cut.fa.gz" ||
  bad "the cut bgzip file is not a clean block boundary (test setup)"
head -c "$(( $(stat -c %s "$dir/r.bam") - 28 ))" "$dir/r.bam" > "$dir/cut.bam"  # without the 28-byte EOF block
bad_input "BAM without its end-of-file block" "cut.bam: truncated: the end-of-file marker is missing" "$dump" "$dir/cut.bam"
gzip -c "$dir/many.fa" | head -c 3000 > "$dir/cut2.fa.gz"
bad_input "gzip cut mid-stream" "cut2.fa.gz:" "$dump" "$dir/cut2.fa.gz"
exit $fail
