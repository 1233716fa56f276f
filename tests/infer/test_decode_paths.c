/* tests/infer/test_decode_paths.c — the host-side logic of the accelerated decode path, on the
 * CPU (label cpu):
 *   1. the fused decode ops (conv1d_step + ssm_step, forward.c) == the generic L = 1 ops on
 *      cpu-ref: 24 greedy steps after a prompt, logits and states bit for bit;
 *   2. graphs: a recording backend ("rec": cpu-ref whose decode ops are recorded between
 *      graph_begin and graph_end and replayed by graph_launch, as CUDA stream capture does; any
 *      upload, download, sync, alloc or unrecorded op while recording is a failure) with the
 *      reference sampler as sample_rows. Greedy and stochastic generation with graphs == the
 *      same with graphs off, token for token, with rows leaving the batch (new batch sizes:
 *      new recordings) — and the first sight of a key runs eagerly, the second records, later
 *      ones replay; a state at other addresses is never served a stale recording;
 *   3. device-sampled greedy == host-sampled greedy (krait_sampler), token for token;
 *   4. device-sampled stochastic generation: a sequence's tokens do not depend on the batch;
 *   5. a recording that fails (graph_end refuses) is reported once, graphs turn off and the
 *      tokens are still right. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_internal.h"
#include "generate.h"
#include "log.h"
#include "infer_testutil.h"
#include "testutil.h"

/* ---- the recording backend ------------------------------------------------------------------- */
enum { R_EMB, R_NORM, R_LIN, R_CONV, R_SSM, R_SAMPLE };

typedef struct rec_call {
    int op;
    void *p[10];
    int i[10];
    float f[4];
} rec_call;

typedef struct rec_graph {
    int n;
    rec_call c[512];
} rec_graph;

typedef struct rec {
    krait_backend be;     /* first: what core sees */
    krait_backend *in;    /* cpu-ref */
    rec_graph *cur;       /* recording into, or NULL */
    int bad;              /* something that cannot be recorded happened while recording */
    int fail_end;         /* make graph_end fail */
    int launches;
} rec;

static rec *R(krait_backend *be) { return (rec *)be; }

static rec_call *push(krait_backend *be, int op)
{
    rec *r = R(be);
    if (r->cur->n == 512) {
        r->bad = 1;
        return NULL;
    }
    rec_call *c = &r->cur->c[r->cur->n++];
    memset(c, 0, sizeof *c);
    c->op = op;
    return c;
}

static krait_status emb(krait_backend *be, float *out, const int32_t *ids, const float *W, int M, int D)
{
    if (!R(be)->cur) return embedding_fwd_ref(be, out, ids, W, M, D);
    rec_call *c = push(be, R_EMB);
    if (c) *c = (rec_call){ R_EMB, { out, (void *)ids, (void *)W }, { M, D }, { 0 } };
    return KRAIT_STATUS_OK;
}

static krait_status norm(krait_backend *be, float *r_out, void *y, float *rstd, const float *r_in, const void *x,
                         const float *w, int M, int D, float eps)
{
    if (!R(be)->cur) return add_rmsnorm_fwd_ref(be, r_out, y, rstd, r_in, x, w, M, D, eps);
    rec_call *c = push(be, R_NORM);
    if (c) *c = (rec_call){ R_NORM, { r_out, y, rstd, (void *)r_in, (void *)x, (void *)w }, { M, D }, { eps } };
    return KRAIT_STATUS_OK;
}

static krait_status lin(krait_backend *be, void *Y, int ldy, const void *X, int ldx, const void *W,
                        const float *bias, int M, int Nout, int K, float beta)
{
    if (!R(be)->cur) return linear_fwd_ref(be, Y, ldy, X, ldx, W, bias, M, Nout, K, beta);
    rec_call *c = push(be, R_LIN);
    if (c) *c = (rec_call){ R_LIN, { Y, (void *)X, (void *)W, (void *)bias }, { ldy, ldx, M, Nout, K }, { beta } };
    return KRAIT_STATUS_OK;
}

