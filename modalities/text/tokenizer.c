/* modalities/text/tokenizer.c — the byte tokenizer and the dispatch over tokenizer kinds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "tokenizer_impl.h"

krait_status krait_tok_reserve(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return KRAIT_STATUS_OK;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    void *p = realloc(*buf, c * elem);
    if (!p)
        return KRAIT_STATUS_NO_MEMORY;
    *buf = p;
    *cap = c;
    return KRAIT_STATUS_OK;
}

krait_status krait_tokenizer_bytes(const char *const *specials, int n_special, krait_tokenizer **out)
{
    *out = NULL;
    krait_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return KRAIT_STATUS_NO_MEMORY;
    t->kind = KRAIT_TOKENIZER_BYTES;
    t->vocab = 256 + n_special;
    t->eos = -1;
    if (n_special > 0) {
        t->specials = calloc((size_t)n_special, sizeof *t->specials);
        if (!t->specials) {
            free(t);
            return KRAIT_STATUS_NO_MEMORY;
        }
        t->n_special = n_special;
        for (int i = 0; i < n_special; i++) {
            if (!specials[i] || !specials[i][0]) {
                KRAIT_ERROR("byte tokenizer: special token %d is empty", i);
                krait_tokenizer_free(t);
                return KRAIT_STATUS_BAD_INPUT;
            }
            t->specials[i] = strdup(specials[i]);
            if (!t->specials[i]) {
                krait_tokenizer_free(t);
                return KRAIT_STATUS_NO_MEMORY;
            }
            if (strcmp(specials[i], "<|endoftext|>") == 0)
                t->eos = 256 + i;
        }
    }
    *out = t;
    return KRAIT_STATUS_OK;
}

krait_status krait_tokenizer_load(const char *path, krait_tokenizer **out)
{
    *out = NULL;
    krait_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return KRAIT_STATUS_NO_MEMORY;
    t->kind = KRAIT_TOKENIZER_BPE;
    t->eos = -1;
    krait_status st = krait_bpe_load(path, t);
    if (st != KRAIT_STATUS_OK) {
        krait_tokenizer_free(t);
        return st;
    }
    *out = t;
    return KRAIT_STATUS_OK;
}

krait_status krait_tokenizer_open(const char *spec, krait_tokenizer **out)
{
    if (strcmp(spec, "bytes") == 0) {
        const char *eot = "<|endoftext|>";
        return krait_tokenizer_bytes(&eot, 1, out);
    }
    return krait_tokenizer_load(spec, out);
}

char *krait_text_json_literal(const char *s, size_t n)
{
    char *out = malloc(6 * n + 3), *o = out; /* \u00XX per byte at most */
    if (!out)
        return NULL;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
            if (k > 0) {
                memcpy(o, s + i, (size_t)k);
                o += k, i += (size_t)k;
            } else {
                memcpy(o, "\\ufffd", 6);
                o += 6, i++;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            *o++ = '\\', *o++ = (char)c;
        } else if (c == '\n') {
            *o++ = '\\', *o++ = 'n';
        } else if (c == '\t') {
            *o++ = '\\', *o++ = 't';
        } else if (c < 0x20 || c == 0x7f) {
            o += sprintf(o, "\\u%04x", c);
        } else {
            *o++ = (char)c;
        }
        i++;
    }
    *o++ = '"';
    *o = 0;
    return out;
}

void krait_tokenizer_free(krait_tokenizer *tok)
{
    if (!tok)
        return;
    for (int i = 0; i < tok->n_special; i++)
        free(tok->specials[i]);
    free(tok->specials);
    if (tok->bpe)
        krait_bpe_free(tok->bpe);
    free(tok);
}

krait_tokenizer_kind krait_tokenizer_kind_of(const krait_tokenizer *tok) { return tok->kind; }

int krait_tokenizer_cut_conflict(const void *tok, const char *s, size_t n, size_t p)
{
    const krait_tokenizer *t = tok;
    if (t->kind == KRAIT_TOKENIZER_BPE) return krait_bpe_cut_conflict(t->bpe, s, n, p);
    for (int k = 0; k < t->n_special; k++) { /* bytes: a special token spanning p, as far as read */
        size_t L = strlen(t->specials[k]);
        for (size_t q = p + 1 >= L ? p + 1 - L : 0; q < p; q++)
            if (!memcmp(s + q, t->specials[k], n - q < L ? n - q : L)) return 1;
    }
    return 0;
}
int krait_tokenizer_vocab_size(const krait_tokenizer *tok) { return tok->vocab; }
int krait_tokenizer_eos(const krait_tokenizer *tok) { return tok->eos; }

int krait_tokenizer_is_added(const krait_tokenizer *tok, int id)
{
    if (tok->kind == KRAIT_TOKENIZER_BPE) return krait_bpe_is_added(tok->bpe, id);
    return id >= 256 && id < tok->vocab;
}

int krait_tokenizer_has_id(const krait_tokenizer *tok, int id)
{
    if (tok->kind == KRAIT_TOKENIZER_BPE) return krait_bpe_has_id(tok->bpe, id);
    return id >= 0 && id < tok->vocab;
}

