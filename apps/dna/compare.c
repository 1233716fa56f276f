/* apps/dna/compare.c — `krait-dna compare`: are two classifiers' accuracies on the same labelled
 * sequences really different? Reads the labelled input (--input, as eval does) and two
 * predictions TSVs (predict/eval --output, baseline --output: id, predicted class, ...) in the
 * input's order; ids are matched to the input's names (the same text, or the same line of the
 * same file spelled another way: "split/test.tsv:7" matches "/abs/split/test.tsv:7", but not
 * "other/test.tsv:7" when that is another file; see same_id). Prints both accuracies, their difference
 * with a 95% paired-bootstrap interval (rows resampled with replacement, --bootstrap times,
 * --seed), and McNemar's exact test on the rows where exactly one of the two is right: with b
 * rows only A gets right and c only B, p = min(1, 2 P(X <= min(b, c))) for X ~ Binomial(b + c,
 * 1/2) — the chance of a split at least this uneven if neither were better. For two classes
 * (both files' columns p_X p_Y, every label X or Y) the AUROCs of p_Y and their difference, with
 * an interval from the same resamples, follow: a model can rank better without being more
 * accurate at the 0.5 threshold. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "dnaapp.h"
#include "log.h"
#include "metrics.h"
#include "rng.h"

static const char *base_of(const char *s, size_t n)
{
    const char *b = s;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/') b = s + i + 1;
    return b;
}

/* Whether a prediction's id names the input's sequence `name`: the same text, or the same row
 * ("PATH:LINE", the same LINE and file name) of the same file spelled another way: "s/test.tsv:7"
 * and "/abs/s/test.tsv:7" when both are the same file (device and inode), or when the id's path
 * cannot be found from here (predicted in another folder). Two files that only share a name
 * ("fold_2/test.tsv" and "fold_3/test.tsv") are not the same, nor are read names that only end
 * alike ("a/1" and "b/1"). */
