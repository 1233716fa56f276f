/* tests/gpu/test_gpu_decode.c — GPU inference against the CPU, whole model (label gpu; exit 77
 * without a device; KRAIT_GPU_TEST_STANDIN=emu runs the CUDA kernels on the CPU emulator at
 * tiny sizes, without graphs and without the 1M-token part):
 *   1. fp32: greedy generation of 4 prompts (lengths 1..37, rows leaving on EOS) on the GPU
 *      (fused decode ops, device sampling, graphs) == on the fast CPU backend, token for token;
 *      and the GPU run with graphs off gives the same tokens (a replay is the same kernels);
 *   2. bf16: the CPU's greedy tokens fed to both (teacher forcing): every step's logits within
 *      5% of the logit scale of the CPU's, the final state within relative L2 3e-2;
 *   3. chunked prefill: a long prompt in chunks of 128 on the GPU vs chunks of 512 on the CPU:
 *      final state rel L2 <= 1e-4 (fp32) / 3e-2 (bf16) and the last logits likewise;
 *   4. (GPU only) a 1,000,000-token prefill of a 130m-shaped bf16 model in chunks of 4096: the
 *      device memory in use after it equals that before it (within 64 MB of allocator slack),
 *      the state stays finite; prints tokens/s.
 * Weights: it_tiny_model (large init std, jittered, mixers amplified) so greedy choices are
 * decisive and an fp32 difference of rounding order does not flip them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "gpu_testutil.h"
#include "infer_testutil.h"
#include "log.h"
#include "train.h"

#ifdef KRAIT_TEST_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

static int emu(void)
{
    const char *s = getenv("KRAIT_GPU_TEST_STANDIN");
    return s && !strcmp(s, "emu");
}

enum { NSEQ = 4, MAXT = 24 };

typedef struct shape {
    int D, NL, V, long_len;
} shape;

static krait_status greedy(krait_model *m, int graphs, const int32_t *const *pp, const int *len, int32_t eos,
                           int32_t out[NSEQ][MAXT], int *n, krait_graph_stats *gs)
{
    krait_infer *inf = krait_infer_init(m, NSEQ, 64);
    if (!inf) return KRAIT_STATUS_NO_MEMORY;
    krait_infer_set_graphs(inf, graphs);
    krait_gen_params p = krait_gen_default_params();
    p.sample.temperature = 0.0f;
    p.max_tokens = MAXT;
    p.eos_id = eos;
    int32_t buf[NSEQ * MAXT];
    krait_status s = krait_generate(inf, buf, n, NULL, NULL, pp, len, NSEQ, &p, NULL, NULL);
    for (int i = 0; i < NSEQ; i++) memcpy(out[i], buf + i * MAXT, sizeof(int32_t) * MAXT);
    if (gs) *gs = krait_infer_graph_stats(inf);
    krait_infer_free(inf);
    return s;
}

static double rel_l2(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

static void decode_vs_cpu(krait_backend *gpu, krait_backend *cpu, const shape *sh)
{
    const int bf = gpu->act_dtype == KRAIT_DTYPE_BF16;
    const char *dn = krait_dtype_name(gpu->act_dtype);
    krait_model *mg = it_tiny_model(gpu, sh->D, sh->NL, sh->V, 21), *mc = it_tiny_model(cpu, sh->D, sh->NL, sh->V, 21);
    if (!tu_check(mg && mc, "%s: models", dn)) return;
    it_amplify_mixer(mg, 8.0f);
    it_amplify_mixer(mc, 8.0f);
    int32_t prompts[NSEQ][40];
    const int32_t *pp[NSEQ];
    int len[NSEQ] = { 1, 9, 37, 20 };
    for (int i = 0; i < NSEQ; i++) {
        for (int t = 0; t < 40; t++) prompts[i][t] = (int32_t)((i * 31 + t * 17 + 3) % sh->V);
        pp[i] = prompts[i];
    }
    int32_t oc[NSEQ][MAXT], og[NSEQ][MAXT], og2[NSEQ][MAXT];
    int nc[NSEQ], ng[NSEQ], ng2[NSEQ];
    krait_graph_stats gs;
    krait_status s = greedy(mc, 1, pp, len, -1, oc, nc, NULL);
    const int32_t eos = oc[2][MAXT / 2];   /* some rows stop there */
    s |= greedy(mc, 1, pp, len, eos, oc, nc, NULL);
    if (!bf) {
        s |= greedy(mg, 1, pp, len, eos, og, ng, &gs);
        s |= greedy(mg, 0, pp, len, eos, og2, ng2, NULL);
        tu_check(!s, "f32: generation ran");
        int same = 1, same_g = 1;
        for (int i = 0; i < NSEQ; i++) {
            same &= nc[i] == ng[i] && !memcmp(oc[i], og[i], sizeof(int32_t) * nc[i]);
            same_g &= ng2[i] == ng[i] && !memcmp(og2[i], og[i], sizeof(int32_t) * ng[i]);
        }
        printf("  f32 %s: lengths %d %d %d %d; graphs: %lld recorded, %lld replayed, %lld eager, %lld failed\n",
               gpu->name, ng[0], ng[1], ng[2], ng[3], gs.captures, gs.replays, gs.eager, gs.failures);
        tu_check(same, "f32: GPU greedy tokens == CPU greedy tokens, every sequence");
        tu_check(same_g, "f32: GPU tokens with graphs == without graphs");
        if (gpu->graph_begin) tu_check(gs.captures >= 1 && gs.replays > 0 && gs.failures == 0, "f32: the step ran from graphs");
    } else {
        /* teacher forcing: both fed the CPU's tokens of sequence 2 */
        krait_infer *ic = krait_infer_init(mc, 1, 64), *ig = krait_infer_init(mg, 1, 64);
        krait_state *sc = krait_state_init(mc, 1), *sg = krait_state_init(mg, 1);
        const int Vp = mc->cfg.vocab_size;
        float *lc = malloc(sizeof(float) * Vp), *lg = malloc(sizeof(float) * Vp);
        s |= krait_prefill(ic, lc, sc, pp[2], 1, len[2]) | krait_prefill(ig, lg, sg, pp[2], 1, len[2]);
        double worst = it_scaled_err(lg, lc, (size_t)sh->V);
        for (int t = 0; t < nc[2]; t++) {
            s |= krait_step(ic, lc, sc, &oc[2][t]) | krait_step(ig, lg, sg, &oc[2][t]);
            double e = it_scaled_err(lg, lc, (size_t)sh->V);
            if (e > worst) worst = e;
        }
        size_t per = krait_state_bytes_per_seq(mc) / sizeof(float);
        float *hc = malloc(per * sizeof(float)), *hg = malloc(per * sizeof(float));
        krait_state_download(mc, hc, sc);
        krait_state_download(mg, hg, sg);
        double e_state = rel_l2(hg, hc, per);
        printf("  bf16 %s: worst step logits error %.4f of scale, final state rel L2 %.4f\n", gpu->name, worst, e_state);
        tu_check(!s, "bf16: steps ran");
        tu_check(worst <= 0.05, "bf16: teacher-forced logits within 5%% of the scale (%.4f)", worst);
        tu_check(e_state <= 3e-2, "bf16: final state rel L2 %.4f <= 3e-2", e_state);
        free(hc); free(hg); free(lc); free(lg);
        krait_state_free(mc, sc);
        krait_state_free(mg, sg);
        krait_infer_free(ic);
        krait_infer_free(ig);
    }

    /* chunked prefill */
    const int L = sh->long_len, Vp = mc->cfg.vocab_size;
    int32_t *ids = malloc(sizeof(int32_t) * L);
    for (int t = 0; t < L; t++) ids[t] = (int32_t)((t * 7 + (t >> 3) * 13) % sh->V);
    krait_infer *ic = krait_infer_init(mc, 1, 512), *ig = krait_infer_init(mg, 1, 128);
    krait_state *sc = krait_state_init(mc, 1), *sg = krait_state_init(mg, 1);
    float *lc = malloc(sizeof(float) * Vp), *lg = malloc(sizeof(float) * Vp);
    s = krait_prefill(ic, lc, sc, ids, 1, L) | krait_prefill(ig, lg, sg, ids, 1, L);
    size_t per = krait_state_bytes_per_seq(mc) / sizeof(float);
    float *hc = malloc(per * sizeof(float)), *hg = malloc(per * sizeof(float));
    krait_state_download(mc, hc, sc);
    krait_state_download(mg, hg, sg);
    double es = rel_l2(hg, hc, per), el = rel_l2(lg, lc, (size_t)sh->V), tol = bf ? 3e-2 : 1e-4;
    printf("  %s prefill of %d tokens (GPU chunks 128, CPU 512): state rel L2 %.2e, logits rel L2 %.2e\n", dn, L, es, el);
    tu_check(!s && es <= tol && el <= tol, "%s: chunked prefill GPU == CPU (state %.2e, logits %.2e, tol %.0e)", dn, es,
             el, tol);
    free(ids); free(lc); free(lg); free(hc); free(hg);
    krait_state_free(mc, sc);
    krait_state_free(mg, sg);
    krait_infer_free(ic);
    krait_infer_free(ig);
    it_tiny_model_free(mg);
    it_tiny_model_free(mc);
}

