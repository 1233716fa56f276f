/* kernels/cpu/ref_scan.c — reference selective scan, forward and backward.
 *
 * Forward, per (b, e, n), a scalar fp32 recurrence (A = -exp(A_log)):
 *   h_t = exp(delta_t A) h_{t-1} + delta_t Bm_t u_t,   y_t = sum_n Cm_t h_t + Dskip u_t
 * storing h_last and the state before each chunk (h_chunks). y accumulates over n in fp32.
 *
 * Backward, per (b, e): chunks from last to first; each chunk's states are recomputed from
 * h_chunks in fp32 exactly as the forward computed them, then the adjoint runs backwards in
 * double (with a_t = exp(delta_t A) and g_t = dL/dh_t):
 *   g_t       = Cm_t dy_t + a_{t+1} g_{t+1}                         (g_L = 0)
 *   du_t      = Dskip dy_t + sum_n g_t delta_t Bm_t
 *   ddelta_t  = sum_n g_t (Bm_t u_t + A a_t h_{t-1})
 *   dBm_t[n]  = sum_e g_t delta_t u_t         dCm_t[n] = sum_e dy_t h_t
 *   dA[e, n]  = sum_{b,t} g_t delta_t a_t h_{t-1};   dA_log += dA * A   (A = -exp(A_log))
 *   dD[e]    += sum_{b,t} dy_t u_t
 * dBm and dCm are sums over channels accumulated straight into their fp32 outputs in channel
 * order. No threads, no SIMD; the only scratch is (chunk + 2) * N doubles (ref_scratch).
 */
#include "cpu_internal.h"

#include <math.h>

