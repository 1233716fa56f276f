/* modalities/dna/dna_read.c — the record reader (see dna_read.h): FASTA/FASTQ and TSV lines over
 * BGZF (plain, gzip and bgzip alike), SAM/BAM/CRAM through sam_read1, BED regions over faidx. */
#include "dna_read.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/hts_log.h>
#include <htslib/kstring.h>
#include <htslib/sam.h>

#include "dna_region.h"
#include "dna_seq.h"
#include "log.h"

typedef enum { RD_FASTX, RD_TSV, RD_SAM, RD_BED } rd_kind;

struct krait_dna_reader {
    rd_kind kind;
    krait_dna_read_opts opts;
    char *path;
    BGZF *fp;                   /* FASTX, TSV, BED */
    kstring_t line, name, seq, label, qual;
    long line_no;
    int peeked;                 /* FASTX: line holds the next record's header */
    char fastx;                 /* '>' or '@' once known */
    int col_seq, col_label, col_id, n_cols; /* TSV (n_cols < 0: counted on the first row, no header) */
    samFile *sf;                /* SAM/BAM/CRAM */
    sam_hdr_t *hdr;
    bam1_t *b;
    krait_dna_bed bed;
};

size_t krait_dna_check_bases(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((s[i] & 0x80) || krait_dna_base_id((unsigned char)s[i]) < 0) return i;
    return n;
}

void krait_dna_bad_base(const char *origin, long line, size_t col0, unsigned char c)
{
    if (c == 0xef && line == 1 && col0 == 0) /* EF BB BF: an editor's UTF-8 byte-order mark */
        KRAIT_ERROR("%s:1:1: byte 0xef, a UTF-8 byte-order mark? It is no nucleotide code: save the file without "
                    "it (sed -i '1s/^\\xEF\\xBB\\xBF//' FILE)", origin);
    else if (c >= 0x21 && c < 0x7f)
        KRAIT_ERROR("%s:%ld:%zu: '%c' is not an IUPAC nucleotide code (A C G T U R Y S W K M B D H V N)", origin, line,
                    col0 + 1, c);
    else
        KRAIT_ERROR("%s:%ld:%zu: byte 0x%02x is not an IUPAC nucleotide code (A C G T U R Y S W K M B D H V N)", origin,
                    line, col0 + 1, c);
}

int krait_dna_tsv_split(char *line, char **fields, int max)
{
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r') line[len - 1] = '\0';
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = '\0';
        p = t + 1;
    }
    return n;
}

static int is_sep(char c) { return c == ' ' || c == '\t' || c == '|' || c == ';'; }

int krait_dna_header_value(const char *header, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    const char *p = header;
    while (*p && !is_sep(*p)) p++; /* skip the name */
    while (*p) {
        while (*p && is_sep(*p)) p++;
        const char *w = p;
        while (*p && !is_sep(*p)) p++;
        if ((size_t)(p - w) > kl && !strncmp(w, key, kl) && w[kl] == '=') {
            size_t vl = (size_t)(p - w) - kl - 1;
            if (vl + 1 > cap) return -1;
            memcpy(out, w + kl + 1, vl);
            out[vl] = '\0';
            return 1;
        }
    }
    return 0;
}

