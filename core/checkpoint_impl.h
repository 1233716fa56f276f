/* core/checkpoint_impl.h — what checkpoint.c (the folder protocol) and checkpoint_state.c (the
 * optimizer and trainer state files) share. Private to core/checkpoint*.c. */
#ifndef KRAIT_CHECKPOINT_IMPL_H
#define KRAIT_CHECKPOINT_IMPL_H

#include "checkpoint.h"
#include "rng.h"

#define KRAIT_CKPT_OPTIM "optimizer.safetensors"
#define KRAIT_CKPT_STATE "trainer_state.json"

/* trainer_state.json, parsed and checked against a trainer. */
typedef struct krait_ckpt_state {
    int step;
    long long tokens;
    long long skipped;     /* batches skipped for a non-finite loss (0 in states written before it was kept) */
    int skipped_in_row;
    double elapsed_s, last_loss;
    krait_rng data_rng, eval_rng;
    char *data_position;   /* JSON text, or NULL when the checkpoint has none */
    char *app;             /* JSON text, or NULL */
} krait_ckpt_state;

/* Write optimizer.safetensors and then trainer_state.json into dir (each crash-safely). */
krait_status krait_ckpt_write_state(const krait_trainer *t, const krait_data_source *ds,
                                    const char *app_state, const char *dir);

/* Parse dir/trainer_state.json into st and check its train config against t->tc. */
krait_status krait_ckpt_read_state(krait_ckpt_state *st, const krait_trainer *t, const char *dir);
void krait_ckpt_state_free(krait_ckpt_state *st);

/* Read dir/optimizer.safetensors into t's moments; its step must be `step`. */
krait_status krait_ckpt_read_moments(krait_trainer *t, const char *dir, int step);

#endif /* KRAIT_CHECKPOINT_IMPL_H */
