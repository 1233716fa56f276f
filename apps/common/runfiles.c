/* apps/common/runfiles.c — checkpoints and metrics.jsonl in a run folder; see runfiles.h. */
#include "runfiles.h"
#include "trainopts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "checkpoint.h"
#include "cli.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "model_io.h"
#include "plot.h"
#include "runfolder.h"

#define METRICS "metrics.jsonl"

const char *krait_run_default_out(const char *resume_dir)
{
    if (!resume_dir) return NULL;
    return krait_run_has(resume_dir, "checkpoints") || krait_run_has(resume_dir, "member-1") ? resume_dir : NULL;
}

/* Keep the lines of path (atomically) whose step is <= last; *val_at_last = 1 when one of them is a validation line of
 * step last (a run resumed where it validated must not log that validation twice). */
static krait_status cut_metrics(const char *path, int last, int *val_at_last)
{
    *val_at_last = 0;
    if (!krait_fs_is_file(path)) return KRAIT_STATUS_OK;
    krait_status s;
    char *text = krait_fs_read_text(path, (size_t)1 << 30, &s);
    if (!text) return s;
    size_t n = 0;
    for (char *line = text, *next; *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : line + strlen(line);
        int step;
        if (sscanf(line, "{\"step\": %d", &step) == 1 && step <= last && nl) {
            *nl = 0;
            if (step == last && strstr(line, "\"val_")) *val_at_last = 1;
            *nl = '\n';
            memmove(text + n, line, (size_t)(next - line));
            n += (size_t)(next - line);
        }
    }
    s = krait_fs_write_atomic(path, text, n);
    free(text);
    return s;
}

/* A run resumed into a new folder starts there with the source run's history, which
 * krait_run_files_open then cuts at the checkpoint's step: metrics.jsonl and curves.svg show the
 * whole run, as in a run resumed in place. The source run is the --resume folder, or the one
 * whose checkpoints/ holds the --resume checkpoint. Nothing when out has a history already. */
static void carry_history(const char *resume, const char *out)
{
    char *want = krait_fs_join(out, METRICS), *ck = realpath(resume, NULL), *from = NULL;
    if (!want || krait_fs_is_file(want) || !ck) goto done;
    from = krait_fs_join(ck, METRICS);
    char *slash = strrchr(ck, '/');
    if (from && !krait_fs_is_file(from) && slash && slash > ck) { /* RUN/checkpoints/step-N */
        *slash = 0;
        char *up = strrchr(ck, '/');
        if (up && !strcmp(up + 1, "checkpoints")) {
            *up = 0;
            free(from);
            from = krait_fs_join(ck, METRICS);
        }
    }
    if (from && krait_fs_is_file(from) && !krait_fs_same(from, want)) {
        krait_status s;
        size_t n = 0;
        char *text = krait_fs_read_file(from, (size_t)1 << 30, &n, &s);
        if (text && krait_fs_write_atomic(want, text, n) == KRAIT_STATUS_OK)
            fprintf(stderr, "%s: %s starts with the history of %s up to the checkpoint\n", krait_cli_prog(), want, from);
        free(text);
    }
done:
    free(want), free(ck), free(from);
}

void krait_run_files_open(krait_run_files *rf, const char *out, int keep, const char *resume, int resumed_step)
{
    memset(rf, 0, sizeof *rf);
    rf->out = out;
    rf->keep = keep;
    /* a run resumed into another folder (or from an older checkpoint) writes its end there even
     * when no step is left to train */
    rf->saved_step = resumed_step >= 0 && out && krait_checkpoint_latest_step(out) == resumed_step ? resumed_step : -1;
    rf->val_logged_step = -1;
    if (!out) return;
    krait_status s = krait_fs_mkdirs(out);
    if (s) exit(krait_cli_exit_code(s));
    if (resumed_step >= 0 && resume) carry_history(resume, out);
    char *path = krait_fs_join(out, METRICS);
    if (!path) krait_cli_die(1, "out of memory");
    int val = 0;
    if ((s = cut_metrics(path, resumed_step, &val))) exit(krait_cli_exit_code(s));
    if (val) rf->val_logged_step = resumed_step;
    rf->metrics = fopen(path, "a");
    if (!rf->metrics) krait_cli_die(krait_cli_errno_exit(errno), "%s: cannot open for writing (%s)", path, strerror(errno));
    free(path);
}

