/* modalities/text/tokenizer_bpe_encode.c — HF byte-level BPE encoding, step for step as HF
 * tokenizers does it (tokenizer/added_vocabulary.rs, pre_tokenizers/byte_level.rs,
 * models/bpe/word.rs):
 *
 *   1. the text must be valid UTF-8 (else KRAIT_STATUS_BAD_INPUT, "<what>: invalid UTF-8 at byte N");
 *   2. added tokens with normalized: false (e.g. "<|endoftext|>") are cut out of the raw text,
 *      leftmost-longest, with their single_word / lstrip / rstrip flags;
 *   3. each piece between them is NFC-normalised (utf8proc), then the normalized: true added tokens
 *      (GPT-NeoX's runs of 2..24 spaces) are cut out of it the same way;
 *   4. each remaining piece gets a leading space if add_prefix_space asks, and is split by the GPT-2
 *      regex (PCRE2, UTF + UCP, JIT when available) into words, every match its own word;
 *   5. each word's bytes start as one symbol each (the byte-to-unicode map's tokens) and the
 *      adjacent pair of lowest merge rank, leftmost on ties, is merged until none is left (a heap of
 *      candidate merges with stale entries skipped, as HF's Word::merge_all).
 *
 * NFC runs only over the stretches around code points >= U+0300 (see raw_piece), and inputs from
 * 4 KB keep a per-call cache of encoded words; neither changes a result.
 *
 * The regex's \s is Oniguruma's (HF's regex engine): Unicode White_Space, U+0085 included. PCRE2's
 * \s with PCRE2_UCP, as compiled here, matches U+0085 as well (checked with PCRE2 10.42); without
 * UCP it would not, so the pattern spells [\s\x{85}] out and the class is White_Space either way.
 * Not here: offsets, truncation, padding, BPE dropout (refused at load). */
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include "log.h"
#include "tokenizer_bpe_impl.h"

/* HF's ByteLevel pattern with Oniguruma's \s (White_Space; the \x{85} is for a PCRE2 \s without UCP). */
static const char BYTELEVEL_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\x{85}\\p{L}\\p{N}]+"
    "|[\\s\\x{85}]+(?![^\\s\\x{85}])|[\\s\\x{85}]+";

krait_status krait_bpe_regex_init(krait_bpe *b)
{
    int err = 0;
    PCRE2_SIZE erroff = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)BYTELEVEL_PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                   &err, &erroff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        KRAIT_ERROR("%s: the pre-tokenizer regex does not compile with this PCRE2 (%s at %zu)", b->path,
                    (const char *)msg, (size_t)erroff);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    b->re = re;
    b->re_jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
    return KRAIT_STATUS_OK;
}

void krait_bpe_regex_free(krait_bpe *b)
{
    pcre2_code_free(b->re);
    b->re = NULL;
}

krait_status krait_bpe_nfc(const char *s, size_t n, char **out, size_t *out_n)
{
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (r < 0) {
        *out = NULL;
        return r == UTF8PROC_ERROR_NOMEM ? KRAIT_STATUS_NO_MEMORY : KRAIT_STATUS_BAD_INPUT;
    }
    *out = (char *)dst;
    *out_n = (size_t)r;
    return KRAIT_STATUS_OK;
}

size_t krait_utf8_invalid_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        unsigned c = s[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;  /* range of the second byte */
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        else
            return i;
        if (i + need >= n)
            return i;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += need + 1;
    }
    return n;
}

/* ---- the per-call state ------------------------------------------------------------------ */

typedef struct sym {
    int32_t id;
    int32_t prev, next;  /* -1 at the ends */
    int32_t len;         /* 0 = merged into its left neighbour */
} sym;

typedef struct cand {
    uint64_t key;        /* rank << 32 | position: the heap's order */
    int32_t id;          /* the merged id */
} cand;

/* A direct-mapped cache of encoded words for long inputs (words repeat: HF keeps one too). Only
 * an optimisation: a word's ids do not depend on what is around it. */
#define CACHE_WORD 22
#define CACHE_IDS 8
#define CACHE_SLOTS 8192
#define CACHE_MIN_INPUT 4096  /* bytes of input from which a call keeps a cache */
typedef struct cache_slot {
    uint8_t wlen, nid;        /* wlen 0 = empty */
    char w[CACHE_WORD];
    int32_t ids[CACHE_IDS];
} cache_slot;

