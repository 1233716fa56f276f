/* tests/cpu/test_cpu_scan.c — the fast CPU selective scan and conv1d against the reference, on
 * fresh random inputs in the ops' real domain, at mamba-130m width, at the synthetic-task width
 * (E = 128: rows read in place rather than staged) and at odd shapes, with NaN-filled guarded
 * outputs; bitwise determinism of the fast backward for a thread count, and independence of the
 * thread count for everything but the channel sums dBm and dCm — and for those too when B is at
 * least both thread counts (each sequence is then summed inside one thread). One case feeds a
 * dy that is zero on most steps, as a loss on few positions does: the adjoint then decays into
 * the denormal range, which the fast scan flushes to zero.
 *
 * Domain: u ~ N(0,1); delta = softplus(U(-7, 0.5)) in ~[1e-3, 1]; A_log = log(n+1) + N(0, 0.1);
 * Bm, Cm ~ N(0,1); h0 ~ N(0, 0.5); D ~ U(0.5, 1.5).
 * Tolerances. The fast scan differs from the reference only by its exp (<= 1.5e-7 relative,
 * test_cpu_math), FMA contraction and fp32 sums where the reference uses double; through a
 * recurrence whose decays are < 1 these stay near 1e-6 relative. Per element we allow
 * rtol 1e-4 + 1e-5 x max|want| (entries that cancel), and require relative L2 <= 1e-5.
 * dBm and dCm are sums over all E channels in a different order (lane-wise per thread) than
 * the reference (channel order): same rtol, atol floor 1e-4 x max (sums of 1536 terms of both
 * signs cancel by up to ~sqrt(E)), L2 <= 1e-5. Conv: K-term sums, rtol 1e-5 and L2 <= 1e-6;
 * its weight gradients sum B*L terms: rtol 1e-4.
 */
#include "cpu_internal.h"
#include "cpu_testutil.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* other: the fast backend with another thread count; everything that is not a sum over
 * channels (all but dBm and dCm) must come out bitwise the same. */