krait_status ssm_scan_fwd_ref(krait_backend *be,
                              void *y_,               /* (B, L, E) */
                              float *h_last,          /* (B, E, N) or NULL, may alias h0 */
                              float *h_chunks,        /* (B, nchunks, E, N) or NULL */
                              const void *u_,         /* (B, L, E) */
                              const void *delta_,     /* (B, L, E) */
                              const float *A_log,     /* (E, N) */
                              const void *Bm_,        /* (B, L, N) row stride ldbc */
                              const void *Cm_,        /* (B, L, N) row stride ldbc */
                              int ldbc,
                              const float *Dskip,     /* (E) or NULL */
                              const float *h0,        /* (B, E, N) or NULL */
                              int B, int L, int E, int N, int chunk)
{
    (void)be;
    float *y = y_;
    const float *u = u_, *delta = delta_, *Bm = Bm_, *Cm = Cm_;
    int nch = (L + chunk - 1) / chunk;
    for (int b = 0; b < B; b++) {
        for (int e = 0; e < E; e++) {
            float dskip = Dskip ? Dskip[e] : 0.0f;
            for (int t = 0; t < L; t++) {
                size_t i = ((size_t)b * L + t) * E + e;
                y[i] = dskip * u[i];
            }
            for (int n = 0; n < N; n++) {
                float A = -expf(A_log[(size_t)e * N + n]);
                float h = h0 ? h0[((size_t)b * E + e) * N + n] : 0.0f;
                for (int t = 0; t < L; t++) {
                    if (h_chunks && t % chunk == 0)
                        h_chunks[(((size_t)b * nch + t / chunk) * E + e) * N + n] = h;
                    size_t i = ((size_t)b * L + t) * E + e;
                    size_t j = ((size_t)b * L + t) * ldbc + n;
                    float a = expf(delta[i] * A);
                    h = a * h + delta[i] * Bm[j] * u[i];
                    y[i] += Cm[j] * h;
                }
                if (h_last) h_last[((size_t)b * E + e) * N + n] = h;
            }
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status ssm_scan_bwd_ref(krait_backend *be,
                              void *du_,              /* (B, L, E) */
                              void *ddelta_,          /* (B, L, E) */
                              void *dBm_,             /* (B, L, N) row stride ldbc */
                              void *dCm_,             /* (B, L, N) row stride ldbc */
                              float *dA_log,          /* (E, N) += */
                              float *dD,              /* (E) += or NULL */
                              const void *dy_,        /* (B, L, E) */
                              const void *u_, const void *delta_, const float *A_log,
                              const void *Bm_, const void *Cm_, int ldbc,
                              const float *Dskip,     /* (E) or NULL */
                              const float *h_chunks,  /* (B, nchunks, E, N) */
                              int B, int L, int E, int N, int chunk)
{
    float *du = du_, *ddelta = ddelta_, *dBm = dBm_, *dCm = dCm_;
    const float *dy = dy_, *u = u_, *delta = delta_, *Bm = Bm_, *Cm = Cm_;
    int nch = (L + chunk - 1) / chunk;
    double *hs = ref_scratch(be, ((size_t)chunk + 2) * N, "ssm_scan_bwd");
    if (!hs) return KRAIT_STATUS_UNSUPPORTED;
    double *gcarry = hs + (size_t)chunk * N;   /* (N): a_{t+1} g_{t+1} */
    double *dA = gcarry + N;                   /* (N) */

    for (int b = 0; b < B; b++)
        for (int t = 0; t < L; t++)
            for (int n = 0; n < N; n++) {
                dBm[((size_t)b * L + t) * ldbc + n] = 0.0f;
                dCm[((size_t)b * L + t) * ldbc + n] = 0.0f;
            }

    for (int e = 0; e < E; e++) {
        float dskip = Dskip ? Dskip[e] : 0.0f;
        double dDe = 0.0;
        for (int n = 0; n < N; n++) dA[n] = 0.0;
        for (int b = 0; b < B; b++) {
            for (int n = 0; n < N; n++) gcarry[n] = 0.0;
            for (int c = nch - 1; c >= 0; c--) {
                int t0 = c * chunk, t1 = t0 + chunk < L ? t0 + chunk : L;
                const float *hstart = h_chunks + (((size_t)b * nch + c) * E + e) * N;
                /* Recompute h_t for t in [t0, t1), exactly as the forward did. */
                for (int n = 0; n < N; n++) {
                    float A = -expf(A_log[(size_t)e * N + n]);
                    float h = hstart[n];
                    for (int t = t0; t < t1; t++) {
                        size_t i = ((size_t)b * L + t) * E + e;
                        size_t j = ((size_t)b * L + t) * ldbc + n;
                        float a = expf(delta[i] * A);
                        h = a * h + delta[i] * Bm[j] * u[i];
                        hs[(size_t)(t - t0) * N + n] = h;
                    }
                }
                for (int t = t1 - 1; t >= t0; t--) {
                    size_t i = ((size_t)b * L + t) * E + e;
                    double dyv = dy[i], uv = u[i], dv = delta[i];
                    double du_acc = dskip * dyv, dd_acc = 0.0;
                    for (int n = 0; n < N; n++) {
                        size_t j = ((size_t)b * L + t) * ldbc + n;
                        float A = -expf(A_log[(size_t)e * N + n]);
                        double a = expf(delta[i] * A);
                        double hprev = t > t0 ? hs[(size_t)(t - t0 - 1) * N + n] : hstart[n];
                        double ht = hs[(size_t)(t - t0) * N + n];
                        double g = Cm[j] * dyv + gcarry[n];
                        du_acc += g * dv * Bm[j];
                        dd_acc += g * (Bm[j] * uv + A * a * hprev);
                        dBm[j] += (float)(g * dv * uv);
                        dCm[j] += (float)(dyv * ht);
                        dA[n] += g * dv * a * hprev;
                        gcarry[n] = a * g;
                    }
                    du[i] = (float)du_acc;
                    ddelta[i] = (float)dd_acc;
                    dDe += dyv * uv;
                }
            }
        }
        for (int n = 0; n < N; n++) {
            double A = -exp((double)A_log[(size_t)e * N + n]);
            dA_log[(size_t)e * N + n] += (float)(dA[n] * A);
        }
        if (dD) dD[e] += (float)dDe;
    }
    return KRAIT_STATUS_OK;
}
