/* apps/dna/trainloop.c — the training run krait-dna pretrain and train share (see trainloop.h). */
#include "trainloop.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dna_seq.h"
#include "fsutil.h"
#include "log.h"
#include "model_io.h"
#include "plot.h"
#include "runfiles.h"

const char *dna_train_config(krait_config *cfg, krait_train_config *tc, dna_train_args *a, const char *want_head)
{
    if (a->batch == 0 || a->lr == 0) krait_cli_die(2, "--batch and --lr must be > 0");
    if (a->resume && !krait_fs_is_dir(a->resume))
        krait_cli_die(2, "%s: no such checkpoint or run folder (--resume)", a->resume);
    const char *cpath = krait_cli_config_path(a->config);
    krait_config_default(cfg);
    krait_train_default(tc);
    krait_status s = krait_config_load(cfg, tc, cpath);
    for (int i = 0; !s && i < a->sets.n; i++) s = krait_config_set(cfg, tc, a->sets.items[i]);
    if (s) exit(krait_cli_exit_code(s));
    if (a->batch > 0) tc->batch = a->batch;
    if (a->lr > 0) tc->lr = (float)a->lr;
    if (a->steps >= 0) tc->steps = a->steps, tc->minutes = a->minutes >= 0 ? a->minutes : 0;
    else if (a->minutes >= 0) tc->minutes = a->minutes, tc->steps = 0;
    if (a->eval_every >= 0) tc->eval_every = a->eval_every;
    else if (tc->eval_every <= 0) tc->eval_every = 200;
    if (a->ckpt_every >= 0) tc->ckpt_every = a->ckpt_every;
    tc->keep_ckpts = a->keep > 0 ? a->keep : 1;
    if (tc->steps <= 0 && tc->minutes <= 0) krait_cli_die(2, "give --steps N or --minutes M (or set them in the config)");
    if (strcmp(cfg->head, want_head))
        krait_cli_die(2, "%s: this command trains \"krait\": {\"head\": \"%s\"} models (the config has \"%s\")", cpath,
                      want_head, cfg->head);
    if (cfg->vocab_size_raw < KRAIT_DNA_VOCAB)
        krait_cli_die(2, "%s: vocab_size %d is too small for DNA ids (A C G T N: set vocab_size >= %d)", cpath,
                      cfg->vocab_size_raw, KRAIT_DNA_VOCAB);
    strcpy(cfg->modality, "dna");
    strcpy(cfg->tokenizer, "dna");
    if ((s = krait_config_finalize(cfg, cpath))) exit(krait_cli_exit_code(s));
    return cpath;
}

krait_model *dna_train_model(const krait_config *cfg, const krait_train_config *tc, krait_backend *be,
                             const char *init)
{
    krait_model *m = krait_model_init(cfg, be);
    if (!m) krait_cli_die(1, "cannot create the model");
    krait_rng rng;
    krait_rng_init_stream(&rng, tc->seed, 0);
    krait_status s = krait_model_init_weights(m, &rng);
    if (s) krait_cli_die(1, "cannot initialise the model");
    if (init) {
        krait_model *src = krait_model_load(init, be, &s);
        if (!src) exit(krait_cli_exit_code(s));
        int n = 0;
        if ((s = krait_model_copy_matching(m, src, &n))) exit(krait_cli_exit_code(s));
        krait_model_free(src);
        if (!n) krait_cli_die(2, "--init %s: no tensor of that model matches this config by name and shape", init);
        fprintf(stderr, "%s: --init %s: %d of %d tensors copied (the rest start fresh)\n", krait_cli_prog(), init, n,
                m->n_tensors);
    }
    return m;
}

typedef struct loop_ctx {
    dna_run *r;
    krait_trainer *t;
    krait_data_source *ds;
    krait_run_files *rf;
    krait_progress *prog;
    const char *out;
    double last_val, eval_s;
    int last_val_step;
    /* the curves: train loss per step, validation per evaluation */
    double *lx, *ly, *vx, *vy;
    size_t nl, nv, cap_l, cap_v;
} loop_ctx;