void krait_run_files_flush(krait_run_files *rf)
{
    if (rf->metrics && (fflush(rf->metrics) != 0 || ferror(rf->metrics)))
        krait_cli_die(1, "%s/%s: write failed (%s): the run stops here; its last checkpoint continues it", rf->out,
                      METRICS, strerror(errno));
}

/* ", key: value": JSON has no NaN or infinity, so such a value is null */
static void put_num(FILE *f, const char *key, double v, int digits)
{
    if (isfinite(v)) fprintf(f, ", \"%s\": %.*g", key, digits, v);
    else fprintf(f, ", \"%s\": null", key);
}

void krait_run_files_step(krait_run_files *rf, const krait_step_info *i)
{
    if (!rf->metrics) return;
    fprintf(rf->metrics, "{\"step\": %d", i->step);
    put_num(rf->metrics, "loss", i->loss, 17);
    put_num(rf->metrics, "lr", i->lr, 9);
    put_num(rf->metrics, "grad_norm", i->grad_norm, 9);
    fprintf(rf->metrics, ", \"tokens\": %lld, \"elapsed_s\": %.3f}\n", i->tokens, i->elapsed_s);
    krait_run_files_flush(rf);
}

void krait_run_files_val(krait_run_files *rf, const krait_trainer *t, int n, const char *const *names,
                         const double *values)
{
    if (!rf->metrics) return;
    fprintf(rf->metrics, "{\"step\": %d", t->opt->step);
    for (int k = 0; k < n; k++) put_num(rf->metrics, names[k], values[k], 17);
    fprintf(rf->metrics, ", \"tokens\": %lld, \"elapsed_s\": %.3f}\n", t->tokens, t->elapsed_s);
    krait_run_files_flush(rf);
}

const char *const krait_model_companions[] = { "tokenizer.json", "audio.json", "classes.txt", NULL };

krait_status krait_run_files_checkpoint(krait_run_files *rf, const krait_trainer *t,
                                        const krait_data_source *ds, char *(*app_state)(void *user),
                                        void *user, krait_progress *prog)
{
    if (!rf->out || t->opt->step == rf->saved_step) return KRAIT_STATUS_OK;
    char *app = app_state ? app_state(user) : NULL;
    if (app_state && !app) return KRAIT_STATUS_NO_MEMORY;
    krait_run_files_flush(rf);
    krait_status s = krait_checkpoint_save(t, ds, app, rf->out, rf->keep, krait_model_companions);
    free(app);
    if (s) return s;
    rf->saved_step = t->opt->step;
    if (prog) krait_progress_line(prog, 1, "step %d: checkpoint written to %s", t->opt->step, rf->out);
    return KRAIT_STATUS_OK;
}

krait_status krait_run_files_resume(krait_trainer *t, krait_data_source *ds, const char *dir,
                                    krait_status (*restore)(void *user, const char *app_state, const char *dir),
                                    void *user)
{
    char *app = NULL;
    krait_status s;
    char *ck = krait_checkpoint_find(dir, &s);
    if (!ck) return s;
    s = krait_checkpoint_resume(t, ds, &app, ck);
    if (!s && restore) s = restore(user, app, dir);
    if (!s) KRAIT_INFO("resumed from %s (step %d)", ck, t->opt->step); /* after the app's own checks */
    free(app);
    free(ck);
    return s;
}

void krait_run_files_close(krait_run_files *rf)
{
    if (rf->metrics) fclose(rf->metrics);
    rf->metrics = NULL;
}

