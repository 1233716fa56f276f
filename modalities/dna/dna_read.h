/* modalities/dna/dna_read.h — DNA records from the files genomics people use, through htslib.
 *
 * One reader yields one record at a time (bounded memory for any file size):
 *   - FASTA and FASTQ, plain, gzip or bgzip (BGZF reads all three), multi-line records;
 *   - TSV "seq<TAB>label" (a header naming the columns seq|sequence, label|class|target|y,
 *     id|name is optional and may follow '#' comments and blank lines; a first row that names
 *     a label or id column but no seq column is a header too, its one other column the
 *     sequence, said with a warning; without a header: column 1 the sequence, column 2 the
 *     label; at most 256 columns), plain or compressed;
 *   - SAM, BAM and CRAM reads (sam_read1; the sequence as stored, i.e. on the reference's forward
 *     strand for mapped reads; secondary and supplementary alignments skipped);
 *   - BED regions over an indexed FASTA (dna_region.h), the name column as the label.
 * The format is detected from the content (hts_detect_format), not the name, except that a
 * region list is known by its name: .bed (.bed3 ... .bed12), .narrowPeak, .broadPeak, plain,
 * .gz or .bgz. Inputs are files: the detection reads the start, so a pipe is refused.
 *
 * Labels come from the TSV label column, the BED name column, a FASTA/FASTQ header key
 * ("key=value" among the header's words, opts.label_key), or one label for the whole file
 * (opts.label: one FASTA file per class).
 *
 * Every sequence is checked as it is read: a character outside IUPAC is an error naming
 * file:line:column, an empty sequence names file:line. Errors are logged as one line and
 * returned as KRAIT_STATUS_BAD_INPUT. Records hand out characters; dna_seq.h encodes them.
 * The line parsers work on memory buffers too (fuzzing). This file never exits. */
#ifndef KRAIT_DNA_READ_H
#define KRAIT_DNA_READ_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_dna_genome krait_dna_genome;   /* dna_region.h */

typedef struct krait_dna_read_opts {
    const char *label;          /* every record gets this label (one file per class), or NULL */
    const char *label_key;      /* FASTA/FASTQ: the label is the value of "KEY=value" in the header */
    krait_dna_genome *genome;   /* BED inputs: the indexed FASTA the regions are cut from */
    int window;                 /* BED: > 0 resizes every region to this length ... */
    int window_pad;             /* ... centred on the region's middle: 0: a longer region is cut,
                                 * a window past a contig end is an error; 1: a longer region is
                                 * an error, bases past a contig end are N */
    long long fetch_max;        /* BED: regions longer than this are yielded without sequence
                                 * (seq NULL), for the caller to stream; 0: no limit */
    const char *reference;      /* CRAM: the reference FASTA, or NULL (the file's own M5/UR) */
} krait_dna_read_opts;

typedef struct krait_dna_rec {
    const char *name;           /* record id: FASTA/FASTQ/read name, BED "chrom:beg-end(strand)"
                                 * (the line's own coordinates, before any window), TSV
                                 * "file:line" (or its id column) */
    const char *label;          /* NULL when the input gives none */
    const char *seq;            /* len checked IUPAC characters (NULL for a long BED region) */
    size_t len;
    long line;                  /* 1-based line of the record (0 for BAM/CRAM) */
    /* BED regions (region == 1): 0-based half-open [beg, end) on chrom (the window, if any),
     * strand '+' or '-'; beg < 0 or end > the contig length only with window_pad (those bases
     * are N). */
    int region;
    const char *chrom;
    long long beg, end;
    char strand;
} krait_dna_rec;

typedef struct krait_dna_reader krait_dna_reader;

/* Open path (format detected). NULL with one logged line when it cannot be read. */
krait_dna_reader *krait_dna_reader_open(const char *path, const krait_dna_read_opts *opts, krait_status *status);
/* The next record into rec (valid until the next call): 1, or 0 at the end; < 0 is
 * -KRAIT_STATUS_BAD_INPUT / -KRAIT_STATUS_IO after a logged line. */
int krait_dna_reader_next(krait_dna_reader *r, krait_dna_rec *rec);
void krait_dna_reader_close(krait_dna_reader *r);

/* 1 when path is named as BED (.bed, .bed3 ... .bed12, .narrowPeak, .broadPeak; plain, .gz or
 * .bgz): the reader takes it for regions of --genome by that name alone. */
int krait_dna_is_bed_name(const char *path);

/* Silence htslib's own messages on stderr (the reader logs one line per problem itself). */
void krait_dna_quiet_htslib(void);

/* ---- the line parsers, on memory --------------------------------------------------------------- */
/* Check n characters of one sequence line: the index of the first non-IUPAC character, or n. */
size_t krait_dna_check_bases(const char *s, size_t n);
/* Log "origin:line:column: <what is wrong>" for the bad character s[col0] (0-based). */
void krait_dna_bad_base(const char *origin, long line, size_t col0, unsigned char c);

/* Split a TSV line in place at tabs: up to max fields, returns the count (a trailing '\r' is
 * dropped). */
int krait_dna_tsv_split(char *line, char **fields, int max);

/* The value of "key=value" among the words of a FASTA/FASTQ header (after the name; words are
 * separated by spaces, tabs, '|' or ';'), copied into out (cap bytes). 1 found, 0 not found,
 * -1 the value does not fit. */
int krait_dna_header_value(const char *header, const char *key, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_DNA_READ_H */
