/* tests/core/test_trainer_edges.c — the optimizer and trainer where test_train_steps' happy path
 * does not reach: two AdamW steps against the formula written out in double precision (the
 * second step is the first that depends on beta2; weight decay only on the tensors marked for
 * it); a non-finite gradient changes nothing; non-finite batches skipped ("skip") are counted
 * as seen tokens, a good step resets the count in a row, and the tenth in a row stops the run;
 * the throughput counts this run's tokens only; a time budget ends the run even before its step
 * budget; which tensors decay, by name (GEMM weights, convolution weights and embeddings; not
 * norms, biases, A_log or D); on_eval and on_checkpoint run exactly at the multiples of
 * eval_every and ckpt_every (the trainer adds no call at the last step: the apps do that). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer_testutil.h"
#include "model.h"
#include "optim.h"
#include "testutil.h"
#include "train.h"

/* g1 and g2 differ in size element by element, so the second step's second moment depends on
 * beta2; the expected weights follow decoupled AdamW in double precision. */
static void check_adamw(krait_backend *be, uint64_t seed)
{
    krait_model *m = it_tiny_model(be, 8, 1, 16, seed); /* width 8, one layer, 16 ids */
    krait_optim *o = krait_optim_init(m);
    krait_train_config tc;
    krait_train_default(&tc);
    tc.grad_clip = 0.0f;     /* off: the gradients go in as they are */
    tc.weight_decay = 5.0f;  /* lr * wd = 0.05: decay visible beside the Adam step */
    const double lr = 1e-2;
    size_t n = m->n_params;
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g);
    double *want = malloc(n * sizeof *want), *mom = calloc(n, sizeof *mom), *var = calloc(n, sizeof *var);
    char *decays = calloc(n, 1), *inside = calloc(n, 1); /* tensors are padded apart in the arena */
    int n_decay = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        memset(decays + m->tensors[i].offset, m->tensors[i].decay, m->tensors[i].numel);
        memset(inside + m->tensors[i].offset, 1, m->tensors[i].numel);
        n_decay += m->tensors[i].decay;
    }
    tu_check(n_decay > 0 && n_decay < m->n_tensors, "adamw: some tensors decay, some do not (%d of %d)", n_decay,
             m->n_tensors);
    be->download(be, p, m->params, n * sizeof *p);
    for (size_t i = 0; i < n; i++) want[i] = p[i];
    int ok = 1;
    for (int step = 1; step <= 2; step++) {
        for (size_t i = 0; i < n; i++)
            g[i] = !inside[i] ? 0.0f
                              : (float)(step == 1 ? 1.0 + (double)(i % 5) : 0.1 * (1.0 + (double)(i % 3)) * ((i & 1) ? -1 : 1));
        be->upload(be, o->grads, g, n * sizeof *g);
        ok &= krait_optim_step(m, o, &tc, lr, NULL) == KRAIT_STATUS_OK;
        const double b1 = tc.beta1, b2 = tc.beta2;
        for (size_t i = 0; i < n; i++) {
            mom[i] = b1 * mom[i] + (1 - b1) * g[i];
            var[i] = b2 * var[i] + (1 - b2) * (double)g[i] * g[i];
            double mhat = mom[i] / (1 - pow(b1, step)), vhat = var[i] / (1 - pow(b2, step));
            if (inside[i])
                want[i] = want[i] * (decays[i] ? 1 - lr * tc.weight_decay : 1) - lr * mhat / (sqrt(vhat) + tc.eps);
        }
    }
    be->download(be, p, m->params, n * sizeof *p);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(p[i] - want[i]) / (fabs(want[i]) + 1e-3));
    tu_check(ok && o->step == 2 && worst < 1e-5,
             "adamw: two steps (beta1 %.2f, beta2 %.2f, decay on marked tensors) match the formula (worst relative "
             "error %.3g)", tc.beta1, tc.beta2, worst);

    /* a gradient with one +inf: NUMERIC, and the weights, moments and step stay as they were */
    float *v0 = malloc(n * sizeof *v0), *v1 = malloc(n * sizeof *v1);
    be->download(be, v0, o->v, n * sizeof *v0);
    for (size_t i = 0; i < n; i++) g[i] = 0.5f;
    g[n / 2] = INFINITY;
    be->upload(be, o->grads, g, n * sizeof *g);
    double gn = 0;
    krait_status s = krait_optim_step(m, o, &tc, lr, &gn);
    float *p1 = malloc(n * sizeof *p1);
    be->download(be, p1, m->params, n * sizeof *p1);
    be->download(be, v1, o->v, n * sizeof *v1);
    tu_check(s == KRAIT_STATUS_NUMERIC && !isfinite(gn) && o->step == 2 && !memcmp(p, p1, n * sizeof *p) &&
                 !memcmp(v0, v1, n * sizeof *v0),
             "adamw: an infinite gradient returns NUMERIC and changes nothing (status %d, norm %g, step %d)", (int)s,
             gn, o->step);
    free(p1), free(v0), free(v1);
    free(p), free(g), free(want), free(mom), free(var), free(decays), free(inside);
    krait_optim_free(m, o);
    krait_model_free(m);
}

