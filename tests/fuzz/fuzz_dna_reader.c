/* tests/fuzz/fuzz_dna_reader.c — the DNA record reader (modalities/dna/dna_read.h) on arbitrary
 * bytes: the first byte picks the kind — content-detected (FASTA, FASTQ, TSV, SAM, BAM, CRAM,
 * gzip/bgzip of them) or a BED list over the small genome in data/dna (with a window, centred
 * or padded) — and whether labels come from a "class=" header key; the rest is the file.
 * Properties: open fails with BAD_INPUT or IO; every record has a name and a non-empty sequence
 * of IUPAC characters (a BED region inside its contig, or padded), and reading ends with 0 or
 * -BAD_INPUT / -IO. CRAM references are never fetched from the network (REF_PATH is local). */
#include <stdlib.h>
#include <string.h>

#include "dna_read.h"
#include "dna_region.h"
#include "fuzz.h"

#ifndef KRAIT_FUZZ_DNA_GENOME
#define KRAIT_FUZZ_DNA_GENOME "data/dna/ce_small.fa"
#endif

static krait_dna_genome *genome;

static void init_once(void)
{
    if (genome) return;
    setenv("REF_PATH", "/nonexistent-krait-fuzz/%s", 1);   /* no EBI lookups for CRAM */
    setenv("REF_CACHE", "/nonexistent-krait-fuzz/%s", 1);
    krait_dna_quiet_htslib();
    krait_status s;
    const char *fa = getenv("KRAIT_FUZZ_DNA_GENOME");
    genome = krait_dna_genome_open(fa ? fa : KRAIT_FUZZ_DNA_GENOME, &s);
    fuzz_check(genome != NULL, "the fuzz genome (data/dna/ce_small.fa + .fai) opens");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    init_once();
    if (size == 0) return 0;
    int bed = data[0] & 1, label_key = (data[0] >> 1) & 1, window = (data[0] >> 2) & 3;
    krait_dna_read_opts o = { 0 };
    if (label_key) o.label_key = "class";
    if (bed) {
        o.genome = genome;
        o.window = window ? 16 << window : 0;
        o.window_pad = (data[0] >> 4) & 1;
    }
    const char *path = fuzz_file(data + 1, size - 1, bed ? ".bed" : ".seqs");
    krait_status s = KRAIT_STATUS_OK;
    krait_dna_reader *r = krait_dna_reader_open(path, &o, &s);
    if (!r) {
        fuzz_check(s == KRAIT_STATUS_BAD_INPUT || s == KRAIT_STATUS_IO, "open status");
        return 0;
    }
    krait_dna_rec rec;
    int k = 0;
    for (int n = 0; n < 100000 && (k = krait_dna_reader_next(r, &rec)) == 1; n++) {
        fuzz_check(rec.name != NULL, "a record has a name");
        fuzz_check(rec.seq != NULL && rec.len > 0, "a non-empty sequence");
        fuzz_check(krait_dna_check_bases(rec.seq, rec.len) == rec.len, "IUPAC characters only");
        if (rec.region) {
            fuzz_check(rec.end > rec.beg && (rec.strand == '+' || rec.strand == '-'), "a region");
            long long clen = krait_dna_genome_contig_len(genome, rec.chrom);
            fuzz_check(clen > 0, "the region's contig exists");
            fuzz_check(o.window_pad || (rec.beg >= 0 && rec.end <= clen), "an unpadded region inside its contig");
            fuzz_check((long long)rec.len == rec.end - rec.beg, "the sequence spans the region");
        }
    }
    fuzz_check(k == 0 || k == 1 || k == -(int)KRAIT_STATUS_BAD_INPUT || k == -(int)KRAIT_STATUS_IO, "end status");
    krait_dna_reader_close(r);
    return 0;
}
