/* modalities/dna/dna_kmer.h — k-mer spectrum features for the baseline classifier: for each
 * k = 1..K the counts of all 4^k k-mers in a sequence divided by the number of k-mer positions
 * (k-mers containing N are skipped but still counted as positions). Feature j of k starts at
 * offset (4^k - 4) / 3 (so 4 + 16 + ... + 4^K features in all); a k-mer's index is its bases
 * as base-4 digits, first base most significant. No model, no learning here. */
#ifndef KRAIT_DNA_KMER_H
#define KRAIT_DNA_KMER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 4 + 16 + ... + 4^kmax */
size_t krait_dna_kmer_dim(int kmax);
/* feats (krait_dna_kmer_dim(kmax)) from ids (n, dna_seq.h ids). kmax in 1..8. */
void krait_dna_kmer_features(float *feats, const uint8_t *ids, size_t n, int kmax);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_DNA_KMER_H */
