/* tests/gpu/test_gpu_linear.c — the three CUDA linear ops (cuBLASLt) against the plain-C
 * reference in both activation dtypes: Y = beta Y + X W^T (+ bias), dX = beta dX + dY W and
 * dW += dY^T X (+ dbias), at every GEMM shape of mamba-130m and -370m (in_proj, x_proj, dt_proj
 * reading the dt columns of dbc as a strided view, out_proj, the tied lm_head over V = 50280),
 * one-row calls, and an odd shape with leading dimensions that are not multiples of anything
 * (which cuBLASLt may decline: then the fallback kernel must still be right); one-row decode
 * shapes (gemv_kernel: every thread count per column, partial blocks, bias and beta, the dt
 * view) and the layouts it leaves to cuBLASLt. Columns beyond
 * the view must stay as they were; outputs are poisoned or preset, guards checked after.
 *
 * Tolerances (rtol, atol relative to max|want|, relative L2): fp32 sums of K (or M) products in
 * cuBLAS order against the reference's double sums: 5e-4, 5e-5, 2e-5 (f32 mode never uses TF32,
 * so this also catches a TF32 path: TF32 would miss by ~1e-3). bf16 act outputs: 1e-2, 2e-3, 5e-3.
 * The weight gradient is fp32 in both modes (bf16 products are exact in fp32): 1e-3, 1e-4, 5e-5.
 * dbias is a column sum over M rows: 1e-4, 1e-5, 1e-5.
 */
#include "gpu_testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cols_equal(const float *got, const float *want, int rows, int ld, int c0)
{
    for (int r = 0; r < rows; r++)
        for (int c = c0; c < ld; c++) {
            const float a = got[(size_t)r * ld + c], b = want[(size_t)r * ld + c];
            if (memcmp(&a, &b, 4) != 0 && !(isnan(a) && isnan(b))) return 0;
        }
    return 1;
}

/* elements X and W start past their buffers' (aligned) starts, in every op: a view off the
 * 16-byte grid, which gemv_kernel's vector loads must not be given (it leaves it to cuBLASLt) */
static int x_off, w_off;

