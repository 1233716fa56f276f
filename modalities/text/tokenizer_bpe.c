/* modalities/text/tokenizer_bpe.c — HF tokenizer.json byte-level BPE: loading, lookups, decoding.
 *
 * Reads the parts of a HuggingFace tokenizer.json that byte-level BPE tokenizers such as
 * GPT-NeoX-20B's use: the BPE model (vocab, merges by rank, ignore_merges), the added tokens and
 * their flags, the normalizer (NFC or none), the ByteLevel pre-tokenizer (add_prefix_space,
 * use_regex), the ByteLevel decoder, and a ByteLevel (or absent) post-processor, which adds no
 * tokens. Anything else (another model type, a normalizer that is not NFC, dropout, subword
 * prefixes or suffixes, a template post-processor) is refused with one line naming the file and
 * the key, never silently approximated. The encode pipeline is in tokenizer_bpe_encode.c.
 *
 * Decoding follows HF's ByteLevel decoder: a token whose characters are all in the byte-to-unicode
 * map becomes those bytes, any other token (e.g. the added whitespace-run tokens, which hold
 * literal spaces) its own UTF-8. Unlike HF, no lossy UTF-8 repair is applied at the end: decode
 * returns bytes, so decoding ids one by one and concatenating gives the same bytes. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "tokenizer_bpe_impl.h"

#define MAX_TOKENIZER_BYTES ((size_t)1 << 30)

uint32_t krait_bpe_byte_char(int b)
{
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
        return (uint32_t)b;
    /* The other 68, in increasing byte order, take U+0100 + k: 0x00..0x20 -> k 0..32,
     * 0x7F..0xA0 -> 33..66, 0xAD -> 67. */
    if (b <= 0x20)
        return 0x100u + (uint32_t)b;
    if (b <= 0xA0)
        return 0x100u + 33u + (uint32_t)(b - 0x7F);
    return 0x100u + 67u;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = KRAIT_FNV1A_INIT;
    for (size_t i = 0; i < n; i++) h = krait_fnv1a(h, (unsigned char)s[i]);
    return h ^ (h >> 29);
}

static uint64_t hash_pair(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ull;
    return key ^ (key >> 33);
}

int32_t krait_bpe_lookup(const krait_bpe *b, const char *s, size_t n)
{
    for (size_t i = hash_bytes(s, n) & b->str_mask;; i = (i + 1) & b->str_mask) {
        int32_t id = b->str_table[i];
        if (id < 0)
            return -1;
        if ((size_t)b->str_len[id] == n && memcmp(b->arena + b->str_off[id], s, n) == 0)
            return id;
    }
}

const krait_bpe_merge *krait_bpe_merge_find(const krait_bpe *b, int32_t left, int32_t right)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    for (size_t i = hash_pair(key) & b->merge_mask;; i = (i + 1) & b->merge_mask) {
        const krait_bpe_merge *m = &b->merges[i];
        if (m->key == key)
            return m;
        if (m->key == UINT64_MAX)
            return NULL;
    }
}

/* Insert id under its string, replacing an id already there with the same string. */
static void str_insert(krait_bpe *b, int32_t id)
{
    const char *s = b->arena + b->str_off[id];
    size_t n = (size_t)b->str_len[id];
    for (size_t i = hash_bytes(s, n) & b->str_mask;; i = (i + 1) & b->str_mask) {
        int32_t o = b->str_table[i];
        if (o < 0 || ((size_t)b->str_len[o] == n && memcmp(b->arena + b->str_off[o], s, n) == 0)) {
            b->str_table[i] = id;
            return;
        }
    }
}

/* A later duplicate of a merge replaces the earlier one, as HF's map does. */
static void merge_insert(krait_bpe *b, int32_t left, int32_t right, int32_t rank, int32_t id)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    for (size_t i = hash_pair(key) & b->merge_mask;; i = (i + 1) & b->merge_mask) {
        krait_bpe_merge *m = &b->merges[i];
        if (m->key == key || m->key == UINT64_MAX) {
            *m = (krait_bpe_merge){ key, rank, id };
            return;
        }
    }
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n)
        p *= 2;
    return p;
}

