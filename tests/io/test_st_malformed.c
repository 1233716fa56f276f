/* tests/io/test_st_malformed.c — the reader against a corpus of malformed files generated here:
 * each must give NULL, KRAIT_STATUS_BAD_INPUT and exactly one error line naming the file and
 * containing an expected fragment. Then the size of every dtype (against the reference's table),
 * edge files that must be accepted, every truncation of a valid file, and seeded random byte
 * mutations of a valid header (accepted or refused with one line, never a crash; run it under
 * ASan/UBSan with -DKRAIT_SANITIZE=ON). */
#include "safetensors.h"

#include "io_util.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USE_LEN UINT64_MAX

typedef struct st_case {
    const char *what;
    const char *hdr;      /* header bytes (NUL-terminated unless hdr_n is given) */
    size_t hdr_n;         /* 0: strlen(hdr) */
    uint64_t lenfield;    /* USE_LEN: the header's length */
    size_t data;          /* zero bytes after the header */
    const char *frag;     /* expected in the error line; NULL: must be accepted */
} st_case;

#define F32A(name, n, b, e) \
    "\"" name "\":{\"dtype\":\"F32\",\"shape\":[" #n "],\"data_offsets\":[" #b "," #e "]}"

#define U8A(name, n, b, e) \
    "\"" name "\":{\"dtype\":\"U8\",\"shape\":[" #n "],\"data_offsets\":[" #b "," #e "]}"

