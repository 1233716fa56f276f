/* tests/cpu/test_ref_grad_scan.c — the reference selective scan and causal conv1d against an
 * independent double-precision forward written here, and their backward against central finite
 * differences of that double forward.
 *
 * Loss = sum(w_out * out) with random w_out, so dL/dout = w_out is what the backward gets.
 * FD: eps 1e-6 in double, truncation ~eps^2 and rounding ~1e-16/eps, both below 1e-9 relative;
 * the fp32 forward states and the fp32 outputs of the backward dominate the error, ~1e-6
 * relative. Tolerances: forward rtol 1e-5, backward rtol 1e-4, each with an absolute floor of
 * 1e-5 x (largest entry of the tensor) for entries that cancel to near zero.
 * Cases: h0 != 0, L not a multiple of the chunk, L = 1, chunk > L, B > 1, N = 1, Bm/Cm as
 * strided views into a dbc buffer; conv with carried state (also L < K-1 and aliased state),
 * SiLU on and off, strided x/dx (the other half of xz must stay untouched).
 */
#include "cpu_internal.h"
#include "cpu_testutil.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXN 64
#define FD_EPS 1e-6
#define FWD_RTOL 1e-5
#define BWD_RTOL 1e-4
#define ATOL_REL 1e-5

/* ---- scan ------------------------------------------------------------------------------- */

typedef struct scan_ctx {
    int B, L, E, N, chunk, R, ldbc;
    double *u, *delta;     /* (B, L, E) */
    double *A_log;         /* (E, N) */
    double *dbc;           /* (B, L, ldbc): dt | Bm | Cm */
    double *D;             /* (E) or NULL */
    double *h0;            /* (B, E, N) or NULL */
    double *wy, *y;        /* (B, L, E) */
} scan_ctx;

/* Double forward; h_last (B, E, N) and h_chunks (B, nch, E, N) when not NULL. */
static void scan_fwd_d(scan_ctx *c, double *h_last, double *h_chunks)
{
    int L = c->L, E = c->E, N = c->N, nch = (L + c->chunk - 1) / c->chunk;
    for (int b = 0; b < c->B; b++)
        for (int e = 0; e < E; e++) {
            double h[MAXN];
            for (int n = 0; n < N; n++) h[n] = c->h0 ? c->h0[((size_t)b * E + e) * N + n] : 0.0;
            for (int t = 0; t < L; t++) {
                size_t i = ((size_t)b * L + t) * E + e;
                const double *row = c->dbc + ((size_t)b * L + t) * c->ldbc;
                if (h_chunks && t % c->chunk == 0)
                    for (int n = 0; n < N; n++)
                        h_chunks[(((size_t)b * nch + t / c->chunk) * E + e) * N + n] = h[n];
                double acc = c->D ? c->D[e] * c->u[i] : 0.0;
                for (int n = 0; n < N; n++) {
                    double A = -exp(c->A_log[(size_t)e * N + n]);
                    h[n] = exp(c->delta[i] * A) * h[n] + c->delta[i] * row[c->R + n] * c->u[i];
                    acc += row[c->R + N + n] * h[n];
                }
                c->y[i] = acc;
            }
            if (h_last)
                for (int n = 0; n < N; n++) h_last[((size_t)b * E + e) * N + n] = h[n];
        }
}

static double scan_loss(void *ctx)
{
    scan_ctx *c = ctx;
    scan_fwd_d(c, NULL, NULL);
    return dot_d(c->wy, c->y, (size_t)c->B * c->L * c->E);
}

