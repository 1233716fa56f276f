/* tests/infer/test_infer.c — the recurrent path against the parallel path, on every CPU backend:
 *   1. one forward over L = 4096 tokens (B = 2) == 4096 single steps: the logits at every
 *      position and the final state;
 *   2. chunked prefill (chunks of 1, 7 and 256, and a prompt fed in two calls) == one-shot
 *      prefill: the last logits and the final state;
 *   3. state operations: copy and fork give bit-identical states and identical continuations;
 *      gather, scatter, row copies, views and row resets move exactly the rows they name;
 *   4. a vocabulary large enough that the step's head runs in blocks of rows: every row right.
 * Tolerance (1, 2): the two paths run the same math through different kernels (a chunked scan
 * and a blocked GEMM against L = 1 calls), so they may differ by fp32 rounding: ~1e-7 relative
 * per op, a few ops deep, not compounding over time because the SSM recurrence is contractive
 * (exp(delta A) < 1). Errors are measured against the largest magnitude of the compared values
 * and must stay below 1e-4; a wrong state carry or a lost conv row moves logits by O(1e-1).
 * On the reference backend both paths do identical arithmetic and the test also prints the
 * (zero) error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"
#include "infer_testutil.h"
#include "testutil.h"

#define TOL 1e-4

static float *download_state(krait_model *m, const krait_state *s)
{
    float *h = malloc((size_t)s->B * s->per_seq * sizeof *h);
    if (krait_state_download(m, h, s)) exit(1);
    return h;
}

/* host logits (M, V) = hf (M, D) . W^T in double */
static void host_logits(float *out, const float *hf, const float *W, int M, int V, int D)
{
    for (int r = 0; r < M; r++)
        for (int v = 0; v < V; v++) {
            double acc = 0;
            for (int d = 0; d < D; d++) acc += (double)hf[(size_t)r * D + d] * W[(size_t)v * D + d];
            out[(size_t)r * V + v] = (float)acc;
        }
}

static void step_equals_forward(int bi)
{
    krait_backend *be = it_backend(bi);
    krait_model *m = it_tiny_model(be, 16, 2, 37, tu_next());
    const int B = 2, L = 4096, V = m->cfg.vocab_size, D = m->cfg.d_model;
    int32_t *ids = malloc((size_t)B * L * sizeof *ids);
    for (int i = 0; i < B * L; i++) ids[i] = (int32_t)(tu_next() % 37);

    /* parallel path: one forward over the whole sequences, state carried out */
    krait_acts *a = krait_acts_init(m, B, L, 0);
    krait_state *sf = krait_state_init(m, B), *ss = krait_state_init(m, B);
    float *hf = malloc((size_t)B * L * D * sizeof *hf), *W = malloc((size_t)V * D * sizeof *W);
    float *want = malloc((size_t)B * L * V * sizeof *want), *got = malloc((size_t)B * V * sizeof *got);
    if (krait_acts_set_batch(m, a, ids, NULL) || krait_model_forward(m, a, sf)) exit(1);
    be->download(be, hf, a->hf, (size_t)B * L * D * sizeof *hf);
    be->download(be, W, m->params + m->lm_head, (size_t)V * D * sizeof *W);
    host_logits(want, hf, W, B * L, V, D);

    /* recurrent path: L steps of one token */
    krait_infer *inf = krait_infer_init(m, B, 64);
    double worst = 0;
    long worst_t = -1;
    for (int t = 0; t < L; t++) {
        int32_t tok[2] = { ids[t], ids[L + t] };
        if (krait_step(inf, got, ss, tok)) exit(1);
        for (int b = 0; b < B; b++) {
            double e = it_scaled_err(got + (size_t)b * V, want + ((size_t)b * L + t) * V, (size_t)V);
            if (!(e <= worst)) {
                worst = isnan(e) ? INFINITY : e;
                worst_t = t;
            }
        }
    }
    float *hs = download_state(m, ss), *hfw = download_state(m, sf);
    double es = it_scaled_err(hs, hfw, (size_t)B * ss->per_seq);
    tu_check(worst <= TOL, "%s: %d steps vs one forward: logits error %.3g at t %ld (tolerance %g)",
             it_backend_name(bi), L, worst, worst_t, TOL);
    tu_check(es <= TOL, "%s: final state after %d steps vs forward: error %.3g", it_backend_name(bi), L, es);
    printf("  %-8s %d steps == forward: logits err %.3g, state err %.3g\n", it_backend_name(bi), L, worst, es);

    free(hs);
    free(hfw);
    krait_infer_free(inf);
    free(ids);
    free(hf);
    free(W);
    free(want);
    free(got);
    krait_state_free(m, sf);
    krait_state_free(m, ss);
    krait_acts_free(m, a);
    krait_model_free(m);
    krait_backend_destroy(be);
}

