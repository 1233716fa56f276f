/* tests/core/test_classify.c — the classification head (core/classify.h) and metrics:
 *   1. gradients of every tensor match central finite differences of the classification loss
 *      (ids + mean pooling; ids + last pooling + bidirectional; features + mean + bidirectional,
 *      and that again with dropout 0.2 / 0.3 at a fixed seed), on batches of different lengths
 *      with one empty (skipped) row;
 *   2. no padding artefacts: a sequence's probabilities do not depend on the pad length, the pad
 *      values or the other sequences of the batch; the fast CPU backend agrees with the reference;
 *   3. a bidirectional mean-pooled classifier gives the same answer for a sequence and its reverse;
 *   4. streaming in chunks of 1, 7 and 64 positions (state carried) == one whole pass;
 *   5. the trainer learns two small tasks to >= 0.9 accuracy on fresh sequences (ids: "does the
 *      sequence contain token 3"; features: "is feature 0 centred on +1 or -1");
 *   6. copying a pretrained LM's backbone into a classifier (krait_model_copy_matching);
 *   7. metrics on hand-worked examples and against an independent MCC (correlation of one-hot
 *      matrices); the predicted class's tie rule (krait_cls_argmax). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "metrics.h"
#include "model.h"
#include "model_io.h"
#include "testutil.h"
#include "train.h"

static void cls_config(krait_config *c, const char *pooling, int bi, int F, int C)
{
    krait_config_default(c);
    c->d_model = 8;
    c->n_layer = 2;
    c->vocab_size_raw = F ? 0 : 11;
    c->d_state = 4;
    c->dt_rank_set = 1;
    c->dt_rank = 2;
    c->init_std = 0.5f;
    c->dt_min = 0.05f;
    c->dt_max = 0.5f;
    strcpy(c->head, "classify");
    strcpy(c->pooling, pooling);
    c->n_classes = C;
    c->bidirectional = bi;
    c->input_dim = F;
    if (krait_config_finalize(c, "test")) exit(1);
}

static krait_model *make(krait_backend *be, const krait_config *c, uint64_t seed)
{
    krait_model *m = krait_model_init(c, be);
    krait_rng rng;
    krait_rng_init(&rng, seed);
    krait_model_init_weights(m, &rng);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] += (float)(0.05 * tu_normal());
    krait_model_sync_act(m);
    return m;
}

/* ---- 1. gradients ----------------------------------------------------------------------------- */

typedef struct batch {
    int B, L, F;
    int32_t *ids, *tg;
    float *feats;
} batch;

static double loss_of(krait_model *m, krait_acts *a, const batch *b)
{
    double loss;
    long n;
    if (krait_cls_forward_backward(m, a, NULL, b->F ? NULL : b->ids, b->F ? b->feats : NULL, b->tg, &loss, &n)) exit(1);
    return loss;
}

