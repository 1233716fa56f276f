/* apps/dna/train.c — `krait-dna train`: a sequence classifier (core/classify.h) on labelled DNA.
 *
 * Classes are --classes or the sorted distinct training labels; they are written to
 * OUT/classes.txt, which predict and eval read. A batch row is a training sequence drawn
 * uniformly with the trainer's data RNG (so --resume is exact), right-padded to seq_len (the
 * longest training sequence, or --max-len: longer ones are cropped at a random offset) with its
 * label at its positions and -1 at the padding, reverse-complemented with probability 1/2
 * (--rc-aug), then substituted and turned when --mutate / --shift ask (krait_dna_augment;
 * pass them again with --resume, as --rc-aug). --init DIR (every trainer's option: runfiles.h)
 * copies a pretrained model's matching tensors (embedding, layers, norm_f). With --valid, every
 * --eval-every steps and at the end the validation set is classified (RC-averaged with
 * --rc-avg 1, as predict does) and its accuracy, MCC, macro F1 and AUROC go to metrics.jsonl,
 * curves.svg and --json.
 *
 * --ensemble N trains N models into OUT/member-1 .. OUT/member-N (each a model folder of its
 * own), with seeds seed .. seed + N - 1; predict and eval given OUT average their
 * probabilities. With --valid the ensemble's own figures come last (and are the --json line).
 * The members train one after another, or --jobs J at once, each in a child process with
 * --threads of its own: a small model gains less from a second thread than from a second
 * process (1.4x against 1.8x for the enhancer preset on two cores), and each member is bit for
 * bit what it is alone with the same --threads. A time budget is shared out by rounds
 * (ceil(N/J) of them: 1/N each one after another, all of it when all train at once); a step
 * budget applies to each. --resume OUT continues every member from its own checkpoint and
 * starts the ones never begun (from --init, when given).
 *
 * --keep-best (with --valid) is early stopping by checkpoint: whenever a validation beats every
 * earlier one by --best-by (higher accuracy, MCC or AUROC, or lower log-loss; a tie keeps the
 * earlier model), the model is written to OUT/best; at the end OUT's model is replaced by it
 * (each member's with --ensemble, so the ensemble is of best members). The best figure and step
 * travel in the checkpoint, so --resume keeps them; the last step's weights stay in OUT's
 * checkpoint. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

#include "checkpoint.h"
#include "dna_seq.h"
#include "dnaapp.h"
#include "fsutil.h"
#include "log.h"
#include "metrics.h"
#include "model_io.h"
#include "runfolder.h"
#include "trainloop.h"

typedef struct cls_src {
    const krait_dna_set *s;
    int rc_aug;
    double mutate;   /* per-base probability of a substitution (--mutate) */
    int shift;       /* the largest circular shift (--shift) */
} cls_src;

static krait_status cls_batch(void *ctx, int32_t *ids, int32_t *targets, int B, int L, krait_rng *rng)
{
    cls_src *c = ctx;
    for (int b = 0; b < B; b++) {
        size_t i = (size_t)(krait_rng_u64(rng) % c->s->n), len = krait_dna_set_len(c->s, i);
        size_t start = krait_dna_crop_start(len, (size_t)L, rng);
        if (len > (size_t)L) len = (size_t)L;
        int32_t *row = ids + (size_t)b * L, *tg = targets + (size_t)b * L;
        const uint8_t *src = c->s->ids + c->s->off[i] + start;
        for (size_t t = 0; t < (size_t)L; t++) {
            row[t] = t < len ? src[t] : KRAIT_DNA_N;
            tg[t] = t < len ? c->s->y[i] : -1;
        }
        if (c->rc_aug && (krait_rng_u64(rng) & 1)) krait_dna_revcomp(row, len);
        krait_dna_augment(row, len, c->mutate, c->shift, rng);
    }
    return KRAIT_STATUS_OK;
}

typedef struct train_ctx {
    const krait_dna_set *valid;
    const krait_dna_classes *cl;
    int rc_avg;
    long long n_train;
    char *best_dir;      /* --keep-best: OUT/best, else NULL */
    const char *best_by; /* --best-by: accuracy, mcc, auroc or nll */
    double best;         /* the best validation figure so far (when best_step >= 0) */
    int best_step;       /* -1: none yet */
    char augment[96];    /* "--rc-aug R --mutate P --shift N": kept in checkpoints, the same on --resume */
    uint64_t data_hash;  /* dna_set_fingerprint of the training rows, the same on --resume */
} train_ctx;

