/* apps/text/tokenize_cmd.c — `krait-text tokenize` and `krait-text detokenize`.
 *
 *   tokenize    stdin (text) -> ids: whitespace-separated on one line, or with --json a last line
 *               {"ids": [...], "tokens": N}
 *   detokenize  stdin (ids, separated by whitespace or commas, or a JSON array, or {"ids": [...]}) -> the
 *               decoded bytes on stdout as they are (no newline added); with --json a line
 *               {"text": "...", "bytes": N} instead
 *
 * The tokenizer is --tokenizer tokenizer.json|bytes, or the one of --model DIR, found as generate
 * and eval find it (text_model_tokenizer: DIR/tokenizer.json, else the byte tokenizer when the
 * config says so or its vocab is 256 or 257). Bad input (a missing or malformed
 * tokenizer file, invalid UTF-8 on stdin, an id that is not an integer or is out of range) gets one
 * line naming the place and exit code 2. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "textapp.h"
#include "tokenize_cmd.h"
#include "tokenizer.h"

static char *read_stdin(size_t *n)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) krait_cli_die(1, "stdin: out of memory");
    for (;;) {
        if (len == cap) {
            cap *= 2;
            char *p = realloc(buf, cap + 1);
            if (!p) krait_cli_die(1, "stdin: out of memory (%zu bytes read)", len);
            buf = p;
        }
        size_t got = fread(buf + len, 1, cap - len, stdin);
        len += got;
        if (got == 0) {
            if (ferror(stdin)) krait_cli_die(1, "stdin: read error after %zu bytes (%s)", len, strerror(errno));
            break;
        }
    }
    buf[len] = 0;
    *n = len;
    return buf;
}

static int model_vocab; /* the --model's ids (0: no --model) */

static krait_tokenizer *open_tokenizer(const char *cmd, const char *spec, const char *model_dir)
{
    if (!spec == !model_dir) krait_cli_die(2, "%s: give exactly one of --tokenizer and --model", cmd);
    krait_tokenizer *tok = NULL;
    if (model_dir) { /* the one generate and eval use: config.json's "krait.tokenizer", or vocab 256/257 */
        char *cj = krait_fs_join(model_dir, "config.json");
        if (!cj) krait_cli_die(1, "out of memory");
        krait_config cfg;
        krait_config_default(&cfg);
        krait_status st = krait_config_load(&cfg, NULL, cj);
        if (st) exit(krait_cli_exit_code(st)); /* the library said why, in one line */
        free(cj);
        model_vocab = cfg.vocab_size_raw;
        return text_model_tokenizer(model_dir, &cfg);
    }
    krait_status st = krait_tokenizer_open(spec, &tok);
    if (st) exit(krait_cli_exit_code(st));
    return tok;
}

#define TOKENIZER_OPTS(spec, model)                                                                       \
    { "--tokenizer", OPT_STR, &(spec), "PATH", "a tokenizer.json, or \"bytes\" (bytes + <|endoftext|> = 256)" }, \
    { "--model", OPT_STR, &(model), "DIR", "the model folder's tokenizer (DIR/tokenizer.json, or bytes: config.json's krait.tokenizer, vocab 256 or 257)" }

int cmd_tokenize(int argc, char **argv)
{
    const char *spec = NULL, *model_dir = NULL;
    krait_opt opts[] = { TOKENIZER_OPTS(spec, model_dir), KRAIT_OPTS_NO_MODEL };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-text tokenize (--tokenizer tokenizer.json|bytes | --model DIR) [--json] < TEXT\n"
                    "Token ids of the text on stdin, separated by spaces (--json: {\"ids\": [...]}).");
    krait_tokenizer *tok = open_tokenizer("tokenize", spec, model_dir);
    size_t len;
    char *text = read_stdin(&len);
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    krait_status st = krait_tokenizer_encode(tok, text, len, "stdin", &ids, &n, &cap);
    free(text);
    if (st) {
        free(ids);
        krait_tokenizer_free(tok);
        return krait_cli_exit_code(st);
    }
    for (size_t i = 0; model_vocab > 0 && i < n; i++)
        if (ids[i] >= model_vocab) { /* the tokenizer has it, the model has no row for it */
            KRAIT_WARN("stdin: token %zu is id %d, not in the model's vocabulary (ids 0..%d): generate and eval "
                       "refuse this text", i, (int)ids[i], model_vocab - 1);
            break;
        }
    if (c.json) {
        fputs("{\"ids\": [", stdout);
        for (size_t i = 0; i < n; i++) printf(i ? ", %d" : "%d", (int)ids[i]);
        printf("], \"tokens\": %zu}\n", n);
    } else {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
        putchar('\n');
    }
    free(ids);
    krait_tokenizer_free(tok);
    return 0; /* stdout's writes are checked by krait_cli_done */
}

