/* tests/io/test_st_sharded.c — model folders: the sharded writer (HF shard names, size limit,
 * index contents, clean-up of an earlier save) and krait_st_model over a folder, an index path
 * or one file, values read back across shards; then malformed indexes and disagreements between
 * index and shards, each BAD_INPUT with one line, and random edits of a valid index. */
#include "safetensors.h"

#include "io_util.h"
#include "testutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static io_cap cap;

enum { NT = 9 };

typedef struct model_data {
    float *x[NT];
    int64_t shape[NT][2];
    krait_st_dtype dtype[NT];
    char name[NT][64];
} model_data;

static void make_data(model_data *d)
{
    for (int i = 0; i < NT; i++) {
        d->shape[i][0] = 1 + i;
        d->shape[i][1] = 16 + 8 * (i % 4);
        d->dtype[i] = i % 3 == 0 ? KRAIT_ST_DTYPE_F32 : i % 3 == 1 ? KRAIT_ST_DTYPE_BF16 : KRAIT_ST_DTYPE_F16;
        size_t n = (size_t)(d->shape[i][0] * d->shape[i][1]);
        d->x[i] = malloc(n * sizeof(float));
        for (size_t j = 0; j < n; j++) d->x[i][j] = (float)(int)(tu_next() % 512) - 256.0f;   /* exact in all three */
        snprintf(d->name[i], sizeof d->name[i], "backbone.layers.%d.mixer.w", i);
    }
}

static krait_st_writer *make_writer(const model_data *d)
{
    krait_st_writer *w = krait_st_writer_init();
    for (int i = 0; i < NT; i++)
        krait_st_writer_add_f32(w, d->name[i], d->dtype[i], d->x[i], d->shape[i], 2);
    return w;
}

static int check_model(const krait_st_model *m, const model_data *d, const char *what)
{
    int ok = m && krait_st_model_count(m) == NT;
    for (int i = 0; ok && i < NT; i++) {
        size_t n = (size_t)(d->shape[i][0] * d->shape[i][1]);
        float *got = malloc(n * sizeof *got);
        ok = krait_st_model_read_f32_shape(m, got, d->name[i], d->shape[i], 2) == 0 &&
             memcmp(got, d->x[i], n * sizeof *got) == 0 && krait_st_model_find(m, d->name[i]);
        free(got);
    }
    for (size_t i = 1; ok && i < krait_st_model_count(m); i++)
        ok = strcmp(krait_st_model_tensor_at(m, i - 1)->name, krait_st_model_tensor_at(m, i)->name) < 0;
    return tu_check(ok, "%s: every tensor found and read back exactly, sorted by name", what);
}

static uint64_t bytes_of(const model_data *d, int i)
{
    return (uint64_t)(d->shape[i][0] * d->shape[i][1]) * (d->dtype[i] == KRAIT_ST_DTYPE_F32 ? 4 : 2);
}

