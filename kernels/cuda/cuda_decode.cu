/* kernels/cuda/cuda_decode.cu — the optional decode ops of backend.h on the GPU: the one-token
 * conv step, the fused dt_proj + softplus + state update + D skip + gate step, and sampling one
 * token per row of logits on the device.
 *
 * conv1d_step: one thread per (sequence, channel): K-1 state values and the new input in
 * registers, the conv + SiLU, the state shifted in place. ssm_step: a group of lanes per
 * (sequence, channel), one per state; the block's sequence row of dbc = [dt | Bm | Cm] is staged
 * once in shared memory, the lanes split the dt_proj dot (R terms), then each updates its states
 * in place, and the <h, Cm> partials are summed across the group. Rounding to the activation dtype happens exactly
 * where the unfused ops store (dtl, delta, y, out). Both ops are bandwidth-trivial next to the
 * GEMMs of a decode step; their point is one launch instead of two (conv) and four (dt_proj,
 * softplus, scan, gate) per layer, which matters when a step is ~150 launches of a few
 * microseconds each (and is why the step is also captured in a CUDA graph, core/infer.c).
 * sample_rows: one block per row; a deterministic (value, id) arg-max, then, for temperature > 0,
 * per-thread masses of contiguous id ranges in double, a sequential prefix by one thread (fixed
 * order), and the one thread whose range holds the draw walks it. No atomics, so the emulator
 * (tests/gpu/cuda_emu.h) runs it unchanged.
 * Not here: top-k / top-p (core samples those on the host); L > 1 (cuda_conv.cu, cuda_scan_fwd.cu).
 */
#include "cuda_common.cuh"
#include "cuda_scan.cuh" /* lanes_sum */

KRAIT_CUDA_NS_BEGIN

#define STEP_THREADS 128
#define SAMPLE_THREADS 256

template <typename T> __device__ __forceinline__ float rnd(float v) { return tof(fromf<T>(v)); }

/* ---- conv step ------------------------------------------------------------------------------ */
template <typename T>
__global__ void __launch_bounds__(STEP_THREADS)
conv1d_step_kernel(T *u, float *state, const T *x, int ldx, const float *w, const float *bias,
                   int E, int K)
{
    const int e = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y;
    if (e >= E) return;
    float *s = state + (size_t)b * (K - 1) * E + e;
    const float xv = ldf(x + (size_t)b * ldx + e);
    float acc = bias ? bias[e] : 0.0f;
    for (int k = 0; k < K - 1; k++) {
        const float sv = s[(size_t)k * E];
        acc = fmaf(w[(size_t)e * K + k], sv, acc);
        if (k > 0) s[(size_t)(k - 1) * E] = sv;   /* shift: row k-1 <- row k */
    }
    acc = fmaf(w[(size_t)e * K + K - 1], xv, acc);
    if (K > 1) s[(size_t)(K - 2) * E] = xv;
    stf(u + (size_t)b * E + e, acc * sigmoidf_(acc));
}

krait_status conv1d_step_cuda(krait_backend *be, void *u, float *state, const void *x, int ldx,
                              const float *w, const float *bias, int B, int E, int K)
{
    if (B <= 0 || E <= 0) return KRAIT_STATUS_OK;
    if (cuda_batch_fits(B, "conv1d_step")) return KRAIT_STATUS_UNSUPPORTED;
    dim3 grid(cuda_cdiv(E, STEP_THREADS), B);
    if (cuda_bf16(be))
        KRAIT_LAUNCH((conv1d_step_kernel<bf16>), grid, STEP_THREADS, 0, cuda_stream(be), (bf16 *)u,
                     state, (const bf16 *)x, ldx, w, bias, E, K);
    else
        KRAIT_LAUNCH((conv1d_step_kernel<float>), grid, STEP_THREADS, 0, cuda_stream(be), (float *)u,
                     state, (const float *)x, ldx, w, bias, E, K);
    LAUNCH_CHECK(be, "conv1d_step_kernel");
    return KRAIT_STATUS_OK;
}