static const char *const best_by_names[] = { "accuracy", "mcc", "auroc", "nll" };

/* Is validation figure v better than the best so far (by t->best_by)? Ties are not. */
static int beats_best(const train_ctx *t, double v)
{
    if (!isfinite(v)) return 0;
    if (t->best_step < 0) return 1;
    return strcmp(t->best_by, "nll") ? v > t->best : v < t->best;
}

/* The validation figures of nm models' mean probabilities (one model: nm = 1). */
static krait_status validate_models(train_ctx *t, krait_model *const *ms, int nm, double *value, cJSON *o)
{
    const int C = t->cl->n;
    float *p = malloc(t->valid->n * (size_t)C * sizeof *p);
    if (!p) return KRAIT_STATUS_NO_MEMORY;
    krait_status s = dna_classify_ensemble(ms, nm, t->valid, t->rc_avg, DNA_STREAM_ABOVE, 4096, p, NULL);
    krait_cls_metrics mt;
    if (!s) s = krait_cls_metrics_compute(t->valid->y, p, (int)t->valid->n, C, &mt);
    free(p);
    if (s) return s;
    *value = mt.accuracy;
    cJSON_AddNumberToObject(o, "val_accuracy", mt.accuracy);
    cJSON_AddNumberToObject(o, "val_nll", mt.log_loss);
    cJSON_AddNumberToObject(o, "val_mcc", mt.mcc);
    cJSON_AddNumberToObject(o, "val_macro_f1", mt.macro_f1);
    if (C == 2 && isfinite(mt.auroc)) cJSON_AddNumberToObject(o, "val_auroc", mt.auroc);
    krait_cls_metrics_free(&mt);
    return KRAIT_STATUS_OK;
}

/* dir/classes.txt := cl. A resumed run keeps its classes: when dir holds a class list already
 * (resume: the --resume given), it must be cl's, the same names in the same order (exit 2). */
static void save_classes(const char *dir, const krait_dna_classes *cl, const char *resume)
{
    krait_status s = krait_fs_mkdirs(dir); /* which logs why not */
    if (s) dna_die_status(s);
    char *cp = krait_fs_join(dir, "classes.txt");
    if (!cp) krait_cli_die(1, "out of memory");
    if (resume && krait_fs_is_file(cp)) {
        krait_dna_classes old;
        if ((s = krait_dna_classes_load(&old, cp))) dna_die_status(s);
        char was[200], now[200];
        if (!krait_dna_classes_equal(&old, cl))
            krait_cli_die(2, "train: --resume %s: the run's classes are %s (%s), these are %s: the same labels (or "
                          "--classes in that order) continue it", resume, krait_dna_classes_list(&old, was, sizeof was), cp,
                          krait_dna_classes_list(cl, now, sizeof now));
        krait_dna_classes_free(&old);
    } else if ((s = krait_dna_classes_save(cl, cp))) {
        dna_die_status(s);
    }
    free(cp);
}

static krait_status validate(void *user, const krait_model *m, double *value, cJSON *o)
{
    train_ctx *t = user;
    krait_model *one = (krait_model *)m; /* only read */
    krait_status s = validate_models(t, &one, 1, value, o);
    if (s || !t->best_dir) return s;
    char key[32];
    snprintf(key, sizeof key, "val_%s", t->best_by);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *step = cJSON_GetObjectItemCaseSensitive(o, "step");
    /* no step: the kept model validated again for the summary, not a candidate */
    if (cJSON_IsNumber(step) && cJSON_IsNumber(v) && beats_best(t, v->valuedouble)) {
        if ((s = krait_model_save(m, t->best_dir, KRAIT_DTYPE_F32))) return s;
        save_classes(t->best_dir, t->cl, NULL);
        t->best = v->valuedouble;
        t->best_step = (int)step->valuedouble;
    }
    if (t->best_step >= 0) {
        cJSON_AddStringToObject(o, "best_by", t->best_by);
        cJSON_AddNumberToObject(o, "best_val", t->best);
        cJSON_AddNumberToObject(o, "best_step", t->best_step);
    }
    return KRAIT_STATUS_OK;
}