static const st_case cases[] = {
    /* the length field */
    { "length > file", "{}", 0, 1000, 0, "header length 1000 is larger than the file (2 bytes" },
    { "length > 100 MB", "{}", 0, 100000001, 0, "exceeds the limit of 100000000" },
    { "length 2^64-2", "{}", 0, UINT64_MAX - 1, 0, "exceeds the limit" },
    { "length 0", "", 0, 0, 0, "not a JSON object" },
    { "length 1 past the file", "{}", 0, 3, 0, "header length 3 is larger than the file (2 bytes" },
    { "length 1 past the data", "{" F32A("a", 1, 0, 4) "}", 0, 59, 4,
      "header length 59 is larger than the file (58 bytes" },
    /* not a JSON object */
    { "non-JSON", "hello world!", 0, USE_LEN, 0, "not a JSON object" },
    { "JSON array", "[1, 2]", 0, USE_LEN, 0, "not a JSON object" },
    { "JSON string", "\"{}\"", 0, USE_LEN, 0, "not a JSON object" },
    { "leading space", " {}", 0, USE_LEN, 0, "not a JSON object" },
    { "broken JSON", "{\"a\": }", 0, USE_LEN, 0, "not valid JSON" },
    { "unterminated", "{\"a\": {\"dtype\": \"F32\"", 0, USE_LEN, 0, "not valid JSON" },
    { "single quotes", "{'a': 1}", 0, USE_LEN, 0, "not valid JSON" },
    { "trailing comma", "{\"__metadata__\":{},}", 0, USE_LEN, 0, "not valid JSON" },
    { "garbage after object", "{} x", 0, USE_LEN, 0, "trailing bytes after the JSON object" },
    { "two objects", "{}{}", 0, USE_LEN, 0, "trailing bytes after the JSON object" },
    { "NUL padding", "{}\0\0\0\0\0\0", 8, USE_LEN, 0, "control character 0x00" },
    { "control byte", "{\x01}", 0, USE_LEN, 0, "control character 0x01" },
    /* text */
    { "invalid UTF-8", "{\"a\xff\":1}", 0, USE_LEN, 0, "invalid UTF-8 at file offset 11" },
    { "overlong UTF-8", "{\"\xc0\xaf\":1}", 0, USE_LEN, 0, "invalid UTF-8" },
    { "surrogate UTF-8", "{\"\xed\xa0\x80\":1}", 0, USE_LEN, 0, "invalid UTF-8" },
    { "\\u0000 in a name", "{\"a\\u0000b\":1}", 0, USE_LEN, 0, "\\u0000" },
    { "raw newline in a name", "{\"a\nb\":1}", 0, USE_LEN, 0, "raw control character 0x0a" },
    /* entries */
    { "entry not object", "{\"a\":5}", 0, USE_LEN, 0, "tensor 'a': entry is not a JSON object" },
    { "entry array", "{\"a\":[]}", 0, USE_LEN, 0, "tensor 'a': entry is not a JSON object" },
    { "missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "tensor 'a': missing field 'dtype'" },
    { "missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "missing field 'shape'" },
    { "missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 0, USE_LEN, 4,
      "missing field 'data_offsets'" },
    { "unknown field", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"foo\":1}}", 0,
      USE_LEN, 4, "unknown field 'foo'" },
    { "field twice", "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}",
      0, USE_LEN, 4, "field 'dtype' given twice" },
    { "unknown dtype", "{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "tensor 'a': unknown dtype 'F33'" },
    { "lowercase dtype", "{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "unknown dtype 'f32'" },
    { "dtype number", "{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "dtype is not a string" },
    /* shape */
    { "shape/bytes mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 0,
      USE_LEN, 20, "shape [2, 3] of F32 is 24 bytes but data_offsets [0, 20] span 20" },
    { "span larger than the shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 0,
      USE_LEN, 8, "shape [1] of F32 is 4 bytes but data_offsets [0, 8] span 8" },
    { "span 1 byte larger", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,3]}}", 0,
      USE_LEN, 3, "shape [2] of U8 is 2 bytes but data_offsets [0, 3] span 3" },
    { "negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1,4],\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "tensor 'a': shape[0] is negative" },
    { "fraction dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "number '1.5' at file offset 37 is not an integer" },
    { "1.0 dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "is not an integer" },
    { "exponent dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "number '1e0'" },
    { "leading zero", "{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "leading zero" },
    { "string dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "shape[0] is not a number" },
    { "shape not array", "{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "shape is not an array" },
    { "shape null", "{\"a\":{\"dtype\":\"F32\",\"shape\":null,\"data_offsets\":[0,4]}}", 0, USE_LEN, 4,
      "shape is not an array" },
    { "dim 2^53", "{\"a\":{\"dtype\":\"U8\",\"shape\":[9007199254740992],\"data_offsets\":[0,4]}}", 0,
      USE_LEN, 4, "shape[0] is too large" },
    { "dim [2^62, 8]", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,8],\"data_offsets\":[0,4]}}",
      0, USE_LEN, 4, "shape[0] is too large" },
    { "product overflow", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],"
      "\"data_offsets\":[0,4]}}", 0, USE_LEN, 4, "element count overflows 64 bits" },
    { "bits overflow", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4503599627370496,2048],\"data_offsets\":[0,4]}}",
      0, USE_LEN, 4, "size in bits overflows 64 bits" },
    { "F4 odd count", "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 0, USE_LEN, 2,
      "not a whole number of bytes" },
    /* offsets */
    { "end past data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, USE_LEN, 4,
      "tensor 'a': data_offsets [0, 8] end past the data (4 bytes)" },
    { "truncated data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"backbone.norm_f.weight\":{\"dtype\":\"F32\",\"shape\":[998],\"data_offsets\":[8,4000]}}", 0,
      USE_LEN, 3900,
      "tensor 'backbone.norm_f.weight': data_offsets [8, 4000] end past the data (3900 bytes)" },
    { "begin > end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 0, USE_LEN, 8,
      "data_offsets [8, 4] have begin > end" },
    { "one offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", 0, USE_LEN, 4,
      "data_offsets must be an array [begin, end]" },
    { "offsets string", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\"0,4\"}}", 0, USE_LEN, 4,
      "data_offsets must be an array" },
    { "-0 offset", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[-0,0]}}", 0, USE_LEN, 0,
      "data_offsets[0] is negative" },
    { "negative offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 0, USE_LEN, 4,
      "data_offsets[0] is negative" },
    { "overlap", "{" F32A("a", 2, 0, 8) "," F32A("b", 2, 4, 12) "}", 0, USE_LEN, 12,
      "tensor 'b': data_offsets [4, 12] overlap tensor 'a' (which ends at 8)" },
    { "same range twice", "{" F32A("a", 2, 0, 8) "," F32A("b", 2, 0, 8) "}", 0, USE_LEN, 8, "overlap" },
    { "zero-size inside another", "{" F32A("a", 2, 0, 8) "," F32A("z", 0, 4, 4) "}", 0, USE_LEN, 8, "overlap" },
    { "hole", "{" F32A("a", 1, 0, 4) "," F32A("b", 1, 8, 12) "}", 0, USE_LEN, 12,
      "tensor 'b': data_offsets [8, 12] leave a hole of 4 unused bytes after tensor 'a'" },
    { "hole at start", "{" F32A("a", 1, 4, 8) "}", 0, USE_LEN, 8, "hole of 4 unused bytes at the start" },
    { "1-byte overlap", "{" U8A("a", 2, 0, 2) "," U8A("b", 2, 1, 3) "}", 0, USE_LEN, 3,
      "tensor 'b': data_offsets [1, 3] overlap tensor 'a' (which ends at 2)" },
    { "1-byte hole", "{" U8A("a", 1, 0, 1) "," U8A("b", 1, 2, 3) "}", 0, USE_LEN, 3,
      "tensor 'b': data_offsets [2, 3] leave a hole of 1 unused bytes after tensor 'a'" },
    { "1-byte hole at start", "{" U8A("a", 1, 1, 2) "}", 0, USE_LEN, 2,
      "tensor 'a': data_offsets [1, 2] leave a hole of 1 unused bytes at the start" },
    { "trailing data", "{" F32A("a", 1, 0, 4) "}", 0, USE_LEN, 8,
      "4 trailing bytes after the last tensor (the data is 8 bytes, the tensors cover 4)" },
    { "trailing data, no tensors", "{}", 0, USE_LEN, 1, "1 trailing bytes" },
    { "duplicate names", "{" F32A("a", 1, 0, 4) "," F32A("a", 1, 4, 8) "}", 0, USE_LEN, 8,
      "tensor 'a' is defined twice" },
    { "duplicate names, same range", "{" F32A("a", 1, 0, 4) "," F32A("a", 1, 0, 4) "}", 0, USE_LEN, 4,
      "tensor 'a' is defined twice" },
    /* metadata */
    { "metadata string", "{\"__metadata__\":\"x\"}", 0, USE_LEN, 0, "__metadata__ is not a JSON object" },
    { "metadata null", "{\"__metadata__\":null}", 0, USE_LEN, 0, "__metadata__ is not a JSON object" },
    { "metadata array", "{\"__metadata__\":[\"a\"]}", 0, USE_LEN, 0, "__metadata__ is not a JSON object" },
    { "metadata number", "{\"__metadata__\":{\"k\":1}}", 0, USE_LEN, 0,
      "__metadata__ 'k': value is not a string" },
    { "metadata object", "{\"__metadata__\":{\"k\":{}}}", 0, USE_LEN, 0, "value is not a string" },
    { "metadata twice", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, USE_LEN, 0,
      "__metadata__ is given twice" },
    { "metadata key twice", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, USE_LEN, 0,
      "__metadata__ key 'k' is given twice" },
    /* accepted edge cases */
    { "ok: empty object", "{}", 0, USE_LEN, 0, NULL },
    { "ok: padded", "{}      ", 0, USE_LEN, 0, NULL },
    { "ok: JSON whitespace padding", "{ \"__metadata__\" : { } }\n\t\r ", 0, USE_LEN, 0, NULL },
    { "ok: out of offset order", "{" F32A("b", 1, 4, 8) "," F32A("a", 1, 0, 4) "}", 0, USE_LEN, 8, NULL },
    { "ok: zero-size between", "{" F32A("a", 1, 0, 4) "," F32A("z", 0, 4, 4) "," F32A("b", 1, 4, 8) "}", 0,
      USE_LEN, 8, NULL },
    { "ok: scalar", "{\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}", 0, USE_LEN, 8, NULL },
    { "ok: empty and unicode names", "{\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
      "\"\xc3\xa9\\u00e9\\\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 0, USE_LEN, 2, NULL },
    { "ok: F6 whole bytes", "{\"a\":{\"dtype\":\"F6_E3M2\",\"shape\":[4],\"data_offsets\":[0,3]}}", 0,
      USE_LEN, 3, NULL },
};

static io_cap cap;

static const char *make_file(const char *dir, const char *hdr, size_t hn, uint64_t lenfield,
                             size_t data)
{
    const char *path = io_path(dir, "case.safetensors");
    size_t n = 8 + hn + data;
    uint8_t *b = calloc(1, n);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(lenfield >> (8 * i));
    memcpy(b + 8, hdr, hn);
    io_write(path, b, n);
    free(b);
    return path;
}

static void expect_bad(const char *path, const char *what, const char *frag)
{
    krait_status st = KRAIT_STATUS_OK;
    krait_st_file *f = krait_st_open(path, &st);
    tu_check(!f && st == KRAIT_STATUS_BAD_INPUT, "%s: refused with BAD_INPUT (status %d)", what, st);
    tu_check(strncmp(cap.last_error, path, strlen(path)) == 0, "%s: message names the file", what);
    printf("  %-28s %s\n", what, cap.last_error + strlen(path));
    io_cap_one_error(&cap, what, frag);
    krait_st_close(f);
}

static void test_corpus(const char *dir)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const st_case *c = &cases[i];
        size_t hn = c->hdr_n ? c->hdr_n : strlen(c->hdr);
        const char *path = make_file(dir, c->hdr, hn, c->lenfield == USE_LEN ? hn : c->lenfield,
                                     c->data);
        if (c->frag) {
            expect_bad(path, c->what, c->frag);
        } else {
            krait_status st;
            krait_st_file *f = krait_st_open(path, &st);
            tu_check(f && st == KRAIT_STATUS_OK && cap.errors == 0, "%s: accepted (%s)", c->what,
                     cap.last_error);
            io_cap_reset(&cap);
            krait_st_close(f);
        }
    }
    /* Files too short for the length field, a folder, a missing path. */
    const char *path = io_path(dir, "case.safetensors");
    io_write(path, "", 0);
    expect_bad(path, "empty file", "file is 0 bytes, too short");
    io_write(path, "\x02\0\0\0\0", 5);
    expect_bad(path, "5-byte file", "file is 5 bytes, too short");
    io_write(path, "\x02\0\0\0\0\0\0", 7);
    expect_bad(path, "7-byte file", "file is 7 bytes, too short");
    expect_bad(dir, "a folder", "not a regular file");
    expect_bad(io_path(dir, "missing.safetensors"), "missing file", "cannot open");
    /* Nesting deeper than cJSON's limit. */
    size_t depth = 2000, k = 0;
    char *deep = malloc(2 * depth + 16);
    k += (size_t)sprintf(deep, "{\"a\":");
    for (size_t i = 0; i < depth; i++) deep[k++] = '[';
    for (size_t i = 0; i < depth; i++) deep[k++] = ']';
    deep[k++] = '}';
    path = make_file(dir, deep, k, k, 0);
    expect_bad(path, "deep nesting", "not valid JSON");
    free(deep);
}

/* The size of every dtype, against the safetensors reference's table rather than krait's own
 * (the writer and reader share it, so a round trip cannot see a wrong entry): a file holding one
 * [8] tensor of the dtype over exactly bits bytes is accepted, with nbytes and numel as expected. */
static void test_dtype_sizes(const char *dir)
{
    static const struct { const char *name; int bits; } want[] = {
        { "BOOL", 8 },         { "F4", 4 },           { "F6_E2M3", 6 },      { "F6_E3M2", 6 },
        { "U8", 8 },           { "I8", 8 },           { "F8_E5M2", 8 },      { "F8_E4M3", 8 },
        { "F8_E8M0", 8 },      { "F8_E4M3FNUZ", 8 },  { "F8_E5M2FNUZ", 8 },  { "I16", 16 },
        { "U16", 16 },         { "F16", 16 },         { "BF16", 16 },        { "I32", 32 },
        { "U32", 32 },         { "F32", 32 },         { "C64", 64 },         { "F64", 64 },
        { "I64", 64 },         { "U64", 64 },
    };
    const size_t nw = sizeof want / sizeof *want;
    tu_check(nw == KRAIT_ST_DTYPE_COUNT, "dtype sizes: the table lists all %d dtypes (has %zu)",
             KRAIT_ST_DTYPE_COUNT, nw);
    for (size_t i = 0; i < nw; i++) {
        char hdr[160];
        int hn = snprintf(hdr, sizeof hdr, "{\"t\":{\"dtype\":\"%s\",\"shape\":[8],\"data_offsets\":[0,%d]}}",
                          want[i].name, want[i].bits);   /* 8 elements of b bits: b bytes */
        const char *path = make_file(dir, hdr, (size_t)hn, (uint64_t)hn, (size_t)want[i].bits);
        krait_status st;
        krait_st_file *f = krait_st_open(path, &st);
        const krait_st_tensor *t = f ? krait_st_find(f, "t") : NULL;
        tu_check(t && st == KRAIT_STATUS_OK && cap.errors == 0 && t->numel == 8 &&
                     t->nbytes == (uint64_t)want[i].bits &&
                     !strcmp(krait_st_dtype_to_string(t->dtype), want[i].name),
                 "dtype %s: 8 elements are %d bytes (%s)", want[i].name, want[i].bits,
                 f ? "accepted" : cap.last_error);
        krait_st_dtype d;
        tu_check(krait_st_dtype_from_string(&d, want[i].name) && krait_st_dtype_bits(d) == want[i].bits,
                 "dtype %s: krait_st_dtype_bits is %d", want[i].name, want[i].bits);
        io_cap_reset(&cap);
        krait_st_close(f);
    }
}

/* A valid file from the writer, for truncation and mutation. */
static uint8_t *valid_file(const char *dir, size_t *n)
{
    float x[6] = { 1, 2, 3, 4, 5, 6 };
    int64_t s23[2] = { 2, 3 }, s3[1] = { 3 }, s0[1] = { 0 };
    krait_st_writer *w = krait_st_writer_init();
    krait_st_writer_add_f32(w, "w.f32", KRAIT_ST_DTYPE_F32, x, s23, 2);
    krait_st_writer_add_f32(w, "w.bf16", KRAIT_ST_DTYPE_BF16, x, s3, 1);
    krait_st_writer_add_f32(w, "w.f16", KRAIT_ST_DTYPE_F16, x, NULL, 0);
    krait_st_writer_add_raw(w, "w.empty", KRAIT_ST_DTYPE_I64, NULL, s0, 1);
    const char *path = io_path(dir, "valid.safetensors");
    krait_st_writer_write(w, path);
    krait_st_writer_free(w);
    return io_read(path, n);
}

static void test_truncations(const char *dir)
{
    size_t n;
    uint8_t *v = valid_file(dir, &n);
    const char *path = io_path(dir, "cut.safetensors");
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        io_write(path, v, k);
        krait_status st;
        krait_st_file *f = krait_st_open(path, &st);
        if (f || st != KRAIT_STATUS_BAD_INPUT || cap.errors != 1) {
            if (!bad) printf("  prefix of %zu bytes: %s\n", k, f ? "accepted" : cap.last_error);
            bad++;
        }
        io_cap_reset(&cap);
        krait_st_close(f);
    }
    tu_check(bad == 0, "every one of the %zu proper prefixes refused with one line", n);
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, v, n);
    longer[n] = 0;
    io_write(path, longer, n + 1);
    expect_bad(path, "one extra byte", "1 trailing bytes");
    io_write(path, v, n);
    krait_st_file *f = krait_st_open(path, NULL);
    tu_check(f && krait_st_count(f) == 4, "the whole file is accepted");
    krait_st_close(f);
    free(longer);
    free(v);
}

static void test_mutations(const char *dir, int iters)
{
    static const uint8_t pick[] = { '"', '{', '}', '[', ']', ',', ':', '0', '1', '9', '-', ' ', '.',
                                    'e', '\\', 'u', 0x00, 0x1f, 0x80, 0xc3, 0xff, 'F', '_' };
    size_t n;
    uint8_t *v = valid_file(dir, &n), *m = malloc(n + 64);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | v[i];
    const char *path = io_path(dir, "mut.safetensors");
    int accepted = 0, refused = 0, wrong = 0;
    for (int it = 0; it < iters; it++) {
        memcpy(m, v, n);
        size_t len = n;
        int edits = 1 + (int)(tu_next() % 3);
        for (int e = 0; e < edits; e++) {
            size_t pos = (size_t)(tu_next() % (8 + hl));
            uint64_t r = tu_next();
            m[pos] = (r & 1) ? pick[(r >> 1) % sizeof pick] : (uint8_t)(r >> 8);
        }
        if (tu_next() % 8 == 0) len -= (size_t)(tu_next() % 16);   /* sometimes cut the data */
        io_write(path, m, len);
        krait_status st;
        krait_st_file *f = krait_st_open(path, &st);
        if (f) {
            accepted++;
            /* Anything accepted lies inside the file and reads without faults. */
            if (cap.errors) wrong++;
            for (size_t i = 0; i < krait_st_count(f); i++) {
                const krait_st_tensor *t = krait_st_tensor_at(f, i);
                if (t->file_offset + t->nbytes > len) {
                    if (!wrong) printf("  mutation %d: accepted tensor outside the file\n", it);
                    wrong++;
                }
                float tmp[64];
                if (t->numel <= 64) krait_st_tensor_read_f32(t, tmp, (size_t)t->numel);
            }
        } else {
            refused++;
            if (st != KRAIT_STATUS_BAD_INPUT || cap.errors != 1) {
                if (!wrong) printf("  mutation %d: status %d, %d error lines\n", it, st, cap.errors);
                wrong++;
            }
        }
        io_cap_reset(&cap);
        krait_st_close(f);
    }
    tu_check(wrong == 0, "%d random header mutations: %d accepted, %d refused with one line each",
             iters, accepted, refused);
    free(m);
    free(v);
}

int main(int argc, char **argv)
{
    tu_init("test_st_malformed");
    int iters = argc > 1 ? atoi(argv[1]) : 3000;
    const char *d = io_tmpdir("st-bad");
    char dir[512];
    snprintf(dir, sizeof dir, "%s", d);
    io_cap_begin(&cap);
    test_corpus(dir);
    test_dtype_sizes(dir);
    test_truncations(dir);
    test_mutations(dir, iters);
    io_cap_end();
    io_rmdir(dir);
    return tu_finish();
}
