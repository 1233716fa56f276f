/* core/train.h — the trainer: batches from a data source, forward/backward, clipping, AdamW on
 * a warm-up + cosine schedule, with hooks for progress, evaluation and checkpoints.
 *
 * Modalities plug in through krait_data_source: a callback that fills one batch of token ids
 * and next-token targets (targets < 0 are not scored), or for a classifier ids (or feature
 * vectors) and labels (classify.h) using the trainer's data RNG, so a run is
 * a function of its seed. The trainer knows nothing of files, terminals or signals: apps show
 * progress in on_step, write checkpoints in on_checkpoint and ask it to stop through
 * stop_requested. */
#ifndef KRAIT_TRAIN_H
#define KRAIT_TRAIN_H

#include <stdint.h>

#include "config.h"
#include "model.h"
#include "optim.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_data_source {
    void *ctx;
    /* Fill ids and targets (B, L) row-major for one training batch. For a classifier
     * (classify.h) targets hold each row's label at its positions and -1 at its padding. */
    krait_status (*next_batch)(void *ctx, int32_t *ids, int32_t *targets, int B, int L, krait_rng *rng);
    /* Instead of next_batch, for a model with feature input ("input_dim" F): feats (B, L, F). */
    krait_status (*next_batch_features)(void *ctx, float *feats, int32_t *targets, int B, int L, krait_rng *rng);
    /* Optional (NULL when the trainer's data_rng is the source's whole position, as for
     * synthetic and random-crop sources): the source's own position — file, offset, epoch —
     * as one JSON value (malloc'd text), saved in checkpoints and handed back to load_state
     * on resume. load_state logs one line and returns BAD_INPUT when it cannot use the value. */
    char *(*save_state)(void *ctx);
    krait_status (*load_state)(void *ctx, const char *json);
} krait_data_source;

typedef struct krait_step_info {
    int step;              /* optimizer steps done (1-based after the first) */
    int total_steps;       /* tc.steps, or 0 when running on the clock only */
    double loss;           /* mean loss of this step's batch */
    double grad_norm;      /* before clipping */
    double lr;
    double progress;       /* 0..1 of the run */
    double elapsed_s;      /* training time so far, over resumes */
    double eta_s;          /* wall time left: training, with validations and checkpoints at this run's rate so far */
    double tokens_per_s;   /* over this run's steps */
    long long tokens;      /* tokens seen so far */
    int skipped;           /* 1: the batch had a non-finite loss or gradient and was skipped
                            * (tc.on_nonfinite "skip"); step and the weights did not change */
} krait_step_info;

typedef struct krait_trainer {
    krait_model *model;    /* not owned */
    krait_train_config tc;
    krait_optim *opt;
    krait_acts *acts;
    krait_rng data_rng;    /* batches are drawn from it: with save_state, the data position */
    krait_rng eval_rng;    /* draws made by on_eval (fresh evaluation sequences) */
    int32_t *ids, *targets;    /* (B * L) host batch */
    float *feats;              /* (B * L * F) host batch of a feature-input model, else NULL */
    long long tokens;
    double elapsed_s;      /* training time before this process (resume) plus this run */
    double run_start;      /* monotonic clock at the start of krait_trainer_run */
    double run_elapsed0;
    long long run_tokens0;
    double eval_s;         /* time in on_eval during krait_trainer_run, over n_evals calls (the ETA's share) */
    int n_evals;
    double last_loss;
    double lr_scale;       /* multiplies the scheduled rate (1 after init); an app may set it from
                            * state it saves itself, e.g. an anneal that starts at an event */
    long long skipped;     /* batches skipped for a non-finite loss or gradient, the run's (kept in checkpoints) */
    int skipped_in_row;    /* ... in a row; KRAIT_MAX_SKIPS_IN_ROW of them stop the run */
    int fault_step;        /* tests only: the loss of this step is taken as NaN (environment
                            * KRAIT_FAULT_NONFINITE_STEP at init; 0: never) */
} krait_trainer;

#define KRAIT_MAX_SKIPS_IN_ROW 10

typedef struct krait_train_hooks {
    void *user;
    void (*on_step)(void *user, const krait_step_info *info);
    krait_status (*on_eval)(void *user, krait_trainer *t);        /* every tc.eval_every steps */
    krait_status (*on_checkpoint)(void *user, krait_trainer *t);  /* every tc.ckpt_every steps */
    int (*stop_requested)(void *user);
} krait_train_hooks;

/* Allocates the optimizer and training activations for tc->batch x tc->seq_len and seeds the
 * data and eval RNGs from tc->seed. The model must already hold its initial weights.
 * checkpoint.h saves and restores everything here that changes while training. */
krait_trainer *krait_trainer_init(krait_model *m, const krait_train_config *tc);
/* About the bytes krait_trainer_init allocates (SIZE_MAX: the batch is too large for krait). */
size_t krait_trainer_bytes(const krait_model *m, const krait_train_config *tc);
/* The same plus the model's own weights (fp32 and the compute copy), from the config alone:
 * what training a model of cfg on be needs, known before anything is allocated. */
size_t krait_training_bytes(const krait_config *cfg, krait_backend *be, const krait_train_config *tc);
void krait_trainer_free(krait_trainer *t);

/* One optimizer step on the next batch from ds. A non-finite loss or gradient norm is logged
 * with the step; with tc.on_nonfinite "stop" it returns KRAIT_STATUS_NUMERIC (nothing changed),
 * with "skip" it returns OK with info->skipped = 1 (the batch is consumed, the weights and the
 * optimizer are untouched), until KRAIT_MAX_SKIPS_IN_ROW in a row return NUMERIC. */
krait_status krait_trainer_step(krait_trainer *t, krait_data_source *ds, krait_step_info *info);

/* Run until tc.steps or tc.minutes is reached (whichever comes first), or stop_requested
 * (returns KRAIT_STATUS_INTERRUPTED after on_checkpoint). */
krait_status krait_trainer_run(krait_trainer *t, krait_data_source *ds, const krait_train_hooks *h);

double krait_now(void);   /* monotonic seconds */

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_TRAIN_H */
