/* core/infer.c — chunked prefill and the recurrent step; see infer.h. The state and its row
 * operations live in state.c.
 *
 * Prefill runs each row on its own through a one-row view, so a prompt's state and logits are
 * the same whatever else is in the batch. The logits come from the head (tied embedding or
 * lm_head) over the final-norm rows that are needed: the last prompt position, or the one
 * position of a step. */
#include "infer.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "state_impl.h"

#define TRY KRAIT_TRY

#define DEFAULT_CHUNK 512

/* A recorded decode step (graph_begin .. graph_end) and what it was recorded for. */
typedef struct step_graph {
    void *g;               /* the backend's graph; NULL: the key was seen once, not captured yet */
    int used;
    int B, mode;           /* mode: STEP_* */
    float temperature, min_p, rp;
    float **ptrs;          /* (2 NL) the state's conv and ssm pointers it was recorded with */
    unsigned long long last;
} step_graph;

enum { STEP_NO_HEAD = 0, STEP_LOGITS = 1, STEP_SAMPLE = 2 };
#define GRAPH_SLOTS 8

struct krait_infer {
    const krait_model *m;
    int max_batch, chunk;
    krait_acts *step;      /* (max_batch, 1) */
    krait_acts *pre;       /* (1, chunk) */
    krait_state *row;      /* one-row view, re-pointed by prefill */
    float *logits32;       /* (head_rows, V) device fp32, only when the act dtype is not f32 */
    /* sampling on the device (only when the backend has sample_rows) */
    int Vs;                /* the real vocabulary */
    int32_t *dtok;         /* (max_batch) device: sampled tokens */
    uint8_t *seen;         /* (max_batch, Vs) device */
    uint64_t *rng;         /* (max_batch, 2) device: seed, counter */
    uint8_t *seen_host;    /* (Vs) host staging */
    /* graphs (only when the backend has them) */
    int graphs_on;
    step_graph graph[GRAPH_SLOTS];
    unsigned long long clock;
    krait_graph_stats gstats;
};

/* ---- the inference context ------------------------------------------------------------------- */

size_t krait_infer_bytes(const krait_model *m, int max_batch, int chunk)
{
    if (chunk <= 0) chunk = DEFAULT_CHUNK;
    const size_t step = krait_acts_bytes(m, max_batch, 1, 0), pre = krait_acts_bytes(m, 1, chunk, 0);
    if (step == SIZE_MAX || pre == SIZE_MAX) return SIZE_MAX;
    const size_t V = (size_t)m->cfg.vocab_size, B = (size_t)max_batch;
    size_t n = step + pre;
    if (m->be->act_dtype != KRAIT_DTYPE_F32) n += (B > (size_t)chunk ? B : (size_t)chunk) * V * sizeof(float);
    if (m->be->sample_rows) n += B * (V + 5 * sizeof(uint32_t));
    return n;
}

