/* kernels/cpu/cpu_scan.c — the fast CPU selective scan, forward and backward (same math as
 * ref_scan.c; see there for the adjoint equations).
 *
 * Layout: u, delta, y are (B, L, E) with E contiguous, so one vf holds 16 consecutive channels of
 * one token. A "block" is (b, 16 channels); its N states are N vf in L1 (N = 16 is compiled as
 * its own specialisation so that the state loop unrolls). Bm_t[n] and Cm_t[n]
 * are scalars broadcast to all lanes. exp(delta A) is computed as 2^(delta A log2 e) with
 * vexp2_np. A last, narrower block (E not a multiple of 16) runs with zero-padded lanes, which
 * stay exactly zero through the recurrence.
 *
 * Forward: blocks in parallel (static), each walks all L steps, storing y, the chunk-boundary
 * states and h_last. Backward: never stores (B, L, E, N). Each thread owns a fixed range of
 * blocks and walks b and the chunks from last to first; per chunk and block it recomputes the
 * states exactly as the forward did, keeping the decays a_t and the products a_t h_{t-1} in a
 * per-thread chunk buffer (and adding dy h lane-wise into per-thread (chunk, N) vectors on the
 * way, since dCm needs no adjoint), then runs the adjoint backwards, adding g delta u into a
 * second set of (chunk, N) vectors. It then sums the lanes of both (fixed tree) into its own
 * (B, L, N) partials. After the one barrier the threads' partials are
 * added in thread order into dBm and dCm, so the result is bitwise deterministic for a given
 * thread count. dA and dD stay per channel (no reduction). The loops prefetch the strided
 * (B, L, E) rows a few steps ahead.
 * Not here: anything for act dtypes other than fp32.
 */
#include "cpu_internal.h"
#include "cpu_simd.h"
#include "log.h"

#include <math.h>
#include <omp.h>

#define LOG2E 1.44269504088896341f
/* A block reads 64 bytes of each (B, L, E) row, rows E * 4 bytes apart: too far apart for the
 * hardware prefetchers, so the loops prefetch the rows this many steps ahead. */
#define PREFETCH_ROWS 12

static int nblocks(int E) { return (E + VL - 1) / VL; }

size_t scan_fwd_scratch_cpu(const krait_dims *d, int nthreads)
{
    return (size_t)nthreads * 2 * (size_t)d->N * VL;                /* A2, h per thread */
}

/* Per thread: h (N), ahs, as, dBp, dCp (chunk N each), each buffer
 * followed by BUF_PAD vf so that the same (k, n) of different buffers never sits at the same
 * offset modulo 4 KiB (which would alias loads with stores and crowd one cache set). */
#define BUF_PAD 7
static size_t bwd_per_thread(size_t N, size_t chunk)
{
    return N + 4 * chunk * N + 4 * BUF_PAD;   /* in vf */
}

/* ... plus, shared per block: A, A2, gcarry, dA (N each) and dD (1) (in vf), plus per thread
 * its lane-reduced partial dBm and dCm for every (b, t, n). In floats. */
static size_t bwd_partials(size_t B, size_t L, size_t N) { return 2 * B * L * N; }

size_t scan_bwd_scratch_cpu(const krait_dims *d, int nthreads)
{
    size_t N = (size_t)d->N, BL = (size_t)d->B * (size_t)d->L;
    if ((size_t)d->rows > BL) BL = (size_t)d->rows;
    return ((size_t)nthreads * bwd_per_thread(N, (size_t)d->chunk) + (size_t)nblocks(d->E) * (4 * N + 1)) * VL +
           (size_t)nthreads * bwd_partials(BL, 1, N);
}

/* A2[n] = A[e, n] log2 e and (if A != NULL) A[n] = -exp(A_log[e, n]) for the block's lanes
 * (zero in lanes >= w). Lanes go through a float buffer: inserting them one by one into a
 * vector register is far slower. */
static void load_A(vf *A2, vf *A, const float *A_log, int e0, int w, int N)
{
    for (int n = 0; n < N; n++) {
        float tmp[VL] = { 0 };
        for (int j = 0; j < w; j++) tmp[j] = -expf(A_log[(size_t)(e0 + j) * N + n]);
        vf a = vload(tmp);
        A2[n] = a * LOG2E;
        if (A) A[n] = a;
    }
}