/* The next line into r->line (no newline, no '\r'): 1, 0 at the end, < 0 on a read error. */
static int next_line(krait_dna_reader *r)
{
    r->line.l = 0;
    int n = bgzf_getline(r->fp, '\n', &r->line);
    if (n == -1) return 0;
    /* a stream cut short mid-line hands back the part it decoded and keeps the error: said now, not
     * as a short last line */
    if (n < -1 || (r->fp->errcode & (BGZF_ERR_ZLIB | BGZF_ERR_HEADER | BGZF_ERR_CRC))) {
        /* the file's fault (bad or cut-short compressed data: exit 2) or the system's */
        int corrupt = (r->fp->errcode & (BGZF_ERR_ZLIB | BGZF_ERR_HEADER | BGZF_ERR_CRC)) != 0;
        if (!corrupt)
            KRAIT_ERROR("%s:%ld: read error", r->path, r->line_no + 1);
        else if (r->line_no) /* decoding runs a block ahead: the damage is somewhere after the last line given */
            KRAIT_ERROR("%s: corrupt or truncated compressed data after line %ld (the last line decoded whole)",
                        r->path, r->line_no);
        else
            KRAIT_ERROR("%s: corrupt or truncated compressed data before its first line", r->path);
        return corrupt ? -KRAIT_STATUS_BAD_INPUT : -KRAIT_STATUS_IO;
    }
    r->line_no++;
    if (r->line.l && r->line.s[r->line.l - 1] == '\r') r->line.s[--r->line.l] = '\0';
    if (memchr(r->line.s, '\r', r->line.l)) { /* old Mac OS line ends: the whole file reads as one line */
        KRAIT_ERROR("%s:%ld: lines end in a carriage return alone; convert them (tr '\\r' '\\n')", r->path, r->line_no);
        return -KRAIT_STATUS_BAD_INPUT;
    }
    if (memchr(r->line.s, '\0', r->line.l)) {
        KRAIT_ERROR("%s:%ld: a NUL byte in a text line (a binary file?)", r->path, r->line_no);
        return -KRAIT_STATUS_BAD_INPUT;
    }
    return 1;
}

/* Append one sequence line (checked) to r->seq. */
static int add_bases(krait_dna_reader *r, const char *s, size_t n, long line_no, size_t col0)
{
    size_t bad = krait_dna_check_bases(s, n);
    if (bad < n) {
        krait_dna_bad_base(r->path, line_no, col0 + bad, (unsigned char)s[bad]);
        return -KRAIT_STATUS_BAD_INPUT;
    }
    if (kputsn(s, n, &r->seq) < 0) return -KRAIT_STATUS_NO_MEMORY;
    return 1;
}

static int set_label_from_header(krait_dna_reader *r, const char *header)
{
    r->label.l = 0;
    if (r->opts.label) return kputs(r->opts.label, &r->label) < 0 ? -KRAIT_STATUS_NO_MEMORY : 1;
    if (!r->opts.label_key) return 0;
    char buf[256];
    int f = krait_dna_header_value(header, r->opts.label_key, buf, sizeof buf);
    if (f <= 0) {
        KRAIT_ERROR("%s:%ld: %s '%s=...' in the header", r->path, r->line_no,
                    f < 0 ? "value too long for" : "no label key", r->opts.label_key);
        return -KRAIT_STATUS_BAD_INPUT;
    }
    if (!buf[0]) { /* as a TSV's empty label column */
        KRAIT_ERROR("%s:%ld: empty label ('%s=' with no value in the header)", r->path, r->line_no, r->opts.label_key);
        return -KRAIT_STATUS_BAD_INPUT;
    }
    return kputs(buf, &r->label) < 0 ? -KRAIT_STATUS_NO_MEMORY : 1;
}

