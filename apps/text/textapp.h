/* apps/text/textapp.h — the krait-text commands (one file each) and the little they share:
 * finding a model folder's tokenizer and reading a prepared data folder's meta.json. */
#ifndef KRAIT_TEXTAPP_H
#define KRAIT_TEXTAPP_H

#include "model.h"
#include "textsrc.h"
#include "tokenizer.h"

int text_cmd_prepare(int argc, char **argv);   /* prepare.c */
int text_cmd_train(int argc, char **argv);     /* train.c */
int text_cmd_generate(int argc, char **argv);  /* generate.c */
int text_cmd_eval(int argc, char **argv);      /* eval.c */

/* The tokenizer of a model folder: DIR/tokenizer.json when present; else the byte tokenizer
 * when config.json says "krait": {"tokenizer": "bytes"} or has vocab_size 256 or 257 (ids
 * 0..255 are bytes; with 257 or more ids, 256 is "<|endoftext|>", the EOS). Exits 2 with one
 * line when there is none or when its vocabulary does not fit the model's: ids past the
 * model's vocab_size are allowed only for added tokens (text_check_ids refuses text that uses
 * them). Narrows cfg->vocab_size_raw (the model folder's config) to a smaller tokenizer's vocabulary, so padded ids are
 * never sampled. */
krait_tokenizer *text_model_tokenizer(const char *model_dir, krait_config *cfg);
/* The least vocab_size a model needs for tok: every id past it must be an added token (the shared
 * GPT-NeoX file adds the specials 50277..50280 to the 50280 ids of mamba-*-hf). */
int text_tokenizer_min_vocab(const krait_tokenizer *tok);

/* A text source read for tok (prepare and eval read alike): where its pieces may be cut (the
 * byte tokenizer's special tokens) and whether they must be UTF-8 (BPE). tok outlives src. */
void text_source_setup(krait_textsrc *src, const krait_tokenizer *tok, const char *json_key);

/* Where checked ids came from: ids[first..) encode text[0, len), which starts on line `line`
 * (from 1; 0: not known) of path, at that line's start or not. */
typedef struct text_place {
    const char *path, *text;
    size_t len, first;
    long long line;
    int at_line_start;
} text_place;

/* "FILE:LINE[:COLUMN]" of the byte at off of pl's text, into buf. */
void text_place_at(char *buf, size_t cap, const text_place *pl, size_t off);

/* Exit 2 with one line (where, the token and its id) when an id is n_model or more: an added
 * token of the tokenizer that the model has no row for. With place (may be NULL), the line
 * names the file's line and column ("FILE:LINE:COLUMN: token ..."; the column only when the
 * line starts inside the text or the text starts a line), else it begins with where. */
void text_check_ids(const krait_tokenizer *tok, const int32_t *ids, size_t n, int n_model, const char *where,
                    const text_place *place);

/* A prepared data folder (krait-text prepare): meta.json read and checked. */
typedef struct text_data_meta {
    char tokenizer[32];       /* "bytes" or "tokenizer.json" (a file in the folder) */
    int vocab, eos;
    int max_id;               /* the largest id in the data (-1: an older meta.json without it) */
    long long train_tokens, val_tokens;
    long long train_bytes, val_bytes;   /* text bytes (EOS separators not counted) */
} text_data_meta;
/* Exits 2 with one line naming the file and the problem. */
void text_read_meta(text_data_meta *meta, const char *data_dir);

#endif /* KRAIT_TEXTAPP_H */