static void push(double **x, double **y, size_t *n, size_t *cap, double a, double b)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 1024;
        double *nx = realloc(*x, c * sizeof *nx);
        if (nx) *x = nx;
        double *ny = nx ? realloc(*y, c * sizeof *ny) : NULL;
        if (!ny) return;
        *y = ny;
        *cap = c;
    }
    (*x)[*n] = a, (*y)[(*n)++] = b;
}

static void write_curves(const loop_ctx *c)
{
    char *path = krait_fs_join(c->out, "curves.svg");
    size_t k = c->nl / 400 + 1, m = 0; /* the train loss averaged over buckets of k steps */
    double *x = malloc((c->nl + 1) * sizeof *x), *y = malloc((c->nl + 1) * sizeof *y);
    if (path && x && y) {
        for (size_t i = 0; i < c->nl; i += k) {
            double sx = 0, sy = 0;
            size_t j = i;
            for (; j < c->nl && j < i + k; j++) sx += c->lx[j], sy += c->ly[j];
            x[m] = sx / (double)(j - i), y[m++] = sy / (double)(j - i);
        }
        char title[300];
        snprintf(title, sizeof title, "krait-dna %s: %s", c->r->prog, c->out);
        krait_plot p = { .title = title, .xlabel = "step", .ylabel = c->r->validate ? "loss (nats) / validation" : "loss (nats per base)" };
        krait_plot_series se[2] = { { "train loss", x, y, (int)m, 0 }, { c->r->val_name, c->vx, c->vy, (int)c->nv, 1 } };
        krait_plot_svg(path, &p, se, c->r->validate && c->nv ? 2 : 1);
    }
    free(x), free(y), free(path);
}

static void on_step(void *user, const krait_step_info *i)
{
    loop_ctx *c = user;
    char eta[32], tot[32] = "", val[48] = "";
    krait_run_files_step(c->rf, i);
    push(&c->lx, &c->ly, &c->nl, &c->cap_l, i->step, i->loss);
    if (i->total_steps > 0) snprintf(tot, sizeof tot, "/%d", i->total_steps);
    if (c->r->validate) snprintf(val, sizeof val, isfinite(c->last_val) ? " val %.4f" : " val -", c->last_val);
    krait_progress_line(c->prog, 0, "step %d%s loss %.4f%s lr %.2e %.0f bases/s elapsed %.0fs ETA %s", i->step, tot,
                        i->loss, val, i->lr, i->tokens_per_s, i->elapsed_s, krait_fmt_duration(i->eta_s, eta));
}

static krait_status on_eval(void *user, krait_trainer *t)
{
    loop_ctx *c = user;
    if (!c->r->validate || c->last_val_step == t->opt->step) return KRAIT_STATUS_OK;
    double t0 = krait_now(), v = NAN;
    cJSON *o = cJSON_CreateObject();
    if (!o) return KRAIT_STATUS_NO_MEMORY;
    cJSON_AddNumberToObject(o, "step", t->opt->step);
    krait_status s = c->r->validate(c->r->user, t->model, &v, o);
    if (s) {
        cJSON_Delete(o);
        return s;
    }
    c->eval_s += krait_now() - t0;
    c->last_val = v;
    c->last_val_step = t->opt->step;
    push(&c->vx, &c->vy, &c->nv, &c->cap_v, t->opt->step, v);
    if (c->rf->metrics) {
        char *j = cJSON_PrintUnformatted(o);
        if (j) fprintf(c->rf->metrics, "%s\n", j), fflush(c->rf->metrics);
        free(j);
        write_curves(c);
    }
    cJSON_Delete(c->r->last_val);
    c->r->last_val = o;
    krait_progress_line(c->prog, 1, "step %d: %s %.4f (%.1fs)", t->opt->step, c->r->val_name, v, krait_now() - t0);
    return KRAIT_STATUS_OK;
}