static int same_id(const char *id, const char *name)
{
    if (!strcmp(id, name)) return 1;
    const char *ci = strrchr(id, ':'), *cn = strrchr(name, ':');
    if (!ci || !cn || strcmp(ci, cn) || !ci[1] || strspn(ci + 1, "0123456789") != strlen(ci + 1)) return 0;
    const size_t li = (size_t)(ci - id), ln = (size_t)(cn - name);
    const char *bi = base_of(id, li), *bn = base_of(name, ln);
    if (ci - bi != cn - bn || strncmp(bi, bn, (size_t)(ci - bi))) return 0;
    char a[4096], b[4096];
    if (li >= sizeof a || ln >= sizeof b) return 0;
    memcpy(a, id, li), a[li] = 0;
    memcpy(b, name, ln), b[ln] = 0;
    struct stat sa, sb;
    if (stat(a, &sa)) return 1; /* not here: the folders are all that differ */
    return !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* One predictions file: right[i] = 1 when row i's predicted class is the set's label i; for
 * a two-class file (columns p_X p_Y: two = 1, cls = X, Y), pos[i] = p_Y. */
typedef struct pred_file {
    uint8_t *right;
    float *pos;
    int two;
    char cls[2][256];
    char *header;         /* the header line: its p_<class> columns name the model's classes */
} pred_file;

/* Whether the header (tab-separated) has the column p_<label>. */
static int header_has_class(const char *header, const char *label)
{
    const size_t n = strlen(label);
    for (const char *c = header; c; c = strchr(c, '\t')) {
        if (*c == '\t') c++;
        if (!strncmp(c, "p_", 2) && !strncmp(c + 2, label, n) && (c[2 + n] == '\t' || !c[2 + n])) return 1;
    }
    return 0;
}

/* Exits 2 on a file that is not a predictions TSV of this input: every row has the header's
 * columns, probabilities in [0, 1] that sum to 1 (to the 6 decimals written), and its predicted
 * class is the most probable one (a file edited or of another format would be scored wrongly). */
static void read_predictions(const char *path, const krait_dna_set *set, pred_file *pr)
{
    FILE *f = fopen(path, "r");
    if (!f) krait_cli_die(2, "%s: cannot open", path);
    char *line = NULL, **fld = NULL, **names = NULL, *names_text = NULL; /* names: the header's columns */
    size_t cap = 0, i = 0;
    long lineno = 0;
    int cols = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (got > 0 && line[got - 1] == '\n') line[--got] = 0;
        if (got > 0 && line[got - 1] == '\r') line[--got] = 0; /* CRLF: before the header is kept */
        if (lineno == 1) {
            if (!(pr->header = strdup(line)) || !(names_text = strdup(line))) krait_cli_die(1, "out of memory");
            cols = 1;
            for (const char *c = line; (c = strchr(c, '\t')); c++) cols++;
            fld = malloc((size_t)(cols + 1) * sizeof *fld), names = malloc((size_t)(cols + 1) * sizeof *names);
            if (!fld || !names) krait_cli_die(1, "out of memory");
            krait_dna_tsv_split(names_text, names, cols + 1);
        }
        int nf = krait_dna_tsv_split(line, fld, cols + 1);
        if (lineno == 1) {
            int ok = nf >= 4 && !strcmp(fld[0], "id") && !strcmp(fld[1], "predicted");
            for (int k = 2; ok && k < nf; k++) ok = !strncmp(fld[k], "p_", 2);
            if (!ok)
                krait_cli_die(2, "%s:1: not a predictions TSV (the header is id<TAB>predicted<TAB>p_<class>... with "
                              "two classes or more)", path);
            pr->two = nf == 4;
            for (int k = 0; pr->two && k < 2; k++) snprintf(pr->cls[k], sizeof pr->cls[k], "%s", fld[2 + k] + 2);
            continue;
        }
        if (nf != cols)
            krait_cli_die(2, "%s:%ld: %d columns where the header has %d", path, lineno, nf > cols ? cols + 1 : nf, cols);
        if (i >= set->n) krait_cli_die(2, "%s:%ld: more rows than the input's %zu sequences", path, lineno, set->n);
        if (!same_id(fld[0], set->name[i]))
            krait_cli_die(2, "%s:%ld: id '%s' where the input's sequence %zu is '%s' (predictions must be of this "
                          "input, in its order)", path, lineno, fld[0], i + 1, set->name[i]);
        double sum = 0, best = -1, mine = -1;
        for (int k = 2; k < cols; k++) {
            char *end = NULL;
            double v = strtod(fld[k], &end);
            if (end == fld[k] || *end || !(v >= 0 && v <= 1))
                krait_cli_die(2, "%s:%ld: %s '%s' is not a probability (a number in [0, 1])", path, lineno, names[k],
                              fld[k]);
            sum += v;
            if (v > best) best = v;
            if (!strcmp(names[k] + 2, fld[1])) mine = v;
            if (pr->two && k == 3) pr->pos[i] = (float)v;
        }
        if (fabs(sum - 1) > 1e-3)
            krait_cli_die(2, "%s:%ld: the probabilities sum to %.6g, not 1", path, lineno, sum);
        /* a label the predictions' classes do not have: another model's naming (at/gc against 0/1)
         * would score every row wrong without a word */
        if (!header_has_class(pr->header, set->label[i]))
            krait_cli_die(2, "%s: the input's label '%s' (sequence '%s') is not one of its classes (its p_<class> "
                          "columns): predictions of a model that names the classes otherwise?", path, set->label[i],
                          set->name[i]);
        if (mine < 0)
            krait_cli_die(2, "%s:%ld: predicted class '%s' is not one of its classes (its p_<class> columns)", path,
                          lineno, fld[1]);
        if (mine < best - 1e-6)
            krait_cli_die(2, "%s:%ld: predicted class '%s' (p %.6g) is not the most probable (p %.6g)", path, lineno,
                          fld[1], mine, best);
        pr->right[i] = !strcmp(fld[1], set->label[i]);
        i++;
    }
    free(line);
    free(fld), free(names), free(names_text);
    if (ferror(f)) krait_cli_die(2, "%s: read error", path);
    fclose(f);
    if (i != set->n) krait_cli_die(2, "%s: %zu predictions, the input has %zu sequences", path, i, set->n);
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Rows are matched to the input by position, their ids checked against its names: where a name
 * repeats (reads of a pair, duplicate FASTA names) two rows may be swapped unseen. Said once. */
static void warn_repeated_ids(const krait_dna_set *set, const char *input)
{
    char **names = malloc(set->n * sizeof *names);
    if (!names) krait_cli_die(1, "out of memory");
    memcpy(names, set->name, set->n * sizeof *names);
    qsort(names, set->n, sizeof *names, cmp_name);
    size_t rep = 0;
    const char *first = NULL;
    for (size_t i = 1; i < set->n; i++)
        if (!strcmp(names[i - 1], names[i])) rep++, first = first ? first : names[i];
    if (rep)
        KRAIT_WARN("%s: %zu sequence%s repeat%s an earlier name ('%s', ...): rows are matched by position, which "
                   "their ids cannot check there (keep the predictions in the input's order)", input, rep,
                   rep == 1 ? "" : "s", rep == 1 ? "s" : "", first);
    free(names);
}

int dna_cmd_compare(int argc, char **argv)
{
    krait_str_list inputs = { 0 }, preds = { 0 };
    int boot = 10000;
    dna_inputs in = DNA_INPUTS_INIT;
    krait_opt opts[] = {
        { "--input", OPT_LIST, &inputs, "SRC", "the labelled sequences both predicted (repeatable) (required)" },
        { "--pred", OPT_LIST, &preds, "PRED.tsv", "predictions of A, then of B (twice) (required)" },
        { "--bootstrap", OPT_INT, &boot, "N", "paired bootstrap resamples for the interval (default 10000)" },
        DNA_INPUT_OPTS(&in),
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-dna compare --input SRC... --pred A.tsv --pred B.tsv [--bootstrap N] [--seed N] [--json]\n"
                    "Two classifiers on the same labelled sequences: accuracies, their difference with a 95%\n"
                    "paired-bootstrap interval, and McNemar's exact test.");
    if (!inputs.n || preds.n != 2) krait_cli_die(2, "compare: --input and exactly two --pred files are required");
    if (boot < 100 || boot > 1000000) krait_cli_die(2, "compare: --bootstrap must be 100 to 1000000");
    dna_inputs_open(&in);
    dna_warn_unused_genome(&in, &inputs, NULL);
    krait_dna_set set;
    krait_dna_set_init(&set);
    dna_load_sources(&set, &inputs, &in, "--input");
    if (!set.n) krait_cli_die(2, "%s: no sequences", inputs.items[0]);
    for (size_t i = 0; i < set.n; i++)
        if (!set.label[i]) {
            char at[4200];
            krait_cli_die(2, "%s: sequence '%s' has no label", krait_dna_set_where(&set, i, inputs.items[0], at, sizeof at),
                          set.name[i]);
        }
    warn_repeated_ids(&set, inputs.items[0]);
    const size_t n = set.n;
    pred_file a = { .right = malloc(n), .pos = malloc(n * sizeof(float)) };
    pred_file b = { .right = malloc(n), .pos = malloc(n * sizeof(float)) };
    double *diffs = malloc((size_t)boot * sizeof *diffs), *adiffs = malloc((size_t)boot * sizeof *adiffs);
    uint32_t *w = malloc(n * sizeof *w);
    int32_t *y = malloc(n * sizeof *y);
    if (!a.right || !a.pos || !b.right || !b.pos || !diffs || !adiffs || !w || !y) krait_cli_die(1, "out of memory");
    read_predictions(preds.items[0], &set, &a);
    read_predictions(preds.items[1], &set, &b);
    const uint8_t *ra = a.right, *rb = b.right;
    /* AUROC when both files have the same two classes and every label is one of them; B's columns
     * in the other order are matched by name (its pos becomes 1 - p: the two sum to 1, checked) */
    if (a.two && b.two && strcmp(a.cls[0], b.cls[0]) && !strcmp(a.cls[0], b.cls[1]) && !strcmp(a.cls[1], b.cls[0])) {
        for (size_t i = 0; i < n; i++) b.pos[i] = 1.0f - b.pos[i];
        memcpy(b.cls[0], a.cls[0], sizeof b.cls[0]), memcpy(b.cls[1], a.cls[1], sizeof b.cls[1]);
    }
    int binary = a.two && b.two && !strcmp(a.cls[0], b.cls[0]) && !strcmp(a.cls[1], b.cls[1]);
    if (a.two && b.two && !binary)
        fprintf(stderr, "krait-dna compare: AUROC left out: the two files' class columns differ (%s, %s against %s, %s)\n",
                a.cls[0], a.cls[1], b.cls[0], b.cls[1]);
    const char *second = a.cls[1];
    size_t n_pos = 0;
    for (size_t i = 0; binary && i < n; i++) {
        y[i] = !strcmp(set.label[i], second);
        n_pos += (size_t)y[i];
        if (!y[i] && strcmp(set.label[i], a.cls[0])) binary = 0;
    }
    if (binary && (n_pos == 0 || n_pos == n)) {
        fprintf(stderr, "krait-dna compare: AUROC left out: every sequence is of class %s (it ranks one class against "
                        "the other)\n", n_pos ? second : a.cls[0]);
        binary = 0;
    }
    int32_t *oa = binary ? krait_cls_score_order(a.pos, (int)n) : NULL;
    int32_t *ob = binary ? krait_cls_score_order(b.pos, (int)n) : NULL;
    if (binary && (!oa || !ob)) krait_cli_die(1, "out of memory");

    long na = 0, nb = 0, only_a = 0, only_b = 0;
    for (size_t i = 0; i < n; i++) na += ra[i], nb += rb[i], only_a += ra[i] && !rb[i], only_b += rb[i] && !ra[i];
    const double acc_a = (double)na / (double)n, acc_b = (double)nb / (double)n, diff = acc_a - acc_b;
    double auc_a = NAN, auc_b = NAN, alo = NAN, ahi = NAN;
    if (binary) {
        auc_a = krait_cls_auroc_weighted(y, a.pos, NULL, oa, (int)n);
        auc_b = krait_cls_auroc_weighted(y, b.pos, NULL, ob, (int)n);
    }
    krait_rng rng;
    krait_rng_init(&rng, c.seed);
    int nauc = 0; /* resamples with both classes */
    for (int r = 0; r < boot; r++) { /* a resample: row i drawn w[i] times */
        long d = 0;
        memset(w, 0, n * sizeof *w);
        for (size_t j = 0; j < n; j++) {
            size_t i = (size_t)(krait_rng_u64(&rng) % n);
            w[i]++;
            d += (long)ra[i] - (long)rb[i];
        }
        diffs[r] = (double)d / (double)n;
        if (!binary) continue;
        double da = krait_cls_auroc_weighted(y, a.pos, w, oa, (int)n) - krait_cls_auroc_weighted(y, b.pos, w, ob, (int)n);
        if (isfinite(da)) adiffs[nauc++] = da;
    }
    double lo, hi;
    krait_interval95(diffs, boot, &lo, &hi);
    if (binary && isfinite(auc_a) && isfinite(auc_b) && nauc >= 100) krait_interval95(adiffs, nauc, &alo, &ahi);
    else if (binary) {
        fprintf(stderr, "krait-dna compare: AUROC left out: too few resamples hold both classes (%d of %d)\n", nauc, boot);
        binary = 0;
    }
    const double p = krait_mcnemar_exact(only_a, only_b);

    printf("A (%s): accuracy %.4f (%ld of %zu)\n", preds.items[0], acc_a, na, n);
    printf("B (%s): accuracy %.4f (%ld of %zu)\n", preds.items[1], acc_b, nb, n);
    printf("A - B: %+.4f, 95%% interval [%+.4f, %+.4f] (paired bootstrap, %d resamples, seed %llu)\n", diff, lo, hi,
           boot, (unsigned long long)c.seed);
    char pbuf[32];
    if (p < 1e-4) snprintf(pbuf, sizeof pbuf, "< 0.0001 (%.2g)", p);
    else snprintf(pbuf, sizeof pbuf, "= %.4f", p);
    printf("rows only A gets right: %ld, only B: %ld; McNemar exact p %s\n", only_a, only_b, pbuf);
    if (binary)
        printf("AUROC (p_%s): A %.4f, B %.4f; A - B: %+.4f, 95%% interval [%+.4f, %+.4f] (same resamples)\n", second,
               auc_a, auc_b, auc_a - auc_b, alo, ahi);
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "n", (double)n);
        cJSON_AddNumberToObject(o, "accuracy_a", acc_a);
        cJSON_AddNumberToObject(o, "accuracy_b", acc_b);
        cJSON_AddNumberToObject(o, "difference", diff);
        cJSON_AddNumberToObject(o, "ci_low", lo);
        cJSON_AddNumberToObject(o, "ci_high", hi);
        cJSON_AddNumberToObject(o, "only_a", (double)only_a);
        cJSON_AddNumberToObject(o, "only_b", (double)only_b);
        cJSON_AddNumberToObject(o, "mcnemar_p", p);
        cJSON_AddNumberToObject(o, "bootstrap", boot);
        if (binary) {
            cJSON_AddNumberToObject(o, "auroc_a", auc_a);
            cJSON_AddNumberToObject(o, "auroc_b", auc_b);
            cJSON_AddNumberToObject(o, "auroc_ci_low", alo);
            cJSON_AddNumberToObject(o, "auroc_ci_high", ahi);
        }
        krait_cli_print_json(o);
    }
    free(a.right), free(a.pos), free(a.header), free(b.right), free(b.pos), free(b.header), free(diffs), free(adiffs), free(w), free(y), free(oa), free(ob);
    krait_dna_set_free(&set);
    dna_inputs_close(&in);
    return 0;
}