static void test_round_trip(const char *dir, const model_data *d)
{
    krait_st_writer *w = make_writer(d);
    uint64_t total = 0, maxb = 0;
    for (int i = 0; i < NT; i++) {
        total += bytes_of(d, i);
        if (bytes_of(d, i) > maxb) maxb = bytes_of(d, i);
    }
    const uint64_t limit = 600;   /* below the largest tensors (640, 896 bytes): each gets a shard alone */
    tu_check(krait_st_writer_write_sharded(w, dir, limit) == 0, "write sharded");
    /* The shard count the greedy rule gives, computed here independently. */
    int expect = 1;
    uint64_t used = 0;
    for (int i = 0; i < NT; i++) {
        if (used > 0 && used + bytes_of(d, i) > limit) {
            expect++;
            used = 0;
        }
        used += bytes_of(d, i);
    }
    tu_check(expect >= 3, "the test data needs >= 3 shards (%d)", expect);
    tu_check(io_count_names(dir, "-of-") == expect, "%d shard files", expect);
    char first[64], last[64];
    snprintf(first, sizeof first, "model-00001-of-%05d.safetensors", expect);
    snprintf(last, sizeof last, "model-%05d-of-%05d.safetensors", expect, expect);
    tu_check(io_exists(io_path(dir, first)) && io_exists(io_path(dir, last)), "HF shard names");
    tu_check(io_exists(io_path(dir, "model.safetensors.index.json")) &&
             !io_exists(io_path(dir, "model.safetensors")), "index written, no single file");

    /* The index: total_size, and weight_map agreeing with the shards. */
    size_t n;
    char *text = (char *)io_read(io_path(dir, "model.safetensors.index.json"), &n);
    cJSON *root = text ? cJSON_ParseWithLength(text, n) : NULL;
    cJSON *ts = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "metadata"), "total_size");
    cJSON *wm = cJSON_GetObjectItem(root, "weight_map");
    tu_check(ts && ts->valuedouble == (double)total, "index total_size = %llu",
             (unsigned long long)total);
    tu_check(wm && cJSON_GetArraySize(wm) == NT, "index lists %d tensors", NT);
    cJSON_Delete(root);
    free(text);

    krait_status st;
    krait_st_model *m = krait_st_model_open(dir, &st);
    tu_check(m && st == 0 && krait_st_model_file_count(m) == (size_t)expect, "open sharded folder");
    check_model(m, d, "sharded folder");
    int within = 1;
    for (size_t k = 0; m && k < krait_st_model_file_count(m); k++) {
        const krait_st_file *f = krait_st_model_file_at(m, k);
        uint64_t sum = 0;
        for (size_t i = 0; i < krait_st_count(f); i++) sum += krait_st_tensor_at(f, i)->nbytes;
        within &= sum <= limit || krait_st_count(f) == 1;
        within &= krait_st_metadata_get(f, "format") != NULL;
    }
    tu_check(within, "each shard holds <= max bytes (or one larger tensor) and format=pt");
    krait_st_model_close(m);
    m = krait_st_model_open(io_path(dir, "model.safetensors.index.json"), &st);
    check_model(m, d, "index path");
    krait_st_model_close(m);
    m = krait_st_model_open(io_path(dir, first), &st);
    tu_check(m && krait_st_model_count(m) >= 1 && krait_st_model_count(m) < NT,
             "one shard opens as a single file");
    krait_st_model_close(m);

    /* An interrupted re-save: shard 1 from an earlier save of the same shape beside the rest. */
    size_t n_old, n_idx;
    uint8_t *old1 = io_read(io_path(dir, first), &n_old);
    uint8_t *idx_old = io_read(io_path(dir, "model.safetensors.index.json"), &n_idx);
    tu_check(krait_st_writer_write_sharded(w, dir, limit) == 0, "save again");
    m = krait_st_model_open(dir, &st);
    tu_check(m && cap.errors == 0, "the new save opens");
    krait_st_model_close(m);
    io_write(io_path(dir, first), old1, n_old);
    m = krait_st_model_open(dir, &st);
    tu_check(!m && st == KRAIT_STATUS_BAD_INPUT, "mixed saves refused");
    io_cap_one_error(&cap, "mixed saves", "an interrupted save left index and shards");
    /* The old index with all the old shards would be fine again; an index without the id is not. */
    char noid[256];
    snprintf(noid, sizeof noid, "{\"weight_map\":{\"%s\":\"%s\"}}", d->name[0], first);
    io_write(io_path(dir, "model.safetensors.index.json"), noid, strlen(noid));
    m = krait_st_model_open(dir, &st);
    tu_check(!m && st == KRAIT_STATUS_BAD_INPUT, "index without the shards' save id refused");
    io_cap_one_error(&cap, "index without id", "has none");
    io_write(io_path(dir, "model.safetensors.index.json"), idx_old, n_idx);
    free(old1);
    free(idx_old);

    /* A save that fits in one file replaces the shards and the index... */
    tu_check(krait_st_writer_write_sharded(w, dir, total) == 0, "write unsharded");
    tu_check(io_exists(io_path(dir, "model.safetensors")) && io_count_names(dir, "-of-") == 0 &&
             !io_exists(io_path(dir, "model.safetensors.index.json")), "earlier shards removed");
    m = krait_st_model_open(dir, &st);
    tu_check(m && krait_st_model_file_count(m) == 1, "open single-file folder");
    check_model(m, d, "single-file folder");
    krait_st_model_close(m);
    /* ... and a sharded save after it removes model.safetensors. */
    tu_check(krait_st_writer_write_sharded(w, dir, 1) == 0, "write one tensor per shard");
    tu_check(io_count_names(dir, "-of-") == NT && !io_exists(io_path(dir, "model.safetensors")),
             "single file removed, %d shards", NT);
    m = krait_st_model_open(dir, &st);
    check_model(m, d, "one tensor per shard");
    krait_st_model_close(m);
    tu_check(io_count_names(dir, ".tmp-") == 0, "no temporary files left behind");
    krait_st_writer_free(w);
}

static void write_index(const char *dir, const char *text)
{
    io_write(io_path(dir, "model.safetensors.index.json"), text, strlen(text));
}

