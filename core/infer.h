/* core/infer.h — recurrent inference: operations on per-sequence state, chunked prefill and the
 * O(1) recurrent step.
 *
 * The model (model.h) is immutable; each sequence's memory is one row of a krait_state: per
 * layer its K-1 last conv inputs and its (E, N) SSM state, fp32 always. One model serves many
 * states. A krait_infer is the scratch one thread needs to run a model on states: activations
 * for a prefill chunk and for one decode step of up to max_batch rows, and a logits buffer. It
 * is allocated once; prefill and step allocate nothing.
 *
 *   prefill  feeds a prompt of any length chunk by chunk with the state carried (the parallel
 *            scan inside each chunk): memory depends on the chunk, never on the length.
 *   step     feeds one token per row: the model forward with L = 1 through the same backend
 *            ops, conv and scan reading and writing the state in place.
 * Both return the logits of the next token per row (host fp32). Rows never interact: a row's
 * results do not depend on what the other rows hold.
 *
 * This file does not sample (sample.h) or run the generation loop (generate.h). */
#ifndef KRAIT_INFER_H
#define KRAIT_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- state operations ------------------------------------------------------------------------ */
/* Bytes of state per sequence (all layers). */
size_t krait_state_bytes_per_seq(const krait_model *m);

/* A state of n rows aliasing rows [row, row + n) of parent: prefill and step on the view update
 * the parent. Free it with krait_state_free (the parent's memory is not touched); the parent
 * must outlive it. NULL on a bad range or out of memory. */
krait_state *krait_state_view(const krait_model *m, krait_state *parent, int row, int n);
/* Point an existing view at other rows (no allocation). */
krait_status krait_state_view_set(const krait_model *m, krait_state *view, krait_state *parent,
                                  int row, int n);

/* Zero rows [row, row + n) (a fresh sequence). */
krait_status krait_state_reset_rows(const krait_model *m, krait_state *s, int row, int n);
/* dst = src; both hold the same number of rows. */
krait_status krait_state_copy(const krait_model *m, krait_state *dst, const krait_state *src);
/* dst rows [dst_row, dst_row + n) = src rows [src_row, src_row + n). dst may be src when the
 * ranges do not overlap. */
krait_status krait_state_copy_rows(const krait_model *m, krait_state *dst, int dst_row,
                                   const krait_state *src, int src_row, int n);
/* Every row of dst = row src_row of src (fork one prompt's state into dst->B continuations). */
krait_status krait_state_fork(const krait_model *m, krait_state *dst, const krait_state *src, int src_row);
/* dst row j = src row idx[j] for j < dst->B (dst and src distinct). */
krait_status krait_state_gather(const krait_model *m, krait_state *dst, const krait_state *src,
                                const int *idx /* (dst->B) */);
/* dst row idx[j] = src row j for j < src->B (dst and src distinct; idx without repeats). */
krait_status krait_state_scatter(const krait_model *m, krait_state *dst, const int *idx /* (src->B) */,
                                 const krait_state *src);
/* host (B, per_seq) = the state, row by row: per layer its conv rows (K-1, E) then its SSM
 * state (E, N). For tests, inspection and saving. */
krait_status krait_state_download(const krait_model *m, float *host, const krait_state *s);

/* ---- prefill and step ------------------------------------------------------------------------ */
typedef struct krait_infer krait_infer;

/* Scratch for decode steps of up to max_batch rows and prefill chunks of `chunk` tokens
 * (chunk <= 0: 512). NULL (logged) on failure. */
krait_infer *krait_infer_init(const krait_model *m, int max_batch, int chunk);
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

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_INFER_H */
