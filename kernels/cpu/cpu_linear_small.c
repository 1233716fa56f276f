/* kernels/cpu/cpu_linear_small.c — the fast CPU forward dense layer for few rows
 * (M <= LINEAR_SMALL_M_CPU): the shape of a decode step, where every weight is used by at most a
 * few dozen rows and the product is bound by streaming W from memory.
 *
 *   Y (M, Nout) = beta Y + X W^T (+ bias)
 *
 * OpenBLAS packs W before multiplying, which for M = 1 costs more than the product itself. Here
 * each thread owns a contiguous range of output columns (rows of W), reads each of its W rows
 * once, and multiplies it with every row of X while it is in L1: tiles of up to 4 X rows x 4 W
 * rows, 16 vector accumulators, K in steps of 16 lanes, the 16 lane sums of a full tile done
 * together (vhsum16).
 *
 * Every output Y[i, j] is computed with the same arithmetic whatever M, the tile it falls in or
 * the thread count: one 16-lane accumulator over K in order (FMA), the tail zero-padded, then the
 * fixed pairwise lane sum of vhsum (vhsum16 adds the same pairs), then + bias, then + the old Y. So a row's result does not
 * depend on the other rows of the batch: batched decoding gives the same tokens as decoding one
 * sequence at a time, bit for bit.
 *
 * Not here: the backward products and large M (cpu_linear.c, OpenBLAS).
 */
#include "cpu_internal.h"
#include "cpu_simd.h"

#include <omp.h>

/* The lane sums of 16 vectors at once: lane L of the result is vhsum(v[L]), bit for bit. Each
 * level adds the same pairs of lanes as vhsum's fixed tree (t[j] += t[j + w], w = 8, 4, 2, 1),
 * packing two half-reduced vectors into one: 45 vector operations instead of 16 x 15 scalar
 * adds. Lane bookkeeping: after the w = 8 level, c[m] holds v[2m] in lanes 0-7 and v[2m+1] in
 * 8-15; after w = 4, g[m] holds v[4m..4m+3] in quarters; after w = 2, p[m] holds v[8m + k] in
 * lanes 2k, 2k+1; after w = 1, lane L holds v[L]. */
