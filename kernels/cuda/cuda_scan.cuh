/* kernels/cuda/cuda_scan.cuh — the lane layout shared by the selective-scan kernels
 * (cuda_scan_fwd.cu, cuda_scan_bwd.cu). See cuda_scan_fwd.cu for the design.
 *
 * A block owns SCAN_EC = 32 consecutive channels of one sequence and walks the whole sequence.
 * Each channel's d_state values are split over Q lanes (Q a power of two, Q*4 >= N), four states
 * per lane, held in registers; lanes q of one channel are adjacent, so y = <C, h> is a butterfly
 * over Q lanes. A warp holds 32/Q channels, a block Q warps (32*Q threads).
 */
#ifndef KRAIT_CUDA_SCAN_CUH
#define KRAIT_CUDA_SCAN_CUH

#include "cuda_common.cuh"

#define SCAN_EC 32   /* channels per block */
#define SCAN_NS 4    /* states per lane */

/* exp(d * a) where a is A (exact path, fp32 mode) or A*log2(e) (fast path, bf16 mode). */
template <bool FAST> __device__ __forceinline__ float scan_exp(float da);
template <> __device__ __forceinline__ float scan_exp<true>(float da) { return ex2_fast(da); }
template <> __device__ __forceinline__ float scan_exp<false>(float da) { return expf(da); }

/* The exponent scale that goes with scan_exp. */
template <bool FAST> __device__ __forceinline__ float scan_arg_scale() { return FAST ? KRAIT_LOG2E : 1.0f; }

/* Sum over the Q lanes of a channel; every lane gets the total. */
template <int Q> __device__ __forceinline__ float lanes_sum(float v)
{
#pragma unroll
    for (int o = Q / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

struct scan_lane {
    int q;    /* which four states: n = 4q .. 4q+3 */
    int c;    /* channel within the block */
    int e;    /* channel */
    bool ve;  /* e < E */
};

template <int Q> __device__ __forceinline__ scan_lane scan_lane_of(int E)
{
    scan_lane l;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    l.q = lane % Q;
    l.c = warp * (32 / Q) + lane / Q;
    l.e = blockIdx.x * SCAN_EC + l.c;
    l.ve = l.e < E;
    return l;
}

/* Per-lane constants: A = -exp(A_log) for the lane's states (a valid, harmless -1 elsewhere). */
__device__ __forceinline__ void scan_load_A(float A[SCAN_NS], const float *A_log, const scan_lane &l,
                                            int N)
{
#pragma unroll
    for (int s = 0; s < SCAN_NS; s++) {
        const int n = l.q * SCAN_NS + s;
        A[s] = (l.ve && n < N) ? -expf(A_log[(size_t)l.e * N + n]) : -1.0f;
    }
}

#endif /* KRAIT_CUDA_SCAN_CUH */