/* h[n] lanes <- src[(e0 + j) * N + n] (a (E, N) slab), zero when src is NULL. */
static void gather_state(vf *h, const float *src, int e0, int w, int N)
{
    for (int n = 0; n < N; n++) {
        float tmp[VL] = { 0 };
        if (src)
            for (int j = 0; j < w; j++) tmp[j] = src[(size_t)(e0 + j) * N + n];
        h[n] = vload(tmp);
    }
}

static void scatter_state(float *dst, const vf *h, int e0, int w, int N)
{
    for (int n = 0; n < N; n++) {
        float tmp[VL];
        vstore(tmp, h[n]);
        for (int j = 0; j < w; j++) dst[(size_t)(e0 + j) * N + n] = tmp[j];
    }
}

/* One block, all L steps. N is a compile-time constant at the N = 16 call site. */
static inline __attribute__((always_inline)) void
scan_fwd_block(float *y, float *h_last, float *h_chunks, const float *u, const float *delta,
               const float *A_log, const float *Bm, const float *Cm, int ldbc, const float *Dskip,
               const float *h0, int b, int e0, int w, int L, int E, int N, int chunk,
               vf *A2, vf *h)
{
    int nch = (L + chunk - 1) / chunk;
    load_A(A2, NULL, A_log, e0, w, N);
    gather_state(h, h0 ? h0 + (size_t)b * E * N : NULL, e0, w, N);
    vf dsk = vset1(0.0f);
    if (Dskip) dsk = vload_n(Dskip + e0, w);
    for (int t = 0; t < L; t++) {
        if (h_chunks && t % chunk == 0)
            scatter_state(h_chunks + ((size_t)b * nch + t / chunk) * E * N, h, e0, w, N);
        size_t i = ((size_t)b * L + t) * E + e0;
        if (t + PREFETCH_ROWS < L) {
            __builtin_prefetch(delta + i + (size_t)PREFETCH_ROWS * E);
            __builtin_prefetch(u + i + (size_t)PREFETCH_ROWS * E);
        }
        const float *Brow = Bm + ((size_t)b * L + t) * ldbc, *Crow = Cm + ((size_t)b * L + t) * ldbc;
        vf d = vload_n(delta + i, w), uu = vload_n(u + i, w);
        /* Four partial sums of C h break the dependency chain through y. */
        vf du = d * uu, acc0 = dsk * uu, acc1 = vset1(0.0f), acc2 = acc1, acc3 = acc1;
        int n = 0;
#pragma GCC unroll 4
        for (; n + 4 <= N; n += 4) {
            vf a0 = vexp2_np(d * A2[n]), a1 = vexp2_np(d * A2[n + 1]);
            vf a2 = vexp2_np(d * A2[n + 2]), a3 = vexp2_np(d * A2[n + 3]);
            h[n] = a0 * h[n] + du * Brow[n];
            h[n + 1] = a1 * h[n + 1] + du * Brow[n + 1];
            h[n + 2] = a2 * h[n + 2] + du * Brow[n + 2];
            h[n + 3] = a3 * h[n + 3] + du * Brow[n + 3];
            acc0 = acc0 + h[n] * Crow[n];
            acc1 = acc1 + h[n + 1] * Crow[n + 1];
            acc2 = acc2 + h[n + 2] * Crow[n + 2];
            acc3 = acc3 + h[n + 3] * Crow[n + 3];
        }
        for (; n < N; n++) {
            h[n] = vexp2_np(d * A2[n]) * h[n] + du * Brow[n];
            acc0 = acc0 + h[n] * Crow[n];
        }
        vstore_n(y + i, (acc0 + acc1) + (acc2 + acc3), w);
    }
    if (h_last) scatter_state(h_last + (size_t)b * E * N, h, e0, w, N);
}

