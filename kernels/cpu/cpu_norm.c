/* kernels/cpu/cpu_norm.c — fast CPU embedding and fused residual-add + RMSNorm (same math as
 * ref_norm.c), OpenMP over rows with 16-lane vector loops.
 *
 * Determinism: embedding_bwd splits the D columns among threads and each thread walks the rows
 * in order, so every element of dW receives its additions in row order whatever the thread
 * count. The RMSNorm weight gradient is summed per thread over a static row range into scratch
 * and the partials are added in thread order (deterministic for a given thread count).
 * Row reductions are fp32 in 16 lanes, then the lanes as a fixed tree (the forward sum of squares
 * again in double when it overflows fp32; the backward works on the normalised row r * rstd, so
 * neither rstd^2 nor sum dy w r leaves fp32's range).
 * Not here: LayerNorm (Mamba uses RMSNorm only).
 */
#include "cpu_internal.h"
#include "cpu_simd.h"

#include <math.h>
#include <omp.h>
#include <string.h>

size_t norm_scratch_cpu(const krait_dims *d, int nthreads)
{
    return (size_t)nthreads * (size_t)(d->D > 0 ? d->D : 0);
}

krait_status embedding_fwd_cpu(krait_backend *be,
                               float *out,            /* (M, D) */
                               const int32_t *ids,    /* (M) */
                               const float *W,        /* (V, D) */
                               int M, int D)
{
#pragma omp parallel for num_threads(cpu_threads_for(be, (double)M * D)) schedule(static)
    for (int r = 0; r < M; r++)
        memcpy(out + (size_t)r * D, W + (size_t)ids[r] * D, (size_t)D * sizeof(float));
    return KRAIT_STATUS_OK;
}

krait_status embedding_bwd_cpu(krait_backend *be,
                               float *dW,             /* (V, D) += */
                               const float *dout,     /* (M, D) */
                               const int32_t *ids,    /* (M) */
                               int M, int D)
{
#pragma omp parallel num_threads(cpu_threads_for(be, (double)M * D))
    {
        int lo, hi;
        cpu_split(D, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        for (int r = 0; r < M; r++) {
            float *dst = dW + (size_t)ids[r] * D;
            const float *src = dout + (size_t)r * D;
#pragma omp simd
            for (int d = lo; d < hi; d++) dst[d] += src[d];
        }
    }
    return KRAIT_STATUS_OK;
}

/* sum_d a[d] b[d] in 16 lanes, then the lanes as a fixed tree. */
static float dot_lanes(const float *a, const float *b, int D)
{
    vf acc = vset1(0.0f);
    for (int d = 0; d < D; d += VL) {
        int w = D - d < VL ? D - d : VL;
        acc = acc + vload_n(a + d, w) * vload_n(b + d, w);
    }
    return vhsum(acc);
}

krait_status add_rmsnorm_fwd_cpu(krait_backend *be,
                                 float *r_out,        /* (M, D) */
                                 void *y_,            /* (M, D) */
                                 float *rstd,         /* (M) */
                                 const float *r_in,   /* (M, D) */
                                 const void *x_,      /* (M, D) or NULL */
                                 const float *w,      /* (D) */
                                 int M, int D, float eps)
{
    float *y = y_;
    const float *x = x_;
#pragma omp parallel for num_threads(cpu_threads_for(be, (double)M * D * 3)) schedule(static)
    for (int r = 0; r < M; r++) {
        size_t o = (size_t)r * D;
        if (x) {
#pragma omp simd
            for (int d = 0; d < D; d++) r_out[o + d] = r_in[o + d] + x[o + d];
        } else if (r_out != r_in) {
            memcpy(r_out + o, r_in + o, (size_t)D * sizeof(float));
        }
        float ss = dot_lanes(r_out + o, r_out + o, D), s;
        if (isinf(ss)) { /* a square past fp32 (|r| > ~1e19): the sum again in double, as ref_norm.c */
            double sd = 0.0;
            for (int d = 0; d < D; d++) sd += (double)r_out[o + d] * r_out[o + d];
            s = (float)(1.0 / sqrt(sd / D + (double)eps));
        } else {
            s = 1.0f / sqrtf(ss / (float)D + eps);
        }
        rstd[r] = s;
#pragma omp simd
        for (int d = 0; d < D; d++) y[o + d] = r_out[o + d] * s * w[d];
    }
    return KRAIT_STATUS_OK;
}

krait_status add_rmsnorm_bwd_cpu(krait_backend *be,
                                 float *dr,           /* (M, D) in/out */
                                 void *dx_,           /* (M, D) or NULL, may alias dr */
                                 float *dw,           /* (D) += */
                                 const void *dy_,     /* (M, D) */
                                 const float *r_out,  /* (M, D) */
                                 const float *rstd,   /* (M) */
                                 const float *w,      /* (D) */
                                 int M, int D)
{
    float *dx = dx_;
    const float *dy = dy_;
    int nt = cpu_threads_for(be, (double)M * D * 4);
    krait_dims dims = { .D = D };
    float *part = cpu_scratch(be, norm_scratch_cpu(&dims, nt), "add_rmsnorm_bwd");
    if (!part) return KRAIT_STATUS_UNSUPPORTED;
#pragma omp parallel num_threads(nt)
    {
        int nth = omp_get_num_threads(), tid = omp_get_thread_num(), lo, hi;
        float *mine = part + (size_t)tid * D;
        memset(mine, 0, (size_t)D * sizeof(float));
        cpu_split(M, nth, tid, &lo, &hi);
        for (int r = lo; r < hi; r++) {
            size_t o = (size_t)r * D;
            /* in terms of the normalised row n = r s (of order 1 whatever r's scale): s^2 and
             * sum dy w r would under- or overflow fp32 for rows far from 1 */
            const float s = rstd[r];
            const vf vs = vset1(s);
            vf acc = vset1(0.0f);
            for (int d = 0; d < D; d += VL) {
                int wd = D - d < VL ? D - d : VL;
                acc = acc + vload_n(dy + o + d, wd) * vload_n(w + d, wd) * (vload_n(r_out + o + d, wd) * vs);
            }
            const float c = vhsum(acc) / (float)D;
#pragma omp simd
            for (int d = 0; d < D; d++) {
                const float nd = r_out[o + d] * s;
                dr[o + d] += s * (dy[o + d] * w[d] - c * nd);
                mine[d] += dy[o + d] * nd;
            }
            if (dx && dx != dr) memcpy(dx + o, dr + o, (size_t)D * sizeof(float));
        }
#pragma omp barrier
        cpu_split(D, nth, tid, &lo, &hi);
        for (int d = lo; d < hi; d++) {
            float s = 0.0f;
            for (int th = 0; th < nth; th++) s += part[(size_t)th * D + d];
            dw[d] += s;
        }
    }
    return KRAIT_STATUS_OK;
}