static inline vf vhsum16(const vf v[16])
{
    vf c[8], g[4], p[2];
    for (int m = 0; m < 8; m++)
        c[m] = __builtin_shufflevector(v[2 * m], v[2 * m + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
               __builtin_shufflevector(v[2 * m], v[2 * m + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    for (int m = 0; m < 4; m++)
        g[m] = __builtin_shufflevector(c[2 * m], c[2 * m + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
               __builtin_shufflevector(c[2 * m], c[2 * m + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    for (int m = 0; m < 2; m++)
        p[m] = __builtin_shufflevector(g[2 * m], g[2 * m + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29) +
               __builtin_shufflevector(g[2 * m], g[2 * m + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
    return __builtin_shufflevector(p[0], p[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) +
           __builtin_shufflevector(p[0], p[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

/* Dot products of MR rows of X with NR rows of W over K; out[i * NR + c] for i < MR, c < NR.
 * Called with constant MR, NR so the accumulators stay in registers. */
static inline __attribute__((always_inline)) void dot_tile(float *out, const float *X, int ldx,
                                                           const float *W, int K, int MR, int NR)
{
    vf acc[4][4];
    for (int i = 0; i < MR; i++)
        for (int c = 0; c < NR; c++) acc[i][c] = vset1(0.0f);
    int k = 0;
    for (; k + VL <= K; k += VL) {
        vf w[4];
        for (int c = 0; c < NR; c++) w[c] = vload(W + (size_t)c * K + k);
        for (int i = 0; i < MR; i++) {
            vf x = vload(X + (size_t)i * ldx + k);
            for (int c = 0; c < NR; c++) acc[i][c] += x * w[c];
        }
    }
    if (k < K) {
        int t = K - k;
        vf w[4];
        for (int c = 0; c < NR; c++) w[c] = vload_n(W + (size_t)c * K + k, t);
        for (int i = 0; i < MR; i++) {
            vf x = vload_n(X + (size_t)i * ldx + k, t);
            for (int c = 0; c < NR; c++) acc[i][c] += x * w[c];
        }
    }
    if (MR == 4 && NR == 4) {
        vf v[16];
        for (int i = 0; i < 4; i++)
            for (int c = 0; c < 4; c++) v[i * 4 + c] = acc[i][c];
        vstore(out, vhsum16(v));
        return;
    }
    for (int i = 0; i < MR; i++)
        for (int c = 0; c < NR; c++) out[i * NR + c] = vhsum(acc[i][c]);
}

/* Y[i0.., j0..] for MR rows and NR columns from the dots. */
static inline void store_tile(float *Y, int ldy, const float *dots, const float *bias, int j0,
                              int MR, int NR, float beta)
{
    for (int i = 0; i < MR; i++)
        for (int c = 0; c < NR; c++) {
            float v = dots[i * NR + c];
            if (bias) v += bias[j0 + c];
            float *y = Y + (size_t)i * ldy + j0 + c;
            *y = beta != 0.0f ? *y + v : v;
        }
}

/* Columns [j0, j1) for all M rows. */
static void columns(float *Y, int ldy, const float *X, int ldx, const float *W, const float *bias,
                    int M, int K, int j0, int j1, float beta)
{
    float dots[16];
    int j = j0;
    for (; j + 4 <= j1; j += 4) {
        const float *w = W + (size_t)j * K;
        int i = 0;
        for (; i + 4 <= M; i += 4) {
            dot_tile(dots, X + (size_t)i * ldx, ldx, w, K, 4, 4);
            store_tile(Y + (size_t)i * ldy, ldy, dots, bias, j, 4, 4, beta);
        }
        for (; i < M; i++) {
            dot_tile(dots, X + (size_t)i * ldx, ldx, w, K, 1, 4);
            store_tile(Y + (size_t)i * ldy, ldy, dots, bias, j, 1, 4, beta);
        }
    }
    for (; j < j1; j++) {
        const float *w = W + (size_t)j * K;
        int i = 0;
        for (; i + 4 <= M; i += 4) {
            dot_tile(dots, X + (size_t)i * ldx, ldx, w, K, 4, 1);
            store_tile(Y + (size_t)i * ldy, ldy, dots, bias, j, 4, 1, beta);
        }
        for (; i < M; i++) {
            dot_tile(dots, X + (size_t)i * ldx, ldx, w, K, 1, 1);
            store_tile(Y + (size_t)i * ldy, ldy, dots, bias, j, 1, 1, beta);
        }
    }
}

krait_status linear_fwd_small_cpu(krait_backend *be,
                                  void *Y_, int ldy,         /* (M, Nout) */
                                  const void *X_, int ldx,   /* (M, K) */
                                  const void *W_,            /* (Nout, K) */
                                  const float *bias,         /* (Nout) or NULL */
                                  int M, int Nout, int K, float beta)
{
    float *Y = Y_;
    const float *X = X_, *W = W_;
    if (M <= 0 || Nout <= 0) return KRAIT_STATUS_OK;
    const int blocks = (Nout + 3) / 4;
    /* a thread per ~32 KB of W at least: tiny products stay on one thread */
    int nth = cpu_threads(be);
    long per = (long)blocks * 4 * K / 8192 + 1;
    if (per < nth) nth = (int)per;
#pragma omp parallel num_threads(nth)
    {
        int lo, hi;
        cpu_split(blocks, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        int j1 = 4 * hi < Nout ? 4 * hi : Nout;
        if (4 * lo < j1) columns(Y, ldy, X, ldx, W, bias, M, K, 4 * lo, j1, beta);
    }
    return KRAIT_STATUS_OK;
}