static int next_fastx(krait_dna_reader *r, krait_dna_rec *rec)
{
    int got;
    if (!r->peeked) { /* skip empty lines up to the first header */
        do {
            if ((got = next_line(r)) <= 0) return got;
        } while (!r->line.l);
    }
    r->peeked = 0;
    char c = r->line.s[0];
    if (!r->fastx && (c == '>' || c == '@')) r->fastx = c;
    if (c != r->fastx) {
        KRAIT_ERROR("%s:%ld: expected a %s header starting with '%c'", r->path, r->line_no,
                    r->fastx == '@' ? "FASTQ" : "FASTA", r->fastx ? r->fastx : '>');
        return -KRAIT_STATUS_BAD_INPUT;
    }
    long header_line = r->line_no;
    r->name.l = 0;
    const char *h = r->line.s + 1;
    size_t nl = strcspn(h, " \t");
    if (!nl) {
        KRAIT_ERROR("%s:%ld: record without a name%s", r->path, r->line_no,
                    *h == ' ' || *h == '\t' ? " (a space after the header's '>' or '@': the name must follow it)" : "");
        return -KRAIT_STATUS_BAD_INPUT;
    }
    if (kputsn(h, nl, &r->name) < 0) return -KRAIT_STATUS_NO_MEMORY;
    int lab = set_label_from_header(r, h);
    if (lab < 0) return lab;
    r->seq.l = 0;
    ks_clear(&r->seq);
    if (kputs("", &r->seq) < 0) return -KRAIT_STATUS_NO_MEMORY;
    if (r->fastx == '>') {
        while ((got = next_line(r)) > 0) {
            if (r->line.l && r->line.s[0] == '>') {
                r->peeked = 1;
                break;
            }
            if (r->line.l && r->line.s[0] == ';') continue;
            if ((got = add_bases(r, r->line.s, r->line.l, r->line_no, 0)) < 0) return got;
        }
        if (got < 0) return got;
    } else {
        int seq_lines = 0;
        while ((got = next_line(r)) > 0 && !(r->line.l && r->line.s[0] == '+')) {
            if ((got = add_bases(r, r->line.s, r->line.l, r->line_no, 0)) < 0) return got;
            seq_lines++;
        }
        if (got <= 0) {
            if (!got) KRAIT_ERROR("%s:%ld: FASTQ record '%s' ends before its '+' line", r->path, r->line_no, r->name.s);
            return got < 0 ? got : -KRAIT_STATUS_BAD_INPUT;
        }
        /* the quality: one line after a one-line sequence (the usual FASTQ: a short quality is not
         * made up by counting the next record's header); after a wrapped sequence, lines up to its
         * length, as htslib's kseq reads them ('@' is a quality character too) */
        size_t q = 0;
        long q_line = r->line_no;
        while (q < r->seq.l && (got = next_line(r)) > 0) {
            q += r->line.l;
            q_line = r->line_no;
            if (seq_lines == 1) break;
        }
        if (got < 0) return got; /* said already (a cut-short file) */
        if (q != r->seq.l) {
            KRAIT_ERROR("%s:%ld: FASTQ record '%s' has %zu quality characters for %zu bases", r->path, q_line,
                        r->name.s, q, r->seq.l);
            return -KRAIT_STATUS_BAD_INPUT;
        }
    }
    if (!r->seq.l) {
        KRAIT_ERROR("%s:%ld: record '%s' has an empty sequence", r->path, header_line, r->name.s);
        return -KRAIT_STATUS_BAD_INPUT;
    }
    *rec = (krait_dna_rec){ .name = r->name.s, .label = lab ? r->label.s : NULL, .seq = r->seq.s, .len = r->seq.l,
                            .line = header_line };
    return 1;
}

static int ieq(const char *a, const char *b) { return !strcasecmp(a, b); }

enum { TSV_MAX_COLS = 256 }; /* a labelled-sequence TSV wider than this is refused, not cut */