static krait_status ramp_batch(void *ctx, int32_t *ids, int32_t *tg, int B, int L, krait_rng *rng)
{
    (void)ctx;
    for (int i = 0; i < B * L; i++) {
        ids[i] = (int32_t)krait_rng_below(rng, 16);
        tg[i] = (ids[i] + 1) % 16;
    }
    return KRAIT_STATUS_OK;
}

static krait_trainer *trainer(krait_model *m, const char *on_nonfinite, int steps, double minutes)
{
    krait_train_config tc;
    krait_train_default(&tc);
    tc.batch = 2, tc.seq_len = 8, tc.steps = steps, tc.minutes = minutes, tc.warmup = 0;
    strcpy(tc.on_nonfinite, on_nonfinite);
    krait_trainer *t = krait_trainer_init(m, &tc);
    t->fault_step = 0; /* whatever the environment says */
    return t;
}

/* The trainer's fault hook makes the next step's loss NaN. */
static krait_status faulty_step(krait_trainer *t, krait_data_source *ds, krait_step_info *info)
{
    t->fault_step = t->opt->step + 1;
    return krait_trainer_step(t, ds, info);
}

static void check_skips(krait_backend *be, uint64_t seed)
{
    krait_data_source ds = { .next_batch = ramp_batch };
    krait_model *m = it_tiny_model(be, 8, 1, 16, seed);
    krait_trainer *t = trainer(m, "skip", 100, 0);
    const long long BL = 2 * 8;
    krait_step_info a, b, c;
    krait_status s = krait_trainer_step(t, &ds, &a);
    if (!s) s = faulty_step(t, &ds, &b);
    if (!s) s = krait_trainer_step(t, &ds, &c);
    tu_check(!s && !a.skipped && b.skipped && !c.skipped && t->opt->step == 2 && t->tokens == 3 * BL &&
                 c.tokens == 3 * BL,
             "skip: a NaN batch between two good ones is skipped, its tokens counted (%lld, want %lld), 2 steps",
             t->tokens, 3 * BL);

    /* twelve skips, never two in a row: the run goes on */
    int all_ok = 1;
    for (int i = 0; i < 24; i++) all_ok &= (i % 2 ? krait_trainer_step(t, &ds, &a) : faulty_step(t, &ds, &a)) == 0;
    tu_check(all_ok && t->skipped == 13 && t->skipped_in_row == 0 && t->opt->step == 14,
             "skip: 12 more skips, each after a good step, do not stop the run (skipped %lld, step %d)", t->skipped,
             t->opt->step);

    /* ten in a row: the first nine are skipped, the tenth stops */
    int skipped_ok = 1;
    for (int i = 0; i < KRAIT_MAX_SKIPS_IN_ROW - 1; i++)
        skipped_ok &= faulty_step(t, &ds, &a) == KRAIT_STATUS_OK && a.skipped;
    s = faulty_step(t, &ds, &a);
    tu_check(skipped_ok && s == KRAIT_STATUS_NUMERIC && t->opt->step == 14,
             "skip: %d non-finite batches in a row stop the run at the last (status %d)", KRAIT_MAX_SKIPS_IN_ROW,
             (int)s);
    krait_trainer_free(t);

    t = trainer(m, "stop", 100, 0);
    s = faulty_step(t, &ds, &a);
    tu_check(s == KRAIT_STATUS_NUMERIC && t->opt->step == 0 && t->tokens == 0, "stop: a NaN batch stops at once");
    krait_trainer_free(t);
    krait_model_free(m);
}

typedef struct seen {
    krait_step_info last;
    int calls;
} seen;