/* The decoded bytes of a token string (see the file comment); returns their count, written to out
 * (which has room for n bytes: decoding never lengthens). inv: code point -> byte, or -1. */
static size_t decode_token(const int16_t inv[0x144], const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        if (c < 0x80) {
            cp = c;
            i += 1;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < n) {
            cp = (uint32_t)(c & 0x1F) << 6 | ((unsigned char)s[i + 1] & 0x3F);
            i += 2;
        } else {
            cp = 0x144;  /* three or more bytes: outside the map */
        }
        if (cp >= 0x144 || inv[cp] < 0) {
            memcpy(out, s, n);
            return n;
        }
        out[k++] = (char)inv[cp];
    }
    return k;
}

static const char *json_type_of(const cJSON *o)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static int json_flag(const cJSON *o, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    return dflt;
}

static int json_is_set(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v && !cJSON_IsNull(v) && !(cJSON_IsString(v) && !v->valuestring[0]) && !cJSON_IsFalse(v);
}

/* Reads the component settings; the model's own checks are in load_model. */
static krait_status load_components(krait_bpe *b, const cJSON *root)
{
    const char *path = b->path;
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (norm && !cJSON_IsNull(norm)) {
        const char *t = json_type_of(norm);
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(norm, "normalizers");
        if (t && !strcmp(t, "Sequence") && cJSON_GetArraySize(list) == 1)
            t = json_type_of(cJSON_GetArrayItem(list, 0));
        if (!t || strcmp(t, "NFC") != 0) {
            KRAIT_ERROR("%s: normalizer \"%s\" is not supported (only NFC or none)", path, t ? t : "?");
            return KRAIT_STATUS_UNSUPPORTED;
        }
        b->nfc = 1;
    }
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    const char *pt = pre ? json_type_of(pre) : NULL;
    if (pt && !strcmp(pt, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers");
        pre = cJSON_GetArraySize(list) == 1 ? cJSON_GetArrayItem(list, 0) : NULL;
        pt = pre ? json_type_of(pre) : "Sequence";
    }
    if (!pt || strcmp(pt, "ByteLevel") != 0) {
        KRAIT_ERROR("%s: pre_tokenizer \"%s\" is not supported (only ByteLevel)", path, pt ? pt : "none");
        return KRAIT_STATUS_UNSUPPORTED;
    }
    b->add_prefix_space = json_flag(pre, "add_prefix_space", 1);
    b->use_regex = json_flag(pre, "use_regex", 1);
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(root, "decoder");
    const char *dt = dec ? json_type_of(dec) : NULL;
    if (!dt || strcmp(dt, "ByteLevel") != 0) {
        KRAIT_ERROR("%s: decoder \"%s\" is not supported (only ByteLevel)", path, dt ? dt : "none");
        return KRAIT_STATUS_UNSUPPORTED;
    }
    const cJSON *post = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
    if (post && !cJSON_IsNull(post)) {
        const char *t = json_type_of(post);
        if (!t || strcmp(t, "ByteLevel") != 0) {
            KRAIT_ERROR("%s: post_processor \"%s\" is not supported (only ByteLevel or none: krait adds no "
                        "tokens around the text)", path, t ? t : "?");
            return KRAIT_STATUS_UNSUPPORTED;
        }
    }
    return KRAIT_STATUS_OK;
}

/* One string of a merge: "a b" (legacy) or ["a", "b"]. */
static int merge_parts(const cJSON *m, const char **a, size_t *na, const char **bb, size_t *nb)
{
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring, *sp = strchr(s, ' ');
        if (!sp || strchr(sp + 1, ' '))
            return 0;
        *a = s, *na = (size_t)(sp - s), *bb = sp + 1, *nb = strlen(sp + 1);
        return 1;
    }
    if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2) {
        const cJSON *x = cJSON_GetArrayItem(m, 0), *y = cJSON_GetArrayItem(m, 1);
        if (!cJSON_IsString(x) || !cJSON_IsString(y))
            return 0;
        *a = x->valuestring, *na = strlen(x->valuestring), *bb = y->valuestring, *nb = strlen(y->valuestring);
        return 1;
    }
    return 0;
}

