/* core/classify.c — the classification head: pooling, the linear head and its loss, training
 * through the backbone's backward, batched inference and streaming over long sequences; see
 * classify.h.
 *
 * The head (C x D) is small, so it runs on the host in double: hf comes down from the backend
 * once per pass, dL/dhf goes up once. The backbone work stays on the backend. */
#include "classify.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define TRY KRAIT_TRY

int krait_cls_rows(const krait_model *m, int B) { return m->cfg.bidirectional ? 2 * B : B; }

static krait_status need_classifier(const krait_model *m)
{
    if (krait_model_is_classifier(m)) return KRAIT_STATUS_OK;
    KRAIT_ERROR("this model has a language-model head, not a classification head");
    return KRAIT_STATUS_BAD_INPUT;
}

/* ---- the head on the host --------------------------------------------------------------------- */

typedef struct head {
    int C, D;
    float *W, *b;   /* (C, D), (C) fp32 copies of the master weights */
} head;

/* Copy the head's current weights down into h->W, h->b (carved by the caller). */
static krait_status head_load(const krait_model *m, head *h)
{
    krait_backend *be = m->be;
    h->C = m->cfg.n_classes;
    h->D = m->cfg.d_model;
    TRY(be->download(be, h->W, m->params + m->cls_w, (size_t)h->C * h->D * sizeof(float)));
    return be->download(be, h->b, m->params + m->cls_b, (size_t)h->C * sizeof(float));
}

/* The host work of one training step or one batch: measured by one function from the shapes,
 * carved from the activations' host block (krait_acts_host, kept across steps), so a step
 * allocates nothing once the first has grown the block. */
typedef struct work {
    double *pooled, *dpooled;   /* (R, D) pooled hidden states and their gradient */
    double *gW, *gb;            /* (C, D), (C) the head's gradient */
    double *feat, *p;           /* (D), (C) one row's features and probabilities */
    head h;                     /* the head's weights */
    float *hf;                  /* (R, L, D) hidden states down, then dL/dhf up */
    float *stage;               /* (C * D) the head's gradient on its way into grads */
    int32_t *lens, *labels;     /* (R), (R) */
    void *rows;                 /* (R, L, width) the inputs with their reverses (bidirectional) */
} work;

/* Carve w for R pooled rows, of which hf_rows pass through the backbone at once, of L positions
 * whose inputs take in_bytes per position (0: no reversed copy). Doubles first, so every double
 * sits on an 8-byte boundary of the block. */
static krait_status work_carve(const krait_model *m, krait_acts *a, int R, int hf_rows, int L, size_t in_bytes,
                               work *w)
{
    const size_t D = (size_t)m->cfg.d_model, C = (size_t)m->cfg.n_classes, RL = (size_t)R * L;
    const size_t n_double = 2 * R * D + C * D + C + D + C;
    const size_t n_float = 2 * n_double + C * D + C + (size_t)hf_rows * L * D + C * D + 2 * (size_t)R +
                           (RL * in_bytes + 3) / 4;
    float *f = krait_acts_host(a, n_float);
    if (!f) {
        KRAIT_ERROR("cannot allocate the classification head's %zu MB of host work", n_float * 4 >> 20);
        return KRAIT_STATUS_NO_MEMORY;
    }
    double *d = (double *)(void *)f;
    w->pooled = d, d += R * D;
    w->dpooled = d, d += R * D;
    w->gW = d, d += C * D;
    w->gb = d, d += C;
    w->feat = d, d += D;
    w->p = d, d += C;
    f = (float *)(void *)d;
    w->h.W = f, f += C * D;
    w->h.b = f, f += C;
    w->hf = f, f += (size_t)hf_rows * L * D;
    w->stage = f, f += C * D;
    w->lens = (int32_t *)(void *)f, f += R;
    w->labels = (int32_t *)(void *)f, f += R;
    w->rows = f;
    return KRAIT_STATUS_OK;
}