static krait_status conv(krait_backend *be, void *u, float *state, const void *x, int ldx, const float *w,
                         const float *bias, int B, int E, int K)
{
    if (!R(be)->cur) return conv1d_step_ref(be, u, state, x, ldx, w, bias, B, E, K);
    rec_call *c = push(be, R_CONV);
    if (c) *c = (rec_call){ R_CONV, { u, state, (void *)x, (void *)w, (void *)bias }, { ldx, B, E, K }, { 0 } };
    return KRAIT_STATUS_OK;
}

static krait_status ssm(krait_backend *be, void *out, float *h, const void *u, const void *dbc, int ldbc,
                        const void *dt_w, const float *dt_bias, const float *A_log, const float *Dskip,
                        const void *z, int ldz, int B, int E, int N, int Rk)
{
    if (!R(be)->cur) return ssm_step_ref(be, out, h, u, dbc, ldbc, dt_w, dt_bias, A_log, Dskip, z, ldz, B, E, N, Rk);
    rec_call *c = push(be, R_SSM);
    if (c)
        *c = (rec_call){ R_SSM,
                         { out, h, (void *)u, (void *)dbc, (void *)dt_w, (void *)dt_bias, (void *)A_log,
                           (void *)Dskip, (void *)z },
                         { ldbc, ldz, B, E, N, Rk },
                         { 0 } };
    return KRAIT_STATUS_OK;
}

static krait_status smp(krait_backend *be, int32_t *tokens, uint8_t *seen, uint64_t *rng, const void *logits,
                        int ld, int B, int V, float t, float min_p, float rp)
{
    if (!R(be)->cur) return sample_rows_ref(be, tokens, seen, rng, logits, ld, B, V, t, min_p, rp);
    rec_call *c = push(be, R_SAMPLE);
    if (c) *c = (rec_call){ R_SAMPLE, { tokens, seen, rng, (void *)logits }, { ld, B, V }, { t, min_p, rp } };
    return KRAIT_STATUS_OK;
}

/* Host traffic and unrecorded ops while recording are failures of the caller. */
static krait_status up(krait_backend *be, void *d, const void *s, size_t n)
{
    if (R(be)->cur) R(be)->bad = 1;
    return R(be)->in->upload(R(be)->in, d, s, n);
}
static krait_status down(krait_backend *be, void *d, const void *s, size_t n)
{
    if (R(be)->cur) R(be)->bad = 1;
    return R(be)->in->download(R(be)->in, d, s, n);
}
static krait_status syn(krait_backend *be)
{
    if (R(be)->cur) R(be)->bad = 1;
    return KRAIT_STATUS_OK;
}
static krait_status cpy(krait_backend *be, void *d, const void *s, size_t n)
{
    if (R(be)->cur) R(be)->bad = 1;
    return R(be)->in->copy(R(be)->in, d, s, n);
}
static krait_status convf(krait_backend *be, void *out, float *so, const void *x, int ldx, const float *w,
                          const float *b, const float *si, int B, int L, int E, int K, int silu)
{
    if (R(be)->cur) R(be)->bad = 1;
    return conv1d_fwd_ref(be, out, so, x, ldx, w, b, si, B, L, E, K, silu);
}

static krait_status g_begin(krait_backend *be)
{
    rec *r = R(be);
    r->cur = calloc(1, sizeof *r->cur);
    r->bad = 0;
    return r->cur ? KRAIT_STATUS_OK : KRAIT_STATUS_NO_MEMORY;
}

static krait_status g_end(krait_backend *be, void **graph)
{
    rec *r = R(be);
    *graph = NULL;
    rec_graph *g = r->cur;
    r->cur = NULL;
    if (r->bad || r->fail_end) {
        free(g);
        return KRAIT_STATUS_DEVICE;
    }
    *graph = g;
    return KRAIT_STATUS_OK;
}

