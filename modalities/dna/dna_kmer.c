/* modalities/dna/dna_kmer.c — k-mer spectrum features (see dna_kmer.h). */
#include "dna_kmer.h"

#include <string.h>

#include "dna_seq.h"

size_t krait_dna_kmer_dim(int kmax)
{
    size_t d = 0, p = 1;
    for (int k = 1; k <= kmax; k++) d += (p *= 4);
    return d;
}

void krait_dna_kmer_features(float *feats, const uint8_t *ids, size_t n, int kmax)
{
    memset(feats, 0, krait_dna_kmer_dim(kmax) * sizeof *feats);
    size_t off = 0, p = 1;
    for (int k = 1; k <= kmax; k++) {
        p *= 4;
        size_t mask = p - 1, code = 0, valid = 0; /* valid: bases since the last N */
        for (size_t i = 0; i < n; i++) {
            if (ids[i] >= KRAIT_DNA_N) {
                valid = 0;
                continue;
            }
            code = ((code << 2) | ids[i]) & mask;
            if (++valid >= (size_t)k) feats[off + code] += 1.0f;
        }
        if (n >= (size_t)k) {
            float inv = 1.0f / (float)(n - (size_t)k + 1);
            for (size_t j = 0; j < p; j++) feats[off + j] *= inv;
        }
        off += p;
    }
}
