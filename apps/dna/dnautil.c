/* apps/dna/dnautil.c — input options, set loading and class lists shared by the krait-dna
 * commands (see dnaapp.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnaapp.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "metrics.h"
#include "runfiles.h"
#include "runfolder.h"
#include "trainopts.h"

void dna_die_status(krait_status s) { exit(krait_cli_exit_code(s)); }

void dna_inputs_open(dna_inputs *in)
{
    memset(&in->opts, 0, sizeof in->opts);
    in->opts.label_key = in->label_key;
    in->opts.reference = in->reference;
    if (in->window == 0) krait_cli_die(2, "--window must be >= 1 (bases)");
    in->opts.window = in->window > 0 ? in->window : 0;
    if (in->window_mode && strcmp(in->window_mode, "center") && strcmp(in->window_mode, "pad"))
        krait_cli_die(2, "--window-mode '%s': use center or pad", in->window_mode);
    in->opts.window_pad = in->window_mode && !strcmp(in->window_mode, "pad");
    if (in->window_mode && in->window < 0)
        krait_cli_die(2, "--window-mode %s: it shapes the windows of --window N, which is not given", in->window_mode);
    if (in->genome) {
        krait_status s;
        in->opts.genome = krait_dna_genome_open(in->genome, &s);
        if (!in->opts.genome) dna_die_status(s);
    }
}

uint64_t dna_set_fingerprint(const krait_dna_set *s, int labels)
{
    uint64_t h = krait_run_fingerprint(KRAIT_FINGERPRINT_INIT, s->ids, s->n_ids);
    for (size_t i = 0; i < s->n; i++) {
        const uint64_t len = s->off[i + 1] - s->off[i];
        h = krait_run_fingerprint(h, &len, sizeof len);
        if (labels) h = krait_run_fingerprint(h, &s->y[i], sizeof s->y[i]);
    }
    return h;
}

void dna_inputs_close(dna_inputs *in)
{
    krait_dna_genome_close(in->opts.genome);
    in->opts.genome = NULL;
}

void dna_print_auroc(const krait_cls_metrics *mt)
{
    if (mt->C != 2) return;
    if (isfinite(mt->auroc)) {
        printf(", AUROC %.4f", mt->auroc);
        return;
    }
    const long pos = mt->confusion[2] + mt->confusion[3]; /* row 1: the rows of class 1 */
    printf(", AUROC n/a (%s)", pos == 0 || pos == mt->n ? "one class only" : "scores that are not numbers");
}

void dna_refuse_repeated(const krait_str_list *sources, const char *opt)
{
    for (int i = 1; i < sources->n; i++)
        for (int j = 0; j < i; j++) {
            char *ci = NULL, *cj = NULL; /* CLASS=FILE: the files compared (one file under two classes too) */
            const char *fi = krait_dna_source_split(sources->items[i], &ci), *fj = krait_dna_source_split(sources->items[j], &cj);
            const int same = fi && fj && (!strcmp(fi, fj) || krait_fs_same(fi, fj));
            free(ci), free(cj);
            if (same) krait_cli_die(2, "%s %s: given twice (the file of %s %s; its rows would count twice)", opt,
                                    sources->items[i], opt, sources->items[j]);
        }
}

void dna_load_sources(krait_dna_set *s, const krait_str_list *sources, const dna_inputs *in, const char *opt)
{
    dna_refuse_repeated(sources, opt);
    for (int i = 0; i < sources->n; i++) {
        krait_status st = krait_dna_set_read(s, sources->items[i], &in->opts);
        if (st) dna_die_status(st);
    }
}

void dna_warn_shared(const krait_str_list *a, const char *opt_a, const krait_str_list *b, const char *opt_b)
{
    for (int i = 0; i < a->n; i++)
        for (int j = 0; j < b->n; j++) {
            char *ca = NULL, *cb = NULL;
            const char *fa = krait_dna_source_split(a->items[i], &ca), *fb = krait_dna_source_split(b->items[j], &cb);
            free(ca);
            free(cb);
            if (fa && fb && (!strcmp(fa, fb) || krait_fs_same(fa, fb)))
                KRAIT_WARN("%s %s: also a %s source: its figures measure rows trained on, not held-out ones", opt_b,
                           b->items[j], opt_a);
        }
}

