/* tests/cpu/test_cpu_decode.c — the fast backend's decode-step kernels (cpu_decode.c) against
 * the reference on fresh random inputs.
 * The few-row forward dense layer:
 *   - the decode shapes of the 130m model (in_proj, x_proj, dt_proj from the dbc view, out_proj,
 *     a head-sized odd vocabulary) and odd ones (M = 1..32, K not a multiple of 16, K < 16,
 *     Nout not a multiple of 4, strided X and Y), with and without bias, beta 0 and 1;
 *     outputs start NaN-filled (beta 0 must not read them) and the columns beyond Nout of a
 *     strided Y must stay untouched;
 *   - batch invariance: row i of an M-row product is bit-identical to the same row alone, and
 *     to a run with another thread count (what makes batched greedy decoding equal decoding
 *     one sequence at a time).
 *   Tolerance: fp32 dot products of length K against the reference's double accumulation; the
 *   error is a few ulps times sqrt(K) of the terms' magnitudes, so |got - want| <= 1e-5 |want| +
 *   1e-5 max|want| (relative to the tensor) catches any wrong index or missed tail term.
 * The one-step scan (L = 1, N = 16), through the backend's ssm_scan_fwd as the model calls it:
 *   - B 1 and 32 with E 1536 (130m), B 3 with E 40 (an 8-channel tail), B 2 with E 5 (only a
 *     tail); the state carried
 *     in place (h_last == h0), into another buffer, from no state (h0 NULL), not kept (h_last
 *     NULL), with and without Dskip; Bm and Cm read from a strided dbc view; A from A_log =
 *     log(1..16) jittered, delta in [1e-3, 1], so exp(delta A) spans 1e-7..1; y and the new state
 *     vs the reference, 4 steps in a row (the state fed back);
 *   - batch and thread invariance as above, bit for bit; with h_chunks (L = 1 from training) it
 *     receives the state before the step and the step is unchanged.
 *   Tolerance: both are fp32 recurrences; they differ by the exp approximation (8e-8 relative)
 *   and the order of the sums. The state is checked at 1e-5 relative to its largest magnitude;
 *   y = Dskip u + sum_n Cm h is a sum of 17 terms that can cancel, so its error is measured
 *   against the sum of the terms' magnitudes (fp32 summation bounds it by ~17 ulp of that) and
 *   must stay under 1e-5. A wrong channel, lane or state slot is off by O(1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "cpu_testutil.h"
#include "testutil.h"

static void one_case(krait_backend *ref, krait_backend *fast, krait_backend *fast1, int M, int Nout,
                     int K, int ldx, int ldy, int with_bias, float beta)
{
    float *X = malloc((size_t)M * ldx * sizeof *X), *W = malloc((size_t)Nout * K * sizeof *W);
    float *bias = malloc((size_t)Nout * sizeof *bias);
    float *Y0 = malloc((size_t)M * ldy * sizeof *Y0), *Yr = malloc((size_t)M * ldy * sizeof *Yr);
    float *Yf = malloc((size_t)M * ldy * sizeof *Yf), *Y1 = malloc((size_t)M * ldy * sizeof *Y1);
    float *Yrow = malloc((size_t)ldy * sizeof *Yrow);
    tu_fill_uniform(X, (size_t)M * ldx, -1.0f, 1.0f);
    tu_fill_uniform(W, (size_t)Nout * K, -0.5f, 0.5f);
    tu_fill_uniform(bias, (size_t)Nout, -1.0f, 1.0f);
    /* Y: NaN where beta 0 must not read; random where beta 1 adds; a sentinel beyond Nout */
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldy; j++)
            Y0[(size_t)i * ldy + j] = j >= Nout ? 12345.0f : beta != 0.0f ? (float)tu_uniform(-1, 1) : NAN;
    memcpy(Yr, Y0, (size_t)M * ldy * sizeof *Y0);
    memcpy(Yf, Y0, (size_t)M * ldy * sizeof *Y0);
    memcpy(Y1, Y0, (size_t)M * ldy * sizeof *Y0);
    const float *b = with_bias ? bias : NULL;
    linear_fwd_ref(ref, Yr, ldy, X, ldx, W, b, M, Nout, K, beta);
    linear_fwd_small_cpu(fast, Yf, ldy, X, ldx, W, b, M, Nout, K, beta);
    linear_fwd_small_cpu(fast1, Y1, ldy, X, ldx, W, b, M, Nout, K, beta);

    char what[128];
    snprintf(what, sizeof what, "linear small M%d Nout%d K%d ldx%d ldy%d bias%d beta%g", M, Nout, K, ldx, ldy,
             with_bias, beta);
    float *gr = malloc((size_t)M * Nout * sizeof *gr), *gf = malloc((size_t)M * Nout * sizeof *gf);
    gather_f(gr, Yr, (size_t)M, (size_t)Nout, (size_t)ldy);
    gather_f(gf, Yf, (size_t)M, (size_t)Nout, (size_t)ldy);
    fast_close(what, gf, gr, (size_t)M * Nout, 1e-5, 1e-5, -1);
    int untouched = 1;
    for (int i = 0; i < M; i++)
        for (int j = Nout; j < ldy; j++) untouched &= Yf[(size_t)i * ldy + j] == 12345.0f;
    tu_check(untouched, "%s: columns beyond Nout untouched", what);
    tu_check(!memcmp(Yf, Y1, (size_t)M * ldy * sizeof *Yf), "%s: 2 threads == 1 thread, bit for bit", what);
    /* every row alone == that row of the batch */
    int same = 1;
    for (int i = 0; i < M; i++) {
        memcpy(Yrow, Y0 + (size_t)i * ldy, (size_t)ldy * sizeof *Yrow);
        linear_fwd_small_cpu(fast, Yrow, ldy, X + (size_t)i * ldx, ldx, W, b, 1, Nout, K, beta);
        same &= !memcmp(Yrow, Yf + (size_t)i * ldy, (size_t)Nout * sizeof *Yrow);
    }
    tu_check(same, "%s: each row alone == its row in the batch, bit for bit", what);
    free(X);
    free(W);
    free(bias);
    free(Y0);
    free(Yr);
    free(Yf);
    free(Y1);
    free(Yrow);
    free(gr);
    free(gf);
}

