/* apps/dna/split.c — `krait-dna split`: a seeded, stratified train/test split of labelled
 * sequences into OUT/train.tsv and OUT/test.tsv ("seq<TAB>label" with a header, sequences as
 * A C G T N upper case, rows in input order; "id<TAB>seq<TAB>label" when the records have ids of
 * their own: FASTA/FASTQ/read names, BED regions, a TSV id column). The held-out part takes round(fraction x count)
 * rows of each class, chosen by a Fisher-Yates shuffle of that class's rows with krait_rng
 * seeded by (--seed, class index): the same input, fraction and seed give the same files on
 * every machine (dna_set.h). The README's benchmark splits use the default seed 1 and 0.2.
 * --folds K --fold I (1..K) holds out fold I of a stratified K-fold partition made from the same
 * shuffles instead: the K test files are disjoint and cover every row (cross-validation), and
 * fold 1 of 5 is the default 0.2 split. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "dna_seq.h"
#include "dnaapp.h"
#include "fsutil.h"

/* 1 when record i has an id of its own (a FASTA/FASTQ/read name, a BED region, a TSV id column),
 * not the "file:line" a TSV row without one is named by */
static int own_id(const krait_dna_set *s, size_t i)
{
    if (s->src[i] < 0 || s->line[i] <= 0) return 1;
    const char *p = s->paths[s->src[i]];
    size_t n = strlen(p);
    char line[32];
    snprintf(line, sizeof line, ":%ld", s->line[i]);
    return strncmp(s->name[i], p, n) || strcmp(s->name[i] + n, line);
}

/* One part into its output's temporary (krait_cli_output_open), flushed; exits on a failed write.
 * ids: an id column first (the records' own ids, so predictions join back to the source). */
static FILE *write_part(const char *path, const krait_dna_set *s, const uint8_t *held, int want, int ids)
{
    FILE *f = krait_cli_output_open(path);
    fprintf(f, ids ? "id\tseq\tlabel\n" : "seq\tlabel\n");
    for (size_t i = 0; i < s->n; i++) {
        if (held[i] != want) continue;
        if (ids) {
            krait_cli_tsv_field(f, s->name[i]);
            fputc('\t', f);
        }
        for (size_t j = s->off[i]; j < s->off[i + 1]; j++) fputc(krait_dna_id_char(s->ids[j]), f);
        fprintf(f, "\t%s\n", s->label[i]);
    }
    if (fflush(f) != 0 || ferror(f)) krait_cli_die(1, "%s: write failed (%s)", path, strerror(errno));
    return f;
}

