/* modalities/dna/dna_set.c — labelled sequence sets, class lists and the seeded split (see
 * dna_set.h). */
#include "dna_set.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "dna_seq.h"
#include "fsutil.h"
#include "log.h"
#include "rng.h"

void krait_dna_set_init(krait_dna_set *s) { memset(s, 0, sizeof *s); }

void krait_dna_set_free(krait_dna_set *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->name[i]), free(s->label[i]);
    for (int i = 0; i < s->n_paths; i++) free(s->paths[i]);
    free(s->ids), free(s->off), free(s->name), free(s->label), free(s->y), free(s->src), free(s->line), free(s->paths);
    memset(s, 0, sizeof *s);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return 0;
    *p = q;
    *cap = c;
    return 1;
}

krait_status krait_dna_set_add(krait_dna_set *s, const krait_dna_rec *rec)
{
    size_t cap = s->cap, cap_ids = s->cap_ids;
    if (!rec->seq) {
        KRAIT_ERROR("%s: region of %zu bp is too long to hold in memory here", rec->name, rec->len);
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (!grow((void **)&s->ids, &cap_ids, s->n_ids + rec->len, 1)) return KRAIT_STATUS_NO_MEMORY;
    s->cap_ids = cap_ids;
    if (s->n + 2 > s->cap) {
        size_t c = cap;
        if (!grow((void **)&s->off, &c, s->n + 2, sizeof *s->off)) return KRAIT_STATUS_NO_MEMORY;
        c = cap;
        if (!grow((void **)&s->name, &c, s->n + 2, sizeof *s->name)) return KRAIT_STATUS_NO_MEMORY;
        c = cap;
        if (!grow((void **)&s->label, &c, s->n + 2, sizeof *s->label)) return KRAIT_STATUS_NO_MEMORY;
        c = cap;
        if (!grow((void **)&s->y, &c, s->n + 2, sizeof *s->y)) return KRAIT_STATUS_NO_MEMORY;
        c = cap;
        if (!grow((void **)&s->src, &c, s->n + 2, sizeof *s->src)) return KRAIT_STATUS_NO_MEMORY;
        c = cap;
        if (!grow((void **)&s->line, &c, s->n + 2, sizeof *s->line)) return KRAIT_STATUS_NO_MEMORY;
        s->cap = c;
    }
    if (!s->n) s->off[0] = 0;
    krait_dna_encode_u8(s->ids + s->n_ids, rec->seq, rec->len); /* checked by the reader */
    s->name[s->n] = strdup(rec->name);
    s->label[s->n] = rec->label ? strdup(rec->label) : NULL;
    if (!s->name[s->n] || (rec->label && !s->label[s->n])) return KRAIT_STATUS_NO_MEMORY;
    s->y[s->n] = -1;
    s->src[s->n] = s->n_paths - 1;
    s->line[s->n] = rec->line;
    s->n_ids += rec->len;
    s->n++;
    s->off[s->n] = s->n_ids;
    if (rec->len > s->max_len) s->max_len = rec->len;
    return KRAIT_STATUS_OK;
}

krait_status krait_dna_set_source(krait_dna_set *s, const char *path)
{
    if (s->n_paths && !strcmp(s->paths[s->n_paths - 1], path)) return KRAIT_STATUS_OK;
    char **p = realloc(s->paths, (size_t)(s->n_paths + 1) * sizeof *p);
    if (!p) return KRAIT_STATUS_NO_MEMORY;
    s->paths = p;
    if (!(p[s->n_paths] = strdup(path))) return KRAIT_STATUS_NO_MEMORY;
    s->n_paths++;
    return KRAIT_STATUS_OK;
}

const char *krait_dna_set_where(const krait_dna_set *s, size_t i, const char *fallback, char *buf, size_t size)
{
    if (!s->src || s->src[i] < 0) return fallback;
    if (s->line[i] > 0) snprintf(buf, size, "%s:%ld", s->paths[s->src[i]], s->line[i]);
    else snprintf(buf, size, "%s", s->paths[s->src[i]]);
    return buf;
}

const char *krait_dna_source_split(const char *source, char **cls)
{
    *cls = NULL;
    const char *eq = strchr(source, '=');
    if (!eq || access(source, F_OK) == 0) return source;
    if (eq == source) {
        KRAIT_ERROR("%s: empty class name before '='", source);
        return NULL;
    }
    if (!(*cls = strndup(source, (size_t)(eq - source)))) {
        KRAIT_ERROR("out of memory");
        return NULL;
    }
    return eq + 1;
}

krait_status krait_dna_set_read(krait_dna_set *s, const char *source, const krait_dna_read_opts *opts)
{
    krait_dna_read_opts o = *opts;
    char *cls = NULL;
    const char *path = krait_dna_source_split(source, &cls);
    if (!path) return KRAIT_STATUS_BAD_INPUT;
    if (cls) o.label = cls;
    krait_status st;
    krait_dna_reader *r = (st = krait_dna_set_source(s, path)) ? NULL : krait_dna_reader_open(path, &o, &st);
    krait_dna_rec rec;
    int got = 0;
    size_t before = s->n;
    while (r && (got = krait_dna_reader_next(r, &rec)) > 0)
        if ((st = krait_dna_set_add(s, &rec))) break;
    if (r && got < 0) st = (krait_status)-got;
    if (r && !st && s->n == before) {
        KRAIT_ERROR("%s: no sequences", path);
        st = KRAIT_STATUS_BAD_INPUT;
    }
    krait_dna_reader_close(r);
    free(cls);
    return st;
}

/* ---- classes ------------------------------------------------------------------------------------ */
int krait_dna_classes_find(const krait_dna_classes *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->names[i], name)) return i;
    return -1;
}

