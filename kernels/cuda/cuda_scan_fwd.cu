/* kernels/cuda/cuda_scan_fwd.cu — the fused selective-scan forward.
 *
 * Design. The scan is h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t, y_t = <C_t, h_t> + D u_t per
 * (sequence b, channel e, state n). With channels contiguous in memory, a block takes 32
 * consecutive channels of one sequence and walks the sequence once, in order:
 *   - each channel's N states are split over Q lanes, 4 per lane, kept in registers for the
 *     whole sequence (never written except at chunk boundaries);
 *   - inputs are staged through shared memory in tiles of 32 steps (8Q for Q < 4): each thread
 *     loads its share of the next tile (u, delta for the 32 channels: two 64-byte rows per step
 *     in bf16; Bm and Cm: one N-vector each per step, shared by all channels) into registers
 *     while the current tile is computed, converts to fp32 and stores it into the other shared
 *     buffer; one __syncthreads per tile;
 *   - per step each lane does 4 x (exp, 2 FMA) + the <C, h> partial, a Q-lane butterfly gives
 *     y, lane 0 of the channel stores it;
 *   - h_chunks receives the state before every `chunk` steps (slot 0 = h0), h_last the end state.
 * Every input byte is read once and every output byte written once. There is no time
 * parallelism inside a channel, so no recomputation and exactly one exp per (t, e, n): at N = 16
 * the scan is bound by the special-function unit (16 exp/clk/SM) and instruction issue (about
 * 9.5 instructions per (t, e, n)), not by memory. B*E/32 blocks of 32*Q threads (B=8, E=1536,
 * N=16: 384 blocks of 128 threads, about 3 per SM on an H200, 12 warps, balanced over the 4
 * schedulers). The kernels themselves are in cuda_scan.cuh.
 * bf16 mode uses ex2.approx on log2(e)-scaled A; fp32 mode uses expf for parity with the CPU.
 */
#include "cuda_common.cuh"
#include "cuda_scan.cuh"

KRAIT_CUDA_NS_BEGIN

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
    KRAIT_LAUNCH((kern), grid, 32 * Q, smem, cuda_stream(be), a);
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
    if (cuda_batch_fits(B, "ssm_scan_fwd")) return KRAIT_STATUS_UNSUPPORTED;
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

KRAIT_CUDA_NS_END
