/* tests/cpu/test_cpu_ops.c — the fast CPU embedding, add+RMSNorm, linear, softplus, gate,
 * cross-entropy, AdamW, dropout and sumsq against the reference, on fresh random inputs at mamba-130m
 * shapes (D 768, E 1536, R 48, N 16, V 50280) and odd ones, NaN-filled guarded outputs, strided
 * views, aliasing, and bitwise repeatability of the reductions.
 *
 * Tolerances (per element |got - want| <= rtol |want| + atol_rel max|want|, plus relative L2):
 *  - element-wise softplus / gate: rtol 1e-5 (vexp/vsigmoid are within 3e-7, test_cpu_math).
 *  - RMSNorm: 768-term fp32 row sums vs double: rtol 1e-5, L2 1e-6; dw sums rows: rtol 1e-4.
 *  - GEMMs: OpenBLAS fp32 dot products of up to 1536 terms vs the double reference: error
 *    ~ sqrt(K) ulp of the terms, so rtol 1e-4 with atol 1e-5 x max (cancelling entries), L2 1e-5.
 *  - cross-entropy: loss rtol 1e-5 (lse is a 50280-term fp32 sum); gradients rtol 1e-5 with
 *    atol 1e-6 x max; argmax exact.
 *  - AdamW: fp32 vs double update over 3 steps: rtol 1e-5.
 *  - embedding backward does the reference's additions in the reference's order: exact.
 */
#include "cpu_internal.h"
#include "cpu_testutil.h"
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *filled(size_t n, float mean, float std)
{
    float *p = malloc(n * sizeof *p + 64);
    tu_fill_normal(p, n, mean, std);
    return p;
}

static float *copy_of(const float *src, size_t n)
{
    float *p = malloc(n * sizeof *p + 64);
    memcpy(p, src, n * sizeof *p);
    return p;
}

static void embedding_case(krait_backend *ref, krait_backend *fast, int M, int V, int D)
{
    printf("embedding %s M%d V%d D%d\n", fast->name, M, V, D);
    int32_t *ids = malloc(M * sizeof *ids);
    for (int r = 0; r < M; r++) ids[r] = (int32_t)(tu_next() % (uint64_t)V);
    ids[M - 1] = ids[0];
    size_t nW = (size_t)V * D, nO = (size_t)M * D;
    float *W = filled(nW, 0, 0.02f), *dout = filled(nO, 0, 1), *dW0 = filled(nW, 0, 1);
    float *o0 = tu_alloc_guarded(nO), *o1 = tu_alloc_guarded(nO);
    ref->embedding_fwd(ref, o0, ids, W, M, D);
    fast->embedding_fwd(fast, o1, ids, W, M, D);
    tu_check(!memcmp(o0, o1, nO * 4), "embedding fwd differs");
    tu_guard_ok("out", o1, nO);
    float *d0 = copy_of(dW0, nW), *d1 = copy_of(dW0, nW);
    ref->embedding_bwd(ref, d0, dout, ids, M, D);
    fast->embedding_bwd(fast, d1, dout, ids, M, D);
    tu_check(!memcmp(d0, d1, nW * 4), "embedding bwd is not bitwise the reference");
    free(ids); free(W); free(dout); free(dW0); free(d0); free(d1);
    tu_free_guarded(o0); tu_free_guarded(o1);
}