/* ---- the one-step scan ------------------------------------------------------------------------ */

typedef struct step_io {
    float *y, *h;          /* (B, E), (B, E, N) */
} step_io;

static void scan_case(krait_backend *ref, krait_backend *fast, krait_backend *fast1, int B, int E,
                      int mode, int with_d)
{
    /* mode 0: state in place; 1: into another buffer; 2: from no state; 3: state not kept */
    const int N = 16, R = 48, ldbc = R + 2 * N, steps = 4;
    char what[128];
    static const char *modes[] = { "in place", "to another buffer", "from zero", "not kept" };
    snprintf(what, sizeof what, "scan step B%d E%d state %s Dskip%d", B, E, modes[mode], with_d);
    float *A_log = malloc((size_t)E * N * sizeof *A_log), *D = malloc((size_t)E * sizeof *D);
    for (int e = 0; e < E; e++) {
        D[e] = (float)tu_uniform(0.5, 1.5);
        for (int n = 0; n < N; n++) A_log[(size_t)e * N + n] = logf((float)(n + 1)) + (float)tu_uniform(-0.1, 0.1);
    }
    size_t nh = (size_t)B * E * N;
    float *h_r = malloc(nh * sizeof *h_r), *h_f = malloc(nh * sizeof *h_f), *h_1 = malloc(nh * sizeof *h_1);
    float *hout_r = malloc(nh * sizeof *hout_r), *hout_f = malloc(nh * sizeof *hout_f), *hout_1 = malloc(nh * sizeof *hout_1);
    tu_fill_normal(h_r, nh, 0.0f, 1.0f);
    memcpy(h_f, h_r, nh * sizeof *h_r);
    memcpy(h_1, h_r, nh * sizeof *h_r);
    float *u = malloc((size_t)B * E * sizeof *u), *dl = malloc((size_t)B * E * sizeof *dl);
    float *dbc = malloc((size_t)B * ldbc * sizeof *dbc);
    float *yr = malloc((size_t)B * E * sizeof *yr), *yf = malloc((size_t)B * E * sizeof *yf), *y1 = malloc((size_t)B * E * sizeof *y1);
    float *yrow = malloc((size_t)E * sizeof *yrow), *hrow = malloc((size_t)E * N * sizeof *hrow);
    double *mag = malloc((size_t)B * E * sizeof *mag);
    int ok_y = 1, ok_h = 1, same_threads = 1, same_rows = 1;
    double worst_y = 0, worst_h = 0;
    for (int s = 0; s < steps; s++) {
        tu_fill_normal(u, (size_t)B * E, 0.0f, 1.0f);
        tu_fill_uniform(dl, (size_t)B * E, 1e-3f, 1.0f);
        tu_fill_normal(dbc, (size_t)B * ldbc, 0.0f, 1.0f);
        const float *Bm = dbc + R, *Cm = dbc + R + N, *Dp = with_d ? D : NULL;
        /* the state passed in and where it goes, per mode */
        const float *h0r = mode == 2 ? NULL : h_r, *h0f = mode == 2 ? NULL : h_f, *h01 = mode == 2 ? NULL : h_1;
        float *hlr = mode == 0 ? h_r : mode == 3 ? NULL : hout_r;
        float *hlf = mode == 0 ? h_f : mode == 3 ? NULL : hout_f;
        float *hl1 = mode == 0 ? h_1 : mode == 3 ? NULL : hout_1;
        for (int b = 0; b < B; b++)
            for (int e = 0; e < E; e++) {
                size_t i = (size_t)b * E + e;
                double m_ = Dp ? fabs((double)Dp[e] * u[i]) : 0.0;
                for (int n = 0; n < N; n++) { /* the new state in double, from the inputs */
                    double A = -exp((double)A_log[(size_t)e * N + n]), h = h0r ? h0r[i * N + n] : 0.0;
                    h = exp(dl[i] * A) * h + (double)dl[i] * Bm[(size_t)b * ldbc + n] * u[i];
                    m_ += fabs(Cm[(size_t)b * ldbc + n] * h);
                }
                mag[i] = m_;
            }
        /* rows alone first (the batch call may overwrite the state in place); first step only */
        for (int b = 0; b < (s == 0 ? B : 0); b++) {
            krait_status st = fast->ssm_scan_fwd(fast, yrow, hlf ? hrow : NULL, NULL, u + (size_t)b * E,
                                                 dl + (size_t)b * E, A_log, Bm + (size_t)b * ldbc,
                                                 Cm + (size_t)b * ldbc, ldbc, Dp,
                                                 h0f ? h0f + (size_t)b * E * N : NULL, 1, 1, E, N, 64);
            tu_check(st == KRAIT_STATUS_OK, "%s: one row: status %d", what, (int)st);
            memcpy(yf + (size_t)b * E, yrow, (size_t)E * sizeof *yrow);
            if (hlf) memcpy(hout_1 + (size_t)b * E * N, hrow, (size_t)E * N * sizeof *hrow);
        }
        float *rows_h = NULL;
        if (hlf) {
            rows_h = malloc(nh * sizeof *rows_h);
            memcpy(rows_h, hout_1, nh * sizeof *rows_h);
        }
        float *rows_y = malloc((size_t)B * E * sizeof *rows_y);
        memcpy(rows_y, yf, (size_t)B * E * sizeof *rows_y);
        krait_status st[3] = {
            ref->ssm_scan_fwd(ref, yr, hlr, NULL, u, dl, A_log, Bm, Cm, ldbc, Dp, h0r, B, 1, E, N, 64),
            fast->ssm_scan_fwd(fast, yf, hlf, NULL, u, dl, A_log, Bm, Cm, ldbc, Dp, h0f, B, 1, E, N, 64),
            fast1->ssm_scan_fwd(fast1, y1, hl1, NULL, u, dl, A_log, Bm, Cm, ldbc, Dp, h01, B, 1, E, N, 64),
        };
        tu_check(!st[0] && !st[1] && !st[2], "%s: status %d %d %d", what, (int)st[0], (int)st[1], (int)st[2]);
        /* y is a sum of N + 1 terms that may cancel: its error scales with the terms (mag) */
        double ey = 0;
        for (int b = 0; b < B; b++)
            for (int e = 0; e < E; e++) {
                size_t i = (size_t)b * E + e;
                double e_ = fabs((double)yf[i] - yr[i]) / (mag[i] + 1e-30);
                if (!(e_ <= ey)) ey = isnan(e_) ? INFINITY : e_;
            }
        worst_y = ey > worst_y ? ey : worst_y;
        char w2[160];
        ok_y &= tu_check(ey <= 1e-5, "%s: y at step %d: error %.2g of the terms' magnitude", what, s, ey);
        same_threads &= !memcmp(yf, y1, (size_t)B * E * sizeof *yf);
        if (s == 0) same_rows &= !memcmp(yf, rows_y, (size_t)B * E * sizeof *yf);
        if (hlf) {
            snprintf(w2, sizeof w2, "%s: state at step %d", what, s);
            ok_h &= fast_close(w2, hlf, hlr, nh, 1e-5, 1e-5, -1);
            double eh = tu_rel_l2(hlf, hlr, nh);
            worst_h = eh > worst_h ? eh : worst_h;
            same_threads &= !memcmp(hlf, hl1, nh * sizeof *hlf);
            if (s == 0) same_rows &= !memcmp(hlf, rows_h, nh * sizeof *hlf);
            if (mode == 1) { /* feed the new state back in */
                memcpy(h_r, hout_r, nh * sizeof *h_r);
                memcpy(h_f, hout_f, nh * sizeof *h_f);
                memcpy(h_1, hout_1, nh * sizeof *h_1);
            }
        }
        free(rows_h);
        free(rows_y);
    }
    tu_check(ok_y && ok_h, "%s: y and state match the reference over %d steps (y %.2g of the terms, state rel L2 %.2g)", what, steps,
             worst_y, worst_h);
    tu_check(same_threads, "%s: 2 threads == 1 thread, bit for bit", what);
    tu_check(same_rows, "%s: each sequence alone == its row in the batch, bit for bit", what);
    free(A_log);
    free(D);
    free(h_r);
    free(h_f);
    free(h_1);
    free(hout_r);
    free(hout_f);
    free(hout_1);
    free(u);
    free(dl);
    free(dbc);
    free(yr);
    free(yf);
    free(y1);
    free(yrow);
    free(hrow);
    free(mag);
}

