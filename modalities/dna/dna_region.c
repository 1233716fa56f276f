/* modalities/dna/dna_region.c — faidx genomes, BED lines, windows and chunked region passes
 * (see dna_region.h). The only htslib calls here are faidx's. */
#include "dna_region.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <htslib/bgzf.h>
#include <htslib/faidx.h>

#include "dna_read.h"
#include "dna_seq.h"
#include "log.h"

/* One line of the .fai: where a contig's bases lie in the FASTA (checked: 1 once it was checked). */
typedef struct fai_entry {
    char *name;
    long long len, off, lb, lw;
    long line_no;
    int checked;
    int last;         /* the contig nearest the end of the file: only line ends may follow it */
} fai_entry;

struct krait_dna_genome {
    faidx_t *fai;
    char *path, *fai_path;
    BGZF *fp;         /* the FASTA, for the index checks (NULL: plain gzip, checked by faidx itself) */
    long long size;   /* its uncompressed bytes that a seek may reach (bgzip: what the .gzi covers) */
    fai_entry *e;     /* (n_e) the index's lines, sorted by name */
    size_t n_e;
};

/* The byte at uncompressed offset off of the FASTA: a char, -1 past the end, -2 on a read error.
 * htslib asserts on a seek past what its .gzi covers, so such a seek is not made. */
static int byte_at(const krait_dna_genome *g, long long off)
{
    if (off < 0) return -2;
    if (off >= g->size || bgzf_useek(g->fp, (off_t)off, SEEK_SET) < 0) return -1;
    return bgzf_getc(g->fp);
}

static uint64_t le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* A bgzipped FASTA's .gzi (a count, then (compressed, uncompressed) offsets of the blocks after
 * the first) must reach its last block: the block its last entry names is a block with data, and
 * only the end-of-file block follows. An index of an older, shorter version of the file would
 * otherwise make htslib abort on the first seek past it. Sets g->size. */
static krait_status check_gzi(krait_dna_genome *g, const char *gzi)
{
    FILE *f = fopen(gzi, "rb");
    unsigned char b[16];
    uint64_t n = 0, caddr = 0, uaddr = 0;
    int ok = f && fread(b, 1, 8, f) == 8;
    if (ok) n = le64(b);
    for (uint64_t i = 0; ok && i < n; i++) {
        ok = fread(b, 1, 16, f) == 16 && le64(b) > caddr && le64(b + 8) > uaddr && le64(b) < (1ull << 47) &&
             le64(b + 8) < (1ull << 62);
        if (ok) caddr = le64(b), uaddr = le64(b + 8);
    }
    ok = ok && fgetc(f) == EOF;
    if (f) fclose(f);
    ok = ok && bgzf_seek(g->fp, (int64_t)(caddr << 16), SEEK_SET) == 0 && bgzf_read_block(g->fp) == 0 &&
         g->fp->block_length > 0;
    if (ok) g->size = (long long)uaddr + g->fp->block_length;
    ok = ok && bgzf_read_block(g->fp) == 0 && g->fp->block_length == 0; /* nothing after it but the end */
    if (!ok) {
        KRAIT_ERROR("%s: its index %s does not match it (it does not end at the file's last block): the FASTA was "
                    "changed since it was indexed; re-index with samtools faidx %s", g->path, gzi, g->path);
        return KRAIT_STATUS_BAD_INPUT;
    }
    return KRAIT_STATUS_OK;
}

static int is_line_end(int c) { return c == '\n' || c == '\r'; }

/* Whether the .fai still describes the FASTA at contig e: htslib trusts its offsets and, after
 * the file was re-wrapped or edited, reads other bases without a word. The sequence must start
 * right after a line end, its first line must end after linebases bases, and its last base must
 * be followed by a line end or the end of the file: a few bytes read, whatever the contig's size.
 * Up to 1024 contigs (spread over the index) are checked when the genome is opened, every other
 * one the first time it is read. */