static int next_tsv(krait_dna_reader *r, krait_dna_rec *rec)
{
    int got;
    char *f[TSV_MAX_COLS + 1];
    for (;;) {
        if ((got = next_line(r)) <= 0) return got;
        if (!r->line.l || r->line.s[0] == '#') continue;
        if (!r->n_cols && (r->line.s[0] == '>' || r->line.s[0] == '@')) { /* FASTA/FASTQ after blank lines */
            r->kind = RD_FASTX;
            r->peeked = 1;
            return next_fastx(r, rec);
        }
        int nf = krait_dna_tsv_split(r->line.s, f, TSV_MAX_COLS + 1);
        if (nf > TSV_MAX_COLS) {
            KRAIT_ERROR("%s:%ld: more than %d columns", r->path, r->line_no, TSV_MAX_COLS);
            return -KRAIT_STATUS_BAD_INPUT;
        }
        if (!r->n_cols) { /* the first row after any comments and blank lines: a header? */
            int s = -1, l = -1, id = -1;
            for (int i = 0; i < nf; i++) {
                if (ieq(f[i], "seq") || ieq(f[i], "sequence")) s = i;
                else if (ieq(f[i], "label") || ieq(f[i], "class") || ieq(f[i], "target") || ieq(f[i], "y")) l = i;
                else if (ieq(f[i], "id") || ieq(f[i], "name")) id = i;
            }
            if (s < 0 && (l >= 0 || id >= 0)) { /* a header whose sequence column has another name ("dna") */
                for (int i = 0; i < nf; i++)
                    if (i != l && i != id) s = s == -1 ? i : -2;
                if (s < 0) {
                    KRAIT_ERROR("%s:%ld: a header (it names a %s column) without a column named seq or sequence",
                                r->path, r->line_no, l >= 0 ? "label" : "id");
                    return -KRAIT_STATUS_BAD_INPUT;
                }
                KRAIT_WARN("%s:%ld: read as a header: the sequences are column %d ('%s')", r->path, r->line_no,
                           s + 1, f[s]);
            }
            if (s >= 0) {
                r->col_seq = s, r->col_label = l, r->col_id = id, r->n_cols = nf;
                continue;
            }
        }
        if (!r->n_cols && nf == 1 && strchr(r->line.s, ' ')) { /* "seq label", "ACGT 1": spaces for tabs */
            KRAIT_ERROR("%s:%ld: one column holding spaces: a TSV's columns are separated by tabs", r->path,
                        r->line_no);
            return -KRAIT_STATUS_BAD_INPUT;
        }
        /* every row has as many columns as the header, or as the first row without one */
        if (!r->n_cols) r->n_cols = -nf; /* negative: set by a data row, not a header */
        int want = r->n_cols < 0 ? -r->n_cols : r->n_cols;
        if (nf != want) {
            KRAIT_ERROR("%s:%ld: %d column%s where the %s has %d", r->path, r->line_no, nf, nf == 1 ? "" : "s",
                        r->n_cols < 0 ? "first row" : "header", want);
            return -KRAIT_STATUS_BAD_INPUT;
        }
        /* a header makes its columns required; without one the label column is optional */
        int need = r->col_seq > r->col_id ? r->col_seq : r->col_id;
        if (r->n_cols > 0 && r->col_label > need) need = r->col_label;
        if (nf <= need) {
            KRAIT_ERROR("%s:%ld: %d column%s, expected %d (sequence<TAB>label)", r->path, r->line_no, nf,
                        nf == 1 ? "" : "s", need + 1);
            return -KRAIT_STATUS_BAD_INPUT;
        }
        const char *seq = f[r->col_seq];
        size_t n = strlen(seq), col0 = (size_t)(seq - r->line.s);
        if (!n) {
            KRAIT_ERROR("%s:%ld: empty sequence", r->path, r->line_no);
            return -KRAIT_STATUS_BAD_INPUT;
        }
        r->seq.l = 0;
        if ((got = add_bases(r, seq, n, r->line_no, col0)) < 0) return got;
        const char *label = r->opts.label;
        if (!label && r->col_label >= 0 && r->col_label < nf) {
            label = f[r->col_label];
            if (!*label) {
                KRAIT_ERROR("%s:%ld: empty label", r->path, r->line_no);
                return -KRAIT_STATUS_BAD_INPUT;
            }
        }
        r->label.l = 0;
        r->name.l = 0;
        if (label && kputs(label, &r->label) < 0) return -KRAIT_STATUS_NO_MEMORY;
        int ok = r->col_id >= 0 && r->col_id < nf ? kputs(f[r->col_id], &r->name)
                                                    : ksprintf(&r->name, "%s:%ld", r->path, r->line_no);
        if (ok < 0) return -KRAIT_STATUS_NO_MEMORY;
        *rec = (krait_dna_rec){ .name = r->name.s, .label = label ? r->label.s : NULL, .seq = r->seq.s, .len = n,
                                .line = r->line_no };
        return 1;
    }
}

