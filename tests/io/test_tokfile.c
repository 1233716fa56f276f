/* tests/io/test_tokfile.c — token files and text inputs (modalities/text):
 *  - tokfile: random ids round-trip through writer and mmap reader at both widths; ids that do
 *    not fit the width are refused; truncate + reread (the --split-tail path); a corrupt or
 *    truncated file (bad magic, version, width, size) is refused with one error naming it.
 *  - textsrc: a multi-MiB document comes back in pieces that concatenate to the original, each
 *    cut right after '\n' before a printable non-space character; the same through gzip; JSONL
 *    documents, blank lines skipped, and a malformed line / a missing "text" named FILE:LINE; a
 *    text without line breaks is cut inside its line (one warning) only when more than 64 MiB
 *    of it is left. */
#include "textsrc.h"
#include "tokenizer.h"
#include "tokfile.h"

#include "io_util.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void roundtrip(const char *dir, int width)
{
    const char *path = io_path(dir, width == 2 ? "u16.bin" : "u32.bin");
    size_t n = 100000 + (size_t)(tu_next() % 5000);
    int32_t max = width == 2 ? 65535 : 2000000000;
    int32_t *ids = malloc(n * sizeof *ids), *got = malloc(n * sizeof *got);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)(tu_next() % ((uint64_t)max + 1));
    ids[0] = 0, ids[1] = max;
    krait_tokfile_writer *w;
    tu_check(krait_tokfile_create(path, width, &w) == 0, "create %d-byte file", width);
    /* in uneven pieces */
    for (size_t at = 0; at < n;) {
        size_t k = 1 + (size_t)(tu_next() % 30000);
        if (k > n - at) k = n - at;
        tu_check(krait_tokfile_append(w, ids + at, k) == 0, "append");
        at += k;
    }
    tu_check(krait_tokfile_finish(w) == 0, "finish");
    krait_tokfile *f;
    tu_check(krait_tokfile_open(path, &f) == 0, "open %d-byte file", width);
    if (!f) return;
    tu_check(krait_tokfile_count(f) == n && krait_tokfile_id_bytes(f) == width, "count %zu, width %d", n, width);
    krait_tokfile_read(f, got, 0, n);
    tu_check(!memcmp(got, ids, n * sizeof *ids), "%d-byte ids round-trip", width);
    krait_tokfile_read(f, got, n - 7, 7);
    tu_check(!memcmp(got, ids + n - 7, 7 * sizeof *ids), "read at an offset");
    krait_tokfile_close(f);
    free(ids);
    free(got);
}

