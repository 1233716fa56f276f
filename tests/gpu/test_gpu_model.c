/* tests/gpu/test_gpu_model.c — the whole model on the GPU against the CPU (label gpu; exit 77
 * without a device):
 *   1. fp32 mode: the same weights and batch give the same loss (rel 1e-4) and the same
 *      parameter gradients (relative L2 error per tensor <= 1e-3; cuBLAS sums in another
 *      order than OpenBLAS) as the fast CPU backend, without and with dropout (0.2 / 0.1, the
 *      same seed: the masks agree element for element);
 *   2. bf16 mode: 50 training steps from the same initial weights on the same batches track the
 *      CPU fp32 loss curve: every step within 0.05 + 3% of the CPU loss, and the last 10 steps'
 *      mean within 2% (bf16 activations and weights, fp32 master weights and state).
 * The model is the "small" shape scaled down (D 256, 4 layers, V 256), trained on a
 * deterministic byte-level rule so the loss falls steadily. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "testutil.h"
#include "train.h"

static krait_status rule_batch(void *ctx, int32_t *ids, int32_t *tg, int B, int L, krait_rng *rng)
{
    (void)ctx;
    for (int b = 0; b < B; b++) {
        int32_t v = (int32_t)krait_rng_below(rng, 256);
        int32_t step = 1 + (int32_t)krait_rng_below(rng, 7);
        for (int t = 0; t < L; t++) {
            ids[b * L + t] = v;
            v = (v * 5 + step) & 255;
            tg[b * L + t] = v;
        }
    }
    return KRAIT_STATUS_OK;
}

static krait_config small_config(void)
{
    krait_config c;
    krait_config_default(&c);
    c.d_model = 256;
    c.n_layer = 4;
    c.vocab_size_raw = 256;
    krait_config_finalize(&c, "test");
    return c;
}

static void fp32_parity(uint64_t seed, int dropout)
{
    krait_config c = small_config();
    krait_backend *cpu = krait_backend_cpu_init(0), *gpu = krait_backend_cuda_init(0, KRAIT_DTYPE_F32);
    if (!tu_check(cpu && gpu, "backends start")) return;
    krait_model *mc = krait_model_init(&c, cpu), *mg = krait_model_init(&c, gpu);
    krait_rng r1, r2;
    krait_rng_init(&r1, seed);
    krait_rng_init(&r2, seed);
    krait_model_init_weights(mc, &r1);
    krait_model_init_weights(mg, &r2);
    const int B = 2, L = 300;
    krait_acts *ac = krait_acts_init(mc, B, L, 1), *ag = krait_acts_init(mg, B, L, 1);
    if (dropout) {
        ac->drop_embed = ag->drop_embed = 0.2f;
        ac->drop_resid = ag->drop_resid = 0.1f;
        ac->drop_seed = ag->drop_seed = seed + 2;
    }
    int32_t *ids = malloc(sizeof(int32_t) * B * L), *tg = malloc(sizeof(int32_t) * B * L);
    krait_rng dr;
    krait_rng_init(&dr, seed + 1);
    rule_batch(NULL, ids, tg, B, L, &dr);
    float *gc = cpu->alloc(cpu, mc->n_params * 4), *gg = gpu->alloc(gpu, mg->n_params * 4);
    cpu->zero(cpu, gc, mc->n_params * 4);
    gpu->zero(gpu, gg, mg->n_params * 4);
    double lc, lg;
    krait_status s1 = krait_lm_forward_backward(mc, ac, gc, ids, tg, &lc, NULL);
    krait_status s2 = krait_lm_forward_backward(mg, ag, gg, ids, tg, &lg, NULL);
    tu_check(!s1 && !s2, "fp32 forward/backward ran (cpu %d, gpu %d)", s1, s2);
    tu_check(fabs(lc - lg) <= 1e-4 * fabs(lc), "fp32 loss%s: cpu %.7f gpu %.7f", dropout ? " (dropout)" : "",
             lc, lg);
    printf("  fp32 loss%s cpu %.7f gpu %.7f\n", dropout ? " (dropout)" : "", lc, lg);
    float *hg = malloc(mg->n_params * 4);
    gpu->download(gpu, hg, gg, mg->n_params * 4);
    for (int i = 0; i < mc->n_tensors; i++) {
        const krait_tensor_info *t = &mc->tensors[i];
        char what[128];
        snprintf(what, sizeof what, "fp32 grad%s %s", dropout ? " (dropout)" : "", t->name);
        tu_rel_l2_ok(what, hg + t->offset, gc + t->offset, t->numel, 1e-3);
    }
    free(hg);
    free(ids);
    free(tg);
    cpu->free(cpu, gc);
    gpu->free(gpu, gg);
    krait_acts_free(mc, ac);
    krait_acts_free(mg, ag);
    krait_model_free(mc);
    krait_model_free(mg);
    krait_backend_destroy(cpu);
    krait_backend_destroy(gpu);
}

static void curve(krait_backend *be, uint64_t seed, double *loss, int n)
{
    krait_config c = small_config();
    krait_train_config tc;
    krait_train_default(&tc);
    tc.batch = 4;
    tc.seq_len = 256;
    tc.steps = n;
    tc.lr = 2e-3f;
    tc.warmup = 10;
    tc.seed = seed;
    krait_model *m = krait_model_init(&c, be);
    krait_rng r;
    krait_rng_init(&r, seed);
    krait_model_init_weights(m, &r);
    krait_trainer *t = krait_trainer_init(m, &tc);
    krait_data_source ds = { .ctx = NULL, .next_batch = rule_batch };
    for (int i = 0; i < n; i++) {
        krait_step_info info;
        if (krait_trainer_step(t, &ds, &info)) {
            loss[i] = NAN;
            continue;
        }
        loss[i] = info.loss;
    }
    krait_trainer_free(t);
    krait_model_free(m);
}

int main(void)
{
    uint64_t seed = tu_init("test_gpu_model");
    if (!krait_cuda_compiled() || krait_cuda_device_count() <= 0) {
        printf("no CUDA device: skipped\n");
        return TU_SKIP;
    }
    fp32_parity(seed, 0);
    fp32_parity(seed, 1);
    enum { N = 50 };
    double lc[N], lg[N];
    krait_backend *cpu = krait_backend_cpu_init(0), *gpu = krait_backend_cuda_init(0, KRAIT_DTYPE_BF16);
    if (!tu_check(cpu && gpu, "backends start")) return tu_finish();
    curve(cpu, seed, lc, N);
    curve(gpu, seed, lg, N);
    double tail_c = 0, tail_g = 0;
    int within = 1;
    for (int i = 0; i < N; i++) {
        if (!(fabs(lg[i] - lc[i]) <= 0.05 + 0.03 * lc[i])) within = 0;
        if (i >= N - 10) {
            tail_c += lc[i] / 10;
            tail_g += lg[i] / 10;
        }
        if (i % 10 == 0 || i == N - 1) printf("  step %2d loss cpu %.4f gpu(bf16) %.4f\n", i + 1, lc[i], lg[i]);
    }
    tu_check(within, "bf16 GPU loss curve within 0.05 + 3%% of the CPU curve at every step");
    tu_check(fabs(tail_g - tail_c) <= 0.02 * tail_c, "last 10 steps: cpu %.4f gpu %.4f", tail_c, tail_g);
    tu_check(lc[N - 1] < 0.7 * lc[0], "the loss falls (%.3f -> %.3f)", lc[0], lc[N - 1]);
    krait_backend_destroy(cpu);
    krait_backend_destroy(gpu);
    return tu_finish();
}