int main(void)
{
    tu_init("test_cpu_decode");
    krait_backend *ref = krait_backend_cpu_ref_init(), *fast = krait_backend_cpu_init(2),
                  *fast1 = krait_backend_cpu_init(1);
    krait_backend_cpu_set_grain(fast, 0); /* every op on both threads, however small */
    /* the 130m decode shapes at batch 1 and 32 */
    const int Ms[] = { 1, 32 };
    for (int i = 0; i < 2; i++) {
        int M = Ms[i];
        one_case(ref, fast, fast1, M, 3072, 768, 768, 3072, 0, 0.0f);   /* in_proj */
        one_case(ref, fast, fast1, M, 80, 1536, 1536, 80, 0, 0.0f);     /* x_proj into dbc */
        one_case(ref, fast, fast1, M, 1536, 48, 80, 1536, 1, 0.0f);     /* dt_proj from the dbc view */
        one_case(ref, fast, fast1, M, 768, 1536, 1536, 768, 0, 0.0f);   /* out_proj */
    }
    one_case(ref, fast, fast1, 3, 50277, 64, 64, 50277, 0, 0.0f);       /* a head: odd vocab */
    /* odd sizes: every M up to the threshold, K tails, Nout tails, strides, bias, beta 1 */
    for (int M = 1; M <= LINEAR_SMALL_M_CPU; M += (M < 9 ? 1 : 7))
        one_case(ref, fast, fast1, M, 37, 53, 60, 41, M & 1, (M % 3) ? 0.0f : 1.0f);
    one_case(ref, fast, fast1, 5, 3, 2, 2, 3, 1, 0.0f);
    one_case(ref, fast, fast1, 2, 1, 1, 1, 1, 1, 1.0f);
    one_case(ref, fast, fast1, 7, 129, 16, 16, 130, 0, 1.0f);
    one_case(ref, fast, fast1, 4, 8, 17, 20, 8, 1, 0.0f);
    /* the one-step scan */
    const int Bs[] = { 1, 32, 3, 2 }, Es[] = { 1536, 1536, 40, 5 };
    /* reserved for exactly the largest step, as a model does: a path that needed scratch would
     * fail here rather than pass on another test's reservation */
    krait_dims step = { .B = 32, .L = 1, .D = 768, .E = 1536, .N = 16, .K = 4, .R = 48, .V = 50277, .chunk = 64,
                        .rows = 32 };
    krait_backend *three[3] = { ref, fast, fast1 };
    for (int i = 0; i < 3; i++)
        tu_check(three[i]->reserve(three[i], &step) == KRAIT_STATUS_OK, "%s: reserve for the step", three[i]->name);
    for (int c = 0; c < 4; c++)
        for (int mode = 0; mode < 4; mode++) scan_case(ref, fast, fast1, Bs[c], Es[c], mode, (c + mode) % 2);
    /* with h_chunks (a training-style call at L = 1): it receives the state before the step, and
     * the step is the same bits as without it */
    {
        const int B = 2, E = 40, N = 16, ldbc = 48;
        float A_log[40 * 16], u[80], dl[80], dbc[2 * 48], h0[2 * 40 * 16], hc[2 * 40 * 16], y1[80], y2[80];
        float hl1[2 * 40 * 16], hl2[2 * 40 * 16];
        for (int i = 0; i < E * N; i++) A_log[i] = logf((float)(i % N + 1));
        tu_fill_normal(u, 80, 0.0f, 1.0f);
        tu_fill_uniform(dl, 80, 1e-3f, 1.0f);
        tu_fill_normal(dbc, 2 * 48, 0.0f, 1.0f);
        tu_fill_normal(h0, 2 * 40 * 16, 0.0f, 1.0f);
        fast->ssm_scan_fwd(fast, y1, hl1, hc, u, dl, A_log, dbc + 16, dbc + 32, ldbc, NULL, h0, B, 1, E, N, 64);
        fast->ssm_scan_fwd(fast, y2, hl2, NULL, u, dl, A_log, dbc + 16, dbc + 32, ldbc, NULL, h0, B, 1, E, N, 64);
        tu_check(!memcmp(hc, h0, sizeof hc), "scan step: h_chunks receives the state before the step");
        tu_check(!memcmp(y1, y2, sizeof y1) && !memcmp(hl1, hl2, sizeof hl1), "scan step: h_chunks does not change the step");
    }
    krait_backend_destroy(ref);
    krait_backend_destroy(fast);
    krait_backend_destroy(fast1);
    return tu_finish();
}
