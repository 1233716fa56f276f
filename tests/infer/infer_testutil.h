/* tests/infer/infer_testutil.h — what the inference tests share: a small random Mamba LM on a
 * chosen backend, the backends to run on, and host helpers (argmax, max relative error). */
#ifndef KRAIT_INFER_TESTUTIL_H
#define KRAIT_INFER_TESTUTIL_H

#include <stdint.h>

#include "model.h"

/* A model of width D, NL layers, vocabulary V (padded to 8), N 4 or 8, with weights drawn so
 * every path matters (init std 0.5, dt in [0.05, 0.5], every parameter jittered) from seed. */
krait_model *it_tiny_model(krait_backend *be, int D, int NL, int V, uint64_t seed);
/* The same with dt drawn from [dt_min, dt_max] (small dt: long memory). */
krait_model *it_tiny_model_dt(krait_backend *be, int D, int NL, int V, uint64_t seed, float dt_min, float dt_max);
void it_tiny_model_free(krait_model *m);

/* Multiply every out_proj weight by f: the mixers (and so the history) weigh more against the
 * embedding of the current token, which otherwise dominates a random tied-head model. */
void it_amplify_mixer(krait_model *m, float f);

/* The backends the inference tests run on: "cpu-ref", then "cpu" (the fast backend). */
#define IT_NBACKENDS 2
krait_backend *it_backend(int i);
const char *it_backend_name(int i);

int32_t it_argmax(const float *x, int n);   /* lowest index on ties */
/* max_i |a - b| / (atol + max_j |b|): an error measured against the scale of the values. */
double it_scaled_err(const float *a, const float *b, size_t n);

#endif