static krait_status g_launch(krait_backend *be, void *graph)
{
    const rec_graph *g = graph;
    R(be)->launches++;
    for (int k = 0; k < g->n; k++) {
        const rec_call *c = &g->c[k];
        void *const *p = c->p;
        const int *i = c->i;
        const float *f = c->f;
        krait_status s = KRAIT_STATUS_OK;
        switch (c->op) {
        case R_EMB: s = embedding_fwd_ref(be, p[0], p[1], p[2], i[0], i[1]); break;
        case R_NORM: s = add_rmsnorm_fwd_ref(be, p[0], p[1], p[2], p[3], p[4], p[5], i[0], i[1], f[0]); break;
        case R_LIN: s = linear_fwd_ref(be, p[0], i[0], p[1], i[1], p[2], p[3], i[2], i[3], i[4], f[0]); break;
        case R_CONV: s = conv1d_step_ref(be, p[0], p[1], p[2], i[0], p[3], p[4], i[1], i[2], i[3]); break;
        case R_SSM:
            s = ssm_step_ref(be, p[0], p[1], p[2], p[3], i[0], p[4], p[5], p[6], p[7], p[8], i[1], i[2], i[3], i[4],
                             i[5]);
            break;
        case R_SAMPLE: s = sample_rows_ref(be, p[0], p[1], p[2], p[3], i[0], i[1], i[2], f[0], f[1], f[2]); break;
        }
        if (s) return s;
    }
    return KRAIT_STATUS_OK;
}

static void g_free(krait_backend *be, void *graph)
{
    (void)be;
    free(graph);
}

static void rec_destroy(krait_backend *be)
{
    krait_backend_destroy(R(be)->in);
    free(be);
}

static krait_backend *rec_init(int with_graphs)
{
    rec *r = calloc(1, sizeof *r);
    r->in = krait_backend_cpu_ref_init();
    r->be = *r->in;
    r->be.name = "rec";
    r->be.destroy = rec_destroy;
    r->be.embedding_fwd = emb;
    r->be.add_rmsnorm_fwd = norm;
    r->be.linear_fwd = lin;
    r->be.conv1d_step = conv;
    r->be.ssm_step = ssm;
    r->be.sample_rows = smp;
    r->be.upload = up;
    r->be.download = down;
    r->be.sync = syn;
    r->be.copy = cpy;
    r->be.conv1d_fwd = convf;
    if (with_graphs) {
        r->be.graph_begin = g_begin;
        r->be.graph_end = g_end;
        r->be.graph_launch = g_launch;
        r->be.graph_free = g_free;
    }
    return &r->be;
}

/* ---- tests ------------------------------------------------------------------------------------ */
enum { D = 32, NL = 2, V = 61, NSEQ = 5, MAXT = 30, PLEN = 7 };

static void fused_vs_generic(void)
{
    krait_backend *bf = krait_backend_cpu_ref_init(), *bg = krait_backend_cpu_ref_init();
    bg->conv1d_step = NULL;
    bg->ssm_step = NULL;
    krait_model *mf = it_tiny_model(bf, D, NL, V, 11), *mg = it_tiny_model(bg, D, NL, V, 11);
    it_amplify_mixer(mf, 8.0f);
    it_amplify_mixer(mg, 8.0f);
    krait_infer *inf_f = krait_infer_init(mf, 1, 16), *inf_g = krait_infer_init(mg, 1, 16);
    krait_state *sf = krait_state_init(mf, 1), *sg = krait_state_init(mg, 1);
    const int Vp = mf->cfg.vocab_size;
    float *lf = malloc(sizeof(float) * Vp), *lg = malloc(sizeof(float) * Vp);
    int32_t prompt[PLEN] = { 3, 1, 4, 1, 5, 9, 2 };
    krait_prefill(inf_f, lf, sf, prompt, 1, PLEN);
    krait_prefill(inf_g, lg, sg, prompt, 1, PLEN);
    int same = 1;
    for (int t = 0; t < 24; t++) {
        int32_t tok = it_argmax(lf, V);
        krait_status s1 = krait_step(inf_f, lf, sf, &tok), s2 = krait_step(inf_g, lg, sg, &tok);
        same &= !s1 && !s2 && !memcmp(lf, lg, sizeof(float) * Vp);
    }
    size_t per = krait_state_bytes_per_seq(mf) / sizeof(float);
    float *hf = malloc(per * sizeof(float)), *hg = malloc(per * sizeof(float));
    krait_state_download(mf, hf, sf);
    krait_state_download(mg, hg, sg);
    tu_check(same, "cpu-ref: fused decode ops == generic L = 1 ops, 24 steps of logits bit for bit");
    tu_check(!memcmp(hf, hg, per * sizeof(float)), "cpu-ref: fused decode ops == generic ops, final state bit for bit");
    free(hf); free(hg); free(lf); free(lg);
    krait_state_free(mf, sf);
    krait_state_free(mg, sg);
    krait_infer_free(inf_f);
    krait_infer_free(inf_g);
    it_tiny_model_free(mf);
    it_tiny_model_free(mg);
    krait_backend_destroy(bf);
    krait_backend_destroy(bg);
}

