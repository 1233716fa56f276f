/* core/infer.h — recurrent inference: chunked prefill and the O(1) recurrent step over a
 * per-sequence state (state.h: its allocation, views and row operations).
 *
 * The model (model.h) is immutable; each sequence's memory is one row of a krait_state: per
 * layer its K-1 last conv inputs and its (E, N) SSM state, fp32 always. One model serves many
 * states, one call at a time: a backend (and so every model, krait_infer and state on it) is
 * used by one thread at a time, since its ops share the backend's scratch (two threads need two
 * backends; krait_model_share gives each its view of one model's weights, without a copy:
 * tests/infer/test_share.c decodes on four threads at once). A krait_infer is the scratch a run of the model needs:
 * activations for a prefill chunk and for one decode step of up to max_batch rows, and a logits
 * buffer. It is allocated once; prefill and step allocate nothing.
 *
 * Lifetimes: a krait_infer and a krait_state borrow their model, which borrows its backend; free
 * them before the model, and the model before the backend.
 *
 *   prefill  feeds a prompt of any length chunk by chunk with the state carried (the parallel
 *            scan inside each chunk): memory depends on the chunk, never on the length.
 *   step     feeds one token per row: the model forward with L = 1 through the same backend
 *            ops, conv and scan reading and writing the state in place.
 * Both return the logits of the next token per row (host fp32). Rows never interact: a row's
 * results do not depend on what the other rows hold.
 *
 * On a backend with the optional members of backend.h, a step uses the fused decode ops
 * (forward.c), may sample on the device (krait_step_sample: only the B sampled ids cross to the
 * host, not B x V logits), and is recorded once as a graph and replayed (CUDA graphs): a key of
 * (batch, what the step returns, sampling scalars, the state's pointers) is run eagerly the first
 * time, recorded the second, replayed after. Replays are bit-identical to eager runs. Views that
 * always start at the same row of the same parent (generate.c packs live rows to the front)
 * keep their pointers, so their graphs stay valid. KRAIT_GRAPHS=0 turns graphs off.
 *
 * This file does not sample (sample.h) or run the generation loop (generate.h). */
#ifndef KRAIT_INFER_H
#define KRAIT_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "sample.h"
#include "state.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- prefill and step ------------------------------------------------------------------------ */
typedef struct krait_infer krait_infer;

/* Scratch for decode steps of up to max_batch rows and prefill chunks of `chunk` tokens
 * (chunk <= 0: 512). NULL (logged) on failure. It borrows m: free it before m. */
krait_infer *krait_infer_init(const krait_model *m, int max_batch, int chunk);
/* About the bytes krait_infer_init(m, max_batch, chunk) allocates (SIZE_MAX: too large). */
size_t krait_infer_bytes(const krait_model *m, int max_batch, int chunk);
void krait_infer_free(krait_infer *inf);
const krait_model *krait_infer_model(const krait_infer *inf);
int krait_infer_max_batch(const krait_infer *inf);
int krait_infer_chunk(const krait_infer *inf);

/* Feed tokens (B, L) to the B = st->B sequences of st, continuing from their current state,
 * chunk by chunk (each row on its own). logits (B, V), or NULL, receives the logits after each
 * row's last token. L >= 1; B may exceed max_batch. */
krait_status krait_prefill(krait_infer *inf, float *logits, krait_state *st, const int32_t *tokens,
                           int B, long L);

/* One token per row: tokens (st->B), st->B <= max_batch. logits (st->B, V), or NULL, receives the
 * logits of the next token. No allocation. */
krait_status krait_step(krait_infer *inf, float *logits, krait_state *st, const int32_t *tokens);

/* ---- sampling on the device (backends with sample_rows) ------------------------------------ */
/* The device sampler keeps per row (up to max_batch) a seed and a counter (the counter-based
 * generator of backend.h) and the set of seen ids (for the repetition penalty). Greedy picks
 * the same token as krait_sampler on the same logits; stochastic draws follow the same
 * distribution with another generator (krait_sample_uniform), so they differ from the host's. */
/* 1 if p can be sampled on the device here (the backend has sample_rows; no top-k > 1, no top-p < 1). */
int krait_infer_device_sampling(const krait_infer *inf, const krait_sample_params *p);
/* Row `row`: seed, counter 0, seen = ids[0..n) (the prompt). */
krait_status krait_infer_sampler_reset(krait_infer *inf, int row, uint64_t seed, const int32_t *ids, int n);
/* Row dst = row src (packing live rows). */
krait_status krait_infer_sampler_move(krait_infer *inf, int dst, int src);
/* next (B, host) = one token per row of host logits (B, V), rows [0, B) of the sampler. */
krait_status krait_infer_sample_logits(krait_infer *inf, int32_t *next, const float *logits, int B,
                                       const krait_sample_params *p);
/* krait_step + device sampling: next (st->B, host) receives the sampled tokens; row b of st
 * uses sampler row b. */
krait_status krait_step_sample(krait_infer *inf, int32_t *next, krait_state *st, const int32_t *tokens,
                               const krait_sample_params *p);

/* ---- graphs ---------------------------------------------------------------------------------- */
typedef struct krait_graph_stats {
    long long captures;   /* steps recorded */
    long long replays;    /* steps run from a recording */
    long long eager;      /* steps run op by op */
    long long failures;   /* recordings that failed (graphs then turn off) */
} krait_graph_stats;
/* Graphs on (default where the backend has them) or off (frees the recordings). */
void krait_infer_set_graphs(krait_infer *inf, int on);
int krait_infer_graphs(const krait_infer *inf);
krait_graph_stats krait_infer_graph_stats(const krait_infer *inf);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_INFER_H */
