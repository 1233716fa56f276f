/* core/sample.c — the per-sequence sampler; see sample.h for the steps and their order.
 *
 * Ranking is a strict total order (larger logit first, lower id on ties), so top-k and top-p
 * select the same ids whatever the order they are visited in. top-k keeps a heap of k ids;
 * top-p finds the nucleus by quickselect on mass (partition around a pivot, keep the part where
 * the running mass reaches top_p), so nothing is sorted. Probabilities are exp(l - max) in
 * double; the draw walks the kept ids in a fixed order. Everything works on the sampler's own scratch: no allocation per token. */
#include "sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct krait_sampler {
    int V;
    krait_sample_params p;
    krait_rng rng;
    uint8_t *seen;        /* (V) 1 when the id was seen */
    int32_t *seen_ids;    /* (V) the seen ids, in first-seen order */
    int n_seen;
    uint8_t *forbidden;   /* (V) 1 when the id is never drawn */
    int n_forbidden;
    float *w;             /* (V) working logits */
    double *e;            /* (V) exp(w - max) of candidates, by id */
    int32_t *idx;         /* (V) candidate ids */
};

krait_sample_params krait_sample_default_params(void)
{
    krait_sample_params p = { .temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
                              .repetition_penalty = 1.0f };
    return p;
}

krait_status krait_sample_check(const krait_sample_params *p)
{
    const char *bad = NULL;
    if (!(p->temperature >= 0.0f) || !isfinite(p->temperature)) bad = "temperature (--temperature) must be >= 0";
    else if (p->top_k < 0) bad = "top_k (--top-k) must be >= 0";
    else if (!(p->top_p > 0.0f && p->top_p <= 1.0f)) bad = "top_p (--top-p) must be in (0, 1]";
    else if (!(p->min_p >= 0.0f && p->min_p <= 1.0f)) bad = "min_p (--min-p) must be in [0, 1]";
    else if (!(p->repetition_penalty > 0.0f) || !isfinite(p->repetition_penalty))
        bad = "repetition_penalty (--repetition-penalty) must be > 0";
    if (!bad) return KRAIT_STATUS_OK;
    KRAIT_ERROR("sampling: %s", bad);
    return KRAIT_STATUS_BAD_INPUT;
}

size_t krait_sampler_bytes(int V)
{
    krait_sampler *s = NULL;
    return sizeof *s + (size_t)V * (1 + sizeof *s->seen_ids + sizeof *s->w + sizeof *s->e + sizeof *s->idx);
}

krait_sampler *krait_sampler_init(int V, const krait_sample_params *p, uint64_t seed)
{
    if (V < 1) {
        KRAIT_ERROR("sampling: the vocabulary is empty");
        return NULL;
    }
    if (krait_sample_check(p)) return NULL;
    krait_sampler *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->V = V;
    s->p = *p;
    s->seen = calloc((size_t)V, 1);
    s->forbidden = calloc((size_t)V, 1);
    s->seen_ids = malloc((size_t)V * sizeof *s->seen_ids);
    s->w = malloc((size_t)V * sizeof *s->w);
    s->e = malloc((size_t)V * sizeof *s->e);
    s->idx = malloc((size_t)V * sizeof *s->idx);
    if (!s->seen || !s->forbidden || !s->seen_ids || !s->w || !s->e || !s->idx) {
        KRAIT_ERROR("sampling: out of memory for a vocabulary of %d", V);
        krait_sampler_free(s);
        return NULL;
    }
    krait_rng_init(&s->rng, seed);
    return s;
}

void krait_sampler_free(krait_sampler *s)
{
    if (!s) return;
    free(s->seen);
    free(s->forbidden);
    free(s->seen_ids);
    free(s->w);
    free(s->e);
    free(s->idx);
    free(s);
}

void krait_sampler_reset(krait_sampler *s, uint64_t seed)
{
    for (int i = 0; i < s->n_seen; i++) s->seen[s->seen_ids[i]] = 0;
    s->n_seen = 0;
    krait_rng_init(&s->rng, seed);
}

krait_status krait_sampler_forbid(krait_sampler *s, const int32_t *ids, int n)
{
    for (int i = 0; i < n; i++) {
        int32_t t = ids[i];
        if (t < 0 || t >= s->V) {
            KRAIT_ERROR("sampling: id %d to leave out is outside the vocabulary (0..%d)", (int)t, s->V - 1);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (s->forbidden[t]) continue;
        if (s->n_forbidden + 1 == s->V) {
            KRAIT_ERROR("sampling: leaving out id %d would leave no id to draw", (int)t);
            return KRAIT_STATUS_BAD_INPUT;
        }
        s->forbidden[t] = 1;
        s->n_forbidden++;
    }
    return KRAIT_STATUS_OK;
}

void krait_sampler_observe(krait_sampler *s, const int32_t *ids, int n)
{
    for (int i = 0; i < n; i++) {
        int32_t t = ids[i];
        if (t < 0 || t >= s->V || s->seen[t]) continue;
        s->seen[t] = 1;
        s->seen_ids[s->n_seen++] = t;
    }
}

/* a ranks before b: larger logit, then lower id. */
static inline int before(const float *w, int32_t a, int32_t b)
{
    return w[a] > w[b] || (w[a] == w[b] && a < b);
}

/* Heap whose root is the id ranked last ("min-heap" by rank). */
static void sift_down(const float *w, int32_t *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, worst = i;
        if (l < n && before(w, h[worst], h[l])) worst = l;
        if (r < n && before(w, h[worst], h[r])) worst = r;
        if (worst == i) return;
        int32_t t = h[i];
        h[i] = h[worst];
        h[worst] = t;
        i = worst;
    }
}