typedef struct enc {
    const krait_bpe *b;
    const char *what;
    int32_t **ids;
    size_t *n, *cap;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jstack;
    sym *syms;
    cand *heap;
    size_t word_cap;     /* syms hold word_cap, heap 3 * word_cap */
    char *buf;           /* add_prefix_space copies */
    size_t buf_cap;
    int logged;          /* a failure has been reported */
    cache_slot *cache;   /* CACHE_SLOTS, or NULL */
} enc;

static krait_status emit(enc *e, int32_t id)
{
    krait_status st = krait_tok_reserve((void **)e->ids, e->cap, *e->n + 1, sizeof **e->ids);
    if (st == KRAIT_STATUS_OK)
        (*e->ids)[(*e->n)++] = id;
    return st;
}

static void heap_push(cand *h, size_t *hn, cand c)
{
    size_t i = (*hn)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p].key <= c.key)
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static cand heap_pop(cand *h, size_t *hn)
{
    cand top = h[0], last = h[--*hn];
    size_t n = *hn, i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        cand best = last;
        if (l < n && h[l].key < best.key)
            m = l, best = h[l];
        if (l + 1 < n && h[l + 1].key < best.key)
            m = l + 1;
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    if (n > 0)
        h[i] = last;
    return top;
}

static void push_pair(const krait_bpe *b, cand *h, size_t *hn, const sym *s, int32_t pos)
{
    const krait_bpe_merge *m = krait_bpe_merge_find(b, s[pos].id, s[s[pos].next].id);
    if (m)
        heap_push(h, hn, (cand){ (uint64_t)(uint32_t)m->rank << 32 | (uint32_t)pos, m->id });
}

static krait_status bpe_merge_word(enc *e, const unsigned char *w, size_t m);

/* BPE of one word (its raw bytes): appends its ids, through the cache when there is one. */
static krait_status bpe_word(enc *e, const unsigned char *w, size_t m)
{
    if (m == 1)
        return emit(e, e->b->byte_id[w[0]]);
    if (!e->cache || m > CACHE_WORD)
        return bpe_merge_word(e, w, m);
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < m; i++)
        h = (h ^ w[i]) * 16777619u;
    cache_slot *c = &e->cache[(h ^ (h >> 15)) & (CACHE_SLOTS - 1)];
    if (c->wlen == m && memcmp(c->w, w, m) == 0) {
        krait_status st = krait_tok_reserve((void **)e->ids, e->cap, *e->n + c->nid, sizeof **e->ids);
        if (st != KRAIT_STATUS_OK)
            return st;
        memcpy(*e->ids + *e->n, c->ids, c->nid * sizeof **e->ids);
        *e->n += c->nid;
        return KRAIT_STATUS_OK;
    }
    size_t before = *e->n;
    krait_status st = bpe_merge_word(e, w, m);
    size_t k = *e->n - before;
    if (st == KRAIT_STATUS_OK && k <= CACHE_IDS) {
        c->wlen = (uint8_t)m;
        c->nid = (uint8_t)k;
        memcpy(c->w, w, m);
        memcpy(c->ids, *e->ids + before, k * sizeof **e->ids);
    }
    return st;
}