static void grad_check(const char *pooling, int bi, int F, int dropout)
{
    printf("gradients: pooling %s, %s, %s%s\n", pooling, bi ? "bidirectional" : "one direction",
           F ? "feature input" : "token ids", dropout ? ", dropout" : "");
    krait_backend *be = krait_backend_cpu_ref_init();
    be->scan_chunk = 5;
    krait_config cfg;
    cls_config(&cfg, pooling, bi, F, 3);
    krait_model *m = make(be, &cfg, tu_next());
    batch b = { .B = 4, .L = 23, .F = F };
    const int lens[4] = { 23, 17, 0, 9 };
    krait_acts *a = krait_acts_init(m, krait_cls_rows(m, b.B), b.L, 1);
    b.ids = calloc((size_t)b.B * b.L, sizeof *b.ids);
    b.tg = calloc((size_t)b.B * b.L, sizeof *b.tg);
    b.feats = calloc((size_t)b.B * b.L * (F ? F : 1), sizeof *b.feats);
    for (int r = 0; r < b.B; r++) {
        int label = (int)(tu_next() % 3);
        for (int t = 0; t < b.L; t++) {
            b.ids[r * b.L + t] = (int32_t)(tu_next() % 11);
            b.tg[r * b.L + t] = t < lens[r] ? label : -1;
        }
    }
    tu_fill_normal(b.feats, (size_t)b.B * b.L * (F ? F : 1), 0, 1);
    if (dropout) {
        double plain = loss_of(m, a, &b);
        a->drop_embed = 0.2f;
        a->drop_resid = 0.3f;
        double moved = 0; /* three masks: one mean over three rows may land near the plain loss by chance */
        for (int k = 0; k < 3; k++) {
            a->drop_seed = tu_next();
            moved = fmax(moved, fabs(loss_of(m, a, &b) - plain));
        }
        tu_check(moved > 1e-4 * fabs(plain), "dropout did not change the loss (moved %.3g)", moved);
    }
    float *g = calloc(m->n_params, sizeof *g);
    double loss;
    long n;
    krait_cls_forward_backward(m, a, g, F ? NULL : b.ids, F ? b.feats : NULL, b.tg, &loss, &n);
    tu_check(isfinite(loss) && n == 3, "loss %g finite over %ld rows (want 3)", loss, n);
    float *p0 = malloc(m->n_params * sizeof *p0);
    memcpy(p0, m->params, m->n_params * sizeof *p0);
    for (int ti = 0; ti < m->n_tensors; ti++) {
        const krait_tensor_info *t = &m->tensors[ti];
        double *dir = malloc(t->numel * sizeof *dir), gv = 0, norm = 0, gnorm = 0;
        for (size_t i = 0; i < t->numel; i++) gnorm += (double)g[t->offset + i] * g[t->offset + i];
        gnorm = sqrt(gnorm);
        double eps = gnorm > 0 ? 2e-3 / gnorm : 1e-2;
        eps = eps > 0.3 ? 0.3 : eps < 1e-3 ? 1e-3 : eps;
        for (size_t i = 0; i < t->numel; i++) {
            dir[i] = tu_normal();
            norm += dir[i] * dir[i];
        }
        for (size_t i = 0; i < t->numel; i++) gv += (dir[i] /= sqrt(norm)) * g[t->offset + i];
        double fd[2];
        for (int k = 0; k < 2; k++) {
            double e = k ? eps / 2 : eps, l[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                for (size_t i = 0; i < t->numel; i++)
                    m->params[t->offset + i] = (float)(p0[t->offset + i] + (sgn ? -e : e) * dir[i]);
                l[sgn] = loss_of(m, a, &b);
            }
            fd[k] = (l[0] - l[1]) / (2 * e);
        }
        memcpy(m->params + t->offset, p0 + t->offset, t->numel * sizeof(float));
        double rich = (4 * fd[1] - fd[0]) / 3, err = fmin(fabs(fd[1] - gv), fabs(rich - gv));
        int ok = err <= 2e-2 * fabs(fd[1]) + 2e-3 * gnorm + 4e-7;
        tu_check(ok, "%s grad . dir = %.6g, finite difference %.6g (err %.2g)", t->name, gv, fd[1], err);
        if (ok) printf("  ok   %-40s analytic %+.6e fd %+.6e\n", t->name, gv, fd[1]);
        free(dir);
    }
    free(p0);
    free(g);
    free(b.ids);
    free(b.tg);
    free(b.feats);
    krait_acts_free(m, a);
    krait_model_free(m);
    krait_backend_destroy(be);
}

/* ---- 2-4. inference invariants ------------------------------------------------------------------ */

static void classify_one(krait_model *m, const int32_t *ids, const float *feats, int len, float *p)
{
    krait_acts *a = krait_acts_init(m, 1, len, 0);
    int32_t l = len;
    if (krait_classify(m, a, ids, feats, &l, 1, p)) exit(1);
    krait_acts_free(m, a);
}