static void chunked_prefill(int bi)
{
    krait_backend *be = it_backend(bi);
    krait_model *m = it_tiny_model(be, 16, 3, 50, tu_next());
    const int B = 2, L = 300, V = m->cfg.vocab_size;
    int32_t *ids = malloc((size_t)B * L * sizeof *ids);
    for (int i = 0; i < B * L; i++) ids[i] = (int32_t)(tu_next() % 50);
    float *want = malloc((size_t)B * V * sizeof *want), *got = malloc((size_t)B * V * sizeof *got);

    krait_infer *one = krait_infer_init(m, B, 512);
    krait_state *s1 = krait_state_init(m, B);
    if (krait_prefill(one, want, s1, ids, B, L)) exit(1);
    float *hs1 = download_state(m, s1);
    int chunks[] = { 1, 7, 256 };
    for (int c = 0; c < 3; c++) {
        krait_infer *inf = krait_infer_init(m, 1, chunks[c]);
        tu_check(krait_infer_chunk(inf) == chunks[c], "chunk %d kept (%d)", chunks[c], krait_infer_chunk(inf));
        krait_state *s = krait_state_init(m, B);
        if (krait_prefill(inf, got, s, ids, B, L)) exit(1);
        float *hs = download_state(m, s);
        double el = it_scaled_err(got, want, (size_t)B * V), es = it_scaled_err(hs, hs1, (size_t)B * s->per_seq);
        tu_check(el <= TOL && es <= TOL, "%s: prefill in chunks of %d vs one shot: logits err %.3g, state err %.3g",
                 it_backend_name(bi), chunks[c], el, es);
        printf("  %-8s chunk %-3d == one-shot prefill of %d: logits err %.3g, state err %.3g\n",
               it_backend_name(bi), chunks[c], L, el, es);
        free(hs);
        krait_state_free(m, s);
        krait_infer_free(inf);
    }
    /* a prompt fed in two calls (state carried between them) == one call, row by row */
    krait_state *s = krait_state_init(m, 1);
    for (int b = 0; b < B; b++) {
        krait_state_reset(m, s);
        const int32_t *seq = ids + (size_t)b * L;
        if (krait_prefill(one, NULL, s, seq, 1, 113) || krait_prefill(one, got, s, seq + 113, 1, L - 113)) exit(1);
        double el = it_scaled_err(got, want + (size_t)b * V, (size_t)V);
        tu_check(el <= TOL, "%s: prefill in two calls vs one (row %d): logits err %.3g", it_backend_name(bi), b, el);
    }
    /* bad input is reported, not crashed on */
    tu_check(krait_prefill(one, got, s, ids, 1, 0) == KRAIT_STATUS_BAD_INPUT, "empty prefill is rejected");
    int32_t bad = 1000;
    tu_check(krait_prefill(one, got, s, &bad, 1, 1) == KRAIT_STATUS_BAD_INPUT, "out-of-vocabulary id is rejected");
    krait_state_free(m, s);
    free(hs1);
    krait_state_free(m, s1);
    krait_infer_free(one);
    free(ids);
    free(want);
    free(got);
    krait_model_free(m);
    krait_backend_destroy(be);
}

