/* kernels/cpu/ref_decode.c — reference versions of the optional decode ops of backend.h: the
 * one-token conv step, the fused dt_proj + softplus + state update + gate step, and sampling
 * rows of logits with the counter-based generator.
 *
 * Each step op does literally what the unfused reference ops do, in the same order with the same
 * rounding (conv1d_fwd_ref, linear_fwd_ref, softplus_fwd_ref, ssm_scan_fwd_ref, gate_fwd_ref), so
 * on cpu-ref the fused decode path equals the generic L = 1 path bit for bit. The sampler is the
 * semantic source for sample_rows (CUDA is tested against it); it is not in cpu-ref's vtable,
 * because the CPU generation path samples on the host with krait_sampler (sample.h).
 * Not here: speed. */
#include "cpu_internal.h"

#include <math.h>

krait_status conv1d_step_ref(krait_backend *be,
                             void *u_,                /* (B, E) */
                             float *state,            /* (B, K-1, E) in/out */
                             const void *x_, int ldx, /* (B, E) row stride ldx */
                             const float *w,          /* (E, K) */
                             const float *bias,       /* (E) or NULL */
                             int B, int E, int K)
{
    (void)be;
    float *u = u_;
    const float *x = x_;
    for (int b = 0; b < B; b++) {
        float *s = state + (size_t)b * (K - 1) * E;
        for (int e = 0; e < E; e++) {
            const float xv = x[(size_t)b * ldx + e];
            double acc = bias ? bias[e] : 0.0;
            for (int k = 0; k < K - 1; k++) acc += (double)w[(size_t)e * K + k] * s[(size_t)k * E + e];
            acc += (double)w[(size_t)e * K + K - 1] * xv;
            u[(size_t)b * E + e] = (float)ref_silu(acc);
            for (int k = 0; k + 1 < K - 1; k++) s[(size_t)k * E + e] = s[(size_t)(k + 1) * E + e];
            if (K > 1) s[(size_t)(K - 2) * E + e] = xv;
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status ssm_step_ref(krait_backend *be,
                          void *out_,                 /* (B, E) */
                          float *h,                   /* (B, E, N) in/out */
                          const void *u_,             /* (B, E) */
                          const void *dbc_, int ldbc, /* (B, R + 2N) */
                          const void *dt_w_,          /* (E, R) */
                          const float *dt_bias,       /* (E) */
                          const float *A_log,         /* (E, N) */
                          const float *Dskip,         /* (E) or NULL */
                          const void *z_, int ldz,    /* (B, E) row stride ldz */
                          int B, int E, int N, int R)
{
    (void)be;
    float *out = out_;
    const float *u = u_, *dbc = dbc_, *dt_w = dt_w_, *z = z_;
    for (int b = 0; b < B; b++) {
        const float *row = dbc + (size_t)b * ldbc, *Bm = row + R, *Cm = row + R + N;
        for (int e = 0; e < E; e++) {
            double acc = 0.0;
            for (int r = 0; r < R; r++) acc += (double)row[r] * dt_w[(size_t)e * R + r];
            const float dtl = (float)acc;
            const float v = dt_bias ? dtl + dt_bias[e] : dtl;
            const float delta = (float)ref_softplus(v);
            const float uv = u[(size_t)b * E + e];
            float y = (Dskip ? Dskip[e] : 0.0f) * uv;
            float *hp = h + ((size_t)b * E + e) * N;
            for (int n = 0; n < N; n++) {
                const float A = -expf(A_log[(size_t)e * N + n]);
                const float a = expf(delta * A);
                hp[n] = a * hp[n] + delta * Bm[n] * uv;
                y += Cm[n] * hp[n];
            }
            out[(size_t)b * E + e] = (float)(y * ref_silu(z[(size_t)b * ldz + e]));
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status sample_rows_ref(krait_backend *be,
                             int32_t *tokens,            /* (B) */
                             uint8_t *seen,              /* (B, V) or NULL */
                             uint64_t *rng,              /* (B, 2) */
                             const void *logits_, int ld,/* (B, V) row stride ld */
                             int B, int V, float temperature, float min_p,
                             float repetition_penalty)
{
    (void)be;
    const float *logits = logits_;
    for (int b = 0; b < B; b++) {
        const float *l = logits + (size_t)b * ld;
        uint8_t *sn = seen ? seen + (size_t)b * V : NULL;
        /* the penalised logit of id v */
#define PEN(v) (sn && sn[v] ? (l[v] > 0.0f ? l[v] / repetition_penalty : l[v] * repetition_penalty) : l[v])
        int arg = 0, nan = 0;
        float mx = PEN(0);
        for (int v = 0; v < V; v++) {
            float x = PEN(v);
            nan |= isnan(x);
            if (x > mx) {
                mx = x;
                arg = v;
            }
        }
        if (nan) { /* no distribution to draw from: the caller reports it */
            tokens[b] = -1;
            continue;
        }
        int tok = arg;
        if (temperature > 0.0f) {
            const double it = 1.0 / temperature;
            double total = 0.0;
            for (int v = 0; v < V; v++) {
                double p = exp(((double)PEN(v) - mx) * it);
                if (p >= min_p) total += p;
            }
            const double target = krait_sample_uniform(rng[2 * b], rng[2 * b + 1]) * total;
            rng[2 * b + 1]++;
            double run = 0.0;
            int last = arg;
            tok = -1;
            for (int v = 0; v < V && tok < 0; v++) {
                double p = exp(((double)PEN(v) - mx) * it);
                if (p < min_p) continue;
                last = v;
                run += p;
                if (run > target) tok = v;
            }
            if (tok < 0) tok = last;
        }
#undef PEN
        tokens[b] = tok;
        if (sn) sn[tok] = 1;
    }
    return KRAIT_STATUS_OK;
}