/* p (C) = softmax(W feat + b). */
static void head_probs(const head *h, const double *feat, double *p)
{
    double mx = -INFINITY;
    for (int c = 0; c < h->C; c++) {
        double z = h->b[c];
        const float *w = h->W + (size_t)c * h->D;
        for (int d = 0; d < h->D; d++) z += w[d] * feat[d];
        p[c] = z;
        if (z > mx) mx = z;
    }
    double sum = 0;
    for (int c = 0; c < h->C; c++) sum += (p[c] = exp(p[c] - mx));
    for (int c = 0; c < h->C; c++) p[c] /= sum;
}

/* ---- inputs, hidden states ------------------------------------------------------------------- */

/* Rows [0, B) are the sequences as given; rows [B, 2B) their reverses over 0..len-1 (the pad
 * positions keep their values). width = values per position (1 for ids, F for features). */
static void *with_reversed(void *dst_, const void *src, const int32_t *lens, int B, int L, size_t width,
                           size_t elem)
{
    const size_t row = (size_t)L * width * elem, pos = width * elem;
    char *dst = dst_;
    memcpy(dst, src, (size_t)B * row);
    for (int b = 0; b < B; b++) {
        const char *in = (const char *)src + b * row;
        char *out = dst + (size_t)(B + b) * row;
        memcpy(out, in, row);
        for (int t = 0; t < lens[b]; t++) memcpy(out + t * pos, in + (size_t)(lens[b] - 1 - t) * pos, pos);
    }
    return dst;
}

static krait_status set_inputs(const krait_model *m, krait_acts *a, const int32_t *ids, const float *feats)
{
    if (m->cfg.input_dim > 0) {
        if (!feats) {
            KRAIT_ERROR("this model reads %d-value feature vectors; no features were given", m->cfg.input_dim);
            return KRAIT_STATUS_BAD_INPUT;
        }
        return krait_acts_set_features(m, a, feats);
    }
    if (!ids) {
        KRAIT_ERROR("this model reads token ids; none were given");
        return KRAIT_STATUS_BAD_INPUT;
    }
    return krait_acts_set_batch(m, a, ids, NULL);
}

/* hf (a->M, D) of the last forward, as fp32 on the host. */
static krait_status download_hf(const krait_model *m, krait_acts *a, float *host)
{
    krait_backend *be = m->be;
    const size_t n = (size_t)a->M * m->cfg.d_model;
    if (be->act_dtype == KRAIT_DTYPE_F32) return be->download(be, host, a->hf, n * sizeof(float));
    TRY(be->from_act(be, a->pool_f32, a->hf, n));
    return be->download(be, host, a->pool_f32, n * sizeof(float));
}

static krait_status upload_dhf(const krait_model *m, krait_acts *a, const float *host)
{
    krait_backend *be = m->be;
    const size_t n = (size_t)a->M * m->cfg.d_model;
    if (be->act_dtype == KRAIT_DTYPE_F32) return be->upload(be, a->dhf, host, n * sizeof(float));
    TRY(be->upload(be, a->pool_f32, host, n * sizeof(float)));
    return be->to_act(be, a->dhf, a->pool_f32, n);
}

static int mean_pooling(const krait_model *m) { return strcmp(m->cfg.pooling, "last") != 0; }

/* pooled (D) of one row's hidden states hf (L, D) over positions 0..len-1. */
static void pool_row(const krait_model *m, const float *hf, int len, double *pooled)
{
    const int D = m->cfg.d_model;
    if (!mean_pooling(m)) {
        for (int d = 0; d < D; d++) pooled[d] = hf[(size_t)(len - 1) * D + d];
        return;
    }
    for (int d = 0; d < D; d++) pooled[d] = 0;
    for (int t = 0; t < len; t++)
        for (int d = 0; d < D; d++) pooled[d] += hf[(size_t)t * D + d];
    for (int d = 0; d < D; d++) pooled[d] /= len;
}

/* dL/dhf of one row (L, D, zero outside the pooled positions) from dL/dpooled. */
static void pool_row_backward(const krait_model *m, float *dhf, int len, const double *dpooled)
{
    const int D = m->cfg.d_model;
    if (!mean_pooling(m)) {
        for (int d = 0; d < D; d++) dhf[(size_t)(len - 1) * D + d] = (float)dpooled[d];
        return;
    }
    for (int t = 0; t < len; t++)
        for (int d = 0; d < D; d++) dhf[(size_t)t * D + d] = (float)(dpooled[d] / len);
}