#ifdef KRAIT_TEST_HAVE_CUDA
static size_t used_bytes(void)
{
    size_t fr = 0, tot = 0;
    if (cudaMemGetInfo(&fr, &tot) != cudaSuccess) return 0;
    return tot - fr;
}

static void million_prefill(void)
{
    krait_backend *be = krait_backend_cuda_init(0, KRAIT_DTYPE_BF16);
    if (!tu_check(be != NULL, "bf16 backend")) return;
    krait_config c;
    krait_config_default(&c);
    c.d_model = 768;
    c.n_layer = 24;
    c.vocab_size_raw = 50277;
    krait_config_finalize(&c, "130m");
    krait_model *m = krait_model_init(&c, be);
    krait_rng r;
    krait_rng_init(&r, 3);
    krait_model_init_weights(m, &r);
    const long L = 1000000;
    const int chunk = 4096;
    int32_t *ids = malloc(sizeof(int32_t) * L);
    for (long t = 0; t < L; t++) ids[t] = (int32_t)((t * 2654435761u >> 7) % 50277);
    krait_infer *inf = krait_infer_init(m, 1, chunk);
    krait_state *st = krait_state_init(m, 1);
    float *logits = malloc(sizeof(float) * c.vocab_size);
    krait_status s = krait_prefill(inf, logits, st, ids, 1, chunk);   /* warm: every buffer touched */
    be->sync(be);
    size_t before = used_bytes();
    double t0 = krait_now();
    s |= krait_prefill(inf, logits, st, ids, 1, L);
    be->sync(be);
    double dt = krait_now() - t0;
    size_t after = used_bytes();
    size_t per = krait_state_bytes_per_seq(m) / sizeof(float);
    float *h = malloc(per * sizeof(float));
    krait_state_download(m, h, st);
    int finite = 1;
    for (size_t i = 0; i < per; i++) finite &= isfinite(h[i]);
    for (int v = 0; v < c.vocab_size_raw; v++) finite &= isfinite(logits[v]);
    double grow = ((double)after - (double)before) / 1e6;
    printf("  1M-token prefill (130m shape, bf16, chunks of %d): %.2f s, %.0f tokens/s; device memory in use "
           "%.1f MB before, %.1f MB after (%+.1f MB)\n",
           chunk, dt, L / dt, before / 1e6, after / 1e6, grow);
    printf("{\"bench\":\"prefill_1m\",\"tokens\":%ld,\"chunk\":%d,\"seconds\":%.3f,\"tokens_per_s\":%.1f,"
           "\"mem_before_mb\":%.1f,\"mem_after_mb\":%.1f}\n", L, chunk, dt, L / dt, before / 1e6, after / 1e6);
    tu_check(!s, "1M-token prefill ran");
    tu_check(before > 0 && fabs(grow) <= 64.0, "1M-token prefill: device memory unchanged (%+.1f MB)", grow);
    tu_check(finite, "1M-token prefill: state and logits finite");
    free(h);
    free(ids);
    free(logits);
    krait_state_free(m, st);
    krait_infer_free(inf);
    krait_model_free(m);
    krait_backend_destroy(be);
}
#endif

int main(void)
{
    if (!gt_begin("test_gpu_decode")) return TU_SKIP;
    const char *sname = getenv("KRAIT_GPU_TEST_STANDIN");
    if (sname && !emu()) {
        printf("test_gpu_decode: only the emu stand-in is meaningful here: skipped\n");
        return TU_SKIP;
    }
    const shape sh = emu() ? (shape){ 32, 2, 61, 300 } : (shape){ 256, 4, 1000, 5000 };
    krait_backend *cpu = krait_backend_cpu_init(2);
    krait_dtype dts[2] = { KRAIT_DTYPE_F32, KRAIT_DTYPE_BF16 };
    for (int k = 0; k < 2; k++) {
        krait_backend *gpu = gt_device_backend(dts[k]);
        if (!tu_check(gpu != NULL, "%s backend", krait_dtype_name(dts[k]))) continue;
        decode_vs_cpu(gpu, cpu, &sh);
        krait_backend_destroy(gpu);
    }
    krait_backend_destroy(cpu);
#ifdef KRAIT_TEST_HAVE_CUDA
    if (!emu()) million_prefill();
#endif
    return tu_finish();
}
