/* kernels/cpu/ref_linear.c — reference dense layer: forward Y = beta Y + X W^T (+ bias), and the
 * two backward products dX = beta dX + dY W and dW += dY^T X (dbias += column sums of dY).
 *
 * Naive triple loops with double accumulators; no BLAS, no blocking. beta == 0 overwrites the
 * output without reading it, so an uninitialised (even NaN) output buffer is fine.
 */
#include "cpu_internal.h"

krait_status linear_fwd_ref(krait_backend *be,
                            void *Y_, int ldy,         /* (M, Nout) */
                            const void *X_, int ldx,   /* (M, K) */
                            const void *W_,            /* (Nout, K) */
                            const float *bias,         /* (Nout) or NULL */
                            int M, int Nout, int K, float beta)
{
    (void)be;
    float *Y = Y_;
    const float *X = X_, *W = W_;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < Nout; j++) {
            double acc = bias ? bias[j] : 0.0;
            for (int k = 0; k < K; k++) acc += (double)X[(size_t)i * ldx + k] * W[(size_t)j * K + k];
            float *yp = &Y[(size_t)i * ldy + j];
            *yp = beta != 0.0f ? (float)(beta * (double)*yp + acc) : (float)acc;
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status linear_bwd_data_ref(krait_backend *be,
                                 void *dX_, int ldx,       /* (M, K) */
                                 const void *dY_, int ldy, /* (M, Nout) */
                                 const void *W_,           /* (Nout, K) */
                                 int M, int Nout, int K, float beta)
{
    (void)be;
    float *dX = dX_;
    const float *dY = dY_, *W = W_;
    for (int i = 0; i < M; i++) {
        for (int k = 0; k < K; k++) {
            double acc = 0.0;
            for (int j = 0; j < Nout; j++) acc += (double)dY[(size_t)i * ldy + j] * W[(size_t)j * K + k];
            float *xp = &dX[(size_t)i * ldx + k];
            *xp = beta != 0.0f ? (float)(beta * (double)*xp + acc) : (float)acc;
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status linear_bwd_weight_ref(krait_backend *be,
                                   float *dW,                /* (Nout, K) += */
                                   float *dbias,             /* (Nout) += or NULL */
                                   const void *dY_, int ldy, /* (M, Nout) */
                                   const void *X_, int ldx,  /* (M, K) */
                                   int M, int Nout, int K)
{
    (void)be;
    const float *dY = dY_, *X = X_;
    for (int j = 0; j < Nout; j++) {
        for (int k = 0; k < K; k++) {
            double acc = 0.0;
            for (int i = 0; i < M; i++) acc += (double)dY[(size_t)i * ldy + j] * X[(size_t)i * ldx + k];
            dW[(size_t)j * K + k] += (float)acc;
        }
        if (dbias) {
            double acc = 0.0;
            for (int i = 0; i < M; i++) acc += dY[(size_t)i * ldy + j];
            dbias[j] += (float)acc;
        }
    }
    return KRAIT_STATUS_OK;
}
