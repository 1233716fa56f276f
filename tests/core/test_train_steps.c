/* tests/core/test_train_steps.c — the trainer lowers the loss: a small model learns a
 * deterministic next-token rule (next = (3 * id + 1) mod V after a random start) in 60 steps on
 * the reference backend; the loss must fall below half its starting value. Also checks that two
 * runs from the same seed give bitwise-identical losses (deterministic seeding), and the learning
 * rate schedule: linear warm-up times cosine, continuous where the warm-up ends even when the
 * warm-up is half the run, min_lr at the end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

static void run(uint64_t seed, double *losses, int n, int total)
{
    krait_backend *be = krait_backend_cpu_ref_init();
    krait_config c;
    krait_config_default(&c);
    c.d_model = 16;
    c.n_layer = 2;
    c.vocab_size_raw = 16;
    krait_config_finalize(&c, "test");
    krait_train_config tc;
    krait_train_default(&tc);
    tc.batch = 4;
    tc.seq_len = 24;
    tc.steps = total;
    tc.lr = 1e-2f;
    tc.warmup = 5;
    tc.seed = seed;
    krait_model *m = krait_model_init(&c, be);
    krait_rng rng;
    krait_rng_init_stream(&rng, seed, 0);
    krait_model_init_weights(m, &rng);
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
    tu_check(fabs(krait_lr_at(&tc, T, 1.0) / tc.min_lr - 1) < 1e-6, "the run ends at min_lr");
}

int main(void)
{
    uint64_t seed = tu_init("test_train_steps");
    check_schedule();
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