void krait_run_files_curves(const char *out, const char *title, const char *xlabel, const char *ylabel,
                            const char *val_key, const char *val_name)
{
    char *mpath = krait_fs_join(out, METRICS), *spath = krait_fs_join(out, "curves.svg");
    krait_status s;
    char *text = mpath ? krait_fs_read_text(mpath, (size_t)1 << 30, &s) : NULL;
    if (!text || !spath) goto done;
    size_t cap = 1024, nt = 0, nv = 0;
    double *tx = malloc(cap * sizeof *tx), *ty = malloc(cap * sizeof *ty);
    double *vx = malloc(cap * sizeof *vx), *vy = malloc(cap * sizeof *vy);
    for (char *line = strtok(text, "\n"); line && tx && ty && vx && vy; line = strtok(NULL, "\n")) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "step");
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "loss"), *vl = cJSON_GetObjectItemCaseSensitive(o, val_key);
        if (cJSON_IsNumber(st) && (cJSON_IsNumber(l) || cJSON_IsNumber(vl))) {
            if (nt == cap || nv == cap) {
                double *g[4] = { tx, ty, vx, vy }; /* grown together; on failure the old blocks stay owned */
                int grown = 1;
                for (int k = 0; k < 4; k++) {
                    double *p = realloc(g[k], 2 * cap * sizeof *p);
                    if (p) g[k] = p;
                    else grown = 0;
                }
                tx = g[0], ty = g[1], vx = g[2], vy = g[3];
                if (!grown) { /* draw what was read */
                    cJSON_Delete(o);
                    break;
                }
                cap *= 2;
            }
            if (cJSON_IsNumber(l)) tx[nt] = st->valuedouble, ty[nt++] = l->valuedouble;
            else vx[nv] = st->valuedouble, vy[nv++] = vl->valuedouble;
        }
        cJSON_Delete(o);
    }
    if (tx && ty && vx && vy) {
        /* average the train loss over buckets of k steps: at most ~400 points */
        size_t k = nt / 400 + 1, m = 0;
        for (size_t i = 0; i < nt; i += k) {
            double sx = 0, sy = 0;
            size_t j = i;
            for (; j < nt && j < i + k; j++) sx += tx[j], sy += ty[j];
            tx[m] = sx / (double)(j - i), ty[m++] = sy / (double)(j - i);
        }
        krait_plot p = { .title = title, .xlabel = xlabel, .ylabel = ylabel };
        char tname[64];
        snprintf(tname, sizeof tname, k > 1 ? "train loss (mean of %zu steps)" : "train loss", k);
        krait_plot_series se[2] = { { tname, tx, ty, (int)m, 0 }, { val_name, vx, vy, (int)nv, 1 } };
        krait_plot_svg(spath, &p, se, 2);
    }
    free(tx), free(ty), free(vx), free(vy);
done:
    free(text);
    free(mpath);
    free(spath);
}

krait_model *krait_run_model(const krait_config *cfg, const krait_train_config *tc, krait_backend *be,
                             const char *init, const char *len_opt)
{
    if (!strcmp(cfg->head, "classify") && cfg->n_classes < 2)
        krait_cli_die(2, "a classifier needs its class count (\"krait.classes\" >= 2)");
    krait_cli_check_train_memory(cfg, be, tc, len_opt);
    krait_model *m = krait_model_init(cfg, be);
    if (!m) krait_cli_die(1, "cannot create the model");
    krait_rng rng;
    krait_rng_init_stream(&rng, tc->seed, 0);
    if (krait_model_init_weights(m, &rng)) krait_cli_die(1, "cannot initialise the model");
    if (!init) return m;
    krait_status s;
    krait_model *src = krait_model_load(init, be, &s);
    if (!src) exit(krait_cli_exit_code(s));
    int n = 0;
    if ((s = krait_model_copy_matching(m, src, init, &n))) exit(krait_cli_exit_code(s));
    if (!n) krait_cli_die(2, "--init %s: no tensor of that model matches this config by name and shape", init);
    const char *from = src->cfg.modality, *to = cfg->modality;
    char note[80] = "";
    if (from[0] && to[0] && strcmp(from, to))
        snprintf(note, sizeof note, "; note: it was trained on %s, this model is for %s", from, to);
    fprintf(stderr, "%s: --init %s: %d of %d tensors copied (the rest start fresh)%s\n", krait_cli_prog(), init, n,
            m->n_tensors, note);
    krait_model_free(src);
    return m;
}

