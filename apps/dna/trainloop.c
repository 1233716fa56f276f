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

const char *dna_train_config(krait_config *cfg, krait_train_config *tc, const krait_train_opts *a,
                             const krait_common *c, const char *want_head, int n_classes, const char *data)
{
    const char *cpath = krait_train_opts_load(a, cfg, tc);
    krait_train_opts_apply(a, tc, c);
    if (strcmp(cfg->head, want_head) && a->config_from_init) /* the --init folder's own config */
        krait_cli_die(2, "%s: its \"head\" is \"%s\"; to train a \"%s\" model from it give --config with \"krait\": {\"head\": "
                      "\"%s\"} and its sizes (hidden_size %d, num_hidden_layers %d, state_size %d)", cpath, cfg->head,
                      want_head, want_head, cfg->d_model, cfg->n_layer, cfg->d_state);
    if (strcmp(cfg->head, want_head))
        krait_cli_die(2, "%s: this command trains \"krait\": {\"head\": \"%s\"} models (the config has \"%s\")", cpath,
                      want_head, cfg->head);
    if (cfg->vocab_size_raw < KRAIT_DNA_VOCAB)
        krait_cli_die(2, "%s: vocab_size %d is too small for DNA ids (A C G T N: set vocab_size >= %d)", cpath,
                      cfg->vocab_size_raw, KRAIT_DNA_VOCAB);
    krait_train_opts_modality(cfg, cpath, "dna");
    if (n_classes) krait_train_opts_classes(cfg, cpath, n_classes, data);
    strcpy(cfg->tokenizer, "dna");
    krait_status s = krait_config_finalize(cfg, cpath);
    if (s) exit(krait_cli_exit_code(s));
    return cpath;
}

/* k first: the run's callbacks get &k, and k.user is the command's own (for app_state) */
typedef struct loop_ctx {
    krait_run k;
    dna_run *r;
    double last_val;
} loop_ctx;

static void write_curves(krait_run *k)
{
    const dna_run *r = ((const loop_ctx *)k)->r;
    char title[300];
    snprintf(title, sizeof title, "krait-dna %s: %s", r->prog, k->o->out);
    krait_run_files_curves(k->o->out, title, "step", r->validate ? "loss (nats) / validation" : "loss (nats per base)",
                           r->val_key, r->val_name);
}

static void on_step(krait_run *k, const krait_step_info *i)
{
    const loop_ctx *c = (const loop_ctx *)k;
    char eta[32], tot[32] = "", val[48] = "";
    if (i->total_steps > 0) snprintf(tot, sizeof tot, "/%d", i->total_steps);
    if (c->r->validate) snprintf(val, sizeof val, isfinite(c->last_val) ? " val acc %.4f" : " val acc -", c->last_val);
    krait_progress_line(&k->prog, 0, "step %d%s loss %.4f%s lr %.2e %.0f bases/s elapsed %.0fs ETA %s", i->step, tot,
                        i->loss, val, i->lr, i->tokens_per_s, i->elapsed_s, krait_fmt_duration(i->eta_s, eta));
}

static krait_status on_eval(krait_run *k)
{
    loop_ctx *c = (loop_ctx *)k;
    const krait_trainer *t = k->t;
    double t0 = krait_now(), v = NAN;
    cJSON *o = cJSON_CreateObject();
    if (!o) return KRAIT_STATUS_NO_MEMORY;
    cJSON_AddNumberToObject(o, "step", t->opt->step);
    krait_status s = c->r->validate(c->r->user, t->model, &v, o);
    if (s) {
        cJSON_Delete(o);
        return s;
    }
    c->last_val = v;
    cJSON *line = k->rf.metrics ? cJSON_Duplicate(o, 1) : NULL; /* + the counters every trainer's line ends with */
    if (line) {
        cJSON_AddNumberToObject(line, "tokens", (double)t->tokens);
        cJSON_AddNumberToObject(line, "elapsed_s", round(t->elapsed_s * 1000) / 1000);
        char *j = cJSON_PrintUnformatted(line);
        if (j) fprintf(k->rf.metrics, "%s\n", j), krait_run_files_flush(&k->rf);
        free(j);
        cJSON_Delete(line);
    }
    cJSON_Delete(c->r->last_val);
    c->r->last_val = o;
    char more[96] = ""; /* the other figures --best-by may choose by */
    const cJSON *nll = cJSON_GetObjectItemCaseSensitive(o, "val_nll"), *auc = cJSON_GetObjectItemCaseSensitive(o, "val_auroc");
    if (cJSON_IsNumber(nll)) snprintf(more, sizeof more, ", log-loss %.4f", nll->valuedouble);
    if (cJSON_IsNumber(auc) && isfinite(auc->valuedouble))
        snprintf(more + strlen(more), sizeof more - strlen(more), ", AUROC %.4f", auc->valuedouble);
    krait_progress_line(&k->prog, 1, "step %d: %s %.4f%s (%.1fs)", t->opt->step, c->r->val_name, v, more, krait_now() - t0);
    return KRAIT_STATUS_OK;
}

