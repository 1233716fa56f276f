/* kernels/cpu/ref_loss.c — reference fused softmax cross-entropy over rows of logits: per-row
 * loss, the scaled gradient (softmax - onehot) written in place or elsewhere, and the argmax.
 *
 * Two passes per row (max, then sum of exp) in double. Rows whose target is negative are
 * ignored: loss 0 and a zero gradient row (their argmax is still reported). The gradient is
 * written only after the row's loss and argmax are known, so dlogits may alias logits.
 * No threads, no SIMD, no online (one-pass) softmax: the plain two-pass form.
 */
#include "cpu_internal.h"

#include <math.h>

krait_status cross_entropy_ref(krait_backend *be,
                               float *loss,            /* (M) */
                               void *dlogits_,         /* (M, V) row stride ld, or NULL */
                               int32_t *pred,          /* (M) or NULL */
                               const void *logits_,    /* (M, V) row stride ld */
                               const int32_t *targets, /* (M) */
                               int M, int V, int ld, float scale)
{
    (void)be;
    float *dlogits = dlogits_;
    const float *logits = logits_;
    for (int r = 0; r < M; r++) {
        const float *x = logits + (size_t)r * ld;
        int tgt = targets[r];
        int arg = 0;
        for (int v = 1; v < V; v++)
            if (x[v] > x[arg]) arg = v;
        double mx = x[arg], sum = 0.0;
        for (int v = 0; v < V; v++) sum += exp((double)x[v] - mx);
        /* relative to the maximum: mx + log(sum) would lose log(sum) once |mx| passes ~1e15 */
        double ls = log(sum);
        loss[r] = tgt >= 0 ? (float)((mx - x[tgt]) + ls) : 0.0f;
        if (pred) pred[r] = arg;
        if (dlogits) {
            float *dx = dlogits + (size_t)r * ld;
            for (int v = 0; v < V; v++) {
                double g = tgt >= 0 ? exp(((double)x[v] - mx) - ls) - (v == tgt ? 1.0 : 0.0) : 0.0;
                dx[v] = (float)(scale * g);
            }
        }
    }
    return KRAIT_STATUS_OK;
}
