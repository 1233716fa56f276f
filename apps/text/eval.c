/* apps/text/eval.c — `krait-text eval`: loss, perplexity and bits per byte of a text under a
 * model, over a document of any length in constant memory (a .jsonl line is parsed whole: memory grows
 * with the longest line).
 *
 * The text is read and encoded in pieces (modalities/text/textsrc.h: plain, .gz, or JSONL whose
 * documents are joined by EOS) with the model folder's tokenizer (textapp.h), and fed to
 * core/evaluate.h in chunks with the recurrent state carried: memory depends on --chunk and the
 * piece size, never on the length. The text is read twice: once to count the ids (the
 * evaluator needs the length), once to score them.
 *
 *   bits per byte   = mean loss x ids / (text bytes x ln 2)   (byte tokenizer: loss / ln 2)
 *   word perplexity = exp(summed loss / words)   (words: runs of bytes that are not ASCII white
 *                     space, as `wc -w` counts ASCII text — lm-evaluation-harness's re.split count
 *                     adds one per document that starts or ends with white space; the summed
 *                     loss is that of every scored token, all but the first)
 *
 * --positions gives the loss by position bucket (the prediction after p + 1 tokens of
 * context falls in bucket floor(log2(p + 1))) as TSV (stdout, or --tsv FILE) and, with --plot
 * FILE (default: the TSV's name with .svg when --tsv is given), as an SVG plot. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "evaluate.h"
#include "fsutil.h"
#include "log.h"
#include "model.h"
#include "model_io.h"
#include "plot.h"
#include "textapp.h"
#include "textsrc.h"
#include "train.h"

/* The ids of a text file, produced piece by piece; keeps only what the evaluator still needs. */
typedef struct tok_stream {
    const char *path;
    const krait_tokenizer *tok;
    krait_textsrc *src;
    int eos, docs, ended;
    int in_word;            /* the last byte seen was not white space */
    long long words;        /* runs of non-white-space bytes */
    int32_t *ids;           /* ids[head, n) are the ids at positions base, base + 1, ... */
    size_t head, n, cap;
    const char *text;       /* the last piece (until the next one), or NULL */
    size_t text_len, text_first; /* ... its length, and where its ids start in ids */
    long long base, total_bytes;
} tok_stream;

static krait_status stream_open(tok_stream *s, const char *path, const krait_tokenizer *tok, const char *json_key)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->tok = tok;
    s->eos = krait_tokenizer_eos(tok);
    krait_status st = krait_textsrc_open(path, &s->src);
    if (!st) {
        text_source_setup(s->src, tok, json_key);
    }
    return st;
}

static void stream_close(tok_stream *s)
{
    krait_textsrc_close(s->src);
    free(s->ids);
}

/* Encode the next piece onto the buffer; s->ended at the end of the text. */
static krait_status stream_more(tok_stream *s)
{
    const char *text;
    size_t len;
    int new_doc;
    krait_status st = krait_textsrc_next(s->src, &text, &len, &new_doc);
    if (st) return st;
    s->text = NULL;
    if (!text) {
        s->ended = 1;
        return KRAIT_STATUS_OK;
    }
    if (!len) return KRAIT_STATUS_OK;
    if (new_doc) s->in_word = 0;
    for (size_t i = 0; i < len; i++) {
        int space = text[i] == ' ' || (text[i] >= '\t' && text[i] <= '\r');
        s->words += !space && !s->in_word;
        s->in_word = !space;
    }
    if (new_doc && s->docs++ > 0 && s->eos >= 0) {
        int32_t e = s->eos;
        if (s->n == s->cap) {
            size_t c = s->cap ? 2 * s->cap : 4096;
            int32_t *p = realloc(s->ids, c * sizeof *p);
            if (!p) return KRAIT_STATUS_NO_MEMORY;
            s->ids = p, s->cap = c;
        }
        s->ids[s->n++] = e;
    }
    s->total_bytes += (long long)len;
    s->text = text, s->text_len = len, s->text_first = s->n;
    return krait_tokenizer_encode(s->tok, text, len, krait_textsrc_where(s->src), &s->ids, &s->n, &s->cap);
}

static krait_status fill_ids(void *ctx, int32_t *ids, int32_t *targets, int B, long t0, int len)
{
    tok_stream *s = ctx;
    (void)B;
    if (t0 > s->base) { /* drop what the evaluator is done with */
        size_t live = s->n - s->head, drop = (size_t)(t0 - s->base) < live ? (size_t)(t0 - s->base) : live;
        s->head += drop;
        s->base += (long long)drop;
    }
    while (!s->ended && s->n - s->head < (size_t)len + 1) {
        if (s->head) { /* what is left is less than a chunk: to the front before the next piece
                        * (moved once a piece, not once a chunk: linear time) */
            memmove(s->ids, s->ids + s->head, (s->n - s->head) * sizeof *s->ids);
            s->n -= s->head;
            s->head = 0;
        }
        krait_status st = stream_more(s);
        if (st) return st;
    }
    if (s->n - s->head < (size_t)len) {
        KRAIT_ERROR("%s: the text changed while it was read (fewer ids on the second pass)", s->path);
        return KRAIT_STATUS_IO;
    }
    const int32_t *live = s->ids + s->head;
    const size_t n_live = s->n - s->head;
    for (int i = 0; i < len; i++) {
        ids[i] = live[i];
        targets[i] = (size_t)i + 1 < n_live ? live[i + 1] : -1;
    }
    return KRAIT_STATUS_OK;
}

