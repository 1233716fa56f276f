/* apps/bench/synthetic.c — `krait-bench synthetic`: the Mamba paper's synthetic tasks.
 *
 * Trains a small Mamba (default 2 layers, d_model 64, vocab 16) on freshly generated batches,
 * checks accuracy on fresh sequences every --check-every steps and stops early once it holds
 * the target, then reports accuracy at the training length and at --eval-len. Evaluation runs
 * in chunks with the recurrent state carried (core/evaluate.c), so --eval-len 1048576 needs no
 * more memory than the training length does.
 *
 * With --out DIR the run writes checkpoints (every --ckpt-every steps, on Ctrl-C, at the end)
 * and metrics.jsonl; --resume DIR continues a run exactly (with --minutes 0 the schedule is
 * by steps alone and a resumed run repeats the losses of an uninterrupted one bit for bit). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench.h"
#include "checkpoint.h"
#include "cli.h"
#include "fsutil.h"
#include "evaluate.h"
#include "log.h"
#include "model.h"
#include "runfiles.h"
#include "runfolder.h"
#include "synthetic.h"
#include "train.h"
#include "trainopts.h"

typedef struct synth_opts {
    int task;
    long train_len, eval_len;
    int n_data, vocab;
} synth_opts;

static krait_status synth_batch(void *ctx, int32_t *ids, int32_t *targets, int B, int L, krait_rng *rng)
{
    const synth_opts *o = ctx;
    krait_synth s;
    krait_status st = krait_synth_init(&s, o->task, o->vocab, L, o->n_data, B, rng);
    if (st) return st;
    krait_synth_fill(&s, ids, targets, 0, L);
    krait_synth_free(&s);
    return KRAIT_STATUS_OK;
}

/* 1 during the evaluations after training, which Ctrl-C stops (the checks during training end
 * with the trainer's own stop, and its checkpoint) */
static int final_eval;

static krait_status synth_stream(void *ctx, int32_t *ids, int32_t *targets, int B, long t0, int len)
{
    if (final_eval && krait_cli_stop_requested()) return KRAIT_STATUS_INTERRUPTED;
    krait_synth *s = ctx;
    (void)B;
    krait_synth_fill(s, ids, targets, t0, len);
    return KRAIT_STATUS_OK;
}

typedef struct eval_progress {
    krait_progress *p;
    const char *what;
    int done, b, n;        /* the sequences being scored: done+1 .. done+b of n */
} eval_progress;

static void on_eval_progress(void *user, long done, long total)
{
    eval_progress *e = user;
    krait_progress_line(e->p, 0, "%s: sequences %d-%d of %d, position %ld/%ld", e->what, e->done + 1,
                        e->done + e->b, e->n, done, total);
}

/* Accuracy over n_seqs fresh sequences of length len, B at a time, streamed in chunks. */
static krait_status accuracy(const krait_model *m, const synth_opts *o, long len, int n_seqs, int chunk,
                             krait_rng *rng, krait_progress *prog, const char *what, double *acc)
{
    int B = n_seqs < 32 ? n_seqs : 32;
    long long correct = 0, scored = 0;
    eval_progress ep = { prog, what, 0, 0, n_seqs };
    for (int done = 0; done < n_seqs; done += B) {
        int b = n_seqs - done < B ? n_seqs - done : B;
        ep.done = done, ep.b = b;
        krait_synth s;
        krait_status st = krait_synth_init(&s, o->task, o->vocab, len, o->n_data, b, rng);
        if (st) return st;
        krait_eval_result r;
        st = krait_eval_stream(m, b, len, chunk, synth_stream, &s, &r, prog ? on_eval_progress : NULL, &ep);
        krait_synth_free(&s);
        if (st) return st;
        correct += r.n_correct;
        scored += r.n_scored;
    }
    *acc = scored ? (double)correct / scored : 0;
    return KRAIT_STATUS_OK;
}

typedef struct train_ctx {
    const krait_model *m;
    const synth_opts *o;
    krait_progress *prog;
    double target, last_acc;
    int hits, stop;
    int settle;            /* steps trained on after the target is held, the rate annealed */
    int settle_from;       /* the step the target was first held twice; -1 before */
    int check_every;
    double last_loss;
    krait_trainer *t;
    krait_data_source *ds;
    krait_run_files *rf;
    int stop_at;
} train_ctx;

