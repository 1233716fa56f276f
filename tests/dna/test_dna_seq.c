/* tests/dna/test_dna_seq.c — the DNA pieces that need no files: the alphabet (case, IUPAC -> N,
 * U -> T, everything else rejected at the right index), reverse complement (against a
 * character-level reference on random sequences; an involution), the TSV / BED / header-key
 * line parsers on memory buffers (good and malformed lines), k-mer features (hand-counted and
 * sums), the split and K folds (deterministic for a seed, stratified, different for another
 * seed; folds partition the rows), the training augmentation (rates, turns, N untouched) and the
 * training crop's start (no draw when the sequence fits; every offset, none outside). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dna_kmer.h"
#include "dna_read.h"
#include "dna_region.h"
#include "dna_seq.h"
#include "dna_set.h"
#include "log.h"
#include "testutil.h"

static void quiet(krait_log_level l, const char *m, void *u) { (void)l, (void)m, (void)u; }

static char comp_char(char c)
{
    switch (c) {
    case 'A': return 'T';
    case 'C': return 'G';
    case 'G': return 'C';
    case 'T': return 'A';
    default: return 'N';
    }
}

static void test_alphabet(void)
{
    const char *in = "ACGTacgtNnRYSWKMBDHVrysw kmbdhvUu";
    int32_t ids[64];
    size_t n = strlen(in);
    size_t bad = krait_dna_encode(ids, in, n);
    tu_check(bad == 24, "the space at index 24 is rejected (got %zu)", bad);
    const int32_t want[] = { 0, 1, 2, 3, 0, 1, 2, 3 };
    tu_check(!memcmp(ids, want, sizeof want), "A C G T / a c g t -> 0 1 2 3 regardless of case");
    int allN = 1;
    for (int i = 8; i < 24; i++) allN &= ids[i] == KRAIT_DNA_N;
    tu_check(allN, "N and the IUPAC ambiguity codes (both cases) -> N");
    bad = krait_dna_encode(ids, in + 25, n - 25);
    tu_check(bad == n - 25 && ids[n - 27] == KRAIT_DNA_T && ids[n - 26] == KRAIT_DNA_T, "U/u -> T, the rest accepted");
    const char *rejects = "-.*0123456789EFIJLOPQXZefijlopqxz@>\t\r\xc3";
    int all_bad = 1;
    for (const char *p = rejects; *p; p++) all_bad &= krait_dna_base_id((unsigned char)*p) < 0;
    tu_check(all_bad, "gaps, digits, non-IUPAC letters, punctuation and non-ASCII bytes are rejected");
    uint8_t u8[8];
    tu_check(krait_dna_encode_u8(u8, "ACGXT", 5) == 3, "encode_u8 stops at the bad character");
}

static void test_revcomp(void)
{
    for (int trial = 0; trial < 50; trial++) {
        size_t n = 1 + tu_next() % 300;
        char s[301], ref[301];
        for (size_t i = 0; i < n; i++) s[i] = "ACGTN"[tu_next() % 5];
        for (size_t i = 0; i < n; i++) ref[i] = comp_char(s[n - 1 - i]);
        int32_t a[301], b[301];
        uint8_t c[301];
        krait_dna_encode(a, s, n);
        krait_dna_encode(b, ref, n);
        krait_dna_encode_u8(c, s, n);
        krait_dna_revcomp(a, n);
        krait_dna_revcomp_u8(c, n);
        int ok = !memcmp(a, b, n * sizeof *a);
        for (size_t i = 0; i < n; i++) ok &= c[i] == b[i];
        krait_dna_revcomp(a, n);
        int32_t orig[301];
        krait_dna_encode(orig, s, n);
        ok &= !memcmp(a, orig, n * sizeof *a);
        /* reverse then complement == revcomp */
        krait_dna_reverse(a, n);
        krait_dna_complement(a, n);
        ok &= !memcmp(a, b, n * sizeof *a);
        if (!tu_check(ok, "revcomp of a random %zu-base sequence equals the character reference", n)) break;
    }
}

