/* kernels/cpu/cpu_adamw.c — fast CPU AdamW (same math as ref_adamw.c): one parallel, vectorised
 * pass over the n parameters in fp32, bias corrections folded into two scalars up front.
 * Not here: gradient clipping or loss scaling (the caller folds both into grad_scale). */
#include "cpu_internal.h"

#include <math.h>

krait_status adamw_cpu(krait_backend *be,
                       float *p, float *m, float *v,   /* (n) */
                       void *p_act_,                   /* (n) or NULL */
                       const float *g,                 /* (n) */
                       size_t n, const krait_adamw_params *hp)
{
    float *p_act = p_act_;
    const float b1 = hp->beta1, b2 = hp->beta2, gs = hp->grad_scale, eps = hp->eps;
    const float decay = 1.0f - hp->lr * hp->weight_decay;
    const float step_size = (float)(hp->lr / (1.0 - pow(hp->beta1, hp->step)));
    const float inv_bc2_sqrt = (float)(1.0 / sqrt(1.0 - pow(hp->beta2, hp->step)));
    const long long nn = (long long)n;
#pragma omp parallel for simd num_threads(cpu_threads_for(be, 4.0 * nn)) schedule(static)
    for (long long i = 0; i < nn; i++) {
        float gi = gs * g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        float pi = p[i] * decay - step_size * mi / (sqrtf(vi) * inv_bc2_sqrt + eps);
        m[i] = mi;
        v[i] = vi;
        p[i] = pi;
        if (p_act) p_act[i] = pi;
    }
    return KRAIT_STATUS_OK;
}
