/* apps/bench/infer_bench.c — `krait-bench generate`, `krait-bench prefill` and
 * `krait-bench longeval`: inference against this machine's own limits, measured in the same
 * process through the same backend.
 *
 * generate: decode is byte-bound. Bytes that must move per decode step (fp32 weights on the
 * CPU): every weight once (the tied head reads the whole V x D embedding; an untied model reads
 * lm_head and only the B embedding rows it looks up) plus each row's state read and written.
 * bytes_per_token = bytes per step / B (a step serves B sequences with one pass over the
 * weights); the bound is copy_gbps / bytes_per_token, and bandwidth_fraction = measured tokens/s
 * over that bound. tokens/s counts tokens fed by decode steps over the decode wall time (sampling
 * included, prefill excluded). At large B decode becomes FLOP-bound and the fraction falls far
 * below 1 by design; the tokens/s is the figure to read there. The copy figure is the backend's
 * copy (on the CPU split over all threads, read + write counted), measured before and after the
 * decode runs and the higher kept: on a shared or virtual machine it varies by a fifth from one
 * moment to the next, and the bound is the most the machine reached. A step that only reads its weights
 * with every thread can beat it, and weights that fit in the caches (the small shape) are not
 * bound by it at all: the fraction can exceed 1 there.
 * prefill: FLOP-bound. FLOPs per prompt token = 2 x the weights of every matrix product a token
 * passes through in the layers (the head runs once per prompt, not counted); sgemm_fraction =
 * achieved over the sgemm rate measured here.
 * longeval: loss of one synthetic sequence of any length in chunks, with per-position buckets
 * and the process's peak resident memory (getrusage), to show memory does not grow with length.
 * These do not read model files: weights are the official random initialisation (the speed of
 * a step does not depend on the values). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cjson/cJSON.h>

#include "bench.h"
#include "cli.h"
#include "evaluate.h"
#include "generate.h"
#include "hash.h"
#include "infer.h"
#include "log.h"
#include "model.h"
#include "train.h"

/* Exit 2 with one line naming the option when v < min. */
static void at_least(const char *opt, long long v, long long min)
{
    if (v < min) krait_cli_die(2, "%s %lld: must be >= %lld", opt, v, min);
}

static krait_model *random_model(const krait_common *c, const char *shape, krait_config *cfg, krait_backend **be)
{
    krait_train_config tc;
    krait_train_default(&tc);
    bench_load_shape(shape, cfg, &tc);
    *be = krait_cli_backend(c, "bf16");
    krait_model *m = krait_model_init(cfg, *be);
    if (!m) krait_cli_die(1, "cannot create the model");
    krait_rng rng;
    krait_rng_init_stream(&rng, c->seed, 0);
    krait_status s = krait_model_init_weights(m, &rng);
    if (s) krait_cli_die(krait_cli_exit_code(s), "cannot initialise the weights");
    return m;
}


/* Weights read by one decode step of B rows, plus the states read and written, in bytes. */
static double decode_bytes_per_step(const krait_model *m, int B)
{
    const krait_config *c = &m->cfg;
    double wbytes = krait_dtype_size(m->be->act_dtype);
    double VD = (double)c->vocab_size * c->d_model;
    /* n_params holds the embedding once (and lm_head when untied): the tied head reads it whole,
     * the lookup reads B rows of it (counted too: the lookup is a pass of its own, before the
     * layers, so those rows are read twice; B x D x 4 bytes, 3 KB of 522 MB for 130m at B = 1) */
    double weights = (double)m->n_params - (c->tie_embeddings ? 0.0 : VD);
    return weights * wbytes + (double)B * c->d_model * 4.0 + 2.0 * B * (double)krait_state_bytes_per_seq(m);
}

static double layer_matmul_weights(const krait_config *c)
{
    double D = c->d_model, E = c->d_inner, N = c->d_state, R = c->dt_rank;
    return c->n_layer * (2 * E * D + (R + 2 * N) * E + E * R + D * E);
}