static void inference_invariants(const char *pooling, int bi, int F)
{
    printf("inference: pooling %s, %s, %s\n", pooling, bi ? "bidirectional" : "one direction",
           F ? "feature input" : "token ids");
    krait_backend *ref = krait_backend_cpu_ref_init(), *fast = krait_backend_cpu_init(1);
    krait_config cfg;
    cls_config(&cfg, pooling, bi, F, 3);
    uint64_t seed = tu_next();
    krait_model *m = make(ref, &cfg, seed);
    krait_model *mf = krait_model_init(&cfg, fast);
    memcpy(mf->params, m->params, m->n_params * sizeof(float));
    krait_model_sync_act(mf);
    const int B = 3, Lp = 70, W = F ? F : 1;
    const int32_t lens[3] = { 41, 70, 5 };
    int32_t *ids = malloc(sizeof(int32_t) * B * Lp);
    float *feats = malloc(sizeof(float) * B * Lp * W), probs[9], fast_probs[9], one[3];
    for (int i = 0; i < B * Lp; i++) ids[i] = (int32_t)(tu_next() % 11);
    tu_fill_normal(feats, (size_t)B * Lp * W, 0, 1);
    krait_acts *a = krait_acts_init(m, 4, 128, 0), *af = krait_acts_init(mf, 4, 128, 0);
    krait_classify(m, a, F ? NULL : ids, F ? feats : NULL, lens, B, probs);
    krait_classify(mf, af, F ? NULL : ids, F ? feats : NULL, lens, B, fast_probs);
    tu_close("fast CPU backend == reference", fast_probs, probs, 9, 1e-4, 1e-5);
    for (int b = 0; b < B; b++) {
        /* alone, unpadded */
        classify_one(m, ids + b * Lp, feats + (size_t)b * Lp * W, lens[b], one);
        char what[96];
        snprintf(what, sizeof what, "sequence %d alone == in the padded batch", b);
        tu_close(what, one, probs + b * 3, 3, 1e-5, 1e-6);
        /* reversed: the same answer only for a bidirectional mean-pooled model */
        if (bi && !strcmp(pooling, "mean")) {
            int32_t *rid = malloc(sizeof(int32_t) * lens[b]);
            float *rf = malloc(sizeof(float) * lens[b] * W), rp[3];
            for (int t = 0; t < lens[b]; t++) {
                rid[t] = ids[b * Lp + lens[b] - 1 - t];
                memcpy(rf + (size_t)t * W, feats + ((size_t)b * Lp + lens[b] - 1 - t) * W, sizeof(float) * W);
            }
            classify_one(m, rid, rf, lens[b], rp);
            snprintf(what, sizeof what, "sequence %d reversed == forward (bidirectional, mean)", b);
            tu_close(what, rp, one, 3, 1e-5, 1e-6);
            free(rid);
            free(rf);
        }
    }
    /* other pad values change nothing */
    for (int b = 0; b < B; b++)
        for (int t = lens[b]; t < Lp; t++) {
            ids[b * Lp + t] = (int32_t)(tu_next() % 11);
            for (int k = 0; k < W; k++) feats[((size_t)b * Lp + t) * W + k] = (float)(100 * tu_normal());
        }
    float again[9];
    krait_classify(m, a, F ? NULL : ids, F ? feats : NULL, lens, B, again);
    tu_close("other pad values: same probabilities", again, probs, 9, 1e-6, 1e-7);
    /* streaming in chunks == whole */
    int chunks[3] = { 1, 7, 64 };
    for (int k = 0; k < 3; k++) {
        krait_cls_stream *s = krait_cls_stream_init(m, chunks[k]);
        float sp[3];
        for (int b = 0; b < B; b++) {
            const int32_t *row = ids + b * Lp;
            const float *frow = feats + (size_t)b * Lp * W;
            for (int off = 0; off < lens[b]; off += 13) {
                int n = lens[b] - off < 13 ? lens[b] - off : 13;
                krait_cls_stream_feed(s, F ? NULL : row + off, F ? frow + (size_t)off * W : NULL, n, 0);
            }
            if (bi) {
                int32_t *rid = malloc(sizeof(int32_t) * lens[b]);
                float *rf = malloc(sizeof(float) * lens[b] * W);
                for (int t = 0; t < lens[b]; t++) {
                    rid[t] = row[lens[b] - 1 - t];
                    memcpy(rf + (size_t)t * W, frow + (size_t)(lens[b] - 1 - t) * W, sizeof(float) * W);
                }
                krait_cls_stream_feed(s, F ? NULL : rid, F ? rf : NULL, lens[b], 1);
                free(rid);
                free(rf);
            }
            krait_cls_stream_finish(s, sp);
            char what[96];
            snprintf(what, sizeof what, "stream (chunk %d) == whole, sequence %d", chunks[k], b);
            tu_close(what, sp, probs + b * 3, 3, 1e-5, 1e-6);
        }
        krait_cls_stream_free(s);
    }
    free(ids);
    free(feats);
    krait_acts_free(m, a);
    krait_acts_free(mf, af);
    krait_model_free(m);
    krait_model_free(mf);
    krait_backend_destroy(ref);
    krait_backend_destroy(fast);
}

/* ---- 5. training -------------------------------------------------------------------------------- */

/* ids: random tokens 0..7 of length 6..24; label 1 when token 3 occurs (planted in half). */
static int contains_example(krait_rng *rng, int32_t *ids, int L)
{
    int len = 6 + (int)krait_rng_below(rng, (uint32_t)(L - 5));
    int label = (int)krait_rng_below(rng, 2);
    for (int t = 0; t < L; t++) {
        int32_t v = (int32_t)krait_rng_below(rng, 7);
        ids[t] = v >= 3 ? v + 1 : v; /* never 3 */
    }
    if (label) ids[krait_rng_below(rng, (uint32_t)len)] = 3;
    return label * 1000 + len;
}

