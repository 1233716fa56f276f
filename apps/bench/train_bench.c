/* apps/bench/train_bench.c — `krait-bench train`: training throughput of a model shape.
 *
 * FLOP counting (documented in README): model FLOPs per token = 6 x the weights of every
 * matrix product a token passes through (in_proj 2ED, x_proj (R+2N)E, dt_proj ER, out_proj DE per
 * layer, and the LM head VD): 2 FLOPs per multiply-add in the forward and twice that in the
 * backward (input and weight gradients). The scan, conv, norms and elementwise ops are not
 * counted (they are O(E N) per token, under 2% of the GEMM FLOPs at the 130m shape); their time
 * is still in the measurement, so the fraction is a conservative model-FLOP utilisation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench.h"
#include "cli.h"
#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "model.h"
#include "train.h"

void bench_load_shape(const char *shape, krait_config *cfg, krait_train_config *tc)
{
    const char *name = shape;
    if (!strcmp(shape, "130m")) name = "mamba-130m";
    else if (!strcmp(shape, "1.4b")) name = "mamba-1.4b";
    else if (!strcmp(shape, "small")) name = "small";
    krait_config_default(cfg);
    const char *path = krait_cli_config_path(name);
    krait_status s;
    char *text = krait_fs_read_text(path, 16 << 20, &s); /* read once, as krait_config_load would */
    if (!text) exit(s == KRAIT_STATUS_IO ? 2 : krait_cli_exit_code(s));
    cJSON *o = krait_json_parse_object(text, path); /* an audio preset said as such, not as an unknown key */
    if (!o) exit(2); /* it said why */
    const int audio = cJSON_GetObjectItemCaseSensitive(o, "audio") != NULL;
    cJSON_Delete(o);
    if (audio)
        krait_cli_die(2, "--shape %s: an audio preset (its \"audio\" front-end is krait-audio's); the benchmarks take "
                      "130m, 1.4b, small or a model config", shape);
    s = krait_config_parse(cfg, tc, text, path);
    free(text);
    if (s) exit(krait_cli_exit_code(s));
    if (strcmp(cfg->head, "lm"))
        krait_cli_die(2, "--shape %s: a model with a \"%s\" head; the benchmarks measure language models (an \"lm\" head)",
                      shape, cfg->head);
}

/* Uniform random tokens, next-token targets: the cost of training does not depend on data. */
static krait_status random_batch(void *ctx, int32_t *ids, int32_t *targets, int B, int L, krait_rng *rng)
{
    int V = *(int *)ctx;
    for (int b = 0; b < B; b++) {
        for (int t = 0; t <= L; t++) {
            int32_t v = (int32_t)krait_rng_below(rng, (uint32_t)V);
            if (t < L) ids[b * L + t] = v;
            if (t > 0) targets[b * L + t - 1] = v;
        }
    }
    return KRAIT_STATUS_OK;
}

double bench_model_flops_per_token(const krait_config *c)
{
    double D = c->d_model, E = c->d_inner, N = c->d_state, R = c->dt_rank, V = c->vocab_size;
    double per_layer = 2 * E * D + (R + 2 * N) * E + E * R + D * E;
    return 6.0 * (c->n_layer * per_layer + V * D);
}