/* ---- ssm step ------------------------------------------------------------------------------- */
/* Grid (E / (STEP_THREADS / SL), B); SL lanes per channel (a power of two >= N, at most 32), lane q
 * holding states q, q + SL, ...; dynamic shared memory: the row's R + 2N dbc values as fp32. The
 * lanes split the dt_proj dot (R terms) and the <h, Cm> sum and add them up by butterfly, so a
 * channel's work is a short chain rather than R + N steps in one thread: with one thread per
 * channel, 1.4b (E 4096) was 32 blocks for 132 SMs and 16 us per layer on an H200 (ncu,
 * 2026-12-04: 15% of a batch-1 decode's kernel time). No thread leaves early: the butterflies
 * need every lane of the warp. */
template <typename T, int SL>
__global__ void __launch_bounds__(STEP_THREADS)
ssm_step_kernel(T *out, float *h, const T *u, const T *dbc, int ldbc, const T *dt_w,
                const float *dt_bias, const float *A_log, const float *Dskip, const T *z, int ldz,
                int E, int N, int R)
{
    KRAIT_DYN_SMEM(float, row);
    const int b = blockIdx.y, q = threadIdx.x % SL;
    const int e = blockIdx.x * (STEP_THREADS / SL) + threadIdx.x / SL;
    for (int i = threadIdx.x; i < R + 2 * N; i += blockDim.x) row[i] = ldf(dbc + (size_t)b * ldbc + i);
    __syncthreads();
    const bool ve = e < E;
    const float *Bm = row + R, *Cm = row + R + N;
    float acc = 0.0f;
    if (ve) {
        const T *wr = dt_w + (size_t)e * R;
        for (int r = q; r < R; r += SL) acc = fmaf(row[r], ldf(wr + r), acc);
    }
    acc = lanes_sum<SL>(acc);
    float v = rnd<T>(acc);
    if (ve && dt_bias) v += dt_bias[e];
    const float delta = rnd<T>(v > 20.0f ? v : log1pf(expf(v)));
    const float uv = ve ? ldf(u + (size_t)b * E + e) : 0.0f, du = delta * uv;
    float y = 0.0f;
    if (ve) {
        float *hp = h + ((size_t)b * E + e) * N;
        const float *al = A_log + (size_t)e * N;
        for (int n = q; n < N; n += SL) {
            const float a = expf(-delta * expf(al[n]));
            const float hn = fmaf(a, hp[n], du * Bm[n]);
            hp[n] = hn;
            y = fmaf(Cm[n], hn, y);
        }
    }
    y = lanes_sum<SL>(y);
    if (!ve || q != 0) return;
    y = rnd<T>(Dskip ? fmaf(Dskip[e], uv, y) : y);
    const float zv = ldf(z + (size_t)b * ldz + e);
    stf(out + (size_t)b * E + e, y * (zv * sigmoidf_(zv)));
}

template <typename T, int SL>
static void step_launch(krait_backend *be, void *out, float *h, const void *u, const void *dbc, int ldbc,
                        const void *dt_w, const float *dt_bias, const float *A_log, const float *Dskip,
                        const void *z, int ldz, int B, int E, int N, int R)
{
    dim3 grid(cuda_cdiv(E, STEP_THREADS / SL), B);
    const size_t smem = (size_t)(R + 2 * N) * sizeof(float);
    KRAIT_LAUNCH((ssm_step_kernel<T, SL>), grid, STEP_THREADS, smem, cuda_stream(be), (T *)out, h,
                 (const T *)u, (const T *)dbc, ldbc, (const T *)dt_w, dt_bias, A_log, Dskip, (const T *)z,
                 ldz, E, N, R);
}

