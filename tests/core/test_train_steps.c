/* tests/core/test_train_steps.c — the trainer lowers the loss: a small model learns a
 * deterministic next-token rule (next = (3 * id + 1) mod V after a random start) in 60 steps on
 * the reference backend; the loss must fall below half its starting value. Also checks that two
 * runs from the same seed give bitwise-identical losses (deterministic seeding), and the learning
 * rate schedule: linear warm-up times cosine, continuous where the warm-up ends even when the
 * warm-up is half the run, exactly the cosine from the first step after it, min_lr at the end;
 * gradient clipping scales the gradient by grad_clip / norm; progress with both a step and a
 * time budget is the steps' share; progress outside [0, 1] is clamped (min_lr at and past the
 * end, also for steps taken past the step budget; lr before the start); dropout masks change
 * from step to step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "optim.h"
#include "testutil.h"
#include "train.h"

static krait_status rule_batch(void *ctx, int32_t *ids, int32_t *tg, int B, int L, krait_rng *rng)
{
    int V = *(int *)ctx;
    for (int b = 0; b < B; b++) {
        int32_t v = (int32_t)krait_rng_below(rng, (uint32_t)V);
        for (int t = 0; t < L; t++) {
            ids[b * L + t] = v;
            v = (3 * v + 1) % V;
            tg[b * L + t] = v;
        }
    }
    return KRAIT_STATUS_OK;
}

static krait_model *small_model(krait_backend *be, uint64_t seed)
{
    krait_config c;
    krait_config_default(&c);
    c.d_model = 16;
    c.n_layer = 2;
    c.vocab_size_raw = 16;
    krait_config_finalize(&c, "test");
    krait_model *m = krait_model_init(&c, be);
    krait_rng rng;
    krait_rng_init_stream(&rng, seed, 0);
    krait_model_init_weights(m, &rng);
    return m;
}

static void run(uint64_t seed, double *losses, int n, int total)
{
    krait_backend *be = krait_backend_cpu_ref_init();
    krait_model *m = small_model(be, seed);
    krait_train_config tc;
    krait_train_default(&tc);
    tc.batch = 4;
    tc.seq_len = 24;
    tc.steps = total;
    tc.lr = 1e-2f;
    tc.warmup = 5;
    tc.seed = seed;
    krait_trainer *t = krait_trainer_init(m, &tc);
    int V = 16;
    krait_data_source ds = { .ctx = &V, .next_batch = rule_batch };
    for (int i = 0; i < n; i++) {
        krait_step_info info;
        if (krait_trainer_step(t, &ds, &info)) {
            tu_check(0, "step %d failed", i);
            break;
        }
        losses[i] = info.loss;
    }
    krait_trainer_free(t);
    krait_model_free(m);
    krait_backend_destroy(be);
}

static void check_schedule(void)
{
    krait_train_config tc;
    krait_train_default(&tc);
    tc.lr = 1e-2f, tc.min_lr = 1e-4f, tc.warmup = 100;
    const int T = 200;
    double prev = 0, worst = 0;
    for (int s = 0; s < T; s++) {
        double lr = krait_lr_at(&tc, s, s / (double)T);
        if (s > 0 && s != tc.warmup) worst = fmax(worst, fabs(lr - prev)); /* the largest step-to-step move */
        if (s == tc.warmup)
            tu_check(fabs(lr - prev) <= 2 * worst, "no jump where the warm-up ends: %.3g -> %.3g (largest move "
                     "before: %.3g)", prev, lr, worst);
        prev = lr;
    }
    tu_check(fabs(krait_lr_at(&tc, 0, 0) / ((double)tc.lr / tc.warmup) - 1) < 1e-6, "warm-up starts at lr / warmup");
    const double p = tc.warmup / (double)T;
    const double cosine = tc.min_lr + 0.5 * ((double)tc.lr - tc.min_lr) * (1 + cos(M_PI * p));
    tu_check(fabs(krait_lr_at(&tc, tc.warmup, p) / cosine - 1) < 1e-6 &&
                 fabs(krait_lr_at(&tc, tc.warmup - 1, p) / cosine - 1) < 1e-6,
             "the last warm-up step and the first after it are the cosine itself (%.9g, %.9g, want %.9g)",
             krait_lr_at(&tc, tc.warmup - 1, p), krait_lr_at(&tc, tc.warmup, p), cosine);
    tu_check(fabs(krait_lr_at(&tc, T, 1.0) / tc.min_lr - 1) < 1e-6, "the run ends at min_lr");
    /* past the end the progress is clamped to 1 (cos(pi * 1.5) = 0 would give the midpoint) */
    tu_check(fabs(krait_lr_at(&tc, T + 100, 1.5) / tc.min_lr - 1) < 1e-6 &&
                 fabs(krait_lr_at(&tc, 10 * T, 10.0) / tc.min_lr - 1) < 1e-6,
             "past the end (progress 1.5, 10) the lr stays min_lr (%.9g, %.9g; want %.9g)",
             krait_lr_at(&tc, T + 100, 1.5), krait_lr_at(&tc, 10 * T, 10.0), (double)tc.min_lr);
    /* below 0 it is clamped to 0: the full lr (after the warm-up) */
    tu_check(fabs(krait_lr_at(&tc, tc.warmup, -0.5) / tc.lr - 1) < 1e-6,
             "a negative progress gives the full lr after the warm-up (%.9g, want %.9g)",
             krait_lr_at(&tc, tc.warmup, -0.5), (double)tc.lr);
}

