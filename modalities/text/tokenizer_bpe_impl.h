/* modalities/text/tokenizer_bpe_impl.h — the loaded HF byte-level BPE tokenizer, shared by
 * tokenizer_bpe.c (loading tokenizer.json, lookups, decoding) and tokenizer_bpe_encode.c (the
 * encode pipeline). Not a public header. Read-only after load. */
#ifndef KRAIT_TOKENIZER_BPE_IMPL_H
#define KRAIT_TOKENIZER_BPE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer_impl.h"

/* One added token ("added_tokens" in tokenizer.json). */
typedef struct krait_bpe_added {
    char *content;        /* as matched: NFC-normalised when `normalized` and the normalizer is NFC */
    size_t len;
    int32_t id;
    uint8_t special, normalized, lstrip, rstrip, single_word;
} krait_bpe_added;

/* The added tokens matched in one pass, longest first (leftmost-longest matching). */
typedef struct krait_bpe_added_set {
    const krait_bpe_added **tok;
    int n;
    uint8_t first[256];   /* 1 if some token starts with this byte */
    uint8_t one[256];     /* 1 if a one-byte token is this byte */
    uint8_t pair[8192];   /* bit (b0 << 8 | b1): some token starts with the bytes b0 b1 */
} krait_bpe_added_set;

/* Merge table entry: the pair (left id, right id) -> (rank, merged id). key UINT64_MAX = empty. */
typedef struct krait_bpe_merge {
    uint64_t key;         /* (uint64_t)left << 32 | right */
    int32_t rank;
    int32_t id;
} krait_bpe_merge;

struct krait_bpe {
    char *path;
    int n_ids;                  /* largest id + 1 */
    /* id -> token string as written in tokenizer.json (byte-level form for model tokens) and
     * id -> decoded bytes; both in one arena; len -1 = no token has this id. */
    char *arena;
    uint32_t *str_off, *dec_off;
    int32_t *str_len, *dec_len;
    /* string -> id, open addressing over ids (-1 = empty); added tokens win over the vocab */
    int32_t *str_table;
    size_t str_mask;
    /* merges */
    krait_bpe_merge *merges;
    size_t merge_mask;
    int32_t byte_id[256];       /* the id of each byte's one-character token; -1 for bytes never in UTF-8 */
    /* added tokens */
    krait_bpe_added *added;
    int n_added;
    krait_bpe_added_set raw;    /* normalized: false, matched on the raw text */
    krait_bpe_added_set norm;   /* normalized: true, matched on the normalised text */
    /* options from tokenizer.json */
    int nfc;                    /* normalizer NFC (else none) */
    int add_prefix_space;       /* ByteLevel pre-tokenizer */
    int use_regex;              /* ByteLevel pre-tokenizer */
    int ignore_merges;          /* BPE model */
    /* the ByteLevel regex (pcre2_code *), compiled at load */
    void *re;
    int re_jit;
};

/* The merge of (left, right), or NULL. */
const krait_bpe_merge *krait_bpe_merge_find(const krait_bpe *b, int32_t left, int32_t right);
/* The id of a string of n bytes (added tokens first, then the vocab), or -1. */
int32_t krait_bpe_lookup(const krait_bpe *b, const char *s, size_t n);

/* The GPT-2 byte-to-unicode map: the code point standing for byte b in byte-level tokens. */
uint32_t krait_bpe_byte_char(int b);

/* Compile the ByteLevel pre-tokenizer regex into b->re (logs and fails if PCRE2 cannot). */
krait_status krait_bpe_regex_init(krait_bpe *b);
void krait_bpe_regex_free(krait_bpe *b);

/* NFC of n bytes of valid UTF-8 into a malloc'd buffer (*out, *out_n); NULL-free on failure. */
krait_status krait_bpe_nfc(const char *s, size_t n, char **out, size_t *out_n);

#endif /* KRAIT_TOKENIZER_BPE_IMPL_H */