static void random_prompts(int32_t *p, size_t n, const krait_config *c, uint64_t seed)
{
    krait_rng r;
    krait_rng_init_stream(&r, seed, 7);
    int V = c->vocab_size_raw > 0 ? c->vocab_size_raw : c->vocab_size;
    for (size_t i = 0; i < n; i++) p[i] = (int32_t)krait_rng_below(&r, (uint32_t)V);
}

/* Progress of a timed run: generate's tokens (sequence 0, every 256th: the check costs nothing
 * next to a decode step) and a long prompt's pieces; prefill's pieces. */
typedef struct bench_prog {
    krait_progress p;
    double t0;
    long total;
    int run;
} bench_prog;

static void prog_line(bench_prog *g, long done, long total, const char *what)
{
    const double now = krait_now(), el = now - g->t0, rate = el > 0 ? done / el : 0;
    const int plain = !g->p.tty && now - (g->p.last > g->t0 ? g->p.last : g->t0) >= 10; /* off a terminal: every 10 s */
    if (!g->p.tty && !plain) return;
    char eta[32];
    krait_progress_line(&g->p, plain, "run %d: %s %ld/%ld, %.0f tokens/s, ETA %s", g->run, what, done, total, rate,
                        krait_fmt_duration(rate > 0 ? (total - done) / rate : 0, eta));
}

static int on_bench_token(void *user, int seq, int index, int32_t token)
{
    bench_prog *g = user;
    (void)token;
    if (seq == 0 && index == 0) g->t0 = krait_now(); /* the decode's own rate, after the prefill */
    if (seq == 0 && (index & 255) == 255) prog_line(g, index + 1L, g->total, "token");
    return 0;
}

static void on_bench_prefill(void *user, int seq, long done, long total)
{
    if (seq == 0) prog_line(user, done, total, "prompt token"); /* the rate from the run's start */
}

