/* kernels/cuda/cuda_conv.cu — causal depthwise conv1d with optional fused SiLU and carried
 * state, forward and backward, on the channel-contiguous (B, L, E) layout.
 *
 * One thread per channel (coalesced along E) walks a tile of CONV_TL consecutive steps, keeping
 * the last KM inputs in registers (a sliding window), so every input is read once per tile plus
 * a K-1 halo. Kernel widths up to KM are handled by one code path: the K weights are right-aligned
 * in a KM-long register array padded with zeros, so all register indices are compile-time.
 * The backward recomputes the pre-activation, keeps the last KM values of dpre in registers to
 * form dx, and writes per-tile dw/dbias partials that are summed in a fixed order (deterministic).
 * state_out is written by a separate small kernel after the convolution, so it may alias
 * state_in without racing the tiles that read it.
 */
#include "cuda_common.cuh"

KRAIT_CUDA_NS_BEGIN

#define CONV_TL 32
#define CONV_THREADS 128

/* xx[b, s, e] with the carried state for s < 0 (zeros without state or before it). */
template <typename T>
__device__ __forceinline__ float conv_xx(const T *x, int ldx, const float *state_in, int b, int s,
                                         int e, int L, int E, int K)
{
    if (s >= 0) return ldf(x + ((size_t)b * L + s) * ldx + e);
    if (s < -(K - 1) || !state_in) return 0.0f;
    return state_in[((size_t)b * (K - 1) + (K - 1) + s) * E + e];
}

/* out (B, L, E) act; x (B, L, E) act, row stride ldx; w (E, K); bias (E) or NULL;
 * state_in (B, K-1, E) or NULL. Grid (L tiles, E/128, B). */
template <typename T, int KM>
__global__ void __launch_bounds__(CONV_THREADS)
conv1d_fwd_kernel(T *out, const T *x, int ldx, const float *w, const float *bias,
                  const float *state_in, int L, int E, int K, int silu)
{
    const int e = blockIdx.y * blockDim.x + threadIdx.x;
    if (e >= E) return;
    const int b = blockIdx.z, t0 = blockIdx.x * CONV_TL;
    const int t1 = t0 + CONV_TL < L ? t0 + CONV_TL : L;
    float wp[KM], win[KM];
#pragma unroll
    for (int j = 0; j < KM; j++) {
        const int k = j - (KM - K);
        wp[j] = k >= 0 ? w[(size_t)e * K + k] : 0.0f;
        win[j] = j < KM - 1 ? conv_xx(x, ldx, state_in, b, t0 - (KM - 1) + j, e, L, E, K) : 0.0f;
    }
    const float bv = bias ? bias[e] : 0.0f;
    for (int t = t0; t < t1; t++) {
        win[KM - 1] = ldf(x + ((size_t)b * L + t) * ldx + e);
        float acc = bv;
#pragma unroll
        for (int j = 0; j < KM; j++) acc = fmaf(wp[j], win[j], acc);
        if (silu) acc = acc * sigmoidf_(acc);
        stf(out + ((size_t)b * L + t) * E + e, acc);
#pragma unroll
        for (int j = 0; j < KM - 1; j++) win[j] = win[j + 1];
    }
}

/* state_out[b, j, e] = xx[b, L-(K-1)+j, e]; ascending j reads state_in only at indices >= j+1,
 * so state_out may alias state_in. */
template <typename T>
__global__ void conv1d_state_kernel(float *state_out, const T *x, int ldx, const float *state_in,
                                    int B, int L, int E, int K)
{
    const int e = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y;
    if (e >= E) return;
    for (int j = 0; j < K - 1; j++)
        state_out[((size_t)b * (K - 1) + j) * E + e] =
            conv_xx(x, ldx, state_in, b, L - (K - 1) + j, e, L, E, K);
}

/* dx (B, L, E) act, row stride ldx; part (B * ntl, K+1, E) per-tile dw/dbias partials;
 * dout (B, L, E) act; x as in the forward. */
