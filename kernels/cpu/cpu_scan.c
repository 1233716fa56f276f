/* kernels/cpu/cpu_scan.c — the fast CPU selective scan, forward and backward (same math as
 * ref_scan.c; see there for the adjoint equations).
 *
 * Layout: u, delta, y are (B, L, E) with E contiguous, so one vf holds 16 consecutive channels of
 * one token. A "block" is 16 channels; for one sequence its N states are N vf. Bm_t[n] and Cm_t[n]
 * are scalars broadcast to all lanes. exp(delta A) is computed as 2^(delta A log2 e) with
 * vexp2_np. A last, narrower block (E not a multiple of 16) runs with zero-padded lanes, which
 * stay exactly zero through the recurrence. Both directions run with denormals flushed to zero
 * (vfp_flush_denormals): where dy is zero for many steps the adjoint decays geometrically into
 * the denormal range, and each denormal operand would cost a microcode assist (8x slower).
 *
 * Forward: (b, block) items in parallel (static), each walks all L steps with its states in
 * registers (N = 16), storing y, the chunk-boundary states and h_last.
 *
 * Backward: never stores (B, L, E, N). Work items are (b, part of the blocks): whole sequences
 * when B >= threads (so every dBm, dCm entry is summed inside one thread), else each sequence's
 * blocks split into P parts. Per item, chunks from last to first; per chunk and block:
 *   recompute  the states from h_chunks exactly as the forward did, storing a_t and a_t h_{t-1}
 *              for the chunk (per-thread (chunk, N) buffers), in groups of 16 states whose h stay
 *              in registers;
 *   adjoint    from the last step down, the carries g of a group of 16 states in registers,
 *              S1 = sum_n g Bm and S2 = sum_n A g a h (partial over groups) giving du, ddelta.
 * dCm needs dy h and dBm needs g delta u summed over channels: per step the 16 products of a
 * group are folded into one vector of 16 sums over their lanes (vhsum16_4/_end, four at a time)
 * and added to the item's (b, t, n) output — the first block of the item writes, the others add,
 * in block order. With P = 1 that output is dBm/dCm itself, so those are bitwise the same for any
 * thread count; with P > 1 the parts' partials are added in part order after a barrier
 * (deterministic for a thread count). dA and dD are summed per (b, block) and then over b in
 * order: independent of the thread count, like du and ddelta.
 * Rows a page or more apart (E >= 1024, or E not a multiple of 16) are first staged: per chunk,
 * one pass over each row copies delta, u, dy of up to 16 blocks into contiguous per-thread slots
 * (and du, ddelta back out), instead of every block walking 64 rows on 64 pages (at E = 1536
 * that took the backward from 26 to 15 ms on one thread). Narrower rows are read in place,
 * prefetched a few steps ahead (staging them measured 10% slower at E = 128).
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
#define SG 16               /* states per group of the backward (registers) */
#define STAGE_BLOCKS 16     /* blocks staged together */
#define STAGE_MIN_ROW 4096  /* row size in bytes from which the backward stages rows */
/* Per-thread buffers are followed by BUF_PAD vf so that the same (k, n) of different buffers
 * never sits at the same offset modulo 4 KiB (which would alias loads with stores). */
#define BUF_PAD 7

static int nblocks(int E) { return (E + VL - 1) / VL; }

static int rows_in_place(int E) { return E % VL == 0 && (size_t)E * sizeof(float) < STAGE_MIN_ROW; }

size_t scan_fwd_scratch_cpu(const krait_dims *d, int nthreads)
{
    return (size_t)nthreads * 2 * (size_t)d->N * VL;                /* A2, h per thread */
}

/* Backward, per thread (in vf): as, ahs (chunk, N), s12 (chunk, 2), the staging slots
 * (5, STAGE_BLOCKS, chunk) and the carries of every block (nblk, N). */
static size_t bwd_per_thread(size_t N, size_t chunk, size_t nblk)
{
    return 2 * chunk * N + 2 * chunk + 5 * STAGE_BLOCKS * chunk + nblk * N + 3 * BUF_PAD;
}

