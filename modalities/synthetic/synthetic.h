/* modalities/synthetic/synthetic.h — the Mamba paper's synthetic tasks as token streams.
 *
 * Induction heads (paper §4.1.2): random tokens; somewhere a trigger token is followed by a
 * value token; the sequence ends with the trigger again and the model must predict the value.
 * Only the last position is scored. Tokens: 0 = trigger, 1..V-1 = random content.
 *
 * Selective copying (paper §4.1.1): n_data content tokens at random positions in a stretch of
 * noise tokens, then n_data marker tokens; at each marker the model must output the content
 * tokens in order. Tokens: 0 = noise, 1 = marker, 2..V-1 = content. Scored: the marker positions.
 *
 * Sequences are generated position by position from a small per-sequence plan, so a
 * million-token sequence never has to exist in memory. Generators are deterministic in the
 * krait_rng they are given. This file knows nothing about models. */
#ifndef KRAIT_SYNTHETIC_H
#define KRAIT_SYNTHETIC_H

#include <stdint.h>

#include "backend.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum krait_synth_task {
    KRAIT_SYNTH_INDUCTION = 0,
    KRAIT_SYNTH_SELECTIVE_COPY = 1
} krait_synth_task;

typedef struct krait_synth {
    krait_synth_task task;
    int vocab;            /* V, >= 3 (induction) or >= 4 (selective copy) */
    long len;             /* total sequence length L */
    int n_data;           /* selective copy: content tokens to copy */
    int B;                /* sequences in flight */
    /* per-sequence plan */
    long *pos;            /* (B, n_data) induction: trigger position; copy: sorted data positions */
    int32_t *tok;         /* (B, n_data) the value / content tokens */
    krait_rng rng;        /* draws the filler tokens as positions are generated */
} krait_synth;

/* Parse "induction" / "selective-copy". Returns -1 for an unknown name. */
int krait_synth_task_from_name(const char *name);
const char *krait_synth_task_name(krait_synth_task t);

/* Prepare B new sequences of length len; draws their plans from rng. */
krait_status krait_synth_init(krait_synth *s, krait_synth_task task, int vocab, long len, int n_data,
                              int B, krait_rng *rng);
void krait_synth_free(krait_synth *s);
/* Positions [t0, t0 + n) of every sequence: ids and targets (B, n) row-major, in order of t0. */
void krait_synth_fill(krait_synth *s, int32_t *ids, int32_t *targets, long t0, int n);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_SYNTHETIC_H */