typedef struct eval_progress {
    krait_progress p;
    double t0;
} eval_progress;

static void on_progress(void *user, long done, long total)
{
    eval_progress *e = user;
    double dt = krait_now() - e->t0, rate = dt > 0 ? done / dt : 0;
    char eta[32];
    krait_progress_line(&e->p, done == total, "eval: %ld/%ld tokens, %.0f tokens/s, ETA %s", done, total, rate,
                        krait_fmt_duration(rate > 0 ? (total - done) / rate : 0, eta));
}

static void write_positions(FILE *f, const krait_eval_result *r)
{
    fprintf(f, "from\tto\ttokens\tloss\n");
    for (int b = 0; b < KRAIT_EVAL_BUCKETS && r->bucket_n[b]; b++)
        fprintf(f, "%lld\t%lld\t%lld\t%.6f\n", krait_eval_bucket_start(b), krait_eval_bucket_start(b) + r->bucket_n[b] - 1,
                r->bucket_n[b], r->bucket_loss[b] / r->bucket_n[b]);
}

int text_cmd_eval(int argc, char **argv)
{
    const char *model_dir = NULL, *input = NULL, *tsv = NULL, *plot = NULL;
    const char *json_key = NULL;
    int chunk = 2048, positions = 0;
    krait_opt opts[] = {
        { "--model", OPT_STR, &model_dir, "DIR", "model folder (config.json + model.safetensors [+ tokenizer.json])" },
        { "--input", OPT_STR, &input, "FILE", "text to score (.gz read on the fly; .jsonl: documents joined by EOS)" },
        { "--jsonl-key", OPT_STR, &json_key, "KEY", "the text field of a .jsonl input's lines (default text)" },
        { "--chunk", OPT_INT, &chunk, "N", "tokens per forward chunk (default 2048; memory depends on it)" },
        { "--positions", OPT_FLAG, &positions, NULL, "also the loss by position bucket, as TSV on stdout" },
        { "--tsv", OPT_STR, &tsv, "FILE", "write the positions TSV to FILE (implies --positions)" },
        { "--plot", OPT_STR, &plot, "FILE", "plot the loss by position as SVG (default with --tsv: its name .svg)" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-text eval --model DIR --input FILE [--chunk N] [--positions] [--tsv FILE] [--plot FILE]\n"
                    "Loss of every next token of FILE under the model, in nats, with perplexity and bits per byte.");
    if (!model_dir || !input) krait_cli_die(2, "eval: --model and --input are required");
    if (chunk < 1) krait_cli_die(2, "eval: --chunk must be >= 1");
    const int table = positions || tsv; /* --plot alone draws the buckets without printing them */
    if (tsv || plot) positions = 1;
    char plot_buf[4096];
    if (tsv && !plot) {
        size_t l = strlen(tsv);
        snprintf(plot_buf, sizeof plot_buf, "%.*s.svg", (int)(l > 4 && !strcmp(tsv + l - 4, ".tsv") ? l - 4 : l), tsv);
        plot = plot_buf;
    }
    struct stat st;
    if (stat(input, &st) != 0) krait_cli_die(2, "%s: cannot open the input (%s)", input, strerror(errno));
    if (!S_ISREG(st.st_mode)) krait_cli_die(2, "%s: not a regular file", input);
    if (json_key && !krait_textsrc_is_jsonl(input))
        krait_cli_die(2, "eval: --jsonl-key %s names the text field of a .jsonl input; %s is not one", json_key, input);
    krait_cli_refuse_same_output(tsv, "--tsv", plot, "--plot");
    const char *reads[2] = { model_dir, input };
    krait_cli_refuse_overwrite(tsv, "--tsv", reads, 2);
    krait_cli_refuse_overwrite(plot, "--plot", reads, 2);
    krait_cli_check_output_path(tsv, "--tsv"); /* first: the plot's name is made from it */
    krait_cli_check_output_path(plot, "--plot");
    krait_cli_check_picture(plot, "--plot", ".svg", "an SVG");
    FILE *tsv_f = tsv ? krait_cli_output_open(tsv) : NULL; /* before the work: a bad path fails at once */

    krait_backend *be = krait_cli_backend(&c, "f32");
    krait_status s = KRAIT_STATUS_OK;
    krait_model *m = krait_model_load(model_dir, be, &s);
    if (!m) return krait_cli_exit_code(s ? s : KRAIT_STATUS_BAD_INPUT);
    if (strcmp(m->cfg.head, "lm"))
        krait_cli_die(2, "%s: a model with a \"%s\" head, not a language model: no next-token loss to score", model_dir,
                      m->cfg.head);
    krait_tokenizer *tok = text_model_tokenizer(model_dir, &m->cfg);

    /* pass 1: count the ids and the text bytes */
    tok_stream ts;
    long long n_ids = 0;
    if ((s = stream_open(&ts, input, tok, json_key))) return krait_cli_exit_code(s);
    while (!ts.ended) {
        if ((s = stream_more(&ts))) return krait_cli_exit_code(s);
        int at_start;
        long long line = krait_textsrc_piece_line(ts.src, &at_start);
        text_place pl = { ts.path, ts.text, ts.text_len, ts.text_first, line, at_start };
        text_check_ids(tok, ts.ids, ts.n, m->cfg.vocab_size_raw, krait_textsrc_where(ts.src), &pl);
        n_ids += (long long)ts.n;
        ts.n = 0;
    }
    long long n_bytes = ts.total_bytes, n_words = ts.words;
    stream_close(&ts);
    if (n_ids < 2) krait_cli_die(2, "%s: needs at least 2 tokens to score a next token (has %lld)", input, n_ids);
    {   /* the chunk's activations, refused before the work when they cannot fit */
        const int used = n_ids < chunk ? (int)n_ids : chunk; /* krait_eval_stream's clamp */
        char what[80];
        snprintf(what, sizeof what, "evaluating in chunks of %d tokens", used);
        krait_cli_check_memory(be, krait_acts_bytes(m, 1, used, 0), what, "lower --chunk");
    }

    /* pass 2: score them */
    if ((s = stream_open(&ts, input, tok, json_key))) return krait_cli_exit_code(s);
    eval_progress ep;
    krait_progress_init(&ep.p, KRAIT_PROGRESS_FORCED_ONLY);
    ep.t0 = krait_now();
    krait_eval_result r;
    s = krait_eval_stream(m, 1, (long)n_ids, chunk, fill_ids, &ts, &r, on_progress, &ep);
    krait_progress_done(&ep.p);
    stream_close(&ts);
    if (s) return krait_cli_exit_code(s);

    double loss = r.n_scored ? r.loss_sum / r.n_scored : 0;
    double ppl = exp(loss), bpb = n_bytes ? loss * (double)n_ids / ((double)n_bytes * log(2.0)) : NAN;
    double word_ppl = n_words ? exp(r.loss_sum / (double)n_words) : NAN;
    if (table) {
        FILE *f = tsv_f ? tsv_f : stdout;
        write_positions(f, &r);
        if (tsv_f) krait_cli_output_close(f);
    }
    if (plot) {
        double x[KRAIT_EVAL_BUCKETS], y[KRAIT_EVAL_BUCKETS];
        int n = 0;
        for (int b = 0; b < KRAIT_EVAL_BUCKETS && r.bucket_n[b]; b++, n++) {
            x[n] = (double)krait_eval_bucket_start(b) + 1; /* context length of the bucket's first prediction */
            y[n] = r.bucket_loss[b] / r.bucket_n[b];
        }
        char title[600];
        snprintf(title, sizeof title, "loss by position: %s", input);
        krait_plot p = { .title = title, .xlabel = "context length (tokens seen; buckets of powers of two)",
                         .ylabel = "mean loss (nats per token)", .log_x = 1 };
        krait_plot_series se = { "loss", x, y, n, 1 };
        if ((s = krait_plot_svg(plot, &p, &se, 1))) return krait_cli_exit_code(s);
    }
    char wp[48] = "- (no words)";
    if (n_words) snprintf(wp, sizeof wp, word_ppl < 1e9 ? "%.4f" : "%.4e", word_ppl);
    printf("%s: %lld tokens, %lld bytes, %lld words, loss %.6f nats, perplexity %.4f, %.4f bits per byte, word "
           "perplexity %s\n", input, n_ids, n_bytes, n_words, loss, ppl, bpb, wp);
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "tokens", (double)n_ids);
        cJSON_AddNumberToObject(o, "bytes", (double)n_bytes);
        cJSON_AddNumberToObject(o, "scored", (double)r.n_scored);
        cJSON_AddNumberToObject(o, "loss", loss);
        cJSON_AddNumberToObject(o, "perplexity", ppl);
        cJSON_AddNumberToObject(o, "bits_per_byte", bpb);
        cJSON_AddNumberToObject(o, "words", (double)n_words);
        if (n_words) cJSON_AddNumberToObject(o, "word_perplexity", word_ppl);
        if (positions) {
            cJSON *arr = cJSON_AddArrayToObject(o, "positions");
            for (int b = 0; b < KRAIT_EVAL_BUCKETS && r.bucket_n[b]; b++) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddNumberToObject(e, "from", (double)krait_eval_bucket_start(b));
                cJSON_AddNumberToObject(e, "n", (double)r.bucket_n[b]);
                cJSON_AddNumberToObject(e, "loss", r.bucket_loss[b] / r.bucket_n[b]);
                cJSON_AddItemToArray(arr, e);
            }
        }
        krait_cli_print_json(o);
    }
    krait_tokenizer_free(tok);
    krait_model_free(m);
    krait_backend_destroy(be);
    return 0;
}