static void on_step(void *user, const krait_step_info *info)
{
    seen *w = user;
    w->last = *info;
    w->calls++;
}

static void check_budgets(krait_backend *be, uint64_t seed)
{
    krait_data_source ds = { .next_batch = ramp_batch };
    krait_model *m = it_tiny_model(be, 8, 1, 16, seed);

    /* a resumed run's earlier tokens and time are not this run's throughput */
    krait_trainer *t = trainer(m, "stop", 3, 0);
    t->tokens = 1000000000000LL;
    t->elapsed_s = 5.0;
    seen w = { 0 };
    krait_train_hooks h = { .user = &w, .on_step = on_step };
    krait_status s = krait_trainer_run(t, &ds, &h);
    double run_s = t->elapsed_s - 5.0, want = 3 * 2 * 8 / run_s;
    tu_check(!s && w.calls == 3 && fabs(w.last.tokens_per_s / want - 1) < 1e-9,
             "throughput over this run only: %.6g tokens/s (want %.6g)", w.last.tokens_per_s, want);
    krait_trainer_free(t);

    /* 1000 steps or a few nanoseconds, whichever comes first: the clock ends it after one step */
    t = trainer(m, "stop", 1000, 1e-10);
    memset(&w, 0, sizeof w);
    s = krait_trainer_run(t, &ds, &h);
    tu_check(!s && w.calls == 1 && w.last.progress == 1.0 && t->opt->step == 1,
             "a spent time budget ends the run before its steps (steps %d, progress %g)", t->opt->step,
             w.last.progress);
    krait_trainer_free(t);
    krait_model_free(m);
}

/* The decay mask, tensor by tensor, against the rule written out by name: every kind of tensor
 * the table can hold appears in one of three models (an untied LM with both kinds of bias, a
 * tied LM without, a classifier over feature vectors). */
static void check_decay_by_name(void)
{
    static const struct { const char *suffix; int decay; } rule[] = {
        { "backbone.embeddings.weight", 1 }, { "backbone.input_proj.weight", 1 }, { "backbone.input_proj.bias", 0 },
        { ".norm.weight", 0 },              { ".mixer.in_proj.weight", 1 },        { ".mixer.in_proj.bias", 0 },
        { ".mixer.conv1d.weight", 1 },      { ".mixer.conv1d.bias", 0 },           { ".mixer.x_proj.weight", 1 },
        { ".mixer.dt_proj.weight", 1 },     { ".mixer.dt_proj.bias", 0 },          { ".mixer.A_log", 0 },
        { ".mixer.D", 0 },                  { ".mixer.out_proj.weight", 1 },       { ".mixer.out_proj.bias", 0 },
        { "backbone.norm_f.weight", 0 },    { "lm_head.weight", 1 },               { "classifier.weight", 1 },
        { "classifier.bias", 0 },
    };
    enum { NRULE = sizeof rule / sizeof rule[0] };
    int covered[NRULE] = { 0 };
    for (int variant = 0; variant < 3; variant++) {
        krait_config c;
        krait_config_default(&c);
        c.d_model = 8, c.n_layer = 2, c.vocab_size_raw = 16;
        c.use_bias = c.use_conv_bias = variant == 0;
        c.tie_embeddings = variant != 0;
        if (variant == 2) {
            strcpy(c.head, "classify");
            c.n_classes = 3, c.input_dim = 5, c.vocab_size_raw = 0;
        }
        if (krait_config_finalize(&c, "test")) {
            tu_check(0, "decay: model variant %d configures", variant);
            continue;
        }
        krait_model *m = krait_model_init(&c, NULL); /* the tensor table only */
        for (int i = 0; m && i < m->n_tensors; i++) {
            const char *name = m->tensors[i].name;
            size_t len = strlen(name);
            int r = 0;
            while (r < NRULE && !(len >= strlen(rule[r].suffix) &&
                                  !strcmp(name + len - strlen(rule[r].suffix), rule[r].suffix)))
                r++;
            if (r == NRULE) {
                tu_check(0, "decay: tensor %s is not in the test's table", name);
                continue;
            }
            covered[r] = 1;
            tu_check(m->tensors[i].decay == rule[r].decay, "decay: %s %s (decay %d, want %d)", name,
                     rule[r].decay ? "decays" : "does not decay", m->tensors[i].decay, rule[r].decay);
        }
        tu_check(m != NULL, "decay: model variant %d builds its tensor table", variant);
        krait_model_free(m);
    }
    for (int r = 0; r < NRULE; r++) tu_check(covered[r], "decay: some model has a tensor %s", rule[r].suffix);
}

