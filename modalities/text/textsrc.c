/* modalities/text/textsrc.c — text inputs as documents in pieces; see textsrc.h. */
#include "textsrc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "tokenizer.h"
#include "zin.h"

#define PIECE ((size_t)1 << 20)
#define MAX_STRETCH ((size_t)64 << 20)

struct krait_textsrc {
    char *path;
    krait_zin *zin;         /* plain or gzip (core/zin.h: trailing garbage refused) */
    int jsonl, eof, started, warned;
    int byte_cuts;          /* cut at any byte (byte tokenizer), not only after line breaks */
    int (*guard)(const void *ctx, const char *b, size_t have, size_t p); /* 1: no cut at p (the
                                                                           * tokenizer's own tokens) */
    const void *guard_ctx;
    int utf8;               /* plain pieces must be valid UTF-8 (BPE) */
    const char *json_key;   /* JSONL: the field that holds the text (not owned; NULL: "text") */
    long long lines;        /* plain: line breaks handed out before buf[start] */
    int line_start;         /* plain: buf[start] starts a line */
    long long piece_line;   /* plain, lines counted (utf8): the line the last piece starts on; else 0 */
    int piece_line_start;   /* ... and whether it starts at the line's start */
    char *buf;              /* buf[start, len): data read but not yet handed out */
    size_t start, len, cap;
    long long consumed;     /* uncompressed bytes handed out before buf[start] */
    long long line;         /* JSONL: line number of the last document */
    cJSON *doc;
    char where[600];
};

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int krait_textsrc_is_jsonl(const char *path)
{
    return ends_with(path, ".jsonl") || ends_with(path, ".jsonl.gz");
}

int krait_textsrc_sniff_text(const char *path)
{
    gzFile g = gzopen(path, "rb");
    if (!g) return 0;
    char b[8192];
    int n = gzread(g, b, sizeof b);
    gzclose(g);
    return n >= 0 && memchr(b, 0, (size_t)n) == NULL;
}

krait_status krait_textsrc_open(const char *path, krait_textsrc **out)
{
    *out = NULL;
    krait_textsrc *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return KRAIT_STATUS_NO_MEMORY;
    }
    s->jsonl = krait_textsrc_is_jsonl(path);
    krait_status st = krait_zin_open(path, &s->zin);
    if (st) {
        krait_textsrc_close(s);
        return st;
    }
    s->line_start = 1;
    snprintf(s->where, sizeof s->where, "%s", path);
    *out = s;
    return KRAIT_STATUS_OK;
}

void krait_textsrc_close(krait_textsrc *s)
{
    if (!s) return;
    krait_zin_close(s->zin);
    cJSON_Delete(s->doc);
    free(s->buf);
    free(s->path);
    free(s);
}

const char *krait_textsrc_where(const krait_textsrc *s) { return s->where; }

long long krait_textsrc_piece_line(const krait_textsrc *s, int *at_line_start)
{
    if (at_line_start) *at_line_start = s->piece_line_start;
    return s->jsonl ? 0 : s->piece_line;
}

/* Read more data so that buf holds at least want bytes after start (or the file ends). */
static krait_status fill(krait_textsrc *s, size_t want)
{
    if (s->start > 0) { /* move what is left to the front */
        memmove(s->buf, s->buf + s->start, s->len - s->start);
        s->len -= s->start;
        s->consumed += (long long)s->start;
        s->start = 0;
    }
    if (want + 1 > s->cap) {
        size_t c = s->cap ? s->cap : PIECE;
        while (c < want + 1) c *= 2;
        char *p = realloc(s->buf, c);
        if (!p) return KRAIT_STATUS_NO_MEMORY;
        s->buf = p;
        s->cap = c;
    }
    while (!s->eof && s->len < want) {
        size_t ask = want - s->len; /* no more: a stretch is as long as asked (MAX_STRETCH) */
        if (ask > (1u << 30)) ask = 1u << 30;
        long n = krait_zin_read(s->zin, s->buf + s->len, ask);
        if (n < 0) return krait_zin_status(s->zin); /* logged */
        if (n == 0) s->eof = 1;
        s->len += (size_t)n;
    }
    return KRAIT_STATUS_OK;
}

/* A character starting with byte c is not white space: visible ASCII, or the lead byte of a
 * UTF-8 sequence in a range that holds no Unicode White_Space (U+00C0-U+0FFF, U+4000 and up;
 * U+0080-U+00BF has NBSP and NEL, U+1000-U+3FFF the Ogham, general-punctuation and ideographic
 * spaces, so a character there counts as space here). */
static int plain_lead(unsigned char c) { return (c > ' ' && c < 127) || (c >= 0xC3 && c <= 0xE0) || (c >= 0xE4 && c <= 0xF4); }