static krait_status ids_batch(void *ctx, int32_t *ids, int32_t *tg, int B, int L, krait_rng *rng)
{
    (void)ctx;
    for (int b = 0; b < B; b++) {
        int x = contains_example(rng, ids + b * L, L), len = x % 1000;
        for (int t = 0; t < L; t++) tg[b * L + t] = t < len ? x / 1000 : -1;
    }
    return KRAIT_STATUS_OK;
}

/* features (F = 4, normal noise): feature 0 has mean +1 for label 1 and -1 for label 0 (the
 * best possible accuracy over >= 6 positions is ~0.998). */
static int feats_example(krait_rng *rng, float *f, int L)
{
    int len = 6 + (int)krait_rng_below(rng, (uint32_t)(L - 5));
    int label = (int)krait_rng_below(rng, 2);
    for (int t = 0; t < L; t++)
        for (int k = 0; k < 4; k++) f[t * 4 + k] = (float)krait_rng_normal(rng) + (k == 0 ? 2 * label - 1 : 0);
    return label * 1000 + len;
}

static krait_status feats_batch(void *ctx, float *f, int32_t *tg, int B, int L, krait_rng *rng)
{
    (void)ctx;
    for (int b = 0; b < B; b++) {
        int x = feats_example(rng, f + (size_t)b * L * 4, L), len = x % 1000;
        for (int t = 0; t < L; t++) tg[b * L + t] = t < len ? x / 1000 : -1;
    }
    return KRAIT_STATUS_OK;
}

static void learns(int F)
{
    krait_backend *be = krait_backend_cpu_init(1);
    krait_config c;
    krait_config_default(&c);
    c.d_model = 32;
    c.n_layer = 2;
    c.vocab_size_raw = F ? 0 : 8;
    strcpy(c.head, "classify");
    c.n_classes = 2;
    c.bidirectional = 1;
    c.input_dim = F;
    krait_config_finalize(&c, "test");
    krait_train_config tc;
    krait_train_default(&tc);
    tc.batch = 16;
    tc.seq_len = 24;
    tc.steps = 300;
    tc.lr = 3e-3f;
    tc.warmup = 20;
    tc.weight_decay = 0;
    tc.seed = tu_next();
    krait_model *m = krait_model_init(&c, be);
    krait_rng rng;
    krait_rng_init(&rng, tc.seed);
    krait_model_init_weights(m, &rng);
    krait_trainer *t = krait_trainer_init(m, &tc);
    krait_data_source ds = { .next_batch = ids_batch, .next_batch_features = F ? feats_batch : NULL };
    double first = 0, last = 0;
    for (int i = 0; i < tc.steps; i++) {
        krait_step_info info;
        if (krait_trainer_step(t, &ds, &info)) exit(1);
        if (i < 10) first += info.loss / 10;
        if (i >= tc.steps - 10) last += info.loss / 10;
    }
    /* fresh examples */
    const int N = 256, L = 24;
    int32_t *ids = malloc(sizeof(int32_t) * N * L), *lens = malloc(sizeof(int32_t) * N), *labels = malloc(sizeof(int32_t) * N);
    float *feats = malloc(sizeof(float) * N * L * 4), *probs = malloc(sizeof(float) * N * 2);
    krait_rng test;
    krait_rng_init(&test, tu_next());
    for (int i = 0; i < N; i++) {
        int x = F ? feats_example(&test, feats + (size_t)i * L * 4, L) : contains_example(&test, ids + i * L, L);
        lens[i] = x % 1000;
        labels[i] = x / 1000;
    }
    krait_acts *a = krait_acts_init(m, 64, L, 0);
    /* krait_classify takes rows padded to the batch's longest sequence: repack from stride L */
    int32_t *pid = malloc(sizeof(int32_t) * 64 * L);
    float *pf = malloc(sizeof(float) * 64 * L * 4);
    for (int i = 0; i < N; i += 64) {
        int Lp = 1;
        for (int b = 0; b < 64; b++) Lp = lens[i + b] > Lp ? lens[i + b] : Lp;
        for (int b = 0; b < 64; b++) {
            memcpy(pid + b * Lp, ids + (i + b) * L, sizeof(int32_t) * Lp);
            memcpy(pf + (size_t)b * Lp * 4, feats + (size_t)(i + b) * L * 4, sizeof(float) * Lp * 4);
        }
        krait_classify(m, a, F ? NULL : pid, F ? pf : NULL, lens + i, 64, probs + i * 2);
    }
    free(pid);
    free(pf);
    krait_cls_metrics mt;
    krait_cls_metrics_compute(labels, probs, N, 2, &mt);
    tu_check(mt.accuracy >= 0.9 && last < first, "%s task: accuracy %.3f on fresh sequences (want >= 0.9), "
             "loss %.3f -> %.3f", F ? "features" : "ids", mt.accuracy, first, last);
    printf("  %s task: loss %.3f -> %.3f, fresh accuracy %.3f, AUROC %.3f\n", F ? "features" : "ids", first,
           last, mt.accuracy, mt.auroc);
    krait_cls_metrics_free(&mt);
    free(ids);
    free(lens);
    free(labels);
    free(feats);
    free(probs);
    krait_acts_free(m, a);
    krait_trainer_free(t);
    krait_model_free(m);
    krait_backend_destroy(be);
}