int bench_train(int argc, char **argv)
{
    const char *shape = "small";
    int seq_len = -1, batch = -1, steps = 3;   /* -1: not given */
    const char *dtype = "f32";
    krait_opt opts[] = {
        { "--shape", OPT_STR, &shape, "S", "130m | 1.4b | small | CONFIG.json (default small)" },
        { "--seq-len", OPT_INT, &seq_len, "N", "tokens per sequence (default 1024)" },
        { "--batch", OPT_INT, &batch, "N", "sequences per step (default 4 when d_model >= 768, as 130m and 1.4b; else 8)" },
        { "--steps", OPT_INT, &steps, "N", "timed steps after one warm-up step (default 3)" },
        { "--dtype", OPT_STR, &dtype, "T", "CUDA activations: f32 (default, as krait's trainers) or bf16" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-bench train --shape 130m|1.4b|small|CONFIG.json [--seq-len N] [--batch N]");
    krait_config cfg;
    krait_train_config tc;
    krait_train_default(&tc);
    bench_load_shape(shape, &cfg, &tc);
    if (seq_len == 0 || batch == 0 || steps == 0) krait_cli_die(2, "train: --seq-len, --batch and --steps must be > 0");
    tc.seq_len = seq_len > 0 ? seq_len : 1024;
    tc.batch = batch > 0 ? batch : (cfg.d_model >= 768 ? 4 : 8);
    tc.steps = 0;
    tc.warmup = 10;
    tc.seed = c.seed;
    if (strcmp(dtype, "f32") && strcmp(dtype, "bf16")) krait_cli_die(2, "train: --dtype %s: f32 or bf16", dtype);

    krait_backend *be = krait_cli_backend(&c, dtype);
    if (strcmp(dtype, "f32") && strcmp(be->name, "cuda"))
        KRAIT_WARN("train: --dtype %s shapes CUDA activations; the %s backend computes in f32", dtype, be->name);
    krait_cli_check_train_memory(&cfg, be, &tc, "--seq-len");
    krait_model *m = krait_model_init(&cfg, be);
    if (!m) krait_cli_die(1, "cannot create the model");
    krait_rng rng;
    krait_rng_init_stream(&rng, c.seed, 0);
    krait_status s = krait_model_init_weights(m, &rng);
    krait_trainer *t = s ? NULL : krait_trainer_init(m, &tc);
    if (!t) krait_cli_die(1, "cannot set up training for batch %d x %d", tc.batch, tc.seq_len);
    int V = cfg.vocab_size;
    krait_data_source ds = { .ctx = &V, .next_batch = random_batch };

    fprintf(stderr, "krait-bench: measuring this machine's GEMM rate...\n");
    double sgemm = bench_sgemm_gflops(be);
    fprintf(stderr, "krait-bench: %s shape: D %d, layers %d, E %d, N %d, V %d, %.1fM params; batch %d x %d\n",
            shape, cfg.d_model, cfg.n_layer, cfg.d_inner, cfg.d_state, cfg.vocab_size, m->n_params / 1e6,
            tc.batch, tc.seq_len);
    krait_step_info info;
    if ((s = krait_trainer_step(t, &ds, &info))) krait_cli_die(krait_cli_exit_code(s), "warm-up step failed");
    be->sync(be);
    double t0 = krait_now();
    for (int i = 0; i < steps; i++) {
        if ((s = krait_trainer_step(t, &ds, &info))) krait_cli_die(krait_cli_exit_code(s), "step failed");
        fprintf(stderr, "krait-bench: step %d/%d loss %.4f\n", i + 1, steps, info.loss);
    }
    be->sync(be);
    double dt = krait_now() - t0;
    double tokens = (double)steps * tc.batch * tc.seq_len, tps = tokens / dt;
    double fpt = bench_model_flops_per_token(&cfg), gflops = tps * fpt / 1e9;
    const char *gn = bench_gemm_name(be);
    printf("shape %s (%s %s): %.0f tokens/s, %.1f GFLOP/s model (%.3g GFLOP/token), %s %.1f GFLOP/s -> %.1f%% of "
           "%s\n", shape, be->name, krait_dtype_name(be->act_dtype), tps, gflops, fpt / 1e9, gn, sgemm, 100 * gflops / sgemm,
           gn);
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "shape", shape);
        cJSON_AddStringToObject(o, "device", be->name);
        cJSON_AddStringToObject(o, "dtype", krait_dtype_name(be->act_dtype));
        cJSON_AddNumberToObject(o, "batch", tc.batch);
        cJSON_AddNumberToObject(o, "seq_len", tc.seq_len);
        cJSON_AddNumberToObject(o, "params", (double)m->n_params);
        cJSON_AddNumberToObject(o, "tokens_per_s", tps);
        cJSON_AddNumberToObject(o, "flops_per_token", fpt);
        cJSON_AddNumberToObject(o, "gflops", gflops);
        cJSON_AddNumberToObject(o, "sgemm_gflops", sgemm);
        cJSON_AddNumberToObject(o, "sgemm_fraction", gflops / sgemm);
        cJSON_AddStringToObject(o, "gemm", bench_gemm_name(be)); /* what sgemm_* measured */
        krait_cli_print_json(o);
    }
    krait_trainer_free(t);
    krait_model_free(m);
    krait_backend_destroy(be);
    return 0;
}
