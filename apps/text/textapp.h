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

/* krait_tokenizer_for_model (tokenizer.h: DIR/tokenizer.json, else bytes for a byte-level config;
 * it must fit the model; cfg->vocab_size_raw narrowed to it), exiting with its code on failure. */
krait_tokenizer *text_model_tokenizer(const char *model_dir, krait_config *cfg);
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