/* ---- 6. fine-tuning from a language model ------------------------------------------------------- */

static void copy_from_lm(void)
{
    krait_backend *be = krait_backend_cpu_ref_init();
    krait_config lc, cc;
    cls_config(&cc, "mean", 0, 0, 2);
    lc = cc;
    strcpy(lc.head, "lm");
    lc.n_classes = 0;
    krait_model *lm = make(be, &lc, tu_next()), *cl = make(be, &cc, tu_next());
    const krait_tensor_info *ch = krait_model_find(cl, "classifier.weight");
    float *head0 = malloc(ch->numel * sizeof *head0);
    memcpy(head0, cl->params + ch->offset, ch->numel * sizeof *head0);
    int n = 0;
    krait_status s = krait_model_copy_matching(cl, lm, "lm", &n);
    tu_check(!s && n == lm->n_tensors, "copied %d tensors (the LM has %d)", n, lm->n_tensors);
    int same = 1;
    for (int i = 0; i < lm->n_tensors; i++) {
        const krait_tensor_info *t = &lm->tensors[i], *d = krait_model_find(cl, t->name);
        same &= d && !memcmp(cl->params + d->offset, lm->params + t->offset, t->numel * sizeof(float));
    }
    tu_check(same, "every LM tensor is in the classifier, bit for bit");
    tu_check(!memcmp(head0, cl->params + ch->offset, ch->numel * sizeof *head0), "the classifier head is untouched");
    krait_config wide = lc;
    wide.d_model = 16;
    krait_config_finalize(&wide, "test");
    krait_model *lw = make(be, &wide, tu_next());
    tu_check(krait_model_copy_matching(cl, lw, "wide lm", NULL) == KRAIT_STATUS_BAD_INPUT, "another d_model is refused");
    free(head0);
    krait_model_free(lm);
    krait_model_free(cl);
    krait_model_free(lw);
    krait_backend_destroy(be);
}

/* A feature-input bidirectional classifier survives save + load (config without vocab_size). */
static void save_load(void)
{
    krait_backend *be = krait_backend_cpu_ref_init();
    krait_config c;
    cls_config(&c, "last", 1, 3, 4);
    krait_model *m = make(be, &c, tu_next());
    char dir[] = "/tmp/krait-test-classify-XXXXXX";
    if (!mkdtemp(dir)) exit(1);
    krait_status s = krait_model_save(m, dir, KRAIT_DTYPE_F32);
    krait_model *back = s ? NULL : krait_model_load(dir, be, &s);
    tu_check(back && !s, "saved and loaded %s", dir);
    if (back) {
        float f[3 * 9], p0[4], p1[4];
        tu_fill_normal(f, 27, 0, 1);
        classify_one(m, NULL, f, 9, p0);
        classify_one(back, NULL, f, 9, p1);
        tu_close("loaded classifier == saved one", p1, p0, 4, 0, 0);
        tu_check(back->cfg.input_dim == 3 && back->cfg.bidirectional && back->cfg.n_classes == 4 &&
                 !strcmp(back->cfg.pooling, "last"), "config round trip (input_dim, bidirectional, classes, pooling)");
    }
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) printf("  (could not remove %s)\n", dir);
    krait_model_free(back);
    krait_model_free(m);
    krait_backend_destroy(be);
}

/* ---- 7. metrics --------------------------------------------------------------------------------- */

