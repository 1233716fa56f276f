/* kernels/cuda/cuda_embedding.cu — token embedding: forward gather into the fp32 residual
 * stream, and a deterministic backward.
 *
 * Backward: the row indices are sorted by token id with a stable radix sort (CUB, part of the
 * CUDA toolkit), so the rows of each id sit together in increasing row order. The first position
 * of each run then adds the run's rows into dW one after the other: every dW element receives its
 * additions in exactly the row order of the plain-C reference, with no atomics, so the result is
 * the reference's bit for bit. Scratch: sorted ids, the row permutation and CUB's temporaries.
 */
#include "cuda_common.cuh"

#include <cub/device/device_radix_sort.cuh>

/* out (M, D); ids (M); W (V, D). */
__global__ void embedding_fwd_kernel(float *out, const int32_t *ids, const float *W, int M, int D)
{
    for (int r = blockIdx.x; r < M; r += gridDim.x) {
        const float *src = W + (size_t)ids[r] * D;
        float *dst = out + (size_t)r * D;
        for (int d = threadIdx.x; d < D; d += blockDim.x) dst[d] = src[d];
    }
}

krait_status embedding_fwd_cuda(krait_backend *be, float *out, const int32_t *ids, const float *W,
                                int M, int D)
{
    if (M <= 0 || D <= 0) return KRAIT_STATUS_OK;
    KRAIT_LAUNCH((embedding_fwd_kernel), M < 65535 ? M : 65535, 256, 0, cuda_stream(be), out, ids,
                 W, M, D);
    LAUNCH_CHECK(be, "embedding_fwd_kernel");
    return KRAIT_STATUS_OK;
}

static size_t sort_temp_bytes(int M)
{
    size_t bytes = 0;
    cudaError_t e = cub::DeviceRadixSort::SortPairs(NULL, bytes, (const int32_t *)NULL, (int32_t *)NULL,
                                                    (const int32_t *)NULL, (int32_t *)NULL, M, 0, 32);
    if (e != cudaSuccess) /* said here; the sort itself then fails on its too-small scratch, checked */
        KRAIT_ERROR("cuda: embedding backward: CUB's scratch size query failed (%s)", cudaGetErrorString(e));
    return bytes;
}

size_t embedding_scratch_bytes(int M)
{
    if (M <= 0) return 0;
    return 3 * cuda_align_up((size_t)M * sizeof(int32_t), 256) + sort_temp_bytes(M);
}

/* v (M) = 0, 1, ..., M-1. */
__global__ void iota_kernel(int32_t *v, int M)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < M; i += gridDim.x * blockDim.x)
        v[i] = i;
}

/* One block per sorted position; the block at the start of each run of equal ids adds the run. */
__global__ void embedding_bwd_kernel(float *dW, const float *dout, const int32_t *key,
                                     const int32_t *row, int M, int D)
{
    for (int i = blockIdx.x; i < M; i += gridDim.x) {
        const int id = key[i];
        if (i > 0 && key[i - 1] == id) continue;
        int end = i + 1;
        while (end < M && key[end] == id) end++;
        float *dst = dW + (size_t)id * D;
        for (int d = threadIdx.x; d < D; d += blockDim.x) {
            float acc = dst[d];
            for (int j = i; j < end; j++) acc += dout[(size_t)row[j] * D + d];
            dst[d] = acc;
        }
    }
}

krait_status embedding_bwd_cuda(krait_backend *be, float *dW, const float *dout,
                                const int32_t *ids, int M, int D)
{
    if (M <= 0 || D <= 0) return KRAIT_STATUS_OK;
    char *s = (char *)cuda_scratch(be, embedding_scratch_bytes(M), "embedding_bwd");
    if (!s) return KRAIT_STATUS_NO_MEMORY;
    const size_t vec = cuda_align_up((size_t)M * sizeof(int32_t), 256);
    int32_t *rows_in = (int32_t *)s, *keys_out = (int32_t *)(s + vec),
            *rows_out = (int32_t *)(s + 2 * vec);
    void *temp = s + 3 * vec;
    size_t temp_bytes = sort_temp_bytes(M);
    cudaStream_t st = cuda_stream(be);

    KRAIT_LAUNCH((iota_kernel), cuda_cdiv(M, 256) < 1024 ? cuda_cdiv(M, 256) : 1024, 256, 0, st,
                 rows_in, M);
    LAUNCH_CHECK(be, "iota_kernel");
    CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, ids, keys_out, rows_in, rows_out,
                                               M, 0, 32, st));
    LAUNCH_CHECK(be, "cub::DeviceRadixSort::SortPairs");
    KRAIT_LAUNCH((embedding_bwd_kernel), M < 65535 ? M : 65535, 256, 0, st, dW, dout, keys_out,
                 rows_out, M, D);
    LAUNCH_CHECK(be, "embedding_bwd_kernel");
    return KRAIT_STATUS_OK;
}
