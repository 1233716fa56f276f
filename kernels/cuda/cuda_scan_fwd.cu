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
 *
 * Inference (no h_chunks to write) at small B*E: one sequence of 130m (E 1536) is 48 blocks for
 * 132 SMs, each walking L steps in turn, so the scan took 0.68 ms of a 4096-token layer on an
 * H200, 69% of the prefill's GPU time (tests/gpu/profile.sh, 2026-12-04). There each sequence is
 * cut into S segments and the same kernel runs twice over the B*S segments (scan_fwd_args.S):
 * from zero, for each segment's end state (no y), while scan_seg_dsum_kernel sums each
 * segment's delta; scan_seg_chain_kernel chains the end states into
 * start states (a segment's decay is exp(A times its sum of delta)) and writes h_last; then from
 * those start states, writing y. Twice the exps, S times the blocks. S depends on the shape only
 * (the same sums on every device): only when the uncut scan has under SCAN_CUT_BELOW blocks,
 * doubled while the segments keep >= 64 steps and the blocks number under SCAN_SPLIT_BLOCKS; the
 * last segment is shorter when S does not divide L.
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
    dim3 grid(cuda_cdiv(a.E, SCAN_EC), a.B * a.S);
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

/* The kernel in the backend's activation dtype. */
static krait_status fwd_run(krait_backend *be, const scan_fwd_args &a)
{
    return cuda_bf16(be) ? fwd_launch<bf16>(be, a) : fwd_launch<float>(be, a);
}

/* ---- the forward cut in time (inference) ---- */

/* dsum[bs E + e] = the sum of delta over segment bs = b S + s (steps s Ls .. of sequence b, the
 * last segment shorter). */
template <typename T>
static __global__ void scan_seg_dsum_kernel(float *dsum, const T *delta, int L, int S, int Ls, int E)
{
    const int e = blockIdx.x * blockDim.x + threadIdx.x, bs = blockIdx.y;
    if (e >= E) return;
    const int tbeg = (bs % S) * Ls, n = L - tbeg < Ls ? L - tbeg : Ls;
    const T *d = delta + ((size_t)(bs / S) * L + tbeg) * E + e;
    float acc = 0.0f;
#pragma unroll 8
    for (int t = 0; t < n; t++) acc += tof(d[(size_t)t * E]);
    dsum[(size_t)bs * E + e] = acc;
}

/* hs (B*S, E, N): each segment's end state scanned from zero on entry, its start state on
 * return: h_0 = h0[b] (or 0), h_{s+1} = exp(A dsum_s) h_s + end_s, the product of a segment's
 * per-step decays being exp(A times its sum of delta). h_last[b] gets h_S. One thread per (b, e,
 * n); h_last may alias h0 (each element is read before it is written, by the same thread). */
static __global__ void scan_seg_chain_kernel(float *hs, float *h_last, const float *dsum,
                                             const float *A_log, const float *h0, size_t h0_bstride,
                                             int B, int S, int E, int N)
{
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, EN = (size_t)E * N;
    if (i >= (size_t)B * EN) return;
    const size_t b = i / EN, en = i % EN, e = en / N;
    const float A = -expf(A_log[en]);
    float h = h0 ? h0[b * h0_bstride + en] : 0.0f;
    for (int s = 0; s < S; s++) {
        const size_t bs = b * S + s;
        float *p = hs + bs * EN + en;
        const float end = *p;
        *p = h;
        h = fmaf(expf(A * dsum[bs * E + e]), h, end);
    }
    if (h_last) h_last[b * EN + en] = h;
}

#define SCAN_CUT_BELOW 256       /* cut only when the uncut scan has fewer blocks (~2 per SM) */
#define SCAN_SPLIT_BLOCKS 1024   /* a cut stops doubling once the blocks reach this (~8 per SM) */
#define SCAN_SEG_MIN 64          /* shortest segment but the last of a cut sequence */
#define SCAN_SEG_MAX 64          /* most segments per sequence */

/* The number of segments a sequence of L steps is cut into (1: not cut). The segments are
 * ceil(L / S) steps, the last one shorter, never empty: S <= 64 <= L / S. */
static int fwd_segments(int B, int L, int E)
{
    const long long blocks = (long long)B * cuda_cdiv(E, SCAN_EC);
    int S = 1;
    if (blocks >= SCAN_CUT_BELOW) return 1;
    while (S < SCAN_SEG_MAX && L / (2 * S) >= SCAN_SEG_MIN && blocks * S < SCAN_SPLIT_BLOCKS) S *= 2;
    return S;
}

/* Scratch for a cut forward: start states (B*S, E, N) and delta sums (B*S, E). B*S*E stays
 * under 2 * SCAN_SPLIT_BLOCKS * SCAN_EC and under B * (L / SCAN_SEG_MIN) * E, so the bound holds
 * for every call with B and L no larger than these. */
size_t scan_split_scratch_bytes(int B, int L, int E, int N)
{
    if (B <= 0 || L <= 0 || E <= 0 || N <= 0) return 0;
    long long bse = (long long)B * (L / SCAN_SEG_MIN) * E, cap = 2LL * SCAN_SPLIT_BLOCKS * SCAN_EC;
    if (bse > cap) bse = cap;
    return (size_t)bse * (size_t)(N + 1) * sizeof(float);
}

/* The cut forward (see the top of this file); a.h_chunks is NULL, hs the scratch. */
static krait_status fwd_split(krait_backend *be, const scan_fwd_args &a, int S, float *hs)
{
    const int BS = a.B * S, Ls = cuda_cdiv(a.L, S), E = a.E, N = a.N;
    float *dsum = hs + (size_t)BS * E * N;
    scan_fwd_args p = a;  /* each segment from zero: end states only */
    p.y = NULL;
    p.h_last = hs;
    p.h0 = NULL;
    p.S = S;
    p.Ls = p.chunk = Ls;
    p.nchunks = 1;
    krait_status st = fwd_run(be, p);
    if (st) return st;
    dim3 gs(cuda_cdiv(E, 128), BS);
    if (cuda_bf16(be))
        KRAIT_LAUNCH((scan_seg_dsum_kernel), gs, 128, 0, cuda_stream(be), dsum, (const bf16 *)a.delta, a.L, S, Ls, E);
    else
        KRAIT_LAUNCH((scan_seg_dsum_kernel), gs, 128, 0, cuda_stream(be), dsum, (const float *)a.delta, a.L, S, Ls,
                     E);
    LAUNCH_CHECK(be, "scan_seg_dsum_kernel");
    const size_t nt = (size_t)a.B * E * N;
    KRAIT_LAUNCH((scan_seg_chain_kernel), dim3(cuda_cdiv((long long)nt, 256)), 256, 0, cuda_stream(be), hs,
                 a.h_last, dsum, a.A_log, a.h0, a.h0_bstride, a.B, S, E, N);
    LAUNCH_CHECK(be, "scan_seg_chain_kernel");
    if (!a.y) return KRAIT_STATUS_OK;
    p = a;  /* again from the start states, writing y */
    p.h_last = NULL;
    p.h0 = hs;
    p.h0_bstride = (size_t)E * N;
    p.S = S;
    p.Ls = p.chunk = Ls;
    p.nchunks = 1;
    return fwd_run(be, p);
}

/* The arguments, or a status when there is nothing to launch (empty) or the call is refused. */
static krait_status fwd_args(scan_fwd_args *a, void *y, float *h_last, float *h_chunks, const void *u,
                             const void *delta, const float *A_log, const void *Bm, const void *Cm,
                             int ldbc, const float *Dskip, const float *h0, size_t h0_bstride, int B,
                             int L, int E, int N, int chunk, int *empty)
{
    *empty = B <= 0 || E <= 0 || L <= 0;
    if (*empty) return KRAIT_STATUS_OK;
    if (cuda_batch_fits(B, "ssm_scan_fwd")) return KRAIT_STATUS_UNSUPPORTED;
    if (N < 1 || N > CUDA_SCAN_NMAX || chunk < 1) {
        KRAIT_ERROR("cuda: ssm_scan_fwd: unsupported N=%d or chunk=%d (N 1..%d, chunk >= 1)", N,
                    chunk, CUDA_SCAN_NMAX);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    a->y = y;
    a->h_last = h_last;
    a->h_chunks = h_chunks;
    a->u = u;
    a->delta = delta;
    a->A_log = A_log;
    a->Bm = Bm;
    a->Cm = Cm;
    a->ldbc = ldbc;
    a->Dskip = Dskip;
    a->h0 = h0;
    a->h0_bstride = h0_bstride;
    a->B = B;
    a->L = L;
    a->E = E;
    a->N = N;
    a->chunk = chunk;
    a->nchunks = cuda_cdiv(L, chunk);
    a->S = 1;
    a->Ls = L;
    return KRAIT_STATUS_OK;
}

krait_status ssm_scan_fwd_launch(krait_backend *be, void *y, float *h_last, float *h_chunks,
                                 const void *u, const void *delta, const float *A_log,
                                 const void *Bm, const void *Cm, int ldbc, const float *Dskip,
                                 const float *h0, size_t h0_bstride, int B, int L, int E, int N,
                                 int chunk)
{
    scan_fwd_args a;
    int empty;
    krait_status st = fwd_args(&a, y, h_last, h_chunks, u, delta, A_log, Bm, Cm, ldbc, Dskip, h0,
                               h0_bstride, B, L, E, N, chunk, &empty);
    if (st || empty) return st;
    return fwd_run(be, a);
}

/* The backend op: the kernel as it is when h_chunks are wanted (training), else cut in time
 * where the shape leaves the GPU idle. (The backward's refine pass calls ssm_scan_fwd_launch,
 * never the cut, which would share the scratch the backward is using.) */
krait_status ssm_scan_fwd_cuda(krait_backend *be, void *y, float *h_last, float *h_chunks,
                               const void *u, const void *delta, const float *A_log,
                               const void *Bm, const void *Cm, int ldbc, const float *Dskip,
                               const float *h0, int B, int L, int E, int N, int chunk)
{
    scan_fwd_args a;
    int empty;
    krait_status st = fwd_args(&a, y, h_last, h_chunks, u, delta, A_log, Bm, Cm, ldbc, Dskip, h0,
                               (size_t)E * N, B, L, E, N, chunk, &empty);
    if (st || empty) return st;
    const int S = h_chunks || !(y || h_last) ? 1 : fwd_segments(B, L, E);
    if (S > 1) {
        const size_t need = (size_t)B * S * E * (N + 1) * sizeof(float);
        if (need <= cuda_im(be)->scratch_bytes) {
            krait_log(KRAIT_LOG_DEBUG, "cuda: ssm_scan_fwd: B %d L %d E %d cut into %d segments", B, L, E, S);
            return fwd_split(be, a, S, (float *)cuda_im(be)->scratch);
        }
        /* correct uncut too, only slower (and its sums in another order): say so once */
        if (!cuda_im(be)->scan_cut_warned++)
            KRAIT_WARN("cuda: ssm_scan_fwd: %zu bytes of scratch would let one sequence of %d steps be "
                       "scanned in %d parts, but reserve() provided %zu; scanning it whole (slower)",
                       need, L, S, cuda_im(be)->scratch_bytes);
    }
    return fwd_run(be, a);
}

KRAIT_CUDA_NS_END
