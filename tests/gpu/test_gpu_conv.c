/* tests/gpu/test_gpu_conv.c — the CUDA causal depthwise conv1d (forward with carried state,
 * backward with dw/dbias) against the plain-C reference in both activation dtypes: x as the
 * first E columns of xz (row stride 2E), with and without state, SiLU on and off, bias or not,
 * K = 1..8, L = 1, L < K-1, L not a multiple of the 32-step tile, E not a multiple of the
 * 128-thread block, mamba-130m/370m widths; state_out aliasing state_in; dx written only in
 * its E columns; dw/dbias bitwise repeatable.
 *
 * Tolerances (rtol, atol relative to max|want|, relative L2): f32 out/dx are K-term fp32 sums
 * (reference in double): 1e-5, 1e-6, 1e-6; dw/dbias sum B*L terms in a different order:
 * 1e-4, 1e-5, 1e-5. bf16 act outputs: 1e-2, 2e-3, 5e-3; fp32 outputs from the same bf16 inputs
 * keep the f32 tolerances. state_out is a copy: bitwise.
 */
#include "gpu_testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void conv_case(gt *t, int B, int L, int E, int K, int ldx, int with_state, int silu,
                      int with_bias)
{
    const int bf = t->dt == KRAIT_DTYPE_BF16;
    printf("conv %s B%d L%d E%d K%d ldx%d state=%d silu=%d bias=%d\n", t->dn, B, L, E, K, ldx,
           with_state, silu, with_bias);
    const int M = B * L;
    const size_t nx = (size_t)M * ldx, nME = (size_t)M * E, nS = (size_t)B * (K - 1) * E;
    const size_t nW = (size_t)E * K, es = gt_esz(t);
    krait_dims dims = { .B = B, .L = L, .E = E, .K = K, .rows = M };
    tu_check(t->g->reserve(t->g, &dims) == KRAIT_STATUS_OK, "conv reserve");
    float *x = gt_hmalloc(nx), *w = gt_hmalloc(nW), *bias = gt_hmalloc(E), *state = gt_hmalloc(nS + 1);
    float *dout = gt_hmalloc(nME), *dw0 = gt_hmalloc(nW), *db0 = gt_hmalloc(E);
    tu_fill_normal(x, nx, 0, 1);
    tu_fill_uniform(w, nW, -0.5f, 0.5f);
    tu_fill_uniform(bias, E, -0.5f, 0.5f);
    tu_fill_normal(state, nS, 0, 1);
    tu_fill_normal(dout, nME, 0, 1);
    tu_fill_normal(dw0, nW, 0, 1);
    tu_fill_normal(db0, E, 0, 1);
    gt_round(t, x, nx);
    gt_round(t, dout, nME);
    const float *bp = with_bias ? bias : NULL, *sp = with_state ? state : NULL;
    float *rout = gt_hmalloc(nME), *rso = gt_hmalloc(nS + 1), *rdx = gt_hmalloc(nx);
    float *rdw = gt_hcopy(dw0, nW), *rdb = gt_hcopy(db0, E);
    t->r->conv1d_fwd(t->r, rout, rso, x, ldx, w, bp, sp, B, L, E, K, silu);
    t->r->conv1d_bwd(t->r, rdx, ldx, rdw, with_bias ? rdb : NULL, dout, x, w, bp, sp, B, L, E, K,
                     silu);

    void *d_x = gt_dev(t, nx * es, "x"), *d_out = gt_dev(t, nME * es, "out");
    void *d_dout = gt_dev(t, nME * es, "dout"), *d_dx = gt_dev(t, nx * es, "dx (strided)");
    float *d_w = gt_dev(t, nW * 4, "w"), *d_b = gt_dev(t, E * 4, "bias");
    float *d_s = gt_dev(t, nS * 4 + 4, "state_in"), *d_so = gt_dev(t, nS * 4 + 4, "state_out");
    float *d_dw = gt_dev(t, nW * 4, "dw"), *d_db = gt_dev(t, E * 4, "dbias");
    gt_up(t, d_x, x, nx);
    gt_up(t, d_dout, dout, nME);
    gt_upf(t, d_w, w, nW * 4);
    gt_upf(t, d_b, bias, E * 4);
    gt_upf(t, d_s, state, nS * 4);
    gt_upf(t, d_dw, dw0, nW * 4);
    gt_upf(t, d_db, db0, E * 4);
    krait_status st = t->g->conv1d_fwd(t->g, d_out, d_so, d_x, ldx, d_w, with_bias ? d_b : NULL,
                                       with_state ? d_s : NULL, B, L, E, K, silu);
    tu_check(st == KRAIT_STATUS_OK, "conv1d_fwd status %s", krait_status_string(st));
    st = t->g->conv1d_bwd(t->g, d_dx, ldx, d_dw, with_bias ? d_db : NULL, d_dout, d_x, d_w,
                          with_bias ? d_b : NULL, with_state ? d_s : NULL, B, L, E, K, silu);
    tu_check(st == KRAIT_STATUS_OK, "conv1d_bwd status %s", krait_status_string(st));

    const double ra = bf ? 1e-2 : 1e-5, aa = bf ? 2e-3 : 1e-6, la = bf ? 5e-3 : 1e-6;
    float *gout = gt_hmalloc(nME), *gso = gt_hmalloc(nS + 1), *gdxall = gt_hmalloc(nx);
    float *gdw = gt_hmalloc(nW), *gdb = gt_hmalloc(E);
    gt_down(t, gout, d_out, nME);
    gt_downf(t, gso, d_so, nS * 4);
    gt_cmp("fwd out", gout, rout, nME, ra, aa, la);
    gt_same("fwd state_out", gso, rso, nS * 4);
    gt_down(t, gdxall, d_dx, nx);
    float *g0 = gt_hmalloc(nME), *g1 = gt_hmalloc(nME);
    gt_gather(g1, gdxall, M, E, ldx);
    gt_gather(g0, rdx, M, E, ldx);
    gt_cmp("bwd dx", g1, g0, nME, ra, aa, la);
    int untouched = 1;
    for (int r = 0; r < M; r++)
        for (int c = E; c < ldx; c++) untouched &= isnan(gdxall[(size_t)r * ldx + c]);
    tu_check(untouched, "conv bwd wrote dx outside its E columns");
    gt_downf(t, gdw, d_dw, nW * 4);
    for (size_t i = 0; i < nW; i++) {
        gdw[i] -= dw0[i];
        rdw[i] -= dw0[i];
    }
    gt_cmp("bwd dw (+=)", gdw, rdw, nW, 1e-4, 1e-5, 1e-5);
    if (with_bias) {
        gt_downf(t, gdb, d_db, E * 4);
        for (int e = 0; e < E; e++) {
            gdb[e] -= db0[e];
            rdb[e] -= db0[e];
        }
        gt_cmp("bwd dbias (+=)", gdb, rdb, E, 1e-4, 1e-5, 1e-5);
    }
    /* determinism of dw */
    gt_upf(t, d_dw, dw0, nW * 4);
    t->g->conv1d_bwd(t->g, d_dx, ldx, d_dw, with_bias ? d_db : NULL, d_dout, d_x, d_w,
                     with_bias ? d_b : NULL, with_state ? d_s : NULL, B, L, E, K, silu);
    float *dw2 = gt_hmalloc(nW);
    gt_downf(t, dw2, d_dw, nW * 4);
    for (size_t i = 0; i < nW; i++) dw2[i] -= dw0[i];
    gt_same("bwd dw twice", dw2, gdw, nW * 4);
    /* state_out aliasing state_in */
    if (with_state && K > 1) {
        gt_poison(t, d_out, nME * es);
        st = t->g->conv1d_fwd(t->g, d_out, d_s, d_x, ldx, d_w, with_bias ? d_b : NULL, d_s, B, L,
                              E, K, silu);
        tu_check(st == KRAIT_STATUS_OK, "conv1d_fwd (alias) status %s", krait_status_string(st));
        float *o2 = gt_hmalloc(nME), *s2 = gt_hmalloc(nS + 1);
        gt_down(t, o2, d_out, nME);
        gt_downf(t, s2, d_s, nS * 4);
        gt_same("fwd out with state_out aliasing state_in", o2, gout, nME * 4);
        gt_same("fwd state with state_out aliasing state_in", s2, rso, nS * 4);
        free(o2);
        free(s2);
    }
    gt_guards(t, "conv");
    gt_free_all(t);
    free(x); free(w); free(bias); free(state); free(dout); free(dw0); free(db0); free(rout);
    free(rso); free(rdx); free(rdw); free(rdb); free(gout); free(gso); free(gdxall); free(gdw);
    free(gdb); free(g0); free(g1); free(dw2);
}

