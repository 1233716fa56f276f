/* apps/text/generate.c — `krait-text generate`: a prompt to text, streamed as it is sampled.
 *
 * The model folder's tokenizer (textapp.h: tokenizer.json, else the byte tokenizer) encodes
 * the prompt; core/generate.h prefills it and samples with the chosen options. With one
 * sequence the bytes of every new token go to stdout as soon as it exists (a UTF-8 character
 * split over byte tokens arrives in parts; the terminal puts it together). With --batch N the
 * N continuations of the same prompt are printed one after another at the end.
 *
 * EOS: a model whose tokenizer has "<|endoftext|>" (BPE, or a byte model with vocab >= 257,
 * id 256) stops a sequence when it samples it; the EOS itself is not printed. A byte model
 * with vocab 256 has no EOS and stops at --max-tokens or a --stop string. Without --prompt the
 * generation starts from EOS alone (an unconditional sample) when the tokenizer has one.
 * Ids in a gap of the tokenizer's ids (no token to print) are never sampled.
 * --stop STR is matched on the decoded text (so it works whatever the tokenization); the stop
 * string is part of the output. Timing goes to stderr; --json adds one JSON line. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "fsutil.h"
#include "generate.h"
#include "infer.h"
#include "model_io.h"
#include "textapp.h"
#include "train.h"
#include "zin.h"

typedef struct gen_out {
    char *buf;
    size_t n, cap;
} gen_out;

typedef struct gen_ctx {
    const krait_tokenizer *tok;
    int eos, stream;
    gen_out *out;             /* (B) the decoded text of every sequence */
    const krait_str_list *stop;
    int bad;                  /* 1: a token that does not decode; 2: stdout failed */
    int steps, max_tokens, batch; /* progress of a --batch run (not streamed) */
    double t0;
    krait_progress prog, pprog; /* the tokens; the prefill of a long prompt */
} gen_ctx;

/* A prompt longer than one prefill piece (64k tokens) shows its progress: a 1M-token prompt is
 * a minute and more on the CPU. */
static void on_prefill(void *user, int seq, long done, long total)
{
    gen_ctx *g = user;
    const int last = done == total && seq == g->batch - 1;
    double el = krait_now() - g->t0, rate = el > 0 ? ((double)seq * total + done) / el : 0;
    char of[48] = "";
    if (g->batch > 1) snprintf(of, sizeof of, " of sequence %d/%d", seq + 1, g->batch);
    krait_progress_line(&g->pprog, last, "prefill: %ld/%ld prompt tokens%s, %.0f tokens/s", done, total, of, rate);
    if (last) krait_progress_done(&g->pprog);
}

static int on_token(void *user, int seq, int index, int32_t token)
{
    gen_ctx *g = user;
    if (!g->stream && index >= g->steps) {
        g->steps = index + 1;
        double el = krait_now() - g->t0;
        char eta[32];
        krait_progress_line(&g->prog, g->steps == g->max_tokens, "token %d/%d of %d sequences, %.0f tokens/s, ETA %s", g->steps,
                            g->max_tokens, g->batch, el > 0 ? (double)g->steps * g->batch / el : 0,
                            krait_fmt_duration(el / g->steps * (g->max_tokens - g->steps), eta));
    }
    if (token == g->eos) return 0; /* generate stops on EOS by itself */
    gen_out *o = &g->out[seq];
    size_t before = o->n;
    if (krait_tokenizer_decode(g->tok, &token, 1, &o->buf, &o->n, &o->cap)) {
        g->bad = 1;
        return 1;
    }
    /* a stop string that ends anywhere in the new bytes (a token may carry text past it): the
     * text ends right after the earliest one */
    size_t end = o->n;
    int stop = 0;
    for (int i = 0; i < g->stop->n; i++) {
        const size_t l = strlen(g->stop->items[i]);
        for (size_t e = before + 1; l && e <= end; e++)
            if (e >= l && !memcmp(o->buf + e - l, g->stop->items[i], l)) {
                end = e, stop = 1;
                break;
            }
    }
    o->n = end;
    if (g->stream && (fwrite(o->buf + before, 1, o->n - before, stdout) != o->n - before || fflush(stdout))) {
        krait_cli_stdout_failed(); /* stdout cannot take the text (a full disk): no use generating more */
        g->bad = 2;
        return 1;
    }
    return stop;
}

