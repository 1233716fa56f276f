/* tests/core/test_model_grad.c — whole-model invariants of the Mamba LM on the reference backend:
 *   1. the gradient of every parameter tensor matches a central finite difference of the loss
 *      along a random direction (a tiny model: D 8, E 16, N 4, K 4, R 2, V 11 -> 16, 2 layers,
 *      untied head and in/out biases on, so every tensor kind is exercised);
 *   2. the same check with the tied head, and with dropout on (embedding 0.2, residual 0.3:
 *      a fixed mask, so the loss is a smooth function of the parameters and the gradient must
 *      carry the mask's zeros and scale through both sites);
 *   3. chunked evaluation with the recurrent state carried equals one whole forward (chunks of
 *      1, 7 and the whole length); unscored positions (target -1) are neither scored nor correct.
 * Tolerance: the loss is a float computation (~1e-7 relative rounding noise). Each tensor's
 * step eps is chosen so the loss moves by ~2e-3 along that tensor's gradient (eps = 2e-3/|g|,
 * clamped to [1e-3, 0.3]): rounding then contributes ~5e-5 of |g| and truncation O(eps^2).
 * The loss itself carries ~3e-8 of rounding noise, i.e. up to ~1e-7 in a difference quotient
 * with eps = 0.3. Two estimates are formed: the central difference at eps/2 and its Richardson
 * extrapolation with eps (no O(eps^2) term; better where the step had to be large, worse where
 * noise dominates). A check passes when the closer one is within 2e-2 |fd| + 2e-3 |g| + 4e-7
 * of g.dir: a correct
 * gradient passes with margin; a wrong sign, factor or missing path moves g.dir by a sizeable
 * part of |g| (1e-6 .. 1e-1 here) and fails — mutations that dropped one accumulation (softplus
 * bias, x_proj data gradient) failed 4 and 24 of the 54 checks.
 * dt is drawn from [0.05, 0.5] and the init std is 0.5 so every tensor matters to the loss. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "model.h"
#include "testutil.h"

static void tiny_config(krait_config *c, int tied)
{
    krait_config_default(c);
    c->d_model = 8;
    c->n_layer = 2;
    c->vocab_size_raw = 11;
    c->d_state = 4;
    c->dt_rank_set = 1;
    c->dt_rank = 2;
    c->use_bias = !tied;
    c->tie_embeddings = tied;
    c->init_std = 0.5f; /* larger than 0.02 so the tiny model's loss is not flat */
    c->dt_min = 0.05f;  /* steps large enough that the SSM path moves the loss visibly */
    c->dt_max = 0.5f;
    if (krait_config_finalize(c, "tiny")) exit(1);
}

static double loss_of(krait_model *m, krait_acts *a, const int32_t *ids, const int32_t *tg)
{
    double loss;
    long nv;
    if (krait_lm_forward_backward(m, a, NULL, ids, tg, &loss, &nv)) exit(1);
    return loss;
}

static double central_difference(krait_model *m, krait_acts *a, const int32_t *ids, const int32_t *tg,
                                 const float *p0, const krait_tensor_info *t, const double *dir, double eps)
{
    for (size_t i = 0; i < t->numel; i++) m->params[t->offset + i] = (float)(p0[t->offset + i] + eps * dir[i]);
    double lp = loss_of(m, a, ids, tg);
    for (size_t i = 0; i < t->numel; i++) m->params[t->offset + i] = (float)(p0[t->offset + i] - eps * dir[i]);
    double lm = loss_of(m, a, ids, tg);
    memcpy(m->params + t->offset, p0 + t->offset, t->numel * sizeof(float));
    return (lp - lm) / (2 * eps);
}

