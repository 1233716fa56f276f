/* modalities/text/tokenizer_impl.h — the tokenizer handle, shared by tokenizer.c (bytes, the
 * dispatch) and tokenizer_bpe.c (HF byte-level BPE). Not a public header. */
#ifndef KRAIT_TOKENIZER_IMPL_H
#define KRAIT_TOKENIZER_IMPL_H

#include "tokenizer.h"

typedef struct krait_bpe krait_bpe;  /* tokenizer_bpe.c */

struct krait_tokenizer {
    krait_tokenizer_kind kind;
    int vocab;            /* ids 0..vocab-1 */
    int eos;              /* or -1 */
    /* bytes: specials[i] is id 256 + i */
    char **specials;
    int n_special;
    /* bpe */
    krait_bpe *bpe;
};

krait_status krait_bpe_load(const char *path, krait_tokenizer *tok);
void krait_bpe_free(krait_bpe *bpe);
int krait_bpe_token_id(const krait_bpe *bpe, const char *token);
int krait_bpe_is_added(const krait_bpe *bpe, int id);
int krait_bpe_has_id(const krait_bpe *bpe, int id);
krait_status krait_bpe_encode(const krait_bpe *bpe, const char *text, size_t len, const char *what,
                              int32_t **ids, size_t *n, size_t *cap);
krait_status krait_bpe_decode(const krait_bpe *bpe, const int32_t *ids, size_t n_ids, char **out,
                              size_t *n, size_t *cap);

/* 1 when cutting s[0, n) before s[p] could change how its added tokens split the text (see
 * krait_tokenizer_cut_conflict). */
int krait_bpe_cut_conflict(const krait_bpe *bpe, const char *s, size_t n, size_t p);

/* Grow *buf to hold at least need elements of size elem (doubling). */
krait_status krait_tok_reserve(void **buf, size_t *cap, size_t need, size_t elem);

#endif /* KRAIT_TOKENIZER_IMPL_H */