krait_infer *krait_infer_init(const krait_model *m, int max_batch, int chunk)
{
    if (max_batch < 1) {
        KRAIT_ERROR("inference: the batch must hold at least one sequence (got %d)", max_batch);
        return NULL;
    }
    if (m->lm_head == SIZE_MAX) { /* a classifier: no next-token logits to decode from */
        KRAIT_ERROR("inference: the model has a \"%s\" head, not a language-model head: it cannot generate", m->cfg.head);
        return NULL;
    }
    krait_infer *inf = calloc(1, sizeof *inf);
    if (!inf) return NULL;
    inf->m = m;
    inf->max_batch = max_batch;
    inf->chunk = chunk > 0 ? chunk : DEFAULT_CHUNK;
    inf->step = krait_acts_init(m, max_batch, 1, 0);
    inf->pre = inf->step ? krait_acts_init(m, 1, inf->chunk, 0) : NULL;
    inf->row = krait_state_view_alloc(m);
    if (!inf->step || !inf->pre || !inf->row) goto fail;
    krait_backend *be = m->be;
    if (be->act_dtype != KRAIT_DTYPE_F32) {
        int rows = inf->step->head_rows > inf->pre->head_rows ? inf->step->head_rows : inf->pre->head_rows;
        if (rows < max_batch) rows = max_batch;   /* krait_infer_sample_logits converts B rows */
        inf->logits32 = be->alloc(be, (size_t)rows * m->cfg.vocab_size * sizeof(float));
        if (!inf->logits32) goto fail;
    }
    inf->Vs = krait_model_vocab_used(m);
    if (be->sample_rows && inf->step->head_rows >= max_batch) {
        inf->dtok = be->alloc(be, (size_t)max_batch * sizeof *inf->dtok);
        inf->seen = be->alloc(be, (size_t)max_batch * inf->Vs);
        inf->rng = be->alloc(be, (size_t)max_batch * 2 * sizeof *inf->rng);
        inf->seen_host = malloc((size_t)inf->Vs);
        if (!inf->dtok || !inf->seen || !inf->rng || !inf->seen_host) goto fail;
        if (be->zero(be, inf->seen, (size_t)max_batch * inf->Vs) ||
            be->zero(be, inf->rng, (size_t)max_batch * 2 * sizeof *inf->rng))
            goto fail;
    }
    if (be->graph_begin && be->graph_end && be->graph_launch && be->graph_free &&
        inf->step->head_rows >= max_batch) {
        for (int i = 0; i < GRAPH_SLOTS; i++) {
            inf->graph[i].ptrs = calloc((size_t)2 * m->cfg.n_layer, sizeof(float *));
            if (!inf->graph[i].ptrs) goto fail;
        }
        const char *env = getenv("KRAIT_GRAPHS");
        inf->graphs_on = !(env && !strcmp(env, "0"));
    }
    return inf;
fail:
    KRAIT_ERROR("inference: cannot allocate scratch for %d sequences and chunks of %d tokens",
                max_batch, inf->chunk);
    krait_infer_free(inf);
    return NULL;
}

void krait_infer_free(krait_infer *inf)
{
    if (!inf) return;
    const krait_model *m = inf->m;
    krait_backend *be = m->be;
    for (int i = 0; i < GRAPH_SLOTS; i++) {
        if (inf->graph[i].g) be->graph_free(be, inf->graph[i].g);
        free(inf->graph[i].ptrs);
    }
    if (inf->dtok) be->free(be, inf->dtok);
    if (inf->seen) be->free(be, inf->seen);
    if (inf->rng) be->free(be, inf->rng);
    free(inf->seen_host);
    if (inf->logits32) m->be->free(m->be, inf->logits32);
    krait_state_free(m, inf->row);
    krait_acts_free(m, inf->pre);
    krait_acts_free(m, inf->step);
    free(inf);
}

const krait_model *krait_infer_model(const krait_infer *inf) { return inf->m; }
int krait_infer_max_batch(const krait_infer *inf) { return inf->max_batch; }
int krait_infer_chunk(const krait_infer *inf) { return inf->chunk; }