/* Greedy continuation of n tokens from state s (B rows all fed `first`); tokens (B, n). */
static void greedy(krait_infer *inf, krait_state *s, int32_t first, int n, int32_t *tokens, float *logits_last)
{
    const krait_model *m = krait_infer_model(inf);
    const int V = m->cfg.vocab_size, B = s->B;
    float *lg = malloc((size_t)B * V * sizeof *lg);
    int32_t cur[8];
    for (int b = 0; b < B; b++) cur[b] = first;
    for (int t = 0; t < n; t++) {
        if (krait_step(inf, lg, s, cur)) exit(1);
        for (int b = 0; b < B; b++) tokens[(size_t)b * n + t] = cur[b] = it_argmax(lg + (size_t)b * V, m->cfg.vocab_size_raw);
    }
    memcpy(logits_last, lg, (size_t)B * V * sizeof *lg);
    free(lg);
}

static int rows_equal(const float *a, int ra, const float *b, int rb, size_t per)
{
    return !memcmp(a + (size_t)ra * per, b + (size_t)rb * per, per * sizeof *a);
}

static void state_ops(int bi)
{
    krait_backend *be = it_backend(bi);
    krait_model *m = it_tiny_model(be, 16, 2, 29, tu_next());
    const int V = m->cfg.vocab_size, P = 20, n = 64;
    krait_infer *inf = krait_infer_init(m, 4, 16);
    int32_t prompt[4 * 20];
    for (int i = 0; i < 4 * P; i++) prompt[i] = (int32_t)(tu_next() % 29);

    /* copy and fork: identical states, identical continuations */
    krait_state *s1 = krait_state_init(m, 1), *s2 = krait_state_init(m, 1), *s3 = krait_state_init(m, 3);
    if (krait_prefill(inf, NULL, s1, prompt, 1, P)) exit(1);
    krait_state_copy(m, s2, s1);
    krait_state_fork(m, s3, s1, 0);
    float *h1 = download_state(m, s1), *h2 = download_state(m, s2), *h3 = download_state(m, s3);
    const size_t per = s1->per_seq;
    tu_check(rows_equal(h1, 0, h2, 0, per), "%s: state copy is bit-identical", it_backend_name(bi));
    for (int r = 0; r < 3; r++)
        tu_check(rows_equal(h1, 0, h3, r, per), "%s: forked row %d is bit-identical", it_backend_name(bi), r);
    int32_t t1[64], t2[64], t3[3 * 64];
    float *l1 = malloc((size_t)V * sizeof *l1), *l2 = malloc((size_t)V * sizeof *l2), *l3 = malloc((size_t)3 * V * sizeof *l3);
    greedy(inf, s1, 5, n, t1, l1);
    greedy(inf, s2, 5, n, t2, l2);
    greedy(inf, s3, 5, n, t3, l3);
    tu_check(!memcmp(t1, t2, sizeof t1) && !memcmp(l1, l2, (size_t)V * sizeof *l1),
             "%s: a copied state continues identically (%d greedy tokens and the logits, bit for bit)",
             it_backend_name(bi), n);
    for (int r = 0; r < 3; r++) {
        tu_check(!memcmp(t1, t3 + r * n, sizeof t1), "%s: forked row %d continues with the same %d greedy tokens",
                 it_backend_name(bi), r, n);
        double e = it_scaled_err(l3 + (size_t)r * V, l1, (size_t)V);
        tu_check(e <= TOL, "%s: forked row %d logits after %d steps: err %.3g", it_backend_name(bi), r, n, e);
    }
    printf("  %-8s copy / fork: identical states and %d-token continuations\n", it_backend_name(bi), n);

    /* gather, scatter, row copy, views, row reset on four distinct rows */
    krait_state *s = krait_state_init(m, 4), *g = krait_state_init(m, 4), *h = krait_state_init(m, 4);
    if (krait_prefill(inf, NULL, s, prompt, 4, P)) exit(1);
    float *hs = download_state(m, s);
    int idx[4] = { 2, 0, 3, 1 };
    krait_state_gather(m, g, s, idx);
    float *hg = download_state(m, g);
    int ok = 1;
    for (int j = 0; j < 4; j++) ok &= rows_equal(hg, j, hs, idx[j], per);
    tu_check(ok, "%s: gather puts row idx[j] in row j", it_backend_name(bi));
    krait_state_scatter(m, h, idx, g);
    float *hh = download_state(m, h);
    tu_check(!memcmp(hh, hs, 4 * per * sizeof *hh), "%s: scatter undoes gather", it_backend_name(bi));
    /* a one-row view: prefill through it == prefill of a standalone state */
    krait_state *v = krait_state_view(m, h, 1, 1);
    krait_state_reset(m, v);
    if (krait_prefill(inf, NULL, v, prompt + P, 1, P)) exit(1); /* row 1 of s was fed prompt row 1 */
    free(hh);
    hh = download_state(m, h);
    tu_check(!memcmp(hh, hs, 4 * per * sizeof *hh), "%s: prefill through a view == prefill of that row", it_backend_name(bi));
    krait_state_view_set(m, v, h, 2, 2);
    krait_state_reset_rows(m, v, 1, 1); /* row 3 of h */
    krait_state_copy_rows(m, h, 0, h, 2, 1);
    free(hh);
    hh = download_state(m, h);
    float *zero = calloc(per, sizeof *zero);
    tu_check(rows_equal(hh, 0, hs, 2, per) && rows_equal(hh, 1, hs, 1, per) && rows_equal(hh, 2, hs, 2, per) &&
                 rows_equal(hh, 3, zero, 0, per),
             "%s: copy_rows and reset_rows through a view touch only their rows", it_backend_name(bi));
    tu_check(krait_state_view(m, h, 3, 2) == NULL, "a view past the last row is refused");
    tu_check(krait_state_copy(m, s1, s) == KRAIT_STATUS_BAD_INPUT && krait_state_copy(m, s, s1) == KRAIT_STATUS_BAD_INPUT,
             "copy between different batch sizes is refused, into a smaller state and into a larger one");

    free(zero);
    free(hs);
    free(hg);
    free(hh);
    free(h1);
    free(h2);
    free(h3);
    free(l1);
    free(l2);
    free(l3);
    krait_state_free(m, v);
    krait_state_free(m, s);
    krait_state_free(m, g);
    krait_state_free(m, h);
    krait_state_free(m, s1);
    krait_state_free(m, s2);
    krait_state_free(m, s3);
    krait_infer_free(inf);
    krait_model_free(m);
    krait_backend_destroy(be);
}

