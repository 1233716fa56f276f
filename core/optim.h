/* core/optim.h — AdamW with decoupled weight decay, warm-up + cosine schedule, and global
 * gradient-norm clipping.
 *
 * The optimizer owns the gradient arena and the two moment arenas (fp32, laid out like the
 * parameters). Weight decay applies only to tensors the model marks `decay` (GEMM weights and
 * embeddings; not norms, biases, A_log or D), as in the official recipe. The update itself is
 * the backend's adamw op, which also refreshes the compute copy of each tensor. */
#ifndef KRAIT_OPTIM_H
#define KRAIT_OPTIM_H

#include "config.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_optim {
    float *grads;    /* (n_params) device */
    float *m, *v;    /* (n_params) device, AdamW moments */
    int step;        /* optimizer steps taken */
} krait_optim;

krait_optim *krait_optim_init(const krait_model *model);
void krait_optim_free(const krait_model *model, krait_optim *o);
krait_status krait_optim_zero_grad(const krait_model *model, krait_optim *o);

/* Learning rate at optimizer step `step` (0-based): cosine decay from tc->lr to tc->min_lr as
 * progress goes 0 -> 1 (progress = fraction of the run done, by steps or by the clock), times a
 * linear warm-up factor (step + 1) / tc->warmup over the first tc->warmup steps. The product is
 * continuous where the warm-up ends, however large a share of the run the warm-up is. */
double krait_lr_at(const krait_train_config *tc, int step, double progress);

/* Clip the global gradient norm to tc->grad_clip (0 = no clipping), then one AdamW update of
 * every tensor. *grad_norm receives the norm before clipping. A non-finite norm leaves the
 * parameters untouched and returns KRAIT_STATUS_NUMERIC. Any other failure (a backend error
 * part-way through the tensors) leaves the step partly applied: the model and optimizer are
 * then unusable, and the trainers stop without writing a checkpoint, so it is never saved. */
krait_status krait_optim_step(krait_model *model, krait_optim *o, const krait_train_config *tc,
                              double lr, double *grad_norm);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_OPTIM_H */