/* Forward R rows of L positions (a already shaped R x L) and pool each: pooled (R, D), through
 * hf (R, L, D) host. */
static krait_status forward_pooled(const krait_model *m, krait_acts *a, const int32_t *ids, const float *feats,
                                   const int32_t *lens, float *hf, double *pooled)
{
    const int R = a->B, L = a->L, D = m->cfg.d_model;
    TRY(set_inputs(m, a, ids, feats));
    TRY(krait_model_forward(m, a, NULL));
    TRY(download_hf(m, a, hf));
    for (int r = 0; r < R; r++)
        if (lens[r] > 0) pool_row(m, hf + (size_t)r * L * D, lens[r], pooled + (size_t)r * D);
    return KRAIT_STATUS_OK;
}

/* Row lengths and labels from a training batch's targets (see classify.h). */
static krait_status parse_targets(const krait_model *m, const int32_t *targets, int B, int L, int32_t *lens,
                                  int32_t *labels)
{
    for (int b = 0; b < B; b++) {
        const int32_t *t = targets + (size_t)b * L;
        int len = 0;
        while (len < L && t[len] >= 0) len++;
        for (int i = len; i < L; i++)
            if (t[i] >= 0) {
                KRAIT_ERROR("classification batch row %d: a label at position %d after padding at %d "
                            "(labels must cover positions 0..len-1)", b, i, len);
                return KRAIT_STATUS_BAD_INPUT;
            }
        for (int i = 1; i < len; i++)
            if (t[i] != t[0]) {
                KRAIT_ERROR("classification batch row %d: labels %d and %d in one sequence", b, t[0], t[i]);
                return KRAIT_STATUS_BAD_INPUT;
            }
        if (len && t[0] >= m->cfg.n_classes) {
            KRAIT_ERROR("classification batch row %d: label %d is outside the %d classes", b, t[0],
                        m->cfg.n_classes);
            return KRAIT_STATUS_BAD_INPUT;
        }
        lens[b] = len;
        labels[b] = len ? t[0] : -1;
    }
    return KRAIT_STATUS_OK;
}

/* grads[off .. off + n) += add (host), through stage (n, host): the grads may be on a device. */
static krait_status accumulate(krait_backend *be, float *grads, size_t off, const double *add, size_t n,
                               float *stage)
{
    TRY(be->download(be, stage, grads + off, n * sizeof *stage));
    for (size_t i = 0; i < n; i++) stage[i] += (float)add[i];
    return be->upload(be, grads + off, stage, n * sizeof *stage);
}

/* ---- training --------------------------------------------------------------------------------- */