static void grad_check(int tied, int dropout)
{
    krait_backend *be = krait_backend_cpu_ref_init();
    krait_config cfg;
    tiny_config(&cfg, tied);
    krait_model *m = krait_model_init(&cfg, be);
    krait_rng rng;
    krait_rng_init(&rng, tu_next());
    krait_model_init_weights(m, &rng);
    /* perturb the structured init (A_log, D, norms) so no gradient is trivially symmetric */
    for (size_t i = 0; i < m->n_params; i++) m->params[i] += (float)(0.05 * tu_normal());

    const int B = 3, L = 61; /* L not a multiple of the scan chunk (forced to 5); 183 rows average the loss noise down */
    krait_acts *a = krait_acts_init(m, B, L, 1);
    a->chunk = 5;
    krait_acts_free(m, a);
    be->scan_chunk = 5;
    a = krait_acts_init(m, B, L, 1);
    int32_t ids[B * L], tg[B * L];
    for (int i = 0; i < B * L; i++) {
        ids[i] = (int32_t)(tu_next() % (uint64_t)cfg.vocab_size);
        tg[i] = i % 5 == 3 ? -1 : (int32_t)(tu_next() % 11);
    }
    float *g = calloc(m->n_params, sizeof *g);
    double loss;
    long nv;
    if (dropout) {
        /* compared row by row: the mean over 183 rows can land near the plain one by chance */
        float plain_rows[B * L], dropped_rows[B * L];
        loss_of(m, a, ids, tg);
        if (m->be->download(m->be, plain_rows, a->loss, sizeof plain_rows)) exit(1);
        a->drop_embed = 0.2f;
        a->drop_resid = 0.3f;
        a->drop_seed = tu_next();
        double dropped = loss_of(m, a, ids, tg), moved = 0;
        if (m->be->download(m->be, dropped_rows, a->loss, sizeof dropped_rows)) exit(1);
        for (int i = 0; i < B * L; i++) moved = fmax(moved, fabs(dropped_rows[i] - plain_rows[i]));
        tu_check(moved > 1e-2, "dropout moved no row's loss by more than %.3g", moved);
        tu_check(loss_of(m, a, ids, tg) == dropped, "the same dropout seed gave another loss");
    }
    krait_lm_forward_backward(m, a, g, ids, tg, &loss, &nv);
    tu_check(isfinite(loss) && nv == B * L - (B * L + 1) / 5, "loss %g finite, %ld scored rows", loss, nv);

    float *p0 = malloc(m->n_params * sizeof *p0);
    memcpy(p0, m->params, m->n_params * sizeof *p0);
    for (int ti = 0; ti < m->n_tensors; ti++) {
        const krait_tensor_info *t = &m->tensors[ti];
        double *dir = malloc(t->numel * sizeof *dir), gv = 0, norm = 0, gnorm = 0;
        for (size_t i = 0; i < t->numel; i++) gnorm += (double)g[t->offset + i] * g[t->offset + i];
        gnorm = sqrt(gnorm);
        /* step so the loss moves by ~2e-3 along the gradient: far above float noise */
        double eps = gnorm > 0 ? 2e-3 / gnorm : 1e-2;
        if (eps > 0.3) eps = 0.3;
        if (eps < 1e-3) eps = 1e-3;
        for (size_t i = 0; i < t->numel; i++) {
            dir[i] = tu_normal();
            norm += dir[i] * dir[i];
        }
        norm = sqrt(norm);
        for (size_t i = 0; i < t->numel; i++) {
            dir[i] /= norm;
            gv += dir[i] * g[t->offset + i];
        }
        /* plain central difference at eps/2, and its Richardson extrapolation with eps (which
         * cancels the O(eps^2) truncation term where a large step was needed) */
        double fd1 = central_difference(m, a, ids, tg, p0, t, dir, eps);
        double fd = central_difference(m, a, ids, tg, p0, t, dir, eps / 2);
        double rich = (4 * fd - fd1) / 3;
        double err = fmin(fabs(fd - gv), fabs(rich - gv));
        int ok = err <= 2e-2 * fabs(fd) + 2e-3 * gnorm + 4e-7;
        tu_check(ok, "%s grad . dir = %.6g, finite difference %.6g (err %.2g)", t->name, gv, fd, err);
        if (ok) printf("  ok   %-44s analytic %+.6e fd %+.6e\n", t->name, gv, fd);
        free(dir);
    }
    free(p0);
    free(g);
    krait_acts_free(m, a);
    krait_model_free(m);
    krait_backend_destroy(be);
}

