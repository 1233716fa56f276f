/* apps/common/runfiles.h — what a training app writes into its run folder (--out DIR):
 * checkpoints (core/checkpoint.h: the latest model at the top level, checkpoints/step-N/) and
 * metrics.jsonl, one line per optimizer step {"step","loss","lr","grad_norm","tokens",
 * "elapsed_s"} with the loss printed exactly (%.17g), so two runs can be compared line by line.
 * On resume the lines after the resumed step (written before a crash) are dropped first.
 * Shared by every app that trains, with the run itself (krait_run: resume, progress, validation
 * and checkpoint hooks, --stop-at, the final validation and checkpoint, SIGINT); the options
 * are in trainopts.h. */
#ifndef KRAIT_RUNFILES_H
#define KRAIT_RUNFILES_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "train.h"
#include "trainopts.h"

typedef struct krait_run_files {
    const char *out;      /* run folder, or NULL: nothing is written */
    int keep;             /* checkpoints kept (<= 0: all) */
    FILE *metrics;        /* out/metrics.jsonl, appended */
    int saved_step;       /* step of the last checkpoint written or resumed (-1: none) */
    int val_logged_step;  /* the resumed step when metrics.jsonl already validates it (-1: none) */
} krait_run_files;

/* The run folder that --resume DIR implies when --out is not given: DIR itself when it is a run
 * folder (has checkpoints/) or an ensemble's (has member-1/), else NULL (a single checkpoint
 * folder is only read). */
const char *krait_run_default_out(const char *resume_dir);

/* Create out (if non-NULL) and open metrics.jsonl: emptied for a new run (resumed_step < 0),
 * cut after resumed_step for a resumed one; resumed (from resume) into a new folder, it starts
 * with the source run's history. Exits 1 or 2 with one line on failure. */
void krait_run_files_open(krait_run_files *rf, const char *out, int keep, const char *resume, int resumed_step);
void krait_run_files_step(krait_run_files *rf, const krait_step_info *info);
/* metrics.jsonl flushed; a failed write (full disk, file size limit) ends the run with one line,
 * exit 1 (its lines must not go missing in silence; the last checkpoint continues it). */
void krait_run_files_flush(krait_run_files *rf);
/* A validation line: {"step", the n names with their values, "tokens", "elapsed_s"}; a value that
 * is not finite is written null (JSON has no NaN). */
void krait_run_files_val(krait_run_files *rf, const krait_trainer *t, int n, const char *const *names,
                         const double *values);
/* What the apps' model folders read beside config.json and the weights (text's BPE tokenizer,
 * audio's front-end, DNA's class names), NULL-terminated: every checkpoint gets a copy. */
extern const char *const krait_model_companions[];

/* A checkpoint of t at its current step (nothing when out is NULL or the step is saved), with
 * the app's own state app_state(user) (malloc'd JSON; NULL function: none), and a line on prog
 * when written. */
krait_status krait_run_files_checkpoint(krait_run_files *rf, const krait_trainer *t,
                                        const krait_data_source *ds, char *(*app_state)(void *user),
                                        void *user, krait_progress *prog);
/* Continue the run saved in dir (a run folder or a checkpoint): the trainer's state, then the
 * app's own state through restore(user, app_state JSON or NULL, dir). */
krait_status krait_run_files_resume(krait_trainer *t, krait_data_source *ds, const char *dir,
                                    krait_status (*restore)(void *user, const char *app_state, const char *dir),
                                    void *user);
void krait_run_files_close(krait_run_files *rf);
/* out/curves.svg from out/metrics.jsonl: the train "loss" of every step (averaged over buckets
 * of steps so the plot stays small) and every "val_loss" line (series val_name), against steps.
 * Best effort: nothing is written when the metrics cannot be read. */
void krait_run_files_curves(const char *out, const char *title, const char *xlabel, const char *ylabel,
                            const char *val_key, const char *val_name);

/* The training data's fingerprint in a checkpoint's app state ("data_train_fingerprint"), so
 * that --resume refuses other data of the same size: krait_run_fingerprint folds n bytes into h
 * (64-bit FNV-1a; start from KRAIT_FINGERPRINT_INIT), the app hashing its data in the order it
 * draws from it. krait_run_state_same_fingerprint: 1 when o holds h, or none (a checkpoint
 * written before the key). */
struct cJSON;
uint64_t krait_run_fingerprint(uint64_t h, const void *p, size_t n);
void krait_run_state_add_fingerprint(struct cJSON *o, uint64_t h);
int krait_run_state_same_fingerprint(const struct cJSON *o, uint64_t h);

/* The model on be with fresh weights from tc->seed, after refusing (exit 2, one line naming
 * len_opt) a model and batch that cannot fit in this machine's memory; then, when init is a model folder (--init),
 * every tensor of it whose name and shape match one of this model's replaces that one (the
 * embedding and the layers of a pretrained LM in a classifier; the whole model to fine-tune),
 * with one line saying how many. Exits 2 with one line when a tensor of that name has another
 * shape or none matches, 1 on other failures. */
krait_model *krait_run_model(const krait_config *cfg, const krait_train_config *tc, krait_backend *be,
                             const char *init, const char *len_opt);

/* One training run. The app fills the top part; krait_run_start and krait_run_train keep the rest. */
typedef struct krait_run {
    krait_data_source *ds;
    const krait_train_opts *o;     /* out, resume, keep, stop_at */
    void *user;                    /* the app's context: app_state and check_state get it */
    void (*step_line)(struct krait_run *r, const krait_step_info *i);  /* the progress line (prog) */
    krait_status (*validate)(struct krait_run *r);   /* at eval_every and the end; NULL: none */
    void (*curves)(struct krait_run *r);             /* after each validation and at the end; NULL: none */
    char *(*app_state)(void *user);
    krait_status (*check_state)(void *user, const char *app_state, const char *dir);
    krait_trainer *t;
    krait_run_files rf;
    krait_progress prog;
    int last_val_step, finished;   /* finished: the budget ran out (not stopped) */
    double eval_s, t0;             /* seconds validating; krait_now() when training began */
} krait_run;

/* After a resume to step: exit 2 when --steps (steps > 0) is behind it or --stop-at (stop_at > 0)
 * is not ahead of it: nothing would be trained. */
void krait_run_check_resumed(const char *resume, int step, int steps, int stop_at);
/* A trainer for m (exits 1 when it cannot be set up), progress, SIGINT caught, --resume's state
 * restored and the run folder opened. Returns 0 or an exit code. */
int krait_run_start(krait_run *r, krait_model *m, const krait_train_config *tc);
/* Train to the budget or --stop-at, then (when finished) the final validation and checkpoint.
 * Returns 0 (the app prints its summary), 130 after a signal (a checkpoint written and a line
 * saying so) or the exit code of a failure. */
int krait_run_train(krait_run *r);
/* The summary of a run that --stop-at ended before its budget (krait_run_train returned 0, not
 * finished): the step, the checkpoint and the command that continues it, on stdout. */
void krait_run_say_stopped(int step, const char *out, const char *resume_dir);
/* The run folder closed and the trainer freed (safe after a failed start). */
void krait_run_free(krait_run *r);

#endif /* KRAIT_RUNFILES_H */