/* Why a sequence stopped; the callback only stops sequences on a --stop string. */
static const char *stop_name(krait_stop_reason r)
{
    return r == KRAIT_STOP_CALLBACK ? "stop" : krait_stop_reason_name(r);
}

/* A --prompt-file's bytes, every one (NUL included), a .gz decompressed as eval and prepare do
 * (core/zin.h); at most 1 GiB. Exits with one line on failure. */
static char *read_prompt_file(const char *path, size_t *len)
{
    krait_zin *g;
    krait_status s = krait_zin_open(strcmp(path, "-") ? path : "/dev/stdin", &g); /* "-": standard input */
    if (s) exit(krait_cli_exit_code(s));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (long got = 1; buf && got > 0;) {
        if (n == cap) {
            if (cap >= (size_t)1 << 30) krait_cli_die(2, "%s: a prompt of more than 1 GiB", path);
            char *b = realloc(buf, 2 * cap + 1);
            if (!b) krait_cli_die(1, "out of memory");
            buf = b, cap *= 2;
        }
        got = krait_zin_read(g, buf + n, cap - n);
        if (got < 0) exit(krait_cli_exit_code(krait_zin_status(g))); /* logged */
        n += (size_t)got;
    }
    if (!buf) krait_cli_die(1, "out of memory");
    krait_zin_close(g);
    buf[n] = '\0';
    *len = n;
    return buf;
}

