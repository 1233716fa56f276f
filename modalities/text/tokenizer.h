/* modalities/text/tokenizer.h — text <-> token ids.
 *
 * Two kinds behind one handle:
 *   bytes  ids 0..255 are the bytes of the text; optional special tokens (e.g. "<|endoftext|>")
 *          get the ids 256, 257, ... in the order given. Decoding is exact for any input.
 *   bpe    a HuggingFace tokenizer.json with byte-level BPE (GPT-NeoX-20B, the tokenizer of the
 *          pretrained Mamba LMs): NFC normalisation, added tokens, the pre-tokenizer regex,
 *          the byte-to-unicode map, merges by rank. Encodes exactly as HF tokenizers does.
 *
 * Invalid UTF-8 in the input of a bpe encode is an error (KRAIT_STATUS_BAD_INPUT, logged as
 * "<what>: invalid UTF-8 at byte N", N the offset of the first byte that does not start or continue
 * a valid sequence; overlong forms, surrogates and code points above U+10FFFF are invalid), and no
 * ids are appended. HF tokenizers takes only Rust strings, so it has no behaviour to match here;
 * refusing is safer than guessing (lossy U+FFFD replacement would change the text silently). The
 * bytes tokenizer takes any bytes. Library code: reports through krait_log, never prints or exits.
 * A tokenizer is read-only after load and may be shared between threads. */
#ifndef KRAIT_TOKENIZER_H
#define KRAIT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_tokenizer krait_tokenizer;

typedef enum krait_tokenizer_kind {
    KRAIT_TOKENIZER_BYTES = 0,
    KRAIT_TOKENIZER_BPE = 1
} krait_tokenizer_kind;

/* The byte tokenizer with n_special special tokens (ids 256 + i); specials may be NULL if 0. */
krait_status krait_tokenizer_bytes(const char *const *specials, int n_special, krait_tokenizer **out);
/* A HF tokenizer.json. Errors name the file and the problem. */
krait_status krait_tokenizer_load(const char *path, krait_tokenizer **out);
/* "bytes" -> the byte tokenizer with "<|endoftext|>" as id 256; anything else -> load(path). */
krait_status krait_tokenizer_open(const char *spec, krait_tokenizer **out);
void krait_tokenizer_free(krait_tokenizer *tok);

struct krait_config;
/* The tokenizer of the model folder dir whose config is cfg, as every krait-text command finds
 * it: dir/tokenizer.json when there is one, else the byte tokenizer for a byte-level config
 * (vocab_size_raw 256, or 257 and up with "<|endoftext|>" = 256). It must not know more ids than
 * the model has rows, added tokens aside (text using one of those is refused where it is
 * encoded); when it knows fewer, cfg->vocab_size_raw is lowered to its count, so the model's
 * padding rows are never scored or sampled (krait_model_vocab_used): pass the loaded model's
 * own &model->cfg, not a copy. BAD_INPUT with one logged
 * line when the folder has no usable tokenizer or it does not fit the model. */
krait_status krait_tokenizer_for_model(krait_tokenizer **out, const char *dir, struct krait_config *cfg);
/* The least vocab_size a model needs for tok: every id past it must be an added token (the shared
 * GPT-NeoX file adds the specials 50277..50280 to the 50280 ids of mamba-*-hf). */
int krait_tokenizer_min_vocab(const krait_tokenizer *tok);

/* Decoded bytes as a JSON string literal, quotes included (malloc'd; NULL when out of memory):
 * valid UTF-8 as it is, '"' '\\' and control bytes escaped (NUL as \u0000, so nothing is cut
 * off), and each byte of an invalid UTF-8 sequence (a byte model can stop mid-character) as
 * \ufffd, so that the JSON is always valid. For cJSON_CreateRaw. */
char *krait_text_json_literal(const char *s, size_t n);

krait_tokenizer_kind krait_tokenizer_kind_of(const krait_tokenizer *tok);
/* For reading a text in pieces (textsrc.h's cut guard; tok is a const krait_tokenizer *): 1 when
 * a cut of s[0, n) before s[p] could change how the tokenizer's own tokens split the text. BPE:
 * an added token's occurrence (or the start of one cut off at n) spans p or starts at p or p + 1,
 * or an lstrip/rstrip one would take white space across p (matched on the raw bytes: an
 * NFC-normalised added token written decomposed in the text is not seen). Bytes: a special
 * token's occurrence spans p. */
int krait_tokenizer_cut_conflict(const void *tok, const char *s, size_t n, size_t p);
/* Number of ids (largest id + 1, added tokens included: 50281 for the shared GPT-NeoX file). */
int krait_tokenizer_vocab_size(const krait_tokenizer *tok);
/* 1 when id is an added token (tokenizer.json's "added_tokens"; for bytes, the specials from
 * 256 on), else 0: the ids a model may lack rows for (text_model_tokenizer). */
int krait_tokenizer_is_added(const krait_tokenizer *tok, int id);
/* 1 when id decodes to a token, else 0: outside [0, vocab size), or in a gap of a tokenizer.json's
 * ids (an added token past the end leaves the ids between without a token). */
int krait_tokenizer_has_id(const krait_tokenizer *tok, int id);
/* The end-of-text id ("<|endoftext|>" when present), or -1. */
int krait_tokenizer_eos(const krait_tokenizer *tok);
/* The id of a token's exact string (vocab or added tokens), or -1. */
int krait_tokenizer_token_id(const krait_tokenizer *tok, const char *token);

/* Encode len bytes of text, appending ids to *ids (realloc'd; *n ids, *cap capacity). Added /
 * special tokens in the text are recognised as HF does. Returns KRAIT_STATUS_BAD_INPUT on invalid
 * UTF-8 (bpe) with the offset logged, as "<what>: invalid UTF-8 at byte N". `what` names the
 * input in messages (a file name, "stdin", "prompt"); may be NULL. */
krait_status krait_tokenizer_encode(const krait_tokenizer *tok, const char *text, size_t len,
                                    const char *what, int32_t **ids, size_t *n, size_t *cap);

/* The offset of the first byte that is not part of valid UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or n when all n bytes are valid. */
size_t krait_utf8_invalid_at(const unsigned char *s, size_t n);

/* Decode ids to bytes, appending to *out (realloc'd; *n bytes, *cap capacity; not NUL-terminated).
 * An id out of range is KRAIT_STATUS_BAD_INPUT. Byte-level BPE pieces are concatenated as bytes, so
 * decoding one id at a time and concatenating gives the same bytes as decoding all at once. */
krait_status krait_tokenizer_decode(const krait_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                    char **out, size_t *n, size_t *cap);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_TOKENIZER_H */
