/* kernels/cpu/cpu_linear.c — fast CPU dense layer: every product is one OpenBLAS cblas_sgemm
 * (row-major; W is (Nout, K) with leading dimension K):
 *   forward    Y  = beta Y + X W^T     NoTrans x Trans
 *   bwd data   dX = beta dX + dY W     NoTrans x NoTrans
 *   bwd weight dW += dY^T X            Trans x NoTrans, beta 1
 * Bias and its gradient are separate passes (OpenMP, called outside any BLAS call). dbias sums
 * the rows in order per column, so it is deterministic. OpenBLAS gemm never reads C when beta is
 * 0 (tested with NaN-filled outputs). Not here: any GEMM of our own; no BLAS call is made from
 * inside an OpenMP region (the OpenMP OpenBLAS build would nest teams).
 */
#include "cpu_internal.h"

#include <cblas.h>
#include <omp.h>

krait_status linear_fwd_cpu(krait_backend *be,
                            void *Y_, int ldy,         /* (M, Nout) */
                            const void *X_, int ldx,   /* (M, K) */
                            const void *W_,            /* (Nout, K) */
                            const float *bias,         /* (Nout) or NULL */
                            int M, int Nout, int K, float beta)
{
    float *Y = Y_;
    const float *X = X_, *W = W_;
    if (M <= 0 || Nout <= 0) return KRAIT_STATUS_OK;
    if (M <= LINEAR_SMALL_M_CPU) /* decode-step shapes: cpu_decode.c */
        return linear_fwd_small_cpu(be, Y_, ldy, X_, ldx, W_, bias, M, Nout, K, beta);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, Nout, K, 1.0f, X, ldx, W, K, beta, Y, ldy);
    if (bias) {
#pragma omp parallel for num_threads(cpu_threads_for(be, (double)M * Nout)) schedule(static)
        for (int i = 0; i < M; i++) {
            float *y = Y + (size_t)i * ldy;
#pragma omp simd
            for (int j = 0; j < Nout; j++) y[j] += bias[j];
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status linear_bwd_data_cpu(krait_backend *be,
                                 void *dX_, int ldx,       /* (M, K) */
                                 const void *dY_, int ldy, /* (M, Nout) */
                                 const void *W_,           /* (Nout, K) */
                                 int M, int Nout, int K, float beta)
{
    (void)be;
    float *dX = dX_;
    const float *dY = dY_, *W = W_;
    if (M <= 0 || K <= 0) return KRAIT_STATUS_OK;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, Nout, 1.0f, dY, ldy, W, K, beta,
                dX, ldx);
    return KRAIT_STATUS_OK;
}

krait_status linear_bwd_weight_cpu(krait_backend *be,
                                   float *dW,                /* (Nout, K) += */
                                   float *dbias,             /* (Nout) += or NULL */
                                   const void *dY_, int ldy, /* (M, Nout) */
                                   const void *X_, int ldx,  /* (M, K) */
                                   int M, int Nout, int K)
{
    const float *dY = dY_, *X = X_;
    if (M <= 0 || Nout <= 0) return KRAIT_STATUS_OK;
    if (K > 0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Nout, K, M, 1.0f, dY, ldy, X, ldx, 1.0f,
                    dW, K);
    if (dbias) {
#pragma omp parallel num_threads(cpu_threads_for(be, (double)M * Nout))
        {
            int lo, hi;
            cpu_split(Nout, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
            for (int i = 0; i < M; i++) {
                const float *g = dY + (size_t)i * ldy;
#pragma omp simd
                for (int j = lo; j < hi; j++) dbias[j] += g[j];
            }
        }
    }
    return KRAIT_STATUS_OK;
}