/* BPE of one word by merges (HF's Word::merge_all). */
static krait_status bpe_merge_word(enc *e, const unsigned char *w, size_t m)
{
    const krait_bpe *b = e->b;
    if (m == 1)
        return emit(e, b->byte_id[w[0]]);
    krait_status st = krait_tok_reserve((void **)e->ids, e->cap, *e->n + m, sizeof **e->ids);
    if (st != KRAIT_STATUS_OK)
        return st;
    if (b->ignore_merges) {
        /* The word's byte-level string: at most two UTF-8 bytes per byte. */
        if ((st = krait_tok_reserve((void **)&e->buf, &e->buf_cap, 2 * m, 1)) != KRAIT_STATUS_OK)
            return st;
        size_t k = 0;
        for (size_t i = 0; i < m; i++) {
            uint32_t cp = krait_bpe_byte_char(w[i]);
            if (cp < 0x80)
                e->buf[k++] = (char)cp;
            else
                e->buf[k++] = (char)(0xC0 | (cp >> 6)), e->buf[k++] = (char)(0x80 | (cp & 0x3F));
        }
        int32_t id = krait_bpe_lookup(b, e->buf, k);
        if (id >= 0)
            return emit(e, id);
    }
    if (m > e->word_cap) {
        size_t c = e->word_cap ? e->word_cap : 64;
        while (c < m)
            c *= 2;
        sym *s = realloc(e->syms, c * sizeof *s);
        if (s)
            e->syms = s;
        cand *h = realloc(e->heap, 3 * c * sizeof *h);
        if (h)
            e->heap = h;
        if (!s || !h)
            return KRAIT_STATUS_NO_MEMORY;
        e->word_cap = c;
    }
    if (m > INT32_MAX / 2) {
        KRAIT_ERROR("%s: a word of %zu bytes is too long to encode", e->what, m);
        e->logged = 1;
        return KRAIT_STATUS_BAD_INPUT;
    }
    sym *s = e->syms;
    cand *h = e->heap;
    size_t hn = 0;
    /* byte_id is -1 only for bytes that valid UTF-8 never holds (checked before encoding). */
    for (size_t i = 0; i < m; i++)
        s[i] = (sym){ b->byte_id[w[i]], (int32_t)i - 1, i + 1 < m ? (int32_t)i + 1 : -1, 1 };
    for (size_t i = 0; i + 1 < m; i++)
        push_pair(b, h, &hn, s, (int32_t)i);
    while (hn > 0) {
        cand top = heap_pop(h, &hn);
        int32_t pos = (int32_t)(uint32_t)top.key;
        if (s[pos].len == 0 || s[pos].next < 0)
            continue;
        int32_t nx = s[pos].next;
        const krait_bpe_merge *cur = krait_bpe_merge_find(b, s[pos].id, s[nx].id);
        if (!cur || cur->id != top.id)  /* stale: the pair changed since it was queued */
            continue;
        s[pos].id = top.id;
        s[pos].len += s[nx].len;
        s[pos].next = s[nx].next;
        s[nx].len = 0;
        if (s[pos].next >= 0)
            s[s[pos].next].prev = pos;
        if (s[pos].prev >= 0)
            push_pair(b, h, &hn, s, s[pos].prev);
        if (s[pos].next >= 0)
            push_pair(b, h, &hn, s, pos);
    }
    for (int32_t i = 0; i >= 0; i = s[i].next)
        (*e->ids)[(*e->n)++] = s[i].id;
    return KRAIT_STATUS_OK;
}

/* Step 4: the pre-tokenizer on one piece of normalised text. */
static krait_status pretokenize(enc *e, const char *p, size_t n)
{
    const krait_bpe *b = e->b;
    krait_status st;
    if (n == 0)
        return KRAIT_STATUS_OK;
    if (b->add_prefix_space && p[0] != ' ') {
        if ((st = krait_tok_reserve((void **)&e->buf, &e->buf_cap, n + 1, 1)) != KRAIT_STATUS_OK)
            return st;
        e->buf[0] = ' ';
        memcpy(e->buf + 1, p, n);
        p = e->buf;
        n++;
    }
    const unsigned char *u = (const unsigned char *)p;
    if (!b->use_regex)
        return bpe_word(e, u, n);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
    size_t off = 0;
    while (off < n) {
        int rc = b->re_jit ? pcre2_jit_match(b->re, u, n, off, 0, e->md, e->mctx)
                           : pcre2_match(b->re, u, n, off, PCRE2_NO_UTF_CHECK, e->md, e->mctx);
        if (rc == PCRE2_ERROR_NOMATCH)
            return bpe_word(e, u + off, n - off);
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            KRAIT_ERROR("%s: the pre-tokenizer regex failed in a piece of %zu bytes (PCRE2: %s)",
                        e->what, n, (const char *)msg);
            e->logged = 1;
            return KRAIT_STATUS_NO_MEMORY;
        }
        size_t s0 = ov[0], s1 = ov[1];
        if (s0 > off && (st = bpe_word(e, u + off, s0 - off)) != KRAIT_STATUS_OK)
            return st;
        if (s1 <= s0) /* cannot happen: every alternative matches at least one character */
            s1 = s0 + 1;
        if ((st = bpe_word(e, u + s0, s1 - s0)) != KRAIT_STATUS_OK)
            return st;
        off = s1;
    }
    return KRAIT_STATUS_OK;
}

/* ---- added tokens ------------------------------------------------------------------------ */

/* The code point at s[i] (valid UTF-8) and its length; and the one ending at s[i] exclusive. */
static int32_t cp_at(const char *s, size_t n, size_t i, size_t *len)
{
    utf8proc_int32_t cp = -1;
    utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
    *len = l > 0 ? (size_t)l : 1;
    return cp;
}
static int32_t cp_before(const char *s, size_t i, size_t *len)
{
    size_t j = i;
    while (j > 0 && ((unsigned char)s[j - 1] & 0xC0) == 0x80)
        j--;
    if (j > 0)
        j--;
    return cp_at(s, i, j, len);
}