/* sparse_dy: dy is zero except on every 50th step. */
static void scan_case(krait_backend *ref, krait_backend *fast, krait_backend *other, int B, int L,
                      int E, int N, int chunk, int R, int with_h0, int with_D, int sparse_dy)
{
    printf("scan %s B%d L%d E%d N%d chunk%d R%d h0=%d D=%d sparse_dy=%d\n", fast->name, B, L, E, N,
           chunk, R, with_h0, with_D, sparse_dy);
    int M = B * L, ldbc = R + 2 * N, nch = (L + chunk - 1) / chunk;
    size_t nME = (size_t)M * E, nEN = (size_t)E * N, nBEN = (size_t)B * E * N;
    size_t nbc = (size_t)M * ldbc, nhc = (size_t)B * nch * E * N;
    float *u = malloc(nME * 4), *delta = malloc(nME * 4), *A_log = malloc(nEN * 4);
    float *dbc = malloc(nbc * 4), *D = malloc(E * 4), *h0 = malloc(nBEN * 4), *dy = malloc(nME * 4);
    tu_fill_normal(u, nME, 0, 1);
    for (size_t i = 0; i < nME; i++) delta[i] = (float)log1p(exp(tu_uniform(-7.0, 0.5)));
    for (int e = 0; e < E; e++)
        for (int n = 0; n < N; n++)
            A_log[(size_t)e * N + n] = (float)(log(n + 1.0) + 0.1 * tu_normal());
    tu_fill_normal(dbc, nbc, 0, 1);
    tu_fill_uniform(D, E, 0.5f, 1.5f);
    tu_fill_normal(h0, nBEN, 0, 0.5f);
    tu_fill_normal(dy, nME, 0, 1);
    if (sparse_dy)
        for (size_t i = 0; i < nME; i++)
            if ((i / E) % L % 50 != 49) dy[i] = 0.0f;
    const float *Bm = dbc + R, *Cm = dbc + R + N, *Dp = with_D ? D : NULL, *h0p = with_h0 ? h0 : NULL;

    float *y[2], *hl[2], *hc[2], *du[2], *dd[2], *ddbc[2], *dA[2], *dDv[2];
    krait_backend *bes[2] = { ref, fast };
    float *dA0 = malloc(nEN * 4), *dD0 = malloc(E * 4);
    tu_fill_normal(dA0, nEN, 0, 1);
    tu_fill_normal(dD0, E, 0, 1);
    for (int k = 0; k < 2; k++) {
        krait_backend *be = bes[k];
        y[k] = tu_alloc_guarded(nME);
        hl[k] = tu_alloc_guarded(nBEN);
        hc[k] = tu_alloc_guarded(nhc);
        krait_status st = be->ssm_scan_fwd(be, y[k], hl[k], hc[k], u, delta, A_log, Bm, Cm, ldbc,
                                           Dp, h0p, B, L, E, N, chunk);
        tu_check(st == KRAIT_STATUS_OK, "%s scan fwd status %d", be->name, (int)st);
        du[k] = tu_alloc_guarded(nME);
        dd[k] = tu_alloc_guarded(nME);
        ddbc[k] = tu_alloc_guarded(nbc);
        dA[k] = malloc(nEN * 4);
        dDv[k] = malloc(E * 4);
        memcpy(dA[k], dA0, nEN * 4);
        memcpy(dDv[k], dD0, E * 4);
        st = be->ssm_scan_bwd(be, du[k], dd[k], ddbc[k] + R, ddbc[k] + R + N, dA[k],
                              with_D ? dDv[k] : NULL, dy, u, delta, A_log, Bm, Cm, ldbc, Dp, hc[k],
                              B, L, E, N, chunk);
        tu_check(st == KRAIT_STATUS_OK, "%s scan bwd status %d", be->name, (int)st);
        for (size_t i = 0; i < nEN; i++) dA[k][i] -= dA0[i];
        for (int e = 0; e < E; e++) dDv[k][e] -= dD0[e];
    }
    fast_close("fwd y", y[1], y[0], nME, 1e-4, 1e-5, 1e-5);
    fast_close("fwd h_last", hl[1], hl[0], nBEN, 1e-4, 1e-5, 1e-5);
    fast_close("fwd h_chunks", hc[1], hc[0], nhc, 1e-4, 1e-5, 1e-5);
    fast_close("bwd du", du[1], du[0], nME, 1e-4, 1e-5, 1e-5);
    fast_close("bwd ddelta", dd[1], dd[0], nME, 1e-4, 1e-5, 1e-5);
    float *g0 = malloc((size_t)M * N * 4), *g1 = malloc((size_t)M * N * 4);
    gather_f(g0, ddbc[0] + R, M, N, ldbc);
    gather_f(g1, ddbc[1] + R, M, N, ldbc);
    fast_close("bwd dBm", g1, g0, (size_t)M * N, 1e-4, 1e-4, 1e-5);
    gather_f(g0, ddbc[0] + R + N, M, N, ldbc);
    gather_f(g1, ddbc[1] + R + N, M, N, ldbc);
    fast_close("bwd dCm", g1, g0, (size_t)M * N, 1e-4, 1e-4, 1e-5);
    fast_close("bwd dA_log (+=)", dA[1], dA[0], nEN, 1e-4, 1e-5, 1e-5);
    if (with_D) fast_close("bwd dD (+=)", dDv[1], dDv[0], E, 1e-4, 1e-5, 1e-5);
    int untouched = 1;
    for (int r = 0; r < M; r++)
        for (int k = 0; k < R; k++) untouched &= isnan(ddbc[1][(size_t)r * ldbc + k]);
    tu_check(untouched, "fast scan bwd wrote into the dt columns");
    tu_guard_ok("y", y[1], nME);
    tu_guard_ok("h_last", hl[1], nBEN);
    tu_guard_ok("h_chunks", hc[1], nhc);
    tu_guard_ok("du", du[1], nME);
    tu_guard_ok("ddelta", dd[1], nME);
    tu_guard_ok("ddbc", ddbc[1], nbc);

    /* determinism: the same call again gives the same bits */
    float *du2 = tu_alloc_guarded(nME), *dd2 = tu_alloc_guarded(nME), *ddbc2 = tu_alloc_guarded(nbc);
    float *dA2 = malloc(nEN * 4), *dD2 = malloc(E * 4);
    memcpy(dA2, dA0, nEN * 4);
    memcpy(dD2, dD0, E * 4);
    fast->ssm_scan_bwd(fast, du2, dd2, ddbc2 + R, ddbc2 + R + N, dA2, with_D ? dD2 : NULL, dy, u,
                       delta, A_log, Bm, Cm, ldbc, Dp, hc[1], B, L, E, N, chunk);
    for (size_t i = 0; i < nEN; i++) dA2[i] -= dA0[i];
    for (int e = 0; e < E; e++) dD2[e] -= dD0[e];
    int same = !memcmp(du2, du[1], nME * 4) && !memcmp(dd2, dd[1], nME * 4) &&
               !memcmp(dA2, dA[1], nEN * 4) && !memcmp(dD2, dDv[1], E * 4);
    for (int r = 0; r < M; r++)
        same &= !memcmp(ddbc2 + (size_t)r * ldbc + R, ddbc[1] + (size_t)r * ldbc + R, 2 * N * 4);
    tu_check(same, "fast scan bwd: two runs differ bitwise");

    /* another thread count */
    {
        float *y3 = tu_alloc_guarded(nME), *hl3 = tu_alloc_guarded(nBEN), *hc3 = tu_alloc_guarded(nhc);
        other->ssm_scan_fwd(other, y3, hl3, hc3, u, delta, A_log, Bm, Cm, ldbc, Dp, h0p, B, L, E, N, chunk);
        memcpy(dA2, dA0, nEN * 4);
        memcpy(dD2, dD0, E * 4);
        other->ssm_scan_bwd(other, du2, dd2, ddbc2 + R, ddbc2 + R + N, dA2, with_D ? dD2 : NULL, dy, u,
                            delta, A_log, Bm, Cm, ldbc, Dp, hc3, B, L, E, N, chunk);
        for (size_t i = 0; i < nEN; i++) dA2[i] -= dA0[i];
        for (int e = 0; e < E; e++) dD2[e] -= dD0[e];
        tu_check(!memcmp(y3, y[1], nME * 4) && !memcmp(hl3, hl[1], nBEN * 4) && !memcmp(hc3, hc[1], nhc * 4) &&
                 !memcmp(du2, du[1], nME * 4) && !memcmp(dd2, dd[1], nME * 4) &&
                 !memcmp(dA2, dA[1], nEN * 4) && !memcmp(dD2, dDv[1], E * 4),
                 "fast scan: per-channel results depend on the thread count");
        if (B >= cpu_threads(fast) && B >= cpu_threads(other)) {
            int sums_same = 1;
            for (int r = 0; r < M; r++)
                sums_same &= !memcmp(ddbc2 + (size_t)r * ldbc + R, ddbc[1] + (size_t)r * ldbc + R, 2 * N * 4);
            tu_check(sums_same, "fast scan: dBm, dCm depend on the thread count although B >= threads");
        }
        tu_free_guarded(y3);
        tu_free_guarded(hl3);
        tu_free_guarded(hc3);
    }

    /* h_last may alias h0 */
    if (with_h0) {
        float *hh = malloc(nBEN * 4), *y2 = tu_alloc_guarded(nME);
        memcpy(hh, h0, nBEN * 4);
        fast->ssm_scan_fwd(fast, y2, hh, NULL, u, delta, A_log, Bm, Cm, ldbc, Dp, hh, B, L, E, N, chunk);
        tu_check(!memcmp(y2, y[1], nME * 4) && !memcmp(hh, hl[1], nBEN * 4),
                 "fast scan: h_last aliasing h0 changes the result");
        free(hh);
        tu_free_guarded(y2);
    }

    for (int k = 0; k < 2; k++) {
        tu_free_guarded(y[k]); tu_free_guarded(hl[k]); tu_free_guarded(hc[k]);
        tu_free_guarded(du[k]); tu_free_guarded(dd[k]); tu_free_guarded(ddbc[k]);
        free(dA[k]); free(dDv[k]);
    }
    tu_free_guarded(du2); tu_free_guarded(dd2); tu_free_guarded(ddbc2);
    free(dA2); free(dD2); free(g0); free(g1); free(dA0); free(dD0);
    free(u); free(delta); free(A_log); free(dbc); free(D); free(h0); free(dy);
}

