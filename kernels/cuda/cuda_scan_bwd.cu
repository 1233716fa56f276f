/* kernels/cuda/cuda_scan_bwd.cu — the fused selective-scan backward.
 *
 * Same lane layout as the forward (cuda_scan.cuh): a block owns 32 channels of one sequence, Q
 * lanes per channel, 4 states per lane. It walks the chunks of the sequence from last to first.
 * For chunk k it stages u, delta, dy (32 channels) and Bm, Cm for the chunk's steps in shared
 * memory (fp32), then
 *   pass A: from the chunk's start state (h_chunks slot k) runs the recurrence forward and saves
 *           the state every SCAN_S = 8 steps (per-lane checkpoints, in global scratch that stays
 *           in L2);
 *   pass B: for each 8-step sub-chunk from last to first: recompute the 8 states and decays from
 *           the checkpoint into registers, then step backwards with the adjoint
 *             g_t = C_t dy_t + exp(delta_{t+1} A) g_{t+1}
 *           accumulating du, ddelta (Q-lane butterflies; written by lane 0 of the channel),
 *           dA and dD (registers, whole sequence) and the per-channel dB, dC contributions.
 * (B, L, E, N) is never stored: the state is recomputed (two exps per (t, e, n) in total).
 * dBm/dCm are sums over all E channels: the 32 channels of a block are summed in shared memory
 * per sub-chunk and written as one partial per block; a second kernel adds the E/32 partials in
 * block order. dA_log and dD are formed the same way (per-sequence partials, summed over b in
 * order). No atomics, so the backward is deterministic.
 * Chunks longer than SCAN_CB_MAX (64) are first refined: the forward kernel re-runs from slot 0
 * of h_chunks and writes states every 64 steps into scratch (one extra exp per element).
 */
#include "cuda_scan.cuh"

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

template <int Q> static size_t bwd_smem_floats()
{
    return (size_t)3 * SCAN_CB_MAX * SCAN_EC + (size_t)SCAN_CB_MAX * 2 * 4 * Q +
           (size_t)SCAN_S * 2 * SCAN_EC * 4 * Q;
}

template <typename T, int Q, bool FAST>
__global__ void __launch_bounds__(32 * Q) ssm_scan_bwd_kernel(const scan_bwd_args a)
{
    constexpr int NT = 32 * Q, NPAD = 4 * Q, EC = SCAN_EC, S = SCAN_S, CBM = SCAN_CB_MAX;
    extern __shared__ float4 smem4[];
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
        for (int idx = tid; idx < len * EC; idx += NT) {
            const int tt = idx / EC, cc = idx % EC;
            const bool ok = e0 + cc < E;
            const size_t off = ((size_t)b * L + t0 + tt) * E + e0 + cc;
            s_u[idx] = ok ? ldf(u + off) : 0.0f;
            s_d[idx] = ok ? ldf(dl + off) : 0.0f;
            s_dy[idx] = ok ? ldf(dyp + off) : 0.0f;
        }
        for (int idx = tid; idx < len * 2 * NPAD; idx += NT) {
            const int tt = idx / (2 * NPAD), j = idx % (2 * NPAD), n = j % NPAD;
            const T *src = j < NPAD ? Bm : Cm;
            s_bc[idx] = n < N ? ldf(src + ((size_t)b * L + t0 + tt) * a.ldbc + n) : 0.0f;
        }
        float h[SCAN_NS];
#pragma unroll
        for (int s = 0; s < SCAN_NS; s++) {
            const int n = l.q * SCAN_NS + s;
            h[s] = (l.ve && n < N) ? a.hck[(((size_t)b * a.nck + k) * E + l.e) * N + n] : 0.0f;
        }
        __syncthreads();

        /* pass A: checkpoints every S steps */
        for (int j = 0; j < nsub; j++) {
            ck[(size_t)j * NT] = make_float4(h[0], h[1], h[2], h[3]);
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
                    float4 *dst = (float4 *)(a.part + (((size_t)ct * a.B + b) * L + t0 + tt) * 2 * NPAD);
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

/* dBm/dCm[b, t, n] = sum over channel blocks of the partials (in block order). */
template <typename T>
__global__ void scan_bc_reduce_kernel(T *dBm, T *dCm, int ldbc, const float *part, int nct, int B,
                                      int L, int N, int NPAD)
{
    const size_t total = (size_t)B * L * 2 * N;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int n = (int)(i % N), arr = (int)((i / N) % 2);
        const size_t row = i / (2 * (size_t)N);   /* b * L + t */
        const size_t stride = (size_t)B * L * 2 * NPAD;
        const float *p = part + row * 2 * NPAD + (size_t)arr * NPAD + n;
        float acc = 0.0f;
        for (int c = 0; c < nct; c++) acc += p[(size_t)c * stride];
        stf((arr ? dCm : dBm) + row * ldbc + n, acc);
    }
}

/* dA_log[e, n] += A[e, n] * sum_b dA_part[b, e, n];  dD[e] += sum_b dD_part[b, e]. */
__global__ void scan_param_reduce_kernel(float *dA_log, float *dD, const float *A_log,
                                         const float *dA_part, const float *dD_part, int B, int E,
                                         int N)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < E * N) {
        float acc = 0.0f;
        for (int b = 0; b < B; b++) acc += dA_part[(size_t)b * E * N + i];
        dA_log[i] += -expf(A_log[i]) * acc;
    }
    if (dD && i < E) {
        float acc = 0.0f;
        for (int b = 0; b < B; b++) acc += dD_part[(size_t)b * E + i];
        dD[i] += acc;
    }
}

