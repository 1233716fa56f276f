/* apps/dna/predict.c — `krait-dna predict` and `krait-dna eval` with a trained classifier
 * (a run folder of `krait-dna train`: config.json, model.safetensors, classes.txt).
 *
 * Inputs are read a block of records (512, or 8 Mb) at a time: memory is bounded by the longest
 * record, not by the number of reads or their total length. Short
 * sequences go through krait_classify in padded batches; a sequence longer than --stream-above
 * (and every BED region longer than that, which is never held in memory: dna_region.h fetches
 * it a chunk at a time) is classified by krait_cls_stream in chunks of --chunk bases, so memory
 * does not grow with its length. With --rc-avg 1 (default) each prediction is the mean of the
 * sequence's and its reverse complement's probabilities. A bidirectional model gets both of
 * its passes (forward and reversed) from the same chunked reader.
 *
 * --model may be given several times (models trained with different seeds, say), or name the
 * folder of a `krait-dna train --ensemble N` run (its member-K folders): each prediction is then
 * the mean of the models' probabilities; the models must have the same classes in the same order.
 *
 * predict writes a TSV: id, predicted class, one probability column per class (p_<class>).
 * predict ignores labels (a BED name column may be anything there); eval needs a label on every record (one of the model's classes) and prints accuracy, MCC,
 * macro F1, AUROC (two classes) and the confusion matrix (core/metrics.h); --confusion FILE
 * draws it; --json makes the last line the metrics object (predict: with --output, a summary
 * {"n","classes","output","regions_streamed","seconds","sequences_per_s"}: regions_streamed counts
 * the BED regions longer than --stream-above, read from the genome a chunk at a time). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "classify.h"
#include "dna_seq.h"
#include "dnaapp.h"
#include "metrics.h"
#include "model_io.h"
#include "plot.h"
#include "train.h"

/* A block is flushed at BLOCK records or BLOCK_BASES bases, whichever comes first: 512 records
 * of a few Mb each (an assembly's scaffolds) would otherwise be held at once. */
enum { BATCH = 32, BLOCK = 512, BLOCK_BASES = 8 << 20 };
/* The batched path's activations at most this large: fewer rows of long sequences (a batch of
 * 32 sequences of 16 kb took 2.7 GB with the smallest preset) */
#define BATCH_BYTES ((size_t)128 << 20)

/* A pass over a sequence for the stream: chunk k of S (rc: its reverse complement), or of its
 * reversal (reverse). Either ids in memory or a genome region. */
typedef struct seq_view {
    const uint8_t *ids;          /* in memory, or NULL */
    size_t len;
    const krait_dna_genome *g;   /* region */
    const char *chrom;
    long long beg, end;
    char strand;
    const char *origin;          /* the region's BED file and line, for messages */
    long line_no;
} seq_view;

static krait_status view_chunk(int32_t *out, int *n, const seq_view *v, int rc, int reverse, long long k, int chunk)
{
    if (!v->ids) {
        char strand = (v->strand == '-') != (rc != 0) ? '-' : '+';
        return krait_dna_region_chunk(out, n, v->g, v->chrom, v->beg, v->end, strand, reverse, k, chunk, v->origin,
                                      v->line_no);
    }
    size_t p0 = (size_t)k * (size_t)chunk, p1 = p0 + (size_t)chunk < v->len ? p0 + (size_t)chunk : v->len;
    *n = p0 < v->len ? (int)(p1 - p0) : 0;
    for (size_t p = p0; p < p1; p++) {
        size_t s = reverse ? v->len - 1 - p : p;                 /* index into S' */
        int32_t b = rc ? v->ids[v->len - 1 - s] : v->ids[s];    /* S' = RC(S) when rc */
        out[p - p0] = rc && b < KRAIT_DNA_N ? 3 - b : b;
    }
    return KRAIT_STATUS_OK;
}

/* Streaming a long sequence: where it is, for a progress line (NULL: none). */
typedef struct stream_progress {
    krait_progress *prog;
    const char *name;
    double t0;
} stream_progress;