typedef struct cadence {
    int evals[16], n_evals;
    int ckpts[16], n_ckpts;
    int steps_seen;    /* on_step calls so far: each hook must follow its step's on_step */
    int in_order;
} cadence;

static void cadence_step(void *user, const krait_step_info *info)
{
    cadence *c = user;
    c->in_order &= info->step == ++c->steps_seen;
}

static krait_status cadence_eval(void *user, krait_trainer *t)
{
    cadence *c = user;
    c->in_order &= t->opt->step == c->steps_seen;
    if (c->n_evals < 16) c->evals[c->n_evals++] = t->opt->step;
    return KRAIT_STATUS_OK;
}

static krait_status cadence_ckpt(void *user, krait_trainer *t)
{
    cadence *c = user;
    c->in_order &= t->opt->step == c->steps_seen;
    if (c->n_ckpts < 16) c->ckpts[c->n_ckpts++] = t->opt->step;
    return KRAIT_STATUS_OK;
}

static int steps_are(const int *got, int n, const int *want, int n_want)
{
    return n == n_want && !memcmp(got, want, (size_t)n * sizeof *got);
}

static void list_steps(char *buf, size_t cap, const int *s, int n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < n && k + 12 < cap; i++) k += (size_t)snprintf(buf + k, cap - k, "%s%d", i ? " " : "", s[i]);
}

/* 10 steps, eval every 3, checkpoint every 4: evaluations after steps 3, 6, 9 and checkpoints
 * after 4 and 8, each after its step's on_step; 0 turns either off; every 1 is every step. */
static void check_cadence(krait_backend *be, uint64_t seed)
{
    krait_data_source ds = { .next_batch = ramp_batch };
    krait_model *m = it_tiny_model(be, 8, 1, 16, seed);
    static const struct { int eval_every, ckpt_every, n_eval, evals[10], n_ckpt, ckpts[10]; } cases[] = {
        { 3, 4, 3, { 3, 6, 9 }, 2, { 4, 8 } },
        { 5, 10, 2, { 5, 10 }, 1, { 10 } },     /* the last step is a multiple: called there */
        { 0, 0, 0, { 0 }, 0, { 0 } },           /* off */
        { 1, 11, 10, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 0, { 0 } },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        krait_trainer *t = trainer(m, "stop", 10, 0);
        t->tc.eval_every = cases[k].eval_every;
        t->tc.ckpt_every = cases[k].ckpt_every;
        cadence c = { .in_order = 1 };
        krait_train_hooks h = { .user = &c, .on_step = cadence_step, .on_eval = cadence_eval,
                                .on_checkpoint = cadence_ckpt };
        krait_status s = krait_trainer_run(t, &ds, &h);
        char ge[64], gc[64];
        list_steps(ge, sizeof ge, c.evals, c.n_evals);
        list_steps(gc, sizeof gc, c.ckpts, c.n_ckpts);
        tu_check(!s && c.steps_seen == 10, "cadence: 10 steps run (status %d, %d steps)", (int)s, c.steps_seen);
        tu_check(steps_are(c.evals, c.n_evals, cases[k].evals, cases[k].n_eval),
                 "cadence: eval_every %d over 10 steps evaluates after steps [%s] (want %d of them)",
                 cases[k].eval_every, ge, cases[k].n_eval);
        tu_check(steps_are(c.ckpts, c.n_ckpts, cases[k].ckpts, cases[k].n_ckpt),
                 "cadence: ckpt_every %d over 10 steps checkpoints after steps [%s] (want %d of them)",
                 cases[k].ckpt_every, gc, cases[k].n_ckpt);
        tu_check(c.in_order, "cadence: eval_every %d, ckpt_every %d: each hook runs after its step's on_step",
                 cases[k].eval_every, cases[k].ckpt_every);
        krait_trainer_free(t);
    }
    krait_model_free(m);
}

int main(void)
{
    uint64_t seed = tu_init("test_trainer_edges");
    krait_backend *be = krait_backend_cpu_ref_init();
    check_adamw(be, seed);
    check_skips(be, seed);
    check_budgets(be, seed);
    check_decay_by_name();
    check_cadence(be, seed);
    krait_backend_destroy(be);
    return tu_finish();
}
