/* kernels/cuda/cuda_reduce.cu — deterministic reductions: sumsq (sum of squares in double, for
 * gradient-norm clipping) and the two-stage column sums that several backward ops use for their
 * bias gradients (linear dbias, softplus dbias).
 *
 * Determinism: the number of partials depends only on the sizes (never on the device or on
 * timing), every partial is summed in a fixed order, and no atomics are used, so the same inputs
 * give the same bits on every run. No op-specific math lives here.
 */
#include "cuda_common.cuh"

KRAIT_CUDA_NS_BEGIN

#define SUMSQ_BLOCKS 256
#define SUMSQ_THREADS 256

__device__ double block_sum_d(double v, double *red)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    double t = lane < nw ? red[lane] : 0.0;
    return warp_sum_d(t);
}

/* part (gridDim.x) double; x (n). */
__global__ void sumsq_partial_kernel(double *part, const float *x, size_t n)
{
    __shared__ double red[32];
    double acc = 0.0;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        double v = x[i];
        acc += v * v;
    }
    acc = block_sum_d(acc, red);
    if (threadIdx.x == 0) part[blockIdx.x] = acc;
}

__global__ void sumsq_final_kernel(double *out, const double *part, int nparts)
{
    __shared__ double red[32];
    double acc = 0.0;
    for (int i = threadIdx.x; i < nparts; i += blockDim.x) acc += part[i];
    acc = block_sum_d(acc, red);
    if (threadIdx.x == 0) *out = acc;
}

krait_status sumsq_cuda(krait_backend *be, double *out_host, const float *x, size_t n)
{
    cuda_impl *im = cuda_im(be);
    if (n == 0) {
        *out_host = 0.0;
        return KRAIT_STATUS_OK;
    }
    KRAIT_LAUNCH((sumsq_partial_kernel), SUMSQ_BLOCKS, SUMSQ_THREADS, 0, im->stream, im->small, x,
                 n);
    LAUNCH_CHECK(be, "sumsq_partial_kernel");
    KRAIT_LAUNCH((sumsq_final_kernel), 1, SUMSQ_THREADS, 0, im->stream, im->small + SUMSQ_BLOCKS,
                 im->small, SUMSQ_BLOCKS);
    LAUNCH_CHECK(be, "sumsq_final_kernel");
    CUDA_CHECK(cudaMemcpyAsync(out_host, im->small + SUMSQ_BLOCKS, sizeof(double),
                               cudaMemcpyDeviceToHost, im->stream));
    CUDA_CHECK(cudaStreamSynchronize(im->stream));
    return KRAIT_STATUS_OK;
}

/* ---- column sums ---------------------------------------------------------------------------- */
static int colsum_segs(int M) { return M < CUDA_COLSUM_SEGS ? M : CUDA_COLSUM_SEGS; }

size_t colsum_scratch_bytes(int M, int C)
{
    if (M <= 0 || C <= 0) return 0;
    return (size_t)colsum_segs(M) * (size_t)C * sizeof(float);
}

/* part[s*C + c] = sum over rows r = s, s+S, s+2S, ... of x[r*ld + c]  (S = gridDim.y). */
template <typename T>
__global__ void colsum_partial_kernel(float *part, const T *x, int ld, int M, int C)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x, s = blockIdx.y, S = gridDim.y;
    if (c >= C) return;
    float acc = 0.0f;
    for (int r = s; r < M; r += S) acc += ldf(x + (size_t)r * ld + c);
    part[(size_t)s * C + c] = acc;
}

/* out (C) +=; part (S, C). */
__global__ void colsum_final_kernel(float *out, const float *part, int S, int C)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float acc = 0.0f;
    for (int s = 0; s < S; s++) acc += part[(size_t)s * C + c];
    out[c] += acc;
}

krait_status colsum_partials_cuda(krait_backend *be, float *out, const float *part, int S, int C)
{
    if (C <= 0) return KRAIT_STATUS_OK;
    KRAIT_LAUNCH((colsum_final_kernel), cuda_cdiv(C, 256), 256, 0, cuda_stream(be), out, part, S,
                 C);
    LAUNCH_CHECK(be, "colsum_final_kernel");
    return KRAIT_STATUS_OK;
}

krait_status colsum_act_cuda(krait_backend *be, float *out, const void *x, int ld, int M, int C,
                             const char *op)
{
    if (M <= 0 || C <= 0) return KRAIT_STATUS_OK;
    float *part = (float *)cuda_scratch(be, colsum_scratch_bytes(M, C), op);
    if (!part) return KRAIT_STATUS_NO_MEMORY;
    const int S = colsum_segs(M);
    dim3 grid(cuda_cdiv(C, 128), S);
    if (cuda_bf16(be))
        KRAIT_LAUNCH((colsum_partial_kernel), grid, 128, 0, cuda_stream(be), part, (const bf16 *)x,
                     ld, M, C);
    else
        KRAIT_LAUNCH((colsum_partial_kernel), grid, 128, 0, cuda_stream(be), part, (const float *)x,
                     ld, M, C);
    LAUNCH_CHECK(be, "colsum_partial_kernel");
    return colsum_partials_cuda(be, out, part, S, C);
}

KRAIT_CUDA_NS_END
