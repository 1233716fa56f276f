/* kernels/cuda/cuda_elementwise.cu — the memory-bound per-element ops: dtype casts (to_act,
 * from_act), softplus with bias (forward, and backward with a deterministic dbias), the SiLU
 * gate (forward and backward) and dropout (the mask of backend.h). All math is fp32; activations
 * are loaded and stored in the backend's dtype (bf16 rounds to nearest even on store).
 *
 * Row-wise ops run on a 2-D grid: x over columns, y over rows (grid-stride both ways), so no
 * per-element integer division. The softplus dbias partial per row segment is formed in the same
 * kernel from the fp32 value of dx (before it is rounded to the activation dtype) and reduced in
 * a fixed order by cuda_reduce.cu.
 */
#include "cuda_common.cuh"

KRAIT_CUDA_NS_BEGIN

static dim3 rows_grid(int M, int C, int threads)
{
    int gx = cuda_cdiv(C, threads);
    if (gx > 32) gx = 32;
    int gy = M < 16384 ? M : 16384;
    return dim3(gx, gy);
}

/* ---- casts ---------------------------------------------------------------------------------- */
/* dst (n), src (n) in either dtype. */
template <typename D, typename S>
__global__ void cast_kernel(D *dst, const S *src, size_t n)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        stf(dst + i, ldf(src + i));
}

static int flat_blocks(size_t n)
{
    size_t b = (n + 255) / 256;
    return b > 8192 ? 8192 : (int)(b ? b : 1);
}

krait_status to_act_cuda(krait_backend *be, void *dst, const float *src, size_t n)
{
    if (!n) return KRAIT_STATUS_OK;
    if (!cuda_bf16(be)) {
        if (dst == (const void *)src) return KRAIT_STATUS_OK;
        CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice,
                                   cuda_stream(be)));
        return KRAIT_STATUS_OK;
    }
    KRAIT_LAUNCH((cast_kernel), flat_blocks(n), 256, 0, cuda_stream(be), (bf16 *)dst, src, n);
    LAUNCH_CHECK(be, "cast_kernel (to_act)");
    return KRAIT_STATUS_OK;
}

krait_status from_act_cuda(krait_backend *be, float *dst, const void *src, size_t n)
{
    if (!n) return KRAIT_STATUS_OK;
    if (!cuda_bf16(be)) {
        if ((const void *)dst == src) return KRAIT_STATUS_OK;
        CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice,
                                   cuda_stream(be)));
        return KRAIT_STATUS_OK;
    }
    KRAIT_LAUNCH((cast_kernel), flat_blocks(n), 256, 0, cuda_stream(be), dst, (const bf16 *)src, n);
    LAUNCH_CHECK(be, "cast_kernel (from_act)");
    return KRAIT_STATUS_OK;
}

/* ---- softplus ------------------------------------------------------------------------------ */
__device__ __forceinline__ float softplus20(float v) { return v > 20.0f ? v : log1pf(expf(v)); }

/* delta, x (M, E) act; bias (E) or NULL. */
template <typename T>
__global__ void softplus_fwd_kernel(T *delta, const T *x, const float *bias, int M, int E)
{
    for (int r = blockIdx.y; r < M; r += gridDim.y)
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < E; c += gridDim.x * blockDim.x) {
            size_t i = (size_t)r * E + c;
            float v = ldf(x + i);
            if (bias) v += bias[c];
            stf(delta + i, softplus20(v));
        }
}

/* dx = ddelta * sigmoid(x + bias) (dx may alias ddelta); part[y*E + c] = sum over this block
 * row's rows of dx (fp32) when part is given. */
template <typename T>
__global__ void softplus_bwd_kernel(T *dx, float *part, const T *ddelta, const T *x,
                                    const float *bias, int M, int E)
{
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < E; c += gridDim.x * blockDim.x) {
        const float bc = bias ? bias[c] : 0.0f;
        float acc = 0.0f;
        for (int r = blockIdx.y; r < M; r += gridDim.y) {
            size_t i = (size_t)r * E + c;
            float g = ldf(ddelta + i) * sigmoidf_(ldf(x + i) + bc);
            acc += g;
            stf(dx + i, g);
        }
        if (part) part[(size_t)blockIdx.y * E + c] = acc;
    }
}

krait_status softplus_fwd_cuda(krait_backend *be, void *delta, const void *x, const float *bias,
                               int M, int E)
{
    if (M <= 0 || E <= 0) return KRAIT_STATUS_OK;
    dim3 g = rows_grid(M, E, 256);
    if (cuda_bf16(be))
        KRAIT_LAUNCH((softplus_fwd_kernel), g, 256, 0, cuda_stream(be), (bf16 *)delta,
                     (const bf16 *)x, bias, M, E);
    else
        KRAIT_LAUNCH((softplus_fwd_kernel), g, 256, 0, cuda_stream(be), (float *)delta,
                     (const float *)x, bias, M, E);
    LAUNCH_CHECK(be, "softplus_fwd_kernel");
    return KRAIT_STATUS_OK;
}

