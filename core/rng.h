/* core/rng.h — krait's deterministic random numbers (xoshiro256**, seeded by splitmix64).
 *
 * Every random draw in krait (initialisation, data sampling, dropout-free training order,
 * sampling at generation) goes through a krait_rng that the caller owns, so a run is a
 * function of its seeds and its state can be saved in a checkpoint and restored exactly.
 * There is no global generator. */
#ifndef KRAIT_RNG_H
#define KRAIT_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_rng {
    uint64_t s[4];
} krait_rng;

void krait_rng_init(krait_rng *r, uint64_t seed);
/* An independent stream derived from (seed, stream id): used to give each purpose its own
 * generator (init, data, sampling) so that changing one does not shift the others. */
void krait_rng_init_stream(krait_rng *r, uint64_t seed, uint64_t stream);
uint64_t krait_rng_u64(krait_rng *r);
double krait_rng_uniform(krait_rng *r);              /* [0, 1) with 53 random bits */
uint32_t krait_rng_below(krait_rng *r, uint32_t n);  /* uniform in [0, n), unbiased */
double krait_rng_normal(krait_rng *r);               /* N(0, 1), Box-Muller */

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_RNG_H */