int bench_generate(int argc, char **argv)
{
    const char *shape = "small";
    int batch = 1, tokens = 32, prompt = 16, chunk = 512, repeats = 2;
    krait_opt opts[] = {
        { "--shape", OPT_STR, &shape, "S", "130m | 1.4b | small | CONFIG.json (default small)" },
        { "--batch", OPT_INT, &batch, "N", "sequences decoded together (default 1)" },
        { "--tokens", OPT_INT, &tokens, "N", "new tokens per sequence (default 32)" },
        { "--prompt", OPT_INT, &prompt, "N", "prompt tokens per sequence (default 16)" },
        { "--chunk", OPT_INT, &chunk, "N", "prefill chunk (default 512)" },
        { "--repeats", OPT_INT, &repeats, "N", "timed runs after a warm-up; the best is reported (default 2)" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-bench generate --shape 130m|1.4b|small|CONFIG.json [--batch N] [--tokens N]\n"
                    "Greedy decode tokens/s against the memory-bandwidth bound measured in this process.");
    at_least("--batch", batch, 1), at_least("--tokens", tokens, 2), at_least("--prompt", prompt, 1);
    at_least("--chunk", chunk, 1), at_least("--repeats", repeats, 1);
    if (chunk > prompt) chunk = prompt; /* the prompt is the only prefill: no bigger chunk is used */
    krait_config cfg;
    krait_backend *be;
    krait_model *m = random_model(&c, shape, &cfg, &be);
    char what[64];
    snprintf(what, sizeof what, "generate --batch %d --chunk %d", batch, chunk);
    size_t bytes = krait_generate_bytes(m, batch, chunk);
    if (bytes != SIZE_MAX) bytes += (size_t)batch * ((size_t)prompt + (size_t)tokens) * sizeof(int32_t);
    krait_cli_check_memory(be, bytes, what, "lower --batch, --prompt or --chunk");
    krait_infer *inf = krait_infer_init(m, batch, chunk);
    int32_t *prompts = malloc((size_t)batch * prompt * sizeof *prompts);
    int32_t *out = malloc((size_t)batch * tokens * sizeof *out);
    int *n_out = malloc((size_t)batch * sizeof *n_out), *lens = malloc((size_t)batch * sizeof *lens);
    const int32_t **pp = malloc((size_t)batch * sizeof *pp);
    if (!inf || !prompts || !out || !n_out || !lens || !pp) krait_cli_die(1, "out of memory");
    random_prompts(prompts, (size_t)batch * prompt, &cfg, c.seed);
    for (int i = 0; i < batch; i++) {
        pp[i] = prompts + (size_t)i * prompt;
        lens[i] = prompt;
    }
    fprintf(stderr, "krait-bench: measuring this machine's copy bandwidth...\n");
    double copy = bench_copy_gbps(be);
    fprintf(stderr, "krait-bench: %s shape: D %d, layers %d, E %d, V %d, %.1fM params; batch %d, prompt %d, %d new tokens\n",
            shape, cfg.d_model, cfg.n_layer, cfg.d_inner, cfg.vocab_size, m->n_params / 1e6, batch, prompt, tokens);

    krait_gen_params gp = krait_gen_default_params();
    gp.sample.temperature = 0; /* greedy, as the upstream benchmark (--topk 1) */
    gp.max_tokens = 2;
    krait_gen_stats st, best = { 0 };
    krait_status s = krait_generate(inf, out, n_out, NULL, &st, pp, lens, batch, &gp, NULL, NULL);
    gp.max_tokens = tokens;
    double best_tps = 0;
    bench_prog bp = { .total = tokens };
    krait_progress_init(&bp.p, KRAIT_PROGRESS_FORCED_ONLY);
    gp.on_prefill = on_bench_prefill, gp.prefill_user = &bp;
    for (int r = 0; r < repeats && !s; r++) {
        bp.run = r + 1, bp.t0 = krait_now();
        s = krait_generate(inf, out, n_out, NULL, &st, pp, lens, batch, &gp, on_bench_token, &bp);
        krait_progress_clear(&bp.p);
        double tps = st.step_tokens / st.decode_s;
        fprintf(stderr, "krait-bench: run %d: decode %.1f tokens/s (%lld steps in %.2fs), prefill %.0f tokens/s\n",
                r + 1, tps, st.steps, st.decode_s, st.prefill_tokens / st.prefill_s);
        if (tps > best_tps) {
            best_tps = tps;
            best = st;
        }
    }
    if (s) krait_cli_die(krait_cli_exit_code(s), "generation failed");
    const double copy_before = copy, copy_after = bench_copy_gbps(be);
    if (copy_after > copy) copy = copy_after;
    const krait_graph_stats gs = krait_infer_graph_stats(inf);
    const int dev_sampling = krait_infer_device_sampling(inf, &gp.sample);
    fprintf(stderr, "krait-bench: sampling on the %s; decode graphs %s (%lld recorded, %lld replayed, %lld eager steps)\n",
            dev_sampling ? "device" : "host", krait_infer_graphs(inf) ? "on" : "off", gs.captures, gs.replays, gs.eager);
    double bpt = decode_bytes_per_step(m, batch) / batch, bound = copy * 1e9 / bpt;
    printf("generate %s batch %d: %.1f tokens/s (%.2f ms/step); %.1f MB moved per token; copy %.1f GB/s -> bound "
           "%.1f tokens/s, %.1f%% of the bandwidth bound%s\n",
           shape, batch, best_tps, 1e3 * best.decode_s / best.steps, bpt / 1e6, copy, bound, 100 * best_tps / bound,
           best_tps > bound ? " (above it: the weights stay in the caches, which the bound does not count)" : "");
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "shape", shape);
        cJSON_AddStringToObject(o, "device", be->name);
        cJSON_AddStringToObject(o, "dtype", krait_dtype_name(be->act_dtype));
        cJSON_AddNumberToObject(o, "batch", batch);
        cJSON_AddNumberToObject(o, "prompt", prompt);
        cJSON_AddNumberToObject(o, "tokens", tokens);
        cJSON_AddNumberToObject(o, "params", (double)m->n_params);
        cJSON_AddNumberToObject(o, "tokens_per_s", best_tps);
        cJSON_AddNumberToObject(o, "step_ms", 1e3 * best.decode_s / best.steps);
        cJSON_AddNumberToObject(o, "bytes_per_token", bpt);
        cJSON_AddNumberToObject(o, "copy_gbps", copy);
        cJSON_AddNumberToObject(o, "copy_gbps_before", copy_before);
        cJSON_AddNumberToObject(o, "copy_gbps_after", copy_after);
        cJSON_AddNumberToObject(o, "bound_tokens_per_s", bound);
        cJSON_AddNumberToObject(o, "bandwidth_fraction", best_tps / bound);
        cJSON_AddNumberToObject(o, "prefill_tokens_per_s", best.prefill_tokens / best.prefill_s);
        cJSON_AddNumberToObject(o, "state_bytes_per_seq", (double)krait_state_bytes_per_seq(m));
        cJSON_AddBoolToObject(o, "device_sampling", dev_sampling);
        cJSON_AddBoolToObject(o, "graphs", krait_infer_graphs(inf));
        cJSON_AddNumberToObject(o, "graph_replays", (double)gs.replays);
        krait_cli_print_json(o);
    }
    free(pp);
    free(lens);
    free(n_out);
    free(out);
    free(prompts);
    krait_infer_free(inf);
    krait_model_free(m);
    krait_backend_destroy(be);
    return 0;
}

