/* kernels/cpu/cpu_loss.c — fast CPU fused softmax cross-entropy (same contract as ref_loss.c).
 *
 * Rows in parallel. Each row is read once for its statistics: blocks of 512 logits (L1-sized)
 * update a lane-wise running max (which is also the argmax, with the lowest index on ties) and
 * a lane-wise sum of exp rescaled to that max (online softmax); the lanes are combined in lane
 * order at the end. A second pass, while the row is still in L2, writes the scaled gradient.
 * The target logit is read before the gradient pass, so dlogits may alias logits.
 * Not here: label smoothing, or averaging over rows (the caller chooses scale).
 */
#include "cpu_internal.h"
#include "cpu_simd.h"

#include <float.h>
#include <math.h>

#define CE_BLOCK 512

/* lanes [0, w) of p, the rest set to fill. */
static inline vf vload_fill(const float *p, int w, float fill)
{
    if (w == VL) return vload(p);
    vf v = vset1(fill);
    for (int j = 0; j < w; j++) v[j] = p[j];
    return v;
}

static inline vi lane_index(void)
{
    vi idx;
    for (int j = 0; j < VL; j++) idx[j] = j;
    return idx;
}

krait_status cross_entropy_cpu(krait_backend *be,
                               float *loss,            /* (M) */
                               void *dlogits_,         /* (M, V) row stride ld, or NULL */
                               int32_t *pred,          /* (M) or NULL */
                               const void *logits_,    /* (M, V) row stride ld */
                               const int32_t *targets, /* (M) */
                               int M, int V, int ld, float scale)
{
    float *dlogits = dlogits_;
    const float *logits = logits_;
    const vi lanes = lane_index();
#pragma omp parallel for num_threads(cpu_threads_for(be, (double)M * V * 3)) schedule(static)
    for (int r = 0; r < M; r++) {
        const float *x = logits + (size_t)r * ld;
        int tgt = targets[r];
        float xt = tgt >= 0 ? x[tgt] : 0.0f;
        vf m = vset1(-FLT_MAX), s = vset1(0.0f);
        vi arg = { 0 };
        for (int v0 = 0; v0 < V; v0 += CE_BLOCK) {
            int v1 = v0 + CE_BLOCK < V ? v0 + CE_BLOCK : V;
            vf mb = m;
            for (int v = v0; v < v1; v += VL) {
                int w = v1 - v < VL ? v1 - v : VL;
                vf xv = vload_fill(x + v, w, -FLT_MAX);
                vi gt = xv > mb;
                mb = vselect(gt, xv, mb);
                arg = (gt & (lanes + v)) | (~gt & arg);
            }
            s = s * vexp(m - mb);
            for (int v = v0; v < v1; v += VL) {
                int w = v1 - v < VL ? v1 - v : VL;
                vf e = vexp(vload_fill(x + v, w, 0.0f) - mb);
                if (w < VL) e = vselect(lanes < w, e, vset1(0.0f));
                s = s + e;
            }
            m = mb;
        }
        float mx = m[0];
        int best = arg[0];
        for (int j = 1; j < VL; j++)
            if (m[j] > mx || (m[j] == mx && arg[j] < best)) {
                mx = m[j];
                best = arg[j];
            }
        float sum = 0.0f;
        for (int j = 0; j < VL; j++) sum += s[j] * expf(m[j] - mx);
        /* lse = mx + ls, never formed: mx ~ 1e5 would round it by 0.008, and a confident target
         * (loss ~1e-6) would cancel to 0 in lse - xt */
        const float ls = logf(sum);
        loss[r] = tgt >= 0 ? (mx - xt) + ls : 0.0f;
        if (pred) pred[r] = best;
        if (!dlogits) continue;
        float *dx = dlogits + (size_t)r * ld;
        if (tgt < 0) {
            for (int v = 0; v < V; v++) dx[v] = 0.0f;
            continue;
        }
        for (int v = 0; v < V; v += VL) {
            int w = V - v < VL ? V - v : VL;
            vstore_n(dx + v, vexp((vload_n(x + v, w) - mx) - ls) * scale, w);
        }
        dx[tgt] = expm1f((xt - mx) - ls) * scale;
    }
    return KRAIT_STATUS_OK;
}
