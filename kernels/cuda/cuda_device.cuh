/* kernels/cuda/cuda_device.cuh — device-side helpers every kernel uses: activation loads and
 * stores for the two dtypes (ldf/stf: fp32 math, bf16 stored round-to-nearest-even), the fast
 * exp2, deterministic warp and block sums, and the dynamic shared memory declaration.
 *
 * Kernel headers include only this file (not the CUDA runtime or cuBLAS), so that
 * tests/gpu/emu_backend.cc can compile the kernels for the host with KRAIT_CUDA_EMU defined and
 * run them on CPU threads (tests/gpu/cuda_emu.h supplies threadIdx, __syncthreads, shuffles...).
 */
#ifndef KRAIT_CUDA_DEVICE_CUH
#define KRAIT_CUDA_DEVICE_CUH

#ifdef KRAIT_CUDA_EMU
#include "cuda_emu.h"
#else
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#endif

#include <stddef.h>
#include <stdint.h>

/* Kernel launch: KRAIT_LAUNCH((kernel), grid, block, smem_bytes, stream, args...). The kernel
 * name goes in parentheses so that template arguments may contain commas. Under the emulator it
 * runs the kernel on CPU threads; there the krait CUDA code lives in namespace krait_emu so that
 * it can be linked next to the real CUDA backend. */
#ifdef KRAIT_CUDA_EMU
#define KRAIT_LAUNCH(kern, grid, block, smem, stream, ...)                                    \
    ((void)(stream),                                                                          \
     emu_launch(dim3(grid), dim3(block), (size_t)(smem), [&] { kern(__VA_ARGS__); }))
#define KRAIT_CUDA_NS_BEGIN namespace krait_emu {
#define KRAIT_CUDA_NS_END }
#else
#define KRAIT_LAUNCH(kern, grid, block, smem, stream, ...)                                    \
    kern<<<(grid), (block), (smem), (stream)>>>(__VA_ARGS__)
#define KRAIT_CUDA_NS_BEGIN
#define KRAIT_CUDA_NS_END
#endif

/* `extern __shared__ T name[]` (the block's dynamic shared memory). */
#ifdef KRAIT_CUDA_EMU
#define KRAIT_DYN_SMEM(T, name) T *name = (T *)emu_dyn_smem()
#else
#define KRAIT_DYN_SMEM(T, name) extern __shared__ T name[]
#endif

KRAIT_CUDA_NS_BEGIN

/* ---- device helpers ------------------------------------------------------------------------ */
typedef __nv_bfloat16 bf16;

__device__ __forceinline__ float ldf(const float *p) { return *p; }
__device__ __forceinline__ float ldf(const bf16 *p) { return __bfloat162float(*p); }
__device__ __forceinline__ void stf(float *p, float v) { *p = v; }
__device__ __forceinline__ void stf(bf16 *p, float v) { *p = __float2bfloat16_rn(v); }
__device__ __forceinline__ float tof(float v) { return v; }
__device__ __forceinline__ float tof(bf16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T fromf(float v);
template <> __device__ __forceinline__ float fromf<float>(float v) { return v; }
template <> __device__ __forceinline__ bf16 fromf<bf16>(float v) { return __float2bfloat16_rn(v); }

#define KRAIT_LOG2E 1.4426950408889634f

/* 2^x on the special-function unit (about 2 ulp; flushes subnormal results to zero). */
__device__ __forceinline__ float ex2_fast(float x)
{
#ifdef KRAIT_CUDA_EMU
    return exp2f(x);
#else
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
#endif
}

__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double warp_sum_d(double v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Sum over the block in a fixed order (deterministic); every thread gets the result.
 * red must hold 32 floats; blockDim.x a multiple of 32. Contains __syncthreads(). */
__device__ __forceinline__ float block_sum(float v, float *red)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();                 /* red may still be read from a previous call */
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float t = lane < nw ? red[lane] : 0.0f;
    return warp_sum(t);
}

KRAIT_CUDA_NS_END

#endif /* KRAIT_CUDA_DEVICE_CUH */
