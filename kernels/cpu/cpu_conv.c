/* kernels/cpu/cpu_conv.c — fast CPU causal depthwise conv1d with fused SiLU (same math as
 * ref_conv.c), forward and backward.
 *
 * Work is split by blocks of 16 channels (one vf): each thread owns a contiguous range of blocks
 * and walks the rows in order, so it reads each row's part as one contiguous run (prefetcher
 * friendly) and the weight and bias gradients of a channel are summed by one thread in (b, t)
 * order: deterministic for any thread count, with no reduction. The taps of every block are
 * transposed into K vf once per call. The backward computes dL/dpre once per step into a ring
 * of K rows per block (recomputing pre for the SiLU) and forms dx from the K rows ahead of it.
 * Not here: channel-first layouts; x is always (B, L, E) rows with stride ldx.
 */
#include "cpu_internal.h"
#include "cpu_simd.h"

#include <omp.h>

/* Per block: K taps, bias, a K-row ring of dL/dpre, K dw sums and the dbias sum (in vf). */
static size_t per_block(int K) { return 3 * (size_t)K + 2; }

size_t conv_scratch_cpu(const krait_dims *d, int nthreads)
{
    (void)nthreads;
    int K = d->K > 0 ? d->K : 0, E = d->E > 0 ? d->E : 0;
    return (size_t)((E + VL - 1) / VL) * per_block(K) * VL;
}

/* Row s of the padded input for lanes [e0, e0 + w): x for s >= 0, else the state (or zeros). */
static inline vf xx_row(const float *x, int ldx, const float *state_in, int b, int s, int e0,
                        int w, int L, int E, int K)
{
    if (s >= 0) return vload_n(x + ((size_t)b * L + s) * ldx + e0, w);
    if (!state_in) return vset1(0.0f);
    return vload_n(state_in + ((size_t)b * (K - 1) + (K - 1) + s) * E + e0, w);
}

/* wt[k] <- taps k of the block's channels; wt[K] <- their bias. */
static void load_taps(vf *wt, const float *wgt, const float *bias, int e0, int w, int K)
{
    for (int k = 0; k < K; k++) {
        float tmp[VL] = { 0 };
        for (int j = 0; j < w; j++) tmp[j] = wgt[(size_t)(e0 + j) * K + k];
        wt[k] = vload(tmp);
    }
    wt[K] = bias ? vload_n(bias + e0, w) : vset1(0.0f);
}

static inline vf pre_row(const vf *wt, const float *x, int ldx, const float *state_in,
                         int b, int t, int e0, int w, int L, int E, int K)
{
    vf acc = wt[K];
    for (int k = 0; k < K; k++)
        acc = acc + wt[k] * xx_row(x, ldx, state_in, b, t - (K - 1) + k, e0, w, L, E, K);
    return acc;
}

static inline int block_width(int blk, int E) { return E - blk * VL < VL ? E - blk * VL : VL; }

