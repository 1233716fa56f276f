/* kernels/cuda/cuda_adamw.cu — AdamW on the fp32 master weights (PyTorch semantics, decoupled
 * weight decay), also writing the updated weights in the activation dtype (the GEMM compute
 * copy) when p_act is given. One fused pass: p, m, v, g read once; p, m, v, p_act written once.
 * The bias corrections 1 - beta^step are computed once on the host in double.
 */
#include "cuda_common.cuh"

#include <math.h>

KRAIT_CUDA_NS_BEGIN

/* p, m, v, g (n) fp32; p_act (n) act or NULL. */
template <typename T>
__global__ void adamw_kernel(float *p, float *m, float *v, T *p_act, const float *g, size_t n,
                             float lr, float b1, float b2, float eps, float wd, float gs,
                             float bc1, float bc2)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const float gg = gs * g[i];
        const float mi = b1 * m[i] + (1.0f - b1) * gg;
        const float vi = b2 * v[i] + (1.0f - b2) * gg * gg;
        const float mhat = mi / bc1, vhat = vi / bc2;
        const float pi = p[i] * (1.0f - lr * wd) - lr * mhat / (sqrtf(vhat) + eps);
        m[i] = mi;
        v[i] = vi;
        p[i] = pi;
        if (p_act) stf(p_act + i, pi);
    }
}

krait_status adamw_cuda(krait_backend *be, float *p, float *m, float *v, void *p_act,
                        const float *g, size_t n, const krait_adamw_params *hp)
{
    if (!n) return KRAIT_STATUS_OK;
    const float bc1 = (float)(1.0 - pow((double)hp->beta1, (double)hp->step));
    const float bc2 = (float)(1.0 - pow((double)hp->beta2, (double)hp->step));
    size_t nb = (n + 255) / 256;
    const int blocks = nb > 16384 ? 16384 : (int)nb;
    if (cuda_bf16(be))
        KRAIT_LAUNCH((adamw_kernel), blocks, 256, 0, cuda_stream(be), p, m, v, (bf16 *)p_act, g, n,
                     hp->lr, hp->beta1, hp->beta2, hp->eps, hp->weight_decay, hp->grad_scale, bc1,
                     bc2);
    else
        KRAIT_LAUNCH((adamw_kernel), blocks, 256, 0, cuda_stream(be), p, m, v, (float *)p_act, g, n,
                     hp->lr, hp->beta1, hp->beta2, hp->eps, hp->weight_decay, hp->grad_scale, bc1,
                     bc2);
    LAUNCH_CHECK(be, "adamw_kernel");
    return KRAIT_STATUS_OK;
}

KRAIT_CUDA_NS_END