/* A gradient of norm 4 with grad_clip 1: the norm is reported as 4 and AdamW's first moment
 * receives (1 - beta1) * g / 4 (the first step's update alone cannot show it: Adam divides the
 * scale out). */
static void check_clip(uint64_t seed)
{
    krait_backend *be = krait_backend_cpu_ref_init();
    krait_model *m = small_model(be, seed);
    krait_optim *o = krait_optim_init(m);
    krait_train_config tc;
    krait_train_default(&tc);
    tc.grad_clip = 1.0f;
    size_t n = m->n_params;
    float *g = malloc(n * sizeof *g), *mom = malloc(n * sizeof *mom);
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        g[i] = (float)((double)(i % 7) - 3.0);
        ss += (double)g[i] * g[i];
    }
    for (size_t i = 0; i < n; i++) g[i] = (float)(g[i] * 4.0 / sqrt(ss));
    be->upload(be, o->grads, g, n * sizeof *g);
    double gn = 0;
    tu_check(krait_optim_step(m, o, &tc, 1e-3, &gn) == KRAIT_STATUS_OK && fabs(gn / 4 - 1) < 1e-5,
             "clip: the norm before clipping is reported (%.7g, want 4)", gn);
    be->download(be, mom, o->m, n * sizeof *mom);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double want = (1 - tc.beta1) * g[i] / 4.0;
        worst = fmax(worst, fabs(mom[i] - want) / (fabs(want) + 1e-12));
    }
    tu_check(worst < 1e-4, "clip: the first moment holds (1 - beta1) g / 4 (worst relative error %.3g)", worst);
    free(g);
    free(mom);
    krait_optim_free(m, o);
    krait_model_free(m);
    krait_backend_destroy(be);
}

/* Every step sees the same batch */
static krait_status same_batch(void *ctx, int32_t *ids, int32_t *tg, int B, int L, krait_rng *rng)
{
    (void)ctx, (void)rng;
    for (int i = 0; i < B * L; i++) ids[i] = i % 16, tg[i] = (3 * (i % 16) + 1) % 16;
    return KRAIT_STATUS_OK;
}

/* Both a step budget and a (far) time budget: progress is the steps' share, and the lr follows
 * it. With lr 0 and one fixed batch only dropout can move the loss: the masks must differ from
 * step to step (drawn from the seed and the step), and without dropout the losses must not. */
static void check_progress_and_dropout(uint64_t seed)
{
    krait_backend *be = krait_backend_cpu_ref_init();
    for (int drop = 0; drop < 2; drop++) {
        krait_model *m = small_model(be, seed);
        krait_train_config tc;
        krait_train_default(&tc);
        tc.batch = 2, tc.seq_len = 16, tc.steps = 10, tc.minutes = 1e6, tc.warmup = 4, tc.seed = seed;
        tc.lr = drop ? 0.0f : 1e-3f, tc.min_lr = 0.0f, tc.weight_decay = 0.0f;
        tc.embed_dropout = drop ? 0.2f : 0.0f, tc.resid_dropout = drop ? 0.3f : 0.0f;
        krait_trainer *t = krait_trainer_init(m, &tc);
        krait_data_source ds = { .ctx = NULL, .next_batch = same_batch };
        krait_step_info a, b;
        krait_status s = krait_trainer_step(t, &ds, &a);
        if (!s) s = krait_trainer_step(t, &ds, &b);
        tu_check(!s, "two steps");
        if (!drop) {
            tu_check(fabs(a.progress - 0.1) < 1e-12 && fabs(b.progress - 0.2) < 1e-12,
                     "steps 10 and minutes 1e6: progress is the steps' share (%.3g, %.3g; want 0.1, 0.2)", a.progress,
                     b.progress);
            tu_check(a.lr == krait_lr_at(&tc, 0, 0.0) && b.lr == krait_lr_at(&tc, 1, 0.1) && a.lr < b.lr,
                     "the first two steps take the schedule's lr for steps 0 and 1 of the warm-up (%.9g, %.9g; want "
                     "%.9g, %.9g)", a.lr, b.lr, krait_lr_at(&tc, 0, 0.0), krait_lr_at(&tc, 1, 0.1));
        } else {
            tu_check(a.loss != b.loss, "lr 0, one batch, dropout: the masks change with the step (losses %.9g, %.9g)",
                     a.loss, b.loss);
        }
        krait_trainer_free(t);
        krait_model_free(m);
    }
    krait_backend_destroy(be);
}