/* host logits (rows, V) = head(hf rows), in blocks of a->head_rows rows through a->logits. */
static krait_status head_logits(krait_infer *inf, float *host, krait_acts *a, const void *hf, int rows)
{
    const krait_model *m = inf->m;
    krait_backend *be = m->be;
    const int D = m->cfg.d_model, V = m->cfg.vocab_size;
    const size_t as = krait_dtype_size(be->act_dtype);
    const void *W = krait_act_at(m, m->lm_head);
    for (int r0 = 0; r0 < rows; r0 += a->head_rows) {
        int n = rows - r0 < a->head_rows ? rows - r0 : a->head_rows;
        const void *x = (const char *)hf + (size_t)r0 * D * as;
        float *out = host + (size_t)r0 * V;
        TRY(be->linear_fwd(be, a->logits, V, x, D, W, NULL, n, V, D, 0.0f));
        if (be->act_dtype == KRAIT_DTYPE_F32) {
            TRY(be->download(be, out, a->logits, (size_t)n * V * sizeof(float)));
        } else {
            TRY(be->from_act(be, inf->logits32, a->logits, (size_t)n * V));
            TRY(be->download(be, out, inf->logits32, (size_t)n * V * sizeof(float)));
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_prefill(krait_infer *inf, float *logits, krait_state *st, const int32_t *tokens,
                           int B, long L)
{
    const krait_model *m = inf->m;
    const int D = m->cfg.d_model, V = m->cfg.vocab_size;
    if (B != st->B || L < 1) {
        KRAIT_ERROR("prefill: %d sequences of %ld tokens for a state of %d sequences (need >= 1 token each)",
                    B, L, st->B);
        return KRAIT_STATUS_BAD_INPUT;
    }
    krait_acts *a = inf->pre;
    for (int b = 0; b < B; b++) {
        TRY(krait_state_view_set(m, inf->row, st, b, 1));
        const int32_t *seq = tokens + (size_t)b * (size_t)L;
        for (long t0 = 0; t0 < L; t0 += inf->chunk) {
            int len = L - t0 < inf->chunk ? (int)(L - t0) : inf->chunk;
            TRY(krait_acts_set_shape(a, 1, len));
            TRY(krait_acts_set_batch(m, a, seq + t0, NULL));
            TRY(krait_model_forward(m, a, inf->row));
            if (logits && t0 + len == L) {
                const void *last = (const char *)a->hf + (size_t)(len - 1) * D * krait_dtype_size(m->be->act_dtype);
                TRY(head_logits(inf, logits + (size_t)b * V, a, last, 1));
            }
        }
    }
    return KRAIT_STATUS_OK;
}

/* ---- the decode step: eager or replayed from a graph ------------------------------------------ */

/* Everything of one step after the token upload, on the device only (so a graph may hold it):
 * the forward, then by mode nothing, the logits (fp32 in logits32 when the act dtype is not
 * f32), or the logits and the device sampler. */
static krait_status step_device(krait_infer *inf, krait_state *st, int mode, const krait_sample_params *p)
{
    const krait_model *m = inf->m;
    krait_backend *be = m->be;
    krait_acts *a = inf->step;
    const int B = st->B, D = m->cfg.d_model, V = m->cfg.vocab_size;
    TRY(krait_model_forward(m, a, st));
    if (mode == STEP_NO_HEAD) return KRAIT_STATUS_OK;
    TRY(be->linear_fwd(be, a->logits, V, a->hf, D, krait_act_at(m, m->lm_head), NULL, B, V, D, 0.0f));
    if (mode == STEP_SAMPLE) {
        float t = p->top_k == 1 ? 0.0f : p->temperature;
        return be->sample_rows(be, inf->dtok, p->repetition_penalty != 1.0f ? inf->seen : NULL, inf->rng,
                               a->logits, V, B, inf->Vs, t, p->min_p, p->repetition_penalty);
    }
    if (be->act_dtype != KRAIT_DTYPE_F32) return be->from_act(be, inf->logits32, a->logits, (size_t)B * V);
    return KRAIT_STATUS_OK;
}

static int graph_matches(const krait_infer *inf, const step_graph *g, const krait_state *st, int mode,
                         const krait_sample_params *p)
{
    const int NL = inf->m->cfg.n_layer;
    if (!g->used || g->B != st->B || g->mode != mode) return 0;
    if (mode == STEP_SAMPLE &&
        (g->temperature != (p->top_k == 1 ? 0.0f : p->temperature) || g->min_p != p->min_p ||
         g->rp != p->repetition_penalty))
        return 0;
    for (int i = 0; i < NL; i++)
        if (g->ptrs[i] != st->conv[i] || g->ptrs[NL + i] != st->ssm[i]) return 0;
    return 1;
}

/* Run step_device, through a graph when the backend has them: a key (batch, mode, sampling
 * scalars, state pointers) seen for the first time runs eagerly (first calls may set things up
 * on the host: GEMM heuristics, lazy module loads) and is remembered; the second time it is
 * recorded, and every later time replayed. A failed recording is logged once and turns graphs
 * off for this context; the step then runs eagerly, so the caller never sees the failure. */
static krait_status run_step(krait_infer *inf, krait_state *st, int mode, const krait_sample_params *p)
{
    krait_backend *be = inf->m->be;
    const int NL = inf->m->cfg.n_layer;
    if (!inf->graphs_on) {
        inf->gstats.eager++;
        return step_device(inf, st, mode, p);
    }
    inf->clock++;
    step_graph *g = NULL;
    for (int i = 0; i < GRAPH_SLOTS && !g; i++)
        if (graph_matches(inf, &inf->graph[i], st, mode, p)) g = &inf->graph[i];
    if (g && g->g) {
        g->last = inf->clock;
        inf->gstats.replays++;
        return be->graph_launch(be, g->g);
    }
    if (!g) {   /* first sight: remember the key in the least recently used slot, run eagerly */
        g = &inf->graph[0];
        for (int i = 1; i < GRAPH_SLOTS; i++)
            if (!inf->graph[i].used || (g->used && inf->graph[i].last < g->last)) g = &inf->graph[i];
        if (g->g) be->graph_free(be, g->g);
        g->g = NULL;
        g->used = 1;
        g->B = st->B;
        g->mode = mode;
        g->temperature = p ? (p->top_k == 1 ? 0.0f : p->temperature) : 0.0f;
        g->min_p = p ? p->min_p : 0.0f;
        g->rp = p ? p->repetition_penalty : 1.0f;
        for (int i = 0; i < NL; i++) {
            g->ptrs[i] = st->conv[i];
            g->ptrs[NL + i] = st->ssm[i];
        }
        g->last = inf->clock;
        inf->gstats.eager++;
        return step_device(inf, st, mode, p);
    }
    /* second sight: record, then run the recording */
    g->last = inf->clock;
    krait_status s = be->graph_begin(be);
    if (!s) {
        krait_status s_ops = step_device(inf, st, mode, p);
        void *graph = NULL;
        s = be->graph_end(be, &graph);
        if (!s && s_ops) {
            be->graph_free(be, graph);
            s = s_ops;
            graph = NULL;
        }
        g->g = graph;
    }
    if (s || !g->g) {
        KRAIT_WARN("inference: recording the decode step as a graph failed (%s); running it without graphs",
                   krait_status_string(s));
        inf->graphs_on = 0;
        inf->gstats.failures++;
        inf->gstats.eager++;
        return step_device(inf, st, mode, p);
    }
    inf->gstats.captures++;
    inf->gstats.replays++;
    return be->graph_launch(be, g->g);
}

static krait_status step_begin(krait_infer *inf, krait_state *st, const int32_t *tokens, const char *what)
{
    if (st->B > inf->max_batch) {
        KRAIT_ERROR("%s: %d sequences but the inference scratch holds %d", what, st->B, inf->max_batch);
        return KRAIT_STATUS_BAD_INPUT;
    }
    TRY(krait_acts_set_shape(inf->step, st->B, 1));
    return krait_acts_set_batch(inf->m, inf->step, tokens, NULL);
}

krait_status krait_step(krait_infer *inf, float *logits, krait_state *st, const int32_t *tokens)
{
    const krait_model *m = inf->m;
    krait_backend *be = m->be;
    krait_acts *a = inf->step;
    TRY(step_begin(inf, st, tokens, "step"));
    if (a->head_rows < st->B) {   /* a large vocabulary (head_rows = 16M / V < B): the head in blocks */
        TRY(krait_model_forward(m, a, st));
        return logits ? head_logits(inf, logits, a, a->hf, st->B) : KRAIT_STATUS_OK;
    }
    TRY(run_step(inf, st, logits ? STEP_LOGITS : STEP_NO_HEAD, NULL));
    if (!logits) return KRAIT_STATUS_OK;
    const size_t n = (size_t)st->B * m->cfg.vocab_size;
    return be->download(be, logits, be->act_dtype == KRAIT_DTYPE_F32 ? a->logits : (void *)inf->logits32,
                        n * sizeof(float));
}

/* ---- sampling on the device ------------------------------------------------------------------ */

int krait_infer_device_sampling(const krait_infer *inf, const krait_sample_params *p)
{
    return inf->dtok && (p->top_k <= 1 || p->top_k >= inf->Vs) && p->top_p >= 1.0f;
}

static krait_status need_device_sampler(const krait_infer *inf, int row, int n, const char *what)
{
    if (!inf->dtok) {
        KRAIT_ERROR("%s: the %s backend does not sample on the device", what, inf->m->be->name);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    if (row < 0 || n < 0 || row + n > inf->max_batch) {
        KRAIT_ERROR("%s: rows [%d, %d) are outside the %d rows of the sampler", what, row, row + n, inf->max_batch);
        return KRAIT_STATUS_BAD_INPUT;
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_infer_sampler_reset(krait_infer *inf, int row, uint64_t seed, const int32_t *ids, int n)
{
    TRY(need_device_sampler(inf, row, 1, "device sampler reset"));
    krait_backend *be = inf->m->be;
    memset(inf->seen_host, 0, (size_t)inf->Vs);
    for (int i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < inf->Vs) inf->seen_host[ids[i]] = 1;
    const uint64_t r[2] = { seed, 0 };
    TRY(be->upload(be, inf->seen + (size_t)row * inf->Vs, inf->seen_host, (size_t)inf->Vs));
    return be->upload(be, inf->rng + 2 * (size_t)row, r, sizeof r);
}

krait_status krait_infer_sampler_move(krait_infer *inf, int dst, int src)
{
    TRY(need_device_sampler(inf, dst, 1, "device sampler move"));
    TRY(need_device_sampler(inf, src, 1, "device sampler move"));
    krait_backend *be = inf->m->be;
    if (dst == src) return KRAIT_STATUS_OK;
    TRY(be->copy(be, inf->seen + (size_t)dst * inf->Vs, inf->seen + (size_t)src * inf->Vs, (size_t)inf->Vs));
    return be->copy(be, inf->rng + 2 * (size_t)dst, inf->rng + 2 * (size_t)src, 2 * sizeof *inf->rng);
}

static krait_status check_device_params(const krait_infer *inf, const krait_sample_params *p)
{
    TRY(krait_sample_check(p));
    if (krait_infer_device_sampling(inf, p)) return KRAIT_STATUS_OK;
    KRAIT_ERROR("device sampling: top-k > 1 and top-p < 1 are sampled on the host (krait_sampler)");
    return KRAIT_STATUS_UNSUPPORTED;
}

krait_status krait_infer_sample_logits(krait_infer *inf, int32_t *next, const float *logits, int B,
                                       const krait_sample_params *p)
{
    TRY(need_device_sampler(inf, 0, B, "device sampling"));
    TRY(check_device_params(inf, p));
    const krait_model *m = inf->m;
    krait_backend *be = m->be;
    krait_acts *a = inf->step;
    const int V = m->cfg.vocab_size;
    const size_t n = (size_t)B * V;
    if (be->act_dtype == KRAIT_DTYPE_F32) {
        TRY(be->upload(be, a->logits, logits, n * sizeof(float)));
    } else {
        TRY(be->upload(be, inf->logits32, logits, n * sizeof(float)));
        TRY(be->to_act(be, a->logits, inf->logits32, n));
    }
    float t = p->top_k == 1 ? 0.0f : p->temperature;
    TRY(be->sample_rows(be, inf->dtok, p->repetition_penalty != 1.0f ? inf->seen : NULL, inf->rng, a->logits, V,
                        B, inf->Vs, t, p->min_p, p->repetition_penalty));
    return be->download(be, next, inf->dtok, (size_t)B * sizeof *next);
}

krait_status krait_step_sample(krait_infer *inf, int32_t *next, krait_state *st, const int32_t *tokens,
                               const krait_sample_params *p)
{
    TRY(need_device_sampler(inf, 0, st->B, "step with device sampling"));
    TRY(check_device_params(inf, p));
    TRY(step_begin(inf, st, tokens, "step"));
    TRY(run_step(inf, st, STEP_SAMPLE, p));
    krait_backend *be = inf->m->be;
    return be->download(be, next, inf->dtok, (size_t)st->B * sizeof *next);
}

/* ---- graphs ---------------------------------------------------------------------------------- */

void krait_infer_set_graphs(krait_infer *inf, int on)
{
    krait_backend *be = inf->m->be;
    int can = be->graph_begin && inf->graph[0].ptrs;
    inf->graphs_on = on && can;
    if (!inf->graphs_on)
        for (int i = 0; i < GRAPH_SLOTS; i++) {
            if (inf->graph[i].g) be->graph_free(be, inf->graph[i].g);
            inf->graph[i].g = NULL;
            inf->graph[i].used = 0;
        }
}

int krait_infer_graphs(const krait_infer *inf) { return inf->graphs_on; }

krait_graph_stats krait_infer_graph_stats(const krait_infer *inf) { return inf->gstats; }
