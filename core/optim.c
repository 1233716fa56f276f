/* core/optim.c — AdamW, the schedule and clipping; see optim.h. */
#include "optim.h"

#include <math.h>
#include <stdlib.h>

#include "log.h"

krait_optim *krait_optim_init(const krait_model *model)
{
    krait_backend *be = model->be;
    krait_optim *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    size_t bytes = model->n_params * sizeof(float);
    o->grads = be->alloc(be, bytes);
    o->m = be->alloc(be, bytes);
    o->v = be->alloc(be, bytes);
    if (!o->grads || !o->m || !o->v || be->zero(be, o->grads, bytes) || be->zero(be, o->m, bytes) ||
        be->zero(be, o->v, bytes)) {
        KRAIT_ERROR("cannot allocate %.1f MB of optimizer state on %s", 3.0 * bytes / 1e6, be->name);
        krait_optim_free(model, o);
        return NULL;
    }
    return o;
}

void krait_optim_free(const krait_model *model, krait_optim *o)
{
    if (!o) return;
    krait_backend *be = model->be;
    if (o->grads) be->free(be, o->grads);
    if (o->m) be->free(be, o->m);
    if (o->v) be->free(be, o->v);
    free(o);
}

krait_status krait_optim_zero_grad(const krait_model *model, krait_optim *o)
{
    return model->be->zero(model->be, o->grads, model->n_params * sizeof(float));
}

double krait_lr_at(const krait_train_config *tc, int step, double progress)
{
    if (progress < 0) progress = 0;
    if (progress > 1) progress = 1;
    double lr = tc->min_lr + 0.5 * (tc->lr - tc->min_lr) * (1.0 + cos(M_PI * progress));
    if (tc->warmup > 0 && step < tc->warmup) lr *= (step + 1) / (double)tc->warmup; /* no jump when it ends */
    return lr;
}

krait_status krait_optim_step(krait_model *model, krait_optim *o, const krait_train_config *tc,
                              double lr, double *grad_norm)
{
    krait_backend *be = model->be;
    double ss = 0;
    krait_status s = be->sumsq(be, &ss, o->grads, model->n_params);
    if (s) return s;
    double norm = sqrt(ss);
    if (grad_norm) *grad_norm = norm;
    if (!isfinite(norm)) return KRAIT_STATUS_NUMERIC;
    double scale = 1.0;
    if (tc->grad_clip > 0 && norm > tc->grad_clip) scale = tc->grad_clip / (norm + 1e-6);
    o->step++;
    const size_t as = krait_dtype_size(be->act_dtype);
    const int tied_copy = model->params_act != model->params;
    for (int i = 0; i < model->n_tensors; i++) {
        const krait_tensor_info *t = &model->tensors[i];
        krait_adamw_params hp = { .lr = (float)lr, .beta1 = tc->beta1, .beta2 = tc->beta2,
                                  .eps = tc->eps, .weight_decay = t->decay ? tc->weight_decay : 0.0f,
                                  .grad_scale = (float)scale, .step = o->step };
        void *p_act = tied_copy ? (char *)model->params_act + t->offset * as : NULL;
        s = be->adamw(be, model->params + t->offset, o->m + t->offset, o->v + t->offset, p_act,
                      o->grads + t->offset, t->numel, &hp);
        if (s) return s;
    }
    return KRAIT_STATUS_OK;
}