static void corrupt(const char *dir, io_cap *cap)
{
    const char *path = io_path(dir, "c.bin");
    int32_t ids[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    krait_tokfile_writer *w;
    krait_tokfile_create(path, 2, &w);
    krait_tokfile_append(w, ids, 10);
    krait_tokfile_finish(w);
    size_t n;
    uint8_t *good = io_read(path, &n);
    tu_check(good && n == 32 + 20, "file size 32 + 20");
    struct { const char *what; size_t off; uint8_t val; size_t len; const char *frag; } cases[] = {
        { "bad magic", 0, 'X', n, "bad magic" },
        { "version 2", 8, 2, n, "version 2" },
        { "width 3", 12, 3, n, "must be 2 or 4" },
        { "count 11", 16, 11, n, "truncated or corrupt" },
        { "truncated", 0, 'K', n - 1, "truncated or corrupt" },
        { "header only half", 0, 'K', 20, "too short" },
        { "a byte past the ids", n, 0, n + 1, "truncated or corrupt" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *b = malloc(n + 1);
        memcpy(b, good, n);
        b[cases[i].off] = cases[i].val;
        io_write(path, b, cases[i].len);
        io_cap_reset(cap);
        krait_tokfile *f = NULL;
        krait_status s = krait_tokfile_open(path, &f);
        tu_check(s == KRAIT_STATUS_BAD_INPUT && !f, "%s refused", cases[i].what);
        tu_check(strstr(cap->last_error, path) != NULL, "%s: the message names the file", cases[i].what);
        io_cap_one_error(cap, cases[i].what, cases[i].frag);
        free(b);
    }
    io_cap_reset(cap);
    krait_tokfile *f = NULL;
    tu_check(krait_tokfile_open(io_path(dir, "missing.bin"), &f) == KRAIT_STATUS_BAD_INPUT, "missing file refused");
    io_cap_one_error(cap, "missing", "missing.bin");
    /* ids that do not fit */
    krait_tokfile_create(path, 2, &w);
    int32_t big = 65536, neg = -1;
    io_cap_reset(cap);
    tu_check(krait_tokfile_append(w, &big, 1) == KRAIT_STATUS_BAD_INPUT, "id 65536 refused in a uint16 file");
    io_cap_one_error(cap, "too large id", "does not fit");
    tu_check(krait_tokfile_append(w, &neg, 1) == KRAIT_STATUS_BAD_INPUT, "id -1 refused");
    /* truncate + reread */
    krait_tokfile_append(w, ids, 10);
    int32_t back[4];
    tu_check(krait_tokfile_reread(w, back, 6, 4) == 0 && back[0] == 7 && back[3] == 10, "reread the tail");
    tu_check(krait_tokfile_truncate(w, 6) == 0 && krait_tokfile_written(w) == 6, "truncate to 6");
    krait_tokfile_append(w, ids, 2);
    krait_tokfile_finish(w);
    tu_check(krait_tokfile_open(path, &f) == 0 && krait_tokfile_count(f) == 8, "8 ids after truncate + append");
    if (f) {
        int32_t all[8];
        krait_tokfile_read(f, all, 0, 8);
        tu_check(all[5] == 6 && all[6] == 1 && all[7] == 2, "truncated content");
        krait_tokfile_close(f);
    }
    free(good);
}

/* Whether the cut before want[n] is one textsrc.h allows (the rules restated; plain characters
 * here: visible ASCII, or a lead byte of Cyrillic, U+0400-U+04FF, as the tests write) */
static int plain(unsigned char c) { return (c > ' ' && c < 127) || c == 0xD0 || c == 0xD1; }
static int allowed_cut(const char *want, size_t want_len, size_t n, int byte_cuts)
{
    if (byte_cuts) { /* no "<|endoftext|>" spans it */
        for (size_t k = 1; k < 13 && k <= n; k++)
            if (!memcmp(want + n - k, "<|endoftext|>", want_len - (n - k) < 13 ? want_len - (n - k) : 13)) return 0;
        return 1;
    }
    if (n + 1 < want_len && want[n] == '\r' && want[n + 1] == '\n') { /* before a CR LF after a plain one */
        size_t j = n;
        while (j > 0 && ((unsigned char)want[j - 1] & 0xC0) == 0x80) j--;
        return j > 0 && plain((unsigned char)want[j - 1]);
    }
    if (n < 2 || want[n - 1] != '\n') return 0;
    size_t j = n - 1; /* the character before the newline: back to its lead byte */
    while (j > 0 && ((unsigned char)want[j - 1] & 0xC0) == 0x80) j--;
    if (plain((unsigned char)want[n]) && j > 0 && plain((unsigned char)want[j - 1])) return 1;
    return want[n] == ' ' && n + 1 < want_len && plain((unsigned char)want[n + 1]);
}

/* Read all pieces of path; check each cut and the concatenation against want. */
static void pieces(const char *path, const char *want, size_t want_len, const char *what, int byte_cuts)
{
    krait_textsrc *s;
    tu_check(krait_textsrc_open(path, &s) == 0, "%s: open", what);
    krait_tokenizer *bytes = NULL;
    krait_tokenizer_open("bytes", &bytes); /* specials: "<|endoftext|>" */
    krait_textsrc_set_byte_cuts(s, byte_cuts);
    if (byte_cuts) krait_textsrc_set_cut_guard(s, krait_tokenizer_cut_conflict, bytes);
    char *all = malloc(want_len + 1);
    size_t n = 0;
    int n_pieces = 0, docs = 0, bad_cut = 0;
    for (;;) {
        const char *t;
        size_t len;
        int nd;
        if (krait_textsrc_next(s, &t, &len, &nd) || !t) break;
        docs += nd;
        if (n + len > want_len) break;
        memcpy(all + n, t, len);
        n += len;
        n_pieces++;
        if (n < want_len && !allowed_cut(want, want_len, n, byte_cuts)) bad_cut = 1;
    }
    krait_textsrc_close(s);
    krait_tokenizer_free(bytes);
    tu_check(n == want_len && !memcmp(all, want, n), "%s: %d pieces concatenate to the %zu bytes", what, n_pieces, want_len);
    tu_check(n_pieces > 2 && docs == 1 && !bad_cut, "%s: %s", what,
             byte_cuts ? "no cut inside an <|endoftext|>"
                       : "cut only after a newline between plain characters, before a line's single leading space "
                         "or before a CR LF after a plain character");
    free(all);
}

static void text_inputs(const char *dir, io_cap *cap)
{
    /* ~3 MiB of lines, some starting with spaces, some blank, some ending in a space or CRLF
     * (none of those is a safe cut: BPE pre-tokenizes the whitespace run by what follows it) */
    size_t cap_b = 3u << 20, n = 0;
    char *text = malloc(cap_b + 256);
    while (n < cap_b) {
        int kind = (int)(tu_next() % 6);
        if (kind == 0) text[n++] = ' ';
        if (kind == 1) text[n++] = '\n';
        int len = (int)(tu_next() % 120);
        for (int i = 0; i < len; i++) text[n++] = (char)('a' + tu_next() % 26);
        if (kind == 4) text[n++] = ' ';
        if (kind == 5) text[n++] = '\r';
        text[n++] = '\n';
    }
    const char *plain = io_path(dir, "doc.txt");
    io_write(plain, text, n);
    pieces(plain, text, n, "plain", 0);
    const char *gz = io_path(dir, "doc.txt.gz");
    gzFile g = gzopen(gz, "wb");
    gzwrite(g, text, (unsigned)n);
    gzclose(g);
    pieces(gz, text, n, "gzip", 0);
    /* the byte tokenizer's cuts: 3 MiB without line breaks, "<|endoftext|>" after 0 to 5 letters,
     * so most places are inside one (a cut at the end of the read bytes would land in one) */
    n = 0;
    while (n < cap_b) {
        memcpy(text + n, "<|endoftext|>", 13);
        n += 13;
        for (int i = (int)(tu_next() % 6); i > 0; i--) text[n++] = (char)('a' + tu_next() % 26);
    }
    const char *sp = io_path(dir, "specials.txt");
    io_write(sp, text, n);
    pieces(sp, text, n, "byte cuts", 1);
    /* lines that all begin with one space and end with " \n" (WikiText), begin in Cyrillic (and
     * end with "."), or end with "\r\n" (CRLF):
     * still cut into pieces (they once had no allowed cut and came whole, up to 64 MiB) */
    for (int kind = 0; kind < 3; kind++) {
        const int cyr = kind == 1, crlf = kind == 2;
        n = 0;
        while (n < cap_b) {
            if (cyr) memcpy(text + n, "\xd0\x9f\xd1\x80", 4), n += 4; /* "Пр" */
            else text[n++] = crlf ? 'A' : ' '; /* CRLF lines: none begins with a space (no cut after "\n") */
            int len = 1 + (int)(tu_next() % 100);
            for (int i = 0; i < len; i++) text[n++] = (char)(tu_next() % 7 ? 'a' + tu_next() % 26 : ' ');
            if (crlf) text[n++] = '.', text[n++] = '\r', text[n++] = '\n';
            else text[n++] = cyr ? '.' : ' ', text[n++] = '\n';
            if (!cyr && !crlf && tu_next() % 3 == 0) text[n++] = ' ', text[n++] = '\n'; /* " \n \n" */
        }
        static const char *const names[] = { "WikiText lines", "Cyrillic lines", "CRLF lines" };
        const char *wt = io_path(dir, kind == 0 ? "wikitext.txt" : cyr ? "cyrillic.txt" : "crlf.txt");
        io_write(wt, text, n);
        pieces(wt, text, n, names[kind], 0);
    }
    free(text);

    const char *jl = io_path(dir, "d.jsonl");
    const char *good = "{\"text\": \"one\\nline\"}\n\n  \n{\"id\": 3, \"text\": \"two\"}\n";
    io_write(jl, good, strlen(good));
    krait_textsrc *s;
    krait_textsrc_open(jl, &s);
    const char *t;
    size_t len;
    int nd, docs = 0, ok = 1;
    while (!krait_textsrc_next(s, &t, &len, &nd) && t) {
        ok &= nd == 1 && (docs ? !strcmp(t, "two") : !strcmp(t, "one\nline"));
        docs++;
    }
    krait_textsrc_close(s);
    tu_check(ok && docs == 2, "JSONL: two documents, blank lines skipped");
    struct { const char *text, *frag; } bad[] = {
        { "{\"text\": \"a\"}\n{\"text\": \"b\"\n", "d.jsonl:2: malformed JSON" },
        { "{\"text\": \"a\"}\n\n{\"txt\": \"b\"}\n", "d.jsonl:3: no \"text\" field" },
        { "[1, 2]\n", "d.jsonl:1: not a JSON object" },
        { "{\"text\": 5}\n", "d.jsonl:1: \"text\" is not a string" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        io_write(jl, bad[i].text, strlen(bad[i].text));
        krait_textsrc_open(jl, &s);
        io_cap_reset(cap);
        krait_status st = KRAIT_STATUS_OK;
        while (!(st = krait_textsrc_next(s, &t, &len, &nd)) && t) {}
        krait_textsrc_close(s);
        tu_check(st == KRAIT_STATUS_BAD_INPUT, "bad JSONL %zu refused", i);
        io_cap_one_error(cap, "bad JSONL", bad[i].frag);
    }
}

/* A text without line breaks (BPE cuts only at line breaks): 60 MiB, under the 64 MiB a stretch
 * may grow to, comes back whole and without a warning; 130 MiB is cut inside the line every
 * 64 MiB (the warning says 64 MiB: the stretch once grew to 128 before its cut), with one
 * warning, and the pieces still concatenate to the text. */
static void long_lines(const char *dir, io_cap *cap)
{
    const size_t mib = (size_t)1 << 20, sizes[2] = { 60 * mib, 130 * mib };
    char *text = malloc(sizes[1]);
    for (size_t i = 0; i < sizes[1]; i++) text[i] = (char)('a' + i % 26);
    const char *path = io_path(dir, "long.txt");
    for (int k = 0; k < 2; k++) {
        io_write(path, text, sizes[k]);
        krait_textsrc *s;
        tu_check(krait_textsrc_open(path, &s) == 0, "long line: open");
        io_cap_reset(cap);
        size_t n = 0, first = 0;
        int n_pieces = 0, same = 1;
        const char *t;
        size_t len;
        int nd;
        while (!krait_textsrc_next(s, &t, &len, &nd) && t) {
            same &= n + len <= sizes[k] && !memcmp(t, text + n, len);
            if (!n_pieces) first = len;
            n += len;
            n_pieces++;
        }
        krait_textsrc_close(s);
        const int want_pieces = k ? 3 : 1;
        const size_t want_first = k ? 64 * mib : sizes[k];
        tu_check(same && n == sizes[k] && n_pieces == want_pieces && first == want_first && cap->warnings == k,
                 "%zu MiB without a line break: %d piece(s) (want %d), the first %zu bytes (want %zu), %d warning(s) "
                 "(want %d), %zu bytes", sizes[k] / mib, n_pieces, want_pieces, first, want_first, cap->warnings, k, n);
    }
    remove(path);
    free(text);
}

int main(void)
{
    tu_init("test_tokfile");
    static io_cap cap;
    io_cap_begin(&cap);
    const char *dir = io_tmpdir("tokfile");
    roundtrip(dir, 2);
    roundtrip(dir, 4);
    /* ids 0..65535 fit 2 bytes; one id more needs 4 */
    tu_check(krait_tokfile_id_bytes_for(256) == 2 && krait_tokfile_id_bytes_for(65536) == 2 &&
                 krait_tokfile_id_bytes_for(65537) == 4 && krait_tokfile_id_bytes_for(50281) == 2,
             "id width by vocabulary: 2 bytes up to 65536 ids, then 4");
    corrupt(dir, &cap);
    text_inputs(dir, &cap);
    long_lines(dir, &cap);
    io_cap_end();
    io_rmdir(dir);
    return tu_finish();
}
