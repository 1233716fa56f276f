/* kernels/cpu/ref_conv.c — reference causal depthwise conv1d with optional fused SiLU, forward
 * (with the K-1 row state carried in and out) and backward (dx, dw, dbias).
 *
 * xx(b, s, e) below is the padded input of backend.h: x for s >= 0, the carried state (or zero)
 * for s < 0. Taps accumulate in double. The backward recomputes the pre-activation when silu is
 * set, treats state_in as a constant, and writes dx for s >= 0 only. No threads, no SIMD, and
 * deliberately no reuse: every pre-activation is recomputed where it is needed.
 */
#include "cpu_internal.h"

/* xx[b, s, e] for s in [-(K-1), L). */
static double xx_at(const float *x, int ldx, const float *state_in, int b, int s, int e,
                    int L, int E, int K)
{
    if (s >= 0) return x[((size_t)b * L + s) * ldx + e];
    if (!state_in) return 0.0;
    return state_in[((size_t)b * (K - 1) + (K - 1) + s) * E + e];
}

static double pre_at(const float *x, int ldx, const float *w, const float *bias,
                     const float *state_in, int b, int t, int e, int L, int E, int K)
{
    double acc = bias ? bias[e] : 0.0;
    for (int k = 0; k < K; k++)
        acc += (double)w[(size_t)e * K + k] * xx_at(x, ldx, state_in, b, t - (K - 1) + k, e, L, E, K);
    return acc;
}

/* dL/dpre[b, t, e] from dL/dout. */
static double dpre_at(const float *dout, const float *x, int ldx, const float *w,
                      const float *bias, const float *state_in, int b, int t, int e,
                      int L, int E, int K, int silu)
{
    double g = dout[((size_t)b * L + t) * E + e];
    if (silu) g *= ref_dsilu(pre_at(x, ldx, w, bias, state_in, b, t, e, L, E, K));
    return g;
}

krait_status conv1d_fwd_ref(krait_backend *be,
                            void *out_,              /* (B, L, E) */
                            float *state_out,        /* (B, K-1, E) or NULL, may alias state_in */
                            const void *x_, int ldx, /* (B, L, E) row stride ldx */
                            const float *w,          /* (E, K) */
                            const float *bias,       /* (E) or NULL */
                            const float *state_in,   /* (B, K-1, E) or NULL */
                            int B, int L, int E, int K, int silu)
{
    (void)be;
    float *out = out_;
    const float *x = x_;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < L; t++)
            for (int e = 0; e < E; e++) {
                double p = pre_at(x, ldx, w, bias, state_in, b, t, e, L, E, K);
                out[((size_t)b * L + t) * E + e] = (float)(silu ? ref_silu(p) : p);
            }
    if (state_out) {
        /* Row j of the new state is xx[L-(K-1)+j]. When it comes from the old state it comes
         * from a row > j, so increasing j is safe even when state_out aliases state_in. */
        for (int b = 0; b < B; b++)
            for (int j = 0; j < K - 1; j++)
                for (int e = 0; e < E; e++)
                    state_out[((size_t)b * (K - 1) + j) * E + e] =
                        (float)xx_at(x, ldx, state_in, b, L - (K - 1) + j, e, L, E, K);
    }
    return KRAIT_STATUS_OK;
}

krait_status conv1d_bwd_ref(krait_backend *be,
                            void *dx_, int ldx,      /* (B, L, E) row stride ldx */
                            float *dw,               /* (E, K) += */
                            float *dbias,            /* (E) += or NULL */
                            const void *dout_,       /* (B, L, E) */
                            const void *x_,          /* (B, L, E) row stride ldx */
                            const float *w, const float *bias,
                            const float *state_in,   /* (B, K-1, E) or NULL */
                            int B, int L, int E, int K, int silu)
{
    (void)be;
    float *dx = dx_;
    const float *dout = dout_, *x = x_;
    for (int e = 0; e < E; e++) {
        for (int b = 0; b < B; b++) {
            /* dx[s] = sum over taps k of dpre[t = s + (K-1) - k] * w[k], for t < L. */
            for (int s = 0; s < L; s++) {
                double acc = 0.0;
                for (int k = 0; k < K; k++) {
                    int t = s + (K - 1) - k;
                    if (t >= L) continue;
                    acc += dpre_at(dout, x, ldx, w, bias, state_in, b, t, e, L, E, K, silu) *
                           w[(size_t)e * K + k];
                }
                dx[((size_t)b * L + s) * ldx + e] = (float)acc;
            }
        }
        for (int k = 0; k < K; k++) {
            double acc = 0.0;
            for (int b = 0; b < B; b++)
                for (int t = 0; t < L; t++)
                    acc += dpre_at(dout, x, ldx, w, bias, state_in, b, t, e, L, E, K, silu) *
                           xx_at(x, ldx, state_in, b, t - (K - 1) + k, e, L, E, K);
            dw[(size_t)e * K + k] += (float)acc;
        }
        if (dbias) {
            double acc = 0.0;
            for (int b = 0; b < B; b++)
                for (int t = 0; t < L; t++)
                    acc += dpre_at(dout, x, ldx, w, bias, state_in, b, t, e, L, E, K, silu);
            dbias[e] += (float)acc;
        }
    }
    return KRAIT_STATUS_OK;
}