static krait_status on_checkpoint(void *user, krait_trainer *t)
{
    loop_ctx *c = user;
    return krait_run_files_checkpoint(c->rf, t, c->ds, c->r->app_state, c->r->user, c->prog);
}

static int stop_requested(void *user) { return krait_cli_stop_requested(); }

int dna_train_run(dna_run *r, krait_model *m, const krait_train_config *tc, krait_data_source *ds,
                  const dna_train_args *a, const krait_common *c)
{
    krait_trainer *tr = krait_trainer_init(m, tc);
    if (!tr) krait_cli_die(1, "cannot set up training (out of memory?)");
    krait_progress prog;
    krait_progress_init(&prog, 10);
    krait_cli_catch_signals();
    krait_run_files rf = { 0 };
    loop_ctx lc = { .r = r, .t = tr, .ds = ds, .rf = &rf, .prog = &prog, .out = a->out, .last_val = NAN,
                    .last_val_step = -1 };
    int resumed = -1, rc = 0;
    krait_status s;
    if (a->resume) {
        if ((s = krait_run_files_resume(tr, ds, a->resume, r->check_state, r->user))) {
            rc = krait_cli_exit_code(s);
            goto done;
        }
        resumed = tr->opt->step;
    }
    krait_run_files_open(&rf, a->out, a->keep, resumed);
    krait_train_hooks hooks = { .user = &lc, .on_step = on_step, .on_eval = on_eval, .on_checkpoint = on_checkpoint,
                                .stop_requested = stop_requested };
    double t0 = krait_now();
    s = krait_trainer_run(tr, ds, &hooks);
    int finished = s == KRAIT_STATUS_OK;
    if (finished && !(s = on_eval(&lc, tr))) s = on_checkpoint(&lc, tr);
    if (finished && !s) write_curves(&lc);
    krait_progress_done(&prog);
    if (s && s != KRAIT_STATUS_INTERRUPTED) {
        rc = krait_cli_exit_code(s);
        goto done;
    }
    if (krait_cli_stop_requested()) {
        fprintf(stderr, "%s: interrupted at step %d; checkpoint in %s (continue with --resume %s)\n", krait_cli_prog(),
                tr->opt->step, a->out, a->out);
        rc = 130;
        goto done;
    }
    double secs = krait_now() - t0;
    printf("%s: %d steps (%lld bases) in %.0fs", r->prog, tr->opt->step, tr->tokens, secs);
    if (r->validate) printf(" (%.0fs validating)", lc.eval_s);
    printf(": train loss %.4f", tr->last_loss);
    if (r->validate && isfinite(lc.last_val)) printf(", %s %.4f", r->val_name, lc.last_val);
    printf("; model in %s\n", a->out);
    if (c->json) {
        cJSON *o = r->last_val ? cJSON_Duplicate(r->last_val, 1) : cJSON_CreateObject();
        cJSON_DeleteItemFromObject(o, "step");
        cJSON_AddNumberToObject(o, "steps", tr->opt->step);
        cJSON_AddNumberToObject(o, "tokens", (double)tr->tokens);
        cJSON_AddNumberToObject(o, "train_loss", tr->last_loss);
        cJSON_AddNumberToObject(o, "train_seconds", tr->elapsed_s);
        cJSON_AddNumberToObject(o, "seconds", secs);
        cJSON_AddStringToObject(o, "out", a->out);
        char *j = cJSON_PrintUnformatted(o);
        printf("%s\n", j);
        free(j);
        cJSON_Delete(o);
    }
done:
    krait_run_files_close(&rf);
    krait_trainer_free(tr);
    free(lc.lx), free(lc.ly), free(lc.vx), free(lc.vy);
    return rc;
}
