/* modalities/dna/dna_region.h — regions of an indexed genome: faidx (htslib) and BED lines.
 *
 * A genome is a FASTA (plain or bgzip) with its samtools index (.fai, and .gzi when bgzipped);
 * a missing index is an error, never built behind the user's back. A BED line gives chrom, a
 * 0-based half-open [start, end), and optionally name (column 4) and strand (column 6; '-' means
 * the reverse complement). A region past its contig's end, a negative one, or an unknown
 * contig is an error naming the BED file and line. An empty region (end == start, a point
 * such as an insertion site) is read only through a window, which is centred on the point.
 *
 * Windows: every region can be resized to a fixed length W centred on it: [start + len/2 - W/2,
 * + W), the region's middle base (the later of two) at W/2. Centred mode cuts a longer region
 * and refuses a window past the contig's ends; padded mode refuses a region longer than W and
 * reads the bases past the contig's ends as N.
 *
 * Long regions are read in chunks (krait_dna_region_chunk), in the order of a forward pass
 * over the region's sequence or of a pass over its reversal, so a 100 Mb region costs one chunk
 * of memory. This file does not classify anything. */
#ifndef KRAIT_DNA_REGION_H
#define KRAIT_DNA_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_dna_genome krait_dna_genome;

/* Open fasta and its index. NULL with one logged line (missing file or index). */
krait_dna_genome *krait_dna_genome_open(const char *fasta, krait_status *status);
void krait_dna_genome_close(krait_dna_genome *g);
/* Length of contig chrom, or -1 when the index has no such contig. */
long long krait_dna_genome_contig_len(const krait_dna_genome *g, const char *chrom);

/* The characters of [beg, end) of chrom into out (end - beg + 1 bytes, NUL-terminated); bases
 * outside the contig are 'N'. Every base is checked: a non-IUPAC byte names the genome, contig
 * and position, after "origin:line_no: " (the BED line that asked for the region) when origin
 * is not NULL. */
krait_status krait_dna_genome_fetch(const krait_dna_genome *g, char *out, const char *chrom, long long beg,
                                    long long end, const char *origin, long line_no);

/* One BED region. */
typedef struct krait_dna_bed {
    char chrom[256];
    long long beg, end;   /* 0-based half-open, after any window */
    char strand;          /* '+' or '-' ('.' in the file means '+') */
    char name[256];       /* column 4, "" when absent */
} krait_dna_bed;

/* Parse one BED line (modified in place; no trailing newline). 1: a region in out; 0: a line
 * without one (empty, '#', "track", "browser"); -1: malformed (logged as origin:line: ...). */
int krait_dna_bed_parse(krait_dna_bed *out, char *line, const char *origin, long line_no);

/* Check r against g and apply the window (window <= 0: none; pad: see above). BAD_INPUT with
 * one logged line "origin:line: ..." when the contig is unknown or the region does not fit. */
krait_status krait_dna_bed_resolve(krait_dna_bed *r, const krait_dna_genome *g, int window, int pad,
                                   const char *origin, long line_no);

/* Chunk k (pass positions [k * chunk, min((k + 1) * chunk, len))) of a pass over the region's
 * sequence S (the bases of [beg, end), reverse-complemented when strand is '-'), or over
 * reverse(S) when reverse = 1, as ids into ids (chunk); *n receives the count. origin, line_no:
 * the region's BED line, for messages (as krait_dna_genome_fetch). */
krait_status krait_dna_region_chunk(int32_t *ids, int *n, const krait_dna_genome *g, const char *chrom,
                                    long long beg, long long end, char strand, int reverse, long long k, int chunk,
                                    const char *origin, long line_no);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_DNA_REGION_H */
