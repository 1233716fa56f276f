/* kernels/cpu/cpu_decode.c — the fast CPU backend's kernels for the shapes of a decode step
 * (one token for each of a few dozen sequences), where the general kernels pay set-up costs
 * larger than the work:
 *
 * 1. linear_fwd_small_cpu, the forward dense layer for M <= LINEAR_SMALL_M_CPU rows,
 *      Y (M, Nout) = beta Y + X W^T (+ bias)
 *    OpenBLAS packs W before multiplying, which for M = 1 costs more than the product itself.
 *    Here each thread owns a contiguous range of output columns (rows of W), reads each of its
 *    W rows once, and multiplies it with every row of X while it is in L1: tiles of up to 4 X
 *    rows x 4 W rows, 16 vector accumulators, K in steps of 16 lanes, the 16 lane sums of a full
 *    tile done together (vhsum16).
 *    Every output Y[i, j] is computed with the same arithmetic whatever M, the tile it falls in
 *    or the thread count: one 16-lane accumulator over K in order (FMA), the tail zero-padded,
 *    then the fixed pairwise lane sum of vhsum (vhsum16 adds the same pairs), then + bias, then
 *    + the old Y. So a row's result does not depend on the other rows of the batch: batched
 *    decoding gives the same tokens as decoding one sequence at a time, bit for bit.
 *
 * 2. ssm_scan_step_cpu, the selective scan for L = 1 and N = 16 (the state (B, E, N) of one
 *    channel is one 16-lane vector, so the update is whole-vector math on the state in place):
 *      a = 2^(delta A log2 e);  h = a h + (delta u) Bm;  y = <h, Cm> + Dskip u
 *    cpu_scan.c's general path instead transposes 16 channels' states into lanes and recomputes
 *    A = -exp(A_log) per (sequence, block), which at L = 1 costs several times the step. Here A
 *    is computed once per 16-channel block and reused for every sequence, and the 16 channels'
 *    <h, Cm> are summed together (vhsum16). A channel's result does not depend on B.
 *
 * Not here: backward products, large M (cpu_linear.c, OpenBLAS), scans over L > 1 (cpu_scan.c).
 */
#include "cpu_internal.h"
#include "cpu_simd.h"
#include "log.h"

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

#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 8192
#endif

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
        /* W streams from memory once; the hardware prefetcher alone leaves a fifth of the read
         * bandwidth unused on one or two cores (measured), so ask for the line PREFETCH_AHEAD
         * bytes further on in the sweep into L2 (T2) */
        for (int c = 0; c < NR; c++) __builtin_prefetch((const char *)(W + (size_t)c * K + k) + PREFETCH_AHEAD, 0, 1);
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

/* ---- 1. few-row dense layer ------------------------------------------------------------------ */

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
    const int nth = cpu_threads_for(be, (double)M * Nout * K);
#pragma omp parallel num_threads(nth)
    {
        int lo, hi;
        cpu_split(blocks, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        int j1 = 4 * hi < Nout ? 4 * hi : Nout;
        if (4 * lo < j1) columns(Y, ldy, X, ldx, W, bias, M, K, 4 * lo, j1, beta);
    }
    return KRAIT_STATUS_OK;
}

/* ---- 2. one scan step --------------------------------------------------------------------------- */

#define LOG2E_STEP 1.44269504088896341f

/* Channels [e0, e0 + w) of every sequence. */
static void scan_step_block(float *y, float *h_last, float *h_chunks, const float *u, const float *delta,
                            const float *A_log, const float *Bm, const float *Cm, int ldbc,
                            const float *Dskip, const float *h0, int B, int E, int e0, int w)
{
    vf A2[VL]; /* A[e, :] log2 e for the block's channels */
    for (int j = 0; j < w; j++) A2[j] = -vexp(vload(A_log + (size_t)(e0 + j) * VL)) * LOG2E_STEP;
    const vf dsk = Dskip ? vload_n(Dskip + e0, w) : vset1(0.0f);
    for (int b = 0; b < B; b++) {
        const size_t i = (size_t)b * E + e0;
        const vf Bv = vload(Bm + (size_t)b * ldbc), Cv = vload(Cm + (size_t)b * ldbc);
        vf prod[VL];
        for (int j = 0; j < w; j++) {
            const size_t s = (i + j) * VL;
            const float d = delta[i + j];
            vf h = h0 ? vload(h0 + s) : vset1(0.0f);
            if (h_chunks) vstore(h_chunks + s, h); /* the state before the (only) chunk */
            h = vexp2_np(A2[j] * d) * h + Bv * (d * u[i + j]);
            if (h_last) vstore(h_last + s, h);
            prod[j] = h * Cv;
        }
        for (int j = w; j < VL; j++) prod[j] = vset1(0.0f);
        vstore_n(y + i, vhsum16(prod) + dsk * vload_n(u + i, w), w);
    }
}

krait_status ssm_scan_step_cpu(krait_backend *be,
                               void *y_,               /* (B, 1, E) */
                               float *h_last,          /* (B, E, N) or NULL, may alias h0 */
                               float *h_chunks,        /* (B, 1, E, N) or NULL */
                               const void *u_,         /* (B, 1, E) */
                               const void *delta_,     /* (B, 1, E) */
                               const float *A_log,     /* (E, N) */
                               const void *Bm_,        /* (B, 1, N) row stride ldbc */
                               const void *Cm_,        /* (B, 1, N) row stride ldbc */
                               int ldbc,
                               const float *Dskip,     /* (E) or NULL */
                               const float *h0,        /* (B, E, N) or NULL */
                               int B, int E, int N)
{
    float *y = y_;
    const float *u = u_, *delta = delta_, *Bm = Bm_, *Cm = Cm_;
    if (N != VL) {
        KRAIT_ERROR("cpu: the one-step scan needs N == %d (got %d)", VL, N);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    const int nblk = (E + VL - 1) / VL;
    int nth = cpu_threads_for(be, 4.0 * B * E * N);
    if (nblk < nth) nth = nblk;
#pragma omp parallel for num_threads(nth) schedule(static)
    for (int k = 0; k < nblk; k++) {
        int e0 = k * VL, w = E - e0 < VL ? E - e0 : VL;
        scan_step_block(y, h_last, h_chunks, u, delta, A_log, Bm, Cm, ldbc, Dskip, h0, B, E, e0, w);
    }
    return KRAIT_STATUS_OK;
}