/* Rust's char::is_whitespace (Unicode White_Space): Zs, Zl, Zp, U+0009..U+000D and U+0085. */
static int is_ws(int32_t cp)
{
    if ((cp >= 9 && cp <= 13) || cp == 0x85)
        return 1;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

/* A word character (\w): letters, marks, decimal and letter numbers, connector punctuation. */
static int is_word(int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ME) || c == UTF8PROC_CATEGORY_ND ||
           c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_PC;
}

/* The longest token of set that starts at s (n bytes left), or NULL. */
static const krait_bpe_added *added_at(const krait_bpe_added_set *set, const char *s, size_t n)
{
    for (int k = 0; k < set->n; k++) {
        const krait_bpe_added *t = set->tok[k];
        if (t->len <= n && t->content[0] == s[0] && (t->len < 2 || t->content[1] == s[1]) &&
            memcmp(t->content, s, t->len) == 0)
            return t;
    }
    return NULL;
}

typedef krait_status (*piece_fn)(enc *e, const char *p, size_t n);

/* HF's AddedVocabulary::find_matches + split: cuts set's tokens out of s, leftmost-longest,
 * without overlaps; the pieces between them go to gap(). A match refused by single_word still
 * consumes its span, as the Aho-Corasick iteration there does. An rstrip widens the match, not
 * the search: as in HF, whose matches are found before any stripping, a token that starts inside
 * the stripped spaces (a "  " token after "[R]  ") is still emitted, with no gap before it. */
static krait_status split_added(enc *e, const krait_bpe_added_set *set, const char *s, size_t n, piece_fn gap)
{
    krait_status st;
    size_t done = 0, i = 0;
    while (i < n && set->n > 0) {
        unsigned b0 = (unsigned char)s[i];
        if (!set->first[b0]) {
            i++;
            continue;
        }
        if (!set->one[b0]) { /* only longer tokens start with this byte: check the next one too */
            unsigned bit = i + 1 < n ? b0 << 8 | (unsigned char)s[i + 1] : 0;
            if (i + 1 >= n || !(set->pair[bit >> 3] & (1u << (bit & 7)))) {
                i++;
                continue;
            }
        }
        const krait_bpe_added *t = added_at(set, s + i, n - i);
        if (!t) {
            i++;
            continue;
        }
        size_t start = i, stop = i + t->len, l;
        i = stop;
        if (t->single_word) {
            int left_ok = start == 0 || !is_word(cp_before(s, start, &l));
            int right_ok = stop == n || !is_word(cp_at(s, n, stop, &l));
            if (!left_ok || !right_ok)
                continue;
        }
        if (t->lstrip) {
            size_t ns = start;
            while (ns > 0 && is_ws(cp_before(s, ns, &l)))
                ns -= l;
            start = ns > done ? ns : done;
        }
        if (t->rstrip)
            while (stop < n && is_ws(cp_at(s, n, stop, &l)))
                stop += l;
        if (start > done && (st = gap(e, s + done, start - done)) != KRAIT_STATUS_OK)
            return st;
        if ((st = emit(e, t->id)) != KRAIT_STATUS_OK)
            return st;
        done = stop;
    }
    return done < n ? gap(e, s + done, n - done) : KRAIT_STATUS_OK;
}

static krait_status normalized_piece(enc *e, const char *p, size_t n)
{
    return split_added(e, &e->b->norm, p, n, pretokenize);
}

/* Step 3 on one piece of raw text. NFC leaves text below U+0300 unchanged (no such character
 * decomposes, none combines with a preceding one), and an ASCII character is a starter that nothing
 * before it composes with, so NFC(x) is the concatenation of NFC over pieces cut just before ASCII
 * characters. Only the stretches around bytes >= 0xCC (lead bytes of U+0300 and up), from the ASCII
 * character before to the next one, go through utf8proc; mostly-ASCII text costs a scan. */
