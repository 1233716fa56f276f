/* tests/fuzz/fuzz_textsrc.c — text inputs (modalities/text/textsrc.h) on arbitrary bytes: the
 * first byte picks the kind (plain, .gz, .jsonl, .jsonl.gz) and whether pieces may be cut at any
 * byte; the rest is the file. Properties: a failure is BAD_INPUT or IO (a corrupt .gz); a plain
 * file that is not gzip data comes back as exactly its bytes, concatenated from the pieces, in
 * one document; a JSONL document is never longer than its file. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "textsrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    if (size == 0) return 0;
    static const char *const suffix[] = { ".txt", ".gz", ".jsonl", ".jsonl.gz" };
    int kind = data[0] & 3, byte_cuts = (data[0] >> 2) & 1;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    const char *path = fuzz_file(body, n, suffix[kind]);
    krait_textsrc *s = NULL;
    krait_status st = krait_textsrc_open(path, &s);
    if (st) {
        fuzz_check(st == KRAIT_STATUS_BAD_INPUT || st == KRAIT_STATUS_IO, "open status");
        return 0;
    }
    krait_textsrc_set_byte_cuts(s, byte_cuts);
    int plain = kind == 0 && !(n >= 2 && body[0] == 0x1f && body[1] == 0x8b);
    size_t got = 0, docs = 0;
    for (;;) {
        const char *text;
        size_t len;
        int new_doc;
        st = krait_textsrc_next(s, &text, &len, &new_doc);
        if (st) {
            fuzz_check(st == KRAIT_STATUS_BAD_INPUT || st == KRAIT_STATUS_IO, "next status");
            fuzz_check(!plain, "a plain file reads without error");
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
    krait_textsrc_close(s);
    return 0;
}