/* --keep-best after a member's run: its best weights into m and OUT. */
static krait_status keep_best(void *user, krait_model *m, const char *out, int *replaced)
{
    const train_ctx *t = user;
    if (!t->best_dir) return KRAIT_STATUS_OK;
    if (t->best_step < 0) { /* e.g. --best-by auroc on validation rows of one class */
        printf("train: --keep-best: no validation had a --best-by %s figure; %s holds the last step's model\n", t->best_by, out);
        return KRAIT_STATUS_OK;
    }
    krait_status s = krait_model_load_weights(m, t->best_dir);
    *replaced = !s;
    if (!s) s = krait_model_save(m, out, KRAIT_DTYPE_F32);
    if (!s)
        printf("train: kept the best validation, %s %.4f at step %d: model in %s (and %s)\n", t->best_by,
               t->best, t->best_step, out, t->best_dir);
    return s;
}

static char *app_state(void *user)
{
    const train_ctx *t = user;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n_train", (double)t->n_train);
    cJSON_AddNumberToObject(o, "n_classes", t->cl->n);
    cJSON_AddItemToObject(o, "classes", cJSON_CreateStringArray((const char *const *)t->cl->names, t->cl->n));
    cJSON_AddStringToObject(o, "augment", t->augment);
    krait_run_state_add_fingerprint(o, t->data_hash);
    if (t->best_dir && t->best_step >= 0) {
        cJSON_AddStringToObject(o, "best_by", t->best_by);
        cJSON_AddNumberToObject(o, "best_val", t->best);
        cJSON_AddNumberToObject(o, "best_step", t->best_step);
    }
    char *j = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return j;
}

static krait_status check_state(void *user, const char *json, const char *dir)
{
    train_ctx *t = user;
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "n_train"), *k = cJSON_GetObjectItemCaseSensitive(o, "n_classes");
    int ok = cJSON_IsNumber(n) && (long long)n->valuedouble == t->n_train && cJSON_IsNumber(k) &&
             (int)k->valuedouble == t->cl->n;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(o, "classes"); /* absent in older checkpoints */
    for (int c = 0; ok && cJSON_IsArray(names) && c < t->cl->n; c++) {
        const cJSON *nm = cJSON_GetArrayItem(names, c);
        if (cJSON_IsString(nm) && !strcmp(nm->valuestring, t->cl->names[c])) continue;
        char *was = cJSON_PrintUnformatted(names), now[200];
        KRAIT_ERROR("--resume %s: the checkpoint was trained on the classes %s, these are %s: the same labels (or "
                    "--classes in its order) continue it", dir, was ? was : "?", krait_dna_classes_list(t->cl, now, sizeof now));
        free(was);
        cJSON_Delete(o);
        return KRAIT_STATUS_BAD_INPUT;
    }
    const cJSON *aug = cJSON_GetObjectItemCaseSensitive(o, "augment"); /* absent in older checkpoints */
    if (ok && cJSON_IsString(aug) && strcmp(aug->valuestring, t->augment)) {
        KRAIT_ERROR("--resume %s: the checkpoint was trained with %s; this run asks %s: the same augmentation continues "
                    "it", dir, aug->valuestring, t->augment);
        cJSON_Delete(o);
        return KRAIT_STATUS_BAD_INPUT;
    }
    /* --keep-best: the best so far, when its model is in this run's OUT/best and it was chosen
     * by the same figure (resumed into another OUT, or by another --best-by, the best starts
     * over) */
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "best_val"),
                *bs = cJSON_GetObjectItemCaseSensitive(o, "best_step"),
                *by = cJSON_GetObjectItemCaseSensitive(o, "best_by");
    if (ok && t->best_dir && cJSON_IsNumber(b) && cJSON_IsNumber(bs) && cJSON_IsString(by) &&
        !strcmp(by->valuestring, t->best_by)) {
        char *f = krait_fs_join(t->best_dir, "model.safetensors");
        if (f && krait_fs_is_file(f)) t->best = b->valuedouble, t->best_step = (int)bs->valuedouble;
        free(f);
    }
    const int same = ok && krait_run_state_same_fingerprint(o, t->data_hash);
    cJSON_Delete(o);
    if (!ok) KRAIT_ERROR("--resume %s: the checkpoint was trained on other data (sequence or class count differs)", dir);
    else if (!same)
        KRAIT_ERROR("--resume %s: the checkpoint was trained on other data (as many rows, but other sequences, labels "
                    "or order)", dir);
    return same ? KRAIT_STATUS_OK : KRAIT_STATUS_BAD_INPUT;
}