/* ---- scratch ------------------------------------------------------------------------------ */
struct scan_scratch {
    size_t part, ck, dA, dD, refine, total;   /* byte offsets, total size */
};

static scan_scratch scan_layout(int B, int L, int E, int N, int chunk)
{
    const int Q = scan_lanes(N), nct = cuda_cdiv(E, SCAN_EC);
    scan_scratch s;
    size_t off = 0;
    s.part = off;
    off += cuda_align_up((size_t)nct * B * L * 2 * 4 * Q * sizeof(float), 256);
    s.ck = off;
    off += cuda_align_up((size_t)B * nct * SCAN_NSUB * 32 * Q * sizeof(float4), 256);
    s.dA = off;
    off += cuda_align_up((size_t)B * E * N * sizeof(float), 256);
    s.dD = off;
    off += cuda_align_up((size_t)B * E * sizeof(float), 256);
    s.refine = off;
    if (chunk > SCAN_CB_MAX)
        off += cuda_align_up((size_t)B * cuda_cdiv(L, SCAN_CB_MAX) * E * N * sizeof(float), 256);
    s.total = off;
    return s;
}

size_t scan_scratch_bytes(int B, int L, int E, int N, int chunk)
{
    if (B <= 0 || L <= 0 || E <= 0 || N <= 0 || N > CUDA_SCAN_NMAX) return 0;
    return scan_layout(B, L, E, N, chunk < 1 ? CUDA_SCAN_CHUNK : chunk).total;
}

template <typename T, int Q>
static krait_status bwd_launch_q(krait_backend *be, const scan_bwd_args &a)
{
    constexpr bool FAST = sizeof(T) == 2;
    const size_t smem = bwd_smem_floats<Q>() * sizeof(float);
    auto kern = ssm_scan_bwd_kernel<T, Q, FAST>;
    if (smem > (size_t)cuda_im(be)->smem_optin) {
        KRAIT_ERROR("cuda: ssm_scan_bwd needs %zu bytes of shared memory for N=%d; this device "
                    "allows %d", smem, a.N, cuda_im(be)->smem_optin);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    if (smem > 48 * 1024)
        CUDA_CHECK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        (int)smem));
    kern<<<dim3(a.nct, a.B), 32 * Q, smem, cuda_stream(be)>>>(a);
    LAUNCH_CHECK(be, "ssm_scan_bwd_kernel");
    return KRAIT_STATUS_OK;
}

