/* core/rng.c — xoshiro256** (Blackman & Vigna) with splitmix64 seeding; see rng.h. */
#include "rng.h"

#include <math.h>

#include "hash.h"

void krait_rng_init(krait_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = krait_mix64(seed, (uint64_t)i); /* splitmix64 from seed */
}

void krait_rng_init_stream(krait_rng *r, uint64_t seed, uint64_t stream)
{
    krait_rng_init(r, krait_mix64(seed ^ (0xd1b54a32d192ed03ull * (stream + 1)), 0));
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t krait_rng_u64(krait_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double krait_rng_uniform(krait_rng *r) { return (krait_rng_u64(r) >> 11) * 0x1.0p-53; }

uint32_t krait_rng_below(krait_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection of the biased low range. */
    uint64_t m = (uint64_t)(uint32_t)(krait_rng_u64(r) >> 32) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t thresh = (uint32_t)(-n) % n;
        while (lo < thresh) {
            m = (uint64_t)(uint32_t)(krait_rng_u64(r) >> 32) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double krait_rng_normal(krait_rng *r)
{
    double u1 = krait_rng_uniform(r), u2 = krait_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}
