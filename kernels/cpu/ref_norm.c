/* kernels/cpu/ref_norm.c — reference embedding lookup and fused residual-add + RMSNorm, forward
 * and backward, as written in backend.h.
 *
 * Row reductions (mean of squares, the dot product in the norm backward) accumulate in double so
 * that the reference is at least as accurate as anything tested against it. No threads, no SIMD.
 */
#include "cpu_internal.h"

#include <math.h>

krait_status embedding_fwd_ref(krait_backend *be,
                               float *out,            /* (M, D) */
                               const int32_t *ids,    /* (M) */
                               const float *W,        /* (V, D) */
                               int M, int D)
{
    (void)be;
    for (int r = 0; r < M; r++) {
        const float *src = W + (size_t)ids[r] * D;
        for (int d = 0; d < D; d++) out[(size_t)r * D + d] = src[d];
    }
    return KRAIT_STATUS_OK;
}

krait_status embedding_bwd_ref(krait_backend *be,
                               float *dW,             /* (V, D) += */
                               const float *dout,     /* (M, D) */
                               const int32_t *ids,    /* (M) */
                               int M, int D)
{
    (void)be;
    for (int r = 0; r < M; r++) {
        float *dst = dW + (size_t)ids[r] * D;
        for (int d = 0; d < D; d++) dst[d] += dout[(size_t)r * D + d];
    }
    return KRAIT_STATUS_OK;
}

krait_status add_rmsnorm_fwd_ref(krait_backend *be,
                                 float *r_out,        /* (M, D) */
                                 void *y_,            /* (M, D) */
                                 float *rstd,         /* (M) */
                                 const float *r_in,   /* (M, D) */
                                 const void *x_,      /* (M, D) or NULL */
                                 const float *w,      /* (D) */
                                 int M, int D, float eps)
{
    (void)be;
    float *y = y_;
    const float *x = x_;
    for (int r = 0; r < M; r++) {
        size_t o = (size_t)r * D;
        double ss = 0.0;
        for (int d = 0; d < D; d++) {
            float v = x ? r_in[o + d] + x[o + d] : r_in[o + d];
            r_out[o + d] = v;
            ss += (double)v * v;
        }
        float s = (float)(1.0 / sqrt(ss / D + (double)eps));
        rstd[r] = s;
        for (int d = 0; d < D; d++) y[o + d] = r_out[o + d] * s * w[d];
    }
    return KRAIT_STATUS_OK;
}

/* With y_d = w_d r_d s and s = (mean(r^2) + eps)^(-1/2):
 *   dL/dr_j = s * (dy_j w_j - s^2 r_j * (1/D) sum_i dy_i w_i r_i),   dL/dw_j = sum_rows dy_j r_j s. */
krait_status add_rmsnorm_bwd_ref(krait_backend *be,
                                 float *dr,           /* (M, D) in/out */
                                 void *dx_,           /* (M, D) or NULL, may alias dr */
                                 float *dw,           /* (D) += */
                                 const void *dy_,     /* (M, D) */
                                 const float *r_out,  /* (M, D) */
                                 const float *rstd,   /* (M) */
                                 const float *w,      /* (D) */
                                 int M, int D)
{
    (void)be;
    float *dx = dx_;
    const float *dy = dy_;
    for (int r = 0; r < M; r++) {
        size_t o = (size_t)r * D;
        double s = rstd[r], dot = 0.0;
        for (int d = 0; d < D; d++) dot += (double)dy[o + d] * w[d] * r_out[o + d];
        double c = s * s * dot / D;
        for (int d = 0; d < D; d++) {
            double g = s * ((double)dy[o + d] * w[d] - c * r_out[o + d]);
            dr[o + d] = (float)(dr[o + d] + g);
            dw[d] += (float)((double)dy[o + d] * r_out[o + d] * s);
        }
        if (dx && dx != dr)
            for (int d = 0; d < D; d++) dx[o + d] = dr[o + d];
    }
    return KRAIT_STATUS_OK;
}