int text_cmd_generate(int argc, char **argv)
{
    const char *model_dir = NULL, *prompt = NULL, *prompt_file = NULL;
    int max_tokens = 256, batch = 1, echo = 0;
    double temperature = 0.8, top_p = 1.0, min_p = 0.0, rep = 1.0;
    int top_k = 0;
    krait_str_list stops = { 0 };
    krait_opt opts[] = {
        { "--model", OPT_STR, &model_dir, "DIR", "model folder (a krait-text train run folder works as it is)" },
        { "--prompt", OPT_STR, &prompt, "TEXT", "the text to continue (default: start from EOS when there is one)" },
        { "--prompt-file", OPT_STR, &prompt_file, "F", "read the prompt from a file (-: standard input)" },
        { "--max-tokens", OPT_INT, &max_tokens, "N", "new tokens per sequence (default 256)" },
        { "--temperature", OPT_DOUBLE, &temperature, "T", "sampling temperature (default 0.8; 0 = greedy)" },
        { "--top-k", OPT_INT, &top_k, "K", "keep the K most likely tokens (default 0: off)" },
        { "--top-p", OPT_DOUBLE, &top_p, "P", "nucleus sampling (default 1: off)" },
        { "--min-p", OPT_DOUBLE, &min_p, "P", "drop tokens below P x the top probability (default 0: off)" },
        { "--repetition-penalty", OPT_DOUBLE, &rep, "R", "penalise tokens already seen (default 1: off)" },
        { "--stop", OPT_LIST, &stops, "STR", "end a sequence's text right after STR once it appears (repeatable)" },
        { "--batch", OPT_INT, &batch, "N", "N continuations of the prompt, printed at the end (default 1: streamed)" },
        { "--echo", OPT_FLAG, &echo, NULL, "print the prompt before the continuation" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-text generate --model DIR [--prompt TEXT | --prompt-file F] [--max-tokens N]\n"
                    "       [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R]\n"
                    "       [--seed S] [--stop STR] [--batch N]\n"
                    "Continue a prompt with the model; the text is streamed to stdout, tokens/s to stderr.");
    if (!model_dir) krait_cli_die(2, "generate: --model is required");
    if (prompt && prompt_file) krait_cli_die(2, "generate: give --prompt or --prompt-file, not both");
    if (max_tokens < 1 || batch < 1) krait_cli_die(2, "generate: --max-tokens and --batch must be >= 1");
    for (int i = 0; i < stops.n; i++)
        if (!stops.items[i][0]) krait_cli_die(2, "generate: --stop \"\": a stop string must not be empty");
    if (!isfinite((float)temperature) || !isfinite((float)rep))
        krait_cli_die(2, "generate: --temperature and --repetition-penalty must fit a float (at most ~3.4e38)");
    krait_gen_params gp = krait_gen_default_params();
    gp.sample.temperature = (float)temperature;
    gp.sample.top_k = top_k;
    gp.sample.top_p = top_p > 0 && top_p < FLT_MIN ? FLT_MIN : (float)top_p; /* tiny: the top token only */
    gp.sample.min_p = (float)min_p;
    gp.sample.repetition_penalty = (float)rep;
    gp.max_tokens = max_tokens;
    gp.seed = c.seed;
    if (krait_sample_check(&gp.sample)) return 2;

    char *file_text = NULL;
    size_t prompt_len = 0;
    const char *what = "--prompt";
    krait_status s;
    if (prompt_file) { /* every byte of the file, NUL bytes included */
        file_text = read_prompt_file(prompt_file, &prompt_len);
        prompt = file_text;
        what = prompt_file;
    } else if (prompt) {
        prompt_len = strlen(prompt);
    }
    if (prompt) {
        if (!prompt_len) krait_cli_die(2, "%s: the prompt is empty (leave --prompt out to start from EOS)", what);
    }

    krait_backend *be = krait_cli_backend(&c, "bf16");
    krait_model *m = krait_model_load(model_dir, be, &s);
    if (!m) return krait_cli_exit_code(s ? s : KRAIT_STATUS_BAD_INPUT);
    if (strcmp(m->cfg.head, "lm"))
        krait_cli_die(2, "%s: a model with a \"%s\" head, not a language model: nothing to generate", model_dir, m->cfg.head);
    krait_tokenizer *tok = text_model_tokenizer(model_dir, &m->cfg);
    int eos = krait_tokenizer_eos(tok);
    gp.eos_id = eos;
    /* ids with no token in the tokenizer.json (a gap in its ids) are never sampled: they could not
     * be printed (ids past its last one are already outside vocab_size_raw: text_model_tokenizer) */
    int32_t *untokened = malloc(sizeof *untokened * (size_t)krait_model_vocab_used(m));
    if (!untokened) krait_cli_die(1, "out of memory");
    for (int id = 0; id < krait_model_vocab_used(m); id++)
        if (!krait_tokenizer_has_id(tok, id)) untokened[gp.n_forbid++] = id;
    gp.forbid = untokened;
    int32_t *ids = NULL;
    size_t n_ids = 0, cap = 0;
    if (prompt) {
        const size_t bad = prompt_file && krait_tokenizer_kind_of(tok) != KRAIT_TOKENIZER_BYTES
                               ? krait_utf8_invalid_at((const unsigned char *)prompt, prompt_len) : prompt_len;
        text_place pl = { what, prompt, prompt_len, 0, 1, 1 }; /* a --prompt-file's lines */
        if (bad < prompt_len) { /* a file's line and column, as eval and prepare give them */
            char at[4200];
            text_place_at(at, sizeof at, &pl, bad);
            krait_cli_die(2, "%s: invalid UTF-8 at byte %zu of the text (0x%02x)", at, bad, (unsigned char)prompt[bad]);
        }
        if ((s = krait_tokenizer_encode(tok, prompt, prompt_len, what, &ids, &n_ids, &cap))) return krait_cli_exit_code(s);
        text_check_ids(tok, ids, n_ids, m->cfg.vocab_size_raw, what, prompt_file ? &pl : NULL);
    } else {
        if (eos < 0)
            krait_cli_die(2, "generate: --prompt is required (the tokenizer of %s has no EOS to start from)", model_dir);
        ids = malloc(sizeof *ids);
        ids[0] = eos;
        n_ids = 1;
    }
    char need[64];
    snprintf(need, sizeof need, "generate --batch %d", batch);
    size_t bytes = krait_generate_bytes(m, batch, 512);
    if (bytes != SIZE_MAX) bytes += (size_t)batch * (size_t)max_tokens * (sizeof *ids + 8); /* tokens and text */
    krait_cli_check_memory(be, bytes, need, "lower --batch (or --max-tokens)");
    krait_infer *inf = krait_infer_init(m, batch, 512);
    const int32_t **prompts = malloc(sizeof *prompts * (size_t)batch);
    int *plen = malloc(sizeof *plen * (size_t)batch), *n_out = malloc(sizeof *n_out * (size_t)batch);
    krait_stop_reason *why = malloc(sizeof *why * (size_t)batch);
    int32_t *outs = malloc(sizeof *outs * (size_t)batch * (size_t)max_tokens);
    gen_out *texts = calloc((size_t)batch, sizeof *texts);
    if (!inf || !prompts || !plen || !n_out || !why || !outs || !texts) krait_cli_die(1, "out of memory");
    for (int i = 0; i < batch; i++) prompts[i] = ids, plen[i] = (int)n_ids;
    gen_ctx g = { .tok = tok, .eos = eos, .stream = batch == 1, .out = texts, .stop = &stops,
                  .max_tokens = max_tokens, .batch = batch, .t0 = krait_now() };
    krait_progress_init(&g.prog, max_tokens >= 10 ? max_tokens / 10 : 1);
    krait_progress_init(&g.pprog, 8); /* off a terminal: every 8 pieces (512k tokens) and the end */
    gp.on_prefill = on_prefill, gp.prefill_user = &g;
    if (echo && batch == 1) {
        fwrite(prompt ? prompt : "", 1, prompt_len, stdout);
        fflush(stdout);
    }
    krait_gen_stats st;
    s = krait_generate(inf, outs, n_out, why, &st, prompts, plen, batch, &gp, on_token, &g);
    if (!g.stream) krait_progress_done(&g.prog);
    if (g.bad == 2) return 1; /* said */
    if (s || g.bad) return krait_cli_exit_code(s ? s : KRAIT_STATUS_BAD_INPUT);
    long long total = 0;
    for (int i = 0; i < batch; i++) total += n_out[i];
    if (batch == 1) {
        printf("\n");
    } else {
        for (int i = 0; i < batch; i++) {
            printf("=== sample %d (%s) ===\n", i + 1, stop_name(why[i]));
            if (echo) fwrite(prompt ? prompt : "", 1, prompt_len, stdout);
            fwrite(texts[i].buf ? texts[i].buf : "", 1, texts[i].n, stdout);
            printf("\n");
        }
    }
    /* the rate of the decode steps; none when the first token (from the prefill) ended it */
    double tps = st.decode_s > 0 && st.step_tokens > 0 ? st.step_tokens / st.decode_s : NAN;
    char rate[48] = "no decode step";
    if (isfinite(tps)) snprintf(rate, sizeof rate, "decode %.1f tokens/s", tps);
    char all[32], pre[32]; /* three figures under a second (0.000465s), else two decimals (1234.50s) */
    const double all_s = st.decode_s + st.prefill_s;
    snprintf(all, sizeof all, all_s < 1 ? "%.3g" : "%.2f", all_s);
    snprintf(pre, sizeof pre, st.prefill_s < 1 ? "%.3g" : "%.2f", st.prefill_s);
    fprintf(stderr, "krait-text: %lld tokens in %ss (prefill of the %zu-token prompt %ss; %s); stop: %s\n", total, all,
            n_ids, pre, rate, stop_name(why[0]));
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "tokens", (double)total);
        cJSON_AddNumberToObject(o, "tokens_per_s", tps); /* null when there was no decode step */
        cJSON_AddNumberToObject(o, "prompt_tokens", (double)n_ids);
        cJSON_AddNumberToObject(o, "prefill_s", st.prefill_s);
        cJSON_AddNumberToObject(o, "decode_s", st.decode_s);
        cJSON_AddStringToObject(o, "stop_reason", stop_name(why[0]));
        cJSON *reasons = cJSON_AddArrayToObject(o, "stop_reasons"); /* one per sample with --batch */
        for (int i = 0; i < batch; i++) cJSON_AddItemToArray(reasons, cJSON_CreateString(stop_name(why[i])));
        cJSON *arr = cJSON_AddArrayToObject(o, "texts");
        for (int i = 0; i < batch; i++) {
            char *t = krait_text_json_literal(texts[i].buf ? texts[i].buf : "", texts[i].n);
            if (!t) krait_cli_die(1, "out of memory");
            cJSON_AddItemToArray(arr, cJSON_CreateRaw(t)); /* every byte (see krait_text_json_literal) */
            free(t);
        }
        krait_cli_print_json(o);
    }
    for (int i = 0; i < batch; i++) free(texts[i].buf);
    free(texts), free(outs), free(why), free(n_out), free(plen), free(prompts), free(ids), free(file_text);
    free(untokened);
    krait_infer_free(inf);
    krait_tokenizer_free(tok);
    krait_model_free(m);
    krait_backend_destroy(be);
    return 0;
}