static double mcc_by_correlation(const int32_t *y, const int32_t *p, int n, int C)
{
    /* cov(X, Y) = sum_k cov(x_k, y_k) over one-hot columns */
    double cxy = 0, cxx = 0, cyy = 0;
    for (int k = 0; k < C; k++) {
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) {
            mx += (y[i] == k);
            my += (p[i] == k);
        }
        mx /= n;
        my /= n;
        for (int i = 0; i < n; i++) {
            double a = (y[i] == k) - mx, b = (p[i] == k) - my;
            cxy += a * b;
            cxx += a * a;
            cyy += b * b;
        }
    }
    return cxy / sqrt(cxx * cyy);
}

static void metrics(void)
{
    const int32_t labels[5] = { 0, 0, 1, 1, 1 };
    const float probs[10] = { 0.8f, 0.2f, 0.4f, 0.6f, 0.3f, 0.7f, 0.1f, 0.9f, 0.4f, 0.6f };
    krait_cls_metrics mt;
    krait_cls_metrics_compute(labels, probs, 5, 2, &mt);
    tu_check(mt.confusion[0] == 1 && mt.confusion[1] == 1 && mt.confusion[2] == 0 && mt.confusion[3] == 3,
             "confusion [[1,1],[0,3]]");
    tu_check(fabs(mt.accuracy - 0.8) < 1e-12, "accuracy %g (0.8)", mt.accuracy);
    tu_check(fabs(mt.mcc - 3 / sqrt(24.0)) < 1e-12, "mcc %g (3/sqrt(24))", mt.mcc);
    tu_check(fabs(mt.macro_f1 - (6.0 / 7 + 2.0 / 3) / 2) < 1e-12, "macro F1 %g", mt.macro_f1);
    tu_check(fabs(mt.auroc - 5.5 / 6) < 1e-12, "AUROC %g (5.5/6, one tie)", mt.auroc);
    /* a 3-class model on a test set without class 2, every prediction right: macro F1 1, not 2/3 */
    const int32_t l3[4] = { 0, 1, 1, 0 };
    const float p3[12] = { 0.7f, 0.2f, 0.1f, 0.1f, 0.8f, 0.1f, 0.2f, 0.6f, 0.2f, 0.5f, 0.3f, 0.2f };
    krait_cls_metrics m3;
    krait_cls_metrics_compute(l3, p3, 4, 3, &m3);
    tu_check(m3.accuracy == 1 && fabs(m3.macro_f1 - 1) < 1e-12, "macro F1 %g over the classes present (1)",
             m3.macro_f1);
    krait_cls_metrics_free(&m3);
    /* a class predicted but never true counts (F1 0), as scikit-learn's default: labels 0 0 1,
     * predictions 0 1 2 -> (2/3 + 0 + 0) / 3 */
    const int32_t l4[3] = { 0, 0, 1 };
    const float p4[9] = { 0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f, 0.1f, 0.1f, 0.8f };
    krait_cls_metrics m4;
    krait_cls_metrics_compute(l4, p4, 3, 3, &m4);
    tu_check(fabs(m4.macro_f1 - 2.0 / 9) < 1e-12, "macro F1 %g with a class predicted but absent (2/9)", m4.macro_f1);
    krait_cls_metrics_free(&m4);
    /* the predicted class: the largest probability, the first of equal ones, wherever they are */
    const float t1[4] = { 0.1f, 0.4f, 0.4f, 0.1f }, t2[3] = { 0.5f, 0.5f, 0.0f }, t3[3] = { 0.2f, 0.3f, 0.5f };
    tu_check(krait_cls_argmax(t1, 4) == 1 && krait_cls_argmax(t2, 3) == 0 && krait_cls_argmax(t3, 3) == 2 &&
                 krait_cls_argmax(t3, 1) == 0, "argmax: ties go to the first (1, 0), a unique maximum last (2), one class 0");
    /* ... and the metrics count a tied row as that class: a 50/50 row of class 1 is wrong */
    const int32_t l5[2] = { 1, 0 };
    const float p5[4] = { 0.5f, 0.5f, 0.5f, 0.5f };
    krait_cls_metrics m5;
    krait_cls_metrics_compute(l5, p5, 2, 2, &m5);
    tu_check(m5.accuracy == 0.5 && m5.confusion[2] == 1 && m5.confusion[0] == 1, "tied rows are predicted class 0 (accuracy %g)",
             m5.accuracy);
    krait_cls_metrics_free(&m5);
    const double ll = -(log(0.8f) + log(0.4f) + log(0.7f) + log(0.9f) + log(0.6f)) / 5;
    tu_check(fabs(mt.log_loss - ll) < 1e-12, "log-loss %g (%g)", mt.log_loss, ll);
    /* weights = repeated rows: the rows above with weights 1 2 1 0 1 == the rows 0 1 1 2 4 (a tie at 0.6:
     * positives 0.7 and 0.6 over negatives 0.2, 0.6, 0.6 -> (3 + 1 + 2 x 0.5) / 6) */
    const float score[5] = { 0.2f, 0.6f, 0.7f, 0.9f, 0.6f };
    const uint32_t wt[5] = { 1, 2, 1, 0, 1 };
    const int32_t rep[5] = { 0, 1, 1, 2, 4 };
    int32_t rl[5];
    float rp[10];
    for (int i = 0; i < 5; i++) rl[i] = labels[rep[i]], rp[2 * i] = 1 - score[rep[i]], rp[2 * i + 1] = score[rep[i]];
    int32_t *order = krait_cls_score_order(score, 5);
    double aw = order ? krait_cls_auroc_weighted(labels, score, wt, order, 5) : NAN, ar = krait_cls_auroc(rl, rp, 5);
    tu_check(fabs(aw - ar) < 1e-12 && fabs(ar - 5.0 / 6) < 1e-12, "weighted AUROC %g == AUROC of the repeated rows %g (5/6)",
             aw, ar);
    free(order);
    /* a NaN score (a model whose numbers overflowed) ranks nowhere: no AUROC, and the ranking ends
     * (a NaN never equals itself, so its tie group once never advanced) */
    const float nan_p[10] = { 0.8f, 0.2f, NAN, NAN, 0.3f, 0.7f, 0.6f, 0.4f, 0.1f, 0.9f };
    const int32_t nan_l[5] = { 0, 1, 1, 0, 1 };
    tu_check(isnan(krait_cls_auroc(nan_l, nan_p, 5)), "a NaN score: AUROC is NaN (undefined)");
    char *json = krait_cls_metrics_json(&mt, NULL);
    tu_check(json && strstr(json, "\"confusion\":[[1,1],[0,3]]"), "json %s", json ? json : "(null)");
    free(json);
    krait_cls_metrics_free(&mt);
    /* multi-class MCC against the correlation of one-hot matrices */
    const int n = 500, C = 4;
    int32_t *y = malloc(sizeof(int32_t) * n), *pred = malloc(sizeof(int32_t) * n);
    float *pr = calloc((size_t)n * C, sizeof *pr);
    for (int i = 0; i < n; i++) {
        y[i] = (int32_t)(tu_next() % C);
        pred[i] = tu_next() % 3 ? y[i] : (int32_t)(tu_next() % C);
        pr[i * C + pred[i]] = 1;
    }
    krait_cls_metrics_compute(y, pr, n, C, &mt);
    double want = mcc_by_correlation(y, pred, n, C);
    tu_check(fabs(mt.mcc - want) < 1e-9 && isnan(mt.auroc), "4-class mcc %.9f vs correlation %.9f", mt.mcc, want);
    krait_cls_metrics_free(&mt);
    y[7] = 4;
    tu_check(krait_cls_metrics_compute(y, pr, n, C, &mt) == KRAIT_STATUS_BAD_INPUT, "label 4 of 4 classes refused");
    free(y);
    free(pred);
    free(pr);
}

