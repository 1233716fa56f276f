/* kernels/cuda_stub.c — stands in for the CUDA backend when krait is built without nvcc
 * (KRAIT_CUDA=OFF or no CUDA compiler): the entry points exist and say, in one line, why there
 * is no GPU backend. */
#include "backend.h"
#include "log.h"

krait_backend *krait_backend_cuda_init(int device, krait_dtype act_dtype)
{
    (void)device;
    (void)act_dtype;
    KRAIT_ERROR("this krait was built without CUDA (rebuild with -DKRAIT_CUDA=ON on a machine with nvcc)");
    return NULL;
}

int krait_cuda_device_count(void) { return 0; }
int krait_cuda_compiled(void) { return 0; }
int krait_cuda_device_of(krait_backend *be)
{
    (void)be;
    return -1;
}