static int next_sam(krait_dna_reader *r, krait_dna_rec *rec)
{
    for (;;) {
        int got = sam_read1(r->sf, r->hdr, r->b);
        if (got == -1) return 0;
        if (got < -1) {
            if (hts_get_format(r->sf)->format == cram)
                KRAIT_ERROR("%s: cannot decode record %ld: a CRAM needs the reference it was written against "
                            "(--reference FASTA, or the one its header names, reachable and with the same "
                            "sequences), else it is corrupt or cut short", r->path, r->line_no + 1);
            else
                KRAIT_ERROR("%s: cannot read a record after %ld (corrupt or truncated file?)", r->path, r->line_no);
            return -KRAIT_STATUS_BAD_INPUT;
        }
        r->line_no++;
        if (r->b->core.flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) continue;
        const char *qname = bam_get_qname(r->b);
        int n = r->b->core.l_qseq;
        if (n <= 0) {
            KRAIT_ERROR("%s: read %ld ('%s') has no sequence (SEQ '*')", r->path, r->line_no, qname);
            return -KRAIT_STATUS_BAD_INPUT;
        }
        r->seq.l = 0;
        if (ks_resize(&r->seq, (size_t)n + 1) < 0) return -KRAIT_STATUS_NO_MEMORY;
        const uint8_t *s = bam_get_seq(r->b);
        for (int i = 0; i < n; i++) r->seq.s[i] = seq_nt16_str[bam_seqi(s, i)];
        r->seq.s[n] = '\0';
        r->seq.l = (size_t)n;
        size_t bad = krait_dna_check_bases(r->seq.s, (size_t)n);
        if (bad < (size_t)n) {
            KRAIT_ERROR("%s: read %ld ('%s'), base %zu: '%c' is not an IUPAC nucleotide code%s", r->path, r->line_no,
                        qname, bad + 1, r->seq.s[bad],
                        r->seq.s[bad] == '=' ? " ('=' stands for the reference's base: store the read's own bases)" : "");
            return -KRAIT_STATUS_BAD_INPUT;
        }
        r->name.l = 0;
        r->label.l = 0;
        if (kputs(qname, &r->name) < 0) return -KRAIT_STATUS_NO_MEMORY;
        const char *label = r->opts.label;
        if (!label && r->opts.label_key) { /* a two-letter aux tag */
            uint8_t *aux = strlen(r->opts.label_key) == 2 ? bam_aux_get(r->b, r->opts.label_key) : NULL;
            int ok = 0;
            if (aux && (*aux == 'Z' || *aux == 'H')) ok = kputs(bam_aux2Z(aux), &r->label) >= 0 && r->label.l > 0;
            else if (aux && *aux == 'A') ok = kputc(bam_aux2A(aux), &r->label) >= 0;
            else if (aux && strchr("cCsSiI", *aux)) ok = ksprintf(&r->label, "%lld", (long long)bam_aux2i(aux)) >= 0;
            if (!ok && aux) {
                KRAIT_ERROR("%s: read %ld ('%s'): its %s tag (type %c) is %s; labels come from string (Z), "
                            "character (A) or integer tags", r->path, r->line_no, qname, r->opts.label_key, *aux,
                            *aux == 'Z' || *aux == 'H' ? "empty" : "not one of those");
                return -KRAIT_STATUS_BAD_INPUT;
            }
            if (!ok) {
                KRAIT_ERROR("%s: read %ld ('%s') has no %s tag for the label", r->path, r->line_no, qname,
                            r->opts.label_key);
                return -KRAIT_STATUS_BAD_INPUT;
            }
            label = r->label.s;
        }
        *rec = (krait_dna_rec){ .name = r->name.s, .label = label, .seq = r->seq.s, .len = (size_t)n };
        return 1;
    }
}

