/* kernels/cpu/cpu_scan.c — the fast CPU selective scan, forward and backward (same math as
 * ref_scan.c; see there for the adjoint equations).
 *
 * Layout: u, delta, y are (B, L, E) with E contiguous, so one vf holds 16 consecutive channels of
 * one token. A "block" is (b, 16 channels); its N states are N vf kept in registers (N = 16 is
 * compiled as its own specialisation so that the state loop unrolls) or L1. Bm_t[n] and Cm_t[n]
 * are scalars broadcast to all lanes. exp(delta A) is computed as 2^(delta A log2 e) with
 * vexp2_np. A last, narrower block (E not a multiple of 16) runs with zero-padded lanes, which
 * stay exactly zero through the recurrence.
 *
 * Forward: blocks in parallel (static), each walks all L steps, storing y, the chunk-boundary
 * states and h_last. Backward: never stores (B, L, E, N). One parallel region walks b and the
 * chunks from last to first; for each chunk every thread recomputes the states (and the decays
 * a_t) of its blocks into a per-thread chunk buffer, runs the adjoint backwards, and adds
 * g delta u and dy h lane-wise into per-thread (chunk, N) partials; after a barrier the partials
 * are reduced, threads in order and lanes in order, into dBm and dCm. The result is therefore
 * bitwise deterministic for a given thread count. dA and dD stay per channel (no reduction).
 * Not here: anything for act dtypes other than fp32.
 */
#include "cpu_internal.h"
#include "cpu_simd.h"
#include "log.h"

#include <math.h>
#include <omp.h>

#define LOG2E 1.44269504088896341f

static int nblocks(int E) { return (E + VL - 1) / VL; }

size_t scan_fwd_scratch_cpu(const krait_dims *d, int nthreads)
{
    return (size_t)nthreads * 2 * (size_t)d->N * VL;                /* A2, h per thread */
}

/* Per thread: A, A2 (N each), hs ((chunk+1) N), as, dBp, dCp (chunk N each); shared per block:
 * gcarry, dA (N each) and dD (1), all in vf units. */
size_t scan_bwd_scratch_cpu(const krait_dims *d, int nthreads)
{
    size_t N = (size_t)d->N, ch = (size_t)d->chunk;
    size_t per_thread = (2 * N + (ch + 1) * N + 4 * ch * N) * VL;
    return (size_t)nthreads * per_thread + (size_t)nblocks(d->E) * (2 * N + 1) * VL;
}

/* A2[n] = A[e, n] log2 e and (if A != NULL) A[n] = -exp(A_log[e, n]) for the block's lanes. */
static void load_A(vf *A2, vf *A, const float *A_log, int e0, int w, int N)
{
    for (int n = 0; n < N; n++) {
        vf a = vset1(0.0f);
        for (int j = 0; j < w; j++) a[j] = -expf(A_log[(size_t)(e0 + j) * N + n]);
        A2[n] = a * LOG2E;
        if (A) A[n] = a;
    }
}

/* h[n] lanes <- src[(e0 + j) * N + n] (a (E, N) slab), zero when src is NULL. */
static void gather_state(vf *h, const float *src, int e0, int w, int N)
{
    for (int n = 0; n < N; n++) {
        vf v = vset1(0.0f);
        if (src)
            for (int j = 0; j < w; j++) v[j] = src[(size_t)(e0 + j) * N + n];
        h[n] = v;
    }
}

static void scatter_state(float *dst, const vf *h, int e0, int w, int N)
{
    for (int n = 0; n < N; n++)
        for (int j = 0; j < w; j++) dst[(size_t)(e0 + j) * N + n] = h[n][j];
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
        const float *Brow = Bm + ((size_t)b * L + t) * ldbc, *Crow = Cm + ((size_t)b * L + t) * ldbc;
        vf d = vload_n(delta + i, w), uu = vload_n(u + i, w);
        vf du = d * uu, acc = dsk * uu;
#pragma GCC unroll 16
        for (int n = 0; n < N; n++) {
            vf a = vexp2_np(d * A2[n]);
            h[n] = a * h[n] + du * Brow[n];
            acc = acc + h[n] * Crow[n];
        }
        vstore_n(y + i, acc, w);
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
    vf *A, *A2;      /* (N) */
    vf *hs;          /* (chunk + 1, N): hs[k] is the state before step t0 + k */
    vf *as;          /* (chunk, N): decay of step t0 + k */
    vf *dBp, *dCp;   /* (chunk, N) lane-wise partial sums over this thread's blocks */
} bwd_bufs;

static bwd_bufs bufs_for(float *scratch, size_t per_thread, int th, int N, int chunk)
{
    bwd_bufs bb;
    bb.A = (vf *)scratch + (size_t)th * per_thread;
    bb.A2 = bb.A + N;
    bb.hs = bb.A2 + N;
    bb.as = bb.hs + ((size_t)chunk + 1) * N;
    bb.dBp = bb.as + (size_t)chunk * N;
    bb.dCp = bb.dBp + (size_t)chunk * N;
    return bb;
}

