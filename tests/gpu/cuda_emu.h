/* tests/gpu/cuda_emu.h — just enough of CUDA to compile krait's CUDA op files (kernels/cuda/cuda_*.cu
 * except the cuBLASLt, CUB and device-management ones) as host C++ with KRAIT_CUDA_EMU defined,
 * and run their kernels on the CPU: every CUDA thread of a block is a cooperative fiber (a
 * register-and-stack switch on x86-64, ucontext elsewhere), __syncthreads is a barrier over the
 * block's fibers, __shfl_xor_sync exchanges through a per-warp buffer between two warp barriers,
 * blocks run one after another (so static "__shared__" arrays and one dynamic shared buffer serve
 * every block), bf16 is a 16-bit struct converted with kernels/bf16.h (round to nearest even), and
 * the few runtime calls the op files make (async copies, attribute setting, error queries) act on
 * host memory at once.
 *
 * This checks indexing, barriers, lane exchanges, launch geometry and arithmetic without a GPU;
 * it says nothing about speed and cannot show hardware-only behaviour (memory ordering between
 * blocks, register or shared-memory limits, warp scheduling). A __syncthreads reached by only
 * part of a block, or a shuffle whose warp is not complete, aborts with a message. Used by
 * tests/gpu/emu_backend.cc and the copies of the op files built for it; host C++ only.
 */
#ifndef KRAIT_CUDA_EMU_H
#define KRAIT_CUDA_EMU_H

#include "bf16.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <functional>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__

struct uint3 {
    unsigned x, y, z;
};

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

struct float4 {
    float x, y, z, w;
};

static inline float4 make_float4(float x, float y, float z, float w) { return float4{ x, y, z, w }; }

struct __nv_bfloat16 {
    uint16_t bits;
};

static inline float __bfloat162float(__nv_bfloat16 h) { return krait_bf16_to_f32(h.bits); }
static inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16{ krait_f32_to_bf16(f) }; }

/* Set by the scheduler before it switches to a fiber. */
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

void __syncthreads();
float __shfl_xor_sync(unsigned mask, float v, int lane_mask);
double __shfl_xor_sync(unsigned mask, double v, int lane_mask);
int __shfl_xor_sync(unsigned mask, int v, int lane_mask);
void *emu_dyn_smem();

/* Runs body once per thread of every block of the grid (blocks in order, the threads of a block
 * as fibers switched at barriers). */
void emu_launch(dim3 grid, dim3 block, size_t dyn_smem_bytes, const std::function<void()> &body);

/* ---- the runtime calls the op files make -------------------------------------------------- */
typedef int cudaError_t;
#define cudaSuccess 0
typedef void *cudaStream_t;
typedef void *cudaEvent_t;
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };

static inline cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind,
                                          cudaStream_t)
{
    memmove(d, s, n);
    return cudaSuccess;
}
static inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
static inline cudaError_t cudaGetLastError() { return cudaSuccess; }
static inline const char *cudaGetErrorString(cudaError_t) { return "emulated error"; }
static inline const char *cudaGetErrorName(cudaError_t) { return "cudaErrorEmulated"; }
template <typename F> static inline cudaError_t cudaFuncSetAttribute(F, cudaFuncAttribute, int)
{
    return cudaSuccess;
}

/* cuBLAS(Lt) names used by the backend's private state and the GEMM launcher (under the
 * emulator every GEMM runs on the fallback kernel). */
typedef int cublasStatus_t;
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum cudaDataType { CUDA_R_32F = 0, CUDA_R_16BF = 14 };
typedef void *cublasLtHandle_t;
struct cublasLtMatmulAlgo_t {
    uint64_t data[8];
};

#endif /* KRAIT_CUDA_EMU_H */