/* A vocabulary so large that the decode step's head runs in blocks of 64 rows (16M logits a
 * block): 65 sequences fed the same token give 65 equal rows, the last from the second block,
 * and equal to one sequence stepped alone. */
static void blocked_head(int bi)
{
    krait_backend *be = it_backend(bi);
    const int B = 65, V = 262400; /* 16M / V < 64 rows */
    krait_model *m = it_tiny_model(be, 8, 1, V, tu_next());
    krait_infer *inf = krait_infer_init(m, B, 0), *one = krait_infer_init(m, 1, 0);
    krait_state *s = krait_state_init(m, B), *s1 = krait_state_init(m, 1);
    float *logits = malloc((size_t)B * V * sizeof *logits), *alone = malloc((size_t)V * sizeof *alone);
    int32_t tok[65];
    for (int b = 0; b < B; b++) tok[b] = 7;
    for (size_t i = 0; i < (size_t)B * V; i++) logits[i] = NAN;
    if (!inf || !one || !s || !s1 || krait_step(inf, logits, s, tok) || krait_step(one, alone, s1, tok)) exit(1);
    double worst = 0; /* a fast GEMM may round a block of 64 rows and one of 1 row differently */
    for (int b = 0; b < B; b++) worst = fmax(worst, it_scaled_err(logits + (size_t)b * V, alone, (size_t)V));
    tu_check(isfinite(logits[(size_t)B * V - 1]) && worst <= TOL,
             "%s: vocab %d, %d sequences: every row of the blocked head equals a lone step (worst err %.3g)",
             it_backend_name(bi), V, B, worst);
    free(logits), free(alone);
    krait_state_free(m, s), krait_state_free(m, s1);
    krait_infer_free(inf), krait_infer_free(one);
    krait_model_free(m);
    krait_backend_destroy(be);
}

int main(void)
{
    tu_init("test_infer");
    for (int bi = 0; bi < IT_NBACKENDS; bi++) {
        printf("%s:\n", it_backend_name(bi));
        step_equals_forward(bi);
        chunked_prefill(bi);
        state_ops(bi);
        blocked_head(bi);
    }
    return tu_finish();
}
