/* core/metrics.c — classification metrics; see metrics.h. */
#include "metrics.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int krait_cls_argmax(const float *p, int C)
{
    int best = 0;
    for (int c = 1; c < C; c++)
        if (p[c] > p[best]) best = c;
    return best;
}

typedef struct scored {
    float score;
    int32_t row;
} scored;

static int by_score(const void *a, const void *b)
{
    float x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    if (isnan(x) || isnan(y)) return isnan(y) - isnan(x); /* NaN first, a consistent order */
    return (x > y) - (x < y);
}

int32_t *krait_cls_score_order(const float *score, int n)
{
    scored *v = malloc((size_t)n * sizeof *v);
    int32_t *order = malloc((size_t)n * sizeof *order);
    if (v && order) {
        for (int i = 0; i < n; i++) v[i].score = score[i], v[i].row = i;
        qsort(v, (size_t)n, sizeof *v, by_score);
        for (int i = 0; i < n; i++) order[i] = v[i].row;
    } else {
        free(order), order = NULL;
    }
    free(v);
    return order;
}

/* Over groups of equal score, lowest first: each positive beats the negatives below its group
 * and ties (half) with those in it — the Mann-Whitney count with average ranks for ties. */
double krait_cls_auroc_weighted(const int32_t *labels, const float *score, const uint32_t *weight,
                                const int32_t *order, int n)
{
    for (int i = 0; i < n; i++)
        if (isnan(score[i])) return NAN; /* a score that ranks nowhere: no AUROC */
    double below = 0, wins = 0, wpos = 0, wneg = 0;
    for (int i = 0; i < n;) {
        double pos = 0, neg = 0;
        int j = i;
        for (; j < n && score[order[j]] == score[order[i]]; j++) {
            const int32_t r = order[j];
            const double w = weight ? weight[r] : 1.0;
            if (labels[r] == 1) pos += w;
            else neg += w;
        }
        wins += pos * (below + 0.5 * neg);
        below += neg, wpos += pos, wneg += neg;
        i = j;
    }
    return wpos > 0 && wneg > 0 ? wins / (wpos * wneg) : NAN;
}

double krait_cls_auroc(const int32_t *labels, const float *probs, int n)
{
    float *score = n > 0 ? malloc((size_t)n * sizeof *score) : NULL;
    if (!score) return NAN;
    for (int i = 0; i < n; i++) score[i] = probs[(size_t)i * 2 + 1];
    int32_t *order = krait_cls_score_order(score, n);
    double auc = order ? krait_cls_auroc_weighted(labels, score, NULL, order, n) : NAN;
    free(order), free(score);
    return auc;
}

krait_status krait_cls_metrics_compute(const int32_t *labels, const float *probs, int n, int C,
                                       krait_cls_metrics *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->C = C;
    out->auroc = NAN;
    out->confusion = calloc((size_t)C * C, sizeof *out->confusion);
    if (!out->confusion) return KRAIT_STATUS_NO_MEMORY;
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= C) {
            KRAIT_ERROR("example %d: label %d is outside the %d classes", i, labels[i], C);
            krait_cls_metrics_free(out);
            return KRAIT_STATUS_BAD_INPUT;
        }
        out->confusion[(size_t)labels[i] * C + krait_cls_argmax(probs + (size_t)i * C, C)]++;
        out->log_loss -= log(fmax(probs[(size_t)i * C + labels[i]], 1e-7));
    }
    out->log_loss = n ? out->log_loss / n : NAN;
    const long *cm = out->confusion;
    double correct = 0, sum_pt = 0, sum_pp = 0, sum_tt = 0, f1 = 0;
    int seen = 0; /* classes that are true or predicted somewhere: macro F1 averages over those */
    for (int k = 0; k < C; k++) {
        double tp = cm[(size_t)k * C + k], t = 0, p = 0;
        for (int j = 0; j < C; j++) {
            t += cm[(size_t)k * C + j];
            p += cm[(size_t)j * C + k];
        }
        correct += tp;
        sum_pt += p * t;
        sum_pp += p * p;
        sum_tt += t * t;
        if (t + p > 0) f1 += 2 * tp / (t + p), seen++;
    }
    double s = n;
    out->accuracy = n ? correct / s : NAN;
    double den = sqrt((s * s - sum_pp) * (s * s - sum_tt));
    out->mcc = den > 0 ? (correct * s - sum_pt) / den : 0.0;
    out->macro_f1 = seen ? f1 / seen : NAN;
    if (C == 2) out->auroc = krait_cls_auroc(labels, probs, n);
    return KRAIT_STATUS_OK;
}

void krait_cls_metrics_free(krait_cls_metrics *mt)
{
    free(mt->confusion);
    mt->confusion = NULL;
}

char *krait_cls_metrics_json(const krait_cls_metrics *mt, const char *const *class_names)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "n", mt->n);
    cJSON_AddNumberToObject(o, "accuracy", mt->accuracy);
    cJSON_AddNumberToObject(o, "mcc", mt->mcc);
    cJSON_AddNumberToObject(o, "macro_f1", mt->macro_f1);
    if (mt->C == 2) {
        if (isfinite(mt->auroc))
            cJSON_AddNumberToObject(o, "auroc", mt->auroc);
        else
            cJSON_AddNullToObject(o, "auroc");
    }
    cJSON *names = cJSON_AddArrayToObject(o, "classes");
    cJSON *rows = cJSON_AddArrayToObject(o, "confusion");
    for (int k = 0; k < mt->C; k++) {
        char num[16];
        snprintf(num, sizeof num, "%d", k);
        cJSON_AddItemToArray(names, cJSON_CreateString(class_names ? class_names[k] : num));
        cJSON *row = cJSON_CreateArray();
        for (int j = 0; j < mt->C; j++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)mt->confusion[(size_t)k * mt->C + j]));
        cJSON_AddItemToArray(rows, row);
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

double krait_mcnemar_exact(long b, long c)
{
    long n = b + c, k = b < c ? b : c;
    if (n == 0) return 1.0;
    double tail = 0, lnf = lgamma((double)n + 1);
    for (long i = 0; i <= k; i++)
        tail += exp(lnf - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - (double)n * log(2.0));
    return fmin(1.0, 2 * tail);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void krait_interval95(double *v, int n, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = *hi = NAN;
        return;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *lo = v[(size_t)floor(0.025 * n)];
    *hi = v[(size_t)ceil(0.975 * n) - 1];
}