int krait_tokenizer_token_id(const krait_tokenizer *tok, const char *token)
{
    if (tok->kind == KRAIT_TOKENIZER_BPE)
        return krait_bpe_token_id(tok->bpe, token);
    for (int i = 0; i < tok->n_special; i++)
        if (strcmp(tok->specials[i], token) == 0)
            return 256 + i;
    if (token[0] && !token[1])
        return (unsigned char)token[0];
    return -1;
}

/* The special whose text starts at p (longest match), or -1. */
static int special_at(const krait_tokenizer *tok, const char *p, size_t left, size_t *match_len)
{
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < tok->n_special; i++) {
        size_t l = strlen(tok->specials[i]);
        if (l <= left && l > best_len && memcmp(p, tok->specials[i], l) == 0) {
            best = i;
            best_len = l;
        }
    }
    *match_len = best_len;
    return best;
}

krait_status krait_tokenizer_encode(const krait_tokenizer *tok, const char *text, size_t len,
                                    const char *what, int32_t **ids, size_t *n, size_t *cap)
{
    if (tok->kind == KRAIT_TOKENIZER_BPE)
        return krait_bpe_encode(tok->bpe, text, len, what, ids, n, cap);
    krait_status st = krait_tok_reserve((void **)ids, cap, *n + len, sizeof **ids);
    if (st != KRAIT_STATUS_OK)
        return st;
    for (size_t i = 0; i < len;) {
        size_t ml = 0;
        int s = tok->n_special ? special_at(tok, text + i, len - i, &ml) : -1;
        if (s >= 0) {
            (*ids)[(*n)++] = 256 + s;
            i += ml;
        } else {
            (*ids)[(*n)++] = (unsigned char)text[i++];
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_tokenizer_decode(const krait_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                    char **out, size_t *n, size_t *cap)
{
    if (tok->kind == KRAIT_TOKENIZER_BPE)
        return krait_bpe_decode(tok->bpe, ids, n_ids, out, n, cap);
    for (size_t i = 0; i < n_ids; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= tok->vocab) {
            KRAIT_ERROR("token id %d at position %zu is outside the vocabulary (0..%d)", (int)id, i,
                        tok->vocab - 1);
            return KRAIT_STATUS_BAD_INPUT;
        }
        const char *piece = NULL;
        char byte;
        size_t l = 1;
        if (id < 256) {
            byte = (char)id;
            piece = &byte;
        } else {
            piece = tok->specials[id - 256];
            l = strlen(piece);
        }
        krait_status st = krait_tok_reserve((void **)out, cap, *n + l, 1);
        if (st != KRAIT_STATUS_OK)
            return st;
        memcpy(*out + *n, piece, l);
        *n += l;
    }
    return KRAIT_STATUS_OK;
}

int krait_tokenizer_min_vocab(const krait_tokenizer *tok)
{
    int v = krait_tokenizer_vocab_size(tok);
    while (v > 0 && krait_tokenizer_is_added(tok, v - 1)) v--;
    return v;
}

krait_status krait_tokenizer_for_model(krait_tokenizer **out, const char *dir, krait_config *cfg)
{
    *out = NULL;
    char *path = krait_fs_join(dir, "tokenizer.json");
    if (!path) {
        KRAIT_ERROR("%s: out of memory", dir);
        return KRAIT_STATUS_NO_MEMORY;
    }
    krait_tokenizer *tok = NULL;
    krait_status s = KRAIT_STATUS_OK;
    const char *what;
    if (krait_fs_is_file(path)) {
        what = "tokenizer.json";
        s = krait_tokenizer_load(path, &tok);
    } else if (krait_config_byte_level(cfg)) {
        what = "the byte tokenizer";
        const char *eot = "<|endoftext|>";
        s = krait_tokenizer_bytes(&eot, cfg->vocab_size_raw >= 257 ? 1 : 0, &tok);
    } else {
        what = NULL;
        const char *md = cfg->modality;
        if (md[0] && strcmp(md, "text"))
            KRAIT_ERROR("%s: a%s %s model (config.json: \"modality\": \"%s\"), not a text one: krait-%s reads it", dir,
                        md[0] == 'a' ? "n" : "", md, md, !strcmp(md, "synthetic") ? "bench" : md);
        else if (cfg->tokenizer[0])
            KRAIT_ERROR("%s: config.json names the tokenizer \"%s\" but the folder has no tokenizer.json", dir,
                        cfg->tokenizer);
        else
            KRAIT_ERROR("%s: no tokenizer.json, and with vocab_size %d the model is not a byte-level one (256 or "
                        "257); put the model's tokenizer.json in the folder", dir, cfg->vocab_size_raw);
        s = KRAIT_STATUS_BAD_INPUT;
    }
    free(path);
    if (s) return s;
    const int tv = krait_tokenizer_vocab_size(tok);
    if (cfg->vocab_size_raw < krait_tokenizer_min_vocab(tok)) {
        KRAIT_ERROR("%s: %s has %d ids but the model's vocab_size is %d: the tokenizer does not fit the model", dir,
                    what, tv, cfg->vocab_size_raw);
        krait_tokenizer_free(tok);
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (tv < cfg->vocab_size_raw) cfg->vocab_size_raw = tv;
    *out = tok;
    return KRAIT_STATUS_OK;
}