static krait_status stream_one(krait_cls_stream *st, const krait_model *m, const seq_view *v, int rc_avg, int chunk,
                               int32_t *buf, float *probs, const stream_progress *sp)
{
    const int C = m->cfg.n_classes, dirs = m->cfg.bidirectional ? 2 : 1;
    float p[C];
    long long nk = ((long long)v->len + chunk - 1) / chunk;
    const double bases = (double)v->len * (rc_avg + 1) * dirs; /* every pass over the sequence */
    for (int c = 0; c < C; c++) probs[c] = 0;
    for (int rc = 0; rc <= rc_avg; rc++) {
        for (int rev = 0; rev < dirs; rev++)
            for (long long k = 0; k < nk; k++) {
                int n;
                krait_status s = view_chunk(buf, &n, v, rc, rev, k, chunk);
                if (!s) s = krait_cls_stream_feed(st, buf, NULL, n, rev);
                if (s) return s;
                if (sp && sp->prog) { /* off a terminal, a line a minute (a line per 100,000 calls is none) */
                    const int force = !sp->prog->tty && krait_now() - sp->prog->last >= 60;
                    double done = ((double)(rc * dirs + rev) * (double)v->len + (double)k * chunk + n) / bases,
                           dt = krait_now() - sp->t0;
                    krait_progress_line(sp->prog, force, "%s: %.0f%% of %lld bases (%.0f kb/s)", sp->name, 100 * done,
                                        (long long)v->len, dt > 0 ? done * bases / dt / 1e3 : 0);
                }
            }
        krait_status s = krait_cls_stream_finish(st, p);
        if (s) return s;
        for (int c = 0; c < C; c++) probs[c] += p[c] / (float)(rc_avg + 1);
    }
    return KRAIT_STATUS_OK;
}

krait_status dna_classify_set(const krait_model *m, const krait_dna_set *s, int rc_avg, int stream_above, int chunk,
                              float *probs, krait_progress *progress)
{
    const int C = m->cfg.n_classes;
    size_t Lmax = 1;
    for (size_t i = 0; i < s->n; i++) {
        size_t len = krait_dna_set_len(s, i);
        if ((stream_above <= 0 || len <= (size_t)stream_above) && len > Lmax) Lmax = len;
    }
    const size_t row_bytes = krait_acts_bytes(m, 1, (int)Lmax, 0), fit = row_bytes ? BATCH_BYTES / row_bytes : BATCH;
    const int batch = fit < 1 ? 1 : fit < BATCH ? (int)fit : BATCH;
    krait_acts *a = krait_acts_init(m, batch, (int)Lmax, 0);
    int32_t *ids = malloc((size_t)batch * Lmax * sizeof *ids), lens[BATCH];
    int32_t *buf = malloc((size_t)chunk * sizeof *buf);
    float *p = malloc((size_t)BATCH * C * sizeof *p);
    size_t rows[BATCH];
    krait_cls_stream *st = NULL;
    krait_status r = KRAIT_STATUS_NO_MEMORY;
    if (!a || !ids || !buf || !p) goto done;
    r = KRAIT_STATUS_OK;
    for (size_t i = 0; !r && i < s->n;) {
        int B = 0;
        size_t Lp = 0;
        for (; i < s->n && B < batch; i++) {
            size_t len = krait_dna_set_len(s, i);
            if (stream_above > 0 && len > (size_t)stream_above) {
                if (!st && !(st = krait_cls_stream_init(m, chunk))) {
                    r = KRAIT_STATUS_NO_MEMORY;
                    break;
                }
                seq_view v = { .ids = s->ids + s->off[i], .len = len };
                stream_progress sp = { progress, s->name[i], krait_now() };
                if ((r = stream_one(st, m, &v, rc_avg, chunk, buf, probs + i * C, progress ? &sp : NULL))) break;
                continue;
            }
            rows[B] = i;
            lens[B++] = (int32_t)len;
            if (len > Lp) Lp = len;
        }
        if (r || !B) continue;
        for (int rc = 0; !r && rc <= rc_avg; rc++) {
            for (int b = 0; b < B; b++) {
                int32_t *row = ids + (size_t)b * Lp;
                const uint8_t *src = s->ids + s->off[rows[b]];
                for (int t = 0; t < lens[b]; t++) row[t] = src[t];
                for (size_t t = (size_t)lens[b]; t < Lp; t++) row[t] = KRAIT_DNA_N;
                if (rc) krait_dna_revcomp(row, (size_t)lens[b]);
            }
            if ((r = krait_classify(m, a, ids, NULL, lens, B, p))) break;
            for (int b = 0; b < B; b++)
                for (int c = 0; c < C; c++) {
                    float *o = probs + rows[b] * C + c;
                    *o = (rc ? *o : 0) + p[(size_t)b * C + c] / (float)(rc_avg + 1);
                }
        }
    }
done:
    krait_cls_stream_free(st);
    krait_acts_free(m, a);
    free(ids), free(buf), free(p);
    return r;
}

