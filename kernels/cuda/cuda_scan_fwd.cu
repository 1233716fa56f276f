/* kernels/cuda/cuda_scan_fwd.cu — the fused selective-scan forward.
 *
 * Design. The scan is h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t, y_t = <C_t, h_t> + D u_t per
 * (sequence b, channel e, state n). With channels contiguous in memory, a block takes 32
 * consecutive channels of one sequence and walks the sequence once, in order:
 *   - each channel's N states are split over Q lanes, 4 per lane, kept in registers for the
 *     whole sequence (never written except at chunk boundaries);
 *   - inputs are staged through shared memory in tiles of 32 steps (8Q for Q < 4): each thread loads its
 *     share of the next tile (u, delta for the 32 channels: two 64-byte rows per step in bf16;
 *     Bm and Cm: one N-vector each per step, shared by all channels) into registers while the
 *     current tile is computed, converts to fp32 and stores it into the other shared buffer;
 *     one __syncthreads per tile;
 *   - per step each lane does 4 x (exp, 2 FMA) + the <C, h> partial, a Q-lane butterfly gives
 *     y, lane 0 of the channel stores it;
 *   - h_chunks receives the state before every `chunk` steps (slot 0 = h0), h_last the end state.
 * Every input byte is read once and every output byte written once. There is no time
 * parallelism inside a channel, so no recomputation and exactly one exp per (t, e, n): at N = 16
 * the scan is bound by the special-function unit (16 exp/clk/SM), not by memory. B*E/32 blocks
 * of 32*Q threads (B=8, E=1536, N=16: 384 blocks of 128 threads, about 3 per SM on an H200).
 * bf16 mode uses ex2.approx on log2(e)-scaled A; fp32 mode uses expf for parity with the CPU.
 */
#include "cuda_scan.cuh"

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
    const float *h0;         /* (B, E, N) with batch stride h0_bstride, or NULL */
    size_t h0_bstride;
    int B, L, E, N, chunk, nchunks;
};

template <int Q> static size_t fwd_smem_floats()
{
    return (size_t)2 * 2 * scan_tt<Q>::v * SCAN_EC + (size_t)2 * scan_tt<Q>::v * 2 * 4 * Q;
}

template <typename T, int Q, bool FAST>
__global__ void __launch_bounds__(32 * Q) ssm_scan_fwd_kernel(const scan_fwd_args a)
{
    constexpr int NT = 32 * Q, NPAD = 4 * Q, TT = scan_tt<Q>::v, EC = SCAN_EC;
    constexpr int UPT = 2 * TT * EC / NT;        /* u/delta elements per thread per tile */
    constexpr int BPT = TT * 2 * NPAD / NT;      /* Bm/Cm elements per thread per tile (8) */
    extern __shared__ float4 smem4[];
    float *s_ud = (float *)smem4;                /* [2 buf][2: u, delta][TT][EC] */
    float *s_bc = s_ud + 2 * 2 * TT * EC;        /* [2 buf][TT][2 * NPAD]: B then C */

    const int tid = threadIdx.x, b = blockIdx.y, e0 = blockIdx.x * EC;
    const scan_lane l = scan_lane_of<Q>(a.E);
    const int L = a.L, E = a.E, N = a.N;
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
        const size_t base = ((size_t)b * L + t0) * E + e0 + lane;
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
            rb[i] = (t < L && n < N) ? src[((size_t)b * L + t) * a.ldbc + n] : fromf<T>(0.0f);
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
                stf((T *)a.y + ((size_t)b * L + t) * E + l.e, yp + Dv * uf);
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
            if (l.q * SCAN_NS + s < N) a.h_last[((size_t)b * E + l.e) * N + l.q * SCAN_NS + s] = h[s];
}

template <typename T, int Q>
static krait_status fwd_launch_q(krait_backend *be, const scan_fwd_args &a)
{
    constexpr bool FAST = sizeof(T) == 2;
    const size_t smem = fwd_smem_floats<Q>() * sizeof(float);
    auto kern = ssm_scan_fwd_kernel<T, Q, FAST>;
    if (smem > 48 * 1024) {
        if (smem > (size_t)cuda_im(be)->smem_optin) {
            KRAIT_ERROR("cuda: ssm_scan_fwd needs %zu bytes of shared memory for N=%d; this "
                        "device allows %d", smem, a.N, cuda_im(be)->smem_optin);
            return KRAIT_STATUS_UNSUPPORTED;
        }
        CUDA_CHECK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        (int)smem));
    }
    dim3 grid(cuda_cdiv(a.E, SCAN_EC), a.B);
    kern<<<grid, 32 * Q, smem, cuda_stream(be)>>>(a);
    LAUNCH_CHECK(be, "ssm_scan_fwd_kernel");
    return KRAIT_STATUS_OK;
}

template <typename T>
static krait_status fwd_launch(krait_backend *be, const scan_fwd_args &a)
{
    switch (scan_lanes(a.N)) {
    case 1: return fwd_launch_q<T, 1>(be, a);
    case 2: return fwd_launch_q<T, 2>(be, a);
    case 4: return fwd_launch_q<T, 4>(be, a);
    case 8: return fwd_launch_q<T, 8>(be, a);
    case 16: return fwd_launch_q<T, 16>(be, a);
    }
    KRAIT_ERROR("cuda: ssm_scan supports d_state 1..%d (got %d)", CUDA_SCAN_NMAX, a.N);
    return KRAIT_STATUS_UNSUPPORTED;
}

krait_status ssm_scan_fwd_launch(krait_backend *be, void *y, float *h_last, float *h_chunks,
                                 const void *u, const void *delta, const float *A_log,
                                 const void *Bm, const void *Cm, int ldbc, const float *Dskip,
                                 const float *h0, size_t h0_bstride, int B, int L, int E, int N,
                                 int chunk)
{
    if (B <= 0 || E <= 0 || L <= 0) return KRAIT_STATUS_OK;
    if (N < 1 || N > CUDA_SCAN_NMAX || chunk < 1) {
        KRAIT_ERROR("cuda: ssm_scan_fwd: unsupported N=%d or chunk=%d (N 1..%d, chunk >= 1)", N,
                    chunk, CUDA_SCAN_NMAX);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    scan_fwd_args a;
    a.y = y;
    a.h_last = h_last;
    a.h_chunks = h_chunks;
    a.u = u;
    a.delta = delta;
    a.A_log = A_log;
    a.Bm = Bm;
    a.Cm = Cm;
    a.ldbc = ldbc;
    a.Dskip = Dskip;
    a.h0 = h0;
    a.h0_bstride = h0_bstride;
    a.B = B;
    a.L = L;
    a.E = E;
    a.N = N;
    a.chunk = chunk;
    a.nchunks = cuda_cdiv(L, chunk);
    if (cuda_bf16(be)) return fwd_launch<bf16>(be, a);
    return fwd_launch<float>(be, a);
}

krait_status ssm_scan_fwd_cuda(krait_backend *be, void *y, float *h_last, float *h_chunks,
                               const void *u, const void *delta, const float *A_log,
                               const void *Bm, const void *Cm, int ldbc, const float *Dskip,
                               const float *h0, int B, int L, int E, int N, int chunk)
{
    return ssm_scan_fwd_launch(be, y, h_last, h_chunks, u, delta, A_log, Bm, Cm, ldbc, Dskip, h0,
                               (size_t)E * N, B, L, E, N, chunk);
}