krait_status krait_cls_forward_backward(const krait_model *m, krait_acts *a, float *grads,
                                        const int32_t *ids, const float *feats,
                                        const int32_t *targets, double *loss, long *n_rows)
{
    TRY(need_classifier(m));
    const int bi = m->cfg.bidirectional, R = a->B, L = a->L, B = bi ? R / 2 : R;
    const int D = m->cfg.d_model, C = m->cfg.n_classes, F = m->cfg.input_dim;
    if (bi && R % 2) {
        KRAIT_ERROR("a bidirectional classifier needs activations for 2 x batch rows (krait_cls_rows)");
        return KRAIT_STATUS_BAD_INPUT;
    }
    const size_t width = F ? (size_t)F : 1, elem = F ? sizeof(float) : sizeof(int32_t);
    work w;
    TRY(work_carve(m, a, R, R, L, bi ? width * elem : 0, &w));
    TRY(parse_targets(m, targets, B, L, w.lens, w.labels));
    if (bi) memcpy(w.lens + B, w.lens, (size_t)B * sizeof *w.lens);
    const void *in = F ? (const void *)feats : (const void *)ids;
    if (bi && in) in = with_reversed(w.rows, in, w.lens, B, L, width, elem);
    TRY(forward_pooled(m, a, F ? NULL : in, F ? in : NULL, w.lens, w.hf, w.pooled));
    TRY(head_load(m, &w.h));

    long n = 0;
    for (int b = 0; b < B; b++) n += w.lens[b] > 0;
    memset(w.dpooled, 0, (size_t)R * D * sizeof *w.dpooled);
    memset(w.gW, 0, (size_t)C * D * sizeof *w.gW);
    memset(w.gb, 0, (size_t)C * sizeof *w.gb);
    double sum = 0;
    for (int b = 0; b < B; b++) {
        if (!w.lens[b]) continue;
        const double *fwd = w.pooled + (size_t)b * D, *rev = w.pooled + (size_t)(B + b) * D;
        for (int d = 0; d < D; d++) w.feat[d] = bi ? 0.5 * (fwd[d] + rev[d]) : fwd[d];
        head_probs(&w.h, w.feat, w.p);
        sum -= log(w.p[w.labels[b]] > 1e-300 ? w.p[w.labels[b]] : 1e-300);
        if (!grads) continue;
        double *dp = w.dpooled + (size_t)b * D;
        for (int c = 0; c < C; c++) {
            double dz = (w.p[c] - (c == w.labels[b])) / n;
            w.gb[c] += dz;
            for (int d = 0; d < D; d++) {
                w.gW[(size_t)c * D + d] += dz * w.feat[d];
                dp[d] += dz * w.h.W[(size_t)c * D + d] * (bi ? 0.5 : 1.0);
            }
        }
        if (bi) memcpy(w.dpooled + (size_t)(B + b) * D, dp, (size_t)D * sizeof *dp);
    }
    if (!isfinite(sum) && !grads) { /* training hands it back: the trainer names the step */
        KRAIT_ERROR("the classification loss is not finite (%g)", sum);
        return KRAIT_STATUS_NUMERIC;
    }
    if (grads) {
        float *dhf = w.hf; /* forward_pooled is done with the hidden states */
        memset(dhf, 0, (size_t)R * L * D * sizeof *dhf);
        for (int r = 0; r < R; r++)
            if (w.lens[r]) pool_row_backward(m, dhf + (size_t)r * L * D, w.lens[r], w.dpooled + (size_t)r * D);
        TRY(upload_dhf(m, a, dhf));
        TRY(krait_model_backward(m, a, grads));
        TRY(accumulate(m->be, grads, m->cls_w, w.gW, (size_t)C * D, w.stage));
        TRY(accumulate(m->be, grads, m->cls_b, w.gb, (size_t)C, w.stage));
    }
    *loss = n ? sum / n : 0.0;
    if (n_rows) *n_rows = n;
    return KRAIT_STATUS_OK;
}

/* ---- inference -------------------------------------------------------------------------------- */

