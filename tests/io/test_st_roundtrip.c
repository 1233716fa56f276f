/* tests/io/test_st_roundtrip.c — the safetensors writer and reader together: every dtype written
 * and read back (F32 bit-exact, F16/BF16 equal to kernels/bf16.h rounding of the fp32 source,
 * every other dtype byte-exact), scalars and zero-size tensors, metadata, known-answer bytes of
 * the reference layout, deterministic order and alignment, the fp32 read checks, writer
 * argument checks, and the crash-safe write (no temporaries left, target untouched on failure). */
#include "safetensors.h"

#include "bf16.h"
#include "io_util.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static io_cap cap;

static void test_dtype_strings(void)
{
    int ok = 1;
    for (int i = 0; i < KRAIT_ST_DTYPE_COUNT; i++) {
        krait_st_dtype d;
        const char *s = krait_st_dtype_to_string((krait_st_dtype)i);
        ok &= s && krait_st_dtype_from_string(&d, s) && d == (krait_st_dtype)i;
        int b = krait_st_dtype_bits((krait_st_dtype)i);
        ok &= b == 4 || b == 6 || b == 8 || b == 16 || b == 32 || b == 64;
    }
    krait_st_dtype d;
    ok &= !krait_st_dtype_from_string(&d, "f32") && !krait_st_dtype_from_string(&d, "") &&
          !krait_st_dtype_from_string(&d, NULL) && !krait_st_dtype_from_string(&d, "F32 ");
    ok &= krait_st_dtype_to_string(KRAIT_ST_DTYPE_COUNT) == NULL;
    ok &= krait_st_dtype_bits(KRAIT_ST_DTYPE_F32) == 32 && krait_st_dtype_bits(KRAIT_ST_DTYPE_BF16) == 16 &&
          krait_st_dtype_bits(KRAIT_ST_DTYPE_F4) == 4 && krait_st_dtype_bits(KRAIT_ST_DTYPE_C64) == 64;
    ok &= strcmp(krait_st_dtype_to_string(KRAIT_ST_DTYPE_F8_E4M3FNUZ), "F8_E4M3FNUZ") == 0;
    krait_dtype kd;
    ok &= krait_st_dtype_to_krait(&kd, KRAIT_ST_DTYPE_BF16) && kd == KRAIT_DTYPE_BF16;
    ok &= !krait_st_dtype_to_krait(&kd, KRAIT_ST_DTYPE_F64);
    tu_check(ok, "dtype strings, bits and mapping");
}

/* fp32 values including the awkward ones: zeros, infinities, NaN, subnormals, halfway cases. */
static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Round to nearest, ties to even, on exact halfway bit patterns (random values never hit them). */
static void test_rounding_ties(void)
{
    struct { uint32_t f32; uint16_t bf16; } b[] = {
        { 0x3F808000u, 0x3F80 }, /* 1.00390625: halfway, even below -> down */
        { 0x3F818000u, 0x3F82 }, /* halfway, odd below -> up */
        { 0x3F808001u, 0x3F81 }, /* just above halfway -> up */
        { 0xBF818000u, 0xBF82 }, /* negative: the same, by magnitude */
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) ok &= krait_f32_to_bf16(bits_f32(b[i].f32)) == b[i].bf16;
    tu_check(ok, "bf16: halfway values round to even");
    /* f16: 1 + 2^-11 is halfway between 1 and 1 + 2^-10; 1 + 3 x 2^-11 between 1 + 2^-10 and 1 + 2^-9;
     * 2^-25 is halfway between 0 and the smallest subnormal 2^-24; 3 x 2^-25 between 2^-24 and 2^-23 */
    ok = krait_f32_to_f16(1.0f + 0x1p-11f) == 0x3C00 && krait_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3C02 &&
         krait_f32_to_f16(0x1p-25f) == 0x0000 && krait_f32_to_f16(3 * 0x1p-25f) == 0x0002 &&
         krait_f32_to_f16(65520.0f) == 0x7C00 && krait_f32_to_f16(65519.0f) == 0x7BFF;
    tu_check(ok, "f16: halfway values round to even (normal, subnormal, and 65520 to infinity)");
}

static void fill_values(float *x, size_t n)
{
    tu_fill_normal(x, n, 0.0f, 3.0f);
    const float special[] = { 0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -3e-39f, 65504.0f,
                              65520.0f, 1e-8f, 6.1e-5f, 1.0f + 0x1.0p-8f, 1.0f + 0x1.8p-8f,
                              3.4e38f, 1.0f + 0x1.0p-11f };
    for (size_t i = 0; i < sizeof special / sizeof *special && i < n; i++) x[i * 7 % n] = special[i];
}