/* After the target is held: `settle` more steps, the first two thirds at the full rate (length
 * extrapolation is still improving then), the last third annealed (cosine) to 1/100 of it; then
 * stop. A function of the step alone, so a resumed run continues it exactly. */
static void set_settle_rate(train_ctx *c, krait_trainer *t)
{
    if (c->settle_from < 0) return;
    int k = t->opt->step - c->settle_from, flat = c->settle - c->settle / 3;
    if (k >= c->settle) {
        c->stop = 1;
        return;
    }
    t->lr_scale = k < flat ? 1.0 : 0.01 + 0.99 * 0.5 * (1.0 + cos(M_PI * (k - flat) / (c->settle - flat)));
}

static void on_step(void *user, const krait_step_info *i)
{
    train_ctx *c = user;
    char eta[32];
    c->last_loss = i->loss;
    set_settle_rate(c, c->t);
    krait_run_files_step(c->rf, i);
    krait_progress_line(c->prog, 0, "step %d loss %.4f acc %.3f lr %.2e %.0f tok/s elapsed %.0fs ETA %s", i->step,
                        i->loss, c->last_acc, i->lr, i->tokens_per_s, i->elapsed_s,
                        krait_fmt_duration(i->eta_s, eta));
}

static krait_status on_check(void *user, krait_trainer *t)
{
    train_ctx *c = user;
    double acc = 0;
    krait_status s = accuracy(c->m, c->o, c->o->train_len, 128, (int)c->o->train_len, &t->eval_rng, NULL, "", &acc);
    if (s) return s;
    c->last_acc = acc;
    static const char *const names[] = { "check_acc" }; /* in metrics.jsonl beside the losses */
    krait_run_files_val(c->rf, t, 1, names, &acc);
    c->hits = acc >= c->target ? c->hits + 1 : 0;
    if (c->hits >= 2 && c->settle_from < 0) {
        c->settle_from = t->opt->step;
        if (c->settle > 0)
            krait_progress_line(c->prog, 1, "step %d: target held; %d more steps, the last third with the rate annealed",
                                t->opt->step, c->settle);
    }
    set_settle_rate(c, t);
    krait_progress_line(c->prog, 1, "step %d loss %.4f check accuracy %.4f (train length %ld)",
                        t->opt->step, c->last_loss, acc, c->o->train_len);
    return KRAIT_STATUS_OK;
}

/* What the run needs back on resume besides the trainer: the task (checked) and the counters
 * of the early stop. */
static char *app_state(void *user)
{
    const train_ctx *c = user;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "task", c->o->task);
    cJSON_AddNumberToObject(o, "train_len", (double)c->o->train_len);
    cJSON_AddNumberToObject(o, "vocab", c->o->vocab);
    cJSON_AddNumberToObject(o, "n_data", c->o->n_data);
    cJSON_AddNumberToObject(o, "hits", c->hits);
    cJSON_AddNumberToObject(o, "last_acc", c->last_acc);
    cJSON_AddNumberToObject(o, "settle_from", c->settle_from);
    char *j = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return j;
}

static krait_status restore_app_state(void *user, const char *json, const char *dir)
{
    train_ctx *c = user;
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    const char *keys[] = { "task", "train_len", "vocab", "n_data" };
    const double want[] = { c->o->task, (double)c->o->train_len, c->o->vocab, c->o->n_data };
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
        if (!cJSON_IsNumber(v) || v->valuedouble != want[i]) {
            KRAIT_ERROR("--resume %s: the checkpoint's %s differs from this run's (use the same options)",
                        dir, keys[i]);
            cJSON_Delete(o);
            return KRAIT_STATUS_BAD_INPUT;
        }
    }
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "hits"), *a = cJSON_GetObjectItemCaseSensitive(o, "last_acc");
    if (cJSON_IsNumber(h)) c->hits = (int)h->valuedouble;
    if (cJSON_IsNumber(a)) c->last_acc = a->valuedouble;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "settle_from");
    if (cJSON_IsNumber(f)) c->settle_from = (int)f->valuedouble;
    cJSON_Delete(o);
    return KRAIT_STATUS_OK;
}

static krait_status on_checkpoint(void *user, krait_trainer *t)
{
    train_ctx *c = user;
    return krait_run_files_checkpoint(c->rf, t, c->ds, app_state, c, c->prog);
}