/* After the members of an ensemble: its validation figures (when there is a validation set). */
static void ensemble_summary(train_ctx *t, krait_model *const *ms, int n, const char *out, int json)
{
    cJSON *o = cJSON_CreateObject();
    double acc = NAN;
    if (t->valid->n) {
        krait_status s = validate_models(t, ms, n, &acc, o);
        if (s) dna_die_status(s);
    }
    printf("train: ensemble of %d models in %s", n, out);
    if (isfinite(acc)) printf(": validation accuracy %.4f (mean of the members' probabilities)", acc);
    printf("\n");
    if (!json) {
        cJSON_Delete(o);
        return;
    }
    cJSON_AddNumberToObject(o, "members", n);
    cJSON_AddStringToObject(o, "out", out);
    krait_cli_print_json(o);
}

/* --resume DIR: with --ensemble N, DIR is the ensemble's own folder (no other --out, not one
 * model's run folder) and holds no member past N (eval would average them all); without
 * --ensemble, an ensemble's folder is refused with the way to resume it. */
static void check_resume(const krait_train_opts *a, int ensemble)
{
    if (!a->resume || (ensemble < 1 || ensemble > DNA_MAX_MEMBERS)) return;
    const int most = krait_run_members(a->resume);
    const int is_run = krait_run_has(a->resume, "checkpoints"), is_ensemble = !is_run && most > 0;
    if (ensemble == 1 && is_ensemble)
        krait_cli_die(2, "train: --resume %s: an ensemble's folder (member-1, ...): resume it with --ensemble N, N its "
                         "member count", a->resume);
    if (ensemble > 1 && (is_run || !krait_fs_same(a->resume, a->out)))
        krait_cli_die(2, "train: --resume %s with --ensemble: an ensemble continues in its own folder (--resume "
                         "OUT, no other --out); one model's run folder resumes without --ensemble", a->resume);
    if (ensemble > 1 && most > ensemble)
        krait_cli_die(2, "train: --resume %s: it holds member-%d, more members than --ensemble %d (eval would average "
                         "them all): give its member count", a->resume, most, ensemble);
}

/* What every member of a run shares (one model: an ensemble of 1, trained into OUT itself). */
typedef struct members {
    const krait_config *cfg;
    krait_train_config tc;     /* seed: the first member's; minutes: the whole run's */
    krait_train_opts a;        /* a.out: the run's OUT (its member folders made already) */
    const krait_common *c;
    krait_data_source *ds;
    train_ctx *t;
    const char *cpath;         /* the config, for the summary line */
    size_t n_train;
    int keep_best, n;          /* --keep-best; --ensemble N */
} members;

/* Member k (0-based) on be, with its seed and its share of the time budget (`rounds` members
 * one after another); the model in *mp (NULL if none); *stopped = 1 when --stop-at ended it
 * before its budget. Returns the exit code. */
static int train_member(const members *mb, int k, int rounds, krait_backend *be, krait_model **mp, int *stopped)
{
    krait_train_config tc = mb->tc;
    krait_train_opts a = mb->a;
    train_ctx *t = mb->t;
    char *dir = NULL;
    if (mb->n > 1) {
        if (!(dir = dna_member_dir(mb->a.out, k + 1))) krait_cli_die(1, "out of memory");
        krait_run_lock(dir); /* so that no other command writes this member while it trains */
        a.out = dir;
        a.run_dir = mb->a.out;
        /* --resume OUT: each member where it stopped, or from the start */
        a.resume = mb->a.resume && krait_checkpoint_any(dir) ? dir : NULL; /* (killed in its first save: anew) */
        tc.seed = mb->tc.seed + (uint64_t)k;
        tc.minutes = mb->tc.minutes / rounds;
        fprintf(stderr, "%s: ensemble member %d of %d (seed %llu) in %s%s\n", krait_cli_prog(), k + 1, mb->n,
                (unsigned long long)tc.seed, dir, a.resume ? ", continuing its checkpoint" : "");
    }
    free(t->best_dir);
    t->best_dir = mb->keep_best ? krait_fs_join(a.out, "best") : NULL;
    if (mb->keep_best && !t->best_dir) krait_cli_die(1, "out of memory");
    t->best = -1, t->best_step = -1;
    krait_model *m = *mp = krait_run_model(mb->cfg, &tc, be, a.resume ? NULL : a.init, "--max-len");
    const krait_config *cfg = mb->cfg;
    fprintf(stderr, "%s: %s: %d layers, d_model %d, %s pooling%s, %.2fM params; %zu train / %zu valid "
                    "sequences, %d classes, length <= %d; batch %d, lr %g; %s\n",
            krait_cli_prog(), mb->cpath, cfg->n_layer, cfg->d_model, cfg->pooling, cfg->bidirectional ? ", bidirectional" : "",
            m->n_params / 1e6, mb->n_train, t->valid->n, t->cl->n, tc.seq_len, tc.batch, tc.lr, krait_train_budget((char[64]){ 0 }, 64, tc.minutes, tc.steps));
    dna_run r = { .prog = "train", .val_name = "validation accuracy", .val_key = "val_accuracy",
                  .validate = t->valid->n ? validate : NULL, .user = t, .app_state = app_state,
                  .check_state = check_state, .finish = keep_best };
    int rc = dna_train_run(&r, m, &tc, mb->ds, &a, mb->c);
    *stopped = r.stopped;
    cJSON_Delete(r.last_val);
    free(dir);
    return rc;
}