/* The character ending just before b[i] is not white space (as plain_lead). */
static int plain_before(const char *b, size_t i)
{
    size_t j = i;
    while (j > 0 && i - j < 3 && ((unsigned char)b[j - 1] & 0xC0) == 0x80) j--; /* to its lead byte */
    return j > 0 && plain_lead((unsigned char)b[j - 1]);
}

/* Whether the text b[0, have) may be cut before b[p] so that encoding the two parts one after
 * the other gives the ids of encoding them together. */
static int safe_cut(const krait_textsrc *s, const char *b, size_t p, size_t have)
{
    int ok;
    if (s->byte_cuts) {
        ok = 1;
    } else {
        /* BPE (the GPT-NeoX pre-tokenizer's \s+(?!\S) splits a whitespace run by what follows it):
         *   after a newline that is a whitespace run of its own, a plain character on each side; or
         *   after a newline, before the single space that begins a line (" word": the space joins
         *   the word either way, and the whitespace up to the newline is one pre-token either way);
         *   before a CR LF after a plain character (CRLF text: the plain character ends its
         *   pre-token either way, and the whitespace run is split by what follows it either way). */
        if (p + 1 < have && b[p] == '\r' && b[p + 1] == '\n' && plain_before(b, p)) {
            ok = 1;
        } else {
            if (p < 2 || b[p - 1] != '\n') return 0;
            ok = (plain_lead((unsigned char)b[p]) && plain_before(b, p - 1)) ||
                 (b[p] == ' ' && p + 1 < have && plain_lead((unsigned char)b[p + 1]));
        }
    }
    return ok && !(s->guard && s->guard(s->guard_ctx, b, have, p)); /* the tokenizer's own tokens */
}

void krait_textsrc_set_cut_guard(krait_textsrc *s, int (*guard)(const void *ctx, const char *b, size_t have, size_t p),
                                 const void *ctx)
{
    s->guard = guard;
    s->guard_ctx = ctx;
}

void krait_textsrc_set_byte_cuts(krait_textsrc *s, int on) { s->byte_cuts = on; }
void krait_textsrc_set_utf8(krait_textsrc *s, int on) { s->utf8 = on; }
void krait_textsrc_set_json_key(krait_textsrc *s, const char *key) { s->json_key = key; }

static long long count_lines(const char *b, size_t n)
{
    long long k = 0;
    for (const char *p = b, *e = b + n; (p = memchr(p, '\n', (size_t)(e - p))); p++) k++;
    return k;
}

/* A plain piece that must be UTF-8: the first invalid byte, located in the whole file. */
static krait_status check_utf8(krait_textsrc *s, const char *b, size_t n, long long at)
{
    size_t bad = krait_utf8_invalid_at((const unsigned char *)b, n);
    if (bad < n) {
        size_t line_at = bad; /* where bad's line starts in this piece, or 0 */
        while (line_at > 0 && b[line_at - 1] != '\n') line_at--;
        long long line = s->lines + count_lines(b, bad) + 1;
        if (line_at > 0 || s->line_start)
            KRAIT_ERROR("%s:%lld:%zu: invalid UTF-8 at byte %lld of the text (0x%02x)", s->path, line,
                        bad - line_at + 1, at + (long long)bad, (unsigned char)b[bad]);
        else
            KRAIT_ERROR("%s:%lld: invalid UTF-8 at byte %lld of the text (0x%02x)", s->path, line,
                        at + (long long)bad, (unsigned char)b[bad]);
        return KRAIT_STATUS_BAD_INPUT;
    }
    s->lines += count_lines(b, n);
    s->line_start = n > 0 && b[n - 1] == '\n';
    return KRAIT_STATUS_OK;
}

static krait_status next_plain(krait_textsrc *s, const char **text, size_t *len, int *new_doc)
{
    size_t want = PIECE;
    for (;;) {
        krait_status st = fill(s, want);
        if (st) return st;
        size_t have = s->len - s->start;
        const char *b = s->buf + s->start;
        size_t cut = 0;
        if (s->eof) {
            cut = have;
        } else {
            for (size_t p = have - 1; p > 0 && !cut; p--)
                if (safe_cut(s, b, p, have)) cut = p;
            if (!cut && want >= MAX_STRETCH) { /* a stretch that long without a safe cut */
                if ((st = fill(s, have + 1))) return st; /* one byte more: is it the rest of the text? */
                b = s->buf + s->start;
                cut = have;
                if (!s->eof || s->len - s->start > have) { /* more follows: cut inside the line */
                    while (cut > 1 && ((unsigned char)b[cut] & 0xC0) == 0x80) cut--;
                    if (!s->warned)
                        KRAIT_WARN("%s: more than %zu MiB without a line break: cut inside a line at byte %lld "
                                   "(BPE ids near the cut may differ from encoding the line whole)",
                                   s->path, MAX_STRETCH >> 20, s->consumed + (long long)s->start + (long long)cut);
                    s->warned = 1;
                }
            }
        }
        if (cut || s->eof) {
            *new_doc = !s->started;
            if (!s->started && cut == 0) { /* an empty file is an empty document */
                s->started = 1;
                *text = "";
                *len = 0;
                return KRAIT_STATUS_OK;
            }
            s->started = 1;
            long long at = s->consumed + (long long)s->start;
            if (at == 0) snprintf(s->where, sizeof s->where, "%s", s->path);
            else snprintf(s->where, sizeof s->where, "%s (text from byte %lld)", s->path, at);
            s->piece_line = s->utf8 ? s->lines + 1 : 0;
            s->piece_line_start = s->line_start;
            if (s->utf8 && cut && (st = check_utf8(s, b, cut, at))) return st;
            *text = cut ? b : NULL;
            *len = cut;
            s->start += cut;
            return KRAIT_STATUS_OK;
        }
        want *= 2;
    }
}

