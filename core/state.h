/* core/state.h — the per-sequence recurrent state of the Mamba LM (krait_state): allocation,
 * views onto rows of another state, and the row operations (reset, copy, fork, gather, scatter,
 * download).
 *
 * A state of B sequences holds, per layer, each sequence's K-1 last conv inputs (B, K-1, E) and
 * its SSM state (B, E, N), fp32 always, in the model's backend memory. Rows are contiguous inside
 * each layer's arrays, so rows [r, r + n) of every layer form a state of n sequences: a view has
 * buf == NULL and points into its parent. Every row operation is two backend copies (or zeroings)
 * per layer.
 *
 * Lifetimes: a state borrows its model, which borrows its backend; free the state before the
 * model, and a view before its parent. A state is used by one thread at a time, like its backend.
 *
 * This file does not run the model over a state (model.h: krait_model_forward; infer.h: prefill
 * and step) and does not save states to files. */
#ifndef KRAIT_STATE_H
#define KRAIT_STATE_H

#include <stddef.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_model krait_model; /* model.h */

typedef struct krait_state {
    int B;
    size_t per_seq;       /* floats per sequence over all layers */
    float *buf;           /* device, layer-major: layer i at i*B*((K-1)*E + E*N), its conv (B, K-1, E) then
                           * its SSM (B, E, N), so one sequence is not contiguous; NULL in a view */
    float **conv;         /* (NL) -> (B, K-1, E) */
    float **ssm;          /* (NL) -> (B, E, N) */
} krait_state;

/* A zeroed state of B sequences on m's backend. NULL on failure. */
krait_state *krait_state_init(const krait_model *m, int B);
/* Frees a state or a view (a view's parent is not touched). NULL is a no-op. */
void krait_state_free(const krait_model *m, krait_state *s);
/* Zero every row (fresh sequences). */
krait_status krait_state_reset(const krait_model *m, krait_state *s);

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

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_STATE_H */