static void on_step(void *user, const krait_step_info *i)
{
    krait_run *r = user;
    krait_run_files_step(&r->rf, i);
    r->step_line(r, i);
}

static krait_status on_checkpoint(void *user, krait_trainer *t);

static krait_status on_eval(void *user, krait_trainer *t)
{
    krait_run *r = user;
    if (!r->validate || r->last_val_step == t->opt->step) return KRAIT_STATUS_OK;
    double t0 = krait_now();
    FILE *metrics = r->rf.metrics;
    if (r->rf.val_logged_step == t->opt->step) r->rf.metrics = NULL; /* logged before the resume */
    const char *fault = getenv("KRAIT_FAULT_VALIDATE_STEP"); /* tests: this step's validation fails */
    krait_status s;
    if (fault && atoi(fault) == t->opt->step) {
        KRAIT_ERROR("step %d: validation failed (KRAIT_FAULT_VALIDATE_STEP)", t->opt->step);
        s = KRAIT_STATUS_BAD_INPUT;
    } else {
        s = r->validate(r);
    }
    r->rf.metrics = metrics;
    if (s) {
        /* the training so far is sound (a test file that became unreadable, say): keep it, so
         * that the run goes on from here once the problem is fixed */
        if (s != KRAIT_STATUS_INTERRUPTED && r->rf.out && !on_checkpoint(r, t))
            fprintf(stderr, "%s: the validation at step %d failed (above); checkpoint in %s: --resume %s continues "
                            "once that is fixed\n", krait_cli_prog(), t->opt->step, r->rf.out,
                    r->o->run_dir ? r->o->run_dir : r->rf.out);
        return s;
    }
    r->eval_s += krait_now() - t0;
    r->last_val_step = t->opt->step;
    if (r->curves && r->rf.metrics) r->curves(r);
    return KRAIT_STATUS_OK;
}

static krait_status on_checkpoint(void *user, krait_trainer *t)
{
    krait_run *r = user;
    return krait_run_files_checkpoint(&r->rf, t, r->ds, r->app_state, r->user, &r->prog);
}

static int stop_requested(void *user)
{
    krait_run *r = user;
    return krait_cli_stop_requested() || (r->o->stop_at > 0 && r->t->opt->step >= r->o->stop_at);
}

void krait_run_check_resumed(const char *resume, int step, int steps, int stop_at)
{
    if (steps > 0 && step > steps) /* (at the budget's end: the final validation and save, again) */
        krait_cli_die(2, "--resume %s: the checkpoint is at step %d, past the run's budget of %d step%s (--steps, or "
                      "the config's train.steps): nothing to train (a budget counts every step of the run: give more)",
                      resume, step, steps, steps == 1 ? "" : "s");
    if (stop_at > 0 && step >= stop_at)
        krait_cli_die(2, "--stop-at %d: the checkpoint of --resume %s is at step %d already (give a later step)",
                      stop_at, resume, step);
}

