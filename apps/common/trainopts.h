/* apps/common/trainopts.h — the options every krait training command shares (--config --out
 * --resume, the budget --steps/--minutes, --eval-every --ckpt-every --keep --stop-at, and the
 * overrides --batch --seq-len --lr --set) and how they reach the train config, so that every
 * trainer reads them with the same precedence and says the same things about them:
 *
 *   config file  <  --set KEY=V (in order)  <  the explicit flag (--batch, --lr, --steps, ...)
 *
 * --steps alone drops the config's time budget, --minutes alone drops its step limit, both
 * keep both; a run needs one of them (from the flags or the config). Deliberately not here:
 * the command's own options and checks (data, model head, vocabulary), the run folder that --out
 * names (runfolder.h: claiming, clearing, locking and refusing folders) and the run itself
 * (runfiles.h). */
#ifndef KRAIT_TRAINOPTS_H
#define KRAIT_TRAINOPTS_H

#include "cli.h"
#include "config.h"

typedef struct krait_train_opts {
    const char *cmd;            /* "train", "classify-train": starts the messages */
    int eval_default;           /* --eval-every when neither it nor the config gives one */
    const char *config, *out, *resume;
    const char *run_dir;        /* what --resume names to continue this run (NULL: out; an
                                 * ensemble member's: the ensemble's folder) */
    const char *init;           /* --init DIR: a pretrained model folder (NULL: fresh weights) */
    int overwrite;              /* --overwrite: start a new run in a folder that holds one */
    int config_from_init;       /* no --config: config is the --init folder's own (krait_train_opts_check) */
    int steps, eval_every, ckpt_every, keep, batch, seq_len, stop_at, warmup; /* -1: not given */
    double minutes, lr;                                                 /* -1: not given */
    krait_str_list sets;
} krait_train_opts;

/* Numeric options are >= 0 once parsed (cli.h), so -1 is free as "not given". */
#define KRAIT_TRAIN_OPTS_INIT(cmd_, eval_default_)                                                          \
    { .cmd = (cmd_), .eval_default = (eval_default_), .steps = -1, .eval_every = -1, .ckpt_every = -1,    \
      .keep = -1, .batch = -1, .seq_len = -1, .stop_at = -1, .warmup = -1, .minutes = -1, .lr = -1 }

/* The shared entries of a krait_opt table; the command adds --config, --out, and --seq-len and
 * --stop-at where it has them (their help says what they mean there). */
#define KRAIT_TRAIN_OPTS(o, eval_help, set_help)                                                          \
    { "--steps", OPT_INT, &(o)->steps, "N", "optimizer steps (alone: no time budget; default: the config's train.steps / train.minutes, else 1000)" }, \
    { "--minutes", OPT_DOUBLE, &(o)->minutes, "M", "training time budget, validation not counted (alone: no step limit)" }, \
    { "--eval-every", OPT_INT, &(o)->eval_every, "N", eval_help },                                          \
    { "--batch", OPT_INT, &(o)->batch, "N", "override train.batch" },                                       \
    { "--lr", OPT_DOUBLE, &(o)->lr, "LR", "override train.lr" },                                            \
    { "--warmup", OPT_INT, &(o)->warmup, "N", "override train.warmup: steps of linear warm-up to the rate" }, \
    { "--set", OPT_LIST, &(o)->sets, "KEY=V", set_help },                                                   \
    { "--ckpt-every", OPT_INT, &(o)->ckpt_every, "N", "checkpoint every N steps (default: config, else on stop and at the end)" }, \
    { "--keep", OPT_INT, &(o)->keep, "K", "checkpoints kept (default: config, else 3; 0 keeps all)" },                     \
    { "--resume", OPT_STR, &(o)->resume, "DIR", "continue the run saved in DIR (a run folder or a checkpoint)" }, \
    { "--init", OPT_STR, &(o)->init, "DIR", "start from a pretrained model folder: its tensors that match by name and shape" }, \
    { "--overwrite", OPT_FLAG, &(o)->overwrite, NULL, "start over in an --out folder that holds a run (its checkpoints are deleted)" }

/* A warning when a step budget ends before the warm-up does (krait_run_start, once every check
 * passed): the rate never reaches the one the run reports. */
void krait_train_warn_warmup(const krait_train_config *tc, const char *cmd);

/* "budget 40 steps", "budget 2 min" or "budget 2 min or 40 steps" (whichever ends first) in buf
 * (64 bytes are enough); minutes or steps <= 0: none of that kind. Returns buf. */
char *krait_train_budget(char *buf, size_t n, double minutes, int steps);

/* After parsing: --config (default with --init: the pretrained model's config.json, so that
 * `--init DIR` alone fine-tunes the whole model) and the command's data option (data_opt, given
 * or not) are required;
 * --out defaults to a --resume run folder; --batch, --seq-len and --lr are > 0; --resume and
 * --init name folders. Exits 2 with one line naming the option otherwise. With --resume, --init
 * is dropped with a note (the checkpoint holds the weights), so a command line repeated with
 * --resume added still runs. --out is claimed (krait_run_claim_out, runfolder.h: locked; for a
 * new run, refused when it holds one unless --overwrite, and an --init inside the folder
 * --overwrite empties is refused). */
void krait_train_opts_check(krait_train_opts *o, const char *data_opt, int have_data);

/* Defaults, the config file (a path or a preset), then the --set overrides in order. Exits with
 * the status's code and one line on a bad file or key. Returns the resolved path (static). */
const char *krait_train_opts_load(const krait_train_opts *o, krait_config *cfg, krait_train_config *tc);

/* The explicit flags and --seed over tc (loaded with the overrides), the --eval-every default
 * and the number of checkpoints kept. Exits 2 when there is no budget. */
void krait_train_opts_apply(const krait_train_opts *o, krait_train_config *tc, const krait_common *c);

/* The config's "krait": {"modality"} must be empty or want (exit 2 with one line naming the
 * file otherwise: a text preset given to krait-dna, say); then it is set to want. */
void krait_train_opts_modality(krait_config *cfg, const char *cpath, const char *want);

/* A classifier's class count comes from its labels (n of them, read from data). A config that
 * names a different count is refused (exit 2, one line naming the file) rather than quietly
 * overridden; then cfg->n_classes = n. */
void krait_train_opts_classes(krait_config *cfg, const char *cpath, int n, const char *data);

/* --resume (NULL: nothing to check) of a classifier whose data's labels give n classes: a run
 * trained on another count is refused with one line that says so (exit 2), before its
 * checkpoint's config is compared with the new model's. */
void krait_train_opts_resume_classes(const char *resume, int n, const char *data);

#endif /* KRAIT_TRAINOPTS_H */