static krait_status check_entry(const krait_dna_genome *g, fai_entry *e)
{
    if (e->checked || !g->fp) return KRAIT_STATUS_OK;
    int ok = 1;
    if (e->len) {
        long long last = e->off + (e->len - 1) / e->lb * e->lw + (e->len - 1) % e->lb;
        ok = is_line_end(byte_at(g, e->off - 1)) && !is_line_end(byte_at(g, e->off)) && byte_at(g, e->off) != '>';
        if (ok && e->len > e->lb) ok = is_line_end(byte_at(g, e->off + e->lb));
        int after = ok ? byte_at(g, last + 1) : 0;
        if (ok) ok = byte_at(g, last) > ' ' && (after == -1 || is_line_end(after));
        /* a contig or bases added at the end since the indexing: the file goes on after the last one */
        for (long long p = last + 1; ok && e->last && (after = byte_at(g, p)) != -1; p++) /* blank lines may follow */
            ok = is_line_end(after) || after == ' ' || after == '\t';
    }
    if (!ok) {
        KRAIT_ERROR("%s: its index %s does not match it (contig %s, line %ld of the index): the FASTA was "
                    "changed or cut short since it was indexed; re-index with samtools faidx %s",
                    g->path, g->fai_path, e->name, e->line_no, g->path);
        return KRAIT_STATUS_BAD_INPUT;
    }
    e->checked = 1;
    return KRAIT_STATUS_OK;
}

static int by_name(const void *a, const void *b) { return strcmp(((const fai_entry *)a)->name, ((const fai_entry *)b)->name); }