krait_status softplus_bwd_cuda(krait_backend *be, void *dx, float *dbias, const void *ddelta,
                               const void *x, const float *bias, int M, int E)
{
    if (M <= 0 || E <= 0) return KRAIT_STATUS_OK;
    float *part = NULL;
    /* The segment count must not depend on the device: it fixes the summation order. */
    const int S = M < CUDA_COLSUM_SEGS ? M : CUDA_COLSUM_SEGS;
    if (dbias) {
        part = (float *)cuda_scratch(be, colsum_scratch_bytes(M, E), "softplus_bwd");
        if (!part) return KRAIT_STATUS_NO_MEMORY;
    }
    dim3 g(cuda_cdiv(E, 128), S);
    if (cuda_bf16(be))
        KRAIT_LAUNCH((softplus_bwd_kernel), g, 128, 0, cuda_stream(be), (bf16 *)dx, part,
                     (const bf16 *)ddelta, (const bf16 *)x, bias, M, E);
    else
        KRAIT_LAUNCH((softplus_bwd_kernel), g, 128, 0, cuda_stream(be), (float *)dx, part,
                     (const float *)ddelta, (const float *)x, bias, M, E);
    LAUNCH_CHECK(be, "softplus_bwd_kernel");
    if (dbias) return colsum_partials_cuda(be, dbias, part, S, E);
    return KRAIT_STATUS_OK;
}

/* ---- gate: out = y * silu(z) --------------------------------------------------------------- */
/* out, y (M, E) act; z (M, E) act with row stride ldz. */
template <typename T>
__global__ void gate_fwd_kernel(T *out, const T *y, const T *z, int ldz, int M, int E)
{
    for (int r = blockIdx.y; r < M; r += gridDim.y)
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < E; c += gridDim.x * blockDim.x) {
            size_t i = (size_t)r * E + c;
            float zv = ldf(z + (size_t)r * ldz + c);
            stf(out + i, ldf(y + i) * (zv * sigmoidf_(zv)));
        }
}

/* dy, dout, y (M, E) act; dz, z (M, E) act with row stride ldz. */
template <typename T>
__global__ void gate_bwd_kernel(T *dy, T *dz, int ldz, const T *dout, const T *y, const T *z,
                                int M, int E)
{
    for (int r = blockIdx.y; r < M; r += gridDim.y)
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < E; c += gridDim.x * blockDim.x) {
            size_t i = (size_t)r * E + c, iz = (size_t)r * ldz + c;
            float zv = ldf(z + iz), yv = ldf(y + i), g = ldf(dout + i);
            float s = sigmoidf_(zv);
            stf(dy + i, g * (zv * s));
            stf(dz + iz, g * yv * (s * (1.0f + zv * (1.0f - s))));
        }
}

krait_status gate_fwd_cuda(krait_backend *be, void *out, const void *y, const void *z, int ldz,
                           int M, int E)
{
    if (M <= 0 || E <= 0) return KRAIT_STATUS_OK;
    dim3 g = rows_grid(M, E, 256);
    if (cuda_bf16(be))
        KRAIT_LAUNCH((gate_fwd_kernel), g, 256, 0, cuda_stream(be), (bf16 *)out, (const bf16 *)y,
                     (const bf16 *)z, ldz, M, E);
    else
        KRAIT_LAUNCH((gate_fwd_kernel), g, 256, 0, cuda_stream(be), (float *)out, (const float *)y,
                     (const float *)z, ldz, M, E);
    LAUNCH_CHECK(be, "gate_fwd_kernel");
    return KRAIT_STATUS_OK;
}

krait_status gate_bwd_cuda(krait_backend *be, void *dy, void *dz, int ldz, const void *dout,
                           const void *y, const void *z, int M, int E)
{
    if (M <= 0 || E <= 0) return KRAIT_STATUS_OK;
    dim3 g = rows_grid(M, E, 256);
    if (cuda_bf16(be))
        KRAIT_LAUNCH((gate_bwd_kernel), g, 256, 0, cuda_stream(be), (bf16 *)dy, (bf16 *)dz, ldz,
                     (const bf16 *)dout, (const bf16 *)y, (const bf16 *)z, M, E);
    else
        KRAIT_LAUNCH((gate_bwd_kernel), g, 256, 0, cuda_stream(be), (float *)dy, (float *)dz, ldz,
                     (const float *)dout, (const float *)y, (const float *)z, M, E);
    LAUNCH_CHECK(be, "gate_bwd_kernel");
    return KRAIT_STATUS_OK;
}

/* ---- dropout: the mask of krait_dropout_keep (backend.h), identical to the CPU's --------------- */
template <typename T>
__global__ void dropout_kernel(T *x, size_t n, uint32_t threshold, float scale, uint64_t seed)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        stf(x + i, krait_dropout_keep(seed, i, threshold) ? ldf(x + i) * scale : 0.0f);
}

krait_status dropout_cuda(krait_backend *be, void *x, int f32, size_t n, uint32_t threshold, float scale,
                          uint64_t seed)
{
    if (!n) return KRAIT_STATUS_OK;
    size_t nb = (n + 255) / 256;
    const int blocks = nb > 16384 ? 16384 : (int)nb;
    if (!f32 && cuda_bf16(be))
        KRAIT_LAUNCH((dropout_kernel), blocks, 256, 0, cuda_stream(be), (bf16 *)x, n, threshold, scale, seed);
    else
        KRAIT_LAUNCH((dropout_kernel), blocks, 256, 0, cuda_stream(be), (float *)x, n, threshold, scale, seed);
    LAUNCH_CHECK(be, "dropout_kernel");
    return KRAIT_STATUS_OK;
}

KRAIT_CUDA_NS_END