/* Median of three ids by rank. */
static int32_t median3(const float *w, int32_t a, int32_t b, int32_t c)
{
    if (before(w, b, a)) { int32_t t = a; a = b; b = t; }
    if (before(w, c, b)) { b = c; if (before(w, b, a)) b = a; }
    return b;
}

/* Reorder idx[0..n) so that idx[0..m) is the nucleus — the smallest set of best-ranked ids
 * whose mass (e) reaches need — and return m. Quickselect on mass: expected O(n), no sort. */
static int nucleus(const float *w, const double *e, int32_t *idx, int n, double need)
{
    int lo = 0, hi = n; /* idx[0..lo) is in the nucleus with mass cum < need; idx[hi..n) is out */
    double cum = 0;
    while (hi - lo > 1) {
        int32_t piv = median3(w, idx[lo], idx[lo + (hi - lo) / 2], idx[hi - 1]);
        int g = lo;     /* idx[lo..g) rank before the pivot */
        double mg = 0;
        for (int i = lo; i < hi; i++) {
            if (before(w, idx[i], piv)) {
                int32_t t = idx[g];
                idx[g++] = idx[i];
                idx[i] = t;
                mg += e[idx[g - 1]];
            }
        }
        if (cum + mg >= need) { /* reached inside the better part */
            hi = g;
            continue;
        }
        for (int i = g; i < hi; i++) /* the pivot goes right after the better part */
            if (idx[i] == piv) {
                idx[i] = idx[g];
                idx[g] = piv;
                break;
            }
        if (cum + mg + e[piv] >= need) return g + 1;
        cum += mg + e[piv];
        lo = g + 1;
    }
    return hi > lo ? lo + 1 : lo;
}

/* The k best ids of [0, V) into h[0..k) (unordered). */
static void top_k(const float *w, int32_t *h, int V, int k)
{
    for (int i = 0; i < k; i++) h[i] = i;
    for (int i = k / 2 - 1; i >= 0; i--) sift_down(w, h, k, i);
    for (int32_t v = k; v < V; v++) {
        if (before(w, v, h[0])) {
            h[0] = v;
            sift_down(w, h, k, 0);
        }
    }
}

int32_t krait_sampler_sample(krait_sampler *s, const float *logits)
{
    const krait_sample_params *p = &s->p;
    const int V = s->V;
    float *w = s->w;
    memcpy(w, logits, (size_t)V * sizeof *w);
    if (p->repetition_penalty != 1.0f) {
        for (int i = 0; i < s->n_seen; i++) {
            float *l = &w[s->seen_ids[i]];
            *l = *l > 0 ? *l / p->repetition_penalty : *l * p->repetition_penalty;
        }
    }
    for (int v = 0; v < V; v++)
        if (isnan(w[v])) return -1; /* no distribution to draw from (the caller says so) */
    const uint8_t *out = s->n_forbidden ? s->forbidden : NULL; /* ids never drawn */
    int32_t arg = 0;
    if (out) { /* ranked last by every rule (top-k may still take them to fill k: dropped below) */
        for (int32_t v = 0; v < V; v++)
            if (out[v]) w[v] = -INFINITY;
        while (out[arg]) arg++; /* an allowed start (krait_sampler_forbid leaves one), for all -inf */
    }
    for (int32_t v = arg + 1; v < V; v++)
        if (w[v] > w[arg]) arg = v;
    int32_t tok = arg;
    if (p->temperature == 0.0f || p->top_k == 1 || !isfinite(w[arg])) goto done;

    /* weights exp((w - max) / T) in double: w / T itself overflows float for a tiny T */
    const double inv_t = 1.0 / p->temperature, mx = w[arg];
    int32_t *idx = s->idx;
    double *e = s->e;
    int n = V;
    if (p->top_k > 0 && p->top_k < V) {
        n = p->top_k;
        top_k(w, idx, V, n);
    } else {
        for (int v = 0; v < V; v++) idx[v] = v;
    }
    if (out) { /* arg (finite, allowed) ranks first, so at least it stays */
        int m = 0;
        for (int i = 0; i < n; i++)
            if (!out[idx[i]]) idx[m++] = idx[i];
        n = m;
    }
    double Z = 0;
    for (int i = 0; i < n; i++) Z += e[idx[i]] = exp(((double)w[idx[i]] - mx) * inv_t);

    if (p->top_p < 1.0f) n = nucleus(w, e, idx, n, p->top_p * Z);
    if (p->min_p > 0.0f) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (e[idx[i]] >= p->min_p) idx[m++] = idx[i];
        n = m; /* the max has e == 1 >= min_p, so n >= 1 */
    }
    double total = 0;
    for (int i = 0; i < n; i++) total += e[idx[i]];
    double u = krait_rng_uniform(&s->rng) * total, cum = 0;
    tok = idx[n - 1];
    for (int i = 0; i < n; i++) {
        cum += e[idx[i]];
        if (u < cum) {
            tok = idx[i];
            break;
        }
    }
done:
    krait_sampler_observe(s, &tok, 1);
    return tok;
}
