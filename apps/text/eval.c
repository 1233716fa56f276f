/* apps/text/main.c — krait-text: long-document language modelling.
 *
 *   eval   loss, perplexity and bits per byte of a file under a model, streamed in chunks with
 *          the recurrent state carried (memory does not grow with the file), optionally by
 *          position bucket (how much longer context helps).
 *
 * Tokenizers: a model whose config has vocab 256 and no tokenizer.json reads a file's bytes as
 * its ids (DESIGN.md "Model-less inputs"). The GPT-NeoX BPE tokenizer and the tokenize, prepare,
 * train and generate commands belong to the text issue and are not here yet. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "evaluate.h"
#include "log.h"
#include "model.h"
#include "model_io.h"
#include "textapp.h"
#include "train.h"

/* Streams a file's bytes as ids; the target of byte t is byte t + 1. */
typedef struct byte_stream {
    FILE *f;
    const char *path;
    long long n;          /* bytes in the file */
    unsigned char *buf;   /* (chunk + 1) bytes: the chunk and the next byte */
    long long buf_t0;     /* file offset of buf[0] */
    int buf_len;
} byte_stream;

static krait_status fill_bytes(void *ctx, int32_t *ids, int32_t *targets, int B, long t0, int len)
{
    byte_stream *s = ctx;
    (void)B;
    /* Calls come in order: keep the byte after the last chunk, read the rest. */
    int have = 0;
    if (s->buf_len > 0 && s->buf_t0 + s->buf_len - 1 == t0) {
        s->buf[0] = s->buf[s->buf_len - 1];
        have = 1;
    } else if (fseeko(s->f, (off_t)t0, SEEK_SET) != 0) {
        KRAIT_ERROR("%s: cannot seek to byte %ld", s->path, t0);
        return KRAIT_STATUS_IO;
    }
    long long want = (long long)len + 1 < s->n - t0 ? (long long)len + 1 : s->n - t0;
    size_t got = fread(s->buf + have, 1, (size_t)(want - have), s->f);
    if ((long long)got != want - have) {
        KRAIT_ERROR("%s: read error at byte %lld (%s)", s->path, (long long)t0 + have + (long long)got,
                    ferror(s->f) ? strerror(errno) : "file shrank while reading");
        return KRAIT_STATUS_IO;
    }
    s->buf_t0 = t0;
    s->buf_len = (int)want;
    for (int i = 0; i < len; i++) {
        ids[i] = s->buf[i];
        targets[i] = i + 1 < s->buf_len ? s->buf[i + 1] : -1;
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

int text_cmd_eval(int argc, char **argv)
{
    const char *model_dir = NULL, *input = NULL;
    int chunk = 2048, positions = 0;
    krait_opt opts[] = {
        { "--model", OPT_STR, &model_dir, "DIR", "model folder (config.json + model.safetensors)" },
        { "--input", OPT_STR, &input, "FILE", "text file to score" },
        { "--chunk", OPT_INT, &chunk, "N", "tokens per forward chunk (default 2048; memory depends on it)" },
        { "--positions", OPT_FLAG, &positions, NULL, "also report the loss by position bucket" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-text eval --model DIR --input FILE [--chunk N] [--positions]\n"
                    "Loss of every next token of FILE under the model, in nats, with perplexity and bits per byte.");
    if (!model_dir || !input) krait_cli_die(2, "eval: --model and --input are required");
    if (chunk < 1) krait_cli_die(2, "eval: --chunk must be >= 1");

    struct stat st;
    if (stat(input, &st) != 0) krait_cli_die(2, "%s: cannot open the input (%s)", input, strerror(errno));
    if (!S_ISREG(st.st_mode)) krait_cli_die(2, "%s: not a regular file", input);
    if (st.st_size < 2) krait_cli_die(2, "%s: needs at least 2 bytes to score a next token (has %lld)", input,
                                     (long long)st.st_size);

    krait_backend *be = krait_cli_backend(&c, "f32");
    krait_status s = KRAIT_STATUS_OK;
    krait_model *m = krait_model_load(model_dir, be, &s);
    if (!m) return krait_cli_exit_code(s ? s : KRAIT_STATUS_BAD_INPUT);
    char tok_path[4096];
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", model_dir);
    struct stat tst;
    int has_tokenizer = stat(tok_path, &tst) == 0;
    if (has_tokenizer || m->cfg.vocab_size_raw != 256)
        krait_cli_die(2, "%s: this model needs a BPE tokenizer (vocab %d%s); krait-text reads only byte-level "
                      "models (vocab 256, no tokenizer.json) so far", model_dir, m->cfg.vocab_size_raw,
                      has_tokenizer ? ", tokenizer.json present" : "");

    byte_stream bs = { .path = input, .n = st.st_size };
    bs.f = fopen(input, "rb");
    bs.buf = malloc((size_t)chunk + 1);
    if (!bs.f || !bs.buf) krait_cli_die(1, "%s: cannot read the input", input);
    eval_progress ep;
    krait_progress_init(&ep.p, 1 << 30);
    ep.t0 = krait_now();
    krait_eval_result r;
    s = krait_eval_stream(m, 1, (long)bs.n, chunk, fill_bytes, &bs, &r, on_progress, &ep);
    krait_progress_done(&ep.p);
    fclose(bs.f);
    free(bs.buf);
    if (s) return krait_cli_exit_code(s);

    double loss = r.n_scored ? r.loss_sum / r.n_scored : 0;
    double ppl = exp(loss), bpb = loss / log(2.0); /* byte tokenizer: one token per byte */
    printf("%s: %lld tokens, loss %.6f nats, perplexity %.4f, %.4f bits per byte\n", input, (long long)bs.n, loss,
           ppl, bpb);
    if (positions)
        for (int b = 0; b < KRAIT_EVAL_BUCKETS && r.bucket_n[b]; b++)
            printf("  positions %lld..%lld: loss %.4f (%lld tokens)\n", krait_eval_bucket_start(b),
                   krait_eval_bucket_start(b) + r.bucket_n[b] - 1, r.bucket_loss[b] / r.bucket_n[b], r.bucket_n[b]);
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "tokens", (double)bs.n);
        cJSON_AddNumberToObject(o, "scored", (double)r.n_scored);
        cJSON_AddNumberToObject(o, "loss", loss);
        cJSON_AddNumberToObject(o, "perplexity", ppl);
        cJSON_AddNumberToObject(o, "bits_per_byte", bpb);
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
        char *j = cJSON_PrintUnformatted(o);
        printf("%s\n", j);
        free(j);
        cJSON_Delete(o);
    }
    krait_model_free(m);
    krait_backend_destroy(be);
    return 0;
}

