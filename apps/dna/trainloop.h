/* apps/dna/trainloop.h — what `krait-dna pretrain` and `krait-dna train` share: the training
 * options (config, budget, run folder, resume, --init, overrides) and the run itself on core's
 * trainer with the run folder of every krait trainer (apps/common/runfiles.h: model, checkpoints,
 * metrics.jsonl) plus curves.svg (train loss and the command's validation figure). */
#ifndef KRAIT_DNA_TRAINLOOP_H
#define KRAIT_DNA_TRAINLOOP_H

#include <cjson/cJSON.h>

#include "cli.h"
#include "config.h"
#include "model.h"
#include "runfiles.h"
#include "train.h"
#include "trainopts.h"

/* The options both commands take (trainopts.h); eval_help: --eval-every's (NULL: not listed, for
 * a command without validation, which refuses it). */
#define DNA_TRAIN_OPTS(a, eval_help)                                                                             \
    { "--config", OPT_STR, &(a)->config, "FILE", "model + train config: a path or a preset in configs/ (required unless --init DIR: then DIR's config.json)" }, \
    { "--out", OPT_STR, &(a)->out, "DIR", "run folder: model, checkpoints, metrics.jsonl, curves.svg (required)" }, \
    KRAIT_TRAIN_OPTS(a, eval_help,                                                                               \
                     "override any config key (hidden_size=128, train.warmup=50, ...)")

/* Load the config with the overrides and flags applied; head must be want_head ("lm" or
 * "classify"; a classifier gets n_classes, the count of data's labels). Sets modality "dna" and
 * tokenizer "dna". Exits 2 with one line on a bad config. Returns the resolved config path. */
const char *dna_train_config(krait_config *cfg, krait_train_config *tc, const krait_train_opts *a,
                             const krait_common *c, const char *want_head, int n_classes, const char *data);

/* A validation: fills *value (the figure plotted, e.g. accuracy) and appends its own keys to o. */
typedef krait_status (*dna_validate_fn)(void *user, const krait_model *m, double *value, cJSON *o);

typedef struct dna_run {
    const char *prog;          /* "pretrain" or "train" */
    const char *val_name;      /* "validation accuracy" */
    const char *val_key;       /* its key in metrics.jsonl: "val_accuracy" */
    dna_validate_fn validate;  /* NULL: none */
    void *user;
    char *(*app_state)(void *user);
    krait_status (*check_state)(void *user, const char *app_state, const char *dir);
    /* after training, before the summary; may be NULL. *replaced = 1 when it put other weights in
     * m (--keep-best's): the summary then validates m again, so its figures are the model's */
    krait_status (*finish)(void *user, krait_model *m, const char *out, int *replaced);
    cJSON *last_val;           /* the last validation's keys (owned) */
    int stopped;               /* set by dna_train_run: --stop-at ended the run before its budget */
} dna_run;

/* Train m with ds; prints the summary (and --json's object, with the last validation's keys)
 * and returns the exit code. A run --stop-at ended (r->stopped) skips finish and says how to go on. */
int dna_train_run(dna_run *r, krait_model *m, const krait_train_config *tc, krait_data_source *ds,
                  const krait_train_opts *a, const krait_common *c);

#endif /* KRAIT_DNA_TRAINLOOP_H */