/* A step budget of 2, stepped 4 times: the third and fourth steps (progress 2/2 and 3/2) take
 * min_lr, and the reported progress stays 1. */
static void check_past_the_end(uint64_t seed)
{
    krait_backend *be = krait_backend_cpu_ref_init();
    krait_model *m = small_model(be, seed);
    krait_train_config tc;
    krait_train_default(&tc);
    tc.batch = 2, tc.seq_len = 8, tc.steps = 2, tc.warmup = 0, tc.seed = seed;
    tc.lr = 1e-2f, tc.min_lr = 1e-4f;
    krait_trainer *t = krait_trainer_init(m, &tc);
    krait_data_source ds = { .ctx = NULL, .next_batch = same_batch };
    const double want_lr[4] = { tc.lr, 0.5 * ((double)tc.lr + tc.min_lr), tc.min_lr, tc.min_lr };
    const double want_progress[4] = { 0.5, 1, 1, 1 };
    for (int i = 0; i < 4; i++) {
        krait_step_info info;
        krait_status s = krait_trainer_step(t, &ds, &info);
        tu_check(!s && fabs(info.lr / want_lr[i] - 1) < 1e-6 && info.progress == want_progress[i],
                 "steps 2, step %d of 4: lr %.9g (want %.9g), progress %g (want %g)", i + 1, info.lr, want_lr[i],
                 info.progress, want_progress[i]);
    }
    krait_trainer_free(t);
    krait_model_free(m);
    krait_backend_destroy(be);
}

/* The ETA of a step budget adds the validations still to come at their mean time so far: with
 * 10 steps and one every 4, after step 5 come those at 8 and at the end (2 x 5 s), after step 8
 * its own (run after the estimate) and the end's; every 5, after step 6 only the one at 10
 * (5 s), after step 10 that one still. Training itself takes milliseconds here. */
static void check_eta(uint64_t seed)
{
    static const int every[4] = { 4, 4, 5, 5 }, at[4] = { 5, 8, 6, 10 }, want[4] = { 10, 10, 5, 5 };
    for (int k = 0; k < 4; k++) {
        krait_backend *be = krait_backend_cpu_ref_init();
        krait_model *m = small_model(be, seed);
        krait_train_config tc;
        krait_train_default(&tc);
        tc.batch = 2, tc.seq_len = 8, tc.steps = 10, tc.warmup = 0, tc.seed = seed, tc.eval_every = every[k];
        krait_trainer *t = krait_trainer_init(m, &tc);
        krait_data_source ds = { .ctx = NULL, .next_batch = same_batch };
        krait_step_info info = { 0 };
        krait_status s = KRAIT_STATUS_OK;
        for (int i = 0; i < at[k] && !s; i++) {
            if (i == 1) t->eval_s = 10, t->n_evals = 2; /* two validations of 5 s seen */
            s = krait_trainer_step(t, &ds, &info);
        }
        tu_check(!s && info.eta_s >= want[k] && info.eta_s < want[k] + 1, "every %d, after step %d: ETA %.3f s (want "
                 "%d s of validations and the training left)", every[k], at[k], info.eta_s, want[k]);
        krait_trainer_free(t);
        krait_model_free(m);
        krait_backend_destroy(be);
    }
}

int main(void)
{
    uint64_t seed = tu_init("test_train_steps");
    check_schedule();
    check_clip(seed);
    check_progress_and_dropout(seed);
    check_past_the_end(seed);
    check_eta(seed);
    enum { N = 60 };
    double a[N], b[N];
    run(seed, a, N, N);
    printf("  loss: step 1 %.4f, step 20 %.4f, step 40 %.4f, step %d %.4f\n", a[0], a[19], a[39], N, a[N - 1]);
    tu_check(isfinite(a[N - 1]) && a[N - 1] < 0.5 * a[0], "loss falls below half: %.4f -> %.4f", a[0], a[N - 1]);
    run(seed, b, 10, N);
    int same = 1;
    for (int i = 0; i < 10; i++) same &= a[i] == b[i];
    tu_check(same, "same seed, same losses (first 10 steps)");
    return tu_finish();
}