int main(void)
{
    if (!gt_begin("test_gpu_conv")) return TU_SKIP;
    krait_dtype dts[2];
    const int ndt = gt_dtypes(dts);
    for (int k = 0; k < ndt; k++) {
        gt t;
        krait_dims max = { .B = 2, .L = 256, .E = 2048, .K = 8 };
        if (!gt_open(&t, dts[k], &max)) continue;
        /*             B    L     E  K   ldx state silu bias */
        conv_case(&t, 2, 256, 1536, 4, 3072, 1, 1, 1);   /* mamba-130m, x inside xz */
        conv_case(&t, 2, 256, 1536, 4, 3072, 0, 1, 1);
        conv_case(&t, 1, 100, 2048, 4, 4096, 1, 1, 1);   /* mamba-370m */
        conv_case(&t, 3,   2,   37, 4,   80, 1, 1, 1);   /* L < K-1, ragged E */
        conv_case(&t, 2,   1,   20, 4,   20, 1, 0, 0);   /* L = 1, no silu, no bias */
        conv_case(&t, 2,  45,  133, 3,  140, 1, 1, 1);   /* K = 3, E > 128 ragged */
        conv_case(&t, 2,  45,   33, 2,   33, 1, 0, 1);   /* K = 2 */
        conv_case(&t, 2,  70,   65, 8,  130, 1, 1, 1);   /* K = 8 (the 8-wide path) */
        conv_case(&t, 2,  70,   65, 5,   65, 1, 1, 0);   /* K = 5 */
        conv_case(&t, 2,  33,   17, 1,   17, 0, 1, 1);   /* K = 1 */
        gt_close(&t);
    }
    return tu_finish();
}