krait_status conv1d_fwd_cpu(krait_backend *be,
                            void *out_,              /* (B, L, E) */
                            float *state_out,        /* (B, K-1, E) or NULL, may alias state_in */
                            const void *x_, int ldx, /* (B, L, E) row stride ldx */
                            const float *wgt,        /* (E, K) */
                            const float *bias,       /* (E) or NULL */
                            const float *state_in,   /* (B, K-1, E) or NULL */
                            int B, int L, int E, int K, int silu)
{
    float *out = out_;
    const float *x = x_;
    int nt = cpu_threads_for(be, (double)B * L * E * K), nblk = (E + VL - 1) / VL;
    krait_dims dims = { .E = E, .K = K };
    float *scratch = cpu_scratch(be, conv_scratch_cpu(&dims, nt), "conv1d_fwd");
    if (!scratch) return KRAIT_STATUS_UNSUPPORTED;
#pragma omp parallel num_threads(nt)
    {
        int blo, bhi;
        cpu_split(nblk, omp_get_num_threads(), omp_get_thread_num(), &blo, &bhi);
        for (int blk = blo; blk < bhi; blk++)
            load_taps((vf *)scratch + blk * per_block(K), wgt, bias, blk * VL, block_width(blk, E), K);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < L; t++)
                for (int blk = blo; blk < bhi; blk++) {
                    int e0 = blk * VL, w = block_width(blk, E);
                    vf p = pre_row((vf *)scratch + blk * per_block(K), x, ldx, state_in, b, t, e0, w, L, E, K);
                    if (silu) p = p * vsigmoid(p);
                    vstore_n(out + ((size_t)b * L + t) * E + e0, p, w);
                }
            /* Row j of the new state is xx[L-(K-1)+j]; when that is an old state row it is
             * row L+j > j, so increasing j is safe when state_out aliases state_in. */
            if (state_out)
                for (int j = 0; j < K - 1; j++)
                    for (int blk = blo; blk < bhi; blk++) {
                        int e0 = blk * VL, w = block_width(blk, E);
                        vstore_n(state_out + ((size_t)b * (K - 1) + j) * E + e0,
                                 xx_row(x, ldx, state_in, b, L - (K - 1) + j, e0, w, L, E, K), w);
                    }
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status conv1d_bwd_cpu(krait_backend *be,
                            void *dx_, int ldx,      /* (B, L, E) row stride ldx */
                            float *dw,               /* (E, K) += */
                            float *dbias,            /* (E) += or NULL */
                            const void *dout_,       /* (B, L, E) */
                            const void *x_,          /* (B, L, E) row stride ldx */
                            const float *wgt, const float *bias,
                            const float *state_in,   /* (B, K-1, E) or NULL */
                            int B, int L, int E, int K, int silu)
{
    float *dx = dx_;
    const float *dout = dout_, *x = x_;
    int nt = cpu_threads_for(be, 2.0 * B * L * E * K), nblk = (E + VL - 1) / VL;
    krait_dims dims = { .E = E, .K = K };
    float *scratch = cpu_scratch(be, conv_scratch_cpu(&dims, nt), "conv1d_bwd");
    if (!scratch) return KRAIT_STATUS_UNSUPPORTED;
#pragma omp parallel num_threads(nt)
    {
        int blo, bhi;
        cpu_split(nblk, omp_get_num_threads(), omp_get_thread_num(), &blo, &bhi);
        for (int blk = blo; blk < bhi; blk++) {
            vf *wt = (vf *)scratch + blk * per_block(K), *dwacc = wt + 2 * K + 1;
            load_taps(wt, wgt, bias, blk * VL, block_width(blk, E), K);
            for (int k = 0; k <= K; k++) dwacc[k] = vset1(0.0f);   /* K dw sums, then dbias */
        }
        for (int b = 0; b < B; b++)
            /* ring[t % K] = dL/dpre at step t (zero past the end), filled K-1 steps ahead of dx. */
            for (int t = 0; t < L + K - 1; t++)
                for (int blk = blo; blk < bhi; blk++) {
                    int e0 = blk * VL, w = block_width(blk, E);
                    vf *wt = (vf *)scratch + blk * per_block(K), *ring = wt + K + 1, *dwacc = ring + K;
                    vf g = vset1(0.0f);
                    if (t < L) {
                        g = vload_n(dout + ((size_t)b * L + t) * E + e0, w);
                        if (silu) {
                            vf p = pre_row(wt, x, ldx, state_in, b, t, e0, w, L, E, K);
                            vf sg = vsigmoid(p);
                            g = g * (sg * (1.0f + p * (1.0f - sg)));
                        }
                        dwacc[K] = dwacc[K] + g;
                        for (int k = 0; k < K; k++)
                            dwacc[k] = dwacc[k] +
                                       g * xx_row(x, ldx, state_in, b, t - (K - 1) + k, e0, w, L, E, K);
                    }
                    ring[t % K] = g;
                    int s = t - (K - 1);   /* dx[s] needs dpre[s .. s+K-1] = ring up to t */
                    if (s < 0) continue;
                    vf acc = vset1(0.0f);
                    for (int k = 0; k < K; k++) acc = acc + ring[(s + K - 1 - k) % K] * wt[k];
                    vstore_n(dx + ((size_t)b * L + s) * ldx + e0, acc, w);
                }
        for (int blk = blo; blk < bhi; blk++) {
            int e0 = blk * VL, w = block_width(blk, E);
            const vf *dwacc = (vf *)scratch + blk * per_block(K) + 2 * K + 1;
            for (int j = 0; j < w; j++) {
                for (int k = 0; k < K; k++) dw[(size_t)(e0 + j) * K + k] += dwacc[k][j];
                if (dbias) dbias[e0 + j] += dwacc[K][j];
            }
        }
    }
    return KRAIT_STATUS_OK;
}