template <typename T>
static void step_dispatch(krait_backend *be, void *out, float *h, const void *u, const void *dbc, int ldbc,
                          const void *dt_w, const float *dt_bias, const float *A_log, const float *Dskip,
                          const void *z, int ldz, int B, int E, int N, int R)
{
#define STEP_CASE(SL) step_launch<T, SL>(be, out, h, u, dbc, ldbc, dt_w, dt_bias, A_log, Dskip, z, ldz, B, E, N, R)
    if (N <= 1) STEP_CASE(1);
    else if (N <= 2) STEP_CASE(2);
    else if (N <= 4) STEP_CASE(4);
    else if (N <= 8) STEP_CASE(8);
    else if (N <= 16) STEP_CASE(16);
    else STEP_CASE(32);
#undef STEP_CASE
}

krait_status ssm_step_cuda(krait_backend *be, void *out, float *h, const void *u, const void *dbc,
                           int ldbc, const void *dt_w, const float *dt_bias, const float *A_log,
                           const float *Dskip, const void *z, int ldz, int B, int E, int N, int R)
{
    if (B <= 0 || E <= 0) return KRAIT_STATUS_OK;
    if (cuda_batch_fits(B, "ssm_step")) return KRAIT_STATUS_UNSUPPORTED;
    if (cuda_bf16(be))
        step_dispatch<bf16>(be, out, h, u, dbc, ldbc, dt_w, dt_bias, A_log, Dskip, z, ldz, B, E, N, R);
    else
        step_dispatch<float>(be, out, h, u, dbc, ldbc, dt_w, dt_bias, A_log, Dskip, z, ldz, B, E, N, R);
    LAUNCH_CHECK(be, "ssm_step_kernel");
    return KRAIT_STATUS_OK;
}

/* ---- sampling ------------------------------------------------------------------------------- */
template <typename T>
__device__ __forceinline__ float pen_logit(const T *l, const uint8_t *sn, int v, float rp)
{
    const float x = ldf(l + v);
    if (!sn || !sn[v]) return x;
    return x > 0.0f ? x / rp : x * rp;
}