typedef struct stream_ctx {
    const int32_t *ids, *tg;
    long L;
} stream_ctx;

static krait_status fill(void *ctx, int32_t *ids, int32_t *tg, int B, long t0, int len)
{
    stream_ctx *s = ctx;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < len; i++) {
            ids[b * len + i] = s->ids[b * s->L + t0 + i];
            tg[b * len + i] = s->tg[b * s->L + t0 + i];
        }
    return KRAIT_STATUS_OK;
}

static void chunked_equals_whole(void)
{
    krait_backend *be = krait_backend_cpu_ref_init();
    krait_config cfg;
    tiny_config(&cfg, 1);
    krait_model *m = krait_model_init(&cfg, be);
    krait_rng rng;
    krait_rng_init(&rng, tu_next());
    krait_model_init_weights(m, &rng);
    const int B = 3;
    const long L = 50;
    int32_t ids[B * L], tg[B * L];
    for (int i = 0; i < B * L; i++) {
        ids[i] = (int32_t)(tu_next() % 11);
        tg[i] = (int32_t)(tu_next() % 11);
    }
    stream_ctx sc = { ids, tg, L };
    krait_eval_result whole, part;
    krait_eval_stream(m, B, L, (int)L, fill, &sc, &whole, NULL, NULL);
    int chunks[] = { 1, 7, 49 };
    for (int i = 0; i < 3; i++) {
        krait_eval_stream(m, B, L, chunks[i], fill, &sc, &part, NULL, NULL);
        double rel = fabs(part.loss_sum - whole.loss_sum) / fabs(whole.loss_sum);
        tu_check(rel < 1e-5 && part.n_scored == whole.n_scored && part.n_correct == whole.n_correct,
                 "chunk %d: loss %.9g vs whole %.9g (rel %.2g), correct %lld vs %lld", chunks[i],
                 part.loss_sum, whole.loss_sum, rel, part.n_correct, whole.n_correct);
        printf("  ok?  chunk %-3d loss %.9g whole %.9g rel %.2g\n", chunks[i], part.loss_sum, whole.loss_sum, rel);
    }
    /* unscored positions (target -1) count for nothing: a third of them, then all */
    long n_scored = 0;
    for (int i = 0; i < B * L; i++) {
        if (i % 3 == 0) tg[i] = -1;
        n_scored += tg[i] >= 0;
    }
    krait_eval_stream(m, B, L, 7, fill, &sc, &part, NULL, NULL);
    tu_check(part.n_scored == n_scored && part.n_correct <= n_scored,
             "a third unscored: %lld of %ld scored (want %ld), %lld correct", part.n_scored, B * L, n_scored,
             part.n_correct);
    for (int i = 0; i < B * L; i++) tg[i] = -1;
    krait_eval_stream(m, B, L, 7, fill, &sc, &part, NULL, NULL);
    tu_check(part.n_scored == 0 && part.n_correct == 0 && part.loss_sum == 0,
             "nothing scored: %lld scored, %lld correct, loss %g (want 0, 0, 0)", part.n_scored, part.n_correct,
             part.loss_sum);
    krait_model_free(m);
    krait_backend_destroy(be);
}

int main(void)
{
    tu_init("test_model_grad");
    printf("untied head, biases on:\n");
    grad_check(0, 0);
    printf("tied head:\n");
    grad_check(1, 0);
    printf("untied head, dropout on:\n");
    grad_check(0, 1);
    printf("chunked evaluation == whole:\n");
    chunked_equals_whole();
    return tu_finish();
}