static void norm_case(krait_backend *ref, krait_backend *fast, int M, int D, int with_x, int dx_mode)
{
    printf("add_rmsnorm %s M%d D%d x=%d dx_mode=%d\n", fast->name, M, D, with_x, dx_mode);
    size_t n = (size_t)M * D;
    float *r_in = filled(n, 0, 1), *x = filled(n, 0, 1), *w = filled(D, 1, 0.1f), *dy = filled(n, 0, 1);
    float *dr_in = filled(n, 0, 1), *dw0 = filled(D, 0, 1);
    krait_backend *bes[2] = { ref, fast };
    float *r[2], *y[2], *rs[2], *dr[2], *dx[2], *dw[2];
    for (int k = 0; k < 2; k++) {
        r[k] = tu_alloc_guarded(n);
        y[k] = tu_alloc_guarded(n);
        rs[k] = tu_alloc_guarded(M);
        bes[k]->add_rmsnorm_fwd(bes[k], r[k], y[k], rs[k], r_in, with_x ? x : NULL, w, M, D, 1e-5f);
        dr[k] = tu_alloc_guarded(n);
        memcpy(dr[k], dr_in, n * 4);
        dx[k] = tu_alloc_guarded(n);
        dw[k] = copy_of(dw0, D);
        void *dxp = dx_mode == 0 ? NULL : dx_mode == 1 ? (void *)dx[k] : (void *)dr[k];
        bes[k]->add_rmsnorm_bwd(bes[k], dr[k], dxp, dw[k], dy, r[0], rs[0], w, M, D);
        for (int d = 0; d < D; d++) dw[k][d] -= dw0[d];
    }
    fast_close("fwd r_out", r[1], r[0], n, 1e-6, 0.0, 1e-7);
    fast_close("fwd y", y[1], y[0], n, 1e-5, 1e-6, 1e-6);
    fast_close("fwd rstd", rs[1], rs[0], M, 1e-5, 0.0, 1e-6);
    fast_close("bwd dr", dr[1], dr[0], n, 1e-5, 1e-6, 1e-6);
    if (dx_mode == 1) tu_check(!memcmp(dx[1], dr[1], n * 4), "fast rmsnorm: dx is not a copy of dr");
    fast_close("bwd dw (+=)", dw[1], dw[0], D, 1e-4, 1e-5, 1e-5);
    tu_guard_ok("r_out", r[1], n);
    tu_guard_ok("y", y[1], n);
    tu_guard_ok("rstd", rs[1], M);
    tu_guard_ok("dr", dr[1], n);
    tu_guard_ok("dx", dx[1], n);
    /* repeatability of the dw reduction */
    float *dr2 = copy_of(dr_in, n), *dw2 = copy_of(dw0, D);
    fast->add_rmsnorm_bwd(fast, dr2, NULL, dw2, dy, r[0], rs[0], w, M, D);
    for (int d = 0; d < D; d++) dw2[d] -= dw0[d];
    same_bits("fast rmsnorm bwd dw", dw2, dw[1], D);
    for (int k = 0; k < 2; k++) {
        tu_free_guarded(r[k]); tu_free_guarded(y[k]); tu_free_guarded(rs[k]);
        tu_free_guarded(dr[k]); tu_free_guarded(dx[k]); free(dw[k]);
    }
    free(r_in); free(x); free(w); free(dy); free(dr_in); free(dw0); free(dr2); free(dw2);
}

/* Rows whose squares overflow fp32 (|r| ~ 1e20 .. 1e37) but whose norm does not: the forward
 * matches the reference's double sum (finite y and rstd), not 0 from an infinite fp32 sum; the
 * backward matches it row by row (rstd^2 underflows fp32 from |r| ~ 1e19, sum dy w r overflows
 * near 1e37). The incoming dr is 0 so that the rows' tiny gradients are what is compared. */
static void norm_large_case(krait_backend *ref, krait_backend *fast, int D)
{
    printf("add_rmsnorm %s large rows D%d\n", fast->name, D);
    enum { M = 4 };
    const float scale[M] = { 1e20f, 3e37f, 1.0f, 1e25f };
    size_t n = (size_t)M * D;
    float *r_in = filled(n, 0, 1), *w = filled(D, 1, 0.1f), *dy = filled(n, 0, 1);
    for (int r = 0; r < M; r++)
        for (int d = 0; d < D; d++) r_in[(size_t)r * D + d] *= scale[r];
    float *r[2], *y[2], *rs[2], *dr[2], *dw[2];
    krait_backend *bes[2] = { ref, fast };
    for (int k = 0; k < 2; k++) {
        r[k] = tu_alloc_guarded(n);
        y[k] = tu_alloc_guarded(n);
        rs[k] = tu_alloc_guarded(M);
        bes[k]->add_rmsnorm_fwd(bes[k], r[k], y[k], rs[k], r_in, NULL, w, M, D, 1e-5f);
        dr[k] = tu_alloc_guarded(n);
        memset(dr[k], 0, n * sizeof(float));
        dw[k] = calloc(D, sizeof(float));
        bes[k]->add_rmsnorm_bwd(bes[k], dr[k], NULL, dw[k], dy, r[0], rs[0], w, M, D);
    }
    int finite = 1;
    for (size_t i = 0; i < n; i++) finite &= isfinite(y[1][i]) != 0;
    tu_check(finite && rs[1][0] > 0 && rs[1][1] > 0, "fast rmsnorm: large rows gave rstd %g, %g", rs[1][0], rs[1][1]);
    fast_close("large rows y", y[1], y[0], n, 1e-5, 1e-6, 1e-6);
    for (int i = 0; i < M; i++) {
        char what[64];
        tu_check(fabsf(rs[1][i] - rs[0][i]) <= 1e-5f * rs[0][i], "large rows rstd[%d] %g, ref %g", i, rs[1][i], rs[0][i]);
        snprintf(what, sizeof what, "large rows bwd dr, row of scale %g", scale[i]);
        fast_close(what, dr[1] + (size_t)i * D, dr[0] + (size_t)i * D, D, 1e-4, 1e-5, 1e-5);
    }
    fast_close("large rows bwd dw", dw[1], dw[0], D, 1e-4, 1e-5, 1e-5);
    for (int k = 0; k < 2; k++) {
        tu_free_guarded(r[k]); tu_free_guarded(y[k]); tu_free_guarded(rs[k]); tu_free_guarded(dr[k]); free(dw[k]);
    }
    free(r_in); free(w); free(dy);
}