static void test_parsers(void)
{
    char line[] = "chr1\t10\t20\tpromoter\t0\t-";
    krait_dna_bed r;
    tu_check(krait_dna_bed_parse(&r, line, "t.bed", 1) == 1 && !strcmp(r.chrom, "chr1") && r.beg == 10 && r.end == 20 &&
             r.strand == '-' && !strcmp(r.name, "promoter"), "BED line with name and strand");
    char l2[] = "chr2\t0\t5\r";
    tu_check(krait_dna_bed_parse(&r, l2, "t.bed", 2) == 1 && r.end == 5 && r.strand == '+' && !r.name[0],
             "BED3 line with CRLF");
    char l3[] = "track name=x", l4[] = "# comment", l5[] = "";
    tu_check(!krait_dna_bed_parse(&r, l3, "t", 1) && !krait_dna_bed_parse(&r, l4, "t", 1) && !krait_dna_bed_parse(&r, l5, "t", 1),
             "track, comment and empty lines carry no region");
    char t6[] = "trackA\t3\t9", t7[] = "browser_contig\t0\t4", t8[] = "browser position chr1:1-100";
    tu_check(krait_dna_bed_parse(&r, t6, "t", 1) == 1 && !strcmp(r.chrom, "trackA") && r.beg == 3 &&
                 krait_dna_bed_parse(&r, t7, "t", 1) == 1 && !strcmp(r.chrom, "browser_contig") &&
                 !krait_dna_bed_parse(&r, t8, "t", 1),
             "contigs named trackA and browser_contig are regions (only the words track and browser start a header)");
    char b1[] = "chr1\t20\t10", b2[] = "chr1\tx\t10", b3[] = "chr1 10 20", b4[] = "chr1\t1\t2\tn\t0\t*", b5[] = "chr1\t-1\t4";
    int all = 1;
    char *bads[] = { b1, b2, b3, b4, b5 };
    for (int i = 0; i < 5; i++) all &= krait_dna_bed_parse(&r, bads[i], "t", 1) == -1;
    tu_check(all, "malformed BED lines (end < start, non-number, spaces, bad strand, negative) are errors");
    char l6[] = "chr1\t7\t7";
    tu_check(krait_dna_bed_parse(&r, l6, "t.bed", 3) == 1 && r.beg == 7 && r.end == 7,
             "an empty BED region (a point) parses; it needs a window to be read (resolve)");

    char t[] = "ACGT\t1\textra\r", *f[4];
    int nf = krait_dna_tsv_split(t, f, 4);
    tu_check(nf == 3 && !strcmp(f[0], "ACGT") && !strcmp(f[1], "1") && !strcmp(f[2], "extra"), "TSV split (CR dropped)");

    char v[16];
    tu_check(krait_dna_header_value("seq1 class=enh|len=3", "class", v, sizeof v) == 1 && !strcmp(v, "enh"),
             "header key among space/| separated words");
    tu_check(krait_dna_header_value("seq1;len=3;class=2", "class", v, sizeof v) == 1 && !strcmp(v, "2"),
             "header key after ';'");
    tu_check(krait_dna_header_value("class=1 other=2", "class", v, sizeof v) == 0, "the name itself is not a key");
    tu_check(krait_dna_header_value("s klass=1 class2=3", "class", v, sizeof v) == 0, "only whole keys match");
    tu_check(krait_dna_header_value("s class=0123456789abcdefghij", "class", v, sizeof v) == -1, "overlong value");
    tu_check(krait_dna_header_value("s class=0123456789abcdef", "class", v, sizeof v) == -1,
             "a value of 16 characters does not fit 16 bytes (no room for the NUL)");
    tu_check(krait_dna_header_value("s class=0123456789abcde|x=1", "class", v, sizeof v) == 1 &&
                 !strcmp(v, "0123456789abcde"),
             "a value of 15 characters fits 16 bytes");
    tu_check(krait_dna_check_bases("ACGTn", 5) == 5 && krait_dna_check_bases("AC-GT", 5) == 2, "check_bases");
}