/* Builds ids, strings, decoded forms, the string table, the added tokens and the merges. */
static krait_status load_model(krait_bpe *b, const cJSON *root)
{
    const char *path = b->path;
    krait_status st = KRAIT_STATUS_BAD_INPUT;
    const char **strs = NULL;  /* id -> string inside the JSON tree */
    char *mergebuf = NULL;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const char *mt = model ? json_type_of(model) : NULL;
    if (mt && strcmp(mt, "BPE") != 0) { /* a "model" object is there (checked on load) */
        KRAIT_ERROR("%s: model \"%s\" is not supported (only BPE)", path, mt);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if ((cJSON_IsNumber(dropout) && dropout->valuedouble > 0) || json_is_set(model, "continuing_subword_prefix") ||
        json_is_set(model, "end_of_word_suffix")) {
        KRAIT_ERROR("%s: model.dropout, continuing_subword_prefix and end_of_word_suffix are not supported", path);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    b->ignore_merges = json_flag(model, "ignore_merges", 0);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges)) {
        KRAIT_ERROR("%s: model.vocab (an object) and model.merges (an array) are required", path);
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (added && !cJSON_IsNull(added) && !cJSON_IsArray(added)) {
        KRAIT_ERROR("%s: added_tokens must be an array", path);
        return KRAIT_STATUS_BAD_INPUT;
    }
    /* ids */
    int n_ids = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e8 || e->valuedouble != (int)e->valuedouble) {
            KRAIT_ERROR("%s: model.vocab[\"%s\"] must be an id (a non-negative integer)", path, e->string);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (e->valueint + 1 > n_ids)
            n_ids = e->valueint + 1;
    }
    int n_added = cJSON_GetArraySize(added);
    int ai = 0;
    cJSON_ArrayForEach(e, added) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 1e8 ||
            id->valuedouble != (int)id->valuedouble || !cJSON_IsString(c) || !c->valuestring[0]) {
            KRAIT_ERROR("%s: added_tokens[%d] needs an \"id\" (a non-negative integer) and a non-empty \"content\"",
                        path, ai);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (id->valueint + 1 > n_ids)
            n_ids = id->valueint + 1;
        ai++;
    }
    b->n_ids = n_ids;
    strs = calloc((size_t)n_ids + 1, sizeof *strs);
    b->str_off = calloc((size_t)n_ids + 1, sizeof *b->str_off);
    b->dec_off = calloc((size_t)n_ids + 1, sizeof *b->dec_off);
    b->str_len = malloc(((size_t)n_ids + 1) * sizeof *b->str_len);
    b->dec_len = malloc(((size_t)n_ids + 1) * sizeof *b->dec_len);
    b->added = calloc((size_t)n_added + 1, sizeof *b->added);
    if (!strs || !b->str_off || !b->dec_off || !b->str_len || !b->dec_len || !b->added)
        goto oom;
    cJSON_ArrayForEach(e, vocab) strs[e->valueint] = e->string;
    /* Added tokens name their id's string (HF's id_to_token asks them first). */
    cJSON_ArrayForEach(e, added) strs[cJSON_GetObjectItemCaseSensitive(e, "id")->valueint] =
        cJSON_GetObjectItemCaseSensitive(e, "content")->valuestring;
    size_t total = 0;
    for (int i = 0; i < n_ids; i++)
        total += strs[i] ? 2 * strlen(strs[i]) : 0;
    b->arena = malloc(total + 1);
    if (!b->arena)
        goto oom;
    int16_t inv[0x144];
    for (int cp = 0; cp < 0x144; cp++)
        inv[cp] = -1;
    for (int by = 0; by < 256; by++)
        inv[krait_bpe_byte_char(by)] = (int16_t)by;
    size_t off = 0;
    for (int i = 0; i < n_ids; i++) {
        if (!strs[i]) {
            b->str_len[i] = b->dec_len[i] = -1;
            continue;
        }
        size_t l = strlen(strs[i]);
        b->str_off[i] = (uint32_t)off;
        b->str_len[i] = (int32_t)l;
        memcpy(b->arena + off, strs[i], l);
        off += l;
        b->dec_off[i] = (uint32_t)off;
        b->dec_len[i] = (int32_t)decode_token(inv, strs[i], l, b->arena + off);
        off += (size_t)b->dec_len[i];
    }
    /* The string table: the vocab's own strings first (merges refer to them), added tokens later. */
    b->str_mask = pow2_at_least(2 * (size_t)n_ids) - 1;
    b->str_table = malloc((b->str_mask + 1) * sizeof *b->str_table);
    if (!b->str_table)
        goto oom;
    memset(b->str_table, 0xff, (b->str_mask + 1) * sizeof *b->str_table);
    cJSON_ArrayForEach(e, vocab) {
        if (strs[e->valueint] != e->string) /* its id was taken by an added token */
            continue;
        str_insert(b, e->valueint);
    }
    for (int by = 0; by < 256; by++) {
        uint32_t cp = krait_bpe_byte_char(by);
        char u[3];
        size_t ul = 1;
        if (cp < 0x80)
            u[0] = (char)cp;
        else
            u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), ul = 2;
        /* GPT-NeoX lacks the bytes that never occur in UTF-8 (0xC0, 0xC1, 0xF5..0xFF): fine,
         * since encode takes only valid UTF-8. All others are needed. */
        b->byte_id[by] = krait_bpe_lookup(b, u, ul);
        if (b->byte_id[by] < 0 && (by < 0xC0 || (by >= 0xC2 && by < 0xF5))) {
            KRAIT_ERROR("%s: model.vocab lacks the byte-level token of byte 0x%02x (not a byte-level BPE?)", path, by);
            goto fail;
        }
    }
    /* merges: rank = index in the list */
    int n_merges = cJSON_GetArraySize(merges);
    b->merge_mask = pow2_at_least(2 * (size_t)n_merges + 2) - 1;
    b->merges = malloc((b->merge_mask + 1) * sizeof *b->merges);
    size_t mcap = 256;
    mergebuf = malloc(mcap);
    if (!b->merges || !mergebuf)
        goto oom;
    memset(b->merges, 0xff, (b->merge_mask + 1) * sizeof *b->merges);
    int rank = 0;
    cJSON_ArrayForEach(e, merges) {
        const char *l, *r;
        size_t nl, nr;
        if (!merge_parts(e, &l, &nl, &r, &nr)) {
            KRAIT_ERROR("%s: model.merges[%d] must be \"left right\" or [\"left\", \"right\"]", path, rank);
            goto fail;
        }
        if (nl + nr > mcap) {
            mcap = 2 * (nl + nr);
            char *p = realloc(mergebuf, mcap);
            if (!p)
                goto oom;
            mergebuf = p;
        }
        memcpy(mergebuf, l, nl);
        memcpy(mergebuf + nl, r, nr);
        int32_t il = krait_bpe_lookup(b, l, nl), ir = krait_bpe_lookup(b, r, nr);
        int32_t im = krait_bpe_lookup(b, mergebuf, nl + nr);
        if (il < 0 || ir < 0 || im < 0) {
            KRAIT_ERROR("%s: model.merges[%d] (\"%.*s\" + \"%.*s\") uses or makes a token not in model.vocab", path,
                        rank, (int)nl, l, (int)nr, r);
            goto fail;
        }
        merge_insert(b, il, ir, rank, im);
        rank++;
    }
    /* added tokens */
    cJSON_ArrayForEach(e, added) {
        krait_bpe_added *a = &b->added[b->n_added++];
        a->id = cJSON_GetObjectItemCaseSensitive(e, "id")->valueint;
        a->content = strdup(cJSON_GetObjectItemCaseSensitive(e, "content")->valuestring); /* owned */
        if (!a->content)
            goto oom;
        a->special = (uint8_t)json_flag(e, "special", 0);
        a->normalized = (uint8_t)json_flag(e, "normalized", !a->special);
        a->lstrip = (uint8_t)json_flag(e, "lstrip", 0);
        a->rstrip = (uint8_t)json_flag(e, "rstrip", 0);
        a->single_word = (uint8_t)json_flag(e, "single_word", 0);
        /* HF gives an added token whose content the vocab has the vocab's id (with a warning); files
         * HF writes are consistent, so krait keeps the file's id and says so. */
        int32_t v = krait_bpe_lookup(b, a->content, strlen(a->content));
        if (v >= 0 && v != a->id)
            KRAIT_WARN("%s: added token %d (\"%s\") is also token %d; HF would use %d", path, a->id, a->content, v, v);
        str_insert(b, a->id);
    }
    free(strs);
    free(mergebuf);
    return KRAIT_STATUS_OK;