krait_status ssm_scan_fwd_cpu(krait_backend *be,
                              void *y_,               /* (B, L, E) */
                              float *h_last,          /* (B, E, N) or NULL, may alias h0 */
                              float *h_chunks,        /* (B, nchunks, E, N) or NULL */
                              const void *u_,         /* (B, L, E) */
                              const void *delta_,     /* (B, L, E) */
                              const float *A_log,     /* (E, N) */
                              const void *Bm_,        /* (B, L, N) row stride ldbc */
                              const void *Cm_,        /* (B, L, N) row stride ldbc */
                              int ldbc,
                              const float *Dskip,     /* (E) or NULL */
                              const float *h0,        /* (B, E, N) or NULL */
                              int B, int L, int E, int N, int chunk)
{
    float *y = y_;
    const float *u = u_, *delta = delta_, *Bm = Bm_, *Cm = Cm_;
    if (L == 1 && N == VL) /* a decode step: cpu_decode.c */
        return ssm_scan_step_cpu(be, y_, h_last, h_chunks, u_, delta_, A_log, Bm_, Cm_, ldbc, Dskip, h0, B, E, N);
    int nt = cpu_threads(be), nblk = nblocks(E);
    krait_dims d = { .N = N };
    float *scratch = cpu_scratch(be, scan_fwd_scratch_cpu(&d, nt), "ssm_scan_fwd");
    if (!scratch) return KRAIT_STATUS_UNSUPPORTED;

#pragma omp parallel num_threads(nt)
    {
        vf *A2 = (vf *)scratch + (size_t)omp_get_thread_num() * 2 * N, *h = A2 + N;
#pragma omp for schedule(static)
        for (int item = 0; item < B * nblk; item++) {
            int b = item / nblk, e0 = (item % nblk) * VL;
            int w = E - e0 < VL ? E - e0 : VL;
            if (N == 16) {
                vf hreg[16];
                scan_fwd_block(y, h_last, h_chunks, u, delta, A_log, Bm, Cm, ldbc, Dskip, h0,
                               b, e0, w, L, E, 16, chunk, A2, hreg);
            } else {
                scan_fwd_block(y, h_last, h_chunks, u, delta, A_log, Bm, Cm, ldbc, Dskip, h0,
                               b, e0, w, L, E, N, chunk, A2, h);
            }
        }
    }
    return KRAIT_STATUS_OK;
}

/* Per-thread views into the backward scratch. */
typedef struct bwd_bufs {
    vf *A, *A2;      /* (N) of the current block (shared arrays) */
    vf *h;           /* (N) running state of the recompute */
    vf *ahs;         /* (chunk, N): a_t h_{t-1} of step t0 + k */
    vf *as;          /* (chunk, N): decay a_t of step t0 + k */
    vf *dBp, *dCp;   /* (chunk, N) lane-wise partial sums over this thread's blocks */
} bwd_bufs;

static bwd_bufs bufs_for(float *scratch, size_t per_thread, int th, int N, int chunk)
{
    bwd_bufs bb;
    bb.A = bb.A2 = NULL;
    bb.h = (vf *)scratch + (size_t)th * per_thread;
    bb.ahs = bb.h + N + BUF_PAD;
    bb.as = bb.ahs + (size_t)chunk * N + BUF_PAD;
    bb.dBp = bb.as + (size_t)chunk * N + BUF_PAD;
    bb.dCp = bb.dBp + (size_t)chunk * N + BUF_PAD;
    return bb;
}