int bench_prefill(int argc, char **argv)
{
    const char *shape = "small";
    int batch = 1, tokens = 4096, chunk = 1024, repeats = 2;
    krait_opt opts[] = {
        { "--shape", OPT_STR, &shape, "S", "130m | 1.4b | small | CONFIG.json (default small)" },
        { "--tokens", OPT_INT, &tokens, "N", "prompt tokens per sequence (default 4096)" },
        { "--batch", OPT_INT, &batch, "N", "prompts (default 1)" },
        { "--chunk", OPT_INT, &chunk, "N", "tokens per forward (default 1024)" },
        { "--repeats", OPT_INT, &repeats, "N", "timed runs after a warm-up; the best is reported (default 2)" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-bench prefill --shape 130m|1.4b|small|CONFIG.json [--tokens N] [--chunk N]\n"
                    "Chunked prefill tokens/s against the sgemm rate measured in this process.");
    at_least("--batch", batch, 1), at_least("--tokens", tokens, 1), at_least("--chunk", chunk, 1);
    at_least("--repeats", repeats, 1);
    if (chunk > tokens) chunk = tokens; /* no bigger chunk is used */
    krait_config cfg;
    krait_backend *be;
    krait_model *m = random_model(&c, shape, &cfg, &be);
    char what[64];
    snprintf(what, sizeof what, "prefill --batch %d --tokens %d --chunk %d", batch, tokens, chunk);
    size_t bytes = krait_infer_bytes(m, 1, chunk);
    if (bytes != SIZE_MAX)
        bytes += (size_t)batch * (krait_state_bytes_per_seq(m) + (size_t)tokens * sizeof(int32_t) +
                                  (size_t)cfg.vocab_size * sizeof(float));
    krait_cli_check_memory(be, bytes, what, "lower --batch, --tokens or --chunk");
    krait_infer *inf = krait_infer_init(m, 1, chunk);
    krait_state *st = krait_state_init(m, batch);
    int32_t *ids = malloc((size_t)batch * tokens * sizeof *ids);
    float *logits = malloc((size_t)batch * cfg.vocab_size * sizeof *logits);
    if (!inf || !st || !ids || !logits) krait_cli_die(1, "out of memory");
    random_prompts(ids, (size_t)batch * tokens, &cfg, c.seed);
    fprintf(stderr, "krait-bench: measuring this machine's GEMM rate...\n");
    double sgemm = bench_sgemm_gflops(be);
    int warm = chunk;
    krait_state *row0 = krait_state_view(m, st, 0, 1);
    krait_status s = row0 ? krait_prefill(inf, logits, row0, ids, 1, warm) : KRAIT_STATUS_NO_MEMORY;
    krait_state_free(m, row0);
    double best = 0;
    /* a long run in pieces of 128 chunks (the same sums), each shown: a copy of the piece's columns */
    const int piece = (long)tokens > 128L * chunk ? 128 * chunk : tokens;
    int32_t *cols = piece < tokens ? malloc((size_t)batch * piece * sizeof *cols) : NULL;
    if (piece < tokens && !cols) krait_cli_die(1, "out of memory");
    bench_prog bp = { .total = (long)batch * tokens };
    krait_progress_init(&bp.p, KRAIT_PROGRESS_FORCED_ONLY);
    for (int r = 0; r < repeats && !s; r++) {
        krait_state_reset(m, st);
        be->sync(be);
        double t0 = krait_now();
        bp.run = r + 1, bp.t0 = t0;
        for (int f0 = 0; f0 < tokens && !s; f0 += piece) {
            const int n = tokens - f0 < piece ? tokens - f0 : piece;
            for (int b = 0; cols && b < batch; b++)
                memcpy(cols + (size_t)b * n, ids + (size_t)b * tokens + f0, (size_t)n * sizeof *cols);
            s = krait_prefill(inf, f0 + n == tokens ? logits : NULL, st, cols ? cols : ids, batch, n);
            if (cols) prog_line(&bp, (long)batch * (f0 + n), bp.total, "token");
        }
        krait_progress_clear(&bp.p);
        be->sync(be);
        double tps = (double)batch * tokens / (krait_now() - t0);
        fprintf(stderr, "krait-bench: run %d: %.0f tokens/s\n", r + 1, tps);
        if (tps > best) best = tps;
    }
    if (s) krait_cli_die(krait_cli_exit_code(s), "prefill failed");
    double fpt = 2.0 * layer_matmul_weights(&cfg), gflops = best * fpt / 1e9;
    printf("prefill %s: %d x %d tokens in chunks of %d: %.0f tokens/s, %.1f GFLOP/s (%.3g GFLOP/token), "
           "%s %.1f GFLOP/s -> %.1f%% of %s\n",
           shape, batch, tokens, chunk, best, gflops, fpt / 1e9, bench_gemm_name(be), sgemm, 100 * gflops / sgemm,
           bench_gemm_name(be));
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "shape", shape);
        cJSON_AddStringToObject(o, "device", be->name);
        cJSON_AddStringToObject(o, "dtype", krait_dtype_name(be->act_dtype));
        cJSON_AddNumberToObject(o, "batch", batch);
        cJSON_AddNumberToObject(o, "tokens", tokens);
        cJSON_AddNumberToObject(o, "chunk", chunk);
        cJSON_AddNumberToObject(o, "tokens_per_s", best);
        cJSON_AddNumberToObject(o, "flops_per_token", fpt);
        cJSON_AddNumberToObject(o, "gflops", gflops);
        cJSON_AddNumberToObject(o, "sgemm_gflops", sgemm);
        cJSON_AddNumberToObject(o, "sgemm_fraction", gflops / sgemm);
        cJSON_AddStringToObject(o, "gemm", bench_gemm_name(be)); /* what sgemm_* measured */
        krait_cli_print_json(o);
    }
    free(ids);
    free(logits);
    krait_state_free(m, st);
    krait_infer_free(inf);
    krait_model_free(m);
    krait_backend_destroy(be);
    return 0;
}

