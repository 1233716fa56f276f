/* tests/fuzz/fuzz_dna_lines.c — the DNA line parsers on memory (modalities/dna): a BED line,
 * a TSV split, a FASTA header "key=value" lookup and the IUPAC check, on arbitrary bytes (one
 * NUL-terminated line). Properties: a parsed BED region is 0 <= beg <= end (end = beg: a point,
 * read only through a window) with strand + or -
 * and NUL-terminated names; TSV fields lie inside the line; a header value fits its buffer;
 * the IUPAC check stops at the first byte krait_dna_base_id refuses. */
#include <stdlib.h>
#include <string.h>

#include "dna_read.h"
#include "dna_region.h"
#include "dna_seq.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *line = fuzz_cstr(data, size);
    size_t len = strlen(line);
    krait_dna_bed b;
    char *copy = strdup(line);
    int r = krait_dna_bed_parse(&b, copy, "fuzz.bed", 1);
    fuzz_check(r >= -1 && r <= 1, "bed_parse result");
    if (r == 1) {
        fuzz_check(b.beg >= 0 && b.end >= b.beg && (b.strand == '+' || b.strand == '-'), "a BED region");
        fuzz_check(memchr(b.chrom, 0, sizeof b.chrom) && memchr(b.name, 0, sizeof b.name) && b.chrom[0],
                   "BED names are NUL-terminated");
    }
    free(copy);
    copy = strdup(line);
    char *f[8];
    int nf = krait_dna_tsv_split(copy, f, 8);
    fuzz_check(nf >= 0 && nf <= 8, "tsv_split count");
    for (int i = 0; i < nf; i++) fuzz_check(f[i] >= copy && f[i] <= copy + len, "TSV fields inside the line");
    free(copy);
    char out[16];
    int h = krait_dna_header_value(line, "class", out, sizeof out);
    fuzz_check(h >= -1 && h <= 1 && (h != 1 || strlen(out) < sizeof out), "header value");
    size_t k = krait_dna_check_bases((const char *)data, size);
    fuzz_check(k <= size, "check_bases index");
    if (k < size) fuzz_check((data[k] & 0x80) || krait_dna_base_id(data[k]) < 0, "stops at a refused byte");
    for (size_t i = 0; i < k; i++) fuzz_check(krait_dna_base_id(data[i]) >= 0, "accepted bytes are IUPAC");
    free(line);
    return 0;
}
