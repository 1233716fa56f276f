/* kernels/cuda/cuda_scan.cuh — the selective-scan kernels (forward and backward), their
 * argument structs, shared-memory sizes and the backward's scratch layout; the launchers, the
 * ordered reductions and the design notes are in cuda_scan_fwd.cu and cuda_scan_bwd.cu.
 * Includes only cuda_device.cuh (not the CUDA runtime).
 *
 * A block owns SCAN_EC = 32 consecutive channels of one sequence and walks the whole sequence.
 * Each channel's d_state values are split over Q lanes (Q a power of two, Q*4 >= N), four states
 * per lane, held in registers; lanes q of one channel are adjacent, so y = <C, h> is a butterfly
 * over Q lanes. A warp holds 32/Q channels, a block Q warps (32*Q threads).
 */
#ifndef KRAIT_CUDA_SCAN_CUH
#define KRAIT_CUDA_SCAN_CUH

#include "cuda_device.cuh"

KRAIT_CUDA_NS_BEGIN

#define SCAN_EC 32   /* channels per block */
/* Lanes per channel: the d_state values are split over Q lanes, 4 states per lane. */
static inline int scan_lanes(int N)
{
    int q = 1;
    while (q * 4 < N) q *= 2;
    return q;
}

#define SCAN_NS 4    /* states per lane */

/* exp(d * a) where a is A (exact path, fp32 mode) or A*log2(e) (fast path, bf16 mode). */
template <bool FAST> __device__ __forceinline__ float scan_exp(float da);
template <> __device__ __forceinline__ float scan_exp<true>(float da) { return ex2_fast(da); }
template <> __device__ __forceinline__ float scan_exp<false>(float da) { return expf(da); }

/* The exponent scale that goes with scan_exp. */
template <bool FAST> __device__ __forceinline__ float scan_arg_scale()
{
    return FAST ? KRAIT_LOG2E : 1.0f;
}