/* ---- longeval ------------------------------------------------------------------------------- */

typedef struct stream {
    int V;
    uint64_t seed;
} stream;

static int32_t stream_token(const stream *s, long long p)
{
    return (int32_t)(krait_mix64(s->seed, (uint64_t)p) % (uint64_t)s->V);
}

static krait_status stream_fill(void *ctx, int32_t *ids, int32_t *tg, int B, long t0, int len)
{
    const stream *s = ctx;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < len; i++) {
            long long p = (long long)b << 40 | (t0 + i);
            ids[b * len + i] = stream_token(s, p);
            tg[b * len + i] = stream_token(s, p + 1);
        }
    return KRAIT_STATUS_OK;
}

typedef struct eval_progress {
    krait_progress p;
    double t0;
} eval_progress;

static void on_progress(void *user, long done, long total)
{
    eval_progress *e = user;
    double dt = krait_now() - e->t0;
    char eta[32];
    krait_progress_line(&e->p, done == total, "%ld / %ld tokens, %.0f tokens/s, ETA %s", done, total, done / dt,
                        krait_fmt_duration(dt / done * (total - done), eta));
}

int bench_longeval(int argc, char **argv)
{
    const char *shape = "small";
    int chunk = 1024;
    uint64_t tokens = 1000000;
    krait_opt opts[] = {
        { "--shape", OPT_STR, &shape, "S", "130m | 1.4b | small | CONFIG.json (default small)" },
        { "--tokens", OPT_U64, &tokens, "N", "sequence length (default 1000000)" },
        { "--chunk", OPT_INT, &chunk, "N", "tokens per forward (default 1024)" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-bench longeval --shape 130m|1.4b|small|CONFIG.json [--tokens N] [--chunk N]\n"
                    "Loss of one synthetic sequence of any length in chunks, loss by position bucket,\n"
                    "and the peak resident memory of this process (compare two lengths).");
    if (tokens < 1 || tokens > (1ull << 40)) krait_cli_die(2, "--tokens: must be in 1..2^40");
    at_least("--chunk", chunk, 1);
    if ((unsigned long long)chunk > tokens) chunk = (int)tokens; /* no bigger chunk is used (as generate, prefill) */
    krait_config cfg;
    krait_backend *be;
    krait_model *m = random_model(&c, shape, &cfg, &be);
    krait_cli_check_memory(be, krait_acts_bytes(m, 1, chunk < (long)tokens ? (int)chunk : (int)tokens, 0),
                           "longeval's chunk", "lower --chunk");
    stream sctx = { cfg.vocab_size_raw > 0 ? cfg.vocab_size_raw : cfg.vocab_size, c.seed };
    eval_progress ep;
    krait_progress_init(&ep.p, 50);
    ep.t0 = krait_now();
    krait_eval_result r;
    krait_status s = krait_eval_stream(m, 1, (long)tokens, chunk, stream_fill, &sctx, &r, on_progress, &ep);
    krait_progress_done(&ep.p);
    if (s) krait_cli_die(krait_cli_exit_code(s), "evaluation failed");
    double dt = krait_now() - ep.t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double loss = r.loss_sum / r.n_scored;
    printf("longeval %s: %llu tokens in chunks of %d: loss %.4f nats, %.0f tokens/s, peak RSS %ld KB\n", shape, (unsigned long long)tokens,
           chunk, loss, tokens / dt, ru.ru_maxrss);
    for (int b = 0; b < KRAIT_EVAL_BUCKETS && r.bucket_n[b]; b++)
        printf("  positions %lld..%lld: loss %.4f nats (%lld)\n", krait_eval_bucket_start(b),
               krait_eval_bucket_start(b) + r.bucket_n[b] - 1, r.bucket_loss[b] / r.bucket_n[b], r.bucket_n[b]);
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "shape", shape);
        cJSON_AddStringToObject(o, "device", be->name);
        cJSON_AddStringToObject(o, "dtype", krait_dtype_name(be->act_dtype));
        cJSON_AddNumberToObject(o, "tokens", (double)tokens);
        cJSON_AddNumberToObject(o, "chunk", chunk);
        cJSON_AddNumberToObject(o, "loss", loss);
        cJSON_AddNumberToObject(o, "perplexity", exp(loss));
        cJSON_AddNumberToObject(o, "tokens_per_s", tokens / dt);
        cJSON_AddNumberToObject(o, "peak_rss_kb", (double)ru.ru_maxrss);
        cJSON *bk = cJSON_AddArrayToObject(o, "buckets");
        for (int b = 0; b < KRAIT_EVAL_BUCKETS && r.bucket_n[b]; b++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "from", (double)krait_eval_bucket_start(b));
            cJSON_AddNumberToObject(e, "n", (double)r.bucket_n[b]);
            cJSON_AddNumberToObject(e, "loss", r.bucket_loss[b] / r.bucket_n[b]);
            cJSON_AddItemToArray(bk, e);
        }
        krait_cli_print_json(o);
    }
    krait_model_free(m);
    krait_backend_destroy(be);
    return 0;
}
