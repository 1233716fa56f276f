/* kernels/cpu/ref_adamw.c — reference AdamW update (PyTorch semantics, decoupled weight decay,
 * bias-corrected moments) of n parameters in place, as written in backend.h.
 *
 * Each element is updated in double from its fp32 values and stored back as fp32. No clipping:
 * grad_scale is where the caller folds in its clip factor and loss scale.
 */
#include "cpu_internal.h"

#include <math.h>

krait_status adamw_ref(krait_backend *be,
                       float *p, float *m, float *v,   /* (n) */
                       void *p_act_,                   /* (n) or NULL */
                       const float *g,                 /* (n) */
                       size_t n, const krait_adamw_params *hp)
{
    (void)be;
    float *p_act = p_act_;
    double b1 = hp->beta1, b2 = hp->beta2, lr = hp->lr;
    double bc1 = 1.0 - pow(b1, hp->step), bc2 = 1.0 - pow(b2, hp->step);
    for (size_t i = 0; i < n; i++) {
        double gi = (double)hp->grad_scale * g[i];
        double mi = b1 * m[i] + (1.0 - b1) * gi;
        double vi = b2 * v[i] + (1.0 - b2) * gi * gi;
        double pi = p[i] * (1.0 - lr * hp->weight_decay) -
                    lr * (mi / bc1) / (sqrt(vi / bc2) + hp->eps);
        m[i] = (float)mi;
        v[i] = (float)vi;
        p[i] = (float)pi;
        if (p_act) p_act[i] = p[i];
    }
    return KRAIT_STATUS_OK;
}