krait_status krait_classify(const krait_model *m, krait_acts *a, const int32_t *ids, const float *feats,
                            const int32_t *lens, int B, float *probs)
{
    TRY(need_classifier(m));
    const int D = m->cfg.d_model, C = m->cfg.n_classes, F = m->cfg.input_dim, bi = m->cfg.bidirectional;
    int Lp = 0;
    for (int b = 0; b < B; b++) {
        if (lens[b] < 1 || lens[b] > a->L_max) {
            KRAIT_ERROR("sequence %d has length %d; the activations take 1..%d positions", b, lens[b], a->L_max);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (lens[b] > Lp) Lp = lens[b];
    }
    TRY(krait_acts_set_shape(a, B, Lp));
    const size_t width = F ? (size_t)F : 1, elem = F ? sizeof(float) : sizeof(int32_t);
    const void *in = F ? (const void *)feats : (const void *)ids;
    if (bi && !in) return set_inputs(m, a, ids, feats); /* says which input is missing */
    /* with bidirectional, pooled holds 2B rows: the reversed rows take a second pass of B
     * (inference activations hold B rows, not 2B) */
    work w;
    TRY(work_carve(m, a, bi ? 2 * B : B, B, Lp, bi ? width * elem : 0, &w));
    TRY(forward_pooled(m, a, ids, feats, lens, w.hf, w.pooled));
    if (bi) {
        const char *rows = with_reversed(w.rows, in, lens, B, Lp, width, elem);
        const void *rev = rows + (size_t)B * Lp * width * elem;
        TRY(forward_pooled(m, a, F ? NULL : rev, F ? rev : NULL, lens, w.hf, w.pooled + (size_t)B * D));
    }
    TRY(head_load(m, &w.h));
    for (int b = 0; b < B; b++) {
        const double *fwd = w.pooled + (size_t)b * D, *rev = w.pooled + (size_t)(B + b) * D;
        for (int d = 0; d < D; d++) w.feat[d] = bi ? 0.5 * (fwd[d] + rev[d]) : fwd[d];
        head_probs(&w.h, w.feat, w.p);
        for (int c = 0; c < C; c++) probs[(size_t)b * C + c] = (float)w.p[c];
    }
    return KRAIT_STATUS_OK;
}

/* ---- streaming -------------------------------------------------------------------------------- */

struct krait_cls_stream {
    const krait_model *m;
    int chunk;
    krait_acts *a;             /* (1, chunk), inference */
    krait_state *st[2];        /* forward pass, reverse pass */
    double *sum[2];            /* (D) sums of hf over the positions fed */
    double *last[2];           /* (D) hf at the latest position */
    long n[2];
    float *hf;                 /* (chunk, D) host */
    double *feat, *p;          /* (D), (C) */
    head h;                    /* the head's weights, loaded at finish */
};

void krait_cls_stream_free(krait_cls_stream *s)
{
    if (!s) return;
    krait_acts_free(s->m, s->a);
    for (int i = 0; i < 2; i++) {
        krait_state_free(s->m, s->st[i]);
        free(s->sum[i]);
        free(s->last[i]);
    }
    free(s->hf);
    free(s->feat);
    free(s->p);
    free(s->h.W);
    free(s->h.b);
    free(s);
}

krait_cls_stream *krait_cls_stream_init(const krait_model *m, int chunk)
{
    if (need_classifier(m)) return NULL;
    if (chunk < 1) {
        KRAIT_ERROR("the chunk must be at least 1 position (got %d)", chunk);
        return NULL;
    }
    krait_cls_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    const int D = m->cfg.d_model;
    s->m = m;
    s->chunk = chunk;
    s->a = krait_acts_init(m, 1, chunk, 0);
    const int C = m->cfg.n_classes;
    s->hf = malloc((size_t)chunk * D * sizeof *s->hf);
    s->feat = malloc((size_t)D * sizeof *s->feat);
    s->p = malloc((size_t)C * sizeof *s->p);
    s->h.W = malloc((size_t)C * D * sizeof *s->h.W);
    s->h.b = malloc((size_t)C * sizeof *s->h.b);
    int ok = s->a && s->hf && s->feat && s->p && s->h.W && s->h.b;
    for (int i = 0; i < 2 && ok; i++) {
        s->st[i] = krait_state_init(m, 1);
        s->sum[i] = calloc((size_t)D, sizeof *s->sum[i]);
        s->last[i] = calloc((size_t)D, sizeof *s->last[i]);
        ok = s->st[i] && s->sum[i] && s->last[i];
    }
    if (!ok) {
        KRAIT_ERROR("cannot allocate a classification stream of %d-position chunks", chunk);
        krait_cls_stream_free(s);
        return NULL;
    }
    return s;
}

krait_status krait_cls_stream_feed(krait_cls_stream *s, const int32_t *ids, const float *feats, long n,
                                   int reverse)
{
    const krait_model *m = s->m;
    const int D = m->cfg.d_model, F = m->cfg.input_dim, dir = reverse ? 1 : 0;
    if (dir && !m->cfg.bidirectional) {
        KRAIT_ERROR("this classifier is one-directional: it takes no reverse pass");
        return KRAIT_STATUS_BAD_INPUT;
    }
    for (long off = 0; off < n; off += s->chunk) {
        int len = n - off < s->chunk ? (int)(n - off) : s->chunk;
        TRY(krait_acts_set_shape(s->a, 1, len));
        TRY(set_inputs(m, s->a, ids ? ids + off : NULL, feats ? feats + (size_t)off * F : NULL));
        TRY(krait_model_forward(m, s->a, s->st[dir]));
        TRY(download_hf(m, s->a, s->hf));
        for (int t = 0; t < len; t++)
            for (int d = 0; d < D; d++) s->sum[dir][d] += s->hf[(size_t)t * D + d];
        for (int d = 0; d < D; d++) s->last[dir][d] = s->hf[(size_t)(len - 1) * D + d];
        s->n[dir] += len;
    }
    return KRAIT_STATUS_OK;
}

static krait_status stream_reset(krait_cls_stream *s)
{
    const int D = s->m->cfg.d_model;
    for (int i = 0; i < 2; i++) {
        TRY(krait_state_reset(s->m, s->st[i]));
        memset(s->sum[i], 0, (size_t)D * sizeof *s->sum[i]);
        s->n[i] = 0;
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_cls_stream_finish(krait_cls_stream *s, float *probs)
{
    const krait_model *m = s->m;
    const int D = m->cfg.d_model, C = m->cfg.n_classes, bi = m->cfg.bidirectional;
    krait_status s0 = KRAIT_STATUS_OK;
    if (s->n[0] == 0) {
        KRAIT_ERROR("the sequence is empty: nothing to classify");
        s0 = KRAIT_STATUS_BAD_INPUT;
    } else if (bi && s->n[1] != s->n[0]) {
        KRAIT_ERROR("the reverse pass covered %ld of the %ld positions (a bidirectional model needs both)",
                    s->n[1], s->n[0]);
        s0 = KRAIT_STATUS_BAD_INPUT;
    }
    if (s0) {
        stream_reset(s);
        return s0;
    }
    krait_status st = head_load(m, &s->h);
    if (!st) {
        for (int d = 0; d < D; d++) {
            double f = mean_pooling(m) ? s->sum[0][d] / s->n[0] : s->last[0][d];
            if (bi) f = 0.5 * (f + (mean_pooling(m) ? s->sum[1][d] / s->n[1] : s->last[1][d]));
            s->feat[d] = f;
        }
        head_probs(&s->h, s->feat, s->p);
        for (int c = 0; c < C; c++) probs[c] = (float)s->p[c];
    }
    krait_status r = stream_reset(s);
    return st ? st : r;
}

static int class_name_is_int(const char *s)
{
    const char *d = *s == '-' || *s == '+' ? s + 1 : s;
    if (!*d || strspn(d, "0123456789") != strlen(d)) return 0;
    errno = 0;
    (void)strtoll(s, NULL, 10);
    return errno == 0;
}

static int cmp_class_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int cmp_class_int(const void *a, const void *b)
{
    long long u = strtoll(*(char *const *)a, NULL, 10), v = strtoll(*(char *const *)b, NULL, 10);
    return u != v ? (u < v ? -1 : 1) : cmp_class_text(a, b);
}

void krait_class_names_sort(char **names, int n)
{
    int all_int = 1;
    for (int i = 0; i < n && all_int; i++) all_int = class_name_is_int(names[i]);
    qsort(names, (size_t)n, sizeof *names, all_int ? cmp_class_int : cmp_class_text);
}

int krait_class_name_ok(const char *label, char *why, size_t n)
{
    /* the label as shown: control characters as ?, cut after 120 bytes at a character's start */
    char shown[128];
    const size_t len = strlen(label);
    size_t keep = len, k = 0;
    int ctl = 0;
    for (size_t i = 0; i < len; i++) ctl |= (unsigned char)label[i] < 0x20 || label[i] == 0x7f;
    if (keep > 120) {
        keep = 120;
        while (keep > 0 && ((unsigned char)label[keep] & 0xC0) == 0x80) keep--;
    }
    for (; k < keep; k++) {
        const unsigned char c = (unsigned char)label[k];
        shown[k] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (keep < len) memcpy(shown + k, "...", 3), k += 3;
    shown[k] = '\0';
    if (!len)
        snprintf(why, n, "the label is empty");
    else if (ctl)
        snprintf(why, n, "the label '%s' holds a tab, newline or other control character (shown as ?), which no "
                 "class name may", shown);
    else if (isspace((unsigned char)label[0]))
        snprintf(why, n, "the label '%s' begins with white space", shown);
    else if (isspace((unsigned char)label[len - 1]))
        snprintf(why, n, "the label '%s' ends with white space (its byte %zu)", shown, len);
    else
        return 1;
    return 0;
}