typedef struct out_ctx {
    FILE *tsv;
    const krait_dna_classes *cl;
    int eval;
    int32_t *labels;      /* eval: collected */
    float *probs;
    size_t n, cap;
    const char *origin;
    size_t done;          /* sequences predicted, for the progress line */
    size_t regions_streamed; /* BED regions read from the genome in chunks, never held whole */
    int header_due;       /* stdout: the header waits for the first row (bad input prints nothing) */
    double t0;
    krait_progress prog;
} out_ctx;

static void emit(out_ctx *o, const char *name, const char *label, const float *p)
{
    const int C = o->cl->n;
    if (o->tsv == stdout) krait_progress_clear(&o->prog); /* rows and the progress line share a terminal */
    if (o->header_due) dna_pred_header(o->tsv, o->cl), o->header_due = 0;
    dna_pred_row(o->tsv, name, o->cl, p);
    if (o->tsv == stdout && o->prog.tty) fflush(stdout); /* before the progress line is drawn again */
    o->done++;
    double dt = krait_now() - o->t0;
    krait_progress_line(&o->prog, 0, "%zu sequences (%.0f per second) from %s", o->done, dt > 0 ? o->done / dt : 0,
                        o->origin);
    if (!o->eval) return;
    int y = label ? krait_dna_classes_find(o->cl, label) : -1; /* checked before: labels are known */
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 4096;
        o->labels = realloc(o->labels, o->cap * sizeof *o->labels);
        o->probs = realloc(o->probs, o->cap * C * sizeof *o->probs);
        if (!o->labels || !o->probs) krait_cli_die(1, "out of memory");
    }
    o->labels[o->n] = y;
    memcpy(o->probs + o->n * C, p, (size_t)C * sizeof *p);
    o->n++;
}

krait_status dna_classify_ensemble(krait_model *const *ms, int nm, const krait_dna_set *blk, int rc_avg,
                                   int stream_above, int chunk, float *probs, krait_progress *progress)
{
    const size_t n = blk->n * (size_t)ms[0]->cfg.n_classes;
    if (nm == 1) return dna_classify_set(ms[0], blk, rc_avg, stream_above, chunk, probs, progress);
    float *p = malloc(n * sizeof *p);
    krait_status s = p ? KRAIT_STATUS_OK : KRAIT_STATUS_NO_MEMORY;
    for (size_t j = 0; j < n; j++) probs[j] = 0;
    for (int k = 0; !s && k < nm; k++) {
        if ((s = dna_classify_set(ms[k], blk, rc_avg, stream_above, chunk, p, progress))) break;
        for (size_t j = 0; j < n; j++) probs[j] += p[j] / (float)nm;
    }
    free(p);
    return s;
}

static void flush_block(out_ctx *o, krait_model *const *ms, int nm, krait_dna_set *blk, int rc_avg,
                        int stream_above, int chunk)
{
    if (!blk->n) return;
    krait_status s = o->eval ? krait_dna_set_map(blk, o->cl, 1, o->origin) : KRAIT_STATUS_OK; /* predict ignores labels */
    float *p = s ? NULL : malloc(blk->n * (size_t)o->cl->n * sizeof *p);
    if (!s && !p) s = KRAIT_STATUS_NO_MEMORY;
    if (!s) s = dna_classify_ensemble(ms, nm, blk, rc_avg, stream_above, chunk, p, &o->prog);
    if (s) dna_die_status(s);
    for (size_t i = 0; i < blk->n; i++) emit(o, blk->name[i], blk->label[i], p + i * o->cl->n);
    if (o->tsv == stdout && (ferror(stdout) || fflush(stdout))) { /* a full disk: no use predicting more */
        krait_progress_clear(&o->prog);
        krait_cli_stdout_failed();
        exit(1);
    }
    free(p);
    krait_dna_set_free(blk);
    krait_dna_set_init(blk);
}

