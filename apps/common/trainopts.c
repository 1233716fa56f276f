/* apps/common/trainopts.c — the shared training options and their precedence; see trainopts.h.
 * The run folder they name is claimed by runfolder.c. */
#include "trainopts.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fsutil.h"
#include "log.h"
#include "optim.h"
#include "runfiles.h"
#include "runfolder.h"

/* Exit 2 when out has a '..' after a folder that does not exist yet: making out would make that
 * folder, and nothing would remove it (a refused command left it behind). */
static void refuse_dotdot_past_new(const char *out)
{
    size_t n = strlen(out);
    for (size_t i = 1; i < n; i++) {
        int starts = out[i - 1] == '/';
        if (!starts || strncmp(out + i, "..", 2) || (out[i + 2] && out[i + 2] != '/')) continue;
        char *before = strndup(out, i > 1 ? i - 1 : i); /* without its '/' */
        if (!before) krait_cli_die(1, "out of memory");
        if (!krait_fs_is_dir(before))
            krait_cli_die(2, "--out %s: '..' after %s, which does not exist; give the path without it", out, before);
        free(before);
    }
}

void krait_train_opts_check(krait_train_opts *o, const char *data_opt, int have_data)
{
    const char *cmd = o->cmd;
    static char init_config[4096];
    if (!o->config && o->init && !o->resume) { /* fine-tuning: the pretrained model's own config */
        snprintf(init_config, sizeof init_config, "%s/config.json", o->init);
        o->config = init_config, o->config_from_init = 1;
        if (o->steps < 0 && o->minutes < 0)
            krait_cli_die(2, "%s: give --steps N or --minutes M (fine-tuning %s with its own config.json, which sets "
                          "no training budget)", cmd, o->init);
    }
    if (!o->config || !have_data)
        krait_cli_die(2, "%s: --config (or --init MODEL_DIR to fine-tune) and %s are required", cmd, data_opt);
    if (o->resume && !krait_fs_is_dir(o->resume))
        krait_cli_die(2, "%s: no such checkpoint or run folder (--resume)", o->resume);
    if (o->resume && !krait_run_default_out(o->resume) && !krait_run_has(o->resume, "trainer_state.json"))
        krait_cli_die(2, "%s: no checkpoint to continue (--resume takes a run folder with checkpoints/, one "
                      "checkpoint, or an ensemble's folder)", o->resume);
    if (!o->out) o->out = krait_run_default_out(o->resume);
    if (!o->out) krait_cli_die(2, "%s: --out is required (the run folder)", cmd);
    const char *zero = o->batch == 0 ? "--batch" : o->seq_len == 0 ? "--seq-len" : o->lr == 0 ? "--lr"
                     : o->stop_at == 0 ? "--stop-at" : NULL;
    if (zero) krait_cli_die(2, "%s: %s must be > 0", cmd, zero);
    if (o->init && !krait_fs_is_dir(o->init)) krait_cli_die(2, "%s: no such model folder (--init)", o->init);
    refuse_dotdot_past_new(o->out);
    krait_run_refuse_inside(o->out, 0);
    krait_run_claim_out(o->out, o->overwrite, o->resume, o->cmd);
    if (krait_run_clearing() && o->init && !o->resume && krait_fs_within(o->init, o->out))
        krait_cli_die(2, "%s: --init %s lies in the run folder that --overwrite empties: copy it elsewhere first",
                      cmd, o->init);
    if (o->init && o->resume) {
        fprintf(stderr, "%s %s: --init %s not used: --resume continues from the checkpoint's weights\n",
                krait_cli_prog(), cmd, o->init);
        o->init = NULL;
    }
}

void krait_train_opts_modality(krait_config *cfg, const char *cpath, const char *want)
{
    if (cfg->modality[0] && strcmp(cfg->modality, want))
        krait_cli_die(2, "%s: \"krait\": {\"modality\": \"%s\"}, but %s trains %s models", cpath, cfg->modality,
                      krait_cli_prog(), want);
    snprintf(cfg->modality, sizeof cfg->modality, "%s", want);
}

void krait_train_opts_classes(krait_config *cfg, const char *cpath, int n, const char *data)
{
    if (cfg->n_classes && cfg->n_classes != n)
        krait_cli_die(2, "%s: \"n_classes\": %d, but %s has %d classes (the labels decide: drop the key, "
                      "or give a config that matches)", cpath, cfg->n_classes, data, n);
    cfg->n_classes = n;
}