static void linear_case(krait_backend *ref, krait_backend *fast, int M, int Nout, int K, int ldx,
                        int ldy, int with_bias)
{
    printf("linear %s M%d Nout%d K%d ldx%d ldy%d bias=%d\n", fast->name, M, Nout, K, ldx, ldy, with_bias);
    size_t nX = (size_t)M * ldx, nY = (size_t)M * ldy, nW = (size_t)Nout * K;
    float *X = filled(nX, 0, 1), *W = filled(nW, 0, 1.0f / sqrtf((float)K)), *bias = filled(Nout, 0, 1);
    float *dY = filled(nY, 0, 1), *dW0 = filled(nW, 0, 1), *db0 = filled(Nout, 0, 1);
    krait_backend *bes[2] = { ref, fast };
    float *Y[2], *dX[2], *dW[2], *db[2];
    float *g0 = malloc((size_t)M * (K > Nout ? K : Nout) * 4), *g1 = malloc((size_t)M * (K > Nout ? K : Nout) * 4);
    for (int k = 0; k < 2; k++) {
        Y[k] = tu_alloc_guarded(nY);
        bes[k]->linear_fwd(bes[k], Y[k], ldy, X, ldx, W, with_bias ? bias : NULL, M, Nout, K, 0.0f);
        dX[k] = tu_alloc_guarded(nX);
        bes[k]->linear_bwd_data(bes[k], dX[k], ldx, dY, ldy, W, M, Nout, K, 0.0f);
        dW[k] = copy_of(dW0, nW);
        db[k] = copy_of(db0, Nout);
        bes[k]->linear_bwd_weight(bes[k], dW[k], with_bias ? db[k] : NULL, dY, ldy, X, ldx, M, Nout, K);
        for (size_t i = 0; i < nW; i++) dW[k][i] -= dW0[i];
        for (int j = 0; j < Nout; j++) db[k][j] -= db0[j];
    }
    gather_f(g0, Y[0], M, Nout, ldy);
    gather_f(g1, Y[1], M, Nout, ldy);
    fast_close("fwd Y (beta 0)", g1, g0, (size_t)M * Nout, 1e-4, 1e-5, 1e-5);
    gather_f(g0, dX[0], M, K, ldx);
    gather_f(g1, dX[1], M, K, ldx);
    fast_close("bwd_data dX (beta 0)", g1, g0, (size_t)M * K, 1e-4, 1e-5, 1e-5);
    fast_close("bwd_weight dW (+=)", dW[1], dW[0], nW, 1e-4, 1e-5, 1e-5);
    if (with_bias) fast_close("bwd_weight dbias (+=)", db[1], db[0], Nout, 1e-4, 1e-5, 1e-5);
    int untouched = 1;
    for (int i = 0; i < M; i++) {
        for (int j = Nout; j < ldy; j++) untouched &= isnan(Y[1][(size_t)i * ldy + j]);
        for (int j = K; j < ldx; j++) untouched &= isnan(dX[1][(size_t)i * ldx + j]);
    }
    tu_check(untouched, "fast linear wrote outside its columns");
    tu_guard_ok("Y", Y[1], nY);
    tu_guard_ok("dX", dX[1], nX);
    /* beta = 1 accumulates: a second pass doubles Y and dX */
    fast->linear_fwd(fast, Y[1], ldy, X, ldx, W, with_bias ? bias : NULL, M, Nout, K, 1.0f);
    fast->linear_bwd_data(fast, dX[1], ldx, dY, ldy, W, M, Nout, K, 1.0f);
    gather_f(g0, Y[0], M, Nout, ldy);
    for (size_t i = 0; i < (size_t)M * Nout; i++) g0[i] *= 2.0f;
    gather_f(g1, Y[1], M, Nout, ldy);
    fast_close("fwd Y (beta 1)", g1, g0, (size_t)M * Nout, 1e-4, 1e-5, 1e-5);
    gather_f(g0, dX[0], M, K, ldx);
    for (size_t i = 0; i < (size_t)M * K; i++) g0[i] *= 2.0f;
    gather_f(g1, dX[1], M, K, ldx);
    fast_close("bwd_data dX (beta 1)", g1, g0, (size_t)M * K, 1e-4, 1e-5, 1e-5);
    for (int k = 0; k < 2; k++) {
        tu_free_guarded(Y[k]); tu_free_guarded(dX[k]); free(dW[k]); free(db[k]);
    }
    free(X); free(W); free(bias); free(dY); free(dW0); free(db0); free(g0); free(g1);
}