static void scan_case(krait_backend *be, int B, int L, int E, int N, int chunk, int R,
                      int with_h0, int with_D)
{
    char tag[96];
    snprintf(tag, sizeof tag, "scan B%d L%d E%d N%d chunk%d R%d h0=%d D=%d", B, L, E, N, chunk, R,
             with_h0, with_D);
    printf("%s\n", tag);
    int M = B * L, ldbc = R + 2 * N, nch = (L + chunk - 1) / chunk;
    size_t nME = (size_t)M * E, nEN = (size_t)E * N, nBEN = (size_t)B * E * N;
    size_t nbc = (size_t)M * ldbc, nhc = (size_t)B * nch * E * N;

    float *u = malloc(nME * 4), *delta = malloc(nME * 4), *A_log = malloc(nEN * 4);
    float *dbc = malloc(nbc * 4), *D = malloc(E * 4), *h0 = malloc(nBEN * 4), *wy = malloc(nME * 4);
    tu_fill_normal(u, nME, 0, 1);
    for (size_t i = 0; i < nME; i++) delta[i] = (float)tu_uniform(0.01, 1.0);
    for (int e = 0; e < E; e++)
        for (int n = 0; n < N; n++)
            A_log[(size_t)e * N + n] = (float)(log(n + 1.0) + tu_uniform(-0.2, 0.2));
    tu_fill_normal(dbc, nbc, 0, 1);
    tu_fill_uniform(D, E, 0.5f, 1.5f);
    tu_fill_normal(h0, nBEN, 0, 1);
    tu_fill_normal(wy, nME, 0, 1);

    scan_ctx c = { B, L, E, N, chunk, R, ldbc, dup_d(u, nME), dup_d(delta, nME), dup_d(A_log, nEN),
                   dup_d(dbc, nbc), with_D ? dup_d(D, E) : NULL, with_h0 ? dup_d(h0, nBEN) : NULL,
                   dup_d(wy, nME), zeros_d(nME) };
    double *hl_d = zeros_d(nBEN), *hc_d = zeros_d(nhc);
    scan_fwd_d(&c, hl_d, hc_d);

    /* forward */
    float *y = tu_alloc_guarded(nME), *hl = tu_alloc_guarded(nBEN), *hc = tu_alloc_guarded(nhc);
    krait_status st = be->ssm_scan_fwd(be, y, hl, hc, u, delta, A_log, dbc + R, dbc + R + N, ldbc,
                                       with_D ? D : NULL, with_h0 ? h0 : NULL, B, L, E, N, chunk);
    tu_check(st == KRAIT_STATUS_OK, "%s: fwd status %d", tag, (int)st);
    grad_close("fwd y", y, c.y, nME, FWD_RTOL, ATOL_REL);
    grad_close("fwd h_last", hl, hl_d, nBEN, FWD_RTOL, ATOL_REL);
    grad_close("fwd h_chunks", hc, hc_d, nhc, FWD_RTOL, ATOL_REL);
    tu_guard_ok("y", y, nME);
    tu_guard_ok("h_last", hl, nBEN);
    tu_guard_ok("h_chunks", hc, nhc);

    /* h_last may alias h0 */
    if (with_h0) {
        float *y2 = tu_alloc_guarded(nME), *hh = malloc(nBEN * 4);
        memcpy(hh, h0, nBEN * 4);
        be->ssm_scan_fwd(be, y2, hh, NULL, u, delta, A_log, dbc + R, dbc + R + N, ldbc,
                         with_D ? D : NULL, hh, B, L, E, N, chunk);
        tu_check(memcmp(y2, y, nME * 4) == 0 && memcmp(hh, hl, nBEN * 4) == 0,
                 "%s: h_last aliasing h0 changes the result", tag);
        tu_free_guarded(y2);
        free(hh);
    }

    /* backward */
    float *du = tu_alloc_guarded(nME), *dd = tu_alloc_guarded(nME), *ddbc = tu_alloc_guarded(nbc);
    float *dA = malloc(nEN * 4), *dA0 = malloc(nEN * 4), *dD = malloc(E * 4), *dD0 = malloc(E * 4);
    tu_fill_normal(dA0, nEN, 0, 1);
    tu_fill_normal(dD0, E, 0, 1);
    memcpy(dA, dA0, nEN * 4);
    memcpy(dD, dD0, E * 4);
    st = be->ssm_scan_bwd(be, du, dd, ddbc + R, ddbc + R + N, dA, with_D ? dD : NULL, wy, u, delta,
                          A_log, dbc + R, dbc + R + N, ldbc, with_D ? D : NULL, hc, B, L, E, N, chunk);
    tu_check(st == KRAIT_STATUS_OK, "%s: bwd status %d", tag, (int)st);
    for (size_t i = 0; i < nEN; i++) dA[i] -= dA0[i];
    for (int e = 0; e < E; e++) dD[e] -= dD0[e];

    double *g_u = zeros_d(nME), *g_d = zeros_d(nME), *g_A = zeros_d(nEN), *g_D = zeros_d(E);
    double *g_B = zeros_d((size_t)M * N), *g_C = zeros_d((size_t)M * N);
    for (size_t i = 0; i < nME; i++) {
        g_u[i] = fd_at(&c.u[i], FD_EPS, scan_loss, &c);
        g_d[i] = fd_at(&c.delta[i], FD_EPS, scan_loss, &c);
    }
    for (size_t i = 0; i < nEN; i++) g_A[i] = fd_at(&c.A_log[i], FD_EPS, scan_loss, &c);
    if (with_D)
        for (int e = 0; e < E; e++) g_D[e] = fd_at(&c.D[e], FD_EPS, scan_loss, &c);
    for (int r = 0; r < M; r++)
        for (int n = 0; n < N; n++) {
            g_B[(size_t)r * N + n] = fd_at(&c.dbc[(size_t)r * ldbc + R + n], FD_EPS, scan_loss, &c);
            g_C[(size_t)r * N + n] = fd_at(&c.dbc[(size_t)r * ldbc + R + N + n], FD_EPS, scan_loss, &c);
        }
    float *dB = malloc((size_t)M * N * 4), *dC = malloc((size_t)M * N * 4);
    gather_f(dB, ddbc + R, M, N, ldbc);
    gather_f(dC, ddbc + R + N, M, N, ldbc);
    grad_close("bwd du", du, g_u, nME, BWD_RTOL, ATOL_REL);
    grad_close("bwd ddelta", dd, g_d, nME, BWD_RTOL, ATOL_REL);
    grad_close("bwd dBm", dB, g_B, (size_t)M * N, BWD_RTOL, ATOL_REL);
    grad_close("bwd dCm", dC, g_C, (size_t)M * N, BWD_RTOL, ATOL_REL);
    grad_close("bwd dA_log (+=)", dA, g_A, nEN, BWD_RTOL, ATOL_REL);
    if (with_D) grad_close("bwd dD (+=)", dD, g_D, E, BWD_RTOL, ATOL_REL);
    int untouched = 1;
    for (int r = 0; r < M; r++)
        for (int k = 0; k < R; k++) untouched &= isnan(ddbc[(size_t)r * ldbc + k]);
    tu_check(untouched, "%s: bwd wrote into the dt columns of the dbc gradient", tag);
    tu_guard_ok("du", du, nME);
    tu_guard_ok("ddelta", dd, nME);
    tu_guard_ok("ddbc", ddbc, nbc);

    free(u); free(delta); free(A_log); free(dbc); free(D); free(h0); free(wy);
    free(c.u); free(c.delta); free(c.A_log); free(c.dbc); free(c.D); free(c.h0); free(c.wy); free(c.y);
    free(hl_d); free(hc_d);
    tu_free_guarded(y); tu_free_guarded(hl); tu_free_guarded(hc);
    tu_free_guarded(du); tu_free_guarded(dd); tu_free_guarded(ddbc);
    free(dA); free(dA0); free(dD); free(dD0); free(dB); free(dC);
    free(g_u); free(g_d); free(g_A); free(g_D); free(g_B); free(g_C);
}