/* Read the .fai into g->e (every line must be one), check up to 1024 contigs of it. */
static krait_status load_index(krait_dna_genome *g)
{
    char gzi[4200];
    snprintf(gzi, sizeof gzi, "%s.gzi", g->path);
    FILE *f = fopen(g->fai_path, "r");
    g->fp = bgzf_open(g->path, "r");
    if (!f || !g->fp) {
        if (f) fclose(f);
        KRAIT_ERROR("%s: cannot open it with its index %s to check them", g->path, g->fai_path);
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (bgzf_compression(g->fp) == 2 && bgzf_index_load(g->fp, g->path, ".gzi") < 0 && access(gzi, F_OK) == 0) {
        KRAIT_ERROR("%s: its index %s cannot be read as one; re-index with samtools faidx %s", g->path, gzi, g->path);
        fclose(f);
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (bgzf_compression(g->fp) == 1 || (bgzf_compression(g->fp) == 2 && !g->fp->idx)) {
        bgzf_close(g->fp); /* plain gzip, or bgzip without its .gzi: faidx refuses it, saying why */
        g->fp = NULL;
        fclose(f);
        return KRAIT_STATUS_OK;
    }
    krait_status s = KRAIT_STATUS_OK;
    struct stat st;
    if (bgzf_compression(g->fp) == 2) s = check_gzi(g, gzi);
    else g->size = stat(g->path, &st) == 0 ? (long long)st.st_size : 0;
    char *line = NULL, *name = NULL;
    size_t cap = 0, cap_e = 0;
    long line_no = 0;
    while (!s && getline(&line, &cap, f) >= 0) {
        line_no++;
        fai_entry e = { .line_no = line_no };
        char *nm = realloc(name, cap + 1);
        if (!nm) {
            s = KRAIT_STATUS_NO_MEMORY;
            break;
        }
        name = nm;
        if (sscanf(line, "%[^\t]\t%lld\t%lld\t%lld\t%lld", name, &e.len, &e.off, &e.lb, &e.lw) != 5 || e.len < 0 ||
            e.off < 1 || e.lb < 1 || e.lw <= e.lb) {
            KRAIT_ERROR("%s:%ld: not a FASTA index line (name, length, offset, line bases, line width)", g->fai_path,
                        line_no);
            s = KRAIT_STATUS_BAD_INPUT;
            break;
        }
        if (g->n_e == cap_e) {
            size_t c = cap_e ? 2 * cap_e : 64;
            fai_entry *p = realloc(g->e, c * sizeof *p);
            if (!p) {
                s = KRAIT_STATUS_NO_MEMORY;
                break;
            }
            g->e = p, cap_e = c;
        }
        if (!(e.name = strdup(name))) s = KRAIT_STATUS_NO_MEMORY;
        else g->e[g->n_e++] = e;
    }
    free(line);
    free(name);
    fclose(f);
    size_t end = 0; /* the contig nearest the file's end is always checked */
    for (size_t i = 1; i < g->n_e; i++)
        if (g->e[i].off > g->e[end].off) end = i;
    if (g->n_e) g->e[end].last = 1;
    if (!s && g->n_e) s = check_entry(g, &g->e[end]);
    size_t stride = g->n_e > 1024 ? g->n_e / 1024 : 1;
    for (size_t i = 0; !s && i < g->n_e; i += stride) s = check_entry(g, &g->e[i]);
    if (!s) qsort(g->e, g->n_e, sizeof *g->e, by_name);
    return s;
}

krait_dna_genome *krait_dna_genome_open(const char *fasta, krait_status *status)
{
    *status = KRAIT_STATUS_BAD_INPUT;
    if (access(fasta, R_OK) != 0) { /* nothing acquired yet */
        KRAIT_ERROR("%s: cannot read the genome FASTA (%s)", fasta, strerror(errno));
        return NULL;
    }
    krait_dna_genome *g = calloc(1, sizeof *g);
    size_t n = strlen(fasta);
    if (!g || !(g->path = strdup(fasta)) || !(g->fai_path = malloc(n + 5))) {
        *status = KRAIT_STATUS_NO_MEMORY;
        goto fail;
    }
    snprintf(g->fai_path, n + 5, "%s.fai", fasta);
    BGZF *z = bgzf_open(fasta, "r");
    int gzip = z && bgzf_compression(z) == 1;
    if (z) bgzf_close(z);
    if (gzip) { /* faidx seeks: plain or bgzip only */
        KRAIT_ERROR("%s: compressed with gzip, which cannot be indexed; recompress it with bgzip (zcat %s | bgzip > "
                    "GENOME.fa.gz) and index that with samtools faidx", fasta, fasta);
        goto fail;
    }
    if (access(g->fai_path, R_OK) != 0) {
        KRAIT_ERROR("%s: no index %s.fai (make one with: samtools faidx %s)", fasta, fasta, fasta);
        goto fail;
    }
    krait_status cs = load_index(g);
    if (cs) {
        *status = cs;
        goto fail;
    }
    g->fai = fai_load3(fasta, NULL, NULL, 0); /* flags 0: never build a missing index */
    if (!g->fai) {
        KRAIT_ERROR("%s: cannot load its faidx index (a bgzipped FASTA also needs %s.gzi: samtools faidx %s)",
                    fasta, fasta, fasta);
        goto fail;
    }
    *status = KRAIT_STATUS_OK;
    return g;
fail: /* krait_dna_genome_close releases in reverse: the faidx, the contig table, the two paths */
    krait_dna_genome_close(g);
    return NULL;
}

void krait_dna_genome_close(krait_dna_genome *g)
{
    if (!g) return;
    if (g->fai) fai_destroy(g->fai);
    if (g->fp) bgzf_close(g->fp);
    for (size_t i = 0; i < g->n_e; i++) free(g->e[i].name);
    free(g->e);
    free(g->fai_path);
    free(g->path);
    free(g);
}

long long krait_dna_genome_contig_len(const krait_dna_genome *g, const char *chrom)
{
    if (!faidx_has_seq(g->fai, chrom)) return -1;
    return (long long)faidx_seq_len(g->fai, chrom); /* int in htslib 1.16: contigs < 2^31 */
}

/* "origin:line: " (the BED line a region is from) into buf, or "" without an origin; made only
 * for a message, not on every fetch */
static const char *bed_at(char *buf, size_t size, const char *origin, long line_no)
{
    if (!origin) return "";
    snprintf(buf, size, "%s:%ld: ", origin, line_no);
    return buf;
}

krait_status krait_dna_genome_fetch(const krait_dna_genome *g, char *out, const char *chrom, long long beg,
                                    long long end, const char *origin, long line_no)
{
    char at[4200];
    long long clen = krait_dna_genome_contig_len(g, chrom);
    if (clen < 0) {
        KRAIT_ERROR("%s%s: no contig '%s' in its index", bed_at(at, sizeof at, origin, line_no), g->path, chrom);
        return KRAIT_STATUS_BAD_INPUT;
    }
    fai_entry key = { .name = (char *)chrom }, *e = bsearch(&key, g->e, g->n_e, sizeof *g->e, by_name);
    if (e && check_entry(g, e)) return KRAIT_STATUS_BAD_INPUT; /* first read of this contig */
    long long n = end - beg, lo = beg < 0 ? 0 : beg, hi = end > clen ? clen : end;
    memset(out, 'N', (size_t)(n > 0 ? n : 0));
    out[n > 0 ? n : 0] = '\0';
    if (lo >= hi) return KRAIT_STATUS_OK;
    hts_pos_t got = 0;
    char *s = faidx_fetch_seq64(g->fai, chrom, lo, hi - 1, &got);
    if (!s || got != hi - lo) {
        /* the index promises bases the file does not hold: a stale index or a cut-short file */
        KRAIT_ERROR("%s%s: cannot read %s:%lld-%lld (faidx returned %lld bases): is the index stale or the "
                    "file cut short? (re-index with samtools faidx)", bed_at(at, sizeof at, origin, line_no), g->path,
                    chrom, lo, hi, (long long)(s ? got : -1));
        free(s);
        return KRAIT_STATUS_BAD_INPUT;
    }
    size_t bad = krait_dna_check_bases(s, (size_t)got);
    if (bad < (size_t)got) {
        unsigned char c = (unsigned char)s[bad];
        if (c == '>' || c == '\n' || c == '\r') /* a header or a line end inside a region: the index is wrong */
            KRAIT_ERROR("%s%s: %s:%lld: %s inside the region's bases: the index (.fai) does not match the file "
                        "(re-index with samtools faidx)", bed_at(at, sizeof at, origin, line_no), g->path, chrom, lo + (long long)bad + 1,
                        c == '>' ? "a '>' header" : "a line end");
        else if (c >= 0x21 && c < 0x7f)
            KRAIT_ERROR("%s%s: %s:%lld: '%c' is not an IUPAC nucleotide code", bed_at(at, sizeof at, origin, line_no),
                        g->path, chrom, lo + (long long)bad + 1, c);
        else
            KRAIT_ERROR("%s%s: %s:%lld: byte 0x%02x is not an IUPAC nucleotide code", bed_at(at, sizeof at, origin, line_no), g->path, chrom,
                        lo + (long long)bad + 1, c);
        free(s);
        return KRAIT_STATUS_BAD_INPUT;
    }
    memcpy(out + (lo - beg), s, (size_t)got);
    free(s);
    return KRAIT_STATUS_OK;
}

/* a BED coordinate: decimal digits only (strtoll alone would also take a leading space, '+' or '-') */
static int parse_ll(const char *s, long long *v)
{
    char *end;
    if (!isdigit((unsigned char)s[0])) return 0;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end) return 0;
    *v = x;
    return 1;
}

int krait_dna_bed_parse(krait_dna_bed *out, char *line, const char *origin, long line_no)
{
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r') line[--len] = '\0';
    /* a comment, or a UCSC "track ..." / "browser ..." line (the word, not a contig named trackA) */
    if (!len || line[0] == '#' || (!strncmp(line, "track", 5) && (line[5] == ' ' || line[5] == '\t' || !line[5])) ||
        (!strncmp(line, "browser", 7) && (line[7] == ' ' || line[7] == '\t' || !line[7])))
        return 0;
    char *f[7];
    int nf = krait_dna_tsv_split(line, f, 7);
    if (nf < 3) {
        KRAIT_ERROR("%s:%ld: a BED line needs chrom, start and end separated by tabs (found %d column%s)", origin,
                    line_no, nf, nf == 1 ? "" : "s");
        return -1;
    }
    if (!f[0][0] || strlen(f[0]) >= sizeof out->chrom) {
        KRAIT_ERROR("%s:%ld: empty or overlong contig name", origin, line_no);
        return -1;
    }
    if (!parse_ll(f[1], &out->beg) || !parse_ll(f[2], &out->end)) {
        KRAIT_ERROR("%s:%ld: start '%s' and end '%s' must be whole numbers", origin, line_no, f[1], f[2]);
        return -1;
    }
    if (out->beg < 0 || out->end < out->beg) {
        KRAIT_ERROR("%s:%ld: region %s:%lld-%lld is negative (BED is 0-based, end >= start)", origin, line_no,
                    f[0], out->beg, out->end);
        return -1;
    }
    strcpy(out->chrom, f[0]);
    out->name[0] = '\0';
    if (nf >= 4) {
        if (strlen(f[3]) >= sizeof out->name) {
            KRAIT_ERROR("%s:%ld: name column longer than %zu characters", origin, line_no, sizeof out->name - 1);
            return -1;
        }
        strcpy(out->name, f[3]);
    }
    out->strand = '+';
    if (nf >= 6) {
        if (!strcmp(f[5], "-")) out->strand = '-';
        else if (strcmp(f[5], "+") && strcmp(f[5], ".")) {
            KRAIT_ERROR("%s:%ld: strand '%s' must be +, - or .", origin, line_no, f[5]);
            return -1;
        }
    }
    return 1;
}

krait_status krait_dna_bed_resolve(krait_dna_bed *r, const krait_dna_genome *g, int window, int pad,
                                   const char *origin, long line_no)
{
    long long clen = krait_dna_genome_contig_len(g, r->chrom);
    if (clen < 0) {
        KRAIT_ERROR("%s:%ld: contig '%s' is not in %s", origin, line_no, r->chrom, g->path);
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (r->end > clen) {
        KRAIT_ERROR("%s:%ld: region %s:%lld-%lld is past the end of contig %s (length %lld)", origin, line_no,
                    r->chrom, r->beg, r->end, r->chrom, clen);
        return KRAIT_STATUS_BAD_INPUT;
    }
    long long len = r->end - r->beg;
    if (window <= 0) {
        if (len > 0) return KRAIT_STATUS_OK;
        KRAIT_ERROR("%s:%ld: region %s:%lld-%lld is empty (a point between two bases): give --window W to read "
                    "W bases around it", origin, line_no, r->chrom, r->beg, r->end);
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (pad && len > window) {
        KRAIT_ERROR("%s:%ld: region %s:%lld-%lld (%lld bp) is longer than the padded window %d", origin, line_no,
                    r->chrom, r->beg, r->end, len, window);
        return KRAIT_STATUS_BAD_INPUT;
    }
    /* both modes read the same window: in reading order (the reverse complement on '-') its
     * middle base is the region's, the later of two; so on '-' it is the mirror of '+'s */
    long long beg = r->strand == '-' ? r->end - len / 2 + window / 2 - window : r->beg + len / 2 - window / 2,
              end = beg + window;
    if (!pad && (beg < 0 || end > clen)) {
        KRAIT_ERROR("%s:%ld: the %d bp window centred on %s:%lld-%lld (%lld-%lld) is past the %s of contig %s "
                    "(length %lld)", origin, line_no, window, r->chrom, r->beg, r->end, beg, end,
                    beg < 0 ? "start" : "end", r->chrom, clen);
        return KRAIT_STATUS_BAD_INPUT;
    }
    r->beg = beg, r->end = end;
    return KRAIT_STATUS_OK;
}

krait_status krait_dna_region_chunk(int32_t *ids, int *n, const krait_dna_genome *g, const char *chrom,
                                    long long beg, long long end, char strand, int reverse, long long k, int chunk,
                                    const char *origin, long line_no)
{
    long long len = end - beg, p0 = k * chunk, p1 = p0 + chunk < len ? p0 + chunk : len;
    *n = 0;
    if (p0 >= len) return KRAIT_STATUS_OK;
    /* pass position p -> genome position: increasing (beg + p) for (+, forward) and (-, reverse),
     * decreasing (end - 1 - p) otherwise; '-' complements */
    int up = (strand == '-') == (reverse != 0);
    long long lo = up ? beg + p0 : end - p1, hi = up ? beg + p1 : end - p0;
    char *buf = malloc((size_t)(hi - lo) + 1);
    if (!buf) return KRAIT_STATUS_NO_MEMORY;
    krait_status s = krait_dna_genome_fetch(g, buf, chrom, lo, hi, origin, line_no);
    if (!s) {
        krait_dna_encode(ids, buf, (size_t)(hi - lo));
        if (!up) krait_dna_reverse(ids, (size_t)(hi - lo));
        if (strand == '-') krait_dna_complement(ids, (size_t)(hi - lo));
        *n = (int)(hi - lo);
    }
    free(buf);
    return s;
}