static void test_kmer(void)
{
    const uint8_t ids[] = { 0, 0, 1, 4, 0, 0 }; /* A A C N A A */
    size_t D = krait_dna_kmer_dim(2);
    tu_check(D == 20 && krait_dna_kmer_dim(6) == 5460, "k-mer dims 20 (k<=2) and 5460 (k<=6)");
    float f[20];
    krait_dna_kmer_features(f, ids, 6, 2);
    /* k=1: A 4, C 1 over 6 positions; k=2: AA 2, AC 1 over 5 positions (CN, NA skipped) */
    const float want[20] = { 4.0f / 6, 1.0f / 6, 0, 0, 2.0f / 5, 1.0f / 5 };
    tu_close("k-mer frequencies (A 4/6, C 1/6; AA 2/5, AC 1/5; k-mers with N skipped)", f, want, 20, 1e-6, 1e-7);
}

static void test_split(void)
{
    enum { n = 1000 };
    int32_t y[n];
    for (int i = 0; i < n; i++) y[i] = i % 10 < 3 ? 0 : (i % 10 < 9 ? 1 : 2); /* 300 / 600 / 100 */
    uint8_t a[n], b[n], c[n];
    krait_dna_split(a, y, n, 0.2, 7);
    krait_dna_split(b, y, n, 0.2, 7);
    krait_dna_split(c, y, n, 0.2, 8);
    tu_check(!memcmp(a, b, n), "the split is a function of the seed");
    tu_check(memcmp(a, c, n) != 0, "another seed gives another split");
    int per[3] = { 0 };
    for (int i = 0; i < n; i++) per[y[i]] += a[i];
    tu_check(per[0] == 60 && per[1] == 120 && per[2] == 20, "stratified: 20%% of each class (%d %d %d)", per[0], per[1], per[2]);
    /* folds: 7 of 1000 rows (class sizes 300 / 600 / 100 do not divide by 7) */
    uint8_t f[n];
    int times[n] = { 0 }, fold_min = n, fold_max = 0, strat = 1;
    for (int k = 0; k < 7; k++) {
        krait_dna_fold(f, y, n, 7, k, 7);
        int cnt = 0, pc[3] = { 0 };
        for (int i = 0; i < n; i++) times[i] += f[i], cnt += f[i], pc[y[i]] += f[i];
        if (cnt < fold_min) fold_min = cnt;
        if (cnt > fold_max) fold_max = cnt;
        strat &= (pc[0] == 43 || pc[0] == 42) && (pc[1] == 86 || pc[1] == 85) && (pc[2] == 14 || pc[2] == 15);
    }
    int once = 1;
    for (int i = 0; i < n; i++) once &= times[i] == 1;
    tu_check(once, "7 folds: every row held out exactly once");
    tu_check(strat && fold_max - fold_min <= 2, "folds stratified (300/7, 600/7, 100/7 rounded) and %d..%d rows", fold_min,
             fold_max);
    krait_dna_fold(f, y, n, 5, 0, 7);
    tu_check(!memcmp(f, a, n), "fold 1 of 5 == the 0.2 split with the same seed");
}

/* krait_dna_augment: off is a no-op that leaves the RNG alone; a shift is a turn of at most shift
 * places and every allowed turn happens; substitutions hit A C G T at the asked rate, go to each
 * other base equally often, and never touch N. */