oom:
    KRAIT_ERROR("%s: out of memory loading the tokenizer", path);
    st = KRAIT_STATUS_NO_MEMORY;
fail:
    free(strs);
    free(mergebuf);
    return st;
}

static int by_length_desc(const void *x, const void *y)
{
    const krait_bpe_added *a = *(const krait_bpe_added *const *)x, *c = *(const krait_bpe_added *const *)y;
    if (a->len != c->len)
        return a->len < c->len ? 1 : -1;
    return a->id < c->id ? -1 : a->id > c->id;
}

/* The two matching sets; normalized contents are replaced by their NFC form. */
static krait_status build_added_sets(krait_bpe *b)
{
    b->raw.tok = calloc((size_t)b->n_added + 1, sizeof *b->raw.tok);
    b->norm.tok = calloc((size_t)b->n_added + 1, sizeof *b->norm.tok);
    if (!b->raw.tok || !b->norm.tok)
        return KRAIT_STATUS_NO_MEMORY;
    for (int i = 0; i < b->n_added; i++) {
        krait_bpe_added *a = &b->added[i];
        char *copy = a->content;
        size_t cn = strlen(copy);
        if (a->normalized && b->nfc) {
            char *nfc = NULL;
            krait_status st = krait_bpe_nfc(copy, cn, &nfc, &cn);
            if (st != KRAIT_STATUS_OK) {
                KRAIT_ERROR("%s: added token %d is not valid UTF-8", b->path, a->id);
                return st;
            }
            free(copy);
            a->content = copy = nfc;
        }
        a->len = cn;
        if (cn == 0)
            continue;
        krait_bpe_added_set *set = a->normalized ? &b->norm : &b->raw;
        set->tok[set->n++] = a;
        unsigned b0 = (unsigned char)copy[0];
        set->first[b0] = 1;
        if (cn == 1) {
            set->one[b0] = 1;
        } else {
            unsigned bit = b0 << 8 | (unsigned char)copy[1];
            set->pair[bit >> 3] |= (uint8_t)(1u << (bit & 7));
        }
    }
    qsort(b->raw.tok, (size_t)b->raw.n, sizeof *b->raw.tok, by_length_desc);
    qsort(b->norm.tok, (size_t)b->norm.n, sizeof *b->norm.tok, by_length_desc);
    return KRAIT_STATUS_OK;
}