static int next_bed(krait_dna_reader *r, krait_dna_rec *rec)
{
    int got;
    for (;;) {
        if ((got = next_line(r)) <= 0) return got;
        int p = krait_dna_bed_parse(&r->bed, r->line.s, r->path, r->line_no);
        if (p < 0) return -KRAIT_STATUS_BAD_INPUT;
        if (p) break;
    }
    krait_dna_bed *b = &r->bed;
    /* named by the line's own region, before any window: predictions join back to the BED file */
    r->name.l = 0;
    if (ksprintf(&r->name, "%s:%lld-%lld(%c)", b->chrom, b->beg, b->end, b->strand) < 0) return -KRAIT_STATUS_NO_MEMORY;
    krait_status s = krait_dna_bed_resolve(b, r->opts.genome, r->opts.window, r->opts.window_pad, r->path, r->line_no);
    if (s) return -(int)s;
    long long len = b->end - b->beg;
    const int named = b->name[0] && strcmp(b->name, "."); /* "." is BED's empty field */
    const char *label = r->opts.label ? r->opts.label : named ? b->name : NULL;
    *rec = (krait_dna_rec){ .name = r->name.s, .label = label, .len = (size_t)len, .line = r->line_no, .region = 1,
                            .chrom = b->chrom, .beg = b->beg, .end = b->end, .strand = b->strand };
    if (r->opts.fetch_max > 0 && len > r->opts.fetch_max) return 1;
    if (ks_resize(&r->seq, (size_t)len + 1) < 0) return -KRAIT_STATUS_NO_MEMORY;
    int32_t *ids = malloc((size_t)len * sizeof *ids);
    if (!ids) return -KRAIT_STATUS_NO_MEMORY;
    int n = 0;
    s = krait_dna_region_chunk(ids, &n, r->opts.genome, b->chrom, b->beg, b->end, b->strand, 0, 0, (int)len, r->path,
                               r->line_no);
    for (int i = 0; !s && i < n; i++) r->seq.s[i] = krait_dna_id_char(ids[i]);
    free(ids);
    if (s) return -(int)s;
    r->seq.s[len] = '\0';
    r->seq.l = (size_t)len;
    rec->seq = r->seq.s;
    return 1;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcasecmp(s + n - m, suf);
}

/* BED by its name: .bed (.bed3 ... .bed12) and ENCODE's .narrowPeak / .broadPeak (BED6+4,
 * BED6+3), plain or compressed. */
int krait_dna_is_bed_name(const char *path)
{
    static const char *const ext[] = { ".bed", ".bed3", ".bed4", ".bed5", ".bed6", ".bed9", ".bed12", ".narrowPeak",
                                       ".broadPeak" };
    static const char *const zip[] = { "", ".gz", ".bgz" };
    char name[4096];
    for (size_t z = 0; z < 3; z++)
        for (size_t e = 0; e < sizeof ext / sizeof *ext; e++) {
            snprintf(name, sizeof name, "%s%s", ext[e], zip[z]);
            if (has_suffix(path, name)) return 1;
        }
    return 0;
}