const char *krait_dna_classes_list(const krait_dna_classes *c, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int k = 0; k < c->n && n < size; k++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", k ? ", " : "", c->names[k]);
    if (n >= size && size > 4) strcpy(buf + size - 4, "...");
    return buf;
}

int krait_dna_classes_equal(const krait_dna_classes *a, const krait_dna_classes *b)
{
    int same = a->n == b->n;
    for (int i = 0; same && i < a->n; i++) same = !strcmp(a->names[i], b->names[i]);
    return same;
}

static krait_status classes_add(krait_dna_classes *c, const char *name, size_t len)
{
    char **p = realloc(c->names, (size_t)(c->n + 1) * sizeof *p);
    if (!p) return KRAIT_STATUS_NO_MEMORY;
    c->names = p;
    if (!(p[c->n] = strndup(name, len))) return KRAIT_STATUS_NO_MEMORY;
    c->n++;
    return KRAIT_STATUS_OK;
}

/* A label that cannot be a class name (krait_class_name_ok): one line, and 0. */
static int label_ok(const krait_dna_set *s, size_t i, const char *origin)
{
    char at[4200], why[320];
    if (krait_class_name_ok(s->label[i], why, sizeof why)) return 1;
    KRAIT_ERROR("%s: record '%s': %s", krait_dna_set_where(s, i, origin, at, sizeof at), s->name[i], why);
    return 0;
}