krait_status krait_bpe_load(const char *path, krait_tokenizer *tok)
{
    krait_status st = KRAIT_STATUS_OK;
    char *text = krait_fs_read_text(path, MAX_TOKENIZER_BYTES, &st);
    if (!text)
        return st;
    krait_bpe *b = calloc(1, sizeof *b);
    cJSON *root = NULL;
    if (!b || !(b->path = strdup(path))) {
        st = KRAIT_STATUS_NO_MEMORY;
        goto fail;
    }
    const char *end = NULL;
    root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        const char *err = end ? end : cJSON_GetErrorPtr();
        int line = 1, col = 1;
        for (const char *p = text; err && p < err && *p; p++) {
            if (*p == '\n')
                line++, col = 1;
            else
                col++;
        }
        KRAIT_ERROR("%s: malformed JSON at line %d, column %d", path, line, col);
        st = KRAIT_STATUS_BAD_INPUT;
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        KRAIT_ERROR("%s: a tokenizer.json must be a JSON object", path);
        st = KRAIT_STATUS_BAD_INPUT;
        goto fail;
    }
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "model"))) { /* some other JSON file */
        KRAIT_ERROR("%s: not a HuggingFace tokenizer.json (no \"model\" object)", path);
        st = KRAIT_STATUS_BAD_INPUT;
        goto fail;
    }
    if ((st = load_components(b, root)) != KRAIT_STATUS_OK || (st = load_model(b, root)) != KRAIT_STATUS_OK)
        goto fail;
    if ((st = build_added_sets(b)) != KRAIT_STATUS_OK)
        goto fail;
    if ((st = krait_bpe_regex_init(b)) != KRAIT_STATUS_OK)
        goto fail;
    cJSON_Delete(root);
    free(text);
    tok->bpe = b;
    tok->vocab = b->n_ids;
    tok->eos = krait_bpe_lookup(b, "<|endoftext|>", 13);
    return KRAIT_STATUS_OK;