typedef struct run {
    int32_t out[NSEQ][MAXT];
    int n[NSEQ];
    krait_stop_reason why[NSEQ];
    krait_graph_stats gs;
} run;

static int32_t prompts_buf[NSEQ][PLEN + NSEQ];

static krait_status gen(krait_backend *be, int graphs, int B, int first, const krait_gen_params *gp, run *r)
{
    krait_model *m = it_tiny_model(be, D, NL, V, 5);
    it_amplify_mixer(m, 8.0f);
    krait_infer *inf = krait_infer_init(m, NSEQ, 8);
    krait_infer_set_graphs(inf, graphs);
    const int32_t *pp[NSEQ];
    int len[NSEQ];
    uint64_t seeds[NSEQ];
    for (int i = 0; i < B; i++) {
        pp[i] = prompts_buf[first + i];
        len[i] = PLEN + first + i;
        seeds[i] = 1000 + (uint64_t)(first + i);
    }
    krait_gen_params p = *gp;
    p.seeds = seeds;
    int32_t *out = malloc(sizeof(int32_t) * (size_t)B * p.max_tokens);
    memset(r, 0, sizeof *r);
    krait_status s = krait_generate(inf, out, r->n, r->why, NULL, pp, len, B, &p, NULL, NULL);
    for (int i = 0; i < B; i++) memcpy(r->out[i], out + (size_t)i * p.max_tokens, sizeof(int32_t) * r->n[i]);
    r->gs = krait_infer_graph_stats(inf);
    free(out);
    krait_infer_free(inf);
    it_tiny_model_free(m);
    return s;
}

static int same_runs(const run *a, const run *b, int B)
{
    for (int i = 0; i < B; i++)
        if (a->n[i] != b->n[i] || a->why[i] != b->why[i] || memcmp(a->out[i], b->out[i], sizeof(int32_t) * a->n[i]))
            return 0;
    return 1;
}