size_t scan_bwd_scratch_cpu(const krait_dims *d, int nthreads)
{
    size_t N = (size_t)d->N, B = (size_t)d->B, nblk = (size_t)nblocks(d->E), BL = B * (size_t)d->L;
    if ((size_t)d->rows > BL) BL = (size_t)d->rows;
    /* shared: A, A2 (nblk, N); dA, dD per (b, block); floats: up to nthreads parts' partial
     * dBm and dCm (B, L, N) each */
    return ((size_t)nthreads * bwd_per_thread(N, (size_t)d->chunk, nblk) + nblk * 2 * N +
            B * nblk * (N + 1)) * VL + (size_t)nthreads * 2 * BL * N;
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

/* h[j] lanes <- src[(e0 + lane) * N + n0 + j] for j < G (from an (E, N) slab), zero when src is
 * NULL. */
static void gather_state(vf *h, const float *src, int e0, int w, int n0, int G, int N)
{
    for (int j = 0; j < G; j++) {
        float tmp[VL] = { 0 };
        if (src)
            for (int l = 0; l < w; l++) tmp[l] = src[(size_t)(e0 + l) * N + n0 + j];
        h[j] = vload(tmp);
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
    gather_state(h, h0 ? h0 + (size_t)b * E * N : NULL, e0, w, 0, N, N);
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
    int nt = cpu_threads_for(be, 4.0 * B * L * E * N), nblk = nblocks(E);
    krait_dims d = { .N = N };
    float *scratch = cpu_scratch(be, scan_fwd_scratch_cpu(&d, nt), "ssm_scan_fwd");
    if (!scratch) return KRAIT_STATUS_UNSUPPORTED;

#pragma omp parallel num_threads(nt)
    {
        unsigned fp = vfp_flush_denormals();
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
        vfp_restore(fp);
    }
    return KRAIT_STATUS_OK;
}

/* ---- backward ------------------------------------------------------------------------------ */

/* What every block of a call shares, and the calling thread's buffers. */
typedef struct bwd_ctx {
    const float *Bm, *Cm, *Dskip;
    int ldbc, L, N;
    vf *as, *ahs;         /* (chunk, N): a_t and a_t h_{t-1} of the block being done */
    vf *s12;              /* (chunk, 2): S1, S2 summed over the state groups done so far */
} bwd_ctx;

/* One block of one chunk: steps t0 .. t0 + len - 1 of sequence b. Its delta, u, dy are read at
 * d, u, g and its du, ddelta written at du, dd, step k at k * ld floats (the (B, L, E) arrays
 * themselves, ld = E, or a staging slot, ld = VL). dBm and dCm (or a part's partials) of step k
 * are at oB, oC + k * ldo. */
typedef struct bwd_blk {
    int b, t0, len, e0, w, first, prefetch;
    size_t ld, ldo;
    const float *d, *u, *g;
    float *du, *dd, *oB, *oC;
    const vf *A, *A2;     /* (N) */
    vf *gc, *dA, *dD;     /* (N) carries of g; (N) and (1) sums for this (b, block) */
    const float *hstart;  /* (E, N) state before t0 */
} bwd_blk;

/* out[0 .. G) = (first ? 0 : out) + lanes of s. */
static inline __attribute__((always_inline)) void add_sums(float *out, vf s, int G, int first)
{
    if (!first) s = s + vload_n(out, G);
    vstore_n(out, s, G);
}

/* States n0 .. n0 + G - 1 over the chunk: a_t, a_t h_{t-1} into as, ahs; dCm += sum_e dy h. */
static inline __attribute__((always_inline)) void
bwd_recompute(const bwd_ctx *c, const bwd_blk *bk, int n0, int G)
{
    const int N = c->N;
    const size_t ld = bk->ld;
    vf h[SG], hmem[SG];   /* gathered through memory so that h itself stays in registers */
    gather_state(hmem, bk->hstart, bk->e0, bk->w, n0, G, N);
    for (int j = 0; j < G; j++) h[j] = hmem[j];
    const vf *A2 = bk->A2 + n0;
    for (int k = 0; k < bk->len; k++) {
        if (bk->prefetch && n0 == 0 && k + PREFETCH_ROWS < bk->len) {
            size_t p = (size_t)(k + PREFETCH_ROWS) * ld;
            __builtin_prefetch(bk->d + p);
            __builtin_prefetch(bk->u + p);
            __builtin_prefetch(bk->g + p);
            __builtin_prefetch(bk->du + p, 1);
            __builtin_prefetch(bk->dd + p, 1);
        }
        const float *Brow = c->Bm + ((size_t)bk->b * c->L + bk->t0 + k) * c->ldbc + n0;
        vf d = vload(bk->d + k * ld), dU = d * vload(bk->u + k * ld), gy = vload(bk->g + k * ld);
        vf *ap = c->as + (size_t)k * N + n0, *ahp = c->ahs + (size_t)k * N + n0, r[4];
#pragma GCC unroll 4
        for (int m = 0; m < 4; m++) {
            vf p[4];
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {
                int j = 4 * m + i;
                p[i] = vset1(0.0f);
                if (j < G) {
                    vf a = vexp2_np(d * A2[j]), ah = a * h[j];
                    ap[j] = a;
                    ahp[j] = ah;
                    h[j] = ah + dU * Brow[j];
                    p[i] = gy * h[j];
                }
            }
            r[m] = vhsum16_4(p[0], p[1], p[2], p[3]);
        }
        add_sums(bk->oC + k * bk->ldo + n0, vhsum16_end(r[0], r[1], r[2], r[3]), G, bk->first);
    }
}

/* States n0 .. n0 + G - 1 from the last step down: g = dy Cm + a_{t+1} g_{t+1}; dA += g delta a h;
 * dBm += sum_e g delta u; S1, S2 summed over the groups give du, ddelta after the last one. */
static inline __attribute__((always_inline)) void
bwd_adjoint(const bwd_ctx *c, const bwd_blk *bk, int n0, int G)
{
    const int N = c->N, firstg = n0 == 0, lastg = n0 + G == N;
    const size_t ld = bk->ld;
    vf gc[SG];
    for (int j = 0; j < G; j++) gc[j] = bk->gc[n0 + j];
    const vf *A = bk->A + n0;
    vf *dA = bk->dA + n0, zero = vset1(0.0f), dDacc = *bk->dD;
    vf dsk = c->Dskip ? vload_n(c->Dskip + bk->e0, bk->w) : zero;
    for (int k = bk->len - 1; k >= 0; k--) {
        size_t row = (size_t)bk->b * c->L + bk->t0 + k;
        const float *Brow = c->Bm + row * c->ldbc + n0, *Crow = c->Cm + row * c->ldbc + n0;
        vf d = vload(bk->d + k * ld), uu = vload(bk->u + k * ld), gy = vload(bk->g + k * ld);
        vf dU = d * uu, S1[2] = { firstg ? zero : c->s12[2 * k], zero };
        vf S2[2] = { firstg ? zero : c->s12[2 * k + 1], zero };
        const vf *ap = c->as + (size_t)k * N + n0, *ahp = c->ahs + (size_t)k * N + n0;
        vf r[4];
#pragma GCC unroll 4
        for (int m = 0; m < 4; m++) {
            vf p[4];
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {
                int j = 4 * m + i;
                p[i] = vset1(0.0f);
                if (j < G) {
                    vf g = gy * Crow[j] + gc[j];
                    S1[j & 1] = S1[j & 1] + g * Brow[j];
                    vf gah = g * ahp[j];
                    S2[j & 1] = S2[j & 1] + A[j] * gah;
                    dA[j] = dA[j] + d * gah;
                    p[i] = g * dU;
                    gc[j] = ap[j] * g;
                }
            }
            r[m] = vhsum16_4(p[0], p[1], p[2], p[3]);
        }
        add_sums(bk->oB + k * bk->ldo + n0, vhsum16_end(r[0], r[1], r[2], r[3]), G, bk->first);
        vf s1 = S1[0] + S1[1], s2 = S2[0] + S2[1];
        if (lastg) {
            vstore(bk->du + k * ld, dsk * gy + d * s1);
            vstore(bk->dd + k * ld, uu * s1 + s2);
            dDacc = dDacc + gy * uu;
        } else {
            c->s12[2 * k] = s1;
            c->s12[2 * k + 1] = s2;
        }
    }
    for (int j = 0; j < G; j++) bk->gc[n0 + j] = gc[j];
    if (lastg) *bk->dD = dDacc;
}

static void bwd_block(const bwd_ctx *c, const bwd_blk *bk)
{
    const int N = c->N;
    int n0 = 0;
    for (; n0 + SG <= N; n0 += SG) bwd_recompute(c, bk, n0, SG);
    if (n0 < N) bwd_recompute(c, bk, n0, N - n0);
    for (n0 = 0; n0 + SG <= N; n0 += SG) bwd_adjoint(c, bk, n0, SG);
    if (n0 < N) bwd_adjoint(c, bk, n0, N - n0);
}

/* Channels [e0, e1) of rows r0 + k (k < len, rows E floats apart) to or from slots of `chunk`
 * vf, one slot per block (lanes past e1 zero on the way in). One pass over each row; stage_in
 * also fetches the du, ddelta lines that stage_out will write. */
static void stage_in(vf *sd, vf *su, vf *sg, const float *delta, const float *u, const float *dy,
                     float *du, float *ddelta, size_t r0, int len, int e0, int e1, int E, int chunk)
{
    for (int k = 0; k < len; k++) {
        size_t r = (r0 + k) * E;
        if (k + PREFETCH_ROWS < len)
            for (int e = e0; e < e1; e += VL) {
                size_t p = r + (size_t)PREFETCH_ROWS * E + e;
                __builtin_prefetch(delta + p);
                __builtin_prefetch(u + p);
                __builtin_prefetch(dy + p);
                __builtin_prefetch(du + p, 1);
                __builtin_prefetch(ddelta + p, 1);
            }
        for (int e = e0, s = 0; e < e1; e += VL, s++) {
            int w = e1 - e < VL ? e1 - e : VL;
            size_t o = (size_t)s * chunk + k;
            sd[o] = vload_n(delta + r + e, w);
            su[o] = vload_n(u + r + e, w);
            sg[o] = vload_n(dy + r + e, w);
        }
    }
}

static void stage_out(float *du, float *ddelta, const vf *sdu, const vf *sdd, size_t r0, int len,
                      int e0, int e1, int E, int chunk)
{
    for (int k = 0; k < len; k++) {
        size_t r = (r0 + k) * E;
        for (int e = e0, s = 0; e < e1; e += VL, s++) {
            int w = e1 - e < VL ? e1 - e : VL;
            vstore_n(du + r + e, sdu[(size_t)s * chunk + k], w);
            vstore_n(ddelta + r + e, sdd[(size_t)s * chunk + k], w);
        }
    }
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
    const float *dy = dy_, *u = u_, *delta = delta_;
    int nt = cpu_threads_for(be, 8.0 * B * L * E * N), nblk = nblocks(E), nch = (L + chunk - 1) / chunk;
    krait_dims dims = { .B = B, .L = L, .E = E, .N = N, .chunk = chunk };
    float *scratch = cpu_scratch(be, scan_bwd_scratch_cpu(&dims, nt), "ssm_scan_bwd");
    if (!scratch) return KRAIT_STATUS_UNSUPPORTED;
    size_t per_thread = bwd_per_thread((size_t)N, (size_t)chunk, (size_t)nblk);
    vf *Aall = (vf *)scratch + (size_t)nt * per_thread;     /* (nblk, N) */
    vf *A2all = Aall + (size_t)nblk * N;                    /* (nblk, N) */
    vf *dAb = A2all + (size_t)nblk * N;                     /* (B, nblk, N) */
    vf *dDb = dAb + (size_t)B * nblk * N;                   /* (B, nblk) */
    float *partials = (float *)(dDb + (size_t)B * nblk);    /* (P, 2, B, L, N) when P > 1 */
    size_t np = (size_t)B * L * N;
    int P = B >= nt ? 1 : (nt + B - 1) / B;                  /* parts per sequence */
    if (P > nblk) P = nblk;
    int in_place = rows_in_place(E);

#pragma omp parallel num_threads(nt)
    {
        unsigned fp = vfp_flush_denormals();
        int nth = omp_get_num_threads(), tid = omp_get_thread_num(), ilo, ihi;
        vf *tb = (vf *)scratch + (size_t)tid * per_thread;
        bwd_ctx c = { Bm_, Cm_, Dskip, ldbc, L, N, tb, tb + (size_t)chunk * N + BUF_PAD, NULL };
        c.s12 = c.ahs + (size_t)chunk * N + BUF_PAD;
        vf *sd = c.s12 + (size_t)2 * chunk + BUF_PAD, *su = sd + (size_t)STAGE_BLOCKS * chunk;
        vf *sg = su + (size_t)STAGE_BLOCKS * chunk, *sdu = sg + (size_t)STAGE_BLOCKS * chunk;
        vf *sdd = sdu + (size_t)STAGE_BLOCKS * chunk, *gcarry = sdd + (size_t)STAGE_BLOCKS * chunk;
#pragma omp for schedule(static)
        for (int blk = 0; blk < nblk; blk++) {
            int e0 = blk * VL, w = E - e0 < VL ? E - e0 : VL;
            load_A(A2all + (size_t)blk * N, Aall + (size_t)blk * N, A_log, e0, w, N);
        }
        cpu_split(B * P, nth, tid, &ilo, &ihi);
        for (int item = ilo; item < ihi; item++) {
            int b = item / P, part = item % P, blo, bhi;
            cpu_split(nblk, P, part, &blo, &bhi);
            for (int blk = blo; blk < bhi; blk++) {
                for (int n = 0; n < N; n++) {
                    gcarry[(size_t)blk * N + n] = vset1(0.0f);
                    dAb[((size_t)b * nblk + blk) * N + n] = vset1(0.0f);
                }
                dDb[(size_t)b * nblk + blk] = vset1(0.0f);
            }
            for (int ci = nch - 1; ci >= 0; ci--) {
                int t0 = ci * chunk, len = L - t0 < chunk ? L - t0 : chunk;
                size_t r0 = (size_t)b * L + t0;
                bwd_blk bk;
                bk.b = b;
                bk.t0 = t0;
                bk.len = len;
                bk.prefetch = in_place;
                bk.hstart = h_chunks + ((size_t)b * nch + ci) * E * N;
                if (P == 1) {
                    bk.ldo = (size_t)ldbc;
                    bk.oB = dBm + r0 * ldbc;
                    bk.oC = dCm + r0 * ldbc;
                } else {
                    bk.ldo = (size_t)N;
                    bk.oB = partials + (size_t)part * 2 * np + r0 * N;
                    bk.oC = bk.oB + np;
                }
                for (int g0 = blo; g0 < bhi; g0 += STAGE_BLOCKS) {
                    int g1 = bhi - g0 < STAGE_BLOCKS ? bhi : g0 + STAGE_BLOCKS;
                    int ce0 = g0 * VL, ce1 = g1 * VL < E ? g1 * VL : E;
                    if (!in_place) stage_in(sd, su, sg, delta, u, dy, du, ddelta, r0, len, ce0, ce1, E, chunk);
                    for (int blk = g0; blk < g1; blk++) {
                        bk.e0 = blk * VL;
                        bk.w = E - bk.e0 < VL ? E - bk.e0 : VL;
                        bk.first = blk == blo;
                        if (in_place) {
                            size_t o = r0 * E + bk.e0;
                            bk.ld = (size_t)E;
                            bk.d = delta + o;
                            bk.u = u + o;
                            bk.g = dy + o;
                            bk.du = du + o;
                            bk.dd = ddelta + o;
                        } else {
                            size_t o = (size_t)(blk - g0) * chunk;
                            bk.ld = VL;
                            bk.d = (const float *)(sd + o);
                            bk.u = (const float *)(su + o);
                            bk.g = (const float *)(sg + o);
                            bk.du = (float *)(sdu + o);
                            bk.dd = (float *)(sdd + o);
                        }
                        bk.A = Aall + (size_t)blk * N;
                        bk.A2 = A2all + (size_t)blk * N;
                        bk.gc = gcarry + (size_t)blk * N;
                        bk.dA = dAb + ((size_t)b * nblk + blk) * N;
                        bk.dD = dDb + (size_t)b * nblk + blk;
                        bwd_block(&c, &bk);
                    }
                    if (!in_place) stage_out(du, ddelta, sdu, sdd, r0, len, ce0, ce1, E, chunk);
                }
            }
        }
#pragma omp barrier
        if (P > 1) {   /* dBm, dCm: the parts' partials added in part order */
            int rlo, rhi;
            cpu_split(B * L, nth, tid, &rlo, &rhi);
            for (int r = rlo; r < rhi; r++) {
                float *ob = dBm + (size_t)r * ldbc, *oc = dCm + (size_t)r * ldbc;
                const float *p0 = partials + (size_t)r * N;
                for (int n = 0; n < N; n++) {
                    ob[n] = p0[n];
                    oc[n] = p0[np + n];
                }
                for (int part = 1; part < P; part++) {
                    const float *pp = p0 + (size_t)part * 2 * np;
                    for (int n = 0; n < N; n++) {
                        ob[n] += pp[n];
                        oc[n] += pp[np + n];
                    }
                }
            }
        }
        /* dA_log, dD: the (b, block) sums added in b order */
#pragma omp for schedule(static)
        for (int blk = 0; blk < nblk; blk++) {
            int e0 = blk * VL, w = E - e0 < VL ? E - e0 : VL;
            for (int n = 0; n < N; n++) {
                vf s = dAb[(size_t)blk * N + n];
                for (int b = 1; b < B; b++) s = s + dAb[((size_t)b * nblk + blk) * N + n];
                s = s * Aall[(size_t)blk * N + n];
                for (int j = 0; j < w; j++) dA_log[(size_t)(e0 + j) * N + n] += s[j];
            }
            if (dD) {
                vf s = dDb[blk];
                for (int b = 1; b < B; b++) s = s + dDb[(size_t)b * nblk + blk];
                for (int j = 0; j < w; j++) dD[e0 + j] += s[j];
            }
        }
        vfp_restore(fp);
    }
    return KRAIT_STATUS_OK;
}