/* One block, one chunk [t0, t1): recompute, then the adjoint from t1 - 1 down to t0. */
static inline __attribute__((always_inline)) void
scan_bwd_block(float *du, float *ddelta, const float *dy, const float *u, const float *delta,
               const float *Bm, const float *Cm, int ldbc, const float *Dskip,
               const float *hstart, const bwd_bufs *bb, vf *gc, vf *dA, vf *dD,
               int b, int e0, int w, int t0, int t1, int L, int E, int N)
{
    vf *h = bb->h, *ahs = bb->ahs, *as = bb->as, *A = bb->A, *A2 = bb->A2;
    vf *dBp = bb->dBp, *dCp = bb->dCp;
    gather_state(h, hstart, e0, w, N);
    for (int t = t0; t < t0 + PREFETCH_ROWS && t < t1; t++) {
        __builtin_prefetch(delta + ((size_t)b * L + t) * E + e0);
        __builtin_prefetch(u + ((size_t)b * L + t) * E + e0);
        __builtin_prefetch(dy + ((size_t)b * L + t) * E + e0);
    }
    /* Recompute: the decays a_t and the products a_t h_{t-1}, and (needing no adjoint) the
     * lane-wise dCm partials dy_t h_t. h itself is computed exactly as the forward does. */
    for (int t = t0; t < t1; t++) {
        int k = t - t0;
        size_t i = ((size_t)b * L + t) * E + e0;
        if (t + PREFETCH_ROWS < t1) {
            __builtin_prefetch(delta + i + (size_t)PREFETCH_ROWS * E);
            __builtin_prefetch(u + i + (size_t)PREFETCH_ROWS * E);
            __builtin_prefetch(dy + i + (size_t)PREFETCH_ROWS * E);
        }
        const float *Brow = Bm + ((size_t)b * L + t) * ldbc;
        vf d = vload_n(delta + i, w), dU = d * vload_n(u + i, w), g_y = vload_n(dy + i, w);
        vf *ap = as + (size_t)k * N, *ahp = ahs + (size_t)k * N, *cp = dCp + (size_t)k * N;
#pragma GCC unroll 16
        for (int n = 0; n < N; n++) {
            vf a = vexp2_np(d * A2[n]);
            ap[n] = a;
            ahp[n] = a * h[n];
            h[n] = a * h[n] + dU * Brow[n];
            cp[n] = cp[n] + g_y * h[n];
        }
    }
    vf dsk = Dskip ? vload_n(Dskip + e0, w) : vset1(0.0f), dDacc = *dD;
    for (int t = t1 - 1; t >= t0; t--) {
        int k = t - t0;
        size_t i = ((size_t)b * L + t) * E + e0;
        if (t - PREFETCH_ROWS >= t0) __builtin_prefetch(dy + i - (size_t)PREFETCH_ROWS * E);
        const float *Brow = Bm + ((size_t)b * L + t) * ldbc, *Crow = Cm + ((size_t)b * L + t) * ldbc;
        vf d = vload_n(delta + i, w), uu = vload_n(u + i, w), g_y = vload_n(dy + i, w);
        vf dU = d * uu, S1[2] = { vset1(0.0f), vset1(0.0f) }, S2[2] = { vset1(0.0f), vset1(0.0f) };
        vf *ap = as + (size_t)k * N, *ahp = ahs + (size_t)k * N, *bp = dBp + (size_t)k * N;
#pragma GCC unroll 16
        for (int n = 0; n < N; n++) {
            vf g = g_y * Crow[n] + gc[n];
            S1[n & 1] = S1[n & 1] + g * Brow[n];
            vf gah = g * ahp[n];
            S2[n & 1] = S2[n & 1] + A[n] * gah;
            dA[n] = dA[n] + d * gah;
            bp[n] = bp[n] + g * dU;
            gc[n] = ap[n] * g;
        }
        vf s1 = S1[0] + S1[1];
        vstore_n(du + i, dsk * g_y + d * s1, w);
        vstore_n(ddelta + i, uu * s1 + (S2[0] + S2[1]), w);
        dDacc = dDacc + g_y * uu;
    }
    *dD = dDacc;
}

