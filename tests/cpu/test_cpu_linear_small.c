/* tests/cpu/test_cpu_linear_small.c — the fast backend's few-row forward dense layer
 * (cpu_linear_small.c) against the reference on fresh random inputs:
 *   - the decode shapes of the 130m model (in_proj, x_proj, dt_proj from the dbc view, out_proj,
 *     a head-sized odd vocabulary) and odd ones (M = 1..32, K not a multiple of 16, K < 16,
 *     Nout not a multiple of 4, strided X and Y), with and without bias, beta 0 and 1;
 *     outputs start NaN-filled (beta 0 must not read them) and the columns beyond Nout of a
 *     strided Y must stay untouched;
 *   - batch invariance: row i of an M-row product is bit-identical to the same row alone, and
 *     to a run with another thread count (what makes batched greedy decoding equal decoding
 *     one sequence at a time).
 * Tolerance: fp32 dot products of length K against the reference's double accumulation; the
 * error is a few ulps times sqrt(K) of the terms' magnitudes, so |got - want| <= 1e-5 |want| +
 * 1e-5 max|want| (relative to the tensor) catches any wrong index or missed tail term. */
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

int main(void)
{
    tu_init("test_cpu_linear_small");
    krait_backend *ref = krait_backend_cpu_ref_init(), *fast = krait_backend_cpu_init(2),
                  *fast1 = krait_backend_cpu_init(1);
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
    krait_backend_destroy(ref);
    krait_backend_destroy(fast);
    krait_backend_destroy(fast1);
    return tu_finish();
}
