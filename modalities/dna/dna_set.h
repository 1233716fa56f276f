/* modalities/dna/dna_set.h — an in-memory set of labelled DNA sequences (a training or test set),
 * its class list, and the seeded stratified split.
 *
 * Sources are "PATH" (labels from the file: TSV column, BED name, header key) or "CLASS=PATH"
 * (every record of PATH is CLASS: one file per class), read through dna_read.h. Ids are kept as
 * bytes (dna_seq.h), concatenated; names and label strings are kept for predictions and
 * messages. Classes: a given list, or the sorted distinct labels of a training set (numerically
 * when all are integers, so "0", "1", "10" keep their order). A label outside the class list is
 * an error naming the record.
 *
 * The split (krait-dna split) is a pure function of (rows, labels, fraction, seed): rows of each
 * class are shuffled with krait_rng (seeded), the first round(fraction x count) of each class
 * go to the held-out part; both parts keep the input order. This file does no training. */
#ifndef KRAIT_DNA_SET_H
#define KRAIT_DNA_SET_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "dna_read.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_dna_set {
    size_t n, cap;
    uint8_t *ids;           /* all sequences, concatenated */
    size_t n_ids, cap_ids;
    size_t *off;            /* (n + 1) start of each sequence in ids */
    char **name;            /* (n) */
    char **label;           /* (n) label string or NULL */
    int32_t *y;             /* (n) class index (krait_dna_set_map), -1 unlabelled */
    int32_t *src;           /* (n) the source each record came from (an index into paths), -1 none */
    long *line;             /* (n) its line in that source (0 when not known) */
    char **paths;           /* (n_paths) the sources read, in order (krait_dna_set_source) */
    int n_paths;
    size_t max_len;
} krait_dna_set;

typedef struct krait_dna_classes {
    int n;
    char **names;
} krait_dna_classes;

void krait_dna_set_init(krait_dna_set *s);
void krait_dna_set_free(krait_dna_set *s);
/* Append one record (its sequence encoded), from the source named last by krait_dna_set_source. */
krait_status krait_dna_set_add(krait_dna_set *s, const krait_dna_rec *rec);
/* The records added from now on come from path (messages name it and the record's line). */
krait_status krait_dna_set_source(krait_dna_set *s, const char *path);
/* "PATH:LINE" (or "PATH", or fallback when the record's source is not known) of record i, for
 * messages, in buf. */
const char *krait_dna_set_where(const krait_dna_set *s, size_t i, const char *fallback, char *buf, size_t size);
/* The path of a source, and in *cls (malloc'd, or NULL) the class of "CLASS=PATH" (a file
 * whose name really contains '=' is taken as a path). NULL (said in one line) on out of memory
 * or an empty class. */
const char *krait_dna_source_split(const char *source, char **cls);
/* Read every record of one source ("PATH" or "CLASS=PATH"; base options in opts). */
krait_status krait_dna_set_read(krait_dna_set *s, const char *source, const krait_dna_read_opts *opts);
static inline size_t krait_dna_set_len(const krait_dna_set *s, size_t i) { return s->off[i + 1] - s->off[i]; }

/* The sorted distinct labels of s (every record must have one; BAD_INPUT names the first
 * without, its file and line; origin names the set when its records' sources are not known). */
krait_status krait_dna_classes_from_set(krait_dna_classes *c, const krait_dna_set *s, const char *origin);
/* A comma-separated list "neg,pos". */
krait_status krait_dna_classes_parse(krait_dna_classes *c, const char *list);
/* Read / write one class name per line. */
krait_status krait_dna_classes_load(krait_dna_classes *c, const char *path);
krait_status krait_dna_classes_save(const krait_dna_classes *c, const char *path);
int krait_dna_classes_find(const krait_dna_classes *c, const char *name);
/* The names "a, b, c" into buf (cut short with "..." when long); returns buf. */
const char *krait_dna_classes_list(const krait_dna_classes *c, char *buf, size_t size);
/* 1 if a and b name the same classes in the same order (one model's probabilities line up with the other's) */
int krait_dna_classes_equal(const krait_dna_classes *a, const krait_dna_classes *b);
void krait_dna_classes_free(krait_dna_classes *c);

/* Fill s->y from the labels. required = 1: every record needs a label in c (else BAD_INPUT,
 * one line naming the record and the classes); 0: missing labels are -1, unknown ones still
 * an error. */
krait_status krait_dna_set_map(krait_dna_set *s, const krait_dna_classes *c, int required, const char *origin);

/* The stratified split: held_out[i] = 1 for the rows of the held-out part. labels (n) are any
 * ints (class ids); fraction in (0, 1). */
void krait_dna_split(uint8_t *held_out, const int32_t *labels, size_t n, double fraction, uint64_t seed);

/* Fold `fold` (0-based) of a stratified `folds`-fold partition with the same shuffles: the folds
 * are disjoint and cover every row, and fold 0 of 5 is krait_dna_split's 0.2 held-out part. */
void krait_dna_fold(uint8_t *held_out, const int32_t *labels, size_t n, int folds, int fold, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_DNA_SET_H */
