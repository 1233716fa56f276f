/* kernels/cuda/cuda_private.h — two accessors into the CUDA backend for programs that time it
 * with CUDA events (tests/gpu/bench_ops_gpu.c). Not part of the public interface: core/ never
 * uses it. Plain C; include <cuda_runtime_api.h> to use the stream. */
#ifndef KRAIT_CUDA_PRIVATE_H
#define KRAIT_CUDA_PRIVATE_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The backend's stream, as a cudaStream_t cast to void *. */
void *krait_cuda_stream_of(krait_backend *be);
/* The device ordinal the backend runs on. */
int krait_cuda_device_of(krait_backend *be);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_CUDA_PRIVATE_H */
