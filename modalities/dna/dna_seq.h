/* modalities/dna/dna_seq.h — the DNA alphabet: bases -> token ids and back, reverse complement.
 *
 * Ids: A 0, C 1, G 2, T 3, N 4 (KRAIT_DNA_VOCAB = 5; a model pads its vocabulary to 8). So the
 * complement of a base id b < 4 is 3 - b and N stays N. Letters are case-insensitive; the IUPAC
 * ambiguity codes (R Y S W K M B D H V N) become N, U (RNA) becomes T. Anything else — digits,
 * gaps ('-', '.'), spaces, other letters — is an error, never a silent guess. Padding needs no id
 * of its own: a classification batch marks padded positions in its targets (core/classify.h).
 *
 * This file knows nothing of files; dna_read.h reads them. */
#ifndef KRAIT_DNA_SEQ_H
#define KRAIT_DNA_SEQ_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { KRAIT_DNA_A = 0, KRAIT_DNA_C = 1, KRAIT_DNA_G = 2, KRAIT_DNA_T = 3, KRAIT_DNA_N = 4, KRAIT_DNA_VOCAB = 5 };

/* The id of one character, or -1 when it is not an IUPAC nucleotide code. */
int krait_dna_base_id(unsigned char c);

/* Encode n characters into ids (n). Returns n on success, or the index of the first character
 * that is not an IUPAC code (the caller names file:line:column). */
size_t krait_dna_encode(int32_t *ids, const char *seq, size_t n);
/* The same into bytes (training sets keep their ids as uint8). */
size_t krait_dna_encode_u8(uint8_t *ids, const char *seq, size_t n);

/* "ACGTN"[id]. */
char krait_dna_id_char(int32_t id);

/* Reverse complement of ids (n) in place: reversed order, A<->T, C<->G, N stays. */
void krait_dna_revcomp(int32_t *ids, size_t n);
void krait_dna_revcomp_u8(uint8_t *ids, size_t n);
/* Complement only (no reversal), and reversal only: the pieces of chunked reverse passes. */
void krait_dna_complement(int32_t *ids, size_t n);
void krait_dna_reverse(int32_t *ids, size_t n);

/* The first base of a random training crop of L bases out of a sequence of len: uniform in
 * [0, len - L] (one 64-bit draw taken modulo the range, so the bias is below range / 2^64); 0,
 * with no draw, when the sequence fits (len <= L). */
size_t krait_dna_crop_start(size_t len, size_t L, krait_rng *rng);

/* Evolution-inspired training augmentation (as EvoAug, Lee et al. 2023) of ids (n) in place:
 * each of A C G T becomes one of the other three, uniformly, with probability mutate (N stays);
 * then the row turns circularly by a uniform amount in [-shift, shift] (a translocation: the
 * two pieces swap places; positive turns right). Neither step draws from rng when it is off
 * (mutate 0, shift 0), so runs without augmentation are unchanged. */
void krait_dna_augment(int32_t *ids, size_t n, double mutate, int shift, krait_rng *rng);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_DNA_SEQ_H */
