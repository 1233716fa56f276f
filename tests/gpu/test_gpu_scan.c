/* tests/gpu/test_gpu_scan.c — the CUDA selective scan (forward and backward) against the plain-C
 * reference, in both activation dtypes, on fresh random inputs in the op's real domain, at the
 * mamba-130m / 370m widths and at odd shapes that exercise every lane layout (N = 1..64, so
 * Q = 1, 2, 4, 8, 16 lanes per channel), L = 1, L not a multiple of the chunk or of the 32-step
 * tile, E not a multiple of 32, chunk = 1, odd chunks, chunks longer than the 64 the backward
 * stages (the refine path), h0 given or not, Dskip given or not, and Bm/Cm as column views of a
 * wider dbc buffer; the forward without h_chunks (inference), which the CUDA backend cuts in time
 * for small B*E (one 130m sequence of 4096 steps: 32 segments), at every lane count, at lengths
 * the segment count does not divide, and with slow decay (long memory) so that the chained start
 * states carry most of y. Also: outputs are poisoned first, guard zones after every device buffer, the
 * dt columns of the dbc gradient stay untouched, the backward is bitwise deterministic, and
 * h_last may alias h0.
 *
 * Domain: u ~ N(0,1); delta = softplus(U(-7, 0.5)) in ~[1e-3, 1]; A_log = log(n+1) + N(0, 0.1);
 * Bm, Cm ~ N(0,1); h0 ~ N(0, 0.5); D ~ U(0.5, 1.5); dy ~ N(0,1). In bf16 mode every act input
 * is rounded to bf16 first and the reference gets the same rounded values.
 * Tolerances (|got - want| <= rtol |want| + atol_rel max|want|, plus relative L2):
 *   f32: the GPU uses CUDA's expf (<= 2 ulp) and fp32 sums where the reference uses glibc expf
 *        and double for the adjoint; through decaying recurrences this stays near 1e-6:
 *        rtol 1e-4, atol_rel 1e-5 (1e-4 for dBm/dCm: sums over E channels that cancel), L2 1e-5.
 *   bf16: act outputs (y, du, ddelta, dBm, dCm) are rounded to bf16 (2^-9 relative):
 *        rtol 1e-2, atol_rel 2e-3, L2 5e-3. fp32 outputs (h_last, h_chunks, dA_log, dD) differ
 *        only by ex2.approx (about 2^-22 relative per step, accumulated over the decay window of
 *        up to ~1e3 steps): rtol 1e-3, atol_rel 1e-4, L2 1e-4.
 *   long memory (f32 too): the window is the whole sequence, so every output gets that 1e-4.
 */
#include "gpu_testutil.h"
#include "log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tol {
    double rt, at, l2;
} tol;

/* The inference forward's cut: the segments the CUDA backend says (a debug line) it cut the
 * last call into (0: not cut), and what the case expects (-1: not checked), so that a cut that
 * stopped happening fails here and not only in the benchmark. */
static int cut_said, cut_want = -1;

static void on_log(krait_log_level level, const char *msg, void *user)
{
    (void)user;
    const char *p = strstr(msg, "cut into ");
    if (level == KRAIT_LOG_DEBUG) {
        if (p) cut_said = atoi(p + 9);
        return;
    }
    static const char *const tag[] = { "error: ", "warning: ", "", "" };
    fprintf(stderr, "krait: %s%s\n", tag[level], msg);
}

/* 1: slow decay (A = -exp(-4 + noise), delta in [1e-3, 1e-2]), so a state lives for thousands
 * of steps and a cut scan's chained start states carry most of y */
static int long_memory;