static void softplus_case(krait_backend *ref, krait_backend *fast, int M, int E, int with_bias, int alias)
{
    printf("softplus %s M%d E%d bias=%d alias=%d\n", fast->name, M, E, with_bias, alias);
    size_t n = (size_t)M * E;
    float *x = filled(n, 0, 1), *bias = malloc(E * 4), *dd = filled(n, 0, 1), *db0 = filled(E, 0, 1);
    for (int e = 0; e < E; e++) {   /* inverse softplus of dt ~ logU(1e-3, 1e-1), as initialised */
        double dt = exp(tu_uniform(log(1e-3), log(1e-1)));
        bias[e] = (float)(dt + log(-expm1(-dt)));
    }
    x[0] = 30.0f;   /* past the threshold, and far below */
    x[n - 1] = -100.0f;
    krait_backend *bes[2] = { ref, fast };
    float *delta[2], *dx[2], *db[2];
    for (int k = 0; k < 2; k++) {
        delta[k] = tu_alloc_guarded(n);
        bes[k]->softplus_fwd(bes[k], delta[k], x, with_bias ? bias : NULL, M, E);
        dx[k] = tu_alloc_guarded(n);
        if (alias) memcpy(dx[k], dd, n * 4);
        db[k] = copy_of(db0, E);
        bes[k]->softplus_bwd(bes[k], dx[k], with_bias ? db[k] : NULL, alias ? dx[k] : dd, x,
                             with_bias ? bias : NULL, M, E);
        for (int e = 0; e < E; e++) db[k][e] -= db0[e];
    }
    fast_close("fwd delta", delta[1], delta[0], n, 1e-5, 0.0, 1e-6);
    fast_close("bwd dx", dx[1], dx[0], n, 1e-5, 1e-6, 1e-6);
    if (with_bias) fast_close("bwd dbias (+=)", db[1], db[0], E, 1e-4, 1e-5, 1e-5);
    tu_guard_ok("delta", delta[1], n);
    tu_guard_ok("dx", dx[1], n);
    for (int k = 0; k < 2; k++) {
        tu_free_guarded(delta[k]); tu_free_guarded(dx[k]); free(db[k]);
    }
    free(x); free(bias); free(dd); free(db0);
}

static void gate_case(krait_backend *ref, krait_backend *fast, int M, int E, int ldz)
{
    printf("gate %s M%d E%d ldz%d\n", fast->name, M, E, ldz);
    size_t n = (size_t)M * E, nz = (size_t)M * ldz;
    float *y = filled(n, 0, 1), *z = filled(nz, 0, 2), *dout = filled(n, 0, 1);
    krait_backend *bes[2] = { ref, fast };
    float *out[2], *dy[2], *dz[2];
    for (int k = 0; k < 2; k++) {
        out[k] = tu_alloc_guarded(n);
        bes[k]->gate_fwd(bes[k], out[k], y, z, ldz, M, E);
        dy[k] = tu_alloc_guarded(n);
        dz[k] = tu_alloc_guarded(nz);
        bes[k]->gate_bwd(bes[k], dy[k], dz[k], ldz, dout, y, z, M, E);
    }
    fast_close("fwd out", out[1], out[0], n, 1e-5, 1e-6, 1e-6);
    fast_close("bwd dy", dy[1], dy[0], n, 1e-5, 1e-6, 1e-6);
    float *g0 = malloc(n * 4), *g1 = malloc(n * 4);
    gather_f(g0, dz[0], M, E, ldz);
    gather_f(g1, dz[1], M, E, ldz);
    fast_close("bwd dz", g1, g0, n, 1e-5, 1e-6, 1e-6);
    int untouched = 1;
    for (int r = 0; r < M; r++)
        for (int k = E; k < ldz; k++) untouched &= isnan(dz[1][(size_t)r * ldz + k]);
    tu_check(untouched, "fast gate_bwd wrote dz outside its E columns");
    tu_guard_ok("out", out[1], n);
    tu_guard_ok("dy", dy[1], n);
    tu_guard_ok("dz", dz[1], nz);
    for (int k = 0; k < 2; k++) {
        tu_free_guarded(out[k]); tu_free_guarded(dy[k]); tu_free_guarded(dz[k]);
    }
    free(y); free(z); free(dout); free(g0); free(g1);
}