static int same_bits(const float *a, const float *b, size_t n)
{
    return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

static void test_every_dtype(const char *dir)
{
    krait_st_writer *w = krait_st_writer_init();
    enum { NF = 20000 };   /* more than the writer's conversion buffer */
    float *src = malloc(NF * sizeof *src);
    fill_values(src, NF);
    int64_t shp_f[2] = { 100, 200 };
    tu_check(krait_st_writer_add_f32(w, "f.f32", KRAIT_ST_DTYPE_F32, src, shp_f, 2) == 0, "add F32");
    tu_check(krait_st_writer_add_f32(w, "f.f16", KRAIT_ST_DTYPE_F16, src, shp_f, 2) == 0, "add F16");
    tu_check(krait_st_writer_add_f32(w, "f.bf16", KRAIT_ST_DTYPE_BF16, src, shp_f, 2) == 0, "add BF16");

    /* Every dtype as raw bytes, with a shape whose bit count is whole bytes. */
    uint8_t *raw[KRAIT_ST_DTYPE_COUNT];
    uint64_t rawn[KRAIT_ST_DTYPE_COUNT];
    int64_t shapes[KRAIT_ST_DTYPE_COUNT][3];
    for (int d = 0; d < KRAIT_ST_DTYPE_COUNT; d++) {
        int bits = krait_st_dtype_bits((krait_st_dtype)d);
        shapes[d][0] = 3;
        shapes[d][1] = 1 + (int64_t)(tu_next() % 5);
        shapes[d][2] = 8;   /* 8 elements: whole bytes for 4- and 6-bit types */
        uint64_t numel = (uint64_t)(shapes[d][0] * shapes[d][1] * shapes[d][2]);
        rawn[d] = numel * (uint64_t)bits / 8;
        raw[d] = malloc(rawn[d]);
        for (uint64_t i = 0; i < rawn[d]; i++) raw[d][i] = (uint8_t)tu_next();
        char name[64];
        snprintf(name, sizeof name, "raw.%s", krait_st_dtype_to_string((krait_st_dtype)d));
        tu_check(krait_st_writer_add_raw(w, name, (krait_st_dtype)d, raw[d], shapes[d], 3) == 0,
                 "add raw %s", name);
    }
    const char *path = io_path(dir, "all.safetensors");
    tu_check(krait_st_writer_write(w, path) == KRAIT_STATUS_OK, "write all dtypes");

    krait_status st;
    krait_st_file *f = krait_st_open(path, &st);
    if (!tu_check(f && st == KRAIT_STATUS_OK, "open all dtypes")) goto done;
    tu_check(krait_st_count(f) == 3 + KRAIT_ST_DTYPE_COUNT, "count %zu", krait_st_count(f));
    float *got = malloc(NF * sizeof *got), *want = malloc(NF * sizeof *want);
    tu_check(krait_st_read_f32(f, got, "f.f32", NF) == 0 && same_bits(got, src, NF),
             "F32 round trip is bit-exact");
    for (int k = 0; k < 2; k++) {
        const char *name = k ? "f.bf16" : "f.f16";
        for (size_t i = 0; i < NF; i++)
            want[i] = k ? krait_bf16_to_f32(krait_f32_to_bf16(src[i]))
                        : krait_f16_to_f32(krait_f32_to_f16(src[i]));
        int ok = krait_st_read_f32(f, got, name, NF) == 0;
        double worst = 0;
        for (size_t i = 0; ok && i < NF; i++) {
            /* Equal to the bf16.h rounding (NaN stays NaN) ... */
            ok = isnan(want[i]) ? isnan(got[i]) : memcmp(&got[i], &want[i], 4) == 0;
            /* ... and that rounding is within half an ulp of the format, for normal values. */
            double a = fabs((double)src[i]);
            if (isfinite(src[i]) && a > (k ? 1e-37 : 6.2e-5) && a < (k ? 3e38 : 65000)) {
                double rel = fabs((double)got[i] - src[i]) / a;
                if (rel > worst) worst = rel;
            }
        }
        tu_check(ok, "%s values equal kernels/bf16.h conversions", name);
        tu_check(worst <= (k ? 0x1.0p-8 : 0x1.0p-11), "%s rounding error %.3g within half an ulp",
                 name, worst);
    }
    const krait_st_tensor *t = krait_st_find(f, "f.bf16");
    tu_check(t && t->dtype == KRAIT_ST_DTYPE_BF16 && t->rank == 2 && t->shape[0] == 100 &&
             t->shape[1] == 200 && t->numel == NF && t->nbytes == 2 * NF, "BF16 entry");
    for (int d = 0; d < KRAIT_ST_DTYPE_COUNT; d++) {
        char name[64];
        snprintf(name, sizeof name, "raw.%s", krait_st_dtype_to_string((krait_st_dtype)d));
        t = krait_st_find(f, name);
        int ok = t && t->dtype == (krait_st_dtype)d && t->rank == 3 && t->nbytes == rawn[d];
        for (int j = 0; ok && j < 3; j++) ok = t->shape[j] == shapes[d][j];
        ok = ok && memcmp(t->data, raw[d], rawn[d]) == 0;
        tu_check(ok, "%s round trip is byte-exact", name);
    }
    /* Order: dtype descending, then name; every tensor aligned to its element size. */
    int ordered = 1, aligned = 1;
    for (size_t i = 0; i < krait_st_count(f); i++) {
        const krait_st_tensor *a = krait_st_tensor_at(f, i);
        int bytes = krait_st_dtype_bits(a->dtype) / 8;
        if (bytes > 1 && (uintptr_t)a->data % (uintptr_t)bytes) aligned = 0;
        if (i == 0) continue;
        const krait_st_tensor *p = krait_st_tensor_at(f, i - 1);
        if (p->dtype < a->dtype || (p->dtype == a->dtype && strcmp(p->name, a->name) >= 0))
            ordered = 0;
        if (p->file_offset + p->nbytes != a->file_offset) ordered = 0;
    }
    tu_check(ordered, "tensors in dtype-descending then name order, contiguous");
    tu_check(aligned, "every tensor aligned to its dtype size");
    tu_check(krait_st_tensor_at(f, krait_st_count(f)) == NULL && !krait_st_find(f, "nope"),
             "out-of-range index and missing name give NULL");

    /* Determinism: the same list written again gives the same bytes. */
    const char *path2 = io_path(dir, "all2.safetensors");
    tu_check(krait_st_writer_write(w, path2) == 0, "write again");
    size_t n1, n2;
    uint8_t *b1 = io_read(path, &n1), *b2 = io_read(path2, &n2);
    tu_check(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0, "writing twice is byte-identical");
    uint64_t hl = 0;
    for (int i = 7; b1 && i >= 0; i--) hl = hl << 8 | b1[i];
    tu_check(b1 && hl % 8 == 0 && (b1[8 + hl - 1] == ' ' || b1[8 + hl - 1] == '}'),
             "header padded with spaces to 8 bytes (length %llu)", (unsigned long long)hl);
    free(b1);
    free(b2);
    free(got);
    free(want);
    krait_st_close(f);
done:
    for (int d = 0; d < KRAIT_ST_DTYPE_COUNT; d++) free(raw[d]);
    free(src);
    krait_st_writer_free(w);
}

static void test_scalar_empty_metadata(const char *dir)
{
    krait_st_writer *w = krait_st_writer_init();
    float one = 2.5f, none[1] = { 0 };
    int64_t s0[3] = { 0 }, s1[3] = { 3, 0, 2 };
    tu_check(krait_st_writer_add_f32(w, "scalar", KRAIT_ST_DTYPE_F32, &one, NULL, 0) == 0, "add scalar");
    tu_check(krait_st_writer_add_f32(w, "empty1", KRAIT_ST_DTYPE_BF16, NULL, s0, 1) == 0, "add [0]");
    tu_check(krait_st_writer_add_raw(w, "empty3", KRAIT_ST_DTYPE_I64, none, s1, 3) == 0, "add [3,0,2]");
    tu_check(krait_st_writer_set_metadata(w, "note", "q\"uote\\ back\nline \xc3\xa9t\xc3\xa9") == 0 &&
             krait_st_writer_set_metadata(w, "alpha", "1") == 0 &&
             krait_st_writer_set_metadata(w, "alpha", "2") == 0 &&
             krait_st_writer_set_metadata(w, "gone", "x") == 0 &&
             krait_st_writer_set_metadata(w, "gone", NULL) == 0, "set metadata");
    const char *path = io_path(dir, "small.safetensors");
    tu_check(krait_st_writer_write(w, path) == 0, "write small");
    krait_st_file *f = krait_st_open(path, NULL);
    if (!tu_check(f != NULL, "open small")) goto done;
    const krait_st_tensor *t = krait_st_find(f, "scalar");
    float v = 0;
    tu_check(t && t->rank == 0 && t->numel == 1 && t->nbytes == 4 &&
             krait_st_tensor_read_f32(t, &v, 1) == 0 && v == 2.5f &&
             krait_st_read_f32_shape(f, &v, "scalar", NULL, 0) == 0, "0-rank tensor");
    t = krait_st_find(f, "empty1");
    tu_check(t && t->rank == 1 && t->shape[0] == 0 && t->numel == 0 && t->nbytes == 0 &&
             krait_st_read_f32(f, &v, "empty1", 0) == 0, "zero-size [0] tensor");
    t = krait_st_find(f, "empty3");
    tu_check(t && t->rank == 3 && t->shape[1] == 0 && t->numel == 0 && t->nbytes == 0,
             "zero-size [3, 0, 2] tensor");
    const char *k0, *v0;
    tu_check(krait_st_metadata_count(f) == 3, "3 metadata keys, got %zu", krait_st_metadata_count(f));
    krait_st_metadata_at(f, 0, &k0, &v0);
    tu_check(k0 && strcmp(k0, "alpha") == 0 && strcmp(v0, "2") == 0, "metadata sorted, replaced");
    tu_check(krait_st_metadata_get(f, "format") && strcmp(krait_st_metadata_get(f, "format"), "pt") == 0,
             "default metadata format=pt");
    tu_check(krait_st_metadata_get(f, "note") &&
             strcmp(krait_st_metadata_get(f, "note"), "q\"uote\\ back\nline \xc3\xa9t\xc3\xa9") == 0,
             "metadata with escapes and UTF-8 preserved");
    tu_check(!krait_st_metadata_get(f, "gone"), "removed metadata key is absent");

    /* fp32 read checks: each failure is BAD_INPUT with one line. */
    io_cap_begin(&cap);
    float buf[8];
    int64_t want_shape[1] = { 1 };
    tu_check(krait_st_read_f32(f, buf, "empty3", 0) == KRAIT_STATUS_BAD_INPUT, "I64 as fp32");
    io_cap_one_error(&cap, "I64 as fp32", "cannot be read as fp32");
    tu_check(krait_st_read_f32(f, buf, "scalar", 2) == KRAIT_STATUS_BAD_INPUT, "wrong count");
    io_cap_one_error(&cap, "wrong count", "has 1 elements (shape []) where 2 were expected");
    tu_check(krait_st_read_f32_shape(f, buf, "scalar", want_shape, 1) == KRAIT_STATUS_BAD_INPUT,
             "wrong shape");
    io_cap_one_error(&cap, "wrong shape", "shape [] where [1] was expected");
    tu_check(krait_st_read_f32(f, buf, "missing", 1) == KRAIT_STATUS_BAD_INPUT, "missing");
    io_cap_one_error(&cap, "missing", "small.safetensors: no tensor 'missing'");
    io_cap_end();
    krait_st_close(f);
done:
    krait_st_writer_free(w);
}

/* The byte layout of the reference writer for the same inputs (its own test vectors). */
static void test_known_bytes(const char *dir)
{
    const char *path = io_path(dir, "kat.safetensors");
    float data[6] = { 0, 1, 2, 3, 4, 5 };
    int64_t shape[3] = { 1, 2, 3 };
    krait_st_writer *w = krait_st_writer_init();
    krait_st_writer_set_metadata(w, "format", NULL);
    krait_st_writer_add_f32(w, "attn.0", KRAIT_ST_DTYPE_F32, data, shape, 3);
    krait_st_writer_write(w, path);
    const char *hdr = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    uint8_t want[8 + 64 + 24];
    memset(want, ' ', sizeof want);
    memset(want, 0, 8);
    want[0] = 64;
    memcpy(want + 8, hdr, strlen(hdr));
    memcpy(want + 72, data, 24);
    size_t n;
    uint8_t *got = io_read(path, &n);
    tu_check(got && n == sizeof want && memcmp(got, want, n) == 0, "known bytes: one F32 tensor");
    free(got);
    krait_st_writer_free(w);

    w = krait_st_writer_init();
    krait_st_writer_set_metadata(w, "format", NULL);
    krait_st_writer_write(w, path);
    got = io_read(path, &n);
    tu_check(got && n == 16 && memcmp(got, "\x08\0\0\0\0\0\0\0{}      ", 16) == 0,
             "known bytes: empty file");
    free(got);
    krait_st_writer_set_metadata(w, "framework", "pt");
    krait_st_writer_write(w, path);
    got = io_read(path, &n);
    tu_check(got && n == 48 && got[0] == 40 &&
             memcmp(got + 8, "{\"__metadata__\":{\"framework\":\"pt\"}}     ", 40) == 0,
             "known bytes: metadata only");
    free(got);
    krait_st_writer_free(w);
}

static void test_writer_errors(const char *dir)
{
    krait_st_writer *w = krait_st_writer_init();
    float x[4] = { 1, 2, 3, 4 };
    int64_t s4[1] = { 4 }, neg[2] = { 2, -2 }, s3[1] = { 3 }, big[1] = { (int64_t)1 << 53 };
    io_cap_begin(&cap);
    tu_check(krait_st_writer_add_f32(w, "a", KRAIT_ST_DTYPE_F32, x, s4, 1) == 0, "add a");
    struct { const char *what, *name; krait_st_dtype dt; const void *data; const int64_t *shape;
             int rank, f32; const char *frag; } cases[] = {
        { "duplicate", "a", KRAIT_ST_DTYPE_F32, x, s4, 1, 1, "already added" },
        { "reserved", "__metadata__", KRAIT_ST_DTYPE_F32, x, s4, 1, 1, "reserved" },
        { "fp32 as I32", "b", KRAIT_ST_DTYPE_I32, x, s4, 1, 1, "only be stored as" },
        { "negative dim", "b", KRAIT_ST_DTYPE_F32, x, neg, 2, 1, "dimension" },
        { "dim 2^53", "b", KRAIT_ST_DTYPE_U8, x, big, 1, 0, "dimension" },
        { "NULL data", "b", KRAIT_ST_DTYPE_F32, NULL, s4, 1, 1, "data is NULL" },
        { "bad UTF-8", "b\xff", KRAIT_ST_DTYPE_F32, x, s4, 1, 1, "UTF-8" },
        { "F4 odd", "b", KRAIT_ST_DTYPE_F4, x, s3, 1, 0, "whole number of bytes" },
        { "bad dtype", "b", KRAIT_ST_DTYPE_COUNT, x, s4, 1, 0, "unknown dtype" },
        { "NULL shape", "b", KRAIT_ST_DTYPE_F32, x, NULL, 1, 1, "NULL shape" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        krait_status st = cases[i].f32
            ? krait_st_writer_add_f32(w, cases[i].name, cases[i].dt, cases[i].data, cases[i].shape, cases[i].rank)
            : krait_st_writer_add_raw(w, cases[i].name, cases[i].dt, cases[i].data, cases[i].shape, cases[i].rank);
        tu_check(st == KRAIT_STATUS_BAD_INPUT, "writer %s: BAD_INPUT", cases[i].what);
        io_cap_one_error(&cap, cases[i].what, cases[i].frag);
    }
    tu_check(krait_st_writer_write_sharded(w, dir, 0) == KRAIT_STATUS_BAD_INPUT, "max 0 refused");
    io_cap_one_error(&cap, "max 0", "max_shard_bytes");
    /* The list is unchanged by the failures: one tensor. */
    const char *path = io_path(dir, "one.safetensors");
    tu_check(krait_st_writer_write(w, path) == 0, "write after failed adds");
    krait_st_file *f = krait_st_open(path, NULL);
    tu_check(f && krait_st_count(f) == 1, "failed adds left the list unchanged");
    krait_st_close(f);

    /* Crash safety: a missing folder fails cleanly; an existing file is replaced whole. */
    tu_check(krait_st_writer_write(w, io_path(dir, "no/such/dir/x.safetensors")) != 0,
             "write into a missing folder fails");
    io_cap_one_error(&cap, "missing folder", "cannot create a temporary file");
    io_cap_end();
    io_write(path, "old", 3);
    tu_check(krait_st_writer_write(w, path) == 0, "overwrite");
    f = krait_st_open(path, NULL);
    tu_check(f && krait_st_count(f) == 1, "overwritten file is the new one");
    krait_st_close(f);
    tu_check(io_count_names(dir, ".tmp-") == 0, "no temporary files left behind");
    krait_st_writer_free(w);
}

int main(void)
{
    test_rounding_ties();
    tu_init("test_st_roundtrip");
    const char *d = io_tmpdir("st-rt");
    char dir[512];
    snprintf(dir, sizeof dir, "%s", d);
    test_dtype_strings();
    test_every_dtype(dir);
    test_scalar_empty_metadata(dir);
    test_known_bytes(dir);
    test_writer_errors(dir);
    io_rmdir(dir);
    return tu_finish();
}