int krait_run_start(krait_run *r, krait_model *m, const krait_train_config *tc)
{
    r->t = krait_trainer_init(m, tc);
    if (!r->t) exit(1); /* the library said why on stderr */
    r->last_val_step = -1;
    krait_progress_init(&r->prog, 10);
    krait_cli_catch_signals();
    int resumed = -1;
    if (r->o->resume) {
        krait_status s = krait_run_files_resume(r->t, r->ds, r->o->resume, r->check_state, r->user);
        if (s) return krait_cli_exit_code(s);
        resumed = r->t->opt->step;
        /* an ensemble's member already at --stop-at is done, the next one goes on: not refused */
        krait_run_check_resumed(r->o->resume, resumed, tc->steps, r->o->run_dir ? -1 : r->o->stop_at);
    }
    krait_run_clear_out(); /* --overwrite: the old run goes once this one is ready to start */
    if (resumed >= 0 && r->o->out && krait_fs_within(r->o->resume, r->o->out)) { /* this folder's own run, every check passed */
        krait_status s = krait_checkpoint_restore_top(r->o->out, resumed);
        if (s) return krait_cli_exit_code(s);
    }
    krait_run_files_open(&r->rf, r->o->out, tc->keep_ckpts, r->o->resume, resumed);
    krait_train_warn_warmup(tc, r->o->cmd);
    return 0;
}

int krait_run_train(krait_run *r)
{
    krait_train_hooks hooks = { .user = r, .on_step = on_step, .on_eval = on_eval, .on_checkpoint = on_checkpoint,
                                .stop_requested = stop_requested };
    r->t0 = krait_now();
    /* resumed from a step whose validation is not in metrics.jsonl (it failed, and that step was
     * checkpointed so the run could go on): that validation first, as the straight run had it */
    const int step0 = r->t->opt->step, every = r->t->tc.eval_every;
    krait_status s = KRAIT_STATUS_OK;
    if (r->o->resume && step0 > 0 && every > 0 && step0 % every == 0 && r->rf.val_logged_step != step0)
        s = on_eval(r, r->t);
    if (!s) s = krait_trainer_run(r->t, r->ds, &hooks);
    r->finished = s == KRAIT_STATUS_OK;
    if (r->finished && !(s = on_eval(r, r->t))) s = on_checkpoint(r, r->t); /* the end of the run */
    /* the curves of a finished run without validation, and of a stopped one (on_eval drew the others) */
    if ((s == KRAIT_STATUS_OK || s == KRAIT_STATUS_INTERRUPTED) && !(r->finished && r->validate) && r->curves &&
        r->rf.metrics)
        r->curves(r);
    krait_progress_done(&r->prog);
    krait_run_files_close(&r->rf);
    if (s && s != KRAIT_STATUS_INTERRUPTED) return krait_cli_exit_code(s);
    if (krait_cli_stop_requested()) {
        fprintf(stderr, "%s: interrupted at step %d; checkpoint in %s (continue: the same command with --resume %s)\n",
                krait_cli_prog(), r->t->opt->step, r->o->out, r->o->run_dir ? r->o->run_dir : r->o->out);
        return 130;
    }
    return 0;
}

void krait_run_say_stopped(int step, const char *out, const char *resume_dir)
{
    printf("stopped at step %d; checkpoint in %s (continue: the same command without --stop-at, or with a "
           "later one, and --resume %s)\n", step, out, resume_dir ? resume_dir : out);
}

void krait_run_free(krait_run *r)
{
    krait_run_files_close(&r->rf);
    krait_trainer_free(r->t);
    r->t = NULL;
}

uint64_t krait_run_fingerprint(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = krait_fnv1a(h, b[i]);
    return h;
}

void krait_run_state_add_fingerprint(cJSON *o, uint64_t h)
{
    char fp[24];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)h);
    cJSON_AddStringToObject(o, "data_train_fingerprint", fp);
}

int krait_run_state_same_fingerprint(const cJSON *o, uint64_t h)
{
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(o, "data_train_fingerprint");
    if (!fp) return 1;
    char want[24];
    snprintf(want, sizeof want, "%016llx", (unsigned long long)h);
    return cJSON_IsString(fp) && !strcmp(fp->valuestring, want);
}