krait_status ssm_scan_bwd_cpu(krait_backend *be,
                              void *du_,              /* (B, L, E) */
                              void *ddelta_,          /* (B, L, E) */
                              void *dBm_,             /* (B, L, N) row stride ldbc */
                              void *dCm_,             /* (B, L, N) row stride ldbc */
                              float *dA_log,          /* (E, N) += */
                              float *dD,              /* (E) += or NULL */
                              const void *dy_,        /* (B, L, E) */
                              const void *u_, const void *delta_, const float *A_log,
                              const void *Bm_, const void *Cm_, int ldbc,
                              const float *Dskip,     /* (E) or NULL */
                              const float *h_chunks,  /* (B, nchunks, E, N) */
                              int B, int L, int E, int N, int chunk)
{
    float *du = du_, *ddelta = ddelta_, *dBm = dBm_, *dCm = dCm_;
    const float *dy = dy_, *u = u_, *delta = delta_, *Bm = Bm_, *Cm = Cm_;
    int nt = cpu_threads(be), nblk = nblocks(E), nch = (L + chunk - 1) / chunk;
    krait_dims dims = { .B = B, .L = L, .E = E, .N = N, .chunk = chunk };
    float *scratch = cpu_scratch(be, scan_bwd_scratch_cpu(&dims, nt), "ssm_scan_bwd");
    if (!scratch) return KRAIT_STATUS_UNSUPPORTED;
    size_t per_thread = bwd_per_thread((size_t)N, (size_t)chunk);
    vf *gcarry = (vf *)scratch + (size_t)nt * per_thread;   /* (nblk, N) */
    vf *dAacc = gcarry + (size_t)nblk * N;                  /* (nblk, N) */
    vf *Aall = dAacc + (size_t)nblk * N;                    /* (nblk, N) */
    vf *A2all = Aall + (size_t)nblk * N;                    /* (nblk, N) */
    vf *dDacc = A2all + (size_t)nblk * N;                   /* (nblk) */
    float *partials = (float *)(dDacc + nblk);              /* (nthreads, 2, B, L, N) */
    size_t np = bwd_partials((size_t)B, (size_t)L, (size_t)N);

#pragma omp parallel num_threads(nt)
    {
        int nth = omp_get_num_threads(), tid = omp_get_thread_num(), blo, bhi;
        cpu_split(nblk, nth, tid, &blo, &bhi);
        bwd_bufs bb = bufs_for(scratch, per_thread, tid, N, chunk);
        for (int blk = blo; blk < bhi; blk++) {
            int e0 = blk * VL, w = E - e0 < VL ? E - e0 : VL;
            load_A(A2all + (size_t)blk * N, Aall + (size_t)blk * N, A_log, e0, w, N);
            for (int n = 0; n < N; n++) dAacc[(size_t)blk * N + n] = vset1(0.0f);
            dDacc[blk] = vset1(0.0f);
        }
        for (int b = 0; b < B; b++) {
            for (int blk = blo; blk < bhi; blk++)
                for (int n = 0; n < N; n++) gcarry[(size_t)blk * N + n] = vset1(0.0f);
            for (int c = nch - 1; c >= 0; c--) {
                int t0 = c * chunk, t1 = t0 + chunk < L ? t0 + chunk : L, len = t1 - t0;
                const float *hstart = h_chunks + ((size_t)b * nch + c) * E * N;
                for (size_t i = 0; i < (size_t)len * N; i++) bb.dBp[i] = bb.dCp[i] = vset1(0.0f);
                for (int blk = blo; blk < bhi; blk++) {
                    int e0 = blk * VL, w = E - e0 < VL ? E - e0 : VL;
                    bb.A = Aall + (size_t)blk * N;
                    bb.A2 = A2all + (size_t)blk * N;
                    vf *gc = gcarry + (size_t)blk * N, *dA = dAacc + (size_t)blk * N;
                    if (N == 16)
                        scan_bwd_block(du, ddelta, dy, u, delta, Bm, Cm, ldbc, Dskip, hstart, &bb,
                                       gc, dA, &dDacc[blk], b, e0, w, t0, t1, L, E, 16);
                    else
                        scan_bwd_block(du, ddelta, dy, u, delta, Bm, Cm, ldbc, Dskip, hstart, &bb,
                                       gc, dA, &dDacc[blk], b, e0, w, t0, t1, L, E, N);
                }
                /* Lanes of this thread's chunk partials -> its (b, t, n) partials. */
                float *pb = partials + (size_t)tid * np + ((size_t)b * L + t0) * N;
                float *pc = pb + np / 2;
                for (size_t i = 0; i < (size_t)len * N; i++) {
                    pb[i] = vhsum(bb.dBp[i]);
                    pc[i] = vhsum(bb.dCp[i]);
                }
            }
        }
#pragma omp barrier
        /* dBm, dCm: the threads' partials added in thread order (deterministic per count). */
        int rlo, rhi;
        cpu_split(B * L, nth, tid, &rlo, &rhi);
        for (int r = rlo; r < rhi; r++)
            for (int n = 0; n < N; n++) {
                float sb = 0.0f, sc = 0.0f;
                for (int th = 0; th < nth; th++) {
                    const float *pb = partials + (size_t)th * np + (size_t)r * N + n;
                    sb += pb[0];
                    sc += pb[np / 2];
                }
                dBm[(size_t)r * ldbc + n] = sb;
                dCm[(size_t)r * ldbc + n] = sc;
            }
        for (int blk = blo; blk < bhi; blk++) {
            int e0 = blk * VL, w = E - e0 < VL ? E - e0 : VL;
            for (int j = 0; j < w; j++) {
                for (int n = 0; n < N; n++)
                    dA_log[(size_t)(e0 + j) * N + n] += dAacc[(size_t)blk * N + n][j] * Aall[(size_t)blk * N + n][j];
                if (dD) dD[e0 + j] += dDacc[blk][j];
            }
        }
    }
    return KRAIT_STATUS_OK;
}
