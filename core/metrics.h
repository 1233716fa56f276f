/* core/metrics.h — classification metrics from labels and predicted class probabilities:
 * accuracy, Matthews correlation (the multi-class R_K of Gorodkin 2004, equal to the usual MCC
 * for two classes), macro-averaged F1 over the classes that are true or predicted somewhere (as
 * scikit-learn's f1_score(average="macro") with its default labels: a class of the model absent
 * from a test set neither counts as 0 nor as 1), AUROC for two classes (class 1 positive; ties share their average rank,
 * i.e. the Mann-Whitney statistic) and the confusion matrix. The prediction is the argmax
 * (the first of equal probabilities).
 *
 * This file does not run models or write pictures (apps/common/plot.h draws the matrix). */
#ifndef KRAIT_METRICS_H
#define KRAIT_METRICS_H

#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_cls_metrics {
    int n, C;
    double accuracy, mcc, macro_f1;
    double log_loss;     /* mean -ln p(true class), each p floored at 1e-7 */
    double auroc;        /* NAN unless C == 2 and both classes occur */
    long *confusion;     /* (C, C): row = true class, column = predicted class */
} krait_cls_metrics;

/* The predicted class of probabilities p (C): the index of the largest, the first of equal ones
 * (every prediction krait writes, and the metrics, use this one rule). */
int krait_cls_argmax(const float *p, int C);

/* labels (n) in [0, C), probs (n, C). BAD_INPUT (one logged line) for a label outside 0..C-1. */
krait_status krait_cls_metrics_compute(const int32_t *labels, const float *probs, int n, int C,
                                       krait_cls_metrics *out);
void krait_cls_metrics_free(krait_cls_metrics *mt);
/* The Mann-Whitney AUROC of probs[:, 1] (probs (n, 2)) for labels 1 against the rest, ties at
 * their average rank; NAN when one side is empty, a score is NaN, or out of memory. */
double krait_cls_auroc(const int32_t *labels, const float *probs, int n);
/* The same for scores score (n) with row i counted weight[i] times (NULL: once each), given
 * order: the rows by ascending score (krait_cls_score_order, malloc'd; NULL when out of
 * memory). A bootstrap sorts once and resamples by weights, O(n) per resample. */
int32_t *krait_cls_score_order(const float *score, int n);
double krait_cls_auroc_weighted(const int32_t *labels, const float *score, const uint32_t *weight,
                                const int32_t *order, int n);
/* {"n","accuracy","mcc","macro_f1","auroc" (binary only),"classes","confusion"} as malloc'd JSON
 * text; class_names may be NULL (then "0", "1", ...). */
char *krait_cls_metrics_json(const krait_cls_metrics *mt, const char *const *class_names);

/* Comparing two classifiers on the same rows (krait-dna compare). */
/* McNemar's exact two-sided p for b rows only the first gets right and c only the second:
 * min(1, 2 P(X <= min(b, c))) for X ~ Binomial(b + c, 1/2); 1 when b + c = 0. */
double krait_mcnemar_exact(long b, long c);
/* The central 95% of v[0..n) (sorted in place): lo the (floor(0.025 n) + 1)-th smallest, hi the
 * ceil(0.975 n)-th, so as many values lie below lo as above hi; both NaN when n <= 0. */
void krait_interval95(double *v, int n, double *lo, double *hi);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_METRICS_H */
