/* core/evaluate.h — evaluation of sequences of any length in constant memory.
 *
 * B sequences of L tokens are fed in chunks of `chunk` tokens; the recurrent state (conv rows
 * and SSM state) is carried from one chunk to the next, so the result equals one forward over
 * the whole sequence while memory depends only on B x chunk. Tokens come from a callback, so
 * the sequence itself never has to be held either. */
#ifndef KRAIT_EVALUATE_H
#define KRAIT_EVALUATE_H

#include <stdint.h>

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fill ids and targets (B, len) row-major for positions [t0, t0 + len) of the B sequences.
 * targets < 0 are not scored. */
typedef krait_status (*krait_token_fn)(void *ctx, int32_t *ids, int32_t *targets, int B, long t0, int len);

/* Position buckets: the prediction made at position p (0-based within its sequence, so after
 * p + 1 tokens of context) falls in bucket floor(log2(p + 1)): bucket b covers positions
 * [2^b - 1, 2^(b+1) - 1). Fixed size, so memory does not grow with the length. */
#define KRAIT_EVAL_BUCKETS 48

typedef struct krait_eval_result {
    double loss_sum;      /* summed over scored positions (nats) */
    long long n_scored;
    long long n_correct;  /* argmax == target */
    double bucket_loss[KRAIT_EVAL_BUCKETS];   /* summed loss per position bucket */
    long long bucket_n[KRAIT_EVAL_BUCKETS];   /* scored positions per bucket */
} krait_eval_result;

/* Bucket of position p (see KRAIT_EVAL_BUCKETS) and its first position. */
int krait_eval_bucket(long long p);
long long krait_eval_bucket_start(int b);

/* Progress callback (may be NULL): positions done of L. */
typedef void (*krait_eval_progress_fn)(void *user, long done, long total);

/* res receives the totals and the per-position buckets (it is cleared first). Memory depends on
 * B x chunk only. */
krait_status krait_eval_stream(const krait_model *m, int B, long L, int chunk, krait_token_fn fill,
                               void *ctx, krait_eval_result *res, krait_eval_progress_fn progress,
                               void *progress_user);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_EVALUATE_H */
