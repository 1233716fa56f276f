/* apps/dna/baseline.c — `krait-dna baseline`: the reference point krait's classifier is held
 * to. Features: the k-mer spectrum for k = 1..K (dna_kmer.h; K = 6 by default: 5460
 * features), standardised with the training set's mean and deviation. Model: multinomial
 * logistic regression with an L2 penalty, fitted by minibatch Adam (batch 128, rate 3e-3 decayed
 * linearly to 0, --epochs passes, shuffled with --seed). The penalty is chosen from
 * 1e-4 .. 10 (x10) by accuracy on a seeded stratified 10% of the training set (or fixed by
 * --l2); the model is then refitted on the whole training set and scored on --test. Prints the same metrics as
 * `krait-dna eval` (core/metrics.h), so the two sit side by side. It does not save a model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dna_kmer.h"
#include "dnaapp.h"
#include "metrics.h"
#include "plot.h"
#include "rng.h"
#include "train.h"

typedef struct lr_model {
    int C;
    size_t D;
    float *W, *b;        /* (C, D), (C) */
} lr_model;

static void softmax_row(float *p, const lr_model *m, const float *x)
{
    float mx = -INFINITY;
    for (int c = 0; c < m->C; c++) {
        const float *w = m->W + (size_t)c * m->D;
        float z = m->b[c];
        for (size_t j = 0; j < m->D; j++) z += w[j] * x[j];
        p[c] = z;
        if (z > mx) mx = z;
    }
    float s = 0;
    for (int c = 0; c < m->C; c++) s += p[c] = expf(p[c] - mx);
    for (int c = 0; c < m->C; c++) p[c] /= s;
}

/* Fit on rows idx (m) of X (n, D) with labels y. */
static void lr_fit(lr_model *md, const float *X, const int32_t *y, const size_t *idx0, size_t m, double l2,
                   int epochs, uint64_t seed)
{
    size_t P = (size_t)md->C * (md->D + 1), D = md->D;
    float *g = calloc(P, sizeof *g), *m1 = calloc(P, sizeof *m1), *m2 = calloc(P, sizeof *m2), *p = malloc((size_t)md->C * sizeof *p);
    size_t *idx = malloc(m * sizeof *idx);
    if (!g || !m1 || !m2 || !p || !idx) krait_cli_die(1, "out of memory");
    memcpy(idx, idx0, m * sizeof *idx);
    memset(md->W, 0, (size_t)md->C * D * sizeof *md->W);
    memset(md->b, 0, (size_t)md->C * sizeof *md->b);
    krait_rng rng;
    krait_rng_init_stream(&rng, seed, 77);
    const int batch = 128;
    const double lr0 = 3e-3, b1 = 0.9, b2 = 0.999;
    long total = (long)epochs * (long)((m + batch - 1) / batch), t = 0;
    for (int e = 0; e < epochs; e++) {
        for (size_t i = m - 1; i > 0; i--) {
            size_t j = (size_t)(krait_rng_u64(&rng) % (i + 1)), tmp = idx[i];
            idx[i] = idx[j], idx[j] = tmp;
        }
        for (size_t s = 0; s < m; s += batch) {
            size_t nb = m - s < (size_t)batch ? m - s : (size_t)batch;
            memset(g, 0, P * sizeof *g);
            for (size_t r = 0; r < nb; r++) {
                const float *x = X + idx[s + r] * D;
                softmax_row(p, md, x);
                for (int c = 0; c < md->C; c++) {
                    float d = (p[c] - (c == y[idx[s + r]])) / (float)nb;
                    float *gw = g + (size_t)c * D;
                    for (size_t j = 0; j < D; j++) gw[j] += d * x[j];
                    g[(size_t)md->C * D + c] += d;
                }
            }
            t++;
            double lr = lr0 * (1.0 - (double)(t - 1) / (double)total);
            double c1 = 1 - pow(b1, (double)t), c2 = 1 - pow(b2, (double)t);
            for (size_t k = 0; k < P; k++) {
                float *w = k < (size_t)md->C * D ? md->W + k : md->b + (k - (size_t)md->C * D);
                double gk = g[k] + (k < (size_t)md->C * D ? l2 * *w : 0);
                m1[k] = (float)(b1 * m1[k] + (1 - b1) * gk);
                m2[k] = (float)(b2 * m2[k] + (1 - b2) * gk * gk);
                *w -= (float)(lr * (m1[k] / c1) / (sqrt(m2[k] / c2) + 1e-8));
            }
        }
    }
    free(g), free(m1), free(m2), free(p), free(idx);
    for (size_t k = 0; k < P; k++)
        if (!isfinite(k < (size_t)md->C * D ? md->W[k] : md->b[k - (size_t)md->C * D]))
            krait_cli_die(1, "baseline: the fit diverged with l2 %g (weights not finite)", l2);
}