/* ---- 8. comparing two classifiers ----------------------------------------------------------------- */

static void comparison(void)
{
    /* McNemar: 2 P(X <= k), X ~ Binomial(b + c, 1/2), counted by hand */
    tu_check(fabs(krait_mcnemar_exact(0, 5) - 2.0 / 32) < 1e-12, "McNemar 0 / 5: %g (1/16)", krait_mcnemar_exact(0, 5));
    tu_check(fabs(krait_mcnemar_exact(9, 1) - 22.0 / 1024) < 1e-12, "McNemar 9 / 1: %g (22/1024)",
             krait_mcnemar_exact(9, 1));
    tu_check(fabs(krait_mcnemar_exact(2, 8) - krait_mcnemar_exact(8, 2)) < 1e-15, "McNemar symmetric");
    tu_check(krait_mcnemar_exact(3, 3) == 1 && krait_mcnemar_exact(0, 0) == 1, "McNemar 3 / 3 and 0 / 0: 1");
    /* 300 / 360 discordant rows: 2 Phi(-(|b - c| - 1) / sqrt(b + c)) by the normal approximation with
     * continuity correction, within 2% */
    double big = krait_mcnemar_exact(300, 360), approx = erfc(59.0 / sqrt(660.0) / sqrt(2.0));
    tu_check(fabs(big / approx - 1) < 0.02, "McNemar 300 / 360: %g (normal approximation %g)", big, approx);
    /* the interval of a shuffled 0..n-1: as many values below lo as above hi */
    const int sizes[3] = { 10000, 1000, 101 };
    const double lo_want[3] = { 250, 25, 2 }, hi_want[3] = { 9749, 974, 98 };
    for (int t = 0; t < 3; t++) {
        int n = sizes[t];
        double *v = malloc((size_t)n * sizeof *v), lo, hi;
        for (int i = 0; i < n; i++) v[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = (int)(tu_next() % (uint64_t)(i + 1));
            double x = v[i];
            v[i] = v[j], v[j] = x;
        }
        krait_interval95(v, n, &lo, &hi);
        tu_check(lo == lo_want[t] && hi == hi_want[t], "interval of 0..%d: [%g, %g] ([%g, %g])", n - 1, lo, hi,
                 lo_want[t], hi_want[t]);
        free(v);
    }
    double one = 7, lo = 0, hi = 0;
    krait_interval95(&one, 1, &lo, &hi);
    tu_check(lo == 7 && hi == 7, "interval of one value: [%g, %g] (want [7, 7])", lo, hi);
    krait_interval95(NULL, 0, &lo, &hi);
    tu_check(isnan(lo) && isnan(hi), "interval of no values: [%g, %g] (want NaN)", lo, hi);
}