krait_dna_reader *krait_dna_reader_open(const char *path, const krait_dna_read_opts *opts, krait_status *status)
{
    *status = KRAIT_STATUS_BAD_INPUT;
    struct stat st;
    if (!strcmp(path, "-") || (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
        /* the format is detected on a first read and the file opened again: a pipe would lose its start */
        KRAIT_ERROR("%s: not a regular file (a pipe or stdin?): krait-dna reads its inputs from files; save the "
                    "stream to a file first", path);
        return NULL;
    }
    krait_dna_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        *status = KRAIT_STATUS_NO_MEMORY;
        return NULL;
    }
    r->opts = *opts;
    r->col_label = 1;
    r->col_id = -1;
    if (opts->window > 0 && !krait_dna_is_bed_name(path))
        KRAIT_WARN("%s: --window sizes BED regions; this input is not one and is read as it is", path);
    if (krait_dna_is_bed_name(path)) {
        r->kind = RD_BED;
        if (!opts->genome) {
            KRAIT_ERROR("%s: BED regions need a genome FASTA (--genome FILE, indexed with samtools faidx)", path);
            goto fail;
        }
    } else {
        errno = 0; /* so that an errno left by an earlier call is not reported as this one's */
        htsFile *f = hts_open(path, "r");
        if (!f) { /* htslib says ENOEXEC (or EFTYPE) for a file it cannot place */
            if (errno == ENOEXEC || errno == 0)
                KRAIT_ERROR("%s: not a sequence file krait reads (FASTA, FASTQ, TSV seq<TAB>label, SAM/BAM/CRAM, "
                            "BED; plain, gzip or bgzip)", path);
            else
                KRAIT_ERROR("%s: cannot open (%s)", path, strerror(errno));
            goto fail;
        }
        enum htsExactFormat fmt = hts_get_format(f)->format;
        if (fmt == sam || fmt == bam || fmt == cram) {
            r->kind = RD_SAM;
            r->sf = f;
            if (fmt == cram && opts->reference && hts_set_fai_filename(f, opts->reference) != 0) {
                KRAIT_ERROR("%s: cannot use the CRAM reference %s", path, opts->reference);
                goto fail;
            }
            if (hts_check_EOF(f) == 0) {
                KRAIT_ERROR("%s: truncated: the end-of-file marker is missing (a cut-short copy?)", path);
                goto fail;
            }
            if (opts->label_key && !opts->label && strlen(opts->label_key) != 2) {
                KRAIT_ERROR("%s: --label-key %s: SAM/BAM/CRAM labels come from a two-letter aux tag (XC, say)", path,
                            opts->label_key);
                goto fail;
            }
            if (!(r->hdr = sam_hdr_read(f))) {
                KRAIT_ERROR("%s: cannot read the SAM/BAM/CRAM header", path);
                goto fail;
            }
            if (!(r->b = bam_init1())) goto fail;
            *status = KRAIT_STATUS_OK;
            return r;
        }
        if (has_suffix(path, ".bam") || has_suffix(path, ".cram")) { /* binary formats: a magic number or not */
            char *what = hts_format_description(hts_get_format(f));
            KRAIT_ERROR("%s: named as %s but it is not one (htslib reads it as %s)", path,
                        has_suffix(path, ".bam") ? "BAM" : "CRAM", what ? what : "another format");
            free(what);
            hts_close(f);
            goto fail;
        }
        r->kind = fmt == fasta_format || fmt == fastq_format ? RD_FASTX : RD_TSV;
        hts_close(f);
    }
    if (!(r->fp = bgzf_open(path, "r"))) {
        KRAIT_ERROR("%s: cannot open (%s)", path, strerror(errno));
        goto fail;
    }
    if (r->fp->is_compressed && !r->fp->is_gzip && bgzf_check_EOF(r->fp) == 0) { /* bgzip, cut short */
        KRAIT_ERROR("%s: truncated: the BGZF end-of-file block is missing (a cut-short copy?)", path);
        goto fail;
    }
    int first = r->kind == RD_TSV ? bgzf_peek(r->fp) : -1;
    if (first == '>' || first == '@') r->kind = RD_FASTX; /* FASTA htslib does not call FASTA (no bases) */
    if (opts->label_key && (r->kind == RD_TSV || r->kind == RD_BED))
        KRAIT_WARN("%s: --label-key reads FASTA/FASTQ headers and SAM/BAM/CRAM tags; this %s's labels are its %s "
                   "column", path, r->kind == RD_TSV ? "table" : "BED file", r->kind == RD_TSV ? "label" : "name");
    *status = KRAIT_STATUS_OK;
    return r;
fail:
    krait_dna_reader_close(r);
    return NULL;
}

int krait_dna_reader_next(krait_dna_reader *r, krait_dna_rec *rec)
{
    switch (r->kind) {
    case RD_FASTX: return next_fastx(r, rec);
    case RD_TSV: return next_tsv(r, rec);
    case RD_SAM: return next_sam(r, rec);
    case RD_BED: return next_bed(r, rec);
    }
    return -KRAIT_STATUS_BAD_INPUT;
}

void krait_dna_quiet_htslib(void) { hts_set_log_level(HTS_LOG_OFF); }


void krait_dna_reader_close(krait_dna_reader *r)
{
    if (!r) return;
    if (r->fp) bgzf_close(r->fp);
    if (r->b) bam_destroy1(r->b);
    if (r->hdr) sam_hdr_destroy(r->hdr);
    if (r->sf) hts_close(r->sf);
    free(r->line.s), free(r->name.s), free(r->seq.s), free(r->label.s), free(r->qual.s);
    free(r->path);
    free(r);
}