int dna_train_run(dna_run *r, krait_model *m, const krait_train_config *tc, krait_data_source *ds,
                  const krait_train_opts *a, const krait_common *c)
{
    loop_ctx lc = { .k = { .ds = ds, .o = a, .user = r->user, .step_line = on_step, .curves = write_curves,
                           .validate = r->validate ? on_eval : NULL, .app_state = r->app_state,
                           .check_state = r->check_state },
                    .r = r, .last_val = NAN };
    int rc = krait_run_start(&lc.k, m, tc);
    if (!rc) rc = krait_run_train(&lc.k);
    r->stopped = !rc && !lc.k.finished; /* --stop-at: no end-of-run work, OUT keeps the last step's model */
    int replaced = 0;
    if (!rc && !r->stopped && r->finish) {
        krait_status s = r->finish(r->user, m, a->out, &replaced);
        if (s) rc = krait_cli_exit_code(s);
    }
    if (!rc && replaced && r->validate) { /* the summary speaks for the model in out */
        cJSON *o = cJSON_CreateObject();
        krait_status s = o ? r->validate(r->user, m, &lc.last_val, o) : KRAIT_STATUS_NO_MEMORY;
        if (s) {
            cJSON_Delete(o);
            rc = krait_cli_exit_code(s);
        } else {
            cJSON_Delete(r->last_val);
            r->last_val = o;
        }
    }
    if (rc) goto done;
    const krait_trainer *tr = lc.k.t;
    double secs = krait_now() - lc.k.t0;
    const int lm = !strcmp(m->cfg.head, "lm"); /* next-base loss: also in bits per base */
    if (r->stopped) {
        krait_run_say_stopped(tr->opt->step, a->out, a->run_dir);
    } else {
        printf("%s: %d steps (%lld bases) in %.0fs", r->prog, tr->opt->step, tr->tokens, secs);
        if (r->validate) printf(" (%.0fs validating)", lc.k.eval_s);
        printf(": train loss %.4f", tr->last_loss);
        if (lm) printf(" nats = %.4f bits per base (2: a uniform guess)", tr->last_loss / log(2.0));
        if (r->validate && isfinite(lc.last_val)) printf(", %s %.4f", r->val_name, lc.last_val);
        printf("; model in %s\n", a->out);
    }
    if (c->json) { /* a finished run's last validation keys too; a stopped one's step */
        cJSON *o = r->last_val && !r->stopped ? cJSON_Duplicate(r->last_val, 1) : cJSON_CreateObject();
        cJSON_DeleteItemFromObject(o, "step");
        cJSON_AddNumberToObject(o, "steps", tr->opt->step);
        cJSON_AddNumberToObject(o, "tokens", (double)tr->tokens);
        cJSON_AddNumberToObject(o, "train_loss", tr->last_loss);
        if (lm) cJSON_AddNumberToObject(o, "train_bits_per_base", tr->last_loss / log(2.0));
        cJSON_AddNumberToObject(o, "train_seconds", tr->elapsed_s);
        cJSON_AddNumberToObject(o, "seconds", secs);
        cJSON_AddStringToObject(o, "out", a->out);
        if (r->stopped) cJSON_AddNumberToObject(o, "stopped_at", tr->opt->step);
        krait_cli_print_json(o);
    }
done:
    krait_run_free(&lc.k);
    return rc;
}