/* A bad record (its error line held): predict to stdout first prints the rows of the records
 * before it (a pipeline keeps them); eval and --output, whose results a failure discards, do not
 * classify them. Then the held line, and exit. */
static void die_after_rows(out_ctx *o, krait_model *const *ms, int nm, krait_dna_set *blk, int rc_avg,
                           int stream_above, int chunk, krait_status s)
{
    if (!o->eval && o->tsv == stdout) {
        flush_block(o, ms, nm, blk, rc_avg, stream_above, chunk);
        fflush(stdout);
    }
    krait_progress_clear(&o->prog);
    krait_cli_errors_release(0);
    dna_die_status(s);
}

int dna_cmd_predict(int argc, char **argv)
{
    const int eval = !strcmp(argv[1], "eval");
    const char *output = NULL, *confusion = NULL;
    krait_str_list model_args = { 0 }, models = { 0 }, inputs = { 0 };
    int rc_avg = 1, chunk = 4096, stream_above = DNA_STREAM_ABOVE;
    dna_inputs in = DNA_INPUTS_INIT;
    krait_opt opts[] = {
        { "--model", OPT_LIST, &model_args, "DIR", "a krait-dna train run folder (required; repeatable, or a --ensemble run: the mean of the models' probabilities)" },
        { "--input", OPT_LIST, &inputs, "SRC", "sequences (repeatable; CLASS=FILE gives labels for eval)" },
        { "--output", OPT_STR, &output, "FILE", eval ? "also write the predictions TSV" : "predictions TSV (default: stdout)" },
        { "--confusion", OPT_STR, &confusion, "FILE", eval ? "the confusion matrix as an SVG picture" : NULL },
        { "--rc-avg", OPT_INT, &rc_avg, "0|1", "average with the reverse complement's prediction (default 1)" },
        { "--chunk", OPT_INT, &chunk, "N", "bases per chunk when streaming long sequences (default 4096)" },
        { "--stream-above", OPT_INT, &stream_above, "N", "stream sequences longer than N bases (default 4096)" },
        DNA_INPUT_OPTS(&in),
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    eval ? "usage: krait-dna eval --model DIR... --input SRC... [--json] [--confusion FILE.svg]\n"
                           "Accuracy, MCC, macro F1, AUROC (two classes) and the confusion matrix on labelled sequences."
                         : "usage: krait-dna predict --model DIR... --input SRC... [--output PRED.tsv]\n"
                           "TSV: id, predicted class, per-class probabilities.");
    for (int k = 0; k < model_args.n; k++) dna_expand_models(&models, model_args.items[k]);
    if (!models.n || !inputs.n) krait_cli_die(2, "%s: --model and --input are required", argv[1]);
    if (eval) dna_refuse_repeated(&inputs, "--input"); /* before the work */
    if (!eval && confusion) krait_cli_die(2, "predict: --confusion is eval's (it needs labels)");
    if (!eval && c.json && !output)
        krait_cli_die(2, "predict: --json needs --output FILE (without it the predictions TSV is stdout)");
    if (chunk < 1 || stream_above < 1)
        krait_cli_die(2, "%s: %s must be at least 1 (bases)", argv[1], chunk < 1 ? "--chunk" : "--stream-above");
    if (rc_avg != 0 && rc_avg != 1) krait_cli_die(2, "%s: --rc-avg must be 0 or 1 (got %d)", argv[1], rc_avg);
    krait_dna_classes cl;
    dna_model_classes(&cl, models.items[0]);
    const int nm = models.n;
    krait_backend *be = krait_cli_backend(&c, "f32");
    krait_status s;
    krait_model **ms = calloc((size_t)nm, sizeof *ms);
    krait_cls_stream **st = calloc((size_t)nm, sizeof *st);
    if (!ms || !st) krait_cli_die(1, "out of memory");
    for (int k = 0; k < nm; k++) {
        const char *dir = models.items[k];
        if (k > 0) { /* an ensemble averages probabilities column by column: the classes must line up */
            krait_dna_classes ck;
            dna_model_classes(&ck, dir);
            int same = krait_dna_classes_equal(&ck, &cl);
            krait_dna_classes_free(&ck);
            if (!same)
                krait_cli_die(2, "%s: its classes (classes.txt) differ from those of %s; the models of an ensemble "
                              "need the same classes in the same order", dir, models.items[0]);
        }
        krait_model *m = ms[k] = krait_model_load(dir, be, &s);
        if (!m) dna_die_status(s);
        if (strcmp(m->cfg.head, "classify") || m->cfg.n_classes != cl.n)
            krait_cli_die(2, "%s: not a DNA classifier with %d classes (head %s, %d classes)", dir, cl.n, m->cfg.head,
                          m->cfg.n_classes);
    }
    size_t stream_bytes = 0; /* a streamed sequence: each model's activations for one chunk */
    for (int k = 0; k < nm && stream_bytes != SIZE_MAX; k++) {
        size_t b = krait_acts_bytes(ms[k], 1, chunk, 0);
        stream_bytes = b == SIZE_MAX ? SIZE_MAX : stream_bytes + b;
    }
    char what[64];
    snprintf(what, sizeof what, "streaming in chunks of %d bases", chunk);
    krait_cli_check_memory(be, stream_bytes, what, "lower --chunk");
    dna_inputs_open(&in);
    dna_warn_unused_genome(&in, &inputs, NULL);
    in.opts.fetch_max = stream_above;
    out_ctx o = { .cl = &cl, .eval = eval, .origin = inputs.items[0], .t0 = krait_now() };
    krait_progress_init(&o.prog, 100000); /* a redrawn line on a terminal, else a line per 100,000 */
    dna_refuse_overwrite(output, "--output", &inputs, NULL, &in);
    dna_refuse_overwrite(confusion, "--confusion", &inputs, NULL, &in);
    krait_cli_refuse_same_output(output, "--output", confusion, "--confusion");
    krait_cli_check_picture(confusion, "--confusion", ".svg", "an SVG");
    krait_cli_refuse_overwrite(output, "--output", (const char *const *)models.items, models.n);
    krait_cli_refuse_overwrite(confusion, "--confusion", (const char *const *)models.items, models.n);
    if (output) {
        o.tsv = krait_cli_output_open(output);
        dna_pred_header(o.tsv, &cl);
    } else if (!eval) {
        o.tsv = stdout, o.header_due = 1;
    }
    krait_dna_set blk;
    krait_dna_set_init(&blk);
    int32_t *buf = malloc((size_t)chunk * sizeof *buf);
    float *p = malloc((size_t)cl.n * sizeof *p), *pk = malloc((size_t)cl.n * sizeof *pk);
    if (!buf || !p || !pk) krait_cli_die(1, "out of memory");
    for (int i = 0; i < inputs.n; i++) {
        char *cls = NULL;
        const char *path = krait_dna_source_split(inputs.items[i], &cls);
        if (!path) dna_die_status(KRAIT_STATUS_BAD_INPUT); /* said why */
        krait_dna_read_opts ro = in.opts;
        if (cls) ro.label = cls;
        o.origin = path;
        krait_dna_reader *r = krait_dna_reader_open(path, &ro, &s);
        if (!r) dna_die_status(s);
        krait_dna_rec rec;
        int got;
        size_t n_read = 0;
        for (;;) {
            krait_cli_errors_hold(); /* a bad record: the rows of the ones before it, then its line */
            if ((got = krait_dna_reader_next(r, &rec)) < 0) break;
            if (got && rec.seq && ((s = krait_dna_set_source(&blk, path)) || (s = krait_dna_set_add(&blk, &rec))))
                die_after_rows(&o, ms, nm, &blk, rc_avg, stream_above, chunk, s);
            krait_cli_errors_release(0);
            if (!got) break;
            n_read++;
            if (rec.seq) {
                if (blk.n >= BLOCK || blk.n_ids >= BLOCK_BASES) flush_block(&o, ms, nm, &blk, rc_avg, stream_above, chunk);
                continue;
            }
            /* a long region: streamed from the genome, after the block before it (output order) */
            flush_block(&o, ms, nm, &blk, rc_avg, stream_above, chunk);
            if (eval && !rec.label)
                krait_cli_die(2, "%s:%ld: record '%s' has no label", path, rec.line, rec.name);
            if (eval && krait_dna_classes_find(&cl, rec.label) < 0) {
                char names[200];
                krait_cli_die(2, "%s:%ld: record '%s': label '%s' is not one of the model's classes (%s)", path, rec.line,
                              rec.name, rec.label, krait_dna_classes_list(&cl, names, sizeof names));
            }
            seq_view v = { .g = in.opts.genome, .chrom = rec.chrom, .beg = rec.beg, .end = rec.end, .strand = rec.strand,
                           .len = rec.len, .origin = path, .line_no = rec.line };
            for (int j = 0; j < cl.n; j++) p[j] = 0;
            for (int k = 0; k < nm; k++) {
                if (!st[k] && !(st[k] = krait_cls_stream_init(ms[k], chunk))) krait_cli_die(1, "cannot set up streaming");
                stream_progress sp = { &o.prog, rec.name, krait_now() };
                if ((s = stream_one(st[k], ms[k], &v, rc_avg, chunk, buf, pk, &sp))) dna_die_status(s);
                for (int j = 0; j < cl.n; j++) p[j] += pk[j] / (float)nm;
            }
            emit(&o, rec.name, rec.label, p);
            o.regions_streamed++;
        }
        if (got < 0) die_after_rows(&o, ms, nm, &blk, rc_avg, stream_above, chunk, (krait_status)-got);
        if (!n_read) krait_cli_die(2, "%s: no sequences", path); /* as train and split say */
        flush_block(&o, ms, nm, &blk, rc_avg, stream_above, chunk);
        krait_dna_reader_close(r);
        free(cls);
    }
    if (!o.done)
        krait_cli_die(2, "%s%s: no sequences", inputs.items[0], inputs.n > 1 ? " (and the other inputs)" : "");
    krait_progress_done(&o.prog);
    if (o.tsv && o.tsv != stdout) krait_cli_output_close(o.tsv);
    if (eval) {
        krait_cls_metrics mt;
        if ((s = krait_cls_metrics_compute(o.labels, o.probs, (int)o.n, cl.n, &mt))) dna_die_status(s);
        printf("%zu sequences: accuracy %.4f, MCC %.4f, macro F1 %.4f", o.n, mt.accuracy, mt.mcc, mt.macro_f1);
        dna_print_auroc(&mt);
        printf("\n");
        krait_cli_print_confusion(stdout, (const char *const *)cl.names, cl.n, mt.confusion);
        if (confusion) {
            char title[300];
            snprintf(title, sizeof title, "krait-dna eval: %s%s on %s", models.items[0], nm > 1 ? " (ensemble)" : "",
                     inputs.items[0]);
            if ((s = krait_plot_confusion_svg(confusion, title, (const char *const *)cl.names, cl.n, mt.confusion)))
                dna_die_status(s);
        }
        if (c.json) {
            char *j = krait_cli_json_utf8(krait_cls_metrics_json(&mt, (const char *const *)cl.names));
            if (!j) krait_cli_die(1, "out of memory");
            printf("%s\n", j);
            free(j);
        }
        krait_cls_metrics_free(&mt);
    }
    if (!eval && c.json) { /* what was written, and how fast */
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "n", (double)o.done);
        cJSON *names = cJSON_AddArrayToObject(j, "classes");
        for (int k = 0; k < cl.n; k++) cJSON_AddItemToArray(names, cJSON_CreateString(cl.names[k]));
        cJSON_AddStringToObject(j, "output", output);
        cJSON_AddNumberToObject(j, "regions_streamed", (double)o.regions_streamed);
        double dt = krait_now() - o.t0;
        cJSON_AddNumberToObject(j, "seconds", dt);
        cJSON_AddNumberToObject(j, "sequences_per_s", dt > 0 ? (double)o.done / dt : 0);
        krait_cli_print_json(j);
    }
    free(o.labels), free(o.probs), free(buf), free(p), free(pk);
    for (int k = 0; k < nm; k++) {
        krait_cls_stream_free(st[k]);
        krait_model_free(ms[k]);
    }
    free(st), free(ms);
    dna_free_models(&models);
    krait_dna_set_free(&blk);
    dna_inputs_close(&in);
    krait_backend_destroy(be);
    krait_dna_classes_free(&cl);
    return 0;
}
