/* kernels/cpu/ref_elementwise.c — reference element-wise ops: softplus with a per-channel bias
 * (the dt path into the scan), the SiLU gate out = y * silu(z), forward and backward, and
 * dropout.
 *
 * Each element is computed in double from its fp32 inputs and rounded once. Both inputs of an
 * element are read before any output is written, so outputs may alias inputs element-wise.
 * Bias gradients are column sums accumulated in double over all rows. No threads, no SIMD.
 */
#include "cpu_internal.h"

krait_status softplus_fwd_ref(krait_backend *be,
                              void *delta_,            /* (M, E) */
                              const void *x_,          /* (M, E) */
                              const float *bias,       /* (E) or NULL */
                              int M, int E)
{
    (void)be;
    float *delta = delta_;
    const float *x = x_;
    for (int r = 0; r < M; r++)
        for (int e = 0; e < E; e++) {
            size_t i = (size_t)r * E + e;
            float v = bias ? x[i] + bias[e] : x[i];   /* the bias is added in fp32 */
            delta[i] = (float)ref_softplus(v);
        }
    return KRAIT_STATUS_OK;
}

krait_status softplus_bwd_ref(krait_backend *be,
                              void *dx_,               /* (M, E), may alias ddelta */
                              float *dbias,            /* (E) += or NULL */
                              const void *ddelta_,     /* (M, E) */
                              const void *x_,          /* (M, E) */
                              const float *bias,       /* (E) or NULL */
                              int M, int E)
{
    (void)be;
    float *dx = dx_;
    const float *ddelta = ddelta_, *x = x_;
    for (int e = 0; e < E; e++) {
        double db = 0.0;
        for (int r = 0; r < M; r++) {
            size_t i = (size_t)r * E + e;
            float v = bias ? x[i] + bias[e] : x[i];
            float g = (float)(ddelta[i] * ref_sigmoid(v));
            dx[i] = g;
            db += g;
        }
        if (dbias) dbias[e] += (float)db;
    }
    return KRAIT_STATUS_OK;
}

krait_status gate_fwd_ref(krait_backend *be,
                          void *out_,                  /* (M, E) */
                          const void *y_,              /* (M, E) */
                          const void *z_, int ldz,     /* (M, E) row stride ldz */
                          int M, int E)
{
    (void)be;
    float *out = out_;
    const float *y = y_, *z = z_;
    for (int r = 0; r < M; r++)
        for (int e = 0; e < E; e++)
            out[(size_t)r * E + e] = (float)(y[(size_t)r * E + e] * ref_silu(z[(size_t)r * ldz + e]));
    return KRAIT_STATUS_OK;
}

krait_status gate_bwd_ref(krait_backend *be,
                          void *dy_,                   /* (M, E) */
                          void *dz_, int ldz,          /* (M, E) row stride ldz */
                          const void *dout_,           /* (M, E) */
                          const void *y_, const void *z_, /* (M, E); z row stride ldz */
                          int M, int E)
{
    (void)be;
    float *dy = dy_, *dz = dz_;
    const float *dout = dout_, *y = y_, *z = z_;
    for (int r = 0; r < M; r++)
        for (int e = 0; e < E; e++) {
            double g = dout[(size_t)r * E + e], yv = y[(size_t)r * E + e], zv = z[(size_t)r * ldz + e];
            dy[(size_t)r * E + e] = (float)(g * ref_silu(zv));
            dz[(size_t)r * ldz + e] = (float)(g * yv * ref_dsilu(zv));
        }
    return KRAIT_STATUS_OK;
}

/* The act dtype is fp32 here, so f32 does not change the layout. */
krait_status dropout_ref(krait_backend *be, void *x_, int f32, size_t n, uint32_t threshold, float scale,
                         uint64_t seed)
{
    (void)be;
    (void)f32;
    float *x = x_;
    for (size_t i = 0; i < n; i++) x[i] = krait_dropout_keep(seed, i, threshold) ? x[i] * scale : 0.0f;
    return KRAIT_STATUS_OK;
}