template <typename T, int KM>
__global__ void __launch_bounds__(CONV_THREADS)
conv1d_bwd_kernel(T *dx, int ldx, float *part, const T *dout, const T *x, const float *w,
                  const float *bias, const float *state_in, int L, int E, int K, int silu,
                  int ntl)
{
    const int e = blockIdx.y * blockDim.x + threadIdx.x;
    if (e >= E) return;
    const int b = blockIdx.z, tile = blockIdx.x, t0 = tile * CONV_TL;
    const int t1 = t0 + CONV_TL < L ? t0 + CONV_TL : L;
    float wp[KM], wr[KM], win[KM], dpr[KM], dwacc[KM];
#pragma unroll
    for (int j = 0; j < KM; j++) {
        const int k = j - (KM - K), kr = KM - 1 - j;
        wp[j] = k >= 0 ? w[(size_t)e * K + k] : 0.0f;          /* forward taps, right-aligned */
        wr[j] = kr < K ? w[(size_t)e * K + kr] : 0.0f;         /* taps for dx, reversed */
        win[j] = j < KM - 1 ? conv_xx(x, ldx, state_in, b, t0 - (KM - 1) + j, e, L, E, K) : 0.0f;
        dpr[j] = 0.0f;
        dwacc[j] = 0.0f;
    }
    const float bv = bias ? bias[e] : 0.0f;
    float dbacc = 0.0f;
    /* dpr[j] = dpre(tp - (KM-1-j)); dx[t] = sum_k w[k] * dpre(t + K-1-k) with t = tp - (K-1). */
    for (int tp = t0; tp < t1 + K - 1; tp++) {
        float dp = 0.0f;
        if (tp < L) {
            win[KM - 1] = ldf(x + ((size_t)b * L + tp) * ldx + e);
            float pre = bv;
#pragma unroll
            for (int j = 0; j < KM; j++) pre = fmaf(wp[j], win[j], pre);
            const float g = ldf(dout + ((size_t)b * L + tp) * E + e);
            if (silu) {
                const float s = sigmoidf_(pre);
                dp = g * (s * (1.0f + pre * (1.0f - s)));
            } else {
                dp = g;
            }
        } else {
            win[KM - 1] = 0.0f;
        }
#pragma unroll
        for (int j = 0; j < KM - 1; j++) dpr[j] = dpr[j + 1];
        dpr[KM - 1] = dp;
        if (tp < t1) {
#pragma unroll
            for (int j = 0; j < KM; j++) dwacc[j] = fmaf(dp, win[j], dwacc[j]);
            dbacc += dp;
        }
        const int t = tp - (K - 1);
        if (t >= t0) {
            float acc = 0.0f;
#pragma unroll
            for (int j = 0; j < KM; j++) acc = fmaf(wr[j], dpr[j], acc);
            stf(dx + ((size_t)b * L + t) * ldx + e, acc);
        }
#pragma unroll
        for (int j = 0; j < KM - 1; j++) win[j] = win[j + 1];
    }
    float *pp = part + ((size_t)b * ntl + tile) * (K + 1) * E + e;
#pragma unroll
    for (int j = 0; j < KM; j++) {
        const int k = j - (KM - K);
        if (k >= 0) pp[(size_t)k * E] = dwacc[j];
    }
    pp[(size_t)K * E] = dbacc;
}

/* dw[e*K + k] += sum_p part[p][k][e];  dbias[e] += sum_p part[p][K][e]  (p in order). */
__global__ void conv1d_reduce_kernel(float *dw, float *dbias, const float *part, int P, int E,
                                     int K)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (K + 1) * E) return;
    const int k = i / E, e = i - k * E;
    if (k == K && !dbias) return;
    float acc = 0.0f;
    for (int p = 0; p < P; p++) acc += part[((size_t)p * (K + 1) + k) * E + e];
    if (k < K)
        dw[(size_t)e * K + k] += acc;
    else
        dbias[e] += acc;
}

size_t conv1d_scratch_bytes(int B, int L, int E, int K)
{
    if (B <= 0 || L <= 0 || E <= 0 || K <= 0) return 0;
    return (size_t)B * cuda_cdiv(L, CONV_TL) * (size_t)(K + 1) * E * sizeof(float);
}