static void ce_case(krait_backend *ref, krait_backend *fast, int M, int V, int ld, int mode)
{
    static const char *modes[] = { "separate", "aliased", "no gradient" };
    printf("cross_entropy %s M%d V%d ld%d dlogits %s\n", fast->name, M, V, ld, modes[mode]);
    size_t n = (size_t)M * ld;
    float *logits = filled(n, 0, 2), scale = 1.0f / (float)M;
    int32_t *tgt = malloc(M * 4), *pred[2];
    for (int r = 0; r < M; r++) tgt[r] = (int32_t)(tu_next() % (uint64_t)V);
    tgt[0] = 0;          /* the first and last ids are targets like any other (0 is no "ignore") */
    tgt[M - 1] = V - 1;
    tgt[M / 2] = -1;
    logits[(size_t)(M - 1) * ld + V - 1] = 40.0f;   /* argmax at the very end of a row */
    /* ties go to the lowest index (as torch.argmax): a row of equal logits (a zero-initialised or
     * bf16 head gives them), and a maximum at 2 and at 17, in different SIMD lanes; the equal
     * row is far below zero, so a vector pass that pads its tail lanes with 0 finds a wrong
     * maximum (and index) there */
    for (int v = 0; v < V; v++) logits[v] = -120.0f;
    if (M > 2 && V > 17) logits[(size_t)1 * ld + 2] = logits[(size_t)1 * ld + 17] = 30.0f;
    krait_backend *bes[2] = { ref, fast };
    float *loss[2], *dl[2];
    for (int k = 0; k < 2; k++) {
        loss[k] = tu_alloc_guarded(M);
        pred[k] = malloc(M * 4);
        dl[k] = tu_alloc_guarded(n);
        const float *in = logits;
        if (mode == 1) {
            memcpy(dl[k], logits, n * 4);
            in = dl[k];
        }
        bes[k]->cross_entropy(bes[k], loss[k], mode == 2 ? NULL : dl[k], pred[k], in, tgt, M, V, ld, scale);
    }
    fast_close("loss", loss[1], loss[0], M, 1e-5, 1e-6, 1e-6);
    tu_check(!memcmp(pred[0], pred[1], M * 4), "cross_entropy argmax differs from the reference");
    for (int k = 0; k < 2; k++)
        tu_check(pred[k][0] == 0 && (M <= 2 || V <= 17 || pred[k][1] == 2),
                 "%s: argmax ties go to the lowest index (row 0: %d, want 0; row 1: %d, want 2)", bes[k]->name,
                 pred[k][0], M > 2 ? pred[k][1] : -1);
    if (mode != 2) {
        float *g0 = malloc((size_t)M * V * 4), *g1 = malloc((size_t)M * V * 4);
        gather_f(g0, dl[0], M, V, ld);
        gather_f(g1, dl[1], M, V, ld);
        fast_close("dlogits", g1, g0, (size_t)M * V, 1e-5, 1e-6, 1e-6);
        int zero = 1;
        for (int v = 0; v < V; v++) zero &= g1[(size_t)(M / 2) * V + v] == 0.0f;
        tu_check(zero, "cross_entropy: ignored row has a non-zero gradient");
        free(g0);
        free(g1);
    }
    tu_guard_ok("loss", loss[1], M);
    tu_guard_ok("dlogits", dl[1], n);
    for (int k = 0; k < 2; k++) {
        tu_free_guarded(loss[k]); tu_free_guarded(dl[k]); free(pred[k]);
    }
    free(logits); free(tgt);
}

/* Cross-entropy where fp32 is short of room: row 0's logits reach 1e5 (ten tied at the maximum,
 * the target below them), so a log-sum-exp formed in fp32 is off by up to ulp(1e5)/2 = 0.004 and
 * every probability by 0.4 %; row 1's target leads by 16 at 1000, its loss 1.1e-4 smaller than
 * ulp(1000) = 6e-5 would let lse - x_t keep. The fast kernel must match the double reference to
 * 1e-4 relative in the gradient and 1e-3 in the loss, plus 1e-6 absolute: its sums are fp32, each
 * lane adding terms of 1e-7 to 1 (the old kernel: 4e-3 and 1e-5 off). */
static void ce_precise_case(krait_backend *ref, krait_backend *fast)
{
    enum { M = 2, V = 1000 };
    printf("cross_entropy %s: large logits, a confident target\n", fast->name);
    float *lg = malloc((size_t)M * V * sizeof *lg);
    for (int v = 0; v < V; v++) {
        lg[v] = (float)((v * 37 + 11) % 101 / 10) * 1e4f;
        lg[V + v] = 984.0f;
    }
    const int32_t tgt[M] = { 0, 20 };
    lg[V + 20] = 1000.0f;
    krait_backend *bes[2] = { ref, fast };
    float loss[2][M], *dl[2];
    int32_t pred[2][M];
    for (int k = 0; k < 2; k++) {
        dl[k] = malloc((size_t)M * V * sizeof *dl[k]);
        bes[k]->cross_entropy(bes[k], loss[k], dl[k], pred[k], lg, tgt, M, V, V, 1.0f);
    }
    for (int r = 0; r < M; r++)
        tu_check(fabs(loss[1][r] - loss[0][r]) <= 1e-3 * loss[0][r] + 1e-6, "row %d: loss %.9g, reference %.9g", r,
                 loss[1][r], loss[0][r]);
    int bad = 0;
    for (size_t i = 0; i < (size_t)M * V; i++) bad += !(fabs(dl[1][i] - dl[0][i]) <= 1e-4 * fabs(dl[0][i]) + 1e-6);
    tu_check(!bad, "%d gradient entries off the reference by more than 1e-4 relative", bad);
    free(dl[0]);
    free(dl[1]);
    free(lg);
}