static krait_status raw_piece(enc *e, const char *p, size_t n)
{
    size_t i = 0;
    while (e->b->nfc && i < n && (unsigned char)p[i] < 0xCC)
        i++;
    if (!e->b->nfc || i == n)
        return normalized_piece(e, p, n);
    char *out = NULL, *nfc = NULL;
    size_t on = 0, ocap = 0, pos = 0, nn = 0;
    krait_status st = KRAIT_STATUS_OK;
    while (i < n) {
        size_t s0 = i, s1 = i;
        while (s0 > pos && (unsigned char)p[s0 - 1] >= 0x80)
            s0--;
        if (s0 > pos)
            s0--;  /* the ASCII character before, which may compose with what follows */
        while (s1 < n && (unsigned char)p[s1] >= 0x80)
            s1++;
        if ((st = krait_bpe_nfc(p + s0, s1 - s0, &nfc, &nn)) != KRAIT_STATUS_OK) {
            KRAIT_ERROR("%s: NFC normalisation failed (%s)", e->what,
                        st == KRAIT_STATUS_NO_MEMORY ? "out of memory" : "invalid UTF-8");
            e->logged = 1;
            goto done;
        }
        if ((st = krait_tok_reserve((void **)&out, &ocap, on + (s0 - pos) + nn, 1)) != KRAIT_STATUS_OK)
            goto done;
        memcpy(out + on, p + pos, s0 - pos);
        on += s0 - pos;
        memcpy(out + on, nfc, nn);
        on += nn;
        free(nfc);
        nfc = NULL;
        pos = i = s1;
        while (i < n && (unsigned char)p[i] < 0xCC)
            i++;
    }
    if ((st = krait_tok_reserve((void **)&out, &ocap, on + (n - pos), 1)) != KRAIT_STATUS_OK)
        goto done;
    memcpy(out + on, p + pos, n - pos);
    on += n - pos;
    st = normalized_piece(e, out, on);
done:
    free(nfc);
    free(out);
    return st;
}

krait_status krait_bpe_encode(const krait_bpe *b, const char *text, size_t len, const char *what,
                              int32_t **ids, size_t *n, size_t *cap)
{
    what = what ? what : "input";
    size_t bad = krait_utf8_invalid_at((const unsigned char *)text, len);
    if (bad < len) {
        KRAIT_ERROR("%s: invalid UTF-8 at byte %zu", what, bad);
        return KRAIT_STATUS_BAD_INPUT;
    }
    enc e = { .b = b, .what = what, .ids = ids, .n = n, .cap = cap };
    krait_status st = KRAIT_STATUS_NO_MEMORY;
    e.md = pcre2_match_data_create(1, NULL);
    e.mctx = pcre2_match_context_create(NULL);
    if (!e.md || !e.mctx)
        goto done;
    if (b->re_jit) {
        /* Room for backtracking over long runs of spaces. */
        e.jstack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
        if (!e.jstack)
            goto done;
        pcre2_jit_stack_assign(e.mctx, NULL, e.jstack);
    }
    if (len >= CACHE_MIN_INPUT && !(e.cache = calloc(CACHE_SLOTS, sizeof *e.cache)))
        goto done;
    st = split_added(&e, &b->raw, text, len, raw_piece);
done:
    if (st != KRAIT_STATUS_OK && !e.logged)
        KRAIT_ERROR("%s: out of memory while encoding", what);
    pcre2_jit_stack_free(e.jstack);
    pcre2_match_context_free(e.mctx);
    pcre2_match_data_free(e.md);
    free(e.syms);
    free(e.heap);
    free(e.buf);
    free(e.cache);
    return st;
}

/* An occurrence of t at s[q] (n bytes left), or the start of one that s[0, n) cuts off. */
static int could_match(const krait_bpe_added *t, const char *s, size_t n)
{
    return memcmp(t->content, s, t->len < n ? t->len : n) == 0;
}

int krait_bpe_cut_conflict(const krait_bpe *bpe, const char *s, size_t n, size_t p)
{
    size_t l;
    for (int k = 0; k < bpe->n_added; k++) {
        const krait_bpe_added *t = &bpe->added[k];
        /* one spanning p, or starting at p or just after it (the gap before it would end
         * otherwise: "\n " before a token is one pre-token, cut after the "\n" two) */
        for (size_t q = p + 1 >= t->len ? p + 1 - t->len : 0; q <= p + 1 && q < n; q++)
            if (could_match(t, s + q, n - q)) return 1;
        if (t->lstrip) { /* one after the white space that follows p would take it, across p */
            size_t q = p;
            while (q < n && is_ws(cp_at(s, n, q, &l))) q += l;
            if (q < n && could_match(t, s + q, n - q)) return 1;
        }
        if (t->rstrip) { /* one before the white space that precedes p would take it, across p */
            size_t q = p;
            while (q > 0 && is_ws(cp_before(s, q, &l))) q -= l;
            if (q >= t->len && !memcmp(t->content, s + q - t->len, t->len)) return 1;
        }
    }
    return 0;
}