static void graphs_and_device_sampling(void)
{
    for (int i = 0; i < NSEQ; i++)
        for (int t = 0; t < PLEN + NSEQ; t++) prompts_buf[i][t] = (int32_t)((i * 13 + t * 7 + 1) % V);
    krait_backend *rg = rec_init(1);
    krait_gen_params greedy = krait_gen_default_params();
    greedy.sample.temperature = 0.0f;
    greedy.sample.repetition_penalty = 1.3f;
    greedy.max_tokens = MAXT;
    static run a, b, c, d;
    gen(rg, 0, NSEQ, 0, &greedy, &a);
    greedy.eos_id = a.out[1][9];   /* a token some rows generate: they stop early, the batch shrinks */
    krait_status s1 = gen(rg, 1, NSEQ, 0, &greedy, &a), s2 = gen(rg, 0, NSEQ, 0, &greedy, &b);
    tu_check(!s1 && !s2, "greedy generation ran (graphs %d, eager %d)", s1, s2);
    tu_check(same_runs(&a, &b, NSEQ), "greedy with graphs == without, token for token");
    int shrunk = 0;
    for (int i = 0; i < NSEQ; i++) shrunk |= a.n[i] < MAXT;
    printf("  greedy: graph stats captures %lld replays %lld eager %lld failures %lld; lengths %d %d %d %d %d\n",
           a.gs.captures, a.gs.replays, a.gs.eager, a.gs.failures, a.n[0], a.n[1], a.n[2], a.n[3], a.n[4]);
    tu_check(a.gs.captures >= 1 && a.gs.replays > a.gs.captures && a.gs.failures == 0,
             "graphs were recorded once per key and replayed");
    tu_check(shrunk, "rows left the batch (EOS %d)", greedy.eos_id);
    tu_check(b.gs.captures == 0 && b.gs.replays == 0, "graphs off: nothing recorded");
    tu_check(R(rg)->bad == 0, "nothing host-bound ran while recording");

    krait_gen_params host = greedy;
    host.sample_on_host = 1;
    gen(rg, 1, NSEQ, 0, &host, &c);
    tu_check(same_runs(&a, &c, NSEQ), "device-sampled greedy == host-sampled greedy (krait_sampler)");

    krait_gen_params sto = greedy;
    sto.sample.temperature = 0.9f;
    sto.sample.min_p = 0.02f;
    gen(rg, 1, NSEQ, 0, &sto, &a);
    gen(rg, 0, NSEQ, 0, &sto, &b);
    tu_check(same_runs(&a, &b, NSEQ), "device-sampled stochastic generation with graphs == without");
    int alone_ok = 1;
    for (int i = 0; i < NSEQ; i++) {
        gen(rg, 1, 1, i, &sto, &d);
        alone_ok &= d.n[0] == a.n[i] && !memcmp(d.out[0], a.out[i], sizeof(int32_t) * d.n[0]);
    }
    tu_check(alone_ok, "device-sampled stochastic: each sequence alone == in the batch");
    krait_backend_destroy(rg);

    /* a state at other addresses must never replay a stale recording */
    krait_backend *rs = rec_init(1);
    krait_model *m = it_tiny_model(rs, D, NL, V, 5);
    krait_infer *inf = krait_infer_init(m, 2, 8);
    krait_state *s_a = krait_state_init(m, 2), *s_b = krait_state_init(m, 2), *s_ref = krait_state_init(m, 2);
    krait_infer *inf_ref = krait_infer_init(m, 2, 8);
    krait_infer_set_graphs(inf_ref, 0);
    const int Vp = m->cfg.vocab_size;
    float *l1 = malloc(sizeof(float) * 2 * Vp), *l2 = malloc(sizeof(float) * 2 * Vp);
    int ok = 1;
    for (int t = 0; t < 6; t++) {
        int32_t tok[2] = { t % V, (3 * t + 1) % V };
        krait_state *st = t % 2 ? s_b : s_a;   /* alternate two states: two keys */
        ok &= !krait_step(inf, l1, st, tok);
        if (t % 2 == 0) ok &= !krait_step(inf_ref, l2, s_ref, tok) && !memcmp(l1, l2, sizeof(float) * 2 * Vp);
    }
    krait_graph_stats gs = krait_infer_graph_stats(inf);
    tu_check(ok, "alternating two states: each continues as its own eager twin, bit for bit");
    tu_check(gs.captures == 2 && gs.replays == 4 && gs.eager == 2,
             "two keys: 2 eager first sights, 2 recordings, 4 replays (got %lld, %lld, %lld)", gs.eager,
             gs.captures, gs.replays);
    free(l1);
    free(l2);
    krait_state_free(m, s_a);
    krait_state_free(m, s_b);
    krait_state_free(m, s_ref);
    krait_infer_free(inf);
    krait_infer_free(inf_ref);
    it_tiny_model_free(m);
    krait_backend_destroy(rs);

    /* a failing recording: reported, graphs off, results unchanged */
    krait_backend *rf = rec_init(1);
    R(rf)->fail_end = 1;
    krait_log_set(NULL, NULL, KRAIT_LOG_ERROR);   /* the expected warning is not news */
    krait_status sf = gen(rf, 1, NSEQ, 0, &greedy, &a);
    krait_log_set(NULL, NULL, KRAIT_LOG_INFO);
    gen(rf, 0, NSEQ, 0, &greedy, &b);
    tu_check(!sf && a.gs.failures == 1 && a.gs.replays == 0, "a failed recording falls back (status %d, failures %lld)",
             sf, a.gs.failures);
    tu_check(same_runs(&a, &b, NSEQ), "after a failed recording the tokens are unchanged");
    krait_backend_destroy(rf);
}

int main(void)
{
    tu_init("test_decode_paths");
    fused_vs_generic();
    graphs_and_device_sampling();
    return tu_finish();
}
