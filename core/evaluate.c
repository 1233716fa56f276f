/* core/evaluate.c — chunked evaluation with the recurrent state carried; see evaluate.h. */
#include "evaluate.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

int krait_eval_bucket(long long p)
{
    int b = 0;
    for (unsigned long long x = (unsigned long long)p + 1; x > 1; x >>= 1) b++;
    return b < KRAIT_EVAL_BUCKETS ? b : KRAIT_EVAL_BUCKETS - 1;
}

long long krait_eval_bucket_start(int b) { return (1LL << b) - 1; }

krait_status krait_eval_stream(const krait_model *m, int B, long L, int chunk, krait_token_fn fill,
                               void *ctx, krait_eval_result *res, krait_eval_progress_fn progress,
                               void *progress_user)
{
    if (chunk > L) chunk = (int)L;
    krait_status s = KRAIT_STATUS_NO_MEMORY;
    krait_acts *a = krait_acts_init(m, B, chunk, 0);
    krait_state *st = krait_state_init(m, B);
    size_t n = (size_t)B * chunk;
    int32_t *ids = malloc(n * sizeof *ids), *tg = malloc(n * sizeof *tg), *pred = malloc(n * sizeof *pred);
    float *loss = malloc(n * sizeof *loss);
    if (!a || !st || !ids || !tg || !pred || !loss) goto done;
    memset(res, 0, sizeof *res);
    for (long t0 = 0; t0 < L; t0 += chunk) {
        int len = L - t0 < chunk ? (int)(L - t0) : chunk;
        if ((s = krait_acts_set_len(a, len))) goto done;
        if ((s = fill(ctx, ids, tg, B, t0, len))) goto done;
        if ((s = krait_acts_set_batch(m, a, ids, tg))) goto done;
        if ((s = krait_model_forward(m, a, st))) goto done;
        double sum = 0;
        long nv = 0;
        if ((s = krait_lm_head(m, a, NULL, &sum, &nv, pred))) goto done;
        res->loss_sum += sum;
        res->n_scored += nv;
        for (int i = 0; i < B * len; i++) res->n_correct += tg[i] >= 0 && pred[i] == tg[i];
        if ((s = m->be->download(m->be, loss, a->loss, (size_t)B * len * sizeof *loss))) goto done;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < len; i++) {
                if (tg[b * len + i] < 0) continue;
                int k = krait_eval_bucket(t0 + i);
                res->bucket_loss[k] += loss[b * len + i];
                res->bucket_n[k]++;
            }
        if (progress) progress(progress_user, t0 + len, L);
    }
    s = KRAIT_STATUS_OK;
done:
    free(ids);
    free(tg);
    free(pred);
    free(loss);
    krait_state_free(m, st);
    krait_acts_free(m, a);
    return s;
}