template <typename T>
static krait_status bwd_launch(krait_backend *be, const scan_bwd_args &a, T *dBm, T *dCm,
                               float *dA_log, float *dD)
{
    const int Q = scan_lanes(a.N);
    switch (Q) {
    case 1: RETURN_IF((bwd_launch_q<T, 1>(be, a))); break;
    case 2: RETURN_IF((bwd_launch_q<T, 2>(be, a))); break;
    case 4: RETURN_IF((bwd_launch_q<T, 4>(be, a))); break;
    case 8: RETURN_IF((bwd_launch_q<T, 8>(be, a))); break;
    case 16: RETURN_IF((bwd_launch_q<T, 16>(be, a))); break;
    default:
        KRAIT_ERROR("cuda: ssm_scan supports d_state 1..%d (got %d)", CUDA_SCAN_NMAX, a.N);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    const size_t total = (size_t)a.B * a.L * 2 * a.N;
    size_t blocks = (total + 255) / 256;
    if (blocks > 16384) blocks = 16384;
    scan_bc_reduce_kernel<<<(int)blocks, 256, 0, cuda_stream(be)>>>(dBm, dCm, a.ldbc, a.part,
                                                                     a.nct, a.B, a.L, a.N, 4 * Q);
    LAUNCH_CHECK(be, "scan_bc_reduce_kernel");
    scan_param_reduce_kernel<<<cuda_cdiv((long long)a.E * a.N, 256), 256, 0, cuda_stream(be)>>>(
        dA_log, dD, a.A_log, a.dA_part, a.dD_part, a.B, a.E, a.N);
    LAUNCH_CHECK(be, "scan_param_reduce_kernel");
    return KRAIT_STATUS_OK;
}

krait_status ssm_scan_bwd_cuda(krait_backend *be, void *du, void *ddelta, void *dBm, void *dCm,
                               float *dA_log, float *dD, const void *dy, const void *u,
                               const void *delta, const float *A_log, const void *Bm,
                               const void *Cm, int ldbc, const float *Dskip,
                               const float *h_chunks, int B, int L, int E, int N, int chunk)
{
    if (B <= 0 || E <= 0 || L <= 0) return KRAIT_STATUS_OK;
    if (N < 1 || N > CUDA_SCAN_NMAX || chunk < 1) {
        KRAIT_ERROR("cuda: ssm_scan_bwd: unsupported N=%d or chunk=%d (N 1..%d, chunk >= 1)", N,
                    chunk, CUDA_SCAN_NMAX);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    const scan_scratch lay = scan_layout(B, L, E, N, chunk);
    char *s = (char *)cuda_scratch(be, lay.total, "ssm_scan_bwd");
    if (!s) return KRAIT_STATUS_NO_MEMORY;

    scan_bwd_args a;
    a.du = du;
    a.ddelta = ddelta;
    a.part = (float *)(s + lay.part);
    a.ck = (float4 *)(s + lay.ck);
    a.dA_part = (float *)(s + lay.dA);
    a.dD_part = (float *)(s + lay.dD);
    a.dy = dy;
    a.u = u;
    a.delta = delta;
    a.A_log = A_log;
    a.Bm = Bm;
    a.Cm = Cm;
    a.ldbc = ldbc;
    a.Dskip = Dskip;
    a.B = B;
    a.L = L;
    a.E = E;
    a.N = N;
    a.nct = cuda_cdiv(E, SCAN_EC);
    if (chunk <= SCAN_CB_MAX) {
        a.hck = h_chunks;
        a.cb = chunk;
        a.nck = cuda_cdiv(L, chunk);
    } else {
        /* refine: states every SCAN_CB_MAX steps, recomputed from h0 = slot 0 of h_chunks */
        float *ref = (float *)(s + lay.refine);
        const int nc = cuda_cdiv(L, chunk);
        RETURN_IF(ssm_scan_fwd_launch(be, NULL, NULL, ref, u, delta, A_log, Bm, Cm, ldbc, Dskip,
                                      h_chunks, (size_t)nc * E * N, B, L, E, N, SCAN_CB_MAX));
        a.hck = ref;
        a.cb = SCAN_CB_MAX;
        a.nck = cuda_cdiv(L, SCAN_CB_MAX);
    }
    if (cuda_bf16(be)) return bwd_launch<bf16>(be, a, (bf16 *)dBm, (bf16 *)dCm, dA_log, dD);
    return bwd_launch<float>(be, a, (float *)dBm, (float *)dCm, dA_log, dD);
}
