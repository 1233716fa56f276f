/* modalities/text/textsrc.h — reading text inputs as documents, in bounded pieces.
 *
 * One file is read through zlib (gzread), so `.gz` files are decompressed on the fly and plain
 * files read as they are. Two kinds, chosen by the name:
 *   *.jsonl, *.jsonl.gz   one JSON object per line; its "text" string is one document (blank
 *                         lines are skipped). A line that is not an object with a "text" string
 *                         is an error naming FILE:LINE.
 *   anything else         the whole file is one document.
 * A plain document comes in pieces of about 1 MiB, cut only right after a '\n' that stands
 * between two characters that are not white space, or right after a '\n' before the single
 * space that begins a line (WikiText's " = Title = \n \n The ..."), or right before a "\r\n" that
 * follows a character that is not white space (CRLF text). At such a cut the GPT-NeoX
 * pre-tokenizer splits anyway and no added token, whitespace pre-token or UTF-8 sequence spans
 * it, so encoding the pieces one by one gives the ids of encoding the whole document (and
 * memory stays bounded by the piece size). A stretch of more than 64 MiB without such a cut is cut at a UTF-8 character
 * boundary instead (one warning: the ids there may differ from a whole-document encoding).
 * A JSONL document is one piece (a line is held whole).
 *
 * Errors are one logged line naming the file and the place; nothing here exits. This file does
 * not tokenize. */
#ifndef KRAIT_TEXTSRC_H
#define KRAIT_TEXTSRC_H

#include <stddef.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_textsrc krait_textsrc;

/* 1 if the file's name says JSONL (.jsonl or .jsonl.gz). */
int krait_textsrc_is_jsonl(const char *path);
/* 1 if the file reads as text: its first 8 KiB (decompressed) hold no NUL byte. */
int krait_textsrc_sniff_text(const char *path);

krait_status krait_textsrc_open(const char *path, krait_textsrc **out);
void krait_textsrc_close(krait_textsrc *s);

/* For the byte tokenizer: pieces may be cut at any byte the guard allows (no occurrence of a
 * special token may span it: krait_tokenizer_cut_conflict), so the ids are the same as for the
 * whole file and memory stays at the piece size even for text without line breaks. */
void krait_textsrc_set_byte_cuts(krait_textsrc *s, int on);
/* guard(ctx, b, have, p) = 1 refuses a cut before b[p] that the rules above allow (the
 * tokenizer's added or special tokens: krait_tokenizer_cut_conflict). */
void krait_textsrc_set_cut_guard(krait_textsrc *s, int (*guard)(const void *ctx, const char *b, size_t have, size_t p),
                                 const void *ctx);
/* For the BPE tokenizer: a plain piece holding invalid UTF-8 is an error (KRAIT_STATUS_BAD_INPUT,
 * logged as "FILE:LINE:COLUMN: invalid UTF-8 at byte N of the text", N counted from the start
 * of the file's (decompressed) text, so the place is right even past the first piece). */
void krait_textsrc_set_utf8(krait_textsrc *s, int on);
/* JSONL: the text is the string field key of each line's object (default "text"); key must
 * outlive s. */
void krait_textsrc_set_json_key(krait_textsrc *s, const char *key);

/* The next piece of text (valid until the next call): *new_doc is 1 when it starts a document.
 * At the end: OK with *text NULL and *len 0. */
krait_status krait_textsrc_next(krait_textsrc *s, const char **text, size_t *len, int *new_doc);
/* Where the last piece came from, for messages: "FILE:LINE" (JSONL) or "FILE" / "FILE (text
 * from byte N)" (plain). */
const char *krait_textsrc_where(const krait_textsrc *s);
/* The line (from 1) the last plain piece starts on, and whether it starts at that line's start;
 * 0 when not counted (JSONL, where krait_textsrc_where names the line; pieces whose UTF-8 is not
 * checked, i.e. for the byte tokenizer). */
long long krait_textsrc_piece_line(const krait_textsrc *s, int *at_line_start);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_TEXTSRC_H */