static void adamw_case(krait_backend *ref, krait_backend *fast, size_t n)
{
    printf("adamw %s n%zu, 3 steps\n", fast->name, n);
    float *p0 = filled(n, 0, 1), *g = malloc(n * 4);
    float *p[2] = { copy_of(p0, n), copy_of(p0, n) }, *m[2], *v[2], *pa[2];
    krait_backend *bes[2] = { ref, fast };
    for (int k = 0; k < 2; k++) {
        m[k] = zeros_f(n);
        v[k] = zeros_f(n);
        pa[k] = tu_alloc_guarded(n);
    }
    krait_adamw_params hp = { 3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.7f, 0 };
    for (int step = 1; step <= 3; step++) {
        tu_fill_normal(g, n, 0, 1);
        hp.step = step;
        for (int k = 0; k < 2; k++) bes[k]->adamw(bes[k], p[k], m[k], v[k], pa[k], g, n, &hp);
    }
    fast_close("p", p[1], p[0], n, 1e-5, 1e-6, 1e-6);
    fast_close("m", m[1], m[0], n, 1e-5, 1e-6, 1e-6);
    fast_close("v", v[1], v[0], n, 1e-5, 1e-6, 1e-6);
    tu_check(!memcmp(pa[1], p[1], n * 4), "fast adamw: p_act is not a copy of p");
    tu_guard_ok("p_act", pa[1], n);
    for (int k = 0; k < 2; k++) {
        free(p[k]); free(m[k]); free(v[k]); tu_free_guarded(pa[k]);
    }
    free(p0);
    free(g);
}

/* Dropout: the fast op is the reference bit for bit (same mask, one fp32 multiply); the
 * reference drops a fraction p of the elements (within 5 sigma of the binomial), keeps the mean
 * (within 5 sigma), p = 0 changes nothing, and another seed gives another mask. */
static void dropout_case(krait_backend *ref, krait_backend *fast, size_t n, float p)
{
    printf("dropout %s n%zu p%g\n", fast->name, n, p);
    const uint32_t thr = krait_dropout_threshold(p);
    const float scale = krait_dropout_scale(p);
    const uint64_t seed = tu_next();
    float *x = filled(n, 1, 1), *a = copy_of(x, n), *b = copy_of(x, n), *c = copy_of(x, n);
    ref->dropout(ref, a, 1, n, thr, scale, seed);
    fast->dropout(fast, b, 1, n, thr, scale, seed);
    tu_check(!memcmp(a, b, n * 4), "fast dropout is not bitwise the reference");
    size_t dropped = 0;
    double sum_x = 0, sum_a = 0;
    for (size_t i = 0; i < n; i++) {
        dropped += a[i] == 0.0f;
        sum_x += x[i];
        sum_a += a[i];
        if (a[i] != 0.0f && a[i] != x[i] * scale) {
            tu_check(0, "dropout: kept element %zu is %g, not %g x %g", i, a[i], x[i], scale);
            break;
        }
    }
    double sd = sqrt(n * (double)p * (1 - p));
    tu_check(fabs(dropped - n * (double)p) <= 5 * sd + 1, "dropout p %g dropped %zu of %zu", p, dropped, n);
    /* each element is x/(1-p) w.p. 1-p: variance of the sum is sum x^2 p/(1-p) */
    double var = 0;
    for (size_t i = 0; i < n; i++) var += (double)x[i] * x[i] * p / (1 - p);
    tu_check(fabs(sum_a - sum_x) <= 5 * sqrt(var) + 1e-3 * fabs(sum_x), "dropout mean %g vs %g",
             sum_a / n, sum_x / n);
    ref->dropout(ref, c, 1, n, thr, scale, seed + 1);
    tu_check(memcmp(a, c, n * 4) != 0, "dropout: seeds %llu and %llu give the same mask",
             (unsigned long long)seed, (unsigned long long)seed + 1);
    memcpy(c, x, n * 4);
    fast->dropout(fast, c, 1, n, krait_dropout_threshold(0.0f), krait_dropout_scale(0.0f), seed);
    tu_check(!memcmp(c, x, n * 4), "dropout with p = 0 changed the values");
    free(x); free(a); free(b); free(c);
}

/* A NaN goes through every op that could clamp it away (softplus, its derivative, silu's sigmoid,
 * the softmax of cross-entropy) as it does on the reference: a NaN in, a NaN out, so the
 * trainer's non-finite checks see it on every backend. */
