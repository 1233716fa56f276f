/* kernels/cuda/cuda_loss.cu — fused softmax cross-entropy over the vocabulary.
 *
 * One block per row. Pass 1 reads the row once and keeps, per thread, an online (max, sum of
 * exp) pair and the running argmax (lowest index on ties); the pairs are combined across the
 * block in a fixed order. Pass 2 writes dlogits = scale * (softmax - onehot) in the activation
 * dtype, in place when dlogits aliases logits (the target logit is read before any write).
 * fp32 math; the loss is written as fp32. Rows whose target is negative get loss 0 and a zero
 * gradient row; pred is written for every row.
 */
#include "cuda_common.cuh"

#include <float.h>
#include <limits.h>

KRAIT_CUDA_NS_BEGIN

#define CE_THREADS 512

struct ce_state {
    float m, s;   /* running max and sum of exp(x - m) */
    float bv;     /* best value */
    int bi;       /* its index */
};

__device__ __forceinline__ void ce_merge(ce_state &a, const ce_state &b)
{
    const float M = fmaxf(a.m, b.m);
    const float sa = a.m == M ? a.s : a.s * expf(a.m - M);
    const float sb = b.m == M ? b.s : b.s * expf(b.m - M);
    a.m = M;
    a.s = sa + sb;
    if (b.bv > a.bv || (b.bv == a.bv && b.bi < a.bi)) {
        a.bv = b.bv;
        a.bi = b.bi;
    }
}

__device__ __forceinline__ ce_state ce_shfl(const ce_state &a, int o)
{
    ce_state b;
    b.m = __shfl_xor_sync(0xffffffffu, a.m, o);
    b.s = __shfl_xor_sync(0xffffffffu, a.s, o);
    b.bv = __shfl_xor_sync(0xffffffffu, a.bv, o);
    b.bi = __shfl_xor_sync(0xffffffffu, a.bi, o);
    return b;
}

/* loss (M); dlogits (M, V) act, row stride ld, or NULL (may alias logits); pred (M) or NULL;
 * logits (M, V) act, row stride ld; targets (M). */
template <typename T>
__global__ void __launch_bounds__(CE_THREADS)
cross_entropy_kernel(float *loss, T *dlogits, int32_t *pred, const T *logits,
                     const int32_t *targets, int M, int V, int ld, float scale)
{
    __shared__ ce_state red[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int r = blockIdx.x; r < M; r += gridDim.x) {
        const T *row = logits + (size_t)r * ld;
        const int t = targets[r];
        const float xt = (t >= 0 && t < V) ? ldf(row + t) : 0.0f;   /* before any write */
        ce_state st;
        st.m = -INFINITY;
        st.s = 0.0f;
        st.bv = -INFINITY;
        st.bi = INT_MAX;
        for (int v = threadIdx.x; v < V; v += blockDim.x) {
            const float x = ldf(row + v);
            if (x > st.bv) {
                st.bv = x;
                st.bi = v;
            }
            if (x > st.m) {
                st.s = st.s * expf(st.m - x) + 1.0f;
                st.m = x;
            } else if (x != -INFINITY) { /* a -inf after a -inf maximum: exp(nan), not 0 */
                st.s += expf(x - st.m);
            }
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            ce_state other = ce_shfl(st, o);
            ce_merge(st, other);
        }
        __syncthreads();   /* red is reused across rows */
        if (lane == 0) red[warp] = st;
        __syncthreads();
        if (warp == 0) {
            ce_state a;
            if (lane < nw) {
                a = red[lane];
            } else {
                a.m = -INFINITY;
                a.s = 0.0f;
                a.bv = -INFINITY;
                a.bi = INT_MAX;
            }
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) {
                ce_state other = ce_shfl(a, o);
                ce_merge(a, other);
            }
            if (lane == 0) red[0] = a;
        }
        __syncthreads();
        const ce_state tot = red[0];
        /* lse = tot.m + ls, never formed (see cpu_loss.c): a large maximum would round it, and a
         * confident target's loss would cancel to 0 */
        const float ls = logf(tot.s);
        if (threadIdx.x == 0) {
            loss[r] = t >= 0 ? (tot.m - xt) + ls : 0.0f;
            if (pred) pred[r] = tot.bi == INT_MAX ? 0 : tot.bi;
        }
        if (dlogits) {
            T *drow = dlogits + (size_t)r * ld;
            for (int v = threadIdx.x; v < V; v += blockDim.x) {
                float g = 0.0f;
                if (t >= 0) {
                    const float z = (ldf(row + v) - tot.m) - ls;
                    g = scale * (v == t ? expm1f(z) : expf(z));
                }
                stf(drow + v, g);
            }
        }
    }
}

krait_status cross_entropy_cuda(krait_backend *be, float *loss, void *dlogits, int32_t *pred,
                                const void *logits, const int32_t *targets, int M, int V, int ld,
                                float scale)
{
    if (M <= 0) return KRAIT_STATUS_OK;
    const int grid = M < 65535 ? M : 65535;
    if (cuda_bf16(be))
        KRAIT_LAUNCH((cross_entropy_kernel), grid, CE_THREADS, 0, cuda_stream(be), loss,
                     (bf16 *)dlogits, pred, (const bf16 *)logits, targets, M, V, ld, scale);
    else
        KRAIT_LAUNCH((cross_entropy_kernel), grid, CE_THREADS, 0, cuda_stream(be), loss,
                     (float *)dlogits, pred, (const float *)logits, targets, M, V, ld, scale);
    LAUNCH_CHECK(be, "cross_entropy_kernel");
    return KRAIT_STATUS_OK;
}

KRAIT_CUDA_NS_END