/* ---- conv1d ----------------------------------------------------------------------------- */

typedef struct conv_ctx {
    int B, L, E, K, ldx, silu;
    double *x;          /* (B, L, ldx) */
    double *w;          /* (E, K) */
    double *bias;       /* (E) or NULL */
    double *state;      /* (B, K-1, E) or NULL */
    double *wo, *out;   /* (B, L, E) */
} conv_ctx;

static double conv_xx(const conv_ctx *c, int b, int s, int e)
{
    if (s >= 0) return c->x[((size_t)b * c->L + s) * c->ldx + e];
    return c->state ? c->state[((size_t)b * (c->K - 1) + (c->K - 1) + s) * c->E + e] : 0.0;
}

static void conv_fwd_d(conv_ctx *c)
{
    for (int b = 0; b < c->B; b++)
        for (int t = 0; t < c->L; t++)
            for (int e = 0; e < c->E; e++) {
                double p = c->bias ? c->bias[e] : 0.0;
                for (int k = 0; k < c->K; k++)
                    p += c->w[(size_t)e * c->K + k] * conv_xx(c, b, t - (c->K - 1) + k, e);
                c->out[((size_t)b * c->L + t) * c->E + e] = c->silu ? p / (1.0 + exp(-p)) : p;
            }
}

static double conv_loss(void *ctx)
{
    conv_ctx *c = ctx;
    conv_fwd_d(c);
    return dot_d(c->wo, c->out, (size_t)c->B * c->L * c->E);
}