static void scan_case(gt *t, int B, int L, int E, int N, int chunk, int R, int with_h0,
                      int with_D)
{
    const int bf = t->dt == KRAIT_DTYPE_BF16;
    /* long memory in f32: every output carries the exp error of the whole ~1e3-step window
     * (the GPU's expf vs glibc's, <= 2 ulp per step: 1e3 steps of it is ~1e-5 as a random walk,
     * 2.4e-4 if every step rounds the same way; the H200 measured 1.05e-5 to 1.39e-5 L2), so the
     * f32 tolerances are those the bf16 fp32 outputs get for the same reason */
    const tol lm = { 1e-3, 1e-4, 1e-4 };
    const tol ta = bf ? (tol){ 1e-2, 2e-3, 5e-3 } : long_memory ? lm : (tol){ 1e-4, 1e-5, 1e-5 };
    const tol tbc = bf ? (tol){ 1e-2, 2e-3, 5e-3 } : long_memory ? lm : (tol){ 1e-4, 1e-4, 1e-5 };
    const tol tf = bf ? (tol){ 1e-3, 1e-4, 1e-4 } : long_memory ? lm : (tol){ 1e-4, 1e-5, 1e-5 };
    char tag[160], w[224];
    snprintf(tag, sizeof tag, "scan %s B%d L%d E%d N%d chunk%d R%d h0=%d D=%d%s", t->dn, B, L, E, N,
             chunk, R, with_h0, with_D, long_memory ? " long-memory" : "");
    printf("%s\n", tag);
    const int M = B * L, ldbc = R + 2 * N, nch = (L + chunk - 1) / chunk;
    const size_t nME = (size_t)M * E, nEN = (size_t)E * N, nBEN = (size_t)B * E * N;
    const size_t nbc = (size_t)M * ldbc, nhc = (size_t)B * nch * E * N, es = gt_esz(t);
    krait_dims dims = { .B = B, .L = L, .E = E, .N = N, .R = R, .chunk = chunk, .rows = M };
    tu_check(t->g->reserve(t->g, &dims) == KRAIT_STATUS_OK, "%s: reserve", tag);
    tu_check(t->r->reserve(t->r, &dims) == KRAIT_STATUS_OK, "%s: ref reserve", tag);

    float *u = gt_hmalloc(nME), *delta = gt_hmalloc(nME), *A_log = gt_hmalloc(nEN);
    float *dbc = gt_hmalloc(nbc), *D = gt_hmalloc(E), *h0 = gt_hmalloc(nBEN), *dy = gt_hmalloc(nME);
    float *dA0 = gt_hmalloc(nEN), *dD0 = gt_hmalloc(E);
    tu_fill_normal(u, nME, 0, 1);
    for (size_t i = 0; i < nME; i++)
        delta[i] = long_memory ? (float)tu_uniform(1e-3, 1e-2) : (float)log1p(exp(tu_uniform(-7.0, 0.5)));
    for (int e = 0; e < E; e++)
        for (int n = 0; n < N; n++)
            A_log[(size_t)e * N + n] = (float)((long_memory ? -4.0 : log(n + 1.0)) + 0.1 * tu_normal());
    tu_fill_normal(dbc, nbc, 0, 1);
    tu_fill_uniform(D, E, 0.5f, 1.5f);
    tu_fill_normal(h0, nBEN, 0, 0.5f);
    tu_fill_normal(dy, nME, 0, 1);
    tu_fill_normal(dA0, nEN, 0, 1);
    tu_fill_normal(dD0, E, 0, 1);
    gt_round(t, u, nME);
    gt_round(t, delta, nME);
    gt_round(t, dbc, nbc);
    gt_round(t, dy, nME);

    /* reference */
    float *ry = gt_hmalloc(nME), *rhl = gt_hmalloc(nBEN), *rhc = gt_hmalloc(nhc);
    float *rdu = gt_hmalloc(nME), *rdd = gt_hmalloc(nME), *rdbc = gt_hmalloc(nbc);
    float *rdA = gt_hcopy(dA0, nEN), *rdD = gt_hcopy(dD0, E);
    krait_backend *r = t->r;
    tu_check(r->ssm_scan_fwd(r, ry, rhl, rhc, u, delta, A_log, dbc + R, dbc + R + N, ldbc,
                             with_D ? D : NULL, with_h0 ? h0 : NULL, B, L, E, N, chunk) == 0,
             "%s: ref fwd", tag);
    tu_check(r->ssm_scan_bwd(r, rdu, rdd, rdbc + R, rdbc + R + N, rdA, with_D ? rdD : NULL, dy, u,
                             delta, A_log, dbc + R, dbc + R + N, ldbc, with_D ? D : NULL, rhc, B,
                             L, E, N, chunk) == 0,
             "%s: ref bwd", tag);

    /* device */
    void *d_u = gt_dev(t, nME * es, "u"), *d_dl = gt_dev(t, nME * es, "delta");
    void *d_dbc = gt_dev(t, nbc * es, "dbc"), *d_dy = gt_dev(t, nME * es, "dy");
    float *d_A = gt_dev(t, nEN * 4, "A_log"), *d_D = gt_dev(t, E * 4, "D");
    float *d_h0 = gt_dev(t, nBEN * 4, "h0");
    void *d_y = gt_dev(t, nME * es, "y");
    float *d_hl = gt_dev(t, nBEN * 4, "h_last"), *d_hc = gt_dev(t, nhc * 4, "h_chunks");
    void *d_du = gt_dev(t, nME * es, "du"), *d_dd = gt_dev(t, nME * es, "ddelta");
    void *d_ddbc = gt_dev(t, nbc * es, "ddbc");
    float *d_dA = gt_dev(t, nEN * 4, "dA_log"), *d_dD = gt_dev(t, E * 4, "dD");
    gt_up(t, d_u, u, nME);
    gt_up(t, d_dl, delta, nME);
    gt_up(t, d_dbc, dbc, nbc);
    gt_up(t, d_dy, dy, nME);
    gt_upf(t, d_A, A_log, nEN * 4);
    gt_upf(t, d_D, D, E * 4);
    gt_upf(t, d_h0, h0, nBEN * 4);
    gt_upf(t, d_dA, dA0, nEN * 4);
    gt_upf(t, d_dD, dD0, E * 4);
    krait_backend *g = t->g;
    char *bc = (char *)d_dbc, *dbcg = (char *)d_ddbc;
    krait_status st = g->ssm_scan_fwd(g, d_y, d_hl, d_hc, d_u, d_dl, d_A, bc + R * es,
                                      bc + (R + N) * es, ldbc, with_D ? d_D : NULL,
                                      with_h0 ? d_h0 : NULL, B, L, E, N, chunk);
    tu_check(st == KRAIT_STATUS_OK, "%s: fwd status %s", tag, krait_status_string(st));
    st = g->sync(g);
    tu_check(st == KRAIT_STATUS_OK, "%s: fwd sync %s", tag, krait_status_string(st));
    float *gy = gt_hmalloc(nME), *ghl = gt_hmalloc(nBEN), *ghc = gt_hmalloc(nhc);
    gt_down(t, gy, d_y, nME);
    gt_downf(t, ghl, d_hl, nBEN * 4);
    gt_downf(t, ghc, d_hc, nhc * 4);
    gt_cmp("fwd y", gy, ry, nME, ta.rt, ta.at, ta.l2);
    gt_cmp("fwd h_last", ghl, rhl, nBEN, tf.rt, tf.at, tf.l2);
    gt_cmp("fwd h_chunks", ghc, rhc, nhc, tf.rt, tf.at, tf.l2);

    st = g->ssm_scan_bwd(g, d_du, d_dd, dbcg + R * es, dbcg + (R + N) * es, d_dA,
                         with_D ? d_dD : NULL, d_dy, d_u, d_dl, d_A, bc + R * es,
                         bc + (R + N) * es, ldbc, with_D ? d_D : NULL, d_hc, B, L, E, N, chunk);
    tu_check(st == KRAIT_STATUS_OK, "%s: bwd status %s", tag, krait_status_string(st));
    st = g->sync(g);
    tu_check(st == KRAIT_STATUS_OK, "%s: bwd sync %s", tag, krait_status_string(st));
    float *gdu = gt_hmalloc(nME), *gdd = gt_hmalloc(nME), *gdbc = gt_hmalloc(nbc);
    float *gdA = gt_hmalloc(nEN), *gdD = gt_hmalloc(E);
    gt_down(t, gdu, d_du, nME);
    gt_down(t, gdd, d_dd, nME);
    gt_down(t, gdbc, d_ddbc, nbc);
    gt_downf(t, gdA, d_dA, nEN * 4);
    gt_downf(t, gdD, d_dD, E * 4);
    gt_cmp("bwd du", gdu, rdu, nME, ta.rt, ta.at, ta.l2);
    gt_cmp("bwd ddelta", gdd, rdd, nME, ta.rt, ta.at, ta.l2);
    float *g0 = gt_hmalloc((size_t)M * N), *g1 = gt_hmalloc((size_t)M * N);
    gt_gather(g0, rdbc + R, M, N, ldbc);
    gt_gather(g1, gdbc + R, M, N, ldbc);
    gt_cmp("bwd dBm", g1, g0, (size_t)M * N, tbc.rt, tbc.at, tbc.l2);
    gt_gather(g0, rdbc + R + N, M, N, ldbc);
    gt_gather(g1, gdbc + R + N, M, N, ldbc);
    gt_cmp("bwd dCm", g1, g0, (size_t)M * N, tbc.rt, tbc.at, tbc.l2);
    for (size_t i = 0; i < nEN; i++) {
        gdA[i] -= dA0[i];
        rdA[i] -= dA0[i];
    }
    for (int e = 0; e < E; e++) {
        gdD[e] -= dD0[e];
        rdD[e] -= dD0[e];
    }
    gt_cmp("bwd dA_log (+=)", gdA, rdA, nEN, tf.rt, tf.at, tf.l2);
    if (with_D) gt_cmp("bwd dD (+=)", gdD, rdD, E, tf.rt, tf.at, tf.l2);
    int untouched = 1;
    for (int row = 0; row < M && untouched; row++)
        for (int k = 0; k < R; k++) untouched &= isnan(gdbc[(size_t)row * ldbc + k]);
    tu_check(untouched, "%s: bwd wrote into the dt columns of the dbc gradient", tag);
    snprintf(w, sizeof w, "%s", tag);
    gt_guards(t, w);

    /* determinism: the backward again into poisoned buffers gives the same bits */
    gt_poison(t, d_du, nME * es);
    gt_poison(t, d_dd, nME * es);
    gt_poison(t, d_ddbc, nbc * es);
    gt_upf(t, d_dA, dA0, nEN * 4);
    gt_upf(t, d_dD, dD0, E * 4);
    st = g->ssm_scan_bwd(g, d_du, d_dd, dbcg + R * es, dbcg + (R + N) * es, d_dA,
                         with_D ? d_dD : NULL, d_dy, d_u, d_dl, d_A, bc + R * es,
                         bc + (R + N) * es, ldbc, with_D ? d_D : NULL, d_hc, B, L, E, N, chunk);
    tu_check(st == KRAIT_STATUS_OK, "%s: bwd (2nd) status %s", tag, krait_status_string(st));
    float *h2 = gt_hmalloc(nbc > nME ? nbc : nME);
    gt_down(t, h2, d_du, nME);
    gt_same("bwd du twice", h2, gdu, nME * 4);
    gt_down(t, h2, d_dd, nME);
    gt_same("bwd ddelta twice", h2, gdd, nME * 4);
    gt_down(t, h2, d_ddbc, nbc);
    int same = 1;
    for (int row = 0; row < M; row++)
        same &= !memcmp(h2 + (size_t)row * ldbc + R, gdbc + (size_t)row * ldbc + R, 2 * N * 4);
    tu_check(same, "%s: bwd dBm/dCm differ between two runs", tag);
    float *h3 = gt_hmalloc(nEN);
    gt_downf(t, h3, d_dA, nEN * 4);
    for (size_t i = 0; i < nEN; i++) h3[i] -= dA0[i];
    gt_same("bwd dA_log twice", h3, gdA, nEN * 4);

    /* inference (no h_chunks): the CUDA forward may cut the sequence in time (segments scanned
     * apart, their states chained, then scanned again from them): the same tolerances against
     * the reference; without y, the same h_last bits */
    gt_poison(t, d_y, nME * es);
    gt_poison(t, d_hl, nBEN * 4);
    cut_said = 0;
    st = g->ssm_scan_fwd(g, d_y, d_hl, NULL, d_u, d_dl, d_A, bc + R * es, bc + (R + N) * es, ldbc,
                         with_D ? d_D : NULL, with_h0 ? d_h0 : NULL, B, L, E, N, chunk);
    tu_check(st == KRAIT_STATUS_OK && g->sync(g) == KRAIT_STATUS_OK, "%s: fwd (no h_chunks) status %s", tag,
             krait_status_string(st));
    if (cut_want >= 0 && strstr(g->name, "cuda"))
        tu_check(cut_said == cut_want, "%s: fwd (no h_chunks) cut into %d segments, expected %d", tag, cut_said,
                 cut_want);
    gt_down(t, gy, d_y, nME);
    gt_downf(t, ghl, d_hl, nBEN * 4);
    gt_cmp("fwd (no h_chunks) y", gy, ry, nME, ta.rt, ta.at, ta.l2);
    gt_cmp("fwd (no h_chunks) h_last", ghl, rhl, nBEN, tf.rt, tf.at, tf.l2);
    gt_poison(t, d_hl, nBEN * 4);
    st = g->ssm_scan_fwd(g, NULL, d_hl, NULL, d_u, d_dl, d_A, bc + R * es, bc + (R + N) * es, ldbc,
                         with_D ? d_D : NULL, with_h0 ? d_h0 : NULL, B, L, E, N, chunk);
    tu_check(st == KRAIT_STATUS_OK, "%s: fwd (no y) status %s", tag, krait_status_string(st));
    float *hn = gt_hmalloc(nBEN);
    gt_downf(t, hn, d_hl, nBEN * 4);
    gt_same("fwd (no h_chunks, no y) h_last", hn, ghl, nBEN * 4);
    free(hn);
    gt_poison(t, d_y, nME * es);
    st = g->ssm_scan_fwd(g, d_y, NULL, NULL, d_u, d_dl, d_A, bc + R * es, bc + (R + N) * es, ldbc,
                         with_D ? d_D : NULL, with_h0 ? d_h0 : NULL, B, L, E, N, chunk);
    tu_check(st == KRAIT_STATUS_OK, "%s: fwd (no h_last) status %s", tag, krait_status_string(st));
    gt_down(t, h2, d_y, nME);
    gt_same("fwd (no h_chunks, no h_last) y", h2, gy, nME * 4);

    /* h_last aliasing h0 (as inference calls it): the same bits as the run just above */
    if (with_h0) {
        gt_poison(t, d_y, nME * es);
        st = g->ssm_scan_fwd(g, d_y, d_h0, NULL, d_u, d_dl, d_A, bc + R * es, bc + (R + N) * es,
                             ldbc, with_D ? d_D : NULL, d_h0, B, L, E, N, chunk);
        tu_check(st == KRAIT_STATUS_OK, "%s: fwd (alias) status %s", tag, krait_status_string(st));
        float *hh = gt_hmalloc(nBEN);
        gt_downf(t, hh, d_h0, nBEN * 4);
        gt_down(t, h2, d_y, nME);
        gt_same("fwd h_last aliasing h0: h", hh, ghl, nBEN * 4);
        gt_same("fwd h_last aliasing h0: y", h2, gy, nME * 4);
        free(hh);
    }
    gt_guards(t, w);
    gt_free_all(t);
    free(u); free(delta); free(A_log); free(dbc); free(D); free(h0); free(dy); free(dA0); free(dD0);
    free(ry); free(rhl); free(rhc); free(rdu); free(rdd); free(rdbc); free(rdA); free(rdD);
    free(gy); free(ghl); free(ghc); free(gdu); free(gdd); free(gdbc); free(gdA); free(gdD);
    free(g0); free(g1); free(h2); free(h3);
}

