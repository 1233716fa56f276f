/* kernels/cpu/cpu_elementwise.c — fast CPU softplus-with-bias and SiLU gate, forward and
 * backward (same math as ref_elementwise.c) with the vectorised exp/log1p/sigmoid of cpu_simd.h,
 * and dropout (threads only: the mask's 64-bit hash does not vectorise with these helpers).
 *
 * Rows are split among threads, except in softplus_bwd, which splits 16-channel column blocks so
 * that each bias gradient is summed by one thread in row order (deterministic for any thread
 * count). Each element's inputs are read before its outputs are written, so outputs may alias
 * inputs element-wise. Not here: the SiLU of the conv (fused into cpu_conv.c).
 */
#include "cpu_internal.h"
#include "cpu_simd.h"

#include <omp.h>

static inline vf bias_or_zero(const float *bias, int e, int w)
{
    return bias ? vload_n(bias + e, w) : vset1(0.0f);
}

krait_status softplus_fwd_cpu(krait_backend *be,
                              void *delta_,            /* (M, E) */
                              const void *x_,          /* (M, E) */
                              const float *bias,       /* (E) or NULL */
                              int M, int E)
{
    float *delta = delta_;
    const float *x = x_;
#pragma omp parallel for num_threads(cpu_threads_for(be, (double)M * E * 4)) schedule(static)
    for (int r = 0; r < M; r++)
        for (int e = 0; e < E; e += VL) {
            int w = E - e < VL ? E - e : VL;
            size_t i = (size_t)r * E + e;
            vstore_n(delta + i, vsoftplus(vload_n(x + i, w) + bias_or_zero(bias, e, w)), w);
        }
    return KRAIT_STATUS_OK;
}

krait_status softplus_bwd_cpu(krait_backend *be,
                              void *dx_,               /* (M, E), may alias ddelta */
                              float *dbias,            /* (E) += or NULL */
                              const void *ddelta_,     /* (M, E) */
                              const void *x_,          /* (M, E) */
                              const float *bias,       /* (E) or NULL */
                              int M, int E)
{
    float *dx = dx_;
    const float *ddelta = ddelta_, *x = x_;
    int nblk = (E + VL - 1) / VL;
#pragma omp parallel num_threads(cpu_threads_for(be, (double)M * E * 4))
    {
        int lo, hi;
        cpu_split(nblk, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        for (int r = 0; r < M; r++)
            for (int blk = lo; blk < hi; blk++) {
                int e = blk * VL, w = E - e < VL ? E - e : VL;
                size_t i = (size_t)r * E + e;
                vf g = vload_n(ddelta + i, w) * vsigmoid(vload_n(x + i, w) + bias_or_zero(bias, e, w));
                vstore_n(dx + i, g, w);
                if (dbias) vstore_n(dbias + e, vload_n(dbias + e, w) + g, w);
            }
    }
    return KRAIT_STATUS_OK;
}

krait_status gate_fwd_cpu(krait_backend *be,
                          void *out_,                  /* (M, E) */
                          const void *y_,              /* (M, E) */
                          const void *z_, int ldz,     /* (M, E) row stride ldz */
                          int M, int E)
{
    float *out = out_;
    const float *y = y_, *z = z_;
#pragma omp parallel for num_threads(cpu_threads_for(be, (double)M * E * 2)) schedule(static)
    for (int r = 0; r < M; r++)
        for (int e = 0; e < E; e += VL) {
            int w = E - e < VL ? E - e : VL;
            vf zv = vload_n(z + (size_t)r * ldz + e, w);
            vstore_n(out + (size_t)r * E + e, vload_n(y + (size_t)r * E + e, w) * (zv * vsigmoid(zv)), w);
        }
    return KRAIT_STATUS_OK;
}

krait_status gate_bwd_cpu(krait_backend *be,
                          void *dy_,                   /* (M, E) */
                          void *dz_, int ldz,          /* (M, E) row stride ldz */
                          const void *dout_,           /* (M, E) */
                          const void *y_, const void *z_, /* (M, E); z row stride ldz */
                          int M, int E)
{
    float *dy = dy_, *dz = dz_;
    const float *dout = dout_, *y = y_, *z = z_;
#pragma omp parallel for num_threads(cpu_threads_for(be, (double)M * E * 3)) schedule(static)
    for (int r = 0; r < M; r++)
        for (int e = 0; e < E; e += VL) {
            int w = E - e < VL ? E - e : VL;
            size_t i = (size_t)r * E + e, iz = (size_t)r * ldz + e;
            vf g = vload_n(dout + i, w), yv = vload_n(y + i, w), zv = vload_n(z + iz, w);
            vf s = vsigmoid(zv);
            vstore_n(dy + i, g * (zv * s), w);
            vstore_n(dz + iz, g * yv * (s * (1.0f + zv * (1.0f - s))), w);
        }
    return KRAIT_STATUS_OK;
}

krait_status dropout_cpu(krait_backend *be, void *x_, int f32, size_t n, uint32_t threshold, float scale,
                         uint64_t seed)
{
    (void)f32;
    float *x = x_;
    const long nn = (long)n;
#pragma omp parallel for num_threads(cpu_threads_for(be, 2.0 * nn)) schedule(static)
    for (long i = 0; i < nn; i++) x[i] = krait_dropout_keep(seed, (uint64_t)i, threshold) ? x[i] * scale : 0.0f;
    return KRAIT_STATUS_OK;
}
