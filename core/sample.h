/* core/sample.h — choosing the next token from one row of logits.
 *
 * A krait_sampler belongs to one sequence: it owns its random generator (so a sequence's draws
 * never depend on other sequences), the set of token ids it has seen (for the repetition
 * penalty) and its scratch. The steps, in this order (HF's processors and warpers):
 *   1. repetition penalty (CTRL, arXiv 1909.05858): a seen id's logit l becomes l / p if l > 0,
 *      else l * p;
 *   2. greedy when temperature == 0 or top_k == 1: the argmax (lowest id on ties), no draw;
 *   3. logits / temperature;
 *   4. top-k: keep the k largest;
 *   5. top-p: keep the smallest set of the largest that holds at least top_p of the
 *      probability of what is left;
 *   6. min-p: keep ids whose probability is at least min_p x the largest probability (the max
 *      probability, not a raw logit: the upstream min_p bug is not copied);
 *   7. one draw from the renormalised distribution.
 * Ties in steps 4-5 are broken towards the lower id, so a draw is a function of the logits and
 * the generator alone.
 *
 * This file does not run the model; generate.h calls it once per sequence per token. */
#ifndef KRAIT_SAMPLE_H
#define KRAIT_SAMPLE_H

#include <stdint.h>

#include "backend.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_sample_params {
    float temperature;          /* 0 = greedy; default 1 */
    int top_k;                  /* 0 = off; 1 = greedy */
    float top_p;                /* (0, 1]; 1 = off */
    float min_p;                /* [0, 1]; 0 = off */
    float repetition_penalty;   /* > 0; 1 = off */
} krait_sample_params;

/* temperature 1, top_k 0, top_p 1, min_p 0, repetition_penalty 1 (plain sampling). */
krait_sample_params krait_sample_default_params(void);
/* KRAIT_STATUS_BAD_INPUT (logged, naming the option) when a value is out of range. */
krait_status krait_sample_check(const krait_sample_params *p);

typedef struct krait_sampler krait_sampler;

/* A sampler over ids [0, V) (V: the real vocabulary; padded logits beyond it are never drawn),
 * its generator seeded with seed. NULL on a bad parameter or out of memory. */
krait_sampler *krait_sampler_init(int V, const krait_sample_params *p, uint64_t seed);
/* The memory one sampler of a V-token vocabulary holds. */
size_t krait_sampler_bytes(int V);
void krait_sampler_free(krait_sampler *s);
/* Forget the seen ids and reseed (a new sequence). */
void krait_sampler_reset(krait_sampler *s, uint64_t seed);
/* Never draw these ids (a tokenizer's ids without a token): they are left out of every step, the
 * greedy argmax included. Adds to the ids forbidden before; reset keeps them. KRAIT_STATUS_BAD_INPUT
 * (logged) for an id outside [0, V) or when no id would be left to draw. */
krait_status krait_sampler_forbid(krait_sampler *s, const int32_t *ids, int n);
/* Mark ids as seen (the prompt). Ids outside [0, V) are ignored. */
void krait_sampler_observe(krait_sampler *s, const int32_t *ids, int n);
/* The next token from logits (V floats, not modified); it is marked as seen. -1 when a logit is
 * NaN (a model whose numbers overflowed): nothing is drawn or marked. */
int32_t krait_sampler_sample(krait_sampler *s, const float *logits);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_SAMPLE_H */