/* Whether a JSON text holds the escape \u0000 (cJSON's strings end at a NUL: the rest of the
 * document would be lost). An escaped backslash before "u0000" is skipped as the pair it is. */
static int has_nul_escape(const char *j, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (j[i] != '\\') continue;
        if (j[i + 1] == 'u' && i + 5 < n && !memcmp(j + i + 2, "0000", 4)) return 1;
        i++; /* the escaped character */
    }
    return 0;
}

static krait_status next_jsonl(krait_textsrc *s, const char **text, size_t *len, int *new_doc)
{
    cJSON_Delete(s->doc);
    s->doc = NULL;
    for (;;) {
        /* find the end of the next line, reading more as needed */
        char *nl = NULL;
        size_t scanned = 0;
        for (;;) {
            size_t have = s->len - s->start;
            nl = have > scanned ? memchr(s->buf + s->start + scanned, '\n', have - scanned) : NULL;
            if (nl || s->eof) break;
            scanned = have;
            krait_status st = fill(s, (have < PIECE ? PIECE : have * 2));
            if (st) return st;
        }
        size_t have = s->len - s->start;
        if (!nl && have == 0) {
            *text = NULL;
            *len = 0;
            *new_doc = 0;
            return KRAIT_STATUS_OK;
        }
        char *line = s->buf + s->start;
        size_t n = nl ? (size_t)(nl - line) : have;
        s->start += nl ? n + 1 : n;
        s->line++;
        snprintf(s->where, sizeof s->where, "%s:%lld", s->path, s->line);
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k == n) continue; /* blank line */
        const char *end = NULL;
        cJSON *o = cJSON_ParseWithLengthOpts(line, n, &end, 0);
        if (!o) {
            KRAIT_ERROR("%s: malformed JSON at column %lld", s->where,
                        (long long)((end ? end : line) - line) + 1);
            return KRAIT_STATUS_BAD_INPUT;
        }
        size_t rest = (size_t)(end - line);
        while (rest < n && (line[rest] == ' ' || line[rest] == '\t' || line[rest] == '\r')) rest++;
        if (rest < n) {
            KRAIT_ERROR("%s: text after the JSON object at column %lld", s->where, (long long)rest + 1);
            cJSON_Delete(o);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (has_nul_escape(line, n)) {
            KRAIT_ERROR("%s: a NUL character (\\u0000) in the JSON: krait cannot keep the text after it (remove it, "
                        "or give the text as a plain file)", s->where);
            cJSON_Delete(o);
            return KRAIT_STATUS_BAD_INPUT;
        }
        const char *key = s->json_key ? s->json_key : "text";
        const cJSON *t = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
        if (!cJSON_IsString(t) || !t->valuestring) {
            if (!cJSON_IsObject(o)) KRAIT_ERROR("%s: not a JSON object", s->where);
            else if (t) KRAIT_ERROR("%s: \"%s\" is not a string", s->where, key);
            else KRAIT_ERROR("%s: no \"%s\" field%s", s->where, key, s->json_key ? "" : " (--jsonl-key names another)");
            cJSON_Delete(o);
            return KRAIT_STATUS_BAD_INPUT;
        }
        s->doc = o;
        *text = t->valuestring;
        *len = strlen(t->valuestring);
        *new_doc = 1;
        return KRAIT_STATUS_OK;
    }
}

krait_status krait_textsrc_next(krait_textsrc *s, const char **text, size_t *len, int *new_doc)
{
    *text = NULL;
    *len = 0;
    *new_doc = 0;
    if (s->jsonl) return next_jsonl(s, text, len, new_doc);
    if (s->started && s->eof && s->start == s->len) return KRAIT_STATUS_OK;
    return next_plain(s, text, len, new_doc);
}