int dna_cmd_split(int argc, char **argv)
{
    krait_str_list inputs = { 0 };
    const char *out = NULL;
    double fraction = -1; /* -1: not given (0.2, or --folds) */
    int folds = 0, fold = 0;
    dna_inputs in = DNA_INPUTS_INIT;
    krait_opt opts[] = {
        { "--input", OPT_LIST, &inputs, "SRC", "labelled sequences (repeatable; CLASS=FILE for one file per class)" },
        { "--out", OPT_STR, &out, "DIR", "writes DIR/train.tsv and DIR/test.tsv" },
        { "--fraction", OPT_DOUBLE, &fraction, "F", "held-out (test) fraction of each class (default 0.2)" },
        { "--folds", OPT_INT, &folds, "K", "K-fold cross-validation: hold out fold --fold of K instead" },
        { "--fold", OPT_INT, &fold, "I", "which fold to hold out, 1..K (with --folds)" },
        DNA_INPUT_OPTS(&in),
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-dna split --input SRC... --out DIR [--fraction 0.2 | --folds K --fold I] [--seed 1]\n"
                    "A seeded stratified split: OUT/train.tsv and OUT/test.tsv.");
    if (!inputs.n || !out) krait_cli_die(2, "split: --input and --out are required");
    if (folds || fold) {
        if (fraction != -1) krait_cli_die(2, "split: --fraction and --folds exclude each other");
        if (folds < 2 || fold < 1 || fold > folds)
            krait_cli_die(2, "split: --folds K needs K >= 2 and --fold I with 1 <= I <= K (got %d of %d)", fold, folds);
    } else if (fraction == -1) {
        fraction = 0.2;
    }
    if (!folds && !(fraction > 0 && fraction < 1)) krait_cli_die(2, "split: --fraction must be in (0, 1)");
    dna_inputs_open(&in);
    dna_warn_unused_genome(&in, &inputs, NULL);
    krait_dna_set s;
    krait_dna_set_init(&s);
    dna_load_sources(&s, &inputs, &in, "--input");
    krait_dna_classes cl;
    krait_status st = krait_dna_classes_from_set(&cl, &s, inputs.items[0]);
    if (!st) st = krait_dna_set_map(&s, &cl, 1, inputs.items[0]);
    if (st) dna_die_status(st);
    if (folds) { /* each class is cut into K parts: a fold holds something out only when a class has K rows */
        size_t most = 0;
        for (int k = 0; k < cl.n; k++) {
            size_t nk = 0;
            for (size_t i = 0; i < s.n; i++) nk += s.y[i] == k;
            if (nk > most) most = nk;
        }
        if ((size_t)folds > most)
            krait_cli_die(2, "split: --folds %d is more folds than the largest class has sequences (%zu): some folds "
                          "would hold nothing out; at most %zu", folds, most, most);
    }
    uint8_t *held = malloc(s.n);
    if (!held) krait_cli_die(1, "out of memory");
    if (folds) krait_dna_fold(held, s.y, s.n, folds, fold - 1, c.seed);
    else krait_dna_split(held, s.y, s.n, fraction, c.seed);
    size_t n_test = 0;
    for (size_t i = 0; i < s.n; i++) n_test += held[i];
    if (!n_test || n_test == s.n) /* too few rows per class for this fraction: one part would be empty */
        krait_cli_die(2, "split: %zu sequences (%d classes) leave the %s part empty with %s; more rows, or another "
                      "--fraction / --folds", s.n, cl.n, n_test ? "training" : "held-out",
                      folds ? "these folds" : "this fraction");
    /* a class with all its rows held out: a classifier trained on this part cannot know it */
    for (int k = 0; k < cl.n; k++) {
        size_t all = 0, kept = 0;
        for (size_t i = 0; i < s.n; i++)
            if (s.y[i] == k) all++, kept += !held[i];
        if (!kept)
            krait_cli_die(2, "split: class '%s' (%zu sequence%s) has none left in the training part with %s; more rows "
                          "of it, or %s", cl.names[k], all, all == 1 ? "" : "s", folds ? "these folds" : "this fraction",
                          folds ? "fewer --folds" : "a smaller --fraction");
    }
    if ((st = krait_fs_mkdirs(out))) dna_die_status(st); /* krait_fs_mkdirs logs why not */
    char *tr = krait_fs_join(out, "train.tsv"), *te = krait_fs_join(out, "test.tsv");
    if (!tr || !te) krait_cli_die(1, "out of memory");
    dna_refuse_overwrite(tr, "--out", &inputs, NULL, &in);
    dna_refuse_overwrite(te, "--out", &inputs, NULL, &in);
    /* both parts written before either replaces an earlier split's, and the old train.tsv gone
     * first: no moment (a kill, a full disk) leaves a train.tsv beside a test.tsv of another split,
     * whose rows it would hold */
    int ids = 0; /* an id column when any record has an id of its own; TSV rows without one keep two columns */
    for (size_t i = 0; !ids && i < s.n; i++) ids = own_id(&s, i);
    FILE *ftr = write_part(tr, &s, held, 0, ids), *fte = write_part(te, &s, held, 1, ids);
    krait_cli_output_unlink_old(tr);
    krait_cli_output_close(fte);
    krait_cli_output_close(ftr);
    char how[48] = "";
    if (folds) snprintf(how, sizeof how, ", fold %d of %d", fold, folds);
    printf("split %zu sequences (%d classes, seed %llu%s): %zu in %s, %zu in %s\n", s.n, cl.n,
           (unsigned long long)c.seed, how, s.n - n_test, tr, n_test, te);
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "n", (double)s.n);
        cJSON_AddNumberToObject(o, "train", (double)(s.n - n_test));
        cJSON_AddNumberToObject(o, "test", (double)n_test);
        cJSON_AddNumberToObject(o, "classes", cl.n);
        cJSON_AddNumberToObject(o, "seed", (double)c.seed);
        if (folds) {
            cJSON_AddNumberToObject(o, "folds", folds);
            cJSON_AddNumberToObject(o, "fold", fold);
        }
        krait_cli_print_json(o);
    }
    free(tr), free(te), free(held);
    krait_dna_classes_free(&cl);
    krait_dna_set_free(&s);
    dna_inputs_close(&in);
    return 0;
}
