/* tests/fuzz/fuzz_textsrc.c — text inputs (modalities/text/textsrc.h) on arbitrary bytes: the
 * first byte picks the kind (plain, .gz, .jsonl, .jsonl.gz), whether pieces may be cut at any
 * byte and whether plain text must be UTF-8; the rest is the file. Properties: a failure is
 * BAD_INPUT or IO (a corrupt .gz); a plain file that is not gzip data comes back as exactly its
 * bytes, concatenated from the pieces, in one document (with the UTF-8 check: exactly when the
 * file is valid UTF-8, else BAD_INPUT); a JSONL document is never longer than its file. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "textsrc.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    if (size == 0) return 0;
    static const char *const suffix[] = { ".txt", ".gz", ".jsonl", ".jsonl.gz" };
    int kind = data[0] & 3, byte_cuts = (data[0] >> 2) & 1, utf8 = (data[0] >> 3) & 1;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    const char *path = fuzz_file(body, n, suffix[kind]);
    krait_textsrc *s = NULL;
    krait_status st = krait_textsrc_open(path, &s);
    if (st) {
        fuzz_check(st == KRAIT_STATUS_BAD_INPUT || st == KRAIT_STATUS_IO, "open status");
        return 0;
    }
    static krait_tokenizer *bytes; /* specials: "<|endoftext|>" */
    if (!bytes) krait_tokenizer_open("bytes", &bytes);
    krait_textsrc_set_byte_cuts(s, byte_cuts);
    if (byte_cuts) krait_textsrc_set_cut_guard(s, krait_tokenizer_cut_conflict, bytes);
    krait_textsrc_set_utf8(s, utf8);
    int plain = kind == 0 && !(n >= 2 && body[0] == 0x1f && body[1] == 0x8b);
    int valid = krait_utf8_invalid_at(body, n) == n;
    size_t got = 0, docs = 0;
    for (;;) {
        const char *text;
        size_t len;
        int new_doc;
        st = krait_textsrc_next(s, &text, &len, &new_doc);
        if (st) {
            fuzz_check(st == KRAIT_STATUS_BAD_INPUT || st == KRAIT_STATUS_IO, "next status");
            fuzz_check(!plain || (utf8 && !valid), "a plain file reads without error unless it must be UTF-8");
            break;
        }
        if (!text) break;
        fuzz_check(strlen(krait_textsrc_where(s)) > 0, "where names the place");
        docs += new_doc != 0;
        if (plain) {
            fuzz_check(got + len <= n && memcmp(body + got, text, len) == 0, "plain pieces are the file's bytes");
            fuzz_check(new_doc == (got == 0), "a plain file is one document");
        } else if (kind == 2) {
            fuzz_check(len <= n, "a JSONL document is no longer than its file");
        }
        got += len;
    }
    if (plain && st == KRAIT_STATUS_OK) fuzz_check(got == n && (n == 0 || docs == 1), "the whole file came back");
    if (plain && utf8) fuzz_check((st == KRAIT_STATUS_OK) == valid, "the UTF-8 check refuses exactly invalid text");
    krait_textsrc_close(s);
    return 0;
}