static float *features(const krait_dna_set *s, int k)
{
    size_t D = krait_dna_kmer_dim(k);
    float *X = malloc(s->n * D * sizeof *X);
    if (!X) krait_cli_die(1, "out of memory (%zu x %zu features)", s->n, D);
    for (size_t i = 0; i < s->n; i++) krait_dna_kmer_features(X + i * D, s->ids + s->off[i], krait_dna_set_len(s, i), k);
    return X;
}

static void standardise(float *X, size_t n, size_t D, const double *mu, const double *sd)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < D; j++) X[i * D + j] = (float)((X[i * D + j] - mu[j]) / sd[j]);
}

static double accuracy(const lr_model *md, const float *X, const int32_t *y, const size_t *idx, size_t m)
{
    float p[64];
    size_t ok = 0;
    for (size_t i = 0; i < m; i++) {
        softmax_row(p, md, X + idx[i] * md->D);
        ok += krait_cls_argmax(p, md->C) == y[idx[i]];
    }
    return m ? (double)ok / (double)m : 0;
}

int dna_cmd_baseline(int argc, char **argv)
{
    krait_str_list train = { 0 }, test = { 0 };
    int k = 6, epochs = 20;
    double fixed_l2 = -1; /* -1: search */
    const char *classes = NULL, *output = NULL, *confusion = NULL;
    dna_inputs in = DNA_INPUTS_INIT;
    krait_opt opts[] = {
        { "--train", OPT_LIST, &train, "SRC", "labelled training sequences (repeatable; CLASS=FILE)" },
        { "--test", OPT_LIST, &test, "SRC", "labelled test sequences (repeatable; CLASS=FILE)" },
        { "--k", OPT_INT, &k, "K", "k-mers of lengths 1..K (default 6)" },
        { "--epochs", OPT_INT, &epochs, "N", "passes over the training set per fit (default 20)" },
        { "--l2", OPT_DOUBLE, &fixed_l2, "L", "the L2 penalty (default: chosen from 1e-4..10 on a held-out 10%)" },
        { "--classes", OPT_STR, &classes, "A,B,...", "the class list (default: the training labels, sorted)" },
        { "--output", OPT_STR, &output, "PRED.tsv", "the test predictions, as predict writes them (for compare)" },
        { "--confusion", OPT_STR, &confusion, "FILE.svg", "the test confusion matrix as a picture" },
        DNA_INPUT_OPTS(&in),
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-dna baseline --train SRC... --test SRC... [--k 6] [--output PRED.tsv] [--json]\n"
                    "k-mer spectrum (k = 1..K) + L2 logistic regression; prints eval's metrics on --test.");
    if (!train.n || !test.n) krait_cli_die(2, "baseline: --train and --test are required");
    if (k < 1 || k > 8 || epochs < 1) krait_cli_die(2, "baseline: --k must be in 1..8 and --epochs >= 1");
    if (fixed_l2 != -1 && (fixed_l2 < 0 || !isfinite(fixed_l2) || fixed_l2 > 1e6))
        krait_cli_die(2, "baseline: --l2 must be a number from 0 (no penalty) to 1e6");
    double t0 = krait_now();
    dna_refuse_overwrite(output, "--output", &train, &test, &in);
    dna_refuse_overwrite(confusion, "--confusion", &train, &test, &in);
    krait_cli_refuse_same_output(output, "--output", confusion, "--confusion");
    krait_cli_check_picture(confusion, "--confusion", ".svg", "an SVG");
    FILE *out = output ? krait_cli_output_open(output) : NULL; /* before the work: a bad path fails at once */
    dna_inputs_open(&in);
    dna_warn_unused_genome(&in, &train, &test);
    krait_dna_set tr, te;
    krait_dna_set_init(&tr);
    krait_dna_set_init(&te);
    dna_load_sources(&tr, &train, &in, "--train");
    dna_load_sources(&te, &test, &in, "--test");
    krait_dna_classes cl;
    krait_status st = classes ? krait_dna_classes_parse(&cl, classes) : krait_dna_classes_from_set(&cl, &tr, train.items[0]);
    if (!st) st = krait_dna_set_map(&tr, &cl, 1, train.items[0]);
    if (!st) st = krait_dna_set_map(&te, &cl, 1, test.items[0]);
    if (st) dna_die_status(st);
    if (cl.n > 64) krait_cli_die(2, "baseline: at most 64 classes");
    dna_warn_shared(&train, "--train", &test, "--test");

    size_t D = krait_dna_kmer_dim(k);
    float *X = features(&tr, k), *Xt = features(&te, k);
    double *mu = calloc(D, sizeof *mu), *sd = calloc(D, sizeof *sd);
    if (!mu || !sd) krait_cli_die(1, "out of memory");
    for (size_t i = 0; i < tr.n; i++)
        for (size_t j = 0; j < D; j++) mu[j] += X[i * D + j];
    for (size_t j = 0; j < D; j++) mu[j] /= (double)tr.n;
    for (size_t i = 0; i < tr.n; i++)
        for (size_t j = 0; j < D; j++) sd[j] += (X[i * D + j] - mu[j]) * (X[i * D + j] - mu[j]);
    for (size_t j = 0; j < D; j++) sd[j] = sd[j] > 0 ? sqrt(sd[j] / (double)tr.n) : 1;
    standardise(X, tr.n, D, mu, sd);
    standardise(Xt, te.n, D, mu, sd);

    /* the penalty, chosen on a held-out 10% of the training set */
    uint8_t *held = malloc(tr.n);
    size_t *fit = malloc(tr.n * sizeof *fit), *val = malloc(tr.n * sizeof *val), *all = malloc(tr.n * sizeof *all);
    lr_model md = { cl.n, D, malloc((size_t)cl.n * D * sizeof(float)), malloc((size_t)cl.n * sizeof(float)) };
    if (!held || !fit || !val || !all || !md.W || !md.b) krait_cli_die(1, "out of memory");
    krait_dna_split(held, tr.y, tr.n, 0.1, c.seed);
    size_t nf = 0, nv = 0;
    for (size_t i = 0; i < tr.n; i++) {
        all[i] = i;
        if (held[i]) val[nv++] = i;
        else fit[nf++] = i;
    }
    double best_l2 = 1e-3, best_acc = -1;
    krait_progress prog;
    krait_progress_init(&prog, 1);
    if (fixed_l2 >= 0) best_l2 = fixed_l2;
    else if (!nv) /* 0 of 0 right is no accuracy to choose by */
        fprintf(stderr, "krait-dna baseline: too few training rows to hold a tenth out: l2 %g, not chosen (--l2 sets it)\n",
                best_l2);
    for (double l2 = 1e-4; fixed_l2 < 0 && nv && l2 < 20; l2 *= 10) {
        lr_fit(&md, X, tr.y, fit, nf, l2, epochs, c.seed);
        double a = accuracy(&md, X, tr.y, val, nv);
        krait_progress_line(&prog, 1, "baseline: l2 %g: held-out accuracy %.4f (%zu fit, %zu held out)", l2, a, nf, nv);
        if (a > best_acc) best_acc = a, best_l2 = l2;
    }
    krait_progress_done(&prog);
    lr_fit(&md, X, tr.y, all, tr.n, best_l2, epochs, c.seed);

    float *probs = malloc(te.n * (size_t)cl.n * sizeof *probs);
    if (!probs) krait_cli_die(1, "out of memory");
    for (size_t i = 0; i < te.n; i++) softmax_row(probs + i * cl.n, &md, Xt + i * D);
    if (out) {
        dna_pred_header(out, &cl);
        for (size_t i = 0; i < te.n; i++) dna_pred_row(out, te.name[i], &cl, probs + i * cl.n);
        krait_cli_output_close(out);
    }
    krait_cls_metrics mt;
    if ((st = krait_cls_metrics_compute(te.y, probs, (int)te.n, cl.n, &mt))) dna_die_status(st);
    if (confusion) {
        char title[300];
        snprintf(title, sizeof title, "krait-dna baseline (k-mer 1..%d logistic regression) on %s", k, test.items[0]);
        if ((st = krait_plot_confusion_svg(confusion, title, (const char *const *)cl.names, cl.n, mt.confusion)))
            dna_die_status(st);
    }
    double secs = krait_now() - t0;
    printf("baseline k-mer 1..%d logistic regression (l2 %g): %zu train, %zu test: accuracy %.4f, MCC %.4f, "
           "macro F1 %.4f", k, best_l2, tr.n, te.n, mt.accuracy, mt.mcc, mt.macro_f1);
    dna_print_auroc(&mt);
    printf(" (%.0fs)\n", secs);
    krait_cli_print_confusion(stdout, (const char *const *)cl.names, cl.n, mt.confusion);
    if (c.json) {
        char *j = krait_cls_metrics_json(&mt, (const char *const *)cl.names);
        if (!j) krait_cli_die(1, "out of memory");
        cJSON *o = cJSON_Parse(j); /* the metrics object plus the baseline's own keys */
        free(j);
        if (!o) krait_cli_die(1, "out of memory");
        cJSON_AddStringToObject(o, "model", "kmer-logreg");
        cJSON_AddNumberToObject(o, "k", k);
        cJSON_AddNumberToObject(o, "l2", best_l2);
        cJSON_AddNumberToObject(o, "train", (double)tr.n);
        cJSON_AddNumberToObject(o, "seconds", secs);
        krait_cli_print_json(o);
    }
    krait_cls_metrics_free(&mt);
    free(probs), free(held), free(fit), free(val), free(all), free(md.W), free(md.b), free(mu), free(sd), free(X), free(Xt);
    krait_dna_classes_free(&cl);
    krait_dna_set_free(&tr);
    krait_dna_set_free(&te);
    dna_inputs_close(&in);
    return 0;
}
