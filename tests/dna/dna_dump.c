/* tests/dna/dna_dump.c — prints what the DNA reader reads, one record a line:
 * "name<TAB>label<TAB>sequence" (label "-" when none; for regions the sequence as ids, i.e.
 * upper case with IUPAC as N). The format tests (formats.sh) compare it with samtools and with
 * the input files. Usage: dna_dump [--genome FA] [--window W] [--pad] [--label-key K]
 * [--label L] [--reference FA] [--fetch-max N] FILE; a BED region longer than --fetch-max
 * comes without its sequence (for the caller to stream) and prints "(LEN bases, not fetched)".
 * Exit 2 with the reader's one line on bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dna_read.h"
#include "dna_region.h"

int main(int argc, char **argv)
{
    krait_dna_read_opts o = { 0 };
    const char *path = NULL;
    krait_status s;
    krait_dna_quiet_htslib();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--genome") && i + 1 < argc) {
            if (!(o.genome = krait_dna_genome_open(argv[++i], &s))) return 2;
        } else if (!strcmp(argv[i], "--window") && i + 1 < argc) o.window = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pad")) o.window_pad = 1;
        else if (!strcmp(argv[i], "--label-key") && i + 1 < argc) o.label_key = argv[++i];
        else if (!strcmp(argv[i], "--label") && i + 1 < argc) o.label = argv[++i];
        else if (!strcmp(argv[i], "--reference") && i + 1 < argc) o.reference = argv[++i];
        else if (!strcmp(argv[i], "--fetch-max") && i + 1 < argc) o.fetch_max = atoll(argv[++i]);
        else path = argv[i];
    }
    if (!path) return fprintf(stderr, "usage: dna_dump [options] FILE\n"), 2;
    krait_dna_reader *r = krait_dna_reader_open(path, &o, &s);
    if (!r) return 2;
    krait_dna_rec rec;
    int got;
    while ((got = krait_dna_reader_next(r, &rec)) > 0) {
        printf("%s\t%s\t", rec.name, rec.label ? rec.label : "-");
        if (rec.seq) printf("%s\n", rec.seq);
        else printf("(%zu bases, not fetched)\n", rec.len);
    }
    krait_dna_reader_close(r);
    krait_dna_genome_close(o.genome);
    return got < 0 ? 2 : 0;
}