static int stop_requested(void *user)
{
    train_ctx *c = user;
    return c->stop || krait_cli_stop_requested() || (c->stop_at > 0 && c->t->opt->step >= c->stop_at);
}

int bench_synthetic(int argc, char **argv)
{
    const char *task = NULL;
    int train_len = -1, eval_len = -1, d_model = 64, layers = 2, vocab = 16, n_data = -1;
    int batch = 16, steps = 20000, check_every = 250, eval_seqs = 128, chunk = 4096;
    double minutes = 7.5, lr = -1, target = -1, wd = -1, min_lr = -1, dt_min = 1e-3, dt_max = 1e-1;
    int warmup = 200, settle = -1;
    const char *out = NULL, *resume = NULL;
    int overwrite = 0, sweep = 0;
    int ckpt_every = 0, keep = 3, stop_at = -1; /* -1: not given */
    krait_opt opts[] = {
        { "--task", OPT_STR, &task, "T", "induction | selective-copy" },
        { "--train-len", OPT_INT, &train_len, "N", "training sequence length (default 256 induction, 128 copy)" },
        { "--eval-len", OPT_INT, &eval_len, "N", "evaluation length (default 65536 induction, train-len copy)" },
        { "--minutes", OPT_DOUBLE, &minutes, "M", "training time budget (default 7.5; 0 = by --steps only, reproducible)" },
        { "--steps", OPT_INT, &steps, "N", "at most this many steps (default 20000; 0: no step limit, --minutes only)" },
        { "--batch", OPT_INT, &batch, "N", "sequences per step (default 16)" },
        { "--lr", OPT_DOUBLE, &lr, "LR", "peak learning rate (default 2e-3 induction, 3e-3 copy)" },
        { "--weight-decay", OPT_DOUBLE, &wd, "W", "AdamW weight decay (default 0 induction, 0.1 copy)" },
        { "--min-lr", OPT_DOUBLE, &min_lr, "LR", "final learning rate (default: = lr, constant, induction; lr/100 copy)" },
        { "--warmup", OPT_INT, &warmup, "N", "linear warm-up steps (default 200)" },
        { "--dt-min", OPT_DOUBLE, &dt_min, "DT", "initial step sizes are drawn from [dt-min, dt-max] (default 1e-3)" },
        { "--dt-max", OPT_DOUBLE, &dt_max, "DT", "(default 0.1)" },
        { "--d-model", OPT_INT, &d_model, "D", "model width (default 64)" },
        { "--layers", OPT_INT, &layers, "NL", "layers (default 2)" },
        { "--vocab", OPT_INT, &vocab, "V", "vocabulary (default 16)" },
        { "--n-data", OPT_INT, &n_data, "N", "selective copy: tokens to copy (default 16)" },
        { "--target", OPT_DOUBLE, &target, "A", "two checks at this accuracy end the constant-rate phase (default 0.995)" },
        { "--check-every", OPT_INT, &check_every, "N", "steps between accuracy checks (default 250)" },
        { "--eval-seqs", OPT_INT, &eval_seqs, "N", "sequences per final evaluation at --eval-len (default 128; at the training length at least 256)" },
        { "--chunk", OPT_INT, &chunk, "N", "evaluation chunk length (default 4096)" },
        { "--sweep", OPT_FLAG, &sweep, NULL, "also the accuracy of 64 sequences at 2, 8, 32, ... x train-len below eval-len" },
        { "--out", OPT_STR, &out, "DIR", "run folder: checkpoints, latest model, metrics.jsonl" },
        { "--ckpt-every", OPT_INT, &ckpt_every, "N", "checkpoint every N steps (default 0: on stop and at the end)" },
        { "--keep", OPT_INT, &keep, "K", "checkpoints kept (default 3; 0 keeps all)" },
        { "--settle", OPT_INT, &settle, "N", "steps after the target is held; the last third anneals the rate to 1/100 (default 3600 induction, 0 copy)" },
        { "--resume", OPT_STR, &resume, "DIR", "continue the run saved in DIR (a run folder or a checkpoint)" },
        { "--overwrite", OPT_FLAG, &overwrite, NULL, "start over in an --out folder that holds a run (its checkpoints are deleted)" },
        { "--stop-at", OPT_INT, &stop_at, "N", "stop with a checkpoint after step N (the schedule is unchanged)" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-bench synthetic --task induction|selective-copy [--train-len N] [--eval-len N] [--minutes M]");
    if (!task) krait_cli_die(2, "synthetic: --task is required (induction or selective-copy)");
    int t = krait_synth_task_from_name(task);
    if (t < 0) krait_cli_die(2, "synthetic: unknown task '%s' (induction or selective-copy)", task);
    /* Task defaults (README "krait-bench synthetic" says why): induction trains at the paper's
     * length 256 with a constant rate and no weight decay until two checks hold the target, then
     * settles for 3600 steps, the last 1200 with the rate annealed — weight decay blurs the step-size selection
     * that length extrapolation needs, and extrapolation is still poor right after the task is
     * learnt. Selective copying is the paper's task scaled from length 4096 to 128 to fit the
     * budget and stops when the target is held. */
    int induction = t == KRAIT_SYNTH_INDUCTION;
    if (induction && n_data >= 0)
        krait_cli_die(2, "synthetic: --n-data is selective copy's (the tokens to copy); induction heads has none");
    if (n_data < 0) n_data = 16;
    if (train_len == 0 || eval_len == 0 || lr == 0)
        krait_cli_die(2, "synthetic: --train-len, --eval-len and --lr must be > 0");
    if (train_len < 0) train_len = induction ? 256 : 128;
    if (lr < 0) lr = induction ? 2e-3 : 3e-3;
    if (wd < 0) wd = induction ? 0.0 : 0.1;
    if (min_lr < 0) min_lr = induction ? lr : lr / 100;
    if (min_lr > lr) krait_cli_die(2, "synthetic: --min-lr %g is above the learning rate %g (the schedule would climb)", min_lr, lr);
    if (target < 0) target = 0.995;
    if (target > 1) krait_cli_die(2, "synthetic: --target %g: an accuracy, at most 1", target);
    if (settle < 0) settle = induction ? 3600 : 0;
    if (eval_len < 0) eval_len = induction ? 65536 : train_len;
    const char *bad = train_len < 4 ? "--train-len must be >= 4" : vocab < 4 ? "--vocab must be >= 4"
                    : batch < 1 ? "--batch must be >= 1" : d_model < 1 ? "--d-model must be >= 1"
                    : layers < 1 ? "--layers must be >= 1" : eval_seqs < 1 ? "--eval-seqs must be >= 1"
                    : chunk < 1 ? "--chunk must be >= 1" : check_every < 1 ? "--check-every must be >= 1" : NULL;
    if (bad) krait_cli_die(2, "synthetic: %s", bad);
    if (!(dt_min > 0 && dt_min <= dt_max))
        krait_cli_die(2, "synthetic: --dt-min %g and --dt-max %g: the step-size range needs 0 < --dt-min <= --dt-max",
                      dt_min, dt_max);
    if (layers > 100000) krait_cli_die(2, "synthetic: --layers %d: at most 100000", layers);
    if (d_model > 65536) krait_cli_die(2, "synthetic: --d-model %d: at most 65536", d_model);
    /* both lengths must make a task now, not after the training (the library says why) */
    const long lens[2] = { train_len, eval_len };
    for (int k = 0; k < 2; k++) {
        krait_synth probe;
        krait_rng prng;
        krait_rng_init(&prng, 1);
        if (krait_synth_init(&probe, t, vocab, lens[k], n_data, 1, &prng)) exit(2);
        krait_synth_free(&probe);
    }
    if (steps == 0 && minutes == 0) krait_cli_die(2, "synthetic: --steps 0 and --minutes 0 leave no training budget");
    if (!out) out = krait_run_default_out(resume);
    if (out) {
        krait_run_refuse_inside(out, 0); /* no run inside another's folder */
        krait_run_claim_out(out, overwrite, resume, "synthetic");
    }
    if (stop_at == 0) krait_cli_die(2, "synthetic: --stop-at must be > 0");
    if (stop_at > 0 && !out) krait_cli_die(2, "synthetic: --stop-at needs --out (where the checkpoint goes)");
    synth_opts so = { t, train_len, eval_len, n_data, vocab };

    krait_config cfg;
    krait_config_default(&cfg);
    cfg.d_model = d_model;
    cfg.n_layer = layers;
    cfg.vocab_size_raw = vocab;
    cfg.dt_min = (float)dt_min;
    cfg.dt_max = (float)dt_max;
    strcpy(cfg.modality, "synthetic");
    if (krait_config_finalize(&cfg, "synthetic")) return 2;
    krait_train_config tc;
    krait_train_default(&tc);
    tc.batch = batch;
    tc.seq_len = train_len;
    tc.steps = steps;
    tc.minutes = minutes;
    tc.lr = (float)lr;
    tc.warmup = warmup;
    tc.min_lr = (float)min_lr;
    tc.weight_decay = (float)wd;
    tc.seed = c.seed;
    tc.eval_every = check_every;
    tc.ckpt_every = ckpt_every;
    tc.keep_ckpts = keep;
    krait_train_warn_warmup(&tc, "synthetic");

    krait_backend *be = krait_cli_backend(&c, "f32");
    krait_cli_check_train_memory(&cfg, be, &tc, "--train-len");
    krait_model *m = krait_model_init(&cfg, be);
    if (!m) krait_cli_die(1, "cannot create the model");
    krait_rng rng;
    krait_rng_init_stream(&rng, c.seed, 0);
    { /* the evaluations after training (accuracy(): 32 sequences at train_len, up to 32 at
       * eval_len, a chunk at a time): refused now, not after the training */
        const int rows = eval_seqs < 32 ? eval_seqs : 32;
        const size_t at_train = krait_acts_bytes(m, 32, chunk < train_len ? chunk : train_len, 0),
                     at_eval = krait_acts_bytes(m, rows, chunk < eval_len ? chunk : eval_len, 0);
        char what[96];
        snprintf(what, sizeof what, "evaluating %d sequences at once in chunks of %d", at_eval >= at_train ? rows : 32,
                 chunk);
        krait_cli_check_memory(be, at_eval > at_train ? at_eval : at_train, what, "lower --chunk");
    }
    krait_status s = krait_model_init_weights(m, &rng);
    krait_trainer *tr = s ? NULL : krait_trainer_init(m, &tc);
    if (!tr) krait_cli_die(1, "cannot set up training");
    krait_progress prog;
    krait_progress_init(&prog, 50);
    krait_cli_catch_signals();
    krait_data_source ds = { .ctx = &so, .next_batch = synth_batch };
    krait_run_files rf = { 0 };
    train_ctx tctx = { .m = m, .o = &so, .prog = &prog, .target = target, .check_every = check_every,
                       .t = tr, .ds = &ds, .rf = &rf, .stop_at = stop_at,
                       .settle = settle, .settle_from = -1 };
    int resumed_step = -1, rc = 0;
    if (resume) {
        if ((s = krait_run_files_resume(tr, &ds, resume, restore_app_state, &tctx))) {
            rc = krait_cli_exit_code(s);
            goto done;
        }
        resumed_step = tr->opt->step;
        krait_run_check_resumed(resume, resumed_step, steps, stop_at);
        set_settle_rate(&tctx, tr);
    }
    krait_run_clear_out();
    if (resume && out && krait_fs_within(resume, out) && (s = krait_checkpoint_restore_top(out, resumed_step))) {
        rc = krait_cli_exit_code(s);
        goto done;
    }
    krait_run_files_open(&rf, out, keep, resume, resumed_step);
    krait_train_hooks hooks = { .user = &tctx, .on_step = on_step, .on_eval = on_check,
                                .on_checkpoint = on_checkpoint, .stop_requested = stop_requested };
    fprintf(stderr, "krait-bench: %s, %d layers, d_model %d, vocab %d, %.0fk params; batch %d x %d, lr %g, "
                    "%s\n",
            task, layers, d_model, vocab, m->n_params / 1e3, batch, train_len, lr, krait_train_budget((char[64]){ 0 }, 64, minutes, steps));
    double t0 = krait_now();
    s = krait_trainer_run(tr, &ds, &hooks);
    if (s == KRAIT_STATUS_OK) s = on_checkpoint(&tctx, tr); /* the end of the run */
    krait_progress_done(&prog);
    krait_run_files_close(&rf);
    if (s && s != KRAIT_STATUS_INTERRUPTED) {
        rc = krait_cli_exit_code(s);
        goto done;
    }
    if (krait_cli_stop_requested()) {
        fprintf(stderr, "krait-bench: interrupted at step %d%s%s\n", tr->opt->step, out ? "; checkpoint in " : "",
                out ? out : "");
        rc = 130;
        goto done;
    }
    if (stop_at > 0 && tr->opt->step >= stop_at && !tctx.stop) {
        krait_run_say_stopped(tr->opt->step, out, NULL);
        if (c.json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "task", task);
            cJSON_AddNumberToObject(o, "train_len", (double)train_len);
            cJSON_AddNumberToObject(o, "eval_len", (double)eval_len);
            cJSON_AddNullToObject(o, "train_acc"); /* not evaluated: the run stopped to be resumed */
            cJSON_AddNullToObject(o, "eval_acc");
            cJSON_AddNumberToObject(o, "seconds", krait_now() - t0);
            cJSON_AddNumberToObject(o, "stopped_at", tr->opt->step);
            cJSON_AddStringToObject(o, "out", out);
            krait_cli_print_json(o);
        }
        goto done;
    }
    double train_s = tr->elapsed_s; /* over every process of the run, as steps_done (a resumed run included) */
    int steps_done = tr->opt->step;

    krait_rng erng;
    krait_rng_init_stream(&erng, c.seed, 11);
    double train_acc = 0, eval_acc = 0;
    s = KRAIT_STATUS_OK;
    final_eval = 1;
    long sweep_len[32];
    double sweep_acc[32];
    int n_sweep = 0;
    if (sweep) { /* accuracy against length, between the two lengths (64 sequences each) */
        for (long len = 2L * train_len; len < eval_len && n_sweep < 32; len *= 4) {
            double a = 0;
            if ((s = accuracy(m, &so, len, 64, chunk, &erng, NULL, "", &a))) break;
            fprintf(stderr, "krait-bench: sweep length %ld accuracy %.4f\n", len, a);
            sweep_len[n_sweep] = len, sweep_acc[n_sweep++] = a;
        }
    }
    if (s || (s = accuracy(m, &so, train_len, eval_seqs < 256 ? 256 : eval_seqs, chunk, &erng, &prog,
                           "eval train-len", &train_acc)) ||
        (s = accuracy(m, &so, eval_len, eval_seqs, chunk, &erng, &prog, "eval eval-len", &eval_acc))) {
        if (s == KRAIT_STATUS_INTERRUPTED) /* as a stop during training says it */
            fprintf(stderr, "\nkrait-bench: interrupted at step %d, during the evaluation after training%s%s\n",
                    steps_done, out ? "; checkpoint in " : "", out ? out : "");
        rc = krait_cli_exit_code(s);
        goto done;
    }
    krait_progress_done(&prog);
    double seconds = krait_now() - t0;
    printf("task %s: %d steps in %.0fs of training; train_acc %.4f at length %d; eval_acc %.4f at length %d; %.0fs in this "
           "process\n",
           task, steps_done, train_s, train_acc, train_len, eval_acc, eval_len, seconds);
    for (int k = 0; k < n_sweep; k++) printf("  sweep: eval_acc %.4f at length %ld (64 sequences)\n", sweep_acc[k], sweep_len[k]);
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "task", task);
        cJSON_AddNumberToObject(o, "train_len", train_len);
        cJSON_AddNumberToObject(o, "eval_len", eval_len);
        cJSON_AddNumberToObject(o, "train_acc", train_acc);
        cJSON_AddNumberToObject(o, "eval_acc", eval_acc);
        cJSON_AddNumberToObject(o, "seconds", seconds);
        cJSON_AddNumberToObject(o, "train_seconds", train_s);
        cJSON_AddNumberToObject(o, "steps", steps_done);
        cJSON_AddNumberToObject(o, "eval_seqs", eval_seqs); /* at eval_len */
        cJSON_AddNumberToObject(o, "train_acc_seqs", eval_seqs < 256 ? 256 : eval_seqs);
        if (t == KRAIT_SYNTH_SELECTIVE_COPY) cJSON_AddNumberToObject(o, "n_data", n_data);
        if (sweep) {
            cJSON *sw = cJSON_AddArrayToObject(o, "sweep");
            for (int k = 0; k < n_sweep; k++) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddNumberToObject(e, "len", (double)sweep_len[k]);
                cJSON_AddNumberToObject(e, "acc", sweep_acc[k]);
                cJSON_AddItemToArray(sw, e);
            }
        }
        krait_cli_print_json(o);
    }
done:
    krait_run_files_close(&rf);
    krait_trainer_free(tr);
    krait_model_free(m);
    krait_backend_destroy(be);
    return rc;
}