static void nan_case(krait_backend *ref, krait_backend *fast)
{
    printf("NaN propagation %s\n", fast->name);
    enum { E = 37, V = 37 };
    float x[E], dd[E], y[E], lg[V];
    for (int i = 0; i < E; i++) x[i] = 0.5f, dd[i] = 1.0f, y[i] = 1.0f;
    x[3] = NAN;
    for (int v = 0; v < V; v++) lg[v] = 0.1f * (float)v;
    lg[20] = NAN; /* not the target */
    const int32_t tgt = 0;
    krait_backend *bes[2] = { ref, fast };
    for (int k = 0; k < 2; k++) {
        float sp[E], dsp[E], g[E], loss, dl[V];
        int32_t pred;
        bes[k]->softplus_fwd(bes[k], sp, x, NULL, 1, E);
        bes[k]->softplus_bwd(bes[k], dsp, NULL, dd, x, NULL, 1, E);
        bes[k]->gate_fwd(bes[k], g, y, x, E, 1, E);
        bes[k]->cross_entropy(bes[k], &loss, dl, &pred, lg, &tgt, 1, V, V, 1.0f);
        tu_check(isnan(sp[3]) && isnan(dsp[3]) && isnan(g[3]) && !isnan(sp[2]) && !isnan(g[2]),
                 "%s: softplus, its derivative and silu of NaN are NaN (got %g %g %g)", bes[k]->name, sp[3], dsp[3],
                 g[3]);
        tu_check(isnan(loss) && isnan(dl[20]), "%s: cross-entropy over a NaN logit is NaN (loss %g, its gradient %g)",
                 bes[k]->name, loss, dl[20]);
    }
}

/* Far outside real activations the ops still give the true values on both backends: silu of a
 * very negative z is -0 (gate, its gradient, the conv's silu and its backward; the fast sigmoid
 * once stopped shrinking at -88 and gave -2 at -3.4e38), and cross-entropy over tied logits of
 * 1e17 is log 4 with the gradient softmax - onehot (the reference once formed mx + log(sum),
 * which loses log(sum) past ~1e15, and gave loss 0). */
static void extremes_case(krait_backend *ref, krait_backend *fast)
{
    printf("extreme values %s\n", fast->name);
    enum { E = 19 };
    const float zs[4] = { -100.0f, -1e20f, -1e36f, -3.4e38f };
    float z[E], y[E], g1[E];
    for (int i = 0; i < E; i++) z[i] = zs[i % 4], y[i] = 1.5f, g1[i] = 1.0f;
    krait_backend *bes[2] = { ref, fast };
    for (int k = 0; k < 2; k++) {
        krait_backend *be = bes[k];
        float out[E], dy[E], dz[E], cv[E], dx[E], wk[E], bias[E], dw[E];
        for (int i = 0; i < E; i++) wk[i] = 1.0f, bias[i] = 0.0f, dw[i] = 0.0f;
        be->gate_fwd(be, out, y, z, E, 1, E);
        be->gate_bwd(be, dy, dz, E, g1, y, z, 1, E);
        be->conv1d_fwd(be, cv, NULL, z, E, wk, bias, NULL, 1, 1, E, 1, 1);
        be->conv1d_bwd(be, dx, E, dw, NULL, g1, z, wk, bias, NULL, 1, 1, E, 1, 1);
        int bad = 0;
        for (int i = 0; i < E; i++)
            bad += !(fabsf(out[i]) <= 1e-30f && fabsf(dy[i]) <= 1e-30f && fabsf(dz[i]) <= 1e-30f &&
                     fabsf(cv[i]) <= 1e-30f && fabsf(dx[i]) <= 1e-30f);
        tu_check(!bad, "%s: silu at z from -100 to -3.4e38 is not ~0 in %d of %d places (z %g: gate %g, dz %g, "
                 "conv %g, its dx %g)", be->name, bad, E, z[3], out[3], dz[3], cv[3], dx[3]);
    }
    enum { V = 4 };
    const float lg[V] = { 1e17f, 1e17f, 1e17f, 1e17f };
    const int32_t tgt = 0;
    for (int k = 0; k < 2; k++) {
        float loss, dl[V];
        int32_t pred;
        bes[k]->cross_entropy(bes[k], &loss, dl, &pred, lg, &tgt, 1, V, V, 1.0f);
        tu_check(fabsf(loss - logf(4.0f)) <= 1e-6f && fabsf(dl[0] + 0.75f) <= 1e-6f && fabsf(dl[1] - 0.25f) <= 1e-6f &&
                     fabsf(dl[3] - 0.25f) <= 1e-6f,
                 "%s: cross-entropy over four logits tied at 1e17: loss %g (log 4 = 1.386), gradient %g %g %g %g",
                 bes[k]->name, loss, dl[0], dl[1], dl[2], dl[3]);
    }
}