/* Sum over the Q lanes of a channel; every lane gets the total. */
template <int Q> __device__ __forceinline__ float lanes_sum(float v)
{
#pragma unroll
    for (int o = Q / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

struct scan_lane {
    int q;    /* which four states: n = 4q .. 4q+3 */
    int c;    /* channel within the block */
    int e;    /* channel */
    bool ve;  /* e < E */
};

template <int Q> __device__ __forceinline__ scan_lane scan_lane_of(int E)
{
    scan_lane l;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    l.q = lane % Q;
    l.c = warp * (32 / Q) + lane / Q;
    l.e = blockIdx.x * SCAN_EC + l.c;
    l.ve = l.e < E;
    return l;
}

/* Per-lane constants: A = -exp(A_log) for the lane's states (a valid, harmless -1 elsewhere). */
__device__ __forceinline__ void scan_load_A(float A[SCAN_NS], const float *A_log,
                                            const scan_lane &l, int N)
{
#pragma unroll
    for (int s = 0; s < SCAN_NS; s++) {
        const int n = l.q * SCAN_NS + s;
        A[s] = (l.ve && n < N) ? -expf(A_log[(size_t)l.e * N + n]) : -1.0f;
    }
}

/* ======== forward kernel (launched by cuda_scan_fwd.cu) ======== */

/* steps per staged tile: at most 32, and 8 per lane group so that small Q keeps few loads */
template <int Q> struct scan_tt { static constexpr int v = 8 * Q < 32 ? 8 * Q : 32; };

struct scan_fwd_args {
    void *y;                 /* (B, L, E) act or NULL */
    float *h_last;           /* (B, E, N) or NULL */
    float *h_chunks;         /* (B, nchunks, E, N) or NULL */
    const void *u, *delta;   /* (B, L, E) act */
    const float *A_log;      /* (E, N) */
    const void *Bm, *Cm;     /* (B, L, N) act, row stride ldbc */
    int ldbc;
    const float *Dskip;      /* (E) or NULL */
    const float *h0;         /* (B*S, E, N) with batch stride h0_bstride, or NULL */
    size_t h0_bstride;
    int B, L, E, N, chunk, nchunks;
    /* Each sequence as S segments of Ls steps (the last one shorter), scanned as B*S sequences
     * with their own start and end states (h0, h_last indexed by b*S + s); S = 1, Ls = L: whole.
     * h_chunks only with S = 1. */
    int S, Ls;
};

template <int Q> inline size_t fwd_smem_floats()
{
    return (size_t)2 * 2 * scan_tt<Q>::v * SCAN_EC + (size_t)2 * scan_tt<Q>::v * 2 * 4 * Q;
}

template <typename T, int Q, bool FAST>
__global__ void __launch_bounds__(32 * Q) ssm_scan_fwd_kernel(const scan_fwd_args a)
{
    constexpr int NT = 32 * Q, NPAD = 4 * Q, TT = scan_tt<Q>::v, EC = SCAN_EC;
    constexpr int UPT = 2 * TT * EC / NT;        /* u/delta elements per thread per tile */
    constexpr int BPT = TT * 2 * NPAD / NT;      /* Bm/Cm elements per thread per tile (8) */
    KRAIT_DYN_SMEM(float4, smem4);
    float *s_ud = (float *)smem4;                /* [2 buf][2: u, delta][TT][EC] */
    float *s_bc = s_ud + 2 * 2 * TT * EC;        /* [2 buf][TT][2 * NPAD]: B then C */

    /* b: the sequence (segment) whose states this block holds; its steps are rows row0.. of
     * the (B, L, ...) inputs, L of them */
    const int tid = threadIdx.x, b = blockIdx.y, e0 = blockIdx.x * EC;
    const scan_lane l = scan_lane_of<Q>(a.E);
    const int tbeg = (b % a.S) * a.Ls, E = a.E, N = a.N;
    const int L = a.L - tbeg < a.Ls ? a.L - tbeg : a.Ls;
    const size_t row0 = (size_t)(b / a.S) * a.L + tbeg;
    const T *u = (const T *)a.u, *dl = (const T *)a.delta;
    const T *Bm = (const T *)a.Bm, *Cm = (const T *)a.Cm;

    float A2[SCAN_NS], h[SCAN_NS];
    scan_load_A(A2, a.A_log, l, N);
#pragma unroll
    for (int s = 0; s < SCAN_NS; s++) {
        const int n = l.q * SCAN_NS + s;
        A2[s] *= scan_arg_scale<FAST>();
        h[s] = (a.h0 && l.ve && n < N) ? a.h0[(size_t)b * a.h0_bstride + (size_t)l.e * N + n]
                                       : 0.0f;
        if (a.h_chunks && l.ve && n < N)
            a.h_chunks[((size_t)b * a.nchunks * E + l.e) * N + n] = h[s];
    }
    const float Dv = (a.Dskip && l.ve) ? a.Dskip[l.e] : 0.0f;

    /* Tile loads: thread tid loads u/delta rows (i*Q + warp) at channel e0 + lane, and the
     * Bm/Cm elements i*NT + tid of the tile's [TT][2*NPAD] block. */
    T ru[UPT], rb[BPT];
    const int lane = tid & 31, warp = tid >> 5;
    const bool lane_ok = e0 + lane < E;
    auto load_tile = [&](int t0) {
        const size_t base = (row0 + t0) * E + e0 + lane;
#pragma unroll
        for (int i = 0; i < UPT / 2; i++) {
            const int tt = i * Q + warp;
            const bool ok = lane_ok && t0 + tt < L;
            ru[i] = ok ? u[base + (size_t)tt * E] : fromf<T>(0.0f);
            ru[UPT / 2 + i] = ok ? dl[base + (size_t)tt * E] : fromf<T>(0.0f);
        }
#pragma unroll
        for (int i = 0; i < BPT; i++) {
            const int idx = i * NT + tid, tt = idx / (2 * NPAD), j = idx % (2 * NPAD);
            const int n = j % NPAD, t = t0 + tt;
            const T *src = j < NPAD ? Bm : Cm;
            rb[i] = (t < L && n < N) ? src[(row0 + t) * a.ldbc + n] : fromf<T>(0.0f);
        }
    };
    auto store_tile = [&](int buf) {
        float *du = s_ud + buf * 2 * TT * EC + warp * EC + lane;
#pragma unroll
        for (int i = 0; i < UPT / 2; i++) {
            du[i * Q * EC] = tof(ru[i]);
            du[TT * EC + i * Q * EC] = tof(ru[UPT / 2 + i]);
        }
#pragma unroll
        for (int i = 0; i < BPT; i++) s_bc[buf * TT * 2 * NPAD + i * NT + tid] = tof(rb[i]);
    };

    const int ntiles = (L + TT - 1) / TT, C = a.chunk;
    int nextb = C;   /* next step count after which a chunk starts */
    load_tile(0);
    store_tile(0);
    __syncthreads();
    for (int it = 0; it < ntiles; it++) {
        const int buf = it & 1, t0 = it * TT;
        if (it + 1 < ntiles) load_tile(t0 + TT);
        const int nst = L - t0 < TT ? L - t0 : TT;
        const float *su = s_ud + buf * 2 * TT * EC, *sd = su + TT * EC;
        const float4 *sb = (const float4 *)(s_bc + buf * TT * 2 * NPAD);
#pragma unroll 4
        for (int tt = 0; tt < nst; tt++) {
            const float uf = su[tt * EC + l.c], df = sd[tt * EC + l.c];
            const float4 bq = sb[tt * 2 * Q + l.q], cq = sb[tt * 2 * Q + Q + l.q];
            const float dbu = df * uf;
            h[0] = fmaf(scan_exp<FAST>(df * A2[0]), h[0], dbu * bq.x);
            h[1] = fmaf(scan_exp<FAST>(df * A2[1]), h[1], dbu * bq.y);
            h[2] = fmaf(scan_exp<FAST>(df * A2[2]), h[2], dbu * bq.z);
            h[3] = fmaf(scan_exp<FAST>(df * A2[3]), h[3], dbu * bq.w);
            float yp = cq.x * h[0];
            yp = fmaf(cq.y, h[1], yp);
            yp = fmaf(cq.z, h[2], yp);
            yp = fmaf(cq.w, h[3], yp);
            yp = lanes_sum<Q>(yp);
            const int t = t0 + tt;
            if (a.y && l.q == 0 && l.ve)
                stf((T *)a.y + (row0 + t) * E + l.e, yp + Dv * uf);
            if (t + 1 == nextb) {
                if (a.h_chunks && t + 1 < L && l.ve) {
                    float *hc = a.h_chunks + (((size_t)b * a.nchunks + (t + 1) / C) * E + l.e) * N;
#pragma unroll
                    for (int s = 0; s < SCAN_NS; s++)
                        if (l.q * SCAN_NS + s < N) hc[l.q * SCAN_NS + s] = h[s];
                }
                nextb += C;
            }
        }
        if (it + 1 < ntiles) store_tile(buf ^ 1);
        __syncthreads();
    }
    if (a.h_last && l.ve)
#pragma unroll
        for (int s = 0; s < SCAN_NS; s++)
            if (l.q * SCAN_NS + s < N)
                a.h_last[((size_t)b * E + l.e) * N + l.q * SCAN_NS + s] = h[s];
}

/* ======== backward kernels (launched by cuda_scan_bwd.cu) ======== */

#define SCAN_S 8          /* steps per sub-chunk (register-resident history) */
#define SCAN_CB_MAX 64    /* longest chunk the backward stages in shared memory */
#define SCAN_NSUB (SCAN_CB_MAX / SCAN_S)

struct scan_bwd_args {
    void *du, *ddelta;       /* (B, L, E) act */
    float *part;             /* (nct, B, L, 2, NPAD) dB/dC partials per channel block */
    float4 *ck;              /* (B, nct, SCAN_NSUB, 32*Q) checkpoints */
    float *dA_part;          /* (B, E, N) */
    float *dD_part;          /* (B, E) */
    const void *dy, *u, *delta;
    const float *A_log;
    const void *Bm, *Cm;
    int ldbc;
    const float *Dskip;
    const float *hck;        /* (B, nck, E, N) chunk start states */
    int cb, nck;             /* chunk length (<= SCAN_CB_MAX) and count */
    int B, L, E, N, nct;
};

template <int Q> inline size_t bwd_smem_floats()
{
    return (size_t)3 * SCAN_CB_MAX * SCAN_EC + (size_t)SCAN_CB_MAX * 2 * 4 * Q +
           (size_t)SCAN_S * 2 * SCAN_EC * 4 * Q;
}

template <typename T, int Q, bool FAST>
__global__ void __launch_bounds__(32 * Q) ssm_scan_bwd_kernel(const scan_bwd_args a)
{
    constexpr int NT = 32 * Q, NPAD = 4 * Q, EC = SCAN_EC, S = SCAN_S, CBM = SCAN_CB_MAX;
    KRAIT_DYN_SMEM(float4, smem4);
    float *s_u = (float *)smem4;             /* [CBM][EC] */
    float *s_d = s_u + CBM * EC;             /* [CBM][EC] */
    float *s_dy = s_d + CBM * EC;            /* [CBM][EC] */
    float *s_bc = s_dy + CBM * EC;           /* [CBM][2 * NPAD]: B then C */
    float4 *s_red = (float4 *)(s_bc + CBM * 2 * NPAD);   /* [S][2][EC][Q] (float4 = 4 states) */

    const int tid = threadIdx.x, b = blockIdx.y, ct = blockIdx.x, e0 = ct * EC;
    const scan_lane l = scan_lane_of<Q>(a.E);
    const int L = a.L, E = a.E, N = a.N;
    const T *u = (const T *)a.u, *dl = (const T *)a.delta, *dyp = (const T *)a.dy;
    const T *Bm = (const T *)a.Bm, *Cm = (const T *)a.Cm;

    float A[SCAN_NS], A2[SCAN_NS];
    scan_load_A(A, a.A_log, l, N);
#pragma unroll
    for (int s = 0; s < SCAN_NS; s++) A2[s] = A[s] * scan_arg_scale<FAST>();
    const float Dv = (a.Dskip && l.ve) ? a.Dskip[l.e] : 0.0f;

    float g[SCAN_NS], dAn[SCAN_NS], dAacc[SCAN_NS], dDacc = 0.0f;
#pragma unroll
    for (int s = 0; s < SCAN_NS; s++) g[s] = dAn[s] = dAacc[s] = 0.0f;
    float4 *ck = a.ck + ((size_t)b * a.nct + ct) * SCAN_NSUB * NT + tid;

    for (int k = a.nck - 1; k >= 0; k--) {
        const int t0 = k * a.cb, len = L - t0 < a.cb ? L - t0 : a.cb;
        const int nsub = (len + S - 1) / S;
        __syncthreads();   /* the previous chunk is done with shared memory */
        /* stage the chunk: fixed trip counts unrolled by 4 (12 loads in flight per thread) */
#pragma unroll 4
        for (int i = 0; i < CBM * EC / NT; i++) {
            const int idx = i * NT + tid, tt = idx / EC, cc = idx % EC;
            const bool ok = tt < len && e0 + cc < E;
            const size_t off = ((size_t)b * L + t0 + tt) * E + e0 + cc;
            s_u[idx] = ok ? ldf(u + off) : 0.0f;
            s_d[idx] = ok ? ldf(dl + off) : 0.0f;
            s_dy[idx] = ok ? ldf(dyp + off) : 0.0f;
        }
#pragma unroll 4
        for (int i = 0; i < CBM * 2 * NPAD / NT; i++) {
            const int idx = i * NT + tid, tt = idx / (2 * NPAD), j = idx % (2 * NPAD), n = j % NPAD;
            const T *src = j < NPAD ? Bm : Cm;
            const size_t off = ((size_t)b * L + t0 + tt) * a.ldbc + n;
            s_bc[idx] = (tt < len && n < N) ? ldf(src + off) : 0.0f;
        }
        float h[SCAN_NS];
#pragma unroll
        for (int s = 0; s < SCAN_NS; s++) {
            const int n = l.q * SCAN_NS + s;
            h[s] = (l.ve && n < N) ? a.hck[(((size_t)b * a.nck + k) * E + l.e) * N + n] : 0.0f;
        }
        __syncthreads();

        /* pass A: checkpoints every S steps (the last sub-chunk's end state is not needed) */
        for (int j = 0; j < nsub; j++) {
            ck[(size_t)j * NT] = make_float4(h[0], h[1], h[2], h[3]);
            if (j == nsub - 1) break;
#pragma unroll
            for (int i = 0; i < S; i++) {
                const int tt = j * S + i;
                if (tt < len) {
                    const float uf = s_u[tt * EC + l.c], df = s_d[tt * EC + l.c];
                    const float4 bq = ((const float4 *)(s_bc + tt * 2 * NPAD))[l.q];
                    const float dbu = df * uf;
                    h[0] = fmaf(scan_exp<FAST>(df * A2[0]), h[0], dbu * bq.x);
                    h[1] = fmaf(scan_exp<FAST>(df * A2[1]), h[1], dbu * bq.y);
                    h[2] = fmaf(scan_exp<FAST>(df * A2[2]), h[2], dbu * bq.z);
                    h[3] = fmaf(scan_exp<FAST>(df * A2[3]), h[3], dbu * bq.w);
                }
            }
        }

        /* pass B: sub-chunks from last to first */
        float4 hnext = ck[(size_t)(nsub - 1) * NT];
        for (int j = nsub - 1; j >= 0; j--) {
            float hs[S + 1][SCAN_NS], dA[S][SCAN_NS];
            hs[0][0] = hnext.x;
            hs[0][1] = hnext.y;
            hs[0][2] = hnext.z;
            hs[0][3] = hnext.w;
            if (j > 0) hnext = ck[(size_t)(j - 1) * NT];
#pragma unroll
            for (int i = 0; i < S; i++) {
                const int tt = j * S + i;
#pragma unroll
                for (int s = 0; s < SCAN_NS; s++) {
                    dA[i][s] = 1.0f;
                    hs[i + 1][s] = hs[i][s];
                }
                if (tt < len) {
                    const float uf = s_u[tt * EC + l.c], df = s_d[tt * EC + l.c];
                    const float4 bq = ((const float4 *)(s_bc + tt * 2 * NPAD))[l.q];
                    const float dbu = df * uf;
                    const float bv[4] = {bq.x, bq.y, bq.z, bq.w};
#pragma unroll
                    for (int s = 0; s < SCAN_NS; s++) {
                        dA[i][s] = scan_exp<FAST>(df * A2[s]);
                        hs[i + 1][s] = fmaf(dA[i][s], hs[i][s], dbu * bv[s]);
                    }
                }
            }
#pragma unroll
            for (int i = S - 1; i >= 0; i--) {
                const int tt = j * S + i;
                float4 vB = make_float4(0.f, 0.f, 0.f, 0.f), vC = vB;
                if (tt < len) {
                    const float uf = s_u[tt * EC + l.c], df = s_d[tt * EC + l.c];
                    const float dyv = s_dy[tt * EC + l.c];
                    const float4 bq = ((const float4 *)(s_bc + tt * 2 * NPAD))[l.q];
                    const float4 cq = ((const float4 *)(s_bc + tt * 2 * NPAD))[Q + l.q];
                    const float bv[4] = {bq.x, bq.y, bq.z, bq.w};
                    const float cv[4] = {cq.x, cq.y, cq.z, cq.w};
                    const float du_ = df * uf;
                    float s1 = 0.0f, s2 = 0.0f, pb[4], pc[4];
#pragma unroll
                    for (int s = 0; s < SCAN_NS; s++) {
                        g[s] = fmaf(dAn[s], g[s], cv[s] * dyv);
                        s1 = fmaf(g[s], bv[s], s1);
                        const float x = g[s] * dA[i][s] * hs[i][s];
                        s2 = fmaf(x, A[s], s2);
                        dAacc[s] = fmaf(x, df, dAacc[s]);
                        pb[s] = g[s] * du_;
                        pc[s] = dyv * hs[i + 1][s];
                        dAn[s] = dA[i][s];
                    }
                    vB = make_float4(pb[0], pb[1], pb[2], pb[3]);
                    vC = make_float4(pc[0], pc[1], pc[2], pc[3]);
                    s1 = lanes_sum<Q>(s1);
                    s2 = lanes_sum<Q>(s2);
                    dDacc = fmaf(dyv, uf, dDacc);
                    if (l.q == 0 && l.ve) {
                        const size_t off = ((size_t)b * L + t0 + tt) * E + l.e;
                        stf((T *)a.du + off, df * s1 + Dv * dyv);
                        stf((T *)a.ddelta + off, uf * s1 + s2);
                    }
                }
                s_red[((i * 2 + 0) * EC + l.c) * Q + l.q] = vB;
                s_red[((i * 2 + 1) * EC + l.c) * Q + l.q] = vC;
            }
            __syncthreads();
            /* sum the block's 32 channels: one float4 (4 states) per thread and output */
            for (int idx = tid; idx < S * 2 * Q; idx += NT) {
                const int i = idx / (2 * Q), r2 = idx % (2 * Q), tt = j * S + i;
                if (tt < len) {
                    const float4 *src = s_red + (size_t)(idx / Q) * EC * Q + (r2 % Q);
                    float4 acc = src[0];
                    for (int cc = 1; cc < EC; cc++) {
                        const float4 v = src[(size_t)cc * Q];
                        acc.x += v.x;
                        acc.y += v.y;
                        acc.z += v.z;
                        acc.w += v.w;
                    }
                    const size_t row = ((size_t)ct * a.B + b) * L + t0 + tt;
                    float4 *dst = (float4 *)(a.part + row * 2 * NPAD);
                    dst[r2] = acc;
                }
            }
            __syncthreads();
        }
    }
#pragma unroll
    for (int s = 0; s < SCAN_NS; s++) {
        const int n = l.q * SCAN_NS + s;
        if (l.ve && n < N) a.dA_part[((size_t)b * E + l.e) * N + n] = dAacc[s];
    }
    if (l.ve && l.q == 0) a.dD_part[(size_t)b * E + l.e] = dDacc;
}

/* ======== the backward's scratch layout (host) ======== */

static inline size_t scan_align256(size_t x, size_t a) { return (x + a - 1) / a * a; }

/* Byte offsets into the scratch of one backward call (chunk = the caller's chunk). */
struct scan_scratch {
    size_t part, ck, dA, dD, refine, total;   /* byte offsets, total size */
};

static inline scan_scratch scan_layout(int B, int L, int E, int N, int chunk)
{
    const int Q = scan_lanes(N), nct = (E + SCAN_EC - 1) / SCAN_EC;
    scan_scratch s;
    size_t off = 0;
    s.part = off;
    off += scan_align256((size_t)nct * B * L * 2 * 4 * Q * sizeof(float), 256);
    s.ck = off;
    off += scan_align256((size_t)B * nct * SCAN_NSUB * 32 * Q * sizeof(float4), 256);
    s.dA = off;
    off += scan_align256((size_t)B * E * N * sizeof(float), 256);
    s.dD = off;
    off += scan_align256((size_t)B * E * sizeof(float), 256);
    s.refine = off;
    if (chunk > SCAN_CB_MAX)
        off += scan_align256((size_t)B * ((L + SCAN_CB_MAX - 1) / SCAN_CB_MAX) * E * N * 4, 256);
    s.total = off;
    return s;
}

KRAIT_CUDA_NS_END

#endif /* KRAIT_CUDA_SCAN_CUH */
