/* modalities/dna/dna_seq.c — the DNA alphabet (see dna_seq.h). */
#include "dna_seq.h"

int krait_dna_base_id(unsigned char c)
{
    switch (c | 0x20) { /* lower case for letters; other characters never match a letter */
    case 'a': return KRAIT_DNA_A;
    case 'c': return KRAIT_DNA_C;
    case 'g': return KRAIT_DNA_G;
    case 't': case 'u': return KRAIT_DNA_T;
    case 'n': case 'r': case 'y': case 's': case 'w': case 'k': case 'm':
    case 'b': case 'd': case 'h': case 'v': return KRAIT_DNA_N;
    default: return -1;
    }
}

size_t krait_dna_encode(int32_t *ids, const char *seq, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int id = (seq[i] & 0x80) ? -1 : krait_dna_base_id((unsigned char)seq[i]);
        if (id < 0) return i;
        ids[i] = id;
    }
    return n;
}

size_t krait_dna_encode_u8(uint8_t *ids, const char *seq, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int id = (seq[i] & 0x80) ? -1 : krait_dna_base_id((unsigned char)seq[i]);
        if (id < 0) return i;
        ids[i] = (uint8_t)id;
    }
    return n;
}

char krait_dna_id_char(int32_t id) { return id >= 0 && id < KRAIT_DNA_VOCAB ? "ACGTN"[id] : '?'; }

static int32_t comp(int32_t b) { return b < KRAIT_DNA_N ? 3 - b : b; }

void krait_dna_complement(int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) ids[i] = comp(ids[i]);
}

void krait_dna_reverse(int32_t *ids, size_t n)
{
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        int32_t t = ids[i];
        ids[i] = ids[j - 1];
        ids[j - 1] = t;
    }
}

void krait_dna_revcomp(int32_t *ids, size_t n)
{
    krait_dna_reverse(ids, n);
    krait_dna_complement(ids, n);
}

void krait_dna_revcomp_u8(uint8_t *ids, size_t n)
{
    for (size_t i = 0, j = n; i < j; i++, j--) {
        uint8_t a = ids[i], b = ids[j - 1];
        ids[i] = (uint8_t)comp(b);
        ids[j - 1] = (uint8_t)comp(a);
    }
}

size_t krait_dna_crop_start(size_t len, size_t L, krait_rng *rng)
{
    return len > L ? (size_t)(krait_rng_u64(rng) % (len - L + 1)) : 0;
}

void krait_dna_augment(int32_t *ids, size_t n, double mutate, int shift, krait_rng *rng)
{
    if (mutate > 0)
        for (size_t t = 0; t < n; t++)
            if (ids[t] < KRAIT_DNA_N && krait_rng_uniform(rng) < mutate)
                ids[t] = (ids[t] + 1 + (int32_t)krait_rng_below(rng, 3)) % 4;
    if (shift <= 0 || n < 2) return;
    long by = (long)krait_rng_below(rng, 2 * (uint32_t)shift + 1) - shift, len = (long)n;
    size_t k = (size_t)(((by % len) + len) % len);
    if (!k) return;
    krait_dna_reverse(ids, n); /* turning right by k: reverse all, then each piece */
    krait_dna_reverse(ids, k);
    krait_dna_reverse(ids + k, n - k);
}