static void conv_case(krait_backend *be, int B, int L, int E, int K, int ldx, int with_state,
                      int silu, int with_bias)
{
    char tag[96];
    snprintf(tag, sizeof tag, "conv B%d L%d E%d K%d ldx%d state=%d silu=%d bias=%d", B, L, E, K,
             ldx, with_state, silu, with_bias);
    printf("%s\n", tag);
    int M = B * L;
    size_t nx = (size_t)M * ldx, nME = (size_t)M * E, nS = (size_t)B * (K - 1) * E, nW = (size_t)E * K;
    float *x = malloc(nx * 4), *w = malloc(nW * 4), *bias = malloc(E * 4), *state = malloc(nS * 4 + 4);
    float *wo = malloc(nME * 4);
    tu_fill_normal(x, nx, 0, 1);
    tu_fill_uniform(w, nW, -0.5f, 0.5f);
    tu_fill_uniform(bias, E, -0.5f, 0.5f);
    tu_fill_normal(state, nS, 0, 1);
    tu_fill_normal(wo, nME, 0, 1);
    conv_ctx c = { B, L, E, K, ldx, silu, dup_d(x, nx), dup_d(w, nW),
                   with_bias ? dup_d(bias, E) : NULL, with_state ? dup_d(state, nS) : NULL,
                   dup_d(wo, nME), zeros_d(nME) };
    conv_fwd_d(&c);
    double *st_d = zeros_d(nS);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < K - 1; j++)
            for (int e = 0; e < E; e++)
                st_d[((size_t)b * (K - 1) + j) * E + e] = conv_xx(&c, b, L - (K - 1) + j, e);

    float *out = tu_alloc_guarded(nME), *st_out = tu_alloc_guarded(nS);
    be->conv1d_fwd(be, out, st_out, x, ldx, w, with_bias ? bias : NULL, with_state ? state : NULL,
                   B, L, E, K, silu);
    grad_close("fwd out", out, c.out, nME, FWD_RTOL, ATOL_REL);
    grad_close("fwd state_out", st_out, st_d, nS, 0.0, 0.0);
    tu_guard_ok("out", out, nME);
    tu_guard_ok("state_out", st_out, nS);
    if (with_state) {   /* state_out aliasing state_in */
        float *out2 = tu_alloc_guarded(nME), *s = malloc(nS * 4 + 4);
        memcpy(s, state, nS * 4);
        be->conv1d_fwd(be, out2, s, x, ldx, w, with_bias ? bias : NULL, s, B, L, E, K, silu);
        tu_check(memcmp(out2, out, nME * 4) == 0 && memcmp(s, st_out, nS * 4) == 0,
                 "%s: state_out aliasing state_in changes the result", tag);
        tu_free_guarded(out2);
        free(s);
    }

    float *dx = tu_alloc_guarded(nx), *dw = malloc(nW * 4), *dw0 = malloc(nW * 4);
    float *db = malloc(E * 4), *db0 = malloc(E * 4);
    tu_fill_normal(dw0, nW, 0, 1);
    tu_fill_normal(db0, E, 0, 1);
    memcpy(dw, dw0, nW * 4);
    memcpy(db, db0, E * 4);
    be->conv1d_bwd(be, dx, ldx, dw, with_bias ? db : NULL, wo, x, w, with_bias ? bias : NULL,
                   with_state ? state : NULL, B, L, E, K, silu);
    for (size_t i = 0; i < nW; i++) dw[i] -= dw0[i];
    for (int e = 0; e < E; e++) db[e] -= db0[e];

    double *g_x = zeros_d(nME), *g_w = zeros_d(nW), *g_b = zeros_d(E);
    for (int r = 0; r < M; r++)
        for (int e = 0; e < E; e++)
            g_x[(size_t)r * E + e] = fd_at(&c.x[(size_t)r * ldx + e], FD_EPS, conv_loss, &c);
    for (size_t i = 0; i < nW; i++) g_w[i] = fd_at(&c.w[i], FD_EPS, conv_loss, &c);
    if (with_bias)
        for (int e = 0; e < E; e++) g_b[e] = fd_at(&c.bias[e], FD_EPS, conv_loss, &c);
    float *dxg = malloc(nME * 4);
    gather_f(dxg, dx, M, E, ldx);
    grad_close("bwd dx", dxg, g_x, nME, BWD_RTOL, ATOL_REL);
    grad_close("bwd dw (+=)", dw, g_w, nW, BWD_RTOL, ATOL_REL);
    if (with_bias) grad_close("bwd dbias (+=)", db, g_b, E, BWD_RTOL, ATOL_REL);
    int untouched = 1;
    for (int r = 0; r < M; r++)
        for (int k = E; k < ldx; k++) untouched &= isnan(dx[(size_t)r * ldx + k]);
    tu_check(untouched, "%s: bwd wrote dx outside its E columns", tag);
    tu_guard_ok("dx", dx, nx);

    free(x); free(w); free(bias); free(state); free(wo);
    free(c.x); free(c.w); free(c.bias); free(c.state); free(c.wo); free(c.out); free(st_d);
    tu_free_guarded(out); tu_free_guarded(st_out); tu_free_guarded(dx);
    free(dw); free(dw0); free(db); free(db0); free(dxg); free(g_x); free(g_w); free(g_b);
}