/* One block per row. */
template <typename T>
__global__ void __launch_bounds__(SAMPLE_THREADS)
sample_rows_kernel(int32_t *tokens, uint8_t *seen, uint64_t *rng, const T *logits, int ld, int V,
                   float temperature, float min_p, float rp)
{
    __shared__ float s_val[SAMPLE_THREADS];
    __shared__ int s_idx[SAMPLE_THREADS];
    __shared__ double s_mass[SAMPLE_THREADS];
    __shared__ int s_last[SAMPLE_THREADS];
    __shared__ double s_pre[SAMPLE_THREADS];
    __shared__ int s_pick[2];
    __shared__ double s_draw[2];   /* the owner's prefix, the target mass */
    __shared__ int s_nan;          /* a NaN logit in the row: token -1, nothing drawn */
    const int b = blockIdx.x, tid = threadIdx.x, nt = blockDim.x;
    const T *l = logits + (size_t)b * ld;
    const uint8_t *sn = seen ? seen + (size_t)b * V : nullptr;
    if (tid == 0) s_nan = 0;
    __syncthreads();

    /* 1. arg-max: the largest value, the lowest id among equals (strided ids per thread) */
    float best = -INFINITY;
    int bi = V;
    for (int v = tid; v < V; v += nt) {
        const float x = pen_logit(l, sn, v, rp);
        if (isnan(x)) s_nan = 1;     /* every writer writes 1 */
        if (bi == V || x > best) {   /* ids ascend per thread: an equal value keeps the lower id */
            best = x;
            bi = v;
        }
    }
    s_val[tid] = best;
    s_idx[tid] = bi;
    __syncthreads();
    for (int w = nt / 2; w > 0; w >>= 1) {
        if (tid < w) {
            const float o = s_val[tid + w];
            const int oi = s_idx[tid + w];
            if (oi < V && (s_idx[tid] == V || o > s_val[tid] || (o == s_val[tid] && oi < s_idx[tid]))) {
                s_val[tid] = o;
                s_idx[tid] = oi;
            }
        }
        __syncthreads();
    }
    const float mx = s_val[0];
    const int arg = s_idx[0] < V ? s_idx[0] : 0;
    if (s_nan) {   /* read after the reduction's barriers; the same in every thread */
        if (tid == 0) tokens[b] = -1;
        return;
    }
    if (!(temperature > 0.0f)) {
        if (tid == 0) {
            tokens[b] = arg;
            if (seen) seen[(size_t)b * V + arg] = 1;
        }
        return;
    }

    /* 2. masses of contiguous id ranges, in id order */
    const double it = 1.0 / (double)temperature;
    const int per = (V + nt - 1) / nt, v0 = tid * per, v1 = v0 + per < V ? v0 + per : V;
    double mass = 0.0;
    int last = -1;
    for (int v = v0; v < v1; v++) {
        const double p = exp(((double)pen_logit(l, sn, v, rp) - (double)mx) * it);
        if (p >= (double)min_p) {
            mass += p;
            last = v;
        }
    }
    s_mass[tid] = mass;
    s_last[tid] = last;
    __syncthreads();
    if (tid == 0) {
        double run = 0.0;
        int lt = -1;
        for (int t = 0; t < nt; t++) {
            s_pre[t] = run;
            run += s_mass[t];
            if (s_last[t] >= 0) lt = t;
        }
        const uint64_t seed = rng[2 * b], ctr = rng[2 * b + 1];
        const double target = krait_sample_uniform(seed, ctr) * run;
        rng[2 * b + 1] = ctr + 1;
        int owner = -1;
        for (int t = 0; t < nt && owner < 0; t++)
            if (s_last[t] >= 0 && s_pre[t] + s_mass[t] > target) owner = t;
        s_pick[0] = owner;
        s_pick[1] = lt >= 0 ? s_last[lt] : arg;
        s_draw[0] = owner >= 0 ? s_pre[owner] : 0.0;
        s_draw[1] = target;
    }
    __syncthreads();
    const int owner = s_pick[0];
    if (owner < 0) {
        if (tid == 0) {
            tokens[b] = s_pick[1];
            if (seen) seen[(size_t)b * V + s_pick[1]] = 1;
        }
        return;
    }
    if (tid == owner) {
        const double target = s_draw[1];
        double run = s_draw[0];
        int tok = s_last[tid];
        for (int v = v0; v < v1; v++) {
            const double p = exp(((double)pen_logit(l, sn, v, rp) - (double)mx) * it);
            if (p < (double)min_p) continue;
            run += p;
            if (run > target) {
                tok = v;
                break;
            }
        }
        tokens[b] = tok;
        if (seen) seen[(size_t)b * V + tok] = 1;
    }
}

krait_status sample_rows_cuda(krait_backend *be, int32_t *tokens, uint8_t *seen, uint64_t *rng,
                              const void *logits, int ld, int B, int V, float temperature,
                              float min_p, float repetition_penalty)
{
    if (B <= 0 || V <= 0) return KRAIT_STATUS_OK;
    if (cuda_bf16(be))
        KRAIT_LAUNCH((sample_rows_kernel<bf16>), B, SAMPLE_THREADS, 0, cuda_stream(be), tokens, seen,
                     rng, (const bf16 *)logits, ld, V, temperature, min_p, repetition_penalty);
    else
        KRAIT_LAUNCH((sample_rows_kernel<float>), B, SAMPLE_THREADS, 0, cuda_stream(be), tokens, seen,
                     rng, (const float *)logits, ld, V, temperature, min_p, repetition_penalty);
    LAUNCH_CHECK(be, "sample_rows_kernel");
    return KRAIT_STATUS_OK;
}

KRAIT_CUDA_NS_END