static void expect_bad(const char *path, const char *what, const char *frag)
{
    krait_status st = KRAIT_STATUS_OK;
    krait_st_model *m = krait_st_model_open(path, &st);
    tu_check(!m && st == KRAIT_STATUS_BAD_INPUT, "%s: BAD_INPUT (status %d)", what, st);
    printf("  %-26s %s\n", what, cap.last_error);
    io_cap_one_error(&cap, what, frag);
    krait_st_model_close(m);
}

static void test_bad_indexes(const char *dir)
{
    /* Two shards: a.safetensors {x, y}, b.safetensors {z}. */
    float v[4] = { 1, 2, 3, 4 };
    int64_t s4[1] = { 4 };
    krait_st_writer *w = krait_st_writer_init();
    krait_st_writer_add_f32(w, "x", KRAIT_ST_DTYPE_F32, v, s4, 1);
    krait_st_writer_add_f32(w, "y", KRAIT_ST_DTYPE_F32, v, s4, 1);
    krait_st_writer_write(w, io_path(dir, "a.safetensors"));
    krait_st_writer_free(w);
    w = krait_st_writer_init();
    krait_st_writer_add_f32(w, "z", KRAIT_ST_DTYPE_F32, v, s4, 1);
    krait_st_writer_add_f32(w, "y", KRAIT_ST_DTYPE_F32, v, s4, 1);
    krait_st_writer_write(w, io_path(dir, "c.safetensors"));
    krait_st_writer_free(w);
    w = krait_st_writer_init();
    krait_st_writer_add_f32(w, "z", KRAIT_ST_DTYPE_F32, v, s4, 1);
    krait_st_writer_write(w, io_path(dir, "b.safetensors"));
    krait_st_writer_free(w);
    io_write(io_path(dir, "bad.safetensors"), "\x02\0\0\0\0\0\0\0[]", 10);

    write_index(dir, "{\"metadata\":{\"total_size\":48},\"weight_map\":{\"x\":\"a.safetensors\","
                     "\"y\":\"a.safetensors\",\"z\":\"b.safetensors\"}}");
    krait_status st;
    krait_st_model *m = krait_st_model_open(dir, &st);
    tu_check(m && krait_st_model_count(m) == 3 && krait_st_model_file_count(m) == 2 && cap.errors == 0,
             "hand-written index over two shards");
    float got[4];
    tu_check(m && krait_st_model_read_f32(m, got, "z", 4) == 0 && got[3] == 4, "read z from shard b");
    tu_check(m && krait_st_model_read_f32(m, got, "w", 4) == KRAIT_STATUS_BAD_INPUT, "missing w");
    io_cap_one_error(&cap, "missing tensor", "no tensor 'w'");
    krait_st_model_close(m);

    static const struct { const char *what, *index, *frag; } bad[] = {
        { "not JSON", "{\"weight_map\":", "not valid JSON" },
        { "array", "[]", "not a JSON object" },
        { "trailing", "{\"weight_map\":{\"x\":\"a.safetensors\"}} x", "trailing bytes" },
        { "missing weight_map", "{\"metadata\":{}}", "missing weight_map" },
        { "empty weight_map", "{\"weight_map\":{}}", "weight_map is empty" },
        { "weight_map array", "{\"weight_map\":[]}", "weight_map is not a JSON object" },
        { "metadata string", "{\"metadata\":\"x\",\"weight_map\":{\"x\":\"a.safetensors\"}}",
          "metadata is not a JSON object" },
        { "unknown key", "{\"weight_map\":{\"x\":\"a.safetensors\"},\"extra\":1}", "unknown key 'extra'" },
        { "key twice", "{\"weight_map\":{\"x\":\"a.safetensors\"},\"weight_map\":{}}",
          "key 'weight_map' is given twice" },
        { "file not string", "{\"weight_map\":{\"x\":1}}", "tensor 'x': file name is not a string" },
        { "path traversal", "{\"weight_map\":{\"x\":\"../a.safetensors\"}}", "not a plain file name" },
        { "dot dot", "{\"weight_map\":{\"x\":\"..\"}}", "not a plain file name" },
        { "empty file name", "{\"weight_map\":{\"x\":\"\"}}", "not a plain file name" },
        { "name twice", "{\"weight_map\":{\"x\":\"a.safetensors\",\"x\":\"a.safetensors\","
          "\"y\":\"a.safetensors\"}}", "lists tensor 'x' twice" },
        { "missing shard", "{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"a.safetensors\","
          "\"q\":\"gone.safetensors\"}}", "tensor 'q' is mapped to 'gone.safetensors', which does not exist" },
        { "tensor not in shard", "{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"a.safetensors\","
          "\"z\":\"a.safetensors\"}}", "tensor 'z' is mapped to 'a.safetensors', which does not contain it" },
        { "shard tensor unmapped", "{\"weight_map\":{\"x\":\"a.safetensors\"}}",
          "a.safetensors: tensor 'y' is not in the weight_map" },
        { "tensor in two shards", "{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"a.safetensors\","
          "\"z\":\"c.safetensors\"}}", "c.safetensors: tensor 'y' is also here, but" },
        { "malformed shard", "{\"weight_map\":{\"x\":\"bad.safetensors\"}}",
          "bad.safetensors: header is not a JSON object" },
        { "invalid UTF-8", "{\"weight_map\":{\"x\xfe\":\"a.safetensors\"}}", "invalid UTF-8" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_index(dir, bad[i].index);
        expect_bad(dir, bad[i].what, bad[i].frag);
    }
    /* The index path itself works the same way. */
    write_index(dir, "{\"weight_map\":{\"x\":\"a.safetensors\"}}");
    expect_bad(io_path(dir, "model.safetensors.index.json"), "via index path", "not in the weight_map");

    /* Both a single file and an index: the single file is read, with a warning. */
    write_index(dir, "{\"weight_map\":{\"x\":\"a.safetensors\"}}");
    w = krait_st_writer_init();
    krait_st_writer_add_f32(w, "only", KRAIT_ST_DTYPE_F32, v, s4, 1);
    krait_st_writer_write(w, io_path(dir, "model.safetensors"));
    krait_st_writer_free(w);
    m = krait_st_model_open(dir, &st);
    tu_check(m && krait_st_model_find(m, "only") && cap.warnings == 1 && cap.errors == 0,
             "single file preferred over the index, with one warning");
    krait_st_model_close(m);
    io_cap_reset(&cap);
}

/* Random byte edits of a valid index: opened or refused with one line, never a crash. */
static void test_index_mutations(const char *dir, int iters)
{
    float v[4] = { 1, 2, 3, 4 };
    int64_t s4[1] = { 4 };
    krait_st_writer *w = krait_st_writer_init();
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        krait_st_writer_add_f32(w, name, KRAIT_ST_DTYPE_F32, v, s4, 1);
    }
    krait_st_writer_write_sharded(w, dir, 16);
    krait_st_writer_free(w);
    size_t n;
    const char *ipath = io_path(dir, "model.safetensors.index.json");
    uint8_t *orig = io_read(ipath, &n), *m = malloc(n);
    static const uint8_t pick[] = { '"', '{', '}', ',', ':', '/', '.', '0', '1', '2', '3', 0x00, 0xff };
    int wrong = 0, accepted = 0;
    for (int it = 0; it < iters; it++) {
        memcpy(m, orig, n);
        uint64_t r = tu_next();
        m[r % n] = pick[(r >> 32) % sizeof pick];
        io_write(ipath, m, n);
        krait_status st;
        krait_st_model *mod = krait_st_model_open(dir, &st);
        if (mod) accepted++;
        if (mod ? (st != 0 || cap.errors != 0) : (st != KRAIT_STATUS_BAD_INPUT || cap.errors != 1)) {
            if (!wrong) printf("  index mutation %d: status %d, %d error lines\n", it, st, cap.errors);
            wrong++;
        }
        io_cap_reset(&cap);
        krait_st_model_close(mod);
    }
    tu_check(wrong == 0, "%d index mutations (%d accepted): one line per refusal", iters, accepted);
    free(m);
    free(orig);
}

static void test_bad_folders(const char *dir)
{
    expect_bad(dir, "empty folder", "no model.safetensors or model.safetensors.index.json");
    expect_bad(io_path(dir, "nothing-here"), "missing path", "cannot open");
}

int main(void)
{
    tu_init("test_st_sharded");
    char d1[512], d2[512], d3[512], d4[512];
    snprintf(d1, sizeof d1, "%s", io_tmpdir("st-shard"));
    snprintf(d2, sizeof d2, "%s", io_tmpdir("st-index"));
    snprintf(d3, sizeof d3, "%s", io_tmpdir("st-empty"));
    snprintf(d4, sizeof d4, "%s", io_tmpdir("st-imut"));
    model_data d;
    make_data(&d);
    io_cap_begin(&cap);
    test_round_trip(d1, &d);
    test_bad_indexes(d2);
    test_bad_folders(d3);
    test_index_mutations(d4, 1000);
    io_cap_end();
    for (int i = 0; i < NT; i++) free(d.x[i]);
    io_rmdir(d1);
    io_rmdir(d2);
    io_rmdir(d3);
    io_rmdir(d4);
    return tu_finish();
}