fail:
    if (st == KRAIT_STATUS_NO_MEMORY)
        KRAIT_ERROR("%s: out of memory loading the tokenizer", path);
    cJSON_Delete(root);
    free(text);
    krait_bpe_free(b);
    return st;
}

void krait_bpe_free(krait_bpe *b)
{
    if (!b)
        return;
    krait_bpe_regex_free(b);
    for (int i = 0; i < b->n_added; i++)
        free(b->added[i].content);
    free(b->added);
    free(b->raw.tok);
    free(b->norm.tok);
    free(b->merges);
    free(b->str_table);
    free(b->arena);
    free(b->str_off);
    free(b->dec_off);
    free(b->str_len);
    free(b->dec_len);
    free(b->path);
    free(b);
}

int krait_bpe_token_id(const krait_bpe *b, const char *token)
{
    return krait_bpe_lookup(b, token, strlen(token));
}

int krait_bpe_is_added(const krait_bpe *b, int id)
{
    for (int i = 0; i < b->n_added; i++)
        if (b->added[i].id == id) return 1;
    return 0;
}

int krait_bpe_has_id(const krait_bpe *b, int id)
{
    return id >= 0 && id < b->n_ids && b->dec_len[id] >= 0;
}

krait_status krait_bpe_decode(const krait_bpe *b, const int32_t *ids, size_t n_ids, char **out, size_t *n,
                              size_t *cap)
{
    for (size_t i = 0; i < n_ids; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= b->n_ids) {
            KRAIT_ERROR("token id %d at position %zu is outside the vocabulary (0..%d)", (int)id, i, b->n_ids - 1);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (b->dec_len[id] < 0) { /* inside the range, but the tokenizer.json gives it no token */
            KRAIT_ERROR("token id %d at position %zu has no token in the tokenizer (a gap in its ids)", (int)id, i);
            return KRAIT_STATUS_BAD_INPUT;
        }
        size_t l = (size_t)b->dec_len[id];
        krait_status st = krait_tok_reserve((void **)out, cap, *n + l, 1);
        if (st != KRAIT_STATUS_OK)
            return st;
        memcpy(*out + *n, b->arena + b->dec_off[id], l);
        *n += l;
    }
    return KRAIT_STATUS_OK;
}