int main(void)
{
    tu_init("test_cpu_ops");
    krait_backend *ref = krait_backend_cpu_ref_init(), *fast2 = krait_backend_cpu_init(2);
    krait_backend *fast3 = krait_backend_cpu_init(3);
    if (!tu_check(ref && fast2 && fast3, "backends init")) return tu_finish();
    krait_backend_cpu_set_grain(fast2, 0); /* every op on all threads, however small */
    krait_backend_cpu_set_grain(fast3, 0);
    krait_dims max = { .B = 2, .L = 64, .D = 768, .E = 1536, .N = 16, .K = 4, .R = 48, .V = 50280,
                       .chunk = 64, .rows = 128 };
    krait_backend *all[3] = { ref, fast2, fast3 };
    for (int i = 0; i < 3; i++)
        tu_check(all[i]->reserve(all[i], &max) == KRAIT_STATUS_OK, "%s reserve", all[i]->name);
    tu_check(fast2->act_dtype == KRAIT_DTYPE_F32 && fast2->scan_chunk > 0, "fast: f32, chunk set");
    for (int op = 0; op < KRAIT_OP_COUNT; op++)
        tu_check(fast2->supports(fast2, (krait_op)op, &max), "fast supports op %d", op);

    /* threads per op: by default one per CPU_PAR_GRAIN of work (small ops on the calling thread),
     * all of them when the grain is 0 */
    {
        krait_backend *dflt = krait_backend_cpu_init(3);
        tu_check(dflt && cpu_threads_for(dflt, 100) == 1 && cpu_threads_for(dflt, 1.5 * CPU_PAR_GRAIN) == 1 &&
                     cpu_threads_for(dflt, 2.5 * CPU_PAR_GRAIN) == 2 && cpu_threads_for(dflt, 1e9) == 3,
                 "default grain: 1, 1, 2, 3 threads for small to large ops");
        tu_check(cpu_threads_for(fast3, 1) == 3, "grain 0: every op on all threads");
        krait_backend_destroy(dflt);
    }

    /* sumsq: double, and the same bits for any thread count */
    {
        size_t n = 1000003;
        float *x = filled(n, 0, 1);
        double s0, s2, s3;
        ref->sumsq(ref, &s0, x, n);
        fast2->sumsq(fast2, &s2, x, n);
        fast3->sumsq(fast3, &s3, x, n);
        tu_check(fabs(s2 - s0) <= 1e-12 * s0, "sumsq %.17g vs reference %.17g", s2, s0);
        tu_check(s2 == s3, "sumsq differs between 2 and 3 threads");
        free(x);
    }

    embedding_case(ref, fast2, 128, 1000, 768);
    embedding_case(ref, fast3, 7, 5, 37);
    norm_case(ref, fast2, 128, 768, 1, 1);
    norm_case(ref, fast3, 5, 37, 0, 0);
    norm_case(ref, fast2, 3, 768, 1, 2);
    norm_large_case(ref, fast2, 768);
    norm_large_case(ref, fast3, 37);
    /* the mixer's GEMMs at 130m width (M = 64 rows), and odd/strided ones */
    linear_case(ref, fast2, 64, 3072, 768, 768, 3072, 0);     /* in_proj */
    linear_case(ref, fast2, 64, 80, 1536, 1536, 80, 0);       /* x_proj into dbc */
    linear_case(ref, fast2, 64, 1536, 48, 80, 1536, 1);       /* dt_proj from the dt view of dbc */
    linear_case(ref, fast2, 64, 768, 1536, 1536, 768, 0);     /* out_proj */
    linear_case(ref, fast3, 5, 4099, 768, 800, 4100, 1);      /* a head-like odd vocab, strided */
    linear_case(ref, fast2, 1, 3, 2, 2, 3, 1);
    softplus_case(ref, fast2, 128, 1536, 1, 0);
    softplus_case(ref, fast3, 3, 37, 0, 1);
    gate_case(ref, fast2, 128, 1536, 3072);                   /* z inside xz */
    gate_case(ref, fast3, 3, 37, 37);
    ce_case(ref, fast2, 16, 50280, 50280, 0);
    ce_case(ref, fast2, 6, 50280, 50288, 1);
    ce_case(ref, fast3, 5, 37, 40, 0);
    ce_case(ref, fast2, 4, 17, 17, 2);
    ce_precise_case(ref, fast2);
    nan_case(ref, fast2);
    extremes_case(ref, fast2);
    adamw_case(ref, fast2, 100003);
    dropout_case(ref, fast2, 100003, 0.1f);
    dropout_case(ref, fast3, 4099, 0.5f);

    for (int i = 0; i < 3; i++) krait_backend_destroy(all[i]);
    return tu_finish();
}