/* Ids from a JSON array (or {"ids": [...]}) in text. */
static size_t parse_json_ids(const char *text, int32_t **ids, int vocab)
{
    cJSON *root = cJSON_Parse(text);
    if (!root) {
        const char *at = cJSON_GetErrorPtr(); /* where parsing stopped */
        krait_cli_die(2, "stdin: malformed JSON at byte %lld (expected an array of ids or {\"ids\": [...]})",
                      at && at >= text ? (long long)(at - text) : 0LL);
    }
    const cJSON *arr = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "ids") : root;
    if (!cJSON_IsArray(arr)) krait_cli_die(2, "stdin: expected a JSON array of ids or {\"ids\": [...]}");
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    *ids = malloc((n + 1) * sizeof **ids);
    if (!*ids) krait_cli_die(1, "stdin: out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (!cJSON_IsNumber(e) || e->valuedouble != (double)(long long)e->valuedouble)
            krait_cli_die(2, "stdin: element %zu of the ids is not an integer", i);
        if (e->valuedouble < 0 || e->valuedouble >= vocab)
            krait_cli_die(2, "stdin: id %.0f at position %zu is outside the vocabulary (0..%d)", e->valuedouble, i,
                          vocab - 1);
        (*ids)[i++] = (int32_t)e->valuedouble;
    }
    cJSON_Delete(root);
    return n;
}

/* Ids separated by whitespace or commas (as krait-model logits --ids takes them). A comma with no
 * id before it ("12,,13", ",12") is refused: a field left empty is a lost id, not a separator. */
static size_t parse_plain_ids(char *text, int32_t **ids, int vocab)
{
    size_t n = 0, cap = 1024;
    *ids = malloc(cap * sizeof **ids);
    if (!*ids) krait_cli_die(1, "stdin: out of memory");
    const char *ws = " \t\r\n\f\v";
    int id_since_comma = 0;
    for (char *p = text; *p;) {
        if (strchr(ws, *p)) {
            p++;
            continue;
        }
        if (*p == ',') {
            if (!id_since_comma)
                krait_cli_die(2, "stdin: byte %lld: a comma with no id before it (an empty field)",
                              (long long)(p - text));
            id_since_comma = 0;
            p++;
            continue;
        }
        char *t = p;
        p += strcspn(p, " \t\r\n\f\v,");
        const char sep = *p;
        *p = 0;
        char *end;
        errno = 0;
        long long v = strtoll(t, &end, 10);
        if (*end || end == t) krait_cli_die(2, "stdin: token %zu ('%.40s') is not an integer id", n, t);
        if (errno == ERANGE || v < 0 || v >= vocab)
            krait_cli_die(2, "stdin: id %.40s at position %zu is outside the vocabulary (0..%d)", t, n, vocab - 1);
        if (n == cap) {
            cap *= 2;
            int32_t *q = realloc(*ids, cap * sizeof *q);
            if (!q) krait_cli_die(1, "stdin: out of memory");
            *ids = q;
        }
        (*ids)[n++] = (int32_t)v;
        id_since_comma = 1;
        *p = sep;
    }
    return n;
}

int cmd_detokenize(int argc, char **argv)
{
    const char *spec = NULL, *model_dir = NULL;
    krait_opt opts[] = { TOKENIZER_OPTS(spec, model_dir), KRAIT_OPTS_NO_MODEL };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-text detokenize (--tokenizer tokenizer.json|bytes | --model DIR) [--json] < IDS\n"
                    "Text of the ids on stdin (separated by whitespace or commas, or a JSON array, or {\"ids\": [...]}),\n"
                    "written as bytes (--json: {\"text\": \"...\"}).");
    krait_tokenizer *tok = open_tokenizer("detokenize", spec, model_dir);
    int vocab = krait_tokenizer_vocab_size(tok);
    size_t len;
    char *text = read_stdin(&len);
    if (strlen(text) != len) krait_cli_die(2, "stdin: a NUL byte at %zu; expected ids as text", strlen(text));
    size_t k = strspn(text, " \t\r\n\f\v");
    int32_t *ids = NULL;
    size_t n = text[k] == '[' || text[k] == '{' ? parse_json_ids(text, &ids, vocab) : parse_plain_ids(text, &ids, vocab);
    char *out = NULL;
    size_t on = 0, ocap = 0;
    krait_status st = krait_tokenizer_decode(tok, ids, n, &out, &on, &ocap);
    free(ids);
    free(text);
    if (st) {
        free(out);
        krait_tokenizer_free(tok);
        return krait_cli_exit_code(st);
    }
    if (c.json) {
        char *s = krait_text_json_literal(out ? out : "", on);
        if (!s) krait_cli_die(1, "out of memory");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddRawToObject(o, "text", s); /* every byte: NUL escaped, non-UTF-8 bytes as U+FFFD */
        cJSON_AddNumberToObject(o, "bytes", (double)on);
        krait_cli_print_json(o);
        free(s);
    } else if (on && fwrite(out, 1, on, stdout) != on) {
        krait_cli_die(1, "stdout: write error (%s)", strerror(errno));
    }
    free(out);
    krait_tokenizer_free(tok);
    return 0; /* stdout's writes are checked by krait_cli_done */
}