int main(void)
{
    if (!gt_begin("test_gpu_scan")) return TU_SKIP;
    krait_log_set(on_log, NULL, KRAIT_LOG_DEBUG);
    krait_dtype dts[2];
    const int ndt = gt_dtypes(dts);
    /* KRAIT_GPU_TEST_QUICK=1 (the emulated run): the real widths on fewer steps */
    const char *q = getenv("KRAIT_GPU_TEST_QUICK");
    const int quick = q && *q && strcmp(q, "0") != 0;
    for (int k = 0; k < ndt; k++) {
        gt t;
        krait_dims max = { .B = 2, .L = 64, .E = 64, .N = 64, .chunk = 128 };
        if (!gt_open(&t, dts[k], &max)) continue;
        /*            B     L     E   N  chunk  R h0 D */
        scan_case(&t, 2,  300,   96, 16,   64,  8, 1, 1);   /* L % 64 != 0, L % 32 != 0 */
        scan_case(&t, 2, quick ? 40 : 512, 1536, 16, 64, 48, 1, 1);   /* mamba-130m */
        scan_case(&t, 1, quick ? 20 : 256, 2048, 16, 64, 64, 0, 1);   /* mamba-370m */
        cut_want = 0;
        scan_case(&t, 3,    1,   37, 16,   64,  0, 1, 1);   /* L = 1, E % 32 != 0 (not cut) */
        cut_want = -1;
        scan_case(&t, 2,   77,   33, 16,    7,  3, 1, 1);   /* odd chunk */
        scan_case(&t, 2,  200,   40, 16,  128,  4, 1, 1);   /* chunk > 64: refined */
        scan_case(&t, 2,   40,    8, 16,  100,  0, 0, 1);   /* chunk > L and > 64 */
        scan_case(&t, 1,   50,   20, 16,    1,  2, 1, 0);   /* chunk = 1, no D */
        scan_case(&t, 2,   70,   45,  1,   16,  2, 1, 1);   /* N = 1 (Q = 1) */
        scan_case(&t, 2,   70,   45,  8,   16,  2, 0, 1);   /* N = 8 (Q = 2) */
        scan_case(&t, 2,   70,   45,  5,   64,  3, 1, 1);   /* N = 5 (Q = 2, partial lane) */
        scan_case(&t, 2,   90,   64, 32,   32,  4, 1, 1);   /* N = 32 (Q = 8) */
        scan_case(&t, 1,   90,   40, 48,   64,  4, 1, 1);   /* N = 48 (Q = 16, partial) */
        scan_case(&t, 2,   65,   64, 64,   64,  0, 1, 1);   /* N = 64 (Q = 16) */
        scan_case(&t, 1, quick ? 700 : 3000, 64, 16, 64, 4, 1, 1);   /* longer sequence */
        /* one 130m sequence, as prefill runs it: without h_chunks it is cut into 4 (quick) or 32 segments */
        cut_want = quick ? 4 : 32;
        scan_case(&t, 1, quick ? 256 : 4096, 1536, 16, 64, 48, 1, 1);
        cut_want = -1;
        scan_case(&t, 1, quick ? 192 : 2048, 96, 16, 64, 6, 0, 1);     /* cut, no h0 */
        /* cut at every lane count and at lengths S does not divide (the last segment shorter) */
        cut_want = 8;
        scan_case(&t, 1, 1001, 64, 16, 64, 4, 1, 1);   /* 8 segments: 7 x 126 + 119 */
        cut_want = 4;
        scan_case(&t, 2, 333, 40, 16, 64, 4, 1, 1);    /* 4 segments: 3 x 84 + 81 */
        cut_want = -1;
        scan_case(&t, 3, 256, 45, 1, 64, 2, 1, 1);     /* N = 1 (Q = 1) */
        scan_case(&t, 2, 259, 45, 5, 7, 3, 0, 0);      /* N = 5 (Q = 2), no h0, no D */
        cut_want = 16;
        scan_case(&t, 1, 1024, 70, 32, 64, 4, 1, 1);   /* N = 32 (Q = 8), 16 segments */
        cut_want = -1;
        scan_case(&t, 1, 515, 33, 48, 64, 4, 1, 1);    /* N = 48 (Q = 16, partial) */
        scan_case(&t, 2, 256, 64, 64, 64, 0, 0, 1);    /* N = 64 (Q = 16), no h0 */
        scan_case(&t, 1, 130, 1, 16, 64, 2, 1, 1);     /* E = 1 */
        long_memory = 1;                               /* the chained states carry most of y */
        scan_case(&t, 1, 777, 64, 16, 64, 4, 1, 1);
        scan_case(&t, 2, 1024, 40, 16, 64, 4, 1, 1);
        long_memory = 0;
        if (strstr(t.g->name, "cuda")) { /* CUDA and its emulation: the batch is a grid dimension, at most 65535 */
            krait_status sf = t.g->ssm_scan_fwd(t.g, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 16, NULL, NULL,
                                                65536, 1, 1, 16, 64);
            krait_status sb = t.g->ssm_scan_bwd(t.g, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                                NULL, NULL, 16, NULL, NULL, 65536, 1, 1, 16, 64);
            tu_check(sf == KRAIT_STATUS_UNSUPPORTED && sb == KRAIT_STATUS_UNSUPPORTED,
                     "%s: a batch of 65536 is refused, not launched (fwd %s, bwd %s)", t.dn, krait_status_string(sf),
                     krait_status_string(sb));
        }
        gt_close(&t);
    }
    return tu_finish();
}