/* One order of class names for every modality: integers by number (ties by text), else by text. */
static void check_class_order(void)
{
    char *ints[] = { "10", "9", "01", "-2", "1", "0" }, *want_ints[] = { "-2", "0", "01", "1", "9", "10" };
    char *ints2[] = { "1", "0", "9", "-2", "01", "10" }; /* the same names in another input order */
    char *mixed[] = { "b", "10", "9", "a" }, *want_mixed[] = { "10", "9", "a", "b" };
    char *huge[] = { "2", "99999999999999999999", "10" }, *want_huge[] = { "10", "2", "99999999999999999999" };
    char *plus[] = { "+1", "2", "-1" }, *want_plus[] = { "-1", "+1", "2" }; /* SVM-light's labels */
    krait_class_names_sort(ints, 6);
    krait_class_names_sort(ints2, 6);
    krait_class_names_sort(mixed, 4);
    krait_class_names_sort(huge, 3);
    krait_class_names_sort(plus, 3);
    int ok_ints = 1, ok_ints2 = 1, ok_mixed = 1, ok_huge = 1, ok_plus = 1;
    for (int i = 0; i < 6; i++) ok_ints &= !strcmp(ints[i], want_ints[i]), ok_ints2 &= !strcmp(ints2[i], want_ints[i]);
    for (int i = 0; i < 4; i++) ok_mixed &= !strcmp(mixed[i], want_mixed[i]);
    for (int i = 0; i < 3; i++) ok_huge &= !strcmp(huge[i], want_huge[i]), ok_plus &= !strcmp(plus[i], want_plus[i]);
    tu_check(ok_ints && ok_ints2, "integer class names by number, \"01\" before \"1\", whatever the input order (%s %s %s %s %s %s)",
             ints2[0], ints2[1], ints2[2], ints2[3], ints2[4], ints2[5]);
    tu_check(ok_mixed, "a name that is not an integer: all by text (%s %s %s %s)", mixed[0], mixed[1], mixed[2], mixed[3]);
    tu_check(ok_huge, "an integer past a long long: by text (%s %s %s)", huge[0], huge[1], huge[2]);
    tu_check(ok_plus, "a sign is part of an integer name: -1, +1, 2 (%s %s %s)", plus[0], plus[1], plus[2]);
}

int main(void)
{
    tu_init("test_classify");
    check_class_order();
    grad_check("mean", 0, 0, 0);
    grad_check("last", 1, 0, 0);
    grad_check("mean", 1, 5, 0);
    grad_check("mean", 1, 5, 1);
    inference_invariants("mean", 1, 0);
    inference_invariants("last", 0, 0);
    inference_invariants("last", 1, 3);
    printf("training:\n");
    learns(0);
    learns(4);
    printf("fine-tuning from an LM:\n");
    copy_from_lm();
    save_load();
    printf("metrics:\n");
    metrics();
    comparison();
    return tu_finish();
}