int main(void)
{
    tu_init("test_ref_grad_scan");
    krait_backend *be = krait_backend_cpu_ref_init();
    if (!tu_check(be != NULL, "cpu-ref init")) return tu_finish();
    krait_dims dims = { .B = 3, .L = 16, .E = 8, .N = 16, .chunk = 8 };
    tu_check(be->reserve(be, &dims) == KRAIT_STATUS_OK, "reserve");

    scan_case(be, 2, 7, 3, 4, 3, 2, 1, 1);    /* h0, L not a multiple of the chunk, B > 1 */
    scan_case(be, 1, 1, 4, 4, 3, 0, 1, 1);    /* L = 1 */
    scan_case(be, 2, 6, 3, 5, 3, 3, 0, 1);    /* L a multiple of the chunk, no h0 */
    scan_case(be, 1, 5, 2, 4, 8, 1, 1, 0);    /* chunk > L, no D */
    scan_case(be, 3, 9, 5, 1, 4, 2, 1, 1);    /* N = 1 */
    scan_case(be, 1, 16, 2, 16, 8, 0, 1, 1);  /* N = 16, two full chunks */

    conv_case(be, 2, 6, 5, 4, 10, 1, 1, 1);   /* state in, silu, x a view into xz */
    conv_case(be, 2, 2, 3, 4, 3, 1, 1, 1);    /* L < K-1: the new state keeps old rows */
    conv_case(be, 1, 1, 4, 4, 8, 1, 0, 1);    /* L = 1, no silu */
    conv_case(be, 3, 5, 2, 4, 2, 0, 1, 0);    /* zero left padding, no bias */
    conv_case(be, 2, 4, 3, 2, 3, 1, 1, 1);    /* K = 2 */

    krait_backend_destroy(be);
    return tu_finish();
}