/* other: the fast backend with another thread count; conv results must not depend on it. */
static void conv_case(krait_backend *ref, krait_backend *fast, krait_backend *other, int B, int L,
                      int E, int K, int ldx, int with_state, int silu, int with_bias)
{
    printf("conv %s B%d L%d E%d K%d ldx%d state=%d silu=%d bias=%d\n", fast->name, B, L, E, K, ldx,
           with_state, silu, with_bias);
    int M = B * L;
    size_t nx = (size_t)M * ldx, nME = (size_t)M * E, nS = (size_t)B * (K - 1) * E, nW = (size_t)E * K;
    float *x = malloc(nx * 4), *w = malloc(nW * 4), *bias = malloc(E * 4), *state = malloc(nS * 4 + 4);
    float *dout = malloc(nME * 4), *dw0 = malloc(nW * 4), *db0 = malloc(E * 4);
    tu_fill_normal(x, nx, 0, 1);
    tu_fill_uniform(w, nW, -0.5f, 0.5f);   /* PyTorch init: U(+-1/sqrt(K)) */
    tu_fill_uniform(bias, E, -0.5f, 0.5f);
    tu_fill_normal(state, nS, 0, 1);
    tu_fill_normal(dout, nME, 0, 1);
    tu_fill_normal(dw0, nW, 0, 1);
    tu_fill_normal(db0, E, 0, 1);
    const float *bp = with_bias ? bias : NULL, *sp = with_state ? state : NULL;
    krait_backend *bes[3] = { ref, fast, other };
    float *out[3], *so[3], *dx[3], *dw[3], *db[3];
    for (int k = 0; k < 3; k++) {
        krait_backend *be = bes[k];
        out[k] = tu_alloc_guarded(nME);
        so[k] = tu_alloc_guarded(nS);
        be->conv1d_fwd(be, out[k], so[k], x, ldx, w, bp, sp, B, L, E, K, silu);
        dx[k] = tu_alloc_guarded(nx);
        dw[k] = malloc(nW * 4);
        db[k] = malloc(E * 4);
        memcpy(dw[k], dw0, nW * 4);
        memcpy(db[k], db0, E * 4);
        be->conv1d_bwd(be, dx[k], ldx, dw[k], with_bias ? db[k] : NULL, dout, x, w, bp, sp, B, L, E,
                       K, silu);
        for (size_t i = 0; i < nW; i++) dw[k][i] -= dw0[i];
        for (int e = 0; e < E; e++) db[k][e] -= db0[e];
    }
    fast_close("fwd out", out[1], out[0], nME, 1e-5, 1e-6, 1e-6);
    tu_check(!memcmp(so[1], so[0], nS * 4), "fast conv state_out differs from the reference");
    float *g0 = malloc(nME * 4), *g1 = malloc(nME * 4);
    gather_f(g0, dx[0], M, E, ldx);
    gather_f(g1, dx[1], M, E, ldx);
    fast_close("bwd dx", g1, g0, nME, 1e-5, 1e-6, 1e-6);
    fast_close("bwd dw (+=)", dw[1], dw[0], nW, 1e-4, 1e-5, 1e-5);
    if (with_bias) fast_close("bwd dbias (+=)", db[1], db[0], E, 1e-4, 1e-5, 1e-5);
    int untouched = 1;
    for (int r = 0; r < M; r++)
        for (int k = E; k < ldx; k++) untouched &= isnan(dx[1][(size_t)r * ldx + k]);
    tu_check(untouched, "fast conv bwd wrote dx outside its E columns");
    tu_guard_ok("out", out[1], nME);
    tu_guard_ok("state_out", so[1], nS);
    tu_guard_ok("dx", dx[1], nx);
    tu_check(!memcmp(out[2], out[1], nME * 4) && !memcmp(dx[2], dx[1], nx * 4) &&
             !memcmp(dw[2], dw[1], nW * 4) && !memcmp(db[2], db[1], E * 4),
             "fast conv: results depend on the thread count");
    if (with_state) {   /* state_out aliasing state_in */
        float *s = malloc(nS * 4 + 4), *o2 = tu_alloc_guarded(nME);
        memcpy(s, state, nS * 4);
        fast->conv1d_fwd(fast, o2, s, x, ldx, w, bp, s, B, L, E, K, silu);
        tu_check(!memcmp(o2, out[1], nME * 4) && !memcmp(s, so[1], nS * 4),
                 "fast conv: state_out aliasing state_in changes the result");
        free(s);
        tu_free_guarded(o2);
    }
    for (int k = 0; k < 3; k++) {
        tu_free_guarded(out[k]); tu_free_guarded(so[k]); tu_free_guarded(dx[k]);
        free(dw[k]); free(db[k]);
    }
    free(x); free(w); free(bias); free(state); free(dout); free(dw0); free(db0); free(g0); free(g1);
}