/* One block, one chunk [t0, t1): recompute, then the adjoint from t1 - 1 down to t0. */
static inline __attribute__((always_inline)) void
scan_bwd_block(float *du, float *ddelta, const float *dy, const float *u, const float *delta,
               const float *Bm, const float *Cm, int ldbc, const float *Dskip,
               const float *hstart, const bwd_bufs *bb, vf *gc, vf *dA, vf *dD,
               int b, int e0, int w, int t0, int t1, int L, int E, int N)
{
    vf *hs = bb->hs, *as = bb->as, *A = bb->A, *A2 = bb->A2, *dBp = bb->dBp, *dCp = bb->dCp;
    gather_state(hs, hstart, e0, w, N);
    for (int t = t0; t < t1; t++) {
        size_t i = ((size_t)b * L + t) * E + e0;
        const float *Brow = Bm + ((size_t)b * L + t) * ldbc;
        vf d = vload_n(delta + i, w), dU = d * vload_n(u + i, w);
        vf *hp = hs + (size_t)(t - t0) * N, *hn = hp + N, *ap = as + (size_t)(t - t0) * N;
#pragma GCC unroll 16
        for (int n = 0; n < N; n++) {
            vf a = vexp2_np(d * A2[n]);
            ap[n] = a;
            hn[n] = a * hp[n] + dU * Brow[n];
        }
    }
    vf dsk = Dskip ? vload_n(Dskip + e0, w) : vset1(0.0f), dDacc = *dD;
    for (int t = t1 - 1; t >= t0; t--) {
        int k = t - t0;
        size_t i = ((size_t)b * L + t) * E + e0;
        const float *Brow = Bm + ((size_t)b * L + t) * ldbc, *Crow = Cm + ((size_t)b * L + t) * ldbc;
        vf d = vload_n(delta + i, w), uu = vload_n(u + i, w), g_y = vload_n(dy + i, w);
        vf dU = d * uu, S1 = vset1(0.0f), S2 = vset1(0.0f);
        vf *hp = hs + (size_t)k * N, *hn = hp + N, *ap = as + (size_t)k * N;
        vf *bp = dBp + (size_t)k * N, *cp = dCp + (size_t)k * N;
#pragma GCC unroll 16
        for (int n = 0; n < N; n++) {
            vf g = g_y * Crow[n] + gc[n];
            S1 = S1 + g * Brow[n];
            vf gah = g * ap[n] * hp[n];
            S2 = S2 + A[n] * gah;
            dA[n] = dA[n] + d * gah;
            bp[n] = bp[n] + g * dU;
            cp[n] = cp[n] + g_y * hn[n];
            gc[n] = ap[n] * g;
        }
        vstore_n(du + i, dsk * g_y + d * S1, w);
        vstore_n(ddelta + i, uu * S1 + S2, w);
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
    krait_dims dims = { .E = E, .N = N, .chunk = chunk };
    float *scratch = cpu_scratch(be, scan_bwd_scratch_cpu(&dims, nt), "ssm_scan_bwd");
    if (!scratch) return KRAIT_STATUS_UNSUPPORTED;
    size_t per_thread = (2 * (size_t)N + ((size_t)chunk + 1) * N + 4 * (size_t)chunk * N);
    vf *gcarry = (vf *)scratch + (size_t)nt * per_thread;   /* (nblk, N) */
    vf *dAacc = gcarry + (size_t)nblk * N;                  /* (nblk, N) */
    vf *dDacc = dAacc + (size_t)nblk * N;                   /* (nblk) */

#pragma omp parallel num_threads(nt)
    {
        int nth = omp_get_num_threads(), tid = omp_get_thread_num(), blo, bhi;
        cpu_split(nblk, nth, tid, &blo, &bhi);
        bwd_bufs bb = bufs_for(scratch, per_thread, tid, N, chunk);
        for (int blk = blo; blk < bhi; blk++) {
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
                    load_A(bb.A2, bb.A, A_log, e0, w, N);   /* cheap next to chunk * N exps */
                    vf *gc = gcarry + (size_t)blk * N, *dA = dAacc + (size_t)blk * N;
                    if (N == 16)
                        scan_bwd_block(du, ddelta, dy, u, delta, Bm, Cm, ldbc, Dskip, hstart, &bb,
                                       gc, dA, &dDacc[blk], b, e0, w, t0, t1, L, E, 16);
                    else
                        scan_bwd_block(du, ddelta, dy, u, delta, Bm, Cm, ldbc, Dskip, hstart, &bb,
                                       gc, dA, &dDacc[blk], b, e0, w, t0, t1, L, E, N);
                }
#pragma omp barrier
                /* dBm, dCm rows of this chunk: threads in order, lanes in order. */
                int klo, khi;
                cpu_split(len, nth, tid, &klo, &khi);
                for (int k = klo; k < khi; k++)
                    for (int n = 0; n < N; n++) {
                        float sb = 0.0f, sc = 0.0f;
                        for (int th = 0; th < nth; th++) {
                            bwd_bufs o = bufs_for(scratch, per_thread, th, N, chunk);
                            sb += vhsum(o.dBp[(size_t)k * N + n]);
                            sc += vhsum(o.dCp[(size_t)k * N + n]);
                        }
                        size_t j = ((size_t)b * L + t0 + k) * ldbc + n;
                        dBm[j] = sb;
                        dCm[j] = sc;
                    }
#pragma omp barrier
            }
        }
        for (int blk = blo; blk < bhi; blk++) {
            int e0 = blk * VL, w = E - e0 < VL ? E - e0 : VL;
            for (int j = 0; j < w; j++) {
                for (int n = 0; n < N; n++) {
                    float A = -expf(A_log[(size_t)(e0 + j) * N + n]);
                    dA_log[(size_t)(e0 + j) * N + n] += dAacc[(size_t)blk * N + n][j] * A;
                }
                if (dD) dD[e0 + j] += dDacc[blk][j];
            }
        }
    }
    return KRAIT_STATUS_OK;
}