static void linear_case(gt *t, const char *name, int M, int Nout, int K, int ldx, int ldy,
                        int with_bias, float beta)
{
    const int bf = t->dt == KRAIT_DTYPE_BF16;
    printf("linear %s %s M%d N%d K%d ldx%d ldy%d bias=%d beta=%g\n", t->dn, name, M, Nout, K, ldx,
           ldy, with_bias, beta);
    const size_t nx = (size_t)M * ldx + x_off, ny = (size_t)M * ldy, nw = (size_t)Nout * K + w_off;
    const size_t es = gt_esz(t);
    float *X = gt_hmalloc(nx), *W = gt_hmalloc(nw), *bias = gt_hmalloc(Nout);
    float *Y0 = gt_hmalloc(ny), *dY = gt_hmalloc(ny), *dX0 = gt_hmalloc(nx);
    float *dW0 = gt_hmalloc(nw), *db0 = gt_hmalloc(Nout);
    tu_fill_normal(X, nx, 0, 1);
    tu_fill_uniform(W, nw, -1.0f / sqrtf((float)K), 1.0f / sqrtf((float)K));
    tu_fill_normal(bias, Nout, 0, 1);
    tu_fill_normal(Y0, ny, 0, 1);
    tu_fill_normal(dY, ny, 0, 1);
    tu_fill_normal(dX0, nx, 0, 1);
    tu_fill_normal(dW0, nw, 0, 1);
    tu_fill_normal(db0, Nout, 0, 1);
    gt_round(t, X, nx);
    gt_round(t, W, nw);
    gt_round(t, Y0, ny);
    gt_round(t, dY, ny);
    gt_round(t, dX0, nx);
    const float *bp = with_bias ? bias : NULL;
    float *rY = gt_hcopy(Y0, ny), *rdX = gt_hcopy(dX0, nx), *rdW = gt_hcopy(dW0, nw);
    float *rdb = gt_hcopy(db0, Nout);
    const float *Xv = X + x_off, *Wv = W + w_off;
    t->r->linear_fwd(t->r, rY, ldy, Xv, ldx, Wv, bp, M, Nout, K, beta);
    t->r->linear_bwd_data(t->r, rdX, ldx, dY, ldy, Wv, M, Nout, K, beta);
    t->r->linear_bwd_weight(t->r, rdW, with_bias ? rdb : NULL, dY, ldy, Xv, ldx, M, Nout, K);

    void *d_X = gt_dev(t, nx * es, "X"), *d_W = gt_dev(t, nw * es, "W"), *d_Y = gt_dev(t, ny * es, "Y");
    void *d_dY = gt_dev(t, ny * es, "dY"), *d_dX = gt_dev(t, nx * es, "dX");
    float *d_b = gt_dev(t, Nout * 4, "bias"), *d_dW = gt_dev(t, nw * 4, "dW");
    float *d_db = gt_dev(t, Nout * 4, "dbias");
    gt_up(t, d_X, X, nx);
    gt_up(t, d_W, W, nw);
    gt_up(t, d_Y, Y0, ny);
    gt_up(t, d_dY, dY, ny);
    gt_up(t, d_dX, dX0, nx);
    gt_upf(t, d_b, bias, Nout * 4);
    gt_upf(t, d_dW, dW0, nw * 4);
    gt_upf(t, d_db, db0, Nout * 4);
    char *d_Xv = (char *)d_X + x_off * es, *d_Wv = (char *)d_W + w_off * es;
    krait_status st = t->g->linear_fwd(t->g, d_Y, ldy, d_Xv, ldx, d_Wv, with_bias ? d_b : NULL, M,
                                       Nout, K, beta);
    tu_check(st == KRAIT_STATUS_OK, "linear_fwd status %s", krait_status_string(st));
    st = t->g->linear_bwd_data(t->g, d_dX, ldx, d_dY, ldy, d_Wv, M, Nout, K, beta);
    tu_check(st == KRAIT_STATUS_OK, "linear_bwd_data status %s", krait_status_string(st));
    st = t->g->linear_bwd_weight(t->g, d_dW, with_bias ? d_db : NULL, d_dY, ldy, d_Xv, ldx, M, Nout,
                                 K);
    tu_check(st == KRAIT_STATUS_OK, "linear_bwd_weight status %s", krait_status_string(st));

    const double ra = bf ? 1e-2 : 5e-4, aa = bf ? 2e-3 : 5e-5, la = bf ? 5e-3 : 2e-5;
    float *gY = gt_hmalloc(ny), *gdX = gt_hmalloc(nx), *gdW = gt_hmalloc(nw), *gdb = gt_hmalloc(Nout);
    float *a = gt_hmalloc((size_t)M * (Nout > K ? Nout : K)), *b = gt_hmalloc((size_t)M * (Nout > K ? Nout : K));
    gt_down(t, gY, d_Y, ny);
    gt_gather(a, gY, M, Nout, ldy);
    gt_gather(b, rY, M, Nout, ldy);
    gt_cmp("fwd Y", a, b, (size_t)M * Nout, ra, aa, la);
    tu_check(cols_equal(gY, Y0, M, ldy, Nout), "fwd wrote Y beyond Nout columns");
    gt_down(t, gdX, d_dX, nx);
    gt_gather(a, gdX, M, K, ldx);
    gt_gather(b, rdX, M, K, ldx);
    gt_cmp("bwd_data dX", a, b, (size_t)M * K, ra, aa, la);
    tu_check(cols_equal(gdX, dX0, M, ldx, K), "bwd_data wrote dX beyond K columns");
    gt_downf(t, gdW, d_dW, nw * 4);
    for (size_t i = 0; i < nw; i++) {
        gdW[i] -= dW0[i];
        rdW[i] -= dW0[i];
    }
    gt_cmp("bwd_weight dW (+=)", gdW, rdW, nw, bf ? 1e-3 : 5e-4, bf ? 1e-4 : 5e-5, bf ? 5e-5 : 2e-5);
    if (with_bias) {
        gt_downf(t, gdb, d_db, Nout * 4);
        for (int i = 0; i < Nout; i++) {
            gdb[i] -= db0[i];
            rdb[i] -= db0[i];
        }
        gt_cmp("bwd_weight dbias (+=)", gdb, rdb, Nout, 1e-4, 1e-5, 1e-5);
    }
    gt_guards(t, name);
    gt_free_all(t);
    free(X); free(W); free(bias); free(Y0); free(dY); free(dX0); free(dW0); free(db0);
    free(rY); free(rdX); free(rdW); free(rdb); free(gY); free(gdX); free(gdW); free(gdb);
    free(a); free(b);
}

