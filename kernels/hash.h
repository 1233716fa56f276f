/* kernels/hash.h — krait's two hashes, for the host and (compiled by nvcc) the device:
 *
 * krait_mix64: the splitmix64 finaliser (Steele, Lea & Flood) of seed + (counter + 1) x the
 *   golden ratio — a counter-based generator: the counter-th value of the splitmix64 sequence
 *   that starts at seed. Seeds the xoshiro generators, draws dropout masks and sampling
 *   uniforms, shuffles documents.
 * krait_fnv1a: one step of 64-bit FNV-1a (h ^ v) x prime: from KRAIT_FNV1A_INIT for the
 *   tokenizer's string table, from KRAIT_FINGERPRINT_INIT (below) for fingerprints of data and
 *   the name-hash splits of audio files. v is a byte in the standard use; a whole id is folded in
 *   as one value where only a fingerprint is wanted. */
#ifndef KRAIT_HASH_H
#define KRAIT_HASH_H

#include <stdint.h>

#if defined(__CUDACC__)
#define KRAIT_HOST_DEVICE __host__ __device__
#else
#define KRAIT_HOST_DEVICE
#endif

static inline KRAIT_HOST_DEVICE uint64_t krait_mix64(uint64_t seed, uint64_t counter)
{
    uint64_t x = seed + (counter + 1) * 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

#define KRAIT_FNV1A_INIT 0xcbf29ce484222325ull
/* The start of krait's file fingerprints and name-hash splits: FNV-1a's basis with its last
 * decimal digit lost (14695981039346656037 -> 1469598103934665603). Still a fine hash; kept
 * because the audio splits of saved models and the data checks of saved checkpoints use it. */
#define KRAIT_FINGERPRINT_INIT 1469598103934665603ull

static inline uint64_t krait_fnv1a(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull; }

#endif /* KRAIT_HASH_H */