void dna_warn_unused_genome(const dna_inputs *in, const krait_str_list *a, const krait_str_list *b)
{
    if (!in->genome) return;
    const krait_str_list *lists[] = { a, b };
    for (int l = 0; l < 2; l++)
        for (int i = 0; lists[l] && i < lists[l]->n; i++) {
            char *cls = NULL;
            const int bed = krait_dna_is_bed_name(krait_dna_source_split(lists[l]->items[i], &cls));
            free(cls);
            if (bed) return;
        }
    KRAIT_WARN("--genome %s: no input is named as a BED file (.bed, .bed.gz, .narrowPeak ...), the only kind it "
               "serves: it is not used (a BED file under another name is read as a table: rename it)", in->genome);
}

static void refuse_source(const char *path, const char *opt, const char *source)
{
    char *cls = NULL;
    const char *file = krait_dna_source_split(source, &cls);
    free(cls);
    krait_cli_refuse_overwrite(path, opt, &file, 1);
}

void dna_refuse_overwrite(const char *path, const char *opt, const krait_str_list *a, const krait_str_list *b,
                          const dna_inputs *in)
{
    if (!path) return;
    for (int i = 0; a && i < a->n; i++) refuse_source(path, opt, a->items[i]);
    for (int i = 0; b && i < b->n; i++) refuse_source(path, opt, b->items[i]);
    const char *fasta[2] = { in ? in->genome : NULL, in ? in->reference : NULL };
    for (int i = 0; i < 2; i++) { /* the FASTA and the indexes htslib reads beside it */
        if (!fasta[i]) continue;
        static const char *const ext[] = { "", ".fai", ".gzi" };
        for (size_t k = 0; k < sizeof ext / sizeof *ext; k++) {
            char name[4096];
            snprintf(name, sizeof name, "%s%s", fasta[i], ext[k]);
            const char *r = name;
            krait_cli_refuse_overwrite(path, opt, &r, 1);
        }
    }
}

void dna_model_classes(krait_dna_classes *c, const char *model_dir)
{
    if (!krait_fs_is_dir(model_dir)) krait_cli_die(2, "%s: no such model folder (--model: a krait-dna train run)", model_dir);
    char *p = krait_fs_join(model_dir, "classes.txt");
    if (!p) krait_cli_die(1, "out of memory");
    if (!krait_fs_is_file(p))
        krait_cli_die(2, "%s: not a krait-dna classifier (no classes.txt; a pretrained LM is fine-tuned with train --init)",
                      model_dir);
    krait_status s = krait_dna_classes_load(c, p);
    free(p);
    if (s) dna_die_status(s);
}

char *dna_member_dir(const char *dir, int k)
{
    char name[32];
    snprintf(name, sizeof name, "member-%d", k);
    return krait_fs_join(dir, name);
}

static void add_model(krait_str_list *out, char *path)
{
    if (!path) krait_cli_die(1, "out of memory");
    if (out->n == (int)(sizeof out->items / sizeof out->items[0]))
        krait_cli_die(2, "%s: more than %d models in the ensemble", path, out->n);
    out->items[out->n++] = path;
}

void dna_expand_models(krait_str_list *out, const char *dir)
{
    char *conf = krait_fs_join(dir, "config.json");
    int own = conf && krait_fs_is_file(conf);
    free(conf);
    const int most = own ? 0 : krait_run_members(dir);
    for (int k = 1; k <= most; k++) {
        char *m = dna_member_dir(dir, k);
        if (!m) krait_cli_die(1, "out of memory");
        if (!krait_fs_is_dir(m)) krait_cli_die(2, "%s: no member-%d of the ensemble's %d (moved or removed?)", dir, k, most);
        add_model(out, m);
    }
    if (!most) add_model(out, strdup(dir)); /* no members: DIR is (or should be) a model folder */
}

void dna_free_models(krait_str_list *list)
{
    for (int i = 0; i < list->n; i++) free((char *)list->items[i]);
    list->n = 0;
}

void dna_pred_header(FILE *f, const krait_dna_classes *cl)
{
    fprintf(f, "id\tpredicted");
    for (int k = 0; k < cl->n; k++) fprintf(f, "\tp_%s", cl->names[k]);
    fputc('\n', f);
}

int dna_pred_row(FILE *f, const char *id, const krait_dna_classes *cl, const float *p)
{
    int best = krait_cls_argmax(p, cl->n);
    if (!f) return best;
    fprintf(f, "%s\t%s", id, cl->names[best]);
    for (int c = 0; c < cl->n; c++) fprintf(f, "\t%.6f", p[c]);
    fputc('\n', f);
    return best;
}