/* The CPUs this process may run on (its affinity mask, as OpenMP counts them). */
static int usable_cores(void)
{
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* --jobs J: the members in up to J child processes at once, each with its own CPU backend of
 * --threads threads (default: the cores shared out), made after the fork, since thread pools
 * (OpenMP, OpenBLAS) do not survive one. The parent only waits. A stop request (Ctrl-C,
 * SIGTERM) or a member that fails stops the others the gentle way (SIGUSR1: each writes a
 * checkpoint, even if the user's Ctrl-C reached it too); the first failing member's exit code
 * is the run's. A member that --stop-at ended (each stops at that step) tells the parent by
 * exiting MEMBER_STOPPED: *stopped = 1, and the ensemble has no figures yet. */
enum { MEMBER_STOPPED = 3 }; /* between a member process and its parent only */
static int train_members_forked(const members *mb, int jobs, int *stopped)
{
    int threads = mb->c->threads_from_env ? 0 : mb->c->threads;
    if (!threads) { /* the cores shared out: the machine's, or OMP_NUM_THREADS's share for this run */
        int cores = mb->c->threads_from_env ? mb->c->threads : usable_cores();
        threads = cores > jobs ? cores / jobs : 1;
    }
    const int rounds = (mb->n + jobs - 1) / jobs;
    const pid_t parent = getpid();
    pid_t pid[DNA_MAX_MEMBERS] = { 0 };
    int running = 0, next = 0, rc = 0, stopping = 0;
    krait_cli_catch_signals(); /* before the forks: the members inherit the handlers */
    signal(SIGCHLD, SIG_DFL);  /* an ignored SIGCHLD (inherited through exec) reaps them unseen */
    for (;;) {
        /* every member that has ended, first: a failure stops the run before another starts (a
         * member finishing at the same moment as one failing must not make room for the next) */
        while (running > 0) {
            int st;
            pid_t p = waitpid(-1, &st, WNOHANG); /* polled: a signal just before a blocking wait is missed */
            if (p == 0) break;
            if (p < 0) {
                if (errno == EINTR) continue;
                fprintf(stderr, "%s: error: lost track of the ensemble's members: %s\n", krait_cli_prog(), strerror(errno));
                return rc ? rc : 1;
            }
            int k = 0;
            while (k < next && pid[k] != p) k++;
            if (k == next) continue;
            pid[k] = 0;
            running--;
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
            if (code == MEMBER_STOPPED) *stopped = 1, code = 0;
            if (code && !rc) {
                rc = code;
                fprintf(stderr, "%s: ensemble member %d stopped (exit code %d)%s\n", krait_cli_prog(), k + 1, code,
                        running ? "; stopping the others" : "");
            }
            if (code && !stopping) stopping = 1;
        }
        if (!stopping && krait_cli_stop_requested()) rc = 130, stopping = 1;
        if (stopping == 1) {
            for (int k = 0; k < next; k++)
                if (pid[k]) kill(pid[k], SIGUSR1);
            stopping = 2;
        }
        if (!running && (stopping || next == mb->n)) break;
        if (!stopping && next < mb->n && running < jobs && !krait_cli_stop_requested()) {
            fflush(NULL); /* or the child writes the parent's buffered output again */
            pid_t p = fork();
            if (p < 0) {
                fprintf(stderr, "%s: error: cannot start a process for ensemble member %d: %s\n", krait_cli_prog(),
                        next + 1, strerror(errno));
                rc = 1, stopping = 1;
                continue;
            }
            if (p == 0) {
#ifdef __linux__
                prctl(PR_SET_PDEATHSIG, SIGUSR1); /* the parent killed: checkpoint and stop */
#endif
                if (getppid() != parent) raise(SIGUSR1); /* it died before that line */
                static char name[64];
                snprintf(name, sizeof name, "%s member-%d", krait_cli_prog(), next + 1);
                krait_cli_child(name, jobs);
                krait_common c = *mb->c;
                c.threads = threads, c.threads_from_env = 0; /* this member's share */
                if (!strcmp(c.device, "auto")) c.device = "cpu"; /* the parent found no GPU */
                krait_backend *be = krait_cli_backend(&c, "f32");
                krait_model *m = NULL;
                int member_stopped = 0, code = train_member(mb, next, rounds, be, &m, &member_stopped);
                krait_model_free(m);
                krait_backend_destroy(be);
                fflush(NULL);
                _exit(code ? code : member_stopped ? MEMBER_STOPPED : 0);
            }
            pid[next++] = p;
            running++;
            continue;
        }
        nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
    }
    return rc;
}

int dna_cmd_train(int argc, char **argv)
{
    krait_train_opts a = KRAIT_TRAIN_OPTS_INIT("train", 200);
    krait_str_list train = { 0 }, valid = { 0 };
    const char *classes = NULL;
    int rc_aug = 1, rc_avg = -1, max_len = -1, ensemble = 1, jobs = 1, shift = 0, best = 0, check = 0; /* max_len -1: the longest */
    double mutate = 0;
    const char *best_by = NULL;
    dna_inputs in = DNA_INPUTS_INIT;
    krait_opt opts[] = {
        { "--train", OPT_LIST, &train, "SRC", "labelled training sequences (repeatable; CLASS=FILE) (required)" },
        { "--valid", OPT_LIST, &valid, "SRC", "labelled validation sequences (repeatable)" },
        DNA_TRAIN_OPTS(&a, "validate every N steps (default: config, else 200; 0: at the end)"),
        { "--classes", OPT_STR, &classes, "A,B,...", "the class list (default: the training labels, sorted)" },
        { "--max-len", OPT_INT, &max_len, "N", "crop training sequences to N bases (default: train.seq_len if the config sets it, else the longest)" },
        { "--rc-aug", OPT_INT, &rc_aug, "0|1", "reverse-complement half the training rows (default 1)" },
        { "--mutate", OPT_DOUBLE, &mutate, "P", "substitute each training base with probability P (default 0)" },
        { "--shift", OPT_INT, &shift, "N", "turn each training row circularly by up to N bases either way (default 0)" },
        { "--rc-avg", OPT_INT, &rc_avg, "0|1", "validation averages with the reverse complement (default 1)" },
        { "--ensemble", OPT_INT, &ensemble, "N", "train N models (seeds seed..seed+N-1, --minutes shared out) into OUT/member-K" },
        { "--jobs", OPT_INT, &jobs, "J", "train J members at once, in processes of --threads each (default 1)" },
        { "--keep-best", OPT_FLAG, &best, NULL, "end with the model of the best validation (kept in OUT/best)" },
        { "--best-by", OPT_STR, &best_by, "M", "--keep-best's figure: accuracy (default), mcc, auroc (2 classes) or nll" },
        { "--stop-at", OPT_INT, &a.stop_at, "N", "stop with a checkpoint after step N (the schedule is unchanged)" },
        { "--check", OPT_FLAG, &check, NULL, "read the data, the config and --init, make the model, then stop (writes nothing)" },
        DNA_INPUT_OPTS(&in),
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-dna train --config FILE --train SRC... [--valid SRC...] --out DIR [--init DIR]\n"
                    "                       [--steps N | --minutes M] [--resume DIR]\n"
                    "Train a sequence classifier; OUT is a model folder for predict and eval.");
    const char *init = a.init; /* with an ensemble's --resume: for the members never begun */
    if (ensemble > 1 && a.resume) a.init = NULL;
    krait_train_opts_check(&a, "--train", train.n > 0);
    krait_run_refuse_inputs(a.out, "--train", (const char *const *)train.items, train.n);
    krait_run_refuse_inputs(a.out, "--valid", (const char *const *)valid.items, valid.n);
    krait_run_refuse_inputs(a.out, "--genome", &in.genome, 1);
    krait_run_refuse_inputs(a.out, "--reference", &in.reference, 1);
    if (init && !a.init && ensemble > 1) {
        if (!krait_fs_is_dir(init)) krait_cli_die(2, "%s: no such model folder (--init)", init);
        a.init = init;
    }
    check_resume(&a, ensemble);
    if (rc_avg >= 0 && !valid.n) krait_cli_die(2, "train: --rc-avg is how --valid is scored: give --valid too");
    if (rc_avg < 0) rc_avg = 1;
    if (max_len == 0) krait_cli_die(2, "train: --max-len must be at least 1 (bases)");
    if (rc_aug & ~1) krait_cli_die(2, "train: --rc-aug must be 0 or 1 (got %d)", rc_aug);
    if (rc_avg & ~1) krait_cli_die(2, "train: --rc-avg must be 0 or 1 (got %d)", rc_avg);
    if (!(mutate >= 0 && mutate <= 0.5)) krait_cli_die(2, "train: --mutate must be a probability from 0 to 0.5");
    if (shift < 0 || shift > 100000) krait_cli_die(2, "train: --shift must be 0 to 100000 bases");
    if (ensemble < 1 || ensemble > DNA_MAX_MEMBERS) krait_cli_die(2, "train: --ensemble must be 1 to %d", DNA_MAX_MEMBERS);
    if (jobs < 1 || jobs > DNA_MAX_MEMBERS) krait_cli_die(2, "train: --jobs must be 1 to %d", DNA_MAX_MEMBERS);
    if (jobs > 1 && ensemble < 2) krait_cli_die(2, "train: --jobs trains the members of an ensemble at once: give --ensemble N too");
    if (jobs > ensemble) jobs = ensemble;
    if (jobs > 1 && (!strcmp(c.device, "cuda") ||
                     (!strcmp(c.device, "auto") && krait_cuda_compiled() && krait_cuda_device_count() > 0)))
        krait_cli_die(2, "train: --jobs trains members in CPU processes (--device cpu); on a GPU they train one "
                         "after another (drop --jobs)");
    if (best && !valid.n) krait_cli_die(2, "train: --keep-best needs --valid (the rows that choose the best model)");
    if (best_by && !best) krait_cli_die(2, "train: --best-by chooses --keep-best's model: give --keep-best too");
    int by = 0; /* index in best_by_names */
    const int n_by = (int)(sizeof best_by_names / sizeof best_by_names[0]);
    while (best_by && by < n_by && strcmp(best_by, best_by_names[by])) by++;
    if (by == n_by) krait_cli_die(2, "train: --best-by %s: want accuracy, mcc, auroc or nll", best_by);
    krait_config cfg;
    krait_train_config tc;
    dna_inputs_open(&in);
    dna_warn_unused_genome(&in, &train, &valid);
    krait_dna_set tr, va;
    krait_dna_set_init(&tr);
    krait_dna_set_init(&va);
    dna_load_sources(&tr, &train, &in, "--train");
    dna_load_sources(&va, &valid, &in, "--valid");
    krait_dna_classes cl;
    krait_status s = classes ? krait_dna_classes_parse(&cl, classes) : krait_dna_classes_from_set(&cl, &tr, train.items[0]);
    if (!s) s = krait_dna_set_map(&tr, &cl, 1, train.items[0]);
    if (!s && valid.n) s = krait_dna_set_map(&va, &cl, 1, valid.items[0]);
    if (s) dna_die_status(s);
    if (by == 2 && cl.n != 2) krait_cli_die(2, "train: --best-by auroc needs 2 classes (there are %d)", cl.n);
    const char *cpath = dna_train_config(&cfg, &tc, &a, &c, "classify", cl.n, classes ? "--classes" : train.items[0]);
    /* the longest row, or the crop: --max-len, else train.seq_len when the config gives it */
    const int cap = max_len > 0 ? max_len : tc.seq_len_set ? tc.seq_len : (int)tr.max_len;
    tc.seq_len = (size_t)cap < tr.max_len ? cap : (int)tr.max_len;
    dna_warn_shared(&train, "--train", &valid, "--valid"); /* before the run (and --check), not after it */
    int rc = 0;
    if (check) { /* everything a run would refuse before its first step, without a step or a file */
        krait_backend *be = krait_cli_backend(&c, "f32");
        krait_model *m = krait_run_model(&cfg, &tc, be, a.init, "--max-len");
        printf("train: --check: %zu training rows, %zu validation rows, classes %s; %s: %.2fM parameters, rows of up "
               "to %d bases; nothing trained or written\n", tr.n, va.n, krait_dna_classes_list(&cl, (char[256]){ 0 }, 256), cpath,
               m->n_params / 1e6, tc.seq_len);
        if (c.json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "n_train", (double)tr.n);
            cJSON_AddNumberToObject(o, "n_valid", (double)va.n);
            cJSON_AddItemToObject(o, "classes", cJSON_CreateStringArray((const char *const *)cl.names, cl.n));
            cJSON_AddNumberToObject(o, "params", (double)m->n_params);
            cJSON_AddNumberToObject(o, "max_len", tc.seq_len);
            krait_cli_print_json(o);
        }
        krait_model_free(m);
        krait_backend_destroy(be);
        goto done;
    }
    const char *out = a.out;
    krait_run_clear_out(); /* --overwrite: the old run goes now that the data and config are read */
    save_classes(out, &cl, a.resume);

    cls_src src = { &tr, rc_aug, mutate, shift };
    krait_data_source ds = { .ctx = &src, .next_batch = cls_batch };
    train_ctx t = { &va, &cl, rc_avg, (long long)tr.n, NULL, best_by_names[by], -1, -1, "", dna_set_fingerprint(&tr, 1) };
    snprintf(t.augment, sizeof t.augment, "--rc-aug %d --mutate %g --shift %d", rc_aug, mutate, shift);
    members mb = { &cfg, tc, a, &c, &ds, &t, cpath, tr.n, best, ensemble };
    for (int k = 1; k <= ensemble && ensemble > 1; k++) { /* every member's folder first: a bad one fails now */
        char *dir = dna_member_dir(out, k);
        if (!dir) krait_cli_die(1, "out of memory");
        if (a.resume && !krait_run_has(dir, "checkpoints") && krait_run_has(dir, "model.safetensors"))
            krait_cli_die(2, "train: --resume %s: %s holds a model but no checkpoint to continue (it would be trained "
                             "over); move it away to train that member anew", a.resume, dir);
        save_classes(dir, &cl, a.resume);
        free(dir);
    }
    krait_model *ms[DNA_MAX_MEMBERS] = { 0 };
    krait_backend *be = NULL;
    int stopped = 0; /* --stop-at ended a member: no ensemble figures yet */
    if (jobs > 1) {
        rc = train_members_forked(&mb, jobs, &stopped);
        /* the ensemble's figures need the members, on the cores the members had between them */
        const int cores = usable_cores();
        if (c.threads && !c.threads_from_env) c.threads = c.threads * jobs < cores ? c.threads * jobs : cores;
        if (!rc && !stopped && va.n) be = krait_cli_backend(&c, "f32");
        for (int k = 0; k < ensemble && be; k++) {
            char *dir = dna_member_dir(out, k + 1);
            s = dir ? KRAIT_STATUS_OK : KRAIT_STATUS_NO_MEMORY;
            if (dir) ms[k] = krait_model_load(dir, be, &s);
            free(dir);
            if (s) dna_die_status(s);
        }
    } else {
        be = krait_cli_backend(&c, "f32");
        for (int k = 0; k < ensemble && !rc; k++) {
            int member_stopped = 0; /* --stop-at: each member stops at that step */
            rc = train_member(&mb, k, ensemble, be, &ms[k], &member_stopped);
            stopped |= member_stopped;
        }
    }
    if (!rc && !stopped && ensemble > 1) ensemble_summary(&t, ms, ensemble, out, c.json);
    for (int k = 0; k < DNA_MAX_MEMBERS; k++) krait_model_free(ms[k]);
    free(t.best_dir);
    krait_backend_destroy(be);
done:
    krait_dna_classes_free(&cl);
    krait_dna_set_free(&tr);
    krait_dna_set_free(&va);
    dna_inputs_close(&in);
    return rc;
}
