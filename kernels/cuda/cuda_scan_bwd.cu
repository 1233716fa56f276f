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
 * (B, L, E, N) is never stored: states are recomputed. Pass A (all but the last sub-chunk of a
 * chunk) and pass B take one exp per (t, e, n) each; with chunk <= 8 there is no pass A, so a
 * caller that can afford h_chunks every 8 steps gets a backward with one exp per element.
 * dBm/dCm are sums over all E channels: the 32 channels of a block are summed in shared memory
 * per sub-chunk and written as one partial per block; a second kernel adds the E/32 partials in
 * block order. dA_log and dD are formed the same way (per-sequence partials, summed over b in
 * order). No atomics, so the backward is deterministic.
 * Chunks longer than SCAN_CB_MAX (64) are first refined: the forward kernel re-runs from slot 0
 * of h_chunks and writes states every 64 steps into scratch (one extra exp per element).
 */
#include "cuda_common.cuh"
#include "cuda_scan.cuh"

KRAIT_CUDA_NS_BEGIN

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
int scan_fits(krait_backend *be, int N)
{
    if (N < 1 || N > CUDA_SCAN_NMAX) return 0;
    size_t need = 0;
    switch (scan_lanes(N)) {
    case 1: need = bwd_smem_floats<1>(); break;
    case 2: need = bwd_smem_floats<2>(); break;
    case 4: need = bwd_smem_floats<4>(); break;
    case 8: need = bwd_smem_floats<8>(); break;
    default: need = bwd_smem_floats<16>(); break;
    }
    return need * sizeof(float) <= (size_t)cuda_im(be)->smem_optin;
}

size_t scan_scratch_bytes(int B, int L, int E, int N, int chunk)
{
    if (B <= 0 || L <= 0 || E <= 0 || N <= 0 || N > CUDA_SCAN_NMAX) return 0;
    const size_t bwd = scan_layout(B, L, E, N, chunk < 1 ? CUDA_SCAN_CHUNK : chunk).total;
    const size_t split = scan_split_scratch_bytes(B, L, E, N);
    return bwd > split ? bwd : split;
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
    KRAIT_LAUNCH((kern), dim3(a.nct, a.B), 32 * Q, smem, cuda_stream(be), a);
    LAUNCH_CHECK(be, "ssm_scan_bwd_kernel");
    return KRAIT_STATUS_OK;
}

template <typename T>
static krait_status bwd_launch(krait_backend *be, const scan_bwd_args &a, T *dBm, T *dCm,
                               float *dA_log, float *dD, cuda_prof *prof)
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
    cuda_prof_mark(be, prof, "main");
    const size_t total = (size_t)a.B * a.L * 2 * a.N;
    size_t blocks = (total + 255) / 256;
    if (blocks > 16384) blocks = 16384;
    KRAIT_LAUNCH((scan_bc_reduce_kernel), (int)blocks, 256, 0, cuda_stream(be), dBm, dCm, a.ldbc,
                 a.part, a.nct, a.B, a.L, a.N, 4 * Q);
    LAUNCH_CHECK(be, "scan_bc_reduce_kernel");
    cuda_prof_mark(be, prof, "dBm/dCm reduce");
    KRAIT_LAUNCH((scan_param_reduce_kernel), cuda_cdiv((long long)a.E * a.N, 256), 256, 0,
                 cuda_stream(be), dA_log, dD, a.A_log, a.dA_part, a.dD_part, a.B, a.E, a.N);
    LAUNCH_CHECK(be, "scan_param_reduce_kernel");
    cuda_prof_mark(be, prof, "dA/dD reduce");
    return KRAIT_STATUS_OK;
}

krait_status ssm_scan_bwd_cuda(krait_backend *be, void *du, void *ddelta, void *dBm, void *dCm,
                               float *dA_log, float *dD, const void *dy, const void *u,
                               const void *delta, const float *A_log, const void *Bm,
                               const void *Cm, int ldbc, const float *Dskip,
                               const float *h_chunks, int B, int L, int E, int N, int chunk)
{
    if (B <= 0 || E <= 0 || L <= 0) return KRAIT_STATUS_OK;
    if (cuda_batch_fits(B, "ssm_scan_bwd")) return KRAIT_STATUS_UNSUPPORTED;
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
    cuda_prof prof;
    cuda_prof_begin(be, &prof);
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
        cuda_prof_mark(be, &prof, "refine");
    }
    krait_status st;
    if (cuda_bf16(be))
        st = bwd_launch<bf16>(be, a, (bf16 *)dBm, (bf16 *)dCm, dA_log, dD, &prof);
    else
        st = bwd_launch<float>(be, a, (float *)dBm, (float *)dCm, dA_log, dD, &prof);
    cuda_prof_end(be, &prof, "ssm_scan_bwd");
    return st;
}

KRAIT_CUDA_NS_END