int main(void)
{
    tu_init("test_cpu_scan");
    krait_backend *ref = krait_backend_cpu_ref_init(), *fast2 = krait_backend_cpu_init(2);
    krait_backend *fast3 = krait_backend_cpu_init(3);
    if (!tu_check(ref && fast2 && fast3, "backends init")) return tu_finish();
    krait_backend_cpu_set_grain(fast2, 0); /* every op on all threads, however small */
    krait_backend_cpu_set_grain(fast3, 0);
    krait_dims max = { .B = 4, .L = 300, .D = 768, .E = 1536, .N = 64, .K = 16, .R = 48, .chunk = 64 };
    krait_backend *all[3] = { ref, fast2, fast3 };
    for (int i = 0; i < 3; i++)
        tu_check(all[i]->reserve(all[i], &max) == KRAIT_STATUS_OK, "%s reserve", all[i]->name);

    /* mamba-130m width (rows staged) */
    scan_case(ref, fast2, fast3, 2, 100, 1536, 16, 64, 48, 1, 1, 0);   /* L not a multiple of the chunk */
    scan_case(ref, fast2, fast3, 1, 64, 1536, 16, 64, 48, 0, 1, 0);    /* B < threads: parts */
    /* synthetic-task width (rows read in place) */
    scan_case(ref, fast2, fast3, 3, 100, 128, 16, 64, 4, 1, 1, 0);
    scan_case(ref, fast3, fast2, 2, 33, 64, 64, 16, 2, 1, 1, 0);       /* N = 64, B < 3 threads */
    scan_case(ref, fast2, fast3, 3, 300, 128, 16, 64, 4, 0, 1, 1);     /* dy mostly zero */
    /* odd shapes */
    scan_case(ref, fast2, fast3, 3, 1, 37, 16, 64, 0, 1, 1, 0);        /* L = 1, E % 16 != 0 */
    scan_case(ref, fast3, fast2, 2, 29, 37, 16, 8, 5, 1, 1, 0);        /* 3 threads, 4 chunks, ragged */
    scan_case(ref, fast2, fast3, 2, 17, 20, 1, 4, 2, 1, 0, 0);         /* N = 1, no D */
    scan_case(ref, fast3, fast2, 4, 13, 50, 5, 64, 3, 1, 1, 0);        /* generic N, chunk > L, B > 1 */
    scan_case(ref, fast2, fast3, 1, 40, 8, 16, 16, 0, 0, 1, 0);        /* one narrow block */
    scan_case(ref, fast3, fast2, 2, 21, 24, 64, 8, 2, 1, 1, 0);        /* N = 64 */
    scan_case(ref, fast2, fast3, 2, 23, 300, 20, 8, 3, 1, 1, 0);       /* N = 20: a tail group after a full one, staged */
    scan_case(ref, fast3, fast2, 3, 19, 40, 48, 8, 2, 1, 1, 0);        /* N = 48 */

    conv_case(ref, fast2, fast3, 2, 64, 1536, 4, 3072, 1, 1, 1);     /* x inside xz */
    conv_case(ref, fast2, fast3, 2, 64, 1536, 4, 3072, 0, 1, 1);
    conv_case(ref, fast3, fast2, 3, 2, 37, 4, 80, 1, 1, 1);          /* L < K-1, ragged E */
    conv_case(ref, fast2, fast3, 2, 1, 20, 4, 20, 1, 0, 0);          /* L = 1 */
    conv_case(ref, fast3, fast2, 2, 9, 33, 3, 40, 1, 1, 1);          /* K = 3 */
    conv_case(ref, fast2, fast3, 2, 9, 33, 1, 33, 1, 1, 1);          /* K = 1: no state */
    conv_case(ref, fast3, fast2, 2, 9, 33, 2, 40, 1, 1, 1);          /* K = 2 */
    conv_case(ref, fast2, fast3, 2, 12, 37, 5, 37, 1, 1, 1);         /* K = 5 */
    conv_case(ref, fast3, fast2, 2, 30, 37, 16, 40, 1, 1, 0);        /* K = 16, the largest a config takes */

    /* backends reserved for exactly these calls' shapes, as a model reserves (the cases above run
     * on a generous reservation): the scratch is what the size formulas give, one batch row over
     * 3 threads (the parts path) included; an undersized formula overflows, which the sanitizer
     * build (scripts/harden.sh) reports */
    {
        krait_backend *x3 = krait_backend_cpu_init(3), *x2 = krait_backend_cpu_init(2);
        krait_backend_cpu_set_grain(x3, 0);
        krait_backend_cpu_set_grain(x2, 0);
        krait_dims exact = { .B = 1, .L = 50, .D = 40, .E = 40, .N = 20, .K = 5, .R = 3, .chunk = 8, .rows = 50 };
        tu_check(x3 && x2 && x3->reserve(x3, &exact) == KRAIT_STATUS_OK && x2->reserve(x2, &exact) == KRAIT_STATUS_OK,
                 "exact reserve");
        scan_case(ref, x3, x2, 1, 50, 40, 20, 8, 3, 1, 1, 0);
        conv_case(ref, x3, x2, 1, 50, 40, 5, 40, 1, 1, 1);
        krait_backend_destroy(x3);
        krait_backend_destroy(x2);
    }

    for (int i = 0; i < 3; i++) krait_backend_destroy(all[i]);
    return tu_finish();
}