template <typename T>
static krait_status conv_fwd_launch(krait_backend *be, T *out, float *state_out, const T *x,
                                    int ldx, const float *w, const float *bias,
                                    const float *state_in, int B, int L, int E, int K, int silu)
{
    cudaStream_t st = cuda_stream(be);
    if (L > 0) {
        /* time tiles in x (no 65535 limit): any L */
        dim3 grid(cuda_cdiv(L, CONV_TL), cuda_cdiv(E, CONV_THREADS), B);
        if (K <= 4)
            KRAIT_LAUNCH((conv1d_fwd_kernel<T, 4>), grid, CONV_THREADS, 0, st, out, x, ldx, w, bias,
                         state_in, L, E, K, silu);
        else
            KRAIT_LAUNCH((conv1d_fwd_kernel<T, 8>), grid, CONV_THREADS, 0, st, out, x, ldx, w, bias,
                         state_in, L, E, K, silu);
        LAUNCH_CHECK(be, "conv1d_fwd_kernel");
    }
    if (state_out && K > 1) {
        KRAIT_LAUNCH((conv1d_state_kernel), dim3(cuda_cdiv(E, CONV_THREADS), B), CONV_THREADS, 0,
                     st, state_out, x, ldx, state_in, B, L, E, K);
        LAUNCH_CHECK(be, "conv1d_state_kernel");
    }
    return KRAIT_STATUS_OK;
}

krait_status conv1d_fwd_cuda(krait_backend *be, void *out, float *state_out, const void *x,
                             int ldx, const float *w, const float *bias, const float *state_in,
                             int B, int L, int E, int K, int silu)
{
    if (B <= 0 || E <= 0) return KRAIT_STATUS_OK;
    if (cuda_batch_fits(B, "conv1d_fwd")) return KRAIT_STATUS_UNSUPPORTED;
    if (K < 1 || K > CUDA_CONV_KMAX) {
        KRAIT_ERROR("cuda: conv1d supports kernel widths 1..%d (got %d)", CUDA_CONV_KMAX, K);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    if (cuda_bf16(be))
        return conv_fwd_launch(be, (bf16 *)out, state_out, (const bf16 *)x, ldx, w, bias,
                               state_in, B, L, E, K, silu);
    return conv_fwd_launch(be, (float *)out, state_out, (const float *)x, ldx, w, bias, state_in,
                           B, L, E, K, silu);
}

template <typename T>
static krait_status conv_bwd_launch(krait_backend *be, T *dx, int ldx, float *dw, float *dbias,
                                    const T *dout, const T *x, const float *w, const float *bias,
                                    const float *state_in, int B, int L, int E, int K, int silu)
{
    float *part = (float *)cuda_scratch(be, conv1d_scratch_bytes(B, L, E, K), "conv1d_bwd");
    if (!part) return KRAIT_STATUS_NO_MEMORY;
    cudaStream_t st = cuda_stream(be);
    const int ntl = cuda_cdiv(L, CONV_TL);
    dim3 grid(ntl, cuda_cdiv(E, CONV_THREADS), B);
    if (K <= 4)
        KRAIT_LAUNCH((conv1d_bwd_kernel<T, 4>), grid, CONV_THREADS, 0, st, dx, ldx, part, dout, x,
                     w, bias, state_in, L, E, K, silu, ntl);
    else
        KRAIT_LAUNCH((conv1d_bwd_kernel<T, 8>), grid, CONV_THREADS, 0, st, dx, ldx, part, dout, x,
                     w, bias, state_in, L, E, K, silu, ntl);
    LAUNCH_CHECK(be, "conv1d_bwd_kernel");
    KRAIT_LAUNCH((conv1d_reduce_kernel), cuda_cdiv((K + 1) * E, 256), 256, 0, st, dw, dbias, part,
                 B * ntl, E, K);
    LAUNCH_CHECK(be, "conv1d_reduce_kernel");
    return KRAIT_STATUS_OK;
}

krait_status conv1d_bwd_cuda(krait_backend *be, void *dx, int ldx, float *dw, float *dbias,
                             const void *dout, const void *x, const float *w, const float *bias,
                             const float *state_in, int B, int L, int E, int K, int silu)
{
    if (B <= 0 || L <= 0 || E <= 0) return KRAIT_STATUS_OK;
    if (cuda_batch_fits(B, "conv1d_bwd")) return KRAIT_STATUS_UNSUPPORTED;
    if (K < 1 || K > CUDA_CONV_KMAX) {
        KRAIT_ERROR("cuda: conv1d supports kernel widths 1..%d (got %d)", CUDA_CONV_KMAX, K);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    if (cuda_bf16(be))
        return conv_bwd_launch(be, (bf16 *)dx, ldx, dw, dbias, (const bf16 *)dout,
                               (const bf16 *)x, w, bias, state_in, B, L, E, K, silu);
    return conv_bwd_launch(be, (float *)dx, ldx, dw, dbias, (const float *)dout, (const float *)x,
                           w, bias, state_in, B, L, E, K, silu);
}

KRAIT_CUDA_NS_END