void krait_train_opts_resume_classes(const char *resume, int n, const char *data)
{
    if (!resume) return;
    krait_status st;
    char *ck = krait_checkpoint_find(resume, &st);
    if (!ck) exit(krait_cli_exit_code(st));
    char *cp = krait_fs_join(ck, "config.json");
    if (!cp) krait_cli_die(1, "out of memory");
    krait_config rc;
    krait_train_config rt;
    krait_config_default(&rc);
    krait_train_default(&rt);
    if (krait_config_load(&rc, &rt, cp) == KRAIT_STATUS_OK && rc.n_classes && rc.n_classes != n)
        krait_cli_die(2, "--resume %s: the run was trained on %d classes, but the labels of %s give %d (label the data "
                      "as the run did)", resume, rc.n_classes, data, n);
    free(cp);
    free(ck);
}

const char *krait_train_opts_load(const krait_train_opts *o, krait_config *cfg, krait_train_config *tc)
{
    const char *cpath = krait_cli_config_path(o->config);
    krait_config_default(cfg);
    krait_train_default(tc);
    krait_status s = krait_config_load(cfg, tc, cpath);
    if (!s) s = krait_config_set_many(cfg, tc, (const char *const *)o->sets.items, o->sets.n);
    if (s) exit(krait_cli_exit_code(s));
    return cpath;
}

void krait_train_opts_apply(const krait_train_opts *o, krait_train_config *tc, const krait_common *c)
{
    if (o->batch > 0) tc->batch = o->batch;
    if (o->seq_len > 0) tc->seq_len = o->seq_len;
    if (o->lr > FLT_MAX) krait_cli_die(2, "%s: --lr %g is more than a float holds", o->cmd, o->lr);
    if (o->lr > 0 && o->lr < 1e-30) krait_cli_die(2, "%s: --lr %g is below the smallest krait takes (1e-30)", o->cmd, o->lr);
    if (o->lr > 0) tc->lr = (float)o->lr;
    if (o->warmup >= 0) tc->warmup = o->warmup;
    if (o->steps >= 0) tc->steps = o->steps, tc->minutes = o->minutes >= 0 ? o->minutes : 0;
    else if (o->minutes >= 0) tc->minutes = o->minutes, tc->steps = 0;
    if (o->eval_every >= 0) tc->eval_every = o->eval_every;
    else if (tc->eval_every <= 0) tc->eval_every = o->eval_default;
    if (o->ckpt_every >= 0) tc->ckpt_every = o->ckpt_every;
    if (c->seed_set) tc->seed = c->seed;
    if (o->keep >= 0) tc->keep_ckpts = o->keep;
    if (tc->min_lr > tc->lr) /* the cosine would climb from lr to min_lr */
        krait_cli_die(2, "%s: the learning rate %g is below train.min_lr %g, where its schedule ends; give a lower "
                      "min_lr (--set train.min_lr=%g) or a higher --lr", o->cmd, tc->lr, tc->min_lr, tc->lr / 10);
    if (tc->steps <= 0 && tc->minutes <= 0 && (o->steps == 0 || o->minutes == 0))
        krait_cli_die(2, "%s: --steps 0 / --minutes 0 leave no budget (either alone replaces the config's budget); "
                      "give --steps N >= 1 or --minutes M > 0", o->cmd);
    if (tc->steps <= 0 && tc->minutes <= 0)
        krait_cli_die(2, "%s: give --steps N or --minutes M (or set them in the config)", o->cmd);
}

void krait_train_warn_warmup(const krait_train_config *tc, const char *cmd)
{
    if (tc->steps <= 0 || tc->warmup < tc->steps) return; /* a short fine-tune of a preset made for long runs */
    double peak = 0; /* the schedule's highest rate over the run's steps (the cosine falls as the ramp climbs) */
    const int stride = tc->steps > 100000 ? tc->steps / 100000 : 1; /* a warning's figure: 1e5 looks at most */
    for (int s = 0; s < tc->steps; s += stride) {
        double r = krait_lr_at(tc, s, (double)s / tc->steps);
        if (r > peak) peak = r;
    }
    if (peak >= 0.995 * tc->lr) return; /* near enough the peak: nothing to warn of */
    KRAIT_WARN("%s: the warm-up (%d steps) is not shorter than the run (%d steps): the rate peaks at %.3g, not %g "
               "(give --warmup N)", cmd, tc->warmup, tc->steps, peak, tc->lr);
}

char *krait_train_budget(char *buf, size_t n, double minutes, int steps)
{
    if (minutes > 0 && steps > 0) snprintf(buf, n, "budget %g min or %d steps", minutes, steps);
    else if (minutes > 0) snprintf(buf, n, "budget %g min", minutes);
    else snprintf(buf, n, "budget %d steps", steps);
    return buf;
}