int main(void)
{
    if (!gt_begin("test_gpu_linear")) return TU_SKIP;
    krait_dtype dts[2];
    const int ndt = gt_dtypes(dts);
    /* KRAIT_GPU_TEST_QUICK=1 (the emulated run): the real widths on fewer rows */
    const char *q = getenv("KRAIT_GPU_TEST_QUICK");
    const int m1 = q && *q && strcmp(q, "0") != 0 ? 8 : 1;
    for (int k = 0; k < ndt; k++) {
        gt t;
        krait_dims max = { .B = 1, .L = 256, .D = 1024, .E = 2048, .N = 16, .R = 64,
                           .V = 50280, .rows = 256 };
        if (!gt_open(&t, dts[k], &max)) continue;
        /* mamba-130m: D 768, E 1536, R 48, N 16 */
        linear_case(&t, "130m in_proj", 256 / m1, 3072, 768, 768, 3072, 0, 0.0f);
        linear_case(&t, "130m x_proj", 256 / m1, 80, 1536, 1536, 80, 0, 0.0f);
        linear_case(&t, "130m dt_proj (dt view of dbc)", 256 / m1, 1536, 48, 80, 1536, 1, 0.0f);
        linear_case(&t, "130m out_proj (beta 1)", 256 / m1, 768, 1536, 1536, 768, 0, 1.0f);
        linear_case(&t, "130m lm_head", 32 / m1, 50280, 768, 768, 50280, 0, 0.0f);
        /* mamba-370m: D 1024, E 2048, R 64 */
        linear_case(&t, "370m in_proj", 128 / m1, 4096, 1024, 1024, 4096, 0, 0.0f);
        linear_case(&t, "370m x_proj", 128 / m1, 96, 2048, 2048, 96, 0, 0.0f);
        linear_case(&t, "370m dt_proj (dt view)", 128 / m1, 2048, 64, 96, 2048, 1, 1.0f);
        /* one row (decode), odd everything */
        linear_case(&t, "one row", 1, 3072, 768, 768, 3072, 1, 0.0f);
        linear_case(&t, "odd", 37, 13, 29, 31, 17, 1, 1.0f);
        /* batch-1 decode: one row runs on gemv_kernel (16-byte loads: K a multiple of 8 in
         * bf16, 4 in f32, 16-byte aligned x), with 32, 64 or 128 threads per column by K */
        linear_case(&t, "decode x_proj", 1, 80, 1536, 1536, 80, 0, 0.0f);
        linear_case(&t, "decode dt_proj view", 1, 1536, 48, 80, 1536, 1, 0.0f);
        linear_case(&t, "decode out_proj (beta 1)", 1, 768, 1536, 1536, 768, 0, 1.0f);
        linear_case(&t, "decode 1.4b out_proj", 1, 2048, 4096, 4096, 2048, 0, 0.0f);
        linear_case(&t, "decode 1.4b in_proj", 1, 8192, 2048, 2048, 8192, 1, 0.0f);
        linear_case(&t, "decode odd columns", 1, 13, 64, 64, 17, 1, 1.0f);
        linear_case(&t, "decode K 36 (bf16: cuBLASLt)", 1, 100, 36, 36, 100, 0, 0.0f);
        linear_case(&t, "two rows (cuBLASLt)", 2, 96, 768, 772, 96, 1, 1.0f);
        linear_case(&t, "decode two columns a block, odd columns", 1, 13, 768, 768, 13, 1, 1.0f);
        x_off = 1;
        linear_case(&t, "one row, x off the 16-byte grid (cuBLASLt)", 1, 64, 768, 768, 64, 1, 0.0f);
        x_off = 0, w_off = 1;
        linear_case(&t, "one row, W off the 16-byte grid (cuBLASLt)", 1, 64, 768, 768, 64, 1, 0.0f);
        w_off = 0;
        linear_case(&t, "five rows (cuBLASLt)", 5, 96, 768, 768, 96, 1, 0.0f);
        gt_close(&t);
    }
    return tu_finish();
}