static void test_augment(void)
{
    enum { n = 97 };
    int32_t in[n], a[n];
    for (int i = 0; i < n; i++) in[i] = (int32_t)(tu_next() % 5);
    krait_rng r, r0;
    krait_rng_init(&r, 7);
    r0 = r;
    memcpy(a, in, sizeof a);
    krait_dna_augment(a, n, 0, 0, &r);
    tu_check(!memcmp(a, in, sizeof a) && krait_rng_u64(&r) == krait_rng_u64(&r0),
             "augment with mutate 0 and shift 0 changes nothing and draws nothing");

    const int shift = 5;
    int seen[2 * 5 + 1] = { 0 }, bad = 0;
    for (int trial = 0; trial < 400; trial++) {
        memcpy(a, in, sizeof a);
        krait_dna_augment(a, n, 0, shift, &r);
        int found = 0;
        for (int by = -shift; by <= shift && !found; by++) {
            int same = 1;
            for (int i = 0; i < n && same; i++) same = a[((i + by) % n + n) % n] == in[i];
            if (same) found = 1, seen[by + shift]++;
        }
        bad += !found;
    }
    int all = 1;
    for (int k = 0; k <= 2 * shift; k++) all &= seen[k] > 0;
    tu_check(!bad && all, "shift 5 turns a 97-base row by -5..5 places, each of the 11 amounts seen (%d rows not a turn)", bad);

    const double p = 0.1;
    long bases = 0, changed = 0, to[4][4] = { { 0 } }, n_changed = 0;
    for (int trial = 0; trial < 2000; trial++) {
        memcpy(a, in, sizeof a);
        krait_dna_augment(a, n, p, 0, &r);
        for (int i = 0; i < n; i++) {
            if (in[i] == KRAIT_DNA_N) {
                n_changed += a[i] != KRAIT_DNA_N;
                continue;
            }
            bases++;
            if (a[i] != in[i]) changed++, to[in[i]][a[i] < 4 ? a[i] : in[i]]++;
        }
    }
    double rate = (double)changed / bases, sd = sqrt(p * (1 - p) / bases);
    int even = 1;
    for (int b = 0; b < 4; b++) {
        long row = 0;
        for (int c = 0; c < 4; c++) row += to[b][c];
        for (int c = 0; c < 4; c++)
            if (c != b && row > 0) even &= fabs(to[b][c] - row / 3.0) < 5 * sqrt(row * 2.0 / 9.0);
        even &= to[b][b] == 0;
    }
    tu_check(fabs(rate - p) < 5 * sd && n_changed == 0 && even,
             "mutate 0.1: %.4f of %ld bases substituted, each to the other three equally, N never (%ld changed)",
             rate, bases, n_changed);
}

/* krait_dna_crop_start: a sequence that fits is taken whole without a draw; a longer one starts
 * at every offset 0..len-L, none outside, about equally often. */
static void test_crop(void)
{
    krait_rng r, r0;
    krait_rng_init(&r, 11);
    r0 = r;
    size_t s1 = krait_dna_crop_start(500, 500, &r), s2 = krait_dna_crop_start(3, 500, &r);
    tu_check(s1 == 0 && s2 == 0 && krait_rng_u64(&r) == krait_rng_u64(&r0),
             "crop of a sequence that fits (500 of 500, 3 of 500): start 0, no draw");
    enum { len = 40, L = 31, span = len - L + 1, draws = 9000 };
    long seen[span] = { 0 };
    int out = 0;
    for (int k = 0; k < draws; k++) {
        size_t st = krait_dna_crop_start(len, L, &r);
        if (st >= span) out++;
        else seen[st]++;
    }
    int even = 1;
    const double want = (double)draws / span, sd = sqrt(want * (1 - 1.0 / span));
    for (int k = 0; k < span; k++) even &= fabs(seen[k] - want) < 5 * sd;
    tu_check(!out && even, "crop of %d bases out of %d: starts 0..%d only (%d outside), each about %.0f times (first %ld, last %ld)",
             L, len, span - 1, out, want, seen[0], seen[span - 1]);
}

int main(void)
{
    tu_init("test_dna_seq");
    krait_log_set(quiet, NULL, KRAIT_LOG_ERROR);
    test_alphabet();
    test_revcomp();
    test_parsers();
    test_kmer();
    test_split();
    test_augment();
    test_crop();
    return tu_finish();
}