krait_status krait_dna_classes_from_set(krait_dna_classes *c, const krait_dna_set *s, const char *origin)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < s->n; i++) {
        if (!s->label[i]) {
            char at[4200];
            KRAIT_ERROR("%s: record '%s' has no label (give labels by TSV column, BED name, --label-key, or "
                        "CLASS=FILE)", krait_dna_set_where(s, i, origin, at, sizeof at), s->name[i]);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (krait_dna_classes_find(c, s->label[i]) >= 0) continue;
        if (!label_ok(s, i, origin)) return KRAIT_STATUS_BAD_INPUT;
        krait_status st = classes_add(c, s->label[i], strlen(s->label[i]));
        if (st) return st;
    }
    krait_class_names_sort(c->names, c->n);
    if (c->n < 2) {
        KRAIT_ERROR("%s: %d class%s among the labels; a classifier needs at least 2", origin, c->n,
                    c->n == 1 ? "" : "es");
        return KRAIT_STATUS_BAD_INPUT;
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_dna_classes_parse(krait_dna_classes *c, const char *list)
{
    memset(c, 0, sizeof *c);
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        if (!n) {
            KRAIT_ERROR("--classes '%s': empty class name", list);
            return KRAIT_STATUS_BAD_INPUT;
        }
        krait_status st = classes_add(c, p, n);
        if (st) return st;
        for (int i = 0; i < c->n - 1; i++)
            if (!strcmp(c->names[i], c->names[c->n - 1])) {
                KRAIT_ERROR("--classes '%s': class '%s' appears twice", list, c->names[i]);
                return KRAIT_STATUS_BAD_INPUT;
            }
        if (!p[n]) break;
        p += n + 1;
    }
    if (c->n < 2) {
        KRAIT_ERROR("--classes '%s': a classifier needs at least 2 classes", list);
        return KRAIT_STATUS_BAD_INPUT;
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_dna_classes_load(krait_dna_classes *c, const char *path)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "r");
    if (!f) {
        KRAIT_ERROR("%s: cannot read the class list (%s)", path, strerror(errno));
        return KRAIT_STATUS_BAD_INPUT;
    }
    char *line = NULL;
    size_t cap = 0;
    long line_no = 0;
    krait_status st = KRAIT_STATUS_OK;
    while (!st && getline(&line, &cap, f) >= 0) {
        line_no++;
        size_t n = strcspn(line, "\r\n");
        if (!n) continue;
        line[n] = 0;
        if (krait_dna_classes_find(c, line) >= 0) { /* two columns of one name: a prediction goes to the wrong one */
            KRAIT_ERROR("%s:%ld: class '%s' appears twice", path, line_no, line);
            st = KRAIT_STATUS_BAD_INPUT;
        } else {
            st = classes_add(c, line, n);
        }
    }
    free(line);
    fclose(f);
    if (!st && c->n < 2) {
        KRAIT_ERROR("%s: fewer than 2 classes", path);
        st = KRAIT_STATUS_BAD_INPUT;
    }
    return st;
}

/* Written whole under a temporary name and renamed: a failed write (a full disk) leaves the
 * file before it, never an empty one under its name (best/classes.txt is rewritten every time
 * a better model is kept). */
krait_status krait_dna_classes_save(const krait_dna_classes *c, const char *path)
{
    size_t n = 0;
    for (int i = 0; i < c->n; i++) n += strlen(c->names[i]) + 1;
    char *text = malloc(n + 1), *p = text;
    if (!text) return KRAIT_STATUS_NO_MEMORY;
    for (int i = 0; i < c->n; i++) p += sprintf(p, "%s\n", c->names[i]);
    krait_status s = krait_fs_write_atomic(path, text, n);
    free(text);
    return s;
}

void krait_dna_classes_free(krait_dna_classes *c)
{
    for (int i = 0; i < c->n; i++) free(c->names[i]);
    free(c->names);
    memset(c, 0, sizeof *c);
}

krait_status krait_dna_set_map(krait_dna_set *s, const krait_dna_classes *c, int required, const char *origin)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!s->label[i]) {
            if (!required) {
                s->y[i] = -1;
                continue;
            }
            char at[4200];
            KRAIT_ERROR("%s: record '%s' has no label", krait_dna_set_where(s, i, origin, at, sizeof at), s->name[i]);
            return KRAIT_STATUS_BAD_INPUT;
        }
        int k = krait_dna_classes_find(c, s->label[i]);
        if (k < 0 && !label_ok(s, i, origin)) return KRAIT_STATUS_BAD_INPUT;
        if (k < 0) {
            char list[256], at[4200];
            KRAIT_ERROR("%s: record '%s': label '%s' is not one of the model's classes (%s)",
                        krait_dna_set_where(s, i, origin, at, sizeof at), s->name[i], s->label[i],
                        krait_dna_classes_list(c, list, sizeof list));
            return KRAIT_STATUS_BAD_INPUT;
        }
        s->y[i] = k;
    }
    return KRAIT_STATUS_OK;
}

/* ---- split ---------------------------------------------------------------------------------------- */
/* Fold f of K of m shuffled rows: positions [round(f m / K), round((f + 1) m / K)), in integers. */
static size_t fold_at(size_t m, int f, int K) { return ((size_t)f * m * 2 + (size_t)K) / (2 * (size_t)K); }

/* Each class's rows are shuffled (Fisher-Yates, krait_rng stream (seed, class)); held out are
 * positions [0, round(fraction m)) of the shuffle, or fold `fold` of `folds` when folds > 0. */
static void hold_out(uint8_t *held_out, const int32_t *labels, size_t n, uint64_t seed, double fraction, int folds,
                     int fold)
{
    memset(held_out, 0, n);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) return;
    int32_t lo = 0, hi = -1;
    for (size_t i = 0; i < n; i++) {
        if (!i || labels[i] < lo) lo = labels[i];
        if (!i || labels[i] > hi) hi = labels[i];
    }
    for (int32_t c = lo; n && c <= hi; c++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (labels[i] == c) idx[m++] = i;
        if (!m) continue;
        krait_rng rng;
        krait_rng_init_stream(&rng, seed, (uint64_t)(c - lo));
        for (size_t i = m - 1; i > 0; i--) {
            size_t j = (size_t)(krait_rng_u64(&rng) % (i + 1));
            size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        size_t from = folds > 0 ? fold_at(m, fold, folds) : 0;
        size_t to = folds > 0 ? fold_at(m, fold + 1, folds) : (size_t)(fraction * (double)m + 0.5);
        for (size_t i = from; i < to; i++) held_out[idx[i]] = 1;
    }
    free(idx);
}

void krait_dna_split(uint8_t *held_out, const int32_t *labels, size_t n, double fraction, uint64_t seed)
{
    hold_out(held_out, labels, n, seed, fraction, 0, 0);
}

void krait_dna_fold(uint8_t *held_out, const int32_t *labels, size_t n, int folds, int fold, uint64_t seed)
{
    hold_out(held_out, labels, n, seed, 0, folds, fold);
}
